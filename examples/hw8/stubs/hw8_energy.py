"""HW8 — Energy-based models: a Boltzmann machine on binary vectors.

The lecture's third family. A Boltzmann machine on x in {0,1}^n has the energy

    E(x) = -b^T x - sum_{i<j} W_ij x_i x_j

with W symmetric and zero on its diagonal, and the distribution
p(x) = exp(-E(x)) / Z, Z = sum over all 2^n vectors of exp(-E(x)). For small n
(n <= 16) everything is exact by enumeration; for large n only Gibbs sampling
and contrastive divergence remain, and this homework compares them with the
exact answers. Every exercise below is a stub: replace the
``raise NotImplementedError`` with your code. Only numpy is needed.

Check your work at any time with ``make check HW=hw8`` (public checks, instant
feedback). The graded run adds hidden randomized checks of the same exercises,
including every edge case listed in the docstrings.

Conventions (course spec):
- ``X`` is a float64 ``(M, n)`` array whose rows are 0/1 vectors; ``W`` is a
  symmetric ``(n, n)`` array with a zero diagonal; ``b`` is ``(n,)``. n = 1 is
  still arrays: ``W`` ``(1, 1)`` (a zero), ``b`` ``(1,)``, ``X`` ``(M, 1)``.
- Return any array-like with the right shape and values; it is converted with
  ``np.asarray(result, dtype=float)``. A scalar has shape ``()``; a pair is any
  length-2 sequence.
- Randomness comes only from the ``rng`` argument (a ``np.random.Generator``):
  never from ``np.random.*`` global functions.
- Tolerances: values must match within ``rtol = 1e-6`` plus an absolute slack
  scaled by the size of the inputs (stated per check in the feedback). Samplers
  are judged statistically, with a false-failure rate below 1e-6 per graded
  run, never by equality with anyone's draws.
"""
import numpy as np


def bm_energy(X, W, b):
    """Energies of the rows of ``X``.

    E(x) = -sum_i b_i x_i - sum_{i<j} W_ij x_i x_j = -b^T x - 1/2 x^T W x

    (the two forms agree because W is symmetric with a zero diagonal: x^T W x
    counts every pair i < j twice). Each pair of sites is counted once.

    Args:
        X: ``(M, n)`` rows of 0/1 values.
        W: ``(n, n)`` symmetric, zero diagonal.
        b: ``(n,)``.

    Returns:
        ``(M,)`` energies, one per row (also for M = 1).

    Graded: against the definition (the sum over pairs i < j) on random models;
    n = 1 and a single row; counting a pair twice (``-b^T x - x^T W x``) fails.
    """
    raise NotImplementedError


def bm_log_likelihood(X, W, b):
    """Exact mean log-likelihood of the rows of ``X``.

    log p(x) = -E(x) - log Z,   log Z = log sum_{y in {0,1}^n} exp(-E(y)),

    where the sum runs over all 2^n binary vectors y (enumerate them: n <= 16).

    Args:
        X: ``(M, n)`` data rows; W: ``(n, n)``; b: ``(n,)``.

    Returns:
        A float (shape ``()``): (1/M) sum_m log p(x_m), the mean, not the sum.

    Graded: against exact enumeration on random models (n = 1 included); energies
    of magnitude 1e3 and more, of either sign: exp(-E) overflows to inf when E is
    very negative and underflows to 0 when E is very positive. Work in log space:
    log Z by the log-sum-exp trick, log sum_y exp(a_y) = m + log sum_y exp(a_y - m)
    with m = max_y a_y, and log p(x) as -E(x) - log Z (never log of a probability
    computed first).
    """
    raise NotImplementedError


def bm_grad(X, W, b):
    """Exact gradient of the mean log-likelihood: data statistics minus model statistics.

    The parameters are b and the n(n-1)/2 couplings W_ij with i < j (W_ji is the
    same parameter). Differentiating (1/M) sum_m log p(x_m) gives

        d/db_i   = E_data[x_i]     - E_model[x_i]
        d/dW_ij  = E_data[x_i x_j] - E_model[x_i x_j]      (i < j, counted once)

    where E_data averages over the rows of X and E_model[f] = sum_y p(y) f(y)
    over all 2^n vectors y (exact, by enumeration). Return dW as the symmetric
    matrix with dW[i, j] = dW[j, i] = d/dW_ij and a zero diagonal (a coupling of
    a site with itself is not a parameter). Note: this is not the derivative of
    -1/2 x^T W x with every entry of W an independent variable, which is half
    as large off the diagonal.

    Args:
        X: ``(M, n)`` data rows; W: ``(n, n)``; b: ``(n,)``.

    Returns:
        ``(dW, db)``: ``dW`` of shape ``(n, n)``, symmetric with zero diagonal;
        ``db`` of shape ``(n,)``.

    Graded: against automatic differentiation of the exact mean log-likelihood
    (on the grader's side) at random models, n = 1 included; models whose
    energies reach 1e3, where p(y) = exp(-E(y)) / Z overflows unless it is
    computed as exp(-E(y) - log Z).
    """
    raise NotImplementedError


def gibbs_sweep(X, W, b, rng):
    """One sequential Gibbs sweep of every row of ``X`` (each row its own chain).

    For i = 0, 1, ..., n-1 in this order, resample site i from its conditional
    given all the other sites, using the values they have now (sites before i
    were already updated in this sweep, sites after i not yet):

        p(x_i = 1 | x_rest) = sigma(b_i + sum_j W_ij x_j),  sigma(a) = 1 / (1 + e^-a)

    (W_ii = 0, so x_i itself does not enter). Each step leaves p(x) invariant,
    so the sweep does too. Updating all sites at once from the old state is not
    a Gibbs sampler when sites are coupled: its stationary law is not p.

    Args:
        X: ``(M, n)`` current states, one chain per row.
        W: ``(n, n)``; b: ``(n,)``.
        rng: ``np.random.Generator``, the only source of randomness.

    Returns:
        ``(M, n)`` new states of 0/1 values. ``X`` itself must not be modified
        (work on a copy).

    Graded: statistically, from many chains started at the same state, against
    the exact law of one sweep (which depends on the order of the updates);
    started from exact samples of p, the output must follow p (stationarity);
    with fields of size 50 and more (almost deterministic updates) the result
    must match the sequential update exactly; the input is left unchanged; the
    same seed gives the same output, whatever the global numpy seed.
    """
    raise NotImplementedError


def cd_grad(X, W, b, k, rng):
    """The contrastive-divergence-k estimate of ``bm_grad``.

    Start one chain at each data row, run k Gibbs sweeps (``gibbs_sweep``) to
    get rows y_m, and replace the model expectations by averages over them:

        dW_ij = 1/M sum_m (x_mi x_mj - y_mi y_mj)   (i != j; zero diagonal)
        db_i  = 1/M sum_m (x_mi - y_mi)

    Its expectation is not the exact gradient (the chains are not run to
    equilibrium), but the bias vanishes as k grows.

    Args:
        X: ``(M, n)`` data rows; W: ``(n, n)``; b: ``(n,)``.
        k: the number of sweeps (an int >= 1).
        rng: ``np.random.Generator``, the only source of randomness.

    Returns:
        ``(dW, db)`` shaped as in ``bm_grad`` (dW symmetric, zero diagonal).

    Graded: statistically against the exact expectation of CD-k (computed by
    the grader from the exact one-sweep transition), for k = 1 and k > 1, so
    the chains must start at the data rows (not at random states) and run k
    sweeps; for large k, close to the exact gradient; with almost deterministic
    updates (fields of size 50 and more), exactly the sequential result; the
    same seed gives the same estimate, whatever the global numpy seed.
    """
    raise NotImplementedError
