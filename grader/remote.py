"""Grading jobs on a machine that has only the installed grader (a Dask worker).

A job carries the course files (``grader/bundle.py``). ``grade_remote``, the task a worker
runs, unpacks them once and keeps one grading process per worker process and bundle:
``python -m grader.remote`` started in the bundle's folder, so that it imports the
bundle's ``grader`` and checks. That process grades job after job like the batch's local
executor (``commands.batch.grade_in_process``): the interpreter, the imports, the worker
template and the expected values of the class's seed are paid once per worker, not once
per submission. Jobs and outcomes travel as JSON lines on its stdin and stdout.
"""
import atexit
import base64
import json
import os
import select
import subprocess
import sys
import threading
import time

from . import bundle

_SERVERS = {}  # (bundle folder, thread) -> its grading process; one job at a time each
_LOCK = threading.Lock()
MARGIN_SECONDS = 30  # beyond the job's own budget, before the grading process is stopped


def grade_remote(job):
    """Grade ``job`` (the batch's job, with ``course`` bytes) in this machine's grading
    process for its bundle; returns the outcome of ``grade_in_process``."""
    folder = bundle.unpack(job["course"])
    message = {k: v for k, v in job.items() if k not in ("course", "files", "workdir")}
    message["files"] = {rel: base64.b64encode(data).decode("ascii")
                        for rel, data in job["files"].items()}
    started = time.monotonic()
    key = (folder, threading.get_ident())
    with _LOCK:
        proc = _SERVERS.get(key)
        if proc is None or proc.poll() is not None:
            proc = subprocess.Popen([sys.executable, "-m", "grader.remote"], cwd=folder,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    start_new_session=True)
            _SERVERS[key] = proc
    ready = []
    try:
        proc.stdin.write((json.dumps(message) + "\n").encode())
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], job["timeout"] + MARGIN_SECONDS)
        line = proc.stdout.readline() if ready else b""
    except OSError:
        line = b""
    if line:
        return json.loads(line)
    _stop(key)
    return {"doc": None, "status": "grader_timeout" if not ready else "grader_error",
            "error": f"the grading process on the worker stopped answering after "
                     f"{time.monotonic() - started:.0f} s", "seconds": time.monotonic() - started}


def _stop(key):
    with _LOCK:
        proc = _SERVERS.pop(key, None)
    if proc is not None:
        proc.kill()
        proc.wait()


@atexit.register
def _stop_all():
    """The worker process ends: its grading processes end with it."""
    for key in list(_SERVERS):
        _stop(key)


def serve():
    """The grading process: one JSON job per line on stdin, one JSON outcome per line out."""
    from .commands.batch import grade_in_process
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever grading prints goes to stderr, never into the answers
    sys.stdout = sys.stderr
    for line in sys.stdin:
        job = json.loads(line)
        job["files"] = {rel: base64.b64decode(data) for rel, data in job["files"].items()}
        out.write(json.dumps(grade_in_process(job)) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
