"""Suggest where projects go: the geographic adapter over :mod:`planner.locate`.

The location models work on a plain cost matrix. This module builds that matrix from
the road graph (villages × candidate sites, door-to-door minutes), the demand weights
from village attributes, and turns the model's answer back into geography: chosen
sites with explanations, allocation lines and a before/after coverage table by town.

Existing facilities enter as fixed sites (always open), so "3 new cold stores" means
three sites on top of what the county already has.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.errors import (BudgetNeedsCosts, CapacityMissing, InvalidDemand, InvalidParameter, NoCandidates,
                            UnknownCommodity)
from planner.graph import RoadGraph
from planner.models import MODEL_NAMES, get_model
from planner.models import solve_model as solve
from planner.locate._common import check_time_limit
from planner.locate._deadline import Deadline
from planner.locate.result import LocateResult
from planner.snap import DEFAULT_MAX_SNAP_M, snap_points
from planner.travel import point_reasons, round_minutes, travel_time_matrix
from planner._json import jsonable, records

MODELS = MODEL_NAMES  # the registry's names (planner.models)
#: A village on the network that reaches a site, but none within the model's cutoff.
REASON_BEYOND_CUTOFF = "too_far"
#: Demand measures a weight spec can name (besides ``produce:<commodity,...>``).
MEASURES = {
    "population": ("population",),
    "households": ("households",),
    "monitored": ("monitored_unstable", "monitored_marginal", "monitored_sudden"),
    "villages": (),
}


@dataclass(frozen=True)
class DemandSpec:
    """Demand weight per village: a weighted mix of measures.

    Written as ``population``, ``produce:apple,hawthorn``, ``monitored`` or a mix such as
    ``population*0.5+monitored*100`` (each term ``measure[:args]*factor``).
    """

    terms: tuple[tuple[str, tuple[str, ...], float], ...]

    @classmethod
    def parse(cls, text: str) -> "DemandSpec":
        terms = []
        for raw in str(text).replace(" ", "").split("+"):
            if not raw:
                continue
            body, _, factor = raw.partition("*")
            name, _, args = body.partition(":")
            try:
                weight = float(factor) if factor else 1.0
            except ValueError:
                raise InvalidDemand(spec=text, reason_en=f"weight factor {factor!r} is not a number",
                                    reason_zh=f"权重系数 {factor!r} 不是数字") from None
            if name == "produce":
                commodities = tuple(a for a in re.split(r"[,，]", args) if a)
                if not commodities:
                    raise InvalidDemand(spec=text,
                                        reason_en="produce weights need commodities, e.g. produce:apple,hawthorn",
                                        reason_zh="产量权重需要指明农产品，如 produce:apple,hawthorn")
                terms.append(("produce", commodities, weight))
            elif name in MEASURES:
                terms.append((name, (), weight))
            else:
                raise InvalidDemand(spec=text, reason_en=f"unknown demand weight {name!r}; expected population, "
                                    "households, monitored, villages or produce:<commodities>",
                                    reason_zh=f"未知的需求权重 {name!r}；可用 population、households、monitored、"
                                    "villages 或 produce:<农产品>")
        if not terms:
            raise InvalidDemand(spec=text, reason_en="empty demand weight specification", reason_zh="需求权重为空")
        return cls(tuple(terms))

    @property
    def commodities(self) -> tuple[str, ...]:
        """Commodities named by produce terms (empty when demand is not produce)."""
        return tuple(c for name, args, _w in self.terms if name == "produce" for c in args)

    def columns(self, villages: pd.DataFrame) -> tuple[str, ...]:
        """The village columns the weights read (``villages`` reads none)."""
        cols: list[str] = []
        for name, args, _weight in self.terms:
            if name == "produce":
                cols += [f"produce_{c}_t" for c in args]
            elif name != "villages":
                cols += [c for c in MEASURES[name] if c in villages.columns] or list(MEASURES[name])
        return tuple(dict.fromkeys(cols))

    def checked_weights(self, villages: pd.DataFrame) -> np.ndarray:
        """:meth:`weights`, refusing a demand that is zero everywhere.

        Raises
        ------
        planner.errors.ZeroDemand
            When no village has a positive weight (e.g. produce columns that
            default to 0): a plan would be "optimal" with nothing served.
        """
        from planner.errors import ZeroDemand

        w = self.weights(villages)
        if not (w > 0).any():
            raise ZeroDemand(weight=self.label, columns=", ".join(self.columns(villages)) or "-",
                             villages=len(villages))
        return w

    @property
    def label(self) -> str:
        parts = []
        for name, args, weight in self.terms:
            body = f"{name}:{','.join(args)}" if args else name
            parts.append(body if weight == 1 else f"{body}*{weight:g}")
        return "+".join(parts)

    def weights(self, villages: pd.DataFrame) -> np.ndarray:
        total = np.zeros(len(villages))
        for name, args, weight in self.terms:
            if name == "produce":
                cols = [f"produce_{c}_t" for c in args]
                missing = [c for c in cols if c not in villages.columns]
                if missing:
                    raise UnknownCommodity(commodity=", ".join(m[len("produce_"):-len("_t")] for m in missing),
                                           column=", ".join(missing), available="—")
            elif name == "villages":
                total += weight
                continue
            else:
                cols = [c for c in MEASURES[name] if c in villages.columns]
            values = villages[cols].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy(float)
            total += weight * values.sum(axis=1)
        return total


@dataclass(frozen=True)
class PlacementResult:
    """A suggested placement in geographic terms.

    Attributes
    ----------
    result : LocateResult
        The model's answer over the cost matrix (columns: candidates, then existing).
    sites : GeoDataFrame
        Every open site (existing ones flagged ``fixed``) with its explanation.
    allocations : GeoDataFrame
        One line per served village: village → its site, with minutes and weight.
    by_town : DataFrame
        Demand covered within the cutoff before (existing only) and after, per town.
    unreachable : DataFrame
        Villages no site can serve, with the reason (not on the road network, or too far).
    off_network_sites : list of dict
        Candidate or existing sites that are not on the road network (``id``,
        ``name``, ``fixed``, ``reason``, ``network_m``, ``fragment_m``): they serve
        nobody, and are named rather than silently dropped.
    """

    model: str
    demand: str
    minutes: float | None
    result: LocateResult
    sites: gpd.GeoDataFrame
    allocations: gpd.GeoDataFrame
    by_town: pd.DataFrame
    unreachable: pd.DataFrame
    totals: dict = field(default_factory=dict)
    curve: Any = None  # planner.locate.CoverageCurve, when asked for
    site_names: tuple[str, ...] = ()  # every cost-matrix column's name (for the curve's sites)
    off_network_sites: list = field(default_factory=list)
    #: Set when there is no road network (:meth:`planner.estimate.StraightLineEstimate.to_dict`).
    estimate: dict | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "demand": self.demand,
            "minutes": self.minutes,
            "solver": {k: v for k, v in self.result.to_dict().items()
                       if k in ("method", "status", "objective", "bound", "gap", "seconds", "params")},
            "totals": jsonable(self.totals),
            "sites": records(self.sites.drop(columns="geometry")),
            "by_town": records(self.by_town),
            "unreachable": records(self.unreachable),
            "curve": None if self.curve is None else self._curve_dict(),
            "off_network_sites": list(self.off_network_sites),
            "estimate": self.estimate,
        }

    def _curve_dict(self) -> dict:
        """The coverage curve with site names (``site_names``) instead of bare indices."""
        out = self.curve.to_dict()
        names = self.site_names
        for pt in out["points"]:
            pt["site_names"] = [names[i] for i in pt["sites"]]
        return out

    def to_geojson(self) -> dict:
        """Sites and allocation lines as one FeatureCollection (``kind`` tells them apart)."""
        sites = self.sites.assign(kind="site")
        lines = self.allocations.assign(kind="allocation")
        features = []
        for frame in (lines, sites):
            features.extend(_features(frame))
        return {"type": "FeatureCollection", "features": features}


#: Share of ``time_limit_s`` kept for assembling the answer (allocations, by-town
#: table, reasons) after the last solve.
PLACEMENT_RESERVE = 0.05


def plan_placement(
    graph: RoadGraph,
    villages: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    existing: gpd.GeoDataFrame | None = None,
    model: str = "mclp",
    demand: str | DemandSpec = "population",
    p: int | None = None,
    minutes: float | None = None,
    budget_wan: float | None = None,
    site_cost_wan: float | Sequence[float] | None = None,
    new_capacity_t: float | None = None,
    split_demand: bool = True,
    time_limit_s: float = 10.0,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    decay: str = "linear",
    beta: float | None = None,
    target_share: float | None = None,
    curve_k: int | None = None,
) -> PlacementResult:
    """Choose sites among ``candidates`` for the villages' demand.

    Parameters
    ----------
    graph
        The county road graph.
    villages
        Demand points (``code``, ``name``, ``town`` and measures).
    candidates
        Candidate sites with ``id`` and ``name``; a ``cost_wan`` column gives per-site
        costs for the budget variant, ``capacity_t`` capacities for ``cmclp``.
    existing
        Facilities already there (fixed open; their ``capacity_t`` used by ``cmclp``).
    model
        ``pmedian`` (least weighted minutes), ``mclp`` (most demand within ``minutes``),
        ``lscp`` (fewest sites covering all coverable demand within ``minutes``),
        ``pcenter`` (least worst-case minutes) or ``cmclp`` (capacitated coverage of
        produce tonnage).
    demand
        Weight spec, see :class:`DemandSpec`.
    p
        Number of NEW sites (existing ones come on top).
    minutes
        Coverage cutoff for mclp/lscp/cmclp; also used for the before/after table.
    budget_wan, site_cost_wan
        Total budget and per-candidate cost (万元); ``site_cost_wan`` defaults to the
        candidates' ``cost_wan`` column.
    new_capacity_t
        Capacity of a new site for ``cmclp`` when candidates have no ``capacity_t``.
    split_demand
        ``cmclp``: whether one village's tonnage may be split over several sites.
    decay, beta
        ``attendance``: distance decay of attendance up to ``minutes`` (see
        :func:`planner.locate.solve_attendance`).
    target_share
        ``lscp``: the fewest sites covering at least this share of the demand
        within ``minutes`` (instead of all coverable demand).
    curve_k
        Also compute the coverage curve within ``minutes``: optimal coverage for
        1..``curve_k`` new sites, or, with a budget, for ``curve_k`` budgets
        up to ``budget_wan`` (:func:`planner.locate.coverage_curve`); the time
        limit is shared between the plan and the curve.
    time_limit_s
        Seconds for the whole call: travel times, the solve with its
        explanations, the existing stores' evaluation (``cmclp``) and the
        curve each get a share of what is left when they start (the answer is
        then honest about it: status "time_limit", bound and gap).

    Raises
    ------
    planner.errors.ZeroDemand
        No village has a positive weight.
    planner.errors.TargetUnreachable
        ``target_share`` above what every candidate together covers.
    ValueError
        Unknown model, missing cutoff, no candidates, bad options.
    """
    # One deadline for the whole call (travel times, the solve, the existing stores'
    # evaluation, the curve): each stage gets a share of what is left when it starts.
    deadline = Deadline(check_time_limit(time_limit_s))
    if (get_model(model).needs_cutoff or curve_k) and minutes is None:
        raise InvalidParameter(name="minutes", value=None, expected_en=f"model {model} needs a coverage cutoff "
                               "in minutes", expected_zh=f"{model} 模型需要覆盖时间阈值（分钟）")
    if len(candidates) == 0:
        raise NoCandidates(source="candidates")
    spec = demand if isinstance(demand, DemandSpec) else DemandSpec.parse(demand)
    existing = existing if existing is not None and len(existing) else None
    sites_all = _stack_sites(candidates, existing)
    n_new = len(candidates)
    fixed = list(range(n_new, len(sites_all)))

    village_snap = snap_points(graph, villages, max_snap_m=max_snap_m)
    matrix = travel_time_matrix(graph, villages, sites_all, origin_snap=village_snap, max_snap_m=max_snap_m)
    cost = matrix.minutes.astype(float)
    # A site "serves" villages with weight > 0: with none, there is nothing to plan.
    weights = spec.checked_weights(villages)

    # What the travel times left, less a reserve for assembling the answer: the plan gets
    # it all, or half with the curve, or 85 % when the existing stores are evaluated alone.
    left = deadline.solver_s(PLACEMENT_RESERVE)
    plan_limit = left * (0.5 if curve_k else 1.0) * (0.85 if model == "cmclp" and fixed else 1.0)
    kwargs: dict[str, Any] = {"fixed": fixed, "time_limit_s": plan_limit}
    if get_model(model).takes_p:
        kwargs["p"] = p
    if get_model(model).needs_cutoff:
        kwargs["radius_min"] = float(minutes)
    if model == "attendance":
        kwargs["decay"] = decay
        if beta is not None:
            kwargs["beta"] = float(beta)
    if model == "lscp" and target_share is not None:
        kwargs["target_share"] = float(target_share)
    if "weights" in get_model(model).options:
        # lscp/pcenter: zero-weight villages need no cover, and "demand served" is in
        # the weight's unit (people, tonnes) rather than a count of villages
        kwargs["weights"] = weights
    costs = _site_costs(sites_all, n_new, site_cost_wan)
    if budget_wan is not None:
        if costs is None:
            raise BudgetNeedsCosts()
        kwargs["site_cost_wan"] = costs
        kwargs["budget_wan"] = float(budget_wan)
    if model == "cmclp":
        kwargs["demand_t"] = weights
        kwargs["capacity_t"] = _capacities(sites_all, n_new, new_capacity_t)
        kwargs["split"] = bool(split_demand)
    result = solve(model, cost, **kwargs)
    allocated = None
    if model == "cmclp":
        # With capacities, "covered" is what the stores can actually take, not what lies
        # within reach: before = the existing stores alone, solved the same way.
        before = np.zeros(len(villages))
        if fixed:
            # What the plan left, less the curve's half.
            alone_s = max(1e-3, deadline.solver_s(PLACEMENT_RESERVE) - (0.5 * left if curve_k else 0.0))
            alone = solve("cmclp", cost, **{**kwargs, "p": 0, "explain": False, "time_limit_s": alone_s,
                                             "site_cost_wan": None, "budget_wan": None})
            before = _served_by_village(alone, len(villages))
        allocated = (before, _served_by_village(result, len(villages)))
    site_snap = matrix.destination_snap
    best = cost.min(axis=1) if cost.shape[1] else np.full(len(villages), np.inf)
    out = _assemble(graph, villages, sites_all, n_new, cost, weights, result, village_snap,
                    point_reasons(graph, village_snap, site_snap, best),
                    model=model, spec=spec, minutes=minutes, allocated=allocated)
    out = dataclasses.replace(out, off_network_sites=_off_network_sites(
        site_snap, sites_all, point_reasons(graph, site_snap, village_snap)), estimate=matrix.estimate)
    if curve_k:
        from planner.locate import coverage_curve

        ckw: dict[str, Any] = {"radius_min": float(minutes), "fixed": fixed,
                               "time_limit_s": deadline.solver_s(PLACEMENT_RESERVE)}
        if budget_wan is not None and costs is not None:
            ckw.update(site_cost_wan=costs, budgets_wan=[float(budget_wan) * i / int(curve_k)
                                                         for i in range(1, int(curve_k) + 1)])
        else:
            ckw.update(k_max=int(curve_k), site_cost_wan=costs)
        curve = coverage_curve(cost, weights, **ckw)
        out = dataclasses.replace(out, curve=curve, site_names=tuple(str(v) for v in sites_all["name"]))
    return out


def _off_network_sites(snap, sites, reasons) -> list[dict]:
    def num(x):
        return round(float(x), 1) if np.isfinite(x) else None

    fixed = sites["fixed"].to_numpy() if "fixed" in sites.columns else np.zeros(len(sites), bool)
    return [{"id": str(snap.ids[i]), "name": None if snap.names[i] is None else str(snap.names[i]),
             "fixed": bool(fixed[i]), "reason": str(reasons[i]), "network_m": num(snap.network_m[i]),
             "fragment_m": num(snap.fragment_m[i])} for i in np.flatnonzero(reasons != "")]


def _served_by_village(result: LocateResult, n: int) -> np.ndarray:
    served = np.zeros(n)
    for demand, _site, amount in result.flows:
        served[demand] += amount
    return served


# --------------------------------------------------------------------------- candidates
def candidates_on_network(
    graph: RoadGraph,
    villages: gpd.GeoDataFrame,
    *,
    n: int = 200,
    weights: np.ndarray | None = None,
    min_spacing_m: float = 1500.0,
) -> gpd.GeoDataFrame:
    """Candidate sites on the road network near demand.

    Each village's road access point (its snap position) is a natural place for a
    facility that serves it. Access points are taken in order of weight, skipping those
    closer than ``min_spacing_m`` to one already taken, until ``n`` are chosen.
    """
    snap = snap_points(graph, villages)
    ok = np.flatnonzero(snap.ok)
    w = np.ones(len(villages)) if weights is None else np.asarray(weights, float)
    order = ok[np.argsort(-w[ok], kind="stable")]
    chosen: list[int] = []
    xy = snap.snap_xy
    for i in order:
        if chosen and np.min(np.hypot(*(xy[chosen] - xy[i]).T)) < min_spacing_m:
            continue
        chosen.append(int(i))
        if len(chosen) >= n:
            break
    pts = gpd.GeoSeries(shapely.points(xy[chosen]), crs=graph.crs).to_crs("EPSG:4326")
    names = villages["name"].to_numpy()[chosen]
    return gpd.GeoDataFrame({
        "id": [f"net-{villages['code'].iloc[i]}" for i in chosen],
        "name": [f"{nm}路口" for nm in names],
        "source": "network",
    }, geometry=pts.values, crs="EPSG:4326")


# --------------------------------------------------------------------------- internals
def _stack_sites(candidates, existing):
    cand = candidates.copy()
    if "id" not in cand.columns:
        cand["id"] = cand["code"] if "code" in cand.columns else cand.index.astype(str)
    cand["fixed"] = False
    frames = [cand]
    if existing is not None:
        ex = existing.copy()
        if "id" not in ex.columns:
            ex["id"] = ex["code"]
        ex["fixed"] = True
        frames.append(ex.to_crs(cand.crs))
    out = pd.concat(frames, ignore_index=True)
    keep = [c for c in ("id", "name", "fixed", "source", "cost_wan", "capacity_t", "kind", "status", "town")
            if c in out.columns]
    return gpd.GeoDataFrame(out[keep], geometry=out.geometry.values, crs=cand.crs)


def _site_costs(sites, n_new, site_cost_wan):
    if site_cost_wan is not None:
        values = np.broadcast_to(np.asarray(site_cost_wan, float), (n_new,)).astype(float)
    elif "cost_wan" in sites.columns:
        values = pd.to_numeric(sites["cost_wan"].iloc[:n_new], errors="coerce").to_numpy(float)
        if np.isnan(values).any():
            return None
    else:
        return None
    # existing sites are already paid for
    return np.concatenate([values, np.zeros(len(sites) - n_new)])


def _capacities(sites, n_new, new_capacity_t):
    # a copy: pandas may hand out a read-only view, and new sites' capacities are filled in below
    cap = np.array(pd.to_numeric(sites.get("capacity_t", pd.Series(np.nan, index=sites.index)), errors="coerce"),
                   dtype=float)
    if new_capacity_t is not None:
        cap[:n_new] = np.where(np.isnan(cap[:n_new]), new_capacity_t, cap[:n_new])
    if np.isnan(cap).any():
        raise CapacityMissing()
    return cap


def _assemble(graph, villages, sites_all, n_new, cost, weights, result, village_snap, village_reasons, *, model,
              spec, minutes, allocated=None):
    open_sites = [s.site for s in result.sites]
    reports = {s.site: s for s in result.sites}
    site_rows = sites_all.iloc[open_sites].copy()
    site_rows["site_index"] = open_sites
    for col in ("demand_count", "demand_served", "loss_if_removed", "nearest_site_min"):
        site_rows[col] = [getattr(reports[i], col) for i in open_sites]
    # a site whose removal changes nothing reports -0.0 from the subtraction
    site_rows["loss_if_removed"] = site_rows["loss_if_removed"].clip(lower=0.0) + 0.0  # + 0.0: no "-0"
    site_rows["nearest_site_min"] = round_minutes(site_rows["nearest_site_min"].astype(float))  # for output
    site_rows["nearest_site"] = [_site_name(sites_all, reports[i].nearest_site) for i in open_sites]
    site_rows["runner_up"] = [_site_name(sites_all, reports[i].runner_up) for i in open_sites]
    site_rows["runner_up_delta"] = [reports[i].runner_up_delta for i in open_sites]
    nearest_existing = _nearest_existing(cost, open_sites, n_new, sites_all)
    site_rows["nearest_existing"] = [nearest_existing.get(i) for i in open_sites]
    site_rows = site_rows.reset_index(drop=True)

    assignment = np.asarray(result.assignment, dtype=np.int64)
    # A village with weight 0 (no apples, no people...) is not "served": no line for it.
    served = np.flatnonzero((assignment >= 0) & (weights > 0))
    vpts = villages.geometry.to_crs("EPSG:4326").to_numpy()
    spts = sites_all.geometry.to_crs("EPSG:4326").to_numpy()
    lines = shapely.linestrings(
        np.stack([shapely.get_coordinates(vpts[served]), shapely.get_coordinates(spts[assignment[served]])], axis=1)
    ) if len(served) else np.empty(0, dtype=object)
    allocations = gpd.GeoDataFrame({
        "village_code": villages["code"].to_numpy()[served],
        "village_name": villages["name"].to_numpy()[served],
        "site_id": sites_all["id"].to_numpy()[assignment[served]],
        # for output: float32 travel times widened then rounded (the model keeps full values)
        "minutes": round_minutes(np.asarray(result.assignment_cost, float)[served]),
        "weight": weights[served],
    }, geometry=lines, crs="EPSG:4326")

    by_town, totals = _before_after(villages, cost, weights, open_sites, n_new, minutes, allocated=allocated)
    unreach_idx = np.asarray(result.unreachable, dtype=np.int64)
    # the one rule of every output (point_reasons); what is left is reachable, only
    # farther than the cutoff from every site
    why = village_reasons[unreach_idx]
    unreachable = pd.DataFrame({
        "village_code": villages["code"].to_numpy()[unreach_idx],
        "village_name": villages["name"].to_numpy()[unreach_idx],
        "town": villages["town"].to_numpy()[unreach_idx],
        "weight": weights[unreach_idx],
        "reason": np.where(why != "", why, REASON_BEYOND_CUTOFF),
        "network_m": np.where(why != "", village_snap.network_m[unreach_idx], np.nan).round(1),
        "fragment_m": np.where(why != "", village_snap.fragment_m[unreach_idx], np.nan).round(1),
    })
    totals.update(new_sites=int(sum(1 for i in open_sites if i < n_new)), existing_sites=len(sites_all) - n_new,
                  candidates=n_new)
    return PlacementResult(model=model, demand=spec.label, minutes=minutes, result=result,
                           sites=gpd.GeoDataFrame(site_rows, geometry="geometry", crs=sites_all.crs),
                           allocations=allocations, by_town=by_town, unreachable=unreachable, totals=totals)


def _site_name(sites, index):
    if index is None or index < 0:
        return None
    return str(sites["name"].iloc[index])


def _nearest_existing(cost, open_sites, n_new, sites):
    """For each new site, the existing facility closest by the demand-side proxy."""
    if n_new == len(sites):
        return {}
    out = {}
    existing = np.arange(n_new, len(sites))
    for s in open_sites:
        if s >= n_new:
            continue
        via = cost[:, [s]] + cost[:, existing]  # through the best-placed village: an upper bound
        best = np.min(via, axis=0)
        j = int(np.argmin(best))
        if np.isfinite(best[j]):
            out[s] = f"{sites['name'].iloc[existing[j]]} (≤{best[j]:.0f} min)"
    return out


def _before_after(villages, cost, weights, open_sites, n_new, minutes, *, allocated=None):
    """Demand covered per town before (existing sites) and after; ``allocated`` overrides
    "within the cutoff" with the amounts actually allocated (capacitated models)."""
    towns = villages["town"].fillna("").to_numpy()
    existing = np.arange(n_new, cost.shape[1])
    before = cost[:, existing].min(axis=1) if len(existing) else np.full(len(villages), np.inf)
    after = cost[:, open_sites].min(axis=1) if open_sites else np.full(len(villages), np.inf)
    cutoff = np.inf if minutes is None else float(minutes)
    frame = pd.DataFrame({
        "town": towns,
        "villages": 1,
        "demand": weights,
        "covered_before": np.where(before <= cutoff, weights, 0.0) if allocated is None else allocated[0],
        "covered_after": np.where(after <= cutoff, weights, 0.0) if allocated is None else allocated[1],
        "minutes_before": np.where(np.isfinite(before), before, np.nan) * weights,
        "minutes_after": np.where(np.isfinite(after), after, np.nan) * weights,
    })
    by_town = frame.groupby("town", sort=True).sum(numeric_only=True).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        by_town["share_before"] = by_town["covered_before"] / by_town["demand"]
        by_town["share_after"] = by_town["covered_after"] / by_town["demand"]
        by_town["mean_minutes_before"] = round_minutes(by_town["minutes_before"] / by_town["demand"])
        by_town["mean_minutes_after"] = round_minutes(by_town["minutes_after"] / by_town["demand"])
    by_town = by_town.drop(columns=["minutes_before", "minutes_after"])
    totals = {
        "demand": float(weights.sum()),
        "covered_before": float(frame["covered_before"].sum()),
        "covered_after": float(frame["covered_after"].sum()),
    }
    return by_town, totals


def _features(frame: gpd.GeoDataFrame) -> list[dict]:
    props = records(frame.drop(columns="geometry"))
    geoms = frame.geometry.to_crs("EPSG:4326").to_numpy()
    return [{"type": "Feature", "properties": p, "geometry": shapely.geometry.mapping(g) if g is not None else None}
            for p, g in zip(props, geoms)]
