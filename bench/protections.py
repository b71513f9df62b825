"""Per-worker cost of each sandbox protection (``make bench``; root or user namespaces).

Runs like the worker template: numpy imported, the read-only allow-list root built once
in a private mount namespace (its cost is printed separately), then forks workers that
apply one more protection each, and prints the median wall time per fork-to-exit.
"""
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader", "sandbox"))

import isolation  # noqa: E402
import numpy  # noqa: E402,F401 - the template has it loaded
import rootfs  # noqa: E402

REPEAT = 30
NS = isolation.CLONE_NEWNS | isolation.CLONE_NEWPID | isolation.CLONE_NEWNET


def row(label, value, note=""):
    print(f"  {label:<58} {value:>14}  {note}")


def in_child(step):
    """Fork, run ``step`` in the child, wait for its exit."""
    pid = os.fork()
    if pid == 0:
        try:
            step()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def per_fork(step):
    """Median seconds from fork to the child's exit, the child running ``step``."""
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        in_child(step)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def in_namespaces(inner, flags=NS):
    """unshare the worker's namespaces, fork PID 1, run ``inner`` there."""
    def step():
        isolation.unshare(flags)
        in_child(inner)
    return step


def main():
    folder = tempfile.mkdtemp(prefix="bench-protections-")
    submission = os.path.join(folder, "submission")
    os.mkdir(submission)
    start = time.perf_counter()
    isolation.enter_user_namespace_if_needed(isolation.CLONE_NEWNS)
    isolation.mount(None, "/", None, isolation.MS_REC | isolation.MS_PRIVATE)
    skeleton = os.path.join(folder, "root")
    os.mkdir(skeleton)
    binds = rootfs.build_skeleton(skeleton, rootfs.allow_list(["numpy"]))
    once = time.perf_counter() - start
    uid = isolation.WORKER_UID_BASE + isolation.WORKER_UID_SPAN - 1 if os.getuid() == 0 else None

    def view():
        isolation.mount(None, "/", None, isolation.MS_REC | isolation.MS_PRIVATE)
        rootfs.enter(skeleton, submission, 64 << 20, uid)

    def view_and_drop():
        view()
        isolation._empty_bounding_set()
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        else:
            isolation._clear_capabilities()

    base = per_fork(lambda: None)
    steps = [("new mount namespace", lambda: isolation.unshare(isolation.CLONE_NEWNS)),
             ("+ new PID namespace (and a fork for its PID 1)",
              in_namespaces(lambda: None, NS & ~isolation.CLONE_NEWNET)),
             ("+ new network namespace", in_namespaces(lambda: None)),
             ("+ allow-list root: scratch tmpfs, binds, /proc, pivot_root",
              in_namespaces(view)),
             ("+ capabilities dropped, unprivileged uid", in_namespaces(view_and_drop))]
    print(f"Sandbox protections, per worker (median of {REPEAT} forks of a numpy process)")
    row("read-only root, built once per template", f"{once * 1000:.1f} ms",
        f"{len(binds)} read-only binds")
    row("fork + exit, no protection", f"{base * 1000:.1f} ms")
    previous = base
    for label, step in steps:
        seconds = per_fork(step)
        row(label, f"{seconds * 1000:.1f} ms", f"+{(seconds - previous) * 1000:.1f} ms")
        previous = seconds
    isolation.umount(skeleton, isolation.MNT_DETACH)
    os.rmdir(skeleton)
    os.rmdir(submission)
    os.rmdir(folder)


if __name__ == "__main__":
    try:
        main()
    except OSError as exc:
        row("sandbox protections", "skipped", f"namespaces refused here: {exc}")
