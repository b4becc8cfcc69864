"""Road-network engine benchmark: OD matrix throughput vs a networkx loop, build + snap cost.

The OD section times, in one run: contraction-hierarchy preprocessing, the CH
many-to-many matrix, the csgraph Dijkstra matrix and a networkx loop (sampled
origins, extrapolated), and the numba JIT compile in fresh interpreters.

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


_JIT_PROBE = """
import time
t0 = time.perf_counter()
import numpy as np, scipy.sparse as sp
from planner.ch import build_hierarchy, many_to_many
ch = build_hierarchy(sp.csr_matrix(np.array([[0, 1.0, 0], [0, 0, 2.0], [5.0, 0, 0]])))
many_to_many(ch, [0, 1], [2])
print(time.perf_counter() - t0)
"""


def jit_seconds() -> tuple[float, float]:
    """First-call cost of the numba kernels: cold (empty cache dir) and warm (cache=True hit).

    Each is measured in a fresh interpreter, so it does not depend on what this
    process has already compiled; the warm figure is what every later process pays.
    """
    import os
    import subprocess
    import sys
    import tempfile

    out = []
    with tempfile.TemporaryDirectory() as cache_dir:
        for _ in range(2):  # first run fills the empty cache, the second loads it
            env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
            run = subprocess.run([sys.executable, "-c", _JIT_PROBE], env=env, capture_output=True, text=True,
                                 check=True)
            out.append(float(run.stdout.strip().splitlines()[-1]))
    return out[0], out[1]


def bench_od(side: int, n_od: int, nx_sample: int, seed: int = 0) -> dict:
    from planner.ch import build_hierarchy, graph_hierarchy, many_to_many

    roads = synthetic_roads(side, side, spacing_m=300, seed=seed).to_crs(4326)
    graph = build_road_graph(roads)
    origins = synthetic_points(roads, n_od, seed=seed + 1, prefix="o")
    dests = synthetic_points(roads, n_od, seed=seed + 2, prefix="d")
    so = snap_points(graph, origins)
    sd = snap_points(graph, dests)
    print(f"OD graph: {graph.n_nodes:,} nodes, {graph.n_edges:,} edges; "
          f"{int(so.ok.sum())}/{n_od} origins and {int(sd.ok.sum())}/{n_od} destinations snapped")

    # contraction hierarchy: preprocessing once per graph (kernels already compiled
    # or loaded from numba's cache by a tiny warm-up, so this is the build alone)
    many_to_many(build_hierarchy(graph.minutes[:3, :3]), [0], [0])
    t0 = time.perf_counter()
    ch = graph_hierarchy(graph)
    ch_build_s = time.perf_counter() - t0
    kw = dict(origin_snap=so, destination_snap=sd)

    t0 = time.perf_counter()
    m_ch = travel_time_matrix(graph, origins, dests, method="ch", **kw)
    ch_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    travel_time_matrix(graph, origins, dests, method="ch", cutoff_min=60, **kw)
    ch60_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    m = travel_time_matrix(graph, origins, dests, method="dijkstra", **kw)
    od_s = time.perf_counter() - t0
    pairs = m.minutes.size
    finite = float(np.isfinite(m.minutes).mean())
    both = np.isfinite(m.minutes)
    same_inf = bool(np.array_equal(both, np.isfinite(m_ch.minutes)))
    max_diff = float(np.abs(m.minutes[both] - m_ch.minutes[both]).max()) if both.any() else 0.0

    t0 = time.perf_counter()
    travel_time_matrix(graph, origins, dests, method="dijkstra", cutoff_min=60, **kw)
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
        "ch_build_s": ch_build_s, "ch_arcs": ch.n_arcs, "ch_shortcuts": ch.n_shortcuts,
        "ch_s": ch_s, "ch_pairs_per_s": pairs / ch_s, "ch60_s": ch60_s, "ch_pairs_per_s_60": pairs / ch60_s,
        "same_inf": same_inf, "max_diff": max_diff,
        "od_s": od_s, "pairs_per_s": pairs / od_s, "od60_s": od60_s, "pairs_per_s_60": pairs / od60_s,
        "nx_sample": nx_sample, "nx_per_origin_s": nx_per_origin, "nx_total_s": nx_total,
        "speedup": nx_total / ch_s, "speedup_dijkstra": nx_total / od_s,
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

    cold, warm = jit_seconds()
    print(f"numba JIT (planner.ch kernels, fresh interpreter): compile with an empty cache {cold:.1f} s; "
          f"with the cache=True files {warm:.1f} s")
    od = bench_od(side, n_od, nx_sample)
    print(f"contraction hierarchy on {od['nodes']:,} nodes: preprocessing {od['ch_build_s']:.1f} s "
          f"({od['ch_arcs']:,} upward arcs, {od['ch_shortcuts']:,} shortcuts)")
    print(f"OD matrix {n_od}x{n_od} ({od['finite_share']:.1%} finite), all in this run:")
    print(f"  CH many-to-many:       {od['ch_s']:.2f} s, {od['ch_pairs_per_s']:,.0f} pairs/s "
          f"(cutoff_min=60: {od['ch60_s']:.2f} s, {od['ch_pairs_per_s_60']:,.0f} pairs/s)")
    print(f"  csgraph Dijkstra:      {od['od_s']:.2f} s, {od['pairs_per_s']:,.0f} pairs/s "
          f"(cutoff_min=60: {od['od60_s']:.2f} s, {od['pairs_per_s_60']:,.0f} pairs/s)")
    print(f"  networkx single_source_dijkstra loop: {od['nx_per_origin_s'] * 1000:.0f} ms/origin measured on "
          f"{od['nx_sample']} sampled origins, extrapolated to {n_od}: {od['nx_total_s']:.1f} s "
          f"({od['pairs'] / od['nx_total_s']:,.0f} pairs/s)")
    print(f"  CH equals Dijkstra: same unreachable pairs {od['same_inf']}, max |diff| {od['max_diff']:.2g} min")
    print(f"  ratios: CH / Dijkstra {od['od_s'] / od['ch_s']:.0f}x, CH / networkx {od['speedup']:.0f}x, "
          f"Dijkstra / networkx {od['speedup_dijkstra']:.1f}x; CH incl. preprocessing / networkx "
          f"{od['nx_total_s'] / (od['ch_s'] + od['ch_build_s']):.1f}x")
    print(f"  targets: >= {TARGET_SPEEDUP:.0f}x networkx: "
          f"{'met' if od['speedup'] >= TARGET_SPEEDUP else 'NOT met'}; >= {TARGET_PAIRS_PER_S:,} pairs/s: "
          f"{'met' if od['ch_pairs_per_s'] >= TARGET_PAIRS_PER_S else 'NOT met'} without cutoff, "
          f"{'met' if od['ch_pairs_per_s_60'] >= TARGET_PAIRS_PER_S else 'NOT met'} with 60 min cutoff")

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
