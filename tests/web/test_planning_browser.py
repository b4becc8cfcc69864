"""The planning page in real headless Chromium on the demo county.

A planner asks "3 new cold stores, 30 minutes, weighted by apple + hawthorn tonnage",
sees the suggested sites on the map with the explanation table, saves the scenario,
asks again with p=2, saves that too and compares the two. Offline, no console errors.
Screenshots go to test-artifacts/planning_*.png.
"""
from __future__ import annotations

import time

import pytest

from web.services.users import add_user

from .browser import BROWSER, login, screenshot
from .conftest import PASSWORD

pytestmark = BROWSER


@pytest.fixture(scope="module")
def server(tmp_path_factory, live_server):
    from layers.demo import build_demo_workspace
    from web import services

    ws = build_demo_workspace(tmp_path_factory.mktemp("planning-browser") / "demo.gpkg")
    add_user(ws, "guihua", PASSWORD, "planner")
    services.road_graph(ws)  # build and cache the graph before the clock starts (as `ruralplan demo` does)
    return live_server(ws.path, secret_key="planning-browser")


@pytest.fixture
def page(open_page, server):
    pg = open_page(viewport={"width": 1400, "height": 950}, accept_downloads=True)
    login(pg, server, "guihua")
    return pg


def _open(page, server):
    page.goto(server + "/planning/")
    page.wait_for_function("window.RPPlan && RPPlan.ready === true", timeout=30000)


def _run(page, runs_before):
    started = time.perf_counter()
    page.click("#rp-run")
    page.wait_for_function(f"RPPlan.runs > {runs_before} && !RPPlan.busy", timeout=60000)
    return time.perf_counter() - started


def test_three_cold_stores_save_second_run_and_compare(page, server):
    _open(page, server)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.select_option("#rp-facility", "cold_storage")
    page.check("input[name=model][value=mclp]")
    page.fill("#rp-p", "3")
    page.fill("#rp-minutes", "30")
    page.check("input[name=demand_kind][value=produce]")
    page.check("input[name=commodity][value=apple]")
    page.check("input[name=commodity][value=hawthorn]")
    # the weight in words, the query's code in the tooltip
    assert page.locator("#rp-demand-preview").inner_text() == "产量：苹果, 山楂"
    assert page.locator("#rp-demand-preview").get_attribute("title") == "produce:apple,hawthorn"
    page.select_option("#rp-candidates", "towns")
    seconds = _run(page, 0)

    assert page.locator("#rp-plan-error").is_hidden()
    timing = page.evaluate("RPPlan.last.timing")
    assert timing["total_ms"] >= 0 and not timing["cached"]  # speed is bench/'s business, not a test's
    # three numbered new sites on the map, existing facilities as squares, three service areas
    assert page.locator(".leaflet-marker-pane .rp-plan-new").count() == 3
    assert page.locator(".leaflet-marker-pane .rp-plan-existing").count() >= 1
    assert page.evaluate("RPPlan.groups.areas.getLayers()[0].getLayers().length") == 3
    assert page.evaluate("RPPlan.groups.allocations.getLayers()[0].getLayers().length") > 100
    # explanation table: three new rows with demand, villages, loss, nearest existing, runner-up
    rows = page.locator("#rp-sites tbody tr.rp-new-row")
    assert rows.count() == 3
    for i in range(3):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[1] == "新建" and int(cells[3]) > 0
        assert "分钟)" in cells[5] and "min" not in cells[5]  # nearest existing store, in Chinese
        assert cells[6] != "–"
    assert page.locator("#rp-by-town tbody tr").count() >= 10
    assert "新建 3 处" in page.locator("#rp-plan-summary").inner_text()
    assert page.locator("#rp-solver").inner_text().count("最优") == 1
    solver = page.locator("#rp-solver").inner_text()
    # 3 of 12 town centres: 220 layouts, all compared (exact by enumeration)
    assert "enumeration" not in solver and "逐一比较全部布局" in solver and "上界" in solver
    assert page.locator("#rp-solver dd[title=enumeration]").count() == 1
    screenshot(page, "planning_run_zh")
    screenshot(page.locator("#rp-plan-result"), "planning_tables_zh")
    answer_ms, areas_ms = page.evaluate("[RPPlan.answerMs, RPPlan.areasMs]")
    print(f"demo question: sites+tables shown after {answer_ms} ms, service areas after {areas_ms} ms "
          f"({seconds:.2f} s incl. test overhead); server {timing}")

    # export links are the same question
    with page.expect_download() as download:
        page.click("#rp-export-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")

    page.fill("#rp-scenario-name", "三座冷库 30分钟")
    page.click("#rp-save")
    page.wait_for_function("RPPlan.scenarios === 1", timeout=15000)
    assert "已保存" in page.locator("#rp-save-status").inner_text()

    page.fill("#rp-p", "2")
    _run(page, 1)
    assert page.locator(".leaflet-marker-pane .rp-plan-new").count() == 2
    page.fill("#rp-scenario-name", "两座冷库 30分钟")
    page.click("#rp-save")
    page.wait_for_function("RPPlan.scenarios === 2", timeout=15000)
    names = page.locator("#rp-scenario-table .rp-scenario-name").all_inner_texts()
    assert names == ["两座冷库 30分钟", "三座冷库 30分钟"]
    page.locator("#rp-scenarios").scroll_into_view_if_needed()
    screenshot(page, "planning_scenarios_zh", full_page=True)

    # a saved scenario back on the map: its form and its three sites
    page.locator("#rp-scenario-table tbody tr").nth(1).locator("button", has_text="显示").click()
    page.wait_for_function("document.querySelectorAll('.leaflet-marker-pane .rp-plan-new').length === 3")
    assert page.input_value("#rp-p") == "3"
    assert page.locator("#rp-plan-status").inner_text() == "三座冷库 30分钟"

    # the older one is A, the newer B by default
    page.click("#rp-compare")
    page.wait_for_load_state("networkidle")
    assert "/planning/compare" in page.url
    assert page.locator("#rp-name-a").inner_text() == "三座冷库 30分钟"
    assert page.locator("#rp-name-b").inner_text() == "两座冷库 30分钟"
    assert page.locator("#rp-compare-params tr.rp-differs").count() == 1
    assert page.locator("#rp-compare-sites-a tbody tr").count() == 3
    assert page.locator("#rp-compare-sites-b tbody tr").count() == 2
    assert page.locator("#rp-compare-towns .rp-diff-neg").count() >= 1
    screenshot(page, "planning_compare_zh", full_page=True)
    page.watch.clean()


def test_english_drawn_points_and_error(page, server):
    page.goto(server + "/lang/en?next=/planning/")
    _open(page, server)
    assert page.evaluate("document.documentElement.lang") == "en"
    page.select_option("#rp-candidates", "drawn")
    page.check("input[name=demand_kind][value=population]")
    page.fill("#rp-p", "2")
    _run(page, 0)  # no points yet: a clear message, no crash
    assert "Click on the map" in page.locator("#rp-plan-error").inner_text()
    box = page.locator(".rp-plan-map").bounding_box()
    for fx, fy in ((0.35, 0.45), (0.55, 0.5), (0.65, 0.35)):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    assert page.locator(".leaflet-marker-pane .rp-plan-drawn").count() == 3
    assert page.locator("#rp-drawn-count").inner_text() == "3 points drawn"
    _run(page, 1)
    assert page.locator("#rp-plan-error").is_hidden()
    assert page.locator(".leaflet-marker-pane .rp-plan-new").count() == 2
    assert "Maximal coverage" in page.content()
    screenshot(page, "planning_drawn_en")
    # a question the server refuses: its message is shown, the last plan stays
    page.fill("#rp-p", "9")
    _run(page, 2)
    assert "9 new sites were asked for, but there are only 3" in page.locator("#rp-plan-error").inner_text()
    assert page.locator(".leaflet-marker-pane .rp-plan-new").count() == 2
    screenshot(page, "planning_error_en")
    # the browser logs the refused request itself; that one is expected
    page.watch.console_errors = [e for e in page.watch.console_errors if "400 (BAD REQUEST)" not in e]
    page.watch.clean()


def test_coverage_curve_chart_and_table(page, server):
    """The coverage curve: an inline SVG (no library, no CDN) and a table, tonnes in 吨."""
    _open(page, server)
    page.check("input[name=model][value=mclp]")
    page.fill("#rp-p", "3")
    page.fill("#rp-minutes", "30")
    page.check("input[name=demand_kind][value=produce]")
    page.check("input[name=commodity][value=apple]")
    page.check("input[name=commodity][value=hawthorn]")
    page.select_option("#rp-candidates", "towns")
    page.click("details.rp-more summary")
    page.fill("#rp-curve", "5")
    _run(page, page.evaluate("RPPlan.runs || 0"))
    assert page.locator("#rp-plan-error").is_hidden()
    assert page.locator("#rp-curve-box").is_visible()
    assert page.locator("#rp-curve-chart svg circle").count() == 6  # k = 0..5
    rows = page.locator("#rp-curve-table tbody tr")
    assert rows.count() == 6
    assert "吨" in rows.nth(1).inner_text()
    assert "吨" in page.locator("#rp-sites tbody").inner_text()
    assert "权重为 0 的行政村" in page.locator("#rp-semantics").inner_text()
    screenshot(page.locator("#rp-curve-box"), "planning_curve_zh")
