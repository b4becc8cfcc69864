import hashlib
import threading

import geopandas as gpd
import pyogrio
import pytest
import shapely

import layers.store as store
from layers.schema import LAYERS
from layers.store import Workspace


def _villages(names):
    return gpd.GeoDataFrame(
        {"code": [f"1408231002{i:02d}" for i in range(len(names))], "name": names, "town": ["桐城镇"] * len(names)},
        geometry=[shapely.Point(111.2 + i / 100, 35.3) for i in range(len(names))], crs=4326,
    )


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ws(tmp_path):
    return Workspace.create(tmp_path / "county.gpkg", meta={"county_name": "测试县"})


def test_new_workspace_lists_every_layer_for_qgis(ws):
    listed = {name for name, _ in pyogrio.list_layers(ws.path)}
    assert listed == set(LAYERS)
    assert all(info.count == 0 for info in ws.info())
    assert ws.meta()["county_name"] == "测试县"


def test_round_trip_keeps_chinese_text_and_types(ws):
    ws.write_layers({"villages": _villages(["中社村", "<script>alert(1)</script>"])})
    back = ws.read_layer("villages")
    assert back["name"].tolist() == ["中社村", "<script>alert(1)</script>"]
    assert str(back["population"].dtype) == "Int64"
    assert back.crs.to_epsg() == 4326


def test_failed_write_leaves_previous_file_intact(ws, monkeypatch):
    ws.write_layers({"villages": _villages(["甲"])})
    before = _digest(ws.path)
    real = store._write_layer_file
    calls = []

    def crash_on_second(path, schema, frame):
        calls.append(schema.name)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real(path, schema, frame)

    monkeypatch.setattr(store, "_write_layer_file", crash_on_second)
    with pytest.raises(OSError):
        ws.write_layers({"villages": _villages(["乙", "丙"]), "towns": gpd.GeoDataFrame()})
    assert _digest(ws.path) == before
    assert not list(ws.path.parent.glob("*.tmp.gpkg"))
    assert ws.read_layer("villages")["name"].tolist() == ["甲"]


def test_read_cache_follows_writes_but_not_app_transactions(ws):
    ws.write_layers({"villages": _villages(["甲"])})
    first = ws.read_layer("villages")
    stamp = ws._stamp()
    with ws.transaction() as con:
        con.execute("CREATE TABLE IF NOT EXISTS rp_note(x)")
    assert ws._stamp() == stamp
    ws.write_layers({"villages": _villages(["乙", "丙"])})
    assert len(ws.read_layer("villages")) == 2 != len(first)


def test_bbox_filter(ws):
    ws.write_layers({"villages": _villages(["a", "b", "c"])})
    got = ws.read_layer("villages", bbox=(111.205, 35.0, 111.25, 35.5))
    assert got["name"].tolist() == ["b", "c"]


def test_blobs(ws):
    assert ws.get_blob("graph:abc") is None
    ws.put_blob("graph:abc", b"\x00\x01")
    ws.put_blob("graph:def", b"\x02", replace_prefix="graph:")
    assert ws.get_blob("graph:abc") is None and ws.get_blob("graph:def") == b"\x02"


def test_transactions_are_serialised(ws):
    with ws.transaction() as con:
        con.execute("CREATE TABLE rp_counter(n INTEGER)")
        con.execute("INSERT INTO rp_counter VALUES (0)")

    def bump():
        for _ in range(20):
            with ws.transaction() as con:
                (n,) = con.execute("SELECT n FROM rp_counter").fetchone()
                con.execute("UPDATE rp_counter SET n = ?", (n + 1,))

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with ws.connect() as con:
        assert con.execute("SELECT n FROM rp_counter").fetchone()[0] == 80


def test_missing_workspace_has_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Workspace(tmp_path / "nope.gpkg").info()


def test_set_meta_inside_the_locked_transaction(ws):
    ws.set_meta(county_code="149901", network={"max_snap_m": 800})
    assert ws.meta()["network"] == {"max_snap_m": 800}
    assert ws.meta()["county_name"] == "测试县"
