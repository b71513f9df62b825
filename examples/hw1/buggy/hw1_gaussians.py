"""A plausible first attempt at HW1, with the bugs students really make.

- gaussian_logpdf uses det() and inv(): fine in low dimension, -inf in high dimension;
- gaussian_conditional inverts the full precision matrix (wrong when some dims are
  in neither list);
- mixture_logpdf sums densities directly (underflows far from the components);
- mixture_sample draws the components from the global numpy RNG.
"""
import numpy as np


def gaussian_logpdf(x, mu, Sigma):
    x = np.asarray(x, dtype=float)
    X = np.atleast_2d(x)
    d = X - mu
    maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(Sigma), d)
    out = -0.5 * (len(mu) * np.log(2 * np.pi) + np.log(np.linalg.det(Sigma)) + maha)
    return float(out[0]) if x.ndim == 1 else out


def gaussian_marginal(mu, Sigma, idx):
    idx = list(idx)
    return mu[idx], Sigma[np.ix_(idx, idx)]


def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
    a, b = list(idx_a), list(idx_b)
    P = np.linalg.inv(Sigma)
    cov = np.linalg.inv(P[np.ix_(a, a)])
    mean = mu[a] - cov @ P[np.ix_(a, b)] @ (np.asarray(x_b) - mu[b])
    return mean, cov


def mixture_logpdf(x, weights, means, covs):
    dens = sum(w * np.exp(gaussian_logpdf(x, m, c)) for w, m, c in zip(weights, means, covs))
    return np.log(dens)


def mixture_responsibilities(x, weights, means, covs):
    joint = np.stack([np.log(w) + gaussian_logpdf(x, m, c) if w > 0
                      else np.full(len(x), -np.inf)
                      for w, m, c in zip(weights, means, covs)], axis=1)
    joint -= joint.max(axis=1, keepdims=True)
    r = np.exp(joint)
    return r / r.sum(axis=1, keepdims=True)


def mixture_sample(weights, means, covs, n, rng):
    z = np.random.choice(len(weights), size=n, p=weights)
    x = np.stack([rng.multivariate_normal(means[k], covs[k]) for k in z])
    return x, z
