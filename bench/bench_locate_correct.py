"""Correctness and deadline figures for planner.locate (issue 12, part A).

1. The HiGHS warm-start mix-up on random 150 x 75 set-covering instances: how
   often raw HiGHS (``setSolution`` with the greedy cover, then
   ``getSolution``) hands back a solution whose objective is not the one it
   reports, and how often :func:`planner.locate.solve_lscp` now returns a
   cover that is not the optimum (expected: 0).
2. Enumeration against branch and bound on the place-mclp-p1 construction
   (p = 1), as a ratio measured in the same run.
3. The deadline: total seconds over ``time_limit_s`` (explanations included)
   on a p-median / MCLP instance too hard to prove within the limit.

Run: ``python -m bench.bench_locate_correct [--quick]``.  Prints; never asserts.
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


def bench_deadline(quick: bool) -> None:
    from planner.locate import solve_mclp, solve_pmedian

    rng = np.random.default_rng(3)
    n = 500 if quick else 900
    xy = rng.uniform(0, 100, size=(n, 2))
    cost = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    w = rng.integers(1, 100, size=n).astype(float)
    for limit in ((1.0, 3.0) if quick else (1.0, 3.0, 10.0)):
        for name, fn in (("pmedian", lambda L: solve_pmedian(cost, w, p=n // 10, time_limit_s=L)),
                         ("mclp", lambda L: solve_mclp(cost, w, p=n // 20, radius_min=8.0, time_limit_s=L))):
            t = time.perf_counter()
            res = fn(limit)
            took = time.perf_counter() - t
            print(f"deadline {name} n={n} limit {limit:g} s: took {took:.2f} s = {took / limit:.2f} x limit "
                  f"({res.status}, gap {res.gap:.3%})")
    # Capacitated MCLP (split and single sourcing), explanations included, down to a 0.3 s limit:
    # the explanations start no LP once their share of the time is under 0.05 s.
    from planner.locate.cmclp import solve_cmclp

    m = n // 6
    sites = cost[:, rng.choice(n, m, replace=False)] * 1.5
    demand_t = rng.gamma(1.0, 80.0, n)
    for limit in (0.3, 1.0):
        for split in (True, False):
            t = time.perf_counter()
            res = solve_cmclp(sites, demand_t, 2500.0, p=5, radius_min=20.0, split=split, time_limit_s=limit)
            took = time.perf_counter() - t
            print(f"deadline cmclp{'' if split else ' single-sourcing'} n={n} m={m} limit {limit:g} s: took "
                  f"{took:.2f} s = {took / limit:.2f} x limit ({res.status}, gap {res.gap:.3%})")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    bench_lscp(10 if args.quick else 30)
    bench_enumeration(args.quick)
    bench_deadline(args.quick)


if __name__ == "__main__":
    main()
