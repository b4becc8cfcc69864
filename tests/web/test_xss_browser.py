"""Stored XSS in real Chromium: names with markup on every map (explorer, pairings,
projects, planning, scenario comparison) show as text and never run.

A town, a village, a cold store, a pairing helper, a proposal and a saved scenario are
named ``<img src=x onerror=window.__xss=1>``; another town, village and cold store carry
`` `${window.__xss=2}` `` (what breaks out of folium's JavaScript template literal).
Every tooltip and popup on each map is opened, then ``window.__xss`` must be undefined,
no ``<img src=x>`` exist and the names appear literally.
"""
from __future__ import annotations

import re
import shutil

import pytest

from .browser import BROWSER, browser_app, login, screenshot
from .conftest import PASSWORD

pytestmark = BROWSER

XSS = "<img src=x onerror=window.__xss=1>"
XSS_JS = "`${window.__xss=2}`"

# Opens every tooltip and popup of every Leaflet map on the page and returns their text.
PROBE = """() => {
    const maps = [];
    for (const key of Object.keys(window)) {
        try { if (window[key] instanceof L.Map) maps.push(window[key]); } catch (e) {}
    }
    if (window.RP && RP.map && maps.indexOf(RP.map) < 0) maps.push(RP.map);
    const texts = [];
    maps.forEach((map) => {
        const layers = [];
        map.eachLayer((l) => layers.push(l));
        layers.forEach((l) => {
            try {
                if (l.getTooltip && l.getTooltip()) {
                    l.openTooltip(l.getLatLng ? l.getLatLng() : undefined);
                    const node = l.getTooltip().getElement();
                    if (node) texts.push(node.textContent);
                }
                if (l.getPopup && l.getPopup()) {
                    l.openPopup(l.getLatLng ? l.getLatLng() : undefined);
                    const node = l.getPopup().getElement();
                    if (node) texts.push(node.textContent);
                    l.closePopup();
                }
            } catch (e) { texts.push("probe error: " + e); }
        });
    });
    const labels = Array.from(document.querySelectorAll(".leaflet-control-layers label")).map((n) => n.textContent);
    return {maps: maps.length, texts: texts, labels: labels, imgs: document.querySelectorAll('img[src="x"]').length,
            xss: window.__xss === undefined ? null : String(window.__xss)};
}"""


@pytest.fixture(scope="module")
def xss_server(sample_workspace_template, tmp_path_factory, live_server):
    from layers import proposals as P
    from layers.store import Workspace

    from .test_projects_views import TO_PUBLISHED, _data, _walk

    path = tmp_path_factory.mktemp("xss") / "ws.gpkg"
    shutil.copyfile(sample_workspace_template, path)
    ws = Workspace(path)
    towns = ws.read_layer("towns")
    towns.loc[0, "name"] = XSS
    towns.loc[1, "name"] = XSS_JS
    villages = ws.read_layer("villages")
    villages.loc[2, "name"] = XSS
    villages.loc[3, "name"] = XSS_JS
    cold = ws.read_layer("cold_storage")
    cold.loc[0, "name"] = XSS
    cold.loc[1, "name"] = XSS_JS
    pairings = ws.read_layer("pairings")
    pairings.loc[0, "helper_name"] = XSS
    ws.write_layers({"towns": towns, "villages": villages, "cold_storage": cold, "pairings": pairings})
    _walk(ws, P.create_proposal(ws, _data(ws, name=XSS, content=XSS), created_by="village1"), TO_PUBLISHED)

    app = browser_app(path, secret_key="xss-test")
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/auth/login").get_data(as_text=True))[1]
    client.post("/auth/login", data={"username": "planner1", "password": PASSWORD, "csrf_token": token})
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/planning/").get_data(as_text=True))[1]
    question = {"facility": "cold_storage", "model": "mclp", "limit": "p", "minutes": "30", "demand": "population",
                "candidates": "towns"}
    for name, p in ((XSS, "2"), ("B", "1")):
        response = client.post("/planning/scenarios", data={**question, "p": p, "name": name},
                               headers={"X-CSRFToken": token, "Accept": "application/json"})
        assert response.status_code == 201, response.get_data(as_text=True)[:500]

    return live_server.serve(app)


def _check(page, name, *, expect=(XSS,)):
    page.wait_for_timeout(300)  # any onerror handler has had its chance
    result = page.evaluate(PROBE)
    screenshot(page, f"xss_{name}")
    assert result["maps"] >= 1
    assert result["xss"] is None, f"{name}: script from a name ran"
    assert result["imgs"] == 0, f"{name}: markup from a name was parsed"
    assert not [t for t in result["texts"] if t.startswith("probe error")]
    shown = "\n".join(result["texts"] + result["labels"]) + page.inner_text("body")
    for text in expect:
        assert text in shown, f"{name}: {text!r} not shown literally"
    page.watch.clean()  # no console errors, no alert()
    return result


def test_map_explorer_anonymous(page, xss_server):
    page.goto(xss_server + "/map/")
    page.wait_for_function("window.RP_READY === true", timeout=30000)
    assert sorted(page.locator(".rp-town-label").all_inner_texts()) == sorted([XSS, XSS_JS])
    page.evaluate("() => { RP.map.addLayer(RP.byName.pairings.group); }")  # hidden on opening
    page.wait_for_function("RP.byName.pairings.items.length > 0", timeout=10000)
    _check(page, "map", expect=(XSS, XSS_JS))


def test_pairings_map(page, xss_server):
    page.goto(xss_server + "/pairings/")
    page.wait_for_load_state("load")
    _check(page, "pairings", expect=(XSS, XSS_JS))


def test_project_maps(page, xss_server):
    page.goto(xss_server + "/projects/")
    page.wait_for_function("window.RPP_READY === true", timeout=30000)
    _check(page, "projects")
    page.goto(xss_server + "/projects/1")
    page.wait_for_function("window.RPP_READY === true", timeout=30000)
    _check(page, "project_detail")


def test_planning_and_compare_maps(page, xss_server):
    login(page, xss_server, "planner1")
    page.goto(xss_server + "/planning/")
    page.wait_for_function("window.RPPlan && RPPlan.ready === true && RPPlan.scenarios === 2", timeout=30000)
    row = page.locator("#rp-scenario-table tbody tr", has=page.locator(".rp-scenario-name", has_text=XSS))
    row.locator("button").first.click()
    page.wait_for_function("RPPlan.last !== undefined || document.querySelector('.rp-plan-marker')", timeout=30000)
    page.wait_for_timeout(500)
    _check(page, "planning", expect=(XSS, XSS_JS))
    page.goto(xss_server + "/planning/compare?a=1&b=2")
    page.wait_for_load_state("load")
    result = _check(page, "compare")
    assert any(XSS in label for label in result["labels"])  # the layer control names the scenario

