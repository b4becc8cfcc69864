"""Matching village names to statistical codes when a file names the village instead.

Household lists, pairing tables and proposals often say ``石键村``, ``石键村委会`` or just
``石键`` where a 12-digit code is expected. :class:`VillageIndex` matches such names
against the workspace's villages layer:

1. the name as written (after NFKC and removing spaces) equals a village name;
2. otherwise both sides are compared without the usual suffixes (村民委员会, 村委会,
   居民委员会, 居委会, 社区, 村, 嘎查, 居), so ``石键村委会`` and ``石键`` find ``石键村``;
3. several villages of that name (two towns each with a 新庄村): the row's town decides;
   without a town, or when the town does not single one out, the name is *ambiguous*.

Ambiguous and unknown names are reported per row with the candidates; nothing is guessed.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geo.report import N_, Problem, add_limited, error, warning

__all__ = ["normalise_village_name", "normalise_town_name", "VillageIndex", "VillageMatch", "resolve_names"]

_CODE = re.compile(r"^\d{12}$")
_NUMERIC = re.compile(r"^[0-9.eE+\-]+$")
# Longest first: "村民委员会" before "村", "居民委员会" before "居".
_VILLAGE_SUFFIXES = ("村民委员会", "居民委员会", "村委会", "居委会", "村委", "社区", "嘎查", "村", "居")
_TOWN_SUFFIXES = ("人民政府", "街道办事处", "街道", "镇", "乡")


def _plain(text) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or "")))


def normalise_village_name(name) -> str:
    """``"石键村委会"``, ``"石键村"``, ``" 石键 "`` → ``"石键"`` (one suffix removed, never the whole name)."""
    text = _plain(name)
    for suffix in _VILLAGE_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def normalise_town_name(name) -> str:
    """``"东镇人民政府"``, ``"东镇"`` → ``"东"``."""
    text = _plain(name)
    for _ in range(2):  # "东镇人民政府" → "东镇" → "东"
        for suffix in _TOWN_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                break
    return text


@dataclass(frozen=True)
class VillageMatch:
    """The outcome for one name: ``status`` is ``"code"`` (already a code), ``"exact"``,
    ``"normalised"``, ``"by_town"``, ``"ambiguous"`` or ``"unmatched"``."""

    status: str
    code: str | None = None
    name: str | None = None
    town: str | None = None
    candidates: tuple[tuple[str, str, str], ...] = ()  # (code, name, town)

    @property
    def ok(self) -> bool:
        return self.code is not None


class VillageIndex:
    """Villages by name, for :meth:`match`.

    Parameters
    ----------
    villages : pandas.DataFrame
        With columns ``code``, ``name`` and ``town`` (the villages layer).
    """

    def __init__(self, villages: pd.DataFrame):
        self._exact: dict[str, list[tuple[str, str, str]]] = {}
        self._norm: dict[str, list[tuple[str, str, str]]] = {}
        self._codes: set[str] = set()
        if villages is None or len(villages) == 0:
            return
        towns = villages["town"] if "town" in villages else pd.Series([None] * len(villages))
        for code, name, town in zip(villages["code"], villages["name"], towns):
            if code is None or name is None or (isinstance(name, float) and np.isnan(name)):
                continue
            entry = (str(code), str(name), "" if town is None or town is pd.NA else str(town))
            self._codes.add(entry[0])
            self._exact.setdefault(_plain(name), []).append(entry)
            self._norm.setdefault(normalise_village_name(name), []).append(entry)

    def __len__(self) -> int:
        return len(self._codes)

    def match(self, name, town=None) -> VillageMatch:
        """Match one village name (``town`` optional, used only to break ties)."""
        text = _plain(name)
        if _CODE.match(text) or _NUMERIC.match(text):
            # a code, or a number that is no name (1.40823E+11): validation judges it
            return VillageMatch("code", code=text)
        status, found = "exact", self._exact.get(text, [])
        if not found:
            status, found = "normalised", self._norm.get(normalise_village_name(text), [])
        if not found:
            return VillageMatch("unmatched")
        if len(found) > 1 and town:
            t = normalise_town_name(town)
            in_town = [c for c in found if normalise_town_name(c[2]) == t]
            if len(in_town) == 1:
                return VillageMatch("by_town", *in_town[0], candidates=tuple(found))
            if in_town:
                found = in_town
        if len(found) > 1:
            return VillageMatch("ambiguous", candidates=tuple(found))
        return VillageMatch(status, *found[0])


def resolve_names(values, *, index: VillageIndex, towns=None, rows, file, field,
                  label: str = "village") -> tuple[list, list[Problem]]:
    """Replace village names in ``values`` by codes; problems for what cannot be matched.

    Parameters
    ----------
    values : sequence of str or None
        Codes or names (None/empty are left as they are for validation to judge).
    towns : sequence, optional
        The town of each row (tie-breaker for duplicate names).
    rows : sequence of int
        Row numbers as the user sees them.

    Returns
    -------
    (codes, problems)
        ``codes`` has the code where a name matched and the original value otherwise
        (validation then reports the unmatched cell's format as well). Problems: an
        error per ambiguous or unknown name (with the candidates), a warning per name
        matched only after removing a suffix or by its town, so the user can check it.
    """
    out = list(values)
    towns = list(towns) if towns is not None else [None] * len(out)
    ambiguous, unmatched, loose = [], [], []
    results: dict[int, VillageMatch] = {}
    cache: dict[tuple, VillageMatch] = {}
    for i, value in enumerate(out):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or not str(value).strip():
            continue
        key = (str(value), towns[i])
        m = cache.get(key)
        if m is None:
            m = cache[key] = index.match(value, towns[i])
        if m.status == "code":
            continue
        results[i] = m
        if m.ok:
            out[i] = m.code
            if m.status in ("normalised", "by_town"):
                loose.append(i)
        elif m.status == "ambiguous":
            ambiguous.append(i)
        else:
            unmatched.append(i)
    problems: list[Problem] = []

    def listing(m: VillageMatch) -> str:
        return "; ".join(f"{name} ({town or '?'}) {code}" for code, name, town in m.candidates[:6])

    add_limited(problems, ambiguous, lambda i: error(
        "village_name_ambiguous",
        N_("village “{value}” matches several villages: {candidates}; give the 12-digit code or the town"),
        params={"value": str(values[i]), "candidates": listing(results[i])}, file=file, row=int(rows[i]),
        field=field), code="village_name_ambiguous", file=file, field=field, rows=rows)
    add_limited(problems, unmatched, lambda i: error(
        "village_name_unknown",
        N_("village “{value}” is neither a 12-digit code nor the name of a village in the villages layer; "
           "check the spelling or import the villages first"),
        params={"value": str(values[i])}, file=file, row=int(rows[i]), field=field),
        code="village_name_unknown", file=file, field=field, rows=rows)
    add_limited(problems, loose, lambda i: warning(
        "village_name_matched",
        N_("village “{value}” taken as {name} ({town}), code {code}"),
        params={"value": str(values[i]), "name": results[i].name, "town": results[i].town or "?",
                "code": results[i].code}, file=file, row=int(rows[i]), field=field),
        code="village_name_matched", severity="warning", file=file, field=field)
    return out, problems
