"""Coverage summary: hand-checked statuses and totals, and Hypothesis properties."""
from __future__ import annotations

import json
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from planner.coverage import STATUSES, coverage_summary
from planner.graph import build_road_graph
from planner.synthetic import synthetic_roads

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0


@pytest.fixture
def graph():
    # 10 km county road (1.5 min/km) and an isolated 1 km track far north
    r = gpd.GeoDataFrame({"id": ["main", "iso"], "road_class": ["county", "village"]},
                         geometry=[LineString([(X0, Y0), (X0 + 10_000, Y0)]),
                                   LineString([(X0, Y0 + 30_000), (X0 + 1000, Y0 + 30_000)])], crs=CRS)
    return build_road_graph(r)


def villages(rows):
    frame = pd.DataFrame(rows, columns=["code", "town", "x", "y", "population", "monitored_unstable",
                                        "monitored_marginal", "monitored_sudden", "produce_apple_t", "produce_garlic_t"])
    frame["name"] = "v" + frame["code"]
    return gpd.GeoDataFrame(frame.drop(columns=["x", "y"]),
                            geometry=[Point(X0 + x, Y0 + y) for x, y in zip(frame["x"], frame["y"])], crs=CRS)


@pytest.fixture
def vill():
    return villages([
        # code, town, x, y, pop, unstable, marginal, sudden, apple, garlic
        ("1", "A", 1000, 0, 100, 1, 2, 3, 10.0, 1.0),     # 1.5 min from the facility at 0
        ("2", "A", 6000, 100, 200, 0, 1, 0, 20.0, 2.0),   # 9 + 1.2 = 10.2 min
        ("3", "B", 9000, 0, 300, 4, 0, 0, 30.0, 3.0),     # 13.5 min
        ("4", "B", 500, 30_050, 400, 1, 1, 1, 40.0, 4.0),  # disconnected fragment
        ("5", "B", 5000, -9000, 500, 0, 0, 2, 50.0, 5.0),  # 9 km from any road
    ])


def facility(*xs):
    return gpd.GeoDataFrame({"id": [f"f{i}" for i in range(len(xs))], "name": ["cold store"] * len(xs)},
                            geometry=[Point(X0 + x, Y0) for x in xs], crs=CRS)


def test_hand_checked_statuses_and_totals(graph, vill):
    cov = coverage_summary(graph, vill, facility(0), cutoff_min=12, commodities=["apple"])
    v = cov.villages.set_index("village_id")
    assert list(v["status"]) == ["covered", "covered", "too_far", "unreachable", "unreachable"]
    np.testing.assert_allclose(v["minutes"].iloc[:3], [1.5, 10.2, 13.5])
    assert list(v["reason"]) == ["", "", "", "disconnected_component", "too_far_from_road"]
    t = cov.totals
    assert (t["villages"], t["villages_covered"], t["villages_too_far"], t["villages_unreachable"]) == (5, 2, 1, 2)
    assert t["population"] == 1500 and t["population_covered"] == 300
    assert t["produce_apple_t_covered"] == 30.0 and "produce_garlic_t" not in t
    assert t["monitored_households_covered"] == 1 + 2 + 3 + 1
    assert t["monitored_unstable_covered"] == 1 and t["monitored_sudden"] == 6
    town = cov.by_town.set_index("town")
    assert town.loc["A", "villages_covered"] == 2 and town.loc["B", "villages_covered"] == 0
    assert town.loc["B", "villages_unreachable"] == 2
    un = cov.uncovered
    assert list(un["village_id"]) == ["3", "4", "5"]
    assert un.loc[0, "minutes"] == pytest.approx(13.5)
    assert cov.commodities == ("apple",)
    d = json.loads(json.dumps(cov.to_dict()))
    assert d["totals"]["villages_covered"] == 2 and d["uncovered"][1]["minutes"] is None


def test_all_commodities_by_default_and_bad_name(graph, vill):
    cov = coverage_summary(graph, vill, facility(0), cutoff_min=30)
    assert cov.commodities == ("apple", "garlic")
    assert cov.totals["produce_garlic_t_covered"] == 6.0
    from planner.errors import UnknownCommodity

    with pytest.raises(UnknownCommodity) as info:
        coverage_summary(graph, vill, facility(0), cutoff_min=30, commodities=["tea"])
    assert info.value.params["commodity"] == "tea" and info.value.params["available"] == "apple, garlic"
    assert "tea" in info.value.message("zh") and "apple, garlic" in info.value.message("en")


def test_no_facilities_means_no_facility(graph, vill):
    cov = coverage_summary(graph, vill, facility(), cutoff_min=30)
    assert (cov.villages["status"] == "unreachable").all()
    assert list(cov.villages["reason"])[:3] == ["no_facility"] * 3


@lru_cache(maxsize=1)
def _grid():
    roads = synthetic_roads(8, 8, spacing_m=700, drop_fraction=0.3, oneway_fraction=0.3, seed=21)
    return build_road_graph(roads)


def _points(graph, coords, prefix):
    xmin, ymin = graph.node_xy.min(axis=0) - 1500
    xmax, ymax = graph.node_xy.max(axis=0) + 1500
    xy = [(xmin + a * (xmax - xmin), ymin + b * (ymax - ymin)) for a, b in coords]
    n = len(xy)
    return gpd.GeoDataFrame(
        {"code": [f"{prefix}{i}" for i in range(n)], "id": [f"{prefix}{i}" for i in range(n)],
         "town": [f"t{i % 3}" for i in range(n)], "population": np.arange(1, n + 1) * 10},
        geometry=[Point(x, y) for x, y in xy], crs=graph.crs)


unit = st.tuples(st.floats(0, 1), st.floats(0, 1))


@settings(max_examples=25, deadline=None)
@given(v=st.lists(unit, min_size=1, max_size=25), f=st.lists(unit, min_size=0, max_size=4), extra=unit,
       cutoff=st.floats(0, 30))
def test_partition_and_adding_a_facility_never_lowers_coverage(v, f, extra, cutoff):
    g = _grid()
    vill = _points(g, v, "v")
    fac = _points(g, f, "f")
    more = _points(g, [*f, extra], "f")
    a = coverage_summary(g, vill, fac, cutoff_min=cutoff, max_snap_m=1000)
    b = coverage_summary(g, vill, more, cutoff_min=cutoff, max_snap_m=1000)
    for cov in (a, b):
        assert set(cov.villages["status"]) <= set(STATUSES)
        t = cov.totals
        assert t["villages_covered"] + t["villages_too_far"] + t["villages_unreachable"] == len(vill)
        assert cov.by_town["villages"].sum() == len(vill)
        too_far = cov.villages["status"] == "too_far"
        assert (cov.villages.loc[too_far, "minutes"] > cutoff).all()
    covered_a = set(a.villages.loc[a.villages["status"] == "covered", "village_id"])
    covered_b = set(b.villages.loc[b.villages["status"] == "covered", "village_id"])
    assert covered_a <= covered_b
    assert b.totals["population_covered"] >= a.totals["population_covered"]
    assert (b.villages["minutes"].to_numpy() <= a.villages["minutes"].to_numpy() + 1e-9).all()


def test_no_facility_is_its_own_reason():
    from planner.graph import build_road_graph

    road = gpd.GeoDataFrame({"id": ["r"], "road_class": ["county"]},
                            geometry=[LineString([(500000, 3900000), (510000, 3900000)])], crs="EPSG:32649")
    graph = build_road_graph(road)
    villages = gpd.GeoDataFrame({"code": ["v1"], "name": ["甲"], "town": ["t"], "population": [10]},
                                geometry=[Point(505000, 3900000)], crs="EPSG:32649")
    none = gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs="EPSG:32649"))
    summary = coverage_summary(graph, villages, none, cutoff_min=30)
    assert summary.villages["reason"].tolist() == ["no_facility"]
    far = gpd.GeoDataFrame({"id": ["f"]}, geometry=[Point(505000, 3990000)], crs="EPSG:32649")  # off the network
    assert coverage_summary(graph, villages, far, cutoff_min=30).villages["reason"].tolist() == ["no_facility"]
