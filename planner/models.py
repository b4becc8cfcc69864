"""The placement models, once: name, solver, sense, what they need, labels in zh/en.

Every list of models (the planning form, ``ruralplan place/solve``, the placement glue,
the bound's name on the page) reads :data:`MODELS`; nothing keeps its own copy.

Sources: p-median (Hakimi 1964; ReVelle & Swain 1970), MCLP (Church & ReVelle 1974),
LSCP (Toregas et al. 1971), p-center (Hakimi 1965), capacitated MCLP (Current & Storbeck 1988).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from planner.errors import InvalidParameter, OptionMissing, OptionNotTaken

__all__ = ["PlacementModel", "MODELS", "MODEL_NAMES", "OPTIONS", "get_model", "check_options", "solve_model",
           "solver_steps"]

#: The user-facing options of the solvers (keywords of :func:`planner.locate.solve`); every
#: model takes ``fixed`` and ``time_limit_s`` besides, and the tuning keywords of its solver.
OPTIONS = ("weights", "p", "radius_min", "demand_t", "capacity_t", "split", "budget_wan", "site_cost_wan",
           "decay", "beta", "target_share")


@dataclass(frozen=True)
class PlacementModel:
    """One location-allocation model.

    ``sense`` is ``"max"`` when the solver maximises its objective (its bound is an upper
    bound) and ``"min"`` otherwise. ``options``: which of :data:`OPTIONS` the solver takes;
    ``required``: those it cannot do without (an entry that is a tuple: one of them); both are
    read by :func:`check_options`, so no caller keeps its own list. ``needs_cutoff`` (a
    coverage cutoff in minutes is required) and ``takes_p`` (the number of new sites, or a
    budget, bounds the plan) follow from them.
    """

    name: str
    #: The solver function's name in :mod:`planner.locate` (imported on first use, so the
    #: registry is cheap to import for a CLI's ``--help``).
    solver: str
    sense: str
    en: str
    zh: str
    about_en: str
    about_zh: str
    options: frozenset = frozenset()
    required: tuple = ()

    @property
    def solve(self) -> Callable:
        import planner.locate

        return getattr(planner.locate, self.solver)

    @property
    def needs_cutoff(self) -> bool:
        return "radius_min" in self.required

    @property
    def takes_p(self) -> bool:
        return "p" in self.options

    @property
    def maximises(self) -> bool:
        return self.sense == "max"

    def label(self, lang: str) -> str:
        return self.zh if str(lang).startswith("zh") else self.en

    def about(self, lang: str) -> str:
        return self.about_zh if str(lang).startswith("zh") else self.about_en


#: The models in the order the planning form lists them.
MODELS: Mapping[str, PlacementModel] = MappingProxyType({m.name: m for m in (
    PlacementModel("mclp", "solve_mclp", "max", "Maximal coverage", "最大覆盖",
                   "Cover as much demand as possible within the travel-time cutoff with p new sites.",
                   "新建 p 处，使通行时间阈值内覆盖的需求最多。",
                   options=frozenset({"weights", "p", "radius_min", "site_cost_wan", "budget_wan"}),
                   required=("radius_min", ("p", "budget_wan"))),
    PlacementModel("pmedian", "solve_pmedian", "min", "p-median", "p-中值",
                   "Least total travel time, weighted by demand, with p new sites.",
                   "新建 p 处，使按需求加权的总通行时间最短。",
                   options=frozenset({"weights", "p", "site_cost_wan", "budget_wan"}), required=(("p", "budget_wan"),)),
    PlacementModel("lscp", "solve_lscp", "min", "Set covering", "集合覆盖",
                   "Fewest new sites so that all reachable demand is within the cutoff.",
                   "用最少的新建点，使所有可达需求都在阈值之内。",
                   options=frozenset({"weights", "radius_min", "site_cost_wan", "target_share"}),
                   required=("radius_min",)),
    PlacementModel("pcenter", "solve_pcenter", "min", "p-center", "p-中心",
                   "Make the longest trip of any village as short as possible with p new sites.",
                   "新建 p 处，使最远行政村的通行时间尽可能短。",
                   options=frozenset({"weights", "p"}), required=("p",)),
    PlacementModel("cmclp", "solve_cmclp", "max", "Capacitated coverage", "带容量覆盖",
                   "Like maximal coverage, but each store takes at most its capacity in tonnes.",
                   "同最大覆盖，但每座冷库最多接收其容量（吨）。",
                   options=frozenset({"p", "radius_min", "demand_t", "capacity_t", "split", "site_cost_wan",
                                      "budget_wan"}),
                   required=("radius_min", "demand_t", "capacity_t", ("p", "budget_wan"))),
    PlacementModel("attendance", "solve_attendance", "max", "Maximize attendance", "最大化使用量",
                   "Most expected use with p new sites, when farmers use a site less the farther it is "
                   "(distance decay up to the cutoff).",
                   "新建 p 处，使按距离衰减计算的预期使用量最大（越远使用越少，阈值外为 0）。",
                   options=frozenset({"weights", "p", "radius_min", "decay", "beta", "site_cost_wan", "budget_wan"}),
                   required=("radius_min", ("p", "budget_wan"))),
)})
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)


def get_model(name: str) -> PlacementModel:
    """The model called ``name``; :class:`planner.errors.InvalidParameter` otherwise."""
    try:
        return MODELS[name]
    except KeyError:
        names = ", ".join(MODEL_NAMES)
        raise InvalidParameter(name="model", value=name, expected_en=f"unknown model; expected one of {names}",
                               expected_zh=f"未知模型，可用 {names}") from None


def check_options(model: str, given: Iterable[str], *, names: Mapping[str, str] | None = None,
                  complete: bool = True) -> None:
    """Check that model ``model`` takes every option in ``given`` and gets every one it needs.

    Parameters
    ----------
    model : str
        A name of :data:`MODELS`.
    given : iterable of str
        The options the caller sets, as keys of :data:`OPTIONS` (others are ignored).
    names : mapping, optional
        The caller's name of each option (``{"radius_min": "--radius"}``), used in the
        message; default the key itself.
    complete : bool
        ``given`` is all the caller sets (check the required options too); False: a part of
        it, checked only for options the model does not take.

    Raises
    ------
    planner.errors.OptionNotTaken
        An option the model does not use (it would be silently meaningless).
    planner.errors.OptionMissing
        An option the model cannot do without.
    """
    m = get_model(model)
    names = names or {}
    given = set(given)

    def name(key):
        return names.get(key, key)

    for key in OPTIONS:
        if key in given and key not in m.options:
            accepted = ", ".join(name(k) for k in OPTIONS if k in m.options) or "-"
            raise OptionNotTaken(model=model, model_en=m.en, model_zh=m.zh, option=name(key), accepted=accepted)
    for need in m.required if complete else ():
        alternatives = (need,) if isinstance(need, str) else tuple(need)  # ("p", "budget_wan"): either
        if not given.intersection(alternatives):
            raise OptionMissing(model=model, model_en=m.en, model_zh=m.zh,
                                option_en=" or ".join(name(k) for k in alternatives),
                                option_zh=" 或 ".join(name(k) for k in alternatives))


def solve_model(model: str, cost, **kwargs):
    """:func:`planner.locate.solve` with the options checked against the registry first.

    Raises
    ------
    planner.errors.OptionNotTaken, planner.errors.OptionMissing
        An option of :data:`OPTIONS` the model does not take or needs (:func:`check_options`):
        a typed error naming it, never the solver's TypeError.
    """
    from planner.locate import solve

    check_options(model, [k for k, v in kwargs.items() if v is not None])
    return solve(model, cost, **kwargs)


def solver_steps(method: str | None) -> dict:
    """A solver's ``method`` code (``greedy+interchange+lagrangian (note)``) as a structure:
    ``{"steps": ["greedy", "interchange", "lagrangian"], "note": "note" or None}`` — read
    here once, so pages and exports name the steps without taking the code apart."""
    body, _sep, note = str(method or "").partition(" (")
    return {"steps": [part for part in body.split("+") if part], "note": note[:-1] if note.endswith(")") else
            (note or None)}
