"""Network resilience: which villages a lost road segment cuts off, and what detours cost.

Model
-----
The analysis runs on the *main component* of the road graph (villages elsewhere are
already unreachable and are reported so).  Every usable village and target
(facility, town seat) is a node: a point snapped mid-edge splits its edge there, so
"segment" below means a piece of a road edge between two junctions, villages or
targets.  Points at the same position share a node; a point within 1e-9 of an
edge end uses that end.

Cut-off (connectivity, undirected)
    A segment whose loss disconnects the network is a *bridge* of the undirected
    multigraph (parallel segments between the same two nodes are never bridges).
    The network minus a bridge falls into two parts; the part *cut off* is the one
    without the *core*: the largest 2-edge-connected component (by node count), or
    the component of ``anchor_node`` when given.  Totals per bridge (villages,
    people, households, monitored households by kind, produce tonnes) are sums over
    the cut-off part, computed as subtree sums of a depth-first tree rooted in the
    core (Tarjan 1974, "A note on finding the bridges of a graph"): a bridge is a
    tree edge ``(p, c)`` with ``low[c] > pre[p]`` and the part it cuts off is the
    subtree of ``c``, so all totals cost O(V + E).  One-way restrictions are
    ignored here: a one-way road still connects (it is how a village gets out or
    in).  A village has *single access* when at least one bridge separates it from
    the core; its *access road* is the nearest such bridge.

    Bridges that cut off exactly the same villages (a chain along one dead-end
    road) form one *link*: losing any piece of it cuts off the same villages, so
    the ranking lists links, not pieces.

Detour minutes (directed travel times)
    Each village's *route* is its fastest path to the nearest target (directed,
    with one-way roads), as in :func:`planner.travel.nearest_times`; ties are broken
    by the search.  For a segment ``e`` on the routes of some villages, the detour
    of such a village is ``d_{G-e}(v) - d_G(v)``: its fastest time to any target
    once ``e`` is gone minus its time now (``inf`` when no target is reachable any
    more).  Villages whose route does not use ``e`` keep their time exactly (their
    route still exists and removing a road never shortens one), so only route
    users are counted.  ``d_{G-e}`` is exact: the villages whose route uses ``e``
    are the subtree below ``e`` in the shortest-path tree; every node outside it
    keeps its distance, so one Dijkstra restricted to that subtree, seeded from its
    boundary, gives the new times.  The cost is the sum of those subtree sizes, far
    below one full search per segment.

Times here are network minutes between the village's and the target's positions
on the road plus their off-road legs; they equal the accessibility times except
that two points on one segment are joined through their shared position.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numba import njit
from scipy.sparse.csgraph import connected_components

from planner._json import jsonable, records
from planner.graph import RoadGraph
from planner.snap import DEFAULT_MAX_SNAP_M, SnapResult, snap_points

__all__ = [
    "MEASURES",
    "PieceNetwork",
    "ResilienceResult",
    "brute_force_cut_off",
    "brute_force_detours",
    "cut_off_analysis",
    "detour_analysis",
    "resilience_analysis",
    "split_network",
    "village_measures",
    "warm_kernels",
]

_END_EPS = 1e-9
#: Village measures summed per cut-off part (besides the village count).
MONITORED = ("monitored_unstable", "monitored_marginal", "monitored_sudden")
MEASURES = ("population", "households", "monitored_households", *MONITORED, "produce_t")


# ------------------------------------------------------------------ piece network
@dataclass(frozen=True, eq=False)
class PieceNetwork:
    """Road edges split at snapped points: nodes, pieces, and where the points are.

    Attributes
    ----------
    n_nodes : int
    piece_u, piece_v : ndarray of int64
        Piece ends (in the edge's digitised direction).
    piece_edge : ndarray of int64
        Source edge of the graph.
    piece_from, piece_to : ndarray of float
        Fractions of the source edge the piece spans (``from < to``).
    piece_minutes : ndarray of float
    piece_oneway : ndarray of bool
    point_node : ndarray of int64
        Node of each input point (``-1`` when the point is not usable).
    """

    n_nodes: int
    piece_u: np.ndarray
    piece_v: np.ndarray
    piece_edge: np.ndarray
    piece_from: np.ndarray
    piece_to: np.ndarray
    piece_minutes: np.ndarray
    piece_oneway: np.ndarray
    point_node: np.ndarray

    @property
    def n_pieces(self) -> int:
        return len(self.piece_u)


def split_network(graph: RoadGraph, edge: np.ndarray, fraction: np.ndarray, *, edges=None) -> PieceNetwork:
    """Split graph edges at points given as ``(edge, fraction)``.

    Parameters
    ----------
    graph : RoadGraph
    edge : ndarray of int, shape (n_points,)
        Edge of each point, ``-1`` for a point left out.
    fraction : ndarray of float, shape (n_points,)
        Position along the edge from ``u`` (0) to ``v`` (1).
    edges : ndarray of int, optional
        The edges to keep (default: all); points on other edges are left out.
    """
    keep = np.arange(graph.n_edges) if edges is None else np.asarray(edges, dtype=np.int64)
    edge = np.asarray(edge, dtype=np.int64)
    fraction = np.asarray(fraction, dtype=float)
    kept = np.zeros(graph.n_edges, dtype=bool)
    kept[keep] = True
    usable = (edge >= 0) & np.isfinite(fraction)
    usable[usable] = kept[edge[usable]]
    point_node = np.full(len(edge), -1, dtype=np.int64)
    n = graph.n_nodes
    f = np.clip(np.where(usable, fraction, 0.0), 0.0, 1.0)
    at_u = usable & (f <= _END_EPS)
    at_v = usable & (f >= 1.0 - _END_EPS)
    point_node[at_u] = graph.edge_u[edge[at_u]]
    point_node[at_v] = graph.edge_v[edge[at_v]]
    mid = np.flatnonzero(usable & ~at_u & ~at_v)
    # one node per distinct (edge, fraction)
    key = pd.DataFrame({"e": edge[mid], "f": f[mid]})
    uniq = key.drop_duplicates().sort_values(["e", "f"]).reset_index(drop=True)
    uniq["node"] = n + np.arange(len(uniq))
    point_node[mid] = key.merge(uniq, on=["e", "f"], how="left")["node"].to_numpy()

    # pieces: kept edges without points stay whole; split edges become chains
    split_edges = uniq["e"].to_numpy()
    whole = keep[~np.isin(keep, split_edges)]
    pu = [graph.edge_u[whole]]
    pv = [graph.edge_v[whole]]
    pe = [whole]
    pf = [np.zeros(len(whole))]
    pt = [np.ones(len(whole))]
    if len(uniq):
        e_arr = uniq["e"].to_numpy()
        f_arr = uniq["f"].to_numpy()
        nodes = uniq["node"].to_numpy()
        first = np.r_[True, e_arr[1:] != e_arr[:-1]]
        last = np.r_[e_arr[1:] != e_arr[:-1], True]
        # u -> first point, point i -> point i+1 (same edge), last point -> v
        pu += [graph.edge_u[e_arr[first]], nodes[~last], nodes[last]]
        pv += [nodes[first], nodes[1:][~last[:-1]], graph.edge_v[e_arr[last]]]
        pe += [e_arr[first], e_arr[~last], e_arr[last]]
        pf += [np.zeros(first.sum()), f_arr[~last], f_arr[last]]
        pt += [f_arr[first], f_arr[1:][~last[:-1]], np.ones(last.sum())]
    piece_u = np.concatenate(pu).astype(np.int64)
    piece_v = np.concatenate(pv).astype(np.int64)
    piece_edge = np.concatenate(pe).astype(np.int64)
    piece_from = np.concatenate(pf)
    piece_to = np.concatenate(pt)
    order = np.lexsort((piece_from, piece_edge))
    piece_u, piece_v, piece_edge, piece_from, piece_to = (a[order] for a in
                                                          (piece_u, piece_v, piece_edge, piece_from, piece_to))
    minutes = graph.edge_minutes[piece_edge] * (piece_to - piece_from)
    return PieceNetwork(
        n_nodes=n + len(uniq), piece_u=piece_u, piece_v=piece_v, piece_edge=piece_edge, piece_from=piece_from,
        piece_to=piece_to, piece_minutes=minutes, piece_oneway=graph.edge_oneway[piece_edge].astype(bool),
        point_node=point_node,
    )


def _undirected_csr(n: int, u: np.ndarray, v: np.ndarray):
    """Adjacency as (indptr, neighbour, piece id), every piece listed at both ends."""
    m = len(u)
    src = np.r_[u, v]
    dst = np.r_[v, u]
    pid = np.r_[np.arange(m), np.arange(m)]
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    return indptr, dst[order].astype(np.int64), pid[order].astype(np.int64)


# ------------------------------------------------------------------ kernels
@njit(cache=True)
def _dfs_lowlink(n, indptr, nbr, eid, roots):
    """Iterative depth-first search with Tarjan's low-link over an undirected multigraph.

    The parent *piece* (not the parent node) is skipped, so a parallel piece is a
    back edge and never a bridge.  Returns preorder number per node (-1: not
    reached), nodes in preorder, parent node, parent piece, low and subtree size.
    """
    pre = np.full(n, -1, np.int64)
    low = np.zeros(n, np.int64)
    parent = np.full(n, -1, np.int64)
    pedge = np.full(n, -1, np.int64)
    size = np.ones(n, np.int64)
    order = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    nxt = np.empty(n, np.int64)
    t = 0
    for r in roots:
        if pre[r] >= 0:
            continue
        pre[r] = t
        low[r] = t
        order[t] = r
        t += 1
        nxt[r] = indptr[r]
        stack[0] = r
        top = 1
        while top > 0:
            x = stack[top - 1]
            k = nxt[x]
            if k < indptr[x + 1]:
                nxt[x] = k + 1
                e = eid[k]
                if e == pedge[x]:
                    continue
                y = nbr[k]
                if pre[y] < 0:
                    parent[y] = x
                    pedge[y] = e
                    pre[y] = t
                    low[y] = t
                    order[t] = y
                    t += 1
                    nxt[y] = indptr[y]
                    stack[top] = y
                    top += 1
                elif pre[y] < low[x]:
                    low[x] = pre[y]
            else:
                top -= 1
                p = parent[x]
                if p >= 0:
                    low[p] = min(low[p], low[x])
                    size[p] += size[x]
    return pre, order[:t], parent, pedge, low, size


@njit(cache=True)
def _subtree_sums(order, parent, weights):
    acc = weights.copy()
    for i in range(len(order) - 1, 0, -1):
        x = order[i]
        p = parent[x]
        if p >= 0:
            acc[p] += acc[x]
    return acc


@njit(cache=True)
def _bridge_paths(order, parent, pedge, is_bridge_node):
    """Per node: the nearest bridge towards the root, the farthest one, and how many."""
    n = len(parent)
    near = np.full(n, -1, np.int64)
    far = np.full(n, -1, np.int64)
    count = np.zeros(n, np.int64)
    for i in range(len(order)):
        x = order[i]
        p = parent[x]
        if p < 0:
            continue
        if is_bridge_node[x]:
            near[x] = pedge[x]
            count[x] = count[p] + 1
            far[x] = far[p] if count[p] > 0 else pedge[x]
        else:
            near[x] = near[p]
            count[x] = count[p]
            far[x] = far[p]
    return near, far, count


@njit(cache=True)
def _heap_push(hk, hv, size, key, val):
    i = size
    hk[i] = key
    hv[i] = val
    while i > 0:
        p = (i - 1) >> 1
        if hk[p] <= hk[i]:
            break
        hk[p], hk[i] = hk[i], hk[p]
        hv[p], hv[i] = hv[i], hv[p]
        i = p
    return size + 1


@njit(cache=True)
def _heap_pop(hk, hv, size):
    key = hk[0]
    val = hv[0]
    size -= 1
    hk[0] = hk[size]
    hv[0] = hv[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[i] <= hk[c]:
            break
        hk[c], hk[i] = hk[i], hk[c]
        hv[c], hv[i] = hv[i], hv[c]
        i = c
    return key, val, size


@njit(cache=True)
def _dijkstra_tree(n, indptr, head, w, seg, source):
    """Single-source Dijkstra returning distance, parent node and parent segment."""
    dist = np.full(n, np.inf)
    parent = np.full(n, -1, np.int64)
    pseg = np.full(n, -1, np.int64)
    done = np.zeros(n, np.bool_)
    cap = len(head) + 1
    hk = np.empty(cap)
    hv = np.empty(cap, np.int64)
    dist[source] = 0.0
    size = _heap_push(hk, hv, 0, 0.0, source)
    while size > 0:
        d, x, size = _heap_pop(hk, hv, size)
        if done[x]:
            continue
        done[x] = True
        for k in range(indptr[x], indptr[x + 1]):
            y = head[k]
            nd = d + w[k]
            if nd < dist[y]:
                dist[y] = nd
                parent[y] = x
                pseg[y] = seg[k]
                size = _heap_push(hk, hv, size, nd, y)
    return dist, parent, pseg


@njit(cache=True)
def _tree_preorder(n, parent, root):
    """Preorder number and subtree size of a tree given by parent pointers (root's parent -1)."""
    counts = np.zeros(n + 1, np.int64)
    for x in range(n):
        if parent[x] >= 0:
            counts[parent[x] + 1] += 1
    for i in range(n):
        counts[i + 1] += counts[i]
    child = np.empty(max(counts[n], 1), np.int64)
    fill = counts[:n].copy()
    for x in range(n):
        p = parent[x]
        if p >= 0:
            child[fill[p]] = x
            fill[p] += 1
    pre = np.full(n, -1, np.int64)
    size = np.ones(n, np.int64)
    order = np.empty(n, np.int64)
    stack = np.empty(n, np.int64)
    t = 0
    stack[0] = root
    top = 1
    while top > 0:
        top -= 1
        x = stack[top]
        pre[x] = t
        order[t] = x
        t += 1
        for k in range(counts[x], counts[x + 1]):
            stack[top] = child[k]
            top += 1
    for i in range(t - 1, 0, -1):
        x = order[i]
        size[parent[x]] += size[x]
    return pre, order[:t], size


@njit(cache=True)
def _replacement_times(indptr, head, w, seg, rindptr, rtail, rw, rseg, dist, pre, order, size,
                       seg_child, village_nodes_weight, people):
    """New distances of the subtree below each segment once that segment is gone.

    For segment j (tree arc into ``seg_child[j]``): nodes outside the subtree keep
    ``dist``; the subtree is searched from its boundary.  Returns, per segment, the
    sum / max of the added minutes over village nodes (weighted by the number of
    villages at the node), the number of village nodes delayed, the number cut off
    from every target, the person-minutes (``people`` per node), and per node the
    worst added minutes and its segment.
    """
    n = len(dist)
    m = len(seg_child)
    nd = np.full(n, np.inf)
    done = np.zeros(n, np.bool_)
    cap = len(head) + len(rtail) + n + 1
    hk = np.empty(cap)
    hv = np.empty(cap, np.int64)
    sum_add = np.zeros(m)
    person_min = np.zeros(m)
    max_add = np.zeros(m)
    n_delayed = np.zeros(m)
    n_lost = np.zeros(m)
    worst = np.zeros(n)
    worst_seg = np.full(n, -1, np.int64)
    for j in range(m):
        c = seg_child[j]
        lo = pre[c]
        hi = lo + size[c]
        remaining = 0.0
        size_h = 0
        for i in range(lo, hi):
            y = order[i]
            if village_nodes_weight[y] > 0:
                remaining += 1
            best = np.inf
            for k in range(rindptr[y], rindptr[y + 1]):
                if rseg[k] == j:
                    continue
                x = rtail[k]
                px = pre[x]
                if px >= lo and px < hi:
                    continue
                cand = dist[x] + rw[k]
                best = min(best, cand)
            nd[y] = best
            if best < np.inf:
                size_h = _heap_push(hk, hv, size_h, best, y)
        while size_h > 0 and remaining > 0:
            d, x, size_h = _heap_pop(hk, hv, size_h)
            if done[x] or d > nd[x]:
                continue
            done[x] = True
            if village_nodes_weight[x] > 0:
                remaining -= 1
            for k in range(indptr[x], indptr[x + 1]):
                if seg[k] == j:
                    continue
                y = head[k]
                py = pre[y]
                if py < lo or py >= hi or done[y]:
                    continue
                cand = d + w[k]
                if cand < nd[y]:
                    nd[y] = cand
                    size_h = _heap_push(hk, hv, size_h, cand, y)
        for i in range(lo, hi):
            y = order[i]
            wv = village_nodes_weight[y]
            if wv > 0:
                added = nd[y] - dist[y]
                if nd[y] == np.inf:
                    n_lost[j] += wv
                    added = np.inf
                elif added > 1e-9:
                    n_delayed[j] += wv
                    sum_add[j] += wv * added
                    person_min[j] += people[y] * added
                    max_add[j] = max(max_add[j], added)
                if added > worst[y]:
                    worst[y] = added
                    worst_seg[y] = j
            nd[y] = np.inf
            done[y] = False
    return sum_add, person_min, max_add, n_delayed, n_lost, worst, worst_seg


# ------------------------------------------------------------------ analyses
def cut_off_analysis(net: PieceNetwork, node_weights: np.ndarray, *, anchor_node: int | None = None) -> dict:
    """Bridges, what each cuts off, and each node's bridges towards the core.

    Parameters
    ----------
    net : PieceNetwork
    node_weights : ndarray, shape (n_nodes, k)
        Measures per node (e.g. villages, people); summed per cut-off part.
    anchor_node : int, optional
        A node of the core; default a node of the largest 2-edge-connected component.

    Returns
    -------
    dict
        ``is_bridge`` (per piece), ``cut`` (n_pieces × k: totals cut off by each
        piece's loss, zero for non-bridges and for pieces outside the anchor's
        component), ``child`` (per piece: the node on the cut-off side's end,
        -1 for non-bridges), ``pre``/``size`` (preorder interval of each node's
        subtree), ``near``/``far``/``count`` (per node: nearest and farthest bridge
        towards the core, number of bridges), ``root``, ``two_edge`` (2ECC label).
    """
    n = net.n_nodes
    weights = np.asarray(node_weights, dtype=float).reshape(n, -1)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return {"is_bridge": np.zeros(net.n_pieces, bool), "cut": np.zeros((net.n_pieces, weights.shape[1])),
                "child": np.full(net.n_pieces, -1), "pre": z, "size": z, "near": z, "far": z, "count": z,
                "root": -1, "two_edge": z, "in_main": np.zeros(0, bool)}
    indptr, nbr, eid = _undirected_csr(n, net.piece_u, net.piece_v)
    roots = np.arange(n, dtype=np.int64)
    pre, order, parent, pedge, low, _ = _dfs_lowlink(n, indptr, nbr, eid, roots)
    has_parent = parent >= 0
    bridge_child = np.flatnonzero(has_parent)
    bridge_child = bridge_child[low[bridge_child] > pre[parent[bridge_child]]]
    is_bridge = np.zeros(net.n_pieces, dtype=bool)
    is_bridge[pedge[bridge_child]] = True
    # 2-edge-connected components: connected components without the bridges
    keep = ~is_bridge
    adj = sp.coo_matrix((np.ones(int(keep.sum())), (net.piece_u[keep], net.piece_v[keep])), shape=(n, n))
    _, two_edge = connected_components(adj, directed=False)
    if anchor_node is None:
        touched = np.zeros(n, dtype=bool)
        touched[net.piece_u] = True
        touched[net.piece_v] = True
        sizes = np.bincount(two_edge[touched], minlength=two_edge.max() + 1) if touched.any() else np.ones(1)
        root = int(np.flatnonzero(two_edge == int(np.argmax(sizes)))[0]) if n else 0
    else:
        root = int(anchor_node)
    # second search from the core: every bridge's child side is then the cut-off part
    roots = np.r_[root, np.arange(n)].astype(np.int64)
    pre, order, parent, pedge, low, size = _dfs_lowlink(n, indptr, nbr, eid, roots)
    is_bridge_node = np.zeros(n, dtype=bool)
    has_parent = parent >= 0
    is_bridge_node[has_parent] = is_bridge[pedge[has_parent]]
    acc = _subtree_sums(order, parent, weights) if n else weights
    # only the anchor's component: the first tree of the search
    in_main = np.zeros(n, dtype=bool)
    if n:
        in_main[order[: size[root]]] = True
    child = np.full(net.n_pieces, -1, dtype=np.int64)
    cnodes = np.flatnonzero(is_bridge_node & in_main)
    child[pedge[cnodes]] = cnodes
    cut = np.zeros((net.n_pieces, weights.shape[1]))
    cut[pedge[cnodes]] = acc[cnodes]
    near, far, count = _bridge_paths(order, parent, pedge, is_bridge_node & in_main)
    return {"is_bridge": is_bridge, "cut": cut, "child": child, "pre": pre, "size": size, "near": near,
            "far": far, "count": count, "root": root, "two_edge": two_edge, "in_main": in_main}


def _search_arrays(net: PieceNetwork, target_nodes: np.ndarray, target_offsets: np.ndarray):
    """CSR of the reversed travel graph plus a super source (last node) → targets.

    Searching it from the super source gives every node's time *to* its nearest
    target.  Arc ``k`` carries its piece in ``seg`` (-1 for super-source arcs).
    """
    n = net.n_nodes
    u, v, t, one = net.piece_u, net.piece_v, net.piece_minutes, net.piece_oneway
    pid = np.arange(net.n_pieces)
    # travel arcs u->v (always) and v->u (two-way); reversed for a search from targets
    tail = np.r_[v, u[~one]]
    head = np.r_[u, v[~one]]
    w = np.r_[t, t[~one]]
    seg = np.r_[pid, pid[~one]]
    src = n
    ok = target_nodes >= 0
    tail = np.r_[tail, np.full(int(ok.sum()), src)]
    head = np.r_[head, target_nodes[ok]]
    w = np.r_[w, target_offsets[ok]]
    seg = np.r_[seg, np.full(int(ok.sum()), -1)]
    size = n + 1

    def csr(a, b):
        order = np.argsort(a, kind="stable")
        indptr = np.zeros(size + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=size), out=indptr[1:])
        return indptr, b[order].astype(np.int64), w[order].astype(float), seg[order].astype(np.int64)

    return csr(tail, head), csr(head, tail), src


def detour_analysis(net: PieceNetwork, village_nodes: np.ndarray, village_weight: np.ndarray,
                    target_nodes: np.ndarray, target_offsets: np.ndarray) -> dict:
    """Travel minutes to the nearest target and the exact added minutes per lost segment.

    Parameters
    ----------
    net : PieceNetwork
    village_nodes : ndarray of int
        Node of each village (-1: not on the network).
    village_weight : ndarray of float
        Per village, e.g. people (for person-minutes).
    target_nodes, target_offsets : ndarray
        Node and off-road minutes of each target.

    Returns
    -------
    dict
        ``dist`` (per node, minutes to the nearest target), ``route_piece`` (per
        piece: True when on some village's route), and per piece ``villages_delayed``,
        ``added_min_sum`` (village-minutes), ``added_min_max``, ``person_min``,
        ``villages_lost`` (cut off from every target); per village
        ``worst_added_min`` and ``worst_piece``.
    """
    n = net.n_nodes
    (f_ptr, f_head, f_w, f_seg), (r_ptr, r_tail, r_w, r_seg), src = _search_arrays(
        net, np.asarray(target_nodes, dtype=np.int64), np.asarray(target_offsets, dtype=float))
    dist, parent, pseg = _dijkstra_tree(n + 1, f_ptr, f_head, f_w, f_seg, src)
    pre, order, size = _tree_preorder(n + 1, parent, src)
    vn = np.asarray(village_nodes, dtype=np.int64)
    on = vn >= 0
    count = np.zeros(n + 1)
    np.add.at(count, vn[on], 1.0)
    people = np.zeros(n + 1)
    np.add.at(people, vn[on], np.asarray(village_weight, dtype=float)[on])
    below = _subtree_sums(order, parent, count.reshape(-1, 1))[:, 0]
    route_child = np.flatnonzero((parent >= 0) & (pseg >= 0) & (below > 0))
    m = net.n_pieces
    out = {k: np.zeros(m) for k in ("villages_delayed", "added_min_sum", "added_min_max", "person_min",
                                     "villages_lost")}
    route_piece = np.zeros(m, dtype=bool)
    route_piece[pseg[route_child]] = True
    worst = np.zeros(len(vn))
    worst_piece = np.full(len(vn), -1, dtype=np.int64)
    if len(route_child):
        # remap: kernel segment index j == position in route_child; arcs of other pieces get -2
        local = np.full(m, -2, dtype=np.int64)
        local[pseg[route_child]] = np.arange(len(route_child))

        def remap(s):
            return np.where(s >= 0, local[np.maximum(s, 0)], -2)

        sum_add, p_sum, max_add, n_del, n_lost, worst_node, worst_seg = _replacement_times(
            f_ptr, f_head, f_w, remap(f_seg), r_ptr, r_tail, r_w, remap(r_seg), dist, pre, order, size,
            route_child, count, people)
        pieces = pseg[route_child]
        out["villages_delayed"][pieces] = n_del
        out["added_min_sum"][pieces] = sum_add
        out["added_min_max"][pieces] = max_add
        out["person_min"][pieces] = p_sum
        out["villages_lost"][pieces] = n_lost
        worst[on] = worst_node[vn[on]]
        ws = worst_seg[vn[on]]
        worst_piece[on] = np.where(ws >= 0, pseg[route_child][np.maximum(ws, 0)], -1)
    return {"dist": dist[:n], "route_piece": route_piece, "worst_added_min": worst, "worst_piece": worst_piece,
            **out}


def warm_kernels() -> None:
    """Compile (or load from numba's cache) the kernels on a three-node network, so the
    first real request does not pay for it (a server calls this in the background)."""
    net = PieceNetwork(n_nodes=3, piece_u=np.array([0, 1, 1]), piece_v=np.array([1, 2, 2]),
                       piece_edge=np.arange(3), piece_from=np.zeros(3), piece_to=np.ones(3),
                       piece_minutes=np.ones(3), piece_oneway=np.zeros(3, dtype=bool),
                       point_node=np.zeros(0, dtype=np.int64))
    cut_off_analysis(net, np.ones((3, 1)))
    detour_analysis(net, np.array([2]), np.array([1.0]), np.array([0]), np.array([0.0]))


# ------------------------------------------------------------------ brute force references
def brute_force_cut_off(net: PieceNetwork, node_weights: np.ndarray, *, anchor_node: int,
                        pieces=None) -> np.ndarray:
    """Reference: remove each piece, recompute connectivity, sum what left the anchor's part.

    O(E·(V+E)); for tests and benchmarks only.  Returns (len(pieces), k).
    """
    n = net.n_nodes
    weights = np.asarray(node_weights, dtype=float).reshape(n, -1)
    pieces = np.arange(net.n_pieces) if pieces is None else np.asarray(pieces)
    full = sp.coo_matrix((np.ones(net.n_pieces), (net.piece_u, net.piece_v)), shape=(n, n)).tocsr()
    _, base = connected_components(full, directed=False)
    main = base == base[anchor_node]
    out = np.zeros((len(pieces), weights.shape[1]))
    for i, p in enumerate(pieces):
        keep = np.arange(net.n_pieces) != p
        adj = sp.coo_matrix((np.ones(int(keep.sum())), (net.piece_u[keep], net.piece_v[keep])), shape=(n, n))
        _, lab = connected_components(adj, directed=False)
        lost = main & (lab != lab[anchor_node])
        out[i] = weights[lost].sum(axis=0)
    return out


def brute_force_detours(net: PieceNetwork, village_nodes, target_nodes, target_offsets, *, pieces=None):
    """Reference: remove each piece, rerun a full search, compare every village's time.

    Returns ``(base_minutes per village, added minutes (len(pieces), n_villages))``
    with ``inf`` for villages that lose every target.
    """
    from scipy.sparse.csgraph import dijkstra

    n = net.n_nodes
    vn = np.asarray(village_nodes, dtype=np.int64)
    pieces = np.arange(net.n_pieces) if pieces is None else np.asarray(pieces)

    def times(drop):
        keep = np.arange(net.n_pieces) != drop
        u, v, t, one = net.piece_u[keep], net.piece_v[keep], net.piece_minutes[keep], net.piece_oneway[keep]
        tn = np.asarray(target_nodes)
        ok = tn >= 0
        rows = np.r_[u, v[~one], tn[ok]]          # travel direction village -> target ...
        cols = np.r_[v, u[~one], np.full(int(ok.sum()), n)]
        vals = np.r_[t, t[~one], np.asarray(target_offsets, dtype=float)[ok]]
        # ... searched backwards from the sink n; duplicates keep their minimum
        from planner.graph import _csr_min

        g = _csr_min(cols.astype(np.int64), rows.astype(np.int64), vals.astype(float), (n + 1, n + 1))
        d = dijkstra(g, directed=True, indices=n)
        return np.where(vn >= 0, d[np.maximum(vn, 0)], np.inf)

    base = times(-1)
    added = np.empty((len(pieces), len(vn)))
    for i, p in enumerate(pieces):
        new = times(p)
        with np.errstate(invalid="ignore"):
            added[i] = np.where(np.isfinite(base), new - base, np.nan)
    return base, added


# ------------------------------------------------------------------ county-level result
def _measure(villages, col: str) -> np.ndarray:
    if col not in villages.columns:
        return np.zeros(len(villages))
    return pd.to_numeric(villages[col], errors="coerce").fillna(0).to_numpy(dtype=float)


def village_measures(villages) -> pd.DataFrame:
    """The measures counted per cut-off part: people, households, monitored households
    (三类户: unstable, marginal, sudden, and their total), produce tonnes (all
    ``produce_*_t`` columns summed)."""
    out = pd.DataFrame({"population": _measure(villages, "population"),
                        "households": _measure(villages, "households")})
    for col in MONITORED:
        out[col] = _measure(villages, col)
    out["monitored_households"] = out[list(MONITORED)].sum(axis=1)
    produce = [c for c in villages.columns if c.startswith("produce_") and c.endswith("_t")]
    out["produce_t"] = sum((_measure(villages, c) for c in produce), np.zeros(len(villages)))
    return out[list(MEASURES)]


@dataclass(frozen=True, eq=False)
class ResilienceResult:
    """Result of :func:`resilience_analysis`.

    Attributes
    ----------
    links : DataFrame
        One row per link (bridges cutting off the same villages), ranked: ``rank``,
        ``link``, ``pieces`` (list of piece ids), ``road_ids`` (list), ``length_m``,
        ``villages_cut`` and the :data:`MEASURES` cut off (``<measure>_cut``),
        ``village_ids`` (list, in the villages' order), ``villages_lost_target``.
    segments : DataFrame
        One row per piece: ``piece``, ``edge``, ``road_id``, ``road_row``,
        ``from_fraction``, ``to_fraction``, ``length_m``, ``minutes``, ``bridge``,
        ``link`` (-1 if none), cut-off totals, and the detour columns
        ``on_route``, ``villages_delayed``, ``added_min_sum`` (village-minutes),
        ``added_min_max``, ``person_min``, ``villages_lost`` (villages that lose every
        target: for a bridge, those cut off from all targets).
    detours : DataFrame
        The non-bridge pieces on some village's route, ranked by person-minutes.
    villages : DataFrame
        One row per village: ``village_id``, ``village_name``, ``town``, ``status``
        (``"on_network"`` or the snap reason), ``single_access``, ``bridges``
        (count towards the core), ``access_road_id`` / ``access_link`` (nearest
        bridge), ``critical_link`` (the bridge nearest the core), ``minutes`` to the
        nearest target, ``worst_added_min`` and ``worst_road_id``.
    totals : dict
    """

    links: pd.DataFrame
    segments: pd.DataFrame
    detours: pd.DataFrame
    villages: pd.DataFrame
    totals: dict

    def to_dict(self, *, top: int | None = 20) -> dict[str, Any]:
        def head(frame):
            return frame if top is None else frame.head(top)

        seg_cols = ["piece", "edge", "road_id", "from_fraction", "to_fraction", "length_m", "minutes",
                    "villages_delayed", "added_min_sum", "added_min_max", "person_min", "villages_lost"]
        return {
            "totals": jsonable(self.totals),
            "links": records(head(self.links)),
            "detours": records(head(self.detours)[[c for c in seg_cols if c in self.detours.columns]]),
            "single_access_villages": records(self.villages[self.villages["single_access"]]),
        }


def resilience_analysis(
    graph: RoadGraph,
    villages,
    targets=None,
    *,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    anchor_xy: tuple[float, float] | None = None,
    village_snap: SnapResult | None = None,
    target_snap: SnapResult | None = None,
) -> ResilienceResult:
    """Single-access villages, the ranking of links by what their loss cuts off, and detours.

    Parameters
    ----------
    graph : RoadGraph
    villages : geopandas.GeoDataFrame
        Village points (``code``, ``name``, ``town`` and the measures of
        :func:`village_measures`; missing measures count as 0).
    targets : geopandas.GeoDataFrame, optional
        Where villagers travel (town seats, cold stores) for the detour minutes;
        without targets only the cut-off analysis runs.
    max_snap_m : float
        As in :func:`planner.snap.snap_points`; villages are snapped to the main
        component.
    anchor_xy : (x, y), optional
        A point of the core in the graph CRS (e.g. the county seat): the node
        nearest to it decides which side of a bridge counts as "cut off".
        Default: the largest 2-edge-connected component.

    Returns
    -------
    ResilienceResult
    """
    sv = village_snap if village_snap is not None else snap_points(
        graph, villages, max_snap_m=max_snap_m, main_component_only=True,
        id_column="code" if "code" in villages.columns else None)
    main_edges = np.flatnonzero(graph.edge_component == graph.main_component)
    have_targets = targets is not None and len(targets) > 0
    st = None
    if have_targets:
        st = target_snap if target_snap is not None else snap_points(graph, targets, max_snap_m=max_snap_m,
                                                                     main_component_only=True)
    nv = len(sv)
    edge = np.r_[np.where(sv.ok, sv.edge, -1), np.where(st.ok, st.edge, -1) if st is not None else []].astype(np.int64)
    frac = np.r_[sv.fraction, st.fraction if st is not None else []]
    net = split_network(graph, edge, frac, edges=main_edges)
    vnode = net.point_node[:nv]
    tnode = net.point_node[nv:]

    meas = village_measures(villages)
    on = vnode >= 0
    weights = np.zeros((net.n_nodes, 1 + len(MEASURES)))
    np.add.at(weights, vnode[on], np.c_[np.ones(int(on.sum())), meas.to_numpy()[on]])
    anchor = None
    if anchor_xy is not None and len(main_edges):
        nodes = np.unique(np.r_[graph.edge_u[main_edges], graph.edge_v[main_edges]])
        anchor = int(nodes[np.argmin(np.hypot(*(graph.node_xy[nodes] - np.asarray(anchor_xy, dtype=float)).T))])
    cut = cut_off_analysis(net, weights, anchor_node=anchor)
    is_bridge, child = cut["is_bridge"], cut["child"]

    # links: bridges cutting off the same village set (a contiguous preorder range of villages)
    vpre = np.where(on, cut["pre"][np.maximum(vnode, 0)], -1)
    vorder = np.argsort(np.where(on, vpre, np.iinfo(np.int64).max), kind="stable")
    sorted_pre = vpre[vorder]
    n_on = int(on.sum())
    sorted_pre = sorted_pre[:n_on]
    cut_pieces = np.flatnonzero((child >= 0) & (cut["cut"][:, 0] > 0))
    lo = np.searchsorted(sorted_pre, cut["pre"][child[cut_pieces]], side="left")
    hi = np.searchsorted(sorted_pre, cut["pre"][child[cut_pieces]] + cut["size"][child[cut_pieces]], side="left")
    link_of_piece = np.full(net.n_pieces, -1, dtype=np.int64)
    if len(cut_pieces):
        keys = pd.DataFrame({"lo": lo, "hi": hi})
        link_id = keys.groupby(["lo", "hi"], sort=False).ngroup().to_numpy()
        link_of_piece[cut_pieces] = link_id

    # detours
    det = None
    if have_targets:
        det = detour_analysis(net, vnode, meas["population"].to_numpy(), tnode, np.where(st.ok, st.access_min, 0.0))

    # -- segments table
    length = graph.edge_length_m[net.piece_edge] * (net.piece_to - net.piece_from)
    seg = pd.DataFrame({
        "piece": np.arange(net.n_pieces), "edge": net.piece_edge, "road_id": graph.edge_road_id[net.piece_edge],
        "road_row": graph.edge_road[net.piece_edge], "from_fraction": net.piece_from,
        "to_fraction": net.piece_to, "length_m": length, "minutes": net.piece_minutes, "bridge": is_bridge,
        "link": link_of_piece, "villages_cut": cut["cut"][:, 0],
    })
    for i, col in enumerate(MEASURES):
        seg[f"{col}_cut"] = cut["cut"][:, 1 + i]
    if det is not None:
        seg["on_route"] = det["route_piece"]
        for col in ("villages_delayed", "added_min_sum", "added_min_max", "person_min", "villages_lost"):
            seg[col] = det[col]

    # -- links table
    ids = sv.ids
    if len(cut_pieces):
        grouped = seg.iloc[cut_pieces].assign(lo=lo, hi=hi)
        agg = {"pieces": ("piece", list), "road_ids": ("road_id", lambda s: sorted(set(map(str, s)))),
               "length_m": ("length_m", "sum"), "lo": ("lo", "first"), "hi": ("hi", "first"),
               "villages_cut": ("villages_cut", "first"),
               **{f"{m}_cut": (f"{m}_cut", "first") for m in MEASURES}}
        if det is not None:
            agg["villages_lost_target"] = ("villages_lost", "max")
        links = grouped.groupby("link", sort=False).agg(**agg).reset_index()
        links["village_ids"] = [sorted(ids[vorder[a:b]].tolist()) for a, b in zip(links["lo"], links["hi"])]
        links = links.drop(columns=["lo", "hi"])
        links = links.sort_values(["population_cut", "villages_cut", "monitored_households_cut", "produce_t_cut",
                                   "length_m"], ascending=[False, False, False, False, True], kind="stable")
        links.insert(0, "rank", np.arange(1, len(links) + 1))
        links = links.reset_index(drop=True)
    else:
        links = pd.DataFrame(columns=["rank", "link", "pieces", "road_ids", "length_m", "villages_cut",
                                      *[f"{m}_cut" for m in MEASURES], "village_ids"])

    if det is not None:
        detours = seg[seg["on_route"] & ~seg["bridge"] & (seg["villages_delayed"] > 0)]
        detours = detours.sort_values(["person_min", "added_min_max"], ascending=False, kind="stable")
        detours = detours.reset_index(drop=True)
    else:
        detours = seg.iloc[:0]

    # -- villages table
    # why a village is off the main network: the one rule of every output (a scenario's
    # closures: scenario_blocked), "off_main_network" when that rule has nothing to say
    from planner.travel import point_reasons

    off_reason = point_reasons(graph, sv, st)
    town = villages["town"].fillna("").astype(str).to_numpy() if "town" in villages.columns else np.full(nv, "")
    vsafe = np.maximum(vnode, 0)
    count = np.where(on, cut["count"][vsafe], 0)
    near = np.where(on, cut["near"][vsafe], -1)
    far = np.where(on, cut["far"][vsafe], -1)
    vt = pd.DataFrame({
        "village_id": ids, "village_name": sv.names, "town": town,
        "status": np.where(on, "on_network", np.where(off_reason == "", "off_main_network", off_reason)),
        "single_access": count > 0, "bridges": count,
        "access_road_id": np.where(near >= 0, graph.edge_road_id[net.piece_edge[np.maximum(near, 0)]], None),
        "access_link": np.where(near >= 0, link_of_piece[np.maximum(near, 0)], -1),
        "critical_link": np.where(far >= 0, link_of_piece[np.maximum(far, 0)], -1),
    })
    vt = pd.concat([vt, meas.reset_index(drop=True)], axis=1)
    if det is not None:
        minutes = np.where(on, det["dist"][vsafe], np.inf) + np.where(on, sv.access_min, 0.0)
        vt["minutes"] = minutes
        vt["worst_added_min"] = det["worst_added_min"]
        wp = det["worst_piece"]
        vt["worst_road_id"] = np.where(wp >= 0, graph.edge_road_id[net.piece_edge[np.maximum(wp, 0)]], None)

    totals = {
        "villages": int(nv), "villages_on_network": int(n_on),
        "villages_single_access": int(vt["single_access"].sum()),
        "population_single_access": float(vt.loc[vt["single_access"], "population"].sum()),
        "monitored_households_single_access": float(vt.loc[vt["single_access"], "monitored_households"].sum()),
        "segments": int(net.n_pieces), "bridges": int(is_bridge.sum()),
        "bridges_cutting_villages": len(cut_pieces), "links": len(links),
        "targets": len(st) if st is not None else 0,
        "targets_on_network": int((tnode >= 0).sum()) if st is not None else 0,
    }
    return ResilienceResult(links=links, segments=seg, detours=detours, villages=vt, totals=totals)
