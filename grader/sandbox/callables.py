"""Functions that checks hand to student code, built inside the worker.

Some exercises take a function as an argument (``sgd``'s ``grad_fn``,
``log_partition``'s ``energy``). A function cannot cross the boundary as plain
data, so a check names one of the factories below with plain parameters
(``{"$fn": name, "kw": {...}}``) and the worker builds it here. Nothing here is
secret: these are known inputs, like the arrays of a case.
"""
import numpy as np

FACTORIES = {}


def factory(name):
    """Register a factory under ``name``."""
    def register(func):
        FACTORIES[name] = func
        return func
    return register


def make(name, kw):
    """Build the function named ``name`` with keyword parameters ``kw``."""
    if name not in FACTORIES:
        raise KeyError(f"unknown helper function {name!r}")
    return FACTORIES[name](**kw)


@factory("quadratic_energy")
def quadratic_energy(W, b):
    """E(x) = -x^T W x / 2 - b^T x for rows x in {0,1}^n (an Ising/Boltzmann energy)."""
    W = np.asarray(W, dtype=float)
    b = np.asarray(b, dtype=float)

    def energy(X):
        X = np.asarray(X, dtype=float)
        return -0.5 * np.einsum("mi,ij,mj->m", X, W, X) - X @ b

    return energy


@factory("scale_parameters")
def scale_parameters(factor):
    """For ``module.apply``: multiply the module's own parameters by ``factor`` (in place).

    Scaling keeps every zero (so masks and the autoregressive property) and
    makes a freshly initialized model's logits large: sharper distributions
    for the sampling tests, extreme logits for the log-likelihood tests.
    """
    def scale(module):
        import torch  # only models built with torch reach here
        with torch.no_grad():
            for p in module.parameters(recurse=False):
                p.mul_(factor)
    return scale
