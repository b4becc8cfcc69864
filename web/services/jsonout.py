"""The one JSON encoding of every JSON the program hands out: the command line's ``--json``
outputs and the ``/api/v1`` answers (the Flask app's JSON provider calls :func:`clean`).

Numbers are written at a stated precision by the unit their key names (the project's
naming rule puts the unit last: ``time_min``, ``radius_m``, ``produce_apple_t_covered``):

=============================  =========  ===============================
unit word in the key           decimals   step
=============================  =========  ===============================
``min``, ``minutes``           2          0.01 min (under a second)
``m``                          1          0.1 m
``km``                         3          1 m
``t`` (tonnes)                 3          1 kg
``wan`` (万元)                  4          1 yuan
``yuan`` (元)                   2          1 fen
``s``, ``seconds``             3          1 ms
``share``, ``gap`` (0…1)       6          0.0001 %
``lon``, ``lat``,              7          ~1 cm
``coordinates``, ``bbox``
=============================  =========  ===============================

The unit is the last of the key's ``_``-separated words found in the table
(``min_component_km`` is in km, ``added_min_max`` in minutes). A number under any other
key (people, weights, objectives, scores) keeps :data:`SIGNIFICANT_DIGITS` significant
digits, past which a float64 sum carries only rounding noise (``116912.70000000001`` →
``116912.7``). Before either rule, a value that is exactly a float32 is read as that
float32's shortest text (``12.300000190734863`` → ``12.3``): the analyses keep travel
times in float32. ``-0.0`` is written ``0.0``, NaN and ±inf ``null``, numpy scalars and
arrays as plain numbers and lists. Lists take the precision of the key holding them.
Computations keep full values: only what is written is rounded. The rule is
:mod:`geo.numbers`' (also used by every CSV, Excel and GeoJSON the program writes).
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np

# The rule itself lives below web/ so that CSV, Excel and GeoJSON writers (geo/) use it too.
from geo.numbers import SIGNIFICANT_DIGITS, UNIT_DECIMALS, clean_float, decimals_for

__all__ = ["SIGNIFICANT_DIGITS", "UNIT_DECIMALS", "clean", "clean_float", "decimals_for", "dumps"]


def clean(value: Any, key: str | None = None) -> Any:
    """``value`` with every number as :func:`clean_float` writes it (by the key holding it);
    other objects (dates, strings) are left to the encoder."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else str(k)): clean(v, k if isinstance(k, str) else key)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v, key) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return clean_float(value, decimals_for(key))
    if isinstance(value, np.ndarray):
        return clean(value.tolist(), key)
    return value


def dumps(value: Any, *, indent: int | None = None, **kwargs) -> str:
    """``value`` as JSON text by the rules above (UTF-8 text, not ``\\u`` escapes)."""
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(clean(value), indent=indent, allow_nan=False, **kwargs)
