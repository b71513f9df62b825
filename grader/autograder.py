"""What runs inside the Gradescope autograder (``python -m grader.autograder setup|run``).

Gradescope unpacks the autograder zip into ``$AUTOGRADER_ROOT/source`` (default root:
``/autograder``), runs ``setup.sh`` once when it builds the image, then for each upload
runs ``run_autograder``, which calls ``run`` here: find ``hwN_topic.py`` (or the
notebook ``hwN_topic.ipynb``) in ``submission/``, copy it to a private folder, grade it
with the same engine as ``grade`` and ``batch``, and write ``results/results.json``.
Gradescope runs this as root; the engine runs the student's code as an unprivileged uid
of its own, and ``source/``, ``results/`` and ``submission/`` are hidden from it (an empty
tmpfs, or made unreadable to that uid where the kernel refuses namespaces).
``setup`` is the Python part of ``setup.sh``: it checks the installation by grading the
bundled reference, which must score full marks, so a broken autograder fails at upload.
"""
import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import traceback

from . import homeworks
from .homeworks import PROJECT_ROOT
from .reporters.gradescope import to_gradescope, write_json_atomic
from .reporters.terminal import print_result
from .roster import find_module

CONFIG = "autograder.json"
DEFAULT_ROOT = "/autograder"


def load_config(source=PROJECT_ROOT):
    """The autograder's settings written by ``make autograder``: homework id, optional seed."""
    with open(os.path.join(source, CONFIG), encoding="utf-8") as fh:
        return json.load(fh)


def seed_for(content, config):
    """The configured seed, else one derived from the submission's bytes: the same upload
    always gets the same cases (a regrade reproduces it; resubmitting is no lottery)."""
    if config.get("seed") is not None:
        return int(config["seed"])
    return int(hashlib.sha256(content).hexdigest()[:8], 16) % (2**31)


def fallback(message):
    """A valid results.json for when the grader itself failed (never silence, never a crash)."""
    return {"score": 0.0, "output": "The autograder could not grade this submission; course "
            f"staff have been notified through this message.\n{message}",
            "visibility": "visible", "stdout_visibility": "hidden", "tests": [],
            "extra_data": {"grader_error": True}}


def student_rerun(hw, seed):
    """Replay commands students can run: ``make check`` for a public check; for a hidden
    one (shown after the due date) the course staff's command with the seed."""
    from .commands.common import quote

    def hint(check, case):
        if check.public:
            return f"make check HW={hw.id} ONLY={check.id} CASE={quote(case.id)}"
        return (f"(course staff) python -m grader grade {hw.id} {hw.filename} --seed {seed} "
                f"--only {check.id} --case {quote(case.id)}")
    return hint


def student_summary(result):
    """The top-level output, which students see at once: the public checks in full, the
    hidden ones only counted (their own tests carry their visibility, after the due date)."""
    public = dataclasses.replace(result, checks=[c for c in result.checks if c.public])
    hidden = [c for c in result.checks if not c.public]
    text = to_gradescope(public)["output"].replace("  Score:", "  Public checks:", 1)
    if hidden:
        text += (f"\n{len(hidden)} hidden checks ({sum(c.max_points for c in hidden):g} points) "
                 "were graded too; their results appear after the due date.\n")
    return text


def run(root):
    """Grade ``root/submission`` into ``root/results/results.json``; returns an exit code."""
    from .commands.grade import grade_submission
    results = os.path.join(root, "results", "results.json")
    os.makedirs(os.path.dirname(results), exist_ok=True)
    if os.path.lexists(results):
        os.unlink(results)
    try:
        config = load_config(os.path.join(root, "source"))
        hw = homeworks.get(config["homework"])
        submitted = os.path.join(root, "submission")
        module = find_module(hw, submitted) if os.path.isdir(submitted) else None
        private = tempfile.mkdtemp(prefix="autograder-submission-")
        try:
            content = b""
            if module is not None:
                with open(module, "rb") as fh:
                    content = fh.read()
                with open(os.path.join(private, os.path.basename(module)), "wb") as fh:
                    fh.write(content)
            seed = seed_for(content, config)
            hide = [os.path.join(root, name) for name in ("source", "results", "submission")]
            result, notes = grade_submission(hw, private, seed=seed, hide=hide,
                                             rerun=student_rerun(hw, seed))
            document = to_gradescope(result)
            document["output"] = student_summary(result)
        finally:
            shutil.rmtree(private, ignore_errors=True)
        shown = os.path.basename(module) if module else "your submission"
        text = json.dumps(document).replace(json.dumps(private)[1:-1], shown)
        document = json.loads(text)
        if module is None:
            document["output"] = (f"No {hw.filename} or {hw.module}.ipynb was found in your "
                                  "upload: submit the homework file under exactly that name.\n"
                                  + document["output"])
        if notes:
            document["output"] += "\nNotes: " + "; ".join(notes) + "\n"
        write_json_atomic(results, document)
        print_result(result, title=f"{hw.id} — {shown} (seed {seed})", show_hidden_details=True)
        return 0
    except Exception:  # noqa: BLE001 - always leave a results.json that says what happened
        trace = traceback.format_exc()
        write_json_atomic(results, fallback(trace.strip().splitlines()[-1]))
        print(trace, file=sys.stderr)
        return 1


def setup():
    """Grade the bundled reference: the installation works when it scores full marks."""
    from .commands.grade import grade_submission
    hw = homeworks.get(load_config()["homework"])
    reference = os.path.join(PROJECT_ROOT, "solutions", hw.filename)
    result, _ = grade_submission(hw, reference, seed=seed_for(b"setup", {}))
    print_result(result, title=f"{hw.id}: self-check with the reference solution")
    if result.score != result.max_score:
        print("setup failed: the reference does not score full marks here", file=sys.stderr)
        return 1
    print(f"{hw.id} autograder ready (protections: {', '.join(result.protections)})")
    return 0


def main(argv=None):
    """``python -m grader.autograder setup|run [--root DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m grader.autograder")
    parser.add_argument("action", choices=("setup", "run"))
    parser.add_argument("--root", default=os.environ.get("AUTOGRADER_ROOT", DEFAULT_ROOT))
    args = parser.parse_args(argv)
    return setup() if args.action == "setup" else run(os.path.abspath(args.root))


if __name__ == "__main__":
    sys.exit(main())
