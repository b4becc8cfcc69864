"""Helpers shared by the command modules."""
from __future__ import annotations

import click

from geo.report import N_


def workspace_option(*, exists: bool = True):
    """The ``--workspace/-w`` option every command takes."""
    return click.option("--workspace", "-w", required=True, envvar="RURALPLAN_WORKSPACE",
                        type=click.Path(dir_okay=False, exists=exists),
                        help=N_("The county workspace (.gpkg). Env: RURALPLAN_WORKSPACE."))


def cli_lang() -> str:
    """The report language: ``RURALPLAN_LANG``, else the locale (zh_CN… → zh), else English."""
    import os

    for key in ("RURALPLAN_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(key, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def echo_problems(problems, *, lang: str | None = None) -> None:
    """A validation report, one problem a line, errors first, in the user's language."""
    from web.i18n import catalog_gettext, format_problem, sorted_problems

    from dataclasses import replace

    from geo.report import MORE

    lang = lang or cli_lang()
    gettext = catalog_gettext(lang)
    tags = {True: gettext("error"), False: gettext("warning")}
    problems = list(problems)
    kinds = _kind_texts(problems, gettext)
    colon = "：" if lang == "zh" else ": "
    for p in capped_per_kind(sorted_problems(problems)):
        if p.code == MORE and p.params.get("kind") in kinds:  # the kind in words, not its code
            p = replace(p, params={**p.params, "kind": kinds[p.params["kind"]]})
        click.echo(f"{tags[p.is_error]}{colon}{format_problem(p, gettext)}", err=p.is_error)


#: Problems of one kind (severity and code) a terminal report lists; the rest are one line
#: with their count (a file of 350 rows without a location is not 350 lines).
LISTED_PER_KIND = 10


def capped_per_kind(problems, *, limit: int = LISTED_PER_KIND) -> list:
    """``problems`` (in order) with at most ``limit`` of each kind, then one "more problems
    of kind …" record per cut kind (records already counting a kind's rest add to it)."""
    from geo.report import MORE, N_, Problem

    shown: dict = {}
    hidden: dict = {}
    out = []
    for p in problems:
        if p.code == MORE:
            key = (p.severity, p.params.get("kind"))
            hidden[key] = hidden.get(key, 0) + int(p.params.get("more", 0))
            continue
        key = (p.severity, p.code)
        if shown.get(key, 0) < limit:
            shown[key] = shown.get(key, 0) + 1
            out.append(p)
        else:
            hidden[key] = hidden.get(key, 0) + 1
    template = N_("{more} more problems of kind {kind} are not listed ({total} in all)")
    for (severity, kind), more in hidden.items():
        if more > 0:
            out.append(Problem(severity, MORE, template,
                               params={"kind": kind, "more": more, "total": shown.get((severity, kind), 0) + more}))
    return out


def _kind_texts(problems, gettext) -> dict[str, str]:
    """Each listed problem kind (code) as its translated message with the values left out
    ("“code … is of county …”"), to name the kind of a "more problems" line."""
    import re

    out = {}
    for p in problems:
        if p.code not in out and p.message and "{more}" not in p.message:
            text = re.sub(r"\{[^}]*\}", "…", gettext(p.message))
            out[p.code] = f"“{text}”"
    return out


def cli_gettext():
    """The app catalog's gettext in the report language (``gettext(msgid, **values)``)."""
    from web.i18n import catalog_gettext

    return catalog_gettext(cli_lang())


def count_en(n, singular: str, plural: str | None = None) -> str:
    """``n`` and the English noun agreeing with it: "1 county", "2 counties", "0 villages"
    (Chinese needs no plural; say it with :func:`say`)."""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def nothing_written(n_errors: int, file) -> str:
    """The last line of a refused import, the count agreeing with its noun."""
    gettext = cli_gettext()
    if n_errors == 1:
        return gettext(N_("nothing written: 1 error in %(file)s"), file=file)
    return gettext(N_("nothing written: %(n)s errors in %(file)s"), n=n_errors, file=file)


def say(en: str, zh: str) -> str:
    """A line of command-line text in the report language (for text that is not a catalog msgid)."""
    return zh if cli_lang() == "zh" else en


def text_width(text: str) -> int:
    """Terminal columns of ``text``: wide (CJK) characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (left- or right-aligned)."""
    fill = " " * max(0, width - text_width(text))
    return fill + text if right else text + fill
