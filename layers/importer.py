"""Importing files into workspace layers.

``import_file`` reads a user's file (CSV, Excel, GeoJSON, GeoPackage, Shapefile,
OpenStreetMap PBF or an adcode-style statistical village list), validates every record
against the layer's schema and writes the layer atomically — or writes nothing at all
when there are errors, unless the caller asked to skip bad rows (which the report then
lists). By default records are added or updated by their id/code; ``replace=True`` makes
the file the whole layer.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import tables as geo_tables
from geo import vector as geo_vector
from geo.report import N_, Problem, error, warning

from . import osm, statistical
from .schema import LAYERS, get_schema
from .store import Workspace, conform_to_schema
from .validate import validate_records

TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp"}
OSM_SUFFIXES = {".pbf"}


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did (or would have done) to one or more layers."""

    file: str
    layers: tuple[str, ...]
    problems: tuple[Problem, ...]
    written: bool
    added: dict = field(default_factory=dict)
    updated: dict = field(default_factory=dict)
    skipped_rows: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the import was written (errors, if any, were in skipped rows)."""
        return self.written

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "layers": list(self.layers),
            "written": self.written,
            "added": dict(self.added),
            "updated": dict(self.updated),
            "skipped_rows": list(self.skipped_rows),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
        }


def import_file(
    ws: Workspace,
    layer: str,
    path: str | os.PathLike,
    *,
    crs: str = "wgs84",
    replace: bool = False,
    skip_bad_rows: bool = False,
    display_name: str | None = None,
    sheet: str | int | None = None,
    progress=None,
) -> ImportOutcome:
    """Validate ``path`` and import it into ``layer`` of ``ws``.

    Parameters
    ----------
    ws
        The workspace; created when it does not exist yet (only if the import writes).
    layer
        Target layer name (see :data:`layers.schema.LAYERS`). An adcode statistical list
        given for ``villages`` also fills ``towns``.
    crs
        Coordinate system of coordinate columns in tables: ``wgs84``, ``cgcs2000``,
        ``gcj02`` (Amap/Tencent), ``bd09`` (Baidu) or ``EPSG:n``. Vector files carry
        their own CRS.
    replace
        The file becomes the whole layer instead of adding/updating by id.
    skip_bad_rows
        Import the good rows even when some rows have errors; the skipped rows are
        listed in the outcome.
    display_name
        File name shown in problems (the original name of an uploaded file).
    progress
        Called with ``"read"``, ``"validate"`` and ``"write"`` as each step ends.
    """
    step = progress or (lambda _name: None)
    schema = get_schema(layer)
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        msg = f"{name}: file not found"
        raise FileNotFoundError(msg)
    suffix = path.suffix.lower()

    boundary = _county_boundary(ws)
    if suffix in OSM_SUFFIXES:
        frames, problems = osm.read_osm_layers(path, file=name)
        if layer not in frames:
            msg = f"{name}: an OpenStreetMap file can be imported into {', '.join(frames)}, not {layer}"
            raise ValueError(msg)
        frames = {layer: frames[layer]}
        row_numbers = {layer: None}
    elif suffix in TABLE_SUFFIXES and layer in ("villages", "towns") and statistical.looks_like_adcode_list(path):
        frames, problems = statistical.read_adcode_list(path, file=name)
        row_numbers = {k: v.pop("_row").to_numpy() for k, v in frames.items()}
    elif suffix in TABLE_SUFFIXES:
        table = geo_tables.read_table(path, sheet=sheet)
        problems = []
        rows = geo_tables.row_numbers(table)
        if schema.spatial:
            table, problems = _table_geometry(table, schema, crs=crs, file=name)
        frames, row_numbers = {layer: table}, {layer: rows}
    elif suffix in VECTOR_SUFFIXES:
        frame, problems = geo_vector.read_vector(path)
        frame = frame.reset_index(drop=True)
        frames, row_numbers = {layer: frame}, {layer: np.arange(len(frame)) + 1}
    else:
        known = sorted(TABLE_SUFFIXES | VECTOR_SUFFIXES | OSM_SUFFIXES)
        msg = f"{name}: unsupported file type {suffix or '(none)'}; expected one of {', '.join(known)}"
        raise ValueError(msg)

    step("read")
    # Reading problems (e.g. coordinates) go through validation so their rows count as bad.
    read_problems = list(problems)
    problems = []
    merged: dict[str, pd.DataFrame] = {}
    added: dict[str, int] = {}
    updated: dict[str, int] = {}
    skipped: list[int] = []
    blocking = False
    for lname, frame in frames.items():
        lschema = LAYERS[lname]
        result = validate_records(frame, lschema, file=name, row_numbers=row_numbers.get(lname),
                                  geometry_problems=read_problems if lname == layer else None,
                                  boundary=boundary if lschema.spatial else None)
        problems.extend(result.problems)
        fatal = [p for p in result.problems if p.is_error and p.row is None]
        if fatal or (result.bad_rows and not skip_bad_rows):
            blocking = True
            continue
        rows = row_numbers.get(lname)
        rows = rows if rows is not None else np.arange(len(frame)) + 2
        skipped.extend(int(rows[i]) for i in sorted(result.bad_rows))
        good = result.frame.drop(index=result.frame.index[sorted(result.bad_rows)])
        merged[lname], added[lname], updated[lname] = _merge(ws, lname, good, replace=replace,
                                                             provided=set(result.column_map.values()))
    problems.extend(_reference_warnings(ws, merged, file=name))
    step("validate")
    if blocking or any(p.is_error and p.row is None for p in problems):
        return ImportOutcome(name, tuple(frames), tuple(problems), written=False)
    if not ws.exists:
        Workspace.create(ws.path)
    ws.write_layers(merged)
    step("write")
    return ImportOutcome(name, tuple(frames), tuple(problems), written=True, added=added, updated=updated,
                         skipped_rows=tuple(skipped))


def _table_geometry(table: pd.DataFrame, schema, *, crs: str, file: str):
    """Points from coordinate columns, or geometries from a WKT column."""
    wkt_col = next((c for c in table.columns if str(c).strip().lower() in ("wkt", "geometry", "geom", "几何")), None)
    if wkt_col is not None and schema.geometry != ("Point",):
        return _wkt_geometry(table, wkt_col, crs=crs, file=file)
    xy = geo_tables.find_xy_columns(table.columns)
    if xy is None:
        if schema.geometry_required:
            problem = error("no_coordinates", N_("no coordinate columns found (expected e.g. 经度/纬度 or lon/lat)"),
                            file=file)
        else:
            problem = warning("no_coordinates", N_("no coordinate columns found; records are kept without location"),
                              file=file)
        return gpd.GeoDataFrame(table, geometry=[None] * len(table), crs="EPSG:4326"), [problem]
    gdf, problems = geo_tables.points_from_table(table, crs=crs, file=file, x_col=xy[0], y_col=xy[1])
    gdf = gdf.drop(columns=[c for c in xy if c in gdf.columns])
    if not schema.geometry_required:
        # Empty coordinate cells mean "location unknown" here, which validation reports
        # as a warning; only malformed coordinates stay errors.
        problems = [p for p in problems if p.code not in ("coord_missing",)]
    return gdf, problems


def _wkt_geometry(table, wkt_col, *, crs, file):
    import shapely

    problems = []
    geoms = []
    for i, text in enumerate(table[wkt_col].tolist()):
        try:
            geoms.append(shapely.from_wkt(text) if isinstance(text, str) and text.strip() else None)
        except shapely.errors.GEOSException:
            geoms.append(None)
            problems.append(error("bad_wkt", N_("{value!r} is not a WKT geometry"), params={"value": str(text)[:40]},
                                  file=file, row=i + 2, field=str(wkt_col)))
    from geo.crs import parse_crs

    code = parse_crs(crs)
    source = "EPSG:4326" if code in ("wgs84", "cgcs2000") else code
    if code in ("gcj02", "bd09"):
        msg = f"{file}: WKT geometries in {code} are not supported; convert them to WGS84 first"
        raise ValueError(msg)
    gdf = gpd.GeoDataFrame(table.drop(columns=[wkt_col]), geometry=geoms, crs=source).to_crs("EPSG:4326")
    return gdf, problems


def _merge(ws: Workspace, layer: str, new: pd.DataFrame, *, replace: bool, provided: set[str]):
    """The layer after adding/updating ``new`` by id; counts of added and updated records."""
    schema = LAYERS[layer]
    new = conform_to_schema(new, schema)
    if replace or not ws.exists:
        return new, len(new), 0
    old = ws.read_layer(layer)
    key = schema.id_field
    old_ids = pd.Index(old[key])
    hits = new[key].isin(old_ids).to_numpy()
    if not hits.any():
        return _concat(old, new, schema), len(new), 0
    # Updates change only the columns the file provided; the rest keeps stored values.
    old = old.set_index(key, drop=False)
    upd = new[hits].set_index(key, drop=False)
    columns = [c for c in upd.columns if c in provided or c == "geometry"]
    if "geometry" in columns:
        keep_old_geom = upd.geometry.isna()
        upd.loc[keep_old_geom, "geometry"] = old.loc[upd.index[keep_old_geom], "geometry"]
    old.loc[upd.index, columns] = upd[columns]
    merged = _concat(old.reset_index(drop=True), new[~hits], schema)
    return merged, int((~hits).sum()), int(hits.sum())


def _concat(a: pd.DataFrame, b: pd.DataFrame, schema) -> pd.DataFrame:
    if len(b) == 0:
        return a
    if len(a) == 0:
        return b
    out = pd.concat([a, b], ignore_index=True)
    if schema.spatial:
        out = gpd.GeoDataFrame(out, geometry="geometry", crs="EPSG:4326")
    return conform_to_schema(out, schema)


def _county_boundary(ws: Workspace):
    if not ws.exists:
        return None
    bounds = ws.read_layer("boundaries")
    county = bounds[bounds["level"] == "county"]
    if len(county) == 0:
        return None
    return county.geometry.union_all()


def _reference_warnings(ws: Workspace, merged: dict[str, pd.DataFrame], *, file: str) -> list[Problem]:
    """Warn about records pointing at villages the workspace does not have."""
    if "households" not in merged:
        return []
    villages = merged.get("villages")
    if villages is None:
        villages = ws.read_layer("villages") if ws.exists else pd.DataFrame({"code": []})
    known = set(villages["code"])
    if not known:
        return []
    frame = merged["households"]
    unknown = frame[~frame["village_code"].isin(known)]
    return [
        warning("unknown_village", N_("village code {value} is not in the villages layer"),
                params={"value": code}, file=file, field="village_code")
        for code in sorted(set(unknown["village_code"]))
    ]
