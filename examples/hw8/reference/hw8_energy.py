"""Reference solutions for HW8: a Boltzmann machine on {0,1}^n.

Never shipped to students and never importable by student code while grading.
"""
import numpy as np


def _states(n):
    """(2^n, n) every binary vector once; row s holds the bits of s (bit i in column i)."""
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(float)


def _energies(X, W, b):
    """(M,) energies of the rows of X (shared by every exercise that needs them)."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    W = np.asarray(W, dtype=float)
    return -X @ np.asarray(b, dtype=float) - 0.5 * np.einsum("mi,ij,mj->m", X, W, X)


def bm_energy(X, W, b):
    """E(x) = -b.x - 1/2 x^T W x (W symmetric with zero diagonal: the sum over i < j)."""
    return _energies(X, W, b)


def _model(W, b):
    """(states (2^n, n), their exact probabilities (2^n,), log Z), stable in log space."""
    S = _states(len(b))
    neg = -_energies(S, W, b)
    top = np.max(neg)
    log_z = top + np.log(np.sum(np.exp(neg - top)))
    return S, np.exp(neg - log_z), log_z


def bm_log_likelihood(X, W, b):
    """Mean over rows of -E(x) - log Z, log Z by enumeration and log-sum-exp."""
    _, _, log_z = _model(W, b)
    return float(np.mean(-_energies(X, W, b)) - log_z)


def _statistics(X, weights):
    """(E[x x^T] with a zero diagonal, E[x]) under row weights summing to 1."""
    second = X.T @ (weights[:, None] * X)
    np.fill_diagonal(second, 0.0)
    return second, weights @ X


def bm_grad(X, W, b):
    """(dW, db) = data statistics minus model statistics, off-diagonal pairs counted once."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    S, p, _ = _model(W, b)
    data_W, data_b = _statistics(X, np.full(len(X), 1.0 / len(X)))
    model_W, model_b = _statistics(S, p)
    return data_W - model_W, data_b - model_b


def _sweep(X, W, b, rng):
    """One sequential Gibbs sweep over sites 0 .. n-1 of every row, on a copy of X."""
    X = np.array(X, dtype=float)
    W = np.asarray(W, dtype=float)
    b = np.asarray(b, dtype=float)
    for i in range(X.shape[1]):
        field = b[i] + X @ W[i]                         # (M,) uses the sites updated so far
        X[:, i] = rng.random(len(X)) < 1.0 / (1.0 + np.exp(-field))
    return X


def gibbs_sweep(X, W, b, rng):
    """One sweep, sites in order, each from sigma(b_i + sum_j W_ij x_j); X is not modified."""
    return _sweep(X, W, b, rng)


def cd_grad(X, W, b, k, rng):
    """CD-k: data statistics minus those of k sweeps started at the data, one chain per row."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    weights = np.full(len(X), 1.0 / len(X))
    data_W, data_b = _statistics(X, weights)
    chains = X
    for _ in range(int(k)):
        chains = _sweep(chains, W, b, rng)
    model_W, model_b = _statistics(chains, weights)
    return data_W - model_W, data_b - model_b
