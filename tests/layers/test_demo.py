"""The embedded demo county: determinism, realism ranges, topology and planted defects."""
from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from layers.demo import (
    CADRE_HOUSEHOLD_LIMIT,
    COUNTY_CODE,
    DEFAULT_SEED,
    PAIRING_GAP_RULES,
    build_demo_workspace,
    generate_demo_county,
)
from layers.schema import LAYERS
from layers.store import Workspace

#: UTM 49N: metric distances around 111°E.
METRIC = "EPSG:32649"


@pytest.fixture(scope="module")
def demo():
    return generate_demo_county(seed=DEFAULT_SEED)


@pytest.fixture(scope="module")
def villages(demo):
    return demo["villages"]


def _gaps(demo, rule):
    return [g for g in demo.meta["demo_pairing_gaps"] if g["rule"] == rule]


# ----------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_frames(demo):
    again = generate_demo_county(seed=DEFAULT_SEED)
    assert list(again.layers) == list(demo.layers)
    for name, frame in demo.layers.items():
        other = again[name]
        if isinstance(frame, gpd.GeoDataFrame):
            assert frame.geometry.to_wkb().equals(other.geometry.to_wkb()), name
            frame, other = pd.DataFrame(frame.drop(columns="geometry")), pd.DataFrame(other.drop(columns="geometry"))
        pd.testing.assert_frame_equal(frame, other, obj=name)
    assert again.meta == demo.meta


def test_other_seed_gives_another_county(demo):
    other = generate_demo_county(seed=DEFAULT_SEED + 1, scale=0.3)
    assert not other["villages"]["code"].equals(demo["villages"]["code"])


@pytest.mark.parametrize("scale", [0, -1, float("nan"), 1000])
def test_bad_scale_is_refused(scale):
    with pytest.raises(ValueError, match="scale"):
        generate_demo_county(scale=scale)


def test_scale_grows_the_area_not_just_the_density(demo):
    half = generate_demo_county(scale=0.5)
    area = lambda d: d["boundaries"].query("level == 'county'").to_crs(METRIC).area.iloc[0]  # noqa: E731
    assert area(half) / area(demo) == pytest.approx(0.5, rel=0.05)
    assert len(half["villages"]) / len(demo["villages"]) == pytest.approx(0.5, rel=0.05)
    assert len(half["roads"]) / len(demo["roads"]) == pytest.approx(0.5, rel=0.15)


# ----------------------------------------------------------------------------- schema and identity
def test_every_layer_follows_its_schema(demo):
    assert set(demo.layers) == set(LAYERS)
    for name, frame in demo.layers.items():
        schema = LAYERS[name]
        columns = [c for c in frame.columns if c != "geometry"]
        assert columns == list(schema.field_names), name
        if schema.spatial:
            assert frame.crs.equals("EPSG:4326"), name
            types = set(frame.geometry.dropna().geom_type)
            assert types <= set(schema.geometry), (name, types)
        for f in schema.fields:
            if f.required:
                assert frame[f.name].notna().all(), (name, f.name)
            if f.unique:
                assert frame[f.name].is_unique, (name, f.name)
            if f.choices:
                assert set(frame[f.name].dropna()) <= set(f.choice_values), (name, f.name)
            if f.pattern:
                assert frame[f.name].dropna().str.fullmatch(f.pattern.strip("^$")).all(), (name, f.name)


def test_meta_says_fictional(demo):
    meta = demo.meta
    assert meta["fictional"] is True
    assert "虚构" in meta["county_name"] and "fictional" in meta["county_name_en"]
    assert re.fullmatch(r"\d{6}", meta["county_code"]) and meta["county_code"] == COUNTY_CODE
    for key in ("demo_unreachable_villages", "demo_pairing_gaps", "demo_proposals"):
        assert meta[key], key


# ----------------------------------------------------------------------------- realistic ranges
def test_counts_are_in_the_stated_ranges(demo, villages):
    counts = demo.counts()
    assert 300 <= counts["villages"] <= 400
    assert 10 <= counts["towns"] <= 14
    assert 20_000 <= counts["roads"] <= 40_000
    assert 40 <= counts["industry_bases"] <= 80
    assert 4 <= counts["cold_storage"] <= 8
    assert 3 <= counts["relocation_settlements"] <= 6
    assert 280_000 <= villages["population"].sum() <= 320_000
    assert 60 <= villages["former_poor"].sum() <= 70
    assert villages["key_village"].sum() > 0 and villages["demonstration"].sum() > 0 and villages["weak_org"].sum() > 0
    assert not (villages["key_village"] & ~villages["former_poor"]).any()


def test_households_income_and_produce_are_plausible(villages):
    ratio = villages["population"].sum() / villages["households"].sum()
    assert 2.7 < ratio < 3.1
    monitored = villages[["monitored_unstable", "monitored_marginal", "monitored_sudden"]].sum(axis=1)
    assert 0.01 <= monitored.sum() / villages["households"].sum() <= 0.02
    # concentrated in former poor villages
    rate = monitored / villages["households"]
    assert rate[villages["former_poor"]].mean() > 2 * rate[~villages["former_poor"]].mean()
    income = villages["income_per_capita_yuan"]
    assert income.between(9000, 22000).all()
    assert income[villages["former_poor"]].mean() < income[~villages["former_poor"]].mean()
    for commodity in ("apple", "hawthorn", "vegetables", "garlic", "edible_fungi", "eucommia", "tea"):
        assert (villages[f"produce_{commodity}_t"] > 0).sum() >= 3, commodity
    assert villages["industries"].notna().mean() > 0.9
    assert villages["industries"].str.contains("苹果").any() and villages["industries"].str.contains("山楂").any()


def test_industry_layout_follows_the_terrain(villages):
    # apples in the south-east hills, hawthorn in the north, vegetables on the plain
    y = villages.geometry.y
    x = villages.geometry.x
    apple = villages["produce_apple_t"] > 0
    hawthorn = villages["produce_hawthorn_t"] > 0
    assert y[hawthorn].mean() > y[apple].mean()
    assert x[apple].mean() > x[villages["produce_vegetables_t"] > 0].mean()


def test_the_county_sits_in_the_loess_hills_of_central_china(demo):
    minx, miny, maxx, maxy = demo["boundaries"].total_bounds
    assert 110.8 < minx < maxx < 111.8 and 35.0 < miny < maxy < 35.7


# ----------------------------------------------------------------------------- codes and containment
def test_codes_are_hierarchical(demo, villages):
    towns = demo["towns"]
    assert towns["code"].str.fullmatch(COUNTY_CODE + r"\d{3}000").all()
    assert villages["code"].str.fullmatch(r"\d{12}").all() and villages["code"].is_unique
    town_code = dict(zip(towns["name"], towns["code"]))
    prefix = villages["town"].map(town_code).str.slice(0, 9)
    assert (villages["code"].str.slice(0, 9) == prefix).all()
    population = villages.groupby("town")["population"].sum()
    assert (towns.set_index("name")["population"] == population.reindex(towns["name"])).all()


def test_villages_lie_in_the_county_and_their_town(demo, villages):
    bounds = demo["boundaries"]
    county = bounds.loc[bounds["level"] == "county", "geometry"].iloc[0]
    assert villages.within(county).all()
    towns = bounds.loc[bounds["level"] == "town"].set_index("code")
    town_code = dict(zip(demo["towns"]["name"], demo["towns"]["code"]))
    polygons = towns.loc[villages["town"].map(town_code), "geometry"].to_numpy()
    assert shapely.within(villages.geometry.to_numpy(), polygons).all()
    # the town polygons tile the county
    assert towns.union_all().symmetric_difference(county).area < 1e-6 * county.area


# ----------------------------------------------------------------------------- roads
def _components(roads):
    """Component label per segment, joining segments that share an end vertex."""
    coords, index = shapely.get_coordinates(roads.geometry.to_numpy(), return_index=True)
    first = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    last = np.r_[first[1:] - 1, len(index) - 1]
    ends = np.vstack([coords[first], coords[last]])
    _, node = np.unique(ends, axis=0, return_inverse=True)
    n_seg = len(roads)
    u, v = node[:n_seg] + n_seg, node[n_seg:] + n_seg
    seg = np.arange(n_seg)
    size = n_seg + node.max() + 1
    graph = coo_matrix((np.ones(2 * n_seg), (np.r_[seg, seg], np.r_[u, v])), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    return label[:n_seg]


def test_road_network_is_one_piece_except_the_cut_off_villages(demo, villages):
    roads = demo["roads"]
    label = _components(roads)
    main = np.bincount(label).argmax()
    assert (label == main).mean() > 0.98
    detail = demo.meta["demo_unreachable_detail"]
    isolated = villages[villages["code"].isin([d["code"] for d in detail if d["reason"] == "isolated_road_piece"])]
    far = villages[villages["code"].isin([d["code"] for d in detail if d["reason"] == "no_road_within_1km"])]
    assert len(isolated) >= 2 and len(far) >= 1
    assert set(demo.meta["demo_unreachable_villages"]) == set(isolated["code"]) | set(far["code"])
    metric = roads.to_crs(METRIC)
    stray = metric[label != main]
    # every piece outside the main network belongs to an isolated village …
    near = stray.sindex.query(isolated.to_crs(METRIC).buffer(1500).union_all(), predicate="intersects")
    assert len(near) == len(stray) > 0
    # … which really has no road of the main network nearby
    main_roads = metric[label == main]
    dist = main_roads.sindex.nearest(isolated.to_crs(METRIC).geometry, return_distance=True)[1]
    assert (dist > 150).all()
    # the road-less villages are more than a kilometre from any road
    dist = metric.sindex.nearest(far.to_crs(METRIC).geometry, return_distance=True)[1]
    assert (dist > 1000).all()


def test_every_other_village_is_on_the_main_network(demo, villages):
    roads = demo["roads"].to_crs(METRIC)
    label = _components(demo["roads"])
    main = roads[label == np.bincount(label).argmax()]
    reachable = villages[~villages["code"].isin(demo.meta["demo_unreachable_villages"])].to_crs(METRIC)
    dist = main.sindex.nearest(reachable.geometry, return_distance=True)[1]
    assert (dist < 300).all()


def test_road_hierarchy_and_attributes(demo):
    roads = demo["roads"]
    assert set(roads["road_class"]) == {"national", "provincial", "county", "township", "village", "other"}
    assert roads["id"].is_unique
    assert (roads["name"] == "G209").any() and roads["name"].str.startswith("S", na=False).any()
    assert roads["name"].str.match(r"X\d{3}", na=False).any()
    unpaved = roads.loc[roads["surface"] == "unpaved", "road_class"]
    assert (unpaved == "village").sum() > 0
    assert 5 <= roads["oneway"].sum() <= 200
    assert roads.geometry.is_valid.all() and (roads.geometry.geom_type == "LineString").all()
    # the national road runs through the county seat
    seat = demo.meta["county_seat"]
    national = roads.loc[roads["road_class"] == "national"].to_crs(METRIC)
    seat_point = gpd.GeoSeries(gpd.points_from_xy([seat["lon"]], [seat["lat"]]), crs="EPSG:4326").to_crs(METRIC)
    assert national.distance(seat_point.iloc[0]).min() < 1000


# ----------------------------------------------------------------------------- facilities
def test_settlements_and_cold_storage(demo):
    settlements = demo["relocation_settlements"]
    assert (settlements["people"] >= 800).any()
    assert (settlements["households"] < settlements["people"]).all()
    cold = demo["cold_storage"]
    assert cold["capacity_t"].between(500, 5000).all()
    assert {"existing"} < set(cold["status"])
    bases = demo["industry_bases"]
    assert {"planting", "breeding", "processing", "workshop", "park"} == set(bases["kind"])
    assert set(bases["village_code"]) <= set(demo["villages"]["code"])


def test_households_match_the_village_counts(demo, villages):
    households = demo["households"]
    assert households["id"].str.fullmatch(r"H\d{15}").all()
    counted = households.groupby(["village_code", "kind"]).size().unstack(fill_value=0)
    expected = villages.set_index("code")[["monitored_unstable", "monitored_marginal", "monitored_sudden"]]
    expected.columns = ["unstable", "marginal", "sudden"]
    expected = expected.loc[expected.sum(axis=1) > 0]
    pd.testing.assert_frame_equal(counted.reindex(index=expected.index, columns=expected.columns).astype("int64"),
                                  expected.astype("int64"), check_names=False)
    near_line = households["income_per_capita_yuan"].between(4000, 6000).mean()
    assert near_line > 0.3


# ----------------------------------------------------------------------------- pairing gaps
def test_pairing_gaps_exist_and_are_the_only_ones(demo, villages):
    pairings = demo["pairings"]
    assert {g["rule"] for g in demo.meta["demo_pairing_gaps"]} == set(PAIRING_GAP_RULES)
    required = villages.loc[villages["former_poor"] | villages["demonstration"] | villages["weak_org"], "code"]
    for kind, rule in (("work_team", "missing_work_team"), ("first_secretary", "missing_first_secretary")):
        covered = set(pairings.loc[(pairings["helper_kind"] == kind) & (pairings["target_kind"] == "village"),
                                   "target_id"])
        missing = set(required) - covered
        planted = {g["target_id"] for g in _gaps(demo, rule) if g["target_kind"] == "village"}
        assert missing == planted and len(planted) >= 2, rule

    big = set(demo["relocation_settlements"].query("people >= 800")["id"])
    teams = set(pairings.loc[(pairings["helper_kind"] == "work_team") & (pairings["target_kind"] == "settlement"),
                             "target_id"])
    planted = {g["target_id"] for g in _gaps(demo, "missing_work_team") if g["target_kind"] == "settlement"}
    assert big - teams == planted and len(planted) == 1

    cadres = pairings.loc[pairings["helper_kind"] == "cadre"]
    without = set(demo["households"]["id"]) - set(cadres["target_id"])
    assert without == {g["target_id"] for g in _gaps(demo, "missing_cadre")} and len(without) >= 1

    load = cadres.groupby("helper_id").size()
    assert set(load[load > CADRE_HOUSEHOLD_LIMIT].index) == {g["target_id"] for g in _gaps(demo, "cadre_over_limit")}
    outsiders = set(cadres.loc[cadres["helper_county_code"] != COUNTY_CODE, "helper_id"])
    assert outsiders == {g["target_id"] for g in _gaps(demo, "cadre_out_of_county")} and len(outsiders) == 1


def test_all_helper_kinds_are_present_with_bases(demo):
    pairings = demo["pairings"]
    assert set(pairings["helper_kind"]) == {"east_west", "central_unit", "enterprise", "municipal_unit", "cadre",
                                            "first_secretary", "work_team"}
    east_west = pairings.loc[pairings["helper_kind"] == "east_west"]
    assert (east_west["helper_county_code"] != COUNTY_CODE).all()
    assert (east_west.geometry.x > 118).all()  # far away in the east
    cadres = pairings.loc[(pairings["helper_kind"] == "cadre") & (pairings["helper_county_code"] == COUNTY_CODE)]
    county = demo["boundaries"].query("level == 'county'").geometry.iloc[0]
    assert cadres.within(county).all()
    targets = pairings.loc[pairings["target_kind"] == "village", "target_id"]
    assert set(targets) <= set(demo["villages"]["code"])


# ----------------------------------------------------------------------------- proposals
def test_proposals_seed_the_project_library(demo):
    proposals = demo.meta["demo_proposals"]
    assert len(proposals) == 5
    assert sorted(p["budget_wan"] for p in proposals) == [90.0, 150.0, 210.0, 400.0, 400.0]
    assert all(p["fund_source"] == "衔接资金" for p in proposals)
    codes = set(demo["villages"]["code"])
    for p in proposals:
        assert p["village_code"] in codes and set(p["beneficiary_villages"]) <= codes
        assert p["content"] and p["link_to_farmers"] and p["expected_jobs"] > 0

    issues = {p["demo_expected_issue"]: p for p in proposals if p["demo_expected_issue"]}
    assert set(issues) == {"inside_ecological_redline", "duplicate_cold_storage"}
    constraints = demo["constraints"]
    red = constraints.loc[constraints["kind"] == "ecological_redline"].union_all()
    for p in proposals:
        inside = red.contains(shapely.Point(p["lon"], p["lat"]))
        assert inside == (p["demo_expected_issue"] == "inside_ecological_redline"), p["name"]
    dup = issues["duplicate_cold_storage"]
    store = demo["cold_storage"].set_index("id").loc[dup["demo_related_id"]]
    pts = gpd.GeoSeries([store.geometry, shapely.Point(dup["lon"], dup["lat"])], crs="EPSG:4326").to_crs(METRIC)
    assert pts.iloc[0].distance(pts.iloc[1]) < 1000
    assert "蔬菜" in store["commodities"]


# ----------------------------------------------------------------------------- workspace
def test_demo_workspace_round_trips_through_the_store(tmp_path):
    # a small county keeps the GeoPackage write quick; the code path is the same
    demo = generate_demo_county(scale=0.3)
    path = tmp_path / "demo.gpkg"
    ws = build_demo_workspace(path, scale=0.3)
    assert isinstance(ws, Workspace)
    listed = {row[0] for row in pyogrio.list_layers(path)}
    assert set(LAYERS) <= listed
    for name, frame in demo.layers.items():
        assert len(ws.read_layer(name)) == len(frame), name
    meta = ws.meta()
    assert meta["fictional"] is True
    assert meta["demo_pairing_gaps"] == demo.meta["demo_pairing_gaps"]
    assert meta["demo_unreachable_villages"] == demo.meta["demo_unreachable_villages"]
    roads = ws.read_layer("roads")
    assert roads["oneway"].sum() == demo["roads"]["oneway"].sum()
    with pytest.raises(FileExistsError):
        build_demo_workspace(path, scale=0.3)
