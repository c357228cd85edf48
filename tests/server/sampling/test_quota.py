"""The reservoir split: max-min fair by demand, never more than the reservoir."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from fluoro.sampling.quota import demand_per_second, fair_shares


def test_equal_demands_split_evenly() -> None:
    assert fair_shares(10, {"a": 100, "b": 100}) == {"a": 5, "b": 5}
    assert sorted(fair_shares(5, {"a": 100, "b": 100}).values()) == [2, 3]


def test_small_demand_gets_its_need_and_the_rest_goes_to_the_others() -> None:
    assert fair_shares(10, {"quiet": 1, "busy": 50, "busier": 80}) == {"quiet": 1, "busy": 4, "busier": 5}


def test_fewer_units_than_clients() -> None:
    shares = fair_shares(1, {"a": 3, "b": 3, "c": 3})
    assert sum(shares.values()) == 1


def test_demand_from_counts() -> None:
    assert demand_per_second(0) == 1 and demand_per_second(10) == 1 and demand_per_second(101) == 11


@given(st.integers(0, 1000), st.dictionaries(st.text(min_size=1, max_size=4), st.integers(0, 500), max_size=30))
def test_shares_are_bounded_and_max_min_fair(capacity: int, demands: dict[str, int]) -> None:
    shares = fair_shares(capacity, demands)
    assert set(shares) == set(demands)
    assert sum(shares.values()) <= capacity
    assert all(0 <= shares[c] <= demands[c] for c in demands)
    if sum(demands.values()) <= capacity:
        assert shares == demands  # everyone satisfied
    else:
        assert sum(shares.values()) == capacity  # nothing wasted
        # Max-min: an unsatisfied client gets at least as much as anyone else, minus one (integers).
        top = max(shares.values())
        assert all(shares[c] >= top - 1 for c in demands if shares[c] < demands[c])
