"""Reference solutions for HW3: Gaussian log-likelihood, its gradients, and maximum likelihood.

Never shipped to students and never importable by student code while grading.
"""
import numpy as np


def _as_data(X, mu):
    X = np.asarray(X, dtype=float)
    mu = np.asarray(mu, dtype=float)
    return X, mu, X - mu                                    # (N, D), (D,), (N, D)


def gaussian_loglik(X, mu, Sigma):
    """l(mu, Sigma) = sum_i log N(x_i; mu, Sigma), through a Cholesky factor."""
    X, mu, diff = _as_data(X, mu)
    N, D = X.shape
    L = np.linalg.cholesky(np.asarray(Sigma, dtype=float))
    z = np.linalg.solve(L, diff.T)                          # (D, N)
    logdet = 2.0 * np.sum(np.log(np.diag(L)))
    return float(-0.5 * (N * D * np.log(2.0 * np.pi) + N * logdet + np.sum(z * z)))


def grad_loglik_mu(X, mu, Sigma):
    """dl/dmu = Sigma^{-1} sum_i (x_i - mu), shape (D,)."""
    _, _, diff = _as_data(X, mu)
    return np.linalg.solve(np.asarray(Sigma, dtype=float), diff.sum(axis=0))


def grad_loglik_precision(X, mu, S):
    """dl/dS = N/2 S^{-1} - 1/2 sum_i (x_i - mu)(x_i - mu)^T, shape (D, D)."""
    X, _, diff = _as_data(X, mu)
    N = X.shape[0]
    return 0.5 * N * np.linalg.inv(np.asarray(S, dtype=float)) - 0.5 * diff.T @ diff


def gaussian_mle(X):
    """(mu_hat, Sigma_hat): the sample mean and the 1/N sample covariance."""
    X = np.asarray(X, dtype=float)
    mu = X.mean(axis=0)
    diff = X - mu
    return mu, diff.T @ diff / X.shape[0]


def categorical_mle(x, K):
    """pi_hat_k = (number of i with x_i = k) / N, for every k in range(K) (0 if absent)."""
    x = np.asarray(x).astype(int).reshape(-1)
    return np.bincount(x, minlength=K)[:K] / x.size
