"""Household-level rows (monitored households, pairings with a household) by role and
scope, the same on every route: API layer and feature, map data, downloads."""
from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from web.services.users import add_user

from .conftest import PASSWORD

HELPERS = {"P1": "干部甲", "P2": "干部乙", "P3": "某企业"}


@pytest.fixture
def hh_workspace(workspace):
    villages = workspace.read_layer("villages")
    east = villages[villages["town"] == "东岭镇"].iloc[0]
    west = villages[villages["town"] == "西河乡"].iloc[0]
    households = pd.DataFrame({"id": ["HH1", "HH2"], "village_code": [str(east["code"]), str(west["code"])],
                               "kind": ["unstable", "marginal"], "risk": ["high", "low"]})
    rows = [
        {"id": "P1", "helper_id": "C1", "helper_name": HELPERS["P1"], "helper_kind": "cadre",
         "target_kind": "household", "target_id": "HH1"},
        {"id": "P2", "helper_id": "C2", "helper_name": HELPERS["P2"], "helper_kind": "cadre",
         "target_kind": "household", "target_id": "HH2"},
        {"id": "P3", "helper_id": "E1", "helper_name": HELPERS["P3"], "helper_kind": "enterprise",
         "target_kind": "village", "target_id": str(east["code"])},
    ]
    pairings = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=[east.geometry, west.geometry, shapely.Point(111.3, 34.2)],
                                crs="EPSG:4326")
    workspace.write_layers({"households": households, "pairings": pairings})
    add_user(workspace, "town_west", PASSWORD, "town_reviewer", town="西河乡")
    # village1's scope is the first village (东岭镇): make it HH1's village
    assert str(villages["code"].iloc[0]) == str(east["code"])
    return workspace


EXPECTED = [
    (None, {"P3"}), ("sector1", {"P3"}), ("village1", {"P1", "P3"}), ("town1", {"P1", "P3"}),
    ("town_west", {"P2", "P3"}), ("planner1", {"P1", "P2", "P3"}), ("approver1", {"P1", "P2", "P3"}),
    ("admin1", {"P1", "P2", "P3"}),
]


def _helpers(names) -> set[str]:
    return {pid for pid, name in HELPERS.items() if name in names}


@pytest.mark.parametrize("user, visible", EXPECTED)
def test_api_layer_and_features(hh_workspace, client, login_as, user, visible):
    if user:
        login_as(user)
    body = client.get("/api/v1/layers/pairings").get_json(force=True)
    assert {f["id"] for f in body["features"]} == visible
    for pid in HELPERS:
        response = client.get(f"/api/v1/layers/pairings/features/{pid}")
        assert response.status_code == (200 if pid in visible else 404)
    bbox = client.get("/api/v1/layers/pairings?bbox=110,33,112,35").get_json(force=True)
    assert {f["id"] for f in bbox["features"]} <= visible


@pytest.mark.parametrize("user, visible", EXPECTED)
def test_map_data(hh_workspace, client, login_as, user, visible):
    if user:
        login_as(user)
    response = client.get("/map/data/pairings.geojson")
    assert response.status_code == 200
    body = json.loads(response.get_data())
    names = [f["properties"].get("helper_name") for f in body["features"]]
    assert _helpers(names) == visible and len(names) == len(visible)


@pytest.mark.parametrize("user, visible", EXPECTED)
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson"])
def test_downloads(hh_workspace, client, login_as, user, visible, fmt):
    if user:
        login_as(user)
    response = client.get(f"/data/download/pairings.{fmt}" + ("?codes=1" if fmt == "csv" else ""))
    assert response.status_code == 200
    if fmt == "csv":
        frame = pd.read_csv(io.BytesIO(response.data), encoding="utf-8-sig")
    elif fmt == "xlsx":  # the labelled sheet and the codes sheet hold the same rows
        labelled = pd.read_excel(io.BytesIO(response.data), sheet_name=0)
        frame = pd.read_excel(io.BytesIO(response.data), sheet_name="代码")
        assert len(labelled) == len(frame)
    else:
        frame = pd.DataFrame([f["properties"] for f in json.loads(response.data)["features"]])
    assert set(frame["id"]) == visible
    assert "HH2" not in response.data.decode("utf-8", "ignore") or "P2" in visible


def test_map_etag_differs_by_scope(hh_workspace, client, login_as):
    anonymous = client.get("/map/data/pairings.geojson").headers["ETag"]
    login_as("planner1")
    planner = client.get("/map/data/pairings.geojson")
    assert planner.headers["ETag"] != anonymous
    # a cached anonymous copy is not confirmed for the planner (nor the other way round)
    assert client.get("/map/data/pairings.geojson", headers={"If-None-Match": anonymous}).status_code == 200
    other = client.application.test_client()  # not logged in
    response = other.get("/map/data/pairings.geojson", headers={"If-None-Match": planner.headers["ETag"]})
    assert response.status_code == 200
    assert other.get("/map/data/pairings.geojson", headers={"If-None-Match": anonymous}).status_code == 304


def test_households_layer_still_by_scope(hh_workspace, client, login_as):
    assert client.get("/api/v1/layers/households").status_code == 401
    login_as("town_west")
    body = client.get("/api/v1/layers/households").get_json(force=True)
    assert {f["id"] for f in body["features"]} == {"HH2"}


def test_pairings_page_uses_the_same_rule(hh_workspace):
    from web.services.users import User
    from web.views.pairings import _household_filter
    from web.services.visibility import household_rule

    town = User("t", "town_reviewer", "town", "东岭镇")
    assert _household_filter(town)({"town": "东岭镇"}) and not household_rule(town)({"town": "西河乡"})
    assert _household_filter(None) == "none" and _household_filter(User("p", "planner")) == "all"
    assert household_rule(User("s", "sector_assessor", "sector", "农业农村局")) == "none"


@pytest.mark.parametrize("user, visible", [(None, {"P3"}), ("town_west", {"P2", "P3"}),
                                           ("planner1", {"P1", "P2", "P3"})])
def test_inlined_map_data(hh_workspace, client, login_as, user, visible):
    client.application.config["RURALPLAN_MAP_INLINE"] = True
    if user:
        login_as(user)
    html = client.get("/map/").get_data(as_text=True)
    block = html.split('id="rp-data-pairings">', 1)[1].split("</script>", 1)[0]
    names = [f["properties"].get("helper_name") for f in json.loads(block)["features"]]
    assert _helpers(names) == visible
