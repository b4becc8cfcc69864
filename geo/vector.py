"""Vector files: reading Shapefile/GeoJSON/GeoPackage, writing GeoJSON/GPKG/CSV/XLSX.

Style: readers that can find something wrong with the *data* return
``(frame, problems)``; broken files (missing, unparseable) and bad arguments
raise ``ValueError`` naming the file.
"""
from __future__ import annotations

import os
import shutil
import uuid
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.crs import transform_frame_to_wgs84
from geo.report import N_, Problem, error, warning

__all__ = ["read_vector", "write_vector", "append_rows", "WRITE_FORMATS"]

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


def _choose_shapefile_encoding(cpg: bytes | None, dbf: bytes | None) -> str | None:
    """Encoding to force for a shapefile, or None to let GDAL honour the .cpg.

    Without a .cpg GDAL falls back to the .dbf language byte, which Chinese
    ArcGIS/older tools leave at 0 or "ANSI" while writing GBK, and other tools
    leave at 0 while writing UTF-8. So: valid UTF-8 -> UTF-8, otherwise CP936
    (GBK), the Chinese Windows ANSI code page.
    """
    if cpg is not None and cpg.strip():
        return None
    if dbf is None:
        return None
    try:
        _dbf_text_bytes(dbf).decode("utf-8")
    except UnicodeDecodeError:
        return "cp936"
    return "utf-8"


def _sibling(path: Path, suffix: str) -> Path | None:
    for cand in path.parent.glob(path.stem + ".*"):
        if cand.suffix.lower() == suffix and cand.stem == path.stem:
            return cand
    return None


def _shapefile_source(path: Path, layer):
    """(source for pyogrio, encoding override, layer) for .shp and zipped shapefiles."""
    if path.suffix.lower() == ".shp":
        cpg = _sibling(path, ".cpg")
        dbf = _sibling(path, ".dbf")
        enc = _choose_shapefile_encoding(cpg.read_bytes() if cpg else None,
                                         dbf.read_bytes() if dbf else None)
        return str(path), enc, layer
    # .zip: look for the shapefile(s) inside
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.namelist() if not m.startswith("__MACOSX")]
            shps = [m for m in members if m.lower().endswith(".shp")]
            if not shps:
                return str(path), None, layer
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
                return str(path), None, layer  # let GDAL list/choose layers
            base = shp[:-4]
            lower = {m.lower(): m for m in members}
            cpg_name = lower.get(base.lower() + ".cpg")
            dbf_name = lower.get(base.lower() + ".dbf")
            enc = _choose_shapefile_encoding(zf.read(cpg_name) if cpg_name else None,
                                             zf.read(dbf_name) if dbf_name else None)
    except zipfile.BadZipFile:
        msg = f"{path.name}: not a readable zip file"
        raise ValueError(msg) from None
    return f"/vsizip/{path}/{shp}", enc, None


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

def read_vector(path, *, layer=None):
    """Read a Shapefile (.shp or zipped), GeoJSON or GeoPackage into WGS84.

    Parameters
    ----------
    path : str or os.PathLike
    layer : str, optional
        Layer name in a GeoPackage (or shapefile name inside a .zip). Default:
        the first layer, with a warning when there are several.

    Returns
    -------
    (geopandas.GeoDataFrame, list[Problem])
        The frame in EPSG:4326 (attribute-only tables get an all-None
        geometry column) with a fresh 0-based index (feature number =
        index + 1, which is what problems about features should report).
        Problems are file-level: a missing CRS (assumed EPSG:4326, warning; an
        error when the coordinates cannot be degrees), or several layers.

    Raises
    ------
    ValueError
        Naming the file, when it is missing, unreadable, or ``layer`` is unknown.

    Notes
    -----
    Shapefile text encoding: a .cpg file is honoured; without one, the .dbf
    text is read as UTF-8 if valid, otherwise as GBK (CP936).
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        msg = f"{name}: file not found ({path})"
        raise ValueError(msg)
    problems: list[Problem] = []
    source, encoding = str(path), None
    if path.suffix.lower() in (".shp", ".zip"):
        source, encoding, layer = _shapefile_source(path, layer)

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

    kwargs = {"encoding": encoding} if encoding else {}
    try:
        gdf = pyogrio.read_dataframe(source, layer=layer, **kwargs)
    except Exception as exc:
        msg = f"{name}: cannot read layer {layer!r} ({exc})"
        raise ValueError(msg) from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        # attribute-only table (e.g. a GeoPackage table without geometry column)
        gdf = gpd.GeoDataFrame(gdf, geometry=gpd.GeoSeries([None] * len(gdf), index=gdf.index),
                               crs="EPSG:4326")
    elif gdf.crs is None:
        xmin, ymin, xmax, ymax = gdf.total_bounds if len(gdf) else (0, 0, 0, 0)
        if np.all(np.isfinite([xmin, ymin, xmax, ymax])) and (
                xmin < -180 or xmax > 180 or ymin < -90 or ymax > 90):
            problems.append(error(
                "crs_missing_projected",
                N_("the file has no coordinate system and its coordinates are not degrees "
                   "(x {xmin:.0f} to {xmax:.0f}); add the .prj file or re-export with a "
                   "coordinate system"),
                params={"xmin": float(xmin), "xmax": float(xmax)}, file=name))
        else:
            problems.append(warning(
                "crs_missing_assumed_wgs84",
                N_("the file has no coordinate system; assumed WGS84 longitude/latitude"),
                file=name))
        gdf = gdf.set_crs("EPSG:4326")
    else:
        gdf = transform_frame_to_wgs84(gdf)
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
            pyogrio.write_dataframe(data.reset_index(drop=True), tmp, driver="GeoJSON")
        elif fmt == "gpkg":
            if path.exists():
                shutil.copy2(path, tmp)  # keep the other layers
            pyogrio.write_dataframe(gdf.reset_index(drop=True), tmp, driver="GPKG",
                                    layer=layer or path.stem)
        elif fmt == "csv":
            from geo.tables import write_csv

            write_csv(_table_for(gdf), tmp)  # formula-leading text escaped
        else:
            table = _table_for(gdf)
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
