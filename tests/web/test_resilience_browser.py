"""The map's resilience view and network scenario select in real headless Chromium (zh and en).

Turn the view on: the critical links are drawn and listed with 人/户/吨, single-access
villages are ringed; choose a stored scenario: the view and the coverage panel follow
it. No console errors, no external requests. Screenshots: test-artifacts/resilience_*.png.
"""
from __future__ import annotations

import shutil

import pytest

from .browser import BROWSER, open_map, screenshot

pytestmark = BROWSER


@pytest.fixture(scope="module")
def demo_server(demo_workspace, tmp_path_factory, live_server):
    from layers.store import Workspace
    from planner.scenario import NetworkScenario
    from web import services
    from web.services import scenarios

    path = tmp_path_factory.mktemp("resilience-browser") / "demo.gpkg"
    shutil.copyfile(demo_workspace.path, path)
    ws = Workspace(path)
    services.road_graph(ws)
    scenarios.save_scenario(ws, NetworkScenario("汛期", close_unpaved=True, close_hazard=True))
    return live_server(path, secret_key="resilience-browser")


def test_resilience_view_and_scenario(page, demo_server):
    open_map(page, demo_server)
    page.wait_for_function("document.querySelectorAll('#rp-net-scenario option').length === 2", timeout=10000)
    page.check("#rp-res-toggle")
    page.wait_for_function("document.documentElement.hasAttribute('data-resilience-ready')", timeout=60000)
    n_links = int(page.evaluate("document.documentElement.getAttribute('data-resilience-ready')"))
    assert n_links > 0 and page.evaluate("RP.res.links.getLayers().length") == n_links
    text = page.inner_text("#rp-res-result")
    assert "单一出口" in text and "人" in text and "户" in text and "吨" in text
    assert page.locator("#rp-res-result .rp-res-list li").count() >= 2
    page.click("#rp-res-result .rp-res-list li a")  # zoom to the top link
    page.wait_for_timeout(300)
    page.evaluate("() => { RP.res.links.getLayers()[0].openPopup(); }")
    assert "人口" in page.inner_text(".leaflet-popup-content")
    screenshot(page, "resilience_zh")

    # the scenario select drives the resilience view and the coverage panel
    page.evaluate("() => { RP.map.closePopup(); }")
    page.evaluate("document.documentElement.removeAttribute('data-resilience-ready')")
    page.select_option("#rp-net-scenario", "汛期")
    page.wait_for_function("document.documentElement.hasAttribute('data-resilience-ready')", timeout=60000)
    assert page.evaluate("RP.res.data.scenario") == "汛期"
    page.click("#rp-cov-form button[type=submit]")
    page.wait_for_selector("#rp-cov-result .rp-scenario-diff", timeout=60000)
    assert "路网情景" in page.inner_text("#rp-cov-result .rp-scenario-diff")
    screenshot(page, "resilience_scenario_zh")
    page.watch.clean()


def test_resilience_view_in_english(page, demo_server):
    page.goto(demo_server + "/lang/en")
    open_map(page, demo_server)
    page.check("#rp-res-toggle")
    page.wait_for_function("document.documentElement.hasAttribute('data-resilience-ready')", timeout=60000)
    text = page.inner_text("#rp-res")
    assert "Road resilience" in text and "single access" in text and "people" in text
    screenshot(page, "resilience_en")
    page.watch.clean()
