"""Every xlsx/csv export speaks the reader's language: Chinese headers and value labels in
zh, no internal code where the schema has a label; the codes stay available."""
from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from layers.schema import LAYERS, get_schema
from web.services.exports import field_header

from .test_projects_views import TO_PUBLISHED, _data, _walk, users  # noqa: F401 - fixture

CJK = re.compile(r"[\u4e00-\u9fff]")


def _coded_values(schema) -> dict[str, set[str]]:
    """Header label -> codes that must not appear in that column (codes whose label differs)."""
    out = {}
    for f in schema.fields:
        if f.choices:
            out[field_header(schema, f.name, "zh")] = {c.value for c in f.choices if c.value != c.zh}
        elif f.type == "bool":
            out[field_header(schema, f.name, "zh")] = {"True", "False", "true", "false"}
    return out


def _table(response, fmt):
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    else:
        rows = [list(r) for r in load_workbook(io.BytesIO(response.data)).worksheets[0].iter_rows(values_only=True)]
    return rows[0], rows[1:]


def assert_speaks_chinese(header, rows, schema=None):
    assert header, "no header row"
    for h in header:
        assert CJK.search(str(h)), f"header {h!r} is not Chinese"
    if schema is None:
        return
    banned = _coded_values(schema)
    for i, h in enumerate(header):
        for row in rows:
            value = row[i] if i < len(row) else None
            assert value is None or str(value) not in banned.get(h, ()), f"{h}: internal code {value!r}"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_layer_downloads_are_chinese(client, login_as, layer, fmt):
    login_as("planner1")
    response = client.get(f"/data/download/{layer}.{fmt}")
    assert response.status_code == 200
    header, rows = _table(response, fmt)
    assert_speaks_chinese(header, rows, get_schema(layer))
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    if fmt == "xlsx":  # the codes, importable unchanged, in the second sheet
        wb = load_workbook(io.BytesIO(response.data))
        assert wb.sheetnames[1] == "代码"
        codes = [c.value for c in wb["代码"][1]]
        assert get_schema(layer).id_field in codes and len(list(wb["代码"].iter_rows())) == len(rows) + 1
    coded = client.get(f"/data/download/{layer}.{fmt}?codes=1")
    coded_header, coded_rows = _table(coded, fmt)
    assert get_schema(layer).id_field in coded_header and len(coded_rows) == len(rows)


def test_labels_values_of_a_known_row(client, login_as, workspace):
    login_as("planner1")
    cold = workspace.read_layer("cold_storage")
    response = client.get("/data/download/cold_storage.csv")
    header, rows = _table(response, "csv")
    schema = get_schema("cold_storage")
    kind = schema.fields[[f.name for f in schema.fields].index("kind")]
    expected = {c.value: c.zh for c in kind.choices}[str(cold["kind"].iloc[0])]
    assert rows[0][header.index(field_header(schema, "kind"))] == expected


def test_english_export_has_english_headers(client, login_as):
    login_as("planner1")
    client.get("/lang/en")
    response = client.get("/data/download/villages.xlsx")
    header, _ = _table(response, "xlsx")
    assert "Statistical code" in header and not any(CJK.search(str(h)) for h in header)
    assert load_workbook(io.BytesIO(response.data)).sheetnames[1] == "codes"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_export_labels_and_codes(workspace, tmp_path, monkeypatch, fmt):
    from click.testing import CliRunner

    from web.cli import main

    monkeypatch.setenv("RURALPLAN_LANG", "zh")
    out = tmp_path / f"cold.{fmt}"
    result = CliRunner().invoke(main, ["export", "-w", str(workspace.path), "-l", "cold_storage", str(out)])
    assert result.exit_code == 0, result.output
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    else:
        rows = [list(r) for r in load_workbook(out).worksheets[0].iter_rows(values_only=True)]
    assert_speaks_chinese(rows[0], rows[1:], get_schema("cold_storage"))
    coded = tmp_path / f"coded.{fmt}"
    result = CliRunner().invoke(main, ["export", "-w", str(workspace.path), "-l", "cold_storage", "--codes", str(coded)])
    assert result.exit_code == 0, result.output
    first = (coded.read_text(encoding="utf-8-sig").splitlines()[0].split(",") if fmt == "csv"
             else [c.value for c in load_workbook(coded).worksheets[0][1]])
    assert "kind" in first and "id" in first


PLAN_QUESTION = {"facility": "cold_storage", "model": "mclp", "limit": "p", "p": "1", "minutes": "30",
                 "demand": "population", "candidates": "towns", "curve": "2"}


def test_planning_export_is_chinese(client):
    response = client.get("/planning/export.xlsx", query_string=PLAN_QUESTION)
    assert response.status_code == 200 and "filename*=UTF-8''" in response.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.data))
    for sheet in wb.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        assert CJK.search(sheet.title), sheet.title
        assert_speaks_chinese(rows[0], rows[1:])
    params = list(wb["参数"].iter_rows(values_only=True))[1:]
    codes = {"optimal", "feasible", "linear", "mclp", "towns", "population", "cold_storage", "p"}
    for item, value, _code in params:
        assert CJK.search(str(item)), f"parameter {item!r} has no Chinese label"
        assert str(value) not in codes, f"{item}: code {value!r} where a label exists"
    curve = list(wb["覆盖曲线"].iter_rows(values_only=True))
    status = curve[0].index("状态")
    assert {r[status] for r in curve[1:]} <= {"最优", "可行（达到时限）", "不可行", "达到时限"}
    assert any(r[status] == "最优" for r in curve[1:])


def test_notice_export_is_chinese(client, users):  # noqa: F811
    from layers import proposals as P

    _walk(users, P.create_proposal(users, _data(users), created_by="village1"), TO_PUBLISHED)
    rows = list(load_workbook(io.BytesIO(client.get("/projects/notice.xlsx").data)).active.iter_rows(values_only=True))
    assert_speaks_chinese([h for h in rows[1] if h], rows[3:])
    values = {str(v) for r in rows[3:] for v in r if v is not None}
    assert not values & {"cold_chain", "linkage", "new", "wage", "dividend", "published"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_labelled_export_imports_back(workspace, tmp_path, fmt):
    """A county user edits the Chinese export and uploads it again: headers and labels are read back."""
    from layers.exporter import export_layer
    from layers.importer import import_file
    from web.services.exports import relabel

    before = workspace.read_layer("cold_storage")
    out = export_layer(workspace, "cold_storage", fmt, tmp_path / f"cold.{fmt}")
    relabel(out, get_schema("cold_storage"), fmt=fmt, lang="zh")
    outcome = import_file(workspace, "cold_storage", str(out), replace=True)
    assert outcome.ok and not [p for p in outcome.problems if p.is_error]
    after = workspace.read_layer("cold_storage")
    for col in ("id", "name", "kind", "status"):
        assert list(after[col].astype(str)) == list(before[col].astype(str)), col
