"""The county overview (概览): indicators by town, as plain dicts for the page and tests.

:func:`county_overview` gathers, per town,

- cold-chain coverage of each commodity: the share of its tonnes (``produce_<c>_t`` on
  villages) produced within ``minutes`` of an existing cold store that takes it
  (:func:`web.services.netdata.coverage`, the same numbers as the map's coverage panel);
- pairing coverage per rule (:func:`web.services.pairings.analyse_workspace`);
- monitored households (监测户) by kind and by risk (households joined to their village's town);
- proposals (项目库) by category and status, with their budget in 万元.

No Flask here: labels are codes, the view turns them into words.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict

from layers import proposals as P
from layers.schema import COMMODITY_VALUES, HOUSEHOLD_KINDS, RISK_LEVELS

from . import mapdata, netdata
from .pairings import analyse_workspace, coverage_by_town_matrix

#: Minutes to an existing cold store within which produce counts as covered.
COLD_CHAIN_MINUTES = 30.0
#: Cold stores that exist today (planned ones do not store this year's harvest).
EXISTING = ("existing",)

_memo: OrderedDict = OrderedDict()
_memo_lock = threading.Lock()


def _share(part, whole):
    return None if not whole else float(part) / float(whole)


def cold_chain_coverage(ws, *, minutes: float = COLD_CHAIN_MINUTES) -> dict:
    """Share of each commodity's tonnes within ``minutes`` of an existing cold store, by town.

    Returns
    -------
    dict
        ``{"minutes", "commodities": [c, ...], "county": {c: {"t", "t_covered", "share"}},
        "by_town": [{"town", "values": {c: {"t", "t_covered", "share"}}}], "estimate": bool}``;
        ``share`` is None where a town produces none of it. Commodities with no tonnes
        anywhere are left out. Cached per version of the villages, cold stores, roads and
        network settings.
    """
    key = (str(ws.path), float(minutes), mapdata.data_stamp(ws, ("villages", "cold_storage", "roads")),
           json.dumps(ws.meta().get("network"), sort_keys=True, default=str))
    with _memo_lock:
        if key in _memo:
            return _memo[key]
    villages = ws.read_layer("villages")
    present = [c for c in COMMODITY_VALUES
               if f"produce_{c}_t" in villages.columns and float(villages[f"produce_{c}_t"].fillna(0).sum()) > 0]
    county, towns, estimate = {}, OrderedDict(), False
    for c in present:
        col = f"produce_{c}_t"
        cov = netdata.coverage(ws, facility="cold_storage", minutes=minutes, commodities=[c], statuses=EXISTING)
        estimate = estimate or cov.get("estimate") is not None
        t = cov["totals"]
        county[c] = {"t": float(t[col]), "t_covered": float(t[f"{col}_covered"]),
                     "share": _share(t[f"{col}_covered"], t[col])}
        for row in cov["by_town"]:
            towns.setdefault(row["town"], {})[c] = {
                "t": float(row[col]), "t_covered": float(row[f"{col}_covered"]),
                "share": _share(row[f"{col}_covered"], row[col])}
    out = {"minutes": float(minutes), "commodities": present, "county": county,
           "by_town": [{"town": town, "values": values} for town, values in towns.items()], "estimate": estimate}
    with _memo_lock:
        _memo[key] = out
        while len(_memo) > 8:
            _memo.popitem(last=False)
    return out


def pairing_coverage(ws, *, travel: str = "network") -> dict:
    """Pairing coverage per rule, county and by town: ``{"rules", "county": {rule: row},
    "by_town": [{"town", "cells": {rule: row}}]}`` with rows ``required, covered, gaps, share``."""
    data = analyse_workspace(ws, travel=travel).analysis.to_dict(include_households=False)
    rules, towns = coverage_by_town_matrix(data["coverage_by_town"])
    county = {r["rule"]: r for r in data["coverage"]}
    return {"rules": [r for r in county if r in rules] + [r for r in rules if r not in county],
            "county": county, "by_town": towns}


def monitored_households(ws) -> dict:
    """Monitored households (监测户) per town by kind and by risk.

    ``{"kinds", "risks", "by_town": [{"town", "kind": {k: n}, "risk": {r: n}, "total"}],
    "no_town": n}``: a household whose village is not in the villages layer counts in
    ``no_town`` (it has no town to chart).
    """
    households = ws.read_layer("households")
    villages = ws.read_layer("villages")
    town_of = dict(zip(villages["code"].astype(str), villages["town"]))
    kinds = [c.value for c in HOUSEHOLD_KINDS]
    risks = [c.value for c in RISK_LEVELS]
    towns: OrderedDict = OrderedDict((t, {"kind": dict.fromkeys(kinds, 0), "risk": dict.fromkeys(risks, 0),
                                          "total": 0}) for t in dict.fromkeys(villages["town"]))
    no_town = 0
    for code, kind, risk in zip(households["village_code"].astype(str), households["kind"], households["risk"]):
        town = town_of.get(code)
        if town is None:
            no_town += 1
            continue
        row = towns[town]
        row["total"] += 1
        if kind in row["kind"]:
            row["kind"][kind] += 1
        if risk in row["risk"]:
            row["risk"][risk] += 1
    return {"kinds": kinds, "risks": risks, "no_town": no_town,
            "by_town": [{"town": t, **v} for t, v in towns.items()]}


def proposal_totals(ws) -> dict:
    """Proposals by category and status: counts and budget (万元).

    ``{"categories", "statuses", "cells": {category: {status: {"n", "budget_wan"}}},
    "by_category": {category: {"n", "budget_wan"}}, "by_town": [{"town", "n", "budget_wan"}]}``.
    """
    items = P.list_proposals(ws)
    cats, stats = list(P.CATEGORY_VALUES), list(P.STATUS_VALUES)
    cells = {c: {s: {"n": 0, "budget_wan": 0.0} for s in stats} for c in cats}
    by_cat = {c: {"n": 0, "budget_wan": 0.0} for c in cats}
    towns: OrderedDict = OrderedDict()
    for p in items:
        budget = float(p.budget_wan or 0)
        cell = cells.setdefault(p.category, {}).setdefault(p.status, {"n": 0, "budget_wan": 0.0})
        cell["n"] += 1
        cell["budget_wan"] += budget
        total = by_cat.setdefault(p.category, {"n": 0, "budget_wan": 0.0})
        total["n"] += 1
        total["budget_wan"] += budget
        town = towns.setdefault(p.town, {"n": 0, "budget_wan": 0.0})
        town["n"] += 1
        town["budget_wan"] += budget
    return {"categories": cats, "statuses": stats, "cells": cells, "by_category": by_cat,
            "by_town": [{"town": t, **v} for t, v in towns.items()], "n": len(items)}


def county_overview(ws, *, minutes: float = COLD_CHAIN_MINUTES, travel: str = "network") -> dict:
    """Every overview indicator: ``{"towns", "cold_chain", "pairings", "households", "proposals"}``
    (see the functions above); ``towns`` is the villages layer's towns in first-seen order."""
    villages = ws.read_layer("villages")
    return {"towns": list(dict.fromkeys(villages["town"])),
            "cold_chain": cold_chain_coverage(ws, minutes=minutes),
            "pairings": pairing_coverage(ws, travel=travel),
            "households": monitored_households(ws),
            "proposals": proposal_totals(ws)}
