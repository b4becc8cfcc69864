"""Uploads: zipped shapefiles, helpful messages for .shp alone and .xls, and error texts
that name the user's file, never the temporary file or a server path."""
from __future__ import annotations

import io
import zipfile

import geopandas as gpd
import pytest
import shapely

from .conftest import csrf_token


def _shapefile_zip(tmp_path, *, folder="") -> bytes:
    frame = gpd.GeoDataFrame({"code": ["411000999001"], "name": ["新村"], "town": ["东岭镇"], "population": [800]},
                             geometry=[shapely.Point(111.05, 34.05)], crs="EPSG:4326")
    frame.to_file(tmp_path / "新村.shp", encoding="utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in tmp_path.glob("新村.*"):
            z.write(part, folder + part.name)
    return buf.getvalue()


def _upload(client, body: bytes, name: str, layer="villages"):
    data = {"csrf_token": csrf_token(client, "/data/"), "layer": layer, "crs": "wgs84",
            "file": (io.BytesIO(body), name)}
    return client.post("/data/upload", data=data, content_type="multipart/form-data")


def _api(client, body: bytes, name: str, layer="villages"):
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    return client.post(f"/api/v1/layers/{layer}/import", headers={"X-CSRFToken": token},
                       data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data")


def _no_server_details(text: str) -> None:
    for leak in ("/tmp", "rp-upload-", "upload.gpkg", "upload.geojson", "/vsizip/", "/work/"):
        assert leak not in text


def test_zipped_shapefile_imports_on_the_page(client, login_as, workspace, tmp_path):
    login_as("planner1")
    response = _upload(client, _shapefile_zip(tmp_path), "村庄.zip")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "新增 1 条" in html, html[-2000:]
    assert "新村" in set(workspace.read_layer("villages")["name"])


def test_zipped_shapefile_imports_by_api(client, login_as, workspace, tmp_path):
    login_as("planner1")
    response = _api(client, _shapefile_zip(tmp_path, folder="data/"), "villages.zip")
    assert response.status_code == 200, response.get_json()
    assert len(workspace.read_layer("villages")) == 13


@pytest.mark.parametrize("name", ["村庄.shp", "村庄.dbf", "村庄.shx"])
def test_shapefile_part_alone_says_zip_it(client, login_as, workspace, name):
    login_as("planner1")
    before = workspace.path.read_bytes()
    html = _upload(client, b"\x00\x00\x27\x0a", name).get_data(as_text=True)
    assert name in html and ".zip" in html and "压缩" in html
    assert workspace.path.read_bytes() == before
    client.set_cookie("rp_lang", "en")
    assert "one .zip" in _upload(client, b"x", name).get_data(as_text=True)
    message = _api(client, b"x", name).get_json()["error"]["message"]
    assert "one .zip" in message and name in message


def test_xls_says_save_as_xlsx(client, login_as):
    login_as("planner1")
    html = _upload(client, b"\xd0\xcf\x11\xe0", "统计表.xls").get_data(as_text=True)
    assert "统计表.xls" in html and "另存为 .xlsx" in html


@pytest.mark.parametrize("name", ["坏文件.gpkg", "坏文件.geojson", "坏文件.zip", "坏文件.xlsx"])
def test_unreadable_file_names_the_upload_not_the_server(client, login_as, workspace, name):
    login_as("planner1")
    response = _upload(client, b"this is not a vector file", name)
    html = response.get_data(as_text=True)
    report = html[html.index('id="import-report"'):]
    assert response.status_code == 200 and "文件无法导入" in report and name in report
    _no_server_details(report)
    response = _api(client, b"this is not a vector file", name)
    if name.endswith(".xlsx"):  # a damaged workbook is a line of the validation report (422)
        assert response.status_code == 422
        problem = response.get_json()["problems"][0]
        assert problem["code"] == "file_unreadable" and problem["file"] == name
        _no_server_details(problem["text"])
        return
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert name in message
    _no_server_details(message)


def test_public_detail_strips_paths():
    from web.views.data import public_detail

    text = ("upload.gpkg: not a readable vector file ('/tmp/rp-upload-abc/upload.gpkg' not recognized); "
            "see /srv/ruralplan/ws.gpkg or C:\\data\\x.csv and /vsizip//tmp/rp-upload-q/a.zip/a.shp")
    clean = public_detail(text, "/tmp/rp-upload-abc")
    assert "/tmp" not in clean and "/srv" not in clean and "C:\\" not in clean and "vsizip" not in clean
    assert "'upload.gpkg' not recognized" in clean and "ws.gpkg" in clean and "x.csv" in clean
    assert "a.zip/a.shp" not in clean and "a.shp" in clean
