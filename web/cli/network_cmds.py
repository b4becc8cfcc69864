"""Road-network commands: od, coverage, service-area, accessibility."""
from __future__ import annotations

import json
from pathlib import Path

import click

from .common import workspace_option

ORIGIN_LAYERS = ("villages", "cold_storage", "industry_bases", "relocation_settlements", "towns")


def register(group: click.Group) -> None:
    for command in (od, coverage, service_area):
        group.add_command(command)


def _graph(ws, settings):
    from web import services

    try:
        return services.road_graph(ws, settings=settings)
    except ValueError as exc:  # e.g. a workspace without roads
        raise click.ClickException(str(exc)) from exc


def _points(ws, layer):
    from web import services

    return services.villages(ws) if layer == "villages" else services.facility_points(ws, layer)


@click.command()
@workspace_option()
@click.option("--from", "origin_layer", type=click.Choice(ORIGIN_LAYERS), default="villages", show_default=True)
@click.option("--to", "destination_layer", type=click.Choice(ORIGIN_LAYERS), required=True)
@click.option("--cutoff-min", type=float, default=None, help="Leave times above this many minutes empty.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .csv or .parquet (long format).")
def od(workspace, origin_layer, destination_layer, cutoff_min, out) -> None:
    """Travel-time matrix (minutes) between two layers, as origin, destination, minutes rows."""
    import numpy as np
    import pandas as pd

    from layers.store import Workspace
    from planner.travel import travel_time_matrix
    from web import services

    ws = Workspace(workspace)
    settings = services.NetworkSettings.from_workspace(ws)
    graph = _graph(ws, settings)
    matrix = travel_time_matrix(graph, _points(ws, origin_layer), _points(ws, destination_layer), cutoff_min=cutoff_min,
                                max_snap_m=settings.max_snap_m)
    services.persist_hierarchy(ws, graph)  # a large matrix built one: keep it for next time
    o, d = np.nonzero(np.isfinite(matrix.minutes))
    frame = pd.DataFrame({
        "origin_id": matrix.origin_ids[o].astype(str),
        "destination_id": matrix.destination_ids[d].astype(str),
        "minutes": matrix.minutes[o, d].round(2),
    })
    out = Path(out)
    if out.suffix.lower() == ".parquet":
        frame.to_parquet(out, index=False)
    elif out.suffix.lower() == ".csv":
        from geo.tables import write_csv

        write_csv(frame, out)  # ids from imported data: formula-leading cells escaped
    else:
        raise click.ClickException(f"{out.name}: output must end in .csv or .parquet")
    unreachable = int((~matrix.origin_snap.ok).sum())
    click.echo(f"{len(frame)} pairs written to {out} ({matrix.minutes.shape[0]} × {matrix.minutes.shape[1]}; "
               f"{unreachable} origins not on the road network)")


@click.command()
@workspace_option()
@click.option("--facility", type=click.Choice(["cold_storage", "industry_bases", "relocation_settlements", "towns"]),
              required=True)
@click.option("--minutes", type=float, required=True, help="Coverage cutoff in minutes.")
@click.option("--commodity", "commodities", multiple=True, help="Produce to count (e.g. apple); default all.")
@click.option("--include-planned", is_flag=True,
              help="Also count planned facilities (default: existing and under construction).")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def coverage(workspace, facility, minutes, commodities, include_planned, as_json) -> None:
    """Villages, people, produce and monitored households within T minutes of a facility layer."""
    from layers.store import Workspace
    from planner.coverage import coverage_summary
    from web import services

    ws = Workspace(workspace)
    settings = services.NetworkSettings.from_workspace(ws)
    graph = _graph(ws, settings)
    facilities = services.facility_points(ws, facility,
                                          statuses=None if include_planned else services.EXISTING_STATUSES)
    summary = coverage_summary(graph, services.villages(ws), facilities, cutoff_min=minutes,
                               commodities=list(commodities) or None, max_snap_m=settings.max_snap_m)
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
        return
    _echo_coverage(summary, facility, minutes)


def _echo_coverage(summary, facility, minutes) -> None:
    import pandas as pd

    t = summary.totals
    click.echo(f"{facility} within {minutes:g} min / {minutes:g} 分钟内: {t['villages_covered']}/{t['villages']} "
               f"villages covered, {t['villages_too_far']} too far, {t['villages_unreachable']} unreachable")
    by_town = summary.by_town
    produce = [c for c in by_town.columns if c.startswith("produce_") and not c.endswith("_covered")]
    if len(summary.commodities) < len(produce):
        produce = [c for c in produce if any(c == f"produce_{x}_t" or c == x for x in summary.commodities)]
    table = pd.DataFrame({"town 乡镇": by_town["town"]})

    def share(col):
        covered, total = by_town[f"{col}_covered"], by_town[col]
        return [f"{c:,.0f}/{v:,.0f}" for c, v in zip(covered, total)]

    table["villages 村"] = [f"{c}/{v}" for c, v in zip(by_town["villages_covered"], by_town["villages"])]
    for col, label in (("population", "people 人口"), ("monitored_households", "monitored 监测户")):
        if col in by_town:
            table[label] = share(col)
    for col in produce:
        table[f"{col[len('produce_'):-2]} t"] = share(col)
    total_row = {"town 乡镇": "total 合计", "villages 村": f"{t['villages_covered']}/{t['villages']}"}
    for col, label in (("population", "people 人口"), ("monitored_households", "monitored 监测户")):
        if col in t:
            total_row[label] = f"{t[col + '_covered']:,.0f}/{t[col]:,.0f}"
    for col in produce:
        total_row[f"{col[len('produce_'):-2]} t"] = f"{t[col + '_covered']:,.0f}/{t[col]:,.0f}"
    table = pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)
    click.echo("")
    click.echo(table.to_string(index=False))
    uncovered = summary.uncovered
    if len(uncovered):
        click.echo("")
        click.echo(f"uncovered villages / 未覆盖村 ({len(uncovered)}):")
        for row in uncovered.itertuples(index=False):
            detail = f"{row.minutes:.1f} min" if row.status == "too_far" else row.reason
            click.echo(f"  {row.village_id}  {row.village_name}  ({row.town})  {row.status}: {detail}")


@click.command(name="service-area")
@workspace_option()
@click.option("--facility", type=click.Choice(["cold_storage", "industry_bases", "relocation_settlements", "towns"]),
              required=True)
@click.option("--minutes", default="15,30,60", show_default=True, help="Cutoffs in minutes, comma separated.")
@click.option("--dissolve", is_flag=True, help="One polygon per cutoff instead of one per facility and cutoff.")
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="Output .geojson")
def service_area(workspace, facility, minutes, dissolve, out) -> None:
    """Service-area polygons of a facility layer at several cutoffs."""
    from geo.vector import write_vector
    from layers.store import Workspace
    from planner.service_area import service_areas
    from web import services

    ws = Workspace(workspace)
    try:
        cutoffs = services.parse_minutes_list(minutes)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--minutes") from exc
    settings = services.NetworkSettings.from_workspace(ws)
    graph = _graph(ws, settings)
    areas = service_areas(graph, services.facility_points(ws, facility), cutoffs_min=cutoffs, dissolve=dissolve,
                          max_snap_m=settings.max_snap_m)
    write_vector(areas, out, fmt="geojson")
    click.echo(f"{len(areas)} service areas written to {out}")
