"""Pairings (结对帮扶) on a workspace: the analysis with its rules and travel times, and
accepting suggestions — shared by the pairings page and ``ruralplan pairings``.

:func:`analyse_workspace` reads the layers, takes the rules from the workspace meta
(``pairing_rules``; the county code from ``county_code``) and the travel times from the
road network (:func:`web.services.road_graph` + :func:`planner.travel.travel_time_matrix`),
and :func:`accept_suggestions` writes accepted pairings and their audit record
(:mod:`layers.audit`) in one atomic step.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import threading
from dataclasses import dataclass

import pandas as pd

from geo.report import N_
from layers.audit import AUDIT_SCHEMA, audit_statement
from planner.pairings import PairingAnalysis, PairingRules, analyse_pairings, apply_suggestions, problem_detail

from . import mapdata
from .errors import NoRoads

#: Audit action of accepted suggestions.
ACCEPT_ACTION = "pairings.accept_suggestions"


class PairingsChanged(Exception):
    """The pairings layer is no longer the one the suggestions were made for."""


# =========================================================================== workspace adapter
@dataclass(frozen=True, eq=False)
class WorkspaceAnalysis:
    analysis: PairingAnalysis
    #: "network", "straight_line" (no roads, or chosen) or "none"
    travel_method: str
    #: Fingerprint of the pairings layer and rules the suggestions were made for.
    version: str
    pairings: pd.DataFrame
    #: Set when travel times are the straight-line estimate (no roads, or asked for):
    #: :meth:`planner.estimate.StraightLineEstimate.to_dict`, shown as 估算/estimate.
    estimate: dict | None = None


_memo: dict[tuple, tuple[tuple, WorkspaceAnalysis]] = {}
_memo_lock = threading.Lock()


def workspace_rules(ws) -> PairingRules:
    """Rules from the workspace meta ``pairing_rules`` (county code from ``county_code``)."""
    meta = ws.meta()
    raw = dict(meta.get("pairing_rules") or {})
    if not raw.get("home_county_code") and meta.get("county_code"):
        raw["home_county_code"] = str(meta["county_code"])[:6]
    return PairingRules.from_dict(raw)


def workspace_travel(ws, method: str = "network"):
    """A ``travel_min`` callable, the method actually used and the estimate's label.

    The network comes from :func:`web.services.workspace_network`; a workspace without
    roads (:class:`~web.services.errors.NoRoads`), or ``method="straight_line"``, gets the
    county's straight-line estimate — the same one as coverage, OD and placement
    (:func:`web.services.straight_line_estimate`: distance × ``network.detour_factor`` at
    ``network.estimate_speed_kmh``) — and its label (:meth:`StraightLineEstimate.to_dict`)
    for the page and the CLI to show. A bad ``network`` setting
    (:class:`~web.services.errors.BadSetting`) is raised, never papered over.

    Returns
    -------
    (callable or None, str, dict or None)
    """
    travel, _off_network, used, estimate = workspace_travel_rules(ws, method)
    return travel, used, estimate


def workspace_travel_rules(ws, method: str = "network"):
    """:func:`workspace_travel` and the ``off_network(targets, helpers)`` callable for
    :func:`planner.pairings.analyse_pairings` on the same graph, chosen once.

    The reason of each target location is :func:`planner.travel.point_reasons` against the
    helper bases — the one rule of coverage, od, place and the map — so a village too far
    from any road, on an island network or cut off by a scenario is named so in the
    pairings too, with the same distances.

    Returns
    -------
    (travel callable or None, off_network callable or None, str, dict or None)
    """
    from planner.travel import travel_time_matrix
    from web import services

    if method == "none":
        return None, None, "none", None
    network = None
    if method == "network":
        try:
            network = services.workspace_network(ws)
        except NoRoads:
            network = None
    if network is not None:
        def travel(origins, destinations):
            return travel_time_matrix(network.graph, origins, destinations, max_snap_m=network.max_snap_m).minutes

        return travel, off_network_rule(network.graph, max_snap_m=network.max_snap_m), "network", None
    estimate = services.straight_line_estimate(ws)

    def travel_estimated(origins, destinations):
        origins = origins if origins.crs is not None else origins.set_crs("EPSG:4326")
        destinations = destinations if destinations.crs is not None else destinations.set_crs("EPSG:4326")
        return travel_time_matrix(estimate, origins, destinations).minutes

    return travel_estimated, off_network_rule(estimate, max_snap_m=None), "straight_line", estimate.to_dict()
    try:
        return services.workspace_network(ws)
    except NoRoads:
        return None


def off_network_rule(graph, *, max_snap_m: float | None = None):
    """``off_network(targets, helpers)`` on ``graph`` (a road graph, a scenario's graph or the
    straight-line estimate): a DataFrame indexed by target id with ``reason`` (the code of
    :func:`planner.travel.point_reasons`, ``""`` on the network), ``network_m``, ``fragment_m``."""
    from planner.snap import snap_points
    from planner.travel import point_reasons

    options = {} if max_snap_m is None else {"max_snap_m": max_snap_m}

    def off_network(targets, helpers):
        targets = targets if targets.crs is not None else targets.set_crs("EPSG:4326")
        helpers = helpers if helpers.crs is not None else helpers.set_crs("EPSG:4326")
        st = snap_points(graph, targets, id_column="id", **options)
        sh = snap_points(graph, helpers, id_column="id", **options)
        return pd.DataFrame({"reason": point_reasons(graph, st, sh), "network_m": st.network_m,
                             "fragment_m": st.fragment_m}, index=pd.Index(st.ids, dtype=object))

    return off_network


def _version(pairings: pd.DataFrame, rules: PairingRules) -> str:
    frame = pd.DataFrame(pairings.drop(columns=[pairings.geometry.name]) if hasattr(pairings, "geometry")
                         else pairings).astype(str)
    h = hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    h.update(json.dumps(rules.to_dict(), sort_keys=True).encode())
    return h.hexdigest()[:16]


def analyse_workspace(ws, *, travel: str = "network", rules: PairingRules | None = None) -> WorkspaceAnalysis:
    """Run :func:`planner.pairings.analyse_pairings` on a workspace (cached per file version)."""
    rules = rules or workspace_rules(ws)
    key = (str(ws.path), travel, hash(rules))
    # the layers it reads and the network settings: a proposal edit keeps the analysis
    stamp = (mapdata.data_stamp(ws, ("villages", "households", "relocation_settlements", "pairings", "roads")),
             json.dumps(ws.meta().get("network"), sort_keys=True, default=str))
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    pairings = ws.read_layer("pairings")
    travel_fn, off_network, method, estimate = workspace_travel_rules(ws, travel)
    analysis = analyse_pairings(ws.read_layer("villages"), ws.read_layer("households"),
                                ws.read_layer("relocation_settlements"), pairings, rules=rules, travel_min=travel_fn,
                                off_network=off_network)
    result = WorkspaceAnalysis(analysis, method, _version(pairings, rules), pairings, estimate)
    with _memo_lock:
        _memo[key] = (stamp, result)
    return result


def accept_suggestions(ws, result: WorkspaceAnalysis, suggestion_ids, *, username: str | None) -> list[dict]:
    """Append accepted suggestions to the pairings layer and record them in the audit log.

    One exclusive, atomic step (:meth:`layers.store.Workspace.editing`): the current
    layer is read under the workspace lock, checked against the version the suggestions
    were made for, extended and written together with its audit row. No other writer can
    slip in between the read and the write, and a crash leaves neither.

    Raises
    ------
    PairingsChanged
        The layer changed since ``result`` was computed (nothing is written).
    """
    today = _dt.date.today().isoformat()
    with ws.editing() as edit:
        current = edit.read_layer("pairings")
        if _version(current, result.analysis.rules) != result.version:
            raise PairingsChanged(result.version)
        updated, added = apply_suggestions(current, result.analysis, suggestion_ids=suggestion_ids,
                                           start_date=today)
        details = {
            "suggestion_ids": sorted(set(suggestion_ids)),
            "version": result.version,
            "travel_method": result.travel_method,
            "added": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in r.items()} for r in added],
        }
        edit.write_layer("pairings", updated)
        edit.execute(AUDIT_SCHEMA)
        edit.execute(*audit_statement(username, ACCEPT_ACTION, details))
    return added


# =========================================================================== labels
def unfilled_text(need: dict, gettext, *, lang: str) -> str:
    """Why a need cannot be filled, in ``gettext``'s language: ``无法到达：离道路太远 (距路网 7,777 米)``
    for a target off the road network — the reason and distances of every network output
    (:mod:`web.services.netreasons`) — else the pairing reason (no capacity left…)."""
    from .labels import UNFILLED_REASON_LABELS, code_label
    from .netreasons import distances, metres, reason_text

    label = code_label(UNFILLED_REASON_LABELS, need.get("reason"), gettext)
    code = need.get("network_reason")
    if not code:
        return label
    where = distances({"network_m": metres(need.get("network_m")), "fragment_m": metres(need.get("fragment_m"))},
                      gettext)
    return f"{label}{'：' if lang == 'zh' else ': '}{reason_text(code, gettext)} {where}".rstrip()


def kind_label(kind: str | None, *, lang: str) -> str:
    """A helper or target kind by its schema label in ``lang`` ("zh" or "en")."""
    from layers.schema import HELPER_KINDS, TARGET_KINDS

    for c in (*HELPER_KINDS, *TARGET_KINDS):
        if c.value == kind:
            return c.zh if lang == "zh" else c.en
    return kind or ""


PROBLEM_LABELS = {
    "invalid_kind": N_("Unknown helper or target kind"),
    "missing_target": N_("Pairing without a target"),
    "unknown_target": N_("Pairing to an unknown target"),
    "duplicate_pairing": N_("Duplicate pairing"),
    "duplicate_id": N_("Duplicate pairing id"),
    "kind_mismatch": N_("Helper kind cannot cover this target"),
    "foreign_cadre": N_("Household paired with a cadre of another county"),
    "team_over_limit": N_("Work team covers more villages than allowed"),
    "household_unknown_village": N_("Household of an unknown village"),
}


def problem_label(problem: str, gettext) -> str:
    """The name of a data-problem code (Flask-Babel's gettext, or a catalog's for the CLI)."""
    return gettext(PROBLEM_LABELS[problem]) if problem in PROBLEM_LABELS else problem


def problem_text(problem: dict, gettext, lang: str) -> str:
    """A data problem's detail in the user's language: the template of
    :data:`planner.pairings.PROBLEM_MESSAGES` translated, then filled; kind codes become labels."""
    message, params = problem.get("message"), dict(problem.get("params") or {})
    if not message:
        return problem.get("detail") or ""

    def kind(value) -> str:
        text = kind_label(value, lang=lang)
        return text[:1].lower() + text[1:] if lang == "en" else text  # mid-sentence in English

    params = {k: kind(v) if k.endswith("_kind") and v is not None else v for k, v in params.items()}
    try:
        return problem_detail(message, params, gettext)
    except (KeyError, IndexError, ValueError):  # a broken translation must not hide the problem
        return problem_detail(message, params)


def coverage_by_town_matrix(coverage_by_town: list[dict]) -> tuple[list[str], list[dict]]:
    """The long per-(town, rule) coverage rows as one row per town.

    Parameters
    ----------
    coverage_by_town : list of dict
        :meth:`planner.pairings.PairingAnalysis.to_dict` ``["coverage_by_town"]``: rows with
        ``town, rule, required, covered, gaps, share``.

    Returns
    -------
    rules : list of str
        The rules present, in their first-seen order.
    rows : list of dict
        ``{"town": str | None, "cells": {rule: row}}`` in first-seen town order; a rule a
        town has no target for is absent from its ``cells``.
    """
    rules: list[str] = []
    by_town: dict = {}
    for row in coverage_by_town:
        if row["rule"] not in rules:
            rules.append(row["rule"])
        by_town.setdefault(row["town"], {})[row["rule"]] = row
    return rules, [{"town": town, "cells": cells} for town, cells in by_town.items()]
