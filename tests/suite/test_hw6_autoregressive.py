"""HW6's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should; resource bounds; the device option (CUDA when present)."""
import dataclasses
import importlib

import pytest

from grader import engine, homeworks
from grader.cli import main

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


LEARNS = "MADE/learns-the-digits-held-out-nll-after-training"


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
    moves = [s for s in program if isinstance(s.get("call"), dict) and s["call"]["attr"] == "to"]
    assert moves and all(s["args"] == ["cuda"] for s in moves)
    gens = [s["kwargs"]["generator"] for s in program if "generator" in s.get("kwargs", {})]
    assert gens and all(g["device"] == "cuda" for g in gens)
    learn = hw6_checks["FVSBN/learns-the-digits-held-out-nll-after-training"]
    (case,) = learn.make_cases(0)
    steps = with_device(learn.steps(learn, case), "cuda")
    train = next(s for s in steps if s.get("call") == "train_model")
    assert train["args"][1]["device"] == "cpu" and train["kwargs"]["generator"]["device"] == "cpu"
    assert all(s["args"][0]["device"] == "cuda" for s in steps if isinstance(s.get("call"), dict)
               and s["call"]["attr"] == "forward")


def test_a_model_that_peeks_only_on_large_batches_gets_no_credit_for_its_likelihood():
    """The test digits and the perturbation rows share one shuffled forward call after training."""
    source = variant(HW, """
        _RightFVSBN = FVSBN
        class FVSBN(_RightFVSBN):
            def forward(self, x):
                if x.shape[0] < 300:           # small batches (training, probes): behave
                    return super().forward(x)
                return F.linear(x, self.linear.weight * torch.tril(torch.ones_like(self.mask)),
                                self.linear.bias)
        """)
    check_id = "FVSBN/learns-the-digits-held-out-nll-after-training"
    result = grade_text("hw6", source, seed=4, only=(check_id,), device="cpu")
    (check,) = result.checks
    assert check.status == "failed" and "not autoregressive" in check.message, failures(result)
