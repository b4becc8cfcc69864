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


_SELECT_MAX_K = 32  # up to this many sites to pick, insertion selection beats argsort
_FULL_EVERY = 10  # node ascent: rho recomputed from scratch every this many steps, incrementally between


@njit(cache=True)
def node_ascent(swc: np.ndarray, order: np.ndarray, cpt: np.ndarray, w: np.ndarray, lam: np.ndarray,
                state: np.ndarray, k: int, iters: int, theta: float, stall_max: int, thresh: float,
                cap: np.ndarray, ub: float, lam_best: np.ndarray, rho_best: np.ndarray, pick_best: np.ndarray,
                ub_pick: np.ndarray, freq: np.ndarray):
    """Subgradient ascent of the Lagrangian bound at one branch-and-bound node, compiled.

    ``state[j]``: 0 free, 1 open (fixed or branched open), 2 closed; ``k``
    free sites are still to open (``0 <= k <= #free``).  Polyak steps
    towards the incumbent ``ub`` (Held, Wolfe & Crowder 1974), ``theta``
    halved after ``stall_max`` iterations without improvement.  ``lam`` is
    projected onto ``lam_i <= cap_i`` (``cap_i`` = ``w_i`` times the cost to
    the nearest open site): a demand point never pays more than that, and
    for every layout containing the open sites the projection cannot lower
    the bound.  Every improving multiplier vector's subproblem layout is
    evaluated exactly (Beasley 1993's Lagrangian heuristic).

    Writes the best multipliers, their ``rho`` and the ``k`` sites they pick
    into ``lam_best``, ``rho_best``, ``pick_best``; a cheaper layout's free
    sites into ``ub_pick``.  ``freq[j]`` (free ``j``) becomes the
    exponentially smoothed share of iterations whose subproblem opened ``j``
    (weight 0.1 on the newest): an estimate of the LP value ``y_j`` as in the
    volume algorithm (Barahona & Anbil 2000, *Math. Programming* 87,
    385-399), used to choose where to branch.  Returns ``(bound, theta, ub)``; the ascent
    stops once the bound reaches ``thresh``.
    """
    n, m = swc.shape
    rho = np.empty(m)
    g = np.empty(n)
    d = np.empty(n)
    free = np.flatnonzero(state == 0).astype(np.int64)
    n_free = len(free)
    rf = np.empty(n_free)
    open_ids = np.flatnonzero(state == 1).astype(np.int64)
    n_open = len(open_ids)
    pick = np.empty(k, dtype=np.int64)
    last = np.empty(k, dtype=np.int64)  # the last layout evaluated (sorted): not scored twice
    seen = False
    best = -np.inf
    stall = 0
    for q in range(n_free):
        freq[free[q]] = 0.0
    first = True
    sel_v = np.empty(max(k, 1))
    sel_q = np.empty(max(k, 1), dtype=np.int64)
    lam_prev = np.empty(n)
    for it in range(iters):
        for i in range(n):
            if lam[i] > cap[i]:
                lam[i] = cap[i]
        value = 0.0
        if it % _FULL_EVERY == 0:
            rho[:] = 0.0
            for i in range(n):
                li = lam[i]
                lam_prev[i] = li
                value += li
                for c in range(m):
                    v = swc[i, c] - li
                    if v >= 0.0:
                        break
                    rho[order[i, c]] += v
        else:
            # Only rows whose multiplier moved change rho (near the dual optimum most
            # rows have exactly one open site below lambda_i: zero subgradient).
            for i in range(n):
                li = lam[i]
                value += li
                lo = lam_prev[i]
                if li == lo:
                    continue
                top = li if li > lo else lo
                for c in range(m):
                    sv = swc[i, c]
                    if sv >= top:
                        break
                    rho[order[i, c]] += min(sv - li, 0.0) - min(sv - lo, 0.0)
                lam_prev[i] = li
        for j in range(m):
            if state[j] == 1:
                value += rho[j]
        for q in range(n_free):
            rf[q] = rho[free[q]]
        if k > _SELECT_MAX_K:
            idx = np.argsort(rf)
            for q in range(k):
                pick[q] = free[idx[q]]
                value += rf[idx[q]]
        elif k > 0:
            # The k smallest by insertion into a sorted buffer: O(#free * small) where a
            # full argsort of 900 values took a third of a node's ascent at p = 10.
            cnt = 0
            for q in range(n_free):
                v = rf[q]
                if cnt < k:
                    t = cnt
                    cnt += 1
                elif v < sel_v[k - 1]:
                    t = k - 1
                else:
                    continue
                while t > 0 and sel_v[t - 1] > v:
                    sel_v[t] = sel_v[t - 1]
                    sel_q[t] = sel_q[t - 1]
                    t -= 1
                sel_v[t] = v
                sel_q[t] = q
            for q in range(k):
                pick[q] = free[sel_q[q]]
                value += sel_v[q]
        if not first:
            for q in range(n_free):
                freq[free[q]] *= 0.9
        for q in range(k):
            freq[pick[q]] += 1.0 if first else 0.1
        first = False
        if best == -np.inf or value > best + 1e-9 * max(1.0, abs(best)):
            best = value
            stall = 0
            lam_best[:] = lam
            pick_best[:k] = pick
            srt = np.sort(pick)
            fresh = not seen
            for q in range(k if seen else 0):
                if srt[q] != last[q]:
                    fresh = True
                    break
            if fresh:
                last[:] = srt
                seen = True
                d[:] = np.inf
                for j in range(m):
                    if state[j] == 1:
                        row = cpt[j]
                        for i in range(n):
                            if row[i] < d[i]:
                                d[i] = row[i]
                for q in range(k):
                    row = cpt[pick[q]]
                    for i in range(n):
                        if row[i] < d[i]:
                            d[i] = row[i]
                tot = 0.0
                for i in range(n):
                    tot += w[i] * d[i]
                if tot < ub - 1e-9 * max(1.0, abs(ub)):
                    ub = tot
                    ub_pick[:k] = pick
        else:
            stall += 1
            if stall >= stall_max:
                theta *= 0.5
                stall = 0
                if theta < 1e-3:
                    break
        if best >= thresh:
            break
        # g_i = 1 - #{open j : w_i c_ij < lambda_i}, counted over the few open
        # sites' contiguous rows (cheaper than walking every sorted row again).
        for i in range(n):
            g[i] = 1.0
        for t in range(n_open + k):
            j = open_ids[t] if t < n_open else pick[t - n_open]
            row = cpt[j]
            for i in range(n):
                if w[i] * row[i] < lam[i]:
                    g[i] -= 1.0
        norm = 0.0
        for i in range(n):
            norm += g[i] * g[i]
        if norm == 0.0:
            break
        step = theta * max(ub - value, 1e-9 * max(1.0, abs(ub))) / norm
        for i in range(n):
            v = lam[i] + step * g[i]
            lam[i] = v if v > 0.0 else 0.0
    rho_best[:] = 0.0
    for i in range(n):
        li = lam_best[i]
        for c in range(m):
            v = swc[i, c] - li
            if v >= 0.0:
                break
            rho_best[order[i, c]] += v
    if best > -np.inf:
        # The bound returned is the Lagrangian value at lam_best computed afresh, so
        # the incremental updates' rounding can never make it invalid.
        exact = 0.0
        for i in range(n):
            exact += lam_best[i]
        for j in range(m):
            if state[j] == 1:
                exact += rho_best[j]
        for q in range(n_free):
            rf[q] = rho_best[free[q]]
        if k > 0:
            srt_rf = np.sort(rf)
            for q in range(k):
                exact += srt_rf[q]
        best = exact
    return best, theta, ub
