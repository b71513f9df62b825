"""HW5 — Structure: counting parameters through (conditional) independence.

A full table over many variables is hopeless: 28 x 28 binary pixels already
need 2^784 - 1 numbers. Independence and conditional independence are what make
models small. Every exercise below is a stub: replace the
``raise NotImplementedError`` with your code. Only the standard library (and
numpy for ``log_partition``) is needed.

Check your work at any time with ``make check HW=hw5`` (public checks, instant
feedback). The graded run adds hidden randomized checks of the same exercises,
including every edge case listed in the docstrings.

Conventions (course spec):
- ``cards[i]`` is the number of values of variable i (an int >= 1), given as a
  list or tuple of ints.
- Every count is an exact Python ``int``. Counts get astronomically large
  (2^10000 - 1 must come out exact), so:
  * no floats anywhere: ``/`` and ``**`` with a float, ``np.prod`` on floats and
    ``math.pow`` lose digits (float64 holds 53 bits) or overflow;
  * no numpy integers: ``np.prod`` of ints wraps around silently past 2^63 - 1,
    and a returned ``np.int64`` is not a Python int;
  * Python ints are exact at any size: ``math.prod``, ``sum``, ``*``, ``//``.
"""
import numpy as np


def n_params_joint(cards):
    """Free parameters of the full joint distribution table.

    A table over all combinations has prod_i cards[i] entries that sum to 1, so
    one of them is determined by the others.

    Returns:
        prod(cards) - 1, an exact Python int.

    Graded: 2^10000 - 1 (ten thousand binary variables); one RGB pixel
    (256^3 - 1) and RGB images of many pixels (3 channels of 256 values each);
    results past 2^53 (float breaks) and 2^63 (int64 breaks).
    """
    raise NotImplementedError


def n_params_independent(cards):
    """Free parameters of the fully factorized model p(x) = prod_i p(x_i).

    Each marginal p(x_i) is a table of cards[i] entries summing to 1.

    Returns:
        sum_i (cards[i] - 1), an exact Python int.
    """
    raise NotImplementedError


def n_params_chain_rule(cards):
    """Free parameters of the chain-rule factorization with full conditional tables.

    p(x) = p(x_0) p(x_1 | x_0) ... p(x_{n-1} | x_0, ..., x_{n-2}). The factor of
    x_i holds one distribution over cards[i] values (cards[i] - 1 free numbers)
    for every combination of the earlier variables (prod_{j<i} cards[j] of them).
    Sum the factors one by one.

    Returns:
        sum_i (cards[i] - 1) * prod_{j<i} cards[j], an exact Python int.

    Graded: that it equals ``n_params_joint`` (the chain rule is exact: it loses
    no generality and saves no parameter), including for 2^10000 - 1. Keep a
    running product: recomputing prod(cards[:i]) for every i is quadratic
    (correct, and within the time limit, but slow for 10000 variables).
    """
    raise NotImplementedError


def n_params_markov_chain(cards):
    """Free parameters of a Markov chain: x_{i+1} is independent of x_{<i} given x_i.

    p(x) = p(x_0) prod_{i>=1} p(x_i | x_{i-1}): the first factor has
    cards[0] - 1 free numbers, the factor of x_i has (cards[i] - 1) for each of
    the cards[i-1] values of its one parent.

    Returns:
        (cards[0] - 1) + sum_{i>=1} (cards[i] - 1) * cards[i-1], an exact int.

    Graded: variables with different numbers of values (mind which card
    multiplies which), a single variable, huge cards.
    """
    raise NotImplementedError


def n_params_bayes_net(cards, parents):
    """Free parameters of a Bayesian network (a DAG with full conditional tables).

    p(x) = prod_i p(x_i | x_parents(i)): the factor of x_i has (cards[i] - 1)
    free numbers for each combination of its parents' values.

    Args:
        cards: number of values of each variable.
        parents: ``parents[i]`` is a sequence (list, tuple or int array, possibly
            empty) of the distinct parents of variable i. The variables need not
            be in topological order: parents may have larger indices.

    Returns:
        sum_i (cards[i] - 1) * prod_{p in parents[i]} cards[p], an exact int.

    Raises:
        ValueError: if a parent index is out of range (negative indices
            included: -1 is not "the last variable" here), or if the graph has
            a directed cycle (a variable that is its own ancestor, a self-loop
            included) anywhere in the graph.

    Graded: random DAGs in random variable order against a brute-force count;
    no edges (= independent), a chain (= Markov chain), all earlier variables
    as parents (= chain rule); ``ValueError`` for cycles of every length and
    for bad indices. A search that recurses or loops forever on a cycle fails
    the check (after the time limit): keep track of the variables being visited.
    """
    raise NotImplementedError


def n_params_fvsbn(n):
    """Parameters of a fully visible sigmoid belief net on n binary variables.

    p(x_i = 1 | x_{<i}) = sigmoid(b_i + sum_{j<i} w_ij x_j): variable i has i
    weights and one bias.

    Returns:
        The total over i = 0 .. n-1, an exact Python int (mind that ``/``
        always gives a float in Python 3).
    """
    raise NotImplementedError


def log_partition(energy, n):
    """Log normalizer of an energy-based model on {0,1}^n.

    log Z = log sum_{x in {0,1}^n} exp(-E(x)), summed over all 2^n binary vectors.

    Args:
        energy: a function mapping an ``(M, n)`` array whose rows are 0/1 vectors
            to the ``(M,)`` array of their energies (call it on a batch: one
            call with all 2^n rows is fastest).
        n: the number of binary variables (small: the sum has 2^n terms).

    Returns:
        log Z, a float.

    Graded: against exact enumeration; energies of magnitude 1e4 of either
    sign, where exp overflows to inf or underflows to 0: use the log-sum-exp
    trick, log sum_x exp(a_x) = m + log sum_x exp(a_x - m) with m = max_x a_x.
    """
    raise NotImplementedError
