"""Export a homework as an otter-grader 7 assignment (for courses already on otter).

``python -m grader export-otter hw1 OUTDIR`` writes::

    OUTDIR/hw1_gaussians.ipynb    the student notebook, set up with ``otter.Notebook()``
    OUTDIR/tests/<exercise>.py    exception-format test files, one per exercise
    OUTDIR/requirements.txt       what the grading image needs (numpy; torch where the module imports it)
    OUTDIR/otter_config.json      otter's autograder configuration
    OUTDIR/README.md              how to run it, and which checks could not be exported

Each exported check becomes one ``test_case`` worth the check's points,
all-or-nothing over its cases like here; public checks are visible, hidden
checks are ``hidden=True`` with their cases drawn from ``seed`` (so a course
picks the hidden cases once, when it exports). The expected values are
computed by the reference on the exporting side and written as literals.

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

import numpy as np

from . import engine, homeworks, nbgen
from .checks import judges
from .checks.registry import single_call
from .sandbox import callables as callables_module

OTTER_VERSION = "7.0.0"


class NotExportable(Exception):
    """A check that otter's exception tests cannot express; the message says why."""


def literal(value):
    """Python source that rebuilds plain case data (exact floats; generators by their seed)."""
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
        flat = ", ".join(literal(v) for v in value.reshape(-1).tolist())
        return f"np.array([{flat}], dtype={value.dtype.str!r}).reshape({tuple(value.shape)!r})"
    if isinstance(value, tuple):
        return "(" + "".join(literal(v) + ", " for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        if "$rng" in value:
            return f"np.random.default_rng({int(value['$rng'])})"
        if "$fn" in value and not value.get("save"):
            return f"callables_make({value['$fn']!r}, {literal(value.get('kw', {}))})"
        if any(str(k).startswith("$") for k in value):
            raise NotExportable(f"an argument is a worker-side object {sorted(value)}")
        return "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in value.items()) + "}"
    raise NotExportable(f"an argument of type {type(value).__name__}")


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


def _case_literal(check, case, expected):
    how = ", ".join(f"{k}={v!r}" for k, v in _comparison(check, case).items())
    return (f"    dict(id={case.id!r}, args={literal(tuple(case.args))}, "
            f"kwargs={literal(dict(case.kwargs))},\n"
            f"         expected={literal(expected)}, {how}),")


TEST_HEADER = '''"""otter tests of `{exercise}`, exported from the course grader ({hw}, hidden seed {seed}).

Regenerate with `python -m grader export-otter {hw} OUTDIR --seed {seed}`; do not edit.
"""
import builtins

import numpy as np
from otter.test_files import test_case

OK_FORMAT = False
{callables}
name = {exercise!r}
points = None


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


def export(hw, outdir, *, seed=0):
    """Write the otter assignment of ``hw`` under ``outdir``; returns ``(exported, skipped)``.

    ``exported`` and ``skipped`` are lists of check ids; ``skipped`` pairs each
    with the reason it could not be exported.
    """
    os.makedirs(os.path.join(outdir, "tests"), exist_ok=True)
    expectations = engine._Expectations(hw, seed)
    by_exercise, exported, skipped = {}, [], []
    for check in homeworks.load_checks(hw, include_hidden=True):
        try:
            if check.steps is not single_call:
                raise NotExportable("it is a program of several steps, not one call")
            cases = "\n".join(_case_literal(check, case, expected)
                              for case, expected in expectations.cases(check))
        except NotExportable as exc:
            skipped.append((check.id, str(exc)))
            continue
        by_exercise.setdefault(check.exercise, []).append((check, cases))
        exported.append(check.id)
    for exercise, entries in by_exercise.items():
        uses = any("callables_make(" in cases for _, cases in entries)
        text = TEST_HEADER.format(exercise=exercise, hw=hw.id, seed=seed,
                                  callables=_CALLABLES if uses else "")
        for n, (check, cases) in enumerate(entries, start=1):
            title = check.title + ("" if check.public else " [hidden]")
            text += TEST_CASE.format(n=n, cases=cases, title=f"{exercise}: {title}",
                                     points=check.points, hidden=not check.public,
                                     exercise=exercise)
        _write(os.path.join(outdir, "tests", f"{exercise}.py"), text)
    checked = {check_id.split("/")[0] for check_id in exported}
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
    _write(os.path.join(outdir, "README.md"), _readme(hw, seed, exported, skipped))
    return exported, skipped


def _readme(hw, seed, exported, skipped):
    lines = [f"# {hw.id} — {hw.title} (otter-grader {OTTER_VERSION} assignment)", "",
             "Exported from the course grader; regenerate rather than edit.", "",
             "```bash",
             "otter generate                      # writes autograder.zip from tests/",
             f"otter run -a autograder.zip {hw.module}.ipynb",
             "```", "",
             f"Hidden cases were drawn with seed {seed}. {len(exported)} checks exported.", ""]
    if skipped:
        lines += ["Checks not exported (they need the course grader's engine; grade them with "
                  "`python -m grader grade`):", ""]
        lines += [f"- `{check_id}`: {why}" for check_id, why in skipped]
    return "\n".join(lines) + "\n"


def _write(path, text):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
