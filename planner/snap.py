"""Snap points (villages, facilities) onto the road graph.

A point is attached to the nearest position *on an edge* (not the nearest node),
so a village halfway along a 10 km county road starts halfway along it.  The trip
from the point is then: off-road leg at the access speed to the snap position,
plus the fraction of the edge's travel time to whichever end is driven to.

Points that cannot be attached are kept with a reason code, never dropped:

``"missing_geometry"``
    empty or null geometry;
``"too_far_from_road"``
    no road within ``max_snap_m`` (``network_m`` holds the distance to the nearest
    road the point could use);
``"disconnected_component"``
    the only roads within ``max_snap_m`` are stray fragments that connect to
    nothing (``fragment_m`` and ``network_m`` hold both distances).

Access-controlled roads (expressways, :attr:`RoadGraph.edge_access_controlled`) are
never snapped onto: a village beside an expressway walks to the nearest ordinary
road.  Points snap onto *major* components only (:meth:`RoadGraph.major_components`:
the largest network, and any other network of real size such as an island part of a
county); a fragment nearer than that road is a data warning
(:meth:`SnapResult.warnings`), not a reason to call the point unreachable.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from planner.graph import RoadGraph

__all__ = [
    "REASON_DISCONNECTED",
    "REASON_MISSING_GEOMETRY",
    "REASON_TOO_FAR",
    "SnapResult",
    "point_ids",
    "snap_points",
]

REASON_MISSING_GEOMETRY = "missing_geometry"
REASON_TOO_FAR = "too_far_from_road"
REASON_DISCONNECTED = "disconnected_component"

#: The one default for how far a point may lie from the nearest road (m): a village more
#: than 1 km from every road in the county's data is, in practice, a village whose road is
#: missing or impassable (路不通) — reported as unreachable, not walked.
DEFAULT_MAX_SNAP_M = 1000.0


@functools.lru_cache(maxsize=32)
def _transformer(src: CRS, dst: CRS):
    from pyproj import Transformer

    return Transformer.from_crs(src, dst, always_xy=True)


def reproject_geometries(geoseries, crs) -> np.ndarray:
    """Geometries of a GeoSeries in ``crs`` as an array, with a cached transformer.

    Same result as ``geoseries.to_crs(crs).to_numpy()``; building a pyproj
    transformer costs ~0.1-0.5 s (CGCS2000 zones), which every snap and every
    service-area answer would otherwise pay again.
    """
    src, dst = CRS.from_user_input(geoseries.crs), CRS.from_user_input(crs)
    geoms = geoseries.to_numpy()
    if src == dst:
        return geoms
    return shapely.transform(geoms, lambda xy: np.column_stack(_transformer(src, dst).transform(xy[:, 0], xy[:, 1])))


def point_ids(gdf, *, id_column: str | None = None) -> np.ndarray:
    """Identifier per row: ``id_column``, else ``id``, else ``code``, else the index."""
    if id_column is not None:
        if id_column not in gdf.columns:
            msg = f"id column {id_column!r} not in layer (columns: {list(gdf.columns)})"
            raise ValueError(msg)
        return np.array([str(x) for x in gdf[id_column].tolist()], dtype=object)
    for col in ("id", "code"):
        if col in gdf.columns:
            return np.array([str(x) for x in gdf[col].tolist()], dtype=object)
    return np.array([str(x) for x in gdf.index.tolist()], dtype=object)


def _names(gdf) -> np.ndarray:
    if "name" in gdf.columns:
        return gdf["name"].astype(object).where(gdf["name"].notna(), None).to_numpy(dtype=object)
    return np.full(len(gdf), None, dtype=object)


@dataclass(frozen=True, eq=False)
class SnapResult:
    """Where each point joins the road graph.

    Attributes
    ----------
    ids, names : ndarray of object
    edge : ndarray of int64
        Edge the point is snapped to (-1 when not snapped at all).
    fraction : ndarray of float
        Position along the edge from ``u`` (0) to ``v`` (1), by length.
    point_xy : ndarray, shape (n, 2)
        The point itself in the graph CRS (NaN when missing).
    snap_xy : ndarray, shape (n, 2)
        Snap position in the graph CRS (NaN when not snapped).
    access_m, access_min : ndarray of float
        Off-road leg length and time.  For "too_far_from_road" points ``access_m``
        still holds the distance to the nearest road, for the report.
    reason : ndarray of object
        ``""`` when usable, else a reason code (see module docstring).
    network_m : ndarray of float
        Distance to the nearest road the point may snap onto (NaN when the
        graph has none or the geometry is missing).
    fragment_m : ndarray of float
        Distance to a stray fragment nearer than that road (NaN when none).
    fragment_edge : ndarray of int64
        That fragment's nearest edge (-1 when none).
    fragment_xy : ndarray, shape (n, 2)
        Nearest position on the fragment (NaN when none).
    fragment_road_id : ndarray of object
        ``id`` of the fragment's road (None when none).
    """

    ids: np.ndarray
    names: np.ndarray
    edge: np.ndarray
    fraction: np.ndarray
    point_xy: np.ndarray
    snap_xy: np.ndarray
    access_m: np.ndarray
    access_min: np.ndarray
    reason: np.ndarray
    crs: CRS
    max_snap_m: float
    access_speed_kmh: float
    network_m: np.ndarray | None = None
    fragment_m: np.ndarray | None = None
    fragment_edge: np.ndarray | None = None
    fragment_xy: np.ndarray | None = None
    fragment_road_id: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        defaults = {"network_m": lambda: self.access_m.copy(), "fragment_m": lambda: np.full(n, np.nan),
                    "fragment_edge": lambda: np.full(n, -1, dtype=np.int64),
                    "fragment_xy": lambda: np.full((n, 2), np.nan),
                    "fragment_road_id": lambda: np.full(n, None, dtype=object)}
        for name, make in defaults.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, make())

    def lonlat(self, xy: np.ndarray) -> np.ndarray:
        """Graph-CRS coordinates as WGS84 longitude/latitude (for reports)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if not len(xy):
            return xy
        lon, lat = _transformer(CRS.from_user_input(self.crs), CRS.from_epsg(4326)).transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    def warnings(self) -> list[dict[str, Any]]:
        """Data warnings: points with a stray road fragment nearer than the network.

        One dict per such point: ``code`` (``"fragment_nearer"`` when the point was
        snapped past the fragment onto the network, ``"fragment_only"`` when the
        fragment is all there is within reach), ``id``, ``name``,
        ``fragment_road_id``, ``fragment_lonlat`` (nearest position on the fragment,
        WGS84), ``fragment_m`` and ``network_m`` (distances in metres; ``network_m``
        None when there is no road to snap onto at all).
        """
        idx = np.flatnonzero(np.isfinite(self.fragment_m))
        if not len(idx):
            return []
        where = self.lonlat(self.fragment_xy[idx])

        def num(x):
            return round(float(x), 1) if np.isfinite(x) else None

        return [
            {
                "code": "fragment_nearer" if self.reason[i] == "" else "fragment_only",
                "id": str(self.ids[i]),
                "name": None if self.names[i] is None else str(self.names[i]),
                "fragment_road_id": None if self.fragment_road_id[i] is None else str(self.fragment_road_id[i]),
                "fragment_lonlat": [round(float(where[k, 0]), 6), round(float(where[k, 1]), 6)],
                "fragment_m": num(self.fragment_m[i]),
                "network_m": num(self.network_m[i]),
            }
            for k, i in enumerate(idx)
        ]

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def ok(self) -> np.ndarray:
        """True for points attached to a road network (a major component)."""
        return self.reason == ""

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "id": self.ids,
                "name": self.names,
                "edge": self.edge,
                "fraction": self.fraction,
                "snap_x": self.snap_xy[:, 0],
                "snap_y": self.snap_xy[:, 1],
                "access_m": self.access_m,
                "access_min": self.access_min,
                "reason": self.reason,
                "network_m": self.network_m,
                "fragment_m": self.fragment_m,
            }
        )

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "crs": self.crs.to_string(),
            "max_snap_m": float(self.max_snap_m),
            "access_speed_kmh": float(self.access_speed_kmh),
            "points": [
                {
                    "id": str(self.ids[i]),
                    "name": None if self.names[i] is None else str(self.names[i]),
                    "edge": int(self.edge[i]),
                    "fraction": num(self.fraction[i]),
                    "access_m": num(self.access_m[i]),
                    "access_min": num(self.access_min[i]),
                    "reason": str(self.reason[i]),
                    "network_m": num(self.network_m[i]),
                    "fragment_m": num(self.fragment_m[i]),
                }
                for i in range(len(self.ids))
            ],
            "warnings": self.warnings(),
        }


def _estimate_snap(estimate, geoms, ids, names, max_snap_m, speed) -> SnapResult:
    n = len(geoms)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    point_xy = np.full((n, 2), np.nan)
    if (~missing).any():
        pts = geoms[~missing]
        not_point = shapely.get_type_id(pts) != 0
        pts = np.where(not_point, shapely.point_on_surface(pts), pts)
        point_xy[~missing] = shapely.get_coordinates(shapely.force_2d(pts))
    reason = np.where(missing, REASON_MISSING_GEOMETRY, "").astype(object)
    zero = np.where(missing, np.nan, 0.0)
    return SnapResult(ids=ids, names=names, edge=np.full(n, -1, dtype=np.int64), fraction=np.full(n, np.nan),
                      point_xy=point_xy, snap_xy=point_xy.copy(), access_m=zero, access_min=zero.copy(),
                      reason=reason, crs=estimate.crs, max_snap_m=float(max_snap_m), access_speed_kmh=speed)


def _snap_trees(graph: RoadGraph, min_component_km: float, min_component_share: float):
    """Per graph and fragment rule: (network edges, their tree, fragment edges, their tree)."""
    cache = graph.__dict__.setdefault("_snap_trees", {})
    min_component_km = graph.min_component_km if min_component_km is None else min_component_km
    min_component_share = graph.min_component_share if min_component_share is None else min_component_share
    key = (float(min_component_km), float(min_component_share))
    hit = cache.get(key)
    if hit is None:
        usable = ~graph.edge_access_controlled
        # a scenario's graph: the base data's fragments, not the pieces its closures cut off
        on_major = graph.edge_on_network(min_component_km=min_component_km, min_component_share=min_component_share)
        network = np.flatnonzero(usable & on_major)
        fragments = np.flatnonzero(usable & ~on_major)
        hit = (network, shapely.STRtree(graph.edge_geometry[network]),
               fragments, shapely.STRtree(graph.edge_geometry[fragments]))
        cache[key] = hit
    return hit


def _nearest(tree, candidates: np.ndarray, pts: np.ndarray, n: int):
    """Nearest candidate edge and distance for each of ``pts`` (-1/inf when none)."""
    edge = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.inf)
    if len(candidates) and n:
        (qi, ei), d = tree.query_nearest(pts, return_distance=True, all_matches=False)
        edge[qi] = candidates[ei]
        dist[qi] = d
    return edge, dist


def snap_points(
    graph: RoadGraph,
    points_gdf,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    access_speed_kmh: float | None = None,
    id_column: str | None = None,
    main_component_only: bool = True,
    min_component_km: float | None = None,
    min_component_share: float | None = None,
) -> SnapResult:
    """Attach points to the nearest position on a road edge they may join.

    Parameters
    ----------
    graph : RoadGraph
    points_gdf : geopandas.GeoDataFrame
        Points with a CRS; polygons and lines use their representative point.
    max_snap_m : float
        Farther than this from every usable road means "too_far_from_road"
        (default 2 km: a walk of ~25 min at 5 km/h, beyond which a village is not
        served by the road data we have).
    access_speed_kmh : float, optional
        Speed of the off-road leg; defaults to ``graph.access_speed_kmh``.
    id_column : str, optional
        Identifier column (default ``id``, then ``code``, then the index).
    main_component_only : bool
        True (default): snap onto major components only
        (:meth:`RoadGraph.major_components`), skipping nearer stray fragments,
        which are reported in ``fragment_*`` and :meth:`SnapResult.warnings`.
        False: snap onto the nearest road of any component and report points
        on a fragment as "disconnected_component" (the old behaviour).
    min_component_km, min_component_share : float, optional
        The fragment rule, see :meth:`RoadGraph.major_components` (default: the
        graph's own, set when it was built).

    Returns
    -------
    SnapResult

    Raises
    ------
    ValueError
        Points without a CRS, a negative ``max_snap_m`` or a non-positive speed.
    """
    if points_gdf.crs is None:
        msg = "points layer has no CRS; set one (e.g. EPSG:4326) before snapping"
        raise ValueError(msg)
    if not max_snap_m >= 0:
        msg = f"max_snap_m must be >= 0, got {max_snap_m}"
        raise ValueError(msg)
    speed = graph.access_speed_kmh if access_speed_kmh is None else float(access_speed_kmh)
    if not speed > 0:
        msg = f"access_speed_kmh must be positive, got {speed}"
        raise ValueError(msg)
    ids = point_ids(points_gdf, id_column=id_column)
    names = _names(points_gdf)
    n = len(points_gdf)

    geoms = reproject_geometries(points_gdf.geometry, graph.crs)
    from planner.estimate import is_estimate

    if is_estimate(graph):  # no roads: every located point is "on" the straight-line estimate
        return _estimate_snap(graph, geoms, ids, names, max_snap_m, speed)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    pts = np.full(n, None, dtype=object)
    is_point = ~missing & (shapely.get_type_id(np.where(missing, None, geoms)) == 0)
    pts[is_point] = geoms[is_point]
    other = ~missing & ~is_point
    if other.any():
        pts[other] = shapely.point_on_surface(geoms[other])
    pts = shapely.force_2d(pts)

    point_xy = np.full((n, 2), np.nan)
    if (~missing).any():
        point_xy[~missing] = shapely.get_coordinates(pts[~missing])
    edge = np.full(n, -1, dtype=np.int64)
    fraction = np.full(n, np.nan)
    snap_xy = np.full((n, 2), np.nan)
    access_m = np.full(n, np.nan)
    network_m = np.full(n, np.nan)
    fragment_m = np.full(n, np.nan)
    fragment_edge = np.full(n, -1, dtype=np.int64)
    fragment_xy = np.full((n, 2), np.nan)
    fragment_road_id = np.full(n, None, dtype=object)
    reason = np.full(n, "", dtype=object)
    reason[missing] = REASON_MISSING_GEOMETRY

    valid = np.flatnonzero(~missing)
    if len(valid):
        net_edges, net_tree, frag_edges, frag_tree = _snap_trees(graph, min_component_km, min_component_share)
        if not main_component_only:  # every component is a candidate; fragments flagged after
            net_edges = np.flatnonzero(~graph.edge_access_controlled)
            net_tree = shapely.STRtree(graph.edge_geometry[net_edges])
            frag_edges = net_edges[:0]
        e_net, d_net = _nearest(net_tree, net_edges, pts[valid], len(valid))
        e_frag, d_frag = _nearest(frag_tree, frag_edges, pts[valid], len(valid))
        network_m[valid] = np.where(np.isfinite(d_net), d_net, np.nan)
        snapped = d_net <= max_snap_m
        # a fragment matters when it is nearer than the road taken (or than the cutoff)
        frag_near = (d_frag < d_net) & (d_frag <= max_snap_m)
        take_frag = ~snapped & frag_near
        chosen = np.where(snapped, e_net, np.where(take_frag, e_frag, -1))
        hit = valid[chosen >= 0]
        edge[hit] = chosen[chosen >= 0]
        access_m[valid] = np.where(snapped, d_net, np.where(take_frag, d_frag, d_net))
        access_m[valid[~np.isfinite(access_m[valid])]] = np.nan
        lines = graph.edge_geometry[edge[hit]]
        fraction[hit] = shapely.line_locate_point(lines, pts[hit], normalized=True)
        snap_xy[hit] = shapely.get_coordinates(shapely.line_interpolate_point(lines, fraction[hit], normalized=True))
        reason[valid[~snapped & ~take_frag]] = REASON_TOO_FAR
        reason[valid[take_frag]] = REASON_DISCONNECTED
        fi = valid[frag_near]
        if len(fi):
            fe = e_frag[frag_near]
            fragment_m[fi] = d_frag[frag_near]
            fragment_edge[fi] = fe
            on_frag = shapely.line_interpolate_point(
                graph.edge_geometry[fe], shapely.line_locate_point(graph.edge_geometry[fe], pts[fi]))
            fragment_xy[fi] = shapely.get_coordinates(on_frag)
            fragment_road_id[fi] = graph.edge_road_id[fe]
        if not main_component_only and len(hit):
            major = graph.major_components(min_component_km=min_component_km,
                                           min_component_share=min_component_share)
            off_main = hit[~major[graph.edge_component[edge[hit]]]]
            reason[off_main] = REASON_DISCONNECTED
    access_min = access_m / (speed * 1000.0 / 60.0)
    return SnapResult(
        ids=ids,
        names=names,
        edge=edge,
        fraction=fraction,
        point_xy=point_xy,
        snap_xy=snap_xy,
        access_m=access_m,
        access_min=access_min,
        reason=reason,
        crs=graph.crs,
        max_snap_m=float(max_snap_m),
        access_speed_kmh=speed,
        network_m=network_m,
        fragment_m=fragment_m,
        fragment_edge=fragment_edge,
        fragment_xy=fragment_xy,
        fragment_road_id=fragment_road_id,
    )
