"""Public checks of HW5 (they ship to students; expected values in data/hw5_structure.json).

Every count must be an exact Python int (``exact_int``: a float or a numpy
integer fails even when its value is right). Invalid Bayes nets must raise
``ValueError`` (``raises``: the engine hands the raised exception to the judge).
The hidden checks add huge counts, random DAGs counted by brute force, cycles of
every length and energies of magnitude 1e4.
"""
import numpy as np

from grader.checks import programs
from grader.checks.judges import close, exact_int, raises
from grader.checks.registry import Case, CheckSet

checks = CheckSet("hw5", public=True)

# A call that loops or recurses forever on a cycle is stopped after this many seconds.
CYCLE_SECONDS = 5.0

close_log_z = close(rtol=1e-6, atol=1e-9, name="log Z")


def quadratic(rng, n, scale=1.0):
    """A ``$fn`` marker of a random Ising-like energy -x^T W x / 2 - b^T x (W symmetric)."""
    a = scale * rng.standard_normal((n, n))
    return programs.fn("quadratic_energy", W=((a + a.T) / 2).tolist(),
                       b=(scale * rng.standard_normal(n)).tolist())


def table(values):
    """A ``$fn`` marker of the energy whose value on x is values[x_0 + 2 x_1 + ...]."""
    return programs.fn("table_energy", values=[float(v) for v in values])


@checks.add("n_params_joint", "small tables and one RGB pixel", points=2, judge=exact_int())
def _(rng):
    yield Case("cards=[2, 3, 4]", args=([2, 3, 4],), about="24 entries, 23 free")
    yield Case("one RGB pixel", args=([256, 256, 256],), about="256^3 - 1")
    yield Case("ten binary variables", args=([2] * 10,))
    yield Case("one variable", args=([5],))


@checks.add("n_params_independent", "a few variables", points=1, judge=exact_int())
def _(rng):
    yield Case("cards=[2, 3, 4]", args=([2, 3, 4],))
    yield Case("one RGB pixel", args=((256, 256, 256),), about="cards as a tuple")


@checks.add("n_params_chain_rule", "equals the joint count", points=2, judge=exact_int())
def _(rng):
    yield Case("cards=[2, 3, 4]", args=([2, 3, 4],))
    yield Case("cards=[3, 2, 5, 2]", args=([3, 2, 5, 2],))


@checks.add("n_params_markov_chain", "a short chain", points=1, judge=exact_int())
def _(rng):
    yield Case("cards=[2, 3, 4]", args=([2, 3, 4],), about="1 + 2*2 + 3*3")
    yield Case("one variable", args=([4],))


@checks.add("n_params_bayes_net", "a small DAG", points=2, judge=exact_int())
def _(rng):
    yield Case("4 variables", args=([2, 3, 2, 4], [[], [0], [0, 1], [2]]),
               about="1 + 2*2 + 1*(2*3) + 3*2")
    yield Case("parents after their children", args=([3, 2, 2], [[2], [], [1]]),
               about="variables need not be in topological order")


@checks.add("n_params_bayes_net", "ValueError for a cycle or a bad index", points=1,
            judge=raises("ValueError"), expected=None, seconds=CYCLE_SECONDS)
def _(rng):
    yield Case("two-variable cycle", args=([2, 2], [[1], [0]]))
    yield Case("self-loop", args=([2, 3], [[], [1]]))
    yield Case("parent index out of range", args=([2, 2], [[], [2]]))


@checks.add("n_params_fvsbn", "small nets", points=1, judge=exact_int())
def _(rng):
    yield Case("n=1", args=(1,), about="just a bias")
    yield Case("n=3", args=(3,))
    yield Case("n=10", args=(10,))


@checks.add("log_partition", "small models by enumeration", points=2, judge=close_log_z)
def _(rng):
    yield Case("n=2 table", args=(table([0.0, 1.0, 2.0, 3.0]), 2),
               about="log(1 + e^-1 + e^-2 + e^-3)")
    yield Case("n=4 quadratic", args=(quadratic(rng, 4), 4))
