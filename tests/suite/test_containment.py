"""Hostile and broken submissions: each is graded correctly, the grader survives and says why."""
import ast
import dataclasses
import os
import textwrap

import numpy as np
import pytest

from grader import homeworks
from grader.checks import programs
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
        out = box.call([programs.call("gaussian_logpdf", x, mu, Sigma)])
    assert out.status == "error"  # a dict result is not data; ask for the report instead
    with Sandbox(HW.module, _write_tmp(source.replace(
            'return {"found": found, "numbers": numbers}',
            'return [len(found), repr(found)[:2000], numbers]')), hide=(PROJECT_ROOT,)) as box:
        box.start()
        out = box.call([programs.call("gaussian_logpdf", x, mu, Sigma)])
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
        out = box.call([programs.call("gaussian_logpdf", 0, 0, 0)])
    assert out.ok and out.results[0] == 0.0
    with pytest.raises(OSError):
        server.accept()
    server.close()


def _processes_named(name):
    """Pids whose name (``/proc/PID/comm``, set by the submission with prctl) is ``name``.
    A submission names its children rather than exec an interpreter: the interpreter's
    path need not exist inside the allow-list root (a virtual environment under /tmp)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm", "rb") as fh:
                if fh.read().decode(errors="replace").strip() == name:
                    found.append(int(pid))
        except OSError:
            pass
    return found


as_root = pytest.mark.skipif(os.getuid() != 0, reason="per-worker uids need root")


@as_root
def test_processes_that_leave_the_process_group_are_killed_too():
    result = grade_text("hw1", variant(HW, """
        import ctypes, os, time
        def gaussian_marginal(mu, Sigma, idx):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    try:
                        ctypes.CDLL(None).prctl(15, b"daemon-31337", 0, 0, 0)
                        time.sleep(313.37)
                    finally:
                        os._exit(0)
                os._exit(0)
            raise ValueError("left a daemon behind")
        """), seed=10, only=["gaussian_marginal"])
    assert result.score == 0
    assert _processes_named("daemon-31337") == []


@as_root
def test_a_bounded_fork_storm_at_import_is_capped_and_leaves_nothing_behind():
    result = grade_text("hw1", """
import ctypes, os, time
children = 0
try:
    for _ in range(500):
        if os.fork() == 0:
            try:
                ctypes.CDLL(None).prctl(15, b"storm-31338", 0, 0, 0)
                time.sleep(313.38)
            finally:
                os._exit(0)
        children += 1
except OSError as exc:
    raise RuntimeError(f"fork refused after {children} children: {exc}")
""", seed=11)
    assert result.score == 0 and result.import_status == "import_failed"
    assert "fork refused" in result.import_message
    assert _processes_named("storm-31338") == []


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


# --- issue 12: what a submission must not reach, each attack as it was run -------------------
# Every hostile submission below also litters (``LITTER``): files named after a marker in
# /tmp, /var/tmp and /dev/shm, and a daemon that leaves the process group. ``_escaped``
# lists what of that is left on the host after grading: it must be nothing.

LITTER = '''
def _litter(marker):
    import ctypes, os, time
    for folder in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            with open(os.path.join(folder, marker), "wb") as fh:
                for _ in range(4):
                    fh.write(b"x" * (32 << 20))
        except OSError:
            pass
    if os.fork() == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                ctypes.CDLL(None).prctl(15, marker[:15].encode(), 0, 0, 0)
                time.sleep(600)
        finally:
            os._exit(0)
    os.wait()
_litter({marker!r})
'''


def _marker():
    import uuid
    return f"litter-{uuid.uuid4().hex[:12]}"


def _escaped(marker):
    """What a submission that ran ``LITTER`` left on the host: files and processes."""
    import time
    time.sleep(0.2)  # the kernel's SIGKILLs are asynchronous
    files = [os.path.join(d, marker) for d in ("/tmp", "/var/tmp", "/dev/shm")
             if os.path.lexists(os.path.join(d, marker))]
    return files + [f"pid {p}" for p in _processes_named(marker[:15])]


def _stub_with(code):
    """The stubs (every exercise not implemented) with ``code`` appended."""
    return stub_source(HW) + "\n" + textwrap.dedent(code)


def _cheater(candidates_code, marker):
    """A submission that implements nothing: each call looks for someone else's
    ``hw1_gaussians.py`` (where ``candidates_code`` says) and runs that instead."""
    names = [n.name for n in ast.parse(stub_source(HW)).body if isinstance(n, ast.FunctionDef)]
    calls = "\n".join(f"def {n}(*a, **k):\n    return _steal({n!r})(*a, **k)\n" for n in names)
    return LITTER.format(marker=marker) + textwrap.dedent('''
        import glob, os
        def _command_line_args():
            """Every argument of every process it can see (the grader's class folder...)."""
            for pid in os.listdir("/proc"):
                try:
                    yield from open(f"/proc/{pid}/cmdline", "rb").read().decode().split("\\0")
                except OSError:
                    continue
        def _candidates():
        ''') + textwrap.indent(textwrap.dedent(candidates_code), "    ") + textwrap.dedent('''
        def _steal(name):
            mine = os.path.realpath(__file__)
            for path in _candidates():
                try:
                    if os.path.realpath(path) == mine:
                        continue
                    source = open(path).read()
                except OSError:
                    continue
                if "NotImplementedError" in source:
                    continue
                scope = {"__name__": "stolen"}
                exec(compile(source, path, "exec"), scope)
                return scope[name]
            raise NotImplementedError
        ''') + calls


@pytest.fixture()
def world_readable_copy():
    """A second checkout of the course elsewhere on the machine, readable by every user
    (an instructor's clone, an unpacked autograder, a dist/ build)."""
    import shutil
    import tempfile
    base = tempfile.mkdtemp(prefix="course-copy-")
    os.chmod(base, 0o755)
    for folder in ("solutions", os.path.join("dist", "autograder", "solutions")):
        os.makedirs(os.path.join(base, folder), mode=0o755)
        shutil.copy(os.path.join(PROJECT_ROOT, "solutions", HW.filename),
                    os.path.join(base, folder))
        os.chmod(os.path.join(base, folder, HW.filename), 0o644)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@needs_namespaces
def test_other_copies_of_the_course_are_out_of_reach(world_readable_copy):
    marker = _marker()
    source = _cheater(f'''
        found = glob.glob({world_readable_copy!r} + "/**/{HW.filename}", recursive=True)
        found += glob.glob({PROJECT_ROOT!r} + "/solutions/{HW.filename}")
        for top in ("/tmp", "/home", "/root", "/work", "/srv", "/opt"):
            found += glob.glob(top + "/*/solutions/{HW.filename}")
            found += glob.glob(top + "/*/*/solutions/{HW.filename}")
        return found
        ''', marker)
    result = grade_text("hw1", source, seed=21)
    assert result.score == 0 and result.import_status == "ok", failures(result)
    assert {c.status for c in result.checks} == {"not_implemented"}
    assert _escaped(marker) == []


def _batch(class_dir, out, *extra):
    """Run ``python -m grader batch hw1`` as a user would; (exit code, stderr, peak grader RSS
    in MiB: the grading process itself, not its workers)."""
    import subprocess
    import sys as _sys
    wrapper = ("import atexit, resource, runpy, sys\n"
               "atexit.register(lambda: sys.stderr.write('\\nPEAK_RSS_KB %d\\n' % "
               "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
               "runpy.run_module('grader', run_name='__main__')\n")
    done = subprocess.run([_sys.executable, "-c", wrapper, "batch", "hw1", str(class_dir),
                           "--out", str(out), "--jobs", "2", "--no-progress", *extra],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    peak = [int(line.split()[1]) for line in done.stderr.splitlines()
            if line.startswith("PEAK_RSS_KB")]
    return done.returncode, done.stderr, (peak[-1] / 1024 if peak else None)


def _totals(out):
    import csv
    with open(os.path.join(out, "grades.csv"), encoding="utf-8", newline="") as fh:
        return {row["id"]: float(row["total"]) for row in csv.DictReader(fh)}


@pytest.fixture()
def class_dir():
    """An empty class folder and output folder that every user could enter."""
    import shutil
    import tempfile
    base = tempfile.mkdtemp(prefix="class-")
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _put(class_dir, student, source):
    folder = os.path.join(class_dir, "class", student)
    os.makedirs(folder, mode=0o755, exist_ok=True)
    path = os.path.join(folder, HW.filename)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(source)
    os.chmod(path, 0o644)
    return path


def _reference():
    with open(os.path.join(PROJECT_ROOT, "solutions", HW.filename), encoding="utf-8") as fh:
        return fh.read()


ESCAPES = "\x1b]52;c;c3RvbGVu\x07\x1b[2J\x1b[H\rScore: 34/34\x1b[8m"


@needs_namespaces
def test_classmates_graded_at_the_same_time_are_out_of_reach(class_dir):
    """alice implements nothing and runs whatever classmate file she can find: the private
    copies of the batch's workers, the class folder named on a grader's command line."""
    marker = _marker()
    _put(class_dir, "alice", _cheater('''
        found = glob.glob("/tmp/grader-*/**/hw1_gaussians.py", recursive=True)
        found += glob.glob("/tmp/*/*/hw1_gaussians.py") + glob.glob("/submission/*.py")
        for arg in _command_line_args():
            if os.path.isdir(arg):
                found += glob.glob(arg + "/*/hw1_gaussians.py")
                found += glob.glob(arg + "/class/*/hw1_gaussians.py")
        print(''' + repr(ESCAPES) + ''')
        return found
        ''', marker))
    _put(class_dir, "bob", _reference())
    _put(class_dir, "carol", _printing_escapes())  # her feedback shows what she printed
    out = os.path.join(class_dir, "out")
    code, err, _ = _batch(os.path.join(class_dir, "class"), out, "--seed", "5")
    assert code == 0, err[-2000:]
    totals = _totals(out)
    assert totals["alice"] == 0 and totals["bob"] == HW_MAX, totals
    assert 0 < totals["carol"] < HW_MAX, totals
    shown = []
    for feedback in _files_named(out, "feedback.md") + _files_named(out, "results.json"):
        with open(feedback, encoding="utf-8") as fh:
            text = fh.read()
        assert "\x1b" not in text and "\\u001b" not in text and "\r" not in text, feedback
        shown.append(text)
    assert any("x1b]52" in text for text in shown)
    assert _escaped(marker) == []


@needs_namespaces
def test_grading_one_student_shows_no_classmate_through_proc(class_dir):
    """``grade CLASS/alice``: the class folder is on the grader's command line."""
    import subprocess
    import sys as _sys
    marker = _marker()
    alice = _put(class_dir, "alice", _cheater('''
        found = []
        for arg in _command_line_args():
            parent = os.path.dirname(os.path.dirname(arg))
            if os.path.isdir(parent):
                found += glob.glob(parent + "/*/hw1_gaussians.py")
        return found
        ''', marker))
    _put(class_dir, "bob", _reference())
    out = os.path.join(class_dir, "alice.json")
    done = subprocess.run([_sys.executable, "-m", "grader", "grade", "hw1", alice, "--seed",
                           "6", "--out", out, "--quiet"], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    import json
    with open(out, encoding="utf-8") as fh:
        assert json.load(fh)["score"] == 0
    assert _escaped(marker) == []


def _files_named(folder, name):
    return [os.path.join(d, name) for d, _, files in os.walk(folder) if name in files]


HW_MAX = sum(c.points for c in homeworks.load_checks(HW, True))


def test_files_written_for_a_worker_are_readable_by_it_alone(tmp_path):
    """The private copy of a submission (here the reference, as ``make test`` grades it) and
    the worker's folders: no access for group or others, owned by the worker's own uid."""
    path = tmp_path / HW.filename
    path.write_text(_reference())
    with Sandbox(HW.module, str(path)) as box:
        assert box.start().ok
        modes = {}
        for folder, dirs, files in os.walk(box.root):
            for name in [folder] + [os.path.join(folder, f) for f in files]:
                info = os.lstat(name)
                modes[name] = (info.st_mode & 0o077, info.st_uid)
        copy = os.path.join(box.submission, HW.filename)
        assert copy in modes
        assert {m for m, _ in modes.values()} == {0}, modes
        if box.uid is not None:
            assert modes[copy][1] == box.uid
        root = box.root
    assert not os.path.exists(root)  # closing leaves nothing


def test_scratch_is_capped_private_and_gone_after_grading():
    """4 x 32 MiB in each of /tmp, /var/tmp and /dev/shm: capped, and nothing survives."""
    marker = _marker()
    result = grade_text("hw1", _reference() + LITTER.format(marker=marker), seed=22)
    assert result.score == result.max_score, failures(result)
    assert _escaped(marker) == []


def _hostile_wire(body_code):
    """A reference whose worker answers every call with the bytes ``body_code`` builds
    (the student replaced the worker's serializer, as any submission can)."""
    return _reference() + textwrap.dedent(f'''
        import protocol as _protocol
        _protocol.dumps = lambda message: {body_code}
        ''')


WIRE_ATTACKS = {
    "huge_int": "b'{\"ok\": true, \"results\": [' + b'9' * 2_000_000 + b']}'",
    "braces": "b'{\"ok\": true, \"results\": [' + b'{},' * (43 << 20) + b'{}]}'",
    "deep": "b'{\"ok\": true, \"results\": ' + b'[' * 900 + b']' * 900 + b'}'",
}


@needs_namespaces
def test_answers_that_break_the_channel_cost_only_their_sender(class_dir):
    """A 2e6-digit integer, 128 MiB of ``{},`` and 900-deep nesting, graded in a ``--jobs 2``
    batch beside the reference: each hostile student scores zero, the reference keeps full
    marks, the grader's memory stays bounded and it does not fail (exit 3)."""
    marker = _marker()
    for name, body in WIRE_ATTACKS.items():
        _put(class_dir, name, _hostile_wire(body) + LITTER.format(marker=marker))
    _put(class_dir, "reference", _reference())
    out = os.path.join(class_dir, "out")
    code, err, peak_mib = _batch(os.path.join(class_dir, "class"), out, "--seed", "7")
    assert code == 0, err[-2000:]
    totals = _totals(out)
    assert totals["reference"] == HW_MAX, totals
    assert all(totals[name] == 0 for name in WIRE_ATTACKS), totals
    assert peak_mib is not None and peak_mib < 1024, peak_mib
    assert _escaped(marker) == []


@pytest.mark.parametrize("name", sorted(WIRE_ATTACKS))
def test_each_channel_violation_is_a_clear_failed_check(name, tmp_path):
    path = tmp_path / HW.filename
    path.write_text(_hostile_wire(WIRE_ATTACKS[name]))
    with Sandbox(HW.module, str(path), limits=HW.limits) as box:
        assert box.start().status == "garbage"  # the import's answer is broken too
        out = box.call([programs.call("gaussian_logpdf", 0.0, 0.0, 1.0)])
    assert out.status == "garbage"
    assert "limit" in out.message or "deeper" in out.message or "digits" in out.message, \
        out.message


def _printing_escapes():
    """The reference, but gaussian_marginal prints and raises terminal control sequences."""
    return _reference() + textwrap.dedent(f'''
        def gaussian_marginal(mu, Sigma, idx):
            print({ESCAPES!r})
            raise ValueError({ESCAPES!r})
        ''')


def test_escape_sequences_reach_no_terminal_no_results_file(tmp_path):
    import json
    import subprocess
    import sys as _sys
    path = tmp_path / HW.filename
    path.write_text(_printing_escapes())
    out = tmp_path / "results.json"
    done = subprocess.run([_sys.executable, "-m", "grader", "grade", "hw1", str(path),
                           "--seed", "8", "--only", "gaussian_marginal", "--out", str(out)],
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert "\\x1b]52" in done.stdout and "\\rScore" in done.stdout, done.stdout
    assert "\x1b" not in done.stdout and "\r" not in done.stdout and "\x07" not in done.stdout
    text = json.dumps(json.loads(out.read_text()), ensure_ascii=False)
    assert "\x1b" not in text and "\r" not in text and "\\x1b]52" in text


def test_the_time_shown_before_the_deadline_covers_public_checks_only():
    """A submission that sleeps in proportion to a hidden input cannot read it back."""
    from grader.autograder import student_summary
    from grader.reporters.gradescope import to_gradescope
    from grader.results import CheckResult, GradeResult
    checks = [CheckResult("p", "e", "public", 1, 1, "passed", True, "visible", seconds=0.25),
              CheckResult("h", "e", "hidden", 1, 1, "passed", False, "after_due_date",
                          seconds=7.5)]
    result = GradeResult("hw1", HW.module, "x.py", 1, True, checks=checks, seconds=7.9)
    for text in (student_summary(result), to_gradescope(result)["output"]):
        assert "0.25 s" in text and "7.9" not in text and "7.5" not in text, text
    assert to_gradescope(result)["extra_data"]["seconds"] == 0.25


IMPORT_SCIPY = "import scipy\n"


@pytest.mark.parametrize("isolate", [True, False], ids=["allow-list", "fallback"])
def test_importing_a_package_the_homework_does_not_allow_fails_naming_it(isolate):
    result = grade_text("hw1", IMPORT_SCIPY + stub_source(HW), seed=23) if isolate else None
    if result is not None:
        assert result.import_status == "import_failed" and result.score == 0
        assert "scipy" in result.import_message and "numpy" in result.import_message
    path = _write_tmp(IMPORT_SCIPY)
    with Sandbox(HW.module, path, isolate=isolate) as box:
        outcome = box.start()
    assert outcome.status == "import_failed"
    assert "'scipy'" in outcome.message and "standard library, numpy" in outcome.message


def test_without_namespaces_the_fallback_is_loud_and_keeps_copies_private(monkeypatch):
    refused = isolation.Capabilities(False, "unshare: Operation not permitted (test)",
                                     tuple(p for p in isolation.probe().active
                                           if "namespace" not in p and "allow-list" not in p
                                           and "capabilities" not in p))
    monkeypatch.setattr(isolation, "probe", lambda: refused)
    marker = _marker()
    path = _write_tmp(_reference() + LITTER.format(marker=marker))
    with Sandbox(HW.module, path) as box:
        shown = " ".join(box.protections)
        assert "NO allow-list root" in shown and "NO own PID namespace" in shown
        assert "Operation not permitted (test)" in shown
        assert box.start().ok
        assert os.stat(box.root).st_mode & 0o077 == 0
        assert os.stat(box.submission).st_mode & 0o077 == 0
    if box.uid is not None:  # as root, with Python where a worker uid can reach it
        assert _escaped(marker) == []
