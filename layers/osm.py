"""OpenStreetMap to workspace layers: the documented highway → road-class mapping.

China's administrative road classes (国道/省道/县道/乡道/村道) have no OSM tag of their
own; OSM's functional classes are the closest match, and this is the mapping used by
Chinese OSM mappers' guidelines in spirit:

================================  ==========  ================================
highway=                          road_class  note
================================  ==========  ================================
motorway, trunk (+ _link)         national    expressways and G roads
primary (+ _link)                 provincial  S roads
secondary (+ _link)               county      X roads
tertiary (+ _link)                township    Y roads
unclassified, residential,        village     C roads and village streets
living_street, service
track                             other       farm tracks; unpaved unless tagged
================================  ==========  ================================

Footways, paths, steps, cycleways, bridleways, construction and proposed roads are not
drivable and are left out. ``oneway=yes|1|true`` is one-way in digitised direction;
``oneway=-1`` is one-way against it, so the line is reversed.

Villages come from ``place=village|hamlet`` nodes. OSM has no 12-digit statistical code,
so the village code is the node id left-padded to 12 digits (a leading ``00`` never
occurs in real codes, whose first two digits are a province); the town is the nearest
``place=town|city|suburb`` node.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import osm as geo_osm
from geo.report import N_, Problem, warning

HIGHWAY_CLASS = {
    "motorway": "national", "motorway_link": "national", "trunk": "national", "trunk_link": "national",
    "primary": "provincial", "primary_link": "provincial",
    "secondary": "county", "secondary_link": "county",
    "tertiary": "township", "tertiary_link": "township",
    "unclassified": "village", "residential": "village", "living_street": "village", "service": "village",
    "road": "village",
    "track": "other",
}
_PAVED = {"paved", "asphalt", "concrete", "concrete:plates", "concrete:lanes", "paving_stones", "sett", "cobblestone",
          "metal", "wood", "chipseal"}
_UNPAVED = {"unpaved", "gravel", "fine_gravel", "dirt", "earth", "ground", "grass", "mud", "sand", "compacted",
            "pebblestone", "grass_paver", "rock"}


def roads_from_osm(lines: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drivable OSM ways as records of the ``roads`` layer."""
    keep = lines["highway"].isin(HIGHWAY_CLASS.keys())
    ways = lines[keep].reset_index(drop=True)
    road_class = ways["highway"].map(HIGHWAY_CLASS)
    surface_tag = ways.get("surface", pd.Series([None] * len(ways))).astype(object)
    surface = np.where(surface_tag.isin(_UNPAVED), "unpaved",
                       np.where(surface_tag.isin(_PAVED), "paved",
                                np.where(road_class == "other", "unpaved", "paved")))
    oneway_tag = ways.get("oneway", pd.Series([None] * len(ways))).astype(object).map(
        lambda v: str(v).strip().lower() if v is not None and v == v else "")
    reverse = (oneway_tag == "-1").to_numpy()
    geoms = np.asarray(ways.geometry.values, dtype=object)
    geoms[reverse] = shapely.reverse(geoms[reverse])
    speed = pd.to_numeric(ways["maxspeed_kmh"], errors="coerce") if "maxspeed_kmh" in ways else \
        pd.Series(np.nan, index=ways.index)
    return gpd.GeoDataFrame({
        "id": "osm" + ways["osm_id"].astype(str),
        "name": ways["name"],
        "road_class": road_class,
        "surface": surface,
        "speed_kmh": speed.where((speed >= 1) & (speed <= 130)),
        "oneway": oneway_tag.isin(["yes", "1", "true", "-1"]).to_numpy(),
    }, geometry=geoms, crs=lines.crs)


def villages_from_osm(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``place=village|hamlet`` nodes as records of the ``villages`` layer."""
    is_village = places["place"].isin(["village", "hamlet"])
    villages = places[is_village].reset_index(drop=True)
    towns = places[places["place"].isin(["town", "city", "suburb"])].reset_index(drop=True)
    town_names = [None] * len(villages)
    if len(towns):
        tree = shapely.STRtree(np.asarray(towns.geometry.values))
        nearest = tree.nearest(np.asarray(villages.geometry.values))
        town_names = towns["name"].to_numpy()[nearest]
    population = villages["population"] if "population" in villages else pd.Series([None] * len(villages))
    return gpd.GeoDataFrame({
        "code": villages["osm_id"].astype(str).str.zfill(12),
        "name": villages["name"],
        "town": town_names,
        "population": population,
    }, geometry=villages.geometry.values, crs=places.crs)


def towns_from_osm(places: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    towns = places[places["place"].isin(["town", "city"])].reset_index(drop=True)
    return gpd.GeoDataFrame({
        "code": towns["osm_id"].astype(str).str.zfill(12),
        "name": towns["name"],
    }, geometry=towns.geometry.values, crs=places.crs)


def read_osm_layers(path, *, file: str) -> tuple[dict[str, gpd.GeoDataFrame], list[Problem]]:
    """Roads, villages and towns from an OSM PBF file."""
    lines, places = geo_osm.read_osm_pbf(path)
    frames = {"roads": roads_from_osm(lines), "villages": villages_from_osm(places), "towns": towns_from_osm(places)}
    problems = []
    unnamed = frames["villages"]["name"].isna().sum()
    if unnamed:
        problems.append(warning("osm_unnamed", N_("{count} place nodes have no name"), params={"count": int(unnamed)},
                                file=file))
    return frames, problems
