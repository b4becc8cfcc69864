"""Road-network engine benchmark: OD matrix throughput vs a networkx loop, build + snap cost.

Run: ``.venv/bin/python -m bench.bench_network`` (``--quick`` for a smaller run).
Prints figures; never asserts on times (shared machines vary).
"""
from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc

import networkx as nx
import numpy as np

from planner.graph import build_road_graph
from planner.snap import snap_points
from planner.synthetic import synthetic_points, synthetic_roads
from planner.travel import travel_time_matrix

TARGET_SPEEDUP = 20.0
TARGET_PAIRS_PER_S = 500_000


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_od(side: int, n_od: int, nx_sample: int, seed: int = 0) -> dict:
    roads = synthetic_roads(side, side, spacing_m=300, seed=seed).to_crs(4326)
    graph = build_road_graph(roads)
    origins = synthetic_points(roads, n_od, seed=seed + 1, prefix="o")
    dests = synthetic_points(roads, n_od, seed=seed + 2, prefix="d")
    so = snap_points(graph, origins)
    sd = snap_points(graph, dests)
    print(f"OD graph: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges; "
          f"{int(so.ok.sum())}/{n_od} origins and {int(sd.ok.sum())}/{n_od} destinations snapped")

    t0 = time.perf_counter()
    m = travel_time_matrix(graph, origins, dests, origin_snap=so, destination_snap=sd)
    od_s = time.perf_counter() - t0
    pairs = m.minutes.size
    finite = float(np.isfinite(m.minutes).mean())

    t0 = time.perf_counter()
    m60 = travel_time_matrix(graph, origins, dests, origin_snap=so, destination_snap=sd, cutoff_min=60)
    od60_s = time.perf_counter() - t0

    # networkx: one single_source_dijkstra per origin, node to node only (no snapping
    # work), on a sample of origins, extrapolated linearly to all origins.
    nxg = nx.DiGraph()
    coo = graph.minutes.tocoo()
    nxg.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist()), weight="minutes")
    rng = np.random.default_rng(seed)
    sample = rng.choice(graph.edge_v[so.edge[so.ok]], size=nx_sample, replace=False)
    targets = graph.edge_u[sd.edge[sd.ok]]
    t0 = time.perf_counter()
    for s in sample:
        lengths = nx.single_source_dijkstra_path_length(nxg, int(s), weight="minutes")
        _ = [lengths.get(int(t), np.inf) for t in targets]
    nx_per_origin = (time.perf_counter() - t0) / nx_sample
    nx_total = nx_per_origin * n_od
    return {
        "nodes": graph.n_nodes, "edges": graph.n_edges, "pairs": pairs, "finite_share": finite,
        "od_s": od_s, "pairs_per_s": pairs / od_s, "od60_s": od60_s, "pairs_per_s_60": pairs / od60_s,
        "nx_sample": nx_sample, "nx_per_origin_s": nx_per_origin, "nx_total_s": nx_total,
        "speedup": nx_total / od_s,
    }


def bench_build(side: int, n_villages: int, seed: int = 0) -> dict:
    roads = synthetic_roads(side, side, spacing_m=400, seed=seed).to_crs(4326)
    villages = synthetic_points(roads, n_villages, seed=seed + 5, prefix="v")
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    graph = build_road_graph(roads)
    build_s = time.perf_counter() - t0
    _, build_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    snap = snap_points(graph, villages)
    snap_s = time.perf_counter() - t0
    _, snap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t0 = time.perf_counter()
    graph_merge = build_road_graph(roads, merge_tolerance_m=1.0, node_at_crossings=True)
    build_clean_s = time.perf_counter() - t0
    return {
        "roads": len(roads), "nodes": graph.n_nodes, "edges": graph.n_edges, "villages": n_villages,
        "snapped": int(snap.ok.sum()), "build_s": build_s, "snap_s": snap_s,
        "build_peak_mb": build_peak / 2**20, "snap_peak_mb": snap_peak / 2**20,
        "build_clean_s": build_clean_s, "clean_edges": graph_merge.n_edges,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    side, n_od, nx_sample = (120, 200, 5) if args.quick else (330, 1000, 10)

    od = bench_od(side, n_od, nx_sample)
    print(f"OD matrix {n_od}x{n_od} on {od['nodes']:,} nodes: {od['od_s']:.2f} s, "
          f"{od['pairs_per_s']:,.0f} pairs/s ({od['finite_share']:.1%} finite)")
    print(f"  with cutoff_min=60: {od['od60_s']:.2f} s, {od['pairs_per_s_60']:,.0f} pairs/s")
    print(f"  networkx single_source_dijkstra loop: {od['nx_per_origin_s'] * 1000:.0f} ms/origin measured on "
          f"{od['nx_sample']} sampled origins, extrapolated to {n_od}: {od['nx_total_s']:.1f} s")
    print(f"  speedup vs networkx: {od['speedup']:.1f}x (target >= {TARGET_SPEEDUP:.0f}x: "
          f"{'met' if od['speedup'] >= TARGET_SPEEDUP else 'NOT met'}); "
          f"throughput target >= {TARGET_PAIRS_PER_S:,} pairs/s: "
          f"{'met' if od['pairs_per_s'] >= TARGET_PAIRS_PER_S else 'NOT met'} without cutoff, "
          f"{'met' if od['pairs_per_s_60'] >= TARGET_PAIRS_PER_S else 'NOT met'} with 60 min cutoff")

    sizes = [(130, 350, "county"), (290, 1750, "5x county")] if not args.quick else [(40, 100, "small")]
    for s, nv, label in sizes:
        b = bench_build(s, nv)
        print(f"build+snap {label}: {b['roads']:,} road lines -> {b['nodes']:,} nodes / {b['edges']:,} edges: "
              f"build {b['build_s']:.2f} s (peak {b['build_peak_mb']:.0f} MB traced), "
              f"snap {b['villages']} villages {b['snap_s'] * 1000:.0f} ms (peak {b['snap_peak_mb']:.0f} MB); "
              f"with merge_tolerance_m=1 + node_at_crossings: {b['build_clean_s']:.2f} s")
    print(f"process peak RSS: {_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
