"""Seeded synthetic road networks and points, for tests and benchmarks.

A jittered grid with a road hierarchy: every 32nd grid line is a national road,
every 16th provincial, every 8th county, every 4th township, the rest village
roads, of which a share of segments is missing (rural networks are far from
complete grids) and a share is one-way.  Roads are long polylines that share a
vertex at every junction, plus a bent mid-vertex per segment, as digitised
county data usually is.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["synthetic_points", "synthetic_roads"]

_CLASS_EVERY = ((32, "national"), (16, "provincial"), (8, "county"), (4, "township"))


def _line_class(i: int) -> str:
    for every, name in _CLASS_EVERY:
        if i % every == 0:
            return name
    return "village"


def synthetic_roads(
    n_rows: int,
    n_cols: int,
    *,
    spacing_m: float = 400.0,
    jitter: float = 0.25,
    drop_fraction: float = 0.15,
    oneway_fraction: float = 0.02,
    unpaved_fraction: float = 0.2,
    seed: int = 0,
    crs: str = "EPSG:32649",
    origin_xy: tuple[float, float] = (500_000.0, 3_900_000.0),
) -> gpd.GeoDataFrame:
    """A roads layer on an ``n_rows`` × ``n_cols`` jittered grid (metric ``crs``).

    Parameters
    ----------
    spacing_m : float
        Grid spacing.
    jitter : float
        Junction displacement as a fraction of the spacing.
    drop_fraction : float
        Share of village-road segments left out.
    oneway_fraction, unpaved_fraction : float
        Share of village-road runs that are one-way / unpaved.
    seed : int
    crs : str
        Metric CRS of the output coordinates.
    """
    rng = np.random.default_rng(seed)
    x0, y0 = origin_xy
    gx = x0 + np.arange(n_cols)[None, :] * spacing_m + rng.uniform(-jitter, jitter, (n_rows, n_cols)) * spacing_m
    gy = y0 + np.arange(n_rows)[:, None] * spacing_m + rng.uniform(-jitter, jitter, (n_rows, n_cols)) * spacing_m
    records: list[tuple[str, str, str, bool, object]] = []

    def add_line(xs: np.ndarray, ys: np.ndarray, road_class: str, tag: str) -> None:
        n = len(xs)
        keep = np.ones(n - 1, dtype=bool)
        if road_class == "village":
            keep = rng.random(n - 1) >= drop_fraction
        # bent mid-vertex: shape point, not a junction
        mx = (xs[:-1] + xs[1:]) / 2 + rng.normal(0, spacing_m * 0.05, n - 1)
        my = (ys[:-1] + ys[1:]) / 2 + rng.normal(0, spacing_m * 0.05, n - 1)
        start = None
        for k in range(n):
            seg_ok = k < n - 1 and keep[k]
            if seg_ok and start is None:
                start = k
            if not seg_ok and start is not None:
                idx = np.arange(start, k)
                coords = np.empty((2 * len(idx) + 1, 2))
                coords[0:-1:2] = np.c_[xs[idx], ys[idx]]
                coords[1::2] = np.c_[mx[idx], my[idx]]
                coords[-1] = (xs[k], ys[k])
                village = road_class == "village"
                oneway = bool(village and rng.random() < oneway_fraction)
                surface = "unpaved" if village and rng.random() < unpaved_fraction else "paved"
                records.append((f"{tag}-{start}", road_class, surface, oneway, shapely.linestrings(coords)))
                start = None

    for r in range(n_rows):
        add_line(gx[r], gy[r], _line_class(r), f"r{r}")
    for c in range(n_cols):
        add_line(gx[:, c], gy[:, c], _line_class(c), f"c{c}")
    ids, classes, surfaces, oneways, geoms = zip(*records) if records else ((), (), (), (), ())
    return gpd.GeoDataFrame(
        {"id": list(ids), "road_class": list(classes), "surface": list(surfaces), "oneway": list(oneways)},
        geometry=list(geoms),
        crs=crs,
    )


def synthetic_points(roads: gpd.GeoDataFrame, n: int, *, seed: int = 0, prefix: str = "p") -> gpd.GeoDataFrame:
    """``n`` random points in the bounding box of ``roads`` with ``id``/``code``/``name``."""
    rng = np.random.default_rng(seed)
    xmin, ymin, xmax, ymax = roads.total_bounds
    xs = rng.uniform(xmin, xmax, n)
    ys = rng.uniform(ymin, ymax, n)
    ids = [f"{prefix}{i:06d}" for i in range(n)]
    return gpd.GeoDataFrame(
        {"id": ids, "code": ids, "name": ids, "population": rng.integers(100, 3000, n)},
        geometry=shapely.points(xs, ys),
        crs=roads.crs,
    )
