"""`python -m grader release`: the student release holds what `make check` needs and nothing
of the secret side (reference solutions, hidden checks, their expected values)."""
import json
import os
import shutil
import site
import subprocess
import sys

import pytest

from grader import homeworks
from grader.cli import main
from grader.commands import release
from grader.homeworks import PROJECT_ROOT

HWS = list(homeworks.HOMEWORKS.values())


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    dest = tmp_path_factory.mktemp("release") / "student"
    assert main(["release", "--out", str(dest)]) == 0
    return dest


def files_of(dest):
    return {os.path.relpath(os.path.join(here, name), dest)
            for here, _, names in os.walk(dest) for name in names}


def test_the_release_holds_the_student_side(student):
    files = files_of(student)
    for hw in HWS:
        assert f"assignments/{hw.filename}" in files
        assert f"tests/public/{hw.filename}" in files
        assert f"tests/public/data/{hw.module}.json" in files
        assert f"assignments/{hw.module}.ipynb" in files  # the notebook for Jupyter users
    assert {"Makefile", "pyproject.toml", "README.md", "grader/cli.py", "grader/engine.py",
            "grader/sandbox/worker.py"} <= files


def test_nothing_of_the_secret_side_is_in_the_release(student):
    files = files_of(student)
    assert not any(f.startswith(("solutions/", "tests/hidden/", "examples/", "tests/suite/"))
                   for f in files)
    assert not {f for hw in HWS for f in hw.grader_data_files} & files  # e.g. held-out digits
    secret = {}
    for folder in ("solutions", "tests/hidden"):
        for name in os.listdir(os.path.join(PROJECT_ROOT, folder)):
            if name.endswith(".py") and name != "__init__.py":
                with open(os.path.join(PROJECT_ROOT, folder, name), encoding="utf-8") as fh:
                    secret[f"{folder}/{name}"] = fh.read()
    everything = ""
    for rel in files:
        with open(os.path.join(student, rel), encoding="utf-8", errors="replace") as fh:
            everything += fh.read() + "\n"
    for path, text in secret.items():
        assert text not in everything, path
    flat = release._normalized(everything)
    for hw in HWS:
        bodies = release.reference_bodies(hw)
        assert bodies, "the reference has function bodies to look for"
        for name, body in bodies.items():
            assert body not in flat, f"the body of {hw.module}.{name} is in the release"
    assert release.leaks(student, HWS) == []


def test_the_leak_check_finds_a_planted_copy(student, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(student, copy)
    hw = HWS[0]
    with open(os.path.join(PROJECT_ROOT, "solutions", hw.filename), encoding="utf-8") as fh:
        reference = fh.read()
    (copy / "grader" / "hint.py").write_text("# tidied up\n" + "\n".join(
        "    " + line for line in reference.splitlines()))
    problems = release.leaks(copy, HWS)
    assert any("grader/hint.py: the body of the reference" in p for p in problems)
    (copy / "notes.py").write_text(reference)
    assert any("notes.py: a copy of solutions" in p for p in release.leaks(copy, HWS))


def test_an_exercise_left_solved_in_the_stub_is_a_leak(student, tmp_path):
    """The classic release accident: one stub still holds the reference's body."""
    copy = tmp_path / "copy"
    shutil.copytree(student, copy)
    hw = HWS[0]
    exercises = {c.exercise for c in homeworks.load_checks(hw, include_hidden=True)}
    name, body = next((n, b) for n, b in release.reference_bodies(hw).items()
                      if n.split(".")[0] in exercises)
    stub = copy / "assignments" / hw.filename
    stub.write_text(stub.read_text() + "\n\ndef forgotten():\n" + "\n".join(
        "    " + line for line in body.splitlines()) + "\n")
    assert any(f"assignments/{hw.filename}: the body of the reference {hw.module}.{name}" in p
               for p in release.leaks(copy, HWS))
    stub.write_text(stub.read_text().split("\n\ndef forgotten():")[0])
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [],
                           "execution_count": None,
                           "source": [line + "\n" for line in body.splitlines()]}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (copy / "assignments" / (hw.module + ".ipynb")).write_text(json.dumps(notebook, indent=1))
    assert any(f"assignments/{hw.module}.ipynb: the body of the reference" in p
               for p in release.leaks(copy, HWS))


def fresh_venv(folder):
    """A venv without pip whose packages are the project's (offline): a .pth to them."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder / ".venv")], check=True)
    packages = [p for p in site.getsitepackages() if os.path.isdir(p)]
    target = next((folder / ".venv" / "lib").glob("python*")) / "site-packages"
    (target / "project-packages.pth").write_text("\n".join(packages) + "\n")


def make_check(folder):
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", NO_COLOR="1")
    env.pop("PYTHONPATH", None)
    return subprocess.run(["make", "--no-print-directory", "check", "PYTHON=true"],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_check_works_in_the_release_from_a_fresh_venv(student, tmp_path):
    work = tmp_path / "student"
    shutil.copytree(student, work)
    fresh_venv(work)
    done = make_check(work)
    assert done.returncode == 2, done.stdout + done.stderr  # checks fail: `make` reports it
    assert (work / ".venv" / ".core").exists()  # `pip install .` of the student pyproject ran
    out = done.stdout
    assert "not implemented yet" in out and " PASS " not in out and " FAIL " not in out
    assert out.count("Score: 0/") == len(HWS)
    hw = HWS[0]  # a completed homework passes every public check from the shipped data alone
    shutil.copyfile(os.path.join(PROJECT_ROOT, "solutions", hw.filename),
                    work / "assignments" / hw.filename)
    done = make_check(work)
    assert done.returncode == 2 and " TODO " not in done.stdout.split(hw.id + " —", 1)[1] \
        .split("Score:", 1)[0], done.stdout


def test_release_refuses_to_overwrite_a_folder_that_is_not_a_release(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["release", "--out", str(tmp_path)]) == 1
    assert (tmp_path / "mine.txt").exists()


@pytest.mark.parametrize("hw", HWS, ids=[hw.id for hw in HWS])
def test_a_release_of_one_homework_holds_every_module_its_checks_import(hw, tmp_path):
    dest = tmp_path / "student"
    assert main(["release", hw.id, "--out", str(dest)]) == 0
    code = (f"import sys; sys.path.insert(0, '.'); import tests.public.{hw.module} as m; "
            "print(len(m.checks.checks))")
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=dest, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and int(done.stdout) > 0, done.stderr
    assert not (dest / "tests" / "hidden").exists()


@pytest.mark.parametrize("hw_id, wants_torch", [("hw1", False), ("hw3", False), ("hw6", True)])
def test_students_get_torch_only_where_their_code_or_a_public_check_needs_it(
        hw_id, wants_torch, tmp_path):
    assert main(["release", hw_id, "--out", str(tmp_path / "student")]) == 0
    pyproject = (tmp_path / "student" / "pyproject.toml").read_text()
    assert ("torch==" in pyproject) is wants_torch  # hw3's autograd judges are hidden
