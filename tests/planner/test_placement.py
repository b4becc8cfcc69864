"""The geographic adapter over the location models, on small hand-checkable networks."""
import geopandas as gpd
import numpy as np
import pytest
import shapely

from planner.graph import build_road_graph
from planner.placement import DemandSpec, candidates_on_network, plan_placement
from planner.synthetic import synthetic_points, synthetic_roads

CRS = "EPSG:32649"


def _line_county():
    """A 20 km straight county road at 60 km/h... as a county road: 40 km/h → 1.5 min/km.

    Villages at km 0, 2, 10, 18, 20 (on the road); candidates at km 1, 10, 19.
    """
    road = gpd.GeoDataFrame({"id": ["r1"], "road_class": ["county"], "surface": ["paved"], "oneway": [False]},
                            geometry=[shapely.LineString([(500000 + i * 1000, 3900000) for i in range(21)])], crs=CRS)
    graph = build_road_graph(road)
    km = [0, 2, 10, 18, 20]
    villages = gpd.GeoDataFrame({
        "code": [f"1499011010{i:02d}" for i in range(5)], "name": list("ABCDE"), "town": ["北", "北", "中", "南", "南"],
        "population": [100, 200, 1000, 300, 400], "produce_apple_t": [0, 50, 0, 500, 0],
        "produce_hawthorn_t": [10, 0, 0, 0, 80],
    }, geometry=[shapely.Point(500000 + k * 1000, 3900000) for k in km], crs=CRS)
    candidates = gpd.GeoDataFrame({"id": ["c1", "c10", "c19"], "name": ["一", "十", "十九"], "cost_wan": [100, 300, 100]},
                                  geometry=[shapely.Point(500000 + k * 1000, 3900000) for k in (1, 10, 19)], crs=CRS)
    return graph, villages, candidates


def test_demand_spec_parsing_and_weights():
    _, villages, _ = _line_county()
    assert DemandSpec.parse("produce:apple,hawthorn").weights(villages).tolist() == [10, 50, 0, 500, 80]
    mix = DemandSpec.parse("population*0.5+produce:apple*2")
    assert mix.weights(villages).tolist() == [50, 200, 500, 1150, 200]
    with pytest.raises(ValueError, match="unknown demand weight"):
        DemandSpec.parse("tourists")
    with pytest.raises(ValueError, match="commodities"):
        DemandSpec.parse("produce:")


def test_mclp_one_site_picks_the_heaviest_cluster():
    graph, villages, candidates = _line_county()
    # 1.5 min per km: within 3 min = within 2 km. Apple+hawthorn: c19 reaches D (500) and E (80) = 580;
    # c1 reaches A (10) and B (50) = 60; c10 reaches C only (0).
    result = plan_placement(graph, villages, candidates, model="mclp", demand="produce:apple,hawthorn", p=1, minutes=3)
    assert result.sites["id"].tolist() == ["c19"]
    assert result.totals["covered_after"] == pytest.approx(580)
    assert result.totals["covered_before"] == 0
    south = result.by_town.set_index("town").loc["南"]
    assert south["covered_after"] == pytest.approx(580) and south["share_after"] == pytest.approx(1.0)


def test_existing_facility_is_fixed_and_not_counted_in_p():
    graph, villages, candidates = _line_county()
    existing = gpd.GeoDataFrame({"id": ["old"], "name": ["老冷库"], "capacity_t": [1000]},
                                geometry=[shapely.Point(519000, 3900000)], crs=CRS)
    result = plan_placement(graph, villages, candidates, existing=existing, model="mclp",
                            demand="produce:apple,hawthorn", p=1, minutes=3)
    chosen = dict(zip(result.sites["id"], result.sites["fixed"]))
    assert chosen == {"old": True, "c1": False}  # the south is already served
    assert result.totals["covered_before"] == pytest.approx(580)
    assert result.totals["covered_after"] == pytest.approx(640)


def test_budget_limits_the_choice():
    graph, villages, candidates = _line_county()
    # population within 3 min: c1 → A+B = 300 (100万), c10 → C = 1000 (300万), c19 → D+E = 700 (100万)
    result = plan_placement(graph, villages, candidates, model="mclp", demand="population", p=None, minutes=3,
                            budget_wan=200)
    assert sorted(result.sites["id"]) == ["c1", "c19"]
    result = plan_placement(graph, villages, candidates, model="mclp", demand="population", p=None, minutes=3,
                            budget_wan=300)
    assert sorted(result.sites["id"]) == ["c10"] or result.totals["covered_after"] >= 1000


def test_pmedian_allocation_lines_and_geojson():
    graph, villages, candidates = _line_county()
    result = plan_placement(graph, villages, candidates, model="pmedian", demand="population", p=2)
    assert len(result.allocations) == 5
    fc = result.to_geojson()
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds.count("site") == 2 and kinds.count("allocation") == 5
    d = result.to_dict()
    assert d["solver"]["status"] in ("optimal", "feasible", "time_limit")


def test_unreachable_villages_are_reported_not_fatal():
    graph, villages, candidates = _line_county()
    far = villages.iloc[[0]].copy()
    far["code"] = "149901101099"
    far["name"] = "远村"
    far.geometry = [shapely.Point(500000, 3950000)]  # 50 km off the road
    villages = gpd.GeoDataFrame(
        gpd.pd.concat([villages, far], ignore_index=True), geometry="geometry", crs=CRS)
    result = plan_placement(graph, villages, candidates, model="mclp", demand="population", p=1, minutes=30)
    assert result.unreachable["village_name"].tolist() == ["远村"]
    assert result.unreachable["reason"].iloc[0] == "too_far_from_road"


def test_candidates_on_network_are_spaced_and_ranked():
    roads = synthetic_roads(12, 12, seed=3)
    graph = build_road_graph(roads)
    villages = synthetic_points(roads, 60, seed=4)
    villages["town"] = "t"
    cands = candidates_on_network(graph, villages, n=10, weights=villages["population"].to_numpy(float),
                                  min_spacing_m=800)
    assert 1 <= len(cands) <= 10
    xy = shapely.get_coordinates(cands.to_crs(CRS).geometry)
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert (d[np.triu_indices(len(xy), 1)] >= 799).all()


def test_capacitated_before_and_after_count_what_stores_can_take():
    graph, villages, candidates = _line_county()
    existing = gpd.GeoDataFrame({"id": ["old"], "name": ["老冷库"], "capacity_t": [100.0]},
                                geometry=[shapely.Point(519000, 3900000)], crs=CRS)
    result = plan_placement(graph, villages, candidates, existing=existing, model="cmclp",
                            demand="produce:apple,hawthorn", p=1, minutes=3, new_capacity_t=50)
    # within reach of the old store: D 500 t + E 80 t, but it takes only 100 t
    assert result.totals["covered_before"] == pytest.approx(100)
    assert result.totals["covered_after"] == pytest.approx(result.result.covered_demand)
    assert result.totals["covered_after"] == pytest.approx(150)  # + 50 t at the new site
    assert result.by_town["covered_after"].sum() == pytest.approx(150)
