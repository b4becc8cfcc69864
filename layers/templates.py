"""Excel import templates, one per layer, built from the layer schema.

A template has two sheets:

``数据`` (data)
    One header row with each field's Chinese label and unit (``人口(人)``), exactly as the
    importer recognises them; required columns in bold red; each header cell carries a
    comment with the English label, unit, type and allowed values; enumerated and yes/no
    columns get an in-cell drop-down (Excel data validation); code and text columns are
    formatted as text so Excel does not turn 12-digit codes into ``1.40823E+11``.
``说明`` (instructions)
    One line per column (name, English, type, unit, required, allowed values, example)
    and an example row laid out like the data sheet.

The example row is kept off the data sheet on purpose: a filled-in template is imported
as it is, and an example left in place would become a record.
"""
from __future__ import annotations

import io
from pathlib import Path

from .schema import Field, LayerSchema, get_schema

__all__ = ["template_columns", "write_template", "template_bytes"]

DATA_SHEET = "数据"
HELP_SHEET = "说明"
#: Rows that get drop-down lists and text formats (Excel applies them lazily).
_ROWS = 5000

_TYPE_ZH = {"str": "文本", "int": "整数", "float": "数值", "bool": "是/否", "date": "日期 (YYYY-MM-DD)"}
_LON, _LAT = ("经度", "Longitude", "°, WGS84"), ("纬度", "Latitude", "°, WGS84")


def _header(f: Field) -> str:
    return f"{f.zh}({f.unit})" if f.unit else f.zh


def _example(f: Field, layer: LayerSchema):
    if f.choices:
        return f.choices[0].zh
    if f.type == "bool":
        return "否"
    if f.type == "int":
        return 120
    if f.type == "float":
        return 12.5
    if f.type == "date":
        return "2024-03-01"
    if (f.pattern and "12" in f.pattern) or f.name == "target_id":  # a pairing's target: a village code
        return "140823100201"
    if f.name == layer.id_field:
        return "1"
    return f"示例{f.zh}"


def _allowed(f: Field) -> str:
    if f.choices:
        return "、".join(c.zh for c in f.choices)
    if f.type == "bool":
        return "是、否"
    parts = []
    if f.min_value is not None:
        parts.append(f"≥ {f.min_value:g}")
    if f.max_value is not None:
        parts.append(f"≤ {f.max_value:g}")
    if f.pattern and "12" in f.pattern:
        parts.append("12 位数字")
    return "，".join(parts)


def template_columns(layer: str) -> list[dict]:
    """The template's columns: ``header``, ``en``, ``type``, ``unit``, ``required``, ``allowed``, ``example``.

    Point layers end with 经度/纬度 (WGS84 degrees); line and polygon layers with a
    ``wkt`` column (WKT geometry in WGS84).
    """
    schema = get_schema(layer)
    cols = []
    for f in schema.fields:
        cols.append({"header": _header(f), "field": f.name, "en": f.en, "type": _TYPE_ZH[f.type], "unit": f.unit or "",
                     "required": f.required and f.default is None, "allowed": _allowed(f),
                     "example": _example(f, schema), "choices": [c.zh for c in f.choices] or (
                         ["是", "否"] if f.type == "bool" else []), "text": f.type == "str"})
    if schema.geometry == ("Point",) or (schema.spatial and "Point" in schema.geometry and len(schema.geometry) > 1):
        for zh, en, unit in (_LON, _LAT):
            cols.append({"header": zh, "field": None, "en": en, "type": "数值", "unit": unit,
                         "required": schema.geometry_required, "allowed": "度，或 度分秒 如 111°12′30″",
                         "example": 111.2186 if zh == "经度" else 35.3598, "choices": [], "text": False})
    elif schema.spatial:
        example = ("LINESTRING (111.2 35.35, 111.21 35.35)" if "LineString" in schema.geometry
                   else "POLYGON ((111.2 35.35, 111.21 35.35, 111.21 35.36, 111.2 35.35))")
        cols.append({"header": "wkt", "field": None, "en": "Geometry (WKT, WGS84)", "type": "文本", "unit": "",
                     "required": True, "allowed": "WKT, WGS84", "example": example, "choices": [], "text": True})
    return cols


def _workbook(layer: str):
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    schema = get_schema(layer)
    cols = template_columns(layer)
    wb = openpyxl.Workbook()
    data = wb.active
    data.title = DATA_SHEET
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for j, col in enumerate(cols, start=1):
        cell = data.cell(row=1, column=j, value=col["header"])
        cell.fill = header_fill
        cell.font = Font(bold=True, color="C00000" if col["required"] else "000000")
        note = [col["en"], f"类型 type: {col['type']}"]
        if col["unit"]:
            note.append(f"单位 unit: {col['unit']}")
        if col["allowed"]:
            note.append(f"允许值 allowed: {col['allowed']}")
        note.append("必填 required" if col["required"] else "选填 optional")
        note.append(f"示例 example: {col['example']}")
        cell.comment = Comment("\n".join(note), "ruralplan")
        letter = get_column_letter(j)
        data.column_dimensions[letter].width = max(10, min(40, 2 * len(col["header"]) + 4))
        if col["choices"]:
            formula = '"' + ",".join(col["choices"]) + '"'
            dv = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                                errorTitle="不在允许值中", error="请从下拉列表中选择：" + "、".join(col["choices"]))
            dv.add(f"{letter}2:{letter}{_ROWS}")
            data.add_data_validation(dv)
        elif col["text"]:
            # the whole column as text: codes keep every digit
            data.column_dimensions[letter].number_format = "@"
    data.freeze_panes = "A2"

    help_ws = wb.create_sheet(HELP_SHEET)
    help_ws.append([f"{schema.zh}（{schema.en}）导入模板：在“{DATA_SHEET}”表第 2 行起每行填写一条记录；"
                    "红色列为必填；不要改动第 1 行的列名。"])
    help_ws.append([f"Import template for layer {schema.name}: one record per row of sheet “{DATA_SHEET}” from "
                    "row 2; red columns are required; keep the headers in row 1."])
    help_ws.append([])
    help_ws.append(["列名 column", "English", "类型 type", "单位 unit", "必填 required", "允许值 allowed", "示例 example"])
    for col in cols:
        help_ws.append([col["header"], col["en"], col["type"], col["unit"], "是" if col["required"] else "否",
                        col["allowed"], col["example"]])
    help_ws.append([])
    help_ws.append(["示例行 example row:"])
    help_ws.append([c["header"] for c in cols])
    help_ws.append([c["example"] for c in cols])
    for j in range(1, 8):
        help_ws.column_dimensions[get_column_letter(j)].width = 22
    return wb


def write_template(layer: str, out) -> Path:
    """Write the Excel import template of ``layer`` to ``out`` (a path); returns the path.

    Raises
    ------
    ValueError
        For an unknown layer (the message lists the known ones).
    """
    out = Path(out)
    _workbook(layer).save(out)
    return out


def template_bytes(layer: str) -> bytes:
    """The template of ``layer`` as .xlsx bytes (for a download)."""
    buf = io.BytesIO()
    _workbook(layer).save(buf)
    return buf.getvalue()
