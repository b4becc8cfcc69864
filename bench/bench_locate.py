"""Benchmark planner.locate: OR-Library pmed1-10 against spopt (PuLP + CBC), and a synthetic county.

Run: ``.venv/bin/python -m bench.bench_locate [--spopt-timeout 60] [--no-spopt]``.
``--exact [--quick]``: p-median and p-center to proven optimality on pmed1-10
and OR-Library-like random instances (n = 300..900, as Beasley built
pmed11-40; --quick keeps 7 of the 29), CPU seconds per instance (median, max,
proven count per n) and the ratio to spopt + HiGHS (PuLP's HiGHS API)
measured in the same run; smaller look-alikes (n = 100-300) are included so
that spopt finishes some.  Use ``--limit`` above the CPU target on a busy
machine: limits are wall-clock, the table reports CPU seconds.
``--exact --shapes orlib40 [--seeds 2] [--no-pcenter]``: the 40 shapes of
OR-Library pmed1-40 (Beasley 1985: n = 100..900, p = 5, 10, n/10, n/5, n/3
as in the files), ``--seeds`` look-alikes of each (``make_orlib_like_text``,
seed ``4000 + 10 * shape + s``), the real pmed1-10 first when present; the
per-n table adds the count proven within the 10 CPU s target.  ``--quick``
keeps the hardest shapes (p = 5, 10 at n >= 500) and one seed.
Prints tables; never asserts on times (the machine is shared).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

from planner.locate import (
    make_orlib_like_text,
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


# pmed11-40's shapes (Beasley 1985): n nodes, p = 5, 10, n/10, n/5, n/3 up to n = 600, then 5, 10, n/10.
ORLIB_LIKE = [(n, p) for n in (300, 400, 500, 600) for p in (5, 10, n // 10, n // 5, n // 3)] + [
    (n, p) for n in (700, 800, 900) for p in (5, 10, n // 10)]
# All 40 shapes of pmed1-40 in file order (p as in the files: n/3 rounded, 33, 67, 133, 167).
ORLIB40 = [(100, 5), (100, 10), (100, 10), (100, 20), (100, 33), (200, 5), (200, 10), (200, 20), (200, 40),
           (200, 67), (300, 5), (300, 10), (300, 30), (300, 60), (300, 100), (400, 5), (400, 10), (400, 40),
           (400, 80), (400, 133), (500, 5), (500, 10), (500, 50), (500, 100), (500, 167), (600, 5), (600, 10),
           (600, 60), (600, 120), (600, 200), (700, 5), (700, 10), (700, 70), (700, 140), (800, 5), (800, 10),
           (800, 80), (900, 5), (900, 10), (900, 90)]
ORLIB40_QUICK = [k for k, (n, p) in enumerate(ORLIB40) if n >= 500 and p <= 10]
TARGET_CPU_S = 10.0
ORLIB_LIKE_QUICK = [(300, 5), (300, 30), (300, 100), (500, 50), (600, 200), (700, 70), (900, 90)]
# Smaller look-alikes that spopt + HiGHS (the classic x_ij model) can finish: its ratio to ours.
ORLIB_LIKE_SMALL = [(100, 5), (100, 10), (100, 33), (200, 5), (200, 10), (200, 20), (200, 66), (300, 10)]


def _spopt_highs_worker(cost, p, limit_s, queue):
    import pulp
    from spopt.locate import PMedian

    t0 = time.process_time()
    model = PMedian.from_cost_matrix(cost, np.ones(cost.shape[0]), p_facilities=p)
    model.solve(pulp.HiGHS(msg=False, timeLimit=limit_s))
    status = pulp.LpStatus[model.problem.status]
    queue.put((float(pulp.value(model.problem.objective)), time.process_time() - t0, status))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (Linux /proc), NaN elsewhere."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def run_spopt_highs(cost, p, timeout_s):
    """spopt's PMedian (classic x_ij model) with HiGHS in a child process.

    Returns ``(objective, cpu_s, status)``, or ``(None, cpu_s_so_far)`` when
    stopped at ``timeout_s`` (+5 s for the model build) of the child's CPU time.
    """
    # A spawned child, not a forked one: forked after this process has run HiGHS
    # (threads), spopt's HiGHS burnt 15 CPU s on n = 100 models it solves in 2-8 s.
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    # HiGHS's own limit is wall-clock: set it far out, the CPU check below stops the child.
    proc = ctx.Process(target=_spopt_highs_worker, args=(cost, p, max(1, int(20 * timeout_s)), queue))
    proc.start()
    # Stopped on CPU seconds, not wall-clock: on the shared machine a wall timeout
    # left spopt 8 CPU s of its 60 (load average 15), an unfair comparison.
    t_wall = time.monotonic()
    cpu = 0.0
    while proc.is_alive():
        proc.join(0.5)
        cpu = _cpu_seconds(proc.pid) if proc.is_alive() else cpu
        if proc.is_alive() and (cpu > timeout_s + 5 or time.monotonic() - t_wall > 20 * timeout_s + 60):
            proc.terminate()
            proc.join()
            return None, cpu
    try:
        return queue.get(timeout=1)
    except Exception:  # noqa: BLE001 - child died (spopt missing, out of memory)
        return None, float("nan")


class _Skipped:
    """Stands in for the result of a model left out by ``--model``."""

    objective = float("nan")
    status = "-"


def _exact_instances(quick: bool):
    if DATA.exists():
        opt = parse_pmedopt((DATA / "pmedopt.txt").read_text())
        for k in range(1, 11):
            yield f"pmed{k}", parse_orlib_pmed((DATA / f"pmed{k}.txt").read_text()), opt[f"pmed{k}"]
    else:
        print(f"OR-Library data not found at {DATA}; pmed1-10 skipped")
    for k, (n, p) in enumerate(ORLIB_LIKE_SMALL):
        yield f"sm{n}-{p}", parse_orlib_pmed(make_orlib_like_text(n, p, seed=2000 + k)), None
    if quick:
        # The quick list's members keep their seeds from the full list where they are in it.
        for n, p in ORLIB_LIKE_QUICK:
            k = ORLIB_LIKE.index((n, p)) if (n, p) in ORLIB_LIKE else 100 + ORLIB_LIKE_QUICK.index((n, p))
            yield f"rnd{n}-{p}", parse_orlib_pmed(make_orlib_like_text(n, p, seed=1000 + k)), None
        return
    for k, (n, p) in enumerate(ORLIB_LIKE):
        yield f"rnd{n}-{p}", parse_orlib_pmed(make_orlib_like_text(n, p, seed=1000 + k)), None


def _orlib40_instances(quick: bool, seeds: int):
    """pmed1-10 (when present), then ``seeds`` look-alikes of each pmed1-40 shape (see the module doc)."""
    if DATA.exists() and not quick:
        opt = parse_pmedopt((DATA / "pmedopt.txt").read_text())
        for k in range(1, 11):
            yield f"pmed{k}", parse_orlib_pmed((DATA / f"pmed{k}.txt").read_text()), opt[f"pmed{k}"]
    shapes = ORLIB40_QUICK if quick else range(len(ORLIB40))
    for k in shapes:
        n, p = ORLIB40[k]
        for s in range(1 if quick else seeds):
            yield f"o{k + 1}s{s}", parse_orlib_pmed(make_orlib_like_text(n, p, seed=4000 + 10 * k + s)), None


def bench_exact(quick: bool, spopt_timeout_s: float | None, limit_s: float, spopt_max_n: int = 10**9, *,
                model: str = "all", only: frozenset[str] | None = None, shapes: str = "default",
                seeds: int = 2) -> None:
    """p-median and p-center at proven optimality: CPU seconds, and spopt + HiGHS on the p-median.

    ``model`` "pmedian" or "pcenter" runs one of the two (the other's columns
    show "-"); ``only`` keeps the instances with these names (``rnd900-10``);
    ``shapes`` "orlib40" runs ``seeds`` look-alikes of every pmed1-40 shape.
    """
    print(f"\n## Exact p-median / p-center (CPU s; time limit {limit_s:.0f} s; spopt+HiGHS timeout "
          f"{spopt_timeout_s if spopt_timeout_s else '-'} s)")
    print(f"{'inst':12} {'n':>4} {'p':>4} | {'p-median':>9} {'ref':>7} {'cpu s':>6} {'status':>8} |"
          f" {'spopt':>8} {'cpu s':>7} {'ratio':>6} | {'p-center':>8} {'cpu s':>6} {'status':>8}")
    pm_t, pc_t, ratios, rows = [], [], [], []
    skipped = _Skipped()
    # Compile (or load) the numba kernels first: the first solve would otherwise carry it.
    warm = parse_orlib_pmed(make_orlib_like_text(60, 3, seed=1))
    solve_pmedian(warm.cost, p=3, time_limit_s=limit_s, explain=False)
    solve_pmedian(warm.cost, p=1, time_limit_s=limit_s, explain=False, method="milp")
    solve_pcenter(warm.cost, p=3, time_limit_s=limit_s, explain=False)
    source = _orlib40_instances(quick, seeds) if shapes == "orlib40" else _exact_instances(quick)
    for name, inst, ref in source:
        if only is not None and name not in only:
            continue
        r = c = skipped
        t_pm = t_pc = 0.0
        if model in ("all", "pmedian"):
            t = time.process_time()
            r = solve_pmedian(inst.cost, p=inst.p, time_limit_s=limit_s, explain=False)
            t_pm = time.process_time() - t
            if ref is not None and r.status == "optimal" and abs(r.objective - ref) > 1e-6:
                print(f"WRONG: {name} claims optimal {r.objective:.0f}, published optimum {ref:.0f}")
        if model in ("all", "pcenter"):
            t = time.process_time()
            c = solve_pcenter(inst.cost, p=inst.p, time_limit_s=limit_s, explain=False)
            t_pc = time.process_time() - t
        pm_t.append(t_pm)
        pc_t.append(t_pc)
        rows.append((inst.n, t_pm, r.status == "optimal", t_pc, c.status == "optimal"))
        s_txt = f"{'-':>8} {'':>7} {'':>6}"
        if spopt_timeout_s is not None and inst.n <= spopt_max_n and model != "pcenter":
            out = run_spopt_highs(inst.cost, inst.p, spopt_timeout_s)
            if out[0] is None or out[2] != "Optimal":
                # Stopped at the CPU timeout: the CPU it had used is a lower bound.
                s_txt = f"{'timeout':>8} {'>' + format(out[1], '.1f'):>7} {'>' + format(out[1] / t_pm, '.0f'):>6}"
            else:
                ratios.append(out[1] / t_pm)
                s_txt = f"{out[0]:8.0f} {out[1]:7.2f} {out[1] / t_pm:6.1f}"
        ref_txt = f"{ref:7.0f}" if ref is not None else f"{'':>7}"
        c_txt = f"{c.objective:8.0f} {t_pc:6.2f} {c.status:>8}"
        print(f"{name:12} {inst.n:4d} {inst.p:4d} | {r.objective:9.0f} {ref_txt} {t_pm:6.2f} {r.status:>8} |"
              f" {s_txt} | {c_txt}", flush=True)
    if pm_t and model in ("all", "pmedian"):
        print(f"p-median CPU s: median {statistics.median(pm_t):.2f}, max {max(pm_t):.2f} over {len(pm_t)}")
        ok = sum(1 for r in rows if r[2] and r[1] <= TARGET_CPU_S)
        print(f"p-median proven optimal within {TARGET_CPU_S:.0f} CPU s: {ok} of {len(rows)}")
    if pc_t and model in ("all", "pcenter"):
        print(f"p-center CPU s: median {statistics.median(pc_t):.2f}, max {max(pc_t):.2f} over {len(pc_t)}")
    if ratios:
        print(f"spopt+HiGHS / ours (p-median, finished ones): median {statistics.median(ratios):.1f}x, "
              f"min {min(ratios):.1f}x, max {max(ratios):.1f}x over {len(ratios)}")
    if rows:
        print(f"\n{'n':>4} {'inst':>4} | {'p-median med':>12} {'max':>6} {'proven':>6} {'<=10s':>6} |"
              f" {'p-center med':>12} {'max':>6} {'proven':>6}   (CPU s)")
        for n in sorted({r[0] for r in rows}):
            g = [r for r in rows if r[0] == n]
            pc = (f"{statistics.median(r[3] for r in g):12.2f} {max(r[3] for r in g):6.2f} {sum(r[4] for r in g):6d}"
                  if model in ("all", "pcenter") else f"{'-':>12}")
            print(f"{n:4d} {len(g):4d} | {statistics.median(r[1] for r in g):12.2f} {max(r[1] for r in g):6.2f}"
                  f" {sum(r[2] for r in g):6d} {sum(1 for r in g if r[2] and r[1] <= TARGET_CPU_S):6d} | {pc}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--spopt-timeout", type=float, default=60.0, help="seconds per pmed instance for spopt")
    ap.add_argument("--no-spopt", action="store_true", help="skip the spopt comparison")
    ap.add_argument("--exact", action="store_true", help="only the exact p-median/p-center table")
    ap.add_argument("--quick", action="store_true", help="with --exact: pmed1-10 and 7 random instances")
    ap.add_argument("--shapes", choices=("default", "orlib40"), default="default",
                    help="with --exact: orlib40 = the 40 shapes of pmed1-40, --seeds look-alikes each")
    ap.add_argument("--seeds", type=int, default=2, help="with --shapes orlib40: look-alikes per shape")
    ap.add_argument("--no-pcenter", action="store_true", help="with --exact: p-median only")
    ap.add_argument("--limit", type=float, default=60.0, help="with --exact: time limit per solve (s)")
    ap.add_argument("--spopt-max-n", type=int, default=10**9,
                    help="with --exact: run spopt only on instances with at most this many nodes")
    ap.add_argument("--cpu-clock", action="store_true",
                    help="with --exact: the solvers' deadlines count CPU seconds of this process (a busy "
                         "shared machine otherwise cuts them short in CPU terms)")
    ap.add_argument("--model", choices=("all", "pmedian", "pcenter"), default="all",
                    help="with --exact: run only this model (the other's columns show '-')")
    ap.add_argument("--only", default=None,
                    help="with --exact: comma-separated instance names to run (e.g. rnd900-10,pmed6)")
    args = ap.parse_args(argv)
    if args.cpu_clock:
        # Every deadline in planner.locate reads time.perf_counter(); this process only.
        time.perf_counter = time.process_time
    try:
        import pulp  # noqa: F401
        import spopt  # noqa: F401
        spopt_timeout = None if args.no_spopt else args.spopt_timeout
    except ImportError:
        print("spopt/pulp not installed (pip install '.[bench]'); spopt column skipped")
        spopt_timeout = None
    if args.exact:
        only = frozenset(args.only.split(",")) if args.only else None
        model = "pmedian" if args.no_pcenter else args.model
        bench_exact(args.quick, spopt_timeout, args.limit, args.spopt_max_n, model=model, only=only,
                    shapes=args.shapes, seeds=args.seeds)
        return
    bench_orlib(spopt_timeout)
    bench_county()


if __name__ == "__main__":
    main()
