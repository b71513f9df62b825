"""HW4 — Stochastic gradient descent.

Maximum likelihood rarely has a closed form; SGD follows the gradient of the
mean loss over small random batches of the data instead. Every exercise below
is a stub: replace the ``raise NotImplementedError`` with your code. Only
numpy is needed.

Check your work at any time with ``make check HW=hw4`` (public checks, instant
feedback). The graded run adds hidden randomized checks of the same exercises,
including every edge case listed in the docstrings.

Conventions (course spec):
- Randomness is passed in as ``rng`` (a ``np.random.Generator``). Draw every
  random number from it: never from ``np.random.*``, ``random`` or a generator
  of your own. Same seed, same result; the graders change the global seeds
  between calls to make sure.
- Your shuffle order is yours: no check compares it with another solution's.
  Checks look at properties (a partition, a permutation, reproducibility), at
  the statistics of the minibatch gradient over many epochs, and at what SGD
  does with the batches it draws.
"""
import numpy as np


def minibatches(n, batch_size, rng):
    """The minibatches of one epoch.

    Draw a random permutation of ``range(n)`` from ``rng`` and cut it, in
    order, into consecutive batches of ``batch_size`` indices. When
    ``batch_size`` does not divide ``n``, the last batch is shorter: keep it
    (dropping it would never train on some rows). There is never an empty batch.

    Args:
        n: number of rows (int >= 1).
        batch_size: int >= 1 (it may exceed ``n``: then one batch of all rows).
        rng: ``np.random.Generator``, the only source of randomness.

    Returns:
        A list of 1-D integer arrays (``ceil(n / batch_size)`` of them) whose
        concatenation is a permutation of ``range(n)``; every batch has
        ``batch_size`` entries except possibly the last.

    Graded: the partition (every index exactly once, sizes, the short last
    batch, integer dtype); equal seeds give equal batches whatever the global
    random state, different seeds give different batches; and what SGD relies
    on, with your ``gaussian_mean_nll_grad``: over many epochs (each from its
    own seed), the gradient on a batch (the first and the last of each epoch
    are judged) is an unbiased estimate of the full-data gradient, and its
    variance is that of the mean of B rows drawn without replacement,
    s^2 / B * (n - B) / (n - 1) (s^2 the variance of the rows): it falls as
    1/B. That holds only when every batch is a uniformly random subset of the
    rows; the data of that check is ordered so that contiguous runs of rows
    (no shuffle, rotating ``range(n)``, shuffling whole fixed chunks) are far
    off. It is judged statistically: a correct submission fails with
    probability below 1e-7.

    Hint: ``rng.permutation(n)``, then slices ``[i:i + batch_size]``.
    """
    raise NotImplementedError


def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
    """Minibatch stochastic gradient descent with a constant learning rate.

    For each of ``n_epochs`` epochs, draw that epoch's minibatches from ``rng``
    (a fresh permutation every epoch, as ``minibatches`` does) and for each
    batch ``idx``, in order:

        theta <- theta - lr * grad_fn(theta, data[idx])

    ``grad_fn(theta, batch)`` returns the gradient of the *mean* loss over the
    rows ``batch = data[idx]`` (an array of the same shape as theta). Pass the
    rows themselves, not the indices.

    Args:
        grad_fn: function ``(theta, batch) -> gradient`` shaped like theta.
        theta0: initial parameters, an ndarray of any shape. Do not modify it
            (``theta = theta0`` followed by ``theta -= ...`` would): copy first.
        data: ``(n, ...)`` array; its rows are the examples.
        lr: learning rate, used exactly as given (no scaling by the batch size).
        batch_size, n_epochs: ints >= 1.
        rng: ``np.random.Generator``.

    Returns:
        The final theta, an ndarray shaped like ``theta0``.

    Graded: with ``batch_size = n`` and one epoch the result is exactly one
    gradient step ``theta0 - lr * grad_fn(theta0, data)``; every call of
    ``grad_fn`` is replayed to check the update rule, that each epoch's batches
    partition the rows (short last batch included) and are reshuffled every
    epoch; theta0 is unchanged; the result depends on ``rng`` only.
    """
    raise NotImplementedError


def gaussian_mean_nll_grad(mu, batch):
    """Gradient of the mean negative log-likelihood of N(mu, I) over a batch.

    With unit covariance, -log N(x; mu, I) = 1/2 |x - mu|^2 + D/2 log(2 pi), so

        d/dmu [ 1/B sum_i -log N(x_i; mu, I) ] = mu - (1/B) sum_i x_i

    Args:
        mu: ``(D,)``.
        batch: ``(B, D)`` rows x_i (B >= 1).

    Returns:
        ``(D,)`` gradient. Mind the sign (this is the gradient of the loss, to be
        *subtracted* by SGD) and the mean (not the sum) over the batch.

    Graded: values; and, on the batches of your ``minibatches``, that the
    minibatch gradient is an unbiased estimate of the full-data gradient with
    variance falling as 1/B (see ``minibatches``).
    """
    raise NotImplementedError


def fit_gaussian_mean_sgd(X, lr, batch_size, n_epochs, rng):
    """Fit the mean of N(mu, I) to the rows of X by SGD.

    Call your ``sgd`` with ``gaussian_mean_nll_grad``, starting at
    ``mu = zeros(D)``, on the rows of X, with the given ``lr``, ``batch_size``,
    ``n_epochs`` and ``rng``.

    Args:
        X: ``(N, D)`` data.
        lr, batch_size, n_epochs, rng: passed on to ``sgd``.

    Returns:
        ``(D,)`` the fitted mean. It converges to the sample mean of X: the
        graded tolerance follows from lr and the number of steps (the distance
        to the sample mean, |mean(X)| at the start mu = 0, shrinks by a factor
        (1 - lr) per step; minibatch noise adds at most about lr times the
        batches per epoch times the spread of batch means).
        With ``batch_size = N`` and one epoch it is exactly ``lr * mean(X)``.
    """
    raise NotImplementedError
