"""The OpenAPI 3.0 description of ``/api/v1`` (kept beside the views it describes)."""
from __future__ import annotations

from layers.schema import LAYERS

_ERROR = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_GEOJSON = {"application/geo+json": {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}
_LAYER = {"name": "layer", "in": "path", "required": True,
          "schema": {"type": "string", "enum": list(LAYERS)}}


def _network_paths() -> dict:
    from .network import openapi_paths

    return openapi_paths(_ERROR, _GEOJSON)


def _proposal_paths() -> dict:
    from .projects import openapi_paths

    return openapi_paths(_ERROR)


def document(base: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "ruralplan API", "version": "1",
                 "description": "County rural-revitalization workspace layers. Reads are open or need a "
                                "session cookie (setting); state changes need a role and the X-CSRFToken header."},
        "servers": [{"url": base.rstrip("/")}],
        "paths": {
            "/": {"get": {"summary": "Links to the layers, this document and the session", "operationId": "getRoot",
                          "responses": {"200": {"description": "Links"}}}},
            "/layers": {"get": {"summary": "List layers with counts and fields", "operationId": "listLayers",
                                "responses": {"200": {"description": "Layers", "content": {"application/json": {
                                    "schema": {"type": "object"}}}}, "401": _ERROR}}},
            "/layers/{layer}": {"get": {
                "summary": "A layer as GeoJSON", "operationId": "getLayer",
                "parameters": [_LAYER, {"name": "bbox", "in": "query", "required": False,
                                        "description": "minLon,minLat,maxLon,maxLat (WGS84)",
                                        "schema": {"type": "string"}}],
                "responses": {"200": {"description": "FeatureCollection", "content": _GEOJSON},
                              "400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR}}},
            "/layers/{layer}/features/{id}": {"get": {
                "summary": "One feature by its id", "operationId": "getFeature",
                "parameters": [_LAYER, {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "Feature", "content": {"application/geo+json": {
                    "schema": {"$ref": "#/components/schemas/Feature"}}}}, "401": _ERROR, "403": _ERROR,
                    "404": _ERROR}}},
            "/layers/{layer}/import": {"post": {
                "summary": "Import a file into a layer (nothing is written when it has errors)",
                "operationId": "importLayer", "parameters": [_LAYER,
                    {"name": "X-CSRFToken", "in": "header", "required": True, "schema": {"type": "string"}}],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["file"], "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "crs": {"type": "string", "description": "the coordinates' real system, for tables "
                                "and vector files; default auto: a vector file's own CRS, WGS84 for tables; "
                                "or EPSG:n", "pattern": "^(auto|wgs84|cgcs2000|gcj02|bd09|EPSG:[0-9]+)$"},
                        "replace": {"type": "boolean"}, "skip_bad_rows": {"type": "boolean"}}}}}},
                "responses": {"200": {"description": "Imported"}, "422": {"description": "Validation errors; nothing written"},
                              "400": _ERROR, "401": _ERROR, "403": _ERROR}}},
            "/session": {"get": {"summary": "Current user and a CSRF token", "operationId": "getSession",
                                 "responses": {"200": {"description": "Session"}}}},
            "/openapi.json": {"get": {"summary": "This document", "operationId": "getOpenAPI",
                                      "responses": {"200": {"description": "OpenAPI document"}}}},
            **_network_paths(),
            **_proposal_paths(),
        },
        "components": {"schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
                "code": {"type": "integer"}, "message": {"type": "string"}}}}},
            "Feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
                "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"},
                "geometry": {"type": "object", "nullable": True}, "properties": {"type": "object"}}},
            "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}}}},
        }},
    }
