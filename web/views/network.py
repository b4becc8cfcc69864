"""Road-network analyses under ``/api/v1/network``: coverage, service areas, accessibility
and OD matrices (the same choices as ``ruralplan coverage / service-area / od``).

Views only parse and check parameters; :mod:`web.netdata` computes (and caches) the
payloads. Every error is JSON: 400 for bad parameters, 404 for an unknown facility id,
409 when the workspace has no roads. The ``X-Cache`` header says whether the result
came from the in-memory cache (``hit``) or was computed (``miss``).
"""
from __future__ import annotations

import math

from flask import Blueprint, request
from flask_babel import gettext as _

from .. import netdata, services
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


@bp.errorhandler(netdata.NoRoads)
def _no_roads(exc):
    return _error(409, _("The workspace has no roads: import a roads layer first."))


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


def _reply(payload_and_hit):
    from ..netreasons import reason_labels

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

    def build():
        try:
            return netdata.coverage(ws, facility=facility, minutes=minutes, commodities=commodities,
                                    statuses=statuses)
        except netdata.NoRoads:
            raise
        except ValueError:  # an unknown commodity
            raise BadRequest(_("No produce figures for commodity %(value)s in the villages layer.",
                               value=", ".join(commodities))) from None

    return _reply(netdata.cached(ws, ("coverage", facility, minutes, commodities, statuses), build))


@bp.route("/service-areas")
@permission_required("read")
def service_areas():
    ws = current_workspace()
    facility = _choice("facility", services.FACILITY_LAYERS, "cold_storage")
    cutoffs = _minutes_list("15,30,60")
    fid = request.args.get("id") or None
    dissolve = _flag("dissolve")
    statuses = _statuses()
    try:
        return _reply(netdata.cached(
            ws, ("service_areas", facility, cutoffs, fid, dissolve, statuses),
            lambda: netdata.service_areas(ws, facility=facility, minutes=cutoffs, facility_id=fid,
                                          dissolve=dissolve, statuses=statuses)))
    except LookupError:
        return _error(404, _("No facility with id %(id)s in %(layer)s.", id=repr(fid), layer=facility))


@bp.route("/accessibility")
@permission_required("read")
def accessibility():
    ws = current_workspace()
    facility = _choice("facility", services.FACILITY_LAYERS, "cold_storage")
    statuses = _statuses()
    return _reply(netdata.cached(ws, ("accessibility", facility, statuses),
                                 lambda: netdata.accessibility(ws, facility=facility, statuses=statuses)))


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
    return _reply(netdata.cached(ws, ("od", origins, destinations, cutoff),
                                 lambda: netdata.od(ws, origins=origins, destinations=destinations,
                                                    cutoff_min=cutoff)))


# --------------------------------------------------------------------------- OpenAPI
def openapi_paths(error: dict, geojson: dict) -> dict:
    """This blueprint's paths for the OpenAPI document (relative to ``/api/v1``)."""
    facility = {"name": "facility", "in": "query", "required": False, "description": "Facility layer",
                "schema": {"type": "string", "enum": list(services.FACILITY_LAYERS), "default": "cold_storage"}}
    status = {"name": "status", "in": "query", "required": False, "explode": True,
              "description": "Only facilities with these statuses (repeatable; cold stores)",
              "schema": {"type": "array", "items": {"type": "string", "enum": list(netdata.STATUSES)}}}
    errors = {"400": error, "401": error, "409": {**error, "description": "The workspace has no roads"}}
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
                            "schema": {"type": "array", "items": {"type": "string"}}}, status],
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
                            "schema": {"type": "integer", "enum": [0, 1], "default": 0}}, status],
            "responses": {"200": {"description": "FeatureCollection, largest cutoff first", "headers": cache,
                                  "content": geojson}, "404": error, **errors}}},
        "/network/accessibility": {"get": {
            "summary": "Every village with its nearest facility, minutes (null: unreachable) and reason",
            "operationId": "getAccessibility", "parameters": [facility, status],
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
                 "description": "Leave times above this empty (null)", "schema": {"type": "number"}}],
            "responses": {"200": {"description": "origin_ids, destination_ids, minutes (null: unreachable), "
                                                 "snap reasons", "headers": cache,
                                  "content": {"application/json": {"schema": {"type": "object"}}}}, **errors}}},
    }
