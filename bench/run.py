"""``make bench``: grading speed and memory figures, printed side by side.

Timings are wall-clock medians over a few runs of the real commands, as a user
would run them. Nothing here asserts: machines are shared and noisy. Parts
whose tools are missing (otter-grader, a GPU) print how to enable them.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable


def timed(cmd, repeat=3, cwd=ROOT, env=None, codes=(0,)):
    """Median wall time of ``cmd`` (a list) over ``repeat`` runs; raises if it exits with a
    code not in ``codes``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        if done.returncode not in codes:
            raise subprocess.CalledProcessError(done.returncode, cmd, stderr=done.stderr)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_with_memory(cmd, cwd=ROOT):
    """(wall seconds, peak resident MiB, CPU seconds) of one run of ``cmd``; raises if it
    fails. The peak is the command's own process (and any it waited for), from ``wait4``;
    the CPU is its whole tree's (the worker template reaps its workers, the grader the
    template)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, stderr=err)
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def peak_rss_mib():
    """Largest resident set of any finished child process so far (the grader and its workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def row(label, value, target=""):
    print(f"  {label:<58} {value:>14}  {target}")


def bench_check_and_grade(repeat):
    """``make check HW=hw1`` and one HW1 grading, cold (a fresh process, what a first run
    or ``GRADER_WARM=0`` costs) and warm (served by a warm grader already running, what a
    student's second ``make check`` costs), interleaved so that both see the same load.
    Returns the cold grading's median."""
    print("Student check and one grading (HW1), cold and warm (interleaved medians)")
    out = os.path.join(tempfile.mkdtemp(), "results.json")
    folder = tempfile.mkdtemp(prefix="bench-warm-")  # 0700; a server of its own
    cold_env = dict(os.environ, GRADER_WARM="0")
    warm_env = dict(os.environ, GRADER_WARM="1", GRADER_WARM_DIR=folder)
    check = ["make", "--no-print-directory", "check", "HW=hw1"]
    grade = [PY, "-m", "grader", "grade", "hw1", "examples/hw1/reference", "--out", out,
             "--seed", "1", "--quiet"]
    subprocess.run([PY, "-m", "grader", "warm", "start", "hw1"], cwd=ROOT,
                   env=warm_env, check=True, stdout=subprocess.DEVNULL)
    times = {name: [] for name in ("check cold", "check warm", "grade cold", "grade warm")}
    try:
        for _ in range(repeat):
            times["check cold"].append(timed(check, 1, env=cold_env, codes=(2,)))
            times["check warm"].append(timed(check, 1, env=warm_env, codes=(2,)))
            times["grade cold"].append(timed(grade, 1, env=cold_env))
            times["grade warm"].append(timed(grade, 1, env=warm_env))
    finally:
        subprocess.run([PY, "-m", "grader", "warm", "stop"], cwd=ROOT, env=warm_env,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)
    median = {name: statistics.median(values) for name, values in times.items()}
    row("make check HW=hw1 (stubs, public checks), cold", f"{median['check cold']:.2f} s")
    row("make check HW=hw1, warm grader running (2nd and later runs)",
        f"{median['check warm']:.2f} s", "target <= 0.3 s")
    row("python -m grader grade hw1 (reference, public + hidden), cold",
        f"{median['grade cold']:.2f} s")
    row("the same grading, warm grader running (GRADER_WARM=1)",
        f"{median['grade warm']:.2f} s", "target <= 0.3 s")
    return median["grade cold"]


def _otter_command():
    """How to run otter-grader: ``OTTER_BIN``, or the otter of this interpreter, or None."""
    if os.environ.get("OTTER_BIN"):
        return [os.environ["OTTER_BIN"]]
    sibling = os.path.join(os.path.dirname(PY), "otter")
    return [sibling] if os.path.exists(sibling) else None


def bench_otter(repeat):
    """The same HW1 notebook (reference filled in) graded by ``otter run`` and by us."""
    print("otter-grader 7 comparison (HW1: the same notebook, otter's exported tests)")
    otter = _otter_command()
    if not otter:
        row("otter run", "skipped", "pip install '.[otter]' or set OTTER_BIN")
        return
    sys.path.insert(0, ROOT)
    from grader import homeworks, nbgen, otter_export
    hw = homeworks.get("hw1")
    tmp = tempfile.mkdtemp()
    exported, _ = otter_export.export(hw, tmp, seed=1)
    subprocess.run(otter + ["generate", *otter_export.support_files(tmp)], cwd=tmp, check=True,
                   capture_output=True)
    sub = os.path.join(tmp, "submission")
    os.makedirs(sub)
    import nbformat
    exported_notebook = nbformat.read(os.path.join(tmp, hw.module + ".ipynb"), as_version=4)
    with open(os.path.join(ROOT, "solutions", hw.filename), encoding="utf-8") as fh:
        notebook = nbgen.fill(exported_notebook, fh.read())  # what a student would submit
    path = os.path.join(sub, hw.module + ".ipynb")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(nbgen.dumps(notebook))
    otter_cmd = otter + ["run", "--no-logo", "-a", os.path.join(tmp, "autograder.zip"), "-o",
                         sub, path]
    ours_cmd = [PY, "-m", "grader", "grade", "hw1", path, "--out",
                os.path.join(tmp, "ours.json"), "--seed", "1", "--quiet"]
    otter_times, our_times = [], []
    for _ in range(repeat):  # interleaved: both see the same load
        otter_times.append(timed(otter_cmd, repeat=1, cwd=tmp))
        our_times.append(timed(ours_cmd, repeat=1))
    theirs, ours = statistics.median(otter_times), statistics.median(our_times)
    import json
    with open(os.path.join(sub, "results.json"), encoding="utf-8") as fh:
        otter_score = sum(t.get("score", 0) for t in json.load(fh)["tests"])
    with open(os.path.join(tmp, "ours.json"), encoding="utf-8") as fh:
        our_score = json.load(fh)["score"]
    row("scores: otter (of its exported points) / ours (of all)",
        f"{otter_score:g} / {our_score:g}")
    row(f"otter run (its {len(exported)} exported checks)", f"{theirs:.2f} s")
    row("python -m grader grade, same notebook (all checks)", f"{ours:.2f} s")
    row("ratio otter / ours", f"{theirs / ours:.1f}x", "target >= 10x")
    # One check cell in a warm kernel: otter's grader.check of each exported test against a
    # hand-written otter test of the same calls (bench/otter_warm.py), and this grader's own.
    python = PY if otter[0].startswith(os.path.dirname(PY)) else \
        os.path.join(os.path.dirname(otter[0]), "python")
    warm = [python, os.path.join(ROOT, "bench", "otter_warm.py"),
            "ours=" + os.path.join(tmp, "tests"),
            "hand-written=" + os.path.join(ROOT, "bench", "otter_handwritten"),
            "--repeat", str(100 * repeat)]
    if python == PY:
        warm += ["--notebook", path]
    subprocess.run(warm, cwd=ROOT, check=False)
    shutil.rmtree(tmp, ignore_errors=True)


def bench_batch(hw_id, n, sources, label, target=""):
    """Grade a class of ``n`` submissions (copies of the files ``sources``, in turn) with
    ``python -m grader batch`` (default executor and jobs); prints wall time, throughput and
    the batch process's peak memory."""
    sys.path.insert(0, ROOT)
    from grader import homeworks
    hw = homeworks.get(hw_id)
    tmp = tempfile.mkdtemp()
    subs = os.path.join(tmp, "submissions")
    for i in range(n):
        os.makedirs(os.path.join(subs, f"student{i:03d}"))
        shutil.copy(os.path.join(ROOT, sources[i % len(sources)]),
                    os.path.join(subs, f"student{i:03d}", hw.filename))
    cmd = [PY, "-m", "grader", "batch", hw_id, subs, "--out", os.path.join(tmp, "out"),
           "--seed", "1", "--no-progress"]
    try:
        seconds, peak, cpu = timed_with_memory(cmd)
    except subprocess.CalledProcessError as exc:
        row(f"batch of {n} {hw_id} submissions ({label})", "failed",
            exc.stderr.decode()[-120:])
        return
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cores = os.cpu_count() or 1
    row(f"batch of {n} {hw_id} submissions ({label})", f"{n / seconds:.1f} subs/s",
        f"{seconds:.1f} s, peak {peak:.0f} MiB, CPU {cpu / n * 1000:.0f} ms/sub, "
        f"{cpu / (seconds * cores):.0%} of {cores} cores  {target}")


def _noop(i):
    return i


def bench_dask(n=60, jobs=2, rounds=3, round_trip=True):
    """The same class graded by the local executor with ``jobs`` threads and by 2 local Dask
    worker processes with ``jobs // 2`` threads each (as many gradings at a time), in
    ``rounds`` alternations, each Dask batch on a new cluster (a new homework's first batch:
    its grading processes start within it); with ``round_trip``, Dask's own round trip per
    task too."""
    print(f"Dask (LocalCluster: 2 worker processes x {jobs // 2} thread(s)) vs the local "
          f"executor (--jobs {jobs}), {n} HW1 submissions, all correct, {rounds} rounds")
    try:
        from distributed import Client, LocalCluster
        import logging  # a worker's heartbeat racing the cluster's shutdown logs a traceback
        logging.getLogger("distributed").setLevel(logging.CRITICAL)
    except ImportError:
        row("dask", "skipped", "pip install '.[distributed]'")
        return
    tmp = tempfile.mkdtemp()
    subs = os.path.join(tmp, "submissions")
    for i in range(n):
        os.makedirs(os.path.join(subs, f"student{i:03d}"))
        shutil.copy(os.path.join(ROOT, "solutions", "hw1_gaussians.py"),
                    os.path.join(subs, f"student{i:03d}"))
    base = [PY, "-m", "grader", "batch", "hw1", subs, "--seed", "1", "--no-progress"]
    local, dask, per_task = [], [], None
    try:
        for r in range(rounds):
            local.append(timed(base + ["--out", os.path.join(tmp, f"local{r}"), "--jobs",
                                       str(jobs)], repeat=1))
            with LocalCluster(n_workers=2, threads_per_worker=jobs // 2, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                client.submit(_noop, -1).result()
                if round_trip and per_task is None:
                    started = time.perf_counter()
                    client.gather(client.map(_noop, range(500), pure=False))
                    per_task = (time.perf_counter() - started) / 500
                address = cluster.scheduler_address.replace("tcp://", "dask://")
                dask.append(timed(base + ["--out", os.path.join(tmp, f"dask{r}"),
                                          "--executor", address], repeat=1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratios = sorted(a / b for a, b in zip(local, dask))
    row(f"local executor (--jobs {jobs}), median", f"{statistics.median(local):.1f} s",
        f"{n / statistics.median(local):.1f} submissions/s")
    row("dask, 2 local workers, median", f"{statistics.median(dask):.1f} s",
        f"{n / statistics.median(dask):.1f} submissions/s")
    row("dask / local throughput, median of the rounds", f"{statistics.median(ratios):.2f}x",
        f"rounds {', '.join(f'{x:.2f}' for x in ratios)}; target >= 0.8x")
    if per_task is not None:
        row("dask round trip per task (no-op, 500 tasks)", f"{per_task * 1000:.1f} ms")


SECTIONS = ("check", "protections", "homeworks", "otter", "batch", "dask")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip batches and model training")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections among {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    if "check" in only:
        bench_check_and_grade(args.repeat)
    if "protections" in only:
        subprocess.run([PY, os.path.join(ROOT, "bench", "protections.py")], cwd=ROOT,
                       check=False)
    if "homeworks" in only:
        bench_each_homework(args.repeat)
    if "otter" in only:
        bench_otter(args.repeat)
    if "dask" in only and not args.quick:
        jobs = 2 * (os.cpu_count() or 1)  # the local executor's default --jobs
        bench_dask(n=60, jobs=jobs, rounds=3)  # the fixed costs of a small class count
        bench_dask(n=200, jobs=jobs, rounds=2, round_trip=False)  # mostly the cost per task
    if "batch" in only and not args.quick:
        print(f"Batch grading (default --jobs: {2 * (os.cpu_count() or 1)} threads of one "
              "grader process)")
        bench_batch("hw1", 100, ["solutions/hw1_gaussians.py"], "all correct")
        bench_batch("hw1", 500, ["solutions/hw1_gaussians.py"], "all correct",
                    "target >= 20 subs/s, memory flat in N")
        subprocess.run([PY, os.path.join(ROOT, "bench", "batch_cost.py")], cwd=ROOT,
                       check=False)
        bench_batch("hw1", 100, [f"examples/hw1/{k}/hw1_gaussians.py"
                                 for k in ("reference", "stubs", "buggy")],
                    "ref/stubs/buggy in turn")
        bench_batch("hw6", 20, ["solutions/hw6_autoregressive.py"], "all correct, all train")
        print("Class report and code similarity (synthetic hw5 class, bench/report_scale.py)")
        subprocess.run([PY, os.path.join(ROOT, "bench", "report_scale.py"), "-n", "1000"],
                       cwd=ROOT, check=False)
        hw6 = os.path.join(ROOT, "bench", "hw6.py")
        if os.path.exists(hw6):
            print("HW6 reference models")
            subprocess.run([PY, hw6], cwd=ROOT, check=False)
        print("HW7 reference VAE")
        subprocess.run([PY, os.path.join(ROOT, "bench", "hw7.py")], cwd=ROOT, check=False)
    print("Memory")
    row("peak resident memory of the grader and its workers", f"{peak_rss_mib():.0f} MiB")
    return 0


def bench_each_homework(repeat):
    """Grading time of each registered homework's reference solution (public + hidden checks)."""
    sys.path.insert(0, ROOT)
    from grader import homeworks
    print("One grading per homework (reference solution, public + hidden)")
    for hw in homeworks.HOMEWORKS.values():
        source = os.path.join(ROOT, "solutions", hw.filename)
        if not os.path.exists(source):
            row(f"python -m grader grade {hw.id}", "skipped", "no reference solution")
            continue
        tmp = tempfile.mkdtemp()
        shutil.copy(source, tmp)
        cmd = [PY, "-m", "grader", "grade", hw.id, tmp, "--out",
               os.path.join(tmp, "results.json"), "--seed", "1", "--quiet"]
        try:
            seconds = timed(cmd, repeat)
        except subprocess.CalledProcessError as exc:
            row(f"python -m grader grade {hw.id}", "failed", exc.stderr.decode()[-120:])
            continue
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        row(f"python -m grader grade {hw.id} ({hw.module})", f"{seconds:.2f} s",
            "target <= 3 s on CPU" if hw.id == "hw6" else "")


if __name__ == "__main__":
    sys.exit(main())
