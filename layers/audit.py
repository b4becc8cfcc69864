"""The workspace audit log (app table ``rp_audit``): who changed what, and when.

Flask-free, so the web app and the command line record changes the same way. Write the
audit row in the same atomic step as the change it records::

    with ws.editing() as edit:
        pairings = edit.read_layer("pairings")
        edit.write_layer("pairings", updated)
        edit.execute(AUDIT_SCHEMA)
        edit.execute(*audit_statement(username, "pairings.accept_suggestions", details))

or, on an open SQLite connection, :func:`ensure_audit_table` then
``con.execute(*audit_statement(...))``.
"""
from __future__ import annotations

import datetime as _dt
import json
import sqlite3
from dataclasses import dataclass
from typing import Any, Mapping

from . import app_schema

#: Creates the table when it is missing (safe to run every time).
AUDIT_SCHEMA = app_schema.AUDIT


@dataclass(frozen=True)
class AuditEntry:
    id: int
    #: ISO 8601 UTC time, seconds
    at: str
    username: str | None
    #: dotted action name such as ``"pairings.accept_suggestions"``
    action: str
    details: Any


def ensure_audit_table(con: sqlite3.Connection) -> None:
    """Create ``rp_audit`` on ``con`` if it does not exist yet."""
    con.execute(AUDIT_SCHEMA)


def audit_statement(actor: str | None, action: str, details: Mapping[str, Any] | Any, *,
                    at: _dt.datetime | None = None) -> tuple[str, tuple]:
    """The ``INSERT`` of one audit row as ``(sql, params)`` (the table must exist).

    ``details`` is stored as JSON (non-JSON values as their ``str``); ``at`` defaults to now (UTC).
    """
    when = (at or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    return ("INSERT INTO rp_audit(at, username, action, details) VALUES (?, ?, ?, ?)",
            (when.isoformat(timespec="seconds"), actor, action,
             json.dumps(details, ensure_ascii=False, default=str)))


def read_audit(ws, *, limit: int = 50, action_prefix: str | None = None) -> list[AuditEntry]:
    """The latest audit rows of workspace ``ws``, newest first (empty when there is no log yet)."""
    sql = "SELECT id, at, username, action, details FROM rp_audit"
    params: list[Any] = []
    if action_prefix:
        sql += " WHERE substr(action, 1, ?) = ?"
        params += [len(action_prefix), action_prefix]
    sql += " ORDER BY id DESC LIMIT ?"
    params.append(int(limit))
    with ws.connect() as con:
        try:
            rows = con.execute(sql, params).fetchall()
        except sqlite3.OperationalError:  # no audit table yet
            return []
    out = []
    for id_, at, username, action, details in rows:
        try:
            parsed = json.loads(details)
        except (TypeError, ValueError):
            parsed = details
        out.append(AuditEntry(int(id_), at, username, action, parsed))
    return out
