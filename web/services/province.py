"""The province view of a batch run (Flask-free): indicators per county on their outlines.

``ruralplan batch … --out DIR`` writes ``combined.csv``, ``counties.csv`` and
``counties.geojson`` (:func:`web.services.batch.write_batch`); ``ruralplan serve
--batch-dir DIR`` (or ``RURALPLAN_BATCH_DIR``) shows them on ``/province/``.  This module
reads that folder once per file version and answers the page's questions.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geo.errors import InvalidInput, NotFound

from .batch import TOTAL

__all__ = ["BatchView", "load_batch", "MAX_BATCH_BYTES"]

#: A batch folder's files larger than this are refused (a province's 3,000 counties are ~20 MB).
MAX_BATCH_BYTES = 200 * 1024 * 1024


class BatchMissing(NotFound):
    code = "batch.missing"
    en = "No batch results in {folder}: run `ruralplan batch … --out {folder}` first"
    zh = "{folder} 中没有批量分析结果：请先运行 `ruralplan batch … --out {folder}`"


class BatchUnreadable(InvalidInput):
    code = "batch.unreadable"
    en = "The batch results in {folder} cannot be read: {detail}"
    zh = "无法读取 {folder} 中的批量分析结果：{detail}"


@dataclass(frozen=True, eq=False)
class BatchView:
    """One batch folder, read.

    Attributes
    ----------
    combined : DataFrame
        ``workspace, county_code, county_name, town, indicator, value``.
    counties : DataFrame
        ``workspace, county_code, county_name, status, error_code, error``.
    outlines : dict
        GeoJSON FeatureCollection of county outlines with their totals.
    """

    folder: str
    combined: pd.DataFrame
    counties: pd.DataFrame
    outlines: dict

    @property
    def indicators(self) -> list[str]:
        """Indicators with a county total, in the order the analysis wrote them."""
        totals = self.combined[self.combined["town"] == TOTAL]
        return list(dict.fromkeys(totals["indicator"]))

    @property
    def failed(self) -> pd.DataFrame:
        return self.counties[self.counties["status"] != "ok"]

    def county_table(self, indicator: str) -> pd.DataFrame:
        """``workspace, county_code, county_name, value`` of one indicator's county totals, largest first.

        Raises
        ------
        NotFound
            When no county has that indicator.
        """
        if indicator not in self.indicators:
            raise IndicatorUnknown(indicator=indicator)
        rows = self.combined[(self.combined["town"] == TOTAL) & (self.combined["indicator"] == indicator)]
        table = rows[["workspace", "county_code", "county_name", "value"]]
        return table.sort_values("value", ascending=False, kind="stable").reset_index(drop=True)


class IndicatorUnknown(NotFound):
    code = "batch.indicator_unknown"
    en = "No county has the indicator {indicator}"
    zh = "没有任何县有指标 {indicator}"


_cache: dict[str, tuple[tuple, BatchView]] = {}
_lock = threading.Lock()


def load_batch(folder: str | Path) -> BatchView:
    """Read a batch folder (cached per files' size and modification time).

    Raises
    ------
    BatchMissing
        When the folder lacks ``combined.csv``/``counties.csv``.
    BatchUnreadable
        When a file is too large or malformed.
    """
    folder = Path(folder)
    files = [folder / "combined.csv", folder / "counties.csv", folder / "counties.geojson"]
    if not files[0].is_file() or not files[1].is_file():
        raise BatchMissing(folder=str(folder))
    stamp = tuple((f.stat().st_size, f.stat().st_mtime_ns) if f.is_file() else None for f in files)
    key = str(folder.resolve())
    with _lock:
        hit = _cache.get(key)
    if hit and hit[0] == stamp:
        return hit[1]
    if sum(s[0] for s in stamp if s) > MAX_BATCH_BYTES:
        raise BatchUnreadable(folder=str(folder), detail=f"larger than {MAX_BATCH_BYTES // 2**20} MB")
    try:
        text = {"workspace": str, "county_code": str, "county_name": str, "town": str, "indicator": str}
        combined = pd.read_csv(files[0], dtype=text, encoding="utf-8-sig", keep_default_na=False)
        combined["value"] = pd.to_numeric(combined["value"], errors="coerce")
        counties = pd.read_csv(files[1], dtype=str, encoding="utf-8-sig", keep_default_na=False)
        outlines = json.loads(files[2].read_text(encoding="utf-8")) if files[2].is_file() \
            else {"type": "FeatureCollection", "features": []}
    except (OSError, ValueError, KeyError, pd.errors.ParserError) as exc:
        raise BatchUnreadable(folder=str(folder), detail=str(exc)[:200]) from exc
    missing = {"workspace", "county_code", "county_name", "town", "indicator", "value"} - set(combined.columns)
    if missing or "status" not in counties.columns:
        raise BatchUnreadable(folder=str(folder), detail=f"missing columns {sorted(missing) or ['status']}")
    view = BatchView(folder=str(folder), combined=combined, counties=counties, outlines=outlines)
    with _lock:
        _cache[key] = (stamp, view)
    return view
