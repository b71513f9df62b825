"""Argument helpers shared by the commands: options, seeds, and checking outputs before grading."""
import argparse
import os

from ..devices import DEFAULT_DEVICE, DEVICES


class OutputError(Exception):
    """An output path cannot be written (the message names it and what to do)."""


def add_selection(parser):
    """``--only`` and ``--case``."""
    parser.add_argument("--only", action="append", default=[], metavar="CHECK",
                        help="grade only this exercise or check id (repeatable)")
    parser.add_argument("--case", metavar="CASE", help="run only this case (needs --only CHECK)")


def resolve_seed(seed):
    """The given seed, or a fresh random one (always recorded in the results)."""
    if seed is not None:
        return int(seed)
    import secrets  # only here: the command line must start fast, and most runs give a seed
    return secrets.randbelow(2**31)


def add_device(parser):
    """``--device``: where checks that need torch (hw6) run the models."""
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE,
                        help="where torch models are graded: auto (cuda when available), cpu or "
                        f"cuda; same tolerances everywhere (default: {DEFAULT_DEVICE})")


def usable_cpus():
    """The number of CPUs this process may run on (its affinity where the system tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def positive(kind):
    """An argparse type: a number of ``kind`` (int or float) greater than 0 (else exit 2)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
        return value
    parse.__name__ = f"positive {kind.__name__}"
    return parse


def writable_folder(path):
    """Create ``path`` if needed and prove a file can be written there; raises ``OutputError``."""
    import tempfile  # not at the top: the command line starts before the grading imports
    if os.path.lexists(path) and not os.path.isdir(path):
        raise OutputError(f"{path} exists and is not a folder: choose another output folder")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write into {path} ({exc.strerror}): choose a folder you "
                          "can write to") from None
    return path


def writable_file(path):
    """Check that the file ``path`` can be (re)written before any work; raises ``OutputError``."""
    if os.path.isdir(path):
        raise OutputError(f"{path} is a folder: give a file name such as {path}/results.json")
    writable_folder(os.path.dirname(os.path.abspath(path)))
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise OutputError(f"cannot overwrite {path}: choose a file you can write to")
    return path
