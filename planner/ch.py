"""Contraction hierarchies and bucket-based many-to-many travel times.

Plain Dijkstra settles a large part of a county network for every origin, so a
1000 x 1000 matrix costs 1000 full searches.  A contraction hierarchy
(Geisberger et al. 2008) is built once per graph: nodes are removed ("contracted")
one at a time in order of importance, and a *shortcut* arc ``u -> w`` is added
whenever the only shortest ``u -> w`` path ran through the removed node.  Every
shortest path then exists as an *up-down* path whose ranks first rise and then
fall, so a query only searches upwards from both ends and settles a few hundred
nodes instead of the whole graph.

Many-to-many matrices use the bucket algorithm of Knopp et al. (2007): one
backward upward search per target leaves ``(target, distance)`` entries in a
bucket at every node it settles; one forward upward search per source then scans
the buckets of the nodes it settles, and the minimum over meeting nodes is the
exact distance.

Sources and targets are sets of *seeds* with initial offsets, so a point snapped
onto an edge (which enters the network at both ends, after a part of the edge and
an off-road leg) needs no virtual node in the hierarchy.

The graph is directed (one-way roads): the hierarchy keeps an upward *forward*
graph (arcs ``u -> w`` with ``rank[u] < rank[w]``) and an upward *backward* graph
(arcs ``w -> u`` stored at ``u`` when ``rank[w] > rank[u]``, i.e. walked against
their direction by the backward searches).

References
----------
.. [1] R. Geisberger, P. Sanders, D. Schultes, D. Delling, "Contraction
   Hierarchies: Faster and Simpler Hierarchical Routing in Road Networks",
   WEA 2008, LNCS 5038, pp. 319-333.
.. [2] S. Knopp, P. Sanders, D. Schultes, F. Schulz, D. Wagner, "Computing
   Many-to-Many Shortest Paths Using Highway Hierarchies", ALENEX 2007.
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
from numba import njit

__all__ = [
    "ContractionHierarchy",
    "build_hierarchy",
    "graph_hierarchy",
    "has_hierarchy",
    "hierarchy_from_arrays",
    "hierarchy_to_arrays",
    "many_to_many",
    "seeds_from_lists",
]

_INF = np.inf

# Witness searches stop after this many settled nodes.  A missed witness only adds
# a superfluous shortcut (distances stay exact), so the limits trade preprocessing
# time against hierarchy size.  Priority *simulation* runs far more often than the
# real contraction, hence the smaller limit.
_SIM_SETTLED = 20
_CONTRACT_SETTLED = 200
_MAX_HOPS = 8

# Node priority = edge difference * ED + contracted neighbours * CN + level * LEVEL
# (Geisberger et al. 2008, section 3: "edge difference", "deleted neighbours" and
# the search-space depth term, which keeps the hierarchy shallow on grids).
_W_EDGE_DIFF = 2.0
_W_CONTRACTED = 1.0
_W_LEVEL = 1.0


# -- indexed binary heap (keys live in an external array) ---------------------------


@njit(cache=True, inline="always")
def _less(key, a, b):
    ka = key[a]
    kb = key[b]
    return ka < kb or (ka == kb and a < b)


@njit(cache=True)
def _sift_up(heap, pos, key, i):
    x = heap[i]
    while i > 0:
        parent = (i - 1) >> 1
        p = heap[parent]
        if _less(key, x, p):
            heap[i] = p
            pos[p] = i
            i = parent
        else:
            break
    heap[i] = x
    pos[x] = i


@njit(cache=True)
def _sift_down(heap, size, pos, key, i):
    x = heap[i]
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _less(key, heap[c + 1], heap[c]):
            c += 1
        if _less(key, heap[c], x):
            heap[i] = heap[c]
            pos[heap[c]] = i
            i = c
        else:
            break
    heap[i] = x
    pos[x] = i


@njit(cache=True)
def _heap_push_or_decrease(heap, size, pos, key, x):
    """Insert ``x`` or restore order after ``key[x]`` decreased; returns the new size."""
    if pos[x] < 0:
        heap[size] = x
        pos[x] = size
        _sift_up(heap, pos, key, size)
        return size + 1
    _sift_up(heap, pos, key, pos[x])
    return size


@njit(cache=True)
def _heap_pop(heap, size, pos, key):
    x = heap[0]
    pos[x] = -1
    size -= 1
    if size > 0:
        heap[0] = heap[size]
        pos[heap[0]] = 0
        _sift_down(heap, size, pos, key, 0)
    return x, size


# -- preprocessing ----------------------------------------------------------------------


@njit(cache=True)
def _grow(e_src, e_dst, e_w, e_via, nxt_out, nxt_in):
    cap = 2 * len(e_src) + 16
    a = np.empty(cap, np.int64)
    a[: len(e_src)] = e_src
    b = np.empty(cap, np.int64)
    b[: len(e_dst)] = e_dst
    c = np.empty(cap, np.float64)
    c[: len(e_w)] = e_w
    d = np.empty(cap, np.int64)
    d[: len(e_via)] = e_via
    f = np.empty(cap, np.int64)
    f[: len(nxt_out)] = nxt_out
    g = np.empty(cap, np.int64)
    g[: len(nxt_in)] = nxt_in
    return a, b, c, d, f, g


@njit(cache=True)
def _find_out(head_out, nxt_out, e_dst, u, w):
    e = head_out[u]
    while e >= 0:
        if e_dst[e] == w:
            return e
        e = nxt_out[e]
    return -1


@njit(cache=True)
def _witness(src, skip, limit, max_settled, max_hops, head_out, nxt_out, e_dst, e_w,
             dist, hops, heap, pos, touched, mark, stamp, n_targets):
    """Bounded Dijkstra from ``src`` avoiding ``skip``; returns the number of touched nodes.

    It stops once the ``n_targets`` nodes with ``mark == stamp`` are settled (their
    distances are then final), beyond ``limit``, or after ``max_settled`` nodes.
    ``dist`` keeps *tentative* distances on return: each is the length of a real
    path, so a tentative distance below the via-distance already proves a witness.
    """
    n_touched = 0
    dist[src] = 0.0
    hops[src] = 0
    touched[n_touched] = src
    n_touched += 1
    size = _heap_push_or_decrease(heap, 0, pos, dist, src)
    settled = 0
    while size > 0:
        x, size = _heap_pop(heap, size, pos, dist)
        d = dist[x]
        if d > limit:
            break
        if mark[x] == stamp:
            n_targets -= 1
            if n_targets == 0:
                break
        settled += 1
        if settled > max_settled:
            break
        if hops[x] >= max_hops:
            continue
        e = head_out[x]
        while e >= 0:
            y = e_dst[e]
            if y != skip:
                nd = d + e_w[e]
                if nd < dist[y]:
                    if dist[y] == _INF:
                        touched[n_touched] = y
                        n_touched += 1
                    dist[y] = nd
                    hops[y] = hops[x] + 1
                    size = _heap_push_or_decrease(heap, size, pos, dist, y)
            e = nxt_out[e]
    for k in range(size):  # searches stop early: leave the heap empty for the next one
        pos[heap[k]] = -1
    return n_touched


@njit(cache=True)
def _reset(dist, touched, n_touched):
    for k in range(n_touched):
        dist[touched[k]] = _INF


@njit(cache=True)
def _mark_targets(v, u, w1, head_out, nxt_out, e_dst, e_w, mark, stamp):
    """Mark v's out-neighbours other than u as witness targets; the search limit and count."""
    limit = -1.0
    n_targets = 0
    eo = head_out[v]
    while eo >= 0:
        if e_dst[eo] != u:
            limit = max(limit, w1 + e_w[eo])
            mark[e_dst[eo]] = stamp
            n_targets += 1
        eo = nxt_out[eo]
    return limit, n_targets


@njit(cache=True)
def _shortcuts_needed(v, max_settled, max_hops, head_out, nxt_out, head_in, nxt_in, e_src, e_dst, e_w,
                      dist, hops, heap, pos, touched, mark, stamp):
    """How many shortcuts contracting ``v`` would add now (priority simulation)."""
    count = 0
    ei = head_in[v]
    while ei >= 0:
        u = e_src[ei]
        w1 = e_w[ei]
        stamp[0] += 1
        limit, n_targets = _mark_targets(v, u, w1, head_out, nxt_out, e_dst, e_w, mark, stamp[0])
        if limit >= 0.0:
            nt = _witness(u, v, limit, max_settled, max_hops, head_out, nxt_out, e_dst, e_w, dist, hops, heap,
                          pos, touched, mark, stamp[0], n_targets)
            eo = head_out[v]
            while eo >= 0:
                x = e_dst[eo]
                if x != u and dist[x] > w1 + e_w[eo]:
                    count += 1
                eo = nxt_out[eo]
            _reset(dist, touched, nt)
        ei = nxt_in[ei]
    return count


@njit(cache=True)
def _degree(head, nxt, v):
    k = 0
    e = head[v]
    while e >= 0:
        k += 1
        e = nxt[e]
    return k


@njit(cache=True)
def _unlink(v, head, nxt, far, far_head, far_nxt, near, stamp, neighbours, n_nb):
    """For every arc in ``v``'s list (``head``/``nxt``), record its other end ``y = far[arc]``
    as a neighbour (once, via ``stamp``) and remove the arcs with ``near[arc] == v`` from
    ``y``'s list (``far_head``/``far_nxt``).  Called once for v's in-arcs, once for its
    out-arcs; returns the new neighbour count."""
    ei = head[v]
    while ei >= 0:
        y = far[ei]
        if stamp[y] != v:
            stamp[y] = v
            neighbours[n_nb] = y
            n_nb += 1
        prev = -1
        e = far_head[y]
        while e >= 0:
            if near[e] == v:
                if prev < 0:
                    far_head[y] = far_nxt[e]
                else:
                    far_nxt[prev] = far_nxt[e]
            else:
                prev = e
            e = far_nxt[e]
        ei = nxt[ei]
    return n_nb


@njit(cache=True)
def _contract_all(n, indptr, indices, data, sim_settled, contract_settled, max_hops, w_ed, w_cn, w_level, fixed, neighbour_sim):
    """Order and contract every node; returns the rank per node and the arc pool."""
    m = len(indices)
    cap = max(16, 2 * m)
    e_src = np.empty(cap, np.int64)
    e_dst = np.empty(cap, np.int64)
    e_w = np.empty(cap, np.float64)
    e_via = np.empty(cap, np.int64)
    nxt_out = np.empty(cap, np.int64)
    nxt_in = np.empty(cap, np.int64)
    head_out = np.full(n, -1, np.int64)
    head_in = np.full(n, -1, np.int64)
    n_e = 0
    for u in range(n):
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            w = data[k]
            if u == v or not (w < _INF):  # self loops never shorten a path
                continue
            e = _find_out(head_out, nxt_out, e_dst, u, v)
            if e >= 0:  # parallel arcs: keep the fastest
                if w < e_w[e]:
                    e_w[e] = w
                continue
            if n_e == len(e_src):
                e_src, e_dst, e_w, e_via, nxt_out, nxt_in = _grow(e_src, e_dst, e_w, e_via, nxt_out, nxt_in)
            e_src[n_e] = u
            e_dst[n_e] = v
            e_w[n_e] = w
            e_via[n_e] = -1
            nxt_out[n_e] = head_out[u]
            head_out[u] = n_e
            nxt_in[n_e] = head_in[v]
            head_in[v] = n_e
            n_e += 1

    dist = np.full(n, _INF)
    hops = np.zeros(n, np.int64)
    wheap = np.empty(n, np.int64)
    wpos = np.full(n, -1, np.int64)
    touched = np.empty(n, np.int64)
    mark = np.full(n, -1, np.int64)  # out-neighbours of the node being contracted
    wstamp = np.zeros(1, np.int64)

    contracted_nb = np.zeros(n, np.int64)
    level = np.zeros(n, np.int64)
    prio = np.empty(n, np.float64)
    pheap = np.empty(n, np.int64)
    ppos = np.full(n, -1, np.int64)
    psize = 0
    use_fixed = len(fixed) == n
    for v in range(n if not use_fixed else 0):
        sc = _shortcuts_needed(v, sim_settled, max_hops, head_out, nxt_out, head_in, nxt_in, e_src, e_dst, e_w,
                               dist, hops, wheap, wpos, touched, mark, wstamp)
        ed = sc - _degree(head_in, nxt_in, v) - _degree(head_out, nxt_out, v)
        prio[v] = w_ed * ed
        psize = _heap_push_or_decrease(pheap, psize, ppos, prio, v)

    rank = np.full(n, -1, np.int64)
    stamp = np.full(n, -1, np.int64)
    neighbours = np.empty(n, np.int64)
    r = 0
    while psize > 0 or (use_fixed and r < n):
        if use_fixed:
            v = fixed[r]
        else:
            v = pheap[0]
            # lazy update: re-evaluate the top; contract it only if it is still the minimum
            sc = _shortcuts_needed(v, sim_settled, max_hops, head_out, nxt_out, head_in, nxt_in, e_src, e_dst, e_w,
                                   dist, hops, wheap, wpos, touched, mark, wstamp)
            ed = sc - _degree(head_in, nxt_in, v) - _degree(head_out, nxt_out, v)
            p = w_ed * ed + w_cn * contracted_nb[v] + w_level * level[v]
            if p > prio[v]:
                prio[v] = p
                _sift_down(pheap, psize, ppos, prio, 0)
                if pheap[0] != v:
                    continue
            prio[v] = p
            v, psize = _heap_pop(pheap, psize, ppos, prio)
        rank[v] = r
        r += 1

        # shortcuts u -> x for every in-neighbour u and out-neighbour x without a witness
        ei = head_in[v]
        while ei >= 0:
            u = e_src[ei]
            w1 = e_w[ei]
            wstamp[0] += 1
            limit, n_targets = _mark_targets(v, u, w1, head_out, nxt_out, e_dst, e_w, mark, wstamp[0])
            if limit >= 0.0:
                nt = _witness(u, v, limit, contract_settled, max_hops, head_out, nxt_out, e_dst, e_w, dist, hops,
                              wheap, wpos, touched, mark, wstamp[0], n_targets)
                eo = head_out[v]
                while eo >= 0:
                    x = e_dst[eo]
                    via = w1 + e_w[eo]
                    if x != u and dist[x] > via:
                        e = _find_out(head_out, nxt_out, e_dst, u, x)
                        if e >= 0:
                            if via < e_w[e]:
                                e_w[e] = via
                                e_via[e] = v
                        else:
                            if n_e == len(e_src):
                                e_src, e_dst, e_w, e_via, nxt_out, nxt_in = _grow(
                                    e_src, e_dst, e_w, e_via, nxt_out, nxt_in)
                            e_src[n_e] = u
                            e_dst[n_e] = x
                            e_w[n_e] = via
                            e_via[n_e] = v
                            nxt_out[n_e] = head_out[u]
                            head_out[u] = n_e
                            nxt_in[n_e] = head_in[x]
                            head_in[x] = n_e
                            n_e += 1
                    eo = nxt_out[eo]
                _reset(dist, touched, nt)
            ei = nxt_in[ei]

        # unlink v from its neighbours' lists (its arcs stay in the pool for the
        # upward graphs) and collect the neighbours for their priority updates
        # (in-arcs u -> v: drop v from each u's out-list; out-arcs v -> x: drop v from each x's in-list)
        n_nb = _unlink(v, head_in, nxt_in, e_src, head_out, nxt_out, e_dst, stamp, neighbours, 0)
        n_nb = _unlink(v, head_out, nxt_out, e_dst, head_in, nxt_in, e_src, stamp, neighbours, n_nb)
        for k in range(n_nb if not use_fixed else 0):
            y = neighbours[k]
            contracted_nb[y] += 1
            old_level = level[y]
            level[y] = max(level[y], level[v] + 1)
            if neighbour_sim:
                sc = _shortcuts_needed(y, sim_settled, max_hops, head_out, nxt_out, head_in, nxt_in, e_src, e_dst,
                                       e_w, dist, hops, wheap, wpos, touched, mark, wstamp)
                ed = sc - _degree(head_in, nxt_in, y) - _degree(head_out, nxt_out, y)
                prio[y] = w_ed * ed + w_cn * contracted_nb[y] + w_level * level[y]
            else:
                # cheap terms only; the edge difference is refreshed lazily when y
                # reaches the top of the queue
                prio[y] += w_cn + w_level * (level[y] - old_level)
            _sift_up(pheap, ppos, prio, ppos[y])
            _sift_down(pheap, psize, ppos, prio, ppos[y])
    return rank, e_src[:n_e].copy(), e_dst[:n_e].copy(), e_w[:n_e].copy(), e_via[:n_e].copy()


# -- queries ----------------------------------------------------------------------------


@njit(cache=True)
def _seed(dist, heap, size, pos, touched, n_touched, node, offset, limit):
    if offset <= limit and offset < dist[node]:
        if dist[node] == _INF:
            touched[n_touched] = node
            n_touched += 1
        dist[node] = offset
        size = _heap_push_or_decrease(heap, size, pos, dist, node)
    return size, n_touched


@njit(cache=True)
def _many_to_many_kernel(n, f_ptr, f_head, f_w, b_ptr, b_tail, b_w, s_ptr, s_node, s_off, t_ptr, t_node, t_off,
                         limit):
    """Bucket many-to-many (Knopp et al. 2007) on rank-numbered upward graphs, with stall-on-demand."""
    n_s = len(s_ptr) - 1
    n_t = len(t_ptr) - 1
    res = np.full((n_s, n_t), _INF)
    dist = np.full(n, _INF)
    heap = np.empty(n, np.int64)
    pos = np.full(n, -1, np.int64)
    touched = np.empty(n, np.int64)

    # backward upward searches from the targets fill the buckets
    cap = max(1024, 64 * n_t)
    bk_node = np.empty(cap, np.int64)
    bk_tgt = np.empty(cap, np.int64)
    bk_d = np.empty(cap, np.float64)
    n_b = 0
    for j in range(n_t):
        size = 0
        n_touched = 0
        for k in range(t_ptr[j], t_ptr[j + 1]):
            size, n_touched = _seed(dist, heap, size, pos, touched, n_touched, t_node[k], t_off[k], limit)
        while size > 0:
            x, size = _heap_pop(heap, size, pos, dist)
            d = dist[x]
            # stall-on-demand: a higher node y with x -> y reaches the target sooner, so
            # d is not the up-distance of x and x cannot be a meeting node
            stalled = False
            for k in range(f_ptr[x], f_ptr[x + 1]):
                if dist[f_head[k]] + f_w[k] < d:
                    stalled = True
                    break
            if stalled:
                continue
            if n_b == len(bk_node):
                grow = 2 * len(bk_node)
                a = np.empty(grow, np.int64)
                a[:n_b] = bk_node
                bk_node = a
                b = np.empty(grow, np.int64)
                b[:n_b] = bk_tgt
                bk_tgt = b
                c = np.empty(grow, np.float64)
                c[:n_b] = bk_d
                bk_d = c
            bk_node[n_b] = x
            bk_tgt[n_b] = j
            bk_d[n_b] = d
            n_b += 1
            for k in range(b_ptr[x], b_ptr[x + 1]):
                y = b_tail[k]
                nd = d + b_w[k]
                if nd <= limit and nd < dist[y]:
                    if dist[y] == _INF:
                        touched[n_touched] = y
                        n_touched += 1
                    dist[y] = nd
                    size = _heap_push_or_decrease(heap, size, pos, dist, y)
        _reset(dist, touched, n_touched)

    # buckets as CSR by node (stable: entries stay in target order)
    bptr = np.zeros(n + 1, np.int64)
    for k in range(n_b):
        bptr[bk_node[k] + 1] += 1
    for x in range(n):
        bptr[x + 1] += bptr[x]
    fill = bptr[:-1].copy()
    b_tgt = np.empty(n_b, np.int64)
    b_d = np.empty(n_b, np.float64)
    for k in range(n_b):
        x = bk_node[k]
        b_tgt[fill[x]] = bk_tgt[k]
        b_d[fill[x]] = bk_d[k]
        fill[x] += 1

    # forward upward searches from the sources scan the buckets
    for i in range(n_s):
        size = 0
        n_touched = 0
        for k in range(s_ptr[i], s_ptr[i + 1]):
            size, n_touched = _seed(dist, heap, size, pos, touched, n_touched, s_node[k], s_off[k], limit)
        row = res[i]
        while size > 0:
            x, size = _heap_pop(heap, size, pos, dist)
            d = dist[x]
            stalled = False
            for k in range(b_ptr[x], b_ptr[x + 1]):
                if dist[b_tail[k]] + b_w[k] < d:
                    stalled = True
                    break
            if stalled:
                continue
            for k in range(bptr[x], bptr[x + 1]):
                t = d + b_d[k]
                j = b_tgt[k]
                if t < row[j]:
                    row[j] = t
            for k in range(f_ptr[x], f_ptr[x + 1]):
                y = f_head[k]
                nd = d + f_w[k]
                if nd <= limit and nd < dist[y]:
                    if dist[y] == _INF:
                        touched[n_touched] = y
                        n_touched += 1
                    dist[y] = nd
                    size = _heap_push_or_decrease(heap, size, pos, dist, y)
        _reset(dist, touched, n_touched)
    for i in range(n_s):
        for j in range(n_t):
            if res[i, j] > limit:
                res[i, j] = _INF
    return res


# -- public API -------------------------------------------------------------------------


def _csr(n: int, key: np.ndarray, other: np.ndarray, w: np.ndarray, via: np.ndarray):
    order = np.lexsort((other, key))
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=n), out=indptr[1:])
    return indptr, other[order].astype(np.int64), w[order].astype(np.float64), via[order].astype(np.int64)


@dataclass(frozen=True, eq=False)
class ContractionHierarchy:
    """A contraction hierarchy of a directed, non-negatively weighted graph.

    Nodes are renumbered by rank (0 = contracted first, least important), which
    keeps the important nodes that every query reaches close together in memory.

    Attributes
    ----------
    n_nodes : int
    rank : ndarray of int64
        Rank of every original node.
    order : ndarray of int64
        Original node of every rank (inverse of ``rank``).
    fwd_indptr, fwd_head, fwd_minutes, fwd_via : ndarray
        Upward forward graph in CSR form over ranks: arcs ``r -> fwd_head`` with
        ``fwd_head > r``.  ``fwd_via`` is the rank of the contracted middle node of
        a shortcut, -1 for an original arc.
    bwd_indptr, bwd_tail, bwd_minutes, bwd_via : ndarray
        Upward backward graph over ranks: for row ``r``, arcs ``bwd_tail -> r`` of
        the graph with ``bwd_tail > r`` (searched against their direction).
    n_arcs, n_shortcuts : int
        Arcs in both upward graphs together, and how many of them are shortcuts.
    build_seconds : float
        Wall time of :func:`build_hierarchy` (0 when loaded from arrays).
    """

    n_nodes: int
    rank: np.ndarray
    order: np.ndarray
    fwd_indptr: np.ndarray
    fwd_head: np.ndarray
    fwd_minutes: np.ndarray
    fwd_via: np.ndarray
    bwd_indptr: np.ndarray
    bwd_tail: np.ndarray
    bwd_minutes: np.ndarray
    bwd_via: np.ndarray
    build_seconds: float = 0.0

    @property
    def n_arcs(self) -> int:
        return int(len(self.fwd_head) + len(self.bwd_tail))

    @property
    def n_shortcuts(self) -> int:
        return int((self.fwd_via >= 0).sum() + (self.bwd_via >= 0).sum())

    _ARRAYS = ("rank", "order", "fwd_indptr", "fwd_head", "fwd_minutes", "fwd_via",
               "bwd_indptr", "bwd_tail", "bwd_minutes", "bwd_via")

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (no pickle needed) for caching next to the graph."""
        return {name: getattr(self, name) for name in self._ARRAYS}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> ContractionHierarchy:
        """Rebuild a hierarchy written by :meth:`to_arrays`."""
        kw: dict[str, Any] = {}
        for name in cls._ARRAYS:
            dtype = np.float64 if name.endswith("minutes") else np.int64
            kw[name] = np.ascontiguousarray(arrays[name], dtype=dtype)
        return cls(n_nodes=int(len(kw["rank"])), **kw)


def build_hierarchy(
    csr_minutes: sp.spmatrix,
    *,
    witness_settled: int = _CONTRACT_SETTLED,
    simulate_settled: int = _SIM_SETTLED,
    max_hops: int = _MAX_HOPS,
    order: np.ndarray | None = None,
    neighbour_updates: bool = False,
) -> ContractionHierarchy:
    """Contract a directed travel-time graph (Geisberger et al. 2008).

    Node order: lazy priority queue on ``2 * edge difference + contracted
    neighbours + level``: the top node's priority is recomputed before it is
    contracted and it goes back into the queue if it is no longer the minimum.  Witness searches are bounded local Dijkstra searches; a
    witness they miss only adds a superfluous shortcut, so query results stay exact.

    Parameters
    ----------
    csr_minutes : scipy.sparse matrix, shape (n, n)
        ``[i, j]`` is the weight of arc ``i -> j``.  Every stored entry is an arc
        (explicit zeros are zero-cost arcs, as for :mod:`scipy.sparse.csgraph`);
        duplicates keep the smallest weight, self loops and ``inf`` are ignored.
    witness_settled, simulate_settled : int
        Settled-node limits of the witness searches when contracting and when
        estimating priorities.
    max_hops : int
        Hop limit of the witness searches.
    order : array of int, optional
        Contract the nodes in this order (a permutation of ``0..n-1``) instead of
        computing one: for tests and for reusing the order of a similar graph.
        Any order gives exact distances; a poor one only makes queries slower.
    neighbour_updates : bool
        Also re-simulate the neighbours of every contracted node (Geisberger et
        al.'s neighbour updates).  Off by default: on the 106k-node benchmark graph
        it gives ~23 % fewer shortcuts but a ~1.6x slower build and no faster
        many-to-many queries; lazy updates alone keep the order good.

    Returns
    -------
    ContractionHierarchy
    """
    t0 = time.perf_counter()
    csr = sp.csr_matrix(csr_minutes)
    if csr.shape[0] != csr.shape[1]:
        msg = f"csr_minutes must be square, got shape {csr.shape}"
        raise ValueError(msg)
    data = np.asarray(csr.data, dtype=np.float64)
    if np.isnan(data).any() or (data < 0).any():
        msg = "arc weights must be non-negative numbers (no NaN)"
        raise ValueError(msg)
    for name, value in (("witness_settled", witness_settled), ("simulate_settled", simulate_settled),
                        ("max_hops", max_hops)):
        if value < 1:
            msg = f"{name} must be >= 1, got {value}"
            raise ValueError(msg)
    n = int(csr.shape[0])
    if order is None:
        fixed = np.zeros(0, dtype=np.int64)
    else:
        fixed = np.asarray(order, dtype=np.int64).ravel()
        if len(fixed) != n or not np.array_equal(np.sort(fixed), np.arange(n)):
            msg = f"order must be a permutation of 0..{n - 1}"
            raise ValueError(msg)
    rank, src, dst, w, via = _contract_all(
        n, csr.indptr.astype(np.int64), csr.indices.astype(np.int64), data,
        int(simulate_settled), int(witness_settled), int(max_hops), _W_EDGE_DIFF, _W_CONTRACTED, _W_LEVEL, fixed, bool(neighbour_updates),
    )
    order = np.empty(n, dtype=np.int64)
    order[rank] = np.arange(n)
    rs, rd = rank[src], rank[dst]
    rv = np.where(via >= 0, rank[np.maximum(via, 0)], -1)
    up = rs < rd
    fwd = _csr(n, rs[up], rd[up], w[up], rv[up])
    bwd = _csr(n, rd[~up], rs[~up], w[~up], rv[~up])
    return ContractionHierarchy(
        n_nodes=n, rank=rank, order=order,
        fwd_indptr=fwd[0], fwd_head=fwd[1], fwd_minutes=fwd[2], fwd_via=fwd[3],
        bwd_indptr=bwd[0], bwd_tail=bwd[1], bwd_minutes=bwd[2], bwd_via=bwd[3],
        build_seconds=time.perf_counter() - t0,
    )


def seeds_from_lists(seeds: list[list[tuple[int, float]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``[[(node, offset), ...], ...]`` as the ``(indptr, nodes, offsets)`` arrays of :func:`many_to_many`."""
    indptr = np.zeros(len(seeds) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in seeds], out=indptr[1:])
    nodes = np.array([node for s in seeds for node, _ in s], dtype=np.int64)
    offsets = np.array([off for s in seeds for _, off in s], dtype=np.float64)
    return indptr, nodes, offsets


def _seed_arrays(ch: ContractionHierarchy, points, init, what: str):
    """Normalise sources/targets to CSR seed arrays over ranks."""
    if init is None:
        nodes = np.asarray(points, dtype=np.int64).ravel()
        indptr = np.arange(len(nodes) + 1, dtype=np.int64)
        offsets = np.zeros(len(nodes))
    else:
        indptr = np.asarray(points, dtype=np.int64).ravel()
        nodes, offsets = (np.asarray(a) for a in init)
        nodes = nodes.astype(np.int64).ravel()
        offsets = offsets.astype(np.float64).ravel()
        if len(indptr) == 0 or indptr[0] != 0 or indptr[-1] != len(nodes) or (np.diff(indptr) < 0).any() \
                or len(offsets) != len(nodes):
            msg = f"{what}: with {what}_init, {what} must be an indptr over the seed arrays"
            raise ValueError(msg)
        if np.isnan(offsets).any() or (offsets < 0).any():
            msg = f"{what}_init offsets must be >= 0"
            raise ValueError(msg)
    if len(nodes) and (nodes.min() < 0 or nodes.max() >= ch.n_nodes):
        msg = f"{what} has node ids outside 0..{ch.n_nodes - 1}"
        raise ValueError(msg)
    return indptr, ch.rank[nodes] if len(nodes) else nodes, offsets


def many_to_many(
    ch: ContractionHierarchy,
    sources,
    targets,
    *,
    sources_init: tuple[np.ndarray, np.ndarray] | None = None,
    targets_init: tuple[np.ndarray, np.ndarray] | None = None,
    limit: float = np.inf,
) -> np.ndarray:
    """Exact shortest distances from every source to every target (Knopp et al. 2007).

    Parameters
    ----------
    ch : ContractionHierarchy
    sources, targets : array of int
        Node ids (one node per source/target), or, with ``sources_init`` /
        ``targets_init``, the ``indptr`` of multi-node seed sets (see below).
    sources_init : (nodes, offsets), optional
        Seeds of source ``i`` are ``nodes[sources[i]:sources[i + 1]]`` with start
        offsets ``offsets[...]``: the source is at distance ``offset`` before the
        node (e.g. a point snapped onto an edge reaches both of its ends).
    targets_init : (nodes, offsets), optional
        Likewise for targets; ``offset`` is the time still needed after arriving at
        the node.  :func:`seeds_from_lists` builds these arrays from lists.
    limit : float
        Distances above it are ``inf``; it also prunes the searches.

    Returns
    -------
    ndarray of float64, shape (n_sources, n_targets)
        ``min over seeds (offset_s + dist(s, t) + offset_t)``, ``inf`` when unreachable.
    """
    if not limit >= 0:
        msg = f"limit must be >= 0, got {limit}"
        raise ValueError(msg)
    s_ptr, s_node, s_off = _seed_arrays(ch, sources, sources_init, "sources")
    t_ptr, t_node, t_off = _seed_arrays(ch, targets, targets_init, "targets")
    return _many_to_many_kernel(
        ch.n_nodes, ch.fwd_indptr, ch.fwd_head, ch.fwd_minutes, ch.bwd_indptr, ch.bwd_tail, ch.bwd_minutes,
        s_ptr, s_node, s_off, t_ptr, t_node, t_off, float(limit),
    )


# -- one hierarchy per road graph ---------------------------------------------------------

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()
_build_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def graph_hierarchy(graph) -> ContractionHierarchy:
    """The hierarchy of a :class:`~planner.graph.RoadGraph`, built on first use.

    It depends only on the graph, so it is kept for the graph object's lifetime
    (the web workspace cache keeps graphs in memory, and with them this).
    """
    with _cache_lock:
        ch = _cache.get(graph)
        if ch is not None:
            return ch
        lock = _build_locks.setdefault(graph, threading.Lock())
    with lock:  # concurrent requests on one graph build it once
        with _cache_lock:
            ch = _cache.get(graph)
        if ch is None:
            ch = build_hierarchy(graph.minutes)
            with _cache_lock:
                _cache[graph] = ch
    return ch


def has_hierarchy(graph) -> bool:
    """Whether :func:`graph_hierarchy` has already been built for ``graph``."""
    with _cache_lock:
        return graph in _cache


_ARRAY_PREFIX = "ch_"


def hierarchy_to_arrays(graph) -> dict[str, np.ndarray]:
    """``ch_*`` arrays of the graph's hierarchy if it has been built, else ``{}``."""
    with _cache_lock:
        ch = _cache.get(graph)
    if ch is None:
        return {}
    return {_ARRAY_PREFIX + k: v for k, v in ch.to_arrays().items()}


def hierarchy_from_arrays(graph, arrays: Mapping[str, np.ndarray]) -> ContractionHierarchy | None:
    """Attach a hierarchy stored by :func:`hierarchy_to_arrays` to ``graph``.

    Returns it, or None when the arrays hold none or one of another size (then it
    is simply rebuilt on first use).
    """
    names = ContractionHierarchy._ARRAYS
    if not all(_ARRAY_PREFIX + k in arrays for k in names):
        return None
    ch = ContractionHierarchy.from_arrays({k: arrays[_ARRAY_PREFIX + k] for k in names})
    if ch.n_nodes != graph.n_nodes or len(ch.fwd_indptr) != ch.n_nodes + 1 or len(ch.bwd_indptr) != ch.n_nodes + 1:
        return None
    with _cache_lock:
        _cache[graph] = ch
    return ch
