"""HW6's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should; resource bounds; the device option (CUDA when present)."""
import dataclasses
import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np

import pytest

from grader import cuda_probe, engine, homeworks
from grader.cli import main
from grader.homeworks import PROJECT_ROOT

from tests.hidden import hw6_autoregressive as hidden

from .grading import failures, grade_text, lost, reference_source, stub_source, variant

HW = homeworks.get("hw6")
EXERCISES = {"FVSBN", "made_masks", "MADE", "train_model"}

pytestmark = pytest.mark.slow   # every test here grades models through the sandbox (a few s each)


def _cuda_available():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_scores_full_marks(seed):
    result = grade_text("hw6", reference_source(HW), seed=seed, device="cpu")
    assert result.import_status == "ok"
    assert result.score == result.max_score, failures(result)
    assert {c.exercise for c in result.checks} == EXERCISES


def test_stubs_score_zero_and_say_not_implemented():
    result = grade_text("hw6", stub_source(HW), seed=5, device="cpu")
    assert result.score == 0
    assert {c.status for c in result.checks} == {"not_implemented"}, failures(result)
    assert {c.exercise for c in result.checks} == EXERCISES


FVSBN_PEEKS = {"FVSBN/autoregressive-logit-i-ignores-x-i-and-later-inputs",
               "FVSBN/autoregressive-for-d-1-to-64",
               "FVSBN/probabilities-sum-to-1-over-0-1-d",
               "FVSBN/probabilities-sum-to-1-for-d-1-to-10",
               "FVSBN/sample-frequencies-match-the-model-s-probabilities",
               "FVSBN/learns-the-digits-held-out-nll-after-training"}
MADE_PEEKS = {"made_masks/output-i-is-connected-to-inputs-j-i-only",
              "made_masks/strictly-lower-triangular-connectivity-every-size",
              "MADE/autoregressive-logit-i-ignores-x-i-and-later-inputs",
              "MADE/autoregressive-for-hidden-sizes-below-and-above-d",
              "MADE/probabilities-sum-to-1-for-d-1-to-10",
              "MADE/sample-frequencies-match-the-model-s-probabilities",
              "MADE/learns-the-digits-held-out-nll-after-training"}

LEARNS = "MADE/learns-the-digits-held-out-nll-after-training"
# The cheating variants below behave on batches of up to the training batch size (training
# and small probes) and cheat on larger calls: the held-out calls are larger
# (``test_the_held_out_calls_are_larger_than_a_training_batch``).
TRAIN_BATCH = max(hidden.FVSBN_BUDGET["batch"], hidden.MADE_BUDGET["batch"])
FVSBN_LEARNS = "FVSBN/learns-the-digits-held-out-nll-after-training"
EXTREME = {"FVSBN/log-prob-consistent-with-the-logits-extreme-logits-included",
           "MADE/log-prob-consistent-with-the-logits-extreme-logits-included"}

WRONG_VARIANTS = {
    # Peeks at x_i: a better NLL on the digits, but no credit for it.
    "FVSBN mask including the diagonal": ("""
        _RightFVSBN = FVSBN
        class FVSBN(_RightFVSBN):
            def __init__(self, d):
                super().__init__(d)
                self.mask = torch.tril(torch.ones(d, d))
        """, FVSBN_PEEKS),
    # made_masks with >= in the output mask: MADE (built from it) peeks too.
    "made_masks with >= instead of > in the output mask": ("""
        def made_masks(d, hidden_sizes, seed=0):
            generator = torch.Generator().manual_seed(int(seed))
            top = max(d - 1, 1)
            degrees = [torch.arange(1, d + 1)]
            for h in hidden_sizes:
                low = min(int(degrees[-1].min()), top)
                degrees.append(_hidden_degrees(int(h), low, top, generator))
            masks = [(out[:, None] >= inp[None, :]).float()
                     for inp, out in zip(degrees[:-1], degrees[1:])]
            masks.append((degrees[0][:, None] >= degrees[-1][None, :]).float())
            return masks
        """, MADE_PEEKS),
    "FVSBN log_prob with the mean over positions instead of the sum": ("""
        def _mean_log_prob(self, x):
            return -F.binary_cross_entropy_with_logits(self(x), x, reduction="none").mean(dim=-1)
        FVSBN.log_prob = _mean_log_prob
        """, {"FVSBN/log-prob-is-the-summed-bernoulli-log-likelihood-of-the-logits",
              "FVSBN/log-prob-consistent-with-the-logits-extreme-logits-included",
              "FVSBN/probabilities-sum-to-1-over-0-1-d",
              "FVSBN/probabilities-sum-to-1-for-d-1-to-10"}),
    "FVSBN log_prob as log(sigmoid(l)): -inf for extreme logits": ("""
        def _naive_log_prob(self, x):
            p = torch.sigmoid(self(x))
            return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=-1)
        FVSBN.log_prob = _naive_log_prob
        """, {"FVSBN/log-prob-consistent-with-the-logits-extreme-logits-included"}),
    "FVSBN sampler ignoring the generator": ("""
        @torch.no_grad()
        def _global_sample(self, n, generator=None):
            x = torch.zeros(n, self.d, device=_device(self))
            for i in range(self.d):
                x[:, i] = torch.bernoulli(torch.sigmoid(self(x)[:, i]))
            return x
        FVSBN.sample = _global_sample
        """, {"FVSBN/same-generator-seed-same-samples",
              "FVSBN/sampling-reproducible-from-the-generator"}),
    "train_model that trains but returns made-up losses": ("""
        _right_train = train_model
        def train_model(model, data, n_epochs, lr, batch_size, generator=None):
            _right_train(model, data, n_epochs, lr, batch_size, generator)
            return [40.0 / (1 + e) for e in range(n_epochs)]
        """, {"train_model/returns-the-real-mean-nll-of-each-epoch",
              "train_model/real-losses-on-a-random-subset-several-batch-sizes",
              "train_model/shuffling-reproducible-from-the-generator"}),
    # Germain et al.'s MADE needs its nonlinearity: without it the layers collapse into one
    # masked linear map (an FVSBN), whose held-out NLL the MADE mark must not accept.
    "MADE without its nonlinearity (a linear MADE)": ("""
        _RightMADE = MADE
        class MADE(_RightMADE):
            def __init__(self, d, hidden_sizes=(128,)):
                super().__init__(d, hidden_sizes)
                self.net = nn.Sequential(*[m for m in self.net if not isinstance(m, nn.ReLU)])
        """, {"MADE/logits-are-not-affine-in-x-a-nonlinear-network", LEARNS}),
    # Overriding apply (and to) once vetoed the grader's x300 scaling: the naive log(sigmoid)
    # then met no extreme logit. The grader now scales through nn.Module's own storage.
    "naive log(sigmoid) log_prob in models that override apply and to": ("""
        def _naive_log_prob(self, x):
            p = torch.sigmoid(self(x))
            return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=-1)
        _Autoregressive.log_prob = _naive_log_prob
        _Autoregressive.apply = lambda self, fn: self
        _Autoregressive.to = lambda self, *args, **kwargs: self
        """, EXTREME),
    # The helpers run inside the worker, where a submission can patch them: the judge
    # believes only the logits, which must have grown with the scaling.
    "naive log(sigmoid) log_prob and the grader's scaling helper patched to do nothing": ("""
        import sys
        for _name in ("callables", "grader.sandbox.callables"):
            if _name in sys.modules:
                sys.modules[_name].FACTORIES["scale_model"] = lambda factor: (lambda m: m)
        def _naive_log_prob(self, x):
            p = torch.sigmoid(self(x))
            return (x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum(dim=-1)
        _Autoregressive.log_prob = _naive_log_prob
        """, EXTREME),
    "train_model reporting the mean NLL per pixel": ("""
        _right_train = train_model
        def train_model(model, data, n_epochs, lr, batch_size, generator=None):
            losses = _right_train(model, data, n_epochs, lr, batch_size, generator)
            return [l / data.shape[1] for l in losses]
        """, {"train_model/returns-the-real-mean-nll-of-each-epoch",
              "train_model/real-losses-on-a-random-subset-several-batch-sizes"}),
}


@pytest.mark.parametrize("name", sorted(WRONG_VARIANTS))
def test_wrong_variant_loses_exactly_its_checks(name):
    override, expected_lost = WRONG_VARIANTS[name]
    result = grade_text("hw6", variant(HW, override), seed=3, device="cpu")
    assert lost(result) == expected_lost, failures(result)


def test_check_ids_named_in_variants_exist():
    ids = {c.id for c in homeworks.load_checks(HW, include_hidden=True)}
    for name, (_, expected) in WRONG_VARIANTS.items():
        assert expected <= ids, name


def test_a_model_too_big_for_the_budget_fails_on_time(monkeypatch):
    """A MADE with 4096-wide hidden layers cannot train in the budget: timeout, worker stopped."""
    module = importlib.import_module("tests.hidden.hw6_autoregressive")
    shorter = [dataclasses.replace(c, seconds=4.0) if c.id == LEARNS else c
               for c in module.checks.checks]
    monkeypatch.setattr(module.checks, "checks", shorter)
    source = variant(HW, """
        _RightMADE = MADE
        class MADE(_RightMADE):
            def __init__(self, d, hidden_sizes=(128,)):
                super().__init__(d, hidden_sizes=(4096, 4096))
        """)
    result = grade_text("hw6", source, seed=0, only=(LEARNS,), device="cpu")
    (check,) = result.checks
    assert check.status == "timeout", failures(result)
    assert "4 s limit" in check.message and "stopped" in check.message


def test_device_resolution():
    hw6_checks = homeworks.load_checks(HW, include_hidden=False)
    hw1_checks = homeworks.load_checks(homeworks.get("hw1"), include_hidden=False)
    assert engine.resolve_device("cpu", hw6_checks) == "cpu"
    assert engine.resolve_device("auto", hw1_checks) == "cpu"   # no torch needed, none imported
    assert engine.resolve_device("auto", hw6_checks) == ("cuda" if _cuda_available() else "cpu")
    with pytest.raises(engine.GraderError):
        engine.resolve_device("tpu", hw6_checks)
    if not _cuda_available():
        with pytest.raises(engine.GraderError, match="no CUDA device"):
            engine.resolve_device("cuda", hw6_checks)


@pytest.mark.parametrize("visible, hidden", [("", True), ("-1", True), ("-1,0", True),
                                              (" ", True), ("0", False), ("GPU-5e2c", False)])
def test_cuda_visible_devices_that_hide_every_gpu(monkeypatch, visible, hidden):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    monkeypatch.setattr(cuda_probe, "GPU_FILES", (os.devnull,))   # a "driver" is present
    assert bool(cuda_probe.why_no_cuda()) == hidden
    if hidden:
        assert "CUDA_VISIBLE_DEVICES" in cuda_probe.why_no_cuda()


def test_no_gpu_driver_files_rule_out_cuda(monkeypatch, tmp_path):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(cuda_probe, "GPU_FILES", (str(tmp_path / "nvidiactl"),))
    assert "no GPU driver" in cuda_probe.why_no_cuda()
    hw6_checks = homeworks.load_checks(HW, include_hidden=False)
    assert engine.resolve_device("auto", hw6_checks) == "cpu"
    (tmp_path / "nvidiactl").touch()    # a driver: only torch can tell
    assert cuda_probe.why_no_cuda() == ""
    assert engine.resolve_device("auto", hw6_checks) == ("cuda" if _cuda_available() else "cpu")


def test_auto_grades_on_the_cpu_without_importing_torch_where_no_gpu_can_be():
    """The grader's own process never imports torch for ``--device auto`` on such a machine."""
    code = ("import sys; from grader import engine, homeworks; "
            "checks = homeworks.load_checks(homeworks.get('hw6'), include_hidden=True); "
            "print(engine.resolve_device('auto', checks), 'torch' in sys.modules)")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["cpu", "False"]


@pytest.mark.skipif(_cuda_available(), reason="CUDA, once initialized, ignores the variable")
def test_device_cuda_asks_torch_and_says_why_not(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    hw6_checks = homeworks.load_checks(HW, include_hidden=False)
    with pytest.raises(engine.GraderError, match="no CUDA device.*CUDA_VISIBLE_DEVICES"):
        engine.resolve_device("cuda", hw6_checks)


@pytest.mark.skipif(_cuda_available(), reason="tests the error without a GPU")
def test_cli_device_cuda_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / HW.filename).write_text(reference_source(HW))
    code = main(["grade", "hw6", str(sub), "--out", str(tmp_path / "r.json"), "--device", "cuda",
                 "--public-only", "--quiet"])
    assert code == 3
    assert "no CUDA device" in capsys.readouterr().err


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="needs CUDA")
def test_reference_scores_full_marks_on_cuda_with_the_same_tolerances():
    result = grade_text("hw6", reference_source(HW), seed=0, device="cuda")
    assert result.score == result.max_score, failures(result)
    override, expected_lost = WRONG_VARIANTS["FVSBN mask including the diagonal"]
    assert lost(grade_text("hw6", variant(HW, override), seed=0, device="cuda")) == expected_lost


def test_device_marker_reaches_every_tensor_generator_and_model_move():
    """The programs name the grading device once (a marker) and the engine fills it in."""
    from grader.checks.registry import DEVICE, with_device
    hw6_checks = {c.id: c for c in homeworks.load_checks(HW, include_hidden=True)}
    check = hw6_checks["MADE/sampling-reproducible-from-the-generator"]
    (case,) = check.make_cases(0)
    program = with_device(check.steps(check, case), "cuda")
    assert str(DEVICE) not in str(program) and "$device" not in str(program)
    moves = [s for s in program if isinstance(s.get("call"), dict)
             and s["call"].get("$fn") == "move_to"]
    assert moves and all(s["call"]["kw"]["device"] == "cuda" for s in moves)
    gens = [s["kwargs"]["generator"] for s in program if "generator" in s.get("kwargs", {})]
    assert gens and all(g["device"] == "cuda" for g in gens)
    learn = hw6_checks["FVSBN/learns-the-digits-held-out-nll-after-training"]
    (case,) = learn.make_cases(0)
    steps = with_device(learn.steps(learn, case), "cuda")
    train = next(s for s in steps if s.get("call") == "train_model")
    assert train["args"][1]["device"] == "cpu" and train["kwargs"]["generator"]["device"] == "cpu"
    forwards = [s for s in steps if isinstance(s.get("call"), dict)
                and s["call"].get("attr") == "forward"]
    assert forwards and all(s["args"][0]["device"] == "cuda" for s in forwards)


def test_a_model_that_peeks_only_on_large_batches_gets_no_credit_for_its_likelihood():
    """Each held-out call mixes the digits with perturbed copies of one of them, shuffled."""
    source = variant(HW, """
        _RightFVSBN = FVSBN
        class FVSBN(_RightFVSBN):
            def forward(self, x):
                if x.shape[0] <= TRAIN_BATCH:  # training batches and small probes: behave
                    return super().forward(x)
                return F.linear(x, self.linear.weight * torch.tril(torch.ones_like(self.mask)),
                                self.linear.bias)
        """.replace("TRAIN_BATCH", str(TRAIN_BATCH)))
    check_id = "FVSBN/learns-the-digits-held-out-nll-after-training"
    result = grade_text("hw6", source, seed=4, only=(check_id,), device="cpu")
    (check,) = result.checks
    assert check.status == "failed" and "not autoregressive" in check.message, failures(result)


# --- made_masks: any valid degree assignment passes, on every seed ----------------------------

MASK_VARIANTS = {
    # As in the well-known pytorch-made: 0-based degrees, hidden units drawn with numpy's
    # randint(min of the layer below, d - 1) (high exclusive); d = 1 as the docstring says.
    "pytorch-made style random degrees (numpy RandomState)": """
        import numpy as np
        def made_masks(d, hidden_sizes, seed=0):
            rng = np.random.RandomState(seed)
            m = [np.arange(d)]
            for h in hidden_sizes:
                m.append(rng.randint(m[-1].min(), max(d - 1, 1), size=h))
            masks = [m[l][:, None] <= m[l + 1][None, :] for l in range(len(hidden_sizes))]
            masks.append(m[-1][:, None] < m[0][None, :])
            return [torch.tensor(k.T, dtype=torch.float32) for k in masks]
        """,
    # Word for word the docstring: degrees uniform between the smallest degree below and
    # d - 1, every hidden unit of degree 1 when d = 1.
    "the docstring's random degrees (torch.Generator)": """
        def made_masks(d, hidden_sizes, seed=0):
            generator = torch.Generator().manual_seed(seed)
            degrees = [torch.arange(1, d + 1)]
            for h in hidden_sizes:
                if d == 1:
                    degrees.append(torch.ones(h, dtype=torch.long))
                    continue
                low = int(degrees[-1].min())
                degrees.append(torch.randint(low, d, (h,), generator=generator))
            masks = [(out[:, None] >= inp[None, :]).float()
                     for inp, out in zip(degrees[:-1], degrees[1:])]
            masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
            return masks
        """,
}
MASK_CHECKS = tuple(sorted(
    c.id for c in homeworks.load_checks(HW, include_hidden=True)
    if c.exercise == "made_masks" or c.id.startswith("MADE/autoregressive")))


@pytest.mark.parametrize("name", sorted(MASK_VARIANTS))
def test_random_degree_masks_score_full_marks_on_every_seed(name):
    """Random degrees may leave outputs unconnected: never graded, on any of 12 seeds."""
    source = variant(HW, MASK_VARIANTS[name])
    for seed in range(12):
        result = grade_text("hw6", source, seed=seed, only=MASK_CHECKS, device="cpu")
        assert result.score == result.max_score > 0, (seed, failures(result))


def test_random_degree_masks_leave_outputs_unconnected_on_some_seeds():
    """The case the old "not degenerate" check failed: it does happen, and it now passes."""
    import torch
    namespace = {"np": __import__("numpy"), "torch": torch}
    exec(textwrap.dedent(MASK_VARIANTS["pytorch-made style random degrees (numpy RandomState)"]),
         namespace)
    unconnected = 0
    for seed in range(12):
        masks = namespace["made_masks"](20, [20, 20, 20], seed)
        paths = masks[0]
        for m in masks[1:]:
            paths = m @ paths
        unconnected += int((paths[1:].sum(dim=1) == 0).any())
    assert unconnected > 0


def test_the_public_checks_grade_made_masks_for_d_1():
    cases = [case for c in homeworks.load_checks(HW, include_hidden=False)
             if c.exercise == "made_masks" for case in c.make_cases(0)]
    assert any(case.data["d"] == 1 for case in cases)


# --- memorization: the held-out digits stay with the grader, relabeled, scored from a snapshot -

def _embedded_heldout_counter():
    """A never-trained model that counts prefixes over an embedded copy of the held-out digits
    (what a submission could embed when those digits shipped): exactly autoregressive."""
    import numpy as np
    from grader.cases import digits
    packed = np.packbits(digits.load_heldout().astype(np.uint8), axis=1).tobytes().hex()
    return f"""
        import numpy as np
        _TABLE = torch.tensor(np.unpackbits(np.frombuffer(bytes.fromhex("{packed}"),
                              dtype=np.uint8).reshape(-1, 8), axis=1), dtype=torch.float32)

        def _prefix_logits(x, table, alpha=0.01):
            table = table.to(x.device)
            match = torch.ones(x.shape[0], table.shape[0], dtype=torch.bool, device=x.device)
            logits = torch.empty_like(x)
            for i in range(x.shape[1]):
                n1 = (match & (table[None, :, i] == 1)).sum(1)
                n0 = (match & (table[None, :, i] == 0)).sum(1)
                logits[:, i] = torch.log((n1 + alpha) / (n0 + alpha))
                match &= table[None, :, i] == x[:, None, i]
            return logits

        class _Counter(_Autoregressive):
            def __init__(self, d, hidden_sizes=()):
                super().__init__()
                self.d = d
                self.bias = nn.Parameter(torch.zeros(d))

            def forward(self, x):
                return _prefix_logits(x, _TABLE) + 0 * self.bias

        FVSBN = MADE = _Counter

        def train_model(model, data, n_epochs, lr, batch_size, generator=None):
            return [0.0] * n_epochs                       # never trained
        """


BOTH_LEARNS = (FVSBN_LEARNS, LEARNS)


def test_a_prefix_counter_over_an_embedded_copy_of_the_held_out_digits_gets_nothing(monkeypatch):
    source = variant(HW, _embedded_heldout_counter())
    result = grade_text("hw6", source, seed=1, only=BOTH_LEARNS, device="cpu")
    assert lost(result) == set(BOTH_LEARNS), failures(result)
    assert all("held-out NLL" in c.message for c in result.checks), failures(result)
    # The same cheat without the per-seed relabeling: the copy would pay off.
    from grader import engine
    from grader.cases import digits
    monkeypatch.setattr(digits, "relabel", lambda x, seed: x)
    monkeypatch.setattr(engine, "_SHARED_EXPECTATIONS", {})  # cases and programs built anew
    assert lost(grade_text("hw6", source, seed=1, only=BOTH_LEARNS, device="cpu")) == set()


# Prefix counts over ``table`` mixed into the model's probabilities (2 pseudo-counts):
# p(x_i = 1) = (n_1 + 2 p) / (n_0 + n_1 + 2) over the table rows that share x's prefix.
COUNT_MIX = """
    def _mix(logits, x, table, leave_one_out=False):
        p = torch.sigmoid(logits)
        match = torch.ones(x.shape[0], table.shape[0], dtype=torch.bool)
        if leave_one_out:
            match &= ~torch.eye(x.shape[0], dtype=torch.bool)
        out = torch.empty_like(logits)
        for i in range(x.shape[1]):
            n1 = (match & (table[None, :, i] == 1)).sum(1)
            n0 = (match & (table[None, :, i] == 0)).sum(1)
            out[:, i] = torch.log((n1 + 2 * p[:, i]) / (n0 + 2 * (1 - p[:, i])))
            match &= table[None, :, i] == x[:, None, i]
        return out
    """

TRANSDUCTIVE = {
    # Leave-one-out counts over the other rows of the batch it is asked to score
    # (batches above the training size only).
    "counts over the batch it is asked to score": COUNT_MIX + """
    _Plain = FVSBN
    class FVSBN(_Plain):
        def forward(self, x):
            logits = super().forward(x)
            return logits if x.shape[0] <= TRAIN_BATCH else _mix(logits, x, x, leave_one_out=True)
    """,
    # Counts over every row it was asked about in earlier calls (strictly autoregressive
    # within a call).
    "counts over everything it was asked so far": COUNT_MIX + """
    _SEEN = []
    _Plain = FVSBN
    class FVSBN(_Plain):
        def forward(self, x):
            logits = super().forward(x)
            if x.shape[0] <= TRAIN_BATCH:
                return logits
            table = torch.cat(_SEEN) if _SEEN else x[:0]
            _SEEN.append(x.detach().cpu())
            return _mix(logits, x, table)
    """,
}


@pytest.mark.parametrize("name", sorted(TRANSDUCTIVE))
def test_a_transductive_counter_gets_nothing(name):
    source = variant(HW, TRANSDUCTIVE[name].replace("TRAIN_BATCH", str(TRAIN_BATCH)))
    result = grade_text("hw6", source, seed=2, only=(FVSBN_LEARNS,), device="cpu")
    (check,) = result.checks
    assert check.status == "failed", failures(result)
    assert "changed" in check.message or "not autoregressive" in check.message, check.message


def test_the_held_out_calls_are_larger_than_a_training_batch():
    learn = next(c for c in homeworks.load_checks(HW, include_hidden=True) if c.id == FVSBN_LEARNS)
    (case,) = learn.make_cases(2)
    chunks = hidden.heldout_chunks(case)[:hidden.N_CHUNKS]
    assert min(len(rows) for rows, _, _ in chunks) > TRAIN_BATCH


def test_the_scaling_must_show_in_the_logits():
    from tests.public.hw6_autoregressive import scaling_verdict
    logits = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    assert scaling_verdict(logits, 300.0 * logits, 300.0).passed
    assert not scaling_verdict(logits, logits, 300.0).passed
    assert scaling_verdict(np.zeros((3, 4)), np.zeros((3, 4)), 300.0).passed   # nothing to scale


def test_the_buggy_example_loses_exactly_its_bugs():
    """examples/hw6/buggy, as `make demo` grades it (seed 2024): 34 / 42."""
    with open(os.path.join(PROJECT_ROOT, "examples", "hw6", "buggy", HW.filename),
              encoding="utf-8") as fh:
        result = grade_text("hw6", fh.read(), seed=2024, device="cpu")
    assert lost(result) == EXTREME | {
        "FVSBN/same-generator-seed-same-samples",             # sample() ignores its generator
        "FVSBN/sampling-reproducible-from-the-generator",
        "made_masks/same-seed-same-masks",                    # degrees from the global RNG
        "MADE/logits-are-not-affine-in-x-a-nonlinear-network",  # no ReLU between the layers
        LEARNS,
    }, failures(result)
