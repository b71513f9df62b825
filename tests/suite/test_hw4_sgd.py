"""HW4's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should and nothing else (the shuffle order itself is never judged)."""
import pytest

from grader import homeworks

from .grading import (assert_reference_full_marks, assert_variant_ids_exist,
                       assert_variant_loses, failures, grade_text, reference_source,
                       stub_source, variant)

HW = homeworks.get("hw4")

MB_PARTITION = {"minibatches/one-epoch-is-a-partition-with-the-short-last-batch-kept",
                "minibatches/random-sizes-batch-size-of-1-of-n-and-above-n"}
MB_REPRO = {"minibatches/same-seed-same-batches-another-seed-other-batches",
            "minibatches/reproducible-from-rng-alone"}
NOISE = {"minibatches/batch-gradients-unbiased-variance-falls-as-1-b"}
SGD_STEP = {"sgd/one-full-batch-epoch-is-one-gradient-step",
            "sgd/one-full-batch-epoch-random-shapes-and-learning-rates"}
SGD_RULE = {"sgd/every-step-is-theta-lr-grad-on-the-recorded-batch",
            "sgd/every-step-uses-lr-as-given-on-the-batch-it-drew"}
SGD_PARTITION = {"sgd/each-epoch-s-batches-partition-the-rows-short-last-batch-kept"}
SGD_RESHUFFLE = {"sgd/a-fresh-shuffle-every-epoch"}
SGD_THETA0 = {"sgd/theta0-is-not-modified"}
SGD_REPRO = {"sgd/reproducible-from-rng-alone"}
SGD_ALL = SGD_STEP | SGD_RULE | SGD_PARTITION | SGD_RESHUFFLE | SGD_THETA0 | SGD_REPRO
GRAD = {"gaussian_mean_nll_grad/a-small-batch", "gaussian_mean_nll_grad/random-batches-b-1-and-d-1"}
FIT_ONE = {"fit_gaussian_mean_sgd/one-full-batch-epoch-from-zero-is-lr-mean-x"}
FIT_EPOCHS = {"fit_gaussian_mean_sgd/full-batch-several-epochs-1-1-lr-e-of-the-mean"}
FIT_CONVERGE = {"fit_gaussian_mean_sgd/converges-to-the-sample-mean",
                "fit_gaussian_mean_sgd/converges-within-the-bound-of-lr-and-epochs"}


@pytest.mark.parametrize("seed", [0, 1, 2, 7, 42])
def test_reference_scores_full_marks(seed):
    assert_reference_full_marks("hw4", seed)


def test_stubs_score_zero_and_say_not_implemented():
    result = grade_text("hw4", stub_source(HW), seed=5)
    assert result.score == 0
    assert {c.status for c in result.checks} == {"not_implemented"}
    assert {c.exercise for c in result.checks} == {
        "minibatches", "sgd", "gaussian_mean_nll_grad", "fit_gaussian_mean_sgd"}


def test_every_exercise_has_public_and_hidden_points():
    result = grade_text("hw4", reference_source(HW), seed=0)
    for exercise in {c.exercise for c in result.checks}:
        mine = [c for c in result.checks if c.exercise == exercise]
        assert any(c.public for c in mine) and any(not c.public for c in mine), exercise


def test_a_different_but_valid_shuffle_scores_full_marks():
    """The reference's shuffle order is not the answer: another valid scheme passes everything."""
    override = """
        def _batches(n, batch_size, rng):
            keys = rng.random(int(n))
            order = np.argsort(keys)[::-1].copy()
            return [order[i:i + batch_size] for i in range(0, int(n), int(batch_size))]
        """
    result = grade_text("hw4", variant(HW, override), seed=3)
    assert result.score == result.max_score, failures(result)


WRONG_VARIANTS = {
    "minibatches drops the short last batch": ("""
        def minibatches(n, batch_size, rng):
            order = rng.permutation(n)
            return [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
        """, MB_PARTITION),
    "minibatches with an empty last batch when batch_size divides n": ("""
        def minibatches(n, batch_size, rng):
            order = rng.permutation(n)
            return [order[i * batch_size:(i + 1) * batch_size] for i in range(n // batch_size + 1)]
        """, MB_PARTITION),
    "minibatches of float indices": ("""
        def minibatches(n, batch_size, rng):
            order = rng.permutation(n).astype(float)
            return [order[i:i + batch_size] for i in range(0, n, batch_size)]
        """, MB_PARTITION | NOISE),
    "minibatches from the global numpy RNG": ("""
        def minibatches(n, batch_size, rng):
            order = np.random.permutation(n)
            return [order[i:i + batch_size] for i in range(0, n, batch_size)]
        """, MB_REPRO),
    "minibatches without shuffling": ("""
        def minibatches(n, batch_size, rng):
            order = np.arange(n)
            return [order[i:i + batch_size] for i in range(0, n, batch_size)]
        """, MB_REPRO | NOISE),
    "minibatches shuffling only the order of fixed full batches": ("""
        def minibatches(n, batch_size, rng):
            order = np.arange(n)
            chunks = [order[i:i + batch_size] for i in range(0, n, batch_size)]
            full = len(chunks) - (n % batch_size != 0)
            return [chunks[k] for k in rng.permutation(full)] + chunks[full:]
        """, NOISE),
    "minibatches rotating range(n) by a random offset": ("""
        def minibatches(n, batch_size, rng):
            order = np.roll(np.arange(n), int(rng.integers(n)))
            return [order[i:i + batch_size] for i in range(0, n, batch_size)]
        """, NOISE),
    "sgd updates theta0 in place": ("""
        def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
            theta = theta0
            for _ in range(n_epochs):
                for idx in _batches(len(data), batch_size, rng):
                    theta -= lr * grad_fn(theta, data[idx])
            return theta
        """, SGD_THETA0),
    "sgd scales the step by the batch size": ("""
        def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
            theta = np.array(theta0, dtype=float)
            for _ in range(n_epochs):
                for idx in _batches(len(data), batch_size, rng):
                    theta = theta - lr * len(idx) * grad_fn(theta, data[idx])
            return theta
        """, SGD_STEP | SGD_RULE),
    "sgd with a decaying learning rate": ("""
        def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
            theta = np.array(theta0, dtype=float)
            for epoch in range(n_epochs):
                for idx in _batches(len(data), batch_size, rng):
                    theta = theta - lr / (1 + epoch) * grad_fn(theta, data[idx])
            return theta
        """, SGD_RULE),
    "sgd shuffles once for all epochs": ("""
        def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
            theta = np.array(theta0, dtype=float)
            batches = _batches(len(data), batch_size, rng)
            for _ in range(n_epochs):
                for idx in batches:
                    theta = theta - lr * grad_fn(theta, data[idx])
            return theta
        """, SGD_RESHUFFLE),
    "sgd drops the short last batch": ("""
        def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
            theta = np.array(theta0, dtype=float)
            for _ in range(n_epochs):
                for idx in _batches(len(data), batch_size, rng):
                    if len(idx) == batch_size:
                        theta = theta - lr * grad_fn(theta, data[idx])
            return theta
        """, SGD_PARTITION | {"sgd/one-full-batch-epoch-random-shapes-and-learning-rates"}),
    "sgd shuffles with the global numpy RNG": ("""
        def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
            theta = np.array(theta0, dtype=float)
            for _ in range(n_epochs):
                order = np.random.permutation(len(data))
                for i in range(0, len(data), batch_size):
                    theta = theta - lr * grad_fn(theta, data[order[i:i + batch_size]])
            return theta
        """, SGD_REPRO),
    "sgd passes the indices instead of the rows": ("""
        def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
            theta = np.array(theta0, dtype=float)
            for _ in range(n_epochs):
                for idx in _batches(len(data), batch_size, rng):
                    theta = theta - lr * grad_fn(theta, idx)
            return theta
        """, SGD_ALL),
    "gradient of the summed NLL": ("""
        def gaussian_mean_nll_grad(mu, batch):
            return len(batch) * mu - np.sum(batch, axis=0)
        """, GRAD | NOISE),
    "gradient with the wrong sign": ("""
        def gaussian_mean_nll_grad(mu, batch):
            return np.mean(batch, axis=0) - mu
        """, GRAD | NOISE),
    "fit ignores n_epochs": ("""
        def fit_gaussian_mean_sgd(X, lr, batch_size, n_epochs, rng):
            return _sgd(_mean_grad, np.zeros(X.shape[1]), X, lr, batch_size, 1, rng)
        """, FIT_EPOCHS | FIT_CONVERGE),
    "fit returns the sample mean without SGD": ("""
        def fit_gaussian_mean_sgd(X, lr, batch_size, n_epochs, rng):
            return X.mean(axis=0)
        """, FIT_ONE | FIT_EPOCHS),
    "fit starts at the first row": ("""
        def fit_gaussian_mean_sgd(X, lr, batch_size, n_epochs, rng):
            return _sgd(_mean_grad, X[0], X, lr, batch_size, n_epochs, rng)
        """, FIT_ONE | FIT_EPOCHS),
}


@pytest.mark.parametrize("name", sorted(WRONG_VARIANTS))
@pytest.mark.parametrize("seed", [3, 99])
def test_wrong_variant_loses_exactly_its_checks(name, seed):
    assert_variant_loses("hw4", *WRONG_VARIANTS[name], seed=seed)


def test_check_ids_named_in_variants_exist():
    assert_variant_ids_exist("hw4", WRONG_VARIANTS)


def _simulated_noise_outputs(batch_size, seed, batch_rows):
    """What a submission returns to the gradient-noise check, simulated on the trusted side:
    ``batch_rows(perm, k)`` picks the rows of batch k of an epoch from its permutation."""
    import numpy as np
    from tests.hidden.hw4_sgd import NOISE_DRAWS, NOISE_MU, N_NOISE, noise_data, noise_positions
    X, rng = noise_data(), np.random.default_rng(seed)
    outputs = []
    for _ in range(NOISE_DRAWS):
        perm = rng.permutation(N_NOISE)
        for k in noise_positions(N_NOISE, batch_size):
            outputs.append(NOISE_MU - X[batch_rows(perm, k)].mean(axis=0))
    return outputs


@pytest.mark.parametrize("batch_size", [4, 12])
def test_gradient_noise_judge_passes_uniform_batches_and_fails_half_sized_ones(batch_size):
    """The statistical judge, without the sandbox: uniformly random batches pass on 20 seeds
    (its false-failure rate is below 1e-8 per case); batches holding only half as many
    distinct rows (each drawn twice: twice the variance) fail on every seed tried."""
    from grader.checks.registry import Case
    from tests.hidden.hw4_sgd import N_NOISE, gradient_noise_judge
    case = Case("c", args=(N_NOISE, batch_size), data={"seed": 0})
    uniform = lambda perm, k: perm[k * batch_size:(k + 1) * batch_size]        # noqa: E731
    half = lambda perm, k: list(perm[k * batch_size:k * batch_size + batch_size // 2]) * 2  # noqa: E731
    for seed in range(20):
        verdict = gradient_noise_judge(case, _simulated_noise_outputs(batch_size, seed, uniform),
                                       None)
        assert verdict.passed, (seed, verdict.message)
    for seed in range(3):
        verdict = gradient_noise_judge(case, _simulated_noise_outputs(batch_size, seed, half), None)
        assert not verdict.passed and "variance" in verdict.message
