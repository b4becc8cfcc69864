"""Each of the app's maps as a printable sheet (:class:`web.services.mapprint.MapSheet`).

The drawing is :mod:`web.services.mapprint` (Flask-free, one renderer for all maps);
this module picks what each map shows, with the same colours as the screen, and the
text in the reader's language (flask-babel). The Flask views in
:mod:`web.views.mapprint` only read the request and hand the bytes back.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import shapely
from flask_babel import gettext as _

from layers import proposals as P
from layers.schema import (COLD_STORAGE_KINDS, CONSTRAINT_KINDS, INDUSTRY_KINDS, ROAD_CLASSES, get_schema)

from .formatting import BEIJING
from .i18n import current_lang, label
from .mapping import (COLD_KIND_COLORS, CONSTRAINT_COLORS, CONTEXT_ROAD_CLASSES, ROAD_STYLES, VILLAGE_COLORS)
from .services.mapprint import BadPrintOption, MapLayer, MapSheet, Symbol, TablePage, TableSection

#: Proposal status colours, shared by the screen (``rpprojects.js`` gets them in its config)
#: and the printed map. No status shares the alternatives' colour (:data:`ROLE_STYLES`).
STATUS_COLORS = {
    "draft": "#e6ab02", "submitted": "#1f78b4", "returned": "#ff7f00", "town_approved": "#66a61e",
    "sector_approved": "#00838f", "county_approved": "#7570b3", "published": "#e7298a",
    "in_progress": "#a6761d", "completed": "#333333", "rejected": "#999999",
}
#: Evaluation layers of a proposal's map (Leaflet circle-marker options; ``dashArray`` marks
#: the alternatives: a dark-green dashed ring, never a filled dot like a proposal's).
ROLE_STYLES = {
    "site": {"color": "#c0392b", "radius": 9, "weight": 3, "fillOpacity": 0.9},
    "catchment_village": {"color": "#2b8cbe", "radius": 4, "weight": 1, "fillOpacity": 0.7},
    "overlapping": {"color": "#e67e22", "radius": 8, "weight": 3, "fillOpacity": 0.3},
    "best_alternative": {"color": "#00441b", "fillColor": "#ffffff", "radius": 11, "weight": 4,
                         "fillOpacity": 0.9, "dashArray": "4 3"},
    "alternative": {"color": "#00441b", "fillColor": "#ffffff", "radius": 6, "weight": 2, "fillOpacity": 0.6,
                    "dashArray": "3 3"},
    "conflict": {"color": "#e74c3c", "radius": 6, "weight": 2, "fillOpacity": 0.35},
}
PROPOSAL_RADIUS = 8  # a draft is as visible as any other proposal
PAIRING_STATUS_COLORS = {"covered": "#1a9850", "partial": "#fdae61", "gap": "#d73027", "not_required": "#9e9e9e"}
INDUSTRY_MARKERS = dict(zip([c.value for c in INDUSTRY_KINDS], ["o", "s", "D", "^", "o"]))


# --------------------------------------------------------------------------- common text
def sheet_date(now: dt.datetime | None = None) -> str:
    """"制图日期：2026-11-30 18:05（北京时间）": the time the sheet was made, in Beijing time."""
    local = (now or dt.datetime.now(dt.UTC)).astimezone(BEIJING)
    return _("Map date: %(when)s (Beijing time)", when=local.strftime("%Y-%m-%d %H:%M"))


def county_name(ws) -> str:
    meta = ws.meta()
    name = meta.get("county_name_en") if current_lang() == "en" else None
    return str(name or meta.get("county_name") or "")


def sheet_source(ws) -> str:
    return _("Data source: %(county)s workspace %(file)s (ruralplan)", county=county_name(ws), file=ws.path.name)


def _sheet(ws, title: str, layers, *, subtitle: str = "") -> MapSheet:
    county = county_name(ws)
    return MapSheet(title=f"{county} {title}".strip(), subtitle=subtitle, layers=tuple(layers),
                    source=sheet_source(ws), date=sheet_date(), legend_title=_("Legend"), north=_("N"),
                    km=_("km"))


def _geoms(frame) -> tuple:
    """The non-empty geometries of ``frame``."""
    if frame is None or not len(frame):
        return ()
    return tuple(g for g in frame.geometry if g is not None and not g.is_empty)


def context_layers(ws, *, road_classes=CONTEXT_ROAD_CLASSES, faded: bool = True, boundaries: bool = True,
                   bbox=None) -> list[MapLayer]:
    """Boundaries (county, towns; unless ``boundaries`` is False) and roads of ``road_classes``:
    the base every sheet is drawn on (only what meets ``bbox`` when given)."""
    out = []
    b = ws.read_layer("boundaries", bbox=bbox) if boundaries else ()
    level = get_schema("boundaries").field("level")
    if len(b):
        out.append(MapLayer(label(level.choice("town")), Symbol("line", "#7f8c8d", size=0.8, linestyle="--"),
                            _geoms(b[b["level"] == "town"])))
        out.append(MapLayer(label(level.choice("county")), Symbol("line", "#2c3e50", size=1.8),
                            _geoms(b[b["level"] == "county"])))
    roads = ws.read_layer("roads", bbox=bbox) if road_classes else ()
    if len(roads):
        for c in ROAD_CLASSES:
            if c.value not in road_classes:
                continue
            color, weight = ROAD_STYLES[c.value]
            out.append(MapLayer(label(c), Symbol("line", color, size=max(0.4, weight * (0.35 if faded else 0.45)),
                                                 alpha=0.7 if faded else 1.0),
                                _geoms(roads[roads["road_class"] == c.value])))
    return out


# --------------------------------------------------------------------------- the maps
#: The explorer's layers (their names on the page, ``spec.name`` in rpmap.js) that print,
#: in drawing order (areas under lines under points).
EXPLORER_PRINTED = ("constraints", "boundaries", "roads", "relocation_settlements", "industry_bases",
                    "cold_storage", "villages", "towns")
#: Layers of the page that are known but not printed: household-level pairing links and the
#: town choropleth (a view on the page, not a layer of the sheet).
EXPLORER_NOT_PRINTED = ("pairings", "choropleth")


def explorer_layers(text: str | None) -> tuple[str, ...] | None:
    """The ``layers`` query of ``/print/map`` (comma separated page layer names) → names;
    None when absent (every printed layer). An unknown name is a
    :class:`~web.services.mapprint.BadPrintOption` naming the key (400)."""
    if text is None:
        return None
    names = tuple(dict.fromkeys(x.strip() for x in str(text).split(",") if x.strip()))
    known = EXPLORER_PRINTED + EXPLORER_NOT_PRINTED
    for name in names:
        if name not in known:
            raise BadPrintOption(field="layers", allowed=", ".join(known), value=name[:40])
    return names


def explorer_sheet(ws, *, layers=None, bbox=None) -> MapSheet:
    """The map explorer as the user left it: the page's visible ``layers`` (names of
    :data:`EXPLORER_PRINTED`; None: all of them; households and pairings are never printed)
    within ``bbox`` (west, south, east, north in degrees; None: the whole county)."""
    wanted = set(EXPLORER_PRINTED if layers is None else layers)
    out = []
    if "constraints" in wanted:
        cons = ws.read_layer("constraints", bbox=bbox)
        for c in CONSTRAINT_KINDS:
            if len(cons):
                out.append(MapLayer(label(c), Symbol("area", CONSTRAINT_COLORS[c.value], alpha=0.3),
                                    _geoms(cons[cons["kind"] == c.value])))
    out += context_layers(ws, road_classes=tuple(c.value for c in ROAD_CLASSES) if "roads" in wanted else (),
                          faded=False, boundaries="boundaries" in wanted, bbox=bbox)
    if "relocation_settlements" in wanted:
        reloc = ws.read_layer("relocation_settlements", bbox=bbox)
        out.append(MapLayer(label(get_schema("relocation_settlements")), Symbol("point", "#6a3d9a", 6, marker="s"),
                            _geoms(reloc)))
    if "industry_bases" in wanted:
        bases = ws.read_layer("industry_bases", bbox=bbox)
        for c in INDUSTRY_KINDS:
            if len(bases):
                out.append(MapLayer(_("%(layer)s: %(kind)s", layer=label(get_schema("industry_bases")), kind=label(c)),
                                    Symbol("point", "#34495e", 6, marker=INDUSTRY_MARKERS[c.value],
                                           fill=c.value != "park"),
                                    _geoms(bases[bases["kind"] == c.value])))
    if "cold_storage" in wanted:
        cold = ws.read_layer("cold_storage", bbox=bbox)
        for c in COLD_STORAGE_KINDS:
            if len(cold):
                out.append(MapLayer(label(c), Symbol("point", COLD_KIND_COLORS[c.value], 7, edgecolor="#111"),
                                    _geoms(cold[cold["kind"] == c.value])))
    if "villages" in wanted:
        villages = ws.read_layer("villages", bbox=bbox)
        v = get_schema("villages")
        if len(villages):
            poor = villages["former_poor"].fillna(False).astype(bool)
            out.append(MapLayer(_("Other village"), Symbol("point", VILLAGE_COLORS["other"], 3.5),
                                _geoms(villages[~poor])))
            out.append(MapLayer(label(v.field("former_poor")), Symbol("point", VILLAGE_COLORS["former_poor"], 4.5),
                                _geoms(villages[poor])))
    if "towns" in wanted:
        towns = ws.read_layer("towns", bbox=bbox)
        out.append(MapLayer(label(get_schema("towns")), Symbol("point", "#111111", 7, marker="^"),
                            _geoms(towns)))
    sheet = _sheet(ws, _("Map"), out)
    return replace(sheet, bounds=tuple(bbox)) if bbox is not None else sheet


def planning_sheet(ws, payload: dict, *, subtitle: str = "", context: list[MapLayer] | None = None) -> MapSheet:
    """A placement result (the planning page's payload): service areas, allocations, sites,
    drawn on ``context`` (default :func:`context_layers`; given when several sheets share it)."""
    def shapes(collection, keep=lambda p: True):
        return tuple(shapely.geometry.shape(f["geometry"]) for f in (collection or {}).get("features", [])
                     if f.get("geometry") and keep(f.get("properties") or {}))

    layers = list(context_layers(ws) if context is None else context)
    layers += [
        MapLayer(_("service area of a new site"), Symbol("area", "#e41a1c", alpha=0.13, edgecolor="#e41a1c"),
                 shapes(payload.get("areas"))),
        MapLayer(_("village → its site"), Symbol("line", "#4a6580", size=0.5, alpha=0.6),
                 shapes(payload.get("allocations"))),
        MapLayer(_("existing facility (kept open)"), Symbol("point", "#555555", 6, edgecolor="#111"),
                 shapes(payload.get("sites"), lambda p: bool(p.get("fixed")))),
        MapLayer(_("suggested new site"), Symbol("point", "#e41a1c", 12, marker="*", edgecolor="#111"),
                 shapes(payload.get("sites"), lambda p: not p.get("fixed"))),
    ]
    return _sheet(ws, _("Site plan"), layers, subtitle=subtitle)


def _n(v, digits: int = 1) -> str:
    """A number as the compare page shows it (– when unknown)."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return _("yes") if v else _("no")
    if isinstance(v, int):
        return f"{v:,d}"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return str(v)


def _pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}%"


def _signed(v, *, digits: int = 1, percent: bool = False) -> str:
    if v is None:
        return "–"
    text = f"{100 * v:+.1f}%" if percent else f"{v:+,.{digits}f}"
    return "0" if float(text.rstrip("%").replace(",", "")) == 0 else text


def compare_pages(ws, a, b, data: dict, *, param_label, value_text) -> tuple:
    """Two saved plans (:func:`web.services.planning.compare`) to print: plan A's sheet, plan
    B's sheet (the same frame, so they compare page by page) and the comparison tables
    (parameters, totals, new sites, by town) — the compare page's content."""
    sheets, context = [], context_layers(ws)  # the county's base, read once for both
    for tag, s in (("A", a), ("B", b)):
        sheet = planning_sheet(ws, s.payload, subtitle=f"{tag}: {s.name}", context=context)
        sheets.append(replace(sheet, title=f"{sheet.title} {tag}"))
    # one frame for both: what both sheets show (the county context is the same)
    geoms = [g for sheet in sheets for layer in sheet.layers for g in layer.geometries]
    if geoms:
        w, s_, e, n = shapely.total_bounds(shapely.GeometryCollection(geoms))
        sheets = [replace(sheet, bounds=(w, s_, e, n)) for sheet in sheets]
    totals_label = {"demand": "demand_total", "candidates": "candidates_n"}
    totals = []
    for row in data["totals"]:
        if row["key"] == "gap":
            cells = (_pct(row["a"]), _pct(row["b"]), _signed(row["diff"], percent=True))
        elif row["key"] == "seconds":
            cells = (_n(row["a"], 3), _n(row["b"], 3), _signed(row["diff"], digits=3))
        else:
            cells = (_n(row["a"]), _n(row["b"]), _signed(row["diff"]))
        totals.append((param_label(totals_label.get(row["key"], row["key"])), *cells))
    site_header = (_("Site"), _("Demand served"), _("Villages"), _("Loss if removed"), _("In both"))

    def sites(rows):
        return tuple((str(x.get("name") or x.get("id")), _n(x.get("demand_served")), _n(x.get("demand_count")),
                      _n(x.get("loss_if_removed")), "✓" if x.get("shared") else "") for x in rows)

    covered, share, mean = _("Covered after"), _("Share"), _("Mean minutes")
    town_header = (_("Town"), _("Demand"), f"{covered} A", f"{covered} B", _("B − A"), f"{share} A", f"{share} B",
                   _("B − A"), f"{mean} A", f"{mean} B", _("B − A"))
    towns = tuple((r.get("town") or "–", _n(r.get("demand")), _n(r.get("covered_after_a")),
                   _n(r.get("covered_after_b")), _signed(r.get("covered_after_diff")), _pct(r.get("share_after_a")),
                   _pct(r.get("share_after_b")), _signed(r.get("share_after_diff"), percent=True),
                   _n(r.get("mean_minutes_after_a")), _n(r.get("mean_minutes_after_b")),
                   _signed(r.get("mean_minutes_after_diff"))) for r in data["by_town"])
    table = TablePage(
        title=f"{county_name(ws)} {_('Compare scenarios')}: A {a.name} · B {b.name}".strip(),
        sections=(
            TableSection(_("Parameters"), ("", "A", "B"),
                         tuple((param_label(r["key"]), value_text(r["key"], r["a"]), value_text(r["key"], r["b"]))
                               for r in data["params"])),
            TableSection(_("Totals"), ("", "A", "B", _("B − A")), tuple(totals)),
            TableSection(_("New sites of %(tag)s", tag="A"), site_header, sites(data["sites_a"])),
            TableSection(_("New sites of %(tag)s", tag="B"), site_header, sites(data["sites_b"])),
            TableSection(_("By town"), town_header, towns),
        ),
        source=sheet_source(ws), date=sheet_date())
    return sheets[0], sheets[1], table


def pairings_sheet(ws, villages: list[dict], gaps: list[dict], target_points: dict) -> MapSheet:
    """Villages by pairing coverage and the gaps (``villages``/``gaps`` as the page shows them)."""
    texts = {"covered": _("all requirements met"), "partial": _("partly met"), "gap": _("none met"),
             "not_required": _("no pairing required")}
    layers = context_layers(ws)
    for status, text in texts.items():
        pts = tuple(shapely.Point(target_points[f"village:{v['code']}"]) for v in villages
                    if v["status"] == status and f"village:{v['code']}" in target_points)
        layers.append(MapLayer(text, Symbol("point", PAIRING_STATUS_COLORS[status], 5 if status != "not_required"
                                            else 3.5), pts))
    gap_pts = []
    for gap in gaps:
        loc = (f"village:{gap['village_code']}" if gap["target_kind"] == "household"
               else f"{gap['target_kind']}:{gap['target_id']}")
        if loc in target_points:
            gap_pts.append(shapely.Point(target_points[loc]))
    layers.append(MapLayer(_("gap"), Symbol("point", "#d73027", 11, fill=False), tuple(gap_pts)))
    return _sheet(ws, _("Assistance pairings"), layers)


def province_sheet(outlines: list[dict], value_of: dict, legend: list[tuple[str, str]], *, indicator: str,
                   folder: str, color_of) -> MapSheet:
    """A batch run's indicator per county (the province page's choropleth): one legend
    entry per class, counties without a figure in grey."""
    layers = []
    shapes = [(shapely.geometry.shape(f["geometry"]), value_of.get((f.get("properties") or {}).get("workspace"),
                                                                  float("nan")))
              for f in outlines if f.get("geometry")]
    for color, text in legend:
        layers.append(MapLayer(text, Symbol("area", color, edgecolor="#555555"),
                               tuple(g for g, v in shapes if v == v and color_of(v) == color)))
    layers.append(MapLayer(_("no data"), Symbol("area", "#cccccc", edgecolor="#555555"),
                           tuple(g for g, v in shapes if v != v)))
    return MapSheet(title=f"{_('Province')} · {indicator}", layers=tuple(layers),
                    source=_("Data source: ruralplan batch results %(folder)s", folder=folder),
                    date=sheet_date(), legend_title=_("Legend"), north=_("N"), km=_("km"))


def status_text(status: str) -> str:
    c = P.choice_of(P.STATUSES, status)
    return label(c) if c else status


def status_legend() -> list[dict]:
    """The proposal status colours (screen legend), in workflow order."""
    return [{"color": STATUS_COLORS[c.value], "text": label(c), "value": c.value} for c in P.STATUSES]


def role_legend() -> list[dict]:
    """The evaluation layers of a proposal's map (screen legend)."""
    return [{"role": role, "text": text, **ROLE_STYLES[role]} for role, text in role_texts().items()]


def role_texts() -> dict[str, str]:
    return {"catchment_village": _("Village in the catchment"),
            "overlapping": _("Existing facility or approved project serving the same area"),
            "best_alternative": _("Best alternative site"), "alternative": _("Alternative site"),
            "conflict": _("Constraint conflict")}


def _role_symbol(role: str) -> Symbol:
    s = ROLE_STYLES[role]
    if role in ("best_alternative", "alternative"):
        return Symbol("point", s["color"], 13 if role == "best_alternative" else 8, marker="*")
    return Symbol("point", s["color"], s["radius"] * 0.9, alpha=min(1.0, s["fillOpacity"] + 0.2))


def projects_sheet(ws, proposals: list, *, title: str | None = None, evaluation_features: list | None = None,
                   subtitle: str = "") -> MapSheet:
    """Proposals coloured by status; with ``evaluation_features`` (a proposal's evaluation,
    as its detail page draws them) also its catchment, overlaps, alternatives and conflicts."""
    layers = context_layers(ws)
    n_context = len(layers)
    roles = role_texts()
    for role in ("conflict", "catchment_village", "overlapping"):
        geoms = tuple(shapely.geometry.shape(f["geometry"]) for f in evaluation_features or []
                      if (f.get("properties") or {}).get("role") == role and f.get("geometry"))
        sym = _role_symbol(role)
        if role == "conflict":
            sym = Symbol("area", ROLE_STYLES[role]["color"], alpha=0.35)
        layers.append(MapLayer(roles[role], sym, geoms))
    for c in P.STATUSES:
        geoms = tuple(p.geometry for p in proposals if p.status == c.value and p.geometry is not None)
        layers.append(MapLayer(_("Proposal: %(status)s", status=label(c)),
                               Symbol("point", STATUS_COLORS[c.value], 8, edgecolor="#111"), geoms))
    for role in ("alternative", "best_alternative"):
        geoms = tuple(shapely.geometry.shape(f["geometry"]) for f in evaluation_features or []
                      if (f.get("properties") or {}).get("role") == role and f.get("geometry"))
        layers.append(MapLayer(roles[role], _role_symbol(role), geoms))
    sheet = _sheet(ws, title or _("Project library"), layers, subtitle=subtitle)
    if evaluation_features is not None:  # one proposal: its surroundings, not the whole county
        focus = [g for layer in layers[n_context:] for g in layer.geometries]
        if focus:
            w, s, e, n = shapely.total_bounds(shapely.GeometryCollection(focus))
            pad = max(e - w, n - s, 0.02) * 0.25
            sheet = replace(sheet, bounds=(w - pad, s - pad, e + pad, n + pad))
    return sheet
