"""The JSON bodies of ``POST /api/v1/proposals`` and ``PATCH /api/v1/proposals/{id}``,
built from the proposal form's own description (:data:`layers.proposals.FIELDS`), so a
field added there is accepted and documented here without a second list.

These models check shapes and types (a number where a number goes, lists of strings,
bounded integers, a GeoJSON geometry); :func:`layers.proposals.clean_proposal_data`
still checks meaning (choices, codes, required fields) and answers 422 with every field.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from layers import proposals as P

from .apispec import BodyModel, Int64

#: Integers the proposal table stores (households, jobs, a year): 32-bit is plenty and
#: keeps every value far from SQLite's 64-bit limit.
INT_MAX = 2**31 - 1
#: Longest free text accepted in one field (characters).
TEXT_MAX = 4000
#: Longest list (commodities, villages, links, attachments).
LIST_MAX = 500
#: Most positions in one geometry.
POSITIONS_MAX = 20000

Number = Annotated[float, Field(allow_inf_nan=False)]
Position = Annotated[list[Number], Field(min_length=2, max_length=3)]


class _Geometry(BaseModel):
    model_config = ConfigDict(extra="allow")


class Point(_Geometry):
    type: Literal["Point"]
    coordinates: Position


class MultiPoint(_Geometry):
    type: Literal["MultiPoint"]
    coordinates: Annotated[list[Position], Field(min_length=1, max_length=POSITIONS_MAX)]


class LineString(_Geometry):
    type: Literal["LineString"]
    coordinates: Annotated[list[Position], Field(min_length=2, max_length=POSITIONS_MAX)]


class MultiLineString(_Geometry):
    type: Literal["MultiLineString"]
    coordinates: Annotated[list[Annotated[list[Position], Field(min_length=2, max_length=POSITIONS_MAX)]],
                           Field(min_length=1, max_length=1000)]


Ring = Annotated[list[Position], Field(min_length=4, max_length=POSITIONS_MAX)]


class Polygon(_Geometry):
    type: Literal["Polygon"]
    coordinates: Annotated[list[Ring], Field(min_length=1, max_length=1000)]


class MultiPolygon(_Geometry):
    type: Literal["MultiPolygon"]
    coordinates: Annotated[list[Annotated[list[Ring], Field(min_length=1, max_length=1000)]],
                           Field(min_length=1, max_length=1000)]


Geometry = Annotated[Union[Point, MultiPoint, LineString, MultiLineString, Polygon, MultiPolygon],
                     Field(discriminator="type")]


class Feature(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["Feature"]
    geometry: Geometry
    properties: Optional[dict[str, Any]] = None


Location = Union[
    Annotated[Geometry, Field(title="GeoJSON geometry")],
    Annotated[Feature, Field(title="GeoJSON feature")],
    Annotated[str, Field(min_length=1, max_length=200_000, title="WKT or 'lon,lat'")],
    Annotated[list[Number], Field(min_length=2, max_length=2, title="[lon, lat]")],
]


def _annotation(f):
    """The JSON type of one proposal field (always optional here: see the module docstring)."""
    if f.name in P.LIST_FIELDS:
        item = Annotated[str, Field(max_length=200)]
        kind = Union[Annotated[list[item], Field(max_length=LIST_MAX)],
                     Annotated[str, Field(max_length=TEXT_MAX)]]
    elif f.type == "int":
        low = int(f.min_value) if f.min_value is not None else -INT_MAX
        high = int(f.max_value) if f.max_value is not None else INT_MAX
        kind = Annotated[int, Field(ge=low, le=high)]
    elif f.type == "float":
        kind = Annotated[float, Field(ge=f.min_value if f.min_value is not None else -1e12, le=1e12,
                                      allow_inf_nan=False)]
    else:
        kind = Annotated[str, Field(max_length=TEXT_MAX)]
    unit = f" ({f.unit})" if f.unit else ""
    choices = f"; one of {', '.join(c.value for c in f.choices)}" if f.choices else ""
    description = f"{f.zh} {f.en}{unit}{choices}" + ("; required to create" if f.required else "")
    return (Optional[kind], Field(None, description=description))


_FIELDS = {f.name: _annotation(f) for f in P.FIELDS}
_GEOMETRY = (Optional[Location], Field(None, description="Location: GeoJSON geometry or feature, WKT, "
                                                         "'lon,lat' or [lon, lat] (EPSG:4326, inside China)"))

ProposalCreate = create_model("ProposalCreate", __base__=BodyModel, geometry=_GEOMETRY, **_FIELDS)
ProposalPatch = create_model("ProposalPatch", __base__=BodyModel, geometry=_GEOMETRY,
                             version=(Int64, Field(description="The version you edited")), **_FIELDS)


def proposal_data(body: BaseModel, *, exclude=frozenset()) -> dict[str, Any]:
    """The fields the client sent (not the unset ones), for :mod:`layers.proposals`."""
    data = body.model_dump(exclude_unset=True, exclude=set(exclude), by_alias=False)
    if "geometry" in data and isinstance(getattr(body, "geometry", None), BaseModel):
        data["geometry"] = body.geometry.model_dump(exclude_none=True)
    return data
