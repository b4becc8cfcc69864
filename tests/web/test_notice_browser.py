"""The 公示 printed from real headless Chromium to PDF, read back with poppler's pdftotext.

What a county office posts: landscape A4, the title, the template's columns, 合计 and
the 落款 (issuing office and date). Needs /usr/bin/chromium and pdftotext (Debian
package poppler-utils; ``make browser`` installs both).
"""
from __future__ import annotations

import re
import shutil

import pytest

from web.services.users import add_user

from .browser import ARTIFACTS, BROWSER, login
from .browser import pdf_page_sizes_pt as _page_sizes_pt
from .browser import pdf_text as _pdf_text
from .conftest import PASSWORD

pytestmark = [*BROWSER, pytest.mark.skipif(shutil.which("pdftotext") is None,
                                           reason="pdftotext missing (Debian package poppler-utils; make browser)")]


@pytest.fixture(scope="module")
def notice_server(tmp_path_factory, live_server):
    from layers.demo import build_demo_workspace
    from web.services.demo_setup import seed_demo_library

    ws = build_demo_workspace(tmp_path_factory.mktemp("notice-browser") / "demo.gpkg")
    seeded = seed_demo_library(ws)  # publishes one proposal, sets notice_office/notice_contact
    assert seeded["published"] is not None
    add_user(ws, "reader", PASSWORD, "county_approver")
    return ws, live_server(ws.path, secret_key="notice-browser")


def test_notice_prints_landscape_with_total_and_signature(open_page, notice_server):
    from web.services import project_notice

    ws, base = notice_server
    rows = project_notice.notice_rows(ws)
    signature = project_notice.notice_signature(ws, rows)
    page = open_page(locale=None)
    login(page, base, "reader")
    page.goto(f"{base}/projects/notice")
    ARTIFACTS.mkdir(exist_ok=True)
    target = ARTIFACTS / "notice.pdf"
    page.pdf(path=str(target), prefer_css_page_size=True, print_background=True)

    sizes = _page_sizes_pt(target)
    assert sizes, "no MediaBox in the PDF"
    for width, height in sizes:  # A4 landscape: 842 x 595 pt
        assert width > height and abs(width - 841.9) < 2 and abs(height - 595.3) < 2

    text = _pdf_text(target)
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", project_notice.notice_title(ws)) in flat
    for header in ("项目名称", "建设性质", "建设地点", "实施期限", "责任单位", "绩效目标"):
        assert header in flat, header
    total = project_notice.notice_total_wan(rows)
    assert f"合计（{len(rows)}个项目）" in flat and f"{total:,.2f}" in flat
    assert signature.office in flat and signature.date in flat and "公示期" in flat
    assert rows[0].values["name"] in flat
    # the screen's navigation is not printed
    assert "下载" not in flat and "退出" not in flat
