"""HW6 figures for ``make bench``: reference FVSBN and MADE, train time and held-out NLL.

Trains the reference models with the graded budgets (``tests/hidden/hw6_autoregressive.py``)
on the CPU (one thread, as in the grader's worker) and on CUDA where present, and times
one full grading of the reference. Prints; asserts nothing.
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

from grader.cases import digits  # noqa: E402
from solutions import hw6_autoregressive as ref  # noqa: E402
from tests.hidden import hw6_autoregressive as graded  # noqa: E402
from tests.public.hw6_autoregressive import bernoulli_log_prob  # noqa: E402

SEEDS = (0, 1, 2)


def row(label, value, target=""):
    print(f"  {label:<58} {value:>14}  {target}")


def train_once(make, budget, device, seed):
    """(seconds, test NLL) of one reference training on ``device``."""
    x_train, x_test = (torch.tensor(a) for a in digits.load())
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
        logits = model(x_test.to(device)).cpu().numpy()
    return seconds, -float(bernoulli_log_prob(logits, x_test.numpy()).mean())


def bench_models(device):
    models = (("FVSBN(64)", lambda: ref.FVSBN(64), graded.FVSBN_BUDGET, graded.FVSBN_MAX_TEST_NLL),
              (f"MADE(64, {graded.MADE_HIDDEN})", lambda: ref.MADE(64, graded.MADE_HIDDEN),
               graded.MADE_BUDGET, graded.MADE_MAX_TEST_NLL))
    for name, make, budget, allowed in models:
        runs = [train_once(make, budget, device, s) for s in SEEDS]
        seconds = statistics.median(r[0] for r in runs)
        nlls = [r[1] for r in runs]
        row(f"{name} {budget['epochs']} epochs on {device}: train time", f"{seconds:.2f} s")
        row(f"{name} test NLL over seeds {SEEDS}", f"{min(nlls):.2f}-{max(nlls):.2f}",
            f"graded: <= {allowed:g} nats")


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
