"""``warm``: the warm grader of this checkout (see ``grader/warm``): status, start, stop.

``make check`` uses it by default (``GRADER_WARM=1``): the first run starts it in the
background, the next ones are served by it. ``serve`` runs it in the foreground (what the
background start runs).
"""
import os
import socket
import subprocess
import sys
import time

from .. import homeworks
from ..warm import address, client, server, wire
from .common import positive

IDLE_VARIABLE = "GRADER_WARM_IDLE"


def add_arguments(parser):
    """The options of ``warm``."""
    parser.add_argument("action", choices=("status", "start", "stop", "serve"),
                        help="status: say whether it runs; start: start it and wait until it "
                        "serves; stop: stop it; serve: run it in the foreground")
    parser.add_argument("homeworks", nargs="*", metavar="HW",
                        help="start, serve: the homeworks to load ahead (default: all)")
    parser.add_argument("--idle", type=positive(float), default=None, metavar="SECONDS",
                        help="start, serve: exit after this long without a request (default: "
                        f"${IDLE_VARIABLE} or {server.DEFAULT_IDLE_SECONDS:g})")


def ask(message, timeout=5.0):
    """Send ``message`` to this checkout's warm grader; its answer, or None if none answers."""
    try:
        path = server.paths(address.folder())[0]
    except address.UnsafeFolder:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
            if address.peer_uid(sock) != os.getuid():
                return None
            wire.send(sock, message)
            return wire.Reader(sock).next()
        except (OSError, wire.ProtocolError):
            return None


def _lock_free(lock_path):
    import fcntl
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def status():
    """Print whether a warm grader serves this checkout; 0 if one does, else 1."""
    answer = ask({"ping": True})
    folder = address.folder()
    if not answer:
        print(f"no warm grader runs for this checkout (folder {folder})")
        return 1
    state = "ready" if answer.get("ready") else "starting"
    print(f"warm grader pid {answer.get('pid')}: {state}, {answer.get('served')} requests "
          f"served; log {server.paths(folder)[2]}")
    return 0


def start(ids, idle):
    """Start the warm grader in the background and wait until it serves; 0 when it does."""
    answer = ask({"ping": True})
    if not answer:
        env = dict(os.environ)
        if idle is not None:
            env[IDLE_VARIABLE] = str(idle)
        subprocess.Popen(client.server_command(ids), cwd=address.PROJECT_ROOT, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        answer = ask({"ping": True})
        if answer and answer.get("ready"):
            print(f"warm grader pid {answer['pid']} serves this checkout")
            return 0
        time.sleep(0.1)
    print("error: the warm grader did not start; see its log in "
          f"{server.paths(address.folder())[2]}", file=sys.stderr)
    return 1


def stop():
    """Stop this checkout's warm grader and wait until it has exited; 0 in every case."""
    answer = ask({"stop": True})
    lock_path = server.paths(address.folder())[1]
    deadline = time.monotonic() + 30
    while not _lock_free(lock_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"warm grader pid {answer['stopping']} stopped" if answer else
          "no warm grader was running")
    return 0


def run(args):
    """Run ``python -m grader warm ACTION``; returns the exit code."""
    ids = args.homeworks or list(homeworks.HOMEWORKS)
    for hw_id in ids:
        homeworks.get(hw_id)  # an unknown one: one line, exit 1
    idle = args.idle
    try:
        address.folder()
    except address.UnsafeFolder as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.action == "status":
        return status()
    if args.action == "stop":
        return stop()
    if args.action == "start":
        return start(ids, idle)
    if idle is None:
        idle = float(os.environ.get(IDLE_VARIABLE) or server.DEFAULT_IDLE_SECONDS)
    return server.main(ids, idle)
