"""Helpers shared by the command modules."""
from __future__ import annotations

import click


def workspace_option(*, exists: bool = True):
    """The ``--workspace/-w`` option every command takes."""
    return click.option("--workspace", "-w", required=True, envvar="RURALPLAN_WORKSPACE",
                        type=click.Path(dir_okay=False, exists=exists),
                        help="The county workspace (.gpkg). Env: RURALPLAN_WORKSPACE.")


def echo_problems(problems) -> None:
    """A validation report, one problem a line, errors first."""
    ordered = sorted(problems, key=lambda p: (not p.is_error, p.row if p.row is not None else -1))
    for p in ordered:
        tag = "ERROR  " if p.is_error else "warning"
        click.echo(f"{tag} {p.text()}", err=p.is_error)
