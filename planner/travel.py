"""Travel times between snapped points: OD matrices, k-nearest, accessibility.

How a snapped point enters the graph
------------------------------------
Every usable origin gets a *virtual node* with arcs to the ends of its edge
(off-road leg + the fraction of the edge's minutes to that end; only towards ``v``
on a one-way edge), and every destination a virtual node with arcs *from* the
ends of its edge.  Origin virtual nodes have no incoming arcs and destination
virtual nodes no outgoing ones, so no path can pass through them.  Two points on
the same edge also get a direct arc (the stretch between them, if the edge's
direction allows it), which a node-to-node search alone would miss.

One :func:`scipy.sparse.csgraph.dijkstra` run per origin (``indices=`` in chunks,
``limit=`` for a cutoff) then gives exact times to all destinations; this is one
run per origin rather than one per edge end, and the minimum over the two ends
falls out of the search.  Nearest-facility queries use a single multi-source run
(``min_only=True``) on the reversed graph.

Large matrices instead use the graph's contraction hierarchy (:mod:`planner.ch`,
built once per graph): each snapped point becomes a *set of seeds* on the ends of
its edge with exactly the offsets of the virtual-node arcs above, the bucket
many-to-many search gives the network part, and same-edge trips are taken as the
minimum with the direct stretch, so both paths give the same minutes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

import shapely

from planner.graph import RoadGraph, _csr_min
from planner.snap import (
    DEFAULT_MAX_SNAP_M,
    REASON_DISCONNECTED,
    REASON_MISSING_GEOMETRY,
    SnapResult,
    snap_points,
)

__all__ = [
    "REASON_NO_FACILITY",
    "REASON_NO_ROUTE",
    "REASON_SCENARIO_BLOCKED",
    "TravelTimeMatrix",
    "accessibility",
    "k_nearest",
    "nearest_times",
    "point_reasons",
    "round_minutes",
    "travel_time_matrix",
]

#: Both ends snapped to the main network, but no directed path (one-way streets).
REASON_NO_ROUTE = "no_route"
#: There is no usable facility at all (none given, or none of them on the network).
REASON_NO_FACILITY = "no_facility"
#: On a network scenario's graph: the base network serves the point, the scenario's
#: closures leave it off the roads or cut off from the other side (its effect, not a
#: fault of the data).
REASON_SCENARIO_BLOCKED = "scenario_blocked"


def point_reasons(graph, points: SnapResult, others: SnapResult | None = None, minutes=None, *,
                  direction: Direction = "to_facility") -> np.ndarray:
    """Why each point is off the road network, or cut off from the other side: THE one rule.

    Every output that names points off the network (``od``, ``coverage``, ``place``,
    ``service-area``, proposal evaluation, the map and the API) takes its reason codes
    from here, so one village gets one reason everywhere.

    Parameters
    ----------
    graph : RoadGraph or StraightLineEstimate
    points : SnapResult
        The points to explain.
    others : SnapResult, optional
        The other side of the trips (facilities for villages, villages for
        facilities, destinations for origins).  Without it only the snap reason is
        given (a service area has no other side).
    minutes : array_like of float, optional
        Best minutes of each point to (or from) the other side; a point on the
        network without a finite time then gets ``no_route`` or ``no_facility``.

    Returns
    -------
    ndarray of object, shape (len(points),)
        ``""`` when the point is on a network that reaches the other side, else, in
        this order: its snap reason (:mod:`planner.snap`: ``missing_geometry``,
        ``too_far_from_road``, ``disconnected_component`` for a point whose only road
        within reach is a stray fragment); ``no_facility`` when no point of the other
        side is on the network (with ``minutes``); ``disconnected_component`` when
        the road network the point is on holds no point of the other side (an island
        without a store, a village road cut off by a scenario); ``no_route`` when
        there is still no finite time (one-way streets; with ``minutes``).  On a network
        scenario's graph (:attr:`planner.graph.RoadGraph.base` set), a point given any of
        these whose reason on the base network is ``""`` gets ``scenario_blocked``
        instead: the closures cut it off (its road closed, or its road cut off from the
        other side), its road is not a fault of the data.
    direction : {"to_facility", "from_facility"}
        The direction of ``minutes`` (points → others, or others → points); used only on
        a scenario's graph, to ask the base network the same question.
    """
    reason = _point_reasons(graph, points, others, minutes)
    base = getattr(graph, "base", None)
    if base is None:
        return reason
    blocked = np.flatnonzero((reason != "") & (reason != REASON_MISSING_GEOMETRY))
    if not len(blocked):
        return reason
    # the same question on the base network, for the points it may concern only (the rule
    # is per point): snapped as the base network snaps them (same distance, walking speed)
    base_points = _resnap(base, _take(points, blocked))
    base_others = None if others is None else _resnap(base, others)
    base_minutes = None
    if minutes is not None and others is not None:
        base_minutes = np.full(len(blocked), np.inf)
        ask = np.flatnonzero(base_points.reason == "")
        if len(ask):
            base_minutes[ask] = nearest_times(base, _take(base_points, ask), base_others, direction=direction)[0]
    base_reason = _point_reasons(base, base_points, base_others, base_minutes)
    reason[blocked[base_reason == ""]] = REASON_SCENARIO_BLOCKED
    return reason


def _resnap(graph, snap: SnapResult) -> SnapResult:
    """``snap``'s points snapped onto ``graph`` (a scenario's base network)."""
    import geopandas as gpd

    xy = np.asarray(snap.point_xy, dtype=float).reshape(-1, 2)
    geoms = shapely.points(xy)
    geoms[~np.isfinite(xy).all(axis=1)] = None
    frame = gpd.GeoDataFrame({"id": np.asarray(snap.ids, dtype=object), "name": snap.names},
                             geometry=gpd.GeoSeries(geoms, crs=snap.crs))
    return snap_points(graph, frame, max_snap_m=snap.max_snap_m, access_speed_kmh=snap.access_speed_kmh,
                       id_column="id")


def _take(snap: SnapResult, idx: np.ndarray) -> SnapResult:
    """The points ``idx`` of ``snap``."""
    import dataclasses

    values = {}
    for f in dataclasses.fields(snap):
        v = getattr(snap, f.name)
        values[f.name] = v[idx] if isinstance(v, np.ndarray) and v.ndim >= 1 and len(v) == len(snap) else v
    return SnapResult(**values)


def _point_reasons(graph, points: SnapResult, others: SnapResult | None, minutes) -> np.ndarray:
    """:func:`point_reasons` on ``graph`` alone (no base network asked)."""
    reason = np.asarray(points.reason, dtype=object).copy()
    if others is None:
        return reason
    finite = None if minutes is None else np.isfinite(np.asarray(minutes, dtype=float))
    if not others.ok.any():
        if finite is not None:
            reason[(reason == "") & ~finite] = REASON_NO_FACILITY
        return reason
    if hasattr(graph, "edge_component"):  # (a straight-line estimate has no parts)
        served = np.unique(graph.edge_component[others.edge[others.ok]])
        idx = np.flatnonzero(reason == "")
        reason[idx[~np.isin(graph.edge_component[points.edge[idx]], served)]] = REASON_DISCONNECTED
    if finite is not None:
        reason[(reason == "") & ~finite] = REASON_NO_ROUTE
    return reason


#: Decimals of minutes in outputs (files, text, JSON): 0.01 min is under a second.
MINUTES_DECIMALS = 2


def round_minutes(minutes, decimals: int = MINUTES_DECIMALS) -> np.ndarray:
    """Minutes for output: widened to float64 *before* rounding (a float32 12.3 would
    print as 12.300000190734863), ``inf`` kept.  Computations keep the full values."""
    return np.round(np.asarray(minutes, dtype=np.float64), decimals)


Direction = Literal["to_facility", "from_facility"]
Method = Literal["auto", "dijkstra", "ch"]

# method="auto" thresholds (rows = the smaller side of the matrix), from
# bench/bench_network.py on the 106k-node graph: the hierarchy takes ~5 s to build,
# about as long as 200 Dijkstra rows (~24 ms each), and is kept for later calls.
_CH_MIN_ROWS = 200
_CH_MIN_ROWS_CACHED = 10
_CH_MIN_NODES = 5_000

# Dense rows per dijkstra call: bounds the float64 scratch matrix to ~128 MB.
_CHUNK_CELLS = 16_000_000


@dataclass(frozen=True, eq=False)
class TravelTimeMatrix:
    """Minutes from each origin to each destination.

    Attributes
    ----------
    minutes : ndarray of float32, shape (n_origins, n_destinations)
        ``inf`` where unreachable (snap failure, no route) or beyond ``cutoff_min``.
    origin_ids, destination_ids : ndarray of object
    origin_snap, destination_snap : SnapResult
    cutoff_min : float or None
    """

    minutes: np.ndarray
    origin_ids: np.ndarray
    destination_ids: np.ndarray
    origin_snap: SnapResult
    destination_snap: SnapResult
    cutoff_min: float | None = None
    #: Set when there is no road network: how the minutes were estimated
    #: (:meth:`planner.estimate.StraightLineEstimate.to_dict`).
    estimate: dict | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.minutes.shape

    def to_frame(self) -> pd.DataFrame:
        """Wide table: origins as rows, destinations as columns."""
        return pd.DataFrame(self.minutes, index=pd.Index(self.origin_ids, name="origin_id"),
                            columns=pd.Index(self.destination_ids, name="destination_id"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "origin_ids": [str(x) for x in self.origin_ids],
            "destination_ids": [str(x) for x in self.destination_ids],
            "minutes": [[float(x) if np.isfinite(x) else None for x in row] for row in self.minutes],
            "cutoff_min": self.cutoff_min,
            "origin_reasons": [str(x) for x in self.origin_snap.reason],
            "destination_reasons": [str(x) for x in self.destination_snap.reason],
            "estimate": self.estimate,
        }


def _edge_ends(graph: RoadGraph, snap: SnapResult | None, idx: np.ndarray):
    if snap is None:
        z = np.zeros(0)
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, z, z, z, np.zeros(0, dtype=bool)
    e = snap.edge[idx]
    t = graph.edge_minutes[e]
    f = snap.fraction[idx]
    a = snap.access_min[idx]
    return e, graph.edge_u[e], graph.edge_v[e], t, f, a, graph.edge_oneway[e]


def _same_edge_trips(graph: RoadGraph, origins: SnapResult | None, oi: np.ndarray,
                     destinations: SnapResult | None, di: np.ndarray):
    """Direct trips along a shared edge: positions in ``oi``/``di`` and minutes.

    A node-to-node search alone would miss them (the stretch between two points
    on one edge passes no node).
    """
    none = np.zeros(0, dtype=np.int64)
    if len(oi) == 0 or len(di) == 0:
        return none, none, np.zeros(0)
    e_o, _, _, t_o, f_o, a_o, one_o = _edge_ends(graph, origins, oi)
    e_d, _, _, _, f_d, a_d, _ = _edge_ends(graph, destinations, di)
    left = pd.DataFrame({"e": e_o, "o": np.arange(len(oi))})
    right = pd.DataFrame({"e": e_d, "d": np.arange(len(di))})
    pairs = left.merge(right, on="e")
    if len(pairs) == 0:
        return none, none, np.zeros(0)
    po, pd_ = pairs["o"].to_numpy(), pairs["d"].to_numpy()
    delta = f_d[pd_] - f_o[po]
    t = t_o[po]
    allowed = (delta >= 0) | ~one_o[po]
    cost = a_o[po] + a_d[pd_] + np.abs(delta) * t
    # a trip between two copies of the same point (a facility in the village) takes no time
    same_place = np.all(origins.point_xy[oi[po]] == destinations.point_xy[di[pd_]], axis=1)
    cost = np.where(same_place, 0.0, cost)
    allowed |= same_place
    return po[allowed], pd_[allowed], cost[allowed]


def _augmented_graph(graph: RoadGraph, origins: SnapResult | None, destinations: SnapResult | None):
    """CSR of the road graph plus one virtual node per usable origin and destination.

    Returns the matrix, the positions of usable origins/destinations and the
    virtual node ids of each.
    """
    n = graph.n_nodes
    oi = np.flatnonzero(origins.ok) if origins is not None else np.zeros(0, dtype=np.int64)
    di = np.flatnonzero(destinations.ok) if destinations is not None else np.zeros(0, dtype=np.int64)
    o_node = n + np.arange(len(oi))
    d_node = n + len(oi) + np.arange(len(di))
    size = n + len(oi) + len(di)

    rows, cols, vals = [], [], []

    _, u_o, v_o, t_o, f_o, a_o, one_o = _edge_ends(graph, origins, oi)
    # origin -> v (always allowed), origin -> u (two-way edges only)
    rows += [o_node, o_node[~one_o]]
    cols += [v_o, u_o[~one_o]]
    vals += [a_o + (1.0 - f_o) * t_o, (a_o + f_o * t_o)[~one_o]]

    _, u_d, v_d, t_d, f_d, a_d, one_d = _edge_ends(graph, destinations, di)
    # u -> destination (always allowed), v -> destination (two-way edges only)
    rows += [u_d, v_d[~one_d]]
    cols += [d_node, d_node[~one_d]]
    vals += [f_d * t_d + a_d, ((1.0 - f_d) * t_d + a_d)[~one_d]]

    # origin and destination on the same edge: drive the stretch between them
    po, pd_, cost = _same_edge_trips(graph, origins, oi, destinations, di)
    rows.append(o_node[po])
    cols.append(d_node[pd_])
    vals.append(cost)

    added = _csr_min(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals).astype(float), (size, size))
    return _with_road_arcs(graph.minutes, added), oi, di, o_node, d_node


def _with_road_arcs(roads: sp.csr_matrix, added: sp.csr_matrix) -> sp.csr_matrix:
    """The road graph's arcs and the virtual nodes' arcs in one CSR matrix.

    The added arcs leave a virtual node or enter one, so none duplicates a road arc and,
    in a road node's row, all come after the road arcs (their columns are larger): each
    row is the road row followed by the added row, the very matrix :func:`_csr_min` would
    make of both, without re-sorting the whole province graph for every question.
    """
    n = roads.shape[0]
    if not roads.has_canonical_format:  # duplicates or unsorted columns: merge the slow way
        coo = roads.tocoo()
        extra = added.tocoo()
        return _csr_min(np.r_[coo.row, extra.row].astype(np.int64), np.r_[coo.col, extra.col].astype(np.int64),
                        np.r_[coo.data, extra.data].astype(float), added.shape)
    size = added.shape[0]
    road_count = np.zeros(size, np.int64)
    road_count[:n] = np.diff(roads.indptr)
    added_count = np.diff(added.indptr)
    indptr = np.zeros(size + 1, np.int64)
    np.cumsum(road_count + added_count, out=indptr[1:])
    data = np.empty(int(indptr[-1]))
    indices = np.empty(int(indptr[-1]), np.int32)
    row_of = np.repeat(np.arange(n), road_count[:n])
    at = indptr[row_of] + (np.arange(len(row_of)) - roads.indptr[row_of])
    data[at], indices[at] = roads.data, roads.indices
    row_of = np.repeat(np.arange(size), added_count)
    at = indptr[row_of] + road_count[row_of] + (np.arange(len(row_of)) - added.indptr[row_of])
    data[at], indices[at] = added.data, added.indices
    return sp.csr_matrix((data, indices, indptr), shape=added.shape)


def _run_rows(matrix: sp.csr_matrix, sources: np.ndarray, targets: np.ndarray, limit: float) -> np.ndarray:
    """Shortest times from each source to each target, in row chunks."""
    out = np.full((len(sources), len(targets)), np.inf, dtype=np.float32)
    if len(sources) == 0 or len(targets) == 0:
        return out
    chunk = max(1, _CHUNK_CELLS // matrix.shape[0])
    for start in range(0, len(sources), chunk):
        stop = min(start + chunk, len(sources))
        dist = dijkstra(matrix, directed=True, indices=sources[start:stop], limit=limit)
        out[start:stop] = dist[:, targets]
    return out


def _ch_block(graph: RoadGraph, so: SnapResult, oi: np.ndarray, sd: SnapResult, di: np.ndarray,
              limit: float) -> np.ndarray:
    """The usable-origin x usable-destination block by contraction hierarchy.

    Each snapped point becomes a seed set on the ends of its edge with the same
    offsets as the virtual-node arcs of :func:`_augmented_graph`, so no virtual
    node enters the (cached, graph-only) hierarchy; same-edge trips are added
    afterwards as the minimum with the direct stretch.
    """
    from planner.ch import graph_hierarchy, many_to_many

    def seeds(snap, idx, outgoing: bool):
        _, u, v, t, f, a, one = _edge_ends(graph, snap, idx)
        # origin: -> v always, -> u on two-way edges; destination: u -> always, v -> on two-way
        first, second = (v, u) if outgoing else (u, v)
        off_first = a + (1.0 - f) * t if outgoing else f * t + a
        off_second = a + f * t if outgoing else (1.0 - f) * t + a
        count = 1 + (~one).astype(np.int64)
        indptr = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(count, out=indptr[1:])
        nodes = np.empty(indptr[-1], dtype=np.int64)
        offsets = np.empty(indptr[-1])
        nodes[indptr[:-1]] = first
        offsets[indptr[:-1]] = off_first
        nodes[indptr[:-1][~one] + 1] = second[~one]
        offsets[indptr[:-1][~one] + 1] = off_second[~one]
        return indptr, (nodes, offsets)

    s_ptr, s_init = seeds(so, oi, True)
    t_ptr, t_init = seeds(sd, di, False)
    block = many_to_many(graph_hierarchy(graph), s_ptr, t_ptr, sources_init=s_init, targets_init=t_init,
                         limit=limit)
    po, pd_, cost = _same_edge_trips(graph, so, oi, sd, di)
    if len(po):
        direct = np.where(cost <= limit, cost, np.inf)
        block[po, pd_] = np.minimum(block[po, pd_], direct)
    return block.astype(np.float32)


def _use_hierarchy(graph: RoadGraph, n_origins: int, n_destinations: int) -> bool:
    """Whether ``method="auto"`` takes the contraction hierarchy.

    Once a graph has its hierarchy, queries cost a few hundred settled nodes per
    point against a whole-graph Dijkstra per row, so any real matrix is faster
    with it.  Building it costs roughly as much as ``_CH_MIN_ROWS`` Dijkstra
    rows, so it is only built for matrices that would need about that many (and
    not for small graphs, where Dijkstra rows are cheap anyway).
    """
    from planner.ch import has_hierarchy

    rows = min(n_origins, n_destinations)  # the Dijkstra path searches from the smaller side
    if rows == 0:
        return False
    if has_hierarchy(graph):
        return rows >= _CH_MIN_ROWS_CACHED
    return rows >= _CH_MIN_ROWS and graph.n_nodes >= _CH_MIN_NODES


def check_cutoff_min(cutoff_min) -> float:
    """``cutoff_min`` as a float; :class:`planner.errors.InvalidParameter` unless a number >= 0."""
    if not cutoff_min >= 0:
        from planner.errors import InvalidParameter

        raise InvalidParameter(name="cutoff_min", value=cutoff_min, expected_en="must be a number >= 0",
                               expected_zh="须为不小于 0 的数")
    return float(cutoff_min)


def _limit(cutoff_min: float | None) -> float:
    return np.inf if cutoff_min is None else check_cutoff_min(cutoff_min)


def travel_time_matrix(
    graph: RoadGraph,
    origins_gdf,
    destinations_gdf,
    *,
    cutoff_min: float | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    access_speed_kmh: float | None = None,
    origin_snap: SnapResult | None = None,
    destination_snap: SnapResult | None = None,
    method: Method = "auto",
) -> TravelTimeMatrix:
    """Door-to-door minutes from every origin to every destination.

    Parameters
    ----------
    graph : RoadGraph
    origins_gdf, destinations_gdf : geopandas.GeoDataFrame
        Points (any CRS); ids from ``id``/``code``/index (see :func:`~planner.snap.point_ids`).
    cutoff_min : float, optional
        Times above this are ``inf``; also bounds the searches, which makes them
        much faster.
    max_snap_m, access_speed_kmh
        Passed to :func:`~planner.snap.snap_points`.
    origin_snap, destination_snap : SnapResult, optional
        Reuse snaps computed earlier (the GeoDataFrames are then not re-snapped).
    method : {"auto", "dijkstra", "ch"}
        ``"dijkstra"``: one :func:`scipy.sparse.csgraph.dijkstra` run per row of the
        smaller side.  ``"ch"``: bucket many-to-many on the graph's contraction
        hierarchy (:mod:`planner.ch`, built once per graph and kept).  ``"auto"``
        takes the hierarchy for large matrices.  Both give the same minutes (up to
        float32 rounding).

    Returns
    -------
    TravelTimeMatrix
    """
    if method not in ("auto", "dijkstra", "ch"):
        msg = f"method must be 'auto', 'dijkstra' or 'ch', got {method!r}"
        raise ValueError(msg)
    limit = _limit(cutoff_min)
    so = origin_snap if origin_snap is not None else snap_points(graph, origins_gdf, max_snap_m=max_snap_m, access_speed_kmh=access_speed_kmh)
    sd = destination_snap if destination_snap is not None else snap_points(graph, destinations_gdf, max_snap_m=max_snap_m, access_speed_kmh=access_speed_kmh)
    minutes = np.full((len(so), len(sd)), np.inf, dtype=np.float32)
    oi, di = np.flatnonzero(so.ok), np.flatnonzero(sd.ok)
    from planner.estimate import is_estimate

    if is_estimate(graph):
        block = graph.minutes_between(so.point_xy[oi], sd.point_xy[di])
        minutes[np.ix_(oi, di)] = np.where(block <= limit, block, np.inf)
        return TravelTimeMatrix(
            minutes=minutes, origin_ids=so.ids, destination_ids=sd.ids, origin_snap=so, destination_snap=sd,
            cutoff_min=None if cutoff_min is None else float(cutoff_min), estimate=graph.to_dict(),
        )
    if method == "ch" or (method == "auto" and _use_hierarchy(graph, len(oi), len(di))):
        if len(oi) and len(di):
            minutes[np.ix_(oi, di)] = _ch_block(graph, so, oi, sd, di, limit)
        return TravelTimeMatrix(
            minutes=minutes, origin_ids=so.ids, destination_ids=sd.ids, origin_snap=so, destination_snap=sd,
            cutoff_min=None if cutoff_min is None else float(cutoff_min),
        )
    aug, oi, di, o_node, d_node = _augmented_graph(graph, so, sd)
    if len(d_node) < len(o_node):
        # Fewer destinations (e.g. 350 villages x 17 sites): search backwards from each
        # destination on the reversed graph; same times, far fewer Dijkstra runs.
        block = _run_rows(aug.T.tocsr(), d_node, o_node, limit).T
    else:
        block = _run_rows(aug, o_node, d_node, limit)
    minutes[np.ix_(oi, di)] = block
    return TravelTimeMatrix(
        minutes=minutes, origin_ids=so.ids, destination_ids=sd.ids, origin_snap=so, destination_snap=sd,
        cutoff_min=None if cutoff_min is None else float(cutoff_min),
    )


def k_nearest(matrix: TravelTimeMatrix, k: int) -> pd.DataFrame:
    """The ``k`` fastest destinations per origin, as a long table.

    Returns
    -------
    DataFrame
        ``origin_id``, ``rank`` (1 = nearest), ``destination_id``, ``minutes``;
        unreachable pairs are left out, so an origin may have fewer than ``k`` rows.
    """
    if k < 1:
        msg = f"k must be >= 1, got {k}"
        raise ValueError(msg)
    m = matrix.minutes
    n_o, n_d = m.shape
    k_eff = min(k, n_d)
    if n_o == 0 or k_eff == 0:
        return pd.DataFrame({"origin_id": [], "rank": [], "destination_id": [], "minutes": []})
    part = np.argpartition(m, k_eff - 1, axis=1)[:, :k_eff] if k_eff < n_d else np.tile(np.arange(n_d), (n_o, 1))
    vals = np.take_along_axis(m, part, axis=1)
    order = np.argsort(vals, axis=1, kind="stable")
    part = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    rows = np.repeat(np.arange(n_o), k_eff)
    frame = pd.DataFrame(
        {
            "origin_id": matrix.origin_ids[rows],
            "rank": np.tile(np.arange(1, k_eff + 1), n_o),
            "destination_id": matrix.destination_ids[part.ravel()],
            "minutes": vals.ravel(),
        }
    )
    return frame[np.isfinite(frame["minutes"])].reset_index(drop=True)


def nearest_times(
    graph: RoadGraph,
    points: SnapResult,
    facilities: SnapResult,
    *,
    direction: Direction = "to_facility",
    cutoff_min: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to (or from) the nearest facility for every point, in one search.

    Returns
    -------
    minutes : ndarray of float
        ``inf`` when no facility is reachable (or within ``cutoff_min``).
    facility : ndarray of int64
        Position of the nearest facility in ``facilities``, -1 when none.
    """
    if direction not in ("to_facility", "from_facility"):
        msg = f"direction must be 'to_facility' or 'from_facility', got {direction!r}"
        raise ValueError(msg)
    limit = _limit(cutoff_min)
    minutes = np.full(len(points), np.inf)
    nearest = np.full(len(points), -1, dtype=np.int64)
    from planner.estimate import is_estimate

    if is_estimate(graph):  # symmetric: direction does not matter
        pi, fi = np.flatnonzero(points.ok), np.flatnonzero(facilities.ok)
        if len(pi) and len(fi):
            block = graph.minutes_between(points.point_xy[pi], facilities.point_xy[fi])
            best = np.argmin(block, axis=1)
            t = block[np.arange(len(pi)), best]
            within = t <= limit
            minutes[pi[within]] = t[within]
            nearest[pi[within]] = fi[best[within]]
        return minutes, nearest
    if direction == "to_facility":
        # trips point -> facility: search backwards from all facilities at once
        aug, pi, fi, p_node, f_node = _augmented_graph(graph, points, facilities)
        search = aug.T.tocsr()
    else:
        aug, fi, pi, f_node, p_node = _augmented_graph(graph, facilities, points)
        search = aug
    if len(pi) == 0 or len(fi) == 0:
        return minutes, nearest
    dist, _, source = dijkstra(search, directed=True, indices=f_node, limit=limit, min_only=True,
                               return_predecessors=True)
    minutes[pi] = dist[p_node]
    src = source[p_node]
    found = src >= 0
    nearest[pi[found]] = fi[src[found] - f_node[0]]
    return minutes, nearest


def accessibility(
    graph: RoadGraph,
    villages,
    facilities,
    *,
    direction: Direction = "to_facility",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    access_speed_kmh: float | None = None,
    village_snap: SnapResult | None = None,
    facility_snap: SnapResult | None = None,
) -> pd.DataFrame:
    """Nearest facility and travel minutes for every village.

    Parameters
    ----------
    graph : RoadGraph
    villages, facilities : geopandas.GeoDataFrame
    direction : {"to_facility", "from_facility"}
        Trip direction (matters only with one-way roads); villagers travelling to
        the facility by default.

    Returns
    -------
    DataFrame
        One row per village in input order: ``village_id``, ``village_name``,
        ``facility_id``, ``facility_name``, ``minutes`` (inf when unreachable) and
        ``reason`` (``""`` when reachable; a snap reason code for the village,
        ``"no_route"``, or ``"no_facility"`` when no facility is on the network).
    """
    sv = village_snap if village_snap is not None else snap_points(graph, villages, max_snap_m=max_snap_m, access_speed_kmh=access_speed_kmh)
    sf = facility_snap if facility_snap is not None else snap_points(graph, facilities, max_snap_m=max_snap_m, access_speed_kmh=access_speed_kmh)
    minutes, nearest = nearest_times(graph, sv, sf, direction=direction)
    found = nearest >= 0
    reason = point_reasons(graph, sv, sf, minutes, direction=direction)
    fac_id = np.full(len(sv), None, dtype=object)
    fac_name = np.full(len(sv), None, dtype=object)
    fac_id[found] = sf.ids[nearest[found]]
    fac_name[found] = sf.names[nearest[found]]
    return pd.DataFrame(
        {
            "village_id": sv.ids,
            "village_name": sv.names,
            "facility_id": fac_id,
            "facility_name": fac_name,
            "minutes": minutes,
            "reason": reason,
        }
    )
