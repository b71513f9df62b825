"""Where a user's warm grader listens, and the key a client must share with it.

Standard library only, and cheap: the client imports this before anything else. The
socket lives in a folder that only the user can enter: ``$GRADER_WARM_DIR``, else
``$XDG_RUNTIME_DIR/dgm-grader``, else ``/tmp/dgm-grader-<uid>``; a folder that is a
symbolic link, belongs to someone else or lets the group or others in is refused.
One server per checkout and interpreter: its files are named after both.
"""
import os
import sys
import zlib

PROTOCOL = 1
FOLDER_VARIABLE = "GRADER_WARM_DIR"
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What the server loaded depends on these (its imports, its temporary folder, the workers'
# environment): a client whose values differ is not served.
KEY_VARIABLES = ("PYTHONPATH", "PYTHONHASHSEED", "PYTHONWARNINGS", "PYTHONIOENCODING",
                 "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "OPENBLAS_CORETYPE",
                 "OPENBLAS_L2_SIZE", "CUDA_VISIBLE_DEVICES")
# What one run's output depends on: applied by the server for the length of the request.
REQUEST_VARIABLES = ("NO_COLOR", "TERM", "COLUMNS", "LINES")
WARM_PREFIX = "GRADER_WARM"  # GRADER_WARM, GRADER_WARM_DIR, GRADER_WARM_IDLE: not in the key


class UnsafeFolder(Exception):
    """The socket folder cannot be trusted (or created); the message says why."""


def folder(environ=os.environ):
    """The user's socket folder, created 0700 when missing; raises ``UnsafeFolder``."""
    path = environ.get(FOLDER_VARIABLE)
    if not path:
        runtime = environ.get("XDG_RUNTIME_DIR", "")
        if os.path.isabs(runtime) and os.path.isdir(runtime):
            path = os.path.join(runtime, "dgm-grader")
        else:
            path = os.path.join(environ.get("TMPDIR") or "/tmp", f"dgm-grader-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise UnsafeFolder(f"cannot create {path}: {exc.strerror}") from None
    try:  # O_NOFOLLOW: a symbolic link put in its place is refused, not followed
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise UnsafeFolder(f"{path} is not a folder of its own ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    if info.st_uid != os.getuid():
        raise UnsafeFolder(f"{path} belongs to uid {info.st_uid}, not to this user")
    if info.st_mode & 0o077:
        raise UnsafeFolder(f"{path} is open to other users (mode {info.st_mode & 0o777:o})")
    return path


def base_name(python=sys.executable, root=PROJECT_ROOT):
    """The name of this checkout's and interpreter's files in the folder (without suffix)."""
    return "%08x" % zlib.crc32(f"{root}\0{python}".encode("utf-8", "surrogateescape"))


def key(environ=os.environ):
    """What client and server must agree on: protocol, interpreter, checkout, environment."""
    env = {name: value for name, value in environ.items()
           if (name.startswith("GRADER_") and not name.startswith(WARM_PREFIX))
           or name in KEY_VARIABLES}
    return {"protocol": PROTOCOL, "python": sys.executable, "root": PROJECT_ROOT,
            "env": dict(sorted(env.items()))}


def peer_uid(sock):
    """The uid of the process at the other end of the Unix socket ``sock`` (SO_PEERCRED)."""
    import socket
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)  # pid, uid, gid
    return int.from_bytes(creds[4:8], sys.byteorder)
