"""The map explorer's map, built with folium on the server (the only module that does).

:func:`build_map` assembles a :class:`folium.Map` with one layer group per workspace
layer, the basemap, a layer control and a scale bar; :func:`map_parts` renders its
header/html/script parts so ``map.html`` can embed them in the site layout. Features are
not inlined by folium: each group is filled by ``static/js/rpmap.js`` from the compact
GeoJSON of :mod:`web.mapdata` (fetched after load, or inlined when configured), which
also draws the styles, popups, search, filters, choropleth and fullscreen button.
Every JS/CSS link is local (``/vendor/...``, ``/static/...``): no CDN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import folium
from folium.plugins import MarkerCluster
from folium.template import Template
from branca.element import MacroElement
from flask import url_for
from flask_babel import gettext as _
from markupsafe import Markup

from layers.schema import (COLD_STORAGE_KINDS, COMMODITIES, CONSTRAINT_KINDS, FACILITY_STATUS,
                           INDUSTRY_KINDS, ROAD_CLASSES, get_schema)

from . import netmap, resmap
from .services import mapdata
from .i18n import label

# --------------------------------------------------------------------------- styles
#: Layers on the map, bottom to top, with whether they are shown on opening.
MAP_LAYERS = (
    ("constraints", False),
    ("boundaries", True),
    ("roads", True),
    ("relocation_settlements", True),
    ("industry_bases", True),
    ("cold_storage", True),
    ("towns", True),
    ("villages", True),
    ("pairings", False),
)

COMMODITY_COLORS = dict(zip(
    [c.value for c in COMMODITIES],
    ["#c0392b", "#8e44ad", "#27ae60", "#7f8c8d", "#a0522d", "#2c3e50", "#16a085",
     "#6b8e23", "#e84393", "#d4a017", "#e67e22"],
))
KIND_SHAPES = dict(zip([c.value for c in INDUSTRY_KINDS], ["circle", "square", "diamond", "triangle", "ring"]))
COLD_KIND_COLORS = dict(zip([c.value for c in COLD_STORAGE_KINDS], ["#1f78b4", "#6a3d9a", "#33a02c", "#e31a1c"]))
ROAD_STYLES = {
    "expressway": ("#1a5276", 4.5),
    "national": ("#c0392b", 4.0), "provincial": ("#e67e22", 3.5), "county": ("#b7950b", 3.0),
    "township": ("#5d6d7e", 2.0), "village": ("#95a5a6", 1.3), "other": ("#bdc3c7", 1.0),
}
CONSTRAINT_COLORS = dict(zip([c.value for c in CONSTRAINT_KINDS], ["#f1c40f", "#27ae60", "#e74c3c"]))
VILLAGE_COLORS = {"former_poor": "#d7301f", "other": "#2b8cbe"}
CHOROPLETH_COLORS = ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]


def style_spec(layer: str) -> dict:
    """Style rules the browser applies per feature (kept declarative and small)."""
    if layer == "villages":
        return {"kind": "village", "colors": VILLAGE_COLORS, "radius": {"base": 4, "k": 1.6, "max": 14}}
    if layer == "industry_bases":
        return {"kind": "symbol", "color_by": "commodity", "colors": COMMODITY_COLORS, "shape_by": "kind",
                "shapes": KIND_SHAPES, "default_color": "#34495e"}
    if layer == "cold_storage":
        return {"kind": "circle", "color_by": "kind", "colors": COLD_KIND_COLORS, "status_by": "status",
                "radius_by": "capacity_t", "radius": {"base": 4, "k": 0.17, "max": 18}}
    if layer == "relocation_settlements":
        return {"kind": "circle", "color": "#6a3d9a", "radius_by": "households",
                "radius": {"base": 4, "k": 0.4, "max": 18}, "square": True}
    if layer == "roads":
        return {"kind": "line", "color_by": "road_class",
                "styles": {k: {"color": c, "weight": w} for k, (c, w) in ROAD_STYLES.items()}}
    if layer == "boundaries":
        return {"kind": "line", "color_by": "level", "fill": False,
                "styles": {"county": {"color": "#2c3e50", "weight": 3},
                           "town": {"color": "#7f8c8d", "weight": 1.2, "dashArray": "4 3"}}}
    if layer == "constraints":
        return {"kind": "area", "color_by": "kind", "colors": CONSTRAINT_COLORS, "fillOpacity": 0.25}
    if layer == "towns":
        return {"kind": "label", "color": "#111"}
    if layer == "pairings":
        return {"kind": "circle", "color": "#008080", "radius": {"base": 5, "k": 0, "max": 5}}
    return {"kind": "circle", "color": "#555"}


def legend_sections() -> list[dict]:
    """Legend entries (translated) for the sidebar, one section per styled layer."""
    v = get_schema("villages")
    sections = [
        {"layer": "villages", "title": label(v), "items": [
            {"shape": "circle", "color": VILLAGE_COLORS["former_poor"], "text": label(v.field("former_poor"))},
            {"shape": "circle", "color": VILLAGE_COLORS["other"], "text": _("Other village")},
            {"shape": "circle-outline", "color": "#111", "text": label(v.field("key_village"))},
            {"shape": "note", "text": _("Circle size: monitored households")},
        ]},
        {"layer": "industry_bases", "title": label(get_schema("industry_bases")), "items": [
            *({"shape": KIND_SHAPES[c.value], "color": "#555", "text": label(c)} for c in INDUSTRY_KINDS),
            *({"shape": "square", "color": COMMODITY_COLORS[c.value], "text": label(c)} for c in COMMODITIES),
        ]},
        {"layer": "cold_storage", "title": label(get_schema("cold_storage")), "items": [
            *({"shape": "circle", "color": COLD_KIND_COLORS[c.value], "text": label(c)} for c in COLD_STORAGE_KINDS),
            *({"shape": f"status-{c.value}", "color": "#555", "text": label(c)} for c in FACILITY_STATUS),
            {"shape": "note", "text": _("Circle size: capacity")},
        ]},
        {"layer": "relocation_settlements", "title": label(get_schema("relocation_settlements")), "items": [
            {"shape": "square", "color": "#6a3d9a", "text": _("Size: relocated households")},
        ]},
        {"layer": "roads", "title": label(get_schema("roads")), "items": [
            {"shape": "line", "color": ROAD_STYLES[c.value][0], "weight": ROAD_STYLES[c.value][1], "text": label(c)}
            for c in ROAD_CLASSES
        ]},
        {"layer": "boundaries", "title": label(get_schema("boundaries")), "items": [
            {"shape": "line", "color": "#2c3e50", "weight": 3, "text": label(get_schema("boundaries").field("level").choice("county"))},
            {"shape": "dash", "color": "#7f8c8d", "weight": 1.5, "text": label(get_schema("boundaries").field("level").choice("town"))},
        ]},
        {"layer": "constraints", "title": label(get_schema("constraints")), "items": [
            {"shape": "area", "color": CONSTRAINT_COLORS[c.value], "text": label(c)} for c in CONSTRAINT_KINDS
        ]},
    ]
    return sections


def field_specs(layer: str, names: list[str]) -> list[dict]:
    schema = get_schema(layer)
    out = []
    for name in names:
        f = schema.field(name)
        spec = {"name": f.name, "label": label(f), "type": f.type}
        if f.unit:
            spec["unit"] = f.unit
        if f.choices:
            spec["choices"] = {c.value: label(c) for c in f.choices}
        out.append(spec)
    return out


# --------------------------------------------------------------------------- folium elements
class SiteMap(folium.Map):
    """A folium Map whose header only sizes the map (the site layout owns the page) and
    whose JS/CSS come from this app, not from CDNs (no jQuery/Bootstrap/awesome-markers)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>#{{ this.get_name() }} { position: relative; width: 100%; height: 100%; }</style>
            <script>L_NO_TOUCH = false; L_DISABLE_3D = false;</script>
        {% endmacro %}
        {% macro html(this, kwargs) %}
            <div class="folium-map rp-map" id={{ this.get_name()|tojson }}></div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map({{ this.get_name()|tojson }}, {
                center: {{ this.location|tojson }},
                crs: L.CRS.{{ this.crs }},
                ...{{ this.options|tojavascript }}
            });
            {%- if this.control_scale %}
            L.control.scale({imperial: false}).addTo({{ this.get_name() }});
            {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, *args, js: list, css: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_js = js
        self.default_css = css
        # markercluster needs the map's own zoom range (there may be no tile layer)
        self.options.setdefault("maxZoom", 18)
        self.options.setdefault("minZoom", 5)


class TextTooltip(folium.Tooltip):
    """A folium tooltip whose text goes in with ``textContent``: give data text (names) to
    folium as ``tooltip=TextTooltip(text)``, never as a plain string.

    folium's own Tooltip pastes its text into a JavaScript template literal that Leaflet
    renders as HTML, so a name with markup, a backtick or ``${...}`` would run.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip(function () {
                var div = document.createElement("div");
                div.textContent = {{ this.text|tojson }};
                return div;
            }, {{ this.options|tojavascript }});
        {% endmacro %}
        """
    )


class LocalMarkerCluster(MarkerCluster):
    def __init__(self, *args, js: list, css: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_js = js
        self.default_css = css


class DataLayer(MacroElement):
    """Hands a folium layer group to rpmap.js together with its data URL and style."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RP.register({{ this.group.get_name() }}, {{ this.spec|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, group, spec: dict):
        super().__init__()
        self._name = "DataLayer"
        self.group = group
        self.spec = spec


class MapApp(MacroElement):
    """Starts rpmap.js once every group is registered (added after the layer control)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            RP.start({{ this._parent.get_name() }}, {{ this.control.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, control, config: dict):
        super().__init__()
        self._name = "MapApp"
        self.control = control
        self.config = config


# --------------------------------------------------------------------------- basemaps
TIANDITU = "https://t{s}.tianditu.gov.cn/DataServer?T=%s_w&x={x}&y={y}&l={z}&tk=%s"


@dataclass(frozen=True)
class Basemap:
    tiles: list = field(default_factory=list)  # (url, name, attribution, overlay, subdomains)


def basemap(setting: str | None, tianditu_key: str | None) -> Basemap:
    setting = (setting or "none").strip()
    if setting == "none":
        return Basemap()
    if setting == "osm":
        return Basemap([("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "OpenStreetMap",
                         "&copy; OpenStreetMap contributors", False, "abc")])
    if setting in ("tianditu", "tianditu-vec", "tianditu-img"):
        if not tianditu_key:
            raise ValueError("the tianditu basemap needs RURALPLAN_TIANDITU_KEY")
        base, note = ("img", "cia") if setting == "tianditu-img" else ("vec", "cva")
        attribution = "&copy; 天地图 Tianditu"
        return Basemap([
            (TIANDITU % (base, tianditu_key), _("Tianditu"), attribution, False, "01234567"),
            (TIANDITU % (note, tianditu_key), _("Tianditu labels"), attribution, True, "01234567"),
        ])
    if "{z}" in setting and setting.startswith(("http://", "https://", "/")):
        host = urlsplit(setting).netloc or _("local tile server")
        return Basemap([(setting, _("Basemap"), f"&copy; {host}", False, "abc")])
    raise ValueError(f"unknown basemap setting {setting!r}: none, osm, tianditu-vec, tianditu-img or an XYZ URL")


def tile_hosts(setting: str | None, tianditu_key: str | None = "KEY") -> set[str]:
    """Host names the configured basemap may load tiles from (the only external requests)."""
    hosts = set()
    for url, *_rest, subdomains in basemap(setting, tianditu_key or "KEY").tiles:
        netloc = urlsplit(url).netloc
        hosts.add(netloc)  # the template itself, as written in the page
        for s in subdomains if "{s}" in netloc else [""]:
            hosts.add(netloc.replace("{s}", s))
    return hosts


# --------------------------------------------------------------------------- page maps
def site_map(bounds, *, config, js=(), css=(), fit: bool = False, **options) -> SiteMap:
    """A :class:`SiteMap` of the county with the configured basemap, for any page.

    ``bounds`` (``[[south, west], [north, east]]`` or None) centres the map (and, with
    ``fit``, fits it); ``config`` is the Flask app config (basemap, Tianditu key);
    ``js``/``css`` are extra ``(name, url)`` assets after Leaflet's own; ``options`` go to
    :class:`folium.Map` (e.g. ``prefer_canvas=True``).
    """
    js = [("leaflet", url_for("vendor.asset", package="leaflet", filename="leaflet.js")), *js]
    css = [("leaflet_css", url_for("vendor.asset", package="leaflet", filename="leaflet.css")), *css]
    options = {"zoom_start": 10, "tiles": None, "control_scale": True, "zoom_snap": 0.5, **options}
    m = SiteMap(location=_center(bounds), js=js, css=css, **options)
    for url, name, attribution, overlay, subdomains in basemap(
            config.get("RURALPLAN_BASEMAP"), config.get("RURALPLAN_TIANDITU_KEY")).tiles:
        folium.TileLayer(url, name=name, attr=attribution, overlay=overlay, subdomains=subdomains,
                         max_zoom=18).add_to(m)
    if fit and bounds:
        m.fit_bounds(bounds)
    return m


#: Road classes drawn as context under other maps (the explorer shows them all).
CONTEXT_ROAD_CLASSES = ("expressway", "national", "provincial", "county")


def context_geojson(ws) -> dict:
    """Town/county boundaries and the major roads as one GeoJSON (from the explorer's cached payloads)."""
    import json

    def build():
        features = json.loads(mapdata.map_layer_geojson(ws, "boundaries"))["features"]
        features += [f for f in json.loads(mapdata.map_layer_geojson(ws, "roads"))["features"]
                     if f["properties"].get("road_class") in CONTEXT_ROAD_CLASSES]
        # only what the styles need: the page carries the geometry, not the attributes
        keep = ("level", "road_class")
        # ids up front: folium would otherwise add them to this cached dict on every render
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": str(i), "geometry": f["geometry"],
             "properties": {k: f["properties"][k] for k in keep if k in f["properties"]}}
            for i, f in enumerate(f for f in features if f.get("geometry"))]}

    return mapdata.cached(ws, ("context", CONTEXT_ROAD_CLASSES), build, layers=("boundaries", "roads"))


def context_style(feature: dict) -> dict:
    """The explorer's boundary and road styles, faded: a base that does not compete with the data."""
    p = feature.get("properties") or {}
    if "road_class" in p:
        color, weight = ROAD_STYLES.get(p["road_class"], ROAD_STYLES["other"])
        return {"color": color, "weight": max(1.0, weight * 0.6), "opacity": 0.45, "interactive": False}
    if p.get("level") == "county":
        return {"color": "#2c3e50", "weight": 2.5, "opacity": 0.6, "fill": False, "interactive": False}
    return {"color": "#7f8c8d", "weight": 1, "opacity": 0.6, "dashArray": "4 3", "fill": False,
            "interactive": False}


def add_context(m: folium.Map, ws, *, control: bool = True) -> folium.FeatureGroup | None:
    """Add boundaries and major roads under everything else (non-interactive: clicks go to the map)."""
    data = context_geojson(ws)
    if not data["features"]:
        return None
    group = folium.FeatureGroup(name=_("Boundaries and main roads"), show=True, control=control)
    folium.GeoJson(data, style_function=context_style, control=False, smooth_factor=1.5).add_to(group)
    return group.add_to(m)


# --------------------------------------------------------------------------- assembly
@dataclass
class MapPage:
    parts: dict
    legend: list
    towns: list
    indicators: list
    inline: dict  # layer -> JSON text (only when inlining)


def build_map(ws, *, include_sensitive: bool, config, user=None) -> MapPage:
    """Build the explorer's folium map for workspace ``ws``.

    ``config`` is the Flask app config (basemap, clustering threshold, inlining);
    ``user`` decides which household-level rows inlined data holds (:mod:`web.visibility`).
    """
    bounds = mapdata.workspace_bounds(ws)
    info = mapdata.layer_counts(ws)
    m = site_map(bounds, config=config, prefer_canvas=True,
                 js=[("rpmap", url_for("static", filename="js/rpmap.js")),
                     ("rpnetwork", url_for("static", filename="js/rpnetwork.js")),
                     ("rpresilience", url_for("static", filename="js/rpresilience.js"))],
                 css=[("rpmap_css", url_for("static", filename="css/map.css")),
                      ("rpnetwork_css", url_for("static", filename="css/network.css"))])

    inline = {}
    inline_mode = bool(config.get("RURALPLAN_MAP_INLINE"))
    choropleth = folium.FeatureGroup(name=_("Towns by indicator"), show=False).add_to(m)
    DataLayer(choropleth, {
        "name": "choropleth", "label": _("Towns by indicator"), "kind": "choropleth",
        "url": url_for("map.choropleth_data"), "colors": CHOROPLETH_COLORS,
    }).add_to(m)
    if inline_mode:
        inline["choropleth"] = mapdata.town_choropleth_geojson(ws).decode("utf-8")
    for layer, show in MAP_LAYERS:
        schema = get_schema(layer)
        if not schema.spatial:
            continue
        count = info.get(layer, 0)
        cluster = layer == "villages" and count > int(config.get("RURALPLAN_CLUSTER_THRESHOLD", 300))
        name = f"{label(schema)} ({count})"
        if cluster:
            group = LocalMarkerCluster(
                name=name, show=show and count > 0,
                options={"disableClusteringAtZoom": 12, "chunkedLoading": True, "showCoverageOnHover": False,
                         "maxClusterRadius": 40},
                js=[("markercluster", url_for("vendor.asset", package="markercluster",
                                              filename="leaflet.markercluster.js"))],
                css=[("markercluster_css", url_for("vendor.asset", package="markercluster", filename="MarkerCluster.css")),
                     ("markercluster_default_css", url_for("vendor.asset", package="markercluster",
                                                           filename="MarkerCluster.Default.css"))],
            ).add_to(m)
        else:
            group = folium.FeatureGroup(name=name, show=show and count > 0).add_to(m)
        fields = mapdata.map_fields(layer, include_sensitive=include_sensitive)
        DataLayer(group, {
            "name": layer, "label": label(schema), "count": count, "cluster": cluster,
            "url": url_for("map.layer_data", layer=layer), "id_field": schema.id_field,
            "fields": field_specs(layer, fields), "style": style_spec(layer),
        }).add_to(m)
        if inline_mode and count:
            inline[layer] = mapdata.map_layer_geojson(ws, layer, include_sensitive=include_sensitive,
                                                      user=user).decode("utf-8")
    control = folium.LayerControl(position="topright", collapsed=False).add_to(m)
    MapApp(control, {
        "bounds": bounds, "inline": inline_mode, "i18n": _js_messages(), "network": netmap.js_config(),
        "resilience": resmap.js_config(),
        "indicators": {i.name: {"unit": i.unit, "decimals": i.decimals} for i in mapdata.INDICATORS},
    }).add_to(m)
    towns = mapdata.town_names(ws) if info.get("villages") else []
    return MapPage(map_parts(m), legend_sections(), towns, indicator_choices(), inline)


def indicator_choices() -> list[tuple[str, str]]:
    names = {
        "monitored_per_1000": _("Monitored households per 1,000 people"),
        "former_poor_share": _("Share of former poor villages (%)"),
        "income_per_capita": _("Income per capita (yuan)"),
        "population": _("Population"),
    }
    return [(i.name, names[i.name]) for i in mapdata.INDICATORS]


def _js_messages() -> dict:
    return {
        "yes": _("yes"), "no": _("no"), "fullscreen": _("Fullscreen"), "exit_fullscreen": _("Exit fullscreen"),
        "not_found": _("No village matches “%(q)s”.", q="{q}"), "loading": _("Loading map data…"),
        "load_failed": _("Map data could not be loaded."), "no_data": _("no data"),
        "villages_shown": _("%(n)s of %(total)s villages shown", n="{n}", total="{total}"),
        "towns": _("Town"),
    }


def _center(bounds):
    if not bounds:
        return [34.0, 110.0]
    (s, w), (n, e) = bounds
    return [(s + n) / 2, (w + e) / 2]


def map_parts(m: folium.Map) -> dict:
    """The map's header (links, styles), html (the div) and script, for a Jinja layout."""
    figure = m.get_root()
    figure.render()
    return {
        "header": Markup(figure.header.render()),
        "html": Markup(figure.html.render()),
        "script": Markup(figure.script.render()),
    }
