"""Typed errors of the application layer (workspace settings and contents; see :mod:`geo.errors`)."""
from __future__ import annotations

from geo.errors import Conflict, InvalidInput, NotFound, Unavailable

__all__ = ["BadSetting", "NoRoads", "UnknownLayer", "UnknownFacility", "OutputSuffix", "WorkspaceExists"]


class BadSetting(InvalidInput):
    """A workspace setting (workspace meta, e.g. ``network.speed_table``) that cannot be used.

    Raised when the setting is read, before any analysis: nothing falls back silently.
    """

    code = "setting.invalid"
    en = "Workspace setting {setting} is invalid: {reason}"
    zh = "工作空间设置 {setting} 无效：{reason}"


class NoRoads(Unavailable):
    """The workspace has no roads, so there is no road network to answer on."""

    code = "network.no_roads"
    en = "The workspace has no roads: import a roads layer first."
    zh = "工作空间中没有道路：请先导入道路图层。"


class UnknownLayer(InvalidInput):
    """A layer name that is not one of the expected layers."""

    code = "layer.unknown"
    en = "{layer} is not a {role} layer; expected one of {expected}"
    zh = "{layer} 不是可用的图层（{role}）；可用：{expected}"


class UnknownFacility(NotFound):
    """A facility id that is not in its layer."""

    code = "facility.not_found"
    en = "No facility with id {id} in {layer}."
    zh = "{layer} 中没有编号为 {id} 的设施。"


class OutputSuffix(InvalidInput):
    """An output file named with a suffix the command does not write."""

    code = "output.suffix"
    en = "{path}: the output must end in {expected}"
    zh = "{path}：输出文件名须以 {expected} 结尾"


class WorkspaceExists(Conflict):
    """A new workspace would replace an existing file without ``--force``."""

    code = "workspace.exists"
    en = "{path} already exists; pass --force to replace it"
    zh = "{path} 已存在；要替换它请加 --force"
