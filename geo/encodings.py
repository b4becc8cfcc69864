"""Text encodings of county files: code-page aliases, byte-level detection, plausibility.

Chinese county shapefiles carry their encoding in a ``.cpg`` file whose content is
whatever the writing tool chose: ``UTF-8``, ``65001``, ``GBK``, ``CP936``,
``ANSI 936``, ``GB2312``… or ``System`` / ``ANSI`` (ArcGIS: "the ANSI code page of the
Windows that wrote me", i.e. GBK on a Chinese Windows, cp1252 on a Western one). The
bytes themselves usually settle the question: Chinese text encoded as GBK is almost
never valid UTF-8, and UTF-8 text is always valid UTF-8. This module maps the aliases
to Python/iconv codec names and decides by the bytes; :mod:`charset_normalizer` (a
dependency of ``requests``) is asked only when neither UTF-8 nor GBK fits.

Codec names returned here are understood by both Python and GDAL (iconv).
"""
from __future__ import annotations

import functools
import re
import unicodedata

__all__ = [
    "ANSI",
    "GBK",
    "UTF8",
    "codec_for_alias",
    "decodes",
    "detect_codec",
    "is_plausible_text",
    "same_codec",
    "score_codec",
    "text_score",
]

#: Codec for UTF-8 (Python and iconv spelling).
UTF8 = "UTF-8"
#: Codec for GBK and its relatives: GB18030 is a superset of GBK, which is a superset
#: of GB2312, so one codec reads files labelled with any of the three.
GBK = "GB18030"
#: Marker returned by :func:`codec_for_alias` for "the writer's ANSI code page".
ANSI = "ANSI"

# Windows code page numbers (and the aliases that are just a number) -> codec.
_CODE_PAGES = {
    65001: UTF8, 936: GBK, 54936: GBK, 20936: GBK, 950: "CP950", 932: "CP932", 949: "CP949",
    874: "CP874", 437: "CP437", 850: "CP850", 852: "CP852", 866: "CP866",
    **{n: f"CP{n}" for n in range(1250, 1259)},
    28591: "ISO-8859-1", 28592: "ISO-8859-2", 28595: "ISO-8859-5", 28597: "ISO-8859-7",
    28599: "ISO-8859-9", 28605: "ISO-8859-15", 20866: "KOI8-R",
}
# Named aliases, normalised by _normalise (upper case, no spaces, '-', '_' or '.').
_NAMES = {
    "UTF8": UTF8, "UTF8BOM": UTF8, "UNICODE": UTF8,
    "GBK": GBK, "GB2312": GBK, "GB18030": GBK, "EUCCN": GBK, "CHINESE": GBK, "GB231280": GBK,
    "BIG5": "CP950", "BIG5HKSCS": "BIG5-HKSCS", "SHIFTJIS": "CP932", "SJIS": "CP932", "EUCJP": "EUC-JP",
    "EUCKR": "CP949", "KOI8R": "KOI8-R", "LATIN1": "ISO-8859-1", "ASCII": UTF8, "USASCII": UTF8,
}
_DETECT_SAMPLE = 5000
_ANSI_NAMES = {"SYSTEM", "ANSI", "OEM", "DEFAULT", "ACP", "ANSICODEPAGE", ""}
_NUMBERED = re.compile(r"(?:ANSI|CP|WINDOWS|WIN|MS|IBM|OEM|CODEPAGE|DOS)?(\d{3,5})")
_ISO8859 = re.compile(r"(?:ISO)?8859(\d{1,2})")


def _normalise(text: str) -> str:
    return re.sub(r"[\s\-_.:]", "", text.replace("\ufeff", "")).upper()


def codec_for_alias(text) -> str | None:
    """The codec a code-page alias (the content of a ``.cpg`` file) stands for.

    Parameters
    ----------
    text : str or bytes
        E.g. ``"UTF-8"``, ``"utf8"``, ``"65001"``, ``"GBK"``, ``"CP936"``,
        ``"ANSI 936"``, ``"GB2312"``, ``"GB18030"``, ``"ANSI 1252"``, ``"8859_1"``,
        ``"System"``.

    Returns
    -------
    str or None
        A codec name Python and iconv both understand (``"UTF-8"``, ``"GB18030"``
        for the whole GBK family, ``"CP1252"``…); :data:`ANSI` for ``System`` /
        ``ANSI`` / an empty file (the writer's ANSI code page: decide by the bytes);
        ``None`` for an alias nobody knows.
    """
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    key = _normalise(str(text))
    if key in _ANSI_NAMES:
        return ANSI
    if key in _NAMES:
        return _NAMES[key]
    match = _ISO8859.fullmatch(key)
    if match:
        return f"ISO-8859-{int(match.group(1))}"
    match = _NUMBERED.fullmatch(key)
    if match:
        return _CODE_PAGES.get(int(match.group(1)))
    return None


def same_codec(a: str | None, b: str | None) -> bool:
    """Whether two codec names decode the same bytes the same way (case-insensitive)."""
    if a is None or b is None:
        return a is b
    return _normalise(a) == _normalise(b)


def decodes(data: bytes, codec: str) -> bool:
    """Whether ``data`` decodes strictly with ``codec``."""
    try:
        data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F
            or 0xF900 <= code <= 0xFAFF)


# Characters mojibake is made of: C0/C1 controls (Latin-1 reading of GBK/UTF-8 lead
# bytes gives U+0080–U+009F), the replacement character, private-use and surrogates.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff\ud800-\udfff"
                        "\U000f0000-\U0010ffff]")


def is_plausible_text(text: str) -> bool:
    """Whether decoded text looks like real text rather than mojibake.

    Mojibake from reading one encoding as another shows as replacement characters,
    control or private-use characters; GBK read as Latin-1 gives runs of accented
    letters and symbols (``ÕÅ¼Ò×¯´å``); Latin-1 or UTF-8 bytes read as GBK give CJK
    characters outside the 6,763 common ones of GB2312 mixed with stray symbols. So:
    no replacement/control/private-use characters; when there are CJK characters, at
    least half of them common (GB2312) and few other non-ASCII symbols; without CJK,
    Latin accented letters (U+0080–U+024F) at most half of the letters.
    """
    if _BAD_CHARS.search(text):
        return False
    if text.isascii():
        return True
    non_ascii = [ch for ch in text if ch > "\x7f"]
    cjk = [ch for ch in non_ascii if _is_cjk(ch)]
    if cjk:
        common = sum(1 for ch in cjk if ch in _GB2312)
        other = sum(1 for ch in non_ascii if not _is_cjk(ch) and not _is_cjk_punctuation(ch))
        return common >= 0.5 * len(cjk) and other <= 0.2 * len(non_ascii)
    if any(unicodedata.category(ch) == "Cn" for ch in non_ascii):
        return False
    letters = [ch for ch in text if ch.isalpha()]
    accented = [ch for ch in letters if "\x80" <= ch <= "\u024f"]
    symbols = [ch for ch in non_ascii if not ch.isalpha() and not _is_cjk_punctuation(ch)]
    return len(accented) <= 0.5 * max(len(letters), 1) and len(symbols) <= 0.2 * len(text)


def _gb2312_chars() -> frozenset[str]:
    chars = set()
    for lead in range(0xA1, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes([lead, trail]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


#: The GB2312 repertoire (6,763 hanzi plus symbols): the "common" characters.
_GB2312 = _gb2312_chars()


def _in_gb2312(ch: str) -> bool:
    return ch in _GB2312


def _is_cjk_punctuation(ch: str) -> bool:
    code = ord(ch)
    return 0x3000 <= code <= 0x303F or 0xFF00 <= code <= 0xFFEF or 0x2010 <= code <= 0x206F or ch in "·°№"


def decode_plausibly(data: bytes, codec: str) -> str | None:
    """``data`` decoded strictly with ``codec`` when the result is plausible text, else None."""
    try:
        text = data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None
    return text if is_plausible_text(text) else None


@functools.lru_cache(maxsize=1 << 16)
def text_score(data: bytes, codec: str) -> float:
    """How well ``codec`` reads ``data``: 0 when not strictly or not plausibly, else 1 plus
    the share of common CJK characters among the non-ASCII ones (0–1).

    The CJK share settles bytes that two codecs both read: a GBK name made of characters
    whose two bytes happen to form valid UTF-8 (``\\xd5\\xb2``…) reads in UTF-8 as Cyrillic or
    Hebrew letters — plausible on its own, but in a Chinese county file the reading
    with Chinese characters is the right one.
    """
    text = decode_plausibly(data, codec)
    if text is None:
        return 0.0
    non_ascii = [ch for ch in text if ord(ch) > 0x7F]
    if not non_ascii:
        return 1.0
    return 1.0 + sum(1 for ch in non_ascii if _is_cjk(ch) and _in_gb2312(ch)) / len(non_ascii)


def score_codec(values: list[bytes], codec: str) -> float:
    """:func:`text_score` summed over ``values``."""
    return sum(text_score(v, codec) for v in values)


def detect_codec(values: list[bytes]) -> str | None:
    """The codec that reads ``values`` (byte strings with non-ASCII bytes) best.

    UTF-8 or GBK, by :func:`score_codec` (a tie goes to UTF-8: strictly valid UTF-8
    with non-ASCII bytes is rarely anything else); when neither reads anything,
    whatever :mod:`charset_normalizer` finds for the bytes together. None when
    nothing fits.
    """
    # distinct values, at most a few thousand: enough to tell, quick on a 1M-row file
    values = list(dict.fromkeys(v for v in values if not v.isascii()))[:_DETECT_SAMPLE]
    if not values:
        return None
    utf8 = score_codec(values, UTF8)
    gbk = score_codec(values, GBK)
    if utf8 or gbk:
        return UTF8 if utf8 >= gbk else GBK
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - installed with requests
        return None
    best = from_bytes(b"\n".join(values)).best()
    if best is None:
        return None
    try:
        return best.encoding.upper().replace("_", "-")
    except AttributeError:  # pragma: no cover
        return None
