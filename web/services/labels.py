"""Labels of the analysis codes people read (Flask-free): pairing rules, proposal flags and
score components, coverage measures, solver and coverage statuses.

Each table maps a code to an English msgid of the app's catalog (``web/translations``), so
the CLI (:func:`web.i18n.catalog_gettext`) and the pages (Flask-Babel) show the same words.
Schema code lists (village kinds, proposal categories…) carry their own labels in
:mod:`layers.schema` and :mod:`layers.proposals`.
"""
from __future__ import annotations

from geo.report import N_

RULE_LABELS = {
    "resident_former_poor": N_("Former poor villages: resident team / first secretary"),
    "resident_settlement": N_("Settlements of 800+ people: resident work team"),
    "resident_demonstration": N_("Demonstration villages: resident team / first secretary"),
    "resident_weak_org": N_("Weak-organisation villages: first secretary"),
    "cadre_household": N_("Monitored households: responsible cadre"),
}
PAIRING_ROLE_LABELS = {
    "work_team": N_("work team"), "first_secretary": N_("first secretary"),
    "work_team|first_secretary": N_("work team or first secretary"), "cadre": N_("responsible cadre"),
}
USER_ROLE_LABELS = {
    "planner": N_("Planner"), "village_applicant": N_("Village applicant"), "town_reviewer": N_("Town reviewer"),
    "sector_assessor": N_("Sector assessor"), "county_approver": N_("County approver"), "admin": N_("Administrator"),
}
UNFILLED_REASON_LABELS = {"no_capacity": N_("no capacity left"), "unreachable": N_("unreachable")}
FLAG_LABELS = {
    "inside_ecological_redline": N_("Inside the ecological red line"),
    "inside_basic_farmland": N_("Inside permanent basic farmland"),
    "inside_hazard": N_("Inside a hazard zone"),
    "near_ecological_redline": N_("Close to the ecological red line"),
    "near_basic_farmland": N_("Close to permanent basic farmland"),
    "near_hazard": N_("Close to a hazard zone"),
    "duplicate_of_existing": N_("Duplicates an existing facility"),
    "mostly_redundant": N_("Mostly covers an area already served"),
    "better_site_nearby": N_("A better site is nearby"),
    "site_not_on_road_network": N_("The site is not on the road network"),
    "no_catchment": N_("No village within the travel-time cutoff"),
}
COMPONENT_LABELS = {
    "access": N_("Access"), "service": N_("Service to claimed villages"), "coverage": N_("Coverage gain"),
    "redundancy": N_("Not redundant"), "constraints": N_("No constraint conflicts"),
}
MEASURE_LABELS = {"produce_t": N_("produce (t)"), "population": N_("people"),
                  "monitored_households": N_("monitored households"), "villages": N_("villages")}
SOLVER_STATUS_LABELS = {"optimal": N_("optimal"), "feasible": N_("feasible (time limit)"),
                        "infeasible": N_("infeasible"), "time_limit": N_("time limit reached")}
COVERAGE_STATUS_LABELS = {"covered": N_("covered"), "too_far": N_("too far"), "unreachable": N_("unreachable")}
METHOD_STEP_LABELS = {
    "highs-milp": N_("exact integer programming (HiGHS)"), "milp": N_("exact integer programming (HiGHS)"),
    "greedy": N_("greedy heuristic"), "interchange": N_("site interchange"),
    "lagrangian": N_("Lagrangian bound"),
    "lagrangian-branch-and-bound": N_("Lagrangian branch-and-bound (exact)"),
    "radius-milp": N_("radius formulation (HiGHS, exact)"), "binary-search": N_("binary search on the longest trip"),
    "lexicographic-mclp": N_("most coverage first"), "packing": N_("capacity packing"),
    "split-bound": N_("split-demand bound"), "trivial": N_("nothing to optimise"),
    "heuristic": N_("heuristic"), "enumeration": N_("every layout compared (exact)"),
    "decay-pmedian": N_("as a p-median on the share lost to distance"),
}
METHOD_NOTE_LABELS = {"no time left for the MILP": N_("no time left for exact integer programming")}
#: The measures of a demand weight spec (:class:`planner.placement.DemandSpec`), as the planning page says them.
DEMAND_MEASURE_LABELS = {"population": N_("population"), "households": N_("households"),
                         "monitored": N_("monitored households"), "villages": N_("villages (each counts 1)")}
DEMAND_PRODUCE = N_("%(names)s produce (t)")

#: Every table above, for checks that no code reaches people unlabelled.
CODE_TABLES = (RULE_LABELS, PAIRING_ROLE_LABELS, USER_ROLE_LABELS, UNFILLED_REASON_LABELS, FLAG_LABELS,
               COMPONENT_LABELS, MEASURE_LABELS, SOLVER_STATUS_LABELS, COVERAGE_STATUS_LABELS, METHOD_STEP_LABELS,
               DEMAND_MEASURE_LABELS)


def code_label(table: dict, code, gettext) -> str:
    """``code``'s label from ``table`` through ``gettext``; an unknown code as it is."""
    msgid = table.get(code) if code is not None else None
    return gettext(msgid) if msgid else ("" if code is None else str(code))


def choice_label(choices, value, lang: str) -> str:
    """A schema :class:`~layers.schema.Choice` value by its label in ``lang``; unknown as it is."""
    for c in choices:
        if c.value == value:
            return c.zh if lang == "zh" else c.en
    return "" if value is None else str(value)


def demand_text(spec, gettext, lang: str) -> str:
    """A demand weight spec in words of ``lang``, never in its own syntax:
    ``produce:apple,hawthorn`` → "苹果、山楂产量（吨）" / "apple, hawthorn produce (t)",
    ``population*0.5+monitored*100`` → "人口 ×0.5 + 监测户 ×100". A spec that does not parse is
    shown as written (the error about it is raised where it is used)."""
    from layers.schema import COMMODITIES
    from planner.placement import DemandSpec

    from geo.errors import RuralplanError

    try:
        terms = DemandSpec.parse(spec).terms
    except RuralplanError:
        return str(spec)
    sep = "、" if lang == "zh" else ", "
    parts = []
    for name, args, weight in terms:
        if name == "produce":
            text = gettext(DEMAND_PRODUCE, names=sep.join(choice_label(COMMODITIES, a, lang) for a in args))
        else:
            text = code_label(DEMAND_MEASURE_LABELS, name, gettext)
        parts.append(text if weight == 1 else f"{text} ×{weight:g}")
    return " + ".join(parts)


def method_text(solver, gettext) -> str:
    """A solver's method in words, step by step (``a + b (note)``), from its structure
    (``steps`` and ``note``, :func:`planner.models.solver_steps`) or its method string.
    Unknown steps stay as written."""
    from planner.models import solver_steps

    if isinstance(solver, str) or solver is None:
        solver = solver_steps(solver)
    elif "steps" not in solver:
        solver = solver_steps(solver.get("method"))
    if not solver["steps"]:
        return "–"
    text = " + ".join(code_label(METHOD_STEP_LABELS, part, gettext) for part in solver["steps"])
    note = solver.get("note")
    if note:
        text += f" ({code_label(METHOD_NOTE_LABELS, note, gettext)})"
    return text
