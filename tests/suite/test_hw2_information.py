"""HW2's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should and nothing else."""
import pytest

from grader import homeworks

from .grading import (assert_public_and_hidden_points, assert_reference_full_marks,
                      assert_stubs_not_implemented, assert_variant_ids_exist,
                      assert_variant_loses, failures, grade_text)

HW = homeworks.get("hw2")
EXERCISES = ("mean_and_covariance", "entropy", "kl_divergence", "conditional_entropy",
             "mutual_information", "gaussian_entropy", "gaussian_kl")


@pytest.mark.parametrize("seed", [0, 1, 2, 7, 42])
def test_reference_scores_full_marks(seed):
    result = assert_reference_full_marks("hw2", seed)
    if seed == 0:
        assert_public_and_hidden_points(result)


def test_stubs_score_zero_and_say_not_implemented():
    assert_stubs_not_implemented("hw2", EXERCISES)


ENTROPY_ALL = {"entropy/vectors-zeros-and-a-batch",
               "entropy/random-distributions-with-zero-probabilities",
               "entropy/leading-batch-dimensions",
               "entropy/uniform-and-one-hot-distributions-closed-forms"}
KL_VALUES = {"kl_divergence/small-vectors-zeros-and-inf",
             "kl_divergence/random-pairs-with-zeros-in-p-and-in-q",
             "kl_divergence/inf-where-p-0-q-within-a-batch",
             "kl_divergence/leading-batch-dimensions"}
COND_VALUES = {"conditional_entropy/a-non-square-table",
               "conditional_entropy/random-non-square-tables",
               "conditional_entropy/zero-cells-rows-and-columns",
               "conditional_entropy/independent-tables-and-x-a-function-of-y-closed-forms"}
MI_VALUES = {"mutual_information/non-square-and-independent-tables",
             "mutual_information/random-non-square-tables",
             "mutual_information/zero-cells-rows-and-columns",
             "mutual_information/i-h-x-h-x-y-0-and-i-x-y-i-y-x"}
GAUSS_ENTROPY_ALL = {"gaussian_entropy/d-1-and-d-3",
                     "gaussian_entropy/random-covariances-and-d-1",
                     "gaussian_entropy/ill-conditioned-covariances-closed-form",
                     "gaussian_entropy/high-dimension-det-under-or-overflows"}
GAUSS_KL_VALUES = {"gaussian_kl/d-1-d-2-and-equal-gaussians",
                   "gaussian_kl/random-pairs-and-d-1",
                   "gaussian_kl/ill-conditioned-covariances-closed-form",
                   "gaussian_kl/high-dimension-det-under-or-overflows"}

WRONG_VARIANTS = {
    "moments: plain average over the rows (ignores probs)": ("""
        def mean_and_covariance(values, probs):
            return values.mean(axis=0), np.atleast_2d(np.cov(values.T, bias=True))
        """, {"mean_and_covariance/a-small-distribution-and-d-1",
              "mean_and_covariance/random-distributions-with-zero-probabilities"}),
    "moments: E[X X^T] without subtracting the mean": ("""
        def mean_and_covariance(values, probs):
            return probs @ values, (values * probs[:, None]).T @ values
        """, {"mean_and_covariance/a-small-distribution-and-d-1",
              "mean_and_covariance/random-distributions-with-zero-probabilities"}),
    "entropy: naive p log p (NaN at zeros)": ("""
        def entropy(p):
            return -np.sum(p * np.log(p), axis=-1)
        """, {"entropy/vectors-zeros-and-a-batch",
              "entropy/random-distributions-with-zero-probabilities",
              "entropy/leading-batch-dimensions",
              "entropy/uniform-and-one-hot-distributions-closed-forms"}),
    "entropy: log base 2": ("""
        _right_entropy = entropy
        def entropy(p):
            return _right_entropy(p) / np.log(2)
        """, ENTROPY_ALL),
    "entropy: sums over every axis (no batch)": ("""
        _right_entropy = entropy
        def entropy(p):
            return float(np.sum(_right_entropy(p)))
        """, {"entropy/vectors-zeros-and-a-batch", "entropy/leading-batch-dimensions",
              "entropy/uniform-and-one-hot-distributions-closed-forms"}),
    "kl: epsilon clipping (large finite instead of inf)": ("""
        def kl_divergence(p, q):
            return np.sum(_xlogy(p, p) - _xlogy(p, q + 1e-300), axis=-1)
        """, {"kl_divergence/small-vectors-zeros-and-inf",
              "kl_divergence/inf-where-p-0-q-within-a-batch"}),
    "kl: naive p log(p / q) (NaN where p = 0)": ("""
        def kl_divergence(p, q):
            return np.sum(p * np.log(p / q), axis=-1)
        """, KL_VALUES | {"kl_divergence/kl-0-with-equality-exactly-when-p-q"}),
    "kl: inf wherever q = 0, even where p = 0": ("""
        _right_kl = kl_divergence
        def kl_divergence(p, q):
            return np.where(np.any(q == 0, axis=-1), np.inf, _right_kl(p, q))
        """, {"kl_divergence/random-pairs-with-zeros-in-p-and-in-q",
              "kl_divergence/leading-batch-dimensions",
              "kl_divergence/kl-0-with-equality-exactly-when-p-q"}),
    "kl: arguments swapped (KL[q || p])": ("""
        _right_kl = kl_divergence
        def kl_divergence(p, q):
            return _right_kl(q, p)
        """, KL_VALUES),
    "kl: log base 2": ("""
        _right_kl = kl_divergence
        def kl_divergence(p, q):
            return _right_kl(p, q) / np.log(2)
        """, KL_VALUES),
    "conditional entropy: wrong marginal axis (H(Y | X))": ("""
        def conditional_entropy(pxy):
            return float(_entropy(pxy.reshape(-1)) - _entropy(pxy.sum(axis=1)))
        """, COND_VALUES),
    "conditional entropy: naive p log p(x | y) (NaN at zero cells and columns)": ("""
        def conditional_entropy(pxy):
            cond = pxy / pxy.sum(axis=0, keepdims=True)
            return float(-np.sum(pxy * np.log(cond)))
        """, {"conditional_entropy/a-non-square-table",
              "conditional_entropy/zero-cells-rows-and-columns",
              "conditional_entropy/independent-tables-and-x-a-function-of-y-closed-forms"}),
    "mutual information: product of marginals transposed": ("""
        def mutual_information(pxy):
            px, py = pxy.sum(axis=1), pxy.sum(axis=0)
            outer = np.outer(py, px).reshape(pxy.shape)
            return float(np.sum(_xlogy(pxy, pxy) - _xlogy(pxy, outer)))
        """, MI_VALUES | {"mutual_information/i-0-for-independent-tables"}),
    "mutual information: log base 2": ("""
        _right_mi = mutual_information
        def mutual_information(pxy):
            return _right_mi(pxy) / np.log(2)
        """, MI_VALUES),
    "gaussian entropy: log det through det()": ("""
        def gaussian_entropy(Sigma):
            D = Sigma.shape[0]
            return float(0.5 * D * (1 + np.log(2 * np.pi)) + 0.5 * np.log(np.linalg.det(Sigma)))
        """, {"gaussian_entropy/high-dimension-det-under-or-overflows"}),
    "gaussian entropy: missing the e (1/2 log det(2 pi Sigma))": ("""
        def gaussian_entropy(Sigma):
            D = Sigma.shape[0]
            return float(0.5 * D * np.log(2 * np.pi) + 0.5 * np.linalg.slogdet(Sigma)[1])
        """, GAUSS_ENTROPY_ALL),
    "gaussian entropy: epsilon added to Sigma": ("""
        _right_h = gaussian_entropy
        def gaussian_entropy(Sigma):
            return _right_h(Sigma + 1e-9 * np.eye(Sigma.shape[0]))
        """, {"gaussian_entropy/ill-conditioned-covariances-closed-form"}),
    "gaussian kl: arguments swapped": ("""
        _right_gkl = gaussian_kl
        def gaussian_kl(mu0, Sigma0, mu1, Sigma1):
            return _right_gkl(mu1, Sigma1, mu0, Sigma0)
        """, GAUSS_KL_VALUES),
    "gaussian kl: log dets through det()": ("""
        def gaussian_kl(mu0, Sigma0, mu1, Sigma1):
            D = len(mu0)
            inv = np.linalg.inv(Sigma1)
            d = mu1 - mu0
            return float(0.5 * (np.trace(inv @ Sigma0) + d @ inv @ d - D
                                + np.log(np.linalg.det(Sigma1) / np.linalg.det(Sigma0))))
        """, {"gaussian_kl/high-dimension-det-under-or-overflows"}),
    "gaussian kl: forgets the - D": ("""
        _right_gkl = gaussian_kl
        def gaussian_kl(mu0, Sigma0, mu1, Sigma1):
            return _right_gkl(mu0, Sigma0, mu1, Sigma1) + 0.5 * len(mu0)
        """, GAUSS_KL_VALUES | {"gaussian_kl/kl-n-n-0-and-kl-0-otherwise"}),
    "gaussian kl: epsilon added to the covariances": ("""
        _right_gkl = gaussian_kl
        def gaussian_kl(mu0, Sigma0, mu1, Sigma1):
            eps = 1e-9 * np.eye(len(mu0))
            return _right_gkl(mu0, Sigma0 + eps, mu1, Sigma1 + eps)
        """, {"gaussian_kl/ill-conditioned-covariances-closed-form",
              "gaussian_kl/high-dimension-det-under-or-overflows"}),
}


@pytest.mark.parametrize("name", sorted(WRONG_VARIANTS))
@pytest.mark.parametrize("seed", [3, 99])
def test_wrong_variant_loses_exactly_its_checks(name, seed):
    override, expected_lost = WRONG_VARIANTS[name]
    assert_variant_loses("hw2", override, expected_lost, seed)


def test_check_ids_named_in_variants_exist():
    assert_variant_ids_exist("hw2", WRONG_VARIANTS)


ALTERNATIVE = '''
import numpy as np


def mean_and_covariance(values, probs):
    mean = np.sum(probs[:, None] * values, axis=0)
    second = np.einsum("k,ki,kj->ij", probs, values, values)
    return mean, second - np.outer(mean, mean)


def entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)


def kl_divergence(p, q):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(np.where(p > 0, p * np.log(p / q), 0.0), axis=-1)


def conditional_entropy(pxy):
    py = pxy.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(pxy > 0, pxy * np.log(pxy / py[None, :]), 0.0)
    return -terms.sum()


def mutual_information(pxy):
    return entropy(pxy.sum(axis=1)) + entropy(pxy.sum(axis=0)) - entropy(pxy.ravel())


def gaussian_entropy(Sigma):
    return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * Sigma)[1]


def gaussian_kl(mu0, Sigma0, mu1, Sigma1):
    inv = np.linalg.inv(Sigma1)
    d = mu1 - mu0
    return 0.5 * (np.trace(inv @ Sigma0) + d @ inv @ d - len(d)
                  + np.linalg.slogdet(Sigma1)[1] - np.linalg.slogdet(Sigma0)[1])
'''


@pytest.mark.parametrize("seed", [4, 5])
def test_a_different_correct_solution_scores_full_marks(seed):
    """Masked formulas, E[XX^T] - mm^T, inv and slogdet: correct without matching the reference."""
    result = grade_text("hw2", ALTERNATIVE, seed=seed)
    assert result.score == result.max_score, failures(result)
