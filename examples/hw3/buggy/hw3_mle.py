"""A plausible HW3 submission with a typical bug (for `make demo`): the unbiased 1/(N - 1)
covariance, which is not the maximum-likelihood estimate."""
import numpy as np


def gaussian_loglik(X, mu, Sigma):
    n, d = X.shape
    r = X - mu
    maha = np.einsum("ni,ij,nj->", r, np.linalg.inv(Sigma), r)
    return float(-0.5 * (n * d * np.log(2 * np.pi) + n * np.linalg.slogdet(Sigma)[1] + maha))


def grad_loglik_mu(X, mu, Sigma):
    return np.linalg.inv(Sigma) @ np.sum(X - mu, axis=0)


def grad_loglik_precision(X, mu, S):
    r = X - mu
    return 0.5 * len(X) * np.linalg.inv(S) - 0.5 * np.einsum("ni,nj->ij", r, r)


def gaussian_mle(X):
    # bug: np.cov divides by N - 1 by default; the MLE divides by N
    return X.mean(axis=0), np.atleast_2d(np.cov(X, rowvar=False))


def categorical_mle(x, K):
    counts = np.zeros(K)
    for k in x:
        counts[k] += 1
    return counts / len(x)
