"""Network scenarios kept in the workspace, their road graphs, and base-vs-scenario comparisons.

Scenarios (:class:`planner.scenario.NetworkScenario`) are stored in workspace metadata
``network_scenarios`` as ``{name: scenario dict}``, beside the ``network`` settings.
A scenario's graph is built from the roads as the scenario leaves them and cached like
the base graph: in memory per process and in the workspace file (one blob per
scenario, keyed by its fingerprint, so the base graph's cache is never evicted).

Flask-free: the CLI, the JSON API and the pages call these functions.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

import numpy as np

from geo.errors import Conflict
from planner.scenario import (
    BadScenario,
    NetworkScenario,
    ScenarioApplied,
    UnknownScenario,
    apply_scenario,
)

import web.services as services

META_KEY = "network_scenarios"
_BLOB_PREFIX = "road_graph_scenario:"
_memo: OrderedDict = OrderedDict()
_memo_lock = threading.Lock()
_MEMO_SIZE = 6


class ScenarioExists(Conflict):
    code = "scenario.exists"
    en = "A network scenario named {name!r} already exists (use replace to overwrite it)"
    zh = "已有名为 {name!r} 的路网情景（如需覆盖请使用 replace）"


# --------------------------------------------------------------------------- storage
def _stored(ws) -> dict:
    raw = ws.meta().get(META_KEY) or {}
    return dict(raw) if isinstance(raw, dict) else {}


def list_scenarios(ws) -> list[NetworkScenario]:
    """Every stored scenario, by name."""
    return [NetworkScenario.from_dict(v) for _, v in sorted(_stored(ws).items())]


def get_scenario(ws, name: str) -> NetworkScenario:
    """The stored scenario ``name``.

    Raises
    ------
    planner.scenario.UnknownScenario
        (NotFound) when there is none of that name.
    """
    stored = _stored(ws)
    if name not in stored:
        raise UnknownScenario(name=name, known=", ".join(sorted(stored)) or "—")
    return NetworkScenario.from_dict(stored[name])


def resolve(ws, name: str | None) -> NetworkScenario | None:
    """``None`` for no name (the base network), else :func:`get_scenario`."""
    return None if name in (None, "", "base") else get_scenario(ws, name)


def scenario_key(scenario: NetworkScenario | None) -> str:
    """A cache key part for results computed on ``scenario`` (changes when it is edited)."""
    return "" if scenario is None else json.dumps(scenario.to_dict(), sort_keys=True, ensure_ascii=False)


def save_scenario(ws, scenario: NetworkScenario, *, replace: bool = False) -> ScenarioApplied:
    """Store ``scenario`` after checking it against the current layers.

    Raises
    ------
    BadScenario
        When it names road ids or zone ids the workspace does not have, or changes nothing.
    ScenarioExists
        (Conflict) when the name is taken and ``replace`` is false.
    """
    if scenario.is_empty:
        raise BadScenario(reason_en="it closes and slows nothing", reason_zh="未封闭也未减速任何道路")
    applied = apply(ws, scenario)
    if applied.unknown_ids:
        raise BadScenario(reason_en=f"no road with id {', '.join(applied.unknown_ids[:5])} in the roads layer",
                          reason_zh=f"道路图层中没有编号为 {', '.join(applied.unknown_ids[:5])} 的道路")
    if applied.unknown_zones:
        raise BadScenario(reason_en=f"no constraint zone with id {', '.join(applied.unknown_zones[:5])}",
                          reason_zh=f"管控区图层中没有编号为 {', '.join(applied.unknown_zones[:5])} 的区域")
    stored = _stored(ws)
    if scenario.name in stored and not replace:
        raise ScenarioExists(name=scenario.name)
    stored[scenario.name] = scenario.to_dict()
    ws.set_meta(**{META_KEY: stored})
    return applied


def remove_scenario(ws, name: str) -> None:
    """Delete a stored scenario (:class:`UnknownScenario` when absent)."""
    stored = _stored(ws)
    if name not in stored:
        raise UnknownScenario(name=name, known=", ".join(sorted(stored)) or "—")
    del stored[name]
    ws.set_meta(**{META_KEY: stored})
    with _memo_lock:
        for key in [k for k in _memo if k[0] == str(ws.path.resolve()) and k[1] == name]:
            del _memo[key]


# --------------------------------------------------------------------------- graphs
def apply(ws, scenario: NetworkScenario) -> ScenarioApplied:
    """The workspace's roads as ``scenario`` leaves them."""
    roads = ws.read_layer("roads")
    zones = None
    if scenario.needs_zones and "constraints" in ws.layer_names():
        zones = ws.read_layer("constraints")
    return apply_scenario(roads, scenario, zones=zones)


def road_graph(ws, *, settings=None, scenario: NetworkScenario | str | None = None):
    """The road graph of the base network (``scenario=None``) or of a scenario.

    Raises ``ValueError`` (as :func:`web.services.road_graph`) when no road is left.
    """
    from planner.graph import build_road_graph, roads_fingerprint, with_base_fragments, with_base_network

    settings = settings or services.NetworkSettings.from_workspace(ws)
    if isinstance(scenario, str) or scenario is None:
        scenario = resolve(ws, scenario)
    if scenario is None:
        return services.road_graph(ws, settings=settings)
    applied = apply(ws, scenario)
    if len(applied.roads) == 0:
        msg = f"workspace {ws.path.name} has no roads left in scenario {scenario.name!r}"
        raise ValueError(msg)
    # stray fragments are those of the base data (closures are not data faults): the
    # graph depends on the base network too
    base = services.road_graph(ws, settings=settings)
    roads_fp = roads_fingerprint(applied.roads, **settings.build_options())
    fingerprint = roads_fp + "+" + base.fingerprint
    key = (str(ws.path.resolve()), scenario.name, fingerprint)
    with _memo_lock:
        if key in _memo:
            _memo.move_to_end(key)
            return _memo[key]
    blob_key = f"{_BLOB_PREFIX}{scenario.name}:{fingerprint}"
    blob = ws.get_blob(blob_key)
    graph = services._graph_from_blob(blob) if blob is not None else None
    if graph is None:
        graph = with_base_fragments(build_road_graph(applied.roads, **settings.build_options(),
                                                     fingerprint=roads_fp), base)
        ws.put_blob(blob_key, services._graph_to_blob(graph),
                    replace_prefix=f"{_BLOB_PREFIX}{scenario.name}:")
    # the base network's graph beside it: villages the closures cut off are the scenario's
    # effect (scenario_blocked), not a road "not connected to the county network"
    graph = with_base_network(graph, base)
    with _memo_lock:
        _memo[key] = graph
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return graph


# --------------------------------------------------------------------------- comparisons
def compare_coverage(ws, *, scenario: NetworkScenario | str, facility: str, minutes: float, commodities=(),
                     statuses=None) -> dict:
    """Coverage on the base network and on ``scenario``, and what changes.

    Returns a JSON-ready dict: ``scenario`` (its definition and what it closed),
    ``base`` and ``scenario_totals`` (coverage totals), ``delta`` (scenario − base for
    every total), ``lost`` (villages covered on the base network but not in the
    scenario, with both times; ``minutes`` null when unreachable) and ``slower``
    (covered in both, slower in the scenario, with the added minutes), each sorted
    by population, and ``cut_off`` (villages that reach a facility on the base network and
    none in the scenario, with the reason: the scenario's effect, never a data warning).
    """
    from planner.coverage import coverage_summary

    scenario = get_scenario(ws, scenario) if isinstance(scenario, str) else scenario
    settings = services.NetworkSettings.from_workspace(ws)
    villages = services.villages(ws)
    fac = services.facility_points(ws, facility, statuses=services.EXISTING_STATUSES if statuses is None
                                   else statuses)
    kwargs = {"cutoff_min": minutes, "commodities": list(commodities) or None, "max_snap_m": settings.max_snap_m}
    base = coverage_summary(services.road_graph(ws, settings=settings), villages, fac, **kwargs)
    other = coverage_summary(road_graph(ws, settings=settings, scenario=scenario), villages, fac, **kwargs)
    return {"facility": facility, "minutes": float(minutes), **_difference(base, other, scenario, ws)}


def _difference(base, other, scenario: NetworkScenario, ws) -> dict:
    from planner._json import jsonable, records

    b, s = base.villages, other.villages
    lost = (b["status"] == "covered") & (s["status"] != "covered")
    both = (b["status"] == "covered") & (s["status"] == "covered")
    with np.errstate(invalid="ignore"):  # inf - inf for villages unreachable in both
        added = s["minutes"].to_numpy() - b["minutes"].to_numpy()
    slower = both & (added > 1e-6)
    cols = ["village_id", "village_name", "town", "population", "monitored_households"]
    lost_t = b.loc[lost, cols].assign(minutes_base=b.loc[lost, "minutes"], minutes_scenario=s.loc[lost, "minutes"],
                                      status=s.loc[lost, "status"], reason=s.loc[lost, "reason"])
    slow_t = b.loc[slower, cols].assign(minutes_base=b.loc[slower, "minutes"],
                                        minutes_scenario=s.loc[slower, "minutes"], added_min=added[slower])
    # the scenario's own effect: villages that reach a facility on the base network and
    # none in the scenario (their road closed, or cut off from every facility)
    cut = np.isfinite(b["minutes"].to_numpy()) & (s["status"] == "unreachable").to_numpy()
    cut_t = b.loc[cut, cols].assign(minutes_base=b.loc[cut, "minutes"], reason=s.loc[cut, "reason"])
    cut_t = cut_t.sort_values("population", ascending=False, kind="stable")
    lost_t = lost_t.sort_values("population", ascending=False, kind="stable")
    slow_t = slow_t.sort_values("added_min", ascending=False, kind="stable")
    delta = {k: (other.totals[k] - v) for k, v in base.totals.items() if isinstance(v, (int, float))}
    reachable_both = np.isfinite(b["minutes"].to_numpy()) & np.isfinite(s["minutes"].to_numpy())
    return {
        "scenario": {**scenario.to_dict(), "applied": apply(ws, scenario).to_dict(),
                     "describe_zh": describe(scenario, "zh"), "describe_en": describe(scenario, "en")},
        "base": jsonable(base.totals), "scenario_totals": jsonable(other.totals), "delta": jsonable(delta),
        "added_minutes_total": float(added[reachable_both].sum()),
        "villages_slower": int(slower.sum()),
        "lost": records(lost_t), "slower": records(slow_t), "cut_off": records(cut_t),
    }


def describe(scenario: NetworkScenario, lang: str) -> str:
    """The scenario's one line in ``lang`` with road classes by their schema labels (县道, not ``county``)."""
    from layers.schema import ROAD_CLASSES

    labels = {c.value: (c.zh if lang == "zh" else c.en) for c in ROAD_CLASSES}
    return scenario.describe(lang, class_label=lambda code: labels.get(code, code))
