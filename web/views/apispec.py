"""Request validation declared once per API operation, and the OpenAPI document built from it.

Each ``/api/v1`` view is decorated with :func:`operation`, naming pydantic (v2) models
for its path, query and JSON body. The decorator validates the request before the view
runs and hands the view the validated models (``query=``, ``body=``); a malformed
request (a string where a number goes, an integer beyond 64 bits, a list sent as a
number, an unknown enum value, a non-object body) is a 400 naming the field, raised
as :class:`BadField` and translated once by the app's error handler. :func:`document`
walks the app's URL map and builds the OpenAPI 3.1 document from the same
declarations, so what is documented is what is enforced.

pydantic's JSON Schema is the JSON Schema dialect of OpenAPI 3.1, so schemas go into
the document as pydantic writes them (``$defs`` moved to ``components/schemas``).
"""
from __future__ import annotations

import functools
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any

from flask import current_app, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from geo.errors import InvalidInput

__all__ = [
    "BadField", "Finite", "Flag", "Int64", "QueryModel", "BodyModel", "operation", "document", "ok", "JSON",
    "GEOJSON", "validate_query", "heavy_run",
]

#: SQLite integers are signed 64-bit: anything beyond cannot name a stored row.
INT64_MAX = 2**63 - 1
Int64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
#: 0/1 (also true/false, yes/no, on/off) in a query string.
Flag = bool
#: A number that is not NaN or infinite.
Finite = Annotated[float, Field(allow_inf_nan=False)]
JSON = "application/json"
GEOJSON = "application/geo+json"


class BadField(InvalidInput):
    """A request field that is missing, of the wrong type or out of bounds (HTTP 400)."""

    code = "request.invalid_field"
    en = "{field}: {reason_en}"
    zh = "参数 {field}：{reason_zh}"


#: Both languages of the reasons a client meets (pydantic error types, and our own
#: ``PydanticCustomError`` types), formatted with the error's context and ``input``.
#: Anything else keeps pydantic's English and a plain Chinese "invalid".
REASONS = {
    "missing": ("Missing parameter", "缺少参数"),
    "literal_error": ("{input} is not valid; expected one of {expected}", "{input} 无效；可选值：{expected}"),
    "enum": ("{input} is not valid; expected one of {expected}", "{input} 无效；可选值：{expected}"),
    "int_parsing": ("must be a whole number (got {input})", "须为整数（收到 {input}）"),
    "int_type": ("must be a whole number (got {input})", "须为整数（收到 {input}）"),
    "int_from_float": ("must be a whole number (got {input})", "须为整数（收到 {input}）"),
    "float_parsing": ("must be a number (got {input})", "须为数字（收到 {input}）"),
    "float_type": ("must be a number (got {input})", "须为数字（收到 {input}）"),
    "finite_number": ("must be a finite number (got {input})", "须为有限数字（收到 {input}）"),
    "bool_parsing": ("must be 0 or 1 (got {input})", "须为 0 或 1（收到 {input}）"),
    "bool_type": ("must be true or false (got {input})", "须为 true 或 false（收到 {input}）"),
    "string_type": ("must be text (got {input})", "须为文本（收到 {input}）"),
    "list_type": ("must be a list (got {input})", "须为列表（收到 {input}）"),
    "dict_type": ("must be a JSON object", "须为 JSON 对象"),
    "model_type": ("must be a JSON object", "须为 JSON 对象"),
    "model_attributes_type": ("must be a JSON object", "须为 JSON 对象"),
    "greater_than": ("must be greater than {gt} (got {input})", "须大于 {gt}（收到 {input}）"),
    "greater_than_equal": ("must be at least {ge} (got {input})", "须不小于 {ge}（收到 {input}）"),
    "less_than": ("must be less than {lt} (got {input})", "须小于 {lt}（收到 {input}）"),
    "less_than_equal": ("must be at most {le} (got {input})", "须不超过 {le}（收到 {input}）"),
    "string_too_long": ("is too long (at most {max_length} characters)", "过长（最多 {max_length} 个字符）"),
    "string_too_short": ("is too short (at least {min_length} characters)", "过短（至少 {min_length} 个字符）"),
    "too_long": ("has too many items (at most {max_length})", "项目过多（最多 {max_length} 项）"),
    "too_short": ("has too few items (at least {min_length})", "项目过少（至少 {min_length} 项）"),
    "string_pattern_mismatch": ("is not in the expected form (got {input})", "格式不对（收到 {input}）"),
    "extra_forbidden": ("is not a known field", "不是可识别的字段"),
    "union_tag_invalid": ("has an unknown type {tag}; expected one of {expected_tags}",
                          "类型 {tag} 不对；可选：{expected_tags}"),
    "union_tag_not_found": ("needs a {discriminator} member", "缺少 {discriminator} 成员"),
    # our own (PydanticCustomError types raised by validators)
    "minutes_list": ("must be positive numbers separated by commas, e.g. 15,30,60 (got {input})",
                     "须为逗号分隔的正数，例如 15,30,60（收到 {input}）"),
    "cutoffs": ("at most {n} cutoffs of at most {max} minutes (got {input})",
                "最多 {n} 个时间阈值，每个不超过 {max} 分钟（收到 {input}）"),
    "bbox": ("must be minLon,minLat,maxLon,maxLat in WGS84 degrees with min <= max (got {input})",
             "须为 WGS84 经纬度 最小经度,最小纬度,最大经度,最大纬度，且最小值不大于最大值（收到 {input}）"),
}


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def bad_field(exc: ValidationError, location: str) -> BadField:
    """The first problem of a pydantic error as a :class:`BadField` (field, reason in
    both languages); ``fields`` lists every problem (pydantic's English)."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = [str(part) for part in first["loc"]]
    field = loc[0] if loc else location  # the parameter or top-level body field
    inner = ".".join(loc[1:])  # where inside it (list index, nested key)
    values = {k: (str(v).replace(" or ", ", ") if k == "expected" else v)
              for k, v in (first.get("ctx") or {}).items()}
    values["input"] = _shown(first.get("input"))
    templates = REASONS.get(first["type"])
    if templates is not None:
        try:
            reason_en, reason_zh = (t.format(**values) for t in templates)
        except (KeyError, IndexError, ValueError):
            templates = None
    if templates is None:
        reason_en, reason_zh = first["msg"], f"值无效（收到 {values['input']}）"
    if inner:
        reason_en, reason_zh = f"{inner}: {reason_en}", f"{inner}：{reason_zh}"
    fields = {}
    for err in errors:
        fields.setdefault(".".join(str(part) for part in err["loc"]) or location, err["msg"])
    return BadField(field=field, location=location, reason_en=reason_en, reason_zh=reason_zh, fields=fields)


class QueryModel(BaseModel):
    """Base of query-string models: unknown parameters are ignored, values are strings
    coerced to the declared types (pydantic's lax mode)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class BodyModel(BaseModel):
    """Base of JSON body models: unknown fields are refused, so a typo is not silently lost."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@dataclass(frozen=True)
class Response:
    description: str
    content_type: str | None = JSON
    schema: Any = None  # a JSON Schema dict, a pydantic model, or None
    headers: dict = field(default_factory=dict)


def ok(description: str, content_type: str | None = JSON, schema: Any = None, **headers) -> Response:
    return Response(description, content_type, schema, headers)


#: What each documented error status means (the body is always the Error schema).
ERROR_TEXT = {
    400: "Malformed request: error.field names the parameter",
    401: "Login needed", 403: "Not allowed for this role or scope", 404: "Not found",
    405: "Method not allowed (Allow header)", 409: "Conflict", 413: "Too large",
    415: "Unsupported body type", 422: "Invalid values (error.fields)", 429: "Too many requests (Retry-After)",
}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    description: str | None
    path: type[BaseModel] | None
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    form: dict | None  # a multipart/form-data schema (files cannot be a pydantic model)
    responses: dict
    errors: tuple[int, ...]
    csrf: bool


def _is_list(annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin is list or origin is tuple:
        return True
    if origin in (typing.Union, types.UnionType) or origin is Annotated:
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def _query_data(model: type[BaseModel]) -> dict:
    args = request.args
    data = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in args:
            continue
        data[key] = args.getlist(key) if _is_list(info.annotation) else args.get(key)
    return data


#: Largest JSON body read (bytes): a proposal with a detailed polygon is well under it.
MAX_JSON_BYTES = 2 * 1024 * 1024


def _body_data() -> Any:
    from geo.errors import TooLarge

    if (request.content_length or 0) > MAX_JSON_BYTES:
        raise TooLarge(detail=f"JSON bodies are limited to {MAX_JSON_BYTES // 1024 // 1024} MB")
    if not request.is_json:
        raise BadField(field="body", location="body",
                       reason_en="send a JSON object with Content-Type: application/json",
                       reason_zh="请以 Content-Type: application/json 发送 JSON 对象")
    try:
        return json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        raise BadField(field="body", location="body", reason_en="not valid JSON",
                       reason_zh="不是有效的 JSON") from None


def _validate(model: type[BaseModel], data, location: str):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise bad_field(exc, location) from None


def validate_query(model: type[BaseModel]):
    """The current request's query string as ``model`` (for pages, which have no
    :func:`operation`); raises :class:`BadField`."""
    return _validate(model, _query_data(model), "query")


def operation(operation_id: str, summary: str, *, description: str | None = None, path=None, query=None,
              body=None, form=None, responses: dict | None = None, errors=(400, 401, 403), csrf: bool = False):
    """Declare and enforce one API operation (see the module docstring).

    Parameters
    ----------
    path, query, body : pydantic model class, optional
        Path parameters (validated from the URL's values), query string and JSON
        body. The view gets ``query=`` and ``body=`` keyword arguments with the
        validated models; path values are replaced by the validated ones.
    form : dict, optional
        A multipart/form-data JSON Schema (uploads; checked by the view).
    responses : dict
        Status → :func:`ok` for successful answers.
    errors : tuple of int
        Error statuses the operation can answer (documented with the Error schema).
    csrf : bool
        The operation changes state and needs the ``X-CSRFToken`` header.
    """

    def decorator(view):
        op = Operation(operation_id, summary, description, path, query, body, form, dict(responses or {}),
                       tuple(sorted(set(errors))), csrf)

        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if path is not None:
                validated = _validate(path, kwargs, "path")
                kwargs.update(validated.model_dump())
            if query is not None:
                kwargs["query"] = _validate(query, _query_data(query), "query")
            if body is not None:
                kwargs["body"] = _validate(body, _body_data(), "body")
            return view(*args, **kwargs)

        wrapped.api_operation = op
        return wrapped

    return decorator


# --------------------------------------------------------------------------- the document
def _strip_null(schema: dict) -> dict:
    """A query/path parameter's schema without pydantic's ``null`` branch (absent is not null)."""
    schema = dict(schema)
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        if len(branches) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            schema = {**branches[0], **rest}
        else:
            schema["anyOf"] = branches
    if schema.get("default", 0) is None:
        del schema["default"]
    schema.pop("title", None)
    return schema


class _Components:
    def __init__(self):
        self.schemas: dict[str, dict] = {}

    def model(self, model: type[BaseModel], mode: str = "validation") -> dict:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, sub)
        self.schemas.setdefault(model.__name__, schema)
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def params(self, model: type[BaseModel], where: str) -> list[dict]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            self.schemas.setdefault(name, sub)
        required = set(schema.get("required", ()))
        out = []
        for name, prop in schema.get("properties", {}).items():
            prop = _strip_null(prop)
            param = {"name": name, "in": where, "required": where == "path" or name in required,
                     "schema": prop}
            if "description" in prop:
                param["description"] = prop.pop("description")
            if prop.get("type") == "array":
                param["explode"] = True
                param["style"] = "form"
            out.append(param)
        return out

    def schema(self, value) -> dict | None:
        if value is None:
            return None
        if isinstance(value, type) and issubclass(value, BaseModel):
            return self.model(value, mode="serialization")
        return value


_ERROR_SCHEMA = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {
            "code": {"type": "integer", "description": "The HTTP status"},
            "message": {"type": "string", "description": "In the visitor's language"},
            "type": {"type": "string", "description": "Stable error code, e.g. request.invalid_field"},
            "field": {"type": "string", "description": "The parameter or body field at fault (400)"},
            "location": {"type": "string", "enum": ["path", "query", "body", "form"]},
            "fields": {"type": "object", "additionalProperties": {"type": "string"},
                       "description": "Every invalid field with its problem (422)"},
        }}},
}


def _openapi_path(rule: str, prefix: str) -> str:
    import re

    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule[len(prefix):] or "/")


def document(prefix: str = "/api/v1", *, title: str = "ruralplan API", description: str = "") -> dict:
    """The OpenAPI 3.1 document of every declared operation under ``prefix``."""
    comps = _Components()
    paths: dict[str, dict] = {}
    rules = sorted((r for r in current_app.url_map.iter_rules() if r.rule.startswith(prefix)),
                   key=lambda r: r.rule)
    for rule in rules:
        view = current_app.view_functions.get(rule.endpoint)
        op: Operation | None = getattr(view, "api_operation", None)
        if op is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            entry: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
            if op.description:
                entry["description"] = op.description
            params = []
            if op.path is not None:
                params += comps.params(op.path, "path")
            else:
                params += [{"name": a, "in": "path", "required": True, "schema": {"type": "string"}}
                           for a in sorted(rule.arguments)]
            if op.query is not None:
                params += comps.params(op.query, "query")
            if op.csrf:
                params.append({"name": "X-CSRFToken", "in": "header", "required": True,
                               "description": "From /api/v1/session (with the session cookie)",
                               "schema": {"type": "string"}})
            if params:
                entry["parameters"] = params
            if op.body is not None:
                entry["requestBody"] = {"required": True, "content": {JSON: {"schema": comps.model(op.body)}}}
            elif op.form is not None:
                entry["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": op.form}}}
            responses = {}
            for status, resp in op.responses.items():
                out: dict[str, Any] = {"description": resp.description}
                if resp.content_type:
                    schema = comps.schema(resp.schema)
                    out["content"] = {resp.content_type: {"schema": schema} if schema else {}}
                if resp.headers:
                    out["headers"] = resp.headers
                responses[str(status)] = out
            for status in op.errors:
                entry_error = {"description": ERROR_TEXT.get(status, "Error"),
                               "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}}
                if status == 429:
                    entry_error["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                              "description": "Seconds to wait"}}
                responses.setdefault(str(status), entry_error)
            entry["responses"] = responses
            paths.setdefault(_openapi_path(rule.rule, prefix), {})[method.lower()] = entry
    comps.schemas["Error"] = _ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1", "description": description},
        "servers": [{"url": prefix}],
        "paths": paths,
        "components": {"schemas": dict(sorted(comps.schemas.items())),
                       "securitySchemes": {"session": {"type": "apiKey", "in": "cookie",
                                                       "name": current_app.config.get("SESSION_COOKIE_NAME",
                                                                                      "session")}}},
    }



# --------------------------------------------------------------------------- bounded work
def heavy_run():
    """A slot among the caller's concurrent heavy runs (:mod:`web.runlimit`): the user
    name, or the client address for anonymous visitors; raises ``TooManyRuns`` (429)."""
    from flask import g

    from ..services.runlimit import DEFAULT_RUNS_PER_CALLER, heavy_run as _slot

    user = g.get("user")
    caller = f"user:{user.username}" if user is not None else f"addr:{request.remote_addr}"
    limit = int(current_app.config.get("RURALPLAN_HEAVY_RUNS_PER_USER", DEFAULT_RUNS_PER_CALLER))
    return _slot(caller, limit=limit)
