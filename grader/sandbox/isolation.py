"""Kernel-level protections for the worker process (trusted side).

Applied in the child between ``fork`` and ``exec`` (``preexec_fn``), before
any student code exists:

- resource limits: address space, CPU time, file size, open files, no core dumps;
- where the kernel allows it (root, or unprivileged user namespaces): a private
  mount namespace in which the project tree (reference solutions, hidden
  checks, ``.git``), the grader's output and any other listed path are covered
  by an empty read-only tmpfs, and a private network namespace with no
  interface up (no network at all);
- then every capability is dropped (bounding set emptied, ``no_new_privs``),
  so the process cannot undo the mounts, even when it runs as uid 0;
- when the grader runs as root, the worker becomes an unprivileged uid of its
  own (one per sandbox, from ``WORKER_UID_BASE``), with a cap on its number of
  processes; that uid owns nothing of the grader's, cannot signal or trace
  other students' workers, and all its processes can be killed at once.

``probe()`` tells which of these work on this machine; the grade report lists
the protections that were active, and a fallback is announced, never silent.
"""
import ctypes
import ctypes.util
import functools
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
CAP_LAST = 63
WORKER_UID_BASE = 61000
WORKER_UID_SPAN = 4000
_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(source and source.encode(), target.encode(),
                       fstype and fstype.encode(), ctypes.c_ulong(flags),
                       data and data.encode()), f"mount {target}")


@dataclass(frozen=True)
class Plan:
    """What to apply in the child: limits always, namespaces when ``namespaces``."""
    memory_bytes: int
    cpu_seconds_total: int
    file_bytes: int
    hide: tuple = ()
    keep: tuple = ()          # paths under a hidden one that must stay visible (the venv)
    stash: str = ""           # an empty folder outside every hidden path
    namespaces: bool = False
    network: bool = False
    uid: int | None = None    # drop to this uid/gid (grader running as root)
    max_processes: int = 64

    def apply(self):
        """Run in the child after fork; raises on any failure (the spawn then fails)."""
        if self.namespaces:
            self._enter_namespaces()
        self._limits()
        if self.namespaces or self.uid is not None:
            _empty_bounding_set()
        if self.uid is not None:  # leaving uid 0 clears every remaining capability
            os.setgroups([])
            os.setgid(self.uid)
            os.setuid(self.uid)
        elif self.namespaces:
            _clear_capabilities()

    def _limits(self):
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds_total, self.cpu_seconds_total))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if self.uid is not None:  # counted per uid: each sandbox has its own
            resource.setrlimit(resource.RLIMIT_NPROC, (self.max_processes, self.max_processes))

    def _enter_namespaces(self):
        flags = CLONE_NEWNS | (CLONE_NEWNET if self.network else 0)
        uid, gid = os.getuid(), os.getgid()
        if uid != 0:
            flags |= CLONE_NEWUSER
        _check(_libc.unshare(flags), "unshare")
        if uid != 0:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"0 {uid} 1")
            _write("/proc/self/gid_map", f"0 {gid} 1")
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        stashed = []
        for i, path in enumerate(self.keep):
            spot = os.path.join(self.stash, str(i))
            os.mkdir(spot)
            _mount(path, spot, None, MS_BIND | MS_REC)
            stashed.append((spot, path))
        for path in self.hide:
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755")
        for spot, path in stashed:
            os.makedirs(path, exist_ok=True)
            _mount(spot, path, None, MS_BIND | MS_REC)
        for path in self.hide:
            _mount(None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _write(path, text):
    with open(path, "w") as fh:
        fh.write(text)


def _empty_bounding_set():
    """No capability can ever be regained, by exec of a setuid file or otherwise."""
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(CAP_LAST + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last cap


def _clear_capabilities():
    """Drop the effective, permitted and inheritable capabilities of this process."""
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def worker_uid():
    """A uid for one sandbox of this grader process, or None when not running as root."""
    if os.getuid() != 0:
        return None
    worker_uid.counter = getattr(worker_uid, "counter", 0) + 1
    return WORKER_UID_BASE + (os.getpid() * 16 + worker_uid.counter) % WORKER_UID_SPAN


def untraversable_ancestors(path):
    """Ancestors of ``path`` that other users cannot enter (such as a 0700 /root)."""
    out, current = [], os.path.dirname(os.path.abspath(path))
    while current != os.path.dirname(current):
        try:
            if not os.stat(current).st_mode & 0o001:
                out.append(current)
        except OSError:
            pass
        current = os.path.dirname(current)
    return out


def _live_pids_of(uid):
    """Pids of the processes of ``uid`` that are not zombies, read from /proc."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", encoding="ascii", errors="replace") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid and \
                not fields.get("State", "").strip().startswith("Z"):
            pids.append(int(name))
    return pids


def kill_all_of(uid):
    """Kill every process of ``uid`` (what escaped the process group too). Root only."""
    if uid is None or uid < WORKER_UID_BASE:
        return
    for _ in range(100):  # about 1 s at most
        if not _live_pids_of(uid):
            return
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child: signal as that uid, so nothing else is hit
            try:
                os.setuid(uid)
                os.kill(-1, 9)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.01)


@dataclass(frozen=True)
class Capabilities:
    """Which protections work on this machine (see ``probe``)."""
    namespaces: bool
    reason: str = ""
    active: tuple = field(default=())


@functools.lru_cache(maxsize=1)
def probe():
    """Try the namespace protections once in a throw-away child process."""
    base = ["separate process", "process-group kill", "time limit", "memory limit (RLIMIT_AS)",
            "CPU-time limit", "isolated sys.path (no grader, no solutions importable)"]
    if not sys.platform.startswith("linux"):
        return Capabilities(False, "not Linux", tuple(base))
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        hidden = os.path.join(tmp, "hidden")
        stash = os.path.join(tmp, "stash")
        os.mkdir(hidden)
        os.mkdir(stash)
        with open(os.path.join(hidden, "secret"), "w") as fh:
            fh.write("x")
        plan = Plan(memory_bytes=1 << 31, cpu_seconds_total=10, file_bytes=1 << 20,
                    hide=(hidden,), stash=stash, namespaces=True, network=True)
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c",
                 f"import os,sys; sys.exit(0 if not os.path.exists({os.path.join(hidden, 'secret')!r}) else 3)"],
                preexec_fn=plan.apply, timeout=30, capture_output=True)
            ok = done.returncode == 0
            reason = "" if ok else f"probe exited with {done.returncode}"
        except (subprocess.SubprocessError, OSError) as exc:
            ok, reason = False, f"{type(exc).__name__}: {exc}"
    if os.getuid() == 0:
        base.append("unprivileged uid of its own, process cap, all its processes killed")
    extra = ["private mount namespace hiding the project, hidden checks and results",
             "no network (private network namespace)", "all capabilities dropped"]
    return Capabilities(ok, reason, tuple(base + (extra if ok else [])))


UID_LOCK_DIR = "/run/dgm-grader-worker-uids"


def claim_worker_uid():
    """(uid, claim): a worker uid that no other sandbox on this machine holds, or (None, None)
    when not running as root.

    ``worker_uid`` alone can give two concurrent grader processes the same uid (pids that
    differ by a multiple of 250), and closing one sandbox would then kill the other's worker.
    Here each uid is held through an exclusive ``flock`` on a root-only file until
    ``release_worker_uid(claim)`` (or the grader process's death); leftovers of a killed
    grader that still run under the uid are killed before it is handed out.
    """
    uid = worker_uid()
    if uid is None:
        return None, None
    import fcntl
    try:
        os.makedirs(UID_LOCK_DIR, mode=0o700, exist_ok=True)
        info = os.lstat(UID_LOCK_DIR)
        if info.st_uid != 0 or info.st_mode & 0o077 or not os.path.isdir(UID_LOCK_DIR) \
                or os.path.islink(UID_LOCK_DIR):
            return uid, None
    except OSError:
        return uid, None  # no /run: the unlocked choice, as before
    for step in range(WORKER_UID_SPAN):
        candidate = WORKER_UID_BASE + (uid - WORKER_UID_BASE + step) % WORKER_UID_SPAN
        fd = os.open(os.path.join(UID_LOCK_DIR, str(candidate)),
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        kill_all_of(candidate)
        return candidate, fd
    return uid, None


def release_worker_uid(claim):
    """Give back a uid claimed by ``claim_worker_uid`` (``claim`` may be None)."""
    if claim is not None:
        try:
            os.close(claim)
        except OSError:
            pass
