"""p-center: minimise the worst travel time to the nearest open site.

Hakimi, S. L. (1964). Optimum locations of switching centers and the
absolute centers and medians of a graph. *Operations Research* 12(3); the
vertex p-center solved as in Daskin (1995, *Network and Discrete Location*,
ch. 5): the optimum is one of the distinct travel times, and "is radius r
achievable with p sites?" is a set-covering question (Toregas et al. 1971).
We binary-search the sorted distinct times between a lower bound (every point
needs *some* site: ``max_i min_j c_ij``) and the greedy+swap heuristic's
value, answering each question with a cardinality-constrained covering MILP
(HiGHS, pure feasibility) after a greedy shortcut.

Demand with no finite time to any candidate is ``unreachable``.  If ``p``
sites cannot reach every reachable point (disconnected road network), the
number of points served is maximised first (an MCLP at the largest finite
time) and the worst time is minimised over those.
"""
from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from ._assemble import bare_site_reports
from ._common import (
    RESULT_RESERVE,
    as_index_tuple,
    as_problem,
    check_p,
    check_time_limit,
    relative_gap,
)
from ._coverage import ReducedCover, greedy_swap_mclp, solve_reduced_mclp
from ._deadline import EXPLAIN_TAIL
from ._highs import solve_milp
from .exhaustive import enumerate_pcenter
from ._pcenter_exact import cover_decision, farthest_first
from .explain import explain_by_distance, nearest_assignment
from .certify import certified
from .result import LocateResult

__all__ = ["solve_pcenter"]


def _pcenter_heuristic(cp: np.ndarray, p: int, fixed: np.ndarray, big: float, deadline: float) -> np.ndarray:
    """Greedy (add the site that lowers the max most) + best-improvement swaps."""
    n, m = cp.shape
    is_open = np.zeros(m, dtype=bool)
    is_open[fixed] = True
    d = np.min(cp[:, fixed], axis=1) if len(fixed) else np.full(n, big)
    chosen: list[int] = []
    for _ in range(p):
        # Tie-break the max by the sum so greedy keeps improving on plateaus.
        nd = np.minimum(d[:, None], cp)
        score = nd.max(axis=0) + 1e-9 * nd.sum(axis=0) / max(n, 1) / max(big, 1.0)
        score[is_open] = np.inf
        j = int(np.argmin(score))
        chosen.append(j)
        is_open[j] = True
        d = np.minimum(d, cp[:, j])
    s = np.asarray(chosen, dtype=np.int64)
    cur = float(d.max()) if n else 0.0
    while len(s) and time.perf_counter() < deadline:
        best = (cur, None, None)
        for k in range(len(s)):
            others = np.r_[fixed, np.delete(s, k)].astype(np.int64)
            base = np.min(cp[:, others], axis=1) if len(others) else np.full(n, big)
            vals = np.minimum(base[:, None], cp).max(axis=0)
            vals[is_open] = np.inf
            j = int(np.argmin(vals))
            if vals[j] < best[0] - 1e-12:
                best = (float(vals[j]), k, j)
        if best[1] is None:
            break
        cur, k, j = best
        is_open[s[k]] = False
        is_open[j] = True
        s[k] = j
    return np.sort(s)


@certified("pcenter")
def solve_pcenter(
    cost,
    *,
    p: int,
    fixed: Iterable[int] = (),
    weights=None,
    time_limit_s: float = 60.0,
    candidate_cost=None,
    explain: bool = True,
) -> LocateResult:
    """Open ``p`` NEW sites minimising the maximum travel time of any demand point.

    Parameters
    ----------
    cost : array_like, shape (n, m)
        Travel minutes, ``np.inf`` unreachable.
    p : int
        Number of NEW sites (fixed sites are open on top).
    fixed : iterable of int
        Existing sites.
    weights : array_like, shape (n,), optional
        Only used to ignore points with zero demand (the objective is the
        unweighted worst time).
    time_limit_s : float
        Overall limit, explanations included: the binary search stops
        ``RESULT_RESERVE`` of it early (each covering question gets what is
        left).  On timeout the best radius found is returned with the largest
        radius proven infeasible as ``bound``.
    candidate_cost, explain
        As in :func:`planner.locate.solve_pmedian`.

    Returns
    -------
    LocateResult
        ``objective`` = worst minutes over served points; ``bound`` = proven
        lower bound (a distinct travel time); ``uncovered`` lists points left
        unserved (only when ``p`` cannot reach them all) plus unreachable ones.
    """
    t0 = time.perf_counter()
    c, w, fx = as_problem(cost, weights, fixed)
    n, m = c.shape
    p = check_p(p, m, len(fx))
    time_limit_s = check_time_limit(time_limit_s)
    # The search stops RESULT_RESERVE of the limit early; the explanations use the
    # rest but a sliver (the limit covers them, see _deadline).
    deadline = t0 + time_limit_s * (1.0 - RESULT_RESERVE)
    explain_deadline = t0 + time_limit_s * (1.0 - EXPLAIN_TAIL)
    reachable = np.isfinite(c).any(axis=1)
    unreachable = np.flatnonzero(~reachable)
    pts = np.flatnonzero(reachable & (w > 0))
    cr = c[pts]
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[fx] = True
    free = np.flatnonzero(~is_fixed)
    finite = cr[np.isfinite(cr)]
    cmax = float(finite.max()) if finite.size else 0.0
    big = 2.0 * cmax + 1.0
    cp = np.where(np.isfinite(cr), cr, big)

    method = "binary-search+highs-milp"
    status = "optimal"
    target = None  # None => every point must be served
    enum = enumerate_pcenter(c, w, fx, p, deadline=deadline) if len(pts) else None
    if len(pts) == 0:
        new_sites = np.zeros(0, dtype=np.int64)
        obj = bound = 0.0
        method = "trivial"
    elif enum is not None:
        # Few layouts (p <= 2, or C(m, p) small): exact by exhaustion.
        new_sites, obj, bound, method = enum.sites, enum.value, enum.value, "enumeration"
    else:
        # Farthest-first start (Gonzalez 1985, within twice the optimum on road
        # times); the binary search does the rest.  The swap heuristic spent up
        # to a quarter of the time limit at n = 900.
        heur = farthest_first(cp, p, fx) if p > 0 else np.zeros(0, dtype=np.int64)
        levels = np.unique(finite)
        fixed_d = np.min(cr[:, fx], axis=1) if len(fx) else np.full(len(pts), np.inf)

        def cover_model(radius: float) -> tuple[ReducedCover, int]:
            """Rows = points not yet within ``radius`` of a fixed site."""
            need = fixed_d > radius + 1e-9
            a = sp.csr_matrix(cr[need][:, free] <= radius + 1e-9, dtype=np.float64)
            return ReducedCover(a, np.ones(int(need.sum())), free, ~need, np.ones(int(need.sum()), bool)), int(
                (~need).sum())

        # How many points can p sites serve at all?  Normally all of them.
        red_max, fixed_cnt = cover_model(cmax)
        rows_ok = np.asarray(red_max.a.sum(axis=1)).ravel() > 0
        ok_all = rows_ok.all() and _cover_all_feasible(red_max, p, deadline)[0]
        if ok_all is None:
            # Undecided (out of time): a start serving every point settles it.
            start_open = np.r_[fx, heur].astype(np.int64)
            ok_all = bool(len(start_open)) and bool((np.min(cp[:, start_open], axis=1) < big).all())
        if not ok_all:
            out = solve_reduced_mclp(red_max, p, col_cost=None, budget=None,
                                     time_limit_s=max(1e-3, deadline - time.perf_counter()))
            target = fixed_cnt + int(round(out.objective))
            method = "lexicographic-mclp+" + method

        def feasible(radius: float):
            """(answer, new sites) with answer True / False / None (undecided)."""
            red, fc = cover_model(radius)
            if target is None:
                if not (np.asarray(red.a.sum(axis=1)).ravel() > 0).all():
                    return False, None
                return _cover_all_feasible(red, p, deadline)
            return _cover_count_feasible(red, p, target - fc, deadline)

        def value(sites):
            open_cols = np.r_[fx, sites].astype(np.int64)
            if len(open_cols) == 0:
                return 0.0  # nothing open, nothing served: no worst time
            d = np.min(cp[:, open_cols], axis=1)
            d = d[d < big] if target is not None else d
            return float(d.max()) if d.size else 0.0

        best_sites = heur
        ub = value(heur)
        if target is not None:
            ub = cmax  # the heuristic may not serve `target` points
            ok, s = feasible(cmax)
            best_sites = s if ok else heur
            ub = value(best_sites)
        lb_val = float(np.max(np.min(cp, axis=1))) if target is None else float(levels[0])
        lo = int(np.searchsorted(levels, lb_val - 1e-9))
        hi = int(np.searchsorted(levels, ub - 1e-9))
        hi = min(hi, len(levels) - 1)
        proven_lo = lo
        while lo < hi:
            if time.perf_counter() > deadline:
                status = "time_limit"
                break
            mid = (lo + hi) // 2
            ok, s = feasible(float(levels[mid]))
            if ok:
                hi = mid
                best_sites = s
            else:
                lo = mid + 1
                if ok is False:
                    proven_lo = max(proven_lo, lo)
                else:
                    status = "time_limit"
        if status == "optimal" and value(best_sites) > float(levels[hi]) + 1e-9:
            # The start was never beaten inside the search range (it may even
            # leave a point unserved, e.g. farthest-first with p = 1): take a
            # cover at the radius the search settled on.
            ok, s = feasible(float(levels[hi]))
            if ok:
                best_sites = s
        obj = value(best_sites)
        bound = float(levels[min(proven_lo, len(levels) - 1)])
        bound = min(bound, obj)
        new_sites = np.asarray(best_sites, dtype=np.int64)
        # Pad with sites that keep the optimum but lower other travel times:
        # planners asked for p sites, an unused budget slot helps nobody.
        if len(new_sites) < p:
            open_now = np.r_[fx, new_sites].astype(np.int64)
            d = np.min(cp[:, open_now], axis=1) if len(open_now) else np.full(len(pts), big)
            avail = np.setdiff1d(free, new_sites)
            extra = []
            for _ in range(p - len(new_sites)):
                gain = np.maximum(d[:, None] - cp[:, avail], 0).sum(axis=0)
                j = int(np.argmax(gain))
                extra.append(int(avail[j]))
                d = np.minimum(d, cp[:, avail[j]])
                avail = np.delete(avail, j)
            new_sites = np.r_[new_sites, extra].astype(np.int64)
        obj = value(new_sites)

    open_sites = np.union1d(fx, new_sites).astype(np.int64)
    assign, acost = nearest_assignment(c, open_sites)
    served = assign >= 0
    gap = relative_gap(obj, bound)
    if status == "optimal" and gap > 1e-9:
        status = "time_limit" if time.perf_counter() > deadline else "feasible"
    rows_mask = np.zeros(n, dtype=bool)
    rows_mask[pts] = True
    if explain:
        def score(D):
            sub = D[rows_mask]
            if target is not None:
                sub = np.where(np.isfinite(sub), sub, -np.inf)
            return sub.max(axis=0) if sub.shape[0] else np.zeros(D.shape[1])

        sites = explain_by_distance(
            c, open_sites, fx, score, minimize=True, objective=obj, assignment=assign, weights=w,
            candidate_cost=candidate_cost, deadline=explain_deadline,
        )
    else:
        sites = bare_site_reports(open_sites, fx, assign, w)
    return LocateResult(
        model="pcenter", method=method, status=status, objective=float(obj), bound=float(bound),
        gap=float(gap), seconds=time.perf_counter() - t0, sites=sites,
        assignment=as_index_tuple(assign), assignment_cost=tuple(float(v) for v in acost),
        covered_demand=float(w[served].sum()), uncovered_demand=float(w[~served].sum()),
        covered=as_index_tuple(np.flatnonzero(served)), uncovered=as_index_tuple(np.flatnonzero(~served)),
        unreachable=as_index_tuple(unreachable),
        params={"p": p, "fixed": fx.tolist(), "time_limit_s": time_limit_s},
    )


def _cover_all_feasible(red: ReducedCover, p: int, deadline: float):
    """Can at most ``p`` free columns cover every row of ``red``?"""
    if red.a.shape[0] == 0:
        return True, np.zeros(0, dtype=np.int64)
    ok, cols, _how = cover_decision(red.a, p, deadline)
    return ok, (red.cols[cols] if ok else None)


def _cover_count_feasible(red: ReducedCover, p: int, need: int, deadline: float):
    """Can at most ``p`` free columns cover at least ``need`` rows?"""
    a = red.a
    n, k = a.shape
    if need <= 0:
        return True, np.zeros(0, dtype=np.int64)
    s = greedy_swap_mclp(a, np.ones(n), p, deadline=deadline)
    if len(s) and (np.asarray(a[:, s].sum(axis=1)).ravel() > 0).sum() >= need:
        return True, red.cols[s]
    A = sp.vstack([
        sp.hstack([a, -sp.identity(n)]),
        sp.csr_matrix(np.r_[np.zeros(k), np.ones(n)][None, :]),
        sp.csr_matrix(np.r_[np.ones(k), np.zeros(n)][None, :]),
    ], format="csr")
    lo = np.r_[np.zeros(n), need, -np.inf]
    hi = np.r_[np.full(n, np.inf), np.inf, p]
    out = solve_milp(np.zeros(k + n), A, lo, hi, np.zeros(k + n), np.ones(k + n),
                     np.r_[np.ones(k, bool), np.zeros(n, bool)],
                     time_limit_s=max(1e-3, deadline - time.perf_counter()))
    if out.x is not None and out.status in ("optimal", "feasible", "time_limit"):
        return True, red.cols[np.flatnonzero(out.x[:k] > 0.5)]
    if out.status == "infeasible":
        return False, None
    return None, None
