"""``autograder``: ``dist/hwN_autograder.zip`` for Gradescope (what ``make autograder`` runs).

The zip follows Gradescope's autograder specification: ``setup.sh`` and
``run_autograder`` at its top level, next to what they need — the ``grader`` package, the
public and hidden checks of this one homework with the public data, the reference
solution (hidden checks compute their expected values from it), ``requirements.txt``
with the versions pinned to those of this machine, and ``autograder.json`` naming the
homework. ``setup.sh`` installs Python packages into ``/opt/dgm-autograder`` (outside
every folder hidden from student code) and grades the reference as a self-check;
``run_autograder`` runs ``python -m grader.autograder run`` (see ``grader/autograder.py``).
"""
import io
import json
import os
import zipfile

from .. import homeworks
from ..homeworks import PROJECT_ROOT
from .release import TORCH_INDEX, check_files

HELP = "write dist/hwN_autograder.zip for Gradescope (setup.sh, run_autograder, hidden checks)"
VENV = "/opt/dgm-autograder"
EXECUTABLE = 0o100755
REGULAR = 0o100644
FIXED_TIME = (2020, 1, 1, 0, 0, 0)

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source, when it builds the image.
# SKIP_PIP=1 skips the system part (tests); AUTOGRADER_PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")"
if [ -z "${{SKIP_PIP:-}}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip
    python3 -m venv {venv}
    {venv}/bin/python -m pip install --no-cache-dir --upgrade pip
{torch}    {venv}/bin/python -m pip install --no-cache-dir -r requirements.txt
fi
PY="${{AUTOGRADER_PYTHON:-{venv}/bin/python}}"
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


def pinned_requirements(hw):
    """requirements.txt: this machine's tested versions (CPU torch only where needed)."""
    import numpy
    lines = [f"numpy=={numpy.__version__}"]
    if needs_torch(hw):
        import torch
        lines.append(f"torch=={torch.__version__.split('+')[0]}")
    return "\n".join(lines) + "\n"


def contents(hw, seed=None):
    """{path in the zip: bytes or a project-relative file path} of the autograder."""
    torch = (f"    {VENV}/bin/python -m pip install --no-cache-dir --index-url {TORCH_INDEX} "
             f"\"$(grep '^torch==' requirements.txt)\"\n") if needs_torch(hw) else ""
    files = {
        "setup.sh": SETUP_SH.format(venv=VENV, torch=torch).encode(),
        "run_autograder": RUN_AUTOGRADER.format(venv=VENV).encode(),
        "requirements.txt": pinned_requirements(hw).encode(),
        "autograder.json": json.dumps({"homework": hw.id, "seed": seed}, indent=1).encode(),
    }
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
    for rel in project:
        files[rel.replace(os.sep, "/")] = rel
    return files


def write_zip(hw, out, seed=None):
    """Write the autograder zip of ``hw`` to ``out`` (reproducible: fixed times, sorted)."""
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(contents(hw, seed).items()):
            if isinstance(data, str):
                with open(os.path.join(PROJECT_ROOT, data), "rb") as fh:
                    data = fh.read()
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = (EXECUTABLE if name in ("setup.sh", "run_autograder")
                                  else REGULAR) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    tmp = out + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(buffer.getvalue())
    os.replace(tmp, out)
    return out


def run(args):
    """Run ``python -m grader autograder``; returns the exit code."""
    hw = homeworks.get(args.homework)
    out = args.out or os.path.join(PROJECT_ROOT, "dist", f"{hw.id}_autograder.zip")
    write_zip(hw, out, args.seed)
    print(f"wrote {out}: upload it as the autograder of {hw.id} on Gradescope "
          "(base image Ubuntu 24.04)")
    return 0


def needs_torch(hw):
    """Whether grading ``hw`` needs torch (the rule lives in ``grading.requires_torch``)."""
    from ..grading import requires_torch
    return requires_torch(hw)
