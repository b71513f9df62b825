"""The one intake: what was handed in (a folder, a file, a notebook) → the module text(s).

Every face resolves a submission here, with the rule of the course spec ("Conventions"):
- only regular files count: a module that is a symbolic link, a FIFO or a device is no
  module (read with ``lstat`` and ``O_NOFOLLOW``, never followed, never opened blocking);
- a folder is walked iteratively, shallowest match first, never through links, with caps
  on depth, entries and file size (a 1,100-level tree or a 10^6-file folder costs nothing);
- with both ``hwN_topic.py`` and ``hwN_topic.ipynb``, the one whose exercise definitions
  differ from the released stub (``assignments/``; AST compared with docstrings stripped)
  is graded; when both differ both are graded (the caller keeps the higher score); file
  times never decide. When the folder graded is the working copy itself (``make check``
  on ``assignments/``, where the stub file *is* the student's file), an exercise counts
  as untouched when every function in it still ends in ``raise NotImplementedError``;
- no module at all: the reason says so, with a hint when a file is close to the name
  (``found hw1_gaussian.py — did you mean hw1_gaussians.py?``).

This module only reads; it never writes, imports or runs what it reads.
"""
from __future__ import annotations

import ast
import difflib
import errno
import os
import stat
from dataclasses import dataclass, field

from .homeworks import PROJECT_ROOT, Homework
from .submission import NotebookModule, SubmissionError, notebook_to_module

MAX_MODULE_BYTES = 8 << 20   # no student writes 8 MiB of homework code
MAX_DEPTH = 8                # folder levels searched below the submission
MAX_ENTRIES = 20_000         # directory entries looked at per submission
SKIPPED_FOLDERS = ("__MACOSX",)


@dataclass(frozen=True)
class Candidate:
    """One module file of a submission, read and (for a notebook) converted.

    ``name`` is the file's name (``hw1_gaussians.ipynb``), ``relpath`` where it was in the
    submission, ``content`` its bytes and ``module`` the Python text graded.
    """
    name: str
    relpath: str
    content: bytes
    module: NotebookModule

    @property
    def is_notebook(self) -> bool:
        """True for a ``.ipynb`` candidate."""
        return self.name.endswith(".ipynb")


@dataclass(frozen=True)
class Intake:
    """What a submission resolves to: the candidates to grade (none, one or two), notes about
    the choice for the feedback, ``problem`` (why nothing can be graded) when empty, and
    ``found``: every module file read (graded or not), for faces that keep a copy."""
    candidates: tuple[Candidate, ...] = ()
    notes: tuple[str, ...] = ()
    problem: str = ""
    found: tuple[Candidate, ...] = ()


@dataclass
class _Walk:
    found: dict = field(default_factory=dict)     # file name -> (depth, relpath)
    near: list = field(default_factory=list)      # other .py/.ipynb names seen
    truncated: str = ""


def read_regular(path: str, *, limit: int = MAX_MODULE_BYTES, shown: str = "") -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    Never follows a symbolic link and never blocks on a FIFO or device; raises
    ``SubmissionError`` naming ``shown`` (default: the path) and what to do.
    """
    shown = shown or path
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise SubmissionError(f"{shown} cannot be read ({exc.strerror})") from None
    kind = _kind(info.st_mode)
    if kind:
        raise SubmissionError(f"{shown} is {kind}, not a regular file: submit the file itself")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise SubmissionError(f"{shown} is a symbolic link, not a regular file: "
                                  "submit the file itself") from None
        raise SubmissionError(f"{shown} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):  # replaced between lstat and open
            raise SubmissionError(f"{shown} is not a regular file: submit the file itself")
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise SubmissionError(f"{shown} is larger than {limit >> 20} MiB: "
                              "submit only the homework's code")
    return data


def _kind(mode: int) -> str:
    """'' for a regular file, else what it is, in words."""
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def module_names(hw: Homework) -> tuple[str, str]:
    """The two file names a submission may use: ``hwN_topic.py`` and ``hwN_topic.ipynb``."""
    return hw.filename, hw.module + ".ipynb"


def _walk(hw: Homework, folder: str) -> _Walk:
    """The shallowest path of each module name under ``folder`` (breadth first, no links)."""
    names = module_names(hw)
    walk = _Walk()
    level, depth, seen = [""], 0, 0
    while level and not walk.truncated:
        deeper = []
        for rel in level:
            try:
                with os.scandir(os.path.join(folder, rel) if rel else folder) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                seen += 1
                if seen > MAX_ENTRIES:
                    walk.truncated = f"more than {MAX_ENTRIES} files"
                    break
                path = f"{rel}/{entry.name}" if rel else entry.name
                if entry.name in names:
                    walk.found.setdefault(entry.name, (depth, path))
                elif entry.name.endswith((".py", ".ipynb")):
                    walk.near.append(entry.name)
                if (entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
                        and entry.name not in SKIPPED_FOLDERS):
                    deeper.append(path)
            if walk.truncated:
                break
        depth += 1
        if depth > MAX_DEPTH and deeper:
            walk.truncated = walk.truncated or f"folders nested more than {MAX_DEPTH} levels"
            break
        level = deeper
    return walk


def _stub_definitions(hw: Homework, submitted: str) -> dict | None:
    """{exercise name: AST dump} of the released stub; None when it is not shipped here or
    when ``submitted`` is that very file (the working copy: it is no reference then)."""
    path = os.path.join(PROJECT_ROOT, "assignments", hw.filename)
    try:
        if os.path.samefile(path, submitted):
            return None
        with open(path, encoding="utf-8") as fh:
            return definitions(fh.read())
    except (OSError, SyntaxError, ValueError):
        return None


def definitions(source: str) -> dict:
    """{name: AST dump without docstrings} of the top-level functions and classes of ``source``.

    Raises ``SyntaxError``/``ValueError`` when the text does not parse.
    """
    tree = ast.parse(source)
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = ast.dump(_without_docstrings(node))
    return out


def _without_docstrings(node):
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if (isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            sub.body = body[1:] or [ast.Pass()]
    return node


def is_untouched(candidate: Candidate, stub: dict | None, exercises: set) -> bool:
    """True when the candidate's exercise definitions are exactly the stub's (docstrings
    aside); without a stub, when each of ``exercises`` it defines only raises
    ``NotImplementedError`` (see ``only_raises_not_implemented``)."""
    try:
        tree = ast.parse(candidate.module.source)
    except (SyntaxError, ValueError):
        return False
    defs = {node.name: node for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    if stub is not None:
        mine = {name: ast.dump(_without_docstrings(node)) for name, node in defs.items()}
        return all(mine.get(name) == dump for name, dump in stub.items())
    return all(only_raises_not_implemented(defs[name]) for name in exercises if name in defs)


def only_raises_not_implemented(node) -> bool:
    """True when every function in ``node`` (itself, or a class's methods) ends its body with
    an unconditional ``raise NotImplementedError`` (as the stubs do, after at most a
    ``super().__init__()``): an exercise that cannot have been solved."""
    functions = [n for n in ast.walk(_without_docstrings(node))
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not functions:
        return False

    def raises(stmt):
        if not isinstance(stmt, ast.Raise) or stmt.exc is None:
            return False
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"

    return all(raises(f.body[-1]) for f in functions)


def _candidate(name: str, relpath: str, data: bytes, shown: str) -> Candidate:
    if name.endswith(".ipynb"):
        module = notebook_to_module(data, shown)
    else:
        module = NotebookModule(data.decode("utf-8", "replace"), [], [])
    return Candidate(name, relpath, data, module)


def resolve(hw: Homework, submission: str) -> Intake:
    """The ``Intake`` of ``submission``: a folder, or a ``.py``/``.ipynb`` file.

    Never raises for what the submission holds: a problem becomes ``Intake.problem``.
    Raises ``FileNotFoundError`` when ``submission`` itself does not exist.
    """
    if not os.path.lexists(submission):
        raise FileNotFoundError(f"{submission} does not exist")
    if not os.path.isdir(submission) or os.path.islink(submission):
        name = os.path.basename(submission)
        try:
            data = read_regular(submission, shown=name)
            one = _candidate(name, name, data, name)
            return Intake((one,), found=(one,))
        except SubmissionError as exc:
            return Intake(problem=str(exc))
    walk = _walk(hw, submission)
    read, problems = [], []
    for name in module_names(hw):
        if name not in walk.found:
            continue
        _, rel = walk.found[name]
        try:
            data = read_regular(os.path.join(submission, *rel.split("/")), shown=rel)
            read.append(_candidate(name, rel, data, rel))
        except SubmissionError as exc:
            problems.append(str(exc))
    if not read:
        return Intake(problem="; ".join(problems) or _missing(hw, walk))
    notes = list(problems)
    if len(read) == 2:
        stub = _stub_definitions(hw, os.path.join(submission, *read[0].relpath.split("/")))
        return _choose(read, notes, stub, _exercises(hw) if stub is None else set())
    return Intake(tuple(read), tuple(notes), found=tuple(read))


def _exercises(hw: Homework) -> set:
    """The exercise names of a homework (from its public checks)."""
    from .homeworks import load_checks
    return {c.exercise for c in load_checks(hw, include_hidden=False)}


def _choose(both: list, notes: list, stub: dict | None, exercises: set) -> Intake:
    """The rule for a folder with both files: the modified one; both when both are modified."""
    py, nb = both
    untouched = {c.name: is_untouched(c, stub, exercises) for c in both}
    if untouched[py.name] and not untouched[nb.name]:
        notes.append(f"both {py.name} and {nb.name} are present: graded {nb.name}, "
                     f"{py.name} is the unchanged stub")
        return Intake((nb,), tuple(notes), found=tuple(both))
    if untouched[nb.name] and not untouched[py.name]:
        notes.append(f"both {py.name} and {nb.name} are present: graded {py.name}, "
                     f"{nb.name} is the unchanged stub")
        return Intake((py,), tuple(notes), found=tuple(both))
    if untouched[py.name]:
        notes.append(f"both {py.name} and {nb.name} are the unchanged stub: graded {py.name}")
        return Intake((py,), tuple(notes), found=tuple(both))
    return Intake((py, nb), tuple(notes), found=tuple(both))


def _missing(hw: Homework, walk: _Walk) -> str:
    py, nb = module_names(hw)
    text = f"no {py} or {nb} in the submission"
    if walk.truncated:
        text += f" (searched {MAX_DEPTH} folder levels; stopped at {walk.truncated})"
    for name in dict.fromkeys(walk.near):
        target = py if name.endswith(".py") else nb
        if difflib.get_close_matches(name, [target], n=1, cutoff=0.75):
            return f"{text}: found {name} — did you mean {target}? Rename it and submit again"
    return f"{text}: submit the homework file under exactly that name"
