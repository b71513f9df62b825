"""What runs inside the Gradescope autograder (``python -m grader.autograder setup|run``).

Gradescope unpacks the autograder zip into ``$AUTOGRADER_ROOT/source`` (default root:
``/autograder``), runs ``setup.sh`` once when it builds the image, then for each upload
runs ``run_autograder``, which calls ``run`` here: grade ``submission/`` through
``grading.grade`` (the same intake and engine as ``grade`` and ``batch``) and write
``results/results.json``, rewritten after each check so that partial results survive a
global timeout. When the grader itself fails, students see a plain message and the
traceback goes to the hidden stdout (staff only).
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
import sys
import traceback

from . import homeworks, intake
from .grading import GradeRequest, Replay, grade
from .homeworks import PROJECT_ROOT
from .reporters.gradescope import to_gradescope, write_json_atomic
from .reporters.terminal import print_result
from .results import Status

CONFIG = "autograder.json"
DEFAULT_ROOT = "/autograder"


# Gradescope stops an autograder after 10 minutes by default and then shows no test at all.
# The whole grading gets 8 of them: checks not started by then score zero as timeouts and
# the results written so far stand (each call keeps its own limit meanwhile).
DEFAULT_BUDGET_SECONDS = 480.0


def budget_for(config):
    """The wall-clock budget of one grading: ``budget_seconds`` of autograder.json, else 8 min."""
    return float(config.get("budget_seconds") or DEFAULT_BUDGET_SECONDS)


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


GRADER_FAILED = ("The autograder could not grade this submission because of a problem in the "
                 "grader itself, not in your code. Course staff have the details and will "
                 "regrade it; you do not need to resubmit.")


def fallback():
    """A valid results.json for when the grader itself failed: a plain message for students
    (the traceback goes to the hidden stdout, for staff only)."""
    return {"score": 0.0, "output": GRADER_FAILED, "visibility": "visible",
            "stdout_visibility": "hidden", "tests": [], "extra_data": {"grader_error": True}}


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


def _student_document(graded):
    """results.json as students see it: the file graded, the public summary, the notes."""
    document = graded.document()
    head = f"Graded file: {graded.graded_file}\n" if graded.graded_file else ""
    if graded.status is Status.NO_MODULE:
        head = f"Nothing could be graded: {graded.reason}.\n"
    document["output"] = head + student_summary(graded.result)
    if graded.notes:
        document["output"] += "\nNotes: " + "; ".join(graded.notes) + "\n"
    return document


def _partial_writer(path):
    """``checked(result)`` for the engine: rewrite results.json after each check, so that a
    global timeout leaves the checks that finished (the rest are simply absent)."""
    def checked(result):
        document = to_gradescope(result)
        document["output"] = ("Grading did not finish: these are the checks that ran before it "
                              "stopped.\n" + student_summary(result))
        document["extra_data"].update(status=Status.TIMEOUT.value,
                                      reason="grading stopped before every check ran")
        write_json_atomic(path, document)
    return checked


def run(root):
    """Grade ``root/submission`` into ``root/results/results.json``; returns an exit code."""
    results = os.path.join(root, "results", "results.json")
    os.makedirs(os.path.dirname(results), exist_ok=True)
    if os.path.lexists(results):
        os.unlink(results)
    try:
        config = load_config(os.path.join(root, "source"))
        hw = homeworks.get(config["homework"])
        submitted = os.path.join(root, "submission")
        os.makedirs(submitted, exist_ok=True)
        found = intake.resolve(hw, submitted)
        seed = seed_for(b"".join(c.content for c in found.candidates), config)
        hide = tuple(os.path.join(root, name) for name in ("source", "results", "submission"))
        graded = grade(GradeRequest(
            homework=hw, submission=submitted, seed=seed, hide=hide,
            display_name=hw.filename, replay=Replay("gradescope"),
            budget_seconds=budget_for(config), checked=_partial_writer(results)))
        write_json_atomic(results, _student_document(graded))
        print_result(graded.result, title=f"{hw.id} — {graded.graded_file or 'no module'} "
                     f"(seed {seed}, {graded.status.value})", show_hidden_details=True)
        return 0
    except Exception:  # noqa: BLE001 - always leave a results.json that says what happened
        write_json_atomic(results, fallback())
        print(traceback.format_exc(), flush=True)  # stdout is hidden: staff only
        return 1


def setup():
    """Grade the bundled reference: the installation works when it scores full marks."""
    hw = homeworks.get(load_config()["homework"])
    reference = os.path.join(PROJECT_ROOT, "solutions", hw.filename)
    graded = grade(GradeRequest(homework=hw, submission=reference, seed=seed_for(b"setup", {})))
    result = graded.result
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
