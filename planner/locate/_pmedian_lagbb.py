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
    upper_step: float | None = None,
    deadline: float,
    root_iterations: int = 300,
    node_iterations: int = 15,
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

    Returns
    -------
    BranchOutcome
        ``proven`` is True when the tree was exhausted: no layout costs less
        than ``threshold(objective)``.
    """
    n, m = swc.shape
    is_fixed = np.zeros(m, dtype=np.bool_)
    is_fixed[fixed] = True
    rho = np.zeros(m)
    g = np.zeros(n)
    is_open = np.zeros(m, dtype=np.bool_)
    best = np.sort(np.asarray(best, dtype=np.int64))

    def cost_of(new_sites):
        cols = np.concatenate([fixed, new_sites]).astype(np.int64)
        return float(w @ np.min(cp[:, cols], axis=1))

    def evaluate(lam, f_open, f_closed):
        K.lagrangian_rho(swc, order, lam, rho)
        free = np.flatnonzero(~is_fixed & ~f_open & ~f_closed)
        k = p - int(f_open.sum())
        if k < 0 or k > len(free):
            return math.inf, free[:0], free, k
        rf = rho[free]
        if k == 0:
            pick = free[:0]
        elif k == len(free):
            pick = free
        else:
            pick = free[np.argpartition(rf, k - 1)[:k]]
        value = float(lam.sum() + rho[is_fixed | f_open].sum() + rho[pick].sum())
        return value, pick, free, k

    def ascend(lam, f_open, f_closed, iters, theta):
        """Subgradient ascent at a node: (best bound, its lam, its pick, free, k)."""
        nonlocal best, best_v
        top = (-math.inf, None, None, None, 0)
        stall = 0
        for _ in range(iters):
            value, pick, free, k = evaluate(lam, f_open, f_closed)
            if not math.isfinite(value):
                return value, lam, pick, free, k  # infeasible node (k outside 0..|free|)
            if top[1] is None or value > top[0] + 1e-9 * max(1.0, abs(top[0])):
                top, stall = (value, lam.copy(), pick, free, k), 0
                # Beasley's Lagrangian heuristic: the subproblem's layout is feasible.
                cand = np.sort(np.concatenate([np.flatnonzero(f_open), pick]).astype(np.int64))
                if len(cand) == p:
                    v = cost_of(cand)
                    if v < best_v - 1e-9 * max(1.0, best_v):
                        best, best_v = cand, v
            else:
                stall += 1
                if stall >= 5:
                    theta *= 0.5
                    stall = 0
                    if theta < 1e-3:
                        break
            if top[0] >= threshold(best_v):
                break
            is_open[:] = is_fixed | f_open
            is_open[pick] = True
            K.lagrangian_subgradient(swc, order, lam, is_open, g)
            norm = float(g @ g)
            if norm == 0.0:
                break
            target = best_v if upper_step is None else upper_step
            lam = np.maximum(lam + theta * max(target - value, 1e-9 * max(1.0, target)) / norm * g, 0.0)
        return top

    def fix_by_reduced_cost(value, pick, free, k, f_open, f_closed, thresh):
        """Reduced-cost tests at the node (valid in its subtree): updated copies of the masks."""
        f_open, f_closed = f_open.copy(), f_closed.copy()
        if 0 < k < len(free):
            in_s = np.zeros(m, dtype=np.bool_)
            in_s[pick] = True
            rest = free[~in_s[free]]
            worst_in = float(rho[pick].max())
            best_out = float(rho[rest].min())
            f_closed[rest[value - worst_in + rho[rest] > thresh]] = True
            f_open[pick[value - rho[pick] + best_out > thresh]] = True
        return f_open, f_closed

    heap: list = []
    counter = 0
    nodes = 0
    root = ascend(lam0.copy(), forced.copy(), out.copy(), root_iterations, 1.0)
    heapq.heappush(heap, (root[0], counter, root[1], forced.copy(), out.copy(), 0.5))
    while heap:
        if time.perf_counter() > deadline:
            break
        lb, _, lam, f_open, f_closed, theta = heapq.heappop(heap)
        thresh = threshold(best_v)
        if lb >= thresh:
            continue
        nodes += 1
        value, lam, pick, free, k = ascend(lam, f_open, f_closed, node_iterations, theta)
        if not math.isfinite(value) or value >= threshold(best_v):
            continue
        if k <= 0 or k >= len(free):
            # Leaf: the layout is determined; its cost was checked in ascend.
            cand = np.sort(np.concatenate([np.flatnonzero(f_open), free if k > 0 else free[:0]]).astype(np.int64))
            if len(cand) == p:
                v = cost_of(cand)
                if v < best_v:
                    best, best_v = cand, v
            continue
        # Re-evaluate at the node's best lam so that rho matches it for the tests.
        value, pick, free, k = evaluate(lam, f_open, f_closed)
        f_open, f_closed = fix_by_reduced_cost(value, pick, free, k, f_open, f_closed, threshold(best_v))
        k = p - int(f_open.sum())
        cand_free = np.flatnonzero(~is_fixed & ~f_open & ~f_closed)
        if k < 0 or k > len(cand_free):
            continue
        if k == 0 or k == len(cand_free):
            cand = np.sort(np.concatenate([np.flatnonzero(f_open), cand_free if k else cand_free[:0]]))
            v = cost_of(cand.astype(np.int64))
            if v < best_v:
                best, best_v = cand.astype(np.int64), v
            continue
        sel = pick[~f_open[pick] & ~f_closed[pick]]
        if len(sel) == 0:
            # Every picked site was fixed open by the tests: re-queue with the new masks.
            counter += 1
            heapq.heappush(heap, (value, counter, lam, f_open, f_closed, theta))
            continue
        # Branch on the picked site with the most negative rho (largest share of the bound).
        j = int(sel[np.argmin(rho[sel])])
        o1, c1 = f_open.copy(), f_closed.copy()
        o1[j] = True
        o0, c0 = f_open.copy(), f_closed.copy()
        c0[j] = True
        # At the same lam, closing j swaps it for the best outsider: the 0-child starts higher.
        rest = cand_free[~np.isin(cand_free, pick)]
        v0 = value - float(rho[j]) + float(rho[rest].min()) if len(rest) else math.inf
        thresh = threshold(best_v)
        for oo, cc, vv in ((o1, c1, value), (o0, c0, v0)):
            if vv < thresh:
                counter += 1
                heapq.heappush(heap, (vv, counter, lam, oo, cc, max(theta, 0.25)))
    bound = heap[0][0] if heap else math.inf
    return BranchOutcome(best, best_v, bound, not heap, nodes)
