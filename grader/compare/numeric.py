"""Staged numeric comparison on the trusted side: type, shape, NaN/inf, values.

Every judgement about numbers goes through here, so every failure message has
the same teaching form: which entry, expected vs got, the difference and the
tolerance that it exceeded.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Verdict:
    """The judgement on one case: passed, and a message that says why not."""
    passed: bool
    message: str = ""

    @classmethod
    def ok(cls):
        return cls(True, "")

    @classmethod
    def fail(cls, message):
        return cls(False, message)


PASS = Verdict(True, "")


def fmt(x):
    """A number as a student should read it: full precision, compact."""
    if isinstance(x, (float, np.floating)):
        if np.isnan(x) or np.isinf(x):
            return str(float(x))
        return f"{float(x):.10g}"
    return str(x)


def _entry(index):
    return "[" + ", ".join(str(int(i)) for i in index) + "]" if index else "(the scalar)"


def as_numeric(got, name="result"):
    """Convert plain data to a float array as the spec does, or return a message saying why not."""
    if isinstance(got, str):
        return None, f"{name} is a string ({got[:60]!r}), not a number or array"
    if got is None:
        return None, f"{name} is None: did the function forget to `return`?"
    if isinstance(got, dict):
        return None, f"{name} is a dict, not a number or array"
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError) as exc:
        return None, f"{name} cannot be read as a float array ({exc})"
    return arr, ""


def shape_text(shape):
    return "()" if shape == () else str(tuple(shape))


def compare_arrays(expected, got, *, rtol=1e-6, atol=1e-9, name="result"):
    """Compare ``got`` (plain data) with ``expected`` (array-like) entry by entry.

    Passing requires the same shape, NaN nowhere unless expected, ``inf``
    exactly where (and with the sign) expected, and
    ``|got - expected| <= atol + rtol * |expected|`` for every finite entry.
    """
    exp = np.asarray(expected, dtype=float)
    arr, problem = as_numeric(got, name)
    if arr is None:
        return Verdict.fail(problem)
    if arr.shape != exp.shape:
        hint = ""
        if exp.shape == () and arr.shape == (1,):
            hint = " (a scalar result must have shape (), e.g. a Python float, not a (1,) array)"
        elif sorted(arr.shape) == sorted(exp.shape) and len(exp.shape) == 2:
            hint = " (transposed?)"
        return Verdict.fail(f"{name} has shape {shape_text(arr.shape)}, expected "
                            f"{shape_text(exp.shape)}{hint}")
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(arr - exp) <= atol + rtol * np.abs(exp)
    if close.all() and np.isfinite(exp).all() and np.isfinite(arr).all():
        return PASS  # the usual case, decided in a few array operations: nothing below fails
    exp_nan, got_nan = np.isnan(exp), np.isnan(arr)
    bad = got_nan & ~exp_nan
    if bad.any():
        i = tuple(np.argwhere(bad)[0])
        return Verdict.fail(f"{name} entry {_entry(i)} is NaN, expected {fmt(exp[i])}")
    exp_inf, got_inf = np.isinf(exp), np.isinf(arr)
    mismatch_inf = (exp_inf | got_inf) & ~(exp_inf & got_inf & (np.sign(exp) == np.sign(arr)))
    mismatch_inf &= ~exp_nan
    if mismatch_inf.any():
        i = tuple(np.argwhere(mismatch_inf)[0])
        return Verdict.fail(f"{name} entry {_entry(i)}: expected {fmt(exp[i])}, got {fmt(arr[i])}"
                            " (inf must be exactly inf, and only where it is due)")
    finite = np.isfinite(exp)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(finite, np.abs(arr - exp), 0.0)
        tol = atol + rtol * np.abs(np.where(finite, exp, 0.0))
    excess = np.where(finite, diff / np.where(tol > 0, tol, np.inf), 0.0)
    if np.any(diff > tol):
        i = tuple(np.unravel_index(int(np.argmax(excess)), exp.shape)) if exp.shape else ()
        n_bad = int(np.sum(diff > tol))
        return Verdict.fail(
            f"{name} entry {_entry(i)}: expected {fmt(exp[i])}, got {fmt(arr[i])}; "
            f"|difference| {diff[i]:.3g} > tolerance {tol[i]:.3g} "
            f"(rtol {rtol:g}, atol {atol:.3g}); {n_bad} of {exp.size} entries differ")
    return PASS


def as_sequence(got, length, name="result"):
    """Check that ``got`` is a sequence of ``length`` items (the spec's pair results)."""
    if isinstance(got, (list, tuple)) and len(got) == length:
        return list(got), ""
    if isinstance(got, np.ndarray) and got.ndim >= 1 and got.shape[0] == length:
        return list(got), ""
    kind = type(got).__name__
    size = f" of length {len(got)}" if isinstance(got, (list, tuple)) else ""
    return None, f"{name} must be a sequence of {length} items; got a {kind}{size}"


def is_exact_int(value):
    """True for a Python int (not bool), the type that exact counting requires."""
    return isinstance(value, int) and not isinstance(value, bool)
