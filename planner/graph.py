"""Road graph: turn a roads layer into a directed, travel-time weighted graph.

The graph lives in a metric CRS.  Nodes are the endpoints of road lines and every
vertex shared by two or more lines (so a village road that ends on a vertex of a
county road is joined to it).  Optionally lines are also noded where they cross
without sharing a vertex, and endpoints closer than a tolerance are merged,
because county shapefiles are rarely topologically clean.

Bulk shortest paths run on the compiled CSR matrix with
:func:`scipy.sparse.csgraph.dijkstra`; :meth:`RoadGraph.to_networkx` gives the
same model as a :class:`networkx.MultiDiGraph` for small queries and inspection.
"""
from __future__ import annotations

import dataclasses

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from pyproj import CRS
from scipy.sparse.csgraph import connected_components

from .errors import InvalidParameter, InvalidSpeed

__all__ = [
    "DEFAULT_CLASS_SPEEDS_KMH",
    "ROAD_CLASSES",
    "RoadGraph",
    "SpeedTable",
    "build_road_graph",
    "roads_fingerprint",
]

ROAD_CLASSES = ("expressway", "national", "provincial", "county", "township", "village", "other")

#: Road classes with access control (高速公路): points never snap onto them, and they are
#: entered only where the data connect them to other roads (links, interchanges).
DEFAULT_ACCESS_CONTROLLED = ("expressway",)

#: Default free-flow speeds by administrative road class (km/h).
#:
#: Assumptions: the design speeds of JTG B01-2014 (《公路工程技术标准》) are
#: 高速公路 120/100/80, 一级 100/80/60, 二级 80/60, 三级 40/30, 四级 30/20 km/h.  Expressways
#: (高速公路, OSM motorway and trunk with motorroad=yes) get 100, the design speed of
#: an expressway in hilly terrain, which is what most rural counties are.  National roads (国道) in
#: rural counties are mostly 一级/二级 highways (80), provincial roads (省道) 二级 (60),
#: county roads (县道) 三级 (40), township roads (乡道) 三/四级 (30) and village roads
#: (村道) 四级 (20); expressways (高速公路, design speed 120/100/80) 100.  "other" (unclassified tracks, farm roads) gets 15.  These are
#: design speeds, i.e. optimistic for mountain counties; pass a :class:`SpeedTable`
#: or a ``speed_kmh`` column to use surveyed speeds instead.
DEFAULT_CLASS_SPEEDS_KMH: Mapping[str, float] = MappingProxyType(
    {"expressway": 100.0, "national": 80.0, "provincial": 60.0, "county": 40.0, "township": 30.0, "village": 20.0, "other": 15.0}
)

#: Fragment rule (see :meth:`RoadGraph.major_components`): a component that is not the
#: largest is a stray fragment unless it has 3 km of road and 0.1 % of all edges (a
#: village's own street grid cut off from the county network, 6 km and 80 edges in
#: a 24k-edge county, is a network; a 500 m dead end touching nothing is a fragment).
DEFAULT_MIN_COMPONENT_KM = 3.0
DEFAULT_MIN_COMPONENT_SHARE = 0.001

_FORMAT_VERSION = 2  # 2: edge road class and access control


def _speed(name, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidSpeed(road_class=str(name), speed=repr(value)) from None


@dataclass(frozen=True)
class SpeedTable:
    """Speeds by road class and surface.

    Parameters
    ----------
    class_speeds_kmh : mapping, optional
        Speed per road class in km/h; merged over :data:`DEFAULT_CLASS_SPEEDS_KMH`.
    unpaved_factor : float
        Multiplier for ``surface == "unpaved"`` (default 0.6: an assumption that
        gravel/earth roads are driven at roughly 60 % of the paved speed).
    default_speed_kmh : float
        Speed for a road class missing from the table (default: the "other" speed).
    access_controlled : sequence of str
        Road classes with access control (default ``("expressway",)``): points are
        never snapped onto them and they are only entered at nodes they share with
        other roads.
    """

    class_speeds_kmh: Mapping[str, float] = field(default_factory=dict)
    unpaved_factor: float = 0.6
    default_speed_kmh: float | None = None
    access_controlled: tuple[str, ...] = DEFAULT_ACCESS_CONTROLLED

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_CLASS_SPEEDS_KMH)
        merged.update({str(k): _speed(k, v) for k, v in dict(self.class_speeds_kmh).items()})
        for name, speed in merged.items():
            if not np.isfinite(speed) or speed <= 0:
                raise InvalidSpeed(road_class=name, speed=speed)
        factor = _speed("unpaved_factor", self.unpaved_factor)
        if not 0 < factor <= 1.5:
            raise InvalidParameter(name="unpaved_factor", value=self.unpaved_factor,
                                   expected_en="a factor in (0, 1.5]", expected_zh="应在 (0, 1.5] 之间")
        default = merged["other"] if self.default_speed_kmh is None else _speed("default", self.default_speed_kmh)
        if not np.isfinite(default) or default <= 0:
            raise InvalidSpeed(road_class="default", speed=default)
        object.__setattr__(self, "class_speeds_kmh", MappingProxyType(merged))
        object.__setattr__(self, "default_speed_kmh", default)
        if isinstance(self.access_controlled, str):
            object.__setattr__(self, "access_controlled", (self.access_controlled,))
        object.__setattr__(self, "access_controlled", tuple(sorted(str(c) for c in self.access_controlled)))

    def speed_kmh(self, road_class: str, surface: str = "paved") -> float:
        """Speed in km/h for one road class and surface."""
        speed = self.class_speeds_kmh.get(str(road_class), self.default_speed_kmh)
        return speed * (self.unpaved_factor if str(surface) == "unpaved" else 1.0)

    def speeds_kmh(self, road_class: pd.Series, surface: pd.Series) -> np.ndarray:
        """Vectorised :meth:`speed_kmh`."""
        base = road_class.astype(str).map(dict(self.class_speeds_kmh)).fillna(self.default_speed_kmh)
        factor = np.where(surface.astype(str).to_numpy() == "unpaved", self.unpaved_factor, 1.0)
        return base.to_numpy(dtype=float) * factor

    def to_dict(self) -> dict[str, Any]:
        return {
            "class_speeds_kmh": dict(sorted(self.class_speeds_kmh.items())),
            "unpaved_factor": float(self.unpaved_factor),
            "default_speed_kmh": float(self.default_speed_kmh),
            "access_controlled": list(self.access_controlled),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpeedTable:
        data = dict(data)
        if "access_controlled" in data:
            data["access_controlled"] = tuple(data["access_controlled"] or ())
        return cls(**data)

    def is_access_controlled(self, road_class: pd.Series) -> np.ndarray:
        """True per row whose class has access control (vectorised)."""
        return road_class.astype(str).isin(list(self.access_controlled)).to_numpy()


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A directed road graph weighted by travel minutes, in a metric CRS.

    Attributes
    ----------
    crs : pyproj.CRS
        The metric CRS of ``node_xy`` and ``edge_geometry``.
    node_xy : ndarray, shape (n_nodes, 2)
        Node coordinates in metres.
    edge_u, edge_v : ndarray of int64
        Edge endpoints; the edge geometry is digitised from ``u`` to ``v``.
    edge_length_m, edge_minutes, edge_speed_kmh : ndarray of float64
    edge_oneway : ndarray of bool
        True when the edge may only be driven from ``u`` to ``v``.
    edge_road : ndarray of int64
        Row position (``iloc``) of the source road in the roads layer.
    edge_road_id : ndarray of object
        ``id`` of the source road (or its index label when there is no ``id``).
    edge_road_class : ndarray of object
        ``road_class`` of the source road (``"other"`` when missing).
    edge_access_controlled : ndarray of bool
        True on access-controlled roads (expressways): never snapped onto, entered
        only at nodes shared with other roads.
    edge_geometry : ndarray of shapely.LineString
    minutes : scipy.sparse.csr_matrix
        ``minutes[i, j]`` is the fastest direct edge from node i to node j.
    component : ndarray of int64
        Weakly connected component label per node.
    main_component : int
        Label of the largest component (by node count).
    """

    crs: CRS
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length_m: np.ndarray
    edge_minutes: np.ndarray
    edge_speed_kmh: np.ndarray
    edge_oneway: np.ndarray
    edge_road: np.ndarray
    edge_road_id: np.ndarray
    edge_geometry: np.ndarray
    edge_road_class: np.ndarray
    edge_access_controlled: np.ndarray
    minutes: sp.csr_matrix
    component: np.ndarray
    main_component: int
    speed_table: SpeedTable
    access_speed_kmh: float
    fingerprint: str = ""
    #: The fragment rule snapping uses by default (see :meth:`major_components`).
    min_component_km: float = DEFAULT_MIN_COMPONENT_KM
    min_component_share: float = DEFAULT_MIN_COMPONENT_SHARE
    #: A scenario's graph (:func:`with_base_fragments`): True on edges whose road is a stray
    #: fragment *of the base network*. Closures are not data faults: a road piece a
    #: scenario cuts off stays a road to snap onto (its villages are then cut off, the
    #: scenario's effect), and only the base data's fragments are fragments. None: decided
    #: from this graph's own components.
    edge_base_fragment: np.ndarray | None = None
    #: A scenario's graph: the base network's graph, so that :func:`planner.travel.point_reasons`
    #: tells the points the scenario cuts off (``scenario_blocked``) from those the data leave
    #: off the network. Not stored with the graph (the caller attaches it, see
    #: :func:`with_base_network`).
    base: RoadGraph | None = field(default=None, compare=False, repr=False)

    @property
    def n_nodes(self) -> int:
        return int(self.node_xy.shape[0])

    @property
    def n_edges(self) -> int:
        return int(self.edge_u.shape[0])

    @cached_property
    def edge_component(self) -> np.ndarray:
        """Component label of every edge (both ends share it: components are weak)."""
        return self.component[self.edge_u] if self.n_edges else np.zeros(0, dtype=np.int64)

    @cached_property
    def edge_tree(self) -> shapely.STRtree:
        """Spatial index of the edge geometries (built on first use)."""
        return shapely.STRtree(self.edge_geometry)

    @cached_property
    def minutes_reversed(self) -> sp.csr_matrix:
        """Transpose of :attr:`minutes`, for "how long to get *to* here" searches."""
        return self.minutes.T.tocsr()

    def component_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Edges and total length (m) per weak component label."""
        n_comp = int(self.component.max()) + 1 if self.n_nodes else 0
        edges = np.bincount(self.edge_component, minlength=n_comp)
        length = np.bincount(self.edge_component, weights=self.edge_length_m, minlength=n_comp)
        return edges, length

    def major_components(self, *, min_component_km: float | None = None,
                         min_component_share: float | None = None) -> np.ndarray:
        """Which components are road networks rather than stray fragments.

        A component is *major* when it is the largest (by node count), or when it
        has at least ``min_component_km`` of road **and** at least
        ``min_component_share`` of all edges: a county split by a river or a
        county with an island part keeps its second network, while a digitised
        stub of a few hundred metres that touches nothing is a fragment.  Points
        are snapped onto major components only; fragments are reported.

        Returns
        -------
        ndarray of bool, shape (n_components,)
        """
        min_component_km = self.min_component_km if min_component_km is None else min_component_km
        min_component_share = self.min_component_share if min_component_share is None else min_component_share
        edges, length = self.component_stats()
        major = (length >= float(min_component_km) * 1000.0) & (edges >= float(min_component_share) * self.n_edges)
        if len(major) and self.main_component >= 0:
            major[self.main_component] = True
        return major

    def edge_on_network(self, *, min_component_km: float | None = None,
                        min_component_share: float | None = None) -> np.ndarray:
        """Per edge: True when it is part of a road network rather than a stray fragment.

        By :meth:`major_components` — or, on a scenario's graph, by the base network's
        fragments (:attr:`edge_base_fragment`) unless another fragment rule is asked for.

        Returns
        -------
        ndarray of bool, shape (n_edges,)
        """
        own_rule = (min_component_km in (None, self.min_component_km)
                    and min_component_share in (None, self.min_component_share))
        if self.edge_base_fragment is not None and own_rule:
            return ~np.asarray(self.edge_base_fragment, dtype=bool)
        if not self.n_edges:
            return np.zeros(0, dtype=bool)
        major = self.major_components(min_component_km=min_component_km, min_component_share=min_component_share)
        return major[self.edge_component]

    def summary(self) -> dict[str, Any]:
        sizes = np.bincount(self.component) if self.n_nodes else np.zeros(0, dtype=int)
        return {
            "n_nodes": self.n_nodes,
            "n_edges": self.n_edges,
            "n_components": int(len(sizes)),
            "main_component_nodes": int(sizes[self.main_component]) if len(sizes) else 0,
            "total_length_km": float(self.edge_length_m.sum() / 1000.0),
            "crs": self.crs.to_string(),
        }

    def to_networkx(self):
        """The graph as a :class:`networkx.MultiDiGraph`.

        Nodes carry ``x``, ``y`` (metres) and ``component``; every drivable direction
        is an edge with ``length_m``, ``minutes``, ``speed_kmh``, ``oneway``,
        ``road_id`` and ``edge`` (position in the edge arrays) attributes.  Meant for
        inspection and small queries; bulk searches should use :attr:`minutes`.
        """
        import networkx as nx

        g = nx.MultiDiGraph(crs=self.crs.to_string())
        g.add_nodes_from(
            (i, {"x": float(x), "y": float(y), "component": int(c)})
            for i, ((x, y), c) in enumerate(zip(self.node_xy, self.component))
        )
        for e in range(self.n_edges):
            u, v = int(self.edge_u[e]), int(self.edge_v[e])
            attrs = {
                "length_m": float(self.edge_length_m[e]),
                "minutes": float(self.edge_minutes[e]),
                "speed_kmh": float(self.edge_speed_kmh[e]),
                "oneway": bool(self.edge_oneway[e]),
                "road_id": self.edge_road_id[e],
                "edge": e,
            }
            g.add_edge(u, v, **attrs)
            if not self.edge_oneway[e]:
                g.add_edge(v, u, **attrs)
        return g

    # -- cache support ------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Plain numpy arrays plus JSON-able metadata, for caching by fingerprint.

        Returns
        -------
        arrays : dict of str to ndarray
            No object arrays (geometry is stored as coordinates + offsets), so the
            dict can be written with ``np.savez`` and read back without pickle.
            Includes the ``ch_*`` arrays of the contraction hierarchy
            (:func:`planner.ch.graph_hierarchy`) when it has been built.
        meta : dict
            CRS (WKT), speed table, access speed, fingerprint, format version.
        """
        coords, part = shapely.get_coordinates(self.edge_geometry, return_index=True)
        offsets = np.zeros(self.n_edges + 1, dtype=np.int64)
        np.cumsum(np.bincount(part, minlength=self.n_edges), out=offsets[1:])
        arrays = {
            "node_xy": self.node_xy,
            "edge_u": self.edge_u,
            "edge_v": self.edge_v,
            "edge_length_m": self.edge_length_m,
            "edge_minutes": self.edge_minutes,
            "edge_speed_kmh": self.edge_speed_kmh,
            "edge_oneway": self.edge_oneway,
            "edge_road": self.edge_road,
            "edge_road_id": self.edge_road_id.astype(str),
            "edge_road_class": self.edge_road_class.astype(str),
            "edge_access_controlled": self.edge_access_controlled,
            "edge_coords": coords,
            "edge_coord_offsets": offsets,
        }
        if self.edge_base_fragment is not None:  # optional key: older readers ignore it
            arrays["edge_base_fragment"] = np.asarray(self.edge_base_fragment, dtype=bool)
        meta = {
            "format_version": _FORMAT_VERSION,
            "crs_wkt": self.crs.to_wkt(),
            "speed_table": self.speed_table.to_dict(),
            "access_speed_kmh": float(self.access_speed_kmh),
            "fingerprint": self.fingerprint,
            "min_component_km": float(self.min_component_km),
            "min_component_share": float(self.min_component_share),
        }
        # The contraction hierarchy depends only on the graph: ship it along when it
        # has been built, so a cached graph does not pay the preprocessing again.
        # Optional keys, so the format version stays (older readers ignore them).
        from planner.ch import hierarchy_to_arrays

        arrays.update(hierarchy_to_arrays(self))
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> RoadGraph:
        """Rebuild a graph written by :meth:`to_arrays` (CSR and components are recomputed;
        a contraction hierarchy in the arrays is attached to the new graph)."""
        if meta.get("format_version") != _FORMAT_VERSION:
            msg = f"unsupported road graph format version {meta.get('format_version')!r}"
            raise ValueError(msg)
        offsets = np.asarray(arrays["edge_coord_offsets"], dtype=np.int64)
        counts = np.diff(offsets)
        geometry = shapely.linestrings(
            np.asarray(arrays["edge_coords"], dtype=float), indices=np.repeat(np.arange(len(counts)), counts)
        ) if len(counts) else np.empty(0, dtype=object)
        graph = _assemble(
            crs=CRS.from_wkt(meta["crs_wkt"]),
            node_xy=np.asarray(arrays["node_xy"], dtype=float),
            edge_u=np.asarray(arrays["edge_u"], dtype=np.int64),
            edge_v=np.asarray(arrays["edge_v"], dtype=np.int64),
            edge_length_m=np.asarray(arrays["edge_length_m"], dtype=float),
            edge_minutes=np.asarray(arrays["edge_minutes"], dtype=float),
            edge_speed_kmh=np.asarray(arrays["edge_speed_kmh"], dtype=float),
            edge_oneway=np.asarray(arrays["edge_oneway"], dtype=bool),
            edge_road=np.asarray(arrays["edge_road"], dtype=np.int64),
            edge_road_id=np.asarray(arrays["edge_road_id"]).astype(object),
            edge_geometry=np.asarray(geometry, dtype=object),
            edge_road_class=_shared_strings(arrays["edge_road_class"]),
            edge_access_controlled=np.asarray(arrays["edge_access_controlled"], dtype=bool),
            speed_table=SpeedTable.from_dict(meta["speed_table"]),
            access_speed_kmh=float(meta["access_speed_kmh"]),
            fingerprint=str(meta.get("fingerprint", "")),
            min_component_km=float(meta.get("min_component_km", DEFAULT_MIN_COMPONENT_KM)),
            min_component_share=float(meta.get("min_component_share", DEFAULT_MIN_COMPONENT_SHARE)),
            edge_base_fragment=(np.asarray(arrays["edge_base_fragment"], dtype=bool)
                                if "edge_base_fragment" in arrays else None),
        )
        from planner.ch import hierarchy_from_arrays

        hierarchy_from_arrays(graph, arrays)
        return graph


# -- helpers ----------------------------------------------------------------------------


def _metric_crs(gdf) -> CRS:
    """Metric CRS for a layer.

    A layer already in a projected CRS with metre units is used as it is (its
    lengths are what the user sees).  Otherwise :func:`geo.crs.metric_crs_for`
    picks the project-wide choice (CGCS2000 3-degree Gauss-Krueger zone in
    China, UTM elsewhere); if that is unavailable, the UTM zone of the centre.
    """
    crs = CRS.from_user_input(gdf.crs)
    if crs.is_projected and all(ax.unit_name in ("metre", "meter") for ax in crs.axis_info):
        return crs
    try:
        from geo.crs import metric_crs_for
    except ImportError:  # pragma: no cover - geo.crs is part of the project
        return CRS.from_user_input(gdf.estimate_utm_crs())
    return CRS.from_user_input(metric_crs_for(gdf))


def _shared_strings(values) -> np.ndarray:
    """An object array of ``str`` in which equal values are one object.

    ``astype(object)`` makes a new ``str`` per element: on a province's ~0.7 M edges
    with a handful of road classes that is ~40 MB of copies of seven words.
    """
    values = np.asarray(values)
    if len(values) == 0:
        return np.zeros(0, dtype=object)
    unique, inverse = np.unique(values.astype(str), return_inverse=True)
    return np.array([str(u) for u in unique], dtype=object)[inverse.ravel()]


def _row_ids(gdf, column: str = "id") -> np.ndarray:
    if column in gdf.columns:
        return np.array([str(x) for x in gdf[column].tolist()], dtype=object)
    return np.array([str(x) for x in gdf.index.tolist()], dtype=object)


def _truthy(values: pd.Series) -> np.ndarray:
    """Booleans from bool/int/str columns ("yes", "true", "1"); missing means False."""
    if values.dtype == bool:
        return values.to_numpy()
    text = values.astype("string").str.strip().str.lower()
    return text.isin(["true", "yes", "1", "1.0", "t", "y"]).fillna(False).to_numpy(dtype=bool)


def _row_speeds_kmh(roads, table: SpeedTable) -> np.ndarray:
    n = len(roads)
    road_class = roads["road_class"] if "road_class" in roads.columns else pd.Series(["other"] * n, index=roads.index)
    surface = roads["surface"] if "surface" in roads.columns else pd.Series(["paved"] * n, index=roads.index)
    speeds = table.speeds_kmh(road_class.fillna("other"), surface.fillna("paved"))
    if "speed_kmh" in roads.columns:
        given = pd.to_numeric(roads["speed_kmh"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(given) & (given > 0)
        speeds = np.where(ok, given, speeds)
    if "speed_factor" in roads.columns:  # network scenarios (planner.scenario) slow roads with it
        factor = pd.to_numeric(roads["speed_factor"], errors="coerce").to_numpy(dtype=float)
        speeds = speeds * np.where(np.isfinite(factor) & (factor > 0), factor, 1.0)
    return speeds


def _insert_vertices(lines: np.ndarray, line_idx: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Insert points (assumed on or very near the lines) as vertices, in place order.

    Points that already are vertices of their line are skipped, so only lines that
    really change are rebuilt (a Python loop, but over few lines).
    """
    if len(line_idx) == 0:
        return lines
    coords, part = shapely.get_coordinates(lines, return_index=True)
    have = pd.DataFrame({"l": part, "x": coords[:, 0], "y": coords[:, 1]}).drop_duplicates()
    want = pd.DataFrame({"l": line_idx, "x": xy[:, 0], "y": xy[:, 1]}).drop_duplicates()
    new = want.merge(have, how="left", indicator=True)
    new = new[new["_merge"] == "left_only"]
    if new.empty:
        return lines
    lines = lines.copy()
    for li, grp in new.groupby("l", sort=False):
        line = lines[li]
        pts = grp[["x", "y"]].to_numpy()
        at = shapely.line_locate_point(line, shapely.points(pts))
        cc = shapely.get_coordinates(line)
        cum = np.r_[0.0, np.cumsum(np.hypot(*np.diff(cc, axis=0).T))]
        pos = np.clip(np.searchsorted(cum, at, side="right"), 1, len(cc) - 1)
        order = np.argsort(at, kind="stable")
        lines[li] = shapely.linestrings(np.insert(cc, pos[order], pts[order], axis=0))
    return lines


def _node_crossings(lines: np.ndarray, access_controlled: np.ndarray | None = None) -> np.ndarray:
    """Add a vertex wherever two lines intersect without sharing a vertex there.

    An access-controlled line crossing an ordinary one is an overpass, never a
    junction (an interchange is only where the data share a node), so such pairs
    are left alone.
    """
    tree = shapely.STRtree(lines)
    a, b = tree.query(lines, predicate="intersects")
    keep = a < b
    if access_controlled is not None:
        keep &= access_controlled[a] == access_controlled[b]
    a, b = a[keep], b[keep]
    if len(a) == 0:
        return lines
    inter = shapely.intersection(lines[a], lines[b])
    # Every coordinate of the intersection (points, or ends/vertices of overlaps)
    # goes into both lines, with identical floats so they become one node.
    xy, which = shapely.get_coordinates(inter, return_index=True)
    return _insert_vertices(lines, np.r_[a[which], b[which]], np.r_[xy, xy])


def _merge_close_endpoints(lines: np.ndarray, tolerance_m: float,
                           access_controlled: np.ndarray | None = None) -> np.ndarray:
    """Join line ends that almost meet: ends to ends, to vertices, and onto lines.

    Ends (and vertices) within ``tolerance_m`` are clustered and moved to a common
    coordinate (an existing interior vertex when the cluster has one, otherwise the
    mean of the ends).  Ends still dangling afterwards are projected onto the
    nearest other line within the tolerance, which fixes the common undershoot
    of a village road that stops just short of the road it joins.  An ordinary
    road is never joined to an access-controlled one this way (``access_controlled``
    per line): that would invent an entrance to an expressway.
    """
    from scipy.spatial import cKDTree

    coords, part = shapely.get_coordinates(lines, return_index=True)
    n = len(coords)
    first = np.r_[True, part[1:] != part[:-1]]
    last = np.r_[part[1:] != part[:-1], True]
    is_end = first | last
    pairs = cKDTree(coords).query_pairs(tolerance_m, output_type="ndarray")
    if len(pairs):
        pairs = pairs[is_end[pairs[:, 0]] | is_end[pairs[:, 1]]]
        # never fuse two vertices of one line that are not its ends (would fold it)
        same = part[pairs[:, 0]] == part[pairs[:, 1]]
        pairs = pairs[~same | (is_end[pairs[:, 0]] & is_end[pairs[:, 1]] & (np.abs(pairs[:, 0] - pairs[:, 1]) > 1))]
        if access_controlled is not None:
            pairs = pairs[access_controlled[part[pairs[:, 0]]] == access_controlled[part[pairs[:, 1]]]]
    if len(pairs):
        adj = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, label = connected_components(adj, directed=False)
        size = np.bincount(label)
        inclus = size[label] > 1
        df = pd.DataFrame({"label": label[inclus], "x": coords[inclus, 0], "y": coords[inclus, 1], "end": is_end[inclus]})
        interior = df[~df["end"]].groupby("label")[["x", "y"]].first()
        mean = df.groupby("label")[["x", "y"]].mean()
        rep = mean.copy()
        rep.loc[interior.index] = interior
        new_xy = rep.loc[label[inclus]].to_numpy()
        coords = coords.copy()
        coords[inclus] = new_xy
        lines = shapely.linestrings(coords, indices=part)
    # dangling ends: ends that no other line touches
    coords, part = shapely.get_coordinates(lines, return_index=True)
    first = np.r_[True, part[1:] != part[:-1]]
    last = np.r_[part[1:] != part[:-1], True]
    ends = np.flatnonzero(first | last)
    key = pd.DataFrame({"x": coords[:, 0], "y": coords[:, 1]})
    count = key.groupby(["x", "y"]).transform("size").to_numpy() if len(key) else np.zeros(0)
    dangling = ends[count[ends] == 1]
    if len(dangling) == 0:
        return lines
    pts = shapely.points(coords[dangling])
    tree = shapely.STRtree(lines)
    qi, li = tree.query(pts, predicate="dwithin", distance=tolerance_m)
    own = part[dangling[qi]]
    keep = li != own
    if access_controlled is not None:
        keep &= access_controlled[li] == access_controlled[own]
    qi, li = qi[keep], li[keep]
    if len(qi) == 0:
        return lines
    dist = shapely.distance(pts[qi], lines[li])
    best = pd.DataFrame({"q": qi, "l": li, "d": dist}).sort_values(["q", "d"]).drop_duplicates("q")
    target_lines = best["l"].to_numpy()
    proj = shapely.line_interpolate_point(lines[target_lines], shapely.line_locate_point(lines[target_lines], pts[best["q"].to_numpy()]))
    proj_xy = shapely.get_coordinates(proj)
    coords = coords.copy()
    coords[dangling[best["q"].to_numpy()]] = proj_xy
    lines = shapely.linestrings(coords, indices=part)
    return _insert_vertices(lines, target_lines, proj_xy)


def _csr_min(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """CSR matrix keeping the *minimum* of duplicate entries (scipy would sum them)."""
    order = np.lexsort((vals, cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    keep = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])] if len(rows) else np.zeros(0, bool)
    # explicit zeros are real (zero-cost) arcs for csgraph; build CSR directly to keep them
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((vals.astype(float), cols.astype(np.int32), indptr), shape=shape)


def _assemble(**kw) -> RoadGraph:
    n = len(kw["node_xy"])
    u, v, w, oneway = kw["edge_u"], kw["edge_v"], kw["edge_minutes"], kw["edge_oneway"]
    two = ~oneway
    rows = np.r_[u, v[two]]
    cols = np.r_[v, u[two]]
    vals = np.r_[w, w[two]]
    loop = rows == cols  # self loops never shorten a path
    minutes = _csr_min(rows[~loop], cols[~loop], vals[~loop], (n, n))
    if n:
        _, component = connected_components(minutes, directed=True, connection="weak")
        component = component.astype(np.int64)
        main = int(np.argmax(np.bincount(component)))
    else:
        component, main = np.zeros(0, dtype=np.int64), -1
    return RoadGraph(minutes=minutes, component=component, main_component=main, **kw)


# -- public API -------------------------------------------------------------------------


def build_road_graph(
    roads,
    *,
    speed_table: SpeedTable | None = None,
    access_speed_kmh: float = 5.0,
    node_at_crossings: bool = False,
    merge_tolerance_m: float = 0.0,
    crs=None,
    min_component_km: float = DEFAULT_MIN_COMPONENT_KM,
    min_component_share: float = DEFAULT_MIN_COMPONENT_SHARE,
    fingerprint: str | None = None,
) -> RoadGraph:
    """Build a directed travel-time graph from a roads layer.

    Parameters
    ----------
    roads : geopandas.GeoDataFrame
        LineString/MultiLineString roads with a CRS.  Optional columns: ``id``,
        ``road_class``, ``surface``, ``speed_kmh`` (overrides the table where
        finite and positive), ``oneway`` (True: drivable only in the digitised
        direction), ``speed_factor`` (multiplies the speed; set by network
        scenarios, :mod:`planner.scenario`).
    speed_table : SpeedTable, optional
        Speeds by class and surface; defaults to :class:`SpeedTable` ().
    access_speed_kmh : float
        Speed of the off-road leg between a point and the road (walking, 5 km/h);
        stored on the graph as the default for snapping.
    node_at_crossings : bool
        Also create nodes where lines cross without sharing a vertex.  Off by
        default: in road data a crossing without a shared vertex is as often a
        bridge or an overpass as a missing junction.
    merge_tolerance_m : float
        Merge line ends closer than this (to each other, to vertices, or onto
        lines).  0 disables it.
    crs : optional
        Metric CRS to work in; by default a UTM zone chosen from the data.
    min_component_km, min_component_share : float
        The fragment rule kept on the graph for snapping (see
        :meth:`RoadGraph.major_components`): a component other than the largest
        is a stray fragment unless it has this much road and this share of edges.
    fingerprint : str, optional
        :func:`roads_fingerprint` of these roads and options, when the caller has just
        computed it (to look the graph up in a cache); computed here otherwise.

    Returns
    -------
    RoadGraph
    """
    if roads.crs is None:
        raise InvalidParameter(name="roads.crs", value=None, expected_en="roads layer has no CRS; set one "
                               "(e.g. EPSG:4326) before building the graph", expected_zh="道路图层没有坐标系，请先设定")
    if not merge_tolerance_m >= 0:
        raise InvalidParameter(name="merge_tolerance_m", value=merge_tolerance_m, expected_en="must be >= 0",
                               expected_zh="应不小于 0")
    if not access_speed_kmh > 0:
        raise InvalidParameter(name="access_speed_kmh", value=access_speed_kmh, expected_en="must be positive",
                               expected_zh="应大于 0")
    table = speed_table or SpeedTable()
    metric = CRS.from_user_input(crs) if crs is not None else _metric_crs(roads)
    fingerprint = fingerprint or roads_fingerprint(
        roads, table, node_at_crossings=node_at_crossings, merge_tolerance_m=merge_tolerance_m,
        access_speed_kmh=access_speed_kmh, crs=crs, min_component_km=min_component_km,
        min_component_share=min_component_share,
    )
    rule = {"min_component_km": float(min_component_km), "min_component_share": float(min_component_share)}
    speeds_row = _row_speeds_kmh(roads, table)
    oneway_row = _truthy(roads["oneway"]) if "oneway" in roads.columns else np.zeros(len(roads), dtype=bool)
    ids_row = _row_ids(roads)
    class_row = (roads["road_class"].astype(object).where(roads["road_class"].notna(), "other").astype(str)
                 if "road_class" in roads.columns else pd.Series(["other"] * len(roads), index=roads.index))
    ac_row = table.is_access_controlled(class_row)
    class_row = class_row.to_numpy(dtype=object)

    geoms = shapely.from_wkb(shapely.to_wkb(roads.geometry.to_crs(metric).to_numpy()))
    parts, row = shapely.get_parts(geoms, return_index=True)
    is_line = shapely.get_type_id(parts) == 1  # LineString; points/polygons in a roads layer are ignored
    parts, row = parts[is_line], row[is_line]
    parts = shapely.force_2d(parts)
    ok = ~shapely.is_empty(parts) & (shapely.get_num_coordinates(parts) >= 2)
    lines, row = parts[ok], row[ok]

    if merge_tolerance_m > 0 and len(lines):
        lines = _merge_close_endpoints(lines, merge_tolerance_m, ac_row[row])
    if node_at_crossings and len(lines):
        lines = _node_crossings(lines, ac_row[row])

    coords, part = shapely.get_coordinates(lines, return_index=True)
    # consecutive duplicate vertices would make zero-length edges
    dup = np.r_[False, (part[1:] == part[:-1]) & np.all(coords[1:] == coords[:-1], axis=1)][: len(part)]
    coords, part = coords[~dup], part[~dup]
    n_per = np.bincount(part, minlength=len(lines))
    good = n_per[part] >= 2
    coords, part = coords[good], part[good]

    if len(coords) == 0:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=float)
        return _assemble(
            crs=metric, node_xy=np.zeros((0, 2)), edge_u=empty_i, edge_v=empty_i, edge_length_m=empty_f,
            edge_minutes=empty_f, edge_speed_kmh=empty_f, edge_oneway=np.zeros(0, bool), edge_road=empty_i,
            edge_road_id=np.zeros(0, dtype=object), edge_geometry=np.zeros(0, dtype=object),
            edge_road_class=np.zeros(0, dtype=object), edge_access_controlled=np.zeros(0, dtype=bool),
            speed_table=table, access_speed_kmh=float(access_speed_kmh), fingerprint=fingerprint, **rule,
        )

    _, vid, count = np.unique(coords, axis=0, return_inverse=True, return_counts=True)
    vid = vid.ravel()
    first = np.r_[True, part[1:] != part[:-1]]
    last = np.r_[part[1:] != part[:-1], True]
    # a node is a line end or any vertex that occurs more than once (shared by lines)
    is_node = first | last | (count[vid] > 1)
    start = is_node & ~last
    edge_of = np.cumsum(start) - 1
    interior = is_node & ~first & ~last
    pos = np.arange(len(coords))
    e_all = np.r_[edge_of, edge_of[interior] - 1]
    p_all = np.r_[pos, pos[interior]]
    order = np.lexsort((p_all, e_all))
    e_sorted, p_sorted = e_all[order], p_all[order]
    geometry = shapely.linestrings(coords[p_sorted], indices=e_sorted)
    bounds = np.flatnonzero(np.r_[True, e_sorted[1:] != e_sorted[:-1]])
    first_p = p_sorted[bounds]
    last_p = p_sorted[np.r_[bounds[1:] - 1, len(p_sorted) - 1]]
    node_vids, node_of_vid = np.unique(vid[is_node], return_inverse=True)
    lookup = np.full(vid.max() + 1, -1, dtype=np.int64)
    lookup[node_vids] = np.arange(len(node_vids))
    u = lookup[vid[first_p]]
    v = lookup[vid[last_p]]
    node_xy = np.empty((len(node_vids), 2))
    node_xy[lookup[vid[is_node]]] = coords[is_node]

    length = shapely.length(geometry)
    src_row = row[part[first_p]]
    keep = length > 0
    if merge_tolerance_m > 0:  # slivers created by merging are not roads
        keep &= ~((u == v) & (length <= 2 * merge_tolerance_m))
    u, v, length, geometry, src_row = u[keep], v[keep], length[keep], geometry[keep], src_row[keep]
    speed = speeds_row[src_row]
    minutes = length / (speed * 1000.0 / 60.0)
    return _assemble(
        crs=metric,
        node_xy=node_xy,
        edge_u=u.astype(np.int64),
        edge_v=v.astype(np.int64),
        edge_length_m=length,
        edge_minutes=minutes,
        edge_speed_kmh=speed,
        edge_oneway=oneway_row[src_row],
        edge_road=src_row.astype(np.int64),
        edge_road_id=ids_row[src_row],
        edge_road_class=class_row[src_row],
        edge_access_controlled=ac_row[src_row],
        edge_geometry=np.asarray(geometry, dtype=object),
        speed_table=table,
        access_speed_kmh=float(access_speed_kmh),
        fingerprint=fingerprint,
        **rule,
    )


def with_base_fragments(graph: RoadGraph, base: RoadGraph) -> RoadGraph:
    """``graph`` (built from the roads a network scenario leaves open) with the base
    network's stray fragments (:attr:`RoadGraph.edge_base_fragment`).

    An edge is a fragment when its road (``id``) lies on a stray fragment of ``base``
    under ``base``'s own rule: pieces the scenario cuts off keep being roads, so
    snapping does not walk their villages past them, and the fragment warnings are
    those of the data, not of the closures.
    """
    fragment_ids = np.unique(base.edge_road_id[~base.edge_on_network()].astype(str))
    flags = np.isin(graph.edge_road_id.astype(str), fragment_ids)
    return dataclasses.replace(graph, edge_base_fragment=flags)


def with_base_network(graph: RoadGraph, base: RoadGraph) -> RoadGraph:
    """``graph`` (a scenario's) knowing the base network's graph (:attr:`RoadGraph.base`):
    points it leaves off the network or cut off that the base network serves are then
    ``scenario_blocked`` (:func:`planner.travel.point_reasons`), not a data fault."""
    return dataclasses.replace(graph, base=base)


#: Rows whose WKB :func:`roads_fingerprint` joins before hashing (bounds its extra memory).
_FINGERPRINT_BLOCK = 65536


def roads_fingerprint(
    roads,
    speed_table: SpeedTable | None = None,
    *,
    node_at_crossings: bool = False,
    merge_tolerance_m: float = 0.0,
    access_speed_kmh: float = 5.0,
    crs=None,
    min_component_km: float = DEFAULT_MIN_COMPONENT_KM,
    min_component_share: float = DEFAULT_MIN_COMPONENT_SHARE,
) -> str:
    """Stable SHA-256 of everything :func:`build_road_graph` depends on.

    Covers geometry (WKB), CRS, the attribute columns the graph reads (``id``,
    ``road_class``, ``surface``, ``speed_kmh``, ``oneway``), the speed table and the
    build options.  Row order matters (edges keep the source row position).
    """
    h = hashlib.sha256()
    h.update(f"ruralplan-roadgraph-v{_FORMAT_VERSION}".encode())
    h.update((roads.crs.to_wkt() if roads.crs is not None else "none").encode())
    geoms = roads.geometry.to_numpy()
    # The bytes of "<wkb>|" per row, hashed a block of rows at a time: the same digest as
    # one update per piece, without two Python-level calls per road (~0.7 M on a province).
    for start in range(0, len(geoms), _FINGERPRINT_BLOCK):
        block = shapely.to_wkb(geoms[start:start + _FINGERPRINT_BLOCK], hex=False, output_dimension=2)
        h.update(b"".join((b"\x00|" if wkb is None else wkb + b"|") for wkb in block))
    for col in ("id", "road_class", "surface", "speed_kmh", "oneway", "speed_factor"):
        if col in roads.columns:
            h.update(col.encode())
            h.update("\x1f".join(map(str, roads[col].tolist())).encode())
    options = {
        "speed_table": (speed_table or SpeedTable()).to_dict(),
        "node_at_crossings": bool(node_at_crossings),
        "merge_tolerance_m": float(merge_tolerance_m),
        "access_speed_kmh": float(access_speed_kmh),
        "crs": CRS.from_user_input(crs).to_wkt() if crs is not None else None,
        "min_component_km": float(min_component_km),
        "min_component_share": float(min_component_share),
    }
    h.update(json.dumps(options, sort_keys=True).encode())
    return h.hexdigest()
