"""JSON API under ``/api/v1``: layers, a layer as GeoJSON (bbox filter), one feature,
an import endpoint (role + CSRF header), and the OpenAPI document."""
from __future__ import annotations

import json
import math

from flask import Blueprint, Response, abort, g, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from layers.schema import LAYERS, get_schema

from ..services import mapdata, visibility
from ..app import current_workspace
from ..auth import permission_required
from ..services.users import has_permission
from . import openapi

bp = Blueprint("api", __name__, url_prefix="/api/v1")


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
    if not text:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values) or values[0] > values[2] or values[1] > values[3]:
        abort(400)
    return tuple(values)


@bp.route("/")
def root():
    return {
        "layers": url_for("api.layers", _external=False),
        "openapi": url_for("api.openapi_document"),
        "session": url_for("api.session_info"),
    }


@bp.route("/session")
def session_info():
    user = g.get("user")
    return {
        "user": None if user is None else {"username": user.username, "role": user.role,
                                           "scope_kind": user.scope_kind, "scope": user.scope},
        "csrf_token": generate_csrf(),
    }


@bp.route("/layers")
@permission_required("read")
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
def layer(layer: str):
    ws = current_workspace()
    schema = _schema_or_404(layer)
    bbox = parse_bbox(request.args.get("bbox"))
    if bbox is not None and not schema.spatial:
        abort(400)
    frame = _visible_frame(ws, layer, bbox)
    body = mapdata.api_geojson(frame, layer, include_sensitive=_include_sensitive_fields() or schema.sensitive)
    return Response(body, mimetype="application/geo+json")


@bp.route("/layers/<layer>/features/<path:fid>")
@permission_required("read")
def feature(layer: str, fid: str):
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
    flags = {k: request.form.get(k, "").lower() in ("1", "true", "yes", "on") for k in ("replace", "skip_bad_rows")}
    try:
        outcome = import_upload(ws, layer, upload, crs=crs, **flags)
    except UploadRejected as exc:
        return _json_error(400, str(exc))
    return outcome.to_dict(), (200 if outcome.ok else 422)


@bp.route("/openapi.json")
def openapi_document():
    return openapi.document(url_for("api.root"))
