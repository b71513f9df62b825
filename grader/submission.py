"""Finding the student's module in a submission (a folder, a .py or an .ipynb file).

A notebook is turned into a module the way the course spec says: code cells in
order; lines whose first non-blank character is ``%`` or ``!`` dropped; a cell
that starts with a ``%%`` cell magic dropped whole (each drop is noted in the
feedback). Top-level statements that only drive the notebook API
(``from grader.notebook import Notebook``, ``grader = Notebook(...)``,
``grader.check(...)``, and the same with ``otter``) are dropped too: the
grader is not importable where student code runs, and a check call has nothing
to do in a graded run. Dropped lines become blank lines and each cell starts
with a marker comment, so a line of the module maps back to a cell: failures
are reported as "notebook cell N, line M" (cells counted from the top,
markdown cells included, as they appear on screen).
"""
import ast
import bisect
import json
import os
import re
import tempfile
from dataclasses import dataclass, field


class SubmissionError(Exception):
    """The submission cannot be read; the message says which file and what to do."""


API_MODULES = ("grader", "otter")
API_METHODS = ("check", "check_all", "export", "run_tests")


@dataclass
class Source:
    """The module file to grade and notes about how it was obtained.

    ``cells`` (notebooks only) lists ``(first module line, cell number)`` in order.
    """
    path: str
    origin: str
    notes: list = field(default_factory=list)
    temporary: bool = False
    cells: list = field(default_factory=list)

    def cleanup(self):
        if self.temporary and os.path.exists(self.path):
            os.unlink(self.path)

    def locate(self, line):
        """``(cell number, line in the cell)`` of a module line, or ``None`` for a .py file."""
        if not self.cells:
            return None
        i = bisect.bisect_right([first for first, _ in self.cells], line) - 1
        if i < 0:
            return None
        first, number = self.cells[i]
        return number, line - first

    def explain(self, result, module_file):
        """Rewrite ``module_file`` line references in ``result`` as notebook cell references.

        Also says which cell stopped the import (the ``<module>`` frame, or the
        line of a syntax error). Does nothing for a .py submission.
        """
        if not self.cells:
            return result
        name = re.escape(module_file)

        def cell_ref(match):
            where = self.locate(int(match.group("line")))
            return match.group(0) if where is None else f"notebook cell {where[0]}, line {where[1]}"

        frame = re.compile(rf'File "{name}", line (?P<line>\d+)')
        inline = re.compile(rf"\({name}, line (?P<line>\d+)\)")

        def rewrite(text):
            text = frame.sub(cell_ref, text)
            return inline.sub(lambda m: f"({cell_ref(m)})", text)

        if result.import_status != "ok":
            top = re.findall(rf'File "{name}", line (\d+), in <module>', result.import_where)
            line = top[-1] if top else next(iter(inline.findall(result.import_message)), None)
            cell = self.locate(int(line)) if line is not None else None
            if cell is not None:
                result.import_message = (f"notebook cell {cell[0]} failed at top level: "
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


@dataclass
class NotebookModule:
    """A notebook turned into module text: ``source``, ``notes`` and ``cells`` (see ``Source``)."""
    source: str
    notes: list
    cells: list


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


def notebook_to_module(path):
    """The ``NotebookModule`` of a notebook file; raises ``SubmissionError`` if malformed."""
    try:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SubmissionError(f"{path} is not a readable notebook ({exc}); "
                              "save it again from Jupyter or submit the .py file") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise SubmissionError(f"{path} has no list of cells: is it really a .ipynb notebook?")
    chunks, notes, starts, names, line = [], [], [], {"grader"}, 1
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise SubmissionError(f"{path}: cell {number} is not a notebook cell; "
                                  "save it again from Jupyter or submit the .py file")
        if cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        if isinstance(text, list) and all(isinstance(t, str) for t in text):
            text = "".join(text)
        elif not isinstance(text, str):
            raise SubmissionError(f"{path}: cell {number} has no readable source")
        lines = text.splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            notes.append(f"cell {number}: dropped (cell magic {lines[0].split()[0]})")
            continue
        kept = []
        for raw in lines:
            if raw.lstrip().startswith(("%", "!")):
                notes.append(f"cell {number}: dropped line {raw.strip()[:60]!r}")
                kept.append("")
                continue
            kept.append(raw)
        api = _api_lines("\n".join(kept), names)
        kept = ["" if i in api else raw for i, raw in enumerate(kept, start=1)]
        starts.append((line, number))
        chunk = f"# --- notebook cell {number} ---\n" + "\n".join(kept) + "\n"
        chunks.append(chunk)
        line += chunk.count("\n")
    return NotebookModule("".join(chunks), notes, starts)


def notebook_to_source(path):
    """(python source, notes) of a notebook file; raises ``SubmissionError`` if malformed."""
    module = notebook_to_module(path)
    return module.source, module.notes


def _is_untouched_stub(hw, path):
    """True when ``path`` is byte for byte the stub module that students were given."""
    from .homeworks import PROJECT_ROOT
    stub = os.path.join(PROJECT_ROOT, "assignments", hw.filename)
    try:
        if os.path.samefile(path, stub):  # `make check` on the working copy itself
            return False
        with open(path, "rb") as mine, open(stub, "rb") as given:
            return mine.read() == given.read()
    except OSError:
        return False


def find_source(hw, submission):
    """The ``Source`` to grade for homework ``hw`` in ``submission`` (folder or file)."""
    if not os.path.exists(submission):
        raise FileNotFoundError(f"{submission} does not exist")
    if os.path.isdir(submission):
        py = os.path.join(submission, hw.filename)
        nb = os.path.join(submission, hw.module + ".ipynb")
        if os.path.isfile(py) and os.path.isfile(nb):
            # Both (the assignments folder ships both): an untouched stub module loses;
            # otherwise the one the student saved last.
            if _is_untouched_stub(hw, py):
                newer, why = nb, f"{hw.filename} is the unchanged stub"
            else:
                newer = nb if os.path.getmtime(nb) > os.path.getmtime(py) else py
                why = "the one saved last"
            source = _from_notebook(nb) if newer == nb else Source(py, py)
            source.notes.insert(0, f"both {hw.filename} and {hw.module}.ipynb are present: "
                                f"graded {os.path.basename(newer)}, {why}")
            return source
        if os.path.isfile(py):
            return Source(py, py)
        if os.path.isfile(nb):
            return _from_notebook(nb)
        raise SubmissionError(f"{submission} holds neither {hw.filename} nor {hw.module}.ipynb: "
                              "submit the homework file under exactly that name")
    if submission.endswith(".ipynb"):
        return _from_notebook(submission)
    return Source(submission, submission)


def _from_notebook(path):
    module = notebook_to_module(path)
    fd, tmp = tempfile.mkstemp(prefix="notebook-", suffix=".py")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(module.source)
    return Source(tmp, path, notes=module.notes, temporary=True, cells=module.cells)
