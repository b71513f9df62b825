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
# worker would pay again: the template imports them once, after the package. torch's
# optimizers import torch._dynamo on their first call (``torch._disable_dynamo``): about
# 1.5 s of CPU, with sympy and torch.fx. All of it lives inside the package and the
# packages it requires, so the allow-list root holds it already.
WARM_MODULES = {"torch": ("torch._dynamo",)}


def preload(names, warm=True):
    """Import the homework's packages and, with ``warm``, their ``WARM_MODULES`` (a missing
    package fails the worker's own import later; a submodule that cannot be warmed is
    imported, or not, by the code that needs it). Only a template warms: a single worker
    imports such a submodule when it uses it, if ever.

    The cyclic garbage collector is off while they import (its passes over the growing
    heap cost about a fifth of torch's import), and what they built is then frozen
    (``gc.freeze``): the workers' own collections never walk the packages' objects again,
    and a collection no longer writes to (and so copies) the pages they share with the
    template. The collector is on again before any worker is forked.
    """
    gc.disable()
    try:
        for name in names:
            try:
                importlib.import_module(name)
            except ImportError:
                continue
            for module in WARM_MODULES.get(name, ()) if warm else ():
                try:
                    importlib.import_module(module)
                except Exception:  # noqa: BLE001 - warming is an optimization only
                    pass
    finally:
        gc.freeze()
        gc.enable()


def prepare_view(allowed, folder):
    """Enter a private mount namespace and build the read-only root in ``folder``/root."""
    isolation.enter_user_namespace_if_needed(isolation.CLONE_NEWNS)
    isolation.mount(None, "/", None, isolation.MS_REC | isolation.MS_PRIVATE)
    target = os.path.join(folder, "root")
    os.makedirs(target, exist_ok=True)
    rootfs.build_skeleton(target, rootfs.allow_list(allowed))
    return target


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


def _reap(ctl):
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        ctl.send(json.dumps({"exit": pid, "code": os.waitstatus_to_exitcode(status)}).encode())


def main():
    """``zygote.py OPTIONS_JSON CONTROL_FD``: preload, build the root, serve fork requests.

    OPTIONS: ``{"preload": [...], "view": bool, "folder": path}``; ``-``: the first message
    on the control socket holds them (a spare template, started before the grader knew
    which packages it needs). An empty message there (the grader is gone) ends it.
    """
    ctl = socket.socket(fileno=int(sys.argv[-1]))
    if sys.argv[-2] == "-":
        message = ctl.recv(MAX_REQUEST)
        if not message:
            _exit_now(0)
        options = json.loads(message)
    else:
        options = json.loads(sys.argv[-2])
    preload(options["preload"])
    root, reason = "", "not asked for"
    if options.get("view"):
        try:
            root = prepare_view(options["preload"], options["folder"])
            reason = isolation.try_worker(root, options["folder"])
        except OSError as exc:
            reason = str(exc)
    code = 0
    try:
        ctl.send(json.dumps({"ready": True, "namespaces": not reason, "reason": reason}).encode())
        _serve(ctl, root if not reason else "")
    except OSError:  # the supervisor is gone (a report could not be sent)
        pass
    except BaseException:  # noqa: BLE001 - reported here: _exit_now skips the default report
        traceback.print_exc()
        code = 1
    finally:  # also when the grader was killed: its end of the socket closed
        if root:
            isolation.umount(root, isolation.MNT_DETACH)
        shutil.rmtree(options["folder"], ignore_errors=True)
        # The grader waits for this exit: skip the interpreter's teardown of numpy and torch
        # (tens of milliseconds to seconds), which has nothing left to clean up.
        _exit_now(code)


def _exit_now(code):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass
    os._exit(code)


def _serve(ctl, root):
    """Fork a worker for each request until the supervisor closes its end; report each
    worker's exit as soon as SIGCHLD arrives."""
    wakeup = os.pipe()
    for fd in wakeup:
        os.set_blocking(fd, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so that the wakeup fd is used
    signal.set_wakeup_fd(wakeup[1])
    pid_ns = _host_pid_namespace() if root else None
    while True:
        _reap(ctl)
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
        preload(options["preload"], warm=False)
        root = prepare_view(options["preload"], options["folder"]) if options.get("view") \
            else ""
        config = request["config"]
        become_worker(request, root, config["fd_in"], config["fd_out"])
    _finish(run)


if __name__ == "__main__":
    main()
