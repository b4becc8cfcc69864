"""A county without a roads layer: every analysis uses the ONE straight-line estimate of the
workspace's settings (distance × ``network.detour_factor`` at ``network.estimate_speed_kmh``)
and says so — placement, proposal evaluation, the portfolio, pairings and the planning page,
besides coverage/od/map (tests/web/test_network_offnetwork.py). Minutes in outputs are
rounded after widening float32 (no 12.300000190734863)."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.conftest import shared_case
from web.cli import main

CASE = "net-offnetwork-destination"
# 甲村 (111.2000, 35.3505) to CS1 (111.2400, 35.3503): 3.63 km straight; × 1.5 = 5.45 km at
# 40 km/h = 8.17 min (the settings below, not the 1.3 / 30 defaults)
FACTOR, SPEED = 1.5, 40.0
MIN_TO_CS1 = 3.632 * FACTOR / SPEED * 60


def _points(csv):
    frame = pd.read_csv(csv, dtype={"code": str})
    return gpd.GeoDataFrame(frame.drop(columns=["lng", "lat"]), geometry=gpd.points_from_xy(frame["lng"], frame["lat"]),
                            crs="EPSG:4326")


@pytest.fixture
def no_roads(tmp_path):
    from layers.store import Workspace

    ws = Workspace.create(tmp_path / "noroads.gpkg")
    ws.write_layers({"roads": gpd.GeoDataFrame({"id": []}, geometry=[], crs="EPSG:4326"),
                     "cold_storage": _points(shared_case(CASE, "cold.csv")).assign(status="existing"),
                     "villages": _points(shared_case(CASE, "villages.csv"))})
    ws.set_meta(network={"detour_factor": FACTOR, "estimate_speed_kmh": SPEED})
    return ws


def run(*args, lang="en"):
    return CliRunner(env={"RURALPLAN_LANG": lang}).invoke(main, [str(a) for a in args], catch_exceptions=False)


def _label_ok(estimate):
    return (estimate["method"] == "straight_line" and estimate["detour_factor"] == FACTOR
            and estimate["speed_kmh"] == SPEED)


def test_place_uses_and_labels_the_estimate(no_roads):
    d = json.loads(run("place", "-w", no_roads.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
                       "--candidates", "network", "--json").output)
    assert _label_ok(d["estimate"])
    text = run("place", "-w", no_roads.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
               "--candidates", "network", lang="zh").output
    assert "估算（无道路图层）：直线距离 × 1.5，按 40 公里/小时计" in text


def test_planning_page_run_labels_the_estimate(no_roads):
    from web.services import planning

    params = planning.PlacementQuestion(facility="cold_storage", model="pmedian", p=1, candidates="network",
                                        minutes=30.0)
    payload = planning.run(no_roads, params, with_areas=False)
    assert _label_ok(payload["result"]["estimate"])


def test_evaluation_and_portfolio_use_and_label_the_estimate(no_roads):
    from layers import proposals as P
    from web.services import project_eval

    # a proposed store at CS1's place: 甲村 is MIN_TO_CS1 away by the estimate
    data = {"name": "拟建冷库", "category": "cold_chain", "village_code": "140823100001", "content": "新建保鲜库",
            "budget_wan": 200, "geometry": "POINT (111.24 35.3503)", "year": 2024, "town": "示例镇"}
    proposal = P.create_proposal(no_roads, data, created_by="planner")
    ev = project_eval.evaluate(no_roads, proposal.id, cutoff_min=30, use_cache=False)
    assert _label_ok(ev["estimate"])
    [village] = ev["catchment"]["villages"]
    assert village["minutes"] == pytest.approx(MIN_TO_CS1, abs=0.1)
    assert ev["access"]["site_snap_reason"] == "" and ev["access"]["main_road_min"] is None
    result = run("evaluate", "-w", no_roads.path, "--proposal", proposal.id, "--no-cache", lang="zh")
    assert result.exit_code == 0, result.output
    assert "估算（无道路图层）：直线距离 × 1.5，按 40 公里/小时计" in result.output
    out = project_eval.portfolio_for(no_roads, category="cold_chain", budget_wan=500)
    assert _label_ok(out["estimate"])


def test_pairings_use_the_workspace_estimate_not_their_own(no_roads):
    from web.services.pairings import analyse_workspace, workspace_travel

    travel, method, estimate = workspace_travel(no_roads, "network")
    assert method == "straight_line" and _label_ok(estimate)
    vill = no_roads.read_layer("villages")
    cold = no_roads.read_layer("cold_storage")
    assert travel(vill, cold)[0, 0] == pytest.approx(MIN_TO_CS1, abs=0.1)
    assert analyse_workspace(no_roads).estimate == estimate
    result = run("pairings", "-w", no_roads.path, lang="zh")
    assert result.exit_code == 0, result.output
    assert "估算（无道路图层）：直线距离 × 1.5，按 40 公里/小时计" in result.output
    assert _label_ok(json.loads(run("pairings", "-w", no_roads.path, "--json").output)["estimate"])


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def test_od_minutes_have_two_decimals_in_csv_parquet_and_api(tmp_path):
    """float32 minutes printed as 12.300000190734863 before; the computation keeps full values."""
    from layers.store import Workspace
    from planner.travel import travel_time_matrix
    from web import services

    ws = Workspace.create(tmp_path / "od.gpkg")
    ws.write_layers({"roads": gpd.read_file(shared_case(CASE, "roads.geojson")),
                     "cold_storage": _points(shared_case(CASE, "cold.csv")).assign(status="existing"),
                     "villages": _points(shared_case(CASE, "villages.csv"))})
    full = travel_time_matrix(services.road_graph(ws), services.villages(ws),
                              services.facility_points(ws, "cold_storage")).minutes
    assert full.dtype == "float32"
    for out in (tmp_path / "od.csv", tmp_path / "od.parquet"):
        assert run("od", "-w", ws.path, "--to", "cold_storage", "--out", out).exit_code == 0
        frame = pd.read_csv(out, dtype=str, keep_default_na=False) if out.suffix == ".csv" else pd.read_parquet(out)
        minutes = frame.loc[frame["destination_id"] == "CS1", "minutes"].iloc[0]
        text = minutes if isinstance(minutes, str) else repr(float(minutes))
        assert _decimals(text) <= 2, text
        assert float(minutes) == round(float(full[0, 0]), 2)
    csv = (tmp_path / "od.csv").read_text(encoding="utf-8-sig")
    assert not re.search(r"\d\.\d{3,}", csv), csv
    from web.services import netdata

    netdata.clear_cache()
    d = netdata.od(ws, origins="villages", destinations="cold_storage")
    assert _decimals(repr(d["minutes"][0][0])) <= 2


def test_place_minutes_are_rounded_for_output(tmp_path):
    from layers.store import Workspace

    ws = Workspace.create(tmp_path / "p.gpkg")
    ws.write_layers({"roads": gpd.read_file(shared_case(CASE, "roads.geojson")),
                     "cold_storage": _points(shared_case(CASE, "cold.csv")).assign(status="existing"),
                     "villages": _points(shared_case(CASE, "villages.csv"))})
    d = json.loads(run("place", "-w", ws.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
                       "--candidates", "network", "--json").output)
    minutes = [s["nearest_site_min"] for s in d["sites"]]
    minutes += [t[k] for t in d["by_town"] for k in ("mean_minutes_before", "mean_minutes_after")]
    assert minutes and all(_decimals(repr(m)) <= 2 for m in minutes if m is not None), minutes
    from web import services
    from web.services.planning import PlacementQuestion

    outcome = services.plan(ws, PlacementQuestion(facility="cold_storage", model="pmedian", p=1,
                                                  candidates="network"))
    assert all(_decimals(repr(float(m))) <= 2 for m in outcome.allocations["minutes"]), outcome.allocations
