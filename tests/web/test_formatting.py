"""Units and numbers from one place (web.formatting), and the plausibility warnings on money."""
from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from layers import proposals as P
from web.formatting import format_count, format_quantity, unit_name

from .test_projects_views import _data, users  # noqa: F401 - fixture


def test_quantities_in_both_languages():
    assert format_quantity(79846, "t") == "79,846 吨" and format_quantity(79846, "t", lang="en") == "79,846 t"
    assert format_quantity(400, "wan") == "400 万元" and format_quantity(400, "wan", lang="en") == "400 10k CNY"
    assert format_quantity(30.0, "min") == "30 分钟" and format_quantity(12.345, "km", digits=2) == "12.35 公里"
    assert format_quantity(None, "t") == "—" and format_quantity(float("nan"), "t") == "—"
    assert unit_name("wan") == "万元" and unit_name("km", lang="en") == "km"


def test_counts_have_thousands_separators():
    assert format_count(24242) == "24,242" and format_count(75212.0) == "75,212" and format_count(7) == "7"
    assert format_count(None) == "—"


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_count_reads_back(n):
    text = format_count(n)
    assert int(text.replace(",", "")) == n
    assert all(len(g) == 3 for g in text.lstrip("-").split(",")[1:])


def test_plausibility_codes():
    assert P.plausibility_warnings(4_000_000) == ("budget_high",)
    assert P.plausibility_warnings(P.VILLAGE_BUDGET_WARN_WAN) == ()  # at the limit: fine
    assert P.plausibility_warnings(200, beneficiary_households=30, expected_jobs=6) == ()
    assert P.plausibility_warnings(1, beneficiary_households=20_000, expected_jobs=6_000) == ("households_high",
                                                                                              "jobs_high")


def test_detail_warns_on_an_implausible_budget(client, login_as, users):  # noqa: F811
    big = P.create_proposal(users, _data(users, name="大车间", budget_wan=4_000_000), created_by="village1")
    fine = P.create_proposal(users, _data(users), created_by="village1")
    login_as("village1")
    html = client.get(f"/projects/{big.id}").get_data(as_text=True)
    assert 'id="plausibility-1"' in html and "4,000,000 万元" in html and "1,000 万元" in html
    html = client.get(f"/projects/{fine.id}").get_data(as_text=True)
    assert "plausibility-1" not in html and "200 万元" in html
    assert not re.search(r"\d t\b", html)  # no English unit in the zh page
    form = client.get("/projects/new").get_data(as_text=True)
    assert "投资规模（万元）" in form


def test_saving_an_implausible_budget_flashes_a_warning(client, login_as, users):  # noqa: F811
    from tests.web.conftest import csrf_token

    login_as("village1")
    token = csrf_token(client, "/projects/new")
    data = {k: v for k, v in _data(users, budget_wan="4000000").items() if not isinstance(v, list)}
    data.update({"csrf_token": token, "beneficiary_villages": _data(users)["beneficiary_villages"][0]})
    response = client.post("/projects/new", data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "rp-flash-warning" in html and "请核对单位" in html
    assert P.list_proposals(users)[0].budget_wan == 4_000_000  # a warning, not a refusal


def test_template_filters(app):
    from flask import render_template_string

    with app.test_request_context("/"):
        out = render_template_string('{{ 24242|count }}|{{ 79846|qty("t") }}|{{ 12.5|qty("km") }}|{{ "wan"|unit }}')
    assert out == "24,242|79,846 吨|12.5 公里|万元"
    with app.test_request_context("/", headers={"Cookie": "rp_lang=en"}):
        out = render_template_string('{{ 79846|qty("t") }}|{{ 30|qty("min") }}')
    assert out == "79,846 t|30 min"
