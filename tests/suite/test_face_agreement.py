"""Every face grades a submission the same way: `grade`, `batch` over a folder, `batch` over
a Gradescope export zip, `run_autograder` in a temporary root, and (public checks) `check`.

Each submission form is graded by every face; the score and the file graded must agree,
and an invalid form (a link, a FIFO, a device, a misnamed or buried module) is a clear
`no_module` for that one student while the rest of the class is graded.
"""
import csv
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

import pytest

from grader import homeworks
from grader.cli import main
from grader.homeworks import PROJECT_ROOT

from .grading import notebook_text as notebook
from .grading import reference_source, stub_source, variant

HW = homeworks.get("hw1")
PY, NB = HW.filename, HW.module + ".ipynb"
SEED = 5
BUGGY = variant(HW, """
    def gaussian_marginal(mu, Sigma, idx):
        k = len(idx)
        return mu[:k], Sigma[:k, :k]
""")  # loses the marginal checks whose indices are not a prefix; fast and deterministic
STUB_NOTEBOOK = (pathlib.Path(PROJECT_ROOT) / "assignments" / NB).read_text()
DEEP = 1100


def remove(path):
    """Delete a tree (``rm -rf``: shutil.rmtree recurses and cannot delete 1,100 levels on
    Python < 3.12)."""
    subprocess.run(["rm", "-rf", str(path)], check=True)


def link(target):
    return ("link", target)


# name: ({relative path: text | ("link", target) | ("fifo",)}, graded file or None, rejection)
FORMS = {
    "py": ({PY: BUGGY}, PY, None),
    "ipynb": ({NB: notebook(BUGGY)}, NB, None),
    "both, py untouched": ({PY: stub_source(HW), NB: notebook(reference_source(HW))}, NB, None),
    "both, ipynb untouched": ({PY: BUGGY, NB: STUB_NOTEBOOK}, PY, None),
    "both modified": ({PY: BUGGY, NB: notebook(reference_source(HW))}, NB, None),
    "nested folder": ({f"work/final/{PY}": reference_source(HW)}, f"work/final/{PY}", None),
    "misnamed": ({"hw1_gaussian.py": reference_source(HW)}, None,
                 f"found hw1_gaussian.py — did you mean {PY}?"),
    "symlink to the reference": ({PY: link(os.path.join(PROJECT_ROOT, "solutions", PY))}, None,
                                 "symbolic link"),
    "fifo": ({PY: ("fifo",)}, None, "FIFO"),
    "/dev/zero link": ({PY: link("/dev/zero")}, None, "symbolic link"),
    "1,100 levels deep": ({"/".join(["d"] * DEEP) + "/" + PY: reference_source(HW)}, None,
                          f"no {PY} or {NB}"),
}
# In a zip, links and special files are never unpacked and deep entries are skipped.
ZIP_REJECTION = {"symlink to the reference": "not unpacked", "/dev/zero link": "not unpacked",
                 "fifo": "not unpacked", "1,100 levels deep": "not unpacked"}
KEYS = {name: f"s{i:02d}" for i, name in enumerate(FORMS)}


def make(folder, files):
    """Create a submission folder from a form's files (links and FIFOs included)."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = folder / rel
        if len(rel) > 1000:  # too long for one path: walk down with relative chdirs
            _make_deep(folder, rel, content)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, tuple) and content[0] == "link":
            os.symlink(content[1], path)
        elif isinstance(content, tuple):
            os.mkfifo(path)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def _make_deep(folder, rel, content):
    *parts, name = rel.split("/")
    here = os.getcwd()
    try:
        os.chdir(folder)
        for part in parts:
            os.makedirs(part, exist_ok=True)
            os.chdir(part)
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(content)
    finally:
        os.chdir(here)


def zip_entry(z, name, content):
    """Add a form's file to an export zip (a link as a symlink entry, a FIFO as one)."""
    if isinstance(content, tuple):
        info = zipfile.ZipInfo(name)
        mode = 0o120777 if content[0] == "link" else 0o010644
        info.external_attr = mode << 16
        z.writestr(info, content[1] if content[0] == "link" else "")
    else:
        z.writestr(name, content)


@pytest.fixture(scope="module")
def world():
    """A folder every user may enter (worker uids must be able to reach nothing in it)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="grader-faces-"))
    os.chmod(path, 0o755)
    yield path
    remove(path)


@pytest.fixture(scope="module")
def klass(world):
    """Every form as one student's folder; plus students named like the batch's own files."""
    root = world / "class"
    for name, (files, _, _) in FORMS.items():
        make(root / KEYS[name], files)
    make(root / "grades.csv", {PY: reference_source(HW)})
    make(root / "batch.json", {PY: reference_source(HW)})
    return root


def run_batch(source, out):
    """Batch-grade ``source`` into ``out``; returns (out, {student id: gradebook row})."""
    assert main(["batch", "hw1", str(source), "--out", str(out), "--seed", str(SEED),
                 "--jobs", "2", "--no-progress"]) == 0
    with open(out / "grades.csv", encoding="utf-8", newline="") as fh:
        return out, {row["id"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def by_batch_folder(world, klass):
    return run_batch(klass, world / "out-folder")


@pytest.fixture(scope="module")
def by_batch_zip(world):
    export = world / "export.zip"
    metadata = []
    with zipfile.ZipFile(export, "w") as z:
        for name, (files, _, _) in FORMS.items():
            key = KEYS[name]
            metadata.append(f"{key}:\n  :submitters:\n  - :name: {name}\n    :sid: '{key}'\n")
            for rel, content in files.items():
                zip_entry(z, f"export/{key}/{rel}", content)
        metadata.append("/etc:\n  :submitters:\n  - :name: Abs Olute\n    :sid: 'abs'\n")
        metadata.append("../class:\n  :submitters:\n  - :name: Dot Dot\n    :sid: 'dotdot'\n")
        z.writestr("export/submission_metadata.yml", "".join(metadata))
        z.writestr(f"export/unlisted/{PY}", reference_source(HW))
    return run_batch(export, world / "out-zip")


@pytest.fixture(scope="module")
def gradescope_root(world):
    """The hw1 autograder (seed fixed like the batches'), unpacked and set up."""
    from .test_autograder import remove_root, unpack_and_set_up
    zipped = world / "hw1_autograder.zip"
    assert main(["autograder", "hw1", "--out", str(zipped), "--seed", str(SEED)]) == 0
    top = unpack_and_set_up(zipped, "hw1")
    yield top
    remove_root(top)


def by_grade(world, name):
    folder = make(world / "single" / KEYS[name], FORMS[name][0]) \
        if not (world / "single" / KEYS[name]).exists() else world / "single" / KEYS[name]
    out = world / "single-out" / KEYS[name] / "results.json"
    assert main(["grade", "hw1", str(folder), "--out", str(out), "--seed", str(SEED),
                 "--quiet"]) == 0
    return folder, json.loads(out.read_text())


def by_gradescope(root, name):
    remove(root / "submission")
    remove(root / "results")
    (root / "results").mkdir()
    make(root / "submission", FORMS[name][0])
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600, cwd="/")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def public_score(doc):
    return sum(t["score"] for t in doc["tests"] if t["visibility"] == "visible")


@pytest.mark.parametrize("name", FORMS)
def test_every_face_grades_the_same_file_with_the_same_score(name, world, by_batch_folder,
                                                             by_batch_zip, gradescope_root,
                                                             capsys):
    _, graded_file, rejection = FORMS[name]
    folder, single = by_grade(world, name)
    extra = single["extra_data"]
    score = single["score"]
    if rejection is None:
        assert extra["status"] == "graded" and extra["graded_file"] == graded_file
        assert f"Graded file: {graded_file}" in single["output"]
        assert score > 0
    else:
        assert extra["status"] == "no_module" and score == 0 and extra["graded_file"] == ""
        assert rejection in extra["reason"]
        assert all(rejection in t["output"] for t in single["tests"])
    # batch over a folder: the same row, the kept copy graded again gives the same score
    out, rows = by_batch_folder
    row = rows[KEYS[name]]
    assert float(row["total"]) == score and row["status"] == extra["status"]
    doc = json.loads((out / "students" / KEYS[name] / "results.json").read_text())
    assert doc["extra_data"]["graded_file"] == extra["graded_file"]
    if rejection is not None:
        assert rejection in row["reason"]
    else:
        assert (out / "students" / KEYS[name] / "submission" / graded_file).is_file()
    # batch over an export zip
    _, zipped = by_batch_zip
    row = zipped[KEYS[name]]
    assert float(row["total"]) == score and row["status"] == extra["status"]
    assert (ZIP_REJECTION.get(name) or rejection or "") in row["reason"]
    # the Gradescope runtime
    doc = by_gradescope(gradescope_root, name)
    assert doc["score"] == score
    assert doc["extra_data"]["status"] == extra["status"]
    assert doc["extra_data"]["graded_file"] == extra["graded_file"]
    if rejection is not None:
        assert rejection in doc["output"]
    # the student's `make check`: the public part
    capsys.readouterr()
    code = main(["check", "hw1", "--dir", str(folder)])
    report = capsys.readouterr().out
    public = public_score(single)
    assert f"Score: {public:g}/" in report
    assert code == (0 if public == sum(t["max_score"] for t in single["tests"]
                                       if t["visibility"] == "visible") else 1)
    if graded_file is not None:
        assert f"{graded_file}, public checks]" in report


def test_student_names_never_shadow_the_batch_files(by_batch_folder):
    out, rows = by_batch_folder
    assert rows["grades.csv"]["total"] == rows["batch.json"]["total"] == "34"
    assert json.loads((out / "batch.json").read_text()) == {"homework": "hw1", "seed": SEED}
    assert (out / "students" / "grades.csv" / "results.json").is_file()
    assert len(rows) == len(FORMS) + 2  # every student has a row


def test_metadata_keys_never_name_anything_outside_the_export(by_batch_zip, world):
    out, rows = by_batch_zip
    for sid in ("abs", "dotdot"):
        assert rows[sid]["status"] == "no_module" and rows[sid]["total"] == "0"
        assert "not a folder name of the export" in rows[sid]["reason"]
    assert rows["unlisted"]["total"] == "34"  # graded, and flagged
    assert "not listed in submission_metadata.yml" in rows["unlisted"]["reason"]
    names = {p.name for p in (out / "students").iterdir()}
    assert not any(n.startswith(".") or "/" in n for n in names)


def _module_imports():
    """{grader module: grader modules it imports at the top level}."""
    import ast
    graph = {}
    base = pathlib.Path(PROJECT_ROOT) / "grader"
    for path in base.rglob("*.py"):
        name = ".".join(("grader",) + path.relative_to(base).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                parts = package.split(".")
                root = ".".join(parts[:len(parts) - node.level + 1]) if node.level else ""
                target = ".".join(p for p in (root, node.module or "") if p)
                edges.add(target)
                edges.update(f"{target}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                edges.update(a.name for a in node.names)
        # `from . import sub` in a package's __init__ names the package itself: no cycle
        graph[name] = {e for e in edges if e.startswith("grader") and e != name}
    return {k: {e for e in v if e in graph} for k, v in graph.items()}


def test_the_import_structure_is_faces_then_grading_then_engine_then_sandbox():
    graph = _module_imports()

    def reaches(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    for name in graph:
        assert name not in reaches(name), f"import cycle through {name}"
    faces = {"grader.commands", "grader.autograder", "grader.notebook", "grader.cli"}
    for low in ("grader.engine", "grader.intake", "grader.submission", "grader.roster"):
        assert not any(m == "grader.grading" or m.split(".")[:2] == ["grader", "commands"]
                       or m in faces for m in reaches(low)), low
    assert "grader.engine" in reaches("grader.grading")
    assert not any(m in faces or m.startswith("grader.commands") for m in
                   reaches("grader.grading"))
    sandbox = {m for m in graph if m.startswith("grader.sandbox")}
    for name in sandbox:
        assert not any(m in ("grader.engine", "grader.grading") for m in reaches(name)), name
