"""Reference solutions for HW1: Gaussians, marginals, conditionals and mixtures.

Never shipped to students and never importable by student code while grading.
"""
import numpy as np


def _as_index(idx):
    return np.asarray(idx, dtype=int).reshape(-1)


def gaussian_logpdf(x, mu, Sigma):
    """log N(x; mu, Sigma) for x (D,) -> float, or x (N, D) -> (N,)."""
    x = np.asarray(x, dtype=float)
    out = _logpdf_rows(np.atleast_2d(x), mu, Sigma)
    return float(out[0]) if x.ndim == 1 else out


def _logpdf_rows(X, mu, Sigma):
    """(N,) log-densities of the rows of X (shared by the mixture functions)."""
    mu = np.asarray(mu, dtype=float)
    Sigma = np.asarray(Sigma, dtype=float)
    D = mu.shape[0]
    L = np.linalg.cholesky(Sigma)
    diff = X - mu                                           # (N, D)
    z = np.linalg.solve(L, diff.T)                          # (D, N)
    maha = np.sum(z * z, axis=0)                            # (N,)
    logdet = 2.0 * np.sum(np.log(np.diag(L)))
    return -0.5 * (D * np.log(2.0 * np.pi) + logdet + maha)


def gaussian_marginal(mu, Sigma, idx):
    """(mu_a, Sigma_a) of the dimensions in idx, in the order given."""
    a = _as_index(idx)
    mu = np.asarray(mu, dtype=float)
    Sigma = np.asarray(Sigma, dtype=float)
    return mu[a].copy(), Sigma[np.ix_(a, a)].copy()


def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
    """(mu_cond, Sigma_cond) of p(x_a | x_b); dims in neither list are marginalized."""
    a = _as_index(idx_a)
    b = _as_index(idx_b)
    mu = np.asarray(mu, dtype=float)
    Sigma = np.asarray(Sigma, dtype=float)
    mu_a, S_aa = mu[a], Sigma[np.ix_(a, a)]
    if b.size == 0:
        return mu_a.copy(), S_aa.copy()
    x_b = np.asarray(x_b, dtype=float).reshape(-1)
    S_ab = Sigma[np.ix_(a, b)]
    S_bb = Sigma[np.ix_(b, b)]
    # Solve with S_bb instead of inverting it: stable for ill-conditioned blocks.
    gain_T = np.linalg.solve(S_bb, S_ab.T)                  # (|b|, |a|) = S_bb^-1 S_ba
    mu_cond = mu_a + gain_T.T @ (x_b - mu[b])
    Sigma_cond = S_aa - S_ab @ gain_T
    return mu_cond, 0.5 * (Sigma_cond + Sigma_cond.T)


def _component_logpdfs(x, means, covs):
    X = np.asarray(x, dtype=float)
    return np.stack([_logpdf_rows(X, m, S) for m, S in zip(means, covs)], axis=1)  # (N, K)


def _log_weights(weights):
    w = np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore"):
        return np.log(w)


def _logsumexp(a, axis):
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def mixture_logpdf(x, weights, means, covs):
    """(N,) log sum_k w_k N(x; m_k, C_k), computed with log-sum-exp."""
    joint = _log_weights(weights) + _component_logpdfs(x, means, covs)   # (N, K)
    return _logsumexp(joint, axis=1)


def mixture_responsibilities(x, weights, means, covs):
    """(N, K) posterior p(z = k | x), rows summing to 1."""
    joint = _log_weights(weights) + _component_logpdfs(x, means, covs)
    return np.exp(joint - _logsumexp(joint, axis=1)[:, None])


def mixture_sample(weights, means, covs, n, rng):
    """(x (n, D), z (n,)): z ~ Cat(weights), x | z ~ N(means[z], covs[z])."""
    weights = np.asarray(weights, dtype=float)
    means = np.asarray(means, dtype=float)
    covs = np.asarray(covs, dtype=float)
    K, D = means.shape
    z = rng.choice(K, size=n, p=weights)
    eps = rng.standard_normal((n, D))
    chol = np.linalg.cholesky(covs)                          # (K, D, D)
    x = means[z] + np.einsum("nij,nj->ni", chol[z], eps)
    return x, z
