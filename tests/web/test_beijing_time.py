"""People read Beijing time (Asia/Shanghai), the workspace stores UTC."""
from __future__ import annotations

import datetime as dt

from layers import proposals as P
from web.formatting import format_datetime, to_beijing

from .test_projects_views import TO_PUBLISHED, _data, _walk, users  # noqa: F401 - fixture


def test_format_datetime_is_beijing():
    assert format_datetime("2026-11-30T17:05:09.123456+00:00") == "2026-12-01 01:05"
    assert format_datetime("2026-06-30T00:00:00Z") == "2026-06-30 08:00"  # no daylight saving
    assert format_datetime(dt.datetime(2026, 1, 1, 20, 0)) == "2026-01-02 04:00"  # naive = UTC
    assert format_datetime(None) == "" and to_beijing("") is None


def test_history_shows_beijing_time(client, login_as, users):  # noqa: F811
    p = _walk(users, P.create_proposal(users, _data(users), created_by="village1"), TO_PUBLISHED[:1])
    login_as("approver1")
    html = client.get(f"/projects/{p.id}").get_data(as_text=True)
    at = P.history(users, p.id)[0].at
    assert "北京时间" in html and "UTC" not in html
    assert format_datetime(at) in html
