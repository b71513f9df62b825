"""HW6 figures for ``make bench``: train time and held-out NLL of the graded models, and the
time of one grading.

Trains with the graded budgets (``tests/hidden/hw6_autoregressive.py``) on the CPU (one
thread, as in the grader's worker) and on CUDA where present, over ``SEEDS``, on the
digits as graded (training and held-out digits relabeled with the seed's bit mask, the
NLL from the model's logits): the reference FVSBN and MADE, the MADE with random hidden
degrees (Germain et al.; another valid assignment, which must pass), and the MADE with
its ReLU removed (a linear MADE), whose NLL the MADE mark must reject. Train times are
CPU seconds of the training call (medians), so a busy machine inflates them little.

Then times ``python -m grader grade hw6`` on the reference (median of ``GRADINGS`` runs):
wall clock, and on Linux the CPU of the whole process tree (grader, worker template,
workers) read from ``/proc`` while it runs, with the time its processes spent waiting
for a CPU (``/usr/bin/time`` misses the workers: they are reaped outside the grader's
process tree). Prints; asserts nothing. ``python bench/hw6.py [N_SEEDS]``.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from torch import nn  # noqa: E402

from grader.cases import digits  # noqa: E402
from solutions import hw6_autoregressive as ref  # noqa: E402
from tests.hidden import hw6_autoregressive as graded  # noqa: E402
from tests.public.hw6_autoregressive import bernoulli_log_prob  # noqa: E402

SEEDS = tuple(range(int(sys.argv[1]) if len(sys.argv) > 1 else 6))
GRADINGS = 3
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


def bench_models(device):
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
        runs = [train_once(make, budget, device, s) for s in SEEDS]
        nlls = [r[1] for r in runs]
        row(f"{name} {budget['epochs']} epochs on {device}: train CPU",
            f"{statistics.median(r[0] for r in runs):.2f} s")
        row(f"{name} held-out NLL, seeds {SEEDS[0]}..{SEEDS[-1]}",
            f"{min(nlls):.2f}-{max(nlls):.2f}", f"mean {statistics.mean(nlls):.2f}, sd "
            f"{statistics.pstdev(nlls):.2f}; {target}")


def _tree_stats(root, seen):
    """Record (CPU ns, run-queue wait ns) of ``root`` and its descendants into ``seen``."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    stat = fh.read()
            except OSError:
                continue
            parents[int(entry)] = int(stat[stat.rfind(")") + 2:].split()[1])
    tree, grew = {root}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= found
        grew = bool(found)
    for pid in tree:
        try:
            with open(f"/proc/{pid}/schedstat") as fh:
                cpu, wait = (int(v) for v in fh.read().split()[:2])
        except OSError:
            continue
        seen[pid] = (cpu, wait)


def run_measured(cmd):
    """(wall s, CPU s of the process tree or None, run-queue wait s or None) of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    seen = {}
    while proc.poll() is None:
        if os.path.exists("/proc/self/schedstat"):
            _tree_stats(proc.pid, seen)
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    if not seen:
        return wall, None, None
    return (wall, sum(c for c, _ in seen.values()) / 1e9,
            sum(w for _, w in seen.values()) / 1e9)


def bench_grading(device):
    out = os.path.join(tempfile.mkdtemp(), "results.json")
    sub = tempfile.mkdtemp()
    with open(os.path.join(sub, "hw6_autoregressive.py"), "w", encoding="utf-8") as fh:
        with open(os.path.join(ROOT, "solutions", "hw6_autoregressive.py"), encoding="utf-8") as src:
            fh.write(src.read())
    runs = [run_measured([sys.executable, "-m", "grader", "grade", "hw6", sub, "--out", out,
                          "--seed", "1", "--quiet", "--device", device])
            for _ in range(GRADINGS)]
    wall = statistics.median(r[0] for r in runs)
    row(f"python -m grader grade hw6 (reference, --device {device})", f"{wall:.1f} s",
        GRADING_TARGET if device == "cpu" else "")
    if runs[0][1] is not None:
        cpu = statistics.median(r[1] for r in runs)
        wait = statistics.median(r[2] for r in runs)
        row("  its CPU, all processes (waiting for a CPU)", f"{cpu:.1f} s ({wait:.1f} s)")


def main():
    torch.set_num_threads(1)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        bench_models(device)
        bench_grading(device)
    if len(devices) == 1:
        row("CUDA", "skipped", "no GPU visible to torch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
