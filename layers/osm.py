"""OpenStreetMap to workspace layers: the documented highway → road-class mapping.

China's administrative road classes (国道/省道/县道/乡道/村道) have no OSM tag of their
own; OSM's functional classes are the closest match, and this is the mapping used by
Chinese OSM mappers' guidelines in spirit. Access control is carried over: a road one
can enter only at interchanges (高速公路; OSM ``motorway``, or ``trunk`` tagged
``motorroad=yes``) is class ``expressway``, so that network analysis enters it only
where the file connects it to other roads — through its ramps. The ramps themselves
(``motorway_link``) are ordinary ``national`` roads: they join the expressway to the
road network and carry the lower ramp speed.

=====================================  ==========  ==================================
highway=                               road_class  note
=====================================  ==========  ==================================
motorway                               expressway  高速公路, access-controlled
trunk with motorroad=yes               expressway  一级公路 built as 快速路
motorway_link, trunk, trunk_link       national    ramps; G roads
primary (+ _link)                      provincial  S roads
secondary (+ _link)                    county      X roads
tertiary (+ _link)                     township    Y roads
unclassified, residential,             village     C roads and village streets
living_street, service, road
track                                  other       farm tracks; unpaved unless tagged
=====================================  ==========  ==================================

Footways, paths, steps, cycleways, bridleways, construction and proposed roads are not
drivable and are left out. ``oneway=yes|1|true`` is one-way in digitised direction;
``oneway=-1`` is one-way against it, so the line is reversed. A motorway is one-way
when OSM says so (dual carriageways are mapped as two one-way ways).

Villages come from ``place=village|hamlet`` nodes. OSM has no 12-digit statistical code,
so the village code is the node id left-padded to 12 digits (a leading ``00`` never
occurs in real codes, whose first two digits are a province). The town is the nearest
``place=town|city|suburb`` node of the file; when the file has none, the workspace's town
boundary containing the village (or within ~1 km of it; else the nearest town centre of
the ``towns`` layer within ~30 km); otherwise the town is left empty, with one warning
for the file.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import osm as geo_osm
from geo.report import N_, Problem, warning

#: OSM file name endings the importer reads as OpenStreetMap.
OSM_SUFFIXES = geo_osm.OSM_SUFFIXES

HIGHWAY_CLASS = {
    "motorway": "expressway", "motorway_link": "national", "trunk": "national", "trunk_link": "national",
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
    motorroad = ways.get("motorroad", pd.Series([None] * len(ways))).astype(object).map(
        lambda v: "" if pd.isna(v) else str(v).strip().lower())
    road_class = road_class.where(~((ways["highway"] == "trunk") & (motorroad == "yes")).to_numpy(), "expressway")
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


# How far (degrees, ~1 km and ~30 km) a village may lie from a town boundary or a town
# centre of the workspace and still take its name.
_NEAR_BOUNDARY_DEG = 0.01
_NEAR_CENTRE_DEG = 0.3


def villages_from_osm(places: gpd.GeoDataFrame, *, town_areas: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """``place=village|hamlet`` nodes as records of the ``villages`` layer.

    Parameters
    ----------
    places
        :func:`geo.osm.read_osm`'s places.
    town_areas
        The workspace's towns (``name`` + polygon or point geometry, EPSG:4326), used
        when the file has no ``place=town|city|suburb`` node: a village takes the town
        polygon containing it, else the nearest town (a centre point or the nearest
        polygon). None: the town stays empty.
    """
    is_village = places["place"].isin(["village", "hamlet"])
    villages = places[is_village].reset_index(drop=True)
    towns = places[places["place"].isin(["town", "city", "suburb"])].reset_index(drop=True)
    town_names = np.array([None] * len(villages), dtype=object)
    points = np.asarray(villages.geometry.values)
    if len(towns) and len(villages):
        tree = shapely.STRtree(np.asarray(towns.geometry.values))
        town_names = towns["name"].to_numpy()[tree.nearest(points)]
    elif town_areas is not None and len(town_areas) and len(villages):
        areas = np.asarray(town_areas.geometry.values)
        names = town_areas["name"].to_numpy()
        tree = shapely.STRtree(areas)
        inside = tree.query(points, predicate="within")  # (village index, area index)
        town_names[inside[0]] = names[inside[1]]
        rest = np.flatnonzero(pd.isna(town_names))
        if len(rest):
            # A village just across a boundary line (digitising slack) takes the nearest
            # town; one far outside every town (an extract larger than the county) none.
            polygons = shapely.get_type_id(areas) >= 3
            limit = np.where(polygons, _NEAR_BOUNDARY_DEG, _NEAR_CENTRE_DEG).max()
            near, dist = tree.query_nearest(points[rest], max_distance=limit, return_distance=True)
            ok = dist <= np.where(polygons[near[1]], _NEAR_BOUNDARY_DEG, _NEAR_CENTRE_DEG)
            town_names[rest[near[0][ok]]] = names[near[1][ok]]
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


def is_osm_file(path) -> bool:
    """Whether the importer reads ``path`` as OpenStreetMap (by its name's ending)."""
    return geo_osm.is_osm_path(path)


def read_osm_layers(path, *, file: str, layer: str | None = None,
                    town_areas: gpd.GeoDataFrame | None = None) -> tuple[dict[str, gpd.GeoDataFrame], list[Problem]]:
    """Roads, villages and towns from an OSM file (``.osm.pbf``, ``.osm``, ``.osm.gz``, ``.osm.bz2``).

    ``town_areas`` (the workspace's towns) name the villages' towns when the file has
    no town nodes; without them the towns stay empty with ONE warning (rows are not
    rejected: :data:`EMPTY_TOWN_FIELDS` tells validation so).
    """
    lines, places = geo_osm.read_osm(path)
    frames = {"roads": roads_from_osm(lines), "villages": villages_from_osm(places, town_areas=town_areas),
              "towns": towns_from_osm(places)}
    problems = []
    unnamed = frames["villages"]["name"].isna().sum()
    if unnamed:
        problems.append(warning("osm_unnamed", N_("{count} place nodes have no name"), params={"count": int(unnamed)},
                                file=file))
    no_town = int(frames["villages"]["town"].isna().sum())
    if no_town and layer in (None, "villages") and town_areas is not None and len(town_areas):
        problems.append(warning(
            "osm_town_unknown",
            N_("{count} villages lie outside every town of the workspace; their town is left empty"),
            params={"count": no_town}, file=file))
    elif no_town and layer in (None, "villages"):
        problems.append(warning(
            "osm_no_town",
            N_("{count} villages have no town: the file has no town nodes (place=town) and the workspace no "
               "town boundaries or town centres; their town is left empty — import the town boundaries first, "
               "or fill in the towns later"),
            params={"count": no_town}, file=file))
    return frames, problems


#: Fields an OSM import may leave empty although the schema requires them (reported once).
EMPTY_TOWN_FIELDS = {"villages": frozenset({"town"})}
