"""Degree notations (度分秒, degree sign, hemispheres, full-width) and Gauss–Krüger detection."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.coords import looks_like_gauss_kruger, parse_angle, parse_angles
from geo.tables import points_from_table, read_table
from tests.conftest import shared_case

DMS = 111 + 12 / 60 + 30 / 3600  # 111°12'30" = 111.208333…


@pytest.mark.parametrize("text, value, hemi", [
    ("111°12'30\"", DMS, None),
    ("111度12分30秒", DMS, None),
    ("111°12′30″", DMS, None),
    ("111°12’30”", DMS, None),
    ("111°12'30''", DMS, None),
    ("111° 12′ 30″", DMS, None),
    ("１１１°１２′３０″", DMS, None),
    ("１１１．２２１６", 111.2216, None),
    ("111，2216", 111.2216, None),
    ("111°12.5'", 111 + 12.5 / 60, None),
    ("111.2216°", 111.2216, None),
    ("E111.2216", 111.2216, "E"),
    ("111.2216E", 111.2216, "E"),
    ("N34.5", 34.5, "N"),
    ("东经111°12′30″", DMS, "E"),
    ("北纬35度21分10秒", 35 + 21 / 60 + 10 / 3600, "N"),
    ("S12.5", -12.5, "S"),
    ("W100°30'", -100.5, "W"),
    ("南纬3度", -3.0, "S"),
    ("-111.5", -111.5, None),
    ("111:12:30", DMS, None),
    ("111 12 30", DMS, None),
])
def test_parse_angle_notations(text, value, hemi):
    got, got_hemi = parse_angle(text)
    assert got == pytest.approx(value, abs=1e-12)
    assert got_hemi == hemi


@pytest.mark.parametrize("text", ["", "abc", "111°60'", "111°12'60\"", "111.5°12'", "E-111", "111 12 30 40",
                                  "12'30\"", "N", "1.2.3"])
def test_parse_angle_refuses_what_is_not_a_coordinate(text):
    assert parse_angle(text) is None


@given(st.integers(0, 179), st.integers(0, 59), st.integers(0, 59))
def test_dms_round_trip(d, m, s):
    got, _ = parse_angle(f"{d}°{m}′{s}″")
    assert got == pytest.approx(d + m / 60 + s / 3600)
    got, _ = parse_angle(f"{d}度{m}分{s}秒")
    assert got == pytest.approx(d + m / 60 + s / 3600)


def test_parse_angles_column():
    values, hemis = parse_angles(["E111.5", None, "x"])
    assert values[0] == 111.5 and math.isnan(values[1]) and math.isnan(values[2])
    assert list(hemis) == ["E", None, None]


def test_case_data_dms_coordinates_every_row_lands_right():
    df = read_table(shared_case("data-dms-coordinates", "coords.csv"))
    gdf, problems = points_from_table(df)
    assert problems == []
    got = dict(zip(gdf["村名"], zip(gdf.geometry.x, gdf.geometry.y)))
    dms_lat = 35 + 21 / 60 + 10 / 3600
    expected = {
        "全角数字村": (111.2012, 35.3511), "尾随空格村": (111.2114, 35.3522),
        "度分秒村": (DMS, dms_lat), "中文度分秒村": (DMS, dms_lat), "全角度分秒村": (DMS, dms_lat),
        "度符号村": (111.2216, 35.3533), "方向前缀村": (111.2216, 35.3533),
        "度分村": (111 + 12.5 / 60, 35 + 21.17 / 60),
    }
    assert set(got) == set(expected)
    for name, (x, y) in expected.items():
        # 1e-7° is about 1 cm
        assert got[name] == pytest.approx((x, y), abs=1e-7), name


def test_hemisphere_in_wrong_column_is_reported():
    import pandas as pd

    df = pd.DataFrame({"经度": ["N35.3", "E111.2"], "纬度": ["E111.2", "N35.3"]})
    gdf, problems = points_from_table(df)
    assert {p.code for p in problems} == {"coord_hemisphere"}
    assert {p.row for p in problems} == {2}
    assert gdf.geometry.iloc[1].x == pytest.approx(111.2)


def test_gauss_kruger_detection():
    north = np.array([3912345.0, 3915000.0])
    east_zoned = np.array([38512345.0, 38499000.0])
    guess = looks_like_gauss_kruger(north, east_zoned)
    assert guess.northing_first and guess.zone == 38 and guess.zone_width == 3 and guess.epsg == 4526
    guess = looks_like_gauss_kruger(east_zoned - 38e6 + 19e6, north)  # 6° zone 19, easting first
    assert not guess.northing_first and guess.zone == 19 and guess.zone_width == 6 and guess.epsg == 4497
    guess = looks_like_gauss_kruger(north, east_zoned - 38e6)  # no zone prefix
    assert guess.northing_first and guess.zone is None and guess.epsg is None
    assert looks_like_gauss_kruger([111.2, 111.3], [35.3, 35.4]) is None
    assert looks_like_gauss_kruger([np.nan], [np.nan]) is None


def test_survey_xy_given_as_lonlat_is_explained():
    import pandas as pd

    df = pd.DataFrame({"X": ["3912345.1", "3915000"], "Y": ["38512345", "38499000"]})
    gdf, problems = points_from_table(df, file="survey.csv")
    assert [p.code for p in problems] == ["coord_projected"]
    text = problems[0].text()
    assert "northing first" in text and "EPSG:4526" in text and "survey.csv" in text
    assert gdf.geometry.isna().all()


def test_survey_xy_northing_first_with_projected_crs_is_not_swapped_silently():
    import pandas as pd

    df = pd.DataFrame({"X": ["3912345.1"], "Y": ["38512345"]})
    _, problems = points_from_table(df, crs="EPSG:4526")
    assert [p.code for p in problems] == ["coord_northing_first"]
    df = pd.DataFrame({"X": ["38512345"], "Y": ["3912345.1"]})
    gdf, problems = points_from_table(df, crs="EPSG:4526")
    assert problems == [] and 114.1 < gdf.geometry.iloc[0].x < 114.2  # zone 38: central meridian 114°E
