"""Malformed requests get a 4xx naming the field, never a 500 (issue 14): huge integers,
lists sent as numbers, non-string comments, geometries that are not GeoJSON, bad bbox,
invalid filters; LIKE wildcards match themselves; 405 carries Allow; security headers."""
from __future__ import annotations

import pytest

from layers import proposals as P

from .test_projects_views import _data, users  # noqa: F401 - fixture

HUGE = "99999999999999999999"  # > 2^63


def _token(client) -> str:
    return client.get("/api/v1/session").get_json()["csrf_token"]


def _field_error(response, field, status=400):
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert error["code"] == status and error["field"] == field, error
    assert field in error["message"]
    return error


@pytest.mark.parametrize("query, field", [
    (f"year={HUGE}", "year"), ("year=abc", "year"), ("year=-5", "year"),
    ("status=bogus", "status"), ("status=draft&status=nope", "status"),
    ("category=castle", "category"), ("min_budget=nan", "min_budget"), ("max_budget=1e400", "max_budget"),
])
def test_bad_list_filters_are_400_naming_the_field(client, query, field):
    _field_error(client.get(f"/api/v1/proposals?{query}"), field)
    # the page checks them the same way (400, not silently ignored)
    page = client.get(f"/projects/?{query}")
    assert page.status_code == 400 and field in page.get_data(as_text=True)


def test_good_filters_still_filter(client, users):  # noqa: F811
    P.create_proposal(users, _data(users, year=2024), created_by="village1")
    assert client.get("/api/v1/proposals?year=2024").get_json()["count"] == 1
    assert client.get("/api/v1/proposals?year=2025").get_json()["count"] == 0
    assert client.get("/api/v1/proposals?status=draft&status=submitted").get_json()["count"] == 1
    assert client.get("/api/v1/proposals?year=&q=&status=").get_json()["count"] == 1  # blank is absent
    page = client.get("/projects/?status=&town=&category=&year=&min_budget=&max_budget=&q=")  # the filter form
    assert page.status_code == 200
    assert 'name="year" value=""' in client.get("/projects/portfolio").get_data(as_text=True)


def test_text_search_wildcards_match_themselves(client, users):  # noqa: F811
    P.create_proposal(users, _data(users, name="保鲜库 100%覆盖"), created_by="village1")
    P.create_proposal(users, _data(users, name="道路_硬化", content="硬化道路"), created_by="village1")
    P.create_proposal(users, _data(users, name="冷库", content="普通"), created_by="village1")
    names = lambda q: sorted(p["name"] for p in client.get(f"/api/v1/proposals?q={q}").get_json()["proposals"])  # noqa: E731
    assert names("%25") == ["保鲜库 100%覆盖"]
    assert names("_") == ["道路_硬化"]
    assert names("%5C") == []  # a backslash is a character too
    assert len(names("")) == 3


def test_huge_ids_are_not_found_not_500(client):
    for url in (f"/api/v1/proposals/{HUGE}", f"/api/v1/proposals/{HUGE}/transitions",
                f"/api/v1/proposals/{HUGE}/evaluation", f"/projects/{HUGE}", f"/planning/scenarios/{HUGE}.json"):
        assert client.get(url).status_code == 404, url
    assert client.get(f"/api/v1/proposals/{2**63 - 1}").status_code == 404
    _field_error(client.get(f"/planning/compare?a={HUGE}&b=1", headers={"Accept": "application/json"}), "a")
    assert client.get("/planning/compare?a=1").status_code == 400  # b missing
    # every method of the URL alike (not a 405 because the id did not match the route)
    assert client.patch(f"/api/v1/proposals/{HUGE}", json={"version": 1}).status_code in (401, 404)
    assert client.post(f"/api/v1/proposals/{HUGE}/transitions", json={}).status_code in (400, 401, 404)


@pytest.mark.parametrize("change, field", [
    ({"beneficiary_households": 10**20}, "beneficiary_households"),
    ({"year": 10**20}, "year"),
    ({"commodities": 5}, "commodities"),
    ({"beneficiary_villages": {"a": 1}}, "beneficiary_villages"),
    ({"budget_wan": "lots"}, "budget_wan"),
    ({"name": ["a", "b"]}, "name"),
    ({"geometry": {"type": "Circle", "radius": 3}}, "geometry"),
    ({"geometry": {"type": "Point", "coordinates": "x"}}, "geometry"),
    ({"geometry": {"foo": 1}}, "geometry"),
    ({"geometry": 12}, "geometry"),
    ({"unknown_field": 1}, "unknown_field"),
])
def test_malformed_proposal_bodies(client, users, login_as, change, field):  # noqa: F811
    login_as("village1")
    response = client.post("/api/v1/proposals", json=_data(users, **change), headers={"X-CSRFToken": _token(client)})
    error = _field_error(response, field)
    assert error["location"] == "body"


def test_body_must_be_a_json_object(client, users, login_as):  # noqa: F811
    login_as("village1")
    headers = {"X-CSRFToken": _token(client)}
    _field_error(client.post("/api/v1/proposals", data="name=x", headers=headers), "body")
    _field_error(client.post("/api/v1/proposals", data="{not json", headers=headers,
                             content_type="application/json"), "body")
    _field_error(client.post("/api/v1/proposals", json=[1, 2], headers=headers), "body")


def test_bad_geojson_is_a_clear_422_in_the_domain_too(users):  # noqa: F811
    with pytest.raises(P.ProposalInvalid) as info:
        P.create_proposal(users, _data(users, geometry={"type": "Point", "coordinates": []}), created_by="x")
    assert "geometry" in info.value.errors
    with pytest.raises(P.ProposalInvalid) as info:
        P.create_proposal(users, _data(users, beneficiary_households=10**20), created_by="x")
    assert "beneficiary_households" in info.value.errors


def test_transition_comment_and_version_types(client, users, login_as):  # noqa: F811
    p = P.create_proposal(users, _data(users), created_by="village1")
    login_as("village1")
    headers = {"X-CSRFToken": _token(client)}
    url = f"/api/v1/proposals/{p.id}/transitions"
    _field_error(client.post(url, json={"action": "submit", "version": p.version, "comment": 5}, headers=headers),
                 "comment")
    _field_error(client.post(url, json={"action": "submit", "version": 2**64}, headers=headers), "version")
    _field_error(client.post(url, json={"action": "fly", "version": p.version}, headers=headers), "action")
    _field_error(client.patch(f"/api/v1/proposals/{p.id}", json={"version": "x"}, headers=headers), "version")
    ok = client.post(url, json={"action": "submit", "version": p.version, "comment": "好"}, headers=headers)
    assert ok.status_code == 200 and ok.get_json()["proposal"]["status"] == "submitted"


def test_bbox_errors_name_bbox(client):
    for bbox in ("abc", "1,2,3", "1,2,3,nan", "5,5,1,1", "0,0,500,10"):
        error = _field_error(client.get(f"/api/v1/layers/villages?bbox={bbox}"), "bbox")
        assert "expired" not in error["message"] and "过期" not in error["message"]
    assert client.get("/api/v1/layers/villages?bbox=110,33,112,35").status_code == 200


def test_network_parameters(client):
    _field_error(client.get("/api/v1/network/coverage?minutes=abc"), "minutes")
    _field_error(client.get("/api/v1/network/coverage?minutes=1e400"), "minutes")
    _field_error(client.get("/api/v1/network/coverage?facility=castle"), "facility")
    _field_error(client.get("/api/v1/network/service-areas?minutes=15,x"), "minutes")
    _field_error(client.get("/api/v1/network/od?from=villages"), "to")
    _field_error(client.get(f"/api/v1/network/od?to=towns&cutoff_min={HUGE}"), "cutoff_min")
    _field_error(client.get("/api/v1/proposals/portfolio?category=cold_chain"), "budget")


def test_405_carries_allow(client):
    response = client.delete("/api/v1/proposals")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.get_json()["error"]["code"] == 405
    page = client.post("/map/")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_security_headers_everywhere(client):
    for url in ("/map/", "/api/v1/layers", "/auth/login", "/nope", "/api/v1/openapi.json"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'self'" in csp and "object-src 'none'" in csp
        assert headers["X-Frame-Options"] == "SAMEORIGIN"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


def test_csp_allows_the_configured_basemap_only():
    from web.app import content_security_policy

    assert "tile.openstreetmap.org" in content_security_policy({"RURALPLAN_BASEMAP": "osm"})
    assert "https://t*.tianditu.gov.cn" in content_security_policy(
        {"RURALPLAN_BASEMAP": "tianditu-vec", "RURALPLAN_TIANDITU_KEY": "k"})
    none = content_security_policy({"RURALPLAN_BASEMAP": "none"})
    assert "img-src 'self' data: blob:;" in none


def test_openapi_is_generated_from_the_declarations(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    params = {p["name"]: p for p in doc["paths"]["/proposals"]["get"]["parameters"]}
    assert params["year"]["schema"]["maximum"] == 2200
    assert params["status"]["schema"]["items"]["enum"][0] == "draft"
    body = doc["paths"]["/proposals"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ProposalCreate"}
    create = doc["components"]["schemas"]["ProposalCreate"]
    assert create["additionalProperties"] is False and "beneficiary_households" in create["properties"]
    feature = doc["paths"]["/layers/{layer}/features/{id}"]["get"]["responses"]["200"]["content"]
    assert list(feature) == ["application/geo+json"]
    assert "429" in doc["paths"]["/network/od"]["get"]["responses"]
