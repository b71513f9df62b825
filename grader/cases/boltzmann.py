"""Random Boltzmann machines and binary data for HW8's cases (trusted side).

A model is ``(W, b)`` with W symmetric and zero on its diagonal. Nothing here
computes an exercise's answer: the exact quantities the hidden checks need
(enumeration, the one-sweep transition) stay with the hidden checks.
"""
import numpy as np

#: Fields of "frozen" models are odd multiples of this: sigma(+-50) is 1 or 0 to
#: within 2e-22, so a Gibbs sweep is deterministic in float64.
FROZEN_FIELD = 50.0


def symmetric_zero_diagonal(upper):
    """The symmetric matrix with zero diagonal whose strict upper triangle is ``upper``'s."""
    U = np.triu(np.asarray(upper, dtype=float), 1)
    return U + U.T


def random_model(rng, n, scale=1.0, bias_scale=None):
    """``(W, b)``: couplings and biases with standard deviation ``scale`` (``bias_scale``)."""
    bias_scale = scale if bias_scale is None else bias_scale
    W = symmetric_zero_diagonal(scale * rng.standard_normal((n, n)))
    return W, bias_scale * rng.standard_normal(n)


def frozen_model(rng, n):
    """``(W, b)`` whose every conditional field b_i + sum_j W_ij x_j is an odd multiple of 50.

    Couplings are multiples of 100 and biases odd multiples of 50, so no field is
    ever 0 and |field| <= 150 + 100 (n - 1): a Gibbs update is then deterministic
    (x_i = 1 exactly when its field is positive) and no exp overflows for n <= 6.
    """
    W = symmetric_zero_diagonal(2 * FROZEN_FIELD * rng.integers(-1, 2, size=(n, n)))
    b = FROZEN_FIELD * (2 * rng.integers(-1, 1, size=n) + 1) * rng.choice([1, 3], size=n)
    return W, b.astype(float)


def binary_rows(rng, m, n, p=0.5):
    """``(m, n)`` float rows of independent Bernoulli(p) bits."""
    return (rng.random((m, n)) < p).astype(float)


def all_states(n):
    """``(2^n, n)``: every binary vector once, row s holding the bits of s (bit i in column i)."""
    return np.array([[(s >> i) & 1 for i in range(n)] for s in range(1 << n)], dtype=float)


def state_index(X):
    """The integer s = sum_i x_i 2^i of every 0/1 row of ``X`` (the row's index in all_states)."""
    X = np.asarray(X, dtype=float)
    return (X @ (2.0 ** np.arange(X.shape[1]))).astype(np.int64)
