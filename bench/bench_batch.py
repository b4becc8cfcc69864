"""Batch benchmark: one analysis over many counties, 1 Dask worker vs 2, in the same run.

Builds ``--counties`` demo-sized counties (different seeds; cached in
``$TMPDIR/ruralplan-bench-batch``), then times ``run_batch`` on a LocalCluster of one
worker process and of two, each once warm (cluster start-up excluded: it is paid once
per batch, not per county).  Prints wall seconds and the speed-up ratio; on this 2-core
machine the ideal is 2.0.  Never asserts on times.

Run: ``.venv/bin/python -m bench.bench_batch`` (``--quick``: 4 counties at ×0.25).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def build_counties(n: int, scale: float) -> list[Path]:
    from layers.demo import build_demo_workspace

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
        paths.append(path)
    return paths


def time_batch(paths, analysis: str, options: dict, workers: int) -> tuple[float, int]:
    from dask.distributed import LocalCluster

    from web.services.batch import run_batch

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        # warm the workers' imports with one county, so the figure is the counties' work
        run_batch(analysis, paths[:workers], options, scheduler=cluster.scheduler_address)
        t0 = time.perf_counter()
        result = run_batch(analysis, paths, options, scheduler=cluster.scheduler_address)
        seconds = time.perf_counter() - t0
    return seconds, len(result.counties) - len(result.failed)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--counties", type=int, default=None)
    parser.add_argument("--analysis", default="coverage", choices=["coverage", "placement", "pairings"])
    args = parser.parse_args(argv)
    n = args.counties or (4 if args.quick else 20)
    scale = 0.25 if args.quick else 1.0
    paths = build_counties(n, scale)
    options = {"facility": "cold_storage", "minutes": 30, "p": 3, "model": "mclp", "travel": "network"}
    one, ok1 = time_batch(paths, args.analysis, options, 1)
    two, ok2 = time_batch(paths, args.analysis, options, 2)
    print(f"{args.analysis} over {n} counties (×{scale:g}): 1 worker {one:.1f} s ({ok1} ok), "
          f"2 workers {two:.1f} s ({ok2} ok); speed-up {one / two:.2f}× (ideal 2.0 on 2 cores)")


if __name__ == "__main__":
    main()
