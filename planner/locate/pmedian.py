"""p-median: minimise total weighted travel time to the nearest open site.

Formulations
------------
* ReVelle, C. S. & Swain, R. W. (1970). Central facilities location.
  *Geographical Analysis* 2(1), 30-42 -- the classic ``x_ij <= y_j`` model
  (not built here: it has n*m assignment columns).
* Cornuejols, G., Nemhauser, G. L. & Wolsey, L. A. (1980) and Elloumi, S.
  (2010). A computational study of a tighter formulation for the p-median
  problem. *Networks* 56(4), 269-280 -- what we build: for every demand point
  ``i`` the sorted distinct travel times ``D_i^1 < ... < D_i^K`` and a
  continuous ``z_ik`` = "no open site within ``D_i^k``", so the cost of ``i``
  is ``D_i^1 + sum_k (D_i^{k+1} - D_i^k) z_ik`` with
  ``z_i1 + sum_{j: c_ij = D_i^1} y_j >= 1`` and
  ``z_ik + sum_{j: c_ij = D_i^k} y_j >= z_i,k-1``.  Each ``y_j`` appears once
  per demand row (O(nm) non-zeros) and the LP bound equals the classic one.
  Levels that ``p`` open sites always reach (the ``m-p+1`` nearest
  candidates) and levels beyond the nearest fixed site are cut off.
* Teitz, M. B. & Bart, P. (1968). Heuristic methods for estimating the
  generalized vertex median of a weighted graph. *Operations Research* 16(5)
  -- vertex substitution, implemented with the gain/loss/extra decomposition
  of Resende, M. G. C. & Werneck, R. F. (2007). A fast swap-based local search
  procedure for location problems. *Annals of OR* 150, 205-230, evaluating all
  swaps at once as a matrix product.
* Lagrangian relaxation of the assignment constraints (Cornuejols, Fisher &
  Nemhauser 1977) with subgradient steps gives the bound when the MILP is too
  large to build.
* Unbudgeted, everything servable (the usual case): :mod:`._pmedian_radius`
  -- compiled interchange, Lagrangian bound with reduced-cost fixing and a
  per-demand radius reduction, then the radius formulation (Elloumi 2010,
  *J. Comb. Optim.* 19; Garcia, Labbe & Marin 2011, *INFORMS J. Computing*
  23(4)) truncated at those radii, solved by HiGHS against the incumbent;
  with p <= 10 left, a Lagrangian branch-and-bound on the sites instead
  (:mod:`._pmedian_lagbb`; Beasley 1985, *EJOR* 21; Beasley 1993, *EJOR* 65).
  Budgets and unavoidable unserved demand keep the path below.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._common import (
    as_index_tuple,
    as_problem,
    check_method,
    check_p_and_budget,
    check_time_limit,
    relative_gap,
    unique_rows,
)
from ._deadline import EXPLAIN_TAIL, Deadline, milp_setup_s
from ._common import RESULT_RESERVE
from ._highs import DEFAULT_MIP_REL_GAP, solve_milp
from .exhaustive import enumerate_pmedian
from ._pmedian_radius import local_search, solve_pmedian_radius
from .explain import explain_by_distance, nearest_assignment
from .certify import certified
from .result import LocateResult, SiteReport

_NO_PRIMAL_HEURISTICS = {
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_zi_round": False,
    "mip_heuristic_run_shifting": False,
}

__all__ = ["solve_pmedian", "pmedian_greedy_interchange", "pmedian_lagrangian_bound"]


# ---------------------------------------------------------------------------
# heuristic: greedy + fast vertex substitution


def _two_nearest(cp: np.ndarray, open_cols: np.ndarray, big: float):
    """Nearest and second-nearest open column per row (``big`` when absent)."""
    n = cp.shape[0]
    if len(open_cols) == 0:
        return np.full(n, big), np.full(n, big), np.full(n, -1, dtype=np.int64)
    sub = cp[:, open_cols]
    if len(open_cols) == 1:
        return sub[:, 0].copy(), np.full(n, big), np.full(n, open_cols[0], dtype=np.int64)
    part = np.argpartition(sub, 1, axis=1)[:, :2]
    a = sub[np.arange(n), part[:, 0]]
    b = sub[np.arange(n), part[:, 1]]
    swap = b < a
    k1 = np.where(swap, part[:, 1], part[:, 0])
    d1 = np.minimum(a, b)
    d2 = np.maximum(a, b)
    return d1, d2, open_cols[k1]


def pmedian_greedy_interchange(
    cp: np.ndarray,
    w: np.ndarray,
    p: int | None,
    fixed: np.ndarray,
    *,
    big: float,
    site_cost_wan: np.ndarray | None = None,
    budget_wan: float | None = None,
    max_swaps: int = 10_000,
    deadline: float | None = None,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy construction then best-improvement swaps (Teitz & Bart / Resende & Werneck).

    Parameters
    ----------
    cp
        ``(n, m)`` finite costs (unreachable pairs replaced by ``big``).
    w
        Demand weights.
    p
        New sites to open, or None to open while the budget allows and it helps.
    fixed
        Always-open sites (never swapped out).
    big
        Cost charged when no open site serves a point.
    site_cost_wan, budget_wan
        Optional budget: total cost of new sites <= budget.
    max_swaps, deadline
        Stop after this many swaps or at ``time.perf_counter() > deadline``.
    initial
        Start the swaps from these new sites instead of the greedy ones
        (with ``p`` None, affordable sites that still help are added first).

    Returns
    -------
    numpy.ndarray
        Chosen new site indices.
    """
    n, m = cp.shape
    is_open = np.zeros(m, dtype=bool)
    is_open[fixed] = True
    spent = 0.0
    chosen: list[int] = []
    if initial is not None:
        chosen = [int(j) for j in initial]
        is_open[chosen] = True
        spent = 0.0 if site_cost_wan is None else float(site_cost_wan[chosen].sum())
    d1, _, _ = _two_nearest(cp, np.flatnonzero(is_open), big)
    # From ``initial`` only swaps, except with p=None: then add what still helps first.
    while (initial is None or p is None) and (p is None or len(chosen) < p):
        gain = np.maximum(d1[:, None] - cp, 0.0).T @ w
        gain[is_open] = -np.inf
        if site_cost_wan is not None:
            gain[site_cost_wan + spent > budget_wan + 1e-9] = -np.inf
            if p is None:
                gain[gain <= 1e-12] = -np.inf
        if deadline is not None and time.perf_counter() > deadline:
            # Out of time (each step is O(n m)): fill the remaining slots (p None: while
            # the budget allows) by this step's gains, best first.
            for j in np.argsort(-gain, kind="stable"):
                if (p is not None and len(chosen) >= p) or not np.isfinite(gain[j]):
                    break
                cj = 0.0 if site_cost_wan is None else float(site_cost_wan[j])
                if site_cost_wan is not None and spent + cj > budget_wan + 1e-9:
                    continue
                chosen.append(int(j))
                is_open[j] = True
                spent += cj
            break
        j = int(np.argmax(gain))
        if not np.isfinite(gain[j]):
            break
        chosen.append(j)
        is_open[j] = True
        spent += 0.0 if site_cost_wan is None else float(site_cost_wan[j])
        d1 = np.minimum(d1, cp[:, j])
    chosen_arr = np.asarray(chosen, dtype=np.int64)
    for _ in range(max_swaps):
        if len(chosen_arr) == 0 or (deadline is not None and time.perf_counter() > deadline):
            break
        open_cols = np.flatnonzero(is_open)
        d1, d2, c1 = _two_nearest(cp, open_cols, big)
        gain = np.maximum(d1[:, None] - cp, 0.0).T @ w  # (m,)
        pos = {int(s): k for k, s in enumerate(chosen_arr)}
        owner = np.array([pos.get(int(c), -1) for c in c1])
        sel = owner >= 0
        loss = np.bincount(owner[sel], weights=(w * (d2 - d1))[sel], minlength=len(chosen_arr))
        # extra(j, r) = sum_{i: c1_i = r} w_i [(d2_i - c_ij)^+ - (d1_i - c_ij)^+]
        rows = np.flatnonzero(sel)
        cr = cp[rows]
        mm = w[rows, None] * (np.maximum(d2[rows, None] - cr, 0.0) - np.maximum(d1[rows, None] - cr, 0.0))
        onehot = sp.csr_matrix((np.ones(len(rows)), (owner[rows], np.arange(len(rows)))), shape=(len(chosen_arr), len(rows)))
        extra = np.asarray(onehot @ mm)  # (p, m)
        profit = gain[None, :] - loss[:, None] + extra
        profit[:, is_open] = -np.inf
        if site_cost_wan is not None:
            slack = budget_wan - spent
            delta_cost = site_cost_wan[None, :] - site_cost_wan[chosen_arr][:, None]
            profit[delta_cost > slack + 1e-9] = -np.inf
        k, j = np.unravel_index(int(np.argmax(profit)), profit.shape)
        # Relative threshold: stop on float noise, not on real improvements.
        if not profit[k, j] > 1e-9 * max(1.0, float(w @ d1)):
            break
        r = int(chosen_arr[k])
        is_open[r] = False
        is_open[j] = True
        if site_cost_wan is not None:
            spent += float(site_cost_wan[j] - site_cost_wan[r])
        chosen_arr[k] = j
    return np.sort(chosen_arr)


def _budget_repair(
    cp: np.ndarray, w: np.ndarray, chosen: np.ndarray, fixed: np.ndarray, sc: np.ndarray, budget: float,
    *, max_steps: int = 100,
) -> np.ndarray | None:
    """Make an over-budget layout affordable by the cheapest swaps, or None.

    Each step makes the swap (``r`` out, ``j`` in) that costs the least extra
    travel per 万元 saved, or, when some swap alone reaches the budget, the
    best such swap.  Starting from the unconstrained p-median and repairing
    lands next to the budgeted optimum when the budget binds only a little
    (the usual case: a county funds about what the plan needs); a greedy
    built under the budget spends early and was 0.85 % off on the county.
    """
    n, m = cp.shape
    s = np.asarray(chosen, dtype=np.int64).copy()
    for _ in range(max_steps):
        spent = float(sc[s].sum())
        if spent <= budget + 1e-9:
            return np.sort(s)
        if len(s) == 0:
            return None
        base_all = np.min(cp[:, np.r_[fixed, s].astype(np.int64)], axis=1)
        cur = float(w @ base_all)
        best = None  # (key, k, j)
        for k, r in enumerate(s):
            others = np.r_[fixed, np.delete(s, k)].astype(np.int64)
            base = np.min(cp[:, others], axis=1) if len(others) else np.full(n, np.inf)
            cand = np.flatnonzero(sc < sc[r])
            cand = cand[~np.isin(cand, s) & ~np.isin(cand, fixed)]
            if len(cand) == 0:
                continue
            vals = w @ np.minimum(base[:, None], cp[:, cand])
            new_spent = spent - sc[r] + sc[cand]
            ok = new_spent <= budget + 1e-9
            if ok.any():
                i = int(np.argmin(np.where(ok, vals, np.inf)))
                key = (0, float(vals[i]))
            else:
                ratio = (vals - cur) / (sc[r] - sc[cand])
                i = int(np.argmin(ratio))
                key = (1, float(ratio[i]))
            if best is None or key < best[0]:
                best = (key, k, int(cand[i]))
        if best is None:
            return None
        s[best[1]] = best[2]
    return np.sort(s) if float(sc[s].sum()) <= budget + 1e-9 else None


def pmedian_lagrangian_bound(
    cp: np.ndarray,
    w: np.ndarray,
    p: int | None,
    fixed: np.ndarray,
    *,
    upper: float,
    iterations: int = 400,
    deadline: float | None = None,
    reduce: bool = False,
    strict_margin: float = 0.0,
    site_cost: np.ndarray | None = None,
    budget: float | None = None,
):
    """Lagrangian lower bound: relax ``sum_j x_ij = 1`` with multipliers ``lambda_i``.

    ``L(lambda) = sum_i lambda_i + sum_{j open} rho_j`` with
    ``rho_j = sum_i min(0, w_i c_ij - lambda_i)``, where the open set is the
    fixed sites plus the ``p`` most negative ``rho_j``; maximised by
    subgradient steps (Polyak step towards ``upper``) -- Cornuejols, Fisher &
    Nemhauser (1977); Fisher (1981), The Lagrangian relaxation method for
    solving integer programming problems, *Management Science* 27(1), 1-18.

    With a budget (``site_cost`` and ``budget``: ``sum_j cost_j y_j <= B``)
    the budget row is dualised too, with ``mu >= 0``:
    ``L(lambda, mu) = sum_i lambda_i + sum_{fixed} rho_j - mu B
    + min_{|S| = p} sum_{j in S} (rho_j + mu cost_j)`` (``S`` = every free
    ``j`` with a negative term when ``p`` is None).  For each ``lambda`` the
    one-dimensional concave function of ``mu`` is maximised by bisection on
    its subgradient ``cost(S) - B``; every ``mu >= 0`` gives a valid bound,
    so the bisection's precision only affects strength, never validity.
    The bound is at most the LP bound (the knapsack subproblem is not solved
    as an integer problem), which on county-sized instances is within a few
    0.01 % of the optimum -- enough for the reduced-cost tests below.

    With ``reduce=True`` also returns reduced-cost tests valid for every
    ``(lambda, mu)`` (and accumulated over the iterations): a free candidate
    whose forced opening pushes the bound above ``upper - strict_margin``
    cannot be in a strictly better solution ("out"), one whose closing does
    so must be in every such solution ("in").

    Returns
    -------
    float or (float, ndarray, ndarray)
        The bound, plus boolean masks ``out`` and ``in`` over columns.
    """
    n, m = cp.shape
    wc = w[:, None] * cp
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[fixed] = True
    free = np.flatnonzero(~is_fixed)
    fixed_cols = np.flatnonzero(is_fixed)
    with_budget = site_cost is not None and budget is not None
    if p is None and not with_budget:
        msg = "p may be None only together with a budget"
        raise ValueError(msg)
    sc_free = np.asarray(site_cost, dtype=np.float64)[free] if with_budget else np.zeros(len(free))
    # A candidate dearer than the whole budget is in no feasible layout: never picked.
    barred = np.where(sc_free > budget + 1e-9, np.inf, 0.0) if with_budget else np.zeros(len(free))
    k0 = min(p if p is not None else 0, m - 1)
    lam = np.min(wc, axis=1) if len(fixed) == 0 else np.sort(wc, axis=1)[:, k0]
    lam = lam.astype(np.float64)
    best = -math.inf
    theta = 2.0
    stall = 0
    out_mask = np.zeros(m, dtype=bool)
    in_mask = np.zeros(m, dtype=bool)
    thresh = upper - strict_margin + 1e-9 * max(1.0, abs(upper))
    mu_prev = 0.0

    def pick_for(r):
        """Free positions of the subproblem's optimal set for reduced site values ``r``."""
        if p is None:
            return np.flatnonzero(r < 0)
        if p <= 0:
            return np.zeros(0, dtype=np.int64)
        if p >= len(r):
            return np.arange(len(r))
        return np.argpartition(r, p - 1)[:p]

    def sub_value(rf, mu):
        sel = pick_for(rf + mu * sc_free + barred)
        return float((rf[sel] + mu * sc_free[sel]).sum() - mu * (budget if with_budget else 0.0)), sel

    for _ in range(iterations):
        if deadline is not None and time.perf_counter() > deadline:
            break
        red = np.minimum(wc - lam[:, None], 0.0)
        rho = red.sum(axis=0)
        rf = rho[free]
        mu = 0.0
        if with_budget:
            v0, sel0 = sub_value(rf, 0.0)
            if sc_free[sel0].sum() > budget + 1e-9:
                # Concave in mu with slope cost(S) - B: bracket the sign change, bisect.
                lo_mu, hi_mu = 0.0, max(mu_prev, 1e-9 * max(1.0, float(-rf.min()))) * 2.0
                scale = max(1.0, float(np.abs(rf).max()))
                for _b in range(80):
                    if sc_free[sub_value(rf, hi_mu)[1]].sum() <= budget + 1e-9 or hi_mu > 1e6 * scale:
                        break
                    lo_mu, hi_mu = hi_mu, hi_mu * 4.0
                for _b in range(30):
                    mid = 0.5 * (lo_mu + hi_mu)
                    if sc_free[sub_value(rf, mid)[1]].sum() > budget + 1e-9:
                        lo_mu = mid
                    else:
                        hi_mu = mid
                # The maximum lies in [lo_mu, hi_mu]: take the better end.
                mu = lo_mu if sub_value(rf, lo_mu)[0] >= sub_value(rf, hi_mu)[0] else hi_mu
                mu_prev = mu
        sub, sel = sub_value(rf, mu)
        pick = free[sel]
        value = float(lam.sum() + rho[fixed_cols].sum() + sub)
        if reduce:
            r_free = rf + mu * sc_free + barred
            in_s = np.zeros(len(free), dtype=bool)
            in_s[sel] = True
            if p is None:
                # Separable subproblem: forcing j in adds r_j >= 0, forcing it out removes r_j < 0.
                out_mask[free[~in_s & (value + r_free > thresh)]] = True
                in_mask[free[in_s & (value - r_free > thresh)]] = True
            elif in_s.any() and (~in_s).any():
                worst_in = float(r_free[in_s].max())
                best_out = float(r_free[~in_s].min())
                out_mask[free[~in_s & (value - worst_in + r_free > thresh)]] = True
                # (barred columns give inf - inf = NaN here, outside in_s anyway)
                with np.errstate(invalid="ignore"):
                    in_mask[free[in_s & (value - r_free + best_out > thresh)]] = True
        if best == -math.inf or value > best + 1e-9 * max(1.0, abs(best)):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 20:
                theta /= 2.0
                stall = 0
                if theta < 1e-4:
                    break
        open_cols = np.concatenate([fixed_cols, pick])
        g = 1.0 - (red[:, open_cols] < 0).sum(axis=1)
        norm = float(g @ g)
        if norm == 0:
            # Zero subgradient (at the best mu for this lambda): lambda is optimal.
            break
        lam = lam + theta * (upper - value) / norm * g
        if upper - best <= 1e-9 * max(1.0, abs(upper)):
            break
    if reduce:
        return best, out_mask, in_mask
    return best



#: CPU seconds per (demand, candidate) pair of :func:`_quick_lagrangian_bound` (measured 60-120 ns at
#: n = 900, p = 90 and 3: a partition and 5-10 evaluations; rounded up).
_QUICK_BOUND_S = 1.5e-7


def _quick_lagrangian_bound(cp: np.ndarray, w: np.ndarray, p: int, fixed: np.ndarray) -> float:
    """A few evaluations of the Lagrangian relaxation (see :func:`pmedian_lagrangian_bound`), O(n m) each.

    ``lambda_i`` = the ``k``-th smallest ``w_i c_ij`` for ``k`` = 1, 2, 4, ...
    up to twice the average number of candidates per open site (a point's
    multiplier near the cost of its nearest few candidates is close to the
    dual optimum; Beasley 1993); any ``lambda`` gives a valid lower bound,
    the best is returned.
    """
    n, m = cp.shape
    wc = w[:, None] * cp
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[fixed] = True
    top = min(m - 1, max(1, 2 * math.ceil(m / max(1, p + len(fixed)))))
    ks = sorted({int(k) for k in np.round(np.geomspace(1, top, 6))})
    part = np.partition(wc, ks, axis=1)
    best = float(w @ cp.min(axis=1))  # lambda = the nearest: every site open
    for k in ks:
        lam = part[:, k]
        rho = np.minimum(wc - lam[:, None], 0.0).sum(axis=0)
        rf = np.sort(rho[~is_fixed])[:p]
        best = max(best, float(lam.sum() + rho[is_fixed].sum() + rf.sum()))
    return best


# ---------------------------------------------------------------------------
# exact: Elloumi (2010) formulation


def _build_elloumi(c: np.ndarray, w: np.ndarray, free: np.ndarray, fixed: np.ndarray, p: int | None,
                   penalty: float):
    """Build the reduced Elloumi model over demand rows ``c`` (already filtered).

    A row that no open site serves costs ``penalty`` per unit weight
    (``penalty`` > every finite time in ``c``).

    Returns (obj, offset, A (csr), row_lo, z_info, u_info, w_never) where
    column ``k < len(free)`` is ``y_free[k]``; ``z_info`` = (demand row, level
    value) per z column; ``u_info`` = (column, weight) of every row's last z
    when no fixed site serves the row and the ``p`` truncation does not apply
    -- at integral ``y`` that z is 1 exactly when the row is left unserved;
    ``w_never`` = weight of the rows no column of the model can serve (their
    penalty is in ``offset``).
    """
    n = c.shape[0]
    mf = len(free)
    cap = np.min(c[:, fixed], axis=1) if len(fixed) else np.full(n, np.inf)
    cf = c[:, free]
    t = mf - p + 1 if p is not None else None
    obj_z: list[np.ndarray] = []
    zi: list[np.ndarray] = []
    zv: list[np.ndarray] = []
    rows_r: list[np.ndarray] = []
    rows_c: list[np.ndarray] = []
    rows_v: list[np.ndarray] = []
    row_lo: list[np.ndarray] = []
    u_cols: list[int] = []
    u_w: list[float] = []
    offset = 0.0
    w_never = 0.0
    n_row = 0
    n_z = 0
    for i in range(n):
        ci = cf[i]
        mask = ci < cap[i]
        cols = np.flatnonzero(mask)
        vals = ci[cols]
        order = np.argsort(vals, kind="stable")
        cols, vals = cols[order], vals[order]
        if len(vals) == 0:
            if math.isfinite(cap[i]):
                offset += w[i] * cap[i]  # served by a fixed site whatever we open
            else:
                offset += w[i] * penalty  # nothing in the model reaches it: unserved
                w_never += float(w[i])
            continue
        levels, lev_of = np.unique(vals, return_inverse=True)
        K = len(levels)
        truncated = t is not None and t <= len(vals)
        if truncated:
            kstar = int(lev_of[t - 1])  # some open site is always within levels[kstar]
            nz = kstar
            n_rows_i = kstar + 1
            nxt = levels[1:kstar + 1]
        else:
            nz = K
            n_rows_i = K
            if math.isfinite(cap[i]):
                last = cap[i]
            else:
                last = penalty
                u_cols.append(mf + n_z + K - 1)
                u_w.append(float(w[i]))
            nxt = np.append(levels[1:], last)
        offset += w[i] * levels[0]
        zcols = mf + n_z + np.arange(nz)
        obj_z.append(w[i] * (nxt - levels[:nz]))
        zi.append(np.full(nz, i))
        zv.append(levels[:nz])
        # y_j entries: row of its level
        keep = lev_of < n_rows_i
        rows_r.append(n_row + lev_of[keep])
        rows_c.append(cols[keep])
        rows_v.append(np.ones(int(keep.sum())))
        # +z_k in row k
        rows_r.append(n_row + np.arange(nz))
        rows_c.append(zcols)
        rows_v.append(np.ones(nz))
        # -z_{k-1} in row k (k >= 1)
        prev = np.arange(1, n_rows_i)
        rows_r.append(n_row + prev)
        rows_c.append(zcols[prev - 1])
        rows_v.append(-np.ones(len(prev)))
        lo = np.zeros(n_rows_i)
        lo[0] = 1.0
        row_lo.append(lo)
        n_row += n_rows_i
        n_z += nz
    cat = lambda parts, dt=np.float64: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dtype=dt)  # noqa: E731
    A = sp.csr_matrix(
        (cat(rows_v), (cat(rows_r, np.int64), cat(rows_c, np.int64))), shape=(n_row, mf + n_z)
    )
    obj = np.concatenate([np.zeros(mf), cat(obj_z)])
    return (obj, offset, A, cat(row_lo), (cat(zi, np.int64), cat(zv)),
            (np.asarray(u_cols, dtype=np.int64), np.asarray(u_w, dtype=np.float64)), w_never)


# ---------------------------------------------------------------------------
# the solve: instance, warm start, maximum service, bound, result


@dataclass
class _Instance:
    """Validated p-median data restricted to the demand rows that matter.

    ``rows`` = demand with positive weight and a finite time to some
    candidate; ``cp`` = their times with unreachable pairs at ``big`` (the
    heuristic's penalty; the exact parts use ``penalty``, see ``solve_pmedian``).
    """

    c: np.ndarray
    w: np.ndarray
    fx: np.ndarray
    free: np.ndarray
    p: int | None
    sc: np.ndarray | None
    budget: float | None
    rows: np.ndarray
    cr: np.ndarray
    wr: np.ndarray
    cmax: float
    big: float
    cp: np.ndarray

    @property
    def total(self) -> float:
        return float(self.wr.sum())

    @property
    def tol_w(self) -> float:
        """Weights closer than this are equal (float sums of the same weights)."""
        return 1e-9 * max(1.0, self.total)

    @property
    def penalty(self) -> float:
        """Minutes charged per unit of unserved weight in the exact model (its value cancels out)."""
        return self.cmax + 1.0

    def key(self, sites) -> tuple[float, float]:
        """(unserved weight, weighted minutes of the served demand) of fixed + ``sites``."""
        cols = np.concatenate([self.fx, np.asarray(sites, dtype=np.int64)])
        if len(cols) == 0:
            return self.total, 0.0
        d = np.min(self.cr[:, cols], axis=1)
        ok = np.isfinite(d)
        return float(self.wr[~ok].sum()), float(self.wr[ok] @ d[ok])

    def not_worse(self, a, b) -> bool:
        """Lexicographic ``key(a) <= key(b)`` up to float noise."""
        (ua, va), (ub, vb) = self.key(a), self.key(b)
        if ua < ub - self.tol_w:
            return True
        return ua <= ub + self.tol_w and va <= vb + 1e-9 * max(1.0, vb)

    def better(self, a, b) -> bool:
        """Lexicographic ``key(a) < key(b)`` beyond float noise."""
        return not self.not_worse(b, a)

    def penalised(self, sites) -> float:
        """Heuristic objective: minutes plus ``big`` per unserved weight."""
        cols = np.concatenate([self.fx, np.asarray(sites, dtype=np.int64)])
        if len(cols) == 0:
            return float(self.wr.sum() * self.big)
        return float(self.wr @ np.min(self.cp[:, cols], axis=1))


def _prepare(c, w, fx, p, sc, budget) -> _Instance:
    m = c.shape[1]
    rows = np.flatnonzero(np.isfinite(c).any(axis=1) & (w > 0))
    cr, wr = c[rows], w[rows]
    finite = cr[np.isfinite(cr)]
    cmax = float(finite.max()) if finite.size else 0.0
    wmin = float(wr.min()) if wr.size else 1.0
    # Heuristic penalty per unit weight left unserved: larger than any total
    # cost difference, so the search serves everything it can first.  (Exact
    # when the best layout serves all; otherwise _max_served settles it.)
    big = cmax + 1.0 + float(wr @ np.full(len(wr), cmax)) / max(wmin, 1e-12)
    cp = np.where(np.isfinite(cr), cr, big)
    free = np.setdiff1d(np.arange(m), fx)
    return _Instance(c, w, fx, free, p, sc, budget, rows, cr, wr, cmax, big, cp)


def _warm_start(inst: _Instance, deadline: float, time_limit_s: float, restarts: int) -> np.ndarray:
    """Greedy + interchange, budget repair and seeded restarts: the incumbent's new sites."""
    cp, wr, p, fx, free, sc, budget, big = (inst.cp, inst.wr, inst.p, inst.fx, inst.free, inst.sc, inst.budget,
                                           inst.big)
    # At most half the time left goes to the warm start: the bound needs the rest.
    deadline = time.perf_counter() + 0.5 * max(0.0, deadline - time.perf_counter())
    heur = pmedian_greedy_interchange(cp, wr, p, fx, big=big, site_cost_wan=sc, budget_wan=budget, deadline=deadline)
    if p is not None and sc is not None and len(heur) < p:
        # The budgeted greedy spent early and could not afford p sites: start
        # from the p cheapest (affordable, checked by the caller) and swap from
        # there, so the incumbent -- and the reduced-cost tests using it -- is feasible.
        cheapest_p = free[np.argsort(sc[free], kind="stable")[:p]]
        heur = pmedian_greedy_interchange(cp, wr, p, fx, big=big, site_cost_wan=sc, budget_wan=budget,
                                          deadline=deadline, initial=cheapest_p)
    if not (p is not None and 0 < p < len(free)):
        return heur
    # Vertex substitution from one greedy start stalls in local optima (1.2 %
    # above optimum on the synthetic county); seeded random restarts are cheap
    # and a better incumbent makes the Lagrangian reduction far stronger.  With
    # a budget every start is first improved without it, then repaired to the
    # budget and improved by affordable swaps (see _budget_repair): a greedy
    # built under the budget spends early and was 0.85 % off on the county.
    rng = np.random.default_rng(0)

    def budgeted(sites):
        if sc is None:
            return sites
        fixed_up = _budget_repair(cp, wr, sites, fx, sc, budget)
        if fixed_up is None:
            return None
        return pmedian_greedy_interchange(cp, wr, p, fx, big=big, site_cost_wan=sc, budget_wan=budget,
                                          deadline=deadline, initial=fixed_up)

    best_v = inst.penalised(heur)
    restart_deadline = min(deadline, time.perf_counter() + 0.1 * time_limit_s)
    starts = [None] + [rng.choice(free, p, replace=False) for _ in range(restarts)]
    for init in starts if sc is not None else starts[1:]:
        if time.perf_counter() > restart_deadline:
            break
        if init is None:
            cand = pmedian_greedy_interchange(cp, wr, p, fx, big=big, deadline=restart_deadline)
        else:
            cand = pmedian_greedy_interchange(cp, wr, p, fx, big=big, deadline=restart_deadline, initial=init)
        cand = budgeted(cand)
        if cand is None:
            continue
        v = inst.penalised(cand)
        if v < best_v - 1e-9 * max(1.0, best_v):
            heur, best_v = cand, v
    return heur


@dataclass
class _Service:
    """Outcome of the first (service) level: a layout leaving ``unserved`` weight unserved."""

    sites: np.ndarray
    unserved: float
    proven: bool  # True when no allowed layout leaves less unserved


def _max_served(inst: _Instance, heur: np.ndarray, deadline: float) -> _Service:
    """Least unserved weight over every allowed layout, and a layout reaching it.

    Quick proof when the warm start leaves unserved only demand that no
    openable site (fixed, or free and affordable on its own) reaches -- the
    usual case: everything served.  Otherwise a maximal covering MILP with
    "covered" = finite time to an open site, exactly ``p`` (or any number of)
    new sites and the budget, on demand rows merged by reachability pattern;
    its layout then goes through the interchange to shorten the minutes.
    """
    u_heur = inst.key(heur)[0]
    fx, free, p, sc, budget, cr, wr = inst.fx, inst.free, inst.p, inst.sc, inst.budget, inst.cr, inst.wr
    cand = free if p != 0 else free[:0]
    if sc is not None:
        cand = cand[sc[cand] <= budget + 1e-9]
    openable = np.concatenate([fx, cand]).astype(np.int64)
    servable = np.isfinite(cr[:, openable]).any(axis=1) if len(openable) else np.zeros(len(wr), dtype=bool)
    never = float(wr[~servable].sum())
    if u_heur <= never + inst.tol_w:
        return _Service(heur, u_heur, True)
    by_fixed = np.isfinite(cr[:, fx]).any(axis=1) if len(fx) else np.zeros(len(wr), dtype=bool)
    need = np.flatnonzero(servable & ~by_fixed)
    a = sp.csr_matrix(np.isfinite(cr[np.ix_(need, cand)]).astype(np.float64))
    reps, group = unique_rows(a)
    wg = np.bincount(group, weights=wr[need], minlength=len(reps))
    a = a[reps]
    g, k = a.shape
    A = [sp.hstack([a, -sp.identity(g, format="csr")], format="csr")]
    lo, hi = [np.zeros(g)], [np.full(g, np.inf)]
    if p is not None:
        A.append(sp.csr_matrix(np.r_[np.ones(k), np.zeros(g)][None, :]))
        lo.append([p])
        hi.append([p])
    if sc is not None:
        A.append(sp.csr_matrix(np.r_[sc[cand], np.zeros(g)][None, :]))
        lo.append([-np.inf])
        hi.append([budget])
    start = np.zeros(k + g)
    start[:k] = np.isin(cand, heur)
    start[k:] = (a @ start[:k]) > 0
    out = solve_milp(
        np.r_[np.zeros(k), wg], sp.vstack(A, format="csr"), np.concatenate(lo), np.concatenate(hi),
        np.zeros(k + g), np.ones(k + g), np.r_[np.ones(k, dtype=bool), np.zeros(g, dtype=bool)],
        maximize=True, time_limit_s=max(1e-3, deadline - time.perf_counter()), start=start,
        mip_rel_gap=0.0, options={"mip_abs_gap": 0.5 * inst.tol_w}, deadline=Deadline.at_time(deadline),
    )
    best, best_u = heur, u_heur
    if out.x is not None:
        s1 = cand[out.x[:k] > 0.5]
        u1 = inst.key(s1)[0]
        if u1 < best_u - inst.tol_w:
            best, best_u = s1, u1
            polished = pmedian_greedy_interchange(inst.cp, wr, p, fx, big=inst.big, site_cost_wan=sc,
                                                  budget_wan=budget, deadline=deadline, initial=s1)
            if inst.not_worse(polished, best):
                best = polished
    least = never + float(wg.sum()) - out.bound if math.isfinite(out.bound) else -math.inf
    proven = out.status == "optimal" or best_u <= least + inst.tol_w
    return _Service(np.sort(np.asarray(best, dtype=np.int64)), inst.key(best)[0], proven)


@dataclass
class _Reduction:
    """Candidate list for the MILP after the Lagrangian reduced-cost tests."""

    free: np.ndarray
    fixed: np.ndarray  # fixed + forced
    p: int | None
    budget: float | None
    bound: float
    done: bool  # tests were run (the MILP then only holds strictly better layouts)


def _reduce(inst: _Instance, upper: float, unserved: float, deadline: float) -> _Reduction:
    """Lagrangian reduced-cost tests shrink the candidate list before the MILP is built.

    On pmed6 162 of 200 candidates go: a candidate that cannot be in any
    solution better than the incumbent is dropped, one that must be is
    opened.  With a budget the budget row is dualised as well (see
    pmedian_lagrangian_bound); without this the full Elloumi model with a
    knapsack row went to HiGHS and took > 30 s on the synthetic county.
    Only run when everything can be served (the ``big`` penalty is then
    exact); with unserved demand the MILP gets the whole list.
    """
    p, free, fx, sc, budget = inst.p, inst.free, inst.fx, inst.sc, inst.budget
    wanted = (p is not None and 0 < p < len(free)) or (p is None and sc is not None and len(free) > 0)
    if unserved > inst.tol_w or not wanted:
        return _Reduction(free, fx, p, budget, -math.inf, False)
    lb, out_mask, in_mask = pmedian_lagrangian_bound(
        inst.cp, inst.wr, p, fx, upper=upper, iterations=1000, deadline=deadline, reduce=True,
        site_cost=sc, budget=budget,
    )
    forced = np.flatnonzero(in_mask)
    m_fixed = np.union1d(fx, forced)
    m_free = free[~out_mask[free] & ~in_mask[free]]
    m_p = None if p is None else p - len(forced)
    m_budget = budget
    if sc is not None:
        # Forced sites are paid for first; what is left must fit the rest.
        m_budget = budget - float(sc[forced].sum())
        m_free = m_free[sc[m_free] <= m_budget + 1e-9]
    return _Reduction(m_free, m_fixed, m_p, m_budget, lb, True)


def _solve_exact(inst: _Instance, best: np.ndarray, unserved: float, bound: float, *, deadline: Deadline,
                 time_limit_s: float, mip_rel_gap: float):
    """Reduction, then HiGHS on the Elloumi model with the unserved weight pinned to its minimum.

    Returns (sites, bound, status, method).  The MILP charges ``penalty`` per
    unserved unit and requires ``sum_i w_i u_i`` = the least unserved weight;
    the objective offset subtracts ``penalty`` times that weight, so HiGHS's
    objective, bound and gap are in minutes of the served demand.
    """
    p, sc = inst.p, inst.sc
    ub = inst.key(best)[1]
    dl, deadline = deadline, deadline.at
    red = _reduce(inst, ub, unserved, deadline)
    bound = max(bound, red.bound)
    done = "greedy+interchange+lagrangian"
    if relative_gap(ub, bound) <= mip_rel_gap:
        return best, bound, "optimal", done  # the Lagrangian bound already meets the incumbent
    if red.done and ((sc is not None and red.budget < -1e-9) or (red.p is not None and red.p < 0)):
        # No layout containing every forced site is feasible, so none beats the incumbent.
        return best, max(bound, ub), "optimal", done
    if p is not None and (red.p == 0 or len(red.free) <= red.p):
        # At most one layout could beat the incumbent (forced sites + all
        # survivors, if that makes exactly p): compare.
        if len(red.free) == red.p or red.p == 0:
            other = np.sort(np.union1d(np.setdiff1d(red.fixed, inst.fx), red.free if red.p else red.free[:0]))
            affordable = sc is None or float(sc[other].sum()) <= inst.budget + 1e-9
            if affordable and inst.better(other, best):
                best = other
        return best, inst.key(best)[1], "optimal", done
    # The Elloumi model has at most one entry per (row, free candidate) and two per level.
    est_nnz = 3.0 * len(inst.rows) * len(red.free)
    if deadline - time.perf_counter() < max(0.01, 0.02 * time_limit_s) or not dl.affords(milp_setup_s(est_nnz)):
        # Time is up before the MILP: HiGHS does not check its limit while it
        # loads and sets up the model (2.8 s on a 1500 x 1500 model given 1 ms),
        # so do not build or start it; return the incumbent with the bound proven so far.
        return best, bound, "time_limit", "highs-milp"
    penalty = inst.penalty
    obj, offset, A, row_lo, (zi, zv), (u_cols, u_w), w_never = _build_elloumi(
        inst.cr, inst.wr, red.free, red.fixed, red.p, penalty)
    target = unserved - w_never
    tol = inst.tol_w
    if target < -tol or target > float(u_w.sum()) + tol:
        # No layout of the model leaves exactly the least unserved weight: with
        # the reduction that means none beats the incumbent.
        return (best, ub, "optimal", done) if red.done else (best, bound, "feasible", "highs-milp")
    free = red.free
    mf = len(free)
    n_col = len(obj)
    extra_rows, extra_lo, extra_hi = [], [], []
    if red.p is not None:
        extra_rows.append(sp.csr_matrix(np.concatenate([np.ones(mf), np.zeros(n_col - mf)])[None, :]))
        extra_lo.append(red.p)
        extra_hi.append(red.p)
    if sc is not None:
        extra_rows.append(sp.csr_matrix(np.concatenate([sc[free], np.zeros(n_col - mf)])[None, :]))
        extra_lo.append(-np.inf)
        extra_hi.append(red.budget)
    if len(u_cols):
        extra_rows.append(sp.csr_matrix((u_w, (np.zeros(len(u_cols), dtype=np.int64), u_cols)), shape=(1, n_col)))
        extra_lo.append(target - tol)
        extra_hi.append(target + tol)
    A_all = sp.vstack([A] + extra_rows, format="csr") if extra_rows else A
    lo = np.concatenate([row_lo, extra_lo])
    hi = np.concatenate([np.full(len(row_lo), np.inf), extra_hi])
    integer = np.zeros(n_col, dtype=bool)
    integer[:mf] = True
    # Warm start from the incumbent: y, then z_ik = [distance_i > level].
    start = np.zeros(n_col)
    start[np.flatnonzero(np.isin(free, best))] = 1.0
    if len(zi):
        open_cols = np.concatenate([inst.fx, best]).astype(np.int64)
        d = np.min(inst.cp[:, open_cols], axis=1) if len(open_cols) else np.full(len(inst.rows), inst.big)
        start[mf:] = (d[zi] > zv + 1e-9).astype(float)
    out = solve_milp(
        obj, A_all, lo, hi, np.zeros(n_col), np.ones(n_col), integer,
        offset=offset - penalty * unserved, time_limit_s=max(1e-3, deadline - time.perf_counter()), start=start,
        mip_rel_gap=mip_rel_gap, deadline=dl,
        # The interchange incumbent is nearly always optimal or within a
        # fraction of a percent: HiGHS's sub-MIP primal heuristics (RINS,
        # RENS...) then only burn time -- 2/3 of the 3 s on pmed6.
        options=_NO_PRIMAL_HEURISTICS,
    )
    if out.x is not None:
        y = out.x[:mf] > 0.5
        cand = np.union1d(free[y], np.setdiff1d(red.fixed, inst.fx))
        if inst.not_worse(cand, best):
            best = np.sort(cand)
    if out.status == "infeasible" and red.done:
        return best, inst.key(best)[1], "optimal", "highs-milp"
    if math.isfinite(out.bound):
        bound = max(bound, out.bound)
    if out.status == "optimal":
        return best, max(bound, min(out.bound, inst.key(best)[1])), "optimal", "highs-milp"
    return best, bound, "time_limit" if out.status == "time_limit" else "feasible", "highs-milp"


def _solve_heuristic(inst: _Instance, best: np.ndarray, unserved: float, bound: float, *, deadline: float,
                     mip_rel_gap: float):
    """Incumbent plus a Lagrangian bound in minutes of the served demand: (sites, bound, status, method).

    With unserved demand the relaxation charges ``P`` per unserved unit and
    ``L_P - P * unserved`` is a valid bound for every ``P >= 0`` (the
    unserved-weight constraint dualised with multiplier ``P``); ``P`` climbs
    from ``penalty`` by factors of 4 while the bound improves.
    """
    p, sc = inst.p, inst.sc
    ub = inst.key(best)[1]
    method = "greedy+interchange"
    if p is not None or sc is not None:
        method = "greedy+interchange+lagrangian"
        if unserved <= inst.tol_w:
            lb = pmedian_lagrangian_bound(inst.cp, inst.wr, p, inst.fx, upper=ub, deadline=deadline,
                                          site_cost=sc, budget=inst.budget)
        else:
            # g(P) = L_P - P * unserved is concave in P: climb geometrically
            # from ``penalty`` until it stops improving.
            lb = -math.inf
            P = inst.penalty
            for _ in range(20):
                if time.perf_counter() > deadline:
                    break
                cpP = np.where(np.isfinite(inst.cr), inst.cr, P)
                v = pmedian_lagrangian_bound(cpP, inst.wr, p, inst.fx, upper=ub + P * unserved, iterations=300,
                                             deadline=deadline, site_cost=sc, budget=inst.budget) - P * unserved
                if v <= lb + 1e-9 * max(1.0, abs(lb)):
                    break
                lb = v
                if relative_gap(ub, lb) <= mip_rel_gap:
                    break
                P *= 4.0
        bound = max(bound, lb)
    status = "optimal" if relative_gap(ub, bound) <= mip_rel_gap else "feasible"
    if time.perf_counter() > deadline and status != "optimal":
        status = "time_limit"
    return best, bound, status, method


def _result(inst: _Instance, best: np.ndarray, bound: float, status: str, method_used: str, *, t0: float,
            deadline: float, mip_rel_gap: float, explain: bool, candidate_cost, params: dict) -> LocateResult:
    """Assignment, objective (served minutes), bound/gap/status and per-site explanations."""
    c, w, fx, sc = inst.c, inst.w, inst.fx, inst.sc
    open_sites = np.sort(np.concatenate([fx, best])).astype(np.int64)
    assign, acost = nearest_assignment(c, open_sites)
    served = assign >= 0
    objective = float(w[served] @ acost[served])
    # Travel minutes are >= 0, so is any bound on them.
    bound = max(0.0, float(bound))
    if status == "optimal":
        bound = min(bound, objective)
    gap = relative_gap(objective, bound)
    if status == "optimal" and gap > max(mip_rel_gap, 1e-6) * 10:
        status = "feasible"

    if explain:
        # Scenarios are scored over the demand this layout serves (as the
        # objective); one that leaves some of it unserved scores inf.
        counted = (w > 0) & served

        def score(D):
            return np.sum(w[counted, None] * D[counted], axis=0)

        swap_ok = None
        if sc is not None:
            spent = float(sc[best].sum())

            def swap_ok(r, cands):
                return sc[cands] - sc[r] <= inst.budget - spent + 1e-9

        sites = explain_by_distance(
            c, open_sites, fx, score, minimize=True, objective=objective,
            assignment=assign, weights=w,
            candidate_cost=None if candidate_cost is None else np.asarray(candidate_cost, dtype=float),
            swap_allowed=swap_ok, deadline=deadline,
        )
    else:
        fixed_set = set(fx.tolist())
        sites = tuple(
            SiteReport(int(s), bool(s in fixed_set), int(((assign == s) & (w > 0)).sum()), float(w[assign == s].sum()),
                       math.nan, math.nan, None, None, "demand", None, None, None, "none")
            for s in open_sites
        )
    unreachable = np.flatnonzero(~np.isfinite(c).any(axis=1))
    return LocateResult(
        model="pmedian",
        method=method_used,
        status=status,
        objective=objective,
        bound=bound,
        gap=float(gap),
        seconds=time.perf_counter() - t0,
        sites=sites,
        assignment=as_index_tuple(assign),
        assignment_cost=tuple(float(v) for v in acost),
        covered_demand=float(w[served].sum()),
        uncovered_demand=float(w[~served].sum()),
        covered=as_index_tuple(np.flatnonzero(served)),
        uncovered=as_index_tuple(np.flatnonzero(~served)),
        unreachable=as_index_tuple(unreachable),
        params=params,
    )


_kernels_loaded = False


def warm_kernels() -> None:
    """Compile (first run) or load from numba's disk cache the compiled kernels of the
    p-median and attendance solvers, once per process (idempotent).

    :func:`solve_pmedian` and :func:`~planner.locate.attendance.solve_attendance` call it
    before their clock starts: loading code is paid like an import (about 0.3 s from the
    cache, 3-10 s to compile), not out of a short time limit.
    """
    global _kernels_loaded
    if _kernels_loaded:
        return
    _kernels_loaded = True  # first: the solve below calls this function too
    from .orlib import make_orlib_like_text, parse_orlib_pmed

    # OR-Library-like 100-node instances that take the compiled greedy and interchange,
    # the Lagrangian branch-and-bound (seed 0; its node ascent alone compiled for about
    # 19 CPU s inside pmed2's limit) and the radius path (p = 33): milliseconds once loaded.
    for p, seed in ((10, 0), (10, 7), (33, 1)):
        inst = parse_orlib_pmed(make_orlib_like_text(100, p, seed=seed))
        solve_pmedian(inst.cost, p=p, time_limit_s=60.0, explain=False)


@certified("pmedian")
def solve_pmedian(
    cost,
    weights=None,
    *,
    p: int | None = None,
    fixed: Iterable[int] = (),
    site_cost_wan=None,
    budget_wan: float | None = None,
    time_limit_s: float = 60.0,
    method: str = "auto",
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    milp_max_entries: int = 6_000_000,
    candidate_cost=None,
    explain: bool = True,
    restarts: int = 8,
) -> LocateResult:
    """Open ``p`` new sites minimising total weighted travel time (p-median).

    Parameters
    ----------
    cost : array_like, shape (n, m)
        Travel minutes from demand point ``i`` to candidate ``j``; ``np.inf``
        where unreachable.
    weights : array_like, shape (n,), optional
        Demand weights (people, tonnes...), >= 0.  Default 1.
    p : int or None
        Number of NEW sites (fixed sites are extra).  None (the default) only
        with a budget: then as many sites as the budget affords and help.
    fixed : iterable of int
        Existing sites, always open.
    site_cost_wan : array_like, shape (m,), optional
        Cost of opening each candidate (万元); fixed sites are not charged.
    budget_wan : float, optional
        Total cost of the new sites must not exceed this.
    time_limit_s : float
        Wall-clock limit for the whole call, explanations included: every
        stage (warm start, reductions, model build, HiGHS) stops by
        ``RESULT_RESERVE`` of the limit before it, a MILP that could not be
        set up in the time left is not started, and the answer is then the
        best layout found with the bound proven so far (status "time_limit").
    method : {"auto", "milp", "heuristic"}
        "milp": greedy+interchange warm start, Lagrangian reductions, then
        HiGHS on the (radius-truncated) Elloumi model; ``result.method`` says
        what settled it ("interchange+lagrangian" when the Lagrangian bound
        alone proves the incumbent, "radius-milp", "lagrangian-branch-and-bound",
        "highs-milp").
        "heuristic": greedy+interchange with a Lagrangian bound.
        "auto": "milp" unless the model would exceed ``milp_max_entries``.
    mip_rel_gap : float
        HiGHS optimality tolerance.
    milp_max_entries : int
        Size guard (demand rows x candidates) for "auto".
    candidate_cost : array_like, shape (m, m), optional
        Site-to-site minutes for the ``nearest_site`` explanation.
    explain : bool
        Compute per-site explanations (one swap scan per new site).
    restarts : int
        Extra seeded random starts for the interchange heuristic (capped at
        10 % of ``time_limit_s``); deterministic.

    Returns
    -------
    LocateResult
        Demand is *served* when some open site has a finite time to it.
        Demand with no finite time to any candidate is listed in
        ``unreachable``.  When no allowed layout (``p`` sites, the budget)
        can serve all the rest, the objective is lexicographic: first the
        least demand weight left unserved over every allowed layout, then
        the least weighted minutes among the layouts achieving it.  Unserved
        demand (unreachable included) is listed in ``uncovered`` and left out
        of ``objective`` = sum of ``w_i * minutes`` over served demand.
        ``bound`` is a lower bound on that objective over the layouts leaving
        the least weight unserved (so ``0 <= bound <= objective``) and ``gap``
        is always finite; "optimal" means both levels are proven.  The first
        level is settled exactly (a maximal covering MILP on demand merged by
        reachability) whenever the warm start leaves demand unserved that an
        openable site could reach; the second level's MILP pins the unserved
        weight to that minimum, so no big-M enters the bound.  If the first
        level is not proven within the time limit the status is "time_limit"
        and ``bound`` is 0.  Explanations score layouts over the demand the
        returned layout serves (``objective_without`` is ``inf`` when closing
        a site leaves some of it unserved).

    Raises
    ------
    ValueError
        Bad shapes, negative/NaN values, ``p`` larger than the free
        candidates, no ``p`` without a budget, or a budget that cannot afford
        ``p`` sites.
    """
    warm_kernels()  # compiled code loaded before the clock starts
    t0 = time.perf_counter()
    c, w, fx = as_problem(cost, weights, fixed)
    time_limit_s = check_time_limit(time_limit_s)
    # One deadline for the whole call: the solve stages stop RESULT_RESERVE of the
    # limit early, the explanations use what is left (see _deadline).
    dl = Deadline.at_time(t0 + time_limit_s)
    p, sc, budget = check_p_and_budget(p, site_cost_wan, budget_wan, c.shape[1], len(fx))
    check_method(method, ("auto", "milp", "heuristic"))
    inst = _prepare(c, w, fx, p, sc, budget)
    if sc is not None and p is not None:
        cheapest = float(np.sort(sc[inst.free])[:p].sum())
        if cheapest > budget + 1e-9:
            msg = f"budget_wan={budget} cannot pay for p={p} sites (cheapest {p} cost {cheapest:g})"
            raise ValueError(msg)
    deadline = t0 + time_limit_s * (1.0 - RESULT_RESERVE)
    solve_dl = Deadline.at_time(deadline)
    use_milp = method == "milp" or (method == "auto" and len(inst.rows) * len(inst.free) <= milp_max_entries)

    # Few layouts (p <= 2, or C(m, p) small): score them all, exact by exhaustion.
    enum = None if method == "heuristic" else enumerate_pmedian(c, w, fx, p, site_cost=sc, budget=budget,
                                                                deadline=deadline)
    if not len(inst.rows):
        best, bound, status, method_used = np.zeros(0, dtype=np.int64), 0.0, "optimal", "trivial"
    elif enum is not None:
        best, bound, status, method_used = enum.sites, enum.value, "optimal", "enumeration"
    else:
        fast = sc is None and p is not None and 0 < p < len(inst.free)
        quick_lb = None
        if p is not None and 0 < p < len(inst.free) and time_limit_s < 50 * _QUICK_BOUND_S * inst.cp.size:
            # A short limit for the size: the relaxation may get no round at all, so take a
            # few evaluations of it at chosen multipliers first -- a bound however the rest
            # goes (the budget row, if any, relaxed too; used when all demand is served).
            quick_lb = _quick_lagrangian_bound(inst.cp, inst.wr, p, inst.fx)
        if fast:
            # Compiled greedy + vertex substitution (milliseconds where the
            # numpy restarts took seconds at n = 900).
            # Half the time left at most (the greedy is chunked, see local_search): the
            # service check and the bound need the rest.
            heur = local_search(np.ascontiguousarray(inst.cp.T), inst.wr, inst.fx, None, p,
                                deadline=solve_dl.part(0.5))
        else:
            heur = _warm_start(inst, deadline, time_limit_s, restarts)
        service = _max_served(inst, heur, deadline)
        best = service.sites
        if not service.proven:
            # The least unserved weight is not known: no claim on the minutes.
            bound, status = 0.0, "time_limit"
            method_used = "highs-milp" if use_milp else "greedy+interchange"
        elif service.unserved >= inst.total - inst.tol_w:
            bound, status, method_used = 0.0, "optimal", "trivial"  # nothing can be served
        else:
            # All candidates open is a valid (weak) lower bound when everything is served.
            trivial_lb = float(inst.wr @ np.min(inst.cp, axis=1)) if service.unserved <= inst.tol_w else 0.0
            if use_milp and fast and service.unserved <= inst.tol_w:
                out = solve_pmedian_radius(inst.cp, inst.wr, p, inst.fx, best, deadline=solve_dl,
                                           mip_rel_gap=mip_rel_gap)
                best, bound, status, method_used = out.sites, max(out.bound, trivial_lb), out.status, out.method
            elif use_milp:
                best, bound, status, method_used = _solve_exact(
                    inst, best, service.unserved, trivial_lb, deadline=solve_dl, time_limit_s=time_limit_s,
                    mip_rel_gap=mip_rel_gap)
            else:
                best, bound, status, method_used = _solve_heuristic(
                    inst, best, service.unserved, trivial_lb, deadline=deadline, mip_rel_gap=mip_rel_gap)
            if status != "optimal" and quick_lb is not None and service.unserved <= inst.tol_w:
                bound = max(bound, quick_lb)

    params = {"p": p, "fixed": fx.tolist(), "budget_wan": budget, "time_limit_s": time_limit_s, "method": method}
    return _result(inst, np.asarray(best, dtype=np.int64), bound, status, method_used, t0=t0,
                   deadline=dl.at - EXPLAIN_TAIL * time_limit_s,
                   mip_rel_gap=mip_rel_gap, explain=explain, candidate_cost=candidate_cost, params=params)
