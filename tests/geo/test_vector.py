import zipfile

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import LineString, Point, Polygon

from geo.tables import points_from_table, read_table
from geo.vector import _choose_shapefile_encoding, read_vector, write_vector

NAMES = ["张村", "李家庄", "东关村"]


@pytest.fixture
def points():
    return gpd.GeoDataFrame(
        {"名称": NAMES, "户数": [120, 45, 300]},
        geometry=[Point(111.2, 35.35), Point(111.25, 35.4), Point(111.3, 35.3)],
        crs="EPSG:4326")


@pytest.fixture
def polygons():
    return gpd.GeoDataFrame(
        {"名称": ["甲", "乙"]},
        geometry=[Polygon([(111, 35), (111.1, 35), (111.1, 35.1)]),
                  LineString([(111, 35), (111.2, 35.2)])],
        crs="EPSG:4326")


def _write_shapefile(tmp_path, gdf, *, encoding, keep_cpg):
    path = tmp_path / "villages.shp"
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    cpg = tmp_path / "villages.cpg"
    if not keep_cpg and cpg.exists():
        cpg.unlink()
    return path


def test_shapefile_gbk_without_cpg(tmp_path, points):
    path = _write_shapefile(tmp_path, points, encoding="GBK", keep_cpg=False)
    assert not (tmp_path / "villages.cpg").exists()
    raw = (tmp_path / "villages.dbf").read_bytes()
    assert "李家庄".encode("gbk") in raw  # really GBK bytes on disk
    gdf, problems = read_vector(path)
    assert gdf["名称"].tolist() == NAMES
    assert problems == []
    assert gdf.crs.to_epsg() == 4326


def test_shapefile_utf8_with_cpg(tmp_path, points):
    path = _write_shapefile(tmp_path, points, encoding="UTF-8", keep_cpg=True)
    assert (tmp_path / "villages.cpg").read_text().strip().upper().startswith("UTF")
    gdf, _ = read_vector(path)
    assert gdf["名称"].tolist() == NAMES


def test_shapefile_utf8_without_cpg(tmp_path, points):
    path = _write_shapefile(tmp_path, points, encoding="UTF-8", keep_cpg=False)
    gdf, _ = read_vector(path)
    assert gdf["名称"].tolist() == NAMES


def test_zipped_gbk_shapefile(tmp_path, points):
    shp = _write_shapefile(tmp_path, points, encoding="GBK", keep_cpg=False)
    zpath = tmp_path / "upload.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in tmp_path.glob("villages.*"):
            zf.write(f, f"data/{f.name}")
    gdf, _ = read_vector(zpath)
    assert gdf["名称"].tolist() == NAMES
    assert shp.exists()


def test_encoding_choice():
    assert _choose_shapefile_encoding(b"UTF-8", None) == "UTF-8"
    assert _choose_shapefile_encoding(None, None) is None


def test_shapefile_without_prj_warns_and_assumes_wgs84(tmp_path, points):
    path = _write_shapefile(tmp_path, points, encoding="UTF-8", keep_cpg=True)
    (tmp_path / "villages.prj").unlink()
    gdf, problems = read_vector(path)
    assert gdf.crs.to_epsg() == 4326
    assert [(p.code, p.severity, p.file) for p in problems] == [
        ("crs_missing_assumed_wgs84", "warning", "villages.shp")]


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_projected_shapefile_without_prj_is_an_error(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(37_500_000, 3_900_000)])
    path = tmp_path / "gk.shp"
    pyogrio.write_dataframe(gdf, path)
    _, problems = read_vector(path)
    assert [(p.code, p.severity) for p in problems] == [("crs_missing_projected", "error")]


def test_projected_shapefile_with_prj_reprojected(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(37_500_000, 3_900_000)], crs="EPSG:4525")
    path = tmp_path / "gk.shp"
    pyogrio.write_dataframe(gdf, path)
    out, problems = read_vector(path)
    assert problems == []
    assert out.geometry.iloc[0].x == pytest.approx(111.0)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg"])
def test_geojson_gpkg_round_trip(tmp_path, polygons, suffix):
    path = write_vector(polygons, tmp_path / f"面{suffix}")
    gdf, problems = read_vector(path)
    assert problems == []
    assert gdf["名称"].tolist() == ["甲", "乙"]
    assert gdf.geometry.geom_equals(polygons.geometry).all()


def test_gpkg_layers_kept_and_chosen(tmp_path, points, polygons):
    path = tmp_path / "ws.gpkg"
    write_vector(points, path, layer="villages")
    write_vector(polygons, path, layer="areas")
    write_vector(points.iloc[:1], path, layer="villages")  # overwrite one layer only
    assert sorted(pyogrio.list_layers(path)[:, 0]) == ["areas", "villages"]
    gdf, _ = read_vector(path, layer="villages")
    assert gdf["名称"].tolist() == ["张村"]
    gdf, problems = read_vector(path)
    assert [p.code for p in problems] == ["vector_layer_chosen"]
    with pytest.raises(ValueError, match="no layer named 'x'"):
        read_vector(path, layer="x")


def test_gpkg_keeps_projected_crs_but_reader_returns_wgs84(tmp_path, points):
    path = write_vector(points.to_crs("EPSG:4525"), tmp_path / "p.gpkg")
    assert pyogrio.read_info(path)["crs"] == "EPSG:4525"
    gdf, _ = read_vector(path)
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.iloc[0].x == pytest.approx(111.2, abs=1e-9)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_table_round_trip_points(tmp_path, points, suffix):
    path = write_vector(points, tmp_path / f"村庄{suffix}")
    df = read_table(path)
    assert list(df.columns) == ["名称", "户数", "lon", "lat"]
    assert df["名称"].tolist() == NAMES
    back, problems = points_from_table(df)
    assert problems == []
    assert back.geometry.geom_equals(points.geometry.set_axis(back.index)).all()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_table_round_trip_wkt(tmp_path, polygons, suffix):
    path = write_vector(polygons, tmp_path / f"面{suffix}")
    df = read_table(path)
    assert list(df.columns) == ["名称", "wkt"]
    back = gpd.GeoSeries.from_wkt(df["wkt"].tolist(), crs="EPSG:4326")
    assert back.geom_equals(polygons.geometry).all()


def test_csv_has_bom_for_excel(tmp_path, points):
    path = write_vector(points, tmp_path / "a.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_table_writers_reproject_and_keep_missing(tmp_path, points):
    gdf = points.to_crs("EPSG:4525")
    gdf.loc[1, "geometry"] = None
    path = write_vector(gdf, tmp_path / "a.csv")
    df = read_table(path)
    assert float(df.loc[2, "lon"]) == pytest.approx(111.2)
    assert pd.isna(df.loc[3, "lon"])


def test_xlsx_sheet_name_and_chinese(tmp_path, points):
    path = write_vector(points, tmp_path / "a.xlsx", layer="村庄")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["村庄"]
    assert wb["村庄"]["A2"].value == "张村"


def test_write_is_atomic_no_temp_left_and_replaces(tmp_path, points):
    path = tmp_path / "a.geojson"
    path.write_text("old")
    write_vector(points, path)
    assert [p.name for p in tmp_path.iterdir()] == ["a.geojson"]
    assert read_vector(path)[0]["名称"].tolist() == NAMES


def test_failed_write_leaves_old_file(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"old")
    big = Polygon([(111 + i * 1e-5, 35 + (i % 2) * 1e-3) for i in range(3000)] + [(111, 36)])
    with pytest.raises(ValueError, match="Excel cell"):
        write_vector(gpd.GeoDataFrame(geometry=[big], crs="EPSG:4326"), path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.xlsx"]


def test_write_format_errors(tmp_path, points):
    with pytest.raises(ValueError, match="cannot tell the format"):
        write_vector(points, tmp_path / "a.dat")
    with pytest.raises(ValueError, match="unknown format"):
        write_vector(points, tmp_path / "a.dat", fmt="kml")
    write_vector(points, tmp_path / "a.dat", fmt="CSV")
    assert (tmp_path / "a.dat").read_text(encoding="utf-8-sig").startswith("名称,户数,lon,lat")


def test_read_vector_errors(tmp_path):
    with pytest.raises(ValueError, match="missing.geojson: file not found"):
        read_vector(tmp_path / "missing.geojson")
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.geojson"):
        read_vector(bad)


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv", ".xlsx"])
def test_plain_dataframe_written_as_attribute_table(tmp_path, suffix):
    df = pd.DataFrame({"项目": ["冷库", "道路硬化"], "投资万元": [120.5, 80.0]})
    path = write_vector(df, tmp_path / f"projects{suffix}")
    if suffix in (".csv", ".xlsx"):
        back = read_table(path)
        assert back["项目"].tolist() == ["冷库", "道路硬化"]
        assert list(back.columns) == ["项目", "投资万元"]
    else:
        back, problems = read_vector(path)
        assert problems == []
        assert back["项目"].tolist() == ["冷库", "道路硬化"]
        assert back.geometry.isna().all() and back.crs.to_epsg() == 4326
