"""BASELINE for bench/bench_service_area.py: the buffered-lines service areas as they were before
the reached-network walking areas (kept verbatim, only for the ratio; not used by the app).

Service areas (isochrones) around facilities, built from the reached road network.

For each facility and cutoff the reached part of every edge is found exactly:
an edge whose ends are reached with time to spare is taken up to the point where
the remaining time runs out (interpolated along the edge by time, i.e. by length
at the edge's constant speed).  The reached lines are buffered into a polygon.

The buffer (``buffer_m``, default 200 m) stands for the strip a villager can
walk from the road within a few minutes (200 m ≈ 2.4 min at 5 km/h); it is
deliberately modest so that a polygon does not claim valleys the road never
enters.  Edge lines are simplified by ``buffer_m / 20`` before buffering (10 m
for the default; invisible at the buffer's scale, ~10x faster on dense OSM
geometry), and partial edges are cut from the *simplified* line, so the reached
line set only grows with the cutoff and a larger cutoff's polygon always
contains a smaller one's.

Speed: the union of the buffers is the cost.  Per graph and ``buffer_m`` the
buffered edges are kept, grouped in square tiles (``TILE_M``), and the union of a
tile's buffers is computed once, the first time every edge of the tile is reached,
then reused for every later facility and cutoff; only tiles at the frontier are
united edge by edge.  The polygon is the same set as the union of all piece buffers
(the grouping only changes the order of the union).
"""
from __future__ import annotations

import threading
import weakref
from typing import Sequence

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

from planner.graph import RoadGraph
from planner.snap import DEFAULT_MAX_SNAP_M, SnapResult, snap_points
from planner.travel import Direction, _augmented_graph

__all__ = ["prepare_service_areas", "service_areas"]

OUTPUT_CRS = "EPSG:4326"
#: Side of the square tiles whose buffered edges are united once and reused (metres).
#: 2 km: a 60-min area on a county network is a few hundred tiles (measured on the demo
#: county: 1, 2, 4 km tiles all ~10x faster than edge by edge; 2 km balances the frontier).
TILE_M = 2000.0


class _EdgeBuffers:
    """Buffered simplified edges of one graph, by tile, with memoised tile unions."""

    def __init__(self, graph: RoadGraph, buffer_m: float):
        self.buffer_m = buffer_m
        self.lines = shapely.simplify(graph.edge_geometry, buffer_m / 20.0, preserve_topology=False)
        self.buffers = shapely.buffer(self.lines, buffer_m, quad_segs=4)
        if len(self.lines):
            b = shapely.bounds(self.lines)
            centre = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
            _, tile = np.unique(np.floor(centre / TILE_M).astype(np.int64), axis=0, return_inverse=True)
            self.tile = tile.ravel()
        else:
            self.tile = np.zeros(0, dtype=np.int64)
        self.tile_size = np.bincount(self.tile)
        order = np.argsort(self.tile, kind="stable")
        self.tile_edges = np.split(order, np.cumsum(self.tile_size)[:-1]) if len(order) else []
        self._unions: dict[int, object] = {}
        self._lock = threading.Lock()

    def full_edge_geometries(self, full: np.ndarray) -> list:
        """Buffers covering the fully reached edges: whole tiles merged, the rest per edge."""
        idx = np.flatnonzero(full)
        if not len(idx):
            return []
        whole = np.flatnonzero(np.bincount(self.tile[idx], minlength=len(self.tile_size)) == self.tile_size)
        out = [self._tile_union(k) for k in whole]
        rest = idx[~np.isin(self.tile[idx], whole)]
        out.extend(self.buffers[rest])
        return out

    def _tile_union(self, k: int):
        with self._lock:
            hit = self._unions.get(k)
        if hit is None:
            hit = shapely.union_all(self.buffers[self.tile_edges[k]])
            with self._lock:
                self._unions[k] = hit
        return hit


_edge_buffers: "weakref.WeakKeyDictionary[RoadGraph, dict]" = weakref.WeakKeyDictionary()
_edge_buffers_lock = threading.Lock()


def _buffers_for(graph: RoadGraph, buffer_m: float) -> _EdgeBuffers:
    with _edge_buffers_lock:
        per_graph = _edge_buffers.setdefault(graph, {})
        hit = per_graph.get(buffer_m)
    if hit is None:
        hit = _EdgeBuffers(graph, buffer_m)
        with _edge_buffers_lock:
            hit = per_graph.setdefault(buffer_m, hit)
    return hit


def prepare_service_areas(graph: RoadGraph, *, buffer_m: float = 200.0) -> None:
    """Buffer every edge of ``graph`` now, so the first service-area request is fast.

    A server calls this in a background thread at start; without it the first
    request pays for buffering the whole network.
    """
    _buffers_for(graph, float(buffer_m))


def _intervals(r_u: np.ndarray, r_v: np.ndarray):
    """Reached stretches per edge from the u side ([0, r_u]) and the v side ([1 - r_v, 1])."""
    full = (r_u >= 1) | (r_v >= 1) | ((r_u > 0) & (r_v > 0) & (r_u + r_v >= 1))
    part_u = ~full & (r_u > 0)
    part_v = ~full & (r_v > 0)
    return full, part_u, part_v


def _own_edge_pieces(line, fraction: float, remaining_min: float, t: float, forward: bool, backward: bool):
    if remaining_min < 0:
        return []
    reach = remaining_min / t
    lo = max(0.0, fraction - reach) if backward else fraction
    hi = min(1.0, fraction + reach) if forward else fraction
    if hi <= lo:
        return []
    return [substring(line, lo, hi, normalized=True)]


def service_areas(
    graph: RoadGraph,
    facilities,
    *,
    cutoffs_min: Sequence[float] = (15, 30, 60),
    dissolve: bool = False,
    buffer_m: float = 200.0,
    direction: Direction = "to_facility",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    access_speed_kmh: float | None = None,
    facility_snap: SnapResult | None = None,
) -> gpd.GeoDataFrame:
    """Polygons of the area within each cutoff of each facility.

    Parameters
    ----------
    graph : RoadGraph
    facilities : geopandas.GeoDataFrame
    cutoffs_min : sequence of float
        Travel-time cutoffs in minutes.
    dissolve : bool
        One row per cutoff (union over facilities) instead of one per facility×cutoff.
    buffer_m : float
        Buffer around reached road lines (see module docstring).
    direction : {"to_facility", "from_facility"}
        "to_facility" (default, like coverage): the area from which the facility
        is reached within the cutoff; "from_facility": the area reached from it.
        They differ only with one-way roads.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326.  Per facility: ``facility_id``, ``facility_name``,
        ``cutoff_min``, ``area_km2``, ``reason`` (``""``, or the facility's snap
        reason, in which case the geometry is empty).  Dissolved: ``cutoff_min``,
        ``n_facilities``, ``area_km2``.
    """
    cutoffs = sorted(float(c) for c in cutoffs_min)
    if not cutoffs or any(not c >= 0 for c in cutoffs):
        msg = f"cutoffs_min must be non-empty and >= 0, got {cutoffs_min!r}"
        raise ValueError(msg)
    if direction not in ("to_facility", "from_facility"):
        msg = f"direction must be 'to_facility' or 'from_facility', got {direction!r}"
        raise ValueError(msg)
    if buffer_m <= 0:
        msg = f"buffer_m must be positive, got {buffer_m}"
        raise ValueError(msg)
    sf = facility_snap if facility_snap is not None else snap_points(graph, facilities, max_snap_m=max_snap_m, access_speed_kmh=access_speed_kmh)
    n = graph.n_nodes
    if direction == "from_facility":
        aug, fi, _, f_node, _ = _augmented_graph(graph, sf, None)
        search = aug
    else:
        aug, _, fi, _, f_node = _augmented_graph(graph, None, sf)
        search = aug.T.tocsr()
    dist = (
        dijkstra(search, directed=True, indices=f_node, limit=cutoffs[-1])[:, :n]
        if len(fi) else np.zeros((0, n))
    )
    u, v, t, oneway = graph.edge_u, graph.edge_v, graph.edge_minutes, graph.edge_oneway
    edge_buffers = _buffers_for(graph, buffer_m)
    lines = edge_buffers.lines
    rows = []
    for k, f in enumerate(fi):
        d = dist[k]
        e0 = int(sf.edge[f])
        previous = None
        for c in cutoffs:
            r_u = (c - d[u]) / t
            r_v = (c - d[v]) / t
            # the side you may not drive from on a one-way edge reaches nothing
            if direction == "from_facility":
                r_v = np.where(oneway, -np.inf, r_v)
            else:
                r_u = np.where(oneway, -np.inf, r_u)
            full, part_u, part_v = _intervals(r_u, r_v)
            pieces = []  # partial lines, buffered below; full edges come buffered already
            for e in np.flatnonzero(part_u):
                pieces.append(substring(lines[e], 0.0, float(r_u[e]), normalized=True))
            for e in np.flatnonzero(part_v):
                pieces.append(substring(lines[e], 1.0 - float(r_v[e]), 1.0, normalized=True))
            remaining = c - float(sf.access_min[f])
            fwd = direction == "from_facility" or not oneway[e0]
            bwd = direction == "to_facility" or not oneway[e0]
            pieces += _own_edge_pieces(lines[e0], float(sf.fraction[f]), remaining, float(t[e0]), fwd, bwd)
            if remaining >= 0:  # the off-road leg itself
                leg = shapely.linestrings([sf.point_xy[f], sf.snap_xy[f]])
                pieces.append(leg if shapely.length(leg) > 0 else shapely.points(sf.point_xy[f]))
            # union of per-piece buffers: far faster than buffering one big multi-line
            parts = edge_buffers.full_edge_geometries(full)
            if pieces:
                parts.extend(shapely.buffer(np.asarray(pieces, dtype=object), buffer_m, quad_segs=4))
            geom = shapely.union_all(np.asarray(parts, dtype=object)) if parts else shapely.Polygon()
            # A piece cut short at a bend gets a round cap whose vertices sit on the true
            # circle, a few metres outside the chord-approximated join of the full edge's
            # buffer at the next cutoff; folding the smaller area in makes nesting exact.
            if previous is not None and not previous.is_empty:
                geom = shapely.union(geom, previous)
            previous = geom
            rows.append((f, c, geom))
    reached = {(f, c): g for f, c, g in rows}
    records = []
    for f in range(len(sf)):
        for c in cutoffs:
            geom = reached.get((f, c), shapely.Polygon())
            records.append(
                {
                    "facility_id": sf.ids[f],
                    "facility_name": sf.names[f],
                    "cutoff_min": c,
                    "area_km2": float(shapely.area(geom)) / 1e6,
                    "reason": str(sf.reason[f]),
                    "geometry": geom,
                }
            )
    out = gpd.GeoDataFrame(records, geometry="geometry", crs=graph.crs) if records else gpd.GeoDataFrame(
        {"facility_id": [], "facility_name": [], "cutoff_min": [], "area_km2": [], "reason": []},
        geometry=gpd.GeoSeries([], crs=graph.crs),
    )
    if dissolve:
        merged = []
        for c in cutoffs:
            sel = out[(out["cutoff_min"] == c) & (out["reason"] == "")]
            geom = shapely.union_all(sel.geometry.to_numpy()) if len(sel) else shapely.Polygon()
            merged.append({"cutoff_min": c, "n_facilities": int(len(sel)), "area_km2": float(shapely.area(geom)) / 1e6,
                           "geometry": geom})
        out = gpd.GeoDataFrame(merged, geometry="geometry", crs=graph.crs)
    return out.to_crs(OUTPUT_CRS)
