"""``grade``: public and hidden checks of one submission → Gradescope ``results.json``."""
import os

from .. import engine, homeworks
from ..reporters.gradescope import to_gradescope, write_json_atomic
from ..reporters.terminal import print_result
from ..submission import SubmissionError, find_source
from .common import add_device, add_selection, quote, resolve_seed

HELP = "grade a submission with the public and hidden checks, write results.json"


def add_arguments(parser):
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
    add_selection(parser)
    add_device(parser)


def rerun_hint(hw_id, submission, seed):
    def hint(check, case):
        return (f"python -m grader grade {hw_id} {quote(submission)} --seed {seed} "
                f"--only {check.id} --case {quote(case.id)}")
    return hint


def grade_submission(hw, submission, *, seed, include_hidden=True, only=(), case_id=None,
                     hide=(), device=engine.DEFAULT_DEVICE, rerun=None):
    """Grade ``submission`` (folder or file); a missing or unreadable module scores zero.

    ``rerun(check, case)`` words the replay command of a failure (default: this command).
    """
    try:
        source = find_source(hw, submission)
    except SubmissionError as exc:
        return engine.grade(hw, None, seed=seed, include_hidden=include_hidden, only=only,
                            unreadable=str(exc)), []
    try:
        result = engine.grade(hw, source.path, seed=seed, include_hidden=include_hidden,
                              only=only, case_id=case_id, hide=hide,
                              rerun=rerun or rerun_hint(hw.id, submission, seed),
                              device=device)
    finally:
        source.cleanup()
    source.explain(result, hw.filename)
    result.submission = source.origin
    return result, source.notes


def run(args):
    hw = homeworks.get(args.homework)
    if not os.path.exists(args.submission):
        raise FileNotFoundError(f"submission {args.submission} does not exist")
    if args.case and len(args.only) != 1:
        raise SubmissionError("--case needs exactly one --only CHECK")
    seed = resolve_seed(args.seed)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    result, notes = grade_submission(hw, args.submission, seed=seed,
                                     include_hidden=not args.public_only, only=args.only,
                                     case_id=args.case, hide=(out_dir, *args.hide),
                                     device=args.device)
    document = to_gradescope(result)
    if notes:
        document["output"] += "\nNotes: " + "; ".join(notes) + "\n"
    write_json_atomic(args.out, document)
    if args.quiet:
        print(f"{hw.id} {result.submission}: {result.score:g}/{result.max_score:g} (seed {seed})")
    else:
        print_result(result, title=f"{hw.id} — {result.submission} (seed {seed})")
        print(f"  wrote {args.out}")
    return 0
