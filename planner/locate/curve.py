"""The coverage–budget curve: what each extra site (or 万元) buys, computed exactly.

"Should the county build 3 cold stores or 5?" is answered by the curve of
optimal coverage against the number of new sites ``k = 1..K`` (or against a
list of budgets in 万元): for each ``k`` the maximal covering model
(Church & ReVelle 1974) is solved to optimality, and the marginal gain
``cover(k) - cover(k-1)`` shows where returns fall off ("the 4th cold store
adds only 2 % of tonnage").  This is the cost-coverage trade-off curve of
Schilling, Revelle, Cohon & Elzinga (1980), Some models for fire protection
locational decisions, *European Journal of Operational Research* 5(1), 1-7,
traced point by point with exact solves instead of a weighted-sum sweep (which
only finds the points on the convex hull).

The reduction of the covering model (fixed-site coverage, merged rows,
dominated candidates) is done once; each ``k`` is warm-started from the
optimum for ``k - 1`` plus its best single addition, so a point never covers
less than the one before, and each solve gets an equal share of the time
left.  Layouts for different ``k`` are each optimal, not nested: the best 4
sites need not contain the best 3.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import (
    as_problem,
    as_site_values,
    check_positive,
    check_time_limit,
    coverage_matrix,
)
from ._common import RESULT_RESERVE
from ._coverage import reduce_cover, solve_reduced_mclp
from ._deadline import Deadline
from ._highs import DEFAULT_MIP_REL_GAP
from .certify import SolutionMismatch
from .result import _json

__all__ = ["CoverageCurve", "CurvePoint", "coverage_curve"]


@dataclass(frozen=True)
class CurvePoint:
    """One point of the curve.

    Attributes
    ----------
    k : int
        New sites allowed (for a budget curve: the number the optimum opens).
    budget_wan : float or None
        The budget of this point (budget curve only).
    covered : float
        Optimal covered weight with the fixed sites (demand units, e.g. t).
    share : float
        ``covered`` / total demand weight (unreachable demand included).
    gain, gain_share : float
        Marginal gain over the previous point, in weight and in share of the total.
    bound : float
        Proven upper bound on the coverage for this ``k`` (= ``covered`` when optimal).
    status : str
        "optimal", "time_limit" or "feasible".
    sites : tuple of int
        The NEW sites of this point's optimum.
    cost_wan : float or None
        Their total cost when site costs are known.
    """

    k: int
    budget_wan: float | None
    covered: float
    share: float
    gain: float
    gain_share: float
    bound: float
    status: str
    sites: tuple[int, ...]
    cost_wan: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: _json(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class CoverageCurve:
    """The curve: ``points[0]`` is the existing sites alone (k = 0)."""

    radius_min: float
    total: float
    points: tuple[CurvePoint, ...]
    seconds: float
    params: dict = field(default_factory=dict)

    @property
    def all_optimal(self) -> bool:
        return all(p.status == "optimal" for p in self.points)

    def to_dict(self) -> dict[str, Any]:
        return {"radius_min": self.radius_min, "total": self.total, "seconds": self.seconds,
                "all_optimal": self.all_optimal, "params": _json(self.params),
                "points": [p.to_dict() for p in self.points]}


def coverage_curve(
    cost,
    weights=None,
    *,
    radius_min: float,
    k_max: int | None = None,
    budgets_wan: Sequence[float] | None = None,
    site_cost_wan=None,
    fixed: Iterable[int] = (),
    time_limit_s: float = 60.0,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
) -> CoverageCurve:
    """Optimal coverage for ``k = 1..k_max`` new sites, or for each budget in ``budgets_wan``.

    Parameters
    ----------
    cost : array_like, shape (n, m)
        Travel minutes demand -> candidate (``np.inf`` unreachable).
    weights : array_like, shape (n,), optional
        Demand weights (tonnes, people), default 1.
    radius_min : float
        Coverage radius in minutes.
    k_max : int, optional
        Largest number of new sites (a site-count curve).
    budgets_wan : sequence of float, optional
        Budgets in 万元, increasing (a budget curve; needs ``site_cost_wan``).
    site_cost_wan : array_like, shape (m,), optional
        Opening cost per candidate (万元); reported per point, required for budgets.
    fixed : iterable of int
        Existing sites (open in every point, free).
    time_limit_s : float
        For the whole curve; each point gets an equal share of what is left.
    mip_rel_gap : float
        HiGHS optimality tolerance.

    Returns
    -------
    CoverageCurve

    Raises
    ------
    ValueError
        Neither or both of ``k_max`` / ``budgets_wan``, budgets without site
        costs, bad shapes or values.
    """
    t0 = time.perf_counter()
    c, w, fx = as_problem(cost, weights, fixed)
    n, m = c.shape
    r = check_positive(radius_min, "radius_min", allow_zero=False)
    time_limit_s = check_time_limit(time_limit_s)
    if (k_max is None) == (budgets_wan is None):
        msg = "give exactly one of k_max (a site-count curve) or budgets_wan (a budget curve)"
        raise ValueError(msg)
    sc = None if site_cost_wan is None else as_site_values(site_cost_wan, m, name="site_cost_wan")
    if budgets_wan is not None:
        if sc is None:
            msg = "a budget curve needs site_cost_wan"
            raise ValueError(msg)
        steps = [check_positive(b, "budgets_wan") for b in budgets_wan]
        if any(b2 < b1 for b1, b2 in zip(steps, steps[1:])):
            msg = "budgets_wan must be increasing"
            raise ValueError(msg)
    else:
        if isinstance(k_max, bool) or int(k_max) != k_max or k_max < 1:
            msg = f"k_max must be a positive integer, got {k_max!r}"
            raise ValueError(msg)
        steps = list(range(1, min(int(k_max), m - len(fx)) + 1))
    a = coverage_matrix(c, r)
    # One reduction for every point (budgets: dominance by cost too; a candidate
    # dearer than the largest budget can never be opened).
    red = reduce_cover(a, w, fx, col_cost=sc, budget=max(steps) if budgets_wan is not None and steps else None)
    total = float(w.sum())
    base = float(w[red.fixed_covered].sum())
    cc = None if sc is None else sc[red.cols]

    def point(k, budget, cols, covered_red, bound_red, status, prev):
        sites = tuple(int(s) for s in np.sort(red.cols[cols]))
        covered = base + covered_red
        # Each point re-evaluated from the full cost matrix (see .certify).
        open_ = np.r_[fx, list(sites)].astype(np.int64)
        check = float(w[(c[:, open_] <= r + 1e-9).any(axis=1)].sum()) if len(open_) else 0.0
        if abs(check - covered) > 1e-6 * max(1.0, check):
            raise SolutionMismatch(f"coverage curve: point {k} reports {covered!r}, its sites cover {check!r}")
        return CurvePoint(
            k=len(sites) if budget is not None else k, budget_wan=budget, covered=covered,
            share=covered / total if total > 0 else 0.0, gain=covered - prev,
            gain_share=(covered - prev) / total if total > 0 else 0.0, bound=base + bound_red, status=status,
            sites=sites, cost_wan=None if sc is None else float(sc[list(sites)].sum()))

    points = [point(0, 0.0 if budgets_wan is not None else None, np.zeros(0, dtype=np.int64), 0.0, 0.0,
                    "optimal", base)]
    prev_cols = np.zeros(0, dtype=np.int64)
    prev_cov = base
    a_red = red.a.tocsc()
    # One deadline for every point, RESULT_RESERVE of the limit kept for the last
    # point's checks; once it has passed, the remaining points are the greedy's
    # (HiGHS is not started, see solve_milp) with status "time_limit".
    dl = Deadline.at_time(t0 + time_limit_s * (1.0 - RESULT_RESERVE))
    for idx, step in enumerate(steps):
        share_t = max(1e-3, dl.left()) / (len(steps) - idx)
        p = step if budgets_wan is None else None
        budget = None if budgets_wan is None else float(step)
        start = _extend(a_red, red.w, prev_cols, cc, budget)
        # Site costs constrain only a budget curve (a count curve just reports them).
        out = solve_reduced_mclp(red, p, col_cost=sc if budget is not None else None, budget=budget,
                                 time_limit_s=share_t,
                                 mip_rel_gap=mip_rel_gap, start_cols=start, deadline=dl)
        pt = point(step, budget, out.cols, out.objective, out.bound, out.status, prev_cov)
        points.append(pt)
        prev_cols, prev_cov = np.asarray(out.cols, dtype=np.int64), pt.covered
    return CoverageCurve(radius_min=r, total=total, points=tuple(points), seconds=time.perf_counter() - t0,
                         params={"k_max": k_max, "budgets_wan": list(steps) if budgets_wan is not None else None,
                                 "fixed": fx.tolist(), "time_limit_s": time_limit_s})


def _extend(a, w, cols, cc, budget) -> np.ndarray:
    """``cols`` plus the column adding the most weight (within ``budget``): the warm start for the next point."""
    n, k = a.shape
    if k == 0:
        return cols
    covered = np.asarray(a[:, cols].sum(axis=1)).ravel() > 0 if len(cols) else np.zeros(n, dtype=bool)
    gain = np.asarray(a.T @ (w * ~covered)).ravel()
    gain[cols] = -np.inf
    if cc is not None and budget is not None:
        spent = float(cc[cols].sum())
        gain[spent + cc > budget + 1e-9] = -np.inf
    j = int(np.argmax(gain))
    if not math.isfinite(gain[j]) or gain[j] <= 0:
        return cols
    return np.sort(np.r_[cols, j]).astype(np.int64)
