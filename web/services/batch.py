"""One analysis over many county workspaces, on a Dask cluster (Flask-free).

A prefecture's 10 counties, a province's 100 or the 832 former poor counties each keep
their own workspace; :func:`run_batch` runs the same question (coverage, placement,
pairings) over all of them with :mod:`dask.distributed` — a ``LocalCluster`` of
processes on one machine by default, or any scheduler address for a real cluster — and
gathers

* one long, combined table ``county_code, county_name, town, indicator, value``
  (``town`` is ``"合计"`` for the county's own totals; ``workspace`` is the file's
  stem, unique even where two files carry the same county code), and
* each county's full result as JSON, exactly what the single-county command computes
  (:func:`analyse_county` is the only code path for both).

A county that fails (a broken file, no roads) is listed with its error and does not
stop the others.  Dask is the distributed engine because it ships a local cluster and
a scheduler protocol for real clusters in one well-kept package, and its futures give
per-task errors without losing the other results.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from geo.errors import InvalidInput, NotFound

__all__ = ["ANALYSES", "BatchResult", "CountyResult", "analyse_county", "list_workspaces", "run_batch",
           "write_batch"]

#: The analyses a batch can run, each answered per county by :func:`analyse_county`.
ANALYSES = ("coverage", "placement", "pairings")
TOTAL = "合计"
COMBINED_COLUMNS = ["workspace", "county_code", "county_name", "town", "indicator", "value"]


class BadBatch(InvalidInput):
    code = "batch.invalid"
    en = "Batch: {reason_en}"
    zh = "批量分析：{reason_zh}"


class NoWorkspaces(NotFound):
    code = "batch.no_workspaces"
    en = "No workspace (.gpkg) found in {where}"
    zh = "在 {where} 中没有找到工作空间（.gpkg）"


class WorkspacesPathMissing(NoWorkspaces):
    """``--workspaces`` names no folder, list file or workspace."""

    code = "batch.path_missing"
    en = "{where} does not exist (expected a folder of .gpkg workspaces, a list file or one .gpkg)"
    zh = "{where} 不存在（应为放工作空间 .gpkg 的文件夹、列表文件或一个 .gpkg）"


class BadWorkspaceList(InvalidInput):
    """A list file that is not text (a binary file, an unknown encoding)."""

    code = "batch.bad_list"
    en = "{file} is not a list of workspaces (text, one path a line): {reason_en}"
    zh = "{file} 不是工作空间列表（每行一个路径的文本）：{reason_zh}"


class ListedWorkspacesMissing(NotFound):
    """Paths in a list file that name no file: said once for the file, line by line."""

    code = "batch.listed_missing"
    en = "{file}: {missing_en}: {listing_en}"
    zh = "{file}：列出的 {n} 个工作空间不存在：{listing_zh}"


#: Missing paths of a list file named in its error; the others are counted.
LIST_ERRORS_SHOWN = 10


@dataclass(frozen=True)
class CountyResult:
    """What one county gave: its rows of the combined table, its full result, or its error."""

    workspace: str
    county_code: str | None
    county_name: str | None
    rows: tuple[tuple[str, str, float], ...] = ()
    result: Mapping[str, Any] = field(default_factory=dict)
    #: the error in Chinese (counties.csv, the province page); :meth:`error_text` in either language
    error: str | None = None
    error_code: str | None = None
    error_en: str | None = None
    #: the county's outline as a GeoJSON geometry (WGS84, simplified to ~50 m), for the province map
    outline: Mapping[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def error_text(self, lang: str) -> str | None:
        """The error in ``lang`` (an untyped error has one text only)."""
        return self.error_en if lang == "en" and self.error_en else self.error


@dataclass(frozen=True)
class BatchResult:
    """All counties of one batch run, in the order of the workspaces given."""

    analysis: str
    options: Mapping[str, Any]
    counties: tuple[CountyResult, ...]

    @property
    def failed(self) -> tuple[CountyResult, ...]:
        return tuple(c for c in self.counties if not c.ok)

    def combined(self) -> pd.DataFrame:
        """Long table ``workspace, county_code, county_name, town, indicator, value`` (counties that ran)."""
        records = [(Path(c.workspace).stem, c.county_code, c.county_name, town, indicator, value)
                   for c in self.counties if c.ok for town, indicator, value in c.rows]
        return pd.DataFrame.from_records(records, columns=COMBINED_COLUMNS)


# --------------------------------------------------------------------------- inputs
def list_workspaces(spec: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """Workspaces from a folder (every ``*.gpkg`` in it, sorted), a list file, or a sequence.

    A list file holds one path a line (relative paths are relative to the file;
    ``#`` starts a comment).

    Raises
    ------
    NoWorkspaces
        When nothing is found.
    """
    if isinstance(spec, (list, tuple)):
        paths = [Path(p) for p in spec]
        where = ", ".join(str(p) for p in spec)
    else:
        spec = Path(spec)
        where = str(spec)
        if spec.is_dir():
            paths = sorted(spec.glob("*.gpkg"))
        elif spec.is_file() and spec.suffix.lower() == ".gpkg":
            paths = [spec]
        elif spec.is_file():
            paths = _read_list(spec)
        else:
            raise WorkspacesPathMissing(where=where)
    if not paths:
        raise NoWorkspaces(where=where)
    return paths


def _read_list(spec: Path) -> list[Path]:
    """The workspaces a list file names (UTF-8, UTF-16 with its byte-order mark, else
    GB18030 as a Chinese Windows editor saves it); every line naming no file is one
    :class:`ListedWorkspacesMissing`, the list file said once and each path as written."""
    import codecs

    from geo.tables import UnreadableTable, decode_text

    data = spec.read_bytes()
    if b"\0" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise BadWorkspaceList(file=str(spec), reason_en="a binary file", reason_zh="这是二进制文件")
    try:
        text = decode_text(data, str(spec))[0]  # the tables' decoding: UTF-16 BOM, UTF-8, GB18030
    except UnreadableTable as exc:
        raise BadWorkspaceList(file=str(spec), reason_en=exc.params["reason_en"],
                               reason_zh=exc.params["reason_zh"]) from exc
    paths, missing = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        path = Path(line) if Path(line).is_absolute() else spec.parent / line
        paths.append(path)
        if not path.is_file():
            missing.append((number, line))
    if missing:
        shown, more = missing[:LIST_ERRORS_SHOWN], len(missing) - LIST_ERRORS_SHOWN
        listing_en = "; ".join(f"line {n}: {text}" for n, text in shown) + (f"; … (+{more} more)" if more > 0 else "")
        listing_zh = "；".join(f"第 {n} 行：{text}" for n, text in shown) + (f"；…（另 {more} 个）" if more > 0 else "")
        n = len(missing)
        raise ListedWorkspacesMissing(
            file=str(spec), n=n, missing_en=f"{n} listed workspace{' does' if n == 1 else 's do'} not exist",
            listing_en=listing_en, listing_zh=listing_zh, lines=[number for number, _ in missing])
    return paths


def _check_options(analysis: str, options: Mapping[str, Any]) -> dict:
    if analysis not in ANALYSES:
        raise BadBatch(reason_en=f"unknown analysis {analysis!r}; one of {', '.join(ANALYSES)}",
                       reason_zh=f"未知的分析 {analysis!r}，可选 {'、'.join(ANALYSES)}")
    opts = dict(options)
    if analysis in ("coverage", "placement"):
        minutes = opts.get("minutes")
        if minutes is None or not (isinstance(minutes, (int, float)) and math.isfinite(minutes) and minutes > 0):
            raise BadBatch(reason_en="--minutes must be a positive number", reason_zh="--minutes 须为正数")
    return opts


# --------------------------------------------------------------------------- one county
def analyse_county(path: str | os.PathLike, analysis: str, options: Mapping[str, Any]) -> CountyResult:
    """Run ``analysis`` on one workspace; errors become the result's ``error``, never raised.

    This is the function each Dask task runs, and the one to call for a single county:
    batch results are identical to it by construction.
    """
    from layers.store import Workspace

    path = str(path)
    code = name = None
    try:
        ws = Workspace(path).require()
        meta = ws.meta()
        code, name = meta.get("county_code"), meta.get("county_name")
        rows, result = _RUNNERS[analysis](ws, options)
        outline = _county_outline(ws)
    except Exception as exc:  # noqa: BLE001 — a county's failure is its result, never the batch's
        from geo.errors import RuralplanError

        typed = isinstance(exc, RuralplanError)
        message = exc.message("zh") if typed else f"{type(exc).__name__}: {exc}"
        return CountyResult(workspace=path, county_code=code, county_name=name, error=message,
                            error_en=exc.message("en") if typed else None,
                            error_code=exc.code if typed else "internal")
    return CountyResult(workspace=path, county_code=code, county_name=name,
                        rows=tuple((str(t), str(i), float(v)) for t, i, v in rows), result=result,
                        outline=outline)


def _county_outline(ws) -> dict | None:
    """The county boundary (level ``county``), else the union of its towns; None without either."""
    import shapely

    boundaries = ws.read_layer("boundaries")
    if not len(boundaries):
        return None
    boundaries = boundaries.to_crs("EPSG:4326")
    county = boundaries[boundaries["level"] == "county"] if "level" in boundaries else boundaries.iloc[:0]
    geom = (county if len(county) else boundaries).geometry.union_all()
    if geom is None or geom.is_empty:
        return None
    return shapely.geometry.mapping(geom.simplify(0.0005, preserve_topology=True))


def _coverage(ws, options) -> tuple[list, dict]:
    from planner.coverage import coverage_summary
    from web import services

    settings = services.NetworkSettings.from_workspace(ws)
    graph = services.road_graph(ws, settings=settings)
    facility = options.get("facility", "cold_storage")
    statuses = None if options.get("include_planned") else services.EXISTING_STATUSES
    summary = coverage_summary(graph, services.villages(ws), services.facility_points(ws, facility, statuses=statuses),
                               cutoff_min=float(options["minutes"]), commodities=list(options.get("commodities") or [])
                               or None, max_snap_m=settings.max_snap_m)
    rows = []
    by_town = summary.by_town
    indicators = [c for c in by_town.columns if c != "town" and pd.api.types.is_numeric_dtype(by_town[c])]
    for rec in by_town.to_dict(orient="records"):
        rows += [(rec["town"], col, rec[col]) for col in indicators if _finite(rec[col])]
    rows += [(TOTAL, key, value) for key, value in summary.totals.items() if _finite(value)]
    return rows, summary.to_dict()


def _placement(ws, options) -> tuple[list, dict]:
    from web import services

    from .planning import PlacementQuestion

    question = PlacementQuestion(facility=options.get("facility", "cold_storage"), model=options.get("model", "mclp"),
                                 p=options.get("p"), minutes=options.get("minutes"),
                                 demand=options.get("demand", "population"),
                                 time_limit_s=float(options.get("time_limit_s", 10.0)))
    result = services.plan(ws, question)
    data = result.to_dict()
    solver = data.get("solver") or {}
    rows = [(TOTAL, f"solver_{key}", solver[key]) for key in ("objective", "bound", "gap") if _finite(solver.get(key))]
    rows += [(TOTAL, key, value) for key, value in (data.get("totals") or {}).items() if _finite(value)]
    for rec in data.get("by_town") or []:
        rows += [(rec["town"], key, value) for key, value in rec.items() if key != "town" and _finite(value)]
    return rows, data


def _pairings(ws, options) -> tuple[list, dict]:
    from web.services.pairings import analyse_workspace

    result = analyse_workspace(ws, travel=options.get("travel", "network"))
    analysis = result.analysis
    rows = []
    for rec in analysis.coverage_by_town.to_dict(orient="records"):
        for col in ("required", "covered", "gaps"):
            if col in rec and _finite(rec[col]):
                rows.append((rec.get("town") or "", f"{rec['rule']}.{col}", rec[col]))
    for rec in analysis.coverage.to_dict(orient="records"):
        for col in ("required", "covered", "gaps"):
            if col in rec and _finite(rec[col]):
                rows.append((TOTAL, f"{rec['rule']}.{col}", rec[col]))
    data = analysis.to_dict(include_households=False)
    data["travel_method"] = result.travel_method
    data["estimate"] = result.estimate
    return rows, data


def _finite(value) -> bool:
    try:
        return value is not None and not isinstance(value, bool) and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


_RUNNERS = {"coverage": _coverage, "placement": _placement, "pairings": _pairings}


# --------------------------------------------------------------------------- the batch
def run_batch(analysis: str, workspaces: Iterable[str | os.PathLike], options: Mapping[str, Any] | None = None, *,
              scheduler: str | None = None, n_workers: int | None = None) -> BatchResult:
    """Run ``analysis`` over every workspace on a Dask cluster.

    Parameters
    ----------
    analysis : {"coverage", "placement", "pairings"}
    workspaces : iterable of path
        County workspaces (``.gpkg``); see :func:`list_workspaces`.
    options : mapping
        The analysis's options as the single-county command takes them (``facility``,
        ``minutes``, ``commodities``, ``model``, ``p``, ``demand``, ``travel``…).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).  None starts a
        ``LocalCluster`` of ``n_workers`` single-threaded worker processes (default:
        the machine's cores, at most the number of counties) and closes it afterwards.

    Returns
    -------
    BatchResult
        One :class:`CountyResult` per workspace, failures included.

    Raises
    ------
    BadBatch
        An unknown analysis or invalid options (before any county runs).
    """
    opts = _check_options(analysis, options or {})
    paths = [str(Path(p).resolve()) for p in workspaces]
    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        workers = max(1, min(n_workers or (os.cpu_count() or 1), len(paths)))
        # processes, one thread each: the analyses hold the GIL in places (numba, pandas)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        futures = client.map(analyse_county, paths, analysis=analysis, options=opts, pure=False)
        results = []
        for path, future in zip(paths, futures):
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 — a worker that died: the county failed, not the batch
                results.append(CountyResult(workspace=path, county_code=None, county_name=None,
                                            error=f"{type(exc).__name__}: {exc}", error_code="worker"))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return BatchResult(analysis=analysis, options=opts, counties=tuple(results))


def write_batch(result: BatchResult, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write the batch's outputs into ``out_dir``.

    ``combined.csv`` (UTF-8 with BOM, opens in Excel), ``counties.csv`` (status per
    workspace), ``counties.geojson`` (each county's outline with its totals, for the
    province view) and ``<workspace file stem>.json`` per county.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {"combined": out / "combined.csv", "counties": out / "counties.csv",
               "outlines": out / "counties.geojson"}
    from geo.tables import write_csv  # numbers at their indicator's unit, formula text escaped

    write_csv(result.combined(), written["combined"], unit_from={"value": "indicator"})
    status = pd.DataFrame([{"workspace": c.workspace, "county_code": c.county_code, "county_name": c.county_name,
                            "status": "ok" if c.ok else "failed", "error_code": c.error_code, "error": c.error}
                           for c in result.counties])
    write_csv(status, written["counties"])
    features = [{"type": "Feature", "geometry": c.outline,
                 "properties": {"workspace": Path(c.workspace).stem, "county_code": c.county_code,
                                "county_name": c.county_name,
                                **{indicator: value for town, indicator, value in c.rows if town == TOTAL}}}
                for c in result.counties if c.ok and c.outline]
    from .jsonout import dumps  # the CLI's one JSON rule (units' precision, no float32 noise)

    written["outlines"].write_text(dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    for c in result.counties:
        if c.ok:
            stem = Path(c.workspace).stem
            path = out / f"{stem}.json"
            path.write_text(dumps({"analysis": result.analysis, "options": dict(result.options),
                                   "county_code": c.county_code, "county_name": c.county_name,
                                   "result": c.result}, indent=1, default=str), encoding="utf-8")
            written[stem] = path
    return written
