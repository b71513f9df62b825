"""What an exported otter test runs: decode its cases, call the student's function, judge.

``otter_export.py`` copies this module's source, as text, into every test file it
writes; the test file compiles it once per kernel (kept in ``sys.modules``) rather
than as its own code, because otter compiles a test file twice at each
``grader.check`` (``create_test_file``, then ``ExceptionTestFile.from_file``) and
the cost of a check is mostly that compilation. It needs only numpy and the
standard library, and nothing here is secret: the cases are in the test file.
Like everything otter runs in the student's kernel, a submission can replace it
(as it can replace ``np.allclose``): README, "Compared with otter-grader 7".

A test's cases are JSON text: the readable form of the worker protocol
(``{"$list": nested lists, "dtype", "shape"}`` arrays, ``{"$tuple": [...]}``,
``{"$map": {...}}``, ``{"$int": hex}``), plus ``{"$rng": seed}`` (a fresh
``np.random.default_rng``), ``{"$fn": name, "kw": {...}}`` (a helper function
of ``grader/sandbox/callables.py``) and ``{"$npy": file name}`` (an array in
``otter-data/`` next to ``tests/``; ``"list": true`` rebuilds a list of Python
numbers). Each case says how it is judged: ``close`` (one tolerance), ``parts``
(a tuple, a tolerance per part), ``exact_int`` or ``raises`` (a builtin exception).
A test's cases are decoded at its first check in a kernel and kept; each run
hands the student's function copies of the arguments (and new generators).
"""
import builtins
import json
import os

import numpy as np

DATA_DIR = "otter-data"  # next to tests/: otter's generate copies only tests/*.py

# A case that passes a function names a factory of grader/sandbox/callables.py: the export
# appends that module's source, which defines ``make``, to this one where a test needs it.
make = None

_DECODED = {}  # (test file, JSON text) -> its cases, decoded once per kernel


class Made:
    """A value made anew for each run of a test (a generator, a helper function), as
    ``build()``: such values have state."""

    def __init__(self, build):
        self.build = build


def decode(obj, test_file):
    """One JSON object of a test's cases, rebuilt (``json``'s object_hook: inner ones first).
    A tagged object's tag is its first key; ``test_file`` is the path the test file was
    compiled with (relative or not): its folder's ``../otter-data/`` holds its arrays."""
    tag = next(iter(obj), "")
    if tag == "$list":
        return np.array(obj["$list"], dtype=obj["dtype"]).reshape(obj["shape"])
    if not tag.startswith("$"):
        return obj
    if tag == "$tuple":
        return tuple(obj["$tuple"])
    if tag == "$map":
        return obj["$map"]
    if tag == "$int":
        return int(obj["$int"], 16)
    if tag == "$rng":
        return Made(lambda: np.random.default_rng(obj["$rng"]))
    if tag == "$fn":
        return Made(lambda: make(obj["$fn"], fresh(obj["kw"])))
    if tag == "$npy":
        here = os.path.dirname(os.path.abspath(test_file))
        for folder in (os.path.join(here, os.pardir, DATA_DIR), DATA_DIR):
            path = os.path.join(folder, obj["$npy"])
            if os.path.exists(path):
                array = np.load(path, allow_pickle=False)
                return array.tolist() if obj.get("list") else array
        raise FileNotFoundError(f"{obj['$npy']}: {DATA_DIR}/ must be next to tests/")
    raise ValueError(f"unknown tag {tag}")


def fresh(value):
    """``value`` with every array, list and dict copied and every ``Made`` value made: what
    a student's function receives shares nothing with the cases kept for the next check."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [fresh(v) for v in value]
    if isinstance(value, tuple):
        return tuple(fresh(v) for v in value)
    if isinstance(value, dict):
        return {k: fresh(v) for k, v in value.items()}
    if isinstance(value, Made):
        return value.build()
    return value


def cases_of(text, test_file):
    """The decoded cases of the JSON text ``text`` (decoded at its first check in a kernel;
    a student's check cell runs again and again). Pass their arguments through ``fresh``."""
    key = (test_file, text)
    if key not in _DECODED:
        _DECODED[key] = json.loads(text, object_hook=lambda obj: decode(obj, test_file))
    return _DECODED[key]


def close(got, expected, rtol, atol, what):
    """Assert that ``got`` has the shape of ``expected`` and its values within the tolerance."""
    got = np.asarray(got, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, f"{what} has shape {got.shape}, expected {expected.shape}"
    assert np.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True), \
        f"{what} differs from the expected value beyond rtol {rtol:g}, atol {atol:.3g}"


def run(function, exercise, cases, test_file):
    """Call ``function`` (the student's ``exercise``) on each case of the JSON text ``cases``
    (``args``, a list; ``kwargs``, when there are any) and judge it; the first wrong case raises
    ``AssertionError`` (otter's failed test)."""
    assert callable(function), f"{exercise} is not defined"
    for case in cases_of(cases, test_file):
        where = f"case {case['id']}"
        args, kwargs = fresh(case["args"]), fresh(case.get("kwargs", {}))
        if case["kind"] == "raises":
            try:
                function(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - any exception is judged by its type
                assert isinstance(exc, getattr(builtins, case["name"])), \
                    f"{where}: raised {type(exc).__name__}, expected a {case['name']}"
                continue
            raise AssertionError(f"{where}: returned instead of raising {case['name']}")
        got = function(*args, **kwargs)
        if case["kind"] == "exact_int":
            assert type(got) is int, f"{where}: return a Python int, not {type(got).__name__}"
            assert got == case["expected"], f"{where}: wrong count"
        elif case["kind"] == "close":
            close(got, case["expected"], *case["tolerance"], f"{where}: result")
        else:
            assert len(got) == len(case["names"]), f"{where}: return {len(case['names'])} values"
            for part, expected, tolerance, what in zip(got, case["expected"], case["tolerances"],
                                                       case["names"]):
                close(part, expected, *tolerance, f"{where}: {what}")
