"""Every /api/v1 route (and method) is in /api/v1/openapi.json."""
from __future__ import annotations

import re

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _shape(path: str) -> str:
    """A path with every parameter as {} (Flask <int:x>, OpenAPI {x})."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


def test_every_api_rule_is_documented(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    documented = {}
    for path, item in doc["paths"].items():
        documented.setdefault(_shape(path), set()).update(m.upper() for m in item)
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")]
    assert len(rules) >= 20
    missing = []
    for rule in rules:
        path = _shape(rule.rule[len("/api/v1"):])
        for method in sorted(set(rule.methods) - IGNORED_METHODS):
            if method not in documented.get(path, set()):
                missing.append(f"{method} {rule.rule}")
    assert missing == []


def test_proposal_endpoints_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/proposals"]) == {"get", "post"}
    assert set(paths["/proposals/{proposal_id}"]) == {"get", "patch"}
    assert set(paths["/proposals/{proposal_id}/transitions"]) == {"get", "post"}
    for path in ("/proposals/{proposal_id}/evaluation", "/proposals/portfolio", "/proposals/workflow"):
        assert "get" in paths[path]
    ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(ids) == len(set(ids))  # operationIds are unique
    for item in paths.values():
        for op in item.values():
            for p in op.get("parameters", []):
                assert p["in"] in ("path", "query", "header") and "schema" in p
