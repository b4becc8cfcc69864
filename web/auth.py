"""Login, logout and the access decorators.

The session (a signed, HttpOnly, SameSite=Lax cookie; Secure unless configured off for
plain-http localhost) holds only the username; the account is re-read on every request,
so a removed or changed account takes effect at once.
"""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .services import users

bp = Blueprint("auth", __name__, url_prefix="/auth")

#: Endpoints reachable without login even when RURALPLAN_LOGIN_REQUIRED is on.
PUBLIC_ENDPOINTS = {"auth.login", "site.set_language", "static", "vendor.asset"}


ROLE_LABELS = {
    "planner": _l("Planner"),
    "village_applicant": _l("Village applicant"),
    "town_reviewer": _l("Town reviewer"),
    "sector_assessor": _l("Sector assessor"),
    "county_approver": _l("County approver"),
    "admin": _l("Administrator"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


def load_logged_in_user() -> None:
    g.user = None
    username = session.get("user")
    ws = current_app.extensions.get("ruralplan.workspace")
    if username and ws is not None:
        g.user = users.get_user(ws, username)
        if g.user is None:
            session.pop("user", None)


def enforce_login_setting():
    if not current_app.config.get("RURALPLAN_LOGIN_REQUIRED") or g.get("user") is not None:
        return None
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if request.path.startswith("/api/"):
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("user") is None:
            if request.path.startswith("/api/"):
                abort(401)
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def permission_required(permission: str):
    """403 unless the current user (or an anonymous visitor) has ``permission``.

    An anonymous visitor who lacks it is sent to the login page first (401 for the API).
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = g.get("user")
            if not users.has_permission(user, permission):
                if user is None:
                    if request.path.startswith("/api/"):
                        abort(401)
                    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative redirects (no open redirect via ``next``)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def login_throttle():
    """The app's :class:`web.throttle.LoginThrottle` (options: config ``RURALPLAN_LOGIN_THROTTLE``)."""
    from .services.throttle import LoginThrottle

    throttle = current_app.extensions.get("ruralplan.login_throttle")
    if throttle is None:
        throttle = LoginThrottle(**(current_app.config.get("RURALPLAN_LOGIN_THROTTLE") or {}))
        current_app.extensions["ruralplan.login_throttle"] = throttle
    return throttle


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        from .i18n import current_lang
        from .services.throttle import TooManyLogins

        name = form.username.data.strip()
        keys = (f"user:{name.lower()}", f"addr:{request.remote_addr}")
        throttle = login_throttle()
        wait = throttle.wait_s(keys)
        if wait > 0:
            # refused even with the right password: otherwise the lock-out would not slow guessing
            retry = int(wait) + 1
            flash(TooManyLogins(retry_after_s=retry).message(current_lang()), "error")
            return render_template("login.html", form=form), 429, {"Retry-After": str(retry)}
        ws = current_app.extensions.get("ruralplan.workspace")
        user = users.authenticate(ws, name, form.password.data) if ws else None
        if user is None:
            throttle.failure(keys)
        else:
            throttle.success(keys[:1])
        if user is not None:
            session.clear()
            session["user"] = user.username
            session.permanent = True
            flash(_("Logged in as %(name)s.", name=user.username), "success")
            return redirect(safe_next(request.args.get("next"), url_for("map.index")))
        flash(_("Wrong user name or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    session.clear()
    flash(_("Logged out."), "success")
    return redirect(url_for("map.index"))
