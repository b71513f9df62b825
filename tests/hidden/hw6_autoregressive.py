"""Hidden checks of HW6: other sizes and seeds, sampling statistics, training on the digits.

Never shipped to students. All judgements on the trusted side from plain
outputs (see the public file). The likelihood that a trained model reaches
counts only when the trained model is still autoregressive (checked by
perturbing held-out digits at every position, in the same shuffled forward
calls as the held-out digits themselves), so a model that peeks at x_i gets no
credit for its excellent NLL.

Statistical budget: 2 sampling-frequency cases, each failing a correct sampler
with probability at most ALPHA = 1e-7: below 1e-6 per grading run.

Training budgets and thresholds (calibrated with ``bench/hw6.py``: the reference on
one CPU thread over 10 seeds, 1400 relabeled training digits, 379 relabeled held-out
digits, as graded): FVSBN(64), 10 epochs, lr 3e-2, batch 96: held-out NLL
18.75–18.93 nats, allowed <= 19.4. MADE(64, (512,)), 10 epochs, lr 1.5e-2, batch 96:
reference 17.87–18.16, random-degree masks (Germain et al., 10 other seeds)
17.93–18.21, the same MADE with its ReLU removed (a linear MADE, affine logits)
19.02–19.30; allowed <= 18.6. Graded with seeds 0–49 (each grading seed draws its own
initialization, relabeling and shuffling), the checks measured FVSBN 18.70–19.00, MADE
17.69–18.23 (mean 17.97, sd 0.12: the mark is 5.4 sd above) and linear MADE 18.89–19.30
(mean 19.07, sd 0.09: the mark is 5.1 sd below). The budgets are short so that a
grading stays fast (150 Adam steps each: about 0.5 s of CPU for the MADE, 0.15 s for
the FVSBN); the larger learning rates keep a MADE and a linear MADE about as far apart
as 30 epochs at lr 3e-3 did (1.1 nats between the means). Each call has 60 s: a model
too big or too slow for the budget fails with the time-limit message and its worker is
killed.

Memorization: the held-out digits never ship (``Homework.grader_data_files``), none is a
copy of a training digit, and every grading seed flips its own random set of pixel
positions in both splits (``digits.relabel``). The held-out digits are scored after
training in ``N_CHUNKS`` calls, each by a fresh instance of the student's class loaded
with a snapshot of the trained parameters and buffers, together with perturbed copies
of one of its digits; the first chunk is scored again at the end, in other batches: a
model whose logits for a digit depend on the other rows of the call or on earlier calls
fails.
"""
import numpy as np

from grader.cases import digits
from grader.checks import programs
from grader.checks.registry import DEVICE, Case, CheckSet
from grader.compare.numeric import PASS, Verdict
from tests.public.hw6_autoregressive import (
    AR_ATOL, AR_RTOL, SECONDS, TRAIN_SECONDS, _array, _masks, affine_inputs, affine_judge,
    affine_prediction, ar_batch, ar_program, ar_violation, autoregressive_judge, binary_rows,
    bernoulli_log_prob, build_model, construct, forward_and_log_prob, forward_program,
    interface_judge, interface_program, log_prob_judge, losses_program, masks_ordering_judge,
    masks_program, masks_shape_judge, method, model_spec, normalization_judge, on_model,
    read_all, real_losses_judge, reproducibility_program, reproducible_judge,
    sample_frequencies, sampling_program, seeded_runs_verdict, tensor, train_step)

checks = CheckSet("hw6", public=False)

ALPHA = 1e-7
N_SAMPLES = 20000

# Held-out NLL in nats per digit, 10 seeds (bench/hw6.py); see the module docstring.
FVSBN_BUDGET = {"epochs": 10, "lr": 3e-2, "batch": 96}
FVSBN_MAX_TEST_NLL = 19.4      # reference 18.75-18.93
FVSBN_REFERENCE = "18.75-18.93"
MADE_HIDDEN = (512,)
MADE_BUDGET = {"epochs": 10, "lr": 1.5e-2, "batch": 96}
MADE_MAX_TEST_NLL = 18.6       # reference 17.87-18.16; without its ReLU (linear) 19.02-19.30
MADE_REFERENCE = "17.87-18.16"


def _seed(rng):
    return int(rng.integers(1 << 30))


# --- shared case makers ----------------------------------------------------------------------

def _ar_cases(rng, model, sizes):
    for d, hidden, scale in sizes:
        spec = model_spec(model, d, _seed(rng), hidden, scale=scale)
        label = f"d={d}" + (f" hidden={list(hidden)}" if model == "MADE" else "")
        yield Case(label, data={"spec": spec, "x": binary_rows(rng, 3, d),
                                "perturb_seed": _seed(rng)}, about="every position perturbed")


def _log_prob_cases(rng, model, sizes):
    for d, hidden in sizes:
        yield Case(f"d={d} B=7", data={"spec": model_spec(model, d, _seed(rng), hidden),
                                       "x": binary_rows(rng, 7, d)})
    d, hidden = sizes[-1]
    yield Case(f"d={d} extreme logits", data={"spec": model_spec(model, d, _seed(rng), hidden,
                                                                 scale=300.0),
                                              "x": binary_rows(rng, 7, d, p=0.5),
                                              "verify_scale": True},
               about="parameters x 300: log(sigmoid(l)) underflows, use logsigmoid / BCE")


def _normalization_cases(rng, model, sizes):
    for d, hidden in sizes:
        yield Case(f"d={d}", data={"spec": model_spec(model, d, _seed(rng), hidden, scale=2.0)},
                   about=f"all {2 ** d} inputs")


N_CHUNKS = 8                   # the held-out digits are scored in this many calls


def heldout_chunks(case):
    """The case's held-out calls: ``[(rows, order, n_heldout)]``, rows shuffled by ``order``.

    The relabeled held-out digits are cut into ``N_CHUNKS`` random chunks; each chunk is
    scored together with ``ar_batch`` of one of its own digits (shuffled in), so a model
    cannot behave on the perturbation rows and peek on the digits. A last two calls score
    the first chunk's digits again, in halves and reversed: the grader requires the same
    logits for a digit whatever the call (``consistency_violation``).
    """
    x = digits.relabel(digits.load_heldout(), case.data["relabel"])
    rng = np.random.default_rng(case.data["perturb_seed"])
    chunks = np.array_split(rng.permutation(len(x)), N_CHUNKS)
    calls = []
    for chunk in chunks:
        base = x[chunk[rng.integers(len(chunk))]][None, :]
        rows = np.concatenate([x[chunk], ar_batch(base, int(rng.integers(1 << 30)))])
        order = rng.permutation(len(rows))
        calls.append((rows[order], order, len(chunk)))
    first = x[chunks[0]][::-1]
    for half in np.array_split(np.arange(len(first)), 2):
        calls.append((first[half], np.arange(len(half)), len(half)))
    return calls


def consistency_violation(first, again):
    """A message when the first chunk's logits differ between its first call and the last ones."""
    moved = np.abs(first - again)
    allowed = AR_ATOL + AR_RTOL * np.abs(first)
    if np.all(moved <= allowed):
        return ""
    return (f"the logits of the same held-out digits changed by up to {float(np.max(moved)):.3g} "
            "between two calls (other rows in the batch, later in the run): a trained model's "
            "logits for a digit may depend on that digit only, not on the other rows it is "
            "asked about or on earlier calls")


def learned_judge(max_nll):
    """The trained model is autoregressive, consistent across calls, and its held-out NLL
    (from its logits, per chunk) is <= max_nll."""
    def judge(case, outputs, expected):
        calls = heldout_chunks(case)
        if not isinstance(outputs, (list, tuple)) or len(outputs) != len(calls):
            return Verdict.fail(f"expected {len(calls)} results of forward, got {len(outputs)}")
        nll_sum, heldout_logits = 0.0, []
        for k, ((rows, order, n), got) in enumerate(zip(calls, outputs)):
            logits, problem = _array(got, f"logits of held-out call {k + 1}", rows.shape)
            if logits is None:
                return Verdict.fail(problem)
            x, unshuffled = np.empty_like(rows), np.empty_like(logits)
            x[order], unshuffled[order] = rows, logits
            if k < N_CHUNKS:
                message = ar_violation(unshuffled[n:], x[n:], x.shape[1])
                if message:
                    return Verdict.fail("the trained model is not autoregressive, so its "
                                        f"likelihood does not count: {message}")
                nll_sum -= float(np.sum(bernoulli_log_prob(unshuffled[:n], x[:n])))
            heldout_logits.append(unshuffled[:n])
        n_first = calls[0][2]
        again = np.concatenate(heldout_logits[N_CHUNKS:])[::-1]
        message = consistency_violation(heldout_logits[0][:n_first], again)
        if message:
            return Verdict.fail(message)
        nll = nll_sum / len(digits.load_heldout())
        if nll > max_nll:
            b = case.data["budget"]
            return Verdict.fail(
                f"held-out NLL {nll:.3f} nats per digit > {max_nll:g} allowed after "
                f"{b['epochs']} epochs (lr {b['lr']:g}, batch {b['batch']}); the reference "
                f"reaches {case.data['reference']} under the same budget")
        return PASS
    return judge


def learning_program(check, case):
    """Train with the student's train_model and snapshot the trained parameters and buffers;
    then each held-out call builds a fresh model, loads the snapshot and calls ``forward``.

    A fresh instance per call, in evaluation mode: nothing the model keeps outside its
    parameters and buffers (a count of what it was asked) survives from training or from one
    call to the next.
    """
    spec = case.data["spec"]
    steps = build_model(spec) + [train_step(case, case.data["seed"], save="losses"),
                                 programs.call(programs.fn("snapshot"), programs.ref("model"),
                                               save="state")]
    for rows, _, _ in heldout_chunks(case):
        steps += construct(spec) + [on_model("restore", state=programs.ref("state")),
                                    on_model("move_to", device=DEVICE),
                                    method("forward", tensor(rows))]
    return steps


# --- FVSBN -----------------------------------------------------------------------------------

@checks.add("FVSBN", "shapes for other sizes", points=1, judge=interface_judge, expected=None,
            steps=interface_program, seconds=SECONDS, needs_torch=True)
def _(rng):
    for d, b in ((64, 2), (3, 1)):
        yield Case(f"d={d} B={b}", data={"spec": model_spec("FVSBN", d, _seed(rng)),
                                         "x": binary_rows(rng, b, d), "n": 5, "seed": _seed(rng)})


@checks.add("FVSBN", "autoregressive for d = 1 to 64", points=2, judge=autoregressive_judge,
            expected=None, steps=ar_program, seconds=SECONDS, needs_torch=True)
def _(rng):
    yield from _ar_cases(rng, "FVSBN", ((1, (), 2.0), (int(rng.integers(5, 20)), (), 3.0),
                                        (64, (), 2.0)))


@checks.add("FVSBN", "logits are affine in x (a logistic model)", points=1, judge=affine_judge,
            expected=None, steps=forward_program, seconds=SECONDS, needs_torch=True)
def _(rng):
    d = int(rng.integers(4, 12))
    yield Case(f"d={d}", data={"spec": model_spec("FVSBN", d, _seed(rng), scale=2.0),
                               "x": affine_inputs(rng, d, 6)},
               about="l(x) = l(0) + sum_j x_j (l(e_j) - l(0))")


@checks.add("FVSBN", "log_prob consistent with the logits, extreme logits included", points=1,
            judge=log_prob_judge, expected=None, steps=forward_and_log_prob, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield from _log_prob_cases(rng, "FVSBN", ((1, ()), (64, ())))


@checks.add("FVSBN", "probabilities sum to 1 for d = 1 to 10", points=1,
            judge=normalization_judge, expected=None, steps=forward_and_log_prob,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    yield from _normalization_cases(rng, "FVSBN", ((1, ()), (int(rng.integers(5, 9)), ()),
                                                   (10, ())))


@checks.add("FVSBN", "sample frequencies match the model's probabilities", points=2,
            judge=sample_frequencies(ALPHA), expected=None, steps=sampling_program,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    yield Case("d=6", data={"spec": model_spec("FVSBN", 6, _seed(rng), scale=3.0),
                            "n": N_SAMPLES, "seed": _seed(rng)},
               about=f"{N_SAMPLES} samples, 64 patterns, false-failure rate < {ALPHA:g}")


@checks.add("FVSBN", "sampling reproducible from the generator", points=1,
            judge=reproducible_judge, expected=None, steps=reproducibility_program,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    yield Case("d=64 n=20", data={"spec": model_spec("FVSBN", 64, _seed(rng)), "n": 20,
                                  "seed": _seed(rng)})


def _learning_case(rng, spec, budget, reference):
    b = budget
    return Case(spec["model"] + "(64" + (f", {tuple(spec['hidden'])})" if "hidden" in spec else ")"),
                data={"spec": spec, "n_train": 1400, "budget": b, "seed": _seed(rng),
                      "perturb_seed": _seed(rng), "relabel": _seed(rng), "reference": reference},
                about=f"train_model(model, 1400 digits, {b['epochs']}, {b['lr']:g}, {b['batch']}) "
                f"within {TRAIN_SECONDS:g} s; held-out NLL from your logits (digits relabeled "
                "with a per-seed bit mask, held-out digits scored by fresh copies of the "
                "trained model)")


@checks.add("FVSBN", "learns the digits: held-out NLL after training", points=2,
            judge=learned_judge(FVSBN_MAX_TEST_NLL), expected=None, steps=learning_program,
            seconds=TRAIN_SECONDS, needs_torch=True, trains=True)
def _(rng):
    yield _learning_case(rng, model_spec("FVSBN", 64, _seed(rng)), FVSBN_BUDGET, FVSBN_REFERENCE)


# --- made_masks ------------------------------------------------------------------------------

def _random_hidden(rng, d, n_layers, low, high):
    return [int(h) for h in rng.integers(low, high + 1, size=n_layers)]


@checks.add("made_masks", "shapes for zero to three hidden layers", points=1,
            judge=masks_shape_judge, expected=None, steps=masks_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    for n_layers in (0, 1, 3):
        d = int(rng.integers(2, 12))
        hidden = _random_hidden(rng, d, n_layers, 1, 20)
        yield Case(f"d={d} hidden={hidden}", data={"d": d, "hidden": hidden, "seed": _seed(rng)})


@checks.add("made_masks", "strictly lower triangular connectivity, every size", points=2,
            judge=masks_ordering_judge, expected=None, steps=masks_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    sizes = [(1, [3]), (2, [1]), (64, [256]), (10, [5, 30, 7])]
    d = int(rng.integers(3, 20))
    sizes.append((d, _random_hidden(rng, d, 2, 1, 2 * d)))
    for d, hidden in sizes:
        yield Case(f"d={d} hidden={hidden}", data={"d": d, "hidden": hidden, "seed": _seed(rng)})


def same_masks_judge(case, outputs, expected):
    first, problem = _masks(case, outputs[0])
    if first is None:
        return Verdict.fail(problem)
    second, problem = _masks(case, outputs[1])
    if second is None:
        return Verdict.fail(problem)
    if any(not np.array_equal(a, b) for a, b in zip(first, second)):
        return Verdict.fail("two calls with the same seed gave different masks (the global torch "
                            "seed differed between them): draw the degrees with "
                            "torch.Generator().manual_seed(seed)")
    return PASS


def same_seed_program(check, case):
    call = masks_program(check, case)[0]
    return [programs.seed_global(1), call, programs.seed_global(2), call]


@checks.add("made_masks", "same seed, same masks", points=1, judge=same_masks_judge,
            expected=None, steps=same_seed_program, seconds=SECONDS, needs_torch=True)
def _(rng):
    yield Case("d=12 hidden=[7, 9]", data={"d": 12, "hidden": [7, 9], "seed": _seed(rng)},
               about="hidden sizes < d: degrees are drawn at random")


# --- MADE ------------------------------------------------------------------------------------

@checks.add("MADE", "shapes for zero to two hidden layers", points=1, judge=interface_judge,
            expected=None, steps=interface_program, seconds=SECONDS, needs_torch=True)
def _(rng):
    for d, hidden, b in ((64, (128,), 2), (1, (4,), 1), (5, (), 3), (7, (3, 5), 2)):
        yield Case(f"d={d} hidden={list(hidden)} B={b}",
                   data={"spec": model_spec("MADE", d, _seed(rng), hidden),
                         "x": binary_rows(rng, b, d), "n": 4, "seed": _seed(rng)})


@checks.add("MADE", "autoregressive for hidden sizes below and above d", points=2,
            judge=autoregressive_judge, expected=None, steps=ar_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    d = int(rng.integers(8, 20))
    yield from _ar_cases(rng, "MADE", ((64, (256,), 2.0), (d, (d // 2, 2 * d, d), 2.0),
                                       (1, (3,), 2.0)))


# A MADE's logits must leave the affine prediction by at least this share of their own size
# (max |logit| or 1). Reference over 20 seeds of these cases: 0.13 at least, 0.27 median; a
# MADE without its nonlinearity: 5e-7 at most (float32 rounding).
NONLINEAR_MIN = 0.01


def not_affine_judge(case, outputs, expected):
    """A MADE's logits are not affine in x: without its hidden nonlinearity a MADE is an FVSBN."""
    d, x = case.data["spec"]["d"], case.data["x"]
    logits, problem = _array(outputs[0], "logits", x.shape)
    if logits is None:
        return Verdict.fail(problem)
    predicted, rest = affine_prediction(logits, x, d)
    gap = float(np.max(np.abs(predicted - rest)))
    size = max(1.0, float(np.max(np.abs(rest))))
    if gap <= NONLINEAR_MIN * size:
        return Verdict.fail(
            f"a MADE's logits must not be affine in x, but l(x) = l(0) + sum_j x_j (l(e_j) - "
            f"l(0)) holds on every input tried (largest gap {gap:.3g}): put a nonlinearity "
            "(ReLU) between the masked layers; without one, stacked linear layers collapse "
            "into one and the MADE is an FVSBN")
    return PASS


@checks.add("MADE", "logits are not affine in x (a nonlinear network)", points=1,
            judge=not_affine_judge, expected=None, steps=forward_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    d = int(rng.integers(6, 12))
    for hidden in ((4 * d,), (2 * d, 2 * d)):
        yield Case(f"d={d} hidden={list(hidden)}",
                   data={"spec": model_spec("MADE", d, _seed(rng), hidden, scale=2.0),
                         "x": affine_inputs(rng, d, 24)},
                   about="l(x) = l(0) + sum_j x_j (l(e_j) - l(0)) must fail somewhere")


@checks.add("MADE", "log_prob consistent with the logits, extreme logits included", points=1,
            judge=log_prob_judge, expected=None, steps=forward_and_log_prob, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield from _log_prob_cases(rng, "MADE", ((1, (2,)), (64, (128,))))


@checks.add("MADE", "probabilities sum to 1 for d = 1 to 10", points=1,
            judge=normalization_judge, expected=None, steps=forward_and_log_prob,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    yield from _normalization_cases(rng, "MADE", ((1, (3,)), (6, (4, 12)), (10, (20,))))


@checks.add("MADE", "sample frequencies match the model's probabilities", points=2,
            judge=sample_frequencies(ALPHA), expected=None, steps=sampling_program,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    yield Case("d=6 hidden=[12, 12]", data={"spec": model_spec("MADE", 6, _seed(rng), (12, 12),
                                                               scale=1.5),
                                            "n": N_SAMPLES, "seed": _seed(rng)},
               about=f"{N_SAMPLES} samples, 64 patterns, false-failure rate < {ALPHA:g}")


@checks.add("MADE", "sampling reproducible from the generator", points=1,
            judge=reproducible_judge, expected=None, steps=reproducibility_program,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    yield Case("d=20 hidden=[40] n=30", data={"spec": model_spec("MADE", 20, _seed(rng), (40,)),
                                              "n": 30, "seed": _seed(rng)})


@checks.add("MADE", "learns the digits: held-out NLL after training", points=2,
            judge=learned_judge(MADE_MAX_TEST_NLL), expected=None, steps=learning_program,
            seconds=TRAIN_SECONDS, needs_torch=True, trains=True)
def _(rng):
    yield _learning_case(rng, model_spec("MADE", 64, _seed(rng), MADE_HIDDEN), MADE_BUDGET,
                         MADE_REFERENCE)


# --- train_model -----------------------------------------------------------------------------

@checks.add("train_model", "real losses on a random subset, several batch sizes", points=1,
            judge=real_losses_judge, expected=None, steps=losses_program, seconds=TRAIN_SECONDS,
            needs_torch=True, trains=True)
def _(rng):
    rows = np.sort(rng.choice(1400, size=600, replace=False))
    for batch in (37, 128):
        yield Case(f"FVSBN d=64 batch={batch}", data={
            "spec": model_spec("FVSBN", 64, _seed(rng)), "rows": rows, "seed": _seed(rng),
            "min_gain": 3.0, "budget": {"epochs": 4, "lr": 3e-2, "batch": batch}},
            about="600 rows; batch sizes that do not divide N")


def same_losses_judge(case, outputs, expected):
    """Same generator seed and same initial model: same losses; another seed: other losses."""
    epochs = int(case.data["budget"]["epochs"])
    runs, problem = read_all(outputs, ("run 1", "run 2 (same seed)", "run 3 (another seed)"),
                             lambda got, name: _array(got, f"the losses of {name}", (epochs,)))
    if runs is None:
        return Verdict.fail(problem)
    return seeded_runs_verdict(runs, "losses", "shuffle with torch.randperm(N, "
                               "generator=generator, ...) each epoch", rtol=1e-5)


def same_losses_program(check, case):
    """Train three copies of the same initial model: seeds s, s (other global seed) and s + 1."""
    seed = case.data["seed"]
    steps = []
    for run, (global_seed, gen_seed) in enumerate(((10, seed), (20, seed), (30, seed + 1))):
        steps += build_model(case.data["spec"]) + [programs.seed_global(global_seed),
                                                   train_step(case, gen_seed)]
    return steps


@checks.add("train_model", "shuffling reproducible from the generator", points=1,
            judge=same_losses_judge, expected=None, steps=same_losses_program,
            seconds=TRAIN_SECONDS, needs_torch=True, trains=True)
def _(rng):
    yield Case("FVSBN d=64, 2 epochs", data={
        "spec": model_spec("FVSBN", 64, _seed(rng)), "n_train": 300, "seed": _seed(rng),
        "budget": {"epochs": 2, "lr": 1e-2, "batch": 32}},
        about="same initial model, same generator seed, different global seeds")
