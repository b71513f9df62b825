"""A plausible HW4 submission with typical bugs (for `make demo`): the global RNG, an in-place
update of theta0, and the gradient of the summed loss."""
import numpy as np


def minibatches(n, batch_size, rng):
    """Shuffles with the global RNG (not reproducible from rng)."""
    order = np.random.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def sgd(grad_fn, theta0, data, lr, batch_size, n_epochs, rng):
    """Updates theta0 in place."""
    theta = theta0
    for _ in range(n_epochs):
        order = rng.permutation(len(data))
        for i in range(0, len(data), batch_size):
            theta -= lr * grad_fn(theta, data[order[i:i + batch_size]])
    return theta


def gaussian_mean_nll_grad(mu, batch):
    """The gradient of the sum, not of the mean."""
    return len(batch) * mu - np.sum(batch, axis=0)


def fit_gaussian_mean_sgd(X, lr, batch_size, n_epochs, rng):
    """Correct in itself (but it uses the buggy gradient above)."""
    return sgd(gaussian_mean_nll_grad, np.zeros(X.shape[1]), X, lr, batch_size, n_epochs, rng)
