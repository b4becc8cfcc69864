"""The analysis commands on the demo county: coverage, od, service-area, solve, place."""
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from web.cli import main


def run(*args):
    result = CliRunner(env={"RURALPLAN_LANG": "en"}).invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


def test_coverage_prints_town_table_and_uncovered_reasons(demo_workspace):
    result = run("coverage", "-w", demo_workspace.path, "--facility", "cold_storage", "--minutes", 30)
    assert result.exit_code == 0, result.output
    assert "\ntotal " in result.output
    assert "too far: " in result.output and "unreachable: " in result.output
    meta = demo_workspace.meta()
    # every deliberately unreachable village is reported as unreachable, none as covered
    for code in meta["demo_unreachable_villages"]:
        line = next(ln for ln in result.output.splitlines() if ln.strip().startswith(code))
        assert "unreachable" in line, line


def test_coverage_json_partitions_villages(demo_workspace):
    result = run("coverage", "-w", demo_workspace.path, "--facility", "towns", "--minutes", 20, "--json")
    d = json.loads(result.output)
    t = d["totals"]
    assert t["villages_covered"] + t["villages_too_far"] + t["villages_unreachable"] == t["villages"]
    assert sum(row["villages"] for row in d["by_town"]) == t["villages"]


def test_od_writes_long_csv(demo_workspace, tmp_path):
    out = tmp_path / "od.csv"
    result = run("od", "-w", demo_workspace.path, "--from", "villages", "--to", "cold_storage", "--cutoff-min", 45,
                 "--out", out)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype={"origin_id": str}, keep_default_na=False, na_values={"minutes": [""]})
    assert {"origin_id", "destination_id", "minutes", "reason"} <= set(frame.columns)
    timed = frame["reason"] == ""
    assert frame.loc[timed, "minutes"].between(0, 45).all()
    # pairs with a village off the road network are named with its reason, never dropped
    off = frame[~timed]
    assert off["minutes"].isna().all() and off["reason"].str.startswith(("origin: ", "destination: ")).all()
    assert set(demo_workspace.meta()["demo_unreachable_villages"]) <= set(off["origin_id"])


def test_service_area_geojson(demo_workspace, tmp_path):
    out = tmp_path / "sa.geojson"
    result = run("service-area", "-w", demo_workspace.path, "--facility", "relocation_settlements",
                 "--minutes", "15,30", "--out", out)
    assert result.exit_code == 0, result.output
    d = json.loads(out.read_text())
    assert len(d["features"]) == 2 * 4  # 4 settlements × 2 cutoffs


def test_solve_on_matrix(tmp_path):
    cost = np.array([[0, 5, 9], [5, 0, 4], [9, 4, 0], [8, 3, 1]], dtype=float)
    np.save(tmp_path / "c.npy", cost)
    result = run("solve", "pmedian", "--cost", tmp_path / "c.npy", "--p", 1, "--json")
    d = json.loads(result.output)
    assert [s["site"] for s in d["sites"]] == [1] and d["objective"] == pytest.approx(12)
    assert d["gap"] == pytest.approx(0)
    result = run("solve", "mclp", "--cost", tmp_path / "c.npy", "--p", 1, "--radius", 1, "--fixed", "0", "--json")
    d = json.loads(result.output)
    assert [s["site"] for s in d["sites"]] == [0, 2] and d["fixed_sites"] == [0]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_solve_without_json_prints_text_like_place(tmp_path, lang):
    cost = np.array([[0, 5, 9], [5, 0, 4], [9, 4, 0], [8, 3, 1]], dtype=float)
    np.save(tmp_path / "c.npy", cost)
    for args in (["pmedian", "--p", 1], ["mclp", "--p", 1, "--radius", 1, "--fixed", "0"]):
        result = CliRunner(env={"RURALPLAN_LANG": lang}).invoke(
            main, ["solve", *[str(a) for a in args], "--cost", str(tmp_path / "c.npy")])
        assert result.exit_code == 0, result.output
        with pytest.raises(json.JSONDecodeError):
            json.loads(result.output)
        assert "{" not in result.output and "[" not in result.output  # no dict or list repr
    text = result.output
    if lang == "zh":
        assert "最大覆盖：最优" in text and "新建点（列序号）：2" in text and "保留的现有点：0" in text
    else:
        assert "Maximal coverage: optimal" in text and "new sites (column index): 2" in text
        assert "existing sites kept: 0" in text


def test_solve_bad_input_is_a_clear_error(tmp_path):
    (tmp_path / "c.npy").write_text("not numpy")
    result = CliRunner().invoke(main, ["solve", "pmedian", "--cost", str(tmp_path / "c.npy"), "--p", "1"])
    assert result.exit_code != 0 and "not a readable .npy" in result.output


def test_place_three_cold_stores_for_apple_and_hawthorn(demo_workspace):
    result = run("place", "-w", demo_workspace.path, "--facility", "cold_storage", "--model", "mclp", "--p", 3,
                 "--minutes", 30, "--weight", "produce:apple,hawthorn", "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    new = [s for s in d["sites"] if not s["fixed"]]
    assert len(new) == 3
    assert d["solver"]["gap"] <= 1e-3
    assert d["totals"]["covered_after"] > d["totals"]["covered_before"]
    assert all(s["runner_up"] for s in new)
    assert {u["reason"] for u in d["unreachable"]} <= {"too_far", "too_far_from_road", "disconnected_component"}


def test_demo_command_seeds_a_library_ready_to_review(tmp_path):
    from layers.proposals import history, list_proposals
    from layers.store import Workspace
    from web.services.users import get_user

    path = tmp_path / "demo.gpkg"
    result = run("demo", "-w", path)
    assert result.exit_code == 0, result.output
    ws = Workspace(path)
    library = {p.id: p for p in list_proposals(ws)}
    assert len(library) == 5
    published = [p for p in library.values() if p.status == "published"]
    assert len(published) == 1
    steps = history(ws, published[0].id)
    assert [s.to_status for s in steps][-5:] == ["submitted", "town_approved", "sector_approved", "county_approved",
                                                 "published"]
    assert all(s.evaluation for s in steps[-5:])  # what each reviewer saw is on record
    first = library[min(library)]
    village = get_user(ws, "village")
    assert first.status == "draft" and village.scope == first.village_code
    assert get_user(ws, "town").scope == first.town
    from web.services.project_notice import notice_footer, notice_rows

    rows = notice_rows(ws)
    assert [r.proposal_id for r in rows] == [published[0].id]
    footer = notice_footer(ws, rows)
    assert "公示期：" in footer and "（10天）" in footer and "电话" in footer
    assert run("demo", "-w", path).exit_code != 0  # exists: refuses without --force
