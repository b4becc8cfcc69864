"""Maximize attendance: demand that fades with travel time (distance decay).

Facilities that farmers use less the farther they are -- a collection point,
a training centre, a clinic -- are better judged by *expected attendance*
than by "covered or not": a village at distance ``d`` from its nearest open
site sends ``w_i * f(d)`` of its demand, with ``f`` decreasing from 1 at the
door to 0 at ``cutoff_min``.  This is the "Maximize Attendance" problem type
of ArcGIS Network Analyst's location-allocation solver (Esri, *Location-
allocation analysis*, ArcGIS Pro documentation, "Maximize attendance" with
the linear, power and exponential impedance transformations), itself the
"maximum attendance" objective of Holmes, Williams & Brown (1972),
Facility location under a maximum travel restriction: an example using day
care facilities, *Geographical Analysis* 4(3), 258-266, with the decay
functions of spatial interaction (Fotheringham & O'Kelly 1989, *Spatial
Interaction Models*):

* ``linear``       ``f(d) = 1 - d / cutoff``
* ``power``        ``f(d) = min(1, d ** -beta)``  (``d`` in minutes; 1 within a minute)
* ``exponential``  ``f(d) = exp(-beta * d)``

and ``f(d) = 0`` beyond ``cutoff_min`` (and for unreachable pairs).  Each
village attends its nearest open site (``f`` decreasing makes that the best
one), so the model is a p-median on ``1 - f``; we build it as a maximisation
with the level formulation of Elloumi (2010, *Networks* 56(4)) -- for each
village the distinct positive values ``v_1 > ... > v_K`` of ``f`` and
``u_ik`` = "an open site with ``f >= v_k``":

    max  sum_i w_i sum_k (v_k - v_{k+1}) u_ik
    s.t. u_i1 <= sum_{j: f_ij = v_1} y_j
         u_ik <= u_i,k-1 + sum_{j: f_ij = v_k} y_j
         sum_j y_j <= p  (new sites),  sum_j cost_j y_j <= budget (optional),
         y binary (fixed sites y = 1), u in [0, 1]

whose LP bound equals the classic assignment formulation's with O(nm)
non-zeros.  Few layouts (p <= 2, or C(m, p) small) are enumerated instead
(:mod:`.exhaustive`); a greedy + swap layout warm-starts HiGHS.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from ._assemble import bare_site_reports
from ._common import (
    as_index_tuple,
    as_problem,
    check_p_and_budget,
    check_positive,
    check_time_limit,
    relative_gap,
    solve_time_left,
)
from ._highs import DEFAULT_MIP_REL_GAP, solve_milp
from .certify import certified
from .exhaustive import enumerate_best, worth_enumerating
from .explain import explain_by_distance
from .result import LocateResult

__all__ = ["DECAYS", "decay_factor", "solve_attendance"]

DECAYS = ("linear", "power", "exponential")
#: Default ``beta`` per decay: power 1 (half the demand at 2 minutes, a tenth at 10);
#: exponential 0.05 per minute (half the demand at about 14 minutes).
DEFAULT_BETA = {"linear": None, "power": 1.0, "exponential": 0.05}


def decay_factor(minutes, *, decay: str = "linear", cutoff_min: float, beta: float | None = None) -> np.ndarray:
    """Share of demand that attends a site ``minutes`` away (0 beyond ``cutoff_min`` or unreachable).

    Parameters
    ----------
    minutes : array_like
        Travel minutes (``inf`` unreachable).
    decay : {"linear", "power", "exponential"}
        See the module docstring.
    cutoff_min : float
        No attendance beyond this many minutes.
    beta : float, optional
        Decay parameter (power exponent, or per-minute exponential rate);
        defaults in :data:`DEFAULT_BETA`.

    Returns
    -------
    ndarray
        Values in [0, 1], same shape as ``minutes``.
    """
    d = np.asarray(minutes, dtype=np.float64)
    if decay not in DECAYS:
        msg = f"decay must be one of {', '.join(DECAYS)}, got {decay!r}"
        raise ValueError(msg)
    b = DEFAULT_BETA[decay] if beta is None else float(beta)
    inside = np.isfinite(d) & (d <= cutoff_min + 1e-9)
    dd = np.where(inside, d, 0.0)
    if decay == "linear":
        f = 1.0 - dd / cutoff_min
    elif decay == "power":
        with np.errstate(divide="ignore"):
            f = np.minimum(1.0, np.where(dd > 0, dd, 1e-300) ** -b)
    else:
        f = np.exp(-b * dd)
    return np.where(inside, np.clip(f, 0.0, 1.0), 0.0)


def _greedy_swap(F: np.ndarray, w: np.ndarray, free: np.ndarray, fixed: np.ndarray, p: int, sc, budget,
                 deadline: float) -> np.ndarray:
    """Greedy add then best-improvement swaps on attendance ``w @ max_S F``."""
    n = F.shape[0]
    cur = np.max(F[:, fixed], axis=1) if len(fixed) else np.zeros(n)
    chosen: list[int] = []
    spent = 0.0
    avail = free.copy()
    for _ in range(p):
        if len(avail) == 0:
            break
        vals = w @ np.maximum(cur[:, None], F[:, avail])
        if sc is not None:
            vals = np.where(spent + sc[avail] <= budget + 1e-9, vals, -np.inf)
        k = int(np.argmax(vals))
        if not np.isfinite(vals[k]):
            break
        j = int(avail[k])
        chosen.append(j)
        spent += 0.0 if sc is None else float(sc[j])
        cur = np.maximum(cur, F[:, j])
        avail = np.delete(avail, k)
    s = np.asarray(chosen, dtype=np.int64)
    value = float(w @ cur)
    improved = True
    while improved and len(s) and time.perf_counter() < deadline:
        improved = False
        for r in range(len(s)):
            rest = np.r_[fixed, np.delete(s, r)].astype(np.int64)
            base = np.max(F[:, rest], axis=1) if len(rest) else np.zeros(n)
            cand = np.setdiff1d(free, s)
            if len(cand) == 0:
                break
            vals = w @ np.maximum(base[:, None], F[:, cand])
            if sc is not None:
                vals = np.where(spent - sc[s[r]] + sc[cand] <= budget + 1e-9, vals, -np.inf)
            k = int(np.argmax(vals))
            if vals[k] > value + 1e-9 * max(1.0, value):
                if sc is not None:
                    spent += float(sc[cand[k]] - sc[s[r]])
                s[r] = cand[k]
                value = float(vals[k])
                improved = True
    return np.sort(s)


def _build(F: np.ndarray, w: np.ndarray, free: np.ndarray, fixed: np.ndarray):
    """Level formulation over ``free`` columns (fixed sites enter as an initial level per row)."""
    n = F.shape[0]
    mf = len(free)
    col_of = {int(j): k for k, j in enumerate(free)}
    base = np.max(F[:, fixed], axis=1) if len(fixed) else np.zeros(n)
    rows, cols, vals = [], [], []
    obj = []
    row_lo = []
    u_rows = []  # (i, level value) per u column
    nrow = 0
    offset = float(w @ base)
    for i in range(n):
        if w[i] <= 0:
            continue
        fi = F[i, free]
        sel = np.flatnonzero(fi > base[i] + 1e-12)
        if len(sel) == 0:
            continue
        levels = np.unique(fi[sel])[::-1]  # descending, all above the fixed level
        nxt = np.r_[levels[1:], base[i]]
        prev_u = None
        for k, v in enumerate(levels):
            ucol = mf + len(obj)
            obj.append(w[i] * (v - nxt[k]))
            u_rows.append((i, v))
            # u_ik - u_i,k-1 - sum_{j at level v} y_j <= 0
            at = sel[np.abs(fi[sel] - v) <= 1e-12]
            rows += [nrow] * (1 + len(at))
            cols += [ucol] + [col_of[int(free[j])] for j in at]
            vals += [1.0] + [-1.0] * len(at)
            if prev_u is not None:
                rows.append(nrow)
                cols.append(prev_u)
                vals.append(-1.0)
            prev_u = ucol
            row_lo.append(nrow)
            nrow += 1
    n_col = mf + len(obj)
    A = sp.csr_matrix((vals, (rows, cols)), shape=(nrow, n_col))
    c = np.r_[np.zeros(mf), np.asarray(obj, dtype=np.float64)]
    return c, A, offset, u_rows


@certified("attendance")
def solve_attendance(
    cost,
    weights=None,
    *,
    p: int | None = None,
    cutoff_min: float,
    decay: str = "linear",
    beta: float | None = None,
    fixed: Iterable[int] = (),
    site_cost_wan=None,
    budget_wan: float | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    candidate_cost=None,
    explain: bool = True,
) -> LocateResult:
    """Open at most ``p`` NEW sites maximising expected attendance under distance decay.

    Parameters
    ----------
    cost : array_like, shape (n, m)
        Travel minutes demand -> candidate, ``np.inf`` unreachable.
    weights : array_like, shape (n,), optional
        Demand (people, tonnes...), default 1.
    p : int or None
        New sites (None only with a budget).
    cutoff_min : float
        Nobody travels farther than this (minutes).
    decay : {"linear", "power", "exponential"}
        Decay of attendance with minutes (:func:`decay_factor`).
    beta : float, optional
        Decay parameter for "power" / "exponential".
    fixed, site_cost_wan, budget_wan, time_limit_s, mip_rel_gap, candidate_cost, explain
        As in :func:`planner.locate.solve_mclp`.

    Returns
    -------
    LocateResult
        ``objective`` = expected attendance ``sum_i w_i f(d_i)`` (demand
        units); ``covered`` = demand points within ``cutoff_min`` of an open
        site (weight > 0); ``unreachable`` = points with no candidate within
        the cutoff.

    Raises
    ------
    ValueError
        Bad shapes or values, unknown decay, ``p`` larger than the free
        candidates.
    """
    t0 = time.perf_counter()
    c, w, fx = as_problem(cost, weights, fixed)
    n, m = c.shape
    cutoff = check_positive(cutoff_min, "cutoff_min", allow_zero=False)
    time_limit_s = check_time_limit(time_limit_s)
    p, sc, budget = check_p_and_budget(p, site_cost_wan, budget_wan, m, len(fx))
    if beta is not None:
        check_positive(beta, "beta", allow_zero=False)
    F = decay_factor(c, decay=decay, cutoff_min=cutoff, beta=beta)
    deadline = t0 + time_limit_s
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[fx] = True
    free = np.flatnonzero(~is_fixed & (F[w > 0].sum(axis=0) > 0 if (w > 0).any() else False))
    if sc is not None:
        free = free[sc[free] <= budget + 1e-9]
    p_eff = len(free) if p is None else min(p, len(free))
    rows = np.flatnonzero(w > 0)

    def value(sites) -> float:
        open_ = np.r_[fx, np.asarray(sites, dtype=np.int64)].astype(np.int64)
        if len(open_) == 0:
            return 0.0
        return float(w @ np.max(F[:, open_], axis=1))

    method = "highs-milp"
    enum = None
    if p is not None and len(rows) and len(free) and worth_enumerating(len(rows), len(free), p_eff,
                                                                         at_most=sc is not None):
        G = 1.0 - F[rows]
        wr = w[rows]

        def score(D):
            return wr @ (1.0 - np.minimum(D, 1.0))

        enum = enumerate_best(G, free, fx, p_eff, score, minimize=False, site_cost=sc, budget=budget,
                              at_most=sc is not None, deadline=deadline)
    if len(rows) == 0 or len(free) == 0 or p_eff == 0:
        best, obj, bound, status, method = np.zeros(0, dtype=np.int64), value(()), value(()), "optimal", "trivial"
    elif enum is not None:
        best = enum.sites
        obj = bound = value(best)
        status, method = "optimal", "enumeration"
    else:
        heur = _greedy_swap(F, w, free, fx, p_eff, sc, budget, t0 + 0.3 * time_limit_s)
        best, obj = heur, value(heur)
        cvec, A, offset, u_rows = _build(F, w, free, fx)
        mf = len(free)
        extra, lo, hi = [], [], []
        if p is not None:
            extra.append(sp.csr_matrix(np.r_[np.ones(mf), np.zeros(len(cvec) - mf)][None, :]))
            lo.append(-np.inf)
            hi.append(p)
        if sc is not None:
            extra.append(sp.csr_matrix(np.r_[sc[free], np.zeros(len(cvec) - mf)][None, :]))
            lo.append(-np.inf)
            hi.append(budget)
        A_all = sp.vstack([A] + extra, format="csr")
        row_lo = np.r_[np.full(A.shape[0], -np.inf), lo]
        row_hi = np.r_[np.zeros(A.shape[0]), hi]
        integer = np.r_[np.ones(mf, dtype=bool), np.zeros(len(cvec) - mf, dtype=bool)]
        start = np.zeros(len(cvec))
        start[np.searchsorted(free, heur)] = 1.0
        open_ = np.r_[fx, heur].astype(np.int64)
        best_f = np.max(F[:, open_], axis=1) if len(open_) else np.zeros(n)
        for t, (i, v) in enumerate(u_rows):
            start[mf + t] = 1.0 if best_f[i] >= v - 1e-12 else 0.0
        out = solve_milp(cvec, A_all, row_lo, row_hi, np.zeros(len(cvec)), np.ones(len(cvec)), integer,
                         maximize=True, offset=offset, time_limit_s=solve_time_left(t0, time_limit_s),
                         start=start, mip_rel_gap=mip_rel_gap)
        if out.x is not None:
            cand = free[out.x[:mf] > 0.5]
            v = value(cand)
            if v >= obj - 1e-9 * max(1.0, obj):
                best, obj = np.sort(cand), v
        bound = out.bound if math.isfinite(out.bound) else float(w.sum())
        bound = max(bound, obj)
        status = {"optimal": "optimal", "time_limit": "time_limit"}.get(out.status, "feasible")
    gap = relative_gap(obj, bound)
    if status == "optimal" and gap > max(mip_rel_gap, 1e-6) * 10:
        status = "feasible"
    open_sites = np.union1d(fx, best).astype(np.int64)
    if len(open_sites):
        sub = c[:, open_sites]
        k = np.argmin(sub, axis=1)
        d = sub[np.arange(n), k]
        inside = np.isfinite(d) & (d <= cutoff + 1e-9)
        assign = np.where(inside, open_sites[k], -1)
        acost = np.where(inside, d, np.inf)
    else:
        assign, acost = np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    served = (assign >= 0) & (w > 0)
    unreachable = np.flatnonzero(~(F > 0).any(axis=1))
    if explain:
        def score(D):
            return w @ decay_factor(D, decay=decay, cutoff_min=cutoff, beta=beta)

        swap_ok = None
        if sc is not None:
            spent = float(sc[best].sum())

            def swap_ok(r, cands):
                return sc[cands] - sc[r] <= budget - spent + 1e-9

        sites = explain_by_distance(c, open_sites, fx, score, minimize=False, objective=obj, assignment=assign,
                                    weights=w, candidate_cost=candidate_cost, swap_allowed=swap_ok,
                                    deadline=deadline)
    else:
        sites = bare_site_reports(open_sites, fx, assign, w)
    return LocateResult(
        model="attendance", method=method, status=status, objective=float(obj), bound=float(bound), gap=float(gap),
        seconds=time.perf_counter() - t0, sites=sites, assignment=as_index_tuple(assign),
        assignment_cost=tuple(float(v) for v in acost), covered_demand=float(w[served].sum()),
        uncovered_demand=float(w[~served].sum()), covered=as_index_tuple(np.flatnonzero(served)),
        uncovered=as_index_tuple(np.flatnonzero(~served)), unreachable=as_index_tuple(unreachable),
        params={"p": p, "cutoff_min": cutoff, "decay": decay,
                "beta": DEFAULT_BETA[decay] if beta is None else float(beta), "fixed": fx.tolist(),
                "budget_wan": budget, "time_limit_s": time_limit_s, "mip_rel_gap": mip_rel_gap},
    )
