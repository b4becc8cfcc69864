"""Road-network analyses under ``/api/v1/network``: coverage, service areas, accessibility
and OD matrices (the same choices as ``ruralplan coverage / service-area / od``).

Views only parse and check parameters; :mod:`web.netdata` computes (and caches) the
payloads. Parameters are declared with pydantic models (:mod:`.apispec`). Every error is JSON:
400 for bad parameters (naming the field), 404 for an unknown facility id,
409 when the workspace has no roads, 429 when the caller already has
several analyses running. The ``X-Cache`` header says whether the result
came from the in-memory cache (``hit``) or was computed (``miss``).
"""
from __future__ import annotations

import math
from typing import Annotated, Literal, Optional

from flask import Blueprint, current_app
from flask_babel import gettext as _
from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from .. import netdata, services
from ..app import current_workspace
from ..auth import permission_required
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


@bp.errorhandler(netdata.NoRoads)
def _no_roads(exc):
    return _error(409, _("The workspace has no roads: import a roads layer first."))


FacilityLayer = Literal[tuple(services.FACILITY_LAYERS)]  # type: ignore[valid-type]
OdLayer = Literal[tuple(netdata.OD_LAYERS)]  # type: ignore[valid-type]
Status = Literal[tuple(netdata.STATUSES)]  # type: ignore[valid-type]
Minutes = Annotated[float, Field(gt=0, le=MAX_MINUTES, allow_inf_nan=False)]


class FacilityQuery(QueryModel):
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


class ODQuery(QueryModel):
    from_: OdLayer = Field("villages", alias="from", description="Origin layer")
    to: OdLayer = Field(description="Destination layer")
    cutoff_min: Optional[Minutes] = Field(None, description="Leave times above this empty (null)")


_CACHE = {"X-Cache": {"description": "hit: served from the in-memory cache; miss: computed",
                      "schema": {"type": "string", "enum": ["hit", "miss"]}}}
_ERRORS = (400, 401, 409, 429)


def _reply(payload_and_hit, *, geojson: bool = False):
    """The payload as JSON (``geojson``: as application/geo+json, what the document says)."""
    payload, hit = payload_and_hit
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

    def build():
        try:
            return netdata.coverage(ws, facility=facility, minutes=minutes, commodities=commodities,
                                    statuses=statuses)
        except netdata.NoRoads:
            raise
        except ValueError:  # an unknown commodity
            raise BadRequest(_("No produce figures for commodity %(value)s in the villages layer.",
                               value=", ".join(commodities))) from None

    return _reply(netdata.cached(ws, ("coverage", facility, minutes, commodities, statuses), _heavy(build)))


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
    try:
        return _reply(netdata.cached(
            ws, ("service_areas", facility, cutoffs, fid, dissolve, statuses),
            _heavy(lambda: netdata.service_areas(ws, facility=facility, minutes=cutoffs, facility_id=fid,
                                                 dissolve=dissolve, statuses=statuses))), geojson=True)
    except LookupError:
        return _error(404, _("No facility with id %(id)s in %(layer)s.", id=repr(fid), layer=facility))


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
    return _reply(netdata.cached(ws, ("accessibility", facility, statuses),
                                 _heavy(lambda: netdata.accessibility(ws, facility=facility, statuses=statuses))),
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
    return _reply(netdata.cached(ws, ("od", origins, destinations, cutoff),
                                 _heavy(lambda: netdata.od(ws, origins=origins, destinations=destinations,
                                                           cutoff_min=cutoff))))
