"""HW7 — Latent-variable models: EM, the ELBO and a tiny VAE.

The lecture's second family of generative models: a latent variable z that is
never observed, and

    p(x) = sum_z p(z) p(x | z)        (or an integral over z).

For ANY distribution q(z | x) over the latent variable,

    log p(x) = ELBO(q) + KL[ q(z | x) || p(z | x) ],
    ELBO(q)  = E_q[ log p(x, z) - log q(z | x) ],

and KL >= 0 (HW2), so the ELBO is a lower bound on log p(x), tight exactly
when q is the posterior p(z | x). Two algorithms climb it:

- EM (mixtures, exact posteriors): the E-step sets q to the posterior (HW1's
  responsibilities), which makes the bound tight; the M-step maximizes the
  ELBO over the parameters with q fixed (weighted MLE, HW3). Neither step can
  lower log p(x): the log-likelihood never decreases.
- The VAE (neural networks, no exact posterior): an encoder outputs q(z | x),
  a decoder p(x | z), and both are trained by SGD (HW4) on a one-sample,
  reparameterized estimate of the ELBO.

Every exercise below is a stub: replace the ``raise NotImplementedError``
with your code. The mixture exercises use numpy only; the VAE needs torch
(``pip install torch``; the CPU build is enough). Check your work with
``make check HW=hw7`` (public checks). The graded run adds hidden checks of
the same properties on other sizes and seeds.

Conventions (course spec):
- numpy inputs are float64 ndarrays; return any array-like with the right
  shape and values. Tolerances: ``rtol = 1e-6`` plus an absolute slack scaled
  by the size of the inputs for the numpy exercises; float32 tolerances
  (``rtol = 1e-4``) for the VAE.
- "log" is the natural log; every ELBO, KL and log-likelihood is in nats.
- Binary data are float tensors ``(B, d)`` of 0. and 1. Models work on
  whatever device their parameters are on (``model.to("cuda")`` must just
  work): create new tensors on the parameters' device, never a hard-coded
  ``"cpu"``.
- Randomness is passed in (``generator``); never depend on the global seed.
"""
import numpy as np
import torch
import torch.nn.functional as F  # noqa: F401 - you will want it
from torch import nn


def gmm_m_step(X, resp, reg=0.0):
    """The M-step of EM for a Gaussian mixture: weighted maximum likelihood.

    With q fixed to the responsibilities r_nk, the ELBO's parameter-dependent
    part is the expected complete-data log-likelihood

        sum_n sum_k r_nk [ log pi_k + log N(x_n; mu_k, Sigma_k) ],

    maximized in closed form (HW3's MLE, with weights r_nk). With
    N_k = sum_n r_nk:

        pi_k    = N_k / N
        mu_k    = 1/N_k sum_n r_nk x_n
        Sigma_k = 1/N_k sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T + reg * I

    The covariance is taken around the NEW mean mu_k of this same step (not
    the mean of the previous iteration), with 1/N_k (not 1/(N_k - 1): this is
    the maximum-likelihood estimate).

    Args:
        X: ``(N, D)`` data.
        resp: ``(N, K)`` responsibilities, rows summing to 1 (soft or hard
            assignments).
        reg: added to the diagonal of every covariance (keeps them positive
            definite when a component collapses onto few points).

    Returns:
        ``(weights (K,), means (K, D), covs (K, D, D))``.

    Graded edge cases: D = 1; K = 1 (a single Gaussian: the plain MLE);
    hard 0/1 responsibilities; components holding a small share of the
    data. Every component has N_k > 0 in graded cases. Compared with the
    weighted MLE (unique), ``rtol = 1e-6``.
    """
    raise NotImplementedError


def gmm_em(X, weights, means, covs, n_iter, reg=1e-6):
    """Expectation–maximization for a Gaussian mixture, from a given start.

    Each iteration:

    - E-step: r_nk = p(z = k | x_n) under the current parameters (HW1's
      ``mixture_responsibilities``; compute it in log space with
      log-sum-exp: far points underflow every density to 0);
    - M-step: ``gmm_m_step(X, r, reg)``.

    The log-likelihood log p(X) = sum_n log sum_k pi_k N(x_n; mu_k, Sigma_k)
    never decreases from one iteration to the next (with ``reg = 0``; a
    positive ``reg`` perturbs the M-step slightly, so then only approximately).

    Args:
        X: ``(N, D)``; weights ``(K,)``, means ``(K, D)``, covs ``(K, D, D)``:
            the starting parameters (not modified).
        n_iter: number of iterations (0 is allowed: no update).
        reg: passed to every M-step.

    Returns:
        ``(weights, means, covs, logliks)``: the parameters after ``n_iter``
        iterations, and ``logliks``, a list of ``n_iter + 1`` floats: the total
        log-likelihood of X under the parameters before each iteration, then
        under the final ones.

    Graded: the parameters against the reference EM run from the same start
    (EM is deterministic); ``logliks[0]`` and ``logliks[-1]`` against the
    log-likelihood the grader computes for the starting and returned
    parameters; ``logliks`` non-decreasing (with ``reg = 0``, up to rounding);
    ``n_iter = 0``; D = 1; far-apart clusters.
    """
    raise NotImplementedError


def mixture_elbo(X, weights, means, covs, q):
    """The ELBO of a Gaussian mixture for an arbitrary q(z | x), per data point.

        ELBO_n(q) = sum_k q_nk [ log pi_k + log N(x_n; mu_k, Sigma_k) - log q_nk ]

    i.e. E_q[log p(x, z)] + H[q]: do not forget the entropy term
    ``- sum_k q_nk log q_nk``. For every q,

        ELBO_n(q) = log p(x_n) - KL[ q_n || p(z | x_n) ] <= log p(x_n),

    with equality exactly when q_n is the posterior (the responsibilities).

    Zeros: 0 log 0 = 0. A term with q_nk = 0 contributes exactly 0, even where
    pi_k = 0 (where log pi_k = -inf: 0 * -inf is NaN in floating point, so
    select the terms with q_nk > 0 instead of multiplying). q_nk > 0 on a
    zero-weight component makes the ELBO -inf (q puts mass where p(x, z) = 0).

    Args:
        X: ``(N, D)``; weights ``(K,)`` (zeros allowed), means ``(K, D)``,
            covs ``(K, D, D)``.
        q: ``(N, K)``, rows summing to 1, zeros allowed.

    Returns:
        ``(N,)`` ELBO of each point, in nats (``-inf`` where due, never NaN).

    Graded: against the reference; by the identities above (equal to
    log p(x) at the posterior, and log p(x) - ELBO equal to the KL from q to
    the posterior for random q, computed by the grader); one-hot and
    zero-containing q; zero-weight components; points far from every
    component (use Cholesky factors and log-space arithmetic).
    """
    raise NotImplementedError


def gaussian_kl_to_standard(mu, log_var):
    """KL from a diagonal Gaussian to the standard normal, in closed form.

        KL[ N(mu, diag sigma^2) || N(0, I) ]
            = 1/2 sum_l ( sigma_l^2 + mu_l^2 - 1 - log sigma_l^2 ),

    with sigma_l^2 = exp(log_var_l) (HW2's ``gaussian_kl`` for this special
    case). The input is the LOG-variance, which an encoder can output
    unconstrained; do not treat it as the variance.

    Args:
        mu, log_var: ``(B, L)`` each (numpy arrays).

    Returns:
        ``(B,)`` KL of each row, >= 0, and 0 exactly at mu = 0, log_var = 0.

    Graded: against the closed form; 0 at the standard normal; additive over
    the latent dimensions (one row with L dimensions equals the sum of L
    one-dimensional rows); log-variances from -20 to 5; L = 1.
    """
    raise NotImplementedError


class VAE(nn.Module):
    """A tiny variational autoencoder (Kingma & Welling, 2014) for binary data.

    - prior p(z) = N(0, I) on z in R^L;
    - decoder p(x | z) = prod_i Bernoulli(x_i; sigmoid(l_i(z))), logits from
      an MLP ``L -> ... -> d``;
    - encoder q(z | x) = N(mu(x), diag exp(log_var(x))), from an MLP
      ``d -> ... -> 2L`` whose output is split into ``mu`` and ``log_var``.

    ``VAE(d, latent_dim, hidden=(128,))``: ``hidden`` lists the encoder's
    hidden widths (use them reversed for the decoder), ReLU between layers,
    no activation on the outputs.

    Methods:
        ``encode(x)``: ``x (B, d)`` -> ``(mu, log_var)``, each ``(B, L)``.
        ``decode(z)``: ``z (B, L)`` -> Bernoulli logits ``(B, d)``. A function
        of z alone (graded: the decoder is judged on z's that the grader
        builds).
        ``elbo(x, generator=None)``: ``(B,)`` ELBO of each row, in nats:

            z = mu + exp(log_var / 2) * eps,
            eps = torch.randn((B, L), generator=generator)   (ONE draw)
            ELBO = log p(x | z) - KL[ q(z | x) || N(0, I) ]

          with log p(x | z) the SUM over the d pixels of the Bernoulli
          log-likelihoods of x under ``decode(z)``'s logits (use
          ``F.binary_cross_entropy_with_logits(..., reduction="none")``), and
          the KL in closed form (``gaussian_kl_to_standard``, in torch). Draw
          eps exactly as written, with ``device=generator.device`` when a
          generator is given (else the model's device), then move it to the
          model's device: the grader draws the same eps from the same seed
          and recomputes your ELBO from your own ``encode`` and ``decode``.
          One ELBO per row: never the sum or the mean over the batch.
        ``sample(n, generator=None)``: ``(n, d)`` float tensor of 0./1. on the
          model's device: z ~ N(0, I), then x ~ Bernoulli(sigmoid(decode(z)))
          (``torch.bernoulli``), every random number from ``generator`` (under
          ``torch.no_grad()``).

    Graded: shapes; ``elbo`` against the ELBO the grader computes from your
    ``encode``/``decode`` with the same eps (float32 tolerances); the same
    generator seed gives the same ELBO and the same samples whatever the
    global seed, another seed other ones; sample frequencies (d <= 6, L <= 2)
    against the model's own p(x) = E_z[p(x | z)], which the grader integrates
    numerically over a grid of z (a test that fails a correct sampler with
    probability below 1e-7); a model moved to another device.
    """

    def __init__(self, d, latent_dim, hidden=(128,)):
        super().__init__()
        raise NotImplementedError

    def encode(self, x):
        """``(mu, log_var)``, each ``(B, L)``, for ``x (B, d)``."""
        raise NotImplementedError

    def decode(self, z):
        """Bernoulli logits ``(B, d)`` for ``z (B, L)``."""
        raise NotImplementedError

    def elbo(self, x, generator=None):
        """``(B,)`` one-sample reparameterized ELBO of each row of ``x``."""
        raise NotImplementedError

    def sample(self, n, generator=None):
        """``(n, d)`` samples in {0, 1}: z from the prior, x from the decoder."""
        raise NotImplementedError


def train_vae(model, data, n_epochs, lr, batch_size, generator=None):
    """Fit a VAE by maximizing the ELBO with minibatch Adam.

    Minimize the mean negative ELBO -1/B sum_b ELBO(x_b) (``model.elbo(batch,
    generator=generator)``) with ``torch.optim.Adam(model.parameters(),
    lr=lr)``. Each epoch visits every row once, in the order of a fresh
    permutation ``torch.randperm(N, generator=generator)`` (on the CPU),
    cut into batches of ``batch_size`` (the last may be shorter); one
    optimizer step per batch. Gradients flow through z = mu + sigma * eps:
    the reparameterization trick.

    Args:
        model: a ``VAE``, trained in place on the device of its parameters.
        data: ``(N, d)`` float tensor of 0./1. (it may live on the CPU while
            the model is on a GPU: move each batch to the model's device).
        n_epochs, lr, batch_size: the budget.
        generator: optional CPU ``torch.Generator`` for the shuffling and the
            noise: with the same seed and the same initial model, two runs
            return the same losses (graded).

    Returns:
        A list of ``n_epochs`` Python floats: the mean negative ELBO in nats
        per image of each epoch (the per-image negative ELBOs summed over the
        epoch's batches, each measured before its step, divided by N: a mean
        per image, never a sum over a batch). Graded against the negative
        ELBO that the grader computes from your ``encode``/``decode`` before
        and after training: fake or rescaled numbers fail.

    Graded: the losses; the same seed gives the same losses; and the
    held-out negative ELBO after training, computed by the grader from your
    ``encode``/``decode`` (with its own noise) on digits that you never see.
    Each training call has 60 s; a model too big or too slow for the budget
    fails with the time-limit message.

    Budget and measured numbers (reference, one CPU thread, 6 seeds, the 1400
    training images; held-out negative ELBO on the 379 test images):
        ``VAE(64, 8, hidden=(128,))``, 20 epochs, lr 3e-3, batch 64: about
        1.4 s, held-out negative ELBO 19.37–19.79 nats (train 18.85–19.33);
        graded: <= 21.0 nats. For scale: 64 log 2 = 44.4 nats for a fair coin per pixel;
        the autoregressive MADE of HW6 reaches an exact NLL of about 17.8.
        What fails it (measured): ``elbo`` at the mean of z, without noise
        (78–83: the decoder never learns to handle q's spread); log p(x | z)
        averaged instead of summed over the pixels (25.4–25.6: the KL term
        then dominates and q collapses onto the prior); 2 epochs instead of
        20 (25.6–26.2).

    Data: the training split of HW6's binarized 8x8 digits (1400 images,
    d = 64), shipped in ``data/`` at the root of the repository; load it as
    HW6's docstring shows (``data/README.md`` names the files). The grader
    trains on these digits with a per-grading mask of flipped pixel
    positions (the same mask on the held-out digits): a fixed flip changes
    nothing a VAE can learn, so train exactly as on the shipped digits.
    """
    raise NotImplementedError
