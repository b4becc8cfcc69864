"""The map's road-network tools in real headless Chromium, on the demo county.

Click a cold store → its 15/30/60-min service areas; the accessibility view recolours
the villages; the coverage panel shows the per-town table and rings the uncovered
villages. No console errors, no external requests. Screenshots: test-artifacts/network_*.png.
"""
from __future__ import annotations

import shutil

import pytest

from .browser import BROWSER, open_map, screenshot

pytestmark = BROWSER


@pytest.fixture(scope="module")
def demo_server(demo_workspace, tmp_path_factory, live_server):
    from layers.store import Workspace
    from web import services

    path = tmp_path_factory.mktemp("network-browser") / "demo.gpkg"
    shutil.copyfile(demo_workspace.path, path)
    services.road_graph(Workspace(path))  # build and cache the graph before the clock starts
    return live_server(path, secret_key="network-browser")


def _click_feature(page, layer: str, fid: str, zoom: int = 13):
    """Click the marker of feature ``fid`` of ``layer`` with the mouse (other point layers hidden)."""
    point = page.evaluate("""([layer, fid, zoom]) => {
        for (const name of ["villages", "towns", "industry_bases", "relocation_settlements", "cold_storage"]) {
            if (name !== layer && RP.byName[name]) RP.map.removeLayer(RP.byName[name].group);
        }
        const e = RP.byName[layer];
        const it = e.items.find(i => String(i.props[e.spec.id_field]) === fid);
        RP.map.setView(it.layer.getLatLng(), zoom, {animate: false});
        const p = RP.map.latLngToContainerPoint(it.layer.getLatLng());
        const r = RP.map.getContainer().getBoundingClientRect();
        return {x: r.left + p.x, y: r.top + p.y};
    }""", [layer, fid, zoom])
    page.mouse.click(point["x"], point["y"])


def test_service_areas_accessibility_and_coverage(page, demo_server):
    open_map(page, demo_server)

    # 1. click a cold store: its popup offers the service areas, which are drawn nested
    _click_feature(page, "cold_storage", "CS001")
    button = page.locator(".leaflet-popup-content .rp-net-areas-btn")
    button.wait_for(timeout=5000)
    button.click()
    page.wait_for_function("document.documentElement.getAttribute('data-areas-ready') === '3'", timeout=30000)
    assert page.evaluate("RP.net.areas.getLayers().length") == 3
    box = page.locator("#rp-areas-box")
    assert "龙湾乡苹果气调库" in box.inner_text() and box.locator(".rp-scale-row").count() == 3
    page.evaluate("() => { RP.map.fitBounds(RP.net.areas.getBounds(), {animate: false}); }")
    page.wait_for_timeout(300)
    screenshot(page, "network_service_areas")
    page.click("#rp-areas-clear")
    assert page.evaluate("RP.net.areas") is None and box.count() == 0

    # 2. accessibility view: villages recoloured by minutes to the nearest cold store
    page.evaluate("() => { RP.map.addLayer(RP.byName.villages.group); RP.map.fitBounds(RP.cfg.bounds, {animate: false}); }")
    before = page.evaluate("RP.byName.villages.items.map(i => i.layer.options.fillColor)")
    page.check("#rp-access-toggle")
    page.wait_for_function("document.documentElement.getAttribute('data-access-ready') === 'cold_storage'",
                           timeout=30000)
    after = page.evaluate("RP.byName.villages.items.map(i => i.layer.options.fillColor)")
    colors = page.evaluate("RP.cfg.network.access_colors.concat([RP.cfg.network.unreachable.fill])")
    assert after != before and set(after) <= set(colors) and len(set(after)) >= 3
    assert page.locator("#rp-access-legend .rp-scale-row").count() == 6
    screenshot(page, "network_accessibility")
    page.uncheck("#rp-access-toggle")
    assert page.evaluate("RP.byName.villages.items.map(i => i.layer.options.fillColor)") == before

    # 3. coverage panel: totals, per-town table, uncovered villages ringed with reasons
    page.fill("#rp-cov-minutes", "20")
    page.click("#rp-cov-form button[type=submit]")
    page.wait_for_function("document.documentElement.hasAttribute('data-coverage-ready')", timeout=30000)
    n_uncovered = int(page.evaluate("document.documentElement.getAttribute('data-coverage-ready')"))
    towns = page.evaluate("RP.net.coverage.by_town.length")
    assert towns == 12 and page.locator("#rp-cov-result tbody tr").count() == towns + 1
    assert n_uncovered > 0 and page.evaluate("RP.net.uncovered.getLayers().length") == n_uncovered
    assert "20" in page.inner_text("#rp-cov-result .rp-cov-summary")
    screenshot(page, "network_coverage")
    # the popup of an uncovered village gives the reason
    text = page.evaluate("""() => {
        const l = RP.net.uncovered.getLayers()[0];
        l.openPopup();
        return document.querySelector('.leaflet-popup-content').innerText;
    }""")
    assert "未覆盖" in text and ("分钟" in text or "公里" in text or "路线" in text)
    page.click("#rp-cov-clear")
    assert page.evaluate("RP.net.uncovered") is None
    page.watch.clean()
