"""Spreadsheet-like tables: reading CSV/XLSX and turning coordinate columns into points.

Row numbers
-----------
Every problem must point at the row the user sees in Excel/WPS. :func:`read_table`
therefore returns a frame whose **index is that row number** (index name
``"row"``): the header is row 1, so the first data row is normally 2. Title
rows above the header and fully blank rows are skipped, but the numbers stay
those of the file. :func:`row_numbers` gives the row numbers of any frame: the
index when it is named ``"row"``, otherwise position + 2.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.crs import in_china, is_geographic, looks_swapped, parse_crs, to_wgs84
from geo.report import N_, Problem, error, warning

# pandas >= 3 has a proper string dtype with NaN for missing; on pandas 2,
# dtype=str would turn None into the text "None", so stay with object there.
_TEXT_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else object

__all__ = [
    "escape_formula_cells",
    "find_xy_columns",
    "points_from_table",
    "read_table",
    "row_numbers",
    "write_csv",
]

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")

# How many leading rows may be titles ("XX县村庄名录") above the header.
_MAX_TITLE_ROWS = 10


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

def _decode(data: bytes, name: str) -> tuple[str, str]:
    """Decode bytes trying the encodings Chinese users' files actually come in."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export
        candidates = ("utf-16",)
    else:
        # utf-8-sig also reads BOM-less UTF-8; GB18030 is a superset of GBK/GB2312
        # (what Excel on Chinese Windows writes for "CSV").
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    msg = f"{name}: cannot decode the text (tried {', '.join(candidates)}); save it as UTF-8"
    raise ValueError(msg)


def _sniff_delimiter(text: str, suffix: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if suffix == ".tsv" or ("\t" in sample and "," not in sample) else ","


def _csv_rows(path: Path) -> tuple[list[list], dict]:
    data = path.read_bytes()
    text, encoding = _decode(data, path.name)
    delimiter = _sniff_delimiter(text, path.suffix.lower())
    try:
        rows = [[_unescape_formula(v) for v in r]
                for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        msg = f"{path.name}: not a readable CSV file ({exc})"
        raise ValueError(msg) from None
    return rows, {"encoding": encoding, "delimiter": delimiter}


def _unescape_formula(cell: str) -> str:
    """Undo :func:`escape_formula_cells` (``'=1+2`` → ``=1+2``) so an exported CSV
    imports back unchanged; a quote before anything else is data and stays."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        # Excel stores every number as float; "35" should read back as "35"
        return str(int(value))
    return str(value)


def _xlsx_rows(path: Path, sheet) -> tuple[list[list], dict]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        msg = f"{path.name}: not a readable .xlsx workbook ({exc})"
        raise ValueError(msg) from None
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                msg = f"{path.name}: no sheet number {sheet}; sheets are {names}"
                raise ValueError(msg)
            ws = wb[names[sheet]]
        elif sheet in names:
            ws = wb[sheet]
        else:
            msg = f"{path.name}: no sheet named {sheet!r}; sheets are {names}"
            raise ValueError(msg)
        # read_only sheets may not know their dimensions; min_row=1 keeps the
        # numbering aligned with what Excel shows even when row 1 is blank.
        rows = [[_cell_text(v) for v in r] for r in ws.iter_rows(min_row=1, values_only=True)]
        return rows, {"sheet": ws.title}
    finally:
        wb.close()


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _unique_names(header: list) -> list[str]:
    names, seen = [], {}
    for i, raw in enumerate(header):
        name = _clean(raw) or f"column{i + 1}"
        name = name.lstrip("\ufeff")
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def _frame_from_rows(rows: list[list], header_score=None) -> pd.DataFrame:
    rows = [[_clean(v) for v in r] for r in rows]
    width = max((len(r) for r in rows), default=0)
    rows = [r + [None] * (width - len(r)) for r in rows]
    filled = [sum(v is not None for v in r) for r in rows]
    # Drop trailing columns that are blank everywhere (phantom Excel columns).
    while width and all(r[width - 1] is None for r in rows):
        width -= 1
    rows = [r[:width] for r in rows]

    # Header: first non-blank row, skipping one-cell title rows when a wider
    # row follows soon after.
    candidates = [i for i, n in enumerate(filled) if n > 0]
    if not candidates:
        return pd.DataFrame(index=pd.Index([], name="row", dtype="int64"))
    header_i = candidates[0]
    window = candidates[:_MAX_TITLE_ROWS + 1]
    if filled[header_i] == 1 and any(filled[i] >= 2 for i in window):
        header_i = next(i for i in window if filled[i] >= 2)
    if header_score is not None:
        # Spreadsheets often put a title and a group row ("基本信息 | 规模") above the real
        # header: let the caller say which of the first rows looks most like its header.
        scores = {i: header_score([v for v in rows[i] if v is not None]) for i in window[:5]}
        best = max(scores, key=lambda i: (scores[i], -i))
        if scores[best] > scores.get(header_i, 0):
            header_i = best
    columns = _unique_names(rows[header_i])
    body = [(i + 1, r) for i, r in enumerate(rows) if i > header_i and filled[i] > 0]
    index = pd.Index([n for n, _ in body], name="row", dtype="int64")
    data = {c: [r[j] for _, r in body] for j, c in enumerate(columns)}
    return pd.DataFrame(data, index=index, dtype=_TEXT_DTYPE)


def read_table(path, *, sheet=None, header_score=None) -> pd.DataFrame:
    """Read a CSV/TXT/TSV or XLSX table with every cell as text.

    Parameters
    ----------
    path : str or os.PathLike
    sheet : str or int, optional
        XLSX sheet name or 0-based number; default the first sheet.
    header_score : callable, optional
        ``header_score(cells) -> number``: how much a row's cells look like the
        expected header. Among the first rows, the best-scoring one is the header
        (ties: the first), so title and group rows above it are skipped.

    Returns
    -------
    pandas.DataFrame
        String columns named after the header row (stripped); empty cells are
        NA. The index holds the row number as the user sees it (see module
        docstring). ``df.attrs`` records ``file`` and, for text files,
        ``encoding`` and ``delimiter``.

    Raises
    ------
    ValueError
        Naming the file, when it does not exist, has an unsupported type or
        cannot be decoded/parsed.

    Notes
    -----
    Text encodings tried: UTF-16 (only with a BOM), UTF-8 (with or without
    BOM), then GB18030 (superset of GBK/GB2312).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        hint = " (save .xls files as .xlsx)" if suffix == ".xls" else ""
        msg = (f"{path.name}: unsupported table type {suffix or '(none)'!r}{hint}; "
               f"use one of {', '.join(TABLE_SUFFIXES)}")
        raise ValueError(msg)
    if not path.is_file():
        msg = f"{path.name}: file not found ({path})"
        raise ValueError(msg)
    if suffix in (".xlsx", ".xlsm"):
        rows, attrs = _xlsx_rows(path, sheet)
    else:
        rows, attrs = _csv_rows(path)
    df = _frame_from_rows(rows, header_score)
    df.attrs.update(attrs, file=path.name)
    return df


def row_numbers(df: pd.DataFrame) -> np.ndarray:
    """Row numbers as the user sees them for each row of ``df``.

    The index when it is named ``"row"`` (as :func:`read_table` returns),
    otherwise position + 2 (header in row 1).
    """
    if df.index.name == "row" and pd.api.types.is_integer_dtype(df.index):
        return np.asarray(df.index, dtype="int64")
    return np.arange(len(df), dtype="int64") + 2


# --------------------------------------------------------------------------
# Coordinate columns
# --------------------------------------------------------------------------

_X_NAMES = ("经度", "东经", "longitude", "lng", "lon", "long", "x坐标", "坐标x", "x")
_Y_NAMES = ("纬度", "北纬", "latitude", "lat", "y坐标", "坐标y", "y")
# unit or remark suffixes: "经度(°)", "纬度（度）", "X坐标 [m]"
_UNIT_RE = re.compile(r"[\(\[（【].*?[\)\]）】]")


def _normalise_name(name) -> str:
    text = unicodedata.normalize("NFKC", str(name)).lower()
    text = _UNIT_RE.sub("", text)
    return re.sub(r"[\s_\-°:：]+", "", text)


def find_xy_columns(columns) -> tuple[str, str] | None:
    """Recognise the longitude/x and latitude/y columns by name.

    Matching ignores case, spaces, full-width forms and bracketed units, so
    ``"经度(°)"``, ``"Longitude"``, ``"X 坐标"`` and ``"lng"`` all count.
    Geographic names (经度/纬度, lng/lat ...) win over plain x/y.

    Returns
    -------
    (x_col, y_col) with the original spellings, or None if no pair is found.
    """
    columns = list(columns)
    normal = {c: _normalise_name(c) for c in columns}

    def first(names):
        for n in names:
            for c in columns:
                if normal[c] == n:
                    return c
        return None

    x_col, y_col = first(_X_NAMES), first(_Y_NAMES)
    if x_col is None or y_col is None or x_col == y_col:
        return None
    return x_col, y_col


# --------------------------------------------------------------------------
# Points
# --------------------------------------------------------------------------

def _to_number(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column to floats; returns (numbers, missing_mask)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        nums = np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        return nums, np.isnan(nums)
    text = [None if _isna(v) else unicodedata.normalize("NFKC", str(v)).strip()
            for v in values.to_numpy(dtype=object)]
    missing = np.array([v is None or v == "" for v in text], dtype=bool)
    nums = np.array(pd.to_numeric(pd.Series([None if m else v for v, m in zip(text, missing)],
                                            dtype=object), errors="coerce"), dtype=float)
    # "inf"/"nan" parse as numbers but are not coordinates
    nums[~np.isfinite(nums)] = np.nan
    return nums, missing


def _isna(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _raw(value) -> str:
    return "" if _isna(value) else str(value)


def points_from_table(df: pd.DataFrame, *, crs="wgs84", file=None, x_col=None, y_col=None,
                      outside_china="error"):
    """Build WGS84 points from coordinate columns, reporting every bad row.

    Parameters
    ----------
    df : pandas.DataFrame
        Typically from :func:`read_table` (cells as text); numeric columns work too.
    crs : str
        The coordinates' system, any :func:`geo.crs.parse_crs` option.
    file : str, optional
        File name for the problems (defaults to ``df.attrs["file"]``).
    x_col, y_col : str, optional
        Coordinate columns; found with :func:`find_xy_columns` when omitted.
    outside_china : {"error", "warning", "ignore"}
        How to treat points that convert to somewhere outside China. With
        ``"warning"``/``"ignore"`` the point is kept.

    Returns
    -------
    (geopandas.GeoDataFrame, list[Problem])
        All rows of ``df``, same index and order, plus a ``geometry`` column in
        EPSG:4326; rows with an error get a None geometry. Coordinates are
        never swapped or repaired silently.

    Raises
    ------
    ValueError
        For an invalid ``crs`` or ``outside_china`` option (programming errors,
        not data problems).
    """
    crs = parse_crs(crs)
    if outside_china not in ("error", "warning", "ignore"):
        msg = f"outside_china must be 'error', 'warning' or 'ignore', got {outside_china!r}"
        raise ValueError(msg)
    file = file if file is not None else df.attrs.get("file")
    n = len(df)
    geometry = np.full(n, None, dtype=object)

    def frame():
        return gpd.GeoDataFrame(df.copy(), geometry=gpd.GeoSeries(geometry, index=df.index),
                                crs="EPSG:4326")

    problems: list[Problem] = []
    if x_col is None or y_col is None:
        found = find_xy_columns(df.columns)
        if found is None and x_col is None and y_col is None:
            problems.append(error(
                "coord_columns_not_found",
                N_("no coordinate columns found; expected a pair such as 经度/纬度, "
                   "lng/lat, lon/lat or x/y (columns present: {columns})"),
                params={"columns": ", ".join(map(str, df.columns))}, file=file))
            return frame(), problems
        if found is not None:
            x_col = found[0] if x_col is None else x_col
            y_col = found[1] if y_col is None else y_col
    for col in (x_col, y_col):
        if col is None or col not in df.columns:
            problems.append(error(
                "coord_column_missing", N_("coordinate column {column} not found"),
                params={"column": str(col)}, file=file))
    if problems:
        return frame(), problems

    rows = row_numbers(df)
    x, x_missing = _to_number(df[x_col])
    y, y_missing = _to_number(df[y_col])
    x_raw = df[x_col].to_numpy(dtype=object)
    y_raw = df[y_col].to_numpy(dtype=object)
    bad = np.zeros(n, dtype=bool)
    per_row: list[list[Problem]] = [[] for _ in range(n)]

    def add(i, p):
        per_row[i].append(p)
        if p.is_error:
            bad[i] = True

    for col, nums, missing, raw in ((x_col, x, x_missing, x_raw), (y_col, y, y_missing, y_raw)):
        for i in np.flatnonzero(missing):
            add(i, error("coord_missing", N_("{column} is empty; a coordinate is required"),
                         params={"column": col}, file=file, row=int(rows[i]), field=col))
        for i in np.flatnonzero(~missing & np.isnan(nums)):
            add(i, error("coord_not_numeric", N_("{column} value “{value}” is not a number"),
                         params={"column": col, "value": _raw(raw[i])},
                         file=file, row=int(rows[i]), field=col))

    ok = ~bad
    geographic = is_geographic(crs)
    if geographic:
        swapped = ok & looks_swapped(x, y)
        for i in np.flatnonzero(swapped):
            add(i, error(
                "coord_swapped",
                N_("longitude {x} and latitude {y} look swapped: the point is in China only "
                   "with the two exchanged; check the {x_column} and {y_column} columns"),
                params={"x": _raw(x_raw[i]), "y": _raw(y_raw[i]),
                        "x_column": x_col, "y_column": y_col},
                file=file, row=int(rows[i]), field=x_col))
        ok = ~bad
        with np.errstate(invalid="ignore"):
            x_range = ok & ((x < -180) | (x > 180))
            y_range = ok & ((y < -90) | (y > 90))
        for col, mask, raw, low, high in ((x_col, x_range, x_raw, -180, 180),
                                          (y_col, y_range, y_raw, -90, 90)):
            for i in np.flatnonzero(mask):
                add(i, error(
                    "coord_out_of_range",
                    N_("{column} value {value} is outside the valid range {low} to {high}"),
                    params={"column": col, "value": _raw(raw[i]), "low": low, "high": high},
                    file=file, row=int(rows[i]), field=col))
        ok = ~bad

    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if ok.any():
        lon[ok], lat[ok] = to_wgs84(x[ok], y[ok], crs)
    with np.errstate(invalid="ignore"):
        failed = ok & ~(np.isfinite(lon) & np.isfinite(lat)
                        & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    for i in np.flatnonzero(failed):
        add(i, error(
            "coord_out_of_range",
            N_("coordinates {x}, {y} are outside the area of coordinate system {crs}"),
            params={"x": _raw(x_raw[i]), "y": _raw(y_raw[i]), "crs": crs},
            file=file, row=int(rows[i]), field=x_col))
    ok = ~bad

    if outside_china != "ignore":
        outside = ok & ~in_china(lon, lat)
        make = error if outside_china == "error" else warning
        for i in np.flatnonzero(outside):
            add(i, make(
                "coord_outside_china",
                N_("point {x}, {y} lies outside China"),
                params={"x": _raw(x_raw[i]), "y": _raw(y_raw[i])},
                file=file, row=int(rows[i]), field=x_col))
        ok = ~bad

    geometry[ok] = gpd.points_from_xy(lon[ok], lat[ok]).to_numpy()
    for ps in per_row:
        problems.extend(ps)
    return frame(), problems



# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

#: Characters with which a spreadsheet cell starts a formula (OWASP "CSV Injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A plain number ("-3.5", "+86", "1e-3") is not a formula and stays a number in Excel.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _escape_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_formula_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot run as spreadsheet formulas.

    A text cell (or column name) starting with ``=``, ``+``, ``-``, ``@``, tab or
    carriage return gets a leading ``'``, which Excel, WPS and LibreOffice read as
    "this cell is text" (OWASP, "CSV Injection"). Numbers are left alone: a number
    column with -3.5 stays -3.5, and so does the text "-3.5"; "-foo" and
    ``=HYPERLINK(...)`` are escaped. :func:`read_table` removes the quote again, so
    an exported CSV imports back unchanged.
    """
    out = frame.copy()
    out.columns = [_escape_cell(c) for c in out.columns]
    for column in range(out.shape[1]):
        series = out.iloc[:, column]
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            out.isetitem(column, series.map(_escape_cell).astype(series.dtype))
    return out


def write_csv(frame: pd.DataFrame, target, **options) -> None:
    """Write ``frame`` as CSV (UTF-8 with BOM for Excel, no index) with formula-leading
    text cells escaped (:func:`escape_formula_cells`); every CSV the app writes from
    data goes through here. ``options`` go to :meth:`pandas.DataFrame.to_csv`."""
    # CRLF line ends (RFC 4180) also make the writer quote a cell holding a bare CR,
    # which with "\n" it wrote raw, splitting the row for every reader.
    options = {"index": False, "encoding": "utf-8-sig", "lineterminator": "\r\n", **options}
    escape_formula_cells(frame).to_csv(target, **options)
