"""The reviewer's day: each of the four reviewers finds the proposal in their 待我审核 inbox."""
from __future__ import annotations

import re

from layers import proposals as P
from layers import workflow as W
from web.services.project_inbox import inbox, scope_display
from web.services.users import get_user

from .test_projects_views import _data, users  # noqa: F401 - fixture


def _inbox_ids(html: str) -> list[int]:
    body = html.split('id="inbox-list"', 1)[1]
    return [int(x) for x in re.findall(r'<tr data-id="(\d+)"', body)]


def _count(html: str) -> int | None:
    m = re.search(r'id="rp-inbox-count">([\d,]+)<', html)
    return None if m is None else int(m.group(1).replace(",", ""))


def test_four_reviewers_walk_a_proposal_from_their_inboxes(client, login_as, users):  # noqa: F811
    p = P.create_proposal(users, _data(users), created_by="village1")
    other_town = P.create_proposal(users, _data(users, name="别镇项目"), created_by="planner1")
    steps = [("village1", "submit"), ("town1", "approve"), ("sector1", "approve"), ("approver1", "approve"),
             ("approver1", "publish")]
    for i, (username, action) in enumerate(steps):
        login_as(username)
        html = client.get("/projects/inbox").get_data(as_text=True)
        ids = _inbox_ids(html)
        assert p.id in ids, (username, action, ids)
        assert _count(html) == len(ids) == len(inbox(users, get_user(users, username)))
        p = W.transition(users, p.id, action, actor=get_user(users, username), expected_version=p.version)
        again = i + 1 < len(steps) and steps[i + 1][0] == username  # the county approves, then publishes
        assert (p.id in _inbox_ids(client.get("/projects/inbox").get_data(as_text=True))) == again
    assert p.status == "published"
    assert other_town.status == "draft"


def test_inbox_respects_scope(users):  # noqa: F811
    p = P.create_proposal(users, _data(users), created_by="village1")
    p = W.transition(users, p.id, "submit", actor=get_user(users, "village1"), expected_version=p.version)

    class Elsewhere:
        username, role, scope_kind, scope = "town9", "town_reviewer", "town", "不存在镇"

    assert [x.id for x in inbox(users, get_user(users, "town1"))] == [p.id]
    assert inbox(users, Elsewhere()) == [] and inbox(users, get_user(users, "sector1")) == []
    assert inbox(users, get_user(users, "planner1")) == [] and inbox(users, None) == []


def test_header_shows_count_and_scope_name(client, login_as, users):  # noqa: F811
    P.create_proposal(users, _data(users), created_by="village1")
    login_as("village1")
    html = client.get("/projects/").get_data(as_text=True)
    village = get_user(users, "village1")
    name = scope_display(users, village)
    villages = users.read_layer("villages")
    row = villages[villages["code"].astype(str) == village.scope].iloc[0]
    assert name == f"{row['town']}{row['name']}"
    assert f'id="rp-user-scope" title="{village.scope}">{name}<' in html  # the name shown, the code on hover
    assert _count(html) == 1 and "待我审核" in html
    login_as("planner1")
    html = client.get("/projects/").get_data(as_text=True)
    assert _count(html) is None  # planners take no review decisions: no inbox link
    assert "您的角色不参与" in client.get("/projects/inbox").get_data(as_text=True)
