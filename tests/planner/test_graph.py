"""Road graph construction: noding, merging, speeds, one-way, components, caching."""
from __future__ import annotations

import io
import json

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, MultiLineString

from planner.graph import DEFAULT_CLASS_SPEEDS_KMH, RoadGraph, SpeedTable, build_road_graph, roads_fingerprint
from planner.synthetic import synthetic_roads

# A metric CRS for hand-made networks, so lengths in the tests are plain metres.
CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0


def line(*pts):
    return LineString([(X0 + x, Y0 + y) for x, y in pts])


def roads(*geoms, **cols):
    n = len(geoms)
    data = {"id": [f"r{i}" for i in range(n)], "road_class": ["village"] * n}
    data.update(cols)
    return gpd.GeoDataFrame(data, geometry=list(geoms), crs=CRS)


def test_default_speed_table_documented_values():
    table = SpeedTable()
    assert dict(table.class_speeds_kmh) == {
        "expressway": 100, "national": 80, "provincial": 60, "county": 40, "township": 30, "village": 20,
        "other": 15}
    assert table.speed_kmh("county", "unpaved") == pytest.approx(40 * 0.6)
    assert table.speed_kmh("unknown-class") == 15
    custom = SpeedTable(class_speeds_kmh={"village": 25}, unpaved_factor=0.5)
    assert custom.speed_kmh("village", "unpaved") == 12.5
    assert custom.speed_kmh("national") == DEFAULT_CLASS_SPEEDS_KMH["national"]
    with pytest.raises(ValueError, match="positive"):
        SpeedTable(class_speeds_kmh={"village": 0})


def test_edge_minutes_from_class_surface_and_override():
    # 3 km each: village 20 km/h -> 9 min; county unpaved 24 km/h -> 7.5 min;
    # national with speed_kmh 60 -> 3 min; NaN speed_kmh falls back to the table.
    r = roads(line((0, 0), (3000, 0)), line((0, 1000), (3000, 1000)), line((0, 2000), (3000, 2000)),
              line((0, 3000), (3000, 3000)),
              road_class=["village", "county", "national", "township"],
              surface=["paved", "unpaved", "paved", "paved"], speed_kmh=[np.nan, np.nan, 60.0, np.nan])
    g = build_road_graph(r)
    order = np.argsort(g.edge_road)
    np.testing.assert_allclose(g.edge_length_m[order], 3000.0)
    np.testing.assert_allclose(g.edge_minutes[order], [9.0, 7.5, 3.0, 6.0])
    np.testing.assert_allclose(g.edge_speed_kmh[order], [20, 24, 60, 30])


def test_nodes_at_ends_and_shared_interior_vertices_only():
    # A plus shape whose two lines share the vertex (1000, 0); a second vertex of
    # the horizontal line at (500, 0) is a shape point, not a node.
    r = roads(line((0, 0), (500, 0), (1000, 0), (2000, 0)), line((1000, -1000), (1000, 0), (1000, 1000)))
    g = build_road_graph(r)
    assert g.n_nodes == 5
    assert g.n_edges == 4
    np.testing.assert_allclose(np.sort(g.edge_length_m), [1000, 1000, 1000, 1000])
    assert g.summary()["n_components"] == 1


def test_crossing_without_shared_vertex_is_noded_only_on_request():
    r = roads(line((0, 0), (2000, 0)), line((1000, -1000), (1000, 1000)))
    plain = build_road_graph(r)
    assert plain.n_nodes == 4 and plain.summary()["n_components"] == 2  # a bridge, as far as we know
    noded = build_road_graph(r, node_at_crossings=True)
    assert noded.n_nodes == 5 and noded.n_edges == 4
    assert noded.summary()["n_components"] == 1
    # attributes survive noding: ids and total length
    assert sorted(set(noded.edge_road_id)) == ["r0", "r1"]
    assert noded.edge_length_m.sum() == pytest.approx(4000)


def test_merge_tolerance_joins_near_ends_and_undershoots():
    # r1 starts 3 m from r0's end; r2 stops 4 m short of r0's middle (T undershoot)
    r = roads(line((0, 0), (1000, 0)), line((1003, 0), (2000, 0)), line((500, 1000), (500, 4)))
    raw = build_road_graph(r)
    assert raw.summary()["n_components"] == 3
    merged = build_road_graph(r, merge_tolerance_m=5.0)
    assert merged.summary()["n_components"] == 1
    assert merged.n_nodes == 5  # 0, 500 (T), ~1001.5, 2000, top of r2
    # all lengths within the tolerance of the originals
    assert merged.edge_length_m.sum() == pytest.approx(raw.edge_length_m.sum(), abs=10)


def test_oneway_edges_only_in_digitised_direction():
    r = roads(line((0, 0), (1000, 0)), line((1000, 0), (1000, 1000)), oneway=[True, False])
    g = build_road_graph(r)
    e0 = int(np.flatnonzero(g.edge_road == 0)[0])
    u, v = g.edge_u[e0], g.edge_v[e0]
    assert g.minutes[u, v] == pytest.approx(3.0)  # 1 km at 20 km/h
    assert g.minutes[v, u] == 0  # no arc back
    e1 = int(np.flatnonzero(g.edge_road == 1)[0])
    assert g.minutes[g.edge_u[e1], g.edge_v[e1]] == g.minutes[g.edge_v[e1], g.edge_u[e1]] == pytest.approx(3.0)


def test_oneway_accepts_osm_style_strings():
    r = roads(line((0, 0), (1000, 0)), line((0, 100), (1000, 100)), line((0, 200), (1000, 200)),
              oneway=["yes", "no", None])
    g = build_road_graph(r)
    assert list(g.edge_oneway[np.argsort(g.edge_road)]) == [True, False, False]


def test_parallel_edges_keep_the_fastest_and_multilines_explode():
    r = roads(MultiLineString([[(X0, Y0), (X0 + 1000, Y0)], [(X0 + 1000, Y0), (X0 + 2000, Y0)]]),
              line((0, 0), (500, 300), (1000, 0)), road_class=["village", "national"])
    g = build_road_graph(r)
    assert g.n_edges == 3
    a, b = np.flatnonzero(np.isclose(g.node_xy[:, 0], X0)), np.flatnonzero(np.isclose(g.node_xy[:, 0], X0 + 1000))
    national_min = 2 * np.hypot(500, 300) / (80 / 60 * 1000)
    assert g.minutes[a[0], b[0]] == pytest.approx(national_min)  # < 3 min on the village road


def test_components_and_main_component():
    r = roads(line((0, 0), (1000, 0)), line((1000, 0), (2000, 0)), line((9000, 0), (9500, 0)))
    g = build_road_graph(r)
    sizes = np.bincount(g.component)
    assert sorted(sizes) == [2, 3]
    assert sizes[g.main_component] == 3


def test_to_networkx_matches_csr():
    g = build_road_graph(synthetic_roads(8, 8, spacing_m=300, seed=3, oneway_fraction=0.3))
    nxg = g.to_networkx()
    assert nxg.number_of_nodes() == g.n_nodes
    assert nxg.number_of_edges() == g.n_edges + int((~g.edge_oneway).sum())
    dist = dijkstra(g.minutes, indices=0)
    ref = nx.single_source_dijkstra_path_length(nxg, 0, weight="minutes")
    for node, minutes in ref.items():
        assert dist[node] == pytest.approx(minutes)
    assert np.isinf(dist[[n for n in range(g.n_nodes) if n not in ref]]).all()


def test_arrays_roundtrip_without_pickle():
    g = build_road_graph(synthetic_roads(6, 7, seed=4).to_crs(4326), merge_tolerance_m=1.0)
    arrays, meta = g.to_arrays()
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    buf.seek(0)
    loaded = dict(np.load(buf, allow_pickle=False))
    back = RoadGraph.from_arrays(loaded, json.loads(json.dumps(meta)))
    assert back.crs == g.crs and back.fingerprint == g.fingerprint
    np.testing.assert_array_equal(back.edge_u, g.edge_u)
    np.testing.assert_allclose(back.edge_minutes, g.edge_minutes)
    assert (back.minutes != g.minutes).nnz == 0
    np.testing.assert_array_equal(back.component, g.component)
    assert all(a.equals_exact(b, 0) for a, b in zip(back.edge_geometry, g.edge_geometry))
    assert list(back.edge_road_id) == list(g.edge_road_id)


def test_fingerprint_is_stable_and_sensitive():
    r = synthetic_roads(5, 5, seed=5)
    fp = roads_fingerprint(r, SpeedTable())
    assert fp == roads_fingerprint(r.copy(), SpeedTable())
    assert fp == build_road_graph(r).fingerprint
    assert fp != roads_fingerprint(r, SpeedTable(class_speeds_kmh={"village": 25}))
    changed = r.copy()
    changed.loc[0, "road_class"] = "other"
    assert fp != roads_fingerprint(changed)
    moved = r.copy()
    moved.geometry = moved.translate(1, 0)
    assert fp != roads_fingerprint(moved)
    assert fp != roads_fingerprint(r, merge_tolerance_m=2.0)


def test_bad_input_raises_clear_errors():
    r = roads(line((0, 0), (1000, 0)))
    with pytest.raises(ValueError, match="no CRS"):
        build_road_graph(r.set_crs(None, allow_override=True))
    with pytest.raises(ValueError, match="merge_tolerance_m"):
        build_road_graph(r, merge_tolerance_m=-1)


def test_empty_roads_give_empty_graph():
    g = build_road_graph(gpd.GeoDataFrame({"id": []}, geometry=[], crs=CRS))
    assert g.n_nodes == 0 and g.n_edges == 0
