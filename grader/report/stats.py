"""Class statistics of a batch: per check pass rate, discrimination and failure messages.

Checks are counted over the submissions whose module was imported and graded (status
``graded``): a module that did not import fails every check for one reason, shown in its
own table. Discrimination is the point-biserial correlation between passing the check
(0/1) and the rest of the score (the total less this check's points); it is undefined
(``None``) when everyone passes, everyone fails or the rest of the score does not vary.
Failure messages are grouped by template: numbers become ``#`` and runs of numbers
``#…``, so "expected 3.2, got 4" and "expected 1, got 0.5" count together.
"""
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .outdir import test_check, test_exercise

MAX_TEMPLATE_CHARS = 240
MAX_EXAMPLE_CHARS = 600
TOP_MESSAGES = 5
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


def check_statistics(submissions):
    """[CheckStats] in the order the checks first appear, over graded submissions."""
    graded = [s for s in submissions if s.status == "graded" and s.tests]
    order, info, outcomes = [], {}, {}
    for sub in graded:
        total = sum(t["score"] for t in sub.tests)
        for t in sub.tests:
            check = test_check(t)
            if check not in info:
                order.append(check)
                info[check] = (t["name"], test_exercise(t), t["max_score"])
                outcomes[check] = []
            outcomes[check].append((sub, t, total - t["score"]))
    stats = []
    for check in order:
        rows = outcomes[check]
        passed = [t.get("status") == "passed" for _, t, _ in rows]
        groups, examples = Counter(), {}
        for sub, t, _ in rows:
            if t.get("status") == "passed":
                continue
            message = failure_message(t["output"])
            key = template(message)
            groups[key] += 1
            examples.setdefault(key, (message[:MAX_EXAMPLE_CHARS], sub.key))
        name, exercise, top = info[check]
        stats.append(CheckStats(
            check=check, name=name, exercise=exercise, max_score=top, n=len(rows),
            passed=sum(passed),
            discrimination=point_biserial(passed, [rest for _, _, rest in rows]),
            messages=[MessageGroup(key, count, *examples[key])
                      for key, count in groups.most_common(TOP_MESSAGES)]))
    return stats


def status_counts(submissions):
    """{status: number of submissions}, most frequent first."""
    return dict(Counter(s.status for s in submissions).most_common())
