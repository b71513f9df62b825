"""The warm grader (``grader/warm``): the same results as a cold run, staleness, Ctrl-C,
lifetime, and who may talk to it.

Every test gives the server a socket folder of its own (``GRADER_WARM_DIR``), starts and
stops it explicitly, and checks that no process of it is left.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from grader.homeworks import PROJECT_ROOT
from grader.warm import address, client, server

EXAMPLES = os.path.join(PROJECT_ROOT, "examples", "hw1")
TIMING = re.compile(r"\d+\.\d+ s\)")  # "(seed 1, 0.15 s)": the only output that varies


def environment(folder, **extra):
    """The environment of a run that may use the warm grader listening in ``folder``."""
    return dict(os.environ, GRADER_WARM="1", GRADER_WARM_DIR=str(folder), **extra)


def grader(argv, env, cwd=PROJECT_ROOT, **kw):
    """``python -m grader ARGV``: the finished process (text output)."""
    return subprocess.run([sys.executable, "-m", "grader", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, **kw)


def ping(env, cwd=PROJECT_ROOT):
    """The server's answer to a ping (pid, ready, busy, served), or None."""
    code = ("import json; from grader.commands import warm; "
            "print(json.dumps(warm.ask({'ping': True})))")
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def descendants(pid):
    """The pids of the processes below ``pid`` (its templates and their workers)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parent = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_gone(pids, seconds=30):
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


class Warm:
    """A warm grader started for one test, in a folder of its own."""

    def __init__(self, folder, cwd=PROJECT_ROOT):
        os.makedirs(folder, mode=0o700, exist_ok=True)
        self.folder, self.cwd = folder, cwd
        self.env = environment(folder)
        self.pids = []

    def start(self, idle=None):
        extra = ["--idle", str(idle)] if idle else []
        done = grader(["warm", "start", "hw1", *extra], self.env, cwd=self.cwd)
        assert done.returncode == 0, done.stdout + done.stderr
        return self.track()

    def track(self):
        """The server's pid (and those of its templates), remembered for the cleanup."""
        answer = ping(self.env, self.cwd)
        assert answer, "no warm grader answers"
        self.pids += [answer["pid"], *descendants(answer["pid"])]
        return answer["pid"]

    def stop(self):
        grader(["warm", "stop"], self.env, cwd=self.cwd)
        left = wait_gone(self.pids)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        return left


@pytest.fixture
def warm(tmp_path):
    started = Warm(str(tmp_path / "warm"))
    yield started
    assert started.stop() == [], "a process of the warm grader outlived its test"


def normalized(done, out=None):
    """What must be identical between a cold and a warm run."""
    results = None
    if out is not None and os.path.exists(out):
        with open(out) as fh:
            results = json.load(fh)
        results["extra_data"].pop("seconds")
        results["output"] = TIMING.sub("X s)", results["output"])
    return (done.returncode, TIMING.sub("X s)", done.stdout), done.stderr, results)


@pytest.mark.parametrize("example", ["reference", "stubs", "buggy"])
def test_a_warm_run_gives_what_a_cold_run_gives(warm, tmp_path, example):
    pid = warm.start()
    submission = os.path.join(EXAMPLES, example)
    runs = {}
    for mode in ("cold", "warm"):
        out = str(tmp_path / "results.json")  # the same name: "wrote …" is printed
        env = dict(warm.env, GRADER_WARM="1" if mode == "warm" else "0")
        graded = normalized(grader(["grade", "hw1", submission, "--seed", "1", "--out", out],
                                   env), out)
        checked = normalized(grader(["check", "hw1", "--dir", submission], env))
        quiet = normalized(grader(["grade", "hw1", submission, "--seed", "2", "--quiet",
                                   "--out", out, "--only", "gaussian_logpdf"], env), out)
        runs[mode] = (graded, checked, quiet)
        os.unlink(out)
    assert runs["warm"] == runs["cold"]
    assert ping(warm.env)["served"] == 3
    assert ping(warm.env)["pid"] == pid
    code, stdout, _, results = runs["warm"][0]
    assert code == 0 and f"seed 1" in stdout and results["extra_data"]["seed"] == 1
    assert (runs["warm"][1][0] == 0) == (example == "reference")  # check: 1 when one fails


def test_usage_errors_and_bad_input_come_back_as_from_a_cold_run(warm, tmp_path):
    warm.start()
    for argv in (["grade", "hw1"], ["check", "hw99"], ["grade", "hw1", str(tmp_path / "none")],
                 ["check", "--help"]):
        cold = grader(argv, dict(warm.env, GRADER_WARM="0"))
        hot = grader(argv, warm.env)
        assert (hot.returncode, hot.stdout, hot.stderr) == \
            (cold.returncode, cold.stdout, cold.stderr), argv
    assert ping(warm.env)["served"] == 4


def test_the_first_run_grades_cold_and_starts_the_server_in_the_background(warm):
    assert ping(warm.env) is None
    first = grader(["check", "hw1", "--dir", os.path.join(EXAMPLES, "reference")], warm.env)
    assert first.returncode == 0, first.stderr
    deadline = time.monotonic() + 120
    while not (ping(warm.env) or {}).get("ready") and time.monotonic() < deadline:
        time.sleep(0.1)
    pid = warm.track()
    assert os.getsid(pid) == pid  # a session of its own: no terminal, no Ctrl-C of ours
    assert oct(os.stat(warm.folder).st_mode & 0o777) == "0o700"
    assert oct(os.stat(os.path.join(warm.folder, address.base_name() + ".sock")).st_mode
               & 0o777) == "0o600"
    second = grader(["check", "hw1", "--dir", os.path.join(EXAMPLES, "reference")], warm.env)
    assert (second.returncode, TIMING.sub("", second.stdout)) == \
        (first.returncode, TIMING.sub("", first.stdout))
    assert ping(warm.env)["served"] == 1


def copy_project(dest):
    """A checkout of its own (what the grader loads, and the example), to change safely."""
    for rel in ("grader", "solutions", "data", os.path.join("tests", "public"),
                os.path.join("tests", "hidden"), os.path.join("examples", "hw1", "reference")):
        shutil.copytree(os.path.join(PROJECT_ROOT, rel), os.path.join(dest, rel),
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(PROJECT_ROOT, "tests", "__init__.py"), os.path.join(dest, "tests"))
    return dest


def test_a_change_to_the_grader_makes_it_stale_the_client_goes_cold_and_it_exits(tmp_path):
    project = copy_project(str(tmp_path / "project"))
    warm = Warm(str(tmp_path / "warm"), cwd=project)
    warm.env["PYTHONPATH"] = project  # the copy's grader, not the installed one
    try:
        pid = warm.start()
        argv = ["check", "hw1", "--dir", os.path.join(project, "examples", "hw1", "reference")]
        assert grader(argv, warm.env, cwd=project).returncode == 0
        assert ping(warm.env, project)["served"] == 1
        path = os.path.join(project, "tests", "public", "hw1_gaussians.py")
        os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
        cold = grader(argv, warm.env, cwd=project)
        assert cold.returncode == 0 and "gaussian_logpdf" in cold.stdout
        assert wait_gone([pid]) == []  # the stale server exited ...
        deadline = time.monotonic() + 120  # ... and the cold run started a fresh one
        while not (ping(warm.env, project) or {}).get("ready") and time.monotonic() < deadline:
            time.sleep(0.1)
        fresh = warm.track()
        assert fresh != pid
        assert grader(argv, warm.env, cwd=project).returncode == 0
        assert ping(warm.env, project)["served"] == 1
        # another environment (a GRADER_ variable) is stale too
        other_env = dict(warm.env, GRADER_FORKSERVER="0")
        assert grader(argv, other_env, cwd=project).returncode == 0
        assert wait_gone([fresh]) == []
        deadline = time.monotonic() + 120  # the one started for that environment
        while not (ping(other_env, project) or {}).get("ready") and time.monotonic() < deadline:
            time.sleep(0.1)
        warm.track()
    finally:
        assert warm.stop() == []


LOOPING = '''
import numpy as np


def gaussian_logpdf(x, mean, cov):
    """Never returns."""
    while True:
        pass
'''


def test_ctrl_c_on_the_client_stops_the_grading_and_the_server_keeps_serving(warm, tmp_path):
    pid = warm.start()
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "hw1_gaussians.py").write_text(LOOPING)
    out = tmp_path / "out.json"
    argv = ["grade", "hw1", str(sub), "--seed", "1", "--only", "gaussian_logpdf", "--out",
            str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "grader", *argv], cwd=PROJECT_ROOT,
                            env=warm.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 60
    workers = []
    while not workers and time.monotonic() < deadline:  # the looping worker is running
        time.sleep(0.1)
        if (ping(warm.env) or {}).get("busy"):
            workers = [p for p in descendants(pid) if p not in warm.pids]
    assert workers, "the grading never started a worker"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert not out.exists()
    assert wait_gone(workers) == []  # the looping worker was killed
    answer = ping(warm.env)
    assert answer["pid"] == pid and not answer["busy"]
    again = grader(["grade", "hw1", os.path.join(EXAMPLES, "reference"), "--seed", "1",
                    "--quiet", "--out", str(out)], warm.env)
    assert again.returncode == 0 and json.loads(out.read_text())["score"] > 0
    assert ping(warm.env)["served"] == 2  # the interrupted run, then this one: both warm
    warm.track()  # the templates it started afresh


def test_it_exits_when_idle_and_on_sigterm(warm):
    pid = warm.start(idle=1)
    assert wait_gone(warm.pids) == []
    assert not os.path.exists(os.path.join(warm.folder, address.base_name() + ".sock"))
    pid = warm.start()
    os.kill(pid, signal.SIGTERM)
    assert wait_gone(warm.pids) == []
    assert ping(warm.env) is None


def test_warm_stop_stops_it_and_nothing_is_left(warm):
    warm.start()
    stopped = grader(["warm", "stop"], warm.env)
    assert "stopped" in stopped.stdout
    assert wait_gone(warm.pids) == []
    assert grader(["warm", "status"], warm.env).returncode == 1


@pytest.mark.parametrize("problem", ["symlink", "group", "others"])
def test_an_unsafe_socket_folder_is_refused_and_the_run_goes_cold(tmp_path, problem):
    folder = tmp_path / "warm"
    if problem == "symlink":
        (tmp_path / "real").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "real")
    else:
        folder.mkdir()
        folder.chmod(0o750 if problem == "group" else 0o705)
    with pytest.raises(address.UnsafeFolder):
        address.folder({"GRADER_WARM_DIR": str(folder)})
    env = environment(folder)
    done = grader(["check", "hw1", "--dir", os.path.join(EXAMPLES, "reference")], env)
    assert done.returncode == 0 and "gaussian_logpdf" in done.stdout
    time.sleep(1)
    assert os.listdir(folder) == []  # no server was started there


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
def test_the_folder_of_another_user_and_a_client_of_another_user_are_refused(tmp_path):
    folder = tmp_path / "theirs"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    with pytest.raises(address.UnsafeFolder, match="belongs to uid 65534"):
        address.folder({"GRADER_WARM_DIR": str(folder)})
    # SO_PEERCRED: a connection from another uid is closed without an answer
    listen_dir = tempfile.mkdtemp()  # outside tmp_path, whose parents are 0700
    os.chmod(listen_dir, 0o711)
    path = os.path.join(listen_dir, "s.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.settimeout(60)
    listener.bind(path)
    os.chmod(path, 0o777)
    listener.listen(1)
    request = client.request(["check", "hw1"])
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(path)
                from grader.warm import wire
                try:
                    wire.send(sock, request)
                    answer = wire.Reader(sock).next()
                except OSError:  # closed before (or without) reading the request
                    answer = None
                os._exit(0 if answer is None else 1)
        except BaseException:
            os._exit(2)
    conn, _ = listener.accept()
    assert address.peer_uid(conn) == 65534
    warm = server.Server.__new__(server.Server)  # only its request check is exercised
    assert warm._take(conn) is False
    conn.close()
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    listener.close()
    shutil.rmtree(listen_dir)


def test_messages_are_bounded(tmp_path):
    from grader.warm import wire
    ours, theirs = socket.socketpair()
    theirs.sendall((wire.MAX_MESSAGE + 1).to_bytes(4, "big") + b"{")
    with pytest.raises(wire.ProtocolError):
        wire.Reader(ours).next()
    theirs.sendall((2).to_bytes(4, "big") + b"[]")
    with pytest.raises(wire.ProtocolError):
        wire.Reader(ours).next()
    ours.close()
    theirs.close()


def test_only_check_and_grade_are_sent_and_only_when_asked():
    assert client.wanted(["check", "hw1"], {"GRADER_WARM": "1"})
    assert client.wanted(["grade", "hw1", "x"], {"GRADER_WARM": "1"})
    assert not client.wanted(["check", "hw1"], {})
    assert not client.wanted(["check", "hw1"], {"GRADER_WARM": "0"})
    assert not client.wanted(["batch", "hw1", "x"], {"GRADER_WARM": "1"})
    assert os.environ.get("GRADER_WARM") != "1"  # the rest of the suite runs cold
    key = address.key({"GRADER_SEED": "1", "GRADER_WARM_DIR": "/x", "NO_COLOR": "1",
                       "LANG": "C"})
    assert key["env"] == {"GRADER_SEED": "1", "LANG": "C"}


def on_terminal(argv, env):
    """``python -m grader ARGV`` with its stdout on a pseudo-terminal: (exit code, output)."""
    import pty
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "grader", *argv], cwd=PROJECT_ROOT,
                            env=env, stdout=slave, stderr=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: every writer has closed it
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), TIMING.sub("X s)", b"".join(chunks).decode())


def test_on_a_terminal_the_report_is_in_color_as_in_a_cold_run_unless_no_color(warm):
    warm.start()
    argv = ["check", "hw1", "--dir", os.path.join(EXAMPLES, "buggy")]
    for extra in ({}, {"NO_COLOR": "1"}):
        env = dict(warm.env, **extra)
        env.pop("COLUMNS", None)
        cold = on_terminal(argv, dict(env, GRADER_WARM="0"))
        hot = on_terminal(argv, env)
        assert hot == cold
        assert hot[0] == 1 and ("\033[" in hot[1]) == (not extra)
    assert ping(warm.env)["served"] == 2
