"""Proposals and the review workflow: every transition per role and scope, conflicts, history."""
from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass

import pytest

from layers import proposals as P
from layers import workflow as W
from layers.store import Workspace

VILLAGE = "140823100201"
OTHER_VILLAGE = "140823101201"
TOWN = "桐城镇"


@dataclass(frozen=True)
class Actor:
    username: str
    role: str
    scope_kind: str | None = None
    scope: str | None = None


ACTORS = {
    "village_own": Actor("v1", "village_applicant", "village", VILLAGE),
    "village_other": Actor("v2", "village_applicant", "village", OTHER_VILLAGE),
    "town_own": Actor("t1", "town_reviewer", "town", TOWN),
    "town_other": Actor("t2", "town_reviewer", "town", "阳隅镇"),
    "sector_own": Actor("s1", "sector_assessor", "sector", "农业农村局"),
    "sector_other": Actor("s2", "sector_assessor", "sector", "交通运输局"),
    "county": Actor("c1", "county_approver"),
    "planner": Actor("p1", "planner"),
    "admin": Actor("a1", "admin"),
}

#: The rule under test, written out independently of ``W.STEPS``: (status, action) -> (to, actor key).
EXPECTED = {
    ("draft", "submit"): ("submitted", "village_own"),
    ("returned", "submit"): ("submitted", "village_own"),
    ("submitted", "approve"): ("town_approved", "town_own"),
    ("submitted", "return"): ("returned", "town_own"),
    ("submitted", "reject"): ("rejected", "town_own"),
    ("town_approved", "approve"): ("sector_approved", "sector_own"),
    ("town_approved", "return"): ("returned", "sector_own"),
    ("town_approved", "reject"): ("rejected", "sector_own"),
    ("sector_approved", "approve"): ("county_approved", "county"),
    ("sector_approved", "return"): ("returned", "county"),
    ("sector_approved", "reject"): ("rejected", "county"),
    ("county_approved", "publish"): ("published", "county"),
    ("published", "start"): ("in_progress", "county"),
    ("in_progress", "complete"): ("completed", "county"),
}


def proposal_data(**overrides):
    data = {
        "name": "阳隅镇苹果保鲜库", "category": "cold_chain", "town": TOWN, "village_code": VILLAGE,
        "content": "新建1000吨保鲜库一座", "budget_wan": 400, "fund_source": "衔接资金",
        "geometry": "POINT (111.21 35.35)", "commodities": "apple", "beneficiary_villages": [VILLAGE],
        "beneficiary_households": 120, "beneficiary_monitored": 12, "expected_jobs": 15,
        "farmer_links": "dividend,wage", "performance_targets": "年储藏苹果1000吨", "attachments": ["可研.pdf"],
    }
    data.update(overrides)
    return data


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return Workspace.create(tmp_path_factory.mktemp("wf") / "county.gpkg")


def _force_status(ws, pid, status):
    with ws.transaction() as con:
        con.execute("UPDATE rp_proposals SET status = ?, version = version + 1 WHERE id = ?", (status, pid))
    return P.get_proposal(ws, pid)


def test_create_validates_and_round_trips(ws):
    p = P.create_proposal(ws, proposal_data(), created_by="v1")
    assert p.status == "draft" and p.version == 1
    assert p.fund_source == "linkage" and p.commodities == ("apple",)
    assert p.farmer_links == ("dividend", "wage") and p.attachments == ("可研.pdf",)
    assert p.geometry.geom_type == "Point" and p.sector == "农业农村局"
    back = P.get_proposal(ws, p.id)
    assert back == p
    d = p.to_dict()
    assert d["geometry"]["type"] == "Point" and d["commodities"] == ["apple"]


def test_invalid_proposal_lists_every_problem(ws):
    with pytest.raises(P.ProposalInvalid) as exc:
        P.create_proposal(ws, proposal_data(category="castle", budget_wan=-3, geometry="POINT (500000 3900000)",
                                            village_code="12", farmer_links="bribes"), created_by="x")
    assert set(exc.value.errors) == {"category", "budget_wan", "geometry", "village_code", "farmer_links"}


def test_lines_and_polygons_are_locations():
    assert P.parse_geometry("LINESTRING (111.2 35.3, 111.3 35.3)").geom_type == "LineString"
    assert P.parse_geometry({"type": "Polygon", "coordinates": [[[111, 35], [111.1, 35], [111.1, 35.1], [111, 35]]]}
                            ).geom_type == "Polygon"
    assert P.parse_geometry("111.2, 35.3").geom_type == "Point"


def test_rule_table_matches_the_module():
    assert {(s.from_status, s.action): s.to_status for s in W.STEPS} == {k: v[0] for k, v in EXPECTED.items()}


@pytest.mark.parametrize("status", P.STATUS_VALUES)
def test_every_action_by_every_role_from(ws, status):
    """For each (action, actor) from ``status``: allowed exactly when the rule says so."""
    pid = P.create_proposal(ws, proposal_data(), created_by="v1").id
    current = _force_status(ws, pid, status)
    for action in W.ACTIONS:
        for key, actor in ACTORS.items():
            if current.status != status:  # the previous actor moved it on
                current = _force_status(ws, pid, status)
            expected = EXPECTED.get((status, action))
            allowed = expected is not None and expected[1] == key
            assert W.may_act(actor, current, action) is allowed, (status, action, key)
            assert (action in W.allowed_actions(actor, current)) is allowed
            call = lambda: W.transition(ws, pid, action, actor=actor, expected_version=current.version,  # noqa: E731
                                        comment="理由：材料不全")
            if allowed:
                after = call()
                assert after.status == expected[0] and after.version == current.version + 1
                current = after
                last = P.history(ws, pid)[-1]
                assert (last.actor, last.role, last.from_status, last.to_status, last.action) == (
                    actor.username, actor.role, status, expected[0], action)
            elif expected is None:
                with pytest.raises(W.InvalidTransition):
                    call()
            else:
                with pytest.raises(W.ForbiddenTransition):
                    call()
                assert P.get_proposal(ws, pid).status == status


def test_sector_follows_category(ws):
    p = P.create_proposal(ws, proposal_data(category="infrastructure"), created_by="v1")
    p = _force_status(ws, p.id, "town_approved")
    assert not W.may_act(ACTORS["sector_own"], p, "approve")
    assert W.may_act(ACTORS["sector_other"], p, "approve")
    alias = Actor("s3", "sector_assessor", "sector", "交通局")
    assert W.may_act(alias, p, "approve")


def test_return_and_reject_need_a_reason(ws):
    p = P.create_proposal(ws, proposal_data(), created_by="v1")
    p = W.transition(ws, p.id, "submit", actor=ACTORS["village_own"], expected_version=p.version)
    for action in ("return", "reject"):
        with pytest.raises(W.InvalidTransition, match="reason"):
            W.transition(ws, p.id, action, actor=ACTORS["town_own"], expected_version=p.version, comment="  ")
    assert P.get_proposal(ws, p.id).status == "submitted"


def test_whole_path_with_a_return_and_complete_history(ws):
    p = P.create_proposal(ws, proposal_data(), created_by="v1")
    steps = [
        ("submit", "village_own", None), ("approve", "town_own", "同意"),
        ("return", "sector_own", "请补充冷库选址论证"),
        ("submit", "village_own", "已补充"), ("approve", "town_own", None), ("approve", "sector_own", "论证通过"),
        ("approve", "county", "审定通过"), ("publish", "county", None), ("start", "county", None),
        ("complete", "county", "验收合格"),
    ]
    for i, (action, key, comment) in enumerate(steps):
        evaluation = {"score": 50 + i, "proposal_version": p.version}
        p = W.transition(ws, p.id, action, actor=ACTORS[key], expected_version=p.version, comment=comment,
                         evaluation=evaluation)
    assert p.status == "completed" and p.version == 1 + len(steps)
    hist = P.history(ws, p.id)
    assert [(h.action, h.actor, h.comment) for h in hist] == [
        (a, ACTORS[k].username, c) for a, k, c in steps]
    assert [h.from_status for h in hist] == ["draft", "submitted", "town_approved", "returned", "submitted",
                                            "town_approved", "sector_approved", "county_approved", "published",
                                            "in_progress"]
    assert all(h.from_status == prev.to_status for prev, h in zip(hist, hist[1:]))
    assert [h.version for h in hist] == list(range(2, 2 + len(steps)))
    assert hist[2].evaluation == {"score": 52, "proposal_version": 3}
    assert all(h.at.endswith("+00:00") for h in hist)
    assert [h.at for h in hist] == sorted(h.at for h in hist)


def test_history_is_append_only(ws):
    p = P.create_proposal(ws, proposal_data(), created_by="v1")
    W.transition(ws, p.id, "submit", actor=ACTORS["village_own"], expected_version=p.version)
    with ws.connect() as con:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE rp_transitions SET comment = 'x' WHERE proposal_id = ?", (p.id,))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM rp_transitions WHERE proposal_id = ?", (p.id,))
    assert len(P.history(ws, p.id)) == 1


def test_stale_version_is_a_conflict_that_keeps_the_comment(ws):
    p = P.create_proposal(ws, proposal_data(), created_by="v1")
    p = W.transition(ws, p.id, "submit", actor=ACTORS["village_own"], expected_version=p.version)
    W.transition(ws, p.id, "approve", actor=ACTORS["town_own"], expected_version=p.version, comment="同意")
    with pytest.raises(W.ConflictError) as exc:
        W.transition(ws, p.id, "reject", actor=Actor("t9", "town_reviewer", "town", TOWN),
                     expected_version=p.version, comment="选址不当，距离水源地过近")
    err = exc.value
    assert err.comment == "选址不当，距离水源地过近"
    assert err.current.status == "town_approved" and err.last["actor"] == "t1"
    assert "t1" in str(err) and "town_approved" in str(err)
    assert err.to_dict()["your_comment"] == "选址不当，距离水源地过近"


def test_concurrent_reviewers_one_wins(tmp_path):
    ws = Workspace.create(tmp_path / "c.gpkg")
    for _ in range(3):  # a few rounds: the outcome must not depend on thread timing
        p = P.create_proposal(ws, proposal_data(), created_by="v1")
        p = W.transition(ws, p.id, "submit", actor=ACTORS["village_own"], expected_version=p.version)
        reviewers = [Actor(f"t{i}", "town_reviewer", "town", TOWN) for i in range(4)]
        actions = ["approve", "reject", "return", "approve"]
        barrier = threading.Barrier(len(reviewers))
        outcomes = [None] * len(reviewers)

        def act(i, version=p.version, pid=p.id):
            barrier.wait()
            try:
                outcomes[i] = W.transition(Workspace(ws.path), pid, actions[i], actor=reviewers[i],
                                           expected_version=version, comment=f"意见{i}")
            except W.ConflictError as exc:
                outcomes[i] = exc

        threads = [threading.Thread(target=act, args=(i,)) for i in range(len(reviewers))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wins = [o for o in outcomes if isinstance(o, P.Proposal)]
        losses = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, W.ConflictError)]
        assert len(wins) == 1 and len(losses) == len(reviewers) - 1
        assert all(o.comment == f"意见{i}" for i, o in losses)
        hist = P.history(ws, p.id)
        assert len(hist) == 2 and hist[-1].to_status == wins[0].status
        assert P.get_proposal(ws, p.id).version == p.version + 1


def test_edits_only_while_draft_or_returned_and_compare_and_set(ws):
    p = P.create_proposal(ws, proposal_data(), created_by="v1")
    p2 = P.update_proposal(ws, p.id, {"budget_wan": 380, "name": "保鲜库（调整）"}, expected_version=p.version)
    assert p2.budget_wan == 380 and p2.version == p.version + 1 and p2.content == p.content
    with pytest.raises(W.ConflictError):
        P.update_proposal(ws, p.id, {"budget_wan": 1}, expected_version=p.version)
    p3 = W.transition(ws, p.id, "submit", actor=ACTORS["village_own"], expected_version=p2.version)
    with pytest.raises(W.ConflictError, match="no longer be edited"):
        P.update_proposal(ws, p.id, {"budget_wan": 1}, expected_version=p3.version)
    assert W.may_edit(ACTORS["village_own"], p2) and not W.may_edit(ACTORS["village_other"], p2)
    assert not W.may_edit(ACTORS["village_own"], p3)
    assert W.may_create(ACTORS["village_own"], village_code=VILLAGE)
    assert not W.may_create(ACTORS["village_own"], village_code=OTHER_VILLAGE)
    # a town proposes for itself at the town level (跨村), never as a village
    assert not W.may_create(ACTORS["town_own"], level="village", village_code=VILLAGE)
    assert W.may_create(ACTORS["town_own"], level="town") and W.may_create(ACTORS["planner"])


def test_list_filters(ws):
    P.create_proposal(ws, proposal_data(name="道路硬化", category="infrastructure", budget_wan=90), created_by="v1")
    assert all(p.category == "infrastructure" for p in P.list_proposals(ws, P.ProposalFilter(category="infrastructure")))
    cheap = P.list_proposals(ws, P.ProposalFilter(max_budget_wan=100))
    assert cheap and all(p.budget_wan <= 100 for p in cheap)
    assert all(p.status == "draft" for p in P.list_proposals(ws, P.ProposalFilter(status=("draft",))))
    assert P.list_proposals(ws, P.ProposalFilter(town="无此镇")) == []


def test_demo_seed_is_idempotent(tmp_path):
    seeds = [
        {"ref": "apple", **proposal_data(), "status": "submitted"},
        {"name": "大棚", "category": "industry", "town": TOWN, "village_code": VILLAGE, "content": "温室大棚",
         "budget_wan": 90, "lon": 111.25, "lat": 35.31},
    ]
    ws = Workspace.create(tmp_path / "d.gpkg", meta={"demo_proposals": seeds})
    first = P.load_demo_proposals(ws)
    again = P.load_demo_proposals(ws)
    assert len(first) == len(again) == 2
    by_name = {p.name: p for p in again}
    assert by_name["阳隅镇苹果保鲜库"].status == "submitted" and by_name["阳隅镇苹果保鲜库"].ref == "apple"
    assert P.history(ws, by_name["阳隅镇苹果保鲜库"].id)[0].action == "seed"
    assert by_name["大棚"].status == "draft" and by_name["大棚"].ref == "demo-2"
