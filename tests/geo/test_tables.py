import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo.crs import gcj02_to_wgs84
from geo.tables import find_xy_columns, points_from_table, read_table, row_numbers

CSV_TEXT = "名称,经度,纬度\n张村,111.2,35.35\n李村, 111.3 ,\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_read_csv_encodings(tmp_path, encoding):
    path = tmp_path / "村庄.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    df = read_table(path)
    assert list(df.columns) == ["名称", "经度", "纬度"]
    assert df.loc[2, "名称"] == "张村"
    assert df.loc[3, "经度"] == "111.3"  # stripped, still text
    assert pd.isna(df.loc[3, "纬度"])
    assert df.index.name == "row" and list(df.index) == [2, 3]
    assert df.attrs["file"] == "村庄.csv"


def test_read_csv_keeps_text_and_row_numbers_across_blank_and_title_rows(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("闻喜县村庄名录,,\n名称,编码,经度\n\n张村,0012,NA\n,,\n李村,2,x\n",
                    encoding="utf-8")
    df = read_table(path)
    assert list(df.columns) == ["名称", "编码", "经度"]
    assert list(df.index) == [4, 6]  # header is row 2 here; blank rows 3 and 5 skipped
    assert df.loc[4, "编码"] == "0012"  # leading zeros survive
    assert df.loc[4, "经度"] == "NA"  # left for validation to judge


def test_read_tab_separated_txt(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("lng\tlat\n111.2\t35.3\n", encoding="utf-8")
    df = read_table(path)
    assert list(df.columns) == ["lng", "lat"]


def test_read_xlsx_with_sheet_and_numbers(tmp_path):
    path = tmp_path / "t.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "说明"
    ws.append(["nothing here"])
    ws2 = wb.create_sheet("村庄")
    ws2.append(["名称", "经度", "纬度", "户数"])
    ws2.append(["张村", 111.22472, 35.356644, 120])
    ws2.append([None, None, None, None])
    ws2.append(["李村", "111.1", None, 35.0])
    wb.save(path)
    df = read_table(path, sheet="村庄")
    assert list(df.index) == [2, 4]
    assert df.loc[2, "经度"] == "111.22472"
    assert df.loc[2, "户数"] == "120"
    assert df.loc[4, "户数"] == "35"
    assert pd.isna(df.loc[4, "纬度"])
    assert read_table(path, sheet=1).equals(df)
    with pytest.raises(ValueError, match="no sheet named 'x'"):
        read_table(path, sheet="x")


@pytest.mark.parametrize("name, content, match", [
    ("a.xls", b"", "save .xls files as .xlsx"),
    ("a.xlsx", b"not a zip", "a.xlsx: the file is not a readable Excel workbook"),
    ("a.pdf", b"", "unsupported table type"),
])
def test_unreadable_tables_raise_naming_file(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ValueError, match=match):
        read_table(path)


def test_missing_file_raises():
    with pytest.raises(ValueError, match="nope.csv"):
        read_table("nope.csv")


def test_row_numbers_default_positional():
    assert row_numbers(pd.DataFrame({"a": [1, 2]})).tolist() == [2, 3]


@pytest.mark.parametrize("columns, expected", [
    (["名称", "经度", "纬度"], ("经度", "纬度")),
    (["东经", "北纬"], ("东经", "北纬")),
    (["LNG", "Lat"], ("LNG", "Lat")),
    (["lon", "lat"], ("lon", "lat")),
    (["long", "lat"], ("long", "lat")),
    (["Longitude", "Latitude"], ("Longitude", "Latitude")),
    (["X", "Y"], ("X", "Y")),
    (["X坐标", "Y坐标"], ("X坐标", "Y坐标")),
    (["坐标X", "坐标Y"], ("坐标X", "坐标Y")),
    (["经度(°)", "纬度（度）"], ("经度(°)", "纬度（度）")),
    ([" 经 度 ", "纬度 "], (" 经 度 ", "纬度 ")),
    (["x", "y", "经度", "纬度"], ("经度", "纬度")),  # geographic names win
    (["名称", "经度"], None),
    (["a", "b"], None),
])
def test_find_xy_columns(columns, expected):
    assert find_xy_columns(columns) == expected


def _codes(problems):
    return [(p.code, p.row, p.field, p.severity) for p in problems]


def test_points_from_table_reports_each_bad_row(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text(
        "名称,经度,纬度\n"
        "好,111.2,35.35\n"  # row 2
        "缺,,35.3\n"  # row 3
        "字,abc,35.3\n"  # row 4
        "换,35.35,111.2\n"  # row 5
        "界,200,35\n"  # row 6
        "外,1.5,42.5\n"  # row 7
        "全角,１１１．２,３５．３\n",  # row 8: full-width digits from a Chinese IME
        encoding="utf-8")
    gdf, problems = points_from_table(read_table(path))
    assert _codes(problems) == [
        ("coord_missing", 3, "经度", "error"),
        ("coord_not_numeric", 4, "经度", "error"),
        ("coord_swapped", 5, "经度", "error"),
        ("coord_out_of_range", 6, "经度", "error"),
        ("coord_outside_china", 7, "经度", "error"),
    ]
    assert all(p.file == "v.csv" for p in problems)
    assert list(gdf.index) == [2, 3, 4, 5, 6, 7, 8]
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.isna().tolist() == [False, True, True, True, True, True, False]
    assert (gdf.geometry.loc[2].x, gdf.geometry.loc[2].y) == (111.2, 35.35)
    assert (gdf.geometry.loc[8].x, gdf.geometry.loc[8].y) == (111.2, 35.3)
    swapped = problems[2]
    assert "look swapped" in swapped.text()
    assert gdf.loc[5, "经度"] == "35.35"  # never silently swapped


def test_outside_china_as_warning_keeps_point():
    df = pd.DataFrame({"lon": ["1.5"], "lat": ["42.5"]})
    gdf, problems = points_from_table(df, outside_china="warning")
    assert _codes(problems) == [("coord_outside_china", 2, "lon", "warning")]
    assert gdf.geometry.iloc[0].x == 1.5
    gdf, problems = points_from_table(df, outside_china="ignore")
    assert problems == [] and gdf.geometry.iloc[0] is not None


def test_gcj02_input_converted():
    df = pd.DataFrame({"经度": ["111.22472"], "纬度": ["35.356644"]})
    gdf, problems = points_from_table(df, crs="gcj02")
    assert problems == []
    pt = gdf.geometry.iloc[0]
    assert (pt.x, pt.y) == pytest.approx(gcj02_to_wgs84(111.22472, 35.356644), abs=1e-12)


def test_projected_input_and_numeric_columns():
    df = pd.DataFrame({"X坐标": [37_500_000.0, 1e12], "Y坐标": [3_900_000.0, 3e6]})
    gdf, problems = points_from_table(df, crs="EPSG:4525")
    assert gdf.geometry.iloc[0].x == pytest.approx(111.0)
    assert [p.code for p in problems] in (["coord_out_of_range"], ["coord_outside_china"])
    assert gdf.geometry.iloc[1] is None


def test_explicit_columns_and_missing_columns():
    df = pd.DataFrame({"a": ["111.2"], "b": ["35.3"]})
    gdf, problems = points_from_table(df, x_col="a", y_col="b", file="f.csv")
    assert problems == [] and gdf.geometry.iloc[0].y == 35.3
    gdf, problems = points_from_table(df, file="f.csv")
    assert _codes(problems) == [("coord_columns_not_found", None, None, "error")]
    assert "a, b" in problems[0].text()
    assert gdf.geometry.isna().all() and len(gdf) == 1
    _, problems = points_from_table(df, x_col="a", y_col="zz")
    assert [p.code for p in problems] == ["coord_column_missing"]


def test_bad_crs_option_raises():
    with pytest.raises(ValueError, match="coordinate system"):
        points_from_table(pd.DataFrame({"lon": ["1"], "lat": ["2"]}), crs="mars")


def test_input_frame_not_modified():
    df = pd.DataFrame({"lon": ["111.2"], "lat": ["35.3"]})
    points_from_table(df)
    assert list(df.columns) == ["lon", "lat"]


def test_inf_and_nan_text_are_not_numbers():
    df = pd.DataFrame({"lon": ["inf", "nan"], "lat": ["35", "35"]})
    _, problems = points_from_table(df)
    assert [p.code for p in problems] == ["coord_not_numeric"] * 2
    assert np.all([p.field == "lon" for p in problems])
