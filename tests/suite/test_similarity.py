"""Code similarity: a disguised copy (names renamed, comments changed, functions reordered)
planted in a class of independent hw5 solutions is the top pair, and no pair of
independent solutions reaches the threshold; notebooks compare by their code cells; the
batch and report commands write similarity.csv and a side-by-side section."""
import csv
import json
import os
import pathlib

import pytest

pytest.importorskip("copydetect")

from grader import similarity  # noqa: E402
from grader.cli import main  # noqa: E402
from grader.homeworks import PROJECT_ROOT  # noqa: E402
from tests.suite.grading import grade_text  # noqa: E402

HW5 = "hw5_structure"
DATA = pathlib.Path(__file__).parent / "data" / "similarity"
INDEPENDENT = ["alice", "bob", "carol", "dmitri", "erin"]
COPY = "carol_renamed"


def source(name):
    return (DATA / f"hw5_{name}.py").read_text(encoding="utf-8")


def stub():
    return (pathlib.Path(PROJECT_ROOT) / "assignments" / f"{HW5}.py").read_text()


@pytest.mark.parametrize("name", INDEPENDENT + [COPY])
def test_every_fixture_is_a_correct_solution(name):
    result = grade_text("hw5", source(name), seed=11)
    assert result.score == result.max_score, [c.check_id for c in result.checks if not c.passed]


def test_the_disguised_copy_is_the_top_pair_and_no_independent_pair_reaches_the_threshold():
    sources = {name: source(name) for name in INDEPENDENT + [COPY]}
    reference = (pathlib.Path(PROJECT_ROOT) / "solutions" / f"{HW5}.py").read_text()
    sources["reference"] = reference
    pairs, docs = similarity.similar_pairs(sources, stub(), threshold=0.0)
    assert len(docs) == len(sources)
    top = pairs[0]
    assert {top.a, top.b} == {"carol", COPY}
    assert top.score >= 0.8 and min(top.share_a, top.share_b) >= 0.7
    independent = [p for p in pairs if {p.a, p.b} != {"carol", COPY}]
    assert all(p.score < similarity.THRESHOLD for p in independent), [
        (p.a, p.b, round(p.score, 2)) for p in independent]
    listed, _ = similarity.similar_pairs(sources, stub())
    assert [(p.a, p.b) for p in listed] == [(top.a, top.b)]


def test_fingerprints_made_in_several_processes_match_each_other(monkeypatch):
    """copydetect hashes with Python's per-process salted hash(): a big class is split over
    processes, which must agree, or a copy split across two of them goes unseen; and the
    scores are the same from run to run."""
    sources = {f"{name}{i}": source(name) for i in range(3) for name in ("carol", "bob")}
    monkeypatch.setattr(similarity, "FILES_PER_PROCESS", 2)
    parallel, docs = similarity.similar_pairs(sources, stub(), jobs=3)
    serial, _ = similarity.similar_pairs(sources, stub(), jobs=1)
    assert [(p.a, p.b, round(p.score, 6)) for p in parallel] == [
        (p.a, p.b, round(p.score, 6)) for p in serial]
    assert len(parallel) == 6 and [d.key for d in docs] == list(sources)  # 3 + 3 copies


def test_the_released_stub_is_boilerplate():
    """Two submissions that only fill one function each share the stub's docstrings and
    signatures: without the stub as boilerplate they would look alike."""
    filled_a = stub().replace('    """Free parameters of the full joint table', '    """x', 1)
    filled_b = stub() + "\n\ndef helper(cards):\n    return sorted(cards)\n"
    alike, _ = similarity.similar_pairs({"a": filled_a, "b": filled_b}, "", threshold=0.5)
    assert alike  # the stub itself is most of both files
    apart, _ = similarity.similar_pairs({"a": filled_a, "b": filled_b}, stub(), threshold=0.5)
    assert not apart


def test_a_notebook_is_compared_by_its_code_cells(tmp_path):
    code = source("carol")
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# HW5\nmy answers"}]
    for chunk in code.split("\n\n\n"):
        cells.append({"cell_type": "code", "metadata": {}, "outputs": [],
                      "execution_count": None, "source": "%load_ext autoreload\n" + chunk})
    path = tmp_path / f"{HW5}.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4,
                                "nbformat_minor": 5}))
    converted = similarity.module_code(str(path))
    assert "%load_ext" not in converted and "def n_params_bayes_net" in converted
    pairs, _ = similarity.similar_pairs({"nb": converted, "copy": source(COPY)}, stub())
    assert pairs and pairs[0].score >= 0.8


def test_csv_lists_the_pairs_with_their_scores():
    pairs, _ = similarity.similar_pairs({n: source(n) for n in ("carol", COPY, "bob")}, stub())
    rows = list(csv.DictReader(similarity.csv_text(pairs).splitlines()))
    assert [(r["a"], r["b"]) for r in rows] == [("carol", COPY)]
    assert float(rows[0]["score"]) == pytest.approx(pairs[0].score, abs=1e-3)


def test_report_similarity_writes_the_csv_and_a_side_by_side_section(tmp_path):
    pytest.importorskip("matplotlib")
    subs, out = tmp_path / "class", tmp_path / "out"
    for name in INDEPENDENT + [COPY]:
        folder = subs / name
        folder.mkdir(parents=True)
        (folder / f"{HW5}.py").write_text(source(name))
    assert main(["batch", "hw5", str(subs), "--out", str(out), "--seed", "1", "--jobs", "2",
                 "--no-progress", "--similarity"]) == 0
    grades = (out / "grades.csv").read_text()
    rows = list(csv.DictReader((out / "similarity.csv").read_text().splitlines()))
    assert [(r["a"], r["b"]) for r in rows] == [("carol", COPY)]
    html = (out / "report.html").read_text()
    assert 'data-a="carol" data-b="carol_renamed"' in html
    assert html.count("<mark>") >= 4 and "def n_params_bayes_net" in html
    assert "as_int_list" in html  # the copy's own code, shown beside carol's
    (out / "similarity.csv").unlink()
    assert main(["report", str(out), "--similarity"]) == 0
    assert (out / "similarity.csv").exists()
    assert (out / "grades.csv").read_text() == grades  # similarity never changes a grade
    for key in INDEPENDENT:
        assert os.path.exists(out / key / "results.json") or os.path.exists(
            out / "students" / key / "results.json")


def test_highlighted_code_is_escaped_around_and_inside_the_marks():
    import numpy as np
    code = "x = '</pre><script>alert(1)</script>'\ny = 1 < 2\n"
    start = code.index("<script>")
    html = str(similarity.highlighted(code, np.array([[start], [start + 20]])))
    assert "<script>" not in html and "</pre>" not in html
    assert html.count("<mark>") == 1 and "&lt;script&gt;" in html and "1 &lt; 2" in html
    assert str(similarity.highlighted(code, np.zeros((2, 0), dtype=int))).count("&lt;") == 4
