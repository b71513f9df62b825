"""Kernel-level protections for the worker process (trusted side).

Applied in the worker process itself before any student code exists (``Plan.apply``,
called by ``zygote.py`` in a fork of the template, or in a fresh interpreter):

- resource limits: address space, CPU time, file size, open files, no core dumps;
- where the kernel allows it (root, or unprivileged user namespaces): new mount, PID
  and network namespaces. The worker is PID 1 of its new PID namespace (it sees no
  other process, and when it dies the kernel kills everything it started): a template
  running as root forks it straight into one (``zygote.py``); elsewhere the process
  forks once more here, and the parent left outside only waits and passes on how the
  child ended. It then ``pivot_root``s into an allow-list root (``rootfs.py``): the
  interpreter, the allowed packages, its private submission and scratch, nothing
  else of the host. The network namespace has no interface up (no network at all);
- then every capability is dropped (bounding set emptied, ``no_new_privs``), so the
  process cannot undo the mounts, even when it runs as uid 0;
- when the grader runs as root, the worker becomes an unprivileged uid of its own
  (one per sandbox, from ``WORKER_UID_BASE``), with a cap on its number of
  processes; that uid owns nothing of the grader's, cannot signal or trace other
  students' workers, and all its processes can be killed at once.

``probe()`` tells which of these work on this machine; the grade report lists the
protections that were active, and a fallback is announced, never silent.
"""
import ctypes
import functools
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
CAP_LAST = 63
WORKER_UID_BASE = 61000
WORKER_UID_SPAN = 4000
SETTLE_PAUSES = (0.001, 0.002, 0.004, 0.008, 0.016)  # seconds: waits for exiting processes
_CAP_VERSION_3 = 0x20080522
_SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


# The C library is already loaded in every Python process: no ctypes.util.find_library,
# which runs ldconfig in a subprocess (a quarter of a second on a busy machine).
_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret, what):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source, target, fstype, flags, data=None):
    """mount(2); raises ``OSError`` naming the target."""
    _check(_libc.mount(source and source.encode(), target.encode(),
                       fstype and fstype.encode(), ctypes.c_ulong(flags),
                       data and data.encode()), f"mount {target}")


def umount(target, flags=0):
    """umount2(2)."""
    _check(_libc.umount2(target.encode(), flags), f"umount {target}")


def pivot_root(new_root, put_old):
    """pivot_root(2) (no libc wrapper: the raw system call)."""
    if _SYS_PIVOT_ROOT is None:
        raise OSError(38, "pivot_root: unknown system call number on this architecture")
    _check(_libc.syscall(_SYS_PIVOT_ROOT, new_root.encode(), put_old.encode()), "pivot_root")


def unshare(flags):
    """unshare(2)."""
    _check(_libc.unshare(flags), "unshare")


def setns(fd, nstype):
    """setns(2): join the namespace that ``fd`` refers to."""
    _check(_libc.setns(fd, nstype), "setns")


def enter_user_namespace_if_needed(flags):
    """unshare ``flags``; without root, inside a new user namespace where we are uid 0."""
    uid, gid = os.getuid(), os.getgid()
    unshare(flags | (CLONE_NEWUSER if uid != 0 else 0))
    if uid != 0:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")


@dataclass(frozen=True)
class Plan:
    """What to apply in the worker: limits always; namespaces and the allow-list root
    (the template's read-only ``root`` plus the private ``submission`` and scratch)
    when ``namespaces``."""
    memory_bytes: int
    cpu_seconds_total: int
    file_bytes: int
    namespaces: bool = False
    network: bool = False
    root: str = ""            # the skeleton built by rootfs.build_skeleton (template's namespace)
    submission: str = ""      # host folder shown at /submission
    scratch_bytes: int = 64 << 20
    uid: int | None = None    # drop to this uid/gid (grader running as root)
    max_processes: int = 64
    # Already PID 1 of a PID namespace of its own (the template forked it into one): then
    # no second fork here, and the template itself reaps the worker.
    own_pid_namespace: bool = False

    def apply(self):
        """Run in the worker before any student code; raises on any failure (no worker then)."""
        os.umask(0o077)  # what the worker writes is its own alone
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
        if self.namespaces:  # set after the uid change, which would clear it
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def _limits(self):
        resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds_total, self.cpu_seconds_total))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if self.uid is not None:  # counted per uid: each sandbox has its own
            resource.setrlimit(resource.RLIMIT_NPROC, (self.max_processes, self.max_processes))

    def _enter_namespaces(self):
        import rootfs  # the template's copy (this runs in the worker only)
        flags = CLONE_NEWNS | (CLONE_NEWNET if self.network else 0)
        if self.own_pid_namespace:
            if os.getpid() != 1:
                raise OSError(22, "the worker is not PID 1 of a PID namespace of its own")
            enter_user_namespace_if_needed(flags)
        else:
            enter_user_namespace_if_needed(flags | CLONE_NEWPID)
            pid = os.fork()
            if pid:
                _relay_exit_of(pid)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        rootfs.enter(self.root, self.submission, self.scratch_bytes, self.uid)


def _relay_exit_of(pid):
    """In the parent left outside the PID namespace: end exactly as the worker ``pid`` ends."""
    for fd in range(3, 1024):  # hold no end of the worker's channel: its death shows as EOF
        try:
            os.close(fd)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)


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
    """Pids of the processes of ``uid`` that are not zombies, read from /proc.

    One ``stat`` per process (the owner of ``/proc/<pid>``); only that uid's processes are
    read further: the scan runs at least once per worker, on machines with many processes.
    """
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != b"Z":
            pids.append(int(name))
    return pids


def remove_files_of(uid, folders):
    """Delete the entries of ``folders`` (top level) owned by ``uid``: what a worker without
    namespaces left in the host's shared scratch folders. Root only."""
    import shutil
    if uid is None or uid < WORKER_UID_BASE:
        return
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def kill_all_of(uid):
    """Kill every process of ``uid`` (what escaped the process group too). Root only.

    The signal is sent by a short-lived interpreter that becomes ``uid`` first, so nothing
    else can be hit. It is started with ``subprocess`` (vfork and exec), never ``os.fork``:
    forking the grader runs OpenBLAS's fork handlers, which stop its thread pool under the
    feet of another grading thread in the middle of a BLAS call (that call then never
    returns).
    """
    if uid is None or uid < WORKER_UID_BASE:
        return
    # Usually what is left was already killed with its group or its PID namespace and is
    # only still exiting: give it a few milliseconds before starting an interpreter for it
    # (that start costs more CPU than grading a small exercise).
    for pause in SETTLE_PAUSES:
        if not _live_pids_of(uid):
            return
        time.sleep(pause)
    script = f"import os; os.setgroups([]); os.setgid({uid}); os.setuid({uid}); os.kill(-1, 9)"
    for _ in range(20):  # about 1 s at most
        if not _live_pids_of(uid):
            return
        subprocess.run([sys.executable, "-I", "-S", "-c", script], check=False,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env={}, timeout=10)
        time.sleep(0.01)


@dataclass(frozen=True)
class Capabilities:
    """Which protections work on this machine (see ``probe``)."""
    namespaces: bool
    reason: str = ""
    active: tuple = field(default=())


_MEASURED = []  # the answer of a worker template's own test (``record``), when there was one


def record(namespaces, reason=""):
    """Keep what a worker template found when it forked its test worker (``zygote.self_test``):
    ``probe`` then answers from it instead of starting a process of its own."""
    _MEASURED[:] = [_capabilities(bool(namespaces), "" if namespaces else reason)]


def probe():
    """Which protections work on this machine: a worker template's test when one ran
    (``record``), else a test in a throw-away process (``self_test``), once."""
    return _MEASURED[0] if _MEASURED else _probe_in_process()


@functools.lru_cache(maxsize=1)
def _probe_in_process():
    if not sys.platform.startswith("linux"):
        return _capabilities(False, "not Linux")
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
             "import isolation; isolation.self_test()", here],
            timeout=30, capture_output=True, env={"PATH": "/usr/bin:/bin"})
        ok = done.returncode == 0
        reason = "" if ok else (done.stderr.decode(errors="replace").strip().splitlines()
                                or [f"probe exited with {done.returncode}"])[-1][:300]
    except (subprocess.SubprocessError, OSError) as exc:
        ok, reason = False, f"{type(exc).__name__}: {exc}"
    return _capabilities(ok, reason)


def _capabilities(ok, reason):
    base = ["separate process", "process-group kill", "time limit", "memory limit (RLIMIT_AS)",
            "CPU-time limit", "isolated sys.path (no grader, no solutions importable)",
            "imports limited to the homework's packages (import hook)"]
    if not sys.platform.startswith("linux"):
        return Capabilities(False, "not Linux", tuple(base))
    if os.getuid() == 0:
        base.append("unprivileged uid of its own, process cap, all its processes killed")
    extra = ["allow-list root (pivot_root): only the interpreter, the homework's packages, "
             "its own submission copy; private size-capped /tmp, /var/tmp, /dev/shm",
             "own PID namespace and /proc (no other process visible; all its processes "
             "die with it)", "no network (private network namespace)",
             "all capabilities dropped"]
    return Capabilities(ok, reason, tuple(base + (extra if ok else [])))


def try_worker(root, folder):
    """Fork one worker into the read-only ``root`` with every namespace, as a real one would
    enter it; "" when it saw only its own world, else the reason. ``folder`` is a private host
    folder that must be invisible from inside. Runs no student code."""
    import tempfile
    submission = tempfile.mkdtemp(dir=folder)
    reason_r, reason_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 4
        try:
            os.close(reason_r)
            Plan(memory_bytes=1 << 31, cpu_seconds_total=10, file_bytes=1 << 20,
                 namespaces=True, network=True, root=root, submission=submission).apply()
            pids = [n for n in os.listdir("/proc") if n.isdigit()]
            code = 3 if os.path.exists(folder) or pids != ["1"] else 0
        except BaseException as exc:  # noqa: BLE001 - the reason goes to the report
            os.write(reason_w, f"{type(exc).__name__}: {exc}".encode()[:300])
        finally:
            os._exit(code)
    os.close(reason_w)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(reason_r, "rb") as fh:
        said = fh.read(300).decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code == 0:
        return ""
    if code == 3:
        return "a test worker still saw the host's files or processes"
    return said or f"a test worker could not enter its namespaces (exit {code})"


def self_test():
    """Build a tiny allow-list root and enter it as a worker would; exit 0 when all works."""
    import tempfile

    import rootfs
    with tempfile.TemporaryDirectory() as tmp:
        skeleton = os.path.join(tmp, "root")
        os.mkdir(skeleton)
        enter_user_namespace_if_needed(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        rootfs.build_skeleton(skeleton, [])
        reason = try_worker(skeleton, tmp)
        umount(skeleton, MNT_DETACH)
    if reason:
        sys.stderr.write(reason + "\n")
        sys.exit(1)


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
