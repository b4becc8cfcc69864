"""The application factory (Flask tutorial / cookiecutter-flask style).

Configuration comes from, in order: defaults below, environment variables of the same
name (``RURALPLAN_WORKSPACE``, ``RURALPLAN_BASEMAP``, ``RURALPLAN_TIANDITU_KEY``,
``RURALPLAN_LOGIN_REQUIRED``, ``RURALPLAN_SECRET_KEY``, ``RURALPLAN_COOKIE_SECURE``),
then ``test_config``.
"""
from __future__ import annotations

import importlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import flask
from flask import Flask, g, render_template, request

from geo.errors import RuralplanError
from layers import app_schema

#: Blueprint modules under ``web.views`` in navigation order: each has ``bp`` (and
#: optionally ``NAV``). A missing one is an ImportError at start-up, never skipped.
BLUEPRINT_MODULES = ("site", "overview", "map", "data", "api", "network", "planning", "pairings", "projects",
                     "province", "mapprint")

_BOOL_TRUE = {"1", "true", "yes", "on"}

DEFAULTS = {
    "RURALPLAN_WORKSPACE": None,
    # none | osm | tianditu-vec | tianditu-img | an XYZ URL template
    "RURALPLAN_BASEMAP": "none",
    "RURALPLAN_TIANDITU_KEY": None,
    # True: every page needs a login; False: maps and downloads are open for reading.
    "RURALPLAN_LOGIN_REQUIRED": False,
    # Map data inlined in the page (True) or fetched after the page loaded (False).
    "RURALPLAN_MAP_INLINE": False,
    # Above this many villages, villages are clustered on the map.
    "RURALPLAN_CLUSTER_THRESHOLD": 800,
    # A `ruralplan batch --out` folder shown on /province/ (None: the page explains how).
    "RURALPLAN_BATCH_DIR": None,
    "BABEL_DEFAULT_LOCALE": "zh",
    "BABEL_TRANSLATION_DIRECTORIES": str(Path(__file__).parent / "translations"),
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "ruralplan_session",
    "MAX_CONTENT_LENGTH": 200 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    "JSON_SORT_KEYS": False,
}

_ENV_KEYS = {
    "RURALPLAN_WORKSPACE": str,
    "RURALPLAN_BASEMAP": str,
    "RURALPLAN_TIANDITU_KEY": str,
    "RURALPLAN_LOGIN_REQUIRED": lambda v: v.lower() in _BOOL_TRUE,
    "RURALPLAN_MAP_INLINE": lambda v: v.lower() in _BOOL_TRUE,
    "RURALPLAN_SECRET_KEY": str,
    "RURALPLAN_COOKIE_SECURE": lambda v: v.lower() in _BOOL_TRUE,
    "RURALPLAN_BATCH_DIR": str,
}


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy_gettext string
    order: int = 50
    #: Permission the current user needs to see the entry (None: everyone).
    permission: str | None = None


class JSONProvider(flask.json.provider.DefaultJSONProvider):
    """Flask's JSON with the numbers of every JSON answer (API, map data) written by the
    same rule as the command line's ``--json`` (:mod:`web.services.jsonout`: minutes to
    0.01, metres to 0.1, no float32 noise, no ``-0.0``)."""

    def response(self, *args, **kwargs):
        from .services.jsonout import clean

        return super().response(clean(self._prepare_response_obj(args, kwargs)))


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.json = JSONProvider(app)
    app.request_class = Request
    app.before_request(ids_in_range)
    load_config(app, test_config)
    register_extensions(app)
    register_workspace(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_template_context(app)
    return app


class Request(flask.Request):
    """Flask's request without nameless form parts: werkzeug gives a multipart part whose
    Content-Disposition it cannot read the name ``None``, which crashed CSRF checking
    (``key.endswith``) with a 500 instead of a 400."""

    def _load_form_data(self) -> None:
        super()._load_form_data()
        for name in ("form", "files"):
            data = self.__dict__.get(name)
            if data is not None and None in data:
                self.__dict__[name] = type(data)((k, v) for k, v in data.items(multi=True) if k is not None)


#: SQLite integers are signed 64-bit: a larger id in a URL names no row.
INT64_MAX = 2**63 - 1


def ids_in_range() -> None:
    """404 for an ``<int:…>`` URL value beyond SQLite's 64-bit integers (it overflowed the
    database driver: a 500). Checked after routing, so every method of the URL answers
    alike (a converter that refused to match made PATCH a 405 and GET a 404)."""
    from flask import abort

    for value in (request.view_args or {}).values():
        if isinstance(value, int) and not isinstance(value, bool) and value > INT64_MAX:
            abort(404)


def load_config(app: Flask, test_config: dict | None) -> None:
    app.config.update(DEFAULTS)
    for key, parse in _ENV_KEYS.items():
        if key in os.environ:
            app.config[key] = parse(os.environ[key])
    if "RURALPLAN_SECRET_KEY" in app.config:
        app.config["SECRET_KEY"] = app.config["RURALPLAN_SECRET_KEY"]
    if "RURALPLAN_COOKIE_SECURE" in app.config:
        app.config["SESSION_COOKIE_SECURE"] = app.config["RURALPLAN_COOKIE_SECURE"]
    if test_config:
        app.config.update(test_config)


def register_extensions(app: Flask) -> None:
    from . import i18n
    from .extensions import babel, csrf

    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)


def register_workspace(app: Flask) -> None:
    """Bind the configured workspace and make sure there is a secret key.

    The key comes from configuration or ``RURALPLAN_SECRET_KEY``; otherwise one is
    generated once and kept in the workspace's ``rp_meta`` table (never in the repo).
    """
    from layers.store import Workspace

    path = app.config.get("RURALPLAN_WORKSPACE")
    ws = Workspace(path) if path else None
    app.extensions["ruralplan.workspace"] = ws
    if app.config.get("SECRET_KEY"):
        return
    if ws is not None and ws.exists:
        meta = ws.meta()
        key = meta.get("secret_key")
        if not key:
            key = secrets.token_hex(32)
            _store_secret(ws, key)
        app.config["SECRET_KEY"] = key
    else:
        app.config["SECRET_KEY"] = secrets.token_hex(32)


def _store_secret(ws, key: str) -> None:
    # Plain execute inside the store's transaction (Workspace.set_meta's executescript
    # would commit early); rp_meta values are JSON text.
    import json

    with ws.transaction() as con:
        con.execute(app_schema.META)
        con.execute("INSERT OR IGNORE INTO rp_meta(key, value) VALUES ('secret_key', ?)", (json.dumps(key),))


def register_blueprints(app: Flask) -> None:
    from . import auth, vendor

    nav: list[NavItem] = []
    app.register_blueprint(vendor.bp)
    app.register_blueprint(auth.bp)
    for name in BLUEPRINT_MODULES:
        module = importlib.import_module(f"{__package__}.views.{name}")
        app.register_blueprint(module.bp)
        nav.extend(getattr(module, "NAV", ()))
    app.extensions["ruralplan.nav"] = sorted(nav, key=lambda item: item.order)
    app.before_request(auth.load_logged_in_user)
    app.before_request(auth.enforce_login_setting)


def register_errorhandlers(app: Flask) -> None:
    """One translation of every error: typed errors (:mod:`geo.errors`) by their
    ``http_status`` and ``message(lang)``, HTTP errors by status; JSON for the API
    (``{"error": {"code": status, "message": …, "type": …}}``), a page otherwise."""
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import HTTPException

    from geo.errors import RuralplanError

    def wants_json() -> bool:
        return (request.path.startswith("/api/") or request.path.endswith(".json")
                or request.accept_mimetypes.best == "application/json")

    def answer(code: int, message: str, headers=None, **extra):
        if wants_json():
            return {"error": {"code": code, "message": message, **extra}}, code, headers or {}
        return render_template("errors/error.html", code=code, message=message), code, headers or {}

    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if isinstance(error, CSRFError):
            code = 400
        from flask_babel import gettext as _

        messages = {
            400: _("The request could not be understood (for forms: the page expired, please reload it)."),
            401: _("Please log in."),
            403: _("You do not have permission to do this."),
            404: _("Page not found."),
            405: _("Method not allowed."),
            413: _("The uploaded file is too large."),
            500: _("Internal server error."),
        }
        message = messages.get(code, str(getattr(error, "description", "")))
        headers = {}
        if isinstance(error, HTTPException):
            # e.g. Allow on 405, WWW-Authenticate; the body is ours
            headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
        return answer(code, message, headers)

    def render_typed(error: RuralplanError):
        from .i18n import current_lang

        headers = {}
        retry = error.params.get("retry_after_s")
        if retry is not None:
            headers["Retry-After"] = str(max(1, int(retry)))
        extra = {"type": error.code, "params": error.to_dict()["params"]}
        for key in ("field", "location", "fields"):
            if key in error.params:
                extra[key] = error.params[key]
        from flask_babel import gettext

        # field messages and the like carry msgids of the catalog: said in the visitor's language
        return answer(error.http_status, error.message(current_lang(), translate=gettext), headers, **extra)

    for code in (400, 401, 403, 404, 405, 413, 415, 429, 500):
        app.register_error_handler(code, render_error)
    app.register_error_handler(CSRFError, render_error)
    app.register_error_handler(RuralplanError, render_typed)


def content_security_policy(config) -> str:
    """The pages' Content-Security-Policy: everything from this server, map tiles also
    from the configured basemap's hosts.

    Scripts and styles need ``'unsafe-inline'``: folium writes each map as an inline
    ``<script>`` and inline ``<style>`` blocks and style attributes, and our templates
    hand page data to scripts inline. Data text reaches the page escaped (tested in
    real Chromium); the policy still forbids every other origin, plugins, ``<base>``
    changes, foreign form targets and framing.
    """
    from urllib.parse import urlsplit

    from .mapping import basemap

    tiles = []
    try:
        for url, *_rest in basemap(config.get("RURALPLAN_BASEMAP"), config.get("RURALPLAN_TIANDITU_KEY")).tiles:
            parts = urlsplit(url)
            if parts.scheme in ("http", "https") and parts.netloc:
                tiles.append(f"{parts.scheme}://{parts.netloc.replace('{s}', '*')}")
    except ValueError:
        pass  # a bad basemap setting is reported where the map is drawn
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(["'self'", "data:", "blob:", *sorted(set(tiles))]),
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ])


def register_security_headers(app: Flask) -> None:
    """CSP, framing, MIME sniffing and referrer headers on every response."""
    policy = content_security_policy(app.config)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


def register_template_context(app: Flask) -> None:
    from . import i18n
    from .auth import role_label
    from .services.users import has_permission

    @app.template_filter("commodity")
    def commodity_label(value):
        """A commodity code (``apple``) as its label in the current language (苹果)."""
        from layers.schema import COMMODITIES

        for choice in COMMODITIES:
            if choice.value == value:
                return i18n.label(choice)
        return value

    # 30.0 → "30": minutes and kilometres without a trailing ".0"
    app.add_template_filter(i18n.format_number, "num")

    from .formatting import format_datetime

    # a stored UTC time as people read it: Beijing time, "2026-11-30 15:46"
    app.add_template_filter(format_datetime, "beijing")

    from .formatting import format_count, format_quantity, unit_name

    @app.template_filter("qty")
    def quantity(value, unit, digits=1):
        """``{{ 79846|qty("t") }}`` → 79,846 吨 (zh) / 79,846 t (en)."""
        return format_quantity(value, unit, lang=i18n.current_lang(), digits=digits)

    from .formatting import format_minutes

    # travel minutes at 0.01 (``{{ t|minutes(limit=30) }}``: over the cutoff never reads as within it)
    app.add_template_filter(format_minutes, "minutes")

    # ``{{ 24242|count }}`` → 24,242
    app.add_template_filter(format_count, "count")

    from .formatting import format_filesize

    app.add_template_filter(format_filesize, "filesize")

    @app.template_filter("unit")
    def unit_word(unit):
        return unit_name(unit, lang=i18n.current_lang())

    @app.context_processor
    def site_context():
        user = g.get("user")
        nav = [
            item for item in app.extensions["ruralplan.nav"]
            if item.permission is None or has_permission(user, item.permission)
        ]
        return {
            **_workspace_badge(),
            "nav_items": nav,
            "current_user": user,
            "current_lang": i18n.current_lang(),
            "html_lang": i18n.html_lang(),
            "role_label": role_label,
            "can": lambda permission: has_permission(user, permission),
        }


def _workspace_badge() -> dict:
    """County name for the header, and whether the data are fictional (the demo county)."""
    from flask import current_app

    ws = current_app.extensions.get("ruralplan.workspace")
    if ws is None or not ws.exists:
        return {"county_name": None, "county_fictional": False}
    from . import i18n

    meta = ws.meta()
    english = i18n.current_lang() == "en" and meta.get("county_name_en")
    name = meta.get("county_name_en") if english else meta.get("county_name")
    return {"county_name": name, "county_fictional": bool(meta.get("fictional"))}


def current_workspace():
    """The app's :class:`layers.store.Workspace` (404-free: views check ``exists``)."""
    from flask import abort, current_app

    ws = current_app.extensions.get("ruralplan.workspace")
    if ws is None or not ws.exists:
        abort(404)
    return ws
