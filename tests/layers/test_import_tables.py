"""Tables as county offices make them: merged headers, totals and notes, Excel-mangled codes,
GBK re-saves, huge numbers, damaged workbooks, NUL bytes and row numbers under title rows."""
from __future__ import annotations

import hashlib
import shutil
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from layers.importer import import_file
from layers.store import Workspace
from tests.conftest import shared_case, shared_data
from web.cli import main


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _codes(outcome):
    return sorted((p.code, p.row, p.field) for p in outcome.problems)


@pytest.fixture(scope="module")
def _seeded(tmp_path_factory):
    path = tmp_path_factory.mktemp("seed") / "w.gpkg"
    seed = path.with_name("seed.csv")
    seed.write_text("村代码,村名,乡镇,经度,纬度\n140823999001,老村,东镇,111.1,35.1\n", encoding="utf-8")
    assert import_file(Workspace(path), "villages", seed).written
    return path


@pytest.fixture
def ws(tmp_path, _seeded):
    """A workspace with one village already stored (so "unchanged" is checkable)."""
    path = tmp_path / "w.gpkg"
    shutil.copyfile(_seeded, path)
    return Workspace(path)


def _assert_refused(ws, path, layer="villages"):
    before = _digest(ws.path)
    outcome = import_file(ws, layer, path)
    assert not outcome.written
    assert _digest(ws.path) == before
    return outcome


# --------------------------------------------------------------------------- merged headers, totals
def test_case_data_merged_header_xlsx_imports_former_poor_and_skips_total_and_note(ws):
    path = shared_case("data-merged-header-xlsx", "statistics_sheet.xlsx")
    outcome = import_file(ws, "villages", path)
    assert outcome.written and outcome.added == {"villages": 3}
    skipped = {(p.code, p.row) for p in outcome.problems}
    assert ("total_row_skipped", 8) in skipped and ("note_row_skipped", 9) in skipped
    v = ws.read_layer("villages").set_index("code")
    assert bool(v.loc["140823100201", "former_poor"]) is True  # 是否脱贫村, merged over two header rows
    assert not v.loc["140823100202", "former_poor"]
    assert v.loc["140823100201", "population"] == 820 and v.loc["140823100201", "households"] == 260
    assert v.loc["140823100203", "town"] == "西镇"


def _two_level_sheet(path, *, rows, merges, header_rows):
    wb = openpyxl.Workbook()
    sheet = wb.active
    for r in header_rows + rows:
        sheet.append(r)
    for m in merges:
        sheet.merge_cells(m)
    wb.save(path)


def test_two_level_header_joins_duplicate_subheaders_and_fills_merged_town(tmp_path, ws):
    path = tmp_path / "两级表头.xlsx"
    header_rows = [
        ["XX县行政村情况表", None, None, None, None, None, None, None],
        ["村代码", "村名", "乡镇", "人口", None, "苹果", "是否脱贫村", "经度"],
        [None, None, None, "总人口", "总户数", "产量(吨)", None, None],
    ]
    # "纬度" is merged over both header rows, like 是否脱贫村
    header_rows[1].append("纬度")
    header_rows[2].append(None)
    rows = [
        ["140823100301", "甲村", "北镇", 100, 30, 12.5, "是", 111.2, 35.3],
        ["140823100302", "乙村", None, 200, 60, 0, "否", 111.3, 35.3],  # 北镇 merged down
        ["北镇小计", None, None, 300, 90, 12.5, None, None, None],
        ["填表人：张三", None, None, None, None, None, None, None, None],
    ]
    merges = ["A1:I1", "A2:A3", "B2:B3", "C2:C3", "D2:E2", "G2:G3", "H2:H3", "I2:I3", "C4:C5"]
    _two_level_sheet(path, rows=rows, merges=merges, header_rows=header_rows)
    outcome = import_file(ws, "villages", path)
    assert outcome.written, [p.text() for p in outcome.errors]
    codes = {(p.code, p.row) for p in outcome.problems}
    assert ("total_row_skipped", 6) in codes and ("note_row_skipped", 7) in codes
    v = ws.read_layer("villages").set_index("code")
    assert v.loc["140823100302", "town"] == "北镇"
    assert v.loc["140823100301", "produce_apple_t"] == 12.5  # "苹果" + "产量(吨)"
    assert v.loc["140823100301", "former_poor"] and not v.loc["140823100302", "former_poor"]
    assert v.loc["140823100302", "households"] == 60


@pytest.mark.parametrize("label, kind", [
    ("合计", "total_row_skipped"), ("总计", "total_row_skipped"), ("全县合计", "total_row_skipped"),
    ("小计", "total_row_skipped"), ("其中：脱贫村", "total_row_skipped"), ("注：数据截至年底", "note_row_skipped"), ("说明：略", "note_row_skipped"),
    ("填表人：李四", "note_row_skipped"), ("审核人: 王五", "note_row_skipped"), ("备注", "note_row_skipped"),
])
def test_total_and_note_rows_in_csv(tmp_path, ws, label, kind):
    path = tmp_path / "v.csv"
    path.write_text(f"村代码,村名,乡镇,人口,经度,纬度\n140823100401,丙村,东镇,10,111.2,35.3\n{label},,,10,,\n",
                    encoding="utf-8")
    outcome = import_file(ws, "villages", path)
    assert outcome.written
    assert [(p.code, p.row) for p in outcome.problems] == [(kind, 3)]


def test_a_village_named_like_a_total_word_is_kept(tmp_path, ws):
    path = tmp_path / "v.csv"
    path.write_text("村代码,村名,乡镇,经度,纬度\n140823100501,合计村,东镇,111.2,35.3\n", encoding="utf-8")
    outcome = import_file(ws, "villages", path)
    assert outcome.written and outcome.added == {"villages": 1}


# --------------------------------------------------------------------------- Excel-mangled codes
def test_case_data_excel_codes_scientific_notation_is_explained(ws):
    path = shared_case("data-excel-codes", "excel_saved.csv")  # GBK, as Excel saves "CSV"
    outcome = _assert_refused(ws, path)
    assert _codes(outcome) == [("excel_scientific", r, "村代码") for r in (2, 3, 4)]
    text = outcome.errors[0].text()
    assert "Excel" in text and "12 digits" in text and "1.40823E+11" in text


def test_case_data_excel_codes_intact_float_codes_are_accepted(ws):
    outcome = import_file(ws, "villages", shared_case("data-excel-codes", "float_codes.csv"))
    assert outcome.written and outcome.added == {"villages": 2}
    v = ws.read_layer("villages")
    assert {"140823100201", "140823100202"} <= set(v["code"])


@pytest.mark.parametrize("cell, ok", [
    ("140823100201.0", True), ("140823100201.000", True), ("1.40823100201E+11", True),
    ("1.40823E+11", False), ("1.408231002E+11", False), ("1.4E11", False),
])
def test_code_notations(tmp_path, ws, cell, ok):
    path = tmp_path / "h.csv"
    path.write_text(f"户编号,所在村代码,监测类型,风险等级\nH1,{cell},边缘户,高\n", encoding="utf-8")
    outcome = import_file(ws, "households", path)
    assert outcome.written is ok
    if ok:
        assert ws.read_layer("households")["village_code"].tolist() == ["140823100201"]
    else:
        assert [p.code for p in outcome.errors] == ["excel_scientific"]


# --------------------------------------------------------------------------- GBK re-saves
@pytest.mark.slow
@pytest.mark.parametrize("county", ["140823", "411024", "431081", "610902"])
def test_adcode_village_lists_resaved_as_gbk_still_import(tmp_path, county):
    src = shared_data("china-counties", f"villages_{county}.csv")
    text = src.read_text(encoding="utf-8")
    ref = Workspace(tmp_path / "ref.gpkg")
    assert import_file(ref, "villages", src).written
    expected = ref.read_layer("villages")[["code", "name", "town"]]
    for encoding, newline in (("gbk", "\r\n"), ("gb18030", "\n"), ("utf-8-sig", "\r\n")):
        path = tmp_path / f"villages_{county}_{encoding}.csv"
        try:
            data = text.replace("\n", newline).encode(encoding)
        except UnicodeEncodeError:
            pytest.skip(f"a name of {county} has no {encoding} code")
        path.write_bytes(data)
        ws = Workspace(tmp_path / f"{encoding}.gpkg")
        outcome = import_file(ws, "villages", path)
        assert outcome.written and not outcome.errors
        got = ws.read_layer("villages")[["code", "name", "town"]]
        assert got.equals(expected), encoding


def test_csv_mixing_utf8_and_gbk_lines_is_read_and_warned(tmp_path, ws):
    path = tmp_path / "mixed.csv"
    path.write_bytes("村代码,村名,乡镇,经度,纬度\n140823100601,张村,东镇,111.2,35.3\n".encode()
                     + "140823100602,李村,东镇,111.3,35.3\n".encode("gbk"))
    outcome = import_file(ws, "villages", path)
    assert outcome.written
    assert [(p.code, p.row) for p in outcome.problems] == [("mixed_encoding", 3)]
    assert set(ws.read_layer("villages")["name"]) >= {"张村", "李村"}


# --------------------------------------------------------------------------- huge numbers, broken files
def test_case_data_int_overflow_huge_population_is_a_report_line(ws):
    outcome = _assert_refused(ws, shared_case("data-int-overflow", "villages_big_population.csv"))
    assert _codes(outcome) == [("number_too_large", 2, "population")]


@pytest.mark.parametrize("cell", ["18446744073709551616", "9223372036854775808", "-9223372036854775809",
                                  "1e300", "inf"])
def test_huge_numbers_in_int_fields(tmp_path, ws, cell):
    path = tmp_path / "v.csv"
    path.write_text(f"村代码,村名,乡镇,户数,经度,纬度\n140823100701,丁村,东镇,{cell},111.2,35.3\n", encoding="utf-8")
    outcome = _assert_refused(ws, path)
    assert [(p.code, p.row, p.field) for p in outcome.errors] in (
        [("number_too_large", 2, "户数")], [("not_numeric", 2, "户数")], [("below_minimum", 2, "户数")])


def test_huge_integer_cell_in_xlsx(tmp_path, ws):
    path = tmp_path / "v.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["村代码", "村名", "乡镇", "人口", "经度", "纬度"])
    wb.active.append(["140823100801", "戊村", "东镇", 2**64, 111.2, 35.3])
    wb.save(path)
    outcome = _assert_refused(ws, path)
    assert [(p.code, p.row, p.field) for p in outcome.errors] == [("number_too_large", 2, "人口")]


def test_case_data_int_overflow_broken_sheet_xml(ws):
    outcome = _assert_refused(ws, shared_case("data-int-overflow", "villages_broken_sheet_xml.xlsx"))
    assert [p.code for p in outcome.errors] == ["file_unreadable"]
    assert "not a readable Excel workbook" in outcome.errors[0].text()


def _damaged(tmp_path, how):
    good = tmp_path / "good.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["村代码", "村名"])
    wb.active.append(["140823100901", "己村"])
    wb.save(good)
    bad = tmp_path / f"{how}.xlsx"
    if how == "truncated":
        bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
        return bad
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = {"cut_xml": data[: len(data) // 2], "garbage": b"\x00\xff not xml"}.get(how, data)
            if how == "no_sheet" and item.filename == "xl/worksheets/sheet1.xml":
                continue
            dst.writestr(item, data)
    return bad


@pytest.mark.parametrize("how", ["truncated", "cut_xml", "garbage", "no_sheet"])
def test_damaged_workbooks_are_report_lines(tmp_path, ws, how):
    outcome = _assert_refused(ws, _damaged(tmp_path, how))
    assert [p.code for p in outcome.errors] == ["file_unreadable"]


def test_cli_damaged_workbook_exits_2_with_report(tmp_path, ws):
    before = _digest(ws.path)
    path = shared_case("data-int-overflow", "villages_broken_sheet_xml.xlsx")
    result = CliRunner().invoke(main, ["import", "-w", str(ws.path), "--layer", "villages", str(path)],
                                env={"RURALPLAN_LANG": "zh"})
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "不是可读的 Excel 工作簿" in result.output
    assert _digest(ws.path) == before


# --------------------------------------------------------------------------- NUL bytes
def test_case_data_nul_byte_is_reported_never_truncated(ws):
    outcome = _assert_refused(ws, shared_case("data-nul-byte", "villages_nul_byte.csv"))
    assert _codes(outcome) == [("control_character", 2, "name")]
    assert "空" in outcome.errors[0].params["value"] and "字节村" in outcome.errors[0].params["value"]


def test_nul_byte_in_any_field_and_with_skip_bad_rows(tmp_path, ws):
    path = tmp_path / "v.csv"
    path.write_bytes("村代码,村名,乡镇,经度,纬度\n140823101001,庚村,东\x00镇,111.2,35.3\n"
                     "140823101002,辛村,东镇,111.2,35.3\n".encode())
    outcome = import_file(ws, "villages", path, skip_bad_rows=True)
    assert outcome.written and outcome.skipped_rows == (2,)
    assert [(p.code, p.row, p.field) for p in outcome.errors] == [("control_character", 2, "乡镇")]
    assert "140823101001" not in set(ws.read_layer("villages")["code"])


# --------------------------------------------------------------------------- row numbers under a title row
def test_case_data_wkt_row_number_matches_excel(tmp_path):
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "roads", shared_case("data-wkt-row-number", "roads_wkt.csv"))
    assert not outcome.written
    assert [(p.code, p.row, p.field) for p in outcome.errors] == [("bad_wkt", 4, "wkt")]


def test_every_error_kind_counts_rows_as_excel_shows_them(tmp_path, ws):
    # two title rows and a blank row: the header is row 3, data rows are 4, 6, 7, 8
    path = tmp_path / "v.csv"
    path.write_text("示范县村庄表,,,,,\n单位：人,,,,,\n村代码,村名,乡镇,人口,经度,纬度\n"
                    "140823101101,壬村,东镇,一千,111.2,35.3\n,,,,,\n"
                    "140823101101,癸村,东镇,5,111.2,35.3\n"
                    "140823101103,子村,,5,abc,35.3\n"
                    "12345,丑村,东镇,5,35.3,111.2\n", encoding="utf-8")
    outcome = _assert_refused(ws, path)
    assert _codes(outcome) == sorted([
        ("not_numeric", 4, "人口"), ("duplicate_id", 6, "村代码"), ("required_missing", 7, "乡镇"),
        ("coord_not_numeric", 7, "经度"), ("bad_format", 8, "村代码"), ("coord_swapped", 8, "经度"),
    ])


# --------------------------------------------------------------------------- one "经纬度" column
def test_single_lonlat_column_in_any_notation(tmp_path, ws):
    path = tmp_path / "v.csv"
    path.write_text("村代码,村名,乡镇,经纬度\n"
                    '140823101201,甲村,东镇,"111.2216,35.3533"\n'
                    "140823101202,乙村,东镇,111.2216，35.3533\n"
                    "140823101203,丙村,东镇,111.2216 35.3533\n"
                    '140823101204,丁村,东镇,"东经111°12′30″,北纬35°21′10″"\n'
                    '140823101205,戊村,东镇,"35.3533, 111.2216"\n', encoding="utf-8")
    outcome = _assert_refused(ws, path)  # the last row has latitude first: reported, not swapped
    assert [(p.code, p.row) for p in outcome.errors] == [("coord_swapped", 6)]
    outcome = import_file(ws, "villages", path, skip_bad_rows=True)
    v = ws.read_layer("villages").set_index("code")
    for code in ("140823101201", "140823101202", "140823101203"):
        assert (v.loc[code].geometry.x, v.loc[code].geometry.y) == pytest.approx((111.2216, 35.3533))
    assert v.loc["140823101204"].geometry.x == pytest.approx(111 + 12 / 60 + 30 / 3600)


def test_units_row_under_the_header(tmp_path, ws):
    path = tmp_path / "v.csv"
    path.write_text("村代码,村名,乡镇,人口,户数,人均可支配收入,经度,纬度\n,,,人,户,（元）,°,°\n"
                    "140823101301,己村,东镇,820,260,12000,111.2,35.3\n", encoding="utf-8")
    outcome = import_file(ws, "villages", path)
    assert outcome.written and not outcome.problems
    v = ws.read_layer("villages").set_index("code").loc["140823101301"]
    assert (v["population"], v["households"], v["income_per_capita_yuan"]) == (820, 260, 12000)


@pytest.mark.parametrize("block", [3, 5, 15])
def test_a_big_csv_with_errors_is_checked_in_blocks_with_the_same_report(tmp_path, ws, monkeypatch, block):
    """A CSV over the block size is checked block by block (memory grows with the block,
    not the file): the same problems and counts per kind as the whole-file check, the
    file-level ones once, and nothing written."""
    import layers.importer as importer

    path = tmp_path / "big.csv"
    lines = ["村代码,村名,乡镇,人口,经度,纬度,备注列"]
    for i in range(14):
        code = "1.40823E+11" if i % 4 == 0 else f"1408230{i:05d}"
        population = "一千" if i % 3 == 0 else str(100 + i)
        lon = "abc" if i % 5 == 1 else "111.2"
        lines.append(f"{code},村{i},东镇,{population},{lon},35.3,x")
    lines.append("合计,,,,,,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = _digest(ws.path)

    monkeypatch.setattr(importer, "CHUNKED_CHECK_ROWS", 10**6)
    whole = import_file(Workspace(ws.path), "villages", path)
    monkeypatch.setattr(importer, "CHUNKED_CHECK_ROWS", block)
    monkeypatch.setattr(importer.geo_tables, "read_table",
                        lambda *a, **k: pytest.fail("a bad big file is not read whole"))
    blocks = import_file(Workspace(ws.path), "villages", path)
    assert not whole.written and not blocks.written and _digest(ws.path) == before
    assert blocks.counts == whole.counts
    assert blocks.counts[("error", "excel_scientific")] == 4 and blocks.counts[("error", "not_numeric")] == 5
    assert _codes(blocks) == _codes(whole)
    assert sum(p.code == "unknown_column" for p in blocks.problems) == 1  # said once, not per block


def test_a_big_csv_capped_report_counts_every_problem(tmp_path, ws, monkeypatch):
    import layers.importer as importer
    from geo.report import MORE

    monkeypatch.setattr(importer, "CHUNKED_CHECK_ROWS", 500)
    path = tmp_path / "junk.csv"
    path.write_text("村代码,村名,乡镇,人口,经度,纬度\n"
                    + "".join(f"1.40823E+11,村{i},东镇,一千,abc,35.3\n" for i in range(2_400)), encoding="utf-8")
    out = import_file(Workspace(ws.path), "villages", path)
    assert not out.written
    assert out.count("error") == 3 * 2_400
    assert len([p for p in out.problems if p.code != MORE]) <= 1_000
    summary = {p.params["kind"]: p.params["total"] for p in out.problems if p.code == MORE}
    assert summary == {"excel_scientific": 2_400, "not_numeric": 2_400, "coord_not_numeric": 2_400}
