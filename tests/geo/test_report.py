import pickle

import pytest

from geo.report import N_, Problem, error, errors, warning, warnings


def test_text_formats_location_and_params():
    p = Problem("error", "coord_not_numeric", N_("“{value}” is not a number"),
                {"value": "abc"}, file="村庄.xlsx", row=5, field="经度")
    assert p.text() == "村庄.xlsx, row 5, field 经度: “abc” is not a number"


def test_translate_applies_to_template_before_format():
    p = warning("w", "{n} rows", params={"n": 3})
    catalog = {"{n} rows": "{n} 行"}
    assert p.text(lambda s: catalog.get(s, s)) == "3 行"


def test_text_without_location():
    assert Problem("warning", "x", "plain").text() == "plain"


def test_to_dict_keeps_template_and_params_apart():
    d = error("c", "bad {x}", params={"x": 1}, row=2).to_dict()
    assert d["message"] == "bad {x}"
    assert d["params"] == {"x": 1}
    assert d["row"] == 2 and d["file"] is None
    assert d["text"] == "row 2: bad 1"


def test_frozen_hashable_picklable_and_params_copied():
    params = {"x": 1}
    p = error("c", "{x}", params=params)
    params["x"] = 2
    assert p.params["x"] == 1
    with pytest.raises(AttributeError):
        p.code = "other"
    assert len({p, error("c", "{x}", params={"x": 1})}) == 1
    assert pickle.loads(pickle.dumps(p)) == p


def test_bad_severity_rejected():
    with pytest.raises(ValueError, match="severity"):
        Problem("fatal", "c", "m")


def test_errors_and_warnings_split():
    ps = [error("a", "a"), warning("b", "b"), error("c", "c")]
    assert [p.code for p in errors(ps)] == ["a", "c"]
    assert [p.code for p in warnings(ps)] == ["b"]
