"""Exceptions handed to judges, exact integers, and the helper functions of hw4/hw5.

The worker reports the raised class along its MRO; the supervisor keeps it in
``Outcome.error_types``; the engine hands a ``Raised`` to judges marked
``judges_exceptions`` (``raises``); ``exact_int`` accepts Python ints only.
"""
import os
import tempfile

import numpy as np
import pytest

from grader.checks import programs
from grader.checks.judges import Raised, exact_int, raises
from grader.checks.registry import Case, live_copy
from grader.sandbox import callables
from grader.sandbox.supervisor import Sandbox

MODULE = """
class CycleError(ValueError):
    pass

def fail(kind):
    if kind == "cycle":
        raise CycleError("a cycle")
    if kind == "index":
        raise IndexError(5)
    if kind == "recurse":
        return fail(kind)
    return 2 ** 10000 - 1
"""


@pytest.fixture(scope="module")
def sandbox():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mod.py")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(MODULE)
        with Sandbox("mod", path, isolate=False) as box:
            assert box.start().ok
            yield box


def call(box, kind):
    return box.call([programs.call("fail", kind)])


def test_outcome_names_the_raised_class_along_its_mro(sandbox):
    outcome = call(sandbox, "cycle")
    assert outcome.status == "error"
    assert outcome.error_types[0].endswith("CycleError")
    assert "builtins.ValueError" in outcome.error_types
    assert call(sandbox, "recurse").error_types[0] == "builtins.RecursionError"


def test_a_huge_int_crosses_exactly(sandbox):
    outcome = call(sandbox, "none")
    assert outcome.ok and outcome.results == [2 ** 10000 - 1]
    assert type(outcome.results[0]) is int


def test_raises_accepts_subclasses_and_refuses_other_classes_and_returns(sandbox):
    judge = raises("ValueError")
    case = Case("c")
    for kind, passed in (("cycle", True), ("index", False), ("recurse", False)):
        outcome = call(sandbox, kind)
        verdict = judge(case, Raised(outcome.error_types, outcome.message), None)
        assert verdict.passed == passed, (kind, verdict.message)
    verdict = judge(case, [3], None)
    assert not verdict.passed and "instead of raising ValueError" in verdict.message
    assert judge.judges_exceptions and not getattr(exact_int(), "judges_exceptions", False)


BIG = 2 ** 10000 - 1


@pytest.mark.parametrize("got, expected, passed", [
    (BIG, BIG, True), (BIG - 1, BIG, False), (float(2 ** 60), 2 ** 60, False),
    (np.array(5, dtype=np.int64), 5, False), (True, 1, False), ("5", 5, False)])
def test_exact_int_needs_a_python_int_of_the_exact_value(got, expected, passed):
    assert exact_int()(Case("c"), [got], expected).passed == passed


def test_helper_functions_are_built_alike_on_both_sides():
    marker = programs.fn("table_energy", values=[3.0, 1.0, 4.0, 1.5])
    energy = live_copy(marker)
    assert np.array_equal(energy(np.array([[0, 0], [1, 0], [0, 1], [1, 1]])), [3, 1, 4, 1.5])
    with pytest.raises(ValueError):
        energy(np.array([0, 1]))            # rows must come as an (M, n) array
    grad = callables.make("recording_gradient", {"shape": [2]})
    data = np.array([[0, 1.0, 2.0], [1, 3.0, 4.0]])
    assert np.array_equal(grad(np.zeros(2), data), [-2.0, -3.0])
    assert [list(ids) for _, ids in grad.calls] == [[0, 1]]
    with pytest.raises(TypeError):
        grad(np.zeros(2), np.array([0, 1]))  # indices instead of rows
