"""The map page's resilience view: single-access villages and the roads whose loss cuts them off.

:func:`js_config` gives ``static/js/rpresilience.js`` the API URLs, colours and translated
strings (units 人, 户, 吨, 分钟 in Chinese); :func:`panel` tells ``map.html`` to show the
sidebar section.  The network scenario chosen there also applies to the accessibility
and coverage views of :mod:`web.netmap`.
"""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _

#: Critical links, drawn over the roads (width grows with the people cut off).
LINK_COLOR = "#c51b7d"
#: Single-access villages.
VILLAGE_COLOR = "#ff7f00"
DETOUR_COLOR = "#7570b3"


def panel() -> dict:
    return {"top": 20}


def js_config() -> dict:
    return {
        "urls": {"resilience": url_for("network.resilience"), "scenarios": url_for("network.scenario_list")},
        "link_color": LINK_COLOR, "village_color": VILLAGE_COLOR, "detour_color": DETOUR_COLOR,
        "i18n": {
            "base": _("Base network (no closures)"),
            "computing": _("Computing…"),
            "failed": _("Could not compute: %(message)s", message="{message}"),
            "summary": _("%(n)s of %(total)s villages have a single access: %(people)s people, %(monitored)s "
                         "monitored households, %(tonnes)s t of produce.", n="{n}", total="{total}",
                         people="{people}", monitored="{monitored}", tonnes="{tonnes}"),
            "links_title": _("Roads whose loss cuts villages off"),
            "detours_title": _("Roads whose loss costs the longest detours"),
            "link_line": _("%(villages)s villages, %(people)s people, %(monitored)s monitored households, "
                           "%(tonnes)s t", villages="{villages}", people="{people}", monitored="{monitored}",
                           tonnes="{tonnes}"),
            "detour_line": _("%(villages)s villages detour, up to +%(minutes)s min, %(person_min)s person-minutes",
                             villages="{villages}", minutes="{minutes}", person_min="{person_min}"),
            "length_km": _("%(n)s km", n="{n}"),
            "single_access": _("Single access"),
            "access_road": _("Access road"),
            "bridges": _("Roads whose loss cuts it off"),
            "people": _("People"),
            "monitored": _("Monitored households"),
            "unstable": _("Unstable after exit"),
            "marginal": _("Marginal, at risk"),
            "sudden": _("Sudden severe hardship"),
            "tonnage": _("Produce (t)"),
            "villages_cut": _("Villages cut off"),
            "minutes": _("Minutes to the town seat"),
            "none": _("No village depends on a single road."),
            "scenario_diff": _("Scenario: %(covered_base)s → %(covered)s villages covered; %(lost)s lose coverage; "
                               "%(slower)s slower (+%(minutes)s min in all).", covered_base="{covered_base}",
                               covered="{covered}", lost="{lost}", slower="{slower}", minutes="{minutes}"),
        },
    }
