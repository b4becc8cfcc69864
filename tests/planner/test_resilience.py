"""Resilience: bridges, cut-off totals and detour minutes against hand values and brute force."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.graph import build_road_graph
from planner.resilience import (
    PieceNetwork,
    brute_force_cut_off,
    brute_force_detours,
    cut_off_analysis,
    detour_analysis,
    resilience_analysis,
)

CRS = "EPSG:32649"


def _roads(lines, ids=None, **cols):
    ids = ids or [f"r{i}" for i in range(len(lines))]
    return gpd.GeoDataFrame({"id": ids, "road_class": "village", **cols},
                            geometry=[shapely.LineString(c) for c in lines], crs=CRS)


def _points(xy, prefix="v", **cols):
    ids = [f"{prefix}{i + 1}" for i in range(len(xy))]
    return gpd.GeoDataFrame({"code": ids, "id": ids, "name": ids, "town": "t", **cols},
                            geometry=[shapely.Point(x, y) for x, y in xy], crs=CRS)


# --------------------------------------------------------------------------- hand-checked
def hand_county():
    """Triangle A(0,0) B(1000,0) C(500,800); a dead end B-D(2000,0)-E(3000,0).

    Village roads at 20 km/h: 3 min per km.  The town seat is at A.
    v1 halfway along D-E, v2 at E (the dead end), v3 halfway along A-B.
    """
    roads = _roads([[(0, 0), (1000, 0)], [(1000, 0), (500, 800)], [(500, 800), (0, 0)],
                    [(1000, 0), (2000, 0)], [(2000, 0), (3000, 0)]], ids=["ab", "bc", "ca", "bd", "de"])
    villages = _points([(2500, 0), (3000, 0), (500, 0)], population=[100, 200, 300],
                       monitored_unstable=[1, 2, 0], monitored_marginal=[0, 1, 5], produce_apple_t=[10.0, 20.0, 0.0])
    town = _points([(0, 0)], prefix="T")
    return build_road_graph(roads), villages, town


def test_hand_county_links_and_single_access():
    graph, villages, town = hand_county()
    r = resilience_analysis(graph, villages, town)
    # two links: B-D plus the first half of D-E cut off v1 and v2; the last half of D-E only v2
    assert r.links["village_ids"].tolist() == [["v1", "v2"], ["v2"]]
    top = r.links.iloc[0]
    assert top["road_ids"] == ["bd", "de"]
    assert top["length_m"] == pytest.approx(1500.0)
    assert top["population_cut"] == 300
    assert top["monitored_unstable_cut"] == 3 and top["monitored_marginal_cut"] == 1
    assert top["monitored_households_cut"] == 4
    assert top["produce_t_cut"] == 30
    second = r.links.iloc[1]
    assert second["road_ids"] == ["de"] and second["length_m"] == pytest.approx(500.0)
    assert second["population_cut"] == 200
    v = r.villages.set_index("village_id")
    assert v["single_access"].to_dict() == {"v1": True, "v2": True, "v3": False}
    assert v.loc["v1", "access_road_id"] == "de" and v.loc["v2", "access_road_id"] == "de"
    assert v.loc["v2", "bridges"] == 3 and v.loc["v1", "bridges"] == 2
    assert r.totals["villages_single_access"] == 2 and r.totals["population_single_access"] == 300
    # triangle edges are not bridges
    seg = r.segments
    assert not seg.loc[seg["road_id"].isin(["ab", "bc", "ca"]), "bridge"].any()


def test_hand_county_detours():
    graph, villages, town = hand_county()
    r = resilience_analysis(graph, villages, town)
    # v3 sits mid A-B, 1.5 min from A.  Losing A-v3 it goes v3-B-C-A: 1.5 + 2×2.8302 = 7.16 min (+5.66).
    side = 943.398113 * 3 / 1000
    d = r.detours.set_index(["road_id", "from_fraction"])
    first = d.loc[("ab", 0.0)]
    # v3: +2×2.8302 = 5.6604; v1, v2 (coming from B): B-A 3.0 becomes B-C-A 5.6604: +2.6604 each
    assert first["added_min_max"] == pytest.approx(2 * side, abs=1e-6)
    assert first["villages_delayed"] == 3
    assert first["added_min_sum"] == pytest.approx((2 * side - 0.0) + 2 * (2 * side - 3.0), abs=1e-6)
    assert first["person_min"] == pytest.approx(300 * 2 * side + 300 * (2 * side - 3.0), abs=1e-4)
    second = d.loc[("ab", 0.5)]
    assert second["villages_delayed"] == 2  # v3 does not use the B half
    assert second["added_min_max"] == pytest.approx(2 * side - 3.0, abs=1e-6)
    # the dead-end bridges lose the town for their villages
    seg = r.segments.set_index("road_id")
    assert seg.loc["bd", "villages_lost"] == 2
    v = r.villages.set_index("village_id")
    assert v.loc["v3", "minutes"] == pytest.approx(1.5)
    assert v.loc["v3", "worst_added_min"] == pytest.approx(2 * side, abs=1e-6)
    assert np.isinf(v.loc["v1", "worst_added_min"])


def test_parallel_roads_are_not_bridges():
    # two roads between the same junctions (an old and a new road): losing one cuts nothing
    roads = _roads([[(0, 0), (1000, 0)], [(0, 0), (500, 300), (1000, 0)], [(1000, 0), (2000, 0)]])
    graph = build_road_graph(roads)
    r = resilience_analysis(graph, _points([(2000, 0), (1000, 0)]), _points([(0, 0)], prefix="T"))
    seg = r.segments.set_index("road_id")
    assert not seg.loc["r0", "bridge"] and not seg.loc["r1", "bridge"]
    assert seg.loc["r2", "bridge"]
    assert r.links["village_ids"].tolist() == [["v1"]]


def test_village_mid_bridge_splits_it():
    # a village halfway along a dead-end road: only the stretch towards the network cuts it off
    roads = _roads([[(0, 0), (1000, 0)], [(1000, 0), (500, 500)], [(500, 500), (0, 0)], [(1000, 0), (3000, 0)]])
    graph = build_road_graph(roads)
    r = resilience_analysis(graph, _points([(2000, 0)]), None)
    assert r.links["village_ids"].tolist() == [["v1"]]
    assert r.links.iloc[0]["length_m"] == pytest.approx(1000.0)
    bridges = r.segments[r.segments["bridge"]]
    assert sorted(bridges["villages_cut"].tolist()) == [0.0, 1.0]  # the stretch beyond the village cuts nothing


def test_self_loop_and_unreachable_village():
    roads = _roads([[(0, 0), (1000, 0)], [(1000, 0), (1200, 200), (1000, 400), (1000, 0)]])
    graph = build_road_graph(roads)
    r = resilience_analysis(graph, _points([(0, 0), (50_000, 0)]), None, max_snap_m=1000)
    v = r.villages.set_index("village_id")
    assert v.loc["v2", "status"] == "too_far_from_road" and not v.loc["v2", "single_access"]
    assert not r.segments.loc[r.segments["road_id"] == "r1", "bridge"].any()


# --------------------------------------------------------------------------- brute force
@st.composite
def piece_networks(draw):
    n = draw(st.integers(2, 9))
    m = draw(st.integers(1, 16))
    u = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)))
    v = np.array(draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m)))
    minutes = np.array(draw(st.lists(st.integers(1, 9), min_size=m, max_size=m)), dtype=float)
    oneway = np.array(draw(st.lists(st.booleans(), min_size=m, max_size=m)))
    net = PieceNetwork(n_nodes=n, piece_u=u, piece_v=v, piece_edge=np.arange(m), piece_from=np.zeros(m),
                       piece_to=np.ones(m), piece_minutes=minutes, piece_oneway=oneway,
                       point_node=np.zeros(0, dtype=np.int64))
    k = draw(st.integers(1, 6))
    villages = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)))
    t = draw(st.integers(1, 3))
    targets = np.array(draw(st.lists(st.integers(0, n - 1), min_size=t, max_size=t)))
    offsets = np.array(draw(st.lists(st.integers(0, 3), min_size=t, max_size=t)), dtype=float)
    anchor = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    return net, villages, targets, offsets, anchor


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(piece_networks())
def test_cut_off_matches_brute_force(case):
    net, villages, _, _, anchor = case
    weights = np.zeros((net.n_nodes, 2))
    np.add.at(weights, villages, np.c_[np.ones(len(villages)), np.arange(1, len(villages) + 1)])
    cut = cut_off_analysis(net, weights, anchor_node=anchor)
    ref = brute_force_cut_off(net, weights, anchor_node=cut["root"])
    np.testing.assert_allclose(cut["cut"], ref)
    # a bridge is exactly a piece whose removal adds a component
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    def n_comp(keep):
        adj = coo_matrix((np.ones(int(keep.sum())), (net.piece_u[keep], net.piece_v[keep])),
                         shape=(net.n_nodes, net.n_nodes))
        return connected_components(adj, directed=False)[0]

    base = n_comp(np.ones(net.n_pieces, bool))
    for p in range(net.n_pieces):
        keep = np.arange(net.n_pieces) != p
        assert cut["is_bridge"][p] == (n_comp(keep) > base)
    # a village's bridge count is the number of bridges whose loss cuts it off
    lost = np.zeros(net.n_nodes)
    for p in np.flatnonzero(cut["is_bridge"]):
        for x in set(villages.tolist()):
            w = np.zeros((net.n_nodes, 1))
            w[x] = 1
            lost[x] += brute_force_cut_off(net, w, anchor_node=cut["root"], pieces=[p])[0, 0] > 0
    assert all(cut["count"][x] == lost[x] for x in set(villages.tolist()))


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(piece_networks())
def test_detours_match_brute_force(case):
    net, villages, targets, offsets, _ = case
    people = np.arange(1, len(villages) + 1, dtype=float) * 10
    det = detour_analysis(net, villages, people, targets, offsets)
    base, added = brute_force_detours(net, villages, targets, offsets)
    np.testing.assert_allclose(np.where(np.isfinite(base), det["dist"][villages], np.inf), base)
    finite = np.isfinite(added)
    delayed = finite & (added > 1e-9)
    lost = np.isinf(added) & np.isfinite(base)[None, :]
    np.testing.assert_allclose(det["villages_delayed"], delayed.sum(axis=1))
    np.testing.assert_allclose(det["villages_lost"], lost.sum(axis=1))
    np.testing.assert_allclose(det["added_min_sum"], np.where(delayed, added, 0).sum(axis=1), atol=1e-9)
    np.testing.assert_allclose(det["person_min"], (np.where(delayed, added, 0) * people).sum(axis=1), atol=1e-7)
    np.testing.assert_allclose(det["added_min_max"], np.where(delayed, added, 0).max(axis=1), atol=1e-9)
    # pieces off every route change no village's time
    assert not (delayed | lost)[~det["route_piece"]].any()


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000))
def test_county_level_matches_brute_force_on_random_roads(seed):
    """Through geometry: villages snapped mid-edge split the edges, then brute force on the same pieces."""
    from planner.resilience import split_network
    from planner.snap import snap_points
    from planner.synthetic import synthetic_points, synthetic_roads

    roads = synthetic_roads(4, 5, drop_fraction=0.45, oneway_fraction=0.2, seed=seed)
    graph = build_road_graph(roads)
    vill = synthetic_points(roads, 8, seed=seed)
    vill["town"] = "t"
    towns = synthetic_points(roads, 2, seed=seed + 1, prefix="T")
    r = resilience_analysis(graph, vill, towns, max_snap_m=5000)
    sv = snap_points(graph, vill, max_snap_m=5000, main_component_only=True)
    stp = snap_points(graph, towns, max_snap_m=5000, main_component_only=True)
    main = np.flatnonzero(graph.edge_component == graph.main_component)
    net = split_network(graph, np.r_[np.where(sv.ok, sv.edge, -1), np.where(stp.ok, stp.edge, -1)],
                        np.r_[sv.fraction, stp.fraction], edges=main)
    vn = net.point_node[: len(vill)]
    w = np.zeros((net.n_nodes, 2))
    on = vn >= 0
    np.add.at(w, vn[on], np.c_[np.ones(int(on.sum())), vill["population"].to_numpy()[on]])
    root = cut_off_analysis(net, w)["root"]
    ref = brute_force_cut_off(net, w, anchor_node=root)
    np.testing.assert_allclose(r.segments["villages_cut"], ref[:, 0])
    np.testing.assert_allclose(r.segments["population_cut"], ref[:, 1])
    # every single-access village is cut off by its access link
    for row in r.villages[r.villages["single_access"]].itertuples():
        link = r.links[r.links["link"] == row.access_link].iloc[0]
        assert row.village_id in link["village_ids"]
