"""The pairings page (结对帮扶): coverage per rule and town, gaps, workload, suggestions.

The workspace analysis and accepting suggestions live in :mod:`web.services.pairings`
(shared with ``ruralplan pairings``); this module draws and serves them.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import folium
import numpy as np
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from layers.audit import read_audit
from planner.pairings import HOUSEHOLD_RULE, RESIDENT_RULES, UNIT_KINDS

from .. import mapping
from ..app import NavItem, current_workspace
from ..auth import permission_required
from ..i18n import current_lang
from ..services import labels, mapdata
from ..services import pairings as pairing_service
from ..services.pairings import (ACCEPT_ACTION, PairingsChanged, WorkspaceAnalysis, accept_suggestions,
                                 analyse_workspace)
from ..services.users import has_permission

bp = Blueprint("pairings", __name__, url_prefix="/pairings")
NAV = [NavItem("pairings.index", _l("Pairings"), 30)]

#: Permission needed to accept suggestions (planner and admin have it): accepting
#: writes the pairings layer, like an import.
ACCEPT_PERMISSION = "import"
#: Audit rows shown on the page (to users with :data:`ACCEPT_PERMISSION`): the latest few,
#: so the page stays short; the whole log is in the workspace (``layers.audit``).
AUDIT_ROWS = 10
#: Rows per page of every long table (workload has hundreds of helpers on a county):
#: the page stays a few screens tall and cheap to render.
PAGE_ROWS = 50
#: Long tables paged on the server, each with its own query parameter (the workload,
#: the longest, takes the plain ``?page=``).
PAGED_TABLES = {"workload": "page", "gaps": "gaps_page", "suggestions": "suggestions_page",
                "problems": "problems_page", "uncovered": "uncovered_page",
                "coverage_by_town": "town_page"}


def page_rows(rows: list, requested, *, per_page: int | None = None) -> dict:
    """One page of ``rows``: ``{"rows", "page", "pages", "total", "first"}``.

    ``requested`` is the raw query value (1-based); anything not a positive integer
    means page 1 and a page past the end means the last one, so a stale link still
    shows rows. ``first`` is the 0-based index of the first row shown.
    """
    per_page = per_page or PAGE_ROWS
    total = len(rows)
    pages = max(1, -(-total // per_page))
    try:
        page = int(requested)
    except (TypeError, ValueError):
        page = 1
    page = min(max(page, 1), pages)
    first = (page - 1) * per_page
    return {"rows": rows[first:first + per_page], "page": page, "pages": pages, "total": total, "first": first}


#: Guards the page's caches (rendered maps, analysis dicts).
_map_lock = threading.Lock()


# =========================================================================== visibility
def _household_filter(user):
    """Which household rows the user may see: "all", "none" or a predicate on a row
    (the API, map data and downloads decide the same way: :mod:`web.visibility`)."""
    from ..services.visibility import household_rule

    return household_rule(user)


#: ``PairingAnalysis.to_dict`` per cached analysis (most of a warm page's time otherwise);
#: weak keys: it goes with the analysis when the analysis cache drops it.
_DICTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _analysis_dict(result: WorkspaceAnalysis, include_households: bool) -> dict:
    with _map_lock:
        per = _DICTS.get(result)
        if per is not None and include_households in per:
            return per[include_households]
    out = result.analysis.to_dict(include_households=include_households)
    with _map_lock:
        _DICTS.setdefault(result, {})[include_households] = out
    return out


def visible_dict(result: WorkspaceAnalysis, user) -> dict:
    """The analysis as a dict with household rows only where the user may see them."""
    rule = _household_filter(user)
    # a shallow copy: filtered lists are replaced, never edited, so the cached dict stays whole
    data = dict(_analysis_dict(result, rule != "none"))
    if callable(rule):
        village_of = {g["target_id"]: g.get("village_code") for g in data["gaps"] if g["target_kind"] == "household"}
        for key in ("gaps", "problems", "suggestions", "uncovered"):
            kept = []
            for row in data[key]:
                if row.get("target_kind") != "household":
                    kept.append(row)
                    continue
                probe = {"village_code": row.get("village_code") or village_of.get(row.get("target_id")),
                         "town": row.get("town")}
                if rule(probe):
                    kept.append(row)
            data[key] = kept
    data["travel_method"] = result.travel_method
    data["estimate"] = result.estimate
    data["version"] = result.version
    data["households_visible"] = "all" if rule == "all" else "scope" if callable(rule) else "none"
    return data


# =========================================================================== map
STATUS_COLORS = {"covered": "#1a9850", "partial": "#fdae61", "gap": "#d73027", "not_required": "#9e9e9e"}
KIND_COLORS = {"work_team": "#1f78b4", "first_secretary": "#6a3d9a", "cadre": "#33a02c",
               "municipal_unit": "#b15928", "central_unit": "#e31a1c", "enterprise": "#ff7f00",
               "east_west": "#e7298a"}


def _inside(point, bounds, margin: float = 0.05) -> bool:
    (s, w), (n, e) = bounds
    return w - margin <= point[0] <= e + margin and s - margin <= point[1] <= n + margin


def build_pairings_map(ws, result: WorkspaceAnalysis, data: dict, *, config) -> dict:
    """The folium map: villages coloured by coverage, helper→target lines, gaps, suggestions.

    Helpers based far outside the county (east–west partners, central units in Beijing)
    would draw hundreds of lines across the country, so they become one aggregated arrow
    per helper pointing at the county from its side, labelled with the number of targets.
    """
    a = result.analysis
    bounds = mapdata.workspace_bounds(ws)
    base = mapping.site_map(bounds, config=config, fit=True, prefer_canvas=True,
                            css=[("rpmap_css", url_for("static", filename="css/map.css"))])
    mapping.add_context(base, ws)
    tp = a.target_points
    show_households = data["households_visible"] != "none"

    villages_g = folium.FeatureGroup(name=_("Villages by pairing coverage"), show=True)
    for v in data["villages"]:
        p = tp.get(f"village:{v['code']}")
        if p is None:
            continue
        share = v["coverage_share"]
        tip = f"{v['name']} ({v['town']}): " + (
            _("no pairing required") if share is None else _("%(pct)s%% of requirements met", pct=round(100 * share)))
        folium.CircleMarker((p[1], p[0]), radius=5 if v["status"] == "not_required" else 7,
                            color=STATUS_COLORS[v["status"]], fill=True, fill_opacity=0.85, weight=1,
                            tooltip=mapping.TextTooltip(tip)).add_to(villages_g)

    lines_g = folium.FeatureGroup(name=_("Pairings (helper to target)"), show=True)
    far_g = folium.FeatureGroup(name=_("Partners outside the county"), show=True)
    far: dict[str, dict] = {}
    links = a.links
    if not show_households:
        links = links[links["target_kind"] != "household"]
    rule = _household_filter(g.get("user"))
    if callable(rule):
        town_of = {v["code"]: v["town"] for v in data["villages"]}

        def visible(row) -> bool:
            if row.target_kind != "household" or row.location is None:
                return row.target_kind != "household"
            code = row.location.split(":", 1)[1]
            return rule({"village_code": code, "town": town_of.get(code)})

        links = links[[visible(r) for r in links.itertuples(index=False)]]
    for row in links.itertuples(index=False):
        b = a.helper_bases.get(row.helper_key)
        loc = row.location
        if b is None or loc is None or loc not in tp:
            continue
        t = tp[loc]
        if bounds and not _inside(b, bounds):
            item = far.setdefault(row.helper_key, {"name": row.helper_name, "kind": row.helper_kind, "base": b,
                                                   "n": 0})
            item["n"] += 1
            continue
        folium.PolyLine([(b[1], b[0]), (t[1], t[0])], color=KIND_COLORS.get(row.helper_kind, "#555"), weight=1,
                        opacity=0.45).add_to(lines_g)
    if bounds and far:
        (s, w), (n, e) = bounds
        cx, cy = (w + e) / 2, (s + n) / 2
        half = max(e - w, n - s) / 2
        for item in far.values():
            bx, by = item["base"]
            d = np.hypot(bx - cx, by - cy) or 1.0
            ux, uy = (bx - cx) / d, (by - cy) / d
            start = (cy + uy * half * 1.35, cx + ux * half * 1.35)
            end = (cy + uy * half * 0.75, cx + ux * half * 0.75)
            color = KIND_COLORS.get(item["kind"], "#555")
            label = _("%(name)s: %(n)s targets", name=item["name"], n=item["n"])
            folium.PolyLine([start, end], color=color, weight=4, opacity=0.9,
                            tooltip=mapping.TextTooltip(label)).add_to(far_g)
            # arrowhead as two short strokes: folium's marker shapes would load a plugin from a CDN
            size = half * 0.08
            for turn in (0.5, -0.5):
                c, s_ = np.cos(turn), np.sin(turn)
                hx, hy = ux * c - uy * s_, ux * s_ + uy * c
                folium.PolyLine([end, (end[0] + hy * size, end[1] + hx * size)], color=color, weight=4,
                                opacity=0.9, tooltip=mapping.TextTooltip(label)).add_to(far_g)

    gaps_g = folium.FeatureGroup(name=_("Gaps"), show=True)
    for gap in data["gaps"]:
        loc = (f"village:{gap['village_code']}" if gap["target_kind"] == "household"
               else f"{gap['target_kind']}:{gap['target_id']}")
        p = tp.get(loc)
        if p is None:
            continue
        folium.CircleMarker((p[1], p[0]), radius=12, color="#d73027", weight=3, fill=False,
                            tooltip=mapping.TextTooltip(
                                f"{rule_label(gap['rule'])}: {gap['target_name'] or gap['target_id']}"),
                            dash_array="3 3").add_to(gaps_g)

    sug_g = folium.FeatureGroup(name=_("Suggested pairings"), show=True)
    village_of = {g["target_id"]: g.get("village_code") for g in data["gaps"] if g["target_kind"] == "household"}
    for s in data["suggestions"]:
        b = a.helper_bases.get(s["helper_key"])
        loc = (f"village:{village_of.get(s['target_id'])}" if s["target_kind"] == "household"
               else f"{s['target_kind']}:{s['target_id']}")
        if b is None or loc not in tp:
            continue
        t = tp[loc]
        folium.PolyLine([(b[1], b[0]), (t[1], t[0])], color="#000", weight=2.5, dash_array="8 6", opacity=0.9,
                        tooltip=mapping.TextTooltip(
                            f"{s['suggestion_id']}: {s['helper_name']} → {s['target_name'] or s['target_id']}")
                        ).add_to(sug_g)

    for group in (villages_g, lines_g, far_g, gaps_g, sug_g):
        group.add_to(base)
    folium.LayerControl(position="topright", collapsed=False).add_to(base)
    return mapping.map_parts(base)


# =========================================================================== labels
def rule_label(rule: str) -> str:
    return labels.code_label(labels.RULE_LABELS, rule, _)


def kind_label(kind: str | None, *, lang: str | None = None) -> str:
    """A helper or target kind by its schema label (the current language, or ``lang``)."""
    return pairing_service.kind_label(kind, lang=lang or current_lang())


def role_text(role: str | None) -> str:
    return labels.code_label(labels.PAIRING_ROLE_LABELS, role or "", _)


def missing_text(missing: str | None) -> str:
    return ", ".join(role_text(m) for m in str(missing or "").split(",") if m)


def action_text(action: str) -> str:
    return {
        "extend_team": _("existing team takes it on"), "extend_secretary": _("existing first secretary takes it on"),
        "dispatch_team": _("unit dispatches a new work team"),
        "dispatch_secretary": _("unit selects a new first secretary"),
        "assign_cadre": _("cadre with spare capacity"),
    }.get(action, action)


def reason_text(need) -> str:
    """Why a need cannot be filled (a row of ``uncovered``; a bare reason code also works)."""
    need = need if isinstance(need, dict) else {"reason": need}
    return pairing_service.unfilled_text(need, _, lang=current_lang())


def problem_label(problem: str) -> str:
    return pairing_service.problem_label(problem, _)


def problem_text(problem: dict) -> str:
    return pairing_service.problem_text(problem, _, current_lang())


def audit_action_label(action: str) -> str:
    return {ACCEPT_ACTION: _("Suggestions accepted")}.get(action, action)


def audit_summary(entry) -> str:
    """One line about what an audit row changed."""
    d = entry.details if isinstance(entry.details, dict) else {}
    if entry.action == ACCEPT_ACTION:
        ids = d.get("suggestion_ids") or []
        shown = ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")
        return _("%(n)s suggestions (%(ids)s): %(rows)s pairings added", n=len(ids), ids=shown,
                 rows=len(d.get("added") or []))
    return str(entry.details)[:200]


# =========================================================================== views
#: Rendered maps (folium's render is most of the page's time: a thousand pairing lines),
#: kept per app, workspace data, analysis version, language and household visibility.
_MAP_CACHE: OrderedDict = OrderedDict()
_MAP_CACHE_SIZE = 16


def _cached_map(ws, result: WorkspaceAnalysis, data: dict, user) -> dict:
    from ..services.visibility import household_scope

    key = (id(current_app._get_current_object()), str(ws.path), mapdata.data_stamp(ws), result.version,
           result.travel_method, current_lang(), household_scope(user))
    with _map_lock:
        hit = _MAP_CACHE.get(key)
        if hit is not None:
            _MAP_CACHE.move_to_end(key)
            return hit
    parts = build_pairings_map(ws, result, data, config=current_app.config)
    with _map_lock:
        _MAP_CACHE[key] = parts
        while len(_MAP_CACHE) > _MAP_CACHE_SIZE:
            _MAP_CACHE.popitem(last=False)
    return parts


def _result(ws) -> WorkspaceAnalysis:
    return analyse_workspace(ws, travel=current_app.config.get("RURALPLAN_PAIRING_TRAVEL", "network"))


@bp.route("/")
@permission_required("read")
def index():
    ws = current_workspace()
    user = g.get("user")
    result = _result(ws)
    data = visible_dict(result, user)
    units_town = [r for r in data["unit_counts_town"] if r["total"] or r["villages_with_unit"]]
    page_map = _cached_map(ws, result, data, user)
    can_accept = has_permission(user, ACCEPT_PERMISSION)
    # the audit log names users and households' pairings: planners and administrators only
    audit = read_audit(ws, limit=AUDIT_ROWS) if can_accept else None
    # the map draws every gap and suggestion; the tables show one page each
    town_rules, town_rows = pairing_service.coverage_by_town_matrix(data["coverage_by_town"])
    rows = {**data, "coverage_by_town": town_rows}
    paged = {key: page_rows(rows[key], request.args.get(param)) for key, param in PAGED_TABLES.items()}
    return render_template(
        "pairings/index.html", data=data, map=page_map, units_town=units_town, unit_kinds=UNIT_KINDS,
        paged=paged, page_params=PAGED_TABLES, town_rules=town_rules,
        can_accept=can_accept, resident_rules=RESIDENT_RULES, audit=audit, audit_rows=AUDIT_ROWS,
        household_rule=HOUSEHOLD_RULE, status_colors=STATUS_COLORS, kind_colors=KIND_COLORS,
        rule_label=rule_label, kind_label=kind_label, missing_text=missing_text, role_text=role_text,
        action_text=action_text, reason_text=reason_text, problem_label=problem_label, problem_text=problem_text,
        audit_action_label=audit_action_label, audit_summary=audit_summary,
    )


@bp.route("/data.json")
@permission_required("read")
def data_json():
    ws = current_workspace()
    return visible_dict(_result(ws), g.get("user"))


@bp.route("/accept", methods=["POST"])
@permission_required(ACCEPT_PERMISSION)
def accept():
    ws = current_workspace()
    user = g.get("user")
    ids = [s for s in request.form.getlist("suggestion_ids") if s]
    if not ids:
        flash(_("No suggestion selected."), "warning")
        return redirect(url_for("pairings.index"))
    result = _result(ws)
    if request.form.get("version") != result.version:
        # the pairings changed since the page was shown: the ids may mean something else now
        flash(_("The pairings changed since this page was loaded; review the new suggestions."), "warning")
        return redirect(url_for("pairings.index"))
    known = set(result.analysis.suggestions["suggestion_id"])
    if not set(ids) <= known:
        abort(400)
    try:
        added = accept_suggestions(ws, result, ids, username=user.username if user else None)
    except PairingsChanged:  # another writer changed the layer after this analysis
        flash(_("The pairings changed since this page was loaded; review the new suggestions."), "warning")
        return redirect(url_for("pairings.index"))
    flash(_("%(n)s suggestions accepted: %(rows)s pairings added.", n=len(set(ids)), rows=len(added)), "success")
    return redirect(url_for("pairings.index"))
