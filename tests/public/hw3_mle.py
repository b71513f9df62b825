"""Public checks of HW3 (they ship to students; expected values in data/hw3_mle.json).

Fixed small cases that teach the basics of each exercise. The graded run adds
the hidden randomized checks: gradients against automatic differentiation at
random points, and the MLE judged by optimality as well as by its closed form.
"""
import numpy as np

from grader.cases.gaussians import random_gaussian
from grader.checks.judges import close, close_tuple
from grader.checks.registry import Case, CheckSet

checks = CheckSet("hw3", public=True)


def _spread(case):
    """1 + the largest |x_i - mu| of a case ``(X, mu, ...)``: the size of the residuals."""
    X, mu = np.asarray(case.args[0]), np.asarray(case.args[1])
    return 1.0 + float(np.max(np.abs(X - mu)))


def loglik_atol(case):
    """Absolute slack for a log-likelihood: grows with N and D."""
    return 1e-8 * np.size(case.args[0])


def grad_mu_atol(case):
    """Slack for dl/dmu: N times the size of Sigma^{-1} (x - mu)."""
    X, Sigma = np.asarray(case.args[0]), np.asarray(case.args[2])
    return 1e-9 * X.shape[0] * _spread(case) * float(np.max(np.abs(np.linalg.inv(Sigma))))


def grad_precision_atol(case):
    """Slack for dl/dS: N times the size of S^{-1} and of the outer products."""
    X, S = np.asarray(case.args[0]), np.asarray(case.args[2])
    return 1e-9 * X.shape[0] * (float(np.max(np.abs(np.linalg.inv(S)))) + _spread(case) ** 2)


def mle_tolerances(case):
    """Slack for (mu_hat, Sigma_hat): the size of the data, and its square."""
    size = 1.0 + float(np.max(np.abs(case.args[0])))
    return 1e-9 * size, 1e-9 * size * size


close_loglik = close(rtol=1e-6, atol=loglik_atol)
close_grad_mu = close(rtol=1e-6, atol=grad_mu_atol)
close_grad_precision = close(rtol=1e-6, atol=grad_precision_atol)
close_mle = close_tuple(("mu_hat", "Sigma_hat"), rtol=1e-6,
                        atol=(lambda c: mle_tolerances(c)[0], lambda c: mle_tolerances(c)[1]))
#: Frequencies are k / N: exact up to one rounding.
close_frequencies = close(rtol=1e-12, atol=1e-15)


def data_around(rng, mu, Sigma, n):
    """``n`` rows drawn from N(mu, Sigma) (case data; their exact law does not matter)."""
    L = np.linalg.cholesky(Sigma)
    return mu + rng.standard_normal((n, len(mu))) @ L.T


def point_case(rng, d, n, label, about=""):
    """A case ``(X, mu, Sigma)`` with data from one Gaussian and (mu, Sigma) from another."""
    mu, Sigma = random_gaussian(rng, d)
    X = data_around(rng, mu + 0.5 * rng.standard_normal(d), Sigma, n)
    return Case(label, args=(X, mu, Sigma), about=about)


def precision_case(rng, d, n, label, about=""):
    """A case ``(X, mu, S)``: S a random (exactly symmetric) precision, data from elsewhere."""
    case = point_case(rng, d, n, label, about)
    X, mu, Sigma = case.args
    S = np.linalg.inv(Sigma)
    return Case(label, args=(X, mu, 0.5 * (S + S.T)), about=about)


@checks.add("gaussian_loglik", "a small data set and D = 1", points=2, judge=close_loglik)
def _(rng):
    yield Case("D=1 N=3", args=(np.array([[0.5], [1.5], [-1.0]]), np.array([0.0]),
                                np.array([[2.0]])))
    yield point_case(rng, 3, 5, "D=3 N=5", about="a sum over the 5 rows, not a mean")


@checks.add("grad_loglik_mu", "a small data set and D = 1", points=2, judge=close_grad_mu)
def _(rng):
    yield Case("D=1 N=3", args=(np.array([[0.5], [1.5], [-1.0]]), np.array([0.0]),
                                np.array([[2.0]])), about="(1,) = sum(x - mu) / sigma^2")
    yield point_case(rng, 3, 5, "D=3 N=5")


@checks.add("grad_loglik_precision", "a small data set and D = 1", points=2,
            judge=close_grad_precision)
def _(rng):
    yield Case("D=1 N=3", args=(np.array([[0.5], [1.5], [-1.0]]), np.array([0.0]),
                                np.array([[0.5]])), about="S is the precision 1 / sigma^2")
    yield precision_case(rng, 3, 5, "D=3 N=5", about="(D, D), not (N, N)")


@checks.add("gaussian_mle", "a small data set and D = 1", points=2, judge=close_mle)
def _(rng):
    yield Case("D=1 N=4", args=(np.array([[1.0], [2.0], [4.0], [5.0]]),),
               about="Sigma_hat = [[2.5]] with 1/N (not 10/3)")
    mu, Sigma = random_gaussian(rng, 2)
    yield Case("D=2 N=6", args=(data_around(rng, mu, Sigma, 6),))


@checks.add("categorical_mle", "frequencies, with absent categories", points=1,
            judge=close_frequencies)
def _(rng):
    yield Case("K=3", args=(np.array([0, 2, 2, 1, 2, 0]), 3))
    yield Case("K=5, categories 1 and 4 absent", args=(np.array([0, 3, 2, 3]), 5),
               about="absent categories get 0; the result has K entries")
