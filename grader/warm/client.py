"""The client side of the warm grader, run by ``python -m grader`` before anything heavy.

With ``GRADER_WARM=1`` (``make check`` sets it), ``check`` and ``grade`` are sent to this
checkout's warm grader, which runs the very same command code and streams its output
back; the client exits with its exit code. When no server answers, when it is busy,
stale, or anything goes wrong before it starts grading, ``attempt`` returns an outcome
without a code and ``python -m grader`` grades cold itself (then ``start_server`` starts
a server in the background for the next run when none runs). Standard library only:
numpy is never imported here.
"""
import os
import socket
import sys

from . import address, wire

ENABLE_VARIABLE = "GRADER_WARM"
COMMANDS = ("check", "grade")
ANSWER_SECONDS = 2.0  # a server that does not take the request by then is left alone


class Outcome:
    """What the warm attempt gave: ``code`` (the server's exit code; None: grade cold) and
    whether a server should be started for the next run (``start``)."""

    def __init__(self, code=None, start=False):
        self.code = code
        self.start = start


def wanted(argv, environ=os.environ):
    """Whether this run may use the warm grader: asked for, and a command it serves."""
    return environ.get(ENABLE_VARIABLE) == "1" and bool(argv) and argv[0] in COMMANDS


def request_environment(environ=os.environ):
    """The variables that change this run's output, with the terminal's size where the
    output is a terminal (what the cold path would have read from it)."""
    env = {name: environ[name] for name in address.REQUEST_VARIABLES if name in environ}
    if "COLUMNS" not in env and sys.stdout is not None and sys.stdout.isatty():
        try:
            size = os.get_terminal_size(sys.stdout.fileno())
            env.update(COLUMNS=str(size.columns), LINES=env.get("LINES", str(size.lines)))
        except (OSError, ValueError):
            pass
    return env


def _isatty(stream):
    try:
        return bool(stream is not None and stream.isatty())
    except (OSError, ValueError):
        return False


def request(argv, environ=os.environ):
    """The request that runs ``argv`` (``python -m grader ARGV``) as this process would."""
    umask = os.umask(0o22)
    os.umask(umask)
    return {"key": address.key(environ), "argv": list(argv), "cwd": os.getcwd(),
            "env": request_environment(environ), "umask": umask,
            "tty": {"stdout": _isatty(sys.stdout), "stderr": _isatty(sys.stderr)}}


def attempt(argv, environ=os.environ):
    """Run ``argv`` on the warm grader if one takes it; never raises (an ``Outcome``)."""
    try:
        folder = address.folder(environ)
    except address.UnsafeFolder:
        return Outcome()
    path = os.path.join(folder, address.base_name() + ".sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:  # until "go", the server has run nothing: any problem means grading cold
            sock.settimeout(ANSWER_SECONDS)
            try:
                sock.connect(path)
            except (FileNotFoundError, ConnectionRefusedError):
                return Outcome(start=True)  # none runs (or a dead one left its socket)
            if address.peer_uid(sock) != os.getuid():
                return Outcome()
            reader = wire.Reader(sock)
            wire.send(sock, request(argv, environ))
            answer = reader.next() or {}
            if "stale" in answer:
                return Outcome(start=True)  # it exits; the next run finds a fresh one
            if not answer.get("accepted"):
                return Outcome()  # busy or still starting: this run goes cold
            wire.send(sock, {"go": True})
            sock.settimeout(None)
        except (OSError, ValueError, wire.ProtocolError):
            return Outcome()
        except KeyboardInterrupt:
            _write(sys.stderr, "interrupted\n")
            return Outcome(130)
        return _stream(sock, reader)
    finally:
        sock.close()


def _write(stream, text):
    """Write and flush ``text``; False when the stream is closed (``| head``)."""
    if stream is None:
        return False
    try:
        stream.write(text)
        stream.flush()
        return True
    except (OSError, ValueError):
        return False


def _stream(sock, reader):
    """Copy the server's output to ours as it comes; the outcome holds its exit code.

    Ctrl-C asks the server to stop the grading (its output and exit code still come
    back, as from a cold run); a second Ctrl-C leaves without waiting.
    """
    state = {"printed": False, "interrupted": False,
             "out": sys.stdout, "err": sys.stderr}
    while True:
        try:
            outcome = _next(reader, state)
        except KeyboardInterrupt:
            if state["interrupted"]:
                return Outcome(130)
            state["interrupted"] = True
            try:
                wire.send(sock, {"interrupt": True})
            except OSError:
                return Outcome(130)
            continue
        if outcome is not None:
            return outcome


def _next(reader, state):
    """Handle the server's next message; an ``Outcome`` when the run is over."""
    try:
        message = reader.next()
    except (OSError, wire.ProtocolError):
        message = None
    if message is None:  # the server went away during the run
        if not state["printed"] and not state["interrupted"]:
            return Outcome()  # before any output: graded cold instead
        _write(sys.stderr, "grader: the warm grader stopped during this run; run the "
               "command again\n")
        return Outcome(130 if state["interrupted"] else 3)
    for channel in ("out", "err"):
        if channel in message:
            state["printed"] = True
            if not _write(state[channel], str(message[channel])):
                state[channel] = None  # closed (`| head`): the rest of its output is dropped
    if "exit" in message:
        code = message["exit"]
        return Outcome(code if isinstance(code, int) else 3)
    return None


def server_command(ids):
    """The command line that starts a warm grader with the homeworks ``ids`` loaded."""
    return [sys.executable, "-m", "grader", "warm", "serve", *ids]


def start_server(argv, environ=os.environ):
    """Start this checkout's warm grader in the background (own session, no terminal),
    loaded for the homeworks that ``argv`` names (all for a ``check`` naming none); never
    raises. Only called after a cold run: ``subprocess`` and the homeworks are loaded."""
    import subprocess
    from .. import homeworks
    ids = [a for a in argv[1:] if a in homeworks.HOMEWORKS][:1 if argv[0] == "grade" else None]
    env = {name: value for name, value in environ.items() if name != ENABLE_VARIABLE}
    try:
        subprocess.Popen(server_command(ids), cwd=address.PROJECT_ROOT, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        pass
