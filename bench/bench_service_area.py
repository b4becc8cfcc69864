"""Service areas on the demo county: reached-network walking areas vs the buffered-lines baseline.

Times, in one run on the same graph and facilities: the one-off preparation of each
method (pieces + Voronoi cells vs edge buffers), then the per-facility time for the
default cutoffs (15, 30, 60 min), and prints the ratio new / baseline.  The baseline is
the implementation this replaced (``bench/baseline_service_area_buffer.py``, kept only
for this ratio).  Target: under 0.3 s per facility on the demo county.

Run: ``.venv/bin/python -m bench.bench_service_area`` (``--quick``: two facilities).
Needs a demo workspace (``--workspace``, default ``workspaces/demo.gpkg``; built with
``ruralplan demo`` when missing).  Prints figures; never asserts on times.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

TARGET_S_PER_FACILITY = 0.3


def _workspace(path: str):
    from layers.store import Workspace

    p = Path(path)
    if not p.exists():
        from layers.demo import build_demo_workspace

        p.parent.mkdir(parents=True, exist_ok=True)
        return build_demo_workspace(p)
    return Workspace(p)


def main(argv=None) -> None:
    from bench import baseline_service_area_buffer as baseline
    from planner import service_area as current
    from web import services

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workspace", default="workspaces/demo.gpkg")
    args = parser.parse_args(argv)
    ws = _workspace(args.workspace)
    settings = services.NetworkSettings.from_workspace(ws)
    graph = services.road_graph(ws, settings=settings)
    fac = services.facility_points(ws, "cold_storage")
    if args.quick:
        fac = fac.iloc[:2]
    cutoffs = (15, 30, 60)
    print(f"graph: {graph.n_edges} edges, {graph.edge_length_m.sum() / 1000:.0f} km; {len(fac)} facilities; "
          f"cutoffs {cutoffs}; max_snap_m {settings.max_snap_m:g}")

    t0 = time.perf_counter()
    baseline.prepare_service_areas(graph)
    prep_old = time.perf_counter() - t0
    t0 = time.perf_counter()
    current.prepare_service_areas(graph, max_snap_m=settings.max_snap_m)
    prep_new = time.perf_counter() - t0

    def per_facility(module, **kw):
        times = []
        for i in range(len(fac)):
            t = time.perf_counter()
            module.service_areas(graph, fac.iloc[[i]], cutoffs_min=cutoffs, max_snap_m=settings.max_snap_m, **kw)
            times.append(time.perf_counter() - t)
        return sum(times) / len(times), max(times)

    old_mean, old_max = per_facility(baseline)
    new_mean, new_max = per_facility(current)
    print(f"preparation (once per graph): baseline {prep_old:.2f} s, reached-network {prep_new:.2f} s")
    print(f"per facility: baseline mean {old_mean:.3f} s (max {old_max:.3f}), "
          f"reached-network mean {new_mean:.3f} s (max {new_max:.3f})")
    print(f"ratio reached-network / baseline: {new_mean / old_mean:.2f}x "
          f"(target: < {TARGET_S_PER_FACILITY} s per facility: {'met' if new_mean < TARGET_S_PER_FACILITY else 'NOT met'})")


if __name__ == "__main__":
    main()
