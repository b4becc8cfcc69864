"""The county overview page (概览): indicators by town as server-drawn SVG charts.

The numbers come from :func:`web.services.overview.county_overview`; this module puts
labels on them in the user's language. Charts are inline SVG drawn by the macros in
``templates/overview/charts.html``: no chart script, nothing from another host.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from layers import proposals as P
from layers.schema import COMMODITIES, HOUSEHOLD_KINDS, RISK_LEVELS

from ..app import NavItem, current_workspace
from ..auth import permission_required
from ..i18n import current_lang
from ..services.overview import county_overview

bp = Blueprint("overview", __name__, url_prefix="/overview")
NAV = [NavItem("overview.index", _l("Overview"), 15)]

#: Categorical colours (ColorBrewer Set2 + Dark2), one per series.
SERIES_COLORS = ("#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494", "#b3b3b3",
                 "#1b9e77", "#d95f02")
#: Risk colours: high red, medium orange, low green.
RISK_COLORS = {"high": "#d73027", "medium": "#fdae61", "low": "#1a9850"}


def _label(choices, value: str) -> str:
    lang = current_lang()
    for c in choices:
        if c.value == value:
            return c.zh if lang == "zh" else c.en
    return value


@bp.route("/")
@permission_required("read")
def index():
    from .pairings import rule_label

    ws = current_workspace()
    data = county_overview(ws, travel=current_app.config.get("RURALPLAN_PAIRING_TRAVEL", "network"))
    cold = data["cold_chain"]
    pairs = data["pairings"]
    households = data["households"]
    props = data["proposals"]
    labels = {
        "commodity": {c: _label(COMMODITIES, c) for c in cold["commodities"]},
        "rule": {r: rule_label(r) for r in pairs["rules"]},
        "kind": {k: _label(HOUSEHOLD_KINDS, k) for k in households["kinds"]},
        "risk": {r: _label(RISK_LEVELS, r) for r in households["risks"]},
        "category": {c: _label(P.CATEGORIES, c) for c in props["categories"]},
        "status": {s: _label(P.STATUSES, s) for s in props["statuses"]},
    }
    def pct(v):
        return "–" if v is None else f"{100 * v:.0f}%"

    def tonnes(cell):
        return _("%(pct)s (%(a)s of %(b)s t)", pct=pct(cell["share"]), a=f"{cell['t_covered']:,.0f}",
                 b=f"{cell['t']:,.0f}")

    def counts(cell):
        return _("%(pct)s (%(a)s of %(b)s)", pct=pct(cell["share"]), a=f"{cell['covered']:,d}",
                 b=f"{cell['required']:,d}")

    com, rules = labels["commodity"], labels["rule"]
    colours = dict(zip(props["statuses"], SERIES_COLORS))
    charts = {
        "cold_county": [(com[c], cold["county"][c]["share"], tonnes(cold["county"][c])) for c in cold["commodities"]],
        "cold_cols": [(c, com[c]) for c in cold["commodities"]],
        "cold_towns": [(row["town"], {c: (v["share"], tonnes(v)) for c, v in row["values"].items()})
                       for row in cold["by_town"]],
        "pair_county": [(rules[r], pairs["county"][r]["share"], counts(pairs["county"][r]))
                        for r in pairs["rules"] if r in pairs["county"]],
        "pair_cols": [(r, rules[r]) for r in pairs["rules"]],
        "pair_towns": [(row["town"] or "–", {r: (c["share"], counts(c)) for r, c in row["cells"].items()})
                       for row in pairs["by_town"]],
        "hh_kind_series": [(k, labels["kind"][k], SERIES_COLORS[i]) for i, k in enumerate(households["kinds"])],
        "hh_kind": [(row["town"], row["kind"]) for row in households["by_town"]],
        "hh_risk_series": [(r, labels["risk"][r], RISK_COLORS.get(r, "#999")) for r in households["risks"]],
        "hh_risk": [(row["town"], row["risk"]) for row in households["by_town"]],
        "prop_series": [(s, labels["status"][s], colours[s]) for s in props["statuses"]],
        "prop_n": [(labels["category"][c], {s: props["cells"][c][s]["n"] for s in props["statuses"]})
                   for c in props["categories"]],
        "prop_wan": [(labels["category"][c], {s: props["cells"][c][s]["budget_wan"] for s in props["statuses"]})
                     for c in props["categories"]],
    }
    return render_template("overview/index.html", data=data, charts=charts)
