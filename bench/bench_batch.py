"""Batch benchmark: one analysis over many counties, 1 Dask worker vs 2, in the same run.

Builds ``--counties`` demo-sized counties (different seeds; cached in
``$TMPDIR/ruralplan-bench-batch``) and stores each one's road graph in its workspace
cache, so both runs find the same caches.  Then times ``run_batch`` on a LocalCluster
of one worker process and of two.  What each run measures is the counties' own work:

- every worker is one process with one thread, and numpy/BLAS/numba in it are held to
  one thread too (``*_NUM_THREADS=1``), so 2 workers use at most 2 cores;
- each task gets only a workspace path: it opens the file and reads its layers itself
  (``analyse_county``), as on a real cluster;
- the workers are warmed by importing the analysis modules, not by running a county,
  so no county's graph or result is already in a worker's memory when timing starts
  (cluster start-up is excluded: it is paid once per batch, not per county).

Prints wall seconds, the speed-up ratio (ideal 2.0 on this 2-core machine) and the
load average before and after each run: other programs on the machine lower the
ratio.  Never asserts on times.

Run: ``.venv/bin/python -m bench.bench_batch`` (``--quick``: 4 counties at ×0.25).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


#: Environment of the worker processes (inherited from this one): one thread each.
_ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "NUMBA_NUM_THREADS": "1"}


def build_counties(n: int, scale: float) -> list[Path]:
    from layers.demo import build_demo_workspace
    from layers.store import Workspace
    from web import services

    folder = Path(tempfile.gettempdir()) / "ruralplan-bench-batch"
    folder.mkdir(exist_ok=True)
    paths = []
    for seed in range(1, n + 1):
        path = folder / f"county-s{seed}-x{scale:g}.gpkg"
        if not path.exists():
            tmp = path.with_suffix(".building.gpkg")
            tmp.unlink(missing_ok=True)
            build_demo_workspace(tmp, scale=scale, seed=seed)
            tmp.rename(path)
        # the graph cached in the workspace (a no-op when it is): neither timed run builds it
        services.road_graph(Workspace(path))
        paths.append(path)
    return paths


def _warm_imports() -> None:
    """Import what a county's analysis imports (run on every worker before timing)."""
    import planner.ch  # noqa: F401 — numba kernels load from their on-disk cache
    import planner.coverage  # noqa: F401
    import planner.travel  # noqa: F401
    import web.services.batch  # noqa: F401
    import web.services.pairings  # noqa: F401
    import web.services.planning  # noqa: F401


def _cpu_seconds() -> float:
    import time as _time

    return _time.process_time()


def time_batch(paths, analysis: str, options: dict, workers: int) -> tuple[float, int, list[float]]:
    """Wall seconds, counties that succeeded, and the CPU seconds each worker spent."""
    from dask.distributed import LocalCluster

    from web.services.batch import run_batch

    from dask.distributed import Client

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.run(_warm_imports)
            cpu0 = client.run(_cpu_seconds)
            t0 = time.perf_counter()
            result = run_batch(analysis, paths, options, scheduler=cluster.scheduler_address)
            seconds = time.perf_counter() - t0
            cpu1 = client.run(_cpu_seconds)
    return seconds, len(result.counties) - len(result.failed), sorted(cpu1[w] - cpu0[w] for w in cpu1)


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--counties", type=int, default=None)
    parser.add_argument("--analysis", default="coverage", choices=["coverage", "placement", "pairings"])
    args = parser.parse_args(argv)
    n = args.counties or (4 if args.quick else 20)
    scale = 0.25 if args.quick else 1.0
    os.environ.update(_ONE_THREAD)
    paths = build_counties(n, scale)
    options = {"facility": "cold_storage", "minutes": 30, "p": 3, "model": "mclp", "travel": "network"}
    load = [_load()]
    one, ok1, cpu1 = time_batch(paths, args.analysis, options, 1)
    load.append(_load())
    two, ok2, cpu2 = time_batch(paths, args.analysis, options, 2)
    load.append(_load())
    print(f"{args.analysis} over {n} counties (×{scale:g}): 1 worker {one:.1f} s ({ok1} ok), "
          f"2 workers {two:.1f} s ({ok2} ok); speed-up {one / two:.2f}× (ideal 2.0 on 2 cores)")
    # What the cores would allow: the work does not grow with a second worker, and the
    # busier worker's CPU seconds bound the wall time of the pair on an idle machine.
    fmt = (lambda xs: " + ".join(f"{x:.1f}" for x in xs))
    print(f"worker CPU s: 1 worker {fmt(cpu1)}; 2 workers {fmt(cpu2)}; "
          f"speed-up the CPU allows {sum(cpu1) / max(cpu2):.2f}×")
    print(f"load average (1/5/15 min) before, between and after: {' | '.join(load)}")


if __name__ == "__main__":
    main()
