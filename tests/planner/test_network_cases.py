"""Handed network cases (../shared/cases/net-*) and their siblings, with hand-computed values.

Speeds (JTG B01-2014 defaults): township 30 km/h, village 20 km/h, expressway 100 km/h,
walking (access) 5 km/h = 83.33 m/min.  At 35.35° N one degree of longitude is 90.8 km.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from planner.coverage import coverage_summary
from planner.graph import build_road_graph
from planner.placement import plan_placement
from planner.snap import snap_points
from planner.travel import accessibility, travel_time_matrix
from tests.conftest import shared_case

WALK_M_PER_MIN = 5000 / 60


def _read(case, name):
    return gpd.read_file(shared_case(case, name))


def _expressway_roads():
    """The case's roads with R4 (G5高速) classed as the importer now classes it: expressway.

    The file carries it as "national" (what the old OSM mapping produced: motorway →
    national); the right answer is for the road as an expressway.
    """
    roads = _read("net-expressway", "roads_with_expressway.geojson")
    roads.loc[roads["id"] == "R4", "road_class"] = "expressway"
    return roads


def test_net_expressway_village_walks_to_ordinary_road_31_4_min():
    # 高速旁村 is 30 m from the expressway and 230 m from the township road R1; the only
    # interchange is R1's west end.  Hand value: walk 230 m (2.76 min) + R1 from
    # x=111.3650 to the store's projection x=111.2110 (0.154° = 13.99 km at 30 km/h =
    # 27.98 min) + the store's 50 m walk (0.60 min) = 31.34 min; driving on via the
    # interchange would only add the expressway's 12 min.
    graph = build_road_graph(_expressway_roads())
    villages = _read("net-expressway", "villages.geojson")
    stores = _read("net-expressway", "cold_storage.geojson")
    acc = accessibility(graph, villages, stores)
    t = dict(zip(acc["village_name"], acc["minutes"]))
    assert t["高速旁村"] == pytest.approx(31.4, abs=0.05)  # was 14.4 (snapped onto the expressway)
    assert t["单行路村"] == pytest.approx(31.0, abs=0.1)  # 700 m walk to R1, not 500 m to the expressway
    snap = snap_points(graph, villages)
    assert not graph.edge_access_controlled[snap.edge].any()
    # the ground truth does not depend on whether the expressway is in the data at all
    plain = build_road_graph(_read("net-expressway", "roads_without_expressway.geojson"))
    np.testing.assert_allclose(acc["minutes"], accessibility(plain, villages, stores)["minutes"], atol=1e-6)


def test_net_expressway_coverage_2_of_5_and_placement_uses_the_same_times():
    graph = build_road_graph(_expressway_roads())
    villages = _read("net-expressway", "villages.geojson")
    stores = _read("net-expressway", "cold_storage.geojson")
    summary = coverage_summary(graph, villages, stores, cutoff_min=30)
    assert summary.totals["villages_covered"] == 2  # 近库村 9.8 min, 断头路村 19.0 min; was 4 of 5
    assert set(summary.villages.loc[summary.villages["status"] == "covered", "village_name"]) == {"近库村", "断头路村"}
    # placement with the store as the only (existing) site sees the same 2 villages covered
    plan = plan_placement(graph, villages, stores.assign(id="C0"), existing=stores, model="mclp", p=0, minutes=30,
                          demand="villages", time_limit_s=5)
    assert plan.totals["covered_before"] == pytest.approx(2)
    matrix = travel_time_matrix(graph, villages, stores)
    np.testing.assert_allclose(matrix.minutes[:, 0], summary.villages["minutes"], rtol=1e-5)


CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0


def _roads(rows):
    return gpd.GeoDataFrame({"id": [r[0] for r in rows], "road_class": [r[1] for r in rows]},
                            geometry=[LineString([(X0 + x, Y0 + y) for x, y in r[2]]) for r in rows], crs=CRS)


def _pts(**named):
    return gpd.GeoDataFrame({"id": list(named)}, geometry=[Point(X0 + x, Y0 + y) for x, y in named.values()], crs=CRS)


def test_expressway_sibling_overpass_is_no_junction_and_undershoot_is_not_joined():
    # An expressway crossing a village road without an interchange (an overpass), with
    # node_at_crossings on, and a village road ending 3 m short of it, with merging on:
    # neither may become an entrance.  The only interchange is at x=0.
    roads = _roads([
        ("E", "expressway", [(0, 0), (10_000, 0)]),
        ("link", "county", [(0, 0), (0, -1000)]),
        ("cross", "village", [(5000, -1000), (5000, 1000)]),
        ("stub", "village", [(8000, -1000), (8000, -3)]),
    ])
    graph = build_road_graph(roads, node_at_crossings=True, merge_tolerance_m=5)
    stores = _pts(store=(0, -1000))
    # a village on the crossing road cannot get onto the expressway: its road is a
    # fragment of the network (2 km, connected to nothing), so it has no way at all
    acc = accessibility(graph, _pts(v=(5000, -500), w=(8000, -500)), stores)
    assert np.isinf(acc["minutes"]).all()
    assert list(acc["reason"]) == ["disconnected_component", "disconnected_component"]
    assert graph.n_nodes == 2 + 2 + 2 + 1  # no node was added on the expressway
    # with a real interchange at x=5000 (a shared vertex) it drives 5 km at 100 km/h
    roads2 = _roads([
        ("E", "expressway", [(0, 0), (5000, 0), (10_000, 0)]),
        ("link", "county", [(0, 0), (0, -1000)]),
        ("cross", "village", [(5000, -1000), (5000, 0), (5000, 1000)]),
    ])
    acc2 = accessibility(build_road_graph(roads2), _pts(v=(5000, -500)), stores)
    # 500 m village road (1.5 min) + 5 km expressway (3 min) + 1 km county road (1.5 min)
    assert acc2["minutes"].iloc[0] == pytest.approx(1.5 + 3.0 + 1.5)


def test_expressway_class_is_configurable():
    from planner.graph import SpeedTable

    table = SpeedTable(class_speeds_kmh={"expressway": 120})
    assert table.speed_kmh("expressway") == 120
    assert SpeedTable.from_dict(table.to_dict()) == table
    # a county may declare no access control at all (then an expressway is an ordinary road)
    open_table = SpeedTable(access_controlled=())
    graph = build_road_graph(_expressway_roads(), speed_table=open_table)
    assert not graph.edge_access_controlled.any()


def test_net_fragment_village_snaps_to_main_network_19_min_with_warning():
    # 断头路村 is 30 m from a stray village road R2 (0.5 km, connected to nothing) and
    # 330 m from R1.  Hand value: walk 330 m (3.96 min) + R1 from x=111.2902 to
    # x=111.2110 (0.0792° = 7.20 km, 14.40 min) + the store's 50 m walk (0.60 min) =
    # 18.96 min.
    roads = _read("net-fragment", "roads_main_plus_fragment.geojson")
    villages = _read("net-fragment", "villages.geojson")
    stores = _read("net-fragment", "cold_storage.geojson")
    graph = build_road_graph(roads)
    acc = accessibility(graph, villages, stores, max_snap_m=1000)
    row = acc[acc["village_name"] == "断头路村"].iloc[0]
    assert row["reason"] == ""  # was disconnected_component
    assert row["minutes"] == pytest.approx(19.0, abs=0.05)
    snap = snap_points(graph, villages, max_snap_m=1000)
    warnings = snap.warnings()
    assert len(warnings) == 1
    w = warnings[0]
    assert (w["code"], w["name"], w["fragment_road_id"]) == ("fragment_nearer", "断头路村", "R2")
    assert w["fragment_m"] == pytest.approx(30, abs=1) and w["network_m"] == pytest.approx(330, abs=1)
    assert w["fragment_lonlat"] == pytest.approx([111.2902, 35.3525], abs=1e-3)
    # the same times as without the fragment
    plain = build_road_graph(_read("net-fragment", "roads_main_only.geojson"))
    np.testing.assert_allclose(acc["minutes"], accessibility(plain, villages, stores, max_snap_m=1000)["minutes"])


def test_fragment_siblings_truly_unreachable_points_keep_reasons_with_distances():
    roads = _roads([
        ("main", "county", [(0, 0), (20_000, 0)]),
        ("frag", "village", [(5000, 3000), (5500, 3000)]),
    ])
    graph = build_road_graph(roads)
    snap = snap_points(graph, _pts(frag_only=(5200, 3050), nothing=(15_000, 5000)), max_snap_m=1000)
    assert list(snap.reason) == ["disconnected_component", "too_far_from_road"]
    assert snap.fragment_m[0] == pytest.approx(50) and snap.network_m[0] == pytest.approx(3050)
    assert np.isnan(snap.fragment_m[1]) and snap.network_m[1] == pytest.approx(5000)
    assert [w["code"] for w in snap.warnings()] == ["fragment_only"]
    cov = coverage_summary(graph, _pts(frag_only=(5200, 3050), nothing=(15_000, 5000)), _pts(s=(0, 0)),
                           cutoff_min=60, max_snap_m=1000)
    u = cov.uncovered.set_index("village_id")
    assert list(u["reason"]) == ["disconnected_component", "too_far_from_road"]
    assert u.loc["frag_only", "fragment_m"] == pytest.approx(50) and u.loc["nothing", "network_m"] == pytest.approx(5000)


def test_fragment_sibling_second_real_network_is_not_cut_off():
    # An island part of a county: 8 km of its own roads with its own store.  It is not a
    # fragment; its villages are reachable from its store and not from the mainland's.
    main = [(f"m{i}", "county", [(i * 1000, 0), ((i + 1) * 1000, 0)]) for i in range(20)]
    island = [(f"i{i}", "county", [(i * 1000, 50_000), ((i + 1) * 1000, 50_000)]) for i in range(8)]
    graph = build_road_graph(_roads(main + island))
    villages = _pts(main_v=(2000, 100), island_v=(3000, 50_100))
    stores = _pts(main_s=(10_000, 0), island_s=(7000, 50_000))
    snap = snap_points(graph, villages)
    assert list(snap.reason) == ["", ""]
    acc = accessibility(graph, villages, stores)
    assert list(acc["facility_id"]) == ["main_s", "island_s"]
    # 100 m walk (1.2 min) + 8 km / 4 km at 40 km/h
    np.testing.assert_allclose(acc["minutes"], [1.2 + 12.0, 1.2 + 6.0])
    m = travel_time_matrix(graph, villages, stores)
    assert np.isinf(m.minutes[0, 1]) and np.isinf(m.minutes[1, 0])
