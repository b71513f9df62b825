"""Public checks of HW8 (they ship to students; expected values in data/hw8_energy.json).

Fixed small cases that teach each exercise. Gibbs sampling and CD are random, so
their public checks use "frozen" models (every conditional field is at least 50
in size, so each update is deterministic to within 2e-22) where the sequential
order of the updates decides the answer, plus the input left unchanged and
same-seed reproducibility. The graded run adds hidden randomized checks: the
gradient against automatic differentiation, energies of magnitude 1e3 and more,
and statistical tests of the sampler and of CD against their exact laws.
"""
import numpy as np

from grader.cases.boltzmann import (binary_rows, frozen_model, random_model,
                                    symmetric_zero_diagonal)
from grader.checks import programs
from grader.checks.judges import Judge, JudgeInfo, close, close_tuple
from grader.checks.registry import Case, CheckSet, reproducibility_program
from grader.compare.numeric import PASS, Verdict, as_numeric, as_sequence

checks = CheckSet("hw8", public=True)


# --- tolerances ---------------------------------------------------------------------------------

def energy_scale(case):
    """1 + sum |b| + sum_{i<j} |W_ij|: a bound on |E(x)| for the case's model (args X, W, b)."""
    W, b = np.asarray(case.args[1]), np.asarray(case.args[2])
    return 1.0 + float(np.sum(np.abs(b))) + 0.5 * float(np.sum(np.abs(W)))


def energy_atol(case):
    """Absolute slack for energies and log-likelihoods: grows with the size of the energies."""
    return 1e-9 * energy_scale(case)


def grad_atol(case):
    """Absolute slack for gradients (differences of probabilities, computed from energies)."""
    return 1e-9 * energy_scale(case)


close_energy = close(rtol=1e-6, atol=energy_atol)
close_loglik = close(rtol=1e-6, atol=energy_atol)


# --- judges shared with the hidden checks ---------------------------------------------------------

def coupling_structure(dW, name="dW"):
    """A Verdict on dW's form alone: symmetric, zero diagonal (both exact up to rounding)."""
    scale = 1e-9 * (1.0 + float(np.max(np.abs(dW), initial=0.0)))
    asym = np.abs(dW - dW.T)
    if np.any(asym > scale):
        i, j = np.unravel_index(int(np.argmax(asym)), dW.shape)
        return Verdict.fail(f"{name} is not symmetric: {name}[{i}, {j}] = {dW[i, j]:.6g} but "
                            f"{name}[{j}, {i}] = {dW[j, i]:.6g} (W_ij and W_ji are one parameter: "
                            "compute it once and mirror it)")
    diag = np.abs(np.diagonal(dW))
    if np.any(diag > scale):
        i = int(np.argmax(diag))
        return Verdict.fail(f"{name} has a nonzero diagonal: {name}[{i}, {i}] = {dW[i, i]:.6g} "
                            "(W_ii is not a parameter: the diagonal must be 0)")
    return PASS


def gradient_pair(*, rtol=1e-6, atol=grad_atol):
    """Judge of a ``(dW, db)`` result: dW's form first (with a message that says what is
    wrong), then both parts close to the expected pair."""
    values = close_tuple(("dW", "db"), rtol=rtol, atol=atol)

    def judge(case, outputs, expected):
        arrays = unpack_gradient(case, outputs[0])
        if isinstance(arrays, Verdict):
            return arrays
        if np.all(np.isfinite(arrays[0])):
            verdict = coupling_structure(arrays[0])
            if not verdict.passed:
                return verdict
        verdict = values(case, outputs, expected)
        want = np.asarray(expected[0], dtype=float)
        halved = np.allclose(arrays[0], 0.5 * want) and not np.allclose(arrays[0], want)
        if not verdict.passed and halved:
            return Verdict.fail(f"{verdict.message}. dW is half the expected value: W_ij (i < j) "
                                "is one parameter, so d/dW_ij = E_data[x_i x_j] - "
                                "E_model[x_i x_j], not half of it")
        return verdict
    return Judge(judge, values.info)  # the info is read back by exporters (otter_export.py)


def binary_states(got, shape, name="the result"):
    """``got`` as a float array of 0/1 values of ``shape``, or a failing Verdict."""
    arr, problem = as_numeric(got, name)
    if arr is None:
        return None, Verdict.fail(problem)
    if arr.shape != tuple(shape):
        return None, Verdict.fail(f"{name} has shape {arr.shape}, expected {tuple(shape)} "
                                  "(one row per chain)")
    if not np.all(np.isfinite(arr)) or np.any((arr != 0) & (arr != 1)):
        bad = np.argwhere(~np.isin(arr, (0.0, 1.0)))[0]
        return None, Verdict.fail(f"{name} entry {list(map(int, bad))} is {arr[tuple(bad)]!r}; "
                                  "states are 0/1 values")
    return arr, PASS


def frozen_sweep(case, outputs, expected):
    """The states after the sweep equal the deterministic sequential result exactly (frozen
    models: the result does not depend on the draws, only on the order of the updates)."""
    got, verdict = binary_states(outputs[0], np.shape(case.args[0]))
    if got is None:
        return verdict
    expected = np.asarray(expected, dtype=float)
    wrong = np.argwhere(got != expected)
    if not len(wrong):
        return PASS
    row, site = (int(i) for i in wrong[0])
    start = np.asarray(case.args[0])[row].astype(int).tolist()
    return Verdict.fail(
        f"chain {row} started at {start} ended at {got[row].astype(int).tolist()}, expected "
        f"{expected[row].astype(int).tolist()} (site {site} differs; {len(wrong)} of {got.size} "
        "entries differ). Every field here is at least 50 in size, so each update is "
        "deterministic (x_i = 1 exactly when b_i + sum_j W_ij x_j > 0): update sites 0, 1, ..., "
        "n-1 in this order, each using the values the others have now (the new ones for sites "
        "before i)")


frozen_sweep = Judge(frozen_sweep, JudgeInfo(tolerance=(0, 0)))  # read back by exporters


def input_unchanged(case, outputs, expected):
    """The sweep returned valid states and left its input X exactly as it was."""
    got, verdict = binary_states(outputs[0], np.shape(case.args[0]))
    if got is None:
        return verdict
    after, problem = as_numeric(outputs[1], "X")
    if after is None or not np.array_equal(after, np.asarray(case.args[0])):
        return Verdict.fail("the call modified its input X in place; sample into a copy "
                            "(X.copy() or np.array(X)) and return that")
    return PASS


def same_seed_same_draws(unpack):
    """Reproducibility judge for ``reproducibility_program``: ``unpack(case, output)`` gives a
    list of arrays or a failing Verdict; equal seeds give equal arrays, another seed others."""
    def judge(case, outputs, expected):
        runs = []
        for out in outputs:
            arrays = unpack(case, out)
            if isinstance(arrays, Verdict):
                return arrays
            runs.append(arrays)
        first, again, other = runs
        if any(not np.array_equal(a, b) for a, b in zip(first, again)):
            return Verdict.fail("two calls with generators of the same seed gave different "
                                "results (the global numpy seed differed between them): draw "
                                "every random number from `rng`, never from np.random.*")
        if all(np.array_equal(a, b) for a, b in zip(first, other)):
            return Verdict.fail("generators of different seeds gave identical results: is "
                                "`rng` used at all?")
        return PASS
    return judge


def unpack_states(case, out):
    got, verdict = binary_states(out, np.shape(case.args[0]))
    return [got] if got is not None else verdict


def unpack_gradient(case, out):
    n = len(np.asarray(case.args[2]))
    parts, problem = as_sequence(out, 2)
    if parts is None:
        return Verdict.fail(f"{problem}: return (dW, db)")
    arrays = []
    for name, part, shape in (("dW", parts[0], (n, n)), ("db", parts[1], (n,))):
        arr, problem = as_numeric(part, name)
        if arr is None:
            return Verdict.fail(problem)
        if arr.shape != shape:
            return Verdict.fail(f"{name} has shape {arr.shape}, expected {shape}")
        arrays.append(arr)
    return arrays


reproducible_sweep = same_seed_same_draws(unpack_states)
reproducible_cd = same_seed_same_draws(unpack_gradient)


def unchanged_program(check, case):
    """One seeded call that keeps its arguments, then the first argument as the call left it."""
    return [programs.call(check.exercise, *case.args, programs.rng(case.data["seed"]),
                          save_args="args"),
            programs.value("args", index=0)]


def chain_model():
    """n = 3, b = (50, -50, -50), W_01 = W_12 = 100: from 000 a sequential sweep gives 111
    (each site sees its new left neighbour); all sites at once, or right to left, give 100."""
    W = symmetric_zero_diagonal([[0, 100, 0], [0, 0, 100], [0, 0, 0]])
    return W, np.array([50.0, -50.0, -50.0])


# --- bm_energy ------------------------------------------------------------------------------------

@checks.add("bm_energy", "a two-site model by hand, n = 1 and a random model", points=2,
            judge=close_energy)
def _(rng):
    W = symmetric_zero_diagonal([[0, 2], [0, 0]])
    X = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=float)
    yield Case("n=2 all four states", args=(X, W, np.array([1.0, -1.0])),
               about="E = (0, -1, 1, -2): the pair (0, 1) counts once")
    yield Case("n=1", args=(np.array([[0.0], [1.0]]), np.zeros((1, 1)), np.array([0.5])),
               about="W is (1, 1), a zero")
    W, b = random_model(rng, 5)
    yield Case("n=5 M=6", args=(binary_rows(rng, 6, 5), W, b))


# --- bm_log_likelihood ----------------------------------------------------------------------------

@checks.add("bm_log_likelihood", "small models by enumeration", points=2, judge=close_loglik)
def _(rng):
    W = symmetric_zero_diagonal([[0, 2], [0, 0]])
    yield Case("n=2 by hand", args=(np.array([[1.0, 1.0], [0.0, 1.0]]), W, np.array([1.0, -1.0])),
               about="log Z = log(1 + e + e^-1 + e^2); the mean over the 2 rows")
    W, b = random_model(rng, 4)
    yield Case("n=4 M=5", args=(binary_rows(rng, 5, 4), W, b))


# --- bm_grad --------------------------------------------------------------------------------------

@checks.add("bm_grad", "data minus model statistics on small models", points=2,
            judge=gradient_pair())
def _(rng):
    W = symmetric_zero_diagonal([[0, 2], [0, 0]])
    yield Case("n=2 one row", args=(np.array([[1.0, 1.0]]), W, np.array([1.0, -1.0])),
               about="dW[0, 1] = 1 - p(x_0 = x_1 = 1), mirrored; zero diagonal")
    W, b = random_model(rng, 4)
    yield Case("n=4 M=6", args=(binary_rows(rng, 6, 4), W, b))


# --- gibbs_sweep ----------------------------------------------------------------------------------

@checks.add("gibbs_sweep", "sites updated in order, each seeing the new values (frozen models)",
            points=2, judge=frozen_sweep)
def _(rng):
    W, b = chain_model()
    start = np.zeros((4, 3))
    start[1:, :] = [[1, 1, 0], [0, 1, 1], [1, 0, 1]]
    yield Case("n=3 chain", args=(start, W, b, programs.rng(1)),
               about="from 000 the sweep gives 111, not 100")
    W, b = frozen_model(rng, 4)
    yield Case("n=4 frozen, 8 chains", args=(binary_rows(rng, 8, 4), W, b, programs.rng(2)))


@checks.add("gibbs_sweep", "the input is not modified", points=1, judge=input_unchanged,
            expected=None, steps=unchanged_program)
def _(rng):
    W, b = random_model(rng, 3)
    yield Case("n=3 M=10", args=(binary_rows(rng, 10, 3), W, b), data={"seed": 3})


@checks.add("gibbs_sweep", "same seed same states", points=1, judge=reproducible_sweep,
            expected=None, steps=reproducibility_program)
def _(rng):
    W, b = random_model(rng, 4, scale=0.5)
    yield Case("n=4 M=100", args=(binary_rows(rng, 100, 4), W, b), data={"seed": 4})


# --- cd_grad --------------------------------------------------------------------------------------

@checks.add("cd_grad", "data minus k-sweep statistics (frozen models)", points=2,
            judge=gradient_pair(atol=1e-12))
def _(rng):
    W, b = chain_model()
    X = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0]], dtype=float)
    yield Case("n=3 chain k=1", args=(X, W, b, 1, programs.rng(5)),
               about="every chain reaches 111 after one sweep")
    W, b = frozen_model(rng, 4)
    X = binary_rows(rng, 6, 4)
    for k in (1, 2):
        yield Case(f"n=4 frozen k={k}", args=(X, W, b, k, programs.rng(6 + k)))


@checks.add("cd_grad", "same seed same estimate", points=1, judge=reproducible_cd,
            expected=None, steps=reproducibility_program)
def _(rng):
    W, b = random_model(rng, 4, scale=0.5)
    yield Case("n=4 M=100 k=2", args=(binary_rows(rng, 100, 4), W, b, 2), data={"seed": 9})
