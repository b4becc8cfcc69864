"""The county overview (概览) in real headless Chromium on the demo county: the SVG
charts render with no console error, no CSP violation and nothing fetched from elsewhere."""
from __future__ import annotations

import shutil

import pytest

from .browser import BROWSER, screenshot

pytestmark = BROWSER

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def overview_server(demo_workspace, tmp_path_factory, live_server):
    path = tmp_path_factory.mktemp("overview-browser") / "demo.gpkg"
    shutil.copyfile(demo_workspace.path, path)
    return live_server(path, secret_key="overview-browser")


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_overview_charts_render_offline(open_page, overview_server, lang):
    page = open_page(locale=lang)
    page.add_init_script(WATCH_CSP)
    if lang == "en":
        page.goto(overview_server + "/lang/en")
    page.goto(overview_server + "/overview/")
    page.wait_for_load_state("networkidle")
    heading = page.locator("h1").inner_text()
    assert heading == ("全县概览" if lang == "zh-CN" else "County overview")
    for chart in ("#rp-chart-cold-county", "#rp-chart-cold-towns", "#rp-chart-pair-towns", "#rp-chart-hh-kind"):
        box = page.locator(chart).bounding_box()
        assert box and box["width"] > 200 and box["height"] > 50, chart
    # one bar per commodity grown in the county, one heat-map row per town
    assert page.locator("#rp-chart-cold-county .rp-bar").count() >= 5
    assert page.locator("#rp-chart-hh-kind .rp-seg").count() >= 12
    assert page.evaluate("window.__csp") == []
    screenshot(page, f"overview_{lang}", full_page=True)
    page.watch.clean()
