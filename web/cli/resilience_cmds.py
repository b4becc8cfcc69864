"""Network scenarios (``scenario add/list/show/remove``) and ``resilience``."""
from __future__ import annotations

import click

from geo.report import N_
from web.formatting import format_minutes
from web.services import jsonout

from .helptext import command, group
from .common import cli_lang, count_en, say, workspace_option


def register(cli: click.Group) -> None:
    cli.add_command(scenario)
    cli.add_command(resilience)


def scenario_option():
    """``--scenario NAME``: run on a stored network scenario instead of the base network."""
    return click.option("--scenario", "scenario_name", default=None, metavar="NAME",
                        help=N_("Run on this network scenario (see `ruralplan scenario list`); default: the base "
                                "network."))


# --------------------------------------------------------------------------- scenario
@group(help=N_("Network scenarios: roads closed or slowed (汛期, hazard zones, works)."))
def scenario() -> None:
    """The group of its subcommands (help above, in the report language)."""


@scenario.command("add",
                  help=N_("Store a network scenario NAME (checked against the roads and constraint zones)."))
@workspace_option()
@click.argument("name")
@click.option("--close-id", "close_ids", multiple=True, help=N_("Close the road with this id (repeatable, or a,b,c)."))
@click.option("--close-class", "close_classes", multiple=True,
              help=N_("Close every road of this class: national|provincial|county|township|village|other (repeatable)."))
@click.option("--close-unpaved", is_flag=True, help=N_("Close every unpaved road (the rainy season 汛期)."))
@click.option("--close-hazard", is_flag=True, help=N_("Close every road crossing a hazard zone (constraints layer)."))
@click.option("--close-zone", "close_zones", multiple=True, help=N_("Close roads crossing this constraint zone id."))
@click.option("--slow-class", "slow_classes", multiple=True, metavar="CLASS=FACTOR",
              help=N_("Speed factor for a class, e.g. county=0.5 (repeatable or comma separated)."))
@click.option("--slow-id", "slow_ids", multiple=True, metavar="ID=FACTOR", help=N_("Speed factor for one road."))
@click.option("--slow-zone", "slow_zones", multiple=True, metavar="ZONE=FACTOR",
              help=N_("Speed factor for roads crossing a constraint zone."))
@click.option("--slow-hazard", type=float, default=None, help=N_("Speed factor for roads crossing any hazard zone."))
@click.option("--description", default="", help=N_("Free text."))
@click.option("--replace", is_flag=True, help=N_("Overwrite a scenario of the same name."))
def scenario_add(workspace, name, close_ids, close_classes, close_unpaved, close_hazard, close_zones, slow_classes,
                 slow_ids, slow_zones, slow_hazard, description, replace) -> None:
    from layers.store import Workspace
    from planner.scenario import NetworkScenario, parse_factor_spec
    from web.services import scenarios

    def split(values):
        return [v.strip() for text in values for v in text.replace("，", ",").split(",") if v.strip()]

    spec = NetworkScenario(
        name=name, close_ids=split(close_ids), close_classes=split(close_classes), close_unpaved=close_unpaved,
        close_hazard=close_hazard, close_zones=split(close_zones),
        slow_classes=parse_factor_spec(",".join(slow_classes), what="--slow-class"),
        slow_ids=parse_factor_spec(",".join(slow_ids), what="--slow-id"),
        slow_zones=parse_factor_spec(",".join(slow_zones), what="--slow-zone"),
        slow_hazard=slow_hazard, description=description)
    applied = scenarios.save_scenario(Workspace(workspace).require(), spec, replace=replace)
    d = applied.to_dict()
    zh = cli_lang() == "zh"
    click.echo(f"{spec.name}: {describe_scenario(spec)}")
    if zh:
        click.echo(f"  封闭 {d['roads_closed']} 条道路（{d['closed_km']:.1f} 公里），减速 {d['roads_slowed']} 条"
                   f"（{d['slowed_km']:.1f} 公里），灾害隐患区 {d['hazard_zones']} 个")
    else:
        click.echo(f"  {count_en(d['roads_closed'], 'road')} closed ({d['closed_km']:.1f} km), {d['roads_slowed']} slowed "
                   f"({d['slowed_km']:.1f} km), {count_en(d['hazard_zones'], 'hazard zone')}")


@scenario.command("list",
                  help=N_("List the stored network scenarios."))
@workspace_option()
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON."))
def scenario_list(workspace, as_json) -> None:
    from layers.store import Workspace
    from web.services import scenarios

    items = scenarios.list_scenarios(Workspace(workspace).require())
    if as_json:
        click.echo(jsonout.dumps([s.to_dict() for s in items], indent=2))
        return
    for s in items:
        click.echo(f"{s.name}\t{describe_scenario(s)}" + (f"\t{s.description}" if s.description else ""))
    if not items:
        click.echo(say("no network scenarios", "尚无路网情景"))


@scenario.command("show",
                  help=N_("Show what scenario NAME closes and slows on the current roads."))
@workspace_option()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help=N_("Print JSON (with the ids of the closed roads)."))
def scenario_show(workspace, name, as_json) -> None:
    from layers.store import Workspace
    from web.services import scenarios

    ws = Workspace(workspace).require()
    applied = scenarios.apply(ws, scenarios.get_scenario(ws, name))
    if as_json:
        click.echo(jsonout.dumps(applied.to_dict(), indent=2))
        return
    _echo_applied(applied)


def describe_scenario(spec) -> str:
    """A scenario's one line in the report language, road classes by their labels."""
    from web.services.scenarios import describe

    return describe(spec, cli_lang())


def _echo_applied(applied) -> None:
    """What a scenario does to the current roads: its line, counts and lengths, and the ids
    (of closed roads, unknown ids and zones) the user can look up."""
    spec, d = applied.scenario, applied.to_dict()
    click.echo(f"{spec.name}: {describe_scenario(spec)}" + (f" — {spec.description}" if spec.description else ""))
    click.echo(say(f"  {count_en(d['roads_closed'], 'road')} closed ({d['closed_km']:.1f} km), {d['roads_slowed']} slowed "
                   f"({d['slowed_km']:.1f} km), {d['roads_open']} open; {count_en(d['hazard_zones'], 'hazard zone')}",
                   f"  封闭 {d['roads_closed']} 条道路（{d['closed_km']:.1f} 公里），减速 {d['roads_slowed']} 条"
                   f"（{d['slowed_km']:.1f} 公里），通行 {d['roads_open']} 条；灾害隐患区 {d['hazard_zones']} 个"))
    for key, en, zh in (("closed_ids", "closed roads", "封闭的道路"), ("unknown_ids", "unknown road ids", "未知道路编号"),
                        ("unknown_zones", "unknown zones", "未知管控区")):
        ids = d.get(key) or []
        if ids:
            more = say(f" … (+{len(ids) - 20} more)", f" …（另 {len(ids) - 20} 条）") if len(ids) > 20 else ""
            click.echo(say(f"  {en}: ", f"  {zh}：") + ", ".join(map(str, ids[:20])) + more)


@scenario.command("remove",
                  help=N_("Delete scenario NAME."))
@workspace_option()
@click.argument("name")
def scenario_remove(workspace, name) -> None:
    from layers.store import Workspace
    from web.services import scenarios

    scenarios.remove_scenario(Workspace(workspace).require(), name)
    click.echo(say(f"removed {name}", f"已删除 {name}"))


# --------------------------------------------------------------------------- resilience
@command(help=N_("Villages with a single access, and road links ranked by what their loss cuts off."))
@workspace_option()
@scenario_option()
@click.option("--to", "target", default="towns", show_default=True,
              type=click.Choice(["towns", "cold_storage", "industry_bases", "relocation_settlements"]),
              help=N_("Where villagers travel, for the detour minutes (towns: the town seats)."))
@click.option("--top", type=int, default=20, show_default=True, help=N_("How many links and detour segments to list."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the full report as JSON (with GeoJSON)."))
def resilience(workspace, scenario_name, target, top, as_json) -> None:
    from layers.store import Workspace
    from web.services import resilience as R

    # typed errors (no roads, a bad setting or scenario) go to the CLI's one wrapper: exit 2
    out = R.analyse(Workspace(workspace).require(), scenario=scenario_name, target=target, top=top)
    if as_json:
        click.echo(jsonout.dumps(out, indent=2))
        return
    click.echo(report_text(out, lang=cli_lang()))


def report_text(out: dict, *, lang: str = "en") -> str:
    """The resilience report for a terminal (zh or en; units 人, 户, 吨, 分钟)."""
    zh = lang == "zh"
    t = out["totals"]
    lines = []
    if out.get("scenario"):
        lines.append(("路网情景：" if zh else "scenario: ") + out["scenario"])
    if zh:
        lines.append(f"单一出口村 {t['villages_single_access']}/{t['villages_on_network']} 个，"
                     f"{t['population_single_access']:,.0f} 人，监测户 {t['monitored_households_single_access']:,.0f} 户，"
                     f"产量 {t['produce_t_single_access']:,.0f} 吨；桥（断开即孤立）路段 {t['bridges']}/{t['segments']} 段")
        lines.append("")
        lines.append("断路影响排名（一段中断即孤立的村）：")
    else:
        lines.append(f"single-access villages {t['villages_single_access']}/{t['villages_on_network']}: "
                     f"{t['population_single_access']:,.0f} people, {t['monitored_households_single_access']:,.0f} "
                     f"monitored households, {t['produce_t_single_access']:,.0f} t produce; bridge segments "
                     f"{t['bridges']}/{t['segments']}")
        lines.append("")
        lines.append("links ranked by what their loss cuts off:")
    for link in out["links"]:
        road = ", ".join(n or r for n, r in zip(link["road_names"], link["road_ids"]))
        villages = "、".join(v or "?" for v in link["village_names"][:8]) + ("…" if len(link["village_names"]) > 8 else "")
        if zh:
            lines.append(f"{link['rank']:>3}. {road}（{link['length_m'] / 1000:.1f} 公里）：{link['villages_cut']} 个村 "
                         f"{link['population_cut']:,.0f} 人，监测户 {link['monitored_households_cut']:,.0f} 户"
                         f"（不稳定 {link['monitored_unstable_cut']:,.0f}／边缘 {link['monitored_marginal_cut']:,.0f}"
                         f"／突发 {link['monitored_sudden_cut']:,.0f}），{link['produce_t_cut']:,.0f} 吨 — {villages}")
        else:
            lines.append(f"{link['rank']:>3}. {road} ({link['length_m'] / 1000:.1f} km): {count_en(link['villages_cut'], 'village')}, "
                         f"{link['population_cut']:,.0f} people, {link['monitored_households_cut']:,.0f} monitored "
                         f"households (unstable {link['monitored_unstable_cut']:,.0f} / marginal "
                         f"{link['monitored_marginal_cut']:,.0f} / sudden {link['monitored_sudden_cut']:,.0f}), "
                         f"{link['produce_t_cut']:,.0f} t — {villages}")
    if out["detours"]:
        lines.append("")
        lines.append("绕行代价最高的路段（不孤立村，但增加出行时间）：" if zh
                     else "segments whose loss costs the longest detours (no village cut off):")
        for d in out["detours"]:
            road = d["road_name"] or d["road_id"]
            if zh:
                lines.append(f"{d['rank']:>3}. {road}：{d['villages_delayed']} 个村绕行，"
                             f"最多 +{format_minutes(d['added_min_max'])} 分钟，"
                             f"合计 {d['person_min']:,.0f} 人·分钟")
            else:
                lines.append(f"{d['rank']:>3}. {road}: {count_en(d['villages_delayed'], 'village')} detour, up to "
                             f"+{format_minutes(d['added_min_max'])} min, {d['person_min']:,.0f} person-minutes")
    return "\n".join(lines)


def echo_scenario_difference(diff: dict, *, lang: str | None = None) -> None:
    """Base network vs scenario, after a coverage report (zh or en)."""
    lang = lang or cli_lang()
    zh = lang == "zh"
    b, s, sc = diff["base"], diff["scenario_totals"], diff["scenario"]
    click.echo("")
    applied = sc["applied"]
    if zh:
        click.echo(f"路网情景 {sc['name']}：{sc['describe_zh']}（封闭 {applied['roads_closed']} 条，"
                   f"{applied['closed_km']:.1f} 公里；减速 {applied['roads_slowed']} 条）")
        click.echo(f"  覆盖村：基准 {b['villages_covered']} → 情景 {s['villages_covered']}；覆盖人口 "
                   f"{b.get('population_covered', 0):,.0f} → {s.get('population_covered', 0):,.0f} 人；"
                   f"监测户 {b.get('monitored_households_covered', 0):,.0f} → "
                   f"{s.get('monitored_households_covered', 0):,.0f} 户")
        click.echo(f"  {diff['villages_slower']} 个村出行变慢，合计增加 {diff['added_minutes_total']:,.1f} 分钟")
    else:
        click.echo(f"scenario {sc['name']}: {sc['describe_en']} ({count_en(applied['roads_closed'], 'road')} closed, "
                   f"{applied['closed_km']:.1f} km; {applied['roads_slowed']} slowed)")
        click.echo(f"  villages covered: base {b['villages_covered']} → scenario {s['villages_covered']}; people "
                   f"{b.get('population_covered', 0):,.0f} → {s.get('population_covered', 0):,.0f}; monitored "
                   f"households {b.get('monitored_households_covered', 0):,.0f} → "
                   f"{s.get('monitored_households_covered', 0):,.0f}")
        click.echo(f"  {count_en(diff['villages_slower'], 'village')} slower, {diff['added_minutes_total']:,.1f} minutes added in all")
    if diff.get("cut_off"):  # the scenario's effect (not a data fault of the roads)
        from web.i18n import catalog_gettext
        from web.services.netreasons import reason_text

        gettext = catalog_gettext(lang)
        click.echo(f"  被情景阻断的村（{len(diff['cut_off'])}）：" if zh
                   else f"  villages cut off by the scenario ({len(diff['cut_off'])}):")
        for v in diff["cut_off"][:30]:
            click.echo(f"    {v['village_id']}  {v['village_name']}  ({v['town']}): {reason_text(v['reason'], gettext)}")
    if diff["lost"]:
        click.echo(f"  失去覆盖的村（{len(diff['lost'])}）：" if zh else f"  villages losing coverage ({len(diff['lost'])}):")
        for v in diff["lost"][:30]:
            unit = "分钟" if zh else "min"
            # lost coverage: the scenario's time is over the cutoff and must read so
            after = (f"{format_minutes(v['minutes_scenario'], limit=diff.get('minutes'))} {unit}"
                     if v["minutes_scenario"] is not None else ("不通" if zh else "unreachable"))
            click.echo(f"    {v['village_id']}  {v['village_name']}  ({v['town']})  "
                       f"{format_minutes(v['minutes_base'])} {unit} → {after}")
