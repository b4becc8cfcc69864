"""Uploads (page and API) apply the coordinate-system choice to vector files and never
drag correctly placed records by the GCJ-02 offset (case data-gcj02-geojson)."""
from __future__ import annotations

import io
import re
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.crs import gcj02_to_wgs84, wgs84_to_bd09
from tests.conftest import shared_case

from .conftest import csrf_token


def _truth():
    csv = pd.read_csv(shared_case("data-gcj02-geojson", "amap_cold_stores_gcj02.csv"), encoding="utf-8-sig")
    return csv["编号"].tolist(), np.column_stack(gcj02_to_wgs84(csv["经度"].to_numpy(), csv["纬度"].to_numpy()))


def _metres(geoms, truth):
    xy = shapely.get_coordinates(np.asarray(geoms, dtype=object))
    k = 111_320.0
    return np.hypot((xy[:, 0] - truth[:, 0]) * k * np.cos(np.radians(truth[:, 1])), (xy[:, 1] - truth[:, 1]) * k)


def _api(client, body: bytes, name: str, layer="cold_storage", crs=None):
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    data = {"file": (io.BytesIO(body), name)}
    if crs is not None:
        data["crs"] = crs
    return client.post(f"/api/v1/layers/{layer}/import", headers={"X-CSRFToken": token}, data=data,
                       content_type="multipart/form-data")


def _page(client, body: bytes, name: str, layer="cold_storage", crs="auto", epsg=""):
    data = {"csrf_token": csrf_token(client, "/data/"), "layer": layer, "crs": crs, "epsg": epsg,
            "file": (io.BytesIO(body), name)}
    return client.post("/data/upload", data=data, content_type="multipart/form-data")


def test_api_gcj02_geojson_lands_right_and_a_wrong_choice_moves_nothing(client, login_as, workspace):
    login_as("planner1")
    ids, truth = _truth()
    body = shared_case("data-gcj02-geojson", "amap_cold_stores_gcj02.geojson").read_bytes()
    response = _api(client, body, "amap_cold_stores_gcj02.geojson", crs="gcj02")
    assert response.status_code == 200, response.get_json()
    stored = workspace.read_layer("cold_storage").set_index("id").loc[ids]
    assert _metres(stored.geometry.values, truth).max() < 0.5
    # the same file without the choice would drag them ~550 m east: refused, nothing changes
    before = workspace.path.read_bytes()
    response = _api(client, body, "amap_cold_stores_gcj02.geojson")
    assert response.status_code == 422
    codes = [p["code"] for p in response.get_json()["problems"] if p["severity"] == "error"]
    assert codes == ["datum_shift_suspected", "datum_shift_suspected"]
    assert workspace.path.read_bytes() == before
    # the page says so too, in Chinese by default
    html = _page(client, body, "amap_cold_stores_gcj02.geojson").get_data(as_text=True)
    assert "--crs gcj02" in html and "偏移" in html
    assert workspace.path.read_bytes() == before


def test_page_bd09_zipped_shapefile_lands_right(client, login_as, workspace, tmp_path):
    login_as("planner1")
    truth = np.array([[111.06, 34.06], [111.1, 34.1]])
    lon, lat = wgs84_to_bd09(truth[:, 0], truth[:, 1])
    frame = gpd.GeoDataFrame({"id": ["B1", "B2"], "name": ["百度甲库", "百度乙库"], "kind": ["保鲜库"] * 2,
                              "capacity_t": [100, 200], "status": ["已建成"] * 2},
                             geometry=gpd.points_from_xy(lon, lat), crs=4326)
    pyogrio.write_dataframe(frame, tmp_path / "baidu.shp", encoding="UTF-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in tmp_path.glob("baidu.*"):
            z.write(part, part.name)
    response = _page(client, buf.getvalue(), "百度.zip", crs="bd09")
    assert response.status_code == 200 and "新增 2 条" in response.get_data(as_text=True)
    stored = workspace.read_layer("cold_storage").set_index("id").loc[["B1", "B2"]]
    assert _metres(stored.geometry.values, truth).max() < 0.5


def test_form_offers_the_files_own_crs_by_default(client, login_as):
    login_as("planner1")
    html = client.get("/data/").get_data(as_text=True)
    select = re.search(r'<select id="crs".*?</select>', html, re.DOTALL).group(0)
    assert re.search(r'<option selected value="auto">按文件自带坐标系', select), select
    assert ".osm" in html and ".gz" in html


def test_osm_gz_upload(client, login_as, workspace):
    login_as("planner1")
    body = shared_case("data-osm-gz", "tiny.osm.gz").read_bytes()
    response = _page(client, body, "tiny.osm.gz", layer="roads")
    assert response.status_code == 200, response.get_data(as_text=True)[-1500:]
    assert "osm100" in set(workspace.read_layer("roads")["id"])


def _zipped_gk_shapefile(tmp_path, truth) -> bytes:
    frame = gpd.GeoDataFrame({"id": ["G1", "G2"], "name": ["甲库", "乙库"], "kind": ["保鲜库"] * 2,
                              "capacity_t": [100, 200], "status": ["已建成"] * 2},
                             geometry=gpd.points_from_xy(truth[:, 0], truth[:, 1]), crs=4326).to_crs(4546)
    pyogrio.write_dataframe(frame, tmp_path / "gk.shp", encoding="UTF-8")
    (tmp_path / "gk.prj").unlink()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in tmp_path.glob("gk.*"):
            z.write(part, part.name)
    return buf.getvalue()


def test_page_epsg_code_for_a_shapefile_without_prj(client, login_as, workspace, tmp_path):
    login_as("planner1")
    truth = np.array([[111.06, 34.06], [111.1, 34.1]])
    body = _zipped_gk_shapefile(tmp_path, truth)
    before = workspace.path.read_bytes()
    html = _page(client, body, "gk.zip").get_data(as_text=True)
    assert "EPSG:n" in html and workspace.path.read_bytes() == before  # without either: said so, nothing written
    bad = _page(client, body, "gk.zip", epsg="45x")
    assert bad.status_code == 400 and "EPSG 代码" in bad.get_data(as_text=True)
    response = _page(client, body, "gk.zip", epsg="EPSG:4546")
    assert response.status_code == 200 and "新增 2 条" in response.get_data(as_text=True)
    stored = workspace.read_layer("cold_storage").set_index("id").loc[["G1", "G2"]]
    assert _metres(stored.geometry.values, truth).max() < 0.5


def test_api_epsg_choice_for_a_shapefile_without_prj(client, login_as, workspace, tmp_path):
    login_as("planner1")
    truth = np.array([[111.06, 34.06], [111.1, 34.1]])
    response = _api(client, _zipped_gk_shapefile(tmp_path, truth), "gk.zip", crs="EPSG:4546")
    assert response.status_code == 200, response.get_json()
    stored = workspace.read_layer("cold_storage").set_index("id").loc[["G1", "G2"]]
    assert _metres(stored.geometry.values, truth).max() < 0.5
