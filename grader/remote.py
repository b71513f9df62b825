"""Grading jobs on a machine that has only the installed grader (a Dask worker).

A job carries the course files (``grader/bundle.py``). ``grade_remote``, the task a worker
runs, unpacks them once and hands the job to the worker process's grading process for that
bundle: ``python -m grader.remote`` started in the bundle's folder, so that it imports the
bundle's ``grader`` and checks. One grading process serves all the threads of its Dask
worker process, like the batch's local executor serves its threads
(``commands.batch.grade_in_process``): the interpreter, the imports, the worker template
and the expected values of the class's seed are paid once per worker process, not once per
thread or per submission. ``warm`` starts it and computes those expected values ahead of
the first job. Jobs and outcomes travel as JSON lines on its stdin and stdout, each
outcome tagged with its job's number.
"""
import atexit
import base64
import itertools
import json
import os
import subprocess
import sys
import threading
import time

from . import bundle

MARGIN_SECONDS = 30  # beyond the job's own budget, before the job is given up


class _Server:
    """This process's grading process for one bundle folder, and the jobs waiting on it."""

    def __init__(self, folder):
        self.proc = subprocess.Popen([sys.executable, "-m", "grader.remote"], cwd=folder,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     start_new_session=True)
        self.numbers = itertools.count()
        self.waiting = {}  # job number -> [threading.Event, its outcome or None]
        self.lock = threading.Lock()  # guards ``waiting`` and ``ended``
        self.writing = threading.Lock()  # one job's line at a time on the process's stdin
        self.ended = False
        threading.Thread(target=self._read_outcomes, daemon=True,
                         name="grading-process-reader").start()

    def _read_outcomes(self):
        for line in self.proc.stdout:
            try:
                outcome = json.loads(line)
                number = outcome.pop("job")
            except (ValueError, KeyError, TypeError, AttributeError):
                continue  # not one of ours: the grading process writes only outcomes here
            with self.lock:
                slot = self.waiting.pop(number, None)
            if slot is not None:
                slot[1] = outcome
                slot[0].set()
        with self.lock:  # the process ended: every job still waiting has lost it
            self.ended = True
            for slot in self.waiting.values():
                slot[0].set()
            self.waiting.clear()

    def ask(self, message, seconds):
        """The outcome of ``message`` (a job); None when the process ended first; raises
        ``TimeoutError`` after ``seconds``."""
        slot = [threading.Event(), None]
        with self.lock:
            if self.ended:
                return None
            number = next(self.numbers)
            self.waiting[number] = slot
        line = (json.dumps(dict(message, job=number)) + "\n").encode()
        try:
            with self.writing:  # not under ``lock``: outcomes keep arriving meanwhile
                self.proc.stdin.write(line)
                self.proc.stdin.flush()
        except OSError:  # the process ended (its reader then wakes every waiting job)
            with self.lock:
                self.waiting.pop(number, None)
            return None
        if not slot[0].wait(seconds):
            with self.lock:
                self.waiting.pop(number, None)
            raise TimeoutError
        return slot[1]

    def stop(self):
        self.proc.kill()
        self.proc.wait()


_SERVERS = {}  # bundle folder -> its _Server
_LOCK = threading.Lock()


def _server_for(folder, replacing=None):
    """The running grading process of ``folder``, started when there is none (or when the
    one there is ``replacing``, which ended)."""
    with _LOCK:
        server = _SERVERS.get(folder)
        if server is None or server is replacing or server.proc.poll() is not None:
            server = _SERVERS[folder] = _Server(folder)
        return server


def grade_remote(job):
    """Grade ``job`` (the batch's job, with ``course`` bytes) in this worker process's
    grading process for its bundle; returns the outcome of ``grade_in_process``.

    A job whose grading process ended under it (another job's grading crashed it) is
    graded once more, in a new one."""
    folder = bundle.unpack(job["course"])
    message = {k: v for k, v in job.items() if k not in ("course", "files", "workdir")}
    message["files"] = {rel: base64.b64encode(data).decode("ascii")
                        for rel, data in job["files"].items()}
    started = time.monotonic()
    server = None
    for _ in range(2):
        server = _server_for(folder, replacing=server)
        try:
            outcome = server.ask(message, job["timeout"] + MARGIN_SECONDS)
        except TimeoutError:
            return {"doc": None, "status": "grader_timeout",
                    "error": f"the grading process on the worker gave no answer in "
                             f"{time.monotonic() - started:.0f} s",
                    "seconds": time.monotonic() - started}
        if outcome is not None:
            return outcome
    return {"doc": None, "status": "grader_error",
            "error": f"the grading process on the worker stopped after "
                     f"{time.monotonic() - started:.0f} s", "seconds": time.monotonic() - started}


def grade_remote_group(jobs):
    """``grade_remote`` of each of ``jobs`` in turn (one Dask task for a few submissions)."""
    return [grade_remote(job) for job in jobs]


def warm(course, homework_id, seed):
    """Start this worker process's grading process for ``course`` and compute the expected
    values of ``homework_id`` with ``seed`` there, ahead of the first job; returns the
    seconds it took, or raises ``RuntimeError`` with what went wrong."""
    started = time.monotonic()
    outcome = _server_for(bundle.unpack(course)).ask(
        {"warm": homework_id, "seed": seed}, 300)
    if outcome is None or outcome.get("error"):
        raise RuntimeError((outcome or {}).get("error") or "the grading process ended")
    return time.monotonic() - started


@atexit.register
def _stop_all():
    """The worker process ends: its grading processes end with it."""
    with _LOCK:
        servers = list(_SERVERS.values())
        _SERVERS.clear()
    for server in servers:
        server.stop()


def _warm_here(homework_id, seed):
    """In the grading process: start the template, compute the expected values."""
    from . import engine, homeworks
    hw = homeworks.get(homework_id)
    engine.prepare(hw)
    expectations = engine.expectations_for(hw, seed)
    for check in homeworks.load_checks(hw, include_hidden=True):
        try:
            expectations.cases(check)
        except Exception:  # noqa: BLE001 - kept in its slot: the job that needs it says so
            pass


def _answer(out, lock, message):
    """Grade one message (a job, or a ``warm`` request) and write its tagged outcome."""
    from .commands.batch import grade_in_process
    try:
        if "warm" in message:
            _warm_here(message["warm"], message["seed"])
            outcome = {"error": ""}
        else:
            message["files"] = {rel: base64.b64decode(data)
                                for rel, data in message["files"].items()}
            outcome = grade_in_process(message)
    except BaseException as exc:  # noqa: BLE001 - the job waiting for it says so
        outcome = {"doc": None, "status": "grader_error", "error": f"{type(exc).__name__}: {exc}"}
    line = json.dumps(dict(outcome, job=message["job"])) + "\n"
    with lock:
        out.write(line)
        out.flush()


def serve():
    """The grading process: one JSON job per line on stdin, each graded on a thread of its
    own (as many at a time as the Dask worker process has threads asking), one tagged JSON
    outcome per line on stdout."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever grading prints goes to stderr, never into the answers
    sys.stdout = sys.stderr
    lock = threading.Lock()
    for line in sys.stdin:
        threading.Thread(target=_answer, args=(out, lock, json.loads(line)),
                         name="grading-job").start()


if __name__ == "__main__":
    serve()
