"""``ruralplan batch`` refuses, before running, workspaces that are one county (a copied
file) or one file listed twice: a warning naming both paths, then exit 2; with
``--allow-duplicates`` both run, each labelled by its file in the combined table."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from layers.store import Workspace
from web.cli import main
from web.services.batch_checks import DuplicateCounties, SameFileTwice, check_duplicates, find_duplicates


def _county(path, code):
    Workspace.create(path, meta={"county_code": code, "county_name": f"县{code}"})
    return path


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "counties"
    d.mkdir()
    _county(d / "wenxi.gpkg", "140823")
    _county(d / "yanling.gpkg", "411024")
    shutil.copyfile(d / "wenxi.gpkg", d / "wenxi - 副本.gpkg")  # the copy a colleague left
    (d / "broken.gpkg").write_bytes(b"not a geopackage")  # the batch's to report, never a duplicate
    return d


def test_find_duplicates_names_both_paths_of_the_county(folder):
    paths = sorted(folder.glob("*.gpkg"))
    (dup,) = find_duplicates(paths)
    assert dup.key == "140823" and not dup.same_file
    assert sorted(p.name for p in dup.paths) == ["wenxi - 副本.gpkg", "wenxi.gpkg"]
    with pytest.raises(DuplicateCounties) as err:
        check_duplicates([dup])
    assert "wenxi - 副本.gpkg" in err.value.message("en") and "wenxi.gpkg" in err.value.message("zh")
    check_duplicates([dup], allow_duplicates=True)  # allowed: no error
    assert find_duplicates([folder / "wenxi.gpkg", folder / "yanling.gpkg", folder / "broken.gpkg"]) == []


def test_one_file_listed_twice_is_refused_even_when_duplicates_are_allowed(folder, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"{folder / 'yanling.gpkg'}\n{folder}/../counties/yanling.gpkg\n", encoding="utf-8")
    from web.services.batch import list_workspaces

    found = find_duplicates(list_workspaces(listing))
    assert [d.same_file for d in found] == [True]
    with pytest.raises(SameFileTwice):
        check_duplicates(found, allow_duplicates=True)


@pytest.mark.parametrize("lang,warning,error", [
    ("en", "warning: county 140823 is in more than one workspace", "error: 1 counties appear in more than one"),
    ("zh", "警告：县 140823 出现在多个工作空间中", "错误：1 个县出现在多个工作空间中")])
def test_cli_warns_and_exits_2_before_running(folder, tmp_path, lang, warning, error):
    out = tmp_path / "res"
    res = CliRunner(env={"RURALPLAN_LANG": lang}).invoke(
        main, ["batch", "coverage", "--workspaces", str(folder), "--minutes", "30", "--out", str(out)])
    assert res.exit_code == 2, res.output
    line = next(ln for ln in res.stderr.splitlines() if ln.startswith(warning))
    assert str(folder / "wenxi.gpkg") in line and str(folder / "wenxi - 副本.gpkg") in line
    assert any(ln.startswith(error) for ln in res.stderr.splitlines())
    assert not out.exists()  # nothing ran, nothing written


@pytest.mark.slow
def test_allow_duplicates_runs_both_labelled_by_file(tmp_path):
    from layers.demo import build_demo_workspace

    d = tmp_path / "counties"
    d.mkdir()
    build_demo_workspace(d / "a.gpkg", scale=0.1, seed=7)
    shutil.copyfile(d / "a.gpkg", d / "a-copy.gpkg")
    out = tmp_path / "res"
    res = CliRunner(env={"RURALPLAN_LANG": "en"}).invoke(
        main, ["batch", "coverage", "--workspaces", str(d), "--minutes", "30", "--out", str(out), "--workers", "1",
               "--allow-duplicates"])
    assert res.exit_code == 0, res.output
    assert "warning: county 149901 is in more than one workspace" in res.stderr
    combined = pd.read_csv(out / "combined.csv", dtype={"county_code": str}, encoding="utf-8-sig")
    totals = combined[combined["town"] == "合计"]
    # each file's rows under its own label, equal values: nothing merged or summed into one county
    a, copy = (totals[totals["workspace"] == w].set_index("indicator")["value"] for w in ("a", "a-copy"))
    assert len(a) and a.sort_index().equals(copy.sort_index())
