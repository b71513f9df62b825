"""A plausible HW2 submission with typical bugs (for `make demo`): KL clipped with an
epsilon (a large finite number where it must be inf), and H(X|Y) over the wrong marginal."""
import numpy as np

EPS = 1e-12


def mean_and_covariance(values, probs):
    m = np.sum(probs[:, None] * values, axis=0)
    d = values - m
    return m, np.einsum("k,ki,kj->ij", probs, d, d)


def entropy(p):
    p = np.asarray(p, dtype=float)
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log(safe), axis=-1)


def kl_divergence(p, q):
    # bug: the epsilon turns KL = inf (p > 0 = q) into a large finite number
    return np.sum(p * np.log((p + EPS) / (q + EPS)), axis=-1)


def conditional_entropy(pxy):
    # bug: H(X, Y) - H(X), i.e. H(Y | X): the marginal over the wrong axis
    return float(entropy(pxy.ravel()) - entropy(pxy.sum(axis=1)))


def mutual_information(pxy):
    px = pxy.sum(axis=1)
    py = pxy.sum(axis=0)
    return float(max(entropy(px) + entropy(py) - entropy(pxy.ravel()), 0.0))


def gaussian_entropy(Sigma):
    sign, logdet = np.linalg.slogdet(Sigma)
    return float(0.5 * len(Sigma) * np.log(2 * np.pi * np.e) + 0.5 * logdet)


def gaussian_kl(mu0, Sigma0, mu1, Sigma1):
    diff = mu1 - mu0
    trace = np.trace(np.linalg.solve(Sigma1, Sigma0))
    maha = diff @ np.linalg.solve(Sigma1, diff)
    logdet1 = np.linalg.slogdet(Sigma1)[1]
    logdet0 = np.linalg.slogdet(Sigma0)[1]
    return float(0.5 * (trace + maha - len(mu0) + logdet1 - logdet0))
