"""The placement models, once: name, solver, sense, what they need, labels in zh/en.

Every list of models (the planning form, ``ruralplan place/solve``, the placement glue,
the bound's name on the page) reads :data:`MODELS`; nothing keeps its own copy.

Sources: p-median (Hakimi 1964; ReVelle & Swain 1970), MCLP (Church & ReVelle 1974),
LSCP (Toregas et al. 1971), p-center (Hakimi 1965), capacitated MCLP (Current & Storbeck 1988).
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping

from planner.errors import InvalidParameter

__all__ = ["PlacementModel", "MODELS", "MODEL_NAMES", "get_model", "solver_steps"]


@dataclass(frozen=True)
class PlacementModel:
    """One location-allocation model.

    ``sense`` is ``"max"`` when the solver maximises its objective (its bound is an upper
    bound) and ``"min"`` otherwise; ``needs_cutoff``: a coverage cutoff in minutes is
    required; ``takes_p``: the number of new sites (or a budget) bounds the plan.
    """

    name: str
    #: The solver function's name in :mod:`planner.locate` (imported on first use, so the
    #: registry is cheap to import for a CLI's ``--help``).
    solver: str
    sense: str
    needs_cutoff: bool
    takes_p: bool
    en: str
    zh: str
    about_en: str
    about_zh: str

    @property
    def solve(self) -> Callable:
        import planner.locate

        return getattr(planner.locate, self.solver)

    @property
    def maximises(self) -> bool:
        return self.sense == "max"

    def label(self, lang: str) -> str:
        return self.zh if str(lang).startswith("zh") else self.en

    def about(self, lang: str) -> str:
        return self.about_zh if str(lang).startswith("zh") else self.about_en


#: The models in the order the planning form lists them.
MODELS: Mapping[str, PlacementModel] = MappingProxyType({m.name: m for m in (
    PlacementModel("mclp", "solve_mclp", "max", True, True, "Maximal coverage", "最大覆盖",
                   "Cover as much demand as possible within the travel-time cutoff with p new sites.",
                   "新建 p 处，使通行时间阈值内覆盖的需求最多。"),
    PlacementModel("pmedian", "solve_pmedian", "min", False, True, "p-median", "p-中值",
                   "Least total travel time, weighted by demand, with p new sites.",
                   "新建 p 处，使按需求加权的总通行时间最短。"),
    PlacementModel("lscp", "solve_lscp", "min", True, False, "Set covering", "集合覆盖",
                   "Fewest new sites so that all reachable demand is within the cutoff.",
                   "用最少的新建点，使所有可达需求都在阈值之内。"),
    PlacementModel("pcenter", "solve_pcenter", "min", False, True, "p-center", "p-中心",
                   "Make the longest trip of any village as short as possible with p new sites.",
                   "新建 p 处，使最远行政村的通行时间尽可能短。"),
    PlacementModel("cmclp", "solve_cmclp", "max", True, True, "Capacitated coverage", "带容量覆盖",
                   "Like maximal coverage, but each store takes at most its capacity in tonnes.",
                   "同最大覆盖，但每座冷库最多接收其容量（吨）。"),
    PlacementModel("attendance", "solve_attendance", "max", True, True, "Maximize attendance", "最大化使用量",
                   "Most expected use with p new sites, when farmers use a site less the farther it is "
                   "(distance decay up to the cutoff).",
                   "新建 p 处，使按距离衰减计算的预期使用量最大（越远使用越少，阈值外为 0）。"),
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


def solver_steps(method: str | None) -> dict:
    """A solver's ``method`` code (``greedy+interchange+lagrangian (note)``) as a structure:
    ``{"steps": ["greedy", "interchange", "lagrangian"], "note": "note" or None}`` — read
    here once, so pages and exports name the steps without taking the code apart."""
    body, _sep, note = str(method or "").partition(" (")
    return {"steps": [part for part in body.split("+") if part], "note": note[:-1] if note.endswith(")") else
            (note or None)}
