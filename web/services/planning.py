"""The planning page's logic: run parameters, cached runs, service areas, scenarios, exports.

The view module (:mod:`web.views.planning`) only parses requests and renders; everything
here works on a :class:`layers.store.Workspace` and plain dicts:

* :class:`PlacementQuestion` — one frozen question for the page, scenarios and the CLI —
  parses and checks the form's query string (typed errors, translated by the adapters);
* :func:`run` answers a question through :func:`web.services.plan`, cached per
  parameters and data version, and returns the JSON payload the page draws;
* :func:`service_area_features` adds the service areas of the NEW sites at the chosen
  cutoff (the slowest step: each polygon is a union of buffered road pieces), cached per
  site so that a second run sharing sites (p=2 after p=3) pays nothing for them;
* scenarios are snapshots of a payload in the app table ``rp_scenarios``;
* :func:`compare`, :func:`export_geojson` and :func:`export_excel` work on payloads, so a
  run and a saved scenario are exported the same way.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import math
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import InvalidInput
from geo.numbers import clean_float, decimals_for
from geo.report import N_
from layers import app_schema
from layers.schema import COMMODITY_VALUES
from planner.models import MODEL_NAMES, MODELS as MODEL_REGISTRY, solver_steps

from .. import services
from .jsonout import dumps

FACILITIES = ("cold_storage", "industry_bases", "relocation_settlements")
MODELS = MODEL_NAMES  # planner.models: one registry of models
DECAYS = ("linear", "power", "exponential")
#: Most points on the coverage curve (each is one exact solve).
MAX_CURVE = 12
SOURCES = ("towns", "industry_bases", "network", "proposals", "drawn")
#: Most user-drawn candidate points accepted in one request (the query string carries them).
MAX_POINTS = 200
MAX_NAME = 80
#: Threads computing service areas of several new sites at once.
AREA_THREADS = 2

_SCENARIO_SCHEMA = app_schema.SCENARIOS


class PlanningError(InvalidInput):
    """A planning question that cannot be asked as given (a form or query parameter).

    The message is a msgid of the app's catalog (``web/translations``) filled with the
    parameters; :meth:`message` translates it for a language, so the error itself is
    Flask-free and every adapter shows it in its user's language. Parameters ending in
    ``_msgid`` are themselves translated (field labels).
    """

    code = "planning.invalid_parameter"

    def __init__(self, msgid: str, **params):
        self.msgid = msgid
        super().__init__(**params)

    def message(self, lang: str = "en", *, translate=None) -> str:
        from web.i18n import catalog_gettext

        gettext = catalog_gettext("zh" if str(lang or "").lower().startswith("zh") else "en")
        values = {k[:-len("_msgid")] if k.endswith("_msgid") else k: gettext(v) if k.endswith("_msgid") else v
                  for k, v in self.params.items()}
        try:
            return gettext(self.msgid, **values)
        except (KeyError, ValueError, TypeError):  # a broken translation must not hide the problem
            return self.msgid % values


# =========================================================================== parameters
def _number(args, name, kind, *, default=None, lo=None, hi=None, label=None):
    raw = str(args.get(name, "") or "").strip().replace("，", ".")
    if raw == "":
        return default
    try:
        value = kind(float(raw)) if kind is int and re.fullmatch(r"-?\d+(\.0*)?", raw) else kind(raw)
    except ValueError:
        raise PlanningError(N_("%(field)s must be a number (got “%(value)s”)."), field_msgid=label or name,
                            value=raw[:40]) from None
    if not math.isfinite(value) or (lo is not None and value < lo) or (hi is not None and value > hi):
        raise PlanningError(N_("%(field)s must be between %(lo)s and %(hi)s (got %(value)s)."),
                            field_msgid=label or name, lo=lo, hi=hi, value=raw[:40])
    return value


def _flag(args, name, default: bool) -> bool:
    raw = str(args.get(name, "") or "").strip().lower()
    if raw == "":
        return default
    return raw in ("1", "true", "yes", "on")


def parse_points(text: str) -> tuple[tuple[float, float], ...]:
    """``"111.1,34.2;111.3,34.25"`` (lon,lat pairs) → tuple of pairs, checked."""
    points = []
    for part in str(text or "").split(";"):
        if not part.strip():
            continue
        try:
            lon, lat = (float(v) for v in part.split(","))
        except ValueError:
            raise PlanningError(
                N_("Drawn points must be “longitude,latitude” pairs separated by semicolons.")) from None
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise PlanningError(N_("Drawn point %(lon)s, %(lat)s is not a longitude/latitude."), lon=lon, lat=lat)
        points.append((round(lon, 6), round(lat, 6)))
    if len(points) > MAX_POINTS:
        raise PlanningError(N_("At most %(n)s drawn points are accepted."), n=MAX_POINTS)
    return tuple(points)


@dataclass(frozen=True)
class PlacementQuestion:
    """One placement question — the page's form and query string, a saved scenario, and
    ``ruralplan place`` all ask it in this one frozen shape (:func:`web.services.plan`).

    ``limit`` says whether the number of new sites (``p``) or a budget (``budget_wan``,
    with ``site_cost_wan`` per new site; empty: the candidates' own costs where known,
    else :data:`web.services.DEFAULT_SITE_COST_WAN`) bounds the plan. ``lscp`` needs
    neither: it finds the fewest sites.
    """

    facility: str = "cold_storage"
    model: str = "mclp"
    limit: str = "p"
    p: int | None = 3
    budget_wan: float | None = None
    site_cost_wan: float | None = None
    minutes: float | None = 30.0
    demand: str = "population"
    candidates: str = "towns"
    points: tuple[tuple[float, float], ...] = ()
    keep_existing: bool = True
    time_limit_s: float = 10.0
    new_capacity_t: float = 2000.0
    split_demand: bool = True
    decay: str = "linear"
    beta: float | None = None
    target_share: float | None = None
    curve_k: int | None = None
    #: A stored network scenario (:mod:`web.services.scenarios`) to plan on; None: the base network.
    scenario: str | None = None

    #: The query key of each solver option of :data:`planner.models.OPTIONS` (for messages).
    QUERY_OPTION_NAMES = {"weights": "demand", "p": "p", "radius_min": "minutes", "budget_wan": "budget",
                          "site_cost_wan": "site_cost", "beta": "beta", "decay": "decay", "target_share": "target_pct",
                          "split": "split", "demand_t": "demand", "capacity_t": "new_capacity_t"}

    #: The query keys :meth:`from_args` reads (the planning form's fields).
    ARG_KEYS = frozenset({"facility", "model", "candidates", "limit", "site_cost", "p", "budget", "minutes",
                          "decay", "beta", "target_pct", "curve", "demand", "points", "keep_existing",
                          "time_limit", "new_capacity_t", "split", "scenario"})

    @classmethod
    def check_known_args(cls, args, *, also=()) -> None:
        """:class:`PlanningError` naming the first key of ``args`` that is not a question's
        (nor in ``also``): a saved link with a misspelt key must not plan another question."""
        for key in args.keys():
            if key not in cls.ARG_KEYS and key not in also:
                raise PlanningError(N_("Unknown parameter “%(value)s”."), value=str(key)[:40])

    @classmethod
    def from_args(cls, args) -> "PlacementQuestion":
        """Parse request args (a MultiDict or dict); :class:`PlanningError` when invalid."""
        from planner.placement import DemandSpec

        facility = str(args.get("facility") or cls.facility)
        if facility not in FACILITIES:
            raise PlanningError(N_("Unknown facility type “%(value)s”."), value=facility[:40])
        model = str(args.get("model") or cls.model)
        if model not in MODELS:
            raise PlanningError(N_("Unknown model “%(value)s”."), value=model[:40])
        source = str(args.get("candidates") or cls.candidates)
        if source not in SOURCES:
            raise PlanningError(N_("Unknown candidate source “%(value)s”."), value=source[:40])
        limit = str(args.get("limit") or "p")
        if limit not in ("p", "budget"):
            raise PlanningError(N_("Limit the plan by a number of sites or by a budget."))
        if limit == "budget" and MODEL_REGISTRY[model].takes_p:
            from planner.models import check_options

            # a budget the model cannot take (p-center): the registry's typed error, named by the query key
            check_options(model, ["budget_wan"], names=cls.QUERY_OPTION_NAMES, complete=False)
        p = budget = None
        site_cost = _number(args, "site_cost", float, lo=0.01, hi=1e7, label=N_("Cost per site"))
        if MODEL_REGISTRY[model].takes_p:
            if limit == "p":
                p = _number(args, "p", int, lo=1, hi=100, label=N_("Number of new sites"))
                if p is None:
                    raise PlanningError(N_("Give the number of new sites."))
            else:
                budget = _number(args, "budget", float, lo=0.01, hi=1e8, label=N_("Budget"))
                if budget is None:
                    raise PlanningError(N_("Give the budget in 10,000 yuan."))
        minutes = _number(args, "minutes", float, lo=1, hi=600, label=N_("Travel-time cutoff"))
        decay = str(args.get("decay") or "linear")
        if decay not in DECAYS:
            raise PlanningError(N_("Unknown distance decay “%(value)s”."), value=decay[:40])
        beta = _number(args, "beta", float, lo=1e-6, hi=100, label=N_("Decay parameter")) if model == "attendance" \
            else None
        target_pct = _number(args, "target_pct", float, lo=1, hi=100, label=N_("Coverage target (percent)")) \
            if model == "lscp" else None
        curve_k = _number(args, "curve", int, lo=1, hi=MAX_CURVE, label=N_("Coverage curve: up to how many sites"))
        if curve_k is not None and minutes is None:
            raise PlanningError(N_("The coverage curve needs a travel-time cutoff in minutes."))
        if minutes is None and MODEL_REGISTRY[model].needs_cutoff:
            raise PlanningError(N_("This model needs a travel-time cutoff in minutes."))
        demand = str(args.get("demand") or "population").strip()[:300]
        spec = DemandSpec.parse(demand)  # planner.errors.InvalidDemand names what is wrong
        for name, commodities, _weight in spec.terms:
            unknown = [c for c in commodities if c not in COMMODITY_VALUES]
            if unknown:
                raise PlanningError(N_("Unknown commodity “%(value)s”."), value=", ".join(unknown)[:60])
        points = parse_points(args.get("points", "")) if source == "drawn" else ()
        if source == "drawn" and not points:
            raise PlanningError(N_("Click on the map to add candidate points first."))
        return cls(
            facility=facility, model=model, limit=limit, p=p, budget_wan=budget, site_cost_wan=site_cost,
            minutes=minutes, demand=spec.label, candidates=source, points=points,
            keep_existing=_flag(args, "keep_existing", True),
            time_limit_s=_number(args, "time_limit", float, default=10.0, lo=0.5, hi=120, label=N_("Time limit")),
            new_capacity_t=_number(args, "new_capacity_t", float, default=2000.0, lo=1, hi=1e7,
                                   label=N_("Capacity of a new site")),
            split_demand=_flag(args, "split", True),
            decay=decay if model == "attendance" else "linear", beta=beta,
            target_share=None if target_pct is None else target_pct / 100.0, curve_k=curve_k,
            scenario=(str(args.get("scenario") or "").strip()[:64] or None),
        )

    @classmethod
    def from_dict(cls, data: dict) -> "PlacementQuestion":
        """From :meth:`to_dict` (a stored scenario)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["points"] = tuple(tuple(p) for p in known.get("points") or ())
        return cls(**known)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["points"] = [list(p) for p in self.points]
        return d

    def to_query(self) -> dict:
        """The query string that asks this question again (for export links)."""
        q = {"facility": self.facility, "model": self.model, "limit": self.limit, "demand": self.demand,
             "candidates": self.candidates, "keep_existing": int(self.keep_existing),
             "time_limit": f"{self.time_limit_s:g}", "new_capacity_t": f"{self.new_capacity_t:g}",
             "split": int(self.split_demand)}
        if self.model == "attendance":
            q["decay"] = self.decay
        for key, value in (("p", self.p), ("budget", self.budget_wan), ("site_cost", self.site_cost_wan),
                           ("minutes", self.minutes), ("beta", self.beta), ("curve", self.curve_k),
                           ("target_pct", None if self.target_share is None else self.target_share * 100)):
            if value is not None:
                q[key] = f"{value:g}"
        if self.points:
            q["points"] = ";".join(f"{lon},{lat}" for lon, lat in self.points)
        if self.scenario:
            q["scenario"] = self.scenario
        return q

    @property
    def area_cutoff(self) -> float:
        """Cutoff drawn as service areas: the chosen one, else 30 minutes."""
        return float(self.minutes) if self.minutes is not None else 30.0


# =========================================================================== runs
_runs: "OrderedDict[tuple, dict]" = OrderedDict()
_areas: "OrderedDict[tuple, dict]" = OrderedDict()
_lock = threading.Lock()
_RUNS_KEPT = 32
_AREAS_KEPT = 512


def data_version(ws, *, with_proposals: bool = False) -> str:
    """What a run depends on: the layers' version and the network settings.

    Not the file's mtime: saving a scenario (an app-table write) must not throw the
    cached runs away. Proposals live in an app table, so runs on them also key on it.
    """
    meta = ws.meta()
    from .mapdata import data_stamp

    parts = [str(ws.path.stat().st_ino), repr(data_stamp(ws)),
             json.dumps(meta.get("network"), sort_keys=True, default=str)]
    if with_proposals:
        from .mapdata import file_stamp

        parts.append(repr(file_stamp(ws)))
    return "|".join(parts)


def _remember(cache: OrderedDict, key, value, kept: int) -> None:
    with _lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > kept:
            cache.popitem(last=False)


def _recall(cache: OrderedDict, key):
    with _lock:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


_graphs: dict[str, tuple[str, object]] = {}


def _graph(ws, version: str):
    """The road graph for this data version.

    :func:`web.services.road_graph` fingerprints the roads on every call (~50 ms);
    the layers' version already says whether they changed.
    """
    with _lock:
        hit = _graphs.get(str(ws.path))
    if hit is not None and hit[0] == version:
        return hit[1]
    # without roads: the straight-line estimate, labelled in the result (``estimate``)
    graph = services.network_or_estimate(ws)
    with _lock:
        _graphs[str(ws.path)] = (version, graph)
    return graph


def graph_for(ws):
    """The workspace's road graph for the current data version (loaded once)."""
    return _graph(ws, data_version(ws))


#: The former name (scenarios and callers written before the question had one shape).
RunParams = PlacementQuestion


def drawn_candidates(points) -> gpd.GeoDataFrame:
    """User-drawn candidate points as a candidate frame (ids ``drawn-1``…)."""
    return gpd.GeoDataFrame(
        {"id": [f"drawn-{i}" for i in range(1, len(points) + 1)],
         # language-neutral: the result is cached for every visitor (the page labels drawn ids itself)
         "name": [f"#{i}" for i in range(1, len(points) + 1)],
         "source": "drawn"},
        geometry=shapely.points(np.asarray(points, dtype=float).reshape(-1, 2)), crs="EPSG:4326")


def demand_unit(spec: str) -> str:
    """The unit of a weight spec's values: "t" when every term is produce (tonnes), else ""."""
    from planner.placement import DemandSpec

    terms = DemandSpec.parse(spec).terms
    return "t" if terms and all(name == "produce" and weight == 1 for name, _a, weight in terms) else ""


def run(ws, params: PlacementQuestion, *, with_areas: bool = True, time_limit_s: float | None = None) -> dict:
    """Answer ``params`` on ``ws``: the page's JSON payload (cached).

    ``params.time_limit_s`` covers the whole answer: on a network scenario the
    scenario's plan gets half of it and the same question on the base network
    (shown beside it) what is left, unless that one is cached.  ``time_limit_s``
    overrides the limit for this computation (an answer computed with less
    time than its question asks is not cached).

    Returns a dict with ``params``, ``result`` (:meth:`PlacementResult.to_dict`),
    ``sites`` and ``allocations`` (GeoJSON), ``areas`` (GeoJSON of the new sites'
    service areas, or None when ``with_areas`` is false), ``area_cutoff`` and
    ``timing`` (milliseconds per step; ``cached`` when nothing was computed).
    """
    t0 = time.perf_counter()
    version = data_version(ws, with_proposals=params.candidates == "proposals")
    sc = None
    if params.scenario:
        from . import scenarios

        sc = scenarios.get_scenario(ws, params.scenario)  # UnknownScenario: typed (404) for the adapter
        # runs and service areas on a scenario are cached apart, and again when it is edited
        version = f"{version}|scenario:{scenarios.scenario_key(sc)}"
    key = (str(ws.path), version, params)
    payload = _recall(_runs, key)
    timing = {"cached": payload is not None}
    if payload is None:
        t = time.perf_counter()
        if sc is None:
            graph = _graph(ws, key[1])  # BadSetting / NoRoads: typed, translated by the adapter
        else:
            from . import scenarios

            graph = scenarios.road_graph(ws, scenario=sc)
        timing["graph_ms"] = _ms(t)
        cand = drawn_candidates(params.points) if params.candidates == "drawn" else None
        t = time.perf_counter()
        from dataclasses import replace

        plan_q = params
        if sc is not None:  # the base network's answer shares the limit
            plan_q = replace(plan_q, time_limit_s=params.time_limit_s / 2)
        if time_limit_s is not None:
            plan_q = replace(plan_q, time_limit_s=min(plan_q.time_limit_s, time_limit_s))
        outcome = services.plan(ws, plan_q, candidates=cand, graph=graph)
        timing["plan_ms"] = _ms(t)
        t = time.perf_counter()
        features = outcome.to_geojson()["features"]
        payload = {
            "params": params.to_dict(),
            "result": outcome.to_dict(),
            "sites": _collection(f for f in features if f["properties"].get("kind") == "site"),
            "allocations": _collection(_rounded(f) for f in features
                                       if f["properties"].get("kind") == "allocation"),
            "area_cutoff": params.area_cutoff,
            "data_version": key[1],
            "unit": demand_unit(params.demand),
        }
        solver = payload["result"].get("solver")
        if isinstance(solver, dict):  # the method as steps + note, for pages and exports to name
            solver.update(solver_steps(solver.get("method")))
        payload["_graph"] = graph
        if sc is not None:  # the same question on the base network, for the difference
            left = (params.time_limit_s if time_limit_s is None else time_limit_s) - (time.perf_counter() - t0)
            base = run(ws, replace(params, scenario=None), with_areas=False,
                       time_limit_s=max(0.05, left))["result"]
            payload["base_network"] = {"totals": base["totals"],
                                       "new_sites": [x["name"] for x in base["sites"] if not x["fixed"]]}
            payload["scenario"] = sc.name
        timing["serialise_ms"] = _ms(t)
        if time_limit_s is None or time_limit_s >= params.time_limit_s:
            _remember(_runs, key, payload, _RUNS_KEPT)
    out = {k: v for k, v in payload.items() if not k.startswith("_")}
    out["areas"] = None
    if with_areas:
        t = time.perf_counter()
        out["areas"], timing["areas_cached"] = service_area_features(ws, payload)
        timing["areas_ms"] = _ms(t)
    timing["total_ms"] = _ms(t0)
    out["timing"] = timing
    return out


def service_area_features(ws, payload: dict) -> tuple[dict, bool]:
    """Service areas of the payload's NEW sites at its cutoff, as GeoJSON (cached per site).

    Returns the FeatureCollection and whether every area came from the cache.
    """
    from planner.service_area import service_areas

    cutoff = float(payload["area_cutoff"])
    new = [f for f in payload["sites"]["features"] if not f["properties"].get("fixed")]
    version = payload["data_version"]
    keys = [(str(ws.path), version, tuple(np.round(f["geometry"]["coordinates"], 6)), cutoff) for f in new]
    found = {k: _recall(_areas, k) for k in keys}
    missing = [f for k, f in zip(keys, new) if found[k] is None]
    if missing:
        settings = services.NetworkSettings.from_workspace(ws)
        graph = payload.get("_graph") or _graph(ws, version)
        frame = gpd.GeoDataFrame(
            {"id": [f["properties"]["id"] for f in missing], "name": [f["properties"]["name"] for f in missing]},
            geometry=[shapely.geometry.shape(f["geometry"]) for f in missing], crs="EPSG:4326")

        def one(i):
            return service_areas(graph, frame.iloc[[i]], cutoffs_min=(cutoff,), max_snap_m=settings.max_snap_m,
                                 access_speed_kmh=settings.access_speed_kmh)

        # one site per thread: the polygon union (GEOS) releases the GIL, so two cores
        # halve the wait for p >= 2
        with ThreadPoolExecutor(max_workers=min(len(missing), AREA_THREADS)) as pool:
            areas = pd.concat(list(pool.map(one, range(len(missing)))), ignore_index=True)
        # ~10 m simplification and 1e-5° coordinates: invisible at county scale, 5-10x
        # smaller payloads (the raw polygons carry a vertex every few metres)
        geoms = shapely.set_precision(shapely.simplify(areas.geometry.to_numpy(), 1e-4), 1e-5)
        for f, geom, area in zip(missing, geoms, areas["area_km2"]):
            k = (str(ws.path), version, tuple(np.round(f["geometry"]["coordinates"], 6)), cutoff)
            found[k] = {"geometry": shapely.geometry.mapping(geom) if not geom.is_empty else None,
                        "area_km2": round(float(area), 2)}
            _remember(_areas, k, found[k], _AREAS_KEPT)
    features = []
    for k, f in zip(keys, new):
        hit = found[k]
        features.append({"type": "Feature", "geometry": hit["geometry"], "properties": {
            "kind": "service_area", "site_id": f["properties"]["id"], "site_name": f["properties"]["name"],
            "cutoff_min": cutoff, "area_km2": hit["area_km2"]}})
    return {"type": "FeatureCollection", "features": features}, not missing


def _ms(t: float) -> float:
    return round((time.perf_counter() - t) * 1000, 1)


def _collection(features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def _rounded(feature: dict) -> dict:
    geom = feature.get("geometry")
    if geom and geom.get("type") == "LineString":
        geom = {"type": "LineString", "coordinates": [[round(x, 6), round(y, 6)] for x, y in geom["coordinates"]]}
    return {**feature, "geometry": geom}


# =========================================================================== scenarios
@dataclass
class Scenario:
    id: int
    name: str
    username: str | None
    created_at: str
    params: dict
    payload: dict | None = field(default=None, repr=False)
    summary: dict = field(default_factory=dict)


def ensure_table(ws) -> None:
    with ws.transaction() as con:
        con.execute(_SCENARIO_SCHEMA)


def save_scenario(ws, name: str, payload: dict, *, username: str | None) -> int:
    """Store a run's payload (parameters, result, GeoJSON, service areas) under ``name``."""
    name = " ".join(str(name or "").split())[:MAX_NAME]
    if not name:
        raise PlanningError(N_("Give the scenario a name."))
    stored = {k: v for k, v in payload.items() if k not in ("timing",) and not k.startswith("_")}
    with ws.transaction() as con:
        con.execute(_SCENARIO_SCHEMA)
        cur = con.execute(
            "INSERT INTO rp_scenarios(name, username, created_at, params, result, data_version) VALUES (?,?,?,?,?,?)",
            (name, username, _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
             json.dumps(payload["params"], ensure_ascii=False),
             json.dumps(stored, ensure_ascii=False, separators=(",", ":")), payload.get("data_version")))
        return int(cur.lastrowid)


def _summary(payload: dict) -> dict:
    r = payload["result"]
    t = r.get("totals") or {}
    return {"new_sites": [s["name"] for s in r["sites"] if not s.get("fixed")],
            "covered_before": t.get("covered_before"), "covered_after": t.get("covered_after"),
            "demand": t.get("demand"), "model": r.get("model"), "weight": r.get("demand")}


def list_scenarios(ws) -> list[Scenario]:
    """Saved scenarios, newest first (with a summary, without the full payload)."""
    import sqlite3

    try:
        with ws.connect() as con:
            rows = con.execute("SELECT id, name, username, created_at, params, result FROM rp_scenarios "
                               "ORDER BY id DESC").fetchall()
    except sqlite3.OperationalError:  # no table yet: nothing saved
        return []
    return [Scenario(r[0], r[1], r[2], r[3], json.loads(r[4]), summary=_summary(json.loads(r[5]))) for r in rows]


def get_scenario(ws, scenario_id: int) -> Scenario | None:
    import sqlite3

    try:
        with ws.connect() as con:
            row = con.execute("SELECT id, name, username, created_at, params, result FROM rp_scenarios WHERE id = ?",
                              (int(scenario_id),)).fetchone()
    except sqlite3.OperationalError:
        return None
    if row is None:
        return None
    payload = json.loads(row[5])
    return Scenario(row[0], row[1], row[2], row[3], json.loads(row[4]), payload=payload, summary=_summary(payload))


def delete_scenario(ws, scenario_id: int) -> bool:
    import sqlite3

    try:
        with ws.transaction() as con:
            cur = con.execute("DELETE FROM rp_scenarios WHERE id = ?", (int(scenario_id),))
            return cur.rowcount > 0
    except sqlite3.OperationalError:
        return False


def scenario_json(s: Scenario) -> dict:
    from ..formatting import format_datetime

    return {"id": s.id, "name": s.name, "username": s.username, "created_at": s.created_at,
            "created_local": format_datetime(s.created_at), "params": s.params,
            "summary": s.summary}


# =========================================================================== comparison
PARAM_KEYS = ("facility", "model", "limit", "p", "budget_wan", "site_cost_wan", "minutes", "demand", "candidates",
              "keep_existing", "time_limit_s")


def compare(a: Scenario, b: Scenario) -> dict:
    """Two scenarios side by side: parameters, totals, new sites and the by-town table.

    Differences are B − A. Towns are matched by name; a town missing on one side
    (another data version) shows blanks there.
    """
    ra, rb = a.payload["result"], b.payload["result"]
    params = [{"key": k, "a": a.params.get(k), "b": b.params.get(k), "differs": a.params.get(k) != b.params.get(k)}
              for k in PARAM_KEYS]
    ta, tb = ra.get("totals") or {}, rb.get("totals") or {}
    totals = []
    for k in ("demand", "covered_before", "covered_after", "new_sites", "existing_sites", "candidates"):
        va, vb = ta.get(k), tb.get(k)
        totals.append({"key": k, "a": va, "b": vb, "diff": None if va is None or vb is None else vb - va})
    for k in ("objective", "gap", "seconds"):
        va, vb = ra["solver"].get(k), rb["solver"].get(k)
        totals.append({"key": k, "a": va, "b": vb, "diff": None if va is None or vb is None else vb - va})
    new_a = [s for s in ra["sites"] if not s.get("fixed")]
    new_b = [s for s in rb["sites"] if not s.get("fixed")]
    ids_a, ids_b = {s["id"] for s in new_a}, {s["id"] for s in new_b}
    towns_a = {r["town"]: r for r in ra["by_town"]}
    towns_b = {r["town"]: r for r in rb["by_town"]}
    by_town = []
    for town in sorted(set(towns_a) | set(towns_b)):
        x, y = towns_a.get(town, {}), towns_b.get(town, {})
        row = {"town": town, "demand": x.get("demand", y.get("demand"))}
        for k in ("covered_after", "share_after", "mean_minutes_after"):
            va, vb = x.get(k), y.get(k)
            row[f"{k}_a"], row[f"{k}_b"] = va, vb
            row[f"{k}_diff"] = None if va is None or vb is None else vb - va
        by_town.append(row)
    return {
        "params": params, "totals": totals, "by_town": by_town,
        "sites_a": [{**s, "shared": s["id"] in ids_b} for s in new_a],
        "sites_b": [{**s, "shared": s["id"] in ids_a} for s in new_b],
    }


# =========================================================================== exports
def export_geojson(payload: dict) -> dict:
    """Sites, allocation lines and service areas in one FeatureCollection (``kind`` tells
    them apart), with the parameters, solver facts and totals as a foreign member."""
    features = []
    for part in ("areas", "allocations", "sites"):
        collection = payload.get(part) or {"features": []}
        features.extend(collection["features"])
    r = payload["result"]
    return {"type": "FeatureCollection", "features": features,
            "ruralplan": {"params": payload["params"], "solver": r["solver"], "totals": r["totals"],
                          "model": r["model"], "demand": r["demand"], "minutes": r["minutes"],
                          "unit": payload.get("unit", ""), "semantics": SEMANTICS_EN,
                          "curve": r.get("curve")}}


#: What "serves" means, stated in every export (the page says it in the visitor's language).
SEMANTICS_EN = ("A site serves the villages with demand weight > 0 assigned to it (nearest open site; within the "
                "cutoff for coverage models). Villages with weight 0 (e.g. no tonnes of the chosen produce) are "
                "neither drawn as allocations nor counted as served.")


def export_excel(payload: dict, *, labels: dict, title: str = "", describe=None) -> bytes:
    """An .xlsx workbook: sites with explanations, by town, unreachable villages, parameters.

    ``labels`` maps column keys, sheet names and ``param:<key>`` (parameters, solver
    facts, totals) to the current language; ``describe(key, value)`` gives a parameter's
    readable value (the raw one stays in the ``code`` column).
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from geo.vector import append_rows

    r = payload["result"]
    coords = {f["properties"]["id"]: f["geometry"]["coordinates"] for f in payload["sites"]["features"]
              if f.get("geometry")}
    wb = Workbook()

    def sheet(ws_, keys, rows):
        append_rows(ws_, [[labels.get(k, k) for k in keys]])
        for cell in ws_[1]:
            cell.font = Font(bold=True)
        append_rows(ws_, ([_cell(row.get(k), k) for k in keys] for row in rows))
        for i, k in enumerate(keys, start=1):
            width = max([len(str(labels.get(k, k)))] + [len(str(_cell(row.get(k), k) or "")) for row in rows[:200]])
            ws_.column_dimensions[get_column_letter(i)].width = min(48, max(8, width * 1.6))
        ws_.freeze_panes = "A2"

    sites_rows = []
    for s in r["sites"]:
        lon, lat = coords.get(s["id"], (None, None))
        sites_rows.append({**s, "status_text": labels["existing"] if s.get("fixed") else labels["new"],
                           "lon": lon, "lat": lat})
    first = wb.active
    first.title = labels["sheet_sites"]
    sheet(first, ["name", "id", "status_text", "demand_served", "demand_count", "loss_if_removed", "nearest_existing",
                  "runner_up", "runner_up_delta", "nearest_site", "lon", "lat"], sites_rows)
    sheet(wb.create_sheet(labels["sheet_towns"]),
          ["town", "villages", "demand", "covered_before", "covered_after", "share_before", "share_after",
           "mean_minutes_before", "mean_minutes_after"], r["by_town"])
    reasons = labels.get("reasons", {})
    sheet(wb.create_sheet(labels["sheet_unreachable"]), ["village_code", "village_name", "town", "weight", "reason"],
          [{**u, "reason": reasons.get(u.get("reason"), u.get("reason"))} for u in r["unreachable"]])
    describe = describe or (lambda _k, v: v)

    def item(k, v):
        # numbers stay numbers (Excel can compute with them); codes and flags get words
        readable = v if isinstance(v, (int, float)) and not isinstance(v, bool) else describe(k, v)
        return {"key": labels.get(f"param:{k}", k), "value": readable, "code": v}

    params = [item(k, v) for k, v in payload["params"].items() if k != "points"]
    if payload["params"].get("points"):
        params.append(item("points", "; ".join(f"{x},{y}" for x, y in payload["params"]["points"])))
    params += [item(k, v) for k, v in r["solver"].items() if k not in ("params", "steps", "note")]  # method names them
    # totals share two names with parameters (demand, candidates): keep them apart
    renamed = {"demand": "demand_total", "candidates": "candidates_n"}
    params += [item(renamed.get(k, k), v) for k, v in r["totals"].items()]
    if title:
        params.insert(0, {"key": labels.get("scenario", "scenario"), "value": title})
    unit = payload.get("unit", "")
    if unit:
        params.append({"key": labels.get("unit", "unit"), "value": labels.get(f"unit:{unit}", unit), "code": unit})
    params.append({"key": labels.get("semantics_key", "served"), "value": labels.get("semantics", SEMANTICS_EN),
                   "code": ""})
    estimate = r.get("estimate")
    if estimate:  # no roads layer: every minute in the workbook is the straight-line estimate
        text = labels.get("estimate", "ESTIMATE (no roads layer): straight-line distance × {factor} at {speed} km/h")
        params.append({"key": labels.get("estimate_key", "estimate"), "code": estimate["method"],
                       "value": text.replace("{factor}", f"{estimate['detour_factor']:g}")
                                    .replace("{speed}", f"{estimate['speed_kmh']:g}")})
    sheet(wb.create_sheet(labels["sheet_params"]), ["key", "value", "code"], params)
    curve = r.get("curve")
    if curve:
        statuses = labels.get("statuses", {})
        rows = [{**pt, "site_names": "、".join(pt.get("site_names") or []),
                 "status": statuses.get(pt.get("status"), pt.get("status"))} for pt in curve["points"]]
        sheet(wb.create_sheet(labels.get("sheet_curve", "curve")),
              ["k", "budget_wan", "covered", "share", "gain", "gain_share", "status", "site_names"], rows)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _cell(value, key: str | None = None):
    """A workbook cell: a number at the precision of the unit ``key`` names (the one
    output rule, :mod:`geo.numbers`: lon/lat 1e-7, minutes 0.01, else 12 significant
    digits), lists and dicts as JSON."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return clean_float(value, decimals_for(key))
    if isinstance(value, (list, dict)):
        return dumps(value)
    return value
