"""The one grading path behind every face (terminal, Gradescope, batch, notebook).

config → checks → seeded cases → expected values on the trusted side → the
sandbox runs the student's code on plain inputs → judges compare → results.
"""
import dataclasses
import resource
import time
import traceback

from . import public_data
from .checks.registry import with_device
from .compare.numeric import Verdict
from .homeworks import PROJECT_ROOT, load_checks, load_reference
from .results import CheckResult, GradeResult
from .checks.judges import Raised
from .sandbox.supervisor import Outcome, Sandbox

GRADER_VERSION = "0.1.0"
DEVICES = ("auto", "cpu", "cuda")
DEFAULT_DEVICE = "auto"


class GraderError(Exception):
    """The grader itself could not grade (a bug or broken installation, not the submission)."""


def select(checks, only):
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
    """Cases and expected values for each check: frozen for public checks, reference otherwise."""

    def __init__(self, hw, seed):
        self.hw = hw
        self.seed = seed
        self._public = None
        self._reference = None

    def cases(self, check):
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


def _judge(check, case, outputs, expected):
    try:
        return check.judge(case, outputs, expected)
    except Exception as exc:  # a judge must never crash on odd plain data from a submission
        return Verdict.fail(f"the result could not be judged ({type(exc).__name__}: {exc}); "
                            "check its type and shape against the docstring")


def grade(hw, source_path, *, seed, include_hidden, only=(), case_id=None, hide=(),
          isolate=True, rerun=None, limits=None, progress=None, unreadable="",
          device=DEFAULT_DEVICE):
    """Grade one student module; returns a ``GradeResult`` (never raises for the submission's faults).

    ``rerun(check, case) -> str`` gives the command shown to replay a failure;
    ``hide`` lists paths the worker must not see (the project tree is always hidden).
    ``source_path=None`` with ``unreadable`` (the reason) grades a submission that has
    no readable module: every check scores zero with that reason.
    ``device`` (``auto``, ``cpu``, ``cuda``) is where checks that need torch run the
    submission's models (``resolve_device``); checks without torch ignore it.
    """
    start = time.monotonic()
    checks = select(load_checks(hw, include_hidden), only)
    device = resolve_device(device, checks)
    limits = limits_for_device(limits or hw.limits, device)
    expectations = _Expectations(hw, seed)
    result = GradeResult(homework=hw.id, module=hw.module, submission=str(source_path),
                         seed=seed, hidden_included=include_hidden,
                         grader_version=GRADER_VERSION)
    if source_path is None:
        imported = Outcome("import_failed", message=unreadable)
        result.import_status, result.import_message = imported.status, imported.message
        for check in checks:
            result.checks.append(_run_check(check, expectations, None, imported, case_id, rerun,
                                            device))
        result.seconds = time.monotonic() - start
        return result
    sandbox = Sandbox(hw.module, source_path, limits=limits,
                      hide=(PROJECT_ROOT,) + tuple(hide), isolate=isolate,
                      preload=hw.worker_preload)
    with sandbox:
        result.protections = sandbox.protections
        imported = sandbox.start()
        result.import_status = imported.status
        result.import_message = imported.message
        result.import_output = imported.output
        result.import_where = imported.where
        for check in checks:
            if progress:
                progress(check)
            result.checks.append(_run_check(check, expectations, sandbox, imported, case_id,
                                            rerun, device))
    result.seconds = time.monotonic() - start
    return result


def _run_check(check, expectations, sandbox, imported, case_id, rerun, device="cpu"):
    res = CheckResult(check_id=check.id, exercise=check.exercise, title=check.title,
                      max_points=check.points, points=0.0, status="passed",
                      public=check.public, visibility=check.visibility)
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
        outcome = sandbox.call(with_device(check.steps(check, case), device),
                               seconds=check.seconds)
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
    return outcome.status == "error" and getattr(check.judge, "judges_exceptions", False)


def resolve_device(requested, checks):
    """The device string for ``--device``: ``auto`` is ``cuda`` when torch sees a GPU, else ``cpu``.

    Only checks marked ``needs_torch`` use a device, so torch is imported only for them.
    """
    if requested not in DEVICES:
        raise GraderError(f"unknown device {requested!r}; choose one of {', '.join(DEVICES)}")
    if requested == "cpu" or not any(c.needs_torch for c in checks):
        return "cpu"
    try:
        import torch
        available = torch.cuda.is_available()
    except ImportError:
        available = False
    if available:
        return "cuda"
    if requested == "cuda":
        raise GraderError("--device cuda: torch sees no CUDA device here; use --device cpu")
    return "cpu"


def limits_for_device(limits, device):
    """On CUDA, lift the address-space limit: the driver maps far more virtual memory than it uses.

    The GPU's own memory and the wall-clock limit per call then bound the submission.
    """
    if device == "cpu":
        return limits
    return dataclasses.replace(limits, memory_bytes=resource.RLIM_INFINITY)


def torch_available():
    """Whether the trusted side can import torch (``needs_torch`` checks: hw3's autograd)."""
    import importlib.util
    return importlib.util.find_spec("torch") is not None
