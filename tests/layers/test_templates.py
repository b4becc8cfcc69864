"""Excel import templates: template → fill → import round trip for every layer."""
from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from layers.importer import import_file
from layers.schema import LAYERS
from layers.store import Workspace
from layers.templates import DATA_SHEET, HELP_SHEET, template_columns, write_template
from web.cli import main


def _example_row(wb):
    rows = [[v for v in r if v is not None] for r in wb[HELP_SHEET].iter_rows(values_only=True)]
    return rows[-2], rows[-1]


@pytest.mark.parametrize("layer", list(LAYERS))
def test_template_round_trip(tmp_path, layer):
    path = write_template(layer, tmp_path / f"{layer}.xlsx")
    wb = openpyxl.load_workbook(path)
    data = wb[DATA_SHEET]
    headers = [c.value for c in data[1]]
    example_headers, example = _example_row(wb)
    assert headers == example_headers == [c["header"] for c in template_columns(layer)]
    assert data.max_row == 1  # no example left on the data sheet to be imported by mistake
    for j, value in enumerate(example, start=1):
        data.cell(row=2, column=j, value=value)
    wb.save(path)
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, layer, path)
    assert outcome.written, [p.text() for p in outcome.errors]
    assert [p.code for p in outcome.problems if p.code == "unknown_column"] == []
    stored = ws.read_layer(layer)
    assert len(stored) == 1
    schema = LAYERS[layer]
    for col in template_columns(layer):
        if col["field"] is None:
            continue
        value = stored[col["field"]].iloc[0]
        f = schema.field(col["field"])
        if f.choices:
            assert f.choice(value).zh == col["example"]
        elif f.type == "bool":
            assert bool(value) is (col["example"] == "是")
        elif f.type in ("int", "float"):
            assert float(value) == pytest.approx(col["example"])
        else:
            assert str(value) == str(col["example"])
    if schema.spatial:
        assert not stored.geometry.iloc[0].is_empty


def test_template_has_units_dropdowns_and_text_codes(tmp_path):
    path = write_template("villages", tmp_path / "v.xlsx")
    wb = openpyxl.load_workbook(path)
    data = wb[DATA_SHEET]
    headers = [c.value for c in data[1]]
    assert headers[:3] == ["统计用区划代码", "村名", "乡镇"]
    assert "人口(人)" in headers and "苹果产量(吨/年)" in headers and headers[-2:] == ["经度", "纬度"]
    lists = {str(dv.sqref).split(":")[0][:-1]: dv.formula1 for dv in data.data_validations.dataValidation}
    poor = headers.index("脱贫村")
    from openpyxl.utils import get_column_letter

    assert lists[get_column_letter(poor + 1)] == '"是,否"'
    assert data.column_dimensions["A"].number_format == "@"  # codes stay 12 digits
    assert data["A1"].font.bold and data["A1"].font.color.rgb.endswith("C00000")  # required
    assert "Statistical code" in data["A1"].comment.text


def test_enum_dropdown_lists_allowed_values(tmp_path):
    wb = openpyxl.load_workbook(write_template("cold_storage", tmp_path / "c.xlsx"))
    formulas = [dv.formula1 for dv in wb[DATA_SHEET].data_validations.dataValidation]
    assert '"保鲜库,冷冻库,气调库,冷链集配中心"' in formulas
    assert '"已建成,在建,规划"' in formulas


def test_cli_template(tmp_path):
    out = tmp_path / "households.xlsx"
    result = CliRunner().invoke(main, ["template", "--layer", "households", str(out)])
    assert result.exit_code == 0, result.output
    assert [c.value for c in openpyxl.load_workbook(out)[DATA_SHEET][1]][:2] == ["户编号", "所在村代码"]
    result = CliRunner().invoke(main, ["template", "--layer", "nope", str(tmp_path / "x.xlsx")])
    assert result.exit_code != 0 and "unknown layer" in result.output
