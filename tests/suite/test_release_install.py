"""The student release installs what the checked homework needs: numpy always, CPU torch
only for a homework whose checks need it (hw6), read from the Makefile's install lines
(``make -n``: nothing is installed here)."""
import shutil
import subprocess

import pytest

from grader import homeworks
from grader.cli import main
from grader.commands import release

TORCH_HWS = sorted(hw.id for hw in homeworks.HOMEWORKS.values() if release.student_needs_torch(hw))
NUMPY_HWS = sorted(set(homeworks.HOMEWORKS) - set(TORCH_HWS))
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    dest = tmp_path_factory.mktemp("release") / "student"
    assert main(["release", "--out", str(dest)]) == 0
    return dest


def install_lines(folder, *args):
    """The pip lines ``make check`` would run in a fresh release (dry run: ``make -n``)."""
    done = subprocess.run(["make", "-n", "check", *args], cwd=folder, capture_output=True,
                          text=True, check=True)
    return [line for line in done.stdout.splitlines() if "pip install" in line]


def test_hw6_needs_torch_and_the_numpy_homeworks_do_not():
    assert "hw6" in TORCH_HWS and {"hw1", "hw2", "hw3", "hw4", "hw5"} <= set(NUMPY_HWS)


@needs_make
@pytest.mark.parametrize("hw_id", NUMPY_HWS)
def test_checking_a_numpy_homework_installs_numpy_only(student, hw_id):
    lines = install_lines(student, f"HW={hw_id}")
    assert len(lines) == 1 and "torch" not in lines[0] and lines[0].endswith(" .")


@needs_make
@pytest.mark.parametrize("args", [[f"HW={h}" for h in TORCH_HWS[:1]], [], ["HW=hw1 hw6"]],
                         ids=["hw6", "every-homework", "hw1-and-hw6"])
def test_checking_a_torch_homework_installs_the_cpu_wheel_too(student, args):
    lines = install_lines(student, *args)
    assert len(lines) == 2 and lines[0].endswith(" .")
    assert f"--index-url {release.TORCH_INDEX} '{release.TORCH_PIN}'" in lines[1]


def test_the_pyproject_keeps_torch_optional(student):
    text = (student / "pyproject.toml").read_text()
    assert 'dependencies = ["numpy>=1.24"]' in text
    assert f'torch = ["{release.TORCH_PIN}"]' in text


def test_a_numpy_only_release_mentions_no_torch(tmp_path):
    dest = tmp_path / "student"
    assert main(["release", "hw1", "--out", str(dest)]) == 0
    assert "torch" not in (dest / "pyproject.toml").read_text()
    assert "TORCH_HW := \n" in (dest / "Makefile").read_text()


def test_the_readme_shows_the_path_without_make(student):
    text = (student / "README.md").read_text()
    assert "python -m grader check hw1" in text and "python -m pip install numpy" in text
    assert "installs only numpy" in text


def test_python_m_grader_check_runs_in_the_release_without_make(student):
    import sys
    done = subprocess.run([sys.executable, "-m", "grader", "check", "hw1"], cwd=student,
                          capture_output=True, text=True, timeout=300)
    assert "gaussian_logpdf" in done.stdout and "Score: 0/10" in done.stdout, done.stderr
