"""/api/v1/network/...: shapes, bad input, no roads, caching (by X-Cache, not by time), OpenAPI."""
from __future__ import annotations

import json

import geopandas as gpd
import pytest

from web import create_app
from web.services import netdata

BASE = "/api/v1/network"
HOUSEHOLD_FIELDS = {"household_id", "head_name", "id_number", "phone", "members"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    netdata.clear_cache()
    yield
    netdata.clear_cache()


def _error(response, code):
    assert response.status_code == code, response.get_data(as_text=True)
    assert response.is_json
    message = response.json["error"]["message"]
    assert response.json["error"]["code"] == code and message
    return message


def test_coverage_shape_and_cache(client, workspace):
    r = client.get(f"{BASE}/coverage?facility=cold_storage&minutes=30")
    assert r.status_code == 200 and r.headers["X-Cache"] == "miss"
    body = r.json
    assert body["facility"] == "cold_storage" and body["cutoff_min"] == 30
    assert body["totals"]["villages"] == len(workspace.read_layer("villages"))
    t = body["totals"]
    assert t["villages_covered"] + t["villages_too_far"] + t["villages_unreachable"] == t["villages"]
    assert {row["town"] for row in body["by_town"]} == {"东岭镇", "西河乡"}
    points = body["uncovered_geojson"]
    assert points["type"] == "FeatureCollection" and len(points["features"]) == len(body["uncovered"])
    for f in points["features"]:
        assert f["geometry"]["type"] == "Point"
        assert f["properties"]["status"] in ("too_far", "unreachable") and f["properties"]["reason"] is not None
        assert not HOUSEHOLD_FIELDS & set(f["properties"])
    again = client.get(f"{BASE}/coverage?minutes=30&facility=cold_storage")
    assert again.headers["X-Cache"] == "hit" and again.json == body
    assert client.get(f"{BASE}/coverage?facility=cold_storage&minutes=45").headers["X-Cache"] == "miss"


def test_coverage_commodities_and_status(client):
    body = client.get(f"{BASE}/coverage?commodity=apple&status=existing").json
    assert body["commodities"] == ["apple"] and body["statuses"] == ["existing"]
    assert "produce_apple_t" in body["totals"] and "produce_hawthorn_t" not in body["totals"]
    message = _error(client.get(f"{BASE}/coverage?commodity=gold"), 400)
    assert "gold" in message


def test_service_areas_one_all_and_dissolved(client, workspace):
    cold = _current(workspace.read_layer("cold_storage"))
    fid = str(cold["id"].iloc[0])
    one = client.get(f"{BASE}/service-areas?facility=cold_storage&id={fid}&minutes=15,30,60")
    assert one.status_code == 200 and one.headers["X-Cache"] == "miss"
    feats = one.json["features"]
    assert [f["properties"]["cutoff_min"] for f in feats] == [60, 30, 15]  # largest first
    assert {f["properties"]["facility_id"] for f in feats} == {fid}
    areas = [f["properties"]["area_km2"] for f in feats]
    assert areas == sorted(areas, reverse=True)
    assert client.get(f"{BASE}/service-areas?facility=cold_storage&id={fid}").headers["X-Cache"] == "hit"
    every = client.get(f"{BASE}/service-areas?facility=cold_storage&minutes=20").json["features"]
    assert len(every) == len(cold)
    dissolved = client.get(f"{BASE}/service-areas?facility=cold_storage&minutes=10,20&dissolve=1").json
    assert [f["properties"]["cutoff_min"] for f in dissolved["features"]] == [20, 10]
    assert all("n_facilities" in f["properties"] for f in dissolved["features"])
    _error(client.get(f"{BASE}/service-areas?facility=cold_storage&id=nope"), 404)


def test_accessibility_points(client, workspace):
    r = client.get(f"{BASE}/accessibility?facility=towns")
    assert r.status_code == 200
    feats = r.json["features"]
    codes = workspace.read_layer("villages")["code"].astype(str).tolist()
    assert [f["properties"]["village_id"] for f in feats] == codes
    for f in feats:
        p = f["properties"]
        assert set(p) == {"village_id", "name", "town", "facility_id", "facility_name", "minutes", "reason",
                          "network_m", "fragment_m"}  # distances of villages off the network (else None)
        assert (p["minutes"] is None) == (p["reason"] != "")
    assert r.json["facility"] == "towns" and r.json["facilities"] == 2


def test_od_matrix_nulls_and_cap(client, monkeypatch):
    r = client.get(f"{BASE}/od?from=villages&to=cold_storage&cutoff_min=60")
    assert r.status_code == 200
    body = r.json
    assert len(body["minutes"]) == len(body["origin_ids"]) == 12
    assert all(len(row) == len(body["destination_ids"]) for row in body["minutes"])
    cells = [v for row in body["minutes"] for v in row]
    assert all(v is None or 0 <= v <= 60 for v in cells)
    json.loads(r.get_data(as_text=True), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    monkeypatch.setattr(netdata, "MAX_OD_SIDE", 5)
    assert "过大" in _error(client.get(f"{BASE}/od?from=villages&to=towns"), 400)  # zh by default


@pytest.mark.parametrize("query", [
    "coverage?facility=households", "coverage?minutes=abc", "coverage?minutes=-5", "coverage?minutes=nan",
    "coverage?minutes=1000", "coverage?status=demolished", "service-areas?minutes=15,x",
    "service-areas?minutes=0", "service-areas?minutes=1,2,3,4,5,6,7", "service-areas?dissolve=maybe",
    "accessibility?facility=villages", "od?from=villages", "od?from=roads&to=towns", "od?to=towns&cutoff_min=x",
])
def test_bad_parameters_are_400_json(client, query):
    _error(client.get(f"{BASE}/{query}"), 400)


def test_workspace_without_roads_gets_labelled_estimates(client, workspace):
    workspace.write_layers({"roads": gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")})
    for path in ("coverage", "service-areas", "accessibility", "od?to=towns"):
        response = client.get(f"{BASE}/{path}")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["estimate"]["method"] == "straight_line", path
    # without villages either there is nothing to estimate from
    workspace.write_layers({"villages": gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:4326")})
    netdata.clear_cache()
    assert "道路" in _error(client.get(f"{BASE}/coverage"), 409)


def test_cache_follows_layer_changes(client, workspace):
    cold = workspace.read_layer("cold_storage").assign(status="existing")
    workspace.write_layers({"cold_storage": cold})
    assert len(cold) > 1
    assert client.get(f"{BASE}/coverage").json["totals"]["facilities"] == len(cold)
    assert client.get(f"{BASE}/coverage").headers["X-Cache"] == "hit"
    workspace.write_layers({"cold_storage": cold.iloc[:1]})
    r = client.get(f"{BASE}/coverage")
    assert r.headers["X-Cache"] == "miss" and r.json["totals"]["facilities"] == 1


def test_login_required_setting_gives_401(workspace):
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(workspace.path), "SECRET_KEY": "x",
                      "RURALPLAN_LOGIN_REQUIRED": True})
    assert app.test_client().get(f"{BASE}/coverage").status_code == 401


def test_openapi_lists_network_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/network/coverage", "/network/service-areas", "/network/accessibility", "/network/od"):
        op = paths[path]["get"]
        assert op["operationId"] and "409" in op["responses"] and "400" in op["responses"]


def test_demo_coverage_matches_the_cli(demo_workspace, tmp_path):
    """The API's coverage is the CLI's (`ruralplan coverage --json`) on the demo county."""
    import shutil

    from click.testing import CliRunner

    from web.cli import main

    path = tmp_path / "demo.gpkg"
    shutil.copyfile(demo_workspace.path, path)
    result = CliRunner().invoke(main, ["coverage", "-w", str(path), "--facility", "cold_storage",
                                       "--minutes", "30", "--json"])
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(path), "SECRET_KEY": "x"})
    api = app.test_client().get(f"{BASE}/coverage?facility=cold_storage&minutes=30").json
    assert api["totals"] == cli["totals"] and api["by_town"] == cli["by_town"] and api["uncovered"] == cli["uncovered"]
    assert len(api["uncovered_geojson"]["features"]) == len(cli["uncovered"]) > 0
    html = app.test_client().get("/map/").get_data(as_text=True)
    assert 'id="rp-net"' in html and "rpnetwork.js" in html and "/api/v1/network/service-areas" in html


def _current(stores):
    """Stores that count by default: built or under construction (planned only on request)."""
    from web.services import EXISTING_STATUSES

    return stores[stores["status"].isin(EXISTING_STATUSES)]
