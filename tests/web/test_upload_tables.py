"""Data page and API with tables as offices make them: templates, damaged workbooks, capped reports."""
from __future__ import annotations

import hashlib
import io
import re

import openpyxl

from tests.conftest import shared_case



def _api(client, body: bytes, name: str, layer="villages"):
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    return client.post(f"/api/v1/layers/{layer}/import", headers={"X-CSRFToken": token},
                       data={"file": (io.BytesIO(body), name)}, content_type="multipart/form-data")


def test_data_page_links_a_template_per_layer(client, workspace):
    html = client.get("/data/").get_data(as_text=True)
    assert "/data/template/villages.xlsx" in html and "导入模板" in html
    response = client.get("/data/template/households.xlsx")
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(response.data))
    assert [c.value for c in wb["数据"][1]][:2] == ["户编号", "所在村代码"]
    assert client.get("/data/template/nope.xlsx").status_code == 404


def test_api_damaged_workbook_is_422_with_report(client, login_as, workspace):
    login_as("planner1")
    before = hashlib.sha256(workspace.path.read_bytes()).hexdigest()
    body = shared_case("data-int-overflow", "villages_broken_sheet_xml.xlsx").read_bytes()
    response = _api(client, body, "村庄.xlsx")
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    problems = response.get_json()["problems"]
    assert [p["code"] for p in problems] == ["file_unreadable"] and problems[0]["file"] == "村庄.xlsx"
    assert hashlib.sha256(workspace.path.read_bytes()).hexdigest() == before


def test_api_huge_number_is_422(client, login_as, workspace):
    login_as("planner1")
    body = shared_case("data-int-overflow", "villages_big_population.csv").read_bytes()
    response = _api(client, body, "v.csv")
    assert response.status_code == 422
    assert [p["code"] for p in response.get_json()["problems"] if p["severity"] == "error"] == ["number_too_large"]


def test_upload_report_is_capped(client, login_as, workspace):
    login_as("planner1")
    rows = "".join(f"1234,村{i},东岭镇,abc,111.2,35.3\n" for i in range(1500))
    body = ("村代码,村名,乡镇,人口,经度,纬度\n" + rows).encode()
    response = _api(client, body, "bad.csv")
    data = response.get_json()
    assert response.status_code == 422
    assert data["errors"] == 3000  # every problem counted ...
    listed = [p for p in data["problems"] if p["code"] != "more_problems"]
    assert len(listed) == 1000 and all(p["severity"] == "error" for p in listed)  # ... the first 1,000 listed
    more = {p["params"]["kind"]: p["params"]["more"] for p in data["problems"]
            if p["code"] == "more_problems" and p["severity"] == "error"}
    assert sum(more.values()) == 2000 and set(more) <= {"bad_format", "not_numeric"}


def test_upload_page_counts_every_error_not_only_the_listed(client, login_as, workspace):
    from tests.web.conftest import csrf_token

    login_as("planner1")
    rows = "".join(f"1234,村{i},东岭镇,abc,111.2,35.3\n" for i in range(1500))
    body = ("村代码,村名,乡镇,人口,经度,纬度\n" + rows).encode()
    data = {"csrf_token": csrf_token(client, "/data/"), "layer": "villages", "crs": "wgs84",
            "file": (io.BytesIO(body), "bad.csv")}
    page = client.post("/data/upload", data=data, content_type="multipart/form-data").get_data(as_text=True)
    summary = re.search(r'class="rp-report-summary">(.*?)</p>', page, flags=re.S).group(1)
    assert re.search(r"\b3000\b", summary)  # every error, not the 1,000 (+ summary lines) listed
    assert page.count("<li>") <= 1_000 + 10  # the listed problems and a summary line per cut kind
