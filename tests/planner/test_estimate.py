"""No roads layer: straight-line distance × detour factor at a stated speed, labelled as an estimate."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Point

from planner.coverage import coverage_summary
from planner.estimate import StraightLineEstimate
from planner.placement import plan_placement
from planner.service_area import service_areas
from planner.travel import accessibility, travel_time_matrix

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 4_000_000.0


def pts(prefix, *xy):
    ids = [f"{prefix}{i}" for i in range(len(xy))]
    return gpd.GeoDataFrame({"id": ids, "code": ids, "name": ids, "town": ["t"] * len(xy), "population": [100] * len(xy)},
                            geometry=[Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS)


EST = StraightLineEstimate(crs=CRS, detour_factor=1.3, speed_kmh=30)


def test_minutes_are_distance_times_detour_at_speed():
    # 3 km and 5 km straight: × 1.3 = 3.9 / 6.5 km at 30 km/h (500 m/min) = 7.8 / 13.0 min
    m = travel_time_matrix(EST, pts("v", (0, 0), (6000, 4000)), pts("f", (3000, 0)))
    np.testing.assert_allclose(m.minutes[:, 0], [7.8, 13.0], rtol=1e-6)
    d = m.to_dict()
    assert d["estimate"]["method"] == "straight_line" and d["estimate"]["detour_factor"] == 1.3
    assert "estimate" in d["estimate"]["note"]


def test_coverage_accessibility_placement_and_areas_run_on_the_estimate():
    villages = pts("v", (0, 0), (10_000, 0), (0, 8000))
    stores = pts("f", (1000, 0))
    cov = coverage_summary(EST, villages, stores, cutoff_min=15)
    # 1 km (2.6 min), 9 km (23.4 min), 8.06 km (21.0 min)
    assert list(cov.villages["status"]) == ["covered", "too_far", "too_far"]
    assert cov.to_dict()["estimate"]["speed_kmh"] == 30
    acc = accessibility(EST, villages, stores)
    assert acc["minutes"].iloc[1] == pytest.approx(9000 * 1.3 / 500)
    plan = plan_placement(EST, villages, pts("c", (9000, 0), (0, 7000)), model="mclp", p=1, minutes=15,
                          demand="villages", time_limit_s=5)
    assert len(plan.sites) == 1
    areas = service_areas(EST, stores, cutoffs_min=(10,))
    radius = 10 * 500 / 1.0  # 5 km of detoured road = 3.85 km straight
    assert areas["area_km2"].iloc[0] == pytest.approx(np.pi * (radius / 1.3 / 1000) ** 2, rel=0.01)
    assert areas["estimate"].iloc[0].startswith("estimate")


def test_bad_factors_raise():
    with pytest.raises(ValueError, match="detour_factor"):
        StraightLineEstimate(crs=CRS, detour_factor=0.5)
    with pytest.raises(ValueError, match="speed_kmh"):
        StraightLineEstimate(crs=CRS, speed_kmh=0)
