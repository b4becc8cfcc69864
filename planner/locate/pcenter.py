"""p-center: minimise the worst travel time to the nearest open site.

Hakimi, S. L. (1964). Optimum locations of switching centers and the
absolute centers and medians of a graph. *Operations Research* 12(3); the
vertex p-center solved as in Daskin (1995, *Network and Discrete Location*,
ch. 5): the optimum is one of the distinct travel times, and "is radius r
achievable with p sites?" is a set-covering question (Toregas et al. 1971).
We binary-search the sorted distinct times between a lower bound (every point
needs *some* site: ``max_i min_j c_ij``; and two of the ``p + 1`` farthest-first
points share a site: :func:`._pcenter_exact.packing_lower_bound`, which is what
keeps the gap below 100 % out of time when every point is also a candidate)
and the farthest-first heuristic's value.  Each question is answered by :func:`._pcenter_exact.cover_decision_rowgen`:
a packing bound ("no"), greedy and a weighted swap local search ("yes") on
all points, else row generation -- the question on a small, growing subset
of the points, whose "no" is a proof for all (Chen & Chen 2009; Contardo,
Iori & Kramer 2019, A scalable exact algorithm for the vertex p-center
problem, *Computers & OR* 103) -- settled by a depth-first search or the
covering MILP (HiGHS).  The subset is kept from radius to radius.  On
OR-Library-like graphs (n = 100-900, p = 5..n/3) every instance is proven
in at most about 1 CPU s (``bench/bench_locate.py --exact --model pcenter``).

Demand with no finite time to any candidate is ``unreachable``.  If ``p``
sites cannot reach every reachable point (disconnected road network), the
number of points served is maximised first (an MCLP at the largest finite
time) and the worst time is minimised over those.
"""
from __future__ import annotations

import math
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
from ._pcenter_exact import warm_kernels as warm_exact_kernels
from ._pcenter_exact import (
    cover_decision_rowgen,
    farthest_first,
    greedy_cover,
    packing_lower_bound,
    swap_moves_allowed,
    swap_search,
)
from .explain import explain_by_distance, nearest_assignment
from .certify import certified
from .result import LocateResult

__all__ = ["solve_pcenter"]

# Distinct travel times above which the upper bound is sought first (see solve_pcenter).
_BOUND_FIRST_LEVELS = 1000


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
    warm_exact_kernels()  # compiled code loaded before the clock starts (once per process)
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
        heur, far_pts = (farthest_first(cp, p, fx, return_points=True) if p > 0
                         else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
        levels = np.unique(finite)
        fixed_d = np.min(cr[:, fx], axis=1) if len(fx) else np.full(len(pts), np.inf)

        def cover_rows(radius: float) -> tuple[np.ndarray, np.ndarray]:
            """(points not yet within ``radius`` of a fixed site, their dense coverage by the free sites)."""
            need = fixed_d > radius + 1e-9
            a = cr <= radius + 1e-9  # bytes, not floats, are copied below
            if not need.all():
                a = a[need]
            return need, (a if len(free) == m else a[:, free])

        def cover_model(radius: float) -> tuple[ReducedCover, int]:
            """The same as a sparse model for the MCLP (lexicographic) path."""
            need, a = cover_rows(radius)
            red = ReducedCover(sp.csr_matrix(a, dtype=np.float64), np.ones(int(need.sum())), free, ~need,
                               np.ones(int(need.sum()), bool))
            return red, int((~need).sum())

        # How many points can p sites serve at all?  Normally all of them, and
        # one free site reaching every point says so without a covering question.
        _need, a_max = cover_rows(cmax)
        if a_max.shape[0] == 0:
            ok_all = True
        elif not a_max.any(axis=1).all():
            ok_all = False
        elif p >= 1 and a_max.all(axis=0).any():
            ok_all = True
        else:
            ok_all = _cover_all_feasible(a_max, free, p, deadline)[0]
        del a_max
        if ok_all is None:
            # Undecided (out of time): a start serving every point settles it.
            start_open = np.r_[fx, heur].astype(np.int64)
            ok_all = bool(len(start_open)) and bool((np.min(cp[:, start_open], axis=1) < big).all())
        if not ok_all:
            red_max, fixed_cnt = cover_model(cmax)
            out = solve_reduced_mclp(red_max, p, col_cost=None, budget=None,
                                     time_limit_s=max(1e-3, deadline - time.perf_counter()))
            target = fixed_cnt + int(round(out.objective))
            method = "lexicographic-mclp+" + method

        # Points that decided earlier radii (row generation's subset): they
        # start the next radius's subset, as Contardo, Iori & Kramer (2019) keep theirs.
        critical = np.zeros(len(pts), dtype=bool)

        def feasible(radius: float, until: float | None = None):
            """(answer, new sites) with answer True / False / None (undecided by ``until``)."""
            if target is None:
                need, a = cover_rows(radius)
                if not a.any(axis=1).all():
                    return False, None
                need_idx = np.flatnonzero(need)
                seed = np.flatnonzero(critical[need_idx])
                ok, cols, rows = _cover_all_feasible(a, free, p, deadline if until is None else until, seed)
                critical[need_idx[rows]] = True
                return ok, cols
            red, fc = cover_model(radius)
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
        if target is None and p > 0:
            # max_i min_j c_ij is 0 when every point is also a candidate: the
            # farthest-first points' pigeonhole bound keeps a gap below 100 % even
            # when the search gets no question answered (short limits).
            pack = packing_lower_bound(cp[:, free] if len(free) < m else cp, far_pts, fixed_d, p, deadline)
            if math.isfinite(pack) and pack < big:
                lb_val = max(lb_val, pack)
        lo = int(np.searchsorted(levels, lb_val - 1e-9))
        hi = int(np.searchsorted(levels, ub - 1e-9))
        hi = min(hi, len(levels) - 1)
        proven_lo = lo

        def level_of(sites) -> int:
            return min(int(np.searchsorted(levels, value(sites) - 1e-9)), len(levels) - 1)

        bound_first = target is None and p > 0 and len(levels) > _BOUND_FIRST_LEVELS
        if bound_first:
            # Upper bound first, by heuristics only (greedy + swap search, no
            # proofs), binary-searched; then the first proof asked is "no" one
            # level below it -- one hard question instead of several near the
            # optimum (the bound-first order of Calik & Tansel 2013 and
            # Contardo et al. 2019).  Only with many levels (real-valued
            # travel times): with a few dozen (OR-Library's integers) the
            # bisection's easy "no"s below seed the row generation, and the
            # failed heuristic probes cost more than they save (900/5: 0.8 -> 2 s).
            hlo, hhi = lo, hi
            while hlo < hhi and time.perf_counter() < deadline:
                mid = (hlo + hhi) // 2
                s = _cover_heuristic(*cover_rows(float(levels[mid]))[1:], free, p, deadline)
                if s is None:
                    hlo = mid + 1
                else:
                    best_sites, hhi = s, min(mid, level_of(s))
            hi = hhi
        first = bound_first
        while lo < hi:
            if time.perf_counter() > deadline:
                status = "time_limit"
                break
            if first:
                # Half the time left at most: undecided, the bisection from
                # below still proves a bound with the rest.
                first = False
                mid = hi - 1
                ok, s = feasible(float(levels[mid]), until=time.perf_counter() + (deadline - time.perf_counter()) / 2)
                if ok is None:
                    continue
            else:
                mid = (lo + hi) // 2
                ok, s = feasible(float(levels[mid]))
            if ok:
                hi = min(mid, level_of(s))
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


def _cover_heuristic(a: np.ndarray, cols: np.ndarray, p: int, deadline: float):
    """At most ``p`` sites (of ``cols``) covering every row of ``a`` by greedy or swap search; None if not found."""
    if a.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    if not a.any(axis=1).all():
        return None
    g = greedy_cover(a, a.shape[1])
    if g is not None and len(g) <= p:
        return cols[g]
    s = swap_search(a, p, None if g is None else g[:p], max_iter=swap_moves_allowed(p), deadline=deadline)
    return None if s is None else cols[s]


def _cover_all_feasible(a: np.ndarray, cols: np.ndarray, p: int, deadline: float, seed_rows=None):
    """Can at most ``p`` columns of the dense boolean ``a`` (candidates ``cols``) cover every row?

    Returns ``(answer, sites, rows)``: ``rows`` are the rows of ``a`` that
    decided it (row generation's subset, to seed the next radius).
    """
    if a.shape[0] == 0:
        return True, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    ok, sel, _how, rows = cover_decision_rowgen(a, p, deadline, seed_rows=seed_rows)
    return ok, (cols[sel] if ok else None), rows


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
