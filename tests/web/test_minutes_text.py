"""Travel minutes in text outputs: 0.01 min from one formatter (web.formatting.format_minutes),
and a time over the cutoff never prints as if within it (30.004 is not "30.0" nor "30.00")."""
from __future__ import annotations

import types

import pandas as pd
import pytest
from click.testing import CliRunner

from web.formatting import format_minutes


def test_minutes_at_a_hundredth():
    assert format_minutes(12.3) == "12.30"
    assert format_minutes(30.01) == "30.01"
    assert format_minutes(None) == "—" and format_minutes(float("inf"), empty="-") == "-"


def test_over_the_cutoff_reads_over_it_and_apart():
    over, later = format_minutes(30.004, limit=30), format_minutes(30.01, limit=30)
    assert over != later and float(over) > 30 and float(later) > 30
    assert (over, later) == ("30.004", "30.01")
    assert float(format_minutes(30.0000001, limit=30)) > 30
    assert format_minutes(30.0, limit=30) == "30.00"  # at the cutoff is within it


def _summary(minutes_list):
    n = len(minutes_list)
    uncovered = pd.DataFrame({"village_id": [f"V{i}" for i in range(n)], "village_name": ["刘坊村"] * n,
                              "town": ["城关镇"] * n, "status": ["too_far"] * n, "reason": [""] * n,
                              "minutes": minutes_list, "network_m": [None] * n, "fragment_m": [None] * n})
    by_town = pd.DataFrame({"town": ["城关镇"], "villages": [n + 1], "villages_covered": [1]})
    totals = {"villages": n + 1, "villages_covered": 1, "villages_too_far": n, "villages_unreachable": 0}
    off = pd.DataFrame(columns=["facility_id", "facility_name", "reason", "network_m", "fragment_m"])
    return types.SimpleNamespace(totals=totals, by_town=by_town, commodities=(), uncovered=uncovered,
                                 facilities_off_network=off, warnings=[])


@pytest.mark.parametrize("lang,unit", [("zh", "分钟"), ("en", "min")])
def test_coverage_text_prints_late_villages_over_the_cutoff(monkeypatch, lang, unit):
    import click

    from web.cli.network_cmds import _echo_coverage

    monkeypatch.setenv("RURALPLAN_LANG", lang)

    @click.command()
    def show():
        _echo_coverage(_summary([30.004, 30.01]), "cold_storage", 30.0)

    out = CliRunner().invoke(show, [], catch_exceptions=False).output
    assert f"30.004 {unit}" in out and f"30.01 {unit}" in out
    assert f"30.0 {unit}" not in out and f"30.00 {unit}" not in out


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_scenario_lost_villages_print_over_the_cutoff(monkeypatch, lang):
    import click

    from web.cli.resilience_cmds import echo_scenario_difference

    lost = [{"village_id": "V1", "village_name": "刘坊村", "town": "城关镇", "minutes_base": 29.996,
             "minutes_scenario": 30.004}]
    diff = {"minutes": 30.0, "base": {"villages_covered": 2}, "scenario_totals": {"villages_covered": 1},
            "scenario": {"name": "汛期", "describe_zh": "x", "describe_en": "x",
                         "applied": {"roads_closed": 1, "closed_km": 1.0, "roads_slowed": 0}},
            "villages_slower": 1, "added_minutes_total": 0.008, "cut_off": [], "lost": lost}

    @click.command()
    def show():
        echo_scenario_difference(diff, lang=lang)

    out = CliRunner().invoke(show, [], catch_exceptions=False).output
    assert "30.00 " in out and "→ 30.004 " in out  # 29.996 within, 30.004 over


def test_the_coverage_json_text_keeps_a_late_village_over_the_cutoff():
    from web.services.netdata import _late_minutes

    from web.services import jsonout

    assert _late_minutes(30.004, 30.0) == "30.004" and _late_minutes(30.01, 30.0) == "30.01"
    assert _late_minutes(12.345678, 30.0) == "12.35" and _late_minutes(float("inf"), 30.0) is None
    assert '"minutes_text": "30.004"' in jsonout.dumps({"minutes_text": _late_minutes(30.004, 30.0)})
