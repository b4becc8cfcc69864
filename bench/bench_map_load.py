"""Map explorer load time in real headless Chromium, demo county at scale 1 and 5.

Method: each workspace is served by the app under waitress (8 threads) on 127.0.0.1.
For every variant a fresh browser context (empty cache) opens ``/map/`` RUNS times;
we read ``loadEventEnd`` of the navigation entry ("load") and ``RP.readyMs``, the
moment every layer shown on opening is drawn ("ready"; both ms since navigation
start). The server builds its payload caches before the first visit, as ``ruralplan
serve`` does at start (the build time is printed); the first browser run is also
reported separately ("cold": empty browser cache, fresh connections); the other
columns are the median of the remaining runs. The baseline is the same page for an empty workspace,
measured in the same run, and the results are also given as a ratio to it.
Variants: data fetched after load (default) and data inlined in the page.

    python -m bench.bench_map_load [--scales 1 5] [--runs 5] [--workdir DIR]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def build_workspaces(workdir: Path, scales) -> dict:
    from layers.demo import build_demo_workspace
    from layers.store import Workspace

    out = {"empty": workdir / "empty.gpkg"}
    if not out["empty"].exists():
        Workspace.create(out["empty"], overwrite=True)
    for scale in scales:
        path = workdir / f"demo-x{scale:g}.gpkg"
        if not path.exists():
            t = time.perf_counter()
            build_demo_workspace(path, scale=scale, overwrite=True)
            print(f"built demo workspace x{scale:g} in {time.perf_counter() - t:.1f} s: {path}")
        out[f"x{scale:g}"] = path
    return out


class Server:
    def __init__(self, workspace: Path, inline: bool, prewarm: bool = True):
        from waitress.server import create_server

        from web import create_app

        app = create_app({"RURALPLAN_WORKSPACE": str(workspace), "SESSION_COOKIE_SECURE": False,
                          "RURALPLAN_MAP_INLINE": inline, "SECRET_KEY": "bench"})
        self.server = create_server(app, host="127.0.0.1", port=0, threads=8)
        if prewarm:  # as `ruralplan serve` does in a background thread
            from web.services import mapdata

            mapdata.prewarm(app.extensions["ruralplan.workspace"])
        self.url = f"http://127.0.0.1:{self.server.effective_port}/map/"
        threading.Thread(target=self.server.run, daemon=True).start()

    def close(self):
        self.server.close()


def measure(browser, url: str, runs: int) -> list[dict]:
    results = []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1366, "height": 850})
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, wait_until="load", timeout=120_000)
        page.wait_for_function("window.RP_READY === true || window.RP_FAILED", timeout=120_000)
        timing = page.evaluate("""() => ({
            load: performance.getEntriesByType('navigation')[0].loadEventEnd,
            ready: window.RP_READY ? RP.readyMs : null,
            bytes: performance.getEntriesByType('resource').reduce((s, r) => s + (r.transferSize || 0), 0)
                   + performance.getEntriesByType('navigation')[0].transferSize,
            features: RP.layers.reduce((s, e) => s + (e.items ? e.items.length : 0), 0),
        })""")
        if errors:
            timing["errors"] = errors
        results.append(timing)
        context.close()
    return results


def summarise(rows: list[dict]) -> dict:
    warm = rows[1:] or rows
    return {
        "cold_load": rows[0]["load"], "cold_ready": rows[0]["ready"],
        "load": statistics.median(r["load"] for r in warm),
        "ready": statistics.median(r["ready"] for r in warm),
        "kib": rows[-1]["bytes"] / 1024, "features": rows[-1]["features"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", type=float, default=[1, 5])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ruralplan-bench")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} missing: install Debian's chromium (make browser)")
        return 1
    from playwright.sync_api import sync_playwright

    args.workdir.mkdir(parents=True, exist_ok=True)
    spaces = build_workspaces(args.workdir, args.scales)
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, path in spaces.items():
                for inline in ((False,) if name == "empty" else (False, True)):
                    t = time.perf_counter()
                    server = Server(path, inline)
                    if not inline:
                        print(f"{name}: server payloads built in {time.perf_counter() - t:.1f} s")
                    try:
                        rows.append((name, "inline" if inline else "fetch", summarise(measure(browser, server.url, args.runs))))
                    finally:
                        server.close()
        finally:
            browser.close()
    base = next(r for n, _m, r in rows if n == "empty")
    print(__doc__.split("\n\n")[1])
    print(f"\nruns per variant: {args.runs}; machine: headless Chromium, app and browser on the same host\n")
    header = f"{'workspace':<10} {'data':<7} {'features':>8} {'KiB':>8} {'load ms':>8} {'ready ms':>9} " \
             f"{'cold ready':>10} {'load x base':>11} {'ready x base':>12}"
    print(header)
    print("-" * len(header))
    for name, mode, r in rows:
        print(f"{name:<10} {mode:<7} {r['features']:>8} {r['kib']:>8.0f} {r['load']:>8.0f} {r['ready']:>9.0f} "
              f"{r['cold_ready']:>10.0f} {r['load'] / base['load']:>11.2f} {r['ready'] / base['ready']:>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
