"""HW2 — Information theory: expectations, entropy, KL divergence, mutual information.

Every exercise below is a stub: replace the ``raise NotImplementedError`` with
your code. Only numpy is needed.

Check your work at any time with ``make check HW=hw2`` (public checks, instant
feedback). The graded run adds hidden randomized checks of the same exercises,
including every edge case listed in the docstrings.

Conventions (course spec):
- Inputs are float64 ndarrays. Return any array-like with the right shape and
  values; it is converted with ``np.asarray(result, dtype=float)``.
- A scalar result has shape ``()`` (a Python float or 0-d array), not ``(1,)``.
- "log" is the natural log: entropies and KL divergences are in nats
  (``np.log``, not ``np.log2``).
- Probability vectors and tables sum to 1 and may contain exact zeros; do not
  renormalize them. The convention 0 log 0 = 0 (the limit of t log t as t → 0)
  holds everywhere: a zero probability contributes nothing, and never NaN.
- Tolerances: values must match within ``rtol = 1e-6`` plus a small absolute
  slack (stated per check in the feedback); quantities that are ≥ 0 may come
  out as tiny negative rounding (about -1e-12).

Hint: ``np.log(0)`` is ``-inf`` and ``0 * -inf`` is ``nan``. Select the
positive entries first (``np.where``, a boolean mask) instead of computing
``p * np.log(p)`` everywhere.
"""
import numpy as np


def mean_and_covariance(values, probs):
    """Mean and covariance of a discrete distribution over vectors.

    The random vector X takes the value ``values[k]`` with probability ``probs[k]``:

        E[X]   = sum_k p_k v_k
        Cov[X] = E[(X - E X)(X - E X)^T] = sum_k p_k (v_k - E X)(v_k - E X)^T

    (Equivalently Cov[X] = E[X X^T] - E[X] E[X]^T; note that each term is a
    *weighted* average with weights p_k, not a plain average over the K rows, and
    there is no 1/(K - 1): this is a distribution, not a sample.)

    Args:
        values: ``(K, D)``, one support point per row.
        probs: ``(K,)``, non-negative, summing to 1 (some may be exactly 0).

    Returns:
        ``(mean, cov)`` of shapes ``(D,)`` and ``(D, D)``.

    Graded edge cases: zero probabilities (those rows must not count); D = 1
    (``values`` is ``(K, 1)``, the covariance ``(1, 1)``); K = 1 (a point mass:
    covariance exactly zero).
    """
    raise NotImplementedError


def entropy(p):
    """Shannon entropy H(p) = -sum_k p_k log p_k, in nats, over the LAST axis.

    Args:
        p: ``(..., K)``: one distribution per index of the leading axes,
            e.g. ``(K,)`` one distribution, ``(B, K)`` a batch of B of them,
            ``(A, B, K)`` a grid of them. Entries may be exactly 0.

    Returns:
        Shape ``(...)``, the leading shape of ``p``: a scalar (shape ``()``) for
        ``(K,)``, ``(B,)`` for ``(B, K)``, ``(A, B)`` for ``(A, B, K)``.

    Facts you can test yourself: 0 <= H(p) <= log K; H is log K for the uniform
    distribution and 0 for a one-hot vector.

    Graded edge cases: zero probabilities (0 log 0 = 0, never NaN); leading batch
    dimensions (reduce over ``axis=-1`` only); natural log (``np.log2`` gives bits:
    wrong by a factor log 2).
    """
    raise NotImplementedError


def kl_divergence(p, q):
    """Kullback–Leibler divergence KL[p ‖ q] = sum_k p_k log(p_k / q_k), over the LAST axis.

    Args:
        p, q: arrays of identical shape ``(..., K)``, probability vectors along
            the last axis, possibly with exact zeros.

    Returns:
        Shape ``(...)``, like ``entropy``.

    Conventions, term by term (they follow from the limits):
        - p_k = 0: the term is 0, whatever q_k is (0 log(0 / q) = 0, also for q = 0);
        - p_k > 0 and q_k = 0: the term is +inf, so KL[p ‖ q] = ``np.inf`` exactly.
          Not a large finite number: clipping q with an epsilon (``q + 1e-12``)
          fails the check.

    Facts you can test yourself: KL[p ‖ q] >= 0, with equality if and only if
    p = q; KL is not symmetric (KL[p ‖ q] != KL[q ‖ p] in general).

    Graded edge cases: zeros in p, in q and in both; infinite entries within a
    batch (only the affected rows are inf); leading batch dimensions; the
    argument order (the expectation is under p).
    """
    raise NotImplementedError


def conditional_entropy(pxy):
    """Conditional entropy H(X | Y) of a joint probability table, in nats.

        H(X | Y) = -sum_{i,j} p(x_i, y_j) log p(x_i | y_j),  p(x_i | y_j) = p(x_i, y_j) / p(y_j)
                 = H(X, Y) - H(Y)                               (chain rule)

    Args:
        pxy: ``(n_x, n_y)`` with ``pxy[i, j] = p(X = i, Y = j)``: ROWS index X,
            COLUMNS index Y. So p(y_j) = sum_i pxy[i, j] is a sum over axis 0.
            The table need not be square.

    Returns:
        A float (shape ``()``).

    Facts you can test yourself: 0 <= H(X | Y) <= H(X); H(X | Y) = H(X) when X
    and Y are independent (a table ``np.outer(px, py)``); H(X | Y) = 0 when X is
    a function of Y.

    Graded edge cases: non-square tables (summing over the wrong axis computes
    H(Y | X) instead, or crashes); zero cells, and whole zero rows or columns
    (p(y_j) = 0 makes p(x | y_j) = 0/0: those cells contribute 0, never NaN).
    """
    raise NotImplementedError


def mutual_information(pxy):
    """Mutual information I(X; Y) of a joint probability table, in nats.

        I(X; Y) = sum_{i,j} p(x_i, y_j) log[ p(x_i, y_j) / (p(x_i) p(y_j)) ]
                = H(X) + H(Y) - H(X, Y) = H(X) - H(X | Y)

    with p(x_i) = sum_j pxy[i, j] (axis 1) and p(y_j) = sum_i pxy[i, j] (axis 0).

    Args:
        pxy: ``(n_x, n_y)``, rows index X and columns index Y; need not be square.

    Returns:
        A float (shape ``()``), >= 0.

    Facts that are graded directly (no reference solution needed):
    I(X; Y) >= 0; I(X; Y) = 0 for an independent table ``np.outer(px, py)``;
    I(X; Y) = H(X) - H(X | Y); I(X; Y) = I(Y; X) (the transposed table).

    Graded edge cases: non-square tables (the product p(x_i) p(y_j) must be an
    ``(n_x, n_y)`` table: ``np.outer(px, py)``, not ``np.outer(py, px)``); zero
    cells and zero rows or columns (they contribute 0, never NaN).
    """
    raise NotImplementedError


def gaussian_entropy(Sigma):
    """Differential entropy of a Gaussian N(mu, Sigma), in nats (it does not depend on mu).

        h = 1/2 log det(2 pi e Sigma) = D/2 (1 + log 2 pi) + 1/2 log det Sigma

    Args:
        Sigma: ``(D, D)`` symmetric positive definite; D = 1 is ``(1, 1)``.

    Returns:
        A float (shape ``()``). It may be negative (a differential entropy is
        not bounded below).

    Graded edge cases: D = 1; covariances with condition number up to 1e8; high
    dimensions with small variances, where ``np.linalg.det`` underflows to 0
    (log 0 = -inf) even though log det is a moderate number. Compute log det from
    a Cholesky factor (``2 * sum(log(diag(L)))``) or ``np.linalg.slogdet``. Do not
    add a "stabilizing" epsilon to Sigma: it changes the answer.
    """
    raise NotImplementedError


def gaussian_kl(mu0, Sigma0, mu1, Sigma1):
    """KL divergence between two Gaussians, KL[N0 ‖ N1] with N_i = N(mu_i, Sigma_i), in nats.

        KL = 1/2 [ tr(Sigma1^{-1} Sigma0) + (mu1 - mu0)^T Sigma1^{-1} (mu1 - mu0)
                   - D + log det Sigma1 - log det Sigma0 ]

    Args:
        mu0, mu1: ``(D,)``; Sigma0, Sigma1: ``(D, D)`` symmetric positive definite.

    Returns:
        A float (shape ``()``), >= 0, and 0 when the two Gaussians are equal.

    Graded edge cases: D = 1; the argument order (the expectation is under N0:
    only Sigma1 is inverted); covariances with condition number up to 1e8, used
    exactly as given (an epsilon added to them fails); high dimensions where
    ``det`` underflows (use log-dets as in ``gaussian_entropy``). Solving with
    Sigma1 or its Cholesky factor is cheaper and more accurate than forming
    ``inv(Sigma1)``; at the graded condition numbers an ``inv`` version is still
    within tolerance and not penalized.
    """
    raise NotImplementedError
