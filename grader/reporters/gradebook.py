"""A class's grades: ``grades.csv`` rows, per-student Markdown feedback, class statistics.

Everything here reads the Gradescope ``results.json`` documents that ``grade`` writes
(``reporters/gradescope.py``): the batch keeps one schema for one student and for a class.
A test's exercise is its ``extra_data["exercise"]`` (never parsed from its display name).
"""
import csv
import io
import statistics

from .gradescope import write_text_atomic  # noqa: F401 - the batch writes through this module

from .escape import escape_control

FIXED_COLUMNS = ("id", "name", "email", "submission", "total", "max")
TAIL_COLUMNS = ("status", "reason")


def exercise_of(test):
    """The exercise a results.json test belongs to."""
    return test["extra_data"]["exercise"]


def exercise_points(doc):
    """{exercise: (points, max points)} of a results.json document, in test order."""
    totals = {}
    for t in doc.get("tests", []):
        got, best = totals.get(exercise_of(t), (0.0, 0.0))
        totals[exercise_of(t)] = (got + float(t["score"]), best + float(t["max_score"]))
    return totals


def _number(x):
    return f"{round(float(x), 6):g}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralized(value):
    """Text a spreadsheet would run as a formula, made inert with a leading ``'``: its first
    character, or its first character after leading spaces, is ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return (a student's name is untrusted). Other values unchanged."""
    if isinstance(value, str) and (value[:1] in FORMULA_STARTS
                                   or value.lstrip(" ")[:1] in FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value):
    """A CSV cell: numbers formatted, text neutralized (``neutralized``)."""
    if isinstance(value, float):
        return _number(value)
    return neutralized(value)


def csv_text(rows, exercises):
    """The gradebook as CSV text: one row per student (``rows`` are dicts)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*FIXED_COLUMNS, *exercises, *TAIL_COLUMNS],
                            extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def feedback_markdown(doc, *, who="", title=""):
    """Per-student feedback a person can read: per exercise, what passed, what failed, why."""
    extra = doc.get("extra_data", {})
    who = escape_control(who)
    best = sum(float(t["max_score"]) for t in doc.get("tests", []))
    lines = [f"# {title or extra.get('homework', 'Homework')}" + (f" — {who}" if who else ""), "",
             f"**Score: {_number(doc['score'])} / {_number(best)}**  ",
             f"Graded with seed {extra.get('seed')} (grader {extra.get('grader_version', '?')})"
             + (f" from `{extra['graded_file']}`." if extra.get("graded_file") else "."),
             ""]
    if extra.get("status", "graded") != "graded":
        lines += [f"> Status `{extra['status']}`: {extra.get('reason', '')}".rstrip(": "), ""]
    lines += ["| exercise | points |", "|---|---|"]
    totals = exercise_points(doc)
    lines += [f"| `{name}` | {_number(got)} / {_number(top)} |"
              for name, (got, top) in totals.items()]
    for name in totals:
        lines += ["", f"## `{name}`", ""]
        for t in (t for t in doc["tests"] if exercise_of(t) == name):
            mark = "✅" if t.get("status") == "passed" else "❌"
            label = t["name"].removeprefix(f"{name}: ")
            lines.append(f"- {mark} {label} — {_number(t['score'])} / {_number(t['max_score'])}")
            if t.get("status") != "passed" and t.get("output"):
                body = escape_control(t["output"]).replace("```", "'''")
                lines += ["", "  ```text", *("  " + ln for ln in body.splitlines()), "  ```", ""]
    return "\n".join(lines).rstrip() + "\n"


def class_statistics(rows, exercises, maxima):
    """[(exercise, max, mean, median, n)] over the rows that were graded."""
    graded = [r for r in rows if r.get("graded")]
    out = []
    for name in exercises:
        values = [float(r[name]) for r in graded if r.get(name) not in (None, "")]
        if values:
            out.append((name, maxima[name], statistics.fmean(values),
                        statistics.median(values), len(values)))
    return out


def summary_text(stats, *, counts, skipped):
    """The end-of-run report: submissions per status (``counts``: {status word: n}), then
    mean/median per exercise, weakest marked."""
    total = sum(counts.values())
    lines = [f"{total} submission(s): " + ", ".join(f"{word} {n}" for word, n in counts.items()
                                                   if n)
             + (f" ({skipped} unchanged since the last run, not regraded)" if skipped else "")]
    if stats:
        worst = min(stats, key=lambda s: s[2] / s[1] if s[1] else 1.0)[0]
        width = max(len(s[0]) for s in stats) + 2
        lines.append(f"  {'exercise':<{width}} {'max':>6} {'mean':>7} {'median':>7} {'mean %':>7}")
        for name, top, mean, median, _ in stats:
            pct = 100 * mean / top if top else 0.0
            flag = "   <- lowest" if name == worst and len(stats) > 1 else ""
            lines.append(f"  {name:<{width}} {top:>6g} {mean:>7.2f} {median:>7.2f} "
                         f"{pct:>6.1f}%{flag}")
    return "\n".join(lines)


# --- gradebooks for other tools: Canvas, Excel ----------------------------------------------

FORMATS = ("csv", "canvas", "excel")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
# statuses whose total is the student's score (zero included); after a grader failure the
# score is unknown and the Canvas cell stays empty, which Canvas leaves unchanged
SCORED_STATUSES = ("graded", "no_module", "import_failed", "timeout")


def read_grades_csv(path):
    """(header, rows as dicts) of a ``grades.csv`` written by ``batch``."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or ()), list(reader)


def _csv(records, lineterminator="\n"):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=lineterminator)
    for record in records:
        writer.writerow([_cell(v) for v in record])
    return buffer.getvalue()


def canvas_csv(rows, *, title, assignment_id=None, points_possible):
    """Canvas's gradebook import layout: ``Student, ID, SIS User ID, SIS Login ID, Section``,
    one ``Title (id)`` column (without an id Canvas creates a new assignment), then the
    ``Points Possible`` row and one row per student. A student is matched by the
    ``SIS User ID`` (our ``id``: the Gradescope export's student id) or the ``SIS Login ID``
    (our ``email``); Canvas's own numeric ``ID`` is not known here and left empty."""
    column = f"{title} ({assignment_id})" if assignment_id else title
    records = [[*CANVAS_COLUMNS, column], ["Points Possible", "", "", "", "", points_possible]]
    for row in rows:
        scored = row.get("status", "graded") in SCORED_STATUSES
        records.append([row.get("name", ""), "", row.get("id", ""), row.get("email", ""), "",
                        row.get("total", "") if scored else ""])
    return _csv(records)


def excel_csv(header, rows):
    """The gradebook for Excel: UTF-8 with a byte-order mark (without one Excel reads
    accented names as Latin-1) and CRLF line ends; text cells neutralized."""
    return "\ufeff" + _csv([header] + [[row.get(k, "") for k in header] for row in rows],
                           lineterminator="\r\n")


def convert_grades(path, fmt, *, title, assignment_id=None):
    """The text of ``grades.csv`` at ``path`` in format ``fmt`` (one of ``FORMATS``)."""
    header, rows = read_grades_csv(path)
    if fmt == "canvas":
        maxima = {row.get("max", "") for row in rows} - {""}
        return canvas_csv(rows, title=title, assignment_id=assignment_id,
                          points_possible=max(maxima, key=float) if maxima else "")
    if fmt == "excel":
        return excel_csv(header, rows)
    return _csv([header] + [[row.get(k, "") for k in header] for row in rows])
