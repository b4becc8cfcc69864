"""A small synthetic county for the web tests (independent of layers.demo).

``build_sample_workspace(path, villages=12)`` writes every layer: two towns with
boundaries, villages (one named with markup, to test escaping), roads, cold stores,
industry bases, a relocation settlement, constraint zones, households and pairings.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import geopandas as gpd
import shapely

from layers.store import Workspace

XSS_NAME = "<script>alert(1)</script>"
TOWNS = ("东岭镇", "西河乡")


def _gdf(rows, geoms):
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=list(geoms), crs="EPSG:4326")


def build_sample_workspace(path, *, villages: int = 12, road_segments: int = 40, seed: int = 1) -> Workspace:
    rng = np.random.default_rng(seed)
    ws = Workspace.create(path, overwrite=True, meta={"county_name": "测试县"})
    x0, y0 = 111.0, 34.0
    county = shapely.box(x0, y0, x0 + 0.4, y0 + 0.3)
    town_polys = [shapely.box(x0, y0, x0 + 0.2, y0 + 0.3), shapely.box(x0 + 0.2, y0, x0 + 0.4, y0 + 0.3)]
    boundaries = _gdf(
        [{"code": "411000000000", "name": "测试县", "level": "county"}]
        + [{"code": f"41100010{i}000", "name": t, "level": "town"} for i, t in enumerate(TOWNS)],
        [county, *town_polys])
    towns = _gdf([{"code": f"41100010{i}000", "name": t, "population": 20000} for i, t in enumerate(TOWNS)],
                 [p.centroid for p in town_polys])
    vrows, vgeoms = [], []
    for i in range(villages):
        town = TOWNS[i % 2]
        x = x0 + 0.02 + (0.2 if i % 2 else 0) + rng.uniform(0, 0.16)
        y = y0 + 0.02 + rng.uniform(0, 0.26)
        vrows.append({
            "code": f"4110001{i % 2}0{i:03d}"[:12].ljust(12, "0"),
            "name": XSS_NAME if i == 1 else f"测试村{i}",
            "town": town, "population": int(rng.integers(300, 3000)), "households": int(rng.integers(100, 900)),
            "former_poor": bool(i % 3 == 0), "key_village": bool(i % 5 == 0), "demonstration": bool(i % 4 == 1),
            "weak_org": bool(i == 2), "monitored_unstable": int(rng.integers(0, 5)),
            "monitored_marginal": int(rng.integers(0, 5)), "monitored_sudden": int(rng.integers(0, 2)),
            "income_per_capita_yuan": float(rng.uniform(9000, 16000)), "industries": "苹果",
            "produce_apple_t": float(rng.uniform(0, 500)),
        })
        vgeoms.append(shapely.Point(x, y))
    codes = [r["code"] for r in vrows]
    assert len(set(codes)) == len(codes)
    vill = _gdf(vrows, vgeoms)
    classes = ["national", "provincial", "county", "township", "village"]
    rrows, rgeoms = [], []
    for i in range(road_segments):
        xa, ya = x0 + rng.uniform(0, 0.4), y0 + rng.uniform(0, 0.3)
        line = shapely.LineString([(xa, ya), (xa + 0.01, ya + 0.005), (xa + 0.02, ya + 0.004)])
        rrows.append({"id": f"r{i}", "name": f"X{i % 7:03d}", "road_class": classes[i % 5], "speed_kmh": 40.0})
        rgeoms.append(line)
    cold = _gdf([
        {"id": "c1", "name": "东岭冷库", "kind": "fresh_keeping", "capacity_t": 500.0, "status": "existing",
         "village_code": codes[0], "town": TOWNS[0]},
        {"id": "c2", "name": "<b>西河</b>气调库", "kind": "controlled_atmosphere", "capacity_t": 2000.0,
         "status": "planned", "town": TOWNS[1]},
    ], [vgeoms[0], vgeoms[1]])
    bases = _gdf([
        {"id": "b1", "name": "苹果基地", "kind": "planting", "commodity": "apple", "area_mu": 800.0, "town": TOWNS[0]},
        {"id": "b2", "name": "帮扶车间", "kind": "workshop", "jobs": 40, "town": TOWNS[1]},
    ], [shapely.Point(x0 + 0.05, y0 + 0.05), shapely.box(x0 + 0.25, y0 + 0.1, x0 + 0.27, y0 + 0.12)])
    settlements = _gdf([{"id": "s1", "name": "幸福社区", "households": 120, "people": 450, "town": TOWNS[0]}],
                       [shapely.Point(x0 + 0.1, y0 + 0.15)])
    constraints = _gdf([{"id": "z1", "name": "基本农田片区", "kind": "basic_farmland"}],
                       [shapely.box(x0 + 0.01, y0 + 0.01, x0 + 0.1, y0 + 0.08)])
    households = pd.DataFrame([
        {"id": f"h{i}", "village_code": codes[i % len(codes)], "kind": "marginal", "risk": "high", "members": 4}
        for i in range(6)
    ])
    pairings = _gdf([{"id": "p1", "helper_name": "某企业", "helper_kind": "enterprise", "target_kind": "village",
                      "target_id": codes[0]}], [shapely.Point(x0 + 0.3, y0 + 0.2)])
    ws.write_layers({
        "boundaries": boundaries, "towns": towns, "villages": vill, "roads": _gdf(rrows, rgeoms),
        "cold_storage": cold, "industry_bases": bases, "relocation_settlements": settlements,
        "constraints": constraints, "households": households, "pairings": pairings,
    })
    return ws
