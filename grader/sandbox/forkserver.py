"""Client of the worker template (``zygote.py``): fork pre-imported workers on demand.

Starting Python and importing numpy costs about 0.1 s per worker, torch about
2 s; the template pays that once per grader process and homework kind, and each
worker is then a fork of it (a few milliseconds). On by default;
``GRADER_FORKSERVER=0`` turns it off (every worker is then started with
``subprocess``, as when the template cannot start). Safe to share between the
threads of one grader process.
"""
import atexit
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time

_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); import zygote; zygote.main()"
_SERVERS = {}
_SERVERS_LOCK = threading.Lock()


class ForkServerError(Exception):
    """The template could not be started or stopped answering."""


def enabled():
    return os.environ.get("GRADER_FORKSERVER", "1") != "0" and hasattr(socket, "send_fds")


class ForkServer:
    """One template process; ``spawn`` forks a worker, ``wait`` reports how it ended."""

    def __init__(self, python, preload, env, runtime_files, view=False):
        self.folder = tempfile.mkdtemp(prefix="grader-template-")  # 0700: the grader's only
        self.runtime = os.path.join(self.folder, "runtime")
        os.mkdir(self.runtime, 0o700)
        for path in runtime_files:
            shutil.copy(path, self.runtime)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        options = {"preload": list(preload), "view": bool(view), "folder": self.folder}
        self.proc = subprocess.Popen(
            [python, "-I", "-c", _BOOT, self.runtime, json.dumps(options),
             str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, start_new_session=True, cwd=self.runtime)
        theirs.close()
        self.exits = {}
        self._lock = threading.Lock()
        ready = self._next(60.0)
        if ready.get("ready") is not True:
            self.close()
            raise ForkServerError("the worker template did not start: "
                                  + str(ready.get("error", "")))

    def _receive(self, deadline):
        """One message from the template (exit reports are also recorded in ``exits``)."""
        wait = max(0.0, deadline - time.monotonic())  # 0: poll what is already there
        if not select.select([self.sock], [], [], wait)[0]:
            raise TimeoutError
        data = self.sock.recv(1 << 16)
        if not data:
            raise ForkServerError("the worker template exited")
        message = json.loads(data)
        if "exit" in message:
            self.exits[message["exit"]] = message["code"]
        return message

    def _next(self, timeout):
        """The next message that is not an exit report."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._receive(deadline)
            if "exit" not in message:
                return message

    def spawn(self, request, fds):
        """Fork a worker for ``request`` with ``fds`` (output, request pipe, answer pipe); its pid."""
        with self._lock:  # the answer to this request must not be read by another thread
            socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
            return self._next(30.0)["spawned"]

    def wait(self, pid, timeout):
        """Exit code of worker ``pid`` (negative: killed by that signal), None if still running."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:  # short turns, so that other threads can spawn meanwhile
                if pid in self.exits:
                    return self.exits.pop(pid)
                try:
                    self._receive(min(deadline, time.monotonic() + 0.05))
                except TimeoutError:
                    if time.monotonic() >= deadline:
                        return None

    @property
    def alive(self):
        return self.proc.poll() is None

    def close(self):
        self.sock.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class ForkedProcess:
    """The ``Popen``-like handle of a forked worker."""

    def __init__(self, server, pid):
        self.server = server
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            self.returncode = self.server.wait(self.pid, 0.0)
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            code = self.server.wait(self.pid, 1e9 if timeout is None else timeout)
            if code is None:
                raise subprocess.TimeoutExpired("worker", timeout)
            self.returncode = code
        return self.returncode


def server_for(python, preload, env, runtime_files, view=False):
    """The cached template for this interpreter, preload list, environment and root kind
    (``view``: an allow-list root); started on demand."""
    key = (os.getpid(), python, tuple(preload), tuple(sorted(env.items())), bool(view))
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is None or not server.alive:
            server = ForkServer(python, preload, env, runtime_files, view)
            _SERVERS[key] = server
        return server


@atexit.register
def _close_all():
    for key, server in list(_SERVERS.items()):
        if key[0] == os.getpid():  # a forked child must not stop its parent's templates
            server.close()
    _SERVERS.clear()
