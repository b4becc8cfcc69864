"""Printed maps without a browser: the renderer (web.services.mapprint), the /print views,
the proposal map's palette and the alternatives' place names."""
from __future__ import annotations

import re
import shutil
import struct

import geopandas as gpd
import pyproj
import pytest
import shapely

from web.services import mapprint
from web.services.mapprint import BadPrintOption, MapLayer, MapSheet, Symbol, render_sheet

from .browser import pdf_page_sizes_pt, pdf_text

HAVE_PDFTOTEXT = shutil.which("pdftotext") is not None


def _sheet(**changes) -> MapSheet:
    layers = (
        MapLayer("生态保护红线", Symbol("area", "#27ae60", alpha=0.3), (shapely.box(110.05, 34.02, 110.10, 34.06),)),
        MapLayer("国道", Symbol("line", "#c0392b", size=2), (shapely.LineString([(110.0, 34.0), (110.2, 34.1)]),)),
        MapLayer("空图层", Symbol("point", "#000000"), ()),
        MapLayer("脱贫村", Symbol("point", "#d7301f", 5), tuple(shapely.Point(110 + i / 100, 34 + i / 200)
                                                          for i in range(20))),
        MapLayer("脱贫村", Symbol("point", "#d7301f", 5), (shapely.Point(110.15, 34.01),)),  # same entry again
    )
    values = {"title": "测试县 冷库布局图", "layers": layers, "source": "数据来源：测试县工作空间",
              "date": "制图日期：2026-11-30 18:00（北京时间）", "legend_title": "图例", "north": "北", "km": "公里"}
    return MapSheet(**{**values, **changes})


def _png_size(body: bytes) -> tuple[int, int]:
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert body[12:16] == b"IHDR"
    return struct.unpack(">II", body[16:24])


@pytest.mark.parametrize(("paper", "orientation", "dpi", "expected"), [
    ("a4", "portrait", 96, (793, 1122)),  # 210 x 297 mm at 96 dpi, truncated as matplotlib does
    ("a4", "landscape", 150, (1753, 1240)),
    ("a3", "landscape", 96, (1587, 1122)),
])
def test_png_is_a_png_of_the_sheet_size(paper, orientation, dpi, expected):
    assert mapprint.png_size_px(paper, orientation, dpi) == expected
    rendered = render_sheet(_sheet(), paper=paper, orientation=orientation, fmt="png", dpi=dpi)
    assert rendered.mimetype == "image/png"
    assert _png_size(rendered.body) == expected == rendered.size_px


def test_legend_lists_the_layers_drawn_once_each_and_no_empty_layer():
    rendered = render_sheet(_sheet(), fmt="svg")
    assert rendered.legend == ("生态保护红线", "国道", "脱贫村")
    assert "空图层" not in rendered.layers_drawn
    svg = rendered.body.decode()
    for text in ("测试县 冷库布局图", "图例", "生态保护红线", "国道", "脱贫村", "北", "数据来源：测试县工作空间",
                 "北京时间", "公里"):
        assert text in svg, text  # svg.fonttype none: text stays text (the print view prints it as text)
    assert "空图层" not in svg


def test_a_layer_left_out_of_the_legend_is_still_drawn():
    sheet = _sheet(layers=(MapLayer("底图", Symbol("line", "#999"), (shapely.LineString([(110, 34), (110.1, 34)]),),
                                    legend=False),
                           MapLayer("冷库", Symbol("point", "#1f78b4"), (shapely.Point(110.05, 34.01),))))
    rendered = render_sheet(sheet, fmt="svg")
    assert rendered.layers_drawn == ("底图", "冷库") and rendered.legend == ("冷库",)


@pytest.mark.parametrize(("paper", "orientation", "size_pt"), [
    ("a4", "landscape", (841.9, 595.3)), ("a4", "portrait", (595.3, 841.9)),
    ("a3", "landscape", (1190.6, 841.9)), ("a3", "portrait", (841.9, 1190.6)),
])
def test_pdf_page_is_the_paper(paper, orientation, size_pt, tmp_path):
    rendered = render_sheet(_sheet(), paper=paper, orientation=orientation, fmt="pdf")
    (width, height), = pdf_page_sizes_pt(rendered.body)
    assert abs(width - size_pt[0]) < 1.5 and abs(height - size_pt[1]) < 1.5
    if HAVE_PDFTOTEXT:
        path = tmp_path / "sheet.pdf"
        path.write_bytes(rendered.body)
        text = re.sub(r"\s+", "", pdf_text(path))  # Type 3 text: pdftotext may drop spaces
        for part in ("测试县 冷库布局图", "图例", "生态保护红线", "国道", "脱贫村", "北", "数据来源：测试县工作空间",
                     "制图日期：2026-11-30 18:00（北京时间）", rendered.scale_text.replace(" ", "")):
            assert part.replace(" ", "") in text, part


def test_scale_bar_is_a_round_fifth_and_the_projection_keeps_distances():
    assert [mapprint.nice_scale_km(s) for s in (23.0, 100.0, 7.0, 0.9, 51.0)] == [2.0, 20.0, 1.0, 0.1, 10.0]
    # a kilometre on the sheet is a kilometre on the ground in the middle of the map
    project = mapprint._projector((110.0, 34.0, 110.2, 34.1))
    a, b = project(shapely.Point(110.05, 34.05)), project(shapely.Point(110.15, 34.05))
    _az, _baz, geodesic_m = pyproj.Geod(ellps="WGS84").inv(110.05, 34.05, 110.15, 34.05)
    assert abs(a.distance(b) - geodesic_m) / geodesic_m < 1e-4
    rendered = render_sheet(_sheet(), fmt="svg")
    assert rendered.scale_text.endswith(" 公里")
    # the map spans ~20 km across (0.2 degrees at 34 N, widened to the frame): a 5 km bar
    assert rendered.scale_text in ("0 2.5 5 公里", "0 1 2 公里")


@pytest.mark.parametrize(("option", "value"), [("paper", "a5"), ("orientation", "sideways"), ("fmt", "gif"),
                                               ("dpi", 1000)])
def test_unknown_options_are_typed_errors(option, value):
    options = {"paper": "a4", "orientation": "landscape", "fmt": "png", "dpi": 150, option: value}
    with pytest.raises(BadPrintOption) as info:
        render_sheet(_sheet(), **options)
    assert info.value.code == "print.bad_option" and info.value.http_status == 400
    assert str(value) in info.value.message("zh")


# --------------------------------------------------------------------------- views
@pytest.mark.parametrize("path", ["/print/map", "/print/pairings", "/print/projects"])
def test_print_views_give_pdf_png_and_a_print_page(client, path):
    pdf = client.get(f"{path}?format=pdf&paper=a3&orientation=portrait")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    (width, height), = pdf_page_sizes_pt(pdf.data)
    assert abs(width - 841.9) < 1.5 and abs(height - 1190.6) < 1.5
    assert "filename*=UTF-8''" in pdf.headers["Content-Disposition"]
    png = client.get(f"{path}?format=png&dpi=96")
    assert png.mimetype == "image/png" and _png_size(png.data) == mapprint.png_size_px("a4", "landscape", 96)
    html = client.get(path).get_data(as_text=True)
    assert "@page { size: A4 landscape; margin: 0; }" in html
    assert "<svg" in html and "北京时间" in html and "图例" in html
    assert client.get(f"{path}?paper=a5").status_code == 400


def test_print_page_in_english(client):
    client.set_cookie("rp_lang", "en")
    html = client.get("/print/map?paper=a3&orientation=portrait").get_data(as_text=True)
    assert "@page { size: A3 portrait; margin: 0; }" in html
    assert "Legend" in html and "Beijing time" in html and "Data source" in html


def test_print_options_as_people_write_them(client):
    """``paper=A3`` (as the page and the README write it) is the A3 sheet, not a 400."""
    pdf = client.get("/print/map?format=PDF&paper=A3&orientation=Portrait")
    assert pdf.status_code == 200, pdf.get_data(as_text=True)[:300]
    (width, height), = pdf_page_sizes_pt(pdf.data)
    assert abs(width - 841.9) < 1.5 and abs(height - 1190.6) < 1.5


def test_print_planning_refuses_a_key_the_question_does_not_have(client):
    """A link with ``weight=`` (not a planning key) printed another question (population)
    without a word; now a 400 names the key."""
    r = client.get("/print/planning?format=png&facility=cold_storage&model=mclp&p=2&minutes=30"
                   "&weight=produce:apple,hawthorn")
    assert r.status_code == 400 and "weight" in r.get_data(as_text=True)


def test_planning_arg_keys_are_the_keys_from_args_reads():
    import inspect
    import re

    from web.services.planning import PlacementQuestion

    source = inspect.getsource(PlacementQuestion.from_args)
    read = set(re.findall(r'args\.get\("([a-z_]+)"', source)) | set(re.findall(r'\(args, "([a-z_]+)"', source))
    assert read == PlacementQuestion.ARG_KEYS


def test_print_view_keeps_the_maps_own_query(client):
    html = client.get("/print/projects?status=draft&paper=a4").get_data(as_text=True)
    assert 'name="status" value="draft"' in html  # the paper form keeps the list's filters
    assert "status=draft" in html and "format=pdf" in html


# --------------------------------------------------------------------------- palette and places
def test_no_proposal_status_looks_like_an_alternative():
    from web.printmaps import PROPOSAL_RADIUS, ROLE_STYLES, STATUS_COLORS

    colors = list(STATUS_COLORS.values())
    assert len(set(colors)) == len(colors)  # one colour per status
    for role in ("best_alternative", "alternative"):
        assert ROLE_STYLES[role]["color"] not in colors
        assert ROLE_STYLES[role]["dashArray"]  # a dashed ring, never a filled dot like a proposal
    assert STATUS_COLORS["draft"] not in ("#7f8c8d", "#999999", "#9e9e9e")  # a draft is no grey dot
    assert PROPOSAL_RADIUS >= 7


def test_alternatives_are_named_by_nearest_village_and_road():
    from web.services.project_eval import name_alternatives, nearest_places

    villages = gpd.GeoDataFrame({"name": ["赵河村", "石键村"], "town": ["柳泉镇", "上峪乡"]},
                                geometry=[shapely.Point(110.00, 34.00), shapely.Point(110.10, 34.00)],
                                crs="EPSG:4326")
    roads = gpd.GeoDataFrame({"name": ["S234", None], "road_class": ["provincial", "village"]},
                             geometry=[shapely.LineString([(110.0, 34.001), (110.2, 34.001)]),
                                       shapely.LineString([(110.0, 34.0), (110.0, 34.2)])], crs="EPSG:4326")
    # 0.01 deg east of 赵河村 (~0.92 km at 34 N), ~111 m south of S234; then one far from everything
    places = nearest_places([(110.01, 34.0), (111.0, 35.0)], villages=villages, roads=roads)
    assert places[0]["near_village"] == "赵河村" and places[0]["near_village_town"] == "柳泉镇"
    assert abs(places[0]["near_village_km"] - 0.92) < 0.01
    assert places[0]["near_road"] == "S234" and abs(places[0]["near_road_m"] - 111) <= 1
    assert places[1]["near_village"] is None and places[1]["near_road"] is None  # too far to be "near"
    evaluation = {"alternative": {"best": {"lon": 110.01, "lat": 34.0}, "top": [{"lon": 110.09, "lat": 34.0}]},
                  "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [110.09, 34.0]},
                                "properties": {"role": "alternative"}}]}
    name_alternatives(evaluation, villages=villages, roads=roads)
    assert evaluation["alternative"]["best"]["near_village"] == "赵河村"
    assert evaluation["alternative"]["top"][0]["near_village"] == "石键村"
    assert evaluation["features"][0]["properties"]["near_village"] == "石键村"


@pytest.mark.slow
def test_demo_proposal_page_names_its_alternative_and_prints_it(demo_copy):
    """On the demo county: the detail page says where the better site is (village, road),
    its print has the alternative in the legend and is zoomed to the proposal."""
    import json

    from layers import proposals as P
    from web import create_app

    P.load_demo_proposals(demo_copy)
    client = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(demo_copy.path), "SECRET_KEY": "x",
                         "SESSION_COOKIE_SECURE": False}).test_client()
    for pid in range(1, 6):
        ev = client.get(f"/api/v1/proposals/{pid}/evaluation").get_json()
        if "score" in ev and ev["alternative"]["extra_gain"] > 1:
            break
    else:
        raise AssertionError("no demo proposal with a better alternative")
    best = ev["alternative"]["best"]
    villages = demo_copy.read_layer("villages")
    assert best["near_village"] in set(villages["name"])
    html = client.get(f"/projects/{pid}").get_data(as_text=True)
    box = html[html.index('id="evaluation-alternative"'):]
    assert f"靠近{best['near_village']}" in box
    if best["near_road"]:
        assert f"位于{best['near_road']}旁" in box
    # the screen legend lists what the detail map draws, alternatives included
    features = json.loads(html.split('id="rpp-data">')[1].split("</script>")[0])["features"]
    assert 'data-role="best_alternative"' in html
    assert any(f["properties"].get("near_village") for f in features
               if f["properties"].get("role") == "best_alternative")
    svg = client.get(f"/print/projects/{pid}?format=svg").get_data(as_text=True)
    assert "最佳备选位置" in svg and "图例" in svg


def test_province_map_prints_one_legend_class_per_county_figure(workspace, tmp_path):
    from web import create_app
    from web.services.batch import BatchResult, CountyResult, write_batch

    square = shapely.geometry.mapping(shapely.box(111, 35, 111.5, 35.5))
    shifted = shapely.geometry.mapping(shapely.box(112, 35, 112.5, 35.5))
    result = BatchResult(analysis="coverage", options={"minutes": 30}, counties=(
        CountyResult(workspace="/x/wenxi.gpkg", county_code="140823", county_name="闻喜县",
                     rows=(("合计", "villages_covered", 120.0),), outline=square),
        CountyResult(workspace="/x/yanling.gpkg", county_code="411024", county_name="鄢陵县",
                     rows=(("合计", "villages_covered", 300.0),), outline=shifted),
    ))
    write_batch(result, tmp_path / "results")
    client = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(workspace.path),
                         "RURALPLAN_BATCH_DIR": str(tmp_path / "results"), "SECRET_KEY": "x"}).test_client()
    assert 'id="rp-print-province"' in client.get("/province/").get_data(as_text=True)
    svg = client.get("/print/province?indicator=villages_covered&format=svg").get_data(as_text=True)
    assert "villages_covered" in svg and "图例" in svg and "北京时间" in svg
    # two counties, two figures: each in its own class, both in the legend, none "no data"
    # quantile breaks of (120, 300): 156, 192, 228, 264; 120 is in the lowest class, 300 in the highest
    assert "≤ 156" in svg and "&gt; 264" in svg and "156 – 192" not in svg and "无数据" not in svg
    pdf = client.get("/print/province?format=pdf&paper=a3").data
    (width, height), = pdf_page_sizes_pt(pdf)
    assert width > height and abs(width - 1190.6) < 1.5


def test_names_are_text_not_markup_or_formulas():
    """A proposal or county name is user data: no SVG/HTML markup, no matplotlib mathtext."""
    name = "<script>alert(1)</script> $x^2$ & 50%"
    sheet = _sheet(title=name, layers=(MapLayer(name, Symbol("point", "#000"), (shapely.Point(110, 34),)),))
    svg = render_sheet(sheet, fmt="svg").body.decode()
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt; $x^2$ &amp; 50%" in svg


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_long_english_legend_entries_stay_inside_the_sheet(orientation):
    """English labels ("Existing facility or approved project serving the same villages")
    ran past the paper's edge; they are wrapped to the legend panel: the sheet's right
    margin (10 mm) stays blank."""
    import io

    import numpy as np
    from PIL import Image

    long = ("Existing facility or approved project serving the same villages",
            "Controlled-atmosphere store (planned, sector approved)", "Fresh-keeping store of a cooperative",
            "Former poor village with monitored households", "Industry bases: Planting and processing")
    layers = tuple(MapLayer(label, Symbol("point", color, 5), (shapely.Point(110 + i / 50, 34 + i / 80),))
                   for i, (label, color) in enumerate(zip(long, ("#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                                                 "#66a61e"))))
    sheet = _sheet(layers=layers, legend_title="Legend", north="N", km="km", title="Test county map",
                   source="Data: test workspace", date="Made 2026-11-30 18:00 (Beijing time)")
    out = render_sheet(sheet, paper="a4", orientation=orientation, fmt="png", dpi=96)
    assert out.legend == long  # every entry drawn (wrapped lines are the same entries)
    px = np.asarray(Image.open(io.BytesIO(out.body)).convert("L"))
    margin_px = int(10 / 25.4 * 96) - 2
    assert (px[:, -margin_px:] > 250).all(), "something is drawn in the right margin"


def test_wrap_label_breaks_english_at_spaces_and_chinese_anywhere():
    from web.services.mapprint import wrap_label

    assert wrap_label("Existing facility or approved project", 20) == "Existing facility or\napproved project"
    assert wrap_label("现有设施或已批准项目服务同一批村", 10) == "现有设施或\n已批准项目\n服务同一批\n村"
    assert wrap_label("short", 20) == "short"
