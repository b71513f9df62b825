"""Random discrete distributions for cases, and the trusted side's own plain formulas.

The formulas here (``plogp_sum``) are deliberately tiny and independent of the
reference solutions: identity checks (I = H(X) − H(X|Y), H(X|Y) = H(X) for a
product table) judge a submission against them without asking the reference.
"""
import numpy as np


def random_distribution(rng, shape, *, zeros=0, alpha=1.0):
    """Probability vectors along the last axis of ``shape`` (Dirichlet(alpha)).

    ``zeros`` entries of every vector are set to exactly 0 before renormalizing
    (at most K − 1 of them, so every vector keeps some mass).
    """
    shape = tuple(shape)
    k = shape[-1]
    p = rng.dirichlet(np.full(k, alpha), size=shape[:-1]).reshape(shape)
    zeros = min(zeros, k - 1)
    if zeros:
        flat = p.reshape(-1, k)
        for row in flat:
            row[rng.choice(k, size=zeros, replace=False)] = 0.0
        p = flat.reshape(shape)
    return p / p.sum(axis=-1, keepdims=True)


def random_table(rng, nx, ny, *, zeros=0, empty_row=False, empty_col=False):
    """A joint table ``pxy (nx, ny)`` summing to 1, with ``zeros`` zero cells.

    ``empty_row`` / ``empty_col`` zero a whole row (p(X=i) = 0) or column
    (p(Y=j) = 0), the 0/0 trap of conditionals.
    """
    p = rng.dirichlet(np.ones(nx * ny)).reshape(nx, ny)
    if zeros:
        p.flat[rng.choice(nx * ny, size=min(zeros, nx * ny - 1), replace=False)] = 0.0
    if empty_row:
        p[int(rng.integers(nx))] = 0.0
    if empty_col:
        p[:, int(rng.integers(ny))] = 0.0
    if p.sum() == 0:
        p[0, 0] = 1.0
    return p / p.sum()


def product_table(rng, nx, ny):
    """``pxy = outer(px, py)``: X and Y independent, so I(X; Y) = 0 and H(X|Y) = H(X)."""
    px = random_distribution(rng, (nx,), zeros=1 if nx > 2 else 0)
    py = random_distribution(rng, (ny,))
    return np.outer(px, py)


def plogp_sum(p, axis=None):
    """-sum p log p with 0 log 0 = 0 (the trusted side's own entropy formula)."""
    p = np.asarray(p, dtype=float)
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log(safe), axis=axis)
