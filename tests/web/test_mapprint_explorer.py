"""The explorer print follows the page: the layers switched on and the extent shown.

``/print/map`` used to print every layer of the whole county whatever the user had set up;
the page now writes ``layers=`` (its visible layer names) and ``bbox=`` (west,south,east,north)
into the print link (rpmap.js) and the sheet honours them; an unknown layer name or a bad
bbox is a 400 naming the key, as ``/print/planning`` does for its question."""
from __future__ import annotations

import pytest
import shapely

from web.services import mapprint


def _labels(app, **kw):
    from web import printmaps

    with app.test_request_context("/"):
        ws = app.config["RURALPLAN_WORKSPACE"]
        from layers.store import Workspace

        sheet = printmaps.explorer_sheet(Workspace(ws), **kw)
        rendered = mapprint.render_sheet(sheet, fmt="svg")
    return sheet, rendered


def test_the_layers_drawn_are_the_layers_asked(app):
    _sheet, everything = _labels(app)
    _sheet, towns = _labels(app, layers=("towns",))
    assert towns.layers_drawn == ("乡镇驻地",)
    _sheet, two = _labels(app, layers=("villages", "cold_storage"))
    assert set(two.layers_drawn) < set(everything.layers_drawn)
    assert "乡镇驻地" not in two.layers_drawn and "脱贫村" in two.layers_drawn, two.layers_drawn
    assert not any(x in two.layers_drawn for x in ("国道", "县道", "县界"))  # roads, boundaries off
    assert {"国道", "县道"} <= set(everything.layers_drawn), everything.layers_drawn
    _sheet, none = _labels(app, layers=("pairings",))  # known on the page, never printed
    assert none.layers_drawn == ()


def test_the_bbox_is_the_frame_and_only_what_meets_it_is_drawn(app):
    whole, _rendered = _labels(app, layers=("villages",))
    everywhere = [g for layer in whole.layers for g in layer.geometries]
    w, s, e, n = shapely.total_bounds(shapely.GeometryCollection(everywhere))
    bbox = (w, s, w + (e - w) / 3, s + (n - s) / 3)
    part, rendered = _labels(app, layers=("villages",), bbox=bbox)
    assert rendered.bounds == pytest.approx(bbox)
    inside = [g for layer in part.layers for g in layer.geometries]
    assert 0 < len(inside) < len(everywhere)
    assert all(shapely.intersects(shapely.box(*bbox), g) for g in inside)


def test_parse_bbox():
    assert mapprint.parse_bbox("111.1,35.2,111.4,35.5") == (111.1, 35.2, 111.4, 35.5)
    assert mapprint.parse_bbox("") is None and mapprint.parse_bbox(None) is None
    for bad in ("1,2,3", "a,b,c,d", "111.4,35.2,111.1,35.5", "0,95,1,96", "nan,1,2,3"):
        with pytest.raises(mapprint.BadPrintExtent) as info:
            mapprint.parse_bbox(bad)
        assert info.value.http_status == 400 and info.value.params["field"] == "bbox"


def test_the_route_honours_layers_and_bbox_and_names_a_bad_key(client):
    svg = client.get("/print/map?format=svg&layers=towns,boundaries").get_data(as_text=True)
    assert "乡镇" in svg and "冷库" not in svg and "其他村" not in svg
    html = client.get("/print/map?layers=towns&bbox=111.0,35.0,111.5,35.5").get_data(as_text=True)
    # the sheet's own download links keep the page's layers and extent
    assert "layers=towns" in html and "bbox=111.0" in html
    bad = client.get("/print/map?layers=villages,castle", headers={"Accept": "application/json"})
    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert error["field"] == "layers" and "castle" in error["message"]
    bad = client.get("/print/map?bbox=111,35", headers={"Accept": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "bbox"
    page = client.get("/print/map?bbox=111,35").get_data(as_text=True)
    assert "bbox" in page  # the page names the key too


def test_the_map_page_writes_the_print_query():
    from pathlib import Path

    js = (Path(__file__).parents[2] / "web" / "static" / "js" / "rpmap.js").read_text(encoding="utf-8")
    assert "RP.printQuery" in js and '"layers=" + encodeURIComponent' in js and '"&bbox="' in js
    assert 'map.on("overlayadd overlayremove moveend zoomend"' in js
