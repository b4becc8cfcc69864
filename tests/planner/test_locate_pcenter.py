"""p-center by row generation: every path of the covering decision against brute force.

The decision "can ``p`` sites cover every point within ``r``?" is answered by
packing / greedy / swap local search on all points, then by row generation
(Chen & Chen 2009; Contardo, Iori & Kramer 2019) whose sub-problems go to the
depth-first search or HiGHS.  Each path is switched on alone here (the
others off) so that a wrong "no" from the subset, a cover that misses a point
or a radius off by one level fails a test.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.locate import exhaustive, make_orlib_like_text, parse_orlib_pmed, solve_pcenter
from planner.locate import _pcenter_exact as pce
from planner.locate._pcenter_exact import cover_decision_rowgen, swap_search

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _brute_cover(a, p):
    """Smallest number of columns covering every row (None when even all columns do not)."""
    n, m = a.shape
    if n == 0:
        return 0
    for k in range(1, m + 1):
        for combo in itertools.combinations(range(m), k):
            if a[:, list(combo)].any(axis=1).all():
                return k
    return None


def _brute_pcenter(cost, p):
    """Exhaustive vertex p-center radius: the last site of each layout is vectorised."""
    n, m = cost.shape
    best = np.inf
    for head in itertools.combinations(range(m), p - 1):
        d = np.min(cost[:, list(head)], axis=1) if head else np.full(n, np.inf)
        tail = np.arange(head[-1] + 1 if head else 0, m)
        if tail.size:
            best = min(best, float(np.minimum(d[:, None], cost[:, tail]).max(axis=0).min()))
    return best


@pytest.fixture(params=["default", "search-only", "milp-only"])
def path(request, monkeypatch):
    """default: as shipped; search-only: no swap search (depth-first search decides);
    milp-only: neither swap nor depth-first search (HiGHS decides the sub-problems)."""
    if request.param != "default":
        monkeypatch.setattr(pce, "_SWAP_ITER", 0)
    if request.param == "milp-only":
        monkeypatch.setattr(pce, "_DFS_MAX_P", 0)
    return request.param


@SETTINGS
@given(n=st.integers(1, 14), m=st.integers(1, 9), p=st.integers(1, 4), density=st.floats(0.05, 0.6),
       seed=st.integers(0, 10_000), n_seed=st.integers(0, 3))
def test_rowgen_decision_matches_brute_force_and_its_subset_is_a_certificate(path, n, m, p, density, seed,
                                                                               n_seed):
    rng = np.random.default_rng(seed)
    a = rng.random((n, m)) < density
    k = _brute_cover(a, p)
    expected = k is not None and k <= p
    seed_rows = rng.choice(n, size=min(n_seed, n), replace=False)
    ok, cols, _how, rows = cover_decision_rowgen(a, p, deadline=1e18, seed_rows=seed_rows)
    assert ok is expected
    if ok:
        assert len(cols) <= p and a[:, cols].any(axis=1).all()
    elif a.any(axis=1).all():
        # "No" is proven on the returned points alone: they cannot be covered by p sites either.
        k_sub = _brute_cover(a[rows], p)
        assert k_sub is None or k_sub > p


@SETTINGS
@given(n=st.integers(1, 16), m=st.integers(1, 10), p=st.integers(1, 5), density=st.floats(0.05, 0.7),
       seed=st.integers(0, 10_000))
def test_swap_search_returns_only_true_covers(n, m, p, density, seed):
    rng = np.random.default_rng(seed)
    a = rng.random((n, m)) < density
    s = swap_search(a, p, max_iter=200)
    k = _brute_cover(a, p)
    if k is None or k > p:
        assert s is None
    elif s is not None:
        assert len(s) <= p and len(set(s.tolist())) == len(s) and a[:, s].any(axis=1).all()


@pytest.mark.parametrize("seed", range(12))
def test_swap_search_finds_a_planted_cover(seed):
    """p planted sites partition the points; decoys cover random halves of two blocks each."""
    rng = np.random.default_rng(seed)
    p, per = 6, 12
    n = p * per
    block = np.repeat(np.arange(p), per)
    planted = np.stack([block == b for b in range(p)], axis=1)
    decoys = []
    for _ in range(60):
        b1, b2 = rng.choice(p, 2, replace=False)
        decoys.append(((block == b1) | (block == b2)) & (rng.random(n) < 0.6))
    a = np.concatenate([np.stack(decoys, axis=1), planted], axis=1)
    a = a[:, rng.permutation(a.shape[1])]
    s = swap_search(a, p, max_iter=2000)
    assert s is not None and len(s) == p and a[:, s].any(axis=1).all()
    assert swap_search(a, p - 1, max_iter=300) is None  # p - 1 cannot cover p disjoint blocks


@pytest.mark.parametrize("n,p,seed", [(28, 3, 1), (30, 4, 2), (32, 4, 3), (22, 5, 4), (20, 6, 5), (36, 3, 6)])
def test_pcenter_orlib_like_without_enumeration_matches_brute_force(path, monkeypatch, n, p, seed):
    monkeypatch.setattr(exhaustive, "ENABLED", False)  # the binary search, not enumeration
    inst = parse_orlib_pmed(make_orlib_like_text(n, p, seed=seed))
    best = _brute_pcenter(inst.cost, p)
    res = solve_pcenter(inst.cost, p=p, time_limit_s=60, explain=False)
    assert res.status == "optimal"
    assert res.objective == best == res.bound
    assert np.min(inst.cost[:, list(res.new_sites)], axis=1).max() == res.objective
    assert len(res.new_sites) == p


@pytest.mark.parametrize("seed", range(4))
def test_pcenter_with_fixed_sites_and_zero_weights_matches_brute_force(monkeypatch, seed):
    """Points served by a fixed site leave the covering rows; zero-weight points never count."""
    monkeypatch.setattr(exhaustive, "ENABLED", False)
    inst = parse_orlib_pmed(make_orlib_like_text(30, 3, seed=100 + seed))
    rng = np.random.default_rng(seed)
    w = (rng.random(30) < 0.8).astype(float)
    fixed = (int(rng.integers(30)),)
    free = [j for j in range(30) if j != fixed[0]]
    best = min(np.min(inst.cost[:, list(fixed + s)], axis=1)[w > 0].max() for s in itertools.combinations(free, 3))
    res = solve_pcenter(inst.cost, p=3, fixed=fixed, weights=w, time_limit_s=60, explain=False)
    assert res.status == "optimal" and res.objective == best == res.bound
    sites = list(fixed) + list(res.new_sites)
    assert np.min(inst.cost[:, sites], axis=1)[w > 0].max() == best


@pytest.mark.slow
@pytest.mark.parametrize("n,p,seed", [(400, 10, 1006), (600, 10, 1016), (900, 5, 1026)])
def test_pcenter_orlib_like_hard_shapes_are_proven(n, p, seed):
    """The shapes left unproven before row generation (bench_locate's seeds): optimal with a cover
    at the radius and a proof that one level less is impossible (its point subset re-checked by scipy's MILP)."""
    inst = parse_orlib_pmed(make_orlib_like_text(n, p, seed=seed))
    res = solve_pcenter(inst.cost, p=p, time_limit_s=120, explain=False)
    assert res.status == "optimal" and res.bound == res.objective
    assert np.min(inst.cost[:, list(res.new_sites)], axis=1).max() == res.objective
    below = np.unique(inst.cost[inst.cost < res.objective]).max()
    ok, _cols, _how, rows = cover_decision_rowgen(inst.cost <= below, p, deadline=1e18)
    assert ok is False
    # Independent check of the certificate: scipy's MILP on the subset needs more than p sites.
    from scipy.optimize import Bounds, LinearConstraint, milp

    sub = (inst.cost[rows] <= below).astype(float)
    out = milp(np.ones(sub.shape[1]), constraints=LinearConstraint(sub, lb=1), integrality=np.ones(sub.shape[1]),
               bounds=Bounds(0, 1))
    assert out.status == 0 and round(out.fun) > p


@pytest.mark.parametrize("limit_s", [0.02, 0.2])
def test_pcenter_under_a_tiny_time_limit_is_honest(limit_s):
    """Cut short, the answer is still its sites' radius, the bound a proven one (<= the optimum 41)."""
    inst = parse_orlib_pmed(make_orlib_like_text(400, 10, seed=1006))
    res = solve_pcenter(inst.cost, p=10, time_limit_s=limit_s, explain=False)
    assert np.min(inst.cost[:, list(res.new_sites)], axis=1).max() == res.objective >= 41
    assert res.bound <= 41
    assert res.status == "optimal" if res.objective == res.bound else res.status in ("time_limit", "feasible")


def test_warm_kernels_runs_and_the_kernels_answer_a_3x3_question():
    pce.warm_kernels()
    a = np.eye(3, dtype=bool)
    a[0, 1] = True  # site 1 covers points 0 and 1: two sites suffice, one does not
    assert pce.dfs_cover(a, 2)[0] is True and pce.dfs_cover(a, 1)[0] is False
    s = swap_search(a, 2, max_iter=10)
    assert s is not None and a[:, s].any(axis=1).all()
    assert list(pce._pick_rows(a, np.arange(3), 3)) == [1, 2]  # rows 0 and 1 share site 1


@pytest.mark.parametrize("n,p,seed", [(50, 3, 0), (45, 4, 1), (34, 4, 2), (60, 2, 3)])
def test_pcenter_real_valued_times_bound_first_matches_brute_force(monkeypatch, n, p, seed):
    """Real-valued minutes (> 1000 distinct levels): the heuristic upper bound first, then "no" below it."""
    from planner.locate import pcenter as pcenter_module

    monkeypatch.setattr(exhaustive, "ENABLED", False)
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 60, (n, 2))
    cost = np.hypot(*(xy[:, None, :] - xy[None]).transpose(2, 0, 1)) * rng.uniform(1.1, 1.6, (n, n))
    assert len(np.unique(cost)) > pcenter_module._BOUND_FIRST_LEVELS
    best = _brute_pcenter(cost, p)
    res = solve_pcenter(cost, p=p, time_limit_s=60, explain=False)
    assert res.status == "optimal" and res.objective == best == res.bound
    assert np.min(cost[:, list(res.new_sites)], axis=1).max() == res.objective


@pytest.mark.parametrize("n,p,seed", [(28, 3, 1), (30, 4, 2), (20, 6, 5)])
def test_pcenter_bound_first_on_integer_times_matches_brute_force(monkeypatch, n, p, seed):
    from planner.locate import pcenter as pcenter_module

    monkeypatch.setattr(exhaustive, "ENABLED", False)
    monkeypatch.setattr(pcenter_module, "_BOUND_FIRST_LEVELS", 0)
    inst = parse_orlib_pmed(make_orlib_like_text(n, p, seed=seed))
    best = _brute_pcenter(inst.cost, p)
    res = solve_pcenter(inst.cost, p=p, time_limit_s=60, explain=False)
    assert res.status == "optimal" and res.objective == best == res.bound


# ---------------------------------------------------------------------------
# the pigeonhole (packing) lower bound from the farthest-first points (issue 12)


def _brute_pcenter_fixed(cost, p, fixed):
    """Exhaustive p-center radius with always-open ``fixed`` columns."""
    n, m = cost.shape
    free = [j for j in range(m) if j not in set(fixed)]
    best = np.inf
    for combo in itertools.combinations(free, p):
        cols = list(fixed) + list(combo)
        best = min(best, float(cost[:, cols].min(axis=1).max()))
    return best


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(4, 10), p=st.integers(1, 3), metric=st.booleans(),
       n_fixed=st.integers(0, 2))
def test_packing_lower_bound_never_exceeds_the_brute_force_radius(seed, n, p, metric, n_fixed):
    rng = np.random.default_rng(seed)
    m = n
    if metric:
        xy = rng.uniform(0, 50, size=(n, 2))
        cost = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)).round(1)
    else:  # road times need not obey the triangle inequality
        cost = rng.uniform(0, 50, size=(n, m)).round(1)
    fixed = np.sort(rng.choice(m, size=min(n_fixed, m - p - 1), replace=False)).astype(np.int64)
    free = np.setdiff1d(np.arange(m), fixed)
    optimum = _brute_pcenter_fixed(cost, p, fixed.tolist())
    fixed_d = cost[:, fixed].min(axis=1) if len(fixed) else np.full(n, np.inf)
    _sites, far = pce.farthest_first(cost, p, fixed, return_points=True)
    assert len(far) == p + 1
    lb = pce.packing_lower_bound(cost[:, free], far, fixed_d, p, float("inf"))
    assert lb <= optimum + 1e-9
    # Any p + 1 distinct points give a valid bound, not only the farthest-first ones.
    other = rng.choice(n, size=p + 1, replace=False)
    assert pce.packing_lower_bound(cost[:, free], other, fixed_d, p, float("inf")) <= optimum + 1e-9
    # And the solver's answer out of time keeps it: bound <= optimum <= objective.
    res = solve_pcenter(cost, p=p, fixed=fixed, time_limit_s=1e-6)
    assert res.bound <= optimum + 1e-9 <= res.objective + 2e-9


def test_packing_lower_bound_hand_checked():
    # Points on a line at 0, 10, 20 (also the candidates), p = 2: two of the three
    # share a site; every vertex shared by a pair is 10 from one of them (the
    # midpoint 5 is no candidate), so radius >= 10 = the optimum.
    x = np.array([0.0, 10.0, 20.0])
    cost = np.abs(x[:, None] - x[None, :])
    assert pce.packing_lower_bound(cost, np.array([0, 1, 2]), np.full(3, np.inf), 2, float("inf")) == 10.0
    # Fewer than p + 1 distinct points prove nothing.
    assert pce.packing_lower_bound(cost, np.array([0, 0, 2]), np.full(3, np.inf), 2, float("inf")) == -np.inf
    # A fixed site within 4 of point 0 caps the bound at 4 (point 0 may be served by it).
    assert pce.packing_lower_bound(cost, np.array([0, 1, 2]), np.array([4.0, 9.0, 9.0]), 2, float("inf")) == 4.0


def test_pcenter_out_of_time_has_a_positive_bound_when_points_are_candidates():
    """Every point a candidate: max_i min_j c_ij = 0, yet the out-of-time gap is below 100 %."""
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 50, size=(40, 2))
    cost = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)).round(1)
    assert float(cost.min(axis=1).max()) == 0.0
    exact = solve_pcenter(cost, p=4, time_limit_s=60, explain=False)
    assert exact.status == "optimal"
    res = solve_pcenter(cost, p=4, time_limit_s=1e-6)
    assert res.status == "time_limit"
    assert 0.0 < res.bound <= exact.objective + 1e-9 <= res.objective + 2e-9
    assert res.gap < 1.0
