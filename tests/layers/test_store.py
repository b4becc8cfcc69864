import hashlib
import threading

import geopandas as gpd
import pandas as pd
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

    def crash_on_second(path, schema, frame, **kwargs):
        calls.append(schema.name)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        real(path, schema, frame, **kwargs)

    monkeypatch.setattr(store, "_write_layer_file", crash_on_second)
    towns = gpd.GeoDataFrame({"code": ["140823100000"], "name": ["桐城镇"]},
                             geometry=[shapely.Point(111.2, 35.3)], crs=4326)
    with pytest.raises(OSError):
        ws.write_layers({"villages": _villages(["乙", "丙"]), "towns": towns})
    assert _digest(ws.path) == before
    assert not list(ws.path.parent.glob(".*.gpkg*"))
    assert ws.read_layer("villages")["name"].tolist() == ["甲"]
    assert len(ws.read_layer("towns")) == 0


def test_read_cache_follows_writes_but_not_app_transactions(ws):
    ws.write_layers({"villages": _villages(["甲"])})
    first = ws.read_layer("villages")
    stamp = ws.layer_version("villages")
    with ws.transaction() as con:
        con.execute("CREATE TABLE IF NOT EXISTS rp_note(x)")
    assert ws.layer_version("villages") == stamp
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


def test_layer_versions_are_per_layer_and_unchanged_writes_are_skipped(ws):
    ws.write_layers({"villages": _villages(["甲", "乙"])})
    villages_v, roads_v = ws.layers_version("villages", "roads")
    digest = _digest(ws.path)
    ws.write_layers({"villages": _villages(["甲", "乙"])})  # the same rows: nothing to write
    assert ws.layer_version("villages") == villages_v and _digest(ws.path) == digest
    ws.write_layers({"villages": _villages(["甲", "丙"])})
    assert ws.layer_version("villages") != villages_v
    assert ws.layer_version("roads") == roads_v  # another layer's caches survive


def test_writes_are_in_place_and_keep_fids_of_unchanged_codes(ws):
    ws.write_layers({"villages": _villages(["甲", "乙", "丙"])})
    inode = ws.path.stat().st_ino
    import sqlite3

    def fids():
        with sqlite3.connect(ws.path) as con:
            return dict(con.execute("SELECT code, fid FROM villages").fetchall())

    before = fids()
    frame = _villages(["甲", "乙", "丙", "丁"])
    frame.loc[1, "name"] = "乙二"
    ws.write_layers({"villages": frame.iloc[1:]})  # 甲 removed, 乙 renamed, 丁 added
    after = fids()
    assert ws.path.stat().st_ino == inode  # never copied and swapped
    code = frame["code"]
    assert after[code[1]] == before[code[1]] and after[code[2]] == before[code[2]]
    assert code[0] not in after and after[code[3]] not in before.values()
    # QGIS (GDAL) reads it, spatial index included
    got = pyogrio.read_dataframe(ws.path, layer="villages", bbox=(111.215, 35.0, 111.25, 35.5))
    assert sorted(got["name"]) == ["丁", "丙"]


def test_leftovers_of_a_killed_writer_are_removed(ws):
    leftover = ws.path.parent / f".{ws.path.stem}-abc123.stage.gpkg"
    leftover.write_bytes(b"half a file")
    ws.set_meta(note="x")
    assert not leftover.exists()


def test_created_with_layers_is_the_file_create_then_write_makes(tmp_path):
    # a polygon layer declared MultiPolygon when empty, lines, points and a table
    boundary = gpd.GeoDataFrame({"code": ["140823100000"], "name": ["桐城镇"], "level": ["town"]},
                                geometry=[shapely.box(111.0, 35.0, 111.1, 35.1)], crs=4326)
    roads = gpd.GeoDataFrame({"id": ["R1", "R2"], "road_class": ["county", "village"]},
                             geometry=[shapely.LineString([(111.0, 35.0), (111.05, 35.02)]),
                                       shapely.MultiLineString([[(111.05, 35.02), (111.06, 35.05)]])], crs=4326)
    frames = {"villages": _villages(["中社村", "东庄村"]), "boundaries": boundary, "roads": roads,
              "households": gpd.GeoDataFrame()}
    written = Workspace.create(tmp_path / "a.gpkg", meta={"county_name": "测试县"})
    written.write_layers(frames)
    created = Workspace.create(tmp_path / "b.gpkg", meta={"county_name": "测试县"}, layers=frames)

    def declared(ws):
        with ws.connect() as con:
            return con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns "
                               "ORDER BY 1").fetchall()

    assert declared(created) == declared(written)
    for name in LAYERS:
        a, b = created.read_layer(name), written.read_layer(name)
        assert list(a.columns) == list(b.columns) and len(a) == len(b), name
        if isinstance(a, gpd.GeoDataFrame):
            assert a.geometry.to_wkb().tolist() == b.geometry.to_wkb().tolist(), name
            a, b = pd.DataFrame(a.drop(columns=a.geometry.name)), pd.DataFrame(b.drop(columns=b.geometry.name))
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)
    assert created.read_layer("roads").geom_type.tolist() == ["MultiLineString"] * 2
    assert [i.count for i in created.info()] == [i.count for i in written.info()]
    # written layers have a version (caches key on it), the empty ones none yet
    assert created.layer_version("villages").split("|")[0]
    assert not created.layer_version("households").split("|")[0]
    assert created.meta()["county_name"] == "测试县"
    with created.connect() as con:  # GDAL's spatial index, which QGIS uses, holds every row
        assert con.execute("SELECT count(*) FROM rtree_roads_geom WHERE minx < 111.04").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM rtree_villages_geom").fetchone()[0] == 2


def test_create_refuses_an_unknown_layer(tmp_path):
    with pytest.raises(ValueError, match="nope"):
        Workspace.create(tmp_path / "c.gpkg", layers={"nope": gpd.GeoDataFrame()})
    assert not (tmp_path / "c.gpkg").exists()


def test_a_writer_removes_only_its_own_workspaces_leftovers(tmp_path):
    # Two workspaces in one folder, "county" and "county-2": a writer of the first (which
    # holds only its own lock) once removed the second's live staging and temp files, as
    # ".county-*" matched them; the other writer then attached or renamed a missing file.
    first, second = Workspace.create(tmp_path / "county.gpkg"), Workspace.create(tmp_path / "county-2.gpkg")
    live = [second._temp_path(".stage.gpkg"), second._temp_path(".tmp.gpkg"),
            tmp_path / ".county-2-abcd1234.stage.gpkg"]  # the name the stem-based scheme gave it
    dead = [first._temp_path(".stage.gpkg"), tmp_path / ".county-abcd1234.tmp.gpkg"]
    dead.append(dead[0].with_name(dead[0].name + "-journal"))
    for path in live + dead:
        path.write_bytes(b"half a file")
    first.set_meta(note="x")
    assert all(p.exists() for p in live)
    assert not any(p.exists() for p in dead)


@pytest.mark.parametrize("change", ["name", "population", "income", "former_poor", "geometry", "null", "order"])
def test_any_changed_value_is_written(ws, change):
    # Unchanged layers are recognised by comparing the staged rows with the stored ones in
    # SQL; a change in any one cell of any type (or the row order) must still be written.
    frame = _villages(["甲", "乙", "丙"])
    frame["population"], frame["income_per_capita_yuan"], frame["former_poor"] = [100, 200, 300], 1.5, False
    ws.write_layers({"villages": frame})
    version = ws.layer_version("villages")
    new = frame.copy()
    if change == "name":
        new.loc[1, "name"] = "乙二"
    elif change == "population":
        new.loc[1, "population"] = 201
    elif change == "income":
        new.loc[1, "income_per_capita_yuan"] = 1.5000001
    elif change == "former_poor":
        new.loc[1, "former_poor"] = True
    elif change == "geometry":
        new.loc[1, "geometry"] = shapely.Point(111.21, 35.3000001)
    elif change == "null":
        new.loc[1, "town"] = None
    else:
        new = new.iloc[[1, 0, 2]]
    ws.write_layers({"villages": new})
    assert ws.layer_version("villages") != version
    # rows keep the fids of their codes, so compare by code
    got = ws.read_layer("villages").sort_values("code").reset_index(drop=True)
    expected = store.conform_to_schema(new, LAYERS["villages"]).sort_values("code").reset_index(drop=True)
    assert got.drop(columns="geometry").equals(expected.drop(columns="geometry"))
    assert list(got.geometry.to_wkb()) == list(expected.geometry.to_wkb())
