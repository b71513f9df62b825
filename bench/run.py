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


def timed(cmd, repeat=3, cwd=ROOT, env=None):
    """Median wall time of ``cmd`` (a list) over ``repeat`` runs; raises if it fails."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_rss_mib():
    """Largest resident set of any finished child process so far (the grader and its workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def row(label, value, target=""):
    print(f"  {label:<58} {value:>14}  {target}")


def bench_check_and_grade(repeat):
    print("Student check and one grading (HW1)")
    row("make check HW=hw1 (stubs, public checks)",
        f"{timed(['make', '--no-print-directory', 'check', 'HW=hw1'], repeat):.2f} s",
        "target <= 1.0 s")
    out = os.path.join(tempfile.mkdtemp(), "results.json")
    grade = [PY, "-m", "grader", "grade", "hw1", "examples/hw1/reference", "--out", out,
             "--seed", "1", "--quiet"]
    seconds = timed(grade, repeat)
    row("python -m grader grade hw1 (reference, public + hidden)", f"{seconds:.2f} s",
        "target <= 1.0 s")
    return seconds


def bench_otter(our_seconds, repeat):
    otter = shutil.which("otter", path=os.path.join(ROOT, ".venv-otter", "bin")) or \
        shutil.which("otter")
    print("otter-grader comparison (HW1, same public and hidden cases)")
    if not otter:
        row("otter run", "skipped", "install with `make bench-otter-env`")
        return
    tmp = tempfile.mkdtemp()
    try:
        subprocess.run([PY, "-m", "grader", "export-otter", "hw1", tmp, "--seed", "1"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as exc:
        row("otter run", "skipped", f"export-otter failed: {exc.stderr.decode()[-200:]}")
        return
    sub = os.path.join(tmp, "submission")
    os.makedirs(sub, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "solutions", "hw1_gaussians.py"), sub)
    cmd = [otter, "run", "-a", os.path.join(tmp, "autograder.zip"), "-o", tmp, sub]
    try:
        seconds = timed(cmd, repeat=1)
    except subprocess.CalledProcessError as exc:
        row("otter run", "failed", exc.stderr.decode()[-200:])
        return
    row("otter run (reference)", f"{seconds:.2f} s")
    row("ratio otter / ours", f"{seconds / our_seconds:.1f}x", "target >= 5x")


def bench_batch(hw, n, jobs):
    """Grade ``n`` copies of the example submissions with ``grader batch``."""
    tmp = tempfile.mkdtemp()
    subs = os.path.join(tmp, "submissions")
    examples = sorted(os.listdir(os.path.join(ROOT, "examples", hw)))
    for i in range(n):
        src = os.path.join(ROOT, "examples", hw, examples[i % len(examples)])
        shutil.copytree(src, os.path.join(subs, f"student{i:03d}"))
    cmd = [PY, "-m", "grader", "batch", hw, subs, "--out", os.path.join(tmp, "out"),
           "--seed", "1"] + (["--jobs", str(jobs)] if jobs else [])
    try:
        seconds = timed(cmd, repeat=1)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        row(f"batch of {n} {hw} submissions", "failed", str(exc)[-120:])
        return
    row(f"batch of {n} {hw} submissions ({jobs or os.cpu_count()} jobs)", f"{seconds:.1f} s",
        f"{n / seconds:.1f} submissions/s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="skip batches and model training")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    ours = bench_check_and_grade(args.repeat)
    bench_each_homework(args.repeat)
    bench_otter(ours, args.repeat)
    if not args.quick:
        print("Batch grading")
        bench_batch("hw1", 100, None)
        if os.path.isdir(os.path.join(ROOT, "examples", "hw6")):
            bench_batch("hw6", 20, None)
        hw6 = os.path.join(ROOT, "bench", "hw6.py")
        if os.path.exists(hw6):
            print("HW6 reference models")
            subprocess.run([PY, hw6], cwd=ROOT, check=False)
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
        row(f"python -m grader grade {hw.id} ({hw.module})", f"{seconds:.2f} s")


if __name__ == "__main__":
    sys.exit(main())
