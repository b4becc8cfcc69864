"""Where a proposal's site lies: the outside-town flag (the site is not in the applicant's town).

A village's or a town's project is reviewed by its town (镇审核), so a site placed in
another town — a 赵河村 (柳泉镇) cold store drawn in 上峪乡 — is either a slip of the mouse
or a project the other town should see. It is flagged on the form, the detail page and the
inbox, never blocked (a town may build on land it rents next door). County-level projects
have no applicant town and are not flagged. Flask-free; judged on the town polygons of the
boundaries layer (without them nothing is flagged: there is nothing to judge by).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import shapely


@dataclass(frozen=True)
class OutsideTown:
    """The applicant's ``town`` and the towns the site lies in instead (may be empty: outside every town)."""

    town: str
    found_towns: tuple[str, ...]


def town_polygons(ws) -> dict[str, shapely.Geometry]:
    """Town name → its boundary (parts of one name joined), from the boundaries layer."""
    bounds = ws.read_layer("boundaries")
    if not len(bounds):
        return {}
    towns = bounds[(bounds["level"].astype(str) == "town") & bounds.geometry.notna()]
    out: dict[str, list] = {}
    for name, geom in zip(towns["name"].astype(str), towns.geometry):
        if geom is not None and not geom.is_empty:
            out.setdefault(name.strip(), []).append(shapely.make_valid(geom))
    return {name: shapely.union_all(parts) for name, parts in out.items()}


def outside_town(ws, proposal, *, polygons: dict | None = None) -> OutsideTown | None:
    """The flag for one proposal, or None when its site is within its town (or cannot be judged).

    Parameters
    ----------
    ws : layers.store.Workspace
    proposal : layers.proposals.Proposal
        Its ``town`` (the applicant's town) and ``geometry`` (EPSG:4326) are used.
    polygons : dict, optional
        :func:`town_polygons`, when checking many proposals.
    """
    if (getattr(proposal, "level", "village") or "village") == "county" or not (proposal.town or "").strip():
        return None
    polygons = town_polygons(ws) if polygons is None else polygons
    own = polygons.get(proposal.town.strip())
    if own is None:
        return None  # a town without a boundary: nothing to judge by
    site = proposal.geometry
    if own.covers(site):
        return None
    found = tuple(sorted(name for name, poly in polygons.items() if name != proposal.town.strip()
                         and poly.intersects(site)))
    return OutsideTown(proposal.town.strip(), found)


def outside_town_flags(ws, proposals: Iterable) -> dict[int, OutsideTown]:
    """Proposal id → its flag, for the flagged ones among ``proposals``."""
    polygons = None
    out = {}
    for p in proposals:
        polygons = town_polygons(ws) if polygons is None else polygons
        flag = outside_town(ws, p, polygons=polygons)
        if flag is not None:
            out[p.id] = flag
    return out
