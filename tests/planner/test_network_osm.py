"""Real OSM extracts (Andorra, Liechtenstein 2013): build, snap, cover, service areas."""
from __future__ import annotations


import geopandas as gpd
import numpy as np
import pyogrio
import pytest

from planner.coverage import coverage_summary
from planner.graph import build_road_graph
from planner.service_area import service_areas
from planner.snap import snap_points
from planner.travel import travel_time_matrix
from tests.conftest import shared_data

pytestmark = pytest.mark.realdata

# Fallback only: the project mapping lives in layers.osm (HIGHWAY_CLASS).
_HIGHWAY = {"motorway": "national", "trunk": "national", "primary": "provincial", "primary_link": "provincial",
            "secondary": "county", "secondary_link": "county", "tertiary": "township",
            "unclassified": "village", "residential": "village", "living_street": "village", "service": "village",
            "road": "village", "track": "other"}


def _load(path):
    try:
        from geo.osm import read_osm_pbf
        from layers.osm import roads_from_osm, towns_from_osm, villages_from_osm

        lines, places = read_osm_pbf(path)
        return roads_from_osm(lines), villages_from_osm(places), towns_from_osm(places)
    except ImportError:
        lines = pyogrio.read_dataframe(path, layer="lines")
        lines = lines[lines["highway"].isin(_HIGHWAY)].reset_index(drop=True)
        roads = gpd.GeoDataFrame({"id": lines["osm_id"], "road_class": lines["highway"].map(_HIGHWAY)},
                                 geometry=lines.geometry, crs=lines.crs)
        pts = pyogrio.read_dataframe(path, layer="points")
        v = pts[pts["place"].isin(["village", "hamlet"])].reset_index(drop=True)
        t = pts[pts["place"].isin(["town", "city"])].reset_index(drop=True)
        villages = gpd.GeoDataFrame({"code": v["osm_id"].str.zfill(12), "name": v["name"], "town": ""},
                                    geometry=v.geometry, crs=v.crs)
        towns = gpd.GeoDataFrame({"code": t["osm_id"], "name": t["name"]}, geometry=t.geometry, crs=t.crs)
        return roads, villages, towns


@pytest.mark.parametrize("name", ["andorra", "liechtenstein"])
def test_osm_extract_coverage(name):
    roads, villages, towns = _load(shared_data("osm", f"{name}-2013.osm.pbf"))
    assert len(villages) >= 10 and len(towns) >= 1
    graph = build_road_graph(roads, merge_tolerance_m=2.0)  # build time is measured in bench/, not here
    summary = graph.summary()
    assert summary["n_edges"] > 1000
    assert summary["main_component_nodes"] > 0.8 * summary["n_nodes"]

    snap = snap_points(graph, villages, id_column="code")
    assert (snap.ok.mean()) >= 0.7, snap.to_frame()["reason"].value_counts()
    # the 2 km rule of thumb: the snap distance of reachable villages is short
    assert np.nanmedian(snap.access_m[snap.ok]) < 300

    cov = coverage_summary(graph, villages, towns, cutoff_min=30, village_snap=snap)
    t = cov.totals
    assert t["villages"] == len(villages)
    assert t["villages_covered"] + t["villages_too_far"] + t["villages_unreachable"] == len(villages)
    assert t["villages_covered"] > 0
    assert t["villages_covered"] >= 0.5 * len(villages)
    covered = cov.villages[cov.villages["status"] == "covered"]
    assert (covered["minutes"] <= 30).all()

    # the matrix agrees with the nearest-facility search
    m = travel_time_matrix(graph, villages, towns, origin_snap=snap)
    near = m.minutes.min(axis=1)
    reach = np.isfinite(cov.villages["minutes"].to_numpy())
    np.testing.assert_allclose(near[reach], cov.villages["minutes"].to_numpy()[reach], rtol=1e-5)

    areas = service_areas(graph, towns, cutoffs_min=(10, 30), max_snap_m=1000)
    assert len(areas) == 2 * len(towns)
    ok = areas[areas["reason"] == ""]
    pivot = ok.pivot_table(index="facility_id", columns="cutoff_min", values="area_km2")
    assert (pivot[30.0] >= pivot[10.0]).all() and (pivot[30.0] > 0).all()
