"""Checks ``ruralplan batch`` makes before it runs: one county must not be counted twice.

A folder of county workspaces often holds a copy (``县名 - 副本.gpkg``, last year's file):
two workspaces with the same county code (``county_code`` in the workspace metadata, the
6-digit adcode) would put the county's villages, people and produce twice into the
combined table and its provincial totals.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from geo.errors import Conflict


class DuplicateCounties(Conflict):
    """Two or more workspaces of the batch are one county (or one file listed twice)."""

    code = "batch.duplicate_counties"
    en = ("{n} counties appear in more than one workspace ({detail}); the combined table would count them twice. "
          "Remove the copies, or pass --allow-duplicates to keep each labelled by its file")
    zh = ("{n} 个县出现在多个工作空间中（{detail}），汇总表会重复计算。请删除副本，"
          "或加 --allow-duplicates 按文件分别列出")


class SameFileTwice(Conflict):
    """The same workspace file is listed twice: its rows would be identical and share one label."""

    code = "batch.same_file_twice"
    en = "The same workspace is listed more than once: {detail}"
    zh = "同一工作空间被列出多次：{detail}"


@dataclass(frozen=True)
class Duplicate:
    """Workspaces sharing ``key``: a county code, or (``same_file``) one file by several paths."""

    key: str
    paths: tuple[Path, ...]
    same_file: bool = False

    def text(self) -> str:
        return f"{self.key}: {' = '.join(str(p) for p in self.paths)}"


def find_duplicates(paths: Sequence[str | os.PathLike]) -> list[Duplicate]:
    """Workspaces of ``paths`` that are one file (listed twice, by any path) or one county
    (the same ``county_code``), in the order first seen.

    A file that is not a readable workspace, or has no county code, is left to the batch
    (it fails there with its own message) and is never a duplicate by code.
    """
    from layers.store import Workspace

    by_file: dict[str, list[Path]] = {}
    for p in paths:
        by_file.setdefault(os.path.realpath(p), []).append(Path(p))
    out = [Duplicate(str(ps[0]), tuple(ps), same_file=True) for ps in by_file.values() if len(ps) > 1]
    by_code: dict[str, list[Path]] = {}
    for ps in by_file.values():
        try:
            code = Workspace(ps[0]).require().meta().get("county_code")
        except Exception:  # noqa: BLE001 — a broken file is the batch's to report, per county
            continue
        if code:
            by_code.setdefault(str(code), []).append(ps[0])
    out += [Duplicate(code, tuple(ps)) for code, ps in by_code.items() if len(ps) > 1]
    return out


def check_duplicates(found: Sequence[Duplicate], *, allow_duplicates: bool = False) -> None:
    """Raise when the duplicates ``found`` by :func:`find_duplicates` forbid the batch.

    Raises
    ------
    SameFileTwice
        One file is listed twice (always: its rows could not be told apart).
    DuplicateCounties
        Two workspaces share a county code, unless ``allow_duplicates`` (then each county's
        rows stay labelled by their file in the combined table's ``workspace`` column).
    """
    same = [d for d in found if d.same_file]
    if same:
        raise SameFileTwice(detail="; ".join(d.text() for d in same))
    if found and not allow_duplicates:
        raise DuplicateCounties(n=len(found), detail="; ".join(d.text() for d in found))
