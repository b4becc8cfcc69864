"""Road-network results as JSON/GeoJSON payloads for the API and the map (Flask-free).

Each function takes a workspace and already validated parameters, calls
:mod:`web.services` for the graph and the layers and :mod:`planner` for the analysis,
and returns a JSON-ready ``dict``. Results are kept in a small in-process LRU keyed by
the workspace file, its layers version, its network settings and the parameters, so
clicking around the map (the same facility again, back to 30 minutes) is instant; a
layer import bumps the layers version and so misses the cache.

Only village-level counts leave this module: no household rows or fields.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import shapely

from layers.schema import FACILITY_STATUS

from .. import services
from . import mapdata
from .errors import UnknownFacility
from .mapdata import feature_collection
from .netreasons import metres, off_network, record

#: Layers an OD matrix can run between (as in ``ruralplan od``).
OD_LAYERS = ("villages", *services.FACILITY_LAYERS)
#: Largest OD matrix side served over HTTP (2,000 × 2,000 is ~30 MB of JSON).
MAX_OD_SIDE = 2000
STATUSES = tuple(c.value for c in FACILITY_STATUS)
#: Polygons are simplified by ~10 m (invisible beside the 200 m road buffer) and rounded
#: to ~1 m for the browser: a 60-min area shrinks from ~300 KB to under 100 KB.
_SIMPLIFY_DEG = 1e-4
_DECIMALS = 5

_LRU_SIZE = 64
_lru: OrderedDict = OrderedDict()
_lru_lock = threading.Lock()


# --------------------------------------------------------------------------- cache
def version_key(ws) -> tuple:
    """What a network result depends on besides its parameters."""
    meta = ws.meta()
    network = json.dumps(meta.get("network") or {}, sort_keys=True, default=str)
    # every layer's own version (QGIS edits included), not the file's: app-table writes keep results
    return (str(ws.path.resolve()), ws.path.stat().st_ino, mapdata.data_stamp(ws), network)


def cached(ws, params: tuple, build) -> tuple[dict, bool]:
    """``(build(), False)`` the first time per workspace version and ``params``, then ``(…, True)``."""
    key = (version_key(ws), params)
    with _lru_lock:
        if key in _lru:
            _lru.move_to_end(key)
            return _lru[key], True
    value = build()
    with _lru_lock:
        _lru[key] = value
        while len(_lru) > _LRU_SIZE:
            _lru.popitem(last=False)
    return value, False


def clear_cache() -> None:
    with _lru_lock:
        _lru.clear()


# --------------------------------------------------------------------------- helpers
def _graph(ws, scenario=None):
    """The road graph and its settings — without roads, the straight-line estimate (payloads
    carry ``estimate``); of a network scenario when one is named. Typed errors (a bad
    setting, an unknown scenario, neither roads nor villages) go to the caller as they are."""
    settings = services.NetworkSettings.from_workspace(ws)
    if scenario is None:
        return services.network_or_estimate(ws, settings=settings), settings
    from . import scenarios

    return scenarios.road_graph(ws, settings=settings, scenario=scenario), settings


def _estimate(graph):
    from planner.estimate import is_estimate

    return graph.to_dict() if is_estimate(graph) else None


def _facilities(ws, layer: str, statuses):
    # no status asked for: the facilities that are "there" (built or being built), as
    # in the CLI and the planning page; planned ones only when asked for by status
    return services.facility_points(ws, layer, statuses=statuses or services.EXISTING_STATUSES)


def _text(value):
    """A string, or None for missing values (pandas turns None into NaN in some frames)."""
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return None
    return str(value)


def _late_minutes(value, cutoff) -> str | None:
    """A village's minutes as text at 0.01, but over ``cutoff`` when it is over it ("30.004",
    not "30.00"; :func:`web.formatting.format_minutes`); None when unreachable."""
    from web.formatting import format_minutes

    value = float(value)
    return format_minutes(value, limit=cutoff) if np.isfinite(value) else None


def _num(value):
    value = float(value)
    return round(value, 2) if np.isfinite(value) else None


def _point_features(geoms, records: list[dict]) -> dict:
    geoms = shapely.transform(np.asarray(geoms, dtype=object), lambda c: np.round(c, 6))
    return json.loads(feature_collection(geoms, records))


# --------------------------------------------------------------------------- payloads
def coverage(ws, *, facility: str, minutes: float, commodities=(), statuses=(), scenario=None) -> dict:
    """:meth:`CoverageSummary.to_dict` plus ``uncovered_geojson`` (village points).

    With a network ``scenario`` (name), the coverage on it plus ``scenario_difference``
    (:func:`web.services.scenarios.compare_coverage`: base vs scenario, villages losing coverage,
    added minutes).

    Raises :class:`planner.errors.UnknownCommodity`, :class:`web.services.errors.NoRoads`
    without roads, :class:`web.services.errors.BadSetting` for a bad ``network`` setting.
    """
    from planner.coverage import coverage_summary

    graph, settings = _graph(ws, scenario)
    vill = services.villages(ws)
    summary = coverage_summary(graph, vill, _facilities(ws, facility, statuses), cutoff_min=minutes,
                               commodities=list(commodities) or None, max_snap_m=settings.max_snap_m)
    out = {"facility": facility, "statuses": list(statuses), **summary.to_dict()}
    out["off_network"] = [record("facility", r["facility_id"], _text(r["facility_name"]), r["reason"],
                                 r["network_m"], r["fragment_m"])
                          for r in summary.facilities_off_network.to_dict("records")]
    table = summary.villages
    uncovered = np.flatnonzero(table["status"].to_numpy() != "covered")
    records = [{
        "village_id": _text(table["village_id"].iat[i]), "name": _text(table["village_name"].iat[i]),
        "town": _text(table["town"].iat[i]), "status": table["status"].iat[i], "reason": _text(table["reason"].iat[i]),
        "minutes": _num(table["minutes"].iat[i]),
        # the JSON writes minutes at 0.01 (30.004 → 30.0): the text keeps a late village over the cutoff
        "minutes_text": _late_minutes(table["minutes"].iat[i], minutes),
        "network_m": metres(table["network_m"].iat[i]), "fragment_m": metres(table["fragment_m"].iat[i]),
        "facility_id": _text(table["facility_id"].iat[i]), "facility_name": _text(table["facility_name"].iat[i]),
        "population": _num(table["population"].iat[i]),
        "monitored_households": _num(table["monitored_households"].iat[i]),
    } for i in uncovered]
    out["uncovered_geojson"] = _point_features(vill.geometry.to_numpy()[uncovered], records)
    if scenario:
        from . import scenarios

        out["scenario_difference"] = scenarios.compare_coverage(
            ws, scenario=scenario, facility=facility, minutes=minutes, commodities=commodities,
            statuses=statuses or services.EXISTING_STATUSES)
    return out


def accessibility(ws, *, facility: str, statuses=(), scenario=None) -> dict:
    """Villages as points with their nearest facility, minutes (null: unreachable) and reason."""
    from planner.travel import accessibility as nearest

    graph, settings = _graph(ws, scenario)
    vill = services.villages(ws)
    fac = _facilities(ws, facility, statuses)
    from planner.snap import snap_points

    from planner.travel import point_reasons

    fac_snap = snap_points(graph, fac, max_snap_m=settings.max_snap_m)
    vill_snap = snap_points(graph, vill, max_snap_m=settings.max_snap_m)
    table = nearest(graph, vill, fac, max_snap_m=settings.max_snap_m, facility_snap=fac_snap,
                    village_snap=vill_snap)  # per village, in order
    towns = vill["town"].fillna("").astype(str).tolist() if "town" in vill.columns else [""] * len(vill)
    records = [{
        "village_id": _text(r.village_id), "name": _text(r.village_name), "town": town,
        "facility_id": _text(r.facility_id), "facility_name": _text(r.facility_name),
        "minutes": _num(r.minutes), "reason": _text(r.reason) or "",
        "network_m": metres(net_m) if r.reason else None, "fragment_m": metres(frag_m) if r.reason else None,
    } for r, town, net_m, frag_m in zip(table.itertuples(index=False), towns, vill_snap.network_m,
                                        vill_snap.fragment_m)]
    out = _point_features(vill.geometry.to_numpy(), records)
    out["facility"] = facility
    out["facilities"] = int(len(fac))
    out["off_network"] = off_network(fac_snap, "facility", point_reasons(graph, fac_snap, vill_snap))
    out["estimate"] = _estimate(graph)
    return out


def service_areas(ws, *, facility: str, minutes, facility_id: str | None = None, dissolve: bool = False,
                  statuses=(), scenario=None) -> dict:
    """Service-area polygons (EPSG:4326) of one facility (``facility_id``) or the whole layer.

    Raises :class:`web.services.errors.UnknownFacility` when ``facility_id`` is not in the layer.
    """
    from planner.service_area import service_areas as build

    fac = _facilities(ws, facility, statuses)
    if facility_id is not None:
        fac = fac[fac["id"].astype(str) == str(facility_id)]
        if not len(fac):
            raise UnknownFacility(id=repr(facility_id), layer=facility)
    graph, settings = _graph(ws, scenario)
    areas = build(graph, fac, cutoffs_min=minutes, dissolve=dissolve, max_snap_m=settings.max_snap_m)
    # Largest first, so the browser draws the smaller (nearer) areas on top.
    areas = areas.sort_values("cutoff_min", ascending=False, kind="stable")
    geoms = shapely.simplify(areas.geometry.to_numpy(), _SIMPLIFY_DEG, preserve_topology=True)
    geoms = shapely.transform(geoms, lambda c: np.round(c, _DECIMALS))
    keep = [c for c in ("facility_id", "facility_name", "cutoff_min", "n_facilities", "reason", "estimate")
            if c in areas]
    records = []
    for rec, area in zip(areas[keep].to_dict("records"), areas["area_km2"]):
        rec = {k: (str(v) if k == "facility_id" else v) for k, v in rec.items()}
        rec["area_km2"] = round(float(area), 2)
        records.append(rec)
    out = json.loads(feature_collection(geoms, records))
    out["facility"] = facility
    out["cutoffs_min"] = [float(c) for c in minutes]
    from planner.snap import snap_points
    from planner.travel import point_reasons

    snap = snap_points(graph, fac, max_snap_m=settings.max_snap_m)
    out["off_network"] = off_network(snap, "facility", point_reasons(graph, snap))
    out["estimate"] = _estimate(graph)
    return out


def layer_size(ws, layer: str) -> int:
    return len(services.villages(ws)) if layer == "villages" else len(services.facility_points(ws, layer))


def od(ws, *, origins: str, destinations: str, cutoff_min: float | None = None, scenario=None) -> dict:
    """Travel minutes between two layers (``null``: unreachable or beyond the cutoff).

    With a network ``scenario`` (name), also ``minutes_base`` on the base network."""
    from planner.travel import point_reasons, travel_time_matrix

    graph, settings = _graph(ws, scenario)

    def points(layer):
        return services.villages(ws) if layer == "villages" else services.facility_points(ws, layer)

    matrix = travel_time_matrix(graph, points(origins), points(destinations), cutoff_min=cutoff_min,
                                max_snap_m=settings.max_snap_m)
    out = {"from": origins, "to": destinations, **matrix.to_dict()}
    so, sd = matrix.origin_snap, matrix.destination_snap
    o_reason, d_reason = point_reasons(graph, so, sd), point_reasons(graph, sd, so)
    # the one rule here too (the matrix's own lists hold the snap reasons only)
    out["origin_reasons"], out["destination_reasons"] = [str(x) for x in o_reason], [str(x) for x in d_reason]
    out["off_network"] = off_network(so, "origin", o_reason) + off_network(sd, "destination", d_reason)
    out["warnings"] = [*matrix.origin_snap.warnings(), *matrix.destination_snap.warnings()]
    out["minutes"] = [[None if v is None else round(v, 2) for v in row] for row in out["minutes"]]
    if scenario:
        base = travel_time_matrix(_graph(ws)[0], points(origins), points(destinations), cutoff_min=cutoff_min,
                                  max_snap_m=settings.max_snap_m).minutes
        out["scenario"] = scenario
        out["minutes_base"] = [[round(float(v), 2) if np.isfinite(v) else None for v in row] for row in base]
    return out


def resilience(ws, *, scenario=None, target: str = "towns", top: int = 20) -> dict:
    """:func:`web.services.resilience.analyse` (typed errors — no roads, a bad scenario or
    target — go to the adapter as they are)."""
    from . import resilience as R

    return R.analyse(ws, scenario=scenario, target=target, top=top)
