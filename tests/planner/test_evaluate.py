"""Proposal evaluation on hand-built counties: red line, duplicate store, a better site nearby."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from planner.evaluate import EvaluationSubject, ScoreWeights, evaluate_proposal, portfolio
from planner.graph import build_road_graph

CRS = "EPSG:32649"
X0, Y0 = 500_000.0, 3_900_000.0


def _roads():
    """A 20 km county road along y=0 in 500 m pieces, and a 1 km village road north from x=10 km."""
    lines, cls = [], []
    for k in range(40):
        lines.append(shapely.LineString([(X0 + 500 * k, Y0), (X0 + 500 * (k + 1), Y0)]))
        cls.append("county")
    for k in range(2):
        lines.append(shapely.LineString([(X0 + 10_000, Y0 + 500 * k), (X0 + 10_000, Y0 + 500 * (k + 1))]))
        cls.append("village")
    return gpd.GeoDataFrame({"id": [f"r{i}" for i in range(len(lines))], "road_class": cls}, geometry=lines, crs=CRS)


def _villages():
    """A small village at x=10 km; a cluster of five big ones around x=13 km; one at the west end.

    All lie 10 m off the road (0.12 min on foot); the road is driven at 1.5 min/km.
    """
    xs = [10_000, 12_800, 12_900, 13_000, 13_100, 13_200, 1_000]
    pop = [100, 1000, 1000, 1000, 1000, 1000, 300]
    apple = [10, 500, 500, 500, 500, 500, 0]
    return gpd.GeoDataFrame({
        "code": [f"1499011010{i:02d}" for i in range(len(xs))],
        "name": [f"村{i}" for i in range(len(xs))],
        "town": ["甲镇"] * 4 + ["乙镇"] * 3,
        "population": pop, "produce_apple_t": apple,
        "monitored_unstable": [1, 2, 0, 0, 0, 3, 5], "monitored_marginal": 0, "monitored_sudden": 0,
    }, geometry=[shapely.Point(X0 + x, Y0 + 10) for x in xs], crs=CRS).to_crs(4326)


def _pt(x, y=0.0):
    return gpd.GeoSeries([shapely.Point(X0 + x, Y0 + y)], crs=CRS).to_crs(4326).iloc[0]


@pytest.fixture(scope="module")
def county():
    roads = _roads()
    graph = build_road_graph(roads, crs=CRS)
    towns = gpd.GeoDataFrame({"code": ["149901101000"], "name": ["甲镇"]}, geometry=[_pt(9_000)], crs=4326)
    settlements = gpd.GeoDataFrame({"id": ["AZ1"], "name": ["安置点"], "people": [900], "households": [250],
                                    "jobs": [40]}, geometry=[_pt(10_500, 30)], crs=4326)
    return {"graph": graph, "roads": roads, "villages": _villages(), "towns": towns, "settlements": settlements}


def subject(x, y=0.0, **kw):
    base = {"id": "P1", "name": "苹果保鲜库", "category": "cold_chain", "geometry": _pt(x, y),
            "commodities": ("apple",), "town": "甲镇"}
    base.update(kw)
    return EvaluationSubject(**base)


def run(county, subj, **kw):
    args = {"cutoff_min": 3.0, "alternative_radius_km": 5.0, "roads": county["roads"], "towns": county["towns"],
            "settlements": county["settlements"]}
    args.update(kw)
    return evaluate_proposal(subj, graph=county["graph"], villages=county["villages"], **args)


def test_components_are_all_shown_and_json_ready(county):
    ev = run(county, subject(10_000, 1_000, beneficiary_villages=("149901101000", "149901101006")))
    d = ev.to_dict()
    assert set(d) >= {"access", "catchment", "coverage", "redundancy", "conflicts", "alternative", "score", "flags"}
    json.dumps(ev.to_dict(include_features=True))
    # 1 km of village road at 20 km/h to the county road
    assert d["access"]["main_road_min"] == pytest.approx(3.0, abs=0.1)
    assert d["access"]["town_centre"]["name"] == "甲镇"
    assert d["access"]["town_centre"]["minutes"] == pytest.approx(3.0 + 1.5, abs=0.1)
    claimed = {c["id"]: c["minutes"] for c in d["access"]["claimed_villages"]}
    assert claimed["149901101006"] == pytest.approx(3.0 + 9 * 1.5, abs=0.2)
    assert [c["name"] for c in d["score"]["components"]] == ["access", "service", "coverage", "redundancy",
                                                             "constraints"]
    assert d["score"]["total"] == pytest.approx(sum(c["contribution"] for c in d["score"]["components"]), abs=0.1)


def test_catchment_counts_villages_people_produce_monitored_and_settlements(county):
    ev = run(county, subject(10_000), cutoff_min=5.0)
    c = ev.catchment
    # 5 min: 0.12 on foot + 3.25 km of road: the village at 10 km and the whole cluster
    assert [v["code"] for v in c["villages"]][0] == "149901101000"
    assert c["n_villages"] == 6 and c["population"] == 100 + 5 * 1000
    assert c["produce_t"] == {"apple": 10 + 5 * 500}
    assert c["monitored_households"] == 1 + 2 + 3
    assert c["by_town"] == {"甲镇": 4, "乙镇": 2}
    assert c["settlements"][0]["id"] == "AZ1" and c["settlement_people"] == 900


def test_site_inside_the_ecological_red_line(county):
    red = gpd.GeoDataFrame({"id": ["HX1"], "name": ["水源涵养红线"], "kind": ["ecological_redline"]},
                           geometry=[gpd.GeoSeries([shapely.box(X0 + 9_000, Y0 - 1_000, X0 + 11_000, Y0 + 1_000)],
                                                   crs=CRS).to_crs(4326).iloc[0]], crs=4326)
    ev = run(county, subject(10_000, 20), constraints=red)
    assert "inside_ecological_redline" in ev.flags
    (conflict,) = ev.conflicts
    assert conflict["relation"] == "inside" and conflict["kind"] == "ecological_redline" and conflict["id"] == "HX1"
    constraints = next(c for c in ev.score["components"] if c["name"] == "constraints")
    assert constraints["value"] == 0.0
    # A polygon site half inside: the area inside is reported (about 100 m x 100 m of 200 m x 100 m).
    site = gpd.GeoSeries([shapely.box(X0 + 10_900, Y0 + 100, X0 + 11_100, Y0 + 200)], crs=CRS).to_crs(4326).iloc[0]
    ev2 = run(county, subject(0, geometry=site), constraints=red)
    (c2,) = ev2.conflicts
    assert c2["area_m2"] == pytest.approx(10_000, rel=0.02) and c2["share"] == pytest.approx(0.5, rel=0.02)
    # Alternatives never sit inside the zone.
    for alt in ev.alternative["top"]:
        x = gpd.GeoSeries([shapely.Point(alt["lon"], alt["lat"])], crs=4326).to_crs(CRS).iloc[0].x - X0
        assert not 9_000 <= x <= 11_000
    # Only the constraint weight: a red-line site scores 0.
    only = run(county, subject(10_000, 20), constraints=red,
               weights=ScoreWeights(access=0, service=0, coverage=0, redundancy=0, constraints=1))
    assert only.total_score == 0.0
    near = run(county, subject(11_150), constraints=red)
    assert near.conflicts[0]["relation"] == "near" and near.conflicts[0]["distance_m"] == pytest.approx(150, abs=2)
    assert "near_ecological_redline" in near.flags


def test_duplicate_of_an_existing_cold_store(county):
    existing = gpd.GeoDataFrame({"id": ["CS1"], "name": ["现有冷库"]}, geometry=[_pt(13_050)], crs=4326)
    ev = run(county, subject(13_000), facilities_same_category=existing)
    assert ev.coverage["gain"] == pytest.approx(0.0)
    assert ev.redundancy["share"] == pytest.approx(1.0)
    top = ev.redundancy["overlapping"][0]
    assert top["id"] == "CS1" and top["overlap_share"] == pytest.approx(1.0) and top["source"] == "facility"
    assert "duplicate_of_existing" in ev.flags
    alone = run(county, subject(13_000))
    assert alone.coverage["gain"] == pytest.approx(2500) and alone.redundancy["share"] == pytest.approx(0.0)
    assert alone.total_score > ev.total_score
    # An approved proposal of the same category counts as already there, too.
    approved = gpd.GeoDataFrame({"id": ["proposal-7"], "name": ["已审定冷库"]}, geometry=[_pt(13_000)], crs=4326)
    ev3 = run(county, subject(13_000), approved_same_category=approved)
    assert ev3.redundancy["overlapping"][0]["source"] == "proposal" and ev3.coverage["gain"] == 0


def test_a_better_site_three_km_away_is_found(county):
    # 1 min reaches 0.59 km of road: the proposal gets the small village only; the one
    # road node that reaches the whole cluster is at x = 13 km, 3 km east.
    ev = run(county, subject(10_000), cutoff_min=1.0)
    assert ev.coverage["gain"] == pytest.approx(10.0)
    best = ev.alternative["best"]
    assert best["distance_km"] == pytest.approx(3.0, abs=0.01) and best["source"] == "network"
    assert best["gain"] == pytest.approx(2500.0)
    assert ev.alternative["extra_gain"] == pytest.approx(2490.0)
    assert "better_site_nearby" in ev.flags
    coverage = next(c for c in ev.score["components"] if c["name"] == "coverage")
    assert coverage["value"] == pytest.approx(10 / 2500)
    good = run(county, subject(13_000), cutoff_min=1.0)
    assert not good.alternative["better"] and good.total_score > ev.total_score


def test_population_is_the_measure_without_commodities(county):
    ev = run(county, subject(13_000, commodities=(), category="public_service"))
    assert ev.params["measure"] == "population" and ev.coverage["gain"] == 5000


def test_deterministic(county):
    a = run(county, subject(10_000)).to_dict(include_features=True)
    b = run(county, subject(10_000)).to_dict(include_features=True)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_site_far_from_roads_is_flagged(county):
    ev = run(county, subject(5_000, 5_000))
    assert "site_not_on_road_network" in ev.flags and "no_catchment" in ev.flags
    assert ev.access["site_on_network"] is False


def test_portfolio_picks_the_best_set_within_budget(county):
    pending = gpd.GeoDataFrame({
        "id": ["A", "B", "C"], "name": ["近小村", "集群", "西端"], "budget_wan": [100.0, 400.0, 150.0],
    }, geometry=[_pt(10_000), _pt(13_000), _pt(1_000)], crs=4326)
    result = portfolio(pending, graph=county["graph"], villages=county["villages"], budget_wan=450,
                       cutoff_min=3.0, measure="population")
    assert [s["id"] for s in result.selected] == ["B"]
    assert result.spent_wan == 400 and result.covered_after == 5000 and result.covered_before == 0
    more = portfolio(pending, graph=county["graph"], villages=county["villages"], budget_wan=560,
                     cutoff_min=3.0, measure="population")
    assert sorted(s["id"] for s in more.selected) == ["B", "C"] and more.covered_after == 5300
    existing = gpd.GeoDataFrame({"id": ["CS1"], "name": ["现有"]}, geometry=[_pt(13_000)], crs=4326)
    approved = gpd.GeoDataFrame({"id": ["P9"], "name": ["已审定"]}, geometry=[_pt(1_000)], crs=4326)
    with_base = portfolio(pending, graph=county["graph"], villages=county["villages"], budget_wan=560,
                          existing=existing, approved=approved, cutoff_min=3.0, measure="population")
    assert with_base.covered_before == 5000 and with_base.covered_approved == 5300
    assert [s["id"] for s in with_base.selected] == ["A"]
    towns = {t["town"]: t for t in with_base.by_town}
    assert towns["乙镇"]["covered_existing"] == 2000 and towns["乙镇"]["covered_approved"] == 2300
    json.dumps(with_base.to_dict())


def test_invalid_settings(county):
    with pytest.raises(ValueError, match="cutoff_min"):
        run(county, subject(10_000), cutoff_min=0)
    with pytest.raises(ValueError, match="weights"):
        ScoreWeights(access=-1)
    assert np.isclose(sum(ScoreWeights().to_dict().values()), 1.0)
