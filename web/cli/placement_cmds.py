"""Placement commands: ``solve`` (a model on a cost matrix) and ``place`` (on the workspace)."""
from __future__ import annotations

import json

import click

from .common import workspace_option

MODELS = ("pmedian", "mclp", "lscp", "pcenter", "cmclp")


def register(group: click.Group) -> None:
    group.add_command(solve)
    group.add_command(place)


def _load(path, name):
    import numpy as np

    if path is None:
        return None
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(f"{path}: not a readable .npy array ({exc})", param_hint=name) from exc


def _num(value, spec: str) -> str:
    """Format a number from a JSON dict; None (an infinite or missing value) prints as "n/a"."""
    return "n/a" if value is None else format(value, spec)


def _indices(text):
    if not text:
        return ()
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected comma-separated site indices, e.g. 0,5", param_hint="--fixed")


@click.command()
@click.argument("model", type=click.Choice(MODELS))
@click.option("--cost", "cost_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="n×m travel-cost matrix (.npy); inf = unreachable.")
@click.option("--weights", "weights_path", type=click.Path(exists=True, dir_okay=False), help="Demand weights (.npy).")
@click.option("--p", type=int, default=None,
              help="Number of new sites (pmedian, mclp, cmclp: optional with --budget, then as many as it affords).")
@click.option("--radius", type=float, default=None, help="Coverage radius (same unit as the costs).")
@click.option("--capacity", "capacity_path", type=click.Path(exists=True, dir_okay=False), help="Site capacities (.npy).")
@click.option("--demand", "demand_path", type=click.Path(exists=True, dir_okay=False), help="Demand amounts (.npy).")
@click.option("--no-split", is_flag=True, help="cmclp: each demand point served by one site only.")
@click.option("--cost-per-site", "site_cost_path", type=click.Path(exists=True, dir_okay=False),
              help="Cost of opening each site (.npy, 万元).")
@click.option("--budget", type=float, default=None, help="Total budget (万元).")
@click.option("--fixed", default="", help="Existing sites, always open: comma-separated column indices.")
@click.option("--time-limit", type=float, default=60.0, show_default=True, help="Seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
def solve(model, cost_path, weights_path, p, radius, capacity_path, demand_path, no_split, site_cost_path, budget,
          fixed, time_limit, as_json) -> None:
    """Solve a location model on a plain cost matrix."""
    from planner.locate import solve as solve_model

    kwargs = {"fixed": _indices(fixed), "time_limit_s": time_limit}
    if p is not None:
        kwargs["p"] = p
    if radius is not None:
        kwargs["radius_min"] = radius
    if weights_path:
        kwargs["weights"] = _load(weights_path, "--weights")
    if capacity_path:
        kwargs["capacity_t"] = _load(capacity_path, "--capacity")
    if demand_path:
        kwargs["demand_t"] = _load(demand_path, "--demand")
    if model == "cmclp":
        kwargs["split"] = not no_split
    if site_cost_path:
        kwargs["site_cost_wan"] = _load(site_cost_path, "--cost-per-site")
    if budget is not None:
        kwargs["budget_wan"] = budget
    try:
        result = solve_model(model, _load(cost_path, "--cost"), **kwargs)
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from exc
    full = result.to_dict()
    summary = {
        "model": result.model, "method": result.method, "status": result.status,
        "objective": full["objective"], "bound": full["bound"], "gap": full["gap"],
        "sites": [s.site for s in result.sites], "fixed": [s.site for s in result.sites if s.fixed],
        "seconds": full["seconds"], "uncovered": list(result.uncovered), "unreachable": list(result.unreachable),
    }
    click.echo(json.dumps(full if as_json else summary, ensure_ascii=False, indent=None if as_json else 2))


@click.command()
@workspace_option()
@click.option("--facility", default="cold_storage", show_default=True,
              type=click.Choice(["cold_storage", "industry_bases", "relocation_settlements"]),
              help="Facility type to place (existing ones are kept as fixed).")
@click.option("--model", type=click.Choice(MODELS), default="mclp", show_default=True)
@click.option("--p", type=int, default=None, help="Number of new sites.")
@click.option("--minutes", type=float, default=None, help="Coverage cutoff (mclp, lscp, cmclp).")
@click.option("--weight", "demand", default="population", show_default=True,
              help="Demand weight: population | households | monitored | villages | produce:apple,hawthorn | a mix "
                   "like population*0.5+monitored*100.")
@click.option("--candidates", default="towns", show_default=True,
              help="Candidate sites: towns | industry_bases | network | proposals.")
@click.option("--budget", type=float, default=None, help="Budget (万元); needs --site-cost or candidates with costs.")
@click.option("--site-cost", type=float, default=None, help="Cost of one new site (万元).")
@click.option("--new-capacity-t", type=float, default=2000.0, show_default=True,
              help="cmclp: capacity of a new site (tonnes).")
@click.option("--no-split", is_flag=True, help="cmclp: each village served by one site only.")
@click.option("--ignore-existing", is_flag=True, help="Plan from scratch instead of keeping existing facilities.")
@click.option("--time-limit", type=float, default=10.0, show_default=True, help="Seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def place(workspace, facility, model, p, minutes, demand, candidates, budget, site_cost, new_capacity_t, no_split,
          ignore_existing, time_limit, as_json) -> None:
    """Suggest where new facilities go, on the workspace's road network."""
    from layers.store import Workspace
    from web import services

    ws = Workspace(workspace)
    try:
        outcome = services.plan(ws, facility=facility, model=model, p=p, minutes=minutes, demand=demand,
                                candidates=candidates, budget_wan=budget, site_cost_wan=site_cost,
                                new_capacity_t=new_capacity_t, split_demand=not no_split,
                                keep_existing=not ignore_existing, time_limit_s=time_limit)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(outcome.to_dict(), ensure_ascii=False, indent=2))
        return
    d = outcome.to_dict()
    from .network_cmds import echo_estimate

    echo_estimate(d.get("estimate"))
    s = d["solver"]
    click.echo(f"{model} ({outcome.demand}): {s['status']}, objective {_num(s['objective'], '.1f')}, "
               f"gap {_num(s['gap'], '.2%')}, {s['seconds']:.2f} s")
    t = d["totals"]
    if minutes is not None:
        click.echo(f"demand within {minutes:g} min: {t['covered_before']:.0f} → {t['covered_after']:.0f} "
                   f"of {t['demand']:.0f}")
    for site in d["sites"]:
        tag = "existing" if site["fixed"] else "NEW"
        runner = f"; runner-up {site['runner_up']}" if site.get("runner_up") else ""
        click.echo(f"  [{tag}] {site['name']}: serves {_num(site['demand_served'], '.0f')} "
                   f"({site['demand_count']} villages), loss if removed {_num(site['loss_if_removed'], '.0f')}"
                   f"{runner}")
    from web.i18n import catalog_gettext
    from web.netreasons import echo_lines, reason_text

    from .common import cli_lang

    gettext = catalog_gettext(cli_lang())
    if d["unreachable"]:
        click.echo(f"{len(d['unreachable'])} villages cannot be served: "
                   + ", ".join(f"{u['village_name']} ({reason_text(u['reason'], gettext)})"
                               for u in d["unreachable"][:10]))
    for line in echo_lines([{**site, "role": "site"} for site in d.get("off_network_sites", [])], gettext):
        click.echo(line)
