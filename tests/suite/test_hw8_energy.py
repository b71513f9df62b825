"""HW8's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should and nothing else; the trusted side's exact computations (the
one-sweep transition, CD-k's expectation, the autograd gradient) are themselves checked
against brute force, and the student's side never needs torch."""
import itertools

import numpy as np
import pytest

from grader import homeworks
from grader.cases.boltzmann import all_states, frozen_model, random_model, state_index
from grader.checks.registry import Case
from grader.compare import statistics

from .grading import (assert_full_marks_without_torch, assert_public_and_hidden_points,
                      assert_reference_full_marks, assert_stubs_not_implemented,
                      assert_variant_ids_exist, assert_variant_loses, failures, grade_text,
                      student_check_imports_torch)

HW = homeworks.get("hw8")
EXERCISES = ("bm_energy", "bm_log_likelihood", "bm_grad", "gibbs_sweep", "cd_grad")

ENERGY = {"bm_energy/a-two-site-model-by-hand-n-1-and-a-random-model",
          "bm_energy/random-models-against-the-definition"}
LL_SMALL = {"bm_log_likelihood/small-models-by-enumeration",
            "bm_log_likelihood/random-models-against-enumeration"}
LL_LARGE = {"bm_log_likelihood/energies-of-magnitude-1e3-and-more-either-sign"}
GRAD_SMALL = {"bm_grad/data-minus-model-statistics-on-small-models",
              "bm_grad/matches-autograd-at-random-models"}
GRAD_LARGE = {"bm_grad/energies-of-magnitude-1e3"}
GRAD = GRAD_SMALL | GRAD_LARGE
GIBBS_FROZEN = {"gibbs_sweep/sites-updated-in-order-each-seeing-the-new-values-frozen-models",
                "gibbs_sweep/random-frozen-models-and-shapes"}
GIBBS_LAW = {"gibbs_sweep/one-sweep-from-a-fixed-state-follows-the-exact-sequential-law"}
GIBBS_STATIONARY = {"gibbs_sweep/started-from-p-one-sweep-leaves-p-unchanged"}
GIBBS_UNCHANGED = {"gibbs_sweep/the-input-is-not-modified"}
GIBBS_REPRO = {"gibbs_sweep/same-seed-same-states", "gibbs_sweep/reproducible-from-rng-alone"}
CD_FROZEN_PUBLIC = {"cd_grad/data-minus-k-sweep-statistics-frozen-models"}
CD_FROZEN_HIDDEN = {"cd_grad/random-frozen-models"}
CD_EXPECTATION = {"cd_grad/matches-the-exact-expectation-of-cd-k-k-1-and-k-3"}
CD_LARGE_K = {"cd_grad/for-large-k-close-to-the-exact-gradient"}
CD_REPRO = {"cd_grad/same-seed-same-estimate", "cd_grad/reproducible-from-rng-alone"}


@pytest.mark.parametrize("seed", [0, 1, 2, 7, 42])
def test_reference_scores_full_marks(seed):
    result = assert_reference_full_marks("hw8", seed)
    if seed == 0:
        assert_public_and_hidden_points(result)


def test_stubs_score_zero_and_say_not_implemented():
    assert_stubs_not_implemented("hw8", EXERCISES)


def test_submission_without_torch_gets_full_marks():
    """The worker never needs torch: a reference that refuses to import it still passes."""
    assert_full_marks_without_torch("hw8", seed=3)


def test_student_check_does_not_import_torch():
    """Torch is the grader's (hidden autograd judges): the student's `make check` never loads it."""
    assert not student_check_imports_torch("hw8")


ANOTHER_VALID_IMPLEMENTATION = """
import itertools
import math

import numpy as np


def bm_energy(X, W, b):
    n = len(b)
    return np.array([-sum(b[i] * x[i] for i in range(n))
                     - sum(W[i, j] * x[i] * x[j] for i in range(n) for j in range(i + 1, n))
                     for x in X])


def _log_z(W, b):
    states = np.array(list(itertools.product([0.0, 1.0], repeat=len(b))))
    return np.logaddexp.reduce(-bm_energy(states, W, b)), states


def bm_log_likelihood(X, W, b):
    return float(np.mean(-bm_energy(X, W, b)) - _log_z(W, b)[0])


def bm_grad(X, W, b):
    log_z, states = _log_z(W, b)
    p = np.exp(-bm_energy(states, W, b) - log_z)
    n = len(b)
    dW = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            dW[i, j] = dW[j, i] = np.mean(X[:, i] * X[:, j]) - p @ (states[:, i] * states[:, j])
    return dW, X.mean(axis=0) - p @ states


def gibbs_sweep(X, W, b, rng):
    Y = X.copy()
    for row in Y:                      # one chain at a time, one uniform per site
        for i in range(len(b)):
            field = b[i] + W[i] @ row
            row[i] = float(rng.binomial(1, 1.0 / (1.0 + math.exp(-field))))
    return Y


def cd_grad(X, W, b, k, rng):
    Y = X
    for _ in range(k):
        Y = gibbs_sweep(Y, W, b, rng)
    dW = (X.T @ X - Y.T @ Y) / len(X)
    np.fill_diagonal(dW, 0.0)
    return dW, (X - Y).mean(axis=0)
"""


def test_another_valid_implementation_scores_full_marks():
    """Loops over rows and pairs, itertools enumeration and rng.binomial draws: any correct
    implementation passes (draws are never compared with the reference's), within the limits."""
    result = grade_text("hw8", ANOTHER_VALID_IMPLEMENTATION, seed=8)
    assert result.score == result.max_score, failures(result)


# --- the trusted side's exact computations, against brute force --------------------------------

def _brute_sweep_law(W, b, start, order):
    """P(end state) of one sweep from ``start``, summing over every sequence of site draws."""
    n = len(b)
    law = np.zeros(1 << n)
    for bits in itertools.product((0.0, 1.0), repeat=n):
        x, prob = np.array(start, dtype=float), 1.0
        for i in order:
            p_one = 1.0 / (1.0 + np.exp(-(b[i] + W[i] @ x)))
            x[i] = bits[i]
            prob *= p_one if bits[i] else 1.0 - p_one
        law[state_index(x[None, :])[0]] += prob
    return law


def test_sweep_transition_matches_brute_force_and_keeps_p():
    from tests.hidden.hw8_energy import exact_log_probs, sweep_transition, synchronous_transition
    rng = np.random.default_rng(1)
    W, b = random_model(rng, 3, scale=1.5)
    T = sweep_transition(W, b)
    for s, start in enumerate(all_states(3)):
        np.testing.assert_allclose(T[s], _brute_sweep_law(W, b, start, range(3)), atol=1e-14)
    np.testing.assert_allclose(sweep_transition(W, b, [2, 1, 0])[5],
                               _brute_sweep_law(W, b, all_states(3)[5], [2, 1, 0]), atol=1e-14)
    p = np.exp(exact_log_probs(W, b))
    np.testing.assert_allclose(p @ T, p, atol=1e-14)                    # stationary
    assert np.abs(p @ synchronous_transition(W, b) - p).max() > 1e-3    # the wrong one is not


def test_cd_expectation_matches_a_monte_carlo_of_the_reference():
    from solutions import hw8_energy as ref
    from tests.hidden.hw8_energy import cd_expectation, flat_pair
    rng = np.random.default_rng(2)
    W, b = random_model(rng, 3, scale=1.5)
    X = all_states(3)[[1, 6, 6, 3]]
    X = np.repeat(X, 5000, axis=0)
    got = flat_pair(ref.cd_grad(X, W, b, 2, np.random.default_rng(3)))
    want = flat_pair(cd_expectation(X, W, b, 2))
    assert np.abs(got - want).max() < statistics.hoeffding_radius(len(X), 6, 1e-6)


def test_autograd_gradient_agrees_with_data_minus_model_statistics():
    from tests.hidden.hw8_energy import autograd_gradient, exact_gradient
    rng = np.random.default_rng(4)
    W, b = random_model(rng, 5)
    X = (rng.random((7, 5)) < 0.5).astype(float)
    dW, db = autograd_gradient(None, None, Case("c", args=(X, W, b)))
    want_W, want_b = exact_gradient(X, W, b)
    np.testing.assert_allclose(dW, want_W, atol=1e-12)
    np.testing.assert_allclose(db, want_b, atol=1e-12)
    assert np.array_equal(dW, dW.T) and not np.any(np.diagonal(dW))


def test_frozen_models_make_the_sweep_deterministic():
    from solutions import hw8_energy as ref
    rng = np.random.default_rng(5)
    W, b = frozen_model(rng, 6)
    X = (rng.random((50, 6)) < 0.5).astype(float)
    first = ref.gibbs_sweep(X, W, b, np.random.default_rng(0))
    assert all(np.array_equal(first, ref.gibbs_sweep(X, W, b, np.random.default_rng(seed)))
               for seed in range(1, 20))


# --- wrong variants -------------------------------------------------------------------------------

WRONG_VARIANTS = {
    "energy counting every pair twice": ("""
        def bm_energy(X, W, b):
            return -X @ b - np.einsum("mi,ij,mj->m", X, W, X)
        """, ENERGY),
    "log-likelihood summed over rows instead of averaged": ("""
        _right_ll = bm_log_likelihood
        def bm_log_likelihood(X, W, b):
            return len(X) * _right_ll(X, W, b)
        """, LL_SMALL | LL_LARGE),
    "log Z as the log of a plain sum of exp(-E) (overflows)": ("""
        def bm_log_likelihood(X, W, b):
            Z = np.sum(np.exp(-_energies(_states(len(b)), W, b)))
            return float(np.mean(-_energies(X, W, b)) - np.log(Z))
        """, LL_LARGE),
    "log-likelihood as the log of p(x) computed first (underflows)": ("""
        def bm_log_likelihood(X, W, b):
            _, _, log_z = _model(W, b)
            return float(np.mean(np.log(np.exp(-_energies(X, W, b) - log_z))))
        """, LL_LARGE),
    "bm_grad with the model term from the data": ("""
        def bm_grad(X, W, b):
            X = np.atleast_2d(np.asarray(X, dtype=float))
            weights = np.full(len(X), 1.0 / len(X))
            data_W, data_b = _statistics(X, weights)
            model_W, model_b = _statistics(X, weights)
            return data_W - model_W, data_b - model_b
        """, GRAD),
    "bm_grad keeping only the upper triangle (not symmetric)": ("""
        _right_grad = bm_grad
        def bm_grad(X, W, b):
            dW, db = _right_grad(X, W, b)
            return np.triu(dW), db
        """, GRAD),
    "bm_grad with a nonzero diagonal": ("""
        def bm_grad(X, W, b):
            X = np.atleast_2d(np.asarray(X, dtype=float))
            S, p, _ = _model(W, b)
            dW = X.T @ X / len(X) - S.T @ (p[:, None] * S)
            return dW, X.mean(axis=0) - p @ S
        """, GRAD),
    "bm_grad with every entry of W independent (half off the diagonal)": ("""
        _right_grad = bm_grad
        def bm_grad(X, W, b):
            dW, db = _right_grad(X, W, b)
            return 0.5 * dW, db
        """, GRAD),
    "bm_grad with p = exp(-E) / Z (overflows)": ("""
        def bm_grad(X, W, b):
            X = np.atleast_2d(np.asarray(X, dtype=float))
            S = _states(len(b))
            weights = np.exp(-_energies(S, W, b))
            p = weights / weights.sum()
            data_W, data_b = _statistics(X, np.full(len(X), 1.0 / len(X)))
            model_W, model_b = _statistics(S, p)
            return data_W - model_W, data_b - model_b
        """, GRAD_LARGE),
    "sweep updating all sites at once from the old state": ("""
        def gibbs_sweep(X, W, b, rng):
            X = np.asarray(X, dtype=float)
            p = 1.0 / (1.0 + np.exp(-(b + X @ W)))
            return (rng.random(X.shape) < p).astype(float)
        """, GIBBS_FROZEN | GIBBS_LAW | GIBBS_STATIONARY),
    "sweep in reverse order (n-1 down to 0)": ("""
        def gibbs_sweep(X, W, b, rng):
            X = np.array(X, dtype=float)
            for i in reversed(range(X.shape[1])):
                p = 1.0 / (1.0 + np.exp(-(b[i] + X @ W[i])))
                X[:, i] = rng.random(len(X)) < p
            return X
        """, GIBBS_FROZEN | GIBBS_LAW),
    "sweep modifying its input in place": ("""
        def gibbs_sweep(X, W, b, rng):
            for i in range(X.shape[1]):
                p = 1.0 / (1.0 + np.exp(-(b[i] + X @ W[i])))
                X[:, i] = rng.random(len(X)) < p
            return X
        """, GIBBS_UNCHANGED),
    "sweep drawing from the global numpy RNG": ("""
        def gibbs_sweep(X, W, b, rng):
            X = np.array(X, dtype=float)
            for i in range(X.shape[1]):
                p = 1.0 / (1.0 + np.exp(-(b[i] + X @ W[i])))
                X[:, i] = np.random.random(len(X)) < p
            return X
        """, GIBBS_REPRO),
    "CD restarting the chains from random states": ("""
        def cd_grad(X, W, b, k, rng):
            X = np.atleast_2d(np.asarray(X, dtype=float))
            weights = np.full(len(X), 1.0 / len(X))
            chains = rng.integers(0, 2, size=X.shape).astype(float)
            for _ in range(int(k)):
                chains = _sweep(chains, W, b, rng)
            (data_W, data_b), (model_W, model_b) = (_statistics(X, weights),
                                                    _statistics(chains, weights))
            return data_W - model_W, data_b - model_b
        """, CD_EXPECTATION),
    "CD running one sweep whatever k": ("""
        _right_cd = cd_grad
        def cd_grad(X, W, b, k, rng):
            return _right_cd(X, W, b, 1, rng)
        """, CD_EXPECTATION | CD_LARGE_K),
    "CD keeping the diagonal of the pair statistics": ("""
        def cd_grad(X, W, b, k, rng):
            X = np.atleast_2d(np.asarray(X, dtype=float))
            Y = X
            for _ in range(int(k)):
                Y = _sweep(Y, W, b, rng)
            return (X.T @ X - Y.T @ Y) / len(X), X.mean(axis=0) - Y.mean(axis=0)
        """, CD_FROZEN_PUBLIC | CD_FROZEN_HIDDEN | CD_EXPECTATION | CD_LARGE_K),
}


@pytest.mark.parametrize("name", sorted(WRONG_VARIANTS))
@pytest.mark.parametrize("seed", [3, 99])
def test_wrong_variant_loses_exactly_its_checks(name, seed):
    override, expected_lost = WRONG_VARIANTS[name]
    assert_variant_loses("hw8", override, expected_lost, seed)


def test_check_ids_named_in_variants_exist():
    assert_variant_ids_exist("hw8", WRONG_VARIANTS)
