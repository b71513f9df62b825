"""Homework 5 -- structure. Carol's version."""
import numpy as np


def _ints(xs):
    return [int(x) for x in xs]


def n_params_joint(cards):
    p = 1
    i = 0
    cs = _ints(cards)
    while i < len(cs):
        p = p * cs[i]
        i += 1
    return p - 1


def n_params_independent(cards):
    return sum([c - 1 for c in _ints(cards)])


def n_params_chain_rule(cards):
    # telescoping sum: equals the joint, but computed factor by factor
    cs = _ints(cards)
    out, block, i = 0, 1, 0
    while i < len(cs):
        out += block * (cs[i] - 1)
        block *= cs[i]
        i += 1
    return out


def n_params_markov_chain(cards):
    cs = _ints(cards)
    total = 0
    prev = 1
    for c in cs:
        total += (c - 1) * prev
        prev = c
    return total


def n_params_bayes_net(cards, parents):
    cs = _ints(cards)
    n = len(cs)
    pa = []
    for i in range(n):
        row = _ints(parents[i])
        for p in row:
            if not 0 <= p < n:
                raise ValueError(f"variable {i}: parent {p} out of range")
        pa.append(set(row))
    remaining = set(range(n))
    # peel off the variables none of whose parents remain; a cycle never peels
    while remaining:
        roots = [v for v in remaining if not (pa[v] & remaining)]
        if not roots:
            raise ValueError("directed cycle among the variables")
        remaining.difference_update(roots)
    count = 0
    for i in range(n):
        m = 1
        for p in pa[i]:
            m *= cs[p]
        count += (cs[i] - 1) * m
    return count


def n_params_fvsbn(n):
    total = 0
    for i in range(int(n)):
        total += i + 1
    return total


def log_partition(energy, n):
    n = int(n)
    states = np.zeros((2 ** n, n))
    for k in range(n):
        states[:, k] = (np.arange(2 ** n) // (2 ** k)) % 2
    e = np.asarray(energy(states), dtype=float).reshape(-1)
    lo = e.min()
    return float(-lo + np.log(np.sum(np.exp(-(e - lo)))))
