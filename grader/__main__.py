"""``python -m grader``: see ``grader/cli.py``."""
import os
import sys

# `python -m` puts the working directory first on sys.path (Python 3.10 has no -P): run from
# a submission's folder, its json.py or secrets.py would shadow the standard library here, on
# the trusted side. The grader is already found; homeworks.py adds the project's folder.
if sys.path and not getattr(sys.flags, "safe_path", False) and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]
# The trusted side keeps the bytecode of what it imports (the grader, the project's checks
# and references), even under PYTHONDONTWRITEBYTECODE: compiling them again costs every run
# tens of milliseconds. Only this process is concerned: workers are fresh interpreters, and
# the submission is never imported here (intake reads it as text).
sys.dont_write_bytecode = False

from .warm import client  # noqa: E402 - standard library only; before anything heavy

warm = client.attempt(sys.argv[1:]) if client.wanted(sys.argv[1:]) else None
if warm is not None and warm.code is not None:
    sys.exit(warm.code)  # the warm grader graded this run

# A grading's critical path is its worker template (an interpreter importing numpy or torch):
# start that interpreter now, while this process imports the grader; it learns which packages
# to import once the homework is known (``forkserver.start_spare``).
from . import startup  # noqa: E402 - standard library only

if startup.grades_here(sys.argv[1:]):
    from .sandbox import forkserver  # noqa: E402 - standard library only
    forkserver.start_spare()

from .threads import limit_blas_threads  # noqa: E402

limit_blas_threads()  # before cli imports numpy: the grader's own process uses one BLAS thread

from .cli import main  # noqa: E402 - after the thread limit, on purpose


def exit_without_teardown(code):
    """End the process with ``code`` once its exit handlers have run (templates stopped, files
    flushed), skipping the interpreter's teardown of numpy and the grader's modules (tens of
    milliseconds of every `make check`). Falls back to a normal exit while a non-daemon thread
    still runs, or for a code that is not an int."""
    import atexit
    import threading
    others = [t for t in threading.enumerate()
              if t is not threading.main_thread() and t.is_alive() and not t.daemon]
    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if others or run_handlers is None or not isinstance(code, int):
        sys.exit(code)
    run_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


try:
    code = main()
finally:
    if warm is not None and warm.start:
        client.start_server(sys.argv[1:])  # for the next run; this one was graded cold
exit_without_teardown(code)
