"""HW6 figures for ``make bench``: train time and held-out NLL of the graded models, and the
time of one grading.

Trains with the graded budgets (``tests/hidden/hw6_autoregressive.py``) on the CPU (one
thread, as in the grader's worker) and on CUDA where present, over N_SEEDS seeds, on the
digits as graded (training and held-out digits relabeled with the seed's bit mask, the
NLL from the model's logits): the reference FVSBN and MADE, the MADE with random hidden
degrees (Germain et al.; another valid assignment, which must pass), and the MADE with
its ReLU removed (a linear MADE), whose NLL the MADE mark must reject. Train times are
CPU seconds of the training call (medians), so a busy machine inflates them little.

Then times ``python -m grader grade hw6`` on the reference, cold (a fresh process: median of
``GRADINGS`` runs) and warm (served by a warm grader of its own, ``GRADER_WARM=1``: after
two gradings that start it, median of ``GRADINGS`` runs interleaved with the cold ones):
wall clock, and for the cold runs on Linux the CPU of the whole process tree (grader,
worker template with its warm stage, workers) read from ``/proc`` while it runs, with the
time its processes spent waiting for a CPU (``/usr/bin/time`` misses the workers: they
are reaped outside the grader's process tree). Prints; asserts nothing. With
``--gradings-only`` only the gradings are timed (no model training).
``python bench/hw6.py [N_SEEDS] [--graded N] [--gradings-only]``:
``--graded N`` also grades the reference and the linear MADE with the two "learns the
digits" checks themselves for grading seeds 0..N-1 and prints the held-out NLL they
measured (each grading seed draws its own initialization, relabeling and shuffling).
"""
import argparse
import dataclasses
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch._dynamo  # noqa: E402,F401 - a first optimizer step imports it (about 1 s): not training
from torch import nn  # noqa: E402

from grader.cases import digits  # noqa: E402
from solutions import hw6_autoregressive as ref  # noqa: E402
from tests.hidden import hw6_autoregressive as graded  # noqa: E402
from tests.public.hw6_autoregressive import bernoulli_log_prob  # noqa: E402

GRADINGS = 5
GRADING_TARGET = "target <= 3 s on the CPU"


def row(label, value, target=""):
    print(f"  {label:<58} {value:>14}  {target}")


def linear_made(d, hidden_sizes):
    """The reference MADE without its ReLU: affine logits, an FVSBN in disguise."""
    model = ref.MADE(d, hidden_sizes)
    model.net = nn.Sequential(*[m for m in model.net if not isinstance(m, nn.ReLU)])
    return model


def random_degree_masks(d, hidden_sizes, seed=0):
    """Germain et al.'s random degrees: each hidden degree uniform between the smallest
    degree below and d - 1 (the docstring's other valid assignment)."""
    generator = torch.Generator().manual_seed(seed)
    degrees = [torch.arange(1, d + 1)]
    for h in hidden_sizes:
        low = int(degrees[-1].min())
        degrees.append(torch.randint(low, max(d, low + 1), (h,), generator=generator))
    masks = [(out[:, None] >= inp[None, :]).float() for inp, out in zip(degrees[:-1], degrees[1:])]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
    return masks


def random_degree_made(d, hidden_sizes, seed):
    """The reference MADE built on ``random_degree_masks`` (seeds other than the grading's)."""
    model = ref.MADE(d, hidden_sizes)
    layers = [m for m in model.net if isinstance(m, nn.Linear)]
    for layer, mask in zip(layers, random_degree_masks(d, hidden_sizes, 1000 + seed)):
        layer.mask.copy_(mask)
    return model


def train_once(make, budget, device, seed):
    """(CPU seconds, held-out NLL) of one training on ``device``, digits relabeled for ``seed``."""
    x_train = torch.tensor(digits.relabel(digits.load_train(), seed))
    x_heldout = digits.relabel(digits.load_heldout(), seed)
    torch.manual_seed(seed)
    model = make(seed).to(device)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.process_time()
    ref.train_model(model, x_train, budget["epochs"], budget["lr"], budget["batch"],
                    generator=torch.Generator().manual_seed(seed))
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.process_time() - start
    model.eval()
    with torch.no_grad():
        logits = model(torch.tensor(x_heldout, device=device)).cpu().numpy()
    return seconds, -float(bernoulli_log_prob(logits, x_heldout).mean())


def bench_models(device, seeds):
    hidden = graded.MADE_HIDDEN
    models = (("FVSBN(64)", lambda s: ref.FVSBN(64), graded.FVSBN_BUDGET,
               f"graded: <= {graded.FVSBN_MAX_TEST_NLL:g} nats"),
              (f"MADE(64, {hidden})", lambda s: ref.MADE(64, hidden), graded.MADE_BUDGET,
               f"graded: <= {graded.MADE_MAX_TEST_NLL:g} nats"),
              (f"random-degree MADE(64, {hidden})", lambda s: random_degree_made(64, hidden, s),
               graded.MADE_BUDGET, f"must be <= {graded.MADE_MAX_TEST_NLL:g} nats"),
              (f"linear MADE(64, {hidden})", lambda s: linear_made(64, hidden), graded.MADE_BUDGET,
               f"must be > {graded.MADE_MAX_TEST_NLL:g} nats"))
    for name, make, budget, target in models:
        runs = [train_once(make, budget, device, s) for s in seeds]
        nlls = [r[1] for r in runs]
        row(f"{name} {budget['epochs']} epochs on {device}: train CPU",
            f"{statistics.median(r[0] for r in runs):.2f} s")
        row(f"{name} held-out NLL, seeds {seeds[0]}..{seeds[-1]}",
            f"{min(nlls):.2f}-{max(nlls):.2f}", f"mean {statistics.mean(nlls):.2f}, sd "
            f"{statistics.pstdev(nlls):.2f}; {target}")


ROLES = ("grader", "template", "workers")


def _record_tree(root, seen):
    """Record ``{pid: (role, CPU ns, run-queue wait ns)}`` of ``root``'s process tree into
    ``seen``: ``root`` is the grader; the worker template is its child, and the template's
    warm stage (a fork in the template's session) counts with it; the workers (each in a
    session of its own) and whatever else they start count as workers."""
    parents, sessions = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            parents[int(entry)], sessions[int(entry)] = int(fields[1]), int(fields[3])
    templates = {pid for pid, parent in parents.items() if parent == root}
    roles, level = {root: "grader"}, {root}
    while level:
        level = {pid for pid, parent in parents.items() if parent in level} - set(roles)
        roles.update({pid: "template" if pid in templates or sessions[pid] in templates
                      else "workers" for pid in level})
    for pid, role in roles.items():
        try:
            with open(f"/proc/{pid}/schedstat") as fh:
                cpu, wait = (int(v) for v in fh.read().split()[:2])
        except OSError:
            continue
        seen[pid] = (role, cpu, wait)


def run_measured(cmd, env=None):
    """(wall s, {role: CPU s}, run-queue wait s) of ``cmd``; empty dict and None without
    ``/proc`` schedstat (not Linux)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, env=env)
    seen = {}
    while proc.poll() is None:
        if os.path.exists("/proc/self/schedstat"):
            _record_tree(proc.pid, seen)
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    if not seen:
        return wall, {}, None
    cpu = {role: sum(c for r, c, _ in seen.values() if r == role) / 1e9 for role in ROLES}
    return wall, cpu, sum(w for _, _, w in seen.values()) / 1e9


def bench_grading(device):
    out = os.path.join(tempfile.mkdtemp(), "results.json")
    sub = tempfile.mkdtemp()
    with open(os.path.join(sub, "hw6_autoregressive.py"), "w", encoding="utf-8") as fh:
        with open(os.path.join(ROOT, "solutions", "hw6_autoregressive.py"), encoding="utf-8") as src:
            fh.write(src.read())
    cmd = [sys.executable, "-m", "grader", "grade", "hw6", sub, "--out", out, "--seed", "1",
           "--quiet", "--device", device]
    folder = tempfile.mkdtemp(prefix="bench-warm-")  # 0700: a warm grader of its own
    cold_env = dict(os.environ, GRADER_WARM="0")
    warm_env = dict(os.environ, GRADER_WARM="1", GRADER_WARM_DIR=folder)
    runs, warm = [], []
    try:
        for _ in range(2):  # the first starts the warm grader; the second may find it starting
            run_measured(cmd, warm_env)
        subprocess.run([sys.executable, "-m", "grader", "warm", "start", "hw6"], cwd=ROOT,
                       env=warm_env, check=True, stdout=subprocess.DEVNULL)
        for _ in range(GRADINGS):
            runs.append(run_measured(cmd, cold_env))
            warm.append(run_measured(cmd, warm_env)[0])
    finally:
        subprocess.run([sys.executable, "-m", "grader", "warm", "stop"], cwd=ROOT, env=warm_env,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)
    wall = statistics.median(r[0] for r in runs)
    target = GRADING_TARGET if device == "cpu" else ""
    row(f"python -m grader grade hw6 (reference, --device {device}), cold", f"{wall:.2f} s",
        target)
    if runs[0][1]:
        cpu = statistics.median(sum(r[1].values()) for r in runs)
        wait = statistics.median(r[2] for r in runs)
        row("  its CPU, all processes (waiting for a CPU)", f"{cpu:.1f} s ({wait:.1f} s)")
        row("  CPU of the " + ", ".join(ROLES),
            " / ".join(f"{statistics.median(r[1][role] for r in runs):.1f}" for role in ROLES)
            + " s")
    row(f"the same grading, warm grader running (GRADER_WARM=1, runs 3-{GRADINGS + 2})",
        f"{statistics.median(warm):.2f} s", target)


LEARNS = {"FVSBN": "FVSBN/learns-the-digits-held-out-nll-after-training",
          "MADE": "MADE/learns-the-digits-held-out-nll-after-training"}
LINEAR_MADE = """
_RightMADE = MADE
class MADE(_RightMADE):
    def __init__(self, d, hidden_sizes=(128,)):
        super().__init__(d, hidden_sizes)
        self.net = nn.Sequential(*[m for m in self.net if not isinstance(m, nn.ReLU)])
"""


def bench_graded(n_seeds):
    """Held-out NLL as the graded checks measure it, grading seeds 0..n_seeds-1: the learns
    checks are graded with a mark of -inf, so that their message states the NLL."""
    from grader import homeworks
    from tests.suite.grading import grade_text, reference_source, variant
    graded.checks.checks = [dataclasses.replace(c, judge=graded.learned_judge(float("-inf")))
                            if c.id in LEARNS.values() else c for c in graded.checks.checks]
    hw = homeworks.get("hw6")
    for name, source, models in (("reference", reference_source(hw), ("FVSBN", "MADE")),
                                 ("linear", variant(hw, LINEAR_MADE), ("MADE",))):
        nlls = {model: [] for model in models}
        for seed in range(n_seeds):
            result = grade_text("hw6", source, seed=seed, device="cpu",
                                only=tuple(LEARNS[m] for m in models))
            for check in result.checks:
                found = re.search(r"held-out NLL ([0-9.]+)", check.message)
                nlls[check.exercise].append(float(found.group(1)) if found else float("nan"))
        for model, values in nlls.items():
            mark = graded.FVSBN_MAX_TEST_NLL if model == "FVSBN" else graded.MADE_MAX_TEST_NLL
            row(f"{name} {model} as graded, seeds 0..{n_seeds - 1}",
                f"{min(values):.2f}-{max(values):.2f}",
                f"mean {statistics.mean(values):.2f}, sd {statistics.pstdev(values):.2f}; "
                f"mark {mark:g}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_seeds", nargs="?", type=int, default=6)
    parser.add_argument("--graded", type=int, default=0, metavar="N")
    parser.add_argument("--gradings-only", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        if not args.gradings_only:
            bench_models(device, tuple(range(args.n_seeds)))
        bench_grading(device)
    if len(devices) == 1:
        row("CUDA", "skipped", "no GPU visible to torch")
    if args.graded:
        bench_graded(args.graded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
