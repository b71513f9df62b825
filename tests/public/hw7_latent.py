"""Public checks of HW7 (they ship to students; cases in data/hw7_latent.json).

The mixture exercises are judged against the reference where the answer is unique
(the M-step, EM from a given start) and by the identities of the ELBO wherever they
apply: at the posterior the mixture ELBO equals log p(x), and for any q the gap is
KL[q || posterior], both computed here from the model alone. The VAE is judged
black-box on the trusted side: the worker builds the student's model, and the
grader's own program reparameterizes z = mu + exp(log_var / 2) * eps from the
student's ``encode`` output and feeds it to the student's ``decode``; the ELBO is then
computed here from those plain outputs. Nothing the model says about itself is
believed: the student's ``elbo`` and the losses of ``train_vae`` are compared with
what the grader computes.

Also the toolbox of the hidden checks (programs, judges, trusted-side helpers).
"""
import math

import numpy as np

from grader.cases import digits
from grader.cases.gaussians import random_mixture
from grader.checks import programs
from grader.checks.judges import close, close_tuple
from grader.checks.registry import DEVICE, Case, CheckSet, from_case_data
from grader.compare.numeric import PASS, Verdict, as_numeric, as_sequence, compare_arrays, fmt
# The plain-output readers of hw6's models serve the VAE as they are (shipped with hw7's
# public checks, as hw1's helpers are with hw4's).
from tests.public.hw6_autoregressive import _array as array_of
from tests.public.hw6_autoregressive import _binary_samples as binary_samples
from tests.public.hw6_autoregressive import bernoulli_log_prob, read_all, seeded_runs_verdict

checks = CheckSet("hw7", public=True)

SECONDS = 20.0          # per call, untrained models
TRAIN_SECONDS = 60.0    # per call that trains (reference: under 2 s on one CPU core)
ELBO_RTOL, ELBO_ATOL = 1e-4, 2e-3   # float32 models, sums over d pixels, in nats
Z_RTOL, Z_ATOL = 1e-4, 1e-5         # the grader's own z = mu + exp(log_var / 2) * eps


# --- trusted-side mixture helpers -------------------------------------------------------------

def component_logpdfs(X, means, covs):
    """(N, K) log N(x_n; mu_k, Sigma_k), each through an eigendecomposition-free Cholesky solve."""
    X = np.asarray(X, dtype=float)
    out = np.empty((X.shape[0], len(means)))
    for k, (m, S) in enumerate(zip(means, covs)):
        chol = np.linalg.cholesky(S)
        white = np.linalg.solve(chol, (X - m).T)
        out[:, k] = (-0.5 * np.sum(white ** 2, axis=0) - np.sum(np.log(np.diag(chol)))
                     - 0.5 * X.shape[1] * math.log(2.0 * math.pi))
    return out


def log_joint(X, weights, means, covs):
    """(N, K) log pi_k + log N(x_n; mu_k, Sigma_k) (``-inf`` for zero weights)."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(weights, dtype=float)) + component_logpdfs(X, means, covs)


def log_evidence(X, weights, means, covs):
    """(N,) log p(x_n) by log-sum-exp over the components."""
    joint = log_joint(X, weights, means, covs)
    top = np.max(joint, axis=1, keepdims=True)
    return top[:, 0] + np.log(np.sum(np.exp(joint - top), axis=1))


def posterior(X, weights, means, covs):
    """(N, K) p(z = k | x_n), exactly 0 on zero-weight components."""
    joint = log_joint(X, weights, means, covs)
    return np.exp(joint - log_evidence(X, weights, means, covs)[:, None])


def total_loglik(X, weights, means, covs):
    """sum_n log p(x_n): the quantity that EM must never decrease."""
    return float(np.sum(log_evidence(X, weights, means, covs)))


def random_resp(rng, n, k, *, hard=False):
    """(n, k) responsibilities, rows summing to 1, every column with some mass."""
    if hard:
        labels = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
        return np.eye(k)[rng.permutation(labels)]
    return rng.dirichlet(np.ones(k), size=n)


def clustered_data(rng, weights, means, covs, n):
    """``n`` rows drawn from the mixture (case data; the exact law does not matter)."""
    z = rng.choice(len(weights), size=n, p=weights)
    chol = np.linalg.cholesky(covs)
    return means[z] + np.einsum("nij,nj->ni", chol[z], rng.standard_normal((n, means.shape[1])))


# --- numpy judges -----------------------------------------------------------------------------

def m_step_tolerances(case):
    """Slack for (weights, means, covs): the size of the data, and its square."""
    size = 1.0 + float(np.max(np.abs(case.args[0])))
    return 1e-12, 1e-9 * size, 1e-9 * size * size


close_m_step = close_tuple(("weights", "means", "covs"), rtol=1e-6,
                           atol=tuple((lambda c, i=i: m_step_tolerances(c)[i]) for i in range(3)))


def loglik_atol(case):
    """Slack for a total log-likelihood: grows with the size of X."""
    return 1e-7 * np.size(case.args[0])


def _em_parts(case, outputs):
    """(weights, means, covs, logliks) as float arrays, or a failed ``Verdict``."""
    parts, problem = as_sequence(outputs[0], 4)
    if parts is None:
        return None, Verdict.fail(f"{problem}: return (weights, means, covs, logliks)")
    n_iter = int(case.args[4])
    logliks, problem = as_numeric(parts[3], "logliks")
    if logliks is None:
        return None, Verdict.fail(problem)
    if logliks.shape != (n_iter + 1,):
        return None, Verdict.fail(f"logliks has shape {logliks.shape}, expected ({n_iter + 1},): "
                                  "the log-likelihood before each iteration and after the last")
    if not np.all(np.isfinite(logliks)):
        return None, Verdict.fail("logliks contains NaN or inf")
    return parts, PASS


def em_parameters_judge(case, outputs, expected):
    """The parameters after n_iter iterations equal the reference EM's from the same start."""
    parts, verdict = _em_parts(case, outputs)
    if parts is None:
        return verdict
    size = 1.0 + float(np.max(np.abs(case.args[0])))
    for name, got, exp, atol in zip(("weights", "means", "covs"), parts[:3], expected[:3],
                                    (1e-9, 1e-7 * size, 1e-7 * size * size)):
        verdict = compare_arrays(exp, got, rtol=1e-5, atol=atol, name=name)
        if not verdict.passed:
            return Verdict.fail(verdict.message + " (after the EM iterations: E-step = the "
                                "posterior, then the M-step's covariances around the NEW means)")
    return PASS


def em_logliks_judge(case, outputs, expected):
    """logliks starts at the start's log-likelihood, ends at the result's, never falls."""
    parts, verdict = _em_parts(case, outputs)
    if parts is None:
        return verdict
    X, w0, m0, c0, n_iter = case.args[:5]
    logliks = np.asarray(parts[3], dtype=float)
    atol = loglik_atol(case)
    start = total_loglik(X, w0, m0, c0)
    if abs(logliks[0] - start) > atol + 1e-7 * abs(start):
        return Verdict.fail(f"logliks[0] is {fmt(logliks[0])}, but the log-likelihood of X under "
                            f"the starting parameters is {fmt(start)}")
    try:
        w, m, c = (np.asarray(p, dtype=float) for p in parts[:3])
        end = total_loglik(X, w, m, c)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return Verdict.fail(f"the returned parameters are not a valid mixture ({exc})")
    if abs(logliks[-1] - end) > atol + 1e-7 * abs(end):
        return Verdict.fail(f"logliks[-1] is {fmt(logliks[-1])}, but the log-likelihood of X under "
                            f"the returned parameters is {fmt(end)}")
    steps = np.diff(logliks)
    slack = atol + 1e-9 * np.abs(logliks[1:])
    if np.any(steps < -slack):
        i = int(np.argmin(steps + slack))
        return Verdict.fail(f"the log-likelihood fell from {fmt(logliks[i])} to "
                            f"{fmt(logliks[i + 1])} at iteration {i + 1}: an EM iteration can "
                            "never lower it (E-step = exact posterior, M-step = the maximizer)")
    return PASS


def elbo_atol(case):
    """Slack for per-point ELBOs: grows with the dimension of the data."""
    return 1e-7 * (1 + np.shape(case.args[0])[1])


close_elbo = close(rtol=1e-6, atol=elbo_atol)


def kl_atol(case):
    """Slack for KLs of (B, L) inputs: the size of the variances and means."""
    mu, log_var = np.asarray(case.args[0]), np.asarray(case.args[1])
    return 1e-9 * mu.shape[-1] * (1 + float(np.max(np.exp(log_var))) + float(np.max(mu * mu)))


def posterior_case(rng, label, k, d, n, about=""):
    """A mixture, points, q = the exact posterior; expected: log p(x) (the bound is tight)."""
    w, m, c = random_mixture(rng, k, d, spread=1.5)
    X = clustered_data(rng, w, m, c, n) + 0.5 * rng.standard_normal((n, d))
    q = posterior(X, w, m, c)
    return Case(label, args=(X, w, m, c, q), data={"expected": log_evidence(X, w, m, c)},
                about=about or "q = p(z | x): ELBO = log p(x)")


# --- VAE programs -----------------------------------------------------------------------------

def tensor(x, device=DEVICE):
    """A float32 tensor argument on the grading device (or ``device``)."""
    return programs.tensor(x, device=device)


def generator(seed, device=DEVICE):
    """A ``torch.Generator`` argument on the grading device (or ``device``)."""
    return programs.torch_generator(seed, device=device)


def model_call(name, *args, save=None, **kwargs):
    """``model.name(*args, **kwargs)``: returned, or kept in the worker under ``save``."""
    return programs.call(programs.method("model", name), *args, save=save, **kwargs)


def vae_spec(d, latent, hidden, init, scale=None):
    """The plain description of a ``VAE(d, latent, hidden=...)`` built under global seed init."""
    spec = {"d": int(d), "latent": int(latent), "hidden": [int(h) for h in hidden],
            "init": int(init)}
    if scale:
        spec["scale"] = float(scale)
    return spec


def build_model(spec):
    """Steps that build ``spec``'s VAE under a fixed global seed and move it to the device."""
    steps = [programs.seed_global(spec["init"]),
             programs.call("VAE", spec["d"], spec["latent"], hidden=tuple(spec["hidden"]),
                           save="model"),
             model_call("to", DEVICE, save="model")]
    if spec.get("scale"):
        steps.append(model_call("apply", programs.fn("scale_parameters",
                                                     factor=float(spec["scale"])), save="_"))
    return steps


def elbo_pieces(x, eps, flush=None):
    """Steps returning ``decode(z)``, mu, log_var and z for z = mu + exp(log_var / 2) * eps.

    The reparameterization is the grader's, done in the worker with tensor arithmetic
    on the student's ``encode`` output; ``decode`` only ever sees that z. ``flush``
    (rows) is encoded between the two calls, so a decoder that kept something of the
    last input of ``encode`` gets those rows instead of ``x``.
    """
    steps = [model_call("encode", tensor(x), save="q"),
             programs.call(programs.method("q", "__getitem__"), 0, save="mu"),
             programs.call(programs.method("q", "__getitem__"), 1, save="log_var"),
             programs.call(programs.method("log_var", "mul"), 0.5, save="half_log_var"),
             programs.call(programs.method("half_log_var", "exp"), save="std"),
             programs.call(programs.method("std", "mul"), tensor(eps), save="noise"),
             programs.call(programs.method("mu", "add"), programs.ref("noise"), save="z")]
    if flush is not None:
        steps.append(model_call("encode", tensor(flush), save="_"))
    return steps + [model_call("decode", programs.ref("z")),
                    programs.value("mu"), programs.value("log_var"), programs.value("z")]


def torch_noise(seed, shape):
    """eps = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) as float64.

    Exactly the draw the spec fixes for ``elbo(x, generator)`` with a CPU generator of
    that seed (trusted side; cases store the result, so the worker gets plain numbers).
    """
    import torch  # trusted side, only when a case is generated
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn(tuple(int(s) for s in shape), generator=gen).double().numpy()


def consistency_program(check, case):
    """Build the model; the grader's ELBO pieces with the spec's eps; then the student's elbo."""
    x = case.data["x"]
    return build_model(case.data["spec"]) + elbo_pieces(x, case.data["eps"]) + [
        model_call("elbo", tensor(x), generator=generator(case.data["seed"], device="cpu"))]


def interface_program(check, case):
    """Build the model; encode, decode, elbo and sample with the shapes of the spec."""
    spec, x = case.data["spec"], case.data["x"]
    z = np.zeros((x.shape[0], spec["latent"]))
    return build_model(spec) + [
        model_call("encode", tensor(x)), model_call("decode", tensor(z)),
        model_call("elbo", tensor(x), generator=generator(case.data["seed"])),
        model_call("sample", int(case.data["n"]), generator=generator(case.data["seed"]))]


def sample_reproducibility_program(check, case):
    """Same generator seed under two global seeds, another seed, and no generator at all."""
    spec, n, seed = case.data["spec"], int(case.data["n"]), case.data["seed"]
    return build_model(spec) + [
        programs.seed_global(1), model_call("sample", n, generator=generator(seed)),
        programs.seed_global(2), model_call("sample", n, generator=generator(seed)),
        model_call("sample", n, generator=generator(seed + 1)),
        model_call("sample", n)]


# --- VAE judges -------------------------------------------------------------------------------

def kl_to_standard(mu, log_var):
    """(B,) closed-form KL[N(mu, diag exp(log_var)) || N(0, I)] in float64."""
    mu, log_var = np.asarray(mu, dtype=float), np.asarray(log_var, dtype=float)
    return 0.5 * np.sum(np.exp(log_var) + mu * mu - 1.0 - log_var, axis=1)


def grader_elbo(outputs, x, eps, latent):
    """(B,) the ELBO from the outputs of ``elbo_pieces``, or (None, why).

    Checks first that the z the student's decoder saw is the grader's
    mu + exp(log_var / 2) * eps for the mu and log_var that ``encode`` returned.
    """
    b, d = np.shape(x)
    names = ("decode(z)", "mu", "log_var", "z")
    shapes = ((b, d), (b, latent), (b, latent), (b, latent))
    arrays = []
    for got, name, shape in zip(outputs, names, shapes):
        arr, problem = array_of(got, name, shape)
        if arr is None:
            return None, problem + (" (encode returns (mu, log_var), each (B, L))"
                                    if name in ("mu", "log_var") else "")
        arrays.append(arr)
    logits, mu, log_var, z = arrays
    want = mu + np.exp(0.5 * log_var) * np.asarray(eps)
    verdict = compare_arrays(want, z, rtol=Z_RTOL, atol=Z_ATOL, name="z")
    if not verdict.passed:
        return None, ("the grader's z = mu + exp(log_var / 2) * eps, computed with tensor "
                      f"arithmetic on your encode's output, came out wrong: {verdict.message}")
    return bernoulli_log_prob(logits, x) - kl_to_standard(mu, log_var), ""


def elbo_consistency_judge(case, outputs, expected):
    """The student's elbo(x, generator) equals log p(x | z) - KL at the spec's z."""
    x, spec = case.data["x"], case.data["spec"]
    want, problem = grader_elbo(outputs[:4], x, case.data["eps"], spec["latent"])
    if want is None:
        return Verdict.fail(problem)
    got, problem = array_of(outputs[4], "elbo(x)", (x.shape[0],))
    if got is None:
        return Verdict.fail(problem + " (one ELBO per row: no sum or mean over the batch)")
    verdict = compare_arrays(want, got, rtol=ELBO_RTOL, atol=ELBO_ATOL, name="elbo(x)")
    if not verdict.passed:
        return Verdict.fail(
            verdict.message + ". Expected: log p(x | z) (summed over the d pixels, from "
            "decode(z)'s logits) minus the closed-form KL, at ONE z = mu + exp(log_var / 2) * "
            "eps with eps = torch.randn((B, L), generator=generator) on the generator's device")
    return PASS


def interface_judge(case, outputs, expected):
    """encode → two (B, L), decode → (B, d), elbo → (B,), sample → (n, d) of 0./1."""
    spec, b, n = case.data["spec"], case.data["x"].shape[0], int(case.data["n"])
    d, latent = spec["d"], spec["latent"]
    pair, problem = as_sequence(outputs[0], 2, name="encode(x)")
    if pair is None:
        return Verdict.fail(problem + ": return (mu, log_var)")
    checks_ = ((pair[0], "mu", (b, latent)), (pair[1], "log_var", (b, latent)),
               (outputs[1], "decode(z)", (b, d)), (outputs[2], "elbo(x)", (b,)))
    for got, name, shape in checks_:
        _, problem = array_of(got, name, shape)
        if problem:
            return Verdict.fail(problem)
    _, problem = binary_samples(outputs[3], n, d, "sample(n)")
    return Verdict.fail(problem) if problem else PASS


def sample_reproducible_judge(case, outputs, expected):
    """Same generator seed, same samples (whatever the global seed); other seed, other samples."""
    d, n = case.data["spec"]["d"], int(case.data["n"])
    arrays, problem = read_all(outputs, ("sample(seed)", "sample(seed) again", "sample(seed + 1)",
                                         "sample(n) without a generator"),
                               lambda got, name: binary_samples(got, n, d, name))
    if arrays is None:
        return Verdict.fail(problem)
    return seeded_runs_verdict(arrays, "samples", "draw z and x with `generator`: "
                               "torch.randn(..., generator=generator), torch.bernoulli(p, "
                               "generator=generator)")


# --- training ---------------------------------------------------------------------------------

def training_rows(case):
    """The training rows of a case: digits of the training split (relabeled per seed when asked)."""
    x = digits.load_train()
    if case.data.get("relabel") is not None:
        x = digits.relabel(x, case.data["relabel"])
    rows = case.data.get("rows")
    return np.asarray(x[:case.data["n_train"]] if rows is None else x[np.asarray(rows)])


def train_step(case, seed, rows, save=None):
    """``train_vae(model, rows, ...)`` with the case's budget; data and generator on the CPU."""
    b = case.data["budget"]
    return programs.call("train_vae", programs.ref("model"), tensor(rows, device="cpu"),
                         int(b["epochs"]), float(b["lr"]), int(b["batch"]),
                         generator=generator(seed, device="cpu"), save=save)


def grader_noise(seed, rows, latent):
    """The grader's own eps for its ELBO estimates (any standard normal draw will do)."""
    return np.random.default_rng(int(seed)).standard_normal((rows, latent))


def losses_program(check, case):
    """The grader's ELBO pieces on the training rows before and after ``train_vae``; its losses."""
    x = training_rows(case)
    latent = case.data["spec"]["latent"]
    eps0 = grader_noise(case.data["noise"], len(x), latent)
    eps1 = grader_noise(case.data["noise"] + 1, len(x), latent)
    return (build_model(case.data["spec"]) + elbo_pieces(x, eps0)
            + [train_step(case, case.data["seed"], x)] + elbo_pieces(x, eps1))


# The reported losses are measured during each epoch, before each step: the first epoch's
# mean lies between the negative ELBO after and before training, the last one near the final
# negative ELBO. The grader's own estimates are one-sample too (700 rows: standard error about
# 0.1 nats). Reference, 6 seeds, each graded budget: the first epoch's mean lies 0.57-0.88 of
# the way from the final to the initial value, the last one 0.01-0.05 of the gain above the
# final value (``python bench/hw7.py --losses``).
LOSS_SLACK = 0.15


def real_losses_judge(case, outputs, expected):
    """One float per epoch, matching the negative ELBO the grader computes before and after."""
    x = training_rows(case)
    latent = case.data["spec"]["latent"]
    epochs = int(case.data["budget"]["epochs"])
    eps0 = grader_noise(case.data["noise"], len(x), latent)
    eps1 = grader_noise(case.data["noise"] + 1, len(x), latent)
    before, problem = grader_elbo(outputs[0:4], x, eps0, latent)
    if before is None:
        return Verdict.fail("before training: " + problem)
    losses, problem = array_of(outputs[4], "the returned losses", (epochs,))
    if losses is None:
        return Verdict.fail(problem + " (return a list of n_epochs floats)")
    after, problem = grader_elbo(outputs[5:9], x, eps1, latent)
    if after is None:
        return Verdict.fail("after training: " + problem)
    neg0, neg1 = -float(np.mean(before)), -float(np.mean(after))
    gain = neg0 - neg1
    if gain < case.data["min_gain"]:
        return Verdict.fail(f"the negative ELBO on the training rows went from {neg0:.4g} to "
                            f"{neg1:.4g} nats: expected a drop of at least "
                            f"{case.data['min_gain']:g} with this budget")
    slack = LOSS_SLACK * gain
    first, last = float(losses[0]), float(losses[-1])
    if not neg1 - slack <= first <= neg0 + slack:
        return Verdict.fail(f"the first epoch's mean loss {first:.4g} is outside "
                            f"[{neg1 - slack:.4g}, {neg0 + slack:.4g}], the negative ELBO after "
                            f"and before training (nats per image, ± {slack:.3g}): report the "
                            "mean negative ELBO per image, not a sum over a batch")
    if abs(last - neg1) > slack:
        return Verdict.fail(f"the last epoch's mean loss {last:.4g} differs from the negative ELBO "
                            f"after training, {neg1:.4g}, by more than {slack:.3g} nats: report "
                            "the real mean negative ELBO per image of each epoch")
    return PASS


# --- the public checks ------------------------------------------------------------------------

@checks.add("gmm_m_step", "weighted MLE with covariances around the new means", points=2,
            judge=close_m_step)
def _(rng):
    w, m, c = random_mixture(rng, 2, 2)
    X = clustered_data(rng, w, m, c, 8)
    yield Case("K=2 D=2 N=8 soft", args=(X, random_resp(rng, 8, 2)),
               about="Sigma_k = sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T / N_k")
    yield Case("K=1 D=1 N=4", args=(np.array([[1.0], [2.0], [4.0], [5.0]]), np.ones((4, 1))),
               about="one component: the plain MLE, Sigma = [[2.5]] with 1/N (not 10/3)")
    yield Case("K=3 D=2 N=9 hard, reg=0.1", args=(clustered_data(rng, *random_mixture(rng, 3, 2),
                                                                 9),
                                                  random_resp(rng, 9, 3, hard=True), 0.1),
               about="reg added to every covariance's diagonal")


def em_case(rng, label, k, d, n, n_iter, reg=0.0, spread=2.0, about=""):
    """Data from one mixture, EM started from a perturbed other one."""
    w, m, c = random_mixture(rng, k, d, spread=spread)
    X = clustered_data(rng, w, m, c, n)
    start_means = X[rng.choice(n, size=k, replace=False)]
    start_covs = np.stack([np.cov(X.T, bias=True).reshape(d, d) + 0.1 * np.eye(d)] * k)
    return Case(label, args=(X, np.full(k, 1.0 / k), start_means, start_covs, n_iter, reg),
                about=about)


@checks.add("gmm_em", "parameters after a few iterations", points=2,
            judge=em_parameters_judge)
def _(rng):
    yield em_case(rng, "K=2 D=2 N=30, 4 iterations", 2, 2, 30, 4,
                  about="EM is deterministic from a given start")


@checks.add("gmm_em", "logliks: from the start's to the result's, never decreasing", points=1,
            judge=em_logliks_judge, expected=None)
def _(rng):
    yield em_case(rng, "K=3 D=2 N=40, 6 iterations, reg=0", 3, 2, 40, 6,
                  about="n_iter + 1 values, non-decreasing")


@checks.add("mixture_elbo", "the formula, with the entropy term", points=1, judge=close_elbo)
def _(rng):
    w, m, c = random_mixture(rng, 3, 2)
    X = clustered_data(rng, w, m, c, 4)
    yield Case("K=3 D=2 N=4, q uniform", args=(X, w, m, c, np.full((4, 3), 1.0 / 3)),
               about="the entropy of q is log 3 here")
    yield Case("K=3 D=2 N=4, random q", args=(X, w, m, c, rng.dirichlet(np.ones(3), size=4)))


@checks.add("mixture_elbo", "equals log p(x) at the posterior", points=1, judge=close_elbo,
            expected=from_case_data)
def _(rng):
    yield posterior_case(rng, "K=2 D=2 N=5", 2, 2, 5)


@checks.add("mixture_elbo", "zeros in q: 0 log 0 = 0, and -inf on a zero-weight component",
            points=1, judge=close_elbo)
def _(rng):
    w = np.array([0.5, 0.0, 0.5])
    _, m, c = random_mixture(rng, 3, 2)
    X = clustered_data(rng, np.array([0.5, 0.0, 0.5]), m, c, 3)
    q = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    yield Case("one-hot q, zero weight", args=(X, w, m, c, q),
               about="rows 0, 1: q_k = 0 (even where pi_k = 0) contributes 0; row 2: -inf")


@checks.add("gaussian_kl_to_standard", "the closed form on a small batch", points=1,
            judge=close(rtol=1e-6, atol=kl_atol))
def _(rng):
    yield Case("B=3 L=2", args=(rng.standard_normal((3, 2)), rng.uniform(-2, 1, (3, 2))),
               about="log_var is the LOG-variance")
    yield Case("B=1 L=1", args=(np.array([[1.0]]), np.array([[math.log(2.0)]])),
               about="1/2 (2 + 1 - 1 - log 2)")


@checks.add("gaussian_kl_to_standard", "zero at the standard normal", points=1,
            judge=close(rtol=0, atol=1e-12), expected=from_case_data)
def _(rng):
    yield Case("B=2 L=3", args=(np.zeros((2, 3)), np.zeros((2, 3))),
               data={"expected": np.zeros(2)})


def vae_input_rows(rng, b, d):
    """``(b, d)`` random 0./1. rows."""
    return (rng.random((b, d)) < 0.4).astype(float)


@checks.add("VAE", "encode, decode, elbo and sample have the spec's shapes", points=1,
            judge=interface_judge, expected=None, steps=interface_program, seconds=SECONDS,
            needs_torch=True)
def _(rng):
    yield Case("d=6 L=2 B=3", data={"spec": vae_spec(6, 2, (16,), 0),
                                    "x": vae_input_rows(rng, 3, 6), "n": 4, "seed": 1})


@checks.add("VAE", "elbo is log p(x | z) - KL at z = mu + exp(log_var / 2) * eps", points=2,
            judge=elbo_consistency_judge, expected=None, steps=consistency_program,
            seconds=SECONDS, needs_torch=True)
def _(rng):
    x = vae_input_rows(rng, 5, 8)
    yield Case("d=8 L=3 B=5", data={"spec": vae_spec(8, 3, (16,), 1), "x": x, "seed": 7,
                                    "eps": torch_noise(7, (5, 3))},
               about="eps = torch.randn((5, 3), generator=torch.Generator().manual_seed(7))")


@checks.add("VAE", "same generator seed, same samples", points=1,
            judge=sample_reproducible_judge, expected=None,
            steps=sample_reproducibility_program, seconds=SECONDS, needs_torch=True)
def _(rng):
    yield Case("d=10 L=2 n=50", data={"spec": vae_spec(10, 2, (16,), 2), "n": 50, "seed": 11})


@checks.add("train_vae", "returns the real mean negative ELBO of each epoch", points=2,
            judge=real_losses_judge, expected=None, steps=losses_program,
            seconds=TRAIN_SECONDS, needs_torch=True)
def _(rng):
    yield Case("VAE(64, 4, (64,)), 3 epochs", data={
        "spec": vae_spec(64, 4, (64,), 0), "n_train": 700, "seed": 3, "noise": 5,
        "min_gain": 5.0, "budget": {"epochs": 3, "lr": 3e-3, "batch": 50}},
        about="700 training digits, batches of 50, lr 3e-3")
