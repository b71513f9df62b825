"""``autograder``: ``dist/hwN_autograder.zip`` for Gradescope (what ``make autograder`` runs).

The zip follows Gradescope's autograder specification: ``setup.sh`` and
``run_autograder`` at its top level, next to what they need — the ``grader`` package, the
public and hidden checks of this one homework with the public data, the reference
solution (hidden checks compute their expected values from it), the pinned requirements
of each Python a Gradescope image may have (``requirements/py3.10.txt`` … ``py3.13.txt``)
and ``autograder.json`` naming the homework. ``setup.sh`` picks the requirements of the
image's ``python3`` (Ubuntu 22.04, Gradescope's default base image, has 3.10; 24.04 has
3.12), installs them into ``/opt/dgm-autograder`` (outside every folder hidden from
student code) and grades the reference as a self-check; ``run_autograder`` runs
``python -m grader.autograder run`` (see ``grader/autograder.py``).
"""
import json
import os
import sys

from .. import homeworks
from ..bundle import zip_bytes
from ..homeworks import PROJECT_ROOT
from .release import TORCH_INDEX, TORCH_PIN, check_files

VENV = "/opt/dgm-autograder"
# Gradescope's base images and the python3 each has; 22.04 is the default.
IMAGES = {"Ubuntu 22.04": "3.10", "Ubuntu 24.04": "3.12"}
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12", "3.13")
# numpy >= 2.3 needs Python >= 3.11; 2.2.6 is the newest numpy with wheels for 3.10.
NUMPY_PINS = {"3.10": "2.2.6"}

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source, when it builds the image.
# Base images: Ubuntu 22.04 (the default; python3 is 3.10) or 24.04 (python3 is 3.12):
# the pins of requirements/pyX.Y.txt for the image's python3 are installed.
# Tests and local tries: SKIP_APT=1 skips apt-get; SKIP_PIP=1 skips apt-get, the venv and
# pip (the Python part only); PYTHON3 is the interpreter that makes the venv,
# AUTOGRADER_VENV the venv's folder, AUTOGRADER_PYTHON the interpreter of the self-check.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${{AUTOGRADER_VENV:-{venv}}}"
pins_for() {{  # requirements/pyX.Y.txt of the interpreter $1, or exit 1 saying why
    local version
    version="$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    if [ ! -f "requirements/py$version.txt" ]; then
        echo "setup.sh: no pinned requirements for Python $version (this zip has:" \\
             "$(cd requirements && echo *)); choose the base image Ubuntu 22.04 or 24.04" >&2
        exit 1
    fi
    echo "requirements/py$version.txt"
}}
if [ -z "${{SKIP_PIP:-}}" ]; then
    if [ -z "${{SKIP_APT:-}}" ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip
    fi
    PY3="${{PYTHON3:-python3}}"
    REQ="$(pins_for "$PY3")"
    echo "installing $REQ for $("$PY3" --version) into $VENV"
    "$PY3" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --no-cache-dir --upgrade pip \\
        || echo "setup.sh: pip not upgraded; going on with $("$VENV/bin/python" -m pip --version)"
    if grep -q '^torch==' "$REQ"; then  # the CPU wheel: the default one pulls CUDA (GBs)
        "$VENV/bin/python" -m pip install --no-cache-dir --index-url {torch_index} \\
            "$(grep '^torch==' "$REQ")"
    fi
    "$VENV/bin/python" -m pip install --no-cache-dir -r "$REQ"
fi
PY="${{AUTOGRADER_PYTHON:-$VENV/bin/python}}"
REQ="$(pins_for "$PY")"
echo "$("$PY" --version) with the pins of $REQ (Gradescope base images:" \\
     "Ubuntu 22.04, the default, with Python 3.10; Ubuntu 24.04 with Python 3.12)"
# Python part: the installation works when the reference scores full marks here.
"$PY" -m grader.autograder setup
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this (as /autograder/run_autograder, as root) for each submission.
# AUTOGRADER_ROOT overrides /autograder; AUTOGRADER_PYTHON the interpreter.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{AUTOGRADER_PYTHON:-{venv}/bin/python}}"
[ -x "$PY" ] || PY=python3
cd "$ROOT/source"
exec "$PY" -m grader.autograder run --root "$ROOT"
"""


def add_arguments(parser):
    """The options of ``autograder``."""
    parser.add_argument("homework", metavar="HW", help="homework id such as hw1")
    parser.add_argument("--out", help="zip to write (default: dist/HW_autograder.zip)")
    parser.add_argument("--seed", type=int, help="one fixed seed for every submission "
                        "(default: derived from each submission's bytes)")


def pinned_requirements(hw, python=None):
    """requirements.txt for the interpreter ``python`` ("3.10"; default: this one): numpy
    pinned to this machine's tested version where it has wheels for that Python (else to
    ``NUMPY_PINS``), CPU torch only where grading needs it."""
    import numpy
    python = python or "%d.%d" % sys.version_info[:2]
    lines = [f"numpy=={NUMPY_PINS.get(python, numpy.__version__)}"]
    if needs_torch(hw):
        lines.append(TORCH_PIN)
    return "\n".join(lines) + "\n"


def contents(hw, seed=None):
    """{path in the zip: bytes or a project-relative file path} of the autograder."""
    files = {
        "setup.sh": SETUP_SH.format(venv=VENV, torch_index=TORCH_INDEX).encode(),
        "run_autograder": RUN_AUTOGRADER.format(venv=VENV).encode(),
        "autograder.json": json.dumps({"homework": hw.id, "seed": seed}, indent=1).encode(),
    }
    for python in SUPPORTED_PYTHONS:
        files[f"requirements/py{python}.txt"] = pinned_requirements(hw, python).encode()
    for rel in course_files(hw):
        files[rel.replace(os.sep, "/")] = rel
    return files


def course_files(hw):
    """Project-relative paths of what grading ``hw`` reads: the ``grader`` package, the
    public and hidden checks (with the check modules they import), the public data, the
    reference and the homework's data files."""
    project = ["tests/__init__.py", "tests/public/__init__.py", "tests/hidden/__init__.py",
               f"tests/public/{hw.filename}", f"tests/public/data/{hw.module}.json",
               f"tests/hidden/{hw.filename}", f"solutions/{hw.filename}", *hw.data_files,
               f"assignments/{hw.filename}",  # the stub: which of .py/.ipynb was changed
               *hw.grader_data_files]
    for here, dirs, names in os.walk(os.path.join(PROJECT_ROOT, "grader")):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        project += [os.path.relpath(os.path.join(here, n), PROJECT_ROOT)
                    for n in sorted(names) if n.endswith(".py")]
    project += check_files(hw, include_hidden=True)  # with the modules they import
    return sorted(set(project))


def write_zip(hw, out, seed=None):
    """Write the autograder zip of ``hw`` to ``out`` (reproducible: fixed times, sorted)."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    data = zip_bytes(contents(hw, seed), executables=("setup.sh", "run_autograder"))
    tmp = out + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, out)
    return out


def run(args):
    """Run ``python -m grader autograder``; returns the exit code."""
    hw = homeworks.get(args.homework)
    out = args.out or os.path.join(PROJECT_ROOT, "dist", f"{hw.id}_autograder.zip")
    write_zip(hw, out, args.seed)
    images = ", ".join(f"{image} (Python {python})" for image, python in IMAGES.items())
    print(f"wrote {out}: upload it as the autograder of {hw.id} on Gradescope; base image "
          f"{images}: setup.sh installs the pins of the image's python3 "
          f"(requirements/py{{{','.join(SUPPORTED_PYTHONS)}}}.txt); the default, "
          f"{next(iter(IMAGES))}, works")
    return 0


def needs_torch(hw):
    """Whether grading ``hw`` needs torch (the rule lives in ``grading.requires_torch``)."""
    from ..grading import requires_torch
    return requires_torch(hw)
