"""The class report: ``OUTDIR/report.html`` built from what a batch wrote to OUTDIR.

``build(outdir, similarity=...)`` reads ``grades.csv``, ``batch.json`` and each
submission's ``results.json``/``feedback.md`` (``outdir.load``), computing the class
statistics (``stats.CheckTally``) as it reads them, one submission at a time and keeping
no student's tests; it then draws the figures (``plots``, matplotlib) and writes one
self-contained page (``page``). With ``similarity`` it also compares the graded code of
every pair of submissions (``grader.similarity``) and writes ``similarity.csv``.
Nothing here changes a grade or any file the batch wrote.
"""
import os
import shlex
import statistics

from . import outdir as outdir_files
from .outdir import OutdirError  # noqa: F401 - the command's expected error

REPORT_NAME = "report.html"
SIMILARITY_VIEWS = 10     # pairs shown side by side
SIMILARITY_ROWS = 50      # pairs listed in the report's table (similarity.csv has all)
PROBLEM_STATUSES = ("no_module", "import_failed", "timeout", "grader_timeout", "grader_error")


def regrade_command(batch):
    """The command that grades the same class again with the same seed."""
    submissions = batch.state.get("submissions")
    if not isinstance(submissions, str) or not submissions:
        origins = [os.path.abspath(s.origin) for s in batch.submissions
                   if s.origin and os.path.exists(s.origin)]
        if len(origins) >= 2:
            submissions = os.path.commonpath(origins)
        elif origins:
            submissions = os.path.dirname(origins[0])
        else:
            submissions = "SUBMISSIONS"
    seed = "" if batch.seed is None else f" --seed {batch.seed}"
    return (f"python -m grader batch {shlex.quote(batch.homework or 'HW')} "
            f"{shlex.quote(submissions)} --out {shlex.quote(batch.outdir)}{seed} --regrade")


def _stub_code(homework):
    """The released stub of ``homework`` (boilerplate for similarity), or ``""``."""
    from .. import homeworks
    try:
        hw = homeworks.get(homework)
    except Exception:  # noqa: BLE001 - an unknown homework just has no boilerplate
        return ""
    path = os.path.join(homeworks.PROJECT_ROOT, "assignments", hw.filename)
    return outdir_files.read_text(path, 1 << 20) or ""


def _graded_code(homework, source):
    """The Python code graded for a recorded submission (a module file, or a folder resolved
    by the grading's own intake rule), or ``None``."""
    if not source:
        return None
    from .. import homeworks, intake
    try:
        found = intake.resolve(homeworks.get(homework), source)
    except Exception:  # noqa: BLE001 - an unknown homework or a vanished path: no code
        return None
    return found.candidates[0].module.source if found.candidates else None


def similarity_section(batch, threshold):
    """(section context for the page, similarity.csv text) for the batch's graded code."""
    from .. import similarity
    sources = {}
    for sub in batch.submissions:
        code = _graded_code(batch.homework, outdir_files.graded_source(batch.outdir, sub))
        if code is not None:
            sources[sub.key] = code
    pairs, docs = similarity.similar_pairs(sources, _stub_code(batch.homework), threshold)
    code_of = {d.key: d.code for d in docs}
    views = [{"a": p.a, "b": p.b, "score": p.score,
              "code_a": similarity.highlighted(code_of[p.a], p.slices_a),
              "code_b": similarity.highlighted(code_of[p.b], p.slices_b)}
             for p in pairs[:SIMILARITY_VIEWS]]
    summary = (f"{len(docs)} submissions compared ({len(docs) * (len(docs) - 1) // 2} pairs; "
               f"the released stub removed as boilerplate); {len(pairs)} pair(s) at or above "
               f"{threshold:g}, listed in similarity.csv.")
    return ({"summary": summary, "pairs": pairs[:SIMILARITY_ROWS], "views": views},
            similarity.csv_text(pairs))


def context(batch, checks, similarity=None):
    """Everything the page shows, as plain values; ``checks`` is the ``stats.CheckTally``
    fed while ``batch`` was read."""
    from . import plots, stats
    subs = batch.submissions
    scored = [s for s in subs if s.total is not None]
    top = max((s.max for s in scored if s.max), default=0.0)
    totals = [s.total for s in scored]
    maxima = {}
    for s in subs:
        for name, (_, best) in s.exercises.items():
            maxima[name] = max(maxima.get(name, 0.0), best)
    names = list(dict.fromkeys([*batch.exercises, *maxima]))
    per_exercise = [(name, maxima.get(name, 0.0),
                     [s.exercises[name][0] for s in subs if name in s.exercises])
                    for name in names if any(name in s.exercises for s in subs)]
    seconds = [s.seconds for s in subs if s.seconds is not None]
    summary = ""
    if totals:
        summary = (f"{len(totals)} scored: mean {statistics.fmean(totals):.2f}, median "
                   f"{statistics.median(totals):g}, of {top:g}.")
    return {
        "title": f"{batch.homework or 'Batch'} — class report",
        "counts": stats.status_counts(subs),
        "n_submissions": len(subs),
        "n_graded": checks.n_graded,
        "seed": batch.seed,
        "regrade": regrade_command(batch),
        "score_svg": plots.score_histogram(totals, top) if totals else "",
        "score_summary": summary,
        "exercise_svg": plots.exercise_distributions(per_exercise) if per_exercise else "",
        "seconds_svg": plots.seconds_histogram(seconds) if seconds else "",
        "checks": checks.statistics(),
        "problems": [s for s in subs if s.status in PROBLEM_STATUSES],
        "submissions": subs,
        "links": {s.key: _feedback_link(s) for s in subs},
        "similarity": similarity,
        "source_files": "grades.csv, batch.json and each submission's results.json",
    }


def _feedback_link(sub):
    from .page import link
    return link(sub.feedback)


def build(outdir, *, similarity=False, threshold=None):
    """Write ``OUTDIR/report.html`` (and ``similarity.csv`` with ``similarity``); returns
    the report's path. Raises ``OutdirError`` when ``outdir`` is not a batch folder."""
    from ..reporters.gradebook import write_text_atomic
    from .page import render
    from .stats import CheckTally
    checks = CheckTally()
    batch = outdir_files.load(outdir, checks.add)
    section = None
    if similarity:
        from ..similarity import THRESHOLD
        section, table = similarity_section(batch, THRESHOLD if threshold is None else threshold)
        write_text_atomic(os.path.join(batch.outdir, "similarity.csv"), table)
    path = os.path.join(batch.outdir, REPORT_NAME)
    write_text_atomic(path, render(context(batch, checks, section)))
    return path
