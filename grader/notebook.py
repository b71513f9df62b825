"""The notebook API: ``grader = Notebook("hw1")``, ``grader.check("gaussian_conditional")``.

Shaped like otter-grader's ``otter.Notebook`` (which course staffs already know),
but each check runs the same public checks, with the same diagnostics, as
``make check``: through the engine and its sandboxed worker, never inside the
student's kernel, and without a Jupyter kernel per check.

What is checked is the notebook **file as saved**, converted to a module exactly
as a submitted notebook is graded (``grading.grade``): the check grades what
will be submitted, cell for cell, and a notebook that passes here cannot fail
to import when graded. The kernel's live state is not used: it can hold
definitions from deleted or since-edited cells that the file (and the graded
run) will never see. Because Jupyter only saves every couple of minutes, the
API records which cells the kernel ran (IPython's ``post_run_cell`` event) and
warns when a cell ran after the last save with code that the saved file does
not contain: "save the notebook and check again".
"""
import json
import os
import time
from dataclasses import dataclass, field

from . import homeworks
from .grading import GradeRequest, Replay, grade
from .reporters.terminal import render

_RUN_CELLS = []        # (time, raw source) of the cells the kernel ran since the API loaded
_WATCHING = set()      # ids of the IPython shells whose cells are recorded


def _record(result):
    info = getattr(result, "info", None)
    source = getattr(info, "raw_cell", None)
    if isinstance(source, str):
        _RUN_CELLS.append((time.time(), source))


def _watch_kernel():
    """Record the cells the IPython kernel runs (once per shell; nothing outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or id(shell) in _WATCHING:
        return
    shell.events.register("post_run_cell", _record)
    _WATCHING.add(id(shell))


@dataclass
class NotebookCheck:
    """What ``Notebook.check`` returns: ``score`` out of ``possible`` and a readable ``summary``.

    ``result`` is the engine's ``GradeResult``; ``warnings`` say when the saved
    file lags behind the kernel. In Jupyter it displays as the summary.
    """
    name: str
    score: float
    possible: float
    summary: str
    result: object = None
    warnings: list = field(default_factory=list)

    @property
    def passed(self):
        """True when every selected public check passed."""
        return self.possible > 0 and self.score == self.possible

    def __repr__(self):
        return self.summary

    def _repr_pretty_(self, printer, cycle):
        printer.text(self.summary)


class Notebook:
    """The public checks of one homework, run on its saved notebook.

    ``homework`` is an id such as ``hw1``; ``path`` is the notebook file
    (default: the notebook Jupyter says it runs, else ``hwN_topic.ipynb`` in the
    current folder, which is where Jupyter starts the kernel, else under
    ``assignments/``).
    """

    def __init__(self, homework, path=None):
        self.hw = homeworks.get(homework)
        self.path = os.path.abspath(path or self._default_path())
        self._notes_shown = set()  # conversion notes are shown once, not on every check cell
        _watch_kernel()

    def _default_path(self):
        name = self.hw.module + ".ipynb"
        session = os.environ.get("JPY_SESSION_NAME", "")  # Jupyter's path of this notebook
        if session.endswith(".ipynb") and os.path.isfile(session):
            return session
        for folder in (os.getcwd(), os.path.join(os.getcwd(), "assignments")):
            if os.path.isfile(os.path.join(folder, name)):
                return os.path.join(folder, name)
        return name

    def check(self, name=None, case=None):
        """Run the public checks of exercise (or check id) ``name`` (all when ``None``).

        ``case`` reruns one case of one check, as the feedback's rerun line says.
        Returns a ``NotebookCheck``.
        """
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f"{self.path} does not exist: save the notebook under that "
                                    f"name, or pass its path: Notebook({self.hw.id!r}, path=...)")
        warnings = self._unsaved_warning()
        if os.path.basename(self.path) != self.hw.module + ".ipynb":
            warnings.append(f"this notebook is named {os.path.basename(self.path)}: submit it as "
                            f"{self.hw.module}.ipynb, the name the grader looks for")
        graded = grade(GradeRequest(
            homework=self.hw, submission=self.path, seed=0, include_hidden=False,
            only=(name,) if name else (), case_id=case, replay=Replay("notebook")))
        result = graded.result
        label = name or "all exercises"
        lines = [render(result, title=f"{self.hw.id} — {label}  [{os.path.basename(self.path)}"
                                      " as saved, public checks]")]
        new_notes = [n for n in graded.notes if n not in self._notes_shown]
        self._notes_shown.update(new_notes)
        lines += [f"  note: {note}" for note in new_notes]
        lines += [f"  WARNING: {w}" for w in warnings]
        return NotebookCheck(name=label, score=result.score, possible=result.max_score,
                             summary="\n".join(lines), result=result, warnings=warnings)

    def check_all(self):
        """Run every public check of the homework."""
        return self.check(None)

    def _unsaved_warning(self):
        """A warning when the kernel ran code after the last save that the file lacks."""
        saved_at = os.path.getmtime(self.path)
        recent = [src for t, src in _RUN_CELLS if t > saved_at and src.strip()]
        if not recent:
            return []
        try:
            with open(self.path, encoding="utf-8") as fh:
                cells = json.load(fh)["cells"]
            saved = {line.strip() for cell in cells if cell.get("cell_type") == "code"
                     for line in "".join(cell.get("source", "")).splitlines()}
        except Exception:  # noqa: BLE001 - the check itself reports a malformed file
            return []
        missing = [src for src in recent
                   if any(line.strip() and line.strip() not in saved for line in src.splitlines())]
        if not missing:
            return []
        return [f"{len(missing)} cell(s) ran after the notebook was last saved with code that "
                "the saved file does not contain; the check graded the saved file: save the "
                "notebook (Ctrl-S / Cmd-S) and check again"]
