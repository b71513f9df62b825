"""``demo``: grade the example submissions under ``examples/`` and print their grades."""
import importlib.util
import os
import tempfile

from .. import homeworks
from ..grading import GradeRequest, grade, requires_torch
from ..homeworks import PROJECT_ROOT
from ..reporters.gradescope import write_json_atomic
from ..reporters.terminal import print_result


def add_arguments(parser):
    """The options of ``demo``."""
    parser.add_argument("--examples", default=os.path.join(PROJECT_ROOT, "examples"))
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", default=None, help="folder for the results.json files "
                        "(default: a temporary folder)")


def run(args):
    """Run ``python -m grader demo``; returns the exit code."""
    out = args.out or tempfile.mkdtemp(prefix="grader-demo-")
    rows = []
    for hw in homeworks.HOMEWORKS.values():
        folder = os.path.join(args.examples, hw.id)
        if not os.path.isdir(folder):
            continue
        if requires_torch(hw) and importlib.util.find_spec("torch") is None:
            print(f"\n{hw.id}: skipped, grading it needs torch (pip install '.[torch]'; "
                  "`make test` installs it)")
            continue
        for name in sorted(os.listdir(folder)):
            submission = os.path.join(folder, name)
            if not os.path.isdir(submission):
                continue
            graded = grade(GradeRequest(homework=hw, submission=submission, seed=args.seed))
            result = graded.result
            write_json_atomic(os.path.join(out, hw.id, name, "results.json"), graded.document())
            print_result(result, title=f"\n{hw.id} — example '{name}' (seed {args.seed})",
                         show_hidden_details=True)
            rows.append((hw.id, name, result.score, result.max_score, result.seconds))
    print("\nSummary")
    for hw_id, name, score, best, secs in rows:
        print(f"  {hw_id}  {name:<24} {score:>6g} / {best:g}   ({secs:.2f} s)")
    print(f"results.json files under {out}")
    return 0
