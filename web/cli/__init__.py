"""The ``ruralplan`` command line: one module per area registers its commands here."""
from __future__ import annotations

import click

from . import workspace_cmds

COMMAND_MODULES = [workspace_cmds]


def _optional_modules():
    # Areas land one by one; a module that is not there yet simply adds no commands.
    import importlib

    for name in ("server_cmds", "network_cmds", "placement_cmds", "pairing_cmds", "project_cmds", "batch_cmds",
                 "resilience_cmds"):
        try:
            yield importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ruralplan")
def main() -> None:
    """ruralplan — 县域乡村振兴规划工具 / county rural-revitalization planning."""


for _module in [*COMMAND_MODULES, *_optional_modules()]:
    _module.register(main)
