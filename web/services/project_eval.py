"""Workspace → planner glue for the project library (Flask-free: the CLI uses it too).

Picks the inputs of :func:`planner.evaluate.evaluate_proposal` from the workspace (the
road graph via :func:`web.services.road_graph`, the same-category facilities, approved
proposals, settlements, bases and constraint zones) and caches each evaluation in the
workspace (``rp_cache``) under a key of everything it depends on, so the detail page,
the API, the CLI and the transition snapshot all see the very same numbers.
"""
from __future__ import annotations

import dataclasses

import hashlib
import json
from typing import Any, Mapping

import geopandas as gpd

from layers import proposals as P
from layers.schema import commodity_codes
from layers.workflow import APPROVED_STATUSES, PENDING_STATUSES
from planner.evaluate import EvaluationSubject, ScoreWeights, evaluate_proposal, portfolio

from .. import services

#: Existing facilities of the same category: (layer, kinds or None for all).
CATEGORY_FACILITIES: Mapping[str, tuple[str, tuple[str, ...] | None] | None] = {
    "cold_chain": ("cold_storage", None),
    "processing": ("industry_bases", ("processing",)),
    "industry": ("industry_bases", ("planting", "breeding", "park")),
    "employment_workshop": ("industry_bases", ("workshop",)),
    "infrastructure": None,
    "public_service": None,
}
DEFAULT_CUTOFF_MIN = 30.0
DEFAULT_RADIUS_KM = 5.0
_CACHE_PREFIX = "proposal_eval:"
_EVAL_VERSION = "2"  # 2: alternatives carry the nearest village and road

def commodity_values(text) -> set[str]:
    """Commodity values from a cold store's list ("蔬菜,大蒜" → {vegetables, garlic}):
    :func:`layers.schema.commodity_codes`, the parser the planning page uses too."""
    return set(commodity_codes(text))


def settings_from(ws, *, cutoff_min=None, radius_km=None, weights=None) -> dict[str, Any]:
    """Evaluation settings: explicit values, else workspace meta ``project_evaluation``, else defaults."""
    meta = dict(ws.meta().get("project_evaluation") or {})
    return {
        "cutoff_min": float(cutoff_min if cutoff_min is not None else meta.get("cutoff_min", DEFAULT_CUTOFF_MIN)),
        "alternative_radius_km": float(radius_km if radius_km is not None
                                       else meta.get("alternative_radius_km", DEFAULT_RADIUS_KM)),
        "weights": ScoreWeights.from_dict(weights if weights is not None else meta.get("weights")),
    }


def same_category_facilities(ws, category: str, commodities=()) -> gpd.GeoDataFrame | None:
    """Existing (and under-construction) facilities of the category, of overlapping commodities."""
    spec = CATEGORY_FACILITIES.get(category)
    if spec is None:
        return None
    layer, kinds = spec
    frame = ws.read_layer(layer)
    if "status" in frame.columns:
        frame = frame[frame["status"].isin(list(services.EXISTING_STATUSES))]
    if kinds is not None:
        frame = frame[frame["kind"].isin(list(kinds))]
    wanted = set(commodities)
    if wanted:
        if "commodities" in frame.columns:  # cold stores list several
            listed = frame["commodities"].map(commodity_values)
            frame = frame[listed.map(lambda s: not s or bool(s & wanted))]
        elif "commodity" in frame.columns:
            frame = frame[frame["commodity"].isna() | frame["commodity"].isin(list(wanted))]
    return frame.reset_index(drop=True)


def _same_category_proposals(ws, proposal, statuses) -> list[P.Proposal]:
    items = P.list_proposals(ws, P.ProposalFilter(status=tuple(statuses), category=proposal.category))
    wanted = set(proposal.commodities)
    return [p for p in items if p.id != proposal.id and (not wanted or not p.commodities or wanted & set(p.commodities))]


def _frame(items) -> gpd.GeoDataFrame | None:
    if not items:
        return None
    frame = P.proposals_frame(items)
    frame["id"] = [f"proposal-{p.id}" for p in items]
    return frame


def _evaluation_inputs(proposal: P.Proposal) -> dict[str, Any]:
    """The proposal fields the evaluation reads: its :class:`planner.evaluate.EvaluationSubject`
    (the site as WKT), which is also all that :func:`evaluate` picks its other inputs by. Not
    the status, version or timestamps: a proposal walked through the review keeps its
    evaluation (the version it is shown with is set on reading)."""
    subject = EvaluationSubject.from_proposal(proposal)
    fields = {f.name: getattr(subject, f.name) for f in dataclasses.fields(subject)}
    fields["geometry"] = None if subject.geometry is None else subject.geometry.wkt
    return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}


def _cache_key(ws, proposal, approved, settings, scenario=None) -> str:
    meta = ws.meta()
    payload = {
        "scenario": None if scenario is None else scenario.to_dict(),
        "v": _EVAL_VERSION,
        "layers": meta.get("layers_version"),
        "network": meta.get("network"),
        "proposal": _evaluation_inputs(proposal),
        "approved": sorted((p.id, p.version) for p in approved),
        "settings": {**settings, "weights": settings["weights"].to_dict()},
    }
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    tag = "" if scenario is None else f"@{scenario.name}"
    return f"{_CACHE_PREFIX}{proposal.id}{tag}:{digest[:32]}"


#: An alternative site is named (page, CLI) only when it serves more than this, in the
#: coverage measure, beyond the proposed site; otherwise there is no better site.
ALTERNATIVE_MIN_EXTRA_GAIN = 0.05


def evaluate(ws, proposal: P.Proposal | int, *, cutoff_min=None, radius_km=None, weights=None,
             use_cache: bool = True, scenario: str | None = None) -> dict[str, Any]:
    """The evaluation of one proposal as a dict (with map ``features``), cached in the workspace.

    ``scenario``: the name of a network scenario (:mod:`web.services.scenarios`) to evaluate on
    instead of the base network; its result carries ``scenario`` (the name).
    """
    from . import scenarios

    if not isinstance(proposal, P.Proposal):
        proposal = P.get_proposal(ws, int(proposal))
    sc = scenarios.resolve(ws, scenario)
    settings = settings_from(ws, cutoff_min=cutoff_min, radius_km=radius_km, weights=weights)
    approved = _same_category_proposals(ws, proposal, APPROVED_STATUSES)
    key = _cache_key(ws, proposal, approved, settings, sc)
    if use_cache:
        blob = ws.get_blob(key)
        if blob is not None:
            out = json.loads(blob.decode())
            out["proposal"]["version"] = proposal.version  # not in the key: the one read now
            return out
    net = services.NetworkSettings.from_workspace(ws)
    # without roads the base network is the straight-line estimate, labelled in the result
    graph = (services.network_or_estimate(ws, settings=net) if sc is None
             else scenarios.road_graph(ws, settings=net, scenario=sc))
    villages = ws.read_layer("villages")
    result = evaluate_proposal(
        proposal,
        graph=graph,
        villages=villages,
        towns=ws.read_layer("towns"),
        facilities_same_category=same_category_facilities(ws, proposal.category, proposal.commodities),
        approved_same_category=_frame(approved),
        settlements=ws.read_layer("relocation_settlements"),
        industry_bases=ws.read_layer("industry_bases"),
        constraints=ws.read_layer("constraints"),
        roads=ws.read_layer("roads"),
        max_snap_m=net.max_snap_m,
        **settings,
    )
    out = result.to_dict(include_features=True)
    name_alternatives(out, villages=villages, roads=ws.read_layer("roads"))
    out["proposal"]["version"] = proposal.version
    out["cache_key"] = key
    out["scenario"] = None if sc is None else sc.name
    # One entry per proposal (and scenario): older versions are never shown again.
    prefix = f"{_CACHE_PREFIX}{proposal.id}:" if sc is None else f"{_CACHE_PREFIX}{proposal.id}@{sc.name}:"
    ws.put_blob(key, json.dumps(out, ensure_ascii=False).encode(), replace_prefix=prefix)
    return out


#: Farther than this, a site is not called "near" a village or "on" a road.
NEAR_VILLAGE_MAX_KM = 5.0
NEAR_ROAD_MAX_M = 300.0


def nearest_places(points, *, villages, roads) -> list[dict]:
    """The nearest village and named road of each (lon, lat) point, for people to find a site by.

    ``villages`` and ``roads`` are the workspace layers (WGS84). Returns one dict per point:
    ``near_village`` (name or None when none within :data:`NEAR_VILLAGE_MAX_KM`),
    ``near_village_town``, ``near_village_km`` (straight line, 2 decimals), ``near_road``
    (the name of the nearest named road within :data:`NEAR_ROAD_MAX_M`, else None),
    ``near_road_class`` and ``near_road_m``. Distances in a metric CRS fitted to the data
    (:func:`geo.crs.metric_crs_for`).
    """
    from geo.crs import metric_crs_for

    pts = gpd.GeoSeries(gpd.points_from_xy([p[0] for p in points], [p[1] for p in points]), crs="EPSG:4326")
    out = [{"near_village": None, "near_village_town": None, "near_village_km": None, "near_road": None,
            "near_road_class": None, "near_road_m": None} for _ in points]
    if not len(pts):
        return out
    crs = metric_crs_for(gpd.GeoDataFrame(geometry=pts))
    pm = pts.to_crs(crs)
    if villages is not None and len(villages):
        v = villages[villages.geometry.notna() & ~villages.geometry.is_empty].to_crs(crs)
        if len(v):
            tree = v.sindex
            idx, dist = tree.nearest(pm.values, return_distance=True, return_all=False)
            for (i, j), d in zip(idx.T, dist):
                if d <= NEAR_VILLAGE_MAX_KM * 1000:
                    row = v.iloc[j]
                    out[i].update(near_village=str(row["name"]) if row.get("name") else None,
                                  near_village_town=str(row["town"]) if row.get("town") else None,
                                  near_village_km=round(float(d) / 1000, 2))
    if roads is not None and len(roads) and "name" in roads.columns:
        named = roads[roads["name"].notna() & (roads["name"].astype(str).str.strip() != "")]
        named = named[named.geometry.notna()].to_crs(crs)
        if len(named):
            idx, dist = named.sindex.nearest(pm.values, return_distance=True, return_all=False,
                                             max_distance=NEAR_ROAD_MAX_M)
            for (i, j), d in zip(idx.T, dist):
                row = named.iloc[j]
                out[i].update(near_road=str(row["name"]).strip(), near_road_class=row.get("road_class"),
                              near_road_m=round(float(d)))
    return out


def name_alternatives(evaluation: dict, *, villages, roads) -> None:
    """Add :func:`nearest_places` to the evaluation's alternatives (``best``, ``top`` and the
    map features), so a reviewer reads "near 赵河村, on S234" rather than coordinates."""
    alt = evaluation.get("alternative") or {}
    targets = [(r, (r["lon"], r["lat"])) for r in [alt.get("best"), *(alt.get("top") or [])] if r]
    for f in evaluation.get("features") or []:
        props, geom = f.get("properties") or {}, f.get("geometry") or {}
        if props.get("role") in ("best_alternative", "alternative") and geom.get("type") == "Point":
            targets.append((props, tuple(geom["coordinates"][:2])))
    places = nearest_places([pt for _t, pt in targets], villages=villages, roads=roads)
    for (target, _pt), place in zip(targets, places):
        target.update(place)


def snapshot(evaluation: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What a transition records: the evaluation without the (bulky) map features."""
    if evaluation is None:
        return None
    return {k: v for k, v in evaluation.items() if k != "features"}


def portfolio_for(ws, *, category: str, budget_wan: float, year: int | None = None, cutoff_min=None,
                  commodities=None) -> dict[str, Any]:
    """Best set of pending proposals of ``category`` for ``budget_wan``, and the approved list's coverage."""
    settings = settings_from(ws, cutoff_min=cutoff_min)
    pending = P.list_proposals(ws, P.ProposalFilter(status=PENDING_STATUSES, category=category, year=year))
    approved = P.list_proposals(ws, P.ProposalFilter(status=APPROVED_STATUSES, category=category, year=year))
    if commodities is None:
        commodities = sorted({c for p in [*pending, *approved] for c in p.commodities})
    net = services.NetworkSettings.from_workspace(ws)
    graph = services.network_or_estimate(ws, settings=net)
    existing = same_category_facilities(ws, category, commodities)
    result = portfolio(
        _frame(pending) if pending else gpd.GeoDataFrame({"id": [], "name": [], "budget_wan": []},
                                                         geometry=gpd.GeoSeries([], crs="EPSG:4326")),
        graph=graph, villages=ws.read_layer("villages"), budget_wan=float(budget_wan), existing=existing,
        approved=_frame(approved), cutoff_min=settings["cutoff_min"], commodities=tuple(commodities),
        max_snap_m=net.max_snap_m,
    )
    out = result.to_dict()
    by_id = {f"proposal-{p.id}": p for p in pending}
    for key in ("selected", "not_selected"):
        for row in out[key]:
            p = by_id.get(row["id"])
            if p is not None:
                row.update(proposal_id=p.id, town=p.town, status=p.status)
    out.update(category=category, year=year, commodities=list(commodities),
               approved=[{"proposal_id": p.id, "name": p.name, "town": p.town, "budget_wan": p.budget_wan}
                         for p in approved])
    return out
