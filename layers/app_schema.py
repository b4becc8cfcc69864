"""The app's own tables in the workspace GeoPackage (``rp_*``): their DDL in one place.

Every statement is ``CREATE … IF NOT EXISTS`` (safe to run every time); the module that
owns a table runs its statements before first use (:func:`create_tables`). GIS tools
ignore these tables; the layers are ordinary GeoPackage feature tables.
"""
from __future__ import annotations

#: Workspace settings (JSON values by key).
META = "CREATE TABLE IF NOT EXISTS rp_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
#: Derived data kept between runs (road graphs), by key.
CACHE = "CREATE TABLE IF NOT EXISTS rp_cache (key TEXT PRIMARY KEY, value BLOB NOT NULL)"
#: Who changed what (:mod:`layers.audit`).
AUDIT = """
CREATE TABLE IF NOT EXISTS rp_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    username TEXT,
    action TEXT NOT NULL,
    details TEXT NOT NULL
)
"""

#: The project library (:mod:`layers.proposals`): proposals and their append-only history.
PROPOSALS = (
    """CREATE TABLE IF NOT EXISTS rp_proposals (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ref TEXT UNIQUE,
        name TEXT NOT NULL,
        category TEXT NOT NULL,
        town TEXT NOT NULL,
        village_code TEXT NOT NULL,
        village_name TEXT,
        content TEXT NOT NULL,
        commodities TEXT NOT NULL DEFAULT '[]',
        budget_wan REAL NOT NULL,
        fund_source TEXT NOT NULL,
        fund_note TEXT,
        beneficiary_villages TEXT NOT NULL DEFAULT '[]',
        beneficiary_households INTEGER NOT NULL DEFAULT 0,
        beneficiary_monitored INTEGER NOT NULL DEFAULT 0,
        expected_jobs INTEGER NOT NULL DEFAULT 0,
        farmer_links TEXT NOT NULL DEFAULT '[]',
        farmer_link_note TEXT,
        performance_targets TEXT,
        attachments TEXT NOT NULL DEFAULT '[]',
        year INTEGER,
        construction_type TEXT NOT NULL DEFAULT 'new',
        period TEXT,
        responsible_unit TEXT,
        level TEXT NOT NULL DEFAULT 'village',
        geometry_wkt TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'draft',
        version INTEGER NOT NULL DEFAULT 1,
        created_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS rp_proposals_status ON rp_proposals(status)",
    """CREATE TABLE IF NOT EXISTS rp_transitions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        proposal_id INTEGER NOT NULL REFERENCES rp_proposals(id),
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        at TEXT NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        action TEXT NOT NULL,
        comment TEXT,
        version INTEGER NOT NULL,
        evaluation_json TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS rp_transitions_proposal ON rp_transitions(proposal_id, id)",
    # The history is append-only: the database itself refuses edits and deletions.
    """CREATE TRIGGER IF NOT EXISTS rp_transitions_no_update BEFORE UPDATE ON rp_transitions
       BEGIN SELECT RAISE(ABORT, 'rp_transitions is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS rp_transitions_no_delete BEFORE DELETE ON rp_transitions
       BEGIN SELECT RAISE(ABORT, 'rp_transitions is append-only'); END""",
)

#: Files attached to proposals (:mod:`layers.attachments`): PDF and images kept in the
#: workspace itself, so copying the .gpkg copies them. Append-only, like the history.
ATTACHMENTS = (
    """CREATE TABLE IF NOT EXISTS rp_attachments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        proposal_id INTEGER NOT NULL REFERENCES rp_proposals(id),
        filename TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        data BLOB NOT NULL,
        uploaded_by TEXT NOT NULL,
        uploaded_at TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS rp_attachments_proposal ON rp_attachments(proposal_id, id)",
)

#: Accounts (:mod:`web.services.users`).
USERS = """
CREATE TABLE IF NOT EXISTS rp_users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    scope_kind TEXT,
    scope TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
"""

#: Saved planning scenarios (:mod:`web.services.planning`).
SCENARIOS = """
CREATE TABLE IF NOT EXISTS rp_scenarios (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    username TEXT,
    created_at TEXT NOT NULL,
    params TEXT NOT NULL,
    result TEXT NOT NULL,
    data_version TEXT
)
"""

#: Table name → its statements.
TABLES = {"rp_meta": (META,), "rp_cache": (CACHE,), "rp_audit": (AUDIT,), "rp_proposals": PROPOSALS,
          "rp_attachments": ATTACHMENTS, "rp_users": (USERS,), "rp_scenarios": (SCENARIOS,)}


def create_tables(con, *names: str) -> None:
    """Create the named app tables (all when none is named) on a sqlite3 connection."""
    for name in names or tuple(TABLES):
        for statement in TABLES[name]:
            con.execute(statement)
