"""Who may see which rows: household-level data by role and scope, in one place.

Household-level records are the rows of a layer flagged ``sensitive`` (the monitored
households) and the rows a layer's ``sensitive_rows`` names (pairings whose target is a
household). Roles with the ``households`` permission see them all; roles with
``households_own_scope`` only those of their village or town; everyone else none.

:func:`visible_frame` is what the API, the map data and the downloads serve;
:func:`household_rule` is the same decision as a predicate for rows that are not
layer records (the pairings analysis). Flask-free.
"""
from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from layers.schema import get_schema

from .users import has_permission, may_see_households


class NotVisible(PermissionError):
    """The user may not read this layer at all (401 anonymous, 403 otherwise)."""


# --------------------------------------------------------------------------- scope
def household_scope(user) -> tuple[str, str | None]:
    """``("all", None)``, ``("none", None)``, ``("village", code)`` or ``("town", name)``."""
    if has_permission(user, "households"):
        return ("all", None)
    if has_permission(user, "households_own_scope") and user is not None and user.scope:
        if user.scope_kind in ("village", "town"):
            return (user.scope_kind, str(user.scope))
    return ("none", None)


def household_rule(user):
    """Which household rows the user may see: ``"all"``, ``"none"`` or a predicate on a
    mapping with ``village_code`` and/or ``town``."""
    kind, value = household_scope(user)
    if kind in ("all", "none"):
        return kind
    field = "village_code" if kind == "village" else "town"

    def allowed(row: Mapping) -> bool:
        got = row.get(field)
        return got is not None and str(got) == value

    return allowed


def scope_villages(ws, user) -> set[str] | None:
    """Codes of the villages whose households the user may see (None: every village)."""
    kind, value = household_scope(user)
    if kind == "all":
        return None
    if kind == "village":
        return {value}
    if kind == "town":
        villages = ws.read_layer("villages")
        return set(villages.loc[villages["town"].astype(str) == value, "code"].astype(str))
    return set()


def rows_key(layer: str, user) -> tuple:
    """What a layer's visible rows depend on besides the data (for caches and ETags)."""
    schema = get_schema(layer)
    if not (schema.sensitive or schema.sensitive_rows):
        return ("all",)
    return household_scope(user)


# --------------------------------------------------------------------------- rows
def may_read_layer(layer: str, user) -> bool:
    """False for a layer made only of household records when the user sees none."""
    return not get_schema(layer).sensitive or may_see_households(user)


def _household_mask(layer: str, frame: pd.DataFrame) -> pd.Series:
    schema = get_schema(layer)
    if schema.sensitive:
        return pd.Series(True, index=frame.index)
    if schema.sensitive_rows and schema.sensitive_rows[0] in frame.columns:
        field, values = schema.sensitive_rows
        return frame[field].isin(list(values))
    return pd.Series(False, index=frame.index)


def _household_villages(ws, layer: str, rows: pd.DataFrame) -> pd.Series:
    """The village code of each household-level row (None when unknown)."""
    if "village_code" in rows.columns:
        return rows["village_code"].astype(object).where(rows["village_code"].notna(), None).map(
            lambda v: None if v is None else str(v))
    if "target_id" in rows.columns:  # a pairing with a household: the household's village
        households = ws.read_layer("households")
        village_of = dict(zip(households["id"].astype(str), households["village_code"].astype(str)))
        return rows["target_id"].map(lambda v: village_of.get(str(v)))
    return pd.Series(None, index=rows.index, dtype=object)


def filter_rows(ws, layer: str, frame: pd.DataFrame, user) -> pd.DataFrame:
    """``frame`` (rows of ``layer``) without the household-level rows the user may not see."""
    kind, _value = household_scope(user)
    if kind == "all":
        return frame
    mask = _household_mask(layer, frame)
    if not mask.any():
        return frame
    keep = ~mask
    if kind != "none":
        allowed = scope_villages(ws, user)
        villages = _household_villages(ws, layer, frame[mask])
        keep[mask] = villages.isin(allowed).to_numpy()
    return frame[keep.to_numpy()]


def visible_frame(ws, layer: str, user, bbox=None) -> pd.DataFrame:
    """The rows of ``layer`` the user may see (``bbox`` for spatial layers).

    Raises :class:`NotVisible` when the user may not read the layer at all.
    """
    schema = get_schema(layer)
    if not may_read_layer(layer, user):
        raise NotVisible(layer)
    frame = ws.read_layer(layer, bbox=bbox) if schema.spatial and bbox is not None else ws.read_layer(layer)
    return filter_rows(ws, layer, frame, user)
