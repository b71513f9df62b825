"""HW3's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should and nothing else; the trusted autograd agrees with the closed
forms, and the student's side never needs torch."""
import numpy as np
import pytest

from grader import homeworks
from grader.checks.registry import Case

from .grading import (assert_full_marks_without_torch, assert_public_and_hidden_points,
                      assert_reference_full_marks, assert_stubs_not_implemented,
                      assert_variant_ids_exist, assert_variant_loses, failures, grade_text,
                      reference_source)

HW = homeworks.get("hw3")
EXERCISES = ("gaussian_loglik", "grad_loglik_mu", "grad_loglik_precision", "gaussian_mle",
             "categorical_mle")


@pytest.mark.parametrize("seed", [0, 1, 2, 7, 42])
def test_reference_scores_full_marks(seed):
    result = assert_reference_full_marks("hw3", seed)
    if seed == 0:
        assert_public_and_hidden_points(result)


def test_stubs_score_zero_and_say_not_implemented():
    assert_stubs_not_implemented("hw3", EXERCISES)


def test_submission_without_torch_gets_full_marks():
    """The worker never needs torch: a reference that refuses to import it still passes."""
    assert_full_marks_without_torch("hw3", seed=3)


def test_autograd_hooks_agree_with_the_closed_forms():
    from solutions import hw3_mle as ref
    from tests.hidden.hw3_mle import autograd_grad_mu, autograd_grad_precision
    rng = np.random.default_rng(0)
    X, mu = rng.standard_normal((7, 3)), rng.standard_normal(3)
    a = rng.standard_normal((3, 3))
    Sigma = a @ a.T + np.eye(3)
    S = np.linalg.inv(Sigma)
    got_mu = autograd_grad_mu(None, None, Case("c", args=(X, mu, Sigma)))
    got_S = autograd_grad_precision(None, None, Case("c", args=(X, mu, S)))
    np.testing.assert_allclose(got_mu, ref.grad_loglik_mu(X, mu, Sigma), rtol=1e-10)
    np.testing.assert_allclose(got_S, ref.grad_loglik_precision(X, mu, S), rtol=1e-9,
                               atol=1e-12)


LOGLIK_HIGH_D = {"gaussian_loglik/high-dimension-where-det-sigma-under-or-overflows"}
LOGLIK_ILL = {"gaussian_loglik/ill-conditioned-covariance-condition-number-1e8"}
LOGLIK_ALL = {"gaussian_loglik/a-small-data-set-and-d-1",
              "gaussian_loglik/random-data-d-1-and-n-1"} | LOGLIK_ILL | LOGLIK_HIGH_D
GRAD_MU_ALL = {"grad_loglik_mu/a-small-data-set-and-d-1",
               "grad_loglik_mu/matches-autograd-at-random-points"}
GRAD_S_ALL = {"grad_loglik_precision/a-small-data-set-and-d-1",
              "grad_loglik_precision/matches-autograd-at-random-points",
              "grad_loglik_precision/n-d-where-an-n-n-gram-matrix-has-the-right-shape"}
MLE_ALL = {"gaussian_mle/a-small-data-set-and-d-1", "gaussian_mle/matches-the-closed-form",
           "gaussian_mle/optimal-zero-gradient-every-perturbation-lowers-l"}
CATEGORICAL_ALL = {"categorical_mle/frequencies-with-absent-categories",
                   "categorical_mle/random-samples",
                   "categorical_mle/categories-absent-from-the-sample-get-0"}
CATEGORICAL_ABSENT = CATEGORICAL_ALL - {"categorical_mle/random-samples"}

WRONG_VARIANTS = {
    "loglik: mean over rows instead of the sum": ("""
        _right_loglik = gaussian_loglik
        def gaussian_loglik(X, mu, Sigma):
            return _right_loglik(X, mu, Sigma) / len(X)
        """, LOGLIK_ALL),
    "loglik: log det without the 1/2": ("""
        _right_loglik = gaussian_loglik
        def gaussian_loglik(X, mu, Sigma):
            return _right_loglik(X, mu, Sigma) - 0.5 * len(X) * np.linalg.slogdet(Sigma)[1]
        """, LOGLIK_ALL),
    "loglik: log det as log(det(Sigma)), inverse by inv": ("""
        def gaussian_loglik(X, mu, Sigma):
            N, D = X.shape
            d = X - mu
            maha = np.einsum("ni,ij,nj->", d, np.linalg.inv(Sigma), d)
            return -0.5 * (N * D * np.log(2 * np.pi) + N * np.log(np.linalg.det(Sigma)) + maha)
        """, LOGLIK_HIGH_D),
    "loglik: a tiny jitter (1e-10 I) added to Sigma": ("""
        _right_loglik = gaussian_loglik
        def gaussian_loglik(X, mu, Sigma):
            return _right_loglik(X, mu, Sigma + 1e-10 * np.eye(len(mu)))
        """, LOGLIK_ILL),
    "grad mu: gradient of the mean instead of the sum": ("""
        _right_grad_mu = grad_loglik_mu
        def grad_loglik_mu(X, mu, Sigma):
            return _right_grad_mu(X, mu, Sigma) / len(X)
        """, GRAD_MU_ALL),
    "grad mu: a factor 1/2 from the quadratic form": ("""
        _right_grad_mu = grad_loglik_mu
        def grad_loglik_mu(X, mu, Sigma):
            return 0.5 * _right_grad_mu(X, mu, Sigma)
        """, GRAD_MU_ALL),
    "grad mu: Sigma instead of its inverse": ("""
        def grad_loglik_mu(X, mu, Sigma):
            return Sigma @ (X - mu).sum(axis=0)
        """, GRAD_MU_ALL),
    "grad precision: transposed outer product (the (N, N) Gram matrix)": ("""
        def grad_loglik_precision(X, mu, S):
            diff = X - mu
            return 0.5 * len(X) * np.linalg.inv(S) - 0.5 * diff @ diff.T
        """, GRAD_S_ALL),
    "grad precision: missing the 1/2 on the outer products": ("""
        def grad_loglik_precision(X, mu, S):
            diff = X - mu
            return 0.5 * len(X) * np.linalg.inv(S) - diff.T @ diff
        """, GRAD_S_ALL),
    "grad precision: gradient of the mean instead of the sum": ("""
        _right_grad_S = grad_loglik_precision
        def grad_loglik_precision(X, mu, S):
            return _right_grad_S(X, mu, S) / len(X)
        """, GRAD_S_ALL),
    "grad precision: S where S^-1 is due": ("""
        def grad_loglik_precision(X, mu, S):
            diff = X - mu
            return 0.5 * len(X) * S - 0.5 * diff.T @ diff
        """, GRAD_S_ALL),
    "mle: unbiased 1/(N - 1) covariance": ("""
        def gaussian_mle(X):
            return X.mean(axis=0), np.atleast_2d(np.cov(X.T))
        """, MLE_ALL),
    "mle: second moment not centered": ("""
        def gaussian_mle(X):
            return X.mean(axis=0), X.T @ X / len(X)
        """, MLE_ALL),
    "mle: np.cov without transposing (N, N)": ("""
        def gaussian_mle(X):
            return X.mean(axis=0), np.cov(X, bias=True)
        """, MLE_ALL),
    "categorical: bincount without minlength": ("""
        def categorical_mle(x, K):
            return np.bincount(x) / len(x)
        """, CATEGORICAL_ABSENT),
    "categorical: np.unique skips absent categories": ("""
        def categorical_mle(x, K):
            _, counts = np.unique(x, return_counts=True)
            return counts / len(x)
        """, CATEGORICAL_ABSENT),
    "categorical: Laplace smoothing": ("""
        def categorical_mle(x, K):
            return (np.bincount(x, minlength=K) + 1) / (len(x) + K)
        """, CATEGORICAL_ALL),
}


@pytest.mark.parametrize("name", sorted(WRONG_VARIANTS))
@pytest.mark.parametrize("seed", [3, 99])
def test_wrong_variant_loses_exactly_its_checks(name, seed):
    override, expected_lost = WRONG_VARIANTS[name]
    assert_variant_loses("hw3", override, expected_lost, seed)


def test_check_ids_named_in_variants_exist():
    assert_variant_ids_exist("hw3", WRONG_VARIANTS)


ALTERNATIVE = '''
import numpy as np


def gaussian_loglik(X, mu, Sigma):
    N, D = X.shape
    d = X - mu
    maha = np.einsum("ni,ij,nj->", d, np.linalg.inv(Sigma), d)
    return -0.5 * (N * D * np.log(2 * np.pi) + N * np.linalg.slogdet(Sigma)[1] + maha)


def grad_loglik_mu(X, mu, Sigma):
    return np.linalg.inv(Sigma) @ np.sum(X - mu, axis=0)


def grad_loglik_precision(X, mu, S):
    d = X - mu
    return len(X) / 2 * np.linalg.inv(S) - 0.5 * np.einsum("ni,nj->ij", d, d)


def gaussian_mle(X):
    return X.mean(axis=0), np.atleast_2d(np.cov(X.T, bias=True))


def categorical_mle(x, K):
    return [float(np.mean(x == k)) for k in range(K)]
'''


@pytest.mark.parametrize("seed", [4, 5])
def test_a_different_correct_solution_scores_full_marks(seed):
    """inv instead of Cholesky, einsum, np.cov(bias=True), a list: correct without matching."""
    result = grade_text("hw3", ALTERNATIVE, seed=seed)
    assert result.score == result.max_score, failures(result)


def test_missing_torch_on_the_grading_side_is_a_grader_error(monkeypatch):
    """Without torch the autograd checks cannot judge: the grader says so, never the student."""
    from grader import engine
    monkeypatch.setattr(engine, "torch_available", lambda: False)
    with pytest.raises(engine.GraderError, match="needs torch"):
        grade_text("hw3", reference_source(HW), seed=1)
    public = grade_text("hw3", reference_source(HW), seed=1, include_hidden=False)
    assert public.score == public.max_score


PAIR_CONTAINERS = {
    "a namedtuple": """
        import collections
        Estimate = collections.namedtuple("Estimate", ["mu_hat", "Sigma_hat"])
        _right_mle = gaussian_mle
        def gaussian_mle(X):
            return Estimate(*_right_mle(X))
        """,
    "a tuple subclass whose own methods misbehave": """
        class Pair(tuple):
            def __iter__(self):
                raise RuntimeError("never iterate me")
            def __len__(self):
                return 0
            def __getitem__(self, i):
                raise IndexError(i)
        _right_mle = gaussian_mle
        def gaussian_mle(X):
            return Pair(_right_mle(X))
        """,
}


@pytest.mark.parametrize("name", sorted(PAIR_CONTAINERS))
@pytest.mark.parametrize("seed", [0, 5])
def test_pair_results_in_any_allowed_sequence_score_full_marks(name, seed):
    """gaussian_mle's pair may be a namedtuple or any tuple subclass (course spec)."""
    from .grading import variant
    result = grade_text("hw3", variant(HW, PAIR_CONTAINERS[name]), seed=seed,
                        only=("gaussian_mle",))
    assert result.score == result.max_score > 0, failures(result)
