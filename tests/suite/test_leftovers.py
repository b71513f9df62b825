"""A grader killed outright (SIGKILL, out of memory) cannot delete its private folders; the next
grader deletes them, and never a folder whose grader still runs."""
import os
import signal
import subprocess
import sys
import time

import pytest

from grader.homeworks import PROJECT_ROOT
from grader.sandbox import leftovers


def _folder(directory, name, owner=None, mode=0o700):
    path = directory / name
    path.mkdir(mode=mode)
    os.chmod(path, mode)
    (path / "submission").mkdir()
    (path / "submission" / "hw1_gaussians.py").write_text("secret = 1\n")
    if owner is not None:
        (path / leftovers.OWNER_FILE).write_text(owner)
    return path


def _gone_record():
    """The owner record of a process that has exited."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        record = leftovers.owner_record(child.pid)
    finally:
        child.kill()
        child.wait()
    return record


def test_only_the_folders_of_gone_graders_are_deleted(tmp_path):
    namespace = os.readlink("/proc/self/ns/pid")
    gone = _folder(tmp_path, "grader-worker-gone", _gone_record())
    reused = _folder(tmp_path, "grader-template-reused",  # a live pid, another start time
                     f"{os.getpid()} 1 {namespace}")
    alive = _folder(tmp_path, "grader-worker-alive", leftovers.owner_record())
    elsewhere = _folder(tmp_path, "grader-worker-elsewhere",
                        " ".join(_gone_record().split()[:2] + ["pid:[1]"]))
    fresh = _folder(tmp_path, "grader-worker-unmarked")
    old = _folder(tmp_path, "grader-worker-unmarked-old")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    shared = _folder(tmp_path, "grader-worker-open", _gone_record(), 0o755)
    other = _folder(tmp_path, "notes-worker-gone", _gone_record())
    unknown = _folder(tmp_path, "grader-worker-no-start-time",  # never deleted on its record
                      f"{_gone_record().split()[0]} None {namespace}")
    (tmp_path / "grader-worker-link").symlink_to(gone)

    deleted = leftovers.sweep(str(tmp_path))

    assert sorted(deleted) == sorted(map(str, (gone, reused, old)))
    assert not gone.exists() and not reused.exists() and not old.exists()
    for kept in (alive, elsewhere, fresh, shared, other, unknown):
        assert (kept / "submission" / "hw1_gaussians.py").exists(), kept
    assert (tmp_path / "grader-worker-link").is_symlink()


def test_mark_refuses_to_overwrite_a_record(tmp_path):
    leftovers.mark(str(tmp_path))
    assert (tmp_path / leftovers.OWNER_FILE).read_text() == leftovers.owner_record()
    with pytest.raises(FileExistsError):
        leftovers.mark(str(tmp_path))


HANGS = "def gaussian_logpdf(x, mu, Sigma):\n    while True:\n        pass\n"


@pytest.mark.sandbox
def test_the_next_grading_deletes_what_a_killed_grader_left(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir(mode=0o700)
    submission = tmp_path / "alice"
    submission.mkdir()
    (submission / "hw1_gaussians.py").write_text(HANGS)
    env = dict(os.environ, TMPDIR=str(scratch))
    grader = subprocess.Popen(
        [sys.executable, "-m", "grader", "grade", "hw1", str(submission), "--seed", "1",
         "--quiet", "--out", str(tmp_path / "results.json")],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + 120
    while not [n for n in os.listdir(scratch) if n.startswith("grader-worker-")]:
        assert time.monotonic() < deadline and grader.poll() is None, "no worker started"
        time.sleep(0.05)
    os.killpg(grader.pid, signal.SIGKILL)
    grader.wait()
    left = [n for n in os.listdir(scratch) if n.startswith("grader-worker-")]
    assert left, "the killed grader left nothing: this test would prove nothing"

    done = subprocess.run(
        [sys.executable, "-m", "grader", "grade", "hw1",
         os.path.join(PROJECT_ROOT, "examples", "hw1", "stubs"), "--seed", "1", "--quiet",
         "--out", str(tmp_path / "stubs.json")],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not [n for n in left if os.path.exists(scratch / n)]
    assert not [n for n in os.listdir(scratch) if n.startswith(leftovers.PREFIXES)]
