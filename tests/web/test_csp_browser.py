"""The Content-Security-Policy holds on every page in real Chromium: no violation
reported, maps still render (folium's inline scripts and styles), nothing external."""
from __future__ import annotations

import shutil

import pytest

from layers import proposals as P

from .browser import BROWSER, login
from .test_projects_views import _data

pytestmark = BROWSER

PAGES = ("/map/", "/data/", "/planning/", "/pairings/", "/projects/", "/projects/new", "/projects/1",
         "/projects/1/edit", "/projects/portfolio?budget=500", "/projects/notice", "/projects/import",
         "/projects/inbox", "/auth/login")

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sourceFile || '') + ':' + e.lineNumber));
"""


@pytest.fixture(scope="module")
def csp_server(sample_workspace_template, tmp_path_factory, live_server):
    from layers.store import Workspace

    path = tmp_path_factory.mktemp("csp") / "ws.gpkg"
    shutil.copyfile(sample_workspace_template, path)
    ws = Workspace(path)
    P.create_proposal(ws, _data(ws), created_by="village1")
    return live_server(path)


def test_pages_satisfy_the_csp(open_page, csp_server):
    page = open_page(bypass_csp=None)  # the policy enforced, as in a visitor's browser
    page.add_init_script(WATCH_CSP)
    login(page, csp_server, "planner1")
    for url in PAGES:
        response = page.goto(csp_server + url)
        assert response.status in (200, 403), (url, response.status)  # planners may not create proposals
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        page.wait_for_load_state("networkidle")
        if url == "/map/":
            page.wait_for_function("window.RP_READY === true", timeout=30000)
            assert page.locator(".leaflet-marker-pane > *, .leaflet-overlay-pane svg path").count() > 0
        if url.startswith("/projects/1") and not url.endswith("edit"):
            page.wait_for_function("window.RPP_READY === true", timeout=30000)
        assert page.evaluate("window.__csp") == [], url
    page.watch.clean()
