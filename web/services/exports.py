"""Exports in the reader's language: Chinese (or English) headers and value labels.

A county official opens an export in Excel/WPS and reads 人口、是否脱贫村、冷冻库, not
``population, former_poor, freezer``. The layer schema (:mod:`layers.schema`) already
holds a zh/en label for every field and enumerated value; this module applies them to
files written with codes (:func:`geo.vector.write_vector`), so the code path stays the
one that round-trips through import:

* xlsx: the labelled table is the first sheet; the codes (importable unchanged) are kept
  in a second sheet named ``代码`` / ``codes``.
* csv: one table, labelled; ``?codes=1`` (web) or ``--codes`` (CLI) writes the codes.

Flask-free; the views and the CLI call it.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from layers.schema import LayerSchema

from ..formatting import unit_label

#: Headers write_vector adds for geometry, by language.
_GEOMETRY_HEADERS = {"lon": ("经度", "Longitude"), "lat": ("纬度", "Latitude"), "wkt": ("几何（WKT）", "Geometry (WKT)")}
_BOOL_LABELS = {"zh": ("是", "否"), "en": ("Yes", "No")}
#: Name of the sheet that keeps the codes, by language.
CODES_SHEET = {"zh": "代码", "en": "codes"}


def _lang(lang: str) -> str:
    return "en" if str(lang).lower().startswith("en") else "zh"


def field_header(schema: LayerSchema, column: str, lang: str = "zh") -> str:
    """The label of a column: ``人口（人）`` / ``Population (persons)``; unknown columns unchanged."""
    lang = _lang(lang)
    if column in _GEOMETRY_HEADERS:
        return _GEOMETRY_HEADERS[column][lang == "en"]
    for f in schema.fields:
        if f.name == column:
            label = f.zh if lang == "zh" else f.en
            if f.unit and not label.rstrip().endswith((")", "）")):  # a label that names its unit keeps it
                return f"{label}（{f.unit}）" if lang == "zh" else f"{label} ({unit_label(f.unit, 'en')})"
            return label
    return column


def value_labeller(schema: LayerSchema, column: str, lang: str = "zh"):
    """A function mapping a stored value of ``column`` to its label (identity where none exists).

    Enumerated values become their labels (``freezer`` → ``冷冻库``), also inside
    comma-separated lists; booleans become 是/否. Empty stays empty.
    """
    lang = _lang(lang)
    field = next((f for f in schema.fields if f.name == column), None)
    if field is None:
        return lambda v: v
    if field.choices:
        table = {c.value: (c.zh if lang == "zh" else c.en) for c in field.choices}

        def label_choice(v):
            if v is None or v == "":
                return v
            text = str(v)
            if text in table:
                return table[text]
            parts = [p.strip() for p in text.split(",")]
            if len(parts) > 1 and all(p in table for p in parts):
                return ("、" if lang == "zh" else ", ").join(table[p] for p in parts)
            return v
        return label_choice
    if field.type == "bool":
        yes, no = _BOOL_LABELS[lang]

        def label_bool(v):
            if v is None or v == "":
                return v
            if isinstance(v, str):
                low = v.strip().lower()
                if low in ("true", "1", "yes"):
                    return yes
                if low in ("false", "0", "no"):
                    return no
                return v
            return yes if bool(v) else no
        return label_bool
    return lambda v: v


def _labelled_rows(schema: LayerSchema, header: list, rows, lang: str):
    labellers = [value_labeller(schema, str(c), lang) for c in header]
    yield [field_header(schema, str(c), lang) for c in header]
    for row in rows:
        yield [fn(v) for fn, v in zip(labellers, row)]


def relabel_xlsx(path: str | os.PathLike, schema: LayerSchema, *, lang: str = "zh") -> Path:
    """Turn a coded workbook (one sheet, header row) into labelled sheet + codes sheet, in place."""
    from openpyxl import load_workbook

    from geo.vector import append_rows

    path = Path(path)
    wb = load_workbook(path)
    codes = wb.worksheets[0]
    values = list(codes.iter_rows(values_only=True))
    header, rows = (list(values[0]), values[1:]) if values else ([], [])
    lang = _lang(lang)
    labelled = wb.create_sheet((schema.zh if lang == "zh" else schema.en)[:31], 0)
    append_rows(labelled, _labelled_rows(schema, header, rows, lang))
    from openpyxl.styles import Font

    for cell in labelled[1]:
        cell.font = Font(bold=True)
    labelled.freeze_panes = "A2"
    codes.title = CODES_SHEET[lang]
    wb.active = 0
    wb.save(path)
    return path


def relabel_csv(path: str | os.PathLike, schema: LayerSchema, *, lang: str = "zh") -> Path:
    """Rewrite a coded CSV (UTF-8 with BOM) with labelled headers and values, in place.

    Values are read as text (a 12-digit village code stays exactly as written).
    """
    path = Path(path)
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        rows = list(reader)
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in _labelled_rows(schema, header, rows, lang):
        writer.writerow(["" if v is None else v for v in row])
    path.write_text(buf.getvalue(), encoding="utf-8-sig")
    return path


def relabel(path: str | os.PathLike, schema: LayerSchema, *, fmt: str, lang: str = "zh") -> Path:
    """Label an export written by :func:`geo.vector.write_vector` (csv/xlsx; other formats unchanged)."""
    if fmt == "xlsx":
        return relabel_xlsx(path, schema, lang=lang)
    if fmt == "csv":
        return relabel_csv(path, schema, lang=lang)
    return Path(path)
