"""Pairing commands: ``ruralplan pairings`` (coverage per rule, gaps, workload, suggestions)."""
from __future__ import annotations

import click

from geo.report import N_
from web.services import jsonout
from web.services.labels import RULE_LABELS, PAIRING_ROLE_LABELS, code_label

from .helptext import command
from .common import cli_gettext, cli_lang, count_en, pad, say, text_width, workspace_option

TRAVEL_CHOICES = ("network", "straight-line", "none")


def register(cli: click.Group) -> None:
    cli.add_command(pairings)


@command(help=N_("Coverage of one-to-one assistance pairings (结对帮扶): rules, gaps, workload, suggestions."))
@workspace_option()
@click.option("--json", "as_json", is_flag=True, help=N_("Print the full result as JSON."))
@click.option("--travel", type=click.Choice(TRAVEL_CHOICES), default="network", show_default=True,
              help=N_("Travel times for burden and suggestions: road network (falls back to straight line "
                   "when the workspace has no roads), straight line, or none."))
@click.option("--no-households", is_flag=True, help=N_("Leave household-level rows out of the output."))
def pairings(workspace, as_json, travel, no_households) -> None:
    from layers.store import Workspace
    from web.services.pairings import analyse_workspace, kind_label, problem_label, problem_text, unfilled_text

    ws = Workspace(workspace).require()
    result = analyse_workspace(ws, travel=travel.replace("-", "_"))
    data = result.analysis.to_dict(include_households=not no_households)
    data["travel_method"] = result.travel_method
    data["estimate"] = result.estimate
    if as_json:
        click.echo(jsonout.dumps(data, indent=2))
        return
    from .network_cmds import echo_estimate

    lang = cli_lang()
    gettext = cli_gettext()
    travel_text = {"network": say("road network", "路网"), "straight_line": say("straight line", "直线距离"),
                   "none": say("none", "不计算")}
    click.echo(say("Travel times: ", "出行时间：") + travel_text.get(result.travel_method, result.travel_method))
    echo_estimate(result.estimate)
    rows = [(code_label(RULE_LABELS, row["rule"], gettext), row) for row in data["coverage"]]
    width = max([len(say("rule", "规则"))] + [text_width(name) for name, _ in rows]) + 2
    click.echo(pad(say("rule", "规则"), width) + "".join(
        pad(h, 9, right=True) for h in (say("required", "应结对"), say("covered", "已结对"), say("gaps", "缺口"),
                                         say("share", "覆盖率"))))
    for name, row in rows:
        share = "-" if row["share"] is None else f"{100 * row['share']:.1f}%"
        click.echo(pad(name, width) + "".join(pad(str(v), 9, right=True)
                                               for v in (row["required"], row["covered"], row["gaps"], share)))
    s = data["summary"]
    click.echo(say(f"{count_en(s['n_gaps'], 'gap')}, {count_en(s['n_problems'], 'data problem')}, "
                   f"{count_en(s['n_over_limit'], 'helper')} over their limit",
                   f"缺口 {s['n_gaps']} 处，数据问题 {s['n_problems']} 条，超出帮扶上限 {s['n_over_limit']} 人/队"))
    for p in data["problems"]:
        where = ", ".join(str(x) for x in (p["pairing_id"], p["helper_name"] or p["helper_key"],
                                           p["target_id"] and f"{kind_label(p['target_kind'], lang=lang)} "
                                                              f"{p['target_id']}") if x)
        click.echo(f"  {problem_label(p['problem'], gettext)}{say(': ', '：')}{where} — "
                   f"{problem_text(p, gettext, lang)}")
    click.echo(say(f"{count_en(s['n_suggestions'], 'suggested pairing')}; "
                   f"{count_en(s['n_uncovered'], 'need')} cannot be filled",
                   f"建议结对 {s['n_suggestions']} 条；无法满足的需求 {s['n_uncovered']} 项"))
    for u in data["uncovered"]:
        role = code_label(PAIRING_ROLE_LABELS, u["role"], gettext)
        target = f"{kind_label(u['target_kind'], lang=lang)} {u.get('target_name') or u['target_id']}"
        reason = unfilled_text(u, gettext, lang=lang)
        click.echo("  " + say(f"cannot fill {role} for {target}: {reason}", f"{target} 无法安排{role}：{reason}"))

