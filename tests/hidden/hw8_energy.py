"""Hidden checks of HW8: fresh random Boltzmann machines per seed, judged by exact computation.

Never shipped to students. Everything exact is computed here, on the trusted side, by
enumerating the 2^n states (n <= 16): energies from the definition (the sum over pairs
i < j), log p by np.logaddexp, the gradient by torch autograd of the exact mean
log-likelihood (``needs_torch``: the student's worker never needs torch), and the exact
transition matrix of one sequential sweep, from which follow the exact law of a sweep
from any state and the exact expectation of CD-k.

Statistical budget: every statistical test spends ALPHA = 1e-8 (exact Hoeffding tail
bounds, ``grader/compare/statistics.py``); this file runs at most 10 of them, so a correct
submission fails by chance with probability below 1e-7 per graded run.
"""
import numpy as np

from grader.cases.boltzmann import (all_states, binary_rows, frozen_model, random_model,
                                    state_index, symmetric_zero_diagonal)
from grader.checks import programs
from grader.checks.registry import Case, CheckSet, reproducibility_program
from grader.compare import statistics
from grader.compare.numeric import PASS, Verdict
from tests.public.hw8_energy import (binary_states, close_energy, close_loglik,
                                     coupling_structure, frozen_sweep, gradient_pair,
                                     reproducible_cd, reproducible_sweep, unpack_gradient)

checks = CheckSet("hw8", public=False)

ALPHA = 1e-8

# --- exact computation by enumeration (trusted side) ---------------------------------------------


def energy_by_definition(X, W, b):
    """E(x) = -sum_i b_i x_i - sum_{i<j} W_ij x_i x_j, the pair sum written out."""
    X = np.asarray(X, dtype=float)
    i, j = np.triu_indices(X.shape[1], 1)                    # every pair i < j once
    return -X @ np.asarray(b, dtype=float) - (X[:, i] * X[:, j]) @ np.asarray(W)[i, j]


def exact_log_probs(W, b):
    """(2^n,) log p(s) of every state of ``all_states(n)``."""
    neg = -energy_by_definition(all_states(len(b)), W, b)
    return neg - np.logaddexp.reduce(neg)


def _sigmoid(h):
    return 0.5 * (1.0 + np.tanh(0.5 * h))


def sweep_transition(W, b, order=None):
    """(2^n, 2^n) T[s, t] = P(one sweep from state s ends in state t), sites in ``order``.

    Updating site i uses the new values of the sites updated before it and the old values
    of the others, so T[s, t] = prod_i P(x_i = t_i | those values).
    """
    n = len(b)
    order = range(n) if order is None else order
    S = all_states(n)
    T = np.ones((len(S), len(S)))
    updated = np.zeros(n, dtype=bool)
    for i in order:
        current = np.where(updated, S[None, :, :], S[:, None, :])     # (from s, to t, n)
        p_one = _sigmoid(b[i] + current @ W[i])
        T *= np.where(S[None, :, i] == 1, p_one, 1.0 - p_one)
        updated[i] = True
    return T


def synchronous_transition(W, b):
    """T of the wrong sampler that updates all sites at once from the old state."""
    S = all_states(len(b))
    p_one = _sigmoid(b + S @ W)                                           # (from s, n)
    return np.prod(np.where(S[None, :, :] == 1, p_one[:, None, :], 1.0 - p_one[:, None, :]),
                   axis=2)


def pair_statistics(q, n):
    """(E[x x^T] with zero diagonal, E[x]) under the law ``q`` over ``all_states(n)``."""
    S = all_states(n)
    second = S.T @ (q[:, None] * S)
    np.fill_diagonal(second, 0.0)
    return second, q @ S


def data_law(X):
    """The empirical law of the rows of X over ``all_states``."""
    X = np.asarray(X, dtype=float)
    return np.bincount(state_index(X), minlength=1 << X.shape[1]) / len(X)


def cd_expectation(X, W, b, k, start=None):
    """Exact E[cd_grad(X, W, b, k)]: data statistics minus those of the law after k sweeps
    from the data rows (or from ``start``, a law over states: the wrong restarted chain)."""
    n = len(b)
    q_data = data_law(X)
    q_start = q_data if start is None else start
    q_k = q_start @ np.linalg.matrix_power(sweep_transition(W, b), int(k))
    (dW, db), (mW, mb) = pair_statistics(q_data, n), pair_statistics(q_k, n)
    return dW - mW, db - mb


def exact_gradient(X, W, b):
    """Data minus model statistics, with the model law by enumeration (numpy)."""
    n = len(b)
    (dW, db) = pair_statistics(data_law(X), n)
    (mW, mb) = pair_statistics(np.exp(exact_log_probs(W, b)), n)
    return dW - mW, db - mb


def flat_pair(pair):
    """(dW, db) as one vector: the couplings i < j, then the biases."""
    dW, db = (np.asarray(p, dtype=float) for p in pair)
    return np.concatenate([dW[np.triu_indices(len(db), 1)], db])


def pair_names(n):
    return [f"dW[{i}, {j}]" for i, j in zip(*np.triu_indices(n, 1))] + \
        [f"db[{i}]" for i in range(n)]


# --- expected-value hooks ----------------------------------------------------------------------

def by_definition(reference, check, case):
    return energy_by_definition(*case.args)


def by_enumeration(reference, check, case):
    X, W, b = case.args
    return float(np.mean(-energy_by_definition(X, W, b)) - np.logaddexp.reduce(
        -energy_by_definition(all_states(len(b)), W, b)))


def autograd_gradient(reference, check, case):
    """d/dW_ij (i < j, mirrored) and d/db of the exact mean log-likelihood, by torch autograd.

    The parameters are the n(n-1)/2 couplings of the strict upper triangle and b; the
    energy is -b.x - sum_{i<j} W_ij x_i x_j and log Z is torch.logsumexp over all states.
    """
    import torch  # trusted side only, and only for these checks
    X, W, b = case.args
    n = len(b)
    iu = np.triu_indices(n, 1)
    upper = torch.tensor(np.asarray(W)[iu], dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(np.asarray(b), dtype=torch.float64, requires_grad=True)
    rows_i, rows_j = torch.tensor(iu[0]), torch.tensor(iu[1])

    def neg_energy(states):
        states = torch.tensor(np.asarray(states, dtype=float), dtype=torch.float64)
        return states @ bias + (states[:, rows_i] * states[:, rows_j]) @ upper

    loglik = neg_energy(X).mean() - torch.logsumexp(neg_energy(all_states(n)), dim=0)
    d_upper, d_bias = torch.autograd.grad(loglik, (upper, bias))
    dW = np.zeros((n, n))
    dW[iu] = d_upper.numpy()
    return dW + dW.T, d_bias.numpy()


# --- bm_energy ------------------------------------------------------------------------------------

@checks.add("bm_energy", "random models against the definition", points=2, judge=close_energy,
            expected=by_definition)
def _(rng):
    yield Case("n=1 M=1", args=(np.array([[1.0]]), np.zeros((1, 1)), rng.standard_normal(1)))
    for n in (2, int(rng.integers(3, 7)), int(rng.integers(8, 17))):
        W, b = random_model(rng, n, scale=float(rng.uniform(0.5, 3.0)))
        m = int(rng.integers(1, 9))
        yield Case(f"n={n} M={m}", args=(binary_rows(rng, m, n), W, b))
    W, b = random_model(rng, 6, scale=1e3)
    yield Case("n=6 weights of size 1e3", args=(binary_rows(rng, 5, 6), W, b))


# --- bm_log_likelihood ----------------------------------------------------------------------------

@checks.add("bm_log_likelihood", "random models against enumeration", points=2,
            judge=close_loglik, expected=by_enumeration)
def _(rng):
    W, b = np.zeros((1, 1)), rng.standard_normal(1)
    yield Case("n=1", args=(np.array([[1.0], [0.0], [1.0]]), W, b))
    for n in (int(rng.integers(2, 6)), int(rng.integers(6, 11)), 14):
        W, b = random_model(rng, n, scale=float(rng.uniform(0.3, 2.0)))
        m = int(rng.integers(1, 12))
        yield Case(f"n={n} M={m}", args=(binary_rows(rng, m, n), W, b))


@checks.add("bm_log_likelihood", "energies of magnitude 1e3 and more, either sign", points=2,
            judge=close_loglik, expected=by_enumeration)
def _(rng):
    n = int(rng.integers(4, 9))
    W, b = random_model(rng, n, scale=1e3)
    yield Case(f"n={n} weights of size 1e3", args=(binary_rows(rng, 6, n), W, b),
               about="energies near -1e4: exp(-E) overflows to inf")
    W = -np.abs(symmetric_zero_diagonal(rng.uniform(0, 500, (n, n))))
    b = -rng.uniform(1e3, 3e3, n)
    X = np.ones((3, n))
    X[1, : n // 2] = 0.0
    yield Case(f"n={n} data at energies near +1e4", args=(X, W, b),
               about="exp(-E(x)) underflows to 0: log p(x) = -E(x) - log Z, never log of p(x)")
    W, b = random_model(rng, 10, scale=300.0, bias_scale=2e3)
    yield Case("n=10 both signs", args=(binary_rows(rng, 8, 10), W, b))


# --- bm_grad --------------------------------------------------------------------------------------

@checks.add("bm_grad", "matches autograd at random models", points=3, judge=gradient_pair(),
            expected=autograd_gradient, needs_torch=True)
def _(rng):
    yield Case("n=1", args=(np.array([[1.0], [1.0], [0.0]]), np.zeros((1, 1)),
                            rng.standard_normal(1)), about="dW is the (1, 1) zero")
    for n in (2, int(rng.integers(3, 7)), int(rng.integers(7, 11))):
        W, b = random_model(rng, n, scale=float(rng.uniform(0.3, 2.0)))
        m = int(rng.integers(1, 15))
        yield Case(f"n={n} M={m}", args=(binary_rows(rng, m, n), W, b),
                   about="pairs i < j counted once, mirrored")


@checks.add("bm_grad", "energies of magnitude 1e3", points=2, judge=gradient_pair(),
            expected=autograd_gradient, needs_torch=True)
def _(rng):
    for n in (int(rng.integers(3, 6)), int(rng.integers(6, 10))):
        W, b = random_model(rng, n, scale=1e3)
        yield Case(f"n={n} weights of size 1e3", args=(binary_rows(rng, 5, n), W, b),
                   about="p(y) = exp(-E(y) - log Z); exp(-E(y)) / Z overflows")
    W, b = random_model(rng, 5, scale=30.0)
    yield Case("n=5 weights of size 30", args=(binary_rows(rng, 5, 5), W, b))


# --- gibbs_sweep: exact laws -------------------------------------------------------------------

def seeded_program(check, case):
    """One call with the case's seed as the last argument (the global seed set elsewhere)."""
    return [programs.seed_global(17),
            programs.call(check.exercise, *case.args, programs.rng(case.data["seed"]))]


def law_judge(case, outputs, expected):
    """The states of each group of rows follow their exact law (``case.data["groups"]``:
    ``(first row, end row, probabilities over all_states)``)."""
    got, verdict = binary_states(outputs[0], np.shape(case.args[0]))
    if got is None:
        return verdict
    index = state_index(got)
    for start, end, probs, label in case.data["groups"]:
        verdict = statistics.category_frequencies(index[start:end], probs, ALPHA,
                                                  name=f"state index of {label}")
        if not verdict.passed:
            return Verdict.fail(f"{label}: {verdict.message} (states indexed by "
                                "s = sum_i x_i 2^i)")
    return PASS


def _order_matters(rng, n, margin):
    """A model and two start states from which one sweep's exact law differs by at least
    ``margin`` in some state's probability from updating all sites at once, and from updating
    them in reverse order: cases in which the order of the updates shows."""
    for _ in range(1000):
        W, b = random_model(rng, n, scale=2.0)
        T = sweep_transition(W, b)
        gap = np.minimum(np.abs(T - synchronous_transition(W, b)).max(axis=1),
                         np.abs(T - sweep_transition(W, b, order=range(n)[::-1])).max(axis=1))
        starts = np.flatnonzero(gap >= margin)
        if len(starts) >= 2:
            return W, b, T, [int(s) for s in rng.choice(starts, size=2, replace=False)]
    raise RuntimeError("no model in which the order of the updates shows")


@checks.add("gibbs_sweep", "one sweep from a fixed state follows the exact sequential law",
            points=3, judge=law_judge, expected=None, steps=seeded_program)
def _(rng):
    per_start = 5000
    for n in (3, 4):
        W, b, T, starts = _order_matters(rng, n, margin=0.15)
        S = all_states(n)
        X = np.repeat(S[starts], per_start, axis=0)
        groups = [(g * per_start, (g + 1) * per_start, T[s], f"the {per_start} chains started "
                   f"at {S[s].astype(int).tolist()}") for g, s in enumerate(starts)]
        yield Case(f"n={n} two start states", args=(X, W, b),
                   data={"seed": int(rng.integers(1 << 31)), "groups": groups},
                   about="sites 0..n-1 in order, each seeing the new values of those before")


def _not_stationary_when_synchronous(rng, n, margin):
    """A model whose law p moves by at least ``margin`` (in some state's probability) under one
    synchronous update: a check from p that the wrong sampler cannot pass."""
    for _ in range(2000):
        W, b = random_model(rng, n, scale=float(rng.uniform(1.0, 5.0)))
        b = -0.5 * W.sum(axis=1) + float(rng.uniform(0.0, 2.0)) * rng.standard_normal(n)
        p = np.exp(exact_log_probs(W, b))
        if np.abs(p @ synchronous_transition(W, b) - p).max() >= margin:
            return W, b, p
    raise RuntimeError("no model that a synchronous update moves")


@checks.add("gibbs_sweep", "started from p, one sweep leaves p unchanged", points=2,
            judge=law_judge, expected=None, steps=seeded_program)
def _(rng):
    m = 10000
    for label in ("a", "b"):
        W, b, p = _not_stationary_when_synchronous(rng, 3, margin=0.08)
        X = all_states(3)[rng.choice(len(p), size=m, p=p)]
        yield Case(f"n=3 model {label}: {m} chains drawn from p", args=(X, W, b),
                   data={"seed": int(rng.integers(1 << 31)),
                         "groups": [(0, m, p, f"all {m} chains")]},
                   about="the rows start as exact samples of p (by enumeration)")


def frozen_map(T):
    """For a frozen model's 0/1 transition matrix: the state each state goes to."""
    return np.argmax(T, axis=1)


def _frozen_rows_where_order_shows(rng, n, m):
    """A frozen model and ``m`` rows, at least one of which a sequential sweep sends elsewhere
    than a synchronous update or a reverse-order sweep would (n = 1: any)."""
    for _ in range(1000):
        W, b = frozen_model(rng, n)
        X = binary_rows(rng, m, n)
        start = state_index(X)
        ahead = frozen_map(sweep_transition(W, b))[start]
        if n == 1 or (np.any(ahead != frozen_map(synchronous_transition(W, b))[start]) and
                      np.any(ahead != frozen_map(sweep_transition(W, b, range(n)[::-1]))[start])):
            return X, W, b
    raise RuntimeError("no frozen model in which the order of the updates shows")


@checks.add("gibbs_sweep", "random frozen models and shapes", points=1, judge=frozen_sweep)
def _(rng):
    for n, m in ((1, 3), (int(rng.integers(2, 5)), 1), (int(rng.integers(4, 7)), 40)):
        X, W, b = _frozen_rows_where_order_shows(rng, n, m)
        yield Case(f"n={n} M={m}", args=(X, W, b, programs.rng(int(rng.integers(1 << 31)))),
                   about="M = 1 is still (1, n); the order of the updates decides")


@checks.add("gibbs_sweep", "reproducible from rng alone", points=1, judge=reproducible_sweep,
            expected=None, steps=reproducibility_program)
def _(rng):
    n = int(rng.integers(3, 8))
    W, b = random_model(rng, n, scale=0.5)
    yield Case(f"n={n} M=200", args=(binary_rows(rng, 200, n), W, b),
               data={"seed": int(rng.integers(1 << 31))})


# --- cd_grad --------------------------------------------------------------------------------------

def cd_law_judge(case, outputs, expected):
    """dW symmetric with zero diagonal, then every entry within a Hoeffding bound of the exact
    expectation ``expected`` (plus ``case.data["slack"]`` where the target is the exact gradient
    and the exact bias of CD-k is allowed)."""
    arrays = unpack_gradient(case, outputs[0])
    if isinstance(arrays, Verdict):
        return arrays
    verdict = coupling_structure(arrays[0])
    if not verdict.passed:
        return verdict
    n = len(case.args[2])
    return statistics.bounded_means(flat_pair(arrays), flat_pair(expected), len(case.args[0]),
                                    ALPHA, pair_names(n), slack=case.data.get("slack", 0.0))


def _data(rng, n, m, n_patterns):
    """``m`` rows made of a few distinct patterns (data far from the model)."""
    patterns = rng.choice(1 << n, size=n_patterns, replace=False)
    return all_states(n)[rng.choice(patterns, size=m, p=rng.dirichlet(np.ones(n_patterns)))]


def _cd_case(rng, n, m, k, margin):
    """(X, W, b) where the chains start, and how many sweeps they run, both show: the
    exact expectation of CD-k differs by at least ``margin`` in some entry from that of chains
    restarted at uniformly random states and from that of CD-1 (for k > 1)."""
    uniform = np.full(1 << n, 1.0 / (1 << n))
    for _ in range(2000):
        W, b = random_model(rng, n, scale=float(rng.uniform(0.5, 3.0)))
        X = _data(rng, n, m, 5)
        want = flat_pair(cd_expectation(X, W, b, k))
        other = cd_expectation(X, W, b, 1) if k > 1 else cd_expectation(X, W, b, k, uniform)
        if np.abs(want - flat_pair(other)).max() >= margin:
            return X, W, b
    raise RuntimeError("no CD case in which the start of the chains shows")


def cd_exact_expectation(reference, check, case):
    X, W, b, k = case.args
    return cd_expectation(X, W, b, k)


@checks.add("cd_grad", "matches the exact expectation of CD-k (k = 1 and k = 3)", points=3,
            judge=cd_law_judge, expected=cd_exact_expectation, steps=seeded_program)
def _(rng):
    m = 10000
    margin = 5 * statistics.hoeffding_radius(m, 10, ALPHA)
    for k in (1, 3):
        X, W, b = _cd_case(rng, 4, m, k, margin)
        yield Case(f"n=4 M={m} k={k}", args=(X, W, b, k),
                   data={"seed": int(rng.integers(1 << 31))},
                   about="chains start at the data rows and run k sweeps")


def exact_gradient_hook(reference, check, case):
    X, W, b, _ = case.args
    return exact_gradient(X, W, b)


@checks.add("cd_grad", "for large k, close to the exact gradient", points=2,
            judge=cd_law_judge, expected=exact_gradient_hook, steps=seeded_program)
def _(rng):
    n, m, k = 4, 5000, 8
    t = statistics.hoeffding_radius(m, 10, ALPHA)
    for _ in range(2000):
        W, b = random_model(rng, n, scale=float(rng.uniform(0.3, 1.5)))
        X = _data(rng, n, m, 3)
        exact = flat_pair(exact_gradient(X, W, b))
        bias = np.abs(flat_pair(cd_expectation(X, W, b, k)) - exact)
        bias_one = np.abs(flat_pair(cd_expectation(X, W, b, 1)) - exact)
        if bias.max() <= 0.1 * t and bias_one.max() >= 4 * t:
            break
    else:
        raise RuntimeError(f"no case where CD-1 is biased and CD-{k} is not")
    yield Case(f"n=4 M={m} k={k}", args=(X, W, b, k),
               data={"seed": int(rng.integers(1 << 31)), "slack": bias},
               about=f"the exact bias of CD-{k} is allowed on top of the sampling error; "
                     "CD-1's bias is not")


def _frozen_cd_case(rng, n, m):
    """A frozen model whose sweep sends every state to the same state y, and ``m`` data rows
    whose mean differs from y: CD's value is then data statistics minus those of y, whatever
    the start of the chains and k (the statistical checks judge those), and a diagonal left
    in dW shows (x_i^2 = x_i, so the diagonal would be db)."""
    for _ in range(2000):
        W, b = frozen_model(rng, n)
        ends = frozen_map(sweep_transition(W, b))
        X = binary_rows(rng, m, n)
        if len(set(ends.tolist())) == 1 and np.any(X.mean(axis=0) != all_states(n)[ends[0]]):
            return X, W, b
    raise RuntimeError("no frozen model with a single end state")


@checks.add("cd_grad", "random frozen models", points=1, judge=gradient_pair(atol=1e-12))
def _(rng):
    for n, m, k in ((1, 2, 1), (int(rng.integers(2, 5)), 1, 2),
                    (int(rng.integers(3, 6)), 30, int(rng.integers(1, 4)))):
        X, W, b = _frozen_cd_case(rng, n, m)
        yield Case(f"n={n} M={m} k={k}", args=(X, W, b, k,
                                               programs.rng(int(rng.integers(1 << 31)))),
                   about="dW symmetric with a zero diagonal, also for n = 1 and M = 1")


@checks.add("cd_grad", "reproducible from rng alone", points=1, judge=reproducible_cd,
            expected=None, steps=reproducibility_program)
def _(rng):
    n = int(rng.integers(3, 7))
    W, b = random_model(rng, n, scale=0.5)
    yield Case(f"n={n} M=200 k=2", args=(binary_rows(rng, 200, n), W, b, 2),
               data={"seed": int(rng.integers(1 << 31))})

