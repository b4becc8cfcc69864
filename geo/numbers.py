"""The one rule for how many digits a written number keeps, by the unit its name gives.

Files and JSON the program hands out (CSV, Excel, GeoJSON, ``--json``, the API) write
numbers through here, so ``213.60000000000002`` is written ``213.6`` and a longitude
``111.21000000000001`` is written ``111.21``. Stored data keep full precision: only what
is written is rounded. The naming rule puts the unit last (``time_min``, ``radius_m``);
the unit is the last ``_``-separated word found in :data:`UNIT_DECIMALS`
(``min_component_km`` is in km). A number whose name gives no unit keeps
:data:`SIGNIFICANT_DIGITS` significant digits, past which a float64 sum carries only
rounding noise. A value that is exactly a float32 is first read as that float32's shortest
text (``12.300000190734863`` → ``12.3``). ``-0.0`` is written ``0.0``.
"""
from __future__ import annotations

import math
import struct

import numpy as np
import pandas as pd

__all__ = ["SIGNIFICANT_DIGITS", "UNIT_DECIMALS", "clean_float", "decimals_for", "round_array",
           "round_frame"]

#: Decimals kept by unit word: minutes 0.01, metres 0.1, km 1 m, tonnes 1 kg, 万元 (wan)
#: 1 yuan, yuan 1 fen, seconds 1 ms, shares (0…1) 1e-6, degrees of lon/lat 1e-7 (~1 cm).
UNIT_DECIMALS = {
    "min": 2, "minutes": 2,
    "m": 1, "km": 3,
    "t": 3,
    "wan": 4, "yuan": 2,
    "s": 3, "seconds": 3,
    "share": 6, "gap": 6,
    "lon": 7, "lat": 7, "coordinates": 7, "bbox": 7,
}
#: Significant digits of a number whose name gives no unit.
SIGNIFICANT_DIGITS = 12
#: Decimals of a coordinate in degrees (1e-7° ≈ 1 cm).
DEGREE_DECIMALS = UNIT_DECIMALS["lon"]

_F32 = struct.Struct("f")


def decimals_for(key: str | None) -> int | None:
    """Decimals of the unit ``key`` names (the last unit word), or None."""
    if not key or not isinstance(key, str):
        return None
    for word in reversed(key.lower().split("_")):
        if word in UNIT_DECIMALS:
            return UNIT_DECIMALS[word]
    return None


def clean_float(value: float, decimals: int | None = None) -> float | None:
    """One number as written: float32 noise dropped, rounded to ``decimals`` (else to
    :data:`SIGNIFICANT_DIGITS` significant digits), ``-0.0`` → ``0.0``, not finite → None."""
    value = float(value)
    if not math.isfinite(value):
        return None
    if value != int(value):
        try:
            as_f32 = _F32.unpack(_F32.pack(value))[0]
        except OverflowError:  # beyond float32's range: not a float32
            as_f32 = None
        if as_f32 == value:
            value = float(str(np.float32(value)))  # numpy's shortest text of the float32
        if decimals is not None:
            value = round(value, decimals)
        else:
            value = float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value + 0.0  # -0.0 + 0.0 is 0.0


def round_array(values, decimals: int | None = None) -> np.ndarray:
    """:func:`clean_float` over an array of floats (float64 out; NaN and ±inf stay as they are).

    Vectorised: ``rint(x * 10**d) / 10**d`` is the double nearest to the same decimal as
    Python's ``round(x, d)`` unless ``x * 10**d`` is within rounding error of a half (or
    ``10**d`` is not exact); those few values take :func:`clean_float` itself.
    """
    x = np.array(values, dtype=np.float64)
    flat = x.reshape(-1)
    todo = np.flatnonzero(np.isfinite(flat) & (flat != np.trunc(flat)))
    if not len(todo):
        return x + 0.0
    v = flat[todo]  # a copy: ``flat`` keeps the values for the exact path below
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        f32 = v.astype(np.float32)
        exact32 = f32.astype(np.float64) == v
        if exact32.any():  # float32 values as their own shortest text (12.3, not 12.300000190734863)
            v[exact32] = f32[exact32].astype(str).astype(np.float64)
        if decimals is not None:
            d = np.full(len(v), decimals, dtype=np.int64)
        else:
            d = SIGNIFICANT_DIGITS - 1 - np.floor(np.log10(np.abs(v))).astype(np.int64)
        scale = 10.0 ** d
        y = v * scale
        out = np.rint(y) / scale
        # x * 10**d is off by at most half an ulp: within a few ulps of a half, the rounding
        # direction is not certain; 10**d is exact only for 0 <= d <= 22
        slow = ((d < 0) | (d > 22) | ~np.isfinite(y)
                | (np.abs(np.abs(y - np.trunc(y)) - 0.5) <= 4 * np.spacing(np.abs(y))))
    for i in np.flatnonzero(slow):
        out[i] = clean_float(flat[todo[i]], decimals)
    flat[todo] = out
    return x + 0.0


def round_frame(frame: pd.DataFrame, *, unit_from: dict[str, str] | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with every float column rounded for writing by its name's unit.

    ``unit_from`` maps a value column to the column naming each row's quantity (a long
    table ``indicator, value``: ``{"value": "indicator"}``), so each row is rounded by the
    unit of its indicator. Other columns (text, integers, dates) are left as they are.
    """
    unit_from = unit_from or {}
    out = frame.copy()
    for position, name in enumerate(out.columns):
        series = out.iloc[:, position]
        if name in unit_from and unit_from[name] in out.columns:
            numeric = pd.to_numeric(series, errors="coerce")
            is_float = series.map(lambda v: isinstance(v, (float, np.floating)))
            if not is_float.any():
                continue
            keys = out[unit_from[name]]
            rounded = series.astype(object).copy()
            for key in pd.unique(keys[is_float]):
                rows = (keys == key).to_numpy() & is_float.to_numpy()
                rounded[rows] = round_array(numeric[rows].to_numpy(), decimals_for(key))
            out.isetitem(position, rounded.infer_objects())
        elif pd.api.types.is_float_dtype(series.dtype):
            out.isetitem(position, pd.Series(round_array(series.to_numpy(dtype=np.float64, na_value=np.nan),
                                                         decimals_for(name)), index=series.index))
    return out
