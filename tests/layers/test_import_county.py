"""Records of another county do not import silently: 12-digit division codes whose first six
digits are not the workspace's county code (``county_code`` in its metadata) are errors of
their row and field (the first rows listed, the rest counted), a file that is wholly another
county's is one error for the file, and the workspace stays byte-identical."""
from __future__ import annotations

import hashlib

import pytest
from click.testing import CliRunner

from layers.importer import import_file, workspace_county_code
from layers.store import Workspace
from tests.conftest import shared_data
from web.cli import main

HEADER = "村代码,村名,乡镇,人口,经度,纬度\n"
OWN = ["140823100201,中社村,桐城镇,1200,111.2186,35.3598", "140823100202,东社村,桐城镇,800,111.2301,35.3612"]
NEIGHBOUR = ["140822100201,邻县村,邻镇,900,111.10,35.40"]


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _workspace(tmp_path, county="140823"):
    ws = Workspace.create(tmp_path / "w.gpkg", meta={"county_code": county, "county_name": "闻喜县"})
    return ws


def _csv(tmp_path, lines, name="v.csv"):
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _kinds(outcome):
    return [(p.severity, p.code, p.row, p.field) for p in outcome.problems if "county" in p.code]


def test_a_neighbours_village_is_an_error_of_its_row_and_field(tmp_path):
    ws = _workspace(tmp_path)
    before = _digest(ws.path)
    outcome = import_file(ws, "villages", _csv(tmp_path, OWN + NEIGHBOUR))
    assert not outcome.written and _digest(ws.path) == before
    assert _kinds(outcome) == [("error", "other_county_code", 4, "村代码")]
    (p,) = [p for p in outcome.problems if p.code == "other_county_code"]
    assert p.params == {"value": "140822100201", "found": "140822", "county": "140823"}


def test_skip_bad_rows_imports_the_own_county_rows_only(tmp_path):
    ws = _workspace(tmp_path)
    outcome = import_file(ws, "villages", _csv(tmp_path, OWN + NEIGHBOUR), skip_bad_rows=True)
    assert outcome.written and outcome.skipped_rows == (4,)
    assert sorted(ws.read_layer("villages")["code"]) == ["140823100201", "140823100202"]


def test_a_file_wholly_of_another_county_is_one_error_for_the_file(tmp_path):
    ws = _workspace(tmp_path, county="149901")
    before = _digest(ws.path)
    outcome = import_file(ws, "villages", _csv(tmp_path, OWN), skip_bad_rows=True)
    assert not outcome.written and _digest(ws.path) == before  # --skip-bad-rows does not import a wrong file
    whole = [p for p in outcome.problems if p.code == "other_county_file"]
    assert len(whole) == 1 and whole[0].row is None and whole[0].params["column"] == "村代码"
    assert whole[0].params["n"] == 2 and whole[0].params["counties"] == "140823"
    assert whole[0].params["county"] == "149901"
    # said once: not again row by row (the file is refused as a whole)
    assert [p for p in outcome.problems if "county" in p.code] == whole


@pytest.mark.parametrize("lang,text", [
    ("en", "v.csv: the whole file is of county 140823, not this workspace's county 149901 (30 codes in column 村代码)"),
    ("zh", "v.csv: 整个文件属于县 140823，不是本工作空间所在县 149901（村代码 列共 30 个代码）")])
def test_cli_says_a_wholly_foreign_file_once(tmp_path, lang, text):
    """One line for the file (the county codes found and the workspace's) and the count: no
    row lines, for the county or anything else about rows of a file that cannot come in."""
    ws = _workspace(tmp_path, county="149901")
    rows = [f"140823100{i:03d},村{i},桐城镇,100,," for i in range(30)]  # no coordinates: a warning a row
    result = CliRunner(env={"RURALPLAN_LANG": lang}).invoke(
        main, ["import", "-w", str(ws.path), "--layer", "villages", str(_csv(tmp_path, rows))])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert len(lines) == 2 and text in lines[0], result.output
    assert lines[-1] == ("nothing written: 1 error in v.csv" if lang == "en" else "未写入任何数据：v.csv 中有 1 个错误")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cli_lists_ten_problems_of_a_kind_then_their_count(tmp_path, lang):
    from web.cli.common import LISTED_PER_KIND

    ws = _workspace(tmp_path)
    rows = [f"140823100{i:03d},村{i},桐城镇,100,," for i in range(30)]  # own county, no coordinates
    result = CliRunner(env={"RURALPLAN_LANG": lang}).invoke(
        main, ["import", "-w", str(ws.path), "--layer", "villages", str(_csv(tmp_path, rows))])
    assert result.exit_code == 0, result.output
    listed = [ln for ln in result.output.splitlines() if "v.csv" in ln and ("row " in ln or "第 " in ln)]
    assert len(listed) == LISTED_PER_KIND
    assert ("20 more problems of kind" in result.output) or ("另有 20 个" in result.output)


def test_many_foreign_rows_list_the_first_and_count_the_rest(tmp_path):
    ws = _workspace(tmp_path)
    rows = [f"140822100{i:03d},村{i},邻镇,100,111.1,35.4" for i in range(12)]
    outcome = import_file(ws, "villages", _csv(tmp_path, OWN + rows), skip_bad_rows=True)
    listed = [p.row for p in outcome.problems if p.code == "other_county_code"]
    assert listed == [4, 5, 6, 7, 8]  # the first five rows of another county, in order
    (more,) = [p for p in outcome.problems if p.code == "more_problems" and p.params["kind"] == "other_county_code"]
    assert more.params["more"] == 7 and more.params["total"] == 12
    # the counted rows are bad rows all the same: only the own county's two villages land
    assert outcome.written and sorted(ws.read_layer("villages")["code"]) == ["140823100201", "140823100202"]
    assert len(outcome.skipped_rows) == 12


def test_codes_excel_wrote_as_numbers_are_checked_too(tmp_path):
    ws = _workspace(tmp_path)
    outcome = import_file(ws, "villages", _csv(tmp_path, [*OWN, "140822100201.0,邻县村,邻镇,900,111.10,35.40"]))
    assert _kinds(outcome) == [("error", "other_county_code", 4, "村代码")]


def test_sibling_layers_with_a_village_code_are_checked(tmp_path):
    ws = _workspace(tmp_path)
    import_file(ws, "villages", _csv(tmp_path, OWN))
    households = tmp_path / "h.csv"
    households.write_text("户编号,所在村代码,监测类型,风险等级,人口\n"
                          "H1,140823100201,unstable,high,3\nH2,140822100201,unstable,high,4\n",
                          encoding="utf-8")
    outcome = import_file(ws, "households", households)
    assert [(p.code, p.row) for p in outcome.problems if p.code == "other_county_code"] == [("other_county_code", 3)]


def test_own_county_and_unknown_county_import_without_county_problems(tmp_path):
    ws = _workspace(tmp_path)
    assert not _kinds(import_file(ws, "villages", _csv(tmp_path, OWN)))
    fresh = Workspace(tmp_path / "fresh.gpkg")  # no county known yet: nothing to compare with
    outcome = import_file(fresh, "villages", _csv(tmp_path, OWN + NEIGHBOUR))
    assert outcome.written and not _kinds(outcome) and workspace_county_code(fresh) is None
    # a workspace whose metadata names no county code: its stored villages do not decide
    outcome = import_file(fresh, "villages", _csv(tmp_path, ["149901100201,别县村,别镇,10,111.3,35.3"], name="x.csv"))
    assert outcome.written and not _kinds(outcome)


@pytest.mark.parametrize("lang,text", [("en", "is of county 140822, not this workspace's county 140823"),
                                       ("zh", "属于县 140822，不是本工作空间所在县 140823")])
def test_cli_report_names_file_row_field_and_exits_2(tmp_path, lang, text):
    ws = _workspace(tmp_path)
    more = [f"140822100{i:03d},村{i},邻镇,100,111.1,35.4" for i in range(300, 310)]
    result = CliRunner(env={"RURALPLAN_LANG": lang}).invoke(
        main, ["import", "-w", str(ws.path), "--layer", "villages", str(_csv(tmp_path, OWN + NEIGHBOUR + more))])
    assert result.exit_code == 2
    line = next(ln for ln in result.output.splitlines() if text in ln)
    assert "v.csv" in line and ("row 4" in line or "第 4 行" in line) and "村代码" in line
    # the rows not listed are counted under the kind's words, not its code
    assert "other_county_code" not in result.output
    assert ("6 more problems of kind" in result.output) or ("另有 6 个" in result.output)


# -- real counties: the adcode lists in ../shared/data/china-counties ---------------------------------
COUNTIES = ["140823", "411024", "431081", "610902"]


@pytest.mark.slow
@pytest.mark.parametrize("county", COUNTIES)
def test_a_real_county_list_goes_only_into_its_own_county(tmp_path, county):
    path = shared_data("china-counties", f"villages_{county}.csv")
    if not path.exists():
        pytest.skip("../shared/data/china-counties is absent")
    other = COUNTIES[(COUNTIES.index(county) + 1) % len(COUNTIES)]
    wrong = Workspace.create(tmp_path / "wrong.gpkg", meta={"county_code": other})
    before = _digest(wrong.path)
    outcome = import_file(wrong, "villages", path)
    assert not outcome.written and _digest(wrong.path) == before
    (whole,) = [p for p in outcome.problems if p.code == "other_county_file"]  # once for the file
    assert whole.params["layers"] == ["villages", "towns"] and whole.params["counties"] == county
    assert whole.params["county"] == other and whole.row is None
    right = Workspace.create(tmp_path / "right.gpkg", meta={"county_code": county})
    outcome = import_file(right, "villages", path)
    assert outcome.written and not [p for p in outcome.problems if "other_county" in p.code]


@pytest.mark.slow
def test_real_villages_of_another_county_are_outside_its_boundary(tmp_path):
    """Points of another county, in a workspace with a county boundary: a warning per row
    when the workspace names no county code; with one, the code check stops the import and
    is the one thing said (the rows of a file that cannot come in are beside the point)."""
    import geopandas as gpd

    boundary_path = shared_data("china-counties", "boundary_140823.geojson")
    villages_path = shared_data("china-counties", "villages_411024.csv")
    if not (boundary_path.exists() and villages_path.exists()):
        pytest.skip("../shared/data/china-counties is absent")
    ws = Workspace.create(tmp_path / "w.gpkg", meta={"county_code": "140823"})
    outline = gpd.read_file(boundary_path)
    with ws.editing() as edit:
        edit.write_layer("boundaries", gpd.GeoDataFrame(
            {"code": ["140823"], "name": ["闻喜县"], "level": ["county"]}, geometry=[outline.union_all()],
            crs="EPSG:4326"))
    outcome = import_file(ws, "villages", villages_path)
    assert not outcome.written
    assert [p.code for p in outcome.problems] == ["other_county_file"]
    ws.set_meta(county_code=None)
    outcome = import_file(ws, "villages", villages_path)
    outside = [p for p in outcome.problems if p.code == "outside_county"]
    assert outside and all(p.severity == "warning" and p.row is not None for p in outside)
