"""GeoJSON payloads for the browser map and the API (Flask-free).

The map gets one compact payload per layer: only display fields, nulls and zero
produce figures left out, point coordinates rounded to 6 decimals (~0.1 m), lines and
polygons simplified (~5-10 m) and rounded to 5 decimals, and road segments merged per
road class (and name, surface, speed) into MultiLineStrings, which shrinks a county's
~30k segments to a few hundred features. Payloads are cached per workspace file version.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from layers.schema import LAYERS, get_schema

#: Simplification tolerance in degrees per geometry family (1e-4 deg ~ 10 m).
SIMPLIFY = {"line": 5e-5, "polygon": 1e-4}
POINT_DECIMALS = 6
SHAPE_DECIMALS = 5

_cache: dict[tuple, tuple[tuple, object]] = {}
_cache_lock = threading.Lock()


def file_stamp(ws) -> tuple:
    """Changes with any commit to the file, app tables included (WAL: the -wal file too)."""
    st = os.stat(ws.path)
    wal = ws.path.with_name(ws.path.name + "-wal")
    wst = os.stat(wal) if wal.exists() else None
    return (st.st_mtime_ns, st.st_ino, st.st_size, wst and (wst.st_mtime_ns, wst.st_size))


def data_stamp(ws, layers=None) -> tuple:
    """Versions of ``layers`` (default: every layer): what layer-derived results depend on.

    A write to one layer (or to an app table: a proposal, a user) leaves the others'
    stamps, and so their caches and ETags, as they were.
    """
    from layers.schema import LAYERS

    return ws.layers_version(*(layers or tuple(LAYERS)))


def etag(ws, *parts, layers=None) -> str:
    raw = repr((data_stamp(ws, layers), parts)).encode()
    return hashlib.sha1(raw).hexdigest()[:20]


def cached(ws, key: tuple, build, *, layers=None):
    """``build()`` once per version of ``layers`` (default: every layer) and ``key``."""
    stamp = data_stamp(ws, layers)
    full_key = (str(ws.path), *key)
    with _cache_lock:
        hit = _cache.get(full_key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    data = build()
    with _cache_lock:
        _cache[full_key] = (stamp, data)
    return data


# --------------------------------------------------------------------------- serialisation
def _clean(value):
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return round(value, 2)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else round(float(value), 2)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def _records(frame: pd.DataFrame, columns, *, drop_zero=()) -> list[dict]:
    records = frame[list(columns)].astype(object).to_dict("records") if len(columns) else [{}] * len(frame)
    out = []
    for rec in records:
        clean = {}
        for k, v in rec.items():
            v = _clean(v)
            if v is None or (k in drop_zero and v == 0):
                continue
            clean[k] = v
        out.append(clean)
    return out


def _round(geoms, decimals: int):
    return shapely.transform(geoms, lambda c: np.round(c, decimals))


def feature_collection(geoms, records: list[dict], ids=None) -> bytes:
    """A GeoJSON FeatureCollection as UTF-8 bytes; ``geoms`` may hold None."""
    if geoms is None:
        geo_json = [None] * len(records)
    else:
        geo_json = shapely.to_geojson(np.asarray(geoms, dtype=object))
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    parts = []
    for i, (g, props) in enumerate(zip(geo_json, records)):
        fid = "" if ids is None else f',"id":{dumps(ids[i])}'
        parts.append(f'{{"type":"Feature"{fid},"geometry":{g or "null"},"properties":{dumps(props)}}}')
    return ('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}").encode("utf-8")


# --------------------------------------------------------------------------- map payloads
def geometry_family(layer: str) -> str | None:
    kinds = get_schema(layer).geometry
    if not kinds:
        return None
    if all(k.endswith("Point") for k in kinds):
        return "point"
    if any("LineString" in k for k in kinds):
        return "line"
    return "polygon"


def map_fields(layer: str, *, include_sensitive: bool) -> list[str]:
    schema = get_schema(layer)
    return [f.name for f in schema.display_fields(include_sensitive=include_sensitive)]


def map_layer_geojson(ws, layer: str, *, include_sensitive: bool = False, user=None) -> bytes:
    """The compact map payload of ``layer`` (cached per file version).

    Household-level rows (e.g. pairings with a household) only as far as ``user`` may
    see them (:mod:`web.visibility`; none without a user).
    """
    from .visibility import rows_key

    schema = get_schema(layer)
    # one cache entry when the layer has nothing sensitive to show
    include_sensitive = include_sensitive and any(f.sensitive for f in schema.display_fields())
    return cached(ws, ("map", layer, include_sensitive, *rows_key(layer, user)),
                  lambda: _build_map_layer(ws, layer, include_sensitive, user), layers=(layer,))


def _build_map_layer(ws, layer: str, include_sensitive: bool, user=None) -> bytes:
    from .visibility import filter_rows

    schema = get_schema(layer)
    frame = filter_rows(ws, layer, ws.read_layer(layer), user)
    fields = map_fields(layer, include_sensitive=include_sensitive)
    drop_zero = {f.name for f in schema.fields if f.name.startswith("produce_")}
    if schema.spatial:
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if layer == "roads":
        return _merged_lines(frame, [f for f in fields if f != schema.id_field])
    family = geometry_family(layer)
    geoms = frame.geometry.values if schema.spatial else None
    if geoms is not None:
        geoms = np.asarray(geoms, dtype=object)
        is_point = shapely.get_type_id(geoms) == 0
        if family != "point" and (~is_point).any():
            geoms[~is_point] = shapely.simplify(geoms[~is_point], SIMPLIFY["polygon"], preserve_topology=True)
            geoms[~is_point] = _round(geoms[~is_point], SHAPE_DECIMALS)
        if is_point.any():
            geoms[is_point] = _round(geoms[is_point], POINT_DECIMALS)
    return feature_collection(geoms, _records(frame, fields, drop_zero=drop_zero))


def _merged_lines(frame: pd.DataFrame, fields: list[str]) -> bytes:
    """Road segments merged per equal display attributes into simplified MultiLineStrings."""
    if not len(frame):
        return feature_collection([], [])
    keys = frame[fields].astype(object).where(frame[fields].notna(), None)
    group_key = keys.apply(lambda r: json.dumps(list(map(_clean, r)), ensure_ascii=False), axis=1)
    geoms, records = [], []
    for _, idx in frame.groupby(group_key.values, sort=True).indices.items():
        parts = shapely.get_parts(np.asarray(frame.geometry.values[idx], dtype=object))
        merged = shapely.line_merge(shapely.multilinestrings(parts)) if len(parts) > 1 else parts[0]
        merged = shapely.simplify(merged, SIMPLIFY["line"], preserve_topology=False)
        geoms.append(_round(merged, SHAPE_DECIMALS))
        records.append(_records(frame.iloc[idx[:1]], fields)[0])
    return feature_collection(geoms, records)


# --------------------------------------------------------------------------- town indicators
@dataclass(frozen=True)
class Indicator:
    name: str
    unit: str | None
    decimals: int


INDICATORS = (
    Indicator("monitored_per_1000", "‰", 1),
    Indicator("former_poor_share", "%", 0),
    Indicator("income_per_capita", "元", 0),
    Indicator("population", "人", 0),
)


def town_indicator_table(ws) -> pd.DataFrame:
    """Per town: villages, population, monitored households (and per 1,000 people), ..."""
    v = ws.read_layer("villages")
    if not len(v):
        return pd.DataFrame(columns=["town", *[i.name for i in INDICATORS]])
    v = pd.DataFrame(v.drop(columns="geometry", errors="ignore"))
    v["monitored"] = (v["monitored_unstable"].fillna(0) + v["monitored_marginal"].fillna(0)
                      + v["monitored_sudden"].fillna(0)).astype(float)
    v["pop"] = v["population"].astype("float64")
    v["income_x_pop"] = v["income_per_capita_yuan"].astype("float64") * v["pop"]
    v["pop_with_income"] = v["pop"].where(v["income_per_capita_yuan"].notna())
    g = v.groupby("town", sort=True).agg(
        villages=("code", "size"), population=("pop", "sum"), monitored=("monitored", "sum"),
        former_poor=("former_poor", "sum"), income_x_pop=("income_x_pop", "sum"),
        pop_with_income=("pop_with_income", "sum"),
    )
    g["monitored_per_1000"] = (g["monitored"] / g["population"].where(g["population"] > 0) * 1000).round(1)
    g["former_poor_share"] = (g["former_poor"] / g["villages"] * 100).round(0)
    g["income_per_capita"] = (g["income_x_pop"] / g["pop_with_income"].where(g["pop_with_income"] > 0)).round(0)
    return g.reset_index()[["town", "villages", "monitored", *[i.name for i in INDICATORS]]]


def town_choropleth_geojson(ws) -> bytes:
    def build():
        b = ws.read_layer("boundaries")
        b = b[(b["level"] == "town") & b.geometry.notna()]
        table = town_indicator_table(ws).set_index("town")
        geoms = np.asarray(b.geometry.values, dtype=object)
        geoms = _round(shapely.simplify(geoms, SIMPLIFY["polygon"], preserve_topology=True), SHAPE_DECIMALS)
        records = []
        for name in b["name"]:
            rec = {"name": name}
            if name in table.index:
                row = table.loc[name]
                for col in ("villages", "monitored", *[i.name for i in INDICATORS]):
                    val = _clean(row[col])
                    if val is not None:
                        rec[col] = val
            records.append(rec)
        return feature_collection(geoms, records)

    return cached(ws, ("choropleth",), build)


def layer_counts(ws) -> dict[str, int]:
    """Feature count per layer (cached per file version)."""
    return cached(ws, ("counts",), lambda: {i.name: i.count for i in ws.info()})


def town_names(ws) -> list[str]:
    return cached(ws, ("towns",), lambda: sorted(town_indicator_table(ws)["town"].astype(str)))


def workspace_bounds(ws) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the county (boundaries, else every point layer)."""
    return cached(ws, ("bounds",), lambda: _bounds(ws))


def _bounds(ws):
    for layer in ("boundaries", "villages", "roads", "towns"):
        frame = ws.read_layer(layer)
        if len(frame) and frame.geometry.notna().any():
            minx, miny, maxx, maxy = frame.total_bounds
            if all(np.isfinite([minx, miny, maxx, maxy])):
                return [[float(miny), float(minx)], [float(maxy), float(maxx)]]
    return None


# --------------------------------------------------------------------------- API payloads
def api_fields(layer: str, *, include_sensitive: bool) -> list[str]:
    schema = get_schema(layer)
    return [f.name for f in schema.fields if include_sensitive or not f.sensitive]


def api_geojson(frame: pd.DataFrame, layer: str, *, include_sensitive: bool) -> bytes:
    """Full records of ``frame`` (already filtered) as GeoJSON with the id as feature id."""
    schema = get_schema(layer)
    fields = api_fields(layer, include_sensitive=include_sensitive)
    geoms = None
    if schema.spatial:
        geoms = np.asarray(frame.geometry.values, dtype=object)
        geoms = np.where(pd.isna(geoms), None, geoms)
    ids = [str(x) for x in frame[schema.id_field]]
    return feature_collection(geoms, _records(frame, fields), ids=ids)


def layer_names() -> list[str]:
    return list(LAYERS)


def prewarm(ws) -> None:
    """Build every map payload once (e.g. in a thread at server start) so the first
    visitor does not wait for road merging and simplification."""
    if not ws.exists:
        return
    layer_counts(ws)
    workspace_bounds(ws)
    town_names(ws)
    town_choropleth_geojson(ws)
    for name, schema in LAYERS.items():
        if schema.spatial and not schema.sensitive:
            map_layer_geojson(ws, name)
