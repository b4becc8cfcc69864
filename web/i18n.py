"""Language choice: zh-CN by default, English by a switch kept in a cookie.

UI text goes through Flask-Babel (msgids in English, ``translations/zh``); schema labels
are domain data that carry both languages and are picked with :func:`label`.
"""
from __future__ import annotations

import functools

# Flask is imported inside the request-bound functions only: the application layer uses
# :func:`catalog_gettext` and must stay importable without Flask.
LANG_COOKIE = "rp_lang"
LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANG = "zh"


def select_locale() -> str:
    from flask import request

    choice = request.cookies.get(LANG_COOKIE)
    return choice if choice in LANGUAGES else DEFAULT_LANG


def current_lang() -> str:
    from flask_babel import get_locale

    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def html_lang() -> str:
    return "zh-CN" if current_lang() == "zh" else "en"


def label(item) -> str:
    """The schema label (``LayerSchema``, ``Field`` or ``Choice``) in the current language."""
    return item.zh if current_lang() == "zh" else item.en


def format_number(value, digits: int = 1, empty: str = "—") -> str:
    """A number for people: at most ``digits`` decimals and no trailing zeros (30.0 → "30",
    4.73 → "4.7"); None/NaN as ``empty``. Minutes, kilometres and the like go through it."""
    from .formatting import trimmed_number

    if isinstance(value, bool):
        return str(value)
    return trimmed_number(value, digits=digits, empty=empty, grouping=False)


def problem_text(problem) -> str:
    """A :class:`geo.report.Problem` in the current language: "file, row R, field F: message"."""
    from flask_babel import gettext

    return format_problem(problem, gettext)


def format_problem(problem, gettext) -> str:
    """Render a problem with any gettext (Flask-Babel's, or a catalog's for the CLI).

    ``gettext(msgid, **values)`` must %-format its values like Flask-Babel's does.
    """
    parts = []
    if problem.file:
        parts.append(str(problem.file))
    if problem.row is not None:
        parts.append(gettext("row %(n)s", n=problem.row))
    if problem.field:
        parts.append(gettext("field %(name)s", name=problem.field))
    try:
        body = gettext(problem.message).format(**problem.params)
    except (KeyError, IndexError, ValueError):  # a broken translation must not hide the problem
        body = problem.message.format(**problem.params)
    return f"{', '.join(parts)}: {body}" if parts else body


@functools.lru_cache(maxsize=4)
def load_catalog(lang: str):
    """The app's compiled catalog in ``lang`` (Babel translations; read once per process)."""
    from pathlib import Path

    from babel.support import NullTranslations, Translations

    return NullTranslations() if lang == "en" else Translations.load(
        str(Path(__file__).parent / "translations"), [lang])


def catalog_gettext(lang: str):
    """A Flask-free gettext over the app's catalog, for the command line."""
    catalog = load_catalog(lang)

    def gettext(msgid: str, **values) -> str:
        text = catalog.gettext(msgid)
        return text % values if values else text

    return gettext


def sorted_problems(problems) -> list:
    """Errors first, then by row (the CLI's order)."""
    return sorted(problems, key=lambda p: (not p.is_error, p.row if p.row is not None else -1))
