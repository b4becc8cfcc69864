"""Shared machinery for the coverage models (MCLP, LSCP, p-center feasibility).

Everything works on a boolean ``a[i, j] = cost[i, j] <= radius`` stored
sparse, reduced before HiGHS sees it:

* demand already covered by a fixed site, with zero weight, or coverable by
  no free candidate leaves the model;
* demand rows with identical coverage sets are merged (weights added);
* dominated candidates (coverage set contained in a no-more-expensive
  candidate's) are dropped -- Toregas et al. (1971) column reduction.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._common import dominated_columns, unique_rows
from . import exhaustive
from .exhaustive import enumerate_best, enumerate_cover, worth_enumerating
from ._deadline import Deadline
from ._highs import DEFAULT_MIP_REL_GAP, solve_milp


@dataclass
class ReducedCover:
    """Reduced coverage model: ``a`` is (groups x kept candidates)."""

    a: sp.csr_matrix
    w: np.ndarray  # weight per row group
    cols: np.ndarray  # original candidate index per column
    fixed_covered: np.ndarray  # bool per demand point
    coverable: np.ndarray  # bool per demand point (by any candidate incl. fixed)


def reduce_cover(
    a_full: sp.csr_matrix,
    w: np.ndarray,
    fixed: np.ndarray,
    *,
    col_cost: np.ndarray | None = None,
    budget: float | None = None,
    merge_rows: bool = True,
    drop_dominated: bool = True,
) -> ReducedCover:
    n, m = a_full.shape
    a_full = sp.csr_matrix(a_full)
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[fixed] = True
    free = np.flatnonzero(~is_fixed)
    if col_cost is not None and budget is not None:
        free = free[col_cost[free] <= budget + 1e-9]  # unaffordable alone
    ac = a_full.tocsc()
    fixed_cov = np.asarray(ac[:, fixed].sum(axis=1)).ravel() > 0 if len(fixed) else np.zeros(n, dtype=bool)
    coverable = np.asarray(a_full.sum(axis=1)).ravel() > 0
    sub = sp.csr_matrix(ac[:, free])
    free_cov = np.asarray(sub.sum(axis=1)).ravel() > 0
    rows = np.flatnonzero(~fixed_cov & (w > 0) & free_cov)
    sub = sub[rows]
    wr = w[rows]
    if merge_rows and len(rows):
        reps, group = unique_rows(sub)
        wg = np.bincount(group, weights=wr, minlength=len(reps))
        sub = sub[reps]
        wr = wg
    cols = free
    if len(cols):
        dom = dominated_columns(sub, None if col_cost is None else col_cost[cols]) if drop_dominated else (
            np.asarray(sub.sum(axis=0)).ravel() == 0)
        keep = ~dom
        sub = sp.csr_matrix(sub.tocsc()[:, np.flatnonzero(keep)])
        cols = cols[keep]
    return ReducedCover(sp.csr_matrix(sub), wr, cols, fixed_cov, coverable)


def greedy_swap_mclp(
    a: sp.csr_matrix,
    w: np.ndarray,
    p: int | None,
    *,
    col_cost: np.ndarray | None = None,
    budget: float | None = None,
    max_swaps: int = 5000,
    deadline: float | None = None,
) -> np.ndarray:
    """Greedy add then best-improvement swaps for max coverage (column indices of ``a``).

    Swap profit uses the same gain/loss/extra split as the p-median fast
    interchange (Resende & Werneck 2007), with "covered once" in place of the
    second-nearest distance.
    """
    n, k = a.shape
    if k == 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    at = sp.csr_matrix(a.T)
    chosen: list[int] = []
    is_open = np.zeros(k, dtype=bool)
    cnt = np.zeros(n)
    spent = 0.0
    while p is None or len(chosen) < p:
        gain = at @ (w * (cnt == 0))
        gain[is_open] = -np.inf
        if col_cost is not None:
            gain[col_cost + spent > budget + 1e-9] = -np.inf
            if p is None:
                # budget only: best covered weight per 万元 (cost 0 => take it)
                gain = np.where(gain > 0, gain / np.maximum(col_cost, 1e-9), gain)
        j = int(np.argmax(gain))
        if not gain[j] > 1e-12:
            break
        chosen.append(j)
        is_open[j] = True
        spent += 0.0 if col_cost is None else float(col_cost[j])
        cnt += a[:, j].toarray().ravel()
    s = np.asarray(chosen, dtype=np.int64)
    ac = a.tocsc()
    for _ in range(max_swaps):
        if len(s) == 0 or (deadline is not None and time.perf_counter() > deadline):
            break
        once = w * (cnt == 1)
        gain = at @ (w * (cnt == 0))
        a_s = ac[:, s]
        loss = a_s.T @ once
        extra = (a_s.T @ sp.diags(once) @ a).toarray()
        profit = gain[None, :] - loss[:, None] + extra
        profit[:, is_open] = -np.inf
        if col_cost is not None:
            delta = col_cost[None, :] - col_cost[s][:, None]
            profit[delta > budget - spent + 1e-9] = -np.inf
        r, j = np.unravel_index(int(np.argmax(profit)), profit.shape)
        if not profit[r, j] > 1e-9 * max(1.0, float(w.sum())):
            break
        old = int(s[r])
        cnt += ac[:, j].toarray().ravel() - ac[:, old].toarray().ravel()
        is_open[old], is_open[j] = False, True
        if col_cost is not None:
            spent += float(col_cost[j] - col_cost[old])
        s[r] = j
    return np.sort(s)


@dataclass
class CoverOutcome:
    cols: np.ndarray  # chosen columns of the reduced model
    objective: float  # covered weight within the reduced model
    bound: float
    status: str
    method: str


def solve_reduced_mclp(
    red: ReducedCover,
    p: int | None,
    *,
    col_cost: np.ndarray | None,
    budget: float | None,
    time_limit_s: float,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    use_milp: bool = True,
    start_cols: np.ndarray | None = None,
    deadline: Deadline | None = None,
) -> CoverOutcome:
    """Church & ReVelle (1974) MCLP on the reduced model, warm-started by greedy+swap.

    ``start_cols`` (columns of ``red.a``), e.g. the optimum for ``p - 1``
    plus its best addition, replaces the greedy start when it covers more.
    ``deadline``: the whole call's (HiGHS is not started when it could not
    be set up in time, see :func:`.solve_milp`).
    """
    t0 = time.perf_counter()
    a, w = red.a, red.w
    n, k = a.shape
    cc = None if col_cost is None else col_cost[red.cols]
    total = float(w.sum())
    enum = enumerate_reduced_mclp(red, p, col_cost=cc, budget=budget,
                                  deadline=t0 + time_limit_s) if use_milp else None
    if enum is not None:
        return CoverOutcome(enum.sites, enum.value, enum.value, "optimal", "enumeration")
    heur = greedy_swap_mclp(a, w, p, col_cost=cc, budget=budget, deadline=t0 + time_limit_s / 2)

    def covered(cols):
        if len(cols) == 0:
            return 0.0
        return float(w[np.asarray(a[:, cols].sum(axis=1)).ravel() > 0].sum())

    h_obj = covered(heur)
    if start_cols is not None and len(start_cols) and (p is None or len(start_cols) <= p):
        sc_ok = cc is None or float(cc[start_cols].sum()) <= budget + 1e-9
        if sc_ok and covered(start_cols) > h_obj:
            heur, h_obj = np.sort(np.asarray(start_cols, dtype=np.int64)), covered(start_cols)
    if k == 0 or n == 0 or h_obj >= total - 1e-9 * max(1.0, total):
        return CoverOutcome(heur, h_obj, h_obj, "optimal", "greedy+interchange")
    if not use_milp:
        # Cheap bound: p best columns' weights (or everything).
        col_w = np.sort(np.asarray(a.T @ w).ravel())[::-1]
        ub = min(total, float(col_w[: p if p is not None else k].sum()))
        return CoverOutcome(heur, h_obj, ub, "feasible", "greedy+interchange")
    # columns: y (k, binary), z (n, continuous in [0,1]); rows: a y - z >= 0
    A = sp.hstack([a, -sp.identity(n, format="csr")], format="csr")
    lo = [np.zeros(n)]
    hi = [np.full(n, np.inf)]
    extra = []
    if p is not None:
        extra.append(sp.csr_matrix(np.r_[np.ones(k), np.zeros(n)][None, :]))
        lo.append([-np.inf])
        hi.append([p])
    if cc is not None:
        extra.append(sp.csr_matrix(np.r_[cc, np.zeros(n)][None, :]))
        lo.append([-np.inf])
        hi.append([budget])
    A = sp.vstack([A] + extra, format="csr")
    c = np.r_[np.zeros(k), w]
    integer = np.r_[np.ones(k, dtype=bool), np.zeros(n, dtype=bool)]
    start = np.zeros(k + n)
    start[heur] = 1.0
    start[k:] = (np.asarray(a[:, heur].sum(axis=1)).ravel() > 0).astype(float) if len(heur) else 0.0
    out = solve_milp(
        c, A, np.concatenate(lo), np.concatenate(hi), np.zeros(k + n), np.ones(k + n), integer,
        maximize=True, time_limit_s=max(1e-3, time_limit_s - (time.perf_counter() - t0)), start=start,
        mip_rel_gap=mip_rel_gap, deadline=deadline,
    )
    best, best_obj = heur, h_obj
    if out.x is not None:
        cols = np.flatnonzero(out.x[:k] > 0.5)
        v = covered(cols)
        if v >= best_obj - 1e-9:
            best, best_obj = cols, v
    bound = out.bound if math.isfinite(out.bound) else total
    bound = min(max(bound, best_obj), total)
    status = {"optimal": "optimal", "time_limit": "time_limit"}.get(out.status, "feasible")
    return CoverOutcome(best, best_obj, bound, status, "highs-milp")


def enumerate_reduced_mclp(red: ReducedCover, p: int | None, *, col_cost: np.ndarray | None,
                           budget: float | None, deadline: float | None = None):
    """Exact MCLP by enumeration (:mod:`.exhaustive`) when the layouts are few, else None.

    ``col_cost`` is per column of ``red.a``.  Returns an ``Enumerated`` whose
    ``sites`` are column indices of ``red.a`` and ``value`` the weight covered.
    """
    a, w = red.a, red.w
    n, k = a.shape
    if p is None or n == 0 or k == 0:
        return None
    p_eff = min(int(p), k)
    if p_eff <= 0:
        return None
    if p_eff <= 2 and k * k <= 16_000_000 and exhaustive.ENABLED:
        return enumerate_cover(a, w, p_eff, site_cost=col_cost, budget=budget)
    if not worth_enumerating(n, k, p_eff, at_most=col_cost is not None):
        return None
    # 0 = covered, 1 = not: a layout covers a row when the row's minimum is 0.
    miss = 1.0 - a.toarray()

    def score(D):
        return w @ (D < 0.5)

    return enumerate_best(miss, np.arange(k), np.zeros(0, dtype=np.int64), p_eff, score, minimize=False,
                          site_cost=col_cost, budget=budget, at_most=col_cost is not None, deadline=deadline)


def packing_bound(a: sp.csr_matrix, col_cost: np.ndarray) -> float:
    """Lower bound on a set cover's cost from rows whose covering columns are pairwise disjoint.

    Each such row needs a column of its own, costing at least its cheapest
    one (the packing bound of set covering, Daskin 1995 ch. 4; the same
    bound settles p-center radii in :mod:`._pcenter_exact`).  Rows are taken
    greedily, fewest covering columns first; O(non-zeros).
    """
    a = sp.csr_matrix(a)
    n, k = a.shape
    if n == 0:
        return 0.0
    used = np.zeros(k, dtype=bool)
    counts = np.diff(a.indptr)
    total = 0.0
    for i in np.argsort(counts, kind="stable"):
        cols = a.indices[a.indptr[i]:a.indptr[i + 1]]
        if len(cols) == 0 or used[cols].any():
            continue
        used[cols] = True
        total += float(np.min(col_cost[cols]))
    return total


def greedy_set_cover(a: sp.csr_matrix, col_cost: np.ndarray) -> np.ndarray:
    """Chvatal's greedy for weighted set cover, then drop redundant columns (rows all coverable)."""
    n, k = a.shape
    at = sp.csr_matrix(a.T)
    ac = a.tocsc()
    unc = np.ones(n, dtype=bool)
    chosen: list[int] = []
    while unc.any():
        cnt = at @ unc.astype(float)
        score = np.where(cnt > 0, np.maximum(col_cost, 1e-9) / np.maximum(cnt, 1e-12), np.inf)
        j = int(np.argmin(score))
        if not math.isfinite(score[j]):
            break
        chosen.append(j)
        unc &= ac[:, j].toarray().ravel() == 0
    s = list(chosen)
    # redundancy elimination, most expensive first
    for j in sorted(chosen, key=lambda c: -col_cost[c]):
        rest = [c for c in s if c != j]
        if rest and (np.asarray(ac[:, rest].sum(axis=1)).ravel() > 0).all():
            s = rest
    return np.sort(np.asarray(s, dtype=np.int64))


def solve_reduced_lscp(
    red: ReducedCover,
    *,
    col_cost: np.ndarray | None,
    time_limit_s: float,
    max_sites: int | None = None,
    feasibility_only: bool = False,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    deadline: Deadline | None = None,
) -> CoverOutcome:
    """Toregas et al. (1971) set covering on the reduced model.

    With ``max_sites`` and ``feasibility_only`` it answers "can at most
    ``max_sites`` columns cover every row?" (p-center's inner question):
    ``status`` is "optimal" with a cover, "infeasible" when proven impossible,
    "time_limit" when undecided.
    """
    t0 = time.perf_counter()
    a = red.a
    n, k = a.shape
    cc = np.ones(k) if col_cost is None else col_cost[red.cols]
    if n == 0:
        return CoverOutcome(np.zeros(0, dtype=np.int64), 0.0, 0.0, "optimal", "trivial")
    heur = greedy_set_cover(a, cc)
    h_obj = float(cc[heur].sum())
    if feasibility_only and max_sites is not None and len(heur) <= max_sites:
        return CoverOutcome(heur, h_obj, -math.inf, "optimal", "greedy")
    A = a
    lo, hi = np.ones(n), np.full(n, np.inf)
    if max_sites is not None:
        A = sp.vstack([a, sp.csr_matrix(np.ones((1, k)))], format="csr")
        lo, hi = np.r_[lo, -np.inf], np.r_[hi, max_sites]
    c = np.zeros(k) if feasibility_only else cc
    start = None
    if max_sites is None or len(heur) <= max_sites:
        start = np.zeros(k)
        start[heur] = 1.0
    out = solve_milp(
        c, A, lo, hi, np.zeros(k), np.ones(k), np.ones(k, dtype=bool),
        time_limit_s=max(1e-3, time_limit_s - (time.perf_counter() - t0)), start=start, mip_rel_gap=mip_rel_gap,
        deadline=deadline,
    )
    if out.status == "infeasible":
        return CoverOutcome(np.zeros(0, dtype=np.int64), math.inf, math.inf, "infeasible", "highs-milp")
    best, best_obj = (heur, h_obj) if start is not None else (None, math.inf)
    if out.x is not None:
        cols = np.flatnonzero(out.x > 0.5)
        v = float(cc[cols].sum())
        if v <= best_obj + 1e-9:
            best, best_obj = cols, v
    if best is None:
        return CoverOutcome(np.zeros(0, dtype=np.int64), math.inf, -math.inf, "time_limit", "highs-milp")
    if feasibility_only:
        return CoverOutcome(best, best_obj, -math.inf, "optimal", "highs-milp")
    # The packing bound holds too (and is all there is when HiGHS had no time); cheap.
    bound = packing_bound(a, cc)
    if math.isfinite(out.bound):
        bound = max(bound, out.bound)
    bound = min(bound, best_obj)
    status = {"optimal": "optimal", "time_limit": "time_limit"}.get(out.status, "feasible")
    return CoverOutcome(best, best_obj, bound, status, "highs-milp")


def solve_reduced_partial_cover(
    red: ReducedCover,
    need: float,
    *,
    col_cost: np.ndarray | None,
    time_limit_s: float,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    deadline: Deadline | None = None,
) -> CoverOutcome:
    """Fewest (or cheapest) columns covering at least ``need`` weight of ``red``: partial set covering.

    ``min sum_j c_j y_j`` s.t. ``z_i <= sum_{j in N_i} y_j``, ``sum_i w_i z_i >= need``,
    ``y`` binary, ``z`` in [0, 1] -- the LSCP with a coverage target (ReVelle,
    Toregas & Falkson 1976; Daskin 1995, ch. 4, "partial covering"),
    warm-started by the greedy that adds the column with the most new weight
    per unit cost until ``need`` is met.  ``status`` "infeasible" when even
    every column falls short.
    """
    a, w = red.a, red.w
    n, k = a.shape
    cc = np.ones(k) if col_cost is None else col_cost[red.cols]
    tol = 1e-9 * max(1.0, float(w.sum()))
    if need <= tol:
        return CoverOutcome(np.zeros(0, dtype=np.int64), 0.0, 0.0, "optimal", "trivial")
    if float(w.sum()) < need - tol:
        return CoverOutcome(np.zeros(0, dtype=np.int64), math.inf, math.inf, "infeasible", "trivial")
    at = sp.csr_matrix(a.T)
    ac = a.tocsc()
    unc = np.ones(n, dtype=bool)
    got = 0.0
    chosen: list[int] = []
    while got < need - tol:
        gain = at @ (w * unc)
        ratio = np.where(gain > 0, gain / np.maximum(cc, 1e-9), -np.inf)
        j = int(np.argmax(ratio))
        if not np.isfinite(ratio[j]):
            break
        chosen.append(j)
        got += float(gain[j])
        unc &= ac[:, j].toarray().ravel() == 0
    heur = np.sort(np.asarray(chosen, dtype=np.int64))
    h_obj = float(cc[heur].sum())
    # columns y (k), z (n); rows: a y - z >= 0; w z >= need
    A = sp.vstack([sp.hstack([a, -sp.identity(n, format="csr")]),
                   sp.csr_matrix(np.r_[np.zeros(k), w][None, :])], format="csr")
    lo = np.r_[np.zeros(n), need - tol]
    hi = np.r_[np.full(n, np.inf), np.inf]
    start = np.zeros(k + n)
    start[heur] = 1.0
    start[k:] = (np.asarray(a[:, heur].sum(axis=1)).ravel() > 0).astype(float) if len(heur) else 0.0
    out = solve_milp(np.r_[cc, np.zeros(n)], A, lo, hi, np.zeros(k + n), np.ones(k + n),
                     np.r_[np.ones(k, dtype=bool), np.zeros(n, dtype=bool)], time_limit_s=time_limit_s,
                     start=start, mip_rel_gap=mip_rel_gap, deadline=deadline)
    best, best_obj = heur, h_obj
    if out.x is not None:
        cols = np.flatnonzero(out.x[:k] > 0.5)
        cov = float(w[np.asarray(a[:, cols].sum(axis=1)).ravel() > 0].sum()) if len(cols) else 0.0
        v = float(cc[cols].sum())
        if cov >= need - tol and v <= best_obj + 1e-9:
            best, best_obj = cols, v
    # No column covers more than its own weight, so the cheapest way to ``need`` with
    # columns taken fractionally, best weight per cost first, bounds every layout (a
    # fractional knapsack; whole sites when costs are 1) -- all there is when HiGHS had
    # no time, and sometimes more than its early bound.
    col_w = np.asarray(at @ w).ravel()
    order = np.argsort(-col_w / np.maximum(cc, 1e-12), kind="stable")
    cum = np.cumsum(col_w[order])
    j = int(np.searchsorted(cum, need - tol))
    if j >= len(order):
        bound = 0.0
    else:
        before = float(cum[j - 1]) if j else 0.0
        bound = float(cc[order[:j]].sum()) + float(cc[order[j]]) * (need - before) / max(col_w[order[j]], 1e-12)
        if np.all(cc == 1.0):
            bound = float(math.ceil(bound - 1e-6))  # float noise must not round a bound up
    if math.isfinite(out.bound):
        bound = max(bound, out.bound)
    bound = min(bound, best_obj)
    status = {"optimal": "optimal", "time_limit": "time_limit"}.get(out.status, "feasible")
    return CoverOutcome(best, best_obj, bound, status, "highs-milp")
