"""Scale benchmark: time and peak memory of each analysis from a county to a province.

For each size — the demo county at ``×1`` and ``×10`` and a synthetic province (the
demo county ×28 plus 20,000 further villages, ~30,000 in all) — every analysis runs
in a fresh interpreter, which reports its CPU seconds and peak resident memory
(``ru_maxrss``).  The growth exponent of each analysis is the slope of
log(figure) against log(villages) between the smallest and the largest size: 1 is
linear, 2 quadratic.  The exponents are the ratios this benchmark is judged on (the
same machine, the same run); the absolute figures depend on the machine.

Run: ``.venv/bin/python -m bench.bench_scale`` (``--quick``: ×0.25, ×0.5, ×1 only).
Workspaces are cached in ``$TMPDIR/ruralplan-bench-scale``; never asserts on times.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: What each analysis runs, in a child interpreter; prints one JSON line.
_CHILD = r"""
import json, resource, sys, time
analysis, path = sys.argv[1], sys.argv[2]
# imports first: the figures are the analysis's own, not the interpreter's start-up
from layers.store import Workspace
from web import services
from web.services.batch import analyse_county
from web.services.pairings import analyse_workspace
from planner.travel import travel_time_matrix
t0 = time.process_time()
ws = Workspace(path)
if analysis == "pairings":
    n = len(analyse_workspace(ws).analysis.suggestions)
elif analysis == "coverage":
    r = analyse_county(path, "coverage", {"facility": "cold_storage", "minutes": 30})
    assert r.ok, r.error
    n = len(r.rows)
elif analysis == "od":
    g = services.road_graph(ws)
    m = travel_time_matrix(g, services.villages(ws), services.facility_points(ws, "cold_storage"), cutoff_min=60)
    n = int(m.minutes.size)
elif analysis == "placement":
    from web.services.planning import PlacementQuestion
    r = services.plan(ws, PlacementQuestion(facility="cold_storage", model="mclp", p=3, minutes=30,
                                            time_limit_s=60))
    n = len(r.to_dict()["sites"])
print(json.dumps({"cpu_s": time.process_time() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "n": n}))
"""

ANALYSES = ("coverage", "od", "placement", "pairings")


def _cache_dir() -> Path:
    path = Path(tempfile.gettempdir()) / "ruralplan-bench-scale"
    path.mkdir(exist_ok=True)
    return path


def build_workspace(scale: float, *, extra_villages: int = 0) -> tuple[Path, int, float]:
    """The demo county at ``scale`` (cached), plus ``extra_villages`` imported villages.

    Returns the path, its village count and the seconds the demo generator took (0 when
    cached).
    """
    from layers.demo import build_demo_workspace
    from layers.store import Workspace

    path = _cache_dir() / f"demo-x{scale:g}-plus{extra_villages}.gpkg"
    seconds = 0.0
    if not path.exists():
        t0 = time.perf_counter()
        tmp = path.with_suffix(".building.gpkg")
        tmp.unlink(missing_ok=True)
        build_demo_workspace(tmp, scale=scale)
        seconds = time.perf_counter() - t0
        if extra_villages:
            _add_villages(Workspace(tmp), extra_villages)
        tmp.rename(path)
    n = len(Workspace(path).read_layer("villages"))
    return path, n, seconds


def _add_villages(ws, n: int) -> None:
    """Villages "imported" beside the generated ones: jittered copies with new codes.

    They carry population and produce but no pairings, as a statistical list imported
    into a province workspace would.
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20261130)
    villages = ws.read_layer("villages")
    pick = villages.iloc[rng.integers(0, len(villages), n)].copy()
    xy = np.c_[pick.geometry.x, pick.geometry.y] + rng.normal(0, 0.01, (n, 2))
    import geopandas as gpd

    pick = gpd.GeoDataFrame(pick.drop(columns="geometry"), geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                            crs=villages.crs)
    pick["code"] = [f"9{i:011d}" for i in range(n)]
    pick["name"] = [f"{name}{i}" for i, name in zip(range(n), pick["name"])]
    if "former_poor" in pick:
        pick["former_poor"] = False
    ws.write_layers({"villages": pd.concat([villages, pick], ignore_index=True)})


def run_analysis(analysis: str, path: Path) -> dict:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", _CHILD, analysis, str(path)], capture_output=True, text=True,
                          env=env, cwd=root, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]}
    return json.loads(lines[-1])


def exponent(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of log(value) against log(size)."""
    pts = [(math.log(n), math.log(v)) for n, v in points if n > 0 and v and v > 0]
    if len(pts) < 2:
        return None
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    return None if sxx == 0 else sum((x - mx) * (y - my) for x, y in pts) / sxx


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (×0.25, ×0.5, ×1)")
    parser.add_argument("--analyses", default=",".join(ANALYSES))
    args = parser.parse_args(argv)
    sizes = [(0.25, 0), (0.5, 0), (1.0, 0)] if args.quick else [(1.0, 0), (10.0, 0), (28.0, 20_000)]
    analyses = [a for a in args.analyses.split(",") if a]
    table: dict[str, list] = {a: [] for a in analyses}
    print(f"{'size':>18} {'villages':>9} {'analysis':>10} {'cpu s':>9} {'peak MB':>9}")
    for scale, extra in sizes:
        path, n, gen_s = build_workspace(scale, extra_villages=extra)
        label = f"x{scale:g}" + (f"+{extra}" if extra else "")
        if gen_s:
            print(f"{label:>18} {n:>9} {'generate':>10} {gen_s:>9.1f} {'':>9}  (wall s)")
        for a in analyses:
            r = run_analysis(a, path)
            if "error" in r:
                print(f"{label:>18} {n:>9} {a:>10}  failed: {r['error']}")
                continue
            table[a].append((n, r["cpu_s"], r["peak_mb"]))
            print(f"{label:>18} {n:>9} {a:>10} {r['cpu_s']:>9.1f} {r['peak_mb']:>9.0f}")
    print("\ngrowth exponents (slope of log figure vs log villages; 1 = linear)")
    for a, rows in table.items():
        et = exponent([(n, t) for n, t, _ in rows])
        em = exponent([(n, m) for n, _, m in rows])
        fmt = (lambda e: "n/a" if e is None else f"{e:.2f}")
        print(f"  {a:>10}: time {fmt(et)}, memory {fmt(em)}")


if __name__ == "__main__":
    main()
