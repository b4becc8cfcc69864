"""/api/v1/network error messages follow the language switch (zh by default, en by cookie)."""
from __future__ import annotations

import geopandas as gpd
import pytest

from web.services import netdata

BASE = "/api/v1/network"


@pytest.fixture(autouse=True)
def _fresh_cache():
    netdata.clear_cache()
    yield
    netdata.clear_cache()


def _message(client, path, code, lang=None):
    if lang:
        client.set_cookie("rp_lang", lang)
    response = client.get(f"{BASE}/{path}")
    assert response.status_code == code and response.is_json
    return response.json["error"]["message"]


@pytest.mark.parametrize("path, zh, en", [
    ("coverage?facility=households", "无效", "is not valid"),
    ("coverage?minutes=abc", "须为数字", "must be a number"),
    ("coverage?minutes=1000", "须不超过 180", "must be at most 180"),
    ("coverage?status=demolished", "可选值", "expected one of"),
    ("coverage?commodity=gold", "农产品 gold", "commodity gold"),
    ("service-areas?minutes=15,x", "逗号分隔", "separated by commas"),
    ("service-areas?minutes=1,2,3,4,5,6,7", "最多 6 个", "at most 6 cutoffs"),
    ("service-areas?dissolve=maybe", "须为 0 或 1", "must be 0 or 1"),
    ("od?from=villages", "缺少参数", "Missing parameter"),
])
def test_bad_parameters_in_chinese_and_english(client, path, zh, en):
    message_zh = _message(client, path, 400)
    assert zh in message_zh and en not in message_zh
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message_zh)
    message_en = _message(client, path, 400, lang="en")
    assert en in message_en and not any("\u4e00" <= ch <= "\u9fff" for ch in message_en)


def test_unknown_facility_and_no_roads_in_chinese(client, workspace):
    assert "没有编号为 'nope' 的设施" in _message(client, "service-areas?facility=cold_storage&id=nope", 404)
    # without roads the answer is a labelled estimate; without villages as well, nothing to estimate from
    workspace.write_layers({"roads": gpd.GeoDataFrame(geometry=[], crs="EPSG:4326"),
                            "villages": gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:4326")})
    assert _message(client, "coverage", 409) == "工作空间既没有道路也没有行政村：请先导入道路图层（或行政村）。"
    assert "roads" in _message(client, "coverage", 409, lang="en")
    # no server path or file name in the message
    assert workspace.path.name not in _message(client, "accessibility", 409)


def test_od_too_large_in_chinese(client, monkeypatch):
    monkeypatch.setattr(netdata, "MAX_OD_SIDE", 5)
    assert "过大" in _message(client, "od?from=villages&to=towns", 400)
    assert "too large" in _message(client, "od?from=villages&to=towns", 400, lang="en")
