"""OpenStreetMap extracts via GDAL's OSM driver (through pyogrio).

Formats: PBF (``.osm.pbf``, ``.pbf``) and OSM XML (``.osm``), plain or compressed
(``.osm.gz`` read through GDAL's ``/vsigzip/``; ``.osm.bz2`` decompressed to a
temporary file, at most :data:`MAX_DECOMPRESSED_BYTES`).

Generic OSM only: tags come out as they are in OSM. Mapping ``highway`` values
to planning road classes is a domain decision and lives in ``layers``.
"""
from __future__ import annotations

import bz2
import contextlib
import os
import re
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geo.errors import TooLarge

# pandas >= 3 has a proper string dtype with NaN for missing; on pandas 2,
# dtype=str would turn None into the text "None", so stay with object there.
_TEXT_DTYPE = "str" if int(pd.__version__.split(".")[0]) >= 3 else object

__all__ = ["OSM_SUFFIXES", "PLACE_VALUES", "OsmTooLarge", "is_osm_path", "parse_other_tags", "read_osm",
           "read_osm_pbf"]

#: File name endings read as OpenStreetMap data.
OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm", ".osm.gz", ".osm.bz2")

#: Bound on a decompressed ``.osm.bz2`` (XML is ~10x its PBF; a county is far below).
MAX_DECOMPRESSED_BYTES = 4 * 1024 ** 3


class OsmTooLarge(TooLarge, ValueError):
    """A compressed OSM file that decompresses beyond the limit.

    Also a ``ValueError`` so that callers treating unreadable files alike (the CLI,
    the upload page) report it like any other bad file.
    """

    code = "osm.too_large"
    en = "{file}: the OpenStreetMap file decompresses to more than {limit_mb} MB; cut a smaller extract"
    zh = "{file}：OpenStreetMap 文件解压后超过 {limit_mb} MB；请裁剪更小的范围"


def is_osm_path(path) -> bool:
    """Whether a file name ends like OpenStreetMap data (:data:`OSM_SUFFIXES`)."""
    name = Path(path).name.lower()
    return name.endswith(OSM_SUFFIXES)

#: ``place=*`` values kept by :func:`read_osm` (settlements, not regions).
PLACE_VALUES = ("city", "town", "suburb", "village", "hamlet", "isolated_dwelling")

# GDAL writes tags it has no column for as an HSTORE-like string:
#   "oneway"=>"yes","maxspeed"=>"50","note"=>"say \"hi\""
_HSTORE_RE = re.compile(r'"((?:[^"\\]|\\.)*)"\s*=>\s*"((?:[^"\\]|\\.)*)"')
_UNESCAPE_RE = re.compile(r"\\(.)")

_LINE_TAGS = ("oneway", "surface", "maxspeed", "ref", "motorroad", "access")
_MPH_TO_KMH = 1.609344


def parse_other_tags(text) -> dict[str, str]:
    """Parse GDAL's ``other_tags`` string into a dict (empty for None/NA)."""
    if not isinstance(text, str) or not text:
        return {}
    return {_UNESCAPE_RE.sub(r"\1", k): _UNESCAPE_RE.sub(r"\1", v)
            for k, v in _HSTORE_RE.findall(text)}


def _maxspeed_kmh(value) -> float:
    """Numeric km/h from an OSM maxspeed value; NaN for "none", "signals", "RO:urban"..."""
    if not isinstance(value, str):
        return np.nan
    # "50", "50 km/h", "30 mph", "50;70" (take the first)
    m = re.match(r"\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?", value.split(";")[0])
    if not m:
        return np.nan
    speed = float(m.group(1))
    return speed * _MPH_TO_KMH if m.group(2) == "mph" else speed


def _read_layer(source: str, name: str, layer: str, where: str) -> gpd.GeoDataFrame:
    try:
        return pyogrio.read_dataframe(source, layer=layer, where=where)
    except Exception as exc:  # GDAL error types vary
        msg = f"{name}: cannot read OSM layer {layer!r} ({exc})"
        raise ValueError(msg) from None


def _osm_ids(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("Int64")


@contextlib.contextmanager
def _gdal_source(path: Path, *, max_bytes: int):
    """A name GDAL's OSM driver can open for ``path`` (decompressing .bz2 to a temp file)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        yield f"/vsigzip/{path}"
        return
    if not name.endswith(".bz2"):
        yield str(path)
        return
    fd, tmp = tempfile.mkstemp(suffix=".osm", prefix="rp-osm-")
    try:
        written = 0
        try:
            with os.fdopen(fd, "wb") as out, bz2.open(path, "rb") as src:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > max_bytes:
                        raise OsmTooLarge(file=path.name, limit_mb=max_bytes // (1024 * 1024))
                    out.write(chunk)
        except (OSError, EOFError) as exc:
            msg = f"{path.name}: not a readable bzip2 file ({exc})"
            raise ValueError(msg) from None
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def read_osm(path, *, max_decompressed_bytes: int = MAX_DECOMPRESSED_BYTES):
    """Roads (ways with ``highway``) and settlement nodes from an OSM file.

    Parameters
    ----------
    path : str or os.PathLike
        ``.osm.pbf``/``.pbf``, ``.osm``, ``.osm.gz`` or ``.osm.bz2``.
    max_decompressed_bytes : int
        Bound on a decompressed ``.bz2`` (a gzip file is streamed by GDAL).

    Returns
    -------
    (lines, places) : tuple of geopandas.GeoDataFrame, both EPSG:4326
        ``lines``: osm_id, name, highway, oneway, surface, maxspeed (raw
        strings as tagged, NA when absent), ref, motorroad, access (raw), maxspeed_kmh (float; mph
        converted, NaN when not numeric), geometry (LineString).
        ``places``: osm_id, name, place (one of :data:`PLACE_VALUES`),
        population (float, NaN when absent or not a number), geometry (Point).

    Raises
    ------
    ValueError
        Naming the file when it is missing or not readable as OSM.
    OsmTooLarge
        When a ``.bz2`` decompresses beyond ``max_decompressed_bytes``.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path.name}: file not found ({path})"
        raise ValueError(msg)
    with _gdal_source(path, max_bytes=max_decompressed_bytes) as source:
        return _read_osm_source(source, path.name)


def read_osm_pbf(path):
    """:func:`read_osm` (kept for callers of the PBF-only name)."""
    return read_osm(path)


def _read_osm_source(source: str, name: str):
    raw = _read_layer(source, name, "lines", "highway IS NOT NULL")
    tags = raw["other_tags"].map(parse_other_tags) if len(raw) else pd.Series([], dtype=object)
    lines = pd.DataFrame({
        "osm_id": _osm_ids(raw["osm_id"]),
        "name": raw["name"],
        "highway": raw["highway"],
    })
    for key in _LINE_TAGS:
        lines[key] = pd.Series([t.get(key) for t in tags], index=raw.index, dtype=_TEXT_DTYPE)
    lines["maxspeed_kmh"] = lines["maxspeed"].map(_maxspeed_kmh).astype(float)
    lines = gpd.GeoDataFrame(lines, geometry=raw.geometry.values, crs=raw.crs)

    quoted = ", ".join(f"'{v}'" for v in PLACE_VALUES)
    raw_pts = _read_layer(source, name, "points", f"place IN ({quoted})")
    pop_text = [parse_other_tags(t).get("population") for t in raw_pts["other_tags"]]
    population = pd.to_numeric(
        pd.Series([p.replace(",", "").replace(" ", "") if isinstance(p, str) else None
                   for p in pop_text], index=raw_pts.index, dtype=object),
        errors="coerce").astype(float)
    places = pd.DataFrame({
        "osm_id": _osm_ids(raw_pts["osm_id"]),
        "name": raw_pts["name"],
        "place": raw_pts["place"],
        "population": population,
    })
    places = gpd.GeoDataFrame(places, geometry=raw_pts.geometry.values, crs=raw_pts.crs)

    lines = lines.set_crs("EPSG:4326", allow_override=True).reset_index(drop=True)
    places = places.set_crs("EPSG:4326", allow_override=True).reset_index(drop=True)
    return lines, places
