"""The explorer's print link follows the page in real Chromium (rpmap.js): the layers switched
on and the extent shown go into ``/print/map?layers=…&bbox=…``; switching a layer off or
zooming in changes the link, and the server prints that (tests/web/test_mapprint_explorer.py)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from .browser import BROWSER

pytestmark = BROWSER


def _query(page) -> dict:
    href = page.locator("#rp-print-map").get_attribute("href")
    assert href.startswith("/print/map?"), href
    return {k: v[0] for k, v in parse_qs(urlparse(href).query).items()}


def test_the_print_link_carries_the_visible_layers_and_the_extent(open_page, live_server, workspace):
    base = live_server(workspace.path)
    page = open_page()
    page.goto(base + "/map/")
    page.wait_for_selector("html[data-map-ready='1']", state="attached", timeout=60_000)
    first = _query(page)
    layers = first["layers"].split(",")
    assert "villages" in layers and "roads" in layers and "constraints" not in layers  # as opened
    w, s, e, n = map(float, first["bbox"].split(","))
    assert w < e and s < n
    page.evaluate("RP.map.removeLayer(RP.byName.villages.group)")  # as unticking it in the layer control
    page.evaluate("RP.map.setZoom(RP.map.getZoom() + 2, {animate: false})")
    page.wait_for_function("!document.getElementById('rp-print-map').href.includes('villages')")
    after = _query(page)
    assert "villages" not in after["layers"].split(",") and "roads" in after["layers"].split(",")
    w2, s2, e2, n2 = map(float, after["bbox"].split(","))
    assert (e2 - w2) < (e - w) / 2 and w <= w2 and e2 <= e  # zoomed in: a smaller extent inside
    got = page.request.get(base + page.locator("#rp-print-map").get_attribute("href") + "&format=svg")
    assert got.ok and "<svg" in got.text()
