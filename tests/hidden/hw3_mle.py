"""Hidden checks of HW3: gradients against automatic differentiation, the MLE by optimality.

Never shipped to students. The expected gradients are computed by torch
autograd on the trusted side only (``needs_torch=True``): the student's worker
never needs torch. The log-likelihood is written once here, in torch, as a
function of (mu, Sigma) or of the precision S with every entry an independent
variable, exactly as the course spec states. Nothing here is statistical: no
false failures.
"""
import math

import numpy as np

from grader.cases.gaussians import random_gaussian, random_spd
from grader.checks.registry import Case, CheckSet
from grader.compare.numeric import PASS, Verdict, as_numeric, as_sequence, fmt
from tests.public.hw3_mle import (close_frequencies, close_grad_mu, close_grad_precision,
                                  close_loglik, close_mle, data_around, point_case,
                                  precision_case)

checks = CheckSet("hw3", public=False)


# --- the trusted side's log-likelihood, differentiated by torch -------------------------------

def _torch():
    import torch  # trusted side only, and only when a hidden hw3 check needs it
    return torch


def torch_loglik(X, mu, *, Sigma=None, S=None):
    """sum_i log N(x_i; mu, Sigma) as a torch scalar, given Sigma or the precision S.

    With ``S`` the quadratic form is diff^T S diff and log det Sigma = -log det S,
    with no symmetrization: autograd then differentiates every entry of S
    independently.
    """
    torch = _torch()
    N, D = X.shape
    diff = X - mu                                            # (N, D)
    const = N * D * math.log(2.0 * math.pi)
    if S is not None:
        quad = torch.einsum("ni,ij,nj->", diff, S, diff)
        return -0.5 * (const - N * torch.linalg.slogdet(S)[1] + quad)
    L = torch.linalg.cholesky(Sigma)
    z = torch.linalg.solve_triangular(L, diff.T, upper=False)   # (D, N)
    return -0.5 * (const + 2.0 * N * torch.log(torch.diagonal(L)).sum() + (z * z).sum())


def _tensors(*arrays):
    torch = _torch()
    return [torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64) for a in arrays]


def autograd_grad_mu(reference, check, case):
    """dl/dmu at the case's (X, mu, Sigma), by torch autograd (an ``expected=`` hook)."""
    X, mu, Sigma = _tensors(*case.args)
    mu.requires_grad_(True)
    (grad,) = _torch().autograd.grad(torch_loglik(X, mu, Sigma=Sigma), mu)
    return grad.numpy()


def autograd_grad_precision(reference, check, case):
    """dl/dS at the case's (X, mu, S), every entry of S independent (an ``expected=`` hook)."""
    X, mu, S = _tensors(*case.args)
    S.requires_grad_(True)
    (grad,) = _torch().autograd.grad(torch_loglik(X, mu, S=S), S)
    return grad.numpy()


# --- gaussian_loglik --------------------------------------------------------------------------

@checks.add("gaussian_loglik", "random data, D = 1 and N = 1", points=2, judge=close_loglik)
def _(rng):
    for d, n in ((1, 7), (2, 1), (4, 12), (6, 30)):
        yield point_case(rng, d, n, f"D={d} N={n}")


@checks.add("gaussian_loglik", "ill-conditioned covariance (condition number 1e8)", points=1,
            judge=close_loglik)
def _(rng):
    for d in (3, 6):
        mu = rng.standard_normal(d)
        Sigma = random_spd(rng, d, cond=1e8)
        X = data_around(rng, mu, Sigma, 8)
        yield Case(f"D={d} N=8 cond=1e8", args=(X, mu, Sigma),
                   about="Sigma used exactly as given: no jitter")


@checks.add("gaussian_loglik", "high dimension, where det(Sigma) under- or overflows", points=1,
            judge=close_loglik)
def _(rng):
    for scale, label in ((1e-3, "underflows to 0"), (1e3, "overflows to inf")):
        mu, Sigma = random_gaussian(rng, 300, scale=scale)
        X = data_around(rng, mu, Sigma, 2)
        yield Case(f"D=300 N=2 variances about {scale:g}", args=(X, mu, Sigma),
                   about=f"det(Sigma) {label}: log det from Cholesky or slogdet")


# --- gradients against autograd ---------------------------------------------------------------

@checks.add("grad_loglik_mu", "matches autograd at random points", points=3,
            judge=close_grad_mu, expected=autograd_grad_mu, needs_torch=True)
def _(rng):
    for d, n in ((1, 5), (3, 1), (4, 9), (5, 20)):
        yield point_case(rng, d, n, f"D={d} N={n}", about="mu is not the MLE: gradient != 0")


@checks.add("grad_loglik_precision", "matches autograd at random points", points=3,
            judge=close_grad_precision, expected=autograd_grad_precision, needs_torch=True)
def _(rng):
    for d, n in ((1, 6), (2, 9), (4, 3), (5, 12)):
        yield precision_case(rng, d, n, f"D={d} N={n}")


@checks.add("grad_loglik_precision", "N = D, where an (N, N) Gram matrix has the right shape",
            points=1, judge=close_grad_precision, expected=autograd_grad_precision,
            needs_torch=True)
def _(rng):
    for d in (3, 4):
        yield precision_case(rng, d, d, f"D=N={d}",
                             about="sum_i (x_i - mu)(x_i - mu)^T is diff.T @ diff")


# --- gaussian_mle -----------------------------------------------------------------------------

@checks.add("gaussian_mle", "matches the closed form", points=2, judge=close_mle)
def _(rng):
    for d, n in ((1, 5), (2, 3), (4, 25)):
        mu, Sigma = random_gaussian(rng, d)
        yield Case(f"D={d} N={n}", args=(data_around(rng, mu, Sigma, n),),
                   about="1/N, not 1/(N - 1)")


#: Relative perturbation of the MLE: l drops by about N eps^2 / 4 >> its rounding error.
EPS = 1e-3
STATIONARY_TOL = 1e-6


def _perturbations(rng, mu, L):
    """(label, mu', Sigma') near (mu, L L^T): moves of mu along whitened axes, rescalings and
    symmetric shears L (I + eps A) L^T of Sigma."""
    d = len(mu)
    for j in range(d):
        for sign in (1.0, -1.0):
            yield f"mu + {sign:+g} eps L e_{j}", mu + sign * EPS * L[:, j], L @ L.T
    for sign in (1.0, -1.0):
        yield f"Sigma * (1 {sign:+g} eps)", mu, (1.0 + sign * EPS) * (L @ L.T)
    for k in range(2):
        A = rng.standard_normal((d, d))
        A = (A + A.T) / np.linalg.norm(A + A.T, 2)
        yield f"Sigma sheared ({k})", mu, L @ (np.eye(d) + EPS * A) @ L.T


def mle_optimality_judge(case, outputs, expected):
    """At the submitted (mu_hat, Sigma_hat): autograd gradients vanish and every nearby point
    has a lower log-likelihood. Needs no reference."""
    torch = _torch()
    X = case.args[0]
    N, D = X.shape
    parts, problem = as_sequence(outputs[0], 2)
    if parts is None:
        return Verdict.fail(f"{problem}: return (mu_hat, Sigma_hat)")
    mu, problem = as_numeric(parts[0], "mu_hat")
    if mu is None:
        return Verdict.fail(problem)
    Sigma, problem = as_numeric(parts[1], "Sigma_hat")
    if Sigma is None:
        return Verdict.fail(problem)
    if mu.shape != (D,) or Sigma.shape != (D, D):
        return Verdict.fail(f"shapes {mu.shape} and {Sigma.shape}, expected ({D},) and ({D}, {D})")
    if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(Sigma))):
        return Verdict.fail("mu_hat or Sigma_hat has NaN or inf entries")
    if np.max(np.abs(Sigma - Sigma.T)) > 1e-9 * np.max(np.abs(Sigma)):
        return Verdict.fail("Sigma_hat is not symmetric")
    try:
        L = np.linalg.cholesky(Sigma)
    except np.linalg.LinAlgError:
        return Verdict.fail("Sigma_hat is not positive definite, so it cannot maximize l")
    # Stationarity, made scale-free by whitening with L: L^T g_mu / N = L^-1 (mean(x) - mu_hat)
    # and (2 / N) L^-1 g_S L^-T = I - L^-1 C L^-T, C the 1/N scatter around mu_hat.
    Xt, mut, St = _tensors(X, mu, np.linalg.inv(Sigma))
    mut.requires_grad_(True)
    (g_mu,) = torch.autograd.grad(torch_loglik(Xt, mut, Sigma=_tensors(Sigma)[0]), mut)
    St.requires_grad_(True)
    (g_S,) = torch.autograd.grad(torch_loglik(Xt, _tensors(mu)[0], S=St), St)
    r_mu = L.T @ g_mu.numpy() / N
    r_S = 2.0 / N * np.linalg.solve(L, np.linalg.solve(L, g_S.numpy()).T)
    for name, resid in (("dl/dmu", r_mu), ("dl/dS", r_S)):
        if np.max(np.abs(resid)) > STATIONARY_TOL:
            return Verdict.fail(
                f"{name} is not zero at (mu_hat, Sigma_hat): its whitened size is "
                f"{np.max(np.abs(resid)):.3g} > {STATIONARY_TOL:g}, so this is not a maximum "
                "of the likelihood (1/N, not 1/(N - 1); center on mu_hat)")
    best = float(torch_loglik(Xt, _tensors(mu)[0], Sigma=_tensors(Sigma)[0]))
    slack = 1e-10 * (1.0 + abs(best))
    rng = np.random.default_rng(case.data["seed"])
    for label, mu2, Sigma2 in _perturbations(rng, mu, L):
        value = float(torch_loglik(*_tensors(X, mu2), Sigma=_tensors(Sigma2)[0]))
        if value > best + slack:
            return Verdict.fail(f"l is higher at a nearby point ({label}): {fmt(value)} > "
                                f"{fmt(best)} at (mu_hat, Sigma_hat), so it is not the MLE")
    return PASS


@checks.add("gaussian_mle", "optimal: zero gradient, every perturbation lowers l", points=2,
            judge=mle_optimality_judge, expected=None, needs_torch=True)
def _(rng):
    for d, n in ((1, 6), (3, 10), (5, 40)):
        mu, Sigma = random_gaussian(rng, d)
        yield Case(f"D={d} N={n}", args=(data_around(rng, mu, Sigma, n),),
                   data={"seed": int(rng.integers(1 << 31))}, about="no reference needed")


# --- categorical_mle --------------------------------------------------------------------------

@checks.add("categorical_mle", "random samples", points=1, judge=close_frequencies)
def _(rng):
    for k, n in ((2, 15), (4, 200), (7, 500)):
        p = rng.dirichlet(np.ones(k))
        x = rng.choice(k, size=n, p=p)
        x[rng.choice(n, size=k, replace=False)] = np.arange(k)  # every category occurs
        yield Case(f"K={k} N={n}", args=(x.astype(np.int64), k), about="all K categories occur")


@checks.add("categorical_mle", "categories absent from the sample get 0", points=1,
            judge=close_frequencies)
def _(rng):
    k = 8
    present = np.sort(rng.choice(np.arange(1, k - 1), size=3, replace=False))
    yield Case("K=8, five categories absent (incl. the first and last)",
               args=(rng.choice(present, size=30).astype(np.int64), k),
               about="K entries, in order, zeros where absent")
    yield Case("K=4, one observation", args=(np.array([2], dtype=np.int64), 4))
