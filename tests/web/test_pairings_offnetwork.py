"""Pairings name a target off the road network by the one rule (planner.travel.point_reasons).

On the county of tests/web/test_offnetwork_one_rule.py (net-fragment, net-offnetwork-destination
style): 主网村 on the main network, 无路村 7.8 km from every road (``too_far_from_road``),
孤岛村 on an island network without helpers (``disconnected_component``), and — with the
scenario 汛期 closing the spur R4a — 断路村 cut off by the scenario (``scenario_blocked``).
All four are former poor villages lacking resident staff; a municipal unit and a cadre on the
main network have room. The needs of the three off-network villages (and their households)
used to say only "no helper has a known route"; now every output gives the reason and
distances coverage gives.
"""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from tests.web.test_offnetwork_one_rule import _expected_distances, run, ws, ws_flood  # noqa: F401 - fixtures

CASES = ("net-fragment", "net-offnetwork-destination")
EXPECTED = {"140823100002": "too_far_from_road", "140823100003": "disconnected_component"}
RULES = {"resident_requirements": {"resident_former_poor": "either"}, "max_villages_per_unit": 10,
         "max_households_per_cadre": 10}


def _pairing_layers(ws):  # noqa: F811
    villages = ws.read_layer("villages")
    villages["former_poor"] = True
    households = pd.DataFrame({"id": ["H0", "H1", "H2"],
                               "village_code": ["140823100001", "140823100002", "140823100003"],
                               "kind": "unstable", "risk": "high"})
    base = Point(111.23, 35.3502)  # on R1, the main network
    pairings = gpd.GeoDataFrame(
        {"id": ["p1", "p2"], "helper_id": ["M1", "CA"], "helper_name": ["市直单位", "干部甲"],
         "helper_kind": ["municipal_unit", "cadre"], "helper_county_code": "140823",
         "target_kind": ["village", "household"], "target_id": ["140823100001", "H0"]},
        geometry=[base, base], crs="EPSG:4326")
    ws.write_layers({"villages": villages, "households": households, "pairings": pairings})
    ws.set_meta(pairing_rules=RULES)
    return ws


def _uncovered(analysis) -> dict:
    u = analysis.uncovered
    return {tid: (r, m, f) for tid, r, m, f in zip(u["target_id"], u["network_reason"], u["network_m"],
                                                  u["fragment_m"])}


def test_the_service_gives_the_shared_reason_and_distances(ws):  # noqa: F811
    from web.services import pairings as service
    from web.services.netreasons import metres

    _pairing_layers(ws)
    dist = _expected_distances(ws)
    result = service.analyse_workspace(ws)
    found = _uncovered(result.analysis)
    for code, reason in EXPECTED.items():
        assert found[code][0] == reason, found
        assert (metres(found[code][1]), metres(found[code][2])) == dist[code]
    # their households are located at their villages: the same reason
    assert found["H1"][0] == "too_far_from_road" and found["H2"][0] == "disconnected_component"
    # the village on the network is served (a new team from the unit), no reason invented
    assert "140823100001" in set(result.analysis.suggestions["target_id"])
    assert "140823100001" not in found
    assert set(result.analysis.uncovered["reason"]) == {"unreachable"}


def test_cli_text_and_json_say_the_shared_reason(ws):  # noqa: F811
    import json

    _pairing_layers(ws)
    text = run("pairings", "-w", ws.path, lang="zh").output
    line = next(ln for ln in text.splitlines() if "无路村" in ln)
    assert "无法到达：离道路太远 (距路网 7,7" in line, text
    line = next(ln for ln in text.splitlines() if "孤岛村" in ln)
    assert "所在道路未连通县域路网" in line, text
    en = run("pairings", "-w", ws.path).output
    assert "unreachable: too far from any road (road network 7,7" in en, en
    d = json.loads(run("pairings", "-w", ws.path, "--json").output)
    assert {u["target_id"]: u["network_reason"] for u in d["uncovered"] if u["network_reason"]} == {
        "140823100002": "too_far_from_road", "140823100003": "disconnected_component",
        "H1": "too_far_from_road", "H2": "disconnected_component"}


def test_the_page_says_the_shared_reason(ws):  # noqa: F811
    from web import create_app

    _pairing_layers(ws)
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(ws.path), "SECRET_KEY": "t",
                      "SESSION_COOKIE_SECURE": False})
    html = app.test_client().get("/pairings/").get_data(as_text=True)
    table = html.split('id="rp-uncovered"')[1].split("</table>")[0]
    assert "离道路太远" in table and "所在道路未连通县域路网" in table


def test_a_scenario_cut_village_is_scenario_blocked(ws_flood):  # noqa: F811
    from planner.pairings import PairingRules, analyse_pairings
    from planner.travel import travel_time_matrix
    from web.services import scenarios
    from web.services.pairings import off_network_rule

    ws = _pairing_layers(ws_flood)  # noqa: F811
    graph = scenarios.road_graph(ws, scenario="汛期")

    def travel(origins, destinations):
        return travel_time_matrix(graph, origins, destinations).minutes

    a = analyse_pairings(ws.read_layer("villages"), ws.read_layer("households"),
                         ws.read_layer("relocation_settlements"), ws.read_layer("pairings"),
                         rules=PairingRules.from_dict({**RULES, "home_county_code": "140823"}),
                         travel_min=travel, off_network=off_network_rule(graph))
    found = _uncovered(a)
    assert found["140823100004"][0] == "scenario_blocked"
    assert found["140823100002"][0] == "too_far_from_road"
    assert found["140823100003"][0] == "disconnected_component"
    # on the base network the spur's village is served
    base = analyse_pairings(ws.read_layer("villages"), ws.read_layer("households"),
                            ws.read_layer("relocation_settlements"), ws.read_layer("pairings"),
                            rules=PairingRules.from_dict({**RULES, "home_county_code": "140823"}),
                            travel_min=lambda o, d: travel_time_matrix(graph.base, o, d).minutes,
                            off_network=off_network_rule(graph.base))
    assert "140823100004" not in _uncovered(base)
