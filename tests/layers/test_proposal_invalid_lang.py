"""ProposalInvalid says every field by its label and message in the reader's language.

Its zh message used to join the English field messages ("项目申报信息有误：budget_wan: not a
number: “abc”"); now each :class:`layers.errors.FieldMessage` (and "required") is rendered
through the adapter's gettext, field names by their labels. The web error handler, the API
and the CLI's one wrapper pass their gettext (tests below the unit test)."""
from __future__ import annotations

import re

import pytest

from layers import proposals as P
from web.i18n import catalog_gettext


def _invalid() -> P.ProposalInvalid:
    with pytest.raises(P.ProposalInvalid) as info:
        P.clean_proposal_data({"name": "测试冷库", "category": "cold_chain", "town": "东岭镇",
                               "village_code": "140823100001", "content": "新建", "budget_wan": "十万",
                               "geometry": "POINT (111.2 35.3)", "beneficiary_villages": ["1408"]})
    return info.value


def test_zh_message_is_all_chinese():
    err = _invalid()
    zh = err.message("zh", translate=catalog_gettext("zh"))
    assert zh == "项目申报信息有误：投资规模：不是数字：“十万”；受益村：不是 12 位行政村代码：1408"
    assert not re.search(r"[A-Za-z]{3,}", zh), zh


def test_en_message_names_the_fields_by_their_labels():
    err = _invalid()
    en = err.message("en", translate=catalog_gettext("en"))
    assert en == ("The proposal is not valid: Budget: not a number: “十万”; "
                  "Beneficiary villages: not 12-digit village codes: 1408")
    assert err.message("en") == en  # English needs no catalog
    assert set(err.errors) == {"budget_wan", "beneficiary_villages"}  # the codes stay for scripts


def test_required_is_translated_too():
    with pytest.raises(P.ProposalInvalid) as info:
        P.clean_proposal_data({"category": "cold_chain"})
    zh = info.value.message("zh", translate=catalog_gettext("zh"))
    assert "项目名称：必填" in zh and "required" not in zh
