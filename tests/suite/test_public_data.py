"""Staleness of the frozen public data: real changes are caught, last-bit BLAS noise is not."""
import json

from grader import homeworks, public_data


def _shipped(hw_id):
    with open(public_data.path_for(homeworks.get(hw_id)), encoding="utf-8") as fh:
        return json.load(fh)


def _first_float(node, change):
    """Apply ``change`` to the first float found in ``node`` (in place); True when found."""
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, float) and value != 0.0:
            node[key] = change(value)
            return True
        if isinstance(value, (dict, list)) and _first_float(value, change):
            return True
    return False


def test_rounding_in_the_last_bits_is_not_stale():
    fresh = _shipped("hw2")
    noisy = _shipped("hw2")
    assert _first_float(noisy["checks"], lambda v: v * (1 + 4e-16))
    assert public_data.same(fresh, noisy)


def test_a_changed_value_a_missing_case_or_a_changed_type_is_stale():
    fresh = _shipped("hw2")
    changed = _shipped("hw2")
    assert _first_float(changed["checks"], lambda v: v * (1 + 1e-6))
    assert not public_data.same(fresh, changed)
    fewer = _shipped("hw2")
    check_id = next(iter(fewer["checks"]))
    fewer["checks"][check_id] = fewer["checks"][check_id][:-1]
    assert not public_data.same(fresh, fewer)
    assert not public_data.same(1.0, 1)
    assert not public_data.same(1.0, True)
    assert public_data.same(float("nan"), float("nan"))
    assert not public_data.same(float("inf"), 1e308)
