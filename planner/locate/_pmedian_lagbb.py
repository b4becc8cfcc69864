"""Lagrangian branch-and-bound on the facility variables for the p-median with small ``p``.

For small ``p`` the linear (= Lagrangian) bound of the p-median is weak
(0.8 % below the optimum on OR-Library-like instances with n = 400-900 and
p = 5) and the radius formulation's root LP is large, so HiGHS runs out of
time.  Branching on ``y_j`` with the Lagrangian bound at every node, as
Beasley did for pmed1-40, closes such gaps in a few hundred cheap nodes:

* Beasley, J. E. (1985). A note on solving large p-median problems.
  *EJOR* 21, 270-273 -- tree search on ``y_j`` with the Lagrangian bound of
  the relaxed assignment rows, subgradient ascent at every node.
* Beasley, J. E. (1993). Lagrangean heuristics for location problems.
  *EJOR* 65, 383-399 -- the subproblem's sites as a feasible layout at every
  node (an upper bound), reduced-cost tests to fix ``y_j`` inside a subtree.

A node fixes some candidates open (``forced``) and some closed (``closed``);
its bound ``L(lambda) = sum_i lambda_i + sum_{forced} rho_j + (the k smallest
rho_j over the free candidates)`` with ``rho_j = sum_i min(0, w_i c_ij -
lambda_i)`` is valid for every layout of the subtree for every ``lambda``
(Cornuejols, Fisher & Nemhauser 1977).  Nodes are explored best bound first;
children start from the parent's multipliers.

The ascent at a node runs compiled (:func:`._pmedian_kernels.node_ascent`:
no Python per iteration) over rows from which the root's closed candidates
were removed, with ``lambda_i`` projected below ``w_i`` times the cost to the
nearest open site; the subgradient is counted over the open sites' rows.
Measured on OR-Library-like instances (CPU s, 2-core machine under load):
n = 700, p = 10 went from a 0.03 % gap at 10 s (644 nodes) to proven in
2.6 s (1,151 nodes of 60 ascent steps); n = 800, p = 10 from a gap to
1.2 s; n = 900, p = 10 (root gap 1.2 %) still needed 26 s (3,791 nodes).

The root LP of these instances is highly fractional (at the root's best
multipliers dozens of sites have ``rho_j`` within 0.01 % of each other), so
the tree, not the root, decides the time.  Three changes, tuned on the
pmed1-40 look-alikes of ``bench/bench_locate.py --shapes orlib40``, cut the
slowest (n = 600, p = 10) from 9,640 nodes / 27 CPU s to 1,183 / 5 s and
n = 900, p = 10 from over 30 s to about 10 s:

* children restart the ascent with a long step (``theta >= 2``, halved only
  after 40 stalled steps): starting from the parent's short step they crept
  and the node bound stayed well below the node's LP bound (tested:
  floors 0.25 / 0.5 / 1 / 2 / 4 gave 9,640 / 3,857 / 2,355 / 1,640 / 3,136
  nodes);
* four times the ascent at depth < 3, whose multipliers seed every node
  below ("more ascent at shallow nodes", Beasley 1993);
* branching on the free site whose smoothed subproblem frequency is nearest
  1/2 -- an estimate of a fractional LP ``y_j`` (volume algorithm, Barahona
  & Anbil 2000) -- rather than on the most negative pick.

The node ascent picks its ``k <= 10`` sites by insertion selection instead
of a full argsort (same sets, 18 % less CPU per node) and updates ``rho``
only for the rows whose multiplier moved (recomputed in full every 10 steps,
and the bound returned is recomputed exactly at the best multipliers): n =
900, p = 10 went from 9.6 to 5.7 CPU s in the tree (same 1,783 nodes).
"""
from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import _pmedian_kernels as K

__all__ = ["BranchOutcome", "lagrangian_branch_and_bound"]

_STALL = 40  # ascent iterations without improvement before the step halves
_THETA_FLOOR = 2.0  # a child starts its ascent with at least this step factor


@dataclass(frozen=True)
class BranchOutcome:
    """Result of :func:`lagrangian_branch_and_bound` (``sites`` sorted new sites)."""

    sites: np.ndarray
    objective: float
    bound: float  # min over unexplored nodes' bounds (``inf`` when the tree is exhausted)
    proven: bool  # every layout below the final threshold was explored or pruned
    nodes: int


def lagrangian_branch_and_bound(
    swc: np.ndarray,
    order: np.ndarray,
    cp: np.ndarray,
    w: np.ndarray,
    p: int,
    fixed: np.ndarray,
    forced: np.ndarray,
    out: np.ndarray,
    lam0: np.ndarray,
    best: np.ndarray,
    best_v: float,
    threshold: Callable[[float], float],
    *,
    deadline: float,
    root_iterations: int = 300,
    node_iterations: int = 60,
    branching: str = "frac",
    shallow_depth: int = 3,
    shallow_factor: int = 4,
) -> BranchOutcome:
    """Branch on ``y_j`` with Lagrangian bounds until no layout beats ``threshold(incumbent)``.

    Parameters
    ----------
    swc, order : ndarray, shape (n, m)
        Per row, the weighted costs ``w_i c_ij`` sorted ascending and their columns.
    cp : ndarray, shape (n, m)
        Finite costs (for evaluating layouts exactly).
    w : ndarray, shape (n,)
        Positive weights.
    p : int
        New sites to open.
    fixed : ndarray of int
        Always-open sites (not counted in ``p``).
    forced, out : ndarray of bool, shape (m,)
        Candidates proven open / closed in every layout beating the incumbent
        (root reductions; ``forced`` counts in ``p``).
    lam0 : ndarray, shape (n,)
        Starting multipliers (the root's best).
    best, best_v : incumbent new sites and their cost.
    threshold : callable
        ``threshold(ub)``: layouts worth finding cost less than this.
    deadline : float
        ``time.perf_counter()`` value by which to stop.
    root_iterations, node_iterations : int
        Ascent steps at the root and at each node (times ``shallow_factor``
        at depth < ``shallow_depth``).
    branching : {"frac", "site"}
        Branch on the most fractional free site (estimated) or on the picked
        site with the most negative ``rho``.

    Returns
    -------
    BranchOutcome
        ``proven`` is True when the tree was exhausted: no layout costs less
        than ``threshold(objective)``.
    """
    n, m = swc.shape
    w = np.asarray(w, dtype=np.float64)
    fixed = np.asarray(fixed, dtype=np.int64)
    # Candidates closed by the root reductions stay closed in every node: drop
    # them from the sorted rows so that each ascent walks only the live ones.
    # Inside, sites are indices into ``cols``; the incumbent keeps original ids.
    keep = ~np.asarray(out, dtype=np.bool_)
    keep[fixed] = True
    cols = np.flatnonzero(keep)
    if len(cols) < m:
        remap = np.full(m, -1, dtype=np.int64)
        remap[cols] = np.arange(len(cols))
        live = keep[order]
        swc = np.ascontiguousarray(swc[live].reshape(n, len(cols)))
        order = np.ascontiguousarray(remap[order[live]].reshape(n, len(cols)))
        cp = cp[:, cols]
        fixed = remap[fixed]
        forced = np.asarray(forced, dtype=np.bool_)[cols]
        out = np.zeros(len(cols), dtype=np.bool_)
        m = len(cols)
    cpt = np.ascontiguousarray(cp.T)
    is_fixed = np.zeros(m, dtype=np.bool_)
    is_fixed[fixed] = True
    best = np.sort(np.asarray(best, dtype=np.int64))
    best_v = float(best_v)
    lam_best = np.empty(n)
    rho = np.empty(m)
    pick_buf = np.empty(m, dtype=np.int64)
    ub_buf = np.empty(m, dtype=np.int64)
    freq = np.zeros(m)

    def cost_of(new_sites):
        cols = np.concatenate([fixed, new_sites]).astype(np.int64)
        return float(w @ np.min(cp[:, cols], axis=1))

    def cap_of(state):
        # Per demand point, w_i times the cost to its nearest open site (inf when none).
        opened = np.flatnonzero(state == 1)
        return w * np.min(cp[:, opened], axis=1) if len(opened) else np.full(n, np.inf)

    def ascend(lam, state, cap, iters, theta):
        """Compiled subgradient ascent: (bound, lam, pick, k, theta); updates the incumbent."""
        nonlocal best, best_v
        k = p - int(np.count_nonzero(state == 1)) + len(fixed)
        n_free = int(np.count_nonzero(state == 0))
        if k < 0 or k > n_free:
            return math.inf, lam, None, k, theta  # no layout in this subtree
        lam = lam.copy()
        value, theta, ub = K.node_ascent(swc, order, cpt, w, lam, state, k, iters, theta, _STALL,
                                         threshold(best_v), cap, best_v, lam_best, rho, pick_buf, ub_buf, freq)
        if ub < best_v:
            cand = np.sort(np.concatenate([np.flatnonzero((state == 1) & ~is_fixed), ub_buf[:k]]))
            v = cost_of(cand)
            if v < best_v:
                best, best_v = np.sort(cols[cand]), v
        return value, lam_best.copy(), pick_buf[:k].copy(), k, theta

    def leaf(state, k):
        """A subtree with one layout left: score it (any p-layout is a valid incumbent)."""
        nonlocal best, best_v
        cand = np.flatnonzero((state == 1) & ~is_fixed)
        if k > 0:
            cand = np.concatenate([cand, np.flatnonzero(state == 0)])
        if len(cand) == p:
            v = cost_of(cand)
            if v < best_v:
                best, best_v = np.sort(cols[cand]), v

    state0 = np.zeros(m, dtype=np.int8)
    state0[is_fixed | forced] = 1
    state0[out & ~is_fixed & ~forced] = 2
    heap: list = []
    counter = 0
    nodes = 0
    cap0 = cap_of(state0)
    root = ascend(lam0.astype(np.float64), state0, cap0, root_iterations, 1.0)
    if math.isfinite(root[0]):
        heapq.heappush(heap, (root[0], counter, root[1], state0, cap0, 0.5, 0))
    while heap:
        if time.perf_counter() > deadline:
            break
        lb, _, lam, state, cap, theta, depth = heapq.heappop(heap)
        if lb >= threshold(best_v):
            continue
        nodes += 1
        k = p - int(np.count_nonzero(state == 1)) + len(fixed)
        free = np.flatnonzero(state == 0)
        if k < 0 or k > len(free):
            continue
        if k == 0 or k == len(free):
            leaf(state, k)
            continue
        # More ascent near the root: its multipliers seed every node below.
        iters = node_iterations * (shallow_factor if depth < shallow_depth else 1)
        value, lam, pick, k, theta = ascend(lam, state, cap, iters, theta)
        thresh = threshold(best_v)
        if not math.isfinite(value) or value >= thresh:
            continue
        # ``value`` is the Lagrangian value at ``lam`` (the swaps below start from it);
        # the parent's bound holds in the subtree too.
        node_lb = max(value, lb)
        # Reduced-cost tests at the node's best multipliers (valid in its subtree).
        in_s = np.zeros(m, dtype=np.bool_)
        in_s[pick] = True
        rest = free[~in_s[free]]
        state = state.copy()
        if len(rest):
            worst_in = float(rho[pick].max())
            best_out = float(rho[rest].min())
            state[rest[value - worst_in + rho[rest] > thresh]] = 2
            opened = pick[value - rho[pick] + best_out > thresh]
            if len(opened):
                state[opened] = 1
                cap = np.minimum(cap, w * np.min(cp[:, opened], axis=1))
        k = p - int(np.count_nonzero(state == 1)) + len(fixed)
        cand_free = np.flatnonzero(state == 0)
        if k < 0 or k > len(cand_free):
            continue
        if k == 0 or k == len(cand_free):
            leaf(state, k)
            continue
        sel = pick[state[pick] == 0]
        if len(sel) == 0:
            # Every picked site was fixed open by the tests: re-queue with the new state.
            counter += 1
            heapq.heappush(heap, (node_lb, counter, lam, state, cap, theta, depth))
            continue
        rest = cand_free[~in_s[cand_free]]
        if branching == "frac":
            # Branch on the free site the relaxation opens about half of the time
            # (smoothed subproblem frequency nearest 1/2, an estimate of a fractional
            # LP y_j): both children cut the relaxed solution off.  On n = 600-900,
            # p = 10 look-alikes this explored 10-15 % fewer nodes than branching on
            # the pick with the most negative rho.
            j = int(cand_free[np.argmin(np.abs(freq[cand_free] - 0.5))])
        else:
            # The picked site with the most negative rho: closing it costs the bound
            # the most, so the 0-child starts highest.
            j = int(sel[np.argmin(rho[sel])])
        # Children's bounds at the same multipliers: forcing an outsider in displaces the
        # worst pick; closing a pick takes the best outsider instead.
        if in_s[j]:
            v1 = value
            v0 = value - float(rho[j]) + float(rho[rest].min()) if len(rest) else math.inf
        else:
            v1 = value - float(rho[pick].max()) + float(rho[j])
            v0 = value
        s1 = state.copy()
        s1[j] = 1
        cap1 = np.minimum(cap, w * cp[:, j])
        s0 = state.copy()
        s0[j] = 2
        thresh = threshold(best_v)
        for vv, ss, cc in ((max(v1, node_lb), s1, cap1), (max(v0, node_lb), s0, cap)):
            if vv < thresh:
                counter += 1
                # Children restart with a long step (_THETA_FLOOR): the parent's
                # multipliers are off by the branched site's whole contribution.
                heapq.heappush(heap, (vv, counter, lam, ss, cc, max(theta, _THETA_FLOOR), depth + 1))
    bound = heap[0][0] if heap else math.inf
    return BranchOutcome(best, best_v, bound, not heap, nodes)
