"""A notebook submission grades exactly like the module: magics dropped with a note, failures
reported as "code cell K (`first line`)", a malformed notebook a clear error for that student
only, and with both files the content (never file times) decides."""
import json
import os
import pathlib

import pytest

from grader import homeworks
from grader.homeworks import PROJECT_ROOT
from grader.cli import main
from grader.grading import GradeRequest, grade
from grader.submission import notebook_to_module

from .grading import reference_source

nbgen = pytest.importorskip("grader.nbgen")
HW = homeworks.get("hw1")


def reference_notebook():
    return nbgen.fill(nbgen.build(HW), reference_source(HW))


def cell_number(nb, cell_id):
    """The 1-based position of a cell among the code cells (what the feedback calls code cell K)."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    return next(i for i, c in enumerate(code, start=1) if c.id == cell_id)


def label(nb, cell_id):
    """How the feedback names a code cell: its number among code cells and its first line."""
    cell = next(c for c in nb.cells if c.id == cell_id)
    first = next(ln.strip() for ln in cell.source.splitlines() if ln.strip())
    return f"code cell {cell_number(nb, cell_id)} (`{first}`)"


def position(nb, cell_id):
    """The 0-based index of a cell among all cells."""
    return next(i for i, c in enumerate(nb.cells) if c.id == cell_id)


def grade_submission(hw, submission, *, seed, include_hidden=True):
    """(GradeResult, notes) of a submission graded like every face grades it."""
    graded = grade(GradeRequest(homework=hw, submission=submission, seed=seed,
                                include_hidden=include_hidden))
    return graded.result, list(graded.notes)


def save(folder, nb):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{HW.module}.ipynb"
    path.write_text(nbgen.dumps(nb), encoding="utf-8")
    return folder


def by_check(result):
    return {c.check_id: (c.points, c.status) for c in result.checks}


def test_a_notebook_grades_exactly_like_the_same_code_as_a_module(tmp_path):
    nb_dir = save(tmp_path / "nb", reference_notebook())
    py_dir = tmp_path / "py"
    py_dir.mkdir()
    (py_dir / HW.filename).write_text(reference_source(HW), encoding="utf-8")
    from_nb, notes = grade_submission(HW, str(nb_dir), seed=7)
    from_py, _ = grade_submission(HW, str(py_dir), seed=7)
    assert by_check(from_nb) == by_check(from_py)
    assert from_nb.score == from_nb.max_score and notes == []


def test_magics_and_shell_escapes_are_dropped_with_a_note(tmp_path):
    nb = reference_notebook()
    imports = next(c for c in nb.cells if c.id == "imports")
    imports.source = "%matplotlib inline\n  !pip install scipy\n" + imports.source
    code = next(c for c in nb.cells if c.id == "code-gaussian_marginal")
    code.source = "%load_ext autoreload\n" + code.source
    timing = nbgen.nbformat.v4.new_code_cell("%%timeit\nraise RuntimeError('never runs')",
                                             id="timing")
    nb.cells.insert(position(nb, "code-gaussian_marginal") + 1, timing)
    folder = save(tmp_path / "s", nb)
    result, notes = grade_submission(HW, str(folder), seed=3, include_hidden=False)
    assert result.import_status == "ok" and result.score == result.max_score
    n_imports, n_code = cell_number(nb, "imports"), cell_number(nb, "code-gaussian_marginal")
    assert notes == [f"code cell {n_imports}: dropped line '%matplotlib inline'",
                     f"code cell {n_imports}: dropped line '!pip install scipy'",
                     f"code cell {n_code}: dropped line '%load_ext autoreload'",
                     f"code cell {n_code + 1}: dropped (cell magic %%timeit)"]
    out = tmp_path / "results.json"
    assert main(["grade", "hw1", str(folder), "--out", str(out), "--quiet", "--public-only"]) == 0
    feedback = json.loads(out.read_text())["output"]
    assert feedback.count(f"code cell {n_imports}: dropped line '%matplotlib inline'") == 1


def test_notebook_api_lines_are_not_part_of_the_graded_module():
    path = nbgen.assignment_path(HW, "ipynb")
    module = notebook_to_module(pathlib.Path(path).read_bytes(), str(path))
    assert "Notebook" not in module.source and ".check" not in module.source
    assert "import numpy as np" in module.source and module.notes == []


def test_a_cell_that_fails_at_top_level_is_named_by_its_number(tmp_path):
    nb = reference_notebook()
    cell = next(c for c in nb.cells if c.id == "code-mixture_logpdf")
    cell.source += "\n\nweights = np.ones(3) / 3\nprint(undefined_name)\n"
    result, _ = grade_submission(HW, str(save(tmp_path / "s", nb)), seed=1,
                                 include_hidden=False)
    n = label(nb, "code-mixture_logpdf")
    assert result.score == 0 and result.import_status == "import_failed"
    assert result.import_message.startswith(f"{n} failed at top level: NameError")
    assert {c.status for c in result.checks} == {"import_failed"}
    assert all(f"{n} failed" in c.message for c in result.checks)
    lines = cell.source.count("\n") + 1
    assert f"{n}, line {lines - 1}" in result.import_where


def test_a_syntax_error_is_named_by_its_cell(tmp_path):
    nb = reference_notebook()
    cell = next(c for c in nb.cells if c.id == "code-gaussian_marginal")
    cell.source = cell.source.replace("def gaussian_marginal(mu, Sigma, idx):",
                                      "def gaussian_marginal(mu, Sigma, idx)")
    result, _ = grade_submission(HW, str(save(tmp_path / "s", nb)), seed=1,
                                 include_hidden=False)
    n = label(nb, "code-gaussian_marginal")
    assert result.score == 0
    assert result.import_message.startswith(f"{n} failed at top level: SyntaxError")
    assert f"({n}, line 1)" in result.import_message


def test_an_error_inside_an_exercise_points_at_its_cell(tmp_path):
    nb = reference_notebook()
    cell = next(c for c in nb.cells if c.id == "code-gaussian_marginal")
    cell.source = "def gaussian_marginal(mu, Sigma, idx):\n    x = 1\n    return mu[idx] / 0 + q\n"
    result, _ = grade_submission(HW, str(save(tmp_path / "s", nb)), seed=1,
                                 include_hidden=False)
    n = label(nb, "code-gaussian_marginal")
    assert n.endswith("(`def gaussian_marginal(mu, Sigma, idx):`)")
    failed = [c for c in result.checks if c.exercise == "gaussian_marginal"]
    assert failed and all(c.status == "error" and c.points == 0 for c in failed)
    assert f"{n}, line 3, in gaussian_marginal" in failed[0].where
    assert result.score == result.max_score - sum(c.max_points for c in failed)


MALFORMED = {
    "not json": "{ this is not json",
    "no cells": json.dumps({"nbformat": 4, "metadata": {}}),
    "a cell that is not a cell": json.dumps({"nbformat": 4, "cells": [1, 2]}),
    "source of the wrong type": json.dumps({"nbformat": 4, "cells": [
        {"cell_type": "code", "source": {"x": 1}}]}),
    "not text": b"\xff\xfe\x00garbage",
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_a_malformed_notebook_is_a_clear_error_for_that_student_only(kind, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    content = MALFORMED[kind]
    target = bad / f"{HW.module}.ipynb"
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    good = save(tmp_path / "good", reference_notebook())
    scores = {}
    for name, folder in (("bad", bad), ("good", good)):
        out = tmp_path / f"{name}.json"
        code = main(["grade", "hw1", str(folder), "--out", str(out), "--quiet",
                     "--public-only", "--seed", "1"])
        assert code == 0
        scores[name] = json.loads(out.read_text())
    assert scores["bad"]["score"] == 0
    assert target.name in scores["bad"]["output"]
    assert all(target.name in t["output"] for t in scores["bad"]["tests"])
    assert scores["good"]["score"] == sum(t["max_score"] for t in scores["good"]["tests"]) > 0


def test_with_both_files_modified_both_are_graded_and_the_higher_score_stands(tmp_path):
    folder = save(tmp_path / "s", reference_notebook())
    py = folder / HW.filename
    py.write_text("raise SystemExit('old module')\n", encoding="utf-8")
    nb_path = folder / f"{HW.module}.ipynb"
    for stamps in (((1_000_000, 1_000_000), (1_000, 1_000)),
                   ((1_000, 1_000), (1_000_000, 1_000_000))):  # file times never decide
        os.utime(py, stamps[0])
        os.utime(nb_path, stamps[1])
        graded = grade(GradeRequest(homework=HW, submission=str(folder), seed=1,
                                    include_hidden=False))
        assert graded.result.score == graded.result.max_score > 0
        assert graded.graded_file == nb_path.name
        assert "both were graded" in graded.notes[-1] and "the higher score stands" in \
            graded.notes[-1]


def test_in_a_batch_a_malformed_notebook_costs_only_its_student(tmp_path):
    import csv
    klass = tmp_path / "class"
    save(klass / "ann", reference_notebook())
    (klass / "ben").mkdir(parents=True)
    (klass / "ben" / f"{HW.module}.ipynb").write_text('{"cells": [oops', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["batch", "hw1", str(klass), "--out", str(out), "--jobs", "1", "--no-progress",
                 "--seed", "2"]) == 0
    with open(out / "grades.csv", encoding="utf-8", newline="") as fh:
        rows = {row["id"]: row for row in csv.DictReader(fh)}
    assert rows["ann"]["total"] == rows["ann"]["max"] and float(rows["ann"]["max"]) > 0
    assert rows["ben"]["total"] == "0" and "not a readable notebook" in rows["ben"]["reason"]


def test_with_both_files_an_untouched_stub_module_never_wins(tmp_path):
    folder = save(tmp_path / "s", reference_notebook())
    py = folder / HW.filename
    py.write_text((pathlib.Path(PROJECT_ROOT) / "assignments" / HW.filename).read_text(),
                  encoding="utf-8")
    os.utime(folder / f"{HW.module}.ipynb", (1_000, 1_000))  # even when saved first
    result, notes = grade_submission(HW, str(folder), seed=1, include_hidden=False)
    assert result.score == result.max_score > 0
    assert notes[0].endswith(f"graded {HW.module}.ipynb, {HW.filename} is the unchanged stub")


def test_the_notebook_api_shows_conversion_notes_once(tmp_path):
    from grader.notebook import Notebook
    nb = reference_notebook()
    imports = next(c for c in nb.cells if c.id == "imports")
    imports.source = "%matplotlib inline\n" + imports.source
    path = save(tmp_path / "s", nb) / f"{HW.module}.ipynb"
    grader = Notebook("hw1", path=str(path))
    first = grader.check("gaussian_marginal")
    second = grader.check("gaussian_logpdf")
    assert first.passed and second.passed
    note = f"code cell {cell_number(nb, 'imports')}: dropped line '%matplotlib inline'"
    assert note in first.summary and note not in second.summary


@pytest.mark.parametrize("solved", ["py", "ipynb"])
def test_in_the_working_copy_the_file_worked_on_is_graded(solved, tmp_path, monkeypatch):
    """`make check` on assignments/ itself: the stub file there is the student's own file,
    so an exercise counts as untouched while it still ends in `raise NotImplementedError`."""
    from grader import intake
    work = tmp_path / "assignments"
    work.mkdir()
    stub_py = (pathlib.Path(PROJECT_ROOT) / "assignments" / HW.filename).read_text()
    stub_nb = (pathlib.Path(PROJECT_ROOT) / "assignments" / f"{HW.module}.ipynb").read_text()
    (work / HW.filename).write_text(reference_source(HW) if solved == "py" else stub_py)
    (work / f"{HW.module}.ipynb").write_text(
        nbgen.dumps(reference_notebook()) if solved == "ipynb" else stub_nb)
    monkeypatch.setattr(intake, "PROJECT_ROOT", str(tmp_path))  # the release's layout
    found = intake.resolve(HW, str(work))
    name = HW.filename if solved == "py" else f"{HW.module}.ipynb"
    assert [c.name for c in found.candidates] == [name]
    assert found.notes[0].endswith("is the unchanged stub") and f"graded {name}" in found.notes[0]
