"""The warm grader: one background process per user, checkout and interpreter.

It imports the grader and numpy, loads the homeworks it was started for (checks,
reference, worker templates), then serves ``check`` and ``grade`` requests one at a
time by running ``grader.cli.main`` in-process, with the client's arguments, folder,
umask and output variables, its output streamed back. It never runs a submission's code
itself: the workers are sandboxed as in a cold run.

It answers only its own user (SO_PEERCRED), and only clients whose key (interpreter,
checkout, environment) matches its own and while the grader's files have not changed
since it loaded them; otherwise it says "stale" and exits. It also exits after
``--idle`` seconds without a request, on SIGTERM, and on ``python -m grader warm stop``.
"""
import fcntl
import io
import os
import queue
import signal
import socket
import sys
import threading
import time
import warnings

from . import address, wire

# What a grading loads from the checkout: a change to any of these makes the server stale.
WATCHED = ("grader", os.path.join("tests", "public"), os.path.join("tests", "hidden"),
           "solutions", "data")
DEFAULT_IDLE_SECONDS = 900.0
LOCK_SECONDS = 30.0  # a server still exiting (stale) keeps its lock for a moment
INTERRUPT_GRACE = 3.0  # after Ctrl-C, the workers are killed if the grading has not stopped


def fingerprint(root=address.PROJECT_ROOT):
    """(path, mtime, size) of every file the server may have loaded from the checkout."""
    entries = []
    for top in WATCHED:
        for folder, subfolders, files in os.walk(os.path.join(root, top)):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            for name in sorted(files):
                path = os.path.join(folder, name)
                try:
                    info = os.lstat(path)
                except OSError:
                    continue
                entries.append((os.path.relpath(path, root), info.st_mtime_ns, info.st_size))
    return entries


def paths(folder):
    """The server's socket, lock and log files in ``folder``."""
    base = os.path.join(folder, address.base_name())
    return base + ".sock", base + ".lock", base + ".log"


class ClientStream(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` of one request: every write goes to the client."""

    def __init__(self, session, channel, tty):
        super().__init__()
        self._session, self._channel, self._tty = session, channel, bool(tty)

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    def writable(self):
        return True

    def isatty(self):
        return self._tty

    def fileno(self):
        raise io.UnsupportedOperation("the output of a warm request has no file descriptor")

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        for start in range(0, len(text), wire.TEXT_CHUNK):
            self._session.send({self._channel: text[start:start + wire.TEXT_CHUNK]})
        return len(text)


class Session:
    """One accepted request: its connection and reader.

    A Ctrl-C that arrives while a message is being sent is raised once it is sent
    (``deferred``): a message cut in the middle would garble the rest of the output.
    """

    def __init__(self, conn, reader):
        self.conn, self.reader = conn, reader
        self._send_lock = threading.Lock()
        self.gone = self.sending = self.deferred = False

    def send(self, message):
        """Send ``message`` to the client (dropped once the client is gone)."""
        with self._send_lock:
            if self.gone:
                return
            self.sending = True
            try:
                wire.send(self.conn, message)
            except OSError:
                self.gone = True
            finally:
                self.sending = False
        if self.deferred:
            self.deferred = False
            raise KeyboardInterrupt

    def close(self):
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


class Server:
    """The serving loop and its state; see the module's docstring."""

    def __init__(self, folder, idle_seconds):
        self.socket_path, self.lock_path, self.log_path = paths(folder)
        self.idle_seconds = idle_seconds
        self.key = address.key()
        self.loaded = fingerprint()
        self.requests = queue.Queue()
        self.lock = threading.Lock()
        self.ready = self.busy = self.in_request = self.interrupted = self.stopping = False
        self.listener = None
        self.current = None  # the Session being served
        self.main_thread = threading.main_thread().ident
        self.served = 0

    # --- listening (acceptor thread) ---

    def listen(self):
        """Bind the socket (after the lock: a socket left by a dead server is replaced)."""
        if os.path.lexists(self.socket_path):
            os.unlink(self.socket_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        os.chmod(self.socket_path, 0o600)
        listener.listen(16)
        self.listener = listener
        self._inode = os.stat(self.socket_path).st_ino
        threading.Thread(target=self._accept, daemon=True, name="warm-accept").start()

    def forget_socket(self):
        """Remove our socket file (not one a newer server bound at the same path)."""
        try:
            if os.stat(self.socket_path).st_ino == self._inode:
                os.unlink(self.socket_path)
        except (OSError, AttributeError):
            pass

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed: the server is stopping
            try:
                keep = self._take(conn)
            except (OSError, ValueError, wire.ProtocolError):
                keep = False
            if not keep:
                conn.close()

    def _take(self, conn):
        """Answer or queue one connection; True when it was queued."""
        conn.settimeout(2.0)
        if address.peer_uid(conn) != os.getuid():
            return False
        reader = wire.Reader(conn)
        message = reader.next()
        if message is None:
            return False
        if message.get("ping"):
            wire.send(conn, {"pid": os.getpid(), "ready": self.ready, "busy": self.busy,
                             "served": self.served, "key": self.key})
            return False
        if message.get("stop"):
            wire.send(conn, {"stopping": os.getpid()})
            self.stop()
            return False
        reason = self._stale(message)
        if reason:
            wire.send(conn, {"stale": reason})
            log(f"stale: {reason}")
            self.stop()
            return False
        argv = message.get("argv")
        if not (isinstance(argv, list) and argv and argv[0] in ("check", "grade")
                and all(isinstance(a, str) for a in argv) and isinstance(message.get("cwd"), str)):
            wire.send(conn, {"refused": "only check and grade commands are served"})
            return False
        with self.lock:
            if self.busy or not self.ready or self.stopping:
                answer = {"busy": True}
            else:
                self.busy, answer = True, None
        if answer:
            wire.send(conn, answer)
            return False
        self.requests.put((conn, reader, message))
        return True

    def _stale(self, message):
        if message.get("key") != self.key:
            return "the client's interpreter, checkout or environment differs"
        if fingerprint() != self.loaded:
            return "the grader's files changed since the server loaded them"
        return ""

    def stop(self):
        """Stop taking requests and end the serving loop after the current one."""
        with self.lock:
            self.stopping = True
        self.forget_socket()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.requests.put(None)

    # --- serving (main thread) ---

    def serve(self):
        """Serve until idle, stale, stopped or terminated."""
        while not self.stopping:
            try:
                item = self.requests.get(timeout=self.idle_seconds)
            except queue.Empty:
                log(f"idle for {self.idle_seconds:g} s: exiting")
                return
            if item is None:
                return
            try:
                self._serve_one(*item)
            finally:
                with self.lock:
                    self.busy = False

    def _serve_one(self, conn, reader, message):
        session = Session(conn, reader)
        try:
            session.send({"accepted": True})
            if (reader.next() or {}).get("go") is not True:
                return
            conn.settimeout(None)
            watcher = threading.Thread(target=self._watch, args=(session,), daemon=True,
                                       name="warm-watch")
            watcher.start()
            code = self._run(session, message)
            session.send({"exit": code})
            self.served += 1
        except (OSError, wire.ProtocolError):
            pass
        finally:
            session.close()

    def _watch(self, session):
        """Watcher thread: Ctrl-C on the client (or the client gone) stops the grading."""
        while True:
            try:
                message = session.reader.next()
            except (OSError, wire.ProtocolError):
                message = None
            if message is None or message.get("interrupt"):
                self.interrupt(session)
            if message is None:
                return

    def interrupt(self, session):
        """Stop ``session``'s request if it is still running, as Ctrl-C stops a cold run
        (KeyboardInterrupt in the grading thread); its workers are killed if it has not
        stopped after a grace time."""
        with self.lock:
            if not self.in_request or self.current is not session or self.interrupted:
                return
            self.interrupted = True
        signal.pthread_kill(self.main_thread, signal.SIGINT)

        def backstop():
            with self.lock:
                late = self.in_request and self.current is session
            if late and "grader.engine" in sys.modules:
                sys.modules["grader.engine"].interrupt_all()
        timer = threading.Timer(INTERRUPT_GRACE, backstop)
        timer.daemon = True
        timer.start()

    def on_sigint(self, signum, frame):
        """SIGINT handler: a KeyboardInterrupt only inside a request (a late one is dropped),
        and not in the middle of a message to the client."""
        if not self.in_request:
            return
        if self.current is not None and self.current.sending:
            self.current.deferred = True
            return
        raise KeyboardInterrupt

    def on_sigterm(self, signum, frame):
        """SIGTERM handler: stop the grading in progress, then exit."""
        with self.lock:
            self.stopping = True
        if not self.in_request:
            raise SystemExit(0)
        self.on_sigint(signum, frame)

    def _run(self, session, message):
        """Run the request's command through ``grader.cli.main``; its exit code."""
        from .. import cli
        tty = message.get("tty") or {}
        saved_env = {name: os.environ.get(name) for name in address.REQUEST_VARIABLES}
        saved_streams = sys.stdout, sys.stderr
        saved_umask = os.umask(int(message.get("umask", 0o22)) & 0o777)
        try:
            os.chdir(message["cwd"])
            for name in address.REQUEST_VARIABLES:
                value = (message.get("env") or {}).get(name)
                if isinstance(value, str):
                    os.environ[name] = value
                else:
                    os.environ.pop(name, None)
            sys.stdout = ClientStream(session, "out", tty.get("stdout"))
            sys.stderr = ClientStream(session, "err", tty.get("stderr"))
            with warnings.catch_warnings():  # each run warns as a fresh process would
                with self.lock:
                    self.in_request, self.interrupted, self.current = True, False, session
                try:
                    code = cli.main(message["argv"])
                finally:
                    with self.lock:
                        self.in_request, self.current = False, None
        except SystemExit as exc:  # argparse: usage errors and --help
            code = exc.code
            if code is not None and not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
        except KeyboardInterrupt:  # arrived outside the command's own handler
            print("interrupted", file=sys.stderr)
            code = 130
        except OSError as exc:  # e.g. the client's folder is gone
            print(f"error: {exc}", file=sys.stderr)
            code = 1
        finally:
            sys.stdout, sys.stderr = saved_streams
            os.umask(saved_umask)
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            os.chdir(address.PROJECT_ROOT)
            if self.interrupted:
                self._recover()
        return 0 if code is None else int(code)

    def _recover(self):
        """After an interrupted request: nothing it left half done is reused (the shared
        expected values may hold the interruption, a template a fork nobody collected)."""
        engine = sys.modules.get("grader.engine")
        if engine is not None:
            engine.resume_grading()
            engine.forget_expectations()
        from ..sandbox import forkserver
        forkserver.close_all()
        log("request interrupted: expected values and worker templates reset")


def log(text):
    """One line in the server's log."""
    print(time.strftime("%Y-%m-%d %H:%M:%S"), text, flush=True)


def _hold_lock(path, seconds):
    """The open lock file once its exclusive lock is ours, or None after ``seconds``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.1)


def _redirect_output(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def warm_up(ids):
    """Import the grading machinery and numpy, load the checks and reference of the
    homeworks ``ids`` and start their worker templates, waiting until they are ready."""
    from .. import cli, homeworks
    from ..sandbox import forkserver
    import numpy  # noqa: F401 - the point of the warm grader
    from .. import grading  # noqa: F401
    from ..reporters import gradescope, terminal  # noqa: F401
    for name in ("check", "grade"):
        cli.command_module(name)
    hws = [homeworks.get(i) for i in ids]
    preloads = list(dict.fromkeys(hw.worker_preload for hw in hws))
    for preload in preloads:
        forkserver.prestart(preload)
    for hw in hws:
        homeworks.load_checks(hw, include_hidden=True)
        homeworks.load_reference(hw)
    if forkserver.enabled():
        for preload in preloads:
            try:
                forkserver.server_for(sys.executable, preload, forkserver.base_env(),
                                      forkserver.template_files()).warm_ready()
            except (forkserver.ForkServerError, OSError) as exc:
                log(f"worker template for {preload} did not start: {exc}")


def main(ids, idle_seconds=DEFAULT_IDLE_SECONDS):
    """Run a warm grader with the homeworks ``ids`` loaded until it exits; returns the exit code
    (0 also when another server of this checkout holds the lock)."""
    try:
        folder = address.folder()
    except address.UnsafeFolder as exc:
        print(f"error: warm grader not started: {exc}", file=sys.stderr)
        return 1
    server = Server(folder, idle_seconds)
    lock = _hold_lock(server.lock_path, LOCK_SECONDS)
    if lock is None:
        return 0  # another server of this checkout runs
    _redirect_output(server.log_path)
    os.chdir(address.PROJECT_ROOT)
    signal.signal(signal.SIGINT, server.on_sigint)
    signal.signal(signal.SIGTERM, server.on_sigterm)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    server.listen()
    log(f"pid {os.getpid()} serving {address.PROJECT_ROOT} ({sys.executable}); "
        f"idle timeout {idle_seconds:g} s")
    try:
        try:
            warm_up(ids)
        except Exception:  # noqa: BLE001 - each request then reports it as a cold run would
            import traceback
            log("warm-up failed; serving anyway:\n" + traceback.format_exc())
        with server.lock:
            server.ready = True
        log("ready")
        server.serve()
    except SystemExit:
        log("terminated")
    finally:
        server.forget_socket()
        server.listener.close()
        log(f"exiting after {server.served} requests")
    return 0
