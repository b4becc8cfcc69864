"""Road-network analyses under ``/api/v1/network``: coverage, service areas, accessibility
and OD matrices (the same choices as ``ruralplan coverage / service-area / od``).

Views only parse and check parameters; :mod:`web.services.netdata` computes (and caches)
the payloads. Parameters are declared with pydantic models (:mod:`.apispec`). Every error
is JSON: 400 for bad parameters (naming the field) and settings, 404 for an unknown
facility id or network scenario, 409 when the workspace has neither roads nor villages
(typed errors, translated by the app's one handler), 429 when the caller already has
several analyses running. Every analysis takes ``scenario=`` (a stored network scenario).
The ``X-Cache`` header says whether the result came from the in-memory cache (``hit``)
or was computed (``miss``).
"""
from __future__ import annotations

import math
from typing import Annotated, Literal, Optional

from flask import Blueprint, current_app
from flask_babel import gettext as _
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .. import services
from ..app import current_workspace
from ..auth import permission_required
from ..services import netdata, scenarios
from .apispec import GEOJSON, Flag, QueryModel, heavy_run, ok, operation

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


FacilityLayer = Literal[tuple(services.FACILITY_LAYERS)]  # type: ignore[valid-type]
OdLayer = Literal[tuple(netdata.OD_LAYERS)]  # type: ignore[valid-type]
Status = Literal[tuple(netdata.STATUSES)]  # type: ignore[valid-type]
Minutes = Annotated[float, Field(gt=0, le=MAX_MINUTES, allow_inf_nan=False)]


class ScenarioQuery(QueryModel):
    scenario: Optional[str] = Field(None, max_length=64,
                                    description="A stored network scenario (roads closed or slowed, see "
                                                "/network/scenarios); 404 when unknown. Default: the base network.")


class FacilityQuery(ScenarioQuery):
    facility: FacilityLayer = Field("cold_storage", description="Facility layer")
    status: list[Status] = Field([], max_length=len(netdata.STATUSES) * 2,
                                 description="Only facilities with these statuses (repeatable; cold stores)")


class CoverageQuery(FacilityQuery):
    minutes: Minutes = Field(30.0, description="Cutoff in minutes")
    commodity: list[Annotated[str, Field(max_length=40)]] = Field(
        [], max_length=20, description="Produce to count, e.g. apple (repeatable; default all)")


class ServiceAreaQuery(FacilityQuery):
    id: Optional[str] = Field(None, max_length=100,
                              description="Facility id (towns: code); all facilities when absent")
    minutes: str = Field("15,30,60", max_length=100,
                         description=f"Cutoffs in minutes, comma separated (at most {MAX_CUTOFFS}, "
                                     f"each at most {MAX_MINUTES:g})")
    dissolve: Flag = Field(False, description="true: one polygon per cutoff over all facilities")

    @field_validator("minutes")
    @classmethod
    def _cutoffs(cls, text):
        try:
            values = services.parse_minutes_list(text)
        except ValueError:
            raise PydanticCustomError("minutes_list", "must be positive numbers separated by commas") from None
        if len(values) > MAX_CUTOFFS or max(values) > MAX_MINUTES or not all(map(math.isfinite, values)):
            raise PydanticCustomError("cutoffs", "at most {n} cutoffs of at most {max} minutes",
                                      {"n": MAX_CUTOFFS, "max": f"{MAX_MINUTES:g}"})
        return text

    @property
    def cutoffs(self) -> tuple[float, ...]:
        return services.parse_minutes_list(self.minutes)


class ODQuery(ScenarioQuery):
    from_: OdLayer = Field("villages", alias="from", description="Origin layer")
    to: OdLayer = Field(description="Destination layer")
    cutoff_min: Optional[Minutes] = Field(None, description="Leave times above this empty (null)")


_CACHE = {"X-Cache": {"description": "hit: served from the in-memory cache; miss: computed",
                      "schema": {"type": "string", "enum": ["hit", "miss"]}}}
_ERRORS = (400, 401, 409, 429)


def _scenario(ws, name) -> tuple[str | None, str]:
    """A stored network scenario's name (typed 404 when unknown) and its cache key (changes
    when the scenario is edited); ``(None, "")`` for the base network."""
    sc = scenarios.resolve(ws, name or None)
    return (None if sc is None else sc.name), scenarios.scenario_key(sc)


def _reply(payload_and_hit, *, geojson: bool = False):
    """The payload as JSON (``geojson``: as application/geo+json, what the document says),
    with the off-network reason codes' labels in the visitor's language (not cached)."""
    from ..services.netreasons import reason_labels

    payload, hit = payload_and_hit
    if isinstance(payload, dict):
        payload = {**payload, "reason_labels": reason_labels(_)}
    response = current_app.json.response(payload)
    if geojson:
        response.mimetype = GEOJSON
    response.headers.update({"X-Cache": "hit" if hit else "miss", "Cache-Control": "private, no-cache"})
    return response


def _heavy(build):
    """``build`` run in one of the caller's heavy-run slots (a cache hit needs none)."""
    def run():
        with heavy_run():
            return build()

    return run


@bp.route("/coverage")
@permission_required("read")
@operation("getCoverage", "Villages, people, monitored households and produce within T minutes of a facility layer",
           description="Totals, the table by town and the uncovered villages (status too_far or unreachable, "
                       "with the reason), also as GeoJSON points (uncovered_geojson). Counts only: no "
                       "household detail.",
           query=CoverageQuery, responses={200: ok("CoverageSummary", headers=_CACHE, schema={"type": "object"})},
           errors=_ERRORS)
def coverage(*, query: CoverageQuery):
    ws = current_workspace()
    facility, minutes = query.facility, query.minutes
    commodities = tuple(sorted({c.strip() for c in query.commodity if c.strip()}))
    statuses = tuple(sorted(set(query.status)))
    scenario, skey = _scenario(ws, query.scenario)
    # an unknown commodity is a typed error (planner.errors.UnknownCommodity): 400 by the app's handler
    return _reply(netdata.cached(
        ws, ("coverage", facility, minutes, commodities, statuses, skey),
        _heavy(lambda: netdata.coverage(ws, facility=facility, minutes=minutes, commodities=commodities,
                                        statuses=statuses, scenario=scenario))))


@bp.route("/service-areas")
@permission_required("read")
@operation("getServiceAreas", "Service-area polygons (WGS84) of one facility or of the whole layer",
           query=ServiceAreaQuery,
           responses={200: ok("FeatureCollection, largest cutoff first", GEOJSON, headers=_CACHE,
                              schema={"type": "object", "required": ["type", "features"]})},
           errors=(*_ERRORS, 404))
def service_areas(*, query: ServiceAreaQuery):
    ws = current_workspace()
    facility, cutoffs, fid, dissolve = query.facility, query.cutoffs, query.id or None, query.dissolve
    statuses = tuple(sorted(set(query.status)))
    scenario, skey = _scenario(ws, query.scenario)
    # an unknown facility id is a typed 404 (web.services.errors.UnknownFacility)
    return _reply(netdata.cached(
        ws, ("service_areas", facility, cutoffs, fid, dissolve, statuses, skey),
        _heavy(lambda: netdata.service_areas(ws, facility=facility, minutes=cutoffs, facility_id=fid,
                                             dissolve=dissolve, statuses=statuses, scenario=scenario))),
        geojson=True)


@bp.route("/accessibility")
@permission_required("read")
@operation("getAccessibility", "Every village with its nearest facility, minutes (null: unreachable) and reason",
           query=FacilityQuery,
           responses={200: ok("FeatureCollection of village points", GEOJSON, headers=_CACHE,
                              schema={"type": "object", "required": ["type", "features"]})},
           errors=_ERRORS)
def accessibility(*, query: FacilityQuery):
    ws = current_workspace()
    facility, statuses = query.facility, tuple(sorted(set(query.status)))
    scenario, skey = _scenario(ws, query.scenario)
    return _reply(netdata.cached(ws, ("accessibility", facility, statuses, skey),
                                 _heavy(lambda: netdata.accessibility(ws, facility=facility, statuses=statuses,
                                                                      scenario=scenario))),
                  geojson=True)


@bp.route("/od")
@permission_required("read")
@operation("getODMatrix",
           f"Travel-time matrix in minutes between two layers (at most {netdata.MAX_OD_SIDE} per side)",
           query=ODQuery,
           responses={200: ok("origin_ids, destination_ids, minutes (null: unreachable), snap reasons",
                              headers=_CACHE, schema={"type": "object"})},
           errors=_ERRORS)
def od(*, query: ODQuery):
    ws = current_workspace()
    origins, destinations, cutoff = query.from_, query.to, query.cutoff_min
    sizes = {layer: netdata.layer_size(ws, layer) for layer in (origins, destinations)}
    if max(sizes.values()) > netdata.MAX_OD_SIDE:
        raise BadRequest(_("OD matrix %(rows)s × %(cols)s is too large for the API (at most %(max)s × %(max)s); "
                           "use `ruralplan od` instead.", rows=sizes[origins], cols=sizes[destinations],
                           max=netdata.MAX_OD_SIDE))
    scenario, skey = _scenario(ws, query.scenario)
    return _reply(netdata.cached(ws, ("od", origins, destinations, cutoff, skey),
                                 _heavy(lambda: netdata.od(ws, origins=origins, destinations=destinations,
                                                           cutoff_min=cutoff, scenario=scenario))))


class ResilienceQuery(ScenarioQuery):
    to: Literal["towns", "cold_storage", "industry_bases", "relocation_settlements"] = Field(
        "towns", description="Targets the detour minutes are measured to")
    top: int = Field(20, ge=1, le=500, description="How many road links to rank")


@bp.route("/resilience")
@permission_required("read")
@operation("getResilience", "Single-access villages and road links ranked by what their loss cuts off",
           description="Bridges of the road graph (planner.resilience): villages, people, monitored households "
                       "and produce cut off per link, and the detour minutes other segments add.",
           query=ResilienceQuery, responses={200: ok("ResilienceReport", headers=_CACHE, schema={"type": "object"})},
           errors=(*_ERRORS, 404))
def resilience(*, query: ResilienceQuery):
    ws = current_workspace()
    scenario, skey = _scenario(ws, query.scenario)
    return _reply(netdata.cached(ws, ("resilience", query.to, query.top, skey),
                                 _heavy(lambda: netdata.resilience(ws, scenario=scenario, target=query.to,
                                                                   top=query.top))))


@bp.route("/scenarios")
@permission_required("read")
@operation("listNetworkScenarios", "The stored network scenarios (to pick one for scenario=)",
           responses={200: ok("scenarios", schema={"type": "object"})}, errors=(401,))
def scenario_list():
    from flask_babel import get_locale

    lang = str(get_locale() or "zh")
    return {"scenarios": [{**s.to_dict(), "text": s.describe(lang)}
                          for s in scenarios.list_scenarios(current_workspace())]}
