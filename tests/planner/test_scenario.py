"""Network scenarios: closures and slow-downs applied to the roads before the graph is built."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.errors import InvalidInput
from planner.graph import build_road_graph
from planner.scenario import (
    BadScenario,
    NetworkScenario,
    apply_scenario,
    parse_factor_spec,
)
from planner.snap import snap_points
from planner.travel import nearest_times

CRS = "EPSG:32649"


def roads():
    # A(0,0) -r0 county 2 km- B(2000,0); A -r1 village unpaved (0,0)-(0,1000)-(2000,1000)-B, 4 km
    return gpd.GeoDataFrame(
        {"id": ["r0", "r1"], "road_class": ["county", "village"], "surface": ["paved", "unpaved"]},
        geometry=[shapely.LineString([(0, 0), (2000, 0)]),
                  shapely.LineString([(0, 0), (0, 1000), (2000, 1000), (2000, 0)])], crs=CRS)


def zones():
    # a hazard zone over the middle of r0 only, and a farmland zone over r1
    return gpd.GeoDataFrame({"id": ["h1", "f1"], "kind": ["hazard", "basic_farmland"]},
                            geometry=[shapely.box(900, -100, 1100, 100), shapely.box(900, 900, 1100, 1100)],
                            crs=CRS)


def minutes_a_to_b(frame) -> float:
    graph = build_road_graph(frame)
    a = gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.Point(0, 0)], crs=CRS)
    b = gpd.GeoDataFrame({"id": ["b"]}, geometry=[shapely.Point(2000, 0)], crs=CRS)
    t, _ = nearest_times(graph, snap_points(graph, a), snap_points(graph, b))
    return float(t[0])


def test_base_times():
    # county road 40 km/h: 2 km = 3 min
    assert minutes_a_to_b(roads()) == pytest.approx(3.0)


def test_close_hazard_reroutes_over_the_unpaved_road():
    out = apply_scenario(roads(), NetworkScenario("flood", close_hazard=True), zones=zones())
    assert out.closed_ids == ("r0",) and out.hazard_zones == 1
    # 4 km village road, 20 km/h × 0.6 unpaved = 12 km/h: 20 min
    assert minutes_a_to_b(out.roads) == pytest.approx(20.0)


def test_close_unpaved_and_class():
    assert apply_scenario(roads(), NetworkScenario("rain", close_unpaved=True)).closed_ids == ("r1",)
    assert apply_scenario(roads(), NetworkScenario("c", close_classes=["county"])).closed_ids == ("r0",)
    out = apply_scenario(roads(), NetworkScenario("both", close_unpaved=True, close_ids=["r0"]))
    assert len(out.roads) == 0 and out.closed_km == pytest.approx(6.0)


def test_slow_factors_take_the_smallest():
    s = NetworkScenario("slow", slow_classes={"county": 0.5}, slow_zones={"h1": 0.25}, slow_ids={"r0": 0.8})
    out = apply_scenario(roads(), s, zones=zones())
    assert out.roads.set_index("id")["speed_factor"].to_dict() == {"r0": 0.25, "r1": 1.0}
    assert minutes_a_to_b(out.roads) == pytest.approx(12.0)  # 3 min at a quarter of the speed
    out = apply_scenario(roads(), NetworkScenario("half", slow_classes={"county": 0.5}))
    assert minutes_a_to_b(out.roads) == pytest.approx(6.0)
    assert out.slowed == 1 and out.slowed_km == pytest.approx(2.0)


def test_slow_hazard_and_close_zone():
    out = apply_scenario(roads(), NetworkScenario("h", slow_hazard=0.5, close_zones=["f1"]), zones=zones())
    assert out.closed_ids == ("r1",)
    assert out.roads["speed_factor"].tolist() == [0.5]


def test_closing_wins_over_slowing_and_unknown_ids_are_reported():
    out = apply_scenario(roads(), NetworkScenario("x", close_ids=["r0", "nope"], slow_ids={"r0": 0.5},
                                                  close_zones=["zz"]), zones=zones())
    assert out.closed_ids == ("r0",)
    assert out.unknown_ids == ("nope",) and out.unknown_zones == ("zz",)


def test_empty_scenario_changes_nothing_and_keeps_the_graph_fingerprint_stable():
    s = NetworkScenario("none")
    assert s.is_empty
    out = apply_scenario(roads(), s)
    assert out.roads["speed_factor"].eq(1.0).all() and minutes_a_to_b(out.roads) == pytest.approx(3.0)


def test_round_trip_and_describe():
    s = NetworkScenario("汛期", close_unpaved=True, close_hazard=True, slow_classes={"county": 0.5},
                        description="rainy season")
    again = NetworkScenario.from_dict(s.to_dict())
    assert again == s
    assert "未硬化" in s.describe("zh") and "unpaved" in s.describe("en")


@pytest.mark.parametrize("bad", [
    lambda: NetworkScenario(""),
    lambda: NetworkScenario("a/b"),
    lambda: NetworkScenario("x", slow_classes={"county": 0}),
    lambda: NetworkScenario("x", slow_classes={"county": 1.5}),
    lambda: NetworkScenario("x", slow_hazard="fast"),
    lambda: NetworkScenario.from_dict({"name": "x", "close_everything": True}),
    lambda: parse_factor_spec("county"),
    lambda: parse_factor_spec("county=2"),
])
def test_bad_specs_are_typed_errors(bad):
    with pytest.raises(BadScenario) as info:
        bad()
    assert isinstance(info.value, InvalidInput) and info.value.code == "scenario.invalid"
    assert info.value.message("zh") and info.value.message("en")


def test_parse_factor_spec():
    assert parse_factor_spec("county=0.5，village=0.7") == {"county": 0.5, "village": 0.7}
    assert np.isclose(parse_factor_spec(" township = 0.25 ")["township"], 0.25)
