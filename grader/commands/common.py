"""Argument helpers shared by the commands."""
import secrets
import shlex


def add_selection(parser):
    parser.add_argument("--only", action="append", default=[], metavar="CHECK",
                        help="grade only this exercise or check id (repeatable)")
    parser.add_argument("--case", metavar="CASE", help="run only this case (needs --only CHECK)")


def resolve_seed(seed):
    """The given seed, or a fresh random one (always recorded in the results)."""
    return int(seed) if seed is not None else secrets.randbelow(2**31)


def quote(text):
    return shlex.quote(str(text))
