"""The trusted side of the sandbox: start, feed, time and kill worker processes.

A ``Sandbox`` holds one worker for one student module. It copies the student's module
into a private folder (0700, owned by the worker's own uid when the grader runs as
root), starts the worker (a fork of the pre-imported template, or a fresh ``python -I``)
with limits and isolation applied before any student code runs (``isolation.py``,
``rootfs.py``: an allow-list root where the kernel allows it), imports the module, and
then answers ``call(steps)`` with an ``Outcome``: the plain results, or what went wrong
(exception, not implemented, timeout, crash, memory, garbage). A worker that dies or
overruns is killed with its whole process group and replaced by a fresh one on the next
call, so one exercise's failure never costs another's. ``close`` leaves nothing behind:
no process, no file.
"""
import dataclasses
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from . import callclock, forkserver, isolation, leftovers, protocol, rootfs
from .limits import Limits

RUNTIME_FILES, TEMPLATE_FILES = forkserver.RUNTIME_FILES, forkserver.TEMPLATE_FILES
_BOOT_ONCE = "import sys; sys.path.insert(0, sys.argv[1]); import zygote; zygote.once()"
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")  # the host's: swept of a worker uid's files


@dataclass
class Outcome:
    """What one request to the worker produced. ``status`` is one of
    ok, error, not_implemented, timeout, crashed, memory, garbage, import_failed."""
    status: str
    results: list = field(default_factory=list)
    message: str = ""
    where: str = ""
    output: str = ""
    seconds: float = 0.0
    # For status "error": the qualified class names along the raised exception's MRO
    # (e.g. ("builtins.ValueError", "builtins.Exception", "builtins.BaseException")).
    error_types: tuple = ()

    @property
    def ok(self):
        return self.status == "ok"


def _signal_name(num):
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _needs_namespaces(protection):
    return any(word in protection for word in ("namespace", "capabilities", "allow-list"))


def _contains(folder, path):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def clip(text, limit):
    """Keep the head and tail of a long text, marking the cut."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n… [{len(text) - limit} characters cut] …\n{text[-half:]}"


class Program:
    """Steps (see ``worker.py``) serialized for the channel once.

    A batch sends the same cases to every student's worker: the engine keeps one
    ``Program`` per case and each call only adds its CPU budget around the stored bytes.
    """

    def __init__(self, steps):
        body = protocol.dumps(protocol.encode(list(steps)))
        cut = body.find(b"\0")  # the JSON part never holds a NUL; the array bytes follow it
        self.json, self.arrays = (body, b"") if cut < 0 else (body[:cut], body[cut + 1:])
        self._last = (None, b"")  # (cpu_seconds, frame): a batch asks for the same again

    def frame(self, cpu_seconds):
        """The framed ``run`` request of these steps with ``cpu_seconds`` of CPU time."""
        last_seconds, last_frame = self._last
        if last_seconds == cpu_seconds:
            return last_frame
        body = b"".join([b'{"op":"run","cpu_seconds":', json.dumps(cpu_seconds).encode(),
                         b',"steps":', self.json, b"}", b"\0" if self.arrays else b"",
                         self.arrays])
        frame = protocol.HEADER.pack(len(body)) + body
        self._last = (cpu_seconds, frame)  # one tuple: threads see the old pair or the new
        return frame


class Sandbox:
    """One untrusted module in a limited worker process; see the module docstring."""

    def __init__(self, module_name, source_path, *, limits=Limits(), hide=(), isolate=True,
                 python=None, preload=("numpy",), warm=True):
        self.module_name = module_name
        # From the template's warm stage (its WARM_MODULES imported: what training needs), or
        # with ``warm=False`` from its first stage, ready about 1.5 s earlier with torch.
        self.warm = warm
        self.source_path = os.path.abspath(source_path)
        self.limits = limits
        self.isolate = isolate
        self.python = python or sys.executable
        self.preload = tuple(preload)
        self.proc = None
        self.import_outcome = None
        self.root = tempfile.mkdtemp(prefix="grader-worker-")  # 0700
        leftovers.mark(self.root)
        # Without namespaces, the listed folders are made unreadable to the worker's uid.
        # A folder that contains the worker's own folder cannot be; results are written
        # only after the worker is gone, so such an output folder leaks nothing.
        self.hide = tuple(sorted({os.path.abspath(p) for p in hide if os.path.isdir(p)
                                  and not _contains(os.path.abspath(p), self.root)}))
        self._decide_isolation()
        self.runtime = os.path.join(self.root, "runtime")
        self.submission = os.path.join(self.root, "submission")
        self.scratch = os.path.join(self.root, "tmp")
        self.output_path = os.path.join(self.root, "output.txt")
        self._output_seen = 0
        self._worker_pid = None
        self._held_is_init = False  # the process held is PID 1 of its own PID namespace
        self._wait_fd = None  # (worker pid, its open schedstat) while that worker lives
        self._interrupted = False
        self.restarts = 0

    # --- lifecycle ------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def protections(self):
        """The protections that are active for this sandbox, in words (for the grade report)."""
        return self._protections

    def _template(self):
        """The ready worker template of this interpreter and package list (its test worker
        tells whether namespaces work here), or None: templates off or not starting."""
        if not forkserver.enabled():
            return None
        try:
            server = forkserver.server_for(self.python, self.preload, forkserver.base_env(),
                                           forkserver.template_files())
        except (forkserver.ForkServerError, OSError, ValueError):
            return None
        isolation.record(server.namespaces, server.reason)
        return server

    def _decide_isolation(self):
        """Namespaces and uid for this machine; fall back loudly where something is missing."""
        self._server = self._template()
        caps = isolation.probe()
        self.namespaces = self.isolate and caps.namespaces
        self.uid, self._uid_claim = isolation.claim_worker_uid()
        active = [p for p in caps.active if self.namespaces or not _needs_namespaces(p)]
        if not self.namespaces:
            prefixes = sorted({os.path.abspath(sys.prefix), os.path.abspath(sys.base_prefix)})
            blocked = sorted({a for p in prefixes for a in isolation.untraversable_ancestors(p)})
            if self.uid is not None and blocked:
                self.uid = None
                isolation.release_worker_uid(self._uid_claim)
                self._uid_claim = None
                active = [p for p in active if "uid" not in p]
                active.append(f"NOT dropped to an unprivileged uid: Python lives under "
                              f"{blocked[0]}, which other users cannot enter")
            owner = f"uid {self.uid}" if self.uid is not None else "the grader's own user"
            active.append(
                "NO private filesystem view: NO allow-list root, NO own PID namespace, "
                "NO network namespace ("
                + (caps.reason or "disabled") + "): the worker sees the host's files that "
                f"{owner} can read and the host's processes; its submission copy and scratch "
                f"are still private (0700, {owner})" + self._lock_hidden_paths(prefixes))
        self._protections = tuple(active)

    def _lock_hidden_paths(self, prefixes):
        """Without namespaces, as root: make the hidden folders unreadable to the worker's uid."""
        if self.uid is None:
            return ""
        locked = []
        for path in outermost(self.hide):
            if any(_contains(path, p) for p in prefixes):
                continue
            mode = os.stat(path).st_mode
            if mode & 0o007:
                os.chmod(path, mode & ~0o007)
            locked.append(path)
        return f"; made unreadable to the worker's uid instead: {', '.join(locked)}" if locked \
            else ""

    def _plan(self):
        return isolation.Plan(
            memory_bytes=self.limits.memory_bytes,
            cpu_seconds_total=self.limits.cpu_seconds_total,
            file_bytes=self.limits.file_bytes, namespaces=self.namespaces,
            network=self.namespaces, submission=self.submission,
            scratch_bytes=self.limits.scratch_bytes, uid=self.uid,
            max_processes=self.limits.max_processes)

    def _prepare_files(self):
        """The private copy of the module (and, without namespaces, a private TMPDIR)."""
        for folder in (self.submission, self.scratch):
            shutil.rmtree(folder, ignore_errors=True)
            os.mkdir(folder, 0o700)
        target = os.path.join(self.submission, self.module_name + ".py")
        shutil.copyfile(self.source_path, target)
        os.chmod(target, 0o600)
        if self.uid is not None:  # the worker's uid owns its copy; nobody else can read it
            for path in (self.submission, target, self.scratch):
                os.chown(path, self.uid, self.uid)
            if not self.namespaces:  # it must pass through the 0700 folder on the host
                os.chown(self.root, self.uid, self.uid)

    @property
    def _inside_submission(self):
        """The submission folder as the worker sees it."""
        return rootfs.SUBMISSION if self.namespaces else self.submission

    def start(self):
        """Start a fresh worker and import the module; returns the import ``Outcome``."""
        self._kill()
        if self._interrupted:
            return self._stopped()
        self._prepare_files()
        self._worker_pid = None
        self._held_is_init = False
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        config = {"fd_in": to_worker_r, "fd_out": from_worker_w,
                  "module_name": self.module_name, "allowed": list(self.preload),
                  "module_path": os.path.join(self._inside_submission,
                                              self.module_name + ".py")}
        env = forkserver.base_env()
        plan = self._plan()
        fd = os.open(self.output_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        with open(fd, "ab") as out:
            self._output_seen = out.tell()
            self.proc = self._spawn(plan, config, env, out, to_worker_r, from_worker_w)
        os.close(to_worker_r)
        os.close(from_worker_w)
        if self.proc is None:  # interrupted while waiting for the template
            os.close(to_worker_w)
            os.close(from_worker_r)
            return self._stopped()
        self._to_worker = os.fdopen(to_worker_w, "wb", buffering=0)
        self._from_worker = from_worker_r
        if self._interrupted:  # ``interrupt`` came before the worker existed: it ends now
            self.interrupt()
        outcome = self._request(self._frame({"op": "import"}), self.limits.import_seconds)
        if not outcome.ok:
            outcome.status = "import_failed" if outcome.status in ("error", "not_implemented") \
                else outcome.status
            self._kill()
        self.import_outcome = outcome
        return outcome

    def _spawn(self, plan, config, env, out, to_worker_r, from_worker_w):
        """Fork the worker from the pre-imported template, or start a fresh interpreter."""
        inside = self._inside_submission
        scratch = "/tmp" if self.namespaces else self.scratch
        worker_env = dict(env, HOME=scratch, TMPDIR=scratch)
        request = {"plan": dataclasses.asdict(plan), "env": worker_env, "cwd": inside,
                   "config": config}
        if self._server is not None and (self._server.namespaces or not self.namespaces):
            try:
                return self._server.spawn(request, (out.fileno(), to_worker_r, from_worker_w),
                                          warm=self.warm, cancelled=lambda: self._interrupted)
            except (forkserver.ForkServerError, OSError, TimeoutError, ValueError):
                pass  # fall back to a fresh interpreter
        if self._interrupted:
            return None
        os.makedirs(self.runtime, mode=0o700, exist_ok=True)
        forkserver.copy_runtime(forkserver.template_files(), self.runtime)
        options = {"preload": list(self.preload), "view": self.namespaces,
                   "folder": self.runtime}
        return subprocess.Popen(
            [self.python, "-I", "-c", _BOOT_ONCE, self.runtime, json.dumps(options),
             json.dumps(request)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            pass_fds=(to_worker_r, from_worker_w), cwd=self.runtime, env=env,
            start_new_session=True)

    def close(self):
        """Kill the worker and delete everything of it: its folder, and without namespaces
        whatever its uid left in the host's /tmp, /var/tmp and /dev/shm."""
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)
        if self.uid is not None and not self.namespaces:
            isolation.remove_files_of(self.uid, SCRATCH_DIRS)
        isolation.release_worker_uid(getattr(self, "_uid_claim", None))
        self._uid_claim = None

    def _kill(self):
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        # What left the process group (setsid, double fork) is killed by uid, except when the
        # process just reaped was PID 1 of the worker's own PID namespace (seen while it
        # lived): that exit completes only once the kernel has killed and reaped every
        # process of the namespace, and none can start one outside it. A relay in between
        # (a fresh interpreter, or a template that may not fork into a PID namespace) can
        # die before the worker does: then the scan stays.
        if not self._held_is_init:
            isolation.kill_all_of(self.uid)
        self._close_wait_fd()
        for stream in (getattr(self, "_to_worker", None),):
            if stream is not None:
                stream.close()
        os.close(self._from_worker)
        self.proc = None

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def interrupt(self):
        """Kill the worker now, from any thread: the call in progress ends as ``crashed``, and so
        does every later one (no worker starts any more, not even one waiting for the
        template).

        Only signals: the pipes and the process handle stay with the owning thread,
        which cleans up in ``close()``.
        """
        self._interrupted = True
        proc = self.proc
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    @staticmethod
    def _stopped():
        return Outcome("crashed", message="the grading was interrupted; the worker was stopped")

    # --- calls ----------------------------------------------------------
    def call(self, steps, *, seconds=None):
        """Run ``steps`` (see ``worker.py``; a list or a ``Program``) in the worker; returns
        an ``Outcome``."""
        if self.import_outcome is not None and not self.import_outcome.ok:
            return self.import_outcome
        if self.import_outcome is None or not self.alive:
            if self.import_outcome is not None:
                self.restarts += 1
            first = self.start()
            if not first.ok:
                return first
        seconds = seconds or self.limits.call_seconds
        program = steps if isinstance(steps, Program) else Program(steps)
        return self._request(program.frame(max(seconds, self.limits.cpu_seconds)), seconds)

    def _request(self, frame, seconds):
        clock = callclock.CallClock(seconds, self._find_worker, self._run_queue_wait)
        try:
            self._to_worker.write(frame)
        except (BrokenPipeError, OSError):
            return self._died(clock.start)
        try:
            message = self._receive(clock)
        except TimeoutError:
            self._kill()
            if clock.starved:
                message = (f"did not finish within {clock.seconds * callclock.BACKSTOP_FACTOR:g} s "
                           f"of wall-clock time: the machine was too busy to give it its "
                           f"{seconds:g} s limit; the worker was stopped")
            else:
                message = f"took longer than the {seconds:g} s limit; the worker was stopped"
            return Outcome("timeout", message=message, output=self._new_output(),
                           seconds=time.monotonic() - clock.start)
        except EOFError:
            return self._died(clock.start)
        except protocol.ProtocolError as exc:
            self._kill()
            return Outcome("garbage", message=f"the answer broke the channel's limits: {exc}",
                           output=self._new_output(), seconds=time.monotonic() - clock.start)
        outcome = self._interpret(message)
        outcome.seconds = time.monotonic() - clock.start
        outcome.output = self._new_output()
        return outcome

    def _find_worker(self):
        """The host pid of the worker's main thread, or None while unknown; what ``CallClock``
        reads the waiting time of. With namespaces the process started is either the worker
        itself (PID 1 of its own PID namespace) or the parent left outside it, whose only
        child is the worker."""
        if self._worker_pid is None and self.proc is not None:
            pid = self.proc.pid
            self._held_is_init = self.namespaces and callclock.is_namespace_init(pid)
            if self.namespaces and not self._held_is_init:
                pid = callclock.only_child(pid)
            self._worker_pid = pid
        return self._worker_pid

    def _run_queue_wait(self, pid):
        """``callclock.run_queue_wait`` of the worker ``pid``, from a descriptor kept open for
        as long as that worker lives (one system call per request instead of six)."""
        if self._wait_fd is None or self._wait_fd[0] != pid:
            self._close_wait_fd()
            fd = callclock.open_wait(pid)
            if fd is None:
                return None
            self._wait_fd = (pid, fd)
        return callclock.read_wait(self._wait_fd[1])

    def _close_wait_fd(self):
        if self._wait_fd is not None:
            os.close(self._wait_fd[1])
            self._wait_fd = None

    @staticmethod
    def _frame(message):
        body = protocol.dumps(message)
        return protocol.HEADER.pack(len(body)) + body

    def _receive(self, clock):
        header = self._read(protocol.HEADER.size, clock)
        (length,) = protocol.HEADER.unpack(header)
        if length > self.limits.message_bytes:
            raise protocol.ProtocolError(f"an answer of {length} bytes (limit "
                                         f"{self.limits.message_bytes >> 20} MiB per call)")
        return protocol.parse_body(self._read(length, clock))

    def _read(self, n, clock):
        """``n`` bytes of the answer; raises TimeoutError when ``clock`` runs out first."""
        chunks, left = [], n
        while left:
            wait = clock.next_wait()
            if wait is None:
                raise TimeoutError
            ready, _, _ = select.select([self._from_worker], [], [], wait)
            if not ready:
                continue
            chunk = os.read(self._from_worker, min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _died(self, start):
        proc = self.proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:  # closed its channel but kept running
                code = None
        output = self._new_output()
        self._kill()
        if code is None:
            message = "the worker closed its channel and was stopped"
        elif code < 0:
            name = _signal_name(-code)
            reasons = {"SIGXCPU": "exceeded its CPU-time limit",
                       "SIGXFSZ": "wrote more than the file-size limit",
                       "SIGSEGV": "crashed (segmentation fault)",
                       "SIGKILL": "was killed (memory or process limit)"}
            message = f"the worker {reasons.get(name, 'was killed')} ({name})"
        else:
            message = f"the process exited with code {code} (os._exit or a crash)"
        status = "memory" if "memory" in message else "crashed"
        return Outcome(status, message=message, output=output, seconds=time.monotonic() - start)

    def _interpret(self, message):
        if not isinstance(message, dict) or not isinstance(message.get("ok"), bool):
            self._kill()
            return Outcome("garbage", message="the worker sent an answer of the wrong form")
        if message["ok"]:
            try:
                results = protocol.decode(message.get("results", []))
            except protocol.ProtocolError as exc:
                self._kill()  # a worker that broke the format gets no second answer read
                return Outcome("garbage", message=f"the answer broke the channel's limits: {exc}")
            if not isinstance(results, list):
                return Outcome("garbage", message="the worker sent results of the wrong form")
            return Outcome("ok", results=results)
        error = message.get("error")
        if not isinstance(error, dict):
            return Outcome("garbage", message="the worker sent an error of the wrong form")
        text = str(error.get("message", ""))[:4000]
        if error.get("not_implemented"):
            return Outcome("not_implemented", message="not implemented yet")
        if error.get("memory"):
            return Outcome("memory", message=f"ran out of memory (limit "
                           f"{self.limits.memory_bytes >> 20} MiB): {text}")
        return Outcome("error", message=self._local_paths(text),
                       where=self._local_paths(str(error.get("where", ""))[:4000]),
                       error_types=_error_types(error))

    def _new_output(self):
        try:
            if os.stat(self.output_path).st_size == self._output_seen:
                return ""  # nothing printed since the last call (the usual case): one stat
            with open(self.output_path, "rb") as fh:
                fh.seek(self._output_seen)
                data = fh.read(1 << 20)
                self._output_seen = fh.tell()
        except OSError:
            return ""
        return clip(self._local_paths(data.decode("utf-8", "replace")), self.limits.output_bytes)

    def _local_paths(self, text):
        """Show the student's file by its name, not by the worker's private path."""
        return text.replace(self.submission + os.sep, "").replace(
            self._inside_submission + os.sep, "")


def _error_types(error):
    """The worker's list of exception class names, kept only when it is a list of short strings."""
    types = error.get("types")
    if not isinstance(types, list):
        return (str(error.get("type", ""))[:200],)
    return tuple(t[:200] for t in types[:20] if isinstance(t, str))


def outermost(paths):
    """``paths`` without those inside another one of them: a folder covered by an empty tmpfs
    has no subfolders left to cover, so nested hide paths would make the mount fail."""
    out = []
    for path in sorted({os.path.abspath(p) for p in paths}):
        if not any(_contains(kept, path) for kept in out):
            out.append(path)
    return tuple(out)
