"""Pairing commands: ``ruralplan pairings`` (coverage per rule, gaps, workload, suggestions)."""
from __future__ import annotations

import json

import click

from .common import cli_lang, workspace_option

TRAVEL_CHOICES = ("network", "straight-line", "none")


def register(group: click.Group) -> None:
    group.add_command(pairings)


@click.command()
@workspace_option()
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--travel", type=click.Choice(TRAVEL_CHOICES), default="network", show_default=True,
              help="Travel times for burden and suggestions: road network (falls back to straight line "
                   "when the workspace has no roads), straight line, or none.")
@click.option("--no-households", is_flag=True, help="Leave household-level rows out of the output.")
def pairings(workspace, as_json, travel, no_households) -> None:
    """Coverage of one-to-one assistance pairings (结对帮扶): rules, gaps, workload, suggestions."""
    from layers.store import Workspace
    from web.i18n import catalog_gettext
    from web.services.pairings import analyse_workspace, kind_label, problem_label, problem_text

    ws = Workspace(workspace).require()
    result = analyse_workspace(ws, travel=travel.replace("-", "_"))
    data = result.analysis.to_dict(include_households=not no_households)
    data["travel_method"] = result.travel_method
    data["estimate"] = result.estimate
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    from .network_cmds import echo_estimate

    click.echo(f"Travel times: {result.travel_method}")
    echo_estimate(result.estimate)
    click.echo(f"{'rule':<26}{'required':>9}{'covered':>9}{'gaps':>6}{'share':>8}")
    for row in data["coverage"]:
        share = "-" if row["share"] is None else f"{100 * row['share']:.1f}%"
        click.echo(f"{row['rule']:<26}{row['required']:>9}{row['covered']:>9}{row['gaps']:>6}{share:>8}")
    s = data["summary"]
    click.echo(f"{s['n_gaps']} gaps, {s['n_problems']} data problems, {s['n_over_limit']} helpers over their limit")
    lang = cli_lang()
    gettext = catalog_gettext(lang)
    for p in data["problems"]:
        where = ", ".join(str(x) for x in (p["pairing_id"], p["helper_name"] or p["helper_key"],
                                           p["target_id"] and f"{kind_label(p['target_kind'], lang=lang)} "
                                                              f"{p['target_id']}") if x)
        click.echo(f"  [{p['problem']}] {problem_label(p['problem'], gettext)}: {where} — "
                   f"{problem_text(p, gettext, lang)}")
    click.echo(f"{s['n_suggestions']} suggested pairings; {s['n_uncovered']} needs cannot be filled")
    for u in data["uncovered"]:
        click.echo(f"  cannot fill {u['role']} for {u['target_kind']} {u['target_id']}: {u['reason']} ({u['detail']})")
