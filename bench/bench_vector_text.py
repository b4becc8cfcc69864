"""Cost of reading shapefile text right: :func:`geo.vector.read_vector` against plain pyogrio.

Method: a GBK shapefile of N Chinese village names with a ``System`` .cpg (what ArcGIS
writes) is read (a) by ``read_vector``, which decides the encoding from the .cpg and the
bytes and checks every distinct text cell, and (b) by ``pyogrio.read_dataframe`` told the
right encoding (the baseline: no checks, no CRS handling), in the same run. Reported:
median seconds of RUNS reads and the ratio (a) / (b). The names must come out exactly.

    python -m bench.bench_vector_text [--records 100000] [--runs 3] [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def build(folder: Path, records: int) -> tuple[Path, list[str]]:
    import geopandas as gpd
    import numpy as np
    import pyogrio

    rng = np.random.default_rng(20240601)
    chars = list("张李王赵刘陈杨黄周吴沟河家东西南北后前上下新老石键岭坪湾小溪")
    names = ["".join(rng.choice(chars, 3)) + "村" for _ in range(records)]
    frame = gpd.GeoDataFrame({"name": names, "town": ["东镇"] * records},
                             geometry=gpd.points_from_xy(rng.uniform(111, 112, records), rng.uniform(35, 36, records)),
                             crs=4326)
    path = folder / "villages.shp"
    pyogrio.write_dataframe(frame, path, encoding="GBK")
    (folder / "villages.cpg").write_text("System")
    return path, names


def main(argv=None) -> None:
    import pyogrio

    from geo.vector import read_vector

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 records, one run")
    args = parser.parse_args(argv)
    records, runs = (10_000, 1) if args.quick else (args.records, args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        path, names = build(Path(tmp), records)
        ours, plain = [], []
        for _ in range(runs):
            t = time.perf_counter()
            frame, problems = read_vector(path)
            ours.append(time.perf_counter() - t)
            if frame["name"].tolist() != names or problems:
                raise SystemExit("read_vector did not read the names exactly")
            t = time.perf_counter()
            pyogrio.read_dataframe(path, encoding="GB18030")
            plain.append(time.perf_counter() - t)
    a, b = statistics.median(ours), statistics.median(plain)
    print(f"records={records} runs={runs}  read_vector {a:.3f} s  plain pyogrio {b:.3f} s  ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
