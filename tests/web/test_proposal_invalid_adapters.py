"""The API says a ProposalInvalid in the reader's language (tests/layers/test_proposal_invalid_lang.py
for the message itself): the 422's message was the English "invalid proposal"; the field codes
and their English texts stay in ``fields`` for scripts."""
from __future__ import annotations

import re

import pytest

from .conftest import csrf_token
from .test_projects_views import _data, users  # noqa: F401 - fixture


@pytest.mark.parametrize("lang, expected", [
    ("zh", "项目申报信息有误：其中监测户：监测户数多于受益户数"),
    ("en", "The proposal is not valid: of which monitored households: "),
])
def test_the_api_422_message_is_in_the_readers_language(client, login_as, users, lang, expected):  # noqa: F811
    login_as("village1")
    client.set_cookie("rp_lang", lang)
    token = csrf_token(client, "/projects/")
    bad = client.post("/api/v1/proposals", json=_data(users, beneficiary_households=3, beneficiary_monitored=9),
                      headers={"X-CSRFToken": token})
    assert bad.status_code == 422
    error = bad.get_json()["error"]
    assert error["message"].startswith(expected), error
    if lang == "zh":
        assert not re.search(r"[A-Za-z]{3,}", error["message"]), error
    else:
        assert "more monitored households than beneficiary households" in error["message"]
    assert error["fields"] == {"beneficiary_monitored": "more monitored households than beneficiary households"}
