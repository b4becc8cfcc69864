"""JSON API under ``/api/v1``: layers, a layer as GeoJSON (bbox filter), one feature,
an import endpoint (role + CSRF header), and the OpenAPI document.

Every operation declares its parameters with :func:`.apispec.operation` (pydantic
models); the OpenAPI document is generated from those declarations.
"""
from __future__ import annotations

import re

import json
import math
from typing import Optional

from flask import Blueprint, Response, abort, g, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from layers.schema import LAYERS, get_schema

from ..services import mapdata, visibility
from ..app import current_workspace
from ..auth import permission_required
from ..services.users import has_permission
from . import openapi
from .apispec import GEOJSON, QueryModel, ok, operation

bp = Blueprint("api", __name__, url_prefix="/api/v1")

CRS_CHOICES = ("wgs84", "cgcs2000", "gcj02", "bd09")
#: what an upload's crs may be: auto (the file's own; tables: WGS84), a named system or EPSG:n
CRS_PATTERN = re.compile(r"auto|wgs84|cgcs2000|gcj02|bd09|EPSG:[0-9]+", re.IGNORECASE)


def _json_error(code: int, message: str):
    return {"error": {"code": code, "message": message}}, code


def _schema_or_404(layer: str):
    if layer not in LAYERS:
        abort(404)
    return get_schema(layer)


def _visible_frame(ws, layer: str, bbox=None):
    """The layer's rows this user may see (household-level rows: by role and scope)."""
    _schema_or_404(layer)
    user = g.get("user")
    try:
        return visibility.visible_frame(ws, layer, user, bbox=bbox)
    except visibility.NotVisible:
        abort(403 if user is not None else 401)


def _include_sensitive_fields() -> bool:
    return has_permission(g.get("user"), "households")


def parse_bbox(text: str | None):
    """``"minLon,minLat,maxLon,maxLat"`` → a 4-tuple of finite floats (WGS84), or None.

    Raises ValueError (the message says what is wrong) for anything else.
    """
    if text is None or not text.strip():
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError("expected four numbers minLon,minLat,maxLon,maxLat") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError("expected four finite numbers minLon,minLat,maxLon,maxLat")
    if values[0] > values[2] or values[1] > values[3]:
        raise ValueError("the minimum must not exceed the maximum (minLon,minLat,maxLon,maxLat)")
    if not (-180 <= values[0] and values[2] <= 180 and -90 <= values[1] and values[3] <= 90):
        raise ValueError("longitude must be within ±180 and latitude within ±90 (WGS84)")
    return tuple(values)


class LayerPath(BaseModel):
    # a str, not an enum: an unknown layer is a missing resource (404), not a malformed request
    layer: str = Field(description="Layer name", max_length=100, json_schema_extra={"enum": list(LAYERS)})


class FeaturePath(LayerPath):
    id: str = Field(description="The feature's id (towns and villages: code)", max_length=200)


class LayerQuery(QueryModel):
    bbox: Optional[str] = Field(None, description="minLon,minLat,maxLon,maxLat (WGS84); spatial layers only",
                                pattern=r"^\s*[-+0-9.eE]+(\s*,\s*[-+0-9.eE]+){3}\s*$", max_length=200)

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value):
        try:
            parse_bbox(value)
        except ValueError as exc:
            raise PydanticCustomError("bbox", str(exc)) from None
        return value


_LINKS = {"type": "object", "properties": {k: {"type": "string"} for k in ("layers", "openapi", "session")}}
_SESSION = {"type": "object", "required": ["user", "csrf_token"], "properties": {
    "user": {"anyOf": [{"type": "null"}, {"type": "object", "properties": {
        "username": {"type": "string"}, "role": {"type": "string"}, "scope_kind": {"type": ["string", "null"]},
        "scope": {"type": ["string", "null"]}}}]},
    "csrf_token": {"type": "string"}}}
_FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"const": "Feature"}, "id": {"type": "string"},
    "geometry": {"type": ["object", "null"]}, "properties": {"type": "object"}}}
_FEATURE_COLLECTION = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"const": "FeatureCollection"}, "features": {"type": "array", "items": _FEATURE}}}
_IMPORT_FORM = {"type": "object", "required": ["file"], "properties": {
    "file": {"type": "string", "format": "binary", "description": "CSV, Excel, GeoJSON, GeoPackage, zipped "
             "shapefile or OSM PBF"},
    "crs": {"type": "string", "pattern": "^(auto|wgs84|cgcs2000|gcj02|bd09|EPSG:[0-9]+)$",
            "description": "the coordinates' real system, for tables and vector files; default auto: a vector "
                           "file's own CRS, WGS84 for tables; or EPSG:n"},
    "replace": {"type": "boolean", "default": False}, "skip_bad_rows": {"type": "boolean", "default": False}}}
_OUTCOME = {"type": "object", "properties": {
    "file": {"type": "string"}, "written": {"type": "boolean"}, "layers": {"type": "array"},
    "added": {"type": "object"}, "updated": {"type": "object"}, "skipped_rows": {"type": "array"},
    "errors": {"type": "integer"}, "warnings": {"type": "integer"}, "problems": {"type": "array"}}}


@bp.route("/")
@operation("getRoot", "Links to the layers, this document and the session",
           responses={200: ok("Links", schema=_LINKS)}, errors=())
def root():
    return {
        "layers": url_for("api.layers", _external=False),
        "openapi": url_for("api.openapi_document"),
        "session": url_for("api.session_info"),
    }


@bp.route("/session")
@operation("getSession", "Current user and a CSRF token (send it as X-CSRFToken with every change)",
           responses={200: ok("Session", schema=_SESSION)}, errors=())
def session_info():
    user = g.get("user")
    return {
        "user": None if user is None else {"username": user.username, "role": user.role,
                                           "scope_kind": user.scope_kind, "scope": user.scope},
        "csrf_token": generate_csrf(),
    }


@bp.route("/layers")
@permission_required("read")
@operation("listLayers", "List layers with counts and fields",
           responses={200: ok("Layers", schema={"type": "object", "required": ["layers"],
                                                "properties": {"layers": {"type": "array"}}})},
           errors=(401,))
def layers():
    ws = current_workspace()
    out = []
    for info in ws.info():
        schema = LAYERS[info.name]
        out.append({
            "name": info.name, "zh": schema.zh, "en": schema.en, "count": info.count,
            "geometry_type": info.geometry_type, "spatial": schema.spatial, "id_field": schema.id_field,
            "sensitive": schema.sensitive,
            "url": url_for("api.layer", layer=info.name),
            "fields": [{"name": f.name, "type": f.type, "zh": f.zh, "en": f.en, "unit": f.unit,
                        "choices": [c.value for c in f.choices] or None}
                       for f in schema.fields if _include_sensitive_fields() or not f.sensitive],
        })
    return {"layers": out}


@bp.route("/layers/<layer>")
@permission_required("read")
@operation("getLayer", "A layer as GeoJSON", path=LayerPath, query=LayerQuery,
           responses={200: ok("FeatureCollection", GEOJSON, _FEATURE_COLLECTION)}, errors=(400, 401, 403, 404))
def layer(layer: str, *, query: LayerQuery):
    from .apispec import BadField

    ws = current_workspace()
    schema = _schema_or_404(layer)
    bbox = parse_bbox(query.bbox)
    if bbox is not None and not schema.spatial:
        raise BadField(field="bbox", location="query", reason_en=f"layer {layer} has no geometry",
                       reason_zh=f"图层 {layer} 没有空间位置")
    frame = _visible_frame(ws, layer, bbox)
    body = mapdata.api_geojson(frame, layer, include_sensitive=_include_sensitive_fields() or schema.sensitive)
    return Response(body, mimetype="application/geo+json")


@bp.route("/layers/<layer>/features/<path:id>")
@permission_required("read")
@operation("getFeature", "One feature by its id", path=FeaturePath,
           responses={200: ok("Feature", GEOJSON, _FEATURE)}, errors=(400, 401, 403, 404))
def feature(layer: str, id: str):  # noqa: A002 - the documented parameter name
    fid = id
    ws = current_workspace()
    schema = _schema_or_404(layer)
    frame = _visible_frame(ws, layer)
    frame = frame[frame[schema.id_field].astype(str) == fid]
    if not len(frame):
        abort(404)
    body = mapdata.api_geojson(frame.iloc[:1], layer,
                               include_sensitive=_include_sensitive_fields() or schema.sensitive)
    single = json.loads(body)["features"][0]
    return Response(json.dumps(single, ensure_ascii=False), mimetype="application/geo+json")


@bp.route("/layers/<layer>/import", methods=["POST"])
@permission_required("import")
@operation("importLayer", "Import a file into a layer (nothing is written when it has errors)", path=LayerPath,
           description="The request is at most 200 MB (MAX_CONTENT_LENGTH). Before reading, a zip archive "
                       "(zipped shapefile, .xlsx) may unpack to at most 300 MB and a file may hold at most "
                       "300,000 rows, unless the workspace's upload_limits raise them (413 otherwise).",
           form=_IMPORT_FORM, csrf=True,
           responses={200: ok("Imported", schema=_OUTCOME),
                      422: ok("Validation errors (problems); nothing written", schema=_OUTCOME)},
           errors=(400, 401, 403, 404, 413))
def import_into(layer: str):
    """Multipart upload (``file``; optional ``crs``, ``replace``, ``skip_bad_rows``).

    Needs the ``X-CSRFToken`` header (from ``/api/v1/session``) like every state change.
    """
    from .data import UploadRejected, import_upload

    ws = current_workspace()
    _schema_or_404(layer)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _json_error(400, _("Choose a file to import (form field “file”)."))
    crs = request.form.get("crs") or None  # none given: each file's own CRS (tables: WGS84)
    if crs is not None and not CRS_PATTERN.fullmatch(crs):
        from .apispec import BadField

        raise BadField(field="crs", location="form",
                       reason_en=f"expected auto, one of {', '.join(CRS_CHOICES)} or EPSG:n",
                       reason_zh=f"应为 auto、{'、'.join(CRS_CHOICES)} 之一或 EPSG:n")
    flags = {k: request.form.get(k, "").lower() in ("1", "true", "yes", "on") for k in ("replace", "skip_bad_rows")}
    try:
        outcome = import_upload(ws, layer, upload, crs=crs, **flags)
    except UploadRejected as exc:
        return _json_error(exc.status, str(exc))
    return outcome.to_dict(), (200 if outcome.ok else 422)


@bp.route("/openapi.json")
@operation("getOpenAPI", "This document (generated from the operations' declarations)",
           responses={200: ok("OpenAPI 3.1 document", schema={"type": "object"})}, errors=())
def openapi_document():
    return openapi.document(url_for("api.root"))
