"""Class statistics of a batch: per check pass rate, discrimination and failure messages.

Checks are counted over the submissions whose module was imported and graded (status
``graded``): a module that did not import fails every check for one reason, shown in its
own table. Discrimination is the point-biserial correlation between passing the check
(0/1) and the rest of the score (the total less this check's points); it is undefined
(``None``) when everyone passes, everyone fails or the rest of the score does not vary.
Failure messages are grouped by template: numbers become ``#`` and runs of numbers
``#…``, so "expected 3.2, got 4" and "expected 1, got 0.5" count together; a check
groups at most ``MAX_TEMPLATES`` templates (later new ones count together as
``OTHER_TEMPLATE``).

``CheckTally`` is fed one submission's tests at a time while OUTDIR is read and keeps
no student's tests: memory grows by a few bytes per submission and check.
"""
import re
from array import array
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .outdir import test_check, test_exercise

MAX_TEMPLATE_CHARS = 240
MAX_EXAMPLE_CHARS = 600
TOP_MESSAGES = 5
MAX_TEMPLATES = 500    # per check; later new templates count together as OTHER_TEMPLATE
OTHER_TEMPLATE = "(other messages: too many different ones to group)"
NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|\b(?:nan|inf)\b")
NUMBER_RUN = re.compile(r"#(?:[\s,;]+#)+")
TRAILERS = ("in your code:", "your code printed:", "rerun this case:")
CASE_LINE = re.compile(r"^case .*: (?P<status>[a-z_]+)$")


@dataclass
class MessageGroup:
    """Failures of one check that share a template: how many, and one full example."""
    template: str
    count: int
    example: str
    example_key: str


@dataclass
class CheckStats:
    """One check over the graded submissions."""
    check: str
    name: str
    exercise: str
    max_score: float
    n: int
    passed: int
    discrimination: float | None
    messages: list = field(default_factory=list)

    @property
    def pass_rate(self):
        """Share of the graded submissions that pass it (0 when there are none)."""
        return self.passed / self.n if self.n else 0.0

    @property
    def says_nothing(self):
        """Everyone passes or everyone fails: the check separates no one."""
        return self.n > 0 and self.passed in (0, self.n)


def failure_message(output):
    """The part of a failed test's output that says why, after the status of its case line
    (``failed``, ``error``, ``timeout``, …): no case id, trace, printed output or rerun."""
    lines, status = output.strip().splitlines(), ""
    if lines:
        head = CASE_LINE.match(lines[0])
        if head:
            status = head.group("status")
            lines = lines[1:]
    kept = []
    for line in lines:
        if line.startswith(TRAILERS):
            break
        kept.append(line.strip())
    text = " ".join(filter(None, kept))
    return f"{status}: {text}" if status and text else (text or status or "failed")


def template(message):
    """``message`` with its numbers stripped: the key that groups failures."""
    text = NUMBER_RUN.sub("#…", NUMBER.sub("#", message))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:MAX_TEMPLATE_CHARS] + ("…" if len(text) > MAX_TEMPLATE_CHARS else "")


def point_biserial(passed, rest):
    """Pearson correlation of 0/1 ``passed`` with ``rest`` (None when either is constant)."""
    x, y = np.asarray(passed, dtype=float), np.asarray(rest, dtype=float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


class _CheckTally:
    """One check's outcomes so far: per graded submission one byte (passed) and one float
    (the rest of its score), and its failures grouped by template."""

    def __init__(self, name, exercise, max_score):
        self.name, self.exercise, self.max_score = name, exercise, max_score
        self.passed, self.rest = array("b"), array("d")
        self.groups, self.examples = Counter(), {}

    def add(self, key, test, rest):
        passed = test.get("status") == "passed"
        self.passed.append(passed)
        self.rest.append(rest)
        if passed:
            return
        message = failure_message(test["output"])
        group = template(message)
        if group not in self.groups and len(self.groups) >= MAX_TEMPLATES:
            group = OTHER_TEMPLATE
        self.groups[group] += 1
        if group not in self.examples:
            self.examples[group] = (message[:MAX_EXAMPLE_CHARS], key)

    def statistics(self, check):
        return CheckStats(
            check=check, name=self.name, exercise=self.exercise, max_score=self.max_score,
            n=len(self.passed), passed=sum(self.passed),
            discrimination=point_biserial(np.frombuffer(self.passed, dtype=np.int8),
                                          np.frombuffer(self.rest, dtype=np.float64)),
            messages=[MessageGroup(group, count, *self.examples[group])
                      for group, count in self.groups.most_common(TOP_MESSAGES)])


class CheckTally:
    """The class's check statistics, fed one submission at a time (``add``) so that no
    student's tests are kept: per check a pass flag and the rest of the score of each graded
    submission (9 bytes) and its failure-message groups."""

    def __init__(self):
        self._checks = {}     # check id -> _CheckTally, in the order checks first appear
        self.n_graded = 0     # submissions counted: status ``graded`` with tests

    def add(self, key, status, tests):
        """Count the ``tests`` (results.json tests, as ``outdir`` cleans them) of submission
        ``key``; only a ``graded`` submission with tests counts."""
        if status != "graded" or not tests:
            return
        self.n_graded += 1
        total = sum(t["score"] for t in tests)
        for t in tests:
            check = test_check(t)
            tally = self._checks.get(check)
            if tally is None:
                tally = self._checks[check] = _CheckTally(t["name"], test_exercise(t),
                                                          t["max_score"])
            tally.add(key, t, total - t["score"])

    def statistics(self):
        """[CheckStats] in the order the checks first appeared."""
        return [tally.statistics(check) for check, tally in self._checks.items()]


def status_counts(submissions):
    """{status: number of submissions}, most frequent first."""
    return dict(Counter(s.status for s in submissions).most_common())
