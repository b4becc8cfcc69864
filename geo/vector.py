"""Vector files: reading Shapefile/GeoJSON/GeoPackage, writing GeoJSON/GPKG/CSV/XLSX.

Style: readers that can find something wrong with the *data* return
``(frame, problems)``; broken files (missing, unparseable) and bad arguments
raise ``ValueError`` naming the file.
"""
from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geo import encodings as enc
from geo.crs import in_china, parse_crs, transform_frame_to_wgs84
from geo.numbers import DEGREE_DECIMALS, round_frame
from geo.report import N_, Problem, error, warning

__all__ = ["WRITE_FORMATS", "append_rows", "read_vector", "write_vector"]

#: Formats :func:`write_vector` knows, by file suffix.
WRITE_FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg",
                 ".csv": "csv", ".xlsx": "xlsx"}

# Excel refuses longer cells; WKT of a detailed polygon easily exceeds it.
_XLSX_MAX_CELL_CHARS = 32_767


# --------------------------------------------------------------------------
# Shapefile encoding
# --------------------------------------------------------------------------

def _dbf_text_bytes(dbf: bytes) -> bytes:
    """The bytes of a .dbf that hold text: field names and records.

    The header's binary parts (counts, lengths) would spoil a UTF-8 check.
    """
    if len(dbf) < 32:
        return b""
    header_len = int.from_bytes(dbf[8:10], "little")
    names = []
    for start in range(32, min(header_len, len(dbf)) - 31, 32):
        if dbf[start] == 0x0D:
            break
        names.append(dbf[start:start + 11].split(b"\x00", 1)[0])
    return b"\n".join(names) + b"\n" + dbf[header_len:]


def _dbf_char_values(dbf: bytes):
    """Field names and the non-ASCII text cells of a .dbf, read from its bytes.

    Returns
    -------
    (names, cells)
        ``names``: raw field-name bytes; ``cells``: ``(record, field index, bytes)``
        for every character (``C``) cell holding a byte >= 0x80, ``record`` counting
        the records GDAL returns (0-based, deleted records skipped).
    """
    if len(dbf) < 32:
        return [], []
    n_records = int.from_bytes(dbf[4:8], "little")
    header_len = int.from_bytes(dbf[8:10], "little")
    record_len = int.from_bytes(dbf[10:12], "little")
    names, fields = [], []  # fields: (index, offset in record, length, type)
    offset = 1  # the deletion flag
    for start in range(32, min(header_len, len(dbf)) - 31, 32):
        if dbf[start] == 0x0D:
            break
        desc = dbf[start:start + 32]
        names.append(desc[:11].split(b"\x00", 1)[0])
        length = desc[16]
        fields.append((len(names) - 1, offset, length, chr(desc[11])))
        offset += length
    char_fields = [f for f in fields if f[3] == "C"]
    cells = []
    if dbf[header_len:].isascii() or record_len <= 0:
        return names, cells
    # Records as a 2-D byte array: a field is a column slice, so a million records cost
    # a few numpy operations instead of a Python loop over every record.
    n_records = min(n_records, (len(dbf) - header_len) // record_len)
    table = np.frombuffer(dbf, dtype=np.uint8, count=n_records * record_len,
                          offset=header_len).reshape(n_records, record_len)
    table = table[table[:, 0] != ord("*")]  # GDAL skips deleted records too
    for index, off, length, _type in char_fields:
        block = np.ascontiguousarray(table[:, off:off + length])
        rows = np.flatnonzero((block >= 0x80).any(axis=1))
        if len(rows) == 0:
            continue
        values = block[rows].view(f"S{length}").ravel().tolist()
        cells.extend((int(r), index, v.rstrip(b" \x00")) for r, v in zip(rows, values))
    cells.sort(key=lambda cell: (cell[0], cell[1]))  # reports go by row
    return names, cells


@dataclass(frozen=True)
class _ShapefileText:
    """How to decode a shapefile's text: the codec, problems, and cells to fix."""

    encoding: str | None
    problems: tuple = ()
    #: {(record, field name as decoded): text} for cells in another encoding than the file
    fixes: dict = dataclass_field(default_factory=dict)


def _decide_shapefile_text(cpg: bytes | None, dbf: bytes | None, *, file: str) -> _ShapefileText:
    """Decide a shapefile's text encoding from its .cpg *and* its bytes.

    * The .cpg alias is mapped with :func:`geo.encodings.codec_for_alias`; ``System``
      / ``ANSI`` (the writer's ANSI code page) and a missing .cpg are decided by the
      bytes: strictly valid UTF-8 → UTF-8, else plausible GBK → GB18030, else what
      :mod:`charset_normalizer` finds.
    * A .cpg that the bytes contradict (``UTF-8`` over GBK text, ``1252`` over
      Chinese) is overruled with a warning; an unknown alias too.
    * Cells that the chosen codec cannot read (a file edited with two tools, so some
      records are GBK and others UTF-8) are read with the codec that fits them, with a
      warning naming the row; a cell no codec reads plausibly is an error for its row,
      so mojibake is never stored silently.
    """
    alias = cpg.decode("ascii", errors="replace").strip() if cpg is not None else None
    declared = enc.codec_for_alias(alias) if alias is not None else enc.ANSI
    if dbf is None:
        return _ShapefileText(None if declared in (enc.ANSI, None) else declared)
    names, cells = _dbf_char_values(dbf)
    values = [v for _r, _f, v in cells] + [n for n in names if not n.isascii()]
    problems: list[Problem] = []
    detected = enc.detect_codec(values)
    if declared is None:
        chosen = detected or enc.UTF8
        problems.append(warning(
            "cpg_unknown", N_("the .cpg file names an unknown encoding {alias!r}; the text was read as {encoding}"),
            params={"alias": alias, "encoding": chosen}, file=file))
    elif declared == enc.ANSI:
        chosen = detected or enc.UTF8
    elif detected is None or enc.same_codec(declared, detected):
        chosen = declared
    else:
        if enc.score_codec(values, detected) > enc.score_codec(values, declared):
            chosen = detected
            problems.append(warning(
                "cpg_contradicted",
                N_("the .cpg file says the text is {declared} but it is {encoding}; it was read as {encoding}"),
                params={"declared": alias, "encoding": detected}, file=file))
        else:
            chosen = declared
    fixes: dict = {}
    if cells:
        decoded_names = [n.decode(chosen, errors="replace") for n in names]
        alternatives = [c for c in (enc.UTF8, enc.GBK) if not enc.same_codec(c, chosen)]
        verdicts: dict[bytes, tuple[float, str | None]] = {}  # county files repeat values a lot
        for record, index, value in cells:
            verdict = verdicts.get(value)
            if verdict is None:
                own = enc.text_score(value, chosen)
                better = [c for c in alternatives if enc.text_score(value, c) > own]
                verdict = verdicts[value] = (own, better[0] if better else None)
            own, better_codec = verdict
            if own and better_codec is None:
                continue
            row, column = record + 1, decoded_names[index]
            other = (better_codec, value.decode(better_codec)) if better_codec else None
            if other is not None:
                fixes[(record, column)] = other[1]
                problems.append(warning(
                    "text_other_encoding",
                    N_("this text is in {found}, not {encoding} like the rest of the file; read as {found}: "
                       "{value}"),
                    params={"found": other[0], "encoding": chosen, "value": other[1]},
                    file=file, row=row, field=column))
            else:
                problems.append(error(
                    "text_undecodable",
                    N_("this text cannot be read as {encoding} (nor as UTF-8 or GBK); it would be stored as "
                       "{value!r}: fix the text or the .cpg file"),
                    params={"encoding": chosen, "value": value.decode(chosen, errors="replace")},
                    file=file, row=row, field=column))
    return _ShapefileText(chosen, tuple(problems), fixes)


_LOSSLESS = "ISO-8859-1"  # every byte is one character: encode("latin-1") gives the bytes back


def _redecode(gdf, text: _ShapefileText):
    """Decode a frame read as :data:`_LOSSLESS` with the file's codec, cell by cell.

    Cells listed in ``text.fixes`` take their fixed text; others that the codec cannot
    read keep replacement characters (their rows were reported as errors).
    """
    codec = text.encoding or enc.UTF8

    def decode(value: str) -> str:
        return value.encode("latin-1").decode(codec, errors="replace")

    renamed = {c: decode(c) for c in gdf.columns if isinstance(c, str) and c != "geometry"}
    gdf = gdf.rename(columns=renamed)
    for column in renamed.values():
        values = gdf[column]
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        cells = [decode(v) if isinstance(v, str) else v for v in values.tolist()]
        for i in range(len(cells)):
            fixed = text.fixes.get((i, column))
            if fixed is not None:
                cells[i] = fixed
        gdf[column] = pd.Series(cells, index=gdf.index, dtype=object)
    return gdf


def _choose_shapefile_encoding(cpg: bytes | None, dbf: bytes | None) -> str | None:
    """Encoding to read a shapefile's text with (see :func:`_decide_shapefile_text`)."""
    return _decide_shapefile_text(cpg, dbf, file="").encoding


def _sibling(path: Path, suffix: str) -> Path | None:
    for cand in path.parent.glob(path.stem + ".*"):
        if cand.suffix.lower() == suffix and cand.stem == path.stem:
            return cand
    return None


def _shapefile_source(path: Path, layer, *, file: str):
    """(source for pyogrio, :class:`_ShapefileText`, layer) for .shp and zipped shapefiles."""
    if path.suffix.lower() == ".shp":
        cpg = _sibling(path, ".cpg")
        dbf = _sibling(path, ".dbf")
        text = _decide_shapefile_text(cpg.read_bytes() if cpg else None,
                                      dbf.read_bytes() if dbf else None, file=file)
        return str(path), text, layer
    # .zip: look for the shapefile(s) inside
    chosen_note = None
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if not m.startswith("__MACOSX")]
            shps = [m for m in members if m.lower().endswith(".shp")]
            if not shps:
                return str(path), _ShapefileText(None), layer
            if layer is not None:
                chosen = [m for m in shps if Path(m).stem == layer]
                if not chosen:
                    msg = (f"{path.name}: no shapefile named {layer!r} inside; "
                           f"found {[Path(m).stem for m in shps]}")
                    raise ValueError(msg)
                shp = chosen[0]
            elif len(shps) == 1:
                shp = shps[0]
            else:
                # Several shapefiles: read the first by name, with its own
                # encoding decided like a lone one's, and say which was read.
                shp = min(shps)
                chosen_note = warning(
                    "vector_layer_chosen",
                    N_("the file has several layers ({layers}); read the first one, {layer}"),
                    params={"layers": ", ".join(sorted(Path(m).stem for m in shps)), "layer": Path(shp).stem},
                    file=file)
            base = shp[:-4]
            lower = {m.lower(): m for m in members}
            cpg_name = lower.get(base.lower() + ".cpg")
            dbf_name = lower.get(base.lower() + ".dbf")
            text = _decide_shapefile_text(zf.read(cpg_name) if cpg_name else None,
                                          zf.read(dbf_name) if dbf_name else None, file=file)
            if chosen_note is not None:
                text = _ShapefileText(text.encoding, (chosen_note, *text.problems), text.fixes)
    except zipfile.BadZipFile:
        msg = f"{path.name}: not a readable zip file"
        raise ValueError(msg) from None
    return f"/vsizip/{path}/{shp}", text, None


# --------------------------------------------------------------------------
# Coordinate systems
# --------------------------------------------------------------------------

def _crs_label(crs) -> str:
    """A short name for a CRS in messages: ``EPSG:4547 (CGCS2000 / 3-degree GK CM 114E)``."""
    if isinstance(crs, str):
        return crs
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg} ({crs.name})" if epsg else crs.name


def _declared_wgs84_like(crs) -> bool:
    """Whether a file's CRS is WGS84 or CGCS2000 longitude/latitude (equal to centimetres)."""
    if crs.to_epsg(min_confidence=70) in (4326, 4490, 4979, 4480):
        return True
    if not crs.is_geographic:
        return False
    datum = (crs.datum.name if crs.datum is not None else "").lower().replace(" ", "_")
    return "wgs_84" in datum or "wgs_1984" in datum or "2000" in datum


def _lonlat_like(gdf) -> bool:
    """Whether every geometry lies within longitude/latitude ranges."""
    present = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if present.empty:
        return True
    xmin, ymin, xmax, ymax = present.total_bounds
    return bool(np.all(np.isfinite([xmin, ymin, xmax, ymax]))
                and -180 <= xmin and xmax <= 180 and -90 <= ymin and ymax <= 90)


def _mostly_in_china(gdf) -> bool:
    present = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if present.empty:
        return True
    pts = present.representative_point()
    return float(np.mean(in_china(pts.x.to_numpy(), pts.y.to_numpy()))) >= 0.5


def _to_wgs84(gdf, chosen: str):
    """Coordinates taken as ``chosen`` (a :func:`geo.crs.parse_crs` option), in WGS84."""
    if chosen in ("gcj02", "bd09"):
        return transform_frame_to_wgs84(gdf, source_crs=chosen)
    source = "EPSG:4326" if chosen in ("wgs84", "cgcs2000") else chosen
    return transform_frame_to_wgs84(gdf.set_crs(source, allow_override=True))


def _apply_crs(gdf, crs, *, file: str):
    """The frame in WGS84 after reconciling the file's own CRS with the user's choice.

    * No choice (``crs=None``): the file's CRS; a file without one is taken as WGS84
      with a warning (an error when its coordinates cannot be degrees).
    * GCJ-02 / BD-09 chosen: no file format can declare them, so the coordinates are
      converted whatever the file claims, provided it claims longitude/latitude (a
      note says the file's WGS84 label was overruled); a projected file is an error.
    * WGS84, CGCS2000 or ``EPSG:n`` chosen: used when the file declares nothing (a
      shapefile without .prj) or the same system. When it declares another one, the
      report says so and the coordinates decide: the choice is used when it gives
      longitude/latitude in China, else the file's own CRS when that does.
    """
    declared = gdf.crs
    chosen = parse_crs(crs) if crs is not None else None
    problems: list[Problem] = []
    if chosen is None:
        if declared is not None:
            return transform_frame_to_wgs84(gdf), problems
        if not _lonlat_like(gdf):
            xmin, _ymin, xmax, _ymax = gdf.total_bounds
            problems.append(error(
                "crs_missing_projected",
                N_("the file has no coordinate system and its coordinates are not degrees "
                   "(x {xmin:.0f} to {xmax:.0f}); add the .prj file, or give the coordinate system "
                   "(import --crs EPSG:n, or the upload's coordinate system)"),
                params={"xmin": float(xmin), "xmax": float(xmax)}, file=file))
        else:
            problems.append(warning(
                "crs_missing_assumed_wgs84",
                N_("the file has no coordinate system; assumed WGS84 longitude/latitude "
                   "(give --crs, or the upload's coordinate system, if it is another one)"),
                file=file))
        return gdf.set_crs("EPSG:4326"), problems

    if declared is None:
        return _to_wgs84(gdf, chosen), problems

    if chosen in ("gcj02", "bd09"):
        if not _declared_wgs84_like(declared) and not (declared.is_geographic and _lonlat_like(gdf)):
            problems.append(error(
                "crs_conflict_projected",
                N_("the file declares the coordinate system {declared}, whose coordinates are not "
                   "longitude/latitude, but {chosen} was chosen; choose the file's own coordinate system"),
                params={"declared": _crs_label(declared), "chosen": chosen}, file=file))
            return transform_frame_to_wgs84(gdf), problems
        problems.append(warning(
            "crs_overridden",
            N_("the file declares {declared}; its coordinates were read as {chosen}, as chosen, "
               "and converted to WGS84"),
            params={"declared": _crs_label(declared), "chosen": chosen}, file=file))
        return _to_wgs84(gdf, chosen), problems

    chosen_crs = pyproj.CRS.from_user_input("EPSG:4326" if chosen in ("wgs84", "cgcs2000") else chosen)
    if (_declared_wgs84_like(declared) and _declared_wgs84_like(chosen_crs)) or \
            declared.equals(chosen_crs, ignore_axis_order=True):
        return transform_frame_to_wgs84(gdf), problems
    as_chosen = _to_wgs84(gdf, chosen)
    as_declared = transform_frame_to_wgs84(gdf)
    chosen_fits = _lonlat_like(as_chosen) and _mostly_in_china(as_chosen)
    declared_fits = _lonlat_like(as_declared) and _mostly_in_china(as_declared)
    if chosen_fits or not declared_fits:
        problems.append(warning(
            "crs_overridden",
            N_("the file declares {declared}; its coordinates were read as {chosen}, as chosen, "
               "and converted to WGS84"),
            params={"declared": _crs_label(declared), "chosen": chosen}, file=file))
        return as_chosen, problems
    problems.append(warning(
        "crs_choice_ignored",
        N_("the file declares {declared} and its coordinates fit it; read as {chosen}, as chosen, they "
           "would not lie in China, so the file's own coordinate system was used"),
        params={"declared": _crs_label(declared), "chosen": chosen}, file=file))
    return as_declared, problems


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

def read_vector(path, *, layer=None, crs=None, display_name=None):
    """Read a Shapefile (.shp or zipped), GeoJSON or GeoPackage into WGS84.

    Parameters
    ----------
    path : str or os.PathLike
    layer : str, optional
        Layer name in a GeoPackage (or shapefile name inside a .zip). Default:
        the first layer, with a warning when there are several.
    crs : str, optional
        The coordinates' real system as the user says it, any
        :func:`geo.crs.parse_crs` option (``"gcj02"``, ``"bd09"``, ``"wgs84"``,
        ``"cgcs2000"``, ``"EPSG:n"``). Default: the file's own CRS (WGS84 when it
        declares none). See :func:`_apply_crs` for a choice that differs from what
        the file declares; GCJ-02/BD-09 are converted with :mod:`geo.crs`' exact
        inverses.
    display_name : str, optional
        File name used in problems (default: the file's own name).

    Returns
    -------
    (geopandas.GeoDataFrame, list[Problem])
        The frame in EPSG:4326 (attribute-only tables get an all-None
        geometry column) with a fresh 0-based index (feature number =
        index + 1, which is what problems about features should report).
        Problems: a missing CRS (assumed EPSG:4326, warning; an error when the
        coordinates cannot be degrees), a CRS choice that contradicts the file,
        several layers, and shapefile text problems (a .cpg contradicted by the
        bytes, records in another encoding — with their feature number).

    Raises
    ------
    ValueError
        Naming the file, when it is missing, unreadable, or ``layer`` is unknown;
        also for an unknown ``crs`` option.

    Notes
    -----
    Shapefile text encoding: every .cpg alias (``System``, ``ANSI 936``, ``GBK``,
    ``65001``…) is mapped by :func:`geo.encodings.codec_for_alias` and checked
    against the bytes (:func:`_decide_shapefile_text`); without a .cpg, the .dbf
    text is read as UTF-8 if valid, otherwise as GBK.
    """
    path = Path(path)
    name = display_name or path.name
    if not path.exists():
        msg = f"{name}: file not found ({path})"
        raise ValueError(msg)
    if crs is not None:
        parse_crs(crs)  # a bad option is the caller's error, before any reading
    problems: list[Problem] = []
    source, text = str(path), _ShapefileText(None)
    if path.suffix.lower() in (".shp", ".zip"):
        source, text, layer = _shapefile_source(path, layer, file=name)
        problems.extend(text.problems)
    with contextlib.ExitStack() as stack:
        if path.suffix.lower() in (".geojson", ".json") and not _is_utf8_file(path):
            source = stack.enter_context(_geojson_as_utf8(path, file=name))
            problems.append(warning(
                "geojson_not_utf8",
                N_("the file is GBK text, not UTF-8 as GeoJSON requires; it was read as GBK"), file=name))
        gdf, more = _read_source(source, name, layer, text, crs)
    return gdf, problems + more


def _is_utf8_file(path: Path) -> bool:
    """Whether a file is valid UTF-8, checked in 1 MB chunks (GeoJSON can be large)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


@contextlib.contextmanager
def _geojson_as_utf8(path: Path, *, file: str):
    """A UTF-8 copy of a GeoJSON written in GBK by a Windows tool (a temporary file)."""
    raw = path.read_bytes()
    decoded = enc.decode_plausibly(raw, enc.GBK)
    if decoded is None:
        msg = f"{file}: the file is neither UTF-8 (as GeoJSON requires) nor GBK text; save it as UTF-8"
        raise ValueError(msg)
    with tempfile.TemporaryDirectory(prefix="rp-geojson-") as tmp:
        target = Path(tmp) / "utf8.geojson"
        target.write_text(decoded, encoding="utf-8")
        yield str(target)


def _read_source(source: str, name: str, layer, text: _ShapefileText, crs):
    problems: list[Problem] = []

    try:
        layers = pyogrio.list_layers(source)
    except Exception as exc:  # pyogrio raises several GDAL-specific types
        msg = f"{name}: not a readable vector file ({exc})"
        raise ValueError(msg) from None
    layer_names = [str(n) for n in layers[:, 0]] if len(layers) else []
    if not layer_names:
        msg = f"{name}: the file contains no layers"
        raise ValueError(msg)
    if layer is not None and layer not in layer_names:
        msg = f"{name}: no layer named {layer!r}; layers are {layer_names}"
        raise ValueError(msg)
    if layer is None:
        layer = layer_names[0]
        if len(layer_names) > 1:
            problems.append(warning(
                "vector_layer_chosen",
                N_("the file has several layers ({layers}); read the first one, {layer}"),
                params={"layers": ", ".join(layer_names), "layer": layer}, file=name))

    # Cells in another encoding than the file: read every byte losslessly as Latin-1,
    # then decode each text cell ourselves (GDAL and pyogrio decode a file with one codec).
    mixed = bool(text.fixes) or any(p.code == "text_undecodable" for p in text.problems)
    encoding = _LOSSLESS if mixed else text.encoding
    kwargs = {"encoding": encoding} if encoding else {}
    try:
        gdf = pyogrio.read_dataframe(source, layer=layer, **kwargs)
    except Exception as exc:
        msg = f"{name}: cannot read layer {layer!r} ({exc})"
        raise ValueError(msg) from None
    if mixed:
        gdf = _redecode(gdf, text)
    if not isinstance(gdf, gpd.GeoDataFrame):
        # attribute-only table (e.g. a GeoPackage table without geometry column)
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf), index=gdf.index),
                               crs="EPSG:4326")
    else:
        gdf, crs_problems = _apply_crs(gdf, crs, file=name)
        problems.extend(crs_problems)
    return gdf.reset_index(drop=True), problems


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def _temp_path(path: Path) -> Path:
    # Same directory so os.replace is an atomic rename on one file system.
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


def _table_for(gdf) -> pd.DataFrame:
    """Attribute table with geometry as lon/lat (all points) or a WKT column."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        return pd.DataFrame(gdf).reset_index(drop=True)
    wgs = transform_frame_to_wgs84(gdf) if gdf.crs is not None else gdf
    geoms = wgs.geometry
    present = ~(geoms.isna() | geoms.is_empty)
    out = pd.DataFrame(wgs.drop(columns=[wgs.geometry.name]))
    types = set(geoms[present].geom_type)
    if types <= {"Point"}:
        out = out.drop(columns=[c for c in ("lon", "lat") if c in out.columns])
        out["lon"] = np.where(present, geoms.x.where(present), np.nan) if len(out) else []
        out["lat"] = np.where(present, geoms.y.where(present), np.nan) if len(out) else []
    else:
        out = out.drop(columns=[c for c in ("wkt",) if c in out.columns])
        out["wkt"] = [shapely.to_wkt(g) if ok else None
                      for g, ok in zip(geoms.array, present)]
    return out.reset_index(drop=True)


def write_vector(gdf, path, *, fmt=None, layer=None):
    """Write a GeoDataFrame atomically.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame or pandas.DataFrame
        A plain DataFrame is written as an attribute-only table (GeoJSON
        features with null geometry, a GeoPackage table without geometry,
        CSV/XLSX without lon/lat).
    path : str or os.PathLike
    fmt : {"geojson", "gpkg", "csv", "xlsx"}, optional
        Inferred from the suffix when omitted.
    layer : str, optional
        GeoPackage layer (default: the file stem; other layers of an existing
        GeoPackage are kept) or XLSX sheet name.

    Returns
    -------
    pathlib.Path
        The written path.

    Notes
    -----
    * The data goes to a temporary file in the same directory that then
      replaces ``path`` (``os.replace``), so readers never see half a file.
    * GeoJSON, CSV and XLSX are written in EPSG:4326 (reprojected if needed);
      GeoPackage keeps the frame's CRS.
    * CSV/XLSX: point layers get ``lon``/``lat`` columns (replacing any
      existing ones), other geometries a ``wkt`` column. CSV is UTF-8 with BOM
      so that Excel shows Chinese correctly, and text cells starting a formula get
      a leading ``'`` (:func:`geo.tables.escape_formula_cells`).
    * The index is not written.
    """
    path = Path(path)
    if fmt is None:
        fmt = WRITE_FORMATS.get(path.suffix.lower())
        if fmt is None:
            msg = (f"{path.name}: cannot tell the format from suffix {path.suffix!r}; "
                   f"use one of {sorted(set(WRITE_FORMATS))} or pass fmt")
            raise ValueError(msg)
    fmt = str(fmt).lower()
    if fmt not in set(WRITE_FORMATS.values()):
        msg = f"unknown format {fmt!r}; use one of {sorted(set(WRITE_FORMATS.values()))}"
        raise ValueError(msg)
    if not isinstance(gdf, pd.DataFrame):
        msg = f"write_vector needs a (Geo)DataFrame, got {type(gdf).__name__}"
        raise ValueError(msg)
    spatial = isinstance(gdf, gpd.GeoDataFrame) and gdf.crs is not None

    tmp = _temp_path(path)
    try:
        if fmt == "geojson":
            data = transform_frame_to_wgs84(gdf) if spatial else gdf
            # The collection's name is the layer's, not the temporary file's stem; coordinates
            # at 1e-7 degrees (~1 cm) and attributes at their unit's precision, as all output.
            pyogrio.write_dataframe(round_frame(data.reset_index(drop=True)), tmp, driver="GeoJSON",
                                    layer=layer or path.stem,
                                    layer_options={"COORDINATE_PRECISION": DEGREE_DECIMALS})
        elif fmt == "gpkg":
            if path.exists():
                shutil.copy2(path, tmp)  # keep the other layers
            pyogrio.write_dataframe(gdf.reset_index(drop=True), tmp, driver="GPKG",
                                    layer=layer or path.stem)
        elif fmt == "csv":
            from geo.tables import write_csv

            write_csv(_table_for(gdf), tmp)  # formula-leading text escaped
        else:
            table = round_frame(_table_for(gdf))
            if "wkt" in table.columns:
                longest = table["wkt"].map(lambda s: len(s) if isinstance(s, str) else 0).max()
                if longest and longest > _XLSX_MAX_CELL_CHARS:
                    msg = (f"{path.name}: a geometry needs {longest} characters of WKT but an "
                           f"Excel cell holds {_XLSX_MAX_CELL_CHARS}; write GeoJSON or GPKG, "
                           "or simplify first")
                    raise ValueError(msg)
            from openpyxl import Workbook

            wb = Workbook()
            sheet = wb.active
            sheet.title = (layer or "Sheet1")[:31]
            append_rows(sheet, [list(map(str, table.columns))])
            append_rows(sheet, table.astype(object).itertuples(index=False, name=None))
            wb.save(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# --------------------------------------------------------------------------
# Spreadsheet cells
# --------------------------------------------------------------------------

def _xlsx_value(value):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (not isinstance(value, (str, bytes, list, tuple, dict)) and pd.isna(value)):
        return None
    return value


def append_rows(sheet, rows) -> None:
    """Append ``rows`` (sequences of values) to the openpyxl worksheet ``sheet``, safely.

    openpyxl stores a string starting with ``=`` as a formula, so a name such as
    ``=HYPERLINK("http://x")`` from an imported file would be evaluated by Excel
    (formula injection, OWASP "CSV injection"). Here every string is a text cell,
    never a formula, whatever it starts with (``=``, ``+``, ``-``, ``@``, tab, CR);
    numbers, booleans and dates keep their types; NaN/NA/NaT become empty cells.
    Every spreadsheet the app writes from data goes through this function.
    """
    for values in rows:
        sheet.append([_xlsx_value(v) for v in values])
        for cell in sheet[sheet.max_row]:
            if cell.data_type == "f":
                cell.data_type = "s"
