"""Service-area polygons: hand-checked extents, one-way, monotone growth (Hypothesis)."""
from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point

from planner.graph import build_road_graph
from planner.service_area import service_areas
from planner.synthetic import synthetic_roads

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0


def straight(oneway=False):
    # 10 km county road (40 km/h: 1.5 min per km)
    r = gpd.GeoDataFrame({"id": ["r"], "road_class": ["county"], "oneway": [oneway]},
                         geometry=[LineString([(X0, Y0), (X0 + 10_000, Y0)])], crs=CRS)
    return build_road_graph(r)


def fac(*xy, ids=None):
    return gpd.GeoDataFrame({"id": ids or [f"f{i}" for i in range(len(xy))], "name": ["n"] * len(xy)},
                            geometry=[Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


def metric_bounds(frame, graph):
    return np.asarray(frame.to_crs(graph.crs).geometry.bounds) - [X0, Y0, X0, Y0]


def test_partial_edge_interpolated_by_time():
    g = straight()
    out = service_areas(g, fac((0, 0)), cutoffs_min=(3, 6), buffer_m=200)
    assert out.crs.to_epsg() == 4326
    assert list(out["cutoff_min"]) == [3, 6]
    # 3 min at 40 km/h = 2 km of road, buffered by 200 m
    np.testing.assert_allclose(metric_bounds(out, g), [[-200, -200, 2200, 200], [-200, -200, 4200, 200]], atol=1)
    # area: 2 km x 400 m strip + the two half-disc caps (16-gon)
    cap = shapely.area(shapely.buffer(shapely.Point(0, 0), 200, quad_segs=4))
    assert out["area_km2"].iloc[0] == pytest.approx((2000 * 400 + cap) / 1e6, rel=1e-3)


def test_access_leg_uses_time_before_the_road():
    g = straight()
    # 250 m off the road: 3 min of walking leaves 3 min = 2 km of driving each way
    out = service_areas(g, fac((5000, 250)), cutoffs_min=(6,), buffer_m=100)
    b = metric_bounds(out, g)[0]
    np.testing.assert_allclose(b[[0, 2]], [3000 - 100, 7000 + 100], atol=1)
    assert b[3] == pytest.approx(350, abs=1)  # leg to the facility included


def test_one_way_direction():
    g = straight(oneway=True)
    f = fac((5000, 0))
    away = metric_bounds(service_areas(g, f, cutoffs_min=(3,), direction="from_facility", buffer_m=100), g)[0]
    to = metric_bounds(service_areas(g, f, cutoffs_min=(3,), direction="to_facility", buffer_m=100), g)[0]
    np.testing.assert_allclose(away[[0, 2]], [4900, 7100], atol=1)  # reached going forward only
    np.testing.assert_allclose(to[[0, 2]], [2900, 5100], atol=1)  # from where you can drive to it


def test_unreachable_facility_kept_with_empty_polygon_and_dissolve():
    g = straight()
    f = fac((1000, 0), (8000, 0), (5000, 9000))
    out = service_areas(g, f, cutoffs_min=(3, 6), buffer_m=150)
    assert len(out) == 6
    far = out[out["facility_id"] == "f2"]
    assert (far["reason"] == "too_far_from_road").all() and far.geometry.is_empty.all()
    d = service_areas(g, f, cutoffs_min=(3, 6), buffer_m=150, dissolve=True)
    assert list(d["cutoff_min"]) == [3, 6] and list(d["n_facilities"]) == [2, 2]
    per = out[out["reason"] == ""].groupby("cutoff_min")["area_km2"]
    assert (d["area_km2"].to_numpy() <= per.sum().to_numpy() + 1e-9).all()
    assert (d["area_km2"].to_numpy() >= per.max().to_numpy() - 1e-9).all()


def test_bad_cutoffs_raise():
    with pytest.raises(ValueError, match="cutoffs_min"):
        service_areas(straight(), fac((0, 0)), cutoffs_min=())


@lru_cache(maxsize=1)
def _grid_graph():
    roads = synthetic_roads(7, 7, spacing_m=600, drop_fraction=0.3, oneway_fraction=0.3, seed=11)
    return build_road_graph(roads)


@settings(max_examples=25, deadline=None)
@given(
    fx=st.floats(0, 1), fy=st.floats(0, 1),
    cutoffs=st.lists(st.floats(0.5, 40), min_size=2, max_size=4, unique=True),
    direction=st.sampled_from(["to_facility", "from_facility"]),
)
def test_service_areas_grow_with_cutoff(fx, fy, cutoffs, direction):
    g = _grid_graph()
    xmin, ymin = g.node_xy.min(axis=0)
    xmax, ymax = g.node_xy.max(axis=0)
    f = gpd.GeoDataFrame({"id": ["f"]}, geometry=[Point(xmin + fx * (xmax - xmin), ymin + fy * (ymax - ymin))],
                         crs=g.crs)
    out = service_areas(g, f, cutoffs_min=cutoffs, buffer_m=150, direction=direction, max_snap_m=5000)
    out = out.to_crs(g.crs).sort_values("cutoff_min")
    areas = out["area_km2"].to_numpy()
    assert (np.diff(areas) >= -1e-9).all()
    geoms = out.geometry.to_numpy()
    for small, big in zip(geoms[:-1], geoms[1:]):
        if not small.is_empty:
            assert shapely.buffer(big, 0.5).contains(small)
