"""``public-data``: rebuild (or verify) the expected values of the public checks."""
import json

from .. import homeworks, public_data


def add_arguments(parser):
    parser.add_argument("homeworks", nargs="*", metavar="HW", help="default: all")
    parser.add_argument("--verify", action="store_true",
                        help="only check that the files are up to date (exit 1 if stale)")


def run(args):
    stale = []
    for hw_id in args.homeworks or list(homeworks.HOMEWORKS):
        hw = homeworks.get(hw_id)
        if args.verify:
            fresh = json.loads(public_data.dumps(public_data.build(hw)))
            try:
                with open(public_data.path_for(hw), encoding="utf-8") as fh:
                    shipped = json.load(fh)
            except FileNotFoundError:
                shipped = None
            if shipped is None or not public_data.same(fresh, shipped):
                stale.append(hw.id)
            continue
        print(f"wrote {public_data.write(hw)}")
    if stale:
        print(f"stale public data for {', '.join(stale)}: run `make public-data`")
        return 1
    return 0
