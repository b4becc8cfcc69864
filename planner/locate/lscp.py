"""Location set covering (LSCP).

Toregas, C., Swain, R., ReVelle, C. & Bergman, L. (1971). The location of
emergency service facilities. *Operations Research* 19(6), 1363-1373:
``min sum_j y_j`` s.t. ``sum_{j in N_i} y_j >= 1`` for every demand point
``i``.  Demand no candidate reaches within the radius cannot be covered by
any choice: it is listed in ``unreachable`` and left out, so the model always
solves.  Rows covered by fixed sites go, identical rows merge, dominated
columns go (the reductions of Toregas & ReVelle).
"""
from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np

from ._assemble import coverage_result
from ._common import (
    as_problem,
    as_site_values,
    check_positive,
    check_time_limit,
    coverage_matrix,
)
from ._common import solve_time_left
from ._coverage import reduce_cover, solve_reduced_lscp
from ._highs import DEFAULT_MIP_REL_GAP
from .certify import certified
from .result import LocateResult

__all__ = ["solve_lscp"]


@certified("lscp")
def solve_lscp(
    cost,
    *,
    radius_min: float,
    fixed: Iterable[int] = (),
    weights=None,
    site_cost_wan=None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    candidate_cost=None,
    explain: bool = True,
) -> LocateResult:
    """Fewest new sites (or cheapest, with ``site_cost_wan``) covering all coverable demand.

    Parameters
    ----------
    cost : array_like, shape (n, m)
        Travel minutes, ``np.inf`` unreachable.
    radius_min : float
        Coverage radius in minutes.
    fixed : iterable of int
        Existing sites; demand they cover needs nothing new.
    weights : array_like, shape (n,), optional
        Demand weights: points with weight 0 need no cover; weights are
        also used for the explanations' "covered weight lost".
    site_cost_wan : array_like, shape (m,), optional
        Minimise total opening cost (万元) instead of the count.
    time_limit_s, mip_rel_gap, candidate_cost, explain
        As in :func:`planner.locate.solve_mclp`.

    Returns
    -------
    LocateResult
        ``objective`` = number of new sites (or their total cost);
        ``unreachable`` = demand no candidate covers.  Site explanations
        measure covered weight (what would lose cover without the site).
    """
    t0 = time.perf_counter()
    c, w, fx = as_problem(cost, weights, fixed)
    m = c.shape[1]
    r = check_positive(radius_min, "radius_min")
    time_limit_s = check_time_limit(time_limit_s)
    sc = None if site_cost_wan is None else as_site_values(site_cost_wan, m, name="site_cost_wan")
    a = coverage_matrix(c, r)
    red = reduce_cover(a, w, fx, col_cost=sc)
    out = solve_reduced_lscp(red, col_cost=sc, time_limit_s=solve_time_left(t0, time_limit_s),
                             mip_rel_gap=mip_rel_gap)
    open_sites = np.union1d(fx, red.cols[out.cols])
    return coverage_result(
        model="lscp", cost=c, w=w, radius_min=r, open_sites=open_sites, fixed=fx,
        objective=out.objective, bound=out.bound, status=out.status, method=out.method, t0=t0,
        params={"radius_min": r, "fixed": fx.tolist(), "time_limit_s": time_limit_s,
                "objective": "count" if sc is None else "site_cost_wan"},
        explain=explain, candidate_cost=candidate_cost, mip_rel_gap=mip_rel_gap,
    )
