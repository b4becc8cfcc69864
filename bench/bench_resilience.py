"""Resilience benchmark: bridges + subtree sums + exact detours vs brute force, same run.

Two networks: the demo county at 5× scale (``layers.demo``, ``scale=5``) and a synthetic
grid of about 1M road edges (:mod:`planner.synthetic`).  For each, one
:func:`planner.resilience.resilience_analysis` (cut-off totals for every segment and
the exact added minutes for every segment on a village's route) is timed against the
brute-force baseline: remove one segment, recompute connectivity (cut-off) or rerun a
full multi-source search (detours).  Brute force is *sampled* over ``k`` random
segments and extrapolated linearly to all segments (each removal costs the same full
recomputation, so the extrapolation is fair); the report says so.

Run: ``.venv/bin/python -m bench.bench_resilience`` (``--quick``: scale 1 and a ~50k-edge
grid, for CI).  Prints figures; never asserts on times.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def _prepare(graph, villages, targets):
    from planner.resilience import split_network
    from planner.snap import snap_points

    sv = snap_points(graph, villages, max_snap_m=2000, main_component_only=True)
    st = snap_points(graph, targets, max_snap_m=2000, main_component_only=True)
    main = np.flatnonzero(graph.edge_component == graph.main_component)
    net = split_network(graph, np.r_[np.where(sv.ok, sv.edge, -1), np.where(st.ok, st.edge, -1)],
                        np.r_[sv.fraction, st.fraction], edges=main)
    return net, net.point_node[: len(villages)], net.point_node[len(villages):], np.where(st.ok, st.access_min, 0.0)


def run_case(name: str, graph, villages, targets, *, k: int, seed: int = 0) -> dict:
    from planner.resilience import (
        brute_force_cut_off,
        brute_force_detours,
        cut_off_analysis,
        resilience_analysis,
    )

    resilience_analysis(graph, villages.head(3), targets.head(2))  # numba kernels: compile/load once
    t = time.perf_counter()
    result = resilience_analysis(graph, villages, targets, max_snap_m=2000)
    ours = time.perf_counter() - t

    net, vn, tn, offsets = _prepare(graph, villages, targets)
    w = np.zeros((net.n_nodes, 1))
    np.add.at(w, vn[vn >= 0], 1.0)
    root = cut_off_analysis(net, w)["root"]
    rng = np.random.default_rng(seed)
    sample = rng.choice(net.n_pieces, size=min(k, net.n_pieces), replace=False)
    t = time.perf_counter()
    ref = brute_force_cut_off(net, w, anchor_node=root, pieces=sample)
    per_cut = (time.perf_counter() - t) / len(sample)
    t = time.perf_counter()
    brute_force_detours(net, vn, tn, offsets, pieces=sample)
    # brute_force_detours also runs one base search: count it as one more removal
    per_detour = (time.perf_counter() - t) / (len(sample) + 1)
    seg = result.segments.set_index("piece")
    agree = bool(np.allclose(seg.loc[sample, "villages_cut"].to_numpy(), ref[:, 0]))
    brute = (per_cut + per_detour) * net.n_pieces
    out = {
        "name": name, "nodes": graph.n_nodes, "edges": graph.n_edges, "pieces": net.n_pieces,
        "villages": len(villages), "targets": len(targets), "bridges": int(result.totals["bridges"]),
        "single_access": int(result.totals["villages_single_access"]), "ours_s": ours,
        "brute_per_segment_s": per_cut + per_detour, "brute_extrapolated_s": brute, "k": len(sample),
        "speedup": brute / ours, "sample_agrees": agree,
    }
    print(f"{name}: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges ({net.n_pieces:,} segments after splitting "
          f"at {len(villages):,} villages and {len(targets):,} targets); {out['bridges']:,} bridges, "
          f"{out['single_access']:,} single-access villages")
    print(f"  resilience_analysis (cut-off + exact detours, all segments): {ours:.2f} s")
    print(f"  brute force, sampled over k={len(sample)} segments: {per_cut * 1000:.1f} ms (connectivity) + "
          f"{per_detour * 1000:.1f} ms (search) per segment → extrapolated to {net.n_pieces:,} segments: "
          f"{brute:,.0f} s")
    print(f"  ratio brute force / ours: {out['speedup']:,.0f}×  (sampled cut-offs agree: {agree})")
    return out


def demo_case(scale: float, k: int) -> dict:
    from layers.demo import generate_demo_county
    from planner.graph import build_road_graph

    t = time.perf_counter()
    county = generate_demo_county(scale=scale)
    roads, villages, towns = county["roads"], county["villages"], county["towns"]
    towns = towns[towns.geometry.notna()].reset_index(drop=True)
    graph = build_road_graph(roads)
    print(f"# demo county ×{scale:g} generated and built in {time.perf_counter() - t:.1f} s")
    return run_case(f"demo county ×{scale:g}", graph, villages, towns, k=k)


def synthetic_case(side: int, n_villages: int, n_targets: int, k: int) -> dict:
    from planner.graph import build_road_graph
    from planner.synthetic import synthetic_points, synthetic_roads

    t = time.perf_counter()
    roads = synthetic_roads(side, side, spacing_m=300, drop_fraction=0.3, seed=3)
    graph = build_road_graph(roads)
    villages = synthetic_points(roads, n_villages, seed=4, prefix="v")
    villages["code"] = villages["id"]
    targets = synthetic_points(roads, n_targets, seed=5, prefix="t")
    print(f"# synthetic {side}×{side} grid generated and built in {time.perf_counter() - t:.1f} s")
    return run_case(f"synthetic {side}×{side}", graph, villages, targets, k=k)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="scale-1 demo and a ~50k-edge grid (CI)")
    args = parser.parse_args(argv)
    if args.quick:
        demo_case(1.0, k=10)
        synthetic_case(180, 2000, 60, k=5)
    else:
        demo_case(5.0, k=10)
        synthetic_case(805, 20_000, 400, k=3)


if __name__ == "__main__":
    main()
