"""The JSON API and the data page's uploads and downloads."""
from __future__ import annotations

import io

import pytest

from .conftest import csrf_token
from .sample import XSS_NAME

BAD_CSV = "代码,村名,乡镇,经度,纬度\n123,坏村,东岭镇,111.05,34.05\n411000999001,,东岭镇,abc,34.1\n"
GOOD_CSV = "代码,村名,乡镇,经度,纬度,人口\n411000999001,新村,东岭镇,111.05,34.05,800\n"


def test_layers_list(client):
    data = client.get("/api/v1/layers").get_json()
    names = [layer["name"] for layer in data["layers"]]
    assert "villages" in names and "households" in names
    villages = next(layer for layer in data["layers"] if layer["name"] == "villages")
    assert villages["count"] == 12 and villages["zh"] == "行政村"
    assert any(f["name"] == "code" and f["zh"] == "统计用区划代码" for f in villages["fields"])


def test_layer_geojson_and_bbox(client):
    full = client.get("/api/v1/layers/villages").get_json(force=True)
    assert len(full["features"]) == 12 and full["features"][0]["id"]
    part = client.get("/api/v1/layers/villages?bbox=111.0,34.0,111.2,34.3").get_json(force=True)
    assert 0 < len(part["features"]) < 12
    for f in part["features"]:
        x, y = f["geometry"]["coordinates"]
        assert 111.0 <= x <= 111.2 and 34.0 <= y <= 34.3


@pytest.mark.parametrize("bbox", ["1,2,3", "a,b,c,d", "3,0,1,1", "nan,0,1,1"])
def test_bad_bbox(client, bbox):
    assert client.get(f"/api/v1/layers/villages?bbox={bbox}").status_code == 400


def test_feature(client):
    code = client.get("/api/v1/layers/villages").get_json(force=True)["features"][1]["id"]
    feature = client.get(f"/api/v1/layers/villages/features/{code}").get_json(force=True)
    assert feature["type"] == "Feature" and feature["properties"]["name"] == XSS_NAME
    assert client.get("/api/v1/layers/villages/features/000").status_code == 404
    assert client.get("/api/v1/layers/nope").status_code == 404


@pytest.mark.parametrize("user,count", [(None, None), ("sector1", None), ("village1", 1), ("town1", 3),
                                        ("approver1", 6)])
def test_households_by_role_and_scope(client, login_as, user, count):
    if user:
        login_as(user)
    response = client.get("/api/v1/layers/households")
    if count is None:
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == 200
        assert len(response.get_json(force=True)["features"]) == count


def test_openapi(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert {"/layers", "/layers/{layer}", "/layers/{layer}/features/{id}"} <= set(doc["paths"])


def test_api_import_needs_role_and_csrf_header(client, login_as):
    data = {"file": (io.BytesIO(GOOD_CSV.encode()), "v.csv")}
    assert client.post("/api/v1/layers/villages/import", data=data).status_code in (400, 401)
    login_as("sector1")
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.post("/api/v1/layers/villages/import", headers={"X-CSRFToken": token},
                           data={"file": (io.BytesIO(GOOD_CSV.encode()), "v.csv")})
    assert response.status_code == 403


def test_api_import_by_planner(client, login_as, workspace):
    login_as("planner1")
    # no CSRF header: refused
    response = client.post("/api/v1/layers/villages/import", data={"file": (io.BytesIO(GOOD_CSV.encode()), "v.csv")})
    assert response.status_code == 400
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    response = client.post("/api/v1/layers/villages/import", headers={"X-CSRFToken": token},
                           data={"file": (io.BytesIO(BAD_CSV.encode()), "bad.csv")})
    assert response.status_code == 422 and response.get_json()["errors"] > 0
    assert len(workspace.read_layer("villages")) == 12
    response = client.post("/api/v1/layers/villages/import", headers={"X-CSRFToken": token},
                           data={"file": (io.BytesIO(GOOD_CSV.encode()), "good.csv")})
    assert response.status_code == 200, response.get_json()
    assert len(workspace.read_layer("villages")) == 13


def _upload(client, text, name, layer="villages", **extra):
    token = csrf_token(client, "/data/")
    data = {"csrf_token": token, "layer": layer, "crs": "wgs84", "file": (io.BytesIO(text.encode("utf-8")), name)}
    data.update(extra)
    return client.post("/data/upload", data=data, content_type="multipart/form-data")


def test_upload_with_errors_shows_report_and_changes_nothing(client, login_as, workspace):
    login_as("planner1")
    before = workspace.path.read_bytes()
    response = _upload(client, BAD_CSV, "坏数据<b>.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="import-report"' in html and "rp-report-failed" in html and "未作任何修改" in html
    assert "第" in html or "row" in html  # problems carry their row
    assert "坏数据&lt;b&gt;.csv" in html and "坏数据<b>.csv" not in html
    assert workspace.path.read_bytes() == before


def test_upload_report_in_english(client, login_as):
    login_as("planner1")
    client.get("/lang/en")
    html = _upload(client, BAD_CSV, "bad.csv").get_data(as_text=True)
    assert "Validation report" in html and "nothing was changed" in html


def test_upload_good_file_imports(client, login_as, workspace):
    login_as("planner1")
    response = _upload(client, GOOD_CSV, "good.csv")
    assert response.status_code == 200, response.get_data(as_text=True)[-3000:]
    assert "新增 1 条" in response.get_data(as_text=True)
    assert "新村" in set(workspace.read_layer("villages")["name"])


def test_upload_rejects_unknown_type(client, login_as, workspace):
    login_as("planner1")
    response = _upload(client, "x", "evil.exe")
    assert response.status_code == 200 and "不能导入此类型的文件" in response.get_data(as_text=True)


@pytest.mark.parametrize("fmt,magic", [("geojson", b"{"), ("gpkg", b"SQLite format 3"), ("csv", None),
                                        ("xlsx", b"PK")])
def test_download_formats(client, fmt, magic):
    response = client.get(f"/data/download/villages.{fmt}")
    assert response.status_code == 200
    assert f"villages.{fmt}" in response.headers["Content-Disposition"]
    body = response.get_data()
    if magic:
        assert body.startswith(magic)
    else:
        assert "统计用区划代码" in body.decode("utf-8-sig").splitlines()[0]
        coded = client.get(f"/data/download/villages.{fmt}?codes=1").get_data().decode("utf-8-sig")
        assert "code" in coded.splitlines()[0].split(",")


def test_download_unknown(client):
    assert client.get("/data/download/villages.shp").status_code == 404
    assert client.get("/data/download/nope.csv").status_code == 404
