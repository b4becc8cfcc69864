"""Site-wide routes: the home page and the language switch."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for

from ..auth import safe_next
from ..i18n import LANG_COOKIE, LANGUAGES

bp = Blueprint("site", __name__)


@bp.route("/")
def home():
    return redirect(url_for("map.index"))


@bp.route("/lang/<code>")
def set_language(code: str):
    """Remember the language in a cookie (one year) and go back where the user was."""
    if code not in LANGUAGES:
        abort(404)
    response = redirect(safe_next(request.args.get("next"), url_for("map.index")))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=bool(request.is_secure))
    return response
