"""net-offnetwork-destination: a facility off the road network is named in every output,
with its reason translated (zh/en), and the demand side likewise."""
from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.conftest import shared_case
from web.cli import main

CASE = "net-offnetwork-destination"


def _points(csv):
    frame = pd.read_csv(csv, dtype={"code": str})
    return gpd.GeoDataFrame(frame.drop(columns=["lng", "lat"]), geometry=gpd.points_from_xy(frame["lng"], frame["lat"]),
                            crs="EPSG:4326")


@pytest.fixture
def case_ws(tmp_path):
    from layers.store import Workspace

    roads = gpd.read_file(shared_case(CASE, "roads.geojson"))
    cold = _points(shared_case(CASE, "cold.csv")).assign(status="existing")
    villages = _points(shared_case(CASE, "villages.csv"))
    ws = Workspace.create(tmp_path / "case.gpkg")
    ws.write_layers({"roads": roads, "cold_storage": cold, "villages": villages})
    return ws


def run(*args, lang="en"):
    return CliRunner(env={"RURALPLAN_LANG": lang}).invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_od_names_the_island_cold_store_in_file_and_terminal(case_ws, tmp_path):
    out = tmp_path / "od.csv"
    result = run("od", "-w", case_ws.path, "--to", "cold_storage", "--out", out, lang="zh")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    row = frame[frame["destination_id"] == "CS2"].iloc[0]  # was missing from the file
    assert row["minutes"] == "" and row["reason"] == "destination: disconnected_component"
    # 甲村 (111.2000, 35.3505) is 55 m off R1: walk 0.66 min, 3.6 km of county road at 40 km/h
    # to CS1 (111.24, 35.3503, 33 m off R2) 5.45 min, walk 0.40 min: 6.5 min
    assert float(frame.loc[frame["destination_id"] == "CS1", "minutes"].iloc[0]) == pytest.approx(6.5, abs=0.1)
    assert "孤岛冷库 (CS2)" in result.output and "所在道路未连通县域路网" in result.output
    assert "disconnected_component" not in result.output  # the reason in words (the code is in the file)
    assert "行注明原因" in result.output.splitlines()[0]  # the summary line in the report language too


def test_coverage_text_names_the_off_network_facility(case_ws):
    for lang, text in (("zh", "所在道路未连通县域路网"), ("en", "its road is not connected to the county network")):
        result = run("coverage", "-w", case_ws.path, "--facility", "cold_storage", "--minutes", 30, lang=lang)
        assert result.exit_code == 0, result.output
        assert "孤岛冷库 (CS2)" in result.output and text in result.output
    d = json.loads(run("coverage", "-w", case_ws.path, "--facility", "cold_storage", "--minutes", 30,
                       "--json").output)
    assert [f["facility_id"] for f in d["facilities_off_network"]] == ["CS2"]


def test_service_area_and_place_name_it(case_ws, tmp_path):
    result = run("service-area", "-w", case_ws.path, "--facility", "cold_storage", "--minutes", "15",
                 "--out", tmp_path / "sa.geojson", lang="zh")
    assert result.exit_code == 0, result.output
    assert "孤岛冷库 (CS2)" in result.output and "所在道路未连通县域路网" in result.output
    result = run("place", "-w", case_ws.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
                 "--candidates", "network", lang="zh")
    assert result.exit_code == 0, result.output
    assert "孤岛冷库 (CS2)" in result.output


def test_api_names_it_with_translated_reasons(case_ws):
    from web import create_app
    from web.services import netdata

    netdata.clear_cache()
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(case_ws.path), "SECRET_KEY": "t",
                      "SESSION_COOKIE_SECURE": False})
    client = app.test_client()
    client.set_cookie("lang", "zh")
    for path in ("od?to=cold_storage", "coverage?facility=cold_storage", "service-areas?facility=cold_storage",
                 "accessibility?facility=cold_storage"):
        d = client.get(f"/api/v1/network/{path}").json
        assert [r["id"] for r in d["off_network"]] == ["CS2"], path
        assert d["off_network"][0]["reason"] == "disconnected_component"
        assert d["reason_labels"]["disconnected_component"] == "所在道路未连通县域路网"


def test_no_roads_layer_gives_labelled_estimates(case_ws, tmp_path):
    """A county without roads: straight line × 1.3 at 30 km/h, labelled everywhere."""
    case_ws.write_layers({"roads": gpd.GeoDataFrame({"id": []}, geometry=[], crs="EPSG:4326")})
    result = run("coverage", "-w", case_ws.path, "--facility", "cold_storage", "--minutes", 30, lang="zh")
    assert result.exit_code == 0, result.output
    assert "估算（无道路图层）：直线距离 × 1.3，按 30 公里/小时计" in result.output
    d = json.loads(run("coverage", "-w", case_ws.path, "--facility", "cold_storage", "--minutes", 30,
                       "--json").output)
    assert d["estimate"]["method"] == "straight_line" and d["estimate"]["detour_factor"] == 1.3
    out = tmp_path / "od.csv"
    result = run("od", "-w", case_ws.path, "--to", "cold_storage", "--out", out)
    assert "ESTIMATE (no roads layer)" in result.output
    frame = pd.read_csv(out, dtype=str)
    # 甲村 (111.2000, 35.3505) to CS1 (111.2400, 35.3503): 3.63 km × 1.3 = 4.72 km at 30 km/h = 9.4 min
    assert float(frame.loc[frame["destination_id"] == "CS1", "minutes"].iloc[0]) == pytest.approx(9.4, abs=0.1)
    case_ws.set_meta(network={"detour_factor": 1.5, "estimate_speed_kmh": 40})
    frame = pd.read_csv(out, dtype=str) if run("od", "-w", case_ws.path, "--to", "cold_storage",
                                               "--out", out).exit_code == 0 else None
    assert float(frame.loc[frame["destination_id"] == "CS1", "minutes"].iloc[0]) == pytest.approx(
        9.4 * 1.5 / 1.3 * 30 / 40, abs=0.1)
    result = run("place", "-w", case_ws.path, "--facility", "cold_storage", "--model", "pmedian", "--p", "1",
                 "--candidates", "network")
    assert result.exit_code == 0, result.output
    assert "ESTIMATE (no roads layer)" in result.output
