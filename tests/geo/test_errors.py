"""The shared error base: codes, kinds, and messages picked by language."""
import pytest

from geo.errors import InvalidInput, KIND_HTTP_STATUS, NotFound, RuralplanError


class SpeedInvalid(InvalidInput):
    code = "test.speed_invalid"
    en = "Setting {setting} is invalid: {reason}"
    zh = "设置 {setting} 无效：{reason}"


def test_message_by_language_with_translated_parameter():
    err = SpeedInvalid(setting="network.speed_table", reason_en="speed 0", reason_zh="速度为 0")
    assert err.message("zh") == "设置 network.speed_table 无效：速度为 0"
    assert err.message("zh_CN") == err.message("zh")
    assert err.message("en") == "Setting network.speed_table is invalid: speed 0"
    assert str(err) == err.message("en")
    assert err.http_status == 400
    body = err.to_dict("zh")
    assert body["code"] == "test.speed_invalid" and body["params"]["setting"] == "network.speed_table"


def test_kinds_keep_builtin_bases_and_statuses():
    assert isinstance(SpeedInvalid(setting="x", reason_en="", reason_zh=""), ValueError)
    err = NotFound(detail="layer roads")
    assert isinstance(err, LookupError) and err.http_status == 404
    assert set(KIND_HTTP_STATUS.values()) <= {400, 403, 404, 409, 413, 429}


def test_missing_parameter_does_not_raise():
    class Partial(RuralplanError):
        en = "{a} and {b}"
        zh = "{a} 和 {b}"
    assert Partial(a=1).message("en") == "1 and {b}"


@pytest.mark.parametrize("lang", ["", None, "fr"])
def test_unknown_language_falls_back_to_english(lang):
    assert SpeedInvalid(setting="s", reason_en="r", reason_zh="理").message(lang) == "Setting s is invalid: r"
