"""The one JSON rule of the CLI's --json and the API (web.services.jsonout): numbers at
their unit's precision, no float32 noise, no -0.0, no NaN."""
from __future__ import annotations

import json

import numpy as np
import pytest

from web.services.jsonout import SIGNIFICANT_DIGITS, clean, clean_float, decimals_for, dumps


def test_units_by_the_last_unit_word_of_the_key():
    assert decimals_for("time_min") == decimals_for("minutes_base") == decimals_for("added_min_max") == 2
    assert decimals_for("network_m") == 1 and decimals_for("min_component_km") == 3
    assert decimals_for("produce_apple_t_covered") == 3 and decimals_for("budget_wan") == 4
    assert decimals_for("share_before") == decimals_for("gap") == 6
    assert decimals_for("population") is None and decimals_for(None) is None


def test_golden_numbers():
    assert clean_float(np.float32(12.3)) == 12.3  # 12.300000190734863 widened
    assert clean_float(12.300000190734863, 2) == 12.3
    assert clean_float(19.358439922332764, 2) == 19.36
    assert clean_float(1282.4996343615155, 1) == 1282.5
    assert clean_float(116912.70000000001) == 116912.7
    assert clean_float(47736.700000000004, 3) == 47736.7
    assert repr(clean_float(-0.0)) == repr(clean_float(-0.001, 2)) == "0.0"
    assert clean_float(float("nan")) is None and clean_float(float("-inf")) is None
    assert clean_float(0.1 + 0.2) == 0.3 and clean_float(1e-300) == 1e-300
    assert clean_float(2.5) == 2.5 and clean_float(123456789.0) == 123456789.0
    assert len(repr(clean_float(1 / 3))) == SIGNIFICANT_DIGITS + 2


def test_structures_numpy_and_lists_take_their_keys_unit():
    data = {"minutes": [[np.float32(1.23456), None], [np.inf, -0.0]], "n": np.int64(3), "ok": np.bool_(True),
            "arr_m": np.array([1.26, 2.0]), 7: 1.5}
    assert clean(data) == {"minutes": [[1.23, None], [None, 0.0]], "n": 3, "ok": True, "arr_m": [1.3, 2.0], "7": 1.5}
    text = dumps({"name": "冷库", "seconds": 0.027360204003343824})
    assert text == '{"name": "冷库", "seconds": 0.027}'
    assert json.loads(text)["seconds"] == 0.027


def test_the_api_writes_json_by_the_same_rule(demo_workspace):
    from web import create_app

    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(demo_workspace.path), "SECRET_KEY": "x"})
    with app.app_context():
        response = app.json.response({"travel_min": np.float32(12.3), "added_min": -0.0, "lat": 35.123456789})
    assert json.loads(response.get_data(as_text=True)) == {"travel_min": 12.3, "added_min": 0.0, "lat": 35.1234568}
    assert "-0.0" not in response.get_data(as_text=True)
    body = app.test_client().get("/api/v1/network/od?from=villages&to=towns").get_json()
    flat = [v for row in body["minutes"] for v in row if v is not None]
    assert flat and all(round(v, 2) == v for v in flat)


@pytest.mark.parametrize("value", [1e308, -1e308, 3.4e39])
def test_beyond_float32_range_is_left_as_it_is(value):
    assert clean_float(value) == float(f"{value:.{SIGNIFICANT_DIGITS}g}")
