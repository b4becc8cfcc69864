"""Typed errors the planner raises for conditions a user can fix (see :mod:`geo.errors`).

Each class carries a stable ``code``, its parameters and zh/en templates; adapters
translate them once (HTTP status + message, CLI exit 2 + message). They subclass
``ValueError`` through :class:`geo.errors.InvalidInput`, so plain library callers that
catch ``ValueError`` keep working.
"""
from __future__ import annotations

from geo.errors import InvalidInput

__all__ = ["InvalidParameter", "InvalidSpeed", "UnknownCommodity", "InvalidDemand", "TooFewCandidates",
           "NoCandidates", "CapacityMissing", "BudgetNeedsCosts", "ZeroDemand", "TargetUnreachable",
           "OptionNotTaken", "OptionMissing", "InvalidModelInput", "invalid_input"]


class InvalidParameter(InvalidInput):
    """A parameter outside its domain: ``name``, ``value`` and what is expected."""

    code = "planner.invalid_parameter"
    en = "{name} = {value} is not valid: {expected}"
    zh = "{name} = {value} 无效：{expected}"


class InvalidModelInput(InvalidInput):
    """An input array or option of a location model or analysis outside its domain (shape,
    NaN, negative, out-of-range index). ``detail``/``detail_zh`` say which and why; the
    English text is the one the models have always raised (``ValueError``, which this is)."""

    code = "planner.invalid_input"
    en = "{detail}"
    zh = "{detail_zh}"


def invalid_input(en: str, zh: str) -> InvalidModelInput:
    """An :class:`InvalidModelInput` with its English and Chinese text."""
    return InvalidModelInput(detail=en, detail_zh=zh)


class InvalidSpeed(InvalidInput):
    """A road speed (by road class, or the unpaved factor) that cannot be used."""

    code = "network.speed_invalid"
    en = "the speed of road class {road_class} must be a positive number of km/h (got {speed})"
    zh = "道路等级 {road_class} 的车速必须是大于 0 的千米/小时数（现为 {speed}）"


class UnknownCommodity(InvalidInput):
    """A commodity with no produce column in the villages layer."""

    code = "demand.unknown_commodity"
    en = "No produce figures for commodity {commodity} in the villages layer (available: {available})."
    zh = "行政村图层中没有农产品 {commodity} 的产量数据（现有：{available}）。"


class InvalidDemand(InvalidInput):
    """A demand-weight specification (``population*0.5+monitored*100``) that cannot be read."""

    code = "demand.invalid"
    en = "The demand weight “{spec}” is not valid: {reason}"
    zh = "需求权重“{spec}”无效：{reason}"


class TooFewCandidates(InvalidInput):
    """More new sites asked for than there are candidates."""

    code = "placement.too_few_candidates"
    en = "{p} new sites were asked for, but there are only {n} candidate sites."
    zh = "要求新建 {p} 处，但候选点只有 {n} 个。"


class NoCandidates(InvalidInput):
    """The candidate source holds no site."""

    code = "placement.no_candidates"
    en = "There are no candidate sites in this source ({source})."
    zh = "该来源（{source}）中没有候选点。"


class CapacityMissing(InvalidInput):
    """Capacitated coverage without a capacity for every site."""

    code = "placement.capacity_missing"
    en = "Capacitated coverage needs the capacity of every site (capacity_t, or a capacity for new sites)."
    zh = "带容量覆盖模型需要每个站点的容量（capacity_t，或新站点的容量）。"


class BudgetNeedsCosts(InvalidInput):
    """A budget-limited plan without per-site costs."""

    code = "placement.costs_missing"
    en = "A budget needs per-site costs (a cost per site, or a cost_wan column)."
    zh = "按预算规划需要每个站点的造价（单站造价或 cost_wan 字段）。"


class ZeroDemand(InvalidInput):
    """Every demand weight of a plan is zero: there is nothing to place facilities for.

    Parameters (at raise time): ``weight`` (the weight spec, e.g.
    ``produce:apple,hawthorn``), ``columns`` (the village columns it reads,
    comma-separated, each all 0 or empty), ``villages`` (how many villages).
    """

    code = "placement.zero_demand"
    en = ("No demand to plan for: the weight {weight} is 0 in all {villages} villages "
          "(columns {columns} are all 0 or empty). Fill in the figures or choose another weight.")
    zh = ("没有可规划的需求：需求权重 {weight} 在全部 {villages} 个行政村均为 0"
          "（字段 {columns} 全部为 0 或为空）。请先补充数据，或选择其他需求权重。")


class TargetUnreachable(InvalidInput):
    """A coverage target above what every candidate site together reaches.

    Parameters: ``target`` and ``best`` (shares, formatted), ``radius`` (minutes).
    """

    code = "placement.target_unreachable"
    en = ("A coverage of {target} within {radius} min cannot be reached: even with every candidate site "
          "open, only {best} of the demand is within {radius} min.")
    zh = "无法达到 {radius} 分钟内覆盖 {target} 的目标：即使启用全部候选点，{radius} 分钟内也只能覆盖 {best} 的需求。"


class OptionNotTaken(InvalidInput):
    """An option (``option``: the caller's name for it) the chosen model does not use.

    Parameters: ``model`` (name), ``model_en``/``model_zh`` (label), ``option``,
    ``accepted`` (the options the model takes, comma-separated).
    """

    code = "placement.option_not_taken"
    en = "The model {model_en} ({model}) does not use {option}: leave it out (it takes {accepted})."
    zh = "{model_zh}模型（{model}）不使用 {option}，请去掉该选项（可用：{accepted}）。"


class OptionMissing(InvalidInput):
    """An option (``option``: the caller's name for it) the chosen model cannot do without."""

    code = "placement.option_missing"
    en = "The model {model_en} ({model}) needs {option}."
    zh = "{model_zh}模型（{model}）需要 {option}。"
