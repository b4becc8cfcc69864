"""The review workflow of the project library, as counties run it.

村申报 → 镇审核 → 行业部门论证 → 县级审定 → 公示 → 实施 → 完成::

    draft ──submit──▶ submitted ──approve──▶ town_approved ──approve──▶ sector_approved
      ▲                  │                      │                          │
      │              return/reject          return/reject            approve / return / reject
    returned ◀───────────┴──────────────────────┴──────────────────────────┤
      │ (submit again: back to the town)                                    ▼
      └──────────────────────────────────────────────────────────── county_approved
                                                                            │ publish
                                         completed ◀─complete─ in_progress ◀─start─ published

Who may act (enforced here, so the web app, the API and the CLI share it):

=================  ========================================  =================================
status             actions                                   role (scope)
=================  ========================================  =================================
draft, returned    submit                                    village_applicant (own village)
                   (town-level: → town_approved)             town_reviewer (own town)
                   (county-level: → sector_approved)         sector_assessor (own sector)
submitted          approve → town_approved, return, reject   town_reviewer (own town)
town_approved      approve → sector_approved, return, reject sector_assessor (own sector)
sector_approved    approve → county_approved, return, reject county_approver
county_approved    publish → published                       county_approver
published          start → in_progress                       county_approver
in_progress        complete → completed                      county_approver
=================  ========================================  =================================

``return`` and ``reject`` need a reason (the comment). A returned proposal goes back to
its village, which edits and resubmits it; the review then starts again at the town.
Admins manage accounts but do not review: the duties stay separate, as the county's
rules require a responsible department's signature at each stage.

The sector of a proposal follows its category (:data:`SECTOR_BY_CATEGORY`): the industry
bureau assesses industry, cold chain and processing projects, the transport bureau
infrastructure, the human-resources bureau employment workshops and the rural
revitalization bureau public services.

Every step is a compare-and-set on the proposal's ``version`` inside one serialised
workspace transaction; two reviewers acting at once: the first wins, the second gets a
:class:`ConflictError` that says who acted and hands back the loser's comment.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Protocol

from .errors import ConflictError, ForbiddenTransition, InvalidTransition, WorkflowError
from .proposals import (SECTOR_ALIASES, SECTOR_BY_CATEGORY, Proposal, _read, create_tables, sector_for_category,
                        utc_now)

__all__ = ["ConflictError", "ForbiddenTransition", "InvalidTransition", "WorkflowError", "SECTOR_ALIASES",
           "SECTOR_BY_CATEGORY", "sector_for_category"]  # re-exported: callers use W.<name>

ACTIONS = ("submit", "approve", "return", "reject", "publish", "start", "complete")
#: Actions whose comment (the reason) is required.
REASON_REQUIRED = ("return", "reject")

@dataclass(frozen=True)
class Step:
    """One allowed (status, action) with its target status, role and scope kind."""

    from_status: str
    action: str
    to_status: str
    role: str
    scope: str | None  # "village", "town", "sector" or None (county-wide)


#: Where a submission goes and who submits, by proposal level (申报层级): a village's
#: application goes to its town (村申报 → 镇审核); a town's own project (跨村) is the town's
#: application and review at once, so it goes on to the sector (镇审核 → 行业部门论证); a
#: sector department's county-wide project is its own 论证, so it goes to the county
#: (→ 县级审定). Nobody reviews their own application.
SUBMIT_STEPS: Mapping[str, tuple[str, str, str]] = {
    "village": ("submitted", "village_applicant", "village"),
    "town": ("town_approved", "town_reviewer", "town"),
    "county": ("sector_approved", "sector_assessor", "sector"),
}

STEPS: tuple[Step, ...] = (
    Step("draft", "submit", "submitted", "village_applicant", "village"),
    Step("returned", "submit", "submitted", "village_applicant", "village"),
    *(Step("submitted", a, t, "town_reviewer", "town")
      for a, t in (("approve", "town_approved"), ("return", "returned"), ("reject", "rejected"))),
    *(Step("town_approved", a, t, "sector_assessor", "sector")
      for a, t in (("approve", "sector_approved"), ("return", "returned"), ("reject", "rejected"))),
    *(Step("sector_approved", a, t, "county_approver", None)
      for a, t in (("approve", "county_approved"), ("return", "returned"), ("reject", "rejected"))),
    Step("county_approved", "publish", "published", "county_approver", None),
    Step("published", "start", "in_progress", "county_approver", None),
    Step("in_progress", "complete", "completed", "county_approver", None),
)
_STEP = {(s.from_status, s.action): s for s in STEPS}
#: The submit steps of town- and county-level proposals (the village ones are in STEPS).
LEVEL_STEPS: Mapping[str, tuple[Step, ...]] = {
    level: tuple(Step(status, "submit", to, role, scope) for status in ("draft", "returned"))
    for level, (to, role, scope) in SUBMIT_STEPS.items() if level != "village"
}

#: Statuses a village can still edit; roles that may create and edit proposals.
EDITABLE_STATUSES = ("draft", "returned")
#: Statuses that count as "approved" for redundancy checks and the portfolio.
APPROVED_STATUSES = ("county_approved", "published", "in_progress", "completed")
#: Statuses still in review (candidates of the portfolio).
PENDING_STATUSES = ("submitted", "town_approved", "sector_approved")


class Actor(Protocol):
    """Anything with the fields of :class:`web.users.User` (kept Flask-free)."""

    username: str
    role: str
    scope_kind: str | None
    scope: str | None


def in_scope(actor: Actor | None, proposal: Proposal, scope: str | None) -> bool:
    """Does ``actor``'s own village/town/sector cover ``proposal`` for ``scope``?"""
    if actor is None:
        return False
    if scope is None:
        return True
    value = (actor.scope or "").strip()
    if scope == "village":
        return actor.scope_kind == "village" and value == proposal.village_code
    if scope == "town":
        return actor.scope_kind == "town" and value == proposal.town
    if scope == "sector":
        sector = sector_for_category(proposal.category)
        return actor.scope_kind == "sector" and value in SECTOR_ALIASES.get(sector, (sector,))
    msg = f"unknown scope kind {scope!r}"
    raise ValueError(msg)


def step_for(status: str, action: str, level: str = "village") -> Step | None:
    """The step ``action`` takes from ``status`` for a proposal of ``level`` (None: no such step)."""
    if action == "submit" and level in LEVEL_STEPS:
        return next((s for s in LEVEL_STEPS[level] if s.from_status == status), None)
    return _STEP.get((status, action))


def _level(proposal) -> str:
    return getattr(proposal, "level", None) or "village"


def may_act(actor: Actor | None, proposal: Proposal, action: str) -> bool:
    step = step_for(proposal.status, action, _level(proposal))
    return step is not None and actor is not None and actor.role == step.role and in_scope(actor, proposal, step.scope)


def allowed_actions(actor: Actor | None, proposal: Proposal) -> list[str]:
    """Actions ``actor`` may take on ``proposal`` now, in :data:`ACTIONS` order."""
    return [a for a in ACTIONS if may_act(actor, proposal, a)]


#: Actions that put a proposal in someone's 待我审核 inbox (start/complete are implementation
#: bookkeeping, not a decision anyone waits for).
INBOX_ACTIONS = ("submit", "approve", "publish")


def inbox_statuses(role: str) -> tuple[str, ...]:
    """Statuses in which a proposal may wait for ``role``'s decision (empty for other roles)."""
    steps = (*STEPS, *(s for level in LEVEL_STEPS.values() for s in level))
    return tuple(dict.fromkeys(s.from_status for s in steps if s.role == role and s.action in INBOX_ACTIONS))


def waiting_for(actor: Actor | None, proposals) -> list[Proposal]:
    """The proposals of ``proposals`` that wait for ``actor``'s decision (role and scope), in the given order."""
    return [p for p in proposals if any(may_act(actor, p, a) for a in INBOX_ACTIONS)]


#: The level each proposing role proposes at.
LEVEL_OF_ROLE = {"village_applicant": "village", "town_reviewer": "town", "sector_assessor": "county"}


def may_create(actor: Actor | None, *, village_code: str | None = None, level: str | None = None,
               town: str | None = None, category: str | None = None) -> bool:
    """Who may draft a proposal, at which level.

    Villages propose for themselves (level ``village``); a town reviewer for its own town
    (level ``town``: several of its villages or none); a sector assessor county-wide for the
    categories its department assesses (level ``county``); planners and admins draft at
    any level for anyone. ``None`` arguments are not checked (e.g. "may this user propose
    at all?").
    """
    if actor is None:
        return False
    if actor.role in ("planner", "admin"):
        return True
    own = LEVEL_OF_ROLE.get(actor.role)
    if own is None or (level is not None and level != own):
        return False
    scope = (actor.scope or "").strip()
    if own == "village":
        return village_code is None or scope == village_code
    if own == "town":
        return town is None or scope == town
    if category is None:
        return True
    sector = SECTOR_BY_CATEGORY.get(category)
    return sector is not None and scope in SECTOR_ALIASES.get(sector, (sector,))


def may_edit(actor: Actor | None, proposal: Proposal) -> bool:
    if proposal.status not in EDITABLE_STATUSES or actor is None:
        return False
    if actor.role in ("planner", "admin"):
        return True
    step = step_for(proposal.status, "submit", _level(proposal))  # the proposer edits
    return step is not None and actor.role == step.role and in_scope(actor, proposal, step.scope)


def may_read_attachments(actor: Actor | None, proposal: Proposal) -> bool:
    """May ``actor`` read (list, download) the files attached to ``proposal``?

    A proposal the proposer is still working on (:data:`EDITABLE_STATUSES`: a draft, or
    one returned for changes) is their working copy: its files are read only by a
    logged-in user of the proposing unit (who may edit it: the village, the town or the
    sector that proposes it, planners and admins; or who created it) and by its
    reviewers (the town, the sector and the county approver whose steps it will pass) —
    even when reading the maps needs no login. Once submitted, its files are read by
    whoever may read the proposal, as before (the 公示 is public).
    """
    if proposal.status not in EDITABLE_STATUSES:
        return True
    if actor is None or not getattr(actor, "username", None):
        return False
    if may_edit(actor, proposal) or (proposal.created_by and actor.username == proposal.created_by):
        return True
    return any(actor.role == s.role and in_scope(actor, proposal, s.scope) for s in _review_steps(_level(proposal)))


def _review_steps(level: str) -> tuple[Step, ...]:
    """The review steps a proposal of ``level`` passes once submitted: those from the
    status its submit step reaches onwards, along the approvals (a county-level proposal
    never meets the town reviewer)."""
    status, steps = SUBMIT_STEPS[level][0], []
    while (step := _STEP.get((status, "approve"))) is not None:
        steps.extend(s for s in STEPS if s.from_status == status and s.action != "submit")
        status = step.to_status
    return tuple(steps)


def _last_step(con, proposal_id: int) -> dict | None:
    row = con.execute(
        "SELECT actor, role, action, from_status, to_status, at, comment FROM rp_transitions"
        " WHERE proposal_id = ? ORDER BY id DESC LIMIT 1", (proposal_id,),
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("actor", "role", "action", "from_status", "to_status", "at", "comment"), row))


def transition(ws, proposal_id: int, action: str, *, actor: Actor, expected_version: int,
               comment: str | None = None, evaluation: Mapping[str, Any] | None = None) -> Proposal:
    """Take one workflow step, atomically, and record it.

    Parameters
    ----------
    ws : layers.store.Workspace
    proposal_id : int
    action : str
        One of :data:`ACTIONS`.
    actor : Actor
        Who acts (username, role, scope).
    expected_version : int
        The version the actor saw; the step is refused if the proposal changed since.
    comment : str, optional
        The reviewer's opinion; required for ``return`` and ``reject``.
    evaluation : mapping, optional
        The location evaluation the reviewer saw (``ProposalEvaluation.to_dict()``),
        stored with the step.

    Returns
    -------
    Proposal
        The proposal after the step (status changed, version + 1).

    Raises
    ------
    ConflictError
        Someone else acted (or edited) first.
    InvalidTransition
        No such action from the current status, or a missing reason.
    ForbiddenTransition
        The actor's role or scope may not take this step.
    """
    if action not in ACTIONS:
        msg = f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}"
        raise InvalidTransition(msg)
    comment = (comment or "").strip() or None
    evaluation_json = None if evaluation is None else json.dumps(evaluation, ensure_ascii=False, sort_keys=True)
    with ws.transaction() as con:
        create_tables(con)
        current = _read(con, proposal_id)
        if current.version != int(expected_version):
            last = _last_step(con, current.id)
            who = f"{last['actor']} ({last['action']} → {last['to_status']}, {last['at']})" if last else "someone"
            msg = (f"proposal {current.id} was changed by {who} after you opened it; it is now "
                   f"{current.status}. Your action was not applied; your comment is kept below.")
            raise ConflictError(msg, current=current, last=last, comment=comment)
        step = step_for(current.status, action, _level(current))
        if step is None:
            msg = f"cannot {action} a proposal that is {current.status}"
            raise InvalidTransition(msg)
        if actor.role != step.role or not in_scope(actor, current, step.scope):
            msg = _forbidden_message(actor, current, step)
            raise ForbiddenTransition(msg)
        if action in REASON_REQUIRED and not comment:
            msg = f"a reason is required to {action} a proposal"
            raise InvalidTransition(msg)
        now = utc_now()
        updated = con.execute(
            "UPDATE rp_proposals SET status = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
            (step.to_status, now, current.id, current.version),
        ).rowcount
        if updated != 1:  # cannot happen under the write lock; kept as a guard
            msg = f"proposal {current.id} changed during the update"
            raise ConflictError(msg, current=current, comment=comment)
        con.execute(
            "INSERT INTO rp_transitions(proposal_id, actor, role, at, from_status, to_status, action, comment,"
            " version, evaluation_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (current.id, actor.username, actor.role, now, current.status, step.to_status, action, comment,
             current.version + 1, evaluation_json),
        )
        return _read(con, current.id)


def _forbidden_message(actor: Actor, proposal: Proposal, step: Step) -> str:
    need = step.role
    if step.scope == "village":
        need += f" of village {proposal.village_code}"
    elif step.scope == "town":
        need += f" of town {proposal.town}"
    elif step.scope == "sector":
        need += f" of sector {sector_for_category(proposal.category)}"
    return (f"{actor.username} ({actor.role}{', ' + actor.scope if actor.scope else ''}) may not "
            f"{step.action} proposal {proposal.id} ({proposal.status}); this needs a {need}")


def workflow_table() -> list[dict[str, Any]]:
    """The rules as rows (for the docs page and the report); the submit steps of town- and
    county-level proposals carry their ``level`` (the others apply to village proposals and
    to every level after the submission)."""
    rows = [{"from_status": s.from_status, "action": s.action, "to_status": s.to_status, "role": s.role,
             "scope": s.scope} for s in STEPS]
    rows += [{"level": level, "from_status": s.from_status, "action": s.action, "to_status": s.to_status,
              "role": s.role, "scope": s.scope} for level, steps in LEVEL_STEPS.items() for s in steps]
    return rows


__all__ = [
    "ACTIONS", "APPROVED_STATUSES", "EDITABLE_STATUSES", "PENDING_STATUSES", "REASON_REQUIRED",
    "SECTOR_BY_CATEGORY", "STEPS", "ConflictError", "ForbiddenTransition", "InvalidTransition", "Step",
    "WorkflowError", "allowed_actions", "in_scope", "may_act", "may_create", "may_edit", "sector_for_category",
    "step_for", "transition", "workflow_table", "LEVEL_OF_ROLE", "SUBMIT_STEPS",
]
