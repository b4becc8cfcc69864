"""Code-page aliases of county shapefiles and the plausibility check of decoded text."""
import pytest

from geo.encodings import (
    ANSI,
    GBK,
    UTF8,
    codec_for_alias,
    decode_plausibly,
    detect_codec,
    is_plausible_text,
)

GBK_ALIASES = ["ANSI 936", "936", "CP936", "cp936", "GBK", "gbk", "GB2312", "gb2312", "GB18030", "54936",
               "Windows-936", "EUC-CN", "ANSI936\r\n"]
UTF8_ALIASES = ["65001", "UTF-8", "UTF8", "utf-8", "utf8", "Utf_8", "UTF-8\n", "\ufeffUTF-8", "CP65001",
                "ANSI 65001"]


@pytest.mark.parametrize("alias", GBK_ALIASES)
def test_gbk_aliases(alias):
    assert codec_for_alias(alias) == GBK
    assert "石键村".encode("gbk").decode(codec_for_alias(alias)) == "石键村"


@pytest.mark.parametrize("alias", UTF8_ALIASES)
def test_utf8_aliases(alias):
    assert codec_for_alias(alias) == UTF8


@pytest.mark.parametrize("alias", ["System", "SYSTEM", "system", "ANSI", "", "  "])
def test_system_means_the_writers_ansi_code_page(alias):
    assert codec_for_alias(alias) == ANSI


@pytest.mark.parametrize("alias, codec", [("ANSI 1252", "CP1252"), ("1252", "CP1252"), ("8859_1", "ISO-8859-1"),
                                          ("ISO-8859-1", "ISO-8859-1"), ("Big5", "CP950"), ("950", "CP950"),
                                          ("Latin1", "ISO-8859-1"), (b"UTF-8", UTF8)])
def test_other_aliases(alias, codec):
    assert codec_for_alias(alias) == codec


def test_unknown_alias():
    assert codec_for_alias("Klingon") is None
    assert codec_for_alias("99999") is None


def test_plausibility_catches_mojibake():
    gbk = "张家庄村".encode("gbk")
    assert decode_plausibly(gbk, GBK) == "张家庄村"
    assert decode_plausibly(gbk, UTF8) is None  # not UTF-8 at all
    assert decode_plausibly(gbk, "latin-1") is None  # ÕÅ¼Ò×¯´å
    assert decode_plausibly(gbk, "CP1252") is None
    assert decode_plausibly("张家庄村".encode(), GBK) is None
    assert is_plausible_text("Hôtel Élysée") and is_plausible_text("东关村（一组）")
    assert not is_plausible_text("ÕÅ¼Ò×¯´å") and not is_plausible_text("a\x00b")


def test_detect_codec_by_bytes():
    assert detect_codec(["李家沟村".encode("gbk"), b"abc"]) == GBK
    assert detect_codec(["李家沟村".encode()]) == UTF8
    assert detect_codec([b"plain ascii"]) is None
    # mostly UTF-8 with one GBK record: UTF-8 wins
    assert detect_codec(["甲村".encode(), "乙村".encode(), "丙村".encode("gbk")]) == UTF8
