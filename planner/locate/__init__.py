"""Exact location-allocation over a plain travel-time matrix.

``cost[i, j]`` = minutes from demand point ``i`` to candidate site ``j``
(``np.inf`` = unreachable).  Every solver returns a frozen
:class:`LocateResult` (``to_dict()`` for JSON) with objective, proven bound,
gap, status, chosen sites with explanations and unreachable demand; none
raises on unreachable demand or on hitting the time limit.

``p`` always counts NEW sites: ``fixed`` (existing) sites are open on top.

Models
------
pmedian  :func:`solve_pmedian`  ReVelle & Swain 1970; Elloumi 2010 formulation
mclp     :func:`solve_mclp`     Church & ReVelle 1974 (+ budget)
lscp     :func:`solve_lscp`     Toregas et al. 1971
pcenter  :func:`solve_pcenter`  Hakimi 1964 / Daskin 1995
cmclp    :func:`solve_cmclp`    Current & Storbeck 1988 (split or single-sourcing)
attendance :func:`solve_attendance` maximize attendance with distance decay (ArcGIS Network
         Analyst's "Maximize Attendance"; Holmes, Williams & Brown 1972)

Every result is re-evaluated from the cost matrix before it is returned
(:mod:`.certify`); few layouts are enumerated exactly (:mod:`.exhaustive`).
Planning questions over several solves: :func:`coverage_curve` (optimal
coverage for k = 1..K new sites or a list of budgets) in :mod:`.curve`.
"""
from __future__ import annotations

from .attendance import solve_attendance
from .cmclp import solve_cmclp
from .curve import CoverageCurve, CurvePoint, coverage_curve
from .lscp import solve_lscp
from .mclp import solve_mclp
from .orlib import OrlibPmedInstance, make_orlib_like_text, parse_orlib_pmed, parse_pmedopt
from .pcenter import solve_pcenter
from .pmedian import solve_pmedian
from .result import LocateResult, SiteReport

__all__ = [
    "CoverageCurve",
    "CurvePoint",
    "coverage_curve",
    "LocateResult",
    "MODELS",
    "OrlibPmedInstance",
    "SiteReport",
    "make_orlib_like_text",
    "parse_orlib_pmed",
    "parse_pmedopt",
    "solve",
    "solve_attendance",
    "solve_cmclp",
    "solve_lscp",
    "solve_mclp",
    "solve_pcenter",
    "solve_pmedian",
]

MODELS = {
    "pmedian": solve_pmedian,
    "mclp": solve_mclp,
    "lscp": solve_lscp,
    "pcenter": solve_pcenter,
    "cmclp": solve_cmclp,
    "attendance": solve_attendance,
}


def solve(model: str, cost, **kwargs) -> LocateResult:
    """Dispatch to one model by name (for the CLI: ``ruralplan solve/place``).

    Parameters
    ----------
    model : {"pmedian", "mclp", "lscp", "pcenter", "cmclp", "attendance"}
        Model family.
    cost : array_like, shape (n, m)
        Travel minutes demand -> candidate; ``np.inf`` unreachable.
    **kwargs
        Passed to the solver; all keyword-only:

        ``weights`` (n,) demand weights, >= 0 (pmedian, mclp; lscp: zero =
        needs no cover; pcenter: zero = ignored).
        ``demand_t`` (n,), ``capacity_t`` (m,) or scalar: tonnes (cmclp, required).
        ``p`` int: number of NEW sites (pmedian, mclp, pcenter, cmclp; None
        allowed with a budget in pmedian/mclp/cmclp).
        ``radius_min`` float: coverage radius in minutes (mclp, lscp, cmclp).
        ``fixed`` iterable of int: existing, always-open sites (all models).
        ``site_cost_wan`` (m,) and ``budget_wan`` float: opening costs in 万元
        and the total allowed (pmedian, mclp, cmclp); lscp takes
        ``site_cost_wan`` alone to minimise total cost.
        ``cutoff_min``, ``decay``, ``beta``: attendance (see
        :func:`solve_attendance`; ``radius_min`` is accepted as ``cutoff_min``).
        ``target_share`` float: lscp covers at least this share of the demand.
        ``split`` bool: cmclp may split a village's crop across stores.
        ``time_limit_s`` float: wall-clock limit for the whole call, explanations
        included (default 60; see :mod:`._deadline`).
        ``method``: pmedian "auto" | "milp" | "heuristic"; mclp "milp" | "heuristic".
        ``mip_rel_gap`` float: HiGHS optimality tolerance (default 1e-7).
        ``candidate_cost`` (m, m): site-to-site minutes for explanations.
        ``explain`` bool: per-site explanations (default True).
        ``milp_max_entries`` int, ``restarts`` int: pmedian size guard for
        "auto" and interchange restarts.  ``runner_up_pool`` int: cmclp
        candidates tried per site for the runner-up.

    Returns
    -------
    LocateResult

    Raises
    ------
    ValueError
        Unknown model, or the solver's own input errors.

    Notes
    -----
    See :func:`planner.models.solve_model` for the same call with the options checked
    against the model registry (a typed error, never a TypeError).
    """
    try:
        fn = MODELS[model]
    except KeyError:
        msg = f"unknown model {model!r}; expected one of {sorted(MODELS)}"
        raise ValueError(msg) from None
    kwargs = {k: v for k, v in kwargs.items() if v is not None}  # None: "not set", the solver's default
    if model == "attendance" and "radius_min" in kwargs:
        kwargs = dict(kwargs)
        kwargs["cutoff_min"] = kwargs.pop("radius_min")
    if model == "cmclp":
        missing = [k for k in ("demand_t", "capacity_t") if k not in kwargs]
        if missing:
            from planner.errors import invalid_input

            raise invalid_input(f"cmclp needs {', '.join(missing)}", f"cmclp 模型需要 {'、'.join(missing)}")
        kwargs = dict(kwargs)
        return fn(cost, kwargs.pop("demand_t"), kwargs.pop("capacity_t"), **kwargs)
    return fn(cost, **kwargs)
