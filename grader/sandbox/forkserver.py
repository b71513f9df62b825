"""Client of the worker template (``zygote.py``): fork pre-imported workers on demand.

Starting Python and importing numpy costs about 0.15 s per worker, torch about
1 s; the template pays that once per grader process and homework kind, and each
worker is then a fork of it (a few milliseconds). On by default;
``GRADER_FORKSERVER=0`` turns it off (every worker is then started with
``subprocess``, as when the template cannot start).

``prestart(preload)`` starts a template without waiting for it, so that its
interpreter start, imports and read-only root overlap with the grader's own
imports and expected values; the first ``server_for`` with the same key waits for
it to be ready. Earlier still, ``start_spare()`` (the command line's first step for the
commands that grade) starts a template's interpreter before the homework is known; the
first template asked for takes it and sends it its package list. The template also
tests, once, whether a worker can enter its namespaces and allow-list root
(``isolation.try_worker``), and reports the answer (``ForkServer.namespaces``,
``ForkServer.reason``): no separate probe process.

This module imports only the standard library (the command line imports it before
anything heavy). Safe to share between the threads of one grader process: one reader
thread per template dispatches its messages, so a thread waiting for a worker's exit
never delays another thread's fork.
"""
import atexit
import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from . import leftovers

RUNTIME_FILES = ("worker.py", "protocol.py", "callables.py", "importguard.py")
TEMPLATE_FILES = RUNTIME_FILES + ("isolation.py", "rootfs.py", "zygote.py")
_HERE = os.path.dirname(os.path.abspath(__file__))
# Passed on from the grader's environment: BLAS tuning, locale, and with --device cuda the
# GPU that the grader was given.
_PASS_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL",
             "CUDA_VISIBLE_DEVICES")
# glibc's allocator in the template and its workers: a worker lives for one submission, so
# its large arrays (a 300x300 case is 720 KB) would each be a fresh mmap whose every page
# faults in and is unmapped again on free. Served from a heap that keeps freed memory, the
# pages fault in once per worker (a quarter fewer page faults for an HW1 grading). The
# address-space limit (RLIMIT_AS) counts the heap as before.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 << 20), "MALLOC_TRIM_THRESHOLD_": str(64 << 20),
              "MALLOC_TOP_PAD_": str(4 << 20)}
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); import zygote; zygote.main()"
_DEFERRED = "-"  # in place of the options: the template receives them first on its socket
_SERVERS = {}
_SPARES = {}  # started templates waiting for their package list (``start_spare``)
_SERVERS_LOCK = threading.Lock()
READY_SECONDS = 120.0  # torch's first import on a cold, busy machine
CANCEL_POLL_SECONDS = 0.1  # how soon a worker waiting for the warm stage sees it is not wanted


class ForkServerError(Exception):
    """The template could not be started or stopped answering."""


def enabled():
    """Whether workers come from a template (``GRADER_FORKSERVER`` is not ``0``)."""
    return os.environ.get("GRADER_FORKSERVER", "1") != "0" and hasattr(socket, "send_fds")


def base_env():
    """The environment of the template and of every worker (minus HOME and TMPDIR)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": "0",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8", **MALLOC_ENV}
    env.update({k: os.environ[k] for k in _PASS_ENV if k in os.environ})
    return env


def template_files():
    """The host paths of the runtime modules a template (or a fresh worker) is started from."""
    return [os.path.join(_HERE, name) for name in TEMPLATE_FILES]


def copy_runtime(files, folder):
    """Copy the runtime modules ``files`` into ``folder`` with their bytecode, so that the
    interpreter started there does not compile them again (a quarter of its start-up).

    The bytecode is compiled once into the package's own ``__pycache__`` (trusted side;
    skipped where that is not writable) and copied beside the copies, whose modification
    times are kept so that the bytecode's header still matches them.
    """
    import importlib.util
    import py_compile
    cache = os.path.join(folder, "__pycache__")
    os.makedirs(cache, mode=0o700, exist_ok=True)
    for path in files:
        shutil.copy2(path, folder)
        compiled = importlib.util.cache_from_source(path)
        try:
            if not os.path.exists(compiled) or \
                    os.stat(compiled).st_mtime < os.stat(path).st_mtime:
                py_compile.compile(path, cfile=compiled, doraise=True)
            shutil.copy2(compiled, cache)
        except (OSError, py_compile.PyCompileError):
            pass  # the interpreter compiles the copy itself


class _Stage:
    """One template process seen from the grader: its control socket, the thread that reads
    it, and what it said (ready, forked, a worker's exit)."""

    def __init__(self, sock, name):
        self.sock = sock
        self._exits = {}
        self._spawned = collections.deque()
        self._ready = None
        self._gone = False
        self._changed = threading.Condition()
        self._send_lock = threading.Lock()  # one fork request in flight: replies come in order
        self._reader = threading.Thread(target=self._read_messages, daemon=True, name=name)
        self._reader.start()

    def _read_messages(self):
        """Reader thread: file every message of the template where its waiter looks for it."""
        while True:
            try:
                data = self.sock.recv(1 << 16)
                message = json.loads(data) if data else None
            except (OSError, ValueError):
                message = None
            with self._changed:
                if not isinstance(message, dict):
                    self._gone = True
                    self._changed.notify_all()
                    return
                if "exit" in message:
                    self._exits[message["exit"]] = message["code"]
                elif "spawned" in message:
                    self._spawned.append(message["spawned"])
                elif "ready" in message:
                    self._ready = message
                self._changed.notify_all()

    def ready(self, timeout):
        """The template's ready message once it came (None when it did not: gone, or not yet
        within ``timeout``)."""
        with self._changed:
            self._changed.wait_for(lambda: self._ready is not None or self._gone, timeout)
            return self._ready

    @property
    def settled(self):
        """Whether the template has said it is ready (or failed), or is gone."""
        return self._ready is not None or self._gone

    @property
    def served(self):
        """Whether the template said it is ready (it may have ended since)."""
        return bool(self._ready) and self._ready.get("ready") is True

    @property
    def serving(self):
        """Whether the template said it is ready and still answers."""
        return not self._gone and self.served

    def spawn(self, request, fds):
        """Fork a worker for ``request`` with ``fds``; its pid."""
        with self._send_lock:
            socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
            with self._changed:
                if not self._changed.wait_for(lambda: self._spawned or self._gone, 30.0):
                    raise TimeoutError("the worker template did not fork in 30 s")
                if not self._spawned:
                    raise ForkServerError("the worker template exited")
                return self._spawned.popleft()

    def wait(self, pid, timeout):
        """Exit code of worker ``pid`` (negative: killed by that signal), None if still running.

        A template that is gone can no longer report: its workers count as killed.
        """
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits or self._gone, timeout)
            if pid in self._exits:
                return self._exits.pop(pid)
            return -signal.SIGKILL if self._gone else None

    @property
    def gone(self):
        return self._gone

    def shutdown(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # the template and the reader see the end
        except OSError:
            pass

    def close(self):
        self._reader.join(timeout=5)
        self.sock.close()


class ForkServer:
    """One template process (and its warm stage); ``spawn`` forks a worker, ``wait`` reports
    how it ended.

    The constructor only starts the process; ``ready()`` waits for its imports and
    read-only root (and raises ``ForkServerError`` if it did not come up). Where the
    preloaded packages have warm modules (``zygote.WARM_MODULES``), a fork of the template
    imports them meanwhile and serves ``spawn(..., warm=True)`` once ready
    (``warm_ready``); until then, or where there is no such stage, the first one does.
    """

    def __init__(self, python, preload, env, runtime_files):
        self.folder = tempfile.mkdtemp(prefix="grader-template-")  # 0700: the grader's only
        leftovers.mark(self.folder)
        self.runtime = os.path.join(self.folder, "runtime")
        os.mkdir(self.runtime, 0o700)
        copy_runtime(runtime_files, self.runtime)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        warm_ours, warm_theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._warm_control = warm_theirs.fileno()  # the same number in the template
        self.preload = None if preload is None else tuple(preload)
        self.proc = subprocess.Popen(
            [python, "-I", "-c", _BOOT, self.runtime,
             _DEFERRED if preload is None else self._options(), str(theirs.fileno())],
            pass_fds=(theirs.fileno(), warm_theirs.fileno()), env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
            cwd=self.runtime)
        theirs.close()
        warm_theirs.close()
        self.namespaces, self.reason = False, "the template is not ready yet"
        self._base = _Stage(ours, "worker-template-reader")
        self._warm = _Stage(warm_ours, "warm-template-reader")

    def _options(self):
        # always tries the allow-list root; its ready message says whether workers can use it
        return json.dumps({"preload": list(self.preload), "view": True, "folder": self.folder,
                           "warm_control": self._warm_control})

    def assign(self, preload):
        """Tell a spare template (started with ``preload=None``) what to import; it has
        started its interpreter meanwhile."""
        self.preload = tuple(preload)
        with self._base._send_lock:
            self._base.sock.send(self._options().encode())

    def ready(self, timeout=READY_SECONDS):
        """Wait until the template has imported its packages and built its root."""
        ready = self._base.ready(timeout)
        if not ready or ready.get("ready") is not True:
            error = (ready or {}).get("error") or ("it exited" if self._base.gone else "no answer")
            raise ForkServerError(f"the worker template did not start: {error}")
        self.namespaces = bool(ready.get("namespaces"))
        self.reason = str(ready.get("reason", ""))[:300]
        return self

    def warm_ready(self, timeout=READY_SECONDS):
        """Wait until the warm stage serves; False where it does not (no warm modules, or it
        failed): warm requests then go to the first stage."""
        self._warm.ready(timeout)
        return self._warm.serving

    def spawn(self, request, fds, warm=False, cancelled=lambda: False):
        """Fork a worker for ``request`` with ``fds`` (output, request pipe, answer pipe) from
        the template, or with ``warm`` from its warm stage once ready; its handle. Waiting
        for the warm stage ends with ``ForkServerError`` as soon as ``cancelled()``."""
        if warm:
            deadline = time.monotonic() + READY_SECONDS
            while not self._warm.settled and time.monotonic() < deadline:
                if cancelled():
                    raise ForkServerError("cancelled while the warm template was starting")
                self._warm.ready(CANCEL_POLL_SECONDS)
        stage = self._warm if warm and self._warm.serving else self._base
        return ForkedProcess(stage, stage.spawn(request, fds))

    @property
    def alive(self):
        """Whether the template serves (a warm stage that served and died counts as dead: the
        next grading starts a fresh template rather than import torch._dynamo per worker)."""
        return (not self._base.gone and self.proc.poll() is None
                and not (self._warm.gone and self._warm.served))

    def close(self):
        """Stop the template (at once when it is still starting: a grading that ended early
        does not wait for torch to import) and delete its folder."""
        if not (self._base.settled and self._warm.settled) and self.proc.poll() is None:
            try:  # the warm stage too: its process group is the template's session
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
        for stage in (self._base, self._warm):
            stage.shutdown()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stage in (self._base, self._warm):
            stage.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class ForkedProcess:
    """The ``Popen``-like handle of a forked worker."""

    def __init__(self, stage, pid):
        self.stage = stage
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            self.returncode = self.stage.wait(self.pid, 0.0)
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None:
            code = self.stage.wait(self.pid, timeout)
            if code is None:
                raise subprocess.TimeoutExpired("worker", timeout)
            self.returncode = code
        return self.returncode


def _key(python, preload, env):
    return (os.getpid(), python, tuple(preload), tuple(sorted(env.items())))


def _started(python, preload, env, runtime_files):
    """The cached template of this key, started (not waited for) when missing or dead: the
    spare of this interpreter and environment when there is one (``start_spare``)."""
    key = _key(python, preload, env)
    with _SERVERS_LOCK:
        server = _SERVERS.get(key)
        if server is None or not server.alive:
            if server is not None:
                server.close()  # a template that died: its folder goes too
            server = _claim_spare(python, env, runtime_files)
            if server is not None:
                server.assign(preload)
            else:
                server = ForkServer(python, preload, env, runtime_files)
            _SERVERS[key] = server
            _sweep_once()
        return server


def _spare_key(python, env, runtime_files):
    return (os.getpid(), python, tuple(sorted(env.items())), tuple(runtime_files))


def _claim_spare(python, env, runtime_files):
    """The live spare of this interpreter, environment and runtime, taken; else None."""
    spare = _SPARES.pop(_spare_key(python, env, runtime_files), None)
    if spare is not None and not spare.alive:
        spare.close()
        spare = None
    return spare


def start_spare(python=None):
    """Start a template's interpreter before it is known which packages it will import (the
    first command-line step of the commands that grade): its start-up overlaps
    with this process's own imports, and the first template asked for (``prestart``,
    ``server_for``) takes it and sends it its package list. Does nothing when templates are
    off or a spare is already running; never raises. An unclaimed spare is stopped at exit."""
    if not enabled():
        return
    python, env, files = python or sys.executable, base_env(), template_files()
    key = _spare_key(python, env, files)
    with _SERVERS_LOCK:
        if key in _SPARES:
            return
        try:
            _SPARES[key] = ForkServer(python, None, env, files)
        except OSError:
            pass


_SWEPT = []


def _sweep_once():
    """Delete, once per process, the folders of graders that were killed before they could
    (``leftovers.py``); after a template has started, so that it does not wait for this."""
    if not _SWEPT:
        _SWEPT.append(True)
        leftovers.sweep()


def prestart(preload, python=None):
    """Start the template for ``preload`` now, without waiting: a later ``server_for`` of the
    same interpreter and packages finds it ready (or waits for the rest). Does nothing
    when templates are off; never raises (the later call reports any failure)."""
    if not enabled():
        return
    try:
        _started(python or sys.executable, preload, base_env(), template_files())
    except OSError:
        pass


def server_for(python, preload, env, runtime_files):
    """The cached, ready template for this interpreter, preload list and environment; started
    on demand. The template always tries to build the allow-list root; ``namespaces`` on
    the result says whether workers can use it."""
    server = _started(python, preload, env, runtime_files)
    try:
        return server.ready()
    except ForkServerError:
        with _SERVERS_LOCK:
            if _SERVERS.get(_key(python, preload, env)) is server:
                del _SERVERS[_key(python, preload, env)]
        server.close()
        raise


@atexit.register
def close_all():
    """Stop this process's templates (at exit; also after an interrupted grading in the warm
    grader, which then starts fresh ones)."""
    for table in (_SERVERS, _SPARES):
        for key, server in list(table.items()):
            if key[0] == os.getpid():  # a forked child must not stop its parent's templates
                server.close()
        table.clear()
