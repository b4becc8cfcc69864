"""Project-library commands: ``proposals``, ``evaluate``, ``portfolio`` and ``notice`` (公示)."""
from __future__ import annotations

import sys

import click

from geo.report import N_
from web.services import jsonout

from .helptext import command, group
from .common import cli_gettext, cli_lang, count_en, nothing_written, pad, say, text_width, workspace_option
from .resilience_cmds import scenario_option


def register(cli: click.Group) -> None:
    for cmd in (proposals, evaluate, portfolio_cmd, notice, projects):
        cli.add_command(cmd)


def num(value) -> str:
    from web.i18n import format_number

    return format_number(value, empty="-")


def mins(value) -> str:
    """Travel minutes at 0.01 (the one formatter, :func:`web.formatting.format_minutes`)."""
    from web.formatting import format_minutes

    return format_minutes(value, empty="-")


def qty(value) -> str:
    """A count or amount with thousands separators and at most one decimal."""
    from web.formatting import trimmed_number

    return trimmed_number(value, digits=1, empty="-", grouping=True)


def _workspace(path):
    from layers.store import Workspace

    return Workspace(path).require()


@command(help=N_("List the project library (项目库)."))
@workspace_option()
@click.option("--status", multiple=True, help=N_("Only these statuses (repeatable), e.g. submitted."))
@click.option("--town", default=None, help=N_("Only this town."))
@click.option("--category", default=None, help=N_("Only this category, e.g. cold_chain."))
@click.option("--load-demo", is_flag=True, help=N_("First seed the demo proposals from the workspace metadata."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def proposals(workspace, status, town, category, load_demo, as_json) -> None:
    from layers import proposals as P
    from web.services.labels import choice_label

    ws = _workspace(workspace)
    if load_demo:
        P.load_demo_proposals(ws)
    items = P.list_proposals(ws, P.ProposalFilter(status=tuple(status) or None, town=town, category=category))
    if as_json:
        click.echo(jsonout.dumps([p.to_dict() for p in items], indent=2))
        return
    lang = cli_lang()
    rows = [(p, choice_label(P.STATUSES, p.status, lang), choice_label(P.CATEGORIES, p.category, lang))
            for p in items]
    w_status = max([0] + [text_width(r[1]) for r in rows]) + 2
    w_category = max([0] + [text_width(r[2]) for r in rows]) + 2
    for p, status_text, category_text in rows:
        click.echo(f"{p.id:>4}  {pad(status_text, w_status)}{pad(category_text, w_category)}"
                   f"{p.budget_wan:>8.1f}{say(' 10k yuan', '万元')}  {p.town}  {p.name}")
    click.echo(say(count_en(len(items), "proposal"), f"共 {len(items)} 个项目"))


@command(help=N_("Evaluate a proposal on its location (access, catchment, gain, redundancy, conflicts, score)."))
@workspace_option()
@click.option("--proposal", "proposal_id", required=True, type=int, help=N_("Proposal id."))
@click.option("--cutoff", type=float, default=None, help=N_("Catchment cutoff in minutes (default 30 or workspace setting)."))
@click.option("--radius", type=float, default=None, help=N_("Alternative-site radius in km (default 5)."))
@click.option("--no-cache", is_flag=True, help=N_("Recompute even if a cached evaluation exists."))
@click.option("--features", is_flag=True, help=N_("With --json: include the map features (GeoJSON)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the full evaluation as JSON."))
@scenario_option()
def evaluate(workspace, proposal_id, cutoff, radius, no_cache, features, as_json, scenario_name) -> None:
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
        click.echo(jsonout.dumps(result, indent=2))
        return
    from .network_cmds import echo_estimate

    echo_estimate(result.get("estimate"))
    click.echo(summary_text(result))
    if base is not None:
        c, cb = result["catchment"], base["catchment"]
        click.echo(say(
            f"  scenario {scenario_name} vs base network: score {base['score']['total']} → "
            f"{result['score']['total']}; catchment {cb['n_villages']} → {count_en(c['n_villages'], 'village')}, "
            f"{qty(cb['population'])} → {qty(c['population'])} people; main road "
            f"{mins(base['access'].get('main_road_min'))} → {mins(result['access'].get('main_road_min'))} min",
            f"  情景 {scenario_name} 与基准路网相比：得分 {base['score']['total']} → {result['score']['total']}；"
            f"服务范围 {cb['n_villages']} → {c['n_villages']} 个村，{qty(cb['population'])} → {qty(c['population'])} 人；"
            f"至干线公路 {mins(base['access'].get('main_road_min'))} → "
            f"{mins(result['access'].get('main_road_min'))} 分钟"))


def summary_text(result: dict) -> str:
    """A few lines a reviewer reads first, in the report language, codes by their labels."""
    from layers.proposals import CATEGORIES
    from layers.schema import COMMODITIES, CONSTRAINT_KINDS
    from web.services.labels import COMPONENT_LABELS, FLAG_LABELS, MEASURE_LABELS, choice_label, code_label
    from web.services.project_eval import ALTERNATIVE_MIN_EXTRA_GAIN

    lang, gettext = cli_lang(), cli_gettext()
    p, a, c, cov, red, alt = (result[k] for k in ("proposal", "access", "catchment", "coverage", "redundancy",
                                                  "alternative"))
    town = a.get("town_centre") or {}
    produce = say(", ", "，").join(f"{choice_label(COMMODITIES, k, lang)} {qty(v)} {say('t', '吨')}"
                                  for k, v in (c.get("produce_t") or {}).items()) or "0"
    category = choice_label(CATEGORIES, p["category"], lang)
    measure = code_label(MEASURE_LABELS, cov["measure"], gettext)
    lines = [
        say(f"{p['name']} (#{p['id']}, {category}): score {result['score']['total']}",
            f"{p['name']}（#{p['id']}，{category}）：得分 {result['score']['total']}"),
        say(f"  access: main road {mins(a.get('main_road_min'))} min; town centre {town.get('name') or '-'} "
            f"{mins(town.get('minutes'))} min",
            f"  通达：至干线公路 {mins(a.get('main_road_min'))} 分钟；至乡镇驻地 {town.get('name') or '-'} "
            f"{mins(town.get('minutes'))} 分钟"),
        say(f"  catchment ≤{c['cutoff_min']:g} min: {count_en(c['n_villages'], 'village')}, {qty(c['population'])} people, "
            f"{count_en(c['monitored_households'], 'monitored household')}, produce {produce}, "
            f"{count_en(len(c['settlements']), 'relocation settlement')} ({qty(c['settlement_people'])} people)",
            f"  {c['cutoff_min']:g} 分钟服务范围：{c['n_villages']} 个村，{qty(c['population'])} 人，"
            f"监测户 {c['monitored_households']} 户，产量 {produce}，"
            f"易地扶贫搬迁安置点 {len(c['settlements'])} 个（{qty(c['settlement_people'])} 人）"),
    ]
    most = red["overlapping"][0] if red["overlapping"] else None
    lines.append(say(
        f"  coverage gain ({measure}): {cov['gain']:,.1f} of {cov['catchment_weight']:,.1f}; "
        f"redundancy {red['share']:.0%}" + (f" (most with {most['name']}: {most['overlap_share']:.0%})" if most else ""),
        f"  新增覆盖（{measure}）：{cov['gain']:,.1f} / {cov['catchment_weight']:,.1f}；"
        f"重复覆盖 {red['share']:.0%}" + (f"（与{most['name']}重叠最多：{most['overlap_share']:.0%}）" if most else "")))
    for conflict in result["conflicts"]:
        kind = choice_label(CONSTRAINT_KINDS, conflict["kind"], lang)
        if conflict["relation"] == "inside":
            lines.append(say(f"  conflict: inside {kind} {conflict['name']}", f"  冲突：位于{kind} {conflict['name']}内"))
        else:
            lines.append(say(f"  conflict: {conflict['distance_m']:.0f} m from {kind} {conflict['name']}",
                             f"  冲突：距{kind} {conflict['name']} {conflict['distance_m']:.0f} 米"))
    if alt.get("best") and alt.get("extra_gain", 0) <= ALTERNATIVE_MIN_EXTRA_GAIN:
        lines.append(say(f"  no better site within {alt['radius_km']:g} km", f"  {alt['radius_km']:g} 公里内没有更优选址"))
    elif alt.get("best"):
        b = alt["best"]
        lines.append(say(
            f"  best alternative within {alt['radius_km']:g} km: {_site_text(b)}, {b['distance_km']} km from the proposed site "
            f"({b['lon']}, {b['lat']}), +{alt['extra_gain']:,.1f}",
            f"  {alt['radius_km']:g} 公里内最佳备选址：{_site_text(b)}，距拟建址 {b['distance_km']} 公里"
            f"（{b['lon']}, {b['lat']}），多覆盖 {alt['extra_gain']:,.1f}"))
    flags = say("; ", "；").join(code_label(FLAG_LABELS, f, gettext) for f in result["flags"])
    lines.append(say("  flags: ", "  提示：") + (flags or say("none", "无")))
    lines.append(say("  score: ", "  评分：") + say(", ", "，").join(
        f"{code_label(COMPONENT_LABELS, k['name'], gettext)} {k['value']:.2f}×{k['weight']:g}"
        for k in result["score"]["components"]))
    return "\n".join(lines)


def _site_text(site: dict) -> str:
    """An alternative site by its name, else by the nearest village and named road
    (:func:`web.services.project_eval.nearest_places`; a road node has no name)."""
    if site.get("name"):
        return site["name"]
    village, town, km, road = (site.get(k) for k in ("near_village", "near_village_town", "near_village_km",
                                                       "near_road"))
    parts = []
    if village:
        parts.append(say(f"near {village}{', ' + town if town else ''} ({km} km from the village)",
                         f"{town or ''}{village}附近（距该村 {km} 公里）"))
    if road:
        parts.append(say(f"on {road}", f"位于{road}旁"))
    return say("; ", "，").join(parts) if parts else say("a point on the road", "路网上一点")


@command("portfolio",
    help=N_("Which pending proposals cover the most for a budget; what the approved list covers by town."))
@workspace_option()
@click.option("--category", default="cold_chain", show_default=True, help=N_("Proposal category."))
@click.option("--budget", type=float, required=True, help=N_("Budget in 万元."))
@click.option("--year", type=int, default=None, help=N_("Only proposals of this year."))
@click.option("--cutoff", type=float, default=None, help=N_("Coverage cutoff in minutes."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def portfolio_cmd(workspace, category, budget, year, cutoff, as_json) -> None:
    from web.services import project_eval

    ws = _workspace(workspace)
    result = project_eval.portfolio_for(ws, category=category, budget_wan=budget, year=year, cutoff_min=cutoff)
    if as_json:
        click.echo(jsonout.dumps(result, indent=2))
        return
    from web.services.labels import MEASURE_LABELS, code_label

    from .network_cmds import echo_estimate

    echo_estimate(result.get("estimate"))

    measure = code_label(MEASURE_LABELS, result["measure"], cli_gettext())
    click.echo(say(f"budget {budget:g} (10k yuan), spent {result['spent_wan']:g}, measure: {measure}",
                   f"预算 {budget:g} 万元，已安排 {result['spent_wan']:g} 万元，衡量：{measure}"))
    for tag, rows in ((say("fund", "安排"), result["selected"]), (say("skip", "暂缓"), result["not_selected"])):
        for row in rows:
            click.echo(f"  {tag}  #{row.get('proposal_id')} {row['name']} {row['budget_wan']:g}{say(' (10k yuan)', '万元')}"
                       f" (+{row['gain_alone']:,.1f})")
    click.echo(say(f"covered: existing {result['covered_before']:,.1f}, + approved {result['covered_approved']:,.1f}, "
                   f"+ selection {result['covered_after']:,.1f} of {result['total_weight']:,.1f}",
                   f"覆盖：现有 {result['covered_before']:,.1f}，加已批准 {result['covered_approved']:,.1f}，"
                   f"加本次安排 {result['covered_after']:,.1f}，共 {result['total_weight']:,.1f}"))


@command(help=N_("Export the 公示 (public notice) of approved projects to Excel."))
@workspace_option()
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False), help=N_("Excel file to write (.xlsx)."))
@click.option("--year", type=int, default=None, help=N_("Only projects of this year."))
def notice(workspace, out, year) -> None:
    from web.services.project_notice import write_notice_xlsx

    ws = _workspace(workspace)
    n = write_notice_xlsx(ws, out, year=year)
    click.echo(say(f"{count_en(n, 'approved project')} written to {out}", f"已将 {n} 个审定项目写入 {out}"))


@group(help=N_("The project library (项目库) as the county's Excel: import and export."))
def projects() -> None:
    """The group of its subcommands (help above, in the report language)."""


@projects.command(name="import",
                  help=N_("Import FILE (.xlsx/.csv, the 项目库 columns); exit status 2 on errors, nothing written then."))
@workspace_option()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", default="ruralplan import", show_default=True,
              help=N_("Recorded as the creator of the new proposals and of their import step."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the outcome as JSON."))
def projects_import(workspace, file, username, as_json) -> None:
    from layers.project_library import import_library
    from web.i18n import catalog_gettext

    from .common import cli_lang, echo_problems

    outcome = import_library(_workspace(workspace), file, created_by=username)  # unreadable file: exit 2
    if as_json:
        click.echo(jsonout.dumps(outcome.to_dict(), indent=2))
    else:
        _ = catalog_gettext(cli_lang())
        echo_problems(outcome.problems)
        if outcome.written:
            click.echo(_("project library: %(added)s added, %(unchanged)s unchanged", added=outcome.added,
                         unchanged=outcome.unchanged))
        else:
            click.echo(nothing_written(len(outcome.errors), outcome.file), err=True)
    if not outcome.written:
        sys.exit(2)


@projects.command(name="export",
                  help=N_("Write the project library as the county's Excel (headers in RURALPLAN_LANG), importable back unchanged."))
@workspace_option()
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--status", multiple=True, help=N_("Only these statuses (repeatable)."))
@click.option("--year", type=int, default=None, help=N_("Only proposals of this year."))
def projects_export(workspace, out, status, year) -> None:
    from layers import proposals as P
    from layers.project_library import write_library_xlsx

    from .common import cli_lang

    items = sorted(P.list_proposals(_workspace(workspace), P.ProposalFilter(status=tuple(status) or None, year=year)),
                   key=lambda p: p.id)
    write_library_xlsx(items, out, lang=cli_lang())
    click.echo(f"{len(items)} → {out}")
