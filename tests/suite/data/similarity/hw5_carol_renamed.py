"""HW5 structure homework, submitted by Dan."""
import numpy as np


def n_params_fvsbn(n):
    acc = 0
    for v in range(int(n)):
        acc += v + 1
    return acc


def log_partition(energy, n):
    n = int(n)
    grid = np.zeros((2 ** n, n))
    for bit in range(n):
        grid[:, bit] = (np.arange(2 ** n) // (2 ** bit)) % 2
    energies = np.asarray(energy(grid), dtype=float).reshape(-1)
    smallest = energies.min()
    return float(-smallest + np.log(np.sum(np.exp(-(energies - smallest)))))


def as_int_list(values):
    return [int(v) for v in values]


def n_params_bayes_net(cards, parents):
    sizes = as_int_list(cards)
    count_vars = len(sizes)
    par_sets = []
    for var in range(count_vars):
        plist = as_int_list(parents[var])
        for q in plist:
            if not 0 <= q < count_vars:
                raise ValueError(f"variable {var}: parent {q} out of range")
        par_sets.append(set(plist))
    left = set(range(count_vars))
    # topological check: remove nodes whose parents are all gone already
    while left:
        sources = [u for u in left if not (par_sets[u] & left)]
        if not sources:
            raise ValueError("directed cycle among the variables")
        left.difference_update(sources)
    answer = 0
    for var in range(count_vars):
        mult = 1
        for q in par_sets[var]:
            mult *= sizes[q]
        answer += (sizes[var] - 1) * mult
    return answer


def n_params_markov_chain(cards):
    sizes = as_int_list(cards)
    result = 0
    last = 1
    for s in sizes:
        result += (s - 1) * last
        last = s
    return result


def n_params_joint(cards):
    prod = 1
    k = 0
    sizes = as_int_list(cards)
    while k < len(sizes):
        prod = prod * sizes[k]
        k += 1
    return prod - 1


def n_params_chain_rule(cards):
    # each factor x_k | x_<k has a full table
    sizes = as_int_list(cards)
    res, width, k = 0, 1, 0
    while k < len(sizes):
        res += width * (sizes[k] - 1)
        width *= sizes[k]
        k += 1
    return res


def n_params_independent(cards):
    return sum([s - 1 for s in as_int_list(cards)])
