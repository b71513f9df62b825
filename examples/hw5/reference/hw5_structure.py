"""Reference solutions for HW5: parameter counting through (conditional) independence.

Never shipped to students and never importable by student code while grading.
Counts are exact Python ints: every card is converted with ``int`` first, and no
float or numpy integer ever enters the arithmetic.
"""
import math

import numpy as np


def _cards(cards):
    return [int(c) for c in cards]


def n_params_joint(cards):
    """Free parameters of the full joint table: prod(cards) - 1."""
    return math.prod(_cards(cards)) - 1


def n_params_independent(cards):
    """Fully factorized: sum of (card - 1)."""
    return sum(c - 1 for c in _cards(cards))


def n_params_chain_rule(cards):
    """sum_i (card_i - 1) * prod_{j < i} card_j, factor by factor (it equals the joint count)."""
    total, before = 0, 1
    for c in _cards(cards):
        total += (c - 1) * before
        before *= c
    return total


def n_params_markov_chain(cards):
    """(card_0 - 1) + sum_{i >= 1} (card_i - 1) * card_{i-1}."""
    cards = _cards(cards)
    return sum((c - 1) * (cards[i - 1] if i else 1) for i, c in enumerate(cards))


def _check_dag(n, parents):
    """ValueError for an out-of-range parent index or a directed cycle (iterative, no recursion)."""
    if len(parents) != n:
        raise ValueError(f"parents has {len(parents)} entries for {n} variables")
    lists = []
    for i, ps in enumerate(parents):
        ps = [int(p) for p in ps]
        for p in ps:
            if not 0 <= p < n:
                raise ValueError(f"parent {p} of variable {i} is not in range({n})")
        lists.append(ps)
    children = [[] for _ in range(n)]
    indegree = [len(ps) for ps in lists]
    for i, ps in enumerate(lists):
        for p in ps:
            children[p].append(i)
    ready = [i for i in range(n) if indegree[i] == 0]
    seen = 0
    while ready:                                   # Kahn: peel off variables without parents
        i = ready.pop()
        seen += 1
        for child in children[i]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if seen != n:
        raise ValueError("the parent lists contain a directed cycle")
    return lists


def n_params_bayes_net(cards, parents):
    """sum_i (card_i - 1) * prod of the parents' cards; ValueError for cycles or bad indices."""
    cards = _cards(cards)
    lists = _check_dag(len(cards), parents)
    return sum((cards[i] - 1) * math.prod(cards[p] for p in ps) for i, ps in enumerate(lists))


def n_params_fvsbn(n):
    """Fully visible sigmoid belief net: variable i has i weights and a bias, n(n+1)/2 in all."""
    n = int(n)
    return n * (n + 1) // 2


def log_partition(energy, n):
    """log sum_{x in {0,1}^n} exp(-E(x)), by enumeration and a stable log-sum-exp."""
    n = int(n)
    states = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1       # (2^n, n)
    neg = -np.asarray(energy(states.astype(float)), dtype=float).reshape(-1)
    top = np.max(neg)
    return float(top + np.log(np.sum(np.exp(neg - top))))
