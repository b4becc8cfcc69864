"""Every answer checked against the cost matrix before it is returned.

A solver's objective is only as good as the solution it hands back: HiGHS
1.16 has returned a 20-site set cover while reporting the 17 it had proven
(see :mod:`._highs`).  :func:`certified` wraps each ``solve_*`` function so
that, whatever path produced the result (enumeration, heuristic, MILP on a
reduced model), the returned sites are re-evaluated here from the full cost
matrix, independently of the solver's code:

* the objective recomputed from the open sites must equal the reported one
  (otherwise :class:`SolutionMismatch` is raised: a wrong answer that looks
  right is worse than none);
* the bound must lie on the right side of the objective;
* ``gap`` is recomputed from objective and bound, and the status is
  "optimal" only when that gap is within the tolerance (a proof); an
  "optimal" without one becomes "feasible".
"""
from __future__ import annotations

import dataclasses
import functools
import inspect
import math

import numpy as np

from ._common import relative_gap
from .result import LocateResult

__all__ = ["SolutionMismatch", "certified", "check_result", "evaluate_objective"]

#: Relative tolerance on recomputed objectives (sums taken in another order).
OBJ_RTOL = 1e-6
#: A gap up to this is "optimal" (HiGHS's own tolerance is 1e-7 here; cmclp's single
#: sourcing accepts 1e-4 by default, so the check allows ten times the model's own).
GAP_TOL = 1e-6


class SolutionMismatch(RuntimeError):
    """Internal error: a solver returned sites whose objective is not the one it reported.

    Not a user error (no ``geo.errors`` class): it means a bug in a solver or
    in HiGHS, and the answer must not be shown.
    """


MAXIMISE = {"mclp", "cmclp", "attendance"}


def _within(d: np.ndarray, radius_min: float) -> np.ndarray:
    return d <= radius_min + 1e-9


def evaluate_objective(model: str, result: LocateResult, cost, args: dict) -> float:
    """The model's objective for ``result``'s open sites, from ``cost`` alone.

    ``args`` are the solver call's arguments (weights, radius_min, fixed,
    site_cost_wan, decay...).  Raises :class:`SolutionMismatch` when the
    layout breaks a hard constraint (too many sites, over budget, fixed site
    closed, uncovered demand for LSCP).
    """
    c = np.asarray(cost, dtype=np.float64)
    n, m = c.shape
    w = np.ones(n) if args.get("weights") is None else np.asarray(args["weights"], dtype=np.float64)
    if model == "cmclp":
        w = np.asarray(args["demand_t"], dtype=np.float64)
    open_sites = np.asarray(result.site_indices, dtype=np.int64)
    new_sites = np.asarray(result.new_sites, dtype=np.int64)
    fx_arg = args.get("fixed")
    fixed = np.asarray(sorted(int(f) for f in (() if fx_arg is None else np.asarray(list(fx_arg)).ravel())),
                       dtype=np.int64)
    if not np.isin(fixed, open_sites).all():
        raise SolutionMismatch(f"{model}: a fixed site is not open ({fixed.tolist()} vs {open_sites.tolist()})")
    p = args.get("p")
    if p is not None and model != "lscp" and len(new_sites) > int(p):
        raise SolutionMismatch(f"{model}: {len(new_sites)} new sites opened, p={p}")
    sc = args.get("site_cost_wan")
    budget = args.get("budget_wan")
    if sc is not None and budget is not None:
        sc_arr = np.broadcast_to(np.asarray(sc, dtype=np.float64), (m,))
        spent = float(sc_arr[new_sites].sum())
        if spent > float(budget) + 1e-6 * max(1.0, float(budget)):
            raise SolutionMismatch(f"{model}: new sites cost {spent} > budget {budget}")
    d = np.min(c[:, open_sites], axis=1) if len(open_sites) else np.full(n, np.inf)
    if model == "pmedian":
        ok = np.isfinite(d)
        return float(w[ok] @ d[ok])
    if model == "pcenter":
        rows = (w > 0) & np.isfinite(d)
        return float(d[rows].max()) if rows.any() else 0.0
    if model == "mclp":
        return float(w[_within(d, float(args["radius_min"]))].sum())
    if model == "lscp":
        r = float(args["radius_min"])
        need = (w > 0) & _within(np.min(c, axis=1), r)
        share = args.get("target_share")
        covered = _within(d, r)
        if share is None:
            missing = need & ~covered
            if missing.any():
                raise SolutionMismatch(f"lscp: coverable demand {np.flatnonzero(missing)[:10].tolist()} left uncovered")
        else:
            total = float(w.sum())
            if float(w[covered].sum()) < float(share) * total - 1e-9 * max(1.0, total):
                raise SolutionMismatch(f"lscp: covered share below the target {share}")
        if sc is None:
            return float(len(new_sites))
        return float(np.broadcast_to(np.asarray(sc, dtype=np.float64), (m,))[new_sites].sum())
    if model == "attendance":
        from .decay import decay_factor

        f = decay_factor(d, decay=args.get("decay", "linear"), cutoff_min=float(args["cutoff_min"]),
                         beta=args.get("beta"))
        return float(w @ f)
    if model == "cmclp":
        r = float(args["radius_min"])
        q = np.broadcast_to(np.asarray(args["capacity_t"], dtype=np.float64), (m,))
        flows = np.asarray(result.flows, dtype=np.float64).reshape(-1, 3)
        if len(flows):
            ii, jj, t = flows[:, 0].astype(np.int64), flows[:, 1].astype(np.int64), flows[:, 2]
            if not np.isin(jj, open_sites).all():
                raise SolutionMismatch("cmclp: a flow goes to a closed site")
            if not _within(c[ii, jj], r).all():
                raise SolutionMismatch("cmclp: a flow exceeds the radius")
            per_i = np.bincount(ii, weights=t, minlength=n)
            per_j = np.bincount(jj, weights=t, minlength=m)
            if (per_i > w + 1e-6 * np.maximum(w, 1.0)).any():
                raise SolutionMismatch("cmclp: a village ships more than its crop")
            if (per_j > q + 1e-6 * np.maximum(q, 1.0)).any():
                raise SolutionMismatch("cmclp: a store takes more than its capacity")
            return float(t.sum())
        return 0.0
    raise ValueError(f"unknown model {model!r}")


def check_result(model: str, result: LocateResult, cost, args: dict) -> LocateResult:
    """Re-evaluate ``result`` (see module docstring); returns it, possibly with an honest status."""
    value = evaluate_objective(model, result, cost, args)
    obj = float(result.objective)
    # cmclp drops flows below 1e-9 t: allow that much per flow.
    atol = 1e-9 * (len(result.flows) + 1)
    if not (math.isfinite(obj) and abs(value - obj) <= OBJ_RTOL * max(1.0, abs(value)) + atol):
        raise SolutionMismatch(
            f"{model}: reported objective {obj!r} but the returned sites evaluate to {value!r} "
            f"(sites {list(result.site_indices)[:20]}, method {result.method})")
    maximise = model in MAXIMISE
    bound = float(result.bound)
    changes = {}
    if math.isfinite(bound):
        slack = OBJ_RTOL * max(1.0, abs(obj))
        if (maximise and bound < obj - slack) or (not maximise and bound > obj + slack):
            raise SolutionMismatch(f"{model}: bound {bound!r} on the wrong side of objective {obj!r}")
    gap = relative_gap(obj, bound) if math.isfinite(bound) else math.inf
    if not (gap == result.gap or (math.isfinite(gap) and abs(gap - result.gap) <= 1e-9)):
        changes["gap"] = float(gap)
    tol = max(GAP_TOL, 10 * float((result.params or {}).get("mip_rel_gap") or 0.0))
    if result.status == "optimal" and not gap <= tol:
        changes["status"] = "feasible"
    if changes:
        result = dataclasses.replace(result, **changes)
    return result


def certified(model: str):
    """Decorator for a ``solve_*`` function: check every result it returns (:func:`check_result`)."""

    def wrap(fn):
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def inner(*args, **kwargs):
            result = fn(*args, **kwargs)
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            call = dict(bound.arguments)
            return check_result(model, result, call["cost"], call)

        inner.__wrapped__ = fn
        return inner

    return wrap
