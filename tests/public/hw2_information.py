"""Public checks of HW2 (they ship to students; expected values in data/hw2_information.json).

Fixed small cases that teach the basics of each exercise. The graded run adds
the hidden randomized checks of the same exercises (edge cases of the docstrings).
"""
import numpy as np

from grader.cases.gaussians import random_gaussian, random_spd
from grader.cases.information import random_distribution, random_table
from grader.checks.judges import close, close_tuple
from grader.checks.registry import Case, CheckSet

checks = CheckSet("hw2", public=True)

#: Entropies, KL and mutual information are O(log K) numbers: a tiny absolute slack.
close_nats = close(rtol=1e-6, atol=1e-9)


def moment_atol(case):
    """Absolute slack for a mean and covariance: scaled by the size of the values."""
    scale = float(np.max(np.abs(case.args[0]), initial=1.0))
    return 1e-9 * scale * scale


close_moments = close_tuple(("mean", "cov"), rtol=1e-6, atol=moment_atol)


def gaussian_atol(case):
    """Absolute slack for Gaussian entropies and KL: grows with the dimension."""
    return 1e-8 * (1 + np.shape(case.args[0])[0])


close_gaussian = close(rtol=1e-6, atol=gaussian_atol)


@checks.add("mean_and_covariance", "a small distribution and D = 1", points=2,
            judge=close_moments)
def _(rng):
    values = np.array([[0.0, 1.0], [2.0, 0.0], [1.0, 3.0], [-1.0, -1.0]])
    yield Case("K=4 D=2", args=(values, np.array([0.1, 0.2, 0.3, 0.4])))
    yield Case("K=4 D=2 with a zero probability", args=(values, np.array([0.5, 0.0, 0.25, 0.25])),
               about="the row of probability 0 must not count")
    yield Case("K=3 D=1", args=(np.array([[1.0], [2.0], [4.0]]), np.array([0.2, 0.5, 0.3])),
               about="cov has shape (1, 1)")


@checks.add("entropy", "vectors, zeros and a batch", points=2, judge=close_nats)
def _(rng):
    yield Case("fair coin", args=(np.array([0.5, 0.5]),), about="log 2 nats (not 1 bit)")
    yield Case("K=3", args=(np.array([0.2, 0.3, 0.5]),))
    yield Case("with a zero", args=(np.array([0.25, 0.0, 0.75]),), about="0 log 0 = 0")
    yield Case("batch (3, 4)", args=(random_distribution(rng, (3, 4), zeros=1),),
               about="one entropy per row: shape (3,)")


@checks.add("kl_divergence", "small vectors, zeros and inf", points=2, judge=close_nats)
def _(rng):
    yield Case("K=3", args=(np.array([0.2, 0.3, 0.5]), np.array([0.4, 0.4, 0.2])))
    yield Case("p has a zero", args=(np.array([0.0, 0.5, 0.5]), np.array([0.2, 0.3, 0.5])),
               about="terms with p = 0 contribute 0")
    yield Case("q is 0 where p > 0", args=(np.array([0.1, 0.4, 0.5]), np.array([0.0, 0.5, 0.5])),
               about="KL = inf exactly")
    p, q = random_distribution(rng, (2, 3)), random_distribution(rng, (2, 3))
    yield Case("batch (2, 3)", args=(p, q), about="one KL per row: shape (2,)")


@checks.add("conditional_entropy", "a non-square table", points=2, judge=close_nats)
def _(rng):
    pxy = np.array([[0.1, 0.2, 0.05], [0.3, 0.15, 0.2]])
    yield Case("2x3 table", args=(pxy,), about="rows index X, columns index Y")
    yield Case("3x2 table with a zero", args=(random_table(rng, 3, 2, zeros=1),))


@checks.add("mutual_information", "non-square and independent tables", points=2,
            judge=close_nats)
def _(rng):
    pxy = np.array([[0.1, 0.2, 0.05], [0.3, 0.15, 0.2]])
    yield Case("2x3 table", args=(pxy,))
    yield Case("independent 2x3 table", args=(np.outer([0.4, 0.6], [0.2, 0.3, 0.5]),),
               about="I = 0 when p(x, y) = p(x) p(y)")


@checks.add("gaussian_entropy", "D = 1 and D = 3", points=1, judge=close_gaussian)
def _(rng):
    yield Case("D=1 variance 2", args=(np.array([[2.0]]),), about="1/2 log(2 pi e 2)")
    yield Case("D=3", args=(random_spd(rng, 3),))


@checks.add("gaussian_kl", "D = 1, D = 2 and equal Gaussians", points=2, judge=close_gaussian)
def _(rng):
    yield Case("D=1", args=(np.array([0.0]), np.array([[1.0]]), np.array([1.0]),
                            np.array([[2.0]])))
    mu0, S0 = random_gaussian(rng, 2)
    mu1, S1 = random_gaussian(rng, 2)
    yield Case("D=2", args=(mu0, S0, mu1, S1))
    yield Case("D=2 equal", args=(mu0, S0, mu0, S0), about="KL of a Gaussian with itself is 0")
