"""Coordinate notations as people type them: decimal, degree sign, 度分秒, hemispheres.

:func:`parse_angle` turns one cell into decimal degrees; :func:`parse_angles` does a
column. Accepted (with ASCII or full-width digits and punctuation, spaces anywhere):

========================  ============
``111.2216``              decimal
``111.2216°``             degree sign
``111°12.5'``             degrees + decimal minutes (DM)
``111°12'30"``            DMS with ASCII quotes; also ``′ ″``, ``’ ”``, ``''``
``111度12分30秒``          DMS in Chinese
``111:12:30`` ``111 12 30``  DMS with colons or spaces
``E111.2216`` ``111.2216E``  hemisphere letter before or after
``东经111°12′30″``         Chinese hemisphere word (东经/西经/北纬/南纬)
========================  ============

``S``/``W`` (南纬/西经) or a leading minus give negative values. Minutes and seconds
must be below 60 and are not allowed after a decimal degree. Every failure returns
``None`` (the caller reports the row); nothing is guessed.

:func:`looks_like_gauss_kruger` recognises survey coordinates (northing first, with or
without the zone number in front of the easting) so a table of metres given as
longitude/latitude can be explained instead of rejected as "outside China".
"""
from __future__ import annotations

import math
import re
import unicodedata

import numpy as np

__all__ = ["parse_angle", "parse_angles", "looks_like_gauss_kruger", "GaussKrugerGuess"]

# Unicode quote and prime forms normalised to ' and " before matching.
_MINUTE_MARKS = "'′’‘`´ʹ"
_SECOND_MARKS = "\"″”“ʺ"
_HEMI_WORDS = {"东经": "E", "西经": "W", "北纬": "N", "南纬": "S", "东": "E", "西": "W", "北": "N", "南": "S"}

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_DMS = re.compile(
    rf"^(?P<sign>[+-])?{_NUMBER}(?P<deg>°|度|:)?"
    rf"(?:{_NUMBER}(?P<min>'|分|:)?)?"
    rf"(?:{_NUMBER}(?P<sec>\"|''|秒)?)?$"
)


def _normalise(text: str) -> str:
    # NFKC folds full-width digits, letters and punctuation (１１１．２ → 111.2, ： → :)
    text = unicodedata.normalize("NFKC", text).strip()
    # "111 12 30": spaces between bare numbers separate degrees, minutes and seconds
    text = re.sub(r"(?<=\d)\s+(?=\d)", ":", text)
    text = re.sub(r"\s+", "", text)
    for mark in _MINUTE_MARKS:
        text = text.replace(mark, "'")
    for mark in _SECOND_MARKS:
        text = text.replace(mark, '"')
    text = text.replace("º", "°").replace("˚", "°")
    # A lone comma is a decimal comma (an angle never needs a thousands separator).
    return text.replace(",", ".") if text.count(",") == 1 and "." not in text else text


def _split_hemisphere(text: str) -> tuple[str, str | None]:
    for word, hemi in _HEMI_WORDS.items():  # longest words first (dict order above)
        if text.startswith(word):
            return text[len(word):], hemi
        if text.endswith(word):
            return text[: -len(word)], hemi
    if text[:1].upper() in "NSEW" and len(text) > 1 and not text[1:2].isalpha():
        return text[1:], text[0].upper()
    if text[-1:].upper() in "NSEW" and len(text) > 1 and not text[-2:-1].isalpha():
        return text[:-1], text[-1].upper()
    return text, None


def parse_angle(value) -> tuple[float, str | None] | None:
    """One cell as decimal degrees.

    Parameters
    ----------
    value : str or number
        The cell.

    Returns
    -------
    (degrees, hemisphere) or None
        ``degrees`` is signed (S/W negative); ``hemisphere`` is ``"N"``, ``"S"``,
        ``"E"``, ``"W"`` or None when the cell names none. None when the cell is not a
        coordinate in any accepted notation (including minutes/seconds ≥ 60 or a
        hemisphere together with a minus sign).
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
        return (number, None) if math.isfinite(number) else None
    text = _normalise(str(value))
    if not text:
        return None
    text, hemi = _split_hemisphere(text)
    match = _DMS.match(text)
    if match is None:
        return None
    sign, d, deg_mark, m, min_mark, s, sec_mark = match.groups()
    if d is None:
        return None
    if m is None and s is None:
        if deg_mark == ":" or min_mark or sec_mark:
            return None
        degrees = float(d)
    else:
        if s is not None and m is None:
            return None
        # "111 12 30" has no marks at all once spaces go: refuse rather than read 1111230
        if deg_mark is None:
            return None
        if "." in d:
            return None  # minutes after a decimal degree are a typo, not a notation
        minutes = float(m)
        seconds = float(s) if s is not None else 0.0
        if s is not None and "." in m:
            return None
        if minutes >= 60 or seconds >= 60:
            return None
        degrees = float(d) + minutes / 60 + seconds / 3600
    if not math.isfinite(degrees):
        return None
    if sign == "-":
        if hemi is not None:
            return None
        degrees = -degrees
    if hemi in ("S", "W"):
        degrees = -degrees
    return degrees, hemi


def parse_angles(values) -> tuple[np.ndarray, np.ndarray]:
    """A column of cells as decimal degrees.

    Returns
    -------
    (degrees, hemispheres)
        float array (NaN where a cell is not a coordinate) and object array of
        hemisphere letters (None where the cell names none).
    """
    values = list(values)
    out = np.full(len(values), np.nan)
    hemis = np.full(len(values), None, dtype=object)
    for i, v in enumerate(values):
        parsed = parse_angle(v)
        if parsed is not None:
            out[i], hemis[i] = parsed
    return out, hemis


class GaussKrugerGuess(tuple):
    """``(northing_first, zone_width, zone, epsg)`` of a Gauss–Krüger guess."""

    __slots__ = ()

    @property
    def northing_first(self) -> bool:
        return self[0]

    @property
    def zone_width(self) -> int:
        return self[1]

    @property
    def zone(self) -> int | None:
        return self[2]

    @property
    def epsg(self) -> int | None:
        return self[3]


def _cgcs2000_epsg(zone_width: int, zone: int | None) -> int | None:
    """EPSG code of a CGCS2000 Gauss–Krüger zone with the zone number in the easting."""
    if zone is None:
        return None
    if zone_width == 3 and 25 <= zone <= 45:
        return 4513 + (zone - 25)  # EPSG:4513 = CGCS2000 / 3-degree GK zone 25
    if zone_width == 6 and 13 <= zone <= 23:
        return 4491 + (zone - 13)  # EPSG:4491 = CGCS2000 / GK zone 13
    return None


def looks_like_gauss_kruger(first, second) -> GaussKrugerGuess | None:
    """Whether two coordinate columns look like Chinese Gauss–Krüger metres.

    Parameters
    ----------
    first, second : array-like of float
        The columns as given (the user's "x"/longitude column first). NaNs are ignored.

    Returns
    -------
    GaussKrugerGuess or None
        ``northing_first`` is True when ``first`` holds northings (survey X, the
        Chinese surveying convention) and ``second`` eastings. The easting may carry
        the zone number in front (``38 500 000`` = zone 38, false easting 500 km): then
        ``zone``, ``zone_width`` (3 for zones 25–45, 6 for 13–23) and the CGCS2000
        ``epsg`` (EPSG:4513–4533 for 3° zones, EPSG:4491–4501 for 6° zones) are
        filled; without the prefix they are None (the zone cannot be told from the
        numbers). None when the values are not in those ranges.

    Notes
    -----
    China spans northings of about 0.3–6 million m (18°–54° N); an easting without
    the zone prefix lies within 500 km ± 350 km of the false easting; with it, the
    zone number times 10⁶ is added (GB/T 17798 and CGCS2000 usage).
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return None
    a, b = a[ok], b[ok]

    def northing(v):
        return bool(np.all((v >= 1.5e6) & (v <= 6.2e6)))

    def easting(v):
        if np.all((v >= 1.3e5) & (v <= 8.7e5)):
            return "plain", None
        zones = np.floor(v / 1e6)
        rest = v - zones * 1e6
        if np.all(zones == zones[0]) and np.all((rest >= 1.3e5) & (rest <= 8.7e5)) and 13 <= zones[0] <= 45:
            return "zoned", int(zones[0])
        return None, None

    for northing_first, n, e in ((True, a, b), (False, b, a)):
        if not northing(n):
            continue
        kind, zone = easting(e)
        if kind is None:
            continue
        width = 6 if zone is not None and zone <= 23 else 3
        return GaussKrugerGuess((northing_first, width, zone, _cgcs2000_epsg(width, zone)))
    return None
