"""The planning page (选址规划): suggest sites for new facilities, save and compare scenarios.

Running a plan is read-only analysis, so ``GET /planning/run.json`` takes the question
in its query string: it changes nothing, the same URL gives the same answer (cached
per parameters and data version), needs no CSRF token, and a plan can be shared or
re-opened as a link. Saving and deleting scenarios change the workspace: POST with
CSRF and the ``import`` permission (planners and administrators).
The logic lives in :mod:`web.planning`; these views parse, check access and render.
"""
from __future__ import annotations

import threading
from urllib.parse import quote

import folium
import pandas as pd
from branca.element import MacroElement
from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from folium.template import Template
from markupsafe import escape
from pydantic import Field

from layers.schema import COMMODITIES, get_schema
from planner.models import MODELS

from .. import mapping, services
from ..services import mapdata, planning
from ..app import NavItem, current_workspace
from ..auth import permission_required
from ..i18n import current_lang, label
from ..services.users import has_permission
from .apispec import Int64, QueryModel, heavy_run, validate_query

bp = Blueprint("planning", __name__, url_prefix="/planning")
NAV = [NavItem("planning.index", _l("Site planning"), 25)]

#: Saving a scenario writes an app table of the workspace, like an import does.
SAVE_PERMISSION = "import"


# =========================================================================== labels
def model_choices() -> list[tuple[str, str, str]]:
    """(value, name, one-line explanation) per model, in the current language (:data:`planner.models.MODELS`)."""
    lang = current_lang()
    return [(m.name, m.label(lang), m.about(lang)) for m in MODELS.values()]


def facility_choices() -> list[tuple[str, str]]:
    return [(f, label(get_schema(f))) for f in planning.FACILITIES]


def source_choices() -> list[tuple[str, str]]:
    return [
        ("towns", _("Town centres")), ("industry_bases", _("Industry bases")),
        ("network", _("Generated on the road network near demand")), ("proposals", _("Project proposals")),
        ("drawn", _("Points drawn on the map")),
    ]


def param_label(key: str) -> str:
    return {
        "facility": _("Facility type"), "model": _("Model"), "limit": _("Limited by"),
        "p": _("Number of new sites"), "budget_wan": _("Budget (10,000 yuan)"),
        "site_cost_wan": _("Cost per site (10,000 yuan)"), "minutes": _("Travel-time cutoff (min)"),
        "demand": _("Demand weight"), "candidates": _("Candidate sites"), "keep_existing": _("Keep existing facilities"),
        "time_limit_s": _("Time limit (s)"), "new_capacity_t": _("Capacity of a new site (t)"),
        "split_demand": _("Split a village over several stores"), "points": _("Drawn points"),
        "demand_total": _("Total demand"), "covered_before": _("Covered before"), "covered_after": _("Covered after"),
        "new_sites": _("New sites"), "existing_sites": _("Existing sites"), "candidates_n": _("Candidates"),
        "objective": _("Objective"), "gap": _("Gap"), "seconds": _("Solver seconds"), "method": _("Method"),
        "status": _("Status"), "bound": _("Bound"), "decay": _("Distance decay"), "beta": _("Decay parameter"),
        "target_share": _("Coverage target (percent)"), "curve_k": _("Coverage curve: up to how many sites"),
        "scenario": _("Network scenario"),
    }.get(key, key)


def value_text(key: str, value) -> str:
    """A parameter value for display (choices translated, flags as yes/no)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    names = {**dict(facility_choices()), **{m: n for m, n, _e in model_choices()}, **dict(source_choices()),
             "p": _("number of sites"), "budget": _("budget")}
    if key in ("facility", "model", "candidates", "limit"):
        return names.get(value, str(value))
    if key == "demand":
        return demand_text(str(value))
    if key == "status":
        return solver_status_labels().get(str(value), str(value))
    if key == "decay":
        return {"linear": _("linear: 1 at the site, 0 at the cutoff"), "power": _("power: minutes to the power −β"),
                "exponential": _("exponential: e to the −β × minutes")}.get(str(value), str(value))
    if key == "method":  # the code too: a spreadsheet has no tooltip
        return f"{method_text(str(value))} ({value})"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, list):
        return _("%(n)s points", n=len(value))
    return str(value)


def solver_status_labels() -> dict:
    """Solver statuses (``optimal``…) as people read them."""
    return {"optimal": _("optimal"), "feasible": _("feasible (time limit)"), "infeasible": _("infeasible"),
            "time_limit": _("time limit reached")}


def method_text(solver: dict | str | None) -> str:
    """A solver's method in words, step by step (:func:`web.services.labels.method_text`)."""
    from ..services.labels import method_text as labelled_method

    return labelled_method(solver, _)


def bound_label(model: str | None) -> str:
    """What the solver's bound is for ``model``: an upper bound when it maximises, else a lower bound."""
    if model not in MODELS:
        return _("Bound")
    return _("Upper bound") if MODELS[model].maximises else _("Lower bound")


def solver_texts(payload: dict) -> dict:
    """Translated words for a payload's solver facts, for the page (the codes stay in the payload)."""
    result = payload.get("result") or {}
    return {"method_text": method_text(result.get("solver") or {}),
            "bound_label": bound_label(result.get("model"))}


def demand_words() -> dict:
    """What :func:`demand_text` says, for the page's script (same words, same rules)."""
    return {"commodities": {c.value: label(c) for c in COMMODITIES},
            "measures": {"population": _("population"), "households": _("households"),
                         "monitored": _("monitored households"), "villages": _("villages (each counts 1)")},
            "produce": _("produce: %(names)s", names="{names}")}


def demand_text(spec: str) -> str:
    """``produce:apple,hawthorn*2`` → "产量：苹果、山楂 ×2" (current language)."""
    words = demand_words()
    commodity, measure = words["commodities"], words["measures"]
    parts = []
    for term in spec.split("+"):
        body, _sep, factor = term.partition("*")
        name, _sep, args = body.partition(":")
        text = (_("produce: %(names)s", names=", ".join(commodity.get(a, a) for a in args.split(",") if a))
                if name == "produce" else measure.get(name, name))
        parts.append(f"{text} ×{factor}" if factor else text)
    return " + ".join(parts)


def reason_labels() -> dict:
    """Why a village cannot be served (snap reason codes of :mod:`planner.snap`, or too far)."""
    from ..services.netreasons import reason_labels as network_reasons

    # the one text per reason code of every output (web.services.netreasons)
    return network_reasons(_)


def excel_labels() -> dict:
    return {
        "sheet_sites": _("Sites"), "sheet_towns": _("By town"), "sheet_unreachable": _("Unreachable villages"),
        "sheet_params": _("Parameters"), "new": _("new"), "existing": _("existing"), "scenario": _("Scenario"),
        "name": _("Site"), "id": _("ID"), "status_text": _("New or existing"), "demand_served": _("Demand served"),
        "demand_count": _("Villages served"), "loss_if_removed": _("Loss if removed"),
        "nearest_existing": _("Nearest existing facility"), "runner_up": _("Runner-up it beat"),
        "runner_up_delta": _("Lead over the runner-up"), "nearest_site": _("Nearest other site"),
        "lon": _("Longitude"), "lat": _("Latitude"), "town": _("Town"), "villages": _("Villages"),
        "demand": _("Demand"), "covered_before": _("Covered before"), "covered_after": _("Covered after"),
        "share_before": _("Share before"), "share_after": _("Share after"),
        "mean_minutes_before": _("Mean minutes before"), "mean_minutes_after": _("Mean minutes after"),
        "village_code": _("Village code"), "village_name": _("Village"), "weight": _("Demand weight"),
        "reason": _("Reason"), "key": _("Item"), "value": _("Value"),
        "code": _("Code"),
        **{f"param:{k}": param_label(k) for k in planning.PARAM_KEYS + (
            "new_capacity_t", "split_demand", "points", "objective", "bound", "gap", "seconds", "method", "status",
            "covered_before", "covered_after", "new_sites", "existing_sites", "decay", "beta", "target_share",
            "curve_k", "scenario")},
        "statuses": solver_status_labels(),
        "param:demand": param_label("demand"), "param:candidates": param_label("candidates"),
        "param:demand_total": param_label("demand_total"), "param:candidates_n": param_label("candidates_n"),
        "reasons": reason_labels(),
        "unit": _("Unit"), "unit:t": _("t"), "semantics_key": _("Who is served"), "semantics": semantics_text(),
        "estimate_key": _("Travel times: straight-line estimate (road network not used)."),
        "estimate": _("ESTIMATE (no roads layer): straight-line distance × %(factor)s at %(speed)s km/h",
                      factor="{factor}", speed="{speed}"),
        "sheet_curve": _("Coverage curve"), "k": _("New sites"), "budget_wan": _("Budget (10,000 yuan)"),
        "covered": _("Covered"), "share": _("Share of demand"), "gain": _("Marginal gain"),
        "gain_share": _("Marginal gain (share)"), "status": _("Status"), "site_names": _("Sites"),
    }


def semantics_text() -> str:
    """What "serves" means on the page and in exports."""
    return _("A site serves the villages with demand weight above 0 assigned to it (their nearest open site, within "
             "the cutoff for coverage models). Villages with weight 0 (for example no tonnes of the chosen produce) "
             "are not drawn as allocations and not counted as served.")


def js_messages() -> dict:
    return {
        "running": _("Computing…"), "failed": _("The plan could not be computed."),
        "new": _("new"), "existing": _("existing"), "yes": _("yes"), "no": _("no"),
        "suggested": _("Suggested new site"), "existing_site": _("Existing facility"),
        "area": _("Service area, %(m)s min", m="{m}"), "allocation": _("Allocation"),
        "served": _("serves %(d)s in %(n)s villages", d="{d}", n="{n}"),
        "minutes": _("%(m)s min", m="{m}"), "min_unit": _("min"), "drawn": _("Drawn point %(n)s", n="{n}"),
        "drawn_count": _("%(n)s points drawn", n="{n}"), "remove_point": _("click to remove"),
        "areas_loading": _("Service areas are being computed…"),
        "areas_failed": _("Service areas could not be computed."),
        "server_ms": _("answered in %(ms)s ms", ms="{ms}"), "cached": _("from cache"),
        "saved": _("Scenario “%(name)s” saved.", name="{name}"), "save_failed": _("The scenario could not be saved."),
        "run_first": _("Run a plan first."), "no_points": _("Click on the map to add candidate points first."), "delete": _("Delete"), "show": _("Show"),
        "confirm_delete": _("Click again to delete"), "none": _("none"), "pick_two": _("Pick two different scenarios."),
        "status": {"optimal": _("optimal"), "feasible": _("feasible (time limit)"), "infeasible": _("infeasible"),
                   "time_limit": _("time limit reached")},
        "reason": reason_labels(),
        "estimate": _("ESTIMATE (no roads layer): straight-line distance × %(factor)s at %(speed)s km/h",
                      factor="{factor}", speed="{speed}"),
        "facts": {"method": _("Method"), "status": _("Status"), "objective": _("Objective"), "bound": _("Bound"),
                  "gap": _("Gap"), "seconds": _("Solver seconds"), "server": _("Server")},
        "scenario_base": _("(Network scenario %(scenario)s; on the base network: %(after)s covered, new sites %(names)s.)",
                           scenario="{scenario}", after="{after}", names="{names}"),
        "summary": _("%(n)s new sites: %(names)s. Demand within %(m)s min: %(before)s before → %(after)s after, "
                     "of %(total)s.", n="{n}", names="{names}", m="{m}", before="{before}", after="{after}",
                     total="{total}"),
        "demand": demand_words(),
        "unit_t": _("t"),
        "curve": {"k": _("New sites"), "budget": _("Budget (10,000 yuan)"), "covered": _("Covered"),
                  "share": _("Share"), "gain": _("Marginal gain"), "sites": _("Sites (each row is its own optimum)"),
                  "status": _("Status"),
                  "drop": _("The new site number %(k)s adds only %(pct)s of the demand.", k="{k}", pct="{pct}"),
                  "caption": _("Optimal share of demand within %(m)s min by number of new sites (bars: what "
                               "each extra site adds)", m="{m}")},
        "weight_is": _("Demand weight:"), "within": _("covered = within %(m)s min of an open site", m="{m}"),
        "layers": {"villages": _("Villages"), "roads": _("Roads"), "boundaries": _("Boundaries"),
                   "facilities": _("Existing facilities (layer)"), "areas": _("Service areas"),
                   "allocations": _("Allocation lines"), "sites": _("Plan: sites"), "drawn": _("Drawn candidate points")},
    }


# =========================================================================== map
class PlanningApp(MacroElement):
    """Starts rpplanning.js with the folium map and its layer control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RPPlan.start({{ this._parent.get_name() }}, {{ this.control.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, control, config: dict):
        super().__init__()
        self._name = "PlanningApp"
        self.control = control
        self.config = config


def build_planning_map(ws, *, config, app_config: dict) -> dict:
    bounds = mapdata.workspace_bounds(ws)
    m = mapping.site_map(bounds, config=config, prefer_canvas=True,
                         js=[("rpplanning", url_for("static", filename="js/rpplanning.js"))],
                         css=[("rpmap_css", url_for("static", filename="css/map.css"))])
    control = folium.LayerControl(position="topright", collapsed=True).add_to(m)
    PlanningApp(control, {**app_config, "bounds": bounds}).add_to(m)
    return mapping.map_parts(m)


def _warm_graph(ws) -> None:
    """Load the road graph in the background while the visitor fills the form."""
    def warm():
        try:
            planning.graph_for(ws)
        except Exception:  # noqa: BLE001 - a run reports the real problem to the user
            pass

    threading.Thread(target=warm, name="ruralplan-plan-warm", daemon=True).start()


# =========================================================================== helpers
def _network_scenarios(ws):
    from ..services import scenarios

    return scenarios.list_scenarios(ws)


def _params():
    return planning.PlacementQuestion.from_args(request.args)


def _user_name():
    user = g.get("user")
    return user.username if user else None


def _may_delete(s: planning.Scenario) -> bool:
    user = g.get("user")
    if not has_permission(user, SAVE_PERMISSION):
        return False
    return user is not None and (s.username == user.username or has_permission(user, "manage_users"))


def _commodity_totals(ws) -> list[dict]:
    villages = ws.read_layer("villages")
    out = []
    for c in COMMODITIES:
        col = f"produce_{c.value}_t"
        total = float(pd.to_numeric(villages[col], errors="coerce").fillna(0).sum()) if col in villages else 0.0
        out.append({"value": c.value, "label": label(c), "total_t": total})
    return out


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    # RFC 5987: Chinese scenario names survive in every browser
    response.headers["Content-Disposition"] = f"attachment; filename=\"plan.{filename.rsplit('.', 1)[-1]}\"; " \
                                              f"filename*=UTF-8''{quote(filename)}"
    return response


def _geojson_download(payload: dict, stem: str) -> Response:
    from ..services.jsonout import dumps  # the one JSON rule (units' precision, no float32 noise)

    body = dumps(planning.export_geojson(payload)).encode("utf-8")
    return _download(body, "application/geo+json", f"{stem}.geojson")


def _excel_download(payload: dict, stem: str, title: str = "") -> Response:
    labels = {**excel_labels(), "param:bound": bound_label((payload.get("result") or {}).get("model"))}
    body = planning.export_excel(payload, labels=labels, title=title, describe=value_text)
    return _download(body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", f"{stem}.xlsx")


def _scenario_or_404(scenario_id: int) -> planning.Scenario:
    s = planning.get_scenario(current_workspace(), scenario_id)
    if s is None:
        abort(404)
    return s


# =========================================================================== views
@bp.route("/")
@permission_required("read")
def index():
    ws = current_workspace()
    _warm_graph(ws)
    app_config = {
        "run_url": url_for("planning.run_json"), "areas_url": url_for("planning.areas_json"),
        "export_geojson_url": url_for("planning.export_geojson"), "export_xlsx_url": url_for("planning.export_xlsx"),
        "print_url": url_for("mapprint.planning"),
        "scenarios_url": url_for("planning.scenarios_json"), "save_url": url_for("planning.save"),
        "scenario_url": url_for("planning.scenario_json", scenario_id=0),
        "delete_url": url_for("planning.delete", scenario_id=0),
        "compare_url": url_for("planning.compare"),
        "layer_url": url_for("map.layer_data", layer="LAYER"),
        "can_save": has_permission(g.get("user"), SAVE_PERMISSION), "user": _user_name(),
        "is_admin": has_permission(g.get("user"), "manage_users"),
        "i18n": js_messages(),
    }
    page_map = build_planning_map(ws, config=current_app.config, app_config=app_config)
    # the scenario list is filled by the page from scenarios.json (one code path after a save)
    return render_template(
        "planning/index.html", map=page_map, models=model_choices(), facilities=facility_choices(),
        sources=source_choices(), commodities=_commodity_totals(ws), default_cost=services.DEFAULT_SITE_COST_WAN,
        demand_text=demand_text, semantics=semantics_text(),
        can_save=app_config["can_save"], defaults=planning.PlacementQuestion(),
        network_scenarios=_network_scenarios(ws),
    )


@bp.route("/run.json")
@permission_required("read")
def run_json():
    """The plan for the query's parameters; ``areas=defer`` leaves the service areas out
    (the page asks :func:`areas_json` for them next, so the sites show at once)."""
    ws = current_workspace()
    params = _params()
    with heavy_run():  # one caller cannot run many placements at once (429)
        payload = planning.run(ws, params, with_areas=request.args.get("areas") != "defer")
    payload["weight_text"] = demand_text(params.demand)
    payload.update(solver_texts(payload))
    response = current_app.json.response(payload)
    t = payload["timing"]
    response.headers["Server-Timing"] = ", ".join(
        f"{k[:-3]};dur={v}" for k, v in t.items() if k.endswith("_ms"))
    return response


@bp.route("/areas.json")
@permission_required("read")
def areas_json():
    """Service areas of the new sites of the query's plan (GeoJSON)."""
    ws = current_workspace()
    with heavy_run():
        payload = planning.run(ws, _params(), with_areas=True)
    response = current_app.json.response(payload["areas"])
    response.headers["Server-Timing"] = f"areas;dur={payload['timing'].get('areas_ms', 0)}"
    return response


@bp.route("/export.geojson")
@permission_required("read")
def export_geojson():
    with heavy_run():
        payload = planning.run(current_workspace(), _params())
    return _geojson_download(payload, _("site plan"))


@bp.route("/export.xlsx")
@permission_required("read")
def export_xlsx():
    with heavy_run():
        payload = planning.run(current_workspace(), _params())
    return _excel_download(payload, _("site plan"))


@bp.route("/scenarios.json")
@permission_required("read")
def scenarios_json():
    out = []
    for s in planning.list_scenarios(current_workspace()):
        item = planning.scenario_json(s)
        item["params_text"] = {k: value_text(k, v) for k, v in s.params.items()}
        item["may_delete"] = _may_delete(s)
        out.append(item)
    return {"scenarios": out}


@bp.route("/scenarios", methods=["POST"])
@permission_required(SAVE_PERMISSION)
def save():
    """Save the run given by the form fields (the same names as the run query) under ``name``."""
    ws = current_workspace()
    params = planning.PlacementQuestion.from_args(request.form)
    with heavy_run():
        payload = planning.run(ws, params)
    scenario_id = planning.save_scenario(ws, request.form.get("name", ""), payload, username=_user_name())
    s = planning.get_scenario(ws, scenario_id)
    return {"scenario": planning.scenario_json(s)}, 201


@bp.route("/scenarios/<int:scenario_id>.json")
@permission_required("read")
def scenario_json(scenario_id: int):
    s = _scenario_or_404(scenario_id)
    return {**planning.scenario_json(s), "payload": {**s.payload, "weight_text": demand_text(s.params["demand"]),
                                                     **solver_texts(s.payload)}}


@bp.route("/scenarios/<int:scenario_id>.geojson")
@permission_required("read")
def scenario_geojson(scenario_id: int):
    s = _scenario_or_404(scenario_id)
    return _geojson_download(s.payload, s.name)


@bp.route("/scenarios/<int:scenario_id>.xlsx")
@permission_required("read")
def scenario_xlsx(scenario_id: int):
    s = _scenario_or_404(scenario_id)
    return _excel_download(s.payload, s.name, title=s.name)


@bp.route("/scenarios/<int:scenario_id>/delete", methods=["POST"])
@permission_required(SAVE_PERMISSION)
def delete(scenario_id: int):
    s = _scenario_or_404(scenario_id)
    if not _may_delete(s):
        abort(403)
    planning.delete_scenario(current_workspace(), scenario_id)
    if request.accept_mimetypes.best == "application/json":
        return {"deleted": scenario_id}
    return redirect(url_for("planning.index") + "#rp-scenarios")


class CompareQuery(QueryModel):
    a: Int64 = Field(description="First scenario id")
    b: Int64 = Field(description="Second scenario id")


@bp.route("/compare")
@permission_required("read")
def compare():
    query = validate_query(CompareQuery)  # 400 naming a or b (a huge id overflowed SQLite: 500)
    a, b = _scenario_or_404(query.a), _scenario_or_404(query.b)
    data = planning.compare(a, b)
    page_map = build_compare_map(current_workspace(), a, b)
    return render_template("planning/compare.html", a=a, b=b, data=data, map=page_map, param_label=param_label,
                           value_text=value_text)


COLOR_A, COLOR_B = "#d7301f", "#2166ac"


def build_compare_map(ws, a: planning.Scenario, b: planning.Scenario) -> dict:
    """Both scenarios' sites and service areas on one map (A red, B blue, shared sites purple)."""
    bounds = mapdata.workspace_bounds(ws)
    m = mapping.site_map(bounds, config=current_app.config, fit=True, prefer_canvas=True,
                         css=[("rpmap_css", url_for("static", filename="css/map.css"))])
    mapping.add_context(m, ws)
    ids_b = {f["properties"]["id"] for f in b.payload["sites"]["features"]}
    ids_a = {f["properties"]["id"] for f in a.payload["sites"]["features"]}
    for tag, s, color, other in (("A", a, COLOR_A, ids_b), ("B", b, COLOR_B, ids_a)):
        # the layer control inserts names as HTML; tooltips take text (mapping.TextTooltip)
        group = folium.FeatureGroup(name=f"{tag}: {escape(s.name)}", show=True)
        for f in (s.payload.get("areas") or {}).get("features", []):
            if f.get("geometry"):
                folium.GeoJson(f["geometry"], style_function=lambda _f, c=color: {
                    "color": c, "weight": 0.6, "opacity": 0.6, "fillColor": c, "fillOpacity": 0.12}).add_to(group)
        for f in s.payload["sites"]["features"]:
            p = f["properties"]
            lon, lat = f["geometry"]["coordinates"]
            if p.get("fixed"):
                if tag == "A":
                    # a plain circle: folium's polygon markers load a plugin from a CDN
                    folium.CircleMarker((lat, lon), radius=5, color="#333", weight=1, fill=True, fill_color="#777",
                                        fill_opacity=0.9,
                                        tooltip=mapping.TextTooltip(f"{p['name']} ({_('existing')})")).add_to(group)
                continue
            shared = p["id"] in other
            folium.CircleMarker((lat, lon), radius=11 if tag == "A" else 7, color=color, weight=3,
                                fill=not shared or tag == "B", fill_color=color, fill_opacity=0.8,
                                tooltip=mapping.TextTooltip(f"{tag}: {p['name']}")).add_to(group)
        group.add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return mapping.map_parts(m)
