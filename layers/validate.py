"""Validation of imported records against a layer schema.

Parsing is vectorised per column; a :class:`~geo.report.Problem` is made only for the
rows that fail, so a 40,000-row roads file validates in well under a second. Every
problem names the file, the row as the user sees it and the column as spelled in the
user's file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.report import MORE, N_, Problem, add_limited, error, warning

from .schema import Field, LayerSchema, canonical_commodity_list

_TRUE = {"1", "true", "t", "yes", "y", "是", "√", "✓", "有", "x"}
_FALSE = {"0", "false", "f", "no", "n", "否", "×", "无", ""}
_UNIT_SUFFIX = re.compile(r"[\s（(].*$")
#: One bracketed part at the end of a header: a unit ("(t/yr)", "（户）") or a note.
_BRACKET_SUFFIX = re.compile(r"\s*[（(][^（）()]*[）)]\s*$")


def _strip_brackets(text: str) -> str:
    """``"Unstable after exit (households) (households)"`` → ``"Unstable after exit"``."""
    text, previous = str(text), None
    while text != previous:
        previous, text = text, _BRACKET_SUFFIX.sub("", text)
    return text


@dataclass(frozen=True)
class ValidationResult:
    """The typed records that passed and every problem found.

    ``frame`` holds all rows in input order, typed to the schema (bad cells are null);
    ``bad_rows`` are the positions (0-based) of rows with at least one error.
    """

    frame: pd.DataFrame
    problems: tuple[Problem, ...]
    bad_rows: frozenset[int]
    column_map: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.bad_rows and not any(p.is_error and p.row is None and p.code != MORE for p in self.problems)


def _normalise_header(text: str) -> str:
    text = str(text).strip().lower().replace("\ufeff", "")
    return re.sub(r"[\s_\-:：]", "", text)


def match_columns(columns, schema: LayerSchema) -> tuple[dict[str, str], list[str]]:
    """Map the user's column headers to schema field names.

    A header matches a field by its name, its Chinese or English label or an alias,
    ignoring case, spaces, underscores and a trailing unit in brackets ("库容(吨)").

    Returns
    -------
    (mapping user column -> field name, unmatched user columns)
    """
    lookup: dict[str, str] = {}
    # labels without their bracketed units, both sides: the app's own exports (in either
    # language) and offices' spellings of a unit must come back to the same field
    bare: dict[str, str | None] = {}
    for f in schema.fields:
        for key in (f.name, f.zh, f.en, *f.aliases):
            lookup.setdefault(_normalise_header(key), f.name)
            stripped = _normalise_header(_strip_brackets(key))
            if stripped:
                bare[stripped] = f.name if bare.get(stripped, f.name) == f.name else None  # None: ambiguous
    mapping: dict[str, str] = {}
    unmatched: list[str] = []
    for col in columns:
        if col == "geometry":
            continue
        key = _normalise_header(col)
        name = (lookup.get(key) or lookup.get(_normalise_header(_UNIT_SUFFIX.sub("", str(col))))
                or bare.get(_normalise_header(_strip_brackets(col))))
        if name is not None and name not in mapping.values():
            mapping[col] = name
        else:
            unmatched.append(col)
    return mapping, unmatched


def validate_records(
    frame: pd.DataFrame,
    schema: LayerSchema,
    *,
    file: str | None = None,
    row_numbers=None,
    geometry_problems: list[Problem] | None = None,
    boundary=None,
    optional_fields: frozenset[str] = frozenset(),
) -> ValidationResult:
    """Check and type ``frame`` against ``schema``.

    Parameters
    ----------
    frame
        Raw records: text cells from a spreadsheet or typed columns from a vector file,
        with a geometry column for spatial layers (``None`` where it could not be made).
    row_numbers
        Row number the user sees for each record (spreadsheet: header row is 1, so the
        first record is 2). Defaults to that spreadsheet convention.
    geometry_problems
        Problems already found while building geometries (coordinate parsing); their
        rows count as bad rows.
    boundary
        A shapely geometry (EPSG:4326) of the county: points outside it are warnings.
    optional_fields
        Required fields this file may leave empty because the reader already reported
        it once for the whole file (an OpenStreetMap village without a known town).
    """
    n = len(frame)
    rows = np.asarray(row_numbers if row_numbers is not None else np.arange(n) + 2)
    problems: list[Problem] = list(geometry_problems or [])
    bad = np.zeros(n, dtype=bool)
    row_pos = {int(r): i for i, r in enumerate(rows)}
    for p in problems:
        if p.is_error and p.row is not None and p.row in row_pos:
            bad[row_pos[p.row]] = True
        if p.is_error and p.code == MORE:  # problems counted, not listed: their rows are bad all the same
            bad |= np.isin(rows, np.asarray(p.params.get("rows", ()), dtype="int64"))

    reported_cells = {(p.row, p.field) for p in problems if p.is_error and p.row is not None and p.field}
    mapping, unmatched = match_columns(frame.columns, schema)
    user_col = {v: k for k, v in mapping.items()}
    for col in unmatched[:200]:
        problems.append(warning("unknown_column", N_("column {column} is not a field of layer {layer}; ignored"),
                                params={"column": col, "layer": schema.name}, file=file, field=col))

    out: dict[str, pd.Series] = {}
    for f in schema.fields:
        if f.name not in user_col:
            if f.required and f.default is None:
                problems.append(error("missing_column", N_("required column {column} ({label}) is missing"),
                                      params={"column": f.name, "label": f.zh}, file=file))
            elif f.required:
                problems.append(warning("default_used", N_("column {column} ({label}) is missing; new records get "
                                                           "{default}"),
                                        params={"column": f.name, "label": f.zh, "default": f.default}, file=file))
            continue
        col = user_col[f.name]
        if f.name in optional_fields:
            f = replace(f, required=False)
        values, col_problems, col_bad = _parse_column(frame[col], f, rows=rows, file=file, column=col)
        out[f.name] = values
        # a cell already reported while reading (an unknown village name, a NUL byte) is not
        # reported again for its format
        problems.extend(p for p in col_problems if (p.row, p.field) not in reported_cells)
        bad |= col_bad

    typed = pd.DataFrame(out, index=frame.index)
    if schema.spatial:
        geoms = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else gpd.GeoSeries([None] * n)
        geo_problems, geo_bad = _check_geometries(geoms, schema, rows=rows, file=file, boundary=boundary,
                                                  reported=bad.copy())
        problems.extend(geo_problems)
        bad |= geo_bad
        typed = gpd.GeoDataFrame(typed, geometry=geoms.values, crs=getattr(geoms, "crs", None) or "EPSG:4326")

    problems.sort(key=lambda p: (p.row if p.row is not None else -1, p.severity != "error"))
    return ValidationResult(typed, tuple(problems), frozenset(np.flatnonzero(bad).tolist()), mapping)


# --------------------------------------------------------------------------- columns
def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text (object dtype) with empty cells as ``None``."""
    return _apply(series, lambda v: None if _isnull(v) else (str(v).strip() or None))


def _isnull(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _apply(series: pd.Series, fn) -> pd.Series:
    # An explicit object Series: pandas 3 would otherwise infer a string dtype and
    # turn None into NaN, which breaks the "None means empty" convention here.
    return pd.Series([fn(v) for v in series.tolist()], index=series.index, dtype=object)


def _parse_column(series: pd.Series, f: Field, *, rows, file, column):
    text = _text(series)
    present = text.notna().to_numpy()
    problems: list[Problem] = []
    bad = np.zeros(len(series), dtype=bool)

    def flag(mask, code, message, **params):
        add_limited(problems, np.flatnonzero(mask),
                    lambda i: error(code, message, params={"value": text.iloc[i], **params},
                                    file=file, row=int(rows[i]), field=column),
                    code=code, file=file, field=column)
        bad[mask] = True

    if f.required and f.default is None:  # an empty cell with a default takes the default
        flag(~present, "required_missing", N_("{label} is required but empty"), label=f.zh)

    if f.type in ("int", "float"):
        cleaned = _apply(text, lambda v: v if v is None else v.replace(",", "").replace("，", "").replace(" ", ""))
        # float64 throughout: a 20-digit cell would otherwise come back as uint64 (or object)
        # and overflow later when cast to a whole number
        numbers = pd.to_numeric(cleaned, errors="coerce").astype("float64")
        numbers = numbers.where(np.isfinite(numbers.to_numpy()))  # "inf" is not a count
        not_number = present & numbers.isna().to_numpy()
        flag(not_number, "not_numeric", N_("{value!r} is not a number"))
        if f.type == "int":
            huge = numbers.notna().to_numpy() & (numbers.abs() > _MAX_EXACT_INT).to_numpy() & ~bad
            flag(huge, "number_too_large",
                 N_("{value} is too large for {label} (at most {maximum} as a whole number); check the cell"),
                 label=f.zh, maximum=_MAX_EXACT_INT)
            fractional = numbers.notna().to_numpy() & (numbers.fillna(0) % 1 != 0).to_numpy() & ~bad
            flag(fractional, "not_integer", N_("{value!r} is not a whole number"))
        if f.min_value is not None:
            flag(numbers.notna().to_numpy() & (numbers < f.min_value).to_numpy() & ~bad, "below_minimum",
                 N_("{value} is below the minimum {minimum}"), minimum=f.min_value)
        if f.max_value is not None:
            flag(numbers.notna().to_numpy() & (numbers > f.max_value).to_numpy() & ~bad, "above_maximum",
                 N_("{value} is above the maximum {maximum}"), maximum=f.max_value)
        values = numbers.where(~pd.Series(bad, index=numbers.index))
        if f.type == "int":
            values = values.round().astype("Int64")
    elif f.type == "bool":
        low = _apply(text, lambda v: "" if v is None else v.lower())
        is_true = low.isin(_TRUE).to_numpy()
        is_false = low.isin(_FALSE).to_numpy()
        flag(~(is_true | is_false), "not_boolean", N_("{value!r} is not yes/no (是/否)"))
        # empty stays None: "not given" (keep the stored value on update, default on insert)
        values = pd.Series([bool(t) if p else None for t, p in zip(is_true, present)], index=series.index,
                           dtype=object)
    elif f.type == "date":
        parsed = _parse_dates(text)
        flag(present & parsed.isna().to_numpy(), "not_date", N_("{value!r} is not a date (YYYY-MM-DD)"))
        values = pd.Series([None if pd.isna(d) else d.strftime("%Y-%m-%d") for d in parsed],
                           index=series.index, dtype=object)
    else:
        values = text
        if f.name == "commodities":  # a list (山楂；蔬菜): stored in one spelling for every reader
            values = _apply(text, canonical_commodity_list)
        if f.choices:
            values, unknown = _match_choices(text, f)
            flag(present & unknown, "unknown_value", N_("{value!r} is not one of: {allowed}"),
                 allowed=", ".join(f"{c.value} ({c.zh})" for c in f.choices))
        if f.pattern:
            values, sci, ok = _match_pattern(text, f.pattern)
            digits = _pattern_digits(f.pattern)
            flag(sci, "excel_scientific",
                 N_("{value} was turned into scientific notation by Excel and has lost digits "
                    "({label}: {digits} digits expected); format the column as text in Excel/WPS and enter the "
                    "codes again (or export them from the original system)"),
                 label=f.zh, digits=digits or "?")
            flag(~ok & ~sci, "bad_format", N_("{value!r} does not have the expected format ({label})"), label=f.zh)
    if f.unique:
        # duplicates among values already reported (three "1.40823E+11") add nothing
        if f.type == "str":
            text = pd.Series([None if b else v for v, b in zip(values, bad)], index=values.index, dtype=object)
            present = text.notna().to_numpy()
        dup = text.duplicated(keep="first").to_numpy() & present
        first_row = {}
        for i, v in enumerate(text):
            if v is not None and v not in first_row:
                first_row[v] = int(rows[i])
        add_limited(problems, np.flatnonzero(dup),
                    lambda i: error("duplicate_id", N_("duplicate {label} {value!r} (first in row {first_row})"),
                                    params={"label": f.zh, "value": text.iloc[i],
                                            "first_row": first_row[text.iloc[i]]},
                                    file=file, row=int(rows[i]), field=column),
                    code="duplicate_id", file=file, field=column)
        bad |= dup
    return values, problems, bad


#: Largest whole number a float64 holds exactly (2**53 - 1); a count read through a float
#: is only exact up to here (and 2**63 would overflow the GeoPackage's integers).
_MAX_EXACT_INT = 2**53 - 1
_SCIENTIFIC = re.compile(r"^[+-]?(\d)(?:\.(\d+))?[eE]\+?(\d+)$")
_INTEGRAL_FLOAT = re.compile(r"^(\d+)\.0+$")


def _pattern_digits(pattern: str) -> int | None:
    m = re.fullmatch(r"\^?\\d\{(\d+)\}\$?", pattern)
    return int(m.group(1)) if m else None


def _match_pattern(text: pd.Series, pattern: str):
    """Values checked against ``pattern``, repairing only what is provably intact.

    ``140823100201.0`` (a code that went through a float but kept every digit) becomes
    ``140823100201``; ``1.40823100201E+11`` with all 12 digits likewise. ``1.40823E+11``
    (Excel's display of a long number saved to CSV) has lost digits: it is flagged, never
    padded with zeros.

    Returns (values, scientific_mask, ok_mask).
    """
    out, sci, ok = [], [], []
    for v in text:
        if v is None or re.fullmatch(pattern, v):
            out.append(v)
            sci.append(False)
            ok.append(True)
            continue
        fixed = None
        lost = False
        m = _INTEGRAL_FLOAT.match(v)
        if m:
            fixed = m.group(1)
        m = _SCIENTIFIC.match(v)
        if m:
            lead, frac, exp = m.group(1), m.group(2) or "", int(m.group(3))
            if len(frac) == exp:
                fixed = lead + frac  # every digit is there
            else:
                lost = len(frac) < exp
        if fixed is not None and re.fullmatch(pattern, fixed):
            out.append(fixed)
            sci.append(False)
            ok.append(True)
        else:
            out.append(v)
            sci.append(lost)
            ok.append(False)
    return (pd.Series(out, index=text.index, dtype=object), np.array(sci, dtype=bool), np.array(ok, dtype=bool))


def _parse_dates(text: pd.Series) -> pd.Series:
    normalised = _apply(
        text, lambda v: v if v is None else re.sub(r"[年月/.]", "-", v).replace("日", "").split(" ")[0].split("T")[0]
    )
    return pd.to_datetime(normalised, errors="coerce", format="%Y-%m-%d")


def _match_choices(text: pd.Series, f: Field):
    lookup = {}
    for c in f.choices:
        for key in (c.value, c.zh, c.en, *c.synonyms):
            lookup.setdefault(str(key).strip().lower(), c.value)
    values = _apply(text, lambda v: None if v is None else lookup.get(v.lower()))
    unknown = (values.isna() & text.notna()).to_numpy()
    return values, unknown


# --------------------------------------------------------------------------- geometry
def _check_geometries(geoms: gpd.GeoSeries, schema: LayerSchema, *, rows, file, boundary, reported):
    """Geometry problems; ``reported`` marks rows whose coordinates were already reported."""
    problems: list[Problem] = []
    n = len(geoms)
    bad = np.zeros(n, dtype=bool)
    arr = np.asarray(geoms.values, dtype=object)
    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    absent = np.flatnonzero(missing & ~reported)
    if schema.geometry_required:
        add_limited(problems, absent,
                    lambda i: error("geometry_missing", N_("the record has no location"), file=file, row=int(rows[i])),
                    code="geometry_missing", file=file)
        bad[absent] = True
    else:
        add_limited(problems, absent,
                    lambda i: warning("geometry_missing", N_("the record has no location; it is kept but left "
                                                             "out of maps and network analyses"),
                                      file=file, row=int(rows[i])),
                    code="geometry_missing", severity="warning", file=file)
    present = ~missing
    types = np.array([g.geom_type if g is not None else "" for g in arr], dtype=object)
    wrong = present & ~np.isin(types, schema.geometry)
    add_limited(problems, np.flatnonzero(wrong),
                lambda i: error("geometry_type", N_("geometry is a {found}; layer {layer} takes {allowed}"),
                                params={"found": types[i], "layer": schema.name,
                                        "allowed": ", ".join(schema.geometry)},
                                file=file, row=int(rows[i])),
                code="geometry_type", file=file)
    bad |= wrong
    invalid = present & ~wrong & ~shapely.is_valid(arr)
    add_limited(problems, np.flatnonzero(invalid),
                lambda i: error("geometry_invalid", N_("invalid geometry: {reason}"),
                                params={"reason": shapely.is_valid_reason(arr[i])}, file=file, row=int(rows[i])),
                code="geometry_invalid", file=file)
    bad |= invalid
    # Coordinates that are not lon/lat at all (projected data read without its .prj) are
    # errors; lon/lat outside China only warnings, since a vector file's CRS is
    # authoritative (the Andorra OSM extract is a legitimate test workspace).
    check = present & ~wrong & ~invalid
    if check.any():
        b = shapely.bounds(arr[check])
        not_lonlat = (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
        abroad = ~not_lonlat & ((b[:, 0] < 73.4) | (b[:, 2] > 135.1) | (b[:, 1] < 3.8) | (b[:, 3] > 53.6))
        add_limited(problems, np.flatnonzero(check)[not_lonlat],
                    lambda i: error("not_lonlat", N_("coordinates are not longitude/latitude (missing or wrong CRS?)"),
                                    file=file, row=int(rows[i])),
                    code="not_lonlat", file=file)
        add_limited(problems, np.flatnonzero(check)[abroad],
                    lambda i: warning("outside_china", N_("the location is outside China"), file=file,
                                      row=int(rows[i])),
                    code="outside_china", severity="warning", file=file)
        bad[np.flatnonzero(check)[not_lonlat]] = True
    if boundary is not None:
        inside_check = present & ~bad
        if inside_check.any():
            shapely.prepare(boundary)
            outside = ~shapely.intersects(boundary, arr[inside_check])
            add_limited(problems, np.flatnonzero(inside_check)[outside],
                        lambda i: warning("outside_county", N_("the location is outside the county boundary"),
                                          file=file, row=int(rows[i])),
                        code="outside_county", severity="warning", file=file)
    return problems, bad
