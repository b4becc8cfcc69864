"""Exact capacitated assignment: give each target at most one helper.

The pairing suggestions need "cover as many gaps as capacity allows, and among those
solutions the one with the least total travel time".  That is a transportation
problem with unit demands; we solve it exactly with
:func:`scipy.optimize.linear_sum_assignment` on an expanded matrix:

* one column per *slot* of a helper (a helper with spare capacity 3 gets 3 identical
  columns, never more slots than there are targets),
* one "left uncovered" column per target costing a big constant ``M``,
* forbidden pairs (unknown or unreachable travel) cost ``inf``.

``M`` is larger than any possible sum of real costs, so every optimum first maximises
the number of covered targets and only then minimises travel (lexicographic).  At
county scale (hundreds of targets, a few thousand slots) the dense matrix stays in the
tens of megabytes; LAPJV in C is far faster than networkx's pure-Python network
simplex on the same instance, and exact on float costs (no rounding to integers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["Assignment", "assign_with_capacities"]

#: Refuse instances whose expanded matrix would exceed this many cells (~800 MB).
MAX_CELLS = 100_000_000


@dataclass(frozen=True, eq=False)
class Assignment:
    """Result of :func:`assign_with_capacities`.

    Attributes
    ----------
    helper : ndarray of int64, shape (n_targets,)
        Helper row chosen for each target, -1 when the target stays uncovered.
    cost : ndarray of float, shape (n_targets,)
        The cost of the chosen pair, NaN when uncovered.
    n_assigned : int
    total_cost : float
        Sum of the costs of the chosen pairs.
    """

    helper: np.ndarray
    cost: np.ndarray
    n_assigned: int
    total_cost: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "helper": [int(h) for h in self.helper],
            "cost": [None if not np.isfinite(c) else float(c) for c in self.cost],
            "n_assigned": int(self.n_assigned),
            "total_cost": float(self.total_cost),
        }


def assign_with_capacities(cost, capacity) -> Assignment:
    """Cover as many targets as capacities allow, at least total cost among those.

    Parameters
    ----------
    cost : array_like, shape (n_helpers, n_targets)
        Cost (e.g. travel minutes) of giving target ``j`` to helper ``i``; ``inf`` or
        NaN forbids the pair. Must be >= 0 where finite.
    capacity : array_like of int, shape (n_helpers,)
        How many more targets each helper can take (>= 0).

    Returns
    -------
    Assignment
        An optimum: maximum number of assigned targets, then minimum total cost.
    """
    c = np.asarray(cost, dtype=float)
    if c.ndim != 2:
        msg = f"cost must be a 2-d array (helpers x targets), got shape {c.shape}"
        raise ValueError(msg)
    cap = np.asarray(capacity)
    if cap.shape != (c.shape[0],):
        msg = f"capacity must have one entry per helper ({c.shape[0]}), got shape {cap.shape}"
        raise ValueError(msg)
    if np.any(cap < 0) or not np.all(np.equal(np.mod(cap, 1), 0)):
        msg = "capacity must be non-negative integers"
        raise ValueError(msg)
    c = np.where(np.isnan(c), np.inf, c)
    if np.any(c < 0):
        msg = "costs must be >= 0"
        raise ValueError(msg)
    n_h, n_t = c.shape
    empty = Assignment(np.full(n_t, -1, dtype=np.int64), np.full(n_t, np.nan), 0, 0.0)
    if n_t == 0 or n_h == 0:
        return empty
    # only helpers that can take someone and reach someone get slots
    useful = (cap > 0) & np.isfinite(c).any(axis=1)
    slots = np.repeat(np.arange(n_h)[useful], np.minimum(cap[useful].astype(np.int64), n_t))
    if len(slots) == 0:
        return empty
    cells = n_t * (len(slots) + n_t)
    if cells > MAX_CELLS:
        msg = (f"assignment too large: {n_t} targets x {len(slots)} helper slots; "
               "split it (e.g. by town) or lower the capacities")
        raise ValueError(msg)
    finite = c[np.isfinite(c)]
    # M exceeds any achievable sum of real costs, so covering one more target always wins
    big = (n_t + 1) * (float(finite.max()) + 1.0)
    matrix = np.empty((n_t, len(slots) + n_t))
    matrix[:, : len(slots)] = c[slots].T
    matrix[:, len(slots):] = big
    rows, cols = linear_sum_assignment(matrix)
    helper = np.full(n_t, -1, dtype=np.int64)
    chosen = cols < len(slots)
    helper[rows[chosen]] = slots[cols[chosen]]
    out_cost = np.full(n_t, np.nan)
    got = helper >= 0
    out_cost[got] = c[helper[got], np.flatnonzero(got)]
    return Assignment(helper, out_cost, int(got.sum()), float(out_cost[got].sum()))
