"""Workspace store under kill -9 and under load (loopback only).

``crash``: a child process loops over one kind of write — a layer import (villages
rewritten), an app-table edit (a proposal-like row and a metadata counter in one
transaction) or a cache write (a 5 MB blob) — and is killed with SIGKILL at a random
moment, ``--kills`` times per kind.  After every kill: ``ruralplan info`` must work at
once (exit 0), and the state must be the last committed one (the counter the child
printed last, or a later one it committed but had not printed yet; layer rows and
counter written together must agree).

``load``: the app under waitress on 127.0.0.1, ``--clients`` threads for ``--seconds``:
reads only (map layers and the pages' JSON), then the same with 7 % writes (metadata
edits and village imports through the store).  Printed as ratios: reads-only
throughput with N clients vs 1 client, mixed vs reads-only; p95 latencies.  Targets
from the issue: ≥ 0.8× and ≥ 0.7×.

Run: ``.venv/bin/python -m bench.bench_store`` (``--quick``: 5 kills, 10 clients × 10 s).
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_WRITER = textwrap.dedent("""
    import sys
    import geopandas as gpd, shapely
    from layers.store import Workspace
    ws, kind = Workspace(sys.argv[1]), sys.argv[2]
    v = int(ws.meta().get("version", 0))
    while True:
        v += 1
        if kind == "import":
            frame = gpd.GeoDataFrame({"code": [f"1{i:011d}" for i in range(v % 50 + 1)], "name": ["村"] * (v % 50 + 1)},
                                     geometry=[shapely.Point(111.2 + i / 1e4, 35.3) for i in range(v % 50 + 1)],
                                     crs=4326)
            ws.write_layers({"villages": frame}, meta={"version": v})
        elif kind == "edit":
            with ws.transaction() as con:
                con.execute("CREATE TABLE IF NOT EXISTS rp_bench(v INTEGER)")
                con.execute("INSERT INTO rp_bench VALUES (?)", (v,))
                con.execute("INSERT OR REPLACE INTO rp_meta(key, value) VALUES ('version', ?)", (str(v),))
        else:
            ws.put_blob(f"bench:{v}", bytes(5_000_000), replace_prefix="bench:")
            ws.set_meta(version=v)
        print(v, flush=True)
""")


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def crash(kills: int, seed: int = 20261130) -> None:
    from layers.store import Workspace

    rng = random.Random(seed)
    for kind in ("import", "edit", "cache"):
        with tempfile.TemporaryDirectory() as folder:
            ws = Workspace.create(Path(folder) / "county.gpkg")
            ok = 0
            for _ in range(kills):
                proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(ws.path), kind], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True, env=_env(), cwd=ROOT)
                time.sleep(rng.uniform(1.2, 3.0))
                proc.send_signal(signal.SIGKILL)
                printed = proc.communicate()[0].split()
                info = subprocess.run([sys.executable, "-c", "from web.cli import main; main()", "info", "-w",
                                       str(ws.path)], capture_output=True, text=True, env=_env(), cwd=ROOT)
                fresh = Workspace(ws.path)
                version = int(fresh.meta().get("version", 0))
                last = int(printed[-1]) if printed else 0
                consistent = True
                if kind == "import":
                    consistent = len(fresh.read_layer("villages")) == version % 50 + 1 if version else True
                elif kind == "edit":
                    with fresh.connect() as con:
                        has = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'rp_bench'").fetchone()
                        top = con.execute("SELECT max(v) FROM rp_bench").fetchone()[0] if has else None
                        consistent = (top or 0) == version
                good = info.returncode == 0 and version >= last and consistent
                ok += good
                if not good:
                    print(f"  {kind}: FAILED (info exit {info.returncode}, version {version}, printed {last}, "
                          f"consistent {consistent})")
            leftovers = list(Path(folder).glob(".*.gpkg*"))
            print(f"crash {kind:>6}: {ok}/{kills} kills left a readable, last-committed workspace; "
                  f"{len(leftovers)} leftover files")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(clients: int, seconds: float) -> None:
    from layers.demo import build_demo_workspace

    folder = Path(tempfile.mkdtemp())
    path = build_demo_workspace(folder / "demo.gpkg").path
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", "from web.cli import main; main()", "serve", "-w", str(path),
                               "--host", "127.0.0.1", "--port", str(port), "--threads", "8"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    reads = ["/map/data/villages.geojson", "/map/data/roads.geojson", "/map/data/cold_storage.geojson",
             "/api/v1/layers"]
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + reads[0], timeout=5).read()
                break
            except OSError:
                time.sleep(0.5)
        for url in reads:  # warm the caches
            urllib.request.urlopen(base + url, timeout=60).read()

        def run(n_clients: int, write_share: float) -> tuple[float, float]:
            from layers.store import Workspace

            ws = Workspace(path)
            stop = time.perf_counter() + seconds
            lat: list[float] = []
            lock = threading.Lock()

            def client(k: int) -> None:
                rng = random.Random(k)
                while time.perf_counter() < stop:
                    t0 = time.perf_counter()
                    if rng.random() < write_share:
                        if rng.random() < 0.5:
                            ws.set_meta(bench_note=rng.random())
                        else:
                            frame = ws.read_layer("cold_storage")
                            frame.loc[0, "name"] = f"冷库{rng.randint(0, 9)}"
                            ws.write_layers({"cold_storage": frame})
                    else:
                        urllib.request.urlopen(base + rng.choice(reads), timeout=120).read()
                    with lock:
                        lat.append(time.perf_counter() - t0)

            threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            lat.sort()
            return len(lat) / seconds, lat[int(0.95 * (len(lat) - 1))] if lat else float("nan")

        one, p95_one = run(1, 0.0)
        many, p95_many = run(clients, 0.0)
        mixed, p95_mixed = run(clients, 0.07)
        print(f"load: 1 client {one:.1f} req/s (p95 {p95_one * 1000:.0f} ms); {clients} clients reads-only "
              f"{many:.1f} req/s (p95 {p95_many * 1000:.0f} ms) = {many / one:.2f}× of 1 client (target ≥ 0.8×); "
              f"7 % writes {mixed:.1f} req/s (p95 {p95_mixed * 1000:.0f} ms) = {mixed / many:.2f}× of reads-only "
              f"(target ≥ 0.7×)")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--kills", type=int, default=None)
    parser.add_argument("--clients", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--only", choices=["crash", "load"], default=None)
    args = parser.parse_args(argv)
    if args.only in (None, "crash"):
        crash(args.kills or (5 if args.quick else 20))
    if args.only in (None, "load"):
        load(args.clients or (10 if args.quick else 50), args.seconds or (10.0 if args.quick else 60.0))


if __name__ == "__main__":
    main()
