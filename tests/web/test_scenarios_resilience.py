"""Network scenarios and resilience through the glue, the JSON API and the CLI."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from planner.scenario import BadScenario, NetworkScenario, UnknownScenario
from web.services import netdata, scenarios
from web.cli import main

BASE = "/api/v1/network"


@pytest.fixture(autouse=True)
def _fresh_cache():
    netdata.clear_cache()
    yield
    netdata.clear_cache()


def run(*args, lang="en"):
    result = CliRunner().invoke(main, [str(a) for a in args], env={"RURALPLAN_LANG": lang}, catch_exceptions=False)
    return result


# --------------------------------------------------------------------------- storage
def test_scenarios_are_stored_by_name_and_checked(workspace):
    applied = scenarios.save_scenario(workspace, NetworkScenario("works", close_classes=["village"],
                                                                 close_zones=["z1"]))
    roads = workspace.read_layer("roads")
    assert set(applied.closed_ids) >= set(roads.loc[roads["road_class"] == "village", "id"])
    assert [s.name for s in scenarios.list_scenarios(workspace)] == ["works"]
    assert scenarios.get_scenario(workspace, "works").close_zones == ("z1",)
    with pytest.raises(scenarios.ScenarioExists):
        scenarios.save_scenario(workspace, NetworkScenario("works", close_unpaved=True))
    with pytest.raises(BadScenario):
        scenarios.save_scenario(workspace, NetworkScenario("x", close_ids=["no-such-road"]))
    with pytest.raises(BadScenario):
        scenarios.save_scenario(workspace, NetworkScenario("nothing"))
    scenarios.remove_scenario(workspace, "works")
    with pytest.raises(UnknownScenario):
        scenarios.get_scenario(workspace, "works")


def test_scenario_graph_is_slower_and_the_base_graph_untouched(workspace):
    from web import services

    scenarios.save_scenario(workspace, NetworkScenario("slow", slow_classes={c: 0.5 for c in
                            ("national", "provincial", "county", "township", "village")}))
    base = services.road_graph(workspace)
    slow = scenarios.road_graph(workspace, scenario="slow")
    assert slow.n_edges == base.n_edges
    assert slow.edge_minutes.sum() == pytest.approx(2 * base.edge_minutes.sum())
    assert services.road_graph(workspace) is base  # the base graph's cache survives


def test_compare_coverage_reports_what_changes(workspace):
    scenarios.save_scenario(workspace, NetworkScenario("slow", slow_classes={c: 0.25 for c in
                            ("national", "provincial", "county", "township", "village")}))
    diff = scenarios.compare_coverage(workspace, scenario="slow", facility="cold_storage", minutes=30)
    b, s = diff["base"], diff["scenario_totals"]
    assert diff["delta"]["villages_covered"] == s["villages_covered"] - b["villages_covered"]
    assert s["villages_covered"] <= b["villages_covered"]
    assert len(diff["lost"]) == b["villages_covered"] - s["villages_covered"]
    for v in diff["slower"]:
        assert v["added_min"] > 0 and v["minutes_scenario"] == pytest.approx(v["minutes_base"] + v["added_min"])


# --------------------------------------------------------------------------- API
def test_resilience_api_shape(client, workspace):
    r = client.get(f"{BASE}/resilience?top=5")
    assert r.status_code == 200 and r.headers["X-Cache"] == "miss"
    body = r.json
    t = body["totals"]
    assert t["villages"] == len(workspace.read_layer("villages"))
    assert t["villages_single_access"] == len(body["single_access"])
    assert len(body["links"]) <= 5
    pops = [link["population_cut"] for link in body["links"]]
    assert pops == sorted(pops, reverse=True)
    assert len(body["links_geojson"]["features"]) == len(body["links"])
    assert len(body["villages_geojson"]["features"]) == len(body["single_access"])
    single = {v["village_id"] for v in body["single_access"]}
    for link in body["links"]:
        assert set(link["village_ids"]) <= single
    assert client.get(f"{BASE}/resilience?top=5").headers["X-Cache"] == "hit"


def test_scenario_parameter_on_network_routes(client, workspace):
    scenarios.save_scenario(workspace, NetworkScenario("slow", slow_classes={"county": 0.5}))
    r = client.get(f"{BASE}/coverage?facility=cold_storage&minutes=30&scenario=slow")
    assert r.status_code == 200
    assert r.json["scenario_difference"]["scenario"]["name"] == "slow"
    od = client.get(f"{BASE}/od?from=villages&to=towns&scenario=slow").json
    assert od["scenario"] == "slow" and len(od["minutes_base"]) == len(od["minutes"])
    for row, base_row in zip(od["minutes"], od["minutes_base"]):
        for v, b in zip(row, base_row):
            assert (v is None) or (b is not None and v >= b - 1e-9)
    assert client.get(f"{BASE}/resilience?scenario=slow").status_code == 200
    assert client.get(f"{BASE}/accessibility?scenario=slow").status_code == 200
    assert client.get(f"{BASE}/service-areas?minutes=15&scenario=slow").status_code == 200
    listed = client.get(f"{BASE}/scenarios").json["scenarios"]
    assert [s["name"] for s in listed] == ["slow"]


@pytest.mark.parametrize("path", ["coverage?facility=cold_storage", "resilience", "od?to=towns",
                                  "service-areas?minutes=15", "accessibility"])
def test_unknown_scenario_is_404_in_the_visitors_language(client, path):
    r = client.get(f"{BASE}/{path}&scenario=nope" if "?" in path else f"{BASE}/{path}?scenario=nope")
    assert r.status_code == 404 and r.json["error"]["type"] == "scenario.not_found"
    assert "路网情景" in r.json["error"]["message"]
    client.get("/lang/en")
    r = client.get(f"{BASE}/{path}&scenario=nope" if "?" in path else f"{BASE}/{path}?scenario=nope")
    assert r.status_code == 404 and "network scenario" in r.json["error"]["message"]


def test_resilience_bad_parameters(client):
    assert client.get(f"{BASE}/resilience?top=0").status_code == 400
    assert client.get(f"{BASE}/resilience?to=roads").status_code == 400


# --------------------------------------------------------------------------- CLI
def test_cli_scenario_lifecycle_and_resilience(workspace):
    w = workspace.path
    r = run("scenario", "add", "-w", w, "汛期", "--close-class", "village", "--slow-class", "county=0.5,township=0.7")
    assert r.exit_code == 0, r.output
    assert "roads closed" in r.output
    r = run("scenario", "list", "-w", w, "--json")
    assert json.loads(r.output)[0]["slow_classes"] == {"county": 0.5, "township": 0.7}
    bad = run("scenario", "add", "-w", w, "x", "--slow-class", "county=3", lang="zh")
    assert bad.exit_code == 2 and "路网情景无效" in bad.output
    r = run("resilience", "-w", w, "--json", "--scenario", "汛期", "--top", "3")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["scenario"] == "汛期" and len(out["links"]) <= 3
    text = run("resilience", "-w", w, lang="zh").output
    assert "单一出口村" in text and "人" in text and "户" in text and "吨" in text
    assert "single-access villages" in run("resilience", "-w", w).output
    r = run("coverage", "-w", w, "--facility", "cold_storage", "--minutes", "30", "--scenario", "汛期")
    assert r.exit_code == 0 and "villages covered: base" in r.output
    missing = run("coverage", "-w", w, "--facility", "cold_storage", "--minutes", "30", "--scenario", "nope")
    assert missing.exit_code == 2 and "No network scenario named 'nope'" in missing.output
    assert run("scenario", "remove", "-w", w, "汛期").exit_code == 0
    assert run("scenario", "remove", "-w", w, "汛期").exit_code == 2


def test_cli_od_and_place_on_a_scenario(workspace, tmp_path):
    import pandas as pd

    w = workspace.path
    assert run("scenario", "add", "-w", w, "slow", "--slow-class",
               "national=0.5,provincial=0.5,county=0.5,township=0.5,village=0.5").exit_code == 0
    out = tmp_path / "od.csv"
    r = run("od", "-w", w, "--to", "towns", "--out", out, "--scenario", "slow")
    assert r.exit_code == 0, r.output
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert {"minutes", "minutes_base", "added_min"} <= set(frame.columns)
    both = frame.dropna(subset=["minutes", "minutes_base"])
    assert (both["added_min"] >= -0.011).all()
    # at half speed the network part of every trip doubles: never less than the base time
    assert (both["minutes"] >= both["minutes_base"] - 0.011).all()
    r = run("place", "-w", w, "--model", "mclp", "--p", "1", "--minutes", "30", "--scenario", "slow", "--json")
    assert r.exit_code == 0, r.output
    body = json.loads(r.output[r.output.index("{"):])
    assert body["scenario"] == "slow" and "base_network" in body
    assert body["totals"]["covered_after"] <= body["base_network"]["totals"]["covered_after"] + 1e-6


def test_proposal_evaluation_api_on_a_scenario(client, workspace):
    from layers import proposals as P

    from .test_projects_views import _data

    pid = P.create_proposal(workspace, _data(workspace), created_by="village1").id
    assert client.get(f"/api/v1/proposals/{pid}/evaluation?scenario=nope").status_code == 404
    scenarios.save_scenario(workspace, NetworkScenario("slow", slow_classes={"county": 0.5}))
    r = client.get(f"/api/v1/proposals/{pid}/evaluation?scenario=slow")
    assert r.status_code == 200 and r.json["scenario"] == "slow"
    assert client.get(f"/api/v1/proposals/{pid}/evaluation").json["scenario"] is None


def test_a_scenario_plan_and_its_base_network_answer_share_one_time_limit(workspace, monkeypatch):
    """--time-limit / the page's limit covers both answers: the scenario's plan gets half, the base
    network's what is left after it (issue 12: a deadline that holds for every entry point)."""
    import time
    from dataclasses import replace

    from web import services
    from web.services import planning

    scenarios.save_scenario(workspace, NetworkScenario("slow2", slow_classes={"village": 0.5}))
    calls = []
    real_plan = services.plan

    def spy(ws, question, **kwargs):
        t = time.perf_counter()
        out = real_plan(ws, question, **kwargs)
        calls.append((question.time_limit_s, time.perf_counter() - t))
        return out

    monkeypatch.setattr(services, "plan", spy)
    r = run("place", "-w", workspace.path, "--model", "mclp", "--p", "1", "--minutes", "30", "--scenario", "slow2",
            "--time-limit", "8", "--json")
    assert r.exit_code == 0, r.output
    (first, took), (second, _) = calls
    assert first == pytest.approx(4.0) and 0 < second <= 8.0 - took + 1e-9
    calls.clear()
    q = planning.PlacementQuestion(facility="cold_storage", model="mclp", p=1, minutes=30.0, time_limit_s=6.0)
    payload = planning.run(workspace, replace(q, scenario="slow2"), with_areas=False)
    assert "base_network" in payload
    (first, took), (second, _) = calls
    assert first == pytest.approx(3.0) and 0 < second <= 6.0 - took + 1e-9
