"""Glue between the workspace (``layers``) and the analyses (``planner``).

Views and CLI commands call these functions instead of assembling planner inputs
themselves, so the road graph is built once per roads version and settings: it is kept
in memory per process and cached in the workspace file keyed by its fingerprint, so a
restarted server or a second CLI run loads it instead of rebuilding.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sqlite3
import threading
from dataclasses import dataclass

import geopandas as gpd
import numpy as np

from geo.errors import InvalidInput, RuralplanError, Unavailable
from layers.store import Workspace
from planner.errors import InvalidParameter, NoCandidates
from planner.graph import RoadGraph, SpeedTable, build_road_graph, roads_fingerprint
from planner.snap import DEFAULT_MAX_SNAP_M

from .errors import BadSetting, NoRoads, UnknownLayer

#: Layers that can serve as facilities (destinations) in network analyses.
FACILITY_LAYERS = ("cold_storage", "industry_bases", "relocation_settlements", "towns")

_GRAPH_KEY = "road_graph:"
#: rp_cache key of the fingerprint of the graph of one roads version and settings
#: (no "road_graph:" prefix: replacing the graphs must not drop it, and vice versa)
_GRAPH_VERSION_KEY = "road_graph_of_version:"
_memo_lock = threading.Lock()
_memo: dict[tuple[str, str], RoadGraph] = {}
#: (workspace path, version key) -> fingerprint, so a warm process skips the rp_cache read
_version_memo: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class NetworkSettings:
    """Per-workspace network options (workspace meta ``network``), with defaults.

    Raises
    ------
    web.services.errors.BadSetting
        A setting that cannot be used, named by its key (``network.speed_table``,
        ``network.max_snap_m``…); read before any analysis, so nothing falls back.
    """

    speed_table: SpeedTable
    access_speed_kmh: float = 5.0
    #: :data:`planner.snap.DEFAULT_MAX_SNAP_M` (1 km): farther from every road is 路不通.
    max_snap_m: float = DEFAULT_MAX_SNAP_M
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
        raw = ws.meta().get("network") or {}
        if not isinstance(raw, dict):
            raise BadSetting(setting="network", reason_en="expected a mapping of settings",
                             reason_zh="应为设置项的映射")
        raw = dict(raw)
        table_raw = raw.pop("speed_table", {})
        known_keys = set(SpeedTable.__dataclass_fields__)
        if not isinstance(table_raw, dict) or not set(table_raw) <= known_keys or not isinstance(
                table_raw.get("class_speeds_kmh", {}), dict):
            keys = ", ".join(sorted(known_keys))
            raise BadSetting(setting="network.speed_table",
                             reason_en=f"expected a mapping of {keys} (class_speeds_kmh: road class → km/h)",
                             reason_zh=f"应为含 {keys} 的映射（class_speeds_kmh：道路等级 → 千米/小时）")
        try:
            table = SpeedTable.from_dict(table_raw)
        except InvalidInput as exc:
            raise _bad_setting("network.speed_table", exc) from exc
        known = _numbers(raw, (("access_speed_kmh", False), ("max_snap_m", False), ("merge_tolerance_m", True),
                               ("min_component_km", True), ("min_component_share", True), *_ESTIMATE_KEYS))
        if "node_at_crossings" in raw:
            known["node_at_crossings"] = bool(raw["node_at_crossings"])
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


#: The straight-line estimate's settings (key, zero allowed).
_ESTIMATE_KEYS = (("detour_factor", False), ("estimate_speed_kmh", False))


def _numbers(raw: dict, keys) -> dict:
    """The numeric settings of ``keys`` present in ``raw``; :class:`BadSetting` naming the first bad one."""
    known = {}
    for key, zero_ok in keys:
        if key in raw:
            try:
                value = float(raw[key])
            except (TypeError, ValueError):
                value = float("nan")
            if not (0 <= value < float("inf")) or (value == 0 and not zero_ok):
                sign_en, sign_zh = ("≥ 0", "不小于 0 的数") if zero_ok else ("> 0", "大于 0 的数")
                raise BadSetting(setting=f"network.{key}", reason_en=f"must be a number {sign_en} "
                                 f"(got {raw[key]!r})", reason_zh=f"应为{sign_zh}（现为 {raw[key]!r}）")
            known[key] = value
    return known


def straight_line_estimate(ws: Workspace, *, settings: NetworkSettings | None = None):
    """The county's straight-line estimate (:class:`planner.estimate.StraightLineEstimate`:
    distance × ``network.detour_factor`` at ``network.estimate_speed_kmh``), in the villages'
    metric CRS — what every analysis uses without a roads layer, and pairings when straight
    lines are asked for. Only its own two settings are read (a bad speed table does not
    stop it; a bad detour factor is a :class:`BadSetting`).

    Raises
    ------
    NoNetwork
        Without villages to choose a metric CRS from.
    """
    from planner.estimate import StraightLineEstimate

    if settings is None:
        raw = ws.meta().get("network") or {}
        known = _numbers(raw if isinstance(raw, dict) else {}, _ESTIMATE_KEYS)
        factor, speed = known.get("detour_factor", 1.3), known.get("estimate_speed_kmh", 30.0)
    else:
        factor, speed = settings.detour_factor, settings.estimate_speed_kmh
    vill = villages(ws)
    if not len(vill):
        raise NoNetwork(workspace=ws.path.name)
    return StraightLineEstimate.for_frame(vill, detour_factor=factor, speed_kmh=speed)


def _bad_setting(setting: str, exc: RuralplanError) -> BadSetting:
    return BadSetting(setting=setting, reason_en=exc.message("en"), reason_zh=exc.message("zh"))


@dataclass(frozen=True, eq=False)
class WorkspaceNetwork:
    """The road graph of a workspace with the settings it was built and is queried with."""

    graph: RoadGraph
    settings: NetworkSettings

    @property
    def max_snap_m(self) -> float:
        return self.settings.max_snap_m


def workspace_network(ws: Workspace) -> WorkspaceNetwork:
    """The one accessor for a workspace's road network: settings read (and checked) from
    the workspace meta ``network``, then the graph built or loaded for them.

    Raises
    ------
    BadSetting
        A ``network`` setting cannot be used (named in the message).
    NoRoads
        The workspace has no roads.
    """
    settings = NetworkSettings.from_workspace(ws)
    return WorkspaceNetwork(road_graph(ws, settings=settings), settings)


def road_graph(ws: Workspace, *, settings: NetworkSettings | None = None) -> RoadGraph:
    """The workspace's road graph, from memory, the workspace cache, or built anew.

    The roads layer's version (:meth:`layers.store.Workspace.layer_version`) and the
    settings name the graph's fingerprint in the workspace cache, so a cached graph is
    loaded without reading the roads layer at all: on a province that layer holds
    ~0.7 M geometries, and reading it cost more memory than the graph itself.

    Raises :class:`BadSetting` (settings from the workspace) or :class:`NoRoads`.
    """
    settings = settings or NetworkSettings.from_workspace(ws)
    path = str(ws.path.resolve())
    version_key = _version_key(ws, settings)
    fingerprint = None
    if version_key is not None:
        with _memo_lock:
            fingerprint = _version_memo.get((path, version_key))
        if fingerprint is None:
            stored = ws.get_blob(_GRAPH_VERSION_KEY + version_key)
            fingerprint = stored.decode() if stored else None
        if fingerprint is not None:
            graph = _cached_graph(ws, path, fingerprint)
            if graph is not None:
                _remember(path, version_key, graph)
                return graph
    roads = ws.read_layer("roads")
    if len(roads) == 0:
        raise NoRoads(workspace=ws.path.name)
    fingerprint = roads_fingerprint(roads, **settings.build_options())
    graph = _cached_graph(ws, path, fingerprint)
    if graph is None:
        graph = build_road_graph(roads, **settings.build_options(), fingerprint=fingerprint)
        del roads  # the frame is the workspace's cached copy; ours need not outlive the build
        ws.put_blob(_GRAPH_KEY + fingerprint, _graph_to_blob(graph), replace_prefix=_GRAPH_KEY)
    if version_key is not None:
        # Only a shortcut: a workspace that cannot be written (a read-only copy) still
        # answers, it just reads its roads again next time.
        with contextlib.suppress(sqlite3.Error, OSError):
            ws.put_blob(_GRAPH_VERSION_KEY + version_key, fingerprint.encode(), replace_prefix=_GRAPH_VERSION_KEY)
    _remember(path, version_key, graph)
    return graph


def _version_key(ws: Workspace, settings: NetworkSettings) -> str | None:
    """The roads layer's version joined with the build options, hashed; None when the
    file stamps no version (then only the fingerprint of the roads names the graph)."""
    version = ws.layer_version("roads")
    if not version.strip("|"):
        return None
    options = dict(settings.build_options(), speed_table=settings.speed_table.to_dict())
    text = json.dumps({"roads": version, "options": options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _cached_graph(ws: Workspace, path: str, fingerprint: str) -> RoadGraph | None:
    with _memo_lock:
        graph = _memo.get((path, fingerprint))
    if graph is not None:
        return graph
    blob = ws.get_blob(_GRAPH_KEY + fingerprint)
    if blob is None:
        return None
    stored = _arrays_from_blob(blob)
    del blob  # ~120 MB on a province: gone before the edge geometries are made
    return _graph_from_arrays(*stored) if stored is not None else None


def _remember(path: str, version_key: str | None, graph: RoadGraph) -> None:
    with _memo_lock:
        # Keep one graph per workspace: an old roads version is never asked for again.
        for stale in [k for k in _memo if k[0] == path and k[1] != graph.fingerprint]:
            del _memo[stale]
        _memo[(path, graph.fingerprint)] = graph
        if version_key is not None:
            for stale in [k for k in _version_memo if k[0] == path]:
                del _version_memo[stale]
            _version_memo[(path, version_key)] = graph.fingerprint


class NoNetwork(Unavailable):
    """Neither roads nor villages: not even a straight-line estimate can be made."""

    code = "network.unavailable"
    # no file name: a visitor of the web app must not learn the server's paths
    en = "The workspace has no roads and no villages: import a roads layer (or villages) first."
    zh = "工作空间既没有道路也没有行政村：请先导入道路图层（或行政村）。"


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
    try:
        return road_graph(ws, settings=settings)
    except NoRoads:
        pass
    return straight_line_estimate(ws, settings=settings)


def prewarm(ws: Workspace) -> None:
    """Build (or load) the road graph, its service-area buffers and its contraction
    hierarchy (compiling the numba kernels on a fresh install) ahead of the first request."""
    from planner.ch import graph_hierarchy
    from planner.service_area import prepare_service_areas

    try:
        settings = NetworkSettings.from_workspace(ws)
        graph = road_graph(ws, settings=settings)
    except RuralplanError:
        return  # no roads yet, or a bad setting: nothing to prepare (the pages say why)
    prepare_service_areas(graph, max_snap_m=settings.max_snap_m)
    graph_hierarchy(graph)
    from planner.locate._pcenter_exact import warm_kernels as warm_pcenter_kernels
    from planner.resilience import warm_kernels

    warm_kernels()  # the resilience view's numba kernels
    warm_pcenter_kernels()  # else compiled inside the first p-center's time limit
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
    stored = _arrays_from_blob(blob)
    return _graph_from_arrays(*stored) if stored is not None else None


def _arrays_from_blob(blob: bytes) -> tuple[dict, dict] | None:
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            meta = json.loads(bytes(data["__meta__"]).decode())
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
        return arrays, meta
    except (ValueError, KeyError, OSError):
        return None  # not a graph blob: rebuild


def _graph_from_arrays(arrays: dict, meta: dict) -> RoadGraph | None:
    try:
        return RoadGraph.from_arrays(arrays, meta)
    except (ValueError, KeyError):
        return None  # an older cache format: rebuild


def facility_points(ws: Workspace, layer: str, *, statuses=None) -> gpd.GeoDataFrame:
    """A facility layer as points with ``id`` and ``name`` (towns keyed by code).

    ``statuses`` filters cold stores by status (e.g. only existing ones).
    """
    if layer not in FACILITY_LAYERS:
        raise UnknownLayer(layer=repr(layer), role="facility", expected=", ".join(FACILITY_LAYERS))
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
        values = ()
    if not values or any(not v > 0 for v in values):
        raise InvalidParameter(name="minutes", value=repr(text),
                               expected_en="minutes must be positive numbers separated by commas, e.g. 15,30,60",
                               expected_zh="分钟数应为逗号分隔的正数，如 15,30,60")
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
        raise UnknownLayer(layer=repr(source), role="candidate source",
                           expected="towns, industry_bases, network, proposals")
    if len(frame) == 0:
        raise NoCandidates(source=source)
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
    from layers.schema import commodity_codes

    wanted = set(commodities)
    lists = [set(commodity_codes(text)) for text in facilities["commodities"].tolist()]
    takes = [not codes or bool(codes & wanted) for codes in lists]
    return facilities[np.asarray(takes, dtype=bool)].reset_index(drop=True)


def plan(ws: Workspace, question, *, candidates: gpd.GeoDataFrame | None = None, graph=None):
    """Answer a :class:`web.services.planning.PlacementQuestion` on the workspace (see
    :func:`planner.placement.plan_placement`).

    ``candidates``: a candidate frame that replaces ``question.candidates`` (points drawn
    on the map); ``graph``: the workspace's road graph when the caller already holds it
    (saves re-fingerprinting the roads, ~50 ms on a county).
    """
    from planner.placement import DemandSpec, plan_placement

    q = question
    settings = NetworkSettings.from_workspace(ws)
    graph = graph if graph is not None else network_or_estimate(ws, settings=settings)
    vill = villages(ws)
    spec = DemandSpec.parse(q.demand)
    cand = candidates if candidates is not None else candidate_sites(ws, q.candidates, graph=graph,
                                                                     demand_weights=spec.weights(vill))
    existing = facility_points(ws, q.facility, statuses=EXISTING_STATUSES) if q.keep_existing else None
    if existing is not None:
        existing = serving_commodities(existing, spec.commodities)
    site_cost_wan = q.site_cost_wan
    if site_cost_wan is None and q.budget_wan is not None and "cost_wan" not in cand.columns:
        site_cost_wan = DEFAULT_SITE_COST_WAN.get(q.facility)
    return plan_placement(graph, vill, cand, existing=existing, model=q.model, demand=spec, p=q.p, minutes=q.minutes,
                          budget_wan=q.budget_wan, site_cost_wan=site_cost_wan, new_capacity_t=q.new_capacity_t,
                          split_demand=q.split_demand, time_limit_s=q.time_limit_s, max_snap_m=settings.max_snap_m,
                          decay=q.decay, beta=q.beta, target_share=q.target_share, curve_k=q.curve_k)
