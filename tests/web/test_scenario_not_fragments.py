"""Roads closed by a network scenario are not data faults (issue 11).

The base network: R1a (111.200→111.245 along lat 35.35, 4.1 km) and R1b (111.245→111.250),
a dead-end spur R3 (111.25, 35.35→35.36, 1.1 km) at R1b's end, and a stray 180 m fragment
R20 (lat 35.354) 440 m north of R1a — a fault of the data, as in net-fragment. The scenario
closes R1b: the spur is cut off.

- The stray-fragment data warning comes from the base data only (village F beside R20), on
  the base network and in the scenario alike; the cut-off spur is no "stray fragment".
- The spur's villages stay on their road (A at its end; B 30 m from it and 494 m from R1a's
  end, which the fragment rule would have had it walk to) and are reported as cut off by
  the scenario: ``scenario_blocked`` (not ``disconnected_component``: their road is
  connected in the base network) in coverage and od, listed in the scenario difference's
  ``cut_off`` and in the text report.
"""
from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, Point

from web.cli import main

ROADS = {
    "R1a": [(111.200, 35.35), (111.245, 35.35)],
    "R1b": [(111.245, 35.35), (111.250, 35.35)],
    "R3": [(111.250, 35.35), (111.250, 35.36)],
    "R20": [(111.210, 35.354), (111.212, 35.354)],
}
VILLAGES = {"V_A": ("甲村", 111.2503, 35.3595), "V_B": ("乙村", 111.2503, 35.3510),
            "V_F": ("碎片旁村", 111.211, 35.3543), "V_M": ("主网村", 111.205, 35.3503)}


@pytest.fixture
def ws(tmp_path):
    from layers.store import Workspace
    from planner.scenario import NetworkScenario
    from web.services import scenarios

    w = Workspace.create(tmp_path / "sc.gpkg")
    w.write_layers({
        "roads": gpd.GeoDataFrame({"id": list(ROADS), "road_class": "county", "surface": "paved", "oneway": False},
                                  geometry=[LineString(c) for c in ROADS.values()], crs="EPSG:4326"),
        "villages": gpd.GeoDataFrame({"code": list(VILLAGES), "name": [v[0] for v in VILLAGES.values()],
                                      "town": "示例镇", "population": [100, 200, 300, 400]},
                                     geometry=[Point(v[1], v[2]) for v in VILLAGES.values()], crs="EPSG:4326"),
        "cold_storage": gpd.GeoDataFrame({"id": ["CS1"], "name": ["冷库"], "kind": "fresh_keeping",
                                          "capacity_t": 500, "status": "existing"},
                                         geometry=[Point(111.21, 35.3503)], crs="EPSG:4326"),
    })
    scenarios.save_scenario(w, NetworkScenario(name="汛期", close_ids=("R1b",)))
    return w


def run(*args, lang="en"):
    return CliRunner(env={"RURALPLAN_LANG": lang}).invoke(main, [str(a) for a in args], catch_exceptions=False)


def _coverage(ws, scenario=None):
    args = ["coverage", "-w", ws.path, "--facility", "cold_storage", "--minutes", 60, "--json"]
    return json.loads(run(*args, *(["--scenario", scenario] if scenario else [])).output)


def test_fragment_warnings_are_the_base_datas_in_the_scenario_too(ws):
    base, flood = _coverage(ws), _coverage(ws, "汛期")
    assert [(w["id"], w["code"]) for w in base["warnings"]] == [("V_F", "fragment_nearer")]
    assert flood["warnings"] == base["warnings"]  # no "stray fragment" for the closed spur
    assert base["totals"]["villages_covered"] == 4


def test_the_cut_off_villages_are_the_scenarios_effect(ws):
    flood = _coverage(ws, "汛期")
    status = {u["village_id"]: (u["status"], u["reason"]) for u in flood["uncovered"]}
    # B used to walk 494 m past its cut-off road onto R1a and stay covered
    assert status == {"V_A": ("unreachable", "scenario_blocked"),
                      "V_B": ("unreachable", "scenario_blocked")}
    from web.services import scenarios

    diff = scenarios.compare_coverage(ws, scenario="汛期", facility="cold_storage", minutes=60)
    assert [(v["village_id"], v["reason"]) for v in diff["cut_off"]] == [("V_B", "scenario_blocked"),
                                                                         ("V_A", "scenario_blocked")]
    text = run("coverage", "-w", ws.path, "--facility", "cold_storage", "--minutes", 60, "--scenario", "汛期",
               lang="zh").output
    assert "被情景阻断的村（2）" in text and "乙村" in text
    assert text.count("数据提示") == 1 and "碎片旁村" in text.split("数据提示")[1].splitlines()[0]


def test_od_on_the_scenario_names_them_cut_off_and_warns_only_of_the_data(ws, tmp_path):
    out = tmp_path / "od.csv"
    result = run("od", "-w", ws.path, "--to", "cold_storage", "--out", out, "--scenario", "汛期")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("origin_id")
    assert frame.loc["V_A", "reason"] == frame.loc["V_B", "reason"] == "origin: scenario_blocked"
    assert frame.loc["V_M", "minutes"] != "" and frame.loc["V_B", "minutes_base"] != ""
    assert result.output.count("data warning") == 1 and "V_F" in result.output


def test_the_scenario_graph_keeps_the_base_fragments_through_its_cache(ws):
    from planner.snap import snap_points
    from web import services
    from web.services import scenarios

    scenarios._memo.clear()
    graph = scenarios.road_graph(ws, scenario="汛期")
    scenarios._memo.clear()
    again = scenarios.road_graph(ws, scenario="汛期")  # from the workspace blob
    for g in (graph, again):
        fragment = dict(zip(g.edge_road_id.astype(str), g.edge_base_fragment))
        assert fragment == {"R1a": False, "R3": False, "R20": True}
        snap = snap_points(g, services.villages(ws))
        assert list(snap.reason) == ["", "", "", ""] and snap.warnings()[0]["id"] == "V_F"
