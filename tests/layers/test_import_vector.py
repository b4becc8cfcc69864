"""Importing vector and OpenStreetMap files: coordinate systems, generated road ids, OSM
variants and towns (cases data-gcj02-geojson, data-osm-gz, data-osm-villages-no-town)."""
from __future__ import annotations

import bz2
import gzip
import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from geo.crs import gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from layers.importer import import_file
from layers.osm import roads_from_osm
from layers.store import Workspace
from tests.conftest import shared_case, shared_data
from web.cli import main

TRUTH = np.array([[111.2012, 35.3511], [111.2516, 35.3822]])


def metres_apart(geoms, truth) -> np.ndarray:
    xy = shapely.get_coordinates(np.asarray(geoms, dtype=object))
    k = 111_320.0
    return np.hypot((xy[:, 0] - truth[:, 0]) * k * np.cos(np.radians(truth[:, 1])), (xy[:, 1] - truth[:, 1]) * k)


def stores(datum: str | None) -> gpd.GeoDataFrame:
    lon, lat = TRUTH[:, 0], TRUTH[:, 1]
    if datum == "gcj02":
        lon, lat = wgs84_to_gcj02(lon, lat)
    elif datum == "bd09":
        lon, lat = wgs84_to_bd09(lon, lat)
    return gpd.GeoDataFrame({"id": ["CS01", "CS02"], "name": ["东镇果品保鲜库", "西镇山楂冷库"],
                             "kind": ["保鲜库", "保鲜库"], "capacity_t": [500, 500], "status": ["已建成", "已建成"]},
                            geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".shp"])
def test_gcj02_and_bd09_files_import_onto_the_truth(tmp_path, datum, suffix):
    path = tmp_path / f"stores{suffix}"
    pyogrio.write_dataframe(stores(datum), path, **({"encoding": "UTF-8"} if suffix == ".shp" else {}))
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "cold_storage", path, crs=datum)
    assert outcome.written, [p.text() for p in outcome.problems]
    stored = ws.read_layer("cold_storage").set_index("id").loc[["CS01", "CS02"]]
    assert metres_apart(stored.geometry.values, TRUTH).max() < 0.5


def test_cli_import_of_case_data_gcj02_geojson(tmp_path):
    geojson = shared_case("data-gcj02-geojson", "amap_cold_stores_gcj02.geojson")
    csv = pd.read_csv(shared_case("data-gcj02-geojson", "amap_cold_stores_gcj02.csv"), encoding="utf-8-sig")
    truth = np.column_stack(gcj02_to_wgs84(csv["经度"].to_numpy(), csv["纬度"].to_numpy()))
    ws_path = tmp_path / "w.gpkg"
    result = CliRunner().invoke(main, ["import", "-w", str(ws_path), "--layer", "cold_storage", str(geojson),
                                       "--crs", "gcj02"], env={"RURALPLAN_LANG": "en"})
    assert result.exit_code == 0, result.output
    stored = Workspace(ws_path).read_layer("cold_storage").set_index("id").loc[csv["编号"]]
    assert metres_apart(stored.geometry.values, truth).max() < 0.5
    # the CSV of the same stores lands on the same spots
    ws2 = tmp_path / "w2.gpkg"
    result = CliRunner().invoke(main, ["import", "-w", str(ws2), "--layer", "cold_storage",
                                       str(shared_case("data-gcj02-geojson", "amap_cold_stores_gcj02.csv")),
                                       "--crs", "gcj02"])
    assert result.exit_code == 0, result.output
    from_csv = Workspace(ws2).read_layer("cold_storage").set_index("id").loc[csv["编号"]]
    assert metres_apart(from_csv.geometry.values, truth).max() < 0.5


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_an_import_never_drags_correctly_placed_records_by_the_datum_offset(tmp_path, datum):
    ws = Workspace(tmp_path / "w.gpkg")
    good = tmp_path / "good.geojson"
    pyogrio.write_dataframe(stores(None), good, driver="GeoJSON")
    assert import_file(ws, "cold_storage", good).written
    before = digest(ws.path)
    shifted = tmp_path / "amap.geojson"
    pyogrio.write_dataframe(stores(datum), shifted, driver="GeoJSON")
    result = CliRunner().invoke(main, ["import", "-w", str(ws.path), "--layer", "cold_storage", str(shifted)],
                                env={"RURALPLAN_LANG": "en"})
    assert result.exit_code == 2
    assert digest(ws.path) == before
    assert f"--crs {datum}" in result.output and "row 1" in result.output and "row 2" in result.output
    outcome = import_file(ws, "cold_storage", shifted)
    assert [(p.code, p.row) for p in outcome.errors] == [("datum_shift_suspected", 1), ("datum_shift_suspected", 2)]
    # with the right choice the stores stay where they are
    assert import_file(ws, "cold_storage", shifted, crs=datum).written
    stored = ws.read_layer("cold_storage").set_index("id").loc[["CS01", "CS02"]]
    assert metres_apart(stored.geometry.values, TRUTH).max() < 0.5


def test_a_real_move_is_not_mistaken_for_a_datum_offset(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    good = tmp_path / "good.geojson"
    pyogrio.write_dataframe(stores(None), good, driver="GeoJSON")
    assert import_file(ws, "cold_storage", good).written
    moved = stores(None)
    moved["geometry"] = moved.geometry.translate(0.004, 0.003)
    path = tmp_path / "moved.geojson"
    pyogrio.write_dataframe(moved, path, driver="GeoJSON")
    assert import_file(ws, "cold_storage", path).written


def test_shapefile_without_prj_takes_crs_epsg_in_import(tmp_path):
    frame = stores(None).to_crs(4546)  # CGCS2000 / 3-degree GK CM 111E
    path = tmp_path / "gk.shp"
    pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    (tmp_path / "gk.prj").unlink()
    ws = Workspace(tmp_path / "w.gpkg")
    refused = import_file(ws, "cold_storage", path)
    assert not refused.written and "crs_missing_projected" in {p.code for p in refused.errors}
    assert not ws.exists
    outcome = import_file(ws, "cold_storage", path, crs="EPSG:4546")
    assert outcome.written
    assert metres_apart(ws.read_layer("cold_storage").geometry.values, TRUTH).max() < 0.5


# ------------------------------------------------------------------ roads without ids
def _qgis_roads(tmp_path, name="乡道.geojson"):
    frame = gpd.GeoDataFrame({"name": ["Y001", "Y002"], "road_class": ["乡道", "村道"]},
                             geometry=[shapely.LineString([(111.2, 35.35), (111.21, 35.35)]),
                                       shapely.LineString([(111.21, 35.35), (111.21, 35.36)])], crs=4326)
    path = tmp_path / name
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    return path


def test_roads_without_id_column_get_ids_from_file_and_row(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    path = _qgis_roads(tmp_path)
    outcome = import_file(ws, "roads", path)
    assert outcome.written, [p.text() for p in outcome.problems]
    roads = ws.read_layer("roads")
    assert roads["id"].tolist() == ["乡道-1", "乡道-2"]
    assert roads["road_class"].tolist() == ["township", "village"]
    assert [p.code for p in outcome.warnings] == ["ids_generated"]
    # stable: the same file again updates, it does not double the network
    again = import_file(ws, "roads", path)
    assert again.updated == {"roads": 2} and len(ws.read_layer("roads")) == 2


def test_other_layers_still_need_their_ids(tmp_path):
    frame = stores(None).drop(columns=["id"])
    path = tmp_path / "no_id.geojson"
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    outcome = import_file(Workspace(tmp_path / "w.gpkg"), "cold_storage", path)
    assert not outcome.written and "missing_column" in {p.code for p in outcome.errors}


# ------------------------------------------------------------------ OpenStreetMap
def _osm_variants(tmp_path):
    gz = shared_case("data-osm-gz", "tiny.osm.gz")
    xml = gzip.decompress(gz.read_bytes())
    plain = tmp_path / "tiny.osm"
    plain.write_bytes(xml)
    bzipped = tmp_path / "tiny.osm.bz2"
    bzipped.write_bytes(bz2.compress(xml))
    return {"gz": gz, "osm": plain, "bz2": bzipped}


@pytest.mark.parametrize("kind", ["gz", "osm", "bz2"])
def test_case_data_osm_gz_and_its_siblings_import(tmp_path, kind):
    path = _osm_variants(tmp_path)[kind]
    ws = Workspace(tmp_path / "w.gpkg")
    roads = import_file(ws, "roads", path)
    assert roads.written, [p.text() for p in roads.problems]
    r = ws.read_layer("roads")
    assert r["id"].tolist() == ["osm100"] and r["road_class"].tolist() == ["township"]
    assert shapely.get_coordinates(r.geometry.iloc[0]).tolist() == [[111.2, 35.35], [111.22, 35.35], [111.22, 35.36]]
    villages = import_file(ws, "villages", path)
    assert villages.written
    v = ws.read_layer("villages").sort_values("code")
    assert v["name"].tolist() == ["甲村", "乙庄"]
    assert v["code"].tolist() == ["000000000010", "000000000011"]


def test_bz2_decompression_is_bounded(tmp_path):
    from geo.osm import OsmTooLarge, read_osm

    path = _osm_variants(tmp_path)["bz2"]
    with pytest.raises(OsmTooLarge) as info:
        read_osm(path, max_decompressed_bytes=100)
    assert isinstance(info.value, ValueError) and info.value.http_status == 413


def test_case_osm_villages_no_town_kept_with_one_warning(tmp_path):
    pbf = shared_case("data-osm-villages-no-town", "tiny.osm.pbf")
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "villages", pbf)
    assert outcome.written, [p.text() for p in outcome.problems]
    v = ws.read_layer("villages")
    assert sorted(v["name"]) == ["乙庄", "甲村"]
    assert v["town"].isna().all()
    assert [p.code for p in outcome.problems] == ["osm_no_town"]
    assert outcome.problems[0].params == {"count": 2}


def _workspace_with_towns(tmp_path, *, boundaries: bool):
    ws = Workspace(tmp_path / "w.gpkg")
    if boundaries:
        frame = gpd.GeoDataFrame({"code": ["140823100000", "140823101000"], "name": ["西镇", "东镇"],
                                  "level": ["town", "town"]},
                                 geometry=[shapely.box(111.19, 35.34, 111.21, 35.37),
                                           shapely.box(111.21, 35.34, 111.23, 35.37)], crs=4326)
        path = tmp_path / "towns.geojson"
        pyogrio.write_dataframe(frame, path, driver="GeoJSON")
        assert import_file(ws, "boundaries", path).written
    else:
        path = tmp_path / "towns.csv"
        path.write_text("代码,名称,经度,纬度\n140823100000,西镇,111.2,35.35\n140823101000,东镇,111.225,35.36\n",
                        encoding="utf-8")
        assert import_file(ws, "towns", path).written
    return ws


@pytest.mark.parametrize("boundaries", [True, False])
def test_osm_villages_take_the_workspace_towns(tmp_path, boundaries):
    pbf = shared_case("data-osm-villages-no-town", "tiny.osm.pbf")
    ws = _workspace_with_towns(tmp_path, boundaries=boundaries)
    outcome = import_file(ws, "villages", pbf)
    assert outcome.written and not [p for p in outcome.problems if p.code == "osm_no_town"]
    v = ws.read_layer("villages").set_index("name")
    assert v.loc["甲村", "town"] == "西镇" and v.loc["乙庄", "town"] == "东镇"


def test_highway_mapping_carries_motorway_access():
    lines = gpd.GeoDataFrame({
        "osm_id": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"), "name": [None] * 6,
        "highway": ["motorway", "motorway_link", "trunk", "trunk", "trunk_link", "primary"],
        "oneway": ["yes", "yes", None, None, None, None], "surface": [None] * 6,
        "motorroad": [None, None, "yes", None, None, "yes"], "maxspeed_kmh": [np.nan] * 6,
    }, geometry=[shapely.LineString([(0, i), (1, i)]) for i in range(6)], crs=4326)
    roads = roads_from_osm(lines)
    assert roads["road_class"].tolist() == ["expressway", "national", "expressway", "national", "national",
                                            "provincial"]
    assert roads["oneway"].tolist()[:2] == [True, True]


def test_expressway_is_a_road_class_of_the_schema(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    path = tmp_path / "r.csv"
    path.write_text('id,等级,wkt\nG5,高速公路,"LINESTRING (111.2 35.35, 111.3 35.35)"\n', encoding="utf-8")
    assert import_file(ws, "roads", path).written
    assert ws.read_layer("roads")["road_class"].tolist() == ["expressway"]


# ------------------------------------------------------------------ real county boundaries
@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("code", ["140823", "411024", "431081", "610902"])
def test_gcj02_county_boundaries_land_right(tmp_path, code):
    source = shared_data("china-counties", f"boundary_{code}.geojson")
    geometry = json.loads(source.read_text(encoding="utf-8"))
    path = tmp_path / f"boundary_{code}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": geometry,
        "properties": {"代码": f"{code}000000", "名称": code, "级别": "县"}}]}), encoding="utf-8")
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "boundaries", path, crs="gcj02")
    assert outcome.written, [p.text() for p in outcome.problems]
    stored = ws.read_layer("boundaries").geometry.iloc[0]
    raw = shapely.geometry.shape(geometry)
    ring = shapely.get_coordinates(raw)
    lon, lat = gcj02_to_wgs84(ring[:, 0], ring[:, 1])
    got = shapely.get_coordinates(stored)
    assert got.shape == ring.shape
    assert metres_apart(shapely.points(got), np.column_stack([lon, lat])).max() < 0.5
    # the statistical villages (GCJ-02 centres, converted) fall inside the imported boundary
    villages = import_file(ws, "villages", shared_data("china-counties", f"villages_{code}.csv"))
    assert villages.written
    outside = [p for p in villages.warnings if p.code == "outside_county"]
    located = ws.read_layer("villages").geometry.notna().sum()
    assert len(outside) <= 0.05 * located


def test_osm_villages_far_from_every_workspace_town_stay_without_town(tmp_path):
    pbf = shared_case("data-osm-villages-no-town", "tiny.osm.pbf")
    ws = Workspace(tmp_path / "w.gpkg")
    frame = gpd.GeoDataFrame({"code": ["140823100000"], "name": ["远镇"], "level": ["town"]},
                             geometry=[shapely.box(112.0, 35.0, 112.1, 35.1)], crs=4326)
    path = tmp_path / "towns.geojson"
    pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    assert import_file(ws, "boundaries", path).written
    outcome = import_file(ws, "villages", pbf)
    assert outcome.written
    assert ws.read_layer("villages")["town"].isna().all()
    assert [(p.code, p.params) for p in outcome.problems] == [("osm_town_unknown", {"count": 2})]


# ------------------------------------------------------------------ shapefile text through the importer
def test_cli_import_of_case_data_cpg_system(tmp_path):
    shp = shared_case("data-cpg-system", "villages.shp")
    ws_path = tmp_path / "w.gpkg"
    result = CliRunner().invoke(main, ["import", "-w", str(ws_path), "--layer", "villages", str(shp)],
                                env={"RURALPLAN_LANG": "zh"})
    assert result.exit_code == 0, result.output
    v = Workspace(ws_path).read_layer("villages").sort_values("code")
    assert v["name"].tolist() == ["张家庄村", "李家沟村", "王村", "后河村"]
    assert v["town"].tolist() == ["东镇"] * 4
    assert "警告" not in result.output and "warning" not in result.output


def _villages_shapefile(tmp_path, names):
    frame = gpd.GeoDataFrame({"code": [f"14082310020{i + 1}" for i in range(len(names))], "name": names,
                              "town": ["东镇"] * len(names)},
                             geometry=gpd.points_from_xy([111.2 + 0.01 * i for i in range(len(names))],
                                                         [35.35] * len(names)), crs=4326)
    path = tmp_path / "v.shp"
    pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    return path


def _replace_in_dbf(tmp_path, old: str, new: bytes):
    dbf = tmp_path / "v.dbf"
    raw = dbf.read_bytes()
    dbf.write_bytes(raw.replace(old.encode("utf-8"), new.ljust(len(old.encode("utf-8")), b" ")))


def test_mixed_encoding_rows_import_right_with_a_warning_each(tmp_path):
    path = _villages_shapefile(tmp_path, ["张家庄村", "李家沟村", "王村"])
    _replace_in_dbf(tmp_path, "李家沟村", "李家沟村".encode("gbk"))
    ws_path = tmp_path / "w.gpkg"
    result = CliRunner().invoke(main, ["import", "-w", str(ws_path), "--layer", "villages", str(path)],
                                env={"RURALPLAN_LANG": "zh"})
    assert result.exit_code == 0, result.output
    assert Workspace(ws_path).read_layer("villages")["name"].tolist() == ["张家庄村", "李家沟村", "王村"]
    assert "v.shp, 第 2 行" in result.output or "第 2 行" in result.output
    assert "GB18030" in result.output


def test_undecodable_text_blocks_the_import_and_names_the_row(tmp_path):
    path = _villages_shapefile(tmp_path, ["张家庄村", "李家沟村", "王村"])
    _replace_in_dbf(tmp_path, "王村", b"\xff\xfe\x80")
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "villages", path)
    assert not outcome.written and not ws.exists
    assert [(p.code, p.row, p.field) for p in outcome.errors] == [("text_undecodable", 3, "name")]
    skipped = import_file(ws, "villages", path, skip_bad_rows=True)
    assert skipped.written and skipped.skipped_rows == (3,)
    assert ws.read_layer("villages")["name"].tolist() == ["张家庄村", "李家沟村"]


@pytest.mark.parametrize("file_datum, chosen", [(None, "gcj02"), (None, "bd09"), ("bd09", "gcj02"),
                                                ("gcj02", "bd09"), ("gcj02", "cgcs2000")])
def test_any_wrong_datum_choice_is_refused_for_placed_records(tmp_path, file_datum, chosen):
    ws = Workspace(tmp_path / "w.gpkg")
    good = tmp_path / "good.geojson"
    pyogrio.write_dataframe(stores(None), good, driver="GeoJSON")
    assert import_file(ws, "cold_storage", good).written
    before = digest(ws.path)
    path = tmp_path / "file.geojson"
    pyogrio.write_dataframe(stores(file_datum), path, driver="GeoJSON")
    outcome = import_file(ws, "cold_storage", path, crs=chosen)
    assert not outcome.written and digest(ws.path) == before
    errors = [(p.code, p.row, p.params["datum"]) for p in outcome.errors]
    assert errors == [("datum_shift_suspected", r, file_datum or "wgs84") for r in (1, 2)]
