"""A plausible first attempt at HW7, with the bugs students really make.

- gmm_em updates each component's covariance before its mean, around the old mean;
- mixture_elbo multiplies q by log q (0 * -inf = NaN where q has zeros);
- the VAE draws its noise with torch.randn_like (the global generator, not `generator`)
  and its sampler ignores the generator too;
- log p(x | z) is log(sigmoid(l)) written out, -inf for large logits.
"""
import numpy as np
import torch
from torch import nn


def _log_normal(X, m, S):
    d = X - m
    sol = np.linalg.solve(S, d.T).T
    sign, logdet = np.linalg.slogdet(S)
    return -0.5 * (np.sum(d * sol, axis=1) + logdet + len(m) * np.log(2 * np.pi))


def _log_joint(X, weights, means, covs):
    cols = [np.log(w) + _log_normal(X, m, S) if w > 0 else np.full(len(X), -np.inf)
            for w, m, S in zip(weights, means, covs)]
    return np.stack(cols, axis=1)


def _loglik(X, weights, means, covs):
    joint = _log_joint(X, weights, means, covs)
    top = joint.max(axis=1)
    return np.sum(top + np.log(np.exp(joint - top[:, None]).sum(axis=1)))


def gmm_m_step(X, resp, reg=0.0):
    N, D = X.shape
    Nk = resp.sum(axis=0)
    weights = Nk / N
    means = resp.T @ X / Nk[:, None]
    covs = []
    for k in range(resp.shape[1]):
        d = X - means[k]
        covs.append((resp[:, k] * d.T) @ d / Nk[k] + reg * np.eye(D))
    return weights, means, np.array(covs)


def gmm_em(X, weights, means, covs, n_iter, reg=1e-6):
    weights, means, covs = weights.copy(), means.copy(), covs.copy()
    logliks = [_loglik(X, weights, means, covs)]
    for it in range(n_iter):
        joint = _log_joint(X, weights, means, covs)
        resp = np.exp(joint - joint.max(axis=1, keepdims=True))
        resp /= resp.sum(axis=1, keepdims=True)
        Nk = resp.sum(axis=0)
        weights = Nk / len(X)
        for k in range(len(Nk)):
            d = X - means[k]
            covs[k] = (resp[:, k] * d.T) @ d / Nk[k] + reg * np.eye(X.shape[1])
            means[k] = resp[:, k] @ X / Nk[k]
        logliks.append(_loglik(X, weights, means, covs))
    return weights, means, covs, logliks


def mixture_elbo(X, weights, means, covs, q):
    joint = _log_joint(X, weights, means, covs)
    return np.sum(q * (joint - np.log(q)), axis=1)


def gaussian_kl_to_standard(mu, log_var):
    return 0.5 * np.sum(np.exp(log_var) + mu ** 2 - 1 - log_var, axis=1)


class VAE(nn.Module):
    def __init__(self, d, latent_dim, hidden=(128,)):
        super().__init__()
        self.latent_dim = latent_dim
        enc, dec = [], []
        sizes = [d, *hidden]
        for a, b in zip(sizes[:-1], sizes[1:]):
            enc += [nn.Linear(a, b), nn.ReLU()]
        enc.append(nn.Linear(sizes[-1], 2 * latent_dim))
        sizes = [latent_dim, *hidden[::-1]]
        for a, b in zip(sizes[:-1], sizes[1:]):
            dec += [nn.Linear(a, b), nn.ReLU()]
        dec.append(nn.Linear(sizes[-1], d))
        self.enc, self.dec = nn.Sequential(*enc), nn.Sequential(*dec)

    def encode(self, x):
        h = self.enc(x)
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def decode(self, z):
        return self.dec(z)

    def elbo(self, x, generator=None):
        mu, log_var = self.encode(x)
        std = torch.exp(0.5 * log_var)
        z = mu + std * torch.randn_like(std)
        p = torch.sigmoid(self.decode(z))
        rec = (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=1)
        kl = 0.5 * (log_var.exp() + mu ** 2 - 1 - log_var).sum(dim=1)
        return rec - kl

    def sample(self, n, generator=None):
        with torch.no_grad():
            z = torch.randn(n, self.latent_dim, device=next(self.parameters()).device)
            return torch.bernoulli(torch.sigmoid(self.decode(z)))


def train_vae(model, data, n_epochs, lr, batch_size, generator=None):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    device = next(model.parameters()).device
    losses = []
    for epoch in range(n_epochs):
        perm = torch.randperm(len(data), generator=generator)
        total = 0.0
        for i in range(0, len(data), batch_size):
            batch = data[perm[i:i + batch_size]].to(device)
            loss = -model.elbo(batch, generator).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        losses.append(total / len(data))
    return losses
