"""Demand semantics: an all-zero demand is refused with its reason (CLI, API, page); zero-weight
villages are not "served" (no allocation line, not counted).  Case: place-zero-demand."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from geo.errors import InvalidInput
from planner.errors import ZeroDemand
from tests.conftest import shared_case
from web.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def zero_demand_ws(tmp_path):
    """The case's five villages, one road and one cold store, imported as a user would."""
    path = tmp_path / "zd.gpkg"
    for layer in ("villages", "roads", "cold_storage"):
        src = shared_case("place-zero-demand", f"{layer}.geojson")
        out = CliRunner().invoke(main, ["import", "-w", str(path), "--layer", layer, str(src)])
        assert out.exit_code == 0, out.output
    return path


def _place(path, *args, lang="en"):
    return CliRunner(env={"RURALPLAN_LANG": lang}).invoke(
        main, ["place", "-w", str(path), "--candidates", "network", *args])


def test_place_zero_demand_is_refused_with_the_empty_columns(zero_demand_ws):
    # the handed case: produce columns default to 0
    assert not np.load(shared_case("place-zero-demand", "w0.npy")).any()
    out = _place(zero_demand_ws, "--weight", "produce:apple,hawthorn", "--p", "2", "--model", "mclp",
                 "--minutes", "30")
    assert out.exit_code == 2
    assert "produce_apple_t, produce_hawthorn_t" in out.output and "all 0 or empty" in out.output
    assert "optimal" not in out.output
    zh = _place(zero_demand_ws, "--weight", "produce:apple,hawthorn", "--p", "2", "--model", "pmedian", lang="zh")
    assert zh.exit_code == 2 and "全部为 0 或为空" in zh.output


@pytest.mark.parametrize("model", ["pmedian", "pcenter", "lscp", "cmclp", "attendance"])
def test_zero_demand_siblings_every_model_and_measure(zero_demand_ws, model):
    extra = ["--minutes", "30"] if model in ("lscp", "cmclp", "attendance") else []
    extra += [] if model == "lscp" else ["--p", "1"]
    out = _place(zero_demand_ws, "--weight", "monitored", "--model", model, *extra)
    assert out.exit_code == 2, out.output
    assert "monitored_unstable" in out.output


def test_zero_demand_is_a_typed_invalid_input(zero_demand_ws):
    from layers.store import Workspace
    from web import services
    from web.services.planning import PlacementQuestion

    with pytest.raises(ZeroDemand) as info:
        services.plan(Workspace(zero_demand_ws), PlacementQuestion(facility="cold_storage", model="mclp", p=1,
                                                                   minutes=30, demand="produce:apple",
                                                                   candidates="network"))
    assert isinstance(info.value, InvalidInput)
    assert info.value.code == "placement.zero_demand"
    assert info.value.params["columns"] == "produce_apple_t"


def test_zero_demand_through_the_page_api(client, workspace):
    villages = workspace.read_layer("villages")
    villages["produce_apple_t"] = 0.0
    workspace.write_layers({"villages": villages})
    q = {"model": "mclp", "p": 2, "minutes": 30, "demand": "produce:apple", "candidates": "towns"}
    r = client.get("/planning/run.json", query_string=q, headers={"Accept-Language": "en"})
    assert r.status_code == 400
    err = r.get_json()["error"]
    assert err["type"] == "placement.zero_demand"
    assert "produce_apple_t" in err["message"]


def test_zero_weight_villages_are_not_served_nor_drawn(zero_demand_ws):
    """The planning page's payload: no allocation line to a 0 t village, none counted as served."""
    from layers.store import Workspace
    from web import create_app

    ws = Workspace(zero_demand_ws)
    villages = ws.read_layer("villages")
    villages["produce_apple_t"] = [12.0, 0.0, 30.0, 0.0, 0.0]
    ws.write_layers({"villages": villages})
    client = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(zero_demand_ws), "SECRET_KEY": "x",
                         "SESSION_COOKIE_SECURE": False}).test_client()
    for model in ("pmedian", "mclp"):
        q = {"model": model, "p": 1, "demand": "produce:apple", "candidates": "network", "minutes": 60}
        data = client.get("/planning/run.json", query_string=q).get_json()
        lines = data["allocations"]["features"]
        assert sorted(f["properties"]["village_name"] for f in lines) == ["单行路村", "近库村"]
        assert all(f["properties"]["weight"] > 0 for f in lines)
        assert sum(s["demand_count"] for s in data["result"]["sites"]) == 2


@pytest.mark.slow
def test_json_outputs_are_pure_json_in_a_subprocess(zero_demand_ws, tmp_path):
    """`place --json` and `solve --json` pipe into `python -m json.tool` (no HiGHS banner on stdout)."""
    rng = np.random.default_rng(0)
    cost = rng.uniform(0, 60, size=(40, 30))
    np.save(tmp_path / "c.npy", cost)
    np.save(tmp_path / "w.npy", rng.uniform(1, 5, 40))
    np.save(tmp_path / "cap.npy", np.full(30, 20.0))
    entry = "import sys; from web.cli import main; sys.argv[0] = 'ruralplan'; sys.exit(main())"
    runs = [
        ["solve", "pmedian", "--p", "6"], ["solve", "mclp", "--p", "4", "--radius", "15"],
        ["solve", "lscp", "--radius", "20"], ["solve", "pcenter", "--p", "5"],
        ["solve", "cmclp", "--p", "4", "--radius", "20", "--demand", str(tmp_path / "w.npy"),
         "--capacity", str(tmp_path / "cap.npy")],
        ["solve", "attendance", "--p", "4", "--radius", "30"],
    ]
    for args in runs:
        if args[0] == "solve":
            args = [*args, "--cost", str(tmp_path / "c.npy"), "--json"]
            if "--demand" not in args:
                args += ["--weights", str(tmp_path / "w.npy")]
        proc = subprocess.run([sys.executable, "-c", entry, *args], cwd=ROOT, capture_output=True, text=True,
                              check=True)
        tool = subprocess.run([sys.executable, "-m", "json.tool"], input=proc.stdout, capture_output=True,
                              text=True)
        assert tool.returncode == 0, (args, proc.stdout[:200])
        assert json.loads(proc.stdout)["status"] in ("optimal", "feasible", "time_limit")
    for model in ("pmedian", "mclp", "lscp", "pcenter", "cmclp", "attendance"):
        extra = [] if model == "lscp" else ["--p", "2"]
        proc = subprocess.run([sys.executable, "-c", entry, "place", "-w", str(zero_demand_ws), "--candidates",
                               "network", "--model", model, "--minutes", "30", "--json", *extra],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        tool = subprocess.run([sys.executable, "-m", "json.tool"], input=proc.stdout, capture_output=True,
                              text=True)
        assert tool.returncode == 0, (model, proc.stdout[:200])
        assert json.loads(proc.stdout)["solver"]["status"] == "optimal", model


def test_page_curve_target_attendance_and_semantics(zero_demand_ws):
    """run.json carries the coverage curve (exact, per k) and the unit; the page states who is served."""
    from layers.store import Workspace
    from web import create_app

    ws = Workspace(zero_demand_ws)
    villages = ws.read_layer("villages")
    villages["produce_apple_t"] = [12.0, 0.0, 30.0, 8.0, 50.0]
    ws.write_layers({"villages": villages})
    client = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(zero_demand_ws), "SECRET_KEY": "x",
                         "SESSION_COOKIE_SECURE": False}).test_client()
    q = {"model": "mclp", "p": 1, "demand": "produce:apple", "candidates": "network", "minutes": 10, "curve": 3,
         "areas": "defer"}
    data = client.get("/planning/run.json", query_string=q).get_json()
    assert data["unit"] == "t"
    pts = data["result"]["curve"]["points"]
    assert [p["k"] for p in pts] == [0, 1, 2, 3]
    assert all(p["status"] == "optimal" for p in pts)
    assert all(b["covered"] >= a["covered"] for a, b in zip(pts, pts[1:]))
    assert pts[1]["covered"] == data["result"]["totals"]["covered_after"]  # same question, same optimum
    assert all(len(p["site_names"]) == len(p["sites"]) for p in pts)
    lscp = client.get("/planning/run.json", query_string={**q, "model": "lscp", "target_pct": 50, "curve": ""})
    assert lscp.status_code == 200, lscp.get_json()
    att = client.get("/planning/run.json", query_string={**q, "model": "attendance", "decay": "power", "beta": 1,
                                                         "curve": "", "minutes": 40}).get_json()
    assert att["result"]["model"] == "attendance" and att["params"]["decay"] == "power"
    html = client.get("/planning/").get_data(as_text=True)
    assert "rp-curve-box" in html and "权重为 0 的行政村" in html and "最大化使用量" in html


def test_exports_state_the_unit_semantics_and_curve(zero_demand_ws):
    import io

    from openpyxl import load_workbook

    from layers.store import Workspace
    from web import create_app

    ws = Workspace(zero_demand_ws)
    villages = ws.read_layer("villages")
    villages["produce_apple_t"] = [12.0, 0.0, 30.0, 8.0, 50.0]
    ws.write_layers({"villages": villages})
    client = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(zero_demand_ws), "SECRET_KEY": "x",
                         "SESSION_COOKIE_SECURE": False}).test_client()
    q = {"model": "mclp", "p": 1, "demand": "produce:apple", "candidates": "network", "minutes": 10, "curve": 2}
    geo = client.get("/planning/export.geojson", query_string=q).get_json()["ruralplan"]
    assert geo["unit"] == "t" and "weight 0" in geo["semantics"] and len(geo["curve"]["points"]) == 3
    wb = load_workbook(io.BytesIO(client.get("/planning/export.xlsx", query_string=q).data))
    assert "覆盖曲线" in wb.sheetnames
    params = [[c.value for c in row] for row in wb["参数"].iter_rows()] if "参数" in wb.sheetnames else \
        [[c.value for c in row] for row in wb.worksheets[3].iter_rows()]
    flat = " ".join(str(v) for row in params for v in row if v is not None)
    assert "吨" in flat and "权重为 0 的行政村" in flat
