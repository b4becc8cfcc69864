"""The 公示 (public notice) of approved projects: rows for the printable page and Excel.

Laid out after the county notice templates (项目库公示表): 项目名称、项目类别、建设性质、
建设地点、建设内容及规模、资金来源及规模（万元）、实施期限、责任单位、绩效目标、
联农带农机制 (with the beneficiaries), one row per approved project, a 合计 row, the
notice period and contact, and the 落款 (issuing office and date, Beijing time).
Flask-free: the page, the Excel download and ``ruralplan notice`` share it. Labels are
Chinese, as the notice is posted in the villages.
"""
from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass

import shapely

from layers import proposals as P
from layers.workflow import APPROVED_STATUSES

from ..formatting import beijing_today, format_date_zh, to_beijing

#: The money group's header spans the fund source and amount columns.
FUND_GROUP = "资金来源及规模"

#: (key, Chinese header, column width in Excel characters, group header or None) in notice order.
COLUMNS = (
    ("no", "序号", 5, None),
    ("name", "项目名称", 18, None),
    ("category", "项目类别", 9, None),
    ("nature", "建设性质", 6, None),
    ("location", "建设地点", 18, None),
    ("content", "建设内容及规模", 28, None),
    ("fund_source", "资金来源", 10, FUND_GROUP),
    ("budget_wan", "规模（万元）", 9, FUND_GROUP),
    ("period", "实施期限", 11, None),
    ("responsible_unit", "责任单位", 12, None),
    ("performance_targets", "绩效目标", 24, None),
    ("farmer_links", "联农带农机制", 30, None),
)
#: Column index (0-based) of the amount, and how many columns the 合计 label spans.
BUDGET_INDEX = [k for k, *_ in COLUMNS].index("budget_wan")
TOTAL_LABEL_SPAN = [k for k, *_ in COLUMNS].index("fund_source")


@dataclass(frozen=True)
class NoticeRow:
    proposal_id: int
    values: dict

    def cells(self) -> list:
        return [self.values[k] for k, *_ in COLUMNS]


def header_rows() -> tuple[list[tuple[str, int, int]], list[str]]:
    """The two header rows: ``[(text, colspan, rowspan)]`` for the first, headers under a group for the second."""
    top, sub, seen = [], [], set()
    for _key, header, _w, group in COLUMNS:
        if group is None:
            top.append((header, 1, 2))
        elif group not in seen:
            seen.add(group)
            top.append((group, sum(1 for c in COLUMNS if c[3] == group), 1))
            sub.extend(c[1] for c in COLUMNS if c[3] == group)
    return top, sub


def _label(choices, value) -> str:
    c = P.choice_of(choices, value)
    return c.zh if c else str(value or "")


def notice_rows(ws, *, year: int | None = None, statuses=APPROVED_STATUSES) -> list[NoticeRow]:
    """Approved projects (county-approved, published, in progress, completed), oldest first."""
    items = sorted(P.list_proposals(ws, P.ProposalFilter(status=tuple(statuses), year=year)), key=lambda p: p.id)
    villages = ws.read_layer("villages") if items else None
    names = {} if villages is None else dict(zip(villages["code"].astype(str), villages["name"].astype(str)))
    rows = []
    for no, p in enumerate(items, start=1):
        pt = shapely.point_on_surface(p.geometry)
        # a town's project without a village stands in the town; a county project in the county
        place = f"{p.town}{p.village_name or names.get(p.village_code, p.village_code)}" if p.town else \
            str(ws.meta().get("county_name") or "全县")
        ben_names = "、".join(names.get(c, c) for c in p.beneficiary_villages)
        beneficiaries = f"受益村：{ben_names or '—'}；受益户{p.beneficiary_households}户（其中监测户{p.beneficiary_monitored}户）"
        links = "、".join(_label(P.FARMER_LINKS, v) for v in p.farmer_links)
        jobs = f"带动就业{p.expected_jobs}人" if p.expected_jobs else ""
        link_text = "；".join(t for t in (links, p.farmer_link_note or "", beneficiaries, jobs) if t)
        rows.append(NoticeRow(p.id, {
            "no": no, "name": p.name, "category": _label(P.CATEGORIES, p.category),
            "nature": _label(P.CONSTRUCTION_TYPES, p.construction_type or "new"),
            "location": f"{place}（东经{pt.x:.5f}°，北纬{pt.y:.5f}°）", "content": p.content,
            "fund_source": _label(P.FUND_SOURCES, p.fund_source) + (f"（{p.fund_note}）" if p.fund_note else ""),
            "budget_wan": round(float(p.budget_wan), 2),
            # Without a stated period the project runs in its plan year (the library is annual).
            "period": p.period or (f"{p.year}年度" if p.year else "—"),
            # Village projects are carried out under the town government (镇审核 owns them)
            # unless the proposal names another unit.
            "responsible_unit": p.responsible_unit or (P.sector_for_category(p.category) if p.level == "county"
                                                       else f"{p.town}人民政府"),
            "performance_targets": p.performance_targets or "",
            "farmer_links": link_text,
        }))
    return rows


def notice_total_wan(rows: list[NoticeRow]) -> float:
    """合计: the total investment of the rows, 万元 (rounded to 0.01)."""
    return round(sum(float(r.values["budget_wan"]) for r in rows), 2)


def notice_title(ws, year: int | None = None) -> str:
    county = ws.meta().get("county_name") or ""
    return f"{county}{year or ''}{'年度' if year else ''}巩固拓展脱贫攻坚成果和乡村振兴项目公示"


#: Days a notice stays posted when the workspace does not say otherwise (county practice: 10).
DEFAULT_NOTICE_DAYS = 10


def _published_on(ws, rows: list[NoticeRow]) -> dt.date | None:
    """The Beijing date of the latest publication among the rows (None when none is published)."""
    published = [t.at for r in rows for t in P.history(ws, r.proposal_id) if t.to_status == "published"]
    return to_beijing(max(published)).date() if published else None


def notice_footer(ws, rows: list[NoticeRow]) -> str:
    """公示期 (from the latest publication among the rows, Beijing date) and where to send comments.

    The contact comes from the workspace metadata ``notice_contact`` (office and phone);
    the period length from ``notice_days``.
    """
    meta = ws.meta()
    days = int(meta.get("notice_days") or DEFAULT_NOTICE_DAYS)
    contact = meta.get("notice_contact") or "县乡村振兴局"
    start = _published_on(ws, rows)
    if start is not None:
        end = start + dt.timedelta(days=days - 1)
        period = f"公示期：{format_date_zh(start)}至{format_date_zh(end)}（{days}天）"
    else:
        period = f"公示期：{days}天"
    return f"{period}。公示期内如有异议，请向{contact}反映。"


@dataclass(frozen=True)
class Signature:
    """落款: the issuing office and the date (Beijing), as printed under the notice."""

    office: str
    date: str


def notice_signature(ws, rows: list[NoticeRow]) -> Signature:
    """The issuing office (workspace meta ``notice_office``, else the county's 乡村振兴局) and
    the date the notice was published (latest publication among the rows), or today, in Beijing time."""
    meta = ws.meta()
    office = meta.get("notice_office") or f"{meta.get('county_name') or '县'}乡村振兴局"
    day = _published_on(ws, rows) or beijing_today()
    return Signature(str(office), format_date_zh(day))


def notice_filename(ws, year: int | None = None) -> str:
    """The download's file name: the notice title, ``.xlsx`` (Chinese; sent RFC 5987-encoded)."""
    return f"{notice_title(ws, year)}.xlsx"


def write_notice_xlsx(ws, out: str | os.PathLike | io.BytesIO, *, year: int | None = None) -> int:
    """Write the notice as a print-ready workbook; returns the project count.

    Title, two header rows (repeated on every printed page), one row per project, 合计,
    公示期 and contact, 落款. Page setup: A4 landscape, fit to one page wide.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    from geo.vector import append_rows

    rows = notice_rows(ws, year=year)
    ncol = len(COLUMNS)
    wb = Workbook()
    sheet = wb.active
    sheet.title = "项目公示"
    append_rows(sheet, [[notice_title(ws, year)]])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncol)
    sheet["A1"].font = Font(bold=True, size=16)
    sheet["A1"].alignment = Alignment(horizontal="center", vertical="center")
    sheet.row_dimensions[1].height = 30

    top, _sub = header_rows()
    first, second = [], []
    for key, header, _w, group in COLUMNS:
        first.append(group or header)
        second.append(header if group else None)
    append_rows(sheet, [first, second])
    col = 1
    for _text, colspan, rowspan in top:
        if colspan > 1 or rowspan > 1:
            sheet.merge_cells(start_row=2, start_column=col, end_row=1 + rowspan, end_column=col + colspan - 1)
        col += colspan
    data_start = 4
    append_rows(sheet, (r.cells() for r in rows))
    total_row = sheet.max_row + 1
    total = [None] * ncol
    total[0] = f"合计（{len(rows)}个项目）"
    total[BUDGET_INDEX] = notice_total_wan(rows)
    append_rows(sheet, [total])
    sheet.merge_cells(start_row=total_row, start_column=1, end_row=total_row, end_column=TOTAL_LABEL_SPAN)

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    for row in sheet.iter_rows(min_row=2, max_row=total_row, max_col=ncol):
        for cell in row:
            cell.border = box
            header = cell.row < data_start
            cell.alignment = Alignment(horizontal="center" if header or cell.column == 1 else None,
                                       vertical="center" if header else "top", wrap_text=True)
            if header or cell.row == total_row:
                cell.font = Font(bold=True)
    for r in range(data_start, total_row + 1):
        sheet.cell(row=r, column=BUDGET_INDEX + 1).number_format = "#,##0.00"

    sig = notice_signature(ws, rows)
    append_rows(sheet, [[notice_footer(ws, rows)], [], [sig.office], [sig.date]])
    footer_row = total_row + 1
    sheet.merge_cells(start_row=footer_row, start_column=1, end_row=footer_row, end_column=ncol)
    sheet.cell(row=footer_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    for r in (footer_row + 2, footer_row + 3):  # 落款, right-aligned over the right-hand columns
        sheet.merge_cells(start_row=r, start_column=ncol - 3, end_row=r, end_column=ncol)
        # the merged range keeps the value of its top-left cell: move it there
        value = sheet.cell(row=r, column=1).value
        sheet.cell(row=r, column=1).value = None
        sheet.cell(row=r, column=ncol - 3).value = value
        sheet.cell(row=r, column=ncol - 3).alignment = Alignment(horizontal="right")

    for i, (_k, _h, width, _g) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = f"C{data_start}"
    # Page setup as the county prints it: A4 landscape, one page wide, headers on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"2:{data_start - 1}"
    sheet.print_area = f"A1:{get_column_letter(ncol)}{sheet.max_row}"
    sheet.print_options.horizontalCentered = True
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.page_margins.top = sheet.page_margins.bottom = 0.5
    sheet.oddFooter.center.text = "第 &P 页，共 &N 页"
    wb.save(out)
    return len(rows)
