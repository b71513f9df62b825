"""Student notebooks: generated from the modules, fresh, and their check cells work in Jupyter."""
import json
import os
import re

import pytest

from grader import homeworks
from grader.homeworks import PROJECT_ROOT
from grader.notebook import Notebook

from .grading import reference_source

nbformat = pytest.importorskip("nbformat")
nbgen = pytest.importorskip("grader.nbgen")

HOMEWORKS = list(homeworks.HOMEWORKS.values())
SCORE = re.compile(r"Score: (\S+)/(\S+)")


@pytest.mark.parametrize("hw", HOMEWORKS, ids=lambda hw: hw.id)
def test_committed_notebook_is_up_to_date_with_its_module(hw):
    path = nbgen.assignment_path(hw, "ipynb")
    assert os.path.exists(path), f"{path} is missing: run `make notebooks`"
    with open(path, encoding="utf-8") as fh:
        assert fh.read() == nbgen.dumps(nbgen.build(hw)), \
            f"{path} is stale: run `make notebooks` and commit it"


@pytest.mark.parametrize("hw", HOMEWORKS, ids=lambda hw: hw.id)
def test_one_stub_cell_per_exercise_and_a_check_cell_per_publicly_checked_one(hw):
    nb = nbgen.build(hw)
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    names = [node.name for node in nbgen.exercises_of(hw)]   # the stubs, in module order
    public = nbgen.checked_exercises(hw)
    assert public <= set(names), "every publicly checked exercise is a stub of the module"
    checks = [c.source for c in nb.cells if c.id.startswith("check-")]
    assert checks == [f'grader.check("{n}")' for n in names if n in public]
    for name in names:
        stub = next(c for c in nb.cells if c.id == f"code-{name}").source
        assert stub.startswith((f"def {name}(", f"class {name}(")) \
            and "raise NotImplementedError" in stub
        doc = next(c for c in nb.cells if c.id == f"doc-{name}")
        assert doc.cell_type == "markdown" and f"`{name}`" in doc.source


def test_generation_is_deterministic():
    hw = homeworks.get("hw1")
    assert nbgen.dumps(nbgen.build(hw)) == nbgen.dumps(nbgen.build(hw))


def test_notebooks_command_reports_a_stale_notebook(tmp_path, monkeypatch, capsys):
    from grader.cli import main
    hw = homeworks.get("hw1")
    monkeypatch.setattr(nbgen, "assignment_path",
                        lambda h, ext="py": str(tmp_path / f"{h.module}.{ext}") if ext == "ipynb"
                        else os.path.join(PROJECT_ROOT, "assignments", f"{h.module}.{ext}"))
    assert main(["notebooks", "hw1", "--verify"]) == 1
    assert "stale notebooks for hw1" in capsys.readouterr().out
    assert main(["notebooks", "hw1"]) == 0
    assert main(["notebooks", "hw1", "--verify"]) == 0
    assert (tmp_path / f"{hw.module}.ipynb").exists()


# --- the notebook API, without Jupyter ------------------------------------------------------

def _save(path, nb):
    path.write_text(nbgen.dumps(nb), encoding="utf-8")
    return path


def test_api_checks_the_saved_notebook_like_make_check(tmp_path):
    hw = homeworks.get("hw1")
    path = _save(tmp_path / f"{hw.module}.ipynb",
                 nbgen.fill(nbgen.build(hw), reference_source(hw)))
    grader = Notebook("hw1", path=str(path))
    one = grader.check("gaussian_conditional")
    assert one.passed and one.score == one.possible == 2
    assert "PASS  gaussian_conditional" in one.summary
    assert {c.exercise for c in one.result.checks} == {"gaussian_conditional"}
    every = grader.check_all()
    assert every.passed and {c.public for c in every.result.checks} == {True}
    _save(path, nbgen.build(hw))
    stub = grader.check("gaussian_marginal")
    assert stub.score == 0 and "not implemented yet" in stub.summary


def test_api_shows_the_rerun_line_and_reruns_one_case(tmp_path):
    hw = homeworks.get("hw1")
    nb = nbgen.fill(nbgen.build(hw), reference_source(hw))
    cell = next(c for c in nb.cells if c.id == "code-gaussian_marginal")
    cell.source = ("def gaussian_marginal(mu, Sigma, idx):\n"
                   "    return mu[sorted(idx)], Sigma[np.ix_(sorted(idx), sorted(idx))]\n")
    path = _save(tmp_path / f"{hw.module}.ipynb", nb)
    grader = Notebook("hw1", path=str(path))
    result = grader.check("gaussian_marginal")
    assert result.score == 0 and "mu_a entry" in result.summary
    rerun = re.search(r"rerun this case: (grader\.check\(.*\))", result.summary).group(1)
    again = eval(rerun, {"grader": grader})  # noqa: S307 - the line the student copies
    assert again.result.checks[0].n_cases == 1 and again.score == 0


def test_api_names_a_missing_notebook(tmp_path):
    with pytest.raises(FileNotFoundError, match="save the notebook"):
        Notebook("hw1", path=str(tmp_path / "nowhere.ipynb")).check("gaussian_logpdf")


# --- executed in a real kernel (nbclient) ---------------------------------------------------

def _execute(nb, folder, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PYTHONPATH", PROJECT_ROOT)  # the kernel imports `grader` from here
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    return nb


def _check_outputs(nb):
    """{exercise: text shown by its check cell}."""
    out = {}
    for cell in nb.cells:
        if cell.id.startswith("check-") or cell.id == "all-check":
            texts = [o.get("data", {}).get("text/plain", "") + o.get("text", "")
                     for o in cell.outputs]
            out[cell.id.split("-", 1)[1]] = "".join(texts)
    return out


@pytest.mark.parametrize("hw", HOMEWORKS, ids=lambda hw: hw.id)
def test_executed_notebook_with_the_reference_passes_every_check_cell(hw, tmp_path, monkeypatch):
    nb = nbgen.fill(nbgen.build(hw), reference_source(hw))
    _save(tmp_path / f"{hw.module}.ipynb", nb)
    outputs = _check_outputs(_execute(nb, tmp_path, monkeypatch))
    assert set(outputs) == nbgen.checked_exercises(hw) | {"check"}
    for name, text in outputs.items():
        got, best = SCORE.search(text).groups()
        assert got == best and float(best) > 0, f"{name}:\n{text}"
        assert "WARNING" not in text


@pytest.mark.parametrize("hw", HOMEWORKS, ids=lambda hw: hw.id)
def test_executed_notebook_with_the_stubs_reports_not_implemented(hw, tmp_path, monkeypatch):
    nb = nbgen.build(hw)
    _save(tmp_path / f"{hw.module}.ipynb", nb)
    outputs = _check_outputs(_execute(nb, tmp_path, monkeypatch))
    for name, text in outputs.items():
        got, best = SCORE.search(text).groups()
        assert float(got) == 0 and float(best) > 0, f"{name}:\n{text}"
        assert "not implemented yet" in text and "PASS" not in text and "FAIL" not in text


def test_kernel_code_that_is_not_saved_yet_gets_a_warning(tmp_path, monkeypatch):
    hw = homeworks.get("hw1")
    _save(tmp_path / f"{hw.module}.ipynb", nbgen.build(hw))          # saved: the stubs
    nb = nbgen.fill(nbgen.build(hw), reference_source(hw))           # run: the reference
    text = _check_outputs(_execute(nb, tmp_path, monkeypatch))["gaussian_logpdf"]
    assert "not implemented yet" in text
    assert "WARNING" in text and "save the notebook" in text


def test_api_finds_the_notebook_jupyter_runs_and_warns_about_its_name(tmp_path, monkeypatch):
    hw = homeworks.get("hw1")
    path = _save(tmp_path / "hw1_gaussians (1).ipynb", nbgen.build(hw))
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    result = Notebook("hw1").check("gaussian_logpdf")
    assert result.score == 0 and "not implemented yet" in result.summary
    assert "submit it as hw1_gaussians.ipynb" in result.summary
