"""HW1's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should and nothing else."""
import pytest

from grader import homeworks

from .grading import (assert_public_and_hidden_points, assert_reference_full_marks,
                       assert_stubs_not_implemented, assert_variant_ids_exist,
                       assert_variant_loses, failures, grade_text, lost, reference_source,
                       variant)

HW = homeworks.get("hw1")


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7, 11, 42, 1234])
def test_reference_scores_full_marks(seed):
    assert_reference_full_marks("hw1", seed)


def test_stubs_score_zero_and_say_not_implemented():
    assert_stubs_not_implemented("hw1", {
        "gaussian_logpdf", "gaussian_marginal", "gaussian_conditional", "mixture_logpdf",
        "mixture_responsibilities", "mixture_sample"}, seed=5)


def test_every_exercise_has_public_and_hidden_points():
    assert_public_and_hidden_points(grade_text("hw1", reference_source(HW), seed=0))


WRONG_VARIANTS = {
    "logpdf without the 1/2 on log det": ("""
        def gaussian_logpdf(x, mu, Sigma):
            x = np.asarray(x, dtype=float)
            X = np.atleast_2d(x)
            D = len(mu)
            d = X - mu
            maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(Sigma), d)
            out = -0.5 * (D * np.log(2 * np.pi) + maha) - np.log(np.linalg.det(Sigma))
            return float(out[0]) if x.ndim == 1 else out
        """, {"gaussian_logpdf/one-point-and-a-batch",
              "gaussian_logpdf/random-dimensions-points-and-batches",
              "gaussian_logpdf/ill-conditioned-covariance-condition-number-1e8",
              "gaussian_logpdf/points-far-from-the-mean-and-high-dimension"}),
    "logpdf through det(): underflows in high dimension": ("""
        def gaussian_logpdf(x, mu, Sigma):
            x = np.asarray(x, dtype=float)
            X = np.atleast_2d(x)
            D = len(mu)
            d = X - mu
            maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(Sigma), d)
            out = -0.5 * (D * np.log(2 * np.pi) + np.log(np.linalg.det(Sigma)) + maha)
            return float(out[0]) if x.ndim == 1 else out
        """, {"gaussian_logpdf/points-far-from-the-mean-and-high-dimension"}),
    "logpdf with a tiny jitter (1e-10 I) added to Sigma": ("""
        _right_logpdf = gaussian_logpdf
        def gaussian_logpdf(x, mu, Sigma):
            return _right_logpdf(x, mu, Sigma + 1e-10 * np.eye(len(mu)))
        """, {"gaussian_logpdf/ill-conditioned-covariance-condition-number-1e8"}),
    "logpdf returns shape (1,) for one point": ("""
        _right_logpdf = gaussian_logpdf
        def gaussian_logpdf(x, mu, Sigma):
            return np.atleast_1d(_right_logpdf(x, mu, Sigma))
        """, {"gaussian_logpdf/one-point-and-a-batch",
              "gaussian_logpdf/random-dimensions-points-and-batches",
              "gaussian_logpdf/points-far-from-the-mean-and-high-dimension"}),
    "marginal sorts the indices": ("""
        _right_marginal = gaussian_marginal
        def gaussian_marginal(mu, Sigma, idx):
            return _right_marginal(mu, Sigma, sorted(idx))
        """, {"gaussian_marginal/selects-the-entries-in-the-order-given",
              "gaussian_marginal/index-lists-of-every-type-and-order"}),
    "conditional from the full precision matrix (ignores marginalized dims)": ("""
        def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
            a, b = list(idx_a), list(idx_b)
            P = np.linalg.inv(Sigma)
            cov = np.linalg.inv(P[np.ix_(a, a)])
            mean = mu[a] - cov @ P[np.ix_(a, b)] @ (np.asarray(x_b) - mu[b])
            return mean, cov
        """, {"gaussian_conditional/conditions-on-a-subset",
              "gaussian_conditional/random-partitions-with-dims-in-neither-list",
              "gaussian_conditional/empty-idx-b-and-d-1",
              "gaussian_conditional/ill-conditioned-sigma-bb-condition-number-1e8"}),
    "conditional with jitter added to Sigma_bb": ("""
        def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
            a, b = list(idx_a), list(idx_b)
            S_bb = Sigma[np.ix_(b, b)] + 1e-7 * np.eye(len(b))
            G = Sigma[np.ix_(a, b)] @ np.linalg.inv(S_bb)
            mean = mu[a] + G @ (np.asarray(x_b) - mu[b])
            return mean, Sigma[np.ix_(a, a)] - G @ Sigma[np.ix_(b, a)]
        """, {"gaussian_conditional/ill-conditioned-sigma-bb-condition-number-1e8"}),
    "mixture logpdf as a naive sum of densities": ("""
        def mixture_logpdf(x, weights, means, covs):
            dens = sum(w * np.exp(_logpdf_rows(x, m, c)) for w, m, c in zip(weights, means, covs))
            return np.log(dens)
        """, {"mixture_logpdf/points-far-from-every-component", "mixture_logpdf/zero-weights"}),
    "mixture logpdf treating zero weights as weight 1": ("""
        _right_mixture = mixture_logpdf
        def mixture_logpdf(x, weights, means, covs):
            w = np.asarray(weights, dtype=float)
            return _right_mixture(x, np.where(w > 0, w, 1.0), means, covs)
        """, {"mixture_logpdf/zero-weights"}),
    "responsibilities as a naive ratio": ("""
        def mixture_responsibilities(x, weights, means, covs):
            dens = np.stack([w * np.exp(_logpdf_rows(x, m, c))
                             for w, m, c in zip(weights, means, covs)], axis=1)
            return dens / dens.sum(axis=1, keepdims=True)
        """, {"mixture_responsibilities/random-mixtures-and-far-points"}),
    "responsibilities forgetting the prior weights": ("""
        _right_resp = mixture_responsibilities
        def mixture_responsibilities(x, weights, means, covs):
            k = len(weights)
            return _right_resp(x, np.full(k, 1.0 / k), means, covs)
        """, {"mixture_responsibilities/two-components-in-2-d",
              "mixture_responsibilities/random-mixtures-and-far-points",
              "mixture_responsibilities/zero-weights"}),
    "sampler drawing z from the global numpy RNG": ("""
        def mixture_sample(weights, means, covs, n, rng):
            z = np.random.choice(len(weights), size=n, p=weights)
            L = np.linalg.cholesky(covs)
            x = means[z] + np.einsum("nij,nj->ni", L[z], rng.standard_normal((n, means.shape[1])))
            return x, z
        """, {"mixture_sample/shapes-integer-labels-same-seed-same-samples",
              "mixture_sample/reproducible-from-rng-alone"}),
    "sampler with the transposed Cholesky factor": ("""
        def mixture_sample(weights, means, covs, n, rng):
            z = rng.choice(len(weights), size=n, p=weights)
            L = np.linalg.cholesky(covs)
            x = means[z] + np.einsum("nji,nj->ni", L[z], rng.standard_normal((n, means.shape[1])))
            return x, z
        """, {"mixture_sample/each-component-s-mean-and-covariance"}),
    "sampler ignoring the weights": ("""
        def mixture_sample(weights, means, covs, n, rng):
            z = rng.integers(0, len(weights), size=n)
            L = np.linalg.cholesky(covs)
            x = means[z] + np.einsum("nij,nj->ni", L[z], rng.standard_normal((n, means.shape[1])))
            return x, z
        """, {"mixture_sample/component-frequencies-follow-the-weights"}),
}


INV_NOT_SOLVE = """
    def gaussian_logpdf(x, mu, Sigma):
        x = np.asarray(x, dtype=float)
        d = np.atleast_2d(x) - mu
        maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(Sigma), d)
        out = -0.5 * (len(mu) * np.log(2 * np.pi) + np.linalg.slogdet(Sigma)[1] + maha)
        return float(out[0]) if x.ndim == 1 else out

    def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
        a, b = list(idx_a), list(idx_b)
        gain = Sigma[np.ix_(a, b)] @ np.linalg.inv(Sigma[np.ix_(b, b)])
        mean = mu[a] + gain @ (np.asarray(x_b) - mu[b])
        return mean, Sigma[np.ix_(a, a)] - gain @ Sigma[np.ix_(b, a)]
    """


@pytest.mark.parametrize("seed", [3, 99])
def test_inv_instead_of_solve_is_not_penalized(seed):
    """The docstrings prefer solve but promise no penalty for inv at the graded condition
    numbers (up to 1e8): an inv version with a safe log det scores full marks."""
    result = grade_text("hw1", variant(HW, INV_NOT_SOLVE), seed=seed,
                        only=("gaussian_logpdf", "gaussian_conditional"))
    assert result.score == result.max_score, failures(result)


@pytest.mark.parametrize("name", sorted(WRONG_VARIANTS))
@pytest.mark.parametrize("seed", [3, 99])
def test_wrong_variant_loses_exactly_its_checks(name, seed):
    assert_variant_loses("hw1", *WRONG_VARIANTS[name], seed=seed)


def test_check_ids_named_in_variants_exist():
    assert_variant_ids_exist("hw1", WRONG_VARIANTS)


PAIR_CONTAINERS = {
    "a namedtuple": """
        import collections
        Conditional = collections.namedtuple("Conditional", ["mean", "cov"])
        _right_conditional = gaussian_conditional
        def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
            return Conditional(*_right_conditional(mu, Sigma, idx_a, idx_b, x_b))
        """,
    "a tuple subclass whose own methods misbehave": """
        class Pair(tuple):
            def __iter__(self):
                raise RuntimeError("never iterate me")
            def __len__(self):
                return 7
            def __getitem__(self, i):
                return "garbage"
        _right_conditional = gaussian_conditional
        def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
            return Pair(_right_conditional(mu, Sigma, idx_a, idx_b, x_b))
        """,
    "a list subclass": """
        class Pair(list):
            pass
        _right_conditional = gaussian_conditional
        def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
            return Pair(_right_conditional(mu, Sigma, idx_a, idx_b, x_b))
        """,
}


@pytest.mark.parametrize("name", sorted(PAIR_CONTAINERS))
@pytest.mark.parametrize("seed", [0, 5])
def test_pair_results_in_any_allowed_sequence_score_full_marks(name, seed):
    """The spec allows any length-2 sequence (tuple, list, namedtuple, tuple subclass); the
    worker converts subclasses item by item through the base class, never their own methods."""
    result = grade_text("hw1", variant(HW, PAIR_CONTAINERS[name]), seed=seed,
                        only=("gaussian_conditional",))
    assert result.score == result.max_score > 0, failures(result)


DET_FAILING_ONLY_WHEN = """
    def gaussian_logpdf(x, mu, Sigma):
        x = np.asarray(x, dtype=float)
        d = np.atleast_2d(x) - mu
        maha = np.einsum("ni,ij,nj->n", d, np.linalg.inv(Sigma), d)
        det = np.linalg.det(Sigma)
        logdet = np.log(det) if {condition} else np.linalg.slogdet(Sigma)[1]
        out = -0.5 * (len(mu) * np.log(2 * np.pi) + logdet + maha)
        return float(out[0]) if x.ndim == 1 else out
    """


@pytest.mark.parametrize("condition, failing_case", [
    ("det > 0", "D=300 large variances"),               # det() overflows to inf
    ("np.isfinite(det)", "D=300 small variances"),      # det() underflows to 0
])
def test_det_fails_by_overflow_and_by_underflow(condition, failing_case):
    """The docstring says det() underflows or overflows in high dimension: each is a case."""
    override = DET_FAILING_ONLY_WHEN.replace("{condition}", condition)
    result = grade_text("hw1", variant(HW, override), seed=3, only=("gaussian_logpdf",))
    assert lost(result) == {"gaussian_logpdf/points-far-from-the-mean-and-high-dimension"}
    (failed,) = [c for c in result.checks if not c.passed]
    assert failed.failed_case == failing_case, failures(result)
    assert "slogdet" in failed.message
