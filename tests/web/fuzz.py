"""A bounded schemathesis pass over the OpenAPI document, in process (WSGI).

Used by ``test_api_fuzz.py`` (small, in CI) and by hand for a long run::

    python -m tests.web.fuzz --examples 60      # prints calls and status counts

Every operation of ``/api/v1/openapi.json`` is called with data generated from its
declared schema, valid (positive) and invalid (negative), anonymously and as a logged-in
planner (session cookie and CSRF header). Server errors are collected with their
tracebacks; nothing else is judged here (a 4xx is a fine answer to a fuzzed request).
"""
from __future__ import annotations

import collections
import traceback
from dataclasses import dataclass, field

#: Operations whose cost is a full analysis on every call: fuzzed with fewer examples.
HEAVY = ("getODMatrix", "getServiceAreas", "getCoverage", "getAccessibility", "evaluateProposal", "getPortfolio")


@dataclass
class FuzzReport:
    statuses: collections.Counter = field(default_factory=collections.Counter)
    server_errors: list = field(default_factory=list)
    #: (check, operation, failure title) → count, when run with ``conformance=True``
    nonconforming: collections.Counter = field(default_factory=collections.Counter)

    @property
    def calls(self) -> int:
        return sum(self.statuses.values())

    @property
    def count_5xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)

    def summary(self) -> str:
        by_class = collections.Counter(f"{s // 100}xx" for s in self.statuses.elements())
        return f"{self.calls} calls, " + ", ".join(f"{k}: {v}" for k, v in sorted(by_class.items()))


def session_for(app, username: str, password: str) -> tuple[dict, dict]:
    """(cookies, headers) of a logged-in session: the session cookie and the X-CSRFToken."""
    import re

    client = app.test_client()
    html = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    response = client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.status_code
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    return {name: cookie.value}, {"X-CSRFToken": token}


def fuzz_api(app, *, max_examples: int = 10, heavy_examples: int | None = None, users=((None, None),),
             seed: int = 14, modes=("positive", "negative"), progress=None, conformance: bool = False,
             known_proposal: int | None = None) -> FuzzReport:
    """Call every documented operation with generated requests; return the status counts.

    Parameters
    ----------
    app : flask.Flask
        The app under test (its exceptions become 500 answers here, as in production).
    max_examples : int
        Hypothesis examples per operation, generation mode and user.
    heavy_examples : int, optional
        Examples for :data:`HEAVY` operations (default ``max_examples``).
    users : sequence of (username, password)
        ``(None, None)`` is the anonymous visitor.
    progress : callable, optional
        Called with a line of text after each operation and mode.
    known_proposal : int, optional
        The id of a stored proposal: its operations are also fuzzed with that id.
    conformance : bool
        Also check every answer against the document (status code, content type,
        headers, body schema) and count the mismatches in ``report.nonconforming``.
    """
    import hypothesis
    import schemathesis
    from flask import got_request_exception
    from hypothesis import HealthCheck, Phase, settings
    from schemathesis.generation import GenerationMode

    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    report = FuzzReport()
    errors: list[str] = []

    def record(sender, exception, **extra):
        errors.append("".join(traceback.format_exception(exception)))

    got_request_exception.connect(record, app)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        for username, password in users:
            cookies, headers = session_for(app, username, password) if username else ({}, {})
            for op in operations:
                n = heavy_examples if (heavy_examples is not None and op.definition.raw.get("operationId") in HEAVY) \
                    else max_examples
                if n <= 0:
                    continue
                runs = [(mode, None) for mode in modes]
                if "{proposal_id}" in op.path and known_proposal is not None:
                    # random ids almost never exist: also fuzz the real proposal's operations
                    runs.append(("positive", {"proposal_id": known_proposal}))
                for mode, path_parameters in runs:
                    strategy = op.as_strategy(generation_mode=GenerationMode(mode), headers=headers or None,
                                              path_parameters=path_parameters)

                    @settings(max_examples=n, deadline=None, database=None, derandomize=False,
                              suppress_health_check=list(HealthCheck), phases=[Phase.generate],
                              print_blob=False)
                    @hypothesis.given(case=strategy)
                    @hypothesis.seed(seed)
                    def run(case):
                        before = len(errors)
                        try:
                            response = case.call(cookies=cookies or None)
                            status = response.status_code
                        except Exception as exc:  # noqa: BLE001 - schemathesis re-raises the app's exception
                            status, response = 500, None
                            errors.append("".join(traceback.format_exception(exc)))
                        if conformance and response is not None:
                            _conformance(report, case, response)
                        report.statuses[status] += 1
                        if status >= 500:
                            report.server_errors.append({
                                "user": username, "method": case.method, "path": case.formatted_path,
                                "query": case.query, "body": repr(case.body)[:300], "status": status,
                                "traceback": errors[-1] if len(errors) > before else None})

                    try:
                        run()
                    except hypothesis.errors.Unsatisfiable:
                        pass  # nothing to make invalid (an operation without parameters)
                    if progress is not None:
                        progress(f"{username or 'anonymous'} {op.method.upper()} {op.path} {mode}"
                                 f"{' (known id)' if path_parameters else ''}: "
                                 f"{report.summary()}")
    finally:
        got_request_exception.disconnect(record, app)
    return report


def users_module():
    """:mod:`web.services.users` (where the application layer keeps it), or ``web.users``."""
    try:
        from web.services import users
    except ImportError:
        from web.services import users
    return users


def seed_proposals(ws) -> int:
    """Two proposals (a draft and a submitted one) to fuzz against; returns the draft's id."""
    from layers import proposals as P
    from layers import workflow as W

    get_user = users_module().get_user

    villages = ws.read_layer("villages").sort_values("code")  # the demo applicant's village
    code, point = str(villages["code"].iloc[0]), villages.geometry.iloc[0]
    data = {"name": "测试冷库", "category": "cold_chain", "village_code": code, "content": "新建保鲜库",
            "budget_wan": 200, "geometry": f"POINT ({point.x + 0.002} {point.y})", "year": 2024,
            "town": str(villages["town"].iloc[0])}
    draft = P.create_proposal(ws, data, created_by="planner")
    other = P.create_proposal(ws, {**data, "name": "第二个"}, created_by="planner")
    W.transition(ws, other.id, "submit", actor=get_user(ws, "village"), expected_version=other.version)
    return draft.id


def _conformance(report: FuzzReport, case, response) -> None:
    from schemathesis.checks import (content_type_conformance, response_headers_conformance,
                                     response_schema_conformance, status_code_conformance)

    for check in (status_code_conformance, content_type_conformance, response_headers_conformance,
                  response_schema_conformance):
        try:
            case.validate_response(response, checks=[check])
        except BaseException as exc:  # noqa: BLE001 - a FailureGroup (an exception group) or a single failure
            for failure in getattr(exc, "exceptions", [exc]):
                title = getattr(failure, "title", type(failure).__name__)
                report.nonconforming[(check.__name__, f"{case.method} {case.operation.path}", str(title))] += 1


def main(argv=None) -> int:
    """Fuzz a fresh copy of the test sample workspace and print the counts."""
    import argparse
    import json
    import tempfile
    from pathlib import Path

    from web import create_app

    from .sample import build_sample_workspace

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--heavy-examples", type=int, default=None)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--conformance", action="store_true", help="also check answers against the document")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ws = build_sample_workspace(Path(tmp) / "fuzz.gpkg")
        users_module().add_user(ws, "planner1", "secret123", "planner")
        users_module().ensure_demo_users(ws)
        known = seed_proposals(ws)
        app = create_app({"RURALPLAN_WORKSPACE": str(ws.path), "SECRET_KEY": "fuzz", "SESSION_COOKIE_SECURE": False,
                          "RURALPLAN_HEAVY_RUNS_PER_USER": 100})
        report = fuzz_api(app, max_examples=args.examples, heavy_examples=args.heavy_examples, seed=args.seed,
                          users=((None, None), ("planner1", "secret123")),
                          progress=lambda line: print(line, flush=True), conformance=args.conformance,
                          known_proposal=known)
    print(report.summary())
    print(json.dumps(dict(sorted(report.statuses.items()))))
    for key, count in sorted(report.nonconforming.items()):
        print("nonconforming", count, *key)
    for err in report.server_errors[:20]:
        print(json.dumps({k: v for k, v in err.items() if k != "traceback"}, ensure_ascii=False, default=str))
        print(err["traceback"])
    return 1 if report.count_5xx else 0


if __name__ == "__main__":
    raise SystemExit(main())
