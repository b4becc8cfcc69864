"""Printable maps: one renderer for every map of the app (Flask-free; matplotlib, Agg).

A :class:`MapSheet` is what a printed map needs: a title, the layers drawn (each with
the symbol and label its legend entry shows), the data source and the date line.
:func:`render_sheet` lays it out on an A4 or A3 page, portrait or landscape, with the
map (in a local transverse Mercator centred on the data, so the scale bar is true in
the middle of the sheet), a north arrow, a scale bar, the legend and a footer, and
writes PDF, PNG or SVG. Nothing is fetched from the network: no basemap tiles, fonts
from the machine (Noto Sans CJK for Chinese, installed with Debian's fonts-noto-cjk).

The legend is built from the layers actually drawn (a layer without geometries has no
entry), so it always matches the map. Callers (the Flask views through
:mod:`web.printmaps`, tests) pass text already in the reader's language.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
import shapely

from geo.errors import InvalidInput

#: Paper sizes in millimetres, (long side, short side) — ISO 216.
PAPER_MM = {"a4": (297.0, 210.0), "a3": (420.0, 297.0)}
ORIENTATIONS = ("landscape", "portrait")
FORMATS = {"pdf": "application/pdf", "png": "image/png", "svg": "image/svg+xml"}
#: Resolutions a PNG may be asked for (dots per inch): screen, print, high-quality print.
DPI_CHOICES = (96, 150, 200, 300)
FONT_FAMILY = ["Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "DejaVu Sans"]
_MM = 1 / 25.4  # inches per millimetre


class BadPrintOption(InvalidInput):
    """A paper, orientation, format or resolution the renderer does not offer."""

    code = "print.bad_option"
    en = "{field} must be one of {allowed} (got {value})"
    zh = "{field} 只能是 {allowed}（收到 {value}）"


class BadPrintExtent(InvalidInput):
    """A ``bbox`` that is not west,south,east,north in degrees (west < east, south < north)."""

    code = "print.bad_bbox"
    en = "{field} must be west,south,east,north in degrees, west < east and south < north (got {value})"
    zh = "{field} 应为“西,南,东,北”经纬度，且西 < 东、南 < 北（收到 {value}）"


def parse_bbox(text: str | None, *, field: str = "bbox") -> tuple[float, float, float, float] | None:
    """``"111.1,35.2,111.4,35.5"`` → (west, south, east, north); None for an empty value.

    Raises :class:`BadPrintExtent` (400, naming ``field``) for anything else.
    """
    if text is None or not str(text).strip():
        return None
    parts = str(text).split(",")
    try:
        w, s, e, n = (float(x) for x in parts)
    except ValueError:
        raise BadPrintExtent(field=field, value=str(text)[:80]) from None
    if not all(math.isfinite(v) for v in (w, s, e, n)) or not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        raise BadPrintExtent(field=field, value=str(text)[:80])
    return (w, s, e, n)


@dataclass(frozen=True)
class Symbol:
    """How a layer is drawn: ``kind`` "point" (``marker`` as in matplotlib, ``size`` in
    points), "line" (``size`` = width in points) or "area" (filled with ``alpha``)."""

    kind: str
    color: str
    size: float = 6.0
    edgecolor: str | None = None
    marker: str = "o"
    linestyle: str = "-"
    fill: bool = True
    alpha: float = 1.0


@dataclass(frozen=True)
class MapLayer:
    """One legend entry and the WGS84 (lon, lat) shapely geometries drawn with it."""

    label: str
    symbol: Symbol
    geometries: tuple = ()
    legend: bool = True


@dataclass(frozen=True)
class MapSheet:
    """A printed map's content; every text is already translated.

    ``source`` and ``date`` are whole lines (e.g. "数据来源：…", "制图日期：2026-11-30 17:55（北京时间）");
    ``bounds`` is (west, south, east, north) in degrees, else the layers' extent.
    """

    title: str
    layers: tuple[MapLayer, ...]
    source: str
    date: str
    subtitle: str = ""
    legend_title: str = "Legend"
    north: str = "N"
    km: str = "km"
    bounds: tuple | None = None


@dataclass(frozen=True)
class RenderedMap:
    body: bytes
    mimetype: str
    extension: str
    legend: tuple[str, ...]  # the legend entries drawn, in order
    scale_text: str  # the scale bar's label, e.g. "0 5 10 km"
    size_mm: tuple[float, float]
    size_px: tuple[int, int] | None = None  # PNG only
    layers_drawn: tuple[str, ...] = field(default=())
    #: the (west, south, east, north) the map frame was fitted to (before padding)
    bounds: tuple | None = None


def check_options(*, paper: str, orientation: str, fmt: str, dpi: int | None = None) -> None:
    """Raise :class:`BadPrintOption` (typed, translated by the adapter) for an unknown choice."""
    for name, value, allowed in (("paper", paper, tuple(PAPER_MM)), ("orientation", orientation, ORIENTATIONS),
                                 ("format", fmt, tuple(FORMATS))):
        if value not in allowed:
            raise BadPrintOption(field=name, allowed=", ".join(allowed), value=value)
    if dpi is not None and dpi not in DPI_CHOICES:
        raise BadPrintOption(field="dpi", allowed=", ".join(map(str, DPI_CHOICES)), value=dpi)


def page_size_mm(paper: str, orientation: str) -> tuple[float, float]:
    """(width, height) of the sheet in millimetres."""
    long, short = PAPER_MM[paper]
    return (long, short) if orientation == "landscape" else (short, long)


def png_size_px(paper: str, orientation: str, dpi: int) -> tuple[int, int]:
    """The pixel size of a PNG of that sheet at ``dpi`` (as matplotlib rounds it)."""
    w, h = page_size_mm(paper, orientation)
    # matplotlib truncates figure inches × dpi
    return int(w * _MM * dpi), int(h * _MM * dpi)


def nice_scale_km(span_km: float) -> float:
    """A round scale-bar length (1, 2 or 5 × 10^k km) of about a fifth of ``span_km``."""
    target = max(span_km / 5.0, 1e-6)
    exp = math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * 10 ** exp <= target:
            return float(step * 10 ** exp)
    return float(10 ** exp)


def _fmt_km(value: float) -> str:
    return f"{value:g}"


def _projector(bounds):
    """lon/lat → metres in a transverse Mercator centred on ``bounds`` (scale 1 at the centre)."""
    import pyproj

    w, s, e, n = bounds
    crs = pyproj.CRS.from_proj4(f"+proj=tmerc +lat_0={(s + n) / 2} +lon_0={(w + e) / 2} +k=1 +x_0=0 +y_0=0 "
                                "+ellps=WGS84 +units=m +no_defs")
    t = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    # vectorised: one pyproj call for every vertex of an array of geometries
    return lambda geoms: shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def _extent(layers) -> tuple | None:
    geoms = [g for layer in layers for g in layer.geometries if g is not None and not g.is_empty]
    if not geoms:
        return None
    w, s, e, n = shapely.total_bounds(np.array(geoms, dtype=object))
    return (float(w), float(s), float(e), float(n))


def _compound_path(lines_xy: np.ndarray, index: np.ndarray, *, closed: bool):
    """One matplotlib Path of many parts (coordinates with their part index, as
    :func:`shapely.get_coordinates` gives them): one SVG/PDF element per layer, not per
    road segment, which keeps a county's 20,000 village roads a few hundred kilobytes."""
    from matplotlib.path import Path

    codes = np.full(len(lines_xy), Path.LINETO, dtype=np.uint8)
    starts = np.r_[True, index[1:] != index[:-1]]
    codes[starts] = Path.MOVETO
    if closed:  # the last vertex of each ring closes it
        ends = np.r_[index[1:] != index[:-1], True]
        codes[ends] = Path.CLOSEPOLY
    return Path(lines_xy, codes)


_POINT, _LINE, _RING, _POLYGON = 0, 1, 2, 3


def _simple_parts(geoms: np.ndarray) -> np.ndarray:
    """Points, lines and polygons of ``geoms`` (multi-parts and collections opened)."""
    parts = shapely.get_parts(geoms)
    while True:
        multi = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
        if not multi.any():
            return parts
        parts = np.concatenate([parts[~multi], shapely.get_parts(parts[multi])])


def _draw_layer(ax, layer: MapLayer, project, zorder: int, *, tolerance_m: float = 0.0) -> bool:
    """Draw ``layer`` on ``ax`` (lines and areas simplified to ``tolerance_m``, a fraction
    of a millimetre on the sheet); True when something was drawn."""
    from matplotlib.patches import PathPatch

    sym = layer.symbol
    geoms = np.array([g for g in layer.geometries if g is not None and not g.is_empty], dtype=object)
    if not len(geoms):
        return False
    parts = _simple_parts(project(geoms))
    types = shapely.get_type_id(parts)
    if sym.kind == "point":
        pts = np.where(types == _POINT, parts, shapely.point_on_surface(parts))  # a line/area proposal at its point
        xy = shapely.get_coordinates(pts)
        ax.scatter(xy[:, 0], xy[:, 1], s=sym.size ** 2, marker=sym.marker,
                   c=sym.color if sym.fill else "none", edgecolors=sym.edgecolor or sym.color,
                   linewidths=0.8 if sym.fill else 1.6, alpha=sym.alpha, zorder=zorder)
        return True
    if sym.kind == "line":
        lines = parts[np.isin(types, (_LINE, _RING))]
        rings = parts[types == _POLYGON]
        if len(rings):  # an area drawn as its outline
            lines = np.concatenate([lines, shapely.get_exterior_ring(rings)])
        if not len(lines):
            return False
        merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))  # segments → whole roads
        if tolerance_m:
            merged = shapely.simplify(merged, tolerance_m)
        xy, index = shapely.get_coordinates(merged, return_index=True)
        # add_artist: the frame's limits are set by the sheet, so skip add_patch's slow extent update
        ax.add_artist(PathPatch(_compound_path(xy, index, closed=False), facecolor="none", edgecolor=sym.color,
                               linewidth=sym.size, linestyle=sym.linestyle, alpha=sym.alpha, zorder=zorder,
                               capstyle="round", joinstyle="round"))
        return True
    polys = parts[types == _POLYGON]
    if not len(polys):
        return False
    if tolerance_m:
        polys = shapely.simplify(polys, tolerance_m)
    # exteriors anticlockwise, holes clockwise: the non-zero fill rule leaves the holes empty
    rings = shapely.get_rings(shapely.orient_polygons(polys))
    xy, index = shapely.get_coordinates(rings, return_index=True)
    ax.add_artist(PathPatch(_compound_path(xy, index, closed=True), facecolor=sym.color if sym.fill else "none",
                           alpha=sym.alpha, edgecolor=sym.edgecolor or sym.color, linewidth=0.6, zorder=zorder))
    return True


def _handle(sym: Symbol):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if sym.kind == "point":
        return Line2D([], [], linestyle="none", marker=sym.marker, markersize=min(sym.size, 10),
                      markerfacecolor=sym.color if sym.fill else "none",
                      markeredgecolor=sym.edgecolor or sym.color, markeredgewidth=0.8 if sym.fill else 1.6,
                      alpha=sym.alpha)
    if sym.kind == "line":
        return Line2D([], [], color=sym.color, linewidth=max(sym.size, 1.0), linestyle=sym.linestyle,
                      alpha=sym.alpha)
    return Patch(facecolor=sym.color if sym.fill else "none", edgecolor=sym.edgecolor or sym.color,
                 alpha=sym.alpha)


def _text_width(text: str) -> int:
    """Display width: a CJK character is two columns, others one."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap_label(text: str, columns: int) -> str:
    """``text`` broken into lines of at most ``columns`` display columns: at spaces where
    there are any (English), else between characters (Chinese has no spaces)."""
    lines, line = [], ""
    for word in text.split(" "):
        while _text_width(word) > columns:  # a word (or a Chinese phrase) longer than a line
            room = columns - _text_width(line) - (1 if line else 0)
            if room <= 0:
                lines.append(line)
                line, room = "", columns
            cut = 0
            while cut < len(word) and _text_width(word[:cut + 1]) <= room:
                cut += 1
            cut = max(cut, 1)
            line = f"{line} {word[:cut]}" if line else word[:cut]
            lines.append(line)
            line, word = "", word[cut:]
        candidate = f"{line} {word}" if line else word
        if line and _text_width(candidate) > columns:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return "\n".join(lines)


def _fit_legend(fig, lax, handles, labels, *, ncol: int, title: str, fontsize: float):
    """The legend inside its panel: labels are wrapped (English ones run long) until the
    legend is no wider than the panel, so no entry is cut at the sheet's edge."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # measured with Agg (the PDF/SVG writers lay text out with the same font metrics)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    panel_w = lax.get_window_extent(renderer).width
    columns = max(_text_width(t) for t in labels)
    while True:
        shown = labels if columns >= max(_text_width(t) for t in labels) else [wrap_label(t, columns) for t in labels]
        legend = lax.legend(handles, shown, loc="upper left", frameon=True, ncol=ncol, title=title,
                            fontsize=fontsize, title_fontsize=9, alignment="left", borderaxespad=0,
                            handlelength=1.8)
        if legend.get_window_extent(renderer).width <= panel_w or columns <= 8:
            return legend
        columns = max(8, int(columns * 0.8))


def render_sheet(sheet: MapSheet, *, paper: str = "a4", orientation: str = "landscape", fmt: str = "pdf",
                 dpi: int = 150) -> RenderedMap:
    """Lay ``sheet`` out on one page and write it as ``fmt`` ("pdf", "png" or "svg").

    Returns the bytes with the legend entries and scale text drawn. Raises
    :class:`BadPrintOption` for an unknown paper, orientation, format or dpi.
    The PNG is ``png_size_px(paper, orientation, dpi)`` pixels.
    """
    check_options(paper=paper, orientation=orientation, fmt=fmt, dpi=dpi if fmt == "png" else None)
    with _rc():
        fig, info = _sheet_figure(sheet, paper=paper, orientation=orientation, dpi=dpi)
        buf = io.BytesIO()
        meta = {"pdf": {"Title": sheet.title, "Creator": "ruralplan"}, "svg": {"Title": sheet.title},
                "png": {"Title": sheet.title, "Software": "ruralplan"}}[fmt]
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    size_px = png_size_px(paper, orientation, dpi) if fmt == "png" else None
    return RenderedMap(body=buf.getvalue(), mimetype=FORMATS[fmt], extension=fmt, size_px=size_px, **info)


def _rc():
    import matplotlib

    matplotlib.use("Agg", force=False)
    rc = {"font.family": "sans-serif", "font.sans-serif": FONT_FAMILY, "pdf.fonttype": 3,
          "svg.fonttype": "none", "axes.unicode_minus": False,
          "text.parse_math": False}  # names are text: "$x$" in a project name is no formula
    return matplotlib.rc_context(rc)


def _sheet_figure(sheet: MapSheet, *, paper: str, orientation: str, dpi: int):
    """The sheet's figure and what was drawn (inside :func:`_rc`)."""
    from matplotlib.figure import Figure

    width_mm, height_mm = page_size_mm(paper, orientation)
    fig = Figure(figsize=(width_mm * _MM, height_mm * _MM), dpi=dpi)
    fx, fy = 1 / width_mm, 1 / height_mm  # figure fraction per mm
    margin = 10.0
    big = paper == "a3"
    title_h, footer_h = (18.0 if big else 14.0), 9.0
    fig.text(0.5, 1 - (margin + 6) * fy, sheet.title, ha="center", va="center",
             fontsize=20 if big else 15, weight="bold")
    if sheet.subtitle:
        fig.text(0.5, 1 - (margin + title_h - 2) * fy, sheet.subtitle, ha="center", va="center",
                 fontsize=10 if big else 8.5, color="#333")
    fig.text(margin * fx, (margin + 2) * fy, sheet.source, ha="left", va="center", fontsize=8, color="#222")
    fig.text(1 - margin * fx, (margin + 2) * fy, sheet.date, ha="right", va="center", fontsize=8,
             color="#222")
    # map frame and legend panel: right of the map on landscape sheets, below it on portrait ones
    top = height_mm - margin - title_h - (4 if sheet.subtitle else 0)
    bottom = margin + footer_h
    if orientation == "landscape":
        legend_w = 70.0 if big else 58.0
        map_box = (margin, bottom, width_mm - 2 * margin - legend_w - 4, top - bottom)
        legend_box = (width_mm - margin - legend_w, bottom, legend_w, top - bottom)
    else:
        legend_h = 70.0 if big else 55.0
        map_box = (margin, bottom + legend_h + 4, width_mm - 2 * margin, top - bottom - legend_h - 4)
        legend_box = (margin, bottom, width_mm - 2 * margin, legend_h)
    ax = fig.add_axes((map_box[0] * fx, map_box[1] * fy, map_box[2] * fx, map_box[3] * fy))
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.8)

    bounds = sheet.bounds or _extent(sheet.layers) or (110.0, 34.0, 110.1, 34.1)
    w, s, e, n = bounds
    if e - w < 1e-4 or n - s < 1e-4:  # one point: show ~2 km around it
        w, s, e, n = w - 0.01, s - 0.01, e + 0.01, n + 0.01
    project = _projector((w, s, e, n))
    corners = project(shapely.MultiPoint([(w, s), (e, n), (w, n), (e, s)]))
    x0, y0, x1, y1 = shapely.total_bounds(corners)
    pad = 0.04 * max(x1 - x0, y1 - y0)
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    # widen one side so that a metre is as long across as up: the frame's own ratio
    box_ratio = map_box[2] / map_box[3]
    if (x1 - x0) / (y1 - y0) < box_ratio:
        grow = ((y1 - y0) * box_ratio - (x1 - x0)) / 2
        x0, x1 = x0 - grow, x1 + grow
    else:
        grow = ((x1 - x0) / box_ratio - (y1 - y0)) / 2
        y0, y1 = y0 - grow, y1 + grow
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)

    # 0.1 mm on the sheet: finer detail cannot be printed
    tolerance_m = 0.1 * (x1 - x0) / map_box[2]
    drawn, legend_labels, handles = [], [], []
    for i, layer in enumerate(sheet.layers):
        if _draw_layer(ax, layer, project, zorder=2 + i, tolerance_m=tolerance_m):
            drawn.append(layer.label)
            if layer.legend and layer.label not in legend_labels:
                legend_labels.append(layer.label)
                handles.append(_handle(layer.symbol))

    xl, yl = (x0, x1), (y0, y1)
    span_km = (xl[1] - xl[0]) / 1000.0
    bar_km = nice_scale_km(span_km)
    bar_m = bar_km * 1000.0
    bx = xl[0] + 0.04 * (xl[1] - xl[0])
    by = yl[0] + 0.05 * (yl[1] - yl[0])
    tick = 0.012 * (yl[1] - yl[0])
    half = bar_m / 2
    ax.fill_between([bx, bx + half], by, by + tick, color="#222", zorder=50, linewidth=0)
    ax.fill_between([bx + half, bx + bar_m], by, by + tick, facecolor="white", edgecolor="#222", zorder=50,
                    linewidth=0.8)
    ax.plot([bx, bx + bar_m, bx + bar_m, bx, bx], [by, by, by + tick, by + tick, by], color="#222",
            linewidth=0.8, zorder=51)
    label_y = by + tick * 1.6
    ax.text(bx, label_y, "0", ha="center", va="bottom", fontsize=7, zorder=52)
    ax.text(bx + half, label_y, _fmt_km(bar_km / 2), ha="center", va="bottom", fontsize=7, zorder=52)
    ax.text(bx + bar_m, label_y, f"{_fmt_km(bar_km)} {sheet.km}", ha="left", va="bottom", fontsize=7,
            zorder=52)
    scale_text = f"0 {_fmt_km(bar_km / 2)} {_fmt_km(bar_km)} {sheet.km}"

    # north arrow (grid north = true north on the central meridian of the projection)
    ax.annotate("", xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
                arrowprops={"arrowstyle": "-|>,head_length=0.8,head_width=0.4", "color": "#222",
                            "linewidth": 1.6}, zorder=53)
    ax.text(0.95, 0.965, sheet.north, transform=ax.transAxes, ha="center", va="bottom", fontsize=11,
            weight="bold", zorder=53)

    lax = fig.add_axes((legend_box[0] * fx, legend_box[1] * fy, legend_box[2] * fx, legend_box[3] * fy))
    lax.set_axis_off()
    if handles:
        ncol = 1 if orientation == "landscape" else max(1, min(3, math.ceil(len(handles) / 8)))
        if orientation == "landscape" and len(handles) > 22:
            ncol = 2
        _fit_legend(fig, lax, handles, legend_labels, ncol=ncol, title=sheet.legend_title,
                    fontsize=7 if len(handles) > 14 else 8)
    return fig, {"legend": tuple(legend_labels), "scale_text": scale_text, "size_mm": (width_mm, height_mm),
                 "layers_drawn": tuple(drawn), "bounds": (w, s, e, n)}


# --------------------------------------------------------------------------- tables and several pages
@dataclass(frozen=True)
class TableSection:
    """One table of a :class:`TablePage`: a heading, the column header and the rows (text)."""

    heading: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class TablePage:
    """Tables printed on their own page(s) after the maps (e.g. a comparison of two plans)."""

    title: str
    sections: tuple[TableSection, ...]
    source: str = ""
    date: str = ""


def _table_figures(page: TablePage, *, paper: str, orientation: str, dpi: int) -> list:
    """``page`` laid out on as many sheets as its rows need (inside :func:`_rc`)."""
    from matplotlib.figure import Figure

    width_mm, height_mm = page_size_mm(paper, orientation)
    fx, fy = 1 / width_mm, 1 / height_mm
    margin, title_h, footer_h, row_h, heading_h = 10.0, 14.0, 9.0, 5.2, 9.0
    figures: list = []
    fig, y = None, 0.0

    def new_page():
        f = Figure(figsize=(width_mm * _MM, height_mm * _MM), dpi=dpi)
        f.text(0.5, 1 - (margin + 6) * fy, page.title, ha="center", va="center", fontsize=14, weight="bold")
        f.text(margin * fx, (margin + 2) * fy, page.source, ha="left", va="center", fontsize=8, color="#222")
        f.text(1 - margin * fx, (margin + 2) * fy, page.date, ha="right", va="center", fontsize=8, color="#222")
        figures.append(f)
        return f, height_mm - margin - title_h

    bottom = margin + footer_h
    for section in page.sections:
        rows = list(section.rows) or [tuple("–" for _ in section.header)]
        while rows:
            if fig is None or y - heading_h - 2 * row_h < bottom:
                fig, y = new_page()
            fit = max(1, int((y - heading_h - bottom) // row_h) - 1)  # rows under the header row
            chunk, rows = rows[:fit], rows[fit:]
            fig.text(margin * fx, (y - 4) * fy, section.heading, ha="left", va="center", fontsize=10,
                     weight="bold")
            height = (len(chunk) + 1) * row_h
            ax = fig.add_axes((margin * fx, (y - heading_h - height) * fy, (width_mm - 2 * margin) * fx,
                               height * fy))
            ax.set_axis_off()
            table = ax.table(cellText=[list(r) for r in chunk], colLabels=list(section.header),
                             loc="upper center", cellLoc="center", bbox=(0, 0, 1, 1))
            table.auto_set_font_size(False)
            table.set_fontsize(7)
            for (r, _c), cell in table.get_celld().items():
                cell.set_linewidth(0.4)
                if r == 0:
                    cell.set_facecolor("#eeeeee")
            y -= heading_h + height + 4
    return figures


def render_pdf_pages(pages, *, paper: str = "a4", orientation: str = "landscape", title: str = "") -> bytes:
    """One PDF of several pages: each :class:`MapSheet` as :func:`render_sheet` draws it, each
    :class:`TablePage` on as many pages as it needs. Raises :class:`BadPrintOption`."""
    check_options(paper=paper, orientation=orientation, fmt="pdf")
    from matplotlib.backends.backend_pdf import PdfPages

    buf = io.BytesIO()
    with _rc(), PdfPages(buf, metadata={"Title": title, "Creator": "ruralplan"}) as pdf:
        for page in pages:
            if isinstance(page, TablePage):
                for fig in _table_figures(page, paper=paper, orientation=orientation, dpi=150):
                    pdf.savefig(fig)
            else:
                fig, _info = _sheet_figure(page, paper=paper, orientation=orientation, dpi=150)
                pdf.savefig(fig)
    return buf.getvalue()


def render_table_svg(page: TablePage, *, paper: str = "a4", orientation: str = "landscape") -> list[str]:
    """The table page(s) as SVG texts (for the print view)."""
    check_options(paper=paper, orientation=orientation, fmt="svg")
    out = []
    with _rc():
        for fig in _table_figures(page, paper=paper, orientation=orientation, dpi=150):
            buf = io.BytesIO()
            fig.savefig(buf, format="svg", metadata={"Title": page.title})
            out.append(buf.getvalue().decode("utf-8"))
    return out
