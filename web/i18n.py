"""Language choice: zh-CN by default, English by a switch kept in a cookie.

UI text goes through Flask-Babel (msgids in English, ``translations/zh``); schema labels
are domain data that carry both languages and are picked with :func:`label`.
"""
from __future__ import annotations

from flask import request
from flask_babel import get_locale

LANG_COOKIE = "rp_lang"
LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT_LANG = "zh"


def select_locale() -> str:
    choice = request.cookies.get(LANG_COOKIE)
    return choice if choice in LANGUAGES else DEFAULT_LANG


def current_lang() -> str:
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh"


def html_lang() -> str:
    return "zh-CN" if current_lang() == "zh" else "en"


def label(item) -> str:
    """The schema label (``LayerSchema``, ``Field`` or ``Choice``) in the current language."""
    return item.zh if current_lang() == "zh" else item.en


def translate_message(message: str) -> str:
    """gettext for a Problem template (the English template is the msgid).

    Called without variables, so gettext does no %-formatting of the result.
    """
    from flask_babel import gettext

    return gettext(message)
