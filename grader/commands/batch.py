"""``batch``: grade a whole class → ``grades.csv``, per-student ``results.json`` and feedback.

Each submission is one job: its module's bytes go to a private temporary folder and it
is graded by the same path as ``python -m grader grade`` (and Gradescope), under a
wall-clock budget. Executors:
- ``local`` (default): J threads of this process. Student code still runs in a fresh
  sandboxed worker per submission (forked from the pre-imported template); only the
  trusted side (cases, expected values, judging) runs here, where the expected values
  are computed once for the whole class. No interpreter start per submission.
- ``processes``: a fresh ``python -m grader grade`` process per submission (J at a time),
  for when the grader's own process should also be separate per student.
- ``dask://HOST:PORT`` (the optional ``distributed`` extra): the ``processes`` jobs on a
  Dask cluster, through the same ``concurrent.futures`` interface. A job that fails, hangs or crashes the grader yields
its own row with a status and reason. Every file is written atomically; a student whose
``results.json`` records the same seed and submission hash is skipped on the next run
(unless ``--regrade``), so an interrupted batch resumes where it stopped.
"""
import concurrent.futures
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

from .. import bundle, engine, homeworks, remote, roster
from ..homeworks import PROJECT_ROOT, load_checks
from ..reporters import gradebook
from ..reporters.gradescope import write_json_atomic
from . import report
from .common import resolve_seed
from .grade import grade_submission, rerun_hint, results_document

HELP = "grade a class: folder of submissions or Gradescope export zip → grades.csv + feedback"
STATE_FILE = "batch.json"
WORK_DIR = ".work"  # the jobs' own files, inside OUTDIR: hidden from every student's code
STDERR_TAIL = 3000


def add_arguments(parser):
    """The options of ``batch``."""
    parser.add_argument("homework", metavar="HW", help="homework id such as hw1")
    parser.add_argument("submissions", metavar="SUBMISSIONS",
                        help="folder of per-student folders or .py/.ipynb files, or the zip "
                        "of Gradescope's Export Submissions")
    parser.add_argument("--out", required=True, metavar="OUTDIR",
                        help="folder for grades.csv and one folder per student")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, metavar="J",
                        help="submissions graded at a time (default: the number of cores)")
    parser.add_argument("--seed", type=int, help="base seed of the hidden cases (default: the "
                        "seed of the previous run in OUTDIR, else random; always recorded)")
    parser.add_argument("--regrade", action="store_true",
                        help="grade again the students already graded with this seed")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
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


def grade_job(job):
    """Grade one submission; returns plain data: ``{"doc": results.json or None, "error": str}``.

    ``job`` holds ``homework``, ``seed``, ``kind`` (.py/.ipynb), ``content`` (bytes or None),
    ``origin`` (shown in rerun hints), ``hide`` (folders the student's code must not see),
    ``timeout`` (seconds) and ``workdir`` (a hidden folder for the job's files, used when it
    exists on the machine that runs the job). Never raises for the submission's faults.
    """
    hw = homeworks.get(job["homework"])
    started = time.monotonic()
    workdir = job.get("workdir")
    tmp = tempfile.mkdtemp(prefix="grader-batch-",
                           dir=workdir if workdir and os.path.isdir(workdir) else None)
    try:
        folder = os.path.join(tmp, "submission")
        os.makedirs(folder)
        if job["content"] is not None:
            with open(os.path.join(folder, hw.module + job["kind"]), "wb") as fh:
                fh.write(job["content"])
        out = os.path.join(tmp, "out", "results.json")
        os.makedirs(os.path.dirname(out))
        cmd = [sys.executable, "-m", "grader", "grade", hw.id, folder, "--out", out,
               "--seed", str(job["seed"]), "--quiet"]
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
            return {"doc": None, "status": "grader_timeout",
                    "error": f"grading took longer than {job['timeout']:g} s and was stopped",
                    "seconds": time.monotonic() - started}
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(proc)
        err = err.decode("utf-8", "replace")[-STDERR_TAIL:]
        if proc.returncode != 0 or not os.path.exists(out):
            last = err.strip().splitlines()[-1] if err.strip() else ""
            return {"doc": None, "status": "grader_error",
                    "error": f"the grader exited with code {proc.returncode}: {last}",
                    "log": err, "seconds": time.monotonic() - started}
        with open(out, encoding="utf-8") as fh:
            text = fh.read()
        text = text.replace(json.dumps(folder)[1:-1], json.dumps(job["origin"])[1:-1])
        return {"doc": json.loads(text), "status": "ok", "error": "",
                "seconds": time.monotonic() - started}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _materialize(job, hw, tmp):
    """Write the job's module into a private folder under ``tmp``; returns the folder."""
    folder = os.path.join(tmp, "submission")
    os.makedirs(folder)
    if job["content"] is not None:
        with open(os.path.join(folder, hw.module + job["kind"]), "wb") as fh:
            fh.write(job["content"])
    return folder


def grade_in_process(job):
    """The ``local`` executor's job: ``grade_job``'s result, graded by this process's engine.

    The budget ``job["timeout"]`` becomes the engine's deadline: checks not started in time
    score zero as ``timeout``. Never raises for the submission's faults.
    """
    hw = homeworks.get(job["homework"])
    started = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="grader-batch-")
    try:
        folder = _materialize(job, hw, tmp)
        result, notes = grade_submission(
            hw, folder, seed=job["seed"], hide=tuple(job.get("hide", ())),
            rerun=rerun_hint(hw.id, job["origin"], job["seed"]),
            deadline=started + job["timeout"])
        text = json.dumps(results_document(result, notes))
        text = text.replace(json.dumps(folder)[1:-1], json.dumps(job["origin"])[1:-1])
        return {"doc": json.loads(text), "status": "ok", "error": "",
                "seconds": time.monotonic() - started}
    except engine.GradingInterrupted:
        raise
    except Exception as exc:  # noqa: BLE001 - a grader fault: this student's row says so
        return {"doc": None, "status": "grader_error", "error": f"{type(exc).__name__}: {exc}",
                "log": traceback.format_exc()[-STDERR_TAIL:],
                "seconds": time.monotonic() - started}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the batch (trusted side, on the instructor's machine) --------------------------------

def default_timeout(hw, checks):
    """A budget no honest submission reaches: import, then every check at its time limit."""
    per_check = [c.seconds or hw.limits.call_seconds for c in checks]
    return 60.0 + 2 * hw.limits.import_seconds + 3 * sum(per_check)


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
    batch = doc.get("extra_data", {}).get("batch", {})
    return doc if batch.get("seed") == seed and batch.get("sha256") == digest else None


def _status(doc, sub):
    """(status, reason) of a graded document."""
    import_status = doc.get("extra_data", {}).get("import_status", "ok")
    if import_status == "ok":
        return "graded", ""
    first = next((t["output"] for t in doc.get("tests", []) if t.get("output")), "")
    reason = first.strip().splitlines()[0][:300] if first.strip() else import_status
    if sub.module_path is None:
        return "no_module", sub.reason
    return import_status, reason


def _rows(sub, doc, outcome, exercises):
    """Gradebook rows (one per student of the submission)."""
    base = {"submission": sub.key}
    if doc is not None:
        status, reason = _status(doc, sub)
        points = gradebook.exercise_points(doc)
        base.update(total=float(doc["score"]),
                    max=sum(float(t["max_score"]) for t in doc["tests"]),
                    status=status, reason=reason, graded=True)
        base.update({name: points.get(name, (0.0, 0.0))[0] for name in exercises})
    else:
        base.update(total="", max="", status=outcome["status"], reason=outcome["error"],
                    graded=False)
    return [dict(base, id=s.id, name=s.name, email=s.email) for s in sub.students]


def _write_student(out, sub, doc, hw):
    folder = os.path.join(out, sub.key)
    who = ", ".join(s.name or s.id for s in sub.students)
    gradebook.write_text_atomic(os.path.join(folder, "feedback.md"),
                                gradebook.feedback_markdown(doc, who=who,
                                                            title=f"{hw.id} — {hw.title}"))
    write_json_atomic(os.path.join(folder, "results.json"), doc)  # last: marks it done
    if os.path.exists(os.path.join(folder, "error.json")):
        os.unlink(os.path.join(folder, "error.json"))


def run(args):
    """Run ``python -m grader batch``; returns the exit code."""
    hw = homeworks.get(args.homework)
    out = os.path.abspath(args.out)
    seed = resolve_seed(args.seed if args.seed is not None else _previous_seed(out))
    checks = load_checks(hw, include_hidden=True)
    exercises = list(dict.fromkeys(c.exercise for c in checks))
    maxima = {name: sum(c.points for c in checks if c.exercise == name) for name in exercises}
    timeout = args.timeout or default_timeout(hw, checks)
    os.makedirs(os.path.join(out, WORK_DIR), mode=0o700, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="grader-batch-export-")
    try:
        subs = [s for s in roster.collect(hw, args.submissions, scratch)  # not OUTDIR itself
                if not (s.origin == out or s.origin.startswith(out + os.sep))]
        write_json_atomic(os.path.join(out, STATE_FILE), {"homework": hw.id, "seed": seed})
        hide = sorted({out, scratch, os.path.abspath(args.submissions if os.path.isdir(
            args.submissions) else os.path.dirname(os.path.abspath(args.submissions)))})
        print(f"{hw.id}: {len(subs)} submission(s) from {args.submissions}, seed {seed}",
              file=sys.stderr)
        results, todo = {}, []
        for sub in subs:
            digest = sub.sha256()
            doc = None if args.regrade else _cached(os.path.join(out, sub.key, "results.json"),
                                                    seed, digest)
            if doc is not None:
                results[sub.key] = (doc, None, True)
            else:
                todo.append((sub, digest))
        rows_by_key = {}
        try:
            _grade_all(hw, todo, seed, hide, timeout, args, out, results)
        finally:
            for sub in subs:
                if sub.key in results:
                    doc, outcome, _ = results[sub.key]
                    rows_by_key[sub.key] = _rows(sub, doc, outcome, exercises)
            rows = [r for sub in subs for r in rows_by_key.get(sub.key, [])]
            gradebook.write_text_atomic(os.path.join(out, "grades.csv"),
                                        gradebook.csv_text(rows, exercises))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(os.path.join(out, WORK_DIR), ignore_errors=True)
    graded = sum(1 for doc, _, _ in results.values() if doc is not None)
    failed = [key for key, (doc, _, _) in results.items() if doc is None]
    skipped = sum(1 for _, _, cached in results.values() if cached)
    stats = gradebook.class_statistics(rows, exercises, maxima)
    print(gradebook.summary_text(stats, graded=graded, failed=len(failed), skipped=skipped))
    for key in failed:
        print(f"  failed: {key}: {results[key][1]['status']}: {results[key][1]['error']}")
    print(f"wrote {os.path.join(out, 'grades.csv')} and {len(results)} student folder(s)")
    report.after_batch(out, args)
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
    executor, client = _executor(args.executor, args.jobs)
    job_function = grade_in_process if args.executor in ("", "local") else \
        remote.grade_remote if client is not None else grade_job
    engine.resume_grading()
    bar = _progress(len(todo), hw.id, args.no_progress)
    # Dask workers have the grader installed, not the course: send its files once per worker
    course = None if client is None else client.scatter(bundle.course_bundle(hw.id),
                                                        broadcast=True)
    try:
        futures = {}
        for sub, digest in todo:
            job = {"homework": hw.id, "seed": seed, "kind": sub.kind, "content": sub.content(),
                   "origin": sub.origin, "hide": hide, "timeout": timeout,
                   "workdir": os.path.join(out, WORK_DIR)}
            if course is not None:
                job["course"] = course
            futures[executor.submit(job_function, job)] = (sub, digest)
        for future in concurrent.futures.as_completed(futures):
            sub, digest = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # noqa: BLE001 - the executor lost the job: one row
                outcome = {"doc": None, "status": "grader_error",
                           "error": f"{type(exc).__name__}: {exc}"}
            doc = outcome.get("doc")
            if doc is not None:
                doc.setdefault("extra_data", {})["batch"] = {
                    "seed": seed, "sha256": digest, "submission": sub.origin}
                _write_student(out, sub, doc, hw)
            else:
                write_json_atomic(os.path.join(out, sub.key, "error.json"), outcome)
            results[sub.key] = (doc, outcome, False)
            if bar is not None:
                bar.set_postfix_str(sub.key[:24], refresh=False)
                bar.update(1)
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
            executor.shutdown(wait=False)
            client.close()


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
