"""Placement commands: ``solve`` (a model on a cost matrix) and ``place`` (on the workspace)."""
from __future__ import annotations

import click

from geo.errors import RuralplanError

from geo.report import N_
from planner.models import MODEL_NAMES as MODELS  # the one registry of models
from web.services import jsonout

from .helptext import command
from .common import cli_gettext, cli_lang, count_en, pad, say, text_width, workspace_option
from .resilience_cmds import scenario_option

DECAYS = ("linear", "power", "exponential")
#: ``solve``'s option for each solver keyword of planner.models.OPTIONS (for messages).
SOLVE_OPTION_NAMES = {"p": "--p", "radius_min": "--radius", "weights": "--weights", "capacity_t": "--capacity",
                      "demand_t": "--demand", "split": "--no-split", "site_cost_wan": "--cost-per-site",
                      "budget_wan": "--budget", "decay": "--decay", "beta": "--beta",
                      "target_share": "--target-share"}
#: ``place``'s option for each solver keyword it sets.
PLACE_OPTION_NAMES = {"weights": "--weight", "p": "--p", "radius_min": "--minutes", "budget_wan": "--budget",
                      "site_cost_wan": "--site-cost",
                      "beta": "--beta", "target_share": "--target-share", "decay": "--decay", "split": "--no-split"}


def register(cli: click.Group) -> None:
    cli.add_command(solve)
    cli.add_command(place)


def _load(path, name):
    import numpy as np

    if path is None:
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path}: not a readable .npy array ({exc})", param_hint=name) from exc


def _num(value, spec: str) -> str:
    """Format a number from a JSON dict; None (an infinite or missing value) prints as "-"."""
    return "-" if value is None else format(value, spec)


def _indices(text):
    if not text:
        return ()
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected comma-separated site indices, e.g. 0,5", param_hint="--fixed") from None


@command(help=N_("Solve a location model on a plain cost matrix."))
@click.argument("model", type=click.Choice(MODELS))
@click.option("--cost", "cost_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help=N_("n×m travel-cost matrix (.npy); inf = unreachable."))
@click.option("--weights", "weights_path", type=click.Path(exists=True, dir_okay=False), help=N_("Demand weights (.npy)."))
@click.option("--p", type=int, default=None,
              help=N_("Number of new sites (pmedian, mclp, cmclp: optional with --budget, then as many as it affords)."))
@click.option("--radius", type=float, default=None, help=N_("Coverage radius (same unit as the costs)."))
@click.option("--capacity", "capacity_path", type=click.Path(exists=True, dir_okay=False), help=N_("Site capacities (.npy)."))
@click.option("--demand", "demand_path", type=click.Path(exists=True, dir_okay=False), help=N_("Demand amounts (.npy)."))
@click.option("--no-split", is_flag=True, help=N_("cmclp: each demand point served by one site only."))
@click.option("--cost-per-site", "site_cost_path", type=click.Path(exists=True, dir_okay=False),
              help=N_("Cost of opening each site (.npy, 万元)."))
@click.option("--budget", type=float, default=None, help=N_("Total budget (万元)."))
@click.option("--fixed", default="", help=N_("Existing sites, always open: comma-separated column indices."))
@click.option("--decay", type=click.Choice(DECAYS), default="linear", show_default=True,
              help=N_("attendance: how attendance falls with travel time up to --radius."))
@click.option("--beta", type=float, default=None, help=N_("attendance: decay parameter (power exponent, exp. rate)."))
@click.option("--target-share", type=float, default=None,
              help=N_("lscp: fewest sites covering at least this share of the demand (e.g. 0.9)."))
@click.option("--curve", "curve_k", type=int, default=None,
              help=N_("Print the coverage curve within --radius for 1..K new sites instead of one model."))
@click.option("--time-limit", type=float, default=60.0, show_default=True, help=N_("Seconds (explanations included)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the full result as JSON."))
def solve(model, cost_path, weights_path, p, radius, capacity_path, demand_path, no_split, site_cost_path, budget,
          fixed, decay, beta, target_share, curve_k, time_limit, as_json) -> None:
    from planner.locate import coverage_curve
    from planner.locate import solve as solve_model

    if curve_k is not None:
        if radius is None:
            raise click.BadParameter("the coverage curve needs --radius", param_hint="--curve")
        try:
            curve = coverage_curve(_load(cost_path, "--cost"), _load(weights_path, "--weights"), radius_min=radius,
                                   k_max=curve_k, fixed=_indices(fixed), time_limit_s=time_limit)
        except RuralplanError:
            raise  # typed: the CLI's one wrapper says it (exit 2, the report language)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        _echo_curve(curve.to_dict(), as_json)
        return
    from planner.models import check_options

    # Each option the user set, under the solver's keyword (None: not set); the registry
    # (planner.models) says which the model takes and needs.
    ctx = click.get_current_context()
    explicit = {name for name in ("decay", "no_split")
                if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT}
    options = {"p": p, "radius_min": radius, "weights": weights_path, "capacity_t": capacity_path,
               "demand_t": demand_path, "split": False if "no_split" in explicit else None,
               "site_cost_wan": site_cost_path, "budget_wan": budget, "decay": decay if "decay" in explicit else None,
               "beta": beta, "target_share": target_share}
    check_options(model, [k for k, v in options.items() if v is not None], names=SOLVE_OPTION_NAMES)
    loaders = {"weights": "--weights", "capacity_t": "--capacity", "demand_t": "--demand",
               "site_cost_wan": "--cost-per-site"}
    kwargs = {"fixed": _indices(fixed), "time_limit_s": time_limit}
    for key, value in options.items():
        if value is not None:
            kwargs[key] = _load(value, loaders[key]) if key in loaders else value
    try:
        result = solve_model(model, _load(cost_path, "--cost"), **kwargs)
    except RuralplanError:
        raise  # typed: the CLI's one wrapper (exit 2, the terminal's language)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
    full = result.to_dict()
    if as_json:
        click.echo(jsonout.dumps(full))
        return
    _echo_solution(full)


def _indices_text(values, limit: int = 20) -> str:
    values = [str(v) for v in values]
    more = len(values) - limit
    return ", ".join(values[:limit]) + (say(f" … (+{more} more)", f" …（另 {more} 个）") if more > 0 else "")


def _echo_solution(d: dict) -> None:
    """``solve``'s text: the model, status and gap, then the open sites and demand left out (indices)."""
    from planner.models import MODELS

    from web.services.labels import SOLVER_STATUS_LABELS, code_label, method_text

    gettext = cli_gettext()
    method = method_text(d.get("solver") or d.get("method"), gettext)
    model = MODELS[d["model"]].label(cli_lang()) if d.get("model") in MODELS else str(d.get("model"))
    status = code_label(SOLVER_STATUS_LABELS, d["status"], gettext)
    click.echo(say(f"{model}: {status}, objective {_num(d['objective'], ',.2f')}, bound {_num(d['bound'], ',.2f')}, "
                   f"gap {_num(d['gap'], '.2%')}, {d['seconds']:.2f} s (method: {method})",
                   f"{model}：{status}，目标值 {_num(d['objective'], ',.2f')}，界 {_num(d['bound'], ',.2f')}，"
                   f"差距 {_num(d['gap'], '.2%')}，用时 {d['seconds']:.2f} 秒（方法：{method}）"))
    sites = d.get("sites") or []
    new = [s["site"] for s in sites if not s.get("fixed")]
    fixed = [s["site"] for s in sites if s.get("fixed")]
    click.echo(say(f"new sites (column index): {_indices_text(new) or '-'}",
                   f"新建点（列序号）：{_indices_text(new) or '-'}"))
    if fixed:
        click.echo(say(f"existing sites kept: {_indices_text(fixed)}", f"保留的现有点：{_indices_text(fixed)}"))
    for key, en, zh in (("uncovered", "demand points not covered (row index)", "未覆盖的需求点（行序号）"),
                        ("unreachable", "demand points no site reaches (row index)", "任何点都到不了的需求点（行序号）")):
        if d.get(key):
            click.echo(say(f"{en}: {len(d[key])} — {_indices_text(d[key])}",
                           f"{zh}：{len(d[key])} 个 — {_indices_text(d[key])}"))


@command(help=N_("Suggest where new facilities go, on the workspace's road network."))
@workspace_option()
@click.option("--facility", default="cold_storage", show_default=True,
              type=click.Choice(["cold_storage", "industry_bases", "relocation_settlements"]),
              help=N_("Facility type to place (existing ones are kept as fixed)."))
@click.option("--model", type=click.Choice(MODELS), default="mclp", show_default=True)
@click.option("--p", type=int, default=None, help=N_("Number of new sites."))
@click.option("--minutes", type=float, default=None, help=N_("Coverage cutoff (mclp, lscp, cmclp)."))
@click.option("--weight", "demand", default="population", show_default=True,
              help=N_("Demand weight: population | households | monitored | villages | produce:apple,hawthorn | a mix "
                   "like population*0.5+monitored*100."))
@click.option("--candidates", default="towns", show_default=True,
              help=N_("Candidate sites: towns | industry_bases | network | proposals."))
@click.option("--budget", type=float, default=None, help=N_("Budget (万元); needs --site-cost or candidates with costs."))
@click.option("--site-cost", type=float, default=None, help=N_("Cost of one new site (万元)."))
@click.option("--new-capacity-t", type=float, default=2000.0, show_default=True,
              help=N_("cmclp: capacity of a new site (tonnes)."))
@click.option("--no-split", is_flag=True, help=N_("cmclp: each village served by one site only."))
@click.option("--ignore-existing", is_flag=True, help=N_("Plan from scratch instead of keeping existing facilities."))
@click.option("--decay", type=click.Choice(DECAYS), default="linear", show_default=True,
              help=N_("attendance: how attendance falls with travel time up to --minutes."))
@click.option("--beta", type=float, default=None, help=N_("attendance: decay parameter (power exponent, exp. rate)."))
@click.option("--target-share", type=float, default=None,
              help=N_("lscp: fewest sites covering at least this share of the demand within --minutes (e.g. 0.9)."))
@click.option("--curve", "curve_k", type=int, default=None,
              help=N_("Also the coverage curve within --minutes: optimal coverage for 1..K new sites (with --budget: "
                   "K budgets up to it) and each one's marginal gain."))
@click.option("--time-limit", type=float, default=10.0, show_default=True,
              help=N_("Seconds for the whole answer (travel times, explanations, curve; with --scenario both networks)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print the result as JSON."))
@scenario_option()
def place(workspace, facility, model, p, minutes, demand, candidates, budget, site_cost, new_capacity_t, no_split,
          ignore_existing, decay, beta, target_share, curve_k, time_limit, as_json, scenario_name) -> None:
    import time
    from dataclasses import replace

    from layers.store import Workspace
    from web import services
    from web.services import scenarios
    from web.services.planning import PlacementQuestion

    from planner.models import MODELS as REGISTRY
    from planner.models import check_options

    # The options the user set that reach the solver (--minutes also measures coverage for
    # models without a cutoff; --site-cost counts only with --budget); the registry says
    # which the model takes.
    ctx = click.get_current_context()
    explicit = {name for name in ("decay", "no_split")
                if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT}
    given = {"p": p, "budget_wan": budget, "site_cost_wan": site_cost if budget is not None else None,
             "radius_min": minutes if "radius_min" in REGISTRY[model].options else None, "beta": beta,
             "target_share": target_share, "decay": "decay" if "decay" in explicit else None,
             "split": "no_split" if "no_split" in explicit else None,
             # place makes the tonnes (weights) and capacities of cmclp itself
             "demand_t": "auto" if model == "cmclp" else None, "capacity_t": "auto" if model == "cmclp" else None}
    check_options(model, [k for k, v in given.items() if v is not None], names=PLACE_OPTION_NAMES)
    ws = Workspace(workspace)
    question = PlacementQuestion(
        facility=facility, model=model, limit="p" if budget is None else "budget", p=p, budget_wan=budget,
        site_cost_wan=site_cost, minutes=minutes, demand=demand, candidates=candidates,
        keep_existing=not ignore_existing, time_limit_s=time_limit, new_capacity_t=new_capacity_t,
        split_demand=not no_split, decay=decay, beta=beta, target_share=target_share, curve_k=curve_k)
    base = None
    t0 = time.perf_counter()
    graph = scenarios.road_graph(ws, scenario=scenario_name) if scenario_name is not None else None
    if scenario_name is None:
        outcome = services.plan(ws, question, graph=graph)
    else:
        # --time-limit covers both answers: the scenario's gets half, the base network's the rest.
        outcome = services.plan(ws, replace(question, time_limit_s=time_limit / 2), graph=graph)
        left = max(0.05, time_limit - (time.perf_counter() - t0))
        base = services.plan(ws, replace(question, time_limit_s=left))
    if as_json:
        payload = outcome.to_dict()
        if base is not None:
            payload["scenario"] = scenario_name
            payload["base_network"] = {k: v for k, v in base.to_dict().items() if k in ("totals", "sites", "solver")}
        click.echo(jsonout.dumps(payload, indent=2))
        return
    if base is not None:
        _echo_base_difference(base.to_dict(), outcome.to_dict(), scenario_name, minutes)
    d = outcome.to_dict()
    from .network_cmds import echo_estimate

    echo_estimate(d.get("estimate"))
    s = d["solver"]
    from planner.models import MODELS

    from web.services.labels import SOLVER_STATUS_LABELS, code_label, demand_text
    from web.services.netreasons import echo_lines, reason_text

    gettext = cli_gettext()
    label = MODELS[model].label(cli_lang()) if model in MODELS else model
    status = code_label(SOLVER_STATUS_LABELS, s["status"], gettext)
    click.echo(say(f"{label}: {status}, objective {_num(s['objective'], ',.1f')}, "
                   f"gap {_num(s['gap'], '.2%')}, {s['seconds']:.2f} s",
                   f"{label}：{status}，目标值 {_num(s['objective'], ',.1f')}，"
                   f"差距 {_num(s['gap'], '.2%')}，用时 {s['seconds']:.2f} 秒"))
    # the demand and the target in words of the report language, never in the spec's syntax
    click.echo(gettext("demand: %(what)s", what=demand_text(outcome.demand, gettext, cli_lang())))
    if target_share is not None and minutes is not None:
        click.echo(gettext("target: the fewest sites covering %(share)s of the demand within %(minutes)s min",
                           share=f"{target_share:.0%}", minutes=f"{minutes:g}"))
    t = d["totals"]
    if minutes is not None:
        click.echo(say(f"demand within {minutes:g} min: {t['covered_before']:,.0f} → {t['covered_after']:,.0f} "
                       f"of {t['demand']:,.0f}",
                       f"{minutes:g} 分钟内的需求：{t['covered_before']:,.0f} → {t['covered_after']:,.0f}"
                       f"（共 {t['demand']:,.0f}）"))
    for site in d["sites"]:
        tag = say("existing", "现有") if site["fixed"] else say("NEW", "新建")
        served, loss = _num(site["demand_served"], ",.0f"), _num(site["loss_if_removed"], ",.0f")
        runner = site.get("runner_up")
        click.echo(say(f"  [{tag}] {site['name']}: serves {served} ({count_en(site['demand_count'], 'village')}), "
                       f"loss if removed {loss}" + (f"; runner-up {runner}" if runner else ""),
                       f"  [{tag}] {site['name']}：服务 {served}（{site['demand_count']} 个村），"
                       f"去掉后损失 {loss}" + (f"；次优 {runner}" if runner else "")))
    if d["unreachable"]:
        names = say(", ", "、").join(f"{u['village_name']}{say(' (', '（')}{reason_text(u['reason'], gettext)}"
                                    f"{say(')', '）')}"
                                    for u in d["unreachable"][:10])
        click.echo(say(f"{count_en(len(d['unreachable']), 'village')} cannot be served: {names}",
                       f"{len(d['unreachable'])} 个村无法服务：{names}"))
    for line in echo_lines([{**site, "role": "site"} for site in d.get("off_network_sites", [])], gettext):
        click.echo(line)
    if d.get("curve"):
        _echo_curve(d["curve"], False)


def _echo_curve(curve: dict, as_json: bool) -> None:
    """The coverage curve as a table (k, covered, share, marginal gain, sites) or JSON."""
    if as_json:
        click.echo(jsonout.dumps(curve, indent=2))
        return
    from web.services.labels import SOLVER_STATUS_LABELS, code_label

    gettext = cli_gettext()
    click.echo(say(f"coverage curve within {curve['radius_min']:g} min (total demand {curve['total']:,.1f}); "
                   "each row is that k's own optimum:",
                   f"{curve['radius_min']:g} 分钟覆盖曲线（需求合计 {curve['total']:,.1f}）；每行都是该 k 的最优解："))
    header = ["k", say("budget", "预算"), say("covered", "覆盖"), say("share", "占比"), say("gain", "增量"),
              say("gain%", "增量%"), say("status", "状态"), say("sites", "选址")]
    rows = []
    for pt in curve["points"]:
        names = pt.get("site_names") or pt["sites"]
        rows.append([str(pt["k"]), _num(pt["budget_wan"], ".1f"), f"{pt['covered']:,.1f}", f"{pt['share']:.1%}",
                     f"{pt['gain']:,.1f}", f"{pt['gain_share']:.1%}", code_label(SOLVER_STATUS_LABELS, pt["status"],
                                                                                   gettext),
                     say(", ", "、").join(str(v) for v in names)])
    widths = [max(text_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        click.echo("  " + "  ".join(pad(v, w, right=i < 6) for i, (v, w) in enumerate(zip(r, widths))).rstrip())


def _echo_base_difference(base: dict, scen: dict, name: str, minutes) -> None:
    """One block saying how the plan differs on the scenario's network."""
    def new_sites(d):
        return [s["name"] for s in d["sites"] if not s["fixed"]]

    click.echo(say(f"scenario {name}:", f"路网情景 {name}："))
    click.echo(say(f"  new sites on the base network: {', '.join(new_sites(base)) or '-'}",
                   f"  基准路网新址：{'、'.join(new_sites(base)) or '-'}"))
    click.echo(say(f"  new sites in the scenario: {', '.join(new_sites(scen)) or '-'}",
                   f"  情景新址：{'、'.join(new_sites(scen)) or '-'}"))
    if minutes is not None:
        tb, ts = base["totals"], scen["totals"]
        click.echo(say(f"  demand within {minutes:g} min: base {tb['covered_after']:,.0f} → "
                       f"scenario {ts['covered_after']:,.0f} of {ts['demand']:,.0f}",
                       f"  {minutes:g} 分钟内需求：基准 {tb['covered_after']:,.0f} → "
                       f"情景 {ts['covered_after']:,.0f}（共 {ts['demand']:,.0f}）"))
    click.echo("")
