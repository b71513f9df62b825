"""Human-readable report of a ``GradeResult`` for a terminal."""
import os
import sys

from .escape import escape_control as _safe

STATUS_WORD = {"passed": "PASS", "not_implemented": "TODO", "import_failed": "FAIL"}


def _color(text, code, enabled):
    return f"\033[{code}m{text}\033[0m" if enabled else text


def _use_color(stream):
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


def _points(x):
    return f"{x:g}"


def render(result, *, title="", color=False, show_hidden_details=True):
    """The report as a string: one line per check, and for a failure what/where/why/rerun."""
    lines = []
    if title:
        lines.append(_safe(title))
    if result.import_status != "ok":
        lines.append(_color(f"  The module could not be imported: "
                            f"{_safe(result.import_message)}", "31", color))
        if result.import_output.strip():
            lines.append("  its output:\n" + _indent(_safe(result.import_output), 6))
        if result.import_where.strip():
            lines.append("  in your code:\n" + _indent(_safe(result.import_where.rstrip()), 6))
    width = max((len(f"{c.exercise}: {c.title}") for c in result.checks), default=40) + 2
    for c in result.checks:
        word = STATUS_WORD.get(c.status, "FAIL")
        code = {"PASS": "32", "TODO": "33"}.get(word, "31")
        label = f"{c.exercise}: {c.title}"
        kind = "" if c.public else " (hidden)"
        lines.append(f"  {_color(word, code, color)}  {label:<{width}} "
                     f"{_points(c.points)}/{_points(c.max_points)}{kind}")
        if c.passed or c.status == "import_failed":
            continue
        if c.status == "not_implemented":
            lines.append("        not implemented yet")
            continue
        if not c.public and not show_hidden_details:
            continue
        about = f" ({c.case_about})" if c.case_about else ""
        lines.append(f"        case {c.failed_case!r}{about}: {c.status}")
        lines.append(_indent(_safe(c.message), 8))
        if c.where.strip():
            lines.append("        in your code:\n" + _indent(_safe(c.where.rstrip()), 10))
        if c.output.strip():
            lines.append("        your code printed:\n" + _indent(_safe(c.output.rstrip()), 10))
        if c.rerun:
            lines.append(f"        rerun this case: {_safe(c.rerun)}")
    lines.append(f"  Score: {_points(result.score)}/{_points(result.max_score)}"
                 f"   (seed {result.seed}, {result.seconds:.2f} s)")
    return "\n".join(lines)


def _indent(text, n):
    pad = " " * n
    return "\n".join(pad + line for line in str(text).splitlines())


def print_result(result, *, title="", stream=None, **kw):
    """Print ``render(result)`` to ``stream`` (stdout), in color on a terminal."""
    stream = stream or sys.stdout
    stream.write(render(result, title=title, color=_use_color(stream), **kw) + "\n")
    stream.flush()
