"""Hidden checks of HW2: fresh random cases per seed, every graded edge case of the spec.

Never shipped to students. Most expected values come from the reference solution
on the trusted side; the identity checks need no reference at all: they compare a
submission with closed forms (log K, 0, the eigenvalues of a constructed
covariance) or with itself (KL[p ‖ p] = 0, I(X; Y) = I(Y; X)). Nothing here is
random in the grading sense: no statistical tests, no false failures.
"""
import numpy as np

from grader.cases.gaussians import random_gaussian, random_orthogonal, random_spd
from grader.cases.information import plogp_sum, product_table, random_distribution, random_table
from grader.checks import programs
from grader.checks.judges import close
from grader.checks.registry import Case, CheckSet, from_case_data
from grader.compare.numeric import PASS, Verdict, as_numeric, compare_arrays, fmt
from tests.public.hw2_information import close_gaussian, close_moments, close_nats

checks = CheckSet("hw2", public=False)


def _values(outputs, names):
    """The outputs as float arrays, or a failing Verdict naming the first unreadable one."""
    arrays = []
    for got, name in zip(outputs, names):
        arr, problem = as_numeric(got, name)
        if arr is None:
            return None, Verdict.fail(problem)
        arrays.append(arr)
    return arrays, PASS


# --- mean_and_covariance ----------------------------------------------------------------------

@checks.add("mean_and_covariance", "random distributions with zero probabilities", points=2,
            judge=close_moments)
def _(rng):
    for k, d in ((5, 1), (8, 3), (6, 4)):
        values = 2.0 * rng.standard_normal((k, d)) + rng.standard_normal(d)
        yield Case(f"K={k} D={d}", args=(values, random_distribution(rng, (k,), zeros=2)))
    yield Case("K=1 point mass", args=(rng.standard_normal((1, 3)), np.array([1.0])),
               about="covariance exactly 0")
    values = rng.standard_normal((4, 2))
    yield Case("K=4 D=2 all mass on two rows", args=(values, np.array([0.0, 0.7, 0.0, 0.3])))


# --- entropy ----------------------------------------------------------------------------------

@checks.add("entropy", "random distributions with zero probabilities", points=1,
            judge=close_nats)
def _(rng):
    for k in (2, 5, 10):
        yield Case(f"K={k} with zeros", args=(random_distribution(rng, (k,), zeros=k // 2),),
                   about="0 log 0 = 0, never NaN")
    yield Case("K=6 sparse Dirichlet", args=(random_distribution(rng, (6,), alpha=0.1),))


@checks.add("entropy", "leading batch dimensions", points=2, judge=close_nats)
def _(rng):
    yield Case("(5, 4)", args=(random_distribution(rng, (5, 4), zeros=1),))
    yield Case("(2, 3, 6)", args=(random_distribution(rng, (2, 3, 6), zeros=2),),
               about="result (2, 3): reduce over the last axis only")
    yield Case("(1, 3)", args=(random_distribution(rng, (1, 3)),), about="result (1,), not ()")
    yield Case("(4, 1)", args=(np.ones((4, 1)),), about="K = 1: every entropy is 0")


@checks.add("entropy", "uniform and one-hot distributions (closed forms)", points=1,
            judge=close_nats, expected=from_case_data)
def _(rng):
    k = int(rng.integers(3, 12))
    yield Case(f"uniform K={k}", args=(np.full(k, 1.0 / k),), data={"expected": np.log(k)},
               about="H = log K")
    onehot = np.zeros((3, k))
    onehot[np.arange(3), rng.choice(k, size=3, replace=False)] = 1.0
    yield Case(f"one-hot batch (3, {k})", args=(onehot,), data={"expected": np.zeros(3)},
               about="H = 0")


# --- kl_divergence ----------------------------------------------------------------------------

def _pair_with_zeros(rng, shape):
    """(p, q) with two zeros in each p; q is 0 at the first of them (p = 0 = q), positive at
    the other (p = 0 < q) and wherever p > 0: every KL finite."""
    p = random_distribution(rng, shape, zeros=2)
    q = random_distribution(rng, shape).reshape(-1, shape[-1])
    for row_p, row_q in zip(p.reshape(-1, shape[-1]), q):
        row_q[np.flatnonzero(row_p == 0)[0]] = 0.0
    q = q.reshape(shape)
    return p, q / q.sum(axis=-1, keepdims=True)


@checks.add("kl_divergence", "random pairs with zeros in p and in q", points=1,
            judge=close_nats)
def _(rng):
    for k in (4, 7):
        p, q = _pair_with_zeros(rng, (k,))
        yield Case(f"K={k} zeros in p, one of them 0 in q too", args=(p, q),
                   about="0 log(0 / q) = 0, also for q = 0")
    p, q = random_distribution(rng, (5,)), random_distribution(rng, (5,))
    yield Case("K=5 no zeros", args=(p, q), about="the expectation is under p")


@checks.add("kl_divergence", "inf where p > 0 = q, within a batch", points=2, judge=close_nats)
def _(rng):
    p = random_distribution(rng, (4, 5), zeros=1)
    q = random_distribution(rng, (4, 5))
    rows = rng.choice(4, size=2, replace=False)
    for r in rows:
        q[r, int(np.argmax(p[r]))] = 0.0                    # p > 0 = q in these rows
    q /= q.sum(axis=-1, keepdims=True)
    yield Case("(4, 5) two infinite rows", args=(p, q),
               about="exactly inf in the rows where q = 0 < p, finite elsewhere")
    yield Case("K=3 single infinite", args=(np.array([0.5, 0.5, 0.0]), np.array([1.0, 0.0, 0.0])))


@checks.add("kl_divergence", "leading batch dimensions", points=1, judge=close_nats)
def _(rng):
    p, q = _pair_with_zeros(rng, (2, 3, 6))
    yield Case("(2, 3, 6)", args=(p, q), about="result (2, 3)")
    yield Case("(1, 4)", args=(random_distribution(rng, (1, 4)), random_distribution(rng, (1, 4))),
               about="result (1,), not ()")


def kl_identity_judge(case, outputs, expected):
    """KL[p ‖ p] = 0 in every row (zeros in p included); KL[p ‖ q] > 0 for p != q."""
    (same, diff), verdict = _values(outputs, ("KL[p ‖ p]", "KL[p ‖ q]"))
    if not verdict.passed:
        return verdict
    verdict = compare_arrays(np.zeros(case.args[0].shape[:-1]), same, rtol=0, atol=1e-12,
                             name="KL[p ‖ p]")
    if not verdict.passed:
        return Verdict.fail(verdict.message + " (KL of a distribution with itself is 0)")
    if diff.shape != case.args[0].shape[:-1] or np.any(np.isnan(diff)) or np.any(diff <= 0):
        return Verdict.fail(f"KL[p ‖ q] must be > 0 in every row where p != q; got "
                            f"{np.array2string(diff, precision=4)}")
    return PASS


def kl_identity_program(check, case):
    """KL[p ‖ p], then KL[p ‖ q]: two calls of the student's function, judged against each other."""
    p, q = case.args
    return [programs.call("kl_divergence", p, p), programs.call("kl_divergence", p, q)]


@checks.add("kl_divergence", "KL >= 0 with equality exactly when p = q", points=1,
            judge=kl_identity_judge, expected=None, steps=kl_identity_program)
def _(rng):
    p = random_distribution(rng, (6, 5), zeros=2)
    q = random_distribution(rng, (6, 5))
    yield Case("(6, 5) with zeros in p", args=(p, q), about="no reference needed")


# --- conditional_entropy ----------------------------------------------------------------------

@checks.add("conditional_entropy", "random non-square tables", points=2, judge=close_nats)
def _(rng):
    for nx, ny in ((2, 5), (6, 3), (1, 4), (4, 1)):
        yield Case(f"{nx}x{ny}", args=(random_table(rng, nx, ny),),
                   about="rows index X, columns index Y")


@checks.add("conditional_entropy", "zero cells, rows and columns", points=1, judge=close_nats)
def _(rng):
    yield Case("3x5 zero cells", args=(random_table(rng, 3, 5, zeros=5),))
    yield Case("4x3 zero column", args=(random_table(rng, 4, 3, empty_col=True),),
               about="p(y) = 0: the column contributes 0, not 0/0 = NaN")
    yield Case("3x4 zero row and column", args=(random_table(rng, 3, 4, empty_row=True,
                                                            empty_col=True, zeros=2),))


def _function_of_y(rng, nx, ny):
    """A table where X = f(Y): every column has a single non-zero cell."""
    pxy = np.zeros((nx, ny))
    pxy[rng.integers(nx, size=ny), np.arange(ny)] = random_distribution(rng, (ny,))
    return pxy


@checks.add("conditional_entropy", "independent tables and X a function of Y (closed forms)",
            points=1, judge=close_nats, expected=from_case_data)
def _(rng):
    pxy = product_table(rng, 4, 3)
    yield Case("independent 4x3", args=(pxy,), data={"expected": plogp_sum(pxy.sum(axis=1))},
               about="H(X | Y) = H(X)")
    yield Case("X = f(Y) 3x5", args=(_function_of_y(rng, 3, 5),), data={"expected": 0.0},
               about="H(X | Y) = 0")


# --- mutual_information -----------------------------------------------------------------------

@checks.add("mutual_information", "random non-square tables", points=2, judge=close_nats)
def _(rng):
    for nx, ny in ((2, 5), (6, 3), (3, 4)):
        yield Case(f"{nx}x{ny}", args=(random_table(rng, nx, ny),))


@checks.add("mutual_information", "zero cells, rows and columns", points=1, judge=close_nats)
def _(rng):
    yield Case("3x5 zero cells", args=(random_table(rng, 3, 5, zeros=5),))
    yield Case("4x3 zero row and column", args=(random_table(rng, 4, 3, empty_row=True,
                                                            empty_col=True),),
               about="zero marginals: those cells contribute 0, not NaN")


def mi_identity_judge(case, outputs, expected):
    """I = H(X) − H(X|Y) (trusted-side plain formulas), I ≥ 0 and I(X; Y) = I(Y; X)."""
    pxy = case.args[0]
    (mi, mi_t), verdict = _values(outputs, ("I(X; Y)", "I(Y; X)"))
    if not verdict.passed:
        return verdict
    h_x = plogp_sum(pxy.sum(axis=1))
    h_x_given_y = plogp_sum(pxy) - plogp_sum(pxy.sum(axis=0))
    verdict = compare_arrays(h_x - h_x_given_y, mi, rtol=1e-6, atol=1e-9, name="I(X; Y)")
    if not verdict.passed:
        return Verdict.fail(f"{verdict.message} (identity I(X; Y) = H(X) − H(X | Y) with "
                            f"H(X) = {fmt(h_x)}, H(X | Y) = {fmt(h_x_given_y)})")
    if mi < -1e-12:
        return Verdict.fail(f"I(X; Y) = {fmt(float(mi))} < 0: mutual information is never negative")
    verdict = compare_arrays(mi, mi_t, rtol=1e-6, atol=1e-9, name="I(Y; X)")
    if not verdict.passed:
        return Verdict.fail(verdict.message + " (the transposed table must give the same I)")
    return PASS


def mi_identity_program(check, case):
    """I of the table, then of its transpose (the roles of X and Y swapped)."""
    pxy = case.args[0]
    return [programs.call("mutual_information", pxy),
            programs.call("mutual_information", pxy.T.copy())]


@checks.add("mutual_information", "I = H(X) - H(X|Y) >= 0 and I(X; Y) = I(Y; X)", points=1,
            judge=mi_identity_judge, expected=None, steps=mi_identity_program)
def _(rng):
    yield Case("5x2", args=(random_table(rng, 5, 2, zeros=2),), about="no reference needed")
    yield Case("3x6", args=(random_table(rng, 3, 6),))


@checks.add("mutual_information", "I = 0 for independent tables", points=1, judge=close_nats,
            expected=from_case_data)
def _(rng):
    for nx, ny in ((3, 5), (4, 2)):
        yield Case(f"independent {nx}x{ny}", args=(product_table(rng, nx, ny),),
                   data={"expected": 0.0}, about="p(x, y) = p(x) p(y)")


# --- Gaussians --------------------------------------------------------------------------------

def _spd(q, lam):
    """Q diag(lam) Q^T, symmetrized against rounding."""
    s = (q * lam) @ q.T
    return 0.5 * (s + s.T)


def ill_conditioned_pair(rng, d, cond=1e8):
    """Two Gaussians sharing eigenvectors, Sigma1 of condition number ``cond``, and their KL.

    Sigma1 = Q diag(lam) Q^T, Sigma0 = Q diag(lam e^delta) Q^T and
    mu1 - mu0 = Q diag(sqrt(lam)) z, so that in closed form
    KL[N0 ‖ N1] = 1/2 [sum(e^delta - 1 - delta) + |z|^2].
    """
    q = random_orthogonal(rng, d)
    lam = np.logspace(0.0, -np.log10(cond), d)
    delta = 0.5 * rng.standard_normal(d)
    z = 0.5 * rng.standard_normal(d)
    sigma1 = _spd(q, lam)
    sigma0 = _spd(q, lam * np.exp(delta))
    mu1 = rng.standard_normal(d)
    mu0 = mu1 - q @ (np.sqrt(lam) * z)
    kl = 0.5 * (np.sum(np.expm1(delta) - delta) + z @ z)
    return (mu0, sigma0, mu1, sigma1), kl


def ill_conditioned_atol(case):
    """Slack for matrices of condition number 1e8: rounding the entries moves KL by ~1e-8 D."""
    return 1e-6 * (1 + np.shape(case.args[0])[0])


close_ill_conditioned = close(rtol=1e-6, atol=ill_conditioned_atol)


@checks.add("gaussian_entropy", "random covariances and D = 1", points=1, judge=close_gaussian)
def _(rng):
    for d in (1, 2, 5):
        yield Case(f"D={d}", args=(random_spd(rng, d, scale=float(rng.uniform(0.1, 3.0))),))


@checks.add("gaussian_entropy", "ill-conditioned covariances (closed form)", points=1,
            judge=close_ill_conditioned, expected=from_case_data)
def _(rng):
    for d in (2, 6):
        lam = np.logspace(0.0, -8.0, d)
        h = 0.5 * d * (1 + np.log(2 * np.pi)) + 0.5 * np.sum(np.log(lam))
        yield Case(f"D={d} cond=1e8", args=(_spd(random_orthogonal(rng, d), lam),),
                   data={"expected": h},
                   about="h from the eigenvalues; no epsilon added to Sigma")


@checks.add("gaussian_entropy", "high dimension: det under- or overflows", points=1,
            judge=close_gaussian)
def _(rng):
    yield Case("D=300 small variances", args=(random_spd(rng, 300, scale=1e-3),),
               about="det(Sigma) underflows to 0")
    yield Case("D=150 large variances", args=(random_spd(rng, 150, scale=1e3),),
               about="det(Sigma) overflows to inf")


@checks.add("gaussian_kl", "random pairs and D = 1", points=2, judge=close_gaussian)
def _(rng):
    for d in (1, 3, 5):
        mu0, s0 = random_gaussian(rng, d)
        mu1, s1 = random_gaussian(rng, d, scale=float(rng.uniform(0.3, 3.0)))
        yield Case(f"D={d}", args=(mu0, s0, mu1, s1), about="only Sigma1 is inverted")


@checks.add("gaussian_kl", "ill-conditioned covariances (closed form)", points=2,
            judge=close_ill_conditioned, expected=from_case_data)
def _(rng):
    for d in (2, 5):
        args, kl = ill_conditioned_pair(rng, d)
        yield Case(f"D={d} cond=1e8", args=args, data={"expected": kl},
                   about="both covariances used exactly as given: no epsilon added")


@checks.add("gaussian_kl", "high dimension: det under- or overflows", points=1,
            judge=close_gaussian)
def _(rng):
    d = 200
    mu0, s0 = random_gaussian(rng, d, scale=1e-3)
    mu1 = mu0 + 0.01 * rng.standard_normal(d)
    yield Case("D=200 small variances", args=(mu0, s0, mu1, random_spd(rng, d, scale=2e-3)),
               about="det underflows to 0 for both covariances")


def gaussian_kl_identity_judge(case, outputs, expected):
    """KL[N0 ‖ N0] = 0 and both KL[N0 ‖ N1], KL[N1 ‖ N0] > 0 for different Gaussians."""
    (same, forward, backward), verdict = _values(
        outputs, ("KL[N0 ‖ N0]", "KL[N0 ‖ N1]", "KL[N1 ‖ N0]"))
    if not verdict.passed:
        return verdict
    d = np.shape(case.args[0])[0]
    verdict = compare_arrays(0.0, same, rtol=0, atol=1e-9 * (1 + d), name="KL[N0 ‖ N0]")
    if not verdict.passed:
        return Verdict.fail(verdict.message + " (KL of a Gaussian with itself is 0)")
    for name, value in (("KL[N0 ‖ N1]", forward), ("KL[N1 ‖ N0]", backward)):
        if value.shape != () or not np.isfinite(value) or value <= 0:
            return Verdict.fail(f"{name} = {fmt(value)}: must be a finite float > 0 for two "
                                "different Gaussians")
    return PASS


def gaussian_kl_identity_program(check, case):
    """KL[N0 ‖ N0], KL[N0 ‖ N1] and KL[N1 ‖ N0]: three calls of the student's function."""
    mu0, s0, mu1, s1 = case.args
    return [programs.call("gaussian_kl", mu0, s0, mu0, s0),
            programs.call("gaussian_kl", mu0, s0, mu1, s1),
            programs.call("gaussian_kl", mu1, s1, mu0, s0)]


@checks.add("gaussian_kl", "KL[N ‖ N] = 0 and KL > 0 otherwise", points=1,
            judge=gaussian_kl_identity_judge, expected=None, steps=gaussian_kl_identity_program)
def _(rng):
    for d in (1, 4):
        mu0, s0 = random_gaussian(rng, d)
        mu1, s1 = random_gaussian(rng, d)
        yield Case(f"D={d}", args=(mu0, s0, mu1, s1), about="no reference needed")
