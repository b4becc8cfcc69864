"""Frozen result objects returned by every solver in :mod:`planner.locate`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any


def _json(value: Any) -> Any:
    """Make a value JSON-safe: tuples -> lists, non-finite floats -> None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (tuple, list)):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "item"):  # numpy scalar
        return _json(value.item())
    return value


@dataclass(frozen=True)
class SiteReport:
    """Why one open site is in the solution.

    Attributes
    ----------
    site : int
        Candidate index (column of the cost matrix).
    fixed : bool
        True for an existing site passed in ``fixed`` (always open).
    demand_count : int
        Demand points assigned to this site.
    demand_served : float
        Their total weight (people, tonnes, ...).  For capacitated models the
        tonnage actually allocated to the site.
    objective_without : float
        Objective recomputed with this site closed and every other open site
        kept (``inf`` for min-models when some demand would be left unserved).
    loss_if_removed : float
        How much worse the objective gets without this site (>= 0).
    nearest_site : int or None
        Nearest other open site.
    nearest_site_min : float or None
        Travel minutes to it (see ``nearest_site_via``).
    nearest_site_via : str
        "candidate_cost" when a candidate-to-candidate matrix was supplied,
        otherwise "demand": ``min_i cost[i, a] + cost[i, b]``, an upper bound
        on the a-b time through the best-placed demand point.
    runner_up : int or None
        Best non-chosen candidate to swap in for this site (new sites only).
    runner_up_objective : float or None
        Objective with that swap made.
    runner_up_delta : float or None
        How much worse that swap is (>= 0 when the solution is optimal).
    explanation : str
        How the figures above were obtained: "exact" (recomputed exactly),
        "heuristic" (capacitated models when the time left was short: values
        from a fast single-sourcing packing or, with no time for that, the
        answer's own flows into the stores kept -- lower bounds on tonnes
        served; see ``LocateResult.params["explanations"]``), "partial" (the
        time limit, which covers the explanations, ran out: runner-up not
        searched, or not over every candidate, and without a
        ``candidate_cost`` matrix the nearest site left out) or "none"
        (``explain=False``).
    """

    site: int
    fixed: bool
    demand_count: int
    demand_served: float
    objective_without: float
    loss_if_removed: float
    nearest_site: int | None
    nearest_site_min: float | None
    nearest_site_via: str
    runner_up: int | None
    runner_up_objective: float | None
    runner_up_delta: float | None
    explanation: str = "exact"

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True)
class LocateResult:
    """Outcome of one location-allocation solve.

    Attributes
    ----------
    model : str
        "pmedian", "mclp", "lscp", "pcenter" or "cmclp".
    method : str
        "highs-milp", "greedy+interchange", "greedy+interchange+lagrangian",
        "binary-search+highs-milp", ...
    status : str
        "optimal" (gap closed), "time_limit" (limit hit; best solution found is
        returned with its gap) or "feasible" (heuristic without proof).
    objective : float
        Model objective of the returned solution, in model units: weighted
        minutes (pmedian), covered weight (mclp), number of new sites or their
        total cost (lscp), worst minutes (pcenter), tonnes served (cmclp).
        Unreachable demand is excluded.
    bound : float
        Best proven bound on the optimum (lower for min-models, upper for max).
    gap : float
        ``|objective - bound| / |objective|`` (0 when both are 0).
    seconds : float
        Wall-clock seconds for the whole call.
    sites : tuple of SiteReport
        Every open site (fixed and new), sorted by index, with explanations.
    assignment : tuple of int
        Per demand point: the open site serving it, or -1.
    assignment_cost : tuple of float
        Per demand point: travel minutes to that site (``inf`` when -1).
    covered_demand, uncovered_demand : float
        Weight served / not served (unreachable demand counts as uncovered).
    covered, uncovered : tuple of int
        Demand indices served / not served; ``uncovered`` includes
        ``unreachable``.
    unreachable : tuple of int
        Demand no candidate at all can serve (no finite travel time, or none
        within the radius for coverage models).  Reported, never fatal.
    flows : tuple of (int, int, float)
        Capacitated model only: (demand, site, amount) allocations.
    params : dict
        Echo of the call's options (p, radius_min, budget_wan, ...).
    """

    model: str
    method: str
    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    sites: tuple[SiteReport, ...]
    assignment: tuple[int, ...]
    assignment_cost: tuple[float, ...]
    covered_demand: float
    uncovered_demand: float
    covered: tuple[int, ...]
    uncovered: tuple[int, ...]
    unreachable: tuple[int, ...]
    flows: tuple[tuple[int, int, float], ...] = ()
    params: dict = field(default_factory=dict)

    @property
    def site_indices(self) -> tuple[int, ...]:
        """All open sites (fixed and new)."""
        return tuple(s.site for s in self.sites)

    @property
    def new_sites(self) -> tuple[int, ...]:
        """Open sites that were not fixed, i.e. the decision."""
        return tuple(s.site for s in self.sites if not s.fixed)

    @property
    def fixed_sites(self) -> tuple[int, ...]:
        return tuple(s.site for s in self.sites if s.fixed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (``inf``/NaN become ``None``)."""
        out = {f.name: _json(getattr(self, f.name)) for f in fields(self)}
        out["new_sites"] = list(self.new_sites)
        out["fixed_sites"] = list(self.fixed_sites)
        return out
