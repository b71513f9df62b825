"""Gradebooks people import: formula-safe cells, Canvas's import layout, Excel's UTF-8 with
BOM, the ``gradebook`` command; and the trusted side's single BLAS thread."""
import csv
import io
import json
import os
import subprocess
import sys

import pytest

from grader.cli import main
from grader.homeworks import PROJECT_ROOT
from grader.reporters import gradebook

HOSTILE = ["=HYPERLINK(\"http://x\")", "  =1+1", "+33 612", "-2+3", "@SUM(A1)", "\tx", "\rx",
           "   @x", "  \t=x"]
HARMLESS = ["Ada Lovelace", "  Ada", "O'Brien", "a=b", "Zoë Ünal", ""]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_cells_are_neutralized_leading_spaces_included(text):
    assert gradebook.neutralized(text) == "'" + text


@pytest.mark.parametrize("text", HARMLESS)
def test_other_text_is_left_alone(text):
    assert gradebook.neutralized(text) == text


def _batch_folder(tmp_path, names):
    """A batch OUTDIR with a grades.csv of one row per name (as `batch` writes it)."""
    rows = [{"id": f"S{i}", "name": name, "email": f"s{i}@uni.edu", "submission": "x.py",
             "total": float(10 * i), "max": 34.0, "gaussian_logpdf": 1.0,
             "status": status, "reason": ""}
            for i, (name, status) in enumerate(names)]
    out = tmp_path / "out"
    out.mkdir()
    (out / "grades.csv").write_text(gradebook.csv_text(rows, ["gaussian_logpdf"]),
                                    encoding="utf-8")
    (out / "batch.json").write_text(json.dumps({"homework": "hw1", "seed": 3}))
    return out


def test_grades_csv_escapes_a_name_with_spaces_before_the_equals_sign(tmp_path):
    out = _batch_folder(tmp_path, [("  =cmd|' /C calc'!A0", "graded")])
    row = next(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    assert row["name"] == "'  =cmd|' /C calc'!A0"


def test_canvas_layout(tmp_path):
    out = _batch_folder(tmp_path, [("Ada", "graded"), ("=evil()", "graded"),
                                   ("Bo", "grader_error"), ("Cy", "no_module")])
    assert main(["gradebook", str(out), "--format", "canvas", "--assignment-id", "1234"]) == 0
    rows = list(csv.reader(io.StringIO((out / "grades-canvas.csv").read_text())))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw1 (1234)"]
    assert rows[1] == ["Points Possible", "", "", "", "", "34"]
    assert rows[2] == ["Ada", "", "S0", "s0@uni.edu", "", "0"]
    assert rows[3][0] == "'=evil()" and rows[3][5] == "10"
    assert rows[4][5] == ""  # the grader failed: no score, Canvas leaves the cell unchanged
    assert rows[5][5] == "30"  # nothing submitted: a real zero
    assert len(rows) == 6


def test_canvas_title_without_an_id_is_a_new_assignment(tmp_path):
    out = _batch_folder(tmp_path, [("Ada", "graded")])
    target = tmp_path / "c.csv"
    assert main(["gradebook", str(out), "--format", "canvas", "--title", "HW 1",
                 "--out", str(target)]) == 0
    assert target.read_text().splitlines()[0].endswith(",HW 1")


def test_excel_is_utf8_with_a_byte_order_mark(tmp_path):
    out = _batch_folder(tmp_path, [("Zoë Ünal", "graded"), ("@SUM(A1)", "graded")])
    assert main(["gradebook", str(out), "--format", "excel"]) == 0
    raw = (out / "grades-excel.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["name"] == "Zoë Ünal" and rows[1]["name"] == "'@SUM(A1)"
    original = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    assert [r["total"] for r in rows] == [r["total"] for r in original]


def test_csv_format_rewrites_an_old_unescaped_gradebook(tmp_path, capsys):
    out = tmp_path / "old"
    out.mkdir()
    (out / "grades.csv").write_text("id,name,total,max,status,reason\n1,  =2+3,5,34,graded,\n")
    assert main(["gradebook", str(out), "--format", "csv", "--out", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows == [{"id": "1", "name": "'  =2+3", "total": "5", "max": "34",
                     "status": "graded", "reason": ""}]


def test_a_folder_without_grades_csv_is_a_one_line_error(tmp_path, capsys):
    assert main(["gradebook", str(tmp_path), "--format", "canvas"]) == 1
    err = capsys.readouterr().err
    assert "grades.csv does not exist" in err and len(err.strip().splitlines()) == 1


PROBE = """
import atexit, os, runpy, sys

def report():  # python -m grader ends with its exit handlers
    import numpy
    print(len(os.listdir('/proc/self/task')), os.environ['OPENBLAS_NUM_THREADS'])

atexit.register(report)
sys.argv = ['grader', 'gradebook', {folder!r}]
runpy.run_module('grader', run_name='__main__', alter_sys=True)
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc")
def test_python_m_grader_runs_numpy_with_one_blas_thread(tmp_path):
    """OpenBLAS starts its threads when numpy loads: ``python -m grader`` has none."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    done = subprocess.run([sys.executable, "-c", PROBE.format(folder=str(tmp_path))],
                          capture_output=True, text=True, cwd=PROJECT_ROOT, env=env)
    assert done.stdout.split() == ["1", "1"], done.stderr
    if (os.cpu_count() or 1) > 1:  # the contrast: numpy alone starts more threads here
        plain = subprocess.run([sys.executable, "-c", "import os, numpy; "
                                "print(len(os.listdir('/proc/self/task')))"],
                               capture_output=True, text=True, env=env)
        assert int(plain.stdout) > 1
