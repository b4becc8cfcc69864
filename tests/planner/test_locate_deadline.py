"""The time limit is honoured structurally (issue 12: "a deadline that holds").

No wall-clock assertions: the clock is faked or the limit is (almost) zero,
and the tests check that every stage asks the deadline -- no MILP is started
once it has passed, the model is not built, the explanations stop -- and that
the answer is still honest: a layout re-evaluated from the cost matrix (the
``certified`` wrapper raises otherwise), status "time_limit" unless proven,
and a bound on the right side of the objective that the optimum respects.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import planner.locate._highs as highs_mod
from planner.locate import (coverage_curve, solve_attendance, solve_cmclp, solve_lscp, solve_mclp, solve_pcenter,
                            solve_pmedian)
from planner.locate._deadline import Deadline, milp_setup_s

TINY = 1e-6  # seconds: the deadline has passed before the first stage


class FakeClock:
    """A wall clock the test moves by hand (and a CPU clock that follows it at ``cpu_share``)."""

    def __init__(self, cpu_share: float = 1.0):
        self.t = 1000.0
        self.cpu_share = cpu_share

    def __call__(self) -> float:
        return self.t

    def cpu(self) -> float:
        return self.t * self.cpu_share


def _instance(n: int = 40, seed: int = 1):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 50, size=(n, 2))
    cost = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)).round(1)
    w = rng.integers(1, 20, size=n).astype(float)
    return cost, w


@pytest.fixture
def no_highs(monkeypatch):
    """Fail the test if any MILP is started (HiGHS instance created)."""

    def refuse():
        raise AssertionError("a MILP was started after the deadline had passed")

    monkeypatch.setattr(highs_mod, "new_highs", refuse)


# ---------------------------------------------------------------------------
# the Deadline object


def test_deadline_left_expired_part_with_a_fake_clock():
    clock = FakeClock()
    d = Deadline(2.0, clock=clock, cpu_clock=clock.cpu)
    assert d.left() == pytest.approx(2.0) and not d.expired()
    clock.t += 0.5
    assert d.left() == pytest.approx(1.5) and d.elapsed() == pytest.approx(0.5)
    half = d.part(0.5)
    assert half.at == pytest.approx(clock.t + 0.75) and half.at <= d.at
    assert d.solver_s(0.1) == pytest.approx(1.5 - 0.2)
    clock.t += 2.0
    assert d.expired() and d.left() == 0.0 and d.solver_s() == pytest.approx(1e-3)
    assert Deadline.at_time(clock.t - 1.0, clock=clock).expired()


def test_slowdown_scales_estimates_on_a_loaded_machine():
    clock = FakeClock(cpu_share=0.25)  # the process gets a quarter of a core
    d = Deadline(10.0, clock=clock, cpu_clock=clock.cpu)
    assert d.slowdown() == 1.0  # nothing seen yet
    clock.t += 2.0
    assert d.slowdown() == pytest.approx(4.0)
    # 8 s left: 1.5 CPU s of work takes ~6 wall s (fits), 2.5 CPU s ~10 (does not).
    assert d.affords(1.5) and not d.affords(2.5)
    assert milp_setup_s(1e6) > milp_setup_s(1e3) > 0


# ---------------------------------------------------------------------------
# HiGHS: never started without time for its uninterruptible set-up


def test_solve_milp_is_not_started_when_the_set_up_cannot_fit(monkeypatch, no_highs):
    import scipy.sparse as sp

    # min x0 + x1 s.t. x0 + x1 >= 1, binary: the start (1, 0) is feasible.
    A = sp.csr_matrix(np.array([[1.0, 1.0]]))
    monkeypatch.setattr(highs_mod, "milp_setup_s", lambda nnz: 5.0)
    out = highs_mod.solve_milp(np.ones(2), A, np.array([1.0]), np.array([np.inf]), np.zeros(2), np.ones(2),
                               np.ones(2, bool), time_limit_s=1.0, start=np.array([1.0, 0.0]))
    assert out.status == "time_limit" and out.nodes == 0
    assert out.x.tolist() == [1.0, 0.0] and out.objective == 1.0 and math.isnan(out.bound)
    # An infeasible start is not handed back as a solution.
    out = highs_mod.solve_milp(np.ones(2), A, np.array([1.0]), np.array([np.inf]), np.zeros(2), np.ones(2),
                               np.ones(2, bool), time_limit_s=1.0, start=np.array([0.0, 0.0]))
    assert out.x is None and out.status == "time_limit"


def test_solve_milp_with_time_for_the_set_up_runs_and_proves():
    import scipy.sparse as sp

    A = sp.csr_matrix(np.array([[1.0, 1.0]]))
    out = highs_mod.solve_milp(np.array([2.0, 1.0]), A, np.array([1.0]), np.array([np.inf]), np.zeros(2),
                               np.ones(2), np.ones(2, bool), time_limit_s=30.0)
    assert out.status == "optimal" and out.objective == pytest.approx(1.0)


# ---------------------------------------------------------------------------
# every model, with the deadline already passed: a checked heuristic answer, no MILP


def _check_min(res, optimum):
    assert res.status in ("time_limit", "optimal")
    assert math.isfinite(res.bound) and res.bound <= optimum + 1e-6 <= res.objective + 2e-6
    assert res.gap == pytest.approx(abs(res.objective - res.bound) / max(abs(res.objective), 1e-9), abs=1e-9)


def _check_max(res, optimum):
    assert res.status in ("time_limit", "optimal")
    assert math.isfinite(res.bound) and res.objective - 1e-6 <= optimum <= res.bound + 1e-6


def test_pmedian_past_the_deadline_is_the_heuristic_with_a_valid_bound(no_highs):
    cost, w = _instance()
    res = solve_pmedian(cost, w, p=4, time_limit_s=TINY)
    assert res.status == "time_limit" and res.objective > 0
    # The explanations stopped too: no runner-up searched.
    assert all(s.explanation == "partial" and s.runner_up is None for s in res.sites)
    # loss-if-removed is still exact (re-evaluated by closing the site).
    open_ = list(res.site_indices)
    for s in res.sites:
        rest = [k for k in open_ if k != s.site]
        assert s.objective_without == pytest.approx(float(w @ cost[:, rest].min(axis=1)))


def test_pmedian_deadline_answer_brackets_the_optimum():
    cost, w = _instance()
    exact = solve_pmedian(cost, w, p=4, time_limit_s=60)
    assert exact.status == "optimal"
    _check_min(solve_pmedian(cost, w, p=4, time_limit_s=TINY), exact.objective)


def test_pmedian_clock_jump_after_the_warm_start_skips_model_and_milp(monkeypatch, no_highs):
    """The clock passes the deadline right after the warm start: no Lagrangian round, no radius model."""
    import planner.locate._pmedian_radius as rad
    import planner.locate.pmedian as pm
    import time as time_mod

    cost, w = _instance(60, seed=4)
    exact = solve_pmedian(cost, w, p=6, time_limit_s=60)
    offset = {"s": 0.0}
    real = time_mod.perf_counter
    monkeypatch.setattr(time_mod, "perf_counter", lambda: real() + offset["s"])
    inner = pm.local_search

    def warm_then_jump(*args, **kwargs):
        out = inner(*args, **kwargs)
        offset["s"] += 3600.0
        return out

    def refuse_build(*args, **kwargs):
        raise AssertionError("radius model built after the deadline")

    monkeypatch.setattr(pm, "local_search", warm_then_jump)
    monkeypatch.setattr(rad, "_build_radius_model", refuse_build)
    res = solve_pmedian(cost, w, p=6, time_limit_s=5.0)
    assert res.status == "time_limit" or res.objective == pytest.approx(exact.objective)
    # The bound is at least the trivial one (every candidate open) and never above the optimum.
    trivial = float(w @ cost.min(axis=1))
    assert trivial - 1e-6 <= res.bound <= exact.objective + 1e-6 <= res.objective + 2e-6


@pytest.mark.parametrize("model", ["mclp", "lscp", "target", "attendance", "pcenter"])
def test_every_model_past_the_deadline_answers_without_a_milp(model, no_highs):
    cost, w = _instance(50, seed=2)
    if model == "mclp":
        res = solve_mclp(cost, w, p=4, radius_min=8.0, time_limit_s=TINY)
        assert res.status in ("time_limit", "optimal")
        assert res.bound >= res.objective
    elif model == "lscp":
        res = solve_lscp(cost, weights=w, radius_min=8.0, time_limit_s=TINY)
        assert res.status in ("time_limit", "optimal") and res.bound <= res.objective
    elif model == "target":
        res = solve_lscp(cost, weights=w, radius_min=8.0, target_share=0.8, time_limit_s=TINY)
        assert res.status in ("time_limit", "optimal") and res.bound <= res.objective
    elif model == "attendance":
        res = solve_attendance(cost, w, p=4, cutoff_min=15.0, decay="exponential", beta=0.1, time_limit_s=TINY)
        assert res.status in ("time_limit", "optimal") and res.bound >= res.objective
    else:
        res = solve_pcenter(cost, p=4, time_limit_s=TINY)
        assert res.status in ("time_limit", "optimal") and res.bound <= res.objective
    assert math.isfinite(res.gap)
    if res.status != "optimal":
        assert res.gap > 0 or res.objective == res.bound
    # Explanations stopped at the deadline (or had nothing to search).
    assert all(s.explanation in ("partial", "exact") for s in res.sites)
    assert any(s.explanation == "partial" for s in res.sites if not s.fixed)


@pytest.mark.parametrize("model", ["mclp", "pcenter", "attendance", "lscp"])
def test_deadline_answers_bracket_the_optimum(model):
    cost, w = _instance(40, seed=3)
    if model == "mclp":
        call = lambda L: solve_mclp(cost, w, p=3, radius_min=8.0, time_limit_s=L)  # noqa: E731
        check = _check_max
    elif model == "attendance":
        call = lambda L: solve_attendance(cost, w, p=3, cutoff_min=15.0, time_limit_s=L)  # noqa: E731
        check = _check_max
    elif model == "pcenter":
        call = lambda L: solve_pcenter(cost, p=3, time_limit_s=L)  # noqa: E731
        check = _check_min
    else:
        call = lambda L: solve_lscp(cost, weights=w, radius_min=8.0, time_limit_s=L)  # noqa: E731
        check = _check_min
    exact = call(60.0)
    assert exact.status == "optimal"
    check(call(TINY), exact.objective)


@pytest.mark.parametrize("split", [True, False])
def test_cmclp_past_the_deadline_explains_from_its_own_flows(split, no_highs):
    cost, w = _instance(50, seed=5)
    rng = np.random.default_rng(0)
    demand = rng.gamma(1.0, 50.0, len(w))
    res = solve_cmclp(cost, demand, 300.0, p=4, radius_min=10.0, split=split, time_limit_s=TINY)
    assert res.status == "time_limit" and res.bound >= res.objective > 0
    assert all(s.explanation in ("heuristic", "partial") for s in res.sites)
    carried = {}
    for _i, j, t in res.flows:
        carried[j] = carried.get(j, 0.0) + t
    for s in res.sites:
        # Without the site: the flows into the others, a feasible (lower-bound) shipment.
        assert s.objective_without == pytest.approx(res.objective - carried.get(s.site, 0.0))


def test_curve_past_the_deadline_has_greedy_points_marked_time_limit(no_highs):
    cost, w = _instance(60, seed=6)
    curve = coverage_curve(cost, w, radius_min=6.0, k_max=5, time_limit_s=TINY)
    exact = coverage_curve(cost, w, radius_min=6.0, k_max=5, time_limit_s=60)
    assert exact.all_optimal
    for got, best in zip(curve.points, exact.points):
        assert got.status in ("optimal", "time_limit")
        assert got.covered <= best.covered + 1e-9 <= got.bound + 2e-9


# ---------------------------------------------------------------------------
# the entry point: plan_placement shares one deadline between its stages


def test_plan_placement_counts_every_stage_against_one_limit(monkeypatch):
    import time as time_mod

    import planner.placement as pl
    from tests.planner.test_placement import _line_county

    graph, villages, candidates = _line_county()
    offset = {"s": 0.0}
    # A wall clock that moves only when the test says so.
    monkeypatch.setattr(time_mod, "perf_counter", lambda: 1000.0 + offset["s"])
    matrix = pl.travel_time_matrix

    def slow_matrix(*args, **kwargs):
        out = matrix(*args, **kwargs)
        offset["s"] += 6.0  # the travel times took 6 of the 10 s
        return out

    limits = {}
    solve_model = pl.solve

    def spy_solve(model, cost, **kwargs):
        limits.setdefault("plan", kwargs["time_limit_s"])
        offset["s"] += 1.0  # the solve took 1 s
        return solve_model(model, cost, **kwargs)

    import planner.locate as loc

    curve_fn = loc.coverage_curve

    def spy_curve(*args, **kwargs):
        limits["curve"] = kwargs["time_limit_s"]
        return curve_fn(*args, **kwargs)

    monkeypatch.setattr(pl, "travel_time_matrix", slow_matrix)
    monkeypatch.setattr(pl, "solve", spy_solve)
    monkeypatch.setattr(loc, "coverage_curve", spy_curve)
    res = pl.plan_placement(graph, villages, candidates, model="mclp", demand="produce:apple,hawthorn", p=1,
                            minutes=3, time_limit_s=10.0, curve_k=2)
    # 4 s left minus the 5 % reserve, half for the plan, the rest (less the 1 s spent) for the curve.
    assert limits["plan"] == pytest.approx((4.0 - 0.5) / 2)
    assert limits["curve"] == pytest.approx(4.0 - 1.0 - 0.5)
    assert res.result.status == "optimal" and res.curve is not None


def test_count_curve_with_site_costs_reports_them_without_constraining():
    """A count curve (k = 1..K) given site costs only reports each point's cost (the costs used to
    reach the enumeration of p <= 2 without a budget and fail there)."""
    cost, w = _instance(30, seed=7)
    costs = np.linspace(100, 390, 30)
    plain = coverage_curve(cost, w, radius_min=8.0, k_max=3)
    priced = coverage_curve(cost, w, radius_min=8.0, k_max=3, site_cost_wan=costs)
    assert [p.covered for p in priced.points] == pytest.approx([p.covered for p in plain.points])
    for pt in priced.points[1:]:
        assert pt.cost_wan == pytest.approx(float(costs[list(pt.sites)].sum()))


def test_lscp_past_the_deadline_keeps_the_packing_bound(monkeypatch):
    """Set covering out of time: the bound is the packing bound (rows with disjoint covering sets),
    not 0, and it never exceeds the optimum."""
    from planner.locate._coverage import packing_bound
    import scipy.sparse as sp

    # Hand-checked: rows {0,1}, {2}, {1,2}, {3}: rows 0, 1 and 3 are pairwise disjoint -> 3 sites.
    a = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=float))
    assert packing_bound(a, np.ones(4)) == 3.0
    assert packing_bound(a, np.array([5.0, 2.0, 1.0, 4.0])) == 2.0 + 1.0 + 4.0
    cost, w = _instance(60, seed=8)
    exact = solve_lscp(cost, weights=w, radius_min=6.0, time_limit_s=60)
    monkeypatch.setattr(highs_mod, "new_highs", lambda: pytest.fail("a MILP was started after the deadline"))
    late = solve_lscp(cost, weights=w, radius_min=6.0, time_limit_s=TINY)
    assert exact.status == "optimal"
    assert 0 < late.bound <= exact.objective <= late.objective


def test_target_share_past_the_deadline_keeps_a_knapsack_bound(monkeypatch):
    """The fewest sites reaching a share, out of time: the bound counts the heaviest columns needed."""
    cost, w = _instance(60, seed=9)
    exact = solve_lscp(cost, weights=w, radius_min=6.0, target_share=0.8, time_limit_s=60)
    monkeypatch.setattr(highs_mod, "new_highs", lambda: pytest.fail("a MILP was started after the deadline"))
    late = solve_lscp(cost, weights=w, radius_min=6.0, target_share=0.8, time_limit_s=TINY)
    assert exact.status == "optimal"
    assert 0 < late.bound <= exact.objective <= late.objective
    assert late.bound == int(late.bound)  # whole sites


# ---------------------------------------------------------------------------
# the compiled p-median greedy runs in chunks (issue 12 at short limits)


def _greedy_instance(n=60, seed=7):
    cost, w = _instance(n, seed=seed)
    cpt = np.ascontiguousarray(cost.T)
    big = float(cpt.max()) * 2.0 + 1.0
    return cpt, w, big


def test_chunked_greedy_with_time_is_the_plain_greedy(monkeypatch):
    import planner.locate._pmedian_kernels as K
    import planner.locate._pmedian_radius as rad

    cpt, w, big = _greedy_instance()
    m, n = cpt.shape
    plain_open, plain_d1 = np.zeros(m, dtype=np.bool_), np.full(n, big)
    K.greedy_add(cpt, w, plain_open, plain_d1, 12)
    monkeypatch.setattr(rad, "greedy_add_s", lambda n, m: 0.001)  # 10 additions per 10 ms chunk
    calls = []
    inner = K.greedy_add
    monkeypatch.setattr(K, "greedy_add", lambda *a: calls.append(a[-1]) or inner(*a))
    fc = FakeClock()
    is_open, d1 = np.zeros(m, dtype=np.bool_), np.full(n, big)
    how = rad.greedy_add_until(cpt, w, is_open, d1, 12, Deadline(60.0, clock=fc, cpu_clock=fc.cpu))
    assert how == "greedy" and calls == [10, 2]
    assert np.array_equal(is_open, plain_open) and np.allclose(d1, plain_d1)


def test_chunked_greedy_reads_the_clock_between_chunks_and_finishes_by_sampling(monkeypatch):
    """Each chunk moves the fake clock; once the next would not fit, the rest are added from samples."""
    import planner.locate._pmedian_kernels as K
    import planner.locate._pmedian_radius as rad

    cpt, w, big = _greedy_instance()
    m, n = cpt.shape
    monkeypatch.setattr(rad, "greedy_add_s", lambda n, m: 0.001)
    fc = FakeClock()
    calls = []
    inner = K.greedy_add

    def timed(cpt_, w_, is_open_, d1_, k):
        calls.append(k)
        fc.t += 0.001 * k  # the kernel's cost, on the fake clock
        inner(cpt_, w_, is_open_, d1_, k)

    monkeypatch.setattr(K, "greedy_add", timed)
    is_open, d1 = np.zeros(m, dtype=np.bool_), np.full(n, big)
    how = rad.greedy_add_until(cpt, w, is_open, d1, 30, Deadline(0.025, clock=fc, cpu_clock=fc.cpu))
    # 10 ms, 10 ms, then 5 ms left < one chunk + the sampled scans: the other 10 by the stochastic greedy.
    assert how == "greedy+stochastic" and calls == [10, 10]
    assert int(is_open.sum()) == 30
    # d1 stays the true nearest open cost (the swap search relies on it).
    assert np.allclose(d1, cpt[is_open].min(axis=0))


def test_local_search_past_its_deadline_opens_p_sites_without_swaps(monkeypatch):
    import planner.locate._pmedian_kernels as K
    import planner.locate._pmedian_radius as rad

    cpt, w, _big = _greedy_instance()
    monkeypatch.setattr(K, "greedy_add", lambda *a: pytest.fail("greedy chunk started after the deadline"))
    monkeypatch.setattr(K, "swap_search", lambda *a: pytest.fail("swap scan started after the deadline"))
    fc = FakeClock()
    dl = Deadline(0.01, clock=fc, cpu_clock=fc.cpu)
    fc.t += 1.0
    sites = rad.local_search(cpt, w, np.zeros(0, dtype=np.int64), None, 8, deadline=dl)
    assert len(sites) == 8 == len(set(sites.tolist()))


def test_pmedian_and_attendance_warm_starts_are_given_a_deadline(monkeypatch):
    """The entry points hand the greedy a deadline (so it is chunked), not an unbounded call."""
    import planner.locate.pmedian as pm

    seen = []
    inner = pm.local_search

    def spy(*args, **kwargs):
        seen.append(kwargs.get("deadline"))
        return inner(*args, **kwargs)

    monkeypatch.setattr(pm, "local_search", spy)
    cost, w = _instance(60, seed=4)
    solve_pmedian(cost, w, p=6, time_limit_s=5.0, explain=False)
    solve_attendance(cost, w, p=6, cutoff_min=15.0, decay="exponential", beta=0.1, time_limit_s=5.0, explain=False)
    assert len(seen) == 2 and all(isinstance(d, Deadline) for d in seen)


def test_explanation_blocks_are_sized_to_end_near_the_deadline(monkeypatch):
    """A runner-up block cannot run far past the deadline: after the first (small) block, blocks
    are sized from the measured seconds per column and the time left (fake clock)."""
    import time as time_mod

    import planner.locate.explain as ex

    cost, w = _instance(60, seed=8)
    n = cost.shape[0]
    clock = {"t": 1000.0}
    monkeypatch.setattr(time_mod, "perf_counter", lambda: clock["t"])
    monkeypatch.setattr(ex, "_FIRST_BLOCK_ENTRIES", 5 * n)  # a first block of 5 columns
    per_col = 1e-4
    starts = []

    def score(D):
        starts.append((clock["t"], D.shape[1]))
        clock["t"] += per_col * D.shape[1]  # the score's cost, on the fake clock
        return w @ D

    open_sites = [3, 17, 41]
    assign = np.asarray(open_sites)[np.argmin(cost[:, open_sites], axis=1)]
    objective = float(w @ cost[:, open_sites].min(axis=1))
    deadline = clock["t"] + 0.004  # 40 columns' worth
    reports = ex.explain_by_distance(cost, open_sites, [], score, minimize=True, objective=objective,
                                     assignment=assign, weights=w, deadline=deadline)
    # One call scores every site's "without" layout; then runner-up blocks.
    assert starts[0][1] == len(open_sites)
    assert starts[1][1] == 5
    assert all(t <= deadline for t, _k in starts)
    assert clock["t"] <= deadline + 2 * per_col
    assert reports[0].explanation == "partial" and reports[-1].explanation == "partial"
    for s in reports:  # the batched "without" scores are the per-site ones
        rest = [k for k in open_sites if k != s.site]
        assert s.objective_without == pytest.approx(float(w @ cost[:, rest].min(axis=1)))


def test_radius_solver_skips_the_lagrangian_set_up_it_cannot_afford(monkeypatch, no_highs):
    """The relaxation's set-up (a row-wise sort) cannot be interrupted: estimated first, not started."""
    import planner.locate._pmedian_radius as rad

    cost, w = _instance(60, seed=4)
    exact = solve_pmedian(cost, w, p=6, time_limit_s=60)
    monkeypatch.setattr(rad, "lagrangian_setup_s", lambda n, m: 1e6)
    monkeypatch.setattr(rad, "_Lagrangian", lambda *a: pytest.fail("Lagrangian set up without the time for it"))
    res = solve_pmedian(cost, w, p=6, time_limit_s=5.0)
    assert res.status == "time_limit" and res.method == "interchange"
    assert res.bound <= exact.objective + 1e-6 <= res.objective + 2e-6
