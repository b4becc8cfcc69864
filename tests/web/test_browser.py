"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

The app runs under waitress on 127.0.0.1 and a free port; every request that would
leave the machine is blocked and fails the test. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import shutil

import pytest

from .browser import BROWSER, login, open_map, screenshot
from .sample import XSS_NAME

pytestmark = BROWSER

BAD_CSV = "代码,村名,乡镇,经度,纬度\n123,坏村,东岭镇,111.05,34.05\n411000999001,,东岭镇,abc,34.1\n"


@pytest.fixture(scope="module")
def sample_server(sample_workspace_template, tmp_path_factory, live_server):
    path = tmp_path_factory.mktemp("browser") / "ws.gpkg"
    shutil.copyfile(sample_workspace_template, path)
    return live_server(path)


def test_map_loads_offline_without_console_errors(page, sample_server):
    open_map(page, sample_server)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator(".leaflet-control-layers").is_visible()
    assert page.locator(".leaflet-control-scale").is_visible()
    assert page.locator(".rp-fullscreen a").is_visible()
    counts = page.evaluate("Object.fromEntries(RP.layers.map(e => [e.spec.name, e.items.length]))")
    assert counts["villages"] == 12 and counts["roads"] > 0 and counts["boundaries"] == 3
    screenshot(page, "map_zh")
    page.watch.clean()


def test_layer_toggles(page, sample_server):
    open_map(page, sample_server)
    on_map = "RP.map.hasLayer(RP.byName.roads.group)"
    assert page.evaluate(on_map) is True
    page.locator(".leaflet-control-layers label", has_text="道路").locator("input").click()
    assert page.evaluate(on_map) is False
    page.locator(".leaflet-control-layers label", has_text="管控区").locator("input").click()
    assert page.evaluate("RP.map.hasLayer(RP.byName.constraints.group)") is True
    screenshot(page, "map_toggled")
    page.watch.clean()


def test_click_opens_popup_with_chinese_labels(page, sample_server):
    open_map(page, sample_server)
    point = page.evaluate("""() => {
        const it = RP.byName.villages.items[0];
        RP.map.setView(it.layer.getLatLng(), 14, {animate: false});
        const p = RP.map.latLngToContainerPoint(it.layer.getLatLng());
        const r = RP.map.getContainer().getBoundingClientRect();
        return {x: r.left + p.x, y: r.top + p.y, name: it.props.name};
    }""")
    page.mouse.click(point["x"], point["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    text = popup.inner_text()
    assert point["name"] in text and "统计用区划代码" in text and "人口" in text
    screenshot(page, "map_popup")
    page.watch.clean()


def test_search_shows_markup_as_text(page, sample_server):
    open_map(page, sample_server)
    page.fill("#rp-search-input", XSS_NAME)
    page.click("#rp-search button")
    popup = page.locator(".leaflet-popup-content h4")
    popup.wait_for(timeout=5000)
    assert popup.inner_text() == XSS_NAME
    page.wait_for_timeout(300)
    screenshot(page, "map_search_escaped")
    page.watch.clean()  # includes: no alert() dialog


def test_filters_and_choropleth(page, sample_server):
    open_map(page, sample_server)
    page.select_option("#rp-filter-town", "东岭镇")
    assert page.evaluate("RP.byName.villages.visible.length") == 6
    assert "6" in page.inner_text("#rp-filter-count")
    page.select_option("#rp-filter-town", "")
    page.select_option("#rp-indicator", "monitored_per_1000")
    assert page.evaluate("RP.map.hasLayer(RP.byName.choropleth.group)") is True
    assert page.locator("#rp-choropleth-legend .rp-scale-row").count() >= 1
    screenshot(page, "map_choropleth")
    page.watch.clean()


def test_language_switch(page, sample_server):
    open_map(page, sample_server)
    page.click("#lang-en")
    page.wait_for_function("window.RP_READY === true", timeout=30000)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("#rp-legend h2").inner_text() == "Legend"
    assert page.locator(".leaflet-control-layers", has_text="Villages").count() == 1
    page.goto(sample_server + "/data/")  # the choice persists across pages
    assert page.locator("h1").inner_text() == "Workspace layers"
    page.goto(sample_server + "/map/")
    page.wait_for_function("window.RP_READY === true", timeout=30000)
    screenshot(page, "map_en")
    page.click("#lang-zh")
    assert page.locator("#rp-legend h2").inner_text() == "图例"
    page.watch.clean()


def test_upload_with_errors_shows_report(page, sample_server, tmp_path):
    login(page, sample_server, "planner1")
    page.wait_for_url("**/map/")
    page.goto(sample_server + "/data/")
    bad = tmp_path / "坏数据.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    page.select_option("select[name=layer]", "villages")
    page.set_input_files("input[name=file]", str(bad))
    page.click("#upload-form button")
    report = page.locator("#import-report")
    report.wait_for(timeout=30000)
    assert "未作任何修改" in report.inner_text()
    assert page.locator("#import-report .rp-errors li").count() >= 1
    assert "坏数据.csv" in report.inner_text()
    report.scroll_into_view_if_needed()
    screenshot(page, "upload_report", full_page=True)
    page.watch.clean()
