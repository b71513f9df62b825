"""``export-otter``: write a homework as an otter-grader assignment (tests, notebook, config)."""
from .. import homeworks

HELP = "export a homework as an otter-grader 7 assignment (for courses on otter)"


def add_arguments(parser):
    parser.add_argument("homework", metavar="HW", help="homework id such as hw1")
    parser.add_argument("outdir", metavar="OUTDIR", help="folder to write the assignment to")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the hidden cases written into the tests (default 0)")


def run(args):
    from ..otter_export import export  # needs nbformat, like `notebooks`
    hw = homeworks.get(args.homework)
    exported, skipped = export(hw, args.outdir, seed=args.seed)
    print(f"wrote {args.outdir}: {len(exported)} checks as otter tests"
          + (f", {len(skipped)} not exportable (listed in its README.md)" if skipped else ""))
    return 0
