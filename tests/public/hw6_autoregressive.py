"""Public checks of HW6 (they ship to students; cases in data/hw6_autoregressive.json).

Every judgement is made here, on the trusted side, from plain outputs of the
student's models: the worker only builds the model, moves it to the grading
device (``--device``), and returns logits, log-probabilities, samples, masks
and loss lists as arrays. Nothing the model says about itself is believed:
the log-likelihoods are recomputed from its logits, the autoregressive
property is tested by perturbing inputs, and the probabilities of a trained
model count only when that property holds.

Also the toolbox of the hidden checks: programs (``build_model``,
``ar_batch``...) and judges.
"""
import itertools
import math

import numpy as np

from grader.cases import digits
from grader.checks import programs
from grader.checks.registry import DEVICE, Case, CheckSet
from grader.compare import statistics
from grader.compare.numeric import PASS, Verdict, as_numeric, compare_arrays, fmt

checks = CheckSet("hw6", public=True)

# Tolerances, the same on every device (float32 models).
AR_ATOL, AR_RTOL = 1e-4, 1e-4        # logits that must not move under a perturbation
LOGP_RTOL, LOGP_ATOL = 1e-4, 1e-3    # log_prob against the trusted Bernoulli log-likelihood
NORM_TOL = 1e-4                      # |log sum_x p(x)| over all 2^d inputs
SECONDS = 20.0                       # per call, untrained models
TRAIN_SECONDS = 60.0                 # per call that trains (reference: under 1 s on one CPU core)


# --- programs: what the worker is asked to do ------------------------------------------------

def tensor(x, device=DEVICE):
    """A float32 tensor argument, made on the grading device (or ``device``) inside the worker."""
    return programs.tensor(x, device=device)


def generator(seed, device=DEVICE):
    """A ``torch.Generator`` argument on the grading device (or ``device``), seeded with ``seed``."""
    return programs.torch_generator(seed, device=device)


def method(name, *args, save=None, **kwargs):
    """A call of ``model.name(*args, **kwargs)``; its value is returned unless ``save`` keeps it."""
    return programs.call(programs.method("model", name), *args, save=save, **kwargs)


def on_model(helper, key="model", **kw):
    """Apply a helper of ``sandbox/callables.py`` to the saved model ``key`` (kept under ``key``).

    The helpers reach the parameters through ``nn.Module``'s own storage: a submission that
    overrides ``apply``, ``parameters`` or ``to`` cannot turn what the grader does into a no-op.
    """
    return programs.call(programs.fn(helper, **kw), programs.ref(key), save=key)


def construct(spec, save="model"):
    """Steps that construct ``spec``'s model under its fixed global seed (on the CPU)."""
    kwargs = {"hidden_sizes": tuple(spec["hidden"])} if spec["model"] == "MADE" else {}
    return [programs.seed_global(spec["init"]),
            programs.call(spec["model"], int(spec["d"]), save=save, **kwargs)]


def build_model(spec, save="model", scale=True):
    """Steps that build ``spec``'s model under a fixed global seed and move it to the device.

    ``spec``: {"model": "FVSBN" | "MADE", "d": int, "hidden": [..] (MADE), "init": seed,
    "scale": factor (optional: parameters multiplied by it after construction, unless
    ``scale`` is False)}.
    """
    steps = construct(spec, save) + [on_model("move_to", save, device=DEVICE)]
    if scale and spec.get("scale"):
        steps.append(on_model("scale_model", save, factor=float(spec["scale"])))
    return steps


def model_spec(model, d, init, hidden=(), scale=None):
    """The plain description of a model that ``build_model`` builds."""
    spec = {"model": model, "d": int(d), "init": int(init)}
    if model == "MADE":
        spec["hidden"] = [int(h) for h in hidden]
    if scale:
        spec["scale"] = float(scale)
    return spec


def all_inputs(d):
    """``(2^d, d)`` every binary input, x_0 the most significant bit."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=d)))


def ar_batch(x, seed):
    """Base rows ``x (B, d)`` followed by 2d perturbed copies of them, in blocks of B rows.

    Block 1 + j flips x_j; block 1 + d + j flips x_j and redraws every x_k, k > j.
    Either way the logits at positions 0..j must not move.
    """
    x = np.asarray(x, dtype=float)
    d = x.shape[1]
    rng = np.random.default_rng(seed)
    blocks = [x]
    for j in range(d):
        y = x.copy()
        y[:, j] = 1.0 - y[:, j]
        blocks.append(y)
    for j in range(d):
        y = x.copy()
        y[:, j] = 1.0 - y[:, j]
        y[:, j + 1:] = rng.integers(0, 2, size=(x.shape[0], d - j - 1))
        blocks.append(y)
    return np.concatenate(blocks)


def forward_program(check, case):
    """Build the model, then ``forward`` on the case's inputs ``data["x"]``."""
    return build_model(case.data["spec"]) + [method("forward", tensor(case.data["x"]))]


def ar_program(check, case):
    """Build the model, then ``forward`` on ``ar_batch`` of the case's inputs."""
    x = ar_batch(case.data["x"], case.data["perturb_seed"])
    return build_model(case.data["spec"]) + [method("forward", tensor(x))]


def forward_and_log_prob(check, case):
    """Build the model; ``forward(x)`` and ``log_prob(x)`` on the same inputs.

    A case with ``verify_scale`` also returns the logits before the scaling first, so that
    the judge sees that the scaling took effect (``scaling_verdict``).
    """
    spec = case.data["spec"]
    x = case.data["x"] if "x" in case.data else all_inputs(spec["d"])
    if case.data.get("verify_scale"):
        return (build_model(spec, scale=False) + [method("forward", tensor(x))]
                + [on_model("scale_model", factor=float(spec["scale"])),
                   method("forward", tensor(x)), method("log_prob", tensor(x))])
    return build_model(spec) + [method("forward", tensor(x)), method("log_prob", tensor(x))]


def sampling_program(check, case):
    """Build the model; the logits of every input, then ``n`` samples with a seeded generator."""
    spec = case.data["spec"]
    return build_model(spec) + [
        method("forward", tensor(all_inputs(spec["d"]))), programs.seed_global(0),
        method("sample", int(case.data["n"]), generator=generator(case.data["seed"]))]


def reproducibility_program(check, case):
    """Same generator seed under two global seeds, another seed, and no generator at all."""
    spec, n, seed = case.data["spec"], int(case.data["n"]), case.data["seed"]
    return build_model(spec) + [
        programs.seed_global(1), method("sample", n, generator=generator(seed)),
        programs.seed_global(2), method("sample", n, generator=generator(seed)),
        method("sample", n, generator=generator(seed + 1)),
        method("sample", n)]


def interface_program(check, case):
    """Build the model; forward, log_prob and sample with the shapes of the spec."""
    spec = case.data["spec"]
    x = case.data["x"]
    return build_model(spec) + [method("forward", tensor(x)), method("log_prob", tensor(x)),
                                method("sample", int(case.data["n"]),
                                       generator=generator(case.data["seed"]))]


# --- judges ----------------------------------------------------------------------------------

def _array(got, name, shape):
    """(array, "") when ``got`` is numeric with ``shape`` and finite, else (None, why)."""
    arr, problem = as_numeric(got, name)
    if arr is None:
        return None, problem
    if arr.shape != tuple(shape):
        return None, f"{name} has shape {tuple(arr.shape)}, expected {tuple(shape)}"
    if not np.all(np.isfinite(arr)):
        return None, f"{name} contains NaN or inf"
    return arr, ""


def bernoulli_log_prob(logits, x):
    """(B,) sum_i log Bernoulli(x_i; sigmoid(logits_i)) in float64, stable for any logits."""
    logits = np.asarray(logits, dtype=float)
    return -np.sum(np.logaddexp(0.0, np.where(np.asarray(x) > 0.5, -logits, logits)), axis=1)


def _binary_samples(got, n, d, name="samples"):
    arr, problem = _array(got, name, (n, d))
    if arr is None:
        return None, problem
    if np.any((arr != 0) & (arr != 1)):
        return None, f"{name} must hold only 0. and 1.; found {fmt(arr[(arr != 0) & (arr != 1)][0])}"
    return arr, ""


def ar_violation(logits, x, d):
    """A message when some logit at position i moved while only inputs >= i changed, else ""."""
    n_rows = x.shape[0]
    b = n_rows // (2 * d + 1)
    blocks = logits.reshape(2 * d + 1, b, d)
    base = blocks[0]
    for k in range(1, 2 * d + 1):
        j = (k - 1) % d
        moved = np.abs(blocks[k][:, :j + 1] - base[:, :j + 1])
        allowed = AR_ATOL + AR_RTOL * np.abs(base[:, :j + 1])
        if np.any(moved > allowed):
            r, i = np.unravel_index(int(np.argmax(moved - allowed)), moved.shape)
            how = "x_j flipped" if k <= d else f"x_j flipped and x_{j + 1}.. redrawn"
            return (f"logits[:, {i}] changed by {moved[r, i]:.3g} when only inputs from position "
                    f"{j} on changed ({how}, j = {j}): the logit of x_{i} may depend on "
                    f"x_0 .. x_{i - 1} only (a mask that includes the diagonal, or >= where > "
                    "is due, lets x_i see itself)")
    return ""


def autoregressive_judge(case, outputs, expected):
    """Logits at positions <= j do not move when x_j (and later inputs) change."""
    d = case.data["spec"]["d"]
    x = ar_batch(case.data["x"], case.data["perturb_seed"])
    logits, problem = _array(outputs[0], "logits", x.shape)
    if logits is None:
        return Verdict.fail(problem)
    message = ar_violation(logits, x, d)
    return Verdict.fail(message) if message else PASS


# With every parameter multiplied by ``factor``, the logits must grow by at least this share
# of it (an FVSBN's grow by exactly ``factor``; a MADE's by about factor^(layers)).
SCALE_EFFECT = 0.1


def scaling_verdict(before, after, factor, share=SCALE_EFFECT):
    """PASS when the logits grew with the parameters: max |after| >= share factor max |before|."""
    low, high = float(np.max(np.abs(before))), float(np.max(np.abs(after)))
    if high < share * factor * low:
        return Verdict.fail(
            f"the grader multiplied every parameter of your model by {factor:g}, yet its largest "
            f"|logit| went from {low:.3g} only to {high:.3g}: keep every learned tensor an "
            "nn.Parameter of the model (or of its submodules) and compute the logits from them")
    return PASS


def log_prob_judge(case, outputs, expected):
    """log_prob(x) equals the Bernoulli log-likelihood of x under forward(x)'s logits."""
    spec = case.data["spec"]
    x = case.data["x"] if "x" in case.data else all_inputs(spec["d"])
    logits, problem = _array(outputs[-2], "logits", x.shape)
    if logits is None:
        return Verdict.fail(problem)
    if case.data.get("verify_scale"):
        before, problem = _array(outputs[0], "logits before scaling", x.shape)
        if before is None:
            return Verdict.fail(problem)
        verdict = scaling_verdict(before, logits, spec["scale"])
        if not verdict.passed:
            return verdict
    verdict = compare_arrays(bernoulli_log_prob(logits, x), outputs[-1], rtol=LOGP_RTOL,
                             atol=LOGP_ATOL, name="log_prob")
    if not verdict.passed:
        return Verdict.fail(verdict.message + " (expected: the SUM over positions of "
                            "x log sigmoid(l) + (1 - x) log sigmoid(-l), from your own logits)")
    return PASS


def normalization_judge(case, outputs, expected):
    """exp(log_prob) sums to 1 over all 2^d inputs."""
    d = case.data["spec"]["d"]
    logp, problem = _array(outputs[-1], "log_prob", (2 ** d,))
    if logp is None:
        return Verdict.fail(problem)
    top = float(np.max(logp))
    log_total = top + math.log(float(np.sum(np.exp(logp - top))))
    if abs(log_total) > NORM_TOL:
        return Verdict.fail(f"exp(log_prob) sums to {fmt(math.exp(log_total))} over all {2 ** d} "
                            f"inputs of d = {d}, expected 1 (|log sum| {abs(log_total):.3g} > "
                            f"{NORM_TOL:g}): sum over positions, and keep the model "
                            "autoregressive")
    return PASS


def sample_frequencies(alpha):
    """Judge: pattern frequencies of the samples match the model's own probabilities."""
    def judge(case, outputs, expected):
        d, n = case.data["spec"]["d"], int(case.data["n"])
        x = all_inputs(d)
        logits, problem = _array(outputs[0], "logits", x.shape)
        if logits is None:
            return Verdict.fail(problem)
        probs = np.exp(bernoulli_log_prob(logits, x))
        if abs(probs.sum() - 1.0) > NORM_TOL:
            return Verdict.fail(f"the probabilities of your logits sum to {fmt(probs.sum())} over "
                                "all inputs, not 1 (is the model autoregressive?): its samples "
                                "cannot be judged")
        samples, problem = _binary_samples(outputs[1], n, d)
        if samples is None:
            return Verdict.fail(problem)
        index = samples.astype(int) @ (1 << np.arange(d - 1, -1, -1))
        return statistics.category_frequencies(index, probs / probs.sum(), alpha,
                                               name="pattern index of a sample")
    return judge


def read_all(outputs, names, read):
    """``read(got, name) -> (array | None, problem)`` over the outputs: (arrays, "") or (None, why)."""
    arrays = []
    for got, name in zip(outputs, names):
        arr, problem = read(got, name)
        if arr is None:
            return None, problem
        arrays.append(arr)
    return arrays, ""


def seeded_runs_verdict(runs, what, hint, rtol=0.0):
    """``runs[0]`` and ``runs[1]`` used one generator seed (other global seeds), ``runs[2]`` another."""
    if not np.allclose(runs[0], runs[1], rtol=rtol, atol=0.0):
        return Verdict.fail(f"two calls with generators of the same seed gave different {what} (the "
                            f"global torch seed differed between them): {hint}")
    if np.array_equal(runs[0], runs[2]):
        return Verdict.fail(f"generators of different seeds gave identical {what}: is `generator` "
                            "used at all?")
    return PASS


def reproducible_judge(case, outputs, expected):
    """Same generator seed, same samples (whatever the global seed); other seed, other samples."""
    d, n = case.data["spec"]["d"], int(case.data["n"])
    arrays, problem = read_all(outputs, ("sample(seed)", "sample(seed) again", "sample(seed + 1)",
                                         "sample(n) without a generator"),
                               lambda got, name: _binary_samples(got, n, d, name))
    if arrays is None:
        return Verdict.fail(problem)
    return seeded_runs_verdict(arrays, "samples", "draw every random number with `generator`, "
                               "e.g. torch.bernoulli(p, generator=generator)")


def interface_judge(case, outputs, expected):
    """forward (B, d), log_prob (B,), sample (n, d) of 0./1."""
    d, b, n = case.data["spec"]["d"], case.data["x"].shape[0], int(case.data["n"])
    for got, name, shape in ((outputs[0], "forward(x)", (b, d)), (outputs[1], "log_prob(x)", (b,))):
        _, problem = _array(got, name, shape)
        if problem:
            return Verdict.fail(problem)
    _, problem = _binary_samples(outputs[2], n, d, "sample(n)")
    return Verdict.fail(problem) if problem else PASS


def affine_prediction(logits, x, d):
    """(what an affine model predicts for rows d + 1.., their logits), from the logits of
    ``affine_inputs``: l(x) = l(0) + sum_j x_j (l(e_j) - l(0))."""
    zero, units, rest = logits[0], logits[1:d + 1], logits[d + 1:]
    return zero + x[d + 1:] @ (units - zero), rest


def affine_judge(case, outputs, expected):
    """An FVSBN's logits are affine in x: l(x) = l(0) + sum_j x_j (l(e_j) - l(0))."""
    d = case.data["spec"]["d"]
    x = case.data["x"]
    logits, problem = _array(outputs[0], "logits", x.shape)
    if logits is None:
        return Verdict.fail(problem)
    predicted, rest = affine_prediction(logits, x, d)
    verdict = compare_arrays(predicted, rest, rtol=1e-4, atol=1e-4, name="logits")
    if not verdict.passed:
        return Verdict.fail("an FVSBN's logits are b + W x, affine in x, but "
                            f"l(x) != l(0) + sum_j x_j (l(e_j) - l(0)): {verdict.message}")
    return PASS


def affine_inputs(rng, d, n_random):
    """0, the d unit vectors, then ``n_random`` random binary rows."""
    return np.concatenate([np.zeros((1, d)), np.eye(d), rng.integers(0, 2, (n_random, d))]
                          ).astype(float)


def binary_rows(rng, n, d, p=0.35):
    """``(n, d)`` random 0./1. rows."""
    return (rng.random((n, d)) < p).astype(float)


# --- made_masks ------------------------------------------------------------------------------

def masks_program(check, case):
    """``made_masks(d, hidden_sizes, seed=...)``."""
    return [programs.call("made_masks", case.data["d"], list(case.data["hidden"]),
                          seed=case.data["seed"])]


def _masks(case, got):
    """The masks as float arrays of the right count, shapes and 0/1 values, or a message."""
    d, hidden = case.data["d"], list(case.data["hidden"])
    sizes = [d] + hidden + [d]
    if not isinstance(got, (list, tuple)) or len(got) != len(hidden) + 1:
        kind = f"a {type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (list, tuple))
                                           else "")
        return None, (f"expected a list of {len(hidden) + 1} masks (one per layer), got {kind}")
    masks = []
    for layer, (m, n_in, n_out) in enumerate(zip(got, sizes[:-1], sizes[1:])):
        arr, problem = _array(m, f"mask {layer}", (n_out, n_in))
        if arr is None:
            return None, problem + " (masks are shaped (out, in) like nn.Linear.weight)"
        if np.any((arr != 0) & (arr != 1)):
            return None, f"mask {layer} must hold only 0. and 1."
        masks.append(arr)
    return masks, ""


def path_counts(masks):
    """``(d, d)``: entry [i, j] counts the paths from input j to output i."""
    product = masks[0]
    for m in masks[1:]:
        product = m @ product
    return product


def masks_shape_judge(case, outputs, expected):
    masks, problem = _masks(case, outputs[0])
    return PASS if masks is not None else Verdict.fail(problem)


def masks_ordering_judge(case, outputs, expected):
    """The product of the masks is strictly lower triangular: output i sees inputs j < i only."""
    masks, problem = _masks(case, outputs[0])
    if masks is None:
        return Verdict.fail(problem)
    bad = np.argwhere(np.triu(path_counts(masks)) != 0)
    if len(bad):
        i, j = (int(v) for v in bad[0])
        return Verdict.fail(f"output {i} is connected to input {j} (j >= i) through the masks: "
                            "the product M_out @ ... @ M_1 must be strictly lower triangular "
                            "(is the output mask a strict >?)")
    return PASS


@checks.add("FVSBN", "forward, log_prob and sample have the spec's shapes", points=1,
            judge=interface_judge, expected=None, steps=interface_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield Case("d=5 B=3", data={"spec": model_spec("FVSBN", 5, 0), "x": binary_rows(rng, 3, 5),
                                "n": 4, "seed": 1})
    yield Case("d=1 B=1", data={"spec": model_spec("FVSBN", 1, 0), "x": np.ones((1, 1)),
                                "n": 3, "seed": 2}, about="x_0 has no parents: its logit is b_0")


@checks.add("FVSBN", "autoregressive: logit i ignores x_i and later inputs", points=2,
            judge=autoregressive_judge, expected=None, steps=ar_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield Case("d=6", data={"spec": model_spec("FVSBN", 6, 1, scale=3.0),
                            "x": binary_rows(rng, 2, 6), "perturb_seed": 5},
               about="every position flipped")


@checks.add("FVSBN", "log_prob is the summed Bernoulli log-likelihood of the logits", points=1,
            judge=log_prob_judge, expected=None, steps=forward_and_log_prob, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield Case("d=8 B=5", data={"spec": model_spec("FVSBN", 8, 2), "x": binary_rows(rng, 5, 8)})


@checks.add("FVSBN", "probabilities sum to 1 over {0,1}^d", points=1,
            judge=normalization_judge, expected=None, steps=forward_and_log_prob,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    yield Case("d=4", data={"spec": model_spec("FVSBN", 4, 3, scale=2.0)})


@checks.add("FVSBN", "same generator seed, same samples", points=1,
            judge=reproducible_judge, expected=None, steps=reproducibility_program,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    yield Case("d=10 n=50", data={"spec": model_spec("FVSBN", 10, 4), "n": 50, "seed": 11})


@checks.add("made_masks", "one 0/1 mask per layer, shaped (out, in)", points=1,
            judge=masks_shape_judge, expected=None, steps=masks_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield Case("d=4 hidden=[8, 6]", data={"d": 4, "hidden": [8, 6], "seed": 0})
    yield Case("d=3 hidden=[]", data={"d": 3, "hidden": [], "seed": 0},
               about="no hidden layer: one (d, d) mask")
    yield Case("d=1 hidden=[3]", data={"d": 1, "hidden": [3], "seed": 0},
               about="d = 1: masks (3, 1) and (1, 3)")


@checks.add("made_masks", "output i is connected to inputs j < i only", points=2,
            judge=masks_ordering_judge, expected=None, steps=masks_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield Case("d=5 hidden=[10]", data={"d": 5, "hidden": [10], "seed": 0})
    yield Case("d=6 hidden=[4, 4]", data={"d": 6, "hidden": [4, 4], "seed": 1})
    yield Case("d=1 hidden=[2, 3]", data={"d": 1, "hidden": [2, 3], "seed": 2},
               about="d = 1: no hidden unit may reach the output (its mask is all zeros)")


@checks.add("MADE", "autoregressive: logit i ignores x_i and later inputs", points=2,
            judge=autoregressive_judge, expected=None, steps=ar_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield Case("d=8 hidden=[16, 16]", data={"spec": model_spec("MADE", 8, 0, (16, 16), scale=2.0),
                                            "x": binary_rows(rng, 2, 8), "perturb_seed": 3})


@checks.add("MADE", "log_prob is the summed Bernoulli log-likelihood of the logits", points=1,
            judge=log_prob_judge, expected=None, steps=forward_and_log_prob, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield Case("d=8 hidden=[16] B=5", data={"spec": model_spec("MADE", 8, 1, (16,)),
                                            "x": binary_rows(rng, 5, 8)})


# --- train_model -----------------------------------------------------------------------------

def training_data(case):
    """The training rows of a case: the first ``n_train`` digits, or a random subset of them,
    relabeled with ``digits.relabel`` when the case names a ``relabel`` seed."""
    x_train = digits.load_train()
    rows = case.data.get("rows")
    x = x_train[:case.data["n_train"]] if rows is None else x_train[np.asarray(rows)]
    return digits.relabel(x, case.data["relabel"]) if "relabel" in case.data else x


def train_step(case, seed, save=None):
    """``train_model(model, data, ...)`` with the case's budget; data and generator on the CPU."""
    b = case.data["budget"]
    data = tensor(training_data(case), device="cpu")
    return programs.call("train_model", programs.ref("model"), data, int(b["epochs"]), float(b["lr"]),
                         int(b["batch"]), save=save, generator=generator(seed, device="cpu"))


def losses_program(check, case):
    """Logits on the training data before and after ``train_model``, and its loss list."""
    x = tensor(training_data(case))
    return build_model(case.data["spec"]) + [
        method("forward", x), train_step(case, case.data["seed"]), method("forward", x)]


def real_losses_judge(case, outputs, expected):
    """One float per epoch, matching the NLL that the grader computes before and after training."""
    x = training_data(case)
    epochs = int(case.data["budget"]["epochs"])
    before, problem = _array(outputs[0], "logits before training", x.shape)
    if before is None:
        return Verdict.fail(problem)
    losses, problem = _array(outputs[1], "the returned losses", (epochs,))
    if losses is None:
        return Verdict.fail(problem + " (return a list of n_epochs floats)")
    after, problem = _array(outputs[2], "logits after training", x.shape)
    if after is None:
        return Verdict.fail(problem)
    nll0 = -float(np.mean(bernoulli_log_prob(before, x)))
    nll1 = -float(np.mean(bernoulli_log_prob(after, x)))
    gain = nll0 - nll1
    if gain < case.data["min_gain"]:
        return Verdict.fail(f"training NLL went from {nll0:.4g} to {nll1:.4g} nats: expected a "
                            f"drop of at least {case.data['min_gain']:g} with this budget")
    slack = LOSS_SLACK * gain
    first, last = float(losses[0]), float(losses[-1])
    if not nll1 - slack <= first <= nll0 + slack:
        return Verdict.fail(f"the first epoch's mean loss {first:.4g} is outside "
                            f"[{nll1 - slack:.4g}, {nll0 + slack:.4g}], the NLL after and before "
                            f"training (nats per image, ± {slack:.3g}): report the mean NLL per "
                            "image, summed over the d positions")
    if abs(last - nll1) > slack:
        return Verdict.fail(f"the last epoch's mean loss {last:.4g} differs from the training NLL "
                            f"after training, {nll1:.4g}, by more than {slack:.3g} nats: report "
                            "the real mean NLL of each epoch")
    return PASS


# The reported losses are measured during the epoch, before each step: the first epoch's
# mean lies between the NLL after and before training, and the last one within a fraction
# of the total gain of the final NLL (reference: 0.01-0.03 of the gain; allowed 0.1).
LOSS_SLACK = 0.1


@checks.add("train_model", "returns the real mean NLL of each epoch", points=2,
            judge=real_losses_judge, expected=None, steps=losses_program, seconds=TRAIN_SECONDS,
            needs_torch=True, trains=True)
def _(rng):
    yield Case("FVSBN d=64, 4 epochs", data={
        "spec": model_spec("FVSBN", 64, 0), "n_train": 700, "seed": 3, "min_gain": 5.0,
        "budget": {"epochs": 4, "lr": 3e-2, "batch": 50}},
        about="700 training digits, batches of 50, lr 3e-2")
