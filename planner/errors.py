"""Typed errors raised by :mod:`planner` (see :mod:`geo.errors` for the contract)."""
from __future__ import annotations

from geo.errors import InvalidInput

__all__ = ["TargetUnreachable", "ZeroDemand"]


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
