"""HW6 graded by two workers: the checks that train in a worker of the template's warm stage
(torch._dynamo imported), the others in a worker forked before that import, at the same time
in a single grading (``engine.workers_for``). The results are those of grading one check at a
time, whatever the number of workers running at once."""
import dataclasses
import json
import os
import re

import pytest

from grader import engine, homeworks
from grader.homeworks import PROJECT_ROOT

from .grading import failures, grade_text, reference_source, stub_source, variant

HW = homeworks.get("hw6")

pytestmark = pytest.mark.slow   # hw6 gradings through the sandbox (a few s each)


def _checks(include_hidden=True):
    return homeworks.load_checks(HW, include_hidden)


def _calls(value):
    """The function names a program calls (``programs.call`` steps), recursively."""
    if isinstance(value, dict):
        own = [value["call"]] if isinstance(value.get("call"), str) else []
        return own + [name for v in value.values() for name in _calls(v)]
    if isinstance(value, (list, tuple)):
        return [name for v in value for name in _calls(v)]
    return []


def test_the_checks_marked_as_training_are_those_that_call_train_model():
    for check in _checks():
        trains = any("train_model" in _calls(check.steps(check, case))
                     for case in check.make_cases(0))
        assert check.trains == trains, check.id


def test_one_worker_runs_what_does_not_train_and_another_what_trains():
    checks = _checks()
    plan = engine.workers_for(checks, True)
    assert [warm for warm, _ in plan] == [False, True]
    (_, plain), (_, training) = plan
    assert sorted(plain + training) == list(range(len(checks)))
    assert plain == sorted(plain) and training == sorted(training)  # each in check order
    assert {checks[i].id for i in training} == {c.id for c in checks if c.trains}
    only_masks = [c for c in checks if c.exercise == "made_masks"]
    assert engine.workers_for(only_masks, True) == [(False, list(range(len(only_masks))))]
    # a homework that marks no training check: one warm worker, every check in order
    assert engine.workers_for(checks, False) == [(True, list(range(len(checks))))]
    hw1 = homeworks.load_checks(homeworks.get("hw1"), True)
    assert not any(c.trains for c in hw1)


def test_hidden_checks_form_a_phase_after_the_public_ones():
    checks = _checks()
    phases = engine.phases_of(checks, range(len(checks)))
    assert len(phases) == 2
    assert all(checks[i].public for i in phases[0])
    assert not any(checks[i].public for i in phases[1])
    assert phases[0] + phases[1] == list(range(len(checks)))


def _comparable(result):
    """A result without its times, its submission's (temporary) folder named SUBMISSION."""
    data = dataclasses.asdict(result)
    data.pop("seconds")
    for check in data["checks"]:
        check.pop("seconds")
    folder = os.path.dirname(result.submission)
    return json.loads(json.dumps(data).replace(folder, "SUBMISSION"))


def _buggy_source():
    with open(os.path.join(PROJECT_ROOT, "examples", "hw6", "buggy", HW.filename),
              encoding="utf-8") as fh:
        return fh.read()


SUBMISSIONS = {
    "reference": (lambda: reference_source(HW), 0),
    "reference, another seed": (lambda: reference_source(HW), 3),
    "stubs": (lambda: stub_source(HW), 5),
    "buggy example": (_buggy_source, 2024),
}


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_workers_at_the_same_time_give_the_results_of_one_at_a_time(name):
    source, seed = SUBMISSIONS[name]
    one = grade_text("hw6", source(), seed=seed, device="cpu", parallel=1)
    snapshots = []
    both = grade_text("hw6", source(), seed=seed, device="cpu", parallel=2,
                      checked=lambda result: snapshots.append([c.check_id
                                                               for c in result.checks]))
    assert _comparable(both) == _comparable(one), failures(both)
    order = [c.check_id for c in one.checks]
    assert [c.id for c in _checks()] == order
    # partial results (Gradescope's) grow in check order, whatever finished first
    assert snapshots and snapshots[-1] == order
    assert all(s == order[:len(s)] for s in snapshots)
    assert all(len(a) < len(b) for a, b in zip(snapshots, snapshots[1:]))


REPORTS_DYNAMO = """
import sys as _sys


def made_masks(d, hidden_sizes, seed=0):
    raise RuntimeError(f"dynamo imported: {'torch._dynamo' in _sys.modules}")


def train_model(model, data, n_epochs, lr, batch_size, generator=None):
    raise RuntimeError(f"dynamo imported: {'torch._dynamo' in _sys.modules}")
"""


@pytest.mark.parametrize("parallel", [1, 2])
def test_checks_that_do_not_train_run_in_a_worker_without_torch_dynamo(parallel):
    """The worker of the checks that do not train was forked before the template's warm stage
    imported torch._dynamo; the training checks' worker has it before their first step."""
    result = grade_text("hw6", variant(HW, REPORTS_DYNAMO), seed=1, device="cpu",
                        parallel=parallel)
    said = {c.check_id: re.search(r"dynamo imported: (True|False)", c.message)
            for c in result.checks if c.exercise in ("made_masks", "train_model")}
    assert said and all(said.values()), failures(result)
    for check in _checks():
        if check.id in said:
            assert said[check.id].group(1) == str(check.trains), check.id


TIMED = """
import time as _time


def made_masks(d, hidden_sizes, seed=0):
    raise RuntimeError(f"started at {_time.monotonic():.6f}")


def train_model(model, data, n_epochs, lr, batch_size, generator=None):
    _time.sleep(1.0)
    raise RuntimeError(f"ended at {_time.monotonic():.6f}")
"""


def test_no_hidden_case_runs_while_a_public_check_is_timed():
    """The public training check sleeps a second; the hidden checks that do not train, in the
    other worker, start only after it returned (the time shown before the deadline covers
    the public checks only: it must not depend on what hidden cases make a submission do)."""
    result = grade_text("hw6", variant(HW, TIMED), seed=1, device="cpu", parallel=2)
    times = {c.check_id: float(re.search(r"at ([0-9.]+)", c.message).group(1))
             for c in result.checks if c.exercise in ("made_masks", "train_model")}
    public_end = max(t for i, t in times.items() if i.startswith("train_model/")
                     and next(c for c in result.checks if c.check_id == i).public)
    hidden_starts = [t for i, t in times.items() if i.startswith("made_masks/")
                     and not next(c for c in result.checks if c.check_id == i).public]
    assert hidden_starts and min(hidden_starts) > public_end, times
