"""Road-network analyses under ``/api/v1/network``: coverage, service areas, accessibility
and OD matrices (the same choices as ``ruralplan coverage / service-area / od``).

Views only parse and check parameters; :mod:`web.netdata` computes (and caches) the
payloads. Every error is JSON: 400 for bad parameters and settings, 404 for an unknown
facility id or scenario, 409 when the workspace has no roads (typed errors, translated by the app's
one handler for :class:`geo.errors.RuralplanError`). The ``X-Cache`` header says whether the result
came from the in-memory cache (``hit``) or was computed (``miss``).
"""
from __future__ import annotations

import math

from flask import Blueprint, request
from flask_babel import gettext as _

from .. import services
from ..services import netdata, scenarios
from ..app import current_workspace
from ..auth import permission_required

bp = Blueprint("network", __name__, url_prefix="/api/v1/network")

#: Longest cutoff served (minutes): beyond 3 h a county "service area" is the county.
MAX_MINUTES = 180.0
MAX_CUTOFFS = 6


class BadRequest(ValueError):
    """A bad parameter; the message is already translated (gettext)."""


def _error(code: int, message: str):
    return {"error": {"code": code, "message": message}}, code


@bp.errorhandler(BadRequest)
def _bad_request(exc):
    return _error(400, str(exc))


def _choice(name: str, choices, default=None) -> str:
    value = request.args.get(name, default)
    if value is None:
        raise BadRequest(_("Missing parameter %(name)s; expected one of %(choices)s.",
                           name=repr(name), choices=", ".join(choices)))
    if value not in choices:
        raise BadRequest(_("%(name)s=%(value)s is not valid; expected one of %(choices)s.",
                           name=name, value=repr(value), choices=", ".join(choices)))
    return value


def _minutes(name: str, *, required: bool, default=None) -> float | None:
    text = request.args.get(name, default)
    if text is None or text == "":
        if required:
            raise BadRequest(_("Missing parameter %(name)s (minutes, e.g. 30).", name=repr(name)))
        return None
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(_("%(name)s must be a number of minutes (got %(value)s).",
                           name=name, value=repr(text))) from None
    if not (math.isfinite(value) and 0 < value <= MAX_MINUTES):
        raise BadRequest(_("%(name)s must be between 0 and %(max)s minutes (got %(value)s).",
                           name=name, max=f"{MAX_MINUTES:g}", value=repr(text)))
    return value


def _minutes_list(default: str) -> tuple[float, ...]:
    text = request.args.get("minutes", default)
    try:
        values = services.parse_minutes_list(text)
    except ValueError:
        raise BadRequest(_("minutes must be positive numbers separated by commas, e.g. 15,30,60 (got %(value)s).",
                           value=repr(text))) from None
    if len(values) > MAX_CUTOFFS or max(values) > MAX_MINUTES or not all(map(math.isfinite, values)):
        raise BadRequest(_("minutes: at most %(n)s cutoffs of at most %(max)s minutes (got %(value)s).",
                           n=MAX_CUTOFFS, max=f"{MAX_MINUTES:g}", value=repr(text)))
    return values


def _statuses() -> tuple[str, ...]:
    values = tuple(sorted(set(request.args.getlist("status"))))
    bad = [v for v in values if v not in netdata.STATUSES]
    if bad:
        raise BadRequest(_("%(name)s=%(value)s is not valid; expected one of %(choices)s.",
                           name="status", value=repr(bad[0]), choices=", ".join(netdata.STATUSES)))
    return values


def _flag(name: str) -> bool:
    value = request.args.get(name, "0").lower()
    if value not in ("0", "1", "true", "false", "yes", "no", ""):
        raise BadRequest(_("%(name)s must be 0 or 1 (got %(value)s).", name=name, value=repr(value)))
    return value in ("1", "true", "yes")


def _scenario(ws) -> tuple[str | None, str]:
    """The ``scenario`` parameter: a stored network scenario's name (404 when unknown) and
    its cache key (changes when the scenario is edited); ``(None, "")`` for the base network."""
    sc = scenarios.resolve(ws, request.args.get("scenario") or None)
    return (None if sc is None else sc.name), scenarios.scenario_key(sc)


def _reply(payload_and_hit):
    from ..services.netreasons import reason_labels

    payload, hit = payload_and_hit
    # reason codes are stable; their text follows the visitor's language (not cached)
    payload = {**payload, "reason_labels": reason_labels(_)}
    return payload, 200, {"X-Cache": "hit" if hit else "miss", "Cache-Control": "private, no-cache"}


@bp.route("/coverage")
@permission_required("read")
def coverage():
    ws = current_workspace()
    facility = _choice("facility", services.FACILITY_LAYERS, "cold_storage")
    minutes = _minutes("minutes", required=False, default="30")
    commodities = tuple(sorted({c.strip() for c in request.args.getlist("commodity") if c.strip()}))
    statuses = _statuses()
    scenario, skey = _scenario(ws)

    return _reply(netdata.cached(
        ws, ("coverage", facility, minutes, commodities, statuses, skey),
        lambda: netdata.coverage(ws, facility=facility, minutes=minutes, commodities=commodities, statuses=statuses,
                                 scenario=scenario)))


@bp.route("/service-areas")
@permission_required("read")
def service_areas():
    ws = current_workspace()
    facility = _choice("facility", services.FACILITY_LAYERS, "cold_storage")
    cutoffs = _minutes_list("15,30,60")
    fid = request.args.get("id") or None
    dissolve = _flag("dissolve")
    statuses = _statuses()
    scenario, skey = _scenario(ws)
    return _reply(netdata.cached(
        ws, ("service_areas", facility, cutoffs, fid, dissolve, statuses, skey),
        lambda: netdata.service_areas(ws, facility=facility, minutes=cutoffs, facility_id=fid,
                                      dissolve=dissolve, statuses=statuses, scenario=scenario)))


@bp.route("/accessibility")
@permission_required("read")
def accessibility():
    ws = current_workspace()
    facility = _choice("facility", services.FACILITY_LAYERS, "cold_storage")
    statuses = _statuses()
    scenario, skey = _scenario(ws)
    return _reply(netdata.cached(ws, ("accessibility", facility, statuses, skey),
                                 lambda: netdata.accessibility(ws, facility=facility, statuses=statuses,
                                                               scenario=scenario)))


@bp.route("/od")
@permission_required("read")
def od():
    ws = current_workspace()
    origins = _choice("from", netdata.OD_LAYERS, "villages")
    destinations = _choice("to", netdata.OD_LAYERS)
    cutoff = _minutes("cutoff_min", required=False)
    sizes = {layer: netdata.layer_size(ws, layer) for layer in (origins, destinations)}
    if max(sizes.values()) > netdata.MAX_OD_SIDE:
        raise BadRequest(_("OD matrix %(rows)s × %(cols)s is too large for the API (at most %(max)s × %(max)s); "
                           "use `ruralplan od` instead.", rows=sizes[origins], cols=sizes[destinations],
                           max=netdata.MAX_OD_SIDE))
    scenario, skey = _scenario(ws)
    return _reply(netdata.cached(ws, ("od", origins, destinations, cutoff, skey),
                                 lambda: netdata.od(ws, origins=origins, destinations=destinations,
                                                    cutoff_min=cutoff, scenario=scenario)))


@bp.route("/resilience")
@permission_required("read")
def resilience():
    """Single-access villages and road links ranked by what their loss cuts off (see
    :mod:`planner.resilience`), on the base network or a ``scenario``."""
    from ..services import resilience as R

    ws = current_workspace()
    target = _choice("to", R.TARGET_LAYERS, "towns")
    text = request.args.get("top", str(R.DEFAULT_TOP))
    try:
        top = int(text)
    except ValueError:
        top = 0
    if not 1 <= top <= R.MAX_TOP:
        raise BadRequest(_("%(name)s must be a whole number from 1 to %(max)s (got %(value)s).",
                           name="top", max=R.MAX_TOP, value=repr(text)))
    scenario, skey = _scenario(ws)
    return _reply(netdata.cached(ws, ("resilience", target, top, skey),
                                 lambda: netdata.resilience(ws, scenario=scenario, target=target, top=top)))


@bp.route("/scenarios")
@permission_required("read")
def scenario_list():
    """The stored network scenarios (to pick one for ``scenario=``)."""
    from flask_babel import get_locale

    lang = str(get_locale() or "zh")
    return {"scenarios": [{**s.to_dict(), "text": s.describe(lang)}
                          for s in scenarios.list_scenarios(current_workspace())]}


# --------------------------------------------------------------------------- OpenAPI
def openapi_paths(error: dict, geojson: dict) -> dict:
    """This blueprint's paths for the OpenAPI document (relative to ``/api/v1``)."""
    facility = {"name": "facility", "in": "query", "required": False, "description": "Facility layer",
                "schema": {"type": "string", "enum": list(services.FACILITY_LAYERS), "default": "cold_storage"}}
    status = {"name": "status", "in": "query", "required": False, "explode": True,
              "description": "Only facilities with these statuses (repeatable; cold stores)",
              "schema": {"type": "array", "items": {"type": "string", "enum": list(netdata.STATUSES)}}}
    errors = {"400": error, "401": error, "404": {**error, "description": "Unknown scenario (or facility id)"},
              "409": {**error, "description": "The workspace has no roads"}}
    scenario = {"name": "scenario", "in": "query", "required": False,
                "description": "A stored network scenario (roads closed or slowed, see /network/scenarios); "
                               "404 when unknown. Default: the base network.", "schema": {"type": "string"}}
    cache = {"X-Cache": {"description": "hit: served from the in-memory cache; miss: computed",
                         "schema": {"type": "string", "enum": ["hit", "miss"]}}}
    return {
        "/network/coverage": {"get": {
            "summary": "Villages, people, monitored households and produce within T minutes of a facility layer",
            "description": "Totals, the table by town and the uncovered villages (status too_far or unreachable, "
                           "with the reason), also as GeoJSON points (uncovered_geojson). Counts only: no "
                           "household detail.",
            "operationId": "getCoverage",
            "parameters": [facility, {"name": "minutes", "in": "query", "required": False,
                                      "schema": {"type": "number", "default": 30, "maximum": MAX_MINUTES}},
                           {"name": "commodity", "in": "query", "required": False, "explode": True,
                            "description": "Produce to count, e.g. apple (repeatable; default all)",
                            "schema": {"type": "array", "items": {"type": "string"}}}, status, scenario],
            "responses": {"200": {"description": "CoverageSummary", "headers": cache,
                                  "content": {"application/json": {"schema": {"type": "object"}}}}, **errors}}},
        "/network/service-areas": {"get": {
            "summary": "Service-area polygons (WGS84) of one facility or of the whole layer",
            "operationId": "getServiceAreas",
            "parameters": [facility,
                           {"name": "id", "in": "query", "required": False,
                            "description": "Facility id (towns: code); all facilities when absent",
                            "schema": {"type": "string"}},
                           {"name": "minutes", "in": "query", "required": False,
                            "description": f"Cutoffs, comma separated (at most {MAX_CUTOFFS})",
                            "schema": {"type": "string", "default": "15,30,60"}},
                           {"name": "dissolve", "in": "query", "required": False,
                            "description": "1: one polygon per cutoff over all facilities",
                            "schema": {"type": "integer", "enum": [0, 1], "default": 0}}, status, scenario],
            "responses": {"200": {"description": "FeatureCollection, largest cutoff first", "headers": cache,
                                  "content": geojson}, "404": error, **errors}}},
        "/network/accessibility": {"get": {
            "summary": "Every village with its nearest facility, minutes (null: unreachable) and reason",
            "operationId": "getAccessibility", "parameters": [facility, status, scenario],
            "responses": {"200": {"description": "FeatureCollection of village points", "headers": cache,
                                  "content": geojson}, **errors}}},
        "/network/od": {"get": {
            "summary": f"Travel-time matrix in minutes between two layers (at most {netdata.MAX_OD_SIDE} per side)",
            "operationId": "getODMatrix",
            "parameters": [
                {"name": "from", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": list(netdata.OD_LAYERS), "default": "villages"}},
                {"name": "to", "in": "query", "required": True,
                 "schema": {"type": "string", "enum": list(netdata.OD_LAYERS)}},
                {"name": "cutoff_min", "in": "query", "required": False,
                 "description": "Leave times above this empty (null)", "schema": {"type": "number"}}, scenario],
            "responses": {"200": {"description": "origin_ids, destination_ids, minutes (null: unreachable), "
                                                 "snap reasons", "headers": cache,
                                  "content": {"application/json": {"schema": {"type": "object"}}}}, **errors}}},
        "/network/resilience": {"get": {
            "summary": "Villages with a single access and road links ranked by what their loss cuts off",
            "description": "A link is a stretch of road whose loss (any piece of it) disconnects the same "
                           "villages from the core network (bridges of the road graph). Each link lists the "
                           "villages, people, households, monitored households by kind and produce tonnes cut "
                           "off; detours lists the other segments by the person-minutes their loss adds to the "
                           "villages whose fastest route to the nearest target uses them.",
            "operationId": "getResilience",
            "parameters": [{"name": "to", "in": "query", "required": False,
                            "description": "Targets for the detour minutes (towns: the town seats)",
                            "schema": {"type": "string", "enum": ["towns", "cold_storage", "industry_bases",
                                                                  "relocation_settlements"], "default": "towns"}},
                           {"name": "top", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 20}},
                           scenario],
            "responses": {"200": {"description": "totals, links, detours, single_access and GeoJSON layers",
                                  "headers": cache,
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          "404": error, **errors}}},
        "/network/scenarios": {"get": {
            "summary": "The stored network scenarios (roads closed or slowed)",
            "operationId": "listNetworkScenarios",
            "responses": {"200": {"description": "scenarios",
                                  "content": {"application/json": {"schema": {"type": "object"}}}},
                          "401": error}}},
    }
