"""Glue between the workspace (``layers``) and the analyses (``planner``).

Views and CLI commands call these functions instead of assembling planner inputs
themselves, so the road graph is built once per roads version and settings: it is kept
in memory per process and cached in the workspace file keyed by its fingerprint, so a
restarted server or a second CLI run loads it instead of rebuilding.
"""
from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.errors import Unavailable
from layers.store import Workspace
from planner.graph import RoadGraph, SpeedTable, build_road_graph, roads_fingerprint

#: Layers that can serve as facilities (destinations) in network analyses.
FACILITY_LAYERS = ("cold_storage", "industry_bases", "relocation_settlements", "towns")

_GRAPH_KEY = "road_graph:"
_memo_lock = threading.Lock()
_memo: dict[tuple[str, str], RoadGraph] = {}


@dataclass(frozen=True)
class NetworkSettings:
    """Per-workspace network options (workspace meta ``network``), with defaults."""

    speed_table: SpeedTable
    access_speed_kmh: float = 5.0
    #: A village more than 1 km from every road in the county's data is, in practice,
    #: a village whose road is missing or impassable (路不通): report it, do not walk it.
    max_snap_m: float = 1000.0
    node_at_crossings: bool = False
    merge_tolerance_m: float = 0.0
    #: Fragment rule (planner.graph.RoadGraph.major_components): a road component other
    #: than the largest is a stray fragment unless it has 3 km of road and 0.1 % of edges.
    min_component_km: float = 3.0
    min_component_share: float = 0.001
    #: Without a roads layer: straight-line distance × this detour factor at
    #: ``estimate_speed_kmh`` (planner.estimate), labelled as an estimate everywhere.
    detour_factor: float = 1.3
    estimate_speed_kmh: float = 30.0

    _KEYS = ("access_speed_kmh", "max_snap_m", "node_at_crossings", "merge_tolerance_m", "min_component_km",
             "min_component_share", "detour_factor", "estimate_speed_kmh")

    @classmethod
    def from_workspace(cls, ws: Workspace) -> "NetworkSettings":
        raw = dict(ws.meta().get("network") or {})
        table = SpeedTable.from_dict(raw.pop("speed_table")) if "speed_table" in raw else SpeedTable()
        known = {k: raw[k] for k in cls._KEYS if k in raw}
        return cls(speed_table=table, **known)

    def build_options(self) -> dict:
        """Keyword arguments of :func:`planner.graph.build_road_graph` (the hook for
        scenario builders: ``build_road_graph(roads, **settings.build_options())``)."""
        return {
            "speed_table": self.speed_table,
            "access_speed_kmh": self.access_speed_kmh,
            "node_at_crossings": self.node_at_crossings,
            "merge_tolerance_m": self.merge_tolerance_m,
            "min_component_km": self.min_component_km,
            "min_component_share": self.min_component_share,
        }


def road_graph(ws: Workspace, *, settings: NetworkSettings | None = None) -> RoadGraph:
    """The workspace's road graph, from memory, the workspace cache, or built anew."""
    settings = settings or NetworkSettings.from_workspace(ws)
    roads = ws.read_layer("roads")
    if len(roads) == 0:
        msg = f"workspace {ws.path.name} has no roads: import a roads layer first"
        raise ValueError(msg)
    fingerprint = roads_fingerprint(roads, **settings.build_options())
    key = (str(ws.path.resolve()), fingerprint)
    with _memo_lock:
        graph = _memo.get(key)
    if graph is not None:
        return graph
    blob = ws.get_blob(_GRAPH_KEY + fingerprint)
    graph = _graph_from_blob(blob) if blob is not None else None
    if graph is None:
        graph = build_road_graph(roads, **settings.build_options())
        ws.put_blob(_GRAPH_KEY + fingerprint, _graph_to_blob(graph), replace_prefix=_GRAPH_KEY)
    with _memo_lock:
        # Keep one graph per workspace: an old roads version is never asked for again.
        for stale in [k for k in _memo if k[0] == key[0]]:
            del _memo[stale]
        _memo[key] = graph
    return graph


class NoNetwork(Unavailable):
    """Neither roads nor villages: not even a straight-line estimate can be made."""

    code = "network.unavailable"
    en = "Workspace {workspace} has no roads and no villages: import a roads layer (or villages) first."
    zh = "工作空间 {workspace} 既没有道路也没有行政村：请先导入道路图层（或行政村）。"


def network_or_estimate(ws: Workspace, *, settings: NetworkSettings | None = None):
    """The road graph; without a roads layer, a straight-line estimate instead.

    The estimate (:class:`planner.estimate.StraightLineEstimate`: distance ×
    ``settings.detour_factor`` at ``settings.estimate_speed_kmh``) is accepted by every
    network analysis in place of the graph, and every result built on it carries an
    ``estimate`` label for the adapters to show.

    Raises
    ------
    NoNetwork
        Without roads and without villages to choose a metric CRS from.
    """
    settings = settings or NetworkSettings.from_workspace(ws)
    if len(ws.read_layer("roads")):
        return road_graph(ws, settings=settings)
    from planner.estimate import StraightLineEstimate

    vill = villages(ws)
    if not len(vill):
        raise NoNetwork(workspace=ws.path.name)
    return StraightLineEstimate.for_frame(vill, detour_factor=settings.detour_factor,
                                          speed_kmh=settings.estimate_speed_kmh)


def prewarm(ws: Workspace) -> None:
    """Build (or load) the road graph, its service-area buffers and its contraction
    hierarchy (compiling the numba kernels on a fresh install) ahead of the first request."""
    from planner.ch import graph_hierarchy
    from planner.service_area import prepare_service_areas

    settings = NetworkSettings.from_workspace(ws)
    try:
        graph = road_graph(ws, settings=settings)
    except ValueError:
        return  # no roads yet: nothing to prepare
    prepare_service_areas(graph, max_snap_m=settings.max_snap_m)
    graph_hierarchy(graph)
    persist_hierarchy(ws, graph)


def persist_hierarchy(ws: Workspace, graph: RoadGraph) -> None:
    """Store the graph again with its contraction hierarchy, once one has been built,
    so later processes (CLI runs, a restarted server) load it instead of rebuilding."""
    from planner.ch import has_hierarchy

    if not graph.fingerprint or not has_hierarchy(graph):
        return
    key = _GRAPH_KEY + graph.fingerprint
    blob = ws.get_blob(key)
    if blob is not None:
        with np.load(io.BytesIO(blob), allow_pickle=False) as stored:  # reads the zip directory only
            if any(name.startswith("ch_") for name in stored.files):
                return
    ws.put_blob(key, _graph_to_blob(graph), replace_prefix=_GRAPH_KEY)


def _graph_to_blob(graph: RoadGraph) -> bytes:
    arrays, meta = graph.to_arrays()
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return buf.getvalue()


def _graph_from_blob(blob: bytes) -> RoadGraph | None:
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            meta = json.loads(bytes(data["__meta__"]).decode())
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
        return RoadGraph.from_arrays(arrays, meta)
    except (ValueError, KeyError, OSError):
        return None  # an older cache format: rebuild


def facility_points(ws: Workspace, layer: str, *, statuses=None) -> gpd.GeoDataFrame:
    """A facility layer as points with ``id`` and ``name`` (towns keyed by code).

    ``statuses`` filters cold stores by status (e.g. only existing ones).
    """
    if layer not in FACILITY_LAYERS:
        msg = f"{layer!r} is not a facility layer; expected one of {', '.join(FACILITY_LAYERS)}"
        raise ValueError(msg)
    frame = ws.read_layer(layer)
    if statuses is not None and "status" in frame.columns:
        frame = frame[frame["status"].isin(list(statuses))]
    if "id" not in frame.columns:
        frame = frame.assign(id=frame["code"])
    return frame.reset_index(drop=True)


def villages(ws: Workspace) -> gpd.GeoDataFrame:
    return ws.read_layer("villages")


def parse_minutes_list(text: str) -> tuple[float, ...]:
    """``"15,30,60"`` → (15.0, 30.0, 60.0); a clear error for anything else."""
    try:
        values = tuple(float(v) for v in str(text).replace("，", ",").split(",") if v.strip())
    except ValueError:
        msg = f"minutes must be numbers separated by commas, e.g. 15,30,60 (got {text!r})"
        raise ValueError(msg) from None
    if not values or any(v <= 0 for v in values):
        msg = f"minutes must be positive numbers, e.g. 15,30,60 (got {text!r})"
        raise ValueError(msg)
    return tuple(sorted(set(values)))


#: Default cost of one new site per facility type (万元), from the county plans in our
#: sources (闻喜: 400万 fresh-keeping store, 400万 freezer, 210万 cold store).
DEFAULT_SITE_COST_WAN = {"cold_storage": 400.0, "industry_bases": 150.0, "relocation_settlements": 1000.0}
#: Facilities that count as "there" everywhere (coverage, accessibility, fixed sites when
#: planning): built ones and those under construction; planned ones only on request.
EXISTING_STATUSES = ("existing", "under_construction")


def candidate_sites(ws: Workspace, source: str, *, graph=None, demand_weights=None) -> gpd.GeoDataFrame:
    """Candidate sites for placement from a layer or generated on the road network."""
    from planner.placement import candidates_on_network

    if source == "towns":
        frame = ws.read_layer("towns")
        frame = frame[frame.geometry.notna()].assign(id=lambda f: f["code"], source="towns")
    elif source == "industry_bases":
        frame = ws.read_layer("industry_bases").assign(source="industry_bases")
    elif source == "network":
        frame = candidates_on_network(graph or road_graph(ws), villages(ws), weights=demand_weights)
    elif source == "proposals":
        frame = _proposal_candidates(ws)
    else:
        msg = f"unknown candidate source {source!r}; expected towns, industry_bases, network or proposals"
        raise ValueError(msg)
    if len(frame) == 0:
        msg = f"no candidate sites in {source}"
        raise ValueError(msg)
    # a base drawn as an area is a candidate at a point inside it (allocation lines need points)
    frame = frame.set_geometry(frame.geometry.representative_point())
    return frame.reset_index(drop=True)


def _proposal_candidates(ws: Workspace) -> gpd.GeoDataFrame:
    from layers.proposals import list_proposals, proposals_frame

    frame = proposals_frame(list_proposals(ws))
    if len(frame) == 0:  # an empty frame has no columns at all
        return gpd.GeoDataFrame({"id": [], "name": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    frame = frame[frame.geometry.notna()]
    out = gpd.GeoDataFrame({"id": frame["id"].astype(str), "name": frame["name"],
                            "cost_wan": frame.get("budget_wan"), "source": "proposals"},
                           geometry=frame.geometry.representative_point().values, crs="EPSG:4326")
    return out


def serving_commodities(facilities: gpd.GeoDataFrame, commodities) -> gpd.GeoDataFrame:
    """The facilities that can take any of ``commodities``.

    A hawthorn freezer does not store apples: when demand is produce, an existing
    facility counts only if its ``commodities`` list names one of them (a facility with
    no list counts, as nothing says it cannot).
    """
    if not commodities or "commodities" not in facilities.columns:
        return facilities
    wanted = set(commodities)
    takes = [not _commodity_codes(text) or bool(_commodity_codes(text) & wanted)
             for text in facilities["commodities"].tolist()]
    return facilities[np.asarray(takes, dtype=bool)].reset_index(drop=True)


def _commodity_codes(text) -> set[str]:
    """Commodity codes from a free list such as "苹果,山楂" or "apple; hawthorn"."""
    import re

    from layers.schema import COMMODITIES

    if text is None or (isinstance(text, float) and np.isnan(text)):
        return set()
    lookup = {}
    for c in COMMODITIES:
        for key in (c.value, c.zh, c.en.lower(), *c.synonyms):
            lookup[key] = c.value
    return {lookup[t] for t in re.split(r"[,，;；、/\s]+", str(text).strip().lower()) if t in lookup}


def plan(ws: Workspace, *, facility: str = "cold_storage", model: str = "mclp", p=None, minutes=None,
         demand: str = "population", candidates: str | gpd.GeoDataFrame = "towns", budget_wan=None,
         site_cost_wan=None, new_capacity_t=2000.0, split_demand=True, keep_existing=True, time_limit_s=10.0,
         graph=None):
    """Run a placement model on the workspace (see :func:`planner.placement.plan_placement`).

    ``graph``: the workspace's road graph when the caller already holds it (saves
    re-fingerprinting the roads, ~50 ms on a county).
    """
    from planner.placement import DemandSpec, plan_placement

    settings = NetworkSettings.from_workspace(ws)
    graph = graph if graph is not None else network_or_estimate(ws, settings=settings)
    vill = villages(ws)
    spec = DemandSpec.parse(demand)
    if isinstance(candidates, str):
        cand = candidate_sites(ws, candidates, graph=graph, demand_weights=spec.weights(vill))
    else:
        cand = candidates
    existing = facility_points(ws, facility, statuses=EXISTING_STATUSES) if keep_existing else None
    if existing is not None:
        existing = serving_commodities(existing, spec.commodities)
    if site_cost_wan is None and budget_wan is not None and "cost_wan" not in cand.columns:
        site_cost_wan = DEFAULT_SITE_COST_WAN.get(facility)
    return plan_placement(graph, vill, cand, existing=existing, model=model, demand=spec, p=p, minutes=minutes,
                          budget_wan=budget_wan, site_cost_wan=site_cost_wan, new_capacity_t=new_capacity_t,
                          split_demand=split_demand, time_limit_s=time_limit_s, max_snap_m=settings.max_snap_m)
