"""The pairings page in real headless Chromium on the demo county (issue 15): the long
tables are paged so the page stays under 5,000 px; no suggestion is pre-ticked."""
from __future__ import annotations

import shutil

import pytest

from .browser import BROWSER, login, screenshot
from .conftest import PASSWORD

pytestmark = BROWSER

MAX_HEIGHT_PX = 5000


@pytest.fixture(scope="module")
def pairings_server(demo_workspace, tmp_path_factory, live_server):
    from layers.store import Workspace
    from web.services.pairings import analyse_workspace
    from web.services.users import add_user

    path = tmp_path_factory.mktemp("pairings-browser") / "demo.gpkg"
    shutil.copyfile(demo_workspace.path, path)
    ws = Workspace(path)
    add_user(ws, "planner-p", PASSWORD, "planner")
    analyse_workspace(ws)  # warm the per-version cache before the page is opened
    return live_server(path, secret_key="pairings-browser"), ws


def _height(page) -> int:
    return page.evaluate("Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")


def test_page_is_paged_and_short(page, pairings_server):
    base, ws = pairings_server
    from web.services.pairings import analyse_workspace

    n_workload = len(analyse_workspace(ws).analysis.to_dict()["workload"])
    assert n_workload > 100  # the demo county has hundreds of helpers: paging is what keeps it short
    login(page, base, "planner-p")
    page.goto(base + "/pairings/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#rp-workload tbody tr").count() == 50
    assert _height(page) < MAX_HEIGHT_PX
    screenshot(page, "pairings_paged", full_page=True)
    last = -(-n_workload // 50)
    page.click(f"#rp-workload-pager a:text-is('{last}')")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"page={last}#rp-workload")
    assert page.locator("#rp-workload tbody tr").count() == n_workload - 50 * (last - 1)
    assert _height(page) < MAX_HEIGHT_PX
    page.watch.clean()


def test_no_suggestion_is_preticked(page, pairings_server):
    base, _ws = pairings_server
    login(page, base, "planner-p")
    page.goto(base + "/pairings/")
    page.wait_for_load_state("networkidle")
    boxes = page.locator("#rp-accept-form input[type=checkbox]")
    assert boxes.count() >= 2
    assert page.locator("#rp-accept-form input[type=checkbox]:checked").count() == 0
    # select-all still works, as an explicit choice
    page.locator("#rp-suggestions thead input[type=checkbox]").check()
    boxes = page.locator("input[name=suggestion_ids]")
    assert page.locator("input[name=suggestion_ids]:checked").count() == boxes.count()
    page.watch.clean()
