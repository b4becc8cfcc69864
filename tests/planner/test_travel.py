"""Snapping and travel times, checked by hand on tiny networks and against networkx."""
from __future__ import annotations

import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point, Polygon

from planner.graph import build_road_graph
from planner.snap import snap_points
from planner.synthetic import synthetic_points, synthetic_roads
from planner.travel import accessibility, k_nearest, nearest_times, travel_time_matrix

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0


def line(*pts):
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


def pts(**named):
    return gpd.GeoDataFrame({"id": list(named)}, geometry=[Point(X0 + x, Y0 + y) for x, y in named.values()], crs=CRS)


@pytest.fixture
def loop_graph():
    """A one-way village road A(0,0) -> B(3000,0) and a two-way county loop B -> A.

    Village road: 3 km at 20 km/h = 9 min, only A -> B.
    County loop B (3000,0) -> (3000,1000) -> (0,1000) -> A: 5 km at 40 km/h = 7.5 min.
    An isolated village road far east (not connected).
    """
    r = gpd.GeoDataFrame(
        {"id": ["ab", "loop", "iso"], "road_class": ["village", "county", "village"], "oneway": [True, False, False]},
        geometry=[line((0, 0), (3000, 0)), line((3000, 0), (3000, 1000), (0, 1000), (0, 0)),
                  line((20000, 0), (21000, 0))],
        crs=CRS,
    )
    return build_road_graph(r)


def test_snap_mid_edge_fraction_and_access_leg(loop_graph):
    s = snap_points(loop_graph, pts(p1=(1000, 100), p2=(2500, -200)))
    assert list(s.reason) == ["", ""]
    np.testing.assert_allclose(s.fraction, [1 / 3, 2500 / 3000])
    np.testing.assert_allclose(s.access_m, [100, 200])
    np.testing.assert_allclose(s.access_min, [1.2, 2.4])  # 100 m / (5000/60 m/min)
    np.testing.assert_allclose(s.snap_xy, [[X0 + 1000, Y0], [X0 + 2500, Y0]])


def test_snap_reasons_never_drop_points(loop_graph):
    frame = pts(iso=(20500, 50), far=(10000, -5000), ok=(1500, 10))
    frame = pd_concat_missing(frame)
    s = snap_points(loop_graph, frame, max_snap_m=2000)
    assert list(s.ids) == ["iso", "far", "ok", "none"]
    assert list(s.reason) == ["disconnected_component", "too_far_from_road", "", "missing_geometry"]
    assert s.access_m[1] == pytest.approx(np.hypot(7000, 5000))  # distance reported even when too far
    json.dumps(s.to_dict())
    # main_component_only skips the fragment and walks to the main network instead
    s2 = snap_points(loop_graph, frame.iloc[[0]], max_snap_m=20000, main_component_only=True)
    assert s2.reason[0] == "" and s2.access_m[0] == pytest.approx(17500)  # onto the loop at (3000, 50)


def pd_concat_missing(frame):
    import pandas as pd

    extra = gpd.GeoDataFrame({"id": ["none"]}, geometry=[None], crs=CRS)
    return gpd.GeoDataFrame(pd.concat([frame, extra], ignore_index=True), crs=CRS)


def test_polygons_snap_by_representative_point(loop_graph):
    poly = Polygon([(X0 + 900, Y0 + 50), (X0 + 1100, Y0 + 50), (X0 + 1100, Y0 + 250), (X0 + 900, Y0 + 250)])
    s = snap_points(loop_graph, gpd.GeoDataFrame({"id": ["poly"]}, geometry=[poly], crs=CRS))
    assert s.reason[0] == "" and 50 <= s.access_m[0] <= 250


def test_hand_checked_times_one_way_and_same_edge(loop_graph):
    p = pts(p1=(1000, 100), p2=(2500, -200), q=(3000, 500))
    m = travel_time_matrix(loop_graph, p, p)
    t = m.to_frame()
    # same edge, with the one-way direction: 1.2 + (2500-1000) m at 20 km/h (4.5) + 2.4 = 8.1
    assert t.loc["p1", "p2"] == pytest.approx(8.1)
    # against the one-way: p2 -> B: 2.4 + 500 m (1.5) = 3.9; B -> A by the loop 7.5;
    # A -> p1: 1000 m (3.0) + 1.2 = 4.2; total 15.6
    assert t.loc["p2", "p1"] == pytest.approx(15.6)
    # q is on the loop 500 m from B (no access leg). p1 -> B: 1.2 + 6 = 7.2; B -> q: 0.75 -> 7.95
    assert t.loc["p1", "q"] == pytest.approx(7.95)
    # q -> p1: q -> A the long way: 4.5 km at 40 = 6.75, then A -> p1 4.2 -> 10.95
    assert t.loc["q", "p1"] == pytest.approx(10.95)
    assert np.diag(m.minutes).tolist() == [0, 0, 0]  # same place, no trip
    assert m.minutes.dtype == np.float32


def test_cutoff_marks_longer_trips_inf(loop_graph):
    p = pts(p1=(1000, 100), p2=(2500, -200))
    m = travel_time_matrix(loop_graph, p, p, cutoff_min=10)
    assert m.minutes[0, 1] == pytest.approx(8.1)
    assert np.isinf(m.minutes[1, 0])  # 15.6 > 10


def test_unreachable_rows_are_inf_with_reasons(loop_graph):
    p = pts(p1=(1000, 100), iso=(20500, 50), far=(10000, -5000))
    m = travel_time_matrix(loop_graph, p, p)
    assert np.isinf(m.minutes[1:, :]).all() and np.isinf(m.minutes[:, 1:]).all()
    assert list(m.origin_snap.reason) == ["", "disconnected_component", "too_far_from_road"]
    acc = accessibility(loop_graph, p, pts(b=(3000, 0)))
    assert list(acc["reason"]) == ["", "disconnected_component", "too_far_from_road"]
    assert acc.loc[0, "minutes"] == pytest.approx(7.2) and acc.loc[0, "facility_id"] == "b"
    assert acc.loc[1, "facility_id"] is None or acc.loc[1, "facility_id"] != acc.loc[1, "facility_id"]


def test_accessibility_direction_with_one_way(loop_graph):
    village = pts(p1=(1000, 100))
    facility = pts(f=(2500, 0))
    to_f = accessibility(loop_graph, village, facility)
    from_f = accessibility(loop_graph, village, facility, direction="from_facility")
    assert to_f.loc[0, "minutes"] == pytest.approx(1.2 + 4.5)
    # f -> B 1.5, loop 7.5, A -> p1 4.2
    assert from_f.loc[0, "minutes"] == pytest.approx(13.2)


def test_one_way_dead_end_gives_no_route():
    # a one-way spur leaving the network: nothing comes back from its far end
    r = gpd.GeoDataFrame({"id": ["main", "spur"], "road_class": ["county", "village"], "oneway": [False, True]},
                         geometry=[line((0, 0), (3000, 0)), line((3000, 0), (4000, 0))], crs=CRS)
    g = build_road_graph(r)
    acc = accessibility(g, pts(v=(3900, 10)), pts(f=(0, 0)))
    assert acc.loc[0, "reason"] == "no_route" and np.isinf(acc.loc[0, "minutes"])


def test_k_nearest_orders_and_skips_inf(loop_graph):
    p = pts(p1=(1000, 100), p2=(2500, -200), q=(3000, 500), iso=(20500, 50))
    m = travel_time_matrix(loop_graph, p.iloc[:1], p)
    k = k_nearest(m, 3)
    assert list(k["destination_id"]) == ["p1", "q", "p2"]  # 0, 7.95, 8.1
    assert list(k["rank"]) == [1, 2, 3]
    assert len(k_nearest(m, 10)) == 3  # iso is unreachable: left out
    with pytest.raises(ValueError):
        k_nearest(m, 0)


def _reference_times(graph, snaps_o, snaps_d):
    """Independent reference: split edges at every snap position in networkx."""
    g = nx.DiGraph()
    points = {}
    for tag, s in (("o", snaps_o), ("d", snaps_d)):
        for i in np.flatnonzero(s.ok):
            points.setdefault(int(s.edge[i]), []).append((float(s.fraction[i]), (tag, i), float(s.access_min[i])))

    def add(a, b, w):
        if a == b:
            return
        if not g.has_edge(a, b) or g[a][b]["w"] > w:
            g.add_edge(a, b, w=w)

    for e, (u, v, t, one) in enumerate(zip(graph.edge_u, graph.edge_v, graph.edge_minutes, graph.edge_oneway)):
        stops = sorted(points.get(e, []))
        chain = [(0.0, ("n", int(u)))] + [(f, ("s", e, k)) for k, (f, _, _) in enumerate(stops)] + [(1.0, ("n", int(v)))]
        for (fa, a), (fb, b) in zip(chain[:-1], chain[1:]):
            add(a, b, (fb - fa) * t)
            if not one:
                add(b, a, (fb - fa) * t)
        for k, (_, key, acc) in enumerate(stops):
            add(key, ("s", e, k), acc)
            add(("s", e, k), key, acc)
    out = np.full((len(snaps_o), len(snaps_d)), np.inf)
    for i in np.flatnonzero(snaps_o.ok):
        lengths = nx.single_source_dijkstra_path_length(g, ("o", i), weight="w")
        for j in np.flatnonzero(snaps_d.ok):
            out[i, j] = lengths.get(("d", j), np.inf)
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matrix_agrees_with_networkx_on_random_graphs(seed):
    roads = synthetic_roads(9, 11, spacing_m=350, drop_fraction=0.3, oneway_fraction=0.3, seed=seed)
    g = build_road_graph(roads.to_crs(4326), merge_tolerance_m=0.5)
    origins = synthetic_points(roads, 25, seed=seed + 100)
    dests = synthetic_points(roads, 30, seed=seed + 200)
    m = travel_time_matrix(g, origins, dests, max_snap_m=300)
    ref = _reference_times(g, m.origin_snap, m.destination_snap)
    finite = np.isfinite(ref)
    np.testing.assert_array_equal(np.isfinite(m.minutes), finite)
    np.testing.assert_allclose(m.minutes[finite], ref[finite], rtol=1e-5)
    assert finite.mean() > 0.5  # the test exercises real routes
    # node-to-node: the CSR search equals networkx on the graph's own model
    nxg = g.to_networkx()
    from scipy.sparse.csgraph import dijkstra

    src = [0, g.n_nodes // 2, g.n_nodes - 1]
    dist = dijkstra(g.minutes, indices=src)
    for row, s in zip(dist, src):
        ref_n = nx.single_source_dijkstra_path_length(nxg, s, weight="minutes")
        got = {n: row[n] for n in np.flatnonzero(np.isfinite(row))}
        assert set(got) == set(ref_n)
        for n, val in ref_n.items():
            assert got[n] == pytest.approx(val)
    # the nearest-destination search equals the row minimum of the matrix
    near, which = nearest_times(g, m.origin_snap, m.destination_snap)
    np.testing.assert_allclose(near, m.minutes.min(axis=1), rtol=1e-5)
    ok = np.isfinite(near)
    np.testing.assert_allclose(m.minutes[np.flatnonzero(ok), which[ok]], near[ok], rtol=1e-5)


def test_matrix_to_dict_is_json(loop_graph):
    p = pts(p1=(1000, 100), far=(10000, -5000))
    d = travel_time_matrix(loop_graph, p, p).to_dict()
    text = json.dumps(d)
    assert d["minutes"][1][1] is None and "too_far_from_road" in text


@pytest.mark.parametrize("canonical", [True, False])
def test_virtual_arcs_join_the_road_graph_as_a_full_merge_would(canonical):
    # the road rows are copied and the virtual nodes' arcs appended, instead of re-sorting
    # every arc for every question; the matrix must be the one a full merge gives
    import scipy.sparse as sp

    from planner.graph import _csr_min
    from planner.travel import _with_road_arcs

    rng = np.random.default_rng(5)
    n, size = 30, 36
    r, c = rng.integers(0, n, 120), rng.integers(0, n, 120)
    w = rng.uniform(0, 5, 120).round(1)  # ties and explicit zeros happen
    roads = _csr_min(r, c, w, (n, n))
    if not canonical:  # duplicate entries: the slow path must still keep the minimum
        roads = sp.csr_matrix((np.r_[roads.data, 0.5], np.r_[roads.indices, roads.indices[0]],
                               np.r_[roads.indptr[:2] + [0, 1], roads.indptr[2:] + 1]), shape=(n, n))
        assert not roads.has_canonical_format
    # arcs leaving virtual origins (rows >= n) and entering virtual destinations (cols >= n),
    # some of them twice
    ar = np.r_[rng.integers(n, size, 15), rng.integers(0, n, 15), [n, n]]
    ac = np.r_[rng.integers(0, n, 15), rng.integers(n, size, 15), [size - 1, size - 1]]
    av = np.r_[rng.uniform(0, 5, 30), [2.0, 1.0]]
    added = _csr_min(ar, ac, av, (size, size))
    merged = _with_road_arcs(roads, added)
    coo = roads.tocoo()
    expected = _csr_min(np.r_[coo.row, ar], np.r_[coo.col, ac], np.r_[coo.data, av], (size, size))
    assert np.array_equal(merged.indptr, expected.indptr)
    assert np.array_equal(merged.indices, expected.indices)
    assert np.array_equal(merged.data, expected.data)
