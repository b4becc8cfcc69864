"""Every model against brute force (itertools.combinations) on small random instances."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from planner.locate import solve_cmclp, solve_lscp, solve_mclp, solve_pcenter, solve_pmedian

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def instances(draw, max_n=7, max_m=6, inf_prob=0.15):
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_m))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 30, size=(n, m)).astype(float)
    cost[rng.random((n, m)) < inf_prob] = np.inf
    w = rng.integers(0, 5, size=n).astype(float)
    n_fixed = draw(st.integers(0, min(2, m - 1)))
    fixed = tuple(sorted(rng.choice(m, size=n_fixed, replace=False).tolist()))
    p = draw(st.integers(0, m - n_fixed))
    site_cost = rng.integers(1, 6, size=m).astype(float)
    return cost, w, fixed, p, site_cost, rng


def _nearest(cost, open_sites):
    if not open_sites:
        return np.full(cost.shape[0], np.inf)
    return np.min(cost[:, list(open_sites)], axis=1)


def _free(m, fixed):
    return [j for j in range(m) if j not in fixed]


# --------------------------------------------------------------------- p-median


def _pmedian_brute(cost, w, fixed, p, site_cost=None, budget=None):
    rows = np.isfinite(cost).any(axis=1) & (w > 0)
    best = None
    for combo in itertools.combinations(_free(cost.shape[1], fixed), p):
        if budget is not None and site_cost[list(combo)].sum() > budget + 1e-9:
            continue
        d = _nearest(cost, list(fixed) + list(combo))[rows]
        unserved = float(w[rows][~np.isfinite(d)].sum())
        total = float((w[rows] * np.where(np.isfinite(d), d, 0)).sum())
        key = (unserved, total)
        if best is None or key < best:
            best = key
    return best


@SETTINGS
@given(instances())
def test_pmedian_matches_brute_force(inst):
    cost, w, fixed, p, _, _ = inst
    res = solve_pmedian(cost, w, p=p, fixed=fixed, time_limit_s=30)
    unserved, total = _pmedian_brute(cost, w, fixed, p)
    reach = np.isfinite(cost).any(axis=1) & (w > 0)
    got_unserved = float(w[reach & (np.asarray(res.assignment) < 0)].sum())
    assert got_unserved == pytest.approx(unserved)
    assert res.objective == pytest.approx(total)
    assert res.status == "optimal"
    assert set(fixed) <= set(res.site_indices)
    assert len(res.new_sites) == p
    assert set(res.unreachable) == set(np.flatnonzero(~np.isfinite(cost).any(axis=1)).tolist())


@SETTINGS
@given(instances(), st.sampled_from(["heuristic", "milp"]))
def test_pmedian_budget_matches_brute_force(inst, method):
    cost, w, fixed, p, site_cost, rng = inst
    free = _free(cost.shape[1], fixed)
    cheapest = float(np.sort(site_cost[free])[:p].sum())
    budget = cheapest + float(rng.integers(0, 4))
    res = solve_pmedian(cost, w, p=p, fixed=fixed, site_cost_wan=site_cost, budget_wan=budget,
                        time_limit_s=30, method=method)
    assert site_cost[list(res.new_sites)].sum() <= budget + 1e-9
    unserved, total = _pmedian_brute(cost, w, fixed, p, site_cost, budget)
    reach = np.isfinite(cost).any(axis=1) & (w > 0)
    got = (float(w[reach & (np.asarray(res.assignment) < 0)].sum()), res.objective)
    if method == "milp":
        assert got[0] == pytest.approx(unserved)
        assert got[1] == pytest.approx(total)
    else:  # heuristic: never better than the optimum
        assert got >= (unserved - 1e-9, total - 1e-9)


# ------------------------------------------------------------------------ MCLP


def _mclp_brute(cost, w, fixed, p, radius, site_cost=None, budget=None):
    best = 0.0
    free = _free(cost.shape[1], fixed)
    for k in range(0, (p if p is not None else len(free)) + 1):
        for combo in itertools.combinations(free, k):
            if budget is not None and site_cost[list(combo)].sum() > budget + 1e-9:
                continue
            d = _nearest(cost, list(fixed) + list(combo))
            best = max(best, float(w[d <= radius].sum()))
    return best


@SETTINGS
@given(instances(), st.integers(0, 30))
def test_mclp_matches_brute_force(inst, radius):
    cost, w, fixed, p, _, _ = inst
    res = solve_mclp(cost, w, p=p, radius_min=radius, fixed=fixed, time_limit_s=30)
    assert res.objective == pytest.approx(_mclp_brute(cost, w, fixed, p, radius))
    assert res.covered_demand == pytest.approx(res.objective)
    assert res.status == "optimal" and res.gap <= 1e-6
    assert len(res.new_sites) <= p
    uncoverable = np.flatnonzero(~(cost <= radius).any(axis=1))
    assert set(res.unreachable) == set(uncoverable.tolist())


@SETTINGS
@given(instances(), st.integers(0, 30), st.integers(0, 12), st.booleans())
def test_mclp_budget_matches_brute_force(inst, radius, budget, with_p):
    cost, w, fixed, p, site_cost, _ = inst
    res = solve_mclp(cost, w, p=p if with_p else None, radius_min=radius, fixed=fixed,
                     site_cost_wan=site_cost, budget_wan=budget, time_limit_s=30)
    assert site_cost[list(res.new_sites)].sum() <= budget + 1e-9
    assert res.objective == pytest.approx(
        _mclp_brute(cost, w, fixed, p if with_p else None, radius, site_cost, budget))


@SETTINGS
@given(instances(), st.integers(0, 30))
def test_adding_a_fixed_site_never_lowers_mclp_coverage(inst, radius):
    cost, w, fixed, p, _, rng = inst
    free = _free(cost.shape[1], fixed)
    if len(free) <= p:
        return
    base = solve_mclp(cost, w, p=p, radius_min=radius, fixed=fixed, explain=False)
    extra = int(rng.choice([j for j in free]))
    more = solve_mclp(cost, w, p=min(p, len(free) - 1), radius_min=radius, fixed=(*fixed, extra), explain=False)
    assert more.objective >= base.objective - 1e-9


# ------------------------------------------------------------------------ LSCP


@SETTINGS
@given(instances(), st.integers(0, 30), st.booleans())
def test_lscp_matches_brute_force(inst, radius, weighted_cost):
    cost, w, fixed, _, site_cost, _ = inst
    sc = site_cost if weighted_cost else None
    res = solve_lscp(cost, radius_min=radius, fixed=fixed, weights=w, site_cost_wan=sc, time_limit_s=30)
    need = (w > 0) & (cost <= radius).any(axis=1)
    best = math.inf
    free = _free(cost.shape[1], fixed)
    for k in range(len(free) + 1):
        for combo in itertools.combinations(free, k):
            d = _nearest(cost, list(fixed) + list(combo))
            if (d[need] <= radius).all():
                best = min(best, float(len(combo) if sc is None else sc[list(combo)].sum()))
    assert res.objective == pytest.approx(best)
    assert res.status == "optimal"
    d = _nearest(cost, list(res.site_indices))
    assert (d[need] <= radius).all()
    assert set(res.unreachable) == set(np.flatnonzero(~(cost <= radius).any(axis=1)).tolist())


# -------------------------------------------------------------------- p-center


@SETTINGS
@given(instances())
def test_pcenter_matches_brute_force(inst):
    cost, w, fixed, p, _, _ = inst
    res = solve_pcenter(cost, p=p, fixed=fixed, weights=w, time_limit_s=30)
    pts = np.isfinite(cost).any(axis=1) & (w > 0)
    best = None
    for combo in itertools.combinations(_free(cost.shape[1], fixed), p):
        d = _nearest(cost, list(fixed) + list(combo))[pts]
        served = int(np.isfinite(d).sum())
        worst = float(d[np.isfinite(d)].max()) if served else 0.0
        key = (-served, worst)
        if best is None or key < best:
            best = key
    assert res.objective == pytest.approx(best[1])
    got_served = int((np.asarray(res.assignment)[pts] >= 0).sum())
    assert got_served == -best[0]
    assert res.status == "optimal" and res.bound == pytest.approx(res.objective)


# ----------------------------------------------------------------------- CMCLP


def _served_split(cost, d, q, radius, open_sites):
    """Max tonnes served by these sites: a tiny LP (scipy linprog, independent of HiGHS wrapper)."""
    pairs = [(i, j) for i in range(cost.shape[0]) for j in open_sites if cost[i, j] <= radius and d[i] > 0]
    if not pairs:
        return 0.0
    c = -np.array([d[i] for i, _ in pairs])
    a_ub, b_ub = [], []
    for i in range(cost.shape[0]):
        a_ub.append([1.0 if pi == i else 0.0 for pi, _ in pairs])
        b_ub.append(1.0)
    for j in open_sites:
        a_ub.append([d[pi] if pj == j else 0.0 for pi, pj in pairs])
        b_ub.append(q[j])
    r = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs")
    return -r.fun


def _served_unsplit(cost, d, q, radius, open_sites):
    """Enumerate every assignment village -> {none} + reachable open sites."""
    opts = []
    for i in range(cost.shape[0]):
        o = [-1] + [j for j in open_sites if cost[i, j] <= radius and d[i] > 0]
        opts.append(o)
    best = 0.0
    for choice in itertools.product(*opts):
        load = {}
        for i, j in enumerate(choice):
            if j >= 0:
                load[j] = load.get(j, 0.0) + d[i]
        if all(load[j] <= q[j] + 1e-9 for j in load):
            best = max(best, sum(d[i] for i, j in enumerate(choice) if j >= 0))
    return best


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_n=6, max_m=4), st.integers(5, 30), st.booleans(), st.booleans())
def test_cmclp_matches_brute_force(inst, radius, split, with_budget):
    cost, w, fixed, p, site_cost, rng = inst
    demand = rng.integers(0, 10, size=cost.shape[0]).astype(float)
    cap = rng.integers(0, 15, size=cost.shape[1]).astype(float)
    budget = float(rng.integers(0, 10)) if with_budget else None
    res = solve_cmclp(cost, demand, cap, p=p, radius_min=radius, split=split, fixed=fixed,
                      site_cost_wan=site_cost if with_budget else None, budget_wan=budget, time_limit_s=30)
    served = _served_split if split else _served_unsplit
    best = 0.0
    free = _free(cost.shape[1], fixed)
    for k in range(p + 1):
        for combo in itertools.combinations(free, k):
            if with_budget and site_cost[list(combo)].sum() > budget + 1e-9:
                continue
            best = max(best, served(cost, demand, cap, radius, list(fixed) + list(combo)))
    assert res.objective == pytest.approx(best, abs=1e-6)
    assert res.status == "optimal"
    # flows respect capacities, radius and (unsplit) single sourcing
    load = np.zeros(cost.shape[1])
    per_village: dict[int, set] = {}
    for i, j, t in res.flows:
        assert cost[i, j] <= radius and j in res.site_indices
        load[j] += t
        per_village.setdefault(i, set()).add(j)
    assert (load <= cap + 1e-6).all()
    if not split:
        assert all(len(s) == 1 for s in per_village.values())
    assert sum(t for _, _, t in res.flows) == pytest.approx(res.objective, abs=1e-6)
