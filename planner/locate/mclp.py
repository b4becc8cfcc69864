"""Maximal covering location (MCLP), with optional budget.

Church, R. & ReVelle, C. (1974). The maximal covering location problem.
*Papers of the Regional Science Association* 32, 101-118:
``max sum_i w_i z_i`` s.t. ``z_i <= sum_{j in N_i} y_j``, ``sum_j y_j <= p``,
``y`` binary, ``z`` in [0, 1] (integral at the optimum), where ``N_i`` are
the candidates within the radius of ``i``.  Only pairs within the radius are
stored; demand already covered by fixed sites, identical demand rows and
dominated candidates are removed first (see ``_coverage``).  The budget
variant adds ``sum_j site_cost_j y_j <= budget`` (linkage funds).
"""
from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from ._assemble import coverage_result
from ._common import (
    as_problem,
    check_method,
    check_p_and_budget,
    check_positive,
    check_time_limit,
    coverage_matrix,
)
from ._common import solve_time_left
from ._deadline import Deadline
from ._coverage import reduce_cover, solve_reduced_mclp
from ._highs import DEFAULT_MIP_REL_GAP
from .certify import certified
from .result import LocateResult

__all__ = ["solve_mclp"]


@certified("mclp")
def solve_mclp(
    cost,
    weights=None,
    *,
    p: int | None = None,
    radius_min: float,
    fixed: Iterable[int] = (),
    site_cost_wan=None,
    budget_wan: float | None = None,
    time_limit_s: float = 60.0,
    method: str = "milp",
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    candidate_cost=None,
    explain: bool = True,
) -> LocateResult:
    """Open at most ``p`` NEW sites maximising demand within ``radius_min``.

    Parameters
    ----------
    cost : array_like, shape (n, m)
        Travel minutes demand -> candidate, ``np.inf`` unreachable.
    weights : array_like, shape (n,), optional
        Demand weights (default 1).
    p : int or None
        Maximum number of NEW sites; fixed sites are always open on top.
        Fewer are opened only when more would cover nothing more.  None (the
        default) only together with a budget.
    radius_min : float
        Coverage radius in minutes (``cost <= radius_min`` is covered).
    fixed : iterable of int
        Existing sites (always open, not charged to the budget).
    site_cost_wan, budget_wan : optional
        Per-candidate opening cost (万元) and the total allowed.
    time_limit_s : float
        Wall-clock limit for the whole call, explanations included (HiGHS is
        not started when it could not be set up in the time left; the answer
        is then the greedy + swap layout, status "time_limit").
    method : {"milp", "heuristic"}
        "heuristic" skips HiGHS (greedy + swaps, weak bound).
    mip_rel_gap : float
        HiGHS optimality tolerance.
    candidate_cost : array_like, shape (m, m), optional
        Site-to-site minutes for the explanations.
    explain : bool
        Compute per-site explanations.

    Returns
    -------
    LocateResult
        ``objective`` = covered weight (fixed-site coverage included);
        ``unreachable`` = demand with no candidate (fixed or not) in radius.
    """
    t0 = time.perf_counter()
    c, w, fx = as_problem(cost, weights, fixed)
    r = check_positive(radius_min, "radius_min")
    time_limit_s = check_time_limit(time_limit_s)
    p, sc, budget = check_p_and_budget(p, site_cost_wan, budget_wan, c.shape[1], len(fx))
    check_method(method, ("milp", "heuristic"))
    a = coverage_matrix(c, r)
    red = reduce_cover(a, w, fx, col_cost=sc, budget=budget)
    out = solve_reduced_mclp(
        red, p, col_cost=sc, budget=budget, time_limit_s=solve_time_left(t0, time_limit_s), mip_rel_gap=mip_rel_gap,
        use_milp=method == "milp", deadline=Deadline.at_time(t0 + time_limit_s),
    )
    base = float(w[red.fixed_covered].sum())
    new_sites = red.cols[out.cols]
    open_sites = np.union1d(fx, new_sites)
    swap_ok = None
    if sc is not None:
        spent = float(sc[new_sites].sum())

        def swap_ok(rr, cands):
            return sc[cands] - sc[rr] <= budget - spent + 1e-9

    return coverage_result(
        model="mclp", cost=c, w=w, radius_min=r, open_sites=open_sites, fixed=fx,
        objective=base + out.objective, bound=base + out.bound, status=out.status, method=out.method,
        t0=t0, params={"p": p, "radius_min": r, "fixed": fx.tolist(), "budget_wan": budget,
                       "time_limit_s": time_limit_s},
        explain=explain, swap_allowed=swap_ok, candidate_cost=candidate_cost, mip_rel_gap=mip_rel_gap,
    )
