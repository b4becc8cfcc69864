"""The 公示 (public notice) of approved projects: rows for the printable page and Excel.

What a county notice shows (项目名称、建设地点、建设内容、资金来源及规模、绩效目标、
受益对象、联农带农机制), one row per approved project. Flask-free: the page, the Excel
download and ``ruralplan notice`` share it. Labels are Chinese, as the notice is posted
in the villages.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass

import shapely

from layers import proposals as P
from layers.workflow import APPROVED_STATUSES

#: (key, Chinese header, column width) in notice order.
COLUMNS = (
    ("no", "序号", 6),
    ("name", "项目名称", 28),
    ("category", "项目类别", 12),
    ("location", "建设地点", 30),
    ("content", "建设内容", 36),
    ("fund_source", "资金来源", 12),
    ("budget_wan", "资金规模（万元）", 12),
    ("performance_targets", "绩效目标", 30),
    ("beneficiaries", "受益对象", 30),
    ("farmer_links", "联农带农机制", 36),
    ("expected_jobs", "带动就业（人）", 10),
    ("status", "项目状态", 14),
)


@dataclass(frozen=True)
class NoticeRow:
    proposal_id: int
    values: dict

    def cells(self) -> list:
        return [self.values[k] for k, _, _ in COLUMNS]


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
        place = f"{p.town}{p.village_name or names.get(p.village_code, p.village_code)}"
        ben_names = "、".join(names.get(c, c) for c in p.beneficiary_villages)
        beneficiaries = f"受益村：{ben_names or '—'}；受益户{p.beneficiary_households}户（其中监测户{p.beneficiary_monitored}户）"
        links = "、".join(_label(P.FARMER_LINKS, v) for v in p.farmer_links)
        link_text = "；".join(t for t in (links, p.farmer_link_note or "") if t)
        rows.append(NoticeRow(p.id, {
            "no": no, "name": p.name, "category": _label(P.CATEGORIES, p.category),
            "location": f"{place}（东经{pt.x:.5f}°，北纬{pt.y:.5f}°）", "content": p.content,
            "fund_source": _label(P.FUND_SOURCES, p.fund_source) + (f"（{p.fund_note}）" if p.fund_note else ""),
            "budget_wan": round(float(p.budget_wan), 2), "performance_targets": p.performance_targets or "",
            "beneficiaries": beneficiaries, "farmer_links": link_text, "expected_jobs": p.expected_jobs,
            "status": _label(P.STATUSES, p.status),
        }))
    return rows


def notice_title(ws, year: int | None = None) -> str:
    county = ws.meta().get("county_name") or ""
    return f"{county}{year or ''}{'年度' if year else ''}巩固拓展脱贫攻坚成果和乡村振兴项目公示"


#: Days a notice stays posted when the workspace does not say otherwise (county practice: 10).
DEFAULT_NOTICE_DAYS = 10


def notice_footer(ws, rows: list[NoticeRow]) -> str:
    """公示期 (from the latest publication among the rows) and where to send comments.

    The contact comes from the workspace metadata ``notice_contact`` (office and phone);
    the period length from ``notice_days``.
    """
    import datetime as dt

    meta = ws.meta()
    days = int(meta.get("notice_days") or DEFAULT_NOTICE_DAYS)
    contact = meta.get("notice_contact") or "县乡村振兴局"
    published = [t.at for r in rows for t in P.history(ws, r.proposal_id) if t.to_status == "published"]
    if published:
        start = dt.datetime.fromisoformat(max(published).replace("Z", "+00:00")).date()
        end = start + dt.timedelta(days=days - 1)
        period = f"公示期：{start:%Y年%m月%d日}至{end:%Y年%m月%d日}（{days}天）"
    else:
        period = f"公示期：{days}天"
    return f"{period}。公示期内如有异议，请向{contact}反映。"


def write_notice_xlsx(ws, out: str | os.PathLike | io.BytesIO, *, year: int | None = None) -> int:
    """Write the notice as an Excel workbook (title, headers, rows, total); returns the row count."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from geo.vector import append_rows

    rows = notice_rows(ws, year=year)
    wb = Workbook()
    sheet = wb.active
    sheet.title = "项目公示"
    append_rows(sheet, [[notice_title(ws, year)]])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    append_rows(sheet, [[h for _, h, _ in COLUMNS]])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    append_rows(sheet, (r.cells() for r in rows))
    total = sum(r.values["budget_wan"] for r in rows)
    append_rows(sheet, [["合计", f"{len(rows)}个项目", *[""] * 4, round(total, 2)]])
    append_rows(sheet, [[notice_footer(ws, rows)]])
    sheet.merge_cells(start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=len(COLUMNS))
    for i, (_, _, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    for row in sheet.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    sheet.freeze_panes = "A3"
    wb.save(out)
    return len(rows)
