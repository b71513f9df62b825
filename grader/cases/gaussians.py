"""Random Gaussian parameters for cases: SPD matrices of a chosen condition number, mixtures."""
import numpy as np


def random_orthogonal(rng, d):
    """A Haar-random orthogonal ``(d, d)`` matrix."""
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def random_spd(rng, d, *, cond=None, scale=1.0):
    """A symmetric positive definite ``(d, d)`` matrix.

    With ``cond``, its eigenvalues are spread log-uniformly between ``scale``
    and ``scale / cond`` (exact condition number ``cond`` when d > 1).
    """
    if cond is None:
        a = rng.standard_normal((d, d))
        return scale * (a @ a.T / d + 0.5 * np.eye(d))
    if d == 1:
        return np.array([[scale]])
    eig = scale * np.logspace(0.0, -np.log10(cond), d)
    q = random_orthogonal(rng, d)
    s = (q * eig) @ q.T
    return 0.5 * (s + s.T)


def random_gaussian(rng, d, **spd):
    """``(mu, Sigma)`` with a standard normal mean and a ``random_spd`` covariance."""
    return rng.standard_normal(d), random_spd(rng, d, **spd)


def random_mixture(rng, k, d, *, zero_weights=0, spread=3.0):
    """``(weights, means, covs)``; ``zero_weights`` components get weight exactly 0."""
    w = rng.dirichlet(np.ones(k))
    if zero_weights:
        w[rng.choice(k, size=zero_weights, replace=False)] = 0.0
        w /= w.sum()
    means = spread * rng.standard_normal((k, d))
    covs = np.stack([random_spd(rng, d) for _ in range(k)])
    return w, means, covs


def random_partition(rng, d, *, n_a=None, n_b=None, leftover=True):
    """Disjoint, shuffled index lists ``(idx_a, idx_b)`` over range(d).

    ``leftover`` keeps at least one dimension in neither list when d > 2.
    """
    perm = [int(i) for i in rng.permutation(d)]
    room = d - 1 if (leftover and d > 2) else d
    n_a = n_a if n_a is not None else int(rng.integers(1, max(2, room)))
    n_b = n_b if n_b is not None else int(rng.integers(0, room - n_a + 1))
    return perm[:n_a], perm[n_a:n_a + n_b]
