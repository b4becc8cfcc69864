"""The audit log: rows written with a layer edit or a transaction, read back newest first."""
import datetime as dt

import pytest

from layers.audit import AUDIT_SCHEMA, audit_statement, ensure_audit_table, read_audit
from layers.store import Workspace


@pytest.fixture
def ws(tmp_path):
    return Workspace.create(tmp_path / "county.gpkg")


def test_no_log_yet_reads_empty(ws):
    assert read_audit(ws) == []


def test_statement_is_json_and_utc():
    at = dt.datetime(2024, 6, 1, 16, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    sql, params = audit_statement("planner1", "pairings.accept_suggestions", {"ids": ["S1"], "村": "甲"}, at=at)
    assert sql.startswith("INSERT INTO rp_audit")
    assert params == ("2024-06-01T08:30:00+00:00", "planner1", "pairings.accept_suggestions",
                      '{"ids": ["S1"], "村": "甲"}')


def test_written_in_an_edit_and_a_transaction_read_newest_first(ws):
    with ws.editing() as edit:
        edit.execute(AUDIT_SCHEMA)
        edit.execute(*audit_statement("a", "pairings.accept_suggestions", {"n": 1}))
    with ws.transaction() as con:
        ensure_audit_table(con)
        con.execute(*audit_statement(None, "other.thing", "text"))
    rows = read_audit(ws)
    assert [(r.username, r.action, r.details) for r in rows] == [
        (None, "other.thing", "text"), ("a", "pairings.accept_suggestions", {"n": 1})]
    assert [r.action for r in read_audit(ws, action_prefix="pairings.")] == ["pairings.accept_suggestions"]
    assert len(read_audit(ws, limit=1)) == 1
