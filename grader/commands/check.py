"""``check``: the student's public checks against ``assignments/`` (what ``make check`` runs)."""
import os

from .. import engine, homeworks
from ..homeworks import PROJECT_ROOT
from ..reporters.terminal import print_result
from ..submission import SubmissionError, find_source
from .common import add_device, add_selection, quote

HELP = "run the public checks on your assignments (instant feedback)"


def add_arguments(parser):
    parser.add_argument("homeworks", nargs="*", metavar="HW",
                        help="homework ids such as hw1 (default: all)")
    parser.add_argument("--dir", default=os.path.join(PROJECT_ROOT, "assignments"),
                        help="folder holding your hwN_topic.py files (default: assignments/)")
    add_selection(parser)
    add_device(parser)


def rerun_hint(hw_id):
    def hint(check, case):
        return f"make check HW={hw_id} ONLY={check.id} CASE={quote(case.id)}"
    return hint


def run(args):
    ids = args.homeworks or list(homeworks.HOMEWORKS)
    if args.case and len(args.only) != 1:
        raise SubmissionError("--case needs exactly one --only CHECK")
    for hw_id in ids:
        hw = homeworks.get(hw_id)
        try:
            source = find_source(hw, args.dir)
        except SubmissionError as exc:
            print(f"{hw.id}: {exc}")
            continue
        try:
            result = engine.grade(hw, source.path, seed=0, include_hidden=False, only=args.only,
                                  case_id=args.case, rerun=rerun_hint(hw.id), device=args.device)
        finally:
            source.cleanup()
        source.explain(result, hw.filename)
        title = f"{hw.id} — {hw.title}  [{os.path.relpath(source.origin)}, public checks]"
        print_result(result, title=title)
        for note in source.notes:
            print(f"  note: {note}")
    return 0
