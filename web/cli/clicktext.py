"""click's own messages (usage errors: "Missing option", "No such option", "Invalid value
for …", "Try '… --help' for help."; prompts, "Aborted!") in the report language.

click marks its messages with the standard library's gettext: each of its modules does
``from gettext import gettext as _`` (and ``ngettext``). That gettext takes its language from
the process locale (``LANGUAGE``, ``LC_ALL``…) and its catalog from the default domain, not
from ``RURALPLAN_LANG`` and the app's catalog. So for the time of a CLI run,
:func:`click_speaks` gives click's modules the app catalog's ``gettext``/``ngettext`` in the
report language, and puts click's own back after. click's msgids are translated in
``web/translations`` with the app's (``tests/web/test_cli_text_labels.py`` checks that every
msgid of the installed click is there, so an upgrade adding one is noticed).
"""
from __future__ import annotations

import contextlib
import functools
import gettext as stdlib_gettext
import importlib
import pkgutil
import sys

import click

from geo.report import N_

#: Fields click fills with its own English words rather than the user's values: a number
#: type's name ("'abc' is not a valid {number_type}."), a parameter's kind ("Missing
#: {param_type}"); they are translated like the template around them.
WORD_FIELDS = ("number_type", "param_type")
#: Those words (click's number types' and parameter kinds' names; a path's kind, "file",
#: "directory", "path", is a click msgid of its own).
CLICK_TYPE_WORDS = (N_("integer"), N_("integer range"), N_("float"), N_("float range"), N_("option"),
                    N_("argument"), N_("parameter"))


class _Template(str):
    """A translated message template whose :meth:`format` also translates the
    :data:`WORD_FIELDS`, and the ``name`` before a ``filename`` (a path's kind, set in
    English when the command was declared: "File 'x' does not exist."); never a user's
    value, which may be any word."""

    translate = staticmethod(lambda text: text)

    def format(self, *args, **kwargs):  # noqa: A003 - str.format's name
        fields = WORD_FIELDS + (("name",) if "{filename" in self else ())
        for key in fields:
            if isinstance(kwargs.get(key), str):
                kwargs[key] = self.translate_word(kwargs[key])
        return str.format(self, *args, **kwargs)

    def translate_word(self, word: str) -> str:
        """``word`` translated, also when click capitalised it ("File")."""
        text = self.translate(word)
        if text == word and word != word.lower() and self.translate(word.lower()) != word.lower():
            return self.translate(word.lower())
        return text


def click_gettext(lang: str):
    """``(gettext, ngettext)`` over the app's catalog in ``lang``, as click calls them."""
    from web.i18n import load_catalog

    catalog = load_catalog(lang)
    template = type("Template", (_Template,), {"translate": staticmethod(catalog.gettext)})

    def gettext(message: str) -> str:
        return template(catalog.gettext(message))

    def ngettext(singular: str, plural: str, n: int) -> str:
        return template(catalog.ngettext(singular, plural, n))

    gettext.speaks = ngettext.speaks = lang  # tells them from other functions named _ (click_speaks)
    return gettext, ngettext


@functools.lru_cache(maxsize=1)
def click_modules() -> tuple:
    """click's modules (imported now, so none binds gettext later), but its Windows console
    module off Windows (it refuses to be imported there)."""
    modules = [click]
    for info in pkgutil.iter_modules(click.__path__, "click."):
        if info.name == "click._winconsole" and sys.platform != "win32":
            continue
        modules.append(importlib.import_module(info.name))
    return tuple(modules)


def _is_gettext(value) -> bool:
    return value in (stdlib_gettext.gettext, stdlib_gettext.ngettext) or getattr(value, "speaks", None) is not None


@contextlib.contextmanager
def click_speaks(lang: str):
    """Within the block, click's messages come from the app's catalog in ``lang`` (English:
    click's own, also within a block of another language); afterwards click's gettext is
    what it was."""
    if lang == "en":
        gettext, ngettext = stdlib_gettext.gettext, stdlib_gettext.ngettext
    else:
        gettext, ngettext = click_gettext(lang)
    saved = []
    for module in click_modules():
        for name, ours in (("_", gettext), ("ngettext", ngettext)):
            if _is_gettext(getattr(module, name, None)):
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, ours)
    try:
        yield
    finally:
        for module, name, value in reversed(saved):
            setattr(module, name, value)
