"""Workspace commands: demo, import, export, info, template."""
from __future__ import annotations

import sys

import click

from geo.errors import RuralplanError
from geo.report import N_
from web.services import jsonout

from .helptext import command
from .common import cli_gettext, cli_lang, echo_problems, nothing_written, pad, say, text_width, workspace_option


def register(cli: click.Group) -> None:
    for cmd in (demo, import_, export, info, template):
        cli.add_command(cmd)


@command(help=N_("Build the fictional demo county workspace (虚构示范县)."))
@workspace_option(exists=False)
@click.option("--seed", default=20240601, show_default=True, help=N_("Random seed (same seed, same county)."))
@click.option("--scale", default=1.0, show_default=True, help=N_("Size multiplier (5 = a 5x larger county)."))
@click.option("--force", is_flag=True, help=N_("Overwrite an existing workspace."))
def demo(workspace: str, seed: int, scale: float, force: bool) -> None:
    from layers.demo import build_demo_workspace

    from web.services.demo_setup import seed_demo_library

    try:
        ws = build_demo_workspace(workspace, seed=seed, scale=scale, overwrite=force)
    except FileExistsError:
        from web.services.errors import WorkspaceExists

        raise WorkspaceExists(path=str(workspace)) from None
    seeded = seed_demo_library(ws)
    from web.services.labels import USER_ROLE_LABELS, code_label

    gettext = cli_gettext()
    published = seeded["published"]
    click.echo(say(f"demo workspace written: {ws.path}", f"已生成示范县工作空间：{ws.path}"))
    click.echo(say(f"{len(seeded['proposals'])} demo proposals in the project library"
                   + (f"; #{published.id} {published.name} is under public notice" if published else ""),
                   f"项目库中有 {len(seeded['proposals'])} 个示范项目"
                   + (f"；#{published.id} {published.name} 正在公示" if published else "")))
    click.echo(say("demo users (user / password / role):", "示范账号（用户名 / 密码 / 角色）："))
    for username, role, password in seeded["users"]:
        click.echo(f"  {username:<10} {password:<12} {code_label(USER_ROLE_LABELS, role, gettext)}")


@command(name="import",
    help=N_("Validate FILE and import it into a layer; exit status 2 on validation errors."))
@workspace_option(exists=False)
@click.option("--layer", "-l", required=True, help=N_("Target layer, e.g. villages, roads, cold_storage."))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", default=None,
              help=N_("The coordinates' real system, for tables and vector files alike: wgs84, cgcs2000, gcj02 "
                   "(Amap/Tencent), bd09 (Baidu) or EPSG:n (e.g. a shapefile without .prj). Default: a vector "
                   "file's own CRS, WGS84 for tables."))
@click.option("--replace", is_flag=True, help=N_("The file becomes the whole layer (default: add or update by id)."))
@click.option("--skip-bad-rows", is_flag=True, help=N_("Import the good rows even when some rows have errors."))
@click.option("--sheet", default=None, help=N_("Excel sheet name (default: the first)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the outcome as JSON."))
def import_(workspace, layer, file, crs, replace, skip_bad_rows, sheet, as_json) -> None:
    from tqdm import tqdm

    from layers.importer import import_file
    from layers.store import Workspace

    steps = tqdm(total=3, desc=f"import {layer}", unit="step", disable=as_json or not sys.stderr.isatty())
    try:
        outcome = import_file(Workspace(workspace), layer, file, crs=crs, replace=replace,
                              skip_bad_rows=skip_bad_rows, sheet=sheet, progress=lambda _step: steps.update(1))
    except RuralplanError:
        raise  # typed: the CLI's one wrapper says it (exit 2, the report language)
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        steps.close()
    if as_json:
        click.echo(jsonout.dumps(outcome.to_dict(), indent=2))
    else:
        from web.i18n import catalog_gettext

        _ = catalog_gettext(cli_lang())
        echo_problems(outcome.problems)
        if outcome.written:
            for name in outcome.layers:
                click.echo(_("%(layer)s: %(added)s added, %(updated)s updated", layer=name,
                             added=outcome.added.get(name, 0), updated=outcome.updated.get(name, 0)))
            if outcome.skipped_rows:
                click.echo(_("skipped rows with errors: %(rows)s", rows=", ".join(map(str, outcome.skipped_rows))))
        else:
            click.echo(nothing_written(outcome.count("error"), outcome.file), err=True)
    if not outcome.written:
        sys.exit(2)


@command(help=N_("Export a layer to GeoJSON, GeoPackage, CSV or Excel."))
@workspace_option()
@click.option("--layer", "-l", required=True, help=N_("Layer to export."))
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "csv", "xlsx"]), default=None,
              help=N_("Output format (default: from OUT's suffix)."))
@click.option("--codes", is_flag=True,
              help=N_("CSV/Excel: field names and value codes (importable unchanged) instead of labels in "
                   "the user's language (RURALPLAN_LANG); Excel always keeps the codes in a second sheet."))
@click.argument("out", type=click.Path(dir_okay=False))
def export(workspace, layer, fmt, out, codes) -> None:
    from layers.exporter import export_format, export_layer
    from layers.schema import get_schema
    from layers.store import Workspace
    from web.services.exports import relabel

    try:
        path = export_layer(Workspace(workspace), layer, fmt, out)
    except RuralplanError:
        raise  # typed: the CLI's one wrapper says it (exit 2, the report language)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not codes:
        relabel(path, get_schema(layer), fmt=export_format(fmt, out), lang=cli_lang())
    schema = get_schema(layer)
    click.echo(say(f"{schema.label('en')} written to {path}", f"已将{schema.label('zh')}写入 {path}"))


@command(help=N_("List the workspace's layers and their feature counts."))
@workspace_option()
@click.option("--json", "as_json", is_flag=True, help=N_("Print as JSON."))
def info(workspace, as_json) -> None:
    from layers.store import Workspace

    ws = Workspace(workspace)
    layers = ws.info()
    meta = ws.meta()
    if as_json:
        click.echo(jsonout.dumps({"workspace": str(ws.path), "meta": {k: v for k, v in meta.items()
                                                                   if not k.startswith("demo_")},
                               "layers": [vars(layer) for layer in layers]}, indent=2))
        return
    from layers.schema import LAYERS

    title = meta.get("county_name") or ws.path.stem
    code = meta.get("county_code")
    click.echo(f"{title}{f' ({code})' if code else ''}  {ws.path}")
    if meta.get("fictional"):
        click.echo(say("fictional demo data", "虚构数据"))
    # the layer's code stays first: it is what --layer takes
    rows = [(layer.name, LAYERS[layer.name].label(cli_lang()) if layer.name in LAYERS else layer.name, layer.count,
             _geometry_label(layer.geometry_type)) for layer in layers]
    width = max([0] + [text_width(r[1]) for r in rows]) + 2
    for name, label, count, geometry in rows:
        click.echo(f"  {name:<24} {pad(label, width)}{count:>8,}  {geometry}")


def _geometry_label(geometry_type) -> str:
    if not geometry_type:
        return say("table", "属性表")
    return say(geometry_type, {"Point": "点", "MultiPoint": "点", "LineString": "线", "MultiLineString": "线",
                               "Polygon": "面", "MultiPolygon": "面", "Unknown": "混合"}.get(geometry_type,
                                                                                          geometry_type))


@command(help=N_("Write an Excel import template for a layer (Chinese headers, units, drop-downs, an example "
                 "row)."))
@click.option("--layer", "-l", required=True,
              help=N_("Layer of the template, e.g. villages, households, cold_storage."))
@click.argument("out", type=click.Path(dir_okay=False))
def template(layer, out) -> None:
    from layers.templates import write_template

    if not out.lower().endswith(".xlsx"):
        from web.services.errors import OutputSuffix

        raise OutputSuffix(path=str(out), expected=".xlsx")
    try:
        path = write_template(layer, out)
    except RuralplanError:
        raise  # typed: the CLI's one wrapper says it (exit 2, the report language)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    from layers.schema import get_schema

    click.echo(say(f"{get_schema(layer).label('en')} import template written to {path}",
                   f"已将{get_schema(layer).label('zh')}导入模板写入 {path}"))
