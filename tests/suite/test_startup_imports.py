"""What the grader's own process imports before it grades, and from where.

Start-up is on every grading's critical path: the command line must parse and read the
homework (its ``worker_preload`` and ``limits``) without numpy, so the worker can start
while the grading machinery loads. Each case runs a fresh interpreter and reads its
``sys.modules``. The trusted side also never imports from the folder it is run in.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from grader.homeworks import PROJECT_ROOT

HEAVY = ("numpy", "torch", "nbformat", "otter", "matplotlib", "jinja2")
RUN_MAIN = ("import json, runpy, sys\n"
            "sys.argv = ['grader'] + {argv!r}\n"
            "try:\n"
            "    runpy.run_module('grader', run_name='__main__', alter_sys=True)\n"
            "except SystemExit as exc:\n"
            "    code = exc.code\n"
            "print(json.dumps({{'code': code, 'modules': sorted(sys.modules)}}), file=sys.stderr)\n")


def fresh(code):
    """Run ``code`` in a fresh interpreter; its stdout and stderr."""
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def loaded(modules, packages=HEAVY):
    """The modules of ``packages`` among ``modules``."""
    return sorted(m for m in modules if m.split(".")[0] in packages)


def run_main(argv):
    """``python -m grader ARGV`` in a fresh interpreter: its exit code and modules."""
    _, err = fresh(RUN_MAIN.format(argv=list(argv)))
    return json.loads(err.strip().splitlines()[-1])


def test_homeworks_are_read_without_numpy_or_the_sandbox():
    out, _ = fresh("import sys\n"
                   "from grader import homeworks\n"
                   "hw1, hw6 = homeworks.get('hw1'), homeworks.get('hw6')\n"
                   "print(hw1.worker_preload, hw6.worker_preload, hw6.limits.call_seconds)\n"
                   "print(' '.join(sorted(sys.modules)))\n")
    first, modules = out.splitlines()
    assert first == "('numpy',) ('numpy', 'torch') 20.0"
    modules = modules.split()
    assert loaded(modules) == []
    assert not [m for m in modules if m.startswith("grader.") and m not in (
        "grader.homeworks", "grader.sandbox", "grader.sandbox.limits")]


@pytest.mark.parametrize("argv", [["grade", "hw1", "submission", "--seed", "3"],
                                  ["check", "hw1", "--only", "gaussian_logpdf"]])
def test_the_command_line_is_parsed_and_its_homework_read_before_numpy(argv):
    out, _ = fresh("import sys\n"
                   "from grader import cli, homeworks\n"
                   f"args = cli.build_parser({argv[0]!r}).parse_args({argv!r})\n"
                   "hw = homeworks.get(getattr(args, 'homework', None) or args.homeworks[0])\n"
                   "print(hw.id, ' '.join(sorted(sys.modules)))\n")
    hw_id, *modules = out.split()
    assert hw_id == "hw1"
    assert loaded(modules) == []


def test_help_lists_every_command_without_importing_them():
    from grader.cli import COMMANDS
    report = run_main(["--help"])
    assert report["code"] == 0
    assert loaded(report["modules"]) == []
    assert not [m for m in report["modules"] if m.startswith("grader.commands.")]
    out = subprocess.run([sys.executable, "-m", "grader", "--help"], cwd=PROJECT_ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert all(name in out and text.split()[0] in out for name, (_, text) in COMMANDS.items())


def test_a_command_imports_its_own_module_only():
    report = run_main(["gradebook", "--help"])
    assert report["code"] == 0
    assert [m for m in report["modules"] if m.startswith("grader.commands.")] == [
        "grader.commands.gradebook"]
    assert loaded(report["modules"]) == []


def test_the_grader_keeps_its_bytecode_even_under_pythondontwritebytecode(tmp_path):
    """A copy of the package, run with PYTHONDONTWRITEBYTECODE=1: what ``python -m grader``
    imports after start-up gets its .pyc (the package's __init__ is imported before)."""
    shutil.copytree(os.path.join(PROJECT_ROOT, "grader"), tmp_path / "grader",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "grader", "--help"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    cached = {name.split(".")[0] for name in os.listdir(tmp_path / "grader" / "__pycache__")}
    assert {"cli", "homeworks"} <= cached
    assert "__init__" not in cached  # imported before __main__ runs: the variable still held


def test_nothing_is_imported_from_the_folder_the_grader_runs_in(tmp_path):
    """``cd submission && python -m grader grade hw1 .``: the folder's json.py, difflib.py or
    secrets.py would otherwise shadow the standard library on the trusted side."""
    marker = tmp_path.parent / f"{tmp_path.name}-shadowed"
    shutil.copy(os.path.join(PROJECT_ROOT, "examples", "hw1", "reference", "hw1_gaussians.py"),
                tmp_path)
    for name in ("json", "difflib", "secrets", "shlex", "tempfile"):
        (tmp_path / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write('{name} ')\n"
                                             "raise SystemExit('imported from the folder')\n")
    out = tmp_path.parent / f"{tmp_path.name}-results.json"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", "hw1", ".", "--out", str(out),
                           "--quiet", "--only", "gaussian_logpdf"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=PROJECT_ROOT))
    assert not marker.exists(), marker.read_text()
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["score"] > 0
    assert not (tmp_path / "__pycache__").exists()


def test_the_warm_client_imports_neither_numpy_nor_the_command_line(tmp_path):
    """``GRADER_WARM=1 python -m grader check``, served by a warm grader: the client process
    only connects and copies the output (the server did the grading)."""
    folder = tmp_path / "warm"
    folder.mkdir(mode=0o700)
    env = dict(os.environ, GRADER_WARM="1", GRADER_WARM_DIR=str(folder))
    start = [sys.executable, "-m", "grader", "warm", "start", "hw1"]
    subprocess.run(start, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True,
                   timeout=300)
    try:
        argv = ["check", "hw1", "--dir", os.path.join(PROJECT_ROOT, "examples", "hw1",
                                                      "reference")]
        done = subprocess.run([sys.executable, "-c", RUN_MAIN.format(argv=argv)],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                              timeout=300)
        report = json.loads(done.stderr.strip().splitlines()[-1])
    finally:
        subprocess.run([sys.executable, "-m", "grader", "warm", "stop"], cwd=PROJECT_ROOT,
                       env=env, capture_output=True, timeout=300)
    assert report["code"] == 0 and "gaussian_logpdf" in done.stdout
    assert loaded(report["modules"]) == []
    assert "grader.cli" not in report["modules"]  # graded by the server, not here
    assert [m for m in report["modules"] if m.startswith("grader.")] == [
        "grader.warm", "grader.warm.address", "grader.warm.client", "grader.warm.wire"]


@pytest.mark.parametrize("argv, grades", [
    (["grade", "hw1", "sub"], True), (["check"], True), (["check", "hw1", "hw2"], True),
    (["demo"], True), (["batch", "hw1", "subs", "--out", "o"], True),
    (["batch", "hw1", "subs", "--executor", "local"], True),
    (["batch", "hw1", "subs", "--executor", "processes"], False),
    (["batch", "hw1", "subs", "--executor=dask://host:8786"], False),
    (["report", "out"], False), (["release"], False), (["warm", "stop"], False),
    (["--help"], False), ([], False)])
def test_a_spare_template_is_started_only_by_a_command_that_grades_here(argv, grades):
    from grader import startup
    assert startup.grades_here(argv) is grades


@pytest.mark.parametrize("argv, spares", [(["report", "nowhere"], 0),
                                          (["grade", "hw99", "nowhere"], 1)])
def test_the_command_line_starts_a_spare_before_it_imports_numpy(argv, spares):
    """The spare's interpreter starts before numpy is imported here (its start-up overlaps the
    grader's imports), also for a homework that turns out to be unknown (stopped at exit)."""
    code = ("import atexit, json, runpy, sys\n"
            "from grader.sandbox import forkserver\n"
            "started = []\n"
            "real = forkserver.start_spare\n"
            "def spy(*a):\n"
            "    started.append('numpy' in sys.modules)\n"
            "    real(*a)\n"
            "forkserver.start_spare = spy\n"
            "atexit.register(lambda: print(json.dumps(started), file=sys.stderr))\n"
            f"sys.argv = ['grader'] + {argv!r}\n"
            "runpy.run_module('grader', run_name='__main__', alter_sys=True)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=300, env=dict(os.environ, GRADER_FORKSERVER="1"))
    assert json.loads(done.stderr.strip().splitlines()[-1]) == [False] * spares
