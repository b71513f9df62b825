"""Reference solutions for HW7: latent-variable models (EM, the ELBO, a tiny VAE).

Never shipped to students and never importable by student code while grading.
The VAE is device-agnostic: every tensor is created on the device of the model's
parameters (or of the generator, for the noise).
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# --- Gaussian mixtures (numpy) ----------------------------------------------------------------

def _logpdf_rows(X, mu, Sigma):
    """(N,) log N(x_n; mu, Sigma) through a Cholesky factor."""
    D = mu.shape[0]
    L = np.linalg.cholesky(Sigma)
    z = np.linalg.solve(L, (X - mu).T)                      # (D, N)
    logdet = 2.0 * np.sum(np.log(np.diag(L)))
    return -0.5 * (D * np.log(2.0 * np.pi) + logdet + np.sum(z * z, axis=0))


def _joint(X, weights, means, covs):
    """(N, K) log pi_k + log N(x_n; mu_k, Sigma_k), -inf for zero weights."""
    with np.errstate(divide="ignore"):
        log_w = np.log(np.asarray(weights, dtype=float))
    comps = np.stack([_logpdf_rows(X, m, S) for m, S in zip(means, covs)], axis=1)
    return log_w + comps


def _logsumexp_rows(a):
    m = np.max(a, axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return m[:, 0] + np.log(np.sum(np.exp(a - m), axis=1))


def gmm_m_step(X, resp, reg=0.0):
    """(weights, means, covs) maximizing the expected complete-data log-likelihood."""
    X = np.asarray(X, dtype=float)
    resp = np.asarray(resp, dtype=float)
    N, D = X.shape
    Nk = resp.sum(axis=0)                                   # (K,)
    weights = Nk / N
    means = (resp.T @ X) / Nk[:, None]                      # (K, D)
    covs = np.empty((resp.shape[1], D, D))
    for k in range(resp.shape[1]):
        diff = X - means[k]                                 # around the NEW means
        covs[k] = (resp[:, k, None] * diff).T @ diff / Nk[k] + reg * np.eye(D)
    return weights, means, covs


def gmm_em(X, weights, means, covs, n_iter, reg=1e-6):
    """n_iter EM iterations; logliks before each iteration and after the last."""
    X = np.asarray(X, dtype=float)
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covs = np.asarray(covs, dtype=float)
    logliks = []
    for _ in range(n_iter):
        joint = _joint(X, weights, means, covs)
        log_px = _logsumexp_rows(joint)
        logliks.append(float(np.sum(log_px)))
        resp = np.exp(joint - log_px[:, None])              # E-step: the posterior
        weights, means, covs = gmm_m_step(X, resp, reg)     # M-step
    logliks.append(float(np.sum(_logsumexp_rows(_joint(X, weights, means, covs)))))
    return weights, means, covs, logliks


def mixture_elbo(X, weights, means, covs, q):
    """(N,) sum_k q_k (log pi_k + log N(x; mu_k, Sigma_k) - log q_k), with 0 log 0 = 0."""
    X = np.asarray(X, dtype=float)
    q = np.asarray(q, dtype=float)
    joint = _joint(X, weights, means, covs)
    with np.errstate(divide="ignore", invalid="ignore"):      # the q = 0 terms are dropped
        terms = q * (joint - np.log(q))
    return np.sum(np.where(q > 0, terms, 0.0), axis=1)


def gaussian_kl_to_standard(mu, log_var):
    """(B,) KL[N(mu, diag exp(log_var)) || N(0, I)] in closed form."""
    mu = np.asarray(mu, dtype=float)
    log_var = np.asarray(log_var, dtype=float)
    return 0.5 * np.sum(np.exp(log_var) + mu * mu - 1.0 - log_var, axis=-1)


# --- the VAE (torch) --------------------------------------------------------------------------

def _device(model):
    return next(model.parameters()).device


def _mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])                      # no activation on the output


class VAE(nn.Module):
    """Encoder q(z | x) = N(mu(x), diag exp(log_var(x))), Bernoulli decoder, N(0, I) prior."""

    def __init__(self, d, latent_dim, hidden=(128,)):
        super().__init__()
        self.d, self.latent_dim = d, latent_dim
        self.encoder = _mlp([d, *hidden, 2 * latent_dim])
        self.decoder = _mlp([latent_dim, *reversed(hidden), d])

    def encode(self, x):
        """(mu, log_var), each (B, L)."""
        mu, log_var = self.encoder(x).chunk(2, dim=-1)
        return mu, log_var

    def decode(self, z):
        """(B, d) Bernoulli logits."""
        return self.decoder(z)

    def elbo(self, x, generator=None):
        """(B,) one-sample reparameterized ELBO: log p(x | z) - KL[q(z | x) || N(0, I)]."""
        mu, log_var = self.encode(x)
        noise_device = generator.device if generator is not None else mu.device
        eps = torch.randn(mu.shape, generator=generator, device=noise_device).to(mu.device)
        z = mu + torch.exp(0.5 * log_var) * eps
        log_px_z = -F.binary_cross_entropy_with_logits(self.decode(z), x,
                                                       reduction="none").sum(dim=-1)
        kl = 0.5 * (log_var.exp() + mu * mu - 1.0 - log_var).sum(dim=-1)
        return log_px_z - kl

    @torch.no_grad()
    def sample(self, n, generator=None):
        """(n, d) in {0, 1}: z ~ N(0, I), x ~ Bernoulli(sigmoid(decode(z)))."""
        device = _device(self)
        noise_device = generator.device if generator is not None else device
        z = torch.randn((n, self.latent_dim), generator=generator, device=noise_device)
        probs = torch.sigmoid(self.decode(z.to(device)))
        return torch.bernoulli(probs.to(noise_device), generator=generator).to(device)


def train_vae(model, data, n_epochs, lr, batch_size, generator=None):
    """Adam on the mean negative ELBO over shuffled minibatches; the mean of each epoch (nats)."""
    device = _device(model)
    data = torch.as_tensor(data, dtype=torch.float32)
    n = data.shape[0]
    perm_device = generator.device if generator is not None else data.device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(n_epochs):
        order = torch.randperm(n, generator=generator, device=perm_device).to(data.device)
        total = torch.zeros((), device=device)
        for start in range(0, n, batch_size):
            batch = data[order[start:start + batch_size]].to(device)     # (b, d)
            neg_elbo = -model.elbo(batch, generator=generator)            # (b,)
            loss = neg_elbo.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += neg_elbo.detach().sum()
        losses.append(float(total) / n)                                   # one sync per epoch
    return losses
