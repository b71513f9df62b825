"""``gradebook``: a batch folder's ``grades.csv`` as a file other tools import.

``python -m grader gradebook OUTDIR --format canvas`` writes Canvas's gradebook import
layout, ``--format excel`` the same columns as ``grades.csv`` in UTF-8 with a byte-order
mark, ``--format csv`` ``grades.csv`` again (cells re-neutralized). Every text cell that a
spreadsheet would run as a formula is made inert (``reporters.gradebook.neutralized``).
"""
import json
import os
import sys

from ..reporters import gradebook

DEFAULT_NAMES = {"csv": "grades-clean.csv", "canvas": "grades-canvas.csv",
                 "excel": "grades-excel.csv"}


def add_arguments(parser):
    """The options of ``gradebook``."""
    parser.add_argument("outdir", metavar="OUTDIR", help="a folder written by `batch`")
    parser.add_argument("--format", choices=gradebook.FORMATS, default="canvas",
                        help="canvas (Canvas's import layout), excel (UTF-8 with BOM) or csv "
                        "(default: canvas)")
    parser.add_argument("--out", help="file to write (default: OUTDIR/grades-FORMAT.csv; "
                        "- for standard output)")
    parser.add_argument("--title", help="Canvas: the assignment's name (default: the homework "
                        "id of OUTDIR/batch.json)")
    parser.add_argument("--assignment-id", help="Canvas: the assignment's id, to update an "
                        "existing assignment (without it Canvas creates a new one)")


def _homework(outdir):
    try:
        with open(os.path.join(outdir, "batch.json"), encoding="utf-8") as fh:
            return str(json.load(fh).get("homework") or "")
    except (OSError, ValueError, AttributeError):
        return ""


def run(args):
    """Run ``python -m grader gradebook``; returns the exit code."""
    source = os.path.join(args.outdir, "grades.csv")
    if not os.path.isfile(source):
        print(f"error: {source} does not exist: give the --out folder of a "
              "`python -m grader batch` run", file=sys.stderr)
        return 1
    title = args.title or _homework(args.outdir) or "Homework"
    text = gradebook.convert_grades(source, args.format, title=title,
                                    assignment_id=args.assignment_id)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = args.out or os.path.join(args.outdir, DEFAULT_NAMES[args.format])
    try:
        gradebook.write_text_atomic(out, text)
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}; choose another --out",
              file=sys.stderr)
        return 1
    print(f"wrote {out} ({args.format})")
    return 0
