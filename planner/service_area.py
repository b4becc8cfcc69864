"""Service areas (isochrones) around facilities, built from the reached road network.

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
"""
from __future__ import annotations

from typing import Sequence

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.ops import substring

from planner.graph import RoadGraph
from planner.snap import DEFAULT_MAX_SNAP_M, SnapResult, snap_points
from planner.travel import Direction, _augmented_graph

__all__ = ["service_areas"]

OUTPUT_CRS = "EPSG:4326"


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
    lines = shapely.simplify(graph.edge_geometry, buffer_m / 20.0, preserve_topology=False)
    rows = []
    for k, f in enumerate(fi):
        d = dist[k]
        e0 = int(sf.edge[f])
        for c in cutoffs:
            r_u = (c - d[u]) / t
            r_v = (c - d[v]) / t
            # the side you may not drive from on a one-way edge reaches nothing
            if direction == "from_facility":
                r_v = np.where(oneway, -np.inf, r_v)
            else:
                r_u = np.where(oneway, -np.inf, r_u)
            full, part_u, part_v = _intervals(r_u, r_v)
            pieces = list(lines[full])
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
            geom = (shapely.union_all(shapely.buffer(np.asarray(pieces, dtype=object), buffer_m, quad_segs=4))
                    if pieces else shapely.Polygon())
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
