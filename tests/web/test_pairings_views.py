"""The pairings page: roles, household visibility, accepting suggestions (role, CSRF, audit)."""
from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner

from .conftest import csrf_token


@pytest.fixture
def pairing_workspace(workspace):
    """The sample workspace with households and pairings that leave gaps to close."""
    villages = workspace.read_layer("villages")
    codes = list(villages["code"].astype(str))
    pts = list(villages.geometry)
    former = [c for c, f in zip(codes, villages["former_poor"]) if f]
    households = pd.DataFrame({
        "id": ["HH1", "HH2", "HH3"], "village_code": [codes[0], codes[1], codes[2]],
        "kind": ["unstable", "marginal", "sudden"], "risk": ["high", "low", "medium"],
    })
    rows = [
        # a cadre with room for more households, at the first village
        {"id": "P1", "helper_id": "CAD1", "helper_name": "干部甲", "helper_kind": "cadre",
         "helper_county_code": None, "target_kind": "household", "target_id": "HH1", "geometry": pts[0]},
        # a backing unit with room to dispatch teams
        {"id": "P2", "helper_id": "UNIT1", "helper_name": "县农业农村局", "helper_kind": "municipal_unit",
         "helper_county_code": None, "target_kind": "village", "target_id": former[0], "geometry": pts[3]},
        # an east-west partner far away: an aggregated arrow, not lines across the country
        {"id": "P3", "helper_id": "EW1", "helper_name": "东部某区", "helper_kind": "east_west",
         "helper_county_code": "320599", "target_kind": "village", "target_id": former[0],
         "geometry": shapely.Point(120.6, 31.3)},
        {"id": "P4", "helper_id": "X", "helper_name": "无效", "helper_kind": "work_team",
         "helper_county_code": None, "target_kind": "village", "target_id": "999999999999", "geometry": None},
    ]
    pairings = gpd.GeoDataFrame(pd.DataFrame(rows).drop(columns="geometry"),
                                geometry=[r["geometry"] for r in rows], crs="EPSG:4326")
    # meta through write_layers: Workspace.set_meta currently fails (executescript ends its transaction)
    workspace.write_layers({"households": households, "pairings": pairings},
                           meta={"pairing_rules": {"max_villages_per_unit": 20}})
    return workspace


@pytest.fixture
def papp(pairing_workspace):
    from web import create_app

    return create_app({
        "TESTING": True, "RURALPLAN_WORKSPACE": str(pairing_workspace.path), "SECRET_KEY": "test-secret",
        "SESSION_COOKIE_SECURE": False,
        # the sample's roads are scattered fragments: straight lines give suggestions to accept
        "RURALPLAN_PAIRING_TRAVEL": "straight_line",
    })


@pytest.fixture
def pclient(papp):
    return papp.test_client()


def login(client, username):
    from .conftest import login as do_login

    response = do_login(client, username)
    assert response.status_code == 302
    return client


def test_page_renders_for_anonymous_reader(pclient):
    response = pclient.get("/pairings/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="rp-coverage"' in html and 'id="rp-workload"' in html and 'id="rp-suggestions"' in html
    assert "/vendor/leaflet/leaflet.js" in html
    # offline assets only: no script or stylesheet from another host
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    assert "cdnjs" not in html and "unpkg" not in html and "jsdelivr" not in html
    # the east-west partner is drawn as one aggregated arrow, with its target count
    assert "东部某区" in html
    # anonymous readers cannot accept
    assert 'name="suggestion_ids"' not in html


def test_page_in_english(pclient):
    pclient.get("/lang/en")
    html = pclient.get("/pairings/").get_data(as_text=True)
    assert "Coverage per rule" in html and "Helper workload" in html


def test_page_in_chinese_has_translations(pclient):
    html = pclient.get("/pairings/").get_data(as_text=True)
    assert "结对帮扶" in html  # title
    assert "帮扶覆盖" in html  # "Coverage per rule"


def test_household_detail_hidden_from_roles_that_may_not_see_it(pclient):
    data = pclient.get("/pairings/data.json").get_json()
    assert data["households_visible"] == "none"
    for key in ("gaps", "suggestions", "uncovered", "problems"):
        assert all(r.get("target_kind") != "household" for r in data[key])
    assert "HH2" not in pclient.get("/pairings/").get_data(as_text=True)
    # totals still count every household
    hh = [r for r in data["coverage"] if r["rule"] == "cadre_household"][0]
    assert hh["required"] == 3


def test_household_detail_for_planner(pclient):
    login(pclient, "planner1")
    data = pclient.get("/pairings/data.json").get_json()
    assert data["households_visible"] == "all"
    assert {"HH2", "HH3"} <= {g["target_id"] for g in data["gaps"]}
    assert "HH2" in pclient.get("/pairings/").get_data(as_text=True)


def test_sector_assessor_sees_no_households(pclient):
    login(pclient, "sector1")
    data = pclient.get("/pairings/data.json").get_json()
    assert all(g["target_kind"] != "household" for g in data["gaps"])


def _accept_form(client):
    html = client.get("/pairings/").get_data(as_text=True)
    ids = re.findall(r'name="suggestion_ids" value="([^"]+)"', html)
    version = re.search(r'name="version" value="([^"]+)"', html).group(1)
    return ids, version


def test_accept_requires_role(pclient, pairing_workspace):
    login(pclient, "approver1")
    token = csrf_token(pclient, "/pairings/")
    data = pclient.get("/pairings/data.json").get_json()
    ids = [s["suggestion_id"] for s in data["suggestions"]]
    assert ids
    response = pclient.post("/pairings/accept", data={"csrf_token": token, "suggestion_ids": ids,
                                                      "version": data["version"]})
    assert response.status_code == 403
    assert len(pairing_workspace.read_layer("pairings")) == 4


def test_accept_anonymous_goes_to_login(pclient):
    response = pclient.post("/pairings/accept", data={"suggestion_ids": ["S0001"]})
    # CSRF is checked first; either way nothing is written
    assert response.status_code in (302, 400)


def test_accept_requires_csrf(pclient, pairing_workspace):
    login(pclient, "planner1")
    ids, version = _accept_form(pclient)
    response = pclient.post("/pairings/accept", data={"suggestion_ids": ids, "version": version})
    assert response.status_code == 400
    assert len(pairing_workspace.read_layer("pairings")) == 4


def test_accept_writes_pairings_and_audit(pclient, pairing_workspace):
    login(pclient, "planner1")
    before = pclient.get("/pairings/data.json").get_json()
    ids, version = _accept_form(pclient)
    assert ids
    token = csrf_token(pclient, "/pairings/")
    response = pclient.post("/pairings/accept", data={"csrf_token": token, "suggestion_ids": ids,
                                                      "version": version})
    assert response.status_code == 302
    pairings = pairing_workspace.read_layer("pairings")
    assert len(pairings) > 4 and pairings["id"].is_unique
    with pairing_workspace.connect() as con:
        rows = con.execute("SELECT username, action, details FROM rp_audit").fetchall()
    assert len(rows) == 1
    username, action, details = rows[0]
    assert username == "planner1" and action == "pairings.accept_suggestions"
    details = json.loads(details)
    assert sorted(details["suggestion_ids"]) == sorted(ids)
    assert len(details["added"]) == len(pairings) - 4
    after = pclient.get("/pairings/data.json").get_json()
    for b, a in zip(before["coverage"], after["coverage"]):
        assert a["covered"] >= b["covered"]
    assert after["summary"]["n_gaps"] < before["summary"]["n_gaps"]
    # the old version is now stale: a second post with it changes nothing
    token = csrf_token(pclient, "/pairings/")
    n = len(pairings)
    pclient.post("/pairings/accept", data={"csrf_token": token, "suggestion_ids": ids, "version": version})
    assert len(pairing_workspace.read_layer("pairings")) == n


def test_accept_unknown_suggestion_is_400(pclient):
    login(pclient, "admin1")
    _, version = _accept_form(pclient)
    token = csrf_token(pclient, "/pairings/")
    response = pclient.post("/pairings/accept", data={"csrf_token": token, "suggestion_ids": ["S9999"],
                                                      "version": version})
    assert response.status_code == 400


def test_cli_json(pairing_workspace):
    from web.cli import main

    result = CliRunner().invoke(main, ["pairings", "--workspace", str(pairing_workspace.path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {r["rule"] for r in data["coverage"]} >= {"resident_former_poor", "cadre_household"}
    assert data["travel_method"] in ("network", "straight_line")
    assert any(p["problem"] == "unknown_target" for p in data["problems"])
    assert {"gaps", "workload", "suggestions", "uncovered"} <= set(data)
    text = CliRunner(env={"RURALPLAN_LANG": "en"}).invoke(main, ["pairings", "-w", str(pairing_workspace.path),
                                                               "--no-households"])
    # the text names rules by their labels, never by code
    assert text.exit_code == 0 and "Former poor villages: resident team / first secretary" in text.output
    assert "resident_former_poor" not in text.output


# --------------------------------------------------------------------------- data problems in the user's language
def test_problem_details_are_translated(pclient):
    """P4 points at an unknown village: the detail is a translated template, the kind a label."""
    login(pclient, "planner1")
    html = pclient.get("/pairings/").get_data(as_text=True)
    assert "没有编号为 999999999999 的村" in html
    assert "no village with id" not in html
    pclient.get("/lang/en")
    html = pclient.get("/pairings/").get_data(as_text=True)
    assert "no village with id 999999999999" in html


def test_cli_problems_in_the_users_language(pairing_workspace, monkeypatch):
    from web.cli import main

    monkeypatch.setenv("RURALPLAN_LANG", "zh")
    out = CliRunner().invoke(main, ["pairings", "-w", str(pairing_workspace.path), "--travel", "none"]).output
    from web.i18n import catalog_gettext
    from web.services.pairings import PROBLEM_LABELS

    assert "没有编号为 999999999999 的村" in out and "unknown_target" not in out
    assert catalog_gettext("zh")(PROBLEM_LABELS["unknown_target"]) in out  # the kind by its label
    monkeypatch.setenv("RURALPLAN_LANG", "en")
    out = CliRunner().invoke(main, ["pairings", "-w", str(pairing_workspace.path), "--travel", "none"]).output
    assert "no village with id 999999999999" in out


# --------------------------------------------------------------------------- atomic accept and the audit view
def test_accept_refuses_a_layer_changed_after_the_analysis(pairing_workspace):
    """The lost update: another writer adds a pairing between the analysis and the accept."""
    from web.services.pairings import PairingsChanged, accept_suggestions, analyse_workspace

    result = analyse_workspace(pairing_workspace, travel="straight_line")
    ids = list(result.analysis.suggestions["suggestion_id"])
    assert ids
    with pairing_workspace.editing() as edit:  # someone else's edit lands first
        current = edit.read_layer("pairings")
        extra = current.iloc[[0]].assign(id="OTHER-1")
        edit.write_layer("pairings", pd.concat([current, extra], ignore_index=True))
    with pytest.raises(PairingsChanged):
        accept_suggestions(pairing_workspace, result, ids, username="planner1")
    pairings = pairing_workspace.read_layer("pairings")
    assert len(pairings) == 5 and "OTHER-1" in set(pairings["id"])  # the other edit survives, nothing added
    from layers.audit import read_audit

    assert read_audit(pairing_workspace) == []


def test_accept_writes_layer_and_audit_together_or_not_at_all(pairing_workspace, monkeypatch):
    from web.services import pairings as views

    result = views.analyse_workspace(pairing_workspace, travel="straight_line")
    ids = list(result.analysis.suggestions["suggestion_id"])
    monkeypatch.setattr(views, "audit_statement", lambda *a, **k: ("INSERT INTO no_such_table VALUES (?)", (1,)))
    with pytest.raises(Exception, match="no_such_table"):
        views.accept_suggestions(pairing_workspace, result, ids, username="planner1")
    assert len(pairing_workspace.read_layer("pairings")) == 4  # the failed audit row took the layer write with it


def test_audit_view_for_planners_only(pclient, papp):
    login(pclient, "planner1")
    assert 'id="rp-audit-empty"' in pclient.get("/pairings/").get_data(as_text=True)
    ids, version = _accept_form(pclient)
    token = csrf_token(pclient, "/pairings/")
    pclient.post("/pairings/accept", data={"csrf_token": token, "suggestion_ids": ids, "version": version})
    html = pclient.get("/pairings/").get_data(as_text=True)
    audit = html[html.index('id="rp-audit"'):]
    assert "采纳建议" in audit and "planner1" in audit and ids[0] in audit
    assert 'id="rp-audit' not in papp.test_client().get("/pairings/").get_data(as_text=True)  # anonymous
    approver = login(papp.test_client(), "approver1")
    assert 'id="rp-audit' not in approver.get("/pairings/").get_data(as_text=True)


# -- paging and opt-in suggestions (issue 15) ---------------------------------------------------
def test_page_rows_clamps_and_counts():
    from web.views.pairings import page_rows

    rows = list(range(120))
    first = page_rows(rows, None, per_page=50)
    assert first["rows"] == list(range(50)) and first["pages"] == 3 and first["total"] == 120 and first["page"] == 1
    last = page_rows(rows, "3", per_page=50)
    assert last["rows"] == list(range(100, 120)) and last["first"] == 100
    assert page_rows(rows, "99", per_page=50)["page"] == 3  # a stale link shows the last page
    assert page_rows(rows, "-2", per_page=50)["page"] == 1 and page_rows(rows, "x", per_page=50)["page"] == 1
    empty = page_rows([], "2", per_page=50)
    assert empty["rows"] == [] and empty["pages"] == 1 and empty["page"] == 1


def _workload_names(html):
    table = html[html.index('id="rp-workload"'):]
    table = table[:table.index("</table>")]
    return re.findall(r"<tr[^>]*>\s*<td>([^<]+)</td>", table)


def test_workload_table_is_paged_on_the_server(pclient, monkeypatch):
    from web.views import pairings as view

    every = [w["helper_name"] for w in pclient.get("/pairings/data.json").get_json()["workload"]]
    assert len(every) >= 3
    monkeypatch.setattr(view, "PAGE_ROWS", 2)
    html = pclient.get("/pairings/").get_data(as_text=True)
    assert _workload_names(html) == every[:2]
    pager = html[html.index('id="rp-workload-pager"'):]
    assert "page=2" in pager[:pager.index("</nav>")]
    second = _workload_names(pclient.get("/pairings/?page=2").get_data(as_text=True))
    assert second == every[2:4]
    # the other tables keep their own page while the workload moves
    html = pclient.get("/pairings/?gaps_page=1").get_data(as_text=True)
    pager = html[html.index('id="rp-workload-pager"'):]
    links = re.findall(r'href="([^"]+)"', pager[:pager.index("</nav>")])
    assert links and all("gaps_page=1" in link and "#rp-workload" in link for link in links)


def test_no_suggestion_is_ticked_by_default(pclient):
    login(pclient, "planner1")
    html = pclient.get("/pairings/").get_data(as_text=True)
    form = html[html.index('id="rp-accept-form"'):]
    form = form[:form.index("</form>")]
    boxes = re.findall(r"<input[^>]*type=\"checkbox\"[^>]*>", form)
    assert len(boxes) >= 2  # the select-all box and at least one suggestion
    assert not [b for b in boxes if re.search(r"\schecked(\s|>|=)", b)]


def test_coverage_by_town_matrix_pivots_rows():
    from web.services.pairings import coverage_by_town_matrix

    rows = [{"town": "甲镇", "rule": "r1", "required": 2, "covered": 1, "gaps": 1, "share": 0.5},
            {"town": "甲镇", "rule": "r2", "required": 3, "covered": 3, "gaps": 0, "share": 1.0},
            {"town": "乙乡", "rule": "r2", "required": 1, "covered": 0, "gaps": 1, "share": 0.0}]
    rules, towns = coverage_by_town_matrix(rows)
    assert rules == ["r1", "r2"]
    assert [t["town"] for t in towns] == ["甲镇", "乙乡"]
    assert towns[0]["cells"]["r1"]["covered"] == 1 and "r1" not in towns[1]["cells"]


def test_cached_map_is_per_visibility_and_data(papp, pairing_workspace, monkeypatch):
    from collections import OrderedDict

    from web.views import pairings as view

    monkeypatch.setattr(view, "_MAP_CACHE", OrderedDict())  # earlier tests may have filled it
    planner = login(papp.test_client(), "planner1")
    assert "HH2" in planner.get("/pairings/").get_data(as_text=True)
    n = len(view._MAP_CACHE)
    # an anonymous reader right after: its own map, no household in it
    html = papp.test_client().get("/pairings/").get_data(as_text=True)
    assert "HH2" not in html and len(view._MAP_CACHE) == n + 1
    # a second planner request is served from the cache; a data change draws a new map
    planner.get("/pairings/")
    assert len(view._MAP_CACHE) == n + 1
    villages = pairing_workspace.read_layer("villages")
    villages.loc[0, "name"] = "改名村"
    pairing_workspace.write_layers({"villages": villages})
    assert "改名村" in planner.get("/pairings/").get_data(as_text=True)
