"""`grader/remote.py`, the Dask side of a batch: one grading process per worker process and
bundle serves every thread's jobs, a job that lost its grading process is graded again in a
new one, a job that never gets an answer is given up without taking the others down, and
``warm`` computes the class's expected values before the first job."""
import functools
import os
import threading

import pytest

from grader import bundle, remote
from grader.homeworks import PROJECT_ROOT

UNPACK = bundle.unpack

# A stand-in for the bundle's ``python -m grader.remote``: answers each job with the pid
# that graded it; a job named "crash" ends the process the first time it is seen (a marker
# file remembers it), a job named "hang" is never answered.
FAKE_REMOTE = r"""
import json, os, sys, threading, time
out = sys.stdout
lock = threading.Lock()
def answer(job):
    if job["origin"] == "crash" and not os.path.exists("crashed"):
        open("crashed", "w").close()
        os._exit(1)
    if job["origin"] == "hang":
        return
    time.sleep(0.2)  # long enough for the jobs of both threads to be in flight at once
    with lock:
        out.write(json.dumps({"job": job["job"], "doc": None, "status": "graded",
                              "error": "", "pid": os.getpid(), "origin": job["origin"],
                              "files": sorted(job["files"])}) + "\n")
        out.flush()
for line in sys.stdin:
    threading.Thread(target=answer, args=(json.loads(line),)).start()
"""


@pytest.fixture
def fake_course(tmp_path, monkeypatch):
    """A bundle folder whose ``grader.remote`` is FAKE_REMOTE; every job's course unpacks
    there."""
    folder = tmp_path / "course"
    (folder / "grader").mkdir(parents=True)
    (folder / "grader" / "__init__.py").write_text("")
    (folder / "grader" / "remote.py").write_text(FAKE_REMOTE)
    monkeypatch.setattr(bundle, "unpack", lambda course: str(folder))
    monkeypatch.setattr(remote, "_SERVERS", {})
    yield folder
    remote._stop_all()


def job(origin, timeout=30):
    return {"course": b"", "origin": origin, "files": {"hw1_gaussians.py": b"x = 1\n"},
            "timeout": timeout, "homework": "hw1", "seed": 1, "workdir": "/nowhere"}


def test_threads_of_a_worker_process_share_one_grading_process(fake_course):
    outcomes = [None] * 4

    def grade(i):
        outcomes[i] = remote.grade_remote(job(f"student{i}"))
    threads = [threading.Thread(target=grade, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(o and o["status"] == "graded" for o in outcomes), outcomes
    assert len({o["pid"] for o in outcomes}) == 1 and len(remote._SERVERS) == 1
    assert outcomes[0]["files"] == ["hw1_gaussians.py"]  # the files arrived (base64)
    assert "job" not in outcomes[0]  # the job number stays on this side


def test_a_job_whose_grading_process_ended_is_graded_once_more_in_a_new_one(fake_course):
    first = remote.grade_remote(job("before"))
    crashed = remote.grade_remote(job("crash"))
    assert crashed["status"] == "graded", crashed
    assert crashed["pid"] != first["pid"]
    assert remote.grade_remote(job("after"))["pid"] == crashed["pid"]


def test_a_job_without_an_answer_is_given_up_and_the_others_go_on(fake_course, monkeypatch):
    monkeypatch.setattr(remote, "MARGIN_SECONDS", 0.5)
    before = remote.grade_remote(job("before"))
    hung = remote.grade_remote(job("hang", timeout=0.5))
    assert hung["status"] == "grader_timeout" and hung["doc"] is None, hung
    after = remote.grade_remote(job("after"))
    assert after["status"] == "graded" and after["pid"] == before["pid"]


def test_warm_computes_the_expected_values_in_the_process_that_grades(tmp_path, monkeypatch):
    monkeypatch.setattr(remote, "_SERVERS", {})
    course = bundle.course_bundle("hw1")
    monkeypatch.setattr(bundle, "unpack", functools.partial(UNPACK, root=str(tmp_path)))
    try:
        assert remote.warm(course, "hw1", 3) > 0
        (server,) = remote._SERVERS.values()
        with open(os.path.join(PROJECT_ROOT, "solutions", "hw1_gaussians.py"), "rb") as fh:
            reference = fh.read()
        outcome = remote.grade_remote(dict(job("ada", timeout=120), course=course,
                                           files={"hw1_gaussians.py": reference}, seed=3,
                                           problem="", rerun_path="ada", hide=(),
                                           workdir=str(tmp_path)))
        assert outcome["status"] == "graded", outcome
        doc = outcome["doc"]
        assert doc["score"] == sum(t["max_score"] for t in doc["tests"]) > 0
        assert list(remote._SERVERS.values()) == [server]  # the warmed process graded it
        with pytest.raises(RuntimeError, match="hw99"):
            remote.warm(course, "hw99", 3)
    finally:
        remote._stop_all()


def test_a_group_of_jobs_gets_its_outcomes_in_order(fake_course):
    outcomes = remote.grade_remote_group([job("crash"), job("ada"), job("bob")])
    assert [o["status"] for o in outcomes] == ["graded"] * 3
    assert [o["origin"] for o in outcomes] == ["crash", "ada", "bob"]


@pytest.mark.parametrize("submissions, threads, size", [
    (60, 4, 3), (500, 100, 1), (10_000, 8, 4), (3, 2, 1), (0, 0, 1)])
def test_dask_tasks_group_a_few_submissions_while_every_thread_gets_several(
        submissions, threads, size):
    from grader.commands.batch import dask_group_size
    assert dask_group_size(submissions, threads) == size
