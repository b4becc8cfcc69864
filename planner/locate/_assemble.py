"""Build a :class:`LocateResult` for the distance-based models."""
from __future__ import annotations

import math
import time

import numpy as np

from ._common import as_index_tuple, relative_gap
from ._deadline import EXPLAIN_TAIL
from .explain import explain_by_distance, nearest_assignment
from .result import LocateResult, SiteReport


def bare_site_reports(open_sites, fixed, assign, w) -> tuple[SiteReport, ...]:
    fset = {int(f) for f in fixed}
    return tuple(
        SiteReport(int(s), int(s) in fset, int(((assign == s) & (w > 0)).sum()), float(w[assign == s].sum()),
                   math.nan, math.nan, None, None, "demand", None, None, None, "none")
        for s in sorted(int(v) for v in open_sites)
    )


def coverage_result(
    *,
    model: str,
    cost: np.ndarray,
    w: np.ndarray,
    radius_min: float,
    open_sites: np.ndarray,
    fixed: np.ndarray,
    objective: float,
    bound: float,
    status: str,
    method: str,
    t0: float,
    params: dict,
    explain: bool,
    explain_objective: float | None = None,
    swap_allowed=None,
    candidate_cost=None,
    mip_rel_gap: float = 1e-7,
) -> LocateResult:
    """Result for MCLP / LSCP: covered = nearest open site within ``radius_min``.

    Explanations score coverage (weight within the radius): for LSCP the
    objective is a site count, so "loss if removed" is the covered weight lost.
    """
    open_sites = np.sort(np.asarray(open_sites, dtype=np.int64))
    assign, acost = nearest_assignment(cost, open_sites, radius_min)
    covered = assign >= 0
    unreachable = np.flatnonzero(~(cost <= radius_min + 1e-9).any(axis=1))
    cov_w = float(w[covered].sum())
    gap = relative_gap(objective, bound)
    if status == "optimal" and gap > max(mip_rel_gap, 1e-6) * 10:
        status = "feasible"
    if explain:
        def score(D):
            return (w[:, None] * (D <= radius_min + 1e-9)).sum(axis=0)

        sites = explain_by_distance(
            cost, open_sites, fixed, score, minimize=False,
            objective=cov_w if explain_objective is None else explain_objective,
            assignment=assign, weights=w, candidate_cost=candidate_cost, swap_allowed=swap_allowed,
            # The limit covers the explanations; a sliver is kept for assembling and certifying.
            deadline=t0 + float(params.get("time_limit_s", math.inf)) * (1.0 - EXPLAIN_TAIL),
        )
    else:
        sites = bare_site_reports(open_sites, fixed, assign, w)
    return LocateResult(
        model=model, method=method, status=status, objective=float(objective), bound=float(bound),
        gap=float(gap), seconds=time.perf_counter() - t0, sites=sites,
        assignment=as_index_tuple(assign), assignment_cost=tuple(float(v) for v in acost),
        covered_demand=cov_w, uncovered_demand=float(w[~covered].sum()),
        covered=as_index_tuple(np.flatnonzero(covered)), uncovered=as_index_tuple(np.flatnonzero(~covered)),
        unreachable=as_index_tuple(unreachable), params=params,
    )
