"""Statistical tests with a stated bound on the false-failure rate.

Each test takes ``alpha``: the probability that a correct sampler fails it is
at most ``alpha`` (exact tail bounds, no asymptotic approximation), so a check
that spends ``alpha = 1e-7`` per test can promise a false-failure rate below
1e-6 per grading run over all its tests.
"""
import functools
import math

import numpy as np

from .numeric import PASS, Verdict, fmt


@functools.lru_cache(maxsize=256)  # the same few levels, judged for every submission
def normal_quantile(p):
    """The standard normal quantile z with P(Z > z) = p, by bisection on erfc (0 < p < 0.5)."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(mid / math.sqrt(2.0)) > p:
            lo = mid
        else:
            hi = mid
    return hi


def category_frequencies(z, probs, alpha, name="z"):
    """Counts of each category within Hoeffding bounds; categories of probability 0 never occur.

    For each of the K categories, P(|count/n - p| >= t) <= 2 exp(-2 n t^2);
    with t = sqrt(log(2K/alpha) / (2n)) the union over K categories fails a
    correct sampler with probability at most alpha.
    """
    probs = np.asarray(probs, dtype=float)
    z = np.asarray(z)
    n, k = z.size, probs.size
    zero = probs == 0
    seen_zero = np.isin(z, np.flatnonzero(zero))
    if seen_zero.any():
        i = int(np.flatnonzero(seen_zero)[0])
        return Verdict.fail(f"{name}[{i}] = {int(z[i])}, a category of probability 0 "
                            "(zero-weight components must never be sampled)")
    counts = np.bincount(z.astype(int), minlength=k)[:k]
    t = math.sqrt(math.log(2 * k / alpha) / (2 * n))
    freq = counts / n
    off = np.abs(freq - probs)
    if np.any(off > t):
        j = int(np.argmax(off))
        return Verdict.fail(
            f"category {j} has frequency {fmt(freq[j])} over {n} samples, expected "
            f"{fmt(probs[j])} ± {t:.3g} (a correct sampler falls outside with probability "
            f"< {alpha:g})")
    return PASS


def gaussian_samples(x, mean, cov, alpha, name="x"):
    """Samples ``x (n, D)`` consistent with N(mean, cov): whitened mean and second moments.

    With L the Cholesky factor of cov and w = L^{-1}(x - mean), each w_i ~ N(0, I):
    - every coordinate of sqrt(n) * mean(w) is exactly N(0, 1) (Gaussian tail bound);
    - for unit directions v (axes and all (e_j ± e_l)/sqrt(2)), sum_i (v.w_i)^2 is
      exactly chi^2_n; the Laurent–Massart bounds
      P(chi2 - n >= 2 sqrt(n s) + 2 s) <= e^-s and P(n - chi2 >= 2 sqrt(n s)) <= e^-s
      give the acceptance band.
    alpha is split evenly over all these tests.
    """
    x = np.asarray(x, dtype=float)
    mean = np.asarray(mean, dtype=float)
    n, d = x.shape
    L = np.linalg.cholesky(cov)
    w = np.linalg.solve(L, (x - mean).T).T                 # (n, D) whitened
    dirs = [np.eye(d)[j] for j in range(d)]
    for j in range(d):
        for l in range(j + 1, d):
            for sgn in (1.0, -1.0):
                v = np.zeros(d)
                v[j], v[l] = 1.0, sgn
                dirs.append(v / math.sqrt(2.0))
    n_tests = d + 2 * len(dirs)
    a = alpha / n_tests
    zmax = normal_quantile(a / 2)
    zmean = math.sqrt(n) * w.mean(axis=0)
    if np.any(np.abs(zmean) > zmax):
        j = int(np.argmax(np.abs(zmean)))
        emp = x.mean(axis=0)
        return Verdict.fail(
            f"the sample mean of {name} is off: whitened coordinate {j} of the mean is "
            f"{zmean[j] / math.sqrt(n):.3g}, allowed ±{zmax / math.sqrt(n):.3g} for {n} samples "
            f"(sample mean {np.array2string(emp, precision=4)}, expected "
            f"{np.array2string(mean, precision=4)})")
    s = math.log(1.0 / a)
    upper = n + 2 * math.sqrt(n * s) + 2 * s
    lower = n - 2 * math.sqrt(n * s)
    sums = np.sum((w @ np.array(dirs).T) ** 2, axis=0)  # one chi^2 per direction
    for chi2 in map(float, sums):
        if not lower <= chi2 <= upper:
            emp = np.cov(x.T, bias=True).reshape(d, d)
            return Verdict.fail(
                f"the spread of {name} is off: along a whitened direction the variance is "
                f"{chi2 / n:.4g}, allowed [{lower / n:.4g}, {upper / n:.4g}] for {n} samples "
                f"(sample covariance {np.array2string(emp, precision=3)}, expected "
                f"{np.array2string(np.asarray(cov), precision=3)}; is x = mean + L @ eps with "
                "L L^T = cov?)")
    return PASS


def bounded_means(got, expected, n_terms, alpha, names, slack=0.0):
    """Estimates, each a mean of ``n_terms`` independent terms that range over an interval of
    length at most 1, within Hoeffding bounds of their exact expectations.

    P(|mean - E mean| >= t) <= 2 exp(-2 n t^2) for each estimate; with
    t = sqrt(log(2 J / alpha) / (2 n)) the union over the J estimates fails a correct
    estimator with probability at most alpha. ``names[j]`` says which entry estimate j is;
    ``slack`` (per estimate) widens the bound where the target is known only to within it.
    """
    got = np.asarray(got, dtype=float).reshape(-1)
    expected = np.asarray(expected, dtype=float).reshape(-1)
    t = hoeffding_radius(n_terms, got.size, alpha) + np.broadcast_to(slack, got.shape)
    off = np.abs(got - expected)
    if np.any(off > t):
        j = int(np.argmax(off - t))
        return Verdict.fail(
            f"{names[j]} is {fmt(got[j])}, expected {fmt(expected[j])} ± {t[j]:.3g}, a mean over "
            f"{n_terms} independent terms (a correct estimator falls outside with probability "
            f"< {alpha:g})")
    return PASS


def hoeffding_radius(n_terms, n_estimates, alpha):
    """The t of ``bounded_means``: each of ``n_estimates`` means of ``n_terms`` terms in an
    interval of length 1 is within t of its expectation, all at once, with probability at
    least 1 - alpha."""
    return math.sqrt(math.log(2 * n_estimates / alpha) / (2 * n_terms))
