"""Reusable judges: ``judge(case, outputs, expected) -> Verdict``.

``outputs`` is the list of plain values that the case's program returned (one
per call that is not saved); ``expected`` comes from the trusted side.
A tolerance may be a number or a function of the case (to scale ``atol`` with
the size of the inputs, as the course spec promises).
"""
from ..compare.numeric import PASS, Verdict, as_sequence, compare_arrays


def _resolve(tol, case):
    return tol(case) if callable(tol) else tol


def close(*, rtol=1e-6, atol=1e-9, name="result"):
    """The single output equals ``expected`` within tolerance (shape, NaN and inf rules included)."""
    def judge(case, outputs, expected):
        return compare_arrays(expected, outputs[0], rtol=_resolve(rtol, case),
                              atol=_resolve(atol, case), name=name)
    judge.tolerance = (rtol, atol)
    return judge


def close_tuple(names, *, rtol=1e-6, atol=1e-9):
    """The output is a sequence of ``len(names)`` array-likes, each close to its expected part.

    ``rtol``/``atol`` may also be tuples, one tolerance per part.
    """
    n = len(names)

    def per_part(tol, i, case):
        tol = tol[i] if isinstance(tol, tuple) else tol
        return _resolve(tol, case)

    def judge(case, outputs, expected):
        parts, problem = as_sequence(outputs[0], n, name="result")
        if parts is None:
            return Verdict.fail(f"{problem}: return ({', '.join(names)})")
        for i, (name, got, exp) in enumerate(zip(names, parts, expected)):
            verdict = compare_arrays(exp, got, rtol=per_part(rtol, i, case),
                                     atol=per_part(atol, i, case), name=name)
            if not verdict.passed:
                return verdict
        return PASS
    judge.tolerance = (rtol, atol)  # read back by exporters (otter_export.py)
    judge.names = tuple(names)
    return judge


def all_of(*judges):
    """Pass only when every judge passes; report the first failure."""
    def judge(case, outputs, expected):
        for one in judges:
            verdict = one(case, outputs, expected)
            if not verdict.passed:
                return verdict
        return PASS
    return judge
