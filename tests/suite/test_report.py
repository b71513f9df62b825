"""The class report (`report.html`): built from a batch's OUTDIR only, with
counts, pass rates, grouped failure messages, flagged checks, escaping and links that
resolve; a real batch writes it; a headless browser renders its figures."""
import csv
import io
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from urllib.parse import unquote

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("jinja2")

from grader.cli import main  # noqa: E402
from grader.homeworks import PROJECT_ROOT  # noqa: E402
from grader.report import build, outdir, stats  # noqa: E402

HW1 = "hw1_gaussians"


class Page(HTMLParser):
    """What the tests read from a report: rows by class (their data-* attributes and text),
    every link and every external reference."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.rows, self.links, self.external, self.text = {}, [], [], []
        self._open = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        for name in ("src", "href"):
            if attrs.get(name, "").startswith(("http:", "https:", "//")):
                self.external.append(attrs[name])
        if tag in ("tr", "div") and attrs.get("class") in ("check", "problem", "submission",
                                                            "pair", "msg"):
            row = {k[5:]: v for k, v in attrs.items() if k.startswith("data-")}
            row["text"] = []
            self.rows.setdefault(attrs["class"], []).append(row)
            self._open.append((tag, row))
        elif tag in ("tr", "div"):
            self._open.append((tag, None))

    def handle_endtag(self, tag):
        if tag in ("tr", "div") and self._open:
            self._open.pop()

    def handle_data(self, data):
        self.text.append(data)
        for _, row in self._open:
            if row is not None:
                row["text"].append(data)

    def table(self, kind, key="key"):
        return {r.get(key): dict(r, text=" ".join("".join(r["text"]).split()))
                for r in self.rows.get(kind, [])}


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


# --- a synthetic class, written as a batch writes it ------------------------------------------

CHECKS = [  # (exercise, title, points)
    ("ex1", "strong students pass", 2.0),
    ("ex1", "weak students pass", 1.0),
    ("ex2", "everyone passes", 1.0),
    ("ex2", "everyone fails", 1.0),
    ("ex2", "half pass", 1.0),
    ("ex2", "most pass", 1.0),
]
# graded students: which checks (by index) they pass; ranked strong to weak
PASSES = {"s0": {0, 2, 4, 5}, "s1": {0, 2, 4, 5}, "s2": {0, 2, 5}, "s3": {2, 5}, "s4": {1, 2}}
HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_MESSAGE = "<img src=x onerror=alert(1)> broke"


def failure_output(check, student, i):
    """Failure outputs whose numbers differ but whose template is shared per check."""
    if check == 0:
        return (f"case 'D={i + 2}': failed\nentry [{i}, 1]: expected {0.25 * i:.3f}, got "
                f"{1.5 + i} (rtol 1e-06)\nrerun this case: python -m grader grade hw1 x "
                f"--seed {i}")
    if check == 3:
        if student == "s4":
            return f"case 'n=3': error\n{HOSTILE_MESSAGE}\nin your code:\n  line 3"
        return f"case 'n={i}': failed\nshape ({i},) where ({i}, {i + 1}) is due"
    return "not implemented yet"


def results_doc(key, passes, *, import_status="ok", seconds=0.5):
    tests = []
    for i, (exercise, title, points) in enumerate(CHECKS):
        passed = i in passes
        test = {"name": f"{exercise}: {title}", "score": points if passed else 0.0,
                "max_score": points, "status": "passed" if passed else "failed",
                "output": "passed all 3 case(s)" if passed else failure_output(
                    i, key, int(key[1:]) if key[1:].isdigit() else 0),
                "visibility": "visible"}
        if import_status != "ok":
            test["output"] = "the module could not be imported: NameError: oops"
        test["tags"] = [exercise]
        test["extra_data"] = {"check": f"{exercise}/{i}", "exercise": exercise,
                              "status": "passed" if passed else "failed"}
        tests.append(test)
    return {"score": sum(t["score"] for t in tests), "output": "", "tests": tests,
            "extra_data": {"seed": 42, "homework": "hw1", "import_status": import_status,
                           "seconds": seconds,
                           "batch": {"seed": 42, "sha256": "0" * 64,
                                     "submission": f"/nowhere/class/{key}"}}}


def write_class(out):
    """OUTDIR of a class: 5 graded, an import failure, an import timeout, a grader timeout,
    no module, under ``students/<key>``."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "batch.json").write_text(json.dumps({"homework": "hw1", "seed": 42}))
    folder = (lambda key: out / "students" / key)
    rows = []
    docs = {key: results_doc(key, passes, seconds=0.2 + int(key[1:]))
            for key, passes in PASSES.items()}
    docs["imp"] = results_doc("imp", set(), import_status="import_failed")
    docs["slow"] = results_doc("slow", set(), import_status="timeout")
    docs["nomod"] = results_doc("nomod", set(),
                                import_status="import_failed")
    statuses = {"imp": "import_failed", "slow": "timeout", "nomod": "no_module"}
    for key, doc in docs.items():
        folder(key).mkdir(parents=True)
        (folder(key) / "results.json").write_text(json.dumps(doc))
        (folder(key) / "feedback.md").write_text(f"# feedback of {key}\n")
        rows.append({"id": key, "name": HOSTILE_NAME if key == "s4" else f"Student {key}",
                     "submission": key, "total": doc["score"], "max": 7.0,
                     "status": statuses.get(key, "graded"),
                     "reason": "NameError: oops" if key in statuses else ""})
    folder("hang").mkdir(parents=True)
    (folder("hang") / "error.json").write_text(json.dumps(
        {"status": "grader_timeout", "error": "took too long", "seconds": 61.0}))
    rows.append({"id": "hang", "name": "", "submission": "hang", "total": "", "max": "",
                 "status": "grader_timeout", "reason": "grading took longer than 60 s"})
    rows.append({"id": "s0b", "name": "Group Partner", "submission": "s0", "total": 5.0,
                 "max": 7.0, "status": "graded", "reason": ""})  # a group: one submission
    write_gradebook(out, rows, ["ex1", "ex2"])
    return out


def write_gradebook(out, rows, exercises):
    """``out/grades.csv`` with ``rows`` (dicts), as the batch writes it."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["id", "name", "email", "submission", "total", "max",
                                     *exercises, "status", "reason"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    (pathlib.Path(out) / "grades.csv").write_text(buffer.getvalue())


def check_statistics(out):
    """[CheckStats] of OUTDIR ``out``, tallied while it is read, as the report does."""
    tally = stats.CheckTally()
    outdir.load(out, tally.add)
    return tally.statistics()


@pytest.fixture
def synthetic(tmp_path):
    return write_class(tmp_path / "out")


def test_counts_pass_rates_and_flags(synthetic):
    page = Page(read(build(synthetic)))
    subs = page.table("submission")
    assert set(subs) == {"s0", "s1", "s2", "s3", "s4", "imp", "slow", "nomod", "hang"}
    assert [subs[k]["status"] for k in ("imp", "slow", "nomod", "hang")] == [
        "import_failed", "timeout", "no_module", "grader_timeout"]
    assert "Group Partner" in subs["s0"]["text"]  # both members of a group submission
    checks = list(page.table("check", "check").values())
    assert [(c["passed"], c["n"]) for c in checks] == [("3", "5"), ("1", "5"), ("5", "5"),
                                                      ("0", "5"), ("2", "5"), ("4", "5")]
    assert [c["flag"] for c in checks] == ["", "", "everyone passes", "everyone fails", "",
                                           ""]
    assert "60%" in checks[0]["text"] and "100%" in checks[2]["text"]
    problems = page.table("problem")
    assert set(problems) == {"imp", "slow", "nomod", "hang"}
    assert "61.00" in subs["hang"]["text"]  # time of a submission that was stopped


def test_discrimination_is_the_point_biserial_correlation(synthetic):
    by_name = {c.name: c for c in check_statistics(synthetic)}
    strong = by_name["ex1: strong students pass"].discrimination
    weak = by_name["ex1: weak students pass"].discrimination
    assert strong > 0.5 and weak < -0.5
    assert by_name["ex2: everyone passes"].discrimination is None
    assert by_name["ex2: everyone fails"].discrimination is None
    # by hand for "strong": passed 1,1,1,0,0 against the rest of the score 3,3,2,2,2
    x, y = [1, 1, 1, 0, 0], [3, 3, 2, 2, 2]
    mx, my = sum(x) / 5, sum(y) / 5
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y))
    r = cov / (sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y)) ** 0.5
    assert strong == pytest.approx(r)


def test_failure_messages_are_grouped_by_template_with_one_example(synthetic):
    page = Page(read(build(synthetic)))
    rows = list(page.table("check", "check").values())
    strong, weak, _, never, half, most = (r["text"] for r in rows)
    # s3 and s4 fail "strong" with different numbers: one template, counted twice
    assert "2× failed: entry [#…]: expected #, got # (rtol #)" in strong
    assert "rerun this case" not in strong and "e.g. s3: failed: entry [3, 1]" in strong
    assert "4× not implemented yet" in weak and "3× not implemented yet" in half
    assert "1× not implemented yet" in most
    assert "4× failed: shape (#,) where (#…) is due" in never
    assert "1× error: <img src=x onerror=alert(#)> broke" in never
    assert "e.g. s4: error: <img src=x onerror=alert(1)> broke" in never
    assert never.index("4×") < never.index("1×")  # most common first


def test_student_strings_are_escaped_and_nothing_is_loaded_from_outside(synthetic):
    text = read(build(synthetic))
    assert HOSTILE_NAME not in text and "&lt;script&gt;" in text
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    page = Page(text)
    assert not page.external
    assert "<script" not in text.lower().replace("&lt;script", "")
    assert "default-src 'none'" in text  # the page may load nothing, run nothing


def test_every_link_resolves_to_the_students_feedback(synthetic):
    report = build(synthetic)
    page = Page(read(report))
    assert page.links
    for href in page.links:
        assert not href.startswith(("/", "http")), href
        target = os.path.normpath(os.path.join(os.path.dirname(report), unquote(href)))
        assert os.path.isfile(target), href
        assert target.startswith(str(synthetic)) and target.endswith("feedback.md")
    linked = {pathlib.Path(unquote(h)).parent.name for h in page.links}
    assert {"imp", "slow", "nomod", "s4"} <= linked and "hang" not in linked


def test_the_seed_and_the_regrade_command_are_shown(synthetic):
    text = read(build(synthetic))
    assert "Seed <b>42</b>" in text
    assert (f"python -m grader batch hw1 SUBMISSIONS --out {synthetic} --seed 42 --regrade"
            in text)


def test_a_missing_or_foreign_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 1
    assert "is not a folder" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 1
    assert "has no grades.csv" in capsys.readouterr().err


def test_a_student_folder_that_is_a_link_is_not_followed(tmp_path):
    out = write_class(tmp_path / "out")
    secret = tmp_path / "elsewhere"
    shutil.move(out / "students" / "s1", secret)
    os.symlink(secret, out / "students" / "s1")
    page = Page(read(build(out)))
    assert "students/s1/feedback.md" not in page.links
    assert page.table("submission")["s1"]["status"] == "graded"


# --- statistics tallied while OUTDIR is read, against a direct computation -------------------

FAILURES = (  # (template of the failure message, as ``output`` with numbers filled in)
    "case 'n={a}': failed\nexpected {b}.5, got {c}\nrerun this case: python -m grader x",
    "not implemented yet",
    "case 'D={a}': error\nValueError: bad shape ({a}, {b})\nin your code:\n  line {c}",
    "case 'x': timeout",
)


def random_class(out, seed, n=40):
    """OUTDIR of ``n`` submissions with random outcomes (strong students pass more), the
    statuses a batch writes, a check everyone passes, one everyone fails, one that some
    results lack, one with partial credit, and a submission listed twice (a group)."""
    import random
    rng = random.Random(seed)
    checks = [(f"ex{i % 3}", f"check {i}", (1.0, 2.5, 0.5, 3.0)[i % 4]) for i in range(9)]
    out = pathlib.Path(out)
    rows = []
    for i in range(n):
        key = f"st{i:02d}"
        status = rng.choice(["graded"] * 8 + ["import_failed", "timeout", "grader_error"])
        ability = rng.random()
        tests = []
        for c, (exercise, title, points) in enumerate(checks):
            if c == 4 and rng.random() < 0.3:
                continue  # results of an older version of the homework lack this check
            passed = c == 0 or (c != 1 and rng.random() < ability)
            output = "passed" if passed else rng.choice(FAILURES).format(
                a=rng.randint(1, 9), b=rng.randint(0, 99), c=rng.randint(0, 9))
            partial = points / 2 if c == 3 and rng.random() < 0.5 else 0.0  # partial credit
            tests.append({"name": f"{exercise}: {title}", "score": points if passed else partial,
                          "max_score": points, "status": "passed" if passed else "failed",
                          "output": output, "tags": [exercise],
                          "extra_data": {"check": f"{exercise}/{c}", "exercise": exercise}})
        doc = {"score": sum(t["score"] for t in tests), "tests": tests,
               "extra_data": {"seconds": rng.uniform(0.1, 2.0), "homework": "hw1"}}
        (out / "students" / key).mkdir(parents=True)
        (out / "students" / key / "results.json").write_text(json.dumps(doc))
        rows.append({"id": key, "name": f"Student {i}", "submission": key,
                     "total": doc["score"], "max": 17.5, "status": status})
    rows.append(dict(rows[0], id="partner", name="Partner"))
    write_gradebook(out, rows, [])
    (out / "batch.json").write_text(json.dumps({"homework": "hw1", "seed": seed}))
    return out


def direct_statistics(out):
    """{check: (n, passed, discrimination, [(template, count, example, key)])} from every
    graded submission's results.json held at once (their usable tests)."""
    import numpy as np
    from collections import Counter
    graded, seen = [], set()
    with open(pathlib.Path(out) / "grades.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        key = row["submission"]
        if key in seen:
            continue  # a group's second member: the same submission
        seen.add(key)
        try:
            doc = json.loads((pathlib.Path(out) / "students" / key / "results.json").read_text())
        except (OSError, ValueError):
            continue
        tests = [t for t in doc["tests"]
                 if isinstance(t, dict) and isinstance(t.get("score"), (int, float))]
        if row["status"] == "graded" and tests:
            graded.append((key, tests))
    outcomes = {}
    for key, tests in graded:
        total = sum(t["score"] for t in tests)
        for t in tests:
            outcomes.setdefault(t["extra_data"]["check"], []).append(
                (key, t, total - t["score"]))
    result = {}
    for check, rows in outcomes.items():
        x = np.array([t["status"] == "passed" for _, t, _ in rows], dtype=float)
        y = np.array([rest for _, _, rest in rows])
        r = None if len(x) < 2 or x.min() == x.max() or y.min() == y.max() \
            else float(np.corrcoef(x, y)[0, 1])
        failures = [(key, stats.failure_message(t["output"])) for key, t, _ in rows
                    if t["status"] != "passed"]
        counts, examples = Counter(), {}
        for key, message in failures:
            counts[stats.template(message)] += 1
            examples.setdefault(stats.template(message), (message[:600], key))
        result[check] = (len(rows), int(x.sum()), r,
                         [(g, k, *examples[g]) for g, k in counts.most_common(5)])
    return result


def tallied(out):
    """``check_statistics`` in the shape of ``direct_statistics``."""
    return {c.check: (c.n, c.passed, c.discrimination,
                      [(m.template, m.count, m.example, m.example_key) for m in c.messages])
            for c in check_statistics(out)}


def assert_same_statistics(got, want):
    assert list(got) == list(want)  # checks in the order they first appear
    for check, (n, passed, r, groups) in want.items():
        assert got[check][:2] == (n, passed), check
        assert (got[check][2] is None) == (r is None), check
        if r is not None:
            assert got[check][2] == pytest.approx(r, rel=1e-12, abs=1e-15), check
        assert got[check][3] == groups, check


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_statistics_equal_a_direct_computation_over_all_results(tmp_path, seed):
    out = random_class(tmp_path / "out", seed)
    want = direct_statistics(out)
    assert_same_statistics(tallied(out), want)
    by_check = tallied(out)
    assert by_check["ex0/0"][2] is None and by_check["ex1/1"][2] is None  # all pass / fail
    assert any(r is not None and r > 0.3 for _, _, r, _ in by_check.values())
    assert by_check["ex1/4"][0] < by_check["ex0/3"][0]  # some results lack check 4
    assert any(len(groups) >= 3 for *_, groups in by_check.values())
    assert f"Over the {by_check['ex0/0'][0]} submission(s)" in read(build(out))


def test_discrimination_is_undefined_where_it_was(tmp_path):
    def test(check, passed, points=1.0):
        return {"name": check, "score": points if passed else 0.0, "max_score": points,
                "status": "passed" if passed else "failed",
                "output": "" if passed else "case 'a': failed\nexpected 1, got 2",
                "extra_data": {"check": check, "exercise": "ex"}}

    def discrimination(students):
        tally = stats.CheckTally()
        for i, tests in enumerate(students):
            tally.add(f"s{i}", "graded", tests)
        tally.add("late", "import_failed", [test("a", True), test("b", False)])  # not counted
        return {c.check: (c.n, c.discrimination) for c in tally.statistics()}

    assert discrimination([[test("a", True), test("b", True)]]) == {"a": (1, None),
                                                                    "b": (1, None)}
    # the only check: the rest of the score is always 0
    assert discrimination([[test("a", True)], [test("a", False)]]) == {"a": (2, None)}
    # b's pass flag is constant, a's rest of the score is constant
    both = discrimination([[test("a", True), test("b", True)],
                           [test("a", False), test("b", True)]])
    assert both == {"a": (2, None), "b": (2, None)}
    # two checks that split the class in opposite ways: perfectly anti-correlated
    split = discrimination([[test("a", True), test("b", False)],
                            [test("a", False), test("b", True)],
                            [test("a", True), test("b", False)]])
    assert split["a"][1] == pytest.approx(-1.0) and split["b"][1] == pytest.approx(-1.0)


def test_a_broken_results_file_costs_only_its_student(synthetic):
    (synthetic / "students" / "s1" / "results.json").write_text('{"tests": [{"name": ')
    s2 = synthetic / "students" / "s2" / "results.json"
    doc = json.loads(s2.read_text())
    doc["tests"][0]["score"] = "lots"  # a malformed test: dropped, the others count
    doc["tests"].append(7)
    s2.write_text(json.dumps(doc))
    got = tallied(synthetic)
    assert_same_statistics(got, direct_statistics(synthetic))
    # s1 (passes 0, 2, 4, 5) no longer counts; s2 no longer counts for check 0
    assert [got[f"{e}/{i}"][:2] for i, (e, _, _) in enumerate(CHECKS)] == [
        (3, 1), (4, 1), (4, 4), (4, 0), (4, 1), (4, 3)]
    page = Page(read(build(synthetic)))
    assert "Over the 4 submission(s)" in "".join(page.text)
    subs = page.table("submission")
    assert subs["s1"]["status"] == "graded" and "5 / 7" in subs["s1"]["text"]
    assert len(subs) == 9


def test_failure_groups_are_bounded_per_check(monkeypatch):
    monkeypatch.setattr(stats, "MAX_TEMPLATES", 2)
    tally = stats.CheckTally()
    messages = ["first 1", "second 2", "first 3", "third 4", "fourth 5", "third 6", "second"]
    for i, message in enumerate(messages):
        tally.add(f"s{i}", "graded", [{
            "name": "a", "score": 0.0, "max_score": 1.0, "status": "failed",
            "output": f"case 'x': failed\n{message}",
            "extra_data": {"check": "a", "exercise": "ex"}}])
    [check] = tally.statistics()
    # two templates grouped; the later new ones ("third #", "fourth #", "second") together
    assert [(m.template, m.count, m.example_key) for m in check.messages] == [
        (stats.OTHER_TEMPLATE, 4, "s3"), ("failed: first #", 2, "s0"),
        ("failed: second #", 1, "s1")]
    assert check.messages[0].example == "failed: third 4"
    assert sum(m.count for m in check.messages) == len(messages) == check.n


# --- a real batch -----------------------------------------------------------------------------

def put(folder, name, content):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
        fh.write(content)


@pytest.fixture(scope="module")
def graded_class():
    """A real `batch` of hw1: reference (twice), stubs, buggy, an import failure, no module."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="grader-report-"))
    os.chmod(tmp, 0o755)
    subs = tmp / "class"
    reference = read(os.path.join(PROJECT_ROOT, "solutions", HW1 + ".py"))
    put(subs / "ada", HW1 + ".py", reference)
    put(subs / "amy", HW1 + ".py", reference)
    put(subs / "bob", HW1 + ".py", read(os.path.join(PROJECT_ROOT, "assignments", HW1 + ".py")))
    put(subs / "cyd", HW1 + ".py",
        read(os.path.join(PROJECT_ROOT, "examples", "hw1", "buggy", HW1 + ".py")))
    put(subs / "gus", HW1 + ".py", "import numpy as np\nraise RuntimeError('<b>boom</b>')\n")
    put(subs / "fay", "notes.txt", "forgot")
    out = tmp / "out"
    assert main(["batch", "hw1", str(subs), "--out", str(out), "--seed", "3", "--jobs", "2",
                 "--no-progress"]) == 0
    yield subs, out
    shutil.rmtree(tmp, ignore_errors=True)


def test_a_batch_writes_the_report_of_its_class(graded_class):
    subs, out = graded_class
    page = Page(read(out / "report.html"))
    rows = page.table("submission")
    assert {k: r["status"] for k, r in rows.items()} == {
        "ada": "graded", "amy": "graded", "bob": "graded", "cyd": "graded",
        "gus": "import_failed", "fay": "no_module"}
    checks = page.table("check", "check")
    assert checks and all(c["n"] == "4" for c in checks.values())
    # the reference passes everything, the stubs nothing: no check is passed by all or none
    # unless the buggy submission agrees with one of them
    buggy = json.loads(next(out.rglob("cyd/results.json")).read_text())
    for test in buggy["tests"]:
        row = [c for c in checks.values() if test["name"] in c["text"]][0]
        expected_passed = 2 + (test["status"] == "passed")
        assert row["passed"] == str(expected_passed), test["name"]
        assert row["flag"] == ""
    assert "not implemented yet" in page.table("msg", "count")["1"]["text"] or any(
        "not implemented yet" in m["text"] for m in page.rows["msg"])
    assert "&lt;b&gt;boom&lt;/b&gt;" in read(out / "report.html")
    for href in page.links:
        assert (out / unquote(href)).is_file(), href
    assert f"python -m grader batch hw1 {subs} --out {out} --seed 3 --regrade" in read(
        out / "report.html")


def test_the_report_command_rebuilds_it_from_the_folder(graded_class, capsys):
    _, out = graded_class
    (out / "report.html").unlink()
    assert main(["report", str(out)]) == 0
    assert f"wrote {out / 'report.html'}" in capsys.readouterr().out
    assert Page(read(out / "report.html")).table("submission")["ada"]["status"] == "graded"


# --- a real browser ---------------------------------------------------------------------------

def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html_path, png_path, width=1280, height=1600):
    """Render ``html_path`` with headless chromium into ``png_path``."""
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", f"--user-data-dir={profile}", "--hide-scrollbars",
             f"--window-size={width},{height}", f"--screenshot={png_path}",
             pathlib.Path(html_path).as_uri()],
            check=True, capture_output=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.skipif(chromium() is None, reason="chromium is not installed "
                    "(apt-get install -y chromium): the report cannot be rendered here")
def test_a_headless_browser_renders_the_plots(tmp_path):
    import matplotlib.image
    import numpy as np
    png = tmp_path / "report.png"
    screenshot(build(write_class(tmp_path / "out")), png)
    pixels = matplotlib.image.imread(png)[..., :3]
    assert pixels.shape[0] > 500 and pixels.shape[1] > 500
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 20  # text, bars and axes: not a blank page
    bar = np.array([0x3B, 0x6E, 0xA8]) / 255  # the histograms' bars are drawn
    assert (np.abs(pixels - bar).max(axis=-1) < 0.02).sum() > 2000
