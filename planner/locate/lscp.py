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
from ._deadline import Deadline
from ._coverage import reduce_cover, solve_reduced_lscp, solve_reduced_partial_cover
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
    target_share: float | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = DEFAULT_MIP_REL_GAP,
    candidate_cost=None,
    explain: bool = True,
) -> LocateResult:
    """Fewest new sites (or cheapest, with ``site_cost_wan``) covering all coverable demand.

    With ``target_share`` it answers "how many sites (or 万元) to reach, say,
    90 % of the tonnage within 30 minutes?": the fewest / cheapest new sites
    such that, with the fixed ones, at least ``target_share`` of the total
    demand weight (unreachable demand included) lies within the radius --
    partial set covering (ReVelle, Toregas & Falkson 1976, *Geographical
    Analysis* 8(1); Daskin 1995, *Network and Discrete Location*, ch. 4).

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
    target_share : float in (0, 1], optional
        Cover at least this share of the total weight instead of all coverable demand.
    time_limit_s, mip_rel_gap, candidate_cost, explain
        As in :func:`planner.locate.solve_mclp`.

    Returns
    -------
    LocateResult
        ``objective`` = number of new sites (or their total cost);
        ``unreachable`` = demand no candidate covers.  Site explanations
        measure covered weight (what would lose cover without the site).

    Raises
    ------
    planner.errors.TargetUnreachable
        ``target_share`` above the share every candidate together covers.
    ValueError
        Bad shapes or values.
    """
    t0 = time.perf_counter()
    c, w, fx = as_problem(cost, weights, fixed)
    m = c.shape[1]
    r = check_positive(radius_min, "radius_min")
    time_limit_s = check_time_limit(time_limit_s)
    dl = Deadline.at_time(t0 + time_limit_s)
    sc = None if site_cost_wan is None else as_site_values(site_cost_wan, m, name="site_cost_wan")
    a = coverage_matrix(c, r)
    red = reduce_cover(a, w, fx, col_cost=sc)
    if target_share is None:
        out = solve_reduced_lscp(red, col_cost=sc, time_limit_s=solve_time_left(t0, time_limit_s),
                                 mip_rel_gap=mip_rel_gap, deadline=dl)
    else:
        share = check_positive(target_share, "target_share", allow_zero=False)
        if share > 1:
            msg = f"target_share must lie in (0, 1], got {target_share!r}"
            raise ValueError(msg)
        total = float(w.sum())
        base = float(w[red.fixed_covered].sum())
        reach = float(w[red.coverable].sum())
        if reach < share * total - 1e-9 * max(1.0, total):
            from planner.errors import TargetUnreachable

            raise TargetUnreachable(target=f"{share:.1%}", best=f"{reach / total:.1%}" if total else "0%",
                                    radius=f"{r:g}")
        out = solve_reduced_partial_cover(red, share * total - base, col_cost=sc,
                                          time_limit_s=solve_time_left(t0, time_limit_s), mip_rel_gap=mip_rel_gap,
                                          deadline=dl)
    open_sites = np.union1d(fx, red.cols[out.cols])
    return coverage_result(
        model="lscp", cost=c, w=w, radius_min=r, open_sites=open_sites, fixed=fx,
        objective=out.objective, bound=out.bound, status=out.status, method=out.method, t0=t0,
        params={"radius_min": r, "fixed": fx.tolist(), "time_limit_s": time_limit_s,
                "objective": "count" if sc is None else "site_cost_wan", "target_share": target_share},
        explain=explain, candidate_cost=candidate_cost, mip_rel_gap=mip_rel_gap,
    )
