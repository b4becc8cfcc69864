"""OR-Library pmed1-10: the p-median solver must reach Beasley's proven optima exactly."""
from __future__ import annotations

import numpy as np
import pytest

from planner.locate import parse_orlib_pmed, parse_pmedopt, solve_pmedian
from tests.conftest import shared_data


def test_parse_last_edge_wins_and_shortest_paths():
    text = "4 4 1\n1 2 5\n2 3 1\n1 2 2\n3 4 7\n"
    inst = parse_orlib_pmed(text)
    assert inst.n == 4 and inst.p == 1
    assert (0, 1, 2.0) in inst.edges  # the second "1 2" line overrides 5
    expected = np.array([[0, 2, 3, 10], [2, 0, 1, 8], [3, 1, 0, 7], [10, 8, 7, 0]], dtype=float)
    np.testing.assert_array_equal(inst.cost, expected)


def test_parse_accepts_lines_and_zero_cost_edges():
    inst = parse_orlib_pmed(["3 2 1", "1 2 0", "2 3 4"])
    assert inst.cost[0, 2] == 4.0 and inst.cost[0, 1] == 0.0


def test_parse_rejects_bad_input():
    with pytest.raises(ValueError, match="header"):
        parse_orlib_pmed("3 2\n1 2 3\n")
    with pytest.raises(ValueError, match="outside"):
        parse_orlib_pmed("2 1 1\n1 3 3\n")
    with pytest.raises(ValueError, match="edge lines"):
        parse_orlib_pmed("2 2 1\n1 2 3\n")


def test_parse_pmedopt():
    opt = parse_pmedopt("Data file   Optimal solution value\npmed1 5819\npmed10 1255\n")
    assert opt == {"pmed1": 5819.0, "pmed10": 1255.0}


@pytest.mark.parametrize("k", range(1, 11))
def test_pmed_reaches_proven_optimum(k):
    opt = parse_pmedopt(shared_data("orlib-pmed", "pmedopt.txt").read_text())
    inst = parse_orlib_pmed(shared_data("orlib-pmed", f"pmed{k}.txt").read_text())
    res = solve_pmedian(inst.cost, p=inst.p, time_limit_s=120, explain=False)
    assert res.objective == opt[f"pmed{k}"]
    assert res.status == "optimal"
    assert res.gap <= 1e-6
    assert len(res.new_sites) == inst.p
    # The reported objective is the assignment's, recomputed independently.
    assert np.min(inst.cost[:, list(res.new_sites)], axis=1).sum() == opt[f"pmed{k}"]
