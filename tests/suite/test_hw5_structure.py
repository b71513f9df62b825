"""HW5's graded checks, tested: reference full marks, stubs zero, each wrong variant loses
exactly the checks it should (float and int64 arithmetic, missed cycles, a search that recurses
or loops forever on a cycle, an overflowing log-sum-exp) and nothing else."""

import pytest

from grader import homeworks

from .grading import (assert_reference_full_marks, assert_variant_ids_exist,
                       assert_variant_loses, failures, grade_text, reference_source,
                       stub_source, variant)

HW = homeworks.get("hw5")

JOINT_SMALL = {"n_params_joint/small-tables-and-one-rgb-pixel"}
JOINT_53 = {"n_params_joint/exact-past-2-53-float-and-2-63-int64"}
JOINT_HUGE = {"n_params_joint/2-10000-1-and-rgb-images"}
JOINT = JOINT_SMALL | JOINT_53 | JOINT_HUGE
INDEPENDENT = {"n_params_independent/a-few-variables", "n_params_independent/random-and-huge-cards"}
CHAIN = {"n_params_chain_rule/equals-the-joint-count",
         "n_params_chain_rule/equals-the-joint-count-huge-ones-too"}
MARKOV = {"n_params_markov_chain/a-short-chain", "n_params_markov_chain/mixed-and-huge-cards"}
BN_COUNTS = {"n_params_bayes_net/a-small-dag",
             "n_params_bayes_net/random-dags-in-random-order-by-brute-force",
             "n_params_bayes_net/no-edges-a-chain-a-complete-dag-huge-counts"}
BN_PUBLIC_ERRORS = {"n_params_bayes_net/valueerror-for-a-cycle-or-a-bad-index"}
BN_CYCLES = {"n_params_bayes_net/valueerror-for-cycles-of-every-length"}
BN_INDICES = {"n_params_bayes_net/valueerror-for-indices-out-of-range"}
FVSBN = {"n_params_fvsbn/small-nets", "n_params_fvsbn/random-and-large-n"}
LOG_Z_SMALL = {"log_partition/small-models-by-enumeration",
               "log_partition/random-models-against-enumeration"}
LOG_Z_HUGE = {"log_partition/energies-of-magnitude-1e4-either-sign"}


@pytest.mark.parametrize("seed", [0, 1, 2, 7, 42])
def test_reference_scores_full_marks(seed):
    assert_reference_full_marks("hw5", seed)


def test_stubs_score_zero_and_say_not_implemented():
    result = grade_text("hw5", stub_source(HW), seed=5)
    assert result.score == 0
    assert {c.status for c in result.checks} == {"not_implemented"}
    assert {c.exercise for c in result.checks} == {
        "n_params_joint", "n_params_independent", "n_params_chain_rule", "n_params_markov_chain",
        "n_params_bayes_net", "n_params_fvsbn", "log_partition"}


def test_every_exercise_has_public_and_hidden_points():
    result = grade_text("hw5", reference_source(HW), seed=0)
    for exercise in {c.exercise for c in result.checks}:
        mine = [c for c in result.checks if c.exercise == exercise]
        assert any(c.public for c in mine) and any(not c.public for c in mine), exercise


def test_a_subclass_of_value_error_is_accepted():
    """``raises("ValueError")`` accepts subclasses: the worker reports the whole MRO."""
    override = """
        class CycleError(ValueError):
            pass

        _right_check = _check_dag
        def _check_dag(n, parents):
            try:
                return _right_check(n, parents)
            except ValueError as exc:
                raise CycleError(str(exc)) from None
        """
    result = grade_text("hw5", variant(HW, override), seed=4, only=("n_params_bayes_net",))
    assert result.score == result.max_score, failures(result)


WRONG_VARIANTS = {
    "joint with numpy int64 (wraps past 2^63)": ("""
        def n_params_joint(cards):
            return int(np.prod(cards)) - 1
        """, JOINT_53 | JOINT_HUGE),
    "joint in float arithmetic": ("""
        def n_params_joint(cards):
            return int(np.prod(np.asarray(cards, dtype=float))) - 1
        """, JOINT_53 | JOINT_HUGE),
    "joint returns a numpy integer": ("""
        def n_params_joint(cards):
            total = math.prod(cards) - 1
            return np.int64(total) if total < 2 ** 62 else total
        """, JOINT_SMALL | JOINT_53),
    "joint returns a float": ("""
        def n_params_joint(cards):
            return float(math.prod(cards) - 1)
        """, JOINT),
    "independent forgets the -1": ("""
        def n_params_independent(cards):
            return sum(int(c) for c in cards)
        """, INDEPENDENT),
    "chain rule multiplies in the variable's own card": ("""
        def n_params_chain_rule(cards):
            total, before = 0, 1
            for c in cards:
                before *= c
                total += (c - 1) * before
            return total
        """, CHAIN),
    "chain rule through float powers": ("""
        def n_params_chain_rule(cards):
            total, before = 0, 1.0
            for c in cards:
                total += (c - 1) * before
                before *= c
            return int(total)
        """, {"n_params_chain_rule/equals-the-joint-count-huge-ones-too"}),
    "Markov chain with the variable's own card as the parent's": ("""
        def n_params_markov_chain(cards):
            cards = [int(c) for c in cards]
            return cards[0] - 1 + sum((c - 1) * c for c in cards[1:])
        """, MARKOV),
    "Bayes net without a cycle check": ("""
        def n_params_bayes_net(cards, parents):
            n = len(cards)
            for ps in parents:
                for p in ps:
                    if not 0 <= p < n:
                        raise ValueError("bad index")
            return sum((int(cards[i]) - 1) * math.prod(int(cards[p]) for p in ps)
                       for i, ps in enumerate(parents))
        """, BN_PUBLIC_ERRORS | BN_CYCLES),
    "Bayes net assuming parents have smaller indices": ("""
        _right_bn = n_params_bayes_net
        def n_params_bayes_net(cards, parents):
            for i, ps in enumerate(parents):
                if any(p >= i for p in ps):
                    raise ValueError("cycle")
            return _right_bn(cards, parents)
        """, BN_COUNTS),
    "Bayes net letting -1 mean the last variable": ("""
        _right_bn = n_params_bayes_net
        def n_params_bayes_net(cards, parents):
            n = len(cards)
            return _right_bn(cards, [[p % n if p < 0 else p for p in ps] for ps in parents])
        """, BN_INDICES),
    "Bayes net raising IndexError for a bad index": ("""
        _right_bn = n_params_bayes_net
        def n_params_bayes_net(cards, parents):
            n = len(cards)
            for ps in parents:
                for p in ps:
                    if p >= n or p < 0:
                        raise IndexError(p)
            return _right_bn(cards, parents)
        """, BN_PUBLIC_ERRORS | BN_INDICES),
    "Bayes net whose cycle search recurses forever": ("""
        _right_bn = n_params_bayes_net
        def _depth(i, parents):
            return 1 + max((_depth(p, parents) for p in parents[i]), default=0)
        def n_params_bayes_net(cards, parents):
            for ps in parents:
                for p in ps:
                    if not 0 <= p < len(cards):
                        raise ValueError("bad index")
            for i in range(len(cards)):
                _depth(i, parents)
            return _right_bn(cards, parents)
        """, BN_PUBLIC_ERRORS | BN_CYCLES),
    "fvsbn with true division": ("""
        def n_params_fvsbn(n):
            return n * (n + 1) / 2
        """, FVSBN),
    "fvsbn without the biases": ("""
        def n_params_fvsbn(n):
            return n * (n - 1) // 2
        """, FVSBN),
    "log Z as a naive log of a sum of exponentials": ("""
        def log_partition(energy, n):
            states = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
            return float(np.log(np.sum(np.exp(-energy(states.astype(float))))))
        """, LOG_Z_HUGE),
    "log Z keeps only the largest term": ("""
        def log_partition(energy, n):
            states = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
            return float(np.max(-energy(states.astype(float))))
        """, LOG_Z_SMALL | LOG_Z_HUGE),
    "log Z with exp(+E)": ("""
        def log_partition(energy, n):
            states = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
            a = energy(states.astype(float))
            return float(np.max(a) + np.log(np.sum(np.exp(a - np.max(a)))))
        """, LOG_Z_SMALL | LOG_Z_HUGE),
}


@pytest.mark.parametrize("name", sorted(WRONG_VARIANTS))
@pytest.mark.parametrize("seed", [3, 99])
def test_wrong_variant_loses_exactly_its_checks(name, seed):
    assert_variant_loses("hw5", *WRONG_VARIANTS[name], seed=seed)


def test_recursion_error_is_reported_as_such():
    """A search that recurses forever fails its check with RecursionError, not a crash."""
    override, _ = WRONG_VARIANTS["Bayes net whose cycle search recurses forever"]
    result = grade_text("hw5", variant(HW, override), seed=3, only=("n_params_bayes_net",))
    failed = {c.check_id: c for c in result.checks if not c.passed}
    assert set(failed) == BN_PUBLIC_ERRORS | BN_CYCLES
    assert all(c.status == "failed" and "RecursionError" in c.message and "ValueError" in
               c.message for c in failed.values()), failures(result)


def test_a_cycle_search_that_loops_forever_is_stopped():
    """An endless loop on a cycle times out that check only; the next checks still run."""
    override = """
        _right_bn = n_params_bayes_net
        def n_params_bayes_net(cards, parents):
            for ps in parents:
                for p in ps:
                    if not 0 <= p < len(cards):
                        raise ValueError("bad index")
            done = set()
            while len(done) < len(cards):       # Kahn's algorithm without a stall test
                for i, ps in enumerate(parents):
                    if i not in done and all(p in done for p in ps):
                        done.add(i)
            return _right_bn(cards, parents)
        """
    result = grade_text("hw5", variant(HW, override), seed=3, only=("n_params_bayes_net",))
    failed = {c.check_id: c for c in result.checks if not c.passed}
    assert set(failed) == BN_PUBLIC_ERRORS | BN_CYCLES, failures(result)
    assert {c.status for c in failed.values()} == {"timeout"}


@pytest.mark.sandbox
def test_a_search_that_lifts_the_recursion_limit_is_contained():
    """Recursing forever after sys.setrecursionlimit(10**7) is stopped (time, memory or crash):
    only the cycle checks are lost, and every later check still runs and passes."""
    override = """
        import sys
        sys.setrecursionlimit(10 ** 7)
        _right_bn = n_params_bayes_net
        def _depth(i, parents):
            return 1 + max([_depth(p, parents) for p in parents[i]], default=0)
        def n_params_bayes_net(cards, parents):
            for ps in parents:
                for p in ps:
                    if not 0 <= p < len(cards):
                        raise ValueError("bad index")
            for i in range(len(cards)):
                _depth(i, parents)
            return _right_bn(cards, parents)
        """
    result = grade_text("hw5", variant(HW, override), seed=3)
    failed = {c.check_id: c for c in result.checks if not c.passed}
    assert set(failed) == BN_PUBLIC_ERRORS | BN_CYCLES, failures(result)
    assert {c.status for c in failed.values()} <= {"timeout", "crashed", "memory", "failed"}


def test_check_ids_named_in_variants_exist():
    assert_variant_ids_exist("hw5", WRONG_VARIANTS)
