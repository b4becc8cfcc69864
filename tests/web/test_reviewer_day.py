"""The reviewer's day, the rest of it: town- and county-level proposals, attachments in the
history, the outside-town flag, the site from the village."""
from __future__ import annotations

import io
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from layers import attachments as A
from layers import proposals as P
from layers import workflow as W
from layers.errors import AttachmentEmpty, AttachmentTooLarge, AttachmentType, TooManyAttachments
from layers.store import Workspace
from web.services import project_place
from web.services.users import get_user

from .conftest import csrf_token
from .test_projects_views import _data, _village, _walk, users  # noqa: F401 - fixture

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40


def _town_data(ws, **kw):
    """A 跨村 project of 东岭镇 naming two of its villages and no applicant village."""
    villages = ws.read_layer("villages")
    own = villages[villages["town"] == "东岭镇"]
    pt = own.geometry.iloc[0]
    data = _data(ws, name="东岭镇苹果冷链集配中心", village_code="", level="town", town="东岭镇",
                 beneficiary_villages=list(own["code"].astype(str).iloc[:2]), geometry=f"POINT ({pt.x} {pt.y})")
    data.update(kw)
    return data


# --------------------------------------------------------------------------- levels
def test_town_proposal_skips_the_village_step_and_goes_to_the_sector(users):  # noqa: F811
    town1 = get_user(users, "town1")
    assert W.may_create(town1, level="town", town="东岭镇")
    assert not W.may_create(town1, level="town", town="西河乡") and not W.may_create(town1, level="village")
    p = P.create_proposal(users, _town_data(users), created_by="town1")
    assert (p.level, p.village_code, p.town, p.status) == ("town", "", "东岭镇", "draft")
    assert W.may_edit(town1, p) and not W.may_edit(get_user(users, "village1"), p)
    assert W.allowed_actions(town1, p) == ["submit"]
    assert W.allowed_actions(get_user(users, "village1"), p) == []
    p = W.transition(users, p.id, "submit", actor=town1, expected_version=p.version)
    assert p.status == "town_approved"  # the town's application is its review
    assert W.allowed_actions(town1, p) == []  # nobody reviews their own application
    sector1 = get_user(users, "sector1")
    assert W.allowed_actions(sector1, p) == ["approve", "return", "reject"]
    p = W.transition(users, p.id, "return", actor=sector1, expected_version=p.version, comment="补充受益村名单")
    assert p.status == "returned" and W.allowed_actions(town1, p) == ["submit"]
    p = W.transition(users, p.id, "submit", actor=town1, expected_version=p.version)
    assert p.status == "town_approved"
    assert [t.action for t in P.history(users, p.id)] == ["submit", "return", "submit"]


def test_county_proposal_by_a_sector_goes_to_the_county(users):  # noqa: F811
    sector1 = get_user(users, "sector1")  # 农业农村局: industry, cold chain, processing
    assert W.may_create(sector1, level="county", category="cold_chain")
    assert not W.may_create(sector1, level="county", category="infrastructure")  # the transport bureau's
    assert not W.may_create(sector1, level="town")
    data = _data(users, name="全县冷链物流骨干网", village_code="", level="county", town="",
                 beneficiary_villages=[])
    p = P.create_proposal(users, data, created_by="sector1")
    assert (p.level, p.village_code, p.town) == ("county", "", "")
    p = W.transition(users, p.id, "submit", actor=sector1, expected_version=p.version)
    assert p.status == "sector_approved"
    assert W.allowed_actions(get_user(users, "approver1"), p) == ["approve", "return", "reject"]
    transport = get_user(users, "transport1")
    assert W.allowed_actions(transport, p) == []


def test_village_proposals_still_need_their_village(users):  # noqa: F811
    with pytest.raises(P.ProposalInvalid) as err:
        P.create_proposal(users, _data(users, village_code=""), created_by="planner1")
    assert "village_code" in err.value.errors
    other_town_village = str(users.read_layer("villages").query("town == '西河乡'")["code"].iloc[0])
    with pytest.raises(P.ProposalInvalid) as err:  # a town's project names villages of its own town
        P.create_proposal(users, _town_data(users, village_code=other_town_village), created_by="town1")
    assert "西河乡" in err.value.errors["village_code"]


def test_town_reviewer_proposes_through_the_form_and_the_step_is_in_the_history(client, login_as, users):  # noqa: F811
    login_as("town1")
    html = client.get("/projects/new").get_data(as_text=True)
    assert 'name="level"' in html and "乡镇级" in html
    token = csrf_token(client, "/projects/new")
    form = {k: v for k, v in _town_data(users).items() if not isinstance(v, list)}
    form["town"] = "西河乡"  # ignored: a town reviewer proposes for their own town
    form["level"] = "village"  # ignored too: their level is the town's
    response = client.post("/projects/new", data={**form, "csrf_token": token,
                                                  "beneficiary_villages": _town_data(users)["beneficiary_villages"],
                                                  "files": (io.BytesIO(PDF), "实施方案.pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    p = P.list_proposals(users)[0]
    assert (p.level, p.town, p.created_by) == ("town", "东岭镇", "town1")
    page = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert "提交（乡镇申报）" in page and "提交（村申报）" not in page  # the button names who applies
    token = csrf_token(client, f"/projects/{p.id}")
    response = client.post(f"/projects/{p.id}/transition", data={"action": "submit", "version": p.version,
                                                                  "csrf_token": token})
    assert response.status_code == 303
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    history = html.split('id="history"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr data-action="(\w+)"', history)
    assert rows == ["attach", "submit"]
    assert "实施方案.pdf" in history and "town1" in history and "乡镇级" in html
    assert "行业部门论证" in html  # now awaiting the sector
    login_as("sector1")
    inbox = client.get("/projects/inbox").get_data(as_text=True)
    assert f'<tr data-id="{p.id}"' in inbox


# --------------------------------------------------------------------------- attachments
def test_uploaded_attachment_is_stored_listed_in_the_history_and_downloadable(client, login_as, users):  # noqa: F811
    p = P.create_proposal(users, _data(users), created_by="village1")
    login_as("village1")
    token = csrf_token(client, f"/projects/{p.id}")
    response = client.post(f"/projects/{p.id}/attachments", content_type="multipart/form-data",
                           data={"csrf_token": token, "files": [(io.BytesIO(PDF), "村两委会议纪要.pdf"),
                                                                 (io.BytesIO(JPEG), "现场照片.JPG")]})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    stored = A.list_attachments(users, p.id)
    assert [(a.filename, a.content_type, a.size_bytes, a.uploaded_by) for a in stored] == [
        ("村两委会议纪要.pdf", "application/pdf", len(PDF), "village1"),
        ("现场照片.JPG", "image/jpeg", len(JPEG), "village1")]
    with users.connect() as con:  # in the workspace itself
        assert con.execute("SELECT COUNT(*) FROM rp_attachments WHERE proposal_id = ?", (p.id,)).fetchone()[0] == 2
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    history = html.split('id="history"', 1)[1].split("</table>", 1)[0]
    assert history.count('data-action="attach"') == 2
    assert "村两委会议纪要.pdf" in history and f"({len(PDF)} B)" in history and "village1" in history
    # a draft's files are the applicant's working copy (tests/web/test_draft_attachments.py);
    # once submitted, who may read the proposal may download (anonymous reading is open by default)
    anonymous = client.application.test_client()
    assert anonymous.get(f"/projects/{p.id}/attachments/{stored[0].id}").status_code == 403
    _walk(users, p, [("village1", "submit")])
    got = anonymous.get(f"/projects/{p.id}/attachments/{stored[0].id}")
    assert got.status_code == 200 and got.data == PDF and got.mimetype == "application/pdf"
    assert "attachment" in got.headers["Content-Disposition"]
    assert anonymous.get(f"/projects/{p.id + 1}/attachments/{stored[0].id}").status_code == 404
    api = anonymous.get(f"/api/v1/proposals/{p.id}").get_json()
    assert [f["filename"] for f in api["files"]] == ["村两委会议纪要.pdf", "现场照片.JPG"]
    assert anonymous.get(api["files"][1]["url"]).data == JPEG and api["outside_town"] is None


@pytest.mark.parametrize("name, data, error", [
    ("申报书.pdf", b"MZ\x90\x00 not a pdf at all", AttachmentType),          # a program named .pdf
    ("照片.png", PDF, AttachmentType),                                     # a PDF named .png
    ("说明.docx", b"PK\x03\x04 an office file", AttachmentType),
    ("page.html", b"<html><script>alert(1)</script>", AttachmentType),
    ("空.pdf", b"", AttachmentEmpty),
    ("扫描件.pdf", b"%PDF-" + b"0" * A.MAX_BYTES, AttachmentTooLarge),
])
def test_bad_attachments_are_refused_naming_the_file(name, data, error, users):  # noqa: F811
    p = P.create_proposal(users, _data(users), created_by="village1")
    with pytest.raises(error) as err:
        A.add_attachments(users, p.id, [("a.pdf", PDF), (name, data)], uploaded_by="village1")
    assert name in err.value.message("zh") and name in err.value.message("en")
    assert 400 <= err.value.http_status < 500
    # the Chinese message is Chinese throughout (what the bytes are, too)
    assert not re.search(r"\b(not|named|a|an|archive|program|document|image)\b", err.value.message("zh"))
    assert A.list_attachments(users, p.id) == []  # nothing stored, not even the good file


def test_too_many_attachments(users):  # noqa: F811
    p = P.create_proposal(users, _data(users), created_by="village1")
    A.add_attachments(users, p.id, [(f"{i}.png", PNG) for i in range(A.MAX_COUNT - 1)], uploaded_by="x")
    with pytest.raises(TooManyAttachments) as err:
        A.add_attachments(users, p.id, [("a.png", PNG), ("b.png", PNG)], uploaded_by="x")
    assert "b.png" in err.value.message("zh")
    assert len(A.list_attachments(users, p.id)) == A.MAX_COUNT - 1


def test_bad_upload_through_the_web_is_a_4xx_naming_the_file(client, login_as, users):  # noqa: F811
    p = P.create_proposal(users, _data(users), created_by="village1")
    login_as("village1")
    token = csrf_token(client, f"/projects/{p.id}")
    response = client.post(f"/projects/{p.id}/attachments", content_type="multipart/form-data",
                           data={"csrf_token": token, "files": [(io.BytesIO(b"MZ\x90\x00"), "申报书.pdf")]})
    assert response.status_code == 400 and "申报书.pdf" in response.get_data(as_text=True)
    # the form: the proposal is not saved and the file is named beside the field
    token = csrf_token(client, "/projects/new")
    form = {k: v for k, v in _data(users).items() if not isinstance(v, list)}
    response = client.post("/projects/new", content_type="multipart/form-data",
                           data={**form, "csrf_token": token, "files": (io.BytesIO(b"GIF89a..."), "图.gif")})
    assert response.status_code == 400 and "图.gif" in response.get_data(as_text=True)
    assert len(P.list_proposals(users)) == 1
    # a reviewer without a pending decision may not add files
    login_as("approver1")
    token = csrf_token(client, f"/projects/{p.id}")
    response = client.post(f"/projects/{p.id}/attachments", content_type="multipart/form-data",
                           data={"csrf_token": token, "files": [(io.BytesIO(PDF), "x.pdf")]})
    assert response.status_code == 403 and A.list_attachments(users, p.id) == []


def test_file_names_lose_their_folders():
    assert A.clean_filename("C:\\Users\\村\\..\\申报书.pdf") == "申报书.pdf"
    assert A.clean_filename("../../etc/passwd.pdf") == "passwd.pdf"
    assert A.clean_filename("a\x00b\n.pdf") == "ab.pdf"


# --------------------------------------------------------------------------- outside town
def _outside_point():
    return "POINT (111.3 34.15)"  # in 西河乡 (the sample's east half)


def test_site_outside_the_applicant_town_is_flagged_not_blocked(client, login_as, users):  # noqa: F811
    inside = P.create_proposal(users, _data(users, name="镇内"), created_by="village1")
    outside = P.create_proposal(users, _data(users, name="镇外", geometry=_outside_point()), created_by="village1")
    assert project_place.outside_town(users, inside) is None
    flag = project_place.outside_town(users, outside)
    assert flag == project_place.OutsideTown("东岭镇", ("西河乡",))
    api = client.get(f"/api/v1/proposals/{outside.id}").get_json()
    assert api["outside_town"] == {"town": "东岭镇", "found_towns": ["西河乡"]}
    beyond = P.create_proposal(users, _data(users, name="县外", geometry="POINT (112.5 34.15)"), created_by="village1")
    assert project_place.outside_town(users, beyond) == project_place.OutsideTown("东岭镇", ())
    county = P.create_proposal(users, _data(users, village_code="", level="county", town="",
                                            geometry=_outside_point()), created_by="sector1")
    assert project_place.outside_town(users, county) is None  # no applicant town
    town = P.create_proposal(users, _town_data(users, geometry=_outside_point()), created_by="town1")
    assert project_place.outside_town(users, town).found_towns == ("西河乡",)

    login_as("village1")
    detail = client.get(f"/projects/{outside.id}").get_data(as_text=True)
    assert 'id="site-outside-town"' in detail and "西河乡" in detail.split('id="site-outside-town"')[1][:300]
    assert 'id="site-outside-town"' not in client.get(f"/projects/{inside.id}").get_data(as_text=True)
    form = client.get(f"/projects/{outside.id}/edit").get_data(as_text=True)
    assert 'id="site-outside-town"' in form
    check = client.get("/projects/site-check", query_string={"village_code": outside.village_code,
                                                             "geometry": _outside_point()}).get_json()
    assert "西河乡" in check["warning"]
    check = client.get("/projects/site-check", query_string={"village_code": outside.village_code,
                                                             "geometry": inside.geometry_wkt}).get_json()
    assert check["warning"] is None
    for p in (inside, outside):
        W.transition(users, p.id, "submit", actor=get_user(users, "village1"), expected_version=p.version)
    login_as("town1")
    inbox = client.get("/projects/inbox").get_data(as_text=True)
    row = inbox.split(f'<tr data-id="{outside.id}"', 1)[1].split("</tr>", 1)[0]
    assert "site-outside-town" in row and "西河乡" in row
    row = inbox.split(f'<tr data-id="{inside.id}"', 1)[1].split("</tr>", 1)[0]
    assert "site-outside-town" not in row


def test_zhaohe_village_placed_in_shangyu_is_flagged(tmp_path):
    """The issue's case: a 赵河村 (柳泉镇) proposal placed in 上峪乡."""
    ws = Workspace.create(tmp_path / "w.gpkg", meta={"county_name": "测试县"})
    liuquan, shangyu = shapely.box(111.0, 35.0, 111.1, 35.1), shapely.box(111.1, 35.0, 111.2, 35.1)
    ws.write_layers({
        "boundaries": gpd.GeoDataFrame(pd.DataFrame([
            {"code": "141000101000", "name": "柳泉镇", "level": "town"},
            {"code": "141000102000", "name": "上峪乡", "level": "town"}]), geometry=[liuquan, shangyu],
            crs="EPSG:4326"),
        "villages": gpd.GeoDataFrame(pd.DataFrame([{"code": "141000101201", "name": "赵河村", "town": "柳泉镇",
                                                     "population": 900, "households": 300}]),
                                     geometry=[shapely.Point(111.05, 35.05)], crs="EPSG:4326"),
    })
    data = {"name": "赵河村保鲜库", "category": "cold_chain", "village_code": "赵河村", "content": "保鲜库300吨",
            "budget_wan": 120, "geometry": "POINT (111.15 35.05)"}
    p = P.create_proposal(ws, data, created_by="planner")
    assert (p.town, p.village_name) == ("柳泉镇", "赵河村")
    assert project_place.outside_town(ws, p) == project_place.OutsideTown("柳泉镇", ("上峪乡",))
    at_home = P.create_proposal(ws, {**data, "geometry": ""}, created_by="planner")  # the village centre
    assert at_home.geometry.equals(shapely.Point(111.05, 35.05))
    assert project_place.outside_town(ws, at_home) is None


# --------------------------------------------------------------------------- site from the village
def test_form_site_from_the_village_centre_and_wkt_is_advanced(client, login_as, users):  # noqa: F811
    login_as("village1")
    html = client.get("/projects/new").get_data(as_text=True)
    code, pt = _village(users)
    assert 'id="rpp-use-village"' in html and f'data-lon="{round(pt.x, 6)}"' in html
    advanced = html.split('id="rpp-advanced"', 1)[1].split("</details>", 1)[0]
    assert 'name="geometry"' in advanced  # WKT only inside the advanced part
    assert " onclick=" not in html and " onchange=" not in html
    token = csrf_token(client, "/projects/new")
    form = {k: v for k, v in _data(users, geometry="").items() if not isinstance(v, list)}
    assert client.post("/projects/new", data={**form, "csrf_token": token}).status_code == 303
    p = P.list_proposals(users)[0]
    assert p.geometry.equals_exact(pt, 1e-6)


def test_county_and_town_projects_in_the_notice(users):  # noqa: F811
    from web.services.project_notice import notice_rows

    sector1, approver = get_user(users, "sector1"), get_user(users, "approver1")
    p = P.create_proposal(users, _data(users, name="全县冷链骨干网", village_code="", level="county", town="",
                                       beneficiary_villages=[]), created_by="sector1")
    for actor, action in ((sector1, "submit"), (approver, "approve")):
        p = W.transition(users, p.id, action, actor=actor, expected_version=p.version)
    t = P.create_proposal(users, _town_data(users, name="东岭镇跨村项目"), created_by="town1")
    for actor, action in ((get_user(users, "town1"), "submit"), (sector1, "approve"), (approver, "approve")):
        t = W.transition(users, t.id, action, actor=actor, expected_version=t.version)
    rows = {r.values["name"]: r.values for r in notice_rows(users)}
    assert rows["全县冷链骨干网"]["location"].startswith("测试县（东经")
    assert rows["全县冷链骨干网"]["responsible_unit"] == "农业农村局"
    assert rows["东岭镇跨村项目"]["location"].startswith("东岭镇（东经")
    assert rows["东岭镇跨村项目"]["responsible_unit"] == "东岭镇人民政府"


def test_editing_keeps_file_names_typed_before_uploads_existed(client, login_as, users):  # noqa: F811
    p = P.create_proposal(users, _data(users, attachments=["立项申请.pdf"]), created_by="village1")
    login_as("village1")
    token = csrf_token(client, f"/projects/{p.id}/edit")
    form = {k: v for k, v in _data(users, name="改名").items() if not isinstance(v, list)}
    response = client.post(f"/projects/{p.id}/edit", data={**form, "csrf_token": token, "version": p.version})
    assert response.status_code == 303
    after = P.get_proposal(users, p.id)
    assert after.name == "改名" and after.attachments == ("立项申请.pdf",)
