"""``export-otter``: write a homework as an otter-grader assignment (tests, notebook, config)."""
from .. import homeworks
from .common import resolve_seed


def add_arguments(parser):
    """The options of ``export-otter``."""
    parser.add_argument("homework", metavar="HW", help="homework id such as hw1")
    parser.add_argument("outdir", metavar="OUTDIR", help="folder to write the assignment to")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the hidden cases written into the tests (default: a "
                        "random one, printed and recorded in OUTDIR/README.md)")


def run(args):
    """Run ``python -m grader export-otter``; returns the exit code."""
    from ..otter_export import DATA_DIR, HIDDEN_SUFFIX, export, totals  # needs nbformat
    hw = homeworks.get(args.homework)
    seed = resolve_seed(args.seed)
    exported, skipped = export(hw, args.outdir, seed=seed)
    checks = homeworks.load_checks(hw, include_hidden=True)
    ours, total, _ = totals(checks, exported)
    print(f"wrote {args.outdir}: {len(exported)} checks as otter tests, hidden cases drawn "
          f"with seed {seed}")
    print(f"  otter's total is {ours:g} of this grader's {total:g} points"
          + (f": {len(skipped)} checks are not exportable (listed with the reason in its "
             "README.md)" if skipped else ""))
    print(f"  WARNING: tests/*{HIDDEN_SUFFIX}.py (and {DATA_DIR}/*{HIDDEN_SUFFIX}-*.npy) hold the "
          "hidden cases and their expected values: put them in the autograder only, never "
          "in what students get")
    return 0
