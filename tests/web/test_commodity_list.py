"""One commodity-list parser (layers.schema.commodity_codes), applied at import and used by
the planning page (web.services.serving_commodities) and the proposal evaluation
(web.services.project_eval) alike: a hawthorn freezer written ``山楂；蔬菜`` is never an
apple store."""
from __future__ import annotations

import pytest

from layers.schema import canonical_commodity_list, commodity_codes


@pytest.mark.parametrize("text", ["山楂；蔬菜", "山楂;蔬菜", "山楂、蔬菜", "山楂,蔬菜", "山楂，蔬菜", "山楂/设施蔬菜",
                                  "山楂 蔬菜", "Hawthorn, vegetables", "hawthorn；vegetables"])
def test_every_separator_and_spelling_reads_the_same(text):
    assert commodity_codes(text) == ("hawthorn", "vegetables")
    assert canonical_commodity_list(text) == "山楂,蔬菜"


def test_empty_and_unknown_words():
    assert commodity_codes(None) == commodity_codes("") == commodity_codes(float("nan")) == ()
    assert canonical_commodity_list("  ") is None
    assert commodity_codes("药材、山楂") == ("hawthorn",)
    assert canonical_commodity_list("药材、山楂、山楂") == "药材,山楂"  # unknown words kept, repeats once


def test_import_stores_the_canonical_spelling(tmp_path):
    from layers.importer import import_file
    from layers.store import Workspace

    src = tmp_path / "cold.csv"
    src.write_text("编号,名称,类型,库容,适用产品,经度,纬度\n"
                   "C1,山楂冷冻库,freezer,1500,山楂；蔬菜,111.1,35.1\n"
                   "C2,苹果保鲜库,fresh_keeping,2000,苹果、 山楂,111.2,35.2\n", encoding="utf-8")
    ws = Workspace(tmp_path / "ws.gpkg")
    outcome = import_file(ws, "cold_storage", src)
    assert outcome.ok, outcome.problems
    stored = ws.read_layer("cold_storage").set_index("id")["commodities"].to_dict()
    assert stored == {"C1": "山楂,蔬菜", "C2": "苹果,山楂"}


def _hawthorn_store_written_with_semicolon(ws) -> str:
    frame = ws.read_layer("cold_storage")
    rows = frame.index[frame["commodities"].map(lambda t: commodity_codes(t) == ("hawthorn",))
                       & frame["status"].isin(["existing", "under_construction"])]
    assert len(rows), "the demo has an existing hawthorn-only store"
    frame.loc[rows[0], "commodities"] = "山楂；蔬菜"  # as a county file or QGIS may write it
    ws.write_layers({"cold_storage": frame})
    return str(frame.loc[rows[0], "id"])


def test_hawthorn_store_is_no_apple_store_for_evaluation_or_planning(demo_copy):
    from layers import proposals as P
    from web import services
    from web.services import project_eval
    from web.services.demo_setup import seed_demo_library

    seed_demo_library(demo_copy)  # the demo proposals, as `ruralplan demo` makes them
    store = _hawthorn_store_written_with_semicolon(demo_copy)
    proposal = P.get_proposal(demo_copy, 1)
    assert tuple(proposal.commodities) == ("apple",)
    # proposal #1's evaluation: the facilities of its category that store its commodities
    same = project_eval.same_category_facilities(demo_copy, proposal.category, proposal.commodities)
    assert store not in set(same["id"].astype(str))
    # the planning page: existing stores that serve apple demand
    existing = services.facility_points(demo_copy, "cold_storage", statuses=services.EXISTING_STATUSES)
    serving = services.serving_commodities(existing, ["apple"])
    assert store in set(existing["id"].astype(str)) and store not in set(serving["id"].astype(str))
    # and for hawthorn it does count, in both
    assert store in set(services.serving_commodities(existing, ["hawthorn"])["id"].astype(str))
    assert store in set(project_eval.same_category_facilities(demo_copy, proposal.category, ["hawthorn"])["id"]
                        .astype(str))
