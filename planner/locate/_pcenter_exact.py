"""The p-center's inner question -- "can ``p`` sites cover every point within ``r``?" -- answered fast.

The vertex p-center optimum is one of the distinct travel times, and at a
given radius the question is a set-covering decision (Minieka 1970; Daskin
1995, *Network and Discrete Location*, ch. 5).  The exact methods of
Daskin (2000, *Comm. Oper. Res. Soc. Japan* 45(9)), Elloumi, Labbe & Pochet
(2004, A new formulation and resolution method for the p-center problem,
*INFORMS J. Computing* 16(1), 84-94), Calik & Tansel (2013, Double bound
method for solving the p-center location problem, *Computers & OR* 40(12),
2991-2999) and Contardo, Iori & Kramer (2019, A scalable exact algorithm
for the vertex p-center problem, *Computers & OR* 103) all come down to
answering it on a reduced matrix, with cheap bounds settling most radii
before an integer program runs.  :func:`cover_decision_rowgen` asks it
first of all points (packing bound, greedy, :func:`swap_search`), then of a
growing subset of them (row generation, Chen & Chen 2009; Contardo et al.
2019), each subset question answered by :func:`cover_decision`:

1. reductions (Toregas et al. 1971; Daskin 2000): a point whose set of
   covering sites contains another point's set is covered whenever that one
   is (row dominated); a site whose covered set is inside another site's is
   never needed (column dominated); repeated until stable;
2. a packing lower bound: points whose covering sets are pairwise disjoint
   need one site each, so more than ``p`` of them prove "no" (the
   combinatorial bound behind Elloumi, Labbe & Pochet's and Contardo et al.'s
   lower bounds);
3. greedy set cover (Chvatal 1979): ``<= p`` sites prove "yes"; then the
   weighted swap local search (:func:`swap_search`);
4. for small ``p``, a depth-first search branching on the point with the
   fewest covering sites, pruned by the packing bound (node-limited);
5. otherwise HiGHS on the reduced set-covering MILP (min sites, ``<= p``).
"""
from __future__ import annotations

import functools

import math
import time

import numpy as np
import scipy.sparse as sp
from numba import njit

from ._highs import solve_milp

__all__ = ["cover_decision", "cover_decision_rowgen", "farthest_first", "packing_lower_bound", "swap_search"]

# Above this many multiply-adds the dominance products are skipped (the MILP
# presolve does a weaker form itself).
_DOMINANCE_WORK = 3e9
# Depth-first search first for this few sites (depth = p); beyond, straight to the MILP.
_DFS_MAX_P = 12
_DFS_NODES = 300_000
_DFS_NODES_PER_S = 300_000
# Moves of the swap local search per question: _SWAP_ITER + _SWAP_ITER_PER_SITE * p (numba:
# 1000 moves take about 0.03-0.08 s at 900 x 900).  Large p needs more moves (900/90: 5000).
_SWAP_ITER = 1000
_SWAP_ITER_PER_SITE = 50


def _dominance_reduce(a: np.ndarray, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop dominated rows and columns of a dense boolean matrix until stable (or ``deadline``).

    Returns ``(a_reduced, kept_rows, kept_cols)``; stopping early leaves a
    valid, less reduced matrix.
    """
    rows = np.arange(a.shape[0])
    cols = np.arange(a.shape[1])
    # Empty and repeated columns go first, by hashing their packed bits: on a
    # subset of the points most candidates look alike, and the products below
    # grow with the square of the column count.
    if a.shape[0] and a.shape[1] > 1:
        packed = np.packbits(a, axis=0).T.copy()
        _u, first = np.unique(packed.view(np.dtype((np.void, packed.shape[1]))).ravel(), return_index=True)
        keep = np.zeros(a.shape[1], dtype=bool)
        keep[first] = True
        keep &= a.any(axis=0)
        a = a[:, keep]
        cols = cols[keep]
    for _ in range(6):
        if deadline is not None and time.perf_counter() > deadline:
            break
        changed = False
        nr, nc = a.shape
        if nr == 0 or nc == 0:
            break
        if float(nr) * nr * nc <= _DOMINANCE_WORK and nr > 1:
            f = a.astype(np.float32)
            inter = f @ f.T  # |S_i & S_k|
            size = f.sum(axis=1)
            # Row k is implied by row i when S_i is inside S_k (i != k); among equal rows keep the first.
            sub = inter >= size[:, None] - 0.5  # sub[i, k]: S_i inside S_k
            np.fill_diagonal(sub, False)
            eq = sub & sub.T
            strict = sub & ~eq
            later_eq = np.triu(eq, 1)  # i < k, equal sets: drop k
            drop = strict.any(axis=0) | later_eq.any(axis=0)
            if drop.any():
                a = a[~drop]
                rows = rows[~drop]
                changed = True
        nr, nc = a.shape
        if float(nc) * nc * nr <= _DOMINANCE_WORK and nc > 1:
            f = a.astype(np.float32)
            inter = f.T @ f
            size = f.sum(axis=0)
            sub = inter >= size[:, None] - 0.5  # sub[j, k]: column j inside column k
            np.fill_diagonal(sub, False)
            eq = sub & sub.T
            drop = (sub & ~eq).any(axis=1) | np.tril(eq, -1).any(axis=1)  # equal: keep the first
            drop |= size == 0
            if drop.any():
                a = a[:, ~drop]
                cols = cols[~drop]
                changed = True
        if not changed:
            break
    return a, rows, cols


def _packing_bound(a: np.ndarray) -> int:
    """Points with pairwise disjoint covering sets (greedy, smallest sets first): each needs its own site."""
    size = a.sum(axis=1)
    blocked = np.zeros(a.shape[1], dtype=bool)
    count = 0
    for i in np.argsort(size, kind="stable"):
        row = a[i]
        if not (row & blocked).any():
            blocked |= row
            count += 1
    return count


def greedy_cover(a: np.ndarray, limit: int) -> np.ndarray | None:
    """Chvatal's greedy cover, given up once it needs more than ``limit`` sites."""
    uncovered = np.ones(a.shape[0], dtype=bool)
    chosen = []
    # Gains kept up to date by subtracting the rows each pick covers: O(nnz)
    # in all instead of a full product per pick (0.1 s a call at 900 x 900, p = 90).
    gain = a.sum(axis=0, dtype=np.int64)
    while uncovered.any():
        if len(chosen) >= limit:
            return None
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            return None
        chosen.append(j)
        newly = uncovered & a[:, j]
        gain -= a[newly].sum(axis=0, dtype=np.int64)
        uncovered &= ~newly
    return np.asarray(chosen, dtype=np.int64)


def swap_moves_allowed(p: int) -> int:
    return _SWAP_ITER + _SWAP_ITER_PER_SITE * p if _SWAP_ITER > 0 else 0


def swap_search(a: np.ndarray, p: int, start=None, *, max_iter: int = 400, deadline: float = math.inf):
    """Look for ``p`` columns covering every row by weighted swap local search; None if not found.

    The "is radius r achievable?" local search of the p-center heuristics
    (Mladenovic, Labbe & Hansen 2003, Solving the p-center problem with tabu
    search and variable neighborhood search, *Networks* 42(1), 48-64; Pullan
    2008): from ``start`` (filled up greedily), repeatedly add a site covering
    the heaviest uncovered point and drop the open site whose removal
    uncovers the least weight, a just-dropped site not re-added for two moves.
    Each move raises the weight of the points still uncovered by one
    (clause weighting), so the search leaves plateaus instead of cycling.
    Deterministic (ties go to the first point, site and slot scanned).  A found cover proves "yes";
    not finding one proves nothing.
    """
    a = np.asarray(a, dtype=bool)
    n, m = a.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if p <= 0 or not a.any(axis=1).all():
        return None
    s = [] if start is None else [int(j) for j in dict.fromkeys(np.asarray(start, dtype=np.int64).tolist())][:p]
    is_open = np.zeros(m, dtype=bool)
    is_open[s] = True
    cnt = a[:, s].sum(axis=1).astype(np.int64) if s else np.zeros(n, dtype=np.int64)
    if len(s) < min(p, m):
        gain = (cnt == 0) @ a.astype(np.int64)
        while len(s) < min(p, m):
            gain[is_open] = -1
            j = int(np.argmax(gain))
            s.append(j)
            is_open[j] = True
            newly = (cnt == 0) & a[:, j]
            gain -= newly @ a.astype(np.int64) if newly.any() else 0
            cnt += a[:, j]
    csr = sp.csr_matrix(a)
    csc = sp.csr_matrix(a.T)
    s_arr = np.asarray(s, dtype=np.int64)
    w = np.ones(n, dtype=np.int64)
    banned_until = np.zeros(m, dtype=np.int64)
    args = (csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csc.indptr.astype(np.int64),
            csc.indices.astype(np.int64), cnt, w, is_open, banned_until, s_arr)
    done = 0
    while done < max_iter:
        chunk = min(64, max_iter - done)
        if _swap_moves(*args, done, done + chunk):
            return np.sort(s_arr)
        done += chunk
        if time.perf_counter() > deadline:
            break
    return None


@njit(cache=True)
def _swap_moves(row_ptr, row_idx, col_ptr, col_idx, cnt, w, is_open, banned_until, s, it0, it1):
    """Moves ``it0 .. it1 - 1`` of :func:`swap_search` (state updated in place); True once all rows are covered."""
    n = cnt.shape[0]
    p = s.shape[0]
    mark = np.full(n, -1, dtype=np.int64)
    for it in range(it0, it1):
        # The heaviest uncovered point; ties: fewest covering sites, then lowest index.
        best_i = -1
        for i in range(n):
            if cnt[i] == 0:
                if best_i < 0 or w[i] > w[best_i] or (
                        w[i] == w[best_i] and row_ptr[i + 1] - row_ptr[i] < row_ptr[best_i + 1] - row_ptr[best_i]):
                    best_i = i
        if best_i < 0:
            return True
        # Weight each open site alone covers (lost when it closes).
        loss = np.zeros(p, dtype=np.int64)
        for k in range(p):
            jk = s[k]
            for t in range(col_ptr[jk], col_ptr[jk + 1]):
                r = col_idx[t]
                if cnt[r] == 1:
                    loss[k] += w[r]
        best_d = np.iinfo(np.int64).max
        best_k = -1
        best_j = -1
        for pass_ in range(2):  # second pass ignores the ban when every candidate is banned
            for t in range(row_ptr[best_i], row_ptr[best_i + 1]):
                j = row_idx[t]
                if is_open[j] or (pass_ == 0 and banned_until[j] > it):
                    continue
                gain = 0
                for u in range(col_ptr[j], col_ptr[j + 1]):
                    r = col_idx[u]
                    mark[r] = j
                    if cnt[r] == 0:
                        gain += w[r]
                for k in range(p):
                    jk = s[k]
                    keep = 0
                    for u in range(col_ptr[jk], col_ptr[jk + 1]):
                        r = col_idx[u]
                        if cnt[r] == 1 and mark[r] == j:
                            keep += w[r]
                    d = loss[k] - keep - gain
                    if d < best_d:
                        best_d, best_k, best_j = d, k, j
            if best_j >= 0:
                break
        if best_j < 0:
            return False
        old = s[best_k]
        for u in range(col_ptr[old], col_ptr[old + 1]):
            cnt[col_idx[u]] -= 1
        for u in range(col_ptr[best_j], col_ptr[best_j + 1]):
            cnt[col_idx[u]] += 1
        is_open[old] = False
        is_open[best_j] = True
        s[best_k] = best_j
        banned_until[old] = it + 3
        covered = True
        for i in range(n):
            if cnt[i] == 0:
                w[i] += 1
                covered = False
        if covered:
            return True
    for i in range(n):
        if cnt[i] == 0:
            return False
    return True


def cover_decision(a, p: int, deadline: float):
    """Can at most ``p`` columns of the boolean matrix ``a`` cover every row?

    Parameters
    ----------
    a : array_like or sparse, shape (n, m)
        ``a[i, j]`` = site ``j`` reaches point ``i`` within the radius.
    p : int
        Sites allowed.
    deadline : float
        ``time.perf_counter()`` value for the MILP's time limit.

    Returns
    -------
    (answer, cols, how)
        ``answer`` True (``cols`` = a cover of at most ``p`` column indices),
        False (proven impossible) or None (undecided by the deadline); ``how``
        names what settled it ("reduction", "packing", "greedy", "swap-search", "search", "highs-milp").
    """
    a = np.asarray(a.toarray() if sp.issparse(a) else a, dtype=bool)
    if a.shape[0] == 0:
        return True, np.zeros(0, dtype=np.int64), "trivial"
    if not a.any(axis=1).all():
        return False, None, "reduction"
    ar, _rows, cols = _dominance_reduce(a, deadline)
    if time.perf_counter() > deadline:
        return None, None, "deadline"  # undecided: the caller returns what it has
    if ar.shape[0] == 0:
        return True, np.zeros(0, dtype=np.int64), "trivial"
    if _packing_bound(ar) > p:
        return False, None, "packing"
    g_start = greedy_cover(ar, ar.shape[1])
    if g_start is not None and len(g_start) <= p:
        return True, cols[g_start], "greedy"
    if ar.shape[1] <= p:
        return True, cols, "reduction"
    ls = swap_search(ar, p, None if g_start is None else g_start[:p], max_iter=swap_moves_allowed(p),
                     deadline=deadline)
    if ls is not None:
        return True, cols[ls], "swap-search"
    if p <= _DFS_MAX_P:
        # The search checks no clock: its node budget follows the time left
        # (about 300k nodes a second on these sub-problems, measured at 55 x 160).
        left = deadline - time.perf_counter()
        ok, sel = dfs_cover(ar, p, node_limit=int(min(_DFS_NODES, max(1_000.0, left * _DFS_NODES_PER_S))))
        if ok is not None:
            return ok, (cols[sel] if ok else None), "search"
    n, k = ar.shape
    A = sp.vstack([sp.csr_matrix(ar.astype(np.float64)), sp.csr_matrix(np.ones((1, k)))], format="csr")
    lo = np.r_[np.ones(n), -np.inf]
    hi = np.r_[np.full(n, np.inf), p]
    out = solve_milp(np.ones(k), A, lo, hi, np.zeros(k), np.ones(k), np.ones(k, dtype=bool),
                     time_limit_s=max(1e-3, deadline - time.perf_counter()), mip_rel_gap=0.0,
                     # Any cover of <= p sites answers the question: stop at the first.
                     options={"mip_max_improving_sols": 1, "mip_abs_gap": 0.99})
    if out.x is not None and out.status in ("optimal", "feasible", "time_limit"):
        sel = np.flatnonzero(out.x > 0.5)
        if len(sel) <= p and ar[:, sel].any(axis=1).all():
            return True, cols[sel], "highs-milp"
    if out.status == "infeasible":
        return False, None, "highs-milp"
    return None, None, "highs-milp"


def _pick_rows(a: np.ndarray, rows: np.ndarray, limit: int) -> np.ndarray:
    """Up to ``limit`` of ``rows`` with pairwise disjoint covering sets, smallest sets first.

    Uncovered points that share no site each need a site of their own: they
    are the ones most likely to prove the sub-problem infeasible (the packing
    argument again), so they enter the client subset first.
    """
    rows = np.asarray(rows, dtype=np.int64)
    order = rows[np.argsort(a[rows].sum(axis=1), kind="stable")]
    return _pick_disjoint(a, order, int(limit))


@njit(cache=True)
def _pick_disjoint(a, order, limit):
    blocked = np.zeros(a.shape[1], dtype=np.bool_)
    out = np.empty(min(limit, order.shape[0]), dtype=np.int64)
    k = 0
    for i in order:
        if k >= limit:
            break
        free_row = True
        for j in range(a.shape[1]):
            if a[i, j] and blocked[j]:
                free_row = False
                break
        if free_row:
            for j in range(a.shape[1]):
                if a[i, j]:
                    blocked[j] = True
            out[k] = i
            k += 1
    return out[:k]


def cover_decision_rowgen(a, p: int, deadline: float, *, seed_rows=None, max_add: int | None = None):
    """:func:`cover_decision` by row generation over a growing subset of the points.

    The relaxation algorithm of Chen & Chen (2009, New relaxation-based
    algorithms for the optimal solution of the continuous and discrete
    p-center problems, *Computers & OR* 36(5), 1646-1655) and the row
    generation of Contardo, Iori & Kramer (2019, A scalable exact algorithm
    for the vertex p-center problem, *Computers & OR* 103, 211-220): a
    handful of points usually decides the question.  The sub-problem keeps
    only the points of ``S``; if even they cannot be covered by ``p`` sites,
    neither can all points (proof of "no"); if its cover also covers every
    point, "yes"; otherwise some uncovered points (pairwise disjoint covering
    sets first, :func:`_pick_rows`) join ``S`` and the sub-problem is solved
    again.  Its matrix is small, so the dominance reductions leave few
    columns and the depth-first search or MILP settles it quickly.

    Parameters
    ----------
    a : array_like or sparse, shape (n, m)
        Boolean coverage.
    p : int
        Sites allowed.
    deadline : float
        ``time.perf_counter()`` value.
    seed_rows : array_like of int, optional
        Points to start ``S`` with (e.g. those that decided earlier radii).
    max_add : int, optional
        Most points added per round (default ``max(p, 5)``).

    Returns
    -------
    (answer, cols, how, rows)
        As :func:`cover_decision`, plus ``rows``: the final subset ``S``
        (worth seeding the next radius with).
    """
    a = np.asarray(a.toarray() if sp.issparse(a) else a, dtype=bool)
    n = a.shape[0]
    if n == 0:
        return True, np.zeros(0, dtype=np.int64), "trivial", np.zeros(0, dtype=np.int64)
    if not a.any(axis=1).all():
        return False, None, "reduction", np.zeros(0, dtype=np.int64)
    # Whole-matrix shortcuts first: both are cheap and settle most radii.
    pack = _pick_rows(a, np.arange(n), n)
    if len(pack) > p:
        return False, None, "packing", pack[: p + 1]
    g = greedy_cover(a, a.shape[1])
    if g is not None and len(g) <= p:
        return True, g, "greedy", np.zeros(0, dtype=np.int64)
    ls = swap_search(a, p, None if g is None else g[:p], max_iter=swap_moves_allowed(p), deadline=deadline)
    if ls is not None:
        return True, ls, "swap-search", np.zeros(0, dtype=np.int64)
    in_s = np.zeros(n, dtype=bool)
    in_s[pack] = True
    if seed_rows is not None and len(seed_rows):
        in_s[np.asarray(seed_rows, dtype=np.int64)] = True
    max_add = max(p, 5) if max_add is None else int(max_add)
    rounds = 0
    while True:
        rounds += 1
        rows = np.flatnonzero(in_s)
        ok, cols, how = cover_decision(a[rows], p, deadline)
        if ok is not True:
            return ok, None, f"row-generation[{how}, {len(rows)} points, {rounds} rounds]", rows
        covered = a[:, cols].any(axis=1) if len(cols) else np.zeros(n, dtype=bool)
        if covered.all():
            return True, cols, f"row-generation[{how}, {len(rows)} points, {rounds} rounds]", rows
        if time.perf_counter() > deadline:
            return None, None, "row-generation[time limit]", rows
        unc = np.flatnonzero(~covered)
        pick = _pick_rows(a, unc, max_add)
        if len(pick) < max_add:
            # Fill up with the remaining uncovered points, fewest covering sites first:
            # fewer rounds, each still small.
            rest = np.setdiff1d(unc, pick)
            rest = rest[np.argsort(a[rest].sum(axis=1), kind="stable")][: max_add - len(pick)]
            pick = np.r_[pick, rest]
        in_s[pick] = True


def farthest_first(cp: np.ndarray, p: int, fixed: np.ndarray, *, return_points: bool = False):
    """Gonzalez (1985) farthest-point heuristic: ``p`` new sites, each nearest... the worst-served point.

    Picks, ``p`` times, the candidate nearest to the currently worst-served
    point (with candidates = points this is Gonzalez's 2-approximation).
    With ``return_points`` also returns the ``p + 1`` worst-served points met
    on the way (the last one after all ``p`` sites are open), for
    :func:`packing_lower_bound`.
    """
    n, m = cp.shape
    d = np.min(cp[:, fixed], axis=1) if len(fixed) else np.full(n, math.inf)
    chosen: list[int] = []
    is_open = np.zeros(m, dtype=bool)
    is_open[fixed] = True
    worst: list[int] = []
    for _ in range(p):
        i = int(np.argmax(d))
        worst.append(i)
        row = np.where(is_open, np.inf, cp[i])
        j = int(np.argmin(row))
        chosen.append(j)
        is_open[j] = True
        d = np.minimum(d, cp[:, j])
    sites = np.asarray(chosen, dtype=np.int64)
    if not return_points:
        return sites
    worst.append(int(np.argmax(d)))
    return sites, np.asarray(worst, dtype=np.int64)


#: (point pair, candidate) comparisons of :func:`packing_lower_bound` done even
#: past the deadline (about 2 ms of numpy).
PACKING_FREE_PAIRS = 1_000_000


def packing_lower_bound(cp_free: np.ndarray, points: np.ndarray, fixed_d: np.ndarray, p: int,
                        deadline: float) -> float:
    """A lower bound on the p-center radius from ``p + 1`` points (pigeonhole), or ``-inf``.

    Any ``p + 1`` distinct points must be served by ``p`` new sites and the
    fixed ones: within radius ``R`` either one of them is within ``R`` of a
    fixed site, or two of them share a new site ``j`` and both
    ``c[a, j] <= R`` and ``c[b, j] <= R``.  So
    ``R >= min(min_a fixed_d[a], min_{a<b} min_j max(c[a, j], c[b, j]))``
    -- no triangle inequality needed (road times need not have one).  With
    points far apart (the farthest-first sequence) this is about half the
    optimum where ``max_i min_j c_ij`` is 0 (every point also a candidate);
    it is the pigeonhole argument behind the packing bounds of exact
    p-center methods (e.g. Contardo, Iori & Kramer 2019), on one point set.

    Parameters
    ----------
    cp_free : ndarray, shape (n, m_free)
        Point-to-free-candidate minutes (finite; unreachable = a large value).
    points : ndarray of int
        Point indices (rows); duplicates are dropped.
    fixed_d : ndarray, shape (n,)
        Minutes from each point to its nearest fixed site (``inf`` without).
    p : int
        New sites.
    deadline : float
        ``time.perf_counter()`` value; past it the bound is abandoned (``-inf``).

    Returns
    -------
    float
        A valid lower bound, or ``-inf`` when fewer than ``p + 1`` distinct
        points were given or time ran out.
    """
    pts = np.unique(np.asarray(points, dtype=np.int64))
    if p < 0 or len(pts) < p + 1 or cp_free.shape[1] == 0:
        return -math.inf
    pts = pts[: p + 1]
    best = float(np.min(fixed_d[pts]))
    sub = cp_free[pts]
    # A few million comparisons (milliseconds) run even past the deadline: the
    # bound is what keeps an out-of-time answer's gap below 100 %.
    small = len(pts) * (len(pts) - 1) // 2 * sub.shape[1] <= PACKING_FREE_PAIRS
    for a in range(len(pts) - 1):
        if not small and time.perf_counter() > deadline:
            return -math.inf
        v = float(np.maximum(sub[a + 1:], sub[a]).min())
        if v < best:
            best = v
    return best


@njit(cache=True)
def _dfs(row_ptr, row_idx, col_ptr, col_idx, n, m, cov, excl, depth, p, chosen, nodes, node_limit):
    """1 = cover found (in ``chosen[:depth']``), 0 = none below this node, -1 = node limit hit."""
    nodes[0] += 1
    if nodes[0] > node_limit:
        return -1
    cnt = np.full(n, -1, dtype=np.int64)
    best_i = -1
    best_c = m + 1
    for i in range(n):
        if cov[i] > 0:
            continue
        c = 0
        for t in range(row_ptr[i], row_ptr[i + 1]):
            if not excl[row_idx[t]]:
                c += 1
        if c == 0:
            return 0
        cnt[i] = c
        if c < best_c:
            best_c = c
            best_i = i
    if best_i < 0:
        chosen[p] = depth  # number of columns used
        return 1
    if depth >= p:
        return 0
    # Capacity bound: the p - depth available columns covering most uncovered rows must cover them all.
    unc = np.flatnonzero(cnt >= 0)
    left = p - depth
    gains = np.zeros(m, dtype=np.int64)
    for i in unc:
        for t in range(row_ptr[i], row_ptr[i + 1]):
            gains[row_idx[t]] += 1
    for j in range(m):
        if excl[j]:
            gains[j] = 0
    # Sum of the ``left`` largest gains by repeated maximum (left is small).
    total = 0
    for _ in range(min(left, m)):
        jb = np.argmax(gains)
        total += gains[jb]
        gains[jb] = -1
    if total < len(unc):
        return 0
    # Packing bound: uncovered rows with pairwise disjoint available columns.
    ordr = unc[np.argsort(cnt[unc], kind="mergesort")]
    blocked = np.zeros(m, dtype=np.bool_)
    pack = 0
    for i in ordr:
        free_row = True
        for t in range(row_ptr[i], row_ptr[i + 1]):
            j = row_idx[t]
            if not excl[j] and blocked[j]:
                free_row = False
                break
        if free_row:
            pack += 1
            if pack > p - depth:
                return 0
            for t in range(row_ptr[i], row_ptr[i + 1]):
                blocked[row_idx[t]] = True
    # Branch on the columns covering the hardest row, most new coverage first;
    # a column tried and failed is excluded from its later siblings.
    k = row_ptr[best_i + 1] - row_ptr[best_i]
    cand = np.empty(k, dtype=np.int64)
    gain = np.empty(k, dtype=np.int64)
    nc = 0
    for t in range(row_ptr[best_i], row_ptr[best_i + 1]):
        j = row_idx[t]
        if excl[j]:
            continue
        g = 0
        for u in range(col_ptr[j], col_ptr[j + 1]):
            if cov[col_idx[u]] == 0:
                g += 1
        cand[nc] = j
        gain[nc] = -g
        nc += 1
    order = np.argsort(gain[:nc], kind="mergesort")
    tried = np.empty(nc, dtype=np.int64)
    nt = 0
    res = 0
    for o in order:
        j = cand[o]
        chosen[depth] = j
        for u in range(col_ptr[j], col_ptr[j + 1]):
            cov[col_idx[u]] += 1
        res = _dfs(row_ptr, row_idx, col_ptr, col_idx, n, m, cov, excl, depth + 1, p, chosen, nodes, node_limit)
        for u in range(col_ptr[j], col_ptr[j + 1]):
            cov[col_idx[u]] -= 1
        if res != 0:
            break
        excl[j] = True
        tried[nt] = j
        nt += 1
    for t in range(nt):
        excl[tried[t]] = False
    return res


def dfs_cover(a: np.ndarray, p: int, node_limit: int = _DFS_NODES):
    """Depth-first search for at most ``p`` covering columns (small ``p``).

    Branches on the uncovered row with the fewest available columns (the
    classic set-covering branching of Daskin 2000 / Contardo et al. 2019)
    and prunes with the packing bound.  Returns ``(answer, cols)`` with
    answer True / False, or None when ``node_limit`` nodes did not settle it.
    """
    a = np.asarray(a, dtype=bool)
    n, m = a.shape
    csr = sp.csr_matrix(a)
    csc = sp.csr_matrix(a.T)
    cov = np.zeros(n, dtype=np.int64)
    excl = np.zeros(m, dtype=np.bool_)
    chosen = np.zeros(p + 1, dtype=np.int64)
    nodes = np.zeros(1, dtype=np.int64)
    res = _dfs(csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csc.indptr.astype(np.int64),
               csc.indices.astype(np.int64), n, m, cov, excl, 0, p, chosen, nodes, node_limit)
    if res == 1:
        return True, chosen[:chosen[p]].copy()
    if res == 0:
        return False, None
    return None, None


@functools.cache
def warm_kernels() -> None:
    """Compile (or load from numba's cache) this module's kernels on a 3 x 3 question.

    A fresh install otherwise compiles them inside the first p-center's time
    limit (about 10-20 s on this machine); :func:`planner.locate.solve_pcenter` calls
    it before its clock starts, and a server in the background, as
    :func:`planner.resilience.warm_kernels`.  Once per process (cached).
    """
    a = np.eye(3, dtype=bool)
    a[0, 1] = True
    dfs_cover(a, 2)
    swap_search(a, 2, max_iter=4)
    _pick_rows(a, np.arange(3), 3)
