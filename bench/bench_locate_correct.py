"""Correctness and deadline figures for planner.locate (issue 12, part A).

1. The HiGHS warm-start mix-up on random 150 x 75 set-covering instances: how
   often raw HiGHS (``setSolution`` with the greedy cover, then
   ``getSolution``) hands back a solution whose objective is not the one it
   reports, and how often :func:`planner.locate.solve_lscp` now returns a
   cover that is not the optimum (expected: 0).
2. Enumeration against branch and bound on the place-mclp-p1 construction
   (p = 1), as a ratio measured in the same run.
3. The deadline: wall and CPU seconds over ``time_limit_s`` (explanations
   included, max over repeats) for every model -- p-median (also with a budget), p-center, MCLP,
   LSCP, the fewest sites reaching a target share, capacitated MCLP (split and
   single sourcing), attendance with decay and the coverage curve -- at 0.3,
   1 and 3 s on clustered instances (n = 500, 900) too hard to prove within
   the limit.  The machine is shared: the load average is printed per row and
   CPU / limit beside wall / limit; ``--cpu-clock`` makes every deadline count
   this process's CPU seconds, which emulates a quiet machine (read cpu/limit).

Run: ``python -m bench.bench_locate_correct [--quick] [--deadline-only] [--n 900] [--limit 1]``.  Prints; never asserts.
"""
from __future__ import annotations

import argparse
import time

import highspy
import numpy as np
import scipy.sparse as sp


def random_lscp(seed: int, n: int = 150, m: int = 75):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n, 2))
    cand = rng.choice(n, size=m, replace=False)
    cost = np.sqrt(((xy[:, None, :] - xy[None, cand, :]) ** 2).sum(-1))
    return cost, float(cost.min(axis=1).max()) + 1e-6


def raw_highs_mixup(cost, radius) -> tuple[float, float]:
    """(objective HiGHS reports, objective of the solution it returns) with the greedy start."""
    from planner.locate._coverage import greedy_set_cover
    from planner.locate._highs import new_highs

    a = sp.csr_matrix((cost <= radius + 1e-9).astype(float))
    n, m = a.shape
    start = np.zeros(m)
    start[greedy_set_cover(a, np.ones(m))] = 1.0
    h = new_highs()
    h.passModel(m, n, a.nnz, 2, 1, 0.0, np.ones(m), np.zeros(m), np.ones(m), np.ones(n),
                np.full(n, highspy.kHighsInf), a.indptr.astype(np.int32), a.indices.astype(np.int32), a.data,
                np.ones(m, dtype=np.int32))
    sol = highspy.HighsSolution()
    sol.col_value = start.tolist()
    sol.value_valid = True
    h.setSolution(sol)
    h.run()
    return float(h.getInfo().objective_function_value), float(np.sum(h.getSolution().col_value))


def bench_lscp(count: int) -> None:
    from planner.locate import solve_lscp
    from planner.locate._highs import solve_milp

    raw_bad = ours_bad = 0
    for seed in range(count):
        cost, radius = random_lscp(seed)
        reported, returned = raw_highs_mixup(cost, radius)
        raw_bad += reported != returned
        a = sp.csr_matrix((cost <= radius + 1e-9).astype(float))
        n, m = a.shape
        ref = solve_milp(np.ones(m), a, np.ones(n), np.full(n, np.inf), np.zeros(m), np.ones(m), np.ones(m, bool))
        res = solve_lscp(cost, radius_min=radius, explain=False)
        ours_bad += not (res.status == "optimal" and res.objective == len(res.new_sites) == ref.objective)
    print(f"random 150x75 LSCP, {count} instances: raw HiGHS returned a solution other than its reported "
          f"objective {raw_bad} times; solve_lscp wrong or not optimal {ours_bad} times")


def mclp_instance(n: int = 800):
    rng = np.random.default_rng(7)
    centres = rng.uniform(0, 5000, size=(10, 2))
    xy = np.vstack([rng.normal(centres[rng.integers(0, 10)], 450, size=2) for _ in range(n)])
    cost = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    w = np.maximum(1, rng.lognormal(2.8, 1.2, n)).round()
    return cost, w


def bench_enumeration(quick: bool) -> None:
    from planner.locate import exhaustive, solve_mclp

    cost, w = mclp_instance(400 if quick else 800)
    t = time.perf_counter()
    a = solve_mclp(cost, w, p=1, radius_min=800, explain=False)
    t_enum = time.perf_counter() - t
    exhaustive.ENABLED = False
    try:
        t = time.perf_counter()
        b = solve_mclp(cost, w, p=1, radius_min=800, explain=False, time_limit_s=60)
        t_milp = time.perf_counter() - t
    finally:
        exhaustive.ENABLED = True
    print(f"MCLP p=1 on {cost.shape[0]}x{cost.shape[1]}: enumeration {t_enum:.3f} s ({a.status}, {a.objective:g}); "
          f"MILP {t_milp:.3f} s ({b.status}, {b.objective:g}, gap {b.gap:.2%}); ratio MILP/enum "
          f"{t_milp / max(t_enum, 1e-9):.0f}x")


def deadline_instance(n: int, seed: int = 3):
    """Clustered points in a 100 x 100 km square, minutes = km: hard enough that no model is proven
    within a few seconds at n = 500-900 (the deadline, not the proof, ends the call)."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 100, size=(12, 2))
    xy = centres[rng.integers(0, 12, n)] + rng.normal(0, 9, size=(n, 2))
    cost = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    w = rng.integers(1, 100, size=n).astype(float)
    return cost, w


def deadline_models(cost, w):
    """(name, call(limit)) for every model and planning question with a time limit."""
    from planner.locate import (coverage_curve, solve_attendance, solve_cmclp, solve_lscp, solve_mclp,
                                solve_pcenter, solve_pmedian)

    n = cost.shape[0]
    rng = np.random.default_rng(5)
    m = n // 3
    store = cost[:, rng.choice(n, m, replace=False)] * 1.5
    demand_t = rng.gamma(1.0, 80.0, n)
    site_cost = rng.uniform(100.0, 300.0, n)
    return (
        ("pmedian", lambda L: solve_pmedian(cost, w, p=n // 10, time_limit_s=L)),
        ("pmedian-budget", lambda L: solve_pmedian(cost, w, p=n // 10, site_cost_wan=site_cost,
                                                   budget_wan=190.0 * (n // 10), time_limit_s=L)),
        ("pcenter", lambda L: solve_pcenter(cost, p=n // 20, time_limit_s=L)),
        ("mclp", lambda L: solve_mclp(cost, w, p=n // 20, radius_min=8.0, time_limit_s=L)),
        ("lscp", lambda L: solve_lscp(cost, weights=w, radius_min=6.0, time_limit_s=L)),
        ("min-sites-to-90%", lambda L: solve_lscp(cost, weights=w, radius_min=6.0, target_share=0.9,
                                                   time_limit_s=L)),
        ("cmclp", lambda L: solve_cmclp(store, demand_t, 2500.0, p=8, radius_min=20.0, time_limit_s=L)),
        ("cmclp-single", lambda L: solve_cmclp(store, demand_t, 2500.0, p=8, radius_min=20.0, split=False,
                                               time_limit_s=L)),
        ("attendance-exp", lambda L: solve_attendance(cost, w, p=n // 10, cutoff_min=20.0, decay="exponential",
                                                      beta=0.1, time_limit_s=L)),
        ("curve-k8", lambda L: coverage_curve(cost, w, radius_min=8.0, k_max=8, time_limit_s=L)),
    )


def bench_deadline(quick: bool, *, sizes=None, limits=None, repeats=None, only=None) -> None:
    """Wall and CPU seconds over the limit for every model, explanations included (max over repeats)."""
    import os

    sizes = sizes or ((500,) if quick else (500, 900))
    limits = limits or ((0.3, 1.0) if quick else (0.3, 1.0, 3.0))
    repeats = repeats or (1 if quick else 2)
    # Create HiGHS and every model's first-call state once, outside the timings (the solvers
    # load their numba kernels themselves before their clock starts).
    c0, w0 = deadline_instance(60)
    for _name, fn in deadline_models(c0, w0):
        fn(5.0)
    worst_wall = worst_cpu = 0.0
    print(f"{'model':18s} {'n':>4s} {'limit':>5s} {'wall/limit':>10s} {'cpu/limit':>9s}  status (gap)  load")
    for n in sizes:
        cost, w = deadline_instance(n)
        for name, fn in deadline_models(cost, w):
            if only and name not in only:
                continue
            for limit in limits:
                walls, cpus, last = [], [], None
                for _ in range(repeats):
                    t, c = time.perf_counter(), time.process_time()
                    last = fn(limit)
                    walls.append(time.perf_counter() - t)
                    cpus.append(time.process_time() - c)
                st = getattr(last, "status", None) or ("optimal" if last.all_optimal else "time_limit")
                gap = getattr(last, "gap", None)
                load = os.getloadavg()[0]
                rw, rc = max(walls) / limit, max(cpus) / limit
                worst_wall, worst_cpu = max(worst_wall, rw), max(worst_cpu, rc)
                print(f"{name:18s} {n:4d} {limit:5g} {rw:10.2f} {rc:9.2f}  {st}"
                      f"{'' if gap is None else f' ({gap:.2%})'}  {load:.1f}", flush=True)
    print(f"max wall/limit {worst_wall:.2f}, max cpu/limit {worst_cpu:.2f} (2 cores; load average shown per row)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--deadline-only", action="store_true", help="only the deadline table")
    ap.add_argument("--n", type=int, action="append", help="instance size(s) for the deadline table")
    ap.add_argument("--limit", type=float, action="append", help="time limit(s) for the deadline table")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--model", action="append", help="only these models in the deadline table")
    ap.add_argument("--cpu-clock", action="store_true",
                    help="every deadline counts CPU seconds of this process (time.perf_counter = "
                         "time.process_time): a quiet machine emulated on a shared one; read cpu/limit")
    args = ap.parse_args(argv)
    if args.cpu_clock:
        time.perf_counter = time.process_time
    if not args.deadline_only:
        bench_lscp(10 if args.quick else 30)
        bench_enumeration(args.quick)
    bench_deadline(args.quick, sizes=args.n, limits=args.limit, repeats=args.repeats, only=args.model)


if __name__ == "__main__":
    main()
