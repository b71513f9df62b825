"""The worker template: a process with numpy (and torch) imported that forks fresh workers.

Started once per grader process and homework kind by ``forkserver.py``. It runs
no student code itself. On each request (a JSON message with three file
descriptors attached: output file, request pipe, answer pipe) it forks; the
child starts a new session, applies the sandbox plan (limits, namespaces, uid:
``isolation.Plan``), and becomes a worker exactly like a freshly started one,
minus the interpreter start and the imports. Children are reaped here and
their exit statuses reported back, so the supervisor sees crashes as before.
Every submission gets its own fork of the pristine template: nothing leaks from
one student to the next.
"""
import importlib
import json
import os
import select
import socket
import sys
import traceback

import isolation
import worker

MAX_REQUEST = 1 << 20


def _child(ctl, request, fds):
    code = 70
    try:
        ctl.close()
        os.setsid()
        out_fd, fd_in, fd_out = fds
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        isolation.Plan(**request["plan"]).apply()
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        config = dict(request["config"], fd_in=fd_in, fd_out=fd_out)
        worker.run(config)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and exit; the supervisor sees the status
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


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
    """``zygote.py PRELOAD_JSON CONTROL_FD``: preload modules, then serve fork requests."""
    ctl = socket.socket(fileno=int(sys.argv[-1]))
    for name in json.loads(sys.argv[-2]):
        try:
            importlib.import_module(name)
        except ImportError:  # not installed: a worker that needs it fails at its own import
            pass
    ctl.send(b'{"ready": true}')
    while True:
        _reap(ctl)
        ready, _, _ = select.select([ctl], [], [], 0.05)
        if not ready:
            continue
        message, fds, _, _ = socket.recv_fds(ctl, MAX_REQUEST, 3)
        if not message:  # the supervisor is gone
            return
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            _child(ctl, request, fds)
        for fd in fds:
            os.close(fd)
        ctl.send(json.dumps({"spawned": pid}).encode())


if __name__ == "__main__":
    main()
