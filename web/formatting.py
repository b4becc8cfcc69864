"""Times, units and numbers as a person reads them, from one place (Flask-free).

Officials read Beijing time (Asia/Shanghai, UTC+8, no daylight saving); the workspace
stores UTC ISO-8601 strings. Templates reach these through Jinja filters registered in
:mod:`web.app`; exports and the CLI call them directly.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

#: The time zone every displayed time is in.
BEIJING = ZoneInfo("Asia/Shanghai")


def to_beijing(value: str | dt.datetime | None) -> dt.datetime | None:
    """A stored time (ISO-8601 text or datetime; naive means UTC) as an aware Beijing datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)  # Python 3.11 reads a trailing Z
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(BEIJING)


def beijing_today() -> dt.date:
    """Today's date in Beijing (not the server's, not UTC's: after 16:00 UTC it is tomorrow)."""
    return dt.datetime.now(BEIJING).date()


def format_date_zh(day: dt.date) -> str:
    """``2026年11月30日`` (the form of a 落款 date)."""
    return f"{day.year}年{day.month}月{day.day}日"


def format_datetime(value, *, lang: str = "zh") -> str:
    """A stored time for people: ``2026-11-30 15:46`` in Beijing time ("" when missing)."""
    local = to_beijing(value)
    if local is None:
        return ""
    return local.strftime("%Y-%m-%d %H:%M")


#: Units as the schema writes them (Chinese) and in English.
UNITS_EN = {
    "人": "persons", "户": "households", "万元": "10k CNY", "元": "CNY", "吨": "t", "吨/年": "t/yr",
    "亩": "mu", "公里": "km", "km": "km", "分钟": "min", "min": "min", "km/h": "km/h", "米": "m", "m": "m",
}


def unit_label(unit: str | None, lang: str = "zh") -> str:
    """A unit in the reader's language (``吨`` → ``t`` in English); unknown units unchanged."""
    if not unit:
        return ""
    return UNITS_EN.get(unit, unit) if lang == "en" else unit


#: Display units: key -> (zh, en). Quantities in templates name the key (``|qty("t")``).
UNITS = {
    "t": ("吨", "t"), "wan": ("万元", "10k CNY"), "min": ("分钟", "min"), "km": ("公里", "km"),
    "households": ("户", "households"), "persons": ("人", "persons"), "m": ("米", "m"),
}


def format_minutes(value, *, limit=None, empty: str = "—") -> str:
    """Travel minutes for people, at 0.01 min (:data:`planner.travel.MINUTES_DECIMALS`):
    ``30.01``, ``12.30``; None/NaN/inf as ``empty``.

    ``limit`` (a cutoff in minutes): a time over it never prints as if within it — when
    0.01 rounds it down onto the cutoff (30.004 → "30.00"), more decimals are shown
    (``30.004``, up to 6, then rounded up at 1e-6), so it reads over the cutoff and apart
    from 30.01. Cutoffs themselves (30 分钟) are printed as given, not through this.
    """
    import math

    from planner.travel import MINUTES_DECIMALS

    try:
        number = float(value)
    except (TypeError, ValueError):
        return empty if value is None else str(value)
    if not math.isfinite(number):
        return empty
    text = f"{number:.{MINUTES_DECIMALS}f}"
    if limit is not None and number > float(limit):
        for digits in range(MINUTES_DECIMALS, 7):
            text = f"{number:.{digits}f}"
            if float(text) > float(limit):
                return text
        return f"{math.ceil(number * 1e6) / 1e6:.6f}"
    return text


def format_filesize(size_bytes) -> str:
    """A file size as people read it: 812 B, 35.2 KB, 4.8 MB (binary units, as file managers show)."""
    size = float(size_bytes or 0)
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MB"


def format_count(value, *, empty: str = "—") -> str:
    """A count with thousands separators: 24242 → ``24,242`` (None/NaN → ``empty``)."""
    import math

    if value is None or isinstance(value, bool):
        return empty if value is None else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return empty
    return f"{round(number):,d}"


def trimmed_number(value, *, digits: int = 1, empty: str = "—", grouping: bool = True) -> str:
    """``value`` with at most ``digits`` decimals, no trailing zeros and (``grouping``)
    thousands separators; None/NaN/inf as ``empty``, text that is no number as itself."""
    import math

    if value is None:
        return empty
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return empty
    text = f"{number:{',' if grouping else ''}.{max(0, int(digits))}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_quantity(value, unit: str, *, lang: str = "zh", digits: int = 1, empty: str = "—") -> str:
    """A measured amount with its unit in the reader's language.

    ``format_quantity(79846, "t")`` → ``79,846 吨`` (zh) / ``79,846 t`` (en); at most
    ``digits`` decimals, no trailing zeros, thousands separators. ``unit`` is a key of
    :data:`UNITS` (unknown units are printed as given).
    """
    try:
        float(value)
    except (TypeError, ValueError):
        return empty if value is None else str(value)  # no number: no unit either
    text = trimmed_number(value, digits=digits, empty=empty)
    if text == empty:
        return empty
    zh, en = UNITS.get(unit, (unit, unit))
    return f"{text} {en if lang == 'en' else zh}"


def unit_name(unit: str, *, lang: str = "zh") -> str:
    """The word for a unit key (``wan`` → ``万元`` / ``10k CNY``)."""
    zh, en = UNITS.get(unit, (unit, unit))
    return en if lang == "en" else zh
