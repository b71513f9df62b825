"""A plausible HW5 submission with typical bugs (for `make demo`): numpy integers that wrap
past 2^63, true division, a Bayes net without a cycle check and a naive log Z."""
import numpy as np


def n_params_joint(cards):
    """np.prod wraps around past 2^63 - 1."""
    return int(np.prod(cards)) - 1


def n_params_independent(cards):
    return sum(c - 1 for c in cards)


def n_params_chain_rule(cards):
    total, before = 0, 1
    for c in cards:
        total += (c - 1) * before
        before *= c
    return total


def n_params_markov_chain(cards):
    return cards[0] - 1 + sum((c - 1) * b for b, c in zip(cards, cards[1:]))


def n_params_bayes_net(cards, parents):
    """No cycle check, and -1 silently means the last variable."""
    total = 0
    for i, ps in enumerate(parents):
        rows = 1
        for p in ps:
            rows *= cards[p]
        total += (cards[i] - 1) * rows
    return total


def n_params_fvsbn(n):
    """True division returns a float."""
    return n * (n + 1) / 2


def log_partition(energy, n):
    """exp overflows or underflows for large energies."""
    states = (np.arange(2 ** n)[:, None] >> np.arange(n)) & 1
    return float(np.log(np.sum(np.exp(-energy(states.astype(float))))))
