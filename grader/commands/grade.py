"""``grade``: public and hidden checks of one submission → Gradescope ``results.json``."""
import os

from .. import homeworks
from .common import add_device, add_selection, resolve_seed, usable_cpus, writable_file


def add_arguments(parser):
    """The options of ``grade``."""
    parser.add_argument("homework", metavar="HW", help="homework id such as hw1")
    parser.add_argument("submission", metavar="SUBMISSION",
                        help="folder holding hwN_topic.py (or .ipynb), or the file itself")
    parser.add_argument("--out", default="results.json", help="where to write results.json")
    parser.add_argument("--seed", type=int, help="base seed of the hidden cases (default: random, "
                        "recorded in the results)")
    parser.add_argument("--public-only", action="store_true", help="skip the hidden checks")
    parser.add_argument("--quiet", action="store_true", help="print only the score line")
    parser.add_argument("--hide", action="append", default=[], metavar="DIR",
                        help="a folder the student's code must not see, besides the project and "
                        "the output folder (repeatable; batch grading hides the class's files)")
    parser.add_argument("--name", default="", metavar="NAME",
                        help="how the submission is named in the results (default: its path)")
    parser.add_argument("--rerun-path", default="", metavar="PATH",
                        help="the submission path that rerun commands name (default: "
                        "SUBMISSION; batch grading points them at its own copy)")
    add_selection(parser)
    add_device(parser)


def run(args):
    """Run ``python -m grader grade``; returns the exit code."""
    # imported here, not at the top: parsing the command line must not wait for numpy
    from ..grading import GradeRequest, Replay, grade
    from ..reporters.gradescope import write_json_atomic
    from ..reporters.terminal import print_result
    from ..submission import SubmissionError

    hw = homeworks.get(args.homework)
    if not os.path.lexists(args.submission):
        raise FileNotFoundError(f"submission {args.submission} does not exist")
    if args.case and len(args.only) != 1:
        raise SubmissionError("--case needs exactly one --only CHECK")
    writable_file(args.out)  # before grading: a bad --out must not cost the work
    seed = resolve_seed(args.seed)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    graded = grade(GradeRequest(
        homework=hw, submission=args.submission, seed=seed,
        include_hidden=not args.public_only, only=tuple(args.only), case_id=args.case,
        device=args.device, hide=(out_dir, *args.hide), display_name=args.name,
        replay=Replay("grade", target=args.rerun_path), parallel=usable_cpus()))
    write_json_atomic(args.out, graded.document())
    result = graded.result
    shown = f"{result.submission}" + (f" [{graded.graded_file}]" if graded.graded_file else "")
    if args.quiet:
        print(f"{hw.id} {shown}: {result.score:g}/{result.max_score:g} (seed {seed})")
    else:
        print_result(result, title=f"{hw.id} — {shown} (seed {seed})")
        for note in graded.notes:
            print(f"  note: {note}")
        print(f"  wrote {args.out}")
    return 0
