"""Resilience of the workspace's road network as JSON/GeoJSON (Flask-free: CLI, API, map).

Calls :func:`planner.resilience.resilience_analysis` on the base network or a scenario
(:mod:`web.services.scenarios`), adds road names and classes, and draws the ranked links (the
road stretches whose loss cuts villages off) and the single-access villages in WGS84.
Only village-level counts leave this module.
"""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from geo.errors import InvalidInput

import web.services as services

from . import scenarios as scen

#: Where villagers travel for the detour minutes.
TARGET_LAYERS = ("towns", *[f for f in services.FACILITY_LAYERS if f != "towns"])
DEFAULT_TOP = 20
MAX_TOP = 500


class BadTarget(InvalidInput):
    code = "resilience.target_invalid"
    en = "Target layer {value!r} is not valid; expected one of {choices}"
    zh = "目的地图层 {value!r} 无效，应为以下之一：{choices}"


def analyse(ws, *, scenario: str | None = None, target: str = "towns", top: int = DEFAULT_TOP) -> dict:
    """The resilience report as a JSON-ready dict.

    Returns
    -------
    dict
        ``totals``; ``links`` (top ``top`` by people cut off, each with road ids, names,
        classes, length, villages/people/households/monitored households by kind and
        produce tonnes cut off, and the village names); ``detours`` (top ``top``
        non-bridge segments by person-minutes); ``single_access`` (every village with a
        single access); ``links_geojson`` and ``villages_geojson`` for the map;
        ``scenario`` (name or null) and ``target``.

    Raises
    ------
    BadTarget
        For an unknown target layer.
    planner.scenario.UnknownScenario
        For an unknown scenario.
    ValueError
        When the workspace has no roads (:func:`web.services.road_graph`).
    """
    from planner.resilience import MEASURES, resilience_analysis

    if target not in TARGET_LAYERS:
        raise BadTarget(value=target, choices=", ".join(TARGET_LAYERS))
    top = int(max(1, min(int(top), MAX_TOP)))
    sc = scen.resolve(ws, scenario)
    settings = services.NetworkSettings.from_workspace(ws)
    graph = scen.road_graph(ws, settings=settings, scenario=sc)
    villages = services.villages(ws)
    statuses = services.EXISTING_STATUSES if target != "towns" else None
    targets = services.facility_points(ws, target, statuses=statuses)
    targets = targets[targets.geometry.notna()].reset_index(drop=True)
    result = resilience_analysis(graph, villages, targets, max_snap_m=settings.max_snap_m)

    roads = ws.read_layer("roads")
    info = pd.DataFrame({"road_id": roads["id"].astype(str) if "id" in roads.columns else roads.index.astype(str),
                         "name": roads["name"] if "name" in roads.columns else None,
                         "road_class": roads["road_class"] if "road_class" in roads.columns else None})
    info = info.drop_duplicates("road_id").set_index("road_id")
    names = {str(v["village_id"]): v["village_name"] for v in result.villages[["village_id", "village_name"]]
             .to_dict("records")}

    seg = result.segments
    links = result.links.head(top).copy()
    link_records = []
    geoms = []
    for row in links.itertuples(index=False):
        pieces = seg.iloc[list(row.pieces)]
        lines = [substring(graph.edge_geometry[e], f0, f1, normalized=True)
                 for e, f0, f1 in zip(pieces["edge"], pieces["from_fraction"], pieces["to_fraction"])]
        geoms.append(shapely.multilinestrings(lines) if lines else None)
        rec = {"rank": int(row.rank), "link": int(row.link), "road_ids": list(row.road_ids),
               "road_names": [_text(info["name"].get(r)) for r in row.road_ids],
               "road_classes": [_text(info["road_class"].get(r)) for r in row.road_ids],
               "length_m": round(float(row.length_m), 1), "villages_cut": int(row.villages_cut)}
        for m in MEASURES:
            rec[f"{m}_cut"] = round(float(getattr(row, f"{m}_cut")), 2)
        rec["village_ids"] = list(row.village_ids)
        rec["village_names"] = [names.get(v) for v in row.village_ids]
        lost = getattr(row, "villages_lost_target", None)
        rec["villages_lose_target"] = None if lost is None else int(lost)
        link_records.append(rec)
    links_geojson = _features(geoms, [{k: v for k, v in r.items() if k not in ("village_ids",)}
                                      for r in link_records], graph.crs)

    detours = []
    dgeoms = []
    for row in result.detours.head(top).itertuples(index=False):
        dgeoms.append(substring(graph.edge_geometry[row.edge], row.from_fraction, row.to_fraction, normalized=True))
        detours.append({"rank": len(detours) + 1, "road_id": str(row.road_id),
                        "road_name": _text(info["name"].get(str(row.road_id))),
                        "road_class": _text(info["road_class"].get(str(row.road_id))),
                        "length_m": round(float(row.length_m), 1), "villages_delayed": int(row.villages_delayed),
                        "added_min_max": round(float(row.added_min_max), 2),
                        "added_min_sum": round(float(row.added_min_sum), 2),
                        "person_min": round(float(row.person_min), 1)})
    detours_geojson = _features(dgeoms, detours, graph.crs)

    vt = result.villages
    single = vt[vt["single_access"]].copy()
    single_records = [{
        "village_id": str(r.village_id), "name": _text(r.village_name), "town": _text(r.town),
        "bridges": int(r.bridges), "access_road_id": _text(r.access_road_id),
        "access_road_name": _text(info["name"].get(str(r.access_road_id))),
        "access_link": int(r.access_link), "critical_link": int(r.critical_link),
        "population": float(r.population), "monitored_households": float(r.monitored_households),
        "produce_t": round(float(r.produce_t), 1),
        "minutes": _num(getattr(r, "minutes", np.nan)),
    } for r in single.itertuples(index=False)]
    single_records.sort(key=lambda r: -r["population"])
    vgeom = villages.geometry.to_numpy()[vt["single_access"].to_numpy()]
    order = {r["village_id"]: r for r in single_records}
    villages_geojson = _features(list(vgeom), [order[str(v)] for v in single["village_id"]], villages.crs)

    return {
        "scenario": None if sc is None else sc.name, "target": target, "top": top,
        "totals": {**{k: v for k, v in result.totals.items()},
                   "produce_t_single_access": round(float(single["produce_t"].sum()), 1)},
        "links": link_records, "detours": detours, "single_access": single_records,
        "links_geojson": links_geojson, "detours_geojson": detours_geojson, "villages_geojson": villages_geojson,
    }


def _text(value):
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return None
    return str(value)


def _num(value):
    value = float(value)
    return round(value, 2) if np.isfinite(value) else None


def _features(geoms, props, crs) -> dict:
    from .mapdata import feature_collection

    if not len(geoms):
        return {"type": "FeatureCollection", "features": []}
    frame = gpd.GeoSeries(list(geoms), crs=crs).to_crs("EPSG:4326")
    out = shapely.transform(frame.to_numpy(), lambda c: np.round(c, 6))
    return json.loads(feature_collection(out, props))
