"""Hidden checks of HW5: huge exact counts, random DAGs, cycles, energies of magnitude 1e4.

Never shipped to students. Expected counts come from the trusted side by other
routes than the reference: closed forms and identities (the chain rule equals
the joint count; a Bayes net with no edges, a chain or all earlier variables as
parents equals the independent, Markov-chain and chain-rule counts) and a
brute-force enumeration of every conditional table on small random DAGs.
log Z is checked against exact enumeration with ``np.logaddexp``.
"""
import itertools
import math

import numpy as np

from grader.checks.judges import exact_int, raises
from grader.checks.registry import Case, CheckSet, live_copy
from tests.public.hw5_structure import CYCLE_SECONDS, close_log_z, quadratic, table

checks = CheckSet("hw5", public=False)

RGB = 256
TWO_TO_10000 = [2] * 10000          # n_params_joint = 2^10000 - 1


def rgb_image(height, width):
    """cards of an RGB image: 3 channels of 256 values per pixel."""
    return [RGB] * (3 * height * width)


def joint_count(reference, check, case):
    """prod(cards) - 1 in exact integers (the chain rule must agree with it)."""
    return math.prod(int(c) for c in case.args[0]) - 1


def independent_count(reference, check, case):
    return sum(int(c) - 1 for c in case.args[0])


def markov_count(reference, check, case):
    cards = [int(c) for c in case.args[0]]
    return cards[0] - 1 + sum((c - 1) * b for b, c in zip(cards, cards[1:]))


def cards_between(rng, low_bits, high_bits, cap=50):
    """Mixed cards (2..cap values) whose product lies between 2^low_bits and 2^high_bits and
    is not a float64 (so that float arithmetic must lose digits)."""
    while True:
        cards, prod = [], 1
        while prod.bit_length() <= low_bits:
            c = int(rng.integers(2, cap + 1))
            cards.append(c)
            prod *= c
        if prod.bit_length() <= high_bits and int(float(prod)) != prod \
                and int(float(prod - 1)) != prod - 1:
            return cards


# --- joint, independent, chain rule, Markov chain ---------------------------------------------

@checks.add("n_params_joint", "exact past 2^53 (float) and 2^63 (int64)", points=2,
            judge=exact_int(), expected=joint_count)
def _(rng):
    cards = cards_between(rng, 54, 62)
    yield Case(f"{len(cards)} variables, product below 2^63", args=(cards,),
               about="float64 loses the last digits")
    cards = cards_between(rng, 64, 120)
    yield Case(f"{len(cards)} variables, product past 2^63", args=(cards,),
               about="int64 wraps around")


@checks.add("n_params_joint", "2^10000 - 1 and RGB images", points=2,
            judge=exact_int(), expected=joint_count)
def _(rng):
    yield Case("10000 binary variables", args=(TWO_TO_10000,), about="2^10000 - 1")
    yield Case("8x8 RGB image", args=(rgb_image(8, 8),), about="256^192 - 1")
    yield Case("32x32 RGB image", args=(rgb_image(32, 32),), about="256^3072 - 1")


@checks.add("n_params_independent", "random and huge cards", points=1,
            judge=exact_int(), expected=independent_count)
def _(rng):
    cards = [int(c) for c in rng.integers(1, 300, size=int(rng.integers(1, 30)))]
    yield Case(f"{len(cards)} random cards", args=(cards,), about="a card of 1 adds nothing")
    yield Case("cards past 2^63", args=([2 ** 70, 3 ** 50, 10 ** 25 + 7],))
    yield Case("32x32 RGB image", args=(rgb_image(32, 32),))


# A correct but quadratic chain rule (math.prod(cards[:i]) for every i) needs about 10 s for
# 10000 variables: the limit of this check leaves it room, the docstring advises a running product.
@checks.add("n_params_chain_rule", "equals the joint count, huge ones too", points=2,
            judge=exact_int(), expected=joint_count, seconds=30.0)
def _(rng):
    cards = [int(c) for c in rng.integers(2, 9, size=int(rng.integers(2, 12)))]
    yield Case(f"{len(cards)} mixed cards", args=(cards,))
    cards = cards_between(rng, 64, 120)
    yield Case(f"{len(cards)} variables, product past 2^63", args=(tuple(cards),))
    yield Case("10000 binary variables", args=(TWO_TO_10000,), about="2^10000 - 1, summed factor "
               "by factor")
    yield Case("8x8 RGB image", args=(rgb_image(8, 8),))


@checks.add("n_params_markov_chain", "mixed and huge cards", points=2,
            judge=exact_int(), expected=markov_count)
def _(rng):
    cards = [int(c) for c in rng.permutation(np.arange(2, 12))[:int(rng.integers(3, 9))]]
    yield Case(f"{len(cards)} distinct cards", args=(cards,),
               about="(cards[i] - 1) times the card of the parent x_{i-1}")
    yield Case("one variable", args=([int(rng.integers(2, 100))],))
    yield Case("huge cards", args=([2 ** 64 + 1, 3 ** 45, 7, 2 ** 80],))
    yield Case("32x32 RGB image as a chain", args=(rgb_image(32, 32),))


# --- Bayes nets -------------------------------------------------------------------------------

def random_dag(rng, n, max_parents=3):
    """parents lists of a random DAG whose topological order is a random permutation."""
    order = rng.permutation(n)
    parents = [[] for _ in range(n)]
    for pos in range(1, n):
        k = int(rng.integers(0, min(pos, max_parents) + 1))
        chosen = rng.choice(order[:pos], size=k, replace=False)
        parents[int(order[pos])] = [int(p) for p in chosen]
    return parents


def brute_force_count(reference, check, case):
    """Count the free numbers of every conditional table one parent configuration at a time."""
    cards, parents = case.args
    total = 0
    for i, ps in enumerate(parents):
        for _ in itertools.product(*[range(int(cards[int(p)])) for p in ps]):
            total += int(cards[i]) - 1
    return total


@checks.add("n_params_bayes_net", "random DAGs in random order, by brute force", points=3,
            judge=exact_int(), expected=brute_force_count)
def _(rng):
    for k in range(4):
        n = int(rng.integers(3, 9))
        cards = [int(c) for c in rng.integers(2, 5, size=n)]
        parents = random_dag(rng, n)
        if k == 1:
            parents = [tuple(ps) for ps in parents]
        if k == 2:
            parents = [np.array(ps, dtype=np.int64) for ps in parents]
        kind = ("lists", "tuples", "int arrays", "lists")[k]
        yield Case(f"n={n} DAG {k + 1} ({kind})", args=(cards, parents),
                   about="parents may have larger indices than their children")


def special_structures_expected(reference, check, case):
    return case.data["expected"]


@checks.add("n_params_bayes_net", "no edges, a chain, a complete DAG: huge counts", points=3,
            judge=exact_int(), expected=special_structures_expected)
def _(rng):
    n = int(rng.integers(4, 9))
    cards = [int(c) for c in rng.integers(2, 1000, size=n)]
    yield Case("no edges = independent", args=(cards, [[] for _ in range(n)]),
               data={"expected": sum(c - 1 for c in cards)})
    cards = [int(c) for c in rng.integers(10 ** 6, 10 ** 7, size=n)]
    chain = [[]] + [[i - 1] for i in range(1, n)]
    yield Case("chain = Markov chain", args=(cards, chain),
               data={"expected": cards[0] - 1 + sum((c - 1) * b for b, c in zip(cards, cards[1:]))})
    cards = rgb_image(2, 2)
    complete = [list(range(i)) for i in range(len(cards))]
    yield Case("complete DAG on a 2x2 RGB image = joint", args=(cards, complete),
               data={"expected": math.prod(cards) - 1}, about="256^12 - 1, past 2^63")
    order = [int(i) for i in rng.permutation(n)]
    cards = [int(c) for c in rng.integers(2 ** 20, 2 ** 30, size=n)]
    complete = [[] for _ in range(n)]
    for pos, i in enumerate(order):
        complete[i] = order[:pos]
    yield Case("complete DAG in random order = joint", args=(cards, complete),
               data={"expected": math.prod(cards) - 1})


def with_cycle(rng, n, length):
    """A random DAG on n variables plus a directed cycle through ``length`` of them."""
    parents = random_dag(rng, n, max_parents=2)
    members = [int(i) for i in rng.choice(n, size=length, replace=False)]
    for a, b in zip(members, members[1:] + members[:1]):       # edge a -> b
        if a not in parents[b]:
            parents[b] = parents[b] + [a]
    return parents


@checks.add("n_params_bayes_net", "ValueError for cycles of every length", points=1,
            judge=raises("ValueError"), expected=None, seconds=CYCLE_SECONDS)
def _(rng):
    n = int(rng.integers(6, 12))
    cards = [int(c) for c in rng.integers(2, 4, size=n)]
    yield Case(f"self-loop in a DAG of {n}", args=(cards, with_cycle(rng, n, 1)))
    yield Case(f"3-cycle among {n} variables", args=(cards, with_cycle(rng, n, 3)))
    yield Case(f"cycle through all {n} variables", args=(cards, with_cycle(rng, n, n)))
    parents = [[] for _ in range(n)]
    a, b, c = (int(i) for i in rng.choice(np.arange(1, n), size=3, replace=False))
    parents[b], parents[c], parents[a] = [a], [b], [c]
    yield Case("cycle that variable 0 does not reach", args=(cards, parents),
               about="look for cycles from every variable, not only from the first")


@checks.add("n_params_bayes_net", "ValueError for indices out of range", points=1,
            judge=raises("ValueError"), expected=None, seconds=CYCLE_SECONDS)
def _(rng):
    n = int(rng.integers(3, 8))
    cards = [2] * n
    parents = random_dag(rng, n, max_parents=1)
    child = int(rng.integers(n))
    yield Case(f"parent index {n} for {n} variables",
               args=(cards, [ps + [n] if i == child else ps for i, ps in enumerate(parents)]))
    yield Case("parent index -1", args=(cards, [ps + [-1] if i == child else ps
                                                 for i, ps in enumerate(parents)]),
               about="a negative index is out of range, not the last variable")
    yield Case("parent index far out of range",
               args=(cards, [[n + 10 ** 6]] + [[] for _ in range(n - 1)]))


# --- FVSBN ------------------------------------------------------------------------------------

def fvsbn_count(reference, check, case):
    n = int(case.args[0])
    return sum(range(1, n + 1)) if n < 1000 else n * (n + 1) // 2


@checks.add("n_params_fvsbn", "random and large n", points=2, judge=exact_int(),
            expected=fvsbn_count)
def _(rng):
    yield Case("random n", args=(int(rng.integers(2, 500)),))
    yield Case("n=784 (28x28 binary image)", args=(784,))
    yield Case("n=10^7", args=(10 ** 7,), about="n(n+1)/2 is a float in Python 3: use //")


# --- log_partition ----------------------------------------------------------------------------

def enumerated_log_z(reference, check, case):
    """Exact enumeration of all 2^n states with np.logaddexp.reduce (trusted side)."""
    energy, n = live_copy(case.args[0]), int(case.args[1])
    states = np.array(list(itertools.product((0.0, 1.0), repeat=n))).reshape(-1, n)
    return float(np.logaddexp.reduce(-np.asarray(energy(states), dtype=float)))


@checks.add("log_partition", "random models against enumeration", points=2, judge=close_log_z,
            expected=enumerated_log_z)
def _(rng):
    yield Case("n=1", args=(quadratic(rng, 1), 1))
    for n in (int(rng.integers(2, 7)), int(rng.integers(7, 13))):
        yield Case(f"n={n} quadratic", args=(quadratic(rng, n), n))
    n = int(rng.integers(3, 9))
    yield Case(f"n={n} random table", args=(table(3.0 * rng.standard_normal(1 << n)), n))


@checks.add("log_partition", "energies of magnitude 1e4, either sign", points=2,
            judge=close_log_z, expected=enumerated_log_z)
def _(rng):
    n = int(rng.integers(4, 9))
    yield Case(f"n={n} energies near +1e4", args=(table(1e4 + rng.random(1 << n)), n),
               about="exp(-E) underflows to 0: log 0 = -inf")
    yield Case(f"n={n} energies near -1e4", args=(table(-1e4 + rng.random(1 << n)), n),
               about="exp(-E) overflows to inf")
    n = int(rng.integers(6, 11))
    yield Case(f"n={n} quadratic at scale 1e3", args=(quadratic(rng, n, scale=1e3), n),
               about="energies of order 1e4 with many states far from the minimum")
    values = np.full(1 << 5, 2e4)
    values[rng.choice(1 << 5, size=3, replace=False)] = -1e4
    yield Case("three tied ground states at -1e4", args=(table(values), 5),
               about="log Z = 1e4 + log 3: the sum matters, not only the largest term")
