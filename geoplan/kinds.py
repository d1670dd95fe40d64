"""The registry of layer kinds a workspace can hold.

A *kind* is a canonical snake_case name (``flood_zone``, ``power_line``, …) with
a Chinese label, the geometry families it accepts and the fields it carries.
Rules name kinds, never file names: ``geoplan.toml`` maps a planner's files onto
kinds, and loading a layer checks it against its kind.

Examples
--------
>>> from geoplan.kinds import get_kind
>>> k = get_kind("power_line")
>>> k.label_zh, k.families, [f.name for f in k.required_fields]
('电力线路', ('line',), ['voltage_kv'])
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

from .core import SUBJECT_LABELS
from .errors import WorkspaceError

__all__ = ["KINDS", "SITE_SUBJECTS", "FieldSpec", "LayerKind", "get_kind", "is_kind"]

Family = Literal["point", "line", "polygon", "raster"]
FieldType = Literal["str", "int", "float", "bool"]


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of a layer kind."""

    name: str
    type: FieldType = "str"
    required: bool = False
    label_zh: str = ""
    vocab: str | None = None
    """The canonical value vocabulary (:mod:`geoplan.vocab`) the field's values are mapped to."""


@dataclass(frozen=True)
class LayerKind:
    """A kind of layer: name, labels, accepted geometry families and fields.

    Attributes
    ----------
    name : str
        The canonical snake_case name (``flood_zone``).
    label_zh, label_en : str
        Chinese and English labels.
    families : tuple of str
        Accepted geometry families: ``point``, ``line``, ``polygon`` or ``raster``.
    fields : tuple of FieldSpec
        The attributes a layer of this kind carries (some required).
    group : str
        The group it is styled and listed under (``hazard``, ``water``, …).
    """

    name: str
    label_zh: str
    label_en: str
    families: tuple[Family, ...]
    fields: tuple[FieldSpec, ...] = field(default=())
    group: str = "other"

    @property
    def required_fields(self) -> tuple[FieldSpec, ...]:
        """The fields a layer of this kind must have."""
        return tuple(f for f in self.fields if f.required)

    @property
    def is_raster(self) -> bool:
        """Whether the kind is a raster (read with rasterio, not as features)."""
        return self.families == ("raster",)

    @property
    def label(self) -> str:
        """``"中文 / English"``, for tables and legends."""
        return f"{self.label_zh} / {self.label_en}"


def _f(name: str, type: FieldType = "str", *, req: bool = False, zh: str = "",
       vocab: str | None = None) -> FieldSpec:
    if vocab is None and type == "bool":
        vocab = "yes_no"
    return FieldSpec(name=name, type=type, required=req, label_zh=zh, vocab=vocab)


_HAZARD_FIELDS = (_f("level", zh="等级"), _f("hazard_type", zh="灾害类型"), _f("name", zh="名称"))

_KIND_LIST: tuple[LayerKind, ...] = (
    # planning units
    LayerKind("village", "村庄", "Village", ("point", "polygon"), (
        _f("name", req=True, zh="村名"), _f("township", zh="乡镇"),
        _f("layout_class", zh="村庄布局分类", vocab="layout_class"), _f("population", "int", zh="人口"),
        _f("is_demo", "bool", zh="示范村"), _f("has_plan", "bool", zh="已编规划"),
    ), group="planning"),
    LayerKind("village_boundary", "村庄建设边界", "Village construction boundary", ("polygon",),
              (_f("village", zh="村名"),), group="planning"),
    LayerKind("urban_boundary", "城镇开发边界", "Urban development boundary", ("polygon",),
              group="planning"),
    # land
    LayerKind("landuse", "土地利用现状", "Land use", ("polygon",), (
        _f("code", req=True, zh="地类编码"), _f("name", zh="地类名称"),
    ), group="land"),
    LayerKind("farmland", "耕地", "Farmland", ("polygon",), (_f("code", zh="地类编码"),),
              group="land"),
    LayerKind("farmland_redline", "永久基本农田", "Permanent basic farmland (red line)",
              ("polygon",), group="redline"),
    LayerKind("ecological_redline", "生态保护红线", "Ecological protection red line",
              ("polygon",), group="redline"),
    LayerKind("forest_land", "林地", "Forest land", ("polygon",), (_f("code", zh="地类编码"),),
              group="land"),
    # hazards
    LayerKind("flood_zone", "洪水淹没区", "Flood zone", ("polygon",), _HAZARD_FIELDS,
              group="hazard"),
    LayerKind("flood_channel", "行洪河道", "Flood channel", ("polygon",), _HAZARD_FIELDS,
              group="hazard"),
    LayerKind("flood_storage", "蓄滞洪区", "Flood storage and detention area", ("polygon",),
              _HAZARD_FIELDS, group="hazard"),
    LayerKind("landslide_zone", "滑坡危险区", "Landslide hazard zone", ("polygon",),
              _HAZARD_FIELDS, group="hazard"),
    LayerKind("debris_flow_zone", "泥石流危险区", "Debris-flow hazard zone", ("polygon",),
              _HAZARD_FIELDS, group="hazard"),
    LayerKind("geohazard_zone", "地质灾害危险区", "Geological hazard zone", ("polygon",),
              _HAZARD_FIELDS, group="hazard"),
    LayerKind("subsidence_zone", "地质塌陷区", "Subsidence zone", ("polygon",), _HAZARD_FIELDS,
              group="hazard"),
    LayerKind("gully", "冲沟", "Gully", ("line", "polygon"), (_f("name", zh="名称"),),
              group="hazard"),
    LayerKind("active_fault", "活动断裂", "Active fault", ("line",), (
        _f("name", zh="名称"), _f("holocene", "bool", zh="全新世活动"),
    ), group="hazard"),
    # water
    LayerKind("water_source_zone", "饮用水水源保护区", "Drinking-water source protection zone",
              ("polygon",), (_f("level", req=True, zh="保护区级别", vocab="protection_level"), _f("name", zh="名称"),
                             _f("population_served", "int", zh="供水人口")), group="water"),
    LayerKind("water_body", "水域", "Water body", ("polygon",), (_f("name", zh="名称"),),
              group="water"),
    LayerKind("water_main", "供水管网", "Water main", ("line",), (_f("name", zh="名称"),),
              group="water"),
    # infrastructure
    LayerKind("road", "道路", "Road", ("line", "polygon"), (
        _f("road_id", zh="道路编号"), _f("class", zh="道路等级", vocab="road_class"), _f("surface", zh="路面", vocab="surface"),
        _f("width_m", "float", zh="路宽(米)"), _f("status", zh="状态", vocab="status"),
    ), group="infrastructure"),
    LayerKind("bridge", "桥梁", "Bridge", ("point", "line"), (_f("condition", zh="技术状况"),),
              group="infrastructure"),
    LayerKind("power_line", "电力线路", "Power line", ("line",), (
        _f("voltage_kv", "float", req=True, zh="电压(千伏)"),
        _f("status", zh="状态", vocab="status"),
    ), group="power"),
    LayerKind("substation", "变电站", "Substation", ("point", "polygon"), (
        _f("voltage_kv", "float", zh="电压(千伏)"), _f("name", zh="名称"),
    ), group="power"),
    # heritage and ecology
    LayerKind("heritage_zone", "历史文化保护范围", "Heritage protection zone", ("polygon",),
              (_f("name", zh="名称"),), group="heritage"),
    LayerKind("old_tree", "古树名木", "Old and notable tree", ("point",), (
        _f("species", zh="树种"), _f("age_years", "int", zh="树龄"),
    ), group="heritage"),
    # services
    LayerKind("facility", "公共服务设施", "Public facility", ("point", "polygon"), (
        _f("kind", req=True, zh="设施类型", vocab="facility_kind"), _f("name", zh="名称"), _f("capacity", "int", zh="规模"),
    ), group="service"),
    # terrain
    LayerKind("dem", "数字高程模型", "Digital elevation model", ("raster",), group="terrain"),
)

KINDS: dict[str, LayerKind] = {k.name: k for k in _KIND_LIST}
"""Every layer kind geoplan knows, by name."""

SITE_SUBJECTS: dict[str, tuple[str, str]] = dict(SUBJECT_LABELS)
"""The subjects a batch of sites can be checked as, with Chinese and English labels."""


def is_kind(name: str) -> bool:
    """Whether ``name`` is a known layer kind."""
    return name in KINDS


def get_kind(name: str) -> LayerKind:
    """Return the kind called ``name``.

    Parameters
    ----------
    name
        A kind name of :data:`KINDS` (``flood_zone``, ``power_line``, …).

    Returns
    -------
    LayerKind
        The registered kind.

    Raises
    ------
    WorkspaceError
        If there is no such kind; the message suggests the nearest names.
    """
    try:
        return KINDS[name]
    except KeyError:
        close = difflib.get_close_matches(name, KINDS, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise WorkspaceError(
            f"unknown layer kind {name!r}.{hint} Known kinds: {', '.join(sorted(KINDS))}."
        ) from None
