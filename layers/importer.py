"""Importing files into workspace layers.

``import_file`` reads a user's file (CSV, Excel, GeoJSON, GeoPackage, Shapefile,
OpenStreetMap ``.osm.pbf``/``.osm``/``.osm.gz``/``.osm.bz2`` or an adcode-style statistical
village list), validates every record against the layer's schema and writes the layer
atomically — or writes nothing at all
when there are errors, unless the caller asked to skip bad rows (which the report then
lists). By default records are added or updated by their id/code; ``replace=True`` makes
the file the whole layer.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import tables as geo_tables
from geo import vector as geo_vector
from geo.report import MORE, N_, HasProblems, Problem, add_limited, cap_problems, error, warning

from . import osm, statistical
from .schema import LAYERS, get_schema
from .store import Workspace, conform_to_schema
from .validate import match_columns, validate_records

TABLE_SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}
VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp", ".zip"}  # .zip: a zipped shapefile
OSM_SUFFIXES = set(osm.OSM_SUFFIXES)


@dataclass(frozen=True)
class ImportOutcome(HasProblems):
    """What an import did (or would have done) to one or more layers."""

    file: str
    layers: tuple[str, ...]
    problems: tuple[Problem, ...]
    written: bool
    added: dict = field(default_factory=dict)
    updated: dict = field(default_factory=dict)
    skipped_rows: tuple[int, ...] = ()
    #: ``{(severity, code): number}`` over every problem found, listed or not (the report
    #: lists at most :data:`geo.report.MAX_LISTED` one by one).
    counts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the import was written (errors, if any, were in skipped rows)."""
        return self.written

    def count(self, severity: str) -> int:
        """Number of problems of ``severity`` found, including those not listed."""
        if not self.counts:
            return sum(p.severity == severity for p in self.problems if p.code != MORE)
        return sum(n for (sev, _code), n in self.counts.items() if sev == severity)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "layers": list(self.layers),
            "written": self.written,
            "added": dict(self.added),
            "updated": dict(self.updated),
            "skipped_rows": list(self.skipped_rows),
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "counts": {f"{sev}:{code}": n for (sev, code), n in sorted(self.counts.items())},
            "problems": [p.to_dict() for p in self.problems],
        }


def import_file(
    ws: Workspace,
    layer: str,
    path: str | os.PathLike,
    *,
    crs: str | None = None,
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
        The coordinates' real system: ``wgs84``, ``cgcs2000``, ``gcj02`` (Amap/Tencent),
        ``bd09`` (Baidu) or ``EPSG:n``; ``None`` or ``"auto"``: tables are WGS84, vector
        files their own CRS (WGS84 when they declare none). It applies to every format:
        GCJ-02/BD-09 vector files are converted like tables, a shapefile without .prj
        takes ``EPSG:n``, and a choice that contradicts a file's declared CRS is
        reported (:func:`geo.vector.read_vector`). OpenStreetMap files are WGS84.
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
    # The user's coordinate system for vector files (None: the file's own); tables
    # without a choice are WGS84.
    vector_crs = None if crs is None or str(crs).strip().lower() in ("", "auto") else crs
    crs = vector_crs or "wgs84"

    boundary = _county_boundary(ws)
    optional: dict[str, frozenset[str]] = {}
    if osm.is_osm_file(path):
        optional = osm.EMPTY_TOWN_FIELDS
        frames, problems = osm.read_osm_layers(path, file=name, layer=layer, town_areas=_town_areas(ws))
        if layer not in frames:
            msg = f"{name}: an OpenStreetMap file can be imported into {', '.join(frames)}, not {layer}"
            raise ValueError(msg)
        problems = problems + _osm_crs_note(vector_crs, file=name)
        frames = {layer: frames[layer]}
        row_numbers = {layer: None}
    elif suffix in TABLE_SUFFIXES and layer in ("villages", "towns") and statistical.looks_like_adcode_list(path):
        frames, problems = statistical.read_adcode_list(path, file=name)
        row_numbers = {k: v.pop("_row").to_numpy() for k, v in frames.items()}
    elif suffix in TABLE_SUFFIXES:
        if suffix in (".csv", ".txt") and not skip_bad_rows and _more_lines_than(path, CHUNKED_CHECK_ROWS):
            try:
                rejected = _report_of_a_bad_big_table(ws, layer, path, schema=schema, crs=crs, name=name,
                                                      boundary=boundary)
            except geo_tables.UnreadableTable:
                rejected = None  # the whole-file read below reports it
            if rejected is not None:
                return rejected
        try:
            table = geo_tables.read_table(path, sheet=sheet,
                                          header_score=lambda cells: _header_score(cells, schema))
        except geo_tables.UnreadableTable as exc:
            # A damaged workbook or undecodable text is a report line (exit 2), not a crash.
            problem = error("file_unreadable", N_("the file cannot be read: {reason}"),
                            params={"reason": exc.params.get("reason_en", ""),
                                    "reason_zh": exc.params.get("reason_zh", "")}, file=name)
            return ImportOutcome(name, (layer,), (problem,), written=False)
        table, problems, rows = _read_table_rows(ws, table, layer, schema, crs=crs, name=name)
        frames, row_numbers = {layer: table}, {layer: rows}
    elif suffix in VECTOR_SUFFIXES:
        frame, problems = geo_vector.read_vector(path, crs=vector_crs, display_name=name)
        frame = frame.reset_index(drop=True)
        frames, row_numbers = {layer: frame}, {layer: np.arange(len(frame)) + 1}
    else:
        known = sorted(TABLE_SUFFIXES | VECTOR_SUFFIXES | set(osm.OSM_SUFFIXES))
        msg = f"{name}: unsupported file type {suffix or '(none)'}; expected one of {', '.join(known)}"
        raise ValueError(msg)

    step("read")
    # Reading problems (e.g. coordinates) go through validation so their rows count as bad.
    read_problems = list(problems)
    if layer in frames:
        rows = row_numbers.get(layer)
        rows = rows if rows is not None else np.arange(len(frames[layer])) + 2
        frames[layer], id_problems = _generated_ids(frames[layer], schema, rows, file=name)
        read_problems += id_problems
        read_problems += _datum_shifted_rows(ws, frames[layer], schema, rows, chosen=crs, file=name)
    county_problems = _foreign_county_codes(ws, frames, row_numbers, file=name)
    problems = []
    merged: dict[str, pd.DataFrame] = {}
    added: dict[str, int] = {}
    updated: dict[str, int] = {}
    skipped: list[int] = []
    blocking = False
    accepted: dict[str, tuple[pd.DataFrame, set[str]]] = {}
    row_ids: dict[int, str] = {}
    for lname, frame in frames.items():
        lschema = LAYERS[lname]
        result = validate_records(frame, lschema, file=name, row_numbers=row_numbers.get(lname),
                                  geometry_problems=(read_problems if lname == layer else [])
                                  + county_problems.get(lname, []),
                                  boundary=boundary if lschema.spatial else None,
                                  optional_fields=optional.get(lname, frozenset()))
        problems.extend(result.problems)
        fatal = [p for p in result.problems if p.is_error and p.row is None and p.code != MORE]
        if fatal or (result.bad_rows and not skip_bad_rows):
            blocking = True
            continue
        rows = row_numbers.get(lname)
        rows = rows if rows is not None else np.arange(len(frame)) + 2
        skipped.extend(int(rows[i]) for i in sorted(result.bad_rows))
        good = result.frame.drop(index=result.frame.index[sorted(result.bad_rows)])
        accepted[lname] = (good, set(result.column_map.values()))
        if lname == layer and lschema.id_field in result.frame:
            row_ids.update({int(r): i for r, i in zip(rows, result.frame[lschema.id_field]) if i is not None})
    step("validate")
    if blocking or any(p.is_error and p.row is None and p.code != MORE for p in problems):
        if any(p.code == "other_county_file" and "layers" in p.params for p in problems):
            # the whole file is another county's: what is wrong with its rows is beside the point
            problems = [p for p in problems if p.row is None and p.code != MORE]
        listed, counts = cap_problems(problems)
        return ImportOutcome(name, tuple(frames), tuple(listed), written=False, counts=counts)
    if not ws.exists:
        Workspace.create(ws.path)
    # Read, merge and write under the workspace lock: a concurrent import or edit can
    # neither slip in between (lost update) nor see a half-written layer.
    with ws.editing() as edit:
        located: set[str] = set()
        for lname, (good, provided) in accepted.items():
            merged, added[lname], updated[lname], kept = _merge(edit.read_layer(lname), good, LAYERS[lname],
                                                                 replace=replace, provided=provided)
            edit.write_layer(lname, merged)
            if lname == layer:
                located = kept
        problems.extend(_reference_warnings(edit, accepted, file=name))
    problems = _drop_location_warnings(problems, row_ids, located)
    step("write")
    problems, counts = cap_problems(problems)
    return ImportOutcome(name, tuple(frames), tuple(problems), written=True, added=added, updated=updated,
                         counts=counts,
                         skipped_rows=tuple(skipped))


#: Rows of another county listed one by one; the rest are counted (and still bad rows).
FOREIGN_ROWS_LISTED = 5
_CODE12_PATTERN = r"^\d{12}$"


def workspace_county_code(ws: Workspace) -> str | None:
    """The workspace's 6-digit county code (adcode, ``county_code`` in its metadata);
    ``None`` when it has none (then no file is of "another" county)."""
    if not ws.exists:
        return None
    code = str(ws.meta().get("county_code") or "").strip()
    return code if re.fullmatch(r"\d{6}", code) else None


def _foreign_county_codes(ws: Workspace, frames: dict, row_numbers: dict, *, file: str) -> dict[str, list[Problem]]:
    """Errors for 12-digit division codes (village, town, host-village codes) that do not
    start with the workspace's county code: a file of another county (a neighbour's list,
    a copied workspace's export) must not import silently into this one.

    Said once at the widest scope that is wholly foreign:

    * every code of the file (all its layers and code columns) is of another county: one
      error for the file, naming the county codes found and the workspace's (the import stops);
    * else every code of one column: one error for that layer and column (the import stops);
    * else the rows: the first :data:`FOREIGN_ROWS_LISTED` as errors of their row and field,
      the rest counted (their rows still bad, so ``--skip-bad-rows`` skips exactly them).
    """
    county = workspace_county_code(ws)
    if county is None:
        return {}
    columns = []  # (layer, column, text, coded, foreign indices, rows) of each code column with codes
    for lname, frame in frames.items():
        schema = LAYERS[lname]
        mapping, _ = match_columns([str(c) for c in frame.columns], schema)
        rows = row_numbers.get(lname)
        rows = np.asarray(rows if rows is not None else np.arange(len(frame)) + 2)
        for column, fname in mapping.items():
            if schema.field(fname).pattern != _CODE12_PATTERN:
                continue
            text = [re.sub(r"\.0$", "", str(v).strip()) for v in frame[column].tolist()]
            coded = np.array([bool(re.fullmatch(r"\d{12}", t)) for t in text], dtype=bool)
            if coded.any():
                foreign = np.flatnonzero(coded & np.array([t[:6] != county for t in text], dtype=bool))
                columns.append((lname, column, text, int(coded.sum()), foreign, rows))

    def counties_of(entries) -> str:
        found = pd.Series([c[2][i][:6] for c in entries for i in c[4]]).value_counts()
        return found.index[0] if len(found) == 1 else ", ".join(f"{c} ×{n}" for c, n in found.items())

    out: dict[str, list[Problem]] = {}
    if columns and all(len(c[4]) == c[3] for c in columns):  # the whole file: once
        names = list(dict.fromkeys(c[1] for c in columns))
        first = columns[0][0]
        layers = list(dict.fromkeys(c[0] for c in columns))
        out[first] = [error(
            "other_county_file",
            N_("the whole file is of county {counties}, not this workspace's county {county} "
               "({n} codes in column {column}): is this the right file or workspace?"),
            params={"n": len(set(c[2][i] for c in columns for i in c[4])), "counties": counties_of(columns),
                    "county": county, "column": ", ".join(names), "layer": first, "layers": layers},
            file=file)]  # the columns are named in the message
        return out
    for lname, column, text, n_coded, foreign, rows in columns:
        if not len(foreign):
            continue
        problems = out.setdefault(lname, [])
        if len(foreign) == n_coded:
            schema = LAYERS[lname]
            problems.append(error(
                "other_county_file",
                N_("all {n} codes of layer {layer} in column {column} belong to another county ({counties}), "
                   "not this workspace's county {county}: is this the right file or workspace?"),
                params={"n": len(foreign), "layer": lname, "layer_zh": schema.zh, "column": column,
                        "counties": counties_of([(lname, column, text, n_coded, foreign, rows)]), "county": county},
                file=file, field=column))
            continue
        add_limited(problems, foreign,
                    lambda i, column=column, text=text, rows=rows: error(
                        "other_county_code",
                        N_("code {value} is of county {found}, not this workspace's county {county}"),
                        params={"value": text[i], "found": text[i][:6], "county": county},
                        file=file, row=int(rows[i]), field=column),
                    code="other_county_code", file=file, field=column, rows=rows, limit=FOREIGN_ROWS_LISTED)
    return {k: v for k, v in out.items() if v}


def _read_table_rows(ws, table, layer: str, schema, *, crs, name: str):
    """A table as read (whole file or one block): its reading problems under the file's
    name, its row numbers, village names turned into codes and coordinates into points.
    Returns ``(table, problems, rows)``."""
    problems = [p if p.file == name else _renamed(p, name) for p in table.attrs.pop("problems", [])]
    rows = geo_tables.row_numbers(table)
    if layer in _NAMED_VILLAGE_LAYERS:
        table, more = _codes_from_village_names(ws, table, schema, rows=rows, file=name)
        problems += more
    if schema.spatial:
        table, more = _table_geometry(table, schema, crs=crs, file=name)
        problems += more
    return table, problems, rows


#: A CSV/TXT file with more lines than this is first checked block by block, this many
#: rows at a time, so a huge file full of errors (3 million junk rows) is reported in
#: memory that grows with the block, not with the file. Only a file without errors is
#: then read whole to be merged and written. Within the block check, duplicate ids are
#: found within each block (a file that passes it is checked whole again).
CHUNKED_CHECK_ROWS = 100_000


def _more_lines_than(path: Path, n: int) -> bool:
    lines = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            if lines > n:
                return True
    return False


def _report_of_a_bad_big_table(ws, layer: str, path: Path, *, schema, crs, name: str, boundary):
    """The capped report of a big CSV/TXT checked in blocks, or None when it has no errors.

    Each block goes through the steps of the whole-file import (village names, points,
    generated ids, datum check, :func:`validate_records`); the report keeps at most
    :data:`geo.report.MAX_LISTED` problems and counts every one per kind. Problems of the
    whole file (a missing column), found again in every block, are listed once.
    """
    listed: list[Problem] = []
    counts: dict = {}
    seen_file_level: set = set()
    for table in geo_tables.read_csv_chunks(path, header_score=lambda cells: _header_score(cells, schema),
                                            chunk_rows=CHUNKED_CHECK_ROWS):
        table, problems, rows = _read_table_rows(ws, table, layer, schema, crs=crs, name=name)
        table, more = _generated_ids(table, schema, rows, file=name)
        problems += more
        problems += _datum_shifted_rows(ws, table, schema, rows, chosen=crs, file=name)
        result = validate_records(table, schema, file=name, row_numbers=rows, geometry_problems=problems,
                                  boundary=boundary if schema.spatial else None)
        fresh = []
        for p in result.problems:
            if p.row is None and p.code != MORE:
                key = (p.severity, p.code, p.field, repr(sorted(p.params.items())))
                if key in seen_file_level:
                    continue
                seen_file_level.add(key)
            fresh.append(p)
        listed, counts = cap_problems([*listed, *fresh])
        del table, result, problems, fresh
    if not any(severity == "error" for severity, _code in counts):
        return None
    return ImportOutcome(name, (layer,), tuple(listed), written=False, counts=counts)


#: Layers whose records need no user ids: a road network is lines, nobody numbers them.
GENERATED_ID_LAYERS = ("roads",)


def _generated_ids(frame: pd.DataFrame, schema, rows, *, file: str):
    """Ids for a roads file without an id column (a plain GeoJSON exported from QGIS).

    The id is the file's name and the record's row (``roads-1``, ``roads-2``…): stable
    when the same file is imported again, so an update replaces rather than doubles.
    Other layers keep requiring ids (villages have statistical codes, facilities are
    referred to by id).
    """
    if schema.name not in GENERATED_ID_LAYERS:
        return frame, []
    mapping, _ = match_columns([str(c) for c in frame.columns], schema)
    if schema.id_field in mapping.values():
        return frame, []
    stem = Path(file).stem or "road"
    # a column literally named like the id field would have matched above
    out = frame.copy()
    out[schema.id_field] = [f"{stem}-{int(r)}" for r in rows]
    first = out[schema.id_field].iloc[0] if len(out) else f"{stem}-1"
    problem = warning("ids_generated",
                      N_("the file has no id column; ids were made from the file name and row ({example}, …): "
                         "import the same file again to update these roads, or use --replace"),
                      params={"example": first}, file=file)
    return out, [problem]


# An updated record whose new location is its stored location moved by exactly the
# GCJ-02 (or BD-09) offset was read in the wrong coordinate system, not moved.
_SHIFT_MIN_M = 30.0
_SHIFT_MATCH_M = 3.0


def _datum_shifted_rows(ws: Workspace, frame: pd.DataFrame, schema, rows, *, chosen: str, file: str):
    """Errors for rows that would move a stored record by the GCJ-02/BD-09 offset.

    Amap/Baidu coordinates imported as WGS84 land a few hundred metres off (and GPS
    coordinates imported as GCJ-02 as far the other way); when the record is already in
    the workspace at the right place, the new location is the old one pushed through
    the offset between the file's real datum and the chosen one (:mod:`geo.crs`). That
    is recognised (to within 3 m, for moves over 30 m) and refused with the row and the
    right ``--crs``, so an upload never drags correctly placed records off.
    """
    from geo.crs import parse_crs, to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

    if not schema.spatial or not isinstance(frame, gpd.GeoDataFrame) or not ws.exists or len(frame) == 0:
        return []
    chosen = parse_crs(chosen)
    datum_of_choice = {"wgs84": "wgs84", "cgcs2000": "wgs84", "EPSG:4326": "wgs84", "EPSG:4490": "wgs84",
                       "gcj02": "gcj02", "bd09": "bd09"}.get(chosen)
    if datum_of_choice is None:  # a projected choice: no datum offset to recognise
        return []
    mapping, _ = match_columns([str(c) for c in frame.columns], schema)
    id_col = next((c for c, f in mapping.items() if f == schema.id_field), None)
    if id_col is None:
        return []
    stored = ws.read_layer(schema.name)
    if len(stored) == 0:
        return []
    old = stored.set_index(schema.id_field).geometry
    old = old[~old.index.duplicated()]
    ids = frame[id_col].map(lambda v: None if pd.isna(v) else str(v).strip()).to_numpy()
    new = np.asarray(frame.geometry.values, dtype=object)
    hit = np.array([i is not None and i in old.index for i in ids], dtype=bool)
    hit &= ~(shapely.is_missing(new) | shapely.is_empty(new))
    if not hit.any():
        return []
    old_geoms = np.asarray(old.reindex(ids[hit]).values, dtype=object)
    ok = ~(shapely.is_missing(old_geoms) | shapely.is_empty(old_geoms))
    idx = np.flatnonzero(hit)[ok]
    if len(idx) == 0:
        return []
    o = shapely.get_coordinates(shapely.centroid(old_geoms[ok]))
    n = shapely.get_coordinates(shapely.centroid(new[idx]))

    def metres(lon1, lat1, lon2, lat2):
        k = 111_320.0
        return np.hypot((lon2 - lon1) * k * np.cos(np.radians(lat1)), (lat2 - lat1) * k)

    moved = metres(o[:, 0], o[:, 1], n[:, 0], n[:, 1])
    problems = []
    # Where each record would land if the file were really in another datum but read as
    # the chosen one: true WGS84 -> that datum (what the file holds) -> WGS84 as chosen.
    from_wgs84 = {"wgs84": lambda x, y: (x, y), "gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}
    for label, forward in from_wgs84.items():
        if label == datum_of_choice:
            continue
        flon, flat = to_wgs84(*forward(o[:, 0], o[:, 1]), datum_of_choice)
        match = (moved > _SHIFT_MIN_M) & (metres(flon, flat, n[:, 0], n[:, 1]) < _SHIFT_MATCH_M)
        for j in np.flatnonzero(match):
            problems.append(error(
                "datum_shift_suspected",
                N_("this would move {id} by {distance} m, exactly the offset between {datum} and {chosen}: the "
                   "file's coordinates look like {datum} (GPS: wgs84, Amap/Tencent: gcj02, Baidu: bd09) read as "
                   "{chosen}; import again with --crs {datum} (or choose {datum} on the upload form)"),
                params={"id": str(ids[idx[j]]), "distance": round(float(moved[j])), "datum": label,
                        "chosen": chosen},
                file=file, row=int(rows[idx[j]])))
    return problems


def _town_areas(ws: Workspace):
    """The workspace's towns for naming villages: town boundaries, else town centres."""
    if not ws.exists:
        return None
    bounds = ws.read_layer("boundaries")
    towns = bounds[(bounds["level"] == "town") & bounds.geometry.notna()]
    if len(towns) == 0:
        centres = ws.read_layer("towns")
        towns = centres[centres.geometry.notna() & ~centres.geometry.is_empty]
    if len(towns) == 0:
        return None
    return gpd.GeoDataFrame({"name": towns["name"].to_numpy()}, geometry=towns.geometry.to_numpy(), crs="EPSG:4326")


def _osm_crs_note(chosen, *, file: str) -> list[Problem]:
    from geo.crs import parse_crs

    if chosen is None or parse_crs(chosen) in ("wgs84", "cgcs2000", "EPSG:4326", "EPSG:4490"):
        return []
    return [warning("osm_crs_ignored", N_("OpenStreetMap data are WGS84; the chosen coordinate system {chosen} "
                                          "was not applied"), params={"chosen": parse_crs(chosen)}, file=file)]


def _drop_location_warnings(problems, row_ids: dict[int, str], located: set[str]) -> list[Problem]:
    """Updates of records that already have a location keep it: no "no location" warnings."""
    if not located:
        return problems
    out = [p for p in problems
           if not (p.code == "geometry_missing" and not p.is_error and row_ids.get(p.row) in located)]
    if all(i in located for i in row_ids.values()):
        out = [p for p in out if p.code != "no_coordinates" or p.is_error]
    return out


#: Layers whose rows point at a village by code, and may name it instead.
_NAMED_VILLAGE_LAYERS = ("households", "pairings", "industry_bases", "cold_storage")
_VILLAGE_NAME_HEADERS = ("村名", "村名称", "行政村", "行政村名称", "村", "村庄", "村庄名称", "所在村名称", "所在行政村",
                         "村委会", "village", "villagename")
_TOWN_HEADERS = ("乡镇", "镇", "乡", "所属乡镇", "乡镇名称", "乡镇(街道)", "乡镇（街道）", "所在乡镇", "town", "township")


def _codes_from_village_names(ws, table: pd.DataFrame, schema, *, rows, file: str):
    """Village names where codes belong (石键村, 石键村委会, 石键) replaced by the codes.

    Households (also cold stores and industry bases): the village code column (for
    households also, without one, a village-name column); pairings: the target of rows
    whose target kind is a village. A town column, when
    the file has one, breaks ties between villages of the same name. Ambiguous and
    unknown names are errors of their row (see :mod:`layers.village_names`).
    """
    from .validate import _normalise_header
    from .village_names import VillageIndex, resolve_names

    mapping, _ = match_columns(table.columns, schema)
    by_field = {v: k for k, v in mapping.items()}
    headers = {_normalise_header(c): c for c in table.columns}
    town_col = next((headers[h] for h in map(_normalise_header, _TOWN_HEADERS) if h in headers), None)
    if schema.name != "pairings":
        target = by_field.get("village_code")
        source = next((headers[h] for h in map(_normalise_header, _VILLAGE_NAME_HEADERS) if h in headers), None)
        if target is None and (source is None or schema.name != "households"):
            return table, []
        if target is None:
            table = table.rename(columns={source: "village_code"})
            target = "village_code"
        elif source is not None and schema.name == "households":
            # a code column with gaps and a name column beside it: the name fills the gaps
            table = table.copy()
            table[target] = table[target].astype(object).where(table[target].notna(), table[source].astype(object))
        mask = np.ones(len(table), dtype=bool)
    else:
        target, kind_col = by_field.get("target_id"), by_field.get("target_kind")
        if target is None or kind_col is None:
            return table, []
        from .validate import _match_choices

        kinds, _unknown = _match_choices(table[kind_col].map(lambda v: None if pd.isna(v) else str(v).strip()),
                                         schema.field("target_kind"))
        mask = (kinds == "village").to_numpy()
    values = table[target].tolist()
    if not any(v is not None and not pd.isna(v) and not re.fullmatch(r"\s*[0-9.eE+\-]+\s*", str(v))
               for v, m in zip(values, mask) if m):
        return table, []  # codes only: nothing to match
    villages = ws.read_layer("villages") if ws.exists else None
    index = VillageIndex(villages)
    if len(index) == 0:
        return table, [error("village_names_without_villages",
                             N_("column {column} names villages, but the workspace has no villages to match "
                                "them to: import the villages layer first or give 12-digit codes"),
                             params={"column": str(target)}, file=file, field=str(target))]
    towns = table[town_col].tolist() if town_col is not None else None
    picked = [i for i in range(len(values)) if mask[i]]
    codes, problems = resolve_names([values[i] for i in picked], index=index,
                                    towns=None if towns is None else [towns[i] for i in picked],
                                    rows=[int(rows[i]) for i in picked], file=file, field=str(target))
    for i, code in zip(picked, codes):
        values[i] = code
    table = table.copy()
    table[target] = pd.Series(values, index=table.index, dtype=object)
    return table, problems


def _renamed(problem: Problem, name: str) -> Problem:
    """The problem naming the file as the user called it (uploads are saved under another name)."""
    from dataclasses import replace

    return replace(problem, file=name)


def _header_score(cells, schema) -> int:
    """How many cells name a field of the layer (or a coordinate column)."""
    mapping, _ = match_columns([str(c) for c in cells], schema)
    xy = geo_tables.find_xy_columns([str(c) for c in cells])
    return len(mapping) + (2 if xy else 0)


def _table_geometry(table: pd.DataFrame, schema, *, crs: str, file: str):
    """Points from coordinate columns, or geometries from a WKT column."""
    wkt_col = next((c for c in table.columns if str(c).strip().lower() in ("wkt", "geometry", "geom", "几何")), None)
    if wkt_col is not None and schema.geometry != ("Point",):
        return _wkt_geometry(table, wkt_col, crs=crs, file=file)
    xy = geo_tables.find_xy_columns(table.columns)
    if xy is None and (pair := geo_tables.split_lonlat_column(table)) is not None:
        table, xy = pair  # one "经纬度" column holding "111.2216,35.3533"
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
    # the row the user sees (a title row above the header shifts every number)
    rows = geo_tables.row_numbers(table)
    failed = []
    texts = table[wkt_col].tolist()
    for i, text in enumerate(texts):
        try:
            geoms.append(shapely.from_wkt(text) if isinstance(text, str) and text.strip() else None)
        except shapely.errors.GEOSException:
            geoms.append(None)
            failed.append(i)
    add_limited(problems, failed,
                lambda i: error("bad_wkt", N_("{value!r} is not a WKT geometry"), params={"value": str(texts[i])[:40]},
                                file=file, row=int(rows[i]), field=str(wkt_col)),
                code="bad_wkt", file=file, field=str(wkt_col), rows=rows)
    from geo.crs import parse_crs

    code = parse_crs(crs)
    source = "EPSG:4326" if code in ("wgs84", "cgcs2000") else code
    if code in ("gcj02", "bd09"):
        msg = f"{file}: WKT geometries in {code} are not supported; convert them to WGS84 first"
        raise ValueError(msg)
    gdf = gpd.GeoDataFrame(table.drop(columns=[wkt_col]), geometry=geoms, crs=source).to_crs("EPSG:4326")
    return gdf, problems


def _merge(old: pd.DataFrame, new: pd.DataFrame, schema, *, replace: bool, provided: set[str]):
    """The layer after adding/updating ``new`` by id.

    Returns the merged frame, the numbers added and updated, and the ids of updated
    records that keep a stored location. Updates change only the cells the file gave:
    a blank cell keeps the stored value (county spreadsheets leave unknowns blank, they
    do not mean "erase").
    """
    inserts = conform_to_schema(new, schema)
    if replace or len(old) == 0:
        return inserts, len(inserts), 0, set()
    key = schema.id_field
    hits = inserts[key].isin(pd.Index(old[key])).to_numpy()
    if not hits.any():
        return _concat(old, inserts, schema), len(inserts), 0, set()
    old = old.set_index(key, drop=False)
    upd = new[hits]
    ids = upd[key].to_numpy()
    for col in sorted(provided - {key}):
        values = upd[col]
        given = values.notna().to_numpy()
        if given.any():
            column = old[col].astype(object)
            column.loc[ids[given]] = values[given].to_numpy(dtype=object)
            old[col] = column
    kept: set[str] = set()
    if schema.spatial:
        geoms = upd.geometry
        given = ~(geoms.isna() | geoms.is_empty).to_numpy()
        if given.any():
            column = old.geometry.copy()
            column.loc[ids[given]] = geoms[given].to_numpy()
            old = old.set_geometry(column)
        kept = {i for i, g in zip(ids, old.geometry.loc[ids]) if g is not None and not g.is_empty}
    merged = _concat(conform_to_schema(old.reset_index(drop=True), schema), inserts[~hits], schema)
    return merged, int((~hits).sum()), int(hits.sum()), kept


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


def _reference_warnings(edit, accepted: dict, *, file: str) -> list[Problem]:
    """Warn about households pointing at villages the workspace does not have."""
    if "households" not in accepted:
        return []
    known = set(edit.read_layer("villages")["code"])
    if not known:
        return []
    frame = accepted["households"][0]
    unknown = frame[~frame["village_code"].isin(known)]
    return [
        warning("unknown_village", N_("village code {value} is not in the villages layer"),
                params={"value": code}, file=file, field="village_code")
        for code in sorted(set(unknown["village_code"]))
    ]
