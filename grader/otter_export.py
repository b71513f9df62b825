"""Export a homework as an otter-grader 7 assignment (for courses already on otter).

``python -m grader export-otter hw1 OUTDIR`` writes::

    OUTDIR/hw1_gaussians.ipynb          the student notebook, set up with ``otter.Notebook()``
    OUTDIR/tests/<exercise>.py          the public checks' tests (may ship with the notebook)
    OUTDIR/tests/<exercise>_hidden.py   the hidden checks' tests: never ship these
    OUTDIR/otter-data/*.npy             arrays too large for a test's text (support files)
    OUTDIR/requirements.txt             what the grading image needs (numpy; torch where the
                                        module imports it)
    OUTDIR/otter_config.json            otter's autograder configuration
    OUTDIR/README.md                    how to run it, the seed, what was not exported

Each exported check becomes one ``test_case`` worth the check's points,
all-or-nothing over its cases like here; public checks are visible, in files of
their own; hidden checks are ``hidden=True`` in ``*_hidden.py`` files, their
cases drawn from ``seed`` (random unless given, and recorded: a course picks the
hidden cases once, when it exports). The expected values are computed by the
reference on the exporting side. A test holds its cases as JSON text in a
string, not as Python literals, and an array of more than ``LITERAL_LIMIT``
numbers goes to an ``.npy`` file: otter compiles a test file twice at every
``grader.check``, and number literals are what compilation spends its time on.
The code that decodes and judges the cases (``otter_runtime.py``) travels as
text in each file and is compiled once per kernel, so that a check in a warm
kernel costs about what a hand-written otter test of the same calls costs
(``bench/otter_warm.py``).

A check is exported when it is one call of the exercise judged by a judge
that declares what it compares: a tolerance (``close``, ``close_tuple``), an
exact Python int (``exact_int``) or a builtin exception (``raises``).
Reference-free checks (statistical tests, properties), other judges and
multi-step programs need this grader's engine and are listed in the README
instead. Exported tests run the
way otter runs them, inside the student's kernel, with the weaknesses that
this project's README lists ("Compared with otter-grader 7").
"""
import ast
import hashlib
import inspect
import json
import os
import secrets

import numpy as np

from . import engine, homeworks, nbgen, otter_runtime
from .checks import judges
from .checks.registry import single_call
from .sandbox import callables as callables_module
from .sandbox import protocol

OTTER_VERSION = "7.0.0"
LITERAL_LIMIT = 256  # numbers of an array written in a test's text; larger ones go to .npy
HIDDEN_SUFFIX = "_hidden"
DATA_DIR = otter_runtime.DATA_DIR


class NotExportable(Exception):
    """A check that otter's exception tests cannot express; the message says why."""


def plain(value, store=None):
    """Case data as JSON-able data in the readable form of the worker protocol
    (``protocol.encode(..., readable=True)``: ``$list`` arrays, ``$tuple``, ``$map``, ``$int``),
    plus ``$rng`` (a generator by its seed), ``$fn`` (a helper function by name) and ``$npy``
    (an array in a data file). ``store(array)``, when given, takes an array of more than
    ``LITERAL_LIMIT`` numbers (or a longer list of plain numbers) and returns the ``$npy``
    reference to the file it is saved in. Raises ``NotExportable`` for what a test file cannot
    rebuild."""
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        value = value.item()
    if isinstance(value, (complex, np.complexfloating)):
        raise NotExportable("an argument is a complex number")
    if isinstance(value, np.ndarray):
        if value.dtype == object or value.dtype.kind not in "biufU":
            raise NotExportable(f"an argument is an array of {value.dtype}")
        if store is not None and value.size > LITERAL_LIMIT:
            return store(value)
    elif isinstance(value, (list, tuple)):
        if store is not None and len(value) > LITERAL_LIMIT and _plain_numbers(value):
            stored = dict(store(np.array(value)), list=True)  # rebuilt as Python numbers
            return stored if isinstance(value, list) else {"$tuple": stored}
        items = [plain(v, store) for v in value]
        return {"$tuple": items} if isinstance(value, tuple) else items
    elif isinstance(value, dict):
        if "$rng" in value:
            return {"$rng": int(value["$rng"])}
        if "$fn" in value and not value.get("save"):
            return {"$fn": str(value["$fn"]), "kw": plain(value.get("kw", {}), store)}
        if any(str(k).startswith("$") for k in value):
            raise NotExportable(f"an argument is a worker-side object {sorted(value)}")
        if not all(isinstance(k, str) for k in value):
            raise NotExportable("an argument is a dict with keys that are not strings")
        return {"$map": {k: plain(v, store) for k, v in value.items()}}
    try:
        return protocol.encode(value, readable=True)
    except TypeError:
        raise NotExportable(f"an argument of type {type(value).__name__}") from None


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


def _case_record(check, case, expected, store):
    """One case of an exported test as JSON-able data: what to call and how to judge it."""
    record = {"id": case.id, "args": plain(list(case.args), store)}
    if case.kwargs:
        record["kwargs"] = plain(dict(case.kwargs), store)["$map"]
    return {**record, "expected": plain(expected, store), **_comparison(check, case)}


def cases_text(records):
    """The cases of one test as JSON text, one case a line, for a raw triple-quoted string
    (single quotes escaped, so no case can end the string)."""
    lines = ",\n".join(json.dumps(r, allow_nan=True) for r in records)
    return f"[\n{lines}\n]".replace("'", "\\u0027")


class _DataFiles:
    """The arrays of one test file that are too large for its text: ``<DATA_DIR>/<stem>-<n>.npy``."""

    def __init__(self, stem):
        self.stem = stem
        self.arrays = []

    def __call__(self, array):
        self.arrays.append(np.ascontiguousarray(array))
        return {"$npy": f"{self.stem}-{len(self.arrays)}.npy"}

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
Each test's cases are JSON text, run and judged by _RUNTIME (grader/otter_runtime.py of the
course grader, whose docstring describes the format); arrays too large for the text are in
{data}/ next to tests/.
"""
import os
import sys
import types

from otter.test_files import test_case

OK_FORMAT = False

name = {name!r}
points = None

_RUNTIME = r\'\'\'{runtime}\'\'\'
_FILE = (lambda: None).__code__.co_filename  # the path otter compiled this file with


def _runtime():
    # compiled once per kernel: otter compiles this whole file twice at every check
    module = sys.modules.get({module!r})
    if module is None:
        module = types.ModuleType({module!r})
        exec(compile(_RUNTIME, {module!r}, "exec"), module.__dict__)
        sys.modules[{module!r}] = module
    return module
'''

TEST_CASE = '''

CASES_{n} = r\'\'\'{cases}\'\'\'


@test_case(name={title!r}, points={points!r}, hidden={hidden!r})
def test_{n}({exercise}):
    _runtime().run({exercise}, {exercise!r}, CASES_{n}, _FILE)
'''


def runtime_source(with_callables):
    """The code of ``otter_runtime.py`` that test files carry (with ``callables.py``'s after
    it when a case passes a helper function), and the name of its module in a kernel (by
    content, so that two exports of different versions never share one).

    Docstrings and comments are left out: otter pickles a test file's whole text into its
    log at every check, so each kilobyte of it costs every check."""
    modules = [otter_runtime] + ([callables_module] if with_callables else [])
    text = "\n\n".join(_without_docstrings(inspect.getsource(m)) for m in modules) + "\n"
    if "\'\'\'" in text:
        raise ValueError("otter_runtime.py and callables.py must not contain \'\'\'")
    return text, "dgm_otter_runtime_" + hashlib.sha256(text.encode()).hexdigest()[:16]


def _without_docstrings(source):
    """``source`` as code only: no docstrings, no comments (``ast.unparse``)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and \
                ast.get_docstring(node, clean=False) is not None:
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


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
                cases = cases_text([_case_record(check, case, expected, data)
                                    for case, expected in expectations.cases(check)])
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
        runtime, module = runtime_source(any('"$fn": ' in cases for _, cases in entries))
        text = TEST_HEADER.format(
            exercise=exercise, name=stem, hw=hw.id, seed=seed,
            kind="" if public else " (hidden checks)",
            warning="" if public else HIDDEN_WARNING.format(stem=stem),
            runtime=runtime, module=module, data=DATA_DIR)
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
