"""Maximize attendance: demand that fades with travel time (distance decay).

Facilities that farmers use less the farther they are -- a collection point,
a training centre, a clinic -- are better judged by *expected attendance*
than by "covered or not": a village at distance ``d`` from its nearest open
site sends ``w_i * f(d)`` of its demand, with ``f`` decreasing from 1 at the
door to 0 at ``cutoff_min``.  This is the "Maximize Attendance" problem type
of ArcGIS Network Analyst's location-allocation solver (Esri, *Location-
allocation analysis*, ArcGIS Pro documentation, "Maximize attendance" with
the linear, power and exponential impedance transformations), itself the
"maximum attendance" objective of Holmes, Williams & Brown (1972),
Facility location under a maximum travel restriction: an example using day
care facilities, *Geographical Analysis* 4(3), 258-266, with the decay
functions of spatial interaction (Fotheringham & O'Kelly 1989, *Spatial
Interaction Models*):

* ``linear``       ``f(d) = 1 - d / cutoff``
* ``power``        ``f(d) = min(1, d ** -beta)``  (``d`` in minutes; 1 within a minute)
* ``exponential``  ``f(d) = exp(-beta * d)``

and ``f(d) = 0`` beyond ``cutoff_min`` (and for unreachable pairs).  Each
village attends its nearest open site (``f`` decreasing makes that the best
one) and "loses" ``1 - f(d)`` of its demand, so maximising attendance is
exactly the p-median on the cost ``1 - f`` (finite everywhere, 1 beyond the
cutoff): ``attendance = sum(w) - pmedian``, bound likewise.  It is solved by
:func:`planner.locate.solve_pmedian` -- the Elloumi (2010) formulation with
its reductions, bounds, warm start and enumeration of few layouts -- and the
result is re-expressed (and re-checked) in attendance.
"""
from __future__ import annotations

import math
import time
from collections.abc import Iterable

import numpy as np

from ._assemble import bare_site_reports
from ._common import (
    as_index_tuple,
    as_problem,
    check_p_and_budget,
    check_positive,
    check_time_limit,
    relative_gap,
    solve_time_left,
)
from ._deadline import EXPLAIN_TAIL
from ._highs import DEFAULT_MIP_REL_GAP
from .certify import certified
from .decay import DECAYS, DEFAULT_BETA, decay_factor  # noqa: F401 (re-exported)
from .explain import explain_by_distance
from .pmedian import solve_pmedian, warm_kernels
from .result import LocateResult

__all__ = ["DECAYS", "decay_factor", "solve_attendance"]

@certified("attendance")
def solve_attendance(
    cost,
    weights=None,
    *,
    p: int | None = None,
    cutoff_min: float,
    decay: str = "linear",
    beta: float | None = None,
    fixed: Iterable[int] = (),
    site_cost_wan=None,
    budget_wan: float | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    candidate_cost=None,
    explain: bool = True,
) -> LocateResult:
    """Open at most ``p`` NEW sites maximising expected attendance under distance decay.

    Parameters
    ----------
    cost : array_like, shape (n, m)
        Travel minutes demand -> candidate, ``np.inf`` unreachable.
    weights : array_like, shape (n,), optional
        Demand (people, tonnes...), default 1.
    p : int or None
        New sites (None only with a budget).
    cutoff_min : float
        Nobody travels farther than this (minutes).
    decay : {"linear", "power", "exponential"}
        Decay of attendance with minutes (:func:`decay_factor`).
    beta : float, optional
        Decay parameter for "power" / "exponential".
    fixed, site_cost_wan, budget_wan, time_limit_s, mip_rel_gap, candidate_cost, explain
        As in :func:`planner.locate.solve_mclp`.

    Returns
    -------
    LocateResult
        ``objective`` = expected attendance ``sum_i w_i f(d_i)`` (demand
        units); ``covered`` = demand points within ``cutoff_min`` of an open
        site (weight > 0); ``unreachable`` = points with no candidate within
        the cutoff.

    Raises
    ------
    ValueError
        Bad shapes or values, unknown decay, ``p`` larger than the free
        candidates.
    """
    warm_kernels()  # compiled code loaded before the clock starts (see pmedian.warm_kernels)
    t0 = time.perf_counter()
    c, w, fx = as_problem(cost, weights, fixed)
    n, m = c.shape
    cutoff = check_positive(cutoff_min, "cutoff_min", allow_zero=False)
    time_limit_s = check_time_limit(time_limit_s)
    p, sc, budget = check_p_and_budget(p, site_cost_wan, budget_wan, m, len(fx))
    if beta is not None:
        check_positive(beta, "beta", allow_zero=False)
    F = decay_factor(c, decay=decay, cutoff_min=cutoff, beta=beta)
    # The limit covers the explanations; a sliver is kept for assembling and certifying.
    deadline = t0 + time_limit_s * (1.0 - EXPLAIN_TAIL)
    is_fixed = np.zeros(m, dtype=bool)
    is_fixed[fx] = True
    free = np.flatnonzero(~is_fixed & (F[w > 0].sum(axis=0) > 0 if (w > 0).any() else False))
    if sc is not None:
        free = free[sc[free] <= budget + 1e-9]
    p_eff = len(free) if p is None else min(p, len(free))
    rows = np.flatnonzero(w > 0)

    def value(sites) -> float:
        open_ = np.r_[fx, np.asarray(sites, dtype=np.int64)].astype(np.int64)
        if len(open_) == 0:
            return 0.0
        return float(w @ np.max(F[:, open_], axis=1))

    if len(rows) == 0 or len(free) == 0 or p_eff == 0:
        best, obj, bound, status, method = np.zeros(0, dtype=np.int64), value(()), value(()), "optimal", "trivial"
    else:
        # Attending the nearest open site, a village "loses" 1 - f(d) of its demand:
        # maximising attendance is the p-median on 1 - f (every pair finite), so the
        # p-median's exact machinery (enumeration, reductions, bounds) answers it.
        G = 1.0 - F
        sub = solve_pmedian(G, w, p=p_eff if p is not None else None, fixed=fx, site_cost_wan=sc, budget_wan=budget,
                            time_limit_s=solve_time_left(t0, time_limit_s), mip_rel_gap=mip_rel_gap, explain=False)
        best = np.asarray(sub.new_sites, dtype=np.int64)
        total = float(w.sum())
        obj = value(best)
        bound = max(obj, total - float(sub.bound)) if math.isfinite(sub.bound) else total
        status = sub.status
        method = "decay-pmedian+" + sub.method
    gap = relative_gap(obj, bound)
    if status == "optimal" and gap > max(mip_rel_gap, 1e-6) * 10:
        status = "feasible"
    open_sites = np.union1d(fx, best).astype(np.int64)
    if len(open_sites):
        sub = c[:, open_sites]
        k = np.argmin(sub, axis=1)
        d = sub[np.arange(n), k]
        inside = np.isfinite(d) & (d <= cutoff + 1e-9)
        assign = np.where(inside, open_sites[k], -1)
        acost = np.where(inside, d, np.inf)
    else:
        assign, acost = np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    served = (assign >= 0) & (w > 0)
    unreachable = np.flatnonzero(~(F > 0).any(axis=1))
    if explain:
        def score(D):
            return w @ decay_factor(D, decay=decay, cutoff_min=cutoff, beta=beta)

        swap_ok = None
        if sc is not None:
            spent = float(sc[best].sum())

            def swap_ok(r, cands):
                return sc[cands] - sc[r] <= budget - spent + 1e-9

        sites = explain_by_distance(c, open_sites, fx, score, minimize=False, objective=obj, assignment=assign,
                                    weights=w, candidate_cost=candidate_cost, swap_allowed=swap_ok,
                                    deadline=deadline)
    else:
        sites = bare_site_reports(open_sites, fx, assign, w)
    return LocateResult(
        model="attendance", method=method, status=status, objective=float(obj), bound=float(bound), gap=float(gap),
        seconds=time.perf_counter() - t0, sites=sites, assignment=as_index_tuple(assign),
        assignment_cost=tuple(float(v) for v in acost), covered_demand=float(w[served].sum()),
        uncovered_demand=float(w[~served].sum()), covered=as_index_tuple(np.flatnonzero(served)),
        uncovered=as_index_tuple(np.flatnonzero(~served)), unreachable=as_index_tuple(unreachable),
        params={"p": p, "cutoff_min": cutoff, "decay": decay,
                "beta": DEFAULT_BETA[decay] if beta is None else float(beta), "fixed": fx.tolist(),
                "budget_wan": budget, "time_limit_s": time_limit_s, "mip_rel_gap": mip_rel_gap},
    )
