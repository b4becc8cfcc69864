"""A huge junk upload through the web: the server's peak memory and a capped report.

Method: the demo county is served by ``ruralplan serve`` (waitress) in a subprocess; a
planner logs in and posts a CSV of ``--rows`` junk village rows (every row bad in three
ways: a code in Excel's scientific notation, a population that is not a number, a
longitude that is not a coordinate; 3,000,000 rows are ~190 MB, under the 200 MB request
limit) to the data page's upload endpoint ``/data/upload``, streamed from disk.  The
server's peak resident memory is its ``VmHWM`` (``/proc/<pid>/status``), read after the
answer; the report is counted from the returned page (listed problems, summary lines
"… more problems of kind …").  Done twice, each with a fresh server:

* ``default``: the workspace's default row limit (300,000), which refuses the file before
  reading it;
* ``raised``: ``upload_limits.max_rows`` in workspace metadata raised above the file's rows,
  so the whole file is read and validated and the report cap is what bounds memory.

The baseline is the server's peak after the same login and a 1,000-row junk upload,
measured in the same run.  Target (issue 14): peak ≤ 1 GB, a capped report, the
workspace untouched (same villages layer version).

    python -m bench.bench_upload [--rows 3000000] [--quick]   # --quick: 300,000 rows
"""
from __future__ import annotations

import argparse
import html
import http.client
import http.cookies
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_junk(path: Path, rows: int) -> int:
    """``rows`` bad village rows; the file's size in bytes."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("村代码,村名,乡镇,人口,户数,是否脱贫村,经度,纬度\n")
        chunk = []
        for i in range(rows):
            chunk.append(f"1.40823E+11,坏数据村{i},东镇,一千{i % 100},{i % 500},是,abc{i % 1000},35.3\n")
            if len(chunk) == 100_000:
                fh.write("".join(chunk))
                chunk = []
        fh.write("".join(chunk))
    return path.stat().st_size


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_mb(pid: int) -> tuple[float, float]:
    """(peak, current) resident memory of ``pid`` in MB (``VmHWM``, ``VmRSS``)."""
    fields = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmHWM", float("nan")), fields.get("VmRSS", float("nan"))


class Client:
    """A tiny cookie-keeping HTTP client for one loopback server (streams uploads)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, body=None, headers=None, timeout=3600):
        con = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        head = dict(headers or {})
        if self.cookies:
            head["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        con.putrequest(method, path)
        for k, v in head.items():
            con.putheader(k, v)
        con.endheaders()
        for part in body or ():
            con.send(part)
        response = con.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or ():
            cookie = http.cookies.SimpleCookie(value)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        con.close()
        return response.status, data.decode("utf-8", "replace")

    def csrf(self, path: str) -> str:
        _status, page = self.request("GET", path)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if not match:
            raise RuntimeError(f"no csrf token on {path}")
        return match.group(1)

    def login(self, username: str, password: str) -> None:
        form = urllib.parse.urlencode({"username": username, "password": password,
                                       "csrf_token": self.csrf("/auth/login")}).encode()
        status, _page = self.request("POST", "/auth/login", body=[form],
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "Content-Length": str(len(form))})
        if status != 302:
            raise RuntimeError(f"login failed: HTTP {status}")

    def upload(self, path: Path, layer: str) -> tuple[int, str]:
        boundary = uuid.uuid4().hex
        fields = {"csrf_token": self.csrf("/data/"), "layer": layer, "crs": "auto", "epsg": ""}
        head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in fields.items())
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = len(head) + path.stat().st_size + len(tail)

        def parts():
            yield head
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    yield block
            yield tail

        return self.request("POST", "/data/upload", body=parts(),
                            headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                                     "Content-Length": str(size)})


def _report(page: str) -> dict:
    section = page.split('id="import-report"', 1)[-1] if 'id="import-report"' in page else ""
    items = [html.unescape(re.sub(r"<[^>]+>", "", m)) for m in re.findall(r"<li>(.*?)</li>", section, flags=re.S)]
    summary = [t for t in items if "more problems of kind" in t]
    flashes = [html.unescape(re.sub(r"<[^>]+>", "", m)).strip()
               for m in re.findall(r'class="rp-flash[^"]*"[^>]*>(.*?)</', page, flags=re.S)]
    return {"listed": len(items) - len(summary), "summary": summary, "items": items, "flashes": flashes,
            "bytes": len(page.encode())}


def run_server_upload(workspace: Path, csv: Path, baseline_csv: Path) -> dict:
    from layers.store import Workspace

    ws = Workspace(workspace)
    before = ws.layer_version("villages")
    port = _free_port()
    env = {**os.environ, "RURALPLAN_LANG": "en",
           "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    server = subprocess.Popen([sys.executable, "-c", "from web.cli import main; main()", "serve", "-w", str(workspace),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    try:
        client = Client(port)
        for _ in range(240):
            try:
                client.request("GET", "/lang/en", timeout=5)
                break
            except OSError:
                time.sleep(0.5)
        client.login("planner", "planner123")
        client.upload(baseline_csv, "villages")
        base_peak, _ = _peak_mb(server.pid)
        t = time.perf_counter()
        status, page = client.upload(csv, "villages")
        seconds = time.perf_counter() - t
        peak, rss = _peak_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"status": status, "seconds": seconds, "peak_mb": peak, "rss_after_mb": rss, "baseline_peak_mb": base_peak,
            "untouched": Workspace(workspace).layer_version("villages") == before, **_report(page)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help="junk rows (default 3,000,000)")
    parser.add_argument("--quick", action="store_true", help="300,000 rows, for a smoke run")
    parser.add_argument("--only", choices=["default", "raised"], default=None)
    args = parser.parse_args(argv)
    rows = args.rows or (300_000 if args.quick else 3_000_000)

    from layers.demo import build_demo_workspace
    from layers.store import Workspace
    from web.services.users import ensure_demo_users

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        csv, small = folder / "junk.csv", folder / "junk-small.csv"
        size = write_junk(csv, rows)
        write_junk(small, 1_000)
        print(f"upload: {rows:,} junk rows, {size / 2**20:.0f} MB")
        workspace = build_demo_workspace(folder / "demo.gpkg").path
        ensure_demo_users(Workspace(workspace))  # the planner account
        for mode in ("default", "raised"):
            if args.only and mode != args.only:
                continue
            ws = Workspace(workspace)
            ws.set_meta(upload_limits={"max_rows": rows + 10} if mode == "raised" else {})
            r = run_server_upload(workspace, csv, small)
            first = r["items"][0] if r["items"] else (r["flashes"][0] if r["flashes"] else "")
            print(f"  {mode:>7} row limit: HTTP {r['status']} in {r['seconds']:.0f} s, server peak "
                  f"{r['peak_mb']:.0f} MB (after a 1,000-row upload: {r['baseline_peak_mb']:.0f} MB; "
                  f"target ≤ 1024 MB), page {r['bytes'] / 1024:.0f} kB, {r['listed']} problems listed, "
                  f"workspace untouched: {r['untouched']}")
            print(f"          first: {first[:160]}")
            for line in r["summary"]:
                print(f"          {line}")


if __name__ == "__main__":
    main()
