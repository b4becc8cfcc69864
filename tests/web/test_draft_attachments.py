"""A draft's files are the applicant's working copy (layers.workflow.may_read_attachments).

With ``RURALPLAN_LOGIN_REQUIRED=false`` (the default) reading maps and proposals is open, but
the files of a draft (or of a proposal returned for changes) are read only by a logged-in
user of the proposing unit and by the proposal's reviewers; once submitted they are read by
whoever may read the proposal, as the 公示 needs. One instance of the kind "open reading
mode shows what is not published yet": the page, the download and the API agree.
"""
from __future__ import annotations

import pytest

from layers import attachments as A
from layers import proposals as P
from layers import workflow as W
from web.services.users import get_user

from .conftest import login
from .test_projects_views import _data, _walk, users  # noqa: F401 - fixture

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def draft(users):  # noqa: F811
    # cold chain: 农业农村局, 东岭镇; the form's own list of attachment names filled too
    p = P.create_proposal(users, {**_data(users), "attachments": ["村两委会议纪要"]}, created_by="village1")
    (att,) = A.add_attachments(users, p.id, [("村两委会议纪要.pdf", PDF)], uploaded_by="village1")
    return p, att


def _client(app, username):
    client = app.test_client()
    if username is not None:
        assert login(client, username).status_code == 302
    return client


@pytest.mark.parametrize("username, allowed", [
    (None, False),              # anonymous, even in open-reading mode
    ("village_other", False),   # another village's applicant
    ("town_west", False),       # the reviewer of another town
    ("transport1", False),      # a sector that does not assess cold chain
    ("village1", True),         # the applicant's own village
    ("town1", True),            # its town's reviewer
    ("sector1", True),          # its sector (农业农村局)
    ("approver1", True),        # the county approver
    ("planner1", True),
])
def test_a_drafts_files_are_read_by_its_unit_and_reviewers_only(app, draft, username, allowed):
    p, att = draft
    client = _client(app, username)
    got = client.get(f"/projects/{p.id}/attachments/{att.id}")
    assert got.status_code == (200 if allowed else 403)
    assert (got.data == PDF) is allowed
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    assert (f"/attachments/{att.id}" in html) is allowed
    if not allowed:
        assert "草稿的附件仅对申报单位和审核人员可见" in html
    answer = client.get(f"/api/v1/proposals/{p.id}").get_json()
    assert [f["filename"] for f in answer["files"]] == (["村两委会议纪要.pdf"] if allowed else [])
    assert answer["attachments"] == (["村两委会议纪要"] if allowed else [])  # no file names either


def test_submitted_files_are_readable_as_before_and_a_returned_one_is_a_working_copy_again(app, draft, users):  # noqa: F811
    p, att = draft
    anonymous = _client(app, None)
    url = f"/projects/{p.id}/attachments/{att.id}"
    assert anonymous.get(url).status_code == 403
    p = _walk(users, p, [("village1", "submit")])
    assert anonymous.get(url).status_code == 200 and anonymous.get(url).data == PDF
    assert [f["filename"] for f in anonymous.get(f"/api/v1/proposals/{p.id}").get_json()["files"]] == [
        "村两委会议纪要.pdf"]
    p = _walk(users, p, [("town1", "return")])
    assert p.status == "returned" and anonymous.get(url).status_code == 403
    assert _client(app, "town1").get(url).status_code == 200  # who returned it still reads it
    p = _walk(users, p, [("village1", "submit"), ("town1", "approve"), ("sector1", "approve"),
                         ("approver1", "approve"), ("approver1", "publish")])
    assert p.status == "published" and anonymous.get(url).status_code == 200  # the 公示


def test_the_rule_for_town_and_county_level_drafts(users):  # noqa: F811
    town_level = P.create_proposal(users, _data(users, village_code="", level="town", town="东岭镇"),
                                   created_by="town1")
    assert W.may_read_attachments(get_user(users, "town1"), town_level)       # the proposer
    assert W.may_read_attachments(get_user(users, "sector1"), town_level)     # its next reviewer
    assert not W.may_read_attachments(get_user(users, "town_west"), town_level)
    assert not W.may_read_attachments(get_user(users, "village_other"), town_level)
    assert not W.may_read_attachments(None, town_level)
    # a county-level draft that names a town goes sector -> county: the town never reviews it
    county_level = P.create_proposal(users, _data(users, village_code="", level="county", town="东岭镇"),
                                     created_by="sector1")
    assert W.may_read_attachments(get_user(users, "sector1"), county_level)   # the proposer
    assert not W.may_read_attachments(get_user(users, "town1"), county_level)
