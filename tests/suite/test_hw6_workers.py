"""HW6 graded by three workers: the checks that train in two workers of the template's warm
stage (torch._dynamo imported), the others in a worker forked before that import, at the same
time in a single grading (``engine.workers_for``). The results are those of grading one check
at a time, whatever the number of workers running at once."""
import dataclasses
import json
import os
import re
import sys

import pytest

from grader import engine, homeworks
from grader.sandbox import forkserver
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


def test_one_worker_runs_what_does_not_train_and_two_share_what_trains():
    checks = _checks()
    plan = engine.workers_for(checks, True)
    assert [warm for warm, _ in plan] == [False, True, True]
    (_, plain), (_, first), (_, second) = plan
    assert sorted(plain + first + second) == list(range(len(checks)))
    assert all(indices == sorted(indices) for _, indices in plan)  # each in check order
    training = sorted(first + second)
    assert {checks[i].id for i in training} == {c.id for c in checks if c.trains}
    assert first == training[0::2] and second == training[1::2]
    only_masks = [c for c in checks if c.exercise == "made_masks"]
    assert engine.workers_for(only_masks, True) == [(False, list(range(len(only_masks))))]
    # a homework that marks no training check: one warm worker, every check in order
    assert engine.workers_for(checks, False) == [(True, list(range(len(checks))))]
    hw1 = homeworks.load_checks(homeworks.get("hw1"), True)
    assert not any(c.trains for c in hw1)


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
    raise RuntimeError(f"ran from {_time.monotonic():.6f} to {_time.monotonic():.6f}")


def train_model(model, data, n_epochs, lr, batch_size, generator=None):
    start = _time.monotonic()
    _time.sleep(1.0)
    raise RuntimeError(f"ran from {start:.6f} to {_time.monotonic():.6f}")
"""


def test_no_hidden_case_runs_while_a_public_check_is_timed():
    """The public training check sleeps a second in its worker; the hidden checks of the
    worker that does not train, which would be reached meanwhile, wait for it to end (the
    time shown before the deadline covers the public checks only: it must not depend on what
    hidden cases make a submission do)."""
    forkserver.server_for(sys.executable, HW.worker_preload, forkserver.base_env(),
                          forkserver.template_files()).warm_ready()  # every worker at once
    result = grade_text("hw6", variant(HW, TIMED), seed=1, device="cpu", parallel=2)
    spans = {c.check_id: (c.public, tuple(map(float, re.search(r"ran from ([0-9.]+) to "
                                                               r"([0-9.]+)", c.message).groups())))
             for c in result.checks if c.exercise in ("made_masks", "train_model")}
    public = [span for is_public, span in spans.values() if is_public]
    hidden = [span for is_public, span in spans.values() if not is_public]
    assert any(end - start >= 1.0 for start, end in public) and hidden, spans
    for start, end in hidden:
        assert all(end < p_start or start > p_end for p_start, p_end in public), spans
