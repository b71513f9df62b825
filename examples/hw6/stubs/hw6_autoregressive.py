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
- training: ``train_model`` with the budget of the check (stated below) must
  bring the held-out NLL of your model close to what the reference reaches.

Data: the binarized 8x8 digits (d = 64) ship in ``data/digits_binary.npz``
at the root of the repository: 1400 training and 397 test images as uint8
arrays (see ``data/README.md`` for the source and license). For your own
experiments::

    data = np.load("data/digits_binary.npz")      # "../data/..." from assignments/
    x_train = torch.tensor(data["x_train"], dtype=torch.float32)   # (1400, 64)
    x_test = torch.tensor(data["x_test"], dtype=torch.float32)     # (397, 64)
"""
import numpy as np  # noqa: F401 - for loading the data
import torch
import torch.nn.functional as F  # noqa: F401 - you will want it
from torch import nn


class FVSBN(nn.Module):
    """Fully visible sigmoid belief network (the lecture's logistic autoregressive model).

    p(x_i = 1 | x_<i) = sigmoid(b_i + sum_{j < i} W_ij x_j)

    i.e. one logistic regression per position on the previous pixels:
    d(d+1)/2 useful parameters (compare ``n_params_fvsbn`` of HW5). A convenient
    implementation is an ``nn.Linear(d, d)`` whose weight is multiplied by a
    strictly lower triangular 0/1 mask (``torch.tril(..., diagonal=-1)``),
    registered with ``register_buffer`` so that ``.to(device)`` moves it too.
    Including the diagonal lets x_i predict itself: graded as a failure.

    Methods:
        ``forward(x)``: ``x (B, d)`` -> logits ``(B, d)``; ``logits[:, i]``
        depends on ``x[:, :i]`` only, and is an affine function of it
        (graded: the logits of an FVSBN are affine in x).
        ``log_prob(x)``: ``(B,)`` log p(x) in nats: the SUM over the d
        positions of the Bernoulli log-likelihoods (not the mean).
        Use ``F.binary_cross_entropy_with_logits`` or ``F.logsigmoid``:
        ``log(sigmoid(l))`` underflows to ``-inf`` for large negative ``l``.
        ``sample(n, generator=None)``: ``(n, d)`` float tensor of 0./1. on the
        model's device, drawn position by position (d forward passes, under
        ``torch.no_grad()``), every random number from ``generator``
        (e.g. ``torch.bernoulli(p, generator=generator)``).

    Graded edge cases: d = 1 (x_0 has no parents: its logit is the bias
    alone); batches of one row; a model moved to another device.
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
    layer l a degree m_l(k) in [min degree of the layer below, d - 1]. Then

    - hidden layer l: ``M[k, j] = 1  iff  m_l(k) >= m_{l-1}(j)``  (a unit may
      see units of lower or equal degree);
    - output layer: ``M[i, k] = 1  iff  (i + 1) > m_L(k)``  (STRICT: output i
      may only see units whose inputs are all before i).

    The product of the masks, ``M_out @ M_L @ ... @ M_1`` (d x d), counts the
    paths from input j to output i: it must be strictly lower triangular.
    A ``>=`` in the output mask lets x_i see itself: graded as a failure.

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

    Graded: 0/1 values and shapes; strictly lower triangular product; not
    degenerate: when every hidden size is >= d, every output i >= 1 must be
    connected to at least one earlier input (random degrees can miss a value:
    when a layer has at least d - 1 units, give each degree 1 .. d-1 at least
    once, e.g. cycle through them and shuffle with the seeded generator);
    same seed, same masks; d = 1.
    """
    raise NotImplementedError


class MADE(nn.Module):
    """Masked autoencoder for distribution estimation: an MLP made autoregressive by masks.

    ``MADE(d, hidden_sizes=(128,))``: masked linear layers
    ``d -> h_1 -> ... -> h_L -> d`` with ReLU between them and no activation
    on the output logits. Each layer computes ``F.linear(x, W * M, b)`` with
    its mask M from ``made_masks(d, hidden_sizes)`` registered as a buffer.
    Same interface and graded properties as ``FVSBN`` (forward, log_prob,
    sample), except that the logits need not be affine.

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

    Budget and measured numbers (reference, one CPU thread, full 1400 training
    images, held-out NLL on the 397 test images, 6 seeds):
        - FVSBN(64), 20 epochs, lr 3e-2, batch 64: 0.2 s, test NLL 18.31–18.39
          nats (train 17.6); graded: test NLL <= 19.4 nats.
        - MADE(64, (256,)), 30 epochs, lr 3e-3, batch 64: 0.6 s, test NLL
          17.81–17.98 nats (train 16.9); graded: test NLL <= 19.0 nats.
        For scale: 64 log 2 = 44.4 nats for a fair coin per pixel.

    Overfitting, early stopping, weight decay: 1400 images are few for a
    MADE. Trained longer, MADE(64, (512,)) at lr 3e-3 reached train/test NLL
    16.2/17.5 after 25 epochs, 14.5/17.1 after 50, 12.9/17.8 after 100 and
    11.2/20.1 after 200: the training NLL keeps falling while the held-out
    NLL turns back up. The grader therefore fixes the epoch budget and grades
    the held-out NLL. In your own experiments, hold out a validation split and
    keep the parameters of the best validation epoch (early stopping), or add
    an L2 penalty (``torch.optim.AdamW(..., weight_decay=...)``); train_model
    itself must use plain Adam with the given ``lr`` and exactly ``n_epochs``.
    """
    raise NotImplementedError
