"""Road-network commands: od, coverage, service-area, accessibility."""
from __future__ import annotations

from pathlib import Path

import click

from geo.report import N_
from web.services import jsonout

from .helptext import command
from .common import cli_lang, count_en, pad, say, text_width, workspace_option
from .resilience_cmds import echo_scenario_difference, scenario_option

ORIGIN_LAYERS = ("villages", "cold_storage", "industry_bases", "relocation_settlements", "towns")


def register(cli: click.Group) -> None:
    for cmd in (od, coverage, service_area):
        cli.add_command(cmd)


def _network(ws, scenario_name=None):
    """The road graph — without roads, the straight-line estimate (announced as such) — and
    its settings; of a network scenario when one is named. Typed errors (a bad setting, an
    unknown scenario, no roads and no villages) go to the CLI's one wrapper."""
    from web import services
    from web.services import scenarios

    settings = services.NetworkSettings.from_workspace(ws)
    if scenario_name is None:
        return services.network_or_estimate(ws, settings=settings), settings
    return scenarios.road_graph(ws, settings=settings, scenario=scenario_name), settings


def _estimate_of(graph):
    from planner.estimate import is_estimate

    return graph.to_dict() if is_estimate(graph) else None


def echo_estimate(estimate) -> None:
    """A banner line, in the terminal's language, when times are estimated without roads."""
    if not estimate:
        return
    gettext = _gettext()
    click.echo(gettext("ESTIMATE (no roads layer): straight-line distance × %(factor)s at %(speed)s km/h")
               % {"factor": f"{estimate['detour_factor']:g}", "speed": f"{estimate['speed_kmh']:g}"}, err=False)


def _gettext():
    from web.i18n import catalog_gettext

    from .common import cli_lang

    return catalog_gettext(cli_lang())


def _echo_off_network(records, warnings=()) -> None:
    from web.services.netreasons import echo_lines, warning_lines

    gettext = _gettext()
    for line in [*echo_lines(records, gettext), *warning_lines(list(warnings), gettext)]:
        click.echo(line)


def _points(ws, layer):
    from web import services

    return services.villages(ws) if layer == "villages" else services.facility_points(ws, layer)


@command(help=N_("Travel-time matrix (minutes) between two layers, as origin, destination, minutes rows."))
@workspace_option()
@click.option("--from", "origin_layer", type=click.Choice(ORIGIN_LAYERS), default="villages", show_default=True)
@click.option("--to", "destination_layer", type=click.Choice(ORIGIN_LAYERS), required=True)
@click.option("--cutoff-min", type=float, default=None, help=N_("Leave times above this many minutes empty."))
@click.option("--out", type=click.Path(dir_okay=False), required=True,
              help=N_("Output .csv or .parquet (long format)."))
@scenario_option()
def od(workspace, origin_layer, destination_layer, cutoff_min, out, scenario_name) -> None:
    import numpy as np
    import pandas as pd

    from layers.store import Workspace
    from planner.travel import travel_time_matrix
    from web import services

    ws = Workspace(workspace)
    graph, settings = _network(ws, scenario_name)
    matrix = travel_time_matrix(graph, _points(ws, origin_layer), _points(ws, destination_layer), cutoff_min=cutoff_min,
                                max_snap_m=settings.max_snap_m)
    if scenario_name is None and _estimate_of(graph) is None:
        services.persist_hierarchy(ws, graph)  # a large matrix built one: keep it for next time
    echo_estimate(_estimate_of(graph))
    base = None
    if scenario_name is not None:  # the base network's minutes beside the scenario's
        base = travel_time_matrix(_network(ws)[0], _points(ws, origin_layer), _points(ws, destination_layer),
                                  cutoff_min=cutoff_min, max_snap_m=settings.max_snap_m).minutes
    # pairs with an end off the road network, or on roads cut off from every point of
    # the other side, are named too: minutes empty, reason set (the one rule, point_reasons)
    from planner.travel import point_reasons, round_minutes

    so, sd = matrix.origin_snap, matrix.destination_snap
    o_reason = point_reasons(graph, so, sd)
    d_reason = point_reasons(graph, sd, so)
    off = (o_reason != "")[:, None] | (d_reason != "")[None, :]
    keep = np.isfinite(matrix.minutes) if base is None else np.isfinite(matrix.minutes) | np.isfinite(base)
    o, d = np.nonzero(keep & ~off)
    oo, dd = np.nonzero(off)
    reason = np.where(o_reason[oo] != "", "origin: " + o_reason[oo].astype(str),
                      "destination: " + d_reason[dd].astype(str))
    # the same in words, in the report language, for the people who open the file
    from web.services.netreasons import ROLES, reason_text

    gettext = _gettext()
    sep = say(": ", "：")
    words = {r: gettext(ROLES[r.split(": ", 1)[0]]) + sep + reason_text(r.split(": ", 1)[1], gettext)
             for r in set(reason.tolist())}
    frame = pd.DataFrame({
        "origin_id": np.r_[matrix.origin_ids[o], matrix.origin_ids[oo]].astype(str),
        "destination_id": np.r_[matrix.destination_ids[d], matrix.destination_ids[dd]].astype(str),
        # float32 minutes widened before rounding: 12.3, not 12.300000190734863
        "minutes": np.r_[round_minutes(matrix.minutes[o, d]), np.full(len(oo), np.nan)],
        "reason": np.r_[np.full(len(o), ""), reason].astype(object),
        "reason_text": np.r_[np.full(len(o), ""), [words[r] for r in reason.tolist()]].astype(object),
    })
    if base is not None:
        frame["minutes_base"] = round_minutes(np.r_[base[o, d], base[oo, dd]])
        frame["added_min"] = (frame["minutes"] - frame["minutes_base"]).round(2)
        frame = frame.replace([np.inf, -np.inf], np.nan)
    out = Path(out)
    if out.suffix.lower() == ".parquet":
        frame.to_parquet(out, index=False)
    elif out.suffix.lower() == ".csv":
        from geo.tables import write_csv

        write_csv(frame, out)  # ids from imported data: formula-leading cells escaped
    else:
        from web.services.errors import OutputSuffix

        raise OutputSuffix(path=out.name, expected=".csv / .parquet")
    from web.services.netreasons import off_network

    n_o, n_d = int((o_reason != "").sum()), int((d_reason != "").sum())
    shape = f"{matrix.minutes.shape[0]} × {matrix.minutes.shape[1]}"
    click.echo(say(f"{count_en(len(o), 'pair')} written to {out} ({shape}; {count_en(n_o, 'origin')} and "
                   f"{count_en(n_d, 'destination')} off the road network or cut off from it, "
                   f"{count_en(len(oo), 'row')} with their reason)",
                   f"已将 {len(o)} 对写入 {out}（{shape}；{n_o} 个起点、{n_d} 个终点不在路网上或与路网不连通，"
                   f"{len(oo)} 行注明原因）"))
    _echo_off_network(off_network(so, "origin", o_reason) + off_network(sd, "destination", d_reason),
                      [*so.warnings(), *sd.warnings()])
    if base is not None:
        lost = int((np.isfinite(base) & ~np.isfinite(matrix.minutes)).sum())
        click.echo(say(f"scenario {scenario_name}: {count_en(lost, 'pair')} unreachable that the base network connects "
                       f"(empty minutes); added minutes in column added_min",
                       f"路网情景 {scenario_name}：{lost} 对在基准路网连通、在情景中不可达（minutes 为空）；"
                       f"增加的分钟数见 added_min 列"))


@command(help=N_("Villages, people, produce and monitored households within T minutes of a facility layer."))
@workspace_option()
@click.option("--facility", type=click.Choice(["cold_storage", "industry_bases", "relocation_settlements", "towns"]),
              required=True)
@click.option("--minutes", type=float, required=True, help=N_("Coverage cutoff in minutes."))
@click.option("--commodity", "commodities", multiple=True, help=N_("Produce to count (e.g. apple); default all."))
@click.option("--include-planned", is_flag=True,
              help=N_("Also count planned facilities (default: existing and under construction)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the full result as JSON."))
@scenario_option()
def coverage(workspace, facility, minutes, commodities, include_planned, as_json, scenario_name) -> None:
    from layers.store import Workspace
    from planner.coverage import coverage_summary
    from web import services

    ws = Workspace(workspace)
    graph, settings = _network(ws, scenario_name)
    facilities = services.facility_points(ws, facility,
                                          statuses=None if include_planned else services.EXISTING_STATUSES)
    summary = coverage_summary(graph, services.villages(ws), facilities, cutoff_min=minutes,
                               commodities=list(commodities) or None, max_snap_m=settings.max_snap_m)
    difference = None
    if scenario_name is not None:  # and what the scenario changes against the base network
        from web.services import scenarios

        difference = scenarios.compare_coverage(
            ws, scenario=scenario_name, facility=facility, minutes=minutes, commodities=commodities,
            statuses=None if include_planned else services.EXISTING_STATUSES)
    if as_json:
        payload = summary.to_dict()
        if difference is not None:
            payload["scenario_difference"] = difference
        click.echo(jsonout.dumps(payload, indent=2))
        return
    echo_estimate(summary.estimate)
    _echo_coverage(summary, facility, minutes)
    if difference is not None:
        echo_scenario_difference(difference)


def _layer_label(layer: str) -> str:
    from layers.schema import LAYERS

    schema = LAYERS.get(layer)
    return schema.label(cli_lang()) if schema is not None else layer


def _echo_table(header: list[str], rows: list[list[str]]) -> None:
    """A text table aligned in terminal columns (CJK characters take two): the first column
    left-aligned, the others right-aligned."""
    widths = [max(text_width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo(pad(str(r[0]), widths[0]) + "".join("  " + pad(str(v), w, right=True)
                                                        for v, w in zip(r[1:], widths[1:])))


def _echo_coverage(summary, facility, minutes) -> None:
    from layers.schema import COMMODITIES
    from web.services.labels import COVERAGE_STATUS_LABELS, choice_label, code_label

    lang = cli_lang()
    t = summary.totals
    what = _layer_label(facility)
    villages = count_en(t['villages'], 'village')
    click.echo(say(f"{what} within {minutes:g} min: {t['villages_covered']}/{villages} covered, "
                   f"{t['villages_too_far']} too far, {t['villages_unreachable']} unreachable",
                   f"{what} {minutes:g} 分钟内：覆盖 {t['villages_covered']}/{t['villages']} 个村，"
                   f"超出时间 {t['villages_too_far']} 个，不可达 {t['villages_unreachable']} 个"))
    by_town = summary.by_town
    produce = [c for c in by_town.columns if c.startswith("produce_") and not c.endswith("_covered")]
    if len(summary.commodities) < len(produce):
        produce = [c for c in produce if any(c == f"produce_{x}_t" or c == x for x in summary.commodities)]
    counts = [(col, label) for col, label in (("population", say("people", "人口")),
                                              ("monitored_households", say("monitored households", "监测户")))
              if col in by_town]
    header = [say("town", "乡镇"), say("villages", "行政村")] + [label for _, label in counts] + [
        say(f"{name} (t)", f"{name}（吨）") for name in (choice_label(COMMODITIES, col[len('produce_'):-2], lang)
                                                      for col in produce)]
    rows = []
    for i in range(len(by_town)):
        row = [by_town["town"].iloc[i], f"{by_town['villages_covered'].iloc[i]}/{by_town['villages'].iloc[i]}"]
        row += [f"{by_town[col + '_covered'].iloc[i]:,.0f}/{by_town[col].iloc[i]:,.0f}"
                for col in [c for c, _ in counts] + produce]
        rows.append(row)
    rows.append([say("total", "合计"), f"{t['villages_covered']}/{t['villages']}"]
                + [f"{t[col + '_covered']:,.0f}/{t[col]:,.0f}" for col in [c for c, _ in counts] + produce])
    click.echo("")
    _echo_table(header, rows)
    from web.formatting import format_minutes
    from web.services.netreasons import distances, reason_text

    gettext = _gettext()
    uncovered = summary.uncovered
    if len(uncovered):
        click.echo("")
        click.echo(say(f"uncovered villages ({len(uncovered)}):", f"未覆盖村（{len(uncovered)}）："))
        for row in uncovered.itertuples(index=False):
            where = distances({"network_m": _finite(getattr(row, "network_m", None)),
                               "fragment_m": _finite(getattr(row, "fragment_m", None))}, gettext)
            # 0.01 min, and never onto the cutoff when over it (30.004 reads 30.004, not 30.0)
            late = format_minutes(row.minutes, limit=minutes)
            detail = (say(f"{late} min", f"{late} 分钟") if row.status == "too_far"
                      else f"{reason_text(row.reason, gettext)} {where}".rstrip())
            status = code_label(COVERAGE_STATUS_LABELS, row.status, gettext)
            click.echo(f"  {row.village_id}  {row.village_name}  ({row.town})  {status}{say(': ', '：')}{detail}")
    off = summary.facilities_off_network
    click.echo("")
    _echo_off_network([{"role": "facility", "id": str(r.facility_id), "name": r.facility_name, "reason": r.reason,
                        "network_m": _finite(r.network_m), "fragment_m": _finite(r.fragment_m)}
                       for r in off.itertuples(index=False)], summary.warnings)


def _finite(x):
    import math

    return None if x is None or not math.isfinite(float(x)) else float(x)


@command(name="service-area",
    help=N_("Service-area polygons of a facility layer at several cutoffs."))
@workspace_option()
@click.option("--facility", type=click.Choice(["cold_storage", "industry_bases", "relocation_settlements", "towns"]),
              required=True)
@click.option("--minutes", default="15,30,60", show_default=True, help=N_("Cutoffs in minutes, comma separated."))
@click.option("--dissolve", is_flag=True, help=N_("One polygon per cutoff instead of one per facility and cutoff."))
@click.option("--out", type=click.Path(dir_okay=False), required=True, help=N_("Output .geojson"))
def service_area(workspace, facility, minutes, dissolve, out) -> None:
    from geo.vector import write_vector
    from layers.store import Workspace
    from planner.service_area import service_areas
    from web import services

    ws = Workspace(workspace)
    cutoffs = services.parse_minutes_list(minutes)
    network = services.workspace_network(ws)
    graph, settings = network.graph, network.settings
    areas = service_areas(graph, services.facility_points(ws, facility), cutoffs_min=cutoffs, dissolve=dissolve,
                          max_snap_m=settings.max_snap_m)
    write_vector(areas, out, fmt="geojson")
    echo_estimate(_estimate_of(graph))
    click.echo(say(f"{len(areas)} service areas written to {out}", f"已将 {len(areas)} 个服务范围写入 {out}"))
    if not dissolve:
        off = areas[areas["reason"] != ""].drop_duplicates("facility_id")
        _echo_off_network([{"role": "facility", "id": str(r.facility_id), "name": r.facility_name,
                            "reason": r.reason} for r in off.itertuples(index=False)])
