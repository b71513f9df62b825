"""Hidden checks of HW4: fresh random cases per seed, every graded edge case of the spec.

Never shipped to students. The shuffle order is never compared with the
reference: minibatches are judged as partitions, by reproducibility and, with the
student's gaussian_mean_nll_grad, by what SGD relies on (each batch's gradient is an
unbiased estimate of the full gradient whose variance falls as 1/B, exact-tail tests);
sgd by replaying a recording gradient function; the fitted mean by a worst-case
convergence bound. The statistical tests (gradient noise, reshuffling) fail a correct
submission with probability below 1e-7 per run in total.
"""
import math

import numpy as np

from grader.checks import programs
from grader.checks.judges import close
from grader.checks.registry import Case, CheckSet
from grader.compare.numeric import PASS, Verdict, as_numeric
from tests.public.hw4_sgd import (convergence_judge, fit_case, partition_each_epoch_judge,
                                  partition_judge, recorded_program, recorded_sgd,
                                  reproducibility_program, reproducible_batches, seeded_program,
                                  seeded_reference, sgd_case, theta0_unchanged_judge,
                                  update_rule_judge)

checks = CheckSet("hw4", public=False)

# --- minibatches ------------------------------------------------------------------------------

@checks.add("minibatches", "random sizes, batch_size of 1, of n and above n", points=1,
            judge=partition_judge, expected=None, steps=reproducibility_program)
def _(rng):
    for n in (int(rng.integers(11, 60)), int(rng.integers(60, 300))):
        bs = int(rng.integers(2, n // 2))
        yield Case(f"n={n} batch_size={bs}", args=(n, bs),
                   data={"seed": int(rng.integers(1 << 30))})
    k = int(rng.integers(2, 7))
    bs = int(rng.integers(2, 9))
    yield Case(f"n={k * bs} batch_size={bs} (divides n)", args=(k * bs, bs),
               data={"seed": int(rng.integers(1 << 30))}, about="no empty last batch")
    yield Case("n=9 batch_size=1", args=(9, 1), data={"seed": int(rng.integers(1 << 30))})
    yield Case("n=6 batch_size=6", args=(6, 6), data={"seed": int(rng.integers(1 << 30))})
    yield Case("n=5 batch_size=8", args=(5, 8), data={"seed": int(rng.integers(1 << 30))},
               about="batch_size > n: one batch of all rows")
    yield Case("n=1 batch_size=1", args=(1, 1), data={"seed": int(rng.integers(1 << 30))})


@checks.add("minibatches", "reproducible from rng alone", points=1,
            judge=reproducible_batches, expected=None, steps=reproducibility_program)
def _(rng):
    n = int(rng.integers(30, 80))
    yield Case(f"n={n} batch_size=7", args=(n, 7), data={"seed": int(rng.integers(1 << 30))})


# --- minibatch gradients: what SGD relies on ---------------------------------------------------

#: n = 48 rows of two 0/1 columns arranged so that batches that are not uniformly random
#: subsets show: column 0 is sorted (a contiguous run of rows is pure), column 1 alternates
#: (every K-th row, K even, is pure). Each column has mean 1/2 and variance 1/4.
N_NOISE = 48
NOISE_MU = np.array([0.75, -0.5])       # the point where the gradients are taken (not the MLE)
NOISE_DRAWS = 1000                      # epochs drawn per batch size, each from its own seed
NOISE_ALPHA = 1e-8                      # per case, split over its tests


def noise_data():
    """The (48, 2) data of the gradient-noise check."""
    i = np.arange(N_NOISE)
    return np.column_stack([i >= N_NOISE // 2, i % 2]).astype(float)


def noise_positions(n, batch_size):
    """The batches of an epoch whose gradients are judged: the first and the last (full) one."""
    return (0, n // batch_size - 1)


def noise_program(check, case):
    """Epochs of the student's minibatches, two batches of each fed to the student's gradient.

    The data is kept in the worker without passing through student code: appended to
    the argument list that the worker kept for the first call (a list the student never
    sees), then popped off it. Then for each epoch and judged batch k:
    ``gaussian_mean_nll_grad(mu, X[batches[k]])``.
    """
    n, batch_size = case.args
    seed = case.data["seed"]
    steps = [programs.seed_global(6),
             programs.call("minibatches", n, batch_size, programs.rng(seed), save="mb",
                           save_args="holder"),
             programs.call(programs.method("holder", "append"), noise_data(), save="unused"),
             programs.call(programs.method("holder", "pop"), save="X")]
    for i in range(NOISE_DRAWS):
        steps.append(programs.call("minibatches", n, batch_size, programs.rng(seed + 1 + i),
                                   save="mb"))
        for k in noise_positions(n, batch_size):
            steps += [programs.call(programs.method("mb", "__getitem__"), k, save="batch"),
                      programs.call(programs.method("X", "__getitem__"), programs.ref("batch"),
                                    save="rows"),
                      programs.call("gaussian_mean_nll_grad", NOISE_MU, programs.ref("rows"))]
    return steps


def bernstein_radius(draws, variance, bound, alpha):
    """t with P(|mean of ``draws`` i.i.d. Y - E Y| >= t) <= alpha, for |Y - E Y| <= ``bound``
    and Var Y <= ``variance`` (Bernstein: 2 exp(-M t^2 / (2 variance + 2 bound t / 3)))."""
    log_term = math.log(2.0 / alpha)
    b = 2.0 * bound * log_term / 3.0
    return (b + math.sqrt(b * b + 8.0 * draws * variance * log_term)) / (2.0 * draws)


def gradient_noise_judge(case, outputs, expected):
    """Each judged batch's gradient is an unbiased estimate of the full gradient, with the
    variance of the mean of a uniformly random B-subset: s^2 / B * (n - B) / (n - 1).

    For a correct submission g_ik = mu - mean(X[batch_ik]), the batch a uniformly random
    B-subset, i.i.d. over the epochs i. Per column j, with r_j the largest deviation of a
    mean of B rows from the mean of all rows (|g_ikj - g_j| <= r_j) and V_j the exact
    variance above, Bernstein's inequality (exact for bounded i.i.d. variables) bounds
    - the mean over epochs of g_ikj - g_j, for each judged position k (variance V_j);
    - the mean over epochs of v_ij = mean_k (g_ikj - g_j)^2, in [0, r_j^2], whose mean is
      V_j and variance at most r_j^2 V_j;
    NOISE_ALPHA is split evenly over these tests.
    """
    n, batch_size = case.args
    positions = noise_positions(n, batch_size)
    X = noise_data()
    d = X.shape[1]
    if len(outputs) != NOISE_DRAWS * len(positions):
        return Verdict.fail(f"expected {NOISE_DRAWS * len(positions)} gradients, "
                            f"got {len(outputs)}")
    grads = np.empty((len(outputs), d))
    for i, got in enumerate(outputs):
        arr, problem = as_numeric(got, "the gradient")
        if arr is None:
            return Verdict.fail(problem)
        if arr.shape != (d,) or not np.all(np.isfinite(arr)):
            return Verdict.fail(f"gaussian_mean_nll_grad returned shape {arr.shape} (or NaN/inf) "
                                f"for a batch of shape ({batch_size}, {d}); expected ({d},)")
        grads[i] = arr
    grads = grads.reshape(NOISE_DRAWS, len(positions), d)
    full = NOISE_MU - X.mean(axis=0)                                        # (d,)
    sorted_x = np.sort(X, axis=0)
    radius = np.maximum(sorted_x[-batch_size:].mean(axis=0) - X.mean(axis=0),
                        X.mean(axis=0) - sorted_x[:batch_size].mean(axis=0))
    variance = X.var(axis=0) / batch_size * (n - batch_size) / (n - 1)
    a = NOISE_ALPHA / (len(positions) * d + d)
    average = grads.mean(axis=0)                                            # (positions, d)
    for p, k in enumerate(positions):
        for j in range(d):
            t = bernstein_radius(NOISE_DRAWS, variance[j], radius[j], a)
            if abs(average[p, j] - full[j]) > t:
                return Verdict.fail(
                    f"biased minibatch gradient: over {NOISE_DRAWS} epochs, coordinate {j} of "
                    f"the gradient on batch {k} averages {average[p, j]:.4g}, but the "
                    f"full-data gradient mu - mean(X) is {full[j]:.4g} (allowed ±{t:.3g}; a "
                    f"correct submission falls outside with probability < {NOISE_ALPHA:g}). "
                    "Is the gradient mu - (mean of the batch), and is every batch a uniformly "
                    "random subset of the rows (shuffle all the indices, then cut)?")
    spread = ((grads - full) ** 2).mean(axis=(0, 1))                        # (d,)
    for j in range(d):
        t = bernstein_radius(NOISE_DRAWS, radius[j] ** 2 * variance[j], radius[j] ** 2, a)
        if abs(spread[j] - variance[j]) > t:
            return Verdict.fail(
                f"the variance of the minibatch gradient is {spread[j]:.4g} (coordinate {j}, "
                f"B = {batch_size}), expected s^2 / B * (n - B) / (n - 1) = {variance[j]:.4g} "
                f"± {t:.3g} (a correct submission falls outside with probability < "
                f"{NOISE_ALPHA:g}). SGD's gradient noise falls as 1/B only when every batch is "
                "a uniformly random subset of the rows; a contiguous or strided run of the "
                "data keeps the variance of the data's order.")
    return PASS


@checks.add("minibatches", "batch gradients: unbiased, variance falls as 1/B", points=3,
            judge=gradient_noise_judge, expected=None, steps=noise_program, seconds=30.0)
def _(rng):
    for batch_size in (4, 12):
        yield Case(f"n={N_NOISE} B={batch_size}, {NOISE_DRAWS} epochs", args=(N_NOISE, batch_size),
                   data={"seed": int(rng.integers(1 << 30))},
                   about="gaussian_mean_nll_grad on the first and last batch of your epochs")


# --- sgd --------------------------------------------------------------------------------------

@checks.add("sgd", "one full-batch epoch: random shapes and learning rates", points=1,
            judge=close(rtol=1e-9, atol=1e-12), steps=seeded_program,
            expected=seeded_reference)
def _(rng):
    yield sgd_case(rng, "D=1", (1,), int(rng.integers(2, 9)), float(rng.uniform(0.01, 1)), 100, 1,
                   about="batch_size > n: still one batch of all rows")
    n = int(rng.integers(3, 20))
    yield sgd_case(rng, "D=5", (5,), n, float(rng.uniform(0.01, 1)), n, 1)
    n = int(rng.integers(3, 20))
    yield sgd_case(rng, "theta of shape (3, 2)", (3, 2), n, float(rng.uniform(0.01, 1)), n, 1,
                   about="theta keeps the shape of theta0")


@checks.add("sgd", "every step uses lr as given on the batch it drew", points=2,
            judge=update_rule_judge, expected=None, steps=recorded_program)
def _(rng):
    n = int(rng.integers(20, 40))
    yield sgd_case(rng, f"n={n} D=3 batch_size=4 three epochs", (3,), n,
                   float(rng.uniform(0.05, 0.5)), 4, 3)
    yield sgd_case(rng, "theta (2, 2), batch_size=1", (2, 2), 5, float(rng.uniform(0.05, 0.5)),
                   1, 2)


@checks.add("sgd", "each epoch's batches partition the rows, short last batch kept", points=1,
            judge=partition_each_epoch_judge, expected=None, steps=recorded_program)
def _(rng):
    n = int(rng.integers(20, 40))
    bs = int(rng.integers(3, 8))
    bs += (n % bs == 0)                      # a short last batch
    yield sgd_case(rng, f"n={n} batch_size={bs} four epochs", (2,), n, 0.1, bs, 4)
    yield sgd_case(rng, "n=12 batch_size=4 two epochs", (1,), 12, 0.1, 4, 2,
                   about="4 divides 12: no empty batch")


def reshuffle_judge(case, outputs, expected):
    """No two epochs visit the rows in the same order.

    A correct sgd draws a fresh permutation per epoch: two of its E epochs of
    n >= 20 rows coincide with probability at most C(E, 2) / n! < 1e-15.
    """
    got, verdict = recorded_sgd(case, outputs)
    if got is None:
        return verdict
    ids, n_epochs = [i for _, i in got[1]], case.args[5]
    if len(ids) % n_epochs:      # (the number of batches has a check of its own)
        return Verdict.fail(f"grad_fn was called {len(ids)} times, not a multiple of the "
                            f"{n_epochs} epochs")
    per_epoch = len(ids) // n_epochs
    orders = [np.concatenate(ids[e * per_epoch:(e + 1) * per_epoch]) for e in range(n_epochs)]
    for a in range(len(orders)):
        for b in range(a + 1, len(orders)):
            if np.array_equal(orders[a], orders[b]):
                return Verdict.fail(f"epochs {a + 1} and {b + 1} visit the rows in the same "
                                    "order: draw fresh minibatches from rng every epoch")
    return PASS


@checks.add("sgd", "a fresh shuffle every epoch", points=1,
            judge=reshuffle_judge, expected=None, steps=recorded_program)
def _(rng):
    n = int(rng.integers(20, 30))
    yield sgd_case(rng, f"n={n} batch_size=5 three epochs", (2,), n, 0.1, 5, 3)


@checks.add("sgd", "theta0 is not modified", points=1,
            judge=theta0_unchanged_judge, expected=None, steps=recorded_program)
def _(rng):
    yield sgd_case(rng, "D=3 two epochs", (3,), 10, 0.2, 3, 2)
    yield sgd_case(rng, "theta (2, 3), full batch", (2, 3), 6, 0.2, 6, 1)


def reproducible_sgd(case, outputs, expected):
    """Same seed → same theta whatever the global seed; another seed → another theta."""
    first, again, other = (np.asarray(o, dtype=float) for o in outputs)
    if not np.array_equal(first, again):
        return Verdict.fail("two calls with generators of the same seed gave different thetas "
                            "(the global numpy seed differed between them): draw the batches "
                            "from `rng`, never from np.random.*")
    if np.array_equal(first, other):
        return Verdict.fail("generators of different seeds gave identical thetas: are the "
                            "batches drawn from `rng`?")
    return PASS


@checks.add("sgd", "reproducible from rng alone", points=1,
            judge=reproducible_sgd, expected=None, steps=reproducibility_program)
def _(rng):
    case = sgd_case(rng, "n=15 batch_size=4 two epochs", (2,), 15, 0.3, 4, 2)
    grad = programs.fn("recording_gradient", shape=[2])
    yield Case(case.id, args=(grad,) + case.args[1:], data=case.data)


# --- gaussian_mean_nll_grad -------------------------------------------------------------------

@checks.add("gaussian_mean_nll_grad", "random batches, B = 1 and D = 1", points=2,
            judge=close(rtol=1e-6, atol=1e-9))
def _(rng):
    for b, d in ((int(rng.integers(2, 40)), int(rng.integers(2, 8))), (1, 3), (6, 1)):
        mu = rng.standard_normal(d)
        yield Case(f"B={b} D={d}", args=(mu, mu + 2.0 * rng.standard_normal((b, d)) + 1.0))


# --- fit_gaussian_mean_sgd --------------------------------------------------------------------

@checks.add("fit_gaussian_mean_sgd", "full batch, several epochs: 1 - (1 - lr)^E of the mean",
            points=1, judge=close(rtol=1e-9, atol=1e-12), steps=seeded_program,
            expected=seeded_reference)
def _(rng):
    n, e = int(rng.integers(3, 30)), int(rng.integers(2, 9))
    yield fit_case(rng, f"N={n} D=3 {e} epochs", n, 3, float(rng.uniform(0.05, 0.6)), n, e,
                   about="every step is the same full-batch gradient step")


@checks.add("fit_gaussian_mean_sgd", "converges within the bound of lr and epochs", points=2,
            judge=convergence_judge, expected=None, steps=seeded_program)
def _(rng):
    n = int(rng.integers(80, 120))
    yield fit_case(rng, f"N={n} D=3 batch_size=10 lr=0.01", n, 3, 0.01, 10, 150,
                   about="short last batch when 10 does not divide N")
    yield fit_case(rng, "N=40 D=1 batch_size=1 lr=0.005", 40, 1, 0.005, 1, 60)
    n = int(rng.integers(20, 60))
    yield fit_case(rng, f"N={n} D=2 full batch lr=0.2", n, 2, 0.2, n, 150)
