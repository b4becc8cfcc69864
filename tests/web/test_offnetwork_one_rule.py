"""One reason per off-network point in every output (planner.travel.point_reasons).

The county of this test (net-fragment / net-offnetwork-destination style, hand-made):

- the main network: county roads R1 (111.20→111.25 along lat 35.35) and R2 (111.22, 35.35→35.38);
- an island network of real size (R10, R11: 3.6 + 3.3 km, far from the rest) with a village
  and no cold store: the village is truly cut off (``disconnected_component``) — it used
  to be ``too_far`` in ``place`` while ``coverage`` and ``od`` said ``disconnected_component``;
- a stray 0.9 km fragment (R20) with a cold store on it (``disconnected_component``, both
  distances);
- a village 5.5 km from every road (``too_far_from_road``).

Every output — ``od`` (file, terminal, API), ``coverage`` (text, JSON, API), ``place``
(JSON, text), ``service-area`` (terminal, API), the map's accessibility layer (API) and the
proposal evaluation — must give the same code and the same distances for each of them.
"""
from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, Point

from web.cli import main

CASES = ("net-fragment", "net-offnetwork-destination")  # the handed cases this generalises


def _roads():
    lines = {
        "R1": [(111.20, 35.35), (111.25, 35.35)],
        "R2": [(111.22, 35.35), (111.22, 35.38)],
        "R10": [(111.40, 35.50), (111.44, 35.50)],
        "R11": [(111.42, 35.50), (111.42, 35.53)],
        "R20": [(111.30, 35.40), (111.31, 35.40)],
    }
    return gpd.GeoDataFrame({"id": list(lines), "road_class": "county", "surface": "paved", "oneway": False},
                            geometry=[LineString(c) for c in lines.values()], crs="EPSG:4326")


VILLAGES = {  # code: (name, lng, lat)
    "140823100001": ("主网村", 111.21, 35.3505),
    "140823100002": ("无路村", 111.28, 35.43),
    "140823100003": ("孤岛村", 111.43, 35.5005),
}
EXPECTED = {  # id: reason (the one rule)
    "140823100002": "too_far_from_road",
    "140823100003": "disconnected_component",
    "CS2": "disconnected_component",
}


@pytest.fixture
def ws(tmp_path):
    from layers.store import Workspace

    villages = gpd.GeoDataFrame(
        {"code": list(VILLAGES), "name": [v[0] for v in VILLAGES.values()], "town": "示例镇",
         "population": [500, 300, 200], "households": [150, 90, 60]},
        geometry=[Point(v[1], v[2]) for v in VILLAGES.values()], crs="EPSG:4326")
    cold = gpd.GeoDataFrame(
        {"id": ["CS1", "CS2"], "name": ["主网冷库", "碎片冷库"], "kind": "fresh_keeping", "capacity_t": 500,
         "status": "existing"},
        geometry=[Point(111.24, 35.3503), Point(111.305, 35.4002)], crs="EPSG:4326")
    w = Workspace.create(tmp_path / "one.gpkg")
    towns = gpd.GeoDataFrame({"code": ["140823100"], "name": ["示例镇"]}, geometry=[Point(111.23, 35.3502)],
                             crs="EPSG:4326")
    w.write_layers({"roads": _roads(), "cold_storage": cold, "villages": villages, "towns": towns})
    return w


def _expected_distances(ws):
    """network_m / fragment_m of each point from the snap itself (to 0.1 m)."""
    from planner.snap import snap_points
    from web import services
    from web.services.netreasons import metres

    graph = services.road_graph(ws)
    out = {}
    for frame in (services.villages(ws), services.facility_points(ws, "cold_storage")):
        snap = snap_points(graph, frame, id_column="code" if "code" in frame.columns else None)
        for i, pid in enumerate(snap.ids):
            out[str(pid)] = (metres(snap.network_m[i]), metres(snap.fragment_m[i]))
    return out


def run(*args, lang="en"):
    return CliRunner(env={"RURALPLAN_LANG": lang}).invoke(main, [str(a) for a in args], catch_exceptions=False)


def _check(found: dict, where: str, dist: dict, *, ids=tuple(EXPECTED), with_distances=True):
    """``found``: id -> (reason, network_m, fragment_m)."""
    for pid in ids:
        assert pid in found, f"{where}: {pid} not named"
        reason, net_m, frag_m = found[pid]
        assert reason == EXPECTED[pid], f"{where}: {pid} is {reason!r}, expected {EXPECTED[pid]!r}"
        if with_distances:
            assert (net_m, frag_m) == dist[pid], f"{where}: {pid} distances {(net_m, frag_m)} != {dist[pid]}"


def test_the_distances_are_the_hand_computed_ones(ws):
    dist = _expected_distances(ws)
    # 无路村 (111.28, 35.43): the nearest road it may use is R2's end (111.22, 35.38):
    # hypot(0.06° × 90.7 km, 0.05° × 111.0 km) = hypot(5.44, 5.55) ≈ 7.77 km; the fragment R20
    # (3.8 km) is beyond the 1 km snap distance, so it is no fragment_m
    assert dist["140823100002"][0] == pytest.approx(7_770, rel=0.01) and dist["140823100002"][1] is None
    # 孤岛村 is 55 m (0.0005°) off its own island road R10
    assert dist["140823100003"] == (pytest.approx(55.6, abs=1.0), None)
    # 碎片冷库 is 22 m (0.0002°) off the fragment R20, and hypot(0.055° × 90.7, 0.0502° × 111.0)
    # = hypot(4.99, 5.57) ≈ 7.48 km from the main network (R1's end 111.25, 35.35)
    net_m, frag_m = dist["CS2"]
    assert frag_m == pytest.approx(22.2, abs=1.0) and net_m == pytest.approx(7_480, rel=0.01)


def test_od_file_terminal_and_api_agree(ws, tmp_path):
    dist = _expected_distances(ws)
    out = tmp_path / "od.csv"
    result = run("od", "-w", ws.path, "--to", "cold_storage", "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    for pid, code in EXPECTED.items():
        if pid.startswith("CS"):  # a pair is explained by its origin first
            rows = frame[(frame["destination_id"] == pid) & (frame["origin_id"] == "140823100001")]
            assert list(rows["reason"]) == [f"destination: {code}"], rows
        else:
            rows = frame[frame["origin_id"] == pid]
            assert len(rows) == 2 and (rows["reason"] == f"origin: {code}").all(), (pid, rows)
    for pid in EXPECTED:  # the terminal names each with its reason text
        assert f"({pid}):" in result.output
    # the codes stay for machines; beside them the words, in the report language
    zh_out = tmp_path / "od-zh.csv"
    assert run("od", "-w", ws.path, "--to", "cold_storage", "--out", zh_out, lang="zh").exit_code == 0
    zh = pd.read_csv(zh_out, dtype=str, keep_default_na=False)
    texts = dict(zip(zh["reason"], zh["reason_text"]))
    assert texts["origin: too_far_from_road"] == "起点：" + _zh("too far from any road")
    assert all(t and not re.search(r"[a-z]{3,}", t) for r, t in texts.items() if r), texts
    from web.services import netdata

    netdata.clear_cache()
    d = netdata.od(ws, origins="villages", destinations="cold_storage")
    _check({r["id"]: (r["reason"], r["network_m"], r["fragment_m"]) for r in d["off_network"]}, "od API", dist)


def _zh(msgid: str) -> str:
    from web.i18n import catalog_gettext

    return catalog_gettext("zh")(msgid)


def test_coverage_text_json_and_api_agree(ws):
    dist = _expected_distances(ws)
    d = json.loads(run("coverage", "-w", ws.path, "--facility", "cold_storage", "--minutes", 30, "--json").output)
    from web.services.netreasons import metres

    found = {u["village_id"]: (u["reason"], metres(u["network_m"]), metres(u["fragment_m"])) for u in d["uncovered"]}
    found.update({f["facility_id"]: (f["reason"], metres(f["network_m"]), metres(f["fragment_m"]))
                  for f in d["facilities_off_network"]})
    _check(found, "coverage --json", dist)
    text = run("coverage", "-w", ws.path, "--facility", "cold_storage", "--minutes", 30).output
    # the text names each point by its reason's words, never its code (tests/web/test_cli_text_labels.py)
    assert "too far from any road" in text and "孤岛村" in text
    assert "its road is not connected to the county network" in text
    assert "too_far_from_road" not in text and "disconnected_component" not in text
    from web.services import netdata

    netdata.clear_cache()
    d = netdata.coverage(ws, facility="cold_storage", minutes=30)
    found = {f["properties"]["village_id"]: (f["properties"]["reason"], f["properties"]["network_m"],
                                             f["properties"]["fragment_m"])
             for f in d["uncovered_geojson"]["features"]}
    found.update({r["id"]: (r["reason"], r["network_m"], r["fragment_m"]) for r in d["off_network"]})
    _check(found, "coverage API", dist)


def test_place_agrees(ws):
    """The island village was ``too_far`` in ``place``: now ``disconnected_component`` (candidate
    sites at the town seat; network candidates would put one on the island itself)."""
    dist = _expected_distances(ws)
    result = run("place", "-w", ws.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
                 "--candidates", "towns", "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    found = {u["village_code"]: (u["reason"], u["network_m"], u["fragment_m"]) for u in d["unreachable"]}
    found.update({s["id"]: (s["reason"], s["network_m"], s["fragment_m"]) for s in d["off_network_sites"]})
    _check(found, "place --json", dist)
    # MCLP: the island village is still cut off, not "farther than the cutoff"
    d = json.loads(run("place", "-w", ws.path, "--facility", "cold_storage", "--model", "mclp", "--p", "1",
                       "--minutes", 30, "--candidates", "towns", "--json").output)
    assert {u["village_code"]: u["reason"] for u in d["unreachable"]}["140823100003"] == "disconnected_component"
    text = run("place", "-w", ws.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
               "--candidates", "towns", lang="zh").output
    assert "孤岛村（所在道路未连通县域路网）" in text and "碎片冷库 (CS2)" in text


def test_service_area_and_map_agree(ws, tmp_path):
    dist = _expected_distances(ws)
    result = run("service-area", "-w", ws.path, "--facility", "cold_storage", "--minutes", 15,
                 "--out", tmp_path / "sa.geojson")
    assert result.exit_code == 0, result.output
    assert "碎片冷库 (CS2): its road is not connected to the county network" in result.output
    from web.services import netdata

    netdata.clear_cache()
    d = netdata.service_areas(ws, facility="cold_storage", minutes=(15.0,))
    _check({r["id"]: (r["reason"], r["network_m"], r["fragment_m"]) for r in d["off_network"]}, "service-area API",
           dist, ids=("CS2",))
    d = netdata.accessibility(ws, facility="cold_storage")  # the map's accessibility layer
    found = {f["properties"]["village_id"]: (f["properties"]["reason"], f["properties"]["network_m"],
                                             f["properties"]["fragment_m"]) for f in d["features"]}
    found.update({r["id"]: (r["reason"], r["network_m"], r["fragment_m"]) for r in d["off_network"]})
    _check(found, "accessibility API", dist)


def test_proposal_evaluation_agrees(ws):
    from planner.evaluate import EvaluationSubject, evaluate_proposal
    from web import services

    graph = services.road_graph(ws)
    dist = _expected_distances(ws)
    for pid, where in (("CS2", Point(111.305, 35.4002)), ("140823100002", Point(*VILLAGES["140823100002"][1:]))):
        subject = EvaluationSubject(id="P1", name="拟建冷库", category="cold_storage", geometry=where)
        ev = evaluate_proposal(subject, graph=graph, villages=services.villages(ws))
        a = ev.access
        assert a["site_snap_reason"] == EXPECTED[pid] and a["site_on_network"] is False
        assert (a["site_network_m"], a["site_fragment_m"]) == dist[pid]
        assert "site_not_on_road_network" in ev.flags
    # a site on the island network itself: it is on roads, and its island village is its catchment
    subject = EvaluationSubject(id="P2", name="岛上冷库", category="cold_storage", geometry=Point(111.425, 35.5003))
    ev = evaluate_proposal(subject, graph=graph, villages=services.villages(ws))
    assert ev.access["site_snap_reason"] == "" and ev.catchment["n_villages"] == 1


# ----------------------------------------------------------------------------- a network scenario
# The same county (R1 in three pieces) plus two spurs off R1 that the scenario 汛期 closes:
# - R4a (111.245, 35.350→35.345) joins R4b (→35.330) to R1; 断路村 lies on R4b, 1.5 km from R1:
#   with R4a closed its road is cut off from the county network — by the scenario;
# - R5 (111.21, 35.35→35.32) is the only road within 1 km of the cold store CS3 (2.8 km from
#   R1): closed, the store is 1 km+ from every open road — by the scenario.
# Both are served on the base network, so every output says ``scenario_blocked`` (被情景阻断),
# never "its road is not connected to the county network" nor "too far from any road"; the
# island village and the road-less village keep their data reasons.
SCENARIO_EXPECTED = {"140823100004": "scenario_blocked", "CS3": "scenario_blocked",
                     "140823100002": "too_far_from_road", "140823100003": "disconnected_component"}


@pytest.fixture
def ws_flood(ws):
    from planner.scenario import NetworkScenario
    from web.services import scenarios

    roads = _roads()
    roads = roads[roads["id"] != "R1"]  # R1 in three pieces: the spurs join it at their ends
    extra = {"R1w": [(111.20, 35.35), (111.21, 35.35)], "R1m": [(111.21, 35.35), (111.245, 35.35)],
             "R1e": [(111.245, 35.35), (111.25, 35.35)],
             "R4a": [(111.245, 35.350), (111.245, 35.345)], "R4b": [(111.245, 35.345), (111.245, 35.330)],
             "R5": [(111.21, 35.35), (111.21, 35.32)]}
    roads = pd.concat([roads, gpd.GeoDataFrame(
        {"id": list(extra), "road_class": "county", "surface": "paved", "oneway": False},
        geometry=[LineString(c) for c in extra.values()], crs="EPSG:4326")], ignore_index=True)
    villages = ws.read_layer("villages")
    villages = pd.concat([villages, gpd.GeoDataFrame(
        {"code": ["140823100004"], "name": ["断路村"], "town": "示例镇", "population": [400], "households": [120]},
        geometry=[Point(111.2453, 35.335)], crs="EPSG:4326")], ignore_index=True)
    cold = ws.read_layer("cold_storage")
    cold = pd.concat([cold, gpd.GeoDataFrame(
        {"id": ["CS3"], "name": ["坡下冷库"], "kind": "fresh_keeping", "capacity_t": 500, "status": "existing"},
        geometry=[Point(111.2103, 35.325)], crs="EPSG:4326")], ignore_index=True)
    ws.write_layers({"roads": roads, "villages": villages, "cold_storage": cold})
    scenarios.save_scenario(ws, NetworkScenario(name="汛期", close_ids=("R4a", "R5")))
    from web.services import netdata

    netdata.clear_cache()
    return ws


def _check_scenario(found: dict, where: str, ids=tuple(SCENARIO_EXPECTED)):
    for pid in ids:
        assert pid in found, f"{where}: {pid} not named"
        assert found[pid] == SCENARIO_EXPECTED[pid], f"{where}: {pid} is {found[pid]!r}"


def test_scenario_cut_points_are_scenario_blocked_in_every_output(ws_flood, tmp_path):
    ws = ws_flood
    base = json.loads(run("coverage", "-w", ws.path, "--facility", "cold_storage", "--minutes", 60,
                          "--json").output)
    assert "140823100004" not in {u["village_id"] for u in base["uncovered"]}  # served on the base network
    assert "CS3" not in {f["facility_id"] for f in base["facilities_off_network"]}
    d = json.loads(run("coverage", "-w", ws.path, "--facility", "cold_storage", "--minutes", 60,
                       "--scenario", "汛期", "--json").output)
    found = {u["village_id"]: u["reason"] for u in d["uncovered"]}
    found.update({f["facility_id"]: f["reason"] for f in d["facilities_off_network"]})
    _check_scenario(found, "coverage --json --scenario")
    assert {v["village_id"]: v["reason"] for v in d["scenario_difference"]["cut_off"]} == {
        "140823100004": "scenario_blocked"}
    text = run("coverage", "-w", ws.path, "--facility", "cold_storage", "--minutes", 60, "--scenario", "汛期",
               lang="zh").output
    lines = [ln for ln in text.splitlines() if "断路村" in ln or "坡下冷库" in ln]
    assert not any("所在道路未连通县域路网" in ln or "离道路太远" in ln for ln in lines), text
    assert sum("被情景阻断" in ln for ln in lines) == 3, text  # uncovered, off the network, cut off

    out = tmp_path / "od.csv"
    assert run("od", "-w", ws.path, "--to", "cold_storage", "--out", out, "--scenario", "汛期",
               lang="zh").exit_code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    rows = frame[frame["origin_id"] == "140823100004"]
    assert set(rows["reason"]) == {"origin: scenario_blocked"}
    assert set(rows["reason_text"]) == {"起点：被情景阻断"}
    rows = frame[(frame["destination_id"] == "CS3") & (frame["origin_id"] == "140823100001")]
    assert list(rows["reason"]) == ["destination: scenario_blocked"]

    from web.services import netdata

    netdata.clear_cache()
    d = netdata.od(ws, origins="villages", destinations="cold_storage", scenario="汛期")
    _check_scenario({r["id"]: r["reason"] for r in d["off_network"]}, "od API")
    found = dict(zip(d["origin_ids"], d["origin_reasons"]))
    found.update(zip(d["destination_ids"], d["destination_reasons"]))
    _check_scenario(found, "od API reason lists")
    d = netdata.coverage(ws, facility="cold_storage", minutes=60, scenario="汛期")
    found = {f["properties"]["village_id"]: f["properties"]["reason"] for f in d["uncovered_geojson"]["features"]}
    found.update({r["id"]: r["reason"] for r in d["off_network"]})
    _check_scenario(found, "coverage API")
    d = netdata.service_areas(ws, facility="cold_storage", minutes=(15.0,), scenario="汛期")
    _check_scenario({r["id"]: r["reason"] for r in d["off_network"]}, "service-area API", ids=("CS3",))
    d = netdata.accessibility(ws, facility="cold_storage", scenario="汛期")  # the map
    found = {f["properties"]["village_id"]: f["properties"]["reason"] for f in d["features"]}
    found.update({r["id"]: r["reason"] for r in d["off_network"]})
    _check_scenario(found, "accessibility API")

    result = run("place", "-w", ws.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
                 "--candidates", "towns", "--scenario", "汛期", "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    _check_scenario({u["village_code"]: u["reason"] for u in d["unreachable"]}, "place --json",
                    ids=("140823100004", "140823100002", "140823100003"))
    text = run("place", "-w", ws.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
               "--candidates", "towns", "--scenario", "汛期", lang="zh").output
    assert "断路村（被情景阻断）" in text and "孤岛村（所在道路未连通县域路网）" in text


def test_resilience_names_the_scenario_cut_village_by_the_same_rule(ws_flood):
    from planner.resilience import resilience_analysis
    from web import services
    from web.services import scenarios

    villages, towns = services.villages(ws_flood), ws_flood.read_layer("towns")
    flood = resilience_analysis(scenarios.road_graph(ws_flood, scenario="汛期"), villages, towns)
    status = dict(zip(flood.villages["village_id"].astype(str), flood.villages["status"]))
    assert status["140823100004"] == "scenario_blocked" and status["140823100002"] == "too_far_from_road"
    base = resilience_analysis(services.road_graph(ws_flood), villages, towns)
    assert dict(zip(base.villages["village_id"].astype(str), base.villages["status"]))["140823100004"] == "on_network"
