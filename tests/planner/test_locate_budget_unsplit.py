"""Budget p-median and single-sourcing CMCLP against brute force, and the whole-call time limit."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.locate import solve_cmclp, solve_pmedian
from planner.locate.cmclp import _Model, _Packer

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _nearest(cost, sites):
    return np.min(cost[:, list(sites)], axis=1) if len(sites) else np.full(cost.shape[0], np.inf)


@st.composite
def pmedian_instances(draw):
    n = draw(st.integers(2, 10))
    m = draw(st.integers(2, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    cost = rng.uniform(0, 40, (n, m)).round(1)
    if draw(st.booleans()):
        # Two road components (inf between them): some layouts cannot serve
        # everything; the bound must stay on the served minutes, not the penalty.
        comp_d, comp_s = rng.integers(0, 2, n), rng.integers(0, 2, m)
        cost[comp_d[:, None] != comp_s[None, :]] = np.inf
    w = rng.integers(0, 20, n).astype(float)
    n_fixed = draw(st.integers(0, 1))
    fixed = tuple(rng.choice(m, n_fixed, replace=False).tolist())
    site_cost = rng.uniform(100, 800, m).round()
    return cost, w, fixed, site_cost, rng


def _brute(cost, w, fixed, site_cost, budget, p):
    """min (unserved weight, total weighted minutes) over affordable layouts (exactly p, or any with p=None)."""
    rows = np.isfinite(cost).any(axis=1) & (w > 0)
    free = [j for j in range(cost.shape[1]) if j not in fixed]
    sizes = [p] if p is not None else range(len(free) + 1)
    best = None
    for k in sizes:
        for combo in itertools.combinations(free, k):
            if site_cost[list(combo)].sum() > budget + 1e-9:
                continue
            d = _nearest(cost, list(fixed) + list(combo))[rows]
            key = (float(w[rows][~np.isfinite(d)].sum()), float((w[rows] * np.where(np.isfinite(d), d, 0)).sum()))
            best = key if best is None or key < best else best
    return best


@SETTINGS
@given(pmedian_instances(), st.booleans(), st.floats(0.0, 1.0))
def test_budget_pmedian_matches_brute_force(inst, with_p, slack):
    cost, w, fixed, site_cost, rng = inst
    free = [j for j in range(cost.shape[1]) if j not in fixed]
    p = int(rng.integers(1, len(free) + 1)) if with_p else None
    cheapest = float(np.sort(site_cost[free])[:p or 1].sum())
    budget = cheapest + slack * float(site_cost.sum())  # from barely affordable to not binding
    res = solve_pmedian(cost, w, p=p, fixed=fixed, site_cost_wan=site_cost, budget_wan=budget, time_limit_s=30)
    assert site_cost[list(res.new_sites)].sum() <= budget + 1e-9
    if p is not None and (np.isfinite(cost).any(axis=1) & (w > 0)).any():
        assert len(res.new_sites) == p  # (no weighted reachable demand: trivial, no sites)
    unserved, total = _brute(cost, w, fixed, site_cost, budget, p)
    reach = np.isfinite(cost).any(axis=1) & (w > 0)
    assert float(w[reach & (np.asarray(res.assignment) < 0)].sum()) == pytest.approx(unserved)
    assert res.objective == pytest.approx(total, rel=1e-9, abs=1e-6)
    assert res.status == "optimal"
    assert math.isfinite(res.bound) and math.isfinite(res.gap)
    assert 0.0 <= res.bound <= res.objective + 1e-6
    assert res.gap <= 1e-6 and res.bound == pytest.approx(total, rel=1e-6, abs=1e-6)


# ------------------------------------------------------------ single sourcing


def _served_unsplit(cost, d, q, radius, sites):
    opts = [[-1] + [j for j in sites if cost[i, j] <= radius and d[i] > 0] for i in range(cost.shape[0])]
    best = 0.0
    for choice in itertools.product(*opts):
        load: dict[int, float] = {}
        for i, j in enumerate(choice):
            if j >= 0:
                load[j] = load.get(j, 0.0) + d[i]
        if all(v <= q[j] + 1e-9 for j, v in load.items()):
            best = max(best, sum(d[i] for i, j in enumerate(choice) if j >= 0))
    return best


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31 - 1), st.integers(1, 3), st.sampled_from(["tenths", "floats"]), st.booleans())
def test_unsplit_cmclp_matches_brute_force(seed, p, kind, with_fixed):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 7)), int(rng.integers(2, 5))
    p = min(p, m - int(with_fixed))
    cost = rng.uniform(0, 30, (n, m)).round(1)
    d = rng.gamma(2.0, 3.0, n)
    d = d.round(1) if kind == "tenths" else d  # "floats" exercises the conservative scaling
    q = rng.uniform(2.0, 15.0, m).round(1)
    fixed = (int(rng.integers(m)),) if with_fixed else ()
    radius = 20.0
    res = solve_cmclp(cost, d, q, p=p, radius_min=radius, split=False, fixed=fixed, time_limit_s=30)
    free = [j for j in range(m) if j not in fixed]
    best = max(_served_unsplit(cost, d, q, radius, list(fixed) + list(c))
               for k in range(p + 1) for c in itertools.combinations(free, k))
    # Default mip_rel_gap for single sourcing is 1e-4: optimal within it, bound valid.
    assert res.objective <= best + 1e-6
    assert res.objective >= best * (1 - 1e-4) - 1e-9
    assert res.bound >= best - 1e-6
    assert res.status == "optimal" and res.gap <= 1e-4 + 1e-12
    load = np.zeros(m)
    villages = [i for i, _, _ in res.flows]
    assert len(villages) == len(set(villages))  # single sourcing
    for i, j, t in res.flows:
        assert cost[i, j] <= radius and t == pytest.approx(d[i])
        load[j] += t
    assert (load <= q + 1e-9).all()


@settings(max_examples=30, deadline=None, derandomize=True)
@given(st.integers(0, 2**31 - 1))
def test_packer_is_feasible_and_exact_when_everything_fits(seed):
    rng = np.random.default_rng(seed)
    n, m = 30, 6
    cost = rng.uniform(0, 30, (n, m))
    d = rng.gamma(2.0, 3.0, n).round(2)
    q = rng.uniform(5, 40, m)
    model = _Model(cost, d, q, 15.0, False)
    value, assign = _Packer(model).pack(np.arange(m))
    load = np.bincount(assign[assign >= 0], weights=d[assign >= 0], minlength=m)
    assert (load <= q + 1e-9).all()
    assert all(cost[i, assign[i]] <= 15.0 for i in np.flatnonzero(assign >= 0))
    assert value == pytest.approx(float(d[assign >= 0].sum()))
    big = _Model(cost, d, np.full(m, 1e3), 15.0, False)
    v_all, _ = _Packer(big).pack(np.arange(m))
    assert v_all == pytest.approx(float(d[(cost <= 15.0).any(axis=1)].sum()))


def test_unsplit_cmclp_explanations_are_labelled():
    rng = np.random.default_rng(5)
    cost = rng.uniform(0, 60, (80, 30))
    d = rng.gamma(2.0, 50.0, 80).round(1)
    res = solve_cmclp(cost, d, 900.0, p=3, radius_min=15, split=False, time_limit_s=20)
    assert res.params["explanations"]
    for s in res.sites:
        assert s.explanation in ("exact", "heuristic")
        assert s.loss_if_removed >= -1e-6 * max(1.0, res.objective) or s.explanation == "heuristic"


# ------------------------------------------------------- whole-call time limit


def _county(n, m, seed):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 60, (n, 2))
    cand = rng.uniform(0, 60, (m, 2))
    return np.abs(xy[:, None, :] - cand[None]).sum(axis=2) * 1.3


def test_tiny_time_limit_covers_solve_and_explanations():
    # Not a speed test: only that the call comes back with a solution, an
    # honest status and a finite gap within a generous multiple of the limit.
    limit = 0.3
    cost = _county(1500, 1500, 3)
    sc = np.random.default_rng(1).uniform(200, 800, 1500).round()
    r = solve_pmedian(cost, p=60, site_cost_wan=sc, budget_wan=60 * 450, time_limit_s=limit, method="milp")
    assert r.status == "time_limit" and math.isfinite(r.gap) and r.bound <= r.objective
    assert len(r.new_sites) == 60 and sc[list(r.new_sites)].sum() <= 60 * 450 + 1e-9
    assert {s.explanation for s in r.sites} <= {"exact", "partial"}

    rng = np.random.default_rng(0)
    hard = rng.uniform(0, 60, (400, 200))  # no geometry: coverage, not capacity, binds
    d = rng.gamma(2.0, 50.0, 400).round(1)
    q = rng.uniform(4000, 9000, 200).round()
    r = solve_cmclp(hard, d, q, p=8, radius_min=12, split=False, time_limit_s=limit)
    assert r.status == "time_limit" and math.isfinite(r.gap) and r.bound >= r.objective
    assert len(r.sites) >= 1 and all(s.explanation in ("exact", "heuristic", "partial") for s in r.sites)
