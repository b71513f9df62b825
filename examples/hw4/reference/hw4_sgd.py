"""Reference solutions for HW4: minibatches and stochastic gradient descent.

Never shipped to students and never importable by student code while grading.
Every exercise delegates to private helpers, so that replacing one exercise (a
wrong variant in the project's tests) never changes another.
"""
import numpy as np


def _batches(n, batch_size, rng):
    """One epoch: a permutation of range(n) drawn from rng, cut in order into batches."""
    order = rng.permutation(int(n))
    return [order[i:i + batch_size] for i in range(0, int(n), int(batch_size))]


def _sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
    """Plain SGD on the rows of data; theta0 is copied, never modified."""
    theta = np.array(theta0, dtype=float)                   # a copy
    for _ in range(int(n_epochs)):
        for idx in _batches(len(data), batch_size, rng):    # a fresh permutation each epoch
            theta = theta - lr * np.asarray(grad_fn(theta, data[idx]), dtype=float)
    return theta


def _mean_grad(mu, batch):
    """d/dmu of mean_i 1/2 |x_i - mu|^2 (unit covariance): mu - mean of the batch."""
    return np.asarray(mu, dtype=float) - np.asarray(batch, dtype=float).mean(axis=0)


def minibatches(n, batch_size, rng):
    """List of int arrays: a random permutation of range(n) cut into batches (last may be short)."""
    return _batches(n, batch_size, rng)


def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
    """Final theta after n_epochs epochs of theta <- theta - lr * grad_fn(theta, data[batch])."""
    return _sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng)


def gaussian_mean_nll_grad(mu, batch):
    """(D,) gradient of the mean negative log-likelihood of N(mu, I) over the rows of batch."""
    return _mean_grad(mu, batch)


def fit_gaussian_mean_sgd(X, lr, batch_size, n_epochs, rng):
    """(D,) mean of N(mu, I) fitted by SGD from mu = 0."""
    X = np.asarray(X, dtype=float)
    return _sgd(_mean_grad, np.zeros(X.shape[1]), X, lr, batch_size, n_epochs, rng)
