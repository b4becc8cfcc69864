"""Print and export of every map: ``/print/<map>?paper=a4|a3&orientation=landscape|portrait&format=…``.

``format=html`` (the default) is a print view: the sheet as inline SVG on a page whose
``@page`` size is the chosen paper, for the browser's print-to-PDF; ``pdf``, ``png``
(``dpi``) and ``svg`` download the same sheet drawn on the server by
:mod:`web.services.mapprint`. The map's own query (the planning question, the project
list's filters) passes through unchanged, so the sheet shows what the page showed.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from flask import Blueprint, Response, g, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from layers import proposals as P

from .. import printmaps
from ..app import current_workspace
from ..auth import permission_required
from ..services import mapprint
from .apispec import heavy_run

bp = Blueprint("mapprint", __name__, url_prefix="/print")

#: Query keys of the print itself; every other key belongs to the map's own question.
PRINT_KEYS = ("paper", "orientation", "format", "dpi")


def _options() -> dict:
    # "A3" as people write it on the page and in the README
    fmt = request.args.get("format", "html").strip().lower()
    paper = request.args.get("paper", "a4").strip().lower()
    orientation = request.args.get("orientation", "landscape").strip().lower()
    try:
        dpi = int(request.args.get("dpi", "150"))
    except ValueError:
        dpi = -1
    mapprint.check_options(paper=paper, orientation=orientation, fmt="svg" if fmt == "html" else fmt,
                           dpi=dpi if fmt == "png" else None)  # BadPrintOption: 400, translated
    return {"fmt": fmt, "paper": paper, "orientation": orientation, "dpi": dpi}


def _map_query() -> dict:
    return {k: v for k, v in request.args.items(multi=True) if k not in PRINT_KEYS}


def _respond(sheet: mapprint.MapSheet, stem: str, page_url: str) -> Response:
    opts = _options()
    if opts["fmt"] != "html":
        rendered = mapprint.render_sheet(sheet, paper=opts["paper"], orientation=opts["orientation"],
                                         fmt=opts["fmt"], dpi=opts["dpi"])
        response = Response(rendered.body, mimetype=rendered.mimetype)
        filename = f"{stem}-{opts['paper'].upper()}-{opts['orientation']}.{rendered.extension}"
        # RFC 5987: a Chinese file name survives in every browser; the ASCII one is the fallback
        response.headers["Content-Disposition"] = (f"attachment; filename=\"map.{rendered.extension}\"; "
                                                   f"filename*=UTF-8''{quote(filename)}")
        return response
    rendered = mapprint.render_sheet(sheet, paper=opts["paper"], orientation=opts["orientation"], fmt="svg")
    svg = rendered.body.decode("utf-8")
    svg = svg[svg.index("<svg"):]
    # the sheet fills the page box; the viewBox keeps its proportions
    svg = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 width="100%" height="100%"', svg, count=1)
    width_mm, height_mm = rendered.size_mm
    query = _map_query()

    def link(**change):
        return url_for(request.endpoint, **request.view_args, **{**query, **{k: opts[k] for k in
                                                                            ("paper", "orientation")}, **change})

    return render_template("print/sheet.html", svg=Markup(svg), sheet=sheet, opts=opts, width_mm=width_mm,
                           height_mm=height_mm, link=link, page_url=page_url, legend=rendered.legend,
                           papers=[("a4", "A4"), ("a3", "A3")],
                           orientations=[("landscape", _("Landscape")), ("portrait", _("Portrait"))],
                           dpis=mapprint.DPI_CHOICES, query=query)


@bp.route("/map")
@permission_required("read")
def explorer():
    """The explorer as the user left it: ``layers`` (the page's visible layer names, comma
    separated; absent: every printed layer) and ``bbox`` (west,south,east,north in degrees;
    absent: the county), which the page writes into its print link (rpmap.js)."""
    ws = current_workspace()
    layers = (printmaps.explorer_layers(",".join(request.args.getlist("layers")))
              if "layers" in request.args else None)  # an unknown name: 400 naming "layers"
    bbox = mapprint.parse_bbox(request.args.get("bbox"))  # 400 naming "bbox"
    return _respond(printmaps.explorer_sheet(ws, layers=layers, bbox=bbox), _("map"), url_for("map.index"))


@bp.route("/planning")
@permission_required("read")
def planning():
    from ..services import planning as planning_service
    from .planning import demand_text, model_choices

    ws = current_workspace()
    planning_service.PlacementQuestion.check_known_args(request.args, also=PRINT_KEYS)
    params = planning_service.PlacementQuestion.from_args(request.args)
    with heavy_run():
        payload = planning_service.run(ws, params)
    model = dict((m, name) for m, name, _about in model_choices()).get(params.model, params.model)
    subtitle = f"{model} · {demand_text(params.demand)}"
    if payload.get("scenario"):
        subtitle += f" · {payload['scenario']}"
    return _respond(printmaps.planning_sheet(ws, payload, subtitle=subtitle), _("site plan"),
                    url_for("planning.index"))


@bp.route("/planning/compare")
@permission_required("read")
def planning_compare():
    """Two saved plans (``a``, ``b``: scenario ids, as ``/planning/compare``): plan A's map, plan
    B's map (one frame) and the comparison tables, one per page — the print view (``format=html``)
    or one PDF (``format=pdf``)."""
    from ..services import planning as planning_service
    from .apispec import validate_query
    from .planning import CompareQuery, _scenario_or_404, param_label, value_text

    opts = _options()
    if opts["fmt"] not in ("html", "pdf"):  # several pages: no single PNG/SVG
        raise mapprint.BadPrintOption(field="format", allowed="html, pdf", value=opts["fmt"])
    query = validate_query(CompareQuery)
    a, b = _scenario_or_404(query.a), _scenario_or_404(query.b)
    ws = current_workspace()
    sheet_a, sheet_b, table = printmaps.compare_pages(ws, a, b, planning_service.compare(a, b),
                                                      param_label=param_label, value_text=value_text)
    page_url = url_for("planning.compare", a=a.id, b=b.id)
    if opts["fmt"] == "pdf":
        body = mapprint.render_pdf_pages((sheet_a, sheet_b, table), paper=opts["paper"],
                                         orientation=opts["orientation"], title=table.title)
        response = Response(body, mimetype="application/pdf")
        filename = f"{_('compare')}-{a.id}-{b.id}-{opts['paper'].upper()}-{opts['orientation']}.pdf"
        response.headers["Content-Disposition"] = (f"attachment; filename=\"compare.pdf\"; "
                                                   f"filename*=UTF-8''{quote(filename)}")
        return response
    pages, legends = [], []
    for sheet in (sheet_a, sheet_b):
        rendered = mapprint.render_sheet(sheet, paper=opts["paper"], orientation=opts["orientation"], fmt="svg")
        pages.append(_fill_svg(rendered.body.decode("utf-8")))
        legends.append("|".join(rendered.legend))
    pages += [_fill_svg(svg) for svg in mapprint.render_table_svg(table, paper=opts["paper"],
                                                                   orientation=opts["orientation"])]
    width_mm, height_mm = mapprint.page_size_mm(opts["paper"], opts["orientation"])
    query = _map_query()

    def link(**change):
        return url_for(request.endpoint, **{**query, **{k: opts[k] for k in ("paper", "orientation")}, **change})

    return render_template("print/pages.html", title=table.title, pages=pages, legends=legends, opts=opts,
                           width_mm=width_mm, height_mm=height_mm, link=link, page_url=page_url, query=query,
                           papers=[("a4", "A4"), ("a3", "A3")],
                           orientations=[("landscape", _("Landscape")), ("portrait", _("Portrait"))])


def _fill_svg(svg: str) -> Markup:
    """An SVG document as inline markup that fills its page box (the viewBox keeps its proportions)."""
    svg = svg[svg.index("<svg"):]
    return Markup(re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 width="100%" height="100%"', svg,
                         count=1))


@bp.route("/pairings")
@permission_required("read")
def pairings():
    from .pairings import _result, visible_dict

    ws = current_workspace()
    result = _result(ws)  # the page's own analysis (cached per data version)
    data = visible_dict(result, g.get("user"))
    sheet = printmaps.pairings_sheet(ws, data["villages"], data["gaps"], result.analysis.target_points)
    return _respond(sheet, _("pairings"), url_for("pairings.index"))


@bp.route("/projects")
@permission_required("read")
def projects():
    from .projects import filters_from_request

    ws = current_workspace()
    items = P.list_proposals(ws, filters_from_request())
    return _respond(printmaps.projects_sheet(ws, items), _("project library"), url_for("projects.index"))


@bp.route("/projects/<int:proposal_id>")
@permission_required("read")
def project(proposal_id: int):
    from .projects import _evaluation, _map_features, _proposal_or_404

    ws = current_workspace()
    p = _proposal_or_404(ws, proposal_id)
    evaluation, _error = _evaluation(ws, p)
    sheet = printmaps.projects_sheet(ws, [p], title=p.name, evaluation_features=_map_features(evaluation),
                                     subtitle=f"{printmaps.status_text(p.status)} · {p.town or ''}")
    return _respond(sheet, p.name, url_for("projects.detail", proposal_id=p.id))


@bp.route("/province")
@permission_required("read")
def province():
    from flask import abort, current_app

    from ..services.province import BatchMissing, load_batch
    from .province import _color, choropleth

    folder = current_app.config.get("RURALPLAN_BATCH_DIR")
    if not folder:
        abort(404)
    try:
        view = load_batch(folder)
    except BatchMissing:
        abort(404)
    indicator, _table, value_of, breaks, legend = choropleth(view, request.args.get("indicator"))
    sheet = printmaps.province_sheet(view.outlines.get("features", []), value_of, legend,
                                     indicator=indicator or "", folder=str(folder),
                                     color_of=lambda v: _color(v, breaks))
    return _respond(sheet, _("province"), url_for("province.index", indicator=indicator))
