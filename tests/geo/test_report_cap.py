"""Bounded reports: at most MAX_LISTED problems listed, the rest counted per kind."""
from __future__ import annotations

import numpy as np

from geo.report import MAX_LISTED, MORE, add_limited, cap_problems, error, warning


def test_add_limited_lists_first_and_counts_rest():
    out = []
    add_limited(out, np.arange(5), lambda i: error("x", "bad {i}", params={"i": i}, row=i + 2), code="x",
                rows=np.arange(5) + 2, limit=2)
    assert [p.row for p in out[:2]] == [2, 3]
    assert out[2].code == MORE and out[2].params["more"] == 3 and list(out[2].params["rows"]) == [4, 5, 6]


def test_cap_problems_counts_per_kind_and_keeps_errors_first():
    problems = [warning("w", "w", row=r) for r in range(5)] + [error("e", "e", row=r) for r in range(5)]
    extra = []
    add_limited(extra, range(10), lambda i: error("e", "e", row=100 + i), code="e", limit=0)
    listed, counts = cap_problems(problems + extra, limit=4)
    assert [p.code for p in listed[:4]] == ["e"] * 4
    summary = {p.params["kind"]: (p.params["more"], p.params["total"]) for p in listed[4:]}
    assert summary == {"e": (11, 15), "w": (5, 5)}
    assert counts == {("error", "e"): 15, ("warning", "w"): 5}
    assert all("rows" not in p.params for p in listed)


def test_cap_problems_small_reports_unchanged():
    problems = [error("e", "e", row=3), error("e", "e", row=2)]
    listed, counts = cap_problems(problems)
    assert [p.row for p in listed] == [2, 3] and counts == {("error", "e"): 2}
    assert MAX_LISTED == 1000


def test_unlisted_bad_rows_are_still_skipped(tmp_path):
    from layers.importer import import_file
    from layers.store import Workspace

    path = tmp_path / "v.csv"
    bad = "".join(f"1408231{i:05d},村{i},东镇,abc,35.3\n" for i in range(MAX_LISTED + 200))
    path.write_text("村代码,村名,乡镇,经度,纬度\n" + bad + "140823999999,好村,东镇,111.2,35.3\n", encoding="utf-8")
    ws = Workspace(tmp_path / "w.gpkg")
    outcome = import_file(ws, "villages", path, skip_bad_rows=True)
    assert outcome.written and outcome.added == {"villages": 1}
    assert len(outcome.skipped_rows) == MAX_LISTED + 200
    assert ws.read_layer("villages")["name"].tolist() == ["好村"]
    assert outcome.count("error") == MAX_LISTED + 200
