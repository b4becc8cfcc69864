"""Coordinate reference systems: Chinese map datums, pyproj CRSs, metric zones.

Chinese web maps do not publish coordinates in WGS84. Amap/Tencent use
**GCJ-02** (WGS84 plus a deliberate, non-linear offset of a few hundred metres)
and Baidu uses **BD-09** (GCJ-02 plus a further offset). Neither is a pyproj
CRS, so they are implemented here with numpy; everything else goes through
pyproj with ``always_xy=True`` (EPSG:4490 and EPSG:4326 are latitude-first in
their official axis order, and every function here takes longitude first).

Conventions
-----------
* All functions take longitude/x first.
* Vectorised: scalars in give floats out, array-likes give numpy arrays.
* NaN in gives NaN out.
"""
from __future__ import annotations

import math

import geopandas
import numpy as np
import pyproj
import shapely

__all__ = [
    "CHINA_BBOX",
    "CRS_KEYWORDS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "choose_metric_crs",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "is_geographic",
    "looks_swapped",
    "metric_crs_for",
    "parse_crs",
    "to_metric",
    "to_wgs84",
    "transform_frame_to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

# Krasovsky 1940 ellipsoid, as used by every public GCJ-02 implementation.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0

# The offset is only applied inside this rough rectangle. It is the convention
# of the widely copied open-source implementations (e.g. wandergis/coordtransform):
# it includes Mongolia/Korea edges and excludes nothing of mainland China, so
# results match what those libraries (and most users' tools) produce. Taiwan,
# Hong Kong and Macau fall inside it too, as in those libraries.
_GCJ_BBOX = (72.004, 0.8293, 137.8347, 55.8271)  # lon_min, lat_min, lon_max, lat_max

#: Generous bounding box of China used for *validation* (lon_min, lat_min,
#: lon_max, lat_max): 73.4-135.1 E, 3.8-53.6 N. It contains all of China
#: including the South China Sea islands, and also parts of neighbours; it is a
#: plausibility check, not a border.
CHINA_BBOX = (73.4, 3.8, 135.1, 53.6)

#: Keyword CRSs accepted by :func:`parse_crs` besides ``"EPSG:n"``.
CRS_KEYWORDS = ("wgs84", "cgcs2000", "gcj02", "bd09")

# GCJ/BD inverses: stop when the forward image is within this of the target.
# 1e-10 degree is ~0.01 mm.
_INVERSE_TOL_DEG = 1e-10
_INVERSE_MAX_ITER = 30


def _as_arrays(lon, lat):
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon_arr = np.asarray(lon, dtype=float)
    lat_arr = np.asarray(lat, dtype=float)
    lon_arr, lat_arr = np.broadcast_arrays(lon_arr, lat_arr)
    return lon_arr, lat_arr, scalar


def _out(lon, lat, scalar):
    # A point is either known or not: never return half a coordinate.
    missing = np.isnan(lon) | np.isnan(lat)
    if np.any(missing):
        lon = np.where(missing, np.nan, lon)
        lat = np.where(missing, np.nan, lat)
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def _in_bbox(lon, lat, bbox):
    lon_min, lat_min, lon_max, lat_max = bbox
    with np.errstate(invalid="ignore"):
        return (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)


def _gcj_delta(lon, lat):
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0

    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * pi)
    inside = _in_bbox(lon, lat, _GCJ_BBOX)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def _wgs_to_gcj(lon, lat):
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd(lon, lat):
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd_to_gcj_closed_form(lon, lat):
    # Baidu's own approximate inverse; a good first guess for the iteration.
    x = lon - 0.0065
    y = lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(forward, target_lon, target_lat, guess_lon, guess_lat):
    """Solve ``forward(p) == target`` by fixed-point iteration.

    Both offsets change by far less than 1 degree per degree, so
    ``p <- p - (forward(p) - target)`` is a contraction and converges in a
    handful of steps to ~1e-12 degree. NaN entries simply stay NaN.
    """
    lon, lat = guess_lon, guess_lat
    for _ in range(_INVERSE_MAX_ITER):
        f_lon, f_lat = forward(lon, lat)
        err_lon = f_lon - target_lon
        err_lat = f_lat - target_lat
        lon = lon - err_lon
        lat = lat - err_lat
        with np.errstate(invalid="ignore"):
            worst = np.nanmax(np.abs(np.concatenate([np.ravel(err_lon), np.ravel(err_lat)])),
                              initial=0.0)
        if worst < _INVERSE_TOL_DEG:
            break
    return lon, lat


def wgs84_to_gcj02(lon, lat):
    """WGS84 -> GCJ-02 (Amap, Tencent, Google China).

    Points outside the conventional rough rectangle (72.004-137.8347 E,
    0.8293-55.8271 N) are returned unchanged, as every GCJ-02 implementation does.

    Parameters
    ----------
    lon, lat : float or array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    (lon, lat) : floats for scalar input, otherwise numpy arrays
    """
    lon, lat, scalar = _as_arrays(lon, lat)
    return _out(*_wgs_to_gcj(lon, lat), scalar)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 -> WGS84, solved iteratively (round trip well under 1 mm).

    The popular one-step inverse ``gcj - delta(gcj)`` is off by up to ~1-2 m;
    this iterates it to convergence instead.
    """
    lon, lat, scalar = _as_arrays(lon, lat)
    dlon, dlat = _gcj_delta(lon, lat)
    out = _invert(_wgs_to_gcj, lon, lat, lon - dlon, lat - dlat)
    return _out(*out, scalar)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09 (Baidu). Applied everywhere, as Baidu's formula has no bbox."""
    lon, lat, scalar = _as_arrays(lon, lat)
    return _out(*_gcj_to_bd(lon, lat), scalar)


def bd09_to_gcj02(lon, lat):
    """BD-09 -> GCJ-02: Baidu's closed form refined iteratively to exact inverse."""
    lon, lat, scalar = _as_arrays(lon, lat)
    guess = _bd_to_gcj_closed_form(lon, lat)
    return _out(*_invert(_gcj_to_bd, lon, lat, *guess), scalar)


def wgs84_to_bd09(lon, lat):
    """WGS84 -> BD-09 (via GCJ-02)."""
    lon, lat, scalar = _as_arrays(lon, lat)
    return _out(*_gcj_to_bd(*_wgs_to_gcj(lon, lat)), scalar)


def bd09_to_wgs84(lon, lat):
    """BD-09 -> WGS84 (via GCJ-02)."""
    g_lon, g_lat = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(g_lon, g_lat)


# --------------------------------------------------------------------------
# Plausibility checks
# --------------------------------------------------------------------------

def in_china(lon, lat):
    """Whether (lon, lat) lies in the generous China box :data:`CHINA_BBOX`.

    Returns a bool for scalars, a boolean array otherwise; NaN gives False.
    """
    lon_arr, lat_arr, scalar = _as_arrays(lon, lat)
    inside = _in_bbox(lon_arr, lat_arr, CHINA_BBOX)
    return bool(inside) if scalar else inside


def looks_swapped(lon, lat):
    """Whether a pair only makes sense in China with longitude and latitude exchanged.

    True when (lon, lat) is outside :data:`CHINA_BBOX` but (lat, lon) is inside.
    The box's longitude range (73-135) and latitude range (4-54) do not
    overlap, so a pair can never be plausible both ways round.
    """
    lon_arr, lat_arr, scalar = _as_arrays(lon, lat)
    swapped = ~_in_bbox(lon_arr, lat_arr, CHINA_BBOX) & _in_bbox(lat_arr, lon_arr, CHINA_BBOX)
    return bool(swapped) if scalar else swapped


# --------------------------------------------------------------------------
# CRS options
# --------------------------------------------------------------------------

def parse_crs(text) -> str:
    """Validate a CRS option and return its canonical spelling.

    Parameters
    ----------
    text : str
        ``"wgs84"``, ``"cgcs2000"``, ``"gcj02"``, ``"bd09"`` (case, spaces,
        ``-`` and ``_`` ignored, so ``"GCJ-02"`` works) or ``"EPSG:<code>"``
        for any CRS pyproj knows.

    Returns
    -------
    str
        One of the keywords, or ``"EPSG:<code>"``.

    Raises
    ------
    ValueError
        For anything else; the message lists the accepted values.
    """
    accepted = ", ".join(f'"{k}"' for k in CRS_KEYWORDS) + ' or "EPSG:<code>" (e.g. "EPSG:4525")'
    if not isinstance(text, str) or not text.strip():
        msg = f"coordinate system must be one of {accepted}; got {text!r}"
        raise ValueError(msg)
    key = text.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    if key in CRS_KEYWORDS:
        return key
    if key.startswith("epsg:"):
        code = key[5:]
        if code.isdigit():
            try:
                pyproj.CRS.from_epsg(int(code))
            except pyproj.exceptions.CRSError:
                msg = f"unknown EPSG code {code!r} in {text!r}; accepted: {accepted}"
                raise ValueError(msg) from None
            return f"EPSG:{int(code)}"
    msg = f"coordinate system must be one of {accepted}; got {text!r}"
    raise ValueError(msg)


# Options whose coordinates are used as WGS84 unchanged (see to_wgs84).
_IDENTITY_TO_WGS84 = ("wgs84", "cgcs2000", "EPSG:4326", "EPSG:4490")

_TRANSFORMERS: dict[str, pyproj.Transformer] = {}


def _transformer_to_wgs84(epsg: str) -> pyproj.Transformer:
    if epsg not in _TRANSFORMERS:
        _TRANSFORMERS[epsg] = pyproj.Transformer.from_crs(epsg, "EPSG:4326", always_xy=True)
    return _TRANSFORMERS[epsg]


def is_geographic(crs: str) -> bool:
    """Whether a :func:`parse_crs` option is longitude/latitude in degrees."""
    crs = parse_crs(crs)
    if crs in CRS_KEYWORDS:
        return True
    return pyproj.CRS.from_user_input(crs).is_geographic


def to_wgs84(x, y, crs):
    """Convert coordinates in ``crs`` to WGS84 longitude/latitude.

    Parameters
    ----------
    x, y : float or array_like
        Longitude/easting and latitude/northing (x first, always).
    crs : str
        Any :func:`parse_crs` option. ``"cgcs2000"`` is treated as identical
        to WGS84: the two differ by a few centimetres, far below what
        county-level planning data resolves (pyproj's own EPSG:4490 -> 4326
        operation is also a null transformation).

    Returns
    -------
    (lon, lat) : floats for scalar input, otherwise numpy arrays
    """
    crs = parse_crs(crs)
    if crs in _IDENTITY_TO_WGS84:
        lon, lat, scalar = _as_arrays(x, y)
        return _out(lon.copy(), lat.copy(), scalar)
    if crs == "gcj02":
        return gcj02_to_wgs84(x, y)
    if crs == "bd09":
        return bd09_to_wgs84(x, y)
    xs, ys, scalar = _as_arrays(x, y)
    lon, lat = _transformer_to_wgs84(crs).transform(xs, ys, errcheck=False)
    return _out(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), scalar)


# --------------------------------------------------------------------------
# Metric CRS choice
# --------------------------------------------------------------------------

def choose_metric_crs(lon_min, lat_min, lon_max, lat_max) -> pyproj.CRS:
    """A conformal metric CRS suited to a WGS84 bounding box.

    Inside China (centre in :data:`CHINA_BBOX`) this is the CGCS2000 3-degree
    Gauss-Krueger zone of the centre longitude, in the variant whose false
    easting carries the zone number (EPSG:4513 = zone 25, CM 75 E ... EPSG:4533
    = zone 45, CM 135 E), the projection Chinese planning offices use.
    Elsewhere it is the WGS84 UTM zone (EPSG:326xx north, 327xx south); the
    Norway/Svalbard exceptions are ignored.

    Returns
    -------
    pyproj.CRS
    """
    lon_c = (float(lon_min) + float(lon_max)) / 2.0
    lat_c = (float(lat_min) + float(lat_max)) / 2.0
    if not (math.isfinite(lon_c) and math.isfinite(lat_c)):
        msg = f"cannot choose a metric CRS for bounds {(lon_min, lat_min, lon_max, lat_max)}"
        raise ValueError(msg)
    if in_china(lon_c, lat_c):
        zone = min(max(round(lon_c / 3.0), 25), 45)
        return pyproj.CRS.from_epsg(4513 + zone - 25)
    zone = min(max(int((lon_c + 180.0) // 6.0) + 1, 1), 60)
    return pyproj.CRS.from_epsg((32600 if lat_c >= 0 else 32700) + zone)


def metric_crs_for(gdf) -> pyproj.CRS:
    """:func:`choose_metric_crs` for the total bounds of a GeoDataFrame."""
    wgs = transform_frame_to_wgs84(gdf)
    geoms = wgs.geometry[~(wgs.geometry.isna() | wgs.geometry.is_empty)]
    if geoms.empty:
        msg = "cannot choose a metric CRS for a frame without geometries"
        raise ValueError(msg)
    return choose_metric_crs(*geoms.total_bounds)


def to_metric(gdf):
    """Project a GeoDataFrame to :func:`metric_crs_for` it.

    Returns
    -------
    (GeoDataFrame, pyproj.CRS)
    """
    crs = metric_crs_for(gdf)
    return gdf.to_crs(crs), crs


def transform_frame_to_wgs84(gdf, *, source_crs=None):
    """Return a copy of ``gdf`` in EPSG:4326.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or GeoSeries
    source_crs : str, optional
        Override for the coordinates' real system, any :func:`parse_crs`
        option. Needed for ``"gcj02"``/``"bd09"`` data, which no file format
        can label (such files usually claim, or are assumed to be, WGS84).

    Raises
    ------
    ValueError
        When the frame has no CRS and none is given.
    """
    if source_crs is not None:
        source = parse_crs(source_crs)
        out = gdf.copy()
        if source not in _IDENTITY_TO_WGS84:
            def _convert(coords):
                lon, lat = to_wgs84(coords[:, 0], coords[:, 1], source)
                return np.column_stack([lon, lat])

            geoms = shapely.transform(np.asarray(out.geometry.array, dtype=object), _convert)
            if isinstance(out, geopandas.GeoDataFrame):
                out = out.set_geometry(geopandas.GeoSeries(geoms, index=out.index),
                                       crs="EPSG:4326")
                if out.geometry.name != gdf.geometry.name:
                    out = out.rename_geometry(gdf.geometry.name)
            else:
                out = geopandas.GeoSeries(geoms, index=out.index, name=out.name)
        return out.set_crs("EPSG:4326", allow_override=True)

    if gdf.crs is None:
        msg = ("the data has no coordinate reference system; say which one it is "
               "(e.g. source_crs='wgs84')")
        raise ValueError(msg)
    epsg = gdf.crs.to_epsg()
    if epsg in (4326, 4490):
        # CGCS2000 and WGS84 agree to centimetres; geometries are already x=lon.
        return gdf.set_crs("EPSG:4326", allow_override=True)
    return gdf.to_crs("EPSG:4326")
