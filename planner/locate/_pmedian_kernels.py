"""Compiled kernels for the p-median: fast vertex substitution and the Lagrangian dual.

Kept apart from :mod:`planner.locate.pmedian` so that the model code stays
readable; every kernel works on dense float64 arrays with unreachable pairs
already replaced by a finite penalty.  Compiled by numba on first use and
cached on disk (``cache=True``).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def nearest_two(cpt: np.ndarray, open_list: np.ndarray, big: float):
    """``d1, d2, c1`` (nearest, second-nearest cost and nearest site) over ``open_list``.

    ``cpt`` is the TRANSPOSED cost matrix ``(m, n)`` (one contiguous row per candidate).
    """
    n = cpt.shape[1]
    d1 = np.full(n, big)
    d2 = np.full(n, big)
    c1 = np.full(n, -1, dtype=np.int64)
    for r in open_list:
        row = cpt[r]
        for i in range(n):
            v = row[i]
            if v < d1[i]:
                d2[i] = d1[i]
                d1[i] = v
                c1[i] = r
            elif v < d2[i]:
                d2[i] = v
    return d1, d2, c1


@njit(cache=True)
def greedy_add(cpt: np.ndarray, w: np.ndarray, is_open: np.ndarray, d1: np.ndarray, k: int) -> None:
    """Open ``k`` more sites one at a time, each the one saving the most weighted cost (in place)."""
    m, n = cpt.shape
    for _ in range(k):
        best_g = -1.0
        best_j = -1
        for j in range(m):
            if is_open[j]:
                continue
            g = 0.0
            row = cpt[j]
            for i in range(n):
                if row[i] < d1[i]:
                    g += w[i] * (d1[i] - row[i])
            if g > best_g:
                best_g = g
                best_j = j
        if best_j < 0:
            return
        is_open[best_j] = True
        row = cpt[best_j]
        for i in range(n):
            d1[i] = min(d1[i], row[i])


@njit(cache=True)
def swap_search(cpt: np.ndarray, w: np.ndarray, is_open: np.ndarray, is_fixed: np.ndarray, big: float,
                max_swaps: int, rel_tol: float) -> int:
    """Best-improvement vertex substitution (Teitz & Bart 1968), in place on ``is_open``.

    The profit of swapping ``r`` out and ``j`` in is evaluated for every
    pair in one pass over ``j`` with the nearest / second-nearest
    decomposition of Resende & Werneck (2007, *Annals of OR* 150, 205-230):
    ``profit(j, r) = gain_j + sum_{i: c1_i = r} w_i (d1_i - min(d2_i, max(d1_i, c_ij)))``,
    so a full neighbourhood scan costs ``O(n m)``.  Fixed sites are never
    swapped out.  Returns the number of swaps made.
    """
    m, n = cpt.shape
    delta = np.zeros(m)
    swaps = 0
    for _ in range(max_swaps):
        open_list = np.flatnonzero(is_open)
        d1, d2, c1 = nearest_two(cpt, open_list, big)
        total = 0.0
        for i in range(n):
            total += w[i] * d1[i]
        best = rel_tol * max(1.0, total)
        bj = -1
        br = -1
        for j in range(m):
            if is_open[j]:
                continue
            row = cpt[j]
            g = 0.0
            for i in range(n):
                v = row[i]
                if v < d1[i]:
                    g += w[i] * (d1[i] - v)
                elif v < d2[i]:
                    delta[c1[i]] += w[i] * (d1[i] - v)
                else:
                    delta[c1[i]] += w[i] * (d1[i] - d2[i])
            for r in open_list:
                if not is_fixed[r]:
                    val = g + delta[r]
                    if val > best:
                        best = val
                        bj = j
                        br = r
                delta[r] = 0.0
        if bj < 0:
            break
        is_open[br] = False
        is_open[bj] = True
        swaps += 1
    return swaps


@njit(cache=True)
def lagrangian_rho(swc: np.ndarray, order: np.ndarray, lam: np.ndarray, rho: np.ndarray) -> None:
    """``rho_j = sum_i min(0, w_i c_ij - lambda_i)`` over rows sorted ascending (``swc``, ``order``)."""
    n, m = swc.shape
    rho[:] = 0.0
    for i in range(n):
        li = lam[i]
        for k in range(m):
            v = swc[i, k] - li
            if v >= 0.0:
                break
            rho[order[i, k]] += v


@njit(cache=True)
def lagrangian_subgradient(swc: np.ndarray, order: np.ndarray, lam: np.ndarray, is_open: np.ndarray,
                           g: np.ndarray) -> None:
    """``g_i = 1 - #{open j : w_i c_ij < lambda_i}`` (the relaxed assignment row's violation)."""
    n, m = swc.shape
    for i in range(n):
        li = lam[i]
        cnt = 0
        for k in range(m):
            if swc[i, k] >= li:
                break
            if is_open[order[i, k]]:
                cnt += 1
        g[i] = 1.0 - cnt


@njit(cache=True)
def radius_positions(swc: np.ndarray, order: np.ndarray, lam: np.ndarray, rho: np.ndarray, in_s: np.ndarray,
                     is_fixed: np.ndarray, excluded: np.ndarray, repl_prefix: np.ndarray, value: float,
                     thresh: float, pos: np.ndarray) -> None:
    """Per demand row, the fewest nearest candidates of which one must be open (in place, ``min``).

    Closing every candidate within a radius of row ``i`` (the ball ``B``)
    changes the Lagrangian subproblem's optimal set ``S*`` by dropping
    ``S* & B`` and taking as many replacements among the rest; charging the
    cheapest non-``S*`` values (``repl_prefix``, ignoring that some lie in
    ``B``) keeps ``value - rho(S* & B) + repl_prefix[q]`` a lower bound of
    every layout leaving ``i`` outside the radius.  Where it exceeds
    ``thresh`` no layout better than the incumbent does so.  ``pos[i]``
    becomes the number of sorted candidates up to that radius (ties
    included) when smaller than its current value; candidates flagged
    ``excluded`` (proven closed) cost nothing to close.

    Keeping row ``i``'s own assignment constraint (not relaxed) adds
    ``w_i D_i^next - lambda_i`` where ``D_i^next`` is the nearest cost
    outside the ball: the row's terms in ``rho`` are <= 0, so dropping them
    only raises the rest, and ``i`` itself pays at least ``w_i D_i^next``.
    This term makes the radius follow the row's dual value ``lambda_i``.
    """
    n, m = swc.shape
    n_repl = len(repl_prefix) - 1
    for i in range(n):
        closed = 0.0
        q = 0
        k = 0
        limit = pos[i]
        while k < m and k < limit:
            v = swc[i, k]
            hit = False
            while k < m and swc[i, k] == v:
                j = order[i, k]
                if is_fixed[j]:
                    hit = True
                elif in_s[j] and not excluded[j]:
                    closed += rho[j]
                    q += 1
                k += 1
            own = 0.0
            if k < m and swc[i, k] - lam[i] > 0.0:
                own = swc[i, k] - lam[i]
            if hit or q > n_repl or k >= m or value - closed + repl_prefix[q] + own > thresh:
                pos[i] = min(pos[i], k)
                break
