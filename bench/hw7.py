"""HW7 figures for ``make bench``: the reference VAE's train time and held-out negative ELBO.

Trains the reference VAE with the graded budget (``tests/hidden/hw7_latent.py``) on the
training digits relabeled per seed, exactly as the "learns the digits" check does, on the
CPU (one thread, as in the grader's worker) and on CUDA where present; the held-out
negative ELBO is the grader's own (``grader_elbo``: the model's encode/decode, the
grader's noise). ``--variants`` also trains the wrong variants the mark was calibrated
against. Prints; asserts nothing::

    python bench/hw7.py [--seeds 0,1,2,3,4,5] [--variants] [--losses]

``--losses`` measures where the reference's reported losses fall for the budgets of the
"real losses" checks (the margin of their ``LOSS_SLACK``).
"""
import argparse
import os
import sys
import textwrap
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from grader.cases import digits  # noqa: E402
from tests.hidden import hw7_latent as graded  # noqa: E402
from tests.public.hw7_latent import bernoulli_log_prob, grader_noise, kl_to_standard  # noqa: E402
from tests.suite.test_hw7_latent import WRONG_VARIANTS as SUITE_VARIANTS  # noqa: E402

# Wrong variants measured against the mark (each appended to the reference's source);
# two are the suite's own.
VARIANTS = {
    "elbo at the mean of z (no noise)": SUITE_VARIANTS[
        "VAE elbo at the mean of z (no reparameterization noise)"][0],
    "no KL term": """
        _right_elbo = VAE.elbo
        def _no_kl(self, x, generator=None):
            mu, log_var = self.encode(x)
            kl = 0.5 * (log_var.exp() + mu * mu - 1.0 - log_var).sum(dim=-1)
            return _right_elbo(self, x, generator) + kl
        VAE.elbo = _no_kl
        """,
    "log p(x | z) averaged over pixels": """
        def _pixel_mean(self, x, generator=None):
            mu, log_var = self.encode(x)
            device = generator.device if generator is not None else mu.device
            eps = torch.randn(mu.shape, generator=generator, device=device).to(mu.device)
            logits = self.decode(mu + torch.exp(0.5 * log_var) * eps)
            log_px_z = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").mean(-1)
            return log_px_z - 0.5 * (log_var.exp() + mu * mu - 1.0 - log_var).sum(dim=-1)
        VAE.elbo = _pixel_mean
        """,
    "2 epochs instead of the budget": """
        _right_train = train_vae
        def train_vae(model, data, n_epochs, lr, batch_size, generator=None):
            return _right_train(model, data, 2, lr, batch_size, generator)
        """,
    "elbo summed over the batch (so is the loss)": SUITE_VARIANTS[
        "VAE elbo summed over the batch (a scalar, not one per row)"][0],
}


def module_from(override=""):
    """The reference module, with ``override`` appended (it wins)."""
    with open(os.path.join(ROOT, "solutions", "hw7_latent.py"), encoding="utf-8") as fh:
        source = fh.read() + "\n" + textwrap.dedent(override)
    module = types.ModuleType("hw7_variant")
    exec(compile(source, "hw7_variant", "exec"), module.__dict__)  # noqa: S102 - our own source
    return module


def grader_neg_elbo(model, x, seed, device):
    """The grader's negative ELBO of rows x: encode, z with the grader's noise, decode."""
    with torch.no_grad():
        mu, log_var = model.encode(torch.tensor(x, device=device))
        eps = torch.tensor(grader_noise(seed, *mu.shape), dtype=torch.float32, device=device)
        logits = model.decode(mu + torch.exp(0.5 * log_var) * eps)
    mu, log_var, logits = (t.cpu().double().numpy() for t in (mu, log_var, logits))
    return -float(np.mean(bernoulli_log_prob(logits, x) - kl_to_standard(mu, log_var)))


def train_once(module, device, seed):
    """(CPU seconds, held-out negative ELBO) of one training with the graded budget."""
    d, latent, hidden = graded.VAE_SPEC
    budget = graded.VAE_BUDGET
    x_train = digits.relabel(digits.load_train(), seed)
    x_held = digits.relabel(digits.load_heldout(), seed)
    torch.manual_seed(seed)
    model = module.VAE(d, latent, hidden=hidden).to(device)
    start = time.process_time()
    module.train_vae(model, torch.tensor(x_train), budget["epochs"], budget["lr"],
                     budget["batch"], generator=torch.Generator().manual_seed(seed))
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.process_time() - start
    return seconds, grader_neg_elbo(model, x_held, seed + 1, device)


def loss_positions(seeds):
    """Per budget of the losses checks: where the first and last reported losses fall.

    first: (loss[0] - after) / gain, between 0 and 1 when it lies between the grader's
    negative ELBO after and before training; last: (loss[-1] - after) / gain.
    """
    from tests.public.hw7_latent import LOSS_SLACK
    module = module_from()
    for batch, epochs in ((50, 3), (37, 3), (128, 6)):
        firsts, lasts = [], []
        for seed in seeds:
            rows = np.asarray(digits.relabel(digits.load_train(), seed))[
                np.sort(np.random.default_rng(seed).choice(1400, 700, replace=False))]
            torch.manual_seed(seed)
            model = module.VAE(64, 4, hidden=(64,))
            before = grader_neg_elbo(model, rows, seed, "cpu")
            losses = module.train_vae(model, torch.tensor(rows), epochs, 3e-3, batch,
                                      generator=torch.Generator().manual_seed(seed))
            after = grader_neg_elbo(model, rows, seed + 1, "cpu")
            firsts.append((losses[0] - after) / (before - after))
            lasts.append((losses[-1] - after) / (before - after))
        print(f"  losses, batch {batch}, {epochs} epochs: first at {min(firsts):.2f}-"
              f"{max(firsts):.2f}, last {min(lasts):+.3f}..{max(lasts):+.3f} of the gain "
              f"(allowed ±{LOSS_SLACK:g})", flush=True)


def report(label, module, device, seeds):
    runs = [train_once(module, device, s) for s in seeds]
    secs = sorted(r[0] for r in runs)
    negs = [r[1] for r in runs]
    print(f"  {label:<44} {device:<4} train {secs[len(secs) // 2]:.2f} s CPU (max "
          f"{secs[-1]:.2f})  held-out -ELBO {min(negs):.2f}-{max(negs):.2f}  "
          f"(graded <= {graded.VAE_MAX_HELDOUT:g})", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2,3,4,5")
    parser.add_argument("--variants", action="store_true", help="also the wrong variants")
    parser.add_argument("--losses", action="store_true",
                        help="also the margins of the losses checks")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    torch.set_num_threads(1)
    d, latent, hidden = graded.VAE_SPEC
    print(f"HW7 VAE({d}, {latent}, {hidden}), budget {graded.VAE_BUDGET}, seeds {seeds}")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        report("reference", module_from(), device, seeds)
    if args.variants:
        for name, override in VARIANTS.items():
            report(name, module_from(override), "cpu", seeds)
    if args.losses:
        loss_positions(seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
