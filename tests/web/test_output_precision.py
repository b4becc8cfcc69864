"""Files planners open carry no float noise and no temporary names: every CSV, Excel and
GeoJSON the program writes rounds numbers by the unit in their name (geo.numbers, the rule
the JSON output uses too), GeoJSON coordinates at 1e-7 degrees (~1 cm), and a download's
FeatureCollection is named after its layer, never the temporary file it was written to."""
from __future__ import annotations

import csv
import io
import json
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from click.testing import CliRunner
from shapely.geometry import Point

from geo.numbers import clean_float, decimals_for, round_array, round_frame
from geo.vector import write_vector
from web.cli import main as cli
from web.services.batch import BatchResult, CountyResult, write_batch

NOISY_LON, NOISY_LAT = 111.21000000000001, 0.1 + 0.2 + 36.0  # 36.300000000000004
NOISY_T = 213.60000000000002
#: a number written with more than 7 decimals or 13 significant digits is float noise
_NOISE = re.compile(r"\d*\.\d{8,}|\d{13,}")


def _noise(text: str) -> list[str]:
    return [m for m in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text) if _NOISE.fullmatch(m.lstrip("-"))]


def test_round_array_is_the_json_rule():
    values = np.array([NOISY_T, 116912.70000000001, 12.300000190734863, -0.0001, np.nan, 0.1 + 0.2, 1e-300])
    for key in ("produce_edible_fungi_t_covered", "time_min", "lon", "population", "income_per_capita_yuan"):
        expected = [clean_float(v, decimals_for(key)) for v in values]
        got = round_array(values, decimals_for(key))
        assert [None if np.isnan(g) else g for g in got] == expected
    assert round_array([NOISY_T], 3)[0] == 213.6 and str(round_array([-0.0001], 2)[0]) == "0.0"
    assert decimals_for("income_per_capita_yuan") == 2


def test_long_table_rounds_each_row_by_its_indicator():
    frame = pd.DataFrame({"indicator": ["produce_apple_t_covered", "share_covered", "population"],
                          "value": [NOISY_T, 0.123456789, 116912.70000000001]})
    out = round_frame(frame, unit_from={"value": "indicator"})
    assert out["value"].tolist() == [213.6, 0.123457, 116912.7]
    assert frame["value"].iloc[0] == NOISY_T  # the input keeps full precision


def test_combined_csv_has_no_float_noise(tmp_path):
    county = CountyResult(workspace="/x/county7.gpkg", county_code="149901", county_name="样县",
                          rows=(("合计", "produce_edible_fungi_t_covered", NOISY_T),
                                ("合计", "population_covered", 116912.70000000001),
                                ("甲镇", "share_covered", 0.30000000000000004)))
    written = write_batch(BatchResult(analysis="coverage", options={}, counties=(county,)), tmp_path)
    text = written["combined"].read_text(encoding="utf-8-sig")
    assert "produce_edible_fungi_t_covered,213.6\n" in text
    assert "116912.7\n" in text and "share_covered,0.3\n" in text
    assert _noise(text) == []


def _noisy_villages(workspace):
    villages = workspace.read_layer("villages")
    first = villages.index[0]
    villages.loc[first, "geometry"] = Point(NOISY_LON, NOISY_LAT)
    villages.loc[first, "produce_edible_fungi_t"] = NOISY_T
    workspace.write_layers({"villages": villages})
    return villages.loc[first, "code"]


def test_export_csv_lon_lat_without_noise(workspace, tmp_path):
    code = _noisy_villages(workspace)
    out = tmp_path / "villages.csv"
    result = CliRunner().invoke(cli, ["export", "-w", str(workspace.path), "--layer", "villages", "--format", "csv",
                                      "--codes", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8-sig")
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["code"] == code)
    assert (row["lon"], row["lat"], row["produce_edible_fungi_t"]) == ("111.21", "36.3", "213.6")
    assert _noise(text) == []


def test_write_vector_xlsx_and_geojson_round_and_name_the_layer(tmp_path):
    gdf = gpd.GeoDataFrame({"produce_apple_t": [NOISY_T], "income_per_capita_yuan": [9811.059287401]},
                           geometry=[Point(NOISY_LON, NOISY_LAT)], crs="EPSG:4326")
    path = write_vector(gdf, tmp_path / "villages.geojson", layer="villages")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == "villages"
    assert doc["features"][0]["geometry"]["coordinates"] == [111.21, 36.3]
    assert doc["features"][0]["properties"] == {"produce_apple_t": 213.6, "income_per_capita_yuan": 9811.06}
    # without a layer name the file's own stem, never the temporary file's
    assert json.loads(write_vector(gdf, tmp_path / "roads.geojson").read_text())["name"] == "roads"
    from openpyxl import load_workbook

    sheet = load_workbook(write_vector(gdf, tmp_path / "v.xlsx", layer="villages")).active
    assert [c.value for c in sheet[2]] == [213.6, 9811.06, 111.21, 36.3]


def test_geojson_download_has_the_layer_name_and_cm_coordinates(workspace, client):
    _noisy_villages(workspace)
    body = client.get("/data/download/villages.geojson").get_data(as_text=True)
    doc = json.loads(body)
    assert doc["name"] == "villages" and ".tmp" not in body
    coords = [f["geometry"]["coordinates"] for f in doc["features"] if f["geometry"]]
    assert [111.21, 36.3] in coords
    assert all(c == round(c, 7) for xy in coords for c in xy)
    assert _noise(body) == []


def test_planning_workbook_rounds_by_unit_not_to_four_decimals():
    from openpyxl import load_workbook

    from web.services.planning import export_excel

    site = {"id": "s1", "name": "甲", "fixed": False, "demand_served": 116912.70000000001, "demand_count": 3}
    payload = {
        "params": {"model": "mclp", "p": 1},
        "sites": {"features": [{"properties": {"id": "s1"}, "geometry": {"coordinates": [111.2345678, NOISY_LAT]}}]},
        "result": {"sites": [site], "unreachable": [], "solver": {"status": "optimal"}, "totals": {"demand": 12.5},
                   "by_town": [{"town": "甲镇", "villages": 2, "mean_minutes_before": 12.300000190734863,
                                "share_before": 0.30000000000000004}]},
    }
    labels = {"existing": "existing", "new": "new", "sheet_sites": "sites", "sheet_towns": "towns",
              "sheet_unreachable": "unreachable", "sheet_params": "params"}
    book = load_workbook(io.BytesIO(export_excel(payload, labels=labels)))
    sites = [[c.value for c in row] for row in book["sites"].iter_rows()]
    row = dict(zip(sites[0], sites[1]))
    assert (row["lon"], row["lat"], row["demand_served"]) == (111.2345678, 36.3, 116912.7)  # lon was cut to 4 decimals
    towns = [[c.value for c in row] for row in book["towns"].iter_rows()]
    town = dict(zip(towns[0], towns[1]))
    assert (town["mean_minutes_before"], town["share_before"]) == (12.3, 0.3)


def test_gpkg_download_layer_is_the_layers_name(client, tmp_path):
    import pyogrio

    path = tmp_path / "download.gpkg"
    path.write_bytes(client.get("/data/download/villages.gpkg").get_data())
    assert [str(n) for n in pyogrio.list_layers(path)[:, 0]] == ["villages"]


@settings(max_examples=300, deadline=None)
@given(values=st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                                 st.floats(width=32, allow_nan=False, allow_infinity=False),
                                 st.integers(-10**6, 10**6).map(lambda k: k / 200 + 0.005)),
                       min_size=1, max_size=40),
       decimals=st.sampled_from([None, 0, 1, 2, 3, 4, 6, 7]))
def test_the_vectorised_array_rule_equals_the_scalar_rule(values, decimals):
    """round_array rounds in bulk and sends near-halves to clean_float: equal value for value."""
    got = round_array(values, decimals)
    for v, g in zip(values, got):
        want = clean_float(v, decimals) if math.isfinite(v) and v != math.trunc(v) else v + 0.0
        assert (math.isnan(g) and (want is None or math.isnan(want))) or g == want, (v, g, want)
