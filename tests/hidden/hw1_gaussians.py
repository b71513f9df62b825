"""Hidden checks of HW1: fresh random cases per seed, every graded edge case of the spec.

Never shipped to students. Expected values come from the reference solution on
the trusted side; sampling is judged by exact-tail statistical tests whose
false-failure rate over this whole file is below 1e-6 per run.
"""
import numpy as np

from grader.cases.gaussians import random_gaussian, random_mixture, random_partition, random_spd
from grader.checks import programs
from grader.checks.judges import close, close_tuple
from grader.checks.registry import Case, CheckSet
from grader.compare import statistics
from grader.compare.numeric import PASS, Verdict
from tests.public.hw1_gaussians import (close_conditional, logpdf_atol, reproducibility_program,
                                        reproducible_sampling, sample_shapes)

checks = CheckSet("hw1", public=False)

# Statistical budget: 3 sampling checks x (1 frequency test + 1 Gaussian test per
# component) spend at most ALPHA each, far below 1e-6 in total.
ALPHA = 1e-8


def _far_points(rng, means, n, distance):
    """Points about ``distance`` away from every mean (a naive density sum underflows)."""
    d = means.shape[1]
    direction = rng.standard_normal((n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return means.mean(axis=0) + distance * direction


# --- gaussian_logpdf -------------------------------------------------------------------------

@checks.add("gaussian_logpdf", "random dimensions, points and batches", points=1,
            judge=close(rtol=1e-6, atol=logpdf_atol))
def _(rng):
    for i, d in enumerate((1, 2, 5, 8)):
        mu, Sigma = random_gaussian(rng, d)
        yield Case(f"D={d} one point", args=(mu + rng.standard_normal(d), mu, Sigma))
        n = int(rng.integers(1, 7))
        yield Case(f"D={d} batch of {n}", args=(mu + rng.standard_normal((n, d)), mu, Sigma))


def with_hint(judge, hint):
    """``judge``, with ``hint`` (the usual cause of a failure here) added to its failure message."""
    def hinted(case, outputs, expected):
        verdict = judge(case, outputs, expected)
        return verdict if verdict.passed else Verdict.fail(f"{verdict.message}. {hint}")
    return hinted


#: What the ill-conditioned cases catch: a covariance changed before use (np.linalg.inv or
#: solve both pass them: at condition number 1e8 either is within tolerance).
NO_JITTER = ("The smallest eigenvalues of this covariance are 1e-8 of the largest: any "
             "jitter added to it (even + 1e-10 * I) changes them, and the result, far beyond "
             "the tolerance. Use the matrix exactly as given.")


@checks.add("gaussian_logpdf", "ill-conditioned covariance (condition number 1e8)", points=1,
            judge=with_hint(close(rtol=1e-6, atol=logpdf_atol), NO_JITTER))
def _(rng):
    for d in (2, 4, 6):
        mu = rng.standard_normal(d)
        Sigma = random_spd(rng, d, cond=1e8)
        yield Case(f"D={d} cond=1e8", args=(mu + 1e-3 * rng.standard_normal((3, d)), mu, Sigma),
                   about="Sigma used exactly as given: no jitter")


NO_DET = ("In high dimension det(Sigma) underflows to 0 or overflows to inf in float64: take "
          "log det Sigma from a Cholesky factor (2 sum log diag L) or np.linalg.slogdet.")


@checks.add("gaussian_logpdf", "points far from the mean and high dimension", points=1,
            judge=with_hint(close(rtol=1e-6, atol=logpdf_atol), NO_DET))
def _(rng):
    mu, Sigma = random_gaussian(rng, 3)
    yield Case("D=3 distance 1e3", args=(mu + 1e3 * rng.standard_normal((2, 3)), mu, Sigma))
    mu, Sigma = random_gaussian(rng, 300, scale=1e-3)
    yield Case("D=300 small variances", args=(mu + 0.01 * rng.standard_normal(300), mu, Sigma),
               about="det(Sigma) underflows to 0 in float64")
    mu, Sigma = random_gaussian(rng, 300, scale=1e3)
    yield Case("D=300 large variances", args=(mu + 30.0 * rng.standard_normal(300), mu, Sigma),
               about="det(Sigma) overflows to inf in float64")


# --- gaussian_marginal ------------------------------------------------------------------------

@checks.add("gaussian_marginal", "index lists of every type and order", points=1,
            judge=close_tuple(("mu_a", "Sigma_a"), rtol=0, atol=0))
def _(rng):
    d = 7
    mu, Sigma = random_gaussian(rng, d)
    idx = [int(i) for i in rng.choice(d, size=4, replace=False)]
    yield Case("list, unordered", args=(mu, Sigma, idx))
    yield Case("tuple", args=(mu, Sigma, tuple(idx[:3])))
    yield Case("int array", args=(mu, Sigma, np.array(idx[1:], dtype=np.int64)))
    yield Case("all dims reversed", args=(mu, Sigma, list(range(d))[::-1]))


@checks.add("gaussian_marginal", "D = 1", points=1,
            judge=close_tuple(("mu_a", "Sigma_a"), rtol=0, atol=0))
def _(rng):
    mu, Sigma = random_gaussian(rng, 1)
    yield Case("D=1 idx=[0]", args=(mu, Sigma, [0]), about="shapes (1,) and (1, 1)")


# --- gaussian_conditional ---------------------------------------------------------------------

@checks.add("gaussian_conditional", "random partitions with dims in neither list", points=2,
            judge=close_conditional)
def _(rng):
    for d in (3, 5, 8, 8):
        mu, Sigma = random_gaussian(rng, d)
        a, b = random_partition(rng, d)
        if not b:
            b = [next(i for i in range(d) if i not in a)]
        x_b = mu[b] + rng.standard_normal(len(b))
        yield Case(f"D={d} a={a} b={b}", args=(mu, Sigma, a, b, x_b),
                   about="unordered, non-contiguous index lists")
    mu, Sigma = random_gaussian(rng, 6)
    yield Case("int-array indices", args=(mu, Sigma, np.array([4, 1]), np.array([5, 0]),
                                          rng.standard_normal(2)))


@checks.add("gaussian_conditional", "empty idx_b and D = 1", points=2, judge=close_conditional)
def _(rng):
    mu, Sigma = random_gaussian(rng, 5)
    yield Case("a=[3, 1] b=[]", args=(mu, Sigma, [3, 1], [], np.zeros(0)),
               about="nothing observed: the marginal")
    mu, Sigma = random_gaussian(rng, 1)
    yield Case("D=1 a=[0] b=[]", args=(mu, Sigma, [0], [], np.zeros(0)))
    mu, Sigma = random_gaussian(rng, 2)
    yield Case("D=2 a=[1] b=[0]", args=(mu, Sigma, [1], [0], np.array([2.5])))


@checks.add("gaussian_conditional", "ill-conditioned Sigma_bb (condition number 1e8)", points=2,
            judge=with_hint(close_conditional, NO_JITTER.replace("this covariance", "Sigma_bb")))
def _(rng):
    for d in (4, 6):
        mu = rng.standard_normal(d)
        Sigma = random_spd(rng, d, cond=1e8)
        a, b = random_partition(rng, d, n_a=1, n_b=d - 2)
        x_b = mu[b] + 1e-3 * rng.standard_normal(len(b))
        yield Case(f"D={d} cond=1e8", args=(mu, Sigma, a, b, x_b),
                   about="Sigma_bb used exactly as given: no jitter")


# --- mixtures ---------------------------------------------------------------------------------

@checks.add("mixture_logpdf", "random mixtures", points=1, judge=close(rtol=1e-6, atol=1e-6))
def _(rng):
    for k, d in ((1, 2), (3, 1), (4, 3), (5, 6)):
        w, m, c = random_mixture(rng, k, d)
        yield Case(f"K={k} D={d}", args=(rng.standard_normal((6, d)) * 2, w, m, c))


@checks.add("mixture_logpdf", "points far from every component", points=2,
            judge=close(rtol=1e-6, atol=1e-6))
def _(rng):
    for k, d, dist in ((3, 2, 60.0), (2, 1, 500.0), (4, 3, 1e3)):
        w, m, c = random_mixture(rng, k, d)
        yield Case(f"K={k} D={d} distance {dist:g}", args=(_far_points(rng, m, 4, dist), w, m, c),
                   about="every density underflows to 0: use log-sum-exp")


@checks.add("mixture_logpdf", "zero weights", points=2, judge=close(rtol=1e-6, atol=1e-6))
def _(rng):
    w, m, c = random_mixture(rng, 4, 2, zero_weights=2)
    yield Case("K=4 two zero weights", args=(rng.standard_normal((5, 2)), w, m, c),
               about="log 0 = -inf must not become NaN")
    w, m, c = random_mixture(rng, 3, 1, zero_weights=1)
    yield Case("K=3 D=1 far points, one zero weight", args=(_far_points(rng, m, 3, 80.0), w, m, c))


def responsibilities_judge(case, outputs, expected):
    """Close to the reference, zero-weight columns exactly 0, rows summing to 1."""
    verdict = close(rtol=1e-6, atol=1e-9)(case, outputs, expected)
    if not verdict.passed:
        return verdict
    r = np.asarray(outputs[0], dtype=float)
    zero = np.asarray(case.args[1]) == 0
    if zero.any() and np.any(r[:, zero] != 0):
        return Verdict.fail("a zero-weight component must get responsibility exactly 0")
    return PASS


@checks.add("mixture_responsibilities", "random mixtures and far points", points=2,
            judge=responsibilities_judge)
def _(rng):
    for k, d in ((3, 2), (2, 1), (5, 4)):
        w, m, c = random_mixture(rng, k, d)
        yield Case(f"K={k} D={d}", args=(rng.standard_normal((6, d)) * 2, w, m, c))
    w, m, c = random_mixture(rng, 3, 2)
    yield Case("far points", args=(_far_points(rng, m, 4, 200.0), w, m, c),
               about="naive ratio is 0/0 = NaN: normalize in log space")


@checks.add("mixture_responsibilities", "zero weights", points=1, judge=responsibilities_judge)
def _(rng):
    w, m, c = random_mixture(rng, 4, 2, zero_weights=1)
    yield Case("K=4 one zero weight", args=(rng.standard_normal((6, 2)), w, m, c))


# --- mixture_sample ---------------------------------------------------------------------------

N_STAT = 20000


def _stat_mixture(rng, k, d, zero_weights=0):
    w = np.full(k, 1.0 / k) + 0.3 * rng.dirichlet(np.ones(k))
    w /= w.sum()
    if zero_weights:
        w[-1] = 0.0
        w /= w.sum()
    means = 4.0 * rng.standard_normal((k, d))
    covs = []
    for _ in range(k):
        q = np.linalg.qr(rng.standard_normal((d, d)))[0]
        eig = np.exp(rng.uniform(np.log(0.05), np.log(5.0), d))
        tri = np.tril(rng.standard_normal((d, d)), -1)   # make L L^T differ from L^T L
        s = (q * eig) @ q.T + tri @ tri.T
        covs.append(0.5 * (s + s.T))
    return w, means, np.stack(covs)


def frequencies_judge(case, outputs, expected):
    w, m = case.args[0], case.args[1]
    verdict = sample_shapes(case, outputs, case.args[3], m.shape[1], len(w))
    if not verdict.passed:
        return verdict
    z = np.asarray(outputs[0][1], dtype=float).astype(int)
    return statistics.category_frequencies(z, w, ALPHA)


def components_judge(case, outputs, expected):
    w, m, c, n = case.args
    verdict = sample_shapes(case, outputs, n, m.shape[1], len(w))
    if not verdict.passed:
        return verdict
    x = np.asarray(outputs[0][0], dtype=float)
    z = np.asarray(outputs[0][1], dtype=float).astype(int)
    for k in range(len(w)):
        if w[k] == 0:
            continue
        if np.sum(z == k) < 50:
            return Verdict.fail(f"component {k} (weight {w[k]:.3g}) drew only "
                                f"{int(np.sum(z == k))} of {n} samples")
        verdict = statistics.gaussian_samples(x[z == k], m[k], c[k], ALPHA,
                                              name=f"x[z == {k}]")
        if not verdict.passed:
            return verdict
    return PASS


def seeded_call(check, case):
    return [programs.seed_global(0),
            programs.call(check.exercise, *case.args, programs.rng(case.data["seed"]))]


@checks.add("mixture_sample", "component frequencies follow the weights", points=2,
            judge=frequencies_judge, expected=None, steps=seeded_call)
def _(rng):
    w, m, c = _stat_mixture(rng, 4, 2, zero_weights=1)
    yield Case("K=4 D=2, one zero weight", args=(w, m, c, N_STAT),
               data={"seed": int(rng.integers(1 << 31))},
               about="multinomial frequencies, zero weight never drawn")


@checks.add("mixture_sample", "each component's mean and covariance", points=2,
            judge=components_judge, expected=None, steps=seeded_call)
def _(rng):
    w, m, c = _stat_mixture(rng, 3, 3)
    yield Case("K=3 D=3", args=(w, m, c, N_STAT), data={"seed": int(rng.integers(1 << 31))},
               about="x given z ~ N(means[z], covs[z]) with x = m + L eps")
    w, m, c = _stat_mixture(rng, 2, 1)
    yield Case("K=2 D=1", args=(w, m, c, N_STAT // 2), data={"seed": int(rng.integers(1 << 31))})


@checks.add("mixture_sample", "reproducible from rng alone", points=1,
            judge=reproducible_sampling, expected=None, steps=reproducibility_program)
def _(rng):
    w, m, c = random_mixture(rng, 3, 4, zero_weights=1)
    yield Case("K=3 D=4", args=(w, m, c, 200), data={"seed": int(rng.integers(1 << 31))})
