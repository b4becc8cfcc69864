"""``ruralplan batch``: many county workspaces on a Dask LocalCluster, identical to one at a time."""
from __future__ import annotations

import json

import pandas as pd
import pytest

pytest.importorskip("dask.distributed")

from web.services.batch import BadBatch, NoWorkspaces, analyse_county, list_workspaces, run_batch, write_batch  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def counties(tmp_path_factory):
    """Three small fictional counties (different seeds) and one broken workspace file."""
    from layers.demo import build_demo_workspace

    folder = tmp_path_factory.mktemp("counties")
    for seed in (7, 8, 9):
        ws = build_demo_workspace(folder / f"county{seed}.gpkg", scale=0.1, seed=seed)
        ws.set_meta(county_code=f"14990{seed}")  # three counties: one code each (a shared code stops the batch)
    (folder / "broken.gpkg").write_bytes(b"not a geopackage at all")
    return folder


@pytest.fixture(scope="module")
def scheduler():
    """One local cluster for the module (starting one takes seconds); run_batch connects to it."""
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _untimed(value):
    """The result without its timings (solver seconds differ from run to run, and so does the
    solver's share of the time limit: what the travel times left of it)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in ("seconds", "timing", "time_limit_s")}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


OPTIONS = {"coverage": {"facility": "cold_storage", "minutes": 30},
           "placement": {"facility": "cold_storage", "minutes": 30, "p": 1, "model": "mclp"},
           "pairings": {"travel": "network"}}


@pytest.mark.parametrize("analysis", ["coverage", "placement", "pairings"])
def test_batch_equals_each_county_alone_and_reports_the_broken_one(counties, scheduler, analysis):
    paths = list_workspaces(counties)
    assert [p.name for p in paths] == ["broken.gpkg", "county7.gpkg", "county8.gpkg", "county9.gpkg"]
    result = run_batch(analysis, paths, OPTIONS[analysis], scheduler=scheduler)
    assert [c.ok for c in result.counties] == [False, True, True, True]
    broken = result.failed[0]
    assert broken.workspace.endswith("broken.gpkg") and broken.error
    for path, batched in zip(paths[1:], result.counties[1:]):
        alone = analyse_county(path, analysis, OPTIONS[analysis])
        assert alone.ok
        assert batched.rows == alone.rows
        assert json.dumps(_untimed(batched.result), sort_keys=True, default=str) == \
            json.dumps(_untimed(alone.result), sort_keys=True, default=str)
    combined = result.combined()
    assert list(combined.columns) == ["workspace", "county_code", "county_name", "town", "indicator", "value"]
    assert sorted(combined["workspace"].unique()) == ["county7", "county8", "county9"]
    # every county has its own total rows
    assert (combined["town"] == "合计").groupby(combined["workspace"]).any().all()


def test_write_batch_outputs_on_its_own_local_cluster(counties, tmp_path):
    paths = list_workspaces(counties)
    result = run_batch("coverage", paths, OPTIONS["coverage"], n_workers=1)
    written = write_batch(result, tmp_path / "out")
    combined = pd.read_csv(written["combined"], dtype={"county_code": str}, encoding="utf-8-sig")
    assert len(combined) == len(result.combined())
    status = pd.read_csv(written["counties"])
    assert status["status"].tolist() == ["failed", "ok", "ok", "ok"]
    per_county = [p for p in (tmp_path / "out").glob("*.json")]
    assert len(per_county) == 3


def test_batch_cli_exit_2_when_a_county_fails(counties, scheduler, tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    out = tmp_path / "res"
    res = CliRunner().invoke(main, ["batch", "coverage", "--workspaces", str(counties), "--minutes", "30",
                                    "--scheduler", scheduler, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "3/4" in res.output and "broken.gpkg" in res.output
    assert (out / "combined.csv").exists()


def test_list_file_and_errors(counties, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two counties\n{counties / 'county7.gpkg'}\n{counties / 'county8.gpkg'}\n", encoding="utf-8")
    assert [p.name for p in list_workspaces(listing)] == ["county7.gpkg", "county8.gpkg"]
    with pytest.raises(NoWorkspaces):
        list_workspaces(tmp_path / "empty-folder-that-does-not-exist")
    with pytest.raises(BadBatch):
        run_batch("coverage", [counties / "county7.gpkg"], {"minutes": -1})
    with pytest.raises(BadBatch):
        run_batch("nonsense", [counties / "county7.gpkg"], {})


def test_one_county_is_one_county_in_english(counties, scheduler, tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    for lang, said in (("en", "1/1 county done;"), ("zh", "1/1 个县完成")):
        res = CliRunner(env={"RURALPLAN_LANG": lang}).invoke(
            main, ["batch", "coverage", "--workspaces", str(counties / "county7.gpkg"), "--minutes", "30",
                   "--scheduler", scheduler, "--out", str(tmp_path / lang)])
        assert res.exit_code == 0, res.output
        assert said in res.output, res.output


def test_a_bad_list_file_is_named_once_with_its_lines(counties, tmp_path):
    """A list naming files that do not exist stops before anything runs: the list file once,
    each missing path as written with its line, capped with a count; a binary or undecodable
    list and a path that is nothing are typed errors too (no traceback)."""
    from click.testing import CliRunner

    from web.cli import main
    from web.services.batch import LIST_ERRORS_SHOWN, BadWorkspaceList, ListedWorkspacesMissing

    listing = tmp_path / "list.txt"
    missing = [f"gone{i}.gpkg" for i in range(LIST_ERRORS_SHOWN + 3)]
    listing.write_text("\n".join([str(counties / "county7.gpkg"), "# comment", *missing]) + "\n", encoding="utf-8")
    with pytest.raises(ListedWorkspacesMissing) as info:
        list_workspaces(listing)
    assert info.value.params["n"] == LIST_ERRORS_SHOWN + 3 and info.value.params["lines"][0] == 3
    for lang in ("en", "zh"):
        res = CliRunner(env={"RURALPLAN_LANG": lang}).invoke(
            main, ["batch", "coverage", "--workspaces", str(listing), "--minutes", "30", "--out", str(tmp_path / "o")])
        assert res.exit_code == 2, res.output
        assert res.output.count(str(listing)) == 1 and res.output.count(str(tmp_path)) == 1, res.output
        assert "gone0.gpkg" in res.output and f"gone{LIST_ERRORS_SHOWN}.gpkg" not in res.output
        assert ("(+3 more)" if lang == "en" else "（另 3 个）") in res.output
        assert "Traceback" not in res.output
    one = tmp_path / "one.txt"
    one.write_text("gone.gpkg\n", encoding="utf-8")
    res = CliRunner(env={"RURALPLAN_LANG": "en"}).invoke(
        main, ["batch", "coverage", "--workspaces", str(one), "--minutes", "30", "--out", str(tmp_path / "o")])
    assert f"{one}: 1 listed workspace does not exist: line 1: gone.gpkg" in res.output
    # a Chinese Windows list (GBK) and a UTF-16 one with its byte-order mark read; binary is refused
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes(f"# 三个县\n{counties / 'county8.gpkg'}\n".encode("gbk"))
    assert [p.name for p in list_workspaces(gbk)] == ["county8.gpkg"]
    utf16 = tmp_path / "u16.txt"
    utf16.write_text(f"{counties / 'county9.gpkg'}\n", encoding="utf-16")
    assert [p.name for p in list_workspaces(utf16)] == ["county9.gpkg"]
    binary = tmp_path / "bin.txt"
    binary.write_bytes((counties / "county7.gpkg").read_bytes()[:400])
    with pytest.raises(BadWorkspaceList):
        list_workspaces(binary)
    res = CliRunner(env={"RURALPLAN_LANG": "zh"}).invoke(
        main, ["batch", "coverage", "--workspaces", str(tmp_path / "nothing"), "--minutes", "30",
               "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "nothing 不存在" in res.output, res.output
