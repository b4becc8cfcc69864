"""The map explorer page and its data endpoints (compact GeoJSON, cached per file version)."""
from __future__ import annotations

import gzip

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_babel import lazy_gettext as _l

from layers.schema import get_schema

from .. import mapping, netmap, resmap
from ..services import mapdata, visibility
from ..app import NavItem, current_workspace
from ..auth import permission_required
from ..services.users import has_permission

bp = Blueprint("map", __name__, url_prefix="/map")
NAV = [NavItem("map.index", _l("Map"), 10)]


def _include_sensitive() -> bool:
    return has_permission(g.get("user"), "households")


@bp.route("/")
@permission_required("read")
def index():
    ws = current_workspace()
    page = mapping.build_map(ws, include_sensitive=_include_sensitive(), config=current_app.config,
                             user=g.get("user"))
    return render_template("map.html", page=page, network=netmap.panel(), resilience=resmap.panel())


@bp.route("/data/<layer>.geojson")
@permission_required("read")
def layer_data(layer: str):
    ws = current_workspace()
    try:
        schema = get_schema(layer)
    except ValueError:
        return {"error": {"code": 404, "message": "unknown layer"}}, 404
    if not schema.spatial or schema.sensitive:
        return {"error": {"code": 404, "message": "not a map layer"}}, 404
    sensitive = _include_sensitive()
    user = g.get("user")
    return _geojson_response(ws, ("map", layer, sensitive, *visibility.rows_key(layer, user)),
                             lambda: mapdata.map_layer_geojson(ws, layer, include_sensitive=sensitive, user=user),
                             layers=(layer,))


@bp.route("/data/choropleth.geojson")
@permission_required("read")
def choropleth_data():
    ws = current_workspace()
    return _geojson_response(ws, ("choropleth",), lambda: mapdata.town_choropleth_geojson(ws))


def _geojson_response(ws, key, build, *, layers=None) -> Response:
    """The payload with an ETag (304 when unchanged), gzipped once per version of ``layers``."""
    tag = mapdata.etag(ws, *key, layers=layers)
    if request.if_none_match and tag in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{tag}"'})
    gzip_ok = "gzip" in request.headers.get("Accept-Encoding", "")
    if gzip_ok:
        body = mapdata.cached(ws, ("gzip", *key), lambda: gzip.compress(build(), compresslevel=6, mtime=0),
                              layers=layers)
    else:
        body = build()
    response = Response(body, mimetype="application/geo+json")
    if gzip_ok:
        response.headers["Content-Encoding"] = "gzip"
    response.set_etag(tag)
    # Revalidate every time (cheap 304), never serve another user's cached variant.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Cookie, Accept-Encoding"
    return response
