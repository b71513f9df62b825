"""HW7's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should; the VAE's consistency judge against hand-made outputs.

Grading the whole homework trains several small VAEs; to keep this file fast, a wrong
variant is graded on the exercises its override can reach (it replaces the named functions
alone): numpy variants on the numpy exercises, ``VAE`` variants on ``VAE`` and ``train_vae``
(which trains through ``elbo``), ``train_vae`` and sampler variants on their own exercise.
The reference and the stubs are graded in full.
"""
import numpy as np
import pytest

from grader import homeworks

from .grading import (failures, grade_text, lost, reference_source, stub_source, variant)

HW = homeworks.get("hw7")
NUMPY_EXERCISES = ("gmm_m_step", "gmm_em", "mixture_elbo", "gaussian_kl_to_standard")
TORCH_EXERCISES = ("VAE", "train_vae")
EXERCISES = set(NUMPY_EXERCISES + TORCH_EXERCISES)

pytestmark = pytest.mark.slow   # grading trains small VAEs through the sandbox (a few s each)


@pytest.mark.parametrize("seed", [0, 1])
def test_reference_scores_full_marks(seed):
    result = grade_text("hw7", reference_source(HW), seed=seed, device="cpu")
    assert result.import_status == "ok"
    assert result.score == result.max_score, failures(result)
    assert {c.exercise for c in result.checks} == EXERCISES
    for exercise in EXERCISES:   # every exercise has public and hidden checks
        mine = [c for c in result.checks if c.exercise == exercise]
        assert any(c.public for c in mine) and any(not c.public for c in mine), exercise


def test_stubs_score_zero_and_say_not_implemented():
    result = grade_text("hw7", stub_source(HW), seed=5, device="cpu")
    assert result.score == 0
    assert {c.status for c in result.checks} == {"not_implemented"}, failures(result)
    assert {c.exercise for c in result.checks} == EXERCISES


EM_PARAMETERS = {"gmm_em/parameters-after-a-few-iterations",
                 "gmm_em/parameters-on-random-problems-d-1-n-iter-0"}
ELBO_VALUES = {"mixture_elbo/the-formula-with-the-entropy-term",
               "mixture_elbo/equals-log-p-x-at-the-posterior",
               "mixture_elbo/random-mixtures-and-q-far-points",
               "mixture_elbo/for-random-q-log-p-x-elbo-is-the-kl-to-the-posterior",
               "mixture_elbo/equals-log-p-x-at-the-posterior-d-1-to-5"}
ELBO_ZEROS = {"mixture_elbo/zeros-in-q-0-log-0-0-and-inf-on-a-zero-weight-component",
              "mixture_elbo/zeros-in-q-and-zero-weight-components"}
KL_ALL = {"gaussian_kl_to_standard/the-closed-form-on-a-small-batch",
          "gaussian_kl_to_standard/zero-at-the-standard-normal",
          "gaussian_kl_to_standard/random-batches-log-variances-from-20-to-5-l-1",
          "gaussian_kl_to_standard/additive-over-the-latent-dimensions-never-negative"}
VAE_ELBO = {"VAE/elbo-is-log-p-x-z-kl-at-z-mu-exp-log-var-2-eps",
            "VAE/elbo-equals-the-grader-s-elbo-from-encode-decode-other-sizes"}
TRAIN_LOSSES = {"train_vae/returns-the-real-mean-negative-elbo-of-each-epoch",
                "train_vae/real-losses-on-a-random-subset-batch-sizes-that-do-not-divide-n"}

# name: (override, checks it loses, exercises graded)
WRONG_VARIANTS = {
    # A generalized EM step (the covariance is the maximizer for the OLD mean, the mean then
    # the maximizer for that covariance): the log-likelihood still never falls, so only the
    # parameters give it away.
    "EM covariances around the old means": ("""
        def gmm_em(X, weights, means, covs, n_iter, reg=1e-6):
            X = np.asarray(X, dtype=float)
            weights, means, covs = (np.array(a, dtype=float) for a in (weights, means, covs))
            N, D = X.shape
            logliks = []
            for _ in range(n_iter):
                joint = _joint(X, weights, means, covs)
                log_px = _logsumexp_rows(joint)
                logliks.append(float(np.sum(log_px)))
                resp = np.exp(joint - log_px[:, None])
                Nk = resp.sum(axis=0)
                new_means = resp.T @ X / Nk[:, None]
                covs = np.stack([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) / Nk[k]
                                 + reg * np.eye(D) for k in range(len(Nk))])
                weights, means = Nk / N, new_means
            logliks.append(float(np.sum(_logsumexp_rows(_joint(X, weights, means, covs)))))
            return weights, means, covs, logliks
        """, EM_PARAMETERS, NUMPY_EXERCISES),
    "EM updating each mean after its covariance, with the stale mean": ("""
        def gmm_em(X, weights, means, covs, n_iter, reg=1e-6):
            X = np.asarray(X, dtype=float)
            weights, means, covs = (np.array(a, dtype=float) for a in (weights, means, covs))
            logliks = []
            for _ in range(n_iter):
                joint = _joint(X, weights, means, covs)
                log_px = _logsumexp_rows(joint)
                logliks.append(float(np.sum(log_px)))
                resp = np.exp(joint - log_px[:, None])
                Nk = resp.sum(axis=0)
                for k in range(len(Nk)):
                    diff = X - means[k]
                    covs[k] = (resp[:, k, None] * diff).T @ diff / Nk[k] + reg * np.eye(X.shape[1])
                    means[k] = resp[:, k] @ X / Nk[k]
                weights = Nk / len(X)
            logliks.append(float(np.sum(_logsumexp_rows(_joint(X, weights, means, covs)))))
            return weights, means, covs, logliks
        """, EM_PARAMETERS, NUMPY_EXERCISES),
    # gmm_em calls the module's gmm_m_step: the wrong estimator reaches EM's parameters too.
    "M-step covariances with 1/(N_k - 1)": ("""
        _right_m_step = gmm_m_step
        def gmm_m_step(X, resp, reg=0.0):
            weights, means, covs = _right_m_step(X, resp, 0.0)
            Nk = np.asarray(resp).sum(axis=0)
            covs = covs * (Nk / (Nk - 1))[:, None, None] + reg * np.eye(np.shape(X)[1])
            return weights, means, covs
        """, {"gmm_m_step/weighted-mle-with-covariances-around-the-new-means",
              "gmm_m_step/random-sizes-soft-and-hard-responsibilities",
              "gmm_m_step/d-1-one-component-a-component-with-a-small-share"} | EM_PARAMETERS,
        NUMPY_EXERCISES),
    "mixture_elbo without the entropy term": ("""
        def mixture_elbo(X, weights, means, covs, q):
            q = np.asarray(q, dtype=float)
            terms = q * _joint(np.asarray(X, dtype=float), weights, means, covs)
            return np.sum(np.where(q > 0, terms, 0.0), axis=1)
        """, ELBO_VALUES, NUMPY_EXERCISES),
    "mixture_elbo multiplying q by log q (0 * -inf = NaN)": ("""
        def mixture_elbo(X, weights, means, covs, q):
            q = np.asarray(q, dtype=float)
            joint = _joint(np.asarray(X, dtype=float), weights, means, covs)
            return np.sum(q * (joint - np.log(q)), axis=1)
        """, ELBO_ZEROS, NUMPY_EXERCISES),
    "KL with the variance in place of the log-variance": ("""
        def gaussian_kl_to_standard(mu, log_var):
            mu, var = np.asarray(mu, dtype=float), np.asarray(log_var, dtype=float)
            return 0.5 * np.sum(var + mu * mu - 1.0 - np.log(var), axis=-1)
        """, KL_ALL, NUMPY_EXERCISES),
    # An autoencoder with a KL penalty: no noise, so nothing to reproduce from the
    # generator, and a decoder that never learned to handle q's spread (held-out -ELBO ~78).
    "VAE elbo at the mean of z (no reparameterization noise)": ("""
        def _mean_elbo(self, x, generator=None):
            mu, log_var = self.encode(x)
            log_px_z = -F.binary_cross_entropy_with_logits(self.decode(mu), x,
                                                           reduction="none").sum(dim=-1)
            return log_px_z - 0.5 * (log_var.exp() + mu * mu - 1.0 - log_var).sum(dim=-1)
        VAE.elbo = _mean_elbo
        """, VAE_ELBO | {"VAE/elbo-one-noise-draw-from-the-generator-on-the-model-s-device",
                         "train_vae/learns-the-digits-held-out-negative-elbo-after-training"},
        TORCH_EXERCISES),
    "VAE elbo summed over the batch (a scalar, not one per row)": ("""
        _right_elbo = VAE.elbo
        VAE.elbo = lambda self, x, generator=None: _right_elbo(self, x, generator).sum()
        """, VAE_ELBO | {"VAE/encode-decode-elbo-and-sample-have-the-spec-s-shapes",
                         "VAE/shapes-for-other-sizes-no-hidden-layer-l-1",
                         "VAE/elbo-one-noise-draw-from-the-generator-on-the-model-s-device"},
        TORCH_EXERCISES),
    "train_vae summing the negative ELBO over each batch instead of averaging": ("""
        def train_vae(model, data, n_epochs, lr, batch_size, generator=None):
            data = torch.as_tensor(data, dtype=torch.float32)
            n = data.shape[0]
            optimizer = torch.optim.Adam(model.parameters(), lr=lr)
            losses = []
            for _ in range(n_epochs):
                order = torch.randperm(n, generator=generator)
                total, batches = 0.0, 0
                for start in range(0, n, batch_size):
                    batch = data[order[start:start + batch_size]].to(_device(model))
                    loss = -model.elbo(batch, generator=generator).sum()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    total, batches = total + float(loss), batches + 1
                losses.append(total / batches)
            return losses
        """, TRAIN_LOSSES, ("train_vae",)),
    "train_vae that trains but returns made-up losses": ("""
        _right_train = train_vae
        def train_vae(model, data, n_epochs, lr, batch_size, generator=None):
            _right_train(model, data, n_epochs, lr, batch_size, generator)
            return [60.0 / (1 + e) for e in range(n_epochs)]
        """, TRAIN_LOSSES | {"train_vae/shuffling-and-noise-reproducible-from-the-generator"},
        ("train_vae",)),
    "VAE sampler ignoring the generator": ("""
        @torch.no_grad()
        def _global_sample(self, n, generator=None):
            z = torch.randn((n, self.latent_dim), device=_device(self))
            return torch.bernoulli(torch.sigmoid(self.decode(z)))
        VAE.sample = _global_sample
        """, {"VAE/same-generator-seed-same-samples",
              "VAE/sampling-reproducible-from-the-generator"}, ("VAE",)),
    "VAE sampler decoding z = 0 only (no draw from the prior)": ("""
        @torch.no_grad()
        def _mode_sample(self, n, generator=None):
            z = torch.zeros((n, self.latent_dim), device=_device(self))
            probs = torch.sigmoid(self.decode(z)).to(generator.device if generator else "cpu")
            return torch.bernoulli(probs, generator=generator).to(_device(self))
        VAE.sample = _mode_sample
        """, {"VAE/sample-frequencies-match-the-model-s-p-x"}, ("VAE",)),
}


@pytest.mark.parametrize("name", sorted(WRONG_VARIANTS))
def test_wrong_variant_loses_exactly_its_checks(name):
    override, expected_lost, exercises = WRONG_VARIANTS[name]
    result = grade_text("hw7", variant(HW, override), seed=3, only=exercises, device="cpu")
    assert {c.exercise for c in result.checks} == set(exercises)
    assert lost(result) == expected_lost, failures(result)


def test_check_ids_named_in_variants_exist():
    ids = {c.id for c in homeworks.load_checks(HW, include_hidden=True)}
    for name, (_, expected, exercises) in WRONG_VARIANTS.items():
        assert expected <= ids, name
        assert {i.split("/")[0] for i in expected} <= set(exercises), name


def _cuda_available():
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="needs CUDA")
def test_reference_scores_full_marks_on_cuda_with_the_same_tolerances():
    result = grade_text("hw7", reference_source(HW), seed=0, device="cuda")
    assert result.score == result.max_score, failures(result)
    override, expected_lost, exercises = WRONG_VARIANTS[
        "VAE elbo at the mean of z (no reparameterization noise)"]
    assert lost(grade_text("hw7", variant(HW, override), seed=0, only=exercises,
                           device="cuda")) == expected_lost


def test_programs_put_models_and_inputs_on_the_grading_device_and_data_on_the_cpu():
    """Training data and the generators of train_vae and elbo stay on the CPU (the spec's
    eps is drawn there); the model, encode's inputs and the grader's eps go to the device."""
    from grader.checks.registry import with_device
    checks = {c.id: c for c in homeworks.load_checks(HW, include_hidden=True)}
    learn = checks["train_vae/learns-the-digits-held-out-negative-elbo-after-training"]
    (case,) = learn.make_cases(0)
    steps = with_device(learn.steps(learn, case), "cuda")
    assert "$device" not in str(steps)
    train = next(s for s in steps if s.get("call") == "train_vae")
    assert train["args"][1]["device"] == "cpu" and train["kwargs"]["generator"]["device"] == "cpu"
    moves = [s for s in steps if isinstance(s.get("call"), dict) and s["call"]["attr"] == "to"]
    assert moves and all(s["args"] == ["cuda"] for s in moves)
    encodes = [s for s in steps if isinstance(s.get("call"), dict)
               and s["call"]["attr"] == "encode"]
    assert encodes and all(s["args"][0]["device"] == "cuda" for s in encodes)
    consistency = checks["VAE/elbo-is-log-p-x-z-kl-at-z-mu-exp-log-var-2-eps"]
    (case,) = consistency.make_cases(0)
    elbo = with_device(consistency.steps(consistency, case), "cuda")[-1]
    assert elbo["kwargs"]["generator"]["device"] == "cpu"


def test_grader_elbo_believes_only_the_z_it_built():
    """The judge recomputes the ELBO from plain outputs; a z that is not mu + sigma * eps (a
    decoder fed something else) is refused, and the right pieces give the closed form."""
    from tests.public.hw7_latent import grader_elbo
    rng = np.random.default_rng(0)
    x = (rng.random((3, 4)) < 0.5).astype(float)
    mu, log_var, eps = rng.standard_normal((3, 2)), rng.standard_normal((3, 2)), \
        rng.standard_normal((3, 2))
    z = mu + np.exp(0.5 * log_var) * eps
    logits = rng.standard_normal((3, 4))
    elbo, problem = grader_elbo([logits, mu, log_var, z], x, eps, 2)
    p = 1 / (1 + np.exp(-logits))
    want = (np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1)
            - 0.5 * np.sum(np.exp(log_var) + mu ** 2 - 1 - log_var, axis=1))
    assert problem == "" and np.allclose(elbo, want)
    elbo, problem = grader_elbo([logits, mu, log_var, mu], x, eps, 2)
    assert elbo is None and "z" in problem
    elbo, problem = grader_elbo([logits, mu[:, :1], log_var, z], x, eps, 2)
    assert elbo is None and "mu has shape (3, 1)" in problem
