"""Every map printed from real headless Chromium, on the demo county, read back with pdftotext.

From each map page a person follows its print link, picks the paper and orientation in
the print view and prints (Chromium's print-to-PDF honours the view's ``@page`` size);
the PDF download of the same view is checked too. Each PDF must be one page of the
chosen paper with the title, the legend entries drawn, the scale bar, the north arrow,
the data source and the date in Beijing time. Needs /usr/bin/chromium and pdftotext.
"""
from __future__ import annotations

import re
import shutil

import pytest

from web.services.users import add_user

from .browser import ARTIFACTS, BROWSER, login, pdf_page_sizes_pt, pdf_text
from .conftest import PASSWORD

pytestmark = [*BROWSER, pytest.mark.skipif(shutil.which("pdftotext") is None,
                                           reason="pdftotext missing (Debian package poppler-utils; make browser)")]

#: (width, height) in points of each paper and orientation.
SIZES = {("a4", "landscape"): (841.9, 595.3), ("a4", "portrait"): (595.3, 841.9),
         ("a3", "landscape"): (1190.6, 841.9), ("a3", "portrait"): (841.9, 1190.6)}


@pytest.fixture(scope="module")
def demo(tmp_path_factory, live_server):
    from layers import proposals as P
    from layers.demo import build_demo_workspace
    from web import services
    from web.services import project_eval
    from web.services.demo_setup import seed_demo_library
    from web.services.pairings import analyse_workspace

    ws = build_demo_workspace(tmp_path_factory.mktemp("print-browser") / "demo.gpkg")
    seed_demo_library(ws)
    add_user(ws, "huitu", PASSWORD, "planner")
    services.road_graph(ws)  # build and cache the graph before the pages ask for it
    proposal = sorted(P.list_proposals(ws), key=lambda p: p.id)[0]
    project_eval.evaluate(ws, proposal)
    analyse_workspace(ws)  # warm the pairings page's per-version cache
    return ws, proposal, live_server(ws.path, secret_key="print-browser")


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _check_pdf(body_or_path, paper: str, orientation: str, *, title: str, legend: list[str], name: str):
    path = ARTIFACTS / f"print_{name}_{paper}_{orientation}.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    if isinstance(body_or_path, bytes):
        path.write_bytes(body_or_path)
    sizes = pdf_page_sizes_pt(path)
    assert len(sizes) == 1, f"{name}: {len(sizes)} pages"
    (width, height), = sizes
    want_w, want_h = SIZES[(paper, orientation)]
    assert abs(width - want_w) < 2 and abs(height - want_h) < 2, (name, width, height)
    text = _flat(pdf_text(path))
    assert _flat(title) in text, (name, title)
    assert "图例" in text and "北" in text and "公里" in text
    assert "数据来源" in text and "北京时间" in text and "制图日期" in text
    for entry in legend:
        assert _flat(entry) in text, (name, entry)
    return text


def _open(open_page, **options):
    page = open_page(**options)
    page.set_default_timeout(120000)  # maps and sheets are drawn on the server: seconds on a busy 2-core machine
    return page


def _print_from(page, base: str, link_selector: str, *, paper: str, orientation: str, name: str,
                expect_legend: tuple[str, ...]):
    href = page.locator(link_selector).get_attribute("href")
    assert href and href.startswith("/print/"), href
    page.goto(base + href)
    page.wait_for_selector("#rp-sheet svg")
    # the person picks the paper and orientation in the print view
    page.select_option("#rp-print-form select[name=paper]", paper)
    page.select_option("#rp-print-form select[name=orientation]", orientation)
    page.click("#rp-print-form button")
    page.wait_for_selector("#rp-sheet svg")
    title = page.title()
    legend = page.locator("#rp-sheet").get_attribute("data-legend").split("|")
    for entry in expect_legend:
        assert entry in legend, (name, entry, legend)
    target = ARTIFACTS / f"print_{name}_{paper}_{orientation}.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    page.pdf(path=str(target), prefer_css_page_size=True, print_background=True)
    _check_pdf(target, paper, orientation, title=title, legend=legend, name=name)
    # the server's PDF and PNG of the same sheet
    pdf_href = page.locator("#rp-print-pdf").get_attribute("href")
    response = page.request.get(base + pdf_href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    _check_pdf(response.body(), paper, orientation, title=title, legend=legend, name=f"{name}_server")
    png = page.request.get(base + page.locator("#rp-print-png").get_attribute("href"))
    assert png.ok and png.body()[:8] == b"\x89PNG\r\n\x1a\n"
    (ARTIFACTS / f"print_{name}_{paper}_{orientation}.png").write_bytes(png.body())
    assert page.watch.console_errors == []


def test_explorer_prints_a3_landscape(open_page, demo):
    _ws, _p, base = demo
    page = _open(open_page)
    page.goto(base + "/map/")
    _print_from(page, base, "#rp-print-map", paper="a3", orientation="landscape", name="map",
                expect_legend=("脱贫村", "其他村", "国道", "县道"))


def test_pairings_print_a4_portrait(open_page, demo):
    _ws, _p, base = demo
    page = _open(open_page)
    login(page, base, "huitu")
    page.goto(base + "/pairings/")
    _print_from(page, base, "#rp-print-pairings", paper="a4", orientation="portrait", name="pairings",
                expect_legend=("全部满足", "缺口"))


def test_project_library_and_proposal_print(open_page, demo):
    _ws, proposal, base = demo
    page = _open(open_page)
    login(page, base, "huitu")
    page.goto(base + "/projects/")
    # the screen map has its legend: proposal statuses
    assert page.locator("#rpp-legend li[data-status=draft]").count() == 1
    _print_from(page, base, "#rpp-print", paper="a4", orientation="landscape", name="projects",
                expect_legend=())
    page.goto(base + f"/projects/{proposal.id}")
    _print_from(page, base, "#rpp-print", paper="a3", orientation="portrait", name="proposal",
                expect_legend=("服务范围内的村",))


def test_planning_result_prints_a4_landscape(open_page, demo):
    _ws, _p, base = demo
    page = _open(open_page, viewport={"width": 1400, "height": 950})
    login(page, base, "huitu")
    page.goto(base + "/planning/")
    page.wait_for_function("window.RPPlan && RPPlan.ready === true", timeout=30000)
    page.select_option("#rp-facility", "cold_storage")
    page.check("input[name=model][value=mclp]")
    page.fill("#rp-p", "2")
    page.fill("#rp-minutes", "30")
    page.select_option("#rp-candidates", "towns")
    page.click("#rp-run")
    page.wait_for_function("RPPlan.runs > 0 && !RPPlan.busy", timeout=120000)
    _print_from(page, base, "#rp-export-print", paper="a4", orientation="landscape", name="planning",
                expect_legend=("建议新建点", "新建点服务范围", "行政村 → 服务站点"))
