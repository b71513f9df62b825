"""How long a request to the worker has run, not counting the time a busy machine kept it waiting.

A call's limit ("10 s") is time the worker could use: computing, or waiting on its own
(``sleep``, a lock, a child process). Time it spent ready to run but waiting for a CPU
that other processes held (a loaded machine, a batch's other gradings) is not counted,
so the same submission gets the same grade on an idle laptop and on a busy server.

The kernel keeps that figure per thread: the second field of
``/proc/PID/task/TID/schedstat`` is the time the thread waited on a run queue, in
nanoseconds. The worker's Python code runs in its main thread, whose id is its host pid.
A wall-clock backstop (``BACKSTOP_FACTOR`` times the limit) ends a call on a machine
too starved to give the worker its time; where the figure cannot be read the limit is
plain wall clock, as before.
"""
import os
import time

BACKSTOP_FACTOR = 4.0
_MIN_WAIT = 0.01  # seconds: the shortest pause between two looks at the figure


def open_wait(pid):
    """A descriptor of thread ``pid``'s scheduler figures, for ``read_wait``; None if it cannot
    be opened. It stays bound to that thread: once the thread is gone, reads fail."""
    try:
        return os.open(f"/proc/{pid}/task/{pid}/schedstat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


def read_wait(fd):
    """Seconds the thread of ``fd`` (``open_wait``) has waited for a CPU since it started, or
    None if unreadable. One system call: every request to a worker reads it."""
    try:
        return int(os.pread(fd, 128, 0).split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def run_queue_wait(pid):
    """Seconds thread ``pid`` has waited for a CPU since it started, or None if unreadable."""
    fd = open_wait(pid)
    if fd is None:
        return None
    try:
        return read_wait(fd)
    finally:
        os.close(fd)


def is_namespace_init(pid):
    """Whether ``pid`` is PID 1 of a PID namespace below ours (a worker forked straight into
    its own), from the ``NSpid`` line of ``/proc/PID/status``."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status.read(4096).splitlines():
                if line.startswith(b"NSpid:"):
                    ids = line.split()[1:]
                    return len(ids) > 1 and ids[-1] == b"1"
    except OSError:
        pass
    return False


def only_child(pid):
    """The host pid of the one child of ``pid`` (the worker under its PID-namespace parent),
    or None while it has none or it cannot be read."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", "rb") as children:
            pids = children.read(256).split()
    except OSError:
        return None
    return int(pids[0]) if len(pids) == 1 else None


class CallClock:
    """The limit of one request: ``next_wait()`` says how long to wait for the answer before
    looking again, or None once the request has used up its ``seconds``.

    ``find_worker()`` returns the host pid of the worker's main thread, or None while it is
    unknown. A worker found only during this request was started by it (the import), so
    all of its waiting counts from zero. ``waited(pid)`` reads that thread's waiting time
    (``run_queue_wait``; the sandbox keeps the file open across its requests).
    """

    def __init__(self, seconds, find_worker, waited=run_queue_wait):
        self.seconds = seconds
        self.start = time.monotonic()
        self.backstop = self.start + seconds * BACKSTOP_FACTOR
        self._find_worker = find_worker
        self._waited = waited
        self._worker = find_worker()
        self._waited_before = waited(self._worker) if self._worker else 0.0
        self.starved = False  # ended by the backstop while the limit was not used up

    def used(self):
        """Seconds of this request counted against its limit so far."""
        elapsed = time.monotonic() - self.start
        if self._worker is None:
            self._worker = self._find_worker()
        if self._worker is None or self._waited_before is None:
            return elapsed
        waited = self._waited(self._worker)
        if waited is None:
            return elapsed
        return elapsed - max(0.0, waited - self._waited_before)

    def next_wait(self):
        """Seconds to wait before looking again, or None when the request is out of time."""
        now = time.monotonic()
        if now - self.start < self.seconds:  # not over yet whatever the figure says
            return self.seconds - (now - self.start)
        left = self.seconds - self.used()
        if left <= 0:
            return None
        if now >= self.backstop:
            self.starved = True
            return None
        return min(max(left, _MIN_WAIT), self.backstop - now)
