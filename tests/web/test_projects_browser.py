"""The project library in real headless Chromium, on the demo county.

One seeded proposal (the apple fresh-keeping store) goes 村申报 → 镇审核 → 行业部门论证 →
县级审定 → 公示 with four different users; a village applicant places a new proposal
by clicking the map. Screenshots go to test-artifacts/projects_*.png.
"""
from __future__ import annotations

import pytest

from web.services.users import add_user

from .browser import ARTIFACTS, BROWSER, login, screenshot
from .conftest import PASSWORD

pytestmark = BROWSER


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo county with its seeded proposals and one account per reviewer of the apple store."""
    from layers import proposals as P
    from layers.demo import build_demo_workspace
    from web.services import project_eval

    ws = build_demo_workspace(tmp_path_factory.mktemp("projects-browser") / "demo.gpkg")
    seeded = {p.ref: p for p in P.load_demo_proposals(ws)}
    apple = seeded["DP01"]
    add_user(ws, "cun", PASSWORD, "village_applicant", village=apple.village_code)
    add_user(ws, "zhen", PASSWORD, "town_reviewer", town=apple.town)
    add_user(ws, "nongye", PASSWORD, "sector_assessor", sector="农业农村局")
    add_user(ws, "xian", PASSWORD, "county_approver")
    project_eval.evaluate(ws, apple)  # builds and caches the road graph before the clock starts
    return ws, apple


@pytest.fixture(scope="module")
def server(demo, live_server):
    ws, _ = demo
    return live_server(ws.path, secret_key="projects-browser")


def _session(open_page, base, username):
    """A fresh browser context (its own cookies) logged in as ``username``."""
    page = open_page(viewport={"width": 1280, "height": 1000}, locale=None, accept_downloads=True)
    login(page, base, username)
    assert username in page.locator(".rp-user").inner_text()
    return page.context, page, page.watch


def _act(page, base, pid, action, comment, shot):
    # each reviewer starts from the 待我审核 inbox (the header link), never from a typed URL
    page.click("#rp-inbox-link")
    page.wait_for_load_state("networkidle")
    page.click(f'#inbox-list tr[data-id="{pid}"] a.inbox-open')
    page.wait_for_function("window.RPP_READY === true")
    assert page.locator("#evaluation-score").is_visible()
    if comment:
        page.fill("#comment", comment)
    screenshot(page, f"projects_{shot}", full_page=True)
    page.click(f"#action-{action}")
    page.wait_for_load_state("networkidle")
    return page.locator("#proposal-status").get_attribute("data-status")


def test_walk_the_apple_store_from_application_to_public_notice(open_page, server, demo):
    ws, apple = demo
    steps = [
        ("cun", "submit", "", "submitted", "1_village_submits"),
        ("zhen", "approve", "选址靠近苹果主产村，同意上报", "town_approved", "2_town_review"),
        ("nongye", "approve", "冷库规模与产量匹配，论证通过", "sector_approved", "3_sector_assessment"),
        ("xian", "approve", "县级审定通过", "county_approved", "4_county_approval"),
        ("xian", "publish", "", "published", "5_publish"),
    ]
    watches = []
    for username, action, comment, expected, shot in steps:
        context, page, watch = _session(open_page, server, username)
        watches.append(watch)
        # nobody sees another stage's buttons
        for other in ("submit", "approve", "publish"):
            if other != action:
                assert page.goto(f"{server}/projects/{apple.id}") and page.locator(f"#action-{other}").count() == 0 \
                    or other == "approve" and username == "xian"
        assert _act(page, server, apple.id, action, comment, shot) == expected
        context.close()

    context, page, watch = _session(open_page, server, "xian")
    page.goto(f"{server}/projects/{apple.id}")
    page.wait_for_function("window.RPP_READY === true")
    rows = page.locator("#history tbody tr")
    assert rows.count() == len(steps)
    assert [rows.nth(i).get_attribute("data-action") for i in range(rows.count())] == [s[1] for s in steps]
    assert "选址靠近苹果主产村" in page.locator("#history").inner_text()
    screenshot(page, "projects_6_history", full_page=True)

    page.goto(f"{server}/projects/notice")
    table = page.locator("#notice-table").inner_text()
    assert apple.name in table and "衔接资金" in table and "400" in table
    screenshot(page, "projects_7_notice", full_page=True)
    with page.expect_download() as info:
        page.click("#notice-xlsx")
    download = info.value
    target = ARTIFACTS / "projects_notice.xlsx"
    download.save_as(str(target))
    from openpyxl import load_workbook

    cells = [c.value for c in load_workbook(target).active[4]]  # title, two header rows, then projects
    assert cells[1] == apple.name and cells[7] == 400
    context.close()
    for w in [*watches, watch]:
        assert w.external == [] and w.console_errors == []


def test_village_places_a_new_proposal_on_the_map(open_page, server, demo):
    context, page, watch = _session(open_page, server, "cun")
    page.goto(f"{server}/projects/new")
    page.wait_for_function("window.RPP_READY === true")
    page.fill("input[name=name]", "村级山楂分拣车间")
    page.select_option("select[name=category]", "processing")
    page.fill("textarea[name=content]", "新建山楂分拣包装车间300平方米")
    page.fill("input[name=budget_wan]", "60")
    page.check("input[name=commodities][value=hawthorn]")
    page.check("input[name=farmer_links][value=wage]")
    page.locator("#rpp-map").scroll_into_view_if_needed()
    page.locator("#rpp-map .leaflet-container").click()  # the centre of the map
    wkt = page.input_value("#geometry")
    assert wkt.startswith("POINT (")
    screenshot(page, "projects_0_form", full_page=True)
    page.click("#save-proposal")
    page.wait_for_load_state("networkidle")
    assert page.locator("#proposal-status").get_attribute("data-status") == "draft"
    assert page.locator("#action-submit").count() == 1
    assert watch.external == [] and watch.console_errors == []
    context.close()


def test_site_from_the_village_and_the_outside_town_warning_while_drawing(open_page, server, demo):
    """The form starts at the village's centre; a site drawn in another town is flagged at once."""
    import shapely

    ws, apple = demo
    context, page, watch = _session(open_page, server, "cun")
    page.goto(f"{server}/projects/new")
    page.wait_for_function("window.RPP_READY === true")
    villages = ws.read_layer("villages")
    centre = villages[villages["code"] == apple.village_code].geometry.iloc[0]
    wkt = page.input_value("#geometry")
    assert shapely.from_wkt(wkt).distance(centre) < 1e-5  # no click needed: the village's centre
    assert not page.locator("#rpp-advanced").evaluate("d => d.open")  # WKT is the advanced way
    bounds = ws.read_layer("boundaries")
    other = bounds[(bounds["level"] == "town") & (bounds["name"] != apple.town)].iloc[0]
    inside_other = shapely.point_on_surface(other.geometry)
    page.locator("#rpp-advanced summary").click()
    page.fill("#geometry", f"POINT ({inside_other.x} {inside_other.y})")
    page.dispatch_event("#geometry", "change")
    page.wait_for_selector("#site-check:not([hidden])")
    assert other["name"] in page.text_content("#site-check")
    # back home: the warning goes, even when the answer about the other town comes back
    # last (a slow server): only the latest question's answer counts
    held = []

    def hold_first(route):
        if not held:
            held.append(route)  # answered below, after the newer question's answer
        else:
            route.continue_()

    page.route("**/site-check*", hold_first)
    page.dispatch_event("#geometry", "change")  # asks about the other town again (held back)
    page.click("#rpp-use-village")
    page.wait_for_selector("#site-check[hidden]", state="attached")
    assert len(held) == 1
    with page.expect_response("**/site-check*"):
        held[0].continue_()  # the stale "outside the town" answer arrives last
    page.wait_for_timeout(300)
    assert page.locator("#site-check").evaluate("e => e.hidden"), page.text_content("#site-check")
    assert shapely.from_wkt(page.input_value("#geometry")).distance(centre) < 1e-5
    assert watch.external == [] and watch.console_errors == []
    context.close()
