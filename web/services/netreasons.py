"""Why a village or facility is not on the road network: reason codes, their zh/en text,
and the off-network points named for every network output (Flask-free).

The planner returns stable reason codes (:mod:`planner.snap`, :mod:`planner.travel`);
adapters translate them once with a ``gettext`` — flask-babel's in views,
:func:`web.i18n.catalog_gettext` on the command line — so the zh UI never shows a code.
"""
from __future__ import annotations

import numpy as np

from geo.report import N_

#: Reason code → English msgid (translated through the app's catalog).
REASONS = {
    "too_far_from_road": N_("too far from any road"),
    "disconnected_component": N_("its road is not connected to the county network"),
    "missing_geometry": N_("no location"),
    "no_route": N_("no route to a facility"),
    "no_facility": N_("no facility on the road network"),
    "too_far": N_("farther than the cutoff from every site"),
    "scenario_blocked": N_("cut off by the network scenario"),
}
#: Data-warning code → English msgid.
WARNINGS = {
    "fragment_nearer": N_("a stray road fragment (connected to nothing) is nearer than the road network; "
                          "the road network was used"),
    "fragment_only": N_("only a stray road fragment (connected to nothing) is within reach"),
}


#: Which side of an output a point is on.
ROLES = {"origin": N_("origin"), "destination": N_("destination"), "facility": N_("facility"),
         "site": N_("site"), "village": N_("village")}


def echo_lines(records: list[dict], gettext) -> list[str]:
    """Terminal lines naming off-network points (a header, then one per point)."""
    if not records:
        return []
    lines = [gettext("Not on the road network (%(n)s):") % {"n": len(records)}]
    for r in records:
        role = gettext(ROLES[r["role"]]) if r.get("role") in ROLES else ""
        lines.append(f"  [{role}] {describe(r, gettext)}" if role else f"  {describe(r, gettext)}")
    return lines


def warning_lines(warnings: list[dict], gettext) -> list[str]:
    """Terminal lines for snapping data warnings (stray fragments)."""
    lines = []
    for w in warnings:
        where = w.get("fragment_lonlat") or [None, None]
        lines.append(gettext("data warning") + f": {w.get('name') or w['id']} ({w['id']}): "
                     + reason_text(w["code"], gettext)
                     + f" — {w.get('fragment_road_id')} @ {where[0]}, {where[1]} " + distances(w, gettext))
    return lines


def reason_labels(gettext) -> dict[str, str]:
    """Every reason and warning code with its text in ``gettext``'s language."""
    return {code: gettext(msgid) for code, msgid in {**REASONS, **WARNINGS}.items()}


def reason_text(code: str, gettext) -> str:
    msgid = REASONS.get(code) or WARNINGS.get(code)
    return gettext(msgid) if msgid else str(code)


def metres(x):
    """A distance as every output shows it: metres to 0.1 m, None when unknown."""
    return round(float(x), 1) if x is not None and np.isfinite(float(x)) else None


def off_network(snap, role: str, reasons=None) -> list[dict]:
    """Points of a :class:`~planner.snap.SnapResult` that are not on the road network.

    ``reasons``: the codes of :func:`planner.travel.point_reasons` for these points (the
    one rule every output uses); without it, the snap reasons. One dict per point with a
    reason: ``role`` (e.g. ``"origin"``, ``"facility"``), ``id``, ``name``, ``reason``
    (code), ``network_m`` (distance to the nearest road it could use, metres) and
    ``fragment_m`` (to a stray fragment within reach, or None).
    """
    reasons = snap.reason if reasons is None else np.asarray(reasons, dtype=object)
    return [record(role, snap.ids[i], snap.names[i], reasons[i], snap.network_m[i], snap.fragment_m[i])
            for i in np.flatnonzero(reasons != "")]


def record(role: str, id_, name, reason: str, network_m, fragment_m) -> dict:
    """One off-network point as every output names it (distances in metres, to 0.1 m)."""
    name = None if name is None or (isinstance(name, float) and not np.isfinite(name)) else str(name)
    return {"role": role, "id": str(id_), "name": name, "reason": str(reason),
            "network_m": metres(network_m), "fragment_m": metres(fragment_m)}


def distances(record: dict, gettext) -> str:
    """``(road network 330 m, stray fragment 30 m)``, or ``""`` without distances."""
    parts = []
    if record.get("network_m") is not None:
        parts.append(gettext("road network %(m)s m") % {"m": f"{record['network_m']:,.0f}"})
    if record.get("fragment_m") is not None:
        parts.append(gettext("stray fragment %(m)s m") % {"m": f"{record['fragment_m']:,.0f}"})
    return f"({', '.join(parts)})" if parts else ""


def describe(record: dict, gettext) -> str:
    """One line for a person: name (id): reason (distances)."""
    name = record.get("name") or record.get("id")
    text = f"{name} ({record['id']}): {reason_text(record.get('reason') or record.get('code'), gettext)}"
    extra = distances(record, gettext)
    return f"{text} {extra}" if extra else text
