"""Coverage of one-to-one assistance pairings (结对帮扶) and suggestions to close gaps.

Rules (:class:`PairingRules`, defaults from current policy)
-----------------------------------------------------------
``resident_former_poor``, ``resident_settlement``, ``resident_demonstration``, ``resident_weak_org``
    A resident work team (驻村工作队) or first secretary (第一书记) for every former poor
    village, every relocation settlement of ``settlement_min_people`` (800) people or
    more, every demonstration village and every weak-party-organisation village.
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
with room has a known, finite travel time to it, or the target has no location).

Travel times come from the caller so this module stays pure: a callable
``travel_min(origins, destinations) -> array (n_origins, n_destinations)`` taking two
GeoDataFrames with an ``id`` column (e.g. wrapping
:func:`planner.travel.travel_time_matrix`), or a precomputed DataFrame indexed by helper
id with one column per target location (``"village:<code>"``, ``"settlement:<id>"``).
``inf`` means unreachable, NaN unknown.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from planner.assign import assign_with_capacities

__all__ = [
    "HOUSEHOLD_RULE",
    "PROBLEM_KINDS",
    "PairingAnalysis",
    "PairingRules",
    "RESIDENT_RULES",
    "RULES",
    "analyse_pairings",
    "apply_suggestions",
    "build_pairing_graph",
    "helper_key",
    "location_key",
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

ACTIONS = ("extend_team", "dispatch_team", "assign_cadre")
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
    """

    settlement_min_people: int = 800
    max_households_per_cadre: int = 10
    max_villages_per_team: int = 1
    max_villages_per_unit: int = 3
    dispatching_kinds: tuple[str, ...] = ("municipal_unit", "central_unit")
    home_county_code: str | None = None
    unknown_base_penalty_min: float | None = None
    max_travel_min: float | None = None

    def __post_init__(self) -> None:
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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["dispatching_kinds"] = list(self.dispatching_kinds)
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


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if value is None or value is pd.NA:
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    if len(frame) == 0:
        return []
    return [_jsonable(r) for r in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")]


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
        ``rule``, ``target_kind``, ``target_id``, ``target_name``, ``town``, ``village_code``.
    problems : DataFrame
        ``problem``, ``pairing_id``, ``helper_key``, ``helper_name``, ``target_kind``,
        ``target_id``, ``detail``.
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
        ``suggestion_id``, ``rules``, ``target_kind``, ``target_id``, ``target_name``,
        ``town``, ``helper_key``, ``helper_name``, ``helper_kind``, ``action``,
        ``minutes`` (NaN where the unknown-base penalty was used), ``penalised``.
    uncovered : DataFrame
        Gaps the suggestions cannot close: ``rules``, ``target_kind``, ``target_id``,
        ``target_name``, ``town``, ``reason``, ``detail``.
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
        return _records(rows)[0]

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
            "coverage": _records(self.coverage),
            "coverage_by_town": _records(self.coverage_by_town),
            "gaps": _records(keep(self.gaps)),
            "problems": _records(keep(self.problems)),
            "workload": _records(self.workload),
            "villages": _records(self.villages),
            "unit_counts_village": _records(self.unit_counts_village),
            "unit_counts_town": _records(self.unit_counts_town),
            "suggestions": _records(keep(self.suggestions)),
            "uncovered": _records(keep(self.uncovered)),
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


def _travel_lookup(travel_min, helper_bases: dict, target_points: dict, crs_helpers, crs_targets):
    """Minutes for every (helper key, location key) as a DataFrame (NaN unknown)."""
    hk = [k for k, p in helper_bases.items() if p is not None]
    tk = [k for k, p in target_points.items() if p is not None]
    if travel_min is None or not hk or not tk:
        return pd.DataFrame(index=pd.Index(hk, dtype=object), columns=pd.Index(tk, dtype=object), dtype=float)
    if isinstance(travel_min, pd.DataFrame):
        frame = travel_min.copy()
        frame.index = frame.index.astype(object).map(str)
        frame.columns = frame.columns.astype(object).map(str)
        return frame.reindex(index=pd.Index(hk, dtype=object), columns=pd.Index(tk, dtype=object)).astype(float)
    if not callable(travel_min):
        msg = "travel_min must be None, a DataFrame (helpers x locations) or a callable(origins, destinations)"
        raise TypeError(msg)
    import geopandas as gpd

    origins = gpd.GeoDataFrame({"id": hk}, geometry=[helper_bases[k] for k in hk], crs=crs_helpers)
    dests = gpd.GeoDataFrame({"id": tk}, geometry=[target_points[k] for k in tk], crs=crs_targets)
    minutes = np.asarray(travel_min(origins, dests), dtype=float)
    if minutes.shape != (len(hk), len(tk)):
        msg = f"travel_min returned shape {minutes.shape}, expected {(len(hk), len(tk))}"
        raise ValueError(msg)
    return pd.DataFrame(minutes, index=pd.Index(hk, dtype=object), columns=pd.Index(tk, dtype=object))


def analyse_pairings(
    villages: pd.DataFrame,
    households: pd.DataFrame,
    settlements: pd.DataFrame,
    pairings: pd.DataFrame,
    *,
    rules: PairingRules | None = None,
    travel_min: Callable | pd.DataFrame | None = None,
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

    Returns
    -------
    PairingAnalysis
    """
    rules = rules or PairingRules()

    # --- targets
    v_code = _column(villages, "code")
    v_name = _column(villages, "name")
    v_town = _column(villages, "town")
    v_pts = _points(villages)
    v_flags = {
        "resident_former_poor": _flag(villages, "former_poor"),
        "resident_demonstration": _flag(villages, "demonstration"),
        "resident_weak_org": _flag(villages, "weak_org"),
    }
    village_index = {c: i for i, c in enumerate(v_code) if c is not None}
    home = rules.home_county_code or _infer_county([c for c in v_code if c])

    h_id = _column(households, "id")
    h_village = _column(households, "village_code")
    household_index = {h: i for i, h in enumerate(h_id) if h is not None}

    s_id = _column(settlements, "id")
    s_name = _column(settlements, "name")
    s_town = _column(settlements, "town")
    s_people = _number(settlements, "people")
    s_pts = _points(settlements)
    settlement_index = {s: i for i, s in enumerate(s_id) if s is not None}

    def target_info(kind: str, tid: str) -> tuple[str | None, str | None, str | None]:
        """(name, town, village_code) of a target."""
        if kind == "village":
            i = village_index[tid]
            return v_name[i], v_town[i], tid
        if kind == "settlement":
            i = settlement_index[tid]
            return s_name[i], s_town[i], None
        vc = h_village[household_index[tid]]
        town = v_town[village_index[vc]] if vc in village_index else None
        return None, town, vc

    def target_location(kind: str, tid: str) -> str | None:
        if kind == "village":
            return location_key("village", tid) if v_pts[village_index[tid]] is not None else None
        if kind == "settlement":
            return location_key("settlement", tid) if s_pts[settlement_index[tid]] is not None else None
        vc = h_village[household_index[tid]]
        if vc in village_index and v_pts[village_index[vc]] is not None:
            return location_key("village", vc)
        return None

    target_points: dict[str, Any] = {}
    for i, c in enumerate(v_code):
        if c is not None and v_pts[i] is not None:
            target_points[location_key("village", c)] = v_pts[i]
    for i, s in enumerate(s_id):
        if s is not None and s_pts[i] is not None:
            target_points[location_key("settlement", s)] = s_pts[i]

    problems: list[dict[str, Any]] = []

    def problem(kind, *, pairing_id=None, helper=None, helper_name=None, target_kind=None, target_id=None,
                detail=""):
        problems.append({"problem": kind, "pairing_id": pairing_id, "helper_key": helper,
                         "helper_name": helper_name, "target_kind": target_kind, "target_id": target_id,
                         "detail": detail})

    for i, vc in enumerate(h_village):
        if h_id[i] is not None and vc not in village_index:
            problem("household_unknown_village", target_kind="household", target_id=h_id[i],
                    detail=f"village code {vc!r} not in the villages layer")

    # --- pairings
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
                problem("duplicate_id", **ctx, detail=f"id {pid!r} used more than once")
            seen_ids.add(pid)
        if hkind not in HELPER_KIND_VALUES or tkind not in TARGET_KIND_VALUES:
            problem("invalid_kind", **ctx, detail=f"helper kind {hkind!r}, target kind {tkind!r}")
            continue
        # the helper exists even if this row turns out unusable: it shows in the workload
        meta = helper_meta.setdefault(hkey, {"helper_name": p_hname[i], "helper_kind": hkind,
                                             "county_code": p_county[i]})
        if meta["county_code"] is None and p_county[i] is not None:
            meta["county_code"] = p_county[i]
        if helper_bases.get(hkey) is None:
            helper_bases[hkey] = p_pts[i]
        if tid is None:
            problem("missing_target", **ctx, detail="no target id")
            continue
        index = {"village": village_index, "household": household_index, "settlement": settlement_index}[tkind]
        if tid not in index:
            problem("unknown_target", **ctx, detail=f"no {tkind} with id {tid!r}")
            continue
        if (hkey, tkind, tid) in seen_pairs:
            problem("duplicate_pairing", **ctx, detail="same helper and target as an earlier pairing")
            continue
        seen_pairs.add((hkey, tkind, tid))
        counts = True
        if (hkind in RESIDENT_KINDS and tkind == "household") or (hkind in CADRE_KINDS and tkind != "household") \
                or (hkind in UNIT_KINDS and tkind == "household"):
            problem("kind_mismatch", **ctx, detail=f"a {hkind} cannot cover a {tkind}")
            counts = False
        if hkind in CADRE_KINDS and p_county[i] is not None and home is not None and p_county[i][:6] != home:
            problem("foreign_cadre", **ctx, detail=f"cadre of county {p_county[i]}, workspace county {home}")
            counts = False
        links.append({"pairing_id": pid, "helper_key": hkey, "helper_name": p_hname[i], "helper_kind": hkind,
                      "target_kind": tkind, "target_id": tid, "counts": counts,
                      "location": target_location(tkind, tid)})

    link_cols = ["pairing_id", "helper_key", "helper_name", "helper_kind", "target_kind", "target_id", "counts",
                 "location"]
    links_df = pd.DataFrame(links, columns=link_cols).astype(object)
    for hk in helper_meta:
        helper_bases.setdefault(hk, None)

    # --- travel
    crs_h = getattr(pairings, "crs", None) or "EPSG:4326"
    crs_t = getattr(villages, "crs", None) or getattr(settlements, "crs", None) or "EPSG:4326"
    travel = _travel_lookup(travel_min, helper_bases, target_points, crs_h, crs_t)

    def minutes(hkey: str, loc: str | None) -> float:
        if loc is None or hkey not in travel.index or loc not in travel.columns:
            return np.nan
        return float(travel.at[hkey, loc])

    links_df["minutes"] = [minutes(h, loc) for h, loc in zip(links_df["helper_key"], links_df["location"])]

    # --- coverage
    counted = links_df[links_df["counts"].astype(bool)]
    resident_covered = set(
        zip(counted.loc[counted["helper_kind"].isin(RESIDENT_KINDS), "target_kind"],
            counted.loc[counted["helper_kind"].isin(RESIDENT_KINDS), "target_id"])
    )
    cadre_covered = set(counted.loc[counted["helper_kind"].isin(CADRE_KINDS), "target_id"])

    required: list[dict[str, Any]] = []  # one row per (rule, target)
    for rule, flags in v_flags.items():
        for i in np.flatnonzero(flags):
            if v_code[i] is None:
                continue
            required.append({"rule": rule, "target_kind": "village", "target_id": v_code[i],
                             "covered": ("village", v_code[i]) in resident_covered})
    for i in np.flatnonzero(np.nan_to_num(s_people, nan=-1) >= rules.settlement_min_people):
        if s_id[i] is None:
            continue
        required.append({"rule": "resident_settlement", "target_kind": "settlement", "target_id": s_id[i],
                         "covered": ("settlement", s_id[i]) in resident_covered})
    for h in h_id:
        if h is None:
            continue
        required.append({"rule": HOUSEHOLD_RULE, "target_kind": "household", "target_id": h,
                         "covered": h in cadre_covered})
    req = pd.DataFrame(required, columns=["rule", "target_kind", "target_id", "covered"]).astype(object)
    info = [target_info(k, t) for k, t in zip(req["target_kind"], req["target_id"])]
    req["target_name"] = [x[0] for x in info]
    req["town"] = [x[1] for x in info]
    req["village_code"] = [x[2] for x in info]
    req["covered"] = req["covered"].astype(bool)

    def summarise(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
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

    coverage = summarise(req, [])
    town_req = req.assign(town=req["town"].map(lambda t: t if t is not None else ""))
    coverage_by_town = summarise(town_req, ["town"])
    if len(coverage_by_town):
        coverage_by_town = coverage_by_town.sort_values(["town", "rule"], key=lambda s: s.map(
            lambda v: RULES.index(v) if v in RULES else v) if s.name == "rule" else s).reset_index(drop=True)
    gaps = req.loc[~req["covered"], ["rule", "target_kind", "target_id", "target_name", "town", "village_code"]]
    gaps = gaps.reset_index(drop=True)

    # --- workload
    graph = build_pairing_graph(links_df)
    wl_rows = []
    for hk, meta in helper_meta.items():
        mine = links_df[links_df["helper_key"] == hk]
        n_v = int((mine["target_kind"] == "village").sum())
        n_s = int((mine["target_kind"] == "settlement").sum())
        n_h = int((mine["target_kind"] == "household").sum())
        kind = meta["helper_kind"]
        limit = rules.limit_for(kind)
        load = n_h if kind in CADRE_KINDS else n_v + n_s
        t = mine["minutes"].to_numpy(dtype=float)
        finite = t[np.isfinite(t)]
        base = helper_bases.get(hk)
        wl_rows.append({
            "helper_key": hk, "helper_name": meta["helper_name"], "helper_kind": kind,
            "county_code": meta["county_code"],
            "base_lon": base.x if base is not None else None, "base_lat": base.y if base is not None else None,
            "n_villages": n_v, "n_settlements": n_s, "n_households": n_h, "load": load, "limit": limit,
            "spare": max(0, limit - load) if limit is not None else None,
            "over_limit": bool(limit is not None and load > limit),
            "travel_mean_min": float(finite.mean()) if len(finite) else None,
            "travel_max_min": float(finite.max()) if len(finite) else None,
            "n_travel_unknown": int(np.isnan(t).sum()),
            "n_unreachable": int(np.isinf(t).sum()),
            # "unknown" when the base is unknown: travel burden cannot be judged
            "travel_status": "unknown" if base is None else "none" if not len(t)
            else "known" if not np.isnan(t).any() else "partial",
        })
        if kind in RESIDENT_KINDS and limit is not None and load > limit:
            problem("team_over_limit", helper=hk, helper_name=meta["helper_name"],
                    detail=f"{load} villages/settlements, limit {limit}")
    wl_cols = ["helper_key", "helper_name", "helper_kind", "county_code", "base_lon", "base_lat", "n_villages",
               "n_settlements", "n_households", "load", "limit", "spare", "over_limit", "travel_mean_min",
               "travel_max_min", "n_travel_unknown", "n_unreachable", "travel_status"]
    workload = pd.DataFrame(wl_rows, columns=wl_cols)
    if len(workload):
        workload = workload.sort_values(["over_limit", "load"], ascending=[False, False], kind="stable")
        workload = workload.reset_index(drop=True)

    # --- per-village status and unit counts
    units = links_df[links_df["helper_kind"].isin(UNIT_KINDS)]
    unit_v = units[units["target_kind"] == "village"]
    uc_rows = []
    for i, code in enumerate(v_code):
        if code is None:
            continue
        sub = unit_v[unit_v["target_id"] == code]
        row = {"village_code": code, "name": v_name[i], "town": v_town[i]}
        for k in UNIT_KINDS:
            row[k] = int(sub.loc[sub["helper_kind"] == k, "helper_key"].nunique())
        row["total"] = int(sub["helper_key"].nunique())
        uc_rows.append(row)
    unit_counts_village = pd.DataFrame(uc_rows, columns=["village_code", "name", "town", *UNIT_KINDS, "total"])
    town_of = {
        ("village", c): v_town[i] for i, c in enumerate(v_code) if c is not None
    } | {("settlement", s): s_town[i] for i, s in enumerate(s_id) if s is not None}
    ut_rows: dict[str, dict[str, Any]] = {}
    for t in sorted({x for x in v_town if x is not None} | {x for x in s_town if x is not None}):
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

    hh_by_village = pd.Series([vc for vc in h_village], dtype=object).value_counts().to_dict() if len(h_village) else {}
    hh_cov_by_village: dict[str, int] = {}
    for i, h in enumerate(h_id):
        if h is not None and h in cadre_covered:
            hh_cov_by_village[h_village[i]] = hh_cov_by_village.get(h_village[i], 0) + 1
    units_of = {row["village_code"]: row["total"] for row in uc_rows}
    vs_rows = []
    for i, code in enumerate(v_code):
        if code is None:
            continue
        needed = [r for r, f in v_flags.items() if f[i]]
        res_cov = ("village", code) in resident_covered
        n_hh = int(hh_by_village.get(code, 0))
        n_hh_cov = int(hh_cov_by_village.get(code, 0))
        req_n = (1 if needed else 0) + n_hh
        cov_n = (1 if needed and res_cov else 0) + n_hh_cov
        share = _share(cov_n, req_n)
        status = "not_required" if req_n == 0 else "covered" if cov_n == req_n else "gap" if cov_n == 0 else "partial"
        vs_rows.append({"code": code, "name": v_name[i], "town": v_town[i], "resident_required": ",".join(needed),
                        "resident_covered": res_cov, "households": n_hh, "households_covered": n_hh_cov,
                        "coverage_share": share, "status": status,
                        "n_units": units_of.get(code, 0)})
    village_status = pd.DataFrame(vs_rows, columns=["code", "name", "town", "resident_required", "resident_covered",
                                                    "households", "households_covered", "coverage_share", "status",
                                                    "n_units"])

    # --- suggestions
    suggestions, uncovered = _suggest(gaps, workload, helper_bases, travel, rules, target_location, home)

    return PairingAnalysis(
        rules=rules, home_county_code=home, coverage=coverage, coverage_by_town=coverage_by_town, gaps=gaps,
        problems=pd.DataFrame(problems, columns=["problem", "pairing_id", "helper_key", "helper_name", "target_kind",
                                                 "target_id", "detail"]),
        links=links_df,
        workload=workload, villages=village_status, unit_counts_village=unit_counts_village,
        unit_counts_town=unit_counts_town, suggestions=suggestions, uncovered=uncovered, graph=graph,
        helper_bases={k: (None if p is None else (p.x, p.y)) for k, p in helper_bases.items()},
        target_points={k: (p.x, p.y) for k, p in target_points.items()},
        helper_counties={k: m["county_code"] for k, m in helper_meta.items()},
    )


def _suggest(gaps, workload, helper_bases, travel, rules, target_location, home):
    """Solve the two assignment pools (resident teams, cadres); see the module docstring."""
    sug_cols = ["suggestion_id", "rules", "target_kind", "target_id", "target_name", "town", "helper_key",
                "helper_name", "helper_kind", "action", "minutes", "penalised"]
    unc_cols = ["rules", "target_kind", "target_id", "target_name", "town", "reason", "detail"]
    sugg, unc = [], []
    if not len(gaps):
        return pd.DataFrame([], columns=sug_cols), pd.DataFrame([], columns=unc_cols)

    # one target per (kind, id), with every rule it fails
    targets = (gaps.groupby(["target_kind", "target_id"], sort=False, dropna=False)
               .agg(rules=("rule", lambda r: ",".join(sorted(set(r), key=RULES.index))),
                    target_name=("target_name", "first"), town=("town", "first"))
               .reset_index())
    wl = workload.set_index("helper_key") if len(workload) else workload

    def pool(tmask, hmask, action_of):
        t = targets[tmask].reset_index(drop=True)
        if not len(t):
            return
        h = wl[hmask] if len(wl) else wl
        hkeys = list(h.index) if len(h) else []
        cap = np.array([int(h.at[k, "spare"] or 0) for k in hkeys], dtype=np.int64)
        cost = np.full((len(hkeys), len(t)), np.inf)
        penal = np.zeros_like(cost, dtype=bool)
        locs = [target_location(k, i) for k, i in zip(t["target_kind"], t["target_id"])]
        for a, hk in enumerate(hkeys):
            for b, loc in enumerate(locs):
                if loc is None:
                    continue
                m = np.nan
                if helper_bases.get(hk) is not None and hk in travel.index and loc in travel.columns:
                    m = float(travel.at[hk, loc])
                if np.isnan(m):
                    if rules.unknown_base_penalty_min is None:
                        continue
                    m, penal[a, b] = float(rules.unknown_base_penalty_min), True
                if rules.max_travel_min is not None and m > rules.max_travel_min:
                    continue
                cost[a, b] = m
        result = assign_with_capacities(cost, cap) if len(hkeys) else None
        any_room = bool((cap > 0).any())
        for b in range(len(t)):
            row = t.iloc[b]
            base = {"rules": row["rules"], "target_kind": row["target_kind"], "target_id": row["target_id"],
                    "target_name": row["target_name"], "town": row["town"]}
            a = -1 if result is None else int(result.helper[b])
            if a >= 0:
                hk = hkeys[a]
                sugg.append({**base, "helper_key": hk, "helper_name": h.at[hk, "helper_name"],
                             "helper_kind": h.at[hk, "helper_kind"], "action": action_of(h.at[hk, "helper_kind"]),
                             "minutes": np.nan if penal[a, b] else cost[a, b], "penalised": bool(penal[a, b])})
                continue
            if locs[b] is None:
                reason, detail = REASON_UNREACHABLE, "the target has no location"
            elif not any_room:
                reason, detail = REASON_NO_CAPACITY, "no helper of a suitable kind has spare capacity"
            elif not np.isfinite(cost[cap > 0, b]).any():
                reason, detail = REASON_UNREACHABLE, "no helper with spare capacity has a known route to it"
            else:
                reason, detail = REASON_NO_CAPACITY, "the helpers that can reach it are fully used"
            unc.append({**base, "reason": reason, "detail": detail})

    if len(wl):
        kinds = wl["helper_kind"]
        resident_helpers = kinds.isin(RESIDENT_KINDS) | kinds.isin(rules.dispatching_kinds)
        local = wl["county_code"].map(lambda c: c is None or home is None or str(c)[:6] == home)
        cadre_helpers = kinds.isin(CADRE_KINDS) & local.astype(bool)
    else:
        resident_helpers = cadre_helpers = pd.Series([], dtype=bool)
    pool(targets["target_kind"] != "household", resident_helpers,
         lambda k: "extend_team" if k in RESIDENT_KINDS else "dispatch_team")
    pool(targets["target_kind"] == "household", cadre_helpers, lambda k: "assign_cadre")

    s = pd.DataFrame(sugg, columns=[c for c in sug_cols if c != "suggestion_id"])
    order = {k: i for i, k in enumerate(("village", "settlement", "household"))}
    if len(s):
        s = s.sort_values(["target_kind", "town", "target_id"],
                          key=lambda c: c.map(order) if c.name == "target_kind" else c.fillna(""),
                          kind="stable").reset_index(drop=True)
    s.insert(0, "suggestion_id", [f"S{i + 1:04d}" for i in range(len(s))])
    return s, pd.DataFrame(unc, columns=unc_cols)


# ----------------------------------------------------------------------------- accepting
def suggested_pairing_rows(analysis: PairingAnalysis, *, suggestion_ids: Sequence[str] | None = None,
                           start_date: str | None = None) -> list[dict[str, Any]]:
    """The pairing rows that accepting suggestions adds (without ``id``).

    ``extend_team`` and ``assign_cadre`` add one row helper → target at the helper's
    base.  ``dispatch_team`` adds two: the backing unit → target (so the unit's load,
    hence its remaining capacity, includes the village) and a new work team → target
    whose base is the target itself (a resident team lives there).
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
    rows = []
    for r in s.itertuples(index=False):
        base = analysis.helper_bases.get(r.helper_key)
        county = analysis.helper_counties.get(r.helper_key)
        common = {"target_kind": r.target_kind, "target_id": r.target_id, "start_date": start_date,
                  "suggestion_id": r.suggestion_id}
        helper_id = None if r.helper_key.startswith(f"{r.helper_kind}:") else r.helper_key
        if r.action == "dispatch_team":
            if (r.helper_key, r.target_kind, r.target_id) not in existing:
                rows.append({**common, "helper_id": helper_id, "helper_name": r.helper_name,
                             "helper_kind": r.helper_kind, "helper_county_code": county, "base": base})
            loc = location_key(r.target_kind, r.target_id)
            rows.append({**common, "helper_id": f"{r.helper_key}/team/{r.target_id}",
                         "helper_name": f"{r.helper_name}驻村工作队({r.target_name or r.target_id})",
                         "helper_kind": "work_team", "helper_county_code": county,
                         "base": analysis.target_points.get(loc)})
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
