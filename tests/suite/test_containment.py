"""Hostile and broken submissions: each is graded correctly, the grader survives and says why."""
import dataclasses
import os

import numpy as np
import pytest

from grader import homeworks
from grader.homeworks import PROJECT_ROOT
from grader.sandbox import isolation
from grader.sandbox.supervisor import Sandbox

from .grading import failures, full_except, grade_text, stub_source, variant

pytestmark = pytest.mark.sandbox
HW = homeworks.get("hw1")
FAST = dataclasses.replace(HW.limits, call_seconds=1.0)
needs_namespaces = pytest.mark.skipif(not isolation.probe().namespaces,
                                      reason="kernel namespaces unavailable here")


def test_exit_at_import_scores_zero_with_the_error_shown():
    result = grade_text("hw1", "import sys\nprint('bye')\nsys.exit(3)\n", seed=1)
    assert result.score == 0 and result.max_score > 0
    assert result.import_status == "import_failed"
    assert "sys.exit(3)" in result.import_message
    assert "bye" in result.import_output
    assert {c.status for c in result.checks} == {"import_failed"}


def test_syntax_error_at_import_is_reported_with_its_line():
    result = grade_text("hw1", "def gaussian_logpdf(x, mu, Sigma)\n    return 0\n", seed=1)
    assert result.score == 0
    assert "SyntaxError" in result.import_message


def test_os_exit_inside_one_exercise_costs_only_that_exercise():
    result = grade_text("hw1", variant(HW, """
        import os
        def gaussian_marginal(mu, Sigma, idx):
            os._exit(7)
        """), seed=2)
    assert full_except(result, {"gaussian_marginal"}), failures(result)
    statuses = {c.status for c in result.checks if c.exercise == "gaussian_marginal"}
    assert statuses == {"crashed"}
    assert "exited with code 7" in next(c.message for c in result.checks
                                        if c.exercise == "gaussian_marginal")


def test_infinite_loop_in_one_exercise_times_out_and_the_rest_is_graded():
    result = grade_text("hw1", variant(HW, """
        def gaussian_logpdf(x, mu, Sigma):
            while True:
                pass
        """), seed=3, limits=FAST)
    assert full_except(result, {"gaussian_logpdf"}), failures(result)
    assert {c.status for c in result.checks if c.exercise == "gaussian_logpdf"} == {"timeout"}


def test_memory_hog_fails_its_exercise_only():
    result = grade_text("hw1", variant(HW, """
        def mixture_logpdf(x, weights, means, covs):
            hog = [np.ones(1 << 27) for _ in range(100)]   # 100 GiB
            return hog
        """), seed=4)
    assert full_except(result, {"mixture_logpdf"}), failures(result)
    assert {c.status for c in result.checks if c.exercise == "mixture_logpdf"} == {"memory"}


def test_segfault_costs_only_its_exercise():
    result = grade_text("hw1", variant(HW, """
        import ctypes
        def mixture_responsibilities(x, weights, means, covs):
            ctypes.string_at(0)
        """), seed=5)
    assert full_except(result, {"mixture_responsibilities"}), failures(result)
    messages = [c.message for c in result.checks if c.exercise == "mixture_responsibilities"]
    assert all("SIGSEGV" in m for m in messages), messages


def test_garbage_results_fail_with_a_message_that_says_which():
    result = grade_text("hw1", variant(HW, """
        class Agreeable:
            def __eq__(self, other): return True
            def __array__(self, *a, **k): raise TypeError("no")
            def __float__(self): raise TypeError("no")
        def gaussian_logpdf(x, mu, Sigma):
            return np.full(np.shape(x)[:-1], np.nan) if np.ndim(x) == 2 else float("nan")
        def gaussian_marginal(mu, Sigma, idx):
            return mu, Sigma[0]
        def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
            return "mu", "Sigma"
        def mixture_logpdf(x, weights, means, covs):
            return Agreeable()
        def mixture_responsibilities(x, weights, means, covs):
            return {"r": 1}
        """), seed=6)
    assert full_except(result, {"gaussian_logpdf", "gaussian_marginal", "gaussian_conditional",
                                "mixture_logpdf", "mixture_responsibilities"}), failures(result)
    first = {c.exercise: c.message for c in reversed(result.checks)}
    assert "NaN" in first["gaussian_logpdf"]
    assert "shape" in first["gaussian_marginal"]
    assert "string" in first["gaussian_conditional"]
    assert "Agreeable" in first["mixture_logpdf"]
    assert "dict" in first["mixture_responsibilities"]


def test_monkeypatching_numpy_comparisons_changes_nothing():
    result = grade_text("hw1", variant(HW, """
        import builtins
        np.allclose = lambda *a, **k: True
        np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
        np.array_equal = lambda *a, **k: True
        np.testing.assert_allclose = lambda *a, **k: None
        builtins.abs = lambda x: 0
        def gaussian_logpdf(x, mu, Sigma):
            return np.zeros(np.shape(x)[:-1]) if np.ndim(x) == 2 else 0.0
        """), seed=7)
    assert full_except(result, {"gaussian_logpdf"}), failures(result)


def test_mutating_inputs_changes_nothing():
    result = grade_text("hw1", variant(HW, """
        _right = gaussian_conditional
        def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
            out = _right(mu, Sigma, idx_a, idx_b, x_b)
            mu[:] = 1e9
            Sigma[:] = 0.0
            if isinstance(idx_a, list):
                idx_a.clear()
            return out
        """), seed=8)
    assert result.score == result.max_score, failures(result)


def test_printing_fake_results_and_writing_results_files_changes_nothing(tmp_path):
    result = grade_text("hw1", stub_source(HW) + """
import json, os
print(json.dumps({"score": 100, "tests": []}))
for folder in (".", os.path.expanduser("~"), "/tmp"):
    try:
        with open(os.path.join(folder, "results.json"), "w") as fh:
            json.dump({"score": 100}, fh)
    except OSError:
        pass
""", seed=9)
    assert result.score == 0


SEARCH = r'''
import gc, inspect, os, sys
def _hunt():
    found = []
    root = {root!r}
    for top in (root, os.path.join(root, "solutions"), os.path.join(root, "tests", "hidden"),
                os.path.join(root, ".git")):
        if os.path.exists(top):
            for dirpath, dirs, files in os.walk(top):
                dirs[:] = [d for d in dirs if d != ".venv"]
                found += [os.path.join(dirpath, f) for f in files]
    found += [m for m in sys.modules if m.startswith(("solutions", "grader", "tests"))]
    for frame in inspect.stack():
        found += [k for k in frame.frame.f_globals if k in ("reference", "expected", "checks")]
    numbers = []
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            numbers += [v for v in obj.values() if isinstance(v, float)]
    return found, numbers
def gaussian_logpdf(x, mu, Sigma):
    found, numbers = _hunt()
    return {{"found": found, "numbers": numbers}}
'''


@needs_namespaces
def test_worker_finds_no_reference_no_hidden_checks_no_expected_values():
    """The project tree (solutions, hidden checks, .git) is invisible; nothing expected is in memory."""
    source = SEARCH.format(root=PROJECT_ROOT)
    path = os.path.join(PROJECT_ROOT, "..", "hunt-probe.py")
    with Sandbox(HW.module, _write_tmp(source), hide=(PROJECT_ROOT,)) as box:
        assert box.start().ok
        x, mu, Sigma = np.array([0.3, -0.2]), np.zeros(2), np.eye(2)
        out = box.call([{"call": "gaussian_logpdf", "args": [x, mu, Sigma]}])
    assert out.status == "error"  # a dict result is not data; ask for the report instead
    with Sandbox(HW.module, _write_tmp(source.replace(
            'return {"found": found, "numbers": numbers}',
            'return [len(found), repr(found)[:2000], numbers]')), hide=(PROJECT_ROOT,)) as box:
        box.start()
        out = box.call([{"call": "gaussian_logpdf", "args": [x, mu, Sigma]}])
    assert out.ok, out.message
    n_found, found_text, numbers = out.results[0]
    venv_only = [p for p in eval(found_text) if ".venv" not in p] if n_found else []
    assert venv_only == [], found_text
    expected = -0.5 * (2 * np.log(2 * np.pi) + x @ x)
    assert not any(abs(v - expected) < 1e-9 for v in numbers)
    del path


def _write_tmp(source):
    import tempfile
    fd, path = tempfile.mkstemp(suffix=".py")
    with os.fdopen(fd, "w") as fh:
        fh.write(source)
    return path


@needs_namespaces
def test_worker_has_no_network(tmp_path):
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    source = f"""
import socket
def gaussian_logpdf(x, mu, Sigma):
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
        return 1.0
    except OSError:
        return 0.0
"""
    with Sandbox(HW.module, _write_tmp(source), hide=(PROJECT_ROOT,)) as box:
        box.start()
        out = box.call([{"call": "gaussian_logpdf", "args": [0, 0, 0]}])
    assert out.ok and out.results[0] == 0.0
    with pytest.raises(OSError):
        server.accept()
    server.close()


def _processes_with_args(*args):
    wanted = "\0".join(args)
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if fh.read().decode(errors="replace").rstrip("\0") == wanted:
                    found.append(int(pid))
        except OSError:
            pass
    return found


as_root = pytest.mark.skipif(os.getuid() != 0, reason="per-worker uids need root")


@as_root
def test_processes_that_leave_the_process_group_are_killed_too():
    result = grade_text("hw1", variant(HW, """
        import os
        def gaussian_marginal(mu, Sigma, idx):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.execv("/bin/sleep", ["sleep", "313.37"])
                os._exit(0)
            raise ValueError("left a daemon behind")
        """), seed=10, only=["gaussian_marginal"])
    assert result.score == 0
    assert _processes_with_args("sleep", "313.37") == []


@as_root
def test_a_bounded_fork_storm_at_import_is_capped_and_leaves_nothing_behind():
    result = grade_text("hw1", """
import os
children = 0
try:
    for _ in range(500):
        if os.fork() == 0:
            os.execv("/bin/sleep", ["sleep", "313.38"])
        children += 1
except OSError as exc:
    raise RuntimeError(f"fork refused after {children} children: {exc}")
""", seed=11)
    assert result.score == 0 and result.import_status == "import_failed"
    assert "fork refused" in result.import_message
    assert _processes_with_args("sleep", "313.38") == []


def test_huge_output_is_clipped_and_never_parsed():
    result = grade_text("hw1", variant(HW, """
        def gaussian_marginal(mu, Sigma, idx):
            print('{"score": 1000}\\n' * 50000)
            raise ValueError("after printing")
        """), seed=12, only=["gaussian_marginal"])
    assert result.score == 0
    shown = result.checks[0].output
    assert "characters cut" in shown and len(shown) < 5000


@as_root
def test_a_submission_that_signals_every_process_it_can_hurts_only_itself():
    result = grade_text("hw1", variant(HW, """
        import os, signal
        def gaussian_marginal(mu, Sigma, idx):
            for pid in [os.getppid()] + [int(p) for p in os.listdir("/proc") if p.isdigit()]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            os.kill(-1, signal.SIGKILL)
        """), seed=10)
    # the grader (this process) is alive, and only the signalling exercise lost its points
    assert full_except(result, {"gaussian_marginal"}), failures(result)
