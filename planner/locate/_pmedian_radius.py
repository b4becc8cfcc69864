"""Exact p-median by Lagrangian reductions and a radius-truncated covering MILP.

The unbudgeted p-median with every demand point served (the usual case) goes
through here; budgets and unavoidable unserved demand keep the general path
of :mod:`planner.locate.pmedian`.

1. Incumbent: greedy then best-improvement vertex substitution (Teitz & Bart
   1968) with the Resende & Werneck (2007) profit decomposition, from the
   greedy start and from the Lagrangian subproblem's sites
   (Beasley 1993, Lagrangean heuristics for location problems, *EJOR* 65).
2. Lower bound: the assignment rows ``sum_j x_ij = 1`` relaxed with
   multipliers ``lambda_i`` (Cornuejols, Fisher & Nemhauser 1977; Beasley
   1993), maximised by subgradient steps; each evaluation walks every row's
   candidates in ascending cost only as far as ``lambda_i``, so an iteration
   costs what the relaxation touches, not ``n * m``.
3. Reductions valid for every layout strictly better than the incumbent:
   candidates closed or opened by the reduced-cost tests on the relaxation,
   and -- the radius reduction -- for every demand point ``i`` a radius
   ``R_i`` such that closing every candidate within ``R_i`` pushes the
   Lagrangian bound above the incumbent, so some site within ``R_i`` is
   open.  This is the reduction of the radius (covering) formulation:
   Elloumi, S. (2010). A tighter formulation of the p-median problem.
   *J. Comb. Optim.* 19, 69-83; Garcia, S., Labbe, M. & Marin, A. (2011).
   Solving large p-median problems with a radius formulation. *INFORMS J.
   Computing* 23(4), 546-556 (who cut each client's distance list at an
   upper radius in the same spirit).
4. The radius formulation over the reduced data -- per demand point, the
   distinct costs ``D_i^1 < ... < D_i^K`` up to ``R_i`` with
   ``z_ik`` = "no open site within ``D_i^k``" -- solved by HiGHS with the
   incumbent as cutoff: either it finds a strictly better layout (then
   optimal) or proves there is none.  Each ``y_j`` appears once per demand
   point whose radius reaches it, so the model shrinks from ``n * m``
   non-zeros to a few per demand point when ``p`` is large.
5. For small ``p`` (at most ``branch_max_p`` sites left after the
   reductions) step 4 is replaced by a Lagrangian branch-and-bound on the
   sites (:mod:`._pmedian_lagbb`, Beasley 1985/1993): there the LP bound is
   0.2-1.5 % below the optimum and the model dense, and HiGHS ran out of
   time on n = 400-900, p = 5/10 random instances that the tree proves in
   1-5 CPU s.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _pmedian_kernels as K
from ._deadline import GREEDY_CHUNK_S, Deadline, greedy_add_s, lagrangian_setup_s, milp_setup_s, swaps_affordable
from ._highs import solve_milp
from ._pmedian_lagbb import lagrangian_branch_and_bound

__all__ = ["RadiusOutcome", "local_search", "solve_pmedian_radius"]

# The incumbent is passed as a start, so HiGHS's primal heuristics only burn time;
# its presolve spent 2/3 of the MILP time on pmed6 (4.3 -> 1.5 CPU s without,
# same single node): the reductions above already did the useful part.
_MILP_OPTIONS = {
    "presolve": "off",
    "mip_heuristic_effort": 0.0,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_zi_round": False,
    "mip_heuristic_run_shifting": False,
}


def local_search(cpt: np.ndarray, w: np.ndarray, fixed: np.ndarray, start: np.ndarray | None, p: int,
                 *, max_swaps: int = 100_000, deadline: Deadline | None = None) -> np.ndarray:
    """Greedy completion of ``start`` to ``p`` new sites, then vertex substitution: sorted new sites.

    ``cpt`` is the transposed ``(m, n)`` cost matrix (finite).  With a
    ``deadline`` the greedy runs in chunks of about ``GREEDY_CHUNK_S`` CPU s
    and, when the next chunk would not fit, adds the rest by a sampled
    (stochastic) greedy (see :func:`greedy_add_until`); the swap scans are
    then capped by the time left as well as by ``max_swaps``.
    """
    m, n = cpt.shape
    big = float(cpt.max()) * 2.0 + 1.0  # above every cost: "no open site yet"
    is_open = np.zeros(m, dtype=np.bool_)
    is_fixed = np.zeros(m, dtype=np.bool_)
    is_fixed[fixed] = True
    is_open[fixed] = True
    if start is not None and len(start):
        is_open[np.asarray(start, dtype=np.int64)[:p]] = True
    have = int(is_open.sum()) - len(fixed)
    if have < p:
        d1 = np.full(n, big)
        open_list = np.flatnonzero(is_open)
        if len(open_list):
            d1 = np.asarray(K.nearest_two(cpt, open_list, big)[0])
        if deadline is None:
            K.greedy_add(cpt, w, is_open, d1, p - have)
        else:
            greedy_add_until(cpt, w, is_open, d1, p - have, deadline)
    if p > 0:
        if deadline is not None:
            max_swaps = min(max_swaps, swaps_affordable(deadline, n, m)) if not deadline.expired() else 0
        if max_swaps > 0:
            K.swap_search(cpt, w, is_open, is_fixed, big, max_swaps, 1e-12)
    return np.flatnonzero(is_open & ~is_fixed)


def greedy_add_until(cpt: np.ndarray, w: np.ndarray, is_open: np.ndarray, d1: np.ndarray, k: int,
                     deadline: Deadline) -> str:
    """Open ``k`` more sites (in place, as :func:`K.greedy_add`) without running past ``deadline``.

    The compiled greedy cannot be interrupted (0.1 CPU s for 90 sites at
    n = m = 900), so it runs in chunks of about ``GREEDY_CHUNK_S`` CPU s with
    the clock read between them.  Once the next chunk does not fit, the
    remaining sites are added by the stochastic greedy (Mirzasoleiman et al.
    2015, "Lazier than lazy greedy", AAAI): each addition is the best of a
    seeded random sample of ``(closed / k) ln(1 / eps)`` candidates, about
    ``ln(1 / eps)`` scans in all instead of one per site, and still within
    ``1 - 1/e - eps`` of the optimum's savings in expectation (the savings
    are submodular).  Returns "greedy" or "greedy+stochastic".
    """
    m, n = cpt.shape
    per_add = greedy_add_s(n, m)
    chunk = max(1, int(GREEDY_CHUNK_S / per_add))
    scans = math.log(1.0 / _STOCHASTIC_EPS)
    while k > 0:
        step = min(chunk, k)
        if deadline.expired() or not deadline.affords(per_add * (step + scans)):
            rng = np.random.default_rng(0)
            size = max(1, int(math.ceil(int((~is_open).sum()) / k * scans)))
            for _ in range(k):
                closed = np.flatnonzero(~is_open)
                sample = closed if size >= len(closed) else rng.choice(closed, size=size, replace=False)
                gain = np.maximum(d1[None, :] - cpt[sample], 0.0) @ w
                j = int(sample[int(np.argmax(gain))])
                is_open[j] = True
                np.minimum(d1, cpt[j], out=d1)
            return "greedy+stochastic"
        K.greedy_add(cpt, w, is_open, d1, step)
        k -= step
    return "greedy"


#: Accuracy of the stochastic greedy that finishes an out-of-time warm start.
_STOCHASTIC_EPS = 0.1


@dataclass(frozen=True)
class RadiusOutcome:
    """Result of :func:`solve_pmedian_radius` (sites are new sites, sorted)."""

    sites: np.ndarray
    objective: float
    bound: float
    status: str  # "optimal" | "time_limit" | "feasible"
    method: str
    stats: dict


class _Lagrangian:
    """State of the subgradient maximisation with accumulated reductions."""

    def __init__(self, cp: np.ndarray, w: np.ndarray, p: int, fixed: np.ndarray):
        n, m = cp.shape
        self.n, self.m, self.p = n, m, p
        wc = w[:, None] * cp
        self.order = np.argsort(wc, axis=1, kind="stable").astype(np.int64)
        self.swc = np.ascontiguousarray(np.take_along_axis(wc, self.order, axis=1))
        self.fixed = np.zeros(m, dtype=np.bool_)
        self.fixed[fixed] = True
        self.forced = np.zeros(m, dtype=np.bool_)  # proven open in every better layout
        self.out = np.zeros(m, dtype=np.bool_)  # proven closed in every better layout
        self.pos = np.full(n, m, dtype=np.int64)  # radius reduction, as a count of sorted candidates
        self.rho = np.zeros(m)
        self.g = np.zeros(n)

    def evaluate(self, lam: np.ndarray):
        """(bound, chosen free columns) at ``lam`` for the reduced problem."""
        K.lagrangian_rho(self.swc, self.order, lam, self.rho)
        always = self.fixed | self.forced
        free = np.flatnonzero(~always & ~self.out)
        k = self.p - int(self.forced.sum())
        rf = self.rho[free]
        if k <= 0:
            pick = free[:0]
        elif k >= len(free):
            pick = free
        else:
            pick = free[np.argpartition(rf, k - 1)[:k]]
        value = float(lam.sum() + self.rho[always].sum() + self.rho[pick].sum())
        return value, pick, free, k

    def reduce(self, lam: np.ndarray, value: float, pick: np.ndarray, free: np.ndarray, k: int, thresh: float):
        """Reduced-cost tests at ``lam`` (accumulated; see the module docstring)."""
        if k <= 0 or k >= len(free):
            return
        in_s = np.zeros(self.m, dtype=np.bool_)
        in_s[pick] = True
        rest = free[~in_s[free]]
        r_rest = np.sort(self.rho[rest])
        worst_in = float(self.rho[pick].max())
        best_out = float(r_rest[0])
        # Opening j (outside S*) displaces the worst member; closing j (in S*) takes the best outsider.
        self.out[rest[value - worst_in + self.rho[rest] > thresh]] = True
        self.forced[pick[value - self.rho[pick] + best_out > thresh]] = True
        prefix = np.concatenate([[0.0], np.cumsum(r_rest)])
        K.radius_positions(self.swc, self.order, lam, self.rho, in_s, self.fixed | self.forced, self.out, prefix,
                           value, thresh, self.pos)


def _lagrangian_phase(lag: _Lagrangian, w: np.ndarray, cp: np.ndarray, upper: float, thresh: float,
                      deadline: float, max_iter: int, lam0: np.ndarray | None = None, theta0: float = 2.0):
    """Subgradient ascent (Polyak steps towards ``upper``, halving on stalls) with reductions.

    ``lam0``/``theta0`` resume an earlier ascent (after a better incumbent:
    its threshold makes every reduced-cost test stronger).
    """
    # Start at each row's (p+1)-th cheapest weighted cost: close to the dual optimum for p-median.
    kk = min(lag.p + int(lag.fixed.sum()), lag.m - 1)
    if lam0 is not None:
        lam = lam0.copy()
    else:
        lam = lag.swc[:, kk].copy() if kk > 0 else lag.swc[:, 0].copy()
    best, best_lam, best_pick = -math.inf, lam.copy(), None
    theta, stall, it = theta0, 0, 0
    is_open = np.zeros(lag.m, dtype=np.bool_)
    picks = []
    for it in range(max_iter):
        if time.perf_counter() > deadline:
            break
        value, pick, free, k = lag.evaluate(lam)
        if best == -math.inf or value > best + 1e-9 * max(1.0, abs(best)):
            best, best_lam, best_pick, stall = value, lam.copy(), pick, 0
            if it % 5 == 0 or theta < 0.05:
                lag.reduce(lam, value, pick, free, k, thresh)
        else:
            stall += 1
            if stall >= 30:
                theta *= 0.5
                stall = 0
                if theta < 1e-3:
                    break
        if it % 25 == 0:
            picks.append(pick)
        if best >= thresh:
            break
        is_open[:] = lag.fixed | lag.forced
        is_open[pick] = True
        K.lagrangian_subgradient(lag.swc, lag.order, lam, is_open, lag.g)
        norm = float(lag.g @ lag.g)
        if norm == 0.0:
            break
        lam = np.maximum(lam + theta * (upper - value) / norm * lag.g, 0.0)
    value, pick, free, k = lag.evaluate(best_lam)
    lag.reduce(best_lam, value, pick, free, k, thresh)
    lag.best_lam = best_lam
    return best, best_pick, picks, it + 1


def _build_radius_model(cp: np.ndarray, w: np.ndarray, free: np.ndarray, opened: np.ndarray, p: int,
                        radius: np.ndarray):
    """Radius formulation over ``free`` columns with ``opened`` always open and per-row radius.

    Returns ``(obj, offset, A, row_lo, z_rows, z_levels)``; column ``k <
    len(free)`` is ``y_free[k]``.  Row ``i`` charges ``D_i^1 + sum_k
    (D_i^{k+1} - D_i^k) z_ik`` over its free levels below ``cap_i`` (the
    nearest always-open site) and up to ``top_i = min(radius_i, t-th nearest
    free)`` with ``t = |free| - p + 1`` (``p`` open free sites always
    include one of them); the chain ends with a covering row when ``top_i <
    cap_i``, else with ``z`` priced ``cap_i - D_i^K``.
    """
    n = cp.shape[0]
    mf = len(free)
    cap = np.min(cp[:, opened], axis=1) if len(opened) else np.full(n, np.inf)
    cf = cp[:, free]
    t = mf - p + 1
    ords = np.argsort(cf, axis=1, kind="stable")
    scf = np.take_along_axis(cf, ords, axis=1)
    top = np.minimum(radius, scf[:, t - 1]) if p > 0 else np.full(n, np.inf)
    obj_z, rr, rc, rv, row_lo, zrow, zlev = [], [], [], [], [], [], []
    offset = 0.0
    n_row = n_z = 0
    for i in range(n):
        lim = min(top[i], cap[i])
        covered = top[i] < cap[i]
        cnt = int(np.searchsorted(scf[i], lim, side="right" if covered else "left"))
        vals = scf[i, :cnt]
        cols = ords[i, :cnt]
        if cnt == 0:
            offset += w[i] * cap[i]
            continue
        levels, lev_of = np.unique(vals, return_inverse=True)
        kl = len(levels)
        offset += w[i] * levels[0]
        if covered:
            nz = kl - 1
            nxt = levels[1:]
        else:
            nz = kl
            nxt = np.append(levels[1:], cap[i])
        zcols = mf + n_z + np.arange(nz)
        obj_z.append(w[i] * (nxt - levels[:nz]))
        zrow.append(np.full(nz, i))
        zlev.append(levels[:nz])
        rr.append(n_row + lev_of)
        rc.append(cols)
        rv.append(np.ones(cnt))
        rr.append(n_row + np.arange(nz))
        rc.append(zcols)
        rv.append(np.ones(nz))
        prev = np.arange(1, kl)
        rr.append(n_row + prev)
        rc.append(zcols[prev - 1])
        rv.append(-np.ones(kl - 1))
        lo = np.zeros(kl)
        lo[0] = 1.0
        row_lo.append(lo)
        n_row += kl
        n_z += nz

    def cat(parts, dt=np.float64):
        return np.concatenate(parts).astype(dt) if parts else np.zeros(0, dtype=dt)

    A = sp.csr_matrix((cat(rv), (cat(rr, np.int64), cat(rc, np.int64))), shape=(n_row, mf + n_z))
    obj = np.concatenate([np.zeros(mf), cat(obj_z)])
    return obj, offset, A, cat(row_lo), cat(zrow, np.int64), cat(zlev)


def solve_pmedian_radius(cp: np.ndarray, w: np.ndarray, p: int, fixed: np.ndarray, start: np.ndarray | None, *,
                         deadline: float, mip_rel_gap: float, max_iter: int = 3000,
                         branch_max_p: int = 10) -> RadiusOutcome:
    """Exact p-median over a finite cost matrix (every row must be servable by every layout).

    Parameters
    ----------
    cp : ndarray, shape (n, m)
        Finite costs (unreachable pairs replaced by a penalty larger than any
        layout's total, so that no optimal layout uses one).
    w : ndarray, shape (n,)
        Positive weights.
    p : int
        New sites, ``0 < p < m - len(fixed)``.
    fixed : ndarray of int
        Always-open sites.
    start : ndarray of int or None
        An incumbent's new sites (improved by local search here).
    deadline : float or Deadline
        ``time.perf_counter()`` value by which to stop (a :class:`Deadline`
        also lets the MILP be skipped when it could not be set up in time).
    mip_rel_gap : float
        Relative optimality tolerance.
    branch_max_p : int
        Use the Lagrangian branch-and-bound instead of the MILP when at most
        this many sites are left to choose after the reductions (0: never).

    Returns
    -------
    RadiusOutcome
        ``bound`` is a valid lower bound on the optimum; "optimal" when the
        incumbent is proven within ``mip_rel_gap`` (for integer data, when
        no layout cheaper by 1 exists).
    """
    n, m = cp.shape
    dl = deadline if isinstance(deadline, Deadline) else Deadline.at_time(deadline)
    deadline = dl.at
    cpt = np.ascontiguousarray(cp.T)
    stats: dict = {}
    t0 = time.perf_counter()

    def cost_of(sites):
        cols = np.concatenate([fixed, sites]).astype(np.int64)
        return float(w @ np.min(cp[:, cols], axis=1))

    if start is not None and len(start) == p:
        # The caller's start is already a greedy + interchange optimum (a second
        # one from scratch would repeat it): polish it only.
        best = local_search(cpt, w, fixed, start, p, deadline=dl)
    else:
        best = local_search(cpt, w, fixed, None, p, deadline=dl.part(0.5))
    best_v = cost_of(best)
    if dl.expired() or not dl.affords(lagrangian_setup_s(n, m)):
        # No time for the relaxation (its set-up alone sorts every row, uninterruptibly:
        # 30 ms at n = m = 900): the incumbent, no bound.
        return RadiusOutcome(np.sort(best), best_v, -math.inf, "time_limit", "interchange", stats)
    stats["heuristic_s"] = time.perf_counter() - t0
    integral = bool(np.all(w == np.round(w)) and np.all(cp == np.round(cp)))

    def rounded(lb):
        # With integer data every layout costs an integer: round the bound up.
        return float(math.ceil(lb - 1e-6)) if integral and math.isfinite(lb) else lb

    def threshold(ub):
        # Layouts worth finding must beat the incumbent by more than the tolerance
        # (by at least 1 with integer data).
        margin = max(mip_rel_gap * abs(ub), 1e-9 * max(1.0, abs(ub)))
        if integral:
            margin = max(margin, 1.0 - 1e-6)
        return ub - margin

    lag = _Lagrangian(cp, w, p, fixed)
    ub_phase = best_v
    bound, pick, picks, iters = _lagrangian_phase(lag, w, cp, best_v, threshold(best_v), deadline, max_iter)
    stats["lagrangian_iterations"] = iters
    # Lagrangian heuristic: the subproblem's sites as starts for the local search.
    seen = set()
    for cand in ([pick] if pick is not None else []) + picks[::-1][:4]:
        if cand is None or len(cand) + int(lag.forced.sum()) != p or time.perf_counter() > deadline:
            continue
        key = tuple(sorted(cand.tolist()))
        if key in seen:
            continue
        seen.add(key)
        init = np.concatenate([cand, np.flatnonzero(lag.forced)])
        s2 = local_search(cpt, w, fixed, init, p, deadline=dl)
        v2 = cost_of(s2)
        if v2 < best_v - 1e-9 * max(1.0, best_v):
            best, best_v = s2, v2
    if best_v < ub_phase and bound < threshold(best_v):
        # The Lagrangian heuristic beat the incumbent the reductions were tested
        # against: resume the ascent towards the new one and test again (on an
        # n = 800, p = 80 instance the first tests fixed nothing, the second
        # left a MILP of a few hundred rows).
        b2, pick2, _picks2, it2 = _lagrangian_phase(lag, w, cp, best_v, threshold(best_v), deadline, max_iter // 3,
                                                    lam0=lag.best_lam, theta0=0.5)
        stats["lagrangian_iterations"] += it2
        bound = max(bound, b2)
    stats["lagrangian_s"] = time.perf_counter() - t0 - stats["heuristic_s"]
    stats["lagrangian_bound"] = bound
    thresh = threshold(best_v)
    if bound >= thresh:
        return RadiusOutcome(np.sort(best), best_v, min(best_v, rounded(max(bound, thresh))), "optimal",
                             "interchange+lagrangian", stats)
    # Reductions were tested against the threshold of the incumbent known then; a
    # better incumbent found since only makes them more conservative (still valid).
    opened = np.flatnonzero(lag.fixed | lag.forced)
    free = np.flatnonzero(~lag.fixed & ~lag.forced & ~lag.out)
    p_left = p - int(lag.forced.sum())
    stats.update(forced=int(lag.forced.sum()), out=int(lag.out.sum()), free=len(free))
    if p_left < 0 or p_left > len(free):
        return RadiusOutcome(np.sort(best), best_v, best_v, "optimal", "interchange+lagrangian", stats)
    if p_left == 0 or p_left == len(free):
        other = np.concatenate([np.flatnonzero(lag.forced), free if p_left else free[:0]])
        v = cost_of(other)
        if v < best_v:
            best, best_v = np.sort(other), v
        return RadiusOutcome(np.sort(best), best_v, best_v, "optimal", "interchange+lagrangian", stats)
    if p_left <= branch_max_p:
        # Small p: the LP bound is weak and the radius model dense; branch on y_j instead.
        t_bb = time.perf_counter()
        bb = lagrangian_branch_and_bound(lag.swc, lag.order, cp, w, p, np.asarray(fixed, dtype=np.int64),
                                         lag.forced, lag.out, lag.best_lam, best, best_v, threshold,
                                         deadline=deadline)
        stats.update(branch_s=time.perf_counter() - t_bb, branch_nodes=bb.nodes, branch_proven=bb.proven)
        if bb.objective < best_v:
            best, best_v = bb.sites, bb.objective
        if bb.proven:
            none_better = best_v if integral else max(bound, threshold(best_v))
            return RadiusOutcome(np.sort(best), best_v, min(best_v, none_better), "optimal",
                                 "lagrangian-branch-and-bound", stats)
        lb = max(bound, bb.bound)
        return RadiusOutcome(np.sort(best), best_v, min(best_v, rounded(lb)), "time_limit",
                             "lagrangian-branch-and-bound", stats)
    radius = np.full(n, np.inf)
    has = lag.pos < m
    rows = np.flatnonzero(has)
    radius[rows] = cp[rows, lag.order[rows, lag.pos[rows] - 1]]
    # Each row holds its candidates up to the radius once and two entries per level.
    est_nnz = 3.0 * float(np.minimum(lag.pos, len(free)).sum())
    if not dl.affords(milp_setup_s(est_nnz)):
        # Building the model and setting HiGHS up would outlast the deadline: the
        # incumbent with the Lagrangian bound (see _deadline).
        stats["milp_skipped_nnz"] = est_nnz
        return RadiusOutcome(np.sort(best), best_v, min(best_v, rounded(bound)), "time_limit", "radius-milp",
                             stats)
    obj, offset, A, lo, _zr, _zl = _build_radius_model(cp, w, free, opened, p_left, radius)
    stats["milp_rows"], stats["milp_cols"], stats["milp_nnz"] = A.shape[0], A.shape[1], A.nnz
    n_col = len(obj)
    mf = len(free)
    card = sp.csr_matrix(np.concatenate([np.ones(mf), np.zeros(n_col - mf)])[None, :])
    A_all = sp.vstack([A, card], format="csr")
    row_lo = np.concatenate([lo, [p_left]])
    row_hi = np.concatenate([np.full(len(lo), np.inf), [p_left]])
    integer = np.zeros(n_col, dtype=bool)
    integer[:mf] = True
    # HiGHS does not treat ``objective_bound`` as a hard cutoff for a MIP: give it the
    # incumbent as a start instead whenever the reductions left it in the model.
    start = None
    d_best = np.min(cp[:, np.concatenate([fixed, best]).astype(np.int64)], axis=1)
    if (not lag.out[best].any() and np.isin(np.flatnonzero(lag.forced), best).all() and np.all(d_best <= radius + 1e-9)):
        start = np.zeros(n_col)
        start[:mf] = np.isin(free, best)
        start[mf:] = d_best[_zr] > _zl + 1e-9
    t_milp = time.perf_counter()
    out = solve_milp(obj, A_all, row_lo, row_hi, np.zeros(n_col), np.ones(n_col), integer, offset=offset,
                     time_limit_s=max(1e-3, deadline - time.perf_counter()), mip_rel_gap=mip_rel_gap,
                     start=start, deadline=dl, options=dict(_MILP_OPTIONS, **(
                         # Integer data: a gap below 1 already proves the incumbent.
                         {"mip_abs_gap": 1.0 - 1e-6} if integral else {})))
    stats["milp_s"] = time.perf_counter() - t_milp
    stats["milp_status"] = out.status
    stats["milp_obj"], stats["milp_bound"] = out.objective, out.bound
    if out.x is not None:
        cand = np.sort(np.concatenate([np.flatnonzero(lag.forced), free[out.x[:mf] > 0.5]])).astype(np.int64)
        if len(cand) == p:
            v = cost_of(cand)
            if v < best_v:
                best, best_v = cand, v
    # Every layout cheaper than ``thresh`` is in the model, so a model bound above
    # ``thresh`` proves that none exists: the incumbent is optimal (to the tolerance).
    none_better = best_v if integral else max(bound, thresh)
    if out.status == "infeasible":
        return RadiusOutcome(np.sort(best), best_v, min(best_v, none_better), "optimal", "radius-milp", stats)
    lb = out.bound if math.isfinite(out.bound) else -math.inf
    if out.status == "optimal" and not math.isfinite(lb):
        lb = out.objective
    # HiGHS's bound above ``thresh`` proves the incumbent whatever status it
    # gives: with integer data it stops at an absolute gap below 1 and
    # ``solve_milp`` (checking the relative gap only) reports that "feasible".
    proven = lb > thresh and out.status in ("optimal", "feasible", "time_limit")
    lb = none_better if lb > thresh else lb
    status = "optimal" if out.status == "optimal" or proven else (
        "time_limit" if time.perf_counter() >= deadline - 1e-3 or out.status == "time_limit" else "feasible")
    return RadiusOutcome(np.sort(best), best_v, min(best_v, rounded(max(bound, lb))), status, "radius-milp", stats)
