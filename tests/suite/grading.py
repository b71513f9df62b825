"""Helpers for testing graded checks: grade a source text, build wrong variants."""
import os
import tempfile
import textwrap

from grader import engine, homeworks
from grader.homeworks import PROJECT_ROOT


def reference_source(hw):
    with open(os.path.join(PROJECT_ROOT, "solutions", hw.filename), encoding="utf-8") as fh:
        return fh.read()


def stub_source(hw):
    with open(os.path.join(PROJECT_ROOT, "assignments", hw.filename), encoding="utf-8") as fh:
        return fh.read()


def variant(hw, override):
    """The reference with some definitions replaced: ``override`` is appended, so it wins."""
    return reference_source(hw) + "\n\n# --- deliberately wrong variant ---\n" + \
        textwrap.dedent(override)


def grade_text(hw_id, source, *, seed=0, include_hidden=True, only=(), limits=None,
               device=engine.DEFAULT_DEVICE):
    """Grade a module given as text, through the real sandbox; returns the ``GradeResult``."""
    hw = homeworks.get(hw_id)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, hw.filename)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(source)
        return engine.grade(hw, path, seed=seed, include_hidden=include_hidden, only=only,
                            limits=limits, device=device)


def full_except(result, exercises):
    """True when every exercise not in ``exercises`` has full marks and those have zero."""
    for name, (got, best) in result.by_exercise().items():
        if name in exercises and got != 0:
            return False
        if name not in exercises and got != best:
            return False
    return True


def lost(result):
    """{check_id} of the checks that did not get full points."""
    return {c.check_id for c in result.checks if c.points < c.max_points}


def failures(result):
    """Readable summary of failed checks, for assertion messages."""
    return "\n".join(f"{c.check_id}: {c.status}: {c.message[:300]}" for c in result.checks
                     if not c.passed)
