"""``--help`` in the report language (``RURALPLAN_LANG``): the commands' descriptions,
their options' help, click's own words (Usage, Options, default, required) and the labels
of choice values, from the app's catalog (``web/translations``) like every other CLI text.

Help texts are English msgids marked with ``N_`` where they are declared (so ``pybabel
extract`` finds them); they are looked up when the help is shown, not when the command
is defined, because the language is the one of the run. Option names, metavars and choice
values stay as typed.
"""
from __future__ import annotations

import inspect
import re

import click

from geo.report import N_

#: click's own words in a help page (its English, looked up in the app's catalog).
CLICK_WORDS = (N_("Usage: "), N_("Options"), N_("Commands"), N_("Show this message and exit."),
               N_("Show the version and exit."), N_("default"), N_("required"), N_("env var"))
#: Choice values of the CLI's options that are not layer, model or role codes, in words.
CHOICE_WORDS = {
    "coverage": N_("coverage"), "placement": N_("placement"), "pairings": N_("assistance pairings"),
    "network": N_("road network"), "straight-line": N_("straight line"), "none": N_("none"),
    "linear": N_("linear"), "power": N_("power"), "exponential": N_("exponential"),
}


def _gettext():
    from .common import cli_gettext

    return cli_gettext()


def _lang() -> str:
    from .common import cli_lang

    return cli_lang()


def translated(text: str | None, gettext=None) -> str:
    """``text`` (an English msgid, indentation cleaned) in the report language."""
    if not text:
        return ""
    gettext = gettext or _gettext()
    return gettext(inspect.cleandoc(text))


def choice_label(value: str, lang: str, gettext) -> str | None:
    """The words for a choice value (a layer, a model, a user role or one of
    :data:`CHOICE_WORDS`), or None."""
    from layers.schema import LAYERS
    from planner.models import MODELS
    from web.services.labels import USER_ROLE_LABELS

    if value in LAYERS:
        return LAYERS[value].label(lang)
    if value in MODELS:
        return MODELS[value].label(lang)
    if value in USER_ROLE_LABELS:
        return gettext(USER_ROLE_LABELS[value])
    if value in CHOICE_WORDS:
        return gettext(CHOICE_WORDS[value])
    return None


def _same(a: str, b: str) -> bool:
    return re.sub(r"[\W_]+", "", a).lower() == re.sub(r"[\W_]+", "", b).lower()


def choices_text(choices, lang: str, gettext) -> str:
    """"value = words, …" for the choice values whose words say more than the value."""
    pairs = [(c, choice_label(str(c), lang, gettext)) for c in choices]
    pairs = [(c, w) for c, w in pairs if w and not _same(str(c), w)]
    if not pairs:
        return ""
    sep = "；" if lang == "zh" else "; "
    return sep.join(f"{c} = {w}" for c, w in pairs)


def _wide(text: str) -> bool:
    import unicodedata

    return any(unicodedata.east_asian_width(ch) in "WF" for ch in text)


def wrap_wide(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, breaking at spaces and
    between wide (CJK) characters, never before closing punctuation; paragraphs (blank
    lines) kept."""
    from .common import text_width

    out: list[str] = []
    for number, paragraph in enumerate(text.split("\n\n")):
        if number:
            out.append("")
        # tokens: a run of non-space narrow characters, one wide character, or spaces
        tokens = re.findall(r"[^\s\u2e80-\uffef]+|[\u2e80-\uffef]|\s+", " ".join(paragraph.split()))
        line = ""
        for token in tokens:
            if token.isspace():
                line += " " if line else ""
                continue
            if line and text_width(line.rstrip() + token) > width and token not in "，。；：、）》」』”’]":
                # an opening bracket goes with what it opens
                kept, opener = re.match(r"(.*?)([（《「『“‘\[]*)$", line.rstrip()).groups()
                if kept.strip():
                    out.append(kept.rstrip())
                line = opener + token
            else:
                line += token
        out.append(line.rstrip())
    return out


class HelpFormatter(click.HelpFormatter):
    """click's formatter with its own words (Usage, section titles, the ``[default: …;
    required]`` notes) in the report language, and Chinese wrapped by terminal columns
    (a CJK character takes two, and a line may break between any two of them)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix=translated("Usage: ") if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        colon = "：" if _lang() == "zh" else ":"
        self.write(f"{'':>{self.current_indent}}{translated(heading)}{colon}\n")

    def write_text(self, text: str) -> None:
        if not _wide(text):
            return super().write_text(text)
        indent = " " * self.current_indent
        for line in wrap_wide(text, max(self.width - self.current_indent, 11)):
            self.write(f"{indent}{line}\n" if line else "\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(first, _translate_notes(second)) for first, second in rows]
        if not any(_wide(second) for _first, second in rows):
            return super().write_dl(rows, col_max, col_spacing)
        from click.formatting import measure_table, term_len

        first_col = min(measure_table(rows)[0], col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if term_len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - term_len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = wrap_wide(second, max(self.width - first_col - 2, 10)) or [""]
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n")


def _translate_notes(text: str) -> str:
    """The trailing ``[default: x; required]`` click adds to an option's help, in the report language."""
    match = re.search(r"\s*\[([^\[\]]*)\]$", text)
    if not match or _lang() == "en":
        return text
    gettext = _gettext()
    parts = []
    for part in match.group(1).split("; "):
        word, sep, value = part.partition(": ")
        if word in ("default", "env var") and sep:
            parts.append(f"{gettext(word)}：{value}")
        elif part == "required":
            parts.append(gettext("required"))
        else:
            parts.append(part)
    return f"{text[:match.start()]}  [{'；'.join(parts)}]"


class HelpContext(click.Context):
    formatter_class = HelpFormatter


class TranslatedHelp:
    """Mixin of :class:`Command` and :class:`Group`: the help page in the report language.

    While the page is written, the command's and its parameters' help texts are swapped
    for their translations (with the words of their choices appended), and put back after.
    """

    context_class = HelpContext

    def get_help_option(self, ctx: click.Context):
        """click's ``--help`` option, made in English: click keeps it on the command with
        its help text as it was when made, and :meth:`format_help` translates it when shown
        (a later run in another language, as in tests, must not see the first one's)."""
        from .clicktext import click_speaks

        with click_speaks("en"):
            return super().get_help_option(ctx)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        gettext, lang = _gettext(), _lang()
        saved = [(self, self.help)] + [(p, getattr(p, "help", None)) for p in self.get_params(ctx)]
        try:
            self.help = translated(self.help, gettext) or None
            for param in self.get_params(ctx):
                if not isinstance(param, click.Option):
                    continue
                text = translated(param.help, gettext)
                if isinstance(param.type, click.Choice):
                    extra = choices_text(param.type.choices, lang, gettext)
                    if extra:
                        text = f"{text} ({extra})" if text and lang == "en" else (
                            f"{text}（{extra}）" if text else extra)
                param.help = text or None
            super().format_help(ctx, formatter)
        finally:
            for obj, text in saved:
                obj.help = text

    def get_short_help_str(self, limit: int = 45) -> str:
        """The first sentence of the translated help, cut at ``limit`` terminal columns."""
        from .common import text_width

        text = translated(self.short_help or self.help)
        first = re.split(r"(?<=[.。])\s|(?<=。)", text.strip(), maxsplit=1)[0].strip()
        if text_width(first) <= limit:
            return first
        out = ""
        for ch in first:
            if text_width(out + ch) > limit - 1:
                break
            out += ch
        return out.rstrip() + "…"


class Command(TranslatedHelp, click.Command):
    """A command whose ``--help`` follows the report language."""


class Group(TranslatedHelp, click.Group):
    """A group whose ``--help`` (and its subcommands') follows the report language."""

    command_class = Command
    group_class = type  # subgroups are of this same class


def command(*args, **kwargs):
    """``click.command`` making a :class:`Command`."""
    kwargs.setdefault("cls", Command)
    return click.command(*args, **kwargs)


def group(*args, **kwargs):
    """``click.group`` making a :class:`Group`."""
    kwargs.setdefault("cls", Group)
    return click.group(*args, **kwargs)
