"""Public checks of HW1 (they ship to students; expected values in data/hw1_gaussians.json).

Fixed cases that teach the basics of each exercise. The graded run adds the
hidden randomized checks of the same exercises (edge cases of the docstrings).
"""
import numpy as np

from grader.cases.gaussians import random_gaussian, random_mixture
from grader.checks.judges import close, close_tuple
from grader.checks.registry import Case, CheckSet, reproducibility_program
from grader.compare.numeric import PASS, Verdict, as_numeric, as_sequence

checks = CheckSet("hw1", public=True)


def logpdf_atol(case):
    """Absolute slack for log-densities: grows with the dimension."""
    return 1e-7 * (1 + np.asarray(case.args[1]).size)


def cond_tolerances(case):
    """Tolerances of a conditional: scaled by the size of Sigma and of the observed offset."""
    mu, Sigma = case.args[0], case.args[1]
    scale = float(np.max(np.abs(Sigma)))
    offset = 1.0 + float(np.max(np.abs(mu))) + float(np.max(np.abs(case.args[4]), initial=0.0))
    return 1e-7 * offset * (1 + scale), 1e-6 * scale


close_conditional = close_tuple(
    ("mu_cond", "Sigma_cond"), rtol=1e-6,
    atol=(lambda c: cond_tolerances(c)[0], lambda c: cond_tolerances(c)[1]))


def sample_shapes(case, outputs, n, d, k):
    """Each output is a pair (x (n, d), z (n,) of integers in [0, k))."""
    for got in outputs:
        pair, problem = as_sequence(got, 2)
        if pair is None:
            return Verdict.fail(f"{problem}: return (x, z)")
        x, problem = as_numeric(pair[0], "x")
        if x is None:
            return Verdict.fail(problem)
        if x.shape != (n, d):
            return Verdict.fail(f"x has shape {x.shape}, expected ({n}, {d})")
        if not np.all(np.isfinite(x)):
            return Verdict.fail("x contains NaN or inf")
        z, problem = as_numeric(pair[1], "z")
        if z is None:
            return Verdict.fail(problem)
        if z.shape != (n,):
            return Verdict.fail(f"z has shape {z.shape}, expected ({n},)")
        if not np.all(np.isfinite(z)) or np.any(z != np.round(z)):
            return Verdict.fail("z must hold integer component indices")
        if z.min() < 0 or z.max() >= k:
            return Verdict.fail(f"z has values outside [0, {k}): min {z.min():g}, max {z.max():g}")
    return PASS


def reproducible_sampling(case, outputs, expected):
    """Same seed → same draws whatever the global seed; another seed → other draws."""
    weights, means = case.args[0], case.args[1]
    n, (k, d) = case.args[3], np.shape(means)
    verdict = sample_shapes(case, outputs, n, d, k)
    if not verdict.passed:
        return verdict
    first, again, other = ([np.asarray(part, dtype=float) for part in out] for out in outputs)
    for name, a, b in (("x", first[0], again[0]), ("z", first[1], again[1])):
        if not np.array_equal(a, b):
            return Verdict.fail(f"two calls with generators of the same seed gave different {name} "
                                "(the global numpy seed differed between them): draw every random "
                                "number from `rng`, never from np.random.*")
    if np.array_equal(first[0], other[0]):
        return Verdict.fail("generators of different seeds gave identical x: is `rng` used at all?")
    return PASS


@checks.add("gaussian_logpdf", "one point and a batch", points=2,
            judge=close(rtol=1e-6, atol=logpdf_atol))
def _(rng):
    mu, Sigma = np.array([0.5]), np.array([[2.0]])
    yield Case("D=1 one point", args=(np.array([1.5]), mu, Sigma), about="scalar result, shape ()")
    mu, Sigma = random_gaussian(rng, 3)
    yield Case("D=3 one point", args=(rng.standard_normal(3), mu, Sigma))
    yield Case("D=3 batch of 4", args=(rng.standard_normal((4, 3)), mu, Sigma),
               about="(N, D) input gives (N,) output")


@checks.add("gaussian_marginal", "selects the entries in the order given", points=1,
            judge=close_tuple(("mu_a", "Sigma_a"), rtol=0, atol=0))
def _(rng):
    mu, Sigma = random_gaussian(rng, 4)
    yield Case("idx=[2, 0]", args=(mu, Sigma, [2, 0]), about="order follows idx")
    yield Case("idx=[1]", args=(mu, Sigma, [1]))


@checks.add("gaussian_conditional", "conditions on a subset", points=2, judge=close_conditional)
def _(rng):
    mu, Sigma = random_gaussian(rng, 3)
    yield Case("a=[0] b=[2]", args=(mu, Sigma, [0], [2], np.array([0.7])),
               about="dimension 1 is in neither list: marginalized out")
    yield Case("a=[2, 0] b=[1]", args=(mu, Sigma, [2, 0], [1], np.array([-1.0])))
    yield Case("a=[1] b=[]", args=(mu, Sigma, [1], [], np.zeros(0)),
               about="empty idx_b: the marginal")


@checks.add("mixture_logpdf", "two components in 2-D", points=2,
            judge=close(rtol=1e-6, atol=1e-6))
def _(rng):
    _, m, c = random_mixture(rng, 2, 2, spread=0.7)
    w = np.array([0.8, 0.2])
    yield Case("K=2 D=2 N=5", args=(rng.standard_normal((5, 2)), w, m, c),
               about="weights 0.8 and 0.2")


@checks.add("mixture_responsibilities", "two components in 2-D", points=1,
            judge=close(rtol=1e-6, atol=1e-9))
def _(rng):
    _, m, c = random_mixture(rng, 2, 2, spread=0.7)
    w = np.array([0.8, 0.2])
    yield Case("K=2 D=2 N=5", args=(rng.standard_normal((5, 2)), w, m, c),
               about="weights 0.8 and 0.2")


@checks.add("mixture_sample", "shapes, integer labels, same seed same samples", points=2,
            judge=reproducible_sampling, expected=None, steps=reproducibility_program)
def _(rng):
    w, m, c = random_mixture(rng, 3, 2)
    yield Case("K=3 D=2 n=50", args=(w, m, c, 50), data={"seed": 7})

