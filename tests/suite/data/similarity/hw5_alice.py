"""HW5: counting parameters. Loops everywhere, nothing clever."""
import itertools

import numpy as np


def n_params_joint(cards):
    total = 1
    for c in cards:
        total *= int(c)
    return total - 1


def n_params_independent(cards):
    count = 0
    for c in cards:
        count += int(c) - 1
    return count


def n_params_chain_rule(cards):
    result = 0
    prefix = 1
    for c in cards:
        c = int(c)
        result += prefix * (c - 1)
        prefix = prefix * c
    return result


def n_params_markov_chain(cards):
    cards = [int(c) for c in cards]
    if not cards:
        return 0
    result = cards[0] - 1
    for prev, cur in zip(cards[:-1], cards[1:]):
        result += prev * (cur - 1)
    return result


def n_params_bayes_net(cards, parents):
    n = len(cards)
    pars = [[int(p) for p in ps] for ps in parents]
    for ps in pars:
        for p in ps:
            if p < 0 or p >= n:
                raise ValueError("parent index out of range")
    # depth-first search with colours, explicit stack (no recursion)
    state = [0] * n
    for start in range(n):
        if state[start]:
            continue
        stack = [(start, iter(pars[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state[nxt] == 1:
                raise ValueError("the graph has a cycle")
            elif state[nxt] == 0:
                state[nxt] = 1
                stack.append((nxt, iter(pars[nxt])))
    total = 0
    for i in range(n):
        k = 1
        for p in pars[i]:
            k *= int(cards[p])
        total += (int(cards[i]) - 1) * k
    return total


def n_params_fvsbn(n):
    return sum(i + 1 for i in range(int(n)))


def log_partition(energy, n):
    n = int(n)
    grid = np.array(list(itertools.product([0, 1], repeat=n)), dtype=float).reshape(-1, n)
    a = -np.asarray(energy(grid), dtype=float).reshape(-1)
    m = a.max()
    return float(m + np.log(np.exp(a - m).sum()))
