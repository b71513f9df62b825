"""HW3 — Maximum likelihood: the Gaussian log-likelihood, its gradients and the MLE.

Every exercise below is a stub: replace the ``raise NotImplementedError`` with
your code. Only numpy is needed (no torch: you implement the closed forms of
the lecture, whose derivations the docstrings sketch; the grader checks them
against automatic differentiation).

Check your work at any time with ``make check HW=hw3`` (public checks, instant
feedback). The graded run adds hidden randomized checks of the same exercises,
including every edge case listed in the docstrings. Your gradients are compared
with automatic differentiation at random points, and your maximum-likelihood
estimates are checked for optimality (zero gradient, and every small
perturbation lowers the log-likelihood): a closed form that is off by a
factor 1/2 or a factor N, that uses Sigma where Sigma^{-1} is due, or that
builds the (N, N) matrix ``diff @ diff.T`` where the (D, D) sum of outer
products ``diff.T @ diff`` is due, fails. (Every matrix evaluated here is
symmetric, so a transposed Sigma or a transposed dl/dS is not an error.)

Conventions (course spec):
- Data sets are ``X`` of shape ``(N, D)``: one observation per row.
- The log-likelihood is a SUM over the N rows (not a mean), so its gradients
  grow with N.
- Inputs are float64 ndarrays. Return any array-like with the right shape and
  values; a scalar result has shape ``()`` (a Python float or 0-d array).
- Tolerances: ``rtol = 1e-6`` plus an absolute slack scaled by N and by the
  size of the inputs.

A tip for all of HW3: check your own gradients with finite differences,
(f(theta + h e_j) - f(theta - h e_j)) / (2 h) with h around 1e-5, before you
submit.
"""
import numpy as np


def gaussian_loglik(X, mu, Sigma):
    """Log-likelihood of a data set under N(mu, Sigma), summed over the rows.

        l(mu, Sigma) = sum_i log N(x_i; mu, Sigma)
                     = -N D/2 log(2 pi) - N/2 log det Sigma
                       - 1/2 sum_i (x_i - mu)^T Sigma^{-1} (x_i - mu)

    Args:
        X: ``(N, D)`` data, N >= 1.
        mu: ``(D,)``; Sigma: ``(D, D)`` symmetric positive definite.

    Returns:
        A float (shape ``()``).

    Graded edge cases: D = 1 (``mu`` ``(1,)``, ``Sigma`` ``(1, 1)``); N = 1;
    covariances with condition number up to 1e8, used exactly as given (jitter,
    even ``+ 1e-10 * I``, changes the answer beyond the tolerance and fails);
    high dimension (D = 300), where ``np.linalg.det`` underflows to 0 or
    overflows to inf in float64, so ``log(det(Sigma))`` fails: take log det
    Sigma from a Cholesky factor (``2 sum log diag L``) or
    ``np.linalg.slogdet``.

    For the quadratic form, ``np.linalg.solve`` (or a triangular solve with
    the Cholesky factor) is cheaper and more accurate than ``inv``; at the
    graded condition numbers an ``inv`` version is still within tolerance and
    not penalized, but the gap grows with the condition number.
    """
    raise NotImplementedError


def grad_loglik_mu(X, mu, Sigma):
    """Gradient of the log-likelihood with respect to the mean, in closed form.

    Derive it from l(mu, Sigma) above: only the quadratic term depends on mu, and
    d/dmu [ 1/2 (x - mu)^T A (x - mu) ] = -A (x - mu) for a symmetric A.

    Args:
        X: ``(N, D)``; mu: ``(D,)``; Sigma: ``(D, D)`` SPD.

    Returns:
        ``(D,)``, the gradient dl/dmu of the SUM over rows (not of the mean:
        it is N times larger).

    Graded: against automatic differentiation of l at random points (mu is not
    the MLE, so the gradient is not zero). Edge cases: D = 1, N = 1.
    """
    raise NotImplementedError


def grad_loglik_precision(X, mu, S):
    """Gradient of the log-likelihood with respect to the precision matrix S = Sigma^{-1}.

    Written in terms of S, the log-likelihood is

        l = -N D/2 log(2 pi) + N/2 log det S - 1/2 sum_i (x_i - mu)^T S (x_i - mu)

    Treat every entry S[j, k] as an independent variable (no symmetric
    parametrization), and use d/dS log det S = S^{-T} and
    d/dS (v^T S v) = v v^T (an outer product: (D, D), entry [j, k] = v_j v_k).
    At a symmetric S this gives the lecture's

        dl/dS = N/2 S^{-1} - 1/2 sum_i (x_i - mu)(x_i - mu)^T

    Args:
        X: ``(N, D)``; mu: ``(D,)``; S: ``(D, D)`` symmetric positive definite
            (the precision, NOT the covariance).

    Returns:
        ``(D, D)``: entry [j, k] is dl/dS[j, k].

    Graded: against automatic differentiation at random points; edge cases
    D = 1 and N = D. With diff of shape (N, D), the sum of outer products is
    ``diff.T @ diff`` (D, D); ``diff @ diff.T`` is the (N, N) Gram matrix, which
    has the right shape only by accident when N = D.
    """
    raise NotImplementedError


def gaussian_mle(X):
    """Maximum-likelihood estimate of a Gaussian's mean and covariance.

    Setting both gradients above to zero gives

        mu_hat    = 1/N sum_i x_i
        Sigma_hat = 1/N sum_i (x_i - mu_hat)(x_i - mu_hat)^T

    with 1/N, not the unbiased 1/(N - 1) (``np.cov`` uses 1/(N - 1) unless
    ``bias=True``; it also expects variables in rows unless you transpose).

    Args:
        X: ``(N, D)`` data with N > D (so Sigma_hat is positive definite).

    Returns:
        ``(mu_hat, Sigma_hat)`` of shapes ``(D,)`` and ``(D, D)``.

    Graded: against the closed form, and by optimality without any reference: at
    your (mu_hat, Sigma_hat) the gradient of l must vanish, and every small
    perturbation of mu_hat or Sigma_hat must lower l. Edge case: D = 1.
    """
    raise NotImplementedError


def categorical_mle(x, K):
    """Maximum-likelihood estimate of a categorical distribution over {0, ..., K - 1}.

    Maximizing sum_i log pi_{x_i} subject to sum_k pi_k = 1 (a Lagrange
    multiplier) gives the empirical frequencies

        pi_hat_k = (number of i with x_i = k) / N.

    Args:
        x: ``(N,)`` int array of observations, each in ``[0, K)``.
        K: the number of categories (int). Some categories may never occur in x,
            including the last ones (``max(x) < K - 1``).

    Returns:
        ``(K,)``: one entry per category, in order; categories absent from x get
        exactly 0 (no smoothing). The entries sum to 1.

    Hint: ``np.bincount`` needs ``minlength=K``; ``np.unique`` skips absent
    categories.
    """
    raise NotImplementedError
