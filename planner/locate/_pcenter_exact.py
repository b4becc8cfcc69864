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
before an integer program runs.  Here, per radius:

1. reductions (Toregas et al. 1971; Daskin 2000): a point whose set of
   covering sites contains another point's set is covered whenever that one
   is (row dominated); a site whose covered set is inside another site's is
   never needed (column dominated); repeated until stable;
2. a packing lower bound: points whose covering sets are pairwise disjoint
   need one site each, so more than ``p`` of them prove "no" (the
   combinatorial bound behind Elloumi, Labbe & Pochet's and Contardo et al.'s
   lower bounds);
3. greedy set cover (Chvatal 1979): ``<= p`` sites prove "yes";
4. for small ``p``, a depth-first search branching on the point with the
   fewest covering sites, pruned by the packing bound (node-limited);
5. otherwise HiGHS on the reduced set-covering MILP (min sites, ``<= p``).
"""
from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp
from numba import njit

from ._highs import solve_milp

__all__ = ["cover_decision", "farthest_first"]

# Above this many multiply-adds the dominance products are skipped (the MILP
# presolve does a weaker form itself).
_DOMINANCE_WORK = 3e9
# Depth-first search first for this few sites (depth = p); beyond, straight to the MILP.
_DFS_MAX_P = 12


def _dominance_reduce(a: np.ndarray, deadline: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop dominated rows and columns of a dense boolean matrix until stable (or ``deadline``).

    Returns ``(a_reduced, kept_rows, kept_cols)``; stopping early leaves a
    valid, less reduced matrix.
    """
    rows = np.arange(a.shape[0])
    cols = np.arange(a.shape[1])
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


def _greedy_cover(a: np.ndarray, limit: int) -> np.ndarray | None:
    """Chvatal's greedy cover, given up once it needs more than ``limit`` sites."""
    uncovered = np.ones(a.shape[0], dtype=bool)
    chosen = []
    f = a.astype(np.float32)
    while uncovered.any():
        if len(chosen) >= limit:
            return None
        gain = uncovered.astype(np.float32) @ f
        j = int(np.argmax(gain))
        if gain[j] <= 0:
            return None
        chosen.append(j)
        uncovered &= ~a[:, j]
    return np.asarray(chosen, dtype=np.int64)


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
        names what settled it ("reduction", "packing", "greedy", "highs-milp").
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
    g = _greedy_cover(ar, p)
    if g is not None:
        return True, cols[g], "greedy"
    if ar.shape[1] <= p:
        return True, cols, "reduction"
    if p <= _DFS_MAX_P:
        ok, sel = dfs_cover(ar, p)
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


def farthest_first(cp: np.ndarray, p: int, fixed: np.ndarray) -> np.ndarray:
    """Gonzalez (1985) farthest-point heuristic: ``p`` new sites, each nearest... the worst-served point.

    Picks, ``p`` times, the candidate nearest to the currently worst-served
    point (with candidates = points this is Gonzalez's 2-approximation).
    """
    n, m = cp.shape
    d = np.min(cp[:, fixed], axis=1) if len(fixed) else np.full(n, math.inf)
    chosen: list[int] = []
    is_open = np.zeros(m, dtype=bool)
    is_open[fixed] = True
    for _ in range(p):
        i = int(np.argmax(d))
        row = np.where(is_open, np.inf, cp[i])
        j = int(np.argmin(row))
        chosen.append(j)
        is_open[j] = True
        d = np.minimum(d, cp[:, j])
    return np.asarray(chosen, dtype=np.int64)


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


def dfs_cover(a: np.ndarray, p: int, node_limit: int = 30_000):
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
