"""Reference solutions for HW2: expectations, entropy, KL divergence, mutual information.

Never shipped to students and never importable by student code while grading.
"""
import numpy as np


def mean_and_covariance(values, probs):
    """(mean (D,), cov (D, D)) of the discrete distribution P(values[k]) = probs[k]."""
    values = np.asarray(values, dtype=float)                # (K, D)
    probs = np.asarray(probs, dtype=float)                  # (K,)
    mean = probs @ values                                   # (D,)
    centered = values - mean                                # (K, D)
    cov = (centered * probs[:, None]).T @ centered          # (D, D)
    return mean, 0.5 * (cov + cov.T)


def _xlogy(x, y):
    """x log y with 0 log y = 0 for any y >= 0 (so 0 log 0 = 0)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def _entropy(p):
    return -np.sum(_xlogy(p, p), axis=-1)


def entropy(p):
    """H(p) = -sum_k p_k log p_k over the last axis, in nats; 0 log 0 = 0."""
    return _entropy(p)


def kl_divergence(p, q):
    """KL[p || q] = sum_k p_k log(p_k / q_k) over the last axis; inf where p_k > 0 = q_k."""
    p = np.asarray(p, dtype=float)
    q = np.asarray(q, dtype=float)
    return np.sum(_xlogy(p, p) - _xlogy(p, q), axis=-1)


def conditional_entropy(pxy):
    """H(X | Y) = H(X, Y) - H(Y) for pxy[i, j] = p(X=i, Y=j)."""
    pxy = np.asarray(pxy, dtype=float)
    return float(_entropy(pxy.reshape(-1)) - _entropy(pxy.sum(axis=0)))


def mutual_information(pxy):
    """I(X; Y) = H(X) + H(Y) - H(X, Y), clipped at 0 against rounding."""
    pxy = np.asarray(pxy, dtype=float)
    px, py = pxy.sum(axis=1), pxy.sum(axis=0)
    mi = float(np.sum(_xlogy(pxy, pxy) - _xlogy(pxy, np.outer(px, py))))
    return max(mi, 0.0)


def _logdet(Sigma):
    """log det of an SPD matrix via its Cholesky factor (no under/overflow)."""
    L = np.linalg.cholesky(np.asarray(Sigma, dtype=float))
    return 2.0 * np.sum(np.log(np.diag(L))), L


def gaussian_entropy(Sigma):
    """h(N(mu, Sigma)) = D/2 (1 + log 2 pi) + 1/2 log det Sigma, in nats."""
    D = np.shape(Sigma)[0]
    logdet, _ = _logdet(Sigma)
    return float(0.5 * D * (1.0 + np.log(2.0 * np.pi)) + 0.5 * logdet)


def gaussian_kl(mu0, Sigma0, mu1, Sigma1):
    """KL[N(mu0, Sigma0) || N(mu1, Sigma1)], through Cholesky factors and triangular solves."""
    mu0 = np.asarray(mu0, dtype=float)
    mu1 = np.asarray(mu1, dtype=float)
    D = mu0.shape[0]
    logdet0, L0 = _logdet(Sigma0)
    logdet1, L1 = _logdet(Sigma1)
    M = np.linalg.solve(L1, L0)                              # L1^-1 L0
    trace = np.sum(M * M)                                    # tr(Sigma1^-1 Sigma0)
    z = np.linalg.solve(L1, mu1 - mu0)
    return float(0.5 * (trace + z @ z - D + logdet1 - logdet0))
