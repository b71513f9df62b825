"""A call's time limit does not depend on the machine's load: time a worker spent waiting for a
CPU that other processes held is not counted; its own computing and sleeping are."""
import json
import os
import subprocess
import sys
import time

import pytest

from grader.sandbox import callclock

pytestmark = pytest.mark.sandbox

MODULE = """
import time

def spin(seconds):
    start = time.process_time()
    while time.process_time() - start < seconds:
        pass
    return seconds

def nap(seconds):
    time.sleep(seconds)
    return seconds
"""

# Runs in its own process pinned to one CPU (its worker template and workers inherit that):
# prints one JSON line per call: [function, argument, status, wall seconds, message].
GRADE_CALLS = """
import json, sys, time
from grader.sandbox.limits import Limits
from grader.sandbox.supervisor import Sandbox
from grader.checks import programs
path, calls = sys.argv[1], json.loads(sys.argv[2])
with Sandbox("timed", path, limits=Limits(call_seconds=1.0)) as sandbox:
    assert sandbox.start().ok
    for name, seconds in calls:
        start = time.monotonic()
        outcome = sandbox.call([programs.call(name, seconds)])
        print(json.dumps([name, seconds, outcome.status, time.monotonic() - start,
                          outcome.message]), flush=True)
"""


def _pinned(cpu):
    return lambda: os.sched_setaffinity(0, {cpu})


def _calls_on_a_busy_cpu(tmp_path, calls, hogs):
    """Run ``calls`` in one worker with a 1 s limit, on one CPU shared with ``hogs`` busy
    processes (each in its own session, so that no scheduler policy lets the worker off)."""
    module = tmp_path / "timed.py"
    module.write_text(MODULE)
    cpu = sorted(os.sched_getaffinity(0))[0]
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"], preexec_fn=_pinned(cpu),
                             start_new_session=True) for _ in range(hogs)]
    try:
        done = subprocess.run([sys.executable, "-c", GRADE_CALLS, str(module), json.dumps(calls)],
                              preexec_fn=_pinned(cpu), capture_output=True, text=True,
                              timeout=120)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_a_call_slowed_by_other_processes_is_not_timed_out(tmp_path):
    (spin_ok, spin_over, nap_over) = _calls_on_a_busy_cpu(
        tmp_path, [["spin", 0.5], ["spin", 3.0], ["nap", 1.5]], hogs=2)
    # 0.5 s of computing under a 1 s limit passes, though a third of a CPU makes it longer
    assert spin_ok[2] == "ok", spin_ok
    assert spin_ok[3] > 1.0, f"the CPU was not shared as planned: {spin_ok}"
    # computing past the limit still times out, and within the wall-clock backstop
    assert spin_over[2] == "timeout", spin_over
    assert spin_over[3] < 1.0 * callclock.BACKSTOP_FACTOR + 1.0, spin_over
    # sleeping is the worker's own time: it counts like computing
    assert nap_over[2] == "timeout" and nap_over[3] < 1.5, nap_over
    assert "1 s limit" in nap_over[4]


def test_without_the_kernels_figure_the_limit_is_wall_clock():
    clock = callclock.CallClock(0.05, lambda: None)
    assert 0 < clock.next_wait() <= 0.05
    time.sleep(0.06)
    assert clock.next_wait() is None and not clock.starved


def test_the_backstop_ends_a_starved_call():
    waited = [0.0]
    clock = callclock.CallClock(0.05, lambda: 12345, lambda pid: waited[0])
    time.sleep(0.06)
    waited[0] = 0.05  # it waited for a CPU the whole time: nothing used yet
    assert clock.next_wait() is not None
    time.sleep(0.05 * callclock.BACKSTOP_FACTOR)
    waited[0] = 10.0
    assert clock.next_wait() is None and clock.starved


def test_an_open_figure_follows_its_thread_and_fails_once_it_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        fd = callclock.open_wait(child.pid)
        assert fd is not None and callclock.read_wait(fd) is not None
        child.kill()
        child.wait()
        assert callclock.read_wait(fd) is None  # never another process's figure
        os.close(fd)
    finally:
        child.kill()
    assert callclock.open_wait(child.pid) is None


def test_the_kernels_figures_are_read_for_a_live_process():
    assert callclock.run_queue_wait(os.getpid()) is not None
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys, time; child = subprocess.Popen("
         "[sys.executable, '-c', 'import time; time.sleep(30)']); print(child.pid, flush=True); "
         "time.sleep(30)"], stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        child_pid = int(parent.stdout.readline())
        assert callclock.only_child(parent.pid) == child_pid
        assert callclock.run_queue_wait(child_pid) is not None
    finally:
        os.killpg(parent.pid, 9)
        parent.wait()
    assert callclock.run_queue_wait(2 ** 22 + 7) is None  # no such process
    assert not callclock.is_namespace_init(os.getpid())


def test_the_clock_reads_the_workers_own_thread(tmp_path):
    """The pid the clock reads is the worker's (PID 1 of its namespace where it has one)."""
    from grader.sandbox.supervisor import Sandbox
    module = tmp_path / "timed.py"
    module.write_text(MODULE)
    with Sandbox("timed", str(module)) as sandbox:
        assert sandbox.start().ok
        worker = sandbox._find_worker()
        assert worker is not None and callclock.run_queue_wait(worker) is not None
        if sandbox.namespaces:
            assert callclock.is_namespace_init(worker)
        else:
            assert worker == sandbox.proc.pid
