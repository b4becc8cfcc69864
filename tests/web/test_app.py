"""Routes, roles, CSRF, escaping and language, through the Flask test client."""
from __future__ import annotations

import json

import pytest

from web import create_app

from .conftest import PASSWORD, csrf_token, login
from .sample import XSS_NAME


def test_create_app_builds_nothing_at_import():
    import web

    assert callable(web.create_app)


def test_home_redirects_to_map(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/map/")


def test_map_page_in_chinese_by_default(client):
    response = client.get("/map/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "县域乡村振兴规划" in html and "图例" in html
    assert "行政村" in html  # schema label in the legend / layer control
    assert "/vendor/leaflet/leaflet.js" in html
    assert "RP.register(" in html and "RP.start(" in html


def test_language_switch_persists(client):
    response = client.get("/lang/en?next=/data/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/data/")
    cookie = response.headers["Set-Cookie"]
    assert "rp_lang=en" in cookie and "HttpOnly" in cookie and "Max-Age" in cookie
    html = client.get("/map/").get_data(as_text=True)
    assert '<html lang="en">' in html and "Legend" in html and "Villages" in html
    client.get("/lang/zh")
    assert "图例" in client.get("/map/").get_data(as_text=True)


def test_language_switch_rejects_unknown_and_open_redirect(client):
    assert client.get("/lang/fr").status_code == 404
    response = client.get("/lang/en?next=https://evil.example/")
    assert response.headers["Location"].endswith("/map/")
    response = client.get("/lang/en?next=//evil.example/x")
    assert "evil" not in response.headers["Location"]


def test_map_data_is_compact_geojson_with_etag(client):
    response = client.get("/map/data/villages.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    data = response.get_json(force=True)
    assert data["type"] == "FeatureCollection" and len(data["features"]) == 12
    props = data["features"][0]["properties"]
    assert "urban_rural" not in props  # display=False fields are not sent
    coords = data["features"][0]["geometry"]["coordinates"]
    assert all(len(str(c).split(".")[-1]) <= 6 for c in coords)
    tag = response.headers["ETag"]
    again = client.get("/map/data/villages.geojson", headers={"If-None-Match": tag})
    assert again.status_code == 304


def test_roads_are_merged_per_class(client):
    data = client.get("/map/data/roads.geojson").get_json(force=True)
    # 40 segments with 5 classes and 7 names -> fewer features, every one a (Multi)LineString
    assert 0 < len(data["features"]) < 40
    assert {f["geometry"]["type"] for f in data["features"]} <= {"LineString", "MultiLineString"}
    assert all("id" not in f["properties"] for f in data["features"])


def test_households_are_not_a_map_layer(client):
    assert client.get("/map/data/households.geojson").status_code == 404
    assert client.get("/map/data/nope.geojson").status_code == 404


def test_choropleth_has_town_indicators(client):
    data = client.get("/map/data/choropleth.geojson").get_json(force=True)
    names = {f["properties"]["name"] for f in data["features"]}
    assert names == {"东岭镇", "西河乡"}
    props = data["features"][0]["properties"]
    assert {"monitored_per_1000", "former_poor_share", "population"} <= set(props)


def test_user_text_is_escaped(client, login_as):
    # The map page never inlines names (they arrive as JSON, shown with textContent) ...
    html = client.get("/map/").get_data(as_text=True)
    assert XSS_NAME not in html
    # ... and with inlining on, "<" is escaped inside the JSON script block.
    app = client.application
    app.config["RURALPLAN_MAP_INLINE"] = True
    html = client.get("/map/").get_data(as_text=True)
    assert XSS_NAME not in html and "\\u003cscript>alert(1)\\u003c/script>" in html
    assert '"<b>' not in html


def test_popup_code_uses_textcontent_only(client):
    js = client.get("/static/js/rpmap.js").get_data(as_text=True)
    assert "innerHTML" not in js


def test_login_logout_and_cookie_flags(workspace):
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(workspace.path), "SECRET_KEY": "x"})
    client = app.test_client()
    html = client.get("/auth/login", base_url="https://localhost").get_data(as_text=True)
    token = html.split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post("/auth/login", data={"username": "planner1", "password": PASSWORD, "csrf_token": token},
                           base_url="https://localhost", headers={"Referer": "https://localhost/auth/login"})
    assert response.status_code == 302
    cookie = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("ruralplan_session=")][0]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_wrong_password(client):
    response = login(client, "planner1", "wrong-password")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_login_needs_csrf(client):
    response = client.post("/auth/login", data={"username": "planner1", "password": PASSWORD})
    assert response.status_code == 400


def test_logged_in_user_shown_and_logout_needs_post_with_csrf(client, login_as):
    login_as("planner1")
    html = client.get("/map/").get_data(as_text=True)
    assert "planner1" in html and "规划人员" in html
    assert client.get("/auth/logout").status_code == 405
    assert client.post("/auth/logout").status_code == 400  # no CSRF token
    token = csrf_token(client, "/map/")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert "planner1" not in client.get("/map/").get_data(as_text=True)


def test_login_redirect_only_to_local_paths(client):
    token = csrf_token(client)
    response = client.post("/auth/login?next=https://evil.example/",
                           data={"username": "planner1", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and "evil" not in response.headers["Location"]


def test_login_required_setting(workspace):
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(workspace.path), "SECRET_KEY": "x",
                      "SESSION_COOKIE_SECURE": False, "RURALPLAN_LOGIN_REQUIRED": True})
    client = app.test_client()
    response = client.get("/map/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.get("/api/v1/layers").status_code == 401
    assert client.get("/auth/login").status_code == 200
    assert client.get("/vendor/leaflet/leaflet.css").status_code == 200
    login(client, "sector1")
    assert client.get("/map/").status_code == 200


def test_data_page_lists_layers_and_hides_households(client):
    html = client.get("/data/").get_data(as_text=True)
    assert "/data/download/villages.geojson" in html
    assert "/data/download/households.csv" not in html
    assert "户级数据" in html
    assert 'id="upload-form"' not in html  # anonymous: no upload form


@pytest.mark.parametrize("user,allowed", [
    ("planner1", True), ("admin1", True), ("approver1", False), ("sector1", False),
    ("town1", False), ("village1", False),
])
def test_upload_needs_import_role(client, login_as, user, allowed):
    login_as(user)
    html = client.get("/data/").get_data(as_text=True)
    assert ('id="upload-form"' in html) is allowed
    token = csrf_token(client, "/data/")
    response = client.post("/data/upload", data={"csrf_token": token, "layer": "villages"})
    assert response.status_code == (400 if allowed else 403)


def test_upload_anonymous_goes_to_login(client):
    token = csrf_token(client, "/data/")
    response = client.post("/data/upload", data={"csrf_token": token, "layer": "villages"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_upload_without_csrf_is_refused(client, login_as):
    login_as("planner1")
    response = client.post("/data/upload", data={"layer": "villages"})
    assert response.status_code == 400


@pytest.mark.parametrize("user,status", [(None, 302), ("sector1", 403), ("town1", 403), ("approver1", 200),
                                         ("planner1", 200)])
def test_household_download_by_role(client, login_as, user, status):
    if user:
        login_as(user)
    response = client.get("/data/download/households.csv")
    assert response.status_code == status


def test_error_pages_are_translated(client):
    response = client.get("/nope")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)
    response = client.get("/api/v1/nope")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == 404


def test_missing_workspace_is_404(tmp_path):
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(tmp_path / "none.gpkg")})
    assert app.test_client().get("/map/").status_code == 404


def test_secret_key_is_generated_once_and_kept_in_workspace(workspace):
    a = create_app({"RURALPLAN_WORKSPACE": str(workspace.path)})
    b = create_app({"RURALPLAN_WORKSPACE": str(workspace.path)})
    assert a.config["SECRET_KEY"] == b.config["SECRET_KEY"] and len(a.config["SECRET_KEY"]) >= 32


def test_vendor_assets_are_local_and_confined(client):
    assert client.get("/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/vendor/markercluster/leaflet.markercluster.js").status_code == 200
    assert client.get("/vendor/leaflet/../../../etc/passwd").status_code == 404
    assert client.get("/vendor/nope/x.js").status_code == 404


def test_clustered_villages_when_many(workspace):
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(workspace.path), "SECRET_KEY": "x",
                      "RURALPLAN_CLUSTER_THRESHOLD": 5})
    html = app.test_client().get("/map/").get_data(as_text=True)
    assert "L.markerClusterGroup" in html and "/vendor/markercluster/leaflet.markercluster.js" in html


def test_nav_entries_come_from_blueprints(app):
    endpoints = [item.endpoint for item in app.extensions["ruralplan.nav"]]
    assert endpoints[:3] == ["map.index", "overview.index", "data.index"]


def test_map_specs_carry_schema_labels_in_both_languages(client):
    html = client.get("/map/").get_data(as_text=True)
    assert json.dumps("统计用区划代码")[1:-1] in html or "统计用区划代码" in html
    client.get("/lang/en")
    html = client.get("/map/").get_data(as_text=True)
    assert "Statistical code" in html
