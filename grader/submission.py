"""A notebook as a module, and failures reported back as notebook cells.

A notebook is turned into a module the way the course spec says: code cells in
order; lines whose first non-blank character is ``%`` or ``!`` dropped; a cell
that starts with a ``%%`` cell magic dropped whole (each drop is noted once in the
feedback). Top-level statements that only drive the notebook API
(``from grader.notebook import Notebook``, ``grader = Notebook(...)``,
``grader.check(...)``, and the same with ``otter``) are dropped too: the
grader is not importable where student code runs, and a check call has nothing
to do in a graded run. Dropped lines become blank lines and each cell starts
with a marker comment, so a line of the module maps back to a cell: failures
are reported as "code cell K (`its first line`), line M", K counting code cells
only, in the order Jupyter runs them.
"""
from __future__ import annotations

import ast
import bisect
import json
import re
from dataclasses import dataclass, field


class SubmissionError(Exception):
    """The submission cannot be read; the message says which file and what to do."""


API_MODULES = ("grader", "otter")
API_METHODS = ("check", "check_all", "export", "run_tests")


@dataclass(frozen=True)
class CellStart:
    """Where a code cell starts in the module: its first module line, its number among the
    code cells (1-based) and its first non-blank line (quoted in the feedback)."""
    line: int
    number: int
    first_line: str


@dataclass
class NotebookModule:
    """A submission's module text; for a notebook, the ``notes`` about dropped lines and
    the ``cells`` that map module lines back to code cells (empty for a .py file)."""
    source: str
    notes: list = field(default_factory=list)
    cells: list = field(default_factory=list)

    def locate(self, line: int):
        """``(CellStart, line in the cell)`` of a module line, or ``None``."""
        if not self.cells:
            return None
        i = bisect.bisect_right([c.line for c in self.cells], line) - 1
        if i < 0:
            return None
        return self.cells[i], line - self.cells[i].line

    def cell_name(self, line: int) -> str | None:
        """``code cell K (`first line`), line M`` for a module line (None outside the cells)."""
        where = self.locate(line)
        if where is None:
            return None
        cell, offset = where
        quoted = f" (`{cell.first_line}`)" if cell.first_line else ""
        return f"code cell {cell.number}{quoted}, line {offset}"

    def explain(self, result, module_file: str):
        """Rewrite ``module_file`` line references in ``result`` as code cell references.

        Also says which cell stopped the import (the ``<module>`` frame, or the
        line of a syntax error). Does nothing for a .py submission.
        """
        if not self.cells:
            return result
        name = re.escape(module_file)

        def cell_ref(match):
            return self.cell_name(int(match.group("line"))) or match.group(0)

        frame = re.compile(rf'File "{name}", line (?P<line>\d+)')
        inline = re.compile(rf"\({name}, line (?P<line>\d+)\)")

        def rewrite(text):
            text = frame.sub(cell_ref, text)
            return inline.sub(lambda m: f"({cell_ref(m)})", text)

        if result.import_status != "ok":
            top = re.findall(rf'File "{name}", line (\d+), in <module>', result.import_where)
            line = top[-1] if top else next(iter(inline.findall(result.import_message)), None)
            where = self.locate(int(line)) if line is not None else None
            if where is not None:
                cell = where[0]
                quoted = f" (`{cell.first_line}`)" if cell.first_line else ""
                result.import_message = (f"code cell {cell.number}{quoted} failed at top level: "
                                         f"{rewrite(result.import_message)}")
            else:
                result.import_message = rewrite(result.import_message)
            result.import_where = rewrite(result.import_where)
        for check in result.checks:
            check.where = rewrite(check.where)
            if check.status == "import_failed":
                check.message = f"the module could not be imported: {result.import_message}"
            else:
                check.message = rewrite(check.message)
        return result


def _api_lines(text, names):
    """Line numbers (1-based) of the cell's top-level notebook-API statements; updates ``names``.

    ``names`` holds the variables bound to ``Notebook(...)`` so far (``grader`` by default).
    A cell that does not parse keeps all its lines (the import reports the syntax error).
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    drop = set()
    for node in tree.body:
        api = False
        if isinstance(node, ast.Import):
            api = all(a.name.split(".")[0] in API_MODULES for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            api = (node.module or "").split(".")[0] in API_MODULES and node.level == 0
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if called == "Notebook" and all(isinstance(t, ast.Name) for t in node.targets):
                api = True
                names.update(t.id for t in node.targets)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            api = (isinstance(func, ast.Attribute) and func.attr in API_METHODS
                   and isinstance(func.value, ast.Name) and func.value.id in names)
        if api:
            drop.update(range(node.lineno, node.end_lineno + 1))
    return drop


def _first_line(lines):
    """The first non-blank line of a cell, clipped and printable (quoted in feedback)."""
    text = next((ln.strip() for ln in lines if ln.strip()), "")
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= 60 else text[:59] + "…"


def notebook_to_module(data: bytes, shown: str) -> NotebookModule:
    """The ``NotebookModule`` of a notebook's bytes; raises ``SubmissionError`` (naming
    ``shown``) when it is malformed. Cells are numbered among code cells only."""
    try:
        nb = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SubmissionError(f"{shown} is not a readable notebook ({str(exc)[:200]}); "
                              "save it again from Jupyter or submit the .py file") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise SubmissionError(f"{shown} has no list of cells: is it really a .ipynb notebook?")
    chunks, notes, starts, names, line, number = [], [], [], {"grader"}, 1, 0
    for position, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise SubmissionError(f"{shown}: cell {position} is not a notebook cell; "
                                  "save it again from Jupyter or submit the .py file")
        if cell.get("cell_type") != "code":
            continue
        number += 1
        text = cell.get("source", "")
        if isinstance(text, list) and all(isinstance(t, str) for t in text):
            text = "".join(text)
        elif not isinstance(text, str):
            raise SubmissionError(f"{shown}: code cell {number} has no readable source")
        lines = text.splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            notes.append(f"code cell {number}: dropped (cell magic {lines[0].split()[0][:40]})")
            continue
        kept = []
        for raw in lines:
            if raw.lstrip().startswith(("%", "!")):
                notes.append(f"code cell {number}: dropped line {raw.strip()[:60]!r}")
                kept.append("")
                continue
            kept.append(raw)
        api = _api_lines("\n".join(kept), names)
        kept = ["" if i in api else raw for i, raw in enumerate(kept, start=1)]
        starts.append(CellStart(line, number, _first_line(lines)))
        chunk = f"# --- code cell {number} ---\n" + "\n".join(kept) + "\n"
        chunks.append(chunk)
        line += chunk.count("\n")
    return NotebookModule("".join(chunks), notes, starts)
