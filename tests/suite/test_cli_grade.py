"""`python -m grader grade` end to end: results.json schema, seeds, exit codes, bad input."""
import json
import os

import pytest

from grader.cli import main
from grader.homeworks import PROJECT_ROOT

from .grading import student_check_imports_torch

EXAMPLES = os.path.join(PROJECT_ROOT, "examples", "hw1")
SPEC_NAMES = {"gaussian_logpdf", "gaussian_marginal", "gaussian_conditional", "mixture_logpdf",
              "mixture_responsibilities", "mixture_sample"}


def grade(tmp_path, submission, *extra):
    out = tmp_path / "results.json"
    code = main(["grade", "hw1", str(submission), "--out", str(out), "--quiet", *extra])
    return code, (json.loads(out.read_text()) if out.exists() else None)


def validate_gradescope(doc):
    """The fields and types Gradescope reads from results.json."""
    assert isinstance(doc["score"], (int, float))
    assert doc["tests"], "no tests"
    for t in doc["tests"]:
        assert set(t) >= {"name", "score", "max_score", "output", "visibility"}
        assert t["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
        assert 0 <= t["score"] <= t["max_score"] and t["max_score"] > 0
        assert isinstance(t["output"], str) and isinstance(t["name"], str)
    assert abs(sum(t["score"] for t in doc["tests"]) - doc["score"]) < 1e-9


def test_reference_results_json_follows_the_schema_and_names_the_exercises(tmp_path):
    code, doc = grade(tmp_path, os.path.join(EXAMPLES, "reference"), "--seed", "17")
    assert code == 0
    validate_gradescope(doc)
    assert doc["score"] == sum(t["max_score"] for t in doc["tests"])
    assert {t["name"].split(":")[0] for t in doc["tests"]} == SPEC_NAMES
    assert doc["extra_data"]["seed"] == 17 and "--seed 17" in doc["output"]
    public = [t for t in doc["tests"] if t["visibility"] == "visible"]
    hidden = [t for t in doc["tests"] if t["visibility"] != "visible"]
    assert public and hidden
    assert all(t["visibility"] == "after_due_date" for t in hidden)


def test_a_regrade_with_the_recorded_seed_reproduces_the_same_results(tmp_path):
    _, first = grade(tmp_path, os.path.join(EXAMPLES, "buggy"))
    seed = first["extra_data"]["seed"]
    (tmp_path / "results.json").unlink()
    _, again = grade(tmp_path, os.path.join(EXAMPLES, "buggy"), "--seed", str(seed))
    strip = lambda d: [(t["name"], t["score"], t["output"]) for t in d["tests"]]  # noqa: E731
    assert strip(first) == strip(again)
    assert 0 < first["score"] < sum(t["max_score"] for t in first["tests"])


def test_stubs_get_zero_and_not_implemented(tmp_path):
    code, doc = grade(tmp_path, os.path.join(EXAMPLES, "stubs"), "--seed", "1")
    assert code == 0 and doc["score"] == 0
    assert all(t["output"] == "not implemented yet" for t in doc["tests"])


def test_failure_output_names_case_entry_tolerance_and_rerun_command(tmp_path):
    _, doc = grade(tmp_path, os.path.join(EXAMPLES, "buggy"), "--seed", "5")
    failed = next(t for t in doc["tests"] if t["name"].startswith("gaussian_conditional")
                  and t["score"] == 0)
    out = failed["output"]
    assert "case '" in out and "entry [" in out and "expected" in out and "got" in out
    assert "tolerance" in out
    assert "rerun this case: python -m grader grade hw1" in out and "--seed 5" in out


def test_folder_without_the_module_scores_zero_and_still_writes_results(tmp_path):
    empty = tmp_path / "student"
    empty.mkdir()
    (empty / "notes.txt").write_text("I forgot the homework")
    code, doc = grade(tmp_path, empty, "--seed", "1")
    assert code == 0 and doc["score"] == 0
    assert "hw1_gaussians.py" in doc["tests"][0]["output"]


def test_import_failure_still_writes_results(tmp_path):
    sub = tmp_path / "student"
    sub.mkdir()
    (sub / "hw1_gaussians.py").write_text("raise RuntimeError('boom at import')\n")
    code, doc = grade(tmp_path, sub, "--seed", "1")
    assert code == 0 and doc["score"] == 0
    assert "boom at import" in doc["tests"][0]["output"]


def test_missing_submission_path_is_an_error_naming_it(tmp_path, capsys):
    code, doc = grade(tmp_path, tmp_path / "nope")
    assert code == 1 and doc is None
    assert "nope" in capsys.readouterr().err


def test_unknown_homework_is_an_error(capsys):
    assert main(["grade", "hw99", ".", "--out", os.devnull]) == 1
    assert "unknown homework" in capsys.readouterr().err


def test_replaying_one_case_runs_only_that_case(tmp_path):
    code, doc = grade(tmp_path, os.path.join(EXAMPLES, "buggy"), "--seed", "5", "--only",
                      "gaussian_conditional/conditions-on-a-subset", "--case", "a=[0] b=[2]")
    assert code == 0 and len(doc["tests"]) == 1 and doc["tests"][0]["score"] == 0


@pytest.mark.parametrize("hw", ["hw1", "hw2", "hw3", "hw4", "hw5"])  # numpy homework: no torch
def test_student_check_does_not_import_torch(hw):
    assert not student_check_imports_torch(hw)


def test_public_data_is_up_to_date():
    assert main(["public-data", "--verify"]) == 0


def test_demo_grades_every_example_and_skips_torch_homeworks_without_torch(tmp_path, capsys,
                                                                           monkeypatch):
    import importlib.util
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "torch" else real_find_spec(name, *a))
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "hw3: skipped, grading it needs torch" in out and "hw6: skipped" in out
    summary = out.split("\nSummary\n")[1]
    for hw_id in ("hw1", "hw2", "hw4", "hw5"):
        scores = {}
        for kind in ("reference", "stubs", "buggy"):
            line = next(l for l in summary.splitlines() if l.split()[:2] == [hw_id, kind])
            scores[kind] = float(line.split()[2]), float(line.split()[4])
            doc = json.loads((tmp_path / hw_id / kind / "results.json").read_text())
            assert doc["score"] == scores[kind][0]
        assert scores["reference"][0] == scores["reference"][1] > 0
        assert scores["stubs"][0] == 0
        assert 0 < scores["buggy"][0] < scores["buggy"][1]


@pytest.mark.parametrize("kind, source", [("reference", "solutions"), ("stubs", "assignments")])
def test_the_example_copies_are_the_current_reference_and_stubs(kind, source):
    """examples/hwN/{reference,stubs} are regular files (links are never graded), so they
    are copies: after editing solutions/ or assignments/, copy the file there again."""
    from grader import homeworks
    for hw in homeworks.HOMEWORKS.values():
        copy = os.path.join(PROJECT_ROOT, "examples", hw.id, kind, hw.filename)
        with open(copy, "rb") as mine, \
                open(os.path.join(PROJECT_ROOT, source, hw.filename), "rb") as real:
            assert mine.read() == real.read(), f"copy {source}/{hw.filename} to {copy}"


def test_check_exits_1_when_a_check_fails_like_pytest(tmp_path, capsys):
    (tmp_path / "hw1_gaussians.py").write_text(open(os.path.join(EXAMPLES, "buggy",
                                                                 "hw1_gaussians.py")).read())
    assert main(["check", "hw1", "--dir", str(tmp_path), "--only", "gaussian_conditional"]) == 1
    assert main(["check", "hw1", "--dir", str(tmp_path), "--only", "gaussian_logpdf"]) == 0
    assert "[" + os.path.relpath(tmp_path / "hw1_gaussians.py") + ", public checks]" in \
        capsys.readouterr().out


def test_an_unwritable_out_is_refused_before_grading(tmp_path, capsys, monkeypatch):
    from grader import grading
    graded = []
    monkeypatch.setattr(grading.engine, "grade", lambda request: graded.append(request))
    assert main(["grade", "hw1", os.path.join(EXAMPLES, "reference"), "--out",
                 str(tmp_path)]) == 1  # a folder, not a file
    assert "is a folder" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["grade", "hw1", os.path.join(EXAMPLES, "reference"), "--out",
                 str(blocker / "results.json")]) == 1
    assert "not a folder" in capsys.readouterr().err
    assert graded == []  # nothing was graded
