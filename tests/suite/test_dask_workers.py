"""Dask workers that have the grader installed with pip (a wheel of this project in a
virtual environment of their own, no PYTHONPATH, started outside the checkout) grade a
class: the jobs carry the course files (``grader/bundle.py``)."""
import glob
import os
import site
import subprocess
import sys
import zipfile

import pytest

from grader import bundle, homeworks
from grader.cli import main
from grader.homeworks import PROJECT_ROOT

pytest.importorskip("distributed")

CLUSTER = """
import sys
from distributed import Client, LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=None)
with Client(cluster) as client:
    where = client.run(lambda: __import__("grader").__file__)
    course = client.run(lambda: __import__("importlib.util").util.find_spec("solutions"))
print(cluster.scheduler_address, sorted(set(where.values())), set(course.values()), flush=True)
sys.stdin.read()
cluster.close()
"""


@pytest.fixture(scope="module")
def installed_python(tmp_path_factory):
    """A venv whose only grader is the project's wheel, installed by pip; its third-party
    packages (numpy, distributed) are this environment's (a .pth line, not PYTHONPATH)."""
    top = tmp_path_factory.mktemp("dask-venv")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--no-build-isolation", "-w", str(top / "wheel"), PROJECT_ROOT],
                           capture_output=True, text=True, timeout=600)
    if built.returncode != 0:
        pytest.skip(f"cannot build the project's wheel here: {built.stderr[-300:]}")
    wheel = glob.glob(str(top / "wheel" / "*.whl"))[0]
    with zipfile.ZipFile(wheel) as z:  # the package and nothing of the course
        assert not [n for n in z.namelist() if n.startswith(("tests/", "solutions/"))]
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(top / "venv")],
                   check=True)
    python = str(top / "venv" / "bin" / "python")
    target = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()"
                             "['purelib'])"], capture_output=True, text=True,
                            check=True).stdout.strip()
    with open(os.path.join(target, "third-party.pth"), "w") as fh:
        fh.write("\n".join(p for p in site.getsitepackages() if os.path.isdir(p)) + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", python, "install",
                           "--quiet", "--no-deps", "--no-index", wheel],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return python, str(top / "venv")


def test_local_cluster_of_installed_workers_grades_a_class(installed_python, tmp_path):
    python, venv = installed_python
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cluster = subprocess.Popen([python, "-c", CLUSTER], cwd="/", env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        line = cluster.stdout.readline().split(" ", 1)
        assert len(line) == 2, "the LocalCluster did not start"
        address, rest = line
        assert venv in rest and PROJECT_ROOT not in rest, rest  # the installed grader
        assert rest.rstrip().endswith("{None}"), rest  # and no course files on the workers
        out = tmp_path / "out"
        code = main(["batch", "hw1", os.path.join(PROJECT_ROOT, "examples", "hw1"), "--out",
                     str(out), "--seed", "7", "--no-progress", "--executor",
                     "dask://" + address.replace("tcp://", "")])
        assert code == 0
        import json
        docs = {name: out / "students" / name / "results.json"
                for name in ("reference", "stubs", "buggy")}
        scores = {name: json.loads(path.read_text())["score"]
                  for name, path in docs.items() if path.exists()}
        assert scores.get("reference") == 34 and scores.get("stubs") == 0, scores
        assert 0 < scores.get("buggy", 0) < 34
    finally:
        cluster.stdin.close()
        try:
            cluster.wait(timeout=60)
        except subprocess.TimeoutExpired:
            cluster.kill()


def test_a_bundle_holds_the_course_files_and_unpacks_once(tmp_path):
    hw = homeworks.get("hw1")
    data = bundle.course_bundle(hw.id)
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as z:
        names = set(z.namelist())
    assert {f"tests/public/{hw.filename}", f"tests/hidden/{hw.filename}",
            f"solutions/{hw.filename}", f"tests/public/data/{hw.module}.json",
            "grader/engine.py"} <= names
    first = bundle.unpack(data, root=str(tmp_path))
    assert bundle.unpack(data, root=str(tmp_path)) == first
    assert os.stat(first).st_mode & 0o077 == 0  # private to the grader's uid
    os.chmod(first, 0o777)  # a folder others could have written is never reused
    assert bundle.unpack(data, root=str(tmp_path)) != first
