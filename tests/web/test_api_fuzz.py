"""CI's bounded schemathesis pass: every operation of /api/v1/openapi.json, valid and
invalid requests, anonymous and as a planner; any 5xx fails (issue 14)."""
from __future__ import annotations

import pytest

from .conftest import PASSWORD
from .fuzz import fuzz_api, seed_proposals


@pytest.mark.slow
def test_no_server_errors_under_fuzzing(workspace):
    from web import create_app
    from web.services import netdata

    app = create_app({"RURALPLAN_WORKSPACE": str(workspace.path), "SECRET_KEY": "fuzz",
                      "SESSION_COOKIE_SECURE": False, "RURALPLAN_HEAVY_RUNS_PER_USER": 100})
    netdata.clear_cache()
    known = seed_proposals(workspace)
    report = fuzz_api(app, max_examples=4, heavy_examples=2, users=((None, None), ("planner1", PASSWORD)),
                      known_proposal=known)
    netdata.clear_cache()
    print(report.summary())
    assert report.calls >= 200
    assert report.server_errors == []
    assert report.statuses[200] > 0 and sum(n for s, n in report.statuses.items() if 400 <= s < 500) > 0
