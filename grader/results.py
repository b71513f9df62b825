"""Grading results as plain data. Reporters turn them into text, JSON or CSV."""
import enum
from dataclasses import asdict, dataclass, field


class Status(str, enum.Enum):
    """What happened to one submission: the word in grades.csv, results.json
    (``extra_data.status``) and the batch summary.

    ``graded``: every check ran. ``timeout``: some checks (or the import) ran out of
    time and scored zero. ``import_failed``: the module did not import. ``no_module``: no
    gradable module (missing, misnamed, a link, a FIFO, too large...; the reason says
    which). ``grader_error`` / ``grader_timeout``: the grader itself failed or was stopped
    (no grade; rerun the batch).
    """
    GRADED = "graded"
    TIMEOUT = "timeout"
    IMPORT_FAILED = "import_failed"
    NO_MODULE = "no_module"
    GRADER_ERROR = "grader_error"
    GRADER_TIMEOUT = "grader_timeout"

    def __str__(self):
        return self.value

    @property
    def has_grade(self) -> bool:
        """True when the submission received a score (possibly zero)."""
        return self not in (Status.GRADER_ERROR, Status.GRADER_TIMEOUT)


@dataclass
class CheckResult:
    """The outcome of one check for one submission."""
    check_id: str
    exercise: str
    title: str
    max_points: float
    points: float
    status: str                # passed, failed, not_implemented, error, timeout, crashed, memory, ...
    public: bool
    visibility: str
    n_cases: int = 0
    failed_case: str = ""      # id of the first failing case
    case_about: str = ""
    message: str = ""          # why it failed, in teaching form
    where: str = ""            # student-code traceback lines, if any
    output: str = ""           # captured stdout/stderr of the failing call (clipped)
    rerun: str = ""            # the command that reruns exactly the failing case
    seconds: float = 0.0

    @property
    def passed(self):
        return self.status == "passed"


@dataclass
class GradeResult:
    """All checks of one homework for one submission, with what is needed to reproduce them."""
    homework: str
    module: str
    submission: str
    seed: int
    hidden_included: bool
    checks: list = field(default_factory=list)
    import_status: str = "ok"
    import_message: str = ""
    import_output: str = ""
    import_where: str = ""     # student-code traceback lines of an import failure, if any
    protections: tuple = ()
    seconds: float = 0.0
    grader_version: str = ""

    @property
    def score(self):
        return round(sum(c.points for c in self.checks), 6)

    @property
    def max_score(self):
        return round(sum(c.max_points for c in self.checks), 6)

    def by_exercise(self):
        """{exercise: (points, max_points)} in check order."""
        totals = {}
        for c in self.checks:
            got, best = totals.get(c.exercise, (0.0, 0.0))
            totals[c.exercise] = (got + c.points, best + c.max_points)
        return totals

    def to_dict(self):
        data = asdict(self)
        data["score"] = self.score
        data["max_score"] = self.max_score
        return data
