"""The project library (项目库): proposals and their append-only review history.

Proposals live in the workspace's SQLite file as app tables (``rp_`` prefix, ignored by
QGIS): ``rp_proposals`` holds one row per proposal with its geometry as WKT in
EPSG:4326 and a ``version`` integer that every write bumps (optimistic concurrency: a
writer states the version it read and loses cleanly when someone else wrote first);
``rp_transitions`` records every workflow step and cannot be updated or deleted (SQLite
triggers refuse it), so the history is complete by construction.

The workflow itself (who may move a proposal from which status to which) is in
:mod:`layers.workflow`; this module stores and validates records.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Mapping

import shapely
from shapely import wkt as shapely_wkt

from geo.report import N_

from . import app_schema
from .errors import (ConflictError, FieldMessage,  # noqa: F401 (ProposalInvalid/NotFound/FieldMessage: also P.<name>)
                     ProposalInvalid, ProposalNotFound)
from .schema import COMMODITIES, COMMODITY_VALUES, Choice, Field

# --------------------------------------------------------------------------- vocabularies
CATEGORIES: tuple[Choice, ...] = (
    Choice("industry", "产业发展", "Industry", ("产业", "种植", "养殖", "产业基地", "planting", "breeding", "park")),
    Choice("cold_chain", "冷链物流", "Cold chain", ("冷库", "保鲜库", "冷冻库", "冷链", "cold_storage")),
    Choice("processing", "农产品加工", "Processing", ("加工", "加工厂")),
    Choice("infrastructure", "基础设施", "Infrastructure", ("道路", "基础设施", "水利")),
    Choice("employment_workshop", "就业帮扶车间", "Employment/assistance workshop",
           ("帮扶车间", "就业帮扶车间", "社区工厂", "workshop")),
    Choice("public_service", "公共服务", "Public service", ("公共服务", "卫生室", "学校")),
)
CATEGORY_VALUES = tuple(c.value for c in CATEGORIES)

FUND_SOURCES: tuple[Choice, ...] = (
    Choice("linkage", "衔接资金", "Linkage funds (衔接资金)", ("衔接资金", "财政衔接推进乡村振兴补助资金")),
    Choice("other", "其他资金", "Other funds", ("其他", "自筹", "整合资金")),
)

FARMER_LINKS: tuple[Choice, ...] = (
    Choice("dividend", "入股分红", "Dividends", ("分红", "入股分红")),
    Choice("wage", "务工就业", "Wages", ("务工", "就业", "工资")),
    Choice("land_rent", "土地流转", "Land rent", ("流转", "土地流转", "租金")),
    Choice("purchase_order", "订单收购", "Purchase orders", ("订单", "收购", "订单收购")),
)

#: Statuses in workflow order (labels follow the county's wording). ``returned`` and
#: ``rejected`` are off the main line: returned goes back to the village, rejected ends.
STATUSES: tuple[Choice, ...] = (
    Choice("draft", "草稿", "Draft"),
    Choice("submitted", "村申报（待镇审核）", "Submitted by village (awaiting town review)"),
    Choice("town_approved", "镇审核通过（待行业部门论证）", "Town approved (awaiting sector assessment)"),
    Choice("sector_approved", "行业部门论证通过（待县级审定）", "Sector approved (awaiting county approval)"),
    Choice("county_approved", "县级审定通过（待公示）", "County approved (awaiting public notice)"),
    Choice("published", "已公示", "Published (public notice)"),
    Choice("in_progress", "实施中", "In progress"),
    Choice("completed", "已完成", "Completed"),
    Choice("returned", "已退回", "Returned for revision"),
    Choice("rejected", "未通过", "Rejected"),
)
STATUS_VALUES = tuple(s.value for s in STATUSES)

#: 建设性质, as the county's project-library and notice templates list it.
CONSTRUCTION_TYPES: tuple[Choice, ...] = (
    Choice("new", "新建", "New construction", ("新建",)),
    Choice("renovation", "改建", "Renovation", ("改建", "改造", "提升改造")),
    Choice("expansion", "扩建", "Expansion", ("扩建",)),
    Choice("continued", "续建", "Continued construction", ("续建",)),
    Choice("repair", "维修", "Repair", ("维修", "修缮", "维修养护")),
)


#: 申报层级: who proposes. A village for itself (村申报); a town for several of its villages or
#: for the town as a whole (跨村项目, 乡镇申报); a county sector department for a county-wide
#: or large-scale project (规模化项目, 行业部门申报). The level decides where the review
#: starts (:mod:`layers.workflow`).
LEVELS: tuple[Choice, ...] = (
    Choice("village", "村级", "Village", ("村", "村申报", "村级项目")),
    Choice("town", "乡镇级", "Town", ("乡镇", "镇", "乡", "乡镇申报", "跨村")),
    Choice("county", "县级（行业部门）", "County (sector department)", ("县级", "县", "行业部门", "规模化")),
)
LEVEL_VALUES = tuple(c.value for c in LEVELS)


def choice_of(choices: Iterable[Choice], value: str) -> Choice | None:
    for c in choices:
        if c.value == value:
            return c
    return None


# --------------------------------------------------------------------------- fields
#: The proposal form, described once (labels in both languages, units, choices), as
#: :mod:`layers.schema` does for layers. ``list`` fields hold JSON lists in storage.
FIELDS: tuple[Field, ...] = (
    Field("name", "str", "项目名称", "Project name", required=True),
    Field("category", "str", "项目类别", "Category", required=True, choices=CATEGORIES),
    Field("level", "str", "申报层级", "Proposal level", choices=LEVELS, default="village"),
    Field("town", "str", "乡镇", "Town", required=True),
    Field("village_code", "str", "申报村代码", "Applicant village code", required=True, pattern=r"^\d{12}$"),
    Field("village_name", "str", "申报村", "Applicant village"),
    Field("content", "str", "建设内容", "Construction content", required=True),
    Field("commodities", "str", "相关产品", "Commodities served", choices=COMMODITIES),
    Field("budget_wan", "float", "投资规模", "Budget", unit="万元", required=True, min_value=0),
    Field("fund_source", "str", "资金来源", "Fund source", required=True, choices=FUND_SOURCES,
          default="linkage"),
    Field("fund_note", "str", "资金说明", "Fund note"),
    Field("beneficiary_villages", "str", "受益村", "Beneficiary villages"),
    Field("beneficiary_households", "int", "受益户数", "Beneficiary households", unit="户", min_value=0,
          default=0),
    Field("beneficiary_monitored", "int", "其中监测户", "of which monitored households", unit="户",
          min_value=0, default=0),
    Field("expected_jobs", "int", "带动就业", "Expected jobs", unit="人", min_value=0, default=0),
    Field("farmer_links", "str", "联农带农方式", "Link to farmers", choices=FARMER_LINKS),
    Field("farmer_link_note", "str", "联农带农机制", "Link to farmers (details)"),
    Field("performance_targets", "str", "绩效目标", "Performance targets"),
    Field("attachments", "str", "附件", "Attachments"),
    Field("year", "int", "年度", "Year", min_value=2000, max_value=2100),
    # Added for the 公示 template; workspaces created before them read the defaults.
    Field("construction_type", "str", "建设性质", "Type of construction", choices=CONSTRUCTION_TYPES,
          default="new"),
    Field("period", "str", "实施期限", "Implementation period"),
    Field("responsible_unit", "str", "责任单位", "Responsible unit"),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)
#: ``(zh, en)`` label of every field, and of the site, for :class:`ProposalInvalid`'s message.
FIELD_LABELS = {**{f.name: (f.zh, f.en) for f in FIELDS}, "geometry": ("位置", "Location")}
#: Fields stored as JSON lists of strings.
LIST_FIELDS = ("commodities", "beneficiary_villages", "farmer_links", "attachments")


def _invalid(errors: dict) -> ProposalInvalid:
    return ProposalInvalid(errors, labels=FIELD_LABELS)


def get_field(name: str) -> Field:
    for f in FIELDS:
        if f.name == name:
            return f
    msg = f"proposals have no field {name!r}"
    raise KeyError(msg)


# --------------------------------------------------------------------------- sectors
#: Category → the sector department that assesses it (行业部门论证).
SECTOR_BY_CATEGORY: Mapping[str, str] = {
    "industry": "农业农村局",
    "cold_chain": "农业农村局",
    "processing": "农业农村局",
    "infrastructure": "交通运输局",
    "employment_workshop": "人社局",
    "public_service": "乡村振兴局",
}
#: Other spellings of the same department found in county accounts.
SECTOR_ALIASES: Mapping[str, tuple[str, ...]] = {
    "农业农村局": ("农业农村局", "县农业农村局", "agriculture"),
    "交通运输局": ("交通运输局", "交通局", "县交通运输局", "transport"),
    "人社局": ("人社局", "人力资源和社会保障局", "县人社局", "human_resources"),
    "乡村振兴局": ("乡村振兴局", "县乡村振兴局", "rural_revitalization"),
}


# --------------------------------------------------------------------------- plausibility
#: 万元. Valid but unusual for one village project (county 项目库 practice: village
#: projects are tens to a few hundred 万元); above it the reviewer is asked to check the
#: unit — the usual slip is 元 typed into a 万元 field (4,000,000 "万元" = 400 亿元).
VILLAGE_BUDGET_WARN_WAN = 1000.0


def plausibility_warnings(budget_wan=None, *, beneficiary_households=None, expected_jobs=None) -> tuple[str, ...]:
    """Codes of values that pass validation but deserve a second look (never block a save).

    ``budget_high``: more than :data:`VILLAGE_BUDGET_WARN_WAN` 万元. ``households_high``:
    more than 10,000 beneficiary households (a whole county's worth); ``jobs_high``: more
    than 5,000 jobs from one project.
    """
    out = []
    if budget_wan is not None and float(budget_wan) > VILLAGE_BUDGET_WARN_WAN:
        out.append("budget_high")
    if beneficiary_households is not None and int(beneficiary_households) > 10_000:
        out.append("households_high")
    if expected_jobs is not None and int(expected_jobs) > 5_000:
        out.append("jobs_high")
    return tuple(out)


def sector_for_category(category: str) -> str:
    try:
        return SECTOR_BY_CATEGORY[category]
    except KeyError:
        msg = f"unknown category {category!r}; expected one of {', '.join(SECTOR_BY_CATEGORY)}"
        raise ValueError(msg) from None


# --------------------------------------------------------------------------- the record
@dataclass(frozen=True)
class Proposal:
    """One proposal as stored. ``geometry_wkt`` is EPSG:4326 (lon/lat)."""

    id: int
    name: str
    category: str
    town: str
    village_code: str
    content: str
    budget_wan: float
    geometry_wkt: str
    village_name: str | None = None
    commodities: tuple[str, ...] = ()
    fund_source: str = "linkage"
    fund_note: str | None = None
    beneficiary_villages: tuple[str, ...] = ()
    beneficiary_households: int = 0
    beneficiary_monitored: int = 0
    expected_jobs: int = 0
    farmer_links: tuple[str, ...] = ()
    farmer_link_note: str | None = None
    performance_targets: str | None = None
    attachments: tuple[str, ...] = ()
    year: int | None = None
    construction_type: str = "new"
    period: str | None = None
    responsible_unit: str | None = None
    level: str = "village"
    status: str = "draft"
    version: int = 1
    ref: str | None = None
    created_by: str | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @property
    def geometry(self):
        """The location as a shapely geometry (EPSG:4326)."""
        return shapely_wkt.loads(self.geometry_wkt)

    @property
    def sector(self) -> str:
        return sector_for_category(self.category)

    def to_dict(self, *, geometry: str = "geojson") -> dict[str, Any]:
        """JSON-ready dict; ``geometry="geojson"`` adds a GeoJSON geometry, ``"wkt"`` keeps WKT."""
        out = asdict(self)
        for name in LIST_FIELDS:
            out[name] = list(out[name])
        if geometry == "geojson":
            out["geometry"] = json.loads(shapely.to_geojson(self.geometry))
        out["sector"] = self.sector
        return out


# --------------------------------------------------------------------------- storage
_TABLES = app_schema.PROPOSALS

_COLUMNS = (
    "id", "ref", "name", "category", "town", "village_code", "village_name", "content", "commodities",
    "budget_wan", "fund_source", "fund_note", "beneficiary_villages", "beneficiary_households",
    "beneficiary_monitored", "expected_jobs", "farmer_links", "farmer_link_note", "performance_targets",
    "attachments", "year", "construction_type", "period", "responsible_unit", "level", "geometry_wkt", "status", "version", "created_by", "created_at", "updated_at",
)


def create_tables(con) -> None:
    """Create the proposal tables on an open connection (inside a transaction).

    Statement by statement: ``executescript`` would commit the caller's transaction.
    """
    for statement in _TABLES:
        con.execute(statement)
    have = {r[1] for r in con.execute("PRAGMA table_info(rp_proposals)")}
    for name, ddl in _ADDED_COLUMNS.items():
        if name not in have:  # a workspace from before the column existed
            con.execute(f"ALTER TABLE rp_proposals ADD COLUMN {name} {ddl}")


#: Columns added after the first release: (name -> DDL) for ``ALTER TABLE`` on old workspaces.
_ADDED_COLUMNS = {"construction_type": "TEXT NOT NULL DEFAULT 'new'", "period": "TEXT", "responsible_unit": "TEXT",
                  "level": "TEXT NOT NULL DEFAULT 'village'"}


def _select_list(con) -> str:
    """The SELECT list of :data:`_COLUMNS`; columns an old workspace lacks read as their defaults."""
    have = {r[1] for r in con.execute("PRAGMA table_info(rp_proposals)")}
    defaults = {"construction_type": "'new'", "level": "'village'"}
    return ", ".join(c if c in have else f"{defaults.get(c, 'NULL')} AS {c}" for c in _COLUMNS)


def ensure_tables(ws) -> None:
    with ws.transaction() as con:
        create_tables(con)


def _has_tables(con) -> bool:
    row = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='rp_proposals'").fetchone()
    return row is not None


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


def _from_row(row) -> Proposal:
    data = dict(zip(_COLUMNS, row))
    for name in LIST_FIELDS:
        data[name] = tuple(json.loads(data[name] or "[]"))
    return Proposal(**data)


# --------------------------------------------------------------------------- validation
def _split_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                value = [text]
        else:
            for sep in ("，", "、", ";", "；", "\n"):
                text = text.replace(sep, ",")
            value = text.split(",")
    return [str(v).strip() for v in value if str(v).strip()]


def parse_geometry(value) -> shapely.Geometry:
    """A point, line or polygon from WKT, GeoJSON (dict or text), ``(lon, lat)`` or a geometry."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError(FieldMessage(N_("a location is required (draw it on the map or type coordinates)")))
    if isinstance(value, shapely.Geometry):
        geom = value
    elif isinstance(value, Mapping):
        try:
            geom = shapely.from_geojson(json.dumps(value.get("geometry", value)))
        except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
            raise ValueError(FieldMessage(N_("not a GeoJSON geometry: {detail}"), detail=str(exc)[:120])) from None
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        geom = shapely.Point(float(value[0]), float(value[1]))
    else:
        text = str(value).strip()
        try:
            geom = shapely.from_geojson(text) if text.startswith("{") else shapely_wkt.loads(text)
        except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
            parts = text.replace("，", ",").split(",")
            if len(parts) == 2:
                try:
                    geom = shapely.Point(float(parts[0]), float(parts[1]))
                except ValueError:
                    raise ValueError(FieldMessage(N_("cannot read the location “{text}”: {detail}"),
                                                  text=text[:60], detail=str(exc))) from None
            else:
                raise ValueError(FieldMessage(N_("cannot read the location “{text}”: {detail}"), text=text[:60],
                                              detail=str(exc))) from None
    if geom.is_empty:
        raise ValueError(FieldMessage(N_("the location is empty")))
    if geom.geom_type not in ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"):
        raise ValueError(FieldMessage(N_("a location must be a point, line or polygon, not {kind}"),
                                      kind=geom.geom_type))
    minx, miny, maxx, maxy = geom.bounds
    # Longitude/latitude of China; catches swapped axes and metric coordinates.
    if not (70 <= minx <= maxx <= 140 and 15 <= miny <= maxy <= 56):
        raise ValueError(FieldMessage(N_("the location must be longitude/latitude (EPSG:4326) inside China, "
                                         "e.g. POINT(111.2 35.3)")))
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return shapely.force_2d(geom)


def clean_proposal_data(data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Typed, checked values for storage; raises :class:`ProposalInvalid` listing every problem.

    ``data`` uses the names of :data:`FIELDS` plus ``geometry`` (anything
    :func:`parse_geometry` reads). ``partial`` checks only the keys present (updates).
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for f in FIELDS:
        if f.name not in data:
            if f.required and f.default is None and not partial:
                errors[f.name] = "required"
            elif not partial:
                out[f.name] = [] if f.name in LIST_FIELDS else f.default
            continue
        raw = data[f.name]
        if f.name in LIST_FIELDS:
            values = _split_list(raw)
            allowed = f.choice_values
            bad = [v for v in values if allowed and v not in allowed]
            if bad:
                errors[f.name] = FieldMessage(N_("unknown value(s) {values}; expected {allowed}"),
                                              values=", ".join(bad), allowed=", ".join(allowed))
            out[f.name] = list(dict.fromkeys(values))
            continue
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if f.required and f.default is None:
                errors[f.name] = "required"
            out[f.name] = f.default
            continue
        try:
            value = _typed(f, raw)
        except ValueError as exc:
            errors[f.name] = _field_message(exc)
            continue
        out[f.name] = value
    level = out.get("level") or data.get("level") or "village"
    if level in ("town", "county") and errors.get("village_code") == "required":
        # a town's or sector's project names several villages or none (跨村/规模化)
        del errors["village_code"]
        out["village_code"] = ""
    if level == "county" and errors.get("town") == "required":
        del errors["town"]
        out["town"] = ""
    if "geometry" in data or not partial:
        try:
            out["geometry_wkt"] = shapely.to_wkt(parse_geometry(data.get("geometry")), rounding_precision=7)
        except ValueError as exc:
            errors["geometry"] = _field_message(exc)
    if "beneficiary_villages" in out:
        bad = [v for v in out["beneficiary_villages"] if not (len(v) == 12 and v.isdigit())]
        if bad:
            errors["beneficiary_villages"] = FieldMessage(N_("not 12-digit village codes: {codes}"),
                                                          codes=", ".join(bad))
    if not errors and out.get("beneficiary_monitored") and out.get("beneficiary_households") is not None:
        if out["beneficiary_monitored"] > out["beneficiary_households"]:
            errors["beneficiary_monitored"] = FieldMessage(
                N_("more monitored households than beneficiary households"))
    if errors:
        raise _invalid(errors)
    return out


_INT_MAX = 2**31 - 1


def _field_message(exc: ValueError) -> str:
    """The :class:`FieldMessage` a check raised (or its plain text)."""
    first = exc.args[0] if exc.args else ""
    return first if isinstance(first, FieldMessage) else str(exc)


def _typed(f: Field, raw):
    import re

    if f.type in ("int", "float"):
        try:
            value = float(str(raw).replace(",", "").strip())
        except ValueError:
            raise ValueError(FieldMessage(N_("not a number: “{value}”"), value=str(raw)[:60])) from None
        if not math.isfinite(value):
            raise ValueError(FieldMessage(N_("must be a finite number")))
        if f.min_value is not None and value < f.min_value:
            raise ValueError(FieldMessage(N_("must be at least {limit}"), limit=f"{f.min_value:g}"))
        if f.max_value is not None and value > f.max_value:
            raise ValueError(FieldMessage(N_("must be at most {limit}"), limit=f"{f.max_value:g}"))
        if f.type == "int":
            if abs(value) > _INT_MAX:  # SQLite stores 64-bit integers; no count comes near this
                raise ValueError(FieldMessage(N_("must be at most {limit}"), limit=str(_INT_MAX)))
            if value != int(value):
                raise ValueError(FieldMessage(N_("must be a whole number, got “{value}”"), value=str(raw)[:60]))
            return int(value)
        return value
    value = str(raw).strip()
    if f.choices and value not in f.choice_values:
        for c in f.choices:  # accept Chinese labels and synonyms, as imports do
            if value in (c.zh, c.en, *c.synonyms):
                return c.value
        raise ValueError(FieldMessage(N_("unknown value “{value}”; expected one of {allowed}"), value=value[:60],
                                      allowed=", ".join(f.choice_values)))
    if f.pattern and not re.fullmatch(f.pattern, value):
        raise ValueError(FieldMessage(N_("“{value}” does not look right (expected pattern {pattern})"),
                                      value=value[:60], pattern=f.pattern))
    return value


def _db_values(cleaned: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (json.dumps(v, ensure_ascii=False) if k in LIST_FIELDS else v) for k, v in cleaned.items()}


# --------------------------------------------------------------------------- public API
def create_proposal(ws, data: Mapping[str, Any], *, created_by: str, ref: str | None = None,
                    con=None, villages=None) -> Proposal:
    """Store a new proposal as a draft and return it (with its id and version 1).

    ``con``: an open transaction to join (used by the demo seeder); a new one otherwise.
    ``villages``: the villages layer when the caller has read it already (bulk imports).
    """
    placed = _placed_by_village(ws, data, data.get("village_code"), creating=True, villages=villages)
    cleaned = _db_values(clean_proposal_data(placed))
    now = utc_now()
    cols = [*cleaned, "ref", "status", "version", "created_by", "created_at", "updated_at"]
    vals = [*cleaned.values(), ref, "draft", 1, created_by, now, now]
    sql = f"INSERT INTO rp_proposals({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    if con is None:
        with ws.transaction() as own:
            create_tables(own)
            pid = own.execute(sql, vals).lastrowid
    else:
        create_tables(con)
        pid = con.execute(sql, vals).lastrowid
    return get_proposal(ws, pid) if con is None else _read(con, pid)


def _placed_by_village(ws, data: Mapping[str, Any], village_code, *, creating: bool = False,
                       villages=None) -> dict[str, Any]:
    """``data`` with town and village name taken from the villages layer.

    The town decides which reviewer acts (镇审核), so it must follow the applicant
    village on record, never what a client sends; villages not in the layer keep the
    given values.
    """
    out = dict(data)
    villages = ws.read_layer("villages") if villages is None else villages
    village_code = _code_from_village_name(villages, out, village_code)
    hit = villages[villages["code"].astype(str) == str(village_code)] if village_code else villages.iloc[0:0]
    level = str(out.get("level") or "village")
    if len(hit):
        town = str(hit["town"].iloc[0])
        if level == "town" and str(out.get("town") or "").strip() not in ("", town):
            raise _invalid({"village_code": FieldMessage(N_("village {code} belongs to {town}, not to {given}"),
                                                                code=village_code, town=town, given=out.get("town"))})
        out["town"] = town
        out["village_name"] = str(hit["name"].iloc[0])
    elif level != "village" and not village_code:
        out["village_name"] = None
    if _blank(out.get("geometry")) and ("geometry" in out or creating):
        centre = _default_site(ws, hit, out)
        if centre is not None:
            out["geometry"] = centre
    return out


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _default_site(ws, village_rows, data):
    """Where a proposal without a drawn site stands: its village's centre (a town's project
    without a village: the town seat). None when neither is known."""
    geoms = village_rows.geometry if len(village_rows) and hasattr(village_rows, "geometry") else None
    if geoms is not None and geoms.iloc[0] is not None and not geoms.iloc[0].is_empty:
        return shapely.point_on_surface(geoms.iloc[0])
    town = str(data.get("town") or "").strip()
    if town and str(data.get("level") or "village") == "town":
        towns = ws.read_layer("towns")
        seat = towns[towns["name"].astype(str) == town] if len(towns) else towns
        if len(seat) and seat.geometry.iloc[0] is not None and not seat.geometry.iloc[0].is_empty:
            return seat.geometry.iloc[0]
    return None


def _code_from_village_name(villages, out: dict, village_code):
    """A proposal naming its village (石键村, 石键村委会, 石键) instead of the code gets the code.

    Matching as for imports (:mod:`layers.village_names`; the town breaks ties). An
    ambiguous or unknown name raises :class:`ProposalInvalid` naming the candidates.
    """
    import re

    from .village_names import VillageIndex

    given = str(village_code).strip() if village_code not in (None, "") else ""
    name = given or str(out.get("village_name") or "").strip()
    if not name or re.fullmatch(r"\d{12}", given):
        return village_code
    match = VillageIndex(villages).match(name, out.get("town"))
    if match.status == "ambiguous":
        listing = "; ".join(f"{n} ({t}) {c}" for c, n, t in match.candidates[:6])
        raise _invalid({"village_code": FieldMessage(
            N_("village “{name}” matches several villages: {listing}; give the 12-digit code or the town"),
            name=name, listing=listing)})
    if not match.ok:
        if not given:
            raise _invalid({"village_code": FieldMessage(
                N_("village “{name}” is not in the villages layer; give the 12-digit code"), name=name)})
        return village_code  # a malformed code: the format check says so
    out["village_code"] = match.code
    return match.code


def update_proposal(ws, proposal_id: int, data: Mapping[str, Any], *, expected_version: int,
                    editable_statuses: tuple[str, ...] = ("draft", "returned")) -> Proposal:
    """Change fields of a draft or returned proposal (compare-and-set on ``version``).

    Raises
    ------
    ProposalInvalid
        Bad values.
    layers.workflow.ConflictError
        The proposal changed since ``expected_version`` was read, or it is no longer
        editable (someone submitted or reviewed it meanwhile).
    """
    if "village_code" in data or "town" in data or "village_name" in data or _blank(data.get("geometry", "x")):
        code = data.get("village_code") if "village_code" in data else get_proposal(ws, proposal_id).village_code
        data = _placed_by_village(ws, data, code)
    cleaned = _db_values(clean_proposal_data(data, partial=True))
    with ws.transaction() as con:
        create_tables(con)
        current = _read(con, proposal_id)
        if current.version != expected_version:
            msg = (f"proposal {proposal_id} was changed by someone else (version {current.version}, "
                   f"you edited version {expected_version}); reload it and apply your changes again")
            raise ConflictError(msg, current=current)
        if current.status not in editable_statuses:
            msg = f"proposal {proposal_id} is {current.status} and can no longer be edited"
            raise ConflictError(msg, current=current)
        if cleaned:
            sets = ", ".join(f"{k} = ?" for k in cleaned)
            con.execute(
                f"UPDATE rp_proposals SET {sets}, version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
                [*cleaned.values(), utc_now(), proposal_id, expected_version],
            )
        return _read(con, proposal_id)


def _read(con, proposal_id: int) -> Proposal:
    row = con.execute(f"SELECT {_select_list(con)} FROM rp_proposals WHERE id = ?", (int(proposal_id),)).fetchone()
    if row is None:
        raise ProposalNotFound(id=proposal_id)
    return _from_row(row)


def get_proposal(ws, proposal_id: int) -> Proposal:
    with ws.connect() as con:
        if not _has_tables(con):
            raise ProposalNotFound(id=proposal_id)
        return _read(con, proposal_id)


@dataclass(frozen=True)
class ProposalFilter:
    """Library list filters; ``None`` means "any"."""

    status: tuple[str, ...] | None = None
    town: str | None = None
    category: str | None = None
    min_budget_wan: float | None = None
    max_budget_wan: float | None = None
    year: int | None = None
    text: str | None = None


def list_proposals(ws, filters: ProposalFilter | None = None) -> list[Proposal]:
    """Proposals matching ``filters``, newest first."""
    f = filters or ProposalFilter()
    where, args = [], []
    if f.status:
        where.append(f"status IN ({', '.join('?' * len(f.status))})")
        args += list(f.status)
    for col, value in (("town", f.town), ("category", f.category), ("year", f.year)):
        if value not in (None, ""):
            where.append(f"{col} = ?")
            args.append(value)
    if f.min_budget_wan is not None:
        where.append("budget_wan >= ?")
        args.append(float(f.min_budget_wan))
    if f.max_budget_wan is not None:
        where.append("budget_wan <= ?")
        args.append(float(f.max_budget_wan))
    if f.text:
        # % and _ in the search text match themselves, not any text
        where.append("(name LIKE ? ESCAPE '\\' OR content LIKE ? ESCAPE '\\' OR village_name LIKE ? ESCAPE '\\')")
        pattern = f.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args += [f"%{pattern}%"] * 3
    sql = "SELECT {select} FROM rp_proposals"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC"
    with ws.connect() as con:
        if not _has_tables(con):
            return []
        return [_from_row(r) for r in con.execute(sql.format(select=_select_list(con)), args).fetchall()]


@dataclass(frozen=True)
class Transition:
    """One recorded workflow step (append-only)."""

    id: int
    proposal_id: int
    actor: str
    role: str
    at: str
    from_status: str | None
    to_status: str
    action: str
    comment: str | None
    version: int
    evaluation: dict | None = field(default=None, compare=False)

    def to_dict(self, *, include_evaluation: bool = True) -> dict[str, Any]:
        out = asdict(self)
        if not include_evaluation:
            out.pop("evaluation")
        return out


def history(ws, proposal_id: int) -> list[Transition]:
    """Every recorded step of a proposal, oldest first."""
    with ws.connect() as con:
        if not _has_tables(con):
            return []
        rows = con.execute(
            "SELECT id, proposal_id, actor, role, at, from_status, to_status, action, comment, version,"
            " evaluation_json FROM rp_transitions WHERE proposal_id = ? ORDER BY id",
            (int(proposal_id),),
        ).fetchall()
    return [Transition(*r[:10], evaluation=json.loads(r[10]) if r[10] else None) for r in rows]


def proposals_frame(proposals: Iterable[Proposal]):
    """Proposals as a GeoDataFrame in EPSG:4326 (one row each, lists kept as lists)."""
    import geopandas as gpd

    items = list(proposals)
    rows = [{k: v for k, v in p.to_dict(geometry="none").items() if k != "geometry_wkt"} for p in items]
    geoms = [p.geometry for p in items]
    return gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")


# --------------------------------------------------------------------------- demo seed
#: Words in a free-text 联农带农 description that name each kind of link.
_LINK_WORDS = (
    ("dividend", ("分红", "入股", "收益")),
    ("wage", ("务工", "就业", "工资", "劳动力")),
    ("land_rent", ("流转", "租金", "地租")),
    ("purchase_order", ("收购", "订单")),
)


def load_demo_proposals(ws) -> list[Proposal]:
    """Seed the library from the workspace meta ``demo_proposals`` (idempotent).

    Each seed is a dict with the :data:`FIELDS` names and ``geometry`` (WKT, GeoJSON or
    ``[lon, lat]``; ``lon``/``lat`` keys also work), an optional ``ref`` (``id``/``key``)
    that makes reseeding a no-op, and an optional ``status`` the seed starts in (then one
    ``seed`` transition records it). Seeds already present (same ref) are left as they are.
    """
    meta = ws.meta()
    seeds = meta.get("demo_proposals") or []
    year = int(meta.get("demo_year") or _dt.date.today().year)
    villages = ws.read_layer("villages") if seeds else None
    village_names = {} if villages is None else dict(zip(villages["code"].astype(str), villages["name"]))
    with ws.transaction() as con:
        create_tables(con)
        existing = {r[0] for r in con.execute("SELECT ref FROM rp_proposals WHERE ref IS NOT NULL")}
        for i, seed in enumerate(seeds):
            seed = dict(seed)
            ref = str(seed.pop("ref", None) or seed.pop("id", None) or seed.pop("key", None) or f"demo-{i + 1}")
            if ref in existing:
                continue
            if "geometry" not in seed:
                for key in ("wkt", "location"):
                    if key in seed:
                        seed["geometry"] = seed.pop(key)
                if "lon" in seed and "lat" in seed:
                    seed["geometry"] = (float(seed.pop("lon")), float(seed.pop("lat")))
            if "village_code" not in seed and "village" in seed:
                seed["village_code"] = seed.pop("village")
            if "link_to_farmers" in seed:  # the demo generator's free-text wording
                note = str(seed.pop("link_to_farmers") or "")
                seed.setdefault("farmer_link_note", note)
                seed.setdefault("farmer_links", [v for v, words in _LINK_WORDS if any(w in note for w in words)])
            seed.setdefault("village_name", village_names.get(str(seed.get("village_code"))))
            seed.setdefault("year", year)
            status = seed.pop("status", "draft") or "draft"
            if status not in STATUS_VALUES:
                msg = f"demo proposal {ref!r}: unknown status {status!r}"
                raise ValueError(msg)
            data = {k: v for k, v in seed.items() if k in FIELD_NAMES or k == "geometry"}
            created = create_proposal(ws, data, created_by="ruralplan demo", ref=ref, con=con)
            if status != "draft":
                con.execute("UPDATE rp_proposals SET status = ?, version = 2 WHERE id = ?", (status, created.id))
                con.execute(
                    "INSERT INTO rp_transitions(proposal_id, actor, role, at, from_status, to_status, action,"
                    " comment, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (created.id, "ruralplan demo", "system", utc_now(), "draft", status, "seed",
                     "demo data", 2),
                )
            existing.add(ref)
    return list_proposals(ws)


__all__ = [
    "CATEGORIES", "CATEGORY_VALUES", "COMMODITY_VALUES", "CONSTRUCTION_TYPES", "VILLAGE_BUDGET_WARN_WAN",
    "plausibility_warnings", "FARMER_LINKS", "FIELDS", "FUND_SOURCES", "LIST_FIELDS",
    "STATUSES", "STATUS_VALUES", "Proposal", "ProposalFilter", "ProposalInvalid", "ProposalNotFound",
    "Transition", "clean_proposal_data", "create_proposal", "ensure_tables", "get_proposal", "history",
    "list_proposals", "load_demo_proposals", "parse_geometry", "proposals_frame", "update_proposal",
]
