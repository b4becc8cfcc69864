"""Server commands: ``ruralplan serve`` (waitress) and ``ruralplan user add``."""
from __future__ import annotations

import ipaddress

import click

from geo.report import N_

from .helptext import command, group
from .common import workspace_option


def register(cli: click.Group) -> None:
    cli.add_command(serve)
    cli.add_command(user)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@command(help=N_("Serve the web app with waitress (a production WSGI server).\n\nSession cookies are marked "
                 "Secure unless RURALPLAN_COOKIE_SECURE=0, or unless the server listens on a loopback address "
                 "over plain http (the default 127.0.0.1)."))
@workspace_option()
@click.option("--host", default="127.0.0.1", show_default=True, help=N_("Address to listen on."))
@click.option("--port", default=8000, show_default=True, type=int, help=N_("Port to listen on."))
@click.option("--threads", default=8, show_default=True, type=int, help=N_("Worker threads."))
@click.option("--basemap", envvar="RURALPLAN_BASEMAP", default=None,
              help=N_("none (default), osm, tianditu-vec, tianditu-img or an XYZ URL template."))
@click.option("--batch-dir", type=click.Path(file_okay=False, exists=True), default=None,
              help=N_("A `ruralplan batch --out` folder to show on the province page (/province/)."))
@click.option("--login-required/--open-reading", default=None,
              help=N_("Require a login to read maps (default: RURALPLAN_LOGIN_REQUIRED, else open)."))
def serve(workspace: str, host: str, port: int, threads: int, basemap: str | None, batch_dir: str | None,
          login_required: bool | None) -> None:
    import os

    import waitress

    from web import create_app

    config = {"RURALPLAN_WORKSPACE": workspace}
    if basemap:
        config["RURALPLAN_BASEMAP"] = basemap
    if batch_dir:
        config["RURALPLAN_BATCH_DIR"] = batch_dir
    if login_required is not None:
        config["RURALPLAN_LOGIN_REQUIRED"] = login_required
    if "RURALPLAN_COOKIE_SECURE" not in os.environ and _is_loopback(host):
        config["SESSION_COOKIE_SECURE"] = False
    app = create_app(config)
    _prewarm_in_background(app)
    from .common import say

    click.echo(say(f"ruralplan: serving {workspace} at http://{host}:{port}/ (Ctrl+C to stop)",
                   f"ruralplan：正在 http://{host}:{port}/ 提供 {workspace}（按 Ctrl+C 停止）"))
    waitress.serve(app, host=host, port=port, threads=threads, ident="ruralplan")


def _prewarm_in_background(app) -> None:
    import threading

    from web.services import mapdata

    from web import services

    ws = app.extensions.get("ruralplan.workspace")
    if ws is None:
        return

    def work():
        mapdata.prewarm(ws)
        services.prewarm(ws)  # road graph and service-area buffers for the network tools

    threading.Thread(target=work, name="ruralplan-prewarm", daemon=True).start()


@group(help=N_("Manage accounts (roles: planner, village_applicant, town_reviewer, sector_assessor, "
               "county_approver, admin)."))
def user() -> None:
    """The group of its subcommands (help above, in the report language)."""


@user.command("add",
              help=N_("Add an account NAME with a role (and the village/town/sector it is scoped to)."))
@workspace_option()
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(
    ["planner", "village_applicant", "town_reviewer", "sector_assessor", "county_approver", "admin"]))
@click.option("--village", help=N_("Village statistical code (village_applicant)."))
@click.option("--town", help=N_("Town name (town_reviewer)."))
@click.option("--sector", help=N_("Sector name (sector_assessor), e.g. 农业农村局."))
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help=N_("Prompted when not given (avoid passing it on the command line)."))
@click.option("--replace", is_flag=True, help=N_("Update the account when it exists."))
def user_add(workspace: str, name: str, role: str, village, town, sector, password: str, replace: bool) -> None:
    from layers.store import Workspace
    from web.services.users import add_user

    try:
        account = add_user(Workspace(workspace), name, password, role, village=village, town=town,
                           sector=sector, replace=replace)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    from web.services.labels import USER_ROLE_LABELS, code_label

    from .common import cli_gettext, say

    role = code_label(USER_ROLE_LABELS, account.role, cli_gettext())
    kind = {"village": say("village", "村"), "town": say("town", "乡镇"), "sector": say("sector", "行业部门")}.get(
        account.scope_kind, account.scope_kind)
    scope = say(f" ({kind}: {account.scope})", f"（{kind}：{account.scope}）") if account.scope else ""
    click.echo(say(f"user {account.username}: {role}{scope}", f"用户 {account.username}：{role}{scope}"))
