"""Argument helpers shared by the commands."""
import secrets
import shlex

from ..engine import DEFAULT_DEVICE, DEVICES


def add_selection(parser):
    parser.add_argument("--only", action="append", default=[], metavar="CHECK",
                        help="grade only this exercise or check id (repeatable)")
    parser.add_argument("--case", metavar="CASE", help="run only this case (needs --only CHECK)")


def resolve_seed(seed):
    """The given seed, or a fresh random one (always recorded in the results)."""
    return int(seed) if seed is not None else secrets.randbelow(2**31)


def quote(text):
    return shlex.quote(str(text))


def add_device(parser):
    """``--device``: where checks that need torch (hw6) run the models."""
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE,
                        help="where torch models are graded: auto (cuda when available), cpu or "
                        f"cuda; same tolerances everywhere (default: {DEFAULT_DEVICE})")
