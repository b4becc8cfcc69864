"""The comparison of two saved plans prints (``/print/planning/compare?a=&b=``, linked from
``/planning/compare``): plan A's map, plan B's map in the same frame, and the comparison
tables (parameters, totals, new sites, by town), one per page — the print view and one PDF.

The two plans are hand-made payloads of the planning page's shape, saved in the sample county."""
from __future__ import annotations

import shutil

import pytest
import shapely

from web.services import mapprint
from web.services import planning as planning_service

from .browser import pdf_page_sizes_pt, pdf_text

PARAMS = {"facility": "cold_storage", "model": "mclp", "limit": "p", "budget_wan": None, "site_cost_wan": None,
          "minutes": 30, "demand": "population", "candidates": "towns", "keep_existing": True, "time_limit_s": 10}


def _payload(towns, picks: list[int], covered: float):
    sites, features, areas = [], [], []
    for i in picks:
        pt = towns.geometry.iloc[i]
        sid, name = f"T{i}", f"{towns['name'].iloc[i]}冷库"
        sites.append({"id": sid, "name": name, "fixed": False, "demand_served": covered / len(picks),
                      "demand_count": 3, "loss_if_removed": 50.0})
        features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [pt.x, pt.y]},
                         "properties": {"id": sid, "name": name, "fixed": False}})
        areas.append({"type": "Feature", "geometry": shapely.geometry.mapping(pt.buffer(0.02)), "properties": {}})
    result = {"totals": {"demand": 1000.0, "covered_before": 200.0, "covered_after": covered,
                         "new_sites": len(picks), "existing_sites": 0, "candidates": len(towns)},
              "solver": {"objective": covered, "gap": 0.0, "seconds": 0.5}, "sites": sites,
              "by_town": [{"town": "东岭镇", "demand": 600.0, "covered_after": covered * 0.6,
                           "share_after": covered * 0.6 / 600, "mean_minutes_after": 20.0 - len(picks)}],
              "model": "mclp", "demand": "population"}
    return {"params": {**PARAMS, "p": len(picks)}, "result": result,
            "sites": {"type": "FeatureCollection", "features": features},
            "areas": {"type": "FeatureCollection", "features": areas},
            "allocations": {"type": "FeatureCollection", "features": []}}


@pytest.fixture
def saved(workspace):
    towns = workspace.read_layer("villages")  # sites at villages (the sample has few towns)
    a = planning_service.save_scenario(workspace, "三座方案", _payload(towns, [0, 1, 2], 700.0), username="x")
    b = planning_service.save_scenario(workspace, "两座方案", _payload(towns, [0, 3], 550.0), username="x")
    return a, b


def test_the_pages_are_both_plans_in_one_frame_and_the_tables(app, workspace, saved):
    from web import printmaps
    from web.views.planning import param_label, value_text

    a, b = (planning_service.get_scenario(workspace, i) for i in saved)
    with app.test_request_context("/"):
        sheet_a, sheet_b, table = printmaps.compare_pages(workspace, a, b, planning_service.compare(a, b),
                                                          param_label=param_label, value_text=value_text)
        ra = mapprint.render_sheet(sheet_a, fmt="svg")
        rb = mapprint.render_sheet(sheet_b, fmt="svg")
    new_a = next(layer for layer in sheet_a.layers if layer.label == "建议新建点")
    new_b = next(layer for layer in sheet_b.layers if layer.label == "建议新建点")
    assert len(new_a.geometries) == 3 and len(new_b.geometries) == 2
    assert sheet_a.bounds == sheet_b.bounds and ra.bounds == rb.bounds  # page by page comparable
    assert "建议新建点" in ra.legend and sheet_a.subtitle == "A: 三座方案" and sheet_b.subtitle == "B: 两座方案"
    headings = [s.heading for s in table.sections]
    assert headings == ["参数", "合计", "方案A的新建点", "方案B的新建点", "分乡镇"], headings
    totals = {row[0]: row[1:] for row in table.sections[1].rows}
    covered_after = next(v for k, v in totals.items() if "后" in k and v[0] == "700.0")
    assert covered_after == ("700.0", "550.0", "-150.0")
    shared = {row[0]: row[4] for row in table.sections[2].rows}
    assert shared[f"{workspace.read_layer('villages')['name'].iloc[0]}冷库"] == "✓"  # in both plans


def test_the_routes(client, saved):
    a, b = saved
    page = client.get(f"/planning/compare?a={a}&b={b}").get_data(as_text=True)
    assert 'id="rp-print-compare"' in page and f"/print/planning/compare?a={a}&amp;b={b}" in page
    html = client.get(f"/print/planning/compare?a={a}&b={b}&paper=a3").get_data(as_text=True)
    assert html.count('class="rp-sheet"') >= 3 and "@page { size: A3 landscape; margin: 0; }" in html
    assert "三座方案" in html and "两座方案" in html and "建议新建点" in html
    pdf = client.get(f"/print/planning/compare?a={a}&b={b}&format=pdf&orientation=portrait")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    sizes = pdf_page_sizes_pt(pdf.data)
    assert len(sizes) >= 3 and all(abs(w - 595.3) < 1.5 and abs(h - 841.9) < 1.5 for w, h in sizes)
    if shutil.which("pdftotext"):
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c.pdf"
            path.write_bytes(pdf.data)
            text = pdf_text(path)
        assert "三座方案" in text and "两座方案" in text and "分乡镇" in text
    bad = client.get(f"/print/planning/compare?a={a}&b={b}&format=png", headers={"Accept": "application/json"})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "format"
    assert client.get(f"/print/planning/compare?a={a}&b=9999").status_code == 404
    assert client.get("/print/planning/compare?a=x&b=1").status_code == 400
