"""What one ``grader.check("q")`` costs in a warm kernel under otter-grader 7.

One process plays the student's kernel: the reference solution of HW1 is defined
in its globals, otter is imported once, and each question is checked over and
over with ``otter.Notebook(tests_dir=...).check(q, global_env=...)`` (exactly what
a notebook's check cell runs), against several test folders in turn
(interleaved, so each sees the same load). The folders are given as
``LABEL=DIR``; ``make bench`` compares the export's tests with the hand-written
ones of ``bench/otter_handwritten/``::

    python bench/otter_warm.py ours=OUTDIR/tests hand-written=bench/otter_handwritten

Every check must pass (the reference is right): a failing one stops the bench.
``--notebook PATH`` also times this grader's own notebook API on that saved
notebook (``grader.notebook.Notebook("hw1", PATH).check(q)``: the sandboxed
engine, not otter).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HANDWRITTEN = os.path.join(HERE, "otter_handwritten")
QUESTIONS = ("gaussian_logpdf", "gaussian_conditional", "mixture_logpdf")


def row(label, value, target=""):
    """One line of ``make bench``'s table (bench/run.py prints the same)."""
    print(f"  {label:<58} {value:>14}  {target}")


def student_globals():
    """The globals of a kernel that ran HW1's reference solution (numpy imported)."""
    env = {"__name__": "__main__"}
    path = os.path.join(ROOT, "solutions", "hw1_gaussians.py")
    with open(path, encoding="utf-8") as fh:
        exec(compile(fh.read(), path, "exec"), env)  # noqa: S102 - our own reference
    return env


def measure(folders, questions, repeat, notebook=None):
    """Seconds of each check, ``{(question, label): [seconds of round 1, 2, ...]}``.

    ``folders`` maps a label to a tests folder (a question missing from a folder is
    skipped for it). In each of ``repeat`` rounds every question is checked with each
    folder back to back, in an order that alternates, so that round by round the
    folders see the same load. With ``notebook``, label ``"grader"`` is this grader's
    own API, timed afterwards over fewer rounds (each starts a sandboxed worker, which
    would disturb otter's timings).
    """
    import otter

    env = student_globals()
    runs = {}
    for label, folder in folders.items():
        checker = otter.Notebook(tests_dir=folder)
        for q in questions:
            if os.path.exists(os.path.join(folder, q + ".py")):
                runs[q, label] = (lambda c=checker, q=q: c.check(q, global_env=env))
    times = _rounds(runs, repeat)
    if notebook is not None:
        sys.path.insert(0, ROOT)
        from grader.notebook import Notebook
        ours = Notebook("hw1", notebook)
        times.update(_rounds({(q, "grader"): (lambda q=q: ours.check(q)) for q in questions},
                             max(3, repeat // 20)))
    return times


def _rounds(runs, repeat):
    """{key: [seconds per round]} of the callables ``runs`` (keys ``(question, label)``),
    after one run each that must pass."""
    for key, run in runs.items():
        result = run()
        passed = getattr(result, "passed", None)
        if passed is None:  # otter's TestFile
            passed = result.grade == 1
        if not passed:
            raise SystemExit(f"{key[1]}: check of {key[0]} failed with the reference:\n{result}")
    times = {key: [] for key in runs}
    questions = list(dict.fromkeys(q for q, _ in runs))
    for n in range(repeat):
        for q in questions:
            keys = [key for key in runs if key[0] == q]
            for key in keys if n % 2 else keys[::-1]:
                start = time.perf_counter()
                runs[key]()
                times[key].append(time.perf_counter() - start)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="+", metavar="LABEL=DIR",
                        help="tests folders; with labels ours and hand-written (last), the "
                             "median ratio of their checks, round by round, is printed too")
    parser.add_argument("--questions", default=",".join(QUESTIONS))
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--notebook", help="a saved HW1 notebook for this grader's own check")
    args = parser.parse_args(argv)
    folders = dict(item.split("=", 1) for item in args.folders)
    folders = {label: os.path.abspath(folder) for label, folder in folders.items()}
    notebook = os.path.abspath(args.notebook) if args.notebook else None
    questions = args.questions.split(",")
    os.chdir(tempfile.mkdtemp())  # otter's Notebook writes its .OTTER_LOG here
    times = measure(folders, questions, args.repeat, notebook)
    for q in questions:
        labels = [label for label in folders if (q, label) in times]
        target = ""
        if labels[-2:] == ["ours", "hand-written"]:
            ratios = [a / b for a, b in zip(times[q, "ours"], times[q, "hand-written"])]
            target = f"{statistics.median(ratios):.2f}x (round by round), target <= 1x"
        row(f"warm kernel, {q}: {' / '.join(labels)}",
            " / ".join(f"{statistics.median(times[q, label]) * 1000:.1f}" for label in labels)
            + " ms", target)
    for q in questions:
        if (q, "grader") in times:
            row(f"warm kernel, {q}: this grader's own check",
                f"{statistics.median(times[q, 'grader']) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
