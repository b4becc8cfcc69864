"""Accounts, roles and permissions, kept in the workspace's ``rp_users`` table.

Flask-free: the CLI (``ruralplan user add``) and the demo
builder call these functions directly.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from werkzeug.security import check_password_hash, generate_password_hash

from layers import app_schema

#: Roles and what each may do. Scope: village code, town name or sector name.
ROLES = {
    "planner": {"read", "import", "households"},
    "village_applicant": {"read", "households_own_scope"},
    "town_reviewer": {"read", "households_own_scope"},
    "sector_assessor": {"read"},
    "county_approver": {"read", "households"},
    "admin": {"read", "import", "households", "manage_users"},
}
#: What a visitor who is not logged in may do (when login is not required).
ANONYMOUS = {"read"}
#: Which scope each role needs (None: county-wide).
ROLE_SCOPE = {
    "planner": None,
    "village_applicant": "village",
    "town_reviewer": "town",
    "sector_assessor": "sector",
    "county_approver": None,
    "admin": None,
}

#: Demo accounts: one per role, passwords documented in the README (demo data only!).
DEMO_USERS = (
    ("planner", "planner", "planner123", None),
    ("village", "village_applicant", "village123", ("village", None)),
    ("town", "town_reviewer", "town123", ("town", None)),
    ("sector", "sector_assessor", "sector123", ("sector", "农业农村局")),
    ("approver", "county_approver", "approver123", None),
    ("admin", "admin", "admin123", None),
)

_SCHEMA = app_schema.USERS


@dataclass(frozen=True)
class User:
    username: str
    role: str
    scope_kind: str | None = None
    scope: str | None = None

    @property
    def permissions(self) -> set[str]:
        return ROLES.get(self.role, set())


def has_permission(user: User | None, permission: str) -> bool:
    allowed = ANONYMOUS if user is None else user.permissions
    return permission in allowed


def may_see_households(user: User | None) -> bool:
    """True when the user may see household-level data (at least in their own scope)."""
    return has_permission(user, "households") or has_permission(user, "households_own_scope")


def ensure_table(ws) -> None:
    with ws.transaction() as con:
        con.execute(_SCHEMA)


def add_user(ws, username: str, password: str, role: str, *, village: str | None = None,
             town: str | None = None, sector: str | None = None, replace: bool = False) -> User:
    """Create (or with ``replace`` update) an account; the password is stored hashed."""
    username = username.strip()
    if not username:
        raise ValueError("username must not be empty")
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if len(password) < 6:
        raise ValueError("password must have at least 6 characters")
    scopes = {"village": village, "town": town, "sector": sector}
    needed = ROLE_SCOPE[role]
    given = {k: v for k, v in scopes.items() if v}
    if needed and needed not in given:
        raise ValueError(f"role {role!r} needs --{needed}")
    if set(given) - ({needed} if needed else set()):
        raise ValueError(f"role {role!r} takes no {', '.join(sorted(set(given) - {needed}))} scope")
    scope = given.get(needed) if needed else None
    ws.require()
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    with ws.transaction() as con:
        con.execute(_SCHEMA)
        if not replace and con.execute("SELECT 1 FROM rp_users WHERE username = ?", (username,)).fetchone():
            raise ValueError(f"user {username!r} already exists")
        con.execute(
            f"{verb} INTO rp_users(username, password_hash, role, scope_kind, scope, active, created_at)"
            " VALUES (?, ?, ?, ?, ?, 1, ?)",
            (username, generate_password_hash(password), role, needed, scope,
             _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")),
        )
    return User(username, role, needed, scope)


def get_user(ws, username: str) -> User | None:
    if not ws.exists:
        return None
    with ws.connect() as con:
        if not _has_table(con):
            return None
        row = con.execute(
            "SELECT username, role, scope_kind, scope FROM rp_users WHERE username = ? AND active = 1",
            (username,),
        ).fetchone()
    return User(*row) if row else None


def authenticate(ws, username: str, password: str) -> User | None:
    if not ws.exists:
        return None
    with ws.connect() as con:
        if not _has_table(con):
            return None
        row = con.execute(
            "SELECT password_hash FROM rp_users WHERE username = ? AND active = 1", (username,)
        ).fetchone()
    if row is None:
        # Same work as a real check, so timing does not reveal which names exist.
        check_password_hash(generate_password_hash("x"), password)
        return None
    return get_user(ws, username) if check_password_hash(row[0], password) else None


def list_users(ws) -> list[User]:
    with ws.connect() as con:
        if not _has_table(con):
            return []
        rows = con.execute("SELECT username, role, scope_kind, scope FROM rp_users ORDER BY username").fetchall()
    return [User(*r) for r in rows]


def ensure_demo_users(ws, *, village_code: str | None = None) -> list[tuple[str, str, str]]:
    """One demo account per role (see :data:`DEMO_USERS`); existing accounts are kept.

    The village applicant gets ``village_code`` (default: the workspace's first village)
    and the town reviewer that village's town. Returns ``(username, role, password)``
    for each demo account.
    """
    villages = ws.read_layer("villages")
    chosen = villages[villages["code"] == village_code] if village_code else villages.iloc[0:0]
    if len(chosen):
        first = chosen.iloc[0]
    else:
        first = villages.sort_values("code").iloc[0] if len(villages) else None
    existing = {u.username for u in list_users(ws)}
    out = []
    for username, role, password, scope in DEMO_USERS:
        out.append((username, role, password))
        if username in existing:
            continue
        kwargs = {}
        if scope is not None:
            kind, value = scope
            if value is None:
                if first is None:
                    continue  # no villages yet: a scoped demo user has nothing to be scoped to
                value = str(first["code"]) if kind == "village" else str(first["town"])
            kwargs[kind] = value
        add_user(ws, username, password, role, **kwargs)
    return out


def _has_table(con) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rp_users'").fetchone() is not None
