"""The ``ruralplan`` command line: one module per area registers its commands here."""
from __future__ import annotations

import click

from geo.errors import RuralplanError
from geo.report import N_

from . import (batch_cmds, network_cmds, pairing_cmds, placement_cmds, project_cmds, resilience_cmds, server_cmds,
               workspace_cmds)
from .clicktext import click_speaks
from .common import cli_lang
from .helptext import Group

COMMAND_MODULES = [workspace_cmds, server_cmds, network_cmds, placement_cmds, pairing_cmds, project_cmds,
                   resilience_cmds, batch_cmds]
#: Exit status of a command stopped by a typed error (bad input, setting or state), as for
#: a usage error: the user can fix it; 1 stays for crashes.
EXIT_USER_ERROR = 2


class TypedErrorGroup(Group):
    """The CLI's one translation of :class:`geo.errors.RuralplanError`: one line on stderr
    in the terminal's language (``RURALPLAN_LANG`` or the locale) and exit status 2; and
    click's own messages (usage errors, exit status 2 too) in that language."""

    def main(self, *args, **kwargs):
        with click_speaks(cli_lang()):
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RuralplanError as err:
            lang = cli_lang()
            from web.i18n import catalog_gettext

            message = err.message(lang, translate=catalog_gettext(lang))  # msgids in its params too
            click.echo(f"{'错误：' if lang == 'zh' else 'error: '}{message}", err=True)
            ctx.exit(EXIT_USER_ERROR)


@click.group(cls=TypedErrorGroup, context_settings={"help_option_names": ["-h", "--help"]},
             help=N_("ruralplan — county rural-revitalization planning: villages, road network analysis, "
                     "location-allocation, assistance pairings and the project library."))
@click.version_option(package_name="ruralplan")
def main() -> None:
    """The ``ruralplan`` command (help above, in the report language)."""


for _module in COMMAND_MODULES:
    _module.register(main)
