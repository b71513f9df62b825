"""Command line: ``python -m grader <command> …``. It only parses and dispatches.

Exit codes: 0 when the command did its job (``check``: and every check passed),
1 for an expected error (a missing file, an unknown homework, an unwritable output, a
malformed export; one line on stderr, found before any grading), for ``check`` when a
check failed and for ``batch`` when no submission could be graded, 2 for bad usage
(e.g. ``--jobs 0``), 3 when the grader itself failed (a bug; traceback on stderr).
"""
import argparse
import importlib
import sys
import traceback

from .commands.common import OutputError
from .engine import GraderError
from .homeworks import UnknownHomework
from .public_data import StalePublicData
from .roster import RosterError
from .submission import SubmissionError

# command → its module under grader/commands; only the command being run is imported
# (a student's `make check` does not pay for the batch, report or release machinery)
COMMANDS = {"check": "check", "grade": "grade", "demo": "demo",
            "public-data": "public_data_cmd", "batch": "batch", "release": "release",
            "autograder": "autograder", "notebooks": "notebooks",
            "export-otter": "export_otter", "gradebook": "gradebook", "report": "report"}


def command_module(name):
    """The module of command ``name`` (``grader.commands.<module>``)."""
    return importlib.import_module(f"{__package__}.commands.{COMMANDS[name]}")


def build_parser(only=None):
    """The argument parser; with ``only`` (a command name), that command's options alone."""
    parser = argparse.ArgumentParser(prog="python -m grader",
                                     description="Autograder for the deep generative models course.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS if only is None else (only,):
        module = command_module(name)
        module.add_arguments(sub.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def main(argv=None):
    """Run one command; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(chosen if chosen in COMMANDS else None).parse_args(argv)
    try:
        return command_module(args.command).run(args)
    except (FileNotFoundError, SubmissionError, UnknownHomework, StalePublicData,
            RosterError, OutputError) as exc:
        message = exc.args[0] if isinstance(exc, UnknownHomework) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 1
    except GraderError as exc:
        print(f"grader error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a grader bug: say so, with the traceback
        traceback.print_exc()
        print("grader error: this is a bug of the grader, not of the submission", file=sys.stderr)
        return 3
