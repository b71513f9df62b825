"""Helpers for testing graded checks: grade a source text, build wrong variants."""
import os
import tempfile
import textwrap

from grader import engine, homeworks
from grader.grading import GradeRequest, grade
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
               device=engine.DEFAULT_DEVICE, parallel=1, checked=None):
    """Grade a module given as text, through the path every face uses (``grading.grade``)
    and the real sandbox; returns the engine's ``GradeResult``. ``parallel``: workers at a
    time (``engine.lanes_for``); ``checked``: called with the result after each check."""
    hw = homeworks.get(hw_id)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, hw.filename)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(source)
        return grade(GradeRequest(homework=hw, submission=path, seed=seed,
                                  include_hidden=include_hidden, only=tuple(only),
                                  limits=limits, device=device, parallel=parallel,
                                  checked=checked)).result


def notebook_text(source):
    """A minimal .ipynb (JSON text) whose one code cell holds ``source``, after a magic line
    that grading drops, and a markdown cell before it."""
    import json
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# my homework"},
             {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
              "source": "%matplotlib inline\n" + source}]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


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


# --- shared assertions of the per-homework test files ------------------------------------------

def assert_reference_full_marks(hw_id, seed):
    """The reference solution imports and scores every point with this seed."""
    result = grade_text(hw_id, reference_source(homeworks.get(hw_id)), seed=seed)
    assert result.import_status == "ok"
    assert result.score == result.max_score, failures(result)
    return result


def assert_stubs_not_implemented(hw_id, exercises, seed=5):
    """The untouched stubs score 0, every check saying "not implemented", over ``exercises``."""
    result = grade_text(hw_id, stub_source(homeworks.get(hw_id)), seed=seed)
    assert result.score == 0
    assert {c.status for c in result.checks} == {"not_implemented"}
    assert {c.exercise for c in result.checks} == set(exercises)


def assert_public_and_hidden_points(result):
    """Every exercise of a graded result has both public and hidden checks, all with points."""
    for exercise in {c.exercise for c in result.checks}:
        mine = [c for c in result.checks if c.exercise == exercise]
        assert any(c.public for c in mine) and any(not c.public for c in mine), exercise
        assert all(c.max_points > 0 for c in mine)


def assert_full_marks_without_torch(hw_id, seed):
    """The worker never needs torch: the reference, made unable to import it, still scores every
    point (homeworks whose torch use is only on the trusted side: autograd judges)."""
    guard = ("import sys\n"
             "class _NoTorch:\n"
             "    def find_spec(self, name, path=None, target=None):\n"
             "        if name == 'torch' or name.startswith('torch.'):\n"
             "            raise ImportError('torch is not available to students')\n"
             "sys.meta_path.insert(0, _NoTorch())\n")
    result = grade_text(hw_id, guard + reference_source(homeworks.get(hw_id)), seed=seed)
    assert result.score == result.max_score, failures(result)


def student_check_imports_torch(hw_id):
    """Whether ``python -m grader check HW`` (the student's public checks) imports torch."""
    import subprocess
    import sys
    code = ("import sys, io, contextlib\n"
            "from grader.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    main(['check', '{hw_id}'])\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip() == "True"


def assert_variant_loses(hw_id, override, expected_lost, seed):
    """The reference with ``override`` appended loses exactly the checks ``expected_lost``."""
    result = grade_text(hw_id, variant(homeworks.get(hw_id), override), seed=seed)
    assert lost(result) == expected_lost, failures(result)


def assert_variant_ids_exist(hw_id, variants):
    """Every check id named by a ``{name: (override, expected_lost)}`` table exists."""
    ids = {c.check_id for c in grade_text(hw_id, stub_source(homeworks.get(hw_id))).checks}
    for name, (_, expected) in variants.items():
        assert expected <= ids, name
