"""Snap points (villages, facilities) onto the road graph.

A point is attached to the nearest position *on an edge* (not the nearest node),
so a village halfway along a 10 km county road starts halfway along it.  The trip
from the point is then: off-road leg at the access speed to the snap position,
plus the fraction of the edge's travel time to whichever end is driven to.

Points that cannot be attached are kept with a reason code, never dropped:

``"missing_geometry"``
    empty or null geometry;
``"too_far_from_road"``
    no edge within ``max_snap_m``;
``"disconnected_component"``
    the nearest edge belongs to a road fragment not connected to the main
    network (weak connectivity).
"""
from __future__ import annotations

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

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def ok(self) -> np.ndarray:
        """True for points attached to the main network."""
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
                }
                for i in range(len(self.ids))
            ],
        }


def snap_points(
    graph: RoadGraph,
    points_gdf,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    access_speed_kmh: float | None = None,
    id_column: str | None = None,
    main_component_only: bool = False,
) -> SnapResult:
    """Attach points to the nearest position on a road edge.

    Parameters
    ----------
    graph : RoadGraph
    points_gdf : geopandas.GeoDataFrame
        Points with a CRS; polygons and lines use their representative point.
    max_snap_m : float
        Farther than this from every road means "too_far_from_road" (default 2 km:
        a walk of ~25 min at 5 km/h, beyond which a village is not served by the
        road data we have).
    access_speed_kmh : float, optional
        Speed of the off-road leg; defaults to ``graph.access_speed_kmh``.
    id_column : str, optional
        Identifier column (default ``id``, then ``code``, then the index).
    main_component_only : bool
        Snap only to edges of the main component (skipping closer fragments)
        instead of reporting "disconnected_component".

    Returns
    -------
    SnapResult
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

    geoms = points_gdf.geometry.to_crs(graph.crs).to_numpy()
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
    reason = np.full(n, "", dtype=object)
    reason[missing] = REASON_MISSING_GEOMETRY

    valid = np.flatnonzero(~missing)
    if graph.n_edges == 0:
        reason[valid] = REASON_TOO_FAR
        valid = valid[:0]
    if len(valid):
        if main_component_only:
            candidates = np.flatnonzero(graph.edge_component == graph.main_component)
            tree = shapely.STRtree(graph.edge_geometry[candidates])
        else:
            candidates = None
            tree = graph.edge_tree
        (qi, ei), dist = tree.query_nearest(
            pts[valid], max_distance=max_snap_m, return_distance=True, all_matches=False
        )
        if candidates is not None:
            ei = candidates[ei]
        hit = valid[qi]
        edge[hit] = ei
        access_m[hit] = dist
        lines = graph.edge_geometry[ei]
        fraction[hit] = shapely.line_locate_point(lines, pts[hit], normalized=True)
        snap_xy[hit] = shapely.get_coordinates(shapely.line_interpolate_point(lines, fraction[hit], normalized=True))
        far = np.setdiff1d(valid, hit)
        reason[far] = REASON_TOO_FAR
        if len(far):  # how far, for the report (unbounded search, only for these few)
            (fq, _), fdist = graph.edge_tree.query_nearest(pts[far], return_distance=True, all_matches=False)
            access_m[far[fq]] = fdist
        off_main = hit[graph.edge_component[edge[hit]] != graph.main_component]
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
    )
