"""The planning questions: coverage–budget curve, minimum sites for a coverage target, and
maximize attendance with distance decay -- each against brute force."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import TargetUnreachable
from planner.locate import coverage_curve, exhaustive, solve, solve_attendance, solve_lscp
from planner.locate.attendance import decay_factor
from web.cli import main

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def instances(draw, max_n=10, max_m=7):
    n = draw(st.integers(2, max_n))
    m = draw(st.integers(2, max_m))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    cost = rng.uniform(0, 40, size=(n, m)).round(1)
    cost[rng.random((n, m)) < 0.1] = np.inf
    w = rng.integers(0, 6, size=n).astype(float)
    w[0] = max(w[0], 1.0)
    return cost, w, rng


def _cover(cost, w, sites, r):
    if not len(sites):
        return 0.0
    return float(w[(cost[:, list(sites)] <= r).any(axis=1)].sum())


# ----------------------------------------------------------------------------- hand-checked
def test_curve_hand_checked_marginal_gains():
    # 4 villages (tonnes 50, 30, 15, 5), 3 candidates; site 0 reaches 0 and 1, site 1 reaches 2, site 2 reaches 3
    cost = np.array([[10, 99, 99], [10, 99, 99], [99, 10, 99], [99, 99, 10]], dtype=float)
    w = np.array([50.0, 30.0, 15.0, 5.0])
    curve = coverage_curve(cost, w, radius_min=30, k_max=3)
    assert [p.covered for p in curve.points] == [0, 80, 95, 100]
    assert [p.gain for p in curve.points] == [0, 80, 15, 5]
    assert [round(p.gain_share, 2) for p in curve.points] == [0, 0.8, 0.15, 0.05]
    assert curve.all_optimal
    assert [p.sites for p in curve.points] == [(), (0,), (0, 1), (0, 1, 2)]


@pytest.mark.parametrize("use_enumeration", [True, False])
@SETTINGS
@given(instances(), st.sampled_from([8.0, 15.0]))
def test_curve_points_are_the_brute_force_optima(monkeypatch, use_enumeration, inst, r):
    cost, w, _rng = inst
    monkeypatch.setattr(exhaustive, "ENABLED", use_enumeration)
    m = cost.shape[1]
    curve = coverage_curve(cost, w, radius_min=r, k_max=m, fixed=(0,))
    prev = None
    for pt in curve.points:
        best = max(_cover(cost, w, (0, *s), r) for s in itertools.combinations(range(1, m), pt.k))
        assert pt.covered == pytest.approx(best)
        assert pt.covered == pytest.approx(_cover(cost, w, (0, *pt.sites), r))
        assert pt.status == "optimal"
        if prev is not None:
            assert pt.gain == pytest.approx(pt.covered - prev)
        prev = pt.covered


@SETTINGS
@given(instances())
def test_budget_curve_is_the_brute_force_optimum_per_budget(inst):
    cost, w, rng = inst
    m = cost.shape[1]
    sc = rng.integers(1, 10, size=m).astype(float)
    budgets = [5.0, 10.0, 20.0]
    curve = coverage_curve(cost, w, radius_min=15.0, budgets_wan=budgets, site_cost_wan=sc)
    for pt, b in zip(curve.points[1:], budgets):
        best = max(_cover(cost, w, s, 15.0) for k in range(m + 1) for s in itertools.combinations(range(m), k)
                   if sc[list(s)].sum() <= b)
        assert pt.covered == pytest.approx(best) and pt.cost_wan <= b and pt.budget_wan == b


# ----------------------------------------------------------------------------- target share
@pytest.mark.parametrize("use_enumeration", [True, False])
@SETTINGS
@given(instances(), st.sampled_from([0.5, 0.8, 0.9, 1.0]))
def test_min_sites_for_a_target_share_is_the_brute_force_minimum(monkeypatch, use_enumeration, inst, share):
    cost, w, _rng = inst
    monkeypatch.setattr(exhaustive, "ENABLED", use_enumeration)
    m = cost.shape[1]
    r = 15.0
    total = w.sum()
    feasible = [s for k in range(m + 1) for s in itertools.combinations(range(m), k)
                if _cover(cost, w, s, r) >= share * total - 1e-9]
    if not feasible:
        with pytest.raises(TargetUnreachable):
            solve_lscp(cost, radius_min=r, weights=w, target_share=share)
        return
    res = solve_lscp(cost, radius_min=r, weights=w, target_share=share, explain=False)
    assert res.objective == min(len(s) for s in feasible) == len(res.new_sites)
    assert _cover(cost, w, res.new_sites, r) >= share * total - 1e-9
    assert res.status == "optimal"


def test_target_unreachable_says_the_best_share():
    cost = np.array([[5.0, 50.0], [50.0, 50.0]])
    with pytest.raises(TargetUnreachable) as info:
        solve_lscp(cost, radius_min=10, weights=[1.0, 1.0], target_share=0.9)
    assert info.value.params["best"] == "50.0%"
    assert "50.0%" in info.value.message("zh")


# ----------------------------------------------------------------------------- attendance
def test_decay_functions_hand_checked():
    d = np.array([0.0, 1.0, 10.0, 20.0, 30.0, np.inf])
    assert decay_factor(d, decay="linear", cutoff_min=20).tolist() == [1.0, 0.95, 0.5, 0.0, 0.0, 0.0]
    assert decay_factor(d, decay="power", cutoff_min=20, beta=1).tolist() == [1.0, 1.0, 0.1, 0.05, 0.0, 0.0]
    e = decay_factor(d, decay="exponential", cutoff_min=20, beta=0.1)
    assert e[2] == pytest.approx(np.exp(-1)) and e[4] == 0.0


def test_attendance_hand_checked():
    # village A (100 people) at 0/10 min from sites 0/1, village B (100) at 20/10: linear decay to 20 min.
    cost = np.array([[0.0, 10.0], [20.0, 10.0]])
    res = solve_attendance(cost, [100.0, 100.0], p=1, cutoff_min=20)
    # site 0: 100*1 + 100*0 = 100; site 1: 50 + 50 = 100 -> tie; with power decay site 0 wins clearly
    assert res.objective == pytest.approx(100.0)
    res = solve_attendance(cost, [100.0, 100.0], p=1, cutoff_min=20, decay="power", beta=1)
    assert res.new_sites == (0,) and res.objective == pytest.approx(100 + 100 / 20)


@pytest.mark.parametrize("use_enumeration", [True, False])
@SETTINGS
@given(instances(), st.sampled_from(["linear", "power", "exponential"]), st.integers(0, 3))
def test_attendance_is_the_brute_force_optimum(monkeypatch, use_enumeration, inst, decay, p):
    cost, w, rng = inst
    monkeypatch.setattr(exhaustive, "ENABLED", use_enumeration)
    m = cost.shape[1]
    p = min(p, m - 1)
    fixed = (m - 1,) if rng.random() < 0.5 else ()
    res = solve_attendance(cost, w, p=p, cutoff_min=25, decay=decay, fixed=fixed, explain=False)
    F = decay_factor(cost, decay=decay, cutoff_min=25)
    free = [j for j in range(m) if j not in fixed]

    def val(s):
        cols = list(fixed) + list(s)
        return float(w @ F[:, cols].max(axis=1)) if cols else 0.0

    best = max(val(s) for s in itertools.combinations(free, p))
    assert res.objective == pytest.approx(best) == pytest.approx(val(res.new_sites))
    assert res.status == "optimal"


def test_attendance_is_in_the_registry_and_cli(tmp_path):
    cost = np.array([[0.0, 10.0, 30.0], [20.0, 10.0, 5.0], [40.0, 15.0, 0.0]])
    np.save(tmp_path / "c.npy", cost)
    res = solve("attendance", cost, p=1, radius_min=20)
    assert res.model == "attendance" and res.status == "optimal"
    out = CliRunner().invoke(main, ["solve", "attendance", "--cost", str(tmp_path / "c.npy"), "--p", "1",
                                    "--radius", "20", "--decay", "exponential", "--beta", "0.1", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["model"] == "attendance" and data["params"]["decay"] == "exponential"


def test_cli_curve_and_target_share(tmp_path):
    cost = np.array([[10, 99, 99], [10, 99, 99], [99, 10, 99], [99, 99, 10]], dtype=float)
    np.save(tmp_path / "c.npy", cost)
    np.save(tmp_path / "w.npy", np.array([50.0, 30.0, 15.0, 5.0]))
    common = ["--cost", str(tmp_path / "c.npy"), "--weights", str(tmp_path / "w.npy"), "--radius", "30"]
    out = CliRunner().invoke(main, ["solve", "mclp", *common, "--curve", "3", "--json"])
    assert out.exit_code == 0, out.output
    assert [p["covered"] for p in json.loads(out.output)["points"]] == [0, 80, 95, 100]
    out = CliRunner().invoke(main, ["solve", "lscp", *common, "--target-share", "0.9", "--json"])
    assert json.loads(out.output)["objective"] == 2
    out = CliRunner(env={"RURALPLAN_LANG": "en"}).invoke(main, ["solve", "lscp", *common, "--target-share", "1.0",
                                                               "--weights", str(tmp_path / "w.npy")])
    assert out.exit_code == 0
