"""Contraction hierarchies: exact against csgraph Dijkstra, by hand, and through snapped points."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point

from planner.ch import build_hierarchy, graph_hierarchy, has_hierarchy, many_to_many, seeds_from_lists
from planner.graph import _csr_min, build_road_graph
from planner.snap import snap_points
from planner.synthetic import synthetic_points, synthetic_roads
from planner.travel import travel_time_matrix

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0

# the kernels are compiled (or loaded from numba's cache) once per session; keep
# the example counts moderate so the suite stays quick
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def raw_csr(n, u, v, w):
    """CSR keeping duplicate entries as they are (build_hierarchy must take their minimum)."""
    order = np.argsort(u, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(np.asarray(u, dtype=np.int64), minlength=n), out=indptr[1:])
    return sp.csr_matrix((np.asarray(w, float)[order], np.asarray(v, np.int32)[order], indptr), shape=(n, n))


def reference(n, u, v, w):
    """The same graph as csgraph sees it: minimum of parallel arcs, no self loops."""
    u, v, w = np.asarray(u, np.int64), np.asarray(v, np.int64), np.asarray(w, float)
    keep = u != v
    return _csr_min(u[keep], v[keep], w[keep], (n, n))


@st.composite
def directed_graphs(draw, max_nodes=24):
    n = draw(st.integers(1, max_nodes))
    m = draw(st.integers(0, 4 * n))
    u = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    v = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    # integers give exact ties (several shortest paths, witnesses of equal length);
    # zero-length arcs and floats too
    weight = st.one_of(st.integers(0, 6).map(float), st.floats(0, 10, allow_nan=False, allow_infinity=False))
    w = draw(st.lists(weight, min_size=m, max_size=m))
    two_way = draw(st.lists(st.booleans(), min_size=m, max_size=m))
    tw = np.asarray(two_way, dtype=bool)
    u_all = np.r_[np.asarray(u, np.int64), np.asarray(v, np.int64)[tw]]
    v_all = np.r_[np.asarray(v, np.int64), np.asarray(u, np.int64)[tw]]
    w_all = np.r_[np.asarray(w, float), np.asarray(w, float)[tw]]
    return n, u_all, v_all, w_all


@PROPERTY
@given(graph=directed_graphs(), data=st.data())
def test_many_to_many_equals_dijkstra(graph, data):
    n, u, v, w = graph
    ch = build_hierarchy(raw_csr(n, u, v, w))
    ref = reference(n, u, v, w)
    expected = dijkstra(ref, directed=True)
    np.testing.assert_allclose(many_to_many(ch, np.arange(n), np.arange(n)), expected, rtol=1e-12, atol=1e-12)
    sources = data.draw(st.lists(st.integers(0, n - 1), max_size=8))  # repeats allowed
    targets = data.draw(st.lists(st.integers(0, n - 1), max_size=8))
    limit = data.draw(st.floats(0, 20))
    got = many_to_many(ch, np.array(sources, dtype=np.int64), np.array(targets, dtype=np.int64), limit=limit)
    want = dijkstra(ref, directed=True, limit=limit)[np.ix_(sources, targets)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@PROPERTY
@given(graph=directed_graphs(max_nodes=16), data=st.data())
def test_seed_sets_equal_virtual_nodes(graph, data):
    """Multi-node sources/targets with offsets = Dijkstra on a graph with virtual nodes."""
    n, u, v, w = graph
    seed = st.tuples(st.integers(0, n - 1), st.floats(0, 5))
    src = data.draw(st.lists(st.lists(seed, max_size=3), min_size=1, max_size=5))
    tgt = data.draw(st.lists(st.lists(seed, max_size=3), min_size=1, max_size=5))
    limit = data.draw(st.sampled_from([np.inf, 3.0, 8.0]))
    s_ptr, s_nodes, s_off = seeds_from_lists(src)
    t_ptr, t_nodes, t_off = seeds_from_lists(tgt)
    got = many_to_many(build_hierarchy(raw_csr(n, u, v, w)), s_ptr, t_ptr, sources_init=(s_nodes, s_off),
                       targets_init=(t_nodes, t_off), limit=limit)

    n_s, n_t = len(src), len(tgt)
    s_virtual = n + np.repeat(np.arange(n_s), np.diff(s_ptr))
    t_virtual = n + n_s + np.repeat(np.arange(n_t), np.diff(t_ptr))
    keep = u != v
    aug = _csr_min(np.r_[u[keep], s_virtual, t_nodes], np.r_[v[keep], s_nodes, t_virtual],
                   np.r_[w[keep], s_off, t_off], (n + n_s + n_t,) * 2)
    want = dijkstra(aug, directed=True, indices=n + np.arange(n_s), limit=limit)[:, n + n_s + np.arange(n_t)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_shortcut_by_hand():
    """0 -> 1 -> 2 (1 + 2 min) beside a slow 0 -> 2 arc (5 min); one-way throughout.

    Contracting node 1 first leaves 0 and 2 without their only fast path, so the
    0 -> 2 arc must become a 3-minute shortcut via 1.  With a 2.5-minute direct
    arc instead, that arc is a witness and stays an original arc.
    """
    slow = build_hierarchy(raw_csr(3, [0, 1, 0], [1, 2, 2], [1.0, 2.0, 5.0]), order=[1, 0, 2])
    assert list(slow.rank) == [1, 0, 2]
    # rank 1 (node 0) -> rank 2 (node 2): 3 minutes via rank 0 (node 1)
    row = slice(slow.fwd_indptr[1], slow.fwd_indptr[2])
    assert list(slow.fwd_head[row]) == [2]
    assert slow.fwd_minutes[row][0] == 3.0 and slow.fwd_via[row][0] == 0
    assert slow.n_shortcuts == 1
    np.testing.assert_array_equal(many_to_many(slow, [0, 2], [2, 0]), [[3.0, 0.0], [0.0, np.inf]])

    fast = build_hierarchy(raw_csr(3, [0, 1, 0], [1, 2, 2], [1.0, 2.0, 2.5]), order=[1, 0, 2])
    assert fast.n_shortcuts == 0
    np.testing.assert_array_equal(many_to_many(fast, [0], [2]), [[2.5]])
    # the computed order finds the same distances
    np.testing.assert_array_equal(many_to_many(build_hierarchy(raw_csr(3, [0, 1, 0], [1, 2, 2], [1.0, 2.0, 5.0])),
                                               [0, 1, 2], [0, 1, 2]),
                                  [[0, 1, 3], [np.inf, 0, 2], [np.inf, np.inf, 0]])


def test_empty_graph_and_validation():
    ch = build_hierarchy(sp.csr_matrix((0, 0)))
    assert many_to_many(ch, [], []).shape == (0, 0)
    one = build_hierarchy(sp.csr_matrix((1, 1)))
    assert many_to_many(one, [0, 0], [0]).tolist() == [[0.0], [0.0]]
    with pytest.raises(ValueError, match="non-negative"):
        build_hierarchy(sp.csr_matrix(np.array([[0, -1.0], [0, 0]])))
    with pytest.raises(ValueError, match="outside"):
        many_to_many(one, [1], [0])
    with pytest.raises(ValueError, match="limit"):
        many_to_many(one, [0], [0], limit=-1)
    with pytest.raises(ValueError, match="permutation"):
        build_hierarchy(sp.csr_matrix((2, 2)), order=[0, 0])


def test_grid_graph_with_shortcuts_matches_dijkstra():
    roads = synthetic_roads(25, 25, spacing_m=300, seed=4, oneway_fraction=0.3)
    graph = build_road_graph(roads)
    ch = graph_hierarchy(graph)
    assert ch.n_shortcuts > 0 and graph_hierarchy(graph) is ch and has_hierarchy(graph)
    rng = np.random.default_rng(0)
    s = rng.choice(graph.n_nodes, 60, replace=False)
    t = rng.choice(graph.n_nodes, 70, replace=False)
    want = dijkstra(graph.minutes, directed=True, indices=s)[:, t]
    np.testing.assert_allclose(many_to_many(ch, s, t), want, rtol=1e-12)
    np.testing.assert_allclose(many_to_many(ch, s, t, limit=4.0), np.where(want <= 4.0, want, np.inf), rtol=1e-12)
    back = type(ch).from_arrays(ch.to_arrays())
    np.testing.assert_array_equal(many_to_many(back, s, t), many_to_many(ch, s, t))
    eager = build_hierarchy(graph.minutes, neighbour_updates=True, witness_settled=5, max_hops=2)
    np.testing.assert_allclose(many_to_many(eager, s, t), want, rtol=1e-12)  # weak witnesses: still exact


# -- through travel_time_matrix ------------------------------------------------------------


def line(*xy):
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


def test_snapped_points_ch_equals_dijkstra():
    """One-way roads, points sharing edges, copies of the same point, unreachable points."""
    roads = synthetic_roads(18, 18, spacing_m=300, seed=7, oneway_fraction=0.4, drop_fraction=0.3)
    graph = build_road_graph(roads)
    pts = synthetic_points(roads, 160, seed=3)
    pts = pts.iloc[np.r_[0:160, 0:20]].reset_index(drop=True)  # copies: same place, zero minutes
    dests = synthetic_points(roads, 120, seed=4)
    for snap_m in (60.0, 400.0):  # 60 m leaves many points unsnapped
        so = snap_points(graph, pts, max_snap_m=snap_m)
        sd = snap_points(graph, dests, max_snap_m=snap_m)
        assert so.ok.any() and (snap_m > 100 or (~so.ok).any())
        for a, b, sa, sb in ((pts, dests, so, sd), (pts, pts, so, so)):
            shared = np.isin(sa.edge[sa.ok], sb.edge[sb.ok]).sum()
            assert shared > 0  # same-edge pairs are exercised
            for cutoff in (None, 3.0):
                kw = dict(origin_snap=sa, destination_snap=sb, cutoff_min=cutoff)
                want = travel_time_matrix(graph, a, b, method="dijkstra", **kw).minutes
                got = travel_time_matrix(graph, a, b, method="ch", **kw).minutes
                assert got.dtype == np.float32
                np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
                np.testing.assert_allclose(got, want, rtol=1e-6)


def test_same_edge_and_one_way_by_hand():
    """The loop graph of test_travel: one-way A -> B village road, two-way county loop B -> A."""
    r = gpd.GeoDataFrame(
        {"id": ["ab", "loop", "iso"], "road_class": ["village", "county", "village"], "oneway": [True, False, False]},
        geometry=[line((0, 0), (3000, 0)), line((3000, 0), (3000, 1000), (0, 1000), (0, 0)),
                  line((20000, 0), (21000, 0))],
        crs=CRS,
    )
    graph = build_road_graph(r)
    p = gpd.GeoDataFrame({"id": ["p1", "p2", "q", "iso"]},
                         geometry=[Point(X0 + 1000, Y0 + 100), Point(X0 + 2500, Y0 - 200), Point(X0 + 3000, Y0 + 500),
                                   Point(X0 + 20500, Y0 + 50)], crs=CRS)
    m = travel_time_matrix(graph, p, p, method="ch").to_frame()
    assert m.loc["p1", "p2"] == pytest.approx(8.1)  # along the one-way edge: direct stretch
    assert m.loc["p2", "p1"] == pytest.approx(15.6)  # against it: round the loop
    assert m.loc["p1", "q"] == pytest.approx(7.95)
    assert m.loc["q", "p1"] == pytest.approx(10.95)
    assert np.isinf(m.loc["iso"]).all() and np.isinf(m["iso"]).all()
    assert [m.loc[k, k] for k in ("p1", "p2", "q")] == [0, 0, 0]
    cut = travel_time_matrix(graph, p, p, method="ch", cutoff_min=10).to_frame()
    assert cut.loc["p1", "p2"] == pytest.approx(8.1) and np.isinf(cut.loc["p2", "p1"])


def test_method_is_validated():
    r = gpd.GeoDataFrame({"id": ["a"]}, geometry=[line((0, 0), (1000, 0))], crs=CRS)
    graph = build_road_graph(r)
    p = gpd.GeoDataFrame({"id": ["x"]}, geometry=[Point(X0 + 10, Y0)], crs=CRS)
    with pytest.raises(ValueError, match="method"):
        travel_time_matrix(graph, p, p, method="astar")


def test_hierarchy_travels_with_the_graph_cache_arrays(tmp_path):
    from planner.graph import RoadGraph

    graph = build_road_graph(synthetic_roads(8, 8, spacing_m=300, seed=2, oneway_fraction=0.3))
    arrays, meta = graph.to_arrays()
    assert not any(k.startswith("ch_") for k in arrays)  # not built yet: nothing extra stored
    ch = graph_hierarchy(graph)
    arrays, meta = graph.to_arrays()
    np.savez(tmp_path / "g.npz", **arrays)
    with np.load(tmp_path / "g.npz", allow_pickle=False) as data:
        back = RoadGraph.from_arrays({k: data[k] for k in data.files}, meta)
    assert has_hierarchy(back)
    s = np.arange(back.n_nodes)
    np.testing.assert_array_equal(many_to_many(graph_hierarchy(back), s, s), many_to_many(ch, s, s))
    np.testing.assert_allclose(many_to_many(ch, s, s), dijkstra(back.minutes, directed=True))
