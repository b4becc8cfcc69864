"""The project library (项目库) as the county keeps it in Excel: export and bulk import.

One row per project, with the columns of the county's 项目库 and 公示 tables (项目名称、
建设性质、建设地点、建设内容及规模、资金来源及规模、实施期限、责任单位、绩效目标、联农带农机制),
plus what the library needs to place and route each project: level, town, village,
category, investment (万元), year, status and the site. Headers are read in Chinese or
English (the export's own, with or without units); choices by code, label or synonym.

:func:`import_library` checks every row first and reports each problem by file, row (as
Excel numbers it) and column, like layer imports (:class:`geo.report.Problem`); with any
error nothing is written. Rows whose 项目编号 is already in the library are left alone when
they are the same, and are errors when they differ (the library is edited through the
review, not overwritten by a spreadsheet). Statuses other than 草稿 are recorded as one
``import`` step in the history, by the importing user.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely

from geo.report import N_, HasProblems, Problem, error
from geo.tables import read_table, row_numbers

from . import proposals as P
from .errors import FieldMessage, ProposalInvalid

#: (key, Chinese header, English header), in the export's order. Keys are proposal fields
#: except ``fund`` (资金来源及规模: source label, note and amount as one text), ``location``
#: (建设地点: town and village, written for people, not read back), ``lon``/``lat`` and ``wkt``.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ref", "项目编号", "Project no."),
    ("name", "项目名称", "Project name"),
    ("level", "申报层级", "Proposal level"),
    ("category", "项目类别", "Category"),
    ("town", "乡镇", "Town"),
    ("village_name", "村", "Village"),
    ("village_code", "村代码", "Village code"),
    ("construction_type", "建设性质", "Type of construction"),
    ("location", "建设地点", "Location"),
    ("content", "建设内容及规模", "Construction content and scale"),
    ("fund", "资金来源及规模", "Fund source and amount"),
    ("budget_wan", "投资（万元）", "Investment (10k CNY)"),
    ("period", "实施期限", "Implementation period"),
    ("responsible_unit", "责任单位", "Responsible unit"),
    ("performance_targets", "绩效目标", "Performance targets"),
    ("farmer_links", "联农带农方式", "Link to farmers"),
    ("farmer_link_note", "联农带农机制", "Link to farmers (details)"),
    ("commodities", "相关产品", "Commodities served"),
    ("beneficiary_villages", "受益村代码", "Beneficiary village codes"),
    ("beneficiary_households", "受益户数", "Beneficiary households"),
    ("beneficiary_monitored", "其中监测户", "of which monitored households"),
    ("expected_jobs", "带动就业（人）", "Expected jobs"),
    ("year", "年度", "Year"),
    ("status", "状态", "Status"),
    ("lon", "经度", "Longitude"),
    ("lat", "纬度", "Latitude"),
    ("wkt", "位置（WKT）", "Location (WKT)"),
)
#: Other headers county sheets use for the same columns.
ALIASES = {
    "ref": ("编号", "项目库编号", "入库编号"), "name": ("项目", "名称"), "category": ("类别", "项目类型"),
    "town": ("乡镇（街道）", "所属乡镇", "镇"), "village_name": ("行政村", "村名", "申报村", "实施村"),
    "village_code": ("申报村代码", "村统计代码"), "content": ("建设内容", "建设内容及规模（主要建设内容）"),
    "budget_wan": ("投资", "投资规模", "总投资", "投资规模（万元）", "资金规模（万元）", "规模（万元）"),
    "fund": ("资金来源",), "farmer_link_note": ("联农带农", "利益联结机制"), "year": ("计划年度", "实施年度"),
    "status": ("项目状态",), "wkt": ("位置", "WKT"),
}
SHEET = "项目库"
#: Keys whose cells hold lists (、-separated in the sheet).
_LISTS = {"farmer_links": P.FARMER_LINKS, "commodities": P.get_field("commodities").choices,
          "beneficiary_villages": None}
_FUND_AMOUNT = re.compile(r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*万元")


def _norm(text) -> str:
    text = re.sub(r"\s|_|:|：", "", str(text or "")).lower()
    return text.replace("（", "(").replace("）", ")")


def _header_lookup() -> dict[str, str]:
    out = {}
    for key, zh, en in COLUMNS:
        for name in (key, zh, en, *ALIASES.get(key, ())):
            out.setdefault(_norm(name), key)
            out.setdefault(re.sub(r"\(.*?\)$", "", _norm(name)), key)
    return out


_LOOKUP = _header_lookup()


def _header_score(cells) -> int:
    return sum(1 for c in cells if c is not None and _LOOKUP.get(_norm(c)))


def _label(choices, value) -> str:
    c = P.choice_of(choices, value)
    return c.zh if c else str(value or "")


# --------------------------------------------------------------------------- export
def _fund_text(p: P.Proposal) -> str:
    source = _label(P.FUND_SOURCES, p.fund_source) + (f"（{p.fund_note}）" if p.fund_note else "")
    return f"{source} {_number(p.budget_wan)}万元"


def _number(value) -> str:
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def library_rows(proposals) -> list[dict[str, Any]]:
    """One dict per proposal keyed by :data:`COLUMNS` keys, cells as the sheet shows them."""
    rows = []
    for p in proposals:
        pt = shapely.point_on_surface(p.geometry)
        rows.append({
            "ref": p.ref or f"RP-{p.id}", "name": p.name, "level": _label(P.LEVELS, p.level),
            "category": _label(P.CATEGORIES, p.category), "town": p.town or "", "village_name": p.village_name or "",
            "village_code": p.village_code or "",
            "construction_type": _label(P.CONSTRUCTION_TYPES, p.construction_type),
            "location": f"{p.town or ''}{p.village_name or ''}", "content": p.content, "fund": _fund_text(p),
            "budget_wan": float(p.budget_wan), "period": p.period or "", "responsible_unit": p.responsible_unit or "",
            "performance_targets": p.performance_targets or "",
            "farmer_links": "、".join(_label(P.FARMER_LINKS, v) for v in p.farmer_links),
            "farmer_link_note": p.farmer_link_note or "",
            "commodities": "、".join(_label(_LISTS["commodities"], v) for v in p.commodities),
            "beneficiary_villages": "、".join(p.beneficiary_villages),
            "beneficiary_households": int(p.beneficiary_households),
            "beneficiary_monitored": int(p.beneficiary_monitored),
            "expected_jobs": int(p.expected_jobs), "year": "" if p.year is None else int(p.year),
            "status": _label(P.STATUSES, p.status), "lon": round(pt.x, 6), "lat": round(pt.y, 6),
            "wkt": p.geometry_wkt,
        })
    return rows


def write_library_xlsx(proposals, target, *, lang: str = "zh") -> None:
    """The project library as the county's Excel (one sheet, frozen header, text cells as text)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    sheet = wb.active
    sheet.title = SHEET
    english = str(lang).startswith("en")
    sheet.append([en if english else zh for _k, zh, en in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    keys = [k for k, *_ in COLUMNS]
    for row in library_rows(proposals):
        sheet.append([row[k] for k in keys])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text that looks like a formula stays text
    sheet.freeze_panes = "C2"
    for i, (key, *_rest) in enumerate(COLUMNS, start=1):
        width = 28 if key in ("content", "performance_targets", "farmer_link_note", "wkt", "fund") else 12
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = width
    wb.save(target)


# --------------------------------------------------------------------------- import
@dataclass(frozen=True)
class LibraryImport(HasProblems):
    """What :func:`import_library` did (or found): the report and the counts."""

    file: str
    problems: tuple[Problem, ...]
    written: bool
    added: int = 0
    unchanged: int = 0
    ids: tuple[int, ...] = field(default=())

    def to_dict(self) -> dict:
        return {"file": self.file, "written": self.written, "added": self.added, "unchanged": self.unchanged,
                "ids": list(self.ids), "errors": len(self.errors), "warnings": len(self.warnings),
                "problems": [p.to_dict() for p in self.problems]}


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()


def _choice(choices, text: str):
    text = str(text).strip()
    for c in choices:
        if text in (c.value, c.zh, c.en, *c.synonyms):
            return c.value
    raise ValueError(text)


def _row_data(cells: dict[str, Any], fail) -> dict[str, Any]:
    """A sheet row (by key) → the dict :func:`layers.proposals.create_proposal` reads; ``fail(key, msg, **params)``."""
    data: dict[str, Any] = {}
    for key in ("name", "town", "village_name", "village_code", "content", "period", "responsible_unit",
                "performance_targets", "farmer_link_note", "budget_wan", "beneficiary_households",
                "beneficiary_monitored", "expected_jobs", "year"):
        if not _blank(cells.get(key)):
            data[key] = str(cells[key]).strip()
    for key, choices in (("level", P.LEVELS), ("category", P.CATEGORIES), ("construction_type", P.CONSTRUCTION_TYPES),
                         ("status", P.STATUSES)):
        if not _blank(cells.get(key)):
            try:
                data[key] = _choice(choices, cells[key])
            except ValueError:
                fail(key, N_("unknown value {value}; expected one of {allowed}"), value=str(cells[key]).strip(),
                     allowed="、".join(c.zh for c in choices))
    for key, choices in _LISTS.items():
        if _blank(cells.get(key)):
            continue
        items = [t.strip() for t in re.split(r"[、,，;；\n]", str(cells[key])) if t.strip()]
        if choices is None:
            data[key] = items
            continue
        values = []
        for item in items:
            try:
                values.append(_choice(choices, item))
            except ValueError:
                fail(key, N_("unknown value {value}; expected one of {allowed}"), value=item,
                     allowed="、".join(c.zh for c in choices))
        data[key] = values
    fund = "" if _blank(cells.get("fund")) else str(cells["fund"]).strip()
    if fund:
        found = [(fund.find(word), c.value) for c in P.FUND_SOURCES for word in (c.zh, *c.synonyms) if word in fund]
        if found:
            data["fund_source"] = min(found)[1]
        else:
            fail("fund", N_("no fund source named in {value}; expected one of {allowed}"), value=fund,
                 allowed="、".join(c.zh for c in P.FUND_SOURCES))
        note = re.search(r"[（(](.*)[）)]", fund)
        if note:
            data["fund_note"] = note.group(1).strip()
        amount = _FUND_AMOUNT.search(fund)
        if "budget_wan" not in data and amount:
            data["budget_wan"] = amount.group(1).replace(",", "")
    if not _blank(cells.get("wkt")):
        data["geometry"] = str(cells["wkt"]).strip()
    elif not _blank(cells.get("lon")) or not _blank(cells.get("lat")):
        data["geometry"] = f"{cells.get('lon') or ''},{cells.get('lat') or ''}"
    if data.get("village_code") and "village_name" in data:
        data.pop("village_name")  # the code decides; the name follows it
    data.setdefault("level", "village")
    return data


def _same(p: P.Proposal, cleaned: dict[str, Any], status: str) -> str | None:
    """The first field where the stored proposal differs from a cleaned row (None: the same)."""
    stored = p.to_dict(geometry="wkt")
    for key, value in cleaned.items():
        have = stored.get(key)
        if key == "geometry_wkt":
            if not shapely.wkt.loads(have).equals_exact(shapely.wkt.loads(value), 1e-6):
                return "wkt"
            continue
        if isinstance(have, list) or isinstance(value, list):
            if list(have or []) != list(value or []):
                return key
        elif (have in (None, "") and value in (None, "")) or have == value:
            continue
        elif isinstance(have, (int, float)) and isinstance(value, (int, float)) and abs(have - value) < 1e-9:
            continue
        else:
            return key
    return None if status == p.status else "status"


def import_library(ws, path, *, created_by: str, display_name: str | None = None) -> LibraryImport:
    """Import the county's project-library Excel/CSV: every row checked, all or nothing.

    Parameters
    ----------
    ws : layers.store.Workspace
    path : str or os.PathLike
        ``.xlsx``/``.csv`` with the headers of :data:`COLUMNS` (Chinese or English) or
        their :data:`ALIASES`; title rows above the header are skipped.
    created_by : str
        The importing user, recorded on new proposals and their ``import`` step.
    display_name : str, optional
        The file name to report (uploads are saved under temporary names).

    Returns
    -------
    LibraryImport
        ``written`` is False when any row has an error (then nothing changed).

    Raises
    ------
    geo.tables.UnreadableTable
        The file cannot be read at all.
    """
    file = display_name or Path(path).name
    table = read_table(path, header_score=_header_score)
    problems: list[Problem] = list(table.attrs.get("problems") or [])
    columns: dict[str, str] = {}
    for col in table.columns:
        key = _LOOKUP.get(_norm(col)) or _LOOKUP.get(re.sub(r"\(.*?\)$", "", _norm(col)))
        if key and key not in columns:
            columns[key] = col
    for key in ("name", "category", "content"):
        if key not in columns:
            zh, en = next((z, e) for k, z, e in COLUMNS if k == key)
            problems.append(error("missing_column", N_("the column {column} is missing"), params={"column": zh},
                                  file=file, field=zh))
    if any(p.is_error and p.row is None for p in problems):
        return LibraryImport(file, tuple(problems), False)
    header = {key: str(col) for key, col in columns.items()}
    field_column = {"geometry": header.get("wkt") or header.get("lon") or "位置（WKT）",
                    "village_code": header.get("village_code") or header.get("village_name") or "村",
                    "fund_source": header.get("fund") or "资金来源及规模",
                    "fund_note": header.get("fund") or "资金来源及规模"}
    existing = {(p.ref or f"RP-{p.id}"): p for p in P.list_proposals(ws)}
    villages = ws.read_layer("villages")  # once, not per row
    # rows without 项目编号 are new projects; one already in the library by name, place and
    # year is the same sheet imported twice (which would double the library)
    by_name = {(p.name, p.town, p.village_code, p.year): p for p in existing.values()}
    new_rows: list[tuple[int, str, dict, str]] = []
    unchanged, seen = 0, {}
    for number, (_i, raw) in zip(row_numbers(table), table.iterrows()):
        cells = {key: raw[col] for key, col in columns.items()}
        if all(_blank(v) for v in cells.values()):
            continue
        row_problems: list[Problem] = []

        def fail(key, message, _out=row_problems, _row=int(number), **params):
            _out.append(error("invalid_value", message, params=params, file=file, row=_row,
                              field=header.get(key, key)))

        data = _row_data(cells, fail)
        status = data.pop("status", "draft")
        ref = None if _blank(cells.get("ref")) else str(cells["ref"]).strip()
        found: dict[str, str] = {}
        try:
            placed = P._placed_by_village(ws, data, data.get("village_code"), creating=True, villages=villages)
        except ProposalInvalid as exc:  # an unknown village: the other columns are still checked
            found.update(exc.errors)
            placed = {k: v for k, v in data.items() if k not in ("village_code", "village_name")}
        try:
            cleaned = P.clean_proposal_data(placed)
        except ProposalInvalid as exc:
            for name, message in exc.errors.items():
                found.setdefault(name, message)
        if found:
            cleaned = None
            for name, message in found.items():
                column = field_column.get(name) or header.get(name) or name
                if message == "required":
                    row_problems.append(error("required", N_("required"), file=file, row=int(number), field=column))
                    continue
                if isinstance(message, FieldMessage):  # translated like every report line
                    row_problems.append(error("invalid_value", message.msgid, params=dict(message.params),
                                              file=file, row=int(number), field=column))
                    continue
                row_problems.append(error("invalid_value", N_("{detail}"), params={"detail": message}, file=file,
                                          row=int(number), field=column))
        if ref is not None and ref in seen:
            fail("ref", N_("{value} is also in row {other}"), value=ref, other=seen[ref])
        if ref is not None:
            seen.setdefault(ref, int(number))
        if cleaned is not None and ref in existing and not row_problems:
            differs = _same(existing[ref], cleaned, status)
            if differs is None:
                unchanged += 1
                continue
            fail(differs if differs in header else "ref",
                 N_("project {value} is already in the library with other values ({what}); change it there"),
                 value=ref, what=differs)
        if cleaned is not None and ref is None and not row_problems:
            twin = by_name.get((cleaned["name"], cleaned["town"], cleaned["village_code"], cleaned["year"]))
            if twin is not None:
                fail("name", N_("{value} is already in the library as {ref}; give that 项目编号 to check the row "
                                "against it, or a different name"), value=cleaned["name"],
                     ref=twin.ref or f"RP-{twin.id}")
        problems.extend(row_problems)
        if not row_problems:
            new_rows.append((int(number), ref, placed, status))
    if any(p.is_error for p in problems):
        return LibraryImport(file, tuple(problems), False, unchanged=unchanged)
    ids = []
    if new_rows:
        with ws.transaction() as con:
            for _number, ref, data, status in new_rows:
                p = P.create_proposal(ws, data, created_by=created_by, ref=ref, con=con, villages=villages)
                ids.append(p.id)
                if status != "draft":
                    con.execute("UPDATE rp_proposals SET status = ?, version = 2 WHERE id = ?", (status, p.id))
                    con.execute(
                        "INSERT INTO rp_transitions(proposal_id, actor, role, at, from_status, to_status, action,"
                        " comment, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (p.id, created_by, "import", P.utc_now(), "draft", status, "import",
                         file, 2))
    return LibraryImport(file, tuple(problems), True, added=len(ids), unchanged=unchanged, ids=tuple(ids))


__all__ = ["ALIASES", "COLUMNS", "LibraryImport", "import_library", "library_rows", "write_library_xlsx"]
