"""HW6 figures for ``make bench``: train time and held-out NLL of the graded models.

Trains with the graded budgets (``tests/hidden/hw6_autoregressive.py``) on the CPU (one
thread, as in the grader's worker) and on CUDA where present, over ``SEEDS``, on the
digits as graded (training and held-out digits relabeled with the seed's bit mask, the
NLL from the model's logits): the reference FVSBN and MADE, and the MADE with its ReLU
removed (a linear MADE), whose NLL the MADE mark must reject. Times one full grading of
the reference. Prints; asserts nothing. ``python bench/hw6.py [N_SEEDS]``.
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


def row(label, value, target=""):
    print(f"  {label:<58} {value:>14}  {target}")


def linear_made(d, hidden_sizes):
    """The reference MADE without its ReLU: affine logits, an FVSBN in disguise."""
    model = ref.MADE(d, hidden_sizes)
    model.net = nn.Sequential(*[m for m in model.net if not isinstance(m, nn.ReLU)])
    return model


def train_once(make, budget, device, seed):
    """(seconds, held-out NLL) of one training on ``device``, digits relabeled for ``seed``."""
    x_train = torch.tensor(digits.relabel(digits.load_train(), seed))
    x_heldout = digits.relabel(digits.load_heldout(), seed)
    torch.manual_seed(seed)
    model = make().to(device)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    ref.train_model(model, x_train, budget["epochs"], budget["lr"], budget["batch"],
                    generator=torch.Generator().manual_seed(seed))
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        logits = model(torch.tensor(x_heldout, device=device)).cpu().numpy()
    return seconds, -float(bernoulli_log_prob(logits, x_heldout).mean())


def bench_models(device):
    hidden = graded.MADE_HIDDEN
    models = (("FVSBN(64)", lambda: ref.FVSBN(64), graded.FVSBN_BUDGET,
               f"graded: <= {graded.FVSBN_MAX_TEST_NLL:g} nats"),
              (f"MADE(64, {hidden})", lambda: ref.MADE(64, hidden), graded.MADE_BUDGET,
               f"graded: <= {graded.MADE_MAX_TEST_NLL:g} nats"),
              (f"linear MADE(64, {hidden})", lambda: linear_made(64, hidden), graded.MADE_BUDGET,
               f"must be > {graded.MADE_MAX_TEST_NLL:g} nats"))
    for name, make, budget, target in models:
        runs = [train_once(make, budget, device, s) for s in SEEDS]
        nlls = [r[1] for r in runs]
        row(f"{name} {budget['epochs']} epochs on {device}: train time",
            f"{statistics.median(r[0] for r in runs):.2f} s")
        row(f"{name} held-out NLL, seeds {SEEDS[0]}..{SEEDS[-1]}",
            f"{min(nlls):.2f}-{max(nlls):.2f}", f"mean {statistics.mean(nlls):.2f}, sd "
            f"{statistics.pstdev(nlls):.2f}; {target}")


def bench_grading(device):
    out = os.path.join(tempfile.mkdtemp(), "results.json")
    sub = tempfile.mkdtemp()
    with open(os.path.join(sub, "hw6_autoregressive.py"), "w", encoding="utf-8") as fh:
        with open(os.path.join(ROOT, "solutions", "hw6_autoregressive.py"), encoding="utf-8") as src:
            fh.write(src.read())
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "grade", "hw6", sub, "--out", out, "--seed",
                    "1", "--quiet", "--device", device], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    row(f"python -m grader grade hw6 (reference, --device {device})",
        f"{time.perf_counter() - start:.1f} s", "target <= 90 s")


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
