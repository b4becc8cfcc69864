"""Coverage of villages by facilities within a travel-time cutoff.

Every village ends in exactly one status:

``"covered"``
    the nearest facility is reached within ``cutoff_min``;
``"too_far"``
    a facility is reachable, but only in more than ``cutoff_min`` (minutes kept);
``"unreachable"``
    no route: the village's snap reason (``"too_far_from_road"``,
    ``"disconnected_component"``, ``"missing_geometry"``), ``"no_route"`` when
    it is on the network but no facility can be reached (one-way streets), or
    ``"no_facility"`` when no facility is on the network at all (none given, or
    every one of them off the network); on a network scenario's graph,
    ``"scenario_blocked"`` for a village the base network serves and the closures
    cut off (:func:`planner.travel.point_reasons`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from planner.errors import UnknownCommodity
from planner.estimate import StraightLineEstimate
from planner.graph import RoadGraph
from planner.snap import DEFAULT_MAX_SNAP_M, SnapResult, snap_points
from planner.travel import Direction, check_cutoff_min, nearest_times, point_reasons
from planner._json import jsonable, records

__all__ = ["CoverageSummary", "coverage_summary", "MONITORED_COLUMNS", "STATUSES"]

STATUSES = ("covered", "too_far", "unreachable")
MONITORED_COLUMNS = ("monitored_unstable", "monitored_marginal", "monitored_sudden")
_PRODUCE = re.compile(r"^produce_(.+)_t$")


@dataclass(frozen=True, eq=False)
class CoverageSummary:
    """Result of :func:`coverage_summary`.

    Attributes
    ----------
    cutoff_min : float
    direction : str
    commodities : tuple of str
        Produce columns summed (``produce_<name>_t``).
    totals : dict
        County totals: ``villages``, ``villages_covered``, ``villages_too_far``,
        ``villages_unreachable`` and for every measure ``<m>`` (population,
        households, monitored households in total and by kind, produce tonnage)
        ``<m>`` and ``<m>_covered``.
    by_town : DataFrame
        The same columns per ``town``.
    villages : DataFrame
        One row per village: ``village_id``, ``village_name``, ``town``,
        ``status``, ``minutes`` (to the nearest facility, inf when unreachable),
        ``facility_id``, ``facility_name``, ``reason``, and the measures.
    facilities : DataFrame
        One row per facility: ``facility_id``, ``facility_name``, ``reason``
        (:func:`planner.travel.point_reasons` against the villages: ``""`` when on a
        road network some village is on), ``network_m``, ``fragment_m``.
    warnings : list of dict
        Data warnings from snapping (:meth:`planner.snap.SnapResult.warnings`),
        villages and facilities, each with ``layer``.
    """

    cutoff_min: float
    direction: str
    commodities: tuple[str, ...]
    totals: dict[str, Any]
    by_town: pd.DataFrame
    villages: pd.DataFrame
    facilities: pd.DataFrame | None = None
    warnings: tuple = ()
    #: Set when there is no road network (:meth:`planner.estimate.StraightLineEstimate.to_dict`).
    estimate: dict | None = None

    @property
    def facilities_off_network(self) -> pd.DataFrame:
        """Facilities not on the road network (they cover nobody), with reason and distances."""
        if self.facilities is None:
            return pd.DataFrame({"facility_id": [], "facility_name": [], "reason": []})
        return self.facilities[self.facilities["reason"] != ""].reset_index(drop=True)

    @property
    def uncovered(self) -> pd.DataFrame:
        """Villages not covered, with status ("too_far"/"unreachable"), reason, minutes and, for
        villages off the road network, ``network_m`` / ``fragment_m`` (metres)."""
        cols = ["village_id", "village_name", "town", "status", "reason", "minutes", "facility_id"]
        cols += [c for c in ("network_m", "fragment_m") if c in self.villages.columns]
        return self.villages.loc[self.villages["status"] != "covered", cols].reset_index(drop=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff_min": float(self.cutoff_min),
            "direction": self.direction,
            "commodities": list(self.commodities),
            "totals": jsonable(dict(self.totals)),
            "by_town": records(self.by_town),
            "uncovered": records(self.uncovered),
            "facilities_off_network": records(self.facilities_off_network),
            "warnings": list(self.warnings),
            "estimate": self.estimate,
        }


def _commodity_columns(villages, commodities: Sequence[str] | None) -> list[str]:
    available = [c for c in villages.columns if _PRODUCE.match(str(c))]
    if commodities is None:
        return available
    cols = []
    for name in commodities:
        col = name if _PRODUCE.match(name) else f"produce_{name}_t"
        if col not in villages.columns:
            raise UnknownCommodity(commodity=name, column=col,
                                   available=", ".join(c[len("produce_"):-len("_t")] for c in available) or "—")
        cols.append(col)
    return cols


def _measure(villages, col: str) -> np.ndarray:
    if col not in villages.columns:
        return np.zeros(len(villages))
    return pd.to_numeric(villages[col], errors="coerce").fillna(0).to_numpy(dtype=float)


def coverage_summary(
    graph: RoadGraph,
    villages,
    facilities,
    *,
    cutoff_min: float,
    commodities: Sequence[str] | None = None,
    direction: Direction = "to_facility",
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    access_speed_kmh: float | None = None,
    village_snap: SnapResult | None = None,
    facility_snap: SnapResult | None = None,
) -> CoverageSummary:
    """Which villages (and how many people, tonnes, monitored households) a facility set covers.

    Parameters
    ----------
    graph : RoadGraph
    villages : geopandas.GeoDataFrame
        Village points with ``code``, ``name``, ``town`` and optional measures
        (``population``, ``households``, ``monitored_*``, ``produce_<c>_t``);
        missing measures count as 0.
    facilities : geopandas.GeoDataFrame
    cutoff_min : float
        A village is covered when its nearest facility is reached within this.
    commodities : sequence of str, optional
        Commodity names (``"apple"``) or column names (``"produce_apple_t"``);
        default: every ``produce_*_t`` column present.
    direction : {"to_facility", "from_facility"}
        Trip direction; villagers travel to the facility by default.

    Returns
    -------
    CoverageSummary
    """
    check_cutoff_min(cutoff_min)
    produce = _commodity_columns(villages, commodities)
    sv = village_snap if village_snap is not None else snap_points(graph, villages, max_snap_m=max_snap_m, access_speed_kmh=access_speed_kmh,
                                     id_column="code" if "code" in villages.columns else None)
    sf = facility_snap if facility_snap is not None else snap_points(graph, facilities, max_snap_m=max_snap_m, access_speed_kmh=access_speed_kmh)
    minutes, nearest = nearest_times(graph, sv, sf, direction=direction)

    reachable = (sv.reason == "") & np.isfinite(minutes)
    reason = point_reasons(graph, sv, sf, minutes, direction=direction)
    status = np.where(reachable & (minutes <= cutoff_min), "covered", np.where(reachable, "too_far", "unreachable"))
    found = nearest >= 0
    fac_id = np.full(len(sv), None, dtype=object)
    fac_name = np.full(len(sv), None, dtype=object)
    fac_id[found] = sf.ids[nearest[found]]
    fac_name[found] = sf.names[nearest[found]]

    town = villages["town"].fillna("").astype(str).to_numpy() if "town" in villages.columns else np.full(len(sv), "")
    table = pd.DataFrame(
        {
            "village_id": sv.ids,
            "village_name": sv.names,
            "town": town,
            "status": status,
            "minutes": minutes,
            "facility_id": fac_id,
            "facility_name": fac_name,
            "reason": reason,
            "network_m": np.where(reason == "", np.nan, sv.network_m),
            "fragment_m": np.where(reason == "", np.nan, sv.fragment_m),
        }
    )
    measures = ["population", "households", "monitored_households", *MONITORED_COLUMNS, *produce]
    for col in ("population", "households", *MONITORED_COLUMNS, *produce):
        table[col] = _measure(villages, col)
    table["monitored_households"] = table[list(MONITORED_COLUMNS)].sum(axis=1)

    covered = table["status"] == "covered"
    agg = pd.DataFrame({"town": table["town"], "villages": 1})
    for s in STATUSES:
        agg[f"villages_{s}"] = (table["status"] == s).astype(int)
    for m in measures:
        agg[m] = table[m]
        agg[f"{m}_covered"] = table[m].where(covered, 0.0)
    by_town = agg.groupby("town", sort=True).sum(numeric_only=True).reset_index()
    totals = {k: (int(v) if k.startswith("villages") else float(v)) for k, v in agg.drop(columns="town").sum().items()}
    totals["facilities"] = int(len(sf))
    # a facility on roads no village is on serves nobody: named like one off the network
    fac_reason = point_reasons(graph, sf, sv)
    totals["facilities_on_network"] = int((fac_reason == "").sum())
    facilities_table = pd.DataFrame({
        "facility_id": sf.ids, "facility_name": sf.names, "reason": fac_reason.astype(str),
        "network_m": sf.network_m, "fragment_m": sf.fragment_m,
    })
    warnings = tuple([{"layer": "villages", **w} for w in sv.warnings()]
                     + [{"layer": "facilities", **w} for w in sf.warnings()])
    return CoverageSummary(
        cutoff_min=float(cutoff_min),
        direction=direction,
        commodities=tuple(_PRODUCE.match(c).group(1) for c in produce),
        totals=totals,
        by_town=by_town,
        villages=table,
        facilities=facilities_table,
        warnings=warnings,
        estimate=graph.to_dict() if isinstance(graph, StraightLineEstimate) else None,
    )
