"""The county workspace: one GeoPackage holding every layer plus the app's own tables.

QGIS opens the file and sees every layer of :data:`layers.schema.LAYERS` (empty ones
included, with their columns). The app's non-spatial tables (metadata, users, proposals,
transitions, scenarios, caches) live in the same SQLite file under the ``rp_`` prefix;
GDAL and QGIS ignore tables that are not registered in ``gpkg_contents``.

Writes happen in place, in one SQLite transaction (a GeoPackage is an SQLite file):
new layer contents are first written by GDAL into a small staging GeoPackage beside the
workspace, which is then attached and swapped into the workspace's tables together with
app-table statements and metadata, then committed. A multi-layer write is atomic, a
crash leaves the last committed state (SQLite's journal recovers it on the next open),
the file is never copied, and another program writing the same file — QGIS editing a
layer — commits before or after us, never in between: both sides' commits survive.
The file is in WAL mode, so readers never block the writer. Features keep their ``fid``
where their id/code is unchanged, so an open QGIS session still edits the right rows.
A layer whose new contents equal the stored ones is not rewritten.

Each layer has its own version (:meth:`Workspace.layer_version`), so caches of one layer
survive writes to another (a proposal edit leaves the road graph alone); it also follows
``gpkg_contents.last_change``, which GDAL and QGIS update when they edit a layer.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import functools
import os
import re
import sqlite3
import struct
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from . import app_schema
from .schema import LAYERS, LayerSchema, get_schema

STORAGE_CRS = "EPSG:4326"

#: Geometry type written for an empty layer, so QGIS shows the right kind.
_EMPTY_GEOMETRY_TYPE = {
    "Point": "Point",
    "LineString": "MultiLineString",
    "Polygon": "MultiPolygon",
}

_BLOB_SCHEMA = app_schema.CACHE

_META_SCHEMA = app_schema.META
_APP_SCHEMA = _META_SCHEMA + ";"

#: rp_meta key of one layer's version (a new uuid whenever the app writes the layer)
_LAYER_VERSION_KEY = "layer_version.{}"
#: Files a writer leaves beside the workspace while it works (``.<file name>-<random
#: letters, digits or _ (mkstemp)>.tmp.gpkg`` or ``.stage.gpkg``, with SQLite's ``-journal``/``-wal``/
#: ``-shm``); any found while holding the workspace lock belong to a writer that was killed.
#: Matched exactly: a glob such as ``.county-*`` also matched the live files of another
#: workspace in the same folder (``county-2.gpkg``), whose writers hold another lock.
_LEFTOVER_NAME = r"\.{prefix}-[a-z0-9_]+\.(?:tmp|stage)\.gpkg(?:-journal|-wal|-shm)?"


@dataclass(frozen=True)
class LayerInfo:
    name: str
    zh: str
    en: str
    count: int
    geometry_type: str | None


def conform_to_schema(frame: pd.DataFrame, schema: LayerSchema) -> pd.DataFrame:
    """Columns of ``schema`` in schema order with their proper dtypes.

    Missing columns are added (default or null); columns the schema does not know are
    dropped, so what is stored is always what the schema describes.
    """
    out = {}
    n = len(frame)
    for f in schema.fields:
        if f.name in frame.columns:
            col = frame[f.name]
        else:
            col = pd.Series([f.default] * n, index=frame.index, dtype=object)
        out[f.name] = _coerce(col, f.type, f.default)
    result = pd.DataFrame(out, index=frame.index)
    if schema.spatial:
        geometry = None
        if isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame.columns:
            geometry = frame.geometry
        if geometry is None:
            geometry = gpd.GeoSeries([None] * n, index=frame.index, crs=_storage_crs())
        result = gpd.GeoDataFrame(result, geometry=geometry.values, crs=geometry.crs or _storage_crs())
        if result.crs is not None and result.crs is not _storage_crs() and not result.crs.equals(_storage_crs()):
            result = result.to_crs(STORAGE_CRS)
    return result.reset_index(drop=True)


def _coerce(col: pd.Series, kind: str, default) -> pd.Series:
    # Columns already of their type (a frame read from the store, conformed again before
    # it is written back) are kept as they are: conforming a small layer was most of the
    # Python time of a write.
    dtype = str(col.dtype)
    if kind == "int":
        if dtype == "Int64" and (default is None or not col.isna().any()):
            return col
        values = pd.to_numeric(col, errors="coerce")
        if default is not None:
            values = values.fillna(default)
        return values.round().astype("Int64")
    if kind == "float":
        if dtype == "float64" and (default is None or not col.isna().any()):
            return col
        values = pd.to_numeric(col, errors="coerce").astype("float64")
        return values.fillna(default) if default is not None else values
    if kind == "bool":
        if dtype == "bool":
            return col
        values = col.astype(object).where(col.notna(), default if default is not None else False)
        return values.astype(bool)
    # str and date are stored as text; None stays null rather than the string "None".
    cells = col.to_numpy(dtype=object)
    missing = pd.isna(cells)
    return pd.Series([None if m else (v if type(v) is str else str(v)) for v, m in zip(cells, missing)],
                     index=col.index, dtype=object)


@functools.lru_cache(maxsize=1)
def _storage_crs():
    import pyproj

    return pyproj.CRS(STORAGE_CRS)


class Workspace:
    """A county workspace stored in one GeoPackage file.

    Parameters
    ----------
    path
        The ``.gpkg`` file. It need not exist yet: :meth:`create` makes it.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._cache: dict[str, tuple[tuple[float, int], pd.DataFrame]] = {}
        self._cache_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Workspace({str(self.path)!r})"

    # ------------------------------------------------------------------ creation
    @property
    def exists(self) -> bool:
        return self.path.exists()

    @classmethod
    def create(cls, path: str | os.PathLike, *, meta: Mapping[str, object] | None = None,
               overwrite: bool = False, layers: Mapping[str, pd.DataFrame] | None = None) -> "Workspace":
        """Create a workspace with every layer and the app tables.

        Layers are empty unless ``layers`` gives their first contents: the same file as
        creating an empty workspace and then :meth:`write_layers`, written by GDAL in
        one go (its R-tree built in bulk) instead of staged and swapped in row by row,
        which on a generated province took minutes.
        """
        for name in layers or {}:
            get_schema(name)
        ws = cls(path)
        if ws.exists and not overwrite:
            msg = f"workspace {ws.path} already exists"
            raise FileExistsError(msg)
        ws.path.parent.mkdir(parents=True, exist_ok=True)
        empty = {name: gpd.GeoDataFrame() if s.spatial else pd.DataFrame() for name, s in LAYERS.items()}
        given = dict(layers or {})
        versions = {_LAYER_VERSION_KEY.format(name): uuid.uuid4().hex for name, f in given.items() if len(f)}
        if versions:
            versions["layers_version"] = uuid.uuid4().hex
        with ws._locked():
            tmp = ws._temp_path()
            try:
                for name, frame in empty.items():
                    if len(given.get(name, ())):
                        # declared as the empty layer would be, so the rows follow the type
                        # they would follow when written into it later
                        _write_layer_file(tmp, LAYERS[name], given[name], declared=_empty_declared_type(LAYERS[name]))
                    else:
                        _write_layer_file(tmp, LAYERS[name], frame)
                with contextlib.closing(sqlite3.connect(tmp)) as con:
                    con.executescript(_APP_SCHEMA)
                    _set_meta(con, {"created_by": "ruralplan", **(meta or {}), **versions})
                    con.commit()
                    con.execute("PRAGMA journal_mode=WAL")
                if overwrite:
                    for suffix in ("-wal", "-shm", "-journal"):
                        _remove_quietly(ws.path.with_name(ws.path.name + suffix))
                os.replace(tmp, ws.path)
            finally:
                _remove_quietly(tmp)
        return ws

    @classmethod
    def open_or_create(cls, path: str | os.PathLike) -> "Workspace":
        ws = cls(path)
        if not ws.exists:
            return cls.create(path)
        return ws

    def require(self) -> "Workspace":
        if not self.exists:
            msg = f"workspace {self.path} does not exist (create it with `ruralplan demo` or `ruralplan import`)"
            raise FileNotFoundError(msg)
        return self

    # ------------------------------------------------------------------ reading
    def info(self) -> list[LayerInfo]:
        """Every schema layer with its feature count (0 when absent)."""
        self.require()
        with self.connect() as con:
            present = _gpkg_layers(con)
            out = []
            for name, schema in LAYERS.items():
                count = 0
                if name in present:
                    count = int(con.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0])
                out.append(LayerInfo(name, schema.zh, schema.en, count, present.get(name)))
        return out

    def layer_names(self) -> list[str]:
        self.require()
        with self.connect() as con:
            return list(_gpkg_layers(con))

    def read_layer(self, layer: str, *, bbox: tuple[float, float, float, float] | None = None) -> pd.DataFrame:
        """A layer as a GeoDataFrame (EPSG:4326) or DataFrame for attribute tables.

        Frames are cached per file version; callers get a copy they may change.
        """
        schema = get_schema(layer)
        self.require()
        stamp = self.layer_version(layer)
        with self._cache_lock:
            hit = self._cache.get(layer)
        if hit is None or hit[0] != stamp:
            frame = self._read_layer_uncached(schema)
            with self._cache_lock:
                self._cache[layer] = (stamp, frame)
        else:
            frame = hit[1]
        if bbox is not None and schema.spatial and len(frame):
            frame = frame.iloc[frame.sindex.query(_bbox_polygon(bbox), predicate="intersects")].sort_index()
        return frame.copy()

    def _read_layer_uncached(self, schema: LayerSchema) -> pd.DataFrame:
        # Read with Python's sqlite3, never with GDAL: two SQLite libraries in one process
        # break each other's POSIX locks on the same file (closing one's descriptor drops
        # the other's locks), which in WAL mode shows as stale reads or "disk I/O error".
        with self.connect() as con:
            frame = _read_gpkg_table(con, schema)
        return conform_to_schema(frame, schema)

    def layer_version(self, layer: str) -> str:
        """A string that changes whenever ``layer`` changes, and only then.

        It joins the version the app stamps on every write of the layer with the layer's
        ``gpkg_contents.last_change``, which GDAL (and so QGIS) updates when another
        program edits it. App-table writes (proposals, users) leave it alone.
        """
        return self.layers_version(layer)[0]

    def layers_version(self, *layers: str) -> tuple[str, ...]:
        """:meth:`layer_version` of several layers, read in one query."""
        for name in layers:
            get_schema(name)
        keys = [_LAYER_VERSION_KEY.format(n) for n in layers]
        with self.connect() as con:
            ours = dict(con.execute(
                f"SELECT key, value FROM rp_meta WHERE key IN ({','.join('?' * len(keys))})", keys).fetchall())
            try:
                theirs = dict(con.execute(
                    f"SELECT table_name, last_change FROM gpkg_contents WHERE table_name IN "
                    f"({','.join('?' * len(layers))})", layers).fetchall())
            except sqlite3.OperationalError:  # not a GeoPackage (yet)
                theirs = {}
        return tuple(f"{ours.get(k, '')}|{theirs.get(n, '')}" for k, n in zip(keys, layers))

    # ------------------------------------------------------------------ writing
    def write_layers(self, frames: Mapping[str, pd.DataFrame], *, meta: Mapping[str, object] | None = None) -> None:
        """Replace whole layers atomically (all of them or none).

        Frames are conformed to their schemas; geometries are reprojected to EPSG:4326.
        For read-modify-write (adding to a layer), use :meth:`editing` so no other
        writer can slip in between the read and the write.
        """
        for name in frames:
            get_schema(name)
        with self._locked(), self._write_connection() as con:
            self._apply(con, frames, meta=meta)

    @contextlib.contextmanager
    def editing(self) -> Iterator["LayerEdit"]:
        """A read-modify-write of layers (and app tables) as one atomic, exclusive step.

        Inside the block, :meth:`LayerEdit.read_layer` reads the current file while every
        other writer waits; what the block writes (layers, metadata, SQL on app tables
        such as an audit row) lands together when it ends, or not at all if it raises.

        Examples
        --------
        >>> with ws.editing() as edit:                                    # doctest: +SKIP
        ...     pairings = edit.read_layer("pairings")
        ...     edit.write_layer("pairings", pd.concat([pairings, new_rows]))
        ...     edit.execute("INSERT INTO rp_audit(...) VALUES (?, ...)", values)
        """
        with self._locked(), self._write_connection() as con:
            # the write lock is taken before the block reads: another program (QGIS)
            # cannot commit between what we read and what we write
            edit = LayerEdit(self)
            yield edit
            if edit.frames or edit.statements or edit.meta:
                self._apply(con, edit.frames, meta=edit.meta, statements=edit.statements)

    @contextlib.contextmanager
    def _write_connection(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``), committed when the block ends."""
        self.require()
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        try:
            con.execute("PRAGMA foreign_keys = ON")
            _register_gpkg_functions(con)
            _ensure_wal(con)
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            # keep the main file current, so copying the .gpkg alone copies everything
            with contextlib.suppress(sqlite3.OperationalError):
                con.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            _drop_stage(con)
            con.close()

    def _apply(self, con: sqlite3.Connection, frames, *, meta=None, statements=()) -> None:
        """Write layers, statements and metadata inside ``con``'s open transaction.

        Every frame is staged by GDAL, then compared with the stored table in SQL (row by
        row in fid order, values by ``IS``): only layers whose rows differ are swapped in.
        Equal bytes mean equal data, so a layer is never wrongly kept; a stored value
        that differs only in representation is rewritten, which is harmless. Reading the
        stored layer back into pandas to compare it cost more than the write itself.
        """
        changed = []
        if frames:
            # detached (and deleted) by _write_connection once the transaction has ended:
            # SQLite cannot detach a database a transaction has read
            stage = self._temp_path(".stage.gpkg")
            try:
                declared = dict(con.execute("SELECT table_name, geometry_type_name FROM gpkg_geometry_columns")
                                .fetchall())
                for name, frame in frames.items():
                    _write_layer_file(stage, LAYERS[name], conform_to_schema(frame, LAYERS[name]),
                                      declared=declared.get(name), conformed=True)
                con.execute("ATTACH DATABASE ? AS stage", (str(stage),))
            except BaseException:
                _remove_quietly(stage)
                raise
            changed = [name for name in frames if not _same_rows(con, LAYERS[name])]
            for name in changed:
                _swap_layer(con, LAYERS[name])
        con.execute(_META_SCHEMA)
        for sql, params in statements:
            con.execute(sql, params)
        new_meta = dict(meta or {})
        if changed:
            new_meta["layers_version"] = uuid.uuid4().hex
            for name in changed:
                new_meta[_LAYER_VERSION_KEY.format(name)] = uuid.uuid4().hex
        if new_meta:
            _set_meta(con, new_meta)

    # ------------------------------------------------------------------ metadata and app tables
    def meta(self) -> dict[str, object]:
        self.require()
        with self.connect() as con:
            rows = con.execute("SELECT key, value FROM rp_meta").fetchall()
        return {k: json.loads(v) for k, v in rows}

    def set_meta(self, **values) -> None:
        with self.transaction() as con:
            _set_meta(con, values)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A read connection to the workspace's SQLite file (app tables)."""
        self.require()
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute("PRAGMA foreign_keys = ON")
            yield con
        finally:
            con.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the app tables, serialised with layer writes.

        ``BEGIN IMMEDIATE`` takes SQLite's write lock at once, so two concurrent
        transactions run one after the other and a compare-and-set inside one of them
        (e.g. a proposal's status) sees the other's result.
        """
        with self._locked(), self._write_connection() as con:
            yield con

    # ------------------------------------------------------------------ caches
    def get_blob(self, key: str) -> bytes | None:
        """A cached derived artefact (e.g. a built road graph) stored under ``key``."""
        with self.connect() as con:
            try:
                row = con.execute("SELECT value FROM rp_cache WHERE key = ?", (key,)).fetchone()
            except sqlite3.OperationalError:  # no cache table yet
                return None
        return None if row is None else bytes(row[0])

    def put_blob(self, key: str, value: bytes, *, replace_prefix: str | None = None) -> None:
        """Store a derived artefact; ``replace_prefix`` drops older entries of that kind."""
        with self.transaction() as con:
            con.execute(_BLOB_SCHEMA)
            if replace_prefix:
                con.execute("DELETE FROM rp_cache WHERE key LIKE ? || '%'", (replace_prefix,))
            con.execute("INSERT OR REPLACE INTO rp_cache(key, value) VALUES(?, ?)", (key, sqlite3.Binary(value)))

    # ------------------------------------------------------------------ internals
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                self._remove_leftovers()
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _remove_leftovers(self) -> None:
        """Temp and staging files of writers that were killed (we hold the lock: none is live)."""
        # this file's name; also its stem, as writers before the full name was used named them
        names = re.compile("|".join(_LEFTOVER_NAME.format(prefix=re.escape(p))
                                    for p in (self.path.name, self.path.stem)))
        for path in self.path.parent.glob(".*.gpkg*"):
            if names.fullmatch(path.name):
                _remove_quietly(path)

    def _temp_path(self, suffix: str = ".tmp.gpkg") -> Path:
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}-", suffix=suffix, dir=self.path.parent)
        os.close(fd)
        os.remove(name)  # GDAL wants to create the file itself when it is new
        return Path(name)


class LayerEdit:
    """What one :meth:`Workspace.editing` block reads and writes."""

    def __init__(self, ws: Workspace):
        self._ws = ws
        self.frames: dict[str, pd.DataFrame] = {}
        self.statements: list[tuple[str, tuple]] = []
        self.meta: dict[str, object] = {}

    def read_layer(self, layer: str) -> pd.DataFrame:
        """The layer as written in this block, else as stored now."""
        if layer in self.frames:
            return self.frames[layer].copy()
        if not self._ws.exists:
            return conform_to_schema(gpd.GeoDataFrame() if get_schema(layer).spatial else pd.DataFrame(),
                                     get_schema(layer))
        return self._ws.read_layer(layer)

    def write_layer(self, layer: str, frame: pd.DataFrame) -> None:
        get_schema(layer)
        self.frames[layer] = frame

    def execute(self, sql: str, params: tuple = ()) -> None:
        """SQL on the app tables, applied in the same swap as the layers."""
        self.statements.append((sql, tuple(params)))

    def set_meta(self, **values) -> None:
        self.meta.update(values)


def _write_layer_file(path: Path, schema: LayerSchema, frame: pd.DataFrame, *, declared: str | None = None,
                      conformed: bool = False) -> None:
    """Write one layer with GDAL; ``declared`` is the geometry type the workspace's table
    already declares (``gpkg_geometry_columns``), which the written geometries then follow;
    ``conformed``: ``frame`` is already :func:`conform_to_schema`'s result."""
    if not conformed:
        frame = conform_to_schema(frame, schema)
    kwargs = {}
    if schema.spatial:
        families = {_FAMILY.get(k, k) for k in schema.geometry}
        types = set(frame.geometry.dropna().geom_type) if len(frame) else set()
        same_family = types <= {"Polygon", "MultiPolygon"} or types <= {"LineString", "MultiLineString"}
        declared = (declared or "").upper()
        if declared == "GEOMETRY" or (not types and len(families) > 1):
            # a layer that may hold points and polygons is declared generic from the start
            kwargs["geometry_type"] = "Unknown"
        elif not types:
            kwargs["geometry_type"] = _EMPTY_GEOMETRY_TYPE.get(schema.geometry[0], "Unknown")
        elif declared.startswith("MULTI") and same_family:
            kwargs["promote_to_multi"] = True
        else:
            # Polygon+MultiPolygon (or lines) become all-Multi so QGIS sees one type;
            # points mixed with polygons can only be a generic geometry layer.
            kwargs["promote_to_multi"] = len(types) > 1 and same_family
            if len(types) > 1 and not same_family:
                kwargs["geometry_type"] = "Unknown"
    else:
        frame = pd.DataFrame(frame)
    # nullable extension dtypes are written as their numpy equivalents with nulls
    for name in frame.columns:
        if str(frame[name].dtype) == "Int64":
            frame[name] = frame[name].astype("float64") if frame[name].isna().any() else frame[name].astype("int64")
    pyogrio.write_dataframe(frame, path, layer=schema.name, driver="GPKG", **kwargs)


_FAMILY = {"MultiPolygon": "Polygon", "MultiLineString": "LineString", "MultiPoint": "Point"}


def _empty_declared_type(schema: LayerSchema) -> str:
    """``gpkg_geometry_columns.geometry_type_name`` of ``schema``'s layer written empty
    (the rule of :func:`_write_layer_file` for no geometries); "" for tables."""
    if not schema.spatial:
        return ""
    families = {_FAMILY.get(k, k) for k in schema.geometry}
    if len(families) > 1:
        return "GEOMETRY"
    return _EMPTY_GEOMETRY_TYPE.get(schema.geometry[0], "Unknown").upper().replace("UNKNOWN", "GEOMETRY")


def _set_meta(con: sqlite3.Connection, values: Mapping[str, object]) -> None:
    # execute, not executescript: executescript would COMMIT an open transaction
    con.execute(_META_SCHEMA)
    con.executemany(
        "INSERT INTO rp_meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [(k, json.dumps(v, ensure_ascii=False, default=_json_default)) for k, v in values.items()],
    )


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    msg = f"cannot store {type(value).__name__} in workspace metadata"
    raise TypeError(msg)


def _bbox_polygon(bbox):
    import shapely

    return shapely.box(*bbox)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


# --------------------------------------------------------------------------- in-place layer swap
def _same_rows(con: sqlite3.Connection, schema: LayerSchema) -> bool:
    """Whether ``main.<layer>`` holds exactly ``stage.<layer>``'s rows (fid order, fids aside).

    Values compare with ``IS`` (NULL equals NULL; 1 equals 1.0, text and blobs byte by
    byte). Columns the stage has and the stored table lacks, or a missing table, count
    as a change.
    """
    table = _quote(schema.name)
    main_cols = [r[1] for r in con.execute(f"PRAGMA main.table_info({table})")]
    stage_cols = [r[1] for r in con.execute(f"PRAGMA stage.table_info({table})") if r[1] != "fid"]
    if not main_cols or any(c not in main_cols for c in stage_cols):
        return False
    n_main = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0]
    if n_main != con.execute(f"SELECT count(*) FROM stage.{table}").fetchone()[0]:
        return False
    if not stage_cols:
        return True
    cols = ", ".join(_quote(c) for c in stage_cols)
    differs = " OR ".join(f"m.{_quote(c)} IS NOT s.{_quote(c)}" for c in stage_cols)
    row = con.execute(
        f"SELECT 1 FROM (SELECT row_number() OVER (ORDER BY fid) AS rn, {cols} FROM main.{table}) m "
        f"JOIN (SELECT row_number() OVER (ORDER BY fid) AS rn, {cols} FROM stage.{table}) s ON s.rn = m.rn "
        f"WHERE {differs} LIMIT 1").fetchone()
    return row is None


def _gpkg_layers(con: sqlite3.Connection) -> dict[str, str | None]:
    """Registered layers → geometry type as GDAL names it (``"Point"``…), None for tables."""
    names = {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon", "MULTIPOINT": "MultiPoint",
             "MULTILINESTRING": "MultiLineString", "MULTIPOLYGON": "MultiPolygon", "GEOMETRY": "Unknown"}
    try:
        rows = con.execute("SELECT c.table_name, g.geometry_type_name FROM gpkg_contents c LEFT JOIN "
                           "gpkg_geometry_columns g ON g.table_name = c.table_name "
                           "WHERE c.data_type IN ('features', 'attributes')").fetchall()
    except sqlite3.OperationalError:  # not a GeoPackage
        return {}
    return {t: (names.get(str(g).upper(), g) if g else None) for t, g in rows}


def _read_gpkg_table(con: sqlite3.Connection, schema: LayerSchema) -> pd.DataFrame:
    """A GeoPackage table as a (Geo)DataFrame in fid order, geometries decoded from their blobs."""
    table = _quote(schema.name)
    present = _gpkg_layers(con)
    empty = gpd.GeoDataFrame() if schema.spatial else pd.DataFrame()
    if schema.name not in present:
        return empty
    geom_col = None
    if schema.spatial:
        row = con.execute("SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?",
                          (schema.name,)).fetchone()
        geom_col = row[0] if row else None
    cur = con.execute(f"SELECT * FROM {table} ORDER BY rowid")
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    frame = frame.drop(columns=[c for c in ("fid",) if c in frame.columns])
    if geom_col is None or geom_col not in frame.columns:
        return frame
    geometry = _decode_gpkg_geometries(frame.pop(geom_col).to_list())
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=_storage_crs())


def _decode_gpkg_geometries(blobs: list) -> np.ndarray:
    """GeoPackage geometry blobs (header + WKB, GeoPackage 1.3 §2.1.3) → shapely array."""
    import shapely

    wkb = np.full(len(blobs), None, dtype=object)
    sizes = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
    for i, blob in enumerate(blobs):
        if blob is None or len(blob) < 8 or blob[:2] != b"GP":
            continue
        offset = 8 + sizes.get((blob[3] >> 1) & 0b111, 0)
        wkb[i] = bytes(blob[offset:])
    return shapely.from_wkb(wkb)


def _drop_stage(con: sqlite3.Connection) -> None:
    """Detach and delete the staging file of the transaction that just ended, if any."""
    with contextlib.suppress(sqlite3.Error):
        for _seq, name, path in con.execute("PRAGMA database_list").fetchall():
            if name == "stage":
                con.execute("DETACH DATABASE stage")
                if path:
                    _remove_quietly(Path(path))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _swap_layer(con: sqlite3.Connection, schema: LayerSchema) -> None:
    """Replace ``main.<layer>``'s rows by ``stage.<layer>``'s, keeping fids of unchanged keys."""
    table = _quote(schema.name)
    main_cols = [r[1] for r in con.execute(f"PRAGMA main.table_info({table})")]
    stage_cols = [r[1] for r in con.execute(f"PRAGMA stage.table_info({table})")]
    if not main_cols:  # a layer this workspace lacks: GDAL created the stage one, copy its definition
        _create_like_stage(con, schema)
        main_cols = [r[1] for r in con.execute(f"PRAGMA main.table_info({table})")]
    fid = "fid"
    cols = [c for c in stage_cols if c in main_cols and c != fid]
    missing = [c for c in stage_cols if c not in main_cols and c != fid]
    for c in missing:  # a schema field added since the workspace was made
        con.execute(f"ALTER TABLE main.{table} ADD COLUMN {_quote(c)}")
        cols.append(c)
    col_list = ", ".join(_quote(c) for c in cols)
    src_list = ", ".join(f"s.{_quote(c)}" for c in cols)
    key = schema.id_field if schema.id_field in cols else None
    if key:
        qk = _quote(key)
        con.execute("DROP TABLE IF EXISTS temp.rp_keep_fid")
        con.execute(f"CREATE TEMP TABLE rp_keep_fid AS SELECT {qk} AS k, min({fid}) AS fid FROM main.{table} "
                    f"WHERE {qk} IS NOT NULL GROUP BY {qk}")
        con.execute(f"DELETE FROM main.{table}")
        con.execute(
            f"INSERT INTO main.{table} ({fid}, {col_list}) "
            f"SELECT CASE WHEN row_number() OVER (PARTITION BY s.{qk} ORDER BY s.{fid}) = 1 THEN k.fid END, "
            f"{src_list} FROM stage.{table} s LEFT JOIN temp.rp_keep_fid k ON k.k = s.{qk} ORDER BY s.{fid}")
        con.execute("DROP TABLE temp.rp_keep_fid")
    else:
        con.execute(f"DELETE FROM main.{table}")
        con.execute(f"INSERT INTO main.{table} ({col_list}) SELECT {src_list} FROM stage.{table} s ORDER BY s.{fid}")
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    row = con.execute("SELECT min_x, min_y, max_x, max_y FROM stage.gpkg_contents WHERE table_name = ?",
                      (schema.name,)).fetchone()
    con.execute("UPDATE main.gpkg_contents SET last_change = ?, min_x = ?, min_y = ?, max_x = ?, max_y = ? "
                "WHERE table_name = ?", (now, *(row or (None,) * 4), schema.name))
    if schema.spatial:
        gtype = con.execute("SELECT geometry_type_name FROM stage.gpkg_geometry_columns WHERE table_name = ?",
                            (schema.name,)).fetchone()
        if gtype:
            con.execute("UPDATE main.gpkg_geometry_columns SET geometry_type_name = ? WHERE table_name = ?",
                        (gtype[0], schema.name))
    with contextlib.suppress(sqlite3.OperationalError):  # GDAL's feature count cache, when present
        con.execute(f"UPDATE main.gpkg_ogr_contents SET feature_count = (SELECT count(*) FROM main.{table}) "
                    f"WHERE lower(table_name) = lower(?)", (schema.name,))


def _create_like_stage(con: sqlite3.Connection, schema: LayerSchema) -> None:
    """Copy a layer's table and GeoPackage registration from the staging file (a new layer)."""
    table = _quote(schema.name)
    sql = con.execute("SELECT sql FROM stage.sqlite_master WHERE type = 'table' AND name = ?",
                      (schema.name,)).fetchone()[0]
    con.execute(sql)
    con.execute("INSERT INTO main.gpkg_contents SELECT * FROM stage.gpkg_contents WHERE table_name = ?",
                (schema.name,))
    if schema.spatial:
        con.execute("INSERT INTO main.gpkg_geometry_columns SELECT * FROM stage.gpkg_geometry_columns "
                    "WHERE table_name = ?", (schema.name,))
    del table


@functools.lru_cache(maxsize=16)
def _envelope(blob: bytes) -> tuple[float, float, float, float] | None:
    """(min_x, max_x, min_y, max_y) of a GeoPackage geometry blob; None when empty.

    The header (GeoPackage 1.3, §2.1.3) carries the envelope for every geometry GDAL
    writes except points; a point's is its coordinates, read from the WKB after it.
    """
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b10000:
        return None
    order = "<" if flags & 1 else ">"
    indicator = (flags >> 1) & 0b111
    size = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(indicator, 0)
    if size:
        minx, maxx, miny, maxy = struct.unpack(order + "4d", blob[8:40])
        return minx, maxx, miny, maxy
    import shapely

    geom = shapely.from_wkb(bytes(blob[8 + size:]))
    if geom is None or geom.is_empty:
        return None
    minx, miny, maxx, maxy = geom.bounds
    return minx, maxx, miny, maxy


def _envelope_part(i: int):
    def part(blob):
        env = _envelope(bytes(blob)) if blob is not None else None
        return None if env is None else env[i]
    return part


def _register_gpkg_functions(con: sqlite3.Connection) -> None:
    """The SQL functions GDAL's R-tree triggers call (GDAL registers them in its own connections)."""
    con.create_function("ST_IsEmpty", 1, lambda b: 1 if b is None or _envelope(bytes(b)) is None else 0,
                        deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _envelope_part(i), deterministic=True)


def _ensure_wal(con: sqlite3.Connection) -> None:
    """Put the file in WAL mode (kept in the file), so readers never block the writer."""
    with contextlib.suppress(sqlite3.OperationalError):
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            con.execute("PRAGMA journal_mode=WAL")
