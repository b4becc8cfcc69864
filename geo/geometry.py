"""Small generic geometry helpers: validity reports, display simplification, rounding."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import to_metric, transform_frame_to_wgs84
from geo.report import N_, Problem, error

__all__ = [
    "find_invalid_geometries",
    "repair_geometries",
    "report_invalid_geometries",
    "round_coords",
    "simplify_for_display",
]


def _geometry_array(geoms) -> np.ndarray:
    if isinstance(geoms, gpd.GeoDataFrame):
        geoms = geoms.geometry
    if isinstance(geoms, gpd.GeoSeries):
        return np.asarray(geoms.array, dtype=object)
    return np.asarray(list(geoms), dtype=object)


def _replace_geometry(gdf: gpd.GeoDataFrame, geoms, crs=None) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=crs or gdf.crs)
    return out


def find_invalid_geometries(geoms) -> pd.Series:
    """Why each geometry is invalid.

    Parameters
    ----------
    geoms : GeoSeries, GeoDataFrame or sequence of shapely geometries

    Returns
    -------
    pandas.Series of str or None
        ``shapely.is_valid_reason`` text (e.g. ``"Self-intersection[111.1 35.1]"``)
        for invalid geometries, ``"missing"`` for None/empty ones, None for
        valid ones. Same index as a GeoSeries/GeoDataFrame input.
    """
    arr = _geometry_array(geoms)
    index = geoms.index if isinstance(geoms, (gpd.GeoSeries, gpd.GeoDataFrame)) else None
    missing = shapely.is_missing(arr) | shapely.is_empty(arr)
    reasons = np.full(len(arr), None, dtype=object)
    present = ~missing
    if present.any():
        valid = shapely.is_valid(arr[present])
        why = shapely.is_valid_reason(arr[present])
        reasons[present] = np.where(valid, None, why)
    reasons[missing] = "missing"
    return pd.Series(reasons, index=index, dtype=object)


def report_invalid_geometries(geoms, *, file=None, rows=None, include_missing=False):
    """Problems for invalid (and optionally missing) geometries.

    Parameters
    ----------
    geoms : GeoSeries, GeoDataFrame or sequence of shapely geometries
    file : str, optional
    rows : sequence of int, optional
        Row/feature numbers as the user sees them, one per geometry. Default:
        the 1-based feature number.
    include_missing : bool
        Also report None/empty geometries (``geometry_missing``).

    Returns
    -------
    list[Problem]
        ``geometry_invalid`` errors carrying the shapely reason as ``reason``.
    """
    reasons = find_invalid_geometries(geoms).to_numpy()
    rows = np.arange(1, len(reasons) + 1) if rows is None else np.asarray(rows)
    problems: list[Problem] = []
    for i, reason in enumerate(reasons):
        if reason is None:
            continue
        if reason == "missing":
            if include_missing:
                problems.append(error("geometry_missing", N_("the geometry is empty"),
                                      file=file, row=int(rows[i])))
            continue
        problems.append(error("geometry_invalid", N_("the geometry is invalid: {reason}"),
                              params={"reason": reason}, file=file, row=int(rows[i])))
    return problems


def repair_geometries(geoms) -> np.ndarray:
    """``shapely.make_valid`` for invalid geometries; valid ones are returned as they are."""
    arr = _geometry_array(geoms)
    present = ~shapely.is_missing(arr)
    out = arr.copy()
    bad = present & ~shapely.is_valid(arr)
    if bad.any():
        out[bad] = shapely.make_valid(arr[bad])
    return out


def simplify_for_display(gdf, tolerance_m: float, *, coverage: bool = False):
    """Simplify geometries for web display, returning EPSG:4326 without empties.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Any CRS.
    tolerance_m : float
        Douglas-Peucker tolerance in metres, applied in the frame's local
        metric CRS (:func:`geo.crs.to_metric`).
    coverage : bool
        For polygon coverages (adjacent boundaries that share edges): use
        ``shapely.coverage_simplify`` so neighbours keep a common edge instead
        of opening gaps/overlaps. Its tolerance is Visvalingam-Whyatt
        (removed-triangle area up to ``tolerance_m**2``), so results differ.

    Returns
    -------
    geopandas.GeoDataFrame
        Rows whose geometry is None or became empty are dropped; the index is kept.
    """
    if tolerance_m < 0:
        msg = f"tolerance_m must be >= 0, got {tolerance_m}"
        raise ValueError(msg)
    present = ~(gdf.geometry.isna() | gdf.geometry.is_empty)
    gdf = gdf[present]
    if gdf.empty:
        return transform_frame_to_wgs84(gdf) if gdf.crs is not None else gdf
    metric, _ = to_metric(gdf)
    arr = np.asarray(metric.geometry.array, dtype=object)
    if coverage:
        simplified = shapely.coverage_simplify(arr, tolerance_m)
    else:
        # preserve_topology keeps each polygon valid (no self-crossings, holes inside)
        simplified = shapely.simplify(arr, tolerance_m, preserve_topology=True)
    metric = _replace_geometry(metric, simplified)
    out = metric.to_crs("EPSG:4326")
    keep = ~(out.geometry.isna() | out.geometry.is_empty)
    return out[keep]


def round_coords(gdf, ndigits: int = 6):
    """Round coordinates to ``ndigits`` decimals (6 = ~0.1 m in degrees) to shrink GeoJSON.

    Plain rounding, not snapping: meant for display output, where a ring that
    collapses to an invalid sliver at 0.1 m does not matter.

    Returns
    -------
    Same type as ``gdf`` (GeoDataFrame or GeoSeries), a copy.
    """
    arr = np.asarray(gdf.geometry.array if isinstance(gdf, gpd.GeoDataFrame) else gdf.array,
                     dtype=object)
    rounded = shapely.transform(arr, lambda c: np.round(c, ndigits))
    if isinstance(gdf, gpd.GeoDataFrame):
        return _replace_geometry(gdf, rounded)
    return gpd.GeoSeries(rounded, index=gdf.index, crs=gdf.crs, name=gdf.name)
