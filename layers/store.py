"""The county workspace: one GeoPackage holding every layer plus the app's own tables.

QGIS opens the file and sees every layer of :data:`layers.schema.LAYERS` (empty ones
included, with their columns). The app's non-spatial tables (metadata, users, proposals,
transitions, scenarios, caches) live in the same SQLite file under the ``rp_`` prefix;
GDAL and QGIS ignore tables that are not registered in ``gpkg_contents``.

Layer writes are atomic: the file is copied beside itself, the copy is written, and the
copy replaces the original with :func:`os.replace`. A failed import or a crash mid-write
leaves the previous file untouched. All writers (layer imports, app-table transactions)
take one advisory file lock so the copy never races a transaction.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import tempfile
import threading
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
            geometry = gpd.GeoSeries([None] * n, index=frame.index, crs=STORAGE_CRS)
        result = gpd.GeoDataFrame(result, geometry=geometry.values, crs=geometry.crs or STORAGE_CRS)
        if result.crs is not None and not result.crs.equals(STORAGE_CRS):
            result = result.to_crs(STORAGE_CRS)
    return result.reset_index(drop=True)


def _coerce(col: pd.Series, kind: str, default) -> pd.Series:
    if kind == "int":
        values = pd.to_numeric(col, errors="coerce")
        if default is not None:
            values = values.fillna(default)
        return values.round().astype("Int64")
    if kind == "float":
        values = pd.to_numeric(col, errors="coerce").astype("float64")
        return values.fillna(default) if default is not None else values
    if kind == "bool":
        values = col.astype(object).where(col.notna(), default if default is not None else False)
        return values.astype(bool)
    # str and date are stored as text; None stays null rather than the string "None".
    values = col.astype(object).where(col.notna(), None)
    return values.map(lambda v: v if v is None else str(v)).astype(object)


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
               overwrite: bool = False) -> "Workspace":
        """Create an empty workspace with every layer (no features) and the app tables."""
        ws = cls(path)
        if ws.exists and not overwrite:
            msg = f"workspace {ws.path} already exists"
            raise FileExistsError(msg)
        ws.path.parent.mkdir(parents=True, exist_ok=True)
        empty = {name: gpd.GeoDataFrame() if s.spatial else pd.DataFrame() for name, s in LAYERS.items()}
        with ws._locked():
            tmp = ws._temp_path()
            try:
                for name, frame in empty.items():
                    _write_layer_file(tmp, LAYERS[name], frame)
                with contextlib.closing(sqlite3.connect(tmp)) as con:
                    con.executescript(_APP_SCHEMA)
                    _set_meta(con, {"created_by": "ruralplan", **(meta or {})})
                    con.commit()
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
        present = {row[0]: row[1] for row in pyogrio.list_layers(self.path)}
        out = []
        for name, schema in LAYERS.items():
            count = 0
            if name in present:
                count = int(pyogrio.read_info(self.path, layer=name)["features"])
            out.append(LayerInfo(name, schema.zh, schema.en, count, present.get(name)))
        return out

    def layer_names(self) -> list[str]:
        self.require()
        return [row[0] for row in pyogrio.list_layers(self.path)]

    def read_layer(self, layer: str, *, bbox: tuple[float, float, float, float] | None = None) -> pd.DataFrame:
        """A layer as a GeoDataFrame (EPSG:4326) or DataFrame for attribute tables.

        Frames are cached per file version; callers get a copy they may change.
        """
        schema = get_schema(layer)
        self.require()
        stamp = self._stamp()
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
        names = {row[0] for row in pyogrio.list_layers(self.path)}
        if schema.name not in names:
            return conform_to_schema(gpd.GeoDataFrame() if schema.spatial else pd.DataFrame(), schema)
        frame = pyogrio.read_dataframe(self.path, layer=schema.name, read_geometry=schema.spatial)
        if schema.spatial and not isinstance(frame, gpd.GeoDataFrame):
            frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)), crs=STORAGE_CRS)
        return conform_to_schema(frame, schema)

    def _stamp(self) -> tuple[int, str]:
        # Layer writes replace the file and bump ``layers_version``; app-table
        # transactions change the file in place without touching layers, so they must
        # not invalidate the (expensive) layer cache — hence no mtime here.
        ino = self.path.stat().st_ino
        with self.connect() as con:
            row = con.execute("SELECT value FROM rp_meta WHERE key = 'layers_version'").fetchone()
        return (ino, row[0] if row else "")

    # ------------------------------------------------------------------ writing
    def write_layers(self, frames: Mapping[str, pd.DataFrame], *, meta: Mapping[str, object] | None = None) -> None:
        """Replace whole layers atomically (all of them or none).

        Frames are conformed to their schemas; geometries are reprojected to EPSG:4326.
        For read-modify-write (adding to a layer), use :meth:`editing` so no other
        writer can slip in between the read and the write.
        """
        for name in frames:
            get_schema(name)
        with self._locked():
            self._replace_file(frames, meta=meta)

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
        with self._locked():
            edit = LayerEdit(self)
            yield edit
            if edit.frames or edit.statements or edit.meta:
                self._replace_file(edit.frames, meta=edit.meta, statements=edit.statements)

    def _replace_file(self, frames, *, meta=None, statements=()) -> None:
        """Copy, write, swap in; the caller holds the lock."""
        tmp = self._temp_path()
        try:
            if self.exists:
                shutil.copyfile(self.path, tmp)
            for name, frame in frames.items():
                _write_layer_file(tmp, LAYERS[name], frame)
            with contextlib.closing(sqlite3.connect(tmp)) as con:
                con.executescript(_APP_SCHEMA)
                for sql, params in statements:
                    con.execute(sql, params)
                new_meta = dict(meta or {})
                if frames:
                    new_meta["layers_version"] = uuid.uuid4().hex
                _set_meta(con, new_meta)
                con.commit()
            os.replace(tmp, self.path)
        finally:
            _remove_quietly(tmp)

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
        with self._locked():
            with self.connect() as con:
                con.isolation_level = None
                con.execute("BEGIN IMMEDIATE")
                try:
                    yield con
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                else:
                    con.execute("COMMIT")

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
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _temp_path(self) -> Path:
        fd, name = tempfile.mkstemp(prefix=f".{self.path.stem}-", suffix=".tmp.gpkg", dir=self.path.parent)
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


def _write_layer_file(path: Path, schema: LayerSchema, frame: pd.DataFrame) -> None:
    frame = conform_to_schema(frame, schema)
    kwargs = {}
    if schema.spatial:
        if len(frame) == 0 or frame.geometry.isna().all():
            kwargs["geometry_type"] = _EMPTY_GEOMETRY_TYPE.get(schema.geometry[0], "Unknown")
        else:
            types = set(frame.geometry.dropna().geom_type)
            # Polygon+MultiPolygon (or lines) become all-Multi so QGIS sees one type;
            # points mixed with polygons can only be a generic geometry layer.
            same_family = types <= {"Polygon", "MultiPolygon"} or types <= {"LineString", "MultiLineString"}
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
