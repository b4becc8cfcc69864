"""Pairing coverage: every rule and data problem on hand-built cases, exact suggestions."""
from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from planner.assign import assign_with_capacities
from planner.pairings import (
    RESIDENT_RULES,
    PairingRules,
    analyse_pairings,
    apply_suggestions,
    build_pairing_graph,
    straight_line_minutes,
)

COUNTY = "140000"
#: The looser reading of the rules: a team *or* a first secretary.
EITHER = {r: "either" for r in RESIDENT_RULES}


def village(code, name, town, *, x, former_poor=False, demonstration=False, weak_org=False):
    return {"code": code, "name": name, "town": town, "former_poor": former_poor, "demonstration": demonstration,
            "weak_org": weak_org, "geometry": Point(x, 0.0)}


def vcode(n: int) -> str:
    return f"{COUNTY}001{n:03d}"


def make_villages(rows):
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def make_pairings(rows):
    cols = ["id", "helper_id", "helper_name", "helper_kind", "helper_county_code", "target_kind", "target_id"]
    base = [{c: r.get(c) for c in cols} for r in rows]
    geom = [r.get("base") for r in rows]
    return gpd.GeoDataFrame(base, columns=cols, geometry=geom, crs="EPSG:4326")


def empty_households():
    return pd.DataFrame({"id": pd.Series([], dtype=object), "village_code": pd.Series([], dtype=object),
                         "kind": pd.Series([], dtype=object), "risk": pd.Series([], dtype=object)})


def empty_settlements():
    return gpd.GeoDataFrame({"id": [], "name": [], "people": [], "town": []}, geometry=[], crs="EPSG:4326")


def pair(pid, hid, kind, tkind, tid, *, name=None, county=COUNTY, base=None):
    return {"id": pid, "helper_id": hid, "helper_name": name or hid, "helper_kind": kind,
            "helper_county_code": county, "target_kind": tkind, "target_id": tid, "base": base}


def x_travel(origins, destinations):
    """1 degree of longitude = 60 minutes, straight along the x axis (a line county)."""
    ox = np.array([p.x for p in origins.geometry])
    dx = np.array([p.x for p in destinations.geometry])
    return np.abs(ox[:, None] - dx[None, :]) * 60.0


# ---------------------------------------------------------------------------------- rules
@pytest.mark.parametrize("flag,rule", [("former_poor", "resident_former_poor"),
                                       ("demonstration", "resident_demonstration"),
                                       ("weak_org", "resident_weak_org")])
def test_village_rules_need_a_resident_team(flag, rule):
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0, **{flag: True}),
                              village(vcode(2), "乙村", "一镇", x=1, **{flag: True}),
                              village(vcode(3), "丙村", "二镇", x=2)])
    pairings = make_pairings([
        pair("p1", "T1", "work_team", "village", vcode(1)),
        # an enterprise does not satisfy the resident rule
        pair("p2", "E1", "enterprise", "village", vcode(2)),
        pair("p3", "F1", "first_secretary", "village", vcode(3)),
    ])
    a = analyse_pairings(villages, empty_households(), empty_settlements(), pairings,
                         rules=PairingRules(resident_requirements=EITHER))
    row = a.coverage_of(rule)
    assert (row["required"], row["covered"], row["gaps"]) == (2, 1, 1)
    assert row["share"] == pytest.approx(0.5)
    assert list(a.gaps["target_id"]) == [vcode(2)]
    assert list(a.gaps["rule"]) == [rule]
    by_town = a.coverage_by_town.set_index(["town", "rule"])
    assert by_town.loc[("一镇", rule), "required"] == 2
    assert ("二镇", rule) not in by_town.index
    # the first secretary of a village not required still shows in the workload
    assert "F1" in set(a.workload["helper_key"])


def test_first_secretary_covers_like_a_team():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0, former_poor=True)])
    pairings = make_pairings([pair("p1", "F1", "first_secretary", "village", vcode(1))])
    a = analyse_pairings(villages, empty_households(), empty_settlements(), pairings,
                         rules=PairingRules(resident_requirements=EITHER))
    assert a.coverage_of("resident_former_poor")["covered"] == 1
    assert len(a.gaps) == 0


def test_default_requirements_follow_the_2021_guideline():
    villages = make_villages([
        village(vcode(1), "甲村", "一镇", x=0, former_poor=True),  # team only
        village(vcode(2), "乙村", "一镇", x=1, demonstration=True),  # secretary only
        village(vcode(3), "丙村", "一镇", x=2, weak_org=True),  # secretary only: enough
        village(vcode(4), "丁村", "一镇", x=3, weak_org=True),  # team only: not enough
        village(vcode(5), "戊村", "一镇", x=4, former_poor=True),  # both
    ])
    settlements = gpd.GeoDataFrame({"id": ["S1"], "name": ["安置点"], "people": [900], "town": ["一镇"]},
                                   geometry=[Point(5, 0)], crs="EPSG:4326")
    pairings = make_pairings([
        pair("p1", "T1", "work_team", "village", vcode(1)),
        pair("p2", "F2", "first_secretary", "village", vcode(2)),
        pair("p3", "F3", "first_secretary", "village", vcode(3)),
        pair("p4", "T4", "work_team", "village", vcode(4)),
        pair("p5", "T5", "work_team", "village", vcode(5)),
        pair("p6", "F5", "first_secretary", "village", vcode(5)),
        pair("p7", "F6", "first_secretary", "settlement", "S1"),  # a settlement needs a team
    ])
    a = analyse_pairings(villages, empty_households(), settlements, pairings)
    missing = {(g.rule, g.target_id): g.missing for g in a.gaps.itertuples()}
    assert missing == {
        ("resident_former_poor", vcode(1)): "first_secretary",
        ("resident_demonstration", vcode(2)): "work_team",
        ("resident_weak_org", vcode(4)): "first_secretary",
        ("resident_settlement", "S1"): "work_team",
    }
    with pytest.raises(ValueError, match="resident_requirements"):
        PairingRules(resident_requirements={"resident_former_poor": "maybe"})


def test_settlement_threshold_is_configurable():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0)])
    settlements = gpd.GeoDataFrame(
        {"id": ["S1", "S2", "S3"], "name": ["大", "中", "小"], "people": [1200, 800, 799], "town": ["一镇"] * 3},
        geometry=[Point(0, 0), Point(1, 0), Point(2, 0)], crs="EPSG:4326")
    pairings = make_pairings([pair("p1", "T1", "work_team", "settlement", "S1")])
    a = analyse_pairings(villages, empty_households(), settlements, pairings)
    row = a.coverage_of("resident_settlement")
    assert (row["required"], row["covered"]) == (2, 1)  # 800 counts, 799 does not
    assert list(a.gaps["target_id"]) == ["S2"]
    a2 = analyse_pairings(villages, empty_households(), settlements, pairings,
                          rules=PairingRules(settlement_min_people=1000))
    assert a2.coverage_of("resident_settlement")["required"] == 1


def test_every_monitored_household_needs_a_cadre():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0)])
    households = pd.DataFrame({"id": ["H1", "H2", "H3"], "village_code": [vcode(1)] * 3,
                               "kind": ["unstable", "marginal", "sudden"], "risk": ["high", "low", "medium"]})
    pairings = make_pairings([pair("p1", "C1", "cadre", "household", "H1"),
                              pair("p2", "C1", "cadre", "household", "H2")])
    a = analyse_pairings(villages, households, empty_settlements(), pairings)
    row = a.coverage_of("cadre_household")
    assert (row["required"], row["covered"]) == (3, 2)
    assert list(a.gaps["target_id"]) == ["H3"]
    assert a.gaps.iloc[0]["town"] == "一镇"
    v = a.villages.set_index("code").loc[vcode(1)]
    assert (v["households"], v["households_covered"], v["status"]) == (3, 2, "partial")


def test_cadre_workload_limit_flagged():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0)])
    households = pd.DataFrame({"id": [f"H{i}" for i in range(4)], "village_code": [vcode(1)] * 4,
                               "kind": ["marginal"] * 4, "risk": ["low"] * 4})
    pairings = make_pairings([pair(f"p{i}", "C1", "cadre", "household", f"H{i}") for i in range(4)])
    a = analyse_pairings(villages, households, empty_settlements(), pairings,
                         rules=PairingRules(max_households_per_cadre=3))
    w = a.workload.set_index("helper_key").loc["C1"]
    assert (w["n_households"], w["limit"], w["spare"], bool(w["over_limit"])) == (4, 3, 0, True)
    assert a.coverage_of("cadre_household")["covered"] == 4  # over the limit, but still paired


def test_unit_pairings_counted_per_village_and_town():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0), village(vcode(2), "乙村", "一镇", x=1),
                              village(vcode(3), "丙村", "二镇", x=2)])
    pairings = make_pairings([
        pair("p1", "EW", "east_west", "village", vcode(1), county="320000"),
        pair("p2", "EW", "east_west", "village", vcode(2), county="320000"),
        pair("p3", "E1", "enterprise", "village", vcode(1)),
        pair("p4", "M1", "municipal_unit", "village", vcode(3)),
        pair("p5", "C1", "central_unit", "village", vcode(3)),
    ])
    a = analyse_pairings(villages, empty_households(), empty_settlements(), pairings)
    uv = a.unit_counts_village.set_index("village_code")
    assert uv.loc[vcode(1), "total"] == 2 and uv.loc[vcode(1), "east_west"] == 1
    ut = a.unit_counts_town.set_index("town")
    assert ut.loc["一镇", "east_west"] == 1  # one partner, counted once per town
    assert ut.loc["一镇", "enterprise"] == 1
    assert ut.loc["一镇", "villages_with_unit"] == 2
    assert ut.loc["二镇", "total"] == 2
    assert len(a.problems) == 0


# ---------------------------------------------------------------------------------- data problems
def problem_kinds(a):
    return sorted(a.problems["problem"])


def test_unknown_targets_and_invalid_kinds_are_reported_not_raised():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0, former_poor=True)])
    pairings = make_pairings([
        pair("p1", "T1", "work_team", "village", vcode(99)),
        pair("p2", "C1", "cadre", "household", "nobody"),
        pair("p3", "T2", "work_team", "settlement", "S9"),
        pair("p4", "X", "wizard", "village", vcode(1)),
        pair("p5", "T3", "work_team", "village", None),
    ])
    a = analyse_pairings(villages, empty_households(), empty_settlements(), pairings)
    assert problem_kinds(a) == ["invalid_kind", "missing_target", "unknown_target", "unknown_target",
                                "unknown_target"]
    assert a.coverage_of("resident_former_poor")["covered"] == 0


def test_duplicates_counted_once():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0, former_poor=True)])
    pairings = make_pairings([
        pair("p1", "T1", "work_team", "village", vcode(1)),
        pair("p2", "T1", "work_team", "village", vcode(1)),
        pair("p2", "E1", "enterprise", "village", vcode(1)),
    ])
    a = analyse_pairings(villages, empty_households(), empty_settlements(), pairings)
    assert problem_kinds(a) == ["duplicate_id", "duplicate_pairing"]
    w = a.workload.set_index("helper_key")
    assert w.loc["T1", "load"] == 1 and not w.loc["T1", "over_limit"]


def test_helper_without_id_is_keyed_by_kind_and_name():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0, former_poor=True)])
    pairings = make_pairings([{**pair("p1", None, "work_team", "village", vcode(1)), "helper_name": "县财政局工作队"},
                              {**pair("p2", None, "work_team", "village", vcode(1)), "helper_name": "县财政局工作队"}])
    a = analyse_pairings(villages, empty_households(), empty_settlements(), pairings)
    assert list(a.workload["helper_key"]) == ["work_team:县财政局工作队"]
    assert problem_kinds(a) == ["duplicate_pairing"]


def test_household_paired_to_cadre_of_another_county():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0)])
    households = pd.DataFrame({"id": ["H1", "H2"], "village_code": [vcode(1)] * 2,
                               "kind": ["unstable"] * 2, "risk": ["high"] * 2})
    pairings = make_pairings([pair("p1", "C1", "cadre", "household", "H1", county="610902"),
                              pair("p2", "C2", "cadre", "household", "H2", county=None)])
    a = analyse_pairings(villages, households, empty_settlements(), pairings)
    assert a.home_county_code == COUNTY
    assert problem_kinds(a) == ["foreign_cadre"]
    assert a.problems.iloc[0]["target_id"] == "H1"
    assert list(a.gaps["target_id"]) == ["H1"]
    # an explicit county code wins over the one inferred from village codes
    a2 = analyse_pairings(villages, households, empty_settlements(), pairings,
                          rules=PairingRules(home_county_code="610902"))
    assert a2.coverage_of("cadre_household")["covered"] == 2


def test_work_team_covering_too_many_villages():
    villages = make_villages([village(vcode(i), f"村{i}", "一镇", x=i, former_poor=True) for i in range(1, 4)])
    pairings = make_pairings([pair(f"p{i}", "T1", "work_team", "village", vcode(i)) for i in range(1, 4)])
    a = analyse_pairings(villages, empty_households(), empty_settlements(), pairings,
                         rules=PairingRules(resident_requirements=EITHER))
    assert problem_kinds(a) == ["team_over_limit"]
    assert a.coverage_of("resident_former_poor")["covered"] == 3  # still counted, flagged
    assert bool(a.workload.set_index("helper_key").loc["T1", "over_limit"])
    a2 = analyse_pairings(villages, empty_households(), empty_settlements(), pairings,
                          rules=PairingRules(max_villages_per_team=3, resident_requirements=EITHER))
    assert len(a2.problems) == 0


def test_kind_mismatch_does_not_count():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0, former_poor=True)])
    households = pd.DataFrame({"id": ["H1"], "village_code": [vcode(1)], "kind": ["unstable"], "risk": ["high"]})
    pairings = make_pairings([pair("p1", "C1", "cadre", "village", vcode(1)),
                              pair("p2", "T1", "work_team", "household", "H1")])
    a = analyse_pairings(villages, households, empty_settlements(), pairings)
    assert problem_kinds(a) == ["kind_mismatch", "kind_mismatch"]
    assert a.coverage["covered"].sum() == 0


def test_every_problem_has_a_translatable_template_and_its_values():
    """Problems carry a stable code, the English template (the msgid) and params, never only English text."""
    from planner.pairings import PROBLEM_KINDS, PROBLEM_MESSAGES

    villages = make_villages([village(vcode(i), f"村{i}", "一镇", x=i, former_poor=True) for i in range(1, 3)])
    households = pd.DataFrame({"id": ["H1", "H2"], "village_code": [vcode(1), vcode(7)], "kind": ["unstable"] * 2,
                               "risk": ["high"] * 2})
    pairings = make_pairings([
        pair("p1", "T1", "work_team", "village", vcode(99)),       # unknown_target
        pair("p2", "X", "wizard", "village", vcode(1)),            # invalid_kind
        pair("p3", "T3", "work_team", "village", None),            # missing_target
        pair("p4", "T4", "work_team", "village", vcode(1)),
        pair("p4", "T4", "work_team", "village", vcode(2)),        # duplicate_id, team_over_limit
        pair("p6", "T4", "work_team", "village", vcode(2)),        # duplicate_pairing
        pair("p7", "C1", "cadre", "village", vcode(1)),            # kind_mismatch
        pair("p8", "C2", "cadre", "household", "H1", county="610902"),  # foreign_cadre
    ])                                                             # H2: household_unknown_village
    a = analyse_pairings(villages, households, empty_settlements(), pairings)
    assert set(a.problems["problem"]) == set(PROBLEM_KINDS) == set(PROBLEM_MESSAGES)
    for row in a.problems.itertuples(index=False):
        assert row.message == PROBLEM_MESSAGES[row.problem]
        assert row.detail == row.message.format(**{k: "–" if v is None else v for k, v in row.params.items()})
    foreign = a.problems[a.problems["problem"] == "foreign_cadre"].iloc[0]
    assert foreign["params"] == {"helper_county": "610902", "home_county": COUNTY}
    mismatch = a.problems[a.problems["problem"] == "kind_mismatch"].iloc[0]
    assert mismatch["params"] == {"helper_kind": "cadre", "target_kind": "village"}  # codes, labelled by the UI
    assert a.to_dict()["problems"][0]["params"] is not None


def test_household_of_unknown_village():
    villages = make_villages([village(vcode(1), "甲村", "一镇", x=0)])
    households = pd.DataFrame({"id": ["H1"], "village_code": [vcode(7)], "kind": ["unstable"], "risk": ["high"]})
    a = analyse_pairings(villages, households, empty_settlements(), make_pairings([]))
    assert problem_kinds(a) == ["household_unknown_village"]
    assert a.coverage_of("cadre_household")["gaps"] == 1


def test_empty_layers():
    a = analyse_pairings(make_villages([]).set_geometry([], crs="EPSG:4326") if False else
                         gpd.GeoDataFrame({"code": [], "name": [], "town": []}, geometry=[], crs="EPSG:4326"),
                         empty_households(), empty_settlements(), make_pairings([]))
    d = a.to_dict()
    assert d["summary"]["n_gaps"] == 0 and all(r["share"] is None for r in d["coverage"])


# ---------------------------------------------------------------------------------- travel and suggestions
def line_county():
    """Villages on a line; teams full; two backing units; cadres with spare room."""
    villages = make_villages([
        village(vcode(1), "一村", "一镇", x=0.0, former_poor=True),
        village(vcode(2), "二村", "一镇", x=1.0, former_poor=True, weak_org=True),
        village(vcode(3), "三村", "二镇", x=2.0, demonstration=True),
        village(vcode(4), "四村", "二镇", x=3.0, former_poor=True),
    ])
    households = pd.DataFrame({"id": ["H1", "H2", "H3"], "village_code": [vcode(1), vcode(3), vcode(4)],
                               "kind": ["unstable", "marginal", "sudden"], "risk": ["high", "low", "medium"]})
    pairings = make_pairings([
        pair("p1", "T1", "work_team", "village", vcode(1), base=Point(0, 0)),
        pair("p2", "M1", "municipal_unit", "village", vcode(1), base=Point(0.1, 0)),
        pair("p3", "M2", "municipal_unit", "village", vcode(4), base=Point(2.9, 0)),
        pair("p4", "CA", "cadre", "household", "H1", base=Point(0, 0)),
        pair("p5", "CB", "cadre", "household", "H1", base=None),  # unknown base
    ])
    return villages, households, empty_settlements(), pairings


def test_travel_burden_and_unknown_bases():
    v, h, s, p = line_county()
    a = analyse_pairings(v, h, s, p, travel_min=x_travel)
    w = a.workload.set_index("helper_key")
    assert w.loc["M1", "travel_max_min"] == pytest.approx(6.0)
    assert pd.isna(w.loc["CB", "travel_mean_min"]) and w.loc["CB", "n_travel_unknown"] == 1
    assert w.loc["CB", "travel_status"] == "unknown" and w.loc["M1", "travel_status"] == "known"
    # the same through a precomputed matrix
    matrix = pd.DataFrame({"village:" + vcode(1): [6.0]}, index=["M1"])
    a2 = analyse_pairings(v, h, s, p, travel_min=matrix)
    assert a2.workload.set_index("helper_key").loc["M1", "travel_max_min"] == pytest.approx(6.0)


def test_suggestions_close_gaps_with_nearest_helpers():
    v, h, s, p = line_county()
    rules = PairingRules(resident_requirements=EITHER, max_villages_per_unit=2, max_households_per_cadre=2)
    a = analyse_pairings(v, h, s, p, rules=rules, travel_min=x_travel)
    sug = a.suggestions.set_index("target_id")
    # villages 2, 3, 4 need teams (4 has only a backing unit); T1 is full; M1 (x=0.1) and
    # M2 (x=2.9) have room for one each: the optimum covers 2 and 4 (54 + 6 minutes)
    assert sug.loc[vcode(2), "helper_key"] == "M1" and sug.loc[vcode(2), "action"] == "dispatch_team"
    assert sug.loc[vcode(4), "helper_key"] == "M2"
    assert sug.loc[vcode(4), "minutes"] == pytest.approx(6.0)
    assert a.uncovered.set_index("target_id").loc[vcode(3), "reason"] == "no_capacity"
    assert sug.loc[vcode(2), "rules"] == "resident_former_poor,resident_weak_org"
    # households: CA has room 1 (limit 2), CB has unknown base -> not used by default
    assert set(sug.index) >= {"H2", "H3"} - set(a.uncovered["target_id"])
    hh = a.suggestions[a.suggestions["target_kind"] == "household"]
    assert len(hh) == 1 and hh.iloc[0]["helper_key"] == "CA" and hh.iloc[0]["target_id"] == "H2"
    unc = a.uncovered.set_index("target_id")
    assert unc.loc["H3", "reason"] == "no_capacity"
    # with a penalty the unknown-base cadre takes the other household
    a2 = analyse_pairings(v, h, s, p, rules=PairingRules(resident_requirements=EITHER, max_villages_per_unit=2,
                                                         max_households_per_cadre=2,
                                                         unknown_base_penalty_min=500.0), travel_min=x_travel)
    hh2 = a2.suggestions[a2.suggestions["target_kind"] == "household"].set_index("target_id")
    assert set(hh2.index) == {"H2", "H3"} and bool(hh2["penalised"].any())


def test_uncoverable_reasons():
    v, h, s, p = line_county()
    # no unit has any room: village gaps are "no_capacity"
    a = analyse_pairings(v, h, s, p, rules=PairingRules(resident_requirements=EITHER, max_villages_per_unit=1),
                         travel_min=x_travel)
    unc = a.uncovered.set_index("target_id")
    assert unc.loc[vcode(2), "reason"] == "no_capacity"
    # room, but too far: "unreachable"
    a2 = analyse_pairings(v, h, s, p, rules=PairingRules(resident_requirements=EITHER, max_villages_per_unit=3,
                                                         max_travel_min=30),
                          travel_min=x_travel)
    unc2 = a2.uncovered.set_index("target_id")
    assert unc2.loc[vcode(3), "reason"] == "unreachable" or vcode(3) in set(a2.suggestions["target_id"])
    # without travel times nothing can be suggested and nothing is "reachable"
    a3 = analyse_pairings(v, h, s, p)
    assert len(a3.suggestions) == 0
    assert set(a3.uncovered["reason"]) == {"unreachable"}


def test_accepting_suggestions_closes_gaps():
    v, h, s, p = line_county()
    rules = PairingRules(resident_requirements=EITHER, max_villages_per_unit=3, max_households_per_cadre=3)
    a = analyse_pairings(v, h, s, p, rules=rules, travel_min=x_travel)
    assert len(a.uncovered) == 0
    updated, added = apply_suggestions(p, a, start_date="2024-01-01")
    assert len(updated) == len(p) + len(added)
    assert updated["id"].is_unique
    b = analyse_pairings(v, h, s, updated, rules=rules, travel_min=x_travel)
    assert len(b.gaps) == 0
    assert len(b.problems) == 0
    # dispatched teams are based in their village
    teams = updated[updated["helper_id"].astype(object).map(lambda x: "/team/" in str(x))]
    assert len(teams) == 3 and all(g is not None for g in teams.geometry)


def test_default_rules_suggest_secretaries_and_teams():
    v, h, s, p = line_county()
    rules = PairingRules(max_villages_per_unit=3, max_households_per_cadre=3)
    a = analyse_pairings(v, h, s, p, rules=rules, travel_min=x_travel)
    needs = {(r.target_id, r.role): r.action for r in a.suggestions.itertuples()}
    # village 1 has a team but no secretary; village 2 (former poor + weak org) needs both
    assert needs[(vcode(1), "first_secretary")] == "dispatch_secretary"
    assert needs[(vcode(2), "work_team")] == "dispatch_team"
    assert needs[(vcode(2), "first_secretary")] == "dispatch_secretary"
    assert len(a.uncovered) == 0
    updated, added = apply_suggestions(p, a)
    # one unit row per unit and village, even when it sends a team and a secretary
    unit_rows = [(r["helper_id"], r["target_id"]) for r in added if r["helper_kind"] == "municipal_unit"]
    assert len(unit_rows) == len(set(unit_rows))
    b = analyse_pairings(v, h, s, updated, rules=rules, travel_min=x_travel)
    assert len(b.gaps) == 0 and len(b.problems) == 0


def test_accept_subset_and_unknown_id():
    v, h, s, p = line_county()
    a = analyse_pairings(v, h, s, p, rules=PairingRules(resident_requirements=EITHER, max_villages_per_unit=3),
                         travel_min=x_travel)
    first = a.suggestions["suggestion_id"].iloc[0]
    updated, added = apply_suggestions(p, a, suggestion_ids=[first])
    assert {r["suggestion_id"] for r in added} == {first}
    with pytest.raises(ValueError, match="unknown suggestion"):
        apply_suggestions(p, a, suggestion_ids=["S9999"])


def test_pairing_graph_is_bipartite():
    v, h, s, p = line_county()
    a = analyse_pairings(v, h, s, p)
    g = a.graph
    from networkx.algorithms import bipartite

    assert bipartite.is_bipartite(g)
    assert g.degree[("helper", "M1")] == 1
    assert g.degree[("household", "H1")] == 2
    assert build_pairing_graph(a.links).number_of_edges() == len(a.links)


def test_to_dict_hides_households():
    v, h, s, p = line_county()
    a = analyse_pairings(v, h, s, p, rules=PairingRules(resident_requirements=EITHER, max_villages_per_unit=3),
                         travel_min=x_travel)
    full = a.to_dict()
    safe = a.to_dict(include_households=False)
    assert any(g["target_kind"] == "household" for g in full["gaps"])
    for key in ("gaps", "suggestions", "uncovered", "problems"):
        assert all(r.get("target_kind") != "household" for r in safe[key])
    assert safe["coverage"] == full["coverage"]
    import json

    json.dumps(full)


def test_straight_line_minutes():
    f = straight_line_minutes(speed_kmh=60, detour_factor=1.0)
    o = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    d = gpd.GeoDataFrame({"id": ["b"]}, geometry=[Point(1, 0)], crs="EPSG:4326")
    assert f(o, d)[0, 0] == pytest.approx(111.2, abs=0.5)  # ~111 km at 60 km/h


# ---------------------------------------------------------------------------------- exact assignment
def brute_force(cost, cap):
    n_h, n_t = cost.shape
    best = (-1, np.inf)
    for choice in itertools.product(range(-1, n_h), repeat=n_t):
        used = np.bincount([c for c in choice if c >= 0], minlength=n_h)
        if np.any(used > cap):
            continue
        if any(c >= 0 and not np.isfinite(cost[c, j]) for j, c in enumerate(choice)):
            continue
        n = sum(c >= 0 for c in choice)
        total = sum(cost[c, j] for j, c in enumerate(choice) if c >= 0)
        if n > best[0] or (n == best[0] and total < best[1] - 1e-9):
            best = (n, total)
    return best


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3).flatmap(lambda nh: st.integers(1, 5).flatmap(lambda nt: st.tuples(
    st.lists(st.lists(st.one_of(st.integers(0, 50).map(float), st.just(np.inf)), min_size=nt, max_size=nt),
             min_size=nh, max_size=nh),
    st.lists(st.integers(0, 3), min_size=nh, max_size=nh)))))
def test_assignment_is_optimal_against_brute_force(data):
    cost, cap = np.array(data[0], dtype=float), np.array(data[1])
    result = assign_with_capacities(cost, cap)
    n, total = brute_force(cost, cap)
    assert result.n_assigned == max(n, 0)
    if n > 0:
        assert result.total_cost == pytest.approx(total)
    used = np.bincount(result.helper[result.helper >= 0], minlength=len(cap))
    assert np.all(used <= cap)


def test_assignment_input_checks():
    with pytest.raises(ValueError, match="capacity"):
        assign_with_capacities(np.zeros((2, 2)), [1])
    with pytest.raises(ValueError, match="non-negative"):
        assign_with_capacities(np.zeros((1, 2)), [-1])
    r = assign_with_capacities(np.full((1, 2), np.nan), [2])
    assert r.n_assigned == 0


# ---------------------------------------------------------------------------------- properties
@st.composite
def random_county(draw):
    n_v = draw(st.integers(1, 6))
    vills = []
    for i in range(n_v):
        vills.append(village(vcode(i + 1), f"村{i}", f"镇{i % 2}", x=float(draw(st.integers(0, 10))),
                             former_poor=draw(st.booleans()), demonstration=draw(st.booleans()),
                             weak_org=draw(st.booleans())))
    n_h = draw(st.integers(0, 6))
    hh = pd.DataFrame({"id": [f"H{i}" for i in range(n_h)],
                       "village_code": [vcode(draw(st.integers(1, n_v))) for _ in range(n_h)],
                       "kind": ["unstable"] * n_h, "risk": ["high"] * n_h})
    kinds = ["work_team", "first_secretary", "cadre", "municipal_unit", "central_unit", "enterprise"]
    rows = []
    for i in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(kinds))
        hid = f"{kind[:2]}{draw(st.integers(0, 3))}"
        tkind = "household" if kind == "cadre" and n_h else "village"
        tid = f"H{draw(st.integers(0, n_h - 1))}" if tkind == "household" else vcode(draw(st.integers(1, n_v)))
        known = draw(st.booleans())
        rows.append(pair(f"p{i}", hid, kind, tkind, tid,
                         base=Point(float(hash(hid) % 11), 0) if known else None))
    return make_villages(vills), hh, empty_settlements(), make_pairings(rows)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_county(), st.integers(1, 3), st.integers(1, 4), st.integers(1, 3),
       st.sampled_from(["either", "team", "secretary", "both"]))
def test_accepting_all_suggestions_never_lowers_coverage_or_exceeds_capacity(county, per_team, per_cadre,
                                                                             per_unit, requirement):
    v, h, s, p = county
    rules = PairingRules(max_villages_per_team=per_team, max_households_per_cadre=per_cadre,
                         max_villages_per_unit=per_unit,
                         resident_requirements={r: requirement for r in RESIDENT_RULES})
    before = analyse_pairings(v, h, s, p, rules=rules, travel_min=x_travel)
    updated, _ = apply_suggestions(p, before)
    after = analyse_pairings(v, h, s, updated, rules=rules, travel_min=x_travel)
    cov_b = before.coverage.set_index("rule")["covered"]
    cov_a = after.coverage.set_index("rule")["covered"]
    assert (cov_a >= cov_b).all()
    # every role a suggestion fills is no longer missing afterwards
    still = {(g.target_kind, g.target_id, role) for g in after.gaps.itertuples()
             for role in str(g.missing).split(",")}
    for sug in before.suggestions.itertuples():
        role = "cadre" if sug.role == "cadre" else sug.role
        assert (sug.target_kind, sug.target_id, role) not in still
    assert len(after.gaps) <= len(before.gaps)
    wb = before.workload.set_index("helper_key")
    for row in after.workload.itertuples(index=False):
        if row.limit is None or pd.isna(row.limit):
            continue
        prior = wb.at[row.helper_key, "load"] if row.helper_key in wb.index else 0
        assert row.load <= max(int(row.limit), int(prior))


# ---------------------------------------------------------------------------------- the demo county
@pytest.fixture(scope="module")
def demo_county():
    demo = pytest.importorskip("layers.demo", reason="layers.demo (the demo county generator) is not there yet")
    return demo.generate_demo_county()


def test_demo_county_planted_gaps_are_all_found(demo_county):
    layers, meta = demo_county.layers, demo_county.meta
    rules = PairingRules(home_county_code=meta["county_code"],
                         max_households_per_cadre=int(meta.get("demo_cadre_household_limit", 10)))
    a = analyse_pairings(layers["villages"], layers["households"], layers["relocation_settlements"],
                         layers["pairings"], rules=rules, travel_min=straight_line_minutes())
    missing = {(g.target_kind, g.target_id): str(g.missing) for g in a.gaps.itertuples()}
    over = set(a.workload.loc[a.workload["over_limit"].astype(bool), "helper_key"])
    foreign = set(a.problems.loc[a.problems["problem"] == "foreign_cadre", "helper_key"])
    planted = meta["demo_pairing_gaps"]
    assert planted
    for gap in planted:
        key = (gap["target_kind"], gap["target_id"])
        rule = gap["rule"]
        if rule == "missing_work_team":
            assert "work_team" in missing.get(key, ""), gap
        elif rule == "missing_first_secretary":
            assert "first_secretary" in missing.get(key, ""), gap
        elif rule == "missing_cadre":
            assert missing.get(key) == "cadre", gap
        elif rule == "cadre_over_limit":
            assert gap["target_id"] in over, gap
        elif rule == "cadre_out_of_county":
            assert gap["target_id"] in foreign, gap
        else:
            pytest.fail(f"unknown planted gap rule {rule!r}")
    # and capacity allows closing every gap in the demo
    assert len(a.uncovered) == 0
    assert set(zip(a.suggestions["target_kind"], a.suggestions["target_id"])) == set(missing)
