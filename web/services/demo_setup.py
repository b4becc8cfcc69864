"""What ``ruralplan demo`` adds beyond the generated county: demo accounts scoped to the
seeded proposals, and one proposal already through the whole review, so the notice,
the portfolio and every workflow page have something to show out of the box."""
from __future__ import annotations

from layers import proposals as P
from layers.workflow import sector_for_category, transition

from . import project_eval
from .users import User, ensure_demo_users

#: The seeded proposal walked through the review (the hawthorn freezer: a sound site).
PUBLISHED_REF_WORDS = ("冷冻库",)


def seed_demo_library(ws) -> dict:
    """Load the demo proposals, create the demo accounts, publish one proposal.

    The ``village`` and ``town`` demo accounts are scoped to the first seeded proposal's
    village and town, so a visitor can walk that proposal through the review with them.
    Idempotent: a second run changes nothing.
    """
    if not ws.meta().get("notice_contact"):
        ws.set_meta(notice_contact="清河县乡村振兴局（虚构），电话 0000-1234567（演示号码）")
    if not ws.meta().get("notice_office"):
        ws.set_meta(notice_office="清河县巩固拓展脱贫攻坚成果和乡村振兴领导小组办公室（虚构）")
    loaded = P.load_demo_proposals(ws)
    library = sorted(P.list_proposals(ws), key=lambda p: p.id)
    first = library[0] if library else None
    users = ensure_demo_users(ws, village_code=first.village_code if first else None)
    published = None
    target = next((p for p in library if any(w in (p.name or "") for w in PUBLISHED_REF_WORDS)), None)
    if target is not None and target.status == "draft":
        published = _walk_to_notice(ws, target)
    return {"proposals": loaded or library, "users": users, "published": published}


def _walk_to_notice(ws, proposal):
    """村申报 → 镇审核 → 行业部门论证 → 县级审定 → 公示, each step by its proper actor."""
    sector = sector_for_category(proposal.category)
    steps = (
        ("submit", User(f"{proposal.village_name or proposal.village_code}村委会", "village_applicant",
                        "village", proposal.village_code), "村两委研究通过，申报入库。"),
        ("approve", User(f"{proposal.town}审核", "town_reviewer", "town", proposal.town),
         "镇审核：选址在山楂主产区，同意上报。"),
        ("approve", User(sector, "sector_assessor", "sector", sector), "行业部门论证：冷链布局合理，同意。"),
        ("approve", User("县乡村振兴领导小组", "county_approver"), "县级审定：纳入年度项目计划。"),
        ("publish", User("县乡村振兴领导小组", "county_approver"), "公示期10天。"),
    )
    current = proposal
    for action, actor, comment in steps:
        evaluation = project_eval.snapshot(project_eval.evaluate(ws, current))
        current = transition(ws, current.id, action, actor=actor, expected_version=current.version,
                             comment=comment, evaluation=evaluation)
    return current
