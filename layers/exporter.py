"""Exporting workspace layers to GeoJSON, GeoPackage, CSV and Excel."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from geo import vector as geo_vector

from .schema import get_schema
from .store import Workspace

EXPORT_FORMATS = ("geojson", "gpkg", "csv", "xlsx")


def export_format(fmt: str | None, out: str | os.PathLike | None = None) -> str:
    """The export format from an explicit name or the output file's suffix."""
    if fmt is None and out is not None:
        fmt = Path(out).suffix.lower().lstrip(".")
    fmt = {"json": "geojson", "excel": "xlsx", "xls": "xlsx"}.get(fmt or "", fmt or "")
    if fmt not in EXPORT_FORMATS:
        from .errors import UnknownExportFormat

        raise UnknownExportFormat(fmt=repr(fmt), expected=", ".join(EXPORT_FORMATS))
    return fmt


def export_layer(ws: Workspace, layer: str, fmt: str | None, out: str | os.PathLike) -> Path:
    """Write ``layer`` of ``ws`` to ``out``; returns the path written.

    Columns keep the schema's field names, so an exported file imports back unchanged.
    """
    schema = get_schema(layer)
    fmt = export_format(fmt, out)
    frame = ws.read_layer(layer)
    out = Path(out)
    if schema.spatial:
        geo_vector.write_vector(frame, out, fmt=fmt, layer=layer)
    else:
        geo_vector.write_vector(pd.DataFrame(frame), out, fmt=fmt, layer=layer)
    return out
