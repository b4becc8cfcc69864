"""The reviewer's day: the 待我审核 inbox (proposals waiting for this user's decision).

Flask-free: the page, the header count and the tests share it.
"""
from __future__ import annotations

from layers import proposals as P
from layers import workflow as W


def inbox(ws, actor) -> list[P.Proposal]:
    """Proposals waiting for ``actor`` (by role and scope), the longest-waiting first.

    A village applicant sees its drafts and returned proposals (to submit); a town
    reviewer the submitted proposals of its town; a sector assessor the town-approved
    proposals of its sector; the county approver the sector-approved (to approve) and
    county-approved (to publish) ones. Other roles have no inbox (empty list).
    """
    if actor is None:
        return []
    statuses = W.inbox_statuses(actor.role)
    if not statuses:
        return []
    items = P.list_proposals(ws, P.ProposalFilter(status=statuses))
    return sorted(W.waiting_for(actor, items), key=lambda p: (p.updated_at or "", p.id))


def inbox_count(ws, actor) -> int | None:
    """How many proposals wait for ``actor``; None when the role has no inbox (no header link)."""
    if actor is None or not W.inbox_statuses(actor.role):
        return None
    return len(inbox(ws, actor))


def scope_display(ws, actor) -> str:
    """The user's scope as people name it: a village as ``柳泉镇赵河村``, not its 12-digit code."""
    if actor is None or not actor.scope:
        return ""
    if actor.scope_kind == "village":
        villages = ws.read_layer("villages")
        hit = villages[villages["code"].astype(str) == str(actor.scope)]
        if len(hit):
            return f"{hit['town'].iloc[0]}{hit['name'].iloc[0]}"
    return str(actor.scope)
