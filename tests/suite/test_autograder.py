"""`make autograder`: the Gradescope zip, unpacked into a temporary /autograder root,
set up (Python part) and run on example submissions; results.json checked against
Gradescope's schema."""
import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile

import pytest

from grader import homeworks
from grader.cli import main
from grader.commands.autograder import write_zip
from grader.homeworks import PROJECT_ROOT

HW1 = "hw1_gaussians"
EXAMPLES = os.path.join(PROJECT_ROOT, "examples", "hw1")
TEST_KEYS = {"score", "max_score", "status", "name", "name_format", "number", "output",
             "output_format", "tags", "visibility", "extra_data"}
TOP_KEYS = {"score", "execution_time", "output", "output_format", "test_output_format",
            "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests",
            "leaderboard"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def validate_gradescope(doc):
    """Gradescope's results.json specification: known keys, types, visibility values."""
    assert set(doc) <= TOP_KEYS, set(doc) - TOP_KEYS
    assert isinstance(doc["score"], (int, float)) and not isinstance(doc["score"], bool)
    assert isinstance(doc.get("output", ""), str)
    for key in ("visibility", "stdout_visibility"):
        assert doc.get(key, "visible") in VISIBILITY
    assert isinstance(doc["tests"], list)
    for t in doc["tests"]:
        assert set(t) <= TEST_KEYS, set(t) - TEST_KEYS
        assert isinstance(t["name"], str) and t["name"]
        assert isinstance(t["score"], (int, float)) and isinstance(t["max_score"], (int, float))
        assert 0 <= t["score"] <= t["max_score"]
        assert t.get("status", "passed") in ("passed", "failed")
        assert t.get("visibility", "visible") in VISIBILITY
        assert isinstance(t.get("output", ""), str)
    if doc["tests"]:
        assert abs(sum(t["score"] for t in doc["tests"]) - doc["score"]) < 1e-9


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "hw1_autograder.zip"
    assert main(["autograder", "hw1", "--out", str(out)]) == 0
    return out


def unpack_and_set_up(autograder_zip, hw_id):
    """A Gradescope-like root: source/ unpacked, run_autograder copied to the top, set up
    (setup.sh's Python part: the reference must score full marks). Every user may enter it
    (as /autograder), so that hiding is what keeps student code out."""
    top = pathlib.Path(tempfile.mkdtemp(prefix="autograder-root-"))
    os.chmod(top, 0o755)
    (top / "control.txt").write_text("ok")
    with zipfile.ZipFile(autograder_zip) as z:
        z.extractall(top / "source")
        for info in z.infolist():  # zipfile drops the modes; Gradescope keeps them
            os.chmod(top / "source" / info.filename, info.external_attr >> 16 & 0o777)
    shutil.copy(top / "source" / "run_autograder", top / "run_autograder")
    env = dict(os.environ, SKIP_PIP="1", AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run(["bash", str(top / "source" / "setup.sh")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{hw_id} autograder ready" in done.stdout
    return top


def remove_root(top):
    """Delete an autograder root; ``rm -rf``, since a test uploads a folder nested deeper than
    ``shutil.rmtree``'s recursion allows."""
    subprocess.run(["rm", "-rf", "--", str(top)], check=False)


@pytest.fixture(scope="module")
def root(autograder_zip):
    """The hw1 autograder, unpacked and set up."""
    top = unpack_and_set_up(autograder_zip, "hw1")
    yield top
    remove_root(top)


def run_autograder(root, files):
    """Upload ``files`` ({name: text}) and run the autograder; returns results.json."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    (root / "results" / "stdout").write_text("")  # Gradescope's harness keeps one there
    for name, text in files.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=600, cwd="/")
    assert done.returncode == 0, done.stderr
    doc = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope(doc)
    return doc


def example(name):
    with open(os.path.join(EXAMPLES, name, HW1 + ".py"), encoding="utf-8") as fh:
        return fh.read()


def test_the_zip_follows_gradescopes_layout(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as z:
        infos = {i.filename: i for i in z.infolist()}
        config = json.loads(z.read("autograder.json"))
        requirements = z.read("requirements/py3.10.txt").decode()
    for name in ("setup.sh", "run_autograder"):
        assert infos[name].external_attr >> 16 & stat.S_IXUSR, name
    assert {f"tests/hidden/{HW1}.py", f"solutions/{HW1}.py", f"tests/public/{HW1}.py",
            f"tests/public/data/{HW1}.json", "grader/autograder.py",
            "grader/sandbox/worker.py"} <= set(infos)
    assert config == {"homework": "hw1", "seed": None}
    assert requirements.startswith("numpy==") and "torch" not in requirements  # hw1: no torch
    others = [n for n in infos if n.startswith(("solutions/", "tests/", "assignments/"))
              and HW1 not in n and not n.endswith("__init__.py")]
    assert others == []  # only this homework's checks and reference


def test_reference_scores_full_marks(root):
    doc = run_autograder(root, {HW1 + ".py": example("reference")})
    assert doc["score"] == sum(t["max_score"] for t in doc["tests"]) == 34
    assert {t["visibility"] for t in doc["tests"]} == {"visible", "after_due_date"}
    hidden_titles = [t["name"].split(": ", 1)[1].replace(" [hidden]", "")
                     for t in doc["tests"] if t["visibility"] != "visible"]
    assert not any(title in doc["output"] for title in hidden_titles)  # shown at once
    assert "hidden checks (24 points) were graded too" in doc["output"]
    assert doc["extra_data"]["homework"] == "hw1"
    for t in doc["tests"]:  # exercises are data, never parsed from the display name
        extra = t["extra_data"]
        assert t["tags"] == [extra["exercise"]] and extra["status"] == "passed"
        assert extra["check"].startswith(extra["exercise"] + "/")


def test_stubs_score_zero(root):
    doc = run_autograder(root, {HW1 + ".py": example("stubs")})
    assert doc["score"] == 0
    assert all(t["output"] == "not implemented yet" for t in doc["tests"])


def test_buggy_loses_points_and_gets_rerun_hints_with_its_file_name(root):
    doc = run_autograder(root, {HW1 + ".py": example("buggy")})
    assert 0 < doc["score"] < 34
    failed = [t for t in doc["tests"] if t["status"] == "failed"]
    assert failed and all("autograder-submission-" not in t["output"] for t in failed)
    public = [t for t in failed if t["visibility"] == "visible"]
    hidden = [t for t in failed if t["visibility"] != "visible"]
    assert public and all("rerun this case: make check HW=hw1 ONLY=" in t["output"]
                          for t in public)
    assert hidden and all(f"python -m grader grade hw1 {HW1}.py --seed" in t["output"]
                          for t in hidden)
    again = run_autograder(root, {HW1 + ".py": example("buggy")})
    assert again["extra_data"]["seed"] == doc["extra_data"]["seed"]  # same upload, same cases
    assert [t["score"] for t in again["tests"]] == [t["score"] for t in doc["tests"]]


def test_a_notebook_in_a_subfolder_is_graded_like_the_module(root):
    cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
              "source": "!pip install numpy\n" + example("reference")}]
    nb = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    doc = run_autograder(root, {f"work/{HW1}.ipynb": nb})
    assert doc["score"] == 34
    assert "Notes:" in doc["output"]


def test_a_missing_module_is_a_zero_that_says_what_to_submit(root):
    doc = run_autograder(root, {"homework.py": example("reference")})
    assert doc["score"] == 0 and f"no {HW1}.py or {HW1}.ipynb" in doc["output"]
    assert doc["extra_data"]["status"] == "no_module"


def spy_module(root, root_is_open=False):
    """A submission that reports which secret files it could read (and its uid).
    ``root_is_open``: it must read a control file beside them (hiding is not overbroad;
    only without namespaces: an allow-list root shows no host file at all)."""
    return (
        "import os\n"
        + (f"assert open({str(root / 'control.txt')!r}).read() == 'ok'  # the root is open\n"
           if root_is_open else "") +
        "seen = []\n"
        f"for p in [{str(root / 'source' / 'solutions' / (HW1 + '.py'))!r},\n"
        f"          {str(root / 'source' / 'tests' / 'hidden' / (HW1 + '.py'))!r},\n"
        f"          {str(root / 'results' / 'results.json')!r}]:\n"
        "    try:\n"
        "        open(p).read(); seen.append(p)\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        f"    if os.listdir({str(root / 'results')!r}): seen.append('results listing')\n"
        "except OSError:\n"
        "    pass\n"
        "try:\n"
        f"    open({str(root / 'results' / 'results.json')!r}, 'w').write('{{\"score\": 99}}')\n"
        "    seen.append('wrote results')\n"
        "except OSError:\n"
        "    pass\n"
        "raise RuntimeError(f'uid={os.getuid()} seen={seen}')\n")


def test_student_code_runs_unprivileged_and_cannot_read_source_or_results(root):
    doc = run_autograder(root, {HW1 + ".py": spy_module(root)})
    assert doc["score"] == 0
    out = doc["tests"][0]["output"]
    assert "seen=[]" in out, out
    if os.geteuid() == 0:
        assert "uid=0 " not in out


def test_a_grader_failure_still_writes_a_valid_results_json(root, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(root / "source", broken / "source")
    (broken / "source" / "autograder.json").write_text('{"homework": "hw99"}')
    (broken / "submission").mkdir()
    env = dict(os.environ, AUTOGRADER_ROOT=str(broken), AUTOGRADER_PYTHON=sys.executable)
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    doc = json.loads((broken / "results" / "results.json").read_text())
    validate_gradescope(doc)
    assert doc["score"] == 0 and "could not grade" in doc["output"]
    assert "Traceback" not in json.dumps(doc) and "hw99" not in doc["output"]  # plain for students
    assert doc["stdout_visibility"] == "hidden" and "Traceback" in done.stdout  # staff only


def test_results_json_is_written_as_checks_finish(tmp_path, monkeypatch):
    """A global timeout (here: the process dies after three checks) leaves valid partial results."""
    from grader import autograder, engine
    root = tmp_path / "root"
    (root / "source").mkdir(parents=True)
    (root / "source" / "autograder.json").write_text('{"homework": "hw1", "seed": 3}')
    (root / "submission").mkdir()
    (root / "submission" / (HW1 + ".py")).write_text(example("reference"))
    original, ran = engine._run_check, []

    def dies_after_three(*args, **kwargs):
        if len(ran) == 3:
            raise SystemExit("killed by Gradescope's global timeout")
        ran.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(engine, "_run_check", dies_after_three)
    with pytest.raises(SystemExit):
        autograder.run(str(root))
    doc = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope(doc)
    assert len(doc["tests"]) == 3 and doc["score"] == sum(t["max_score"] for t in doc["tests"])
    assert doc["extra_data"]["status"] == "timeout" and "did not finish" in doc["output"]


def test_the_whole_grading_fits_gradescopes_timeout(tmp_path):
    """Every call hanging: checks past the budget score zero as timeouts, well inside the
    budget plus one call, and the results are valid (Gradescope's 10 minutes never run out)."""
    import time

    from grader import autograder
    assert autograder.budget_for({}) <= 8 * 60
    root = tmp_path / "root"
    (root / "source").mkdir(parents=True)
    (root / "source" / "autograder.json").write_text(
        '{"homework": "hw1", "seed": 3, "budget_seconds": 4}')
    (root / "submission").mkdir()
    hanging = example("stubs").replace("raise NotImplementedError",
                                       "import time; time.sleep(3600)")
    (root / "submission" / (HW1 + ".py")).write_text(hanging)
    started = time.monotonic()
    assert autograder.run(str(root)) == 0
    assert time.monotonic() - started < 4 + homeworks.get("hw1").limits.call_seconds + 10
    doc = json.loads((root / "results" / "results.json").read_text())
    validate_gradescope(doc)
    assert doc["score"] == 0 and doc["extra_data"]["status"] == "timeout"
    every_check = homeworks.load_checks(homeworks.get("hw1"), include_hidden=True)
    assert len(doc["tests"]) == len(every_check)  # the checks not reached are listed, at zero


def everyone_can_run_python(folder):
    """A venv in ``folder`` of a system Python that any uid may run (as on Gradescope, where
    Python lives under /usr and /opt), seeing this project's packages; None if impossible."""
    import site

    from grader.sandbox import isolation
    system = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    packages = [p for p in site.getsitepackages() if os.path.isdir(p)]
    if not system or any(isolation.untraversable_ancestors(os.path.realpath(p) + "/x")
                         for p in [system, *packages]):
        return None
    version = subprocess.run([system, "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    if version != str(tuple(sys.version_info[:2])):
        return None
    subprocess.run([system, "-m", "venv", "--without-pip", str(folder / "venv")], check=True)
    target = next((folder / "venv" / "lib").glob("python*")) / "site-packages"
    (target / "project-packages.pth").write_text("\n".join(packages) + "\n")
    return folder / "venv" / "bin" / "python"


NO_NAMESPACES = (
    "import sys\n"
    "from grader import autograder\n"
    "from grader.sandbox import isolation\n"
    "active = tuple(p for p in isolation.probe().active\n"
    "               if 'namespace' not in p and 'capabilities' not in p)\n"
    "isolation.probe = lambda: isolation.Capabilities(False, 'disabled by the test', active)\n"
    "sys.exit(autograder.run(sys.argv[1]))\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback drops to another uid: root only")
def test_without_namespaces_the_hidden_folders_are_unreadable_to_student_code(root):
    """Where the kernel refuses namespaces (some containers), the worker's uid is locked out
    of source/, results/ and submission/ by their permissions instead."""
    top = pathlib.Path(tempfile.mkdtemp(prefix="autograder-root-"))
    try:
        os.chmod(top, 0o755)
        python = everyone_can_run_python(top)
        if python is None:
            pytest.skip("no system Python of this version that every user may run")
        shutil.copytree(root / "source", top / "source")
        (top / "control.txt").write_text("ok")
        (top / "submission").mkdir()
        (top / "submission" / (HW1 + ".py")).write_text(spy_module(top, root_is_open=True))
        (top / "results").mkdir()
        (top / "results" / "stdout").write_text("")
        done = subprocess.run([str(python), "-c", NO_NAMESPACES, str(top)], cwd=top / "source",
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        doc = json.loads((top / "results" / "results.json").read_text())
        validate_gradescope(doc)
        assert "NO private filesystem view" in doc["output"]
        out = doc["tests"][0]["output"]
        assert "seen=[]" in out and "uid=0 " not in out, out
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_torch_is_pinned_exactly_where_grading_needs_it():
    from grader import homeworks
    from grader.commands import autograder
    assert not autograder.needs_torch(homeworks.get("hw1"))
    # hw3, hw8: autograd judges on the trusted side; hw6, hw7: models
    for hw_id in ("hw3", "hw6", "hw7", "hw8"):
        if hw_id in homeworks.HOMEWORKS:
            hw = homeworks.get(hw_id)
            assert autograder.needs_torch(hw)
            assert "torch==" in autograder.pinned_requirements(hw)
            assert "download.pytorch.org/whl/cpu" in \
                autograder.contents(hw)["setup.sh"].decode()


OTHER_HOMEWORKS = [pytest.param(h, marks=[pytest.mark.slow] if h in ("hw6", "hw7") else [])
                   for h in sorted(__import__("grader.homeworks").homeworks.HOMEWORKS)
                   if h != "hw1"]


@pytest.mark.parametrize("hw_id", OTHER_HOMEWORKS)
def test_every_homework_autograder_sets_up_and_grades_its_stubs_zero(hw_id, tmp_path):
    """Each homework's zip: its setup grades its reference to full marks, stubs score 0."""
    from grader import homeworks
    hw = homeworks.get(hw_id)
    out = tmp_path / f"{hw_id}_autograder.zip"
    assert main(["autograder", hw_id, "--out", str(out)]) == 0
    top = unpack_and_set_up(out, hw_id)
    try:
        with open(os.path.join(PROJECT_ROOT, "assignments", hw.filename), encoding="utf-8") as fh:
            doc = run_autograder(top, {hw.filename: fh.read()})
        assert doc["score"] == 0 and doc["tests"]
        assert {t["visibility"] for t in doc["tests"]} <= VISIBILITY
    finally:
        shutil.rmtree(top, ignore_errors=True)


LOAD_EVERY_CHECK = """
from grader import homeworks
hw = homeworks.get({hw!r})
checks = homeworks.load_checks(hw, include_hidden=True)
reference = homeworks.load_reference(hw)
cases = sum(len(c.make_cases(0)) for c in checks)
print(len(checks), cases, reference.__file__)
"""


@pytest.mark.parametrize("hw_id", sorted(homeworks.HOMEWORKS))
def test_every_autograder_holds_what_its_checks_import_and_read(hw_id, tmp_path):
    hw = homeworks.get(hw_id)
    with zipfile.ZipFile(write_zip(hw, str(tmp_path / "autograder.zip"))) as z:
        z.extractall(tmp_path / "source")
    done = subprocess.run([sys.executable, "-c", LOAD_EVERY_CHECK.format(hw=hw_id)],
                          cwd=tmp_path / "source", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    n_checks, n_cases, reference = done.stdout.split()
    assert int(n_checks) > 0 and int(n_cases) > 0
    assert reference.startswith(str(tmp_path / "source"))  # not the project's copy
