"""Which options each location model takes comes from the registry (planner.models): an
option a model does not use, or one it needs and lacks, is a typed error naming the
caller's option (CLI: exit 2, in the report language), never a TypeError or an internal name."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
from click.testing import CliRunner

from planner.errors import OptionMissing, OptionNotTaken
from planner.models import MODELS, OPTIONS, check_options
from web.cli import main
from web.cli.placement_cmds import PLACE_OPTION_NAMES, SOLVE_OPTION_NAMES

#: A value for each ``solve`` option (file options get a .npy in the fixture).
VALUES = {"--p": "2", "--radius": "5", "--budget": "20", "--beta": "0.5", "--decay": "power",
          "--target-share": "0.5"}
FILES = {"--weights": "w.npy", "--capacity": "cap.npy", "--demand": "d.npy", "--cost-per-site": "sc.npy"}


@pytest.fixture
def npy(tmp_path):
    np.save(tmp_path / "c.npy", np.array([[1.0, 9.0, 4.0], [8.0, 2.0, 7.0], [6.0, 5.0, 3.0], [2.0, 8.0, 9.0]]))
    for name in ("w.npy", "d.npy"):
        np.save(tmp_path / name, np.ones(4))
    np.save(tmp_path / "cap.npy", np.full(3, 5.0))
    np.save(tmp_path / "sc.npy", np.full(3, 10.0))
    return tmp_path


def run(lang, *args):
    return CliRunner(env={"RURALPLAN_LANG": lang}).invoke(main, [str(a) for a in args], catch_exceptions=False)


def option_args(option, folder):
    if option == "--no-split":
        return [option]
    return [option, folder / FILES[option] if option in FILES else VALUES[option]]


def test_the_registry_agrees_with_the_solvers_signatures():
    for m in MODELS.values():
        params = inspect.signature(m.solve).parameters
        keywords = {"cutoff_min": "radius_min"}  # attendance's name of the cutoff (solve() maps it)
        taken = {keywords.get(k, k) for k in params} & set(OPTIONS)
        assert taken == set(m.options), m.name
        needed = {keywords.get(k, k) for k, v in params.items() if v.default is inspect.Parameter.empty} - {"cost"}
        flat = {k for need in m.required for k in ((need,) if isinstance(need, str) else need)}
        assert needed <= flat, m.name


NOT_TAKEN = [(name, key) for name, m in MODELS.items() for key in OPTIONS if key not in m.options]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("model,key", NOT_TAKEN)
def test_solve_refuses_an_option_the_model_does_not_use(npy, model, key, lang):
    option = SOLVE_OPTION_NAMES[key]
    # everything the model needs, so the one fault is the option it does not use
    needs = {"radius_min": ["--radius", 5], "demand_t": ["--demand", npy / "d.npy"],
             "capacity_t": ["--capacity", npy / "cap.npy"], "p": ["--p", 1]}
    base = [a for need in MODELS[model].required for a in needs[need if isinstance(need, str) else "p"]]
    result = run(lang, "solve", model, "--cost", npy / "c.npy", *base, *option_args(option, npy))
    assert result.exit_code == 2, result.output
    assert option in result.output and "unexpected keyword" not in result.output
    assert ("不使用" in result.output) == (lang == "zh") and ("does not use" in result.output) == (lang == "en")
    assert MODELS[model].label(lang) in result.output


MISSING = [("pmedian", [], "--p"), ("pcenter", [], "--p"), ("mclp", ["--p", 1], "--radius"),
           ("lscp", [], "--radius"), ("attendance", ["--p", 1], "--radius"), ("cmclp", ["--p", 1, "--radius", 5],
                                                                                "--demand"),
           ("mclp", ["--radius", 5], "--budget")]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("model,args,option", MISSING)
def test_solve_names_a_missing_option(npy, model, args, option, lang):
    result = run(lang, "solve", model, "--cost", npy / "c.npy", *args)
    assert result.exit_code == 2, result.output
    assert option in result.output and "demand_t" not in result.output and "radius_min" not in result.output
    assert ("需要" in result.output) == (lang == "zh") and ("needs" in result.output) == (lang == "en")


def test_cmclp_with_all_it_needs_solves(npy):
    result = run("en", "solve", "cmclp", "--cost", npy / "c.npy", "--p", 1, "--radius", 5, "--demand",
                 npy / "d.npy", "--capacity", npy / "cap.npy", "--no-split")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("model,args,option", [
    ("lscp", ["--minutes", 30, "--budget", 100, "--site-cost", 10], "--budget"),
    ("pcenter", ["--budget", 100, "--site-cost", 10], "--budget"),
    ("pmedian", ["--p", 2, "--beta", 2], "--beta"),
    ("mclp", ["--p", 2, "--minutes", 30, "--target-share", 0.5], "--target-share"),
    ("mclp", ["--p", 2], "--minutes")])
def test_place_names_the_option_too(tmp_path, model, args, option):
    ws = tmp_path / "ws.gpkg"
    ws.write_bytes(b"")  # checked before the workspace is opened
    result = run("zh", "place", "-w", ws, "--model", model, *args)
    assert result.exit_code == 2, result.output
    assert option in result.output
    assert set(PLACE_OPTION_NAMES) <= set(OPTIONS)


def test_the_planning_form_refuses_a_budget_for_p_center():
    from web.services.planning import PlacementQuestion

    with pytest.raises(OptionNotTaken) as err:
        PlacementQuestion.from_args({"model": "pcenter", "limit": "budget", "budget": "100"})
    assert err.value.code == "placement.option_not_taken" and "budget" in err.value.message("zh")
    assert PlacementQuestion.from_args({"model": "mclp", "limit": "budget", "budget": "100",
                                          "minutes": "30"}).budget_wan == 100


def test_the_dispatcher_raises_typed_errors_with_the_solvers_names():
    from planner.models import solve_model as solve

    cost = np.ones((2, 2))
    with pytest.raises(OptionNotTaken):
        solve("pmedian", cost, p=1, radius_min=3.0)
    with pytest.raises(OptionMissing):
        solve("cmclp", cost, p=1, radius_min=3.0, capacity_t=np.ones(2))
    check_options("mclp", ["radius_min", "budget_wan"])  # p or a budget
