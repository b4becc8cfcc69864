"""The workspace beside another writer (QGIS, through GDAL) and under kill -9.

Writes happen in place inside SQLite transactions, so (a) a second process that writes
the same file through GDAL loses nothing and makes the app lose nothing, and (b) a
writer killed at any moment leaves the last committed state, readable at once.
"""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from layers.store import Workspace

pytestmark = pytest.mark.slow
ROOT = str(Path(__file__).resolve().parents[2])

#: A QGIS stand-in: appends features one by one through GDAL, retrying while locked.
GDAL_WRITER = textwrap.dedent("""
    import sys, time
    import geopandas as gpd, pyogrio, shapely
    path, layer, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    done = 0
    while done < n:
        row = gpd.GeoDataFrame({"code": [f"{prefix}{done:011d}"], "name": [f"外部{done}"]},
                               geometry=[shapely.Point(111.3, 35.3 + done / 1000)], crs=4326)
        try:
            pyogrio.write_dataframe(row, path, layer=layer, driver="GPKG", append=True)
            done += 1
        except Exception as exc:  # "database is locked": QGIS would ask the user to retry
            if "locked" not in str(exc).lower() and "busy" not in str(exc).lower():
                raise
            time.sleep(0.05)
    print("done", done)
""")


def _village(code: str, name: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": [code], "name": [name], "town": ["桐城镇"]},
                            geometry=[shapely.Point(111.2, 35.3)], crs=4326)


@pytest.mark.parametrize("gdal_layer", ["towns", "villages"])
def test_app_and_a_gdal_writer_lose_nothing(tmp_path, gdal_layer):
    ws = Workspace.create(tmp_path / "county.gpkg")
    n_gdal, n_app = 15, 10
    proc = subprocess.Popen([sys.executable, "-c", GDAL_WRITER, str(ws.path), gdal_layer, "9", str(n_gdal)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for i in range(n_app):  # the app's read-modify-write imports, interleaved with the other writer
        with ws.editing() as edit:
            villages = edit.read_layer("villages")
            edit.write_layer("villages", gpd.pd.concat([villages, _village(f"1{i:011d}", f"村{i}")],
                                                       ignore_index=True))
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    villages = Workspace(ws.path).read_layer("villages")
    app_rows = villages["code"].str.startswith("1").sum()
    assert app_rows == n_app
    other = Workspace(ws.path).read_layer(gdal_layer)
    assert other["code"].str.startswith("9").sum() == n_gdal


#: Writes versions 1, 2, 3, … : each a villages layer of that many rows and meta "version".
WRITER = textwrap.dedent("""
    import sys
    import geopandas as gpd, shapely
    from layers.store import Workspace
    ws = Workspace(sys.argv[1])
    v = int(ws.meta().get("version", 0))
    while True:
        v += 1
        frame = gpd.GeoDataFrame({"code": [f"1{i:011d}" for i in range(v)], "name": ["村"] * v},
                                 geometry=[shapely.Point(111.2 + i / 1e4, 35.3) for i in range(v)], crs=4326)
        ws.write_layers({"villages": frame}, meta={"version": v})
        print(v, flush=True)
""")


def test_kill_9_mid_write_leaves_the_last_commit_readable(tmp_path):
    ws = Workspace.create(tmp_path / "county.gpkg")
    rng = random.Random(20261130)
    last_seen = 0
    for _ in range(6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(ws.path)], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONPATH": ROOT})
        time.sleep(rng.uniform(1.5, 4.0))  # imports take ~1 s: kill somewhere in the writes
        proc.send_signal(signal.SIGKILL)
        printed = proc.communicate()[0].split()
        fresh = Workspace(ws.path)
        assert {i.name for i in fresh.info()} >= {"villages", "roads"}  # readable at once
        version = int(fresh.meta().get("version", 0))
        assert len(fresh.read_layer("villages")) == version  # layer and meta committed together
        committed = int(printed[-1]) if printed else last_seen
        assert version >= committed >= last_seen  # nothing committed was lost
        last_seen = version
    # a killed writer may leave its staging file; the next writer removes it
    Workspace(ws.path).set_meta(after_kills=True)
    assert not list(tmp_path.glob(".*.gpkg*"))
    assert last_seen > 0
