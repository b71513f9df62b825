"""Declaring graded checks: cases, expected values, judges, points, visibility.

A check file (``tests/public/hwN_topic.py`` or ``tests/hidden/hwN_topic.py``)
builds one ``CheckSet`` and declares each check with a decorator on its case
generator::

    checks = CheckSet("hw1")

    @checks.add("gaussian_marginal", "unordered index lists", points=1,
                judge=close_pair(("mu_a", "Sigma_a")))
    def _(rng):
        mu, Sigma = random_gaussian(rng, 5)
        yield Case("idx=[3, 0]", args=(mu, Sigma, [3, 0]))

The body only generates cases. By default each case calls the exercise once
with ``args``/``kwargs``, the expected value is the reference solution's answer
to the same inputs (computed on the trusted side, never sent to the worker),
and ``judge(case, outputs, expected)`` returns a ``Verdict``. ``expected=None``
marks a reference-free check (a property or a statistical test); ``steps``
replaces the single call with a short program (several calls, saved objects).
"""
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..sandbox import callables
from . import programs

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


@dataclass(frozen=True)
class Case:
    """One input to one check. ``id`` is unique within its check; ``about`` says what it covers."""
    id: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    about: str = ""
    data: Any = None  # trusted-side extras for the judge (never sent to the worker)


def reference_answer(reference, check, case):
    """The default expected value: the reference function applied to the case's inputs."""
    args, kwargs = live_copy(case.args), live_copy(case.kwargs)
    return getattr(reference, check.exercise)(*args, **kwargs)


def live_copy(value):
    """A deep copy of plain case data, with argument markers made live (trusted side)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [live_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(live_copy(v) for v in value)
    if isinstance(value, dict):
        if "$rng" in value:
            return np.random.default_rng(int(value["$rng"]))
        if "$fn" in value:  # the same helper function the worker builds (sandbox/callables.py)
            return callables.make(value["$fn"], live_copy(value.get("kw", {})))
        return {k: live_copy(v) for k, v in value.items()}
    return value


def single_call(check, case):
    """The default program of a case: one call of the exercise."""
    return [programs.call(check.exercise, *case.args, **case.kwargs)]


@dataclass(frozen=True)
class Check:
    """A graded check. ``id`` is ``exercise/slug``; points go all-or-nothing over its cases."""
    id: str
    exercise: str
    title: str
    points: float
    public: bool
    cases: Callable
    judge: Callable
    expected: Any = reference_answer
    steps: Callable = single_call
    seconds: float | None = None   # time limit per case (callclock.py); None: the homework's
    visibility: str = "visible"
    needs_torch: bool = False
    # Its cases train a model with torch's optimizers, whose first step imports torch._dynamo:
    # in a homework that marks its training checks, they run in a worker of the template's
    # warm stage (``zygote.WARM_MODULES``), the others in a worker forked before that import,
    # at the same time in a single grading (``engine.workers_for``).
    trains: bool = False

    def seed(self, base_seed):
        """The seed of this check's case generator: fixed for public checks, derived otherwise."""
        salt = zlib.crc32(self.id.encode())
        return salt if self.public else (int(base_seed) + salt) % (1 << 63)

    def make_cases(self, base_seed):
        """The list of cases for a run with ``base_seed`` (same seed, same cases)."""
        rng = np.random.default_rng(self.seed(base_seed))
        cases = list(self.cases(rng))
        ids = [c.id for c in cases]
        if len(set(ids)) != len(ids):
            raise ValueError(f"check {self.id}: duplicate case ids {ids}")
        return cases


def slug(text):
    keep = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    return "-".join(part for part in keep.split("-") if part)


class CheckSet:
    """The checks of one homework file, in declaration order."""

    def __init__(self, homework, *, public):
        self.homework = homework
        self.public = public
        self.checks = []

    def add(self, exercise, title, *, points, judge, expected=reference_answer,
            steps=single_call, seconds=None, visibility=None, needs_torch=False, trains=False):
        """Decorator: declare the check whose case generator is the decorated function."""
        if points <= 0:
            raise ValueError("every check carries points")
        visibility = visibility or ("visible" if self.public else "after_due_date")
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}")

        def register(generator):
            check = Check(id=f"{exercise}/{slug(title)}", exercise=exercise, title=title,
                          points=float(points), public=self.public, cases=generator,
                          judge=judge, expected=expected, steps=steps, seconds=seconds,
                          visibility=visibility, needs_torch=needs_torch, trains=trains)
            if any(c.id == check.id for c in self.checks):
                raise ValueError(f"duplicate check id {check.id}")
            self.checks.append(check)
            return generator

        return register


def from_case_data(reference, check, case):
    """An ``expected=`` hook for closed-form answers: ``case.data["expected"]``, no reference.

    Identity checks (KL of a distribution with itself is 0, H(uniform) = log K)
    store the known answer with the case; the judge then compares as usual.
    """
    return case.data["expected"]


# --- devices (hw6: models graded on the CPU or a GPU) ---------------------------------------

DEVICE = {"$device": "grading"}  # in a program: the device this run grades on ("cpu", "cuda")


def with_device(value, device):
    """A copy of a program (or any plain value) with every ``DEVICE`` marker replaced by ``device``.

    Resolved on the trusted side before the program is sent: the worker never
    sees the marker, only the device string, e.g. ``{"$tensor": ..., "device": "cuda"}``.
    """
    if isinstance(value, dict):
        if value == DEVICE:
            return device
        return {k: with_device(v, device) for k, v in value.items()}
    if isinstance(value, list):
        return [with_device(v, device) for v in value]
    if isinstance(value, tuple):
        return tuple(with_device(v, device) for v in value)
    return value


def reproducibility_program(check, case):
    """A program for sampling exercises: call twice with equal seeds (the global seeds differ
    between the calls), then once with another seed; the rng is the last argument."""
    seed = case.data["seed"]
    args = list(case.args)
    return [programs.seed_global(1), programs.call(check.exercise, *args, programs.rng(seed)),
            programs.seed_global(2), programs.call(check.exercise, *args, programs.rng(seed)),
            programs.call(check.exercise, *args, programs.rng(seed + 1))]
