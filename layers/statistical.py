"""Statistical division lists (统计用区划代码) in the adcode project's CSV layout.

No header; columns: code (12 digits), parent, name, level (county/town/village), rank,
adcode, post_code, area_code, ur_code (urban–rural class), municipality, virtual, dummy,
longitude, latitude (GCJ-02, often empty), center (WKB hex), province, city, county,
town, village. Villages and towns become records of the ``villages`` and ``towns``
layers. Centres are converted from GCJ-02 to WGS84; rows without a centre are kept
without location and reported — coordinates are never invented.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import tables as geo_tables
from geo.crs import gcj02_to_wgs84
from geo.report import Problem

COLUMNS = ("code", "parent", "name", "level", "rank", "adcode", "post_code", "area_code", "ur_code",
           "municipality", "virtual", "dummy", "longitude", "latitude", "center", "province", "city",
           "county", "town", "village")


_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


def _text(path: Path) -> str:
    """The file's text whatever Excel or WPS saved it as (UTF-8 with/without BOM, GBK, GB18030)."""
    text, _encoding, _mixed = geo_tables.decode_text(path.read_bytes(), path.name)
    return text


def looks_like_adcode_list(path) -> bool:
    """True for a header-less CSV whose first cell is a 12-digit code and 4th a level.

    The code may also be in Excel's scientific notation (``1.40823E+11``, a list opened
    and re-saved in Excel): the list is still recognised so that each row's code is
    reported as mangled instead of the whole file being misread as some other table.
    """
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".txt"):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        text, _encoding, _mixed = geo_tables.decode_text(head.rsplit(b"\n", 1)[0] if b"\n" in head else head,
                                                        path.name)
        first = next(csv.reader(io.StringIO(text)), [])
    except (geo_tables.UnreadableTable, OSError, csv.Error):
        return False
    if len(first) < 14 or first[3].strip() not in ("county", "town", "village"):
        return False
    code = first[0].strip()
    return (code.isdigit() and len(code) == 12) or bool(_SCIENTIFIC.match(code))


def read_adcode_list(path, *, file: str) -> tuple[dict[str, gpd.GeoDataFrame], list[Problem]]:
    """Villages and towns of an adcode list as raw layer records (with ``_row`` numbers).

    The text may be UTF-8 (with or without BOM) or GBK/GB18030 as Excel on Chinese
    Windows re-saves it; line endings may be CRLF.
    """
    path = Path(path)
    raw = pd.read_csv(io.StringIO(_text(path)), header=None, names=COLUMNS, dtype=str, keep_default_na=False,
                      usecols=range(len(COLUMNS)), skip_blank_lines=False)
    raw = raw.apply(lambda col: col.str.strip())
    raw["_row"] = np.arange(len(raw)) + 1  # no header: the row number is the line number
    lon = pd.to_numeric(raw["longitude"], errors="coerce").to_numpy()
    lat = pd.to_numeric(raw["latitude"], errors="coerce").to_numpy()
    has = ~(np.isnan(lon) | np.isnan(lat))
    wlon, wlat = np.full(len(raw), np.nan), np.full(len(raw), np.nan)
    if has.any():
        wlon[has], wlat[has] = gcj02_to_wgs84(lon[has], lat[has])
    geometry = gpd.points_from_xy(wlon, wlat, crs="EPSG:4326")
    geometry = gpd.GeoSeries(geometry).where(has, None)
    towns_by_code = dict(zip(raw.loc[raw["level"] == "town", "code"], raw.loc[raw["level"] == "town", "name"]))

    village = (raw["level"] == "village").to_numpy()
    villages = gpd.GeoDataFrame({
        "code": raw.loc[village, "code"].to_numpy(),
        "name": raw.loc[village, "name"].to_numpy(),
        "town": [towns_by_code.get(p, t or None) for p, t in zip(raw.loc[village, "parent"], raw.loc[village, "town"])],
        "urban_rural": raw.loc[village, "ur_code"].replace("", None).to_numpy(),
        "_row": raw.loc[village, "_row"].to_numpy(),
    }, geometry=geometry[village].to_numpy(), crs="EPSG:4326")
    town = (raw["level"] == "town").to_numpy()
    towns = gpd.GeoDataFrame({
        "code": raw.loc[town, "code"].to_numpy(),
        "name": raw.loc[town, "name"].to_numpy(),
        "_row": raw.loc[town, "_row"].to_numpy(),
    }, geometry=geometry[town].to_numpy(), crs="EPSG:4326")
    return {"villages": villages.reset_index(drop=True), "towns": towns.reset_index(drop=True)}, []
