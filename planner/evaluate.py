"""Evaluate a project proposal by where it is: access, catchment, coverage gain,
redundancy, constraint conflicts, a better site nearby, and a transparent score.

Pure analysis: GeoDataFrames and a :class:`~planner.graph.RoadGraph` in, a frozen
:class:`ProposalEvaluation` out (``to_dict()`` for JSON, ``to_geojson()`` for maps).
The same inputs always give the same result (stable sorts, no randomness).

Travel directions
-----------------
*Catchment* and *coverage* use trips from the villages (and relocation settlements)
to the site, as :func:`planner.coverage.coverage_summary` does: farmers bring produce,
workers come to the workshop. *Access* (main road, town centre, the villages and
industry bases the proposal claims to serve) is measured from the site outward, in
one search. The two differ only on one-way roads.

Coverage gain and redundancy
----------------------------
A village is *covered* by a site when it reaches the site within ``cutoff_min``. The
demand weight per village is the yearly produce of the proposal's commodities (tonnes)
when it has commodities with any produce in the county, otherwise its population. The
*baseline* is every existing facility of the same category plus every approved
proposal of the category (they will be built). The coverage gain is the weight the
proposal covers that the baseline does not: the marginal gain of adding the site in the
maximal covering location problem (Church & ReVelle 1974). The redundancy share is
``1 - gain / catchment weight``; per baseline site, the overlap share is the part of
the proposal's catchment weight that site also covers.

Alternative sites
-----------------
Candidates are road-network nodes of the main component within
``alternative_radius_km`` (straight line) of the proposal, thinned to one per grid
cell (the node nearest the cell centre; cell = radius / 6, at least 300 m), plus the
town centres and industry bases in that radius. Candidates inside a constraint zone,
or closer than ``min_alternative_distance_m`` to the proposal, are dropped. The best
alternative is the one with the largest coverage gain over the same baseline (ties: the
nearer one, then the id).

Score
-----
Five components in [0, 1], each shown with its inputs, combined with
:class:`ScoreWeights` into 0–100: ``access`` (main road and town centre, linear to 0
at ``cutoff_min``), ``service`` (share of the claimed villages reached within
``cutoff_min``), ``coverage`` (the proposal's gain relative to the best of itself and
the best alternative: 1 when no nearby site does better), ``redundancy``
(1 - redundancy share) and ``constraints`` (0 inside a zone, 0.5 within
``conflict_buffer_m`` of one, else 1). Being inside a zone is also a blocking flag: a
score never hides it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.errors import InvalidParameter
from planner.graph import RoadGraph
from planner.snap import DEFAULT_MAX_SNAP_M, snap_points
from planner.estimate import is_estimate
from planner.travel import point_reasons, travel_time_matrix

__all__ = [
    "DEFAULT_MAIN_ROAD_CLASSES",
    "EvaluationSubject",
    "PortfolioResult",
    "ProposalEvaluation",
    "ScoreWeights",
    "evaluate_proposal",
    "portfolio",
]

OUTPUT_CRS = "EPSG:4326"
#: Road classes that make up "the main road network" for the access component.
DEFAULT_MAIN_ROAD_CLASSES = ("national", "provincial", "county")
#: Constraint kinds where construction is restricted (all three block by default).
BLOCKING_KINDS = ("ecological_redline", "basic_farmland", "hazard")
MONITORED_COLUMNS = ("monitored_unstable", "monitored_marginal", "monitored_sudden")
_TINY = 1e-9


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class EvaluationSubject:
    """What the evaluation needs to know about a proposal (Flask- and storage-free).

    ``geometry`` is a shapely point, line or polygon in EPSG:4326.
    """

    id: str
    name: str
    category: str
    geometry: Any
    commodities: tuple[str, ...] = ()
    beneficiary_villages: tuple[str, ...] = ()
    town: str | None = None
    budget_wan: float | None = None

    @classmethod
    def from_proposal(cls, proposal) -> "EvaluationSubject":
        """From any object or mapping with the proposal fields (e.g. ``layers.proposals.Proposal``)."""
        get = (lambda k, d=None: proposal.get(k, d)) if isinstance(proposal, Mapping) else (
            lambda k, d=None: getattr(proposal, k, d))
        geom = get("geometry")
        if geom is None and get("geometry_wkt"):
            geom = shapely.from_wkt(get("geometry_wkt"))
        if isinstance(geom, str):
            geom = shapely.from_wkt(geom)
        return cls(id=str(get("id")), name=str(get("name", "")), category=str(get("category", "")), geometry=geom,
                   commodities=tuple(get("commodities", ()) or ()),
                   beneficiary_villages=tuple(str(v) for v in (get("beneficiary_villages", ()) or ())),
                   town=get("town"), budget_wan=get("budget_wan"))


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the score components (any non-negative numbers; normalised by their sum)."""

    access: float = 0.15
    service: float = 0.15
    coverage: float = 0.30
    redundancy: float = 0.20
    constraints: float = 0.20

    def __post_init__(self):
        values = [getattr(self, f.name) for f in fields(self)]
        if any(not (math.isfinite(v) and v >= 0) for v in values) or sum(values) <= 0:
            raise InvalidParameter(name="weights", value=values, expected_en="score weights must be non-negative "
                                   "with a positive sum", expected_zh="评分权重应为非负数且总和大于 0")

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "ScoreWeights":
        known = {f.name for f in fields(cls)}
        return cls(**{k: float(v) for k, v in dict(data or {}).items() if k in known})


# --------------------------------------------------------------------------- result
def _num(x, digits: int = 3):
    if x is None:
        return None
    x = float(x)
    return round(x, digits) if math.isfinite(x) else None


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return _num(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass(frozen=True)
class ProposalEvaluation:
    """Every component of one proposal's evaluation.

    Attributes
    ----------
    proposal : dict
        id, name, category, commodities.
    params : dict
        ``cutoff_min``, ``alternative_radius_km``, the demand ``measure`` and the weights.
    access, catchment, coverage, redundancy, alternative, score : dict
        See the module docstring; every number comes with what it was computed from.
    conflicts : tuple of dict
        Constraint zones the site intersects (``relation="inside"``, with the area or
        length inside) or lies within the buffer of (``relation="near"``, distance).
    flags : tuple of str
        Findings a reviewer must see: ``inside_<kind>``, ``near_<kind>``,
        ``duplicate_of_existing``, ``mostly_redundant``, ``better_site_nearby``,
        ``site_not_on_road_network``, ``no_catchment``.
    features : tuple of dict
        GeoJSON features (EPSG:4326) for the map: the site, catchment villages and
        settlements, the overlapping baseline sites, alternatives and conflict areas.
    """

    proposal: dict
    params: dict
    access: dict
    catchment: dict
    coverage: dict
    redundancy: dict
    conflicts: tuple
    alternative: dict
    score: dict
    flags: tuple
    features: tuple = field(default=(), repr=False)
    #: Set when there is no road network: the straight-line estimate the minutes come
    #: from (:meth:`planner.estimate.StraightLineEstimate.to_dict`), shown as 估算/estimate.
    estimate: dict | None = None

    @property
    def total_score(self) -> float:
        return float(self.score["total"])

    def to_dict(self, *, include_features: bool = False) -> dict[str, Any]:
        out = {f.name: _clean(getattr(self, f.name)) for f in fields(self) if f.name != "features"}
        if include_features:
            out["features"] = list(self.features)
        return out

    def to_geojson(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": list(self.features)}


def _feature(geom_4326, **props) -> dict:
    import json

    return {"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom_4326)), "properties": _clean(props)}


# --------------------------------------------------------------------------- helpers
def _points_frame(ids, names, geoms, crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": [str(i) for i in ids], "name": list(names)}, geometry=list(geoms), crs=crs)


def _as_points(frame: gpd.GeoDataFrame | None, id_col: str = "id") -> gpd.GeoDataFrame:
    """Any layer as points with ``id`` and ``name`` (polygons: a point on the surface)."""
    if frame is None or len(frame) == 0:
        return gpd.GeoDataFrame({"id": [], "name": []}, geometry=gpd.GeoSeries([], crs=OUTPUT_CRS))
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    col = id_col if id_col in frame.columns else ("code" if "code" in frame.columns else None)
    ids = frame[col].astype(str).tolist() if col else [str(i) for i in frame.index]
    names = frame["name"].astype(object).where(frame["name"].notna(), "").tolist() if "name" in frame.columns else ids
    geoms = shapely.point_on_surface(frame.geometry.to_numpy())
    out = _points_frame(ids, names, geoms, frame.crs)
    for extra in ("kind", "commodity", "town", "status", "people", "households", "jobs"):
        if extra in frame.columns:
            out[extra] = frame[extra].to_numpy()
    return out


def _measure(villages: pd.DataFrame, col: str) -> np.ndarray:
    if col not in villages.columns:
        return np.zeros(len(villages))
    return pd.to_numeric(villages[col], errors="coerce").fillna(0).to_numpy(dtype=float)


def demand_weights(villages: pd.DataFrame, commodities: Sequence[str] = (), *,
                   measure: str | None = None) -> tuple[np.ndarray, str]:
    """Demand weight per village and the name of the measure used.

    ``measure``: ``"produce"`` (tonnes of ``commodities``), ``"population"``,
    ``"monitored"`` (monitored households) or ``"villages"`` (1 each). By default,
    produce when the commodities have any produce in the county, else population.
    """
    produce = np.zeros(len(villages))
    for c in commodities:
        produce = produce + _measure(villages, f"produce_{c}_t")
    if measure is None:
        measure = "produce" if commodities and produce.sum() > 0 else "population"
    if measure == "produce":
        return produce, "produce_t"
    if measure == "population":
        return _measure(villages, "population"), "population"
    if measure == "monitored":
        return sum(_measure(villages, c) for c in MONITORED_COLUMNS), "monitored_households"
    if measure == "villages":
        return np.ones(len(villages)), "villages"
    msg = f"unknown demand measure {measure!r}; expected produce, population, monitored or villages"
    raise ValueError(msg)


def _main_road_nodes(graph: RoadGraph, roads: pd.DataFrame | None, main_classes: Sequence[str]) -> np.ndarray:
    """Nodes on main roads: by the roads layer's class, else by speed (>= county-road speed)."""
    if is_estimate(graph):  # no roads: no main road to measure to
        return np.zeros(0, dtype=np.int64)
    if roads is not None and "road_class" in roads.columns and len(roads) and graph.n_edges:
        cls = roads["road_class"].astype(str).to_numpy()
        main_edge = np.isin(cls[graph.edge_road], list(main_classes))
    else:
        threshold = min(graph.speed_table.speed_kmh(c) for c in main_classes)
        main_edge = graph.edge_speed_kmh >= threshold - _TINY
    main_edge &= graph.edge_component == graph.main_component
    return np.unique(np.concatenate([graph.edge_u[main_edge], graph.edge_v[main_edge]]))


def _candidate_nodes(graph: RoadGraph, site_xy: np.ndarray, radius_m: float, *, max_candidates: int) -> np.ndarray:
    if is_estimate(graph):  # no roads: alternatives come from towns and bases only
        return np.zeros(0, dtype=np.int64)
    xy = graph.node_xy
    d = np.hypot(xy[:, 0] - site_xy[0], xy[:, 1] - site_xy[1])
    near = np.flatnonzero((d <= radius_m) & (graph.component == graph.main_component))
    if len(near) == 0:
        return near
    cell = max(radius_m / 6.0, 300.0)
    while True:
        gx = np.floor((xy[near, 0] - site_xy[0]) / cell)
        gy = np.floor((xy[near, 1] - site_xy[1]) / cell)
        cx = site_xy[0] + (gx + 0.5) * cell
        cy = site_xy[1] + (gy + 0.5) * cell
        off = np.hypot(xy[near, 0] - cx, xy[near, 1] - cy)
        frame = pd.DataFrame({"gx": gx, "gy": gy, "off": off, "node": near})
        best = frame.sort_values(["gx", "gy", "off", "node"], kind="stable").drop_duplicates(["gx", "gy"])
        if len(best) <= max_candidates:
            return np.sort(best["node"].to_numpy())
        cell *= 1.5


def _constraint_geoms(constraints: gpd.GeoDataFrame | None, crs) -> gpd.GeoDataFrame | None:
    if constraints is None or len(constraints) == 0:
        return None
    c = constraints[constraints.geometry.notna()].to_crs(crs).reset_index(drop=True)
    return c if len(c) else None


# --------------------------------------------------------------------------- components
def _conflicts(site_geom, zones: gpd.GeoDataFrame | None, buffer_m: float) -> list[dict]:
    if zones is None:
        return []
    out = []
    kind = zones["kind"].astype(str).to_numpy() if "kind" in zones.columns else np.full(len(zones), "zone")
    ids = zones["id"].astype(str).to_numpy() if "id" in zones.columns else zones.index.astype(str).to_numpy()
    names = zones["name"].astype(object).where(zones["name"].notna(), "").to_numpy() if "name" in zones.columns \
        else np.full(len(zones), "")
    geoms = zones.geometry.to_numpy()
    for i in np.flatnonzero(shapely.dwithin(geoms, site_geom, buffer_m)):
        zone = geoms[i]
        record = {"id": ids[i], "name": names[i], "kind": kind[i]}
        if shapely.intersects(zone, site_geom):
            inter = shapely.intersection(zone, site_geom)
            record.update(relation="inside", distance_m=0.0,
                          area_m2=float(shapely.area(inter)), length_m=float(shapely.length(inter)),
                          share=_share_inside(site_geom, inter))
            record["_geometry"] = inter if not inter.is_empty else site_geom
        else:
            record.update(relation="near", distance_m=float(shapely.distance(zone, site_geom)),
                          area_m2=0.0, length_m=0.0, share=0.0)
            record["_geometry"] = shapely.intersection(zone, shapely.buffer(site_geom, buffer_m * 3))
        out.append(record)
    out.sort(key=lambda r: (r["relation"] != "inside", r["distance_m"], r["kind"], r["id"]))
    return out


def _share_inside(site_geom, inter) -> float:
    if site_geom.geom_type.endswith("Polygon") and site_geom.area > 0:
        return float(inter.area / site_geom.area)
    if site_geom.geom_type.endswith("LineString") and site_geom.length > 0:
        return float(inter.length / site_geom.length)
    return 1.0


def _nearest_rows(minutes: np.ndarray, frame: gpd.GeoDataFrame, k: int, extra: Sequence[str] = ()) -> list[dict]:
    order = np.lexsort((frame["id"].to_numpy().astype(str), np.where(np.isfinite(minutes), minutes, np.inf)))
    rows = []
    for i in order[:k]:
        row = {"id": frame["id"].iloc[i], "name": frame["name"].iloc[i], "minutes": _num(minutes[i], 1)}
        for col in extra:
            if col in frame.columns:
                row[col] = frame[col].iloc[i]
        rows.append(row)
    return rows


def _access(graph, site_pts, *, main_nodes, towns_pts, claimed_pts, bases_pts, proposal_town, max_snap_m):
    """Minutes from the site outward to the main roads, town centres, claimed villages, bases."""
    node_pts = _points_frame([f"node-{n}" for n in main_nodes], [""] * len(main_nodes),
                             shapely.points(graph.node_xy[main_nodes]), graph.crs) if len(main_nodes) else None
    parts = [("main", node_pts), ("town", towns_pts), ("claimed", claimed_pts), ("base", bases_pts)]
    parts = [(k, f) for k, f in parts if f is not None and len(f)]
    if not parts:
        return {"main_road_min": None, "town_centre": None, "nearest_town_centre": None,
                "claimed_villages": [], "industry_bases": []}
    dest = pd.concat([f[["id", "name", "geometry"]].to_crs(graph.crs) for _, f in parts], ignore_index=True)
    dest = gpd.GeoDataFrame(dest, geometry="geometry", crs=graph.crs)
    tt = travel_time_matrix(graph, site_pts, dest, max_snap_m=max_snap_m).minutes[0].astype(float)
    offsets, start = {}, 0
    for k, f in parts:
        offsets[k] = (start, start + len(f))
        start += len(f)

    def block(k):
        lo, hi = offsets.get(k, (0, 0))
        return tt[lo:hi]

    main = block("main")
    out = {"main_road_min": _num(main.min(), 1) if len(main) else None}
    if "town" in offsets:
        t = block("town")
        nearest = _nearest_rows(t, towns_pts, 1)[0]
        own = None
        if proposal_town is not None:
            hit = np.flatnonzero(towns_pts["name"].astype(str).to_numpy() == str(proposal_town))
            if len(hit):
                own = {"id": towns_pts["id"].iloc[hit[0]], "name": towns_pts["name"].iloc[hit[0]],
                       "minutes": _num(t[hit[0]], 1)}
        out["town_centre"] = own or nearest
        out["nearest_town_centre"] = nearest
    else:
        out["town_centre"] = out["nearest_town_centre"] = None
    out["claimed_villages"] = _nearest_rows(block("claimed"), claimed_pts, len(claimed_pts)) if "claimed" in offsets else []
    out["industry_bases"] = (_nearest_rows(block("base"), bases_pts, 5, ("kind", "commodity"))
                             if "base" in offsets else [])
    return out


# --------------------------------------------------------------------------- evaluation
def evaluate_proposal(
    proposal,
    *,
    graph: RoadGraph,
    villages: gpd.GeoDataFrame,
    towns: gpd.GeoDataFrame | None = None,
    facilities_same_category: gpd.GeoDataFrame | None = None,
    approved_same_category: gpd.GeoDataFrame | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    industry_bases: gpd.GeoDataFrame | None = None,
    constraints: gpd.GeoDataFrame | None = None,
    roads: pd.DataFrame | None = None,
    cutoff_min: float = 30.0,
    alternative_radius_km: float = 5.0,
    weights: ScoreWeights = ScoreWeights(),
    measure: str | None = None,
    main_road_classes: Sequence[str] = DEFAULT_MAIN_ROAD_CLASSES,
    conflict_buffer_m: float = 200.0,
    min_alternative_distance_m: float = 300.0,
    max_alternatives: int = 60,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> ProposalEvaluation:
    """Evaluate one proposal on its location.

    Parameters
    ----------
    proposal : EvaluationSubject or proposal-like
        Anything :meth:`EvaluationSubject.from_proposal` reads (geometry in EPSG:4326).
    graph : RoadGraph
        The county road graph.
    villages : geopandas.GeoDataFrame
        Villages with ``code``, ``name``, ``town`` and measures (``population``,
        ``monitored_*``, ``produce_<c>_t``).
    towns : geopandas.GeoDataFrame, optional
        Town centres (``code``, ``name``).
    facilities_same_category, approved_same_category : geopandas.GeoDataFrame, optional
        Existing facilities and approved proposals of the same category (``id``,
        ``name``): the baseline for coverage gain and redundancy.
    settlements : geopandas.GeoDataFrame, optional
        Relocation settlements (``id``, ``name``, ``people``, ``households``, ``jobs``).
    industry_bases : geopandas.GeoDataFrame, optional
        Industry bases; those of the proposal's commodities are the ones it serves.
    constraints : geopandas.GeoDataFrame, optional
        Constraint zones (``id``, ``name``, ``kind``).
    roads : DataFrame, optional
        The roads layer the graph was built from (its ``road_class`` marks the main
        roads); without it, main roads are edges at county-road speed or faster.
    cutoff_min : float
        Catchment and coverage cutoff (minutes).
    alternative_radius_km : float
        Search radius for alternative sites.
    weights : ScoreWeights
        Score weights.
    measure : str, optional
        Demand measure (see :func:`demand_weights`); chosen from the commodities by default.
    main_road_classes : sequence of str
    conflict_buffer_m : float
        Zones closer than this are reported as ``near``.
    min_alternative_distance_m : float
        Alternatives must be at least this far from the proposal.
    max_alternatives : int
        At most this many network candidates (grid-thinned).
    max_snap_m : float
        Passed to snapping.

    Returns
    -------
    ProposalEvaluation
    """
    if not cutoff_min > 0:
        raise InvalidParameter(name="cutoff_min", value=cutoff_min, expected_en="must be positive",
                               expected_zh="应大于 0")
    if not alternative_radius_km >= 0:
        raise InvalidParameter(name="alternative_radius_km", value=alternative_radius_km,
                               expected_en="must be >= 0", expected_zh="应不小于 0")
    subject = proposal if isinstance(proposal, EvaluationSubject) else EvaluationSubject.from_proposal(proposal)
    if subject.geometry is None or shapely.is_empty(subject.geometry):
        raise InvalidParameter(name="geometry", value=f"proposal {subject.id}", expected_en="the proposal has no "
                               "location", expected_zh="项目没有位置")
    crs = graph.crs
    site_geom = gpd.GeoSeries([subject.geometry], crs=OUTPUT_CRS).to_crs(crs).iloc[0]
    site_pts = _points_frame([subject.id], [subject.name], [shapely.point_on_surface(site_geom)], crs)
    site_xy = shapely.get_coordinates(site_pts.geometry.iloc[0])[0]
    site_snap = snap_points(graph, site_pts, max_snap_m=max_snap_m)
    on_network = bool(site_snap.ok[0])

    villages = villages.reset_index(drop=True)
    vill_pts = _as_points(villages, "code")
    weight, measure_name = demand_weights(villages, subject.commodities, measure=measure)
    baseline = pd.concat([_as_points(facilities_same_category).assign(source="facility"),
                          _as_points(approved_same_category).assign(source="proposal")], ignore_index=True)
    baseline = baseline[baseline["id"] != subject.id] if len(baseline) else baseline
    baseline = gpd.GeoDataFrame(baseline, geometry="geometry", crs=OUTPUT_CRS) if len(baseline) else None
    zones = _constraint_geoms(constraints, crs)

    # Alternative candidates: thinned network nodes, town centres and bases near the site.
    radius_m = alternative_radius_km * 1000.0
    cand_nodes = _candidate_nodes(graph, site_xy, radius_m, max_candidates=max_alternatives)
    cands = [_points_frame([f"node-{n}" for n in cand_nodes], [""] * len(cand_nodes),
                           shapely.points(graph.node_xy[cand_nodes]), crs).assign(source="network")]
    for frame, source in ((towns, "town"), (industry_bases, "industry_base")):
        pts = _as_points(frame).to_crs(crs) if frame is not None and len(frame) else None
        if pts is not None and len(pts):
            d = shapely.distance(pts.geometry.to_numpy(), site_pts.geometry.iloc[0])
            cands.append(pts.loc[d <= radius_m, ["id", "name", "geometry"]].assign(source=source))
    cand = gpd.GeoDataFrame(pd.concat(cands, ignore_index=True), geometry="geometry", crs=crs)
    if len(cand):
        d = shapely.distance(cand.geometry.to_numpy(), site_pts.geometry.iloc[0])
        keep = d >= min_alternative_distance_m
        if zones is not None:
            blocked = zones[zones["kind"].isin(BLOCKING_KINDS)] if "kind" in zones.columns else zones
            if len(blocked):
                hit = blocked.sindex.query(cand.geometry, predicate="intersects")[0]
                keep[np.unique(hit)] = False
        cand = cand[keep].reset_index(drop=True)
        cand["distance_km"] = shapely.distance(cand.geometry.to_numpy(), site_pts.geometry.iloc[0]) / 1000.0

    # One matrix: villages -> [site, baseline..., candidates...] within the cutoff.
    n_base = 0 if baseline is None else len(baseline)
    dest_parts = [site_pts[["id", "name", "geometry"]]]
    if baseline is not None:
        dest_parts.append(baseline[["id", "name", "geometry"]].to_crs(crs))
    if len(cand):
        dest_parts.append(cand[["id", "name", "geometry"]])
    dest = gpd.GeoDataFrame(pd.concat(dest_parts, ignore_index=True), geometry="geometry", crs=crs)
    vill_snap = snap_points(graph, vill_pts, max_snap_m=max_snap_m)
    tt = travel_time_matrix(graph, vill_pts, dest, cutoff_min=cutoff_min, max_snap_m=max_snap_m,
                            origin_snap=vill_snap).minutes.astype(float)
    covered = tt <= cutoff_min + _TINY
    site_cov = covered[:, 0]
    base_cov = covered[:, 1:1 + n_base]
    cand_cov = covered[:, 1 + n_base:]
    base_any = base_cov.any(axis=1) if n_base else np.zeros(len(villages), dtype=bool)

    catchment = _catchment(villages, vill_pts, tt[:, 0], site_cov, subject.commodities, cutoff_min)
    settle = _settlement_catchment(graph, settlements, site_pts, cutoff_min, max_snap_m)
    catchment["settlements"] = settle
    catchment["settlement_people"] = int(sum(s["people"] or 0 for s in settle))
    catchment["settlement_households"] = int(sum(s["households"] or 0 for s in settle))

    catch_w = float(weight[site_cov].sum())
    gain = float(weight[site_cov & ~base_any].sum())
    coverage = {
        "measure": measure_name, "catchment_weight": catch_w, "baseline_sites": n_base,
        "baseline_facilities": int((baseline["source"] == "facility").sum()) if n_base else 0,
        "baseline_proposals": int((baseline["source"] == "proposal").sum()) if n_base else 0,
        "already_covered_weight": catch_w - gain, "gain": gain,
        "gain_villages": int((site_cov & ~base_any).sum()),
    }
    redundancy = _redundancy(baseline, base_cov, site_cov, weight, catch_w, gain, tt[:, 1:1 + n_base])
    alternative = _alternatives(cand, cand_cov, base_any, weight, gain, alternative_radius_km)
    conflicts = _conflicts(site_geom, zones, conflict_buffer_m)

    access = _access(graph, site_pts, main_nodes=_main_road_nodes(graph, roads, main_road_classes),
                     towns_pts=_as_points(towns) if towns is not None else None,
                     claimed_pts=_as_points(villages[villages["code"].astype(str).isin(subject.beneficiary_villages)],
                                            "code") if subject.beneficiary_villages else None,
                     bases_pts=_relevant_bases(industry_bases, subject.commodities),
                     proposal_town=subject.town, max_snap_m=max_snap_m)
    # the one rule of every output: a site on roads no village is on reaches nobody
    site_reason = str(point_reasons(graph, site_snap, vill_snap)[0])
    on_network = site_reason == ""
    access["site_on_network"] = on_network
    access["site_access_m"] = _num(site_snap.access_m[0], 0)
    access["site_snap_reason"] = site_reason
    access["site_network_m"] = _num(site_snap.network_m[0], 1)
    access["site_fragment_m"] = _num(site_snap.fragment_m[0], 1)

    flags = _flags(on_network, catchment, redundancy, alternative, conflicts, gain, catch_w)
    score = _score(weights, access, coverage, redundancy, alternative, conflicts, cutoff_min)
    features = _features(subject, site_geom, crs, vill_pts, tt[:, 0], site_cov, catchment, baseline, redundancy,
                         cand, alternative, conflicts)
    return ProposalEvaluation(
        proposal={"id": subject.id, "name": subject.name, "category": subject.category,
                  "commodities": list(subject.commodities), "town": subject.town},
        params={"cutoff_min": float(cutoff_min), "alternative_radius_km": float(alternative_radius_km),
                "measure": measure_name, "weights": weights.to_dict(),
                "main_road_classes": list(main_road_classes), "conflict_buffer_m": float(conflict_buffer_m)},
        access=access, catchment=catchment, coverage=coverage, redundancy=redundancy,
        conflicts=tuple({k: v for k, v in c.items() if k != "_geometry"} for c in conflicts),
        alternative=alternative, score=score, flags=tuple(flags), features=tuple(features),
        estimate=graph.to_dict() if is_estimate(graph) else None,
    )


def _relevant_bases(bases, commodities):
    if bases is None or len(bases) == 0:
        return None
    if commodities and "commodity" in bases.columns:
        bases = bases[bases["commodity"].astype(str).isin(list(commodities))]
    return _as_points(bases) if len(bases) else None


def _catchment(villages, vill_pts, minutes, site_cov, commodities, cutoff_min) -> dict:
    idx = np.flatnonzero(site_cov)
    monitored = sum(_measure(villages, c) for c in MONITORED_COLUMNS)
    population = _measure(villages, "population")
    produce = {c: _measure(villages, f"produce_{c}_t") for c in commodities}
    town = villages["town"].astype(str).to_numpy() if "town" in villages.columns else np.full(len(villages), "")
    rows = [{"code": vill_pts["id"].iloc[i], "name": vill_pts["name"].iloc[i], "town": town[i],
             "minutes": _num(minutes[i], 1), "population": int(population[i]), "monitored_households": int(monitored[i]),
             "produce_t": {c: _num(v[i], 1) for c, v in produce.items()}}
            for i in idx[np.lexsort((vill_pts["id"].to_numpy()[idx].astype(str), minutes[idx]))]]
    return {
        "cutoff_min": float(cutoff_min),
        "n_villages": int(len(idx)),
        "population": int(population[idx].sum()),
        "monitored_households": int(monitored[idx].sum()),
        "produce_t": {c: _num(v[idx].sum(), 1) for c, v in produce.items()},
        "produce_county_t": {c: _num(v.sum(), 1) for c, v in produce.items()},
        "by_town": {t: int((town[idx] == t).sum()) for t in sorted(set(town[idx]))},
        "villages": rows,
    }


def _settlement_catchment(graph, settlements, site_pts, cutoff_min, max_snap_m) -> list[dict]:
    pts = _as_points(settlements)
    if len(pts) == 0:
        return []
    tt = travel_time_matrix(graph, pts, site_pts, cutoff_min=cutoff_min, max_snap_m=max_snap_m).minutes[:, 0]
    out = []
    for i in np.flatnonzero(tt <= cutoff_min + _TINY):
        get = lambda col: int(pd.to_numeric(pts[col].iloc[i], errors="coerce") or 0) if col in pts.columns else None  # noqa: E731
        out.append({"id": pts["id"].iloc[i], "name": pts["name"].iloc[i], "minutes": _num(tt[i], 1),
                    "people": get("people"), "households": get("households"), "jobs": get("jobs")})
    out.sort(key=lambda r: (r["minutes"], r["id"]))
    return out


def _redundancy(baseline, base_cov, site_cov, weight, catch_w, gain, base_minutes) -> dict:
    share = 0.0 if catch_w <= 0 else 1.0 - gain / catch_w
    overlapping = []
    if baseline is not None:
        for j in range(len(baseline)):
            both = site_cov & base_cov[:, j]
            if not both.any():
                continue
            ow = float(weight[both].sum())
            overlapping.append({
                "id": baseline["id"].iloc[j], "name": baseline["name"].iloc[j], "source": baseline["source"].iloc[j],
                "overlap_villages": int(both.sum()), "overlap_weight": ow,
                "overlap_share": 0.0 if catch_w <= 0 else ow / catch_w,
            })
    overlapping.sort(key=lambda r: (-r["overlap_share"], -r["overlap_villages"], r["id"]))
    return {"share": share, "overlapping": overlapping}


def _alternatives(cand, cand_cov, base_any, weight, gain, radius_km) -> dict:
    if cand is None or len(cand) == 0:
        return {"radius_km": radius_km, "n_candidates": 0, "best": None, "extra_gain": 0.0, "better": False,
                "top": []}
    gains = (weight[:, None] * (cand_cov & ~base_any[:, None])).sum(axis=0)
    order = np.lexsort((cand["id"].to_numpy().astype(str), cand["distance_km"].to_numpy(), -gains))
    to_lonlat = cand.to_crs(OUTPUT_CRS).geometry

    def row(k):
        pt = to_lonlat.iloc[k]
        return {"id": cand["id"].iloc[k], "name": cand["name"].iloc[k] or None, "source": cand["source"].iloc[k],
                "lon": round(pt.x, 6), "lat": round(pt.y, 6), "distance_km": _num(cand["distance_km"].iloc[k], 2),
                "gain": float(gains[k]), "extra_gain": float(gains[k] - gain)}

    best = row(order[0])
    return {"radius_km": radius_km, "n_candidates": int(len(cand)), "best": best,
            "extra_gain": max(0.0, best["gain"] - gain), "better": best["gain"] > gain * 1.1 + _TINY,
            "top": [row(k) for k in order[:5]]}


def _flags(on_network, catchment, redundancy, alternative, conflicts, gain, catch_w) -> list[str]:
    flags = []
    for c in conflicts:
        flag = f"{'inside' if c['relation'] == 'inside' else 'near'}_{c['kind']}"
        if flag not in flags:
            flags.append(flag)
    if not on_network:
        flags.append("site_not_on_road_network")
    if catchment["n_villages"] == 0:
        flags.append("no_catchment")
    top = redundancy["overlapping"][0]["overlap_share"] if redundancy["overlapping"] else 0.0
    if catch_w > 0 and top >= 0.9 and any(o["source"] == "facility" for o in redundancy["overlapping"][:1]):
        flags.append("duplicate_of_existing")
    elif catch_w > 0 and redundancy["share"] >= 0.7:
        flags.append("mostly_redundant")
    if alternative["better"]:
        flags.append("better_site_nearby")
    return flags


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _score(weights, access, coverage, redundancy, alternative, conflicts, cutoff_min) -> dict:
    times = [t for t in (access.get("main_road_min"), (access.get("town_centre") or {}).get("minutes"))]
    parts = [_clip01(1 - t / cutoff_min) if t is not None else 0.0 for t in times]
    access_v = float(np.mean(parts))
    claimed = access.get("claimed_villages") or []
    service_v = (sum(1 for c in claimed if c["minutes"] is not None and c["minutes"] <= cutoff_min) / len(claimed)
                 if claimed else (1.0 if coverage["catchment_weight"] > 0 else 0.0))
    best_alt = alternative["best"]["gain"] if alternative.get("best") else 0.0
    denom = max(coverage["gain"], best_alt)
    coverage_v = 0.0 if denom <= 0 else coverage["gain"] / denom
    redundancy_v = _clip01(1 - redundancy["share"]) if coverage["catchment_weight"] > 0 else 0.0
    if any(c["relation"] == "inside" for c in conflicts):
        constraints_v = 0.0
    elif conflicts:
        constraints_v = 0.5
    else:
        constraints_v = 1.0
    comps = [
        ("access", access_v, {"main_road_min": access.get("main_road_min"),
                              "town_centre_min": (access.get("town_centre") or {}).get("minutes"),
                              "reference_min": cutoff_min}),
        ("service", service_v, {"claimed_villages": len(claimed),
                                "reached": sum(1 for c in claimed if c["minutes"] is not None
                                               and c["minutes"] <= cutoff_min)}),
        ("coverage", coverage_v, {"gain": coverage["gain"], "best_alternative_gain": best_alt}),
        ("redundancy", redundancy_v, {"redundancy_share": redundancy["share"]}),
        ("constraints", constraints_v, {"inside": sum(1 for c in conflicts if c["relation"] == "inside"),
                                        "near": sum(1 for c in conflicts if c["relation"] == "near")}),
    ]
    wd = weights.to_dict()
    total_w = sum(wd.values())
    components = [{"name": n, "value": v, "weight": wd[n], "contribution": 100.0 * wd[n] * v / total_w,
                   "inputs": inputs} for n, v, inputs in comps]
    return {"total": round(sum(c["contribution"] for c in components), 1), "components": components}


def _features(subject, site_geom, crs, vill_pts, minutes, site_cov, catchment, baseline, redundancy, cand,
              alternative, conflicts) -> list[dict]:
    to_ll = lambda geoms: gpd.GeoSeries(list(geoms), crs=crs).to_crs(OUTPUT_CRS)  # noqa: E731
    feats = [_feature(subject.geometry, role="site", id=subject.id, name=subject.name)]
    idx = np.flatnonzero(site_cov)
    for i, g in zip(idx, gpd.GeoSeries(vill_pts.geometry.iloc[idx].values, crs=vill_pts.crs).to_crs(OUTPUT_CRS)):
        feats.append(_feature(g, role="catchment_village", id=vill_pts["id"].iloc[i], name=vill_pts["name"].iloc[i],
                              minutes=minutes[i]))
    if baseline is not None:
        wanted = {o["id"]: o for o in redundancy["overlapping"]}
        for j in range(len(baseline)):
            o = wanted.get(baseline["id"].iloc[j])
            if o is not None:
                feats.append(_feature(baseline.geometry.iloc[j], role="overlapping", id=o["id"], name=o["name"],
                                      source=o["source"], overlap_share=o["overlap_share"]))
    for rank, alt in enumerate(alternative.get("top") or []):
        feats.append(_feature(shapely.Point(alt["lon"], alt["lat"]), role="best_alternative" if rank == 0
                              else "alternative", **alt))
    if conflicts:
        geoms = to_ll([c["_geometry"] for c in conflicts])
        for c, g in zip(conflicts, geoms):
            feats.append(_feature(g, role="conflict", **{k: v for k, v in c.items() if k != "_geometry"}))
    return feats


# --------------------------------------------------------------------------- portfolio
@dataclass(frozen=True)
class PortfolioResult:
    """Which pending proposals to fund for a budget, and what the approved list covers.

    Attributes
    ----------
    budget_wan : float
    cutoff_min : float
    measure : str
    selected : tuple of dict
        Chosen pending proposals (id, name, budget_wan, gain when added alone).
    not_selected : tuple of dict
    spent_wan : float
    covered_before, covered_approved, covered_after : float
        Demand weight covered by existing facilities; plus the approved proposals;
        plus the selected ones.
    total_weight : float
    by_town : tuple of dict
        Per town: total weight, covered by existing, by existing + approved, and with
        the selection added.
    solver : dict
        The location model's result (``LocateResult.to_dict()``, trimmed).
    """

    budget_wan: float
    cutoff_min: float
    measure: str
    selected: tuple
    not_selected: tuple
    spent_wan: float
    covered_before: float
    covered_approved: float
    covered_after: float
    total_weight: float
    by_town: tuple
    solver: dict
    #: Set when there is no road network (:meth:`planner.estimate.StraightLineEstimate.to_dict`).
    estimate: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _clean(getattr(self, f.name)) for f in fields(self)}


def _solve_budget_mclp(cost, weights, *, radius_min, fixed, site_cost_wan, budget_wan, time_limit_s):
    """The placement issue's budgeted maximal-covering model (``p`` free, budget binding)."""
    import planner.locate as locate

    solve = getattr(locate, "solve", None)
    kwargs = dict(weights=weights, p=None, radius_min=radius_min, fixed=fixed, site_cost_wan=site_cost_wan,
                  budget_wan=budget_wan, time_limit_s=time_limit_s)
    if solve is not None:
        return solve("mclp", cost, **kwargs)
    from planner.locate.mclp import solve_mclp

    return solve_mclp(cost, **kwargs)


def portfolio(
    pending: gpd.GeoDataFrame,
    *,
    graph: RoadGraph,
    villages: gpd.GeoDataFrame,
    budget_wan: float,
    existing: gpd.GeoDataFrame | None = None,
    approved: gpd.GeoDataFrame | None = None,
    cutoff_min: float = 30.0,
    commodities: Sequence[str] = (),
    measure: str | None = None,
    time_limit_s: float = 10.0,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> PortfolioResult:
    """The set of pending proposals that covers the most demand within a budget.

    Reuses the budgeted maximal covering model of :mod:`planner.locate` (candidates:
    the pending proposals, each costing its ``budget_wan``; fixed: existing facilities
    and approved proposals, free).

    Parameters
    ----------
    pending : geopandas.GeoDataFrame
        Pending proposals with ``id``, ``name``, ``budget_wan`` (EPSG:4326 geometry).
    graph, villages
        As for :func:`evaluate_proposal`.
    budget_wan : float
        Money available (万元).
    existing, approved : geopandas.GeoDataFrame, optional
        Existing facilities and this year's approved proposals (both kept open).
    cutoff_min : float
    commodities, measure
        Demand weights, see :func:`demand_weights`.

    Returns
    -------
    PortfolioResult
    """
    if not budget_wan >= 0:
        raise InvalidParameter(name="budget_wan", value=budget_wan, expected_en="must be >= 0",
                               expected_zh="应不小于 0")
    villages = villages.reset_index(drop=True)
    weight, measure_name = demand_weights(villages, commodities, measure=measure)
    vill_pts = _as_points(villages, "code")
    cand = _as_points(pending)
    if len(cand):
        cand["budget_wan"] = pd.to_numeric(pending.loc[pending.geometry.notna(), "budget_wan"], errors="coerce"
                                           ).fillna(0).to_numpy()
    ex = _as_points(existing)
    ap = _as_points(approved)
    sites = gpd.GeoDataFrame(pd.concat([cand[["id", "name", "geometry"]].to_crs(OUTPUT_CRS) if len(cand) else cand,
                                        ex[["id", "name", "geometry"]].to_crs(OUTPUT_CRS) if len(ex) else ex,
                                        ap[["id", "name", "geometry"]].to_crs(OUTPUT_CRS) if len(ap) else ap],
                                       ignore_index=True), geometry="geometry", crs=OUTPUT_CRS)
    n_c, n_e, n_a = len(cand), len(ex), len(ap)
    town = villages["town"].astype(str).to_numpy() if "town" in villages.columns else np.full(len(villages), "")
    total = float(weight.sum())
    if len(sites):
        cost = travel_time_matrix(graph, vill_pts, sites, cutoff_min=cutoff_min, max_snap_m=max_snap_m).minutes
        cov = cost.astype(float) <= cutoff_min + _TINY
    else:
        cost = np.zeros((len(villages), 0))
        cov = np.zeros((len(villages), 0), dtype=bool)
    before = cov[:, n_c:n_c + n_e].any(axis=1)
    approved_cov = before | cov[:, n_c + n_e:].any(axis=1)

    chosen: list[int] = []
    solver: dict = {}
    if n_c and budget_wan > 0:
        fixed = list(range(n_c, n_c + n_e + n_a))
        site_cost = np.concatenate([cand["budget_wan"].to_numpy(dtype=float), np.zeros(n_e + n_a)])
        result = _solve_budget_mclp(np.asarray(cost, dtype=float), weight + _TINY * (weight.sum() == 0),
                                    radius_min=float(cutoff_min), fixed=fixed, site_cost_wan=site_cost,
                                    budget_wan=float(budget_wan), time_limit_s=time_limit_s)
        chosen = sorted(int(s) for s in result.new_sites if s < n_c)
        d = result.to_dict()
        solver = {k: d.get(k) for k in ("model", "method", "status", "objective", "bound", "gap", "seconds")}
    after = approved_cov | (cov[:, chosen].any(axis=1) if chosen else np.zeros(len(villages), dtype=bool))

    def item(j):
        alone = float(weight[cov[:, j] & ~approved_cov].sum())
        return {"id": cand["id"].iloc[j], "name": cand["name"].iloc[j], "budget_wan": float(cand["budget_wan"].iloc[j]),
                "gain_alone": alone}

    by_town = []
    for t in sorted(set(town)):
        m = town == t
        by_town.append({"town": t, "villages": int(m.sum()), "total": float(weight[m].sum()),
                        "covered_existing": float(weight[m & before].sum()),
                        "covered_approved": float(weight[m & approved_cov].sum()),
                        "covered_with_selection": float(weight[m & after].sum())})
    return PortfolioResult(
        budget_wan=float(budget_wan), cutoff_min=float(cutoff_min), measure=measure_name,
        selected=tuple(item(j) for j in chosen),
        not_selected=tuple(item(j) for j in range(n_c) if j not in chosen),
        spent_wan=float(sum(cand["budget_wan"].iloc[j] for j in chosen)),
        covered_before=float(weight[before].sum()), covered_approved=float(weight[approved_cov].sum()),
        covered_after=float(weight[after].sum()), total_weight=total, by_town=tuple(by_town), solver=solver,
        estimate=graph.to_dict() if is_estimate(graph) else None,
    )

