"""The county overview (概览): the application-layer figures checked against the layers
they come from, and the page (zh and en, inline SVG charts, nothing external)."""
from __future__ import annotations

import re

import pandas as pd
import pytest

from layers import proposals as P

from .test_projects_views import TO_TOWN, _data, _walk


@pytest.fixture
def overview_ws(workspace):
    households = pd.DataFrame({
        "id": ["H1", "H2", "H3", "H4"],
        "village_code": list(workspace.read_layer("villages")["code"].astype(str).iloc[[0, 0, 1]]) + ["000000000000"],
        "kind": ["unstable", "marginal", "sudden", "unstable"], "risk": ["high", "low", "low", "medium"],
    })
    workspace.write_layers({"households": households})
    P.create_proposal(workspace, _data(workspace, budget_wan=200), created_by="village1")
    second = P.create_proposal(workspace, _data(workspace, budget_wan=55.5, category="processing"),
                               created_by="village1")
    _walk(workspace, second, TO_TOWN)
    return workspace


@pytest.fixture
def oclient(overview_ws):
    from web import create_app

    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(overview_ws.path), "SECRET_KEY": "test-secret",
                      "SESSION_COOKIE_SECURE": False, "RURALPLAN_PAIRING_TRAVEL": "straight_line"})
    return app.test_client()


@pytest.mark.slow
def test_cold_chain_matches_the_coverage_service_and_the_villages(demo_workspace):
    from web.services import netdata
    from web.services.overview import cold_chain_coverage

    overview_ws = demo_workspace  # a real road network: some produce near a cold store, some not

    out = cold_chain_coverage(overview_ws, minutes=30)
    villages = overview_ws.read_layer("villages")
    assert "apple" in out["commodities"]
    apple = out["county"]["apple"]
    # the county tonnes are the villages' produce column; the towns add up to it
    assert apple["t"] == pytest.approx(float(villages["produce_apple_t"].sum()))
    assert sum(r["values"]["apple"]["t"] for r in out["by_town"] if "apple" in r["values"]) == pytest.approx(apple["t"])
    assert sum(r["values"]["apple"]["t_covered"] for r in out["by_town"]
               if "apple" in r["values"]) == pytest.approx(apple["t_covered"])
    # covered tonnes: the same as the coverage service on existing cold stores that take apples, 30 min
    cov = netdata.coverage(overview_ws, facility="cold_storage", minutes=30, commodities=["apple"],
                           statuses=("existing",))
    assert apple["t_covered"] == pytest.approx(cov["totals"]["produce_apple_t_covered"])
    assert apple["share"] == pytest.approx(apple["t_covered"] / apple["t"])
    assert 0 < apple["t_covered"] < apple["t"]
    # by town: each town's share is its covered tonnes over its tonnes, towns without apples have None
    for row in out["by_town"]:
        cell = row["values"]["apple"]
        assert cell["share"] == (None if not cell["t"] else pytest.approx(cell["t_covered"] / cell["t"]))
    # the planned store does not count: with it, more or equal is covered
    both = netdata.coverage(overview_ws, facility="cold_storage", minutes=30, commodities=["apple"],
                            statuses=("existing", "planned"))
    assert both["totals"]["produce_apple_t_covered"] >= apple["t_covered"]
    # a commodity nobody grows is left out
    assert all(out["county"][c]["t"] > 0 for c in out["commodities"])


def test_households_by_town_kind_and_risk(overview_ws):
    from web.services.overview import monitored_households

    out = monitored_households(overview_ws)
    villages = overview_ws.read_layer("villages")
    t0, t1 = villages["town"].iloc[0], villages["town"].iloc[1]
    rows = {r["town"]: r for r in out["by_town"]}
    expected_kind = {t: {"unstable": 0, "marginal": 0, "sudden": 0} for t in rows}
    expected_kind[t0]["unstable"] += 1
    expected_kind[t0]["marginal"] += 1
    expected_kind[t1]["sudden"] += 1
    assert {t: r["kind"] for t, r in rows.items()} == expected_kind
    assert rows[t1]["risk"]["low"] >= 1 and sum(r["total"] for r in rows.values()) == 3
    assert out["no_town"] == 1  # H4's village does not exist


def test_proposals_by_category_and_status(overview_ws):
    from web.services.overview import proposal_totals

    out = proposal_totals(overview_ws)
    assert out["n"] == 2
    assert out["cells"]["cold_chain"]["draft"] == {"n": 1, "budget_wan": 200.0}
    assert out["cells"]["processing"]["town_approved"] == {"n": 1, "budget_wan": 55.5}
    assert out["by_category"]["infrastructure"] == {"n": 0, "budget_wan": 0.0}
    assert sum(r["budget_wan"] for r in out["by_town"]) == pytest.approx(255.5)


def test_pairing_coverage_is_the_pairing_analysis(overview_ws):
    from web.services.overview import pairing_coverage
    from web.services.pairings import analyse_workspace

    out = pairing_coverage(overview_ws, travel="straight_line")
    data = analyse_workspace(overview_ws, travel="straight_line").analysis.to_dict()
    assert out["county"] == {r["rule"]: r for r in data["coverage"]}
    for row in data["coverage_by_town"]:
        town = next(t for t in out["by_town"] if t["town"] == row["town"])
        assert town["cells"][row["rule"]]["covered"] == row["covered"]


def _external(html):
    return re.findall(r'(?:src|href)="(?:https?:)?//', html)


def test_page_in_chinese(oclient):
    html = oclient.get("/overview/").get_data(as_text=True)
    assert ">概览</a>" in html  # the nav item
    assert "全县概览" in html and "各品种冷链覆盖" in html and "资金（万元）" in html
    for chart in ("rp-chart-cold-county", "rp-chart-cold-towns", "rp-chart-pair-county", "rp-chart-pair-towns",
                  "rp-chart-hh-kind", "rp-chart-hh-risk", "rp-chart-prop-n", "rp-chart-prop-wan"):
        assert f'<svg class="rp-chart" id="{chart}"' in html, chart
    assert "苹果" in html and "脱贫不稳定户" in html and "冷链物流" in html
    assert _external(html) == [] and "<script" not in html.split("<main", 1)[1]
    # the funds chart carries the budgets: 200 万元 cold chain (draft), 55.5 processing
    funds = html[html.index('id="rp-chart-prop-wan"'):]
    funds = funds[:funds.index("</svg>")]
    assert 'data-series="draft" data-value="200.0"' in funds and 'data-value="55.5"' in funds


def test_page_in_english(oclient):
    oclient.get("/lang/en")
    html = oclient.get("/overview/").get_data(as_text=True)
    assert ">Overview</a>" in html and "County overview" in html and "Cold-chain coverage by commodity" in html
    assert "Apple" in html and "Unstable after exit" in html and "Cold chain" in html
    assert _external(html) == []
