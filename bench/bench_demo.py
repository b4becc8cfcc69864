"""Demo generator benchmark: ``ruralplan demo --scale N`` from a county to a province.

Each scale runs the whole ``demo`` command in a fresh interpreter, which reports the
CPU seconds of its three parts — generating the county (:func:`layers.demo.generate_demo_county`),
writing the workspace (the rest of :func:`layers.demo.build_demo_workspace`) and seeding
the project library (one proposal walked through the review, which builds the road
graph) — and the peak resident memory after generating and at the end (``ru_maxrss``).

The growth exponent is the slope of log(figure) against log(villages): 1 is linear,
2 quadratic. The exponents are what this benchmark is judged on (same machine, same
run); the absolute figures depend on the machine and its load, which is printed.

Run: ``.venv/bin/python -m bench.bench_demo`` (×1, ×5, ×28, ×50); ``--quick`` leaves
out ×50. ``--scales 1 2`` picks others. Never asserts on times.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .bench_scale import exponent

#: The ``demo`` command in a child interpreter, its parts timed; prints one JSON line.
_CHILD = r"""
import json, resource, sys, time
scale, path = float(sys.argv[1]), sys.argv[2]
import layers.demo as demo
from web.cli import main  # imports first: the figures are the command's own
marks = {}
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
def timed(label, fn):
    def run(*args, **kwargs):
        t0 = time.process_time()
        out = fn(*args, **kwargs)
        marks[label] = (time.process_time() - t0, peak_mb())
        return out
    return run
counts = {}
generate = demo.generate_demo_county
def generate_and_count(*args, **kwargs):
    county = generate(*args, **kwargs)
    counts.update(county.counts())
    return county
demo.generate_demo_county = timed("generate", generate_and_count)
demo.build_demo_workspace = timed("build", demo.build_demo_workspace)
t0 = time.process_time()
main(["demo", "-w", path, "--scale", str(scale), "--force"], standalone_mode=False)
total = time.process_time() - t0
gen_s, gen_mb = marks["generate"]
build_s, _ = marks["build"]
print(json.dumps({"villages": counts["villages"], "roads": counts["roads"], "generate_s": gen_s,
                  "generate_mb": gen_mb, "write_s": build_s - gen_s, "seed_s": total - build_s,
                  "total_s": total, "peak_mb": peak_mb()}))
"""


def run_demo(scale: float, path: Path) -> dict:
    """The figures of one ``demo --scale`` run in a fresh interpreter (or ``{"error": …}``)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(scale), str(path)], capture_output=True, text=True,
                          env=env, cwd=root, check=False)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["failed"]}
    return json.loads(lines[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="×1, ×5 and ×28 only")
    parser.add_argument("--scales", nargs="+", type=float, default=None, help="scales to run instead")
    args = parser.parse_args(argv)
    scales = args.scales or ([1.0, 5.0, 28.0] if args.quick else [1.0, 5.0, 28.0, 50.0])
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'scale':>6} {'villages':>9} {'roads':>9} {'generate s':>11} {'write s':>8} {'seed s':>7} "
          f"{'total s':>8} {'gen MB':>7} {'peak MB':>8}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ruralplan-bench-demo-") as tmp:
        for scale in scales:
            path = Path(tmp) / f"demo-x{scale:g}.gpkg"
            r = run_demo(scale, path)
            path.unlink(missing_ok=True)
            if "error" in r:
                print(f"{scale:>6g}  failed: {r['error']}")
                continue
            rows.append(r)
            print(f"{scale:>6g} {r['villages']:>9} {r['roads']:>9} {r['generate_s']:>11.1f} {r['write_s']:>8.1f} "
                  f"{r['seed_s']:>7.1f} {r['total_s']:>8.1f} {r['generate_mb']:>7.0f} {r['peak_mb']:>8.0f}",
                  flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    print("\ngrowth exponents (slope of log figure vs log villages; 1 = linear)")
    fmt = (lambda e: "n/a" if e is None else f"{e:.2f}")
    for label, key in (("generate time", "generate_s"), ("write time", "write_s"), ("seed time", "seed_s"),
                       ("total time", "total_s"), ("generate memory", "generate_mb"), ("peak memory", "peak_mb")):
        print(f"  {label:>16}: {fmt(exponent([(r['villages'], r[key]) for r in rows]))}")


if __name__ == "__main__":
    main()
