"""Reusable judges: ``judge(case, outputs, expected) -> Verdict``.

``outputs`` is the list of plain values that the case's program returned (one
per call that is not saved), or a ``Raised`` when the program raised and the
judge's ``JudgeInfo`` says ``judges_exceptions`` (see ``raises``); ``expected``
comes from the trusted side. The judges built here are ``Judge`` objects whose
``info`` (a ``JudgeInfo``) says what they compare, for the engine and for exporters
(``otter_export.py``); a check may also use any plain function as its judge.
A tolerance may be a number or a function of the case (to scale ``atol`` with
the size of the inputs, as the course spec promises).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..compare.numeric import PASS, Verdict, as_sequence, compare_arrays, is_exact_int


@dataclass(frozen=True)
class JudgeInfo:
    """What a judge compares: ``tolerance`` ``(rtol, atol)`` (numbers, per-part tuples or
    functions of the case), ``parts`` (names of a tuple result), ``raises`` (the exception
    class required), ``exact_int`` (an exact Python int), ``judges_exceptions`` (the judge
    receives a ``Raised`` when the case raised, instead of the case failing as an error)."""
    tolerance: tuple | None = None
    parts: tuple[str, ...] | None = None
    raises: str | None = None
    exact_int: bool = False
    judges_exceptions: bool = False


@dataclass(frozen=True)
class Judge:
    """A judge function with its ``JudgeInfo``; called like the function."""
    compare: Callable[[Any, Any, Any], Verdict]
    info: JudgeInfo = JudgeInfo()

    def __call__(self, case, outputs, expected) -> Verdict:
        return self.compare(case, outputs, expected)

    @property
    def judges_exceptions(self) -> bool:
        """Whether the judge receives a ``Raised`` (see ``JudgeInfo``)."""
        return self.info.judges_exceptions


def info_of(judge) -> JudgeInfo:
    """The ``JudgeInfo`` of any judge (a plain function judges values only)."""
    return judge.info if isinstance(judge, Judge) else JudgeInfo()


def _resolve(tol, case):
    return tol(case) if callable(tol) else tol


def close(*, rtol=1e-6, atol=1e-9, name="result"):
    """The single output equals ``expected`` within tolerance (shape, NaN and inf rules included)."""
    def judge(case, outputs, expected):
        return compare_arrays(expected, outputs[0], rtol=_resolve(rtol, case),
                              atol=_resolve(atol, case), name=name)
    return Judge(judge, JudgeInfo(tolerance=(rtol, atol)))


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
    return Judge(judge, JudgeInfo(tolerance=(rtol, atol), parts=tuple(names)))


def all_of(*judges):
    """Pass only when every judge passes; report the first failure."""
    def judge(case, outputs, expected):
        for one in judges:
            verdict = one(case, outputs, expected)
            if not verdict.passed:
                return verdict
        return PASS
    return judge


# --- exceptions and exact integers (hw5) -----------------------------------------------------

class Raised:
    """What a case's program raised instead of returning.

    The engine hands it to a judge in place of the outputs list, but only to judges
    whose ``JudgeInfo`` says ``judges_exceptions`` (any other judge never sees a raise: the
    case fails as an error). ``types`` are the qualified class names along the
    exception's MRO, most derived first; ``message`` is ``"Type: text"``.
    """

    def __init__(self, types, message=""):
        self.types = tuple(types)
        self.message = message

    @property
    def name(self):
        """The short name of the raised class (``ValueError``)."""
        return self.types[0].rsplit(".", 1)[-1] if self.types else "an exception"

    def is_a(self, name):
        """True when the exception is an instance of the class ``name`` (a builtin's short name
        such as ``ValueError``, or a qualified name) or of a subclass of it."""
        qualified = name if "." in name else f"builtins.{name}"
        return qualified in self.types


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def raises(name):
    """The case's program must raise ``name`` (or a subclass), e.g. ``raises("ValueError")``."""
    def judge(case, outputs, expected):
        if isinstance(outputs, Raised):
            if outputs.is_a(name):
                return PASS
            return Verdict.fail(f"raised {outputs.name} ({outputs.message[:200]}); expected a "
                                f"{name} (raise it explicitly: `raise {name}(...)`)")
        got = outputs[-1] if outputs else None
        return Verdict.fail(f"returned {_short(got)} instead of raising {name}")
    return Judge(judge, JudgeInfo(raises=name, judges_exceptions=True))


def exact_int(*, name="result"):
    """The single output is a Python ``int`` equal to ``expected`` exactly.

    A float (even an integral one), a bool or a numpy integer fails: exact counts
    such as 2**10000 - 1 overflow int64 and lose digits in float64.
    """
    def judge(case, outputs, expected):
        got = outputs[0]
        if isinstance(got, bool):
            return Verdict.fail(f"{name} is a bool ({got}); return a Python int")
        if isinstance(got, float):
            return Verdict.fail(f"{name} is a float ({got!r}); return an exact Python int "
                                "(use integer arithmetic: `//`, `math.prod`, no floats)")
        if isinstance(got, np.ndarray):
            kind = "scalar" if got.ndim == 0 else "array"
            return Verdict.fail(f"{name} is a numpy {got.dtype} {kind}"
                                "; return a Python int (numpy integers overflow past 2**63 - 1;"
                                " convert with int(...) and do the arithmetic on Python ints)")
        if not is_exact_int(got):
            return Verdict.fail(f"{name} is a {type(got).__name__}, not a Python int")
        if got != expected:
            return Verdict.fail(f"{name} is {_int_text(got)}, expected {_int_text(expected)}")
        return PASS
    return Judge(judge, JudgeInfo(exact_int=True))


def _int_text(value):
    """A (possibly huge) int as a student can compare it: the digits, or head…tail and length.

    Computed with arithmetic, not ``str``: Python's int-digit limit stays in force on the
    trusted side (a 10000-digit ``str`` would raise ``ValueError``).
    """
    if abs(value) < 10 ** 40:
        return str(value)
    sign, value = ("-" if value < 0 else ""), abs(value)
    digits = int(value.bit_length() * 0.30102999566398120) + 1
    if 10 ** (digits - 1) > value:
        digits -= 1
    return f"{sign}{value // 10 ** (digits - 12)}…{value % 10 ** 12:012d} ({digits} digits)"
