"""Layer schemas: field names, types, units, allowed values and bilingual labels.

One :class:`LayerSchema` per workspace layer. The schemas drive validation of imported
files, the GeoPackage column types, popups and tables in the web UI, and the CLI's
``info`` output, so a field is described exactly once, here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

#: Field types understood by validation and storage.
FIELD_TYPES = ("str", "int", "float", "bool", "date")


@dataclass(frozen=True)
class Choice:
    """One allowed value of an enumerated field, with its labels and import synonyms."""

    value: str
    zh: str
    en: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Field:
    """One column of a layer.

    ``aliases`` are alternative column headers accepted on import (Chinese headers from
    county spreadsheets, common English variants).
    """

    name: str
    type: str
    zh: str
    en: str
    required: bool = False
    unit: str | None = None
    choices: tuple[Choice, ...] = ()
    aliases: tuple[str, ...] = ()
    unique: bool = False
    pattern: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    default: object = None
    #: Shown in popups and sent to the browser map (keeps GeoJSON small when False).
    display: bool = True
    #: Household-level personal-ish data: only roles allowed to see households get it.
    sensitive: bool = False

    def __post_init__(self):
        if self.type not in FIELD_TYPES:
            msg = f"field {self.name!r}: unknown type {self.type!r}; expected one of {FIELD_TYPES}"
            raise ValueError(msg)

    @property
    def choice_values(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.choices)

    def choice(self, value: str) -> Choice | None:
        for c in self.choices:
            if c.value == value:
                return c
        return None

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang.startswith("zh") else self.en


@dataclass(frozen=True)
class LayerSchema:
    """A workspace layer: its geometry kinds, id field and fields."""

    name: str
    zh: str
    en: str
    geometry: tuple[str, ...]  # allowed geometry types; () = attribute table
    id_field: str
    fields: tuple[Field, ...]
    description: str = ""
    sensitive: bool = False
    #: ``(field, values)``: rows whose ``field`` is one of ``values`` are household-level
    #: data, shown like a ``sensitive`` layer's rows (by role and scope).
    sensitive_rows: tuple[str, tuple[str, ...]] | None = None
    #: False where a record is useful without a location (a village from a statistical
    #: list without coordinates, a pairing whose helper's base is unknown): a missing
    #: geometry is then a warning, not an error.
    geometry_required: bool = True

    @property
    def spatial(self) -> bool:
        return bool(self.geometry)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        msg = f"layer {self.name!r} has no field {name!r}"
        raise KeyError(msg)

    def has_field(self, name: str) -> bool:
        return name in self.field_names

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang.startswith("zh") else self.en

    def display_fields(self, *, include_sensitive: bool = True) -> tuple[Field, ...]:
        return tuple(
            f for f in self.fields if f.display and (include_sensitive or not f.sensitive)
        )


# --------------------------------------------------------------------------- commodities
#: Commodities tracked as produce columns ``produce_<value>_t`` on villages.
COMMODITIES: tuple[Choice, ...] = (
    Choice("apple", "苹果", "Apple", ("苹果",)),
    Choice("hawthorn", "山楂", "Hawthorn", ("山楂",)),
    Choice("vegetables", "蔬菜", "Vegetables", ("蔬菜", "设施蔬菜")),
    Choice("garlic", "大蒜", "Garlic", ("大蒜",)),
    Choice("edible_fungi", "食用菌", "Edible fungi", ("食用菌", "香菇", "木耳")),
    Choice("eucommia", "杜仲", "Eucommia", ("杜仲",)),
    Choice("tea", "茶叶", "Tea", ("茶", "茶叶", "藤茶")),
    Choice("kiwi", "猕猴桃", "Kiwi fruit", ("猕猴桃",)),
    Choice("flowers", "花卉苗木", "Flowers and nursery", ("花卉", "苗木", "花卉苗木")),
    Choice("grain", "粮食", "Grain", ("粮食", "小麦", "玉米")),
    Choice("livestock", "畜禽", "Livestock", ("畜牧", "养殖", "生猪", "肉牛", "畜禽")),
)
COMMODITY_VALUES = tuple(c.value for c in COMMODITIES)
_COMMODITY_LOOKUP = {key.lower(): c.value for c in COMMODITIES for key in (c.value, c.zh, c.en, *c.synonyms)}
_COMMODITY_ZH = {c.value: c.zh for c in COMMODITIES}
#: Separators county lists use between products: , ， ; ； 、 / and white space.
_LIST_SEPARATORS = re.compile(r"[,，;；、/\s]+")


def commodity_codes(text) -> tuple[str, ...]:
    """The one parser of a commodity list (a cold store's 适用产品): codes in order, once each.

    ``"山楂；蔬菜"``, ``"山楂、蔬菜"``, ``"hawthorn, Vegetables"`` and ``"山楂/设施蔬菜"`` all give
    ``("hawthorn", "vegetables")``; labels, codes and synonyms are recognised, unknown
    words are left out (see :func:`canonical_commodity_list` to keep them). Empty → ``()``.
    """
    out: list[str] = []
    for token in _tokens(text):
        code = _COMMODITY_LOOKUP.get(token.lower())
        if code is not None and code not in out:
            out.append(code)
    return tuple(out)


def canonical_commodity_list(text) -> str | None:
    """The stored form of a commodity list: Chinese labels joined by ``,`` (``"山楂,蔬菜"``),
    words that are no known commodity kept as written; None when empty. Applied on import,
    so every reader sees one spelling."""
    out: list[str] = []
    for token in _tokens(text):
        code = _COMMODITY_LOOKUP.get(token.lower())
        word = _COMMODITY_ZH[code] if code is not None else token
        if word not in out:
            out.append(word)
    return ",".join(out) or None


def _tokens(text) -> list[str]:
    if text is None or (isinstance(text, float) and text != text):  # None / NaN
        return []
    return [t for t in _LIST_SEPARATORS.split(str(text).strip()) if t]


def produce_field_name(commodity: str) -> str:
    """Column holding a village's yearly produce of ``commodity`` in tonnes."""
    if commodity not in COMMODITY_VALUES:
        msg = f"unknown commodity {commodity!r}; expected one of {', '.join(COMMODITY_VALUES)}"
        raise ValueError(msg)
    return f"produce_{commodity}_t"


def _yes_no(name, zh, en, aliases=()):
    return Field(name, "bool", zh, en, aliases=aliases, default=False)


_CODE12 = r"^\d{12}$"

VILLAGES = LayerSchema(
    name="villages",
    zh="行政村",
    en="Villages",
    geometry=("Point",),
    id_field="code",
    description="Administrative villages with their poverty-alleviation status and produce.",
    geometry_required=False,
    fields=(
        Field("code", "str", "统计用区划代码", "Statistical code", required=True, unique=True,
              pattern=_CODE12, aliases=("村代码", "区划代码", "行政区划代码", "村编码", "编码", "代码", "id")),
        Field("name", "str", "村名", "Village name", required=True,
              aliases=("村名称", "行政村", "村", "名称", "行政村名称", "village")),
        Field("town", "str", "乡镇", "Town", required=True,
              aliases=("乡镇名称", "所属乡镇", "镇", "乡镇（街道）", "乡镇(街道)", "township")),
        Field("population", "int", "人口", "Population", unit="人", min_value=0,
              aliases=("总人口", "户籍人口", "人口数", "pop")),
        Field("households", "int", "户数", "Households", unit="户", min_value=0,
              aliases=("总户数", "户籍户数")),
        _yes_no("former_poor", "脱贫村", "Former poor village", ("是否脱贫村", "原贫困村", "贫困村")),
        _yes_no("key_village", "重点帮扶村", "Key assistance village", ("乡村振兴重点帮扶村", "是否重点帮扶村")),
        _yes_no("demonstration", "示范村", "Demonstration village", ("乡村振兴示范村", "是否示范村")),
        _yes_no("weak_org", "软弱涣散村", "Weak party organisation", ("党组织软弱涣散村", "是否软弱涣散")),
        Field("monitored_unstable", "int", "脱贫不稳定户", "Unstable after exit (households)", unit="户",
              min_value=0, default=0, aliases=("脱贫不稳定户数",)),
        Field("monitored_marginal", "int", "边缘易致贫户", "Marginal, at risk (households)", unit="户",
              min_value=0, default=0, aliases=("边缘易致贫户数",)),
        Field("monitored_sudden", "int", "突发严重困难户", "Sudden severe hardship (households)", unit="户",
              min_value=0, default=0, aliases=("突发严重困难户数",)),
        Field("income_per_capita_yuan", "float", "人均可支配收入", "Income per capita", unit="元",
              min_value=0, aliases=("人均收入", "人均纯收入", "人均可支配收入(元)")),
        Field("industries", "str", "主导产业", "Leading industries", aliases=("产业", "主导产业")),
        Field("urban_rural", "str", "城乡分类代码", "Urban–rural class", display=False,
              aliases=("城乡分类", "ur_code")),
        *(
            Field(f"produce_{c.value}_t", "float", f"{c.zh}产量", f"{c.en} output", unit="吨/年",
                  min_value=0, default=0.0, aliases=(f"{c.zh}产量", f"{c.zh}产量(吨)", f"{c.zh}(吨)"))
            for c in COMMODITIES
        ),
    ),
)

TOWNS = LayerSchema(
    name="towns",
    zh="乡镇驻地",
    en="Town centres",
    geometry=("Point",),
    id_field="code",
    description="Township seats (乡镇政府驻地), the usual candidate sites and service centres.",
    geometry_required=False,
    fields=(
        Field("code", "str", "统计用区划代码", "Statistical code", required=True, unique=True,
              pattern=_CODE12, aliases=("乡镇代码", "区划代码", "代码")),
        Field("name", "str", "乡镇", "Town", required=True, aliases=("乡镇名称", "名称")),
        Field("population", "int", "人口", "Population", unit="人", min_value=0),
    ),
)

INDUSTRY_KINDS = (
    Choice("planting", "种植基地", "Planting base", ("种植", "种植基地")),
    Choice("breeding", "养殖基地", "Breeding base", ("养殖", "养殖基地")),
    Choice("processing", "加工厂", "Processing plant", ("加工", "加工厂", "加工基地")),
    Choice("workshop", "帮扶车间", "Assistance workshop", ("帮扶车间", "就业帮扶车间", "社区工厂")),
    Choice("park", "农业园区", "Agricultural park", ("园区", "现代农业园区", "产业园")),
)

INDUSTRY_BASES = LayerSchema(
    name="industry_bases",
    zh="产业基地",
    en="Industry bases",
    geometry=("Point", "Polygon", "MultiPolygon"),
    id_field="id",
    fields=(
        Field("id", "str", "编号", "ID", required=True, unique=True, aliases=("编号", "基地编号")),
        Field("name", "str", "名称", "Name", required=True, aliases=("基地名称", "名称")),
        Field("kind", "str", "类型", "Kind", required=True, choices=INDUSTRY_KINDS, aliases=("类型", "基地类型")),
        Field("commodity", "str", "产品", "Commodity", choices=COMMODITIES, aliases=("产品", "品种", "产业")),
        Field("area_mu", "float", "面积", "Area", unit="亩", min_value=0, aliases=("面积", "面积(亩)", "规模(亩)")),
        Field("output_t", "float", "年产量", "Yearly output", unit="吨", min_value=0, aliases=("产量", "年产量(吨)")),
        Field("jobs", "int", "带动就业", "Jobs", unit="人", min_value=0, aliases=("就业人数", "带动就业人数")),
        Field("village_code", "str", "所在村代码", "Host village code", pattern=_CODE12,
              aliases=("所在村", "村代码")),
        Field("town", "str", "乡镇", "Town", aliases=("乡镇", "所属乡镇")),
    ),
)

COLD_STORAGE_KINDS = (
    Choice("fresh_keeping", "保鲜库", "Fresh-keeping store", ("保鲜库", "冷藏库")),
    Choice("freezer", "冷冻库", "Freezer", ("冷冻库", "速冻库")),
    Choice("controlled_atmosphere", "气调库", "Controlled-atmosphere store", ("气调库",)),
    Choice("hub", "冷链集配中心", "Cold-chain hub", ("冷链集配中心", "集配中心", "冷链物流中心")),
)
FACILITY_STATUS = (
    Choice("existing", "已建成", "Existing", ("已建", "已建成", "现有")),
    Choice("under_construction", "在建", "Under construction", ("在建", "建设中")),
    Choice("planned", "规划", "Planned", ("规划", "拟建", "计划")),
)

COLD_STORAGE = LayerSchema(
    name="cold_storage",
    zh="冷库",
    en="Cold stores",
    geometry=("Point",),
    id_field="id",
    fields=(
        Field("id", "str", "编号", "ID", required=True, unique=True, aliases=("编号",)),
        Field("name", "str", "名称", "Name", required=True, aliases=("名称", "冷库名称")),
        Field("kind", "str", "类型", "Kind", required=True, choices=COLD_STORAGE_KINDS, aliases=("类型", "冷库类型")),
        Field("capacity_t", "float", "库容", "Capacity", unit="吨", min_value=0, required=True,
              aliases=("库容", "库容(吨)", "容量(吨)", "容量")),
        Field("commodities", "str", "适用产品", "Commodities", aliases=("产品", "适用产品", "储藏品种")),
        Field("status", "str", "状态", "Status", required=True, choices=FACILITY_STATUS, default="existing",
              aliases=("状态", "建设状态")),
        Field("investment_wan", "float", "投资", "Investment", unit="万元", min_value=0,
              aliases=("投资", "投资(万元)", "总投资")),
        Field("village_code", "str", "所在村代码", "Host village code", pattern=_CODE12, aliases=("村代码", "所在村")),
        Field("town", "str", "乡镇", "Town", aliases=("乡镇", "所属乡镇")),
    ),
)

RELOCATION_SETTLEMENTS = LayerSchema(
    name="relocation_settlements",
    zh="易地扶贫搬迁安置点",
    en="Relocation settlements",
    geometry=("Point", "Polygon", "MultiPolygon"),
    id_field="id",
    fields=(
        Field("id", "str", "编号", "ID", required=True, unique=True, aliases=("编号",)),
        Field("name", "str", "名称", "Name", required=True, aliases=("安置点名称", "名称")),
        Field("households", "int", "安置户数", "Households", unit="户", min_value=0, required=True,
              aliases=("户数", "安置户数")),
        Field("people", "int", "安置人数", "People", unit="人", min_value=0, required=True,
              aliases=("人数", "安置人数", "人口")),
        Field("origin_villages", "str", "迁出村代码", "Origin village codes",
              aliases=("迁出村", "迁出村代码")),
        Field("jobs", "int", "社区工厂就业", "Community-factory jobs", unit="人", min_value=0,
              aliases=("就业岗位", "社区工厂就业")),
        Field("town", "str", "乡镇", "Town", aliases=("乡镇", "所属乡镇")),
    ),
)

HOUSEHOLD_KINDS = (
    Choice("unstable", "脱贫不稳定户", "Unstable after exit", ("脱贫不稳定户", "不稳定户")),
    Choice("marginal", "边缘易致贫户", "Marginal, at risk", ("边缘易致贫户", "边缘户")),
    Choice("sudden", "突发严重困难户", "Sudden severe hardship", ("突发严重困难户", "突发困难户")),
)
RISK_LEVELS = (
    Choice("high", "高", "High", ("高", "高风险")),
    Choice("medium", "中", "Medium", ("中", "中风险")),
    Choice("low", "低", "Low", ("低", "低风险")),
)

HOUSEHOLDS = LayerSchema(
    name="households",
    zh="监测户",
    en="Monitored households",
    geometry=(),
    id_field="id",
    sensitive=True,
    description="Monitored households (防止返贫监测对象): an opaque id only, never names or ID numbers.",
    fields=(
        Field("id", "str", "户编号", "Household ID", required=True, unique=True, aliases=("户编号", "编号")),
        Field("village_code", "str", "所在村代码", "Village code", required=True, pattern=_CODE12,
              aliases=("村代码", "所在村")),
        Field("kind", "str", "监测类型", "Kind", required=True, choices=HOUSEHOLD_KINDS,
              aliases=("监测类型", "类型", "户类型")),
        Field("risk", "str", "风险等级", "Risk level", required=True, choices=RISK_LEVELS,
              aliases=("风险等级", "风险")),
        Field("members", "int", "家庭人口", "Members", unit="人", min_value=0, aliases=("人口", "家庭人口")),
        Field("income_per_capita_yuan", "float", "人均纯收入", "Income per capita", unit="元", min_value=0,
              aliases=("人均纯收入", "人均收入")),
    ),
)

HELPER_KINDS = (
    Choice("east_west", "东西部协作", "East–west partner", ("东西部协作", "东西协作")),
    Choice("central_unit", "中央定点帮扶单位", "Designated central unit", ("定点帮扶", "中央单位")),
    Choice("enterprise", "企业", "Enterprise", ("企业", "万企兴万村", "民营企业")),
    Choice("municipal_unit", "市县后盾单位", "Municipal backing unit", ("后盾单位", "市直单位")),
    Choice("cadre", "帮扶责任人", "Responsible cadre", ("帮扶责任人", "帮扶干部")),
    Choice("first_secretary", "第一书记", "First secretary", ("第一书记",)),
    Choice("work_team", "驻村工作队", "Resident work team", ("驻村工作队", "工作队")),
)
TARGET_KINDS = (
    Choice("village", "村", "Village", ("村", "行政村")),
    Choice("household", "户", "Household", ("户", "农户", "监测户")),
    Choice("settlement", "安置点", "Settlement", ("安置点",)),
)

PAIRINGS = LayerSchema(
    name="pairings",
    zh="结对帮扶",
    en="Assistance pairings",
    geometry=("Point",),  # the helper's base, when known (empty otherwise)
    id_field="id",
    geometry_required=False,
    sensitive_rows=("target_kind", ("household",)),
    fields=(
        Field("id", "str", "编号", "ID", required=True, unique=True, aliases=("编号",)),
        Field("helper_id", "str", "帮扶方编号", "Helper ID", aliases=("帮扶方编号", "帮扶人编号")),
        Field("helper_name", "str", "帮扶方", "Helper", required=True, aliases=("帮扶方", "帮扶单位", "帮扶人")),
        Field("helper_kind", "str", "帮扶类型", "Helper kind", required=True, choices=HELPER_KINDS,
              aliases=("帮扶类型", "帮扶方类型")),
        Field("helper_county_code", "str", "帮扶方所在县代码", "Helper's county code",
              aliases=("帮扶人所在县",)),
        Field("target_kind", "str", "帮扶对象类型", "Target kind", required=True, choices=TARGET_KINDS,
              aliases=("对象类型",)),
        Field("target_id", "str", "帮扶对象编号", "Target ID", required=True, aliases=("对象编号", "帮扶对象")),
        Field("start_date", "date", "开始日期", "Start date", aliases=("开始日期", "结对时间")),
    ),
)

ROAD_CLASSES = (
    # access-controlled (entered only at interchanges); OSM motorway, trunk + motorroad=yes
    Choice("expressway", "高速公路", "Expressway", ("高速公路", "高速", "motorway", "高速路")),
    Choice("national", "国道", "National road", ("国道", "G")),
    Choice("provincial", "省道", "Provincial road", ("省道", "S")),
    Choice("county", "县道", "County road", ("县道", "X")),
    Choice("township", "乡道", "Township road", ("乡道", "Y")),
    Choice("village", "村道", "Village road", ("村道", "C")),
    Choice("other", "其他道路", "Other road", ("其他", "其它")),
)
SURFACES = (
    Choice("paved", "硬化", "Paved", ("硬化", "沥青", "水泥", "铺装")),
    Choice("unpaved", "未硬化", "Unpaved", ("未硬化", "砂石", "土路")),
)

ROADS = LayerSchema(
    name="roads",
    zh="道路",
    en="Roads",
    geometry=("LineString", "MultiLineString"),
    id_field="id",
    fields=(
        Field("id", "str", "编号", "ID", required=True, unique=True, aliases=("编号", "道路编号")),
        Field("name", "str", "名称", "Name", aliases=("道路名称", "名称")),
        Field("road_class", "str", "等级", "Class", required=True, choices=ROAD_CLASSES,
              aliases=("等级", "道路等级", "技术等级", "class")),
        Field("surface", "str", "路面", "Surface", choices=SURFACES, default="paved", aliases=("路面", "路面类型")),
        Field("speed_kmh", "float", "设计速度", "Speed", unit="km/h", min_value=1, max_value=130,
              aliases=("速度", "设计速度", "限速")),
        Field("oneway", "bool", "单行", "One-way", default=False, aliases=("单行", "单向")),
    ),
)

BOUNDARY_LEVELS = (
    Choice("county", "县", "County", ("县", "县级")),
    Choice("town", "乡镇", "Town", ("乡", "镇", "乡镇", "街道")),
)

BOUNDARIES = LayerSchema(
    name="boundaries",
    zh="行政区界",
    en="Boundaries",
    geometry=("Polygon", "MultiPolygon"),
    id_field="code",
    fields=(
        Field("code", "str", "区划代码", "Code", required=True, unique=True, aliases=("代码", "区划代码")),
        Field("name", "str", "名称", "Name", required=True, aliases=("名称",)),
        Field("level", "str", "级别", "Level", required=True, choices=BOUNDARY_LEVELS, aliases=("级别", "层级")),
    ),
)

CONSTRAINT_KINDS = (
    Choice("basic_farmland", "永久基本农田", "Permanent basic farmland", ("永久基本农田", "基本农田")),
    Choice("ecological_redline", "生态保护红线", "Ecological red line", ("生态保护红线", "生态红线")),
    Choice("hazard", "地质灾害隐患区", "Hazard zone", ("地灾", "地质灾害", "灾害隐患区", "洪涝")),
)

CONSTRAINTS = LayerSchema(
    name="constraints",
    zh="管控区",
    en="Constraint zones",
    geometry=("Polygon", "MultiPolygon"),
    id_field="id",
    fields=(
        Field("id", "str", "编号", "ID", required=True, unique=True, aliases=("编号",)),
        Field("name", "str", "名称", "Name", aliases=("名称",)),
        Field("kind", "str", "类型", "Kind", required=True, choices=CONSTRAINT_KINDS, aliases=("类型",)),
    ),
)

#: Every workspace layer in display order.
LAYERS: Mapping[str, LayerSchema] = MappingProxyType({
    s.name: s
    for s in (
        BOUNDARIES, CONSTRAINTS, ROADS, VILLAGES, TOWNS, INDUSTRY_BASES, COLD_STORAGE,
        RELOCATION_SETTLEMENTS, HOUSEHOLDS, PAIRINGS,
    )
})


def get_schema(layer: str) -> LayerSchema:
    """The schema of ``layer``; a clear error listing the known layers otherwise."""
    try:
        return LAYERS[layer]
    except KeyError:
        from .errors import UnknownLayerName

        raise UnknownLayerName(layer=repr(layer), expected=", ".join(LAYERS)) from None
