"""Grading under Gradescope's default limits: 768 MB of memory and ½ vCPU (``make bench-gradescope``).

Each homework is graded twice with ``python -m grader grade`` inside a control group
limited like Gradescope's default container (memory 768 MiB, swap 0, CPU quota 50 ms per
100 ms): the reference solution, and a worst case, the stubs with every function and
method replaced by one that sleeps forever (each call runs into its time limit). Printed:
wall time, peak memory of the group (the grader, its template and its workers) and
whether the kernel's OOM killer fired, next to Gradescope's 10-minute limit.

Control groups: cgroup v2 (``/sys/fs/cgroup/<name>`` with ``memory.max`` and ``cpu.max``)
when writable, else cgroup v1's ``memory`` and ``cpu`` hierarchies (``memory.limit_in_bytes``,
``memory.memsw.limit_in_bytes``, ``cpu.cfs_quota_us``/``cpu.cfs_period_us``); without
either (not root, a locked-down container) it says so and runs unlimited. Nothing here
asserts: it prints figures.
"""
import argparse
import ast
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
MEMORY = 768 * 2**20
CPU_QUOTA, CPU_PERIOD = 50_000, 100_000  # ½ vCPU
GRADESCOPE_SECONDS = 600


class Group:
    """One control group with Gradescope's limits; ``enter`` moves the calling process in."""

    def __init__(self, name):
        self.kind, self.paths = "none", {}
        v2 = "/sys/fs/cgroup"
        try:
            with open(os.path.join(v2, "cgroup.controllers")) as fh:
                controllers = fh.read().split()
        except OSError:
            controllers = []
        try:
            if {"memory", "cpu"} <= set(controllers):
                path = os.path.join(v2, name)
                os.makedirs(path)
                self.paths = {"v2": path}
                _write(path, "memory.max", MEMORY)
                _write(path, "memory.swap.max", 0, optional=True)
                _write(path, "cpu.max", f"{CPU_QUOTA} {CPU_PERIOD}")
                self.kind = "cgroup v2: memory.max=768M, cpu.max=50000 100000"
            elif os.path.isdir(os.path.join(v2, "memory")) and os.path.isdir(
                    os.path.join(v2, "cpu")):
                memory, cpu = os.path.join(v2, "memory", name), os.path.join(v2, "cpu", name)
                os.makedirs(memory)
                os.makedirs(cpu)
                self.paths = {"memory": memory, "cpu": cpu}
                _write(memory, "memory.limit_in_bytes", MEMORY)
                swap = _write(memory, "memory.memsw.limit_in_bytes", MEMORY, optional=True)
                _write(cpu, "cpu.cfs_period_us", CPU_PERIOD)
                _write(cpu, "cpu.cfs_quota_us", CPU_QUOTA)
                self.kind = ("cgroup v1: memory.limit_in_bytes=768M"
                             + (", memory.memsw.limit_in_bytes=768M (no swap)" if swap else "")
                             + ", cpu.cfs_quota_us=50000 per cpu.cfs_period_us=100000")
        except OSError as exc:
            self.close()
            self.kind = f"none ({exc.strerror or exc}: run as root for the limits)"

    def enter(self):
        """Move this process into the group (a child calls it before exec)."""
        for path in self.paths.values():
            _write(path, "cgroup.procs", os.getpid())

    def peak_mib(self):
        """Peak memory of the group in MiB (None when unknown)."""
        for path, name in ((self.paths.get("v2"), "memory.peak"),
                           (self.paths.get("memory"), "memory.max_usage_in_bytes")):
            if path and os.path.exists(os.path.join(path, name)):
                with open(os.path.join(path, name)) as fh:
                    return int(fh.read()) / 2**20
        return None

    def oom_kills(self):
        """OOM kills inside the group (v2: memory.events; v1: memory.oom_control)."""
        for path, name, key in ((self.paths.get("v2"), "memory.events", "oom_kill"),
                                (self.paths.get("memory"), "memory.oom_control", "oom_kill")):
            if path and os.path.exists(os.path.join(path, name)):
                with open(os.path.join(path, name)) as fh:
                    for line in fh:
                        if line.startswith(key + " "):
                            return int(line.split()[1])
        return None

    def close(self):
        """Remove the group (its processes have ended)."""
        for path in self.paths.values():
            for _ in range(50):
                try:
                    os.rmdir(path)
                    break
                except OSError:
                    time.sleep(0.1)
        self.paths = {}


def _write(folder, name, value, optional=False):
    try:
        with open(os.path.join(folder, name), "w") as fh:
            fh.write(str(value))
        return True
    except OSError:
        if optional:
            return False
        raise


def hanging_module(stub_source):
    """The stub with every function and method body replaced by a sleep that never ends."""
    tree = ast.parse(stub_source)
    hang = ast.parse("import time\nwhile True:\n    time.sleep(3600)").body
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.body = list(hang)
    return ast.unparse(tree) + "\n"


# --call-seconds/--long-seconds: try other per-call limits without editing the homeworks
WITH_LIMITS = """
import dataclasses, sys
from grader import engine, homeworks
call, long = {call!r}, {long!r}
original = homeworks.load_checks

def load_checks(hw, include_hidden):
    checks = []
    for c in original(hw, include_hidden):
        seconds = c.seconds or hw.limits.call_seconds
        checks.append(dataclasses.replace(c, seconds=long if seconds > 20 else call))
    return checks

homeworks.load_checks = engine.load_checks = load_checks
from grader.cli import main
sys.exit(main(sys.argv[1:]))
"""


def grade_in_group(hw, source_text, label, limits=None):
    """Grade ``source_text`` as ``hw``'s module under the limits: a dict of figures.
    ``limits`` = (call seconds, long-call seconds) replaces every check's time limit: calls
    limited to more than 20 s (training) get the second."""
    tmp = tempfile.mkdtemp(prefix="gradescope-limits-")
    group = Group(f"grader-bench-{os.getpid()}-{hw.id}-{label}")
    try:
        with open(os.path.join(tmp, hw.filename), "w", encoding="utf-8") as fh:
            fh.write(source_text)
        out = os.path.join(tmp, "results.json")
        cmd = [PY, "-m", "grader"] if limits is None else \
            [PY, "-c", WITH_LIMITS.format(call=float(limits[0]), long=float(limits[1]))]
        cmd += ["grade", hw.id, tmp, "--out", out, "--seed", "1", "--quiet", "--device", "cpu"]
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                              preexec_fn=group.enter if group.paths else None)
        seconds = time.perf_counter() - started
        score = None
        if os.path.exists(out):
            import json
            with open(out, encoding="utf-8") as fh:
                doc = json.load(fh)
            score = (doc["score"], sum(t["max_score"] for t in doc["tests"]))
        return {"hw": hw.id, "label": label, "seconds": seconds, "rc": done.returncode,
                "score": score, "peak": group.peak_mib(), "oom": group.oom_kills(),
                "limits": group.kind, "stderr": done.stderr[-300:]}
    finally:
        group.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _print_row(r):
    peak = f"{r['peak']:.0f}" if r["peak"] is not None else "?"
    score = f"{r['score'][0]:g}/{r['score'][1]:g}" if r["score"] else f"rc {r['rc']}"
    share = f"{100 * r['seconds'] / GRADESCOPE_SECONDS:.0f}%"
    print(f"  {r['hw']:<9} {r['label']:<18} {r['seconds']:>7.1f}s {peak:>9} "
          f"{r['oom'] if r['oom'] is not None else '?':>4} {score:>9}  {share}", flush=True)
    if r["rc"] != 0:
        print(f"      stderr: {r['stderr'].strip()[-200:]}", flush=True)


def main(argv=None):
    """Print one grading per homework (reference, worst case) under Gradescope's limits."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("homeworks", nargs="*", help="default: every homework")
    parser.add_argument("--no-worst", action="store_true", help="skip the hanging submissions")
    parser.add_argument("--no-reference", action="store_true", help="only the hanging ones")
    parser.add_argument("--call-seconds", type=float,
                        help="try this per-call limit on every check (instead of the homework's)")
    parser.add_argument("--long-seconds", type=float, default=20.0,
                        help="with --call-seconds: the limit of calls now allowed more than "
                        "20 s (training; default 20)")
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    from grader import homeworks
    hws = [homeworks.get(h) for h in args.homeworks] or list(homeworks.HOMEWORKS.values())
    print(f"Gradescope's default limits: 768 MiB, 1/2 vCPU, {GRADESCOPE_SECONDS} s per "
          f"submission; this machine: {os.cpu_count()} cores")
    probe = Group(f"grader-bench-probe-{os.getpid()}")
    probe.close()
    print(f"  limits applied: {probe.kind}")
    jobs = []
    for hw in hws:
        with open(os.path.join(ROOT, "solutions", hw.filename), encoding="utf-8") as fh:
            jobs.append((hw, fh.read(), "reference"))
    if not args.no_worst:
        for hw in hws:
            with open(os.path.join(ROOT, "assignments", hw.filename), encoding="utf-8") as fh:
                jobs.append((hw, hanging_module(fh.read()), "every call hangs"))
    print(f"  {'homework':<9} {'submission':<18} {'wall':>8} {'peak MiB':>9} {'OOM':>4} "
          f"{'score':>9}  of {GRADESCOPE_SECONDS} s", flush=True)
    limits = None if args.call_seconds is None else (args.call_seconds, args.long_seconds)
    if limits:
        print(f"  trying per-call limits: {limits[0]:g} s, {limits[1]:g} s where a check "
              "allowed more than 20 s (training)")
    for job in jobs:
        if job[2] == "reference" and not args.no_reference:
            _print_row(grade_in_group(*job, limits=limits))
    # the hanging submissions sleep (no CPU): they run side by side, each in its own group
    hanging = [job for job in jobs if job[2] != "reference"]
    with concurrent.futures.ThreadPoolExecutor(max(1, len(hanging))) as pool:
        for row in pool.map(lambda job: grade_in_group(*job, limits=limits), hanging):
            _print_row(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
