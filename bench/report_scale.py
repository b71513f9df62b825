"""Class report and code similarity at scale: a synthetic hw5 class of N submissions.

Writes an OUTDIR as a batch does (``grades.csv``, ``batch.json``, per student
``students/<key>/{results.json, feedback.md, submission/hw5_structure.py}``), then times
``python -m grader report OUTDIR`` and ``python -m grader report OUTDIR --similarity`` as
a user runs them. The class: each student's module takes every function from one of the
independent solutions in ``tests/suite/data/similarity`` (chosen at random per function,
so unrelated students share whole functions, as in a real class) with a line of their
own in each function; a few students hand in a disguised copy of a classmate's module.
Check outcomes are drawn from a per-student ability. Each figure is the wall time and the
CPU time (user + system, the command's pool processes included). Nothing here asserts.
"""
import argparse
import ast
import csv
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "suite", "data", "similarity")
AUTHORS = ("alice", "bob", "carol", "dmitri", "erin")
MODULE = "hw5_structure.py"


def functions_by_author():
    """{author: ({function name: source}, import lines)} of the fixture solutions."""
    out = {}
    for author in AUTHORS:
        with open(os.path.join(FIXTURES, f"hw5_{author}.py"), encoding="utf-8") as fh:
            text = fh.read()
        tree = ast.parse(text)
        funcs = {n.name: ast.get_source_segment(text, n) for n in tree.body
                 if isinstance(n, ast.FunctionDef)}
        imports = [ast.get_source_segment(text, n) for n in tree.body
                   if isinstance(n, (ast.Import, ast.ImportFrom))]
        consts = [ast.get_source_segment(text, n) for n in tree.body if isinstance(n, ast.Assign)]
        out[author] = (funcs, imports + consts)
    return out


def own_line(rng):
    """A statement of the student's own (what makes two solutions differ in detail)."""
    a, b = rng.randint(2, 97), rng.randint(2, 97)
    return rng.choice([f"    _check = {a} * {b} - {a + b}",
                       f"    assert {a} > 0, 'step {b}'",
                       f"    _debug = [{a}, {b}, {a * b}]"])


def own_function(rng, name):
    """A function only this student wrote (random statements of a plausible length)."""
    lines = [f"def {name}(cards, *rest):", "    total = 0"]
    for _ in range(rng.randint(5, 12)):
        a, b, c = rng.randint(0, 9), rng.randint(2, 99), rng.randint(2, 99)
        lines.append(rng.choice([f"    total += {b} * len(cards) - {c}",
                                 f"    for i in range({b}):\n        total ^= i * {c}",
                                 f"    if total > {b}:\n        total //= {a + 2}",
                                 f"    total = max(total, {c}) + {a}"]))
    return "\n".join(lines + ["    return total"])


def student_module(rng, library):
    """One synthetic module: each stub function from a random author (half of the time)
    or the student's own, and a line of the student's own in every borrowed function."""
    names = list(library[AUTHORS[0]][0])
    header, body = set(), []
    for name in names:
        if name.startswith("_"):
            continue
        if rng.random() < 0.5:
            body.append(own_function(rng, name))
            continue
        author = rng.choice([a for a in AUTHORS if name in library[a][0]])
        funcs, preamble = library[author]
        header.update(preamble)
        lines = funcs[name].splitlines()
        cut = rng.randint(1, max(1, len(lines) - 1))
        body.append("\n".join(lines[:cut] + [own_line(rng)] + lines[cut:]))
        for helper in (h for h in funcs if h.startswith("_") and f"{h}(" in funcs[name]):
            body.append(funcs[helper])
    rng.shuffle(body)
    imports = sorted(h for h in header if h.startswith(("import", "from")))
    consts = sorted(h for h in header if not h.startswith(("import", "from")))
    return "\n".join(imports + consts) + "\n\n\n" + "\n\n\n".join(body) + "\n"


def disguise(code, rng):
    """A copy with its functions reordered and a comment added: what a copier hands in."""
    head, *funcs = code.split("\n\n\n")
    rng.shuffle(funcs)
    return "# my own work\n" + "\n\n\n".join([head, *funcs])


def results_doc(checks, ability, rng, seconds):
    """A results.json document: each check passed with probability ``ability``."""
    tests = []
    for check in checks:
        passed = rng.random() < ability
        output = "passed all 4 case(s)" if passed else rng.choice([
            f"case 'n={rng.randint(2, 40)}': failed\nexpected {rng.randint(1, 10**6)}, "
            f"got {rng.randint(1, 10**6)}\nrerun this case: python -m grader grade hw5 x",
            "not implemented yet",
            f"case 'cycle of {rng.randint(2, 9)}': failed\nno ValueError was raised"])
        tests.append({"name": f"{check.exercise}: {check.title}",
                      "score": check.points if passed else 0.0, "max_score": check.points,
                      "status": "passed" if passed else "failed", "output": output,
                      "visibility": "visible", "tags": [check.exercise],
                      "extra_data": {"check": check.id, "exercise": check.exercise,
                                     "status": "passed" if passed else "failed"}})
    return {"score": sum(t["score"] for t in tests), "output": "", "tests": tests,
            "extra_data": {"seed": 1, "homework": "hw5", "import_status": "ok",
                           "seconds": seconds}}


def synthetic_class(out, n, copies, seed=0):
    """Write OUTDIR for ``n`` submissions, ``copies`` of them disguised copies."""
    sys.path.insert(0, ROOT)
    from grader import homeworks
    checks = homeworks.load_checks(homeworks.get("hw5"), include_hidden=True)
    rng = random.Random(seed)
    library = functions_by_author()
    codes = [student_module(rng, library) for _ in range(n - copies)]
    codes += [disguise(rng.choice(codes), rng) for _ in range(copies)]
    rows = []
    for i, code in enumerate(codes):
        key = f"student{i:04d}"
        folder = os.path.join(out, "students", key)
        os.makedirs(os.path.join(folder, "submission"))
        with open(os.path.join(folder, "submission", MODULE), "w", encoding="utf-8") as fh:
            fh.write(code)
        doc = results_doc(checks, rng.betavariate(4, 2), rng, rng.uniform(0.3, 3.0))
        with open(os.path.join(folder, "results.json"), "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        with open(os.path.join(folder, "feedback.md"), "w", encoding="utf-8") as fh:
            fh.write(f"# hw5 — {key}\n")
        rows.append({"id": key, "name": f"Student {i}", "submission": key,
                     "total": doc["score"], "max": sum(c.points for c in checks),
                     "status": "graded"})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["id", "name", "email", "submission", "total", "max",
                                     "status", "reason"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    with open(os.path.join(out, "grades.csv"), "w", encoding="utf-8") as fh:
        fh.write(buffer.getvalue())
    with open(os.path.join(out, "batch.json"), "w", encoding="utf-8") as fh:
        json.dump({"homework": "hw5", "seed": 1}, fh)


def screen_misses(out):
    """(pairs scoring >= the threshold but not listed in similarity.csv, pairs compared)."""
    sys.path.insert(0, ROOT)
    from grader import similarity
    folder = os.path.join(out, "students")
    sources = {}
    for key in sorted(os.listdir(folder)):
        with open(os.path.join(folder, key, "submission", MODULE), encoding="utf-8") as fh:
            sources[key] = fh.read()
    with open(os.path.join(ROOT, "assignments", MODULE), encoding="utf-8") as fh:
        docs = similarity.documents(sources, fh.read(), jobs=1)
    with open(os.path.join(out, similarity.CSV_NAME), encoding="utf-8") as fh:
        listed = {(r["a"], r["b"]) for r in csv.DictReader(fh)}
    missed = compared = 0
    for i, a in enumerate(docs):
        for b in docs[i + 1:]:
            compared += 1
            if (a.key, b.key) not in listed and \
                    similarity.compare(a, b).score >= similarity.THRESHOLD:
                missed += 1
    return missed, compared


def timed(cmd):
    """(wall seconds, CPU seconds of the command and its processes) of running ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def row(label, value, note=""):
    """One line of ``make bench``'s table."""
    print(f"  {label:<58} {value:>14}  {note}")


def main(argv=None):
    """Write the class, time the two commands, print one row each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=1000, help="submissions (default 1000)")
    parser.add_argument("--copies", type=int, default=10, help="disguised copies among them")
    parser.add_argument("--keep", metavar="DIR", help="write the class here and keep it")
    parser.add_argument("--verify-screen", action="store_true",
                        help="also compare every pair exactly and count the listed-worthy "
                        "pairs that the shared-fingerprint screen did not pass on")
    args = parser.parse_args(argv)
    out = args.keep or tempfile.mkdtemp(prefix="grader-report-bench-")
    try:
        synthetic_class(out, args.n, args.copies)
        report = [sys.executable, "-m", "grader", "report", out]
        seconds, cpu = timed(report)
        row(f"report.html for {args.n} submissions", f"{seconds:.1f} s",
            f"CPU {cpu:.1f} s; {os.path.getsize(os.path.join(out, 'report.html')) / 1e6:.1f} MB")
        seconds, cpu = timed(report + ["--similarity"])
        with open(os.path.join(out, "similarity.csv"), encoding="utf-8") as fh:
            listed = sum(1 for _ in fh) - 1
        pairs = args.n * (args.n - 1) // 2
        row(f"report --similarity, {args.n} submissions ({pairs} pairs)", f"{seconds:.1f} s",
            f"CPU {cpu:.1f} s; {listed} pair(s) listed; {args.copies} copies planted")
        if args.verify_screen:
            missed, compared = screen_misses(out)
            row("pairs at the threshold that the screen missed", f"{missed}",
                f"all {compared} pairs compared one by one")
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
