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

import codecs
import csv
import datetime
import re
import unicodedata
import zipfile
import zlib
from pathlib import Path
from xml.etree import ElementTree

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.coords import looks_like_gauss_kruger, parse_angle
from geo.crs import in_china, is_geographic, looks_swapped, parse_crs, to_wgs84
from geo.errors import InvalidInput
from geo.report import MAX_LISTED, MORE, N_, Problem, add_limited, error, warning

# pandas >= 3 has a proper string dtype with NaN for missing; on pandas 2,
# dtype=str would turn None into the text "None", so stay with object there.
_TEXT_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else object

__all__ = [
    "UnreadableTable",
    "decode_text",
    "escape_formula_cells",
    "find_xy_columns",
    "points_from_table",
    "read_table",
    "row_numbers",
    "split_lonlat_column",
    "write_csv",
]

TABLE_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")

# How many leading rows may be titles ("XX县村庄名录") above the header.
_MAX_TITLE_ROWS = 10


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

class UnreadableTable(InvalidInput):
    """The file is not a table we can read (broken workbook, undecodable text...)."""

    code = "table.unreadable"
    en = "{file}: {reason_en}"
    zh = "{file}：{reason_zh}"


def _unreadable(file: str, reason_en: str, reason_zh: str) -> UnreadableTable:
    return UnreadableTable(file=file, reason_en=reason_en, reason_zh=reason_zh)


# Rows built into a frame at a time: Python lists of str cost ~60 bytes a cell, pandas'
# string columns a fraction of that, so the body is converted chunk by chunk.
_CHUNK_ROWS = 20_000

_TOTAL_RE = re.compile(r"^[^\d]{0,12}?(合计|总计|小计|共计|累计|总合计)[:：]?$|^其中[:：]|^(total|subtotal|sum)$", re.I)
_NOTE_RE = re.compile(
    r"^(注|備註|备注|说明|附注|附件|填表说明|填表人|填报人|制表人|制表|审核人|审核|负责人|单位负责人|统计负责人|"
    r"联系人|联系电话|电话|填表日期|填报日期|制表日期|报出日期|填报单位|数据来源|资料来源)"
    r"\s*[\d一二三四五六七八九十]*\s*[:：、.．]|^(注|说明|备注)$|^notes?\s*:", re.I)


def _decode(data: bytes, name: str) -> tuple[str, str, list[int]]:
    """Decode bytes trying the encodings Chinese users' files actually come in.

    Returns the text, the encoding and the line numbers (1-based) that were in GB18030
    when the rest of the file is UTF-8 (a file pasted together from two sources).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export
        try:
            return data.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError:
            raise _unreadable(name, "cannot decode the text as UTF-16; save it as UTF-8 CSV",
                              "文本无法按 UTF-16 解码；请另存为 UTF-8 CSV") from None
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    # Not UTF-8: GB18030 is a superset of GBK/GB2312, what Excel and WPS on Chinese
    # Windows write for "CSV". A few UTF-8 lines among GBK ones (or the other way round)
    # are decoded line by line and reported, never turned into mojibake.
    utf8_lines, out, gb_lines = 0, [], []
    for number, line in enumerate(data.split(b"\n"), start=1):
        text, kind = _decode_line(line, number, name)
        utf8_lines += kind == "utf-8"
        if kind == "gb18030":
            gb_lines.append(number)
        out.append(text)
    mixed = gb_lines if utf8_lines else []
    return "\n".join(out), "gb18030", mixed


def decode_text(data: bytes, name: str) -> tuple[str, str, list[int]]:
    """Text of a file from a Chinese office: ``(text, encoding, gbk_lines)``.

    UTF-16 with a BOM, UTF-8 with or without BOM, else GB18030 (a superset of GBK and
    GB2312, what Excel/WPS on Chinese Windows write for "CSV"). ``gbk_lines`` are the
    1-based lines decoded as GB18030 in an otherwise UTF-8 file (mixed sources).

    Raises
    ------
    UnreadableTable
        When some line is neither.
    """
    return _decode(data, name)


def _sniff_delimiter(text: str, suffix: str) -> str:
    sample = "\n".join(text[:65536].splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return "\t" if suffix == ".tsv" or ("\t" in sample and "," not in sample) else ","


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is valid UTF-8 (checked in 1 MB blocks, nothing kept)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as fh:
        try:
            while block := fh.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _decode_line(line: bytes, number: int, name: str) -> tuple[str, str]:
    """One line of a file in mixed encodings: ``(text, kind)``; kind ``"utf-8"`` for a
    UTF-8 line with non-ASCII text, ``"gb18030"`` for a GB line, ``""`` for plain ASCII.

    Raises :class:`UnreadableTable` when the line is neither.
    """
    try:
        text = line.decode("utf-8-sig" if number == 1 else "utf-8")
        return text, "utf-8" if any(b > 0x7F for b in line) else ""
    except UnicodeDecodeError:
        pass
    try:
        return line.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise _unreadable(name, f"line {number} is neither UTF-8 nor GBK/GB18030 text; save the file as UTF-8 CSV",
                          f"第 {number} 行既不是 UTF-8 也不是 GBK/GB18030 文本；请另存为 UTF-8 CSV") from None


def _gb_lines(path: Path, problems: list):
    """Lines of a non-UTF-8 file decoded as GB18030, a UTF-8 line among them as UTF-8.

    Streams the file; the lines in the minority encoding are reported at the end.
    """
    utf8_lines, gb_lines = 0, []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            text, kind = _decode_line(line, number, path.name)
            utf8_lines += kind == "utf-8"
            if kind == "gb18030":
                gb_lines.append(number)
            yield text
    if utf8_lines:
        for line in gb_lines[:MAX_LISTED]:
            problems.append(warning(
                "mixed_encoding",
                N_("line {line} is in GBK/GB18030 while the rest of the file is UTF-8; it was read as GBK — "
                   "check its text and save the whole file in one encoding"),
                params={"line": line}, file=path.name, row=line))


def _csv_rows(path: Path, attrs: dict, problems: list):
    """``(row number, cells)`` of a CSV/TXT/TSV file, streamed (the text is never held whole)."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"  # Excel's "Unicode text" export
        lines = open(path, encoding="utf-16", newline="", errors="strict")
    elif _is_utf8(path):
        encoding = "utf-8"
        lines = open(path, encoding="utf-8-sig", newline="")
    else:
        # GB18030 is a superset of GBK/GB2312, what Excel and WPS on Chinese Windows write
        encoding = "gb18030"
        lines = _gb_lines(path, problems)
    sample = head.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="ignore")
    delimiter = _sniff_delimiter(sample, path.suffix.lower())
    attrs.update(encoding=encoding, delimiter=delimiter)
    number = 0
    try:
        for number, row in enumerate(csv.reader(lines, delimiter=delimiter), start=1):
            yield number, [_unescape_formula(v) for v in row]
    except csv.Error as exc:
        raise _unreadable(path.name, f"not a readable CSV file near row {number + 1} ({exc})",
                          f"不是可读的 CSV 文件（约第 {number + 1} 行：{exc}）") from None
    except UnicodeDecodeError:
        raise _unreadable(path.name, "cannot decode the text as UTF-16; save it as UTF-8 CSV",
                          "文本无法按 UTF-16 解码；请另存为 UTF-8 CSV") from None
    finally:
        if hasattr(lines, "close"):
            lines.close()


def _unescape_formula(cell: str) -> str:
    """Undo :func:`escape_formula_cells` (``'=1+2`` → ``=1+2``) so an exported CSV
    imports back unchanged; a quote before anything else is data and stays."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_PREFIXES:
        return cell[1:]
    return cell


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            # Excel stores every number as float; "35" should read back as "35"
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date().isoformat()
    return str(value)


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def _xlsx_merges(path: Path, member: str) -> list[tuple[int, int, int, int]]:
    """Merged ranges ``(min_row, min_col, max_row, max_col)`` (rows 1-based, columns 0-based).

    openpyxl's streaming reader does not report merges, so the sheet XML is scanned in
    chunks for ``<mergeCell ref="A3:A4"/>`` (they follow the cell data).
    """
    merges = []
    with zipfile.ZipFile(path) as archive, archive.open(member) as fh:
        tail = b""
        while True:
            block = fh.read(1 << 20)
            if not block:
                break
            chunk = tail + block
            last = 0
            for m in _MERGE_RE.finditer(chunk):
                c1, r1, c2, r2 = m.groups()
                merges.append((int(r1), _column_index(c1), int(r2), _column_index(c2)))
                last = m.end()
            tail = chunk[max(last, len(chunk) - 200):]
    return merges


def _detail(exc: Exception, path: Path) -> str:
    """A library's error text without the server-side path of the file."""
    return str(exc).replace(str(path), path.name).replace(str(path.parent), "")[:200]


def _xlsx_rows(path: Path, sheet, attrs: dict):
    import openpyxl

    name = path.name
    not_workbook = ("the file is not a readable Excel workbook (.xlsx)",
                    "该文件不是可读的 Excel 工作簿（.xlsx）")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, EOFError, zlib.error,
            ElementTree.ParseError, IndexError, AttributeError) as exc:
        raise _unreadable(name, f"{not_workbook[0]}: {_detail(exc, path)}",
                              f"{not_workbook[1]}：{_detail(exc, path)}") from None
    try:
        names = wb.sheetnames
        if not names:
            raise _unreadable(name, f"{not_workbook[0]}: it has no worksheet", f"{not_workbook[1]}：没有工作表")
        if sheet is None:
            ws = wb[names[0]]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise _unreadable(name, f"no sheet number {sheet}; sheets are {names}",
                                  f"没有第 {sheet} 个工作表；工作表有 {names}")
            ws = wb[names[sheet]]
        elif sheet in names:
            ws = wb[sheet]
        else:
            raise _unreadable(name, f"no sheet named {sheet!r}; sheets are {names}",
                              f"没有名为 {sheet!r} 的工作表；工作表有 {names}")
        attrs["sheet"] = ws.title
        member = getattr(ws, "_worksheet_path", None)
        try:
            if member:
                attrs["merges"] = _xlsx_merges(path, member)
            # read_only sheets may not know their dimensions; min_row=1 keeps the
            # numbering aligned with what Excel shows even when row 1 is blank.
            for number, r in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
                yield number, [_cell_text(v) for v in r]
        except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError, EOFError, zlib.error,
                ElementTree.ParseError, AttributeError, IndexError) as exc:
            # A damaged sheet (truncated XML, an entity bomb...) fails while streaming.
            raise _unreadable(name, f"{not_workbook[0]}: {_detail(exc, path)}",
                              f"{not_workbook[1]}：{_detail(exc, path)}") from None
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


def _join(upper: str, lower: str) -> str:
    """Two header levels as one name: "苹果" + "产量(吨)" → "苹果产量(吨)"; "Pop" + "male" → "Pop male"."""
    cjk = re.search(r"[\u3400-\u9fff]", upper[-1:] + lower[:1])
    return f"{upper}{lower}" if cjk else f"{upper} {lower}"


def _header_names(upper: list | None, lower: list, header_score) -> list:
    """Column names from one header row, or from a group row above a sub-header row.

    A cell merged over both rows (or a group without sub-headers) keeps the upper name;
    a sub-header keeps its own name when that is recognised (or unique), otherwise the
    group name is joined in front ("人口" over "男"/"女" → "人口男", "人口女").
    """
    if upper is None:
        return list(lower)
    width = len(lower)
    group, current = [], None
    for j in range(width):
        if upper[j] is not None:
            current = upper[j]
        elif lower[j] is None:
            current = None
        group.append(current)
    counts: dict = {}
    for v in lower:
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    names = []
    for j in range(width):
        u, l_ = upper[j], lower[j]
        if l_ is None:
            names.append(u)
            continue
        g = group[j]
        if g is None or g == l_:
            names.append(l_)
            continue
        joined = _join(g, l_)
        if counts[l_] > 1:
            names.append(joined)
        elif header_score is not None and not header_score([l_]) and header_score([joined]):
            names.append(joined)
        else:
            names.append(l_)
    return names


def _group_like(row: list) -> bool:
    cells = [v for v in row if v is not None]
    return len(cells) >= 2 and not any(re.search(r"[:：]", v) for v in cells)


def _choose_header(head: list[list], numbers: list[int], merges, header_score):
    """Index in ``head`` of the header's last row and the column names."""
    filled = [sum(v is not None for v in r) for r in head]
    candidates = [i for i, n in enumerate(filled) if n > 0]
    header_i = candidates[0]
    window = candidates[:_MAX_TITLE_ROWS + 1]
    if filled[header_i] == 1 and any(filled[i] >= 2 for i in window):
        header_i = next(i for i in window if filled[i] >= 2)

    def score(cells):
        cells = [c for c in cells if c is not None]
        if header_score is not None:
            return header_score(cells)
        return len(set(cells))

    options = {(None, header_i): score(head[header_i])}
    if header_score is not None:
        # Spreadsheets often put a title and a group row ("基本信息 | 规模") above the real
        # header: let the caller say which of the first rows looks most like its header.
        for i in window[:6]:
            options[(None, i)] = score(head[i])
    vertical = {(r1, c1) for r1, c1, r2, c2 in merges if r2 > r1}
    for i in window[:6]:
        up = i - 1
        if up < 0 or filled[up] == 0:
            continue
        merged_down = any((numbers[up], c) in vertical for c in range(len(head[up])))
        if not (merged_down or _group_like(head[up])):
            continue
        names = _header_names(head[up], head[i], header_score)
        options[(up, i)] = score(names)
    best = max(options, key=lambda k: (options[k], k[0] is None, -k[1]))
    if options[best] <= options[(None, header_i)]:
        best = (None, header_i)
    up, i = best
    names = _header_names(head[up] if up is not None else None, head[i], header_score)
    return i, names


_UNITS_ROW_RE = re.compile(
    r"^[（(]?(单位[:：])?(人|户|元|万元|亿元|吨|万吨|吨/年|亩|万亩|公顷|平方米|㎡|平方公里|km²|公里|千米|km|米|m|%|‰|个|处|座|"
    r"间|辆|家|台|头|只|kg|公斤|千克|元/人|°|度|年|km/h|立方米|m³)[）)]?$", re.I)


def _units_row(row: list) -> bool:
    cells = [v for v in row if v is not None]
    return len(cells) >= 2 and all(_UNITS_ROW_RE.match(unicodedata.normalize("NFKC", v).replace(" ", "")) for v in cells)


def _skip_reason(row: list) -> tuple[str, str] | None:
    """("total" | "note", the text) for a total/subtotal or note/signature row."""
    cells = [(j, v) for j, v in enumerate(row) if v is not None]
    if not cells:
        return None
    j, first = cells[0]
    text = unicodedata.normalize("NFKC", first).replace(" ", "")
    if j <= 3 and _TOTAL_RE.match(text):
        return "total", first
    if _NOTE_RE.match(text):
        return "note", first
    return None


def _frame_from_rows(rows, header_score=None, *, merges=(), file=None, problems=None) -> pd.DataFrame:
    """A text frame from ``(row_number, cells)`` pairs; see :func:`read_table`."""
    state: dict = {}
    chunks = list(_chunks_from_rows(rows, header_score, merges=merges, file=file, problems=problems, state=state))
    if "columns" not in state:
        return pd.DataFrame(index=pd.Index([], name="row", dtype="int64"))
    columns, names = state["columns"], state["names"]
    if not chunks:
        return pd.DataFrame({c: pd.Series([], dtype=_TEXT_DTYPE) for c in columns},
                            index=pd.Index([], name="row", dtype="int64"))
    for c in chunks:  # columns found beyond the header after a chunk was made
        for col in columns[len(c.columns):]:
            c[col] = pd.Series(pd.NA, index=c.index, dtype=_TEXT_DTYPE)
    df = chunks[0] if len(chunks) == 1 else pd.concat(chunks)
    # Columns that are blank in the header and everywhere below are phantom Excel columns.
    blank = [c for c, raw in zip(columns, names + [None] * (len(columns) - len(names)))
             if raw is None and df[c].isna().all()]
    return df.drop(columns=blank)


def _chunks_from_rows(rows, header_score=None, *, merges=(), file=None, problems=None, state=None,
                      chunk_rows=_CHUNK_ROWS):
    """Text frames of at most ``chunk_rows`` body rows, in order, from ``(row_number, cells)``
    pairs; ``state`` gets ``columns`` (grown when data appear beyond the header) and the
    header ``names``. Problems are appended to ``problems`` as the rows are read."""
    problems = problems if problems is not None else []
    state = state if state is not None else {}
    rows = iter(rows)
    head: list[list] = []
    numbers: list[int] = []
    # The header is among the first non-blank rows (titles above it are skipped).
    for number, r in rows:
        r = [_clean(v) for v in r]
        if not any(v is not None for v in r):
            continue
        head.append(r)
        numbers.append(number)
        if len(head) >= _MAX_TITLE_ROWS + 3:
            break
    if not head:
        return
    width = max(len(r) for r in head)
    head = [r + [None] * (width - len(r)) for r in head]
    header_i, names = _choose_header(head, numbers, merges, header_score)
    if header_i + 1 < len(head) and _units_row(head[header_i + 1]):
        # a row of units under the header ("人 | 户 | 元"): the units join the names
        units = head[header_i + 1]
        names = [n if u is None or n is None else f"{n}({u.strip('()（）')})"
                 for n, u in zip(names, units + [None] * (len(names) - len(units)))]
        header_i += 1
    # Drop trailing header columns that are blank (phantom Excel columns) but keep
    # any column that has data below (it gets a columnN name).
    columns = _unique_names(names)
    state.update(columns=columns, names=names)
    body_vertical = [m for m in merges if m[2] > m[0] and m[2] > numbers[header_i]]

    def body():
        for number, r in zip(numbers[header_i + 1:], head[header_i + 1:]):
            yield number, r
        for number, r in rows:
            yield number, [_clean(v) for v in r]

    buf_rows: list[int] = []
    buf: list[list] = []
    carried: dict = {}  # vertically merged body cells: (row, col) -> value of the range's top cell
    total_width = len(columns)

    def flush():
        data = {c: [r[j] if j < len(r) else None for r in buf] for j, c in enumerate(columns)}
        chunk = pd.DataFrame(data, index=pd.Index(buf_rows, name="row", dtype="int64"), dtype=_TEXT_DTYPE)
        _report_control_characters(chunk, file, problems)
        buf.clear()
        buf_rows.clear()
        return chunk

    for number, r in body():
        if body_vertical:
            for r1, c1, r2, c2 in body_vertical:
                if number == r1 and c1 < len(r) and r[c1] is not None:
                    for rr in range(r1 + 1, r2 + 1):
                        for cc in range(c1, c2 + 1):
                            carried[(rr, cc)] = r[c1]
            for (rr, cc) in [k for k in carried if k[0] == number]:
                value = carried.pop((rr, cc))
                if cc < len(r) and r[cc] is None:
                    r[cc] = value
        if not any(v is not None for v in r):
            continue
        if len(r) > total_width:
            extra = [v for v in r[total_width:] if v is not None]
            if extra:
                # data beyond the header: give those columns names instead of losing them
                for j in range(total_width, len(r)):
                    columns.append(f"column{j + 1}")
                total_width = len(columns)
        skip = _skip_reason(r)
        if skip is not None:
            kind, text = skip
            if kind == "total":
                problems.append(warning("total_row_skipped", N_("total row “{value}” skipped (not a record)"),
                                        params={"value": text[:60]}, file=file, row=number))
            else:
                problems.append(warning("note_row_skipped", N_("note row “{value}” skipped (not a record)"),
                                        params={"value": text[:60]}, file=file, row=number))
            continue
        buf_rows.append(number)
        buf.append(r)
        if len(buf) >= chunk_rows:
            yield flush()
    if buf:
        yield flush()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _report_control_characters(chunk: pd.DataFrame, file, problems: list) -> None:
    """A NUL (or other control) character in a cell: an error naming row and column.

    GDAL and SQLite cut C strings at NUL, so "空\\0字节村" would be stored as "空".
    """
    for col in chunk.columns:
        values = chunk[col]
        hits = values.str.contains(_CONTROL.pattern, regex=True, na=False)
        if not hits.any():
            continue
        found = values[hits]
        numbers = found.index.to_numpy()
        add_limited(problems, np.arange(len(found)), lambda k, found=found, numbers=numbers, col=col: error(
            "control_character",
            N_("the cell contains an invisible control character ({char}); a NUL byte would cut the text "
               "short — remove it and save again"),
            params={"char": repr(_CONTROL.search(found.iloc[k]).group())[1:-1],
                    "value": found.iloc[k].replace("\x00", "\ufffd")},
            file=file, row=int(numbers[k]), field=str(col)),
            code="control_character", file=file, field=str(col), rows=numbers)


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
        (ties: the first), so title and group rows above it are skipped; a group
        row above the header (merged multi-row headers) is combined with it when
        that scores better.

    Returns
    -------
    pandas.DataFrame
        String columns named after the header row (stripped); empty cells are
        NA. The index holds the row number as the user sees it (see module
        docstring). ``df.attrs`` records ``file``, for text files ``encoding`` and
        ``delimiter``, and ``problems``: :class:`~geo.report.Problem` records for
        rows skipped as totals/notes (warnings), cells with control characters such
        as NUL (errors) and lines in a second encoding (warnings).

    Raises
    ------
    UnreadableTable
        (a ``ValueError``) naming the file, when it does not exist, has an
        unsupported type or cannot be decoded/parsed (a damaged workbook too).

    Notes
    -----
    Text encodings tried: UTF-16 (only with a BOM), UTF-8 (with or without
    BOM), then GB18030 (superset of GBK/GB2312), line by line when a file mixes
    the two. Merged cells are expanded: a header cell merged over two rows keeps
    its name, a value merged down several body rows (a town over its villages)
    fills each of them. Rows are converted to columns in chunks, so memory grows
    with the compact string columns, not with Python lists of cells.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        hint = " (save .xls files as .xlsx)" if suffix == ".xls" else ""
        hint_zh = "（请将 .xls 另存为 .xlsx）" if suffix == ".xls" else ""
        raise _unreadable(path.name, f"unsupported table type {suffix or '(none)'!r}{hint}; "
                                     f"use one of {', '.join(TABLE_SUFFIXES)}",
                          f"不支持的表格类型 {suffix or '（无）'}{hint_zh}；请使用 {', '.join(TABLE_SUFFIXES)}")
    if not path.is_file():
        raise _unreadable(path.name, f"file not found ({path})", "文件不存在")
    attrs: dict = {}
    problems: list[Problem] = []
    if suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path, sheet, attrs)
    else:
        rows = _csv_rows(path, attrs, problems)
    # generators: the first row read fills attrs (sheet, merges, encoding)
    first = next(rows, None)
    all_rows = rows if first is None else _chain([first], rows)
    df = _frame_from_rows(all_rows, header_score, merges=attrs.pop("merges", ()), file=path.name,
                          problems=problems)
    df.attrs.update(attrs, file=path.name, problems=problems)
    return df


def read_csv_chunks(path, *, header_score=None, chunk_rows: int = 200_000):
    """A CSV/TXT file as :func:`read_table` reads it, in frames of at most ``chunk_rows`` rows.

    For checking a file too large to hold at once: the header is found once, each frame
    has the same columns (columns that only appear further down are added to the frames
    after them) and the row numbers as index; ``attrs["problems"]`` holds the reading
    problems found since the previous frame. Memory grows with ``chunk_rows``, not with
    the file. Phantom blank columns are dropped per frame.

    Raises
    ------
    UnreadableTable
        As :func:`read_table`, and for a file that is not CSV/TXT.
    """
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".txt"):
        raise _unreadable(path.name, "only CSV/TXT files are read in chunks", "只有 CSV/TXT 文件可以分块读取")
    if not path.is_file():
        raise _unreadable(path.name, f"file not found ({path})", "文件不存在")
    attrs: dict = {}
    problems: list[Problem] = []
    rows = _csv_rows(path, attrs, problems)
    first = next(rows, None)
    all_rows = rows if first is None else _chain([first], rows)
    state: dict = {}
    for chunk in _chunks_from_rows(all_rows, header_score, file=path.name, problems=problems, state=state,
                                   chunk_rows=chunk_rows):
        names = state["names"]
        blank = [c for c, raw in zip(chunk.columns, names + [None] * (len(chunk.columns) - len(names)))
                 if raw is None and chunk[c].isna().all()]
        chunk = chunk.drop(columns=blank)
        chunk.attrs.update(attrs, file=path.name, problems=list(problems))
        problems.clear()
        yield chunk
    if problems or "columns" not in state:  # rows skipped after the last record, or no records
        empty = pd.DataFrame({c: pd.Series([], dtype=_TEXT_DTYPE) for c in state.get("columns", [])},
                             index=pd.Index([], name="row", dtype="int64"))
        empty.attrs.update(attrs, file=path.name, problems=list(problems))
        yield empty


def _chain(first, rest):
    yield from first
    yield from rest


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


_PAIR_NAMES = ("经纬度", "经纬度坐标", "坐标", "lnglat", "lonlat", "lng,lat", "lon,lat", "经度,纬度", "经度纬度",
               "location", "coordinates", "坐标(经度,纬度)")
_PAIR_SPLIT = re.compile(r"\s*[,;，；、/]\s*")


def split_lonlat_column(df: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, str]] | None:
    """A single "经纬度" column holding ``"111.2216,35.3533"`` split into two columns.

    The pair may be separated by a comma, semicolon, slash or 、 (ASCII or full-width:
    ``111.2216，35.3533``) or, for plain numbers, by spaces; each half may use any notation
    :func:`geo.coords.parse_angle` reads. Returns the frame with two added text columns
    (named ``"<column>·经度"``/``"<column>·纬度"``) and their names, or None when there
    is no such column.
    """
    normal = {c: _normalise_name(c) for c in df.columns}
    wanted = {_normalise_name(n) for n in _PAIR_NAMES}
    col = next((c for c in df.columns if normal[c] in wanted), None)
    if col is None:
        return None
    firsts, seconds = [], []
    for v in df[col].tolist():
        if _isna(v):
            firsts.append(None)
            seconds.append(None)
            continue
        text = unicodedata.normalize("NFKC", str(v)).strip().strip("()[]")
        parts = _PAIR_SPLIT.split(text)
        if len(parts) != 2:
            tokens = text.split()
            parts = tokens if len(tokens) == 2 and all(re.fullmatch(r"[-+]?\d+(\.\d+)?", t) for t in tokens) else None
        if parts is None:
            firsts.append(text)  # reported as not a coordinate, with the whole cell
            seconds.append(text)
        else:
            firsts.append(parts[0])
            seconds.append(parts[1])
    x_col, y_col = f"{col}·经度", f"{col}·纬度"
    out = df.copy()
    out[x_col] = pd.Series(firsts, index=df.index, dtype=object)
    out[y_col] = pd.Series(seconds, index=df.index, dtype=object)
    return out.drop(columns=[col]), (x_col, y_col)


# --------------------------------------------------------------------------
# Points
# --------------------------------------------------------------------------

def _to_number(values: pd.Series, *, angles: bool = False):
    """Parse a column to floats; returns (numbers, missing_mask, hemispheres).

    With ``angles``, cells that are not plain decimals are read as degree notations
    (度分秒, degree sign, hemisphere letters; see :mod:`geo.coords`).
    """
    n = len(values)
    hemis = np.full(n, None, dtype=object)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        nums = np.array(values.to_numpy(dtype=float, na_value=np.nan), dtype=float)
        return nums, np.isnan(nums), hemis
    text = [None if _isna(v) else unicodedata.normalize("NFKC", str(v)).strip()
            for v in values.to_numpy(dtype=object)]
    missing = np.array([v is None or v == "" for v in text], dtype=bool)
    nums = np.array(pd.to_numeric(pd.Series([None if m else v for v, m in zip(text, missing)],
                                            dtype=object), errors="coerce"), dtype=float)
    # "inf"/"nan" parse as numbers but are not coordinates
    nums[~np.isfinite(nums)] = np.nan
    if angles:
        for i in np.flatnonzero(~missing & np.isnan(nums)):
            parsed = parse_angle(text[i])
            if parsed is not None:
                nums[i], hemis[i] = parsed
    return nums, missing, hemis


def _isna(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _raw(value) -> str:
    return "" if _isna(value) else str(value)


def _survey_problem(x, y, *, crs, geographic, x_col, y_col, file):
    """One file-level problem when the columns hold Gauss–Krüger metres the CRS does not fit."""
    guess = looks_like_gauss_kruger(x, y)
    if guess is None:
        return None
    if guess.epsg is not None:
        hint = f"EPSG:{guess.epsg}"
        zone = f"{guess.zone} ({guess.zone_width}°)"
    else:
        # Without the zone prefix the zone (central meridian) cannot be read from the numbers.
        hint = "EPSG:4534–4554 (CGCS2000 3° zones, by central meridian)"
        zone = "?"
    params = {"x_column": x_col, "y_column": y_col, "zone": zone, "hint": hint}
    if geographic and guess.northing_first:
        return error(
            "coord_projected",
            N_("the values in {x_column}/{y_column} look like projected Gauss–Krüger metres (northing first, zone "
               "{zone}), not longitude/latitude: give the coordinate system, e.g. --crs {hint}, and put the "
               "easting (survey Y) in the first coordinate column"),
            params=params, file=file, field=x_col)
    if geographic:
        return error(
            "coord_projected",
            N_("the values in {x_column}/{y_column} look like projected Gauss–Krüger metres (easting first, zone "
               "{zone}), not longitude/latitude: give the coordinate system, e.g. --crs {hint}"),
            params=params, file=file, field=x_col)
    if guess.northing_first:
        return error(
            "coord_northing_first",
            N_("{x_column} holds northings and {y_column} eastings (survey X/Y, northing first): "
               "name the columns so the easting comes first (e.g. 东坐标/北坐标) or swap them; "
               "they are never swapped silently"),
            params={"x_column": x_col, "y_column": y_col}, file=file, field=x_col)
    return None


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
    geographic = is_geographic(crs)
    x, x_missing, x_hemi = _to_number(df[x_col], angles=geographic)
    y, y_missing, y_hemi = _to_number(df[y_col], angles=geographic)
    survey = _survey_problem(x, y, crs=crs, geographic=geographic, x_col=x_col, y_col=y_col, file=file)
    if survey is not None:
        return frame(), [survey]
    x_raw = df[x_col].to_numpy(dtype=object)
    y_raw = df[y_col].to_numpy(dtype=object)
    bad = np.zeros(n, dtype=bool)
    per_row: dict[int, list[Problem]] = {}
    listed: dict[str, int] = {}
    unlisted: dict[tuple, list[int]] = {}  # (code, severity, field) -> rows counted, not listed

    def add(i, p):
        if p.is_error:
            bad[i] = True
        if listed.get(p.code, 0) < MAX_LISTED:
            listed[p.code] = listed.get(p.code, 0) + 1
            per_row.setdefault(i, []).append(p)
        else:
            unlisted.setdefault((p.code, p.severity, p.field), []).append(int(rows[i]))

    for col, nums, missing, raw in ((x_col, x, x_missing, x_raw), (y_col, y, y_missing, y_raw)):
        for i in np.flatnonzero(missing):
            add(i, error("coord_missing", N_("{column} is empty; a coordinate is required"),
                         params={"column": col}, file=file, row=int(rows[i]), field=col))
        for i in np.flatnonzero(~missing & np.isnan(nums)):
            add(i, error("coord_not_numeric", N_("{column} value “{value}” is not a number"),
                         params={"column": col, "value": _raw(raw[i])},
                         file=file, row=int(rows[i]), field=col))

    # A hemisphere letter in the wrong column (N in the longitude column) is a swap.
    for col, hemi, raw, wrong in ((x_col, x_hemi, x_raw, ("N", "S")), (y_col, y_hemi, y_raw, ("E", "W"))):
        for i in np.flatnonzero(np.isin(hemi.astype(str), wrong) & ~bad):
            add(i, error(
                "coord_hemisphere",
                N_("{column} value “{value}” names hemisphere {hemisphere}, which belongs to the other "
                   "coordinate; check the {x_column} and {y_column} columns"),
                params={"column": col, "value": _raw(raw[i]), "hemisphere": hemi[i],
                        "x_column": x_col, "y_column": y_col},
                file=file, row=int(rows[i]), field=col))

    ok = ~bad
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
    for i in sorted(per_row):
        problems.extend(per_row[i])
    for (code, severity, field), more_rows in unlisted.items():
        problems.append(Problem(severity, MORE, N_("{more} more problems of kind {kind} are not listed ({total} in all)"),
                                params={"kind": code, "more": len(more_rows), "total": len(more_rows) + MAX_LISTED,
                                        "rows": np.asarray(more_rows, dtype="int64")}, file=file, field=field))
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


def write_csv(frame: pd.DataFrame, target, *, unit_from: dict[str, str] | None = None, **options) -> None:
    """Write ``frame`` as CSV (UTF-8 with BOM for Excel, no index) with formula-leading
    text cells escaped (:func:`escape_formula_cells`) and numbers at their unit's precision
    (:func:`geo.numbers.round_frame`: ``213.6``, not ``213.60000000000002``; ``unit_from``
    names, for a long table, the column giving each row's quantity); every CSV the app
    writes from data goes through here. ``options`` go to :meth:`pandas.DataFrame.to_csv`."""
    from geo.numbers import round_frame

    frame = round_frame(frame, unit_from=unit_from)
    # CRLF line ends (RFC 4180) also make the writer quote a cell holding a bare CR,
    # which with "\n" it wrote raw, splitting the row for every reader.
    options = {"index": False, "encoding": "utf-8-sig", "lineterminator": "\r\n", **options}
    escape_formula_cells(frame).to_csv(target, **options)
