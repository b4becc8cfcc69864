"""Capacitated maximal covering (cold stores against produce tonnage).

Current, J. R. & Storbeck, J. E. (1988). Capacitated covering models.
*Environment and Planning B* 15(2), 153-163; Pirkul, H. & Schilling, D. A.
(1991). The maximal covering location problem with capacities on total
workload. *Management Science* 37(2), 233-248.  Variables ``y_j`` (open),
``x_ij`` (share of ``i``'s tonnage sent to ``j``), only for pairs within the
radius:

    max  sum_ij d_i x_ij
    s.t. sum_j x_ij <= 1                       (each village ships at most its crop)
         sum_i d_i x_ij <= Q_j y_j             (store capacity; fixed stores y_j = 1)
         x_ij <= y_j                           (strengthening, free stores only)
         sum_j y_j <= p,  sum_j cost_j y_j <= budget (optional)

``split=False`` makes ``x`` binary (single sourcing: a village's whole
harvest goes to one store or none).  The capacity coefficient of ``y_j`` is
``min(Q_j, sum_{i in reach(j)} d_i)`` (a store cannot take more than the crop
within its radius), which tightens the LP when stores outsize their reach.

Single sourcing is solved in three steps, each giving a valid piece:

1. the split model (continuous ``x``) is solved first; its optimum -- or its
   proven bound at a time-out -- bounds the single-sourcing optimum from above
   (relaxation);
2. the split model's stores and the greedy's are packed by
   :class:`_Packer` (per store an exact subset-sum DP over the crop still
   unassigned, Martello & Toth 1990, *Knapsack Problems*, ch. 4) -- a
   feasible single-sourcing solution, i.e. a lower bound;
3. only when 1-2 leave a gap above ``mip_rel_gap`` does the binary model go
   to HiGHS, warm-started by the packing.

On the synthetic county the packing fills five 8000 t stores exactly, so the
split bound closes the gap without the binary MILP (which needed > 30 s to
prove the last 0.01 %: the bin-packing structure gives HiGHS nothing to branch
on).  ``mip_rel_gap`` defaults to 1e-4 for single sourcing (0.01 %, a few
tonnes on a county; the planning target is 0.1 %) and 1e-7 otherwise; the
achieved gap is always reported.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp

from ._common import (
    as_cost_matrix,
    as_fixed,
    as_index_tuple,
    as_site_values,
    as_weights,
    check_p_and_budget,
    check_positive,
    check_time_limit,
    relative_gap,
)
from ._common import RESULT_RESERVE
from ._deadline import EXPLAIN_TAIL, Deadline
from ._highs import DEFAULT_MIP_REL_GAP, solve_milp
from .explain import explain_by_evaluator
from .certify import certified
from .result import LocateResult

__all__ = ["solve_cmclp"]

# Single sourcing is a bin-packing problem: proving the last 0.01 % can take
# HiGHS minutes while it is worth a few tonnes (see module docstring).
SINGLE_SOURCING_MIP_REL_GAP = 1e-4


class _Model:
    """The (i, j) pairs within radius and a builder for the MILP restricted to given sites."""

    def __init__(self, c, d, q, radius, split):
        self.d, self.q, self.split = d, q, split
        ii, jj = np.nonzero((c <= radius + 1e-9) & (d[:, None] > 0) & (q[None, :] > 0))
        self.ii, self.jj = ii, jj
        self.n, self.m = c.shape
        # Crop within reach per store: no store can take more (valid cut on y_j's capacity).
        self.reach = np.bincount(jj, weights=d[ii], minlength=self.m)
        self.qy = np.minimum(q, self.reach)

    def build(self, open_free: np.ndarray | None, fixed: np.ndarray, free: np.ndarray,
              p: int | None, sc, budget):
        """Columns: y over ``free`` (or none when ``open_free`` fixes them), then x per pair."""
        n, m = self.n, self.m
        if open_free is not None:
            allowed = np.zeros(m, dtype=bool)
            allowed[fixed] = True
            allowed[open_free] = True
            ycols = np.zeros(0, dtype=np.int64)
        else:
            allowed = np.zeros(m, dtype=bool)
            allowed[fixed] = True
            allowed[free] = True
            ycols = free
        sel = allowed[self.jj]
        ii, jj = self.ii[sel], self.jj[sel]
        k, e = len(ycols), len(ii)
        ypos = np.full(m, -1, dtype=np.int64)
        ypos[ycols] = np.arange(k)
        xcol = k + np.arange(e)
        rows_r, rows_c, rows_v, lo, hi = [], [], [], [], []
        r0 = 0
        # sum_j x_ij <= 1
        rows_r.append(r0 + ii); rows_c.append(xcol); rows_v.append(np.ones(e))  # noqa: E702
        lo.append(np.full(n, -np.inf)); hi.append(np.ones(n)); r0 += n  # noqa: E702
        # sum_i d_i x_ij - Q_j y_j <= 0  (constant Q_j for fixed / pre-opened sites)
        rows_r.append(r0 + jj); rows_c.append(xcol); rows_v.append(self.d[ii])  # noqa: E702
        cap_rhs = np.where(ypos >= 0, 0.0, self.q)
        if k:
            rows_r.append(r0 + ycols); rows_c.append(ypos[ycols]); rows_v.append(-self.qy[ycols])  # noqa: E702
        lo.append(np.full(m, -np.inf)); hi.append(cap_rhs); r0 += m  # noqa: E702
        if k:
            # Coverage linking per village: sum_j x_ij <= [fixed in reach] + sum_{j in N_i} y_j.
            # It carries the MCLP logic into the LP (the capacity row alone lets
            # y_j be tiny when Q_j is large).  The textbook x_ij <= y_j rows are
            # stronger but made HiGHS's simplex crawl (18 s for the root LP of a
            # 400x200 county); these n rows keep it at milliseconds.
            fr = ypos[jj] >= 0
            idx = np.flatnonzero(fr)
            fixed_reach = np.zeros(n)
            np.maximum.at(fixed_reach, ii[~fr], 1.0)
            rows_r.append(r0 + ii); rows_c.append(xcol); rows_v.append(np.ones(e))  # noqa: E702
            rows_r.append(r0 + ii[idx]); rows_c.append(ypos[jj[idx]]); rows_v.append(-np.ones(len(idx)))  # noqa: E702
            lo.append(np.full(n, -np.inf)); hi.append(fixed_reach); r0 += n  # noqa: E702
            if p is not None:
                rows_r.append(np.full(k, r0)); rows_c.append(np.arange(k)); rows_v.append(np.ones(k))  # noqa: E702
                lo.append([-np.inf]); hi.append([p]); r0 += 1  # noqa: E702
            if sc is not None:
                rows_r.append(np.full(k, r0)); rows_c.append(np.arange(k)); rows_v.append(sc[ycols])  # noqa: E702
                lo.append([-np.inf]); hi.append([budget]); r0 += 1  # noqa: E702
        A = sp.csr_matrix((np.concatenate(rows_v), (np.concatenate(rows_r), np.concatenate(rows_c))),
                          shape=(r0, k + e))
        obj = np.r_[np.zeros(k), self.d[ii]]
        integer = np.r_[np.ones(k, bool), np.full(e, not self.split)]
        return obj, A, np.concatenate([np.asarray(v, float) for v in lo]), \
            np.concatenate([np.asarray(v, float) for v in hi]), integer, ycols, ii, jj

    def evaluate(self, open_sites, fixed, time_limit_s, *, relax: bool = False, start=None, deadline=None):
        """Max tonnage served by exactly these open sites (LP if split or ``relax``, small MIP if not).

        Returns (value, ii, jj, x, bound, status) with ``bound`` the proven upper bound.
        """
        fset = np.asarray(fixed, dtype=np.int64)
        others = np.setdiff1d(np.asarray(open_sites, dtype=np.int64), fset)
        obj, A, lo, hi, integer, _, ii, jj = self.build(others, fset, others, None, None, None)
        if len(obj) == 0:
            return 0.0, ii, jj, np.zeros(0), 0.0, "optimal"
        if relax:
            integer = np.zeros(len(obj), dtype=bool)
        st = None
        if start is not None and not relax:
            # start: per village the store (or -1) of a single-sourcing packing.
            st = (start[ii] == jj).astype(float)
        out = solve_milp(obj, A, lo, hi, np.zeros(len(obj)), np.ones(len(obj)), integer,
                         maximize=True, time_limit_s=time_limit_s, start=st, deadline=deadline)
        x = out.x if out.x is not None else (st if st is not None else np.zeros(len(obj)))
        bound = out.bound if math.isfinite(out.bound) else float(obj.sum())
        return float(obj @ x), ii, jj, x, bound, out.status


class _Packer:
    """Fast single-sourcing assignment for a fixed set of open stores (a lower bound).

    Stores are filled one at a time, least slack (reachable crop minus
    capacity) first; each takes the subset of still-unassigned villages in its
    radius whose crop fills it best, found exactly by a subset-sum DP on
    integer-scaled tonnes (a Python integer as the bitset of reachable
    loads).  Among equally full subsets the DP keeps villages no other open
    store reaches, so shared villages stay available to later stores.  Scaling
    is exact when the tonnes are multiples of 10^-k that fit ``max_units``;
    otherwise sizes are rounded up and capacities down, so every packing is
    still feasible.
    """

    def __init__(self, model: _Model, *, max_units: int = 200_000):
        self.model = model
        d, q = model.d, model.q
        top = float(max(q.max(initial=0.0), d.max(initial=0.0), 1e-12))
        scale = None
        for k in range(0, 4):
            s = 10.0 ** k
            if top * s > max_units:
                break
            if np.all(np.abs(d * s - np.round(d * s)) <= 1e-6):
                scale = s
                break
        if scale is not None:
            self.di = np.round(d * scale).astype(np.int64)
            self.qi = np.floor(q * scale + 1e-6).astype(np.int64)
        else:
            scale = max_units / top
            self.di = np.ceil(d * scale - 1e-9).astype(np.int64)
            self.qi = np.floor(q * scale + 1e-9).astype(np.int64)
        self.by_site = {}
        order = np.argsort(model.jj, kind="stable")
        jj_sorted = model.jj[order]
        starts = np.searchsorted(jj_sorted, np.arange(model.m + 1))
        self._ii_by_site = [model.ii[order[starts[j]:starts[j + 1]]] for j in range(model.m)]

    @staticmethod
    def _subset(sizes: np.ndarray, cap: int) -> np.ndarray:
        """Boolean mask of a subset with the largest total <= cap; later items are dropped first."""
        mask = (1 << (cap + 1)) - 1
        hist = [1]
        for v in sizes.tolist():
            hist.append((hist[-1] | (hist[-1] << v)) & mask)
        target = hist[-1].bit_length() - 1
        take = np.zeros(len(sizes), dtype=bool)
        for k in range(len(sizes) - 1, -1, -1):
            if (hist[k] >> target) & 1:
                continue  # reachable without item k: skip it
            take[k] = True
            target -= int(sizes[k])
        return take

    def pack(self, open_sites, *, orders: int = 2) -> tuple[float, np.ndarray]:
        """Best of a few store orders: (tonnes served, per-village store or -1)."""
        d = self.model.d
        open_sites = np.asarray(sorted(int(s) for s in open_sites), dtype=np.int64)
        best_v, best_a = -1.0, np.full(self.model.n, -1, dtype=np.int64)
        if len(open_sites) == 0:
            return 0.0, best_a
        n_opt = np.zeros(self.model.n, dtype=np.int64)
        for j in open_sites:
            n_opt[self._ii_by_site[j]] += 1
        slack = self.model.reach[open_sites] - self.model.q[open_sites]
        seqs = [open_sites[np.lexsort((open_sites, slack))],
                open_sites[np.lexsort((open_sites, -self.model.q[open_sites]))]][:max(1, orders)]
        for seq in seqs:
            assign = np.full(self.model.n, -1, dtype=np.int64)
            left = self.qi.astype(np.int64).copy()
            for j in seq:
                items = self._ii_by_site[j]
                items = items[(assign[items] < 0) & (self.di[items] > 0)]
                if len(items) == 0 or left[j] <= 0:
                    continue
                if self.di[items].sum() <= left[j]:
                    take = np.ones(len(items), dtype=bool)
                else:
                    # Exclusive villages first, big first: they are kept on ties.
                    order = np.lexsort((-self.di[items], n_opt[items]))
                    items = items[order]
                    take = self._subset(self.di[items], int(left[j]))
                assign[items[take]] = j
                left[j] -= int(self.di[items[take]].sum())
            v = float(d[assign >= 0].sum())
            if v > best_v + 1e-9:
                best_v, best_a = v, assign
        return best_v, best_a


def _greedy(model: _Model, free, fixed, p, sc, budget):
    """Add the store with the most unserved tonnage it could take (min of capacity and reachable crop)."""
    d, q = model.d, model.q
    rem = d.astype(float).copy()
    capleft = q.astype(float).copy()
    open_ = list(fixed)
    chosen: list[int] = []
    spent = 0.0

    def fill(j):
        # nearest-first is not known here; fill with villages in index order within radius
        sel = np.flatnonzero(model.jj == j)
        for t in sel:
            i = model.ii[t]
            if rem[i] <= 0 or capleft[j] <= 0:
                continue
            if model.split:
                amt = min(rem[i], capleft[j])
            else:
                if rem[i] > capleft[j] or rem[i] < d[i]:
                    continue
                amt = rem[i]
            rem[i] -= amt
            capleft[j] -= amt

    for j in fixed:
        fill(j)
    while p is None or len(chosen) < p:
        reach = np.bincount(model.jj, weights=rem[model.ii], minlength=model.m)
        score = np.minimum(reach, capleft)
        score[open_] = -1
        if sc is not None:
            score[sc + spent > budget + 1e-9] = -1
        notfree = np.ones(model.m, bool)
        notfree[free] = False
        score[notfree] = -1
        j = int(np.argmax(score))
        if score[j] <= 1e-12:
            break
        chosen.append(j)
        open_.append(j)
        spent += 0.0 if sc is None else float(sc[j])
        fill(j)
    return np.asarray(sorted(chosen), dtype=np.int64)


@certified("cmclp")
def solve_cmclp(
    cost,
    demand_t,
    capacity_t,
    *,
    p: int | None = None,
    radius_min: float,
    split: bool = True,
    fixed: Iterable[int] = (),
    site_cost_wan=None,
    budget_wan: float | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float | None = None,
    candidate_cost=None,
    explain: bool = True,
    runner_up_pool: int = 4,
) -> LocateResult:
    """Open at most ``p`` NEW stores maximising tonnage served within ``radius_min``.

    Parameters
    ----------
    cost : array_like, shape (n, m)
        Travel minutes village -> candidate store (``np.inf`` unreachable).
    demand_t : array_like, shape (n,)
        Produce per village (tonnes), >= 0.
    capacity_t : array_like, shape (m,) or scalar
        Store capacity (tonnes); for fixed stores their remaining capacity.
    p : int or None
        Maximum number of NEW stores (None, the default, only with a budget).
    radius_min : float
        Maximum haul in minutes.
    split : bool
        True: a village's crop may be split across stores; False: single
        sourcing (all to one store or not served).
    fixed : iterable of int
        Existing stores (always open, not charged).
    site_cost_wan, budget_wan : optional
        Per-candidate cost (万元) and budget.
    time_limit_s : float
        Wall-clock limit for the whole call, explanations included (the
        solve stops at 80 % of it when ``explain``; explanations get the
        rest and fall back to the packing heuristic when it is short, see
        ``params["explanations"]`` and ``SiteReport.explanation``).
    mip_rel_gap : float, optional
        Relative gap accepted as optimal; default 1e-7 with ``split`` and
        1e-4 for single sourcing (0.01 %, see module docstring).
    candidate_cost : array_like, optional
        Site-to-site minutes for explanations.
    explain : bool
        Per-site explanations; each needs an LP (split) or a packing plus
        possibly a small MIP (single sourcing) per evaluation, so runner-ups
        are searched among the ``runner_up_pool`` non-chosen candidates
        nearest to the site, and every evaluation gets an equal share of the
        time left.
    runner_up_pool : int
        See ``explain``.

    Returns
    -------
    LocateResult
        ``objective`` = tonnes served; ``flows`` = (village, store, tonnes);
        ``assignment`` = store taking the largest share (or -1);
        ``unreachable`` = villages with no store candidate within radius.
    """
    t0 = time.perf_counter()
    c = as_cost_matrix(cost)
    n, m = c.shape
    d = as_weights(demand_t, n, name="demand_t")
    q = as_site_values(capacity_t, m, name="capacity_t")
    fx = as_fixed(fixed, m)
    r = check_positive(radius_min, "radius_min")
    time_limit_s = check_time_limit(time_limit_s)
    p, sc, budget = check_p_and_budget(p, site_cost_wan, budget_wan, m, len(fx))
    if mip_rel_gap is None:
        mip_rel_gap = DEFAULT_MIP_REL_GAP if split else SINGLE_SOURCING_MIP_REL_GAP
    mip_rel_gap = check_positive(mip_rel_gap, "mip_rel_gap")
    free = np.setdiff1d(np.arange(m), fx)
    if sc is not None:
        free = free[sc[free] <= budget + 1e-9]
    model = _Model(c, d, q, r, bool(split))
    # Candidates that reach no demand (or have no capacity) cannot help.
    useful = np.zeros(m, bool)
    useful[model.jj] = True
    free = free[useful[free]]

    # Explanations get what the solve leaves, but at least a fifth of the limit;
    # a sliver of it is kept for assembling and certifying the result.
    solve_deadline = t0 + time_limit_s * (0.8 if explain else 1.0 - RESULT_RESERVE)
    deadline = t0 + time_limit_s * (1.0 - EXPLAIN_TAIL)
    sdl = Deadline.at_time(solve_deadline)

    def left(until):
        return max(1e-3, until - time.perf_counter())

    heur = _greedy(model, free, fx, p, sc, budget)
    obj, A, lo, hi, integer, ycols, ii, jj = model.build(None, fx, free, p, sc, budget)
    k = len(ycols)
    pair_index = {(int(a), int(b)): t for t, (a, b) in enumerate(zip(ii, jj))}
    packer = _Packer(model)
    method = "highs-milp"
    relax_bound = math.inf

    def has_time():
        # HiGHS does not check its limit inside presolve: do not start a MILP with nothing left.
        return solve_deadline - time.perf_counter() >= max(0.01, 0.02 * time_limit_s)

    def start_from(assign_i):
        st = np.zeros(len(obj))
        st[np.searchsorted(ycols, heur)] = 1.0
        st[k:] = (assign_i[ii] == jj).astype(float)
        return st

    # A single-sourcing packing is feasible for both variants: the warm start
    # that always exists, however little time is left.
    t_pack = time.perf_counter()
    h_val, h_assign = packer.pack(np.r_[fx, heur])
    pack_s = time.perf_counter() - t_pack
    start = start_from(h_assign)
    # Cheap bound: every store carries at most min(Q_j, crop in its reach)
    # and at most p new ones open (Pirkul & Schilling 1991 use the same
    # per-store cap); often tight when capacity, not coverage, binds.
    ub_free = np.sort(model.qy[free])[::-1]
    cheap_bound = min(float(model.qy[fx].sum() + ub_free[:len(ub_free) if p is None else p].sum()),
                      float(d[np.isin(np.arange(n), model.ii[np.isin(model.jj, np.r_[fx, free])])].sum()))
    relax_bound = cheap_bound
    if relative_gap(h_val, cheap_bound) <= mip_rel_gap:
        method = "greedy+packing"
    elif split and has_time():
        # Let HiGHS complete x for the greedy y via the restricted LP.
        l_val, hii, hjj, hx, _, l_st = model.evaluate(np.r_[fx, heur], fx, left(solve_deadline) / 10,
                                                      deadline=sdl)
        if l_st == "optimal" and l_val > h_val + 1e-9:
            h_val = l_val
            start = np.zeros(len(obj))
            start[np.searchsorted(ycols, heur)] = 1.0
            for a_, b_, v in zip(hii, hjj, hx):
                start[k + pair_index[(int(a_), int(b_))]] = v
    elif not split and has_time():
        # Step 1: the split relaxation bounds single sourcing (see module docstring).
        relaxed = _Model(c, d, q, r, True)
        robj, rA, rlo, rhi, rint, rycols, _, _ = relaxed.build(None, fx, free, p, sc, budget)
        # Warm start: the packing (feasible for the relaxation too).
        rout = solve_milp(robj, rA, rlo, rhi, np.zeros(len(robj)), np.ones(len(robj)), rint, maximize=True,
                          time_limit_s=0.4 * left(solve_deadline), start=start,
                          # Half the accepted gap: the relaxation only has to bound.
                          mip_rel_gap=mip_rel_gap / 2, deadline=sdl)
        if math.isfinite(rout.bound):
            relax_bound = min(relax_bound, float(rout.bound))
        # Step 2: pack the relaxation's stores too; keep the best.
        if rout.x is not None and len(rycols):
            lay = rycols[rout.x[:len(rycols)] > 0.5]
            v, a_ = packer.pack(np.r_[fx, lay])
            if v > h_val + 1e-9:
                h_val, h_assign, heur = v, a_, np.asarray(lay, dtype=np.int64)
                start = start_from(h_assign)
    gap_now = relative_gap(h_val, min(relax_bound, float(d.sum())))
    if gap_now <= mip_rel_gap and (method == "greedy+packing" or not split):
        # Packing meets the cheap or the split bound: proven within mip_rel_gap, no binary MILP needed.
        method = "greedy+packing" if method == "greedy+packing" else "split-bound+packing"
        out = None
    elif not has_time():
        method = "greedy+packing (no time left for the MILP)"
        out = None
    else:
        out = solve_milp(obj, A, lo, hi, np.zeros(len(obj)), np.ones(len(obj)), integer, maximize=True,
                         time_limit_s=left(solve_deadline), start=start, mip_rel_gap=mip_rel_gap, deadline=sdl)
    if out is not None and out.x is not None and out.objective >= h_val - 1e-9:
        x = out.x
        new_sites = ycols[out.x[:k] > 0.5] if k else np.zeros(0, dtype=np.int64)
        xs = x[k:]
        objective = float(obj[k:] @ xs)
    else:
        new_sites, objective = heur, h_val
        xs = start[k:]
    if out is None and method in ("split-bound+packing", "greedy+packing"):
        bound, status = relax_bound, "optimal"
    elif out is None:
        bound, status = relax_bound, "time_limit"
    else:
        bound = out.bound if math.isfinite(out.bound) else float(d.sum())
        bound = min(bound, relax_bound)
        status = {"optimal": "optimal", "time_limit": "time_limit"}.get(out.status, "feasible")
    bound = max(bound, objective)
    if status != "optimal" and time.perf_counter() > solve_deadline:
        status = "time_limit"

    # Drop sites that carry nothing (HiGHS may open a useless free site).
    tonnes = d[ii] * xs
    carried = np.bincount(jj, weights=tonnes, minlength=m)
    new_sites = np.asarray([s for s in new_sites if carried[s] > 1e-9], dtype=np.int64)
    open_sites = np.union1d(fx, new_sites).astype(np.int64)
    gap = relative_gap(objective, bound)
    if status == "optimal" and gap > max(mip_rel_gap, 1e-6) * 10:
        status = "feasible"

    flows_sel = tonnes > 1e-9
    flows = tuple((int(a), int(b), float(t)) for a, b, t in zip(ii[flows_sel], jj[flows_sel], tonnes[flows_sel]))
    assign = np.full(n, -1, dtype=np.int64)
    best_t = np.zeros(n)
    for a, b, t in flows:
        if t > best_t[a]:
            best_t[a], assign[a] = t, b
    acost = np.where(assign >= 0, c[np.arange(n), np.maximum(assign, 0)], np.inf)
    served_t = np.bincount(ii, weights=tonnes, minlength=n)
    covered = served_t >= d - 1e-6 * np.maximum(d, 1.0)
    covered &= d > 0
    unreachable = np.flatnonzero(~np.isin(np.arange(n), model.ii[np.isin(model.jj, np.r_[fx, free])]) & (d > 0))
    explanations = "none"
    if explain:
        per_site = {}
        for s in open_sites:
            mine = (jj == s) & flows_sel
            per_site[int(s)] = (int(mine.sum()), float(tonnes[mine].sum()))
        budget_left = None if sc is None else budget - float(sc[new_sites].sum())
        reach_t = np.bincount(model.jj, weights=d[model.ii], minlength=m)
        kinds: set[str] = set()

        def pool(rr):
            cands = np.setdiff1d(free, open_sites)
            if budget_left is not None:
                cands = cands[sc[cands] - sc[rr] <= budget_left + 1e-9]
            if len(cands) == 0:
                return cands
            # nearest by the demand-point proxy, then most reachable tonnage
            prox = np.min(c[:, [rr]] + c[:, cands], axis=0)
            order = np.lexsort((-reach_t[cands], prox))
            return cands[order[:runner_up_pool]]

        edl = Deadline.at_time(deadline)

        def evaluate(sites, share):
            # Each evaluation gets an equal share of the time left (explain_by_evaluator).
            # Split: one LP.  Single sourcing: the packing (a lower bound) is
            # exact when it meets the LP (an upper bound); otherwise a small
            # MIP warm-started by it, if the share allows, else the packing.
            # Past the deadline (a share under 0.05 s) no LP is started: the packing, a lower
            # bound for either variant, keeps the whole call within the limit + 10 %.
            if share < pack_s * edl.slowdown():
                # Not even time for a packing: the answer's own flows into these
                # stores are a feasible shipment, so their tonnes are a lower bound.
                kinds.add("heuristic")
                return float(carried[np.asarray(sites, dtype=np.int64)].sum()), "heuristic"
            v_lb, a_ = packer.pack(sites)
            if share < 0.05:
                kinds.add("heuristic")
                return v_lb, "heuristic"
            if split:
                v, *_ = model.evaluate(sites, fx, share, deadline=edl)
                kinds.add("exact")
                return max(v, v_lb), "exact"
            v_ub = model.evaluate(sites, fx, share, relax=True, deadline=edl)[0]
            if relative_gap(v_lb, v_ub) <= mip_rel_gap:
                # Within the accepted gap of the LP bound: as exact as the solve itself.
                kinds.add("exact")
                return v_lb, "exact"
            # Short cap: these MIPs are bin packing, they prove little more with longer.
            v, *_, st = model.evaluate(sites, fx, min(share, 0.25), start=a_, deadline=edl)
            kind = "exact" if st == "optimal" else "heuristic"
            kinds.add(kind)
            return max(v, v_lb), kind

        sites = explain_by_evaluator(
            c, open_sites, fx, evaluate,
            minimize=False, objective=objective, served_by_site=per_site, runner_up_pool=pool,
            candidate_cost=candidate_cost, deadline=deadline,
        )
        explanations = "exact" if kinds <= {"exact"} else (
            "some evaluations are lower bounds (single-sourcing packing or a time-capped MIP), "
            "see SiteReport.explanation")
    else:
        from ._assemble import bare_site_reports

        sites = bare_site_reports(open_sites, fx, assign, d)
    return LocateResult(
        model="cmclp", method=method, status=status, objective=objective, bound=float(bound), gap=float(gap),
        seconds=time.perf_counter() - t0, sites=sites, assignment=as_index_tuple(assign),
        assignment_cost=tuple(float(v) for v in acost), covered_demand=float(objective),
        uncovered_demand=float(d.sum() - objective), covered=as_index_tuple(np.flatnonzero(covered)),
        uncovered=as_index_tuple(np.flatnonzero(~covered)), unreachable=as_index_tuple(unreachable),
        flows=flows,
        params={"p": p, "radius_min": r, "split": bool(split), "fixed": fx.tolist(), "budget_wan": budget,
                "time_limit_s": time_limit_s, "mip_rel_gap": mip_rel_gap, "explanations": explanations},
    )
