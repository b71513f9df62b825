"""Reference solutions for HW6: tiny autoregressive models (FVSBN, MADE) and their training.

Never shipped to students and never importable by student code while grading.
Device-agnostic: every tensor is created on the device of the model's parameters.
"""
import torch
import torch.nn.functional as F
from torch import nn


def _device(model):
    return next(model.parameters()).device


def _bernoulli_log_prob(logits, x):
    """(B,) sum over dimensions of log Bernoulli(x_i; sigmoid(logits_i)), stable in the logits."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(dim=-1)


class _Autoregressive(nn.Module):
    """Shared log_prob and ancestral sampling for models whose logits[:, i] see x[:, :i]."""

    def log_prob(self, x):
        """(B,) log p(x) = sum_i log p(x_i | x_<i)."""
        return _bernoulli_log_prob(self(x), x)

    @torch.no_grad()
    def sample(self, n, generator=None):
        """(n, d) samples in {0, 1}, drawn one dimension at a time (d forward passes)."""
        x = torch.zeros(n, self.d, device=_device(self))
        for i in range(self.d):
            p = torch.sigmoid(self(x)[:, i])                          # (n,)
            x[:, i] = torch.bernoulli(p, generator=generator)
        return x


class FVSBN(_Autoregressive):
    """Fully visible sigmoid belief net: p(x_i = 1 | x_<i) = sigmoid(b_i + sum_{j<i} W_ij x_j)."""

    def __init__(self, d):
        super().__init__()
        self.d = d
        self.linear = nn.Linear(d, d)
        self.register_buffer("mask", torch.tril(torch.ones(d, d), diagonal=-1))

    def forward(self, x):
        """(B, d) logits; row i of the masked weight only sees x_0 .. x_{i-1}."""
        return F.linear(x, self.linear.weight * self.mask, self.linear.bias)


def _hidden_degrees(h, low, high, generator):
    """Degrees in [low, high] for h units: every value once per cycle when h covers the range."""
    span = high - low + 1
    if h >= span:
        deg = torch.arange(h) % span + low
        return deg[torch.randperm(h, generator=generator)]
    return torch.randint(low, high + 1, (h,), generator=generator)


def made_masks(d, hidden_sizes, seed=0):
    """MADE masks for the natural ordering: a list of 0/1 float tensors shaped (out, in)."""
    generator = torch.Generator().manual_seed(int(seed))
    top = max(d - 1, 1)
    degrees = [torch.arange(1, d + 1)]                                # input j has degree j + 1
    for h in hidden_sizes:
        low = min(int(degrees[-1].min()), top)
        degrees.append(_hidden_degrees(int(h), low, top, generator))
    masks = [(out[:, None] >= inp[None, :]).float()                  # hidden: m(k) >= m(j)
             for inp, out in zip(degrees[:-1], degrees[1:])]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())  # output: strict >
    return masks


class _MaskedLinear(nn.Linear):
    def __init__(self, mask):
        super().__init__(mask.shape[1], mask.shape[0])
        self.register_buffer("mask", mask)

    def forward(self, x):
        return F.linear(x, self.weight * self.mask, self.bias)


class MADE(_Autoregressive):
    """Masked autoencoder for distribution estimation (Germain et al., 2015), natural ordering."""

    def __init__(self, d, hidden_sizes=(128,), seed=0):
        super().__init__()
        self.d = d
        layers = []
        for mask in made_masks(d, hidden_sizes, seed):
            layers += [_MaskedLinear(mask), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])                        # no ReLU on the logits

    def forward(self, x):
        """(B, d) logits through the masked MLP."""
        return self.net(x)


def train_model(model, data, n_epochs, lr, batch_size, generator=None):
    """Adam on the mean NLL over shuffled minibatches; returns the mean NLL (nats) of each epoch."""
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
            batch = data[order[start:start + batch_size]].to(device)      # (b, d)
            nll = -_bernoulli_log_prob(model(batch), batch)                # (b,)
            loss = nll.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += nll.detach().sum()
        losses.append(float(total) / n)                                    # one sync per epoch
    return losses
