"""HW1 — Gaussians: densities, marginals, conditionals and mixtures.

The lecture's warm-up. Every exercise below is a stub: replace the
``raise NotImplementedError`` with your code. Only numpy is needed.

Check your work at any time with ``make check HW=hw1`` (public checks, instant
feedback). The graded run adds hidden randomized checks of the same exercises,
including every edge case listed in the docstrings.

Conventions (course spec):
- Inputs are float64 ndarrays. Return any array-like with the right shape and
  values; it is converted with ``np.asarray(result, dtype=float)``.
- A scalar result has shape ``()`` (a Python float or 0-d array), not ``(1,)``.
- Index arguments are sequences of distinct ints (list, tuple or 1-D int
  array); outputs follow the order given.
- Tolerances: values must match within ``rtol = 1e-6`` plus an absolute slack
  scaled by the size of the inputs (stated per check in the feedback).
"""
import numpy as np


def gaussian_logpdf(x, mu, Sigma):
    """Log-density of a multivariate Gaussian.

    log N(x; mu, Sigma) = -1/2 [ D log(2 pi) + log det Sigma
                                 + (x - mu)^T Sigma^{-1} (x - mu) ]

    Args:
        x: ``(D,)`` one point, or ``(N, D)`` a batch of points.
        mu: ``(D,)`` mean.
        Sigma: ``(D, D)`` symmetric positive definite covariance.

    Returns:
        A float (shape ``()``) for ``x`` of shape ``(D,)``; an ``(N,)`` array for
        ``x`` of shape ``(N, D)``.

    Graded edge cases: D = 1 (``mu`` ``(1,)``, ``Sigma`` ``(1, 1)``);
    covariances with condition number up to 1e8, used exactly as given (adding
    "jitter" to Sigma, even ``1e-10 * np.eye(D)``, changes its small
    eigenvalues, and the answer, far beyond the tolerance: it fails); points far
    from the mean; high dimension (D = 300), where ``np.linalg.det`` underflows
    to 0 (variances of 1e-3) or overflows to inf (variances of 1e3), so a log
    det taken as ``log(det(Sigma))`` fails.

    Hint: a Cholesky factor ``L`` (``Sigma = L L^T``) gives both
    ``log det Sigma = 2 sum log diag L`` and the quadratic form as
    ``|L^{-1}(x - mu)|^2`` (``np.linalg.slogdet`` also gives a safe log det).
    Prefer ``np.linalg.solve`` to forming ``inv(Sigma)``: it is cheaper and
    loses fewer digits as the condition number grows. (At the condition
    numbers graded here an ``inv`` version still lands within tolerance, so
    it is not penalized; at condition numbers of 1e12 and beyond the
    difference shows.)
    """
    raise NotImplementedError


def gaussian_marginal(mu, Sigma, idx):
    """Marginal of a Gaussian over the dimensions in ``idx``.

    If x ~ N(mu, Sigma) then x_a ~ N(mu_a, Sigma_aa): marginalizing a Gaussian
    just selects the entries.

    Args:
        mu: ``(D,)``; Sigma: ``(D, D)``.
        idx: non-empty sequence of distinct ints, in any order.

    Returns:
        ``(mu_a, Sigma_a)`` with shapes ``(len(idx),)`` and
        ``(len(idx), len(idx))``, in the order of ``idx``
        (``idx = [2, 0]`` puts dimension 2 first).

    Graded edge cases: unordered and non-contiguous ``idx``; ``idx`` given as a
    list, a tuple or an int array; D = 1.
    """
    raise NotImplementedError


def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
    """Conditional p(x_a | x_b = x_b) of a Gaussian.

    With the blocks of mu and Sigma indexed by a and b:

        mu_{a|b}    = mu_a + Sigma_ab Sigma_bb^{-1} (x_b - mu_b)
        Sigma_{a|b} = Sigma_aa - Sigma_ab Sigma_bb^{-1} Sigma_ba

    Dimensions in neither ``idx_a`` nor ``idx_b`` are marginalized out first
    (which, for a Gaussian, means: ignore them).

    Args:
        mu: ``(D,)``; Sigma: ``(D, D)``.
        idx_a: non-empty sequence of distinct ints (the queried dims).
        idx_b: sequence of distinct ints disjoint from ``idx_a`` (the observed
            dims); may be empty, in which case the result is the marginal of a.
        x_b: ``(len(idx_b),)`` observed values, in the order of ``idx_b``.

    Returns:
        ``(mu_cond, Sigma_cond)`` of shapes ``(len(idx_a),)`` and
        ``(len(idx_a), len(idx_a))``, in the order of ``idx_a``.

    Graded edge cases: unordered, non-contiguous index lists; dimensions in
    neither list; empty ``idx_b``; D = 1; ``Sigma_bb`` with condition number up
    to 1e8, used exactly as given: adding jitter (``Sigma_bb + eps * I``, even
    eps = 1e-7) to make it "safer" changes the answer beyond the tolerance and
    fails (the covariance tolerance is scaled by ``max |Sigma|``).

    ``np.linalg.solve(Sigma_bb, ...)`` is the usual way to apply
    ``Sigma_bb^{-1}``: cheaper than ``inv`` and more accurate for nearly
    singular blocks. At the graded condition numbers an ``inv`` version still
    lands within tolerance, so it is not penalized here; it matters for larger
    condition numbers and larger blocks.
    """
    raise NotImplementedError


def mixture_logpdf(x, weights, means, covs):
    """Log-density of a Gaussian mixture.

    log p(x) = log sum_k w_k N(x; m_k, C_k)

    Compute it in log space with the log-sum-exp trick:
    log sum_k exp(a_k) = m + log sum_k exp(a_k - m), m = max_k a_k,
    where a_k = log w_k + log N(x; m_k, C_k).

    Args:
        x: ``(N, D)`` points.
        weights: ``(K,)`` mixture weights, summing to 1 (some may be 0).
        means: ``(K, D)``; covs: ``(K, D, D)``.

    Returns:
        ``(N,)`` log p(x) for each row.

    Graded edge cases: points far from every component (a naive sum of
    densities underflows to 0 and gives -inf; the exact answer is a finite
    large negative number); zero weights (log 0 = -inf for that component,
    which must not turn into NaN); D = 1.
    """
    raise NotImplementedError


def mixture_responsibilities(x, weights, means, covs):
    """Posterior component probabilities of a Gaussian mixture (Bayes' rule).

    r_nk = p(z = k | x_n) = w_k N(x_n; m_k, C_k) / sum_j w_j N(x_n; m_j, C_j)

    Args and shapes as in ``mixture_logpdf``.

    Returns:
        ``(N, K)`` responsibilities; every row sums to 1.

    Graded edge cases: far-away points (naive ratio is 0/0 = NaN: normalize in
    log space); zero-weight components get responsibility exactly 0; D = 1.
    """
    raise NotImplementedError


def mixture_sample(weights, means, covs, n, rng):
    """Draw ``n`` samples from a Gaussian mixture (ancestral sampling).

    z_i ~ Cat(weights), then x_i | z_i ~ N(means[z_i], covs[z_i]);
    for the Gaussian step use x = m + L eps with L the Cholesky factor of the
    covariance (L L^T = C) and eps ~ N(0, I).

    Args:
        weights: ``(K,)``; means: ``(K, D)``; covs: ``(K, D, D)``.
        n: number of samples (int).
        rng: ``np.random.Generator``: draw every random number from it, never
            from ``np.random.*`` global functions.

    Returns:
        ``(x, z)``: ``x`` of shape ``(n, D)`` and ``z`` of shape ``(n,)`` holding
        integer component indices in ``[0, K)``.

    Graded: statistically (component frequencies, per-component means and
    covariances, with a false-failure rate below 1e-6 per run), never by
    equality with anyone's draws; the same seed must give the same samples and
    the global numpy seed must not matter; zero-weight components are never
    sampled.
    """
    raise NotImplementedError
