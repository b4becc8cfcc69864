"""Coverage of one-to-one assistance pairings (结对帮扶) and suggestions to close gaps.

Rules (:class:`PairingRules`, defaults from current policy)
-----------------------------------------------------------
``resident_former_poor``, ``resident_settlement``, ``resident_demonstration``, ``resident_weak_org``
    Resident staff (驻村工作队 and/or 第一书记) for every former poor village, every
    relocation settlement of ``settlement_min_people`` (800) people or more, every
    demonstration village and every weak-party-organisation village.  *Which* resident
    staff is a per-rule setting (:attr:`PairingRules.resident_requirements`):
    ``"either"`` (a team or a first secretary), ``"team"``, ``"secretary"`` or
    ``"both"``.  Defaults follow the 2021 central guideline on sending first
    secretaries and work teams (《关于向重点乡村持续选派驻村第一书记和工作队的意见》):
    former poor and demonstration villages keep *both* a first secretary and a team,
    weak-organisation villages a first secretary, 800+ settlements a work team.
    ``"either"`` reproduces the looser reading "a team or a secretary".
``cadre_household``
    A responsible cadre (帮扶责任人) of the county for every monitored household
    (脱贫不稳定户, 边缘易致贫户, 突发严重困难户).

Pairings of units and enterprises (定点帮扶, 万企兴万村, 东西部协作, 后盾单位) are not a
coverage rule; they are counted per village and per town.

Data problems are reported, never raised (see :data:`PROBLEM_KINDS`).

Suggestions
-----------
Uncovered targets are assigned to helpers with spare capacity, exactly (maximum number
covered, then minimum total travel minutes; :func:`planner.assign.assign_with_capacities`):

* a village/settlement gap goes to an existing work team or first secretary below
  ``max_villages_per_team`` (``"extend_team"``) or to a backing unit (municipal or
  central, :attr:`PairingRules.dispatching_kinds`) below ``max_villages_per_unit``,
  which then dispatches a *new* team (``"dispatch_team"``).  With the policy default of
  one team per village, existing teams are full, so most village gaps become
  "a new team from the nearest backing unit with room" — which is how counties staff
  them in practice (派出单位 send the first secretary and team members);
* a household gap goes to a local cadre below ``max_households_per_cadre``
  (``"assign_cadre"``).

Helpers whose base is unknown have unknown travel; by default they are *not* used in
suggestions (``unknown_base_penalty_min=None``) because a suggestion should be
checkable on the map; set a penalty in minutes to use them anyway, after every helper
with a known base.  Targets left open get a reason: ``"no_capacity"`` (helpers that
could reach it are all full, or none has room at all) or ``"unreachable"`` (no helper
with room has a known, finite travel time to it, or the target has no location).  A
target whose location is off the road network gets ``"unreachable"`` with the one
off-network reason of every network output (``network_reason``: ``too_far_from_road``,
``disconnected_component``, ``scenario_blocked``… from :func:`planner.travel.point_reasons`,
through the caller's ``off_network``) and its distances, rather than a pairing-only wording.

Travel times come from the caller so this module stays pure: a callable
``travel_min(origins, destinations) -> array (n_origins, n_destinations)`` taking two
GeoDataFrames with an ``id`` column (e.g. wrapping
:func:`planner.travel.travel_time_matrix`), or a precomputed DataFrame indexed by helper
id with one column per target location (``"village:<code>"``, ``"settlement:<id>"``).
``inf`` means unreachable, NaN unknown.
"""
from __future__ import annotations

import json
import string
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from geo.report import N_
from planner.assign import assign_with_capacities
from planner._json import records

__all__ = [
    "HOUSEHOLD_RULE",
    "PROBLEM_KINDS",
    "PROBLEM_MESSAGES",
    "PairingAnalysis",
    "PairingRules",
    "RESIDENT_RULES",
    "RULES",
    "analyse_pairings",
    "apply_suggestions",
    "build_pairing_graph",
    "helper_key",
    "location_key",
    "problem_detail",
    "straight_line_minutes",
]

RESIDENT_RULES = ("resident_former_poor", "resident_settlement", "resident_demonstration", "resident_weak_org")
HOUSEHOLD_RULE = "cadre_household"
RULES = (*RESIDENT_RULES, HOUSEHOLD_RULE)

#: What each rule requires of which target kind (English description for reports).
RULE_DESCRIPTIONS: Mapping[str, tuple[str, str]] = {
    "resident_former_poor": ("village", "work team or first secretary in every former poor village"),
    "resident_settlement": ("settlement", "work team or first secretary in every settlement of 800+ people"),
    "resident_demonstration": ("village", "work team or first secretary in every demonstration village"),
    "resident_weak_org": ("village", "work team or first secretary in every weak-party-organisation village"),
    "cadre_household": ("household", "a responsible cadre of the county for every monitored household"),
}

RESIDENT_KINDS = ("work_team", "first_secretary")
CADRE_KINDS = ("cadre",)
UNIT_KINDS = ("east_west", "central_unit", "enterprise", "municipal_unit")
HELPER_KIND_VALUES = (*UNIT_KINDS, *CADRE_KINDS, *RESIDENT_KINDS)
TARGET_KIND_VALUES = ("village", "household", "settlement")

#: Data problems reported by :func:`analyse_pairings`.
PROBLEM_KINDS: Mapping[str, str] = {
    "invalid_kind": "unknown helper kind or target kind; the pairing is ignored",
    "missing_target": "pairing without a target id; ignored",
    "unknown_target": "the target is not in the villages/households/settlements layers; ignored",
    "duplicate_pairing": "the same helper is paired with the same target more than once; counted once",
    "duplicate_id": "two pairings share an id; both are counted",
    "kind_mismatch": "this helper kind cannot cover this target kind (e.g. a cadre paired with a village); "
                     "not counted for coverage",
    "foreign_cadre": "a household is paired with a cadre of another county; not counted for coverage",
    "team_over_limit": "a work team or first secretary covers more villages/settlements than allowed; "
                       "still counted for coverage",
    "household_unknown_village": "a monitored household's village is not in the villages layer",
}

#: The detail of each data problem: an English template (the gettext msgid, marked
#: with :func:`geo.report.N_`) filled from the row's ``params``, as in
#: :class:`geo.report.Problem`.  Parameters ending in ``_kind`` are schema codes
#: (helper or target kinds) that a user interface shows by their labels.
PROBLEM_MESSAGES: Mapping[str, str] = {
    "invalid_kind": N_("helper kind {helper_kind}, target kind {target_kind}"),
    "missing_target": N_("no target id"),
    "unknown_target": N_("no {target_kind} with id {target_id}"),
    "duplicate_pairing": N_("same helper and target as an earlier pairing"),
    "duplicate_id": N_("id {pairing_id} is used more than once"),
    "kind_mismatch": N_("a {helper_kind} cannot cover a {target_kind}"),
    "foreign_cadre": N_("cadre of county {helper_county}, workspace county {home_county}"),
    "team_over_limit": N_("{load} villages/settlements, limit {limit}"),
    "household_unknown_village": N_("village code {village_code} is not in the villages layer"),
}

ACTIONS = ("extend_team", "extend_secretary", "dispatch_team", "dispatch_secretary", "assign_cadre")

#: What a resident rule requires; see the module docstring.
RESIDENT_REQUIREMENTS = ("either", "team", "secretary", "both")
DEFAULT_RESIDENT_REQUIREMENTS: Mapping[str, str] = MappingProxyType({
    "resident_former_poor": "both",
    "resident_settlement": "team",
    "resident_demonstration": "both",
    "resident_weak_org": "secretary",
})
#: Roles missing from a target, as written in ``gaps["missing"]``; "either" is one
#: need that a team or a secretary fills.
ROLE_TEAM, ROLE_SECRETARY, ROLE_EITHER = "work_team", "first_secretary", "work_team|first_secretary"
REASON_NO_CAPACITY = "no_capacity"
REASON_UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class PairingRules:
    """Coverage rules and limits, configurable per workspace.

    Parameters
    ----------
    settlement_min_people : int
        Settlements with at least this many people need a resident team (policy: 800).
    max_households_per_cadre : int
        Households one cadre may be responsible for.  Default 10: an assumption —
        county rules range from 5 (high-risk households) to about 10; cadres who also
        hold a full-time post cannot visit more households monthly.
    max_villages_per_team : int
        Villages/settlements one work team or first secretary may cover (policy: 1,
        one resident team per village).
    max_villages_per_unit : int
        Villages/settlements a backing unit may be responsible for, hence how many new
        teams it can still dispatch.  Default 3: an assumption (municipal backing units
        usually 包 1–3 villages).
    dispatching_kinds : tuple of str
        Helper kinds that can dispatch a new resident team (municipal backing units
        and designated central units; enterprises and east–west partners do not
        staff village teams).
    home_county_code : str, optional
        6-digit code of the county; default: the most common prefix of village codes.
        Cadres with another ``helper_county_code`` do not count.
    unknown_base_penalty_min : float, optional
        Travel minutes assumed for a helper without a known base in suggestions;
        None (default) leaves such helpers out of suggestions.
    max_travel_min : float, optional
        Suggestions farther than this are not made (target then "unreachable").
    resident_requirements : mapping, optional
        Per resident rule, ``"either"``, ``"team"``, ``"secretary"`` or ``"both"``;
        merged over :data:`DEFAULT_RESIDENT_REQUIREMENTS`.
    """

    settlement_min_people: int = 800
    max_households_per_cadre: int = 10
    max_villages_per_team: int = 1
    max_villages_per_unit: int = 3
    dispatching_kinds: tuple[str, ...] = ("municipal_unit", "central_unit")
    home_county_code: str | None = None
    unknown_base_penalty_min: float | None = None
    max_travel_min: float | None = None
    resident_requirements: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_RESIDENT_REQUIREMENTS)
        merged.update(dict(self.resident_requirements or {}))
        for rule, req in merged.items():
            if rule not in RESIDENT_RULES or req not in RESIDENT_REQUIREMENTS:
                msg = (f"resident_requirements: {rule!r}: {req!r} is not valid; rules are {RESIDENT_RULES}, "
                       f"requirements {RESIDENT_REQUIREMENTS}")
                raise ValueError(msg)
        object.__setattr__(self, "resident_requirements", MappingProxyType(merged))
        for name in ("settlement_min_people", "max_households_per_cadre", "max_villages_per_team",
                     "max_villages_per_unit"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                msg = f"{name} must be a non-negative integer, got {value!r}"
                raise ValueError(msg)
        object.__setattr__(self, "dispatching_kinds", tuple(self.dispatching_kinds))
        bad = [k for k in self.dispatching_kinds if k not in UNIT_KINDS]
        if bad:
            msg = f"dispatching_kinds must be unit kinds {UNIT_KINDS}, got {bad}"
            raise ValueError(msg)
        for name in ("unknown_base_penalty_min", "max_travel_min"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value >= 0):
                msg = f"{name} must be None or a finite number >= 0, got {value!r}"
                raise ValueError(msg)

    def __hash__(self) -> int:
        # the generated hash would choke on the requirements mapping
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        d = {name: getattr(self, name) for name in self.__dataclass_fields__}
        d["dispatching_kinds"] = list(self.dispatching_kinds)
        d["resident_requirements"] = dict(self.resident_requirements)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PairingRules:
        """Rules from a mapping (e.g. workspace metadata); unknown keys are ignored."""
        data = dict(data or {})
        known = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in known}
        if "dispatching_kinds" in kwargs:
            kwargs["dispatching_kinds"] = tuple(kwargs["dispatching_kinds"])
        return cls(**kwargs)

    def limit_for(self, helper_kind: str) -> int | None:
        """The load limit of a helper kind (None: no limit)."""
        if helper_kind in RESIDENT_KINDS:
            return self.max_villages_per_team
        if helper_kind in CADRE_KINDS:
            return self.max_households_per_cadre
        if helper_kind in self.dispatching_kinds:
            return self.max_villages_per_unit
        return None


# ----------------------------------------------------------------------------- helpers
def _text(values) -> np.ndarray:
    """Stripped strings as an object array, None for missing/empty (pandas 3 safe)."""
    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values.astype(object)
    out = []
    for v in s.to_numpy(dtype=object):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
            continue
        t = str(v).strip()
        out.append(t or None)
    return np.array(out, dtype=object)


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name in frame.columns:
        return _text(frame[name])
    return np.full(len(frame), None, dtype=object)


def _flag(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    col = frame[name].astype(object)
    out = []
    for v in col:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            out.append(False)
        elif isinstance(v, str):
            out.append(v.strip().lower() in {"1", "true", "yes", "y", "是", "t"})
        else:
            out.append(bool(v))
    return np.array(out, dtype=bool)


def _number(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name].astype(object), errors="coerce").to_numpy(dtype=float)


def _points(frame) -> list:
    """A representative point per row (None when there is no geometry)."""
    geom_name = getattr(frame, "_geometry_column_name", None)
    if geom_name is None or geom_name not in getattr(frame, "columns", ()):
        return [None] * len(frame)
    out = []
    for g in frame.geometry:
        if g is None or g.is_empty:
            out.append(None)
        elif g.geom_type == "Point":
            out.append(g)
        else:
            out.append(g.representative_point())
    return out


def helper_key(helper_id, helper_kind, helper_name) -> str:
    """Identity of a helper: its id, else ``"<kind>:<name>"``."""
    if helper_id:
        return str(helper_id)
    return f"{helper_kind}:{helper_name}"


def location_key(target_kind: str, target_id: str) -> str:
    """Key of a target location in travel matrices (households use their village)."""
    return f"{target_kind}:{target_id}"


def _share(covered: int, required: int) -> float | None:
    return covered / required if required else None


def straight_line_minutes(*, speed_kmh: float = 30.0, detour_factor: float = 1.4) -> Callable:
    """A ``travel_min`` callable from straight-line distance, for workspaces without roads.

    Minutes = great-circle distance x ``detour_factor`` / ``speed_kmh``.  An
    approximation (rural roads wind: 1.4 is a common circuity factor for hilly
    counties); prefer network times from :func:`planner.travel.travel_time_matrix`.
    """
    if speed_kmh <= 0 or detour_factor < 1:
        msg = f"speed_kmh must be > 0 and detour_factor >= 1, got {speed_kmh}, {detour_factor}"
        raise ValueError(msg)

    def travel(origins, destinations) -> np.ndarray:
        def lonlat(gdf):
            g = gdf.geometry
            if g.crs is not None and not g.crs.equals("EPSG:4326"):
                g = g.to_crs("EPSG:4326")
            xy = np.array([[p.x, p.y] if p is not None and not p.is_empty else [np.nan, np.nan] for p in g])
            return np.radians(xy.reshape(-1, 2))

        a, b = lonlat(origins), lonlat(destinations)
        dlon = b[None, :, 0] - a[:, None, 0]
        dlat = b[None, :, 1] - a[:, None, 1]
        h = np.sin(dlat / 2) ** 2 + np.cos(a[:, None, 1]) * np.cos(b[None, :, 1]) * np.sin(dlon / 2) ** 2
        km = 2 * 6371.0088 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
        return km * detour_factor / speed_kmh * 60.0

    return travel


# ----------------------------------------------------------------------------- graph
def build_pairing_graph(links: pd.DataFrame) -> nx.Graph:
    """Bipartite graph helpers (``bipartite=0``) ↔ targets (``bipartite=1``).

    Parameters
    ----------
    links : DataFrame
        One row per pairing with ``helper_key``, ``helper_kind``, ``helper_name``,
        ``target_kind``, ``target_id``, ``pairing_id`` (as in
        :attr:`PairingAnalysis.links`).

    Returns
    -------
    networkx.Graph
        Nodes ``("helper", key)`` and ``(target_kind, target_id)``; one edge per
        distinct helper–target pair with the pairing ids on it.
    """
    g = nx.Graph()
    for row in links.itertuples(index=False):
        h = ("helper", row.helper_key)
        t = (row.target_kind, row.target_id)
        if h not in g:
            g.add_node(h, bipartite=0, kind=row.helper_kind, name=row.helper_name)
        if t not in g:
            g.add_node(t, bipartite=1, kind=row.target_kind)
        if g.has_edge(h, t):
            g.edges[h, t]["pairing_ids"].append(row.pairing_id)
        else:
            g.add_edge(h, t, pairing_ids=[row.pairing_id])
    return g


# ----------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class PairingAnalysis:
    """Result of :func:`analyse_pairings`.

    Attributes
    ----------
    rules : PairingRules
    home_county_code : str or None
        The county code used for the foreign-cadre check.
    coverage : DataFrame
        Per rule: ``rule``, ``target_kind``, ``required``, ``covered``, ``gaps``, ``share``.
    coverage_by_town : DataFrame
        The same per ``town`` and rule.
    gaps : DataFrame
        ``rule``, ``target_kind``, ``target_id``, ``target_name``, ``town``, ``village_code``,
        ``missing`` (comma-separated roles: ``work_team``, ``first_secretary``,
        ``work_team|first_secretary`` for "either", ``cadre``).
    problems : DataFrame
        ``problem`` (a code of :data:`PROBLEM_KINDS`), ``pairing_id``, ``helper_key``,
        ``helper_name``, ``target_kind``, ``target_id``, ``message`` (English template of
        :data:`PROBLEM_MESSAGES`, the gettext msgid), ``params`` (its values) and
        ``detail`` (the template filled in, English).
    links : DataFrame
        Pairings to known targets (duplicates dropped): ``pairing_id``, ``helper_key``,
        ``helper_name``, ``helper_kind``, ``target_kind``, ``target_id``, ``counts``
        (True when it counts for coverage), ``minutes`` (travel from the base; NaN
        unknown, inf unreachable).
    workload : DataFrame
        Per helper: ``helper_key``, ``helper_name``, ``helper_kind``, ``county_code``,
        ``base_lon``, ``base_lat``, ``n_villages``, ``n_settlements``, ``n_households``,
        ``load``, ``limit``, ``spare``, ``over_limit``, ``travel_mean_min``,
        ``travel_max_min``, ``n_travel_unknown``, ``n_unreachable``, ``travel_status``
        (``"known"``, ``"partial"``, ``"unknown"`` when the base is unknown, ``"none"``).
    villages : DataFrame
        Per village: ``code``, ``name``, ``town``, ``resident_required`` (rules, comma
        separated), ``resident_covered``, ``households``, ``households_covered``,
        ``coverage_share`` (None when nothing is required), ``status``
        (``"not_required"``, ``"covered"``, ``"partial"``, ``"gap"``), ``n_units``.
    unit_counts_village, unit_counts_town : DataFrame
        Distinct unit/enterprise helpers per village and per town, one column per
        unit kind plus ``total``.
    suggestions : DataFrame
        One per filled need: ``suggestion_id``, ``rules``, ``target_kind``,
        ``target_id``, ``role`` (the missing role filled), ``target_name``, ``town``,
        ``helper_key``, ``helper_name``, ``helper_kind``, ``action`` (see
        :data:`ACTIONS`), ``minutes`` (NaN where the unknown-base penalty was used),
        ``penalised``.
    uncovered : DataFrame
        Needs the suggestions cannot fill: ``rules``, ``target_kind``, ``target_id``,
        ``role``, ``target_name``, ``town``, ``reason`` (``"no_capacity"`` or
        ``"unreachable"``), ``detail``, and for a target off the road network
        ``network_reason`` (the code of :func:`planner.travel.point_reasons`, ``""``
        when on the network), ``network_m`` and ``fragment_m`` (metres, NaN unknown).
    graph : networkx.Graph
        The bipartite pairing graph of counted links.
    """

    rules: PairingRules
    home_county_code: str | None
    coverage: pd.DataFrame
    coverage_by_town: pd.DataFrame
    gaps: pd.DataFrame
    problems: pd.DataFrame
    links: pd.DataFrame
    workload: pd.DataFrame
    villages: pd.DataFrame
    unit_counts_village: pd.DataFrame
    unit_counts_town: pd.DataFrame
    suggestions: pd.DataFrame
    uncovered: pd.DataFrame
    graph: nx.Graph = field(repr=False)
    #: helper key -> (lon, lat) or None, and target location key -> (lon, lat) or None
    helper_bases: Mapping[str, Any] = field(default_factory=dict, repr=False)
    target_points: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: helper key -> county code, for writing accepted suggestions
    helper_counties: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def coverage_of(self, rule: str) -> dict[str, Any]:
        """One rule's row of :attr:`coverage` as a dict."""
        rows = self.coverage[self.coverage["rule"] == rule]
        if not len(rows):
            msg = f"unknown rule {rule!r}; expected one of {RULES}"
            raise KeyError(msg)
        return records(rows)[0]

    def to_dict(self, *, include_households: bool = True) -> dict[str, Any]:
        """JSON-safe summary.

        Parameters
        ----------
        include_households : bool
            False drops household-level rows (gaps, problems, links, suggestions,
            uncovered) for users who may not see households; totals stay.
        """
        def keep(frame: pd.DataFrame) -> pd.DataFrame:
            if include_households or "target_kind" not in frame.columns:
                return frame
            return frame[frame["target_kind"] != "household"]

        return {
            "rules": self.rules.to_dict(),
            "home_county_code": self.home_county_code,
            "coverage": records(self.coverage),
            "coverage_by_town": records(self.coverage_by_town),
            "gaps": records(keep(self.gaps)),
            "problems": records(keep(self.problems)),
            "workload": records(self.workload),
            "villages": records(self.villages),
            "unit_counts_village": records(self.unit_counts_village),
            "unit_counts_town": records(self.unit_counts_town),
            "suggestions": records(keep(self.suggestions)),
            "uncovered": records(keep(self.uncovered)),
            "summary": {
                "n_pairings": int(len(self.links)),
                "n_helpers": int(len(self.workload)),
                "n_gaps": int(len(self.gaps)),
                "n_problems": int(len(self.problems)),
                "n_suggestions": int(len(self.suggestions)),
                "n_uncovered": int(len(self.uncovered)),
                "n_over_limit": int(self.workload["over_limit"].sum()) if len(self.workload) else 0,
            },
        }


# ----------------------------------------------------------------------------- analysis
def _infer_county(village_codes: Sequence[str]) -> str | None:
    prefixes = pd.Series([c[:6] for c in village_codes if c and len(c) >= 6], dtype=object)
    if not len(prefixes):
        return None
    return str(prefixes.value_counts().index[0])


class _TravelLookup:
    """Travel minutes for exactly the (helper, location) pairs the analysis asks for.

    The analysis needs the minutes of every existing link and, for suggestions, of
    helpers *with spare capacity* to the locations still short of staff: a thin slice
    of the helpers × locations matrix.  Computing the whole matrix grew with the
    product of the two (14,948 × 30,000 on a province, 8 GB); this asks ``travel_min``
    for blocks of at most :attr:`CHUNK` distinct bases at a time and only for the
    locations those bases need, so memory grows with the pairs used.  Helpers sharing a
    base (a team and a secretary living in the same village) share one row.
    """

    #: distinct helper bases per call of ``travel_min`` (bounds one block's memory)
    CHUNK = 256

    def __init__(self, travel_min, helper_bases: dict, target_points: dict, crs_helpers, crs_targets):
        if travel_min is not None and not isinstance(travel_min, pd.DataFrame) and not callable(travel_min):
            msg = "travel_min must be None, a DataFrame (helpers x locations) or a callable(origins, destinations)"
            raise TypeError(msg)
        self.frame = None
        if isinstance(travel_min, pd.DataFrame):
            frame = travel_min.copy()
            frame.index = frame.index.astype(object).map(str)
            frame.columns = frame.columns.astype(object).map(str)
            self.frame = frame
        self.travel_min = travel_min
        self.helper_bases = helper_bases
        self.target_points = target_points
        self.crs_helpers, self.crs_targets = crs_helpers, crs_targets

    def _base(self, hk):
        p = self.helper_bases.get(hk)
        return None if p is None else (p.x, p.y)

    def _from_frame(self, hks, locs) -> np.ndarray:
        ri = self.frame.index.get_indexer(pd.Index(hks, dtype=object))
        ci = self.frame.columns.get_indexer(pd.Index(["" if x is None else x for x in locs], dtype=object))
        ci = np.where([x is not None and x in self.target_points for x in locs], ci, -1) if len(locs) else ci
        # the matrix only answers for helpers whose base is known
        ri = np.where([self._base(k) is not None for k in hks], ri, -1) if len(hks) else ri
        return ri, ci

    def _call(self, bases: list, locs: list) -> np.ndarray:
        """``travel_min`` for distinct bases × distinct located locations, float (n, m)."""
        import geopandas as gpd

        origins = gpd.GeoDataFrame({"id": [f"o{i}" for i in range(len(bases))]},
                                   geometry=gpd.points_from_xy([b[0] for b in bases], [b[1] for b in bases]),
                                   crs=self.crs_helpers)
        dests = gpd.GeoDataFrame({"id": list(locs)}, geometry=[self.target_points[k] for k in locs],
                                 crs=self.crs_targets)
        minutes = np.asarray(self.travel_min(origins, dests), dtype=float)
        if minutes.shape != (len(bases), len(locs)):
            msg = f"travel_min returned shape {minutes.shape}, expected {(len(bases), len(locs))}"
            raise ValueError(msg)
        return minutes

    def block(self, hks: Sequence[str], locs: Sequence[str | None]) -> np.ndarray:
        """Minutes, shape ``(len(hks), len(locs))``; NaN where unknown (no base, no location)."""
        out = np.full((len(hks), len(locs)), np.nan)
        if self.travel_min is None or not len(hks) or not len(locs):
            return out
        if self.frame is not None:
            ri, ci = self._from_frame(hks, locs)
            rows, cols = np.flatnonzero(ri >= 0), np.flatnonzero(ci >= 0)
            if len(rows) and len(cols):
                out[np.ix_(rows, cols)] = self.frame.to_numpy(dtype=float)[np.ix_(ri[rows], ci[cols])]
            return out
        located = [loc for loc in dict.fromkeys(locs) if loc is not None and loc in self.target_points]
        if not located:
            return out
        col_of = {loc: j for j, loc in enumerate(located)}
        cols = np.array([col_of.get(loc, -1) for loc in locs])
        base_rows: dict[tuple, list[int]] = {}
        for a, hk in enumerate(hks):
            b = self._base(hk)
            if b is not None:
                base_rows.setdefault(b, []).append(a)
        bases = list(base_rows)
        ok = cols >= 0
        for start in range(0, len(bases), self.CHUNK):
            chunk = bases[start:start + self.CHUNK]
            minutes = self._call(chunk, located)
            for i, b in enumerate(chunk):
                out[np.ix_(base_rows[b], np.flatnonzero(ok))] = minutes[i, cols[ok]]
        return out

    def pairs(self, hks: Sequence[str], locs: Sequence[str | None]) -> np.ndarray:
        """Minutes of aligned pairs ``(hks[i], locs[i])``, shape ``(n,)``; NaN where unknown."""
        n = len(hks)
        out = np.full(n, np.nan)
        if self.travel_min is None or not n:
            return out
        if self.frame is not None:
            ri, ci = self._from_frame(hks, locs)
            ok = (ri >= 0) & (ci >= 0)
            out[ok] = self.frame.to_numpy(dtype=float)[ri[ok], ci[ok]]
            return out
        wanted: dict[tuple, dict[str, list[int]]] = {}
        for i, (hk, loc) in enumerate(zip(hks, locs)):
            b = self._base(hk)
            if b is not None and loc is not None and loc in self.target_points:
                wanted.setdefault(b, {}).setdefault(loc, []).append(i)
        bases = list(wanted)
        for start in range(0, len(bases), self.CHUNK):
            chunk = bases[start:start + self.CHUNK]
            located = list(dict.fromkeys(loc for b in chunk for loc in wanted[b]))
            col_of = {loc: j for j, loc in enumerate(located)}
            minutes = self._call(chunk, located)
            for r, b in enumerate(chunk):
                for loc, idx in wanted[b].items():
                    out[idx] = minutes[r, col_of[loc]]
        return out


def analyse_pairings(
    villages: pd.DataFrame,
    households: pd.DataFrame,
    settlements: pd.DataFrame,
    pairings: pd.DataFrame,
    *,
    rules: PairingRules | None = None,
    travel_min: Callable | pd.DataFrame | None = None,
    off_network: Callable | None = None,
) -> PairingAnalysis:
    """Coverage of the pairing rules, data problems, workload and gap-closing suggestions.

    Parameters
    ----------
    villages, households, settlements, pairings : DataFrame or GeoDataFrame
        Layers as in :mod:`layers.schema` (``VILLAGES``, ``HOUSEHOLDS``,
        ``RELOCATION_SETTLEMENTS``, ``PAIRINGS``).  Pairing geometries are the helpers'
        bases; village points and settlement geometries are the target locations
        (a household is located at its village).
    rules : PairingRules, optional
        Defaults to ``PairingRules()``.
    travel_min : callable or DataFrame, optional
        Travel minutes from helper bases to target locations (see the module
        docstring).  None: travel unknown (no travel burden, suggestions only with
        ``rules.unknown_base_penalty_min``).
    off_network : callable, optional
        ``off_network(targets, helpers) -> DataFrame`` indexed by target ``id`` with
        ``reason``, ``network_m``, ``fragment_m``: why each target location (GeoDataFrame
        ``id`` = ``"village:<code>"``/``"settlement:<id>"``) is off the road network
        against the known helper bases (GeoDataFrame ``id`` = helper key), by the
        same rule as every network output (e.g. :func:`planner.snap.snap_points` +
        :func:`planner.travel.point_reasons` on the graph ``travel_min`` uses).  Needs
        left open there are ``"unreachable"`` with that ``network_reason``.

    Returns
    -------
    PairingAnalysis
    """
    rules = rules or PairingRules()
    targets = _Targets(villages, households, settlements)
    home = rules.home_county_code or _infer_county([c for c in targets.v_code if c])
    problems = _Problems()
    _check_households(targets, problems)
    links_df, helper_bases, helper_meta = _read_pairings(pairings, targets, home, problems)

    crs_h = getattr(pairings, "crs", None) or "EPSG:4326"
    crs_t = getattr(villages, "crs", None) or getattr(settlements, "crs", None) or "EPSG:4326"
    travel = _TravelLookup(travel_min, helper_bases, targets.points, crs_h, crs_t)
    links_df["minutes"] = travel.pairs(list(links_df["helper_key"]), list(links_df["location"]))

    def reasons_of(keys) -> dict:
        # asked only for the locations of needs left to fill (snapping every target is wasted
        # when the pairings cover them)
        return _location_reasons(off_network, {k: targets.points[k] for k in keys if k in targets.points},
                                 helper_bases, crs_t, crs_h)

    staffing = _Staffing(links_df, rules)
    req = _requirements(targets, staffing, rules)
    coverage, coverage_by_town, gaps = _coverage(req)
    graph = build_pairing_graph(links_df)
    workload = _workload(links_df, helper_meta, helper_bases, rules, problems)
    unit_counts_village, unit_counts_town = _unit_counts(links_df, targets)
    village_status = _village_status(targets, staffing, unit_counts_village)
    suggestions, uncovered = _suggest(gaps, workload, helper_bases, travel, rules, targets.location, home,
                                      reasons_of)

    return PairingAnalysis(
        rules=rules, home_county_code=home, coverage=coverage, coverage_by_town=coverage_by_town, gaps=gaps,
        problems=problems.frame(), links=links_df,
        workload=workload, villages=village_status, unit_counts_village=unit_counts_village,
        unit_counts_town=unit_counts_town, suggestions=suggestions, uncovered=uncovered, graph=graph,
        helper_bases={k: (None if p is None else (p.x, p.y)) for k, p in helper_bases.items()},
        target_points={k: (p.x, p.y) for k, p in targets.points.items()},
        helper_counties={k: m["county_code"] for k, m in helper_meta.items()},
    )


class _Targets:
    """The villages, households and settlements as columns, with id lookups."""

    def __init__(self, villages: pd.DataFrame, households: pd.DataFrame, settlements: pd.DataFrame):
        self.v_code = _column(villages, "code")
        self.v_name = _column(villages, "name")
        self.v_town = _column(villages, "town")
        self.v_pts = _points(villages)
        #: resident rule -> which villages it applies to
        self.v_flags = {
            "resident_former_poor": _flag(villages, "former_poor"),
            "resident_demonstration": _flag(villages, "demonstration"),
            "resident_weak_org": _flag(villages, "weak_org"),
        }
        self.village_index = {c: i for i, c in enumerate(self.v_code) if c is not None}

        self.h_id = _column(households, "id")
        self.h_village = _column(households, "village_code")
        self.household_index = {h: i for i, h in enumerate(self.h_id) if h is not None}

        self.s_id = _column(settlements, "id")
        self.s_name = _column(settlements, "name")
        self.s_town = _column(settlements, "town")
        self.s_people = _number(settlements, "people")
        self.s_pts = _points(settlements)
        self.settlement_index = {s: i for i, s in enumerate(self.s_id) if s is not None}

        #: location key -> representative point, for every located village and settlement
        self.points: dict[str, Any] = {}
        for i, c in enumerate(self.v_code):
            if c is not None and self.v_pts[i] is not None:
                self.points[location_key("village", c)] = self.v_pts[i]
        for i, s in enumerate(self.s_id):
            if s is not None and self.s_pts[i] is not None:
                self.points[location_key("settlement", s)] = self.s_pts[i]

    def index_of(self, kind: str) -> dict[str, int]:
        return {"village": self.village_index, "household": self.household_index,
                "settlement": self.settlement_index}[kind]

    def info(self, kind: str, tid: str) -> tuple[str | None, str | None, str | None]:
        """(name, town, village_code) of a target."""
        if kind == "village":
            i = self.village_index[tid]
            return self.v_name[i], self.v_town[i], tid
        if kind == "settlement":
            i = self.settlement_index[tid]
            return self.s_name[i], self.s_town[i], None
        vc = self.h_village[self.household_index[tid]]
        town = self.v_town[self.village_index[vc]] if vc in self.village_index else None
        return None, town, vc

    def location(self, kind: str, tid: str) -> str | None:
        """The location key of a target (a household's is its village's), None when unlocated."""
        if kind == "village":
            return location_key("village", tid) if self.v_pts[self.village_index[tid]] is not None else None
        if kind == "settlement":
            return location_key("settlement", tid) if self.s_pts[self.settlement_index[tid]] is not None else None
        vc = self.h_village[self.household_index[tid]]
        if vc in self.village_index and self.v_pts[self.village_index[vc]] is not None:
            return location_key("village", vc)
        return None


class _Problems:
    """Collects data problems as rows of :attr:`PairingAnalysis.problems`."""

    COLUMNS = ["problem", "pairing_id", "helper_key", "helper_name", "target_kind", "target_id", "detail",
               "message", "params"]

    def __init__(self):
        self.rows: list[dict[str, Any]] = []

    def add(self, code: str, *, pairing_id=None, helper=None, helper_name=None, target_kind=None, target_id=None,
            **params) -> None:
        message = PROBLEM_MESSAGES[code]
        # the template may name the row's own columns too; params carry every value it uses
        known = {"pairing_id": pairing_id, "helper_key": helper, "helper_name": helper_name,
                 "target_kind": target_kind, "target_id": target_id, **params}
        used = {name for _text, name, _spec, _conv in string.Formatter().parse(message) if name}
        params = {name: known[name] for name in sorted(used)}
        self.rows.append({"problem": code, "pairing_id": pairing_id, "helper_key": helper,
                          "helper_name": helper_name, "target_kind": target_kind, "target_id": target_id,
                          "detail": problem_detail(message, params), "message": message, "params": params})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.COLUMNS)


def problem_detail(message: str, params: Mapping[str, Any], translate: Callable[[str], str] = lambda s: s) -> str:
    """A problem's detail: the (translated) template filled with its values (None as "–")."""
    values = {k: "–" if v is None else v for k, v in params.items()}
    return translate(message).format(**values)


def _check_households(targets: _Targets, problems: _Problems) -> None:
    for i, vc in enumerate(targets.h_village):
        if targets.h_id[i] is not None and vc not in targets.village_index:
            problems.add("household_unknown_village", target_kind="household", target_id=targets.h_id[i],
                         village_code=vc)


def _read_pairings(pairings: pd.DataFrame, targets: _Targets, home: str | None, problems: _Problems):
    """Check every pairing row; return the links to known targets, helper bases and helper facts.

    Returns
    -------
    (DataFrame, dict, dict)
        The links (see :attr:`PairingAnalysis.links`, without ``minutes``), helper key ->
        base point (None when unknown) and helper key -> ``helper_name``, ``helper_kind``,
        ``county_code``.
    """
    p_id = _column(pairings, "id")
    p_hid = _column(pairings, "helper_id")
    p_hname = _column(pairings, "helper_name")
    p_hkind = _column(pairings, "helper_kind")
    p_county = _column(pairings, "helper_county_code")
    p_tkind = _column(pairings, "target_kind")
    p_tid = _column(pairings, "target_id")
    p_pts = _points(pairings)

    helper_bases: dict[str, Any] = {}
    helper_meta: dict[str, dict[str, Any]] = {}
    seen_ids: set[str] = set()
    seen_pairs: set[tuple[str, str, str]] = set()
    links: list[dict[str, Any]] = []
    for i in range(len(pairings)):
        pid = p_id[i] if p_id[i] is not None else f"row{i + 1}"
        hkind, tkind, tid = p_hkind[i], p_tkind[i], p_tid[i]
        hkey = helper_key(p_hid[i], hkind, p_hname[i])
        ctx = {"pairing_id": pid, "helper": hkey, "helper_name": p_hname[i], "target_kind": tkind,
               "target_id": tid}
        if p_id[i] is not None:
            if pid in seen_ids:
                problems.add("duplicate_id", **ctx)
            seen_ids.add(pid)
        if hkind not in HELPER_KIND_VALUES or tkind not in TARGET_KIND_VALUES:
            problems.add("invalid_kind", **ctx, helper_kind=hkind)
            continue
        # the helper exists even if this row turns out unusable: it shows in the workload
        meta = helper_meta.setdefault(hkey, {"helper_name": p_hname[i], "helper_kind": hkind,
                                             "county_code": p_county[i]})
        if meta["county_code"] is None and p_county[i] is not None:
            meta["county_code"] = p_county[i]
        if helper_bases.get(hkey) is None:
            helper_bases[hkey] = p_pts[i]
        if tid is None:
            problems.add("missing_target", **ctx)
            continue
        if tid not in targets.index_of(tkind):
            problems.add("unknown_target", **ctx)
            continue
        if (hkey, tkind, tid) in seen_pairs:
            problems.add("duplicate_pairing", **ctx)
            continue
        seen_pairs.add((hkey, tkind, tid))
        counts = True
        if (hkind in RESIDENT_KINDS and tkind == "household") or (hkind in CADRE_KINDS and tkind != "household") \
                or (hkind in UNIT_KINDS and tkind == "household"):
            problems.add("kind_mismatch", **ctx, helper_kind=hkind)
            counts = False
        if hkind in CADRE_KINDS and p_county[i] is not None and home is not None and p_county[i][:6] != home:
            problems.add("foreign_cadre", **ctx, helper_county=p_county[i], home_county=home)
            counts = False
        links.append({"pairing_id": pid, "helper_key": hkey, "helper_name": p_hname[i], "helper_kind": hkind,
                      "target_kind": tkind, "target_id": tid, "counts": counts,
                      "location": targets.location(tkind, tid)})

    link_cols = ["pairing_id", "helper_key", "helper_name", "helper_kind", "target_kind", "target_id", "counts",
                 "location"]
    links_df = pd.DataFrame(links, columns=link_cols).astype(object)
    for hk in helper_meta:
        helper_bases.setdefault(hk, None)
    return links_df, helper_bases, helper_meta


class _Staffing:
    """Which targets the counted links staff, and what each resident rule still lacks."""

    def __init__(self, links_df: pd.DataFrame, rules: PairingRules):
        counted = links_df[links_df["counts"].astype(bool)]

        def staffed(kind: str) -> set:
            sub = counted[counted["helper_kind"] == kind]
            return set(zip(sub["target_kind"], sub["target_id"]))

        self.rules = rules
        self.with_team, self.with_secretary = staffed("work_team"), staffed("first_secretary")
        self.cadre_covered = set(counted.loc[counted["helper_kind"].isin(CADRE_KINDS), "target_id"])

    def resident_missing(self, rule: str, target: tuple[str, str]) -> str:
        """Roles the target lacks under ``rule`` ("" when the rule is met)."""
        req = self.rules.resident_requirements[rule]
        t, sec = target in self.with_team, target in self.with_secretary
        if req == "either":
            return "" if t or sec else ROLE_EITHER
        missing = []
        if req in ("team", "both") and not t:
            missing.append(ROLE_TEAM)
        if req in ("secretary", "both") and not sec:
            missing.append(ROLE_SECRETARY)
        return ",".join(missing)


def _requirements(targets: _Targets, staffing: _Staffing, rules: PairingRules) -> pd.DataFrame:
    """One row per (rule, target that the rule applies to): covered or not, what is missing, where."""
    required: list[dict[str, Any]] = []
    for rule, flags in targets.v_flags.items():
        for i in np.flatnonzero(flags):
            if targets.v_code[i] is None:
                continue
            missing = staffing.resident_missing(rule, ("village", targets.v_code[i]))
            required.append({"rule": rule, "target_kind": "village", "target_id": targets.v_code[i],
                             "covered": not missing, "missing": missing})
    for i in np.flatnonzero(np.nan_to_num(targets.s_people, nan=-1) >= rules.settlement_min_people):
        if targets.s_id[i] is None:
            continue
        missing = staffing.resident_missing("resident_settlement", ("settlement", targets.s_id[i]))
        required.append({"rule": "resident_settlement", "target_kind": "settlement", "target_id": targets.s_id[i],
                         "covered": not missing, "missing": missing})
    for h in targets.h_id:
        if h is None:
            continue
        covered = h in staffing.cadre_covered
        required.append({"rule": HOUSEHOLD_RULE, "target_kind": "household", "target_id": h,
                         "covered": covered, "missing": "" if covered else "cadre"})
    req = pd.DataFrame(required, columns=["rule", "target_kind", "target_id", "covered", "missing"]).astype(object)
    info = [targets.info(k, t) for k, t in zip(req["target_kind"], req["target_id"])]
    req["target_name"] = [x[0] for x in info]
    req["town"] = [x[1] for x in info]
    req["village_code"] = [x[2] for x in info]
    req["covered"] = req["covered"].astype(bool)
    return req


def _summarise(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Required/covered/gaps/share per rule, per group of ``by`` (all rules when ungrouped)."""
    rows = []
    keys = frame[by].drop_duplicates().itertuples(index=False) if by else [()]
    for key in keys:
        sub = frame
        for col, val in zip(by, key):
            sub = sub[sub[col].isna()] if val is None or val is pd.NA else sub[sub[col] == val]
        for rule in RULES:
            r = sub[sub["rule"] == rule]
            n, c = len(r), int(r["covered"].sum())
            if by and n == 0:
                continue
            rows.append({**dict(zip(by, key)), "rule": rule, "target_kind": RULE_DESCRIPTIONS[rule][0],
                         "required": n, "covered": c, "gaps": n - c, "share": _share(c, n)})
    cols = [*by, "rule", "target_kind", "required", "covered", "gaps", "share"]
    out = pd.DataFrame(rows, columns=cols)
    return out.astype({"required": "int64", "covered": "int64", "gaps": "int64"}) if len(out) else out


def _coverage(req: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Coverage per rule, per town and rule, and the gaps (the requirements not met)."""
    coverage = _summarise(req, [])
    town_req = req.assign(town=req["town"].map(lambda t: t if t is not None else ""))
    coverage_by_town = _summarise(town_req, ["town"])
    if len(coverage_by_town):
        coverage_by_town = coverage_by_town.sort_values(["town", "rule"], key=lambda s: s.map(
            lambda v: RULES.index(v) if v in RULES else v) if s.name == "rule" else s).reset_index(drop=True)
    gaps = req.loc[~req["covered"], ["rule", "target_kind", "target_id", "target_name", "town", "village_code",
                                     "missing"]]
    return coverage, coverage_by_town, gaps.reset_index(drop=True)


def _workload(links_df: pd.DataFrame, helper_meta: dict, helper_bases: dict, rules: PairingRules,
              problems: _Problems) -> pd.DataFrame:
    """Per helper: load against its limit and travel burden; resident staff over the limit are problems."""
    wl_rows = []
    by_helper = {k: np.asarray(v) for k, v in links_df.groupby("helper_key", sort=False).indices.items()}
    l_tkind = links_df["target_kind"].to_numpy(dtype=object)
    l_min = links_df["minutes"].to_numpy(dtype=float)
    for hk, meta in helper_meta.items():
        mine = by_helper.get(hk, np.zeros(0, dtype=np.int64))
        n_v = int((l_tkind[mine] == "village").sum())
        n_s = int((l_tkind[mine] == "settlement").sum())
        n_h = int((l_tkind[mine] == "household").sum())
        kind = meta["helper_kind"]
        limit = rules.limit_for(kind)
        load = n_h if kind in CADRE_KINDS else n_v + n_s
        t = l_min[mine]
        finite = t[np.isfinite(t)]
        base = helper_bases.get(hk)
        wl_rows.append({
            "helper_key": hk, "helper_name": meta["helper_name"], "helper_kind": kind,
            "county_code": meta["county_code"],
            "base_lon": base.x if base is not None else None, "base_lat": base.y if base is not None else None,
            "n_villages": n_v, "n_settlements": n_s, "n_households": n_h, "load": load, "limit": limit,
            "spare": max(0, limit - load) if limit is not None else None,
            # a unit's limit is only its room to staff more villages: a central unit
            # backing every key village is normal, not an overload
            "over_limit": bool(limit is not None and load > limit and kind not in UNIT_KINDS),
            "travel_mean_min": float(finite.mean()) if len(finite) else None,
            "travel_max_min": float(finite.max()) if len(finite) else None,
            "n_travel_unknown": int(np.isnan(t).sum()),
            "n_unreachable": int(np.isinf(t).sum()),
            # "unknown" when the base is unknown: travel burden cannot be judged
            "travel_status": "unknown" if base is None else "none" if not len(t)
            else "known" if not np.isnan(t).any() else "partial",
        })
        if kind in RESIDENT_KINDS and limit is not None and load > limit:
            problems.add("team_over_limit", helper=hk, helper_name=meta["helper_name"], load=load, limit=limit)
    wl_cols = ["helper_key", "helper_name", "helper_kind", "county_code", "base_lon", "base_lat", "n_villages",
               "n_settlements", "n_households", "load", "limit", "spare", "over_limit", "travel_mean_min",
               "travel_max_min", "n_travel_unknown", "n_unreachable", "travel_status"]
    workload = pd.DataFrame(wl_rows, columns=wl_cols)
    if len(workload):
        workload = workload.sort_values(["over_limit", "load"], ascending=[False, False], kind="stable")
        workload = workload.reset_index(drop=True)
    return workload


def _unit_counts(links_df: pd.DataFrame, targets: _Targets) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distinct unit/enterprise helpers per village and per town (one column per unit kind)."""
    units = links_df[links_df["helper_kind"].isin(UNIT_KINDS)]
    unit_v = units[units["target_kind"] == "village"]
    per_kind = (unit_v.groupby(["target_id", "helper_kind"])["helper_key"].nunique().to_dict()
                if len(unit_v) else {})
    per_village = unit_v.groupby("target_id")["helper_key"].nunique().to_dict() if len(unit_v) else {}
    uc_rows = []
    for i, code in enumerate(targets.v_code):
        if code is None:
            continue
        row = {"village_code": code, "name": targets.v_name[i], "town": targets.v_town[i]}
        for k in UNIT_KINDS:
            row[k] = int(per_kind.get((code, k), 0))
        row["total"] = int(per_village.get(code, 0))
        uc_rows.append(row)
    unit_counts_village = pd.DataFrame(uc_rows, columns=["village_code", "name", "town", *UNIT_KINDS, "total"])

    town_of = {
        ("village", c): targets.v_town[i] for i, c in enumerate(targets.v_code) if c is not None
    } | {("settlement", s): targets.s_town[i] for i, s in enumerate(targets.s_id) if s is not None}
    ut_rows: dict[str, dict[str, Any]] = {}
    for t in sorted({x for x in targets.v_town if x is not None} | {x for x in targets.s_town if x is not None}):
        ut_rows[t] = {"town": t, **{k: 0 for k in UNIT_KINDS}, "total": 0, "villages_with_unit": 0}
    for t, sub in units.assign(town=[town_of.get((k, x)) for k, x in zip(units["target_kind"], units["target_id"])]
                               ).groupby("town", dropna=True):
        row = ut_rows.setdefault(t, {"town": t, **{k: 0 for k in UNIT_KINDS}, "total": 0, "villages_with_unit": 0})
        for k in UNIT_KINDS:
            row[k] = int(sub.loc[sub["helper_kind"] == k, "helper_key"].nunique())
        row["total"] = int(sub["helper_key"].nunique())
    for row in uc_rows:
        if row["total"] and row["town"] in ut_rows:
            ut_rows[row["town"]]["villages_with_unit"] += 1
    unit_counts_town = pd.DataFrame(list(ut_rows.values()),
                                    columns=["town", *UNIT_KINDS, "total", "villages_with_unit"])
    return unit_counts_village, unit_counts_town


def _village_status(targets: _Targets, staffing: _Staffing, unit_counts_village: pd.DataFrame) -> pd.DataFrame:
    """Per village: what is required, what is covered, and a status for the map."""
    h_village = targets.h_village
    hh_by_village = pd.Series(list(h_village), dtype=object).value_counts().to_dict() if len(h_village) else {}
    hh_cov_by_village: dict[str, int] = {}
    for i, h in enumerate(targets.h_id):
        if h is not None and h in staffing.cadre_covered:
            hh_cov_by_village[h_village[i]] = hh_cov_by_village.get(h_village[i], 0) + 1
    units_of = dict(zip(unit_counts_village["village_code"], unit_counts_village["total"]))
    vs_rows = []
    for i, code in enumerate(targets.v_code):
        if code is None:
            continue
        needed = [r for r, f in targets.v_flags.items() if f[i]]
        res_cov = all(not staffing.resident_missing(r, ("village", code)) for r in needed)
        n_hh = int(hh_by_village.get(code, 0))
        n_hh_cov = int(hh_cov_by_village.get(code, 0))
        req_n = (1 if needed else 0) + n_hh
        cov_n = (1 if needed and res_cov else 0) + n_hh_cov
        share = _share(cov_n, req_n)
        status = "not_required" if req_n == 0 else "covered" if cov_n == req_n else "gap" if cov_n == 0 else "partial"
        vs_rows.append({"code": code, "name": targets.v_name[i], "town": targets.v_town[i],
                        "resident_required": ",".join(needed), "resident_covered": res_cov, "households": n_hh,
                        "households_covered": n_hh_cov, "coverage_share": share, "status": status,
                        "n_units": int(units_of.get(code, 0))})
    return pd.DataFrame(vs_rows, columns=["code", "name", "town", "resident_required", "resident_covered",
                                          "households", "households_covered", "coverage_share", "status", "n_units"])


def _needs(gaps: pd.DataFrame) -> pd.DataFrame:
    """One row per target still short of something: ``roles`` (tuple) and every rule served."""
    rows = []
    for (tkind, tid), sub in gaps.groupby(["target_kind", "target_id"], sort=False, dropna=False):
        first = sub.iloc[0]
        specific: list[str] = []
        either = False
        for missing in sub["missing"]:
            if missing == ROLE_EITHER:
                either = True
                continue
            specific += [r for r in str(missing).split(",") if r not in specific]
        # a specific new team or secretary also meets the "either" rules
        roles = tuple(sorted(specific)) if specific else (ROLE_EITHER,) if either else ()
        rows.append({"rules": ",".join(sorted(set(sub["rule"]), key=RULES.index)), "target_kind": tkind,
                     "target_id": tid, "roles": roles, "target_name": first["target_name"], "town": first["town"]})
    return pd.DataFrame(rows, columns=["rules", "target_kind", "target_id", "roles", "target_name", "town"])


def _action(helper_kind: str, role: str) -> str | None:
    """How a helper of ``helper_kind`` fills ``role`` (None: it cannot)."""
    if role == "cadre":
        return "assign_cadre" if helper_kind in CADRE_KINDS else None
    if helper_kind == "work_team" and role in (ROLE_TEAM, ROLE_EITHER):
        return "extend_team"
    if helper_kind == "first_secretary" and role in (ROLE_SECRETARY, ROLE_EITHER):
        return "extend_secretary"
    if helper_kind in UNIT_KINDS:
        return "dispatch_secretary" if role == ROLE_SECRETARY else "dispatch_team"
    return None


def _location_reasons(off_network, target_points: dict, helper_bases: dict, crs_targets, crs_helpers) -> dict:
    """Target location key -> (reason, network_m, fragment_m) for locations off the road network."""
    if off_network is None or not target_points:
        return {}
    import geopandas as gpd

    keys = list(target_points)
    targets = gpd.GeoDataFrame({"id": keys}, geometry=[target_points[k] for k in keys], crs=crs_targets)
    known = [k for k, p in helper_bases.items() if p is not None]
    helpers = gpd.GeoDataFrame({"id": known}, geometry=[helper_bases[k] for k in known], crs=crs_helpers)
    frame = off_network(targets, helpers)
    frame = frame[frame["reason"].astype(str) != ""]
    return {str(k): (str(r.reason), float(r.network_m), float(r.fragment_m))
            for k, r in zip(frame.index, frame.itertuples(index=False))}


def _suggest(gaps, workload, helper_bases, travel, rules, target_location, home, reasons_of=None):
    """Fill the missing roles with helpers that have spare capacity; see the module docstring.

    Resident staff are solved in two exact stages.  Stage 1 assigns whole targets: one
    helper fills *every* missing role of a target (a backing unit dispatches a team and a
    secretary together, using one unit of capacity, as its village load grows by one;
    an existing team or secretary can take a target only when that is all it lacks).
    Stage 2 takes targets stage 1 left open that lack two roles and fills the roles one
    by one with what capacity is left (e.g. an existing team with room plus an existing
    secretary with room).  Each stage is optimal (most filled, then least minutes);
    the two-stage split is a modelling simplification that never exceeds a capacity.
    Households form a third, independent pool of cadres.
    """
    sug_cols = ["suggestion_id", "rules", "target_kind", "target_id", "role", "target_name", "town", "helper_key",
                "helper_name", "helper_kind", "action", "minutes", "penalised"]
    unc_cols = ["rules", "target_kind", "target_id", "role", "target_name", "town", "reason", "detail",
                "network_reason", "network_m", "fragment_m"]
    sugg, unc = [], []
    needs = _needs(gaps)
    if not len(needs):
        return pd.DataFrame([], columns=sug_cols), pd.DataFrame([], columns=unc_cols)
    # why a need's location is off the road network (``reasons_of(location keys)``)
    need_locations = {target_location(k, i) for k, i in zip(needs["target_kind"], needs["target_id"])} - {None}
    location_reasons = reasons_of(need_locations) if reasons_of is not None else {}
    wl = workload.set_index("helper_key")
    spare = {k: (0 if pd.isna(wl.at[k, "spare"]) else int(wl.at[k, "spare"])) for k in wl.index}

    def costs(hkeys: list[str], items: pd.DataFrame, locs: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cost, penalised, able), each (helpers, items); cost inf where the pair is not allowed."""
        hkinds = [wl.at[hk, "helper_kind"] for hk in hkeys]
        kinds, kind_row = np.unique(np.array(hkinds, dtype=object), return_inverse=True) if hkeys \
            else (np.array([], dtype=object), np.zeros(0, dtype=np.int64))
        roles = list(dict.fromkeys(items["roles"]))
        role_col = {r: j for j, r in enumerate(roles)}
        can = np.array([[all(_action(k, r) is not None for r in rs) for rs in roles] for k in kinds], dtype=bool)
        able = can[np.ix_(kind_row, [role_col[r] for r in items["roles"]])] if len(kinds) \
            else np.zeros((0, len(items)), dtype=bool)
        m = travel.block(hkeys, locs)
        penal = np.isnan(m)
        if rules.unknown_base_penalty_min is None:
            m[penal] = np.inf
            penal[:] = False
        else:
            m[penal] = float(rules.unknown_base_penalty_min)
        if rules.max_travel_min is not None:
            too_far = m > rules.max_travel_min
            m[too_far] = np.inf
            penal[too_far] = False
        unlocated = np.array([loc is None for loc in locs], dtype=bool)
        m[:, unlocated] = np.inf
        penal[:, unlocated] = False
        m[~able] = np.inf
        penal[~able] = False
        return m, penal, able

    def solve(items: pd.DataFrame, hkeys: list[str], *, final: bool) -> pd.DataFrame:
        """Assign items (each with a tuple of roles) to helpers; return the items left open."""
        items = items.reset_index(drop=True)
        if not len(items):
            return items
        # a helper without room can take nothing: leaving it out changes no optimum and
        # keeps the matrices to the helpers that matter (few on a province)
        hkeys = [k for k in hkeys if spare[k] > 0]
        cap = np.array([spare[k] for k in hkeys], dtype=np.int64)
        locs = [target_location(k, i) for k, i in zip(items["target_kind"], items["target_id"])]
        cost, penal, able = costs(hkeys, items, locs)
        result = assign_with_capacities(cost, cap) if len(hkeys) else None
        left = []
        for b in range(len(items)):
            row = items.iloc[b]
            base = {c: row[c] for c in ("rules", "target_kind", "target_id", "target_name", "town")}
            a = -1 if result is None else int(result.helper[b])
            if a >= 0:
                hk = hkeys[a]
                spare[hk] -= 1
                hkind = wl.at[hk, "helper_kind"]
                for role in row["roles"]:
                    sugg.append({**base, "role": role, "helper_key": hk, "helper_name": wl.at[hk, "helper_name"],
                                 "helper_kind": hkind, "action": _action(hkind, role),
                                 "minutes": np.nan if penal[a, b] else cost[a, b], "penalised": bool(penal[a, b])})
                continue
            if not final:
                left.append(b)
                continue
            room = able[:, b] & (cap > 0) if len(hkeys) else np.zeros(0, dtype=bool)
            # off the road network: the one reason of every network output, whatever the room
            why = location_reasons.get(locs[b]) if locs[b] is not None else None
            off = {"network_reason": "", "network_m": np.nan, "fragment_m": np.nan}
            if locs[b] is None:
                reason, detail = REASON_UNREACHABLE, "the target has no location"
            elif why is not None:
                reason, detail = REASON_UNREACHABLE, f"off the road network: {why[0]}"
                off = {"network_reason": why[0], "network_m": why[1], "fragment_m": why[2]}
            elif not room.any():
                reason, detail = REASON_NO_CAPACITY, "no helper of a suitable kind has spare capacity"
            elif not np.isfinite(cost[room, b]).any():
                reason, detail = REASON_UNREACHABLE, "no helper with spare capacity has a known route to it"
            else:
                reason, detail = REASON_NO_CAPACITY, "the helpers that can reach it are fully used"
            for role in row["roles"]:
                unc.append({**base, "role": role, "reason": reason, "detail": detail, **off})
        return items.iloc[left]

    kinds = wl["helper_kind"] if len(wl) else pd.Series([], dtype=object)
    resident_keys = list(wl.index[(kinds.isin(RESIDENT_KINDS) | kinds.isin(rules.dispatching_kinds)).to_numpy()])
    local = [c is None or pd.isna(c) or home is None or str(c)[:6] == home for c in wl["county_code"]] \
        if len(wl) else []
    cadre_keys = [k for k, kind, ok in zip(wl.index, kinds, local) if kind in CADRE_KINDS and ok]

    resident = needs[needs["target_kind"] != "household"]
    single = resident["roles"].map(len) <= 1
    left = solve(resident[~single], resident_keys, final=False)
    solve(resident[single], resident_keys, final=True)
    # stage 2: the remaining multi-role targets, role by role
    split = [{**r, "roles": (role,)} for r in left.to_dict(orient="records") for role in r["roles"]]
    solve(pd.DataFrame(split, columns=needs.columns), resident_keys, final=True)
    cadre_items = needs[needs["target_kind"] == "household"].assign(roles=[("cadre",)] * int(
        (needs["target_kind"] == "household").sum()))
    solve(cadre_items, cadre_keys, final=True)

    s = pd.DataFrame(sugg, columns=[c for c in sug_cols if c != "suggestion_id"])
    order = {k: i for i, k in enumerate(("village", "settlement", "household"))}
    if len(s):
        s = s.sort_values(["target_kind", "town", "target_id", "role"],
                          key=lambda c: c.map(order) if c.name == "target_kind" else c.fillna(""),
                          kind="stable").reset_index(drop=True)
    s.insert(0, "suggestion_id", [f"S{i + 1:04d}" for i in range(len(s))])
    u = pd.DataFrame(unc, columns=unc_cols)
    if len(u):
        u = u.sort_values(["target_kind", "town", "target_id", "role"],
                          key=lambda c: c.map(order) if c.name == "target_kind" else c.fillna(""),
                          kind="stable").reset_index(drop=True)
    return s, u


# ----------------------------------------------------------------------------- accepting
def suggested_pairing_rows(analysis: PairingAnalysis, *, suggestion_ids: Sequence[str] | None = None,
                           start_date: str | None = None) -> list[dict[str, Any]]:
    """The pairing rows that accepting suggestions adds (without ``id``).

    ``extend_team``, ``extend_secretary`` and ``assign_cadre`` add one row helper →
    target at the helper's base.  ``dispatch_team``/``dispatch_secretary`` add two: the
    backing unit → target (once per unit and target, so the unit's load, hence its
    remaining capacity, includes the village) and a new work team / first secretary →
    target whose base is the target itself (resident staff live there).
    """
    s = analysis.suggestions
    if suggestion_ids is not None:
        wanted = set(suggestion_ids)
        unknown = wanted - set(s["suggestion_id"])
        if unknown:
            msg = f"unknown suggestion ids: {sorted(unknown)}"
            raise ValueError(msg)
        s = s[s["suggestion_id"].isin(wanted)]
    existing = set(zip(analysis.links["helper_key"], analysis.links["target_kind"], analysis.links["target_id"]))
    existing_ids = set(analysis.links["helper_key"])
    rows = []
    for r in s.itertuples(index=False):
        base = analysis.helper_bases.get(r.helper_key)
        county = analysis.helper_counties.get(r.helper_key)
        common = {"target_kind": r.target_kind, "target_id": r.target_id, "start_date": start_date,
                  "suggestion_id": r.suggestion_id}
        helper_id = None if r.helper_key.startswith(f"{r.helper_kind}:") else r.helper_key
        if r.action in ("dispatch_team", "dispatch_secretary"):
            if (r.helper_key, r.target_kind, r.target_id) not in existing:
                existing.add((r.helper_key, r.target_kind, r.target_id))
                rows.append({**common, "helper_id": helper_id, "helper_name": r.helper_name,
                             "helper_kind": r.helper_kind, "helper_county_code": county, "base": base})
            loc = location_key(r.target_kind, r.target_id)
            place = r.target_name or r.target_id
            if r.action == "dispatch_team":
                kind, tag, name = "work_team", "team", f"{r.helper_name}驻{place}工作队"
            else:
                kind, tag, name = "first_secretary", "secretary", f"{place}第一书记（{r.helper_name}选派）"
            new_id = f"{r.helper_key}/{tag}/{r.target_id}"
            while new_id in existing_ids:  # never merge with an existing helper
                new_id += "+"
            existing_ids.add(new_id)
            # resident staff live in the village: their base is the target itself
            rows.append({**common, "helper_id": new_id, "helper_name": name, "helper_kind": kind,
                         "helper_county_code": county, "base": analysis.target_points.get(loc)})
        else:
            rows.append({**common, "helper_id": helper_id, "helper_name": r.helper_name,
                         "helper_kind": r.helper_kind, "helper_county_code": county, "base": base})
    return rows


def apply_suggestions(pairings: pd.DataFrame, analysis: PairingAnalysis, *,
                      suggestion_ids: Sequence[str] | None = None, start_date: str | None = None,
                      id_prefix: str = "SUG-"):
    """The pairings layer with accepted suggestions appended (a new frame).

    Parameters
    ----------
    pairings : GeoDataFrame
        The current pairings layer (the one the analysis was run on).
    analysis : PairingAnalysis
    suggestion_ids : sequence of str, optional
        Which suggestions to accept (default: all).
    start_date : str, optional
        ISO date written to ``start_date`` of the new rows.
    id_prefix : str
        New pairing ids are ``<prefix><suggestion id>-<n>``, made unique against
        existing ids.

    Returns
    -------
    (GeoDataFrame, list of dict)
        The updated layer and the added rows (with ``id`` and ``suggestion_id``).
    """
    import geopandas as gpd
    from shapely.geometry import Point

    rows = suggested_pairing_rows(analysis, suggestion_ids=suggestion_ids, start_date=start_date)
    used = set(_column(pairings, "id"))
    added = []
    counter: dict[str, int] = {}
    for r in rows:
        sid = r["suggestion_id"]
        while True:
            counter[sid] = counter.get(sid, 0) + 1
            pid = f"{id_prefix}{sid}-{counter[sid]}"
            if pid not in used:
                break
        used.add(pid)
        added.append({"id": pid, **r})
    crs = getattr(pairings, "crs", None) or "EPSG:4326"
    new = gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k not in ("base", "suggestion_id")} for r in added],
        columns=["id", "helper_id", "helper_name", "helper_kind", "helper_county_code", "target_kind", "target_id",
                 "start_date"],
        geometry=[Point(*r["base"]) if r["base"] is not None else None for r in added], crs=crs,
    )
    if isinstance(pairings, gpd.GeoDataFrame):
        base_frame = pairings
    else:
        base_frame = gpd.GeoDataFrame(pairings, geometry=[None] * len(pairings), crs=crs)
    new = new.rename_geometry(base_frame.geometry.name) if new.geometry.name != base_frame.geometry.name else new
    out = pd.concat([base_frame, new], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry=base_frame.geometry.name, crs=crs)
    return out, added
