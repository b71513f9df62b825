"""What a batch left in OUTDIR, read back as plain data (the report's only input).

A batch writes ``grades.csv`` and ``batch.json`` at the top of OUTDIR and, per
submission, ``results.json`` and ``feedback.md`` (or ``error.json`` when it could not be
graded) under ``OUTDIR/students/<key>/``. Every file here is treated as untrusted: keys
must be plain folder names, links are never followed, files are size-capped, and a broken
file costs only its own student's details. The results.json files are read one at a time
and not kept (``load``'s ``on_tests``), so a class costs a few values per student.
"""
import csv
import json
import os
import re
import stat
import sys
from dataclasses import dataclass, field

from ..reporters import gradebook

STUDENTS_DIR = "students"
MAX_JSON_BYTES = 16 << 20
MAX_CSV_BYTES = 64 << 20
KEY = re.compile(r"[A-Za-z0-9@_-][A-Za-z0-9._@-]{0,119}")
FORMULA_GUARD = ("'=", "'+", "'-", "'@")


class OutdirError(Exception):
    """OUTDIR is not a batch folder (the message says what to do)."""


@dataclass(slots=True)
class Submission:
    """One row of the class: a submission as the batch recorded it.

    ``folder`` and ``feedback`` are paths relative to OUTDIR (``/``-separated), or ``""``
    when absent. Its results.json tests are not kept (see ``load``), only their sums per
    exercise.
    """
    key: str
    who: str
    status: str
    reason: str
    total: float | None
    max: float | None
    seconds: float | None
    folder: str = ""
    feedback: str = ""
    origin: str = ""       # where the batch read the submission from (as recorded)
    exercises: dict = field(default_factory=dict)   # {exercise: (points, max)}


@dataclass
class Batch:
    """The whole class: ``homework``, ``seed``, ``submissions`` and the exercise columns."""
    outdir: str
    homework: str
    seed: int | None
    state: dict
    exercises: list
    submissions: list


def _regular(path):
    """True when ``path`` is a regular file reached without following a link."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def read_text(path, limit):
    """The text of a regular file of at most ``limit`` bytes, or None."""
    if not _regular(path):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError:
        return None
    if len(data) > limit:
        return None
    return data.decode("utf-8", "replace")


def read_json(path):
    """The JSON object in ``path`` (size-capped, no link), or None."""
    text = read_text(path, MAX_JSON_BYTES)
    if text is None:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _unguard(text):
    """A CSV cell as written before the gradebook quoted a formula-looking start with ``'``."""
    return text[1:] if text.startswith(FORMULA_GUARD) else text


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def student_folder(outdir, key):
    """The folder of submission ``key`` relative to OUTDIR, or ``""``."""
    if not KEY.fullmatch(key):
        return ""
    rel = f"{STUDENTS_DIR}/{key}"
    path = os.path.join(outdir, *rel.split("/"))
    return rel if os.path.isdir(path) and not os.path.islink(path) else ""


def test_exercise(test):
    """The exercise of a well-formed results.json test (``_clean_tests``)."""
    return gradebook.exercise_of(test)


def test_check(test):
    """A stable identifier of a results.json test: its check id, else its name."""
    extra = test.get("extra_data")
    if isinstance(extra, dict) and isinstance(extra.get("check"), str):
        return extra["check"]
    return str(test.get("name", ""))


def _clean_tests(doc):
    """The well-formed tests of a results.json document (others are dropped), with only what
    the report reads: name, scores, status, check and exercise, and the output of a test
    that did not pass."""
    tests = []
    for t in doc.get("tests", []) if isinstance(doc.get("tests"), list) else []:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            continue
        extra = t.get("extra_data")
        if not isinstance(extra, dict) or not isinstance(extra.get("exercise"), str):
            continue
        score, top = _float(t.get("score")), _float(t.get("max_score"))
        if score is None or top is None:
            continue
        status = t.get("status") if isinstance(t.get("status"), str) else None
        output = t.get("output") if status != "passed" else ""
        # every student's tests carry the same names: one copy of each string for the class
        # (the per-exercise sums of every submission are keyed by them)
        tests.append({"name": sys.intern(t["name"]), "score": score, "max_score": top,
                      "status": sys.intern(status) if status else status,
                      "extra_data": {k: sys.intern(extra[k]) for k in ("check", "exercise")
                                     if isinstance(extra.get(k), str)},
                      "output": output if isinstance(output, str) else ""})
    return tests


def _recorded_origin(doc):
    """The submission path the batch recorded in ``extra_data.batch``, or ``""``."""
    extra = doc.get("extra_data") if doc else None
    batch = extra.get("batch") if isinstance(extra, dict) else None
    recorded = batch.get("submission") if isinstance(batch, dict) else None
    return recorded if isinstance(recorded, str) else ""


def graded_source(outdir, sub):
    """What ``sub`` had graded: the copy kept in its folder (``submission/``, resolved again
    by the same intake rule as the grading), else the recorded path (a file, or the folder
    holding the module), else ``""``."""
    kept = os.path.join(outdir, *sub.folder.split("/"), "submission")
    if sub.folder and os.path.isdir(kept) and not os.path.islink(kept):
        return kept
    return sub.origin


def _rows(outdir):
    text = read_text(os.path.join(outdir, "grades.csv"), MAX_CSV_BYTES)
    if text is None:
        raise OutdirError(f"{outdir} has no grades.csv: give the OUTDIR of a "
                          "`python -m grader batch` run")
    reader = csv.DictReader(text.splitlines())
    fields = reader.fieldnames or []
    if "submission" not in fields or "status" not in fields:
        raise OutdirError(f"{os.path.join(outdir, 'grades.csv')} is not a batch gradebook "
                          "(no submission/status columns): run the batch again")
    exercises = [f for f in fields[fields.index("max") + 1:fields.index("status")]] \
        if "max" in fields and fields.index("max") < fields.index("status") else []
    return list(reader), exercises


def load(outdir, on_tests=None):
    """The ``Batch`` recorded in ``outdir``; raises ``OutdirError`` when it is not one.

    Each submission's results.json is read once and its tests are dropped after use: a
    caller that needs them gets ``on_tests(key, status, tests)`` for each submission whose
    results.json was read (its well-formed tests, see ``_clean_tests``)."""
    outdir = os.path.abspath(outdir)
    if not os.path.isdir(outdir):
        raise OutdirError(f"{outdir} is not a folder: give the OUTDIR of a batch run")
    rows, exercises = _rows(outdir)
    state = read_json(os.path.join(outdir, "batch.json")) or {}
    by_key = {}
    for row in rows:
        key = _unguard(row.get("submission") or "")
        who = _unguard(row.get("name") or "") or _unguard(row.get("id") or "")
        if key in by_key:
            if who:
                by_key[key].who = ", ".join(filter(None, (by_key[key].who, who)))
            continue
        by_key[key] = Submission(key=key, who=who, status=row.get("status") or "",
                                 reason=_unguard(row.get("reason") or ""),
                                 total=_float(row.get("total")), max=_float(row.get("max")),
                                 seconds=None)
    homework = state.get("homework") if isinstance(state.get("homework"), str) else ""
    for sub in by_key.values():
        sub.folder = student_folder(outdir, sub.key)
        if not sub.folder:
            continue
        base = os.path.join(outdir, *sub.folder.split("/"))
        if _regular(os.path.join(base, "feedback.md")):
            sub.feedback = f"{sub.folder}/feedback.md"
        doc = read_json(os.path.join(base, "results.json")) if sub.status not in (
            "grader_timeout", "grader_error") else None
        if doc is not None:
            tests = _clean_tests(doc)
            extra = doc.get("extra_data") if isinstance(doc.get("extra_data"), dict) else {}
            sub.seconds = _float(extra.get("seconds"))
            homework = homework or str(extra.get("homework") or "")
            for t in tests:
                got, top = sub.exercises.get(test_exercise(t), (0.0, 0.0))
                sub.exercises[test_exercise(t)] = (got + t["score"], top + t["max_score"])
            if on_tests is not None:
                on_tests(sub.key, sub.status, tests)
        else:
            error = read_json(os.path.join(base, "error.json")) or {}
            sub.seconds = _float(error.get("seconds"))
        sub.origin = _recorded_origin(doc)
    seed = state.get("seed")
    return Batch(outdir=outdir, homework=homework,
                 seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
                 state=state, exercises=exercises, submissions=list(by_key.values()))
