"""The demo county's resilience ranking, checked against brute force on its own network."""
from __future__ import annotations

import numpy as np
import pytest

from planner.graph import build_road_graph
from planner.resilience import (
    brute_force_cut_off,
    cut_off_analysis,
    resilience_analysis,
    split_network,
)
from planner.snap import snap_points

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_workspace):
    ws = demo_workspace
    graph = build_road_graph(ws.read_layer("roads"))
    villages = ws.read_layer("villages")
    towns = ws.read_layer("towns")
    towns = towns[towns.geometry.notna()].reset_index(drop=True)
    result = resilience_analysis(graph, villages, towns, max_snap_m=1000)
    return graph, villages, towns, result


def test_demo_ranking_top_links(demo):
    _, _, _, r = demo
    links = r.links
    top = links.head(10)
    # ranked by people cut off, then villages
    assert top["population_cut"].is_monotonic_decreasing
    # the demo's mountain townships hang on single provincial/township roads: the top link cuts off
    # a dozen or so villages (a whole township seat among them) -- a sanity range, not a golden count
    first = top.iloc[0]
    assert 5 <= first["villages_cut"] <= 60
    assert first["population_cut"] > 3000
    # every listed village really is single-access, and its count of villages matches the list
    v = r.villages.set_index("village_id")
    for row in top.itertuples():
        assert len(row.village_ids) == row.villages_cut
        assert v.loc[list(row.village_ids), "single_access"].all()
        assert v.loc[list(row.village_ids), "population"].sum() == pytest.approx(row.population_cut)
        assert (v.loc[list(row.village_ids), "monitored_households"].sum()
                == pytest.approx(row.monitored_households_cut))
    # the totals agree with the village table
    assert r.totals["villages_single_access"] == int(r.villages["single_access"].sum())
    assert 0 < r.totals["villages_single_access"] < r.totals["villages_on_network"]


def test_demo_top_links_agree_with_brute_force(demo):
    """Remove every piece of the top links (and a random sample of other pieces), recompute
    connectivity, and compare the villages and people cut off."""
    graph, villages, towns, r = demo
    sv = snap_points(graph, villages, max_snap_m=1000, main_component_only=True)
    st = snap_points(graph, towns, max_snap_m=1000, main_component_only=True)
    main = np.flatnonzero(graph.edge_component == graph.main_component)
    net = split_network(graph, np.r_[np.where(sv.ok, sv.edge, -1), np.where(st.ok, st.edge, -1)],
                        np.r_[sv.fraction, st.fraction], edges=main)
    vn = net.point_node[: len(villages)]
    on = vn >= 0
    w = np.zeros((net.n_nodes, 2))
    np.add.at(w, vn[on], np.c_[np.ones(int(on.sum())), villages["population"].fillna(0).to_numpy()[on]])
    root = cut_off_analysis(net, w)["root"]
    top_pieces = [p for pieces in r.links.head(5)["pieces"] for p in pieces]
    rng = np.random.default_rng(7)
    sample = rng.choice(net.n_pieces, size=60, replace=False)
    pieces = np.unique(np.r_[top_pieces, sample]).astype(int)
    ref = brute_force_cut_off(net, w, anchor_node=root, pieces=pieces)
    seg = r.segments.set_index("piece")
    np.testing.assert_allclose(seg.loc[pieces, "villages_cut"].to_numpy(), ref[:, 0])
    np.testing.assert_allclose(seg.loc[pieces, "population_cut"].to_numpy(), ref[:, 1])
