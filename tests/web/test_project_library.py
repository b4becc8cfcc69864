"""The project library's Excel: export, import back unchanged, the validation report (file,
row, column; nothing written on any error), through the CLI and the web."""
from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from layers import proposals as P
from layers import workflow as W
from layers.project_library import COLUMNS, import_library, write_library_xlsx
from web.cli import main
from web.services.users import get_user

from .conftest import csrf_token
from .sample import build_sample_workspace
from .test_projects_views import _data, users  # noqa: F401 - fixture


def _library(ws):
    """A library with a published village project, a town draft and a county project in review."""
    a = P.create_proposal(ws, _data(ws, period="2026年3月—2026年10月", responsible_unit="东岭镇人民政府",
                                    fund_note="中央衔接资金", farmer_link_note="村集体入股分红"), created_by="village1")
    for username, action in [("village1", "submit"), ("town1", "approve"), ("sector1", "approve"),
                             ("approver1", "approve"), ("approver1", "publish")]:
        a = W.transition(ws, a.id, action, actor=get_user(ws, username), expected_version=a.version)
    villages = ws.read_layer("villages")
    own = list(villages.loc[villages["town"] == "东岭镇", "code"].astype(str))[:2]
    P.create_proposal(ws, _data(ws, name="跨村道路", category="infrastructure", village_code="", level="town",
                                town="东岭镇", beneficiary_villages=own, construction_type="renovation",
                                geometry="LINESTRING (111.05 34.05, 111.1 34.1)"), created_by="town1")
    c = P.create_proposal(ws, _data(ws, name="县域冷链骨干网", village_code="", level="county", town="",
                                    beneficiary_villages=[], budget_wan=1200.5), created_by="sector1")
    W.transition(ws, c.id, "submit", actor=get_user(ws, "sector1"), expected_version=c.version)
    return ws


def _cells(path):
    sheet = load_workbook(path).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_export_imports_back_unchanged(users, tmp_path):  # noqa: F811
    ws = _library(users)
    first = tmp_path / "项目库.xlsx"
    write_library_xlsx(sorted(P.list_proposals(ws), key=lambda p: p.id), first)
    header = _cells(first)[0]
    for column in ("项目名称", "建设性质", "建设地点", "建设内容及规模", "资金来源及规模", "实施期限", "责任单位",
                   "绩效目标", "联农带农机制", "乡镇", "村", "项目类别", "投资（万元）"):
        assert column in header
    # into the same workspace: everything is already there, nothing changes
    before = [(p.id, p.version, p.status) for p in P.list_proposals(ws)]
    outcome = import_library(ws, first, created_by="planner1")
    assert outcome.written and (outcome.added, outcome.unchanged) == (0, 3), outcome.to_dict()
    assert [(p.id, p.version, p.status) for p in P.list_proposals(ws)] == before
    # into another county workspace: the same library comes out again, cell for cell
    other = build_sample_workspace(tmp_path / "other.gpkg")
    outcome = import_library(other, first, created_by="planner1")
    assert outcome.written and outcome.added == 3 and not outcome.errors, outcome.to_dict()
    second = tmp_path / "again.xlsx"
    write_library_xlsx(sorted(P.list_proposals(other), key=lambda p: p.id), second)
    assert _cells(second) == _cells(first)
    statuses = {p.name: p.status for p in P.list_proposals(other)}
    assert statuses == {"测试冷库": "published", "跨村道路": "draft", "县域冷链骨干网": "sector_approved"}
    imported = next(p for p in P.list_proposals(other) if p.status == "published")
    assert [t.action for t in P.history(other, imported.id)] == ["import"]


def test_english_headers_import_too(users, tmp_path):  # noqa: F811
    ws = _library(users)
    path = tmp_path / "library-en.xlsx"
    write_library_xlsx(sorted(P.list_proposals(ws), key=lambda p: p.id), path, lang="en")
    outcome = import_library(build_sample_workspace(tmp_path / "o.gpkg"), path, created_by="x")
    assert outcome.written and outcome.added == 3, outcome.to_dict()


def _sheet(path, rows, header=("项目名称", "项目类别", "乡镇", "村", "建设内容及规模", "资金来源及规模", "投资（万元）",
                               "实施期限", "经度", "纬度")):
    wb = Workbook()
    sh = wb.active
    sh.append(["某县2026年度巩固拓展脱贫攻坚成果和乡村振兴项目库"])  # a title row, as county sheets have
    sh.append(list(header))
    for row in rows:
        sh.append(list(row))
    wb.save(path)
    return path


def test_bad_rows_are_reported_by_file_row_and_column_and_nothing_is_written(users, tmp_path):  # noqa: F811
    village = users.read_layer("villages").iloc[0]
    good = ("苹果保鲜库", "冷链物流", "东岭镇", village["name"], "新建保鲜库300吨", "衔接资金 200万元", 200,
            "2026年", village.geometry.x, village.geometry.y)
    path = _sheet(tmp_path / "县项目库.xlsx", [
        good,
        ("道路硬化", "修路", "东岭镇", village["name"], "硬化3公里", "衔接资金", "abc", "", "", ""),
        ("", "冷链物流", "东岭镇", "没有这个村", "x", "自筹 10万元", 10, "", "", ""),
    ])
    outcome = import_library(users, path, created_by="planner1")
    assert not outcome.written and P.list_proposals(users) == []
    where = {(p.row, p.field) for p in outcome.errors}
    assert (4, "项目类别") in where and (4, "投资（万元）") in where  # Excel's row numbers (title, header)
    assert (5, "项目名称") in where and (5, "村") in where
    assert all(p.file == "县项目库.xlsx" for p in outcome.errors)
    assert not any(p.row == 3 for p in outcome.errors)
    # the CLI: the same report, exit 2, the workspace untouched
    result = CliRunner(env={"RURALPLAN_LANG": "zh"}).invoke(main, ["projects", "import", "-w", str(users.path),
                                                                   str(path)])
    assert result.exit_code == 2, result.output
    assert "县项目库.xlsx, 第 4 行, 字段 项目类别" in result.output or "县项目库.xlsx, 第 4 行" in result.output, \
        result.output
    # Chinese throughout: the number and the unknown village were said in English inside the zh report
    assert "不是数字：“abc”" in result.output and "行政村图层中没有“没有这个村”" in result.output, result.output
    assert "not a number" not in result.output and "is not in the villages layer" not in result.output
    assert P.list_proposals(users) == []
    # the good row alone imports, as a draft placed where the sheet says
    ok = _sheet(tmp_path / "ok.xlsx", [good])
    result = CliRunner().invoke(main, ["projects", "import", "-w", str(users.path), str(ok), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == 1
    (p,) = P.list_proposals(users)
    assert (p.village_code, p.town, p.status, p.budget_wan, p.fund_source) == (
        str(village["code"]), "东岭镇", "draft", 200.0, "linkage")
    # the same sheet (no 项目编号) again: refused, not doubled
    again = import_library(users, ok, created_by="planner1")
    assert not again.written and [(e.row, e.field) for e in again.errors] == [(3, "项目名称")]
    assert f"RP-{p.id}" in again.errors[0].text() and len(P.list_proposals(users)) == 1


def test_cli_export_and_web_import(client, login_as, users, tmp_path):  # noqa: F811
    ws = _library(users)
    out = tmp_path / "exported.xlsx"
    result = CliRunner().invoke(main, ["projects", "export", "-w", str(ws.path), str(out)])
    assert result.exit_code == 0, result.output
    other = tmp_path / "bad.xlsx"
    _sheet(other, [("某项目", "不存在的类别", "东岭镇", "", "x", "衔接资金", 5, "", "", "")])
    login_as("village1")
    assert client.get("/projects/import").status_code == 403
    login_as("planner1")
    page = client.get("/projects/import")
    assert page.status_code == 200
    token = csrf_token(client, "/projects/import")
    response = client.post("/projects/import", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(other.read_bytes()), "bad.xlsx")})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="import-report"' in html and "bad.xlsx" in html and "项目类别" in html
    response = client.post("/projects/import", content_type="multipart/form-data",
                           data={"csrf_token": token, "file": (io.BytesIO(out.read_bytes()), "exported.xlsx")})
    assert response.status_code == 200 and "3" in response.get_data(as_text=True)
    export = client.get("/projects/library.xlsx")
    assert export.status_code == 200 and _cells(io.BytesIO(export.data))[1:] == _cells(out)[1:]


@pytest.mark.parametrize("key", [k for k, *_ in COLUMNS])
def test_every_column_has_both_headers(key):
    zh, en = next((z, e) for k, z, e in COLUMNS if k == key)
    assert zh and en and zh != en
