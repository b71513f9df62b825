"""HW6 - my autoregressive models (FVSBN + MADE)."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def bernoulli_loglik(logits, x):
    # log p(x) = sum_i x_i log p_i + (1 - x_i) log(1 - p_i)
    p = torch.sigmoid(logits)
    return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=1)


class FVSBN(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
        self.W = nn.Parameter(torch.randn(d, d) * 0.01)
        self.b = nn.Parameter(torch.zeros(d))
        # x_i only sees x_0 .. x_{i-1}
        self.register_buffer("mask", torch.tril(torch.ones(d, d), diagonal=-1))

    def forward(self, x):
        return x @ (self.W * self.mask).T + self.b

    def log_prob(self, x):
        return bernoulli_loglik(self.forward(x), x)

    def sample(self, n, generator=None):
        with torch.no_grad():
            x = torch.zeros(n, self.d, device=self.W.device)
            for i in range(self.d):
                probs = torch.sigmoid(self.forward(x))
                x[:, i] = torch.bernoulli(probs[:, i])
        return x


def made_masks(d, hidden_sizes, seed=0):
    degrees = [torch.arange(1, d + 1)]
    for h in hidden_sizes:
        lo = int(degrees[-1].min())
        hi = max(d - 1, lo)
        degrees.append(torch.randint(lo, hi + 1, (h,)))
    masks = []
    for prev, cur in zip(degrees[:-1], degrees[1:]):
        masks.append((cur[:, None] >= prev[None, :]).float())
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
    return masks


class MaskedLinear(nn.Linear):
    def __init__(self, n_in, n_out, mask):
        super().__init__(n_in, n_out)
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    def __init__(self, d, hidden_sizes=(128,)):
        super().__init__()
        self.d = d
        sizes = [d] + list(hidden_sizes) + [d]
        masks = made_masks(d, hidden_sizes)
        self.layers = nn.ModuleList(
            [MaskedLinear(sizes[k], sizes[k + 1], masks[k]) for k in range(len(masks))])

    def forward(self, x):
        h = x
        for layer in self.layers:
            h = layer(h)
        return h

    def log_prob(self, x):
        return bernoulli_loglik(self.forward(x), x)

    def sample(self, n, generator=None):
        with torch.no_grad():
            x = torch.zeros(n, self.d, device=self.layers[0].weight.device)
            for i in range(self.d):
                p = torch.sigmoid(self.forward(x)[:, i])
                x[:, i] = torch.bernoulli(p, generator=generator)
        return x


def train_model(model, data, n_epochs, lr, batch_size, generator=None):
    device = next(model.parameters()).device
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    N = data.shape[0]
    history = []
    for epoch in range(n_epochs):
        perm = torch.randperm(N, generator=generator)
        total = 0.0
        for k in range(0, N, batch_size):
            xb = data[perm[k:k + batch_size]].to(device)
            loss = -model.log_prob(xb).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * xb.shape[0]
        history.append(total / N)
    return history
