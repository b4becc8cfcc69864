"""The map page's road-network tools: service areas, accessibility view, coverage panel.

:func:`panel` gives ``map.html`` the choices for the sidebar section and
:func:`js_config` gives ``static/js/rpnetwork.js`` the API URLs, colours, class breaks
and translated strings (the script never holds user-facing text of its own).
"""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

from layers.schema import COMMODITIES, get_schema

from .i18n import label
from .services import FACILITY_LAYERS

#: Service-area fills, nearest cutoff first (drawn semi-transparent and nested).
AREA_COLORS = ["#3f007d", "#6a51a3", "#9e9ac8", "#cbc9e2"]
AREA_CUTOFFS = (15, 30, 60)
#: Accessibility classes: upper bounds in minutes, then the colour above the last bound.
ACCESS_BREAKS = (15, 30, 45, 60)
ACCESS_COLORS = ["#1a9850", "#91cf60", "#fee08b", "#fc8d59", "#d73027"]
UNREACHABLE = {"fill": "#bdbdbd", "stroke": "#111"}
TOO_FAR = "#e6550d"


def facility_choices() -> list[tuple[str, str]]:
    names = {"towns": _("Town centres")}
    return [(layer, names.get(layer) or label(get_schema(layer))) for layer in FACILITY_LAYERS]


def panel() -> dict:
    """What the sidebar section lists (facility layers, commodities, defaults)."""
    return {
        "facilities": facility_choices(),
        "commodities": [(c.value, label(c)) for c in COMMODITIES],
        "minutes": 30,
    }


def reason_labels() -> dict:
    from .services.netreasons import reason_labels as labels

    return labels(_)


def js_config() -> dict:
    return {
        "urls": {
            "service_areas": url_for("network.service_areas"),
            "accessibility": url_for("network.accessibility"),
            "coverage": url_for("network.coverage"),
        },
        "facility_layers": list(FACILITY_LAYERS),
        "area_cutoffs": list(AREA_CUTOFFS),
        "area_colors": AREA_COLORS,
        "access_breaks": list(ACCESS_BREAKS),
        "access_colors": ACCESS_COLORS,
        "unreachable": UNREACHABLE,
        "too_far": TOO_FAR,
        "reasons": reason_labels(),
        "i18n": {
            "show_areas": _("Show 15/30/60-min service areas"),
            "areas_of": _("Service areas of %(name)s", name="{name}"),
            "within_min": _("within %(n)s min", n="{n}"),
            "km2": _("km²"),
            "computing": _("Computing…"),
            "failed": _("Could not compute: %(message)s", message="{message}"),
            "min_or_less": _("≤ %(n)s min", n="{n}"),
            "more_than": _("> %(n)s min", n="{n}"),
            "unreachable": _("Unreachable"),
            "too_far": _("Too far"),
            "nearest": _("Nearest"),
            "town": _("Town"),
            "villages": _("Villages"),
            "people": _("People"),
            "monitored": _("Monitored households"),
            "tonnage": _("Produce (t)"),
            "total": _("Total"),
            "covered_summary": _("%(covered)s of %(total)s villages within %(minutes)s min of %(layer)s: "
                                 "%(too_far)s too far, %(unreachable)s unreachable.",
                                 covered="{covered}", total="{total}", minutes="{minutes}", layer="{layer}",
                                 too_far="{too_far}", unreachable="{unreachable}"),
            "no_facilities": _("This layer has no facilities."),
            "uncovered": _("Not covered"),
            "travel_min": _("%(n)s min to the nearest facility", n="{n}"),
            "table_note": _("covered / total"),
            "clear_areas": _("Clear service areas"),
            "estimate": _("ESTIMATE (no roads layer): straight-line distance × %(factor)s at %(speed)s km/h",
                          factor="{factor}", speed="{speed}"),
            "off_network": _("Not on the road network (%(n)s):", n="{n}"),
        },
    }
