"""Network scenarios: roads closed or slowed (floods, the rainy season 汛期, works).

A :class:`NetworkScenario` is a frozen description ("close every unpaved road and
every road crossing a hazard zone; county roads at half speed") that
:func:`apply_scenario` turns into a modified roads layer *before* the road graph is
built: closed roads are dropped, slowed roads get a ``speed_factor`` column that
:func:`planner.graph.build_road_graph` multiplies into their speed.  The scenario
graph is therefore an ordinary :class:`~planner.graph.RoadGraph` and every analysis
(coverage, OD, placement, evaluation, resilience) runs on it unchanged.

Rules
-----
- Closing wins over slowing: a closed road is gone, whatever its factor.
- Several slow factors on one road (its class, its id, a zone it crosses): the
  smallest applies — a road driven at half speed for one reason and at 70 % for
  another is driven at half speed, not at 35 %.
- "Crossing a zone" means the road line intersects the zone polygon (touching its
  edge counts): a washed-out stretch anywhere on a road closes that road record.
  Roads are records of the roads layer; cut long roads at junctions in the data
  when a closure should stop at a junction.
- Factors are speed multipliers in (0, 1]: 0.5 halves the speed (doubles minutes).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo.errors import InvalidInput, NotFound

__all__ = [
    "HAZARD_KIND",
    "BadScenario",
    "NetworkScenario",
    "ScenarioApplied",
    "UnknownScenario",
    "apply_scenario",
    "parse_factor_spec",
]


class BadScenario(InvalidInput):
    """A scenario that cannot be used as given (bad name, factor, or spec)."""

    code = "scenario.invalid"
    en = "Network scenario is invalid: {reason_en}"
    zh = "路网情景无效：{reason_zh}"


class UnknownScenario(NotFound):
    """No scenario of that name in the workspace."""

    code = "scenario.not_found"
    en = "No network scenario named {name!r} in this workspace (known: {known})"
    zh = "工作空间中没有名为 {name!r} 的路网情景（已有：{known}）"


#: ``kind`` of the constraint zones that ``close_hazard`` / ``slow_hazard`` use.
HAZARD_KIND = "hazard"
_NAME_MAX = 64


def _factor(value, *, what: str) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise BadScenario(reason_en=f"{what}: factor {value!r} is not a number",
                          reason_zh=f"{what}：系数 {value!r} 不是数字") from None
    if not (np.isfinite(f) and 0 < f <= 1):
        raise BadScenario(reason_en=f"{what}: factor {value!r} must be in (0, 1] (0.5 halves the speed)",
                          reason_zh=f"{what}：系数 {value!r} 应在 (0, 1] 之间（0.5 表示车速减半）")
    return f


def _factors(mapping, *, what: str) -> Mapping[str, float]:
    return MappingProxyType({str(k): _factor(v, what=f"{what} {k}") for k, v in dict(mapping or {}).items()})


def _strings(values) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    return tuple(sorted({str(v).strip() for v in values if str(v).strip()}))


def parse_factor_spec(text: str, *, what: str = "slow") -> dict[str, float]:
    """``"county=0.5,village=0.7"`` → ``{"county": 0.5, "village": 0.7}``.

    Raises
    ------
    planner.errors.BadScenario
        For a part without ``=`` or a factor outside (0, 1].
    """
    out: dict[str, float] = {}
    for part in str(text).replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise BadScenario(reason_en=f"{what}: expected NAME=FACTOR, got {part!r}",
                              reason_zh=f"{what}：应为 名称=系数，实际为 {part!r}")
        out[key.strip()] = _factor(value.strip(), what=f"{what} {key.strip()}")
    return out


@dataclass(frozen=True)
class NetworkScenario:
    """A named set of road closures and slow-downs.

    Parameters
    ----------
    name : str
        Identifier (1–64 characters, no ``/``).
    close_ids : sequence of str
        Road ``id`` values to close.
    close_classes : sequence of str
        Road classes to close (``village``, ``other``…).
    close_unpaved : bool
        Close every road with ``surface == "unpaved"`` (汛期: earth and gravel
        roads are impassable in the rainy season).
    close_hazard : bool
        Close every road crossing a constraint zone of kind ``hazard``.
    close_zones : sequence of str
        Close roads crossing these constraint zones (by zone ``id``).
    slow_classes, slow_ids, slow_zones : mapping of str to float
        Speed factor in (0, 1] per road class / road id / constraint-zone id.
    slow_hazard : float, optional
        Speed factor for roads crossing any hazard zone.
    description : str

    Raises
    ------
    planner.errors.BadScenario
        For an empty or overlong name, or a factor outside (0, 1].
    """

    name: str
    close_ids: tuple[str, ...] = ()
    close_classes: tuple[str, ...] = ()
    close_unpaved: bool = False
    close_hazard: bool = False
    close_zones: tuple[str, ...] = ()
    slow_classes: Mapping[str, float] = field(default_factory=dict)
    slow_ids: Mapping[str, float] = field(default_factory=dict)
    slow_zones: Mapping[str, float] = field(default_factory=dict)
    slow_hazard: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        name = str(self.name or "").strip()
        if not name or len(name) > _NAME_MAX or "/" in name:
            raise BadScenario(reason_en=f"name {self.name!r} must be 1-{_NAME_MAX} characters without '/'",
                              reason_zh=f"名称 {self.name!r} 应为 1–{_NAME_MAX} 个字符且不含 '/'")
        object.__setattr__(self, "name", name)
        for attr in ("close_ids", "close_classes", "close_zones"):
            object.__setattr__(self, attr, _strings(getattr(self, attr)))
        object.__setattr__(self, "close_unpaved", bool(self.close_unpaved))
        object.__setattr__(self, "close_hazard", bool(self.close_hazard))
        for attr, what in (("slow_classes", "slow class"), ("slow_ids", "slow road"), ("slow_zones", "slow zone")):
            object.__setattr__(self, attr, _factors(getattr(self, attr), what=what))
        if self.slow_hazard is not None:
            object.__setattr__(self, "slow_hazard", _factor(self.slow_hazard, what="slow hazard"))
        object.__setattr__(self, "description", str(self.description or ""))

    @property
    def is_empty(self) -> bool:
        """True when the scenario changes nothing."""
        return not (self.close_ids or self.close_classes or self.close_unpaved or self.close_hazard
                    or self.close_zones or self.slow_classes or self.slow_ids or self.slow_zones
                    or self.slow_hazard is not None)

    @property
    def needs_zones(self) -> bool:
        """True when applying it reads the constraints layer."""
        return bool(self.close_hazard or self.close_zones or self.slow_zones or self.slow_hazard is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "description": self.description,
            "close_ids": list(self.close_ids), "close_classes": list(self.close_classes),
            "close_unpaved": self.close_unpaved, "close_hazard": self.close_hazard,
            "close_zones": list(self.close_zones),
            "slow_classes": dict(sorted(self.slow_classes.items())), "slow_ids": dict(sorted(self.slow_ids.items())),
            "slow_zones": dict(sorted(self.slow_zones.items())), "slow_hazard": self.slow_hazard,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NetworkScenario:
        """Inverse of :meth:`to_dict`; unknown keys are an error (a typo must not pass silently)."""
        if not isinstance(data, Mapping):
            raise BadScenario(reason_en="a scenario must be an object", reason_zh="情景应为对象")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadScenario(reason_en=f"unknown keys {unknown}; expected {sorted(known)}",
                              reason_zh=f"未知字段 {unknown}；应为 {sorted(known)}")
        return cls(**dict(data))

    def describe(self, lang: str = "en", *, class_label=None) -> str:
        """One line saying what the scenario does (zh or en); ``class_label(code)`` names a road
        class for people (e.g. ``county`` → 县道), codes as they are without it."""
        zh = str(lang).lower().startswith("zh")
        name = class_label or str
        parts = []
        if self.close_classes:
            parts.append(("封闭等级 " if zh else "close class ") + ",".join(name(c) for c in self.close_classes))
        if self.close_unpaved:
            parts.append("封闭未硬化道路（汛期）" if zh else "close unpaved roads (rainy season)")
        if self.close_hazard:
            parts.append("封闭穿越灾害隐患区的道路" if zh else "close roads crossing hazard zones")
        if self.close_zones:
            parts.append(("封闭穿越管控区 " if zh else "close roads crossing zones ") + ",".join(self.close_zones))
        if self.close_ids:
            parts.append(("封闭道路 " if zh else "close roads ") + ",".join(self.close_ids[:5])
                         + ("…" if len(self.close_ids) > 5 else ""))
        for label_zh, label_en, mapping, key in (("减速等级", "slow class", self.slow_classes, name),
                                                 ("减速道路", "slow road", self.slow_ids, str),
                                                 ("减速管控区", "slow zone", self.slow_zones, str)):
            if mapping:
                parts.append(f"{label_zh if zh else label_en} "
                             + ",".join(f"{key(k)}×{v:g}" for k, v in mapping.items()))
        if self.slow_hazard is not None:
            parts.append(f"灾害隐患区道路 ×{self.slow_hazard:g}" if zh
                          else f"roads crossing hazard zones ×{self.slow_hazard:g}")
        return "；".join(parts) if zh else "; ".join(parts)


@dataclass(frozen=True, eq=False)
class ScenarioApplied:
    """Result of :func:`apply_scenario`.

    Attributes
    ----------
    roads : GeoDataFrame
        The roads left open, with a ``speed_factor`` column (1.0 when not slowed).
    closed_ids : tuple of str
        ``id`` of every closed road.
    closed_km, slowed_km : float
        Length of the closed / slowed roads (km, in a metric CRS).
    slowed : int
        Number of slowed (open) roads.
    unknown_ids, unknown_zones : tuple of str
        Ids in the scenario not found in the roads / constraints layers.
    hazard_zones : int
        Number of hazard zones found (for ``close_hazard``/``slow_hazard``).
    """

    scenario: NetworkScenario
    roads: Any
    closed_ids: tuple[str, ...]
    closed_km: float
    slowed: int
    slowed_km: float
    unknown_ids: tuple[str, ...]
    unknown_zones: tuple[str, ...]
    hazard_zones: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.to_dict(),
            "roads_open": len(self.roads), "roads_closed": len(self.closed_ids),
            "closed_ids": list(self.closed_ids), "closed_km": round(self.closed_km, 3),
            "roads_slowed": int(self.slowed), "slowed_km": round(self.slowed_km, 3),
            "unknown_ids": list(self.unknown_ids), "unknown_zones": list(self.unknown_zones),
            "hazard_zones": int(self.hazard_zones),
        }


def _road_ids(roads) -> np.ndarray:
    col = roads["id"] if "id" in roads.columns else pd.Series(roads.index, index=roads.index)
    return np.array([str(x) for x in col.tolist()], dtype=object)


def _crossing(roads, zones) -> np.ndarray:
    """Boolean matrix-free answer: for each zone row, which roads intersect it → (road, zone) pairs."""
    if zones is None or len(zones) == 0 or len(roads) == 0:
        return np.zeros((2, 0), dtype=np.int64)
    zones = zones.to_crs(roads.crs) if zones.crs is not None and roads.crs is not None else zones
    tree = shapely.STRtree(roads.geometry.to_numpy())
    zi, ri = tree.query(zones.geometry.to_numpy(), predicate="intersects")
    return np.vstack([ri, zi])


def _lengths_km(roads, mask: np.ndarray) -> float:
    if not mask.any():
        return 0.0
    sub = roads[mask]
    try:
        if sub.crs is not None and not sub.crs.is_projected:
            sub = sub.to_crs(sub.estimate_utm_crs())
    except Exception:  # noqa: BLE001 - a length for the report only; never fail the scenario on it
        return float("nan")
    return float(sub.geometry.length.sum() / 1000.0)


def apply_scenario(roads, scenario: NetworkScenario, *, zones=None) -> ScenarioApplied:
    """Close and slow roads of a roads layer as ``scenario`` says.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        The roads layer (``id``, ``road_class``, ``surface`` optional).
    scenario : NetworkScenario
    zones : geopandas.GeoDataFrame, optional
        The constraints layer (``id``, ``kind``); needed when the scenario uses
        zones (:attr:`NetworkScenario.needs_zones`); missing means no zones.

    Returns
    -------
    ScenarioApplied
        The open roads (input order, index kept) with ``speed_factor``.
    """
    n = len(roads)
    ids = _road_ids(roads)
    road_class = (roads["road_class"].astype(str).to_numpy() if "road_class" in roads.columns
                  else np.full(n, "other", dtype=object))
    surface = (roads["surface"].fillna("paved").astype(str).to_numpy() if "surface" in roads.columns
               else np.full(n, "paved", dtype=object))
    closed = np.isin(ids, list(scenario.close_ids)) | np.isin(road_class, list(scenario.close_classes))
    if scenario.close_unpaved:
        closed |= surface == "unpaved"
    factor = np.ones(n)
    for cls_name, f in scenario.slow_classes.items():
        factor = np.where(road_class == cls_name, np.minimum(factor, f), factor)
    for rid, f in scenario.slow_ids.items():
        factor = np.where(ids == rid, np.minimum(factor, f), factor)

    hazard_zones = 0
    unknown_zones: tuple[str, ...] = ()
    if scenario.needs_zones and zones is not None and len(zones):
        ri, zi = _crossing(roads, zones)
        zone_ids = _road_ids(zones)
        kind = zones["kind"].astype(str).to_numpy() if "kind" in zones.columns else np.full(len(zones), "")
        is_hazard = kind == HAZARD_KIND
        hazard_zones = int(is_hazard.sum())
        if scenario.close_hazard:
            closed[ri[is_hazard[zi]]] = True
        if scenario.close_zones:
            closed[ri[np.isin(zone_ids[zi], list(scenario.close_zones))]] = True
        if scenario.slow_hazard is not None:
            hit = ri[is_hazard[zi]]
            factor[hit] = np.minimum(factor[hit], scenario.slow_hazard)
        for zid, f in scenario.slow_zones.items():
            hit = ri[zone_ids[zi] == zid]
            factor[hit] = np.minimum(factor[hit], f)
        named = set(scenario.close_zones) | set(scenario.slow_zones)
        unknown_zones = tuple(sorted(named - set(zone_ids.tolist())))
    elif scenario.needs_zones:
        unknown_zones = tuple(sorted(set(scenario.close_zones) | set(scenario.slow_zones)))

    named_ids = set(scenario.close_ids) | set(scenario.slow_ids)
    unknown_ids = tuple(sorted(named_ids - set(ids.tolist())))
    slowed = ~closed & (factor < 1.0)
    out = roads[~closed].copy()
    out["speed_factor"] = factor[~closed]
    return ScenarioApplied(
        scenario=scenario, roads=out, closed_ids=tuple(ids[closed].tolist()),
        closed_km=_lengths_km(roads, closed), slowed=int(slowed.sum()), slowed_km=_lengths_km(roads, slowed),
        unknown_ids=unknown_ids, unknown_zones=unknown_zones, hazard_zones=hazard_zones,
    )
