"""Grading one submission: one request in, one result out, for every face.

``check``, ``grade``, ``demo``, ``batch`` (every executor), the notebook API and the
Gradescope runtime build a ``GradeRequest`` and call ``grade``: the submission is
resolved by ``intake`` (the course spec's rule for which file is graded), each module
text is graded by the engine from a private copy, notebook line references are
rewritten as code cells, and the outcome gets its ``Status``. Nothing here prints.

Imports flow one way: faces → grading → engine → sandbox.
"""
from __future__ import annotations

import dataclasses
import os
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from . import engine
from .checks.registry import Case, Check
from .homeworks import Homework, load_checks
from .intake import Candidate, Intake, resolve
from .reporters.gradescope import to_gradescope
from .results import GradeResult, Status
from .sandbox.limits import Limits

REPLAY_STYLES = ("grade", "check", "notebook", "gradescope")
IMPORT_ALLOWANCE_SECONDS = 60.0  # a batch budget: startup and import, beyond the checks


@dataclass(frozen=True)
class Replay:
    """How the "rerun this case" commands of a result are worded.

    ``grade``: ``python -m grader grade HW TARGET --seed S --only ID --case C`` (TARGET
    defaults to the submission); ``check``: ``make check HW=… ONLY=… CASE=…``;
    ``notebook``: ``grader.check('id', case='c')``; ``gradescope``: ``make check`` for a
    public check, the course staff's ``grade`` command for a hidden one.
    """
    style: str = "grade"
    target: str = ""

    def __post_init__(self):
        if self.style not in REPLAY_STYLES:
            raise ValueError(f"replay style must be one of {REPLAY_STYLES}")

    def hint(self, hw: Homework, seed: int, target: str) -> Callable[[Check, Case], str]:
        """``hint(check, case) -> command`` for results graded with ``seed``."""
        target = self.target or target

        def make_check(check, case):
            return f"make check HW={hw.id} ONLY={check.id} CASE={quote(case.id)}"

        def staff(check, case, path):
            return (f"python -m grader grade {hw.id} {quote(path)} --seed {seed} "
                    f"--only {check.id} --case {quote(case.id)}")

        if self.style == "check":
            return make_check
        if self.style == "notebook":
            return lambda check, case: f"grader.check({check.id!r}, case={case.id!r})"
        if self.style == "gradescope":
            return lambda check, case: (make_check(check, case) if check.public else
                                        "(course staff) " + staff(check, case, hw.filename))
        return lambda check, case: staff(check, case, target)


def quote(text) -> str:
    """``text`` quoted for a POSIX shell."""
    return shlex.quote(str(text))


@dataclass(frozen=True)
class GradeRequest:
    """Everything that decides one grading.

    ``submission``: a folder, a ``.py`` or a ``.ipynb`` file (resolved by ``intake``).
    ``only``: check ids or exercise names (all when empty); ``case_id``: one case of the
    one check in ``only``. ``budget_seconds``: wall clock for the whole submission (checks
    not started in time score zero as ``timeout``). ``hide``: folders the student's code
    must not see. ``display_name``: how the submission is named in the result (default:
    ``submission``). ``checked(result)``: called after each check with the result so far.
    ``problem``: the submission is already known to be ungradable (a batch found a link or
    a bad metadata key): nothing is read, every check scores zero with this reason.
    ``parallel``: how many of its workers may run at a time (``engine.workers_for``: which
    worker runs which check does not depend on it): a single grading uses the machine's
    cores; a batch, whose jobs already do, keeps 1.
    """
    homework: Homework
    submission: str
    seed: int
    include_hidden: bool = True
    only: tuple[str, ...] = ()
    case_id: str | None = None
    device: str = engine.DEFAULT_DEVICE
    limits: Limits | None = None
    budget_seconds: float | None = None
    hide: tuple[str, ...] = ()
    display_name: str = ""
    replay: Replay = Replay()
    checked: Callable[[GradeResult], None] | None = None
    problem: str = ""
    parallel: int = 1


@dataclass(frozen=True)
class Graded:
    """The result of a ``GradeRequest``: the engine's ``GradeResult`` (the higher-scoring one
    when two files were graded), ``notes`` for the feedback, ``graded_file`` (where the graded
    file was in the submission; empty when none), its ``Status`` and the ``reason``."""
    request: GradeRequest
    result: GradeResult
    notes: tuple[str, ...]
    graded_file: str
    status: Status
    reason: str

    def document(self) -> dict:
        """The Gradescope ``results.json`` document, with the file graded, notes and status."""
        doc = to_gradescope(self.result)
        named = f"Graded file: {self.graded_file}\n" if self.graded_file else ""
        doc["output"] = named + doc["output"]
        if self.notes:
            doc["output"] += "\nNotes: " + "; ".join(self.notes) + "\n"
        doc["extra_data"].update(status=self.status.value, reason=self.reason,
                                 graded_file=self.graded_file,
                                 submission=self.result.submission)
        return doc


def grade(request: GradeRequest) -> Graded:
    """Grade ``request.submission``; never raises for the submission's faults.

    Raises ``FileNotFoundError`` when the submission does not exist, and the engine's
    ``GraderError`` when the grader cannot grade at all.
    """
    hw = request.homework
    engine.prepare(hw)
    intake = Intake(problem=request.problem) if request.problem else \
        resolve(hw, request.submission)
    deadline = (None if request.budget_seconds is None
                else time.monotonic() + request.budget_seconds)
    display = request.display_name or request.submission
    rerun = request.replay.hint(hw, request.seed, request.submission)
    base = engine.ModuleRequest(
        homework=hw, module_path=None, seed=request.seed, include_hidden=request.include_hidden,
        only=tuple(request.only), case_id=request.case_id, hide=tuple(request.hide),
        rerun=rerun, limits=request.limits, device=request.device, deadline=deadline,
        checked=request.checked, display_name=display, parallel=request.parallel)
    if not intake.candidates:
        result = engine.grade(dataclasses.replace(base, unreadable=intake.problem))
        return Graded(request, result, intake.notes, "", Status.NO_MODULE, intake.problem)
    graded = [(_grade_candidate(base, hw, c), c) for c in intake.candidates]
    result, chosen = max(graded, key=lambda pair: pair[0].score)  # first wins a tie
    notes = list(intake.notes) + [note for c in intake.candidates for note in c.module.notes]
    if len(graded) == 2:
        scores = ", ".join(f"{c.relpath} scored {r.score:g}/{r.max_score:g}" for r, c in graded)
        notes.append(f"both {graded[0][1].name} and {graded[1][1].name} differ from the stub: "
                     f"both were graded ({scores}); the higher score stands")
    status, reason = submission_status(result)
    return Graded(request, result, tuple(notes), chosen.relpath, status, reason)


def _grade_candidate(base: engine.ModuleRequest, hw: Homework, candidate: Candidate) -> GradeResult:
    """Grade one module text from a private copy (deleted afterwards)."""
    private = tempfile.mkdtemp(prefix="grader-module-")
    try:
        path = os.path.join(private, hw.filename)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(candidate.module.source)
        result = engine.grade(dataclasses.replace(base, module_path=path))
    finally:
        shutil.rmtree(private, ignore_errors=True)
    return candidate.module.explain(result, hw.filename)


def submission_status(result: GradeResult) -> tuple[Status, str]:
    """(``Status``, reason) of a graded result that had a module."""
    if result.import_status == "timeout":
        return Status.TIMEOUT, f"the import ran out of time: {_first_line(result.import_message)}"
    if result.import_status != "ok":
        return Status.IMPORT_FAILED, _first_line(result.import_message) or result.import_status
    timed = [c for c in result.checks if c.status == "timeout"]
    if timed:
        names = ", ".join(c.check_id for c in timed[:3]) + (", …" if len(timed) > 3 else "")
        return Status.TIMEOUT, (f"{len(timed)} of {len(result.checks)} checks ran out of time "
                                f"and scored zero ({names})")
    return Status.GRADED, ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else ""


def budget_seconds(hw: Homework, checks: Sequence[Check]) -> float:
    """A wall-clock budget no honest submission reaches: import, then every check at its limit."""
    per_check = [c.seconds or hw.limits.call_seconds for c in checks]
    return IMPORT_ALLOWANCE_SECONDS + 2 * hw.limits.import_seconds + 3 * sum(per_check)


def requires_torch(hw: Homework) -> bool:
    """Whether grading ``hw`` needs torch (the one place this rule lives): the homework says
    so, its worker preloads it, or a check (public or hidden) uses it on the trusted side
    (hw3's autograd judges)."""
    return bool(hw.needs_torch or "torch" in hw.worker_preload
                or any(c.needs_torch for c in load_checks(hw, include_hidden=True)))
