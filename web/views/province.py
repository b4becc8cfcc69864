"""The province view: a batch run's indicators per county on a map of county outlines."""
from __future__ import annotations

import folium
from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import mapping
from ..app import NavItem
from ..auth import permission_required
from ..services.province import BatchMissing, load_batch

bp = Blueprint("province", __name__, url_prefix="/province")
NAV = [NavItem("province.index", _l("Province"), 70)]

#: Sequential blues, light to dark (ColorBrewer Blues, 5 classes).
CLASS_COLORS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")


def _classes(values: list[float]) -> list[float]:
    """Quantile breaks (up to 5 classes) of the county values."""
    import numpy as np

    finite = np.asarray([v for v in values if v == v], dtype=float)
    if not len(finite):
        return []
    return sorted(set(np.quantile(finite, [0.2, 0.4, 0.6, 0.8]).tolist()))


def _color(value: float, breaks: list[float]) -> str:
    if value != value:  # NaN: no figure for this county
        return "#cccccc"
    k = sum(value > b for b in breaks)
    return CLASS_COLORS[min(k, len(CLASS_COLORS) - 1)]


def choropleth(view, requested: str | None):
    """The indicator shown (``requested`` if the batch has it, else the first), its county
    table, workspace → value, the class breaks and the legend as (colour, text) pairs:
    what the page and its print (:mod:`web.views.mapprint`) both draw."""
    indicators = view.indicators
    indicator = requested if requested in indicators else (indicators[0] if indicators else None)
    table = view.county_table(indicator) if indicator else None
    value_of = {} if table is None else dict(zip(table["workspace"], table["value"]))
    breaks = _classes(list(value_of.values()))
    legend = []
    edges = [None, *breaks, None]
    for k in range(len(breaks) + 1):
        lo, hi = edges[k], edges[k + 1]
        legend.append((CLASS_COLORS[min(k, len(CLASS_COLORS) - 1)],
                       ("≤ " + f"{hi:,.4g}") if lo is None and hi is not None else
                       ("> " + f"{lo:,.4g}") if hi is None and lo is not None else
                       f"{lo:,.4g} – {hi:,.4g}" if lo is not None else _("all")))
    return indicator, table, value_of, breaks, legend


@bp.route("/")
@permission_required("read")
def index():
    folder = current_app.config.get("RURALPLAN_BATCH_DIR")
    if not folder:
        return render_template("province/index.html", view=None, folder=None, missing=None)
    try:
        view = load_batch(folder)
    except BatchMissing as exc:
        return render_template("province/index.html", view=None, folder=folder, missing=exc)
    indicators = view.indicators
    indicator, table, value_of, breaks, legend = choropleth(view, request.args.get("indicator"))
    features = [f for f in view.outlines.get("features", []) if f.get("geometry")]
    bounds = _bounds(features)
    m = mapping.site_map(bounds, config=current_app.config, fit=True, zoom_start=7)
    for f in features:
        props = f.get("properties") or {}
        value = value_of.get(props.get("workspace"), float("nan"))
        tip = f"{props.get('county_name') or props.get('workspace')}: " + ("–" if value != value else f"{value:,.4g}")
        style = {"fillColor": _color(value, breaks), "color": "#555", "weight": 1, "fillOpacity": 0.8}
        folium.GeoJson({"type": "Feature", "geometry": f["geometry"], "properties": {}},
                       style_function=lambda _f, style=style: style,
                       tooltip=mapping.TextTooltip(tip)).add_to(m)
    return render_template("province/index.html", view=view, folder=folder, missing=None, indicator=indicator,
                           indicators=indicators, table=table, legend=legend, map=mapping.map_parts(m))


def _bounds(features: list[dict]):
    import shapely.geometry

    if not features:
        return None
    w, s, e, n = shapely.geometry.GeometryCollection(
        [shapely.geometry.shape(f["geometry"]) for f in features]).bounds
    return [[s, w], [n, e]]
