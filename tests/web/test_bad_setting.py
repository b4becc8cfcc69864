"""Case arch-bad-setting (../shared/cases/arch-bad-setting.md): one bad workspace setting,
answered the same way by every adapter.

A road-class speed of 0 in the workspace meta ``network`` must give ONE message naming
``network.speed_table`` — CLI exit status 2 (``ruralplan pairings`` and ``coverage``), HTTP
4xx from ``/api/v1/network/coverage``, ``/api/v1/network/accessibility`` and
``/planning/run.json``, in zh and en — and never a silent fallback to straight lines.
Sibling settings (other keys, other bad values) are checked at the application layer.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from geo.errors import RuralplanError
from web.cli import main
from web.services import NetworkSettings, workspace_network
from web.services.errors import BadSetting, NoRoads

CASE = "arch-bad-setting"
BAD_NETWORK = {"speed_table": {"class_speeds_kmh": {"village": 0}}}


def _expected(lang: str) -> str:
    return BadSetting(setting="network.speed_table",
                      reason_en="the speed of road class village must be a positive number of km/h (got 0.0)",
                      reason_zh="道路等级 village 的车速必须是大于 0 的千米/小时数（现为 0.0）").message(lang)


@pytest.fixture
def bad_workspace(workspace):
    workspace.set_meta(network=BAD_NETWORK)
    return workspace


def test_the_setting_is_named_in_both_languages(bad_workspace):
    with pytest.raises(BadSetting) as info:
        workspace_network(bad_workspace)
    err = info.value
    assert err.params["setting"] == "network.speed_table" and err.http_status == 400
    assert err.message("en") == _expected("en")
    assert err.message("zh") == _expected("zh") and "network.speed_table" in err.message("zh")


@pytest.mark.parametrize("command", [
    ["pairings"],
    ["coverage", "--facility", "cold_storage", "--minutes", "30"],
    ["resilience"],
    ["od", "--to", "cold_storage", "--out", "od.csv"],
])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_cli_exits_2_with_one_line(bad_workspace, command, lang, monkeypatch):
    monkeypatch.setenv("RURALPLAN_LANG", lang)
    result = CliRunner().invoke(main, [command[0], "-w", str(bad_workspace.path), *command[1:]])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Travel times" not in result.output and "出行时间" not in result.output  # no silent straight-line answer
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].endswith(_expected(lang)), result.stderr


@pytest.mark.parametrize("url", [
    "/api/v1/network/coverage?facility=cold_storage&minutes=30",
    "/api/v1/network/accessibility?facility=cold_storage",
    "/planning/run.json?facility=cold_storage&model=mclp&p=2&minutes=30&candidates=towns",
])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_web_answers_400_with_the_same_message(client, bad_workspace, url, lang):
    client.set_cookie("rp_lang", lang)
    response = client.get(url)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    body = response.get_json()["error"]
    assert body["message"] == _expected(lang)
    assert body["type"] == "setting.invalid" and body["params"]["setting"] == "network.speed_table"


def test_pairings_do_not_fall_back_to_straight_lines(bad_workspace):
    from web.services.pairings import analyse_workspace

    with pytest.raises(BadSetting):
        analyse_workspace(bad_workspace, travel="network")
    # straight lines stay available when asked for
    assert analyse_workspace(bad_workspace, travel="straight_line").travel_method == "straight_line"


def test_no_roads_is_the_one_case_that_falls_back(workspace, client):
    """Without roads (not a bad setting) pairings and the network API fall back to straight
    lines and say so (a labelled estimate), never silently."""
    import geopandas as gpd

    workspace.write_layers({"roads": gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")})
    with pytest.raises(NoRoads):
        workspace_network(workspace)
    from web.services.pairings import analyse_workspace

    assert analyse_workspace(workspace, travel="network").travel_method == "straight_line"
    response = client.get("/api/v1/network/accessibility?facility=cold_storage")
    assert response.status_code == 200
    assert response.get_json()["estimate"]["method"] == "straight_line"


@pytest.mark.parametrize("network, setting", [
    ({"speed_table": {"class_speeds_kmh": {"county": -5}}}, "network.speed_table"),
    ({"speed_table": {"class_speeds_kmh": {"national": "fast"}}}, "network.speed_table"),
    ({"speed_table": {"class_speeds_kmh": {"other": float("nan")}}}, "network.speed_table"),
    ({"speed_table": {"unpaved_factor": 0}}, "network.speed_table"),
    ({"speed_table": "80"}, "network.speed_table"),
    ({"max_snap_m": 0}, "network.max_snap_m"),
    ({"max_snap_m": "far"}, "network.max_snap_m"),
    ({"access_speed_kmh": -1}, "network.access_speed_kmh"),
    ({"merge_tolerance_m": -1}, "network.merge_tolerance_m"),
    (["not", "a", "mapping"], "network"),
])
def test_sibling_settings_are_named(workspace, network, setting):
    workspace.set_meta(network=network)
    with pytest.raises(BadSetting) as info:
        NetworkSettings.from_workspace(workspace)
    assert info.value.params["setting"] == setting
    for lang in ("en", "zh"):
        assert setting in info.value.message(lang)
    assert isinstance(info.value, RuralplanError) and info.value.http_status == 400


def test_good_settings_still_read(workspace):
    workspace.set_meta(network={"speed_table": {"class_speeds_kmh": {"village": 25}}, "max_snap_m": 500})
    settings = NetworkSettings.from_workspace(workspace)
    assert settings.speed_table.speed_kmh("village") == 25 and settings.max_snap_m == 500
