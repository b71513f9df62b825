"""Export a homework as an otter-grader 7 assignment (for courses already on otter).

``python -m grader export-otter hw1 OUTDIR`` writes::

    OUTDIR/hw1_gaussians.ipynb          the student notebook, set up with ``otter.Notebook()``
    OUTDIR/tests/<exercise>.py          the public checks' tests (may ship with the notebook)
    OUTDIR/tests/<exercise>_hidden.py   the hidden checks' tests: never ship these
    OUTDIR/otter-data/*.npy             arrays too large to write as literals (support files)
    OUTDIR/requirements.txt             what the grading image needs (numpy; torch where the
                                        module imports it)
    OUTDIR/otter_config.json            otter's autograder configuration
    OUTDIR/README.md                    how to run it, the seed, what was not exported

Each exported check becomes one ``test_case`` worth the check's points,
all-or-nothing over its cases like here; public checks are visible, in files of
their own; hidden checks are ``hidden=True`` in ``*_hidden.py`` files, their
cases drawn from ``seed`` (random unless given, and recorded: a course picks the
hidden cases once, when it exports). The expected values are computed by the
reference on the exporting side and written as literals; an array of more than
``LITERAL_LIMIT`` numbers goes to an ``.npy`` file instead (read once per test
file, so each check stays cheap in a warm kernel).

A check is exported when it is one call of the exercise judged by a judge
that declares what it compares: a tolerance (``close``, ``close_tuple``), an
exact Python int (``exact_int``) or a builtin exception (``raises``).
Reference-free checks (statistical tests, properties), other judges and
multi-step programs need this grader's engine and are listed in the README
instead. Exported tests run the
way otter runs them, inside the student's kernel, with the weaknesses that
this project's README lists ("Compared with otter-grader 7").
"""
import inspect
import json
import math
import os
import secrets

import numpy as np

from . import engine, homeworks, nbgen
from .checks import judges
from .checks.registry import single_call
from .sandbox import callables as callables_module

OTTER_VERSION = "7.0.0"
LITERAL_LIMIT = 256  # numbers in an array written as a literal; larger ones go to .npy
HIDDEN_SUFFIX = "_hidden"
DATA_DIR = "otter-data"  # next to tests/: otter's generate copies only tests/*.py


class NotExportable(Exception):
    """A check that otter's exception tests cannot express; the message says why."""


def literal(value, store=None):
    """Python source that rebuilds plain case data (exact floats; generators by their seed).
    ``store(array)``, when given, takes an array of more than ``LITERAL_LIMIT`` numbers and
    returns the source that loads it (a data file) instead of a literal."""
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        value = int(value)
        return repr(value) if abs(value) < 10**30 else ("-" if value < 0 else "") + hex(abs(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isfinite(value):
            return repr(value)
        return f"float({str(value)!r})"
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise NotExportable("an argument is an array of Python objects")
        if store is not None and value.size > LITERAL_LIMIT:
            return store(value)
        flat = ", ".join(literal(v) for v in value.reshape(-1).tolist())
        return f"np.array([{flat}], dtype={value.dtype.str!r}).reshape({tuple(value.shape)!r})"
    if isinstance(value, (list, tuple)) and store is not None and len(value) > LITERAL_LIMIT \
            and _plain_numbers(value):  # saved as an array, rebuilt as Python numbers
        rebuilt = f"{store(np.array(value))}.tolist()"
        return rebuilt if isinstance(value, list) else f"tuple({rebuilt})"
    if isinstance(value, tuple):
        return "(" + "".join(literal(v, store) + ", " for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, store) for v in value) + "]"
    if isinstance(value, dict):
        if "$rng" in value:
            return f"np.random.default_rng({int(value['$rng'])})"
        if "$fn" in value and not value.get("save"):
            return f"callables_make({value['$fn']!r}, {literal(value.get('kw', {}), store)})"
        if any(str(k).startswith("$") for k in value):
            raise NotExportable(f"an argument is a worker-side object {sorted(value)}")
        return "{" + ", ".join(f"{k!r}: {literal(v, store)}" for k, v in value.items()) + "}"
    raise NotExportable(f"an argument of type {type(value).__name__}")


def _plain_numbers(values):
    """Whether ``values`` are all Python floats, or all ints that fit an int64 (an array
    of them round-trips exactly through ``.tolist()``)."""
    if all(type(v) is float for v in values):
        return True
    return all(type(v) is int and -2**63 <= v < 2**63 for v in values)


def _tolerance(tol, case, index=None):
    if isinstance(tol, tuple):
        tol = tol[index]
    return float(tol(case) if callable(tol) else tol)


def _comparison(check, case):
    """How the exported test judges one case: ``dict(kind=..., ...)`` (see ``_run`` below)."""
    info = judges.info_of(check.judge)
    if info.raises:
        if "." in info.raises:
            raise NotExportable("it expects an exception class that is not a builtin")
        return {"kind": "raises", "name": info.raises}
    if check.expected is None:
        raise NotExportable("it has no expected value (a property or a statistical test)")
    if info.exact_int:
        return {"kind": "exact_int"}
    tolerance = info.tolerance
    if tolerance is None:
        raise NotExportable("its judge is not a tolerance comparison with the reference")
    rtol, atol = tolerance
    names = info.parts
    if names is None:
        return {"kind": "close", "tolerance": (_tolerance(rtol, case), _tolerance(atol, case))}
    return {"kind": "parts", "names": list(names),
            "tolerances": [(_tolerance(rtol, case, i), _tolerance(atol, case, i))
                           for i in range(len(names))]}


def _case_literal(check, case, expected, store):
    how = ", ".join(f"{k}={v!r}" for k, v in _comparison(check, case).items())
    return (f"    dict(id={case.id!r}, args={literal(tuple(case.args), store)}, "
            f"kwargs={literal(dict(case.kwargs), store)},\n"
            f"         expected={literal(expected, store)}, {how}),")


class _DataFiles:
    """The arrays of one test file that are too large for literals: ``<DATA_DIR>/<stem>-<n>.npy``."""

    def __init__(self, stem):
        self.stem = stem
        self.arrays = []

    def __call__(self, array):
        self.arrays.append(np.ascontiguousarray(array))
        return f"_data({self.stem + '-' + str(len(self.arrays)) + '.npy'!r})"

    def write(self, folder):
        """Write the collected arrays under ``folder``; returns their file names."""
        names = []
        for n, array in enumerate(self.arrays, start=1):
            names.append(f"{self.stem}-{n}.npy")
            os.makedirs(folder, exist_ok=True)
            np.save(os.path.join(folder, names[-1]), array, allow_pickle=False)
        return names


TEST_HEADER = '''"""otter tests of `{exercise}`{kind}, exported from the course grader ({hw}, hidden seed {seed}).
{warning}
Regenerate with `python -m grader export-otter {hw} OUTDIR --seed {seed}`; do not edit.
"""
import builtins
import os

import numpy as np
from otter.test_files import test_case

OK_FORMAT = False
{callables}
name = {name!r}
points = None
# arrays too large for literals: {data}/*.npy, next to tests/ (otter compiles a test file
# with its path as the code's file name) or in the working folder (otter's support files)
_HERE = os.path.dirname(os.path.abspath((lambda: 0).__code__.co_filename))
_LOADED = {{}}


def _data(file_name):
    if file_name not in _LOADED:
        for folder in (os.path.join(_HERE, os.pardir, {data!r}), {data!r}):
            if os.path.exists(os.path.join(folder, file_name)):
                _LOADED[file_name] = np.load(os.path.join(folder, file_name), allow_pickle=False)
                break
        else:
            raise FileNotFoundError(f"{{file_name}}: {data}/ must be next to tests/")
    return _LOADED[file_name]


def _close(got, expected, rtol, atol, what):
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, f"{{what}} has shape {{got.shape}}, expected {{expected.shape}}"
    assert np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True), \\
        f"{{what}} differs from the expected value beyond rtol {{rtol:g}}, atol {{atol:.3g}}"


def _run(function, cases):
    assert callable(function), "{exercise} is not defined"
    for case in cases:
        where = f"case {{case['id']}}"
        if case["kind"] == "raises":
            try:
                function(*case["args"], **case["kwargs"])
            except Exception as exc:  # noqa: BLE001
                assert isinstance(exc, getattr(builtins, case["name"])), \
                    f"{{where}}: raised {{type(exc).__name__}}, expected a {{case['name']}}"
                continue
            raise AssertionError(f"{{where}}: returned instead of raising {{case['name']}}")
        got = function(*case["args"], **case["kwargs"])
        if case["kind"] == "exact_int":
            assert type(got) is int, f"{{where}}: return a Python int, not {{type(got).__name__}}"
            assert got == case["expected"], f"{{where}}: wrong count"
        elif case["kind"] == "close":
            _close(got, case["expected"], *case["tolerance"], f"{{where}}: result")
        else:
            assert len(got) == len(case["names"]), f"{{where}}: return {{len(case['names'])}} values"
            for part, exp, tol, what in zip(got, case["expected"], case["tolerances"],
                                            case["names"]):
                _close(part, exp, *tol, f"{{where}}: {{what}}")
'''

TEST_CASE = '''

CASES_{n} = [
{cases}
]


@test_case(name={title!r}, points={points!r}, hidden={hidden!r})
def test_{n}({exercise}):
    _run({exercise}, CASES_{n})
'''


# The worker's helper functions (sgd's gradients, energies), inlined where a case uses them.
_CALLABLES = ("\n\n# --- grader/sandbox/callables.py, inlined: the helper functions that cases pass ---\n"
              + inspect.getsource(callables_module).split('"""', 2)[2].strip()
              + "\n\ncallables_make = make\n")


def export(hw, outdir, *, seed=None):
    """Write the otter assignment of ``hw`` under ``outdir``; returns ``(exported, skipped)``.

    ``exported`` and ``skipped`` are lists of check ids; ``skipped`` pairs each
    with the reason it could not be exported. ``seed`` draws the hidden cases
    (default: a random one, recorded in the README and in every test file).
    """
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    os.makedirs(os.path.join(outdir, "tests"), exist_ok=True)
    expectations = engine._Expectations(hw, seed)
    checks = homeworks.load_checks(hw, include_hidden=True)
    by_file, exported, skipped = {}, [], []
    for check in checks:
        stem = check.exercise + ("" if check.public else HIDDEN_SUFFIX)
        data = by_file.setdefault(stem, (check.exercise, check.public, [], _DataFiles(stem)))[3]
        try:
            if check.steps is not single_call:
                raise NotExportable("it is a program of several steps, not one call")
            stored = len(data.arrays)
            try:
                cases = "\n".join(_case_literal(check, case, expected, data)
                                   for case, expected in expectations.cases(check))
            except NotExportable:
                del data.arrays[stored:]
                raise
        except NotExportable as exc:
            skipped.append((check.id, str(exc)))
            continue
        by_file[stem][2].append((check, cases))
        exported.append(check.id)
    for stem, (exercise, public, entries, data) in by_file.items():
        if not entries:
            continue
        uses = any("callables_make(" in cases for _, cases in entries)
        text = TEST_HEADER.format(
            exercise=exercise, name=stem, hw=hw.id, seed=seed,
            kind="" if public else " (hidden checks)",
            warning="" if public else HIDDEN_WARNING.format(stem=stem),
            callables=_CALLABLES if uses else "", data=DATA_DIR)
        for n, (check, cases) in enumerate(entries, start=1):
            title = check.title + ("" if check.public else " [hidden]")
            text += TEST_CASE.format(n=n, cases=cases, title=f"{exercise}: {title}",
                                     points=check.points, hidden=not check.public,
                                     exercise=exercise)
        _write(os.path.join(outdir, "tests", f"{stem}.py"), text)
        data.write(os.path.join(outdir, DATA_DIR))
    checked = {check_id.split("/")[0] for check_id in exported
               if next(c for c in checks if c.id == check_id).public}
    nb = nbgen.build(hw, setup=nbgen.OTTER_SETUP_SOURCE, checked=checked)
    _write(os.path.join(outdir, f"{hw.module}.ipynb"), nbgen.dumps(nb))
    requirements = "numpy\n"
    if "torch" in hw.worker_preload:  # the student's module itself imports torch (hw6, hw7)
        import torch
        requirements += f"torch=={torch.__version__.split('+')[0]}\n"
    _write(os.path.join(outdir, "requirements.txt"), requirements)
    _write(os.path.join(outdir, "otter_config.json"),
           json.dumps({"lang": "python", "show_stdout": False, "show_hidden": False},
                      indent=2) + "\n")
    _write(os.path.join(outdir, "README.md"), _readme(hw, seed, checks, exported, skipped))
    return exported, skipped


def support_files(outdir):
    """The data files of an export, relative to ``outdir``: the FILES of ``otter generate``."""
    folder = os.path.join(outdir, DATA_DIR)
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    return [f"{DATA_DIR}/{name}" for name in names if name.endswith(".npy")]


HIDDEN_WARNING = """
HIDDEN CHECKS: the cases and expected values of the graded hidden checks. Never ship this
file to students (nor otter-data/{stem}-*.npy): put it only into the autograder.
"""


def totals(checks, exported):
    """(points exported, points of every check, points of the public checks exported)."""
    ids = set(exported)
    return (sum(c.points for c in checks if c.id in ids), sum(c.points for c in checks),
            sum(c.points for c in checks if c.id in ids and c.public))


def _readme(hw, seed, checks, exported, skipped):
    ours, total, public = totals(checks, exported)
    points = {c.id: c.points for c in checks}
    lines = [f"# {hw.id} — {hw.title} (otter-grader {OTTER_VERSION} assignment)", "",
             "Exported from the course grader; regenerate rather than edit.", "",
             "```bash",
             f"otter generate {DATA_DIR}/*.npy     # autograder.zip: tests/ and the arrays "
             "they read",
             f"otter run -a autograder.zip {hw.module}.ipynb",
             "```", "",
             f"Hidden cases were drawn with seed {seed} (regenerate the same tests with "
             f"`python -m grader export-otter {hw.id} OUTDIR --seed {seed}`).", "",
             "## What students may get", "",
             f"Only `{hw.module}.ipynb` and the public tests `tests/<exercise>.py` (with the "
             f"`{DATA_DIR}/<exercise>-*.npy` they read, if any). **Never ship "
             f"`tests/*{HIDDEN_SUFFIX}.py` or `{DATA_DIR}/*{HIDDEN_SUFFIX}-*.npy`**: they hold "
             "the hidden cases and their expected values; they belong in the autograder only.",
             "", "## Points", "",
             f"Exported: {len(exported)} of {len(checks)} checks, **{ours:g} of the course "
             f"grader's {total:g} points** ({public:g} public). A submission's otter score is "
             f"out of {ours:g}; the course grader's is out of {total:g}: the checks below are "
             "not in otter's total.", ""]
    if skipped:
        lines += ["Checks not exported (they need the course grader's engine; grade them with "
                  "`python -m grader grade`):", ""]
        lines += [f"- `{check_id}` ({points[check_id]:g} points): {why}"
                  for check_id, why in skipped]
    return "\n".join(lines) + "\n"


def _write(path, text):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
