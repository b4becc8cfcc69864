import pandas as pd
import pytest

from geo.osm import PLACE_VALUES, _maxspeed_kmh, parse_other_tags, read_osm_pbf
from tests.conftest import shared_data


def test_parse_other_tags():
    text = r'"oneway"=>"yes","maxspeed"=>"50","note"=>"say \"hi\", => ok","name:zh"=>"安道尔"'
    assert parse_other_tags(text) == {"oneway": "yes", "maxspeed": "50",
                                      "note": 'say "hi", => ok', "name:zh": "安道尔"}
    assert parse_other_tags(None) == {}
    assert parse_other_tags(pd.NA) == {}


@pytest.mark.parametrize("value, kmh", [
    ("50", 50.0), ("50 km/h", 50.0), ("30 mph", 30 * 1.609344), ("50;70", 50.0),
])
def test_maxspeed_kmh(value, kmh):
    assert _maxspeed_kmh(value) == pytest.approx(kmh)


@pytest.mark.parametrize("value", ["none", "signals", "RO:urban", None])
def test_maxspeed_kmh_not_numeric(value):
    assert pd.isna(_maxspeed_kmh(value))


@pytest.fixture(scope="module")
def andorra():
    return read_osm_pbf(shared_data("osm", "andorra-2013.osm.pbf"))


@pytest.mark.realdata
def test_andorra_places(andorra):
    _, places = andorra
    counts = places["place"].value_counts()
    assert counts["village"] == 32  # as documented in ../shared/data/README.md
    assert counts["hamlet"] == 20
    assert counts["town"] == 7
    assert set(places["place"]) <= set(PLACE_VALUES)
    assert list(places.columns) == ["osm_id", "name", "place", "population", "geometry"]
    assert places.crs.to_epsg() == 4326
    assert (places.geom_type == "Point").all()
    assert places["osm_id"].notna().all()
    alv = places[places["name"] == "Andorra la Vella"]
    assert len(alv) == 1 and alv["population"].iloc[0] > 10_000
    minx, miny, maxx, maxy = places.total_bounds
    assert 1.3 < minx < maxx < 1.9 and 42.3 < miny < maxy < 42.8


@pytest.mark.realdata
def test_andorra_lines(andorra):
    lines, _ = andorra
    assert list(lines.columns) == ["osm_id", "name", "highway", "oneway", "surface", "maxspeed",
                                   "ref", "motorroad", "access", "maxspeed_kmh", "geometry"]
    assert len(lines) > 1000
    assert lines["highway"].notna().all()
    assert {"primary", "secondary", "tertiary", "residential", "track"} <= set(lines["highway"])
    assert (lines.geom_type == "LineString").all()
    assert lines.crs.to_epsg() == 4326
    assert lines["oneway"].isin(["yes", "no", "-1", "true", "1"]).sum() > 100
    assert lines["maxspeed"].notna().sum() > 50
    numeric = lines["maxspeed"].str.fullmatch(r"\d+").fillna(False)
    kmh = lines.loc[numeric, "maxspeed"].astype(float)
    assert (lines.loc[numeric, "maxspeed_kmh"] == kmh).all()
    assert lines["ref"].notna().sum() > 50  # e.g. CG-1 on primary roads
    assert lines["surface"].notna().sum() > 10


def test_missing_pbf_raises(tmp_path):
    with pytest.raises(ValueError, match="x.osm.pbf: file not found"):
        read_osm_pbf(tmp_path / "x.osm.pbf")


def test_not_a_pbf_raises(tmp_path):
    path = tmp_path / "bad.osm.pbf"
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="bad.osm.pbf"):
        read_osm_pbf(path)
