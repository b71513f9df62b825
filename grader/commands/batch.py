"""``batch``: grade a whole class → ``grades.csv``, per-student ``results.json`` and feedback.

Output layout (student names can never shadow the batch's own files)::

    OUTDIR/grades.csv                    the gradebook (one row per student)
    OUTDIR/batch.json                    the homework and seed of this OUTDIR
    OUTDIR/students/<key>/results.json   Gradescope's schema, extra_data.status and .reason
    OUTDIR/students/<key>/feedback.md    what a student reads
    OUTDIR/students/<key>/submission/    the module file(s) graded: every "rerun this case"
                                         line points here, and it stays after the batch

``<key>`` is the submission's folder or file name (or its export folder), sanitized.
Each submission is resolved by ``intake`` on this machine (the same rule as every face),
its module files are kept under ``submission/``, and one job grades them through
``grading.grade`` under a wall-clock budget. Executors:
- ``local`` (default): J threads of this process (default: twice the cores). Student code
  still runs in a fresh sandboxed worker per submission (forked from the template); only the
  trusted side (cases, expected values, judging) runs here, where the expected values
  are computed once for the whole class. No interpreter start per submission.
- ``processes``: a fresh ``python -m grader grade`` process per submission (J at a time,
  default: the cores), for when the grader's own process should also be separate per
  student.
- ``dask://HOST:PORT`` (the optional ``distributed`` extra): the same jobs on a Dask
  cluster, through the same ``concurrent.futures`` interface; each worker process grades
  them like the ``local`` executor, in one grading process of its own (``remote.py``).
A job that fails, hangs or crashes the grader yields its own row with a status and reason.
Every file is written atomically; a student whose ``results.json`` records the same seed
and submission hash is skipped on the next run (unless ``--regrade``), so an interrupted
batch resumes where it stopped. Exit code: 0 when at least one submission was graded,
1 when none was (or for bad input, detected before any grading).
"""
import concurrent.futures
import hashlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

from .. import bundle, engine, homeworks, intake, remote, roster
from ..grading import GradeRequest, Replay, budget_seconds, grade
from ..homeworks import PROJECT_ROOT, load_checks
from ..reporters import gradebook
from ..reporters.gradescope import write_json_atomic
from ..results import Status
from . import report
from .common import positive, resolve_seed, writable_folder

STATE_FILE = "batch.json"
GRADEBOOK = "grades.csv"
STUDENTS_DIR = "students"
WORK_DIR = ".work"  # the jobs' own files, inside OUTDIR: hidden from every student's code
STDERR_TAIL = 3000
GRADED_STATUSES = (Status.GRADED, Status.TIMEOUT, Status.IMPORT_FAILED)
IN_FLIGHT_PER_JOB = 2  # local jobs submitted ahead per thread (see _grade_all)
MAX_DASK_GROUP = 4  # submissions per Dask task, at most
GROUPS_PER_THREAD = 4  # at least this many tasks per Dask thread, for an even finish


def dask_group_size(submissions, threads):
    """How many submissions one Dask task grades: Dask's own cost per task (the scheduler's
    and the worker's bookkeeping, about 10 ms of CPU) is paid once per group, while every
    thread of the cluster still gets several tasks, so that the threads finish together."""
    return max(1, min(MAX_DASK_GROUP, submissions // (GROUPS_PER_THREAD * max(1, threads))))


def default_jobs(executor):
    """Twice the cores for the ``local`` executor: each grading alternates between this
    process (cases, judging) and its worker (the student's code), so with one job per core
    a core often waits. The cores for ``processes``, whose jobs are whole grader processes."""
    return (2 if executor in ("", "local") else 1) * (os.cpu_count() or 1)


def add_arguments(parser):
    """The options of ``batch``."""
    parser.add_argument("homework", metavar="HW", help="homework id such as hw1")
    parser.add_argument("submissions", metavar="SUBMISSIONS",
                        help="folder of per-student folders or .py/.ipynb files, or the zip "
                        "of Gradescope's Export Submissions")
    parser.add_argument("--out", required=True, metavar="OUTDIR",
                        help="folder for grades.csv, batch.json and students/<id>/")
    parser.add_argument("--jobs", "-j", type=positive(int), default=None,
                        metavar="J", help="submissions graded at a time (default: twice the "
                        "number of cores; the number of cores with --executor processes)")
    parser.add_argument("--seed", type=int, help="base seed of the hidden cases (default: the "
                        "seed of the previous run in OUTDIR, else random; always recorded)")
    parser.add_argument("--regrade", action="store_true",
                        help="grade everyone again (also needed to change OUTDIR's seed)")
    parser.add_argument("--timeout", type=positive(float), default=None, metavar="SECONDS",
                        help="wall-clock budget of one submission (default: from the "
                        "homework's limits)")
    parser.add_argument("--executor", default="local", metavar="EXECUTOR",
                        help="local (default: threads of this process), processes (a grading "
                        "process per submission) or dask://HOST:PORT (the distributed extra)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    report.add_similarity(parser)


# --- the job (runs on the executor: local thread, or a Dask worker) -----------------------

_RUNNING = set()
_RUNNING_LOCK = threading.Lock()


def _stop(proc):
    """Ask the grading process to stop (it then closes its sandbox), then kill its group."""
    for sig, wait in ((signal.SIGINT, 3.0), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def stop_running_jobs():
    """Stop every grading process started by this process's jobs (on Ctrl-C)."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for proc in running:
        _stop(proc)


def _materialize(job, tmp):
    """Write the job's module files into ``tmp/submission``; returns that folder."""
    folder = os.path.join(tmp, "submission")
    os.makedirs(folder)
    for rel, content in job["files"].items():
        path = os.path.join(folder, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(content)
    return folder


def _request(job, folder, budget):
    hw = homeworks.get(job["homework"])
    return GradeRequest(homework=hw, submission=folder, seed=job["seed"],
                        hide=tuple(job.get("hide", ())), display_name=job["origin"],
                        replay=Replay("grade", target=job["rerun_path"]),
                        budget_seconds=budget, problem=job["problem"])


def _tmp(job):
    workdir = job.get("workdir")
    return tempfile.mkdtemp(prefix="grader-batch-",
                            dir=workdir if workdir and os.path.isdir(workdir) else None)


def grade_job(job):
    """The ``processes``/Dask job: grade one submission in a fresh ``python -m grader grade``.

    ``job`` holds ``homework``, ``seed``, ``files`` ({path in the submission: bytes}),
    ``problem`` (why it cannot be graded, or ''), ``origin`` (its display name),
    ``rerun_path`` (the kept copy rerun commands name), ``hide`` (folders the student's
    code must not see), ``timeout`` (seconds) and ``workdir`` (a hidden folder for the
    job's files, used when it exists where the job runs). Returns plain data:
    ``{"doc": results.json or None, "status": str, "error": str, ...}``.
    """
    if job["problem"]:  # nothing of the student's runs: grade it here
        return grade_in_process(job)
    started = time.monotonic()
    tmp = _tmp(job)
    try:
        folder = _materialize(job, tmp)
        out = os.path.join(tmp, "out", "results.json")
        os.makedirs(os.path.dirname(out))
        cmd = [sys.executable, "-m", "grader", "grade", job["homework"], folder, "--out", out,
               "--seed", str(job["seed"]), "--quiet", "--name", job["origin"],
               "--rerun-path", job["rerun_path"]]
        for path in job.get("hide", ()):
            cmd += ["--hide", path]
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                start_new_session=True)
        with _RUNNING_LOCK:
            _RUNNING.add(proc)
        try:
            _, err = proc.communicate(timeout=job["timeout"])
        except subprocess.TimeoutExpired:
            _stop(proc)
            proc.communicate()
            return {"doc": None, "status": Status.GRADER_TIMEOUT.value,
                    "error": f"grading took longer than {job['timeout']:g} s and was stopped",
                    "seconds": time.monotonic() - started}
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
        err = err.decode("utf-8", "replace")[-STDERR_TAIL:]
        if proc.returncode != 0 or not os.path.exists(out):
            last = err.strip().splitlines()[-1] if err.strip() else ""
            return {"doc": None, "status": Status.GRADER_ERROR.value,
                    "error": f"the grader exited with code {proc.returncode}: {last}",
                    "log": err, "seconds": time.monotonic() - started}
        with open(out, encoding="utf-8") as fh:
            doc = json.load(fh)
        return {"doc": doc, "status": doc["extra_data"]["status"], "error": "",
                "seconds": time.monotonic() - started}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def grade_in_process(job):
    """The ``local`` executor's job: ``grade_job``'s result, graded by this process.

    The budget ``job["timeout"]`` bounds the grading: checks not started in time score
    zero as ``timeout``. Never raises for the submission's faults.
    """
    started = time.monotonic()
    tmp = _tmp(job)
    try:
        folder = _materialize(job, tmp)
        graded = grade(_request(job, folder, job["timeout"]))
        return {"doc": graded.document(), "status": graded.status.value, "error": "",
                "seconds": time.monotonic() - started}
    except engine.GradingInterrupted:
        raise
    except Exception as exc:  # noqa: BLE001 - a grader fault: this student's row says so
        return {"doc": None, "status": Status.GRADER_ERROR.value,
                "error": f"{type(exc).__name__}: {exc}",
                "log": traceback.format_exc()[-STDERR_TAIL:],
                "seconds": time.monotonic() - started}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the batch (trusted side, on the instructor's machine) --------------------------------

def _executor(spec, jobs):
    """(concurrent.futures executor, Dask client or None) for ``--executor``."""
    if spec in ("", "local", "processes"):
        return concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)), None
    if spec.startswith("dask://"):
        try:
            from distributed import Client
        except ImportError:
            raise roster.RosterError("--executor dask:// needs the distributed extra: "
                                     "pip install '.[distributed]'") from None
        address = "tcp://" + spec[len("dask://"):]
        try:
            client = Client(address, timeout="30s")
        except (OSError, TimeoutError) as exc:
            raise roster.RosterError(f"cannot reach the Dask scheduler at {address}: {exc}") \
                from None
        return client.get_executor(pure=False), client
    raise roster.RosterError(f"unknown executor {spec!r}: use local or dask://HOST:PORT")


def _previous_seed(out):
    try:
        with open(os.path.join(out, STATE_FILE), encoding="utf-8") as fh:
            return int(json.load(fh)["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _cached(path, seed, digest):
    """The results.json at ``path`` when it was graded with ``seed`` from ``digest``."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return None
    extra = doc.get("extra_data", {}) if isinstance(doc, dict) else {}
    batch = extra.get("batch", {})
    if "status" not in extra:  # written by an older grader: grade again
        return None
    return doc if batch.get("seed") == seed and batch.get("sha256") == digest else None


class Prepared:
    """A submission ready to grade: its module files (kept under OUTDIR), problem and hash."""

    def __init__(self, hw, sub, out):
        self.sub = sub
        self.folder = os.path.join(out, STUDENTS_DIR, sub.key)
        self.kept = os.path.join(self.folder, "submission")
        self.problem, self.files = sub.problem, {}
        if sub.path is not None:
            found = intake.resolve(hw, sub.path)
            self.files = {c.relpath: c.content for c in found.found}
            if not os.path.isdir(sub.path):  # a flat file of any name: kept under its module name
                self.files = {(hw.module + ".ipynb" if c.is_notebook else hw.filename): c.content
                              for c in found.found}
            self.problem = "" if found.candidates else found.problem
        digest = hashlib.sha256(self.problem.encode())
        for rel, content in sorted(self.files.items()):
            digest.update(b"\0" + rel.encode() + b"\0" + hashlib.sha256(content).digest())
        self.digest = digest.hexdigest()

    def keep(self):
        """Write the module files under ``students/<key>/submission/`` (what reruns name)."""
        shutil.rmtree(self.kept, ignore_errors=True)
        for rel, content in self.files.items():
            path = os.path.join(self.kept, *rel.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(content)

    def job(self, hw, seed, hide, timeout, out):
        """The plain-data job of this submission (see ``grade_job``)."""
        return {"homework": hw.id, "seed": seed, "files": self.files, "problem": self.problem,
                "origin": self.sub.origin, "rerun_path": self.kept, "hide": hide,
                "timeout": timeout, "workdir": os.path.join(out, WORK_DIR)}


def _summary(doc):
    """What a student's gradebook rows need of its results.json document (None stays None):
    the batch keeps this much per student; the whole document is on disk."""
    if doc is None:
        return None
    extra = doc["extra_data"]
    return {"total": float(doc["score"]), "max": sum(float(t["max_score"]) for t in doc["tests"]),
            "status": extra["status"], "reason": extra.get("reason", ""),
            "points": {name: got for name, (got, _) in gradebook.exercise_points(doc).items()}}


def _rows(sub, summary, outcome, exercises):
    """Gradebook rows (one per student of the submission), from its ``_summary``."""
    base = {"submission": sub.key}
    if summary is not None:
        reason = "; ".join(r for r in (summary["reason"], *sub.flags) if r)
        base.update(total=summary["total"], max=summary["max"],
                    status=Status(summary["status"]), reason=reason, graded=True)
        base.update({name: summary["points"].get(name, 0.0) for name in exercises})
    else:
        base.update(total="", max="", status=Status(outcome["status"]),
                    reason="; ".join([outcome["error"], *sub.flags]), graded=False)
    return [dict(base, id=s.id, name=s.name, email=s.email) for s in sub.students]


def _write_student(prepared, doc, hw):
    folder, sub = prepared.folder, prepared.sub
    who = ", ".join(s.name or s.id for s in sub.students)
    gradebook.write_text_atomic(os.path.join(folder, "feedback.md"),
                                gradebook.feedback_markdown(doc, who=who,
                                                            title=f"{hw.id} — {hw.title}"))
    write_json_atomic(os.path.join(folder, "results.json"), doc)  # last: marks it done
    if os.path.exists(os.path.join(folder, "error.json")):
        os.unlink(os.path.join(folder, "error.json"))


def _seed(args, out):
    """The seed of this run; refuses to change OUTDIR's seed without ``--regrade``."""
    previous = _previous_seed(out)
    if args.seed is not None and previous is not None and args.seed != previous \
            and not args.regrade:
        raise roster.RosterError(
            f"{out} was graded with seed {previous}: to regrade everyone with seed {args.seed} "
            "add --regrade, or choose another --out")
    return resolve_seed(args.seed if args.seed is not None else previous)


def run(args):
    """Run ``python -m grader batch``; returns the exit code."""
    hw = homeworks.get(args.homework)
    out = os.path.abspath(args.out)
    if not os.path.exists(args.submissions):
        raise FileNotFoundError(f"submissions {args.submissions} do not exist")
    if args.executor not in ("", "local", "processes") and \
            not args.executor.startswith("dask://"):
        raise roster.RosterError(f"unknown executor {args.executor!r}: use local, processes or "
                                 "dask://HOST:PORT")
    writable_folder(out)  # before any grading
    seed = _seed(args, out)
    checks = load_checks(hw, include_hidden=True)
    exercises = list(dict.fromkeys(c.exercise for c in checks))
    maxima = {name: sum(c.points for c in checks if c.exercise == name) for name in exercises}
    timeout = args.timeout or budget_seconds(hw, checks)
    scratch = tempfile.mkdtemp(prefix="grader-batch-export-")
    try:
        subs = [s for s in roster.collect(args.submissions, scratch)  # not OUTDIR itself
                if not (s.origin == out or s.origin.startswith(out + os.sep))]
        os.makedirs(os.path.join(out, WORK_DIR), mode=0o700, exist_ok=True)
        write_json_atomic(os.path.join(out, STATE_FILE), {"homework": hw.id, "seed": seed})
        hide = sorted({out, scratch, os.path.abspath(args.submissions if os.path.isdir(
            args.submissions) else os.path.dirname(os.path.abspath(args.submissions)))})
        print(f"{hw.id}: {len(subs)} submission(s) from {args.submissions}, seed {seed}",
              file=sys.stderr)
        prepared = [Prepared(hw, sub, out) for sub in subs]
        results, todo = {}, []
        for one in prepared:
            doc = None if args.regrade else _cached(
                os.path.join(one.folder, "results.json"), seed, one.digest)
            if doc is not None:
                results[one.sub.key] = (_summary(doc), None, True)
            else:
                one.keep()
                todo.append(one)
        try:
            _grade_all(hw, todo, seed, hide, timeout, args, out, results)
        finally:
            rows = [row for one in prepared if one.sub.key in results
                    for row in _rows(one.sub, results[one.sub.key][0], results[one.sub.key][1],
                                     exercises)]
            gradebook.write_text_atomic(os.path.join(out, GRADEBOOK),
                                        gradebook.csv_text(rows, exercises))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(os.path.join(out, WORK_DIR), ignore_errors=True)
    return _report(results, rows, exercises, maxima, out, args)


def _report(results, rows, exercises, maxima, out, args):
    """Print the summary (submissions per status, exercise statistics); returns the exit code."""
    by_key = {}
    for row in rows:
        by_key.setdefault(row["submission"], row)
    counts = {status.value: 0 for status in Status}
    for row in by_key.values():
        counts[Status(row["status"]).value] += 1
    skipped = sum(1 for _, _, cached in results.values() if cached)
    stats = gradebook.class_statistics(rows, exercises, maxima)
    print(gradebook.summary_text(stats, counts=counts, skipped=skipped))
    for key, row in by_key.items():
        if row["status"] != Status.GRADED:
            print(f"  {row['status']}: {key}: {row['reason']}"[:300])
    print(f"wrote {os.path.join(out, GRADEBOOK)} and {len(results)} folder(s) under "
          f"{os.path.join(out, STUDENTS_DIR)}")
    report.after_batch(out, args)
    if not any(Status(row["status"]) in GRADED_STATUSES for row in by_key.values()):
        print("error: no submission could be graded (see the statuses above)", file=sys.stderr)
        return 1
    return 0


def _interrupt(signum, frame):
    """SIGTERM (``kill``) stops a batch the way Ctrl-C does: running jobs stopped, CSV written."""
    raise KeyboardInterrupt


def _grade_all(hw, todo, seed, hide, timeout, args, out, results):
    """Run the jobs of ``todo`` on the executor; store each result as soon as it arrives."""
    if not todo:
        return
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    jobs = args.jobs or default_jobs(args.executor)
    executor, client = _executor(args.executor, jobs)
    job_function = grade_in_process if args.executor in ("", "local") else grade_job
    engine.resume_grading()
    bar = _progress(len(todo), hw.id, args.no_progress)
    running, lock = [], threading.Lock()

    def show():
        if bar is not None:
            with lock:
                now = running[0] if running else ""
                more = f" (+{len(running) - 1})" if len(running) > 1 else ""
            bar.set_postfix_str(f"grading {now[:24]}{more}" if now else "", refresh=True)

    def tracked(key, job):
        with lock:
            running.append(key)
        show()
        try:
            return job_function(job)
        finally:
            with lock:
                running.remove(key)

    # Dask workers have the grader installed, not the course: send its files once per worker
    course = None if client is None else client.scatter(bundle.course_bundle(hw.id),
                                                        broadcast=True)
    workers = {} if client is None else _workers_of(client)
    # Each Dask worker process starts its grading process and computes the expected values
    # now, while this process prepares the jobs (futures kept to the end: a released one's
    # task may be dropped).
    warming = [client.submit(remote.warm, course, hw.id, seed, workers=[address],
                             allow_other_workers=False, pure=False) for address in workers]
    group = 1 if client is None else dask_group_size(
        len(todo), sum(w.get("nthreads", 1) for w in workers.values()))
    # Local jobs are submitted a few at a time, so that a class of any size holds only the
    # jobs in flight (their files, their results) besides what each row keeps.
    window = len(todo) if client is not None else max(IN_FLIGHT_PER_JOB * jobs, 8)
    waiting = iter(todo)
    futures = {}

    def submit_next():
        ones = list(itertools.islice(waiting, group))
        if not ones:
            return
        group_jobs = [one.job(hw, seed, hide, timeout, out) for one in ones]
        if client is None:
            future = executor.submit(tracked, ones[0].sub.key, group_jobs[0])
        else:
            for job in group_jobs:
                job["course"] = course
            future = executor.submit(remote.grade_remote_group, group_jobs)
        futures[future] = ones

    def store(one, outcome):
        doc = outcome.get("doc")
        if doc is not None:
            doc["extra_data"]["batch"] = {"seed": seed, "sha256": one.digest,
                                          "submission": one.sub.origin}
            _write_student(one, doc, hw)
        else:
            write_json_atomic(os.path.join(one.folder, "error.json"), outcome)
        results[one.sub.key] = (_summary(doc), {k: outcome.get(k, "") for k in
                                                 ("status", "error")}, False)
        one.files = None  # on disk under students/<key>/submission now

    try:
        for _ in range(0, window, group):
            submit_next()
        while futures:
            done, _ = concurrent.futures.wait(futures,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                ones = futures.pop(future)
                submit_next()
                try:
                    outcomes = future.result()
                    outcomes = [outcomes] if client is None else list(outcomes)
                except Exception as exc:  # noqa: BLE001 - the executor lost the job: one row
                    outcomes = [{"doc": None, "status": Status.GRADER_ERROR.value,
                                 "error": f"{type(exc).__name__}: {exc}"}] * len(ones)
                for one, outcome in zip(ones, outcomes):
                    store(one, outcome)
                if bar is not None:
                    bar.update(len(ones))
                    show()
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        stop_running_jobs()
        engine.interrupt_all()
        raise
    finally:
        if bar is not None:
            bar.close()
        if client is None:
            executor.shutdown(wait=True, cancel_futures=True)
        else:  # Dask's executor cancels nothing on shutdown; closing the client does
            del warming
            executor.shutdown(wait=False)
            client.close()


def _workers_of(client):
    """{address: info} of the Dask cluster's workers now (all of them: recent versions of
    ``distributed`` list only a few unless asked for all)."""
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # a version before that argument, which lists them all
        info = client.scheduler_info()
    return info.get("workers", {})


def _progress(total, label, disabled):
    """A tqdm progress bar with ETA on stderr (None when tqdm is missing or disabled)."""
    if disabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=f"grading {label}", unit="sub", file=sys.stderr,
                mininterval=0.5, dynamic_ncols=True)
