"""``ruralplan batch``: one analysis over many county workspaces on a Dask cluster."""
from __future__ import annotations

import click

from geo.report import N_

from .helptext import command
from .common import cli_lang, count_en, say


def register(cli: click.Group) -> None:
    cli.add_command(batch)


@command(help=N_("Run ANALYSIS over many county workspaces (coverage, placement, pairings) with Dask.\n\nEach "
                 "county runs exactly as the single-county command would; a county that fails is listed in "
                 "counties.csv with its error and the others finish. Exit status 2 when any county failed. Two "
                 "workspaces with the same county code (a copied file) stop the batch before it runs (exit "
                 "status 2) unless --allow-duplicates; one file listed twice always does."))
@click.argument("analysis", type=click.Choice(["coverage", "placement", "pairings"]))
@click.option("--workspaces", required=True,
              help=N_("A folder of .gpkg workspaces, a text file listing them (one a line), or one .gpkg."))
@click.option("--out", type=click.Path(file_okay=False), required=True,
              help=N_("Output folder: combined.csv, counties.csv and one JSON per county."))
@click.option("--scheduler", default=None, envvar="RURALPLAN_DASK_SCHEDULER",
              help=N_("Dask scheduler address (tcp://host:8786); default: a local cluster on this machine."))
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help=N_("Worker processes of the local cluster (default: the number of cores)."))
@click.option("--facility", type=click.Choice(["cold_storage", "industry_bases", "relocation_settlements", "towns"]),
              default="cold_storage", show_default=True)
@click.option("--minutes", type=float, default=None, help=N_("Coverage cutoff in minutes (coverage, placement)."))
@click.option("--commodity", "commodities", multiple=True, help=N_("Produce to count (coverage)."))
@click.option("--include-planned", is_flag=True, help=N_("Count planned facilities too (coverage)."))
@click.option("--model", default="mclp", show_default=True, help=N_("Placement model (placement)."))
@click.option("--p", type=int, default=None, help=N_("New sites per county (placement)."))
@click.option("--weight", "demand", default="population", show_default=True, help=N_("Demand weight (placement)."))
@click.option("--travel", type=click.Choice(["network", "straight-line", "none"]), default="network",
              show_default=True, help=N_("Travel times (pairings)."))
@click.option("--allow-duplicates", is_flag=True,
              help=N_("Run even when two workspaces have the same county code (each labelled by its file)."))
def batch(analysis, workspaces, out, scheduler, workers, facility, minutes, commodities, include_planned, model, p,
          demand, travel, allow_duplicates) -> None:
    from web.services.batch import list_workspaces, run_batch, write_batch

    options = {"facility": facility, "minutes": minutes, "commodities": list(commodities),
               "include_planned": include_planned, "model": model, "p": p, "demand": demand,
               "travel": travel.replace("-", "_")}
    paths = list_workspaces(workspaces)
    _check_duplicates(paths, allow_duplicates)
    result = run_batch(analysis, paths, options, scheduler=scheduler, n_workers=workers)
    written = write_batch(result, out)
    lang = cli_lang()
    n, ok = len(result.counties), len(result.counties) - len(result.failed)
    click.echo(say(f"{ok}/{count_en(n, 'county', 'counties')} done; combined table: {written['combined']}",
                   f"{ok}/{n} 个县完成，结果：{written['combined']}"))
    for c in result.failed:  # the workspace once, then its error in the report language
        click.echo(say(f"  failed: {c.workspace}: ", f"  失败：{c.workspace}：") + c.error_text(lang), err=True)
    if result.failed:
        raise SystemExit(2)


def _check_duplicates(paths, allow_duplicates: bool) -> None:
    """Before anything runs: a warning naming both paths of every county found twice, then
    the typed error (exit 2) unless ``--allow-duplicates``."""
    from web.services.batch_checks import check_duplicates, find_duplicates

    found = find_duplicates(paths)
    for dup in found:
        if dup.same_file:
            line = say(f"listed twice: {' and '.join(map(str, dup.paths))}",
                       f"重复列出：{' 与 '.join(map(str, dup.paths))}")
        else:
            line = say(f"county {dup.key} is in more than one workspace: {' and '.join(map(str, dup.paths))}",
                       f"县 {dup.key} 出现在多个工作空间中：{' 与 '.join(map(str, dup.paths))}")
        click.echo(say("warning: ", "警告：") + line, err=True)
    check_duplicates(found, allow_duplicates=allow_duplicates)
