"""The pre-imported worker template: fresh, isolated workers, sequentially and from threads."""
import concurrent.futures
import os
import sys
import time

import pytest

from grader.sandbox import forkserver
from grader.checks import programs
from grader.sandbox.supervisor import Sandbox

from .test_containment import _processes_named

pytestmark = pytest.mark.sandbox

LEAKY = """
import numpy as np
np.leaked_state = getattr(np, "leaked_state", 0) + 1
COUNTER = [0]

def bump():
    COUNTER[0] += 1
    return [int(np.leaked_state), COUNTER[0], __import__("os").getpid()]
"""


@pytest.fixture
def leaky_module(tmp_path):
    path = tmp_path / "leaky.py"
    path.write_text(LEAKY)
    return str(path)


@pytest.fixture
def template_on(monkeypatch):
    monkeypatch.setenv("GRADER_FORKSERVER", "1")
    assert forkserver.enabled()


def _bump_twice(path):
    """The two answers of one worker, each with the worker's pid as the grader sees it (inside
    its own PID namespace a worker is always pid 1)."""
    with Sandbox("leaky", path) as sandbox:
        assert sandbox.start().ok
        first = sandbox.call([programs.call("bump")])
        first_pid = sandbox.proc.pid
        second = sandbox.call([programs.call("bump")])
        assert first.ok and second.ok, (first, second)
        return first.results[0][:2] + [first_pid], second.results[0][:2] + [sandbox.proc.pid]


def test_workers_come_from_the_template_and_share_no_state(template_on, leaky_module):
    runs = [_bump_twice(leaky_module) for _ in range(3)]  # the second run once hung here
    assert forkserver._SERVERS, "no template was started"
    for first, second in runs:
        assert first[:2] == [1, 1] and second[:2] == [1, 2]  # module state lives per worker
        assert first[2] == second[2]  # both calls hit the same worker
    pids = {first[2] for first, _ in runs}
    assert len(pids) == 3 and os.getpid() not in pids  # a new process per submission


def test_threads_can_share_one_template(template_on, leaky_module):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        runs = list(pool.map(lambda _: _bump_twice(leaky_module), range(8)))
    assert all(first[:2] == [1, 1] and second[:2] == [1, 2] for first, second in runs)
    assert len({first[2] for first, _ in runs}) == 8


def test_a_worker_killed_mid_call_is_reported(template_on, tmp_path):
    path = tmp_path / "dies.py"
    path.write_text("import os\n\ndef die():\n    os._exit(7)\n")
    with Sandbox("dies", str(path)) as sandbox:
        assert sandbox.start().ok
        outcome = sandbox.call([programs.call("die")])
    assert outcome.status == "crashed" and "7" in outcome.message


def test_switching_the_template_off_starts_plain_interpreters(monkeypatch, leaky_module):
    monkeypatch.setenv("GRADER_FORKSERVER", "0")
    assert not forkserver.enabled()
    first, second = _bump_twice(leaky_module)
    assert first[:2] == [1, 1] and second[:2] == [1, 2]


def test_a_spare_template_becomes_the_first_template_asked_for(template_on, leaky_module):
    """``start_spare`` starts an interpreter before the packages are known; the first template
    asked for takes it (no second interpreter) and tells it what to import, and its workers
    are as fresh and isolated as any."""
    forkserver.close_all()
    forkserver.start_spare()
    spare = next(iter(forkserver._SPARES.values()))
    assert spare.preload is None and spare.alive
    forkserver.prestart(("numpy",))
    assert not forkserver._SPARES
    assert [s for s in forkserver._SERVERS.values()] == [spare] and spare.preload == ("numpy",)
    first, second = _bump_twice(leaky_module)
    assert first[:2] == [1, 1] and second[:2] == [1, 2]
    assert list(forkserver._SERVERS.values()) == [spare]  # the workers came from the spare


def test_an_unclaimed_spare_is_stopped_with_its_folder(template_on):
    forkserver.close_all()
    forkserver.start_spare()
    forkserver.start_spare()  # one spare per interpreter and environment
    assert len(forkserver._SPARES) == 1
    spare = next(iter(forkserver._SPARES.values()))
    forkserver.close_all()
    assert spare.proc.poll() is not None and not os.path.exists(spare.folder)
    assert not forkserver._SPARES


TRAINS = """
import gc
import sys

import torch


def train():
    warm = "torch._dynamo" in sys.modules  # before this worker's first optimizer
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    return [warm, gc.isenabled(), gc.get_freeze_count() > 0]
"""


@pytest.mark.parametrize("template", ["1", "0"])
def test_torch_workers_train_with_the_collector_on(monkeypatch, tmp_path, template):
    """A torch template imports torch._dynamo once, for every worker it forks (an optimizer's
    first call imports it); a worker started without a template imports it itself, when
    used. Either way the preloaded packages' objects are frozen out of the worker's
    collections, the collector is on, and the optimizer works inside the allow-list root."""
    pytest.importorskip("torch")
    monkeypatch.setenv("GRADER_FORKSERVER", template)
    path = tmp_path / "trains.py"
    path.write_text(TRAINS)
    with Sandbox("trains", str(path), preload=("numpy", "torch")) as sandbox:
        assert sandbox.start().ok
        outcome = sandbox.call([programs.call("train")])
    assert outcome.ok, outcome.message
    warm, collector_on, frozen = outcome.results[0]
    assert collector_on and frozen
    assert warm == (template == "1")


ALONE = """
import os

def alone():
    return [os.getpid(), os.getppid(), sorted(int(n) for n in os.listdir("/proc") if n.isdigit())]
"""


@pytest.mark.parametrize("template", ["1", "0"])
def test_a_worker_is_pid_1_of_its_own_namespace_and_dies_with_all_it_started(
        monkeypatch, tmp_path, template):
    """Forked by a template that runs as root, the worker is PID 1 of a PID namespace of its own
    (no relay process in between: the template reaps it); a fresh interpreter forks once
    more. Either way it sees no other process, and what it started dies with it."""
    monkeypatch.setenv("GRADER_FORKSERVER", template)
    path = tmp_path / "alone.py"
    # a child in a session of its own, named so that the host can find it (no exec: the
    # interpreter's path may not exist inside the allow-list root, e.g. a venv under /tmp)
    path.write_text(ALONE + "import ctypes, time\n"
                    "if os.fork() == 0:\n"
                    "    try:\n"
                    "        os.setsid()\n"
                    "        ctypes.CDLL(None).prctl(15, b'sleeper-31339', 0, 0, 0)  # PR_SET_NAME\n"
                    "        time.sleep(313.39)\n"
                    "    finally:\n"
                    "        os._exit(0)\n")
    with Sandbox("alone", str(path)) as sandbox:
        assert sandbox.start().ok
        if "own PID namespace" not in " ".join(sandbox.protections):
            pytest.skip("no PID namespaces on this machine")
        outcome = sandbox.call([programs.call("alone")])
        assert outcome.ok, outcome
        pid, parent, seen = outcome.results[0]
        assert pid == 1 and parent == 0  # its parent lives outside its namespace
        assert seen[0] == 1 and len(seen) <= 3  # itself, the sleeper, perhaps a zombie
        assert _wait_for_sleeper(), "the sleeper never showed up: the test would prove nothing"
        direct = template == "1" and os.getuid() == 0
        if direct:  # the process the grader holds is that PID 1 itself
            assert isinstance(sandbox.proc, forkserver.ForkedProcess)
            with open(f"/proc/{sandbox.proc.pid}/status", encoding="utf-8") as fh:
                nspid = next(line.split()[1:] for line in fh if line.startswith("NSpid:"))
            assert nspid == [str(sandbox.proc.pid), "1"]
    assert _sleepers() == []


def _sleepers():
    return _processes_named("sleeper-31339")


def _wait_for_sleeper(seconds=10.0):
    deadline = time.monotonic() + seconds
    while not _sleepers():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("warm", [False, True])
def test_the_first_stage_forks_workers_without_torch_dynamo(template_on, tmp_path, warm):
    """A torch template serves in two stages: workers of the first one (checks that do not
    train) come without torch._dynamo and import it themselves if they train; those of the
    warm stage have it before their first optimizer step."""
    pytest.importorskip("torch")
    path = tmp_path / "trains.py"
    path.write_text(TRAINS)
    with Sandbox("trains", str(path), preload=("numpy", "torch"), warm=warm) as sandbox:
        assert sandbox.start().ok
        outcome = sandbox.call([programs.call("train")])
    assert outcome.ok, outcome.message
    had_dynamo, collector_on, frozen = outcome.results[0]
    assert had_dynamo == warm and collector_on and frozen


def test_a_template_without_warm_modules_serves_warm_requests_itself(template_on, leaky_module):
    with Sandbox("leaky", leaky_module, warm=True) as sandbox:
        assert sandbox.start().ok
        assert sandbox.call([programs.call("bump")]).ok
        server = sandbox._server
    assert server is not None and server.warm_ready(timeout=5) is False


def test_an_interrupted_sandbox_starts_no_worker(template_on, leaky_module):
    with Sandbox("leaky", leaky_module) as sandbox:
        sandbox.interrupt()
        outcome = sandbox.start()
        assert outcome.status == "crashed" and sandbox.proc is None
        assert sandbox.call([programs.call("bump")]).status == "crashed"
        assert sandbox.proc is None


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat[stat.rfind(")") + 2:].split()[1]) == pid:
                found.append(int(entry))
    return found


def test_a_worker_waiting_for_the_warm_stage_is_interrupted_at_once(template_on, tmp_path):
    """Interrupted while the warm stage still imports torch._dynamo, a worker that waits for it
    gives up within a poll (it does not wait for the import), and none is started."""
    pytest.importorskip("torch")
    forkserver.close_all()  # a fresh template: its warm stage needs seconds to come up
    path = tmp_path / "trains.py"
    path.write_text(TRAINS)
    with Sandbox("trains", str(path), preload=("numpy", "torch"), warm=True) as sandbox:
        outcome = []
        thread = concurrent.futures.ThreadPoolExecutor(1)
        started = thread.submit(lambda: outcome.append(sandbox.start()))
        time.sleep(0.2)
        sandbox.interrupt()
        started.result(timeout=30)
        thread.shutdown()
        assert outcome[0].status == "crashed" and not sandbox.alive


def test_closing_a_template_still_warming_stops_its_warm_stage(template_on):
    """A grading that ends before the warm stage is ready (only checks that do not train) does
    not wait for torch._dynamo to import, nor leave that import running."""
    pytest.importorskip("torch")
    forkserver.close_all()
    server = forkserver.server_for(sys.executable, ("numpy", "torch"), forkserver.base_env(),
                                   forkserver.template_files())
    warm_stage = _children(server.proc.pid)
    forkserver.close_all()
    assert server.proc.poll() is not None
    assert warm_stage, "the warm stage was not found: the test would prove nothing"
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{pid}") for pid in warm_stage):
        assert time.monotonic() < deadline, "the warm stage outlived its template"
        time.sleep(0.02)


def test_uncovered_names_the_paths_outside_an_allow_list():
    from grader.sandbox import rootfs
    allowed = ["/usr/lib/python3", "/opt/venv/site-packages/torch", "/etc/ld.so.cache"]
    paths = ["/usr/lib/python3/json/__init__.py", "/opt/venv/site-packages/torch/_dynamo/x.py",
             "/etc/ld.so.cache", "/opt/venv/site-packages/sympy/core.py",
             "/opt/venv/site-packages/torchvision/a.py", "/usr/lib/libssl.so"]
    assert rootfs.uncovered(paths, allowed) == paths[3:]
