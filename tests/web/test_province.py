"""The province view: a batch folder's indicators per county on their outlines."""
from __future__ import annotations

import pytest

from web import create_app
from web.services.batch import BatchResult, CountyResult, write_batch
from web.services.province import BatchMissing, load_batch

SQUARE = {"type": "Polygon", "coordinates": [[[111, 35], [111.5, 35], [111.5, 35.5], [111, 35.5], [111, 35]]]}
SHIFTED = {"type": "Polygon", "coordinates": [[[112, 35], [112.5, 35], [112.5, 35.5], [112, 35.5], [112, 35]]]}


@pytest.fixture
def batch_dir(tmp_path):
    result = BatchResult(analysis="coverage", options={"minutes": 30}, counties=(
        CountyResult(workspace="/x/wenxi.gpkg", county_code="140823", county_name="闻喜县",
                     rows=(("合计", "villages_covered", 120.0), ("桐城镇", "villages_covered", 30.0)),
                     outline=SQUARE),
        CountyResult(workspace="/x/yanling.gpkg", county_code="411024", county_name="<b>鄢陵县</b>",
                     rows=(("合计", "villages_covered", 300.0),), outline=SHIFTED),
        CountyResult(workspace="/x/broken.gpkg", county_code=None, county_name=None, error="文件损坏",
                     error_code="internal"),
    ))
    folder = tmp_path / "results"
    write_batch(result, folder)
    return folder


def test_load_batch_tables(batch_dir):
    view = load_batch(batch_dir)
    assert view.indicators == ["villages_covered"]
    table = view.county_table("villages_covered")
    assert table["county_code"].tolist() == ["411024", "140823"]  # largest first
    assert table["value"].tolist() == [300.0, 120.0]
    assert view.failed["workspace"].tolist() == ["/x/broken.gpkg"]
    assert len(view.outlines["features"]) == 2
    assert view.outlines["features"][0]["properties"]["villages_covered"] == 120.0


def test_load_batch_missing(tmp_path):
    with pytest.raises(BatchMissing) as err:
        load_batch(tmp_path)
    assert "ruralplan batch" in err.value.message("zh")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_province_page(workspace, batch_dir, lang):
    app = create_app({"TESTING": True, "RURALPLAN_WORKSPACE": str(workspace.path),
                      "RURALPLAN_BATCH_DIR": str(batch_dir), "SECRET_KEY": "x", "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    client.set_cookie("ruralplan_lang", lang)
    page = client.get("/province/?indicator=villages_covered").get_data(as_text=True)
    assert "闻喜县" in page and "411024" in page
    assert "<b>鄢陵县</b>" not in page  # a name is text, never markup
    assert "文件损坏" in page
    assert "cdn" not in page.lower()


def test_province_page_without_batch(client):
    page = client.get("/province/").get_data(as_text=True)
    assert "ruralplan batch" in page
