"""Service areas (isochrones) around facilities, built from the reached road network.

A service area is the set of places that coverage calls covered: a place ``p`` is
inside the ``t``-minute area when, snapped like a village (onto its nearest road it
may join, :func:`planner.snap.snap_points`: major components, no expressways), its
walk to that road at the access speed plus the drive from there reaches the facility
within ``t``::

    T(p) = d(p, road) / v_walk + tau(proj(p)) <= t   and   d(p, road) <= max_snap_m

So the remaining walking time around every reached edge (partial edges included)
makes the area, and a village across a river is inside only when *its own* road
gets there in time: the polygon never jumps from a reached road to the other bank's
road, which coverage would reach only over the bridge.

Construction
------------
``T`` is evaluated on a square lattice over the network (``grid_m`` apart, about
1.5 million lattice points for a county; the nearest road, position along it and
distance of every lattice point are computed once per graph and kept, like the
buffers before).  Per facility one Dijkstra search gives the node times; ``tau`` at
every lattice point's road position follows from them (the facility's own edge
driven directly), and the polygon of ``T <= t`` is traced with marching squares
(:mod:`contourpy`), cropped to the reached part of the lattice.  Larger cutoffs
contour the same field, so the areas nest exactly.

Accuracy: the boundary is exact up to the lattice spacing (``T`` is interpolated
linearly between lattice points; where ``T`` jumps, between two roads or at
``max_snap_m``, the boundary lies within one spacing of the true one).
"""
from __future__ import annotations

import threading
import weakref
from typing import Sequence

import geopandas as gpd
import numpy as np
import shapely
from scipy.sparse.csgraph import dijkstra

from planner.graph import RoadGraph
from planner.snap import DEFAULT_MAX_SNAP_M, SnapResult, _snap_trees, reproject_geometries, snap_points
from planner.travel import Direction, _augmented_graph, point_reasons

__all__ = ["prepare_service_areas", "service_areas"]

OUTPUT_CRS = "EPSG:4326"
#: Lattice points per graph the spacing aims at (memory ~40 bytes each).
GRID_POINTS = 1_500_000
#: Finest and coarsest lattice spacing (metres).
MIN_GRID_M, MAX_GRID_M = 5.0, 100.0
#: Stand-in for "not reached" in the contoured field (minutes; far above any cutoff).
_FAR = 1e6


class _Lattice:
    """Lattice points within ``max_snap_m`` of a snappable road, with their snap."""

    def __init__(self, graph: RoadGraph, max_snap_m: float, grid_m: float | None):
        net_edges = _snap_trees(graph, None, None)[0]
        self.max_snap_m = max_snap_m
        if not len(net_edges):
            self.grid_m, self.x, self.y = 1.0, np.zeros(1), np.zeros(1)
            self.flat = self.row = self.col = np.zeros(0, dtype=np.int64)
            self.edge = np.zeros(0, dtype=np.int64)
            self.fraction = self.dist = np.zeros(0)
            return
        lo = shapely.bounds(graph.edge_geometry[net_edges]).min(axis=0)[:2] - max_snap_m
        hi = shapely.bounds(graph.edge_geometry[net_edges]).max(axis=0)[2:] + max_snap_m
        if grid_m is None:
            grid_m = float(np.clip(np.sqrt(np.prod(hi - lo) / GRID_POINTS), MIN_GRID_M, MAX_GRID_M))
        self.grid_m = float(grid_m)
        self.x = np.arange(lo[0], hi[0] + grid_m, grid_m)
        self.y = np.arange(lo[1], hi[1] + grid_m, grid_m)
        nx_, ny_ = len(self.x), len(self.y)
        # Nearest road by a Euclidean distance transform over points every half spacing
        # along the roads (a k-d tree or STRtree query is 10-20x slower for a million
        # lattice points), then the exact distance and position on that road.
        lines = shapely.segmentize(graph.edge_geometry[net_edges], grid_m / 2.0)
        dense, which = shapely.get_coordinates(lines, return_index=True)
        from scipy import ndimage

        col = np.clip(np.rint((dense[:, 0] - self.x[0]) / grid_m).astype(np.int64), 0, nx_ - 1)
        row = np.clip(np.rint((dense[:, 1] - self.y[0]) / grid_m).astype(np.int64), 0, ny_ - 1)
        seed = np.full((ny_, nx_), -1, dtype=np.int64)
        seed[row, col] = np.arange(len(dense))
        d_px, (ri, ci) = ndimage.distance_transform_edt(seed < 0, return_indices=True)
        cand = np.flatnonzero(d_px.ravel() * grid_m <= max_snap_m + 2 * grid_m)
        nearest = seed[ri.ravel()[cand], ci.ravel()[cand]]
        del d_px, ri, ci
        yy, xx = np.divmod(cand, nx_)
        grid_xy = np.column_stack([self.x[xx], self.y[yy]])
        j = nearest
        p = grid_xy
        seg = np.hypot(*np.diff(dense, axis=0).T)
        same_line = which[1:] == which[:-1]
        seg = np.where(same_line, seg, 0.0)
        cum = np.r_[0.0, np.cumsum(seg)]
        start = np.r_[True, ~same_line]
        line_start = np.maximum.accumulate(np.where(start, cum, 0.0))
        along0 = cum - line_start  # length along its line up to each dense point
        line_len = np.bincount(which, weights=np.r_[seg, 0.0] * np.r_[same_line, False], minlength=len(lines))
        best_d = np.full(len(cand), np.inf)
        best_along = np.zeros(len(cand))
        # (the seed is nearest to within a spacing, so a road picked wrongly is one whose
        # distance differs by less than that: only lattice points beside the border
        # between two roads' catchments, within the stated accuracy)
        n_dense = len(dense)
        # the nearest point of the road lies on a segment next to the nearest dense point
        for lo in (j - 1, j):
            hi = lo + 1
            valid = (lo >= 0) & (hi < n_dense)
            lo_c, hi_c = np.clip(lo, 0, n_dense - 1), np.clip(hi, 0, n_dense - 1)
            valid &= which[lo_c] == which[hi_c]
            A, B = dense[lo_c], dense[hi_c]
            AB = B - A
            L2 = np.einsum("ij,ij->i", AB, AB)
            t = np.clip(np.einsum("ij,ij->i", p - A, AB) / np.where(L2 > 0, L2, 1.0), 0.0, 1.0)
            q = A + AB * t[:, None]
            d = np.hypot(*(p - q).T)
            better = valid & (d < best_d)
            best_d = np.where(better, d, best_d)
            best_along = np.where(better, along0[lo_c] + t * np.sqrt(L2), best_along)
        ok = best_d <= max_snap_m
        line = which[j[ok]]
        self.flat = cand[ok].astype(np.int64)
        self.row, self.col = np.divmod(self.flat, nx_)  # kept: every facility crops by them
        self.edge = net_edges[line]
        self.dist = best_d[ok]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.fraction = np.clip(np.where(line_len[line] > 0, best_along[ok] / line_len[line], 0.0), 0.0, 1.0)


_lattices: weakref.WeakKeyDictionary[RoadGraph, dict] = weakref.WeakKeyDictionary()
_lattices_lock = threading.Lock()


def _lattice_for(graph: RoadGraph, max_snap_m: float, grid_m: float | None) -> _Lattice:
    key = (float(max_snap_m), None if grid_m is None else float(grid_m))
    with _lattices_lock:
        per_graph = _lattices.setdefault(graph, {})
        hit = per_graph.get(key)
    if hit is None:
        hit = _Lattice(graph, float(max_snap_m), grid_m)
        with _lattices_lock:
            hit = per_graph.setdefault(key, hit)
    return hit


def prepare_service_areas(graph: RoadGraph, *, max_snap_m: float = DEFAULT_MAX_SNAP_M,
                          grid_m: float | None = None) -> None:
    """Snap the service-area lattice now, so the first request is fast.

    A server calls this in a background thread at start (with the workspace's
    ``max_snap_m``); without it the first request pays for it (a few seconds on a county).
    """
    _lattice_for(graph, max_snap_m, grid_m)


def _contour(gen, level: float):
    """Polygon of ``z <= level`` from a :mod:`contourpy` generator (holes kept)."""
    points, offsets = gen.filled(-np.inf, level)
    polys = []
    for pts, off in zip(points, offsets):
        rings = [pts[off[i]:off[i + 1]] for i in range(len(off) - 1)]
        rings = [r for r in rings if len(r) >= 4]
        if rings:
            polys.append(shapely.Polygon(rings[0], rings[1:]))
    if not polys:
        return shapely.Polygon()
    # marching squares gives disjoint outer rings with their holes: valid already, but
    # rings touching at a saddle point are made valid rather than trusted
    return shapely.make_valid(shapely.multipolygons(polys) if len(polys) > 1 else polys[0])


def _tau_ends(graph: RoadGraph, d: np.ndarray, edge: np.ndarray, s: np.ndarray, direction: str,
              own_edge: int, own_f: float, own_access: float) -> np.ndarray:
    """Driving minutes between position ``s`` on ``edge`` and the facility (node times ``d``)."""
    u, v = graph.edge_u[edge], graph.edge_v[edge]
    t = graph.edge_minutes[edge]
    one = graph.edge_oneway[edge]
    if direction == "to_facility":  # from s: along the edge to v always, back to u on two-way roads
        tau = np.minimum((1.0 - s) * t + d[v], np.where(one, np.inf, s * t + d[u]))
        delta = own_f - s  # the facility ahead of s in the digitised direction
    else:
        tau = np.minimum(d[u] + s * t, np.where(one, np.inf, d[v] + (1.0 - s) * t))
        delta = s - own_f
    if own_edge >= 0:
        on_own = edge == own_edge
        direct = np.where((delta >= 0) | ~one, own_access + np.abs(delta) * t, np.inf)
        tau = np.where(on_own, np.minimum(tau, direct), tau)
    return tau


def service_areas(
    graph: RoadGraph,
    facilities,
    *,
    cutoffs_min: Sequence[float] = (15, 30, 60),
    dissolve: bool = False,
    direction: Direction = "to_facility",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    access_speed_kmh: float | None = None,
    facility_snap: SnapResult | None = None,
    grid_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Polygons of the area within each cutoff of each facility, as coverage sees it.

    Parameters
    ----------
    graph : RoadGraph
    facilities : geopandas.GeoDataFrame
    cutoffs_min : sequence of float
        Travel-time cutoffs in minutes.
    dissolve : bool
        One row per cutoff (union over facilities) instead of one per facility×cutoff.
    direction : {"to_facility", "from_facility"}
        "to_facility" (default, like coverage): the area from which the facility
        is reached within the cutoff; "from_facility": the area reached from it.
        They differ only with one-way roads.
    max_snap_m : float
        Farthest walk to a road (as in :func:`planner.snap.snap_points`): the
        polygon never reaches farther from a road than this.
    access_speed_kmh : float, optional
        Walking speed off the road (default: the graph's).
    grid_m : float, optional
        Lattice spacing in metres (default: about 1.5 million points over the
        network's extent, between 5 and 100 m); the polygon's accuracy.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326.  Per facility: ``facility_id``, ``facility_name``,
        ``cutoff_min``, ``area_km2``, ``reason`` (``""``, or the facility's snap
        reason by :func:`planner.travel.point_reasons`, ``scenario_blocked`` on a
        scenario's graph, in which case the geometry is empty).  Dissolved: ``cutoff_min``,
        ``n_facilities``, ``area_km2``.

    Raises
    ------
    ValueError
        Empty or negative cutoffs, an unknown direction.

    Notes
    -----
    A village ``v`` lies inside the ``t``-minute polygon of facility ``f`` exactly
    when :func:`planner.coverage.coverage_summary` finds ``f`` within ``t`` minutes
    of ``v``, up to the lattice spacing (see the module docstring).
    """
    cutoffs = sorted(float(c) for c in cutoffs_min)
    if not cutoffs or any(not c >= 0 for c in cutoffs):
        msg = f"cutoffs_min must be non-empty and >= 0, got {cutoffs_min!r}"
        raise ValueError(msg)
    if direction not in ("to_facility", "from_facility"):
        msg = f"direction must be 'to_facility' or 'from_facility', got {direction!r}"
        raise ValueError(msg)
    sf = facility_snap if facility_snap is not None else snap_points(graph, facilities, max_snap_m=max_snap_m, access_speed_kmh=access_speed_kmh)
    from planner.estimate import is_estimate

    if is_estimate(graph):  # no roads: circles of the estimated reach, labelled by the caller
        rows = [(f, c, shapely.buffer(shapely.points(sf.point_xy[f]), c * graph.metres_per_min, quad_segs=16))
                for f in np.flatnonzero(sf.ok) for c in cutoffs]
        return _frame(graph, sf, cutoffs, rows, dissolve)
    walk_m_per_min = sf.access_speed_kmh * 1000.0 / 60.0
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
    lattice = _lattice_for(graph, max_snap_m, grid_m)
    nx_, ny_ = len(lattice.x), len(lattice.y)
    rows = []
    for k, f in enumerate(fi):
        d = dist[k]
        own = (int(sf.edge[f]), float(sf.fraction[f]), float(sf.access_min[f]))
        # only lattice points on edges the search reached (an end within the largest
        # cutoff, or the facility's own edge) can have a finite time: the rest stay _FAR
        reached = np.isfinite(d[graph.edge_u]) | np.isfinite(d[graph.edge_v])
        if own[0] >= 0:
            reached[own[0]] = True
        pts = np.flatnonzero(reached[lattice.edge])
        time_min = lattice.dist[pts] / walk_m_per_min + _tau_ends(graph, d, lattice.edge[pts], lattice.fraction[pts],
                                                                  direction, *own)
        inside = time_min <= cutoffs[-1]
        previous = None
        if not inside.any():
            rows.extend((f, c, shapely.Polygon()) for c in cutoffs)
            continue
        # crop the lattice to the reached part (plus a margin of one point for the contour)
        iy, ix = lattice.row[pts[inside]], lattice.col[pts[inside]]
        y0, y1 = max(iy.min() - 1, 0), min(iy.max() + 2, ny_)
        x0, x1 = max(ix.min() - 1, 0), min(ix.max() + 2, nx_)
        field = np.full((y1 - y0, x1 - x0), _FAR)
        ly, lx = lattice.row[pts], lattice.col[pts]
        sel = (ly >= y0) & (ly < y1) & (lx >= x0) & (lx < x1)
        field[ly[sel] - y0, lx[sel] - x0] = np.minimum(time_min[sel], _FAR)
        import contourpy

        gen = contourpy.contour_generator(lattice.x[x0:x1], lattice.y[y0:y1], field, name="serial",
                                          fill_type=contourpy.FillType.OuterOffset)
        for c in cutoffs:
            geom = _contour(gen, c)
            if previous is not None and not previous.is_empty:
                geom = shapely.union(geom, previous)  # exact nesting against float slivers
            previous = geom
            rows.append((f, c, geom))
    return _frame(graph, sf, cutoffs, rows, dissolve)


def _frame(graph, sf, cutoffs, rows, dissolve) -> gpd.GeoDataFrame:
    reached_geoms = {(f, c): g for f, c, g in rows}
    reasons = point_reasons(graph, sf)  # the one rule (a scenario's closures: scenario_blocked)
    records = []
    for f in range(len(sf)):
        for c in cutoffs:
            geom = reached_geoms.get((f, c), shapely.Polygon())
            records.append(
                {
                    "facility_id": sf.ids[f],
                    "facility_name": sf.names[f],
                    "cutoff_min": c,
                    "area_km2": float(shapely.area(geom)) / 1e6,
                    "reason": str(reasons[f]),
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
    from planner.estimate import is_estimate

    if is_estimate(graph):  # every feature says it is an estimate, and how it was made
        out["estimate"] = graph.to_dict()["note"]
    return out.set_geometry(reproject_geometries(out.geometry, OUTPUT_CRS), crs=OUTPUT_CRS)
