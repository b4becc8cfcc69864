import geopandas as gpd
import pandas as pd
import shapely

from layers.schema import COLD_STORAGE, HOUSEHOLDS, ROADS, VILLAGES
from layers.validate import match_columns, validate_records


def _villages(**cols):
    base = {"村代码": ["140823100201"], "村名": ["中社村"], "乡镇": ["桐城镇"]}
    base.update(cols)
    n = len(next(iter(base.values())))
    return gpd.GeoDataFrame(pd.DataFrame(base), geometry=[shapely.Point(111.2, 35.3)] * n, crs=4326)


def test_chinese_headers_and_units_match_fields():
    mapping, unmatched = match_columns(["村代码", "村名称", "所属乡镇", "人口数", "苹果产量(吨)", "备注"], VILLAGES)
    assert mapping == {"村代码": "code", "村名称": "name", "所属乡镇": "town", "人口数": "population",
                       "苹果产量(吨)": "produce_apple_t"}
    assert unmatched == ["备注"]


def test_capacity_header_with_unit_suffix():
    mapping, _ = match_columns(["编号", "名称", "类型", "库容（吨）", "状态"], COLD_STORAGE)
    assert mapping["库容（吨）"] == "capacity_t"


def test_good_rows_are_typed():
    frame = _villages(人口=["1,234"], 是否脱贫村=["是"], 脱贫不稳定户=["3"])
    result = validate_records(frame, VILLAGES, file="v.csv")
    assert result.ok
    row = result.frame.iloc[0]
    assert row["population"] == 1234 and bool(row["former_poor"]) and row["monitored_unstable"] == 3


def test_every_problem_names_file_row_and_field():
    frame = _villages(
        村代码=["140823100201", "140823100201", "12345"],
        村名=["甲", "乙", "丙"],
        乡镇=["桐城镇"] * 3,
        人口=["100", "abc", "-5"],
    )
    result = validate_records(frame, VILLAGES, file="v.csv")
    found = {(p.row, p.field, p.code) for p in result.problems if p.is_error}
    assert found == {
        (3, "村代码", "duplicate_id"),
        (4, "村代码", "bad_format"),
        (3, "人口", "not_numeric"),
        (4, "人口", "below_minimum"),
    }
    assert result.bad_rows == {1, 2}
    assert all(p.file == "v.csv" for p in result.problems)


def test_duplicate_message_points_to_first_row():
    frame = _villages(村代码=["140823100201", "140823100201"], 村名=["a", "b"], 乡镇=["t", "t"])
    (dup,) = [p for p in validate_records(frame, VILLAGES, file="f.csv").problems if p.code == "duplicate_id"]
    assert dup.params["first_row"] == 2 and dup.row == 3


def test_enum_accepts_codes_labels_and_synonyms():
    frame = pd.DataFrame({"编号": ["1", "2", "3", "4"], "村代码": ["140823100201"] * 4,
                          "监测类型": ["unstable", "边缘易致贫户", "突发困难户", "穷"], "风险等级": ["高", "medium", "低风险", "x"]})
    result = validate_records(frame, HOUSEHOLDS, file="h.xlsx")
    assert list(result.frame["kind"][:3]) == ["unstable", "marginal", "sudden"]
    assert list(result.frame["risk"][:3]) == ["high", "medium", "low"]
    assert {(p.row, p.code) for p in result.problems if p.is_error} == {(5, "unknown_value")}


def test_missing_required_column_is_an_error_without_row():
    frame = pd.DataFrame({"编号": ["1"], "村代码": ["140823100201"], "风险等级": ["高"]})
    result = validate_records(frame, HOUSEHOLDS, file="h.csv")
    assert not result.ok
    assert any(p.code == "missing_column" and p.row is None for p in result.problems)


def test_geometry_type_and_validity():
    bowtie = shapely.Polygon([(111, 35), (111.1, 35.1), (111.1, 35), (111, 35.1)])
    frame = gpd.GeoDataFrame(
        {"id": ["a", "b", "c"], "road_class": ["county", "village", "县道"]},
        geometry=[shapely.LineString([(111, 35), (111.1, 35)]), shapely.Point(111, 35), bowtie], crs=4326,
    )
    result = validate_records(frame, ROADS, file="roads.geojson", row_numbers=[1, 2, 3])
    assert {(p.row, p.code) for p in result.problems if p.is_error} == {(2, "geometry_type"), (3, "geometry_type")}
    assert result.frame["road_class"].tolist() == ["county", "village", "county"]


def test_projected_coordinates_are_errors_and_abroad_only_warnings():
    frame = gpd.GeoDataFrame({"id": ["a", "b"], "road_class": ["county"] * 2},
                             geometry=[shapely.LineString([(500000, 3900000), (500100, 3900000)]),
                                       shapely.LineString([(1.5, 42.5), (1.6, 42.5)])], crs=4326)
    result = validate_records(frame, ROADS, file="r.shp", row_numbers=[1, 2])
    assert {(p.row, p.code, p.severity) for p in result.problems} == {(1, "not_lonlat", "error"),
                                                                       (2, "outside_china", "warning")}


def test_points_outside_county_are_warnings():
    county = shapely.box(111, 35, 111.5, 35.5)
    frame = gpd.GeoDataFrame({"code": ["140823100201", "140823100202"], "name": ["a", "b"], "town": ["t", "t"]},
                             geometry=[shapely.Point(111.2, 35.2), shapely.Point(112, 35.2)], crs=4326)
    result = validate_records(frame, VILLAGES, file="v.csv", boundary=county)
    assert result.ok
    assert [(p.row, p.code) for p in result.problems] == [(3, "outside_county")]
