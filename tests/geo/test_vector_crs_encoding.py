"""Vector files: every coordinate-system choice lands on the WGS84 truth; shapefile text
is read right whatever the .cpg says (cases data-gcj02-geojson and data-cpg-system)."""
from __future__ import annotations

import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from geo.vector import read_vector
from tests.conftest import shared_case

# Known WGS84 points in a county of Shanxi (lon, lat).
TRUTH = np.array([[111.2012, 35.3511], [111.25160, 35.38220], [111.30, 35.30]])
NAMES = ["张家庄村", "李家沟村", "东关村"]
FORWARD = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def metres_apart(gdf, truth) -> np.ndarray:
    xy = shapely.get_coordinates(gdf.geometry.values)
    k = 111_320.0
    return np.hypot((xy[:, 0] - truth[:, 0]) * k * np.cos(np.radians(truth[:, 1])), (xy[:, 1] - truth[:, 1]) * k)


def frame_in(datum: str) -> gpd.GeoDataFrame:
    lon, lat = FORWARD[datum](TRUTH[:, 0], TRUTH[:, 1])
    return gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def write(frame, tmp_path, fmt: str):
    """``frame`` written as GeoJSON, GeoPackage, Shapefile (with/without .prj) or zipped shapefile."""
    if fmt == "geojson":
        path = tmp_path / "stores.geojson"
        pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    elif fmt == "gpkg":
        path = tmp_path / "stores.gpkg"
        pyogrio.write_dataframe(frame, path, driver="GPKG")
    else:
        path = tmp_path / "stores.shp"
        pyogrio.write_dataframe(frame, path, encoding="UTF-8")
        if fmt in ("shp-noprj", "zip"):
            (tmp_path / "stores.prj").unlink()
        if fmt == "zip":
            zpath = tmp_path / "stores.zip"
            with zipfile.ZipFile(zpath, "w") as zf:
                for part in tmp_path.glob("stores.*"):
                    if part.suffix != ".zip":
                        zf.write(part, f"data/{part.name}")
            path = zpath
    return path


# ------------------------------------------------------------------ coordinate systems
@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "shp-noprj", "zip"])
def test_gcj02_and_bd09_vector_files_land_on_the_truth(tmp_path, datum, fmt):
    path = write(frame_in(datum), tmp_path, fmt)
    gdf, problems = read_vector(path, crs=datum)
    assert gdf.crs.to_epsg() == 4326
    assert metres_apart(gdf, TRUTH).max() < 0.5
    assert gdf["name"].tolist() == NAMES
    assert not [p for p in problems if p.is_error]
    # the file's own WGS84 label was overruled: the report says so (files without a CRS need no note)
    codes = {p.code for p in problems}
    assert codes == (set() if fmt in ("shp-noprj", "zip") else {"crs_overridden"})


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_without_a_choice_the_file_crs_is_used(tmp_path, fmt):
    frame = gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(TRUTH[:, 0], TRUTH[:, 1]), crs=4326)
    gdf, problems = read_vector(write(frame, tmp_path, fmt))
    assert metres_apart(gdf, TRUTH).max() < 1e-3 and problems == []
    gdf, problems = read_vector(write(frame, tmp_path, fmt), crs="wgs84")
    assert metres_apart(gdf, TRUTH).max() < 1e-3 and problems == []


def test_case_data_gcj02_geojson_lands_where_the_csv_says(tmp_path):
    geojson = shared_case("data-gcj02-geojson", "amap_cold_stores_gcj02.geojson")
    csv = pd.read_csv(shared_case("data-gcj02-geojson", "amap_cold_stores_gcj02.csv"), encoding="utf-8-sig")
    lon, lat = gcj02_to_wgs84(csv["经度"].to_numpy(), csv["纬度"].to_numpy())
    truth = np.column_stack([lon, lat])
    gdf, _ = read_vector(geojson, crs="gcj02")
    assert gdf["id"].tolist() == csv["编号"].tolist()
    assert metres_apart(gdf, truth).max() < 0.5
    # ... and not where the file's WGS84 label would put them (~550 m east)
    raw, _ = read_vector(geojson)
    assert metres_apart(raw, truth).min() > 400


def _projected_shapefile(tmp_path, *, keep_prj=True, prj_epsg=None):
    """TRUTH in CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546, metres)."""
    frame = gpd.GeoDataFrame({"name": NAMES}, geometry=gpd.points_from_xy(TRUTH[:, 0], TRUTH[:, 1]),
                             crs=4326).to_crs(4546)
    if prj_epsg is not None:
        frame = frame.set_crs(prj_epsg, allow_override=True)  # a wrong .prj
    path = tmp_path / "gk.shp"
    pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    if not keep_prj:
        (tmp_path / "gk.prj").unlink()
    return path


def test_shapefile_without_prj_takes_crs_epsg(tmp_path):
    path = _projected_shapefile(tmp_path, keep_prj=False)
    gdf, problems = read_vector(path, crs="EPSG:4546")
    assert metres_apart(gdf, TRUTH).max() < 0.5 and problems == []
    # without either: an error that says how to give it
    _, problems = read_vector(path)
    assert [p.code for p in problems] == ["crs_missing_projected"] and problems[0].is_error
    assert "--crs EPSG:n" in problems[0].text()


def test_choice_contradicting_a_fitting_prj_is_reported_and_the_prj_kept(tmp_path):
    path = _projected_shapefile(tmp_path)
    gdf, problems = read_vector(path, crs="wgs84")
    assert metres_apart(gdf, TRUTH).max() < 0.5
    assert [p.code for p in problems] == ["crs_choice_ignored"]
    assert "EPSG:4546" in problems[0].text()


def test_choice_overrules_a_wrong_prj_and_says_so(tmp_path):
    path = _projected_shapefile(tmp_path, prj_epsg=4326)  # metres labelled as degrees
    gdf, problems = read_vector(path, crs="EPSG:4546")
    assert metres_apart(gdf, TRUTH).max() < 0.5
    assert [p.code for p in problems] == ["crs_overridden"]


def test_gcj02_choice_on_a_projected_file_is_an_error(tmp_path):
    _, problems = read_vector(_projected_shapefile(tmp_path), crs="gcj02")
    assert [p.code for p in problems] == ["crs_conflict_projected"] and problems[0].is_error


def test_unknown_crs_option_is_refused(tmp_path):
    path = write(frame_in("gcj02"), tmp_path, "geojson")
    with pytest.raises(ValueError, match="coordinate system"):
        read_vector(path, crs="amap")


# ------------------------------------------------------------------ shapefile encodings
def test_case_data_cpg_system_names_exactly_right():
    shp = shared_case("data-cpg-system", "villages.shp")
    assert shared_case("data-cpg-system", "villages.cpg").read_text().strip() == "System"
    gdf, problems = read_vector(shp)
    assert gdf["name"].tolist() == ["张家庄村", "李家沟村", "王村", "后河村"]
    assert gdf["town"].tolist() == ["东镇"] * 4
    assert gdf["code"].tolist() == [f"14082310020{i}" for i in range(1, 5)]
    assert problems == []


def _shapefile(tmp_path, *, encoding: str, cpg: str | bytes | None, names=NAMES, folder=None):
    folder = folder or tmp_path
    frame = gpd.GeoDataFrame({"name": names, "town": ["东镇"] * len(names)},
                             geometry=gpd.points_from_xy(TRUTH[: len(names), 0], TRUTH[: len(names), 1]), crs=4326)
    path = folder / "v.shp"
    pyogrio.write_dataframe(frame, path, encoding=encoding)
    cpg_path = folder / "v.cpg"
    cpg_path.unlink(missing_ok=True)
    if cpg is not None:
        cpg_path.write_bytes(cpg if isinstance(cpg, bytes) else cpg.encode("ascii"))
    return path


GBK_CPGS = ["System", "ANSI", "ANSI 936", "936", "CP936", "GBK", "GB2312", "GB18030", "gbk\r\n", None]
UTF8_CPGS = ["System", "65001", "UTF-8", "UTF8", "utf-8", "utf8", "UTF-8\n", "ANSI 65001", None]


@pytest.mark.parametrize("cpg", GBK_CPGS)
def test_every_gbk_alias_reads_gbk_text(tmp_path, cpg):
    path = _shapefile(tmp_path, encoding="GBK", cpg=cpg)
    assert "李家沟村".encode("gbk") in (tmp_path / "v.dbf").read_bytes()
    gdf, problems = read_vector(path)
    assert gdf["name"].tolist() == NAMES and gdf["town"].tolist() == ["东镇"] * 3
    assert problems == []


@pytest.mark.parametrize("cpg", UTF8_CPGS)
def test_every_utf8_alias_reads_utf8_text(tmp_path, cpg):
    path = _shapefile(tmp_path, encoding="UTF-8", cpg=cpg)
    assert "李家沟村".encode() in (tmp_path / "v.dbf").read_bytes()
    gdf, problems = read_vector(path)
    assert gdf["name"].tolist() == NAMES
    assert problems == []


@pytest.mark.parametrize("encoding, cpg, read_as", [("GBK", "UTF-8", "GB18030"), ("GBK", "ANSI 1252", "GB18030"),
                                                   ("UTF-8", "GBK", "UTF-8"), ("GBK", "8859_1", "GB18030")])
def test_cpg_contradicted_by_the_bytes_is_overruled_with_a_warning(tmp_path, encoding, cpg, read_as):
    gdf, problems = read_vector(_shapefile(tmp_path, encoding=encoding, cpg=cpg))
    assert gdf["name"].tolist() == NAMES
    assert [p.code for p in problems] == ["cpg_contradicted"]
    assert problems[0].params == {"declared": cpg, "encoding": read_as}


def test_unknown_cpg_alias_is_reported_and_the_bytes_decide(tmp_path):
    gdf, problems = read_vector(_shapefile(tmp_path, encoding="GBK", cpg="Klingon"))
    assert gdf["name"].tolist() == NAMES
    assert [p.code for p in problems] == ["cpg_unknown"]


def test_zipped_system_shapefile(tmp_path):
    folder = tmp_path / "src"
    folder.mkdir()
    _shapefile(tmp_path, encoding="GBK", cpg="System", folder=folder)
    zpath = tmp_path / "v.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for part in folder.iterdir():
            zf.write(part, part.name)
    gdf, problems = read_vector(zpath)
    assert gdf["name"].tolist() == NAMES and problems == []


def _patch_record(dbf, old: str, new_bytes: bytes):
    raw = dbf.read_bytes()
    old_bytes = old.encode("utf-8")
    assert raw.count(old_bytes) == 1
    assert len(new_bytes) <= len(old_bytes)
    dbf.write_bytes(raw.replace(old_bytes, new_bytes.ljust(len(old_bytes), b" ")))


@pytest.mark.parametrize("cpg", ["UTF-8", "System", None])
def test_mixed_encoding_dbf_warns_per_bad_row_and_reads_them_right(tmp_path, cpg):
    names = ["张家庄村", "李家沟村", "东关村", "后河村", "王村"]
    frame_names = names + ["西河村", "北岭村"]
    truth = np.vstack([TRUTH, TRUTH + 0.01, TRUTH[:1] + 0.02])
    frame = gpd.GeoDataFrame({"name": frame_names}, geometry=gpd.points_from_xy(truth[:, 0], truth[:, 1]), crs=4326)
    path = tmp_path / "v.shp"
    pyogrio.write_dataframe(frame, path, encoding="UTF-8")
    (tmp_path / "v.cpg").unlink(missing_ok=True)
    if cpg:
        (tmp_path / "v.cpg").write_text(cpg)
    # rows 2 and 5 re-saved by a GBK tool
    _patch_record(tmp_path / "v.dbf", "李家沟村", "李家沟村".encode("gbk"))
    _patch_record(tmp_path / "v.dbf", "王村", "王村".encode("gbk"))
    gdf, problems = read_vector(path)
    assert gdf["name"].tolist() == frame_names
    other = [p for p in problems if p.code == "text_other_encoding"]
    assert [(p.row, p.field, p.params["found"], p.params["value"]) for p in other] == [
        (2, "name", "GB18030", "李家沟村"), (5, "name", "GB18030", "王村")]
    assert all(not p.is_error for p in problems)
    assert {p.code for p in problems} == {"text_other_encoding"}


def test_undecodable_text_is_an_error_for_its_row(tmp_path):
    path = _shapefile(tmp_path, encoding="UTF-8", cpg="UTF-8")
    _patch_record(tmp_path / "v.dbf", "东关村", b"\xff\xfe\x80\x81\x01")
    gdf, problems = read_vector(path)
    assert gdf["name"].tolist()[:2] == NAMES[:2]
    errors = [p for p in problems if p.is_error]
    assert [(p.code, p.row, p.field) for p in errors] == [("text_undecodable", 3, "name")]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-8-sig"])
def test_geojson_saved_as_gbk_or_with_bom_reads_right(tmp_path, encoding):
    body = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "李家沟村"}, '
            '"geometry": {"type": "Point", "coordinates": [111.2, 35.35]}}]}')
    path = tmp_path / "v.geojson"
    path.write_bytes(body.encode(encoding))
    gdf, problems = read_vector(path)
    assert gdf["name"].tolist() == ["李家沟村"]
    assert [p.code for p in problems] == (["geojson_not_utf8"] if encoding == "gbk" else [])


def test_geojson_in_no_known_encoding_is_refused(tmp_path):
    path = tmp_path / "v.geojson"
    path.write_bytes(b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
                     b'{"name": "\xff\xfe\x01"}, "geometry": null}]}')
    with pytest.raises(ValueError, match="neither UTF-8"):
        read_vector(path)


def test_zip_with_several_system_shapefiles_reads_the_first_right(tmp_path):
    for stem in ("b_roads", "a_villages"):
        folder = tmp_path / stem
        folder.mkdir()
        _shapefile(tmp_path, encoding="GBK", cpg="System", folder=folder)
        for part in folder.iterdir():
            part.rename(folder / f"{stem}{part.suffix}")
    zpath = tmp_path / "both.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for stem in ("b_roads", "a_villages"):
            for part in (tmp_path / stem).iterdir():
                zf.write(part, part.name)
    gdf, problems = read_vector(zpath)
    assert gdf["name"].tolist() == NAMES
    assert [(p.code, p.params["layer"]) for p in problems] == [("vector_layer_chosen", "a_villages")]
    gdf, problems = read_vector(zpath, layer="b_roads")
    assert gdf["name"].tolist() == NAMES and problems == []


# the second half: characters whose GBK bytes are also valid UTF-8 (小溪 reads "СϪ" in UTF-8)
_COMMON = "张李王赵刘陈杨黄周吴村庄镇沟河家东西南北后前上下新老石键岭坪湾寨堡峪营屯小溪魏位习喜卢楼隆微危韦"


@pytest.mark.slow
@settings(max_examples=15, deadline=None)
@given(names=st.lists(st.text(alphabet=_COMMON, min_size=1, max_size=5), min_size=1, max_size=6),
       family=st.sampled_from(["GBK", "UTF-8"]), pick=st.integers(min_value=0))
def test_any_names_in_any_alias_of_their_encoding_read_back_exactly(names, family, pick):
    import tempfile
    from pathlib import Path

    aliases = (GBK_CPGS if family == "GBK" else UTF8_CPGS)
    cpg = aliases[pick % len(aliases)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frame = gpd.GeoDataFrame({"name": names},
                                 geometry=gpd.points_from_xy([111.2] * len(names), [35.35] * len(names)), crs=4326)
        pyogrio.write_dataframe(frame, folder / "v.shp", encoding=family)
        (folder / "v.cpg").unlink(missing_ok=True)
        if cpg is not None:
            (folder / "v.cpg").write_text(cpg)
        gdf, problems = read_vector(folder / "v.shp")
    assert gdf["name"].tolist() == names
    assert problems == []


# GBK bytes that are also valid UTF-8: 小溪 = D0 A1 CF AA reads as "СϪ" (Cyrillic, Greek)
TWO_WAY = ["小溪", "魏位", "习喜"]


@pytest.mark.parametrize("cpg", ["System", None, "UTF-8"])
def test_gbk_names_that_are_also_valid_utf8_read_as_chinese(tmp_path, cpg):
    assert "小溪".encode("gbk").decode("utf-8") == "СϪ"
    gdf, problems = read_vector(_shapefile(tmp_path, encoding="GBK", cpg=cpg, names=TWO_WAY))
    assert gdf["name"].tolist() == TWO_WAY
    assert [p.code for p in problems] == (["cpg_contradicted"] if cpg == "UTF-8" else [])
