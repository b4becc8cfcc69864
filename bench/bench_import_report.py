"""Importing a huge file of bad rows: peak memory and a capped report.

Method: a CSV of N village rows where every row is bad in three ways (population not a
number, longitude not a coordinate, code in Excel's scientific notation) is imported with
``ruralplan import`` in a subprocess; the child's peak resident memory is read from
``os.wait4`` (``ru_maxrss``), the report lines are counted from its output. The baseline
is the same command on a 1,000-row file, measured in the same run; the ratio shows how
memory grows with the file. Target (issue 10): 300,000 rows under 500 MB, the report
capped at 1,000 listed problems plus counts per kind, exit status 2, workspace untouched.

    python -m bench.bench_import_report [--rows 300000] [--quick]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def write_bad_rows(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("村代码,村名,乡镇,人口,户数,是否脱贫村,经度,纬度\n")
        for i in range(rows):
            fh.write(f"1.40823E+11,坏数据村{i},东镇,一千{i},{i % 500},是,abc{i},35.3\n")


def run_import(workspace: Path, csv: Path) -> dict:
    cmd = [sys.executable, "-c", "from web.cli import main; main()", "import", "-w", str(workspace), "--layer", "villages", str(csv)]
    env = {**os.environ, "RURALPLAN_LANG": "en", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = tempfile.TemporaryFile()
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t
    out.seek(0)
    lines = out.read().decode("utf-8", "replace").splitlines()
    return {"exit": os.waitstatus_to_exitcode(status), "peak_mb": usage.ru_maxrss / 1024, "seconds": seconds,
            "lines": len(lines), "summary": [ln for ln in lines if "more problems" in ln]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--quick", action="store_true", help="30,000 rows, for a smoke run")
    args = parser.parse_args(argv)
    rows = 30_000 if args.quick else args.rows
    from layers.store import Workspace

    with tempfile.TemporaryDirectory(prefix="rp-bench-import-") as tmp:
        tmp = Path(tmp)
        workspace = tmp / "w.gpkg"
        Workspace.create(workspace)
        digest = hashlib.sha256(workspace.read_bytes()).hexdigest()
        results = {}
        for label, n in (("baseline", 1_000), ("large", rows)):
            csv = tmp / f"bad_{n}.csv"
            write_bad_rows(csv, n)
            results[label] = r = run_import(workspace, csv)
            print(f"{label:>8}: {n:>9,} bad rows ({csv.stat().st_size / 1e6:.1f} MB): exit {r['exit']}, "
                  f"peak RSS {r['peak_mb']:.0f} MB, {r['lines']:,} report lines, {r['seconds']:.1f} s")
        unchanged = hashlib.sha256(workspace.read_bytes()).hexdigest() == digest
        large, base = results["large"], results["baseline"]
        print(f"peak memory ratio large/baseline: {large['peak_mb'] / base['peak_mb']:.2f} "
              f"(+{large['peak_mb'] - base['peak_mb']:.0f} MB for {rows - 1000:,} more rows)")
        print("summary lines of the large report:")
        for line in large["summary"]:
            print(f"  {line}")
        ok = large["exit"] == 2 and large["peak_mb"] < 500 and large["lines"] <= 1_000 + 20 and unchanged
        print(f"target (exit 2, < 500 MB, report capped, workspace unchanged): {'met' if ok else 'NOT met'}"
              f"{'' if unchanged else ' — workspace changed!'}")


if __name__ == "__main__":
    main()
