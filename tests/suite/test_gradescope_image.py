"""The autograder zip on Gradescope's real base images: Ubuntu 22.04 (the default, Python
3.10) and 24.04 (Python 3.12).

- Every pin of every homework's zip resolves on the package index for 3.10 and 3.12
  (binary wheels for the image's glibc): needs the network, skipped offline.
- ``setup.sh`` (all but apt-get: a venv, the pinned install, the self-check) and one hw1
  grading under a Python 3.10 interpreter: skipped where no 3.10 exists.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile

import pytest

from grader import homeworks
from grader.cli import main
from grader.commands import autograder

PYPI = "https://pypi.org/simple"
# the glibc of each image: wheels for manylinux_2_17 … manylinux_2_<glibc> install there
GLIBC = {"3.10": 35, "3.12": 39}  # Ubuntu 22.04, Ubuntu 24.04
HW1 = homeworks.get("hw1")


def _reachable(url):
    try:
        with urllib.request.urlopen(url, timeout=15):
            return True
    except OSError:
        return False


def _pins(python):
    """{package: version} over every homework's requirements for ``python``."""
    pins = {}
    for hw in homeworks.HOMEWORKS.values():
        text = autograder.contents(hw)[f"requirements/py{python}.txt"].decode()
        for line in text.split():
            name, version = line.split("==")
            assert pins.setdefault(name, version) == version, (hw.id, line)
    return pins


def _target(python):
    """pip's options selecting the wheels that ``python`` on its image can install."""
    tag = "cp" + python.replace(".", "")
    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC[python], 16, -1)]
    options = ["--only-binary=:all:", "--python-version", python, "--implementation", "cp",
               "--abi", tag, "--platform", "manylinux2014_x86_64"]
    for platform in platforms:
        options += ["--platform", platform]
    return options


def _pip(*args):
    """This interpreter's pip against the public index only (no local config or mirror)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          env=env, timeout=600)


def test_every_zip_carries_pins_for_each_python_of_the_images():
    for hw in homeworks.HOMEWORKS.values():
        files = autograder.contents(hw)
        for python in autograder.IMAGES.values():
            text = files[f"requirements/py{python}.txt"].decode()
            assert text.startswith("numpy==")
            assert ("torch==" in text) == autograder.needs_torch(hw), (hw.id, text)
    assert "3.10" in autograder.IMAGES.values() and "numpy==2.2.6" in \
        autograder.pinned_requirements(HW1, "3.10")  # numpy >= 2.3 has no 3.10 wheels


@pytest.mark.parametrize("python", sorted(GLIBC))
def test_the_pins_resolve_on_the_package_index(python, tmp_path):
    """numpy is downloaded as its image's pip would; torch's wheel (GBs from PyPI, with
    CUDA) is only looked up on the index: PyPI, and PyTorch's CPU index when reachable."""
    if not _reachable(f"{PYPI}/numpy/"):
        pytest.skip(f"{PYPI} is not reachable (offline): the pins cannot be resolved")
    pins = _pins(python)
    done = _pip("download", "--isolated", "--no-deps", "--index-url", PYPI, "-d",
                str(tmp_path), *_target(python), f"numpy=={pins['numpy']}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    wheels = [os.path.basename(p) for p in glob.glob(str(tmp_path / "*.whl"))]
    assert len(wheels) == 1 and f"-cp{python.replace('.', '')}-" in wheels[0], wheels
    if "torch" in pins:
        indexes = [PYPI] + ([autograder.TORCH_INDEX] if _reachable(autograder.TORCH_INDEX +
                                                                     "/torch/") else [])
        for index in indexes:
            found = _pip("index", "versions", "--isolated", "--index-url", index,
                         *_target(python), "torch")
            versions = {v.strip().split("+")[0] for v in
                        found.stdout.partition("Available versions:")[2].split(",")}
            assert pins["torch"] in versions, (index, found.stdout[-500:], found.stderr[-500:])


def _python_310():
    """A Python 3.10 interpreter of this machine (PATH, pyenv), or None."""
    candidates = [shutil.which("python3.10")]
    if shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "which", "python3.10"], capture_output=True, text=True)
        candidates.append(found.stdout.strip() if found.returncode == 0 else None)
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")))
    for candidate in filter(None, candidates):  # a pyenv shim may exist and still refuse
        probe = subprocess.run([candidate, "-c", "import sys, venv; print(sys.version_info[:2])"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 10)":
            return candidate
    return None


@pytest.mark.slow
def test_setup_and_a_grading_under_python_3_10(tmp_path_factory):
    """Gradescope's default image runs Python 3.10: setup.sh makes the venv from it, installs
    ``requirements/py3.10.txt`` and self-checks; then one hw1 upload is graded there."""
    python = _python_310()
    if python is None:
        pytest.skip("no Python 3.10 interpreter on this machine (PATH or pyenv)")
    top = tmp_path_factory.mktemp("gradescope-310")
    os.chmod(top, 0o755)
    pin = autograder.pinned_requirements(HW1, "3.10").strip()
    wheels = top / "wheels"
    fetched = subprocess.run([python, "-m", "pip", "download", "--no-deps",
                              "--only-binary=:all:", "-d", str(wheels), pin],
                             capture_output=True, text=True, timeout=600)
    if fetched.returncode != 0:
        pytest.skip(f"{pin} for Python 3.10 is not reachable (offline?): "
                    f"{fetched.stderr.strip()[-600:]}")
    out = top / "hw1_autograder.zip"
    assert main(["autograder", "hw1", "--out", str(out)]) == 0
    with zipfile.ZipFile(out) as z:
        z.extractall(top / "source")
        for info in z.infolist():
            os.chmod(top / "source" / info.filename, info.external_attr >> 16 & 0o777)
    venv = top / "venv"
    env = dict(os.environ, SKIP_APT="1", PYTHON3=python, AUTOGRADER_VENV=str(venv),
               PIP_NO_INDEX="1", PIP_FIND_LINKS=str(wheels))
    done = subprocess.run(["bash", str(top / "source" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Python 3.10" in done.stdout and "requirements/py3.10.txt" in done.stdout
    assert "Ubuntu 22.04, the default" in done.stdout and "hw1 autograder ready" in done.stdout

    for folder in ("submission", "results"):
        (top / folder).mkdir()
    shutil.copy(os.path.join(homeworks.PROJECT_ROOT, "examples", "hw1", "buggy", HW1.filename),
                top / "submission")
    env = dict(os.environ, AUTOGRADER_ROOT=str(top), AUTOGRADER_PYTHON=str(venv / "bin" / "python"))
    graded = subprocess.run([str(top / "source" / "run_autograder")], env=env, cwd="/",
                            capture_output=True, text=True, timeout=600)
    assert graded.returncode == 0, graded.stderr[-3000:]
    doc = json.loads((top / "results" / "results.json").read_text())
    best = sum(t["max_score"] for t in doc["tests"])
    assert best == 34 and 0 < doc["score"] < best  # graded, check by check, under 3.10
    version = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import sys, numpy; print(sys.version_info[:2], numpy.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    assert version == f"(3, 10) {pin.split('==')[1]}"
