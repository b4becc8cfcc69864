"""Benchmark planner.locate: OR-Library pmed1-10 against spopt (PuLP + CBC), and a synthetic county.

Run: ``.venv/bin/python -m bench.bench_locate [--spopt-timeout 60] [--no-spopt]``.
Prints tables; never asserts on times (the machine is shared).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from planner.locate import (
    parse_orlib_pmed,
    parse_pmedopt,
    solve_cmclp,
    solve_lscp,
    solve_mclp,
    solve_pcenter,
    solve_pmedian,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "orlib-pmed"


def _spopt_worker(cost, p, limit_s, queue):
    import pulp
    from spopt.locate import PMedian

    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(cost, np.ones(cost.shape[0]), p_facilities=p)
    model.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=limit_s))
    queue.put((float(pulp.value(model.problem.objective)), time.perf_counter() - t0))


def run_spopt(cost, p, timeout_s):
    """spopt in a child process so a hung build/solve can be stopped at ``timeout_s``."""
    queue = mp.Queue()
    proc = mp.Process(target=_spopt_worker, args=(cost, p, max(1, int(timeout_s)), queue))
    t0 = time.perf_counter()
    proc.start()
    proc.join(timeout_s + 5)
    if proc.is_alive():
        proc.terminate()
        proc.join()
        return None, time.perf_counter() - t0
    try:
        return queue.get(timeout=1)
    except Exception:  # noqa: BLE001 - child died (e.g. spopt missing)
        return None, time.perf_counter() - t0


def bench_orlib(spopt_timeout_s: float | None) -> None:
    if not DATA.exists():
        print(f"OR-Library data not found at {DATA}; skipping pmed table")
        return
    opt = parse_pmedopt((DATA / "pmedopt.txt").read_text())
    print("\n## OR-Library p-median (every node demand + candidate)")
    print(f"{'inst':7} {'n':>4} {'p':>3} {'optimum':>8} | {'ours':>8} {'s':>6} {'status':>8} |"
          f" {'spopt':>8} {'s':>7} | {'spopt/ours':>10}")
    for k in range(1, 11):
        inst = parse_orlib_pmed((DATA / f"pmed{k}.txt").read_text())
        r = solve_pmedian(inst.cost, p=inst.p, time_limit_s=60, explain=False)
        if spopt_timeout_s is None:
            s_obj, s_sec = None, float("nan")
            s_txt = f"{'skipped':>8} {'':>7}"
        else:
            s_obj, s_sec = run_spopt(inst.cost, inst.p, spopt_timeout_s)
            s_txt = (f"{s_obj:8.0f} {s_sec:7.2f}" if s_obj is not None
                     else f"did not finish in {spopt_timeout_s:.0f} s".rjust(16))
        ratio = f"{s_sec / r.seconds:10.1f}" if s_obj is not None else f"{'>' + format(s_sec / r.seconds, '.0f'):>10}" \
            if spopt_timeout_s is not None else ""
        print(f"pmed{k:<3} {inst.n:4d} {inst.p:3d} {opt[f'pmed{k}']:8.0f} | {r.objective:8.0f} {r.seconds:6.2f}"
              f" {r.status:>8} | {s_txt} | {ratio}", flush=True)


def synthetic_county(n_demand=400, n_cand=200, seed=2024):
    """Seeded villages/candidates in a 60 km square joined by a k-nearest-neighbour road graph.

    Edge minutes = km x detour U(1.1, 1.6) at 40 km/h; travel times are
    shortest paths (so they obey the triangle inequality like real roads).
    """
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 60, (n_demand + n_cand, 2))
    n = len(pts)
    d = np.hypot(*(pts[:, None, :] - pts[None]).transpose(2, 0, 1))
    k = 5
    nb = np.argsort(d, axis=1)[:, 1:k + 1]
    rows = np.repeat(np.arange(n), k)
    cols = nb.ravel()
    minutes = d[rows, cols] * rng.uniform(1.1, 1.6, len(rows)) / 40 * 60
    g = coo_matrix((minutes, (rows, cols)), shape=(n, n)).tocsr()
    sp_all = shortest_path(g, directed=False, indices=np.arange(n_demand))
    cost = sp_all[:, n_demand:]
    people = rng.lognormal(6, 0.8, n_demand).round()  # village populations
    tonnes = rng.gamma(2.0, 150.0, n_demand).round(1)  # produce
    cap = rng.choice([3000.0, 5000.0, 8000.0], n_cand)
    site_cost = rng.uniform(200, 800, n_cand).round()  # 万元
    return cost, people, tonnes, cap, site_cost


def bench_county() -> None:
    cost, people, tonnes, cap, site_cost = synthetic_county()
    print(f"\n## Synthetic county: {cost.shape[0]} villages x {cost.shape[1]} candidates, p=5 "
          f"(median travel {np.median(cost):.0f} min); target <= 0.1 % gap in <= 2 s")
    runs = [
        ("pmedian", lambda: solve_pmedian(cost, people, p=5, time_limit_s=30)),
        ("pmedian heuristic", lambda: solve_pmedian(cost, people, p=5, method="heuristic", time_limit_s=30)),
        ("pmedian budget", lambda: solve_pmedian(cost, people, p=5, site_cost_wan=site_cost, budget_wan=2000,
                                                 time_limit_s=30)),
        ("mclp r=15", lambda: solve_mclp(cost, people, p=5, radius_min=15, time_limit_s=30)),
        ("mclp budget", lambda: solve_mclp(cost, people, p=None, radius_min=15, site_cost_wan=site_cost,
                                           budget_wan=2000, time_limit_s=30)),
        ("lscp r=30", lambda: solve_lscp(cost, radius_min=30, time_limit_s=30)),
        ("pcenter", lambda: solve_pcenter(cost, p=5, time_limit_s=30)),
        ("cmclp split", lambda: solve_cmclp(cost, tonnes, cap, p=5, radius_min=25, time_limit_s=30)),
        ("cmclp unsplit", lambda: solve_cmclp(cost, tonnes, cap, p=5, radius_min=25, split=False,
                                              time_limit_s=30)),
    ]
    print(f"{'model':18} {'objective':>12} {'bound':>12} {'gap %':>8} {'seconds':>8} {'status':>10}  method")
    for name, fn in runs:
        r = fn()
        print(f"{name:18} {r.objective:12.1f} {r.bound:12.1f} {100 * r.gap:8.3f} {r.seconds:8.2f} {r.status:>10}"
              f"  {r.method}", flush=True)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spopt-timeout", type=float, default=60.0, help="seconds per pmed instance for spopt")
    ap.add_argument("--no-spopt", action="store_true", help="skip the spopt comparison")
    args = ap.parse_args(argv)
    try:
        import spopt  # noqa: F401
        import pulp  # noqa: F401
        spopt_timeout = None if args.no_spopt else args.spopt_timeout
    except ImportError:
        print("spopt/pulp not installed (pip install '.[bench]'); spopt column skipped")
        spopt_timeout = None
    bench_orlib(spopt_timeout)
    bench_county()


if __name__ == "__main__":
    main()
