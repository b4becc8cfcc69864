"""Project library pages and API: roles (403), CSRF, conflicts, history, notice export."""
from __future__ import annotations

import io
import json
import re

import pytest

from layers import proposals as P
from layers import workflow as W
from web import create_app
from web.services.users import add_user, get_user

from .conftest import PASSWORD, csrf_token, login
from .sample import XSS_NAME


def _village(ws, i=0):
    v = ws.read_layer("villages")
    return str(v["code"].iloc[i]), v.geometry.iloc[i]


def _data(ws, **kw):
    code, pt = _village(ws)
    data = {"name": "测试冷库", "category": "cold_chain", "town": "东岭镇", "village_code": code,
            "content": "新建保鲜库500吨", "budget_wan": 200, "geometry": f"POINT ({pt.x + 0.002} {pt.y})",
            "commodities": ["apple"], "beneficiary_villages": [code], "beneficiary_households": 30,
            "beneficiary_monitored": 4, "expected_jobs": 6, "farmer_links": ["wage", "dividend"],
            "performance_targets": "年周转苹果500吨", "year": 2024}
    data.update(kw)
    return data


def _walk(ws, p, steps):
    for username, action in steps:
        p = W.transition(ws, p.id, action, actor=get_user(ws, username), expected_version=p.version,
                         comment=f"{username} {action}")
    return p


TO_SUBMITTED = [("village1", "submit")]
TO_TOWN = TO_SUBMITTED + [("town1", "approve")]
TO_SECTOR = TO_TOWN + [("sector1", "approve")]
TO_COUNTY = TO_SECTOR + [("approver1", "approve")]
TO_PUBLISHED = TO_COUNTY + [("approver1", "publish")]


@pytest.fixture
def users(workspace):
    add_user(workspace, "town2", PASSWORD, "town_reviewer", town="东岭镇")
    add_user(workspace, "town_west", PASSWORD, "town_reviewer", town="西河乡")
    add_user(workspace, "transport1", PASSWORD, "sector_assessor", sector="交通运输局")
    code, _ = _village(workspace, 2)
    add_user(workspace, "village_other", PASSWORD, "village_applicant", village=code)
    return workspace


def _post_action(client, p, action, *, version=None, comment="", token=True):
    data = {"action": action, "version": str(p.version if version is None else version), "comment": comment}
    if token:
        data["csrf_token"] = csrf_token(client, f"/projects/{p.id}")
    return client.post(f"/projects/{p.id}/transition", data=data)


def test_library_is_readable_and_lists_with_filters(client, workspace):
    P.create_proposal(workspace, _data(workspace), created_by="village1")
    P.create_proposal(workspace, _data(workspace, name="道路硬化", category="infrastructure", budget_wan=80),
                      created_by="planner1")
    html = client.get("/projects/").get_data(as_text=True)
    assert "测试冷库" in html and "道路硬化" in html and "项目库" in html
    html = client.get("/projects/?category=infrastructure").get_data(as_text=True)
    assert "道路硬化" in html and "测试冷库" not in html
    html = client.get("/projects/?max_budget=100").get_data(as_text=True)
    assert "道路硬化" in html and "测试冷库" not in html
    assert client.get("/projects/?category=castle").status_code == 400
    data = client.get("/api/v1/proposals?town=东岭镇").get_json()
    assert data["count"] == 2 and all(p["allowed_actions"] == [] for p in data["proposals"])


def test_create_needs_the_right_role(client, users, login_as):
    assert client.get("/projects/new").status_code == 302  # anonymous: to the login page
    login_as("approver1")  # the county approves; it does not propose (towns and sectors do: test_levels.py)
    assert client.get("/projects/new").status_code == 403
    login_as("village1")
    token = csrf_token(client, "/projects/new")
    other, _ = _village(users, 2)
    form = {k: v for k, v in _data(users, village_code=other).items() if not isinstance(v, list)}
    assert client.post("/projects/new", data={**form, "csrf_token": token}).status_code == 403
    form = {k: v for k, v in _data(users).items() if not isinstance(v, list)}
    response = client.post("/projects/new", data={**form, "commodities": ["apple"], "csrf_token": token})
    assert response.status_code == 303
    created = P.list_proposals(users)[0]
    assert created.created_by == "village1" and created.town == "东岭镇" and created.village_name


def test_form_reports_invalid_fields(client, users, login_as):
    login_as("village1")
    token = csrf_token(client, "/projects/new")
    code, _ = _village(users)
    response = client.post("/projects/new", data={"csrf_token": token, "name": "", "village_code": code,
                                                  "category": "cold_chain", "content": "x", "budget_wan": "-5",
                                                  "geometry": "POINT (500000 3900000)"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('class="rpp-error"') >= 3 and P.list_proposals(users) == []
    # each field's message in the page's language (they were English in the zh form)
    assert "不能小于 0" in html and "位置须为中国境内的经纬度" in html
    assert "must be at least" not in html and "longitude/latitude" not in html


@pytest.mark.parametrize("steps, allowed, forbidden", [
    ([], {"village1": "submit"}, ["village_other", "town1", "sector1", "approver1", "planner1", "admin1"]),
    (TO_SUBMITTED, {"town1": "approve"}, ["town_west", "village1", "sector1", "approver1", "admin1"]),
    (TO_TOWN, {"sector1": "approve"}, ["transport1", "town1", "approver1", "admin1"]),
    (TO_SECTOR, {"approver1": "approve"}, ["sector1", "town1", "planner1", "admin1"]),
    (TO_COUNTY, {"approver1": "publish"}, ["sector1", "town1", "village1", "admin1"]),
])
def test_each_stage_only_its_role_may_act(app, users, steps, allowed, forbidden):
    p = _walk(users, P.create_proposal(users, _data(users), created_by="village1"), steps)
    ((good, action),) = allowed.items()
    for username in forbidden:
        client = app.test_client()
        assert login(client, username).status_code == 302
        html = client.get(f"/projects/{p.id}").get_data(as_text=True)
        assert 'id="action-form"' not in html, username
        assert _post_action(client, p, action, comment="x").status_code == 403, username
        api = client.post(f"/api/v1/proposals/{p.id}/transitions", json={"action": action, "version": p.version,
                                                                        "comment": "x"},
                          headers={"X-CSRFToken": csrf_token(client, "/projects/")})
        assert api.status_code == 403 and username in api.get_json()["error"]["message"]
    assert P.get_proposal(users, p.id).version == p.version
    client = app.test_client()
    login(client, good)
    assert f'id="action-{action}"' in client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert _post_action(client, p, action, comment="同意").status_code == 303
    assert P.history(users, p.id)[-1].actor == good


def test_anonymous_transition_goes_to_login(client, users):
    p = P.create_proposal(users, _data(users), created_by="village1")
    response = _post_action(client, p, "submit")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert client.post(f"/api/v1/proposals/{p.id}/transitions", json={"action": "submit", "version": 1},
                       headers={"X-CSRFToken": csrf_token(client)}).status_code == 401


def test_transitions_need_csrf(client, users, login_as):
    p = P.create_proposal(users, _data(users), created_by="village1")
    login_as("village1")
    assert _post_action(client, p, "submit", token=False).status_code == 400
    assert client.post(f"/api/v1/proposals/{p.id}/transitions", json={"action": "submit", "version": 1}
                       ).status_code == 400
    assert P.get_proposal(users, p.id).status == "draft"


def test_return_needs_a_reason_and_keeps_the_page(client, users, login_as):
    p = _walk(users, P.create_proposal(users, _data(users), created_by="village1"), TO_SUBMITTED)
    login_as("town1")
    response = _post_action(client, p, "return", comment="  ")
    assert response.status_code == 400 and 'id="action-error"' in response.get_data(as_text=True)
    assert P.get_proposal(users, p.id).status == "submitted"


def test_two_reviewers_at_once_one_wins_the_other_sees_a_conflict(app, users):
    p = _walk(users, P.create_proposal(users, _data(users), created_by="village1"), TO_SUBMITTED)
    first, second = app.test_client(), app.test_client()
    login(first, "town1")
    login(second, "town2")
    # both opened the page at the same version
    t1, t2 = csrf_token(first, f"/projects/{p.id}"), csrf_token(second, f"/projects/{p.id}")
    r1 = first.post(f"/projects/{p.id}/transition", data={"csrf_token": t1, "action": "approve",
                                                          "version": str(p.version), "comment": "同意"})
    r2 = second.post(f"/projects/{p.id}/transition", data={"csrf_token": t2, "action": "reject",
                                                           "version": str(p.version), "comment": "选址不当，请重新选址"})
    assert r1.status_code == 303 and r2.status_code == 409
    html = r2.get_data(as_text=True)
    assert 'id="conflict-message"' in html and "town1" in html
    assert "选址不当，请重新选址" in html  # the loser's comment is handed back, not lost
    hist = P.history(users, p.id)
    assert [h.action for h in hist] == ["submit", "approve"] and hist[-1].actor == "town1"
    # the API says the same in JSON
    r3 = second.post(f"/api/v1/proposals/{p.id}/transitions",
                     json={"action": "approve", "version": p.version, "comment": "也同意"},
                     headers={"X-CSRFToken": t2})
    body = r3.get_json()["error"]
    assert r3.status_code == 409 and body["your_comment"] == "也同意" and body["last"]["actor"] == "town1"


def test_history_records_every_step_with_the_evaluation_seen(app, users):
    p = P.create_proposal(users, _data(users), created_by="village1")
    for username, action in TO_PUBLISHED:
        client = app.test_client()
        login(client, username)
        p = P.get_proposal(users, p.id)
        assert _post_action(client, p, action, comment=f"{username}意见").status_code == 303
    hist = client.get(f"/api/v1/proposals/{p.id}/transitions?evaluation=1").get_json()["transitions"]
    assert [(h["actor"], h["action"], h["from_status"], h["to_status"]) for h in hist] == [
        ("village1", "submit", "draft", "submitted"), ("town1", "approve", "submitted", "town_approved"),
        ("sector1", "approve", "town_approved", "sector_approved"),
        ("approver1", "approve", "sector_approved", "county_approved"),
        ("approver1", "publish", "county_approved", "published")]
    assert all(h["comment"].endswith("意见") for h in hist)
    reviews = hist[1:]
    assert all(h["evaluation"] and "score" in h["evaluation"] and "features" not in h["evaluation"] for h in reviews)
    assert reviews[0]["evaluation"]["proposal"]["version"] == 2
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert html.count("<tr data-action=") == 5 and 'id="action-start"' in html


def test_detail_shows_every_evaluation_component(client, users):
    p = P.create_proposal(users, _data(users), created_by="village1")
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    for section in ("evaluation-score", "evaluation-access", "evaluation-catchment", "evaluation-coverage",
                    "evaluation-conflicts", "evaluation-alternative", "history", "rpp-map"):
        assert f'id="{section}"' in html, section
    ev = client.get(f"/api/v1/proposals/{p.id}/evaluation").get_json()
    assert {c["name"] for c in ev["score"]["components"]} == {"access", "service", "coverage", "redundancy",
                                                               "constraints"}
    assert "features" not in ev and client.get(f"/api/v1/proposals/{p.id}/evaluation?features=1").get_json()["features"]


def test_api_create_update_and_conflict(client, users, login_as):
    login_as("village1")
    token = csrf_token(client, "/projects/")
    created = client.post("/api/v1/proposals", json=_data(users), headers={"X-CSRFToken": token})
    assert created.status_code == 201
    body = created.get_json()
    assert body["allowed_actions"] == ["submit"] and body["may_edit"] and body["geometry"]["type"] == "Point"
    bad = client.post("/api/v1/proposals", json=_data(users, budget_wan="lots"), headers={"X-CSRFToken": token})
    # a string where the number goes is malformed (400 naming the field); a bad choice is invalid (422)
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "budget_wan"
    assert "budget_wan" in bad.get_json()["error"]["fields"]
    bad = client.post("/api/v1/proposals", json=_data(users, category="castle"), headers={"X-CSRFToken": token})
    assert bad.status_code == 422 and "category" in bad.get_json()["error"]["fields"]
    url = f"/api/v1/proposals/{body['id']}"
    ok = client.patch(url, json={"version": 1, "budget_wan": 180}, headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.get_json()["budget_wan"] == 180 and ok.get_json()["version"] == 2
    stale = client.patch(url, json={"version": 1, "budget_wan": 170}, headers={"X-CSRFToken": token})
    assert stale.status_code == 409
    moved = client.post(f"{url}/transitions", json={"action": "submit", "version": 2}, headers={"X-CSRFToken": token})
    assert moved.status_code == 200 and moved.get_json()["proposal"]["status"] == "submitted"
    assert client.patch(url, json={"version": 3, "budget_wan": 1}, headers={"X-CSRFToken": token}).status_code == 403


def test_user_text_is_escaped(client, users):
    P.create_proposal(users, _data(users, name=XSS_NAME, content=XSS_NAME), created_by="village1")
    for path in ("/projects/", "/projects/1"):
        html = client.get(path).get_data(as_text=True)
        assert XSS_NAME not in html and "&lt;script&gt;" in html or "\\u003cscript" in html


def test_notice_page_and_excel(client, users):
    p = _walk(users, P.create_proposal(users, _data(users), created_by="village1"), TO_PUBLISHED)
    q = _walk(users, P.create_proposal(users, _data(users, name="第二冷库", budget_wan=50.5, construction_type="扩建",
                                                    period="2026年3月—2026年10月", responsible_unit="县农业农村局"),
                                       created_by="village1"), TO_PUBLISHED)
    P.create_proposal(users, _data(users, name="草稿项目"), created_by="village1")
    users.set_meta(notice_office="测试县乡村振兴局")
    html = client.get("/projects/notice").get_data(as_text=True)
    assert "测试冷库" in html and "草稿项目" not in html and "衔接资金" in html and "年周转苹果500吨" in html
    for header in ("项目名称", "建设性质", "建设地点", "建设内容及规模", "资金来源及规模", "实施期限", "责任单位",
                   "绩效目标", "联农带农机制"):
        assert f">{header}</th>" in html, header
    assert "合计（2个项目）" in html and "250.50" in html  # 200 + 50.5 万元
    assert "测试县乡村振兴局" in html and "notice-print.css" in html
    from web.formatting import beijing_today, format_date_zh, to_beijing

    published = max(t.at for t in P.history(users, q.id) if t.to_status == "published")
    assert format_date_zh(to_beijing(published).date()) in html
    assert to_beijing(published).date() in (beijing_today(), beijing_today() - __import__("datetime").timedelta(days=1))
    response = client.get("/projects/notice.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in disposition
    from urllib.parse import unquote

    assert unquote(disposition.split("filename*=UTF-8''")[1]).endswith("项目公示.xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert "项目公示" in rows[0][0] and rows[1][:4] == ["序号", "项目名称", "项目类别", "建设性质"]
    assert rows[1][6] == "资金来源及规模" and rows[2][6:8] == ["资金来源", "规模（万元）"]
    assert rows[3][1] == "测试冷库" and rows[3][3] == "新建" and rows[3][6] == "衔接资金" and rows[3][7] == 200
    assert rows[4][1] == "第二冷库" and rows[4][3] == "扩建" and rows[4][8] == "2026年3月—2026年10月"
    assert rows[4][9] == "县农业农村局" and rows[3][9].endswith("人民政府")
    assert "受益户30户（其中监测户4户）" in rows[3][11]
    assert rows[5][0] == "合计（2个项目）" and rows[5][7] == 250.5
    assert rows[6][0].startswith("公示期：") and "反映" in rows[6][0]
    assert rows[8][8] == "测试县乡村振兴局" and rows[9][8] == format_date_zh(to_beijing(published).date())
    setup = sheet.page_setup
    assert setup.orientation == "landscape" and int(setup.paperSize) == 9 and int(setup.fitToWidth) == 1
    assert int(setup.fitToHeight) == 0 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$2:$3" or sheet.print_title_rows == "2:3"
    assert re.search(r"东经\d+\.\d+°", rows[3][4]) and p.status == "published"


def test_notice_reads_a_workspace_from_before_the_notice_fields(users):
    """An old rp_proposals table (no 建设性质/实施期限/责任单位 columns) still reads, then gains them."""
    p = P.create_proposal(users, _data(users), created_by="village1")
    with users.transaction() as con:
        for col in ("construction_type", "period", "responsible_unit"):
            con.execute(f"ALTER TABLE rp_proposals DROP COLUMN {col}")
    old = P.get_proposal(users, p.id)
    assert old.construction_type == "new" and old.period is None and old.responsible_unit is None
    assert [x.id for x in P.list_proposals(users)] == [p.id]
    P.update_proposal(users, p.id, {"period": "2026年度"}, expected_version=old.version)
    assert P.get_proposal(users, p.id).period == "2026年度"


def test_notice_signature_date_is_beijing():
    from web.formatting import format_date_zh, to_beijing

    # 17:00 UTC on 30 Nov is 01:00 on 1 Dec in Beijing: the notice is dated the 1st.
    assert format_date_zh(to_beijing("2026-11-30T17:00:00+00:00").date()) == "2026年12月1日"
    assert format_date_zh(to_beijing("2026-11-30T15:59:59Z").date()) == "2026年11月30日"


def test_portfolio_page(client, users):
    a = _walk(users, P.create_proposal(users, _data(users), created_by="village1"), TO_TOWN)
    code, pt = _village(users, 4)
    P.create_proposal(users, _data(users, name="另一冷库", geometry=f"POINT ({pt.x} {pt.y})"), created_by="planner1")
    html = client.get("/projects/portfolio?category=cold_chain&budget=250").get_data(as_text=True)
    assert 'id="portfolio-selection"' in html and a.name in html and 'id="portfolio-towns"' in html
    data = client.get("/api/v1/proposals/portfolio?category=cold_chain&budget=250").get_json()
    # (the selection itself is tested on a hand-built network in tests/planner/test_evaluate.py)
    listed = [r["proposal_id"] for r in data["selected"] + data["not_selected"]]
    assert listed == [a.id] and data["spent_wan"] <= 250 and data["solver"]["model"] == "mclp"
    assert {t["town"] for t in data["by_town"]} == {"东岭镇", "西河乡"}
    assert client.get("/api/v1/proposals/portfolio?category=cold_chain").status_code == 400


def test_english_labels(client, users):
    P.create_proposal(users, _data(users), created_by="village1")
    client.get("/lang/en")
    html = client.get("/projects/1").get_data(as_text=True)
    assert "Evaluation on location" in html and "Draft" in html
    client.get("/lang/zh")
    assert "选址评估" in client.get("/projects/1").get_data(as_text=True)


def test_workflow_rules_are_published():
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})
    rules = app.test_client().get("/api/v1/proposals/workflow").get_json()
    assert {"from_status": "submitted", "action": "approve", "to_status": "town_approved", "role": "town_reviewer",
            "scope": "town"} in rules["steps"]


# --------------------------------------------------------------------------- detail page in the demo county
@pytest.fixture
def demo_client(demo_copy):
    P.load_demo_proposals(demo_copy)
    return create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(demo_copy.path), "SECRET_KEY": "x",
                       "SESSION_COOKIE_SECURE": False}).test_client()


def _proposal_with(client, check):
    for pid in range(1, 6):
        ev = client.get(f"/api/v1/proposals/{pid}/evaluation").get_json()
        if "score" in ev and check(ev):
            return pid, ev
    raise AssertionError("no demo proposal fits")


def test_detail_speaks_the_users_language_not_codes(demo_client, demo_copy):
    """Constraint kinds by label, villages by name (code in a tooltip), 30 not 30.0 minutes."""
    pid, ev = _proposal_with(demo_client, lambda ev: ev["conflicts"])
    p = P.get_proposal(demo_copy, pid)
    html = demo_client.get(f"/projects/{pid}").get_data(as_text=True)
    conflicts = html[html.index('id="evaluation-conflicts"'):html.index('id="evaluation-alternative"')]
    kind = ev["conflicts"][0]["kind"]
    assert f"({kind})" not in conflicts
    assert {"basic_farmland": "永久基本农田", "ecological_redline": "生态保护红线", "hazard": "地质灾害隐患区"}[kind] \
        in conflicts
    villages = demo_copy.read_layer("villages").set_index("code")["name"]
    listed = html[html.index('id="beneficiary-villages"'):].split("</dd>")[0]
    for code in p.beneficiary_villages:
        assert f'<span title="{code}">{villages[code]}</span>' in listed
    assert "30.0" not in html and "30 分钟服务范围" in html and "5.0 公里" not in html
    assert "None" not in html.replace("None;", "")
    demo_client.set_cookie("rp_lang", "en")
    html = demo_client.get(f"/projects/{pid}").get_data(as_text=True)
    assert {"basic_farmland": "Permanent basic farmland", "ecological_redline": "Ecological red line",
            "hazard": "Hazard zone"}[kind] in html


def test_best_alternative_only_when_it_gains_something(demo_client):
    pid, ev = _proposal_with(demo_client, lambda ev: ev["alternative"]["best"] and not ev["alternative"]["extra_gain"])
    html = demo_client.get(f"/projects/{pid}").get_data(as_text=True)
    box = html[html.index('id="evaluation-alternative"'):]
    assert 'id="no-better-site"' in box and "5 公里范围内没有更优选址" in box
    config = json.loads(html.split('id="rpp-data">')[1].split("</script>")[0])
    assert not {f["properties"]["role"] for f in config["features"]} & {"best_alternative", "alternative"}
    pid, ev = _proposal_with(demo_client, lambda ev: ev["alternative"]["extra_gain"] > 1)
    html = demo_client.get(f"/projects/{pid}").get_data(as_text=True)
    box = html[html.index('id="evaluation-alternative"'):]
    assert 'id="no-better-site"' not in box and "比申报位置多" in box


def test_detail_map_has_boundaries_and_main_roads_underneath(demo_client):
    html = demo_client.get("/projects/1").get_data(as_text=True)
    assert '"road_class": "national"' in html and '"level": "county"' in html
    assert '"road_class": "village"' not in html  # major roads only
    assert '"interactive": false' in html  # clicks go through to the map (drawing a site)


def test_api_cannot_route_a_proposal_to_another_town(demo_copy):
    """The town decides who reviews: it follows the applicant village, not the client."""
    from layers import proposals as P
    from web import create_app
    from web.services.users import add_user

    ws = demo_copy
    villages = ws.read_layer("villages")
    mine = villages.iloc[0]
    other_town = next(t for t in villages["town"] if t != mine["town"])
    add_user(ws, "cun2", "pw-cun2-123", "village_applicant", village=str(mine["code"]))
    app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "RURALPLAN_WORKSPACE": str(ws.path),
                      "SECRET_KEY": "t"})
    client = app.test_client()
    client.post("/auth/login", data={"username": "cun2", "password": "pw-cun2-123"})
    body = {"name": "测试", "category": "cold_chain", "village_code": str(mine["code"]), "town": other_town,
            "village_name": "假村", "content": "x", "budget_wan": 10, "fund_source": "linkage",
            "geometry": [float(mine.geometry.x), float(mine.geometry.y)]}
    created = client.post("/api/v1/proposals", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    pid = created.json["id"]
    assert P.get_proposal(ws, pid).town == mine["town"] and P.get_proposal(ws, pid).village_name == mine["name"]
    patched = client.patch(f"/api/v1/proposals/{pid}", json={"version": P.get_proposal(ws, pid).version,
                                                             "town": other_town})
    assert patched.status_code == 200
    assert P.get_proposal(ws, pid).town == mine["town"]
