"""The catalogue of the rule kinds' messages: every Chinese and English wording, side by side.

The rule kinds (:mod:`geoplan.engine.kinds`) measure and decide; the wording
of what they report lives here. :data:`CATALOGUE` maps a stable key
(``"<kind or module>.<situation>"``, e.g. ``"overlap.inside"``) to a pair of
templates, Chinese first, written with :meth:`str.format` fields::

    "overlap.inside": ("与{layer}重叠 {area:.1f} 平方米（{mu:.3f} 亩，占 {pct:.0f}%）",
                       "overlaps {layer} by {area:.1f} m² ({mu:.3f} mu, {pct:.0f}% of the site)"),

:func:`say` fills a pair for every site at once and keeps the text lazy
(:class:`~geoplan.engine.outcome.Text`), so a message is formatted only for
the sites it is assigned to by :meth:`~geoplan.engine.outcome.Outcome.set`
— the few that fail, not the whole batch. What a field is given decides how it
is filled:

* a numeric array (one value per site): formatted per site with the field's
  format spec, ``—`` where the value is not finite (:func:`~geoplan.engine.outcome.fmt`);
* any other array (per-site texts, an object array): joined in per site as it is;
* :class:`~geoplan.engine.outcome.Text`: joined in, still lazy;
* a tuple of two: the Chinese and the English value (e.g. another message from
  :func:`say`), each then filled as above;
* anything else (a number, a text): formatted now, as :func:`format` does.

``{layer}`` is the label of the rule's layer kind in each language
(:func:`~geoplan.engine.outcome.layer_label`); ``{layer!l}`` is it in lower
case. A detail that exists in English only (a reason written by another
module, the name of a TOML section) is a field whose name ends in ``_en``, used
by the English template alone; one in Chinese only ends in ``_zh``; every other
field appears in both templates.

Adding a message
----------------
1. Add ``"<kind>.<situation>": ("中文模板", "English template")`` to
   :data:`CATALOGUE`, under its kind, with the same fields in both templates
   (an English-only detail aside, named ``…_en``); a number's format spec
   (``{distance:.1f}``) is part of the wording, so it is written here too.
2. In the kind's ``evaluate``, call ``say("<kind>.<situation>", rule, field=values)``
   (or :func:`tell`, which also assigns it to a mask of sites) with the key written
   out as a literal: ``tests/test_messages.py`` reads the kinds' source and fails
   on a key used but missing here, or listed here but used nowhere.

Examples
--------
>>> import numpy as np
>>> from geoplan.engine.outcome import Outcome
>>> from geoplan.rules import load_pack
>>> rule = load_pack()["house.flood_zone"]
>>> zh, en = say("overlap.inside", rule, area=np.array([12.34, np.nan]),
...              mu=np.array([0.0185, 0.0]), pct=np.array([37.4, 0.0]))
>>> out = Outcome(2)
>>> out.set(np.array([True, True]), zh=zh, en=en)
>>> print(out.zh[0]); print(out.en[1])
与洪水淹没区重叠 12.3 平方米（0.018 亩，占 37%）
overlaps Flood zone by — m² (0.000 mu, 0% of the site)
>>> say("attribute.missing_field", field="width_m")
('选址缺少字段 width_m', 'the sites have no width_m field; add it to check this rule')
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from .outcome import Outcome, Text, fmt, layer_label, where_text

if TYPE_CHECKING:
    from ..rules import Rule

__all__ = ["CATALOGUE", "Said", "pick", "say", "tell"]

Said: TypeAlias = tuple[Text | str, Text | str]
"""A message in Chinese and English: each a text, or :class:`Text` formatted per site."""

CATALOGUE: Mapping[str, tuple[str, str]] = MappingProxyType({
    # avoid on a point layer (old trees) or a line layer
    "avoid.no_footprint": (
        "点状或线状选址无宅基范围，无法核查{layer}；请提供宅基面或使用 --footprint-m",
        "a point or line site has no footprint to hold {layer} against; give footprints or "
        "use --footprint-m"),
    "avoid.points_inside": (
        "宅基范围内有{layer} {count:.0f} 处",
        "{count:.0f} {layer} feature(s) inside the footprint"),
    "avoid.no_points_inside": (
        "宅基范围内无{layer}",
        "no {layer} inside the footprint"),
    "avoid.line_crosses": (
        "与{layer}相交",
        "intersects the {layer}"),
    "avoid.line_clear": (
        "不与{layer}相交",
        "does not intersect the {layer}"),
    "avoid.runs_through": (
        "{layer}穿过宅基 {length:.1f} 米",
        "{layer} runs {length:.1f} m through the footprint"),
    "avoid.none_through": (
        "宅基内无{layer}",
        "no {layer} through the footprint"),
    # overlap with a polygon layer (avoid, overlap_limit, within)
    "overlap.inside": (
        "与{layer}重叠 {area:.1f} 平方米（{mu:.3f} 亩，占 {pct:.0f}%）",
        "overlaps {layer} by {area:.1f} m² ({mu:.3f} mu, {pct:.0f}% of the site)"),
    "overlap.touches": (
        "与{layer}仅边缘接触（{area:.2f} 平方米，低于容差）",
        "touches {layer} only ({area:.2f} m², below the tolerance)"),
    "overlap.none": (
        "未与{layer}重叠",
        "no overlap with {layer}"),
    "overlap.outside": (
        "超出{layer} {area:.1f} 平方米（{pct:.0f}%）",
        "lies {area:.1f} m² outside the {layer} ({pct:.0f}% of the site)"),
    "overlap.within": (
        "位于{layer}内",
        "inside the {layer}"),
    "overlap.centreline_no_width": (
        "道路缺少路宽(width_m)，无法计算占地面积",
        "the road has no width_m, so its footprint area cannot be measured; add the width"),
    "overlap.centreline_inside": (
        "中线穿越{layer} {length:.1f} 米（路宽缺失，按中线核查）",
        "centreline runs {length:.1f} m inside the {layer} (no width: checked on the "
        "centreline)"),
    "overlap.centreline_clear": (
        "未穿越{layer}",
        "does not cross the {layer}"),
    "overlap.centreline_outside": (
        "中线有 {length:.1f} 米位于{layer}外",
        "centreline runs {length:.1f} m outside the {layer}"),
    "overlap.point_no_area": (
        "点状选址无面积，无法核查占地面积",
        "a point site has no area to measure; give a footprint (--footprint-m)"),
    "overlap.point_inside": (
        "选址点位于{layer}内",
        "the site point lies inside the {layer}"),
    "overlap.point_not_inside": (
        "选址点不在{layer}内（距 {distance:.0f} 米）",
        "the site point is outside the {layer} ({distance:.0f} m away)"),
    "overlap.point_not_inside_far": (
        "选址点不在{layer}内（距离超过 {radius:g} 米）",
        "the site point is outside the {layer} (more than {radius:g} m away)"),
    "overlap.point_outside": (
        "选址点位于{layer}外 {distance:.0f} 米",
        "the site point lies {distance:.0f} m outside the {layer}"),
    "overlap.point_outside_far": (
        "选址点位于{layer}外超过 {radius:g} 米",
        "the site point lies more than {radius:g} m outside the {layer}"),
    # setback
    "setback.missing_field": (
        "{layer}缺少字段 {field}，无法确定保护距离",
        "the {layer} layer has no {field} field, so the required distance is unknown; map it "
        "in geoplan.toml"),
    "setback.too_close": (
        "距{layer}仅 {distance:.1f} 米，小于要求的 {required:g} 米",
        "only {distance:.1f} m from the {layer}; at least {required:g} m required"),
    "setback.too_close_by_value": (
        "距{layer}（{field} = {value:g}）仅 {distance:.1f} 米，小于要求的 {required:g} 米",
        "only {distance:.1f} m from the {layer} ({field} = {value:g}); at least {required:g} m "
        "required"),
    "setback.too_close_unknown_value": (
        "距{layer}仅 {distance:.1f} 米，其 {field} 未知（{reason}），但表中最小的保护距离也有 "
        "{least:g} 米：无论取值如何，均位于保护区内",
        "only {distance:.1f} m from the {layer}, whose {field} is unknown ({reason}); every "
        "distance in the table is at least {least:g} m, so the site is inside its protection "
        "zone whatever the value"),
    "setback.undecided": (
        "{layer}（要素 {fids}）距离 {distance:.1f} 米，其 {field} 未知（{reason}）：在表中最小"
        "保护距离 {least:g} 米之外、最大 {most:g} 米之内，是否位于保护区取决于取值；请补全 {field}",
        "the {layer} (fid {fids}) {distance:.1f} m away has no usable {field} ({reason}): "
        "beyond the smallest distance in the table ({least:g} m) but within the largest "
        "({most:g} m), so whether the site is inside its protection zone depends on the "
        "value; fill {field}"),
    "setback.clear": (
        "距最近{layer} {distance:.1f} 米",
        "{distance:.1f} m from the nearest {layer}"),
    "setback.clear_far": (
        "距最近{layer}超过 {radius:g} 米",
        "more than {radius:g} m from the nearest {layer}"),
    # setback: why a feature's value gives no row of the distance table
    "setback.value_missing": (
        "为空或无法识别",
        "NULL or unreadable"),
    "setback.value_negative": (
        "{value:g}，为负值",
        "{value:g}, negative"),
    "setback.value_above_table": (
        "{value:g}，超出表中最高一行 {top:g}（单位是否误为伏？）",
        "{value:g}, above the table's last row ({top:g}); volts instead of kV?"),
    "setback.value_unread": (
        "{field} 为空或无法识别",
        "{field} NULL or not understood"),
    "setback.value_unread_fallback": (
        "{field} 为空或无法识别，{fallback} 也无法识别",
        "{field} NULL or not understood, and {fallback} tells none either"),
    "setback.value_not_in_table": (
        "{field} = {value}，表中无此值",
        "{field} = {value}, not in the table"),
    # setback: tables by value (a road's class), distances from a road's edge
    "setback.too_close_by_class": (
        "距{layer}（{field}：{value}）仅 {distance:.1f} 米，小于要求的 {required:g} 米",
        "only {distance:.1f} m from the {layer} ({field}: {value}); at least {required:g} m "
        "required"),
    "setback.clear_by_class": (
        "距最近{layer}（{field}：{value}）{distance:.1f} 米",
        "{distance:.1f} m from the nearest {layer} ({field}: {value})"),
    "setback.clear_far_exempt": (
        "{radius:g} 米内没有需要退让的{layer}（{exempt}不设控制距离）",
        "no {layer!l} that needs a distance within {radius:g} m ({exempt}: none needed)"),
    "setback.from_edge": (
        "（自{layer}用地外缘起算）",
        " (from the edge of the {layer!l} land)"),
    "setback.from_centreline_width": (
        "（自中心线起算并扣除半幅路宽，路宽 {width:g} 米）",
        " (from the centreline + half the road width ({width:g} m))"),
    "setback.from_centreline_no_width": (
        "（自中心线起算：该道路无 {field}，用地外缘可能更近）",
        " (from the centreline: the road has no {field}, so its edge may be closer)"),
    "setback.width_unknown": (
        "中心线无 {field}，道路用地外缘可能更近（按最宽 {width:g} 米计）",
        "a centreline without {field}: the edge of its road land may be closer (up to "
        "{width:g} m wide assumed)"),
    "setback.undecided_detail": (
        "{layer}（要素 {fids}）距 {distance:.1f} 米，无法判定是否位于其控制区内：{reason}；"
        "控制区最大可达 {most:g} 米，请补全数据",
        "the {layer} (fid {fids}) {distance:.1f} m away cannot be judged: {reason}; its zone "
        "may reach {most:g} m, fill the data"),
    # proximity
    "proximity.too_far": (
        "距最近的{layer} {distance:.0f} 米，超过 {limit:g} 米",
        "{distance:.0f} m from the nearest {layer}, more than {limit:g} m"),
    "proximity.near": (
        "距最近的{layer} {distance:.0f} 米",
        "{distance:.0f} m from the nearest {layer}"),
    # raster
    "raster.above_level": (
        "宅基范围内{stat}坡度 {slope:.1f}°，超过 {level:g}°",
        "{stat} slope under the site {slope:.1f}°, above {level:g}°"),
    "raster.below_levels": (
        "宅基范围内{stat}坡度 {slope:.1f}°",
        "{stat} slope under the site {slope:.1f}°"),
    "raster.outside_dem": (
        "选址超出DEM范围，无法计算坡度",
        "{reason_en}"),
    "raster.no_data": (
        "选址处DEM无数据，无法计算坡度",
        "{reason_en}"),
    # attribute
    "attribute.missing_field": (
        "选址缺少字段 {field}",
        "the sites have no {field} field; add it to check this rule"),
    "attribute.out_of_limit": (
        "{field} = {value:g}，要求 {op} {limit:g}",
        "{field} = {value:g}, required {op} {limit:g}"),
    "attribute.value": (
        "{field} = {value:g}",
        "{field} = {value:g}"),
    "attribute.missing_value": (
        "缺少 {field} 值，无法核查",
        "no {field} value: cannot be checked; fill it in"),
    # context
    "context.missing_field": (
        "{layer}缺少字段 {field}",
        "the {layer} layer has no {field} field"),
    "context.listed_value": (
        "所在{layer}（{name}）为{field} = {value}",
        "the site's {layer!l} ({name}) has {field} = {value}"),
    "context.value": (
        "所在{layer}（{name}）：{value}",
        "the site's {layer!l} ({name}): {value}"),
    "context.blank_value": (
        "所在{layer}（{name}）的{field}为空或无法识别，未能核查",
        "the site's {layer!l} ({name}) has no readable {field}: fill it or map its values "
        "(values.{field} in [layers.{layer_key_en}])"),
    "context.blank_value_unreadable": (
        "所在{layer}（{name}）的{field}为空或无法识别，未能核查",
        "the site's {layer!l} ({name}) has no readable {field} ({unreadable_en} in the layer): "
        "fill it or map its values (values.{field} in [layers.{layer_key_en}])"),
    "context.no_feature": (
        "未能确定选址所属{layer}",
        "no {layer!l} found for the site (by name or within the match distance)"),
    "context.unmatched_name": (
        "选址所填{layer}“{value}”（{field}）与{layer}图层中任何名称均不符（比较时不计空格及“村”“村委会”"
        "“村民委员会”后缀；最近的为 {nearest}），未核查；请更正名称",
        "the site's {layer!l} '{value}' ({field}) matches no name in the {layer!l} layer "
        "(compared without spaces or the suffixes 村/村委会/村民委员会; the nearest is {nearest}): "
        "not checked; correct the name"),
    # the engine: a rule that could not run, features a filter cannot decide
    "engine.layer_missing": (
        "工作空间缺少{layer}（{layer_key}）图层，未核查",
        "the workspace has no {layer_key} layer ({layer}): not checked"),
    "engine.not_run": (
        "未核查：{reason}",
        "not checked: {reason}"),
    "engine.layer_empty": (
        "{layer}图层（{source}）没有任何要素，未核查：若本地区确无此类要素，请在 geoplan.toml 中声明 "
        "[layers.{layer_key}] absent = {{ reason = \"…\", source = \"…\" }}",
        "the {layer_key} layer ({layer}; {source}) holds no features: not checked; if there are "
        "truly none here, declare [layers.{layer_key}] absent = {{ reason = \"…\", "
        "source = \"…\" }} in geoplan.toml"),
    "engine.layer_absent": (
        "经确认本地区无{layer}：{reason}（依据：{source}）",
        "no {layer!l} here, confirmed in geoplan.toml: {reason} (source: {source})"),
    "engine.undecided": (
        "无法判定：{label_zh}图层有{n}个要素的{fields}为空或无法识别（{found}），筛选条件“{where}”"
        "无法判断其是否适用，而本处位于其影响范围内；请补全该字段，或在 {config} 中用 values.<字段> 映射取值",
        "cannot tell: {n} feature(s) of {layer_key_en} have {fields} empty or not understood "
        "({found}), so where {where} cannot decide whether they apply, and this site is within "
        "reach of one; fill the field, or map its values with values.<field> in "
        "[layers.{layer_key_en}] of {config}"),
    # what a rule excludes on a map (RuleKind.exclusion), for the buildable-land maps
    "avoid.exclusion_points": (
        "点状{layer}：宅基范围内不得含有；点状选址无法核查",
        "point features ({layer}): none may lie inside a footprint; point sites cannot be "
        "checked against them"),
    "overlap_limit.exclusion": (
        "允许部分占用{layer}（{limit}）：范围外必然合规，范围内视占用面积而定",
        "a footprint may overlap the {layer!l} up to {limit}: outside the area a site passes; "
        "inside, it depends on how much it overlaps"),
    "proximity.exclusion": (
        "点状选址须位于{layer} {limit:g} 米范围内；宅基只需有一部分在范围内",
        "a point site must lie within {limit:g} m of the {layer!l}; a footprint passes if any "
        "part of it does"),
    "setback.exclusion_no_field": (
        "{layer}缺少字段 {field}，保护距离未知",
        "the {layer} layer has no {field} field: the distance is unknown"),
    "setback.exclusion_unknown_values": (
        "{n} 个{layer}要素的 {field} 无法识别：其周围按表中最小距离划为不可建，其外至最大距离为无法判定",
        "{n} {layer!l} feature(s) have no usable {field}: the table's smallest distance round "
        "them is excluded, up to its largest is unknown"),
    "setback.exclusion_unknown_class": (
        "{n} 个{layer}要素的 {field} 无法识别：其周围 {most:g} 米内为无法判定（可能属无控制距离的等级）",
        "{n} {layer!l} feature(s) have no usable {field}: up to {most:g} m round them is unknown "
        "(they may be of a class that needs none)"),
    "setback.exclusion_no_width": (
        "{n} 条{layer}中心线无 {field}：自中心线按要求距离划为不可建，其外再加最宽路宽（{width:g} 米）"
        "的一半为无法判定",
        "{n} {layer!l} centreline(s) have no {field}: the required distance from the centreline "
        "is excluded, beyond it half the widest road land assumed ({width:g} m) more is unknown"),
    "setback.exclusion_uncertain": (
        "{n} 个{layer}要素的 {field} 无法识别、{n_width} 条中心线无 {width_field}：其周围至可能的最大"
        "距离（路宽按最宽 {width:g} 米计）为无法判定",
        "{n} {layer!l} feature(s) have no usable {field} and {n_width} centreline(s) no "
        "{width_field}: round them, up to the largest distance they may need (road land up to "
        "{width:g} m wide assumed), is unknown"),
    "raster.exclusion_cover": (
        "按{stat}坡度判定：范围为不可建的安全上界",
        "judged on the {stat} slope: the areas are a safe cover, not exact"),
    "attribute.exclusion": (
        "取决于选址自身的 {field}，与位置无关",
        "the site's own {field} decides, not its place"),
    "context.exclusion": (
        "按选址所属{layer}（{by}）判定：范围为该要素的影响区（点要素按泰森多边形）",
        "decided by the {layer!l} a site belongs to ({by}): the areas are where that feature "
        "is the one found (Voronoi cells of point features)"),
})
"""Message key → (Chinese template, English template)."""

Piece: TypeAlias = tuple[str, str | None, str | None, str | None]


@cache
def _pieces(template: str) -> tuple[Piece, ...]:
    """The template cut into (literal, field name, format spec, conversion), parsed once.

    Examples
    --------
    >>> _pieces("no {layer!l} within {d:.0f} m")
    (('no ', 'layer', '', 'l'), (' within ', 'd', '.0f', None), (' m', None, None, None))
    """
    return tuple(string.Formatter().parse(template))


def say(key: str, rule: Rule | None = None, /, **fields: Any) -> Said:
    """The message ``key`` of :data:`CATALOGUE` with its fields filled: (Chinese, English).

    Each is a plain text when every field is a single value, else
    :class:`~geoplan.engine.outcome.Text`, formatted per site only when assigned.

    Parameters
    ----------
    key
        The message's key in :data:`CATALOGUE`.
    rule
        The rule, whose layer kind's labels fill ``{layer}``.
    **fields
        The template's other fields (see the module's description for what a
        field may be given).

    Raises
    ------
    KeyError
        An unknown key, or a field of the templates not given.
    TypeError
        ``layer=`` given: the label comes from ``rule``.
    ValueError
        A format spec or conversion that the given value cannot take.
    """
    try:
        zh, en = CATALOGUE[key]
    except KeyError:
        raise KeyError(f"no message {key!r} in the catalogue") from None
    if "layer" in fields:
        raise TypeError("{layer} is the label of the rule's layer: pass the rule, not layer=")
    if rule is not None:
        fields["layer"] = layer_label(rule)
    return _fill(key, zh, 0, fields), _fill(key, en, 1, fields)


def tell(out: Outcome, mask: np.ndarray, key: str, rule: Rule | None = None, /, *,
         status: str | None = None, **fields: Any) -> None:
    """Assign message ``key`` (see :func:`say`), and ``status`` if given, to the sites of ``mask``."""
    zh, en = say(key, rule, **fields)
    out.set(mask, status=status, zh=zh, en=en)


def pick(cond: np.ndarray, a: Said, b: Said) -> tuple[Text, Text]:
    """Per site, message ``a`` where ``cond`` holds and ``b`` elsewhere (both from :func:`say`)."""
    return where_text(cond, a[0], b[0]), where_text(cond, a[1], b[1])


def _fill(key: str, template: str, lang: int, fields: Mapping[str, Any]) -> Text | str:
    parts: list[Any] = []
    text = ""  # literal text not yet added to parts
    for literal, name, spec, conv in _pieces(template):
        text += literal
        if name is None:
            continue
        if name not in fields:
            raise KeyError(f"message {key!r} needs the field {name!r}")
        val = fields[name]
        if type(val) is tuple:  # (Chinese, English)
            val = val[lang]
        if not isinstance(val, (Text, np.ndarray)):
            text += _single(key, val, spec or "", conv)
            continue
        if text:
            parts.append(text)
            text = ""
        parts.extend(_per_site(key, name, val, spec or "", conv))
    if not parts:
        return text
    if text:
        parts.append(text)
    return Text(parts)


def _single(key: str, val: Any, spec: str, conv: str | None) -> str:
    """One value, formatted now."""
    if conv == "l":
        val = str(val).lower()
    elif conv is not None:
        raise ValueError(f"message {key!r}: unknown conversion !{conv} (only !l, lower case)")
    return format(val, spec)


def _per_site(key: str, name: str, val: Text | np.ndarray, spec: str, conv: str | None,
              ) -> list[Any]:
    """The parts of :class:`Text` for a value per site, formatted when assigned."""
    if conv is not None:
        raise ValueError(f"message {key!r}: !{conv} is for a single value, not {name}")
    if isinstance(val, np.ndarray) and val.dtype.kind in "biuf":
        return fmt(val, spec).parts
    if spec:
        raise ValueError(f"message {key!r}: {name} holds texts, not numbers to format "
                         f"with {spec!r}")
    return val.parts if isinstance(val, Text) else [val]
