"""Input validation and small helpers shared by every model family."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from planner.errors import invalid_input


def as_cost_matrix(cost) -> np.ndarray:
    """Validate ``cost[i, j]`` (minutes from demand ``i`` to candidate ``j``).

    ``np.inf`` marks an unreachable pair; NaN and negative values are errors
    because a silent NaN would make every comparison false.
    """
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise invalid_input(f"cost must be a 2-D array (demand x candidates), got shape {c.shape}",
                            f"费用矩阵须为二维（需求点 × 候选点），实际形状 {c.shape}")
    if c.shape[0] == 0 or c.shape[1] == 0:
        raise invalid_input(f"cost must have at least one demand point and one candidate, got shape {c.shape}",
                            f"费用矩阵至少需要一个需求点和一个候选点，实际形状 {c.shape}")
    if np.isnan(c).any():
        raise invalid_input("cost contains NaN; use np.inf for unreachable pairs",
                            "费用矩阵含 NaN；不可达请用 inf")
    if (c < 0).any():
        raise invalid_input("cost contains negative travel times",
                            "费用矩阵含负的行程时间")
    return c


def as_weights(weights, n: int, *, name: str = "weights") -> np.ndarray:
    """Validate non-negative finite per-demand weights (default: all ones)."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise invalid_input(f"{name} must have shape ({n},) to match cost rows, got {w.shape}",
                            f"{name} 的长度须为 {n}（与费用矩阵行数一致），实际形状 {w.shape}")
    if not np.isfinite(w).all():
        raise invalid_input(f"{name} must be finite",
                            f"{name} 须为有限数")
    if (w < 0).any():
        raise invalid_input(f"{name} must be non-negative",
                            f"{name} 不能为负")
    return w


def as_site_values(values, m: int, *, name: str) -> np.ndarray:
    """Validate a non-negative finite per-candidate vector (costs, capacities)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 0:
        v = np.full(m, float(v))
    if v.shape != (m,):
        raise invalid_input(f"{name} must have shape ({m},) to match cost columns, got {v.shape}",
                            f"{name} 的长度须为 {m}（与费用矩阵列数一致），实际形状 {v.shape}")
    if not np.isfinite(v).all() or (v < 0).any():
        raise invalid_input(f"{name} must be finite and non-negative",
                            f"{name} 须为非负有限数")
    return v


def as_fixed(fixed: Iterable[int] | None, m: int) -> np.ndarray:
    """Validate indices of existing (always-open) sites; returns a sorted unique int array."""
    if fixed is None:
        return np.zeros(0, dtype=np.int64)
    f = np.asarray(list(fixed), dtype=np.int64) if not isinstance(fixed, np.ndarray) else fixed.astype(np.int64).ravel()
    if f.size and (f.min() < 0 or f.max() >= m):
        raise invalid_input(f"fixed site indices must lie in [0, {m}), got {f.tolist()}",
                            f"现有站点序号须在 [0, {m}) 内，实际 {f.tolist()}")
    if len(np.unique(f)) != len(f):
        raise invalid_input(f"fixed site indices must be unique, got {f.tolist()}",
                            f"现有站点序号不能重复，实际 {f.tolist()}")
    return np.sort(f)


def as_problem(cost, weights, fixed: Iterable[int] | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The inputs every uncapacitated model checks first, in this order.

    Returns ``(c, w, fx)``: the cost matrix (:func:`as_cost_matrix`), the
    per-row weights (:func:`as_weights`) and the fixed sites (:func:`as_fixed`).
    """
    c = as_cost_matrix(cost)
    n, m = c.shape
    return c, as_weights(weights, n), as_fixed(fixed, m)


def check_p(p, m: int, n_fixed: int, *, allow_none: bool = False) -> int | None:
    """``p`` = number of NEW sites; it cannot exceed the non-fixed candidates."""
    if p is None:
        if allow_none:
            return None
        raise invalid_input("p (number of new sites) is required",
                            "需要指定新建站点数 p")
    if isinstance(p, bool) or int(p) != p:
        raise invalid_input(f"p must be an integer, got {p!r}",
                            f"p 须为整数，实际 {p!r}")
    p = int(p)
    if p < 0:
        raise invalid_input(f"p must be >= 0, got {p}",
                            f"p 不能为负，实际 {p}")
    if p > m - n_fixed:
        from planner.errors import TooFewCandidates

        raise TooFewCandidates(p=p, n=m - n_fixed)
    return p


def check_positive(value, name: str, *, allow_zero: bool = True) -> float:
    v = float(value)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        kind_en, kind_zh = ("non-negative", "非负") if allow_zero else ("positive", "正")
        raise invalid_input(f"{name} must be a finite {kind_en} number, got {value!r}",
                            f"{name} 须为{kind_zh}有限数，实际 {value!r}")
    return v


def check_time_limit(time_limit_s) -> float:
    return check_positive(time_limit_s, "time_limit_s", allow_zero=False)


def check_budget(site_cost_wan, budget_wan, m: int) -> tuple[np.ndarray | None, float | None]:
    """Both or neither: a budget without site costs (or vice versa) is a caller bug."""
    if (site_cost_wan is None) != (budget_wan is None):
        raise invalid_input("site_cost_wan and budget_wan must be given together",
                            "站点费用（site_cost_wan）与预算（budget_wan）须同时给出")
    if site_cost_wan is None:
        return None, None
    return as_site_values(site_cost_wan, m, name="site_cost_wan"), check_positive(budget_wan, "budget_wan")


def check_p_and_budget(p, site_cost_wan, budget_wan, m: int, n_fixed: int):
    """Site costs and budget (:func:`check_budget`), then ``p`` (:func:`check_p`), which
    may be None only under a budget.  Returns ``(p, site_cost, budget)``."""
    sc, budget = check_budget(site_cost_wan, budget_wan, m)
    return check_p(p, m, n_fixed, allow_none=sc is not None), sc, budget


def check_method(method: str, allowed: Sequence[str]) -> str:
    """``method`` must be one of ``allowed`` ("method must be 'a', 'b' or 'c', got ...")."""
    if method not in allowed:
        names = [repr(a) for a in allowed]
        choices = " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else names[0]
        raise invalid_input(f"method must be {choices}, got {method!r}",
                            f"method 须为 {choices}，实际 {method!r}")
    return method


def relative_gap(objective: float, bound: float) -> float:
    """``|objective - bound| / max(|objective|, tiny)``, the HiGHS definition; 0 when both are 0."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    diff = abs(objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    return diff / max(abs(objective), 1e-9)


def coverage_matrix(cost: np.ndarray, radius_min: float) -> sp.csr_matrix:
    """Boolean ``a[i, j] = cost[i, j] <= radius_min`` as CSR (only pairs within radius are stored)."""
    # A tiny tolerance so that a road time computed as 29.999999 is "within 30".
    rows, cols = np.nonzero(cost <= radius_min + 1e-9)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=cost.shape)


def unique_rows(a: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Group identical sparse rows: returns (representative row ids, group id per row)."""
    a = sp.csr_matrix(a)
    a.sort_indices()
    keys: dict[bytes, int] = {}
    group = np.empty(a.shape[0], dtype=np.int64)
    reps: list[int] = []
    for i in range(a.shape[0]):
        key = a.indices[a.indptr[i]:a.indptr[i + 1]].tobytes()
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(reps)
            reps.append(i)
        group[i] = g
    return np.asarray(reps, dtype=np.int64), group


def dominated_columns(a: sp.csr_matrix, col_cost: np.ndarray | None = None) -> np.ndarray:
    """Mask of columns whose coverage set is contained in another no-more-expensive column's.

    Column ``j`` is dropped when some ``k`` covers every row ``j`` covers and
    costs no more; among identical columns the lowest index survives.  Safe for
    MCLP/LSCP with "at most p" and budget rows (swapping ``j`` for ``k`` never
    loses coverage nor spends more).
    """
    a = sp.csc_matrix(a, dtype=np.float64)
    m = a.shape[1]
    size = np.asarray(a.sum(axis=0)).ravel()
    cost = np.zeros(m) if col_cost is None else np.asarray(col_cost, dtype=np.float64)
    dominated = size == 0
    if m <= 1:
        return dominated
    inter = (a.T @ a).tocoo()
    j, k, v = inter.row, inter.col, inter.data
    sel = (j != k) & (v >= size[j] - 0.5) & ~dominated[j]
    j, k = j[sel], k[sel]
    # k contains j; j is dominated if k strictly bigger or cheaper, or equal and (cost, index) smaller.
    strictly = (size[k] > size[j] + 0.5) & (cost[k] <= cost[j])
    cheaper_same = (size[k] <= size[j] + 0.5) & ((cost[k] < cost[j]) | ((cost[k] == cost[j]) & (k < j)))
    dom = strictly | cheaper_same
    dominated[j[dom]] = True
    return dominated


def as_index_tuple(idx: Sequence[int] | np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.asarray(idx).ravel())


#: Share of ``time_limit_s`` kept back from the solver for assembling the result and
#: the explanations (which check the deadline themselves), so the whole call ends
#: within the limit + 10 %: HiGHS stops at its deadline via its interrupt callbacks.
RESULT_RESERVE = 0.07


def solve_time_left(t0: float, time_limit_s: float) -> float:
    """Seconds the solver may still use: the limit minus the reserve minus what ``t0`` has seen pass."""
    import time

    return max(1e-3, time_limit_s * (1.0 - RESULT_RESERVE) - (time.perf_counter() - t0))
