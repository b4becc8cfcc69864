"""Per-site explanations: what each open site serves and what it beat.

Every explanation is *recomputed* from the cost matrix rather than read off
the MILP (the MILP was solved on a reduced model): close one site, keep the
others, re-evaluate; swap one site for every non-chosen candidate, keep the
best swap as the "runner-up".
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np

from .result import SiteReport

# Cap the scratch (demand x candidates) block per swap evaluation (~32 MB).
_BLOCK_ENTRIES = 4_000_000
#: Entries of the first runner-up block (its cost per column sizes the later ones).
_FIRST_BLOCK_ENTRIES = 250_000


def nearest_open_site(
    cost: np.ndarray, open_sites: Sequence[int], r: int, candidate_cost: np.ndarray | None
) -> tuple[int | None, float | None, str]:
    """Nearest other open site to ``r`` (see ``SiteReport.nearest_site_via``)."""
    others = [s for s in open_sites if s != r]
    if not others:
        return None, None, "candidate_cost" if candidate_cost is not None else "demand"
    if candidate_cost is not None:
        d = np.asarray(candidate_cost, dtype=np.float64)[r, others]
        via = "candidate_cost"
    else:
        # No site-to-site matrix: go through the demand point that links both
        # best (exact when a demand point sits at one of the sites).
        d = np.min(cost[:, [r]] + cost[:, others], axis=0)
        via = "demand"
    k = int(np.argmin(d))
    if not math.isfinite(d[k]):
        return None, None, via
    return int(others[k]), float(d[k]), via


def _site_report(
    cost: np.ndarray, open_sites: Sequence[int], r: int, fixed_set: set[int], candidate_cost: np.ndarray | None,
    *, count, served, without: float, loss, runner_up: tuple, explanation: str, skip_nearest: bool = False,
) -> SiteReport:
    """``SiteReport`` for open site ``r``: the figures computed by the caller, plus the
    nearest other open site (None with ``skip_nearest``: out of time); ``runner_up`` is
    ``(site, objective, delta)``, all None if none."""
    ru, ru_obj, ru_delta = runner_up
    if skip_nearest:
        near, near_min, via = None, None, "demand"
    else:
        near, near_min, via = nearest_open_site(cost, open_sites, r, candidate_cost)
    return SiteReport(
        site=r,
        fixed=r in fixed_set,
        demand_count=int(count),
        demand_served=float(served),
        objective_without=without,
        loss_if_removed=float(loss),
        nearest_site=near,
        nearest_site_min=near_min,
        nearest_site_via=via,
        runner_up=ru,
        runner_up_objective=ru_obj,
        runner_up_delta=None if ru_delta is None else float(ru_delta),
        explanation=explanation,
    )


def explain_by_distance(
    cost: np.ndarray,
    open_sites: Sequence[int],
    fixed: Sequence[int],
    score: Callable[[np.ndarray], np.ndarray],
    *,
    minimize: bool,
    objective: float,
    assignment: np.ndarray,
    weights: np.ndarray,
    candidate_cost: np.ndarray | None = None,
    swap_allowed: Callable[[int, np.ndarray], np.ndarray] | None = None,
    deadline: float | None = None,
) -> tuple[SiteReport, ...]:
    """Explanations for models whose objective depends only on each demand point's nearest open site.

    Parameters
    ----------
    cost
        Full ``(n, m)`` travel-time matrix.
    open_sites, fixed
        Open candidate indices (fixed ones included) and the fixed subset.
    score
        ``score(D)`` maps a ``(n, k)`` block of nearest-open-site minutes (one
        column per scenario) to ``k`` objective values.
    minimize
        Objective sense (losses are reported as "how much worse", >= 0).
    objective
        Objective of the solution as returned (used for the deltas).
    assignment, weights
        Per demand point: serving site (-1 none) and weight, for
        ``demand_count`` / ``demand_served``.
    candidate_cost
        Optional ``(m, m)`` site-to-site minutes for ``nearest_site``.
    swap_allowed
        ``swap_allowed(r, cands) -> bool mask``: budget feasibility of
        replacing ``r`` by each of ``cands``.
    deadline
        ``time.perf_counter()`` value after which runner-up searches stop
        (the caller's ``time_limit_s`` covers the explanations too); sites
        left without one are marked ``explanation="partial"``.  "Loss if
        removed" (one column minimum per site) is always computed.
    """
    open_sites = [int(s) for s in sorted(open_sites)]
    fixed_set = {int(f) for f in fixed}
    n, m = cost.shape
    sub = cost[:, open_sites] if open_sites else np.full((n, 0), np.inf)
    not_open = np.setdiff1d(np.arange(m), open_sites)
    sign = 1.0 if minimize else -1.0
    reports = []
    # Without site r a point keeps its nearest open site unless that is r, then it
    # gets its second nearest: O(n) per site instead of a minimum over the others.
    k_open = len(open_sites)
    if k_open > 1:
        two = np.argpartition(sub, 1, axis=1)[:, :2]
        a, b = sub[np.arange(n), two[:, 0]], sub[np.arange(n), two[:, 1]]
        first = np.where(b < a, two[:, 1], two[:, 0])
        d1, d2 = np.minimum(a, b), np.maximum(a, b)
        # Every site's "without" score in a few calls (one per block of sites): one
        # call per site cost 0.5 ms each, 45 ms for 90 sites at n = 900 -- past a
        # 0.3 s limit, since this part is never skipped.
        withouts = np.empty(k_open)
        per = max(1, _BLOCK_ENTRIES // max(n, 1))
        for s0 in range(0, k_open, per):
            cols = np.arange(s0, min(k_open, s0 + per))
            withouts[cols] = score(np.where(first[:, None] == cols[None, :], d2[:, None], d1[:, None]))
    # Runner-up blocks: sized from the measured seconds per column so that one
    # block cannot run far past the deadline (a 4e6-entry block of the decay
    # score took 20 ms, two thirds of a 0.3 s limit's tail).
    per_col = None
    max_step = max(1, _BLOCK_ENTRIES // max(n, 1))

    def next_step() -> int:
        if deadline is None or per_col is None:
            return max(1, min(max_step, _FIRST_BLOCK_ENTRIES // max(n, 1)))
        return int(max(1, min(max_step, (deadline - time.perf_counter()) / max(per_col, 1e-12))))

    for pos, r in enumerate(open_sites):
        if k_open > 1:
            base = np.where(first == pos, d2, d1)
            without = float(withouts[pos])
        else:
            base = np.full(n, np.inf)
            without = float(score(base[:, None])[0])
        loss = sign * (without - objective)
        ru = ru_obj = ru_delta = None
        kind = "exact"
        out_of_time = deadline is not None and time.perf_counter() > deadline
        if r not in fixed_set and len(not_open) and out_of_time:
            kind = "partial"
        elif r not in fixed_set and len(not_open):
            cands = not_open
            if swap_allowed is not None:
                cands = cands[swap_allowed(r, cands)]
            best_j, best_v = None, None
            s = 0
            while s < len(cands):
                if s and deadline is not None and time.perf_counter() > deadline:
                    kind = "partial"  # best among the blocks scanned so far
                    break
                block = cands[s:s + next_step()]
                s += len(block)
                t_block = time.perf_counter()
                vals = score(np.minimum(base[:, None], cost[:, block]))
                per_col = (time.perf_counter() - t_block) / len(block)
                k = int(np.argmin(sign * vals))
                if best_v is None or sign * vals[k] < sign * best_v:
                    best_j, best_v = int(block[k]), float(vals[k])
            if best_j is not None:
                ru, ru_obj = best_j, best_v
                ru_delta = sign * (best_v - objective)
        # A site serves the demand points with weight > 0 assigned to it.
        mine = (assignment == r) & (weights > 0)
        # The nearest other site through the demand points costs O(n * sites): not past the deadline.
        skip_near = candidate_cost is None and deadline is not None and time.perf_counter() > deadline
        if skip_near and len(open_sites) > 1:
            kind = "partial"
        reports.append(_site_report(
            cost, open_sites, r, fixed_set, candidate_cost, count=mine.sum(), served=weights[mine].sum(),
            without=without, loss=loss, runner_up=(ru, ru_obj, ru_delta), explanation=kind,
            skip_nearest=skip_near,
        ))
    return tuple(reports)


def explain_by_evaluator(
    cost: np.ndarray,
    open_sites: Sequence[int],
    fixed: Sequence[int],
    evaluate: Callable[[Sequence[int], float], tuple[float, str]],
    *,
    minimize: bool,
    objective: float,
    served_by_site: dict[int, tuple[int, float]],
    runner_up_pool: Callable[[int], np.ndarray],
    candidate_cost: np.ndarray | None = None,
    deadline: float | None = None,
) -> tuple[SiteReport, ...]:
    """Explanations for models needing an optimisation per evaluation (capacitated).

    ``evaluate(open_sites, seconds) -> (objective, kind)`` may be costly, so
    swaps are tried only over ``runner_up_pool(r)`` (a short list of
    plausible candidates, documented by the caller).  The time left until
    ``deadline`` is shared equally among the evaluations still to do and
    passed as ``seconds``; the evaluator decides how exact it can be in that
    time and says so with ``kind`` ("exact" or "heuristic").  A site's
    ``explanation`` is "exact" only when all its evaluations were; once the
    deadline has passed no more runner-ups are tried ("partial").
    """
    open_sites = [int(s) for s in sorted(open_sites)]
    fixed_set = {int(f) for f in fixed}
    sign = 1.0 if minimize else -1.0
    pools = {r: ([] if r in fixed_set else [int(j) for j in runner_up_pool(r)]) for r in open_sites}
    todo = sum(1 + len(v) for v in pools.values())

    def run(sites):
        nonlocal todo
        share = math.inf if deadline is None else max(0.0, deadline - time.perf_counter()) / max(todo, 1)
        todo -= 1
        v, k = evaluate(sites, share)
        return float(v), k

    reports = []
    for r in open_sites:
        rest = [s for s in open_sites if s != r]
        without, kind = run(rest)
        kinds = {kind}
        ru = ru_obj = ru_delta = None
        for j in pools[r]:
            if deadline is not None and time.perf_counter() > deadline:
                # The limit covers the explanations: the runner-up search stops here.
                kinds.add("partial")
                break
            v, k = run(rest + [j])
            kinds.add(k)
            if ru_obj is None or sign * v < sign * ru_obj:
                ru, ru_obj = j, v
        if ru is not None:
            ru_delta = sign * (ru_obj - objective)
        count, served = served_by_site.get(r, (0, 0.0))
        reports.append(_site_report(
            cost, open_sites, r, fixed_set, candidate_cost, count=count, served=served,
            without=without, loss=sign * (without - objective), runner_up=(ru, ru_obj, ru_delta),
            explanation="exact" if kinds == {"exact"} else ("partial" if "partial" in kinds else "heuristic"),
        ))
    return tuple(reports)


def nearest_assignment(cost: np.ndarray, open_sites: Sequence[int], radius_min: float | None = None):
    """Per demand point the nearest open site (-1 if none / beyond radius) and its minutes."""
    n = cost.shape[0]
    open_sites = np.asarray(sorted(open_sites), dtype=np.int64)
    if open_sites.size == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    sub = cost[:, open_sites]
    k = np.argmin(sub, axis=1)
    d = sub[np.arange(n), k]
    a = open_sites[k]
    bad = ~np.isfinite(d)
    if radius_min is not None:
        bad |= d > radius_min + 1e-9
    a = np.where(bad, -1, a)
    d = np.where(bad, np.inf, d)
    return a, d
