"""Command line: ``python -m grader <command> …``. It only parses and dispatches.

Exit codes: 0 when the command did its job (``check``: and every check passed),
1 for an expected error (a missing file, an unknown homework, an unwritable output, a
malformed export; one line on stderr, found before any grading), for ``check`` when a
check failed and for ``batch`` when no submission could be graded, 2 for bad usage
(e.g. ``--jobs 0``), 3 when the grader itself failed (a bug; traceback on stderr).

Start-up is on every grading's critical path, so this module imports only ``argparse``
and ``homeworks`` (no numpy): a command's module is imported when that command runs,
and the command imports the grading machinery inside its ``run``.
"""
import argparse
import importlib
import sys

from . import homeworks, startup
from .homeworks import UnknownHomework

# command → (its module under grader/commands, its one-line help); only the command being
# run is imported (`--help` and a student's `make check` pay for no other command)
COMMANDS = {
    "check": ("check", "run the public checks on your assignments (instant feedback)"),
    "grade": ("grade", "grade a submission with the public and hidden checks, "
              "write results.json"),
    "demo": ("demo", "grade the bundled example submissions (reference, stubs, buggy) and "
             "print the grades"),
    "public-data": ("public_data_cmd", "rebuild tests/public/data/*.json from the reference "
                    "solutions (instructors)"),
    "batch": ("batch", "grade a class: folder of submissions or Gradescope export zip → "
              "grades.csv + feedback"),
    "release": ("release", "write dist/student/: assignments, public checks, the grader; no "
                "solution, no hidden check"),
    "autograder": ("autograder", "write dist/hwN_autograder.zip for Gradescope (setup.sh, "
                   "run_autograder, hidden checks)"),
    "notebooks": ("notebooks", "rebuild assignments/*.ipynb from assignments/*.py "
                  "(instructors)"),
    "export-otter": ("export_otter", "export a homework as an otter-grader 7 assignment (for "
                     "courses on otter)"),
    "gradebook": ("gradebook", "convert a batch folder's grades.csv for Canvas or Excel "
                  "(formula-safe)"),
    "report": ("report", "write OUTDIR/report.html for a batch folder (scores, checks, "
               "timeouts, similarity)"),
    "warm": ("warm", "the warm grader that serves `make check`: status, start or stop it"),
}

# Errors that end a command with one line and exit 1, as (module, class). A class is looked
# up only once its module is loaded (an error cannot come from a module never imported), so
# dispatching imports nothing of the commands it does not run.
EXPECTED_ERRORS = (("grader.commands.common", "OutputError"),
                   ("grader.public_data", "StalePublicData"), ("grader.roster", "RosterError"),
                   ("grader.submission", "SubmissionError"))
GRADER_ERRORS = (("grader.engine", "GraderError"),)


def command_module(name):
    """The module of command ``name`` (``grader.commands.<module>``)."""
    return importlib.import_module(f"{__package__}.commands.{COMMANDS[name][0]}")


def build_parser(only=None):
    """The argument parser; with ``only`` (a command name), that command's options.

    Without ``only`` the commands are listed with their help but without their options
    (what ``--help`` and a usage error show), and no command module is imported.
    """
    parser = argparse.ArgumentParser(prog="python -m grader",
                                     description="Autograder for the deep generative models course.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, text) in COMMANDS.items():
        command = sub.add_parser(name, help=text, description=text)
        if name == only:
            command_module(name).add_arguments(command)
    return parser


def _loaded(classes):
    """The classes of ``classes`` ((module, name) pairs) whose module is imported."""
    return tuple(getattr(sys.modules[module], name) for module, name in classes
                 if module in sys.modules)


def start_templates(args):
    """``grade`` and ``check``: start the worker templates of the homeworks named, before the
    grading machinery is imported, so that their interpreter start, imports and read-only
    root come up while this process imports numpy and loads checks. The grading that needs
    one waits for it then."""
    if args.command == "grade":
        ids = [args.homework]
    elif args.command == "check":
        ids = args.homeworks or list(homeworks.HOMEWORKS)
    else:
        return
    try:
        preloads = dict.fromkeys(homeworks.get(i).worker_preload for i in ids)
    except UnknownHomework:
        return  # the command says so itself
    from .sandbox import forkserver
    for preload in preloads:
        forkserver.prestart(preload)


def main(argv=None):
    """Run one command; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = startup.command_of(argv)
    args = build_parser(chosen if chosen in COMMANDS else None).parse_args(argv)
    start_templates(args)
    try:
        return command_module(args.command).run(args)
    except (FileNotFoundError, UnknownHomework, *_loaded(EXPECTED_ERRORS)) as exc:
        message = exc.args[0] if isinstance(exc, UnknownHomework) else str(exc)
        print(f"error: {message}", file=sys.stderr)
        return 1
    except _loaded(GRADER_ERRORS) as exc:
        print(f"grader error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a grader bug: say so, with the traceback
        import traceback
        traceback.print_exc()
        print("grader error: this is a bug of the grader, not of the submission", file=sys.stderr)
        return 3
