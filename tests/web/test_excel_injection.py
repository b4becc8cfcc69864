"""Excel formula injection: text that looks like a formula is written as text everywhere.

Layer export (``geo.vector.write_vector``), the 公示 Excel (``web.project_notice``) and
the planning export (``web.planning.export_excel``) all go through
``geo.vector.append_rows``.
"""
from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import load_workbook

from layers import proposals as P

from .test_projects_views import TO_PUBLISHED, _data, _walk, users  # noqa: F401 - fixture

FORMULA = '=HYPERLINK("http://x")'
OTHERS = ("+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1")


def _no_formulas(body: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name


def _cells(body: bytes):
    wb = load_workbook(io.BytesIO(body))
    return [c for sheet in wb.worksheets for row in sheet.iter_rows() for c in row if c.value is not None]


def _assert_text(body: bytes, *texts) -> None:
    _no_formulas(body)
    cells = _cells(body)
    assert all(c.data_type != "f" for c in cells)
    for text in texts:
        # (XML reading turns a bare CR into LF)
        hits = [c for c in cells if c.value in (text, text.replace("\r", "\n"))]
        assert hits, f"{text!r} not written literally"
        assert all(c.data_type == "s" for c in hits)


def test_append_rows_keeps_numbers_and_writes_formula_text_as_text():
    from openpyxl import Workbook

    from geo.vector import append_rows

    wb = Workbook()
    append_rows(wb.active, [[FORMULA, 1, 2.5, True, None, float("nan"), *OTHERS]])
    buf = io.BytesIO()
    wb.save(buf)
    _assert_text(buf.getvalue(), FORMULA, *OTHERS)
    row = [c.value for c in load_workbook(io.BytesIO(buf.getvalue())).active[1]]
    assert row[1:6] == [1, 2.5, True, None, None]


def test_layer_export_writes_formula_names_as_text(workspace, client):
    cold = workspace.read_layer("cold_storage")
    cold.loc[0, "name"] = FORMULA
    cold.loc[1, "name"] = "+cmd|' /C calc'!A0"
    workspace.write_layers({"cold_storage": cold})
    response = client.get("/data/download/cold_storage.xlsx")
    assert response.status_code == 200
    _assert_text(response.data, FORMULA, "+cmd|' /C calc'!A0")
    assert any(c.value == 500 and c.data_type == "n" for c in _cells(response.data))  # capacity stays a number


def test_notice_excel_writes_formula_names_as_text(client, users):  # noqa: F811
    p = P.create_proposal(users, _data(users, name=FORMULA, content="-2+3"), created_by="village1")
    _walk(users, p, TO_PUBLISHED)
    response = client.get("/projects/notice.xlsx")
    assert response.status_code == 200
    _assert_text(response.data, FORMULA)
    assert any(c.value == 200 and c.data_type == "n" for c in _cells(response.data))  # budget stays a number


def test_planning_export_writes_formula_names_as_text():
    from web.services.planning import export_excel

    site = {"id": "s1", "name": FORMULA, "fixed": False, "demand_served": 12.5, "demand_count": 3}
    payload = {
        "params": {"model": "mclp", "p": 1},
        "sites": {"features": [{"properties": {"id": "s1"}, "geometry": {"coordinates": [111.0, 34.0]}}]},
        "result": {"sites": [site], "by_town": [{"town": "@town", "villages": 2}],
                   "unreachable": [{"village_code": "1", "village_name": "-village", "reason": "x"}],
                   "solver": {"status": "optimal"}, "totals": {"demand": 12.5}},
    }
    labels = {"existing": "existing", "new": "new", "sheet_sites": "sites", "sheet_towns": "towns",
              "sheet_unreachable": "unreachable", "sheet_params": "params"}
    body = export_excel(payload, labels=labels, title="=1+1")
    _assert_text(body, FORMULA, "@town", "-village", "=1+1")
    assert any(c.value == 12.5 and c.data_type == "n" for c in _cells(body))


@pytest.mark.parametrize("value", [FORMULA, *OTHERS])
def test_write_vector_xlsx(tmp_path, value):
    import geopandas as gpd
    import shapely

    from geo.vector import write_vector

    frame = gpd.GeoDataFrame({"name": [value], "n": [3]}, geometry=[shapely.Point(111, 34)], crs="EPSG:4326")
    path = write_vector(frame, tmp_path / "a.xlsx", layer="村")
    _assert_text(path.read_bytes(), value)
