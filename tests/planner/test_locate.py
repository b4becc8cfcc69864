"""Hand-checked tiny cases, input validation, result invariants and the time-limit path."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from planner.locate import (
    LocateResult,
    solve,
    solve_cmclp,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)

INF = np.inf
# Villages on a road at km 0, 1, 10, 11 (1 km = 1 min); candidates at the same places.
LINE = np.abs(np.subtract.outer([0, 1, 10, 11], [0, 1, 10, 11])).astype(float)


def test_pmedian_hand_checked():
    r = solve_pmedian(LINE, p=1)
    # site 1: 1 + 0 + 9 + 10 = 20; site 2: 10 + 9 + 0 + 1 = 20 -> tie at 20
    assert r.objective == 20
    r = solve_pmedian(LINE, [1, 1, 1, 5], p=1)
    assert r.new_sites == (3,) and r.objective == 11 + 10 + 1  # 22
    r = solve_pmedian(LINE, p=2)
    assert r.objective == 2 and r.status == "optimal" and r.gap == 0
    assert r.assignment[0] in (0, 1) and r.assignment[3] in (2, 3)


def test_pmedian_fixed_site_and_explanations():
    r = solve_pmedian(LINE, p=1, fixed=[0])
    assert r.fixed_sites == (0,) and r.new_sites in ((2,), (3,))
    assert r.objective == 1 + 1  # village 1 -> 0 (1), village 2 or 3 -> new (1)
    new = next(s for s in r.sites if not s.fixed)
    # Without the new site everyone goes to site 0: 0 + 1 + 10 + 11 = 22
    assert new.objective_without == 22 and new.loss_if_removed == 20
    assert new.runner_up in (2, 3) and new.runner_up_delta == 0  # the twin is equally good
    assert new.runner_up_objective == 2
    fixed = next(s for s in r.sites if s.fixed)
    assert fixed.runner_up is None and fixed.demand_count == 2
    assert fixed.nearest_site == new.site and fixed.nearest_site_min == 10  # through village at km 10


def test_pmedian_unreachable_demand_is_listed_not_fatal():
    c = np.array([[1.0, 5.0], [INF, INF], [4.0, 2.0]])
    r = solve_pmedian(c, p=1)
    assert r.unreachable == (1,) and r.assignment[1] == -1
    assert r.objective == 1 + 4  # site 0 serves 0 (1) and 2 (4) vs site 1: 5 + 2 = 7 -> site 0
    assert 1 in r.uncovered and r.uncovered_demand == 1


def test_pmedian_serves_most_demand_first_when_network_is_split():
    # Two road components: villages 0,1 only reach site 0; village 2 only site 1.
    c = np.array([[1.0, INF], [2.0, INF], [INF, 50.0]])
    r = solve_pmedian(c, [1, 1, 5], p=1)
    assert r.new_sites == (1,)  # 5 tonnes beat 2, whatever the minutes
    assert r.uncovered == (0, 1) and r.unreachable == ()
    assert r.objective == 250


def test_mclp_hand_checked_and_fixed_count_extra():
    w = np.array([10, 1, 1, 10])
    r = solve_mclp(LINE, w, p=1, radius_min=1)
    assert r.objective == 11 and r.covered_demand == 11
    r = solve_mclp(LINE, w, p=2, radius_min=1)
    assert r.objective == 22 and r.gap == 0
    r = solve_mclp(LINE, w, p=1, radius_min=1, fixed=[0])  # p=1 NEW site on top of the fixed one
    assert r.objective == 22 and len(r.new_sites) == 1 and r.fixed_sites == (0,)


def test_mclp_budget_hand_checked():
    w = np.array([10, 1, 1, 10])
    cost_wan = np.array([100.0, 10.0, 10.0, 100.0])
    # Site 1 (km 1, 10 万元) covers villages 0 and 1 = 11; site 2 likewise 2 and 3 = 11.
    r = solve_mclp(LINE, w, p=None, radius_min=1, site_cost_wan=cost_wan, budget_wan=20)
    assert r.objective == 22 and r.new_sites == (1, 2)
    r = solve_mclp(LINE, w, p=None, radius_min=1, site_cost_wan=cost_wan, budget_wan=19)
    assert r.objective == 11 and len(r.new_sites) == 1
    r = solve_mclp(LINE, w, p=None, radius_min=0, site_cost_wan=cost_wan, budget_wan=100)
    assert r.objective == 10 and r.new_sites in ((0,), (3,))  # radius 0: only the village on site
    r = solve_mclp(LINE, w, p=None, radius_min=1, site_cost_wan=cost_wan, budget_wan=5)
    assert r.objective == 0 and r.new_sites == ()


def test_lscp_reports_uncoverable_and_still_solves():
    c = LINE.copy()
    c = np.vstack([c, [30, 30, 30, 30]])  # a fifth village 30 min from everything
    r = solve_lscp(c, radius_min=1)
    assert r.unreachable == (4,) and r.objective == 2 and r.status == "optimal"
    assert 4 in r.uncovered and all(i in r.covered for i in range(4))


def test_pcenter_hand_checked():
    r = solve_pcenter(LINE, p=1)
    assert r.objective == 10 and r.bound == 10  # best single site is 10 min from the far end
    r = solve_pcenter(LINE, p=2)
    assert r.objective == 1
    r = solve_pcenter(LINE, p=1, weights=[1, 1, 0, 0])  # the far villages have no demand
    assert r.objective == 1


def test_cmclp_hand_checked_split_and_unsplit():
    c = np.array([[0.0, 5.0], [0.0, 5.0], [0.0, 5.0]])
    d = np.array([6.0, 6.0, 6.0])
    q = np.array([10.0, 100.0])
    r = solve_cmclp(c, d, q, p=1, radius_min=1, split=True)
    assert r.objective == 10  # store 0 is the only one in reach and holds 10 t
    r = solve_cmclp(c, d, q, p=1, radius_min=1, split=False)
    assert r.objective == 6  # whole harvests only: one village fits
    r = solve_cmclp(c, d, q, p=1, radius_min=5, split=False)
    assert r.objective == 18 and r.new_sites == (1,)


def test_solve_dispatch_and_json():
    r = solve("mclp", LINE, weights=[1, 1, 1, 1], p=1, radius_min=1)
    assert isinstance(r, LocateResult) and r.model == "mclp"
    r = solve("cmclp", LINE, demand_t=[1, 1, 1, 1], capacity_t=10, p=1, radius_min=1)
    text = json.dumps(r.to_dict())
    assert json.loads(text)["model"] == "cmclp"
    r = solve("pmedian", np.array([[1.0, INF]]), p=1)
    json.dumps(r.to_dict())  # inf becomes null
    with pytest.raises(ValueError, match="unknown model"):
        solve("hub", LINE, p=1)
    with pytest.raises(ValueError, match="demand_t"):
        solve("cmclp", LINE, p=1, radius_min=1)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: solve_pmedian(LINE, [1, 1, 1], p=1), "weights must have shape"),
        (lambda: solve_pmedian(LINE, p=5), "only 4 candidate"),
        (lambda: solve_pmedian(LINE, p=3, fixed=[0, 1]), "only 2 candidate"),
        (lambda: solve_pmedian(LINE, [1, -1, 1, 1], p=1), "non-negative"),
        (lambda: solve_pmedian(LINE * np.nan, p=1), "NaN"),
        (lambda: solve_pmedian(-LINE - 1, p=1), "negative"),
        (lambda: solve_pmedian(LINE[0], p=1), "2-D"),
        (lambda: solve_pmedian(LINE, p=-1), ">= 0"),
        (lambda: solve_pmedian(LINE, p=1.5), "integer"),
        (lambda: solve_pmedian(LINE, p=None), "required"),
        (lambda: solve_pmedian(LINE, p=1, fixed=[9]), "fixed site"),
        (lambda: solve_pmedian(LINE, p=1, time_limit_s=0), "time_limit_s"),
        (lambda: solve_pmedian(LINE, p=2, site_cost_wan=[5, 5, 5, 5], budget_wan=6), "cannot pay"),
        (lambda: solve_mclp(LINE, p=1, radius_min=-1), "radius_min"),
        (lambda: solve_mclp(LINE, p=1, radius_min=1, budget_wan=3), "together"),
        (lambda: solve_cmclp(LINE, [1, 1, 1, 1], [1, 1], p=1, radius_min=1), "capacity_t"),
    ],
)
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _county(n, m, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 60, (n, 2))
    cand = rng.uniform(0, 60, (m, 2))
    return np.abs(xy[:, None, :] - cand[None]).sum(axis=2) * 1.3  # grid-ish roads, ~46 km/h


def test_time_limit_returns_solution_with_finite_gap():
    cost = _county(1500, 1500, 3)
    r = solve_pmedian(cost, p=60, time_limit_s=0.3, explain=False, method="milp")
    assert r.status == "time_limit"
    assert math.isfinite(r.gap) and r.gap >= 0 and r.bound <= r.objective
    assert len(r.new_sites) == 60
    rng = np.random.default_rng(0)
    hard = rng.uniform(0, 60, (400, 200))  # no geometry: a hard covering instance
    r = solve_mclp(hard, rng.uniform(1, 10, 400), p=8, radius_min=12, time_limit_s=0.3, explain=False)
    assert r.status == "time_limit" and math.isfinite(r.gap) and r.bound >= r.objective


def test_gap_is_small_when_optimal_and_bounds_are_consistent():
    cost = _county(120, 60, 7)
    w = np.random.default_rng(7).uniform(1, 100, 120)
    for r in (
        solve_pmedian(cost, w, p=4),
        solve_mclp(cost, w, p=4, radius_min=15),
        solve_lscp(cost, radius_min=15),
        solve_pcenter(cost, p=4),
        solve_cmclp(cost, w, 2000.0, p=4, radius_min=20),
    ):
        assert r.status == "optimal", r.model
        assert r.gap <= 1e-6, r.model
        minimise = r.model in ("pmedian", "lscp", "pcenter")
        assert (r.bound <= r.objective + 1e-6) if minimise else (r.bound >= r.objective - 1e-6)
        for s in r.sites:
            if not s.fixed and s.runner_up_delta is not None and r.model != "cmclp":
                # no single swap improves a proven optimum
                assert s.runner_up_delta >= -1e-6, (r.model, s)


def test_heuristic_method_reports_lagrangian_bound():
    cost = _county(300, 150, 11)
    r = solve_pmedian(cost, p=6, method="heuristic")
    assert r.method.startswith("greedy+interchange")
    assert r.bound <= r.objective and r.gap < 0.05
