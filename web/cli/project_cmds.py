"""Project-library commands: ``proposals``, ``evaluate``, ``portfolio`` and ``notice`` (公示)."""
from __future__ import annotations

import json
import sys

import click

from .common import workspace_option
from .resilience_cmds import scenario_option


def register(group: click.Group) -> None:
    for command in (proposals, evaluate, portfolio_cmd, notice, projects):
        group.add_command(command)


def _workspace(path):
    from layers.store import Workspace

    return Workspace(path).require()


@click.command()
@workspace_option()
@click.option("--status", multiple=True, help="Only these statuses (repeatable), e.g. submitted.")
@click.option("--town", default=None, help="Only this town.")
@click.option("--category", default=None, help="Only this category, e.g. cold_chain.")
@click.option("--load-demo", is_flag=True, help="First seed the demo proposals from the workspace metadata.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def proposals(workspace, status, town, category, load_demo, as_json) -> None:
    """List the project library (项目库)."""
    from layers import proposals as P

    ws = _workspace(workspace)
    if load_demo:
        P.load_demo_proposals(ws)
    items = P.list_proposals(ws, P.ProposalFilter(status=tuple(status) or None, town=town, category=category))
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in items], ensure_ascii=False, indent=2))
        return
    for p in items:
        click.echo(f"{p.id:>4}  {p.status:<16} {p.category:<20} {p.budget_wan:>8.1f}万  {p.town}  {p.name}")
    click.echo(f"{len(items)} proposal(s)")


@click.command()
@workspace_option()
@click.option("--proposal", "proposal_id", required=True, type=int, help="Proposal id.")
@click.option("--cutoff", type=float, default=None, help="Catchment cutoff in minutes (default 30 or workspace setting).")
@click.option("--radius", type=float, default=None, help="Alternative-site radius in km (default 5).")
@click.option("--no-cache", is_flag=True, help="Recompute even if a cached evaluation exists.")
@click.option("--features", is_flag=True, help="With --json: include the map features (GeoJSON).")
@click.option("--json", "as_json", is_flag=True, help="Print the full evaluation as JSON.")
@scenario_option()
def evaluate(workspace, proposal_id, cutoff, radius, no_cache, features, as_json, scenario_name) -> None:
    """Evaluate a proposal on its location (access, catchment, gain, redundancy, conflicts, score)."""
    from web.services import project_eval

    ws = _workspace(workspace)
    # typed errors (no such proposal, no roads, bad values, an unknown scenario): exit 2 via the CLI's wrapper
    base = None
    result = project_eval.evaluate(ws, proposal_id, cutoff_min=cutoff, radius_km=radius, use_cache=not no_cache,
                                   scenario=scenario_name)
    if scenario_name is not None:  # the base network's evaluation, to show the difference
        base = project_eval.evaluate(ws, proposal_id, cutoff_min=cutoff, radius_km=radius, use_cache=not no_cache)
    if as_json:
        if not features:
            result = {k: v for k, v in result.items() if k != "features"}
        if base is not None:
            result["base_network"] = {k: base[k] for k in ("access", "catchment", "coverage", "score") if k in base}
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    from .network_cmds import echo_estimate

    echo_estimate(result.get("estimate"))
    click.echo(summary_text(result))
    if base is not None:
        c, cb = result["catchment"], base["catchment"]
        click.echo(f"  scenario {scenario_name} vs base network / 情景与基准路网: score {base['score']['total']} → "
                   f"{result['score']['total']}; catchment {cb['n_villages']} → {c['n_villages']} villages, "
                   f"{cb['population']} → {c['population']} people; main road "
                   f"{base['access'].get('main_road_min')} → {result['access'].get('main_road_min')} min")


def summary_text(result: dict) -> str:
    """A few lines a reviewer reads first."""
    p, a, c, cov, red, alt = (result[k] for k in ("proposal", "access", "catchment", "coverage", "redundancy",
                                                  "alternative"))
    town = a.get("town_centre") or {}
    lines = [
        f"{p['name']} (#{p['id']}, {p['category']}): score {result['score']['total']}",
        f"  access: main road {a.get('main_road_min')} min; town centre {town.get('name')} {town.get('minutes')} min",
        f"  catchment ≤{c['cutoff_min']:g} min: {c['n_villages']} villages, {c['population']} people, "
        f"{c['monitored_households']} monitored households, produce {c['produce_t']}, "
        f"{len(c['settlements'])} relocation settlement(s) ({c['settlement_people']} people)",
        f"  coverage gain ({cov['measure']}): {cov['gain']:.1f} of {cov['catchment_weight']:.1f}; "
        f"redundancy {red['share']:.0%}"
        + (f" (most with {red['overlapping'][0]['name']}: {red['overlapping'][0]['overlap_share']:.0%})"
           if red["overlapping"] else ""),
    ]
    for conflict in result["conflicts"]:
        where = "inside" if conflict["relation"] == "inside" else f"{conflict['distance_m']:.0f} m from"
        lines.append(f"  conflict: {where} {conflict['kind']} {conflict['name']}")
    if alt.get("best"):
        b = alt["best"]
        lines.append(f"  best alternative within {alt['radius_km']:g} km: {b['name'] or b['id']} at "
                     f"{b['distance_km']} km ({b['lon']}, {b['lat']}), +{alt['extra_gain']:.1f}")
    lines.append(f"  flags: {', '.join(result['flags']) or 'none'}")
    lines.append("  score: " + ", ".join(f"{c['name']} {c['value']:.2f}×{c['weight']:g}"
                                         for c in result["score"]["components"]))
    return "\n".join(lines)


@click.command("portfolio")
@workspace_option()
@click.option("--category", default="cold_chain", show_default=True, help="Proposal category.")
@click.option("--budget", type=float, required=True, help="Budget in 万元.")
@click.option("--year", type=int, default=None, help="Only proposals of this year.")
@click.option("--cutoff", type=float, default=None, help="Coverage cutoff in minutes.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def portfolio_cmd(workspace, category, budget, year, cutoff, as_json) -> None:
    """Which pending proposals cover the most for a budget; what the approved list covers by town."""
    from web.services import project_eval

    ws = _workspace(workspace)
    result = project_eval.portfolio_for(ws, category=category, budget_wan=budget, year=year, cutoff_min=cutoff)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    from .network_cmds import echo_estimate

    echo_estimate(result.get("estimate"))
    click.echo(f"budget {budget:g}万, spent {result['spent_wan']:g}万, measure {result['measure']}")
    for row in result["selected"]:
        click.echo(f"  fund   #{row.get('proposal_id')} {row['name']} {row['budget_wan']:g}万 (+{row['gain_alone']:.1f})")
    for row in result["not_selected"]:
        click.echo(f"  skip   #{row.get('proposal_id')} {row['name']} {row['budget_wan']:g}万 (+{row['gain_alone']:.1f})")
    click.echo(f"covered: existing {result['covered_before']:.1f}, + approved {result['covered_approved']:.1f}, "
               f"+ selection {result['covered_after']:.1f} of {result['total_weight']:.1f}")


@click.command()
@workspace_option()
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help="Excel file to write (.xlsx).")
@click.option("--year", type=int, default=None, help="Only projects of this year.")
def notice(workspace, out, year) -> None:
    """Export the 公示 (public notice) of approved projects to Excel."""
    from web.services.project_notice import write_notice_xlsx

    ws = _workspace(workspace)
    n = write_notice_xlsx(ws, out, year=year)
    click.echo(f"{n} approved project(s) written to {out}")


@click.group()
def projects() -> None:
    """The project library (项目库) as the county's Excel: import and export."""


@projects.command(name="import")
@workspace_option()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", default="ruralplan import", show_default=True,
              help="Recorded as the creator of the new proposals and of their import step.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
def projects_import(workspace, file, username, as_json) -> None:
    """Import FILE (.xlsx/.csv, the 项目库 columns); exit status 2 on errors, nothing written then."""
    from layers.project_library import import_library
    from web.i18n import catalog_gettext

    from .common import cli_lang, echo_problems

    outcome = import_library(_workspace(workspace), file, created_by=username)  # unreadable file: exit 2
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), ensure_ascii=False, indent=2))
    else:
        _ = catalog_gettext(cli_lang())
        echo_problems(outcome.problems)
        if outcome.written:
            click.echo(_("project library: %(added)s added, %(unchanged)s unchanged", added=outcome.added,
                         unchanged=outcome.unchanged))
        else:
            click.echo(_("nothing written: %(n)s error(s) in %(file)s", n=len(outcome.errors), file=outcome.file),
                       err=True)
    if not outcome.written:
        sys.exit(2)


@projects.command(name="export")
@workspace_option()
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--status", multiple=True, help="Only these statuses (repeatable).")
@click.option("--year", type=int, default=None, help="Only proposals of this year.")
def projects_export(workspace, out, status, year) -> None:
    """Write the project library as the county's Excel (headers in RURALPLAN_LANG), importable back unchanged."""
    from layers import proposals as P
    from layers.project_library import write_library_xlsx

    from .common import cli_lang

    items = sorted(P.list_proposals(_workspace(workspace), P.ProposalFilter(status=tuple(status) or None, year=year)),
                   key=lambda p: p.id)
    write_library_xlsx(items, out, lang=cli_lang())
    click.echo(f"{len(items)} → {out}")
