import math

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geo import crs
from geo.crs import (
    bd09_to_gcj02, bd09_to_wgs84, choose_metric_crs, gcj02_to_bd09, gcj02_to_wgs84,
    in_china, looks_swapped, metric_crs_for, parse_crs, to_metric, to_wgs84,
    transform_frame_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02,
)

DEG_PER_M = 1 / 111_320  # latitude degrees per metre, good enough for tolerances


# wandergis/coordtransform, test/app.js (https://github.com/wandergis/coordtransform):
# the library's printed results for input (116.404, 39.915). Its forward formulas
# are the standard ones, so they must match to floating-point noise. Its inverses
# (bd09togcj02, gcj02towgs84) are the one-step approximations, which ours
# (exact, iterative) may differ from by a few centimetres.
WANDERGIS_IN = (116.404, 39.915)
WANDERGIS = {
    "wgs84togcj02": (116.41024449916938, 39.91640428150164),
    "gcj02tobd09": (116.41036949371029, 39.92133699351021),
    "bd09togcj02": (116.39762729119315, 39.90865673957631),
    "gcj02towgs84": (116.39775550083061, 39.91359571849836),
}

# googollee/eviltransform, python/test.py (https://github.com/googollee/eviltransform):
# (wgsLat, wgsLng, gcjLat, gcjLng) -- note latitude first -- Shanghai, Shenzhen,
# Beijing; asserted there to 6 decimal places.
EVILTRANSFORM_WGS_GCJ = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
]
# (That file's TESTS_bd pairs are not used: they sit ~40 m from what Baidu's
# published formula gives, so they evidently came from another source.)

# hujiulong/gcoord, test/fixtures/china-cities.json (https://github.com/hujiulong/gcoord):
# city centres published in three systems to 7 decimals (lon, lat). Their GCJ02/BD09
# pair follows Baidu's formula to the last digit; their WGS84 column differs from
# the standard GCJ-02 algorithm by ~0.5 m (gcoord's own tests allow 1e-4 deg), so
# WGS84<->GCJ-02 is checked to 1e-5 deg (~1 m) and GCJ-02<->BD-09 to 1e-7 deg.
GCOORD_CITIES = {
    "驻马店市": ((114.0164322, 33.0133556), (114.022306, 33.0115324), (114.0287781, 33.0176697)),
    "那曲地区": ((92.0499619, 31.4784436), (92.0512438, 31.4762063), (92.0576832, 31.4824421)),
    "运城市": ((111.0017421, 35.0271663), (111.0075355, 35.0264171), (111.0139261, 35.0327206)),
    "酒泉市": ((98.4937175, 39.7319946), (98.4943595, 39.7328234), (98.5008441, 39.7388949)),
    "沈阳市": ((123.4253306, 41.8032629), (123.4314787, 41.8057023), (123.438095, 41.8114013)),
    "钦州市": ((108.6503952, 21.9828281), (108.6541485, 21.9799392), (108.6607283, 21.9856319)),
}


def test_wandergis_forward_exact():
    assert wgs84_to_gcj02(*WANDERGIS_IN) == pytest.approx(WANDERGIS["wgs84togcj02"], abs=1e-12)
    assert gcj02_to_bd09(*WANDERGIS_IN) == pytest.approx(WANDERGIS["gcj02tobd09"], abs=1e-12)


def test_wandergis_inverses_within_centimetres():
    assert bd09_to_gcj02(*WANDERGIS_IN) == pytest.approx(WANDERGIS["bd09togcj02"], abs=1e-6)
    assert gcj02_to_wgs84(*WANDERGIS_IN) == pytest.approx(WANDERGIS["gcj02towgs84"], abs=1e-6)


@pytest.mark.parametrize("wgs_lat, wgs_lon, gcj_lat, gcj_lon", EVILTRANSFORM_WGS_GCJ)
def test_eviltransform_pairs(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    assert wgs84_to_gcj02(wgs_lon, wgs_lat) == pytest.approx((gcj_lon, gcj_lat), abs=1e-9)
    # their "exact" inverse is accepted within 0.5 m; ours is within a few mm
    assert gcj02_to_wgs84(gcj_lon, gcj_lat) == pytest.approx((wgs_lon, wgs_lat),
                                                             abs=0.005 * DEG_PER_M)


@pytest.mark.parametrize("city", sorted(GCOORD_CITIES))
def test_gcoord_city_centres(city):
    wgs, gcj, bd = GCOORD_CITIES[city]
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-5)
    assert gcj02_to_wgs84(*gcj) == pytest.approx(wgs, abs=1e-5)
    assert gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=1e-7)
    assert bd09_to_gcj02(*bd) == pytest.approx(gcj, abs=1e-7)
    assert wgs84_to_bd09(*wgs) == pytest.approx(bd, abs=1e-5)


def test_offset_is_hundreds_of_metres_in_china():
    lon, lat = 111.2, 35.35  # 闻喜
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    shift_m = math.hypot((g_lon - lon) * math.cos(math.radians(lat)), g_lat - lat) / DEG_PER_M
    assert 100 < shift_m < 1000


def test_outside_china_unchanged_by_gcj():
    assert wgs84_to_gcj02(1.52, 42.5) == (1.52, 42.5)  # Andorra
    assert gcj02_to_wgs84(1.52, 42.5) == (1.52, 42.5)


def test_vectorised_and_scalar_types():
    lon, lat = wgs84_to_gcj02(np.array([111.0, 112.0]), np.array([35.0, 36.0]))
    assert isinstance(lon, np.ndarray) and lon.shape == (2,)
    s_lon, s_lat = wgs84_to_gcj02(111.0, 35.0)
    assert isinstance(s_lon, float) and s_lon == lon[0] and s_lat == lat[0]


def test_nan_gives_nan_for_both():
    lon, lat = gcj02_to_wgs84([111.0, np.nan], [35.0, 35.0])
    assert np.isnan(lon[1]) and np.isnan(lat[1]) and np.isfinite(lon[0])


china_lon = st.floats(min_value=73.5, max_value=135.0)
china_lat = st.floats(min_value=18.0, max_value=53.5)


def _dist_m(lon1, lat1, lon2, lat2):
    return math.hypot((lon1 - lon2) * math.cos(math.radians(lat1)), lat1 - lat2) / DEG_PER_M


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj_round_trip_sub_centimetre(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert _dist_m(lon, lat, *back) < 0.01
    # and the other way round
    again = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert _dist_m(lon, lat, *again) < 0.01


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd_round_trips_sub_centimetre(lon, lat):
    assert _dist_m(lon, lat, *bd09_to_gcj02(*gcj02_to_bd09(lon, lat))) < 0.01
    assert _dist_m(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat))) < 0.01


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(china_lon, china_lat), min_size=1, max_size=20))
def test_vectorised_equals_scalar(points):
    lons, lats = map(np.array, zip(*points))
    v_lon, v_lat = gcj02_to_wgs84(lons, lats)
    for i, (lon, lat) in enumerate(points):
        s_lon, s_lat = gcj02_to_wgs84(lon, lat)
        assert _dist_m(s_lon, s_lat, v_lon[i], v_lat[i]) < 0.001


def test_in_china_and_swapped():
    assert in_china(111.2, 35.35) is True
    assert in_china(1.5, 42.5) is False
    assert in_china(np.nan, 35.0) is False
    assert looks_swapped(35.35, 111.2) is True
    assert looks_swapped(111.2, 35.35) is False
    assert looks_swapped(1.5, 42.5) is False  # just outside China, not swapped
    swapped = looks_swapped(np.array([35.35, 111.2]), np.array([111.2, 35.35]))
    assert swapped.tolist() == [True, False]


@pytest.mark.parametrize("text, expected", [
    ("wgs84", "wgs84"), ("WGS-84", "wgs84"), ("GCJ02", "gcj02"), ("gcj-02", "gcj02"),
    ("BD09", "bd09"), ("CGCS2000", "cgcs2000"), ("epsg:4490", "EPSG:4490"),
    (" EPSG:4525 ", "EPSG:4525"),
])
def test_parse_crs_accepts(text, expected):
    assert parse_crs(text) == expected


@pytest.mark.parametrize("text", ["", "mars", "EPSG:999999", "EPSG:abc", None, "4326"])
def test_parse_crs_rejects_with_accepted_values(text):
    with pytest.raises(ValueError, match="gcj02"):
        parse_crs(text)


def test_to_wgs84_keywords():
    assert to_wgs84(111.2, 35.35, "wgs84") == (111.2, 35.35)
    assert to_wgs84(111.2, 35.35, "cgcs2000") == (111.2, 35.35)
    assert to_wgs84(111.2, 35.35, "gcj02") == gcj02_to_wgs84(111.2, 35.35)
    assert to_wgs84(111.2, 35.35, "bd09") == bd09_to_wgs84(111.2, 35.35)


def test_to_wgs84_epsg_4490_is_lon_first():
    # pyproj's authority axis order for EPSG:4490 is lat, lon; we always take x first
    assert to_wgs84(111.2, 35.35, "EPSG:4490") == pytest.approx((111.2, 35.35))


def test_to_wgs84_gauss_krueger_zone_37():
    # the central meridian at the zone's false easting 37 500 000 m
    lon, lat = to_wgs84(37_500_000.0, 3_900_000.0, "EPSG:4525")
    assert lon == pytest.approx(111.0, abs=1e-9)
    assert 35.0 < lat < 35.5


def test_choose_metric_crs_wenxi_zone_37():
    c = choose_metric_crs(111.0, 35.2, 111.4, 35.5)  # 闻喜 around 111.2 E
    assert c.to_epsg() == 4525
    params = {p.name: p.value for p in c.coordinate_operation.params}
    assert params["Longitude of natural origin"] == 111.0
    assert params["False easting"] == 37_500_000.0


@pytest.mark.parametrize("zone", [25, 30, 37, 45])
def test_gk_zone_epsg_mapping(zone):
    cm = zone * 3
    c = choose_metric_crs(cm - 0.1, 30.0, cm + 0.1, 31.0)
    assert c.to_epsg() == 4513 + zone - 25
    params = {p.name: p.value for p in c.coordinate_operation.params}
    assert params["Longitude of natural origin"] == cm
    assert params["False easting"] == zone * 1_000_000 + 500_000


def test_choose_metric_crs_andorra_utm_31n():
    assert choose_metric_crs(1.4, 42.4, 1.8, 42.7).to_epsg() == 32631


def test_choose_metric_crs_southern_hemisphere():
    assert choose_metric_crs(18.3, -34.0, 18.5, -33.8).to_epsg() == 32734  # Cape Town


def test_to_metric_and_metric_crs_for():
    gdf = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(111.1, 35.3), Point(111.3, 35.4)],
                           crs="EPSG:4326")
    assert metric_crs_for(gdf).to_epsg() == 4525
    projected, c = to_metric(gdf)
    assert c.to_epsg() == 4525
    assert projected.crs.to_epsg() == 4525
    dist = projected.geometry.iloc[0].distance(projected.geometry.iloc[1])
    assert 19_000 < dist < 22_000


def test_transform_frame_to_wgs84_from_4490_keeps_coordinates():
    gdf = gpd.GeoDataFrame(geometry=[Point(111.2, 35.35)], crs="EPSG:4490")
    out = transform_frame_to_wgs84(gdf)
    assert out.crs.to_epsg() == 4326
    assert (out.geometry.iloc[0].x, out.geometry.iloc[0].y) == (111.2, 35.35)


def test_transform_frame_to_wgs84_from_projected():
    gdf = gpd.GeoDataFrame(geometry=[Point(37_500_000.0, 3_900_000.0)], crs="EPSG:4525")
    out = transform_frame_to_wgs84(gdf)
    assert out.geometry.iloc[0].x == pytest.approx(111.0)


def test_transform_frame_to_wgs84_from_gcj02_polygon():
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[box(111.0, 35.0, 111.1, 35.1)])
    out = transform_frame_to_wgs84(gdf, source_crs="gcj02")
    assert out.crs.to_epsg() == 4326 and out.geometry.name == "geometry"
    x0, y0 = out.geometry.iloc[0].exterior.coords[0]
    assert (x0, y0) == pytest.approx(gcj02_to_wgs84(111.1, 35.0))
    assert gdf.crs is None  # input untouched


def test_transform_frame_to_wgs84_without_crs_raises():
    with pytest.raises(ValueError, match="no coordinate reference system"):
        transform_frame_to_wgs84(gpd.GeoDataFrame(geometry=[Point(1, 2)]))


def test_module_exports_exist():
    for name in crs.__all__:
        assert hasattr(crs, name)
