"""Private folders left in the temporary directory by graders that were killed (SIGKILL, the
out-of-memory killer) before they could delete them.

Each worker and worker-template folder records its owner: the grader's pid, that process's
start time and its PID namespace (``mark``). ``sweep`` deletes the folders of this user
whose owner is gone: a recorded pid that no longer runs, or runs a different process. A
folder without a readable record is left alone unless it is a day old (a grader may be
between creating it and marking it), and so is one recorded in another PID namespace
(another container sharing this directory: its pids mean nothing here).
"""
import os
import shutil
import stat
import tempfile
import time

PREFIXES = ("grader-template-", "grader-worker-")
OWNER_FILE = ".owner"
UNMARKED_AGE_SECONDS = 86400.0


def _start_time(pid):
    """The start time of process ``pid`` (clock ticks since boot), or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as proc_stat:
            text = proc_stat.read(4096)
    except OSError:
        return None
    fields = text[text.rfind(b")") + 2:].split()  # after "pid (comm) "
    try:
        return int(fields[19])  # field 22 of proc(5), counted from field 3
    except (IndexError, ValueError):
        return None


def _pid_namespace():
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def owner_record(pid=None):
    """The record of process ``pid`` (this one by default): ``PID START NAMESPACE``."""
    pid = os.getpid() if pid is None else pid
    return f"{pid} {_start_time(pid)} {_pid_namespace()}"


def mark(folder):
    """Record this process as the owner of ``folder`` (a private folder it just made)."""
    fd = os.open(os.path.join(folder, OWNER_FILE),
                 os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(owner_record())


def _abandoned(path, info, now):
    """Whether the private folder ``path`` (its ``lstat`` is ``info``) has lost its owner."""
    try:
        fd = os.open(os.path.join(path, OWNER_FILE), os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as record:
            fields = record.read(256).decode("ascii").split()
    except (OSError, UnicodeDecodeError):
        return now - info.st_mtime > UNMARKED_AGE_SECONDS
    if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()):
        return now - info.st_mtime > UNMARKED_AGE_SECONDS
    pid, started, namespace = fields
    if namespace != _pid_namespace():
        return False
    return str(_start_time(int(pid))) != started


def sweep(directory=None):
    """Delete this user's worker and template folders in ``directory`` (the temporary
    directory by default) whose grader is gone; returns the paths deleted. Only private
    folders (not links, owned by this user, mode 0700) are considered."""
    directory = directory or tempfile.gettempdir()
    deleted, now, uid = [], time.time(), os.getuid()
    try:
        names = os.listdir(directory)
    except OSError:
        return deleted
    for name in names:
        if not name.startswith(PREFIXES):
            continue
        path = os.path.join(directory, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not (stat.S_ISDIR(info.st_mode) and info.st_uid == uid
                and info.st_mode & 0o077 == 0):
            continue
        if _abandoned(path, info, now):
            shutil.rmtree(path, ignore_errors=True)
            deleted.append(path)
    return deleted
