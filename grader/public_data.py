"""Frozen cases and expected values of the public checks.

Students have no reference solutions, so the expected values of the public
checks ship as data: ``tests/public/data/<module>.json``, written by
``python -m grader public-data`` from the reference and checked for staleness
by the project's tests. Arrays are stored readably (nested lists, exact float64).
"""
import json
import math
import os

from .checks.registry import Case
from .homeworks import PROJECT_ROOT, load_checks, load_reference
from .sandbox import protocol

FORMAT = 1


class StalePublicData(Exception):
    """The data file does not match the public checks; rebuild it."""


def path_for(hw):
    return os.path.join(PROJECT_ROOT, "tests", "public", "data", hw.module + ".json")


def build(hw):
    """Compute every public case and its expected value with the reference (trusted side)."""
    reference = load_reference(hw)
    checks = {}
    for check in load_checks(hw, include_hidden=False):
        entries = []
        for case in check.make_cases(0):
            expected = None if check.expected is None else check.expected(reference, check, case)
            entries.append({"id": case.id, "about": case.about,
                            "args": protocol.encode(tuple(case.args), readable=True),
                            "kwargs": protocol.encode(dict(case.kwargs), readable=True),
                            "data": protocol.encode(case.data, readable=True),
                            "expected": protocol.encode(expected, readable=True)})
        checks[check.id] = entries
    return {"format": FORMAT, "homework": hw.id, "module": hw.module, "checks": checks}


def dumps(data):
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=True) + "\n"


def same(fresh, shipped, *, rtol=1e-12):
    """True when two decoded data files agree: same structure, cases and exact non-float
    values, floats equal up to ``rtol`` (BLAS kernels differ in the last bits between
    machines, which must not make shipped data "stale"); NaN matches NaN, inf is exact."""
    if isinstance(fresh, float) and isinstance(shipped, float):
        if math.isnan(fresh) or math.isnan(shipped):
            return math.isnan(fresh) and math.isnan(shipped)
        if math.isinf(fresh) or math.isinf(shipped):
            return fresh == shipped
        return abs(fresh - shipped) <= rtol * max(abs(fresh), abs(shipped))
    if type(fresh) is not type(shipped):
        return False
    if isinstance(fresh, dict):
        return fresh.keys() == shipped.keys() and all(
            same(fresh[k], shipped[k], rtol=rtol) for k in fresh)
    if isinstance(fresh, list):
        return len(fresh) == len(shipped) and all(
            same(a, b, rtol=rtol) for a, b in zip(fresh, shipped))
    return fresh == shipped


def write(hw):
    """Rebuild the data file of ``hw``; returns its path."""
    path = path_for(hw)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(dumps(build(hw)))
    return path


def load(hw):
    """{check_id: [(Case, expected)]} from the shipped data file."""
    path = path_for(hw)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise StalePublicData(f"{path} is missing: run `make public-data`") from None
    if data.get("format") != FORMAT:
        raise StalePublicData(f"{path} has an old format: run `make public-data`")
    out = {}
    for check_id, entries in data["checks"].items():
        out[check_id] = [
            (Case(e["id"], args=tuple(protocol.decode(e["args"])),
                  kwargs=protocol.decode(e["kwargs"]), about=e["about"],
                  data=protocol.decode(e["data"])),
             protocol.decode(e["expected"]))
            for e in entries]
    return out
