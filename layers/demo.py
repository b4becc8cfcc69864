"""The embedded demo county: a deterministic, seeded, **fictional** county.

清河县（虚构示范县） is invented for demos, tests and benchmarks. It is modelled on the
loess-hill counties of the project's sources (闻喜 ~355k people and 374 statistical
rows, 资兴 ~323k): a plain around the county seat (vegetables, garlic, grain), loess
hills in the north (hawthorn) and south-east (apple), and a mountain range in the
south-east (edible fungi, eucommia, tea) with the former poor villages concentrated in
the hills and mountains. Codes use the non-existent prefecture 1499, so nothing in the
data can be mistaken for a real place or person.

Everything is generated from :func:`numpy.random.default_rng` streams derived from the
seed, so one seed always gives the same frames. Geometry is built in a local kilometre
frame and converted to WGS84 (EPSG:4326) at the end.

Some defects are planted on purpose so the analyses have something to find; they are
recorded in the metadata (``demo_unreachable_villages``, ``demo_pairing_gaps``,
``demo_proposals`` with ``demo_expected_issue``).
"""
from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.affinity
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree
from scipy.spatial import Delaunay, cKDTree

from .schema import COMMODITIES, COMMODITY_VALUES, LAYERS, produce_field_name
from .store import Workspace

__all__ = [
    "CADRE_HOUSEHOLD_LIMIT",
    "COUNTY_CODE",
    "DEFAULT_SEED",
    "DemoCounty",
    "PAIRING_GAP_RULES",
    "build_demo_workspace",
    "generate_demo_county",
]

DEFAULT_SEED = 20240601

#: Prefecture 99 does not exist in Shanxi (14), so these codes are plausible but fictional.
COUNTY_CODE = "149901"
PREFECTURE_CODE = "149900"
NEIGHBOUR_COUNTY_CODE = "149902"
#: A fictional district of a Jiangsu (32) city: the east–west cooperation partner.
EAST_WEST_COUNTY_CODE = "320599"
COUNTY_NAME = "清河县（虚构示范县）"
COUNTY_NAME_EN = "Qinghe County (fictional demo)"
PREFECTURE_NAME = "河东市（虚构）"
PROVINCE_NAME = "山西省"

#: Households one responsible cadre may reasonably look after; one demo cadre exceeds it.
CADRE_HOUSEHOLD_LIMIT = 10

#: Deliberate pairing gaps planted in the demo (``demo_pairing_gaps[*]["rule"]``).
PAIRING_GAP_RULES: Mapping[str, str] = MappingProxyType({
    "missing_work_team": "former poor / demonstration / weak-org village or 800+ settlement without a resident work team",
    "missing_first_secretary": "former poor / demonstration / weak-org village without a first secretary",
    "missing_cadre": "monitored household without a responsible cadre",
    "cadre_over_limit": f"responsible cadre with more than {CADRE_HOUSEHOLD_LIMIT} households",
    "cadre_out_of_county": "responsible cadre based in another county",
})

_CRS = "EPSG:4326"
_CENTER_LONLAT = (111.30, 35.36)
_AREA_KM2 = 1170.0  # 闻喜 is 1,167 km²
_N_VILLAGES = 352
_N_TOWNS = 12
_POPULATION = 300_000
_PEOPLE_PER_HOUSEHOLD = 2.9
_PLAIN, _HILL, _MOUNTAIN = 0, 1, 2

#: Stable stream numbers: each part of the county draws from its own generator so that
#: changing one part does not reshuffle the others (no ``hash()``: it is randomised).
_STREAMS = {
    "outline": 1, "terrain": 2, "towns": 3, "villages": 4, "attributes": 5, "roads": 6,
    "constraints": 7, "industry": 8, "cold": 9, "settlements": 10, "households": 11,
    "pairings": 12, "proposals": 13, "names": 14,
}

_COMMODITY_ZH = {c.value: c.zh for c in COMMODITIES}
#: Rough farm-gate value per tonne (yuan), used only to rank a village's leading industries.
_VALUE_PER_T = {
    "apple": 4000, "hawthorn": 3000, "vegetables": 1500, "garlic": 5000, "edible_fungi": 8000,
    "eucommia": 20000, "tea": 100000, "kiwi": 6000, "flowers": 10000, "grain": 2500, "livestock": 20000,
}
#: Speeds (km/h) by class, as in planner.graph's defaults (JTG B01-2014 design speeds).
_CLASS_SPEED = {"national": 80.0, "provincial": 60.0, "county": 40.0, "township": 30.0, "village": 20.0,
                "other": 15.0}
_CLASS_ORDER = ("national", "provincial", "county", "township", "village", "other")

_ZHEN_NAMES = ("清源镇", "柳泉镇", "石门镇", "郭庄镇", "东岭镇", "南垣镇", "白水镇", "杏林镇", "北原镇",
               "凤鸣镇", "金川镇", "桃园镇", "安平镇", "永兴镇", "官道镇", "双桥镇")
_XIANG_NAMES = ("龙湾乡", "槐树坪乡", "上峪乡", "青岗乡", "马坡乡", "红崖乡", "云台乡", "松峪乡",
                "鹿鸣乡", "石佛乡")
_NAME_FIRST = tuple("东西南北上下前后大小王张李赵刘杨陈郭裴薛柳杜白石马高孙宋冯侯吕姚董任范韩段贾卫原苗邢")
_NAME_SECOND = tuple("庄村沟坡峪岭头底家营堡店寨洼坪垣湾河院口窑园桥泉峰坊屯")
_DIRECTION_PREFIX = tuple("东西南北上下前后")
_STREET_ROWS = ("人民", "解放", "建设", "文化", "迎宾", "新华", "和平", "育才", "振兴", "中兴", "光明",
                "胜利", "府前", "朝阳", "团结", "民主", "凤凰", "清源", "站前", "滨河", "花园")
_STREET_COLS = ("中山", "东风", "红旗", "青年", "工农", "幸福", "健康", "长青", "南关", "北关", "东关",
                "西关", "学府", "金桥", "兴业", "锦绣", "友谊", "康宁", "广场", "园林", "永安")
_COUNTY_UNITS = ("县农业农村局", "县乡村振兴局", "县教育局", "县卫生健康局", "县财政局", "县人社局",
                 "县交通运输局", "县水利局", "县自然资源局", "县住建局", "县民政局", "县医保局", "县商务局",
                 "县市场监管局", "县林业局", "县发改局", "县审计局", "县统计局", "县供销社", "县农商银行")
_CITY_UNITS = ("市财政局", "市农业农村局", "市交通运输局", "市水利局", "市商务局", "市卫生健康委",
               "市教育局", "市住建局", "市文旅局", "市国资委", "市供电公司", "市邮政分公司")


# ============================================================================ public API
@dataclass(frozen=True)
class DemoCounty:
    """A generated demo county.

    Attributes
    ----------
    layers : mapping of str to DataFrame
        Layer name → GeoDataFrame (EPSG:4326) or DataFrame (``households``), one per
        layer of :data:`layers.schema.LAYERS`, columns as in the schema.
    meta : dict
        Workspace metadata: county identity (``fictional: True``), generation parameters
        and the deliberately planted defects.
    """

    layers: Mapping[str, pd.DataFrame]
    meta: Mapping[str, object]

    def __getitem__(self, layer: str) -> pd.DataFrame:
        return self.layers[layer]

    def counts(self) -> dict[str, int]:
        """Number of rows per layer."""
        return {name: len(frame) for name, frame in self.layers.items()}


def generate_demo_county(*, seed: int = DEFAULT_SEED, scale: float = 1.0) -> DemoCounty:
    """Generate the fictional demo county.

    Parameters
    ----------
    seed : int
        Seed of every random stream; the same seed gives identical frames.
    scale : float
        Size multiplier. Area, towns, villages, people and roads all grow with it (the
        density stays realistic); ``scale=5`` gives a ~5,900 km², ~1.5 million people
        county for benchmarks.

    Returns
    -------
    DemoCounty
    """
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        scale = float("nan")
    if not (math.isfinite(scale) and 0.05 <= scale <= 50):
        msg = f"scale must be a number between 0.05 and 50, got {scale!r}"
        raise ValueError(msg)
    seed = int(seed)
    radius_km = math.sqrt(_AREA_KM2 * scale / math.pi)
    frame = _LocalFrame.around(_CENTER_LONLAT)

    county = _make_county_outline(_stream(seed, "outline"), radius_km=radius_km, area_km2=_AREA_KM2 * scale)
    terrain = _Terrain.random(_stream(seed, "terrain"), radius_km=radius_km)
    towns = _place_towns(_stream(seed, "towns"), county, terrain, n_towns=max(3, round(_N_TOWNS * scale)))
    town_polygons = _make_town_polygons(county, towns)
    villages = _place_villages(_stream(seed, "villages"), county, terrain, towns,
                               n_villages=max(3 * len(towns), round(_N_VILLAGES * scale)))
    _name_places(_stream(seed, "names"), towns, villages)
    _assign_village_attributes(_stream(seed, "attributes"), villages, towns, scale=scale)
    towns["population"] = villages.groupby("town")["population"].sum().reindex(towns.index, fill_value=0)

    roads, unreachable = _build_road_network(_stream(seed, "roads"), county, terrain, villages, towns,
                                             town_polygons)
    constraints = _make_constraints(_stream(seed, "constraints"), county, terrain, villages, towns,
                                    town_polygons)
    bases = _make_industry_bases(_stream(seed, "industry"), county, villages, scale=scale)
    cold = _make_cold_storage(_stream(seed, "cold"), villages, towns, scale=scale)
    settlements = _make_relocation_settlements(_stream(seed, "settlements"), villages, towns, scale=scale)
    households = _make_households(_stream(seed, "households"), villages)
    pairings, gaps = _make_pairings(_stream(seed, "pairings"), villages, towns, settlements, households,
                                    county, frame)
    proposals = _make_proposals(_stream(seed, "proposals"), villages, cold, constraints)

    layers = {
        "boundaries": _boundaries_frame(county, towns, town_polygons, frame),
        "constraints": _to_geoframe(_schema_columns(constraints, "constraints"), frame),
        "roads": _to_geoframe(_schema_columns(roads, "roads"), frame),
        "villages": _villages_frame(villages, frame),
        "towns": _to_geoframe(_schema_columns(towns, "towns"), frame),
        "industry_bases": _to_geoframe(_schema_columns(bases, "industry_bases"), frame),
        "cold_storage": _to_geoframe(_schema_columns(cold, "cold_storage"), frame),
        "relocation_settlements": _to_geoframe(_schema_columns(settlements, "relocation_settlements"), frame),
        "households": _schema_columns(households, "households"),
        "pairings": _to_geoframe(_schema_columns(pairings, "pairings"), frame),
    }
    meta = _demo_meta(seed=seed, scale=scale, local=frame, towns=towns, villages=villages, layers=layers,
                      unreachable=unreachable, gaps=gaps, proposals=proposals)
    return DemoCounty(layers=MappingProxyType(layers), meta=meta)


def _demo_meta(*, seed, scale, local: _LocalFrame, towns, villages, layers, unreachable, gaps, proposals) -> dict:
    """Workspace metadata: identity (clearly fictional), parameters and planted defects."""
    for p in proposals:
        lon, lat = local.to_lonlat(np.array([[p.pop("x"), p.pop("y")]]))[0]
        p["lon"], p["lat"] = round(float(lon), 6), round(float(lat), 6)
    seat = towns.loc[towns["is_county_seat"]].iloc[0]
    seat_lon, seat_lat = local.to_lonlat(np.array([[seat["x"], seat["y"]]]))[0]
    return {
        "fictional": True,
        "county_code": COUNTY_CODE,
        "county_name": COUNTY_NAME,
        "county_name_en": COUNTY_NAME_EN,
        "prefecture_code": PREFECTURE_CODE,
        "prefecture_name": PREFECTURE_NAME,
        "province_name": PROVINCE_NAME,
        "county_seat": {"town_code": str(seat["code"]), "name": str(seat["name"]),
                        "lon": round(float(seat_lon), 6), "lat": round(float(seat_lat), 6)},
        "bbox": [round(float(b), 6) for b in layers["boundaries"].total_bounds],
        "population_total": int(villages["population"].sum()),
        "demo_seed": int(seed),
        "demo_scale": float(scale),
        "demo_generator": "layers.demo.generate_demo_county",
        "demo_unreachable_villages": [u["code"] for u in unreachable],
        "demo_unreachable_detail": unreachable,
        "demo_pairing_gaps": gaps,
        "demo_cadre_household_limit": CADRE_HOUSEHOLD_LIMIT,
        "demo_proposals": proposals,
        "note": "虚构示范县：所有地名、代码、人口与帮扶数据均为程序生成，不对应任何真实地区或个人。"
                " Fictional demo county: every name, code and figure is generated.",
    }


def build_demo_workspace(path: str | os.PathLike, *, seed: int = DEFAULT_SEED, scale: float = 1.0,
                         overwrite: bool = False) -> Workspace:
    """Generate the demo county and write it as a workspace GeoPackage.

    Parameters
    ----------
    path : path-like
        The ``.gpkg`` file to create.
    seed, scale
        As for :func:`generate_demo_county`.
    overwrite : bool
        Replace an existing file; otherwise an existing file raises ``FileExistsError``.

    Returns
    -------
    Workspace
    """
    ws = Workspace(path)
    if ws.exists and not overwrite:
        msg = f"workspace {ws.path} already exists (pass overwrite=True to replace it)"
        raise FileExistsError(msg)
    demo = generate_demo_county(seed=seed, scale=scale)
    # one new file with the layers and meta (an old file's app tables are reset): GDAL
    # writes each layer once instead of an empty workspace being filled row by row
    return Workspace.create(path, meta={"fictional": True, **demo.meta}, overwrite=True, layers=dict(demo.layers))


# ============================================================================ frames and geometry
@dataclass(frozen=True)
class _LocalFrame:
    """Equirectangular kilometre frame around a centre: plenty for a generator."""

    lon0: float
    lat0: float
    km_per_deg_lon: float
    km_per_deg_lat: float

    @classmethod
    def around(cls, lonlat: tuple[float, float]) -> "_LocalFrame":
        lon0, lat0 = lonlat
        return cls(lon0, lat0, 111.320 * math.cos(math.radians(lat0)), 110.574)

    def to_lonlat(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=float)
        return np.column_stack([self.lon0 + xy[:, 0] / self.km_per_deg_lon,
                                self.lat0 + xy[:, 1] / self.km_per_deg_lat])

    def from_lonlat(self, lonlat: np.ndarray) -> np.ndarray:
        lonlat = np.asarray(lonlat, dtype=float)
        return np.column_stack([(lonlat[:, 0] - self.lon0) * self.km_per_deg_lon,
                                (lonlat[:, 1] - self.lat0) * self.km_per_deg_lat])

    def geometries_to_lonlat(self, geoms) -> np.ndarray:
        # Vertex-wise and exact for equal inputs, so shared road vertices stay shared.
        return shapely.transform(np.asarray(geoms, dtype=object), self.to_lonlat)


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, _STREAMS[name]])


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _weighted_choice(rng, weights, k) -> np.ndarray:
    """Indices of ``k`` items drawn without replacement with probability ∝ weight.

    Efraimidis–Spirakis keys: one vectorised draw, no Python loop.
    """
    weights = np.asarray(weights, dtype=float)
    k = int(min(k, np.count_nonzero(weights > 0)))
    keys = np.full(len(weights), -np.inf)
    pos = weights > 0
    keys[pos] = np.log(rng.random(np.count_nonzero(pos))) / weights[pos]
    return np.sort(np.argsort(-keys, kind="stable")[:k])


def _schema_columns(frame: pd.DataFrame, layer: str) -> pd.DataFrame:
    """The schema's columns in schema order (plus geometry); internal helpers dropped."""
    cols = [f.name for f in LAYERS[layer].fields]
    if LAYERS[layer].spatial:
        cols.append("geometry")
    return frame[cols].reset_index(drop=True)


def _to_geoframe(frame: pd.DataFrame, local: _LocalFrame) -> gpd.GeoDataFrame:
    geoms = local.geometries_to_lonlat(frame["geometry"].to_numpy())
    data = frame.drop(columns="geometry").reset_index(drop=True)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=_CRS), crs=_CRS)


# ============================================================================ county, terrain, towns
def _make_county_outline(rng, *, radius_km: float, area_km2: float):
    """A smooth, irregular, elongated outline: rotated ellipse times a few harmonics."""
    theta = np.linspace(0.0, 2 * np.pi, 721)[:-1]
    a, b = 1.22, 0.82
    rot = rng.uniform(0.15, 0.45)
    phi = theta - rot
    r_ellipse = a * b / np.sqrt((b * np.cos(phi)) ** 2 + (a * np.sin(phi)) ** 2)
    k = np.arange(2, 9)
    amp = rng.uniform(0.02, 0.07, len(k)) / k ** 0.5
    phase = rng.uniform(0, 2 * np.pi, len(k))
    wobble = 1.0 + (amp[:, None] * np.cos(k[:, None] * theta[None, :] + phase[:, None])).sum(axis=0)
    r = radius_km * r_ellipse * wobble
    poly = shapely.Polygon(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))
    factor = math.sqrt(area_km2 / poly.area)
    return shapely.affinity.scale(poly, factor, factor, origin=(0, 0))


@dataclass(frozen=True)
class _Terrain:
    """A smooth 'elevation index' (0 plain … >0.62 mountain), not metres.

    The large structure is in units of the county radius so the layout (basin in the
    middle-west, loess hills north, a range in the south-east) survives any scale; the
    ripples are in kilometres so a bigger county gets more of them.
    """

    radius_km: float
    wave_k: np.ndarray
    wave_phase: np.ndarray
    wave_amp: np.ndarray

    @classmethod
    def random(cls, rng, *, radius_km: float) -> "_Terrain":
        n = 7
        wavelength = rng.uniform(7.0, 24.0, n)
        angle = rng.uniform(0, np.pi, n)
        k = (2 * np.pi / wavelength)[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
        return cls(radius_km, k, rng.uniform(0, 2 * np.pi, n), rng.uniform(0.025, 0.05, n))

    def elevation(self, x, y) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        u, v = x / self.radius_km, y / self.radius_km
        range_se = 1.05 * _sigmoid((0.6 * u - 0.8 * v - 0.30) / 0.17)
        loess_north = 0.5 * _sigmoid((v - 0.30) / 0.12)
        basin = 0.18 * np.exp(-((u + 0.2) ** 2 + (v - 0.05) ** 2) / 0.15)
        phase = x[..., None] * self.wave_k[:, 0] + y[..., None] * self.wave_k[:, 1] + self.wave_phase
        ripples = (np.sin(phase) * self.wave_amp).sum(axis=-1)
        return np.clip(range_se + loess_north - basin + ripples, 0.0, None)

    def zone(self, x, y) -> np.ndarray:
        e = self.elevation(x, y)
        return np.where(e < 0.25, _PLAIN, np.where(e < 0.62, _HILL, _MOUNTAIN))

    def side(self, x, y) -> np.ndarray:
        """'southeast' (apple hills, range), 'north' (hawthorn hills) or 'central'."""
        u, v = np.asarray(x) / self.radius_km, np.asarray(y) / self.radius_km
        return np.where(0.6 * u - 0.8 * v > 0.0, "southeast", np.where(v > 0.15, "north", "central"))


def _grid_inside(polygon, step_km: float) -> np.ndarray:
    x0, y0, x1, y1 = polygon.bounds
    xs = np.arange(x0 + step_km / 2, x1, step_km)
    ys = np.arange(y0 + step_km / 2, y1, step_km)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    return pts[shapely.contains_xy(polygon, pts[:, 0], pts[:, 1])]


def _clear_of(pts: np.ndarray, centres: np.ndarray, clearance: np.ndarray) -> np.ndarray:
    """Whether each point lies farther than ``clearance[j]`` (km) from every centre ``j``.

    The exact distances (``sqrt(dx² + dy²)``) of only the pairs a KD-tree finds within
    reach: no points × centres matrix, which took gigabytes on a province.
    """
    ok = np.ones(len(pts), bool)
    if not len(pts) or not len(centres):
        return ok
    tree = cKDTree(pts)
    for j, near in enumerate(tree.query_ball_point(centres, clearance * (1 + 1e-9) + 1e-9)):
        near = np.asarray(near, dtype=np.int64)
        d = np.sqrt(((pts[near] - centres[j]) ** 2).sum(-1))
        ok[near[d <= clearance[j]]] = False
    return ok


def _nearest(pts: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of each point's nearest centre (the lowest index on a tie).

    A KD-tree proposes a few candidates; the choice among them is made on the exact
    squared distances ``dx² + dy²``, as a full points × centres matrix would make it.
    """
    k = min(4, len(centres))
    _, cand = cKDTree(centres).query(pts, k=k)
    cand = np.sort(cand.reshape(len(pts), k), axis=1)
    d2 = ((pts[:, None, :] - centres[cand]) ** 2).sum(-1)
    return cand[np.arange(len(pts)), np.argmin(d2, axis=1)]


def _place_towns(rng, county, terrain: _Terrain, *, n_towns: int) -> pd.DataFrame:
    """Town seats as k-means centres of the county area: evenly spread, interior points.

    The seat nearest the basin becomes the county seat and is moved onto the basin.
    """
    pts = _grid_inside(county, math.sqrt(county.area / 4000))
    centres = pts[rng.choice(len(pts), n_towns, replace=False)]
    for _ in range(25):
        label = _nearest(pts, centres)
        # each cluster's rows in the points' order, as pts[label == i] lists them
        order = np.argsort(label, kind="stable")
        grouped = pts[order]
        bounds = np.searchsorted(label[order], np.arange(n_towns + 1))
        centres = np.array([grouped[a:b].mean(axis=0) if b > a else centres[i]
                            for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))])
    basin = np.array([-0.2, 0.05]) * terrain.radius_km
    seat = int(np.argmin(((centres - basin) ** 2).sum(-1)))
    centres[seat] = (centres[seat] + basin) / 2
    # county seat first, then by distance from it: codes follow this order
    order = np.argsort(((centres - centres[seat]) ** 2).sum(-1), kind="stable")
    centres = centres[order]
    towns = pd.DataFrame({"x": centres[:, 0], "y": centres[:, 1]})
    towns["is_county_seat"] = np.arange(n_towns) == 0
    towns["elevation"] = terrain.elevation(towns["x"].to_numpy(), towns["y"].to_numpy())
    # the higher third are 乡 (townships), the rest 镇; the county seat is always a 镇
    rank = towns["elevation"].rank(method="first").to_numpy()
    towns["is_xiang"] = (rank > n_towns - n_towns // 3) & ~towns["is_county_seat"]
    seq_zhen = np.cumsum(~towns["is_xiang"].to_numpy()) - 1
    seq_xiang = np.cumsum(towns["is_xiang"].to_numpy()) - 1
    suffix = np.where(towns["is_xiang"], 200 + seq_xiang, 100 + seq_zhen)
    towns["code"] = [f"{COUNTY_CODE}{s:03d}000" for s in suffix]
    towns["geometry"] = shapely.points(centres)
    return towns


def _make_town_polygons(county, towns: pd.DataFrame) -> np.ndarray:
    """Voronoi cells of the seats clipped to the county, in seat order."""
    seeds = shapely.multipoints(towns[["x", "y"]].to_numpy())
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=county.buffer(50), ordered=True))
    return shapely.intersection(cells, county)


def _place_villages(rng, county, terrain: _Terrain, towns: pd.DataFrame, *, n_villages: int) -> pd.DataFrame:
    """Villages on a jittered grid, thinned with terrain weights (dense plain, sparse mountains).

    The town seats are villages too (the seat community); other villages keep clear of
    the seats' built-up street grids.
    """
    n_other = n_villages - len(towns)
    cell = math.sqrt(county.area / (2.3 * n_other))
    inner = county.buffer(-0.4)
    centres = _grid_inside(inner, cell)
    pts = centres + rng.uniform(-0.33, 0.33, centres.shape) * cell
    seat_xy = towns[["x", "y"]].to_numpy()
    clearance = np.where(towns["is_county_seat"], 2.3, 1.0)
    ok = shapely.contains_xy(inner, pts[:, 0], pts[:, 1]) & _clear_of(pts, seat_xy, clearance)
    pts = pts[ok]
    zone = terrain.zone(pts[:, 0], pts[:, 1])
    weight = np.choose(zone, [1.0, 0.7, 0.38])
    pts = pts[_weighted_choice(rng, weight, n_other)]
    xy = np.vstack([seat_xy, pts])
    town = _nearest(xy, seat_xy)
    town[: len(towns)] = np.arange(len(towns))
    dist_seat = np.sqrt(((xy - seat_xy[town]) ** 2).sum(-1))
    v = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "town": town, "dist_seat_km": dist_seat})
    v["is_seat"] = np.arange(len(v)) < len(towns)
    v["is_county_seat"] = v["is_seat"] & towns["is_county_seat"].reindex(v["town"]).to_numpy()
    # codes: the seat community 001, villages 201… in order of distance from the seat
    v = v.sort_values(["town", "is_seat", "dist_seat_km"], ascending=[True, False, True], kind="stable")
    v = v.reset_index(drop=True)
    seq = v.groupby("town").cumcount().to_numpy()
    prefix = towns["code"].str.slice(0, 9).to_numpy()[v["town"].to_numpy()]
    v["code"] = [p + ("001" if s == 0 else f"{200 + s:03d}") for p, s in zip(prefix, seq)]
    v["elevation"] = terrain.elevation(v["x"].to_numpy(), v["y"].to_numpy())
    v["zone"] = terrain.zone(v["x"].to_numpy(), v["y"].to_numpy())
    v["side"] = terrain.side(v["x"].to_numpy(), v["y"].to_numpy())
    nn, _ = cKDTree(v[["x", "y"]].to_numpy()).query(v[["x", "y"]].to_numpy(), k=2)
    v["nn_km"] = nn[:, 1]
    return v


def _unique_names(rng, n: int, suffix: str, *, exclude=()) -> list[str]:
    """``n`` distinct names: two-syllable stems, then direction-prefixed, then numbered.

    The stems run out near 17,000 (a province-sized demo at ``scale=50`` needs more):
    past them, names repeat a stem with a direction and a number (东X二村), as real
    counties number villages split from one another.
    """
    names: list[str] = []
    if n <= 0:
        return names
    first, second = np.array(_NAME_FIRST), np.array(_NAME_SECOND)
    two = [a + b for a in first for b in second if a != b]
    two = [two[i] for i in rng.permutation(len(two))]
    seen = set(exclude)

    def take(stems) -> bool:
        for stem in stems:
            name = stem + suffix
            if name not in seen:
                seen.add(name)
                names.append(name)
                if len(names) == n:
                    return True
        return False

    def three():
        for d in _DIRECTION_PREFIX:
            for s in two:
                if not s.startswith(d):
                    yield d + s

    def numbered():
        for k in _NUMBERS:
            for s in three():
                yield s + k

    if take(two) or take(three()) or take(numbered()):
        return names
    msg = f"cannot make {n} unique place names"
    raise ValueError(msg)


_NUMBERS = ("一", "二", "三", "四", "五", "六", "七", "八", "九")


def _name_places(rng, towns: pd.DataFrame, villages: pd.DataFrame) -> None:
    n_x = int(towns["is_xiang"].sum())
    n_z = len(towns) - n_x
    zhen = list(_ZHEN_NAMES[:n_z]) + _unique_names(rng, max(0, n_z - len(_ZHEN_NAMES)), "镇",
                                                     exclude=_ZHEN_NAMES)
    xiang = list(_XIANG_NAMES[:n_x]) + _unique_names(rng, max(0, n_x - len(_XIANG_NAMES)), "乡",
                                                       exclude=_XIANG_NAMES)
    it_z, it_x = iter(zhen), iter(xiang)
    towns["name"] = [next(it_x) if x else next(it_z) for x in towns["is_xiang"]]
    village_names = iter(_unique_names(rng, int((~villages["is_seat"]).sum()), "村"))
    stem = towns["name"].str.slice(0, -1).to_numpy()
    villages["name"] = [f"{stem[t]}社区" if s else next(village_names)
                        for t, s in zip(villages["town"], villages["is_seat"])]
    villages["town_name"] = towns["name"].to_numpy()[villages["town"].to_numpy()]


# ============================================================================ village attributes
def _assign_village_attributes(rng, v: pd.DataFrame, towns: pd.DataFrame, *, scale: float) -> None:
    n = len(v)
    zone = v["zone"].to_numpy()
    remote = v["dist_seat_km"].to_numpy() / max(1.0, float(np.median(v["dist_seat_km"])))
    is_seat = v["is_seat"].to_numpy()
    is_cs = v["is_county_seat"].to_numpy()

    # population: lognormal, thinner in the mountains; seats are the towns' built-up areas
    raw = rng.lognormal(np.log(650), 0.5, n) * np.choose(zone, [1.15, 0.9, 0.62])
    seat_pop = np.where(is_cs, rng.uniform(26000, 30000, n), rng.uniform(2500, 5000, n))
    target = _POPULATION * scale * rng.uniform(0.985, 1.015)
    raw[~is_seat] *= (target - seat_pop[is_seat].sum()) / raw[~is_seat].sum()
    pop = np.where(is_seat, seat_pop, np.maximum(raw, 140)).round().astype(np.int64)
    v["population"] = pop
    v["households"] = np.round(pop / rng.uniform(2.75, 3.05, n)).astype(np.int64)

    # status flags
    eligible = ~is_seat
    w_poor = np.choose(zone, [0.2, 1.0, 2.6]) * (0.6 + remote) * eligible
    former = np.zeros(n, bool)
    former[_weighted_choice(rng, w_poor, round(rng.integers(62, 69) * scale))] = True
    key = np.zeros(n, bool)
    key[_weighted_choice(rng, w_poor * former, round(former.sum() * 0.2))] = True
    w_demo = np.choose(zone, [2.0, 1.0, 0.4]) * eligible * np.where(former, 0.5, 1.0)
    demo = np.zeros(n, bool)
    demo[_weighted_choice(rng, w_demo, round(18 * scale))] = True
    weak = np.zeros(n, bool)
    weak[_weighted_choice(rng, (eligible & ~demo).astype(float), round(8 * scale))] = True
    v["former_poor"], v["key_village"], v["demonstration"], v["weak_org"] = former, key, demo, weak

    # monitored households (~1–2 %), concentrated in former poor and remote villages
    rate = (0.005 + 0.028 * former + np.choose(zone, [0.0, 0.004, 0.01]) + 0.002 * remote) * np.where(is_seat, 0.4, 1)
    total = rng.poisson(v["households"].to_numpy() * rate)
    split = np.array([rng.multinomial(t, [0.38, 0.47, 0.15]) for t in total]).reshape(n, 3)
    v["monitored_unstable"], v["monitored_marginal"], v["monitored_sudden"] = split.T

    # produce: a plausible industry layout (see module docstring)
    hh = v["households"].to_numpy().astype(float)
    side = v["side"].to_numpy()
    hill, mountain, plain = zone == _HILL, zone == _MOUNTAIN, zone == _PLAIN
    near_cs = np.hypot(v["x"] - v.loc[is_cs, "x"].iloc[0], v["y"] - v.loc[is_cs, "y"].iloc[0]).to_numpy() < 9

    def grow(where, prob, lo, hi, base=hh):
        on = where & (rng.random(n) < prob)
        return np.where(on, base * rng.uniform(lo, hi, n), 0.0)

    produce = {
        "apple": grow(hill & (side == "southeast"), 0.9, 3.0, 9.0) + grow(hill & (side != "southeast"), 0.12, 1.0, 3.0)
        + grow(mountain & (v["elevation"].to_numpy() < 0.8), 0.25, 0.8, 2.5),
        "hawthorn": grow(hill & (side == "north"), 0.85, 1.5, 5.0) + grow(hill & (side == "central"), 0.2, 0.5, 2.0),
        "vegetables": grow(plain, 0.75, 3.0, 10.0) + grow(plain & near_cs, 0.5, 2.0, 6.0),
        "garlic": grow(plain, 0.5, 0.8, 3.0),
        "edible_fungi": grow(mountain, 0.55, 0.3, 1.5) + grow(hill & former, 0.2, 0.2, 0.8),
        "eucommia": grow(mountain, 0.4, 0.05, 0.3),
        "tea": grow(mountain & (v["elevation"].to_numpy() > 0.75), 0.45, 0.02, 0.1),
        "kiwi": grow(mountain & (v["elevation"].to_numpy() < 0.85), 0.15, 1.0, 3.0),
        "flowers": grow(plain & near_cs, 0.35, 0.5, 2.0),
        "grain": v["population"].to_numpy() * rng.uniform(0.3, 0.9, n) * np.choose(zone, [1.3, 0.8, 0.4]),
        "livestock": grow(np.ones(n, bool), 0.45, 0.1, 0.6),
    }
    for c in COMMODITY_VALUES:
        value = np.where(is_cs, 0.0, np.where(is_seat, 0.3, 1.0) * produce[c])
        v[produce_field_name(c)] = np.round(value, 1)
    v["industries"] = _leading_industries(v)

    # income: lower in the hills and mountains, further from the seat and in former poor villages
    value_ph = sum(v[produce_field_name(c)].to_numpy() * _VALUE_PER_T[c] for c in COMMODITY_VALUES) / np.maximum(
        v["population"].to_numpy(), 1)
    income = (np.choose(zone, [15800, 13000, 10800]) - 700 * remote - 1300 * former
              + 0.08 * np.minimum(value_ph, 30000) + rng.normal(0, 1000, n))
    income = np.where(is_seat, rng.uniform(18500, 21000, n), income)
    income[is_cs] = rng.uniform(21000, 22000)
    v["income_per_capita_yuan"] = np.round(np.clip(income, 9000, 22000), -1)
    v["urban_rural"] = np.where(is_cs, "111", np.where(is_seat, np.where(
        towns["is_xiang"].to_numpy()[v["town"].to_numpy()], "210", "121"), "220"))


def _leading_industries(v: pd.DataFrame) -> list[str]:
    """Up to three commodities by value; grain only where nothing else matters."""
    value = np.column_stack([v[produce_field_name(c)].to_numpy() * _VALUE_PER_T[c] for c in COMMODITY_VALUES])
    grain = COMMODITY_VALUES.index("grain")
    order = np.argsort(-value, axis=1, kind="stable")
    ranked_value = np.take_along_axis(value, order, axis=1)
    ranked = (ranked_value > 0) & (order != grain)
    place = np.cumsum(ranked, axis=1)  # 1 for the leading commodity, 2 for the next…
    lead = ranked_value[np.arange(len(value)), np.argmax(ranked, axis=1)]
    keep = ranked & (place <= 3) & (ranked_value >= 0.2 * lead[:, None])
    only_grain = ~keep.any(axis=1) & (value[:, grain] > 0)
    zh = [_COMMODITY_ZH[c] for c in COMMODITY_VALUES]
    return [zh[grain] if g else (",".join(zh[i] for i, on in zip(row, k) if on) or None)
            for row, k, g in zip(order.tolist(), keep.tolist(), only_grain.tolist())]


def _villages_frame(v: pd.DataFrame, local: _LocalFrame) -> gpd.GeoDataFrame:
    frame = v.drop(columns="town").rename(columns={"town_name": "town"})
    frame["geometry"] = shapely.points(v[["x", "y"]].to_numpy())
    return _to_geoframe(_schema_columns(frame, "villages"), local)


def _boundaries_frame(county, towns, town_polygons, local) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({
        "code": [COUNTY_CODE, *towns["code"]],
        "name": [COUNTY_NAME, *towns["name"]],
        "level": ["county"] + ["town"] * len(towns),
        "geometry": [county, *town_polygons],
    })
    return _to_geoframe(frame, local)


# ============================================================================ roads
@dataclass(frozen=True)
class _RoadParts:
    """The villages' lanes and farm tracks in the km frame, before they become features.

    One row per segment, in village order (each village's lanes, then its farm tracks),
    exactly as a village-by-village loop would list them.
    """

    node_xy: np.ndarray  # (n, 2) km
    pairs: np.ndarray  # (m, 2) node indices
    attrs: dict  # per-segment arrays: road_class, name, unpaved, speed, oneway, axis_dir, village


def _build_road_network(rng, county, terrain: _Terrain, v: pd.DataFrame, towns: pd.DataFrame,
                        town_polygons) -> tuple[pd.DataFrame, list[dict]]:
    """A hierarchical, planar road network: villages joined along a Delaunay triangulation.

    Every inter-village link is an edge of one Delaunay triangulation, so links never
    cross each other; they end on the main-street ends of the villages' lane grids,
    whose vertices they share. Higher roads are shortest paths through the same
    triangulation (national through the county seat, provincial between big towns,
    county roads on the spanning tree of the town seats), township and village roads
    are each town's shortest-path tree to its seat plus a few loops.
    """
    exits = _make_exits(rng, county, towns)
    isolated, far = _pick_unconnected_villages(rng, v, exits)
    parts, axis_end, theta = _build_village_grids(rng, v, towns, skip=far)
    node_xy = np.vstack([v[["x", "y"]].to_numpy(), exits[["x", "y"]].to_numpy()])
    excluded = np.zeros(len(node_xy), bool)
    excluded[np.concatenate([isolated, far])] = True
    edges = _candidate_links(county, node_xy, excluded)
    rank, name = _route_hierarchy(rng, terrain, v, towns, exits, node_xy, edges, excluded)
    links = _link_features(rng, terrain, v, exits, node_xy, edges, rank, name, axis_end, theta, parts)
    roads = _assemble_roads(parts, links)
    unreachable = _relocate_far_villages(v, far, isolated, roads["geometry"].to_numpy(), town_polygons, county)
    return roads, unreachable


def _pick_unconnected_villages(rng, v: pd.DataFrame, exits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Three remote villages left on an isolated road piece, two with no road at all.

    Remote hill or mountain villages in five different towns, away from the through
    roads' exits (a village beside a national road without access would be odd).
    """
    xy = v[["x", "y"]].to_numpy()
    d_exit = np.sqrt(((xy[:, None, :] - exits[["x", "y"]].to_numpy()[None, :, :]) ** 2).sum(-1)).min(axis=1)
    eligible = (~v["is_seat"].to_numpy()) & (d_exit > 3.0)
    weight = np.where(eligible, np.choose(v["zone"].to_numpy(), [0.05, 0.4, 1.0]) * v["nn_km"].to_numpy() ** 2, 0.0)
    pos = np.flatnonzero(weight > 0)
    keys = np.log(rng.random(len(pos))) / weight[pos]  # weighted random order (Efraimidis–Spirakis)
    order = pos[np.argsort(-keys, kind="stable")]
    chosen, towns_used = [], []
    for i in order:
        if v.at[i, "town"] not in towns_used:
            chosen.append(int(i))
            towns_used.append(v.at[i, "town"])
        if len(chosen) == 5:
            break
    chosen = np.array(chosen)
    return np.sort(chosen[:3]), np.sort(chosen[3:])


def _uniform(u, lo: float, hi: float):
    """``rng.uniform(lo, hi)`` from ``rng.random()`` draws ``u``: numpy's own formula,
    ``lo + (hi - lo) * u``, so bulk draws give the very numbers of one-by-one calls."""
    return lo + (hi - lo) * u


#: Draws one village's farm tracks take (angle, length, offset, side, branch: 4 each; 12 surfaces).
_FARM_DRAWS = 32


def _plan_grid_draws(rng, v: pd.DataFrame, built: np.ndarray) -> dict:
    """Where each built village's draws start in the roads stream, and its grid size.

    The village-by-village generator drew, per village: the lane spacing (not for the
    seats), the jitter of every grid node, which cross lanes to keep, the surface of
    every kept lane and its farm tracks. How many depends on the draws themselves (the
    spacing can shrink the grid, the kept lanes set how many surfaces), so one cheap
    scalar pass finds each village's offsets in one block of draws; the grids are then
    built in bulk from that block, number for number as before. The stream is left
    exactly where the one-by-one draws left it.
    """
    is_cs = v["is_county_seat"].to_numpy()
    is_seat = v["is_seat"].to_numpy()
    pop = v["population"].to_numpy()
    nn = v["nn_km"].to_numpy(dtype=float)
    k_pop = np.searchsorted([350, 700, 1200, 2500], pop, side="right") + 1
    k_max = np.where(is_cs, 9, np.where(is_seat, 4, k_pop))[built]  # the spacing only shrinks a grid
    w_max = 2 * k_max + 1
    bound = int((np.where(is_seat[built], 0, 1) + 2 * w_max**2 + 6 * k_max * w_max + _FARM_DRAWS).sum())
    keep_p = np.where(is_seat, 0.9, np.asarray(_KEEP_LANE)[v["zone"].to_numpy()])
    state = rng.bit_generator.state
    u = rng.random(bound)
    n = len(v)
    k_of = np.zeros(n, np.int64)
    s_of = np.zeros(n)
    start = np.zeros(n, np.int64)  # first jitter draw
    pos = 0
    for i in built.tolist():
        if is_cs[i]:
            k, s = 9, 0.16
        elif is_seat[i]:
            k, s = 4, 0.12
        else:  # half-width from the population, lane spacing drawn, both shrunk to keep
            # clear of the nearest neighbour (in Python floats, as the loop computed them)
            k = int(k_pop[i])
            s = float(_uniform(u[pos], 0.06, 0.085))
            pos += 1
            room = 0.3 * float(nn[i])
            if k * s > room:
                s = max(0.045, room / k)
                k = max(1, min(k, int(room / s)))
        g = _grid_template(k)
        start[i], k_of[i], s_of[i] = pos, k, s
        pos += g.local.size
        n_v = len(g.v_pairs)
        kept = np.count_nonzero(g.v_axis | (u[pos:pos + n_v] < keep_p[i]))
        pos += n_v + len(g.h_pairs) + kept + _FARM_DRAWS
    rng.bit_generator.state = state
    rng.bit_generator.advance(int(pos))  # PCG64: one step per double, as if drawn one by one
    return {"u": u, "k": k_of, "s": s_of, "start": start, "keep_p": keep_p}


def _build_village_grids(rng, v: pd.DataFrame, towns: pd.DataFrame, *, skip) -> tuple:
    """Each village's lanes: a jittered, rotated street grid with farm tracks at the corners.

    The central row and column are straight main streets; their four ends are where
    inter-village roads attach (``axis_end``), so the grid and the links share vertices.
    Villages are built in bulk, one array operation per grid size; the draws are those
    of a village-by-village loop (:func:`_plan_grid_draws`).

    Returns
    -------
    parts : _RoadParts
    axis_end : (n, 4) int array
        Node of each village's main-street end (east, north, west, south); -1 when skipped.
    theta : (n,) float array
        Each village's grid rotation (radians).
    """
    n = len(v)
    axis_end = np.full((n, 4), -1, dtype=np.int64)
    theta = rng.uniform(0, np.pi / 2, n)
    skip_mask = np.zeros(n, bool)
    skip_mask[skip] = True
    built = np.flatnonzero(~skip_mask)
    plan = _plan_grid_draws(rng, v, built)
    u, k_of, s_of, start = plan["u"], plan["k"], plan["s"], plan["start"]
    is_seat = v["is_seat"].to_numpy()
    is_cs = v["is_county_seat"].to_numpy()
    zone = v["zone"].to_numpy()
    vxy = v[["x", "y"]].to_numpy(dtype=float)

    # node and segment numbering: each village's grid nodes then its 12 farm-track nodes;
    # its lanes then its 12 farm tracks (the lanes' count is known once the keeps are drawn)
    k_b = k_of[built]
    w_b = 2 * k_b + 1
    n_lanes = np.zeros(n, np.int64)
    keep_rows: dict[int, np.ndarray] = {}
    for k in np.unique(k_b):
        g = _grid_template(int(k))
        grp = built[k_b == k]
        off = start[grp] + g.local.size
        keep = g.v_axis[None, :] | (u[off[:, None] + np.arange(len(g.v_pairs))] < plan["keep_p"][grp][:, None])
        keep_rows[int(k)] = keep
        n_lanes[grp] = len(g.h_pairs) + keep.sum(axis=1)
    node_base = np.zeros(n, np.int64)
    node_base[built] = np.concatenate([[0], np.cumsum(w_b**2 + 12)[:-1]])
    seg_base = np.zeros(n, np.int64)
    seg_base[built] = np.concatenate([[0], np.cumsum(n_lanes[built] + 12)[:-1]])
    n_nodes = int((w_b**2 + 12).sum())
    n_segs = int((n_lanes[built] + 12).sum())
    node_xy = np.zeros((n_nodes, 2))
    pairs = np.zeros((n_segs, 2), np.int64)
    attrs = {
        "road_class": np.full(n_segs, "village", dtype=object),
        "name": np.full(n_segs, None, dtype=object),
        "unpaved": np.zeros(n_segs, bool),
        "speed": np.full(n_segs, 15.0),
        "oneway": np.zeros(n_segs, bool),
        "axis_dir": np.full(n_segs, -1),
        "village": np.zeros(n_segs, np.int64),
    }
    unpaved_p = np.where(is_seat, 0.0, np.asarray(_UNPAVED_LANE)[zone])
    # math.cos/sin as the loop had them (the rotation must match to the last bit)
    cos_t = np.array([math.cos(t) for t in theta])
    sin_t = np.array([math.sin(t) for t in theta])
    corners = np.zeros((len(built), 4), np.int64)
    built_pos = np.zeros(n, np.int64)
    built_pos[built] = np.arange(len(built))
    stems = towns["name"].str.slice(0, -1).to_numpy()
    town = v["town"].to_numpy()

    for k in np.unique(k_b):
        k = int(k)
        g = _grid_template(k)
        width = 2 * k + 1
        grp = built[k_b == k]
        m = len(grp)
        s = s_of[grp][:, None, None]
        jit = u[start[grp][:, None] + np.arange(g.local.size)].reshape(m, -1, 2)
        jitter = _uniform(jit, -0.15, 0.15) * s
        jitter[:, g.on_axis] = 0.0  # main streets stay straight
        local = g.local[None] * s + jitter
        rot = np.empty((m, 2, 2))
        rot[:, 0, 0], rot[:, 0, 1], rot[:, 1, 0], rot[:, 1, 1] = cos_t[grp], sin_t[grp], -sin_t[grp], cos_t[grp]
        xy = local @ rot + vxy[grp][:, None, :]
        nodes = node_base[grp][:, None] + np.arange(width * width)
        node_xy[nodes.ravel()] = xy.reshape(-1, 2)

        def node(ai, bi, _k=k, _w=width):
            return (bi + _k) * _w + (ai + _k)

        axis_end[grp] = node_base[grp][:, None] + np.array([node(k, 0), node(0, k), node(-k, 0), node(0, -k)])
        corners[built_pos[grp]] = node_base[grp][:, None] + np.array(
            [node(k, k), node(-k, k), node(-k, -k), node(k, -k)])

        # lanes: the horizontal ones, then the kept vertical ones, each village in turn
        keep = keep_rows[k]
        n_h = len(g.h_pairs)
        rank_v = np.cumsum(keep, axis=1) - 1
        vv, jv = np.nonzero(keep)
        seg_h = (seg_base[grp][:, None] + np.arange(n_h)).ravel()
        seg_v = seg_base[grp][vv] + n_h + rank_v[vv, jv]
        pairs[seg_h] = (node_base[grp][:, None, None] + g.h_pairs[None]).reshape(-1, 2)
        pairs[seg_v] = node_base[grp][vv, None] + g.v_pairs[jv]
        seg = np.concatenate([seg_h, seg_v])
        vil = np.concatenate([np.repeat(grp, n_h), grp[vv]])
        attrs["village"][seg] = vil
        attrs["axis_dir"][seg] = np.concatenate([np.tile(g.h_dir, m), g.v_dir[jv]])
        # the surfaces follow the keeps: lane j of a village draws its surface j-th
        lane_no = np.concatenate([np.tile(np.arange(n_h), m), n_h + rank_v[vv, jv]])
        surface_at = start[vil] + g.local.size + len(g.v_pairs) + lane_no
        attrs["unpaved"][seg] = u[surface_at] < unpaved_p[vil]
        seat = is_seat[vil]
        attrs["road_class"][seg[seat]] = "other"
        attrs["speed"][seg[seat]] = 30.0
        gb = np.concatenate([np.tile(g.gb, m), np.full(len(jv), k + 1)])  # rows of the horizontal lanes
        va = np.concatenate([np.full(m * n_h, k + 1), g.va[jv]])  # columns of the vertical ones
        horizontal = np.arange(len(seg)) < m * n_h
        cs = is_cs[vil]
        if cs.any():
            names = np.where(horizontal, [f"{_STREET_ROWS[(b + k) % len(_STREET_ROWS)]}路" for b in gb],
                             [f"{_STREET_COLS[(a + k) % len(_STREET_COLS)]}街" for a in va])
            attrs["name"][seg[cs]] = names[cs]
            # two one-way streets, a couplet either side of the main street
            attrs["oneway"][seg[cs & horizontal]] = np.abs(gb[cs & horizontal]) == 2
            flip = seg[cs & horizontal & (gb == -2)]
            pairs[flip] = pairs[flip][:, ::-1]
        town_seat = seat & ~cs
        main_h, main_v = town_seat & horizontal & (gb == 0), town_seat & ~horizontal & (va == 0)
        attrs["name"][seg[main_h]] = [f"{stems[t]}大街" for t in town[vil[main_h]]]
        attrs["name"][seg[main_v]] = [f"{stems[t]}路" for t in town[vil[main_v]]]

    _add_farm_tracks(u, v, built, draw_at=start + _lane_draws(k_of, n_lanes), node_at=node_base + (2 * k_of + 1) ** 2,
                     seg_at=seg_base + n_lanes, corners=corners, theta=theta, node_xy=node_xy, pairs=pairs,
                     attrs=attrs)
    return _RoadParts(node_xy, pairs, attrs), axis_end, theta


def _lane_draws(k_of: np.ndarray, n_lanes: np.ndarray) -> np.ndarray:
    """Draws of a village's grid from its first jitter draw: jitter, keeps, surfaces."""
    width = 2 * k_of + 1
    return 2 * width**2 + 2 * k_of * width + n_lanes


#: Share of cross lanes kept and of lanes unpaved, by terrain zone (plain, hill, mountain).
_KEEP_LANE = (0.85, 0.7, 0.45)
_UNPAVED_LANE = (0.03, 0.08, 0.2)


@dataclass(frozen=True)
class _GridTemplate:
    """The index arrays of a (2k+1)² lane grid, the same for every village of that size."""

    local: np.ndarray  # (n, 2) lattice coordinates a, b
    on_axis: np.ndarray  # nodes on the main streets (a == 0 or b == 0)
    h_pairs: np.ndarray  # horizontal lanes (a,b)-(a+1,b) as node offsets
    gb: np.ndarray  # their row b
    h_dir: np.ndarray  # main-street direction of each (0 east, 2 west, -1 none)
    v_pairs: np.ndarray  # vertical lanes (a,b)-(a,b+1)
    va: np.ndarray  # their column a
    vb: np.ndarray
    v_axis: np.ndarray  # va == 0: the north-south main street, always kept
    v_dir: np.ndarray  # 1 north, 3 south, -1 none


@functools.lru_cache(maxsize=None)
def _grid_template(k: int) -> _GridTemplate:
    # the orders are those of np.meshgrid(...).ravel(), which the random draws follow
    width = 2 * k + 1
    r = np.arange(-k, k + 1)
    a, b = np.tile(r, width), np.repeat(r, width)

    def node(ai, bi):
        return (bi + k) * width + (ai + k)

    ga, gb = np.tile(np.arange(-k, k), width), np.repeat(r, 2 * k)
    va, vb = np.tile(r, 2 * k), np.repeat(np.arange(-k, k), width)
    return _GridTemplate(
        local=np.column_stack([a, b]).astype(float), on_axis=(a == 0) | (b == 0),
        h_pairs=np.column_stack([node(ga, gb), node(ga + 1, gb)]), gb=gb,
        h_dir=np.where(gb == 0, np.where(ga >= 0, 0, 2), -1),
        v_pairs=np.column_stack([node(va, vb), node(va, vb + 1)]), va=va, vb=vb, v_axis=va == 0,
        v_dir=np.where(va == 0, np.where(vb >= 0, 1, 3), -1),
    )


def _add_farm_tracks(u, v: pd.DataFrame, built, *, draw_at, node_at, seg_at, corners, theta, node_xy, pairs,
                     attrs) -> None:
    """Unpaved field tracks (机耕路) leaving the grid corners outwards, each with one branch.

    Every built village at once: its 32 draws start at ``draw_at[i]`` in ``u``, its 12
    nodes at ``node_at[i]`` (after its grid's) and its 12 tracks at ``seg_at[i]`` (after
    its lanes); ``corners`` are the built villages' four grid-corner nodes.
    """
    f = u[draw_at[built][:, None] + np.arange(_FARM_DRAWS)]
    nn = v["nn_km"].to_numpy(dtype=float)[built]
    start = node_xy[corners]  # (villages, 4, 2)
    base = np.array([np.pi / 4, 3 * np.pi / 4, 5 * np.pi / 4, 7 * np.pi / 4])[None, :] + theta[built][:, None]
    ang = base + _uniform(f[:, 0:4], -0.35, 0.35)
    length = np.minimum(0.6, 0.2 * nn)[:, None] * _uniform(f[:, 4:8], 0.6, 1.0)
    direction = np.stack([np.cos(ang), np.sin(ang)], axis=-1)
    normal = np.stack([-direction[..., 1], direction[..., 0]], axis=-1)
    mid = start + direction * (length * 0.5)[..., None] + normal * _uniform(f[:, 8:12], -0.04, 0.04)[..., None]
    end = start + direction * length[..., None]
    side = np.where(f[:, 12:16] < 0.5, -1.0, 1.0)[..., None]
    branch_dir = direction * 0.3 + normal * side
    branch = mid + branch_dir / np.linalg.norm(branch_dir, axis=-1)[..., None] * (
        length * _uniform(f[:, 16:20], 0.3, 0.5))[..., None]
    ids = node_at[built][:, None] + np.arange(12)
    node_xy[ids.ravel()] = np.concatenate([mid, end, branch], axis=1).reshape(-1, 2)
    mid_id, end_id, br_id = ids[:, :4], ids[:, 4:8], ids[:, 8:]
    track = np.concatenate([np.stack([corners, mid_id], axis=-1), np.stack([mid_id, end_id], axis=-1),
                            np.stack([mid_id, br_id], axis=-1)], axis=1)  # (villages, 12, 2)
    seg = (seg_at[built][:, None] + np.arange(12)).ravel()
    pairs[seg] = track.reshape(-1, 2)
    attrs["road_class"][seg] = "other"
    attrs["unpaved"][seg] = (f[:, 20:32] < 0.85).ravel()
    attrs["speed"][seg] = 15.0
    attrs["village"][seg] = np.repeat(built, 12)


def _make_exits(rng, county, towns: pd.DataFrame) -> pd.DataFrame:
    """Where the national and provincial roads leave the county (just inside the line)."""
    seat = towns.loc[towns["is_county_seat"], ["x", "y"]].to_numpy()[0]
    others = towns.loc[~towns["is_county_seat"]]
    se_score = 0.6 * others["x"] - 0.8 * others["y"]
    se_town = others.loc[se_score.idxmax()]
    specs = [
        ("N", seat, np.pi / 2), ("S", seat, -np.pi / 2), ("W", seat, np.pi), ("E", seat, 0.0),
        ("SE", np.array([se_town["x"], se_town["y"]]), -np.pi / 4),
    ]
    rows = []
    for label, origin, bearing in specs:
        ang = bearing + rng.uniform(-0.25, 0.25)
        d = np.array([math.cos(ang), math.sin(ang)])
        ray = shapely.linestrings([origin, origin + d * 10 * math.sqrt(county.area)])
        hits = shapely.get_parts(shapely.intersection(ray, county.exterior))
        dist = min(shapely.distance(shapely.points(origin), hits))
        inside = origin + d * (dist - 0.5)
        outside = origin + d * (dist + 1.0)
        rows.append({"label": label, "x": inside[0], "y": inside[1], "out_x": outside[0], "out_y": outside[1]})
    exits = pd.DataFrame(rows)
    exits["se_town"] = int(se_town.name)
    return exits


def _candidate_links(county, node_xy: np.ndarray, excluded: np.ndarray) -> np.ndarray:
    """Delaunay edges inside the county, not touching the deliberately cut-off villages.

    If clipping to the outline splits the triangulation, the shortest clipped edges
    come back until the network is one piece again.
    """
    tri = Delaunay(node_xy)
    s = tri.simplices
    e = np.sort(np.vstack([s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]]), axis=1)
    e = np.unique(e, axis=0)
    e = e[~excluded[e].any(axis=1)]
    lines = shapely.linestrings(node_xy[e])
    inside = shapely.contains(county.buffer(0.3), lines)
    kept, spare = e[inside], e[~inside]
    spare = spare[np.argsort(np.hypot(*(node_xy[spare[:, 0]] - node_xy[spare[:, 1]]).T), kind="stable")]
    n = len(node_xy)
    while True:
        adj = coo_matrix((np.ones(len(kept)), (kept[:, 0], kept[:, 1])), shape=(n, n))
        _, label = connected_components(adj, directed=False)
        main = np.bincount(label[~excluded]).argmax()
        stray = (label != main) & ~excluded
        if not stray.any() or not len(spare):
            return kept
        joins = spare[(label[spare[:, 0]] == main) != (label[spare[:, 1]] == main)]
        kept = np.vstack([kept, joins[:1]])


def _route_hierarchy(rng, terrain, v, towns, exits, node_xy, edges, excluded) -> tuple[np.ndarray, np.ndarray]:
    """Class rank (0 national … 4 village, 9 unused) and route name for every candidate link."""
    n = len(node_xy)
    nv = len(v)
    length = np.hypot(*(node_xy[edges[:, 0]] - node_xy[edges[:, 1]]).T)
    mid = node_xy[edges].mean(axis=1)
    base = length * (1.0 + 1.5 * terrain.elevation(mid[:, 0], mid[:, 1]))
    rank = np.full(len(edges), 9)
    name = np.full(len(edges), None, dtype=object)
    lookup = {(int(a), int(b)): i for i, (a, b) in enumerate(edges)}
    seat_node = {t: int(i) for i, t in zip(np.flatnonzero(v["is_seat"]), v.loc[v["is_seat"], "town"])}
    exit_node = {lab: nv + i for i, lab in enumerate(exits["label"])}

    def graph(weight):
        return coo_matrix((weight, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()

    def path(g, src, dst):
        _, pred = dijkstra(g, directed=False, indices=src, return_predecessors=True)
        out, node = [], dst
        while node != src:
            prev = pred[node]
            if prev < 0:
                return []
            out.append(lookup[(min(node, prev), max(node, prev))])
            node = prev
        return out[::-1]

    def mark(path_edges, r, label):
        for e in path_edges:
            if rank[e] > r:
                rank[e], name[e] = r, label

    def discounted():
        return base * np.where(rank < 9, 0.5, 1.0)

    cs = seat_node[0]
    g = graph(discounted())
    mark(path(g, exit_node["N"], cs) + path(g, cs, exit_node["S"]), 0, "G209")
    g = graph(discounted())
    mark(path(g, exit_node["W"], cs) + path(g, cs, exit_node["E"]), 1, "S233")
    se = seat_node[int(exits["se_town"].iloc[0])]
    g = graph(discounted())
    mark(path(g, cs, se) + path(g, se, exit_node["SE"]), 1, "S327")

    # county roads: spanning tree of the town seats
    seat_xy = towns[["x", "y"]].to_numpy()
    dist = np.hypot(*(seat_xy[:, None, :] - seat_xy[None, :, :]).transpose(2, 0, 1))
    mst = minimum_spanning_tree(dist).tocoo()
    order = np.lexsort((mst.col, mst.row))
    stems = towns["name"].to_numpy()
    for k, (a, b) in enumerate(zip(mst.row[order], mst.col[order])):
        g = graph(discounted())
        mark(path(g, seat_node[int(a)], seat_node[int(b)]), 2, f"X{101 + k}{stems[a][0]}{stems[b][0]}线")

    # township and village roads: each town's shortest-path tree to its seat
    town_of = np.concatenate([v["town"].to_numpy(), np.full(len(exits), -1)])
    cross = town_of[edges[:, 0]] != town_of[edges[:, 1]]
    g = graph(discounted() * np.where(cross, 3.0, 1.0))
    usage = np.zeros(len(edges), np.int64)
    first_town = np.full(len(edges), -1)
    for t in range(len(towns)):
        src = seat_node[t]
        _, pred = dijkstra(g, directed=False, indices=src, return_predecessors=True)
        for node in np.flatnonzero((town_of == t) & ~excluded):
            while node != src and pred[node] >= 0:
                prev = pred[node]
                e = lookup[(min(node, prev), max(node, prev))]
                usage[e] += 1
                if first_town[e] < 0:
                    first_town[e] = t
                node = prev
    tree = (usage > 0) & (rank > 3)
    township = tree & (usage >= 4)
    rank[township] = 3
    name[township] = [f"Y{101 + t:03d}" for t in first_town[township]]
    rank[tree & ~township] = 4

    # a few loops, mostly on the plain where the village network is densest
    used = rank < 9
    short = length < 1.4 * np.median(length[used])
    zone = terrain.zone(mid[:, 0], mid[:, 1])
    loop = (~used) & short & (rng.random(len(edges)) < np.choose(zone, [0.35, 0.2, 0.06]))
    rank[loop] = 4
    return rank, name


def _link_features(rng, terrain, v, exits, node_xy, edges, rank, name, axis_end, theta, parts) -> pd.DataFrame:
    """Inter-village links as gently curving polylines between main-street ends.

    Each main street then takes the class and name of the best road attached to its
    end, so a national road visibly runs through the towns it passes.
    """
    nv = len(v)
    use = np.flatnonzero(rank < 9)
    use = use[np.lexsort((use, rank[use]))]
    node_block = parts.node_xy
    best = np.full((nv, 4), 9)
    best_name = np.full((nv, 4), None, dtype=object)
    zone_mid = terrain.zone(*node_xy[edges[use]].mean(axis=1).T)
    # both ends of every link: an exit as it is, a village's main-street end facing the other end
    link = edges[use]
    ends = np.empty((len(use), 2, 2))
    first = []  # (order, village, direction) of every village end, in the loop's order
    for side in (0, 1):
        here, there = link[:, side], link[:, 1 - side]
        at_exit = here >= nv
        ends[at_exit, side] = node_xy[here[at_exit]]
        vil = np.flatnonzero(~at_exit)
        h = here[vil]
        dxy = node_xy[there[vil]] - node_xy[h]
        d = np.round((np.arctan2(dxy[:, 1], dxy[:, 0]) - theta[h]) / (np.pi / 2)).astype(np.int64) % 4
        ends[vil, side] = node_block[axis_end[h, d]]
        first.append(np.column_stack([2 * vil + side, h, d]))
    # links come best class first, so a main-street end keeps the first link that reaches it
    first = np.vstack(first)
    first = first[np.argsort(first[:, 0], kind="stable")]
    _, pick = np.unique(first[:, 1] * 4 + first[:, 2], return_index=True)
    order, h, d = first[pick].T
    best[h, d], best_name[h, d] = rank[use[order // 2]], name[use[order // 2]]

    # the draws, link by link: two for the bends, one more for a village road's surface
    r = rank[use]
    n_draws = 2 + (r == 4)
    at = np.concatenate([[0], np.cumsum(n_draws)[:-1]]).astype(np.int64)
    u = rng.random(int(n_draws.sum()))
    bend1, bend2 = _uniform(u[at], -1.0, 1.0), _uniform(u[at + 1], -1.0, 1.0)
    surface = np.where(r == 4, u[np.minimum(at + 2, len(u) - 1)], 1.0)
    p, q = ends[:, 0], ends[:, 1]
    vec = q - p
    length = np.hypot(vec[:, 0], vec[:, 1])
    steps = np.maximum(2, np.ceil(length / 0.15).astype(np.int64))
    counts = steps + 1
    of = np.repeat(np.arange(len(use)), counts)
    first_pt = np.concatenate([[0], np.cumsum(counts)[:-1]])
    t = (np.arange(counts.sum()) - first_pt[of]) * (1.0 / steps)[of]  # np.linspace(0, 1, steps + 1)
    last_pt = first_pt + steps
    t[last_pt] = 1.0
    amp = np.where(r <= 1, 0.02, np.array([0.04, 0.07, 0.11])[zone_mid]) * length
    off = amp[of] * (bend1[of] * np.sin(np.pi * t) + 0.4 * bend2[of] * np.sin(2 * np.pi * t))
    normal = np.column_stack([-vec[:, 1], vec[:, 0]]) / np.maximum(length, 1e-9)[:, None]
    line = p[of] + t[:, None] * vec[of] + off[:, None] * normal[of]
    line[first_pt], line[last_pt] = p, q  # exact shared vertices
    rough = (r == 4) & (surface < np.array([0.05, 0.15, 0.35])[zone_mid])
    classes = np.asarray(_CLASS_ORDER, dtype=object)[r]
    class_speed = np.array([_CLASS_SPEED[c] for c in _CLASS_ORDER])[r]
    coords, sizes = [line], list(counts)
    classes, names, unpaved = list(classes), list(name[use]), list(rough)
    speeds = list(class_speed * np.array([1.0, 0.9, 0.75])[zone_mid] * np.where(rough, 0.6, 1.0))
    # exit stubs: the through roads continue beyond the county line
    for i, ex in enumerate(exits.itertuples(index=False)):
        touching = np.flatnonzero(((edges[use] == nv + i).any(axis=1)))
        if not len(touching):
            continue
        e = use[touching[np.argmin(rank[use[touching]])]]
        coords.append(np.array([[ex.x, ex.y], [ex.out_x, ex.out_y]]))
        sizes.append(2)
        classes.append(_CLASS_ORDER[rank[e]])
        names.append(name[e])
        unpaved.append(False)
        speeds.append(_CLASS_SPEED[_CLASS_ORDER[rank[e]]])
    # upgrade main streets to the class of the road arriving at their end
    attrs = parts.attrs
    sel = np.flatnonzero(attrs["axis_dir"] >= 0)
    ranks = best[attrs["village"][sel], attrs["axis_dir"][sel]]
    up, ranks = sel[ranks < 4], ranks[ranks < 4]
    if len(up):
        attrs["road_class"][up] = np.asarray(_CLASS_ORDER, dtype=object)[ranks]
        attrs["name"][up] = best_name[attrs["village"][up], attrs["axis_dir"][up]]
        attrs["speed"][up] = np.minimum([_CLASS_SPEED[_CLASS_ORDER[x]] for x in ranks], 40.0)
        attrs["unpaved"][up] = False
    return pd.DataFrame({
        "geometry": shapely.linestrings(np.concatenate(coords), indices=np.repeat(np.arange(len(sizes)), sizes)),
        "road_class": classes, "name": names, "unpaved": unpaved, "speed": speeds,
    })


def _assemble_roads(parts: _RoadParts, links: pd.DataFrame) -> pd.DataFrame:
    """The links then the lanes and tracks, ordered by class (stably), as the roads layer."""
    attrs = parts.attrs

    def cat(key, lane_values, dtype):
        return np.concatenate([links[key].to_numpy(dtype=dtype), np.asarray(lane_values, dtype=dtype)])

    road_class = cat("road_class", attrs["road_class"], object)
    class_rank = {c: i for i, c in enumerate(_CLASS_ORDER)}
    rank = np.fromiter((class_rank[c] for c in road_class), dtype=np.int64, count=len(road_class))
    order = np.argsort(rank, kind="stable")
    rank, road_class = rank[order], road_class[order]
    geometry = np.concatenate([links["geometry"].to_numpy(), shapely.linestrings(parts.node_xy[parts.pairs])])[order]
    name = cat("name", attrs["name"], object)[order]
    unpaved = cat("unpaved", attrs["unpaved"], bool)[order]
    oneway = np.concatenate([np.zeros(len(links), bool), attrs["oneway"]])[order]
    # Record a speed only where it differs from what the speed table gives (hill sections,
    # streets through settlements): like real data, most segments carry none, so the
    # county's configurable speed table stays in charge of them.
    table = np.array([_CLASS_SPEED[c] for c in _CLASS_ORDER])[rank] * np.where(unpaved, 0.6, 1.0)
    speed = np.round(cat("speed", attrs["speed"], float)[order], 1)
    speed = np.where(np.abs(speed - table) > 0.05, speed, np.nan)
    return pd.DataFrame({
        "id": [f"R{i:06d}" for i in range(1, len(order) + 1)],
        "name": name,
        "road_class": road_class,
        "surface": np.where(unpaved, "unpaved", "paved").astype(object),
        "speed_kmh": speed,
        "oneway": oneway,
        "geometry": geometry,
    })


def _relocate_far_villages(v, far, isolated, road_geoms, town_polygons, county) -> list[dict]:
    """Move the road-less villages to a spot of their own town ≥ 1.25 km from any road."""
    tree = shapely.STRtree(road_geoms)
    inner = county.buffer(-0.4)
    out = []
    placed = []
    for i in far:
        area = shapely.intersection(town_polygons[v.at[i, "town"]], inner)
        pts = _grid_inside(area, 0.1)
        if not len(pts):
            continue
        _, dist = tree.query_nearest(shapely.points(pts), return_distance=True, all_matches=False)
        for other in placed:
            dist = np.where(np.hypot(*(pts - other).T) < 1.0, 0.0, dist)
        home = v.loc[i, ["x", "y"]].to_numpy(dtype=float)
        ok = dist >= 1.25
        pick = (np.argmin(np.where(ok, np.hypot(*(pts - home).T), np.inf)) if ok.any() else int(np.argmax(dist)))
        v.loc[i, ["x", "y"]] = pts[pick]
        placed.append(pts[pick])
        out.append({"code": str(v.at[i, "code"]), "name": str(v.at[i, "name"]), "town": str(v.at[i, "town_name"]),
                    "reason": "no_road_within_1km", "nearest_road_m": round(float(dist[pick]) * 1000)})
    for i in isolated:
        out.append({"code": str(v.at[i, "code"]), "name": str(v.at[i, "name"]), "town": str(v.at[i, "town_name"]),
                    "reason": "isolated_road_piece", "nearest_road_m": 0})
    return sorted(out, key=lambda d: d["code"])


# ============================================================================ constraint zones
def _make_constraints(rng, county, terrain: _Terrain, v, towns, town_polygons) -> pd.DataFrame:
    """Basic farmland on the plain, an ecological red line over the high mountains and
    around a reservoir, and a few landslide zones beside hill villages."""
    step = 0.4
    # cells from one array of edges, so neighbours share edges exactly (a true coverage)
    x0, y0, x1, y1 = county.bounds
    ex, ey = x0 + step * np.arange(int((x1 - x0) / step) + 2), y0 + step * np.arange(int((y1 - y0) / step) + 2)
    ix, iy = np.meshgrid(np.arange(len(ex) - 1), np.arange(len(ey) - 1))
    ix, iy = ix.ravel(), iy.ravel()
    pts = np.column_stack([(ex[ix] + ex[ix + 1]) / 2, (ey[iy] + ey[iy + 1]) / 2])
    inside = shapely.contains_xy(county, pts[:, 0], pts[:, 1])
    ix, iy, pts = ix[inside], iy[inside], pts[inside]
    elev = terrain.elevation(pts[:, 0], pts[:, 1])
    d_village, _ = cKDTree(v[["x", "y"]].to_numpy()).query(pts)
    seat_xy = towns[["x", "y"]].to_numpy()
    clear_seat = _clear_of(pts, seat_xy, np.where(towns["is_county_seat"], 2.2, 0.8))
    cells = shapely.box(ex[ix], ey[iy], ex[ix + 1], ey[iy + 1])
    rows = []

    farmland = _smooth_union(cells[(elev < 0.25) & (d_village > 0.45) & clear_seat], county)
    for code, name, poly in zip(towns["code"], towns["name"], town_polygons):
        piece = shapely.intersection(farmland, poly)
        if piece.area >= 1.0:
            rows.append({"name": f"{name}永久基本农田", "kind": "basic_farmland", "geometry": piece})

    redline = _smooth_union(cells[(elev > 0.8) & (d_village > 0.5)], county)
    for k, piece in enumerate(sorted(shapely.get_parts(redline), key=lambda g: -g.area)):
        if piece.area >= 2.0:
            rows.append({"name": f"南山水源涵养生态保护红线（{k + 1}）", "kind": "ecological_redline", "geometry": piece})

    # the reservoir sits in the hills, as far from any village as possible
    hills = (elev > 0.3) & (elev < 0.62)
    centre = pts[np.flatnonzero(hills)[np.argmax(d_village[hills])]] if hills.any() else pts[np.argmax(d_village)]
    lake = shapely.affinity.rotate(shapely.affinity.scale(shapely.Point(centre).buffer(0.6), 1.6, 0.6),
                                   rng.uniform(0, 180), origin=tuple(centre))
    rows.append({"name": "清河水库饮用水水源保护区", "kind": "ecological_redline",
                 "geometry": shapely.intersection(lake.buffer(0.4), county)})

    hill_villages = np.flatnonzero((~v["is_seat"]) & (v["zone"] >= _HILL))
    picks = hill_villages[_weighted_choice(rng, v["elevation"].to_numpy()[hill_villages], max(3, round(4 * math.sqrt(v.shape[0] / _N_VILLAGES))))]
    for i in picks:
        ang = rng.uniform(0, 2 * np.pi)
        c = v.loc[i, ["x", "y"]].to_numpy(dtype=float) + rng.uniform(0.25, 0.5) * np.array([math.cos(ang), math.sin(ang)])
        zone = shapely.affinity.scale(shapely.Point(c).buffer(rng.uniform(0.12, 0.3)), 1.5, 0.8)
        rows.append({"name": f"{v.at[i, 'name']}滑坡隐患区", "kind": "hazard",
                     "geometry": shapely.intersection(zone, county)})
    out = pd.DataFrame(rows)
    out.insert(0, "id", [f"CZ{i:03d}" for i in range(1, len(out) + 1)])
    return out


def _smooth_union(cells, county):
    """Union of raster cells, rounded off so it does not look like a raster."""
    if not len(cells):
        return shapely.Polygon()
    # simplify turns the staircase into slopes, the closing buffer rounds it off
    merged = shapely.simplify(shapely.coverage_union_all(cells), 0.1)
    smooth = shapely.buffer(shapely.buffer(merged, 0.25, quad_segs=3), -0.35, quad_segs=3)
    smooth = shapely.simplify(smooth, 0.05)
    return shapely.make_valid(shapely.intersection(smooth, county))


# ============================================================================ industry and facilities
_BASE_TEMPLATES = (
    # kind, commodity, count at scale 1, name pattern, area range (mu) or None
    ("planting", "apple", 8, "{village}苹果标准化种植基地", (500, 3000)),
    ("planting", "hawthorn", 6, "{village}山楂种植基地", (400, 2500)),
    ("planting", "vegetables", 6, "{village}设施蔬菜基地", (200, 1200)),
    ("planting", "garlic", 3, "{village}大蒜种植基地", (300, 1500)),
    ("planting", "edible_fungi", 4, "{village}食用菌种植基地", (30, 200)),
    ("planting", "eucommia", 3, "{village}杜仲种植基地", (300, 2000)),
    ("planting", "tea", 2, "{village}茶园", (100, 600)),
    ("planting", "kiwi", 1, "{village}猕猴桃园", (100, 500)),
    ("breeding", "livestock", 5, "{village}生态养殖基地", None),
    ("processing", "hawthorn", 2, "{town}山楂食品加工厂", None),
    ("processing", "apple", 2, "{town}果品分拣加工中心", None),
    ("processing", "vegetables", 1, "{town}净菜加工厂", None),
    ("processing", "edible_fungi", 1, "{town}食用菌烘干加工厂", None),
    ("processing", "eucommia", 1, "{town}杜仲茶加工厂", None),
    ("processing", "tea", 1, "{town}茶叶加工厂", None),
    ("workshop", None, 10, "{village}就业帮扶车间", None),
    ("park", "vegetables", 2, "{town}现代农业产业园", (3000, 8000)),
    ("park", "apple", 1, "{town}苹果产业园", (3000, 10000)),
    ("park", "edible_fungi", 1, "{town}食用菌产业园", (800, 2000)),
)
_YIELD_T_PER_MU = {"apple": 2.5, "hawthorn": 1.2, "vegetables": 4.0, "garlic": 1.2, "edible_fungi": 6.0,
                   "eucommia": 0.15, "tea": 0.06, "kiwi": 1.5}
_PROCESSING_T = {"hawthorn": (2000, 8000), "apple": (3000, 10000), "vegetables": (1000, 5000),
                 "edible_fungi": (300, 1500), "eucommia": (50, 300), "tea": (20, 100)}
_WORKSHOP_LINES = ((None, "服装加工"), ("hawthorn", "山楂分拣"), ("apple", "果品包装"), (None, "电子元件组装"),
                   ("edible_fungi", "菌棒生产"), (None, "手工编织"))


def _town_totals(v: pd.DataFrame, commodity: str) -> pd.Series:
    return v.groupby("town")[produce_field_name(commodity)].sum().sort_values(ascending=False, kind="stable")


def _top_village_of_town(v: pd.DataFrame, commodity: str) -> pd.Series:
    """Town → the village growing the most of ``commodity`` (the first on a tie)."""
    return v.groupby("town")[produce_field_name(commodity)].idxmax()


def _offset_point(rng, xy, lo_km, hi_km) -> np.ndarray:
    ang = rng.uniform(0, 2 * np.pi)
    return np.asarray(xy, dtype=float) + rng.uniform(lo_km, hi_km) * np.array([math.cos(ang), math.sin(ang)])


def _make_industry_bases(rng, county, v: pd.DataFrame, *, scale: float) -> pd.DataFrame:
    """Planting, breeding, processing, workshop and park sites where the produce is."""
    inner = county.buffer(-0.3)
    shapely.prepare(inner)  # many point-in-polygon tests below
    xy = v[["x", "y"]].to_numpy(dtype=float)
    seat_of = {int(t): int(i) for i, t in zip(np.flatnonzero(v["is_seat"]), v.loc[v["is_seat"], "town"])}
    vname, vtown, vcode = v["name"].to_numpy(), v["town_name"].to_numpy(), v["code"].to_numpy()
    rows = []
    for kind, commodity, count, pattern, area_range in _BASE_TEMPLATES:
        n = max(1, round(count * scale))
        if kind in ("processing", "park"):
            totals = _town_totals(v, commodity)
            towns_ = totals.index[: n].to_numpy()
            if kind == "processing":
                hosts = [seat_of[int(t)] for t in towns_]
            else:
                top = _top_village_of_town(v, commodity)
                hosts = [int(top[t]) for t in towns_]
        elif kind == "workshop":
            w = 0.2 + 2.0 * v["former_poor"].to_numpy() + 1.5 * v["is_seat"].to_numpy()
            hosts = list(_weighted_choice(rng, w * ~v["is_county_seat"].to_numpy(), n))
        else:
            # fields and farms belong to villages, not to the seats' built-up communities
            w = v[produce_field_name(commodity)].to_numpy() * ~v["is_seat"].to_numpy()
            top = np.argsort(-w, kind="stable")[: max(3 * n, 10)]
            mask = np.zeros(len(w), bool)
            mask[top] = True
            hosts = list(_weighted_choice(rng, np.where(mask, w, 0.0), n))
        for h in hosts:
            vil, town = vname[h], vtown[h]
            row = {"kind": kind, "commodity": commodity, "village_code": vcode[h], "town": town,
                   "name": pattern.format(village=vil, town=town)}
            home = xy[h]
            if area_range is not None:
                area = float(np.round(rng.uniform(*area_range), -1))
                km2 = area / 1500.0  # 1 km² = 1,500 亩
                aspect = rng.uniform(1.0, 2.0)
                w_km, h_km = math.sqrt(km2 * aspect), math.sqrt(km2 / aspect)
                centre = _offset_point(rng, home, 0.4 + w_km / 2, 0.8 + w_km / 2)
                if not shapely.contains_xy(inner, *centre):
                    centre = home
                rect = shapely.box(-w_km / 2, -h_km / 2, w_km / 2, h_km / 2)
                rect = shapely.affinity.translate(shapely.affinity.rotate(rect, rng.uniform(0, 180)), *centre)
                row.update(area_mu=area, geometry=shapely.intersection(rect, county),
                           output_t=round(area * _YIELD_T_PER_MU[commodity] * rng.uniform(0.8, 1.1), 1),
                           jobs=int(rng.uniform(120, 400) if kind == "park" else max(5, area / rng.uniform(20, 40))))
            else:
                p = _offset_point(rng, home, 0.15, 0.35)
                if not shapely.contains_xy(inner, *p):
                    p = home
                row["geometry"] = shapely.Point(p)
                if kind == "processing":
                    row.update(output_t=round(rng.uniform(*_PROCESSING_T[commodity]), -1), jobs=int(rng.uniform(30, 180)))
                elif kind == "breeding":
                    row.update(area_mu=float(np.round(rng.uniform(20, 120))), output_t=round(rng.uniform(50, 600), -1),
                               jobs=int(rng.uniform(5, 30)))
                else:
                    line_commodity, line = _WORKSHOP_LINES[int(rng.integers(len(_WORKSHOP_LINES)))]
                    row.update(commodity=line_commodity, name=f"{vil}就业帮扶车间（{line}）", jobs=int(rng.uniform(20, 120)))
            rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(0, "id", [f"IB{i:04d}" for i in range(1, len(out) + 1)])
    return out[["id", "name", "kind", "commodity", "area_mu", "output_t", "jobs", "village_code", "town", "geometry"]]


_COLD_TEMPLATES = (
    # kind, commodities, capacity t, status, investment 万元, name, rank of the host town for the commodity
    ("controlled_atmosphere", ("apple",), 3000, "existing", 1200, "{town}苹果气调库", 0),
    ("fresh_keeping", ("apple",), 1000, "existing", 350, "{village}苹果保鲜库", 1),
    ("freezer", ("hawthorn",), 1500, "existing", 600, "{town}山楂冷冻库", 1),
    ("fresh_keeping", ("vegetables", "garlic"), 800, "existing", 280, "{village}果蔬保鲜库", 0),
    ("hub", ("apple", "vegetables", "hawthorn"), 5000, "under_construction", 2500, "{town}冷链物流集配中心", 0),
    ("freezer", ("edible_fungi",), 500, "planned", 200, "{town}食用菌冷冻库", 0),
)


def _make_cold_storage(rng, v: pd.DataFrame, towns: pd.DataFrame, *, scale: float) -> pd.DataFrame:
    """Cold stores where the fruit and vegetables are; the hub at the county seat."""
    rows = []
    repeats = max(1, round(scale))
    big_towns = towns["population"].sort_values(ascending=False, kind="stable").index.to_numpy()
    seat_of = {int(t): int(i) for i, t in zip(np.flatnonzero(v["is_seat"]), v.loc[v["is_seat"], "town"])}
    vxy = v[["x", "y"]].to_numpy(dtype=float)
    vname, vcode = v["name"].to_numpy(), v["code"].to_numpy()
    totals = {c: (_town_totals(v, c).index.to_numpy(), _top_village_of_town(v, c))
              for c in {t[1][0] for t in _COLD_TEMPLATES}}
    for r in range(repeats):
        for kind, commodities, capacity, status, invest, pattern, rank in _COLD_TEMPLATES:
            if kind == "hub":
                town = int(big_towns[min(r, len(big_towns) - 1)])
                host = seat_of[town]
                xy = _offset_point(rng, vxy[host], 1.6 if r == 0 else 0.7, 1.9 if r == 0 else 0.9)
            else:
                order, top = totals[commodities[0]]
                town = int(order[min(rank + 2 * r, len(order) - 1)])
                host = int(top[town])
                xy = _offset_point(rng, vxy[host], 0.25, 0.45)
            tname = towns.at[town, "name"]
            name = pattern.format(town=tname, village=vname[host])
            if kind == "hub" and r == 0:
                name = "清河县冷链物流集配中心"
            rows.append({"name": name, "kind": kind, "capacity_t": float(capacity),
                         "commodities": ",".join(_COMMODITY_ZH[c] for c in commodities), "status": status,
                         "investment_wan": float(invest), "village_code": vcode[host], "town": tname,
                         "geometry": shapely.Point(xy), "commodity_values": commodities})
    out = pd.DataFrame(rows)
    out.insert(0, "id", [f"CS{i:03d}" for i in range(1, len(out) + 1)])
    return out


def _make_relocation_settlements(rng, v: pd.DataFrame, towns: pd.DataFrame, *, scale: float) -> pd.DataFrame:
    """Relocation settlements (易地扶贫搬迁) at town seats, for people from mountain villages."""
    mountain_share = (v["zone"] == _MOUNTAIN).groupby(v["town"]).mean()
    by_mountain = mountain_share.sort_values(ascending=False, kind="stable").index.to_numpy()
    n = max(3, round(4 * scale))
    sizes = [(1150, 1350, "{town}幸福家园安置小区")] + [
        ((820, 950, "{town}新村安置点"), (250, 400, "{town}移民新村"), (120, 220, "{town}阳光小区安置点"))[k % 3]
        for k in range(n - 1)]
    hosts = [0] + [int(t) for t in by_mountain if t != 0][: n - 1]
    poor = v["former_poor"].to_numpy() & (v["zone"].to_numpy() >= _HILL)
    seat_of = {int(t): int(i) for i, t in zip(np.flatnonzero(v["is_seat"]), v.loc[v["is_seat"], "town"])}
    x, y, code, is_cs = (v["x"].to_numpy(dtype=float), v["y"].to_numpy(dtype=float), v["code"].to_numpy(),
                         v["is_county_seat"].to_numpy())
    rows = []
    for (lo, hi, pattern), town in zip(sizes, hosts):
        seat = seat_of[town]
        xy = _offset_point(rng, (x[seat], y[seat]), *((1.7, 1.9) if is_cs[seat] else (0.75, 0.9)))
        people = int(rng.uniform(lo, hi))
        d = np.hypot(x - x[seat], y - y[seat])
        origin = _weighted_choice(rng, poor / (1.0 + d), int(rng.integers(3, 10)))
        rows.append({"name": pattern.format(town=towns.at[town, "name"]), "households": round(people / rng.uniform(3.0, 3.4)),
                     "people": people, "origin_villages": ",".join(code[origin]),
                     "jobs": round(people * rng.uniform(0.06, 0.12)), "town": towns.at[town, "name"],
                     "geometry": shapely.Point(xy)})
    out = pd.DataFrame(rows)
    out.insert(0, "id", [f"RS{i:02d}" for i in range(1, len(out) + 1)])
    return out


def _make_households(rng, v: pd.DataFrame) -> pd.DataFrame:
    """One row per monitored household, matching the villages' counts; opaque ids only."""
    counts = v[["monitored_unstable", "monitored_marginal", "monitored_sudden"]].to_numpy()
    village = np.repeat(np.repeat(np.arange(len(v)), 3), counts.ravel())
    kind_idx = np.repeat(np.tile(np.arange(3), len(v)), counts.ravel())
    n = len(village)
    seq = pd.Series(village).groupby(village).cumcount().to_numpy() + 1
    codes = v["code"].to_numpy()[village]
    risk_p = np.array([[0.2, 0.45, 0.35], [0.15, 0.45, 0.40], [0.45, 0.40, 0.15]])
    u = rng.random(n)
    risk = (u[:, None] > np.cumsum(risk_p[kind_idx], axis=1)).sum(axis=1)
    low, high = np.array([3600, 4800, 6000]), np.array([5200, 7000, 10500])
    income = np.round(rng.uniform(low[risk], high[risk]), -1)
    return pd.DataFrame({
        "id": [f"H{c}{s:03d}" for c, s in zip(codes, seq)],
        "village_code": codes,
        "kind": np.array(["unstable", "marginal", "sudden"], dtype=object)[kind_idx],
        "risk": np.array(["high", "medium", "low"], dtype=object)[risk],
        "members": np.clip(1 + rng.poisson(2.0, n), 1, 8),
        "income_per_capita_yuan": income,
    })


# ============================================================================ pairings
def _make_pairings(rng, v: pd.DataFrame, towns: pd.DataFrame, settlements: pd.DataFrame,
                   households: pd.DataFrame, county, local: _LocalFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Work teams, first secretaries, cadres and backing units, with planted gaps.

    Returns the pairings and the gap list (``{rule, target_kind, target_id}``) so the
    pairing analysis can be checked against it.
    """
    rows: list[dict] = []
    gaps: list[dict] = []
    minx, miny, maxx, maxy = county.bounds
    bases = {
        "seats": towns[["x", "y"]].to_numpy(),
        "city": np.array([minx - 25.0, miny - 10.0]),  # the prefecture city, outside the county
        "neighbour": np.array([minx - 12.0, (miny + maxy) / 2]),
        "central": local.from_lonlat([[116.40, 39.91]])[0],  # Beijing
        "east_west": local.from_lonlat([[120.62, 31.30]])[0],  # southern Jiangsu
    }

    def add(helper_id, helper_name, kind, county_code, target_kind, target_id, start, xy):
        rows.append({"helper_id": helper_id, "helper_name": helper_name, "helper_kind": kind,
                     "helper_county_code": county_code, "target_kind": target_kind, "target_id": target_id,
                     "start_date": start, "xy": None if xy is None else np.asarray(xy, dtype=float)})

    _add_resident_helpers(rng, v, settlements, add, gaps)
    _add_cadres(rng, v, households, bases["seats"], bases["neighbour"], add, gaps)
    _add_backing_units(rng, v, towns, bases, add)
    out = pd.DataFrame(rows)
    out.insert(0, "id", [f"PR{i:05d}" for i in range(1, len(out) + 1)])
    xy = out.pop("xy").to_numpy()
    placed = np.flatnonzero([p is not None for p in xy])
    geometry = np.full(len(out), None, dtype=object)
    if len(placed):
        geometry[placed] = shapely.points(np.stack(xy[placed]))
    out["geometry"] = geometry
    return out, gaps


def _add_resident_helpers(rng, v, settlements, add, gaps) -> None:
    """A work team and a first secretary in every village that needs them, a team in
    every 800+ settlement — except two villages without a team, two without a
    secretary and the biggest settlement without a team."""
    former = v["former_poor"].to_numpy()
    demo = v["demonstration"].to_numpy()
    weak = v["weak_org"].to_numpy()
    required = np.flatnonzero(former | demo | weak)
    only_former = np.flatnonzero(former & ~demo & ~weak)
    no_team = set(only_former[np.sort(rng.choice(len(only_former), min(2, len(only_former)), replace=False))].tolist())
    weak_only = [i for i in np.flatnonzero(weak & ~former) if i not in no_team]
    demo_only = [i for i in np.flatnonzero(demo & ~former & ~weak) if i not in no_team]
    pool = [i for i in required if i not in no_team]
    no_secretary = {weak_only[0] if weak_only else pool[0], demo_only[0] if demo_only else pool[-1]}
    code, vname, vxy = v["code"].to_numpy(), v["name"].to_numpy(), v[["x", "y"]].to_numpy()
    n_team = n_secretary = 0

    def unit():
        return _COUNTY_UNITS[int(rng.integers(len(_COUNTY_UNITS)))]

    for i in required:  # resident helpers live in the village
        start = ("2021-06-15", "2023-06-15")[int(rng.integers(2))]
        if i in no_team:
            gaps.append({"rule": "missing_work_team", "target_kind": "village", "target_id": str(code[i])})
        else:
            n_team += 1
            add(f"WT{n_team:04d}", f"{unit()}驻{vname[i]}工作队", "work_team", COUNTY_CODE, "village", code[i],
                start, vxy[i])
        if i in no_secretary:
            gaps.append({"rule": "missing_first_secretary", "target_kind": "village", "target_id": str(code[i])})
        else:
            n_secretary += 1
            add(f"FS{n_secretary:04d}", f"{vname[i]}第一书记（{unit()}选派）", "first_secretary", COUNTY_CODE,
                "village", code[i], start, vxy[i])
    for k, s in enumerate(settlements.itertuples(index=False)):
        if s.people < 800:
            continue
        if k == 0:  # the biggest settlement has no resident team: the planted gap
            gaps.append({"rule": "missing_work_team", "target_kind": "settlement", "target_id": str(s.id)})
            continue
        n_team += 1
        add(f"WT{n_team:04d}", f"{unit()}驻{s.name}工作队", "work_team", COUNTY_CODE, "settlement", s.id,
            "2021-06-15", shapely.get_coordinates(s.geometry)[0])


def _add_backing_units(rng, v, towns, bases, add) -> None:
    """City and county backing units for the former poor villages, 万企兴万村 enterprises,
    the central designated unit and the east–west partner for the key villages."""
    code, former = v["code"].to_numpy(), v["former_poor"].to_numpy()
    targets = np.flatnonzero(former)
    units = [(f"{PREFECTURE_NAME[:3]}{u[1:]}", PREFECTURE_CODE, bases["city"]) for u in _CITY_UNITS] + [
        (u, COUNTY_CODE, bases["seats"][0] + rng.uniform(-0.6, 0.6, 2)) for u in _COUNTY_UNITS]
    pos, k = 0, 0
    while pos < len(targets):
        uname, ucode, uxy = units[k % len(units)]
        take = int(rng.integers(2, 4))
        for i in targets[pos: pos + take]:
            add(f"MU{k + 1:03d}", uname, "municipal_unit", ucode, "village", code[i], "2021-05-01", uxy)
        pos, k = pos + take, k + 1

    # enterprises, each with one to three villages of the town where its plant is
    n_ent = max(3, round(12 * len(v) / _N_VILLAGES))
    suffixes = ("农业开发有限公司", "食品有限公司", "果业有限公司", "农牧科技有限公司", "生物科技有限公司")
    for e in range(n_ent):
        t = int(rng.integers(len(towns)))
        in_town = np.flatnonzero((v["town"].to_numpy() == t) & ~v["is_seat"].to_numpy())
        pick = in_town[_weighted_choice(rng, 1.0 + 2.0 * former[in_town], int(rng.integers(1, 4)))]
        ename = f"清河{towns.at[t, 'name'][:2]}{suffixes[e % len(suffixes)]}"
        plant = bases["seats"][t] + rng.uniform(-0.5, 0.5, 2)
        for i in pick:
            add(f"EN{e + 1:03d}", ename, "enterprise", COUNTY_CODE, "village", code[i], "2022-03-01", plant)

    key = np.flatnonzero(v["key_village"].to_numpy())
    for i in key:
        add("CU001", "中央示范帮扶单位（虚构）", "central_unit", None, "village", code[i], "2021-05-01",
            bases["central"])
    rest = np.setdiff1d(targets, key)
    ew = np.concatenate([key, rest[_weighted_choice(rng, np.ones(len(rest)), min(6, len(rest)))]])
    for i in np.sort(ew):
        add("EW001", "江苏省吴州市新湖区（虚构）", "east_west", EAST_WEST_COUNTY_CODE, "village", code[i],
            "2021-05-01", bases["east_west"])


def _add_cadres(rng, v, households, seat_xy, neighbour_xy, add, gaps) -> None:
    """One responsible cadre per 2–6 households of a town, with three planted defects:
    three households without a cadre, one cadre over the limit, one from another county."""
    town_of_village = dict(zip(v["code"], v["town"]))
    town = households["village_code"].map(town_of_village).to_numpy()
    ids = households["id"].to_numpy()
    n = len(ids)
    busiest = int(np.bincount(town).argmax())
    unpaired = np.sort(rng.choice(np.flatnonzero(town != busiest), 3, replace=False))
    for h in unpaired:
        gaps.append({"rule": "missing_cadre", "target_kind": "household", "target_id": str(ids[h])})
    keep = np.ones(n, bool)
    keep[unpaired] = False
    cadre = 0
    outsider_done = False
    for t in np.unique(town):
        members = np.flatnonzero((town == t) & keep)
        pos = 0
        while pos < len(members):
            size = CADRE_HOUSEHOLD_LIMIT + 2 if (t == busiest and pos == 0) else int(rng.integers(2, 7))
            chunk = members[pos: pos + size]
            pos += size
            cadre += 1
            cid = f"CD{cadre:04d}"
            from_town = rng.random() < 0.4
            unit_name = "乡镇干部" if from_town else _COUNTY_UNITS[int(rng.integers(len(_COUNTY_UNITS)))]
            base = seat_xy[t if from_town else 0] + rng.uniform(-0.4, 0.4, 2)
            county_code = COUNTY_CODE
            name = f"{unit_name}帮扶责任人{cid}"
            if size == CADRE_HOUSEHOLD_LIMIT + 2:
                gaps.append({"rule": "cadre_over_limit", "target_kind": "helper", "target_id": cid})
            elif not outsider_done and t != busiest and len(chunk) <= 5:
                outsider_done = True
                county_code, base = NEIGHBOUR_COUNTY_CODE, neighbour_xy
                name = f"邻县（{NEIGHBOUR_COUNTY_CODE}）选派帮扶责任人{cid}"
                gaps.append({"rule": "cadre_out_of_county", "target_kind": "helper", "target_id": cid})
            for h in chunk:
                add(cid, name, "cadre", county_code, "household", ids[h], "2021-03-15", base)


# ============================================================================ project library seed
def _make_proposals(rng, v: pd.DataFrame, cold: pd.DataFrame,
                    constraints: pd.DataFrame) -> list[dict]:
    """Five proposals like 闻喜's, two with planted problems (red line, duplicate store)."""
    def neighbours(host, k):
        same = np.flatnonzero((v["town"].to_numpy() == v.at[host, "town"]) & ~v["is_seat"].to_numpy())
        d = np.hypot(v["x"].to_numpy()[same] - v.at[host, "x"], v["y"].to_numpy()[same] - v.at[host, "y"])
        return [str(c) for c in v["code"].to_numpy()[same[np.argsort(d, kind="stable")[:k]]]]

    def top_village(commodity, town_rank):
        totals = _town_totals(v, commodity)
        t = int(totals.index[min(town_rank, len(totals) - 1)])
        return int(v.loc[v["town"] == t, produce_field_name(commodity)].idxmax())

    monitored_cols = ["monitored_unstable", "monitored_marginal", "monitored_sudden"]

    def proposal(host, xy, **fields):
        served = neighbours(host, 4)
        rows = v["code"].isin(served)
        # beneficiaries: the farm households of the served villages that grow the crop
        # (about a third), all their monitored households among them
        households = int(round(0.35 * float(v.loc[rows, "households"].sum())))
        monitored = int(v.loc[rows, monitored_cols].to_numpy().sum())
        jobs = fields.get("expected_jobs", 0)
        targets = (f"{fields['content']}，当年建成投用；带动就业{jobs}人（其中脱贫劳动力不少于{max(1, jobs // 3)}人）；"
                   f"受益农户{households}户，其中监测户{monitored}户，户均年增收不低于1000元")
        return {"id": None, "name": fields.pop("name"), "category": fields.pop("category"),
                "x": float(xy[0]), "y": float(xy[1]), "town": str(v.at[host, "town_name"]),
                "village_code": str(v.at[host, "code"]), "fund_source": "衔接资金", **fields,
                "beneficiary_villages": served, "beneficiary_households": households,
                "beneficiary_monitored": monitored, "performance_targets": targets}

    out = []
    h = top_village("apple", 2)
    out.append(proposal(h, _offset_point(rng, v.loc[h, ["x", "y"]].to_numpy(dtype=float), 0.3, 0.5),
                        name=f"{v.at[h, 'town_name']}苹果保鲜库建设项目", category="cold_storage", budget_wan=400.0,
                        content="新建苹果保鲜库2000吨及配套分拣线", commodities=["apple"], expected_jobs=25,
                        link_to_farmers="村集体经济组织持有资产，租赁收益按比例分红给脱贫户；优先收购周边果农苹果",
                        demo_expected_issue=None, demo_related_id=None))
    h = top_village("hawthorn", 0)
    out.append(proposal(h, _offset_point(rng, v.loc[h, ["x", "y"]].to_numpy(dtype=float), 0.3, 0.5),
                        name=f"{v.at[h, 'town_name']}山楂加工冷冻库项目", category="cold_storage", budget_wan=400.0,
                        content="新建山楂加工配套冷冻库1500吨", commodities=["hawthorn"], expected_jobs=30,
                        link_to_farmers="订单收购山楂，保底价收购脱贫户产品；吸纳脱贫劳动力务工",
                        demo_expected_issue=None, demo_related_id=None))
    veg = cold.loc[cold["commodity_values"].map(lambda c: "vegetables" in c) & (cold["kind"] == "fresh_keeping")].iloc[0]
    h = int(np.flatnonzero(v["code"].to_numpy() == veg["village_code"])[0])
    out.append(proposal(h, _offset_point(rng, shapely.get_coordinates(veg["geometry"])[0], 0.3, 0.5),
                        name=f"{v.at[h, 'name']}果蔬冷库项目", category="cold_storage", budget_wan=210.0,
                        content="新建蔬菜、大蒜冷库800吨", commodities=["vegetables", "garlic"], expected_jobs=12,
                        link_to_farmers="为周边菜农提供低价冷藏服务，收益用于村集体经济",
                        demo_expected_issue="duplicate_cold_storage", demo_related_id=str(veg["id"])))
    red = constraints.loc[constraints["kind"] == "ecological_redline"]
    red = red.iloc[int(np.argmax(red["geometry"].map(lambda g: g.area).to_numpy()))]
    spot = shapely.get_coordinates(shapely.point_on_surface(red["geometry"]))[0]
    h = int(np.argmin(np.hypot(v["x"] - spot[0], v["y"] - spot[1]).to_numpy() + 1e6 * v["is_seat"].to_numpy()))
    out.append(proposal(h, spot, name=f"{v.at[h, 'name']}食用菌加工基地项目", category="processing",
                        budget_wan=150.0, content="新建食用菌烘干、分级加工车间及菌棒生产线",
                        commodities=["edible_fungi"], expected_jobs=40,
                        link_to_farmers="“企业+合作社+农户”模式，免费提供菌棒、保底回收；吸纳就业",
                        demo_expected_issue="inside_ecological_redline", demo_related_id=str(red["id"])))
    h = top_village("vegetables", 1)
    out.append(proposal(h, _offset_point(rng, v.loc[h, ["x", "y"]].to_numpy(dtype=float), 0.5, 0.8),
                        name=f"{v.at[h, 'name']}蔬菜大棚项目", category="planting", budget_wan=90.0,
                        content="新建日光温室大棚20座", commodities=["vegetables"], expected_jobs=15,
                        link_to_farmers="大棚租赁给脱贫户和监测户经营，租金收入归村集体",
                        demo_expected_issue=None, demo_related_id=None))
    for k, p in enumerate(out, start=1):
        p["id"] = f"DP{k:02d}"
    return out
