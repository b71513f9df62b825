"""What ``python -m grader`` decides from its arguments before it imports anything heavy.

Standard library only: ``__main__`` asks it before the command line (argparse, the
homeworks, numpy) is loaded, to start a spare worker template (``forkserver.start_spare``)
whose interpreter then starts beside this process's own imports.
"""

GRADING_COMMANDS = ("check", "grade", "batch", "demo")
LOCAL_EXECUTORS = ("", "local")


def command_of(argv):
    """The command that ``argv`` names (its first argument that is not an option), or None."""
    return next((a for a in argv if not a.startswith("-")), None)


def grades_here(argv):
    """Whether the command ``argv`` (without the program name) grades in this process: a
    grading command, and for ``batch`` the local executor (``processes`` and Dask grade in
    processes of their own, which start their own templates)."""
    if command_of(argv) not in GRADING_COMMANDS:
        return False
    for i, arg in enumerate(argv):
        if arg.startswith("--executor="):
            executor = arg[len("--executor="):]
        elif arg == "--executor" and i + 1 < len(argv):
            executor = argv[i + 1]
        else:
            continue
        if executor not in LOCAL_EXECUTORS:
            return False
    return True
