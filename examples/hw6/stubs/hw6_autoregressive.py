"""HW6 — Tiny autoregressive models: FVSBN and MADE on binarized digits.

The first deep generative family of the lecture's taxonomy. By the chain rule,
any distribution over x in {0,1}^d factorizes exactly as

    p(x) = prod_i p(x_i | x_0, ..., x_{i-1}),

so a model that outputs, for every position i, the logit of
p(x_i = 1 | x_<i) computed from x_<i ONLY (the *autoregressive property*)
defines a normalized distribution, with an exact log-likelihood

    log p(x) = sum_i [ x_i log sigmoid(l_i) + (1 - x_i) log sigmoid(-l_i) ]

and exact ancestral sampling (draw x_0, then x_1 given x_0, ...).

Every exercise below is a stub: replace the ``raise NotImplementedError``
with your code. You need torch (``pip install torch``; the CPU build is
enough). Check your work with ``make check HW=hw6`` (public checks). The graded
run adds hidden checks of the same properties on other sizes and seeds.

Conventions (course spec):
- Binary data are float tensors ``(B, d)`` with values 0. and 1.; the
  ordering is the natural one (x_0 first).
- Models must work on whatever device their parameters are on:
  ``model.to("cuda")`` must just work. Create new tensors with
  ``device=...`` taken from the parameters (or ``x.device``), never a
  hard-coded ``"cpu"``; the grader may run your models on a GPU.
- Randomness is passed in: ``sample`` takes an optional ``torch.Generator``
  on the model's device, ``train_model`` one on the CPU (where the data
  live); each must draw every random number from it when it is given.
  Never depend on the global seed.

How you are graded — black-box, by what your models output:
- **autoregressive property**, by perturbation: for random inputs and every
  position j, changing x_j must leave logits[:, :j+1] unchanged (to float
  rounding). A model that peeks at x_i (or later inputs) to predict x_i gets an
  excellent likelihood and zero points: its "probabilities" do not sum to 1.
  The likelihood checks of trained models require this property first;
- ``log_prob(x)`` equals the Bernoulli log-likelihood of x computed from
  ``forward(x)``'s logits (relative tolerance 1e-4, in nats);
- normalization: for d <= 10, exp(log_prob) summed over all 2^d inputs is 1;
- sampling: for d <= 10, the frequency of each of the 2^d patterns over many
  samples matches the model's probability (a test that fails a correct
  sampler with probability below 1e-7); the same generator seed gives the
  same samples whatever the global seed;
- FVSBN's logits are affine in x, MADE's are not (its ReLU must show);
- training: ``train_model`` with the budget of the check (stated below) must
  bring the held-out NLL of your model close to what the reference reaches.
  The held-out digits are then scored by fresh instances of your class loaded
  with the trained parameters and buffers (see ``train_model``).

Data: the binarized 8x8 digits (d = 64) ship in ``data/digits_train.npz`` at
the root of the repository: 1400 training images as a uint8 array (see
``data/README.md`` for the source and license). The held-out digits on which
your trained models are graded stay with the grader: none of them is an exact
copy of a training image. For your own experiments, hold out part of the
training images yourself::

    data = np.load("data/digits_train.npz")       # "../data/..." from assignments/
    x = torch.tensor(data["x_train"], dtype=torch.float32)   # (1400, 64)
    x_train, x_val = x[:1200], x[1200:]

When grading, the training and held-out digits are relabeled: one random set of
pixel positions (drawn per grading seed) is flipped, 0 <-> 1, in every image.
This changes nothing for a model that learns (a logistic conditional absorbs a
fixed flip), and keeps a copy of the public digits from matching the graded ones.

Scale, in nats per image (divide by 64 log 2 = 44.36 for bits per dimension):
a fair coin per pixel costs 64 log 2 = 44.4 nats (1 bit/dim); independent
pixels, each with its frequency in the training data, 25.1 nats on the training
digits and 25.4 on the held-out ones (0.57 bit/dim); the reference FVSBN and
MADE reach the figures in ``train_model``'s docstring.
"""
import numpy as np  # noqa: F401 - for loading the data
import torch
import torch.nn.functional as F  # noqa: F401 - you will want it
from torch import nn


class FVSBN(nn.Module):
    """Fully visible sigmoid belief network: one logistic regression per pixel.

    p(x_i = 1 | x_<i) = sigmoid(b_i + sum_{j < i} W_ij x_j)

    Every conditional is logistic in the previous pixels, and the model has no
    hidden units: every variable is visible (Frey, 1998, "Graphical models for
    machine learning and digital communication"; Larochelle & Murray, 2011, use
    it as the baseline of NADE). It has d(d+1)/2 useful parameters (compare
    ``n_params_fvsbn`` of HW5). A convenient implementation is an
    ``nn.Linear(d, d)`` whose weight is multiplied by a strictly lower
    triangular 0/1 mask (``torch.tril(..., diagonal=-1)``), registered with
    ``register_buffer`` so that ``.to(device)`` moves it too. Including the
    diagonal lets x_i predict itself: graded as a failure.

    Methods:
        ``forward(x)``: ``x (B, d)`` -> logits ``(B, d)``; ``logits[:, i]``
        depends on ``x[:, :i]`` only, and is an affine function of it
        (graded: the logits of an FVSBN are affine in x).
        ``log_prob(x)``: ``(B,)`` log p(x) in nats: the SUM over the d
        positions of the Bernoulli log-likelihoods (not the mean).
        Use ``F.binary_cross_entropy_with_logits`` or ``F.logsigmoid``:
        ``log(sigmoid(l))`` underflows to ``-inf`` for large negative ``l``
        (graded: the grader multiplies every parameter of a fresh model by 300,
        reaching them through ``nn.Module``'s own storage, and checks that the
        logits grew and that ``log_prob`` stays finite and consistent).
        ``sample(n, generator=None)``: ``(n, d)`` float tensor of 0./1. on the
        model's device, drawn position by position (d forward passes, under
        ``torch.no_grad()``), every random number from ``generator``
        (e.g. ``torch.bernoulli(p, generator=generator)``).

    Graded edge cases: d = 1 (x_0 has no parents: its logit is the bias
    alone); batches of one row; a model moved to another device. Keep every
    learned tensor an ``nn.Parameter`` (or buffer) of the model: the held-out
    digits are scored by fresh instances of your class into which the trained
    parameters and buffers are copied.
    """

    def __init__(self, d):
        super().__init__()
        raise NotImplementedError

    def forward(self, x):
        """Logits ``(B, d)`` of p(x_i = 1 | x_<i) for ``x (B, d)``."""
        raise NotImplementedError

    def log_prob(self, x):
        """``(B,)`` log p(x), summed over the d positions."""
        raise NotImplementedError

    def sample(self, n, generator=None):
        """``(n, d)`` samples in {0, 1}, drawn with ``generator``."""
        raise NotImplementedError


def made_masks(d, hidden_sizes, seed=0):
    """The connectivity masks of a MADE for the natural ordering (Germain et al., 2015).

    Give input j the degree m(j) = j + 1 (1..d). Give each unit k of hidden
    layer l a degree m_l(k) between the smallest degree of the layer below and
    d - 1 (for d = 1 that range is empty: give every hidden unit degree 1; no
    hidden unit then reaches the output, whose logit is its bias alone). Then

    - hidden layer l: ``M[k, j] = 1  iff  m_l(k) >= m_{l-1}(j)``  (a unit may
      see units of lower or equal degree);
    - output layer: ``M[i, k] = 1  iff  (i + 1) > m_L(k)``  (STRICT: output i
      may only see units whose inputs are all before i).

    The product of the masks, ``M_out @ M_L @ ... @ M_1`` (d x d), counts the
    paths from input j to output i: it must be strictly lower triangular.
    A ``>=`` in the output mask lets x_i see itself: graded as a failure.

    Any valid assignment of degrees is accepted: random ones as in the paper
    (each hidden degree drawn uniformly between the smallest degree below and
    d - 1), or deterministic ones (e.g. cycling through 1 .. d-1). Random
    degrees may leave some outputs unconnected to any input (their logit is
    then a bias); that costs likelihood, not points.

    Args:
        d: number of binary variables (d >= 1).
        hidden_sizes: sequence of hidden layer widths (may be empty: the
            single mask is then the FVSBN mask).
        seed: the masks are a deterministic function of ``(d, hidden_sizes,
            seed)``: draw degrees from ``torch.Generator().manual_seed(seed)``,
            never from the global generator.

    Returns:
        A list of ``len(hidden_sizes) + 1`` float tensors of 0. and 1., shaped
        ``(out, in)`` like ``nn.Linear.weight``: ``(h_1, d), (h_2, h_1), ...,
        (d, h_L)``.

    Graded: only the autoregressive property (strictly lower triangular
    product), shapes, 0/1 values and determinism (same seed, same masks),
    never how richly the outputs are connected; d = 1 included.
    """
    raise NotImplementedError


class MADE(nn.Module):
    """Masked autoencoder for distribution estimation: an MLP made autoregressive by masks.

    ``MADE(d, hidden_sizes=(128,))``: masked linear layers
    ``d -> h_1 -> ... -> h_L -> d`` with ReLU between them and no activation
    on the output logits. Each layer computes ``F.linear(x, W * M, b)`` with
    its mask M from ``made_masks(d, hidden_sizes)`` registered as a buffer.
    Same interface and graded properties as ``FVSBN`` (forward, log_prob,
    sample), except that the logits are not affine in x (graded: without the
    nonlinearity the layers collapse into one masked linear map, an FVSBN).

    Graded sizes: d = 1 .. 64, zero to three hidden layers, hidden sizes
    smaller and larger than d.
    """

    def __init__(self, d, hidden_sizes=(128,)):
        super().__init__()
        raise NotImplementedError

    def forward(self, x):
        """Logits ``(B, d)`` of p(x_i = 1 | x_<i) for ``x (B, d)``."""
        raise NotImplementedError

    def log_prob(self, x):
        """``(B,)`` log p(x), summed over the d positions."""
        raise NotImplementedError

    def sample(self, n, generator=None):
        """``(n, d)`` samples in {0, 1}, drawn with ``generator``."""
        raise NotImplementedError


def train_model(model, data, n_epochs, lr, batch_size, generator=None):
    """Fit an autoregressive model by maximum likelihood with minibatch Adam.

    Minimize the mean negative log-likelihood -1/B sum_b log p(x_b) with
    ``torch.optim.Adam(model.parameters(), lr=lr)``. Each epoch visits every
    row of ``data`` once, in the order of a fresh random permutation drawn
    with ``torch.randperm(N, generator=generator)`` (on the CPU), cut into
    batches of ``batch_size`` (the last may be shorter); one optimizer step
    per batch.

    Args:
        model: an ``FVSBN`` or ``MADE`` (anything with ``forward`` giving
            logits); it is trained in place, on the device of its parameters.
        data: ``(N, d)`` float tensor of 0./1. (it may live on the CPU while
            the model is on a GPU: move each batch to the model's device).
        n_epochs, lr, batch_size: the budget.
        generator: optional CPU ``torch.Generator`` for the shuffling: with the
            same seed and the same initial model, two runs return the same
            losses (graded), and another seed gives another order.

    Returns:
        A list of ``n_epochs`` Python floats: the mean training NLL in nats per
        image of each epoch (sum of the per-image NLLs over the epoch's batches
        divided by N, measured on each batch before its step). Graded against
        the NLL that the grader itself computes from your model's logits before
        and after training: fake or rescaled numbers fail. On a GPU, sum the
        losses as tensors and call ``.item()`` once per epoch, not per batch.

    Graded with your own ``FVSBN`` (the loss checks) and with your FVSBN and
    MADE (their "learns the digits" checks): each training call has 60 s;
    a model too big or too slow for the budget fails with the time-limit
    message.

    Budget and measured numbers (reference, one CPU thread, the 1400 training
    digits, held-out NLL on the grader's 379 held-out digits, relabeled as when
    grading, 10 seeds; ``bench/hw6.py``):
        - FVSBN(64), 10 epochs, lr 3e-2, batch 96: held-out NLL 18.75–18.93
          nats (0.42 bit/dim; train 18.1); graded: held-out NLL <= 19.4 nats.
        - MADE(64, (512,)), 10 epochs, lr 1.5e-2, batch 96: held-out NLL
          17.87–18.16 nats (0.41 bit/dim; train 16.5); graded: held-out NLL
          <= 18.6 nats. The same MADE without its ReLU (linear: an FVSBN in
          disguise) reaches 19.02–19.30 and fails; random-degree masks reached
          17.93–18.21 on 10 other seeds.
        For scale: 44.4 nats for a fair coin per pixel, 25.4 for independent
        pixels (see the top of this file).

    The held-out digits are scored by fresh instances of your class (same
    constructor arguments) into which the trained parameters and buffers are
    copied, in evaluation mode (``training`` False), a few dozen digits per call: a digit's logits must depend on that
    digit only, not on the other rows of the batch or on earlier calls (graded:
    some digits are scored twice, in different batches).

    Overfitting, early stopping, weight decay: 1400 images are few for a
    MADE. Trained longer, MADE(64, (512,)) at lr 3e-3 reached train/held-out
    NLL 16.2/17.8 after 25 epochs, 14.5/17.4 after 50, 12.9/18.2 after 100 and
    11.2/20.7 after 200: the training NLL keeps falling while the held-out
    NLL turns back up. The grader therefore fixes the epoch budget and grades
    the held-out NLL. In your own experiments, hold out a validation split and
    keep the parameters of the best validation epoch (early stopping), or add
    an L2 penalty (``torch.optim.AdamW(..., weight_decay=...)``); train_model
    itself must use plain Adam with the given ``lr`` and exactly ``n_epochs``.
    """
    raise NotImplementedError
