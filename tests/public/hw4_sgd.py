"""Public checks of HW4 (they ship to students; expected values in data/hw4_sgd.json).

A student's shuffle order may differ from the reference's: minibatches are
judged as partitions and by reproducibility, ``sgd`` by replaying every call of
a recording gradient function (``recording_gradient`` in the sandbox's
helpers) and by the one case whose answer does not depend on the shuffle
(one epoch of one full batch). The hidden checks add randomized cases.
"""
import math

import numpy as np

from grader.checks import programs
from grader.checks.judges import close
from grader.checks.registry import Case, CheckSet, live_copy, reproducibility_program
from grader.compare.numeric import PASS, Verdict, as_numeric, compare_arrays

checks = CheckSet("hw4", public=True)


# --- minibatches: partitions and reproducibility ----------------------------------------------

def batch_sizes(n, batch_size):
    """The sizes one epoch must have: full batches, then the short remainder if any."""
    full, rest = divmod(int(n), int(batch_size))
    return [int(batch_size)] * full + ([rest] if rest else [])


def partition_problem(batches, n, batch_size, name="the batches"):
    """Why ``batches`` is not one epoch of ``range(n)`` cut in ``batch_size`` ("" if it is)."""
    if isinstance(batches, np.ndarray) and batches.ndim == 2:
        batches = list(batches)
    if not isinstance(batches, (list, tuple)):
        return f"{name}: expected a list of integer arrays, got a {type(batches).__name__}"
    want = batch_sizes(n, batch_size)
    arrays = []
    for k, batch in enumerate(batches):
        arr = np.asarray(batch) if isinstance(batch, (np.ndarray, list, tuple)) else None
        if arr is None or arr.ndim != 1:
            return f"{name}: batch {k} is not a 1-D array of indices"
        if arr.size and arr.dtype.kind not in "iu":
            return (f"{name}: batch {k} has dtype {arr.dtype}; indices must be integers "
                    "(float arrays cannot index data)")
        if arr.size == 0:
            return f"{name}: batch {k} is empty (there is never an empty batch)"
        arrays.append(arr.astype(np.int64))
    sizes = [a.size for a in arrays]
    if sizes != want:
        hint = ""
        if sizes == want[:-1] and n % batch_size:
            hint = " (the short last batch is missing: keep it)"
        return (f"{name}: batch sizes {_sizes_text(sizes)}, expected {_sizes_text(want)} for "
                f"n={n}, batch_size={batch_size}{hint}")
    seen = np.concatenate(arrays)
    if not np.array_equal(np.sort(seen), np.arange(n)):
        counts = np.bincount(np.clip(seen, 0, n), minlength=n + 1)
        bad = [int(i) for i in np.flatnonzero(counts[:n] != 1)[:5]]
        outside = seen[(seen < 0) | (seen >= n)]
        if outside.size:
            return f"{name}: index {int(outside[0])} is outside range({n})"
        return (f"{name}: not a permutation of range({n}): index {bad[0]} appears "
                f"{int(counts[bad[0]])} times (each index exactly once per epoch)")
    return ""


def _sizes_text(sizes):
    if len(sizes) > 8:
        return f"[{', '.join(map(str, sizes[:3]))}, …, {sizes[-1]}] ({len(sizes)} batches)"
    return str(list(sizes))


def partition_judge(case, outputs, expected):
    """Every output is one epoch: a partition of range(n) with the right batch sizes."""
    n, batch_size = case.args[0], case.args[1]
    for got in outputs:
        problem = partition_problem(got, n, batch_size)
        if problem:
            return Verdict.fail(problem)
    return PASS


def same_batches(a, b):
    """True when two epochs (lists of index arrays) are identical batch by batch."""
    return len(a) == len(b) and all(np.array_equal(np.asarray(x), np.asarray(y))
                                    for x, y in zip(a, b))


def reproducible_batches(case, outputs, expected):
    """Same seed → same batches whatever the global seed; another seed → other batches.

    Only reproducibility is judged here (the partition has checks of its own).
    """
    for got in outputs:
        if not isinstance(got, (list, tuple, np.ndarray)):
            return Verdict.fail(f"expected a list of integer arrays, got a {type(got).__name__}")
    first, again, other = outputs
    if not same_batches(first, again):
        return Verdict.fail("two calls with generators of the same seed gave different batches "
                            "(the global numpy seed differed between them): draw the permutation "
                            "from `rng`, never from np.random.*")
    if same_batches(first, other):
        return Verdict.fail("generators of different seeds gave identical batches: is the "
                            "permutation drawn from `rng` at all?")
    return PASS


# --- sgd: a recording gradient, replayed on the trusted side ---------------------------------

def sgd_case(rng, case_id, shape, n, lr, batch_size, n_epochs, about=""):
    """A case of ``sgd`` whose grad_fn records its calls: data rows are [row id, values]."""
    size = int(np.prod(shape))
    values = rng.standard_normal((n, size)) * 2.0 + rng.standard_normal(size)
    data = np.column_stack([np.arange(n, dtype=float), values])            # (n, 1 + size)
    theta0 = rng.standard_normal(shape)
    grad = programs.fn("recording_gradient", shape=[int(s) for s in shape], save="grad")
    return Case(case_id, args=(grad, theta0, data, lr, batch_size, n_epochs),
                data={"seed": int(rng.integers(1 << 31))}, about=about)


def recorded_program(check, case):
    """One seeded call of sgd, then the recorded calls of grad_fn and theta0 after the call."""
    return [programs.seed_global(3),
            programs.call(check.exercise, *case.args, programs.rng(case.data["seed"]),
                          save_args="args"),
            programs.value("grad", attr="calls"),
            programs.value("args", index=1)]


def seeded_program(check, case):
    """One call with the case's seed (the global seed set to something else)."""
    return [programs.seed_global(4),
            programs.call(check.exercise, *case.args, programs.rng(case.data["seed"]))]


def seeded_reference(reference, check, case):
    """The reference's answer to ``seeded_program``'s call (the same seed; the answers compared
    here do not depend on the shuffle)."""
    args = live_copy(case.args) + (np.random.default_rng(case.data["seed"]),)
    return getattr(reference, check.exercise)(*args)


def recorded_sgd(case, outputs):
    """(final theta, [(theta_k, ids_k)]) from a recorded program, or a failing Verdict."""
    calls = outputs[1]
    final, problem = as_numeric(outputs[0], "the returned theta")
    if final is None:
        return None, Verdict.fail(problem)
    shape = np.shape(case.args[1])
    if final.shape != shape:
        return None, Verdict.fail(f"the returned theta has shape {final.shape}, expected "
                                  f"{shape} (shaped like theta0)")
    if not calls:
        return None, Verdict.fail("grad_fn was never called")
    return (final, [(np.asarray(t, dtype=float), np.asarray(i, dtype=np.int64))
                    for t, i in calls]), PASS


def update_rule_judge(case, outputs, expected):
    """Replay: theta_0 = theta0, theta_{k+1} = theta_k - lr * grad_k, result = the last update."""
    got, verdict = recorded_sgd(case, outputs)
    if got is None:
        return verdict
    final, calls = got
    theta0, data, lr = np.asarray(case.args[1]), np.asarray(case.args[2]), case.args[3]
    values = data[:, 1:]
    scale = 1.0 + float(np.max(np.abs(values))) + float(np.max(np.abs(theta0)))
    theta = theta0
    for k, (received, ids) in enumerate(calls):
        where = "the first call" if k == 0 else f"call {k + 1}"
        verdict = compare_arrays(theta, received, rtol=1e-9, atol=1e-12 * scale, name="theta")
        if not verdict.passed:
            if k == 0:
                return Verdict.fail(f"{where} of grad_fn got a theta that is not theta0: "
                                    f"{verdict.message}")
            return Verdict.fail(f"{where} of grad_fn got a theta that is not theta - lr * grad "
                                f"after the previous call (lr = {lr:g}, used as given): "
                                f"{verdict.message}")
        grad = received - values[ids].mean(axis=0).reshape(received.shape)
        theta = received - lr * grad
    verdict = compare_arrays(theta, final, rtol=1e-9, atol=1e-12 * scale, name="theta")
    if not verdict.passed:
        return Verdict.fail("the returned theta is not the last theta - lr * grad: "
                            f"{verdict.message}")
    return PASS


def epochs_of(case, calls):
    """The recorded batches split into epochs, or a message saying why they cannot be."""
    n, batch_size, n_epochs = len(case.args[2]), case.args[4], case.args[5]
    per_epoch = math.ceil(n / batch_size)
    if len(calls) != n_epochs * per_epoch:
        return None, (f"grad_fn was called {len(calls)} times; expected {n_epochs} epochs x "
                      f"{per_epoch} batches = {n_epochs * per_epoch} (n={n}, "
                      f"batch_size={batch_size}; the short last batch counts)")
    ids = [i for _, i in calls]
    return [ids[e * per_epoch:(e + 1) * per_epoch] for e in range(n_epochs)], ""


def partition_each_epoch_judge(case, outputs, expected):
    """Each epoch's batches (read from the record) partition the rows, short last batch kept."""
    got, verdict = recorded_sgd(case, outputs)
    if got is None:
        return verdict
    epochs, problem = epochs_of(case, got[1])
    if epochs is None:
        return Verdict.fail(problem)
    n, batch_size = len(case.args[2]), case.args[4]
    for e, batches in enumerate(epochs):
        problem = partition_problem(batches, n, batch_size,
                                    name=f"the rows given to grad_fn in epoch {e + 1}")
        if problem:
            return Verdict.fail(problem)
    return PASS


def theta0_unchanged_judge(case, outputs, expected):
    """theta0, as the call received it, holds the same values after the call."""
    after = outputs[2]
    verdict = compare_arrays(case.args[1], after, rtol=0, atol=0, name="theta0")
    if not verdict.passed:
        return Verdict.fail("sgd modified theta0 in place (copy it before updating): "
                            f"{verdict.message}")
    return PASS


@checks.add("minibatches", "one epoch is a partition with the short last batch kept", points=1,
            judge=partition_judge, expected=None, steps=reproducibility_program)
def _(rng):
    yield Case("n=10 batch_size=3", args=(10, 3), data={"seed": 5},
               about="sizes [3, 3, 3, 1]")
    yield Case("n=8 batch_size=4", args=(8, 4), data={"seed": 6},
               about="4 divides 8: two batches, no empty third one")


@checks.add("minibatches", "same seed, same batches; another seed, other batches", points=1,
            judge=reproducible_batches, expected=None, steps=reproducibility_program)
def _(rng):
    yield Case("n=20 batch_size=6", args=(20, 6), data={"seed": 7})


@checks.add("sgd", "one full-batch epoch is one gradient step", points=2,
            judge=close(rtol=1e-9, atol=1e-12), steps=seeded_program,
            expected=seeded_reference)
def _(rng):
    yield sgd_case(rng, "n=6 D=2", (2,), 6, 0.3, 6, 1, about="theta0 - lr * grad(theta0, data)")


@checks.add("sgd", "every step is theta - lr * grad on the recorded batch", points=2,
            judge=update_rule_judge, expected=None, steps=recorded_program)
def _(rng):
    yield sgd_case(rng, "n=7 D=2 batch_size=3 two epochs", (2,), 7, 0.1, 3, 2)


@checks.add("gaussian_mean_nll_grad", "a small batch", points=2, judge=close(rtol=1e-6, atol=1e-9))
def _(rng):
    yield Case("B=4 D=2", args=(np.array([0.5, -1.0]), rng.standard_normal((4, 2))),
               about="mu - mean of the rows")


def convergence_tolerance(X, lr, batch_size, n_epochs):
    """(D,) worst-case distance between SGD's final mean and the sample mean (0 < lr <= 1).

    With e_t = mu_t - mean(X) and d_t = mean(batch_t) - mean(X), each step is
    e_{t+1} = (1 - lr) e_t + lr d_t, from e_0 = -mean(X). Over T steps the start
    decays to (1 - lr)^T |mean(X)|. Within one epoch of m batches the noise is
    lr sum_k w_k d_k with w_k = (1 - lr)^(m-1-k); the batches partition the data,
    so sum_k b_k d_k = 0 and the noise equals lr sum_k (w_k - c b_k) d_k for any c,
    at most lr min_c sum_k |w_k - c b_k| delta(b_k), delta(b) being the largest
    deviation of a mean of b rows (exact, per coordinate). Earlier epochs decay by
    (1 - lr)^m each. A correct submission is always within this bound (no false
    failures); a tiny slack covers rounding.
    """
    X = np.asarray(X, dtype=float)
    n = X.shape[0]
    xbar = X.mean(axis=0)
    sizes = np.array(batch_sizes(n, batch_size), dtype=float)
    m = sizes.size
    steps = m * n_epochs
    dev = np.sort(X - xbar, axis=0)                                         # (n, D)
    csum_top = np.cumsum(dev[::-1], axis=0)
    csum_bottom = np.cumsum(dev, axis=0)
    delta = {int(b): np.maximum(csum_top[int(b) - 1], -csum_bottom[int(b) - 1]) / b
             for b in set(sizes)}
    w = (1.0 - lr) ** (m - 1 - np.arange(m))
    per_epoch = None
    for c in w / sizes:
        spread = sum(abs(w[k] - c * sizes[k]) * delta[int(sizes[k])] for k in range(m))
        per_epoch = spread if per_epoch is None else np.minimum(per_epoch, spread)
    epochs = (1.0 - (1.0 - lr) ** steps) / (1.0 - (1.0 - lr) ** m)
    noise = lr * per_epoch * epochs
    decay = (1.0 - lr) ** steps * np.abs(xbar)
    return decay + noise + 1e-9 * (1.0 + np.abs(xbar)) * math.sqrt(steps)


def convergence_judge(case, outputs, expected):
    """The fitted mean is within ``convergence_tolerance`` of the sample mean, per coordinate."""
    X, lr, batch_size, n_epochs = case.args
    X = np.asarray(X, dtype=float)
    xbar = X.mean(axis=0)
    tol = convergence_tolerance(X, lr, batch_size, n_epochs)
    verdict = compare_arrays(xbar, outputs[0], rtol=0, atol=np.max(tol), name="mu")
    if not verdict.passed:
        return verdict
    off = np.abs(np.asarray(outputs[0], dtype=float) - xbar)
    if np.any(off > tol):
        j = int(np.argmax(off - tol))
        return Verdict.fail(f"mu[{j}] = {float(np.asarray(outputs[0])[j]):.6g} is "
                            f"{off[j]:.3g} from the sample mean {xbar[j]:.6g}; after "
                            f"{n_epochs} epochs at lr={lr:g} SGD must be within {tol[j]:.3g}")
    return PASS


def fit_case(rng, case_id, n, d, lr, batch_size, n_epochs, about=""):
    """Data far from the start mu = 0, so that too few steps show."""
    shift = 3.0 * (1.0 + rng.random(d)) * rng.choice([-1.0, 1.0], size=d)   # |mean| in [3, 6]
    X = shift + rng.standard_normal((n, d))
    return Case(case_id, args=(X, lr, batch_size, n_epochs),
                data={"seed": int(rng.integers(1 << 31))},
                about=about)


@checks.add("fit_gaussian_mean_sgd", "one full-batch epoch from zero is lr * mean(X)", points=1,
            judge=close(rtol=1e-9, atol=1e-12), steps=seeded_program,
            expected=seeded_reference)
def _(rng):
    yield fit_case(rng, "N=5 D=2 lr=0.5", 5, 2, 0.5, 5, 1)


@checks.add("fit_gaussian_mean_sgd", "converges to the sample mean", points=2,
            judge=convergence_judge, expected=None, steps=seeded_program)
def _(rng):
    yield fit_case(rng, "N=50 D=2 batch_size=10 lr=0.05", 50, 2, 0.05, 10, 100)
