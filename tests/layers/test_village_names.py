"""Village names where codes belong: households, pairings and proposals naming 石键村."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from layers.importer import import_file
from layers.store import Workspace
from layers.village_names import VillageIndex, normalise_village_name, resolve_names

VILLAGES = pd.DataFrame({
    "code": ["140823100201", "140823100202", "140823200203", "140823100204", "140823200205"],
    "name": ["石键村", "新庄村", "新庄村", "石键社区", "北王村"],
    "town": ["东镇", "东镇", "西镇", "东镇", "西镇"],
})


@pytest.mark.parametrize("raw, expected", [
    ("石键村", "石键"), ("石键村委会", "石键"), ("石键村民委员会", "石键"), (" 石 键 ", "石键"), ("石键社区", "石键"),
    ("城关居委会", "城关"), ("村", "村"), ("ＡＢ村", "AB"),
])
def test_normalise_village_name(raw, expected):
    assert normalise_village_name(raw) == expected


def test_index_match():
    index = VillageIndex(VILLAGES)
    assert index.match("北王村").code == "140823200205" and index.match("北王村").status == "exact"
    assert index.match("北王村委会").code == "140823200205" and index.match("北王").status == "normalised"
    assert index.match("140823999999").status == "code"
    assert index.match("新庄村").status == "ambiguous"
    m = index.match("新庄村", "西镇")
    assert (m.status, m.code) == ("by_town", "140823200203")
    assert index.match("新庄", "西镇人民政府").code == "140823200203"
    assert index.match("新庄村", "南镇").status == "ambiguous"
    assert index.match("石键村").code == "140823100201"  # exact name wins over 石键社区
    assert index.match("石键").status == "ambiguous"  # 石键村 or 石键社区: never guessed
    assert index.match("南山村").status == "unmatched"


def test_resolve_names_reports_per_row():
    codes, problems = resolve_names(["北王", "新庄村", "南山村", None, "140823100201"], index=VillageIndex(VILLAGES),
                                    rows=[2, 3, 4, 5, 6], file="h.csv", field="所在村")
    assert codes == ["140823200205", "新庄村", "南山村", None, "140823100201"]
    assert sorted((p.code, p.row, p.severity) for p in problems) == [
        ("village_name_ambiguous", 3, "error"), ("village_name_matched", 2, "warning"),
        ("village_name_unknown", 4, "error")]
    ambiguous = next(p for p in problems if p.code == "village_name_ambiguous")
    assert "140823100202" in ambiguous.text() and "140823200203" in ambiguous.text()


@pytest.fixture(scope="module")
def _with_villages(tmp_path_factory):
    path = tmp_path_factory.mktemp("names") / "w.gpkg"
    csv = path.with_name("v.csv")
    frame = VILLAGES.assign(lon=111.2, lat=35.3)
    frame.rename(columns={"code": "村代码", "name": "村名", "town": "乡镇", "lon": "经度", "lat": "纬度"}).to_csv(
        csv, index=False)
    assert import_file(Workspace(path), "villages", csv).written
    return path


@pytest.fixture
def ws(tmp_path, _with_villages):
    path = tmp_path / "w.gpkg"
    shutil.copyfile(_with_villages, path)
    return Workspace(path)


def test_households_naming_villages_are_matched(tmp_path, ws):
    path = tmp_path / "h.csv"
    path.write_text("户编号,所在村,乡镇,监测类型,风险等级\n"
                    "H1,北王村委会,西镇,边缘户,高\nH2,新庄村,西镇,边缘户,中\nH3,140823100201,,突发困难户,低\n",
                    encoding="utf-8")
    outcome = import_file(ws, "households", path)
    assert outcome.written, [p.text() for p in outcome.errors]
    got = dict(zip(*ws.read_layer("households")[["id", "village_code"]].T.values))
    assert got == {"H1": "140823200205", "H2": "140823200203", "H3": "140823100201"}
    assert {(p.code, p.row) for p in outcome.problems if p.code.startswith("village_name")} == {
        ("village_name_matched", 2), ("village_name_matched", 3)}


def test_households_with_a_village_name_column_only(tmp_path, ws):
    path = tmp_path / "h.csv"
    path.write_text("户编号,村名,监测类型,风险等级\nH1,北王,边缘户,高\n", encoding="utf-8")
    outcome = import_file(ws, "households", path)
    assert outcome.written
    assert ws.read_layer("households")["village_code"].tolist() == ["140823200205"]


def test_ambiguous_and_unknown_names_refuse_the_import(tmp_path, ws):
    from tests.layers.test_import_tables import _digest

    path = tmp_path / "h.csv"
    path.write_text("户编号,所在村,监测类型,风险等级\nH1,新庄村,边缘户,高\nH2,南山村,边缘户,高\nH3,北王村,边缘户,高\n",
                    encoding="utf-8")
    before = _digest(ws.path)
    outcome = import_file(ws, "households", path)
    assert not outcome.written and _digest(ws.path) == before
    assert sorted((p.code, p.row, p.field) for p in outcome.errors) == [
        ("village_name_ambiguous", 2, "所在村"), ("village_name_unknown", 3, "所在村")]


def test_pairings_naming_target_villages(tmp_path, ws):
    path = tmp_path / "p.csv"
    path.write_text("编号,帮扶方,帮扶类型,对象类型,帮扶对象,乡镇\n"
                    "P1,县农业农村局,后盾单位,村,新庄村,东镇\nP2,张三,帮扶责任人,户,H9,\n", encoding="utf-8")
    outcome = import_file(ws, "pairings", path)
    assert outcome.written, [p.text() for p in outcome.errors]
    got = dict(zip(*ws.read_layer("pairings")[["id", "target_id"]].T.values))
    assert got == {"P1": "140823100202", "P2": "H9"}  # household ids are left alone


def test_names_without_a_villages_layer_are_reported(tmp_path):
    ws = Workspace(tmp_path / "empty.gpkg")
    path = tmp_path / "h.csv"
    path.write_text("户编号,所在村,监测类型,风险等级\nH1,北王村,边缘户,高\n", encoding="utf-8")
    outcome = import_file(ws, "households", path)
    assert not outcome.written
    assert "village_names_without_villages" in {p.code for p in outcome.errors}


def _proposal(**over):
    data = {"name": "保鲜库", "category": "cold_chain", "town": "西镇", "content": "新建 500 吨保鲜库",
            "budget_wan": 120, "geometry": (111.2, 35.3)}
    data.update(over)
    return data


@pytest.mark.parametrize("given", [{"village_code": "北王村委会"}, {"village_name": "北王"},
                                   {"village_code": "", "village_name": "北王村"}])
def test_proposal_naming_its_village(ws, given):
    from layers.proposals import create_proposal

    p = create_proposal(ws, _proposal(**given), created_by="t")
    assert (p.village_code, p.village_name, p.town) == ("140823200205", "北王村", "西镇")


def test_proposal_with_ambiguous_or_unknown_village_name(ws):
    from layers.proposals import ProposalInvalid, create_proposal

    with pytest.raises(ProposalInvalid, match="several villages"):
        create_proposal(ws, _proposal(village_name="新庄村", town="南镇"), created_by="t")
    p = create_proposal(ws, _proposal(village_name="新庄村", town="东镇"), created_by="t")  # town breaks the tie
    assert p.village_code == "140823100202"
    with pytest.raises(ProposalInvalid, match="not in the villages layer"):
        create_proposal(ws, _proposal(village_name="南山村"), created_by="t")


def test_cold_store_host_village_by_name(tmp_path, ws):
    path = tmp_path / "c.csv"
    path.write_text("编号,名称,类型,库容,所在村,乡镇,经度,纬度\nC1,北王保鲜库,保鲜库,500,北王村,西镇,111.2,35.3\n",
                    encoding="utf-8")
    outcome = import_file(ws, "cold_storage", path)
    assert outcome.written, [p.text() for p in outcome.errors]
    assert ws.read_layer("cold_storage")["village_code"].tolist() == ["140823200205"]
