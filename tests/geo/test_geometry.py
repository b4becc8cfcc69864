import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from geo.geometry import (
    find_invalid_geometries, repair_geometries, report_invalid_geometries, round_coords,
    simplify_for_display,
)

BOWTIE = Polygon([(0, 0), (1, 1), (1, 0), (0, 1), (0, 0)])


def test_find_invalid_geometries():
    s = gpd.GeoSeries([box(0, 0, 1, 1), BOWTIE, None, Polygon()], index=[10, 11, 12, 13])
    reasons = find_invalid_geometries(s)
    assert list(reasons.index) == [10, 11, 12, 13]
    assert reasons[10] is None
    assert reasons[11].startswith("Self-intersection")
    assert reasons[12] == reasons[13] == "missing"


def test_report_invalid_geometries_rows_and_reason():
    problems = report_invalid_geometries([box(0, 0, 1, 1), BOWTIE, None], file="村界.shp")
    assert [(p.code, p.row, p.file) for p in problems] == [("geometry_invalid", 2, "村界.shp")]
    assert "Self-intersection" in problems[0].text()
    problems = report_invalid_geometries([BOWTIE, None], rows=[5, 9], include_missing=True)
    assert [(p.code, p.row) for p in problems] == [("geometry_invalid", 5), ("geometry_missing", 9)]


def test_repair_geometries():
    fixed = repair_geometries(gpd.GeoSeries([BOWTIE, box(0, 0, 1, 1), None]))
    assert shapely.is_valid(fixed[0]) and fixed[0].area == pytest.approx(0.5)
    assert fixed[1].equals(box(0, 0, 1, 1))
    assert fixed[2] is None


def _wiggly_line(n=2000):
    # ~11 km east-west at 35 N with 1 m zig-zags
    xs = np.linspace(111.0, 111.12, n)
    ys = 35.0 + np.where(np.arange(n) % 2, 1e-5, 0.0)
    return LineString(np.column_stack([xs, ys]))


def test_simplify_for_display_metric_tolerance():
    gdf = gpd.GeoDataFrame({"name": ["a", "b", "c"]},
                           geometry=[_wiggly_line(), None, Point(111.05, 35.0)],
                           crs="EPSG:4326")
    out = simplify_for_display(gdf, 5.0)
    assert out.crs.to_epsg() == 4326
    assert list(out.index) == [0, 2]  # None dropped
    assert len(out.geometry.iloc[0].coords) < 10  # 1 m wiggles gone at 5 m
    out_fine = simplify_for_display(gdf, 0.1)
    assert len(out_fine.geometry.iloc[0].coords) > 1000  # kept below tolerance
    assert out.geometry.iloc[1].equals_exact(Point(111.05, 35.0), 1e-9)


def test_simplify_for_display_keeps_polygons_valid_and_accepts_projected_input():
    angles = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    radius = 1000 + 3 * np.sin(angles * 50)  # 1 km circle with 3 m ripples
    ring = np.column_stack([37_500_000 + radius * np.cos(angles),
                            3_900_000 + radius * np.sin(angles)])
    gdf = gpd.GeoDataFrame(geometry=[Polygon(ring)], crs="EPSG:4525")
    out = simplify_for_display(gdf, 10.0)
    assert out.crs.to_epsg() == 4326
    geom = out.geometry.iloc[0]
    assert geom.is_valid and len(geom.exterior.coords) < 100
    assert geom.centroid.x == pytest.approx(111.0, abs=1e-4)


def test_simplify_coverage_keeps_shared_edge():
    # two neighbouring polygons sharing a wiggly border
    xs = np.linspace(111.0, 111.1, 300)
    border = [(x, 35.05 + (1e-5 if i % 2 else 0)) for i, x in enumerate(xs)]
    south = Polygon([(111.0, 35.0), (111.1, 35.0)] + border[::-1])
    north = Polygon(border + [(111.1, 35.1), (111.0, 35.1)])
    gdf = gpd.GeoDataFrame(geometry=[south, north], crs="EPSG:4326")
    out = simplify_for_display(gdf, 20.0, coverage=True)
    a, b = out.geometry
    assert a.intersection(b).area < 1e-12  # no overlap
    assert a.union(b).area == pytest.approx(south.union(north).area, rel=1e-6)  # no gap


def test_simplify_negative_tolerance_rejected():
    with pytest.raises(ValueError, match="tolerance_m"):
        simplify_for_display(gpd.GeoDataFrame(geometry=[Point(1, 1)], crs=4326), -1)


def test_round_coords_shrinks_geojson():
    gdf = gpd.GeoDataFrame({"v": [1]}, geometry=[LineString([(111.123456789, 35.987654321),
                                                            (111.2, 35.3)])], crs="EPSG:4326")
    out = round_coords(gdf)
    assert list(out.geometry.iloc[0].coords)[0] == (111.123457, 35.987654)
    assert gdf.geometry.iloc[0].coords[0][0] == 111.123456789  # input untouched
    assert len(out.to_json()) < len(gdf.to_json())
    assert json.loads(out.to_json())["features"][0]["properties"] == {"v": 1}
    series = round_coords(gdf.geometry, ndigits=1)
    assert isinstance(series, gpd.GeoSeries) and series.crs == gdf.crs
    assert list(series.iloc[0].coords)[0] == (111.1, 36.0)


@pytest.mark.realdata
def test_wenxi_boundary_gcj02_to_display():
    from geo.crs import metric_crs_for, transform_frame_to_wgs84
    from geo.vector import read_vector
    from tests.conftest import shared_data

    gdf, problems = read_vector(shared_data("china-counties", "boundary_140823.geojson"))
    assert problems == []
    wgs = transform_frame_to_wgs84(gdf, source_crs="gcj02")  # Amap fences are GCJ-02
    shift = gdf.geometry.iloc[0].centroid.distance(wgs.geometry.iloc[0].centroid)
    assert 0.003 < shift < 0.01  # a few hundred metres
    assert metric_crs_for(wgs).to_epsg() == 4525  # 闻喜, CM 111 E
    small = simplify_for_display(wgs, 50.0)
    assert find_invalid_geometries(small).isna().all()
    before = shapely.get_num_coordinates(wgs.geometry.values).sum()
    after = shapely.get_num_coordinates(small.geometry.values).sum()
    assert after < before / 2
    assert small.geometry.iloc[0].area == pytest.approx(wgs.geometry.iloc[0].area, rel=0.01)
