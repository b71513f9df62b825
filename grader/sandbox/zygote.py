"""The worker template: a process with numpy (and torch) imported that forks fresh workers.

Started once per grader process and homework kind by ``forkserver.py``. It runs
no student code itself. After its imports, where namespaces are available, it
enters a mount namespace of its own and builds there the read-only part of the
workers' allow-list root (``rootfs.build_skeleton``), once, then forks one test
worker into it (``isolation.try_worker``): its ready message says whether workers can use
namespaces and the root, and if not, why. On each request (a
JSON message with three file descriptors attached: output file, request pipe,
answer pipe) it forks (as root, straight into a new PID namespace whose PID 1 the
child becomes); the child starts a new session, applies the sandbox plan
(limits, namespaces with the private parts of the root, uid: ``isolation.Plan``),
and becomes a worker exactly like a freshly started one, minus the interpreter
start, the imports and the read-only root. Children are reaped here and their exit
statuses reported back as soon as they end (SIGCHLD wakes the loop), so the
supervisor sees crashes as before. Every submission
gets its own fork of the pristine template: nothing leaks from one student to the
next.

Two stages when the preloaded packages have ``WARM_MODULES`` (torch): as soon as the
packages are imported, the template forks a second template, the *warm* one, which
imports the warm modules (torch._dynamo, about 1.5 s) while the first builds the root and
already forks workers for the checks that need no warm module; the warm template then
forks the workers of the checks that train (``Check.trains``), on a control socket of its
own. It is a fork of the same pristine process, with the same root (built in the mount
namespace they share) and the same protections; it serves only when every file its warm
imports loaded lies inside that root (else its workers come from the first template and
import what they use themselves).

``once`` does the same for a single worker without a template (``GRADER_FORKSERVER=0``
or a template that could not start): the process preloads, builds its root and
becomes the worker itself.
"""
import gc
import importlib
import json
import os
import select
import shutil
import signal
import socket
import sys
import traceback

import isolation
import rootfs
import worker

MAX_REQUEST = 1 << 20
# Submodules that a preloaded package imports lazily, on first use, at a cost that every
# worker would pay again: the template's warm stage imports them once, after the package,
# while its first stage serves the workers that need none of them. torch's optimizers
# import torch._dynamo on their first call (``torch._disable_dynamo``): about 1.5 s of CPU,
# with sympy and torch.fx. All of it lives inside the package and the packages it
# requires, so the allow-list root built before holds it already (the warm stage checks).
WARM_MODULES = {"torch": ("torch._dynamo",)}
VIEW_BYTES = 1 << 20  # the pipe that describes the root to the warm template


def preload(names):
    """Import the homework's packages (a missing package fails the worker's own import later).
    Their ``WARM_MODULES`` are imported only by a template's warm stage (``_warm_stage``): a
    single worker imports such a submodule when it uses it, if ever."""
    def run():
        for name in names:
            try:
                importlib.import_module(name)
            except ImportError:
                continue
    _frozen_imports(run)


def warm_modules(names):
    """The ``WARM_MODULES`` of the packages ``names`` that are imported, in order."""
    return [m for name in names if name in sys.modules for m in WARM_MODULES.get(name, ())]


def _import_warm(modules):
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 - warming is an optimization only
            pass


def _frozen_imports(run):
    """Run ``run`` (imports) with the cyclic garbage collector off, then freeze what it built.

    The collector's passes over the growing heap cost about a fifth of torch's import, and
    with the imported objects frozen (``gc.freeze``) the workers' own collections never walk
    them again, nor write to (and so copy) the pages they share with the template. The
    collector is on again before any worker is forked.
    """
    gc.disable()
    try:
        run()
    finally:
        gc.freeze()
        gc.enable()


def enter_view():
    """Enter a private mount namespace (where the read-only root is built)."""
    isolation.enter_user_namespace_if_needed(isolation.CLONE_NEWNS)
    isolation.mount(None, "/", None, isolation.MS_REC | isolation.MS_PRIVATE)


def build_view(allowed, folder):
    """Build the read-only root in ``folder``/root (in the namespace ``enter_view`` entered);
    returns (root, its allow-list, what was bound)."""
    target = os.path.join(folder, "root")
    os.makedirs(target, exist_ok=True)
    paths = rootfs.allow_list(allowed)
    return target, paths, rootfs.build_skeleton(target, paths)


def prepare_view(allowed, folder):
    """Enter a private mount namespace and build the read-only root in ``folder``/root."""
    enter_view()
    return build_view(allowed, folder)[0]


def become_worker(request, root, fd_in, fd_out, own_pid_namespace=False):
    """Apply the plan (in the allow-list ``root`` when namespaces are on) and serve.
    ``own_pid_namespace``: this process is already PID 1 of a PID namespace of its own."""
    isolation.Plan(**dict(request["plan"], root=root,
                          own_pid_namespace=own_pid_namespace)).apply()
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    worker.run(dict(request["config"], fd_in=fd_in, fd_out=fd_out))


def _finish(run):
    code = 70
    try:
        run()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and exit; the supervisor sees the status
        traceback.print_exc()
    finally:
        _exit_now(code)


def _child(ctl, wakeup, request, fds, root, pid_ns, own_pid_namespace):
    def run():
        ctl.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in wakeup + ((pid_ns,) if pid_ns is not None else ()):
            os.close(fd)  # the host's PID namespace above all: no way back to it
        os.setsid()
        out_fd, fd_in, fd_out = fds
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        become_worker(request, root, fd_in, fd_out, own_pid_namespace=own_pid_namespace)
    _finish(run)


def _host_pid_namespace():
    """A descriptor of this process's PID namespace when it can fork each worker straight into
    a PID namespace of its own (``unshare``, fork, then back with ``setns``), else None.

    Only where the template may enter its own PID namespace again (root in the host's user
    namespace); elsewhere each worker forks once more itself (``Plan.apply``) and a relay
    process stays outside. Forking directly saves that second process per worker, and the
    template reaps the worker itself, after the kernel has killed everything in its
    namespace.
    """
    try:
        fd = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        isolation.setns(fd, isolation.CLONE_NEWPID)  # a no-op that needs the same right
    except OSError:
        os.close(fd)
        return None
    return fd


def _fork_worker(ctl, wakeup, request, fds, root, pid_ns):
    """Fork the worker of ``request`` (into a new PID namespace when ``pid_ns``); its pid."""
    own = pid_ns is not None
    if own:
        try:
            isolation.unshare(isolation.CLONE_NEWPID)  # for the next child only
        except OSError:  # (a namespace limit) the child makes its own, or reports why not
            own = False
    try:
        pid = os.fork()
        if pid == 0:
            _child(ctl, wakeup, request, fds, root, pid_ns, own)
    finally:
        if own:
            isolation.setns(pid_ns, isolation.CLONE_NEWPID)
    return pid


def _reap(ctl, quiet):
    """Reap the ended children; report the workers' exits. ``quiet``: children that are not
    workers (the warm template), dropped from the set once reaped."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in quiet:
            quiet.discard(pid)
            continue
        ctl.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


def main():
    """``zygote.py OPTIONS_JSON CONTROL_FD``: preload, build the root, serve fork requests.

    OPTIONS: ``{"preload": [...], "view": bool, "folder": path, "warm_control": fd}``; the
    warm template (when the packages have warm modules) serves on ``warm_control``, which
    is otherwise closed at once. ``-`` instead of OPTIONS: the first message on the control
    socket holds them (a spare template, started before the grader knew which packages it
    needs); an empty message there (the grader is gone) ends it.
    """
    ctl = socket.socket(fileno=int(sys.argv[-1]))
    if sys.argv[-2] == "-":
        message = ctl.recv(MAX_REQUEST)
        if not message:
            _exit_now(0)
        options = json.loads(message)
    else:
        options = json.loads(sys.argv[-2])
    warm_control = options.get("warm_control")
    preload(options["preload"])
    view = {"root": "", "reason": "not asked for", "allowed": [], "binds": []}
    entered = False
    if options.get("view"):
        try:
            enter_view()
            entered = True
        except OSError as exc:
            view["reason"] = str(exc)
    warm = warm_modules(options["preload"]) if warm_control is not None else []
    warm_stage = _start_warm_stage(ctl, warm_control, warm) if warm else None
    if warm_control is not None:
        os.close(warm_control)
    if entered:
        try:
            view["root"], view["allowed"], view["binds"] = build_view(options["preload"],
                                                                      options["folder"])
            view["reason"] = isolation.try_worker(view["root"], options["folder"])
        except OSError as exc:
            view["reason"] = str(exc)
    children = set()
    if warm_stage is not None:
        pid, view_w = warm_stage
        children.add(pid)
        _send_view(view_w, view)
    root, reason = view["root"], view["reason"]
    code = 0
    try:
        ctl.send(json.dumps({"ready": True, "namespaces": not reason, "reason": reason}).encode())
        _serve(ctl, root if not reason else "", quiet=children)
    except OSError:  # the supervisor is gone (a report could not be sent)
        pass
    except BaseException:  # noqa: BLE001 - reported here: _exit_now skips the default report
        traceback.print_exc()
        code = 1
    finally:  # also when the grader was killed: its end of the socket closed
        for pid in children:  # the warm template (not reaped yet: its pid is still ours)
            _kill_and_reap(pid)
        if root:
            isolation.umount(root, isolation.MNT_DETACH)
        shutil.rmtree(options["folder"], ignore_errors=True)
        # The grader waits for this exit: skip the interpreter's teardown of numpy and torch
        # (tens of milliseconds to seconds), which has nothing left to clean up.
        _exit_now(code)


def _kill_and_reap(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _start_warm_stage(ctl, warm_control, modules):
    """Fork the warm template (``_warm_stage``); returns (its pid, the pipe that takes the
    root's description to it once built)."""
    view_r, view_w = os.pipe()
    try:
        import fcntl
        fcntl.fcntl(view_w, fcntl.F_SETPIPE_SZ, VIEW_BYTES)  # never blocks the first stage
    except (ImportError, AttributeError, OSError):
        pass
    pid = os.fork()
    if pid == 0:
        os.close(view_w)
        ctl.close()
        _warm_stage(warm_control, view_r, modules)  # never returns
    os.close(view_r)
    return pid, view_w


def _send_view(fd, view):
    try:
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(json.dumps(view).encode())
    except OSError:  # the warm template is gone: its socket tells the supervisor
        pass


def _warm_stage(warm_control, view_r, modules):
    """The warm template: import ``modules``, then serve forks on ``warm_control`` with the
    root that the first stage built (described on ``view_r``)."""
    code = 0
    try:
        ctl = socket.socket(fileno=warm_control)
        before = set(sys.modules)
        mapped = set(rootfs.mapped_libraries())
        _frozen_imports(lambda: _import_warm(modules))
        with os.fdopen(view_r, "rb") as pipe:
            view = json.loads(pipe.read() or b"null")
        if not isinstance(view, dict):
            raise OSError("the first template stage ended before its root was built")
        root, reason = view["root"], view["reason"]
        if root and not reason:
            loaded = [getattr(sys.modules[name], "__file__", None) for name in
                      set(sys.modules) - before]
            loaded += [path for path in rootfs.mapped_libraries() if path not in mapped]
            missing = rootfs.uncovered([p for p in loaded if p], view["allowed"] + view["binds"])
            if missing:
                ctl.send(json.dumps({"ready": False, "error": (
                    f"the warm modules loaded {missing[0]}, outside the workers' root")[:300]
                    }).encode())
                return
            rootfs.adopt_skeleton(view["binds"])
        ctl.send(json.dumps({"ready": True, "namespaces": not reason, "reason": reason}).encode())
        _serve(ctl, root if not reason else "")
    except OSError:  # the supervisor or the first stage is gone
        pass
    except BaseException:  # noqa: BLE001 - reported here: _exit_now skips the default report
        traceback.print_exc()
        code = 1
    finally:  # the root and the folder belong to the first stage, which cleans them up
        _exit_now(code)


def _exit_now(code):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


def _serve(ctl, root, quiet=None):
    """Fork a worker for each request until the supervisor closes its end; report each
    worker's exit as soon as SIGCHLD arrives (not that of the children in ``quiet``)."""
    quiet = set() if quiet is None else quiet
    wakeup = os.pipe()
    for fd in wakeup:
        os.set_blocking(fd, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wakeup fd is used
    signal.set_wakeup_fd(wakeup[1])
    pid_ns = _host_pid_namespace() if root else None
    while True:
        _reap(ctl, quiet)
        ready, _, _ = select.select([ctl, wakeup[0]], [], [])
        if wakeup[0] in ready:
            try:
                while os.read(wakeup[0], 512):
                    pass
            except BlockingIOError:
                pass
        if ctl not in ready:
            continue
        message, fds, _, _ = socket.recv_fds(ctl, MAX_REQUEST, 3)
        if not message:  # the supervisor is gone
            return
        request = json.loads(message)
        pid = _fork_worker(ctl, wakeup, request, fds, root, pid_ns)
        for fd in fds:
            os.close(fd)
        ctl.send(json.dumps({"spawned": pid}).encode())


def once():
    """``zygote.py OPTIONS_JSON REQUEST_JSON``: become one worker without a template.

    The request's config holds the channel's file descriptors; stdout and stderr are
    already the output file.
    """
    options = json.loads(sys.argv[-2])
    request = json.loads(sys.argv[-1])

    def run():
        preload(options["preload"])
        root = prepare_view(options["preload"], options["folder"]) if options.get("view") \
            else ""
        config = request["config"]
        become_worker(request, root, config["fd_in"], config["fd_out"])
    _finish(run)


if __name__ == "__main__":
    main()
