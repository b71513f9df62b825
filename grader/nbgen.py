"""Student notebooks generated from the homework modules (the modules are the one source of truth).

``assignments/hwN_topic.ipynb`` is a build product of ``assignments/hwN_topic.py``:

- a markdown cell with the module docstring (title, conventions);
- a setup cell that makes the notebook API importable (``grader = Notebook("hw1")``);
- per exercise (each stub of the module: a public function or class whose body
  raises ``NotImplementedError``, in order): a markdown cell with its docstring
  (the math, shapes and graded edge cases), a code cell with the stub (a
  function's docstring shortened to its summary line; a class as written) and,
  when the exercise has public checks, a check cell ``grader.check("name")``;
- the module's other top-level code (imports, constants, provided helpers such
  as hw6's ``load_digits``) in code cells where it stands between the exercises;
- a final cell ``grader.check_all()``.

Output is deterministic (fixed cell ids, sorted keys, no outputs), so a test can
compare a committed notebook with a fresh build. Rebuild with
``python -m grader notebooks`` (``make notebooks``).
"""
import ast
import copy
import os
import re
import textwrap

import nbformat

from . import homeworks
from .homeworks import PROJECT_ROOT

NBFORMAT_MINOR = 5
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}

# The setup cell. Jupyter starts the kernel in the notebook's folder (assignments/), so
# the course folder above it is put on sys.path for ``grader`` to import. When the
# notebook is graded as a submission, the API lines are dropped (see submission.py) and
# the path line is harmless.
SETUP_SOURCE = """\
# Setup: the check cells run the course's public checks on this notebook (save it first).
import os, sys
sys.path.insert(0, os.path.dirname(os.getcwd()))
from grader.notebook import Notebook
grader = Notebook("{hw}")"""

OTTER_SETUP_SOURCE = """\
# Setup: otter-grader's checks for this notebook.
import otter
grader = otter.Notebook()"""


def assignment_path(hw, ext="py"):
    """``assignments/hwN_topic.<ext>`` of a homework."""
    return os.path.join(PROJECT_ROOT, "assignments", f"{hw.module}.{ext}")


ITEM = re.compile(r"^[\w`*]+( \([^)]*\))?:\s")
SECTION = re.compile(r"^(Args|Arguments|Returns|Yields|Raises|Note|Notes|Example|Examples):\s*$")


def _markdown(text):
    """A docstring as markdown.

    ``code`` becomes `code`; a section (``Args:``) becomes a bold title and a list;
    a paragraph with lines indented by four spaces or more (a displayed formula)
    becomes a code block so that its alignment survives; other paragraphs stay prose.
    """
    text = re.sub(r"``([^`]+)``", r"`\1`", textwrap.dedent(text).strip("\n"))
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.splitlines()
        if not lines:
            continue
        if SECTION.match(lines[0].strip()):
            out.append(f"**{lines[0].strip()}**")
            items = []
            body = textwrap.dedent("\n".join(lines[1:])).splitlines()
            for line in body:
                if items and (line[:1].isspace() or not ITEM.match(line)):
                    items[-1] += " " + line.strip()
                else:
                    items.append(line.strip())
            out.append("\n".join(f"- {item}" for item in items if item))
        elif any(line.startswith("    ") for line in lines):
            out.append("```\n" + textwrap.dedent(block) + "\n```")
        else:
            out.append(block)
    return "\n\n".join(out)


def _cell_id(*parts):
    return re.sub(r"[^a-zA-Z0-9_-]", "-", "-".join(parts))[:64]


def _raises_not_implemented(node):
    return any(isinstance(n, ast.Raise) and n.exc is not None and "NotImplementedError" in
               ast.unparse(n.exc) for n in ast.walk(node))


def exercises(tree):
    """The stubs of a module's syntax tree, in order (the graded exercises): public functions
    and classes whose body raises ``NotImplementedError``. Provided helpers (hw6's
    ``load_digits``) are not exercises; they go with the imports."""
    return [node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))
            and not node.name.startswith("_") and _raises_not_implemented(node)]


def exercises_of(hw):
    """The exercise functions and classes (syntax nodes) of a homework's assignment module."""
    with open(assignment_path(hw), encoding="utf-8") as fh:
        return exercises(ast.parse(fh.read()))


def _segment(lines, first, last):
    """Source lines ``first..last`` (1-based, inclusive) as text."""
    return "".join(lines[first - 1:last]).rstrip()


def _def_without_docstring(node, lines):
    """A function's source with its docstring shortened to its first line."""
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    if isinstance(node, ast.ClassDef):  # methods keep their docstrings: they are the spec
        return _segment(lines, start, node.end_lineno)
    doc = ast.get_docstring(node)
    body = node.body
    if doc is None:
        return _segment(lines, start, node.end_lineno)
    head = _segment(lines, start, body[0].lineno - 1)
    indent = " " * body[0].col_offset
    summary = doc.strip().splitlines()[0].replace('"""', "'''")
    parts = [head, f'{indent}"""{summary}"""']
    if len(body) > 1:
        parts.append(_segment(lines, body[1].lineno, node.end_lineno))
    return "\n".join(parts)


def _start(node):
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _is_docstring(i, node):
    return i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


def _layout(tree, lines):
    """The module as ``[(exercise node or None, code)]`` in order: runs of other top-level
    code (imports, constants, private helpers) between the exercises are ``None`` entries,
    kept as written (comments and blank lines included)."""
    parts, pending = [], []
    public = set(exercises(tree))

    def flush():
        if pending:
            parts.append((None, _segment(lines, _start(pending[0]), pending[-1].end_lineno)))
            pending.clear()

    for i, node in enumerate(tree.body):
        if _is_docstring(i, node):
            continue
        if node in public:
            flush()
            parts.append((node, _def_without_docstring(node, lines)))
        else:
            pending.append(node)
    flush()
    return parts


def _preamble(tree, lines, skip):
    """Top-level code that is neither the module docstring nor in ``skip`` (imports, helpers)."""
    return "\n\n".join(_segment(lines, _start(node), node.end_lineno)
                        for i, node in enumerate(tree.body)
                        if not _is_docstring(i, node) and node not in skip)


def checked_exercises(hw):
    """Names of the exercises that have public checks (they get a check cell)."""
    return {c.exercise for c in homeworks.load_checks(hw, include_hidden=False)}


def build(hw, source=None, *, setup=None, checked=None):
    """The student notebook of ``hw`` (an ``nbformat`` node) from its module's source text.

    ``source`` defaults to ``assignments/hwN_topic.py``; ``setup`` replaces the setup
    cell (the otter export uses ``otter.Notebook()``); ``checked`` names the exercises
    that get a check cell (default: those with public checks).
    """
    if source is None:
        with open(assignment_path(hw), encoding="utf-8") as fh:
            source = fh.read()
    checked = checked_exercises(hw) if checked is None else set(checked)
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = NBFORMAT_MINOR
    nb.metadata = {"kernelspec": dict(KERNELSPEC),
                   "language_info": {"name": "python"},
                   "grader": {"homework": hw.id, "module": hw.module}}
    cells = nb.cells
    doc = ast.get_docstring(tree) or hw.title
    first, _, rest = doc.partition("\n")
    cells.append(nbformat.v4.new_markdown_cell(
        f"# {first.strip()}\n\n{_markdown(rest)}\n\n"
        "Run the cells in order; each check cell runs the public checks of the exercise "
        "above it on this notebook **as saved** (save it first).",
        id="intro"))
    cells.append(nbformat.v4.new_code_cell(setup or SETUP_SOURCE.format(hw=hw.id), id="setup"))
    number, previous = 0, None
    for node, code in _layout(tree, lines):
        if node is None:
            cell_id = "imports" if previous is None else _cell_id("after", previous)
            cells.append(nbformat.v4.new_code_cell(code, id=cell_id))
            continue
        number, previous = number + 1, node.name
        cells.append(nbformat.v4.new_markdown_cell(
            f"## Exercise {number}: `{node.name}`\n\n{_markdown(ast.get_docstring(node) or '')}",
            id=_cell_id("doc", node.name)))
        cells.append(nbformat.v4.new_code_cell(code, id=_cell_id("code", node.name)))
        if node.name in checked:
            cells.append(nbformat.v4.new_code_cell(f'grader.check("{node.name}")',
                                                   id=_cell_id("check", node.name)))
    cells.append(nbformat.v4.new_markdown_cell("## All public checks", id="all-doc"))
    cells.append(nbformat.v4.new_code_cell("grader.check_all()", id="all-check"))
    nbformat.validate(nb)
    return nb


def dumps(nb):
    """The notebook as the exact text that is committed (stable across runs)."""
    return nbformat.writes(nb, version=4) + "\n"


def fill(nb, source):
    """A copy of ``nb`` with each exercise cell replaced by the definition in module ``source``.

    The module's other top-level code (imports, private helpers) replaces the
    imports cell. This turns a generated notebook into a solved one (the
    reference) for instructors and for the project's own tests.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    wanted = {cell.id[len("code-"):] for cell in nb.cells
              if cell.get("id", "").startswith("code-")}
    defs = {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in wanted}
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.get("id") == "imports":
            cell.source = _preamble(tree, lines, set(defs.values()))
        elif cell.get("id", "").startswith("code-"):
            node = defs.get(cell.id[len("code-"):])
            if node is not None:
                cell.source = _segment(lines, _start(node), node.end_lineno)
    return out


def write(hw):
    """Regenerate ``assignments/hwN_topic.ipynb``; returns its path."""
    path = assignment_path(hw, "ipynb")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(dumps(build(hw)))
    return path
