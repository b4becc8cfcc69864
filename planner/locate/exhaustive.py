"""Exact enumeration of every layout when there are few of them (p <= 2, or C(m, p) small).

"Where should the ONE new cold store go?" has ``m`` answers: scoring all of
them is a single vectorised pass over the cost matrix (0.1 s on 800 x 800)
where branch-and-bound spends seconds proving what enumeration sees at once.
Every layout of ``p`` new sites among the free candidates is scored from the
cost matrix itself, so the answer is optimal by exhaustion: status
"optimal", bound = objective, gap 0.

The scoring is vectorised over the last site of each layout: for each
(p-1)-subset the nearest-open-site minutes ``D`` are formed once and every
remaining candidate is tried as ``min(D, cost[:, j])`` in blocks.  For
coverage with ``p <= 2`` the pair values come from one sparse product,
``cover(j, k) = cover(j) + cover(k) - overlap(j, k)`` with
``overlap = A^T diag(w) A`` (Church & ReVelle's coverage counted by
inclusion-exclusion).

Fixed sites are open in every layout; with a budget only affordable layouts
are scored; "at most p" models (MCLP, attendance) also score smaller layouts
when a budget is given (without one, adding a site never lowers coverage).
"""
from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

__all__ = ["Enumerated", "enumerate_best", "enumerate_cover", "enumeration_work"]

#: Tests switch enumeration off to exercise the MILP paths on small instances.
ENABLED = True
#: Most (demand x layout) scores computed by enumeration; about 1-2 s of numpy on
#: this machine.  Above it the MILP is used.
MAX_WORK = 150_000_000
#: The same for p <= 2 (800 x 800 with p = 2 is 2.6e8 scores, ~2 s).
MAX_WORK_P2 = 400_000_000
#: Most Python-level iterations (one per (p-1)-subset).
MAX_OUTER = 20_000
_BLOCK_ENTRIES = 4_000_000


@dataclass(frozen=True)
class Enumerated:
    """Best layout found by exhaustion.

    Attributes
    ----------
    sites : ndarray of int
        The chosen NEW sites (column indices of the cost matrix), sorted.
    value : float
        Its score (the model's objective; for lexicographic scores the
        secondary value, see :func:`enumerate_best`).
    layouts : int
        Layouts scored.
    """

    sites: np.ndarray
    value: float
    layouts: int


def _sizes(p: int, m_free: int, at_most: bool) -> list[int]:
    p = min(p, m_free)
    return list(range(p + 1)) if at_most else [p]


def enumeration_work(n: int, m_free: int, p: int | None, *, at_most: bool = False) -> tuple[int, int]:
    """(scores, outer iterations) needed to enumerate layouts of ``p`` (or up to ``p``) sites."""
    if p is None:
        return math.inf, math.inf
    work = outer = 0
    for s in _sizes(p, m_free, at_most):
        work += math.comb(m_free, s) * max(n, 1)
        outer += math.comb(m_free, max(s - 1, 0))
    return work, outer


def worth_enumerating(n: int, m_free: int, p: int | None, *, at_most: bool = False,
                      max_work: int = MAX_WORK) -> bool:
    """True when every layout can be scored cheaply (always tried for p <= 2 within ``max_work``)."""
    if p is None or not ENABLED:
        return False
    work, outer = enumeration_work(n, m_free, p, at_most=at_most)
    if p <= 2:
        # One vectorised pass per first site: still far cheaper than branch and
        # bound, which needs seconds to prove what this sees at once.
        max_work = max(max_work, MAX_WORK_P2)
    return work <= max_work and outer <= MAX_OUTER


def _keys(values) -> tuple[np.ndarray, ...]:
    """A score as a tuple of arrays, most significant first."""
    if isinstance(values, tuple):
        return tuple(np.asarray(v, dtype=np.float64) for v in values)
    return (np.asarray(values, dtype=np.float64),)


def _better(a: tuple[float, ...], b: tuple[float, ...] | None, tol: float = 1e-9) -> bool:
    if b is None:
        return True
    for x, y in zip(a, b):
        if x < y - tol * max(1.0, abs(y)):
            return True
        if x > y + tol * max(1.0, abs(y)):
            return False
    return False


def enumerate_best(
    cost: np.ndarray,
    free: np.ndarray,
    fixed: np.ndarray,
    p: int,
    score: Callable[[np.ndarray], np.ndarray | tuple[np.ndarray, ...]],
    *,
    minimize: bool,
    site_cost: np.ndarray | None = None,
    budget: float | None = None,
    at_most: bool = False,
    deadline: float | None = None,
) -> Enumerated | None:
    """Score every layout of ``p`` new sites among ``free`` and return the best.

    Parameters
    ----------
    cost : ndarray, shape (n, m)
        Minutes (``inf`` unreachable) -- or any per-pair quantity whose
        per-row minimum over the open sites the score needs.
    free, fixed : ndarray of int
        Candidates that may be chosen; sites always open.
    p : int
        Number of new sites (``at_most``: any number up to ``p``).
    score : callable
        ``score(D)`` maps a block ``D`` (n, k) of per-row minima over each
        layout's open sites to k values, or to a tuple of arrays compared
        lexicographically (most significant first).
    minimize : bool
        Objective sense (applied to every key of a tuple).
    site_cost, budget : optional
        Layouts costing more than ``budget`` are skipped.
    at_most : bool
        Also score layouts with fewer sites.
    deadline : float, optional
        ``time.perf_counter()`` after which enumeration gives up (returns None).

    Returns
    -------
    Enumerated or None
        None when no layout is allowed or the deadline passed.
    """
    c = np.asarray(cost, dtype=np.float64)
    n = c.shape[0]
    free = np.asarray(free, dtype=np.int64)
    sign = 1.0 if minimize else -1.0
    base = np.min(c[:, fixed], axis=1) if len(fixed) else np.full(n, np.inf)
    # One contiguous row per free candidate: the blocks below are row slices.
    ct = np.ascontiguousarray(c[:, free].T)
    step = max(1, _BLOCK_ENTRIES // max(n, 1))
    buf = np.empty((min(step, max(len(free), 1)), n))
    best_key = None
    best_sites = None
    best_val = math.nan
    layouts = 0
    tol = 1e-9
    for size in _sizes(p, len(free), at_most):
        if size == 0:
            if budget is not None and budget < -tol:
                continue
            keys = _keys(score(base[:, None]))
            k = tuple(sign * float(v[0]) for v in keys)
            layouts += 1
            if _better(k, best_key):
                best_key, best_sites, best_val = k, np.zeros(0, dtype=np.int64), float(keys[-1][0])
            continue
        for head in itertools.combinations(range(len(free)), size - 1):
            if deadline is not None and time.perf_counter() > deadline:
                return None
            head = list(head)
            start = head[-1] + 1 if head else 0
            if start >= len(free):
                continue
            d = np.minimum.reduce([base] + [ct[h] for h in head]) if head else base
            spent = float(site_cost[free[head]].sum()) if (site_cost is not None and head) else 0.0
            tail = np.arange(start, len(free))
            if site_cost is not None and budget is not None:
                tail = tail[spent + site_cost[free[tail]] <= budget + 1e-9]
            for s in range(0, len(tail), step):
                blk = tail[s:s + step]
                rows_blk = ct[blk[0]:blk[-1] + 1] if blk[-1] - blk[0] + 1 == len(blk) else ct[blk]
                blk_d = np.minimum(rows_blk, d[None, :], out=buf[:len(blk)])
                keys = _keys(score(blk_d.T))
                layouts += len(blk)
                order = np.lexsort(tuple(sign * kk for kk in reversed(keys)))
                i = int(order[0])
                k = tuple(sign * float(kk[i]) for kk in keys)
                if _better(k, best_key):
                    best_key = k
                    best_sites = np.sort(free[np.r_[head, blk[i]].astype(np.int64)])
                    best_val = float(keys[-1][i])
    if best_sites is None:
        return None
    return Enumerated(best_sites, best_val, layouts)


def enumerate_cover(
    a: sp.spmatrix,
    w: np.ndarray,
    p: int,
    *,
    site_cost: np.ndarray | None = None,
    budget: float | None = None,
) -> Enumerated:
    """Best coverage by at most ``p <= 2`` columns of the boolean ``a`` (n x k), weights ``w``.

    ``a`` is the coverage of the demand not yet covered by fixed sites; the
    value is the weight newly covered.  Pairs come from ``A^T diag(w) A``.
    """
    a = sp.csc_matrix(a, dtype=np.float64)
    n, k = a.shape
    if p not in (1, 2):
        msg = "enumerate_cover handles p = 1 or 2"
        raise ValueError(msg)
    single = np.asarray(a.T @ w).ravel()
    ok1 = np.ones(k, dtype=bool) if site_cost is None else site_cost <= budget + 1e-9
    best_sites, best_val = np.zeros(0, dtype=np.int64), 0.0
    if ok1.any():
        j = int(np.argmax(np.where(ok1, single, -np.inf)))
        if single[j] > best_val:
            best_sites, best_val = np.array([j], dtype=np.int64), float(single[j])
    layouts = 1 + k
    if p == 2 and k >= 2:
        overlap = (a.T @ sp.diags(w) @ a).toarray()
        pair = single[:, None] + single[None, :] - overlap
        allowed = np.triu(np.ones((k, k), dtype=bool), 1)
        if site_cost is not None:
            allowed &= site_cost[:, None] + site_cost[None, :] <= budget + 1e-9
        pair = np.where(allowed, pair, -np.inf)
        i, j = np.unravel_index(int(np.argmax(pair)), pair.shape)
        layouts += k * (k - 1) // 2
        if pair[i, j] > best_val + 1e-9 * max(1.0, best_val):
            best_sites, best_val = np.array([i, j], dtype=np.int64), float(pair[i, j])
    return Enumerated(best_sites, best_val, layouts)


def enumerate_pmedian(cost: np.ndarray, w: np.ndarray, fixed: np.ndarray, p: int | None, *,
                      site_cost: np.ndarray | None = None, budget: float | None = None,
                      deadline: float | None = None) -> Enumerated | None:
    """Exact p-median by enumeration when cheap (see :func:`worth_enumerating`), else None.

    The score is lexicographic as in :func:`planner.locate.solve_pmedian`:
    first the least weight no open site reaches, then the least weighted
    minutes of the rest; ``value`` is those minutes.
    """
    if p is None or p <= 0:
        return None
    m = cost.shape[1]
    free = np.setdiff1d(np.arange(m), fixed)
    rows = np.flatnonzero(w > 0)
    if len(rows) == 0 or not worth_enumerating(len(rows), len(free), p):
        return None
    c, wr = cost[rows], w[rows]
    if np.isfinite(c).all():
        def score(D):
            # einsum stays on one thread: BLAS's threads only contend on 2 busy cores
            return np.einsum("ij,i->j", D, wr)
    else:
        def score(D):
            ok = np.isfinite(D)
            # float operands keep both products in BLAS (a bool matrix is not)
            return wr @ (~ok).astype(np.float64), wr @ np.where(ok, D, 0.0)

    return enumerate_best(c, free, fixed, p, score, minimize=True, site_cost=site_cost, budget=budget,
                          deadline=deadline)


def enumerate_pcenter(cost: np.ndarray, w: np.ndarray, fixed: np.ndarray, p: int, *,
                      deadline: float | None = None) -> Enumerated | None:
    """Exact vertex p-center by enumeration when cheap, else None.

    Points with zero weight or no finite time to any candidate are left out
    (as in :func:`planner.locate.solve_pcenter`); the score is lexicographic:
    most points served, then the least worst minutes (``value``).
    """
    if p <= 0:
        return None
    m = cost.shape[1]
    free = np.setdiff1d(np.arange(m), fixed)
    rows = np.flatnonzero((w > 0) & np.isfinite(cost).any(axis=1))
    if len(rows) == 0 or not worth_enumerating(len(rows), len(free), p):
        return None
    c = cost[rows]
    if np.isfinite(c).all():
        def score(D):
            return D.max(axis=0)
    else:
        def score(D):
            ok = np.isfinite(D)
            return -ok.sum(axis=0).astype(np.float64), np.where(ok, D, -np.inf).max(axis=0)

    return enumerate_best(c, free, fixed, p, score, minimize=True, deadline=deadline)
