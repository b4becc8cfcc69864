"""``ruralplan solve`` / ``place`` with the location models: budgets without p, unserved demand."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from web.cli import main

INF = np.inf


def run(*args):
    return CliRunner(env={"RURALPLAN_LANG": "en"}).invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def matrices(tmp_path):
    cost = np.array([[1.0, 9.0, INF], [8.0, 2.0, INF], [INF, INF, 3.0], [INF, INF, INF]])
    np.save(tmp_path / "c.npy", cost)
    np.save(tmp_path / "sc.npy", np.array([10.0, 10.0, 50.0]))
    np.save(tmp_path / "w.npy", np.array([5.0, 4.0, 1.0, 2.0]))
    return tmp_path


@pytest.mark.parametrize("model,extra", [("pmedian", []), ("mclp", ["--radius", 5])])
def test_solve_with_budget_and_no_p(matrices, model, extra):
    result = run("solve", model, "--cost", matrices / "c.npy", "--weights", matrices / "w.npy",
                 "--cost-per-site", matrices / "sc.npy", "--budget", 20, *extra, "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert [s["site"] for s in d["sites"]] == [0, 1]  # site 2 is not affordable next to the other two
    assert d["uncovered"] == [2, 3] and d["unreachable"] == [3]
    assert d["status"] == "optimal"


def test_solve_pmedian_without_p_or_budget_is_a_clear_error(matrices):
    result = CliRunner().invoke(main, ["solve", "pmedian", "--cost", str(matrices / "c.npy")])
    assert result.exit_code == 2 and "--p or --budget" in result.output


def test_place_pmedian_on_the_demo_county(demo_workspace):
    # The demo county has unreachable villages: explanations stay finite, the table prints.
    result = run("place", "-w", demo_workspace.path, "--model", "pmedian", "--p", 2)
    assert result.exit_code == 0, result.output
    assert "loss if removed" in result.output
    d = json.loads(run("place", "-w", demo_workspace.path, "--model", "pmedian", "--p", 2, "--json").output)
    assert all(s["loss_if_removed"] is not None for s in d["sites"])
