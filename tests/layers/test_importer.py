import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from layers.importer import import_file
from layers.store import Workspace
from tests.conftest import shared_data
from web.cli import main

GOOD = """村代码,村名,乡镇,人口,是否脱贫村,经度,纬度
140823100201,中社村,桐城镇,1200,是,111.2186,35.3598
140823100202,东社村,桐城镇,800,否,111.2301,35.3612
"""

BAD = """村代码,村名,乡镇,人口,经度,纬度
140823100201,中社村,桐城镇,1200,111.2186,35.3598
140823100201,重复村,桐城镇,800,111.2301,35.3612
140823100203,文字村,桐城镇,一千,111.24,35.36
140823100204,坐标村,桐城镇,500,abc,35.36
140823100205,颠倒村,桐城镇,500,35.36,111.24
140823100206,国外村,桐城镇,500,2.35,48.85
"""


def _write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_csv_import_creates_workspace(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD))
    assert outcome.written and outcome.added == {"villages": 2}
    villages = ws.read_layer("villages")
    assert villages["name"].tolist() == ["中社村", "东社村"]
    assert villages["former_poor"].tolist() == [True, False]
    assert villages.geometry.iloc[0].x == pytest.approx(111.2186)


def test_gbk_csv_is_read(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD, encoding="gbk"))
    assert outcome.written
    assert ws.read_layer("villages")["town"].tolist() == ["桐城镇", "桐城镇"]


def test_upsert_updates_only_provided_columns(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD))
    update = "村代码,村名,乡镇,人口\n140823100202,东社村,桐城镇,900\n140823100299,新村,桐城镇,10\n"
    outcome = import_file(ws, "villages", _write(tmp_path, "u.csv", update))
    assert outcome.added == {"villages": 1} and outcome.updated == {"villages": 1}
    v = ws.read_layer("villages").set_index("code")
    assert v.loc["140823100202", "population"] == 900
    assert v.loc["140823100202"].geometry.x == pytest.approx(111.2301)  # kept
    assert v.loc["140823100201", "former_poor"]  # untouched
    assert v.loc["140823100299"].geometry is None  # new, without location


def test_replace_makes_file_the_whole_layer(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD))
    one = "村代码,村名,乡镇,经度,纬度\n140823100299,新村,桐城镇,111.3,35.4\n"
    import_file(ws, "villages", _write(tmp_path, "r.csv", one), replace=True)
    assert ws.read_layer("villages")["code"].tolist() == ["140823100299"]


def test_errors_write_nothing(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD))
    before = _digest(ws.path)
    outcome = import_file(ws, "villages", _write(tmp_path, "bad.csv", BAD))
    assert not outcome.written
    assert _digest(ws.path) == before
    found = {(p.row, p.field, p.code) for p in outcome.errors}
    assert (3, "村代码", "duplicate_id") in found
    assert (4, "人口", "not_numeric") in found
    assert any(r == 5 and c == "coord_not_numeric" for r, _, c in found)
    assert any(r == 6 and c == "coord_swapped" for r, _, c in found)
    assert any(r == 7 and c == "coord_outside_china" for r, _, c in found)


def test_skip_bad_rows_imports_the_rest_and_lists_them(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "villages", _write(tmp_path, "bad.csv", BAD), skip_bad_rows=True)
    assert outcome.written
    assert outcome.skipped_rows == (3, 4, 5, 6, 7)
    assert ws.read_layer("villages")["code"].tolist() == ["140823100201"]


def test_gcj02_coordinates_are_converted(tmp_path):
    lon, lat = 111.2186, 35.3598
    glon, glat = wgs84_to_gcj02(lon, lat)
    text = f"编号,名称,类型,库容(吨),状态,lng,lat\nc1,一号库,保鲜库,2000,已建成,{glon:.7f},{glat:.7f}\n"
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "cold_storage", _write(tmp_path, "c.csv", text), crs="gcj02")
    assert outcome.written
    p = ws.read_layer("cold_storage").geometry.iloc[0]
    assert abs(p.x - lon) < 1e-6 and abs(p.y - lat) < 1e-6
    assert ws.read_layer("cold_storage")["kind"].iloc[0] == "fresh_keeping"


def test_excel_import(tmp_path):
    frame = pd.DataFrame({"编号": ["s1"], "安置点名称": ["幸福社区"], "安置户数": [300], "安置人数": [1020],
                          "经度": [111.25], "纬度": [35.33]})
    path = tmp_path / "s.xlsx"
    frame.to_excel(path, index=False)
    ws = Workspace(tmp_path / "w.gpkg")
    assert import_file(ws, "relocation_settlements", path).written
    assert ws.read_layer("relocation_settlements")["people"].tolist() == [1020]


def test_cli_malformed_csv_exits_2_and_leaves_workspace_byte_identical(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD))
    before = _digest(ws.path)
    result = CliRunner().invoke(main, ["import", "--workspace", str(ws.path), "--layer", "villages",
                                       str(_write(tmp_path, "bad.csv", BAD))])
    assert result.exit_code == 2, result.output
    assert "bad.csv, row 3, field 村代码" in result.output
    assert "bad.csv, row 4, field 人口" in result.output
    assert _digest(ws.path) == before


def test_cli_info_and_json(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD))
    result = CliRunner().invoke(main, ["info", "--workspace", str(ws.path), "--json"])
    assert result.exit_code == 0, result.output
    counts = {layer["name"]: layer["count"] for layer in json.loads(result.output)["layers"]}
    assert counts["villages"] == 2 and counts["roads"] == 0


@pytest.mark.realdata
@pytest.mark.parametrize("code", ["140823", "411024", "431081", "610902"])
def test_statistical_village_lists_land_inside_corrected_boundary(tmp_path, code):
    villages_csv = shared_data("china-counties", f"villages_{code}.csv")
    boundary = gpd.read_file(shared_data("china-counties", f"boundary_{code}.geojson"))
    # The boundary is GCJ-02 too: correct it the same way before comparing.
    ring = shapely.get_coordinates(boundary.geometry.iloc[0])
    lon, lat = gcj02_to_wgs84(ring[:, 0], ring[:, 1])
    corrected = shapely.set_coordinates(boundary.geometry.iloc[0], np.column_stack([lon, lat]))

    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "villages", villages_csv)
    assert outcome.written
    villages = ws.read_layer("villages")
    towns = ws.read_layer("towns")
    raw = pd.read_csv(villages_csv, header=None, dtype=str)
    assert len(villages) == (raw[3] == "village").sum()
    assert len(towns) == (raw[3] == "town").sum()
    located = villages[villages.geometry.notna()]
    assert len(located) == raw[(raw[3] == "village") & raw[12].notna()].shape[0]
    # rows without a centre are reported, not invented
    missing = [p for p in outcome.warnings if p.code == "geometry_missing"]
    assert len(missing) == (villages.geometry.isna().sum() + towns.geometry.isna().sum())
    inside = located.geometry.within(corrected.buffer(0.01))
    assert inside.mean() > 0.95


@pytest.mark.realdata
def test_andorra_pbf_gives_roads_and_villages(tmp_path):
    pbf = shared_data("osm", "andorra-2013.osm.pbf")
    ws = Workspace(tmp_path / "andorra.gpkg")
    roads = import_file(ws, "roads", pbf)
    villages = import_file(ws, "villages", pbf)
    assert roads.written and villages.written
    r = ws.read_layer("roads")
    v = ws.read_layer("villages")
    assert len(r) > 1000
    assert set(r["road_class"]) <= {"national", "provincial", "county", "township", "village", "other"}
    assert {"provincial", "village"} <= set(r["road_class"])
    assert 40 <= len(v) <= 60  # 32 villages + 20 hamlets in the extract
    assert v["code"].str.fullmatch(r"\d{12}").all() and v["code"].is_unique
    assert v["town"].notna().all()
    # outside China is legitimate here: warnings, not errors
    assert all(p.code == "outside_china" for p in villages.warnings if p.code.startswith("outside"))


def test_shapefile_in_gbk_without_cpg(tmp_path):
    frame = gpd.GeoDataFrame({"code": ["140823100201"], "name": ["中社村"], "town": ["桐城镇"]},
                             geometry=[shapely.Point(111.2, 35.3)], crs=4326)
    shp = tmp_path / "v.shp"
    frame.to_file(shp, encoding="gbk")
    (tmp_path / "v.cpg").unlink(missing_ok=True)
    ws = Workspace(tmp_path / "w.gpkg")
    assert import_file(ws, "villages", shp).written
    assert ws.read_layer("villages")["name"].tolist() == ["中社村"]


def test_export_round_trip_all_formats(tmp_path):
    from layers.exporter import export_layer

    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD))
    for fmt in ("geojson", "gpkg", "csv", "xlsx"):
        out = export_layer(ws, "villages", fmt, tmp_path / f"out.{fmt}")
        ws2 = Workspace(tmp_path / f"back-{fmt}.gpkg")
        outcome = import_file(ws2, "villages", out)
        assert outcome.written, [p.text() for p in outcome.errors]
        back = ws2.read_layer("villages")
        assert back["name"].tolist() == ["中社村", "东社村"], fmt
        assert back["population"].tolist() == [1200, 800], fmt
        assert back.geometry.iloc[1].x == pytest.approx(111.2301), fmt


def test_blank_cells_keep_stored_values_and_updates_keep_location_quietly(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, "villages", _write(tmp_path, "v.csv", GOOD))
    update = "村代码,村名,乡镇,人口,是否脱贫村\n140823100201,中社村,桐城镇,,\n140823100202,东社村,桐城镇,900,是\n"
    outcome = import_file(ws, "villages", _write(tmp_path, "u.csv", update))
    assert outcome.written
    v = ws.read_layer("villages").set_index("code")
    assert v.loc["140823100201", "population"] == 1200  # blank kept the stored value
    assert bool(v.loc["140823100201", "former_poor"])  # blank kept True
    assert v.loc["140823100202", "population"] == 900 and bool(v.loc["140823100202", "former_poor"])
    assert v.geometry.notna().all()
    assert not [p for p in outcome.warnings if p.code in ("geometry_missing", "no_coordinates")]


def test_defaulted_column_may_be_left_out(tmp_path):
    text = "编号,名称,类型,库容(吨),lng,lat\nc1,一号库,保鲜库,2000,111.2,35.3\n"
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "cold_storage", _write(tmp_path, "c.csv", text))
    assert outcome.written, [p.text() for p in outcome.errors]
    assert ws.read_layer("cold_storage")["status"].tolist() == ["existing"]
    assert any(p.code == "default_used" and p.params["column"] == "status" for p in outcome.warnings)


def test_concurrent_imports_lose_no_update(tmp_path):
    import threading

    ws = Workspace(tmp_path / "w.gpkg")
    import_file(ws, "cold_storage", _write(tmp_path, "c0.csv", "编号,名称,类型,库容(吨),状态,lng,lat\n"
                                                                 "c0,零号库,保鲜库,100,已建成,111.2,35.3\n"))
    files = [_write(tmp_path, f"c{i}.csv", f"编号,名称,类型,库容(吨),状态,lng,lat\nc{i},{i}号库,保鲜库,100,已建成,"
                                             f"111.{i},35.3\n") for i in range(1, 5)]
    threads = [threading.Thread(target=import_file, args=(Workspace(ws.path), "cold_storage", f)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ws.read_layer("cold_storage")["id"]) == ["c0", "c1", "c2", "c3", "c4"]


def test_excel_with_title_and_group_rows_above_the_header(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    sheet.append(["清河县易地扶贫搬迁安置点统计表（2023年）"])
    sheet.append(["基本信息", None, "规模", None, "位置", None])
    sheet.append(["编号", "安置点名称", "安置户数", "安置人数", "经度", "纬度"])
    sheet.append(["s1", "幸福社区", 300, 1020, 111.25, 35.33])
    sheet.merge_cells("A2:B2")
    path = tmp_path / "settlements.xlsx"
    wb.save(path)
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "relocation_settlements", path)
    assert outcome.written, [p.text() for p in outcome.errors]
    assert ws.read_layer("relocation_settlements")["people"].tolist() == [1020]
    # the row number in reports is still the spreadsheet's own
    bad = tmp_path / "bad.xlsx"
    sheet.append(["s2", "新村", "很多", 10, 111.2, 35.3])
    wb.save(bad)
    outcome = import_file(ws, "relocation_settlements", bad)
    assert [(p.row, p.field) for p in outcome.errors] == [(5, "安置户数")]
