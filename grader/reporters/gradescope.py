"""Gradescope's ``results.json`` from a ``GradeResult``.

Schema: top-level ``score``, ``output``, ``tests[]`` with ``name``, ``score``,
``max_score``, ``output``, ``visibility``, ``status``, ``tags`` (``[exercise]``) and
``extra_data`` (``{"check": id, "exercise": name, "status": the check's status}``): tools
read exercises from there, never from the display name. Public checks are
``visible``; hidden checks keep their declared visibility (``after_due_date``
by default), so their details appear only after the deadline.
"""
import dataclasses
import json
import os
import tempfile
import threading

from .escape import escape_control
from .terminal import render

VALID_VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")


def _test_output(c):
    return escape_control(_raw_test_output(c))


def _raw_test_output(c):
    if c.passed:
        return f"passed all {c.n_cases} case(s)"
    if c.status == "not_implemented":
        return "not implemented yet"
    if c.status == "import_failed":
        return c.message
    parts = [f"case {c.failed_case!r}" + (f" ({c.case_about})" if c.case_about else "")
             + f": {c.status}", c.message]
    if c.where.strip():
        parts.append("in your code:\n" + c.where.rstrip())
    if c.output.strip():
        parts.append("your code printed:\n" + c.output.rstrip())
    if c.rerun:
        parts.append(f"rerun this case: {c.rerun}")
    return "\n".join(parts)


def public_seconds(result):
    """Grading time of the public checks only: a time that includes hidden checks would
    let a submission read a hidden input back from it (sleep in proportion to a value)."""
    return sum(c.seconds for c in result.checks if c.public)


def to_gradescope(result):
    """The results.json document (a dict). Its visible time covers public checks only."""
    visible_time = public_seconds(result)
    summary = render(dataclasses.replace(result, seconds=visible_time),
                     show_hidden_details=False)
    header = (f"{result.homework} graded with seed {result.seed} "
              f"(regrade with --seed {result.seed}); grader {result.grader_version}\n"
              f"protections: {', '.join(result.protections)}\n")
    return {
        "score": result.score,
        "output": header + summary,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{
            "name": f"{c.exercise}: {c.title}" + ("" if c.public else " [hidden]"),
            "score": c.points,
            "max_score": c.max_points,
            "status": "passed" if c.passed else "failed",
            "output": _test_output(c),
            "visibility": c.visibility,
            "tags": [c.exercise],
            "extra_data": {"check": c.check_id, "exercise": c.exercise, "status": c.status},
        } for c in result.checks],
        "extra_data": {"seed": result.seed, "homework": result.homework,
                       "grader_version": result.grader_version,
                       "import_status": result.import_status,
                       "protections": list(result.protections),
                       "seconds": round(visible_time, 3)},
    }


_UMASK = []
_UMASK_LOCK = threading.Lock()


def _file_mode():
    """0666 less the process umask (read once): output files follow the umask like ``open``."""
    with _UMASK_LOCK:
        if not _UMASK:
            mask = os.umask(0o022)
            os.umask(mask)
            _UMASK.append(mask)
    return 0o666 & ~_UMASK[0]


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically (a temp file in the same folder, then rename);
    the file gets the mode ``open`` would give it (the umask applies)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json_atomic(path, document):
    """Write JSON to ``path`` atomically (see ``write_text_atomic``)."""
    write_text_atomic(path, json.dumps(document, indent=2, allow_nan=False) + "\n")
