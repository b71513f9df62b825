"""The one grading path behind every face (terminal, Gradescope, batch, notebook).

config → checks → seeded cases → expected values on the trusted side → the
sandbox runs the student's code on plain inputs → judges compare → results.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import resource
import threading
import time
import traceback
from typing import Callable, Sequence

from . import public_data
from .checks.judges import Raised, info_of
from .checks.registry import Case, Check, with_device
from .compare.numeric import Verdict
from .devices import DEFAULT_DEVICE, DEVICES
from .homeworks import PROJECT_ROOT, Homework, load_checks, load_reference
from .results import CheckResult, GradeResult
from .sandbox import forkserver
from .sandbox.supervisor import Limits, Outcome, Program, Sandbox

GRADER_VERSION = "0.1.0"


class GraderError(Exception):
    """The grader itself could not grade (a bug or broken installation, not the submission)."""


def select(checks: Sequence[Check], only: Sequence[str]) -> list[Check]:
    """Checks whose id or exercise name is in ``only`` (all when ``only`` is empty)."""
    if not only:
        return checks
    wanted = set(only)
    chosen = [c for c in checks if c.id in wanted or c.exercise in wanted]
    unknown = wanted - {c.id for c in checks} - {c.exercise for c in checks}
    if unknown:
        known = ", ".join(sorted({c.exercise for c in checks}))
        raise GraderError(f"no check or exercise named {', '.join(sorted(unknown))}; "
                          f"exercises: {known}")
    return chosen


class _Expectations:
    """Cases and expected values for each check: frozen for public checks, reference otherwise.

    Shared by every submission graded with the same homework and seed in this process
    (``expectations_for``): a batch computes each expected value once, not once per
    student. Values are computed on first use or ahead of it (``prefetch``), one check at a
    time (reference code may use global random state), and never mutated.
    """

    def __init__(self, hw, seed):
        self.hw = hw
        self.seed = seed
        self._public = None
        self._reference = None
        self._slots = {}
        self._programs = {}
        self._lock = threading.Lock()          # guards _slots
        self._compute_lock = threading.Lock()  # one computation at a time

    def cases(self, check):
        """[(case, expected)] of ``check``; raises what computing them raised."""
        with self._lock:
            slot = self._slots.get(check.id)
            mine = slot is None
            if mine:
                slot = self._slots[check.id] = _Slot()
        if mine:
            try:
                with self._compute_lock:
                    slot.value = self._compute(check)
            except BaseException as exc:  # noqa: BLE001 - raised again to every caller
                slot.error = exc
            finally:
                slot.done.set()
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.value

    def program(self, check, case, device):
        """The steps of ``case`` on ``device``, serialized once for every submission."""
        key = (check.id, case.id, device)
        program = self._programs.get(key)
        if program is None:
            program = self._programs[key] = Program(with_device(check.steps(check, case), device))
        return program

    def prefetch(self, checks):
        """Compute the expected values of ``checks`` in order in a background thread, while
        the worker starts and runs the first ones (numpy releases the GIL; the grading thread
        mostly waits on the worker's pipe). Nothing to do (no thread) once all are known:
        every submission of a batch after the first."""
        with self._lock:
            if all(c.id in self._slots and self._slots[c.id].done.is_set() for c in checks):
                return

        def run():
            for check in checks:
                try:
                    self.cases(check)
                except Exception:  # noqa: BLE001 - the grading thread reports it
                    return
        threading.Thread(target=run, daemon=True, name="expected-values").start()

    def _compute(self, check):
        if check.public:
            if self._public is None:
                self._public = public_data.load(self.hw)
            if check.id not in self._public:
                raise public_data.StalePublicData(
                    f"public check {check.id} has no data: run `make public-data`")
            return self._public[check.id]
        if check.expected is None:
            return [(case, None) for case in check.make_cases(self.seed)]
        if self._reference is None:
            self._reference = load_reference(self.hw)
        return [(case, check.expected(self._reference, check, case))
                for case in check.make_cases(self.seed)]


class _Slot:
    """One check's expected values, or the error computing them raised, once ``done``."""

    def __init__(self):
        self.done = threading.Event()
        self.value = None
        self.error = None


_SHARED_EXPECTATIONS = {}
_SHARED_LOCK = threading.Lock()


def expectations_for(hw: Homework, seed: int) -> "_Expectations":
    """The shared ``_Expectations`` of (homework, seed); the last few are kept."""
    key = (hw.id, seed)
    with _SHARED_LOCK:
        if key not in _SHARED_EXPECTATIONS:
            while len(_SHARED_EXPECTATIONS) >= 4:
                _SHARED_EXPECTATIONS.pop(next(iter(_SHARED_EXPECTATIONS)))
            _SHARED_EXPECTATIONS[key] = _Expectations(hw, seed)
        return _SHARED_EXPECTATIONS[key]


def forget_expectations() -> None:
    """Drop the shared expected values (a long-lived process whose grading was interrupted
    must not reuse a computation that the interruption ended)."""
    with _SHARED_LOCK:
        _SHARED_EXPECTATIONS.clear()


class GradingInterrupted(Exception):
    """``interrupt_all()`` stopped the gradings in progress (a batch got Ctrl-C or SIGTERM)."""


_INTERRUPT = threading.Event()
_LIVE_SANDBOXES = set()
_LIVE_LOCK = threading.Lock()


def interrupt_all() -> None:
    """Stop every grading in progress in this process: kill their workers; each ``grade`` call
    then raises ``GradingInterrupted`` at its next check. ``resume_grading()`` undoes it."""
    _INTERRUPT.set()
    with _LIVE_LOCK:
        live = list(_LIVE_SANDBOXES)
    for sandbox in live:
        sandbox.interrupt()


def resume_grading() -> None:
    """Allow gradings again after ``interrupt_all()``."""
    _INTERRUPT.clear()


def _judge(check, case, outputs, expected):
    try:
        return check.judge(case, outputs, expected)
    except Exception as exc:  # a judge must never crash on odd plain data from a submission
        return Verdict.fail(f"the result could not be judged ({type(exc).__name__}: {exc}); "
                            "check its type and shape against the docstring")


Rerun = Callable[[Check, Case], str]


@dataclasses.dataclass(frozen=True)
class ModuleRequest:
    """What the engine grades: one module file of one homework, and how.

    ``module_path=None`` with ``unreadable`` (the reason) grades a submission that has
    no readable module: every check scores zero with that reason.
    ``rerun(check, case) -> str`` gives the command shown to replay a failure;
    ``hide`` lists paths the worker must not see (the project tree is always hidden).
    ``device`` (``auto``, ``cpu``, ``cuda``) is where checks that need torch run the
    submission's models (``resolve_device``); checks without torch ignore it.
    ``deadline`` (a ``time.monotonic()`` value): checks not started by then score zero
    with status ``timeout`` (a batch's budget per submission).
    ``progress(check)`` is called before each check, ``checked(result)`` after each one
    with the result so far (the Gradescope runtime writes partial results with it).
    ``display_name`` is how the submission is named in the result (default: the path).
    ``parallel``: how many workers may run the checks at the same time; which worker runs
    which check does not depend on it (``workers_for``). With more than one, ``progress``
    may be called from several threads and out of check order, and ``checked``
    (serialized) sees the results in order, as they complete.
    """
    homework: Homework
    module_path: str | None
    seed: int
    include_hidden: bool = True
    only: tuple[str, ...] = ()
    case_id: str | None = None
    hide: tuple[str, ...] = ()
    isolate: bool = True
    rerun: Rerun | None = None
    limits: Limits | None = None
    progress: Callable[[Check], None] | None = None
    unreadable: str = ""
    device: str = DEFAULT_DEVICE
    deadline: float | None = None
    checked: Callable[[GradeResult], None] | None = None
    display_name: str = ""
    parallel: int = 1


def prepare(hw: Homework) -> None:
    """Start ``hw``'s worker template now (its interpreter, imports and read-only root), so
    that it comes up while this process loads checks and computes expected values."""
    forkserver.prestart(hw.worker_preload)


def grade(request: ModuleRequest) -> GradeResult:
    """Grade one student module; returns a ``GradeResult`` (never raises for the submission's
    faults). Faces call ``grading.grade``, which finds the module and builds the request."""
    hw, source_path, seed = request.homework, request.module_path, request.seed
    if source_path is not None:
        prepare(hw)
    include_hidden, case_id, rerun = request.include_hidden, request.case_id, request.rerun
    deadline = request.deadline
    start = time.monotonic()
    checks = select(load_checks(hw, include_hidden), request.only)
    device = resolve_device(request.device, checks)
    limits = limits_for_device(request.limits or hw.limits, device)
    if deadline is not None:  # the budget also bounds a hanging import
        limits = dataclasses.replace(limits, import_seconds=max(
            1.0, min(limits.import_seconds, deadline - time.monotonic())))
    expectations = expectations_for(hw, seed)
    if source_path is not None:
        expectations.prefetch(checks)
    result = GradeResult(homework=hw.id, module=hw.module,
                         submission=request.display_name or str(source_path),
                         seed=seed, hidden_included=include_hidden,
                         grader_version=GRADER_VERSION)
    if source_path is None:
        imported = Outcome("import_failed", message=request.unreadable)
        result.import_status, result.import_message = imported.status, imported.message
        for check in checks:
            result.checks.append(_run_check(check, expectations, None, imported, case_id, rerun,
                                            device))
        result.seconds = time.monotonic() - start
        return result
    # two workers only where they are forks of a template (each fresh interpreter would import
    # torch again) on the CPU (each worker on a GPU would pay CUDA's start)
    plan = workers_for(checks, device == "cpu" and forkserver.enabled()
                       and _declares_training(hw, include_hidden))
    sandboxes = _Sandboxes(lambda warm: Sandbox(
        hw.module, source_path, limits=limits, hide=(PROJECT_ROOT,) + tuple(request.hide),
        isolate=request.isolate, preload=hw.worker_preload, warm=warm))
    runner = _Runner(checks, result, request, start, expectations, device)
    try:
        first = sandboxes.new(plan[0][0])
        result.protections = first.protections
        imported = first.start()
        result.import_status = imported.status
        result.import_message = imported.message
        result.import_output = imported.output
        result.import_where = imported.where
        if not imported.ok:  # every check says so; no other worker is started
            plan = [(first.warm, list(range(len(checks))))]
        runner.run(plan, [first] + [None] * (len(plan) - 1), sandboxes, imported,
                   concurrent=len(plan) > 1 and request.parallel > 1)
    finally:
        sandboxes.close_all()
    result.seconds = time.monotonic() - start
    return result


TRAINING_WORKERS = 2  # warm workers that share a homework's training checks


def workers_for(checks: Sequence[Check], declares_training: bool) -> list[tuple[bool, list[int]]]:
    """Which worker runs which checks: ``[(warm, check indices in order)]``, one entry per
    worker of the grading, the same whatever face grades and however many at a time.

    One warm worker (the template's warm stage: torch._dynamo imported, what training needs)
    runs every check in order, unless the homework marks its training checks
    (``declares_training``, ``Check.trains``; the engine passes False on a GPU and without
    templates). Then a worker of the template's first stage, forked as soon as torch is
    imported, runs the checks that do not train, and the training checks alternate between
    ``TRAINING_WORKERS`` warm workers (a single grading trains on two cores). Each worker
    runs its checks in their order, so what a check sees of the state that earlier calls
    left in its worker does not depend on timing nor on the face (only on the selection,
    as with ``--only``); the programs seed what they draw (``programs.seed_global``,
    generators).
    """
    everything = list(range(len(checks)))
    if not declares_training or not everything:
        return [(True, everything)]
    plain = [i for i in everything if not checks[i].trains]
    training = [i for i in everything if checks[i].trains]
    plan = [(False, plain)] + [(True, training[k::TRAINING_WORKERS])
                               for k in range(TRAINING_WORKERS)]
    return [(warm, indices) for warm, indices in plan if indices]


def _declares_training(hw: Homework, include_hidden: bool) -> bool:
    return any(c.trains for c in load_checks(hw, include_hidden))


class _Sandboxes:
    """The sandboxes of one grading (one per worker of ``workers_for``), registered for
    ``interrupt_all`` while they live."""

    def __init__(self, make):
        self._make = make
        self._open = []
        self._lock = threading.Lock()

    def new(self, warm):
        sandbox = self._make(warm)
        with self._lock:
            self._open.append(sandbox)
        with _LIVE_LOCK:
            _LIVE_SANDBOXES.add(sandbox)
        return sandbox

    def close(self, sandbox):
        with self._lock:
            if sandbox not in self._open:
                return
            self._open.remove(sandbox)
        try:
            sandbox.close()
        finally:
            with _LIVE_LOCK:
                _LIVE_SANDBOXES.discard(sandbox)

    def interrupt(self):
        with self._lock:
            live = list(self._open)
        for sandbox in live:
            sandbox.interrupt()

    def close_all(self):
        with self._lock:
            live = list(self._open)
        for sandbox in live:
            self.close(sandbox)


class _Runner:
    """Runs a grading's checks in the workers of ``workers_for`` and files each result at its
    place in ``result.checks``, in order."""

    def __init__(self, checks, result, request, start, expectations, device):
        self.checks = checks
        self.result = result
        self.request = request
        self.start = start
        self.expectations = expectations
        self.device = device
        self._done = [None] * len(checks)
        self._filed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._errors = []
        self._gate = None

    def run(self, plan, held, sandboxes, imported, concurrent):
        """Run the checks of ``plan``; ``held[k]``: worker k's sandbox (None until its first
        check; the first one has imported the module well).

        One at a time, the checks run in their order, each in its worker, started when its
        first check comes. With ``concurrent``, every worker starts at once (outside any
        check's time) and runs its checks in order in a thread of its own (the first one
        here), hidden checks never beside a public one (``_PublicFirst``). The first error
        of any worker is raised once all have stopped.
        """
        if not concurrent:
            worker_of = {i: k for k, (_, indices) in enumerate(plan) for i in indices}
            for index in range(len(self.checks)):
                k = worker_of[index]
                self._file(index, self._run_one(self.checks[index],
                                                self._sandbox(plan, held, k, sandboxes),
                                                imported))
                self._done_with(plan, held, k, index, sandboxes)
            return
        self._gate = _PublicFirst()
        if any(self.checks[i].public for i in plan[0][1]):
            self._gate.add_ready()  # the first worker is started: its public checks come first
        threads = [threading.Thread(target=self._worker, daemon=True, name="grading-worker",
                                    args=(plan, held, k, sandboxes, imported))
                   for k in range(1, len(plan))]
        for thread in threads:
            thread.start()
        self._worker(plan, held, 0, sandboxes, imported)
        while any(thread.is_alive() for thread in threads):
            try:
                for thread in threads:
                    thread.join()
            except BaseException as exc:  # noqa: BLE001 - Ctrl-C while waiting: stop them all
                self._failed(exc, sandboxes)
        if self._errors:
            raise self._errors[0]

    @staticmethod
    def _sandbox(plan, held, k, sandboxes):
        if held[k] is None:
            held[k] = sandboxes.new(plan[k][0])
        return held[k]

    def _worker(self, plan, held, k, sandboxes, imported):
        """Worker ``k``'s thread: start it now, then run its checks in order."""
        try:
            public = [i for i in plan[k][1] if self.checks[i].public]
            if k:
                sandbox = self._sandbox(plan, held, k, sandboxes)
                sandbox.start()
                if public:
                    self._gate.add_ready()
            sandbox = held[k]
            for index in plan[k][1]:
                check = self.checks[index]
                with self._gate.running(check.public):
                    if self._stop.is_set():
                        return
                    outcome = self._run_one(check, sandbox, imported)
                self._file(index, outcome)
                self._done_with(plan, held, k, index, sandboxes)
                if public and index == public[-1]:
                    self._gate.remove_ready()
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - raised again by run
            self._failed(exc, sandboxes)

    @staticmethod
    def _done_with(plan, held, k, index, sandboxes):
        """Stop worker ``k`` once it ran its last check (``index``): its memory goes at once."""
        if index == plan[k][1][-1]:
            sandboxes.close(held[k])

    def _failed(self, exc, sandboxes):
        """Keep ``exc`` for ``run`` and stop every worker: no check starts any more, and the
        calls in progress end at once (their workers are killed, no new one starts)."""
        with self._lock:
            self._errors.append(exc)
        self._stop.set()
        if self._gate is not None:
            self._gate.stop()
        sandboxes.interrupt()

    def _run_one(self, check, sandbox, imported):
        if _INTERRUPT.is_set():
            raise GradingInterrupted("grading was interrupted")
        request, deadline = self.request, self.request.deadline
        if request.progress:
            request.progress(check)
        if deadline is not None and time.monotonic() > deadline:
            return _out_of_time(check)
        if sandbox.import_outcome is None:  # a worker's first check: its start is no check's time
            sandbox.start()
        return _run_check(check, self.expectations, sandbox, imported, request.case_id,
                          request.rerun, self.device, deadline)

    def _file(self, index, check_result):
        with self._lock:
            self._done[index] = check_result
            filed = self._filed
            while self._filed < len(self._done) and self._done[self._filed] is not None:
                self.result.checks.append(self._done[self._filed])
                self._filed += 1
            if self._filed > filed and self.request.checked:
                self.result.seconds = time.monotonic() - self.start
                self.request.checked(self.result)


class _Stopped(Exception):
    """The grading stopped (another worker failed) while this one waited to run a check."""


class _PublicFirst:
    """Where a submission's workers run at the same time: no hidden case runs while a public
    check is timed, so the time shown before the deadline (public checks only) cannot
    depend on hidden inputs. A hidden check waits while a public one runs or while a
    started worker still has public checks to run; a public check waits for the hidden
    ones running to end. A worker still starting (waiting for the template's warm stage)
    holds nothing back: the other workers' hidden checks run meanwhile."""

    def __init__(self):
        self._changed = threading.Condition()
        self._ready = 0    # started workers that still have public checks to run
        self._public = 0   # public checks running
        self._hidden = 0   # hidden checks running
        self._stopped = False

    def add_ready(self):
        with self._changed:
            self._ready += 1

    def remove_ready(self):
        with self._changed:
            self._ready -= 1
            self._changed.notify_all()

    def stop(self):
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    @contextlib.contextmanager
    def running(self, public):
        """Hold a public (or hidden) check's turn while it runs; raises ``_Stopped``."""
        with self._changed:
            self._changed.wait_for(lambda: self._stopped or (
                self._hidden == 0 if public else self._public == 0 and self._ready == 0))
            if self._stopped:
                raise _Stopped
            if public:
                self._public += 1
            else:
                self._hidden += 1
        try:
            yield
        finally:
            with self._changed:
                if public:
                    self._public -= 1
                else:
                    self._hidden -= 1
                self._changed.notify_all()


def _new_result(check: Check) -> CheckResult:
    return CheckResult(check_id=check.id, exercise=check.exercise, title=check.title,
                       max_points=check.points, points=0.0, status="passed",
                       public=check.public, visibility=check.visibility)


def _out_of_time(check):
    res = _new_result(check)
    res.status = "timeout"
    res.message = ("not run: the submission used up its whole grading budget on earlier "
                   "checks (slow or hanging code)")
    return res


def _run_check(check, expectations, sandbox, imported, case_id, rerun, device="cpu",
               deadline=None):
    res = _new_result(check)
    started = time.monotonic()
    if not imported.ok:
        res.status = "import_failed"
        res.message = f"the module could not be imported: {imported.message}"
        return res
    if check.needs_torch and not torch_available():
        raise GraderError(f"check {check.id} needs torch on the grading side (the trusted "
                          "side only): install the project's [torch] extra")
    try:
        pairs = expectations.cases(check)
    except public_data.StalePublicData:
        raise
    except Exception as exc:
        raise GraderError(f"check {check.id} could not build its cases: "
                          f"{traceback.format_exc(limit=3)}") from exc
    if case_id is not None:
        pairs = [(c, e) for c, e in pairs if c.id == str(case_id)]
        if not pairs:
            raise GraderError(f"check {check.id} has no case {case_id!r}")
    res.n_cases = len(pairs)
    for case, expected in pairs:
        seconds = check.seconds
        if deadline is not None:  # never past the submission's budget
            seconds = max(0.5, min(seconds or sandbox.limits.call_seconds,
                                   deadline - time.monotonic()))
        outcome = sandbox.call(expectations.program(check, case, device), seconds=seconds)
        if outcome.ok or _judged_raise(check, outcome):
            outputs = outcome.results if outcome.ok else Raised(outcome.error_types,
                                                                 outcome.message)
            verdict = _judge(check, case, outputs, expected)
            if verdict.passed:
                continue
            res.status, res.message = "failed", verdict.message
        else:
            res.status, res.message, res.where = outcome.status, outcome.message, outcome.where
        res.failed_case, res.case_about = case.id, case.about
        res.output = outcome.output
        res.rerun = rerun(check, case) if rerun else ""
        break
    else:
        res.points = check.points
    res.seconds = time.monotonic() - started
    return res


def _judged_raise(check, outcome):
    """True when the case raised and the check's judge judges exceptions (``judges_exceptions``):
    the judge then gets a ``Raised`` instead of the outputs (e.g. hw5 requires ValueError)."""
    return outcome.status == "error" and info_of(check.judge).judges_exceptions


def resolve_device(requested: str, checks: Sequence[Check]) -> str:
    """The device string for ``--device``: ``auto`` is ``cuda`` when torch sees a GPU, else ``cpu``.

    Only checks marked ``needs_torch`` use a device. ``auto`` imports torch only where a
    GPU is possible (``cuda_probe.why_no_cuda``): on a machine without one it is ``cpu``
    at once, and the grader's own process never imports torch for it (the worker template
    does, once). ``cuda`` always asks torch, which has the last word.
    """
    if requested not in DEVICES:
        raise GraderError(f"unknown device {requested!r}; choose one of {', '.join(DEVICES)}")
    if requested == "cpu" or not any(c.needs_torch for c in checks):
        return "cpu"
    from .cuda_probe import why_no_cuda
    ruled_out = why_no_cuda()
    if ruled_out and requested == "auto":
        return "cpu"
    try:
        import torch
        available = torch.cuda.is_available()
    except ImportError:
        available = False
    if available:
        return "cuda"
    if requested == "cuda":
        raise GraderError("--device cuda: torch sees no CUDA device here"
                          + (f" ({ruled_out})" if ruled_out else "") + "; use --device cpu")
    return "cpu"


def limits_for_device(limits: Limits, device: str) -> Limits:
    """On CUDA, lift the address-space limit: the driver maps far more virtual memory than it uses.

    The GPU's own memory and the wall-clock limit per call then bound the submission.
    """
    if device == "cpu":
        return limits
    return dataclasses.replace(limits, memory_bytes=resource.RLIM_INFINITY)


def torch_available() -> bool:
    """Whether the trusted side can import torch (``needs_torch`` checks: hw3's autograd)."""
    import importlib.util
    return importlib.util.find_spec("torch") is not None
