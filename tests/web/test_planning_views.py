"""The planning page on the demo county: run, errors, scenarios (role + CSRF), compare, export."""
from __future__ import annotations

import io
import json
import re

import pytest

from web import create_app
from web.services.users import add_user

from .conftest import PASSWORD, login

DEMO_QUESTION = {"facility": "cold_storage", "model": "mclp", "limit": "p", "p": "3", "minutes": "30",
                 "demand": "produce:apple,hawthorn", "candidates": "towns"}


def _app(path):
    return create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(path), "SECRET_KEY": "planning-test",
                       "SESSION_COOKIE_SECURE": False})


@pytest.fixture(scope="module")
def demo_app(demo_workspace):
    return _app(demo_workspace.path)


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


@pytest.fixture
def writable(demo_copy):
    """A writable demo county with a planner, a second planner, an admin and a sector assessor."""
    for name, role, scope in (("planner1", "planner", {}), ("planner2", "planner", {}), ("admin1", "admin", {}),
                              ("sector1", "sector_assessor", {"sector": "农业农村局"})):
        add_user(demo_copy, name, PASSWORD, role, **scope)
    app = _app(demo_copy.path)
    return app, demo_copy


def _token(client) -> str:
    html = client.get("/planning/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def _save(client, name, token, **overrides):
    data = {**DEMO_QUESTION, **overrides, "name": name}
    headers = {"X-CSRFToken": token, "Accept": "application/json"} if token else {"Accept": "application/json"}
    return client.post("/planning/scenarios", data=data, headers=headers)


# --------------------------------------------------------------------------- page
def test_page_renders_in_chinese_and_english(demo_client):
    html = demo_client.get("/planning/").get_data(as_text=True)
    assert "选址规划" in html and "最大覆盖" in html and "苹果" in html and "冷库" in html
    assert "rpplanning.js" in html and 'id="rp-plan-form"' in html
    demo_client.set_cookie("rp_lang", "en")
    html = demo_client.get("/planning/").get_data(as_text=True)
    assert "Site planning" in html and "Maximal coverage" in html and "Apple" in html
    assert "选址规划" not in html


def test_anonymous_may_run_but_not_save(demo_client):
    html = demo_client.get("/planning/").get_data(as_text=True)
    assert 'id="rp-save-form"' not in html


# --------------------------------------------------------------------------- the demo question
def test_demo_question_three_new_cold_stores_with_explanations(demo_client):
    response = demo_client.get("/planning/run.json", query_string=DEMO_QUESTION)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert "plan;dur=" in response.headers["Server-Timing"]
    data = response.get_json()
    result = data["result"]
    solver = result["solver"]
    assert solver["status"] == "optimal" and solver["gap"] <= 0.001
    new = [s for s in result["sites"] if not s["fixed"]]
    existing = [s for s in result["sites"] if s["fixed"]]
    assert len(new) == 3 and len(existing) >= 1
    for site in new:
        assert site["demand_served"] > 0 and site["demand_count"] > 0
        assert site["loss_if_removed"] >= 0
        assert site["nearest_existing"] and "min" in site["nearest_existing"]
        assert site["runner_up"] and site["runner_up_delta"] is not None
    totals = result["totals"]
    assert totals["new_sites"] == 3 and totals["covered_after"] > totals["covered_before"]
    assert sum(r["covered_after"] for r in result["by_town"]) == pytest.approx(totals["covered_after"])
    assert data["weight_text"].startswith("产量") and "苹果" in data["weight_text"]
    # GeoJSON: every open site, one line per served village, one service area per NEW site
    assert len(data["sites"]["features"]) == len(result["sites"])
    assert {f["geometry"]["type"] for f in data["allocations"]["features"]} == {"LineString"}
    areas = data["areas"]["features"]
    assert len(areas) == 3 and {a["properties"]["site_id"] for a in areas} == {s["id"] for s in new}
    assert all(a["geometry"]["type"] in ("Polygon", "MultiPolygon") and a["properties"]["cutoff_min"] == 30
               for a in areas)
    # the same question again comes from the cache
    again = demo_client.get("/planning/run.json", query_string=DEMO_QUESTION).get_json()
    assert again["timing"]["cached"] and again["timing"]["areas_cached"]
    assert again["result"]["sites"] == result["sites"]


def test_deferred_areas_then_areas_endpoint(demo_client):
    q = {**DEMO_QUESTION, "p": "2"}
    data = demo_client.get("/planning/run.json", query_string={**q, "areas": "defer"}).get_json()
    assert data["areas"] is None and len([s for s in data["result"]["sites"] if not s["fixed"]]) == 2
    areas = demo_client.get("/planning/areas.json", query_string=q).get_json()
    assert areas["type"] == "FeatureCollection" and len(areas["features"]) == 2


@pytest.mark.parametrize("model, extra", [("pmedian", {}), ("pcenter", {}), ("lscp", {"p": ""}),
                                          ("cmclp", {"demand": "produce:apple"}),
                                          ("mclp", {"limit": "budget", "budget": "900", "p": ""})])
def test_other_models_and_budget(demo_client, model, extra):
    q = {**DEMO_QUESTION, "model": model, "areas": "defer", **extra}
    response = demo_client.get("/planning/run.json", query_string=q)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    result = response.get_json()["result"]
    assert result["model"] == model and result["totals"]["new_sites"] >= 1
    if "budget" in extra:  # 400 万元 per new cold store by default: two fit in 900
        assert result["totals"]["new_sites"] == 2


def test_drawn_candidate_points(demo_client, demo_workspace):
    towns = demo_workspace.read_layer("towns").dropna(subset=["geometry"])
    points = ";".join(f"{g.x + 0.001:.5f},{g.y:.5f}" for g in towns.geometry.iloc[:4])
    q = {**DEMO_QUESTION, "candidates": "drawn", "points": points, "p": "2", "areas": "defer"}
    result = demo_client.get("/planning/run.json", query_string=q).get_json()["result"]
    new = [s for s in result["sites"] if not s["fixed"]]
    assert len(new) == 2 and all(s["id"].startswith("drawn-") for s in new)


@pytest.mark.parametrize("override, needle_zh, needle_en", [
    ({"p": "abc"}, "必须是数字", "must be a number"),
    ({"model": "nonsense"}, "未知的模型", "Unknown model"),
    ({"demand": "produce:banana"}, "未知的产品", "Unknown commodity"),
    ({"demand": "wealth"}, "需求权重", "demand weight"),
    ({"minutes": ""}, "通行时间阈值", "travel-time cutoff"),
    ({"candidates": "drawn"}, "请先在地图上点击", "Click on the map"),
    ({"candidates": "drawn", "points": "1;2"}, "经度,纬度", "longitude,latitude"),
    ({"p": "40"}, "候选点只有", "only 12 candidate sites"),
])
def test_bad_input_is_a_400_with_a_message_in_both_languages(demo_client, override, needle_zh, needle_en):
    q = {**DEMO_QUESTION, **override, "areas": "defer"}
    response = demo_client.get("/planning/run.json", query_string=q)
    assert response.status_code == 400
    assert needle_zh in response.get_json()["error"]["message"]
    demo_client.set_cookie("rp_lang", "en")
    response = demo_client.get("/planning/run.json", query_string=q)
    assert response.status_code == 400
    assert needle_en in response.get_json()["error"]["message"]


# --------------------------------------------------------------------------- scenarios
def test_saving_needs_csrf_and_a_role_that_may_change_data(writable):
    app, ws = writable
    client = app.test_client()
    token = _token(client)
    anonymous = _save(client, "匿名", token)
    assert anonymous.status_code == 302 and "/auth/login" in anonymous.headers["Location"]
    login(client, "sector1")
    assert _save(client, "部门", _token(client)).status_code == 403
    client.post("/auth/logout", data={"csrf_token": _token(client)})
    login(client, "planner1")
    assert _save(client, "no token", None).status_code == 400
    response = _save(client, "三座冷库 30分钟", _token(client))
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    saved = response.get_json()["scenario"]
    assert saved["name"] == "三座冷库 30分钟" and saved["username"] == "planner1"
    assert len(saved["summary"]["new_sites"]) == 3
    listed = client.get("/planning/scenarios.json").get_json()["scenarios"]
    assert [s["name"] for s in listed] == ["三座冷库 30分钟"] and listed[0]["may_delete"]
    with ws.connect() as con:
        row = con.execute("SELECT name, username, params, result FROM rp_scenarios").fetchone()
    assert row[1] == "planner1" and json.loads(row[2])["p"] == 3
    assert len(json.loads(row[3])["areas"]["features"]) == 3
    assert _save(client, "   ", _token(client)).status_code == 400  # a name is required


def test_compare_two_scenarios_and_delete_own(writable):
    app, _ws = writable
    client = app.test_client()
    login(client, "planner1")
    token = _token(client)
    a = _save(client, "三座", token).get_json()["scenario"]["id"]
    b = _save(client, "两座", token, p="2").get_json()["scenario"]["id"]
    html = client.get(f"/planning/compare?a={a}&b={b}").get_data(as_text=True)
    assert "方案对比" in html and "三座" in html and "两座" in html
    assert 'id="rp-compare-towns"' in html and "rp-differs" in html  # p differs
    assert "rp-diff-neg" in html  # two stores cover less than three
    assert client.get(f"/planning/compare?a={a}&b=9999").status_code == 404
    assert client.get("/planning/compare?a=x").status_code == 400
    scenario = client.get(f"/planning/scenarios/{a}.json").get_json()
    assert scenario["payload"]["result"]["totals"]["new_sites"] == 3
    # someone else's scenario: a planner may not delete it, an administrator may
    other = app.test_client()
    login(other, "planner2")
    assert other.post(f"/planning/scenarios/{a}/delete", headers={"X-CSRFToken": _token(other)}).status_code == 403
    assert client.post(f"/planning/scenarios/{a}/delete", headers={"X-CSRFToken": token,
                                                                    "Accept": "application/json"}).status_code == 200
    admin = app.test_client()
    login(admin, "admin1")
    assert admin.post(f"/planning/scenarios/{b}/delete", headers={"X-CSRFToken": _token(admin)}).status_code == 302
    assert client.get("/planning/scenarios.json").get_json()["scenarios"] == []
    assert client.post(f"/planning/scenarios/{a}/delete", headers={"X-CSRFToken": token}).status_code == 404


# --------------------------------------------------------------------------- export
def _read_xlsx(body: bytes):
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(body), read_only=True)


def test_export_run_as_geojson_and_excel(demo_client):
    response = demo_client.get("/planning/export.geojson", query_string=DEMO_QUESTION)
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    kinds = {f["properties"]["kind"] for f in data["features"]}
    assert kinds == {"site", "allocation", "service_area"}
    assert data["ruralplan"]["params"]["p"] == 3 and data["ruralplan"]["solver"]["status"] == "optimal"

    response = demo_client.get("/planning/export.xlsx", query_string=DEMO_QUESTION)
    assert response.status_code == 200
    wb = _read_xlsx(response.data)
    assert wb.sheetnames == ["站点", "分乡镇", "无法服务的行政村", "参数"]
    sites = list(wb["站点"].values)
    assert sites[0][0] == "站点" and sum(1 for r in sites[1:] if r[2] == "新建") == 3
    towns = list(wb["分乡镇"].values)
    assert len(towns) > 5
    params = {r[0]: r[1:] for r in wb["参数"].values}
    assert params["新建数量"] == (3, 3)
    assert params["需求权重"] == ("产量：苹果, 山楂", "produce:apple,hawthorn")
    assert params["模型"] == ("最大覆盖", "mclp") and params["新建点"][0] == 3


def test_export_saved_scenario(writable):
    app, _ws = writable
    client = app.test_client()
    login(client, "planner1")
    sid = _save(client, "苹果 山楂", _token(client)).get_json()["scenario"]["id"]
    response = client.get(f"/planning/scenarios/{sid}.xlsx")
    assert response.status_code == 200 and "filename*=UTF-8''" in response.headers["Content-Disposition"]
    wb = _read_xlsx(response.data)
    params = {r[0]: r[1] for r in wb["参数"].values}
    assert params["方案"] == "苹果 山楂"
    geo = json.loads(client.get(f"/planning/scenarios/{sid}.geojson").data)
    assert sum(1 for f in geo["features"] if f["properties"]["kind"] == "service_area") == 3
    assert client.get("/planning/scenarios/999.geojson").status_code == 404


# --------------------------------------------------------------------------- offline, escaping
XSS = '<img src=x onerror="alert(1)">'


def test_pages_are_offline_and_escape_scenario_names(writable):
    from .test_offline_i18n_cli import external_urls

    app, _ws = writable
    client = app.test_client()
    login(client, "planner1")
    token = _token(client)
    a = _save(client, XSS, token).get_json()["scenario"]["id"]
    b = _save(client, "两座", token, p="2").get_json()["scenario"]["id"]
    page = client.get("/planning/").get_data(as_text=True)
    compare = client.get(f"/planning/compare?a={a}&b={b}").get_data(as_text=True)
    js = client.get("/static/js/rpplanning.js").get_data(as_text=True)
    for text in (page, compare, js):
        assert external_urls(text) == []
    assert XSS not in compare and "&lt;img src=x" in compare
    assert ".innerHTML" not in js and "insertAdjacentHTML" not in js
    listed = client.get("/planning/scenarios.json").get_json()["scenarios"]
    assert listed[-1]["name"] == XSS  # stored as typed; the page puts it in with textContent


def test_run_without_roads_plans_on_the_labelled_estimate(demo_copy):
    """The review's 500 (the road graph built outside the error handling) became a 409; a
    county without roads now plans on the straight-line estimate like coverage and od
    (issue 11), labelled in the payload, the page's text and the export."""
    import io

    import geopandas as gpd
    from openpyxl import load_workbook

    demo_copy.write_layers({"roads": gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")})
    client = _app(demo_copy.path).test_client()
    response = client.get("/planning/run.json", query_string=DEMO_QUESTION)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    estimate = response.get_json()["result"]["estimate"]
    assert estimate["method"] == "straight_line" and estimate["detour_factor"] == 1.3
    page = client.get("/planning/").get_data(as_text=True)
    label = json.loads(re.search(r'"estimate": ("(?:[^"\\]|\\.)*")', page).group(1))
    assert label == "估算（无道路图层）：直线距离 × {factor}，按 {speed} 公里/小时计"
    client.set_cookie("rp_lang", "en")
    assert client.get("/planning/areas.json", query_string=DEMO_QUESTION).status_code == 200
    response = client.get("/planning/export.xlsx", query_string=DEMO_QUESTION)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    values = [str(c.value) for row in book.worksheets[-1].iter_rows() for c in row] + [
        str(c.value) for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert any("straight-line distance × 1.3 at 30 km/h" in v for v in values)


def test_solver_facts_in_words_with_the_code_kept(demo_client):
    """The method is described in the page's language (code in the payload for the tooltip);
    the bound is named by the model's sense: MCLP maximises (upper), p-median minimises (lower)."""
    data = demo_client.get("/planning/run.json", query_string={**DEMO_QUESTION, "areas": "defer"}).get_json()
    # 3 of the 12 town centres: 220 layouts, every one compared (exact by enumeration)
    assert data["result"]["solver"]["method"] == "enumeration"
    assert data["method_text"] == "逐一比较全部布局（精确）" and data["bound_label"] == "上界"
    q = {**DEMO_QUESTION, "model": "pmedian", "areas": "defer"}
    data = demo_client.get("/planning/run.json", query_string=q).get_json()
    assert data["bound_label"] == "下界" and data["method_text"] != data["result"]["solver"]["method"]
    demo_client.set_cookie("rp_lang", "en")
    data = demo_client.get("/planning/run.json", query_string={**DEMO_QUESTION, "areas": "defer"}).get_json()
    assert data["method_text"] == "every layout compared (exact)" and data["bound_label"] == "Upper bound"


def test_method_codes_in_words():
    from web.views.planning import method_text

    app = _app("/nonexistent.gpkg")
    with app.test_request_context("/"):
        assert method_text("greedy+interchange+lagrangian") == "贪心启发式 + 站点交换改进 + 拉格朗日下界"
        assert method_text("greedy+packing (no time left for the MILP)") == \
            "贪心启发式 + 按容量分配 (没有剩余时间进行精确整数规划)"
        assert method_text("lexicographic-mclp+binary-search+highs-milp").startswith("先求最大覆盖 + 对最远")
        assert method_text("lagrangian-branch-and-bound") == "拉格朗日分支定界（精确）"
        assert method_text("radius-milp") == "半径模型（HiGHS，精确）"
        assert method_text("new-method") == "new-method"  # unknown steps as written


def test_page_terms(demo_client):
    """p-中值 (p-median), the demand weight in words (not the code 'population')."""
    html = demo_client.get("/planning/").get_data(as_text=True)
    assert "p-中值" in html and "p-中位" not in html
    assert '<span id="rp-demand-preview" title="population">人口</span>' in html
