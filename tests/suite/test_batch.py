"""`python -m grader batch` end to end: a class of folders, files, notebooks and hostile
submissions; the Gradescope export zip; resuming; a Dask cluster."""
import csv
import json
import os
import pathlib
import shutil
import tempfile
import zipfile

import pytest

from grader.cli import main
from grader.commands import batch as batch_command
from grader.homeworks import PROJECT_ROOT

from .grading import notebook_text as notebook

HW1 = "hw1_gaussians"
REFERENCE = os.path.join(PROJECT_ROOT, "solutions", HW1 + ".py")
STUBS = os.path.join(PROJECT_ROOT, "assignments", HW1 + ".py")
BUGGY = os.path.join(PROJECT_ROOT, "examples", "hw1", "buggy", HW1 + ".py")
EXERCISES = ["gaussian_logpdf", "gaussian_marginal", "gaussian_conditional", "mixture_logpdf",
             "mixture_responsibilities", "mixture_sample"]


def text(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def put(folder, name, content):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
        fh.write(content)


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["id"]: row for row in csv.DictReader(fh)}


def student(out, key):
    """The output folder of one submission."""
    return out / "students" / key


def batch(subs, out, *extra):
    return main(["batch", "hw1", str(subs), "--out", str(out), "--jobs", "2", "--no-progress",
                 *extra])


@pytest.fixture()
def world_tmp():
    """A temporary folder every user may enter. pytest's own are 0700: a worker running as
    another uid could not look into them at all, which would prove nothing about hiding."""
    path = tempfile.mkdtemp(prefix="grader-test-")
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture()
def klass(world_tmp):
    """A class folder: reference, stubs, buggy, a flat file, a notebook, nothing, hostile."""
    subs = world_tmp / "class"
    put(subs / "ada", HW1 + ".py", text(REFERENCE))
    put(subs / "bob", HW1 + ".py", text(STUBS))
    put(subs / "cyd", HW1 + ".py", text(BUGGY))
    put(subs, "dee.py", text(REFERENCE))
    put(subs / "eve" / "work", HW1 + ".ipynb", notebook(text(REFERENCE)))
    put(subs / "fay", "notes.txt", "forgot")
    put(subs / "gus", HW1 + ".py",
        "import os\n"
        f"_other = {str(subs / 'ada' / (HW1 + '.py'))!r}\n"
        f"_out = {str(world_tmp / 'out')!r}\n"
        "if os.path.isdir(_out) and os.listdir(_out):  # hidden, or absent from its view\n"
        "    raise RuntimeError('can see the output folder')\n"
        "if os.path.exists(_other):\n"
        "    exec(open(_other).read())\n"
        "else:\n"
        "    raise RuntimeError('cannot see the other students')\n")
    put(subs / "hal", HW1 + ".py", "import os\nos._exit(3)\n")
    return subs


def test_a_class_folder_gives_one_row_per_student_and_feedback(klass, capsys):
    out = klass.parent / "out"  # the worker sees it as an empty folder
    assert batch(klass, out, "--seed", "3") == 0
    rows = read_csv(out / "grades.csv")
    assert list(next(iter(rows.values())))[:6] == ["id", "name", "email", "submission", "total",
                                                   "max"]
    assert set(EXERCISES) <= set(next(iter(rows.values())))
    assert set(rows) == {"ada", "bob", "cyd", "dee", "eve", "fay", "gus", "hal"}
    for full in ("ada", "dee", "eve"):  # folder, flat file, notebook in a subfolder
        assert rows[full]["total"] == rows[full]["max"] == "34", rows[full]
        assert rows[full]["status"] == "graded"
    assert rows["bob"]["total"] == "0" and rows["bob"]["status"] == "graded"
    assert 0 < float(rows["cyd"]["total"]) < 34 and rows["cyd"]["gaussian_conditional"] == "0"
    assert rows["fay"]["status"] == "no_module" and rows["fay"]["total"] == "0"
    assert rows["gus"]["status"] == "import_failed" and rows["gus"]["total"] == "0"
    assert "cannot see the other students" in rows["gus"]["reason"]
    assert rows["hal"]["total"] == "0" and rows["hal"]["status"] != "graded"
    for key in rows:
        doc = json.loads((student(out, key) / "results.json").read_text())
        assert doc["extra_data"]["seed"] == 3 and doc["tests"]
        assert doc["extra_data"]["status"] == rows[key]["status"]
        assert (student(out, key) / "feedback.md").exists()
        kept = batch_command._summary(doc)  # all the batch keeps in memory per student
        assert kept["total"] == float(rows[key]["total"]) == doc["score"]
        assert kept["points"] == {name: float(rows[key][name]) for name in EXERCISES}
    feedback = (student(out, "cyd") / "feedback.md").read_text()
    assert "## `gaussian_conditional`" in feedback and "❌" in feedback and "✅" in feedback
    kept = student(out, "cyd") / "submission"
    assert "rerun this case: python -m grader grade hw1 " + str(kept) + " --seed 3" in feedback
    assert (kept / (HW1 + ".py")).read_text() == text(BUGGY)  # the rerun's path exists
    report = capsys.readouterr().out
    counts = {s: sum(1 for r in rows.values() if r["status"] == s)
              for s in {r["status"] for r in rows.values()}}
    assert report.startswith("8 submission(s): graded " + str(counts["graded"]))
    assert all(f"{s} {n}" in report.splitlines()[0] for s, n in counts.items())
    assert "gaussian_conditional" in report and "<- lowest" in report


def test_rerun_skips_unchanged_students_and_regrades_changed_ones(tmp_path, capsys):
    subs, out = tmp_path / "class", tmp_path / "out"
    put(subs / "ada", HW1 + ".py", text(REFERENCE))
    put(subs / "bob", HW1 + ".py", text(STUBS))
    assert batch(subs, out) == 0  # random seed, recorded in OUTDIR
    seed = json.loads((student(out, "ada") / "results.json").read_text())["extra_data"]["seed"]
    stamp = (student(out, "ada") / "results.json").stat().st_mtime_ns
    put(subs / "bob", HW1 + ".py", text(REFERENCE))  # bob resubmits
    capsys.readouterr()
    assert batch(subs, out) == 0
    assert "(1 unchanged since the last run" in capsys.readouterr().out
    assert (student(out, "ada") / "results.json").stat().st_mtime_ns == stamp
    rows = read_csv(out / "grades.csv")
    assert rows["bob"]["total"] == "34" and rows["ada"]["total"] == "34"
    bob = json.loads((student(out, "bob") / "results.json").read_text())
    assert bob["extra_data"]["seed"] == seed
    assert batch(subs, out, "--regrade") == 0
    assert (student(out, "ada") / "results.json").stat().st_mtime_ns != stamp
    capsys.readouterr()
    assert batch(subs, out, "--seed", str(seed + 1)) == 1  # another seed: asks for --regrade
    assert f"graded with seed {seed}" in capsys.readouterr().err
    assert json.loads((student(out, "ada") / "results.json").read_text())["extra_data"]["seed"] \
        == seed
    assert batch(subs, out, "--seed", str(seed + 1), "--regrade") == 0
    ada = json.loads((student(out, "ada") / "results.json").read_text())
    assert ada["extra_data"]["seed"] == seed + 1


def test_a_hanging_submission_gets_its_own_row_and_the_batch_goes_on(tmp_path, capsys):
    subs, out = tmp_path / "class", tmp_path / "out"
    put(subs / "ada", HW1 + ".py", text(REFERENCE))
    put(subs / "zed", HW1 + ".py", "import time\nwhile True:\n    time.sleep(1)\n")
    assert batch(subs, out, "--seed", "1", "--timeout", "10", "--jobs", "2") == 0
    rows = read_csv(out / "grades.csv")
    assert rows["ada"]["total"] == "34"
    # the batch budget (10 s) stops the import: status and reason say so, the summary counts it
    assert rows["zed"]["status"] == "timeout" and rows["zed"]["total"] == "0"
    assert "ran out of time" in rows["zed"]["reason"]
    assert "timeout 1" in capsys.readouterr().out.splitlines()[0]


GRADESCOPE_METADATA = """\
submission_101:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1001'
    :email: ada@example.edu
  :created_at: 2026-11-30 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.34e2
submission_102:
  :submitters:
  - :name: Bob Stub
    :sid: '1002'
    :email: bob@example.edu
  - :name: =HYPERLINK("http://example.com")
    :sid: '1003'
    :email: cyd@example.edu
  :created_at: 2026-11-30 11:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
submission_103:
  :submitters:
  - :name: Dee Notebook
    :sid: '1004'
    :email: dee@example.edu
  :created_at: 2026-11-30 12:00:00.000000000 -08:00
"""


def test_a_gradescope_export_zip_names_every_submitter(tmp_path):
    pytest.importorskip("yaml")
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("assignment_77_export/submission_metadata.yml", GRADESCOPE_METADATA)
        z.writestr(f"assignment_77_export/submission_101/{HW1}.py", text(REFERENCE))
        z.writestr(f"assignment_77_export/submission_102/{HW1}.py", text(STUBS))
        z.writestr(f"assignment_77_export/submission_103/hw/{HW1}.ipynb",
                   notebook(text(REFERENCE)))
        z.writestr("../escape.py", "print('zip slip')")
    out = tmp_path / "out"
    assert batch(export, out, "--seed", "2") == 0
    rows = read_csv(out / "grades.csv")
    assert set(rows) == {"1001", "1002", "1003", "1004"}
    assert rows["1001"]["name"] == "Ada Lovelace" and rows["1001"]["email"] == "ada@example.edu"
    assert rows["1001"]["total"] == "34" and rows["1004"]["total"] == "34"
    assert rows["1002"]["total"] == rows["1003"]["total"] == "0"  # a group: one grade, two rows
    assert rows["1002"]["submission"] == rows["1003"]["submission"] == "submission_102"
    assert rows["1003"]["name"] == "'=HYPERLINK(\"http://example.com\")"  # not a formula
    assert (student(out, "submission_103") / "feedback.md").exists()
    assert not (tmp_path / "escape.py").exists()


def test_a_dask_cluster_grades_the_same_jobs(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    subs, out = tmp_path / "class", tmp_path / "out"
    put(subs / "ada", HW1 + ".py", text(REFERENCE))
    put(subs / "bob", HW1 + ".py", text(BUGGY))
    put(subs / "cy", HW1 + ".py", text(STUBS))
    # tasks of two submissions and of one: each outcome goes to its own student
    monkeypatch.setattr(batch_command, "dask_group_size", lambda submissions, threads: 2)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        address = cluster.scheduler_address.replace("tcp://", "dask://")
        assert batch(subs, out, "--seed", "4", "--executor", address) == 0
    rows = read_csv(out / "grades.csv")
    assert rows["ada"]["total"] == "34" and 0 < float(rows["bob"]["total"]) < 34
    assert rows["cy"]["total"] == "0"
    local = tmp_path / "local"
    assert batch(subs, local, "--seed", "4") == 0
    same = json.loads((student(local, "bob") / "results.json").read_text())
    theirs = json.loads((student(out, "bob") / "results.json").read_text())
    # the buggy mixture_sample is slow: on a loaded machine a check may time out in one run
    judged = [(a["score"], b["score"]) for a, b in zip(same["tests"], theirs["tests"])
              if "timeout" not in (a["extra_data"]["status"], b["extra_data"]["status"])]
    assert len(judged) >= len(same["tests"]) - 2 and all(a == b for a, b in judged)


def test_bad_inputs_are_one_line_errors(tmp_path, capsys):
    assert batch(tmp_path / "nope", tmp_path / "out") == 1
    (tmp_path / "empty").mkdir()
    assert batch(tmp_path / "empty", tmp_path / "out") == 1
    assert "no submissions found" in capsys.readouterr().err
    shutil.rmtree(tmp_path / "out", ignore_errors=True)


def test_nested_hidden_folders_still_grade(tmp_path):
    """The output folder inside another hidden folder: only the outermost is covered."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    out = tmp_path / "a" / "b" / "results.json"
    assert main(["grade", "hw1", os.path.dirname(REFERENCE), "--out", str(out), "--seed", "1",
                 "--quiet", "--hide", str(tmp_path / "a"), "--hide", str(tmp_path)]) == 0
    assert json.loads(out.read_text())["score"] == 34


@pytest.mark.skipif(os.geteuid() != 0, reason="worker uids are used only when grading as root")
def test_worker_uids_are_exclusive_across_grader_processes(monkeypatch):
    """Even when every grader process would pick the same uid first (pids that collide)."""
    import subprocess
    import sys

    from grader.sandbox import isolation
    monkeypatch.setattr(isolation, "worker_uid", lambda: isolation.WORKER_UID_BASE + 7)
    first, claim = isolation.claim_worker_uid()
    second, claim2 = isolation.claim_worker_uid()
    try:
        code = ("from grader.sandbox import isolation; "
                "isolation.worker_uid = lambda: isolation.WORKER_UID_BASE + 7; "
                "print(isolation.claim_worker_uid()[0])")
        other = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, check=True,
                               capture_output=True, text=True).stdout.strip()
        assert len({first, second, int(other)}) == 3
    finally:
        isolation.release_worker_uid(claim)
        isolation.release_worker_uid(claim2)


def test_an_interrupted_batch_keeps_what_it_wrote_and_resumes(tmp_path, capsys):
    import signal
    import subprocess
    import sys
    import time

    subs, out = tmp_path / "class", tmp_path / "out"
    for i in range(8):
        put(subs / f"s{i}", HW1 + ".py", text(REFERENCE))
    proc = subprocess.Popen([sys.executable, "-m", "grader", "batch", "hw1", str(subs), "--out",
                             str(out), "--jobs", "1", "--seed", "5", "--no-progress"],
                            cwd=PROJECT_ROOT, start_new_session=True,
                            # as from a terminal: another test of this process may have left
                            # SIGINT ignored, and an ignored SIGINT is inherited
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not list(out.glob("students/s*/results.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
    assert proc.wait(timeout=120) == 130
    done = sorted(p.parent.name for p in out.glob("students/s*/results.json"))
    assert done and set(read_csv(out / "grades.csv")) == set(done)
    assert batch(subs, out) == 0  # the seed is taken from the interrupted run
    assert f"({len(done)} unchanged since the last run" in capsys.readouterr().out
    assert len(read_csv(out / "grades.csv")) == 8


def test_the_processes_executor_grades_like_the_local_one(tmp_path):
    subs = tmp_path / "class"
    put(subs / "ada", HW1 + ".py", text(REFERENCE))
    put(subs / "cyd", HW1 + ".py", text(BUGGY))
    assert batch(subs, tmp_path / "local", "--seed", "9") == 0
    assert batch(subs, tmp_path / "procs", "--seed", "9", "--executor", "processes") == 0
    for key in ("ada", "cyd"):
        local = json.loads((student(tmp_path / "local", key) / "results.json").read_text())
        procs = json.loads((student(tmp_path / "procs", key) / "results.json").read_text())
        assert [(t["name"], t["score"]) for t in local["tests"]] == \
            [(t["name"], t["score"]) for t in procs["tests"]]
        assert local["score"] == procs["score"]


@pytest.mark.parametrize("option, value", [("--timeout", "-1"), ("--timeout", "0"),
                                           ("--jobs", "0"), ("--jobs", "-3"),
                                           ("--timeout", "soon")])
def test_invalid_timeout_and_jobs_are_usage_errors(option, value, tmp_path, capsys):
    subs = tmp_path / "class"
    put(subs / "ada", HW1 + ".py", text(REFERENCE))
    with pytest.raises(SystemExit) as exit_info:
        batch(subs, tmp_path / "out", option, value)
    assert exit_info.value.code == 2
    assert option in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing graded, nothing written


def test_a_malformed_metadata_file_is_one_line_before_any_grading(tmp_path, capsys):
    pytest.importorskip("yaml")
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as z:
        z.writestr("export/submission_metadata.yml", "submission_1:\n  :submitters: [\n  - x: {")
        z.writestr(f"export/submission_1/{HW1}.py", text(REFERENCE))
    assert batch(export, tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "submission_metadata.yml is not valid YAML (line" in err
    assert not (tmp_path / "out" / "students").exists()


def test_an_unusable_out_is_one_line_before_any_grading(tmp_path, capsys):
    subs = tmp_path / "class"
    put(subs / "ada", HW1 + ".py", text(REFERENCE))
    a_file = tmp_path / "taken"
    a_file.write_text("")
    assert batch(subs, a_file) == 1
    assert "is not a folder" in capsys.readouterr().err
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert batch(subs, locked / "out") == 1
        assert "cannot write" in capsys.readouterr().err


def test_a_batch_that_graded_nobody_exits_1_and_outputs_follow_the_umask(tmp_path, capsys):
    subs, out = tmp_path / "class", tmp_path / "out"
    put(subs / "ada", "notes.txt", "no module here")
    put(subs / "bob", "hw1_gaussian.py", text(REFERENCE))
    old = os.umask(0o022)
    try:
        assert batch(subs, out, "--seed", "1") == 1
    finally:
        os.umask(old)
    captured = capsys.readouterr()
    assert "no submission could be graded" in captured.err
    assert captured.out.startswith("2 submission(s): no_module 2")
    rows = read_csv(out / "grades.csv")
    assert "did you mean hw1_gaussians.py?" in rows["bob"]["reason"]
    for path in (out / "grades.csv", out / "batch.json", student(out, "ada") / "results.json",
                 student(out, "ada") / "feedback.md"):
        assert path.stat().st_mode & 0o777 == 0o644, path


def test_the_progress_bar_names_the_submission_being_graded(tmp_path, monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    from grader.commands import batch as batch_command
    shown = []

    class Recording(tqdm.tqdm):
        def set_postfix_str(self, s="", refresh=True):
            shown.append(s)
            super().set_postfix_str(s, refresh)

    monkeypatch.setattr(tqdm, "tqdm", Recording)
    subs, out = tmp_path / "class", tmp_path / "out"
    put(subs / "ada", HW1 + ".py", text(REFERENCE))
    put(subs / "zed", HW1 + ".py", "import time\ntime.sleep(600)\n")
    assert main(["batch", "hw1", str(subs), "--out", str(out), "--jobs", "1", "--seed", "1",
                 "--timeout", "5"]) == 0
    assert batch_command.STUDENTS_DIR == "students"
    started = [s for s in shown if s.startswith("grading ")]
    # named when it starts (zed while it hangs), not when it is done
    assert started[0] == "grading ada" and "grading zed" in started, shown
    assert all(s in ("grading ada", "grading zed") for s in started), shown
