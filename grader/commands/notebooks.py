"""``notebooks``: regenerate (or verify) ``assignments/hwN_topic.ipynb`` from the modules."""
import os

from .. import homeworks


def add_arguments(parser):
    parser.add_argument("homeworks", nargs="*", metavar="HW", help="default: all")
    parser.add_argument("--verify", action="store_true",
                        help="only check that the notebooks are up to date (exit 1 if stale)")


def run(args):
    from .. import nbgen  # needs nbformat (the `notebook` extra), unlike the student commands
    stale = []
    for hw_id in args.homeworks or list(homeworks.HOMEWORKS):
        hw = homeworks.get(hw_id)
        if args.verify:
            path = nbgen.assignment_path(hw, "ipynb")
            shipped = None
            if os.path.exists(path):
                with open(path, encoding="utf-8") as fh:
                    shipped = fh.read()
            if shipped != nbgen.dumps(nbgen.build(hw)):
                stale.append(hw.id)
            continue
        print(f"wrote {nbgen.write(hw)}")
    if stale:
        print(f"stale notebooks for {', '.join(stale)}: run `make notebooks`")
        return 1
    return 0
