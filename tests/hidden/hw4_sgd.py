"""Hidden checks of HW4: fresh random cases per seed, every graded edge case of the spec.

Never shipped to students. The shuffle order is never compared with the
reference: minibatches are judged as partitions, by reproducibility and by an
exact-tail test of uniformity; sgd by replaying a recording gradient function;
the fitted mean by a worst-case convergence bound. The only statistical tests
(uniformity, reshuffling) fail a correct submission with probability below 1e-8
per run in total.
"""
import numpy as np

from grader.checks.judges import close
from grader.checks.registry import Case, CheckSet
from grader.compare import statistics
from grader.compare.numeric import PASS, Verdict
from tests.public.hw4_sgd import (convergence_judge, fit_case, partition_each_epoch_judge,
                                  partition_judge, recorded_program, recorded_sgd,
                                  reproducibility_program, reproducible_batches, seeded_program,
                                  seeded_reference, sgd_case, theta0_unchanged_judge,
                                  update_rule_judge)

checks = CheckSet("hw4", public=False)

ALPHA = 1e-9          # per statistical test (two in the uniformity check)


# --- minibatches ------------------------------------------------------------------------------

@checks.add("minibatches", "random sizes, batch_size of 1, of n and above n", points=2,
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


N_UNIFORM, M_UNIFORM = 5, 800


def uniform_program(check, case):
    """M_UNIFORM epochs of n=5 in batches of 2, each from a generator of its own seed."""
    base = case.data["seed"]
    return [{"seed_global": 5}] + [
        {"call": check.exercise, "args": list(case.args) + [{"$rng": base + i}]}
        for i in range(M_UNIFORM)]


def uniform_judge(case, outputs, expected):
    """The first index is uniform over range(n), and so is the second one's offset from it.

    A uniformly random permutation makes both uniform; shuffling only the order of
    fixed chunks, or rotating range(n) by a random offset, does not. Hoeffding
    bounds (statistics.category_frequencies) at ALPHA each.
    """
    n = case.args[0]
    first, step = [], []
    for got in outputs:       # only the first two indices matter (the partition has its checks)
        try:
            order = np.concatenate([np.asarray(b, dtype=float).reshape(-1) for b in got])
        except (TypeError, ValueError):
            return Verdict.fail("expected a list of integer arrays")
        if order.size < 2 or np.any(order[:2] != np.round(order[:2])) or \
                np.any((order[:2] < 0) | (order[:2] >= n)):
            return Verdict.fail(f"an epoch does not start with two indices in range({n})")
        order = order[:2].astype(np.int64)
        first.append(order[0])
        step.append((order[1] - order[0]) % n - 1)
    verdict = statistics.category_frequencies(np.array(first), np.full(n, 1.0 / n), ALPHA,
                                              name="the first index of an epoch")
    if not verdict.passed:
        return Verdict.fail(f"the permutation is not uniformly random: {verdict.message}")
    verdict = statistics.category_frequencies(np.array(step), np.full(n - 1, 1.0 / (n - 1)),
                                              ALPHA, name="(second - first index) mod n, minus 1,")
    if not verdict.passed:
        return Verdict.fail("the permutation is not uniformly random (the second index follows "
                            f"the first): {verdict.message}")
    return PASS


@checks.add("minibatches", "the permutation is uniformly random", points=1,
            judge=uniform_judge, expected=None, steps=uniform_program)
def _(rng):
    yield Case(f"{M_UNIFORM} epochs of n={N_UNIFORM} batch_size=2", args=(N_UNIFORM, 2),
               data={"seed": int(rng.integers(1 << 30))},
               about="shuffle the indices, not only the order of fixed batches")


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


@checks.add("sgd", "each epoch's batches partition the rows, short last batch kept", points=2,
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
    grad = {"$fn": "recording_gradient", "kw": {"shape": [2]}}
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
