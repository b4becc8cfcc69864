"""Travel times without a road network: straight-line distance × a detour factor.

A county that has not imported its roads still gets answers from every network
analysis (OD, accessibility, coverage, placement, service areas), as an *estimate*:
``minutes = distance_m × detour_factor / (speed_kmh × 1000 / 60)``.  Every result
built on it carries :meth:`StraightLineEstimate.to_dict` so each adapter labels it
as an estimate.

The detour (circuity) factor is the ratio of network to straight-line distance;
1.3 is the usual figure for rural road networks (Ballou, Rahardja & Sakai 2002,
"Selected country circuity factors for road travel distance estimation",
Transportation Research A 36: 843–848, report 1.2–1.4), higher in mountain counties.
The speed is a county-road figure (30 km/h: between the township and county design
speeds of JTG B01-2014), to be set per county in the ``network`` settings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pyproj import CRS

__all__ = ["StraightLineEstimate"]


@dataclass(frozen=True, eq=False)
class StraightLineEstimate:
    """Stand-in for a :class:`~planner.graph.RoadGraph` when there are no roads.

    :func:`planner.snap.snap_points`, :func:`planner.travel.travel_time_matrix`,
    :func:`planner.travel.nearest_times` and :func:`planner.service_area.service_areas`
    accept it in place of a graph.

    Attributes
    ----------
    crs : pyproj.CRS
        Metric CRS distances are measured in (one per county, so every layer agrees).
    detour_factor : float
        Network distance / straight-line distance (default 1.3).
    speed_kmh : float
        Average door-to-door speed applied to the detoured distance (default 30).
    """

    crs: CRS
    detour_factor: float = 1.3
    speed_kmh: float = 30.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.detour_factor) and self.detour_factor >= 1.0):
            msg = f"detour_factor must be >= 1, got {self.detour_factor}"
            raise ValueError(msg)
        if not (np.isfinite(self.speed_kmh) and self.speed_kmh > 0):
            msg = f"speed_kmh must be positive, got {self.speed_kmh}"
            raise ValueError(msg)
        object.__setattr__(self, "crs", CRS.from_user_input(self.crs))

    @classmethod
    def for_frame(cls, gdf, **kw) -> StraightLineEstimate:
        """An estimate in the metric CRS chosen for ``gdf`` (e.g. the villages layer)."""
        from geo.crs import metric_crs_for

        return cls(crs=metric_crs_for(gdf), **kw)

    # graph-like attributes the planner reads
    access_speed_kmh = 5.0
    n_nodes = 0
    n_edges = 0
    node_xy = np.zeros((0, 2))  # no road nodes (e.g. no network alternatives in an evaluation)

    @property
    def metres_per_min(self) -> float:
        return self.speed_kmh * 1000.0 / 60.0 / self.detour_factor

    def minutes_between(self, a_xy: np.ndarray, b_xy: np.ndarray) -> np.ndarray:
        """Estimated minutes from every row of ``a_xy`` to every row of ``b_xy`` (metres)."""
        d = np.hypot(a_xy[:, None, 0] - b_xy[None, :, 0], a_xy[:, None, 1] - b_xy[None, :, 1])
        return d / self.metres_per_min

    def to_dict(self) -> dict[str, Any]:
        """What every output shows: the method, its factor and speed."""
        return {"method": "straight_line", "detour_factor": float(self.detour_factor),
                "speed_kmh": float(self.speed_kmh),
                "note": f"estimate without a road network: straight-line distance × {self.detour_factor:g} "
                        f"at {self.speed_kmh:g} km/h"}


def is_estimate(graph) -> bool:
    return isinstance(graph, StraightLineEstimate)
