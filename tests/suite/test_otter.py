"""otter-grader interoperability, and the README's "Compared with otter-grader 7", test by test.

The export tests always run. Those that call ``otter`` run when otter-grader is
installed (``pip install .[otter]``, which CI does), or when ``OTTER_BIN`` names
an ``otter`` executable installed elsewhere (its own virtual environment).

Each comparison pairs the same attack graded here (always run) with, where it
can be shown without waiting forever, the same attack under ``otter run``.
"""
import ast
import importlib
import importlib.util
import inspect
import json
import math
import os
import subprocess
import sys
import types

import pytest

from grader import homeworks
from grader.homeworks import PROJECT_ROOT

from .grading import failures, grade_text, lost, reference_source, stub_source, variant

nbgen = pytest.importorskip("grader.nbgen")
otter_export = pytest.importorskip("grader.otter_export")

HW = homeworks.get("hw1")


def _otter_command():
    exe = os.environ.get("OTTER_BIN")
    if exe:
        return [exe]
    if importlib.util.find_spec("otter") is not None:
        return [sys.executable, "-m", "otter"]
    return None


OTTER = _otter_command()
needs_otter = pytest.mark.skipif(OTTER is None, reason="otter-grader is not installed "
                                 "(pip install .[otter], or set OTTER_BIN)")


def exported_ids(folder):
    """The check ids an export holds, read back from the titles of its test cases."""
    checks = homeworks.load_checks(HW, include_hidden=True)
    text = "".join(exported_test_files(folder).values())
    return [c.id for c in checks
            if f"{c.exercise}: {c.title}" + ("" if c.public else " [hidden]") in text]


def exported_points(hw, exported):
    checks = {c.id: c for c in homeworks.load_checks(hw, include_hidden=True)}
    return sum(checks[i].points for i in exported)


# --- the export -----------------------------------------------------------------------------

def exported_test_files(folder):
    """{file name: text} of an export's test files (``tests/*.py``)."""
    return {name: (folder / "tests" / name).read_text()
            for name in sorted(os.listdir(folder / "tests")) if name.endswith(".py")}


@pytest.mark.parametrize("hw", list(homeworks.HOMEWORKS.values()), ids=lambda hw: hw.id)
def test_export_writes_exception_tests_with_public_and_hidden_cases(hw, tmp_path):
    exported, skipped = otter_export.export(hw, str(tmp_path), seed=5)
    checks = homeworks.load_checks(hw, include_hidden=True)
    assert sorted(exported + [i for i, _ in skipped]) == sorted(c.id for c in checks)
    total, hidden = 0.0, 0
    for name, text in exported_test_files(tmp_path).items():
        tree = ast.parse(text)
        assert "OK_FORMAT = False" in text and f"name = {name[:-3]!r}" in text
        flags = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "test_case":
                kw = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
                total += kw["points"]
                hidden += kw["hidden"]
                flags.append(kw["hidden"])
        # public and hidden cases never share a file; hidden files say not to ship them
        assert flags and set(flags) == {name.endswith("_hidden.py")}, name
        assert ("Never ship this" in text) == name.endswith("_hidden.py")
    assert total == exported_points(hw, exported)
    assert hidden == sum(1 for c in checks if c.id in exported and not c.public)
    readme = (tmp_path / "README.md").read_text()
    assert all(f"`{i}`" in readme for i, _ in skipped)
    assert f"{exported_points(hw, exported):g} of the course grader's " \
           f"{sum(c.points for c in checks):g} points" in readme
    assert "Never ship `tests/*_hidden.py`" in readme and "seed 5" in readme
    nb = json.loads((tmp_path / f"{hw.module}.ipynb").read_text())
    assert "otter.Notebook()" in "".join(nb["cells"][1]["source"])


def test_hidden_cases_follow_the_seed_and_public_cases_do_not(tmp_path):
    otter_export.export(HW, str(tmp_path / "a"), seed=1)
    otter_export.export(HW, str(tmp_path / "b"), seed=2)
    a, b = exported_test_files(tmp_path / "a"), exported_test_files(tmp_path / "b")
    assert a.keys() == b.keys()
    for name in a:
        same = a[name].replace("seed 1", "seed 2").replace("--seed 1", "--seed 2") == b[name]
        assert same != name.endswith("_hidden.py"), name


def _case_texts(text):
    """The JSON case texts (``CASES_n = r'''...'''``) of a test file, decoded as plain JSON."""
    return [json.loads(node.value.value) for node in ast.parse(text).body
            if isinstance(node, ast.Assign) and node.targets[0].id.startswith("CASES_")]


def _largest_in_text(data):
    """How many numbers the largest array or list of a (plainly decoded) case text holds."""
    if isinstance(data, list):
        return max([len(data)] + [_largest_in_text(v) for v in data])
    if isinstance(data, dict):
        if "$list" in data:
            return math.prod(data["shape"])
        return max([0] + [_largest_in_text(v) for v in data.values()])
    return 0


def _npy_names(data):
    """The data files (``{"$npy": name}``) that a case text reads."""
    if isinstance(data, list):
        return [n for v in data for n in _npy_names(v)]
    if isinstance(data, dict):
        return ([data["$npy"]] if "$npy" in data else []) + \
            [n for v in data.values() for n in _npy_names(v)]
    return []


@pytest.mark.parametrize("hw", list(homeworks.HOMEWORKS.values()), ids=lambda hw: hw.id)
def test_no_giant_literals_cases_are_json_text_and_large_arrays_go_to_npy_files(hw, tmp_path):
    """A 300x300 hidden case once made a 2 MB literal, and otter compiles a test file twice at
    every check: a test file's code holds no case data (its only numbers are the points of
    its tests), each test's cases are JSON text whose arrays hold at most LITERAL_LIMIT
    numbers, and larger ones are otter-data/*.npy files, each named by the file that reads it."""
    otter_export.export(hw, str(tmp_path), seed=3)
    named = set()
    for name, text in exported_test_files(tmp_path).items():
        assert len(text) < 48_000, (name, len(text))
        tree = ast.parse(text)
        numbers = [n for n in ast.walk(tree) if isinstance(n, ast.Constant)
                   and type(n.value) in (int, float)]
        tests = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and getattr(n.func, "id", "") == "test_case"]
        assert len(numbers) == len(tests), name  # points=... and nothing else
        texts = _case_texts(text)
        assert len(texts) == len(tests) and all(texts), name
        assert max(_largest_in_text(t) for t in texts) <= otter_export.LITERAL_LIMIT, name
        files = [n for t in texts for n in _npy_names(t)]
        assert all(n.startswith(name[:-3] + "-") for n in files), name
        named |= {f"{otter_export.DATA_DIR}/{n}" for n in files}
    assert sorted(named) == otter_export.support_files(str(tmp_path))


class _TestCase:
    """otter.test_files.test_case's interface, for running exported files without otter."""

    def __init__(self, name=None, points=None, hidden=False):
        self.name, self.points, self.hidden = name, points, hidden

    def __call__(self, test_func):
        self.test_func = test_func
        return self


def _otter_test_case(monkeypatch):
    """Make ``from otter.test_files import test_case`` work: otter's, or a stand-in."""
    if importlib.util.find_spec("otter") is None:
        fake = types.ModuleType("otter.test_files")
        fake.test_case = _TestCase
        monkeypatch.setitem(sys.modules, "otter", types.ModuleType("otter"))
        monkeypatch.setitem(sys.modules, "otter.test_files", fake)


def run_exported(folder, hw, source):
    """{check id: passed} of an export's tests on module ``source``, run as otter runs them:
    each file executed once without its path (otter's ``create_test_file``) and once
    compiled with it, each test function given the module's global of each parameter's name."""
    checks = homeworks.load_checks(hw, include_hidden=True)
    by_title = {f"{c.exercise}: {c.title}" + ("" if c.public else " [hidden]"): c.id
                for c in checks}
    module = {"__name__": "__main__"}
    exec(compile(source, hw.filename, "exec"), module)
    verdicts = {}
    for path in sorted((folder / "tests").glob("*.py")):
        exec(path.read_text(), {})
        namespace = {}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        for test in [v for v in namespace.values() if hasattr(v, "test_func")]:
            params = inspect.signature(test.test_func).parameters
            try:
                test.test_func(**{p: module.get(p) for p in params})
                verdicts[by_title[test.name]] = True
            except Exception:  # noqa: BLE001 - any exception fails an otter test
                verdicts[by_title[test.name]] = False
    return verdicts


@pytest.mark.parametrize("hw", [hw for hw in homeworks.HOMEWORKS.values() if hw.id != "hw6"],
                         ids=lambda hw: hw.id)
def test_exported_tests_fail_what_the_grader_fails(hw, tmp_path, monkeypatch):
    """Same seed, same verdicts: the exported tests pass the reference, fail every exported
    check on the stubs, fail exactly the exported checks that each deliberately wrong variant
    of the homework's own tests loses (at seed 3, one of the seeds those tests grade them
    with), and fail the buggy example where this grader does (hw6 exports nothing)."""
    _otter_test_case(monkeypatch)
    monkeypatch.chdir("/")
    exported, _ = otter_export.export(hw, str(tmp_path), seed=3)
    reference = run_exported(tmp_path, hw, reference_source(hw))
    assert exported and sorted(reference) == sorted(exported) and all(reference.values())
    assert not any(run_exported(tmp_path, hw, stub_source(hw)).values())
    suite = importlib.import_module(f"tests.suite.test_{hw.module}")
    for name, (override, expected_lost, *only) in suite.WRONG_VARIANTS.items():
        verdicts = run_exported(tmp_path, hw, variant(hw, override))
        if only:  # the variant is graded on these exercises alone (hw7)
            verdicts = {i: ok for i, ok in verdicts.items() if i.split("/")[0] in only[0]}
        assert {i for i, ok in verdicts.items() if not ok} == set(expected_lost) & set(exported), \
            name
    with open(os.path.join(PROJECT_ROOT, "examples", hw.id, "buggy", hw.filename),
              encoding="utf-8") as fh:
        buggy = fh.read()
    verdicts = run_exported(tmp_path, hw, buggy)
    graded = grade_text(hw.id, buggy, seed=3)
    assert {i for i, ok in verdicts.items() if not ok} == lost(graded) & set(exported), \
        failures(graded)


def test_an_exported_test_file_runs_and_loads_its_data_files(tmp_path, monkeypatch):
    """The test file as otter runs it (executed without its path, then compiled with it and
    executed in an empty namespace, from another folder), against the reference: every case
    passes, its data files included; a wrong answer fails."""
    _otter_test_case(monkeypatch)
    monkeypatch.chdir("/")
    hw2 = homeworks.get("hw2")
    otter_export.export(hw2, str(tmp_path), seed=3)
    assert any("gaussian_kl_hidden-" in f for f in otter_export.support_files(str(tmp_path)))
    path = tmp_path / "tests" / "gaussian_kl_hidden.py"
    exec(path.read_text(), {})  # as otter's create_test_file does: no path to find data by
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    reference = homeworks.load_reference(hw2)
    cases = [v for v in namespace.values() if not isinstance(v, type) and hasattr(v, "test_func")]
    assert cases
    for case in cases:
        case.test_func(reference.gaussian_kl)
    with pytest.raises(AssertionError):
        cases[0].test_func(lambda *a, **k: reference.gaussian_kl(*a, **k) + 1e-3)


def test_the_runtime_is_compiled_once_per_kernel(tmp_path, monkeypatch):
    """Each check executes its test file anew; the code that runs the cases (otter_runtime.py,
    carried as text) is compiled at the first one and kept in sys.modules under a name made
    from its content, so that another version's runtime is another module."""
    _otter_test_case(monkeypatch)
    otter_export.export(HW, str(tmp_path), seed=3)
    text, module_name = otter_export.runtime_source(with_callables=False)
    monkeypatch.delitem(sys.modules, module_name, raising=False)
    runtimes = []
    for name in ("gaussian_logpdf.py", "gaussian_logpdf.py", "mixture_logpdf_hidden.py"):
        source = (tmp_path / "tests" / name).read_text()
        assert text in source
        namespace = {}
        exec(compile(source, name, "exec"), namespace)
        runtimes.append(namespace["_runtime"]())
    assert runtimes[0] is runtimes[1] is runtimes[2] is sys.modules[module_name]
    assert runtimes[0].run.__code__.co_filename == module_name
    assert otter_export.runtime_source(with_callables=True)[1] != module_name


def test_a_check_run_again_gets_fresh_cases(tmp_path, monkeypatch):
    """The runtime keeps each test's decoded cases for the next check in the kernel, and hands
    a student's function copies: a function that overwrites its arguments in place fails its
    own check and leaves the next check (the reference) its cases intact; each run gets a new
    generator for a case that passes one."""
    _otter_test_case(monkeypatch)
    otter_export.export(HW, str(tmp_path), seed=3)
    path = tmp_path / "tests" / "gaussian_logpdf.py"
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    test = next(v for v in namespace.values() if hasattr(v, "test_func"))
    reference = homeworks.load_reference(HW)

    def overwrites(x, mu, Sigma):
        for array in (x, mu, Sigma):
            array[...] = 0.0
        return 0.0

    with pytest.raises(AssertionError):
        test.test_func(overwrites)
    test.test_func(reference.gaussian_logpdf)
    runtime = namespace["_runtime"]()
    draws = [runtime.fresh(runtime.decode({"$rng": 5}, str(path))).random() for _ in range(2)]
    assert draws[0] == draws[1]


def test_the_default_seed_is_random_and_recorded(tmp_path, capsys):
    from grader.cli import main
    seeds = []
    for name in ("a", "b"):
        assert main(["export-otter", "hw1", str(tmp_path / name)]) == 0
        out = capsys.readouterr().out
        seed = int(out.split("drawn with seed ")[1].split()[0])
        assert f"seed {seed}" in (tmp_path / name / "README.md").read_text()
        assert f"hidden seed {seed}" in exported_test_files(tmp_path / name)["gaussian_logpdf_hidden.py"]
        ours, total, _ = otter_export.totals(homeworks.load_checks(HW, include_hidden=True),
                                             exported_ids(tmp_path / name))
        assert f"otter's total is {ours:g} of this grader's {total:g} points" in out
        assert "WARNING: tests/*_hidden.py" in out
        seeds.append(seed)
    assert seeds[0] != seeds[1]


def test_export_otter_command(tmp_path, capsys):
    from grader.cli import main
    assert main(["export-otter", "hw1", str(tmp_path / "out"), "--seed", "3"]) == 0
    assert "checks as otter tests, hidden cases drawn with seed 3" in capsys.readouterr().out
    assert (tmp_path / "out" / "tests" / "gaussian_conditional.py").exists()
    assert (tmp_path / "out" / "tests" / "gaussian_conditional_hidden.py").exists()


# --- otter run ------------------------------------------------------------------------------

def _otter(*args, cwd):
    return subprocess.run(OTTER + list(args), cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)


def _export_and_generate(hw, folder):
    exported, _ = otter_export.export(hw, str(folder), seed=11)
    if not exported:
        pytest.skip(f"{hw.id} has no check that otter's tests can express")
    done = _otter("generate", *otter_export.support_files(str(folder)), cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, exported_points(hw, exported)


@pytest.fixture(scope="module")
def assignment(tmp_path_factory):
    """hw1 exported and turned into ``autograder.zip`` by ``otter generate``."""
    if OTTER is None:
        pytest.skip("otter-grader is not installed")
    return _export_and_generate(HW, tmp_path_factory.mktemp("otter-hw1"))


def otter_run(assignment, tmp_path, nb, hw=HW):
    """``otter run`` on notebook ``nb``: (score, possible, results.json document, process)."""
    folder, _ = assignment
    sub = tmp_path / "submission"
    sub.mkdir(parents=True, exist_ok=True)
    path = sub / f"{hw.module}.ipynb"
    path.write_text(nbgen.dumps(nb), encoding="utf-8")
    done = _otter("run", "--no-logo", "-a", str(folder / "autograder.zip"), "-o", str(sub),
                  str(path), cwd=tmp_path)
    out = sub / "results.json"
    doc = json.loads(out.read_text()) if out.exists() else None
    if doc is None:
        return None, None, None, done
    scored = [t for t in doc["tests"] if "max_score" in t]
    return (sum(t["score"] for t in scored), sum(t["max_score"] for t in scored), doc, done)


def otter_notebook(source=None, hw=HW):
    """The exported (otter-flavoured) notebook, with module ``source``'s definitions filled in."""
    nb = nbgen.build(hw, setup=nbgen.OTTER_SETUP_SOURCE)
    return nbgen.fill(nb, source) if source else nb


def _otter_python():
    """The Python that otter runs under (the kernel of ``otter run`` is this Python)."""
    if os.environ.get("OTTER_BIN"):
        return os.path.join(os.path.dirname(OTTER[0]), "python")
    return sys.executable


def _otter_python_has(module):
    python = _otter_python()
    return subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode == 0


@needs_otter
@pytest.mark.parametrize("hw", list(homeworks.HOMEWORKS.values()), ids=lambda hw: hw.id)
def test_otter_run_gives_the_reference_full_marks_and_the_stubs_zero(hw, tmp_path):
    if hw.needs_torch and not _otter_python_has("torch"):
        pytest.skip("otter's environment has no torch")
    assignment = _export_and_generate(hw, tmp_path / "assignment")
    for name, source, want in (("reference", reference_source(hw), assignment[1]),
                               ("stubs", None, 0)):
        score, possible, doc, done = otter_run(assignment, tmp_path / name,
                                               otter_notebook(source, hw), hw)
        assert possible == assignment[1] and score == want, (name, done.stdout[-3000:])


# --- compared with otter: 1. checks that run in the student's process -------------------------

PATCHED_ALLCLOSE = """
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None

def gaussian_marginal(mu, Sigma, idx):
    k = len(idx)
    return np.zeros(k), np.zeros((k, k))      # right shapes, wrong values
"""
MARGINAL_CHECKS = {c.id for c in homeworks.load_checks(HW, include_hidden=True)
                   if c.exercise == "gaussian_marginal"}


def test_here_a_submission_that_replaces_np_allclose_loses_its_exercise():
    result = grade_text("hw1", variant(HW, PATCHED_ALLCLOSE), seed=4)
    assert lost(result) == MARGINAL_CHECKS, failures(result)


@needs_otter
def test_under_otter_the_same_submission_scores_full_marks(assignment, tmp_path):
    nb = otter_notebook(variant(HW, PATCHED_ALLCLOSE))
    score, possible, _, done = otter_run(assignment, tmp_path, nb)
    assert score == possible, done.stdout[-3000:]


ALWAYS_AGREES = """
class Agrees:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    def __array_function__(self, func, types, args, kwargs): return True
    def __array_ufunc__(self, ufunc, method, *args, **kwargs): return Agrees()

def gaussian_conditional(mu, Sigma, idx_a, idx_b, x_b):
    return Agrees()
"""


def test_here_an_object_that_always_agrees_loses_its_exercise():
    """In otter, ``np.allclose(got, expected)`` dispatches to ``__array_function__`` and
    ``got == expected`` to ``__eq__``: both say yes. Here only plain data leaves the worker."""
    result = grade_text("hw1", variant(HW, ALWAYS_AGREES), seed=4)
    conditional = {c.check_id for c in result.checks if c.exercise == "gaussian_conditional"}
    assert lost(result) == conditional, failures(result)
    assert all("Agrees" in c.message for c in result.checks if c.check_id in conditional)


# --- 2. exception text that carries hidden-test data into visible output ---------------------

LEAK = """
def gaussian_marginal(mu, Sigma, idx):
    import sys, traceback
    seen, frame = [], sys._getframe(1)
    while frame is not None:
        seen += [f"{k}={v!r}" for k, v in frame.f_globals.items() if not k.startswith("__")]
        seen += [f"{k}={v!r}" for k, v in frame.f_locals.items()]
        frame = frame.f_back
    raise RuntimeError("".join(traceback.format_stack()) + " ".join(seen)[:50000])
"""
HIDDEN_CASE_IDS = ["list, unordered", "all dims reversed"]   # hidden gaussian_marginal cases


def test_here_exception_text_carries_no_hidden_check_data():
    result = grade_text("hw1", variant(HW, LEAK), seed=4)
    assert lost(result) == MARGINAL_CHECKS
    public = next(c for c in result.checks if c.exercise == "gaussian_marginal" and c.public)
    shown = public.message + public.where
    assert "RuntimeError" in shown
    for secret in HIDDEN_CASE_IDS + ["tests/hidden", "reference", "expected"]:
        assert secret not in shown


# The export keeps hidden checks in files of their own, but otter runs every test file in the
# student's kernel: after the notebook, in name order, each test not yet run by a check cell.
# The student's gaussian_logpdf, called by the hidden gaussian_logpdf tests, keeps their
# cases; with its check cell deleted, mixture_responsibilities' public test runs after them
# and fails with those cases in its visible message.
LEAK_ACROSS_FILES = """
def gaussian_logpdf(x, mu, Sigma):
    import builtins, sys
    frame = sys._getframe(1)
    while frame is not None:
        if str(frame.f_globals.get("name", "")).endswith("_hidden"):
            builtins.__dict__.setdefault("kept", []).append(repr(frame.f_globals.get("CASES_1")))
        frame = frame.f_back
    return 0.0

def mixture_responsibilities(x, weights, means, covs):
    import builtins
    raise RuntimeError(" ".join(builtins.__dict__.get("kept", []))[:20000])
"""
HIDDEN_LOGPDF_CASE = "D=2 batch of 2"  # a case of the first hidden gaussian_logpdf check (not public)


def test_here_a_submission_sees_no_case_of_another_check():
    result = grade_text("hw1", variant(HW, LEAK_ACROSS_FILES), seed=4)
    shown = "".join(c.message + c.where for c in result.checks)
    assert "RuntimeError" in shown and HIDDEN_LOGPDF_CASE not in shown


@needs_otter
def test_under_otter_a_public_test_shows_the_hidden_cases(assignment, tmp_path):
    nb = otter_notebook(variant(HW, LEAK_ACROSS_FILES))
    nb["cells"] = [c for c in nb["cells"]
                   if "".join(c["source"]) != 'grader.check("mixture_responsibilities")']
    _, _, doc, done = otter_run(assignment, tmp_path, nb)
    visible = "".join(t["output"] for t in doc["tests"] if t.get("visibility") == "visible")
    assert HIDDEN_LOGPDF_CASE in visible and "expected" in visible, visible[:3000]


# --- 3. a per-call time limit ----------------------------------------------------------------
# Here: test_containment.py::test_infinite_loop_in_one_exercise_times_out_and_the_rest_is_graded
# (one looping exercise times out, every other one is graded). Under otter, waiting for a loop
# would be a test that never ends, so its half reads otter's configuration instead.

@needs_otter
def test_under_otter_run_a_notebook_executes_without_any_time_limit():
    python = _otter_python()
    probe = ("import inspect, otter.execute, nbconvert.preprocessors as p\n"
             "src = inspect.getsource(otter.execute.grade_notebook)\n"
             "print('timeout' in src, p.ExecutePreprocessor().timeout)\n")
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True)
    assert done.stdout.split() == ["False", "None"], done.stderr[-2000:]


# --- 4. unpickling what the submission's process wrote ----------------------------------------

PLANT = """
import os, pickle

class _Payload:
    def __reduce__(self):
        return (exec, ("open({marker!r}, 'w').write('ran in the grader')",))

_dump = pickle.dump
pickle.dump = lambda obj, fh, *a, **k: _dump(_Payload(), fh, *a, **k)
for folder in (".", "..", os.path.expanduser("~"), "/tmp"):
    for name in ("results.pkl", "results.pickle", "results.json"):
        try:
            with open(os.path.join(folder, name), "wb") as fh:
                _dump(_Payload(), fh)
        except OSError:
            pass
"""


def test_here_planted_pickles_are_never_loaded(tmp_path):
    marker = tmp_path / "payload-ran"
    result = grade_text("hw1", stub_source(HW) + PLANT.format(marker=str(marker)), seed=4)
    assert result.import_status == "ok" and result.score == 0
    assert {c.status for c in result.checks} == {"not_implemented"}
    assert not marker.exists()


@needs_otter
def test_under_otter_a_planted_pickle_runs_code_in_the_grader(assignment, tmp_path):
    marker = tmp_path / "payload-ran"
    otter_run(assignment, tmp_path, otter_notebook(stub_source(HW) + PLANT.format(marker=str(marker))))
    assert marker.exists() and marker.read_text() == "ran in the grader"
