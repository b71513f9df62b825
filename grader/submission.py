"""Finding the student's module in a submission (a folder, a .py or an .ipynb file).

A notebook is turned into a module the way the course spec says: code cells in
order; lines whose first non-blank character is ``%`` or ``!`` dropped; a cell
that starts with a ``%%`` cell magic dropped whole. Each cell is marked with a
comment so that tracebacks can be read back to cell numbers.
"""
import json
import os
import tempfile
from dataclasses import dataclass, field


class SubmissionError(Exception):
    """The submission cannot be read; the message says which file and what to do."""


@dataclass
class Source:
    """The module file to grade and notes about how it was obtained."""
    path: str
    origin: str
    notes: list = field(default_factory=list)
    temporary: bool = False

    def cleanup(self):
        if self.temporary and os.path.exists(self.path):
            os.unlink(self.path)


def notebook_to_source(path):
    """(python source, notes) of a notebook file; raises ``SubmissionError`` if malformed."""
    try:
        with open(path, encoding="utf-8") as fh:
            nb = json.load(fh)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SubmissionError(f"{path} is not a readable notebook ({exc}); "
                              "save it again from Jupyter or submit the .py file") from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise SubmissionError(f"{path} has no list of cells: is it really a .ipynb notebook?")
    chunks, notes = [], []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        lines = text.splitlines()
        if lines and lines[0].lstrip().startswith("%%"):
            notes.append(f"cell {number}: dropped (cell magic {lines[0].split()[0]})")
            continue
        kept = []
        for line in lines:
            if line.lstrip().startswith(("%", "!")):
                notes.append(f"cell {number}: dropped line {line.strip()[:60]!r}")
                continue
            kept.append(line)
        chunks.append(f"# --- notebook cell {number} ---\n" + "\n".join(kept) + "\n")
    return "\n".join(chunks), notes


def find_source(hw, submission):
    """The ``Source`` to grade for homework ``hw`` in ``submission`` (folder or file)."""
    if not os.path.exists(submission):
        raise FileNotFoundError(f"{submission} does not exist")
    if os.path.isdir(submission):
        py = os.path.join(submission, hw.filename)
        nb = os.path.join(submission, hw.module + ".ipynb")
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
    source, notes = notebook_to_source(path)
    fd, tmp = tempfile.mkstemp(prefix="notebook-", suffix=".py")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(source)
    return Source(tmp, path, notes=notes, temporary=True)
