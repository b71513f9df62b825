"""``release``: the student repository, ``dist/student/`` — stubs, public checks, the engine.

What ships: ``assignments/<module>.py`` (the stubs) and its notebook ``<module>.ipynb``,
``tests/public/<module>.py`` and its expected values ``tests/public/data/<module>.json``,
the data files the checks read (``Homework.data_files``, e.g. the HW6 digits), the
``grader`` package (what ``make check`` and the notebooks' check cells run), and a student
``Makefile``, ``pyproject.toml`` and ``README.md``.
What never ships: ``solutions/``, ``tests/hidden/``, examples, the project's own tests.
The release is verified before the command succeeds (``leaks``): no file equal to a
reference or hidden-check file, no reference function body in any file, no public data
for a check that is not public.
"""
import ast
import hashlib
import json
import os
import shutil
import sys
import textwrap

from .. import homeworks
from ..homeworks import PROJECT_ROOT, load_checks

MARKER = ".student-release"
TORCH_PIN = "torch==2.13.0"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
MIN_BODY_CHARS = 40


def add_arguments(parser):
    """The options of ``release``."""
    parser.add_argument("homeworks", nargs="*", metavar="HW",
                        help="homeworks to release (default: all)")
    parser.add_argument("--out", default=os.path.join(PROJECT_ROOT, "dist", "student"),
                        help="destination folder (default: dist/student)")


def _copy(rel, dest):
    target = os.path.join(dest, rel)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(os.path.join(PROJECT_ROOT, rel), target)


def _fresh(dest):
    """Empty ``dest``; refuses to delete a folder that is not an earlier release."""
    if os.path.exists(dest):
        if os.listdir(dest) and not os.path.exists(os.path.join(dest, MARKER)):
            raise FileExistsError(f"{dest} exists and is not a student release: "
                                  "choose an empty or new folder")
        shutil.rmtree(dest)
    os.makedirs(dest)


def build(hws, dest):
    """Write the student release of the homeworks ``hws`` into ``dest``; returns ``dest``."""
    _fresh(dest)
    for rel in ("tests/__init__.py", "tests/public/__init__.py"):
        _copy(rel, dest)
    for hw in hws:
        _copy(os.path.join("assignments", hw.filename), dest)
        if os.path.exists(os.path.join(PROJECT_ROOT, "assignments", hw.module + ".ipynb")):
            _copy(os.path.join("assignments", hw.module + ".ipynb"), dest)  # Jupyter users
        _copy(os.path.join("tests", "public", hw.filename), dest)
        _copy(os.path.join("tests", "public", "data", hw.module + ".json"), dest)
        for rel in hw.data_files:
            _copy(rel, dest)
    shutil.copytree(os.path.join(PROJECT_ROOT, "grader"), os.path.join(dest, "grader"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    torch_hws = [hw for hw in hws if student_needs_torch(hw)]
    files = {"Makefile": student_makefile(hws, torch_hws),
             "pyproject.toml": student_pyproject(bool(torch_hws)),
             "README.md": student_readme(hws, torch_hws), ".gitignore": ".venv/\n__pycache__/\n",
             MARKER: "written by `python -m grader release`\n"}
    for name, text in files.items():
        with open(os.path.join(dest, name), "w", encoding="utf-8") as fh:
            fh.write(text)
    for hw in hws:  # public check modules that these import (helpers shared across homeworks)
        for rel in check_files(hw, include_hidden=False):
            if not os.path.exists(os.path.join(dest, rel)):
                _copy(rel, dest)
    return dest


def student_needs_torch(hw):
    """Whether checking ``hw`` on a student's machine needs torch: the student's code may
    use it (the worker preloads it, hw6) or a public check judges with it. hw3's autograd
    judges are hidden checks, run by the course's grader only."""
    return "torch" in hw.worker_preload or any(
        c.needs_torch for c in load_checks(hw, include_hidden=False))


def student_makefile(hws, torch_hws):
    """The student's Makefile: ``make check`` bootstraps .venv with numpy and runs the
    public checks; CPU torch is installed only when a checked homework needs it."""
    ids = " ".join(hw.id for hw in hws)
    torch_ids = " ".join(hw.id for hw in torch_hws)
    pip = "$(PY) -m pip install --quiet --disable-pip-version-check"
    return (
        "# make check [HW=hw1] [ONLY=exercise/check] [CASE=\"case id\"]: the public checks.\n"
        "# Without make: python -m grader check hw1 (after pip install numpy).\n"
        "PYTHON ?= python3\nVENV   := .venv\nPY     := $(VENV)/bin/python\n"
        f"HW     ?= {ids}\nONLY   ?=\nCASE   ?=\n"
        f"# homeworks whose checks need torch (CPU wheel, installed on their first check)\n"
        f"TORCH_HW := {torch_ids}\n\n.PHONY: help check clean\n\n"
        "help:\n\t@echo \"make check [HW=hw1] [ONLY=exercise/check] [CASE=\\\"case id\\\"]\"\n\n"
        f"$(VENV)/.core: pyproject.toml\n\t$(PYTHON) -m venv $(VENV)\n\t{pip} .\n\t@touch $@\n\n"
        f"$(VENV)/.torch: $(VENV)/.core\n\t{pip} --index-url {TORCH_INDEX} '{TORCH_PIN}'\n"
        "\t@touch $@\n\n"
        "# the first check starts a warm grader that serves the next ones (GRADER_WARM=0: off)\n"
        "GRADER_WARM ?= 1\n\n"
        "check: $(VENV)/.core $(if $(filter $(TORCH_HW),$(HW)),$(VENV)/.torch)\n"
        "\t@GRADER_WARM=$(GRADER_WARM) $(PY) -m grader check $(HW) "
        "$(if $(ONLY),--only \"$(ONLY)\") $(if $(CASE),--case \"$(CASE)\")\n\n"
        "clean:\n\t-@test ! -x $(PY) || $(PY) -m grader warm stop\n\trm -rf $(VENV)\n")


def student_pyproject(torch):
    """The student's pyproject.toml: numpy; CPU torch as the optional extra ``torch`` where a
    released homework needs it (``make check`` installs it from the CPU index)."""
    extra = (f"\n[project.optional-dependencies]\ntorch = [\"{TORCH_PIN}\"]\n"
             if torch else "")
    return ("[build-system]\nrequires = [\"setuptools>=68\"]\n"
            "build-backend = \"setuptools.build_meta\"\n\n[project]\n"
            "name = \"dgm-homework\"\nversion = \"0.1.0\"\n"
            "description = \"Deep generative models: homework and public checks\"\n"
            f"requires-python = \">=3.10\"\ndependencies = [\"numpy>=1.24\"]\n{extra}\n"
            "[tool.setuptools]\npackages = []\n")


def student_readme(hws, torch_hws=()):
    """The student's README: what to fill in, how to check (with or without make), what to
    submit."""
    rows = "\n".join(f"| {hw.id} | `assignments/{hw.filename}` | {hw.title} |" for hw in hws)
    torch_note = (
        f"`make check` installs only numpy, and CPU torch the first time you check "
        f"{', '.join(hw.id for hw in torch_hws)} (about 200 MB). Without `make`, install it "
        f"yourself for those: `python -m pip install --index-url {TORCH_INDEX} '{TORCH_PIN}'`."
        if torch_hws else "`make check` installs only numpy.")
    return textwrap.dedent("""\
        # Deep generative models — homework

        | homework | file to complete | topic |
        |---|---|---|
        {rows}

        Fill in the functions of `assignments/hwN_topic.py`: each docstring states the
        math, the shapes and the edge cases that are graded. Only Python ≥ 3.10 and `make`
        are needed; the first `make check` creates a virtual environment (`.venv`).

        ```bash
        make check                 # public checks of every homework
        make check HW=hw1          # one homework
        make check HW=hw1 ONLY=gaussian_conditional/conditions-on-a-subset CASE="a=[0] b=[2]"
        ```

        {torch_note}

        No `make` (Windows, or a shell without it)? The same checks, from this folder, with
        any Python ≥ 3.10 that has numpy:

        ```bash
        python -m pip install numpy        # once (or: python -m pip install .)
        python -m grader check hw1         # one homework; without hw1: every homework
        python -m grader check hw1 --only gaussian_conditional
        ```

        The public checks are a subset of the grading: the graded run adds hidden checks
        with fresh random cases and the edge cases of the docstrings. A check that fails
        prints the case, what was expected and what your code returned, and the command
        that reruns just that case.

        Prefer Jupyter? `assignments/hwN_topic.ipynb` holds the same stubs, one cell each,
        with a check cell after each exercise (`grader.check("name")`): it runs the same
        public checks on the notebook as saved, so save before checking. `make check`
        and the graders grade the file you changed (if you changed both, both are graded
        and the higher score counts). Without `make`: `python -m grader check hw1`.

        Submit `hwN_topic.py` (or the notebook `hwN_topic.ipynb`, same functions in code
        cells) under exactly that name.
        """).format(rows=rows, torch_note=torch_note)


# --- verification -------------------------------------------------------------------------

def _normalized(text):
    """Lines stripped, blank and comment lines dropped: layout cannot hide a copy."""
    lines = (ln.strip() for ln in text.splitlines())
    return "\n".join(ln for ln in lines if ln and not ln.startswith("#"))


def reference_bodies(hw):
    """{qualified name: normalized body} of the reference's functions (docstrings out) that
    must stay secret: every exercise (a function the checks grade, or a method of one), and
    every helper except those the stub gives students verbatim."""
    path = os.path.join(PROJECT_ROOT, "solutions", hw.filename)
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    with open(os.path.join(PROJECT_ROOT, "assignments", hw.filename), encoding="utf-8") as fh:
        given = _normalized(fh.read())
    exercises = {c.exercise for c in load_checks(hw, include_hidden=True)}
    bodies = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    body = child.body
                    if body and isinstance(body[0], ast.Expr) and \
                            isinstance(getattr(body[0], "value", None), ast.Constant) and \
                            isinstance(body[0].value.value, str):
                        body = body[1:]
                    text = "\n".join(ast.get_source_segment(source, stmt, padded=True) or ""
                                     for stmt in body)
                    body = _normalized(text)
                    exercise = name.split(".")[0] in exercises
                    if len(body) >= MIN_BODY_CHARS and (exercise or body not in given):
                        bodies[name] = body
                visit(child, name + ".")
    visit(ast.parse(source), "")
    return bodies


def _digest(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def leaks(dest, hws):
    """What of the secret side is in the release at ``dest`` (an empty list when nothing)."""
    secret = {}
    for folder in ("solutions", os.path.join("tests", "hidden")):
        root = os.path.join(PROJECT_ROOT, folder)
        for name in os.listdir(root) if os.path.isdir(root) else ():
            path = os.path.join(root, name)
            if os.path.isfile(path) and os.path.getsize(path) > 0 and name != "__init__.py":
                secret[_digest(path)] = os.path.join(folder, name)
    bodies = {f"{hw.module}.{name}": body for hw in hws
              for name, body in reference_bodies(hw).items()}
    problems = []
    for here, dirs, files in os.walk(dest):
        rel_here = os.path.relpath(here, dest)
        if rel_here.split(os.sep)[0] in ("solutions", "hidden") or \
                rel_here.replace(os.sep, "/").startswith("tests/hidden"):
            problems.append(f"{rel_here}: a secret folder")
        for name in files:
            path = os.path.join(here, name)
            rel = os.path.relpath(path, dest)
            if _digest(path) in secret:
                problems.append(f"{rel}: a copy of {secret[_digest(path)]}")
                continue
            try:
                with open(path, encoding="utf-8") as fh:
                    text = _normalized(_readable(fh.read(), name))
            except UnicodeDecodeError:
                continue
            problems += [f"{rel}: the body of the reference {fn}"
                         for fn, body in bodies.items() if body in text]
    for hw in hws:
        public = {c.id for c in load_checks(hw, include_hidden=False)}
        data = os.path.join(dest, "tests", "public", "data", hw.module + ".json")
        if os.path.exists(data):
            with open(data, encoding="utf-8") as fh:
                extra = set(json.load(fh).get("checks", {})) - public
            problems += [f"{os.path.relpath(data, dest)}: data of non-public check {c}"
                         for c in sorted(extra)]
    return problems


def run(args):
    """Run ``python -m grader release``; returns the exit code."""
    hws = [homeworks.get(h) for h in args.homeworks] or list(homeworks.HOMEWORKS.values())
    dest = os.path.abspath(args.out)
    try:
        build(hws, dest)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    problems = leaks(dest, hws)
    if problems:
        shutil.rmtree(dest)
        print("release NOT written: it would leak\n  " + "\n  ".join(problems))
        return 1
    print(f"wrote {dest}: {', '.join(hw.id for hw in hws)} (verified: no reference, "
          "no hidden check)")
    return 0


def check_files(hw, include_hidden):
    """Project-relative paths of ``hw``'s check modules and of every ``tests.*`` module they
    import, transitively (read from their source: hw4's public checks use hw1's helpers)."""
    todo = list(hw.check_modules(include_hidden))
    seen = set()
    while todo:
        name = todo.pop()
        rel = name.replace(".", "/") + ".py"
        if name in seen or not os.path.isfile(os.path.join(PROJECT_ROOT, rel)):
            continue
        seen.add(name)
        with open(os.path.join(PROJECT_ROOT, rel), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                todo.append(node.module)
            elif isinstance(node, ast.Import):
                todo.extend(alias.name for alias in node.names)
        todo = [n for n in todo if n.startswith("tests.")]
    return sorted(name.replace(".", "/") + ".py" for name in seen)


def _readable(text, name):
    """The text in which to look for code: a notebook's cells decoded (in the raw JSON each
    line is a quoted string), anything else as it is."""
    if not name.endswith(".ipynb"):
        return text
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return text
    sources = (c.get("source", "") for c in cells if isinstance(c, dict))
    return text + "\n" + "\n".join(s if isinstance(s, str) else "".join(map(str, s))
                                   for s in sources)
