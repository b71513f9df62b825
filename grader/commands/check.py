"""``check``: the student's public checks against ``assignments/`` (what ``make check`` runs).

Exits 1 when a check fails (as pytest does), so editors and scripts can tell.
"""
import os

from .. import homeworks
from ..homeworks import PROJECT_ROOT
from .common import add_device, add_selection, usable_cpus


def add_arguments(parser):
    """The options of ``check``."""
    parser.add_argument("homeworks", nargs="*", metavar="HW",
                        help="homework ids such as hw1 (default: all)")
    parser.add_argument("--dir", default=os.path.join(PROJECT_ROOT, "assignments"),
                        help="folder holding your hwN_topic.py files (default: assignments/)")
    add_selection(parser)
    add_device(parser)


def run(args):
    """Run ``python -m grader check``; returns 0 when every check passed, else 1."""
    # imported here, not at the top: parsing the command line must not wait for numpy
    from ..grading import GradeRequest, Replay, grade
    from ..reporters.terminal import print_result
    from ..submission import SubmissionError

    ids = args.homeworks or list(homeworks.HOMEWORKS)
    if args.case and len(args.only) != 1:
        raise SubmissionError("--case needs exactly one --only CHECK")
    if not os.path.isdir(args.dir):
        raise FileNotFoundError(f"{args.dir} is not a folder: give the folder holding your "
                                "hwN_topic.py files with --dir")
    all_passed = True
    for hw_id in ids:
        hw = homeworks.get(hw_id)
        graded = grade(GradeRequest(
            homework=hw, submission=args.dir, seed=0, include_hidden=False,
            only=tuple(args.only), case_id=args.case, device=args.device,
            replay=Replay("check"), parallel=usable_cpus()))
        result = graded.result
        where = (os.path.relpath(os.path.join(args.dir, graded.graded_file))
                 if graded.graded_file else os.path.relpath(args.dir))
        print_result(result, title=f"{hw.id} — {hw.title}  [{where}, public checks]")
        for note in graded.notes:
            print(f"  note: {note}")
        all_passed = all_passed and result.max_score > 0 and result.score == result.max_score
    return 0 if all_passed else 1
