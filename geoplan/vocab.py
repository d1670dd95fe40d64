"""Value vocabularies: what the values of a field mean, whatever the delivery wrote.

County deliveries write the same fact many ways: a water-source protection
level as ``一级保护区``, ``一级``, ``I`` or ``1``; a construction status as
``新建`` or ``new``; a road surface as ``水泥``, ``沥青`` or ``硬化``. Rules,
indicators and analyses all read one canonical vocabulary per field, so a
filter such as ``level == 1`` or ``status == 'new'`` means the same thing on
every delivery.

Each vocabulary has built-in recognisers for what Chinese deliveries commonly
hold. A ``geoplan.toml`` can add or override mappings per layer field::

    [layers.water_source_zone]
    values.level = { "一级保护区" = 1, "二级保护区" = 2, "准保护区" = "quasi" }

    [layers.power_line]
    values.status = { "新建" = "new", "改造" = "rebuilt", "现状" = "existing" }

A value neither the mapping nor the recogniser understands becomes missing
(NULL) in the canonical field, is counted by value, and any rule or indicator
that filters on it treats the feature as *unknown*, never as "not selected".

Examples
--------
>>> from geoplan.vocab import recognise
>>> recognise("protection_level", ["一级保护区", "II", "准保护区", 1, "乙"])
['1', '2', 'quasi', '1', None]
>>> recognise("status", ["新建", "改造", "现状", "拆除", "拟建"])
['new', 'rebuilt', 'existing', 'demolished', 'proposed']
>>> recognise("surface", ["水泥", "沥青路面", "砂石", "土路"])
['hardened', 'hardened', 'gravel', 'earth']
>>> recognise("yes_no", ["是", "否", "Y", 0])
[True, False, True, False]

Road classes are read from names and from route codes (路线编号): G or S with
1–2 or 4 digits is an expressway, with 3 digits a national or provincial road;
X, Y, C and Z give county, township, village and (special-purpose, no figure of
its own) village roads; technical grades such as 二级公路 are no class:

>>> recognise("road_class", ["国道", "G312", "s 313", "X041", "Y002", "G30", "G3012", "C001",
...                          "县道", "连霍高速", "县乡道", "二级公路"])
['national', 'national', 'provincial', 'county', 'township', 'expressway', 'expressway', \
'village', 'county', 'expressway', None, None]
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["VOCABULARIES", "Vocabulary", "apply_values", "describe_values", "literal_readers",
           "normalise_text", "recognise"]


def normalise_text(value: object) -> str | None:
    """NFKC (full-width → half-width), trimmed, inner spaces removed, lower case.

    ``None`` for missing values and blank text.

    Examples
    --------
    >>> normalise_text(" 一级 保护区 ")
    '一级保护区'
    >>> normalise_text("Ⅱ"), normalise_text("１０ｋＶ")
    ('ii', '10kv')
    """
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    text = re.sub(r"\s+", "", text).lower()
    return text or None


@dataclass(frozen=True)
class Vocabulary:
    """One canonical vocabulary.

    Attributes
    ----------
    name : str
        ``protection_level``, ``status``, ``surface`` or ``yes_no``.
    values : dict
        Canonical value → ``(Chinese label, English label)``.
    recogniser : callable
        Normalised text (see :func:`normalise_text`) → canonical value or ``None``.
    open : bool
        Whether values outside the vocabulary are legitimate (a facility layer
        holds schools and markets too): they are kept as written, and still
        counted as not understood so that an analysis that finds none of its
        kind can say why.
    """

    name: str
    values: dict[Any, tuple[str, str]]
    recogniser: Callable[[str], Any]
    open: bool = False
    """Open vocabularies (facility kinds) keep a value they do not read, as written."""

    def canonical(self, target: object) -> Any:
        """The canonical value a mapping target stands for, or ``None`` if it is none."""
        if isinstance(target, bool) and self.name != "yes_no":
            return None
        if isinstance(target, bool) and self.name == "yes_no":
            return target
        if isinstance(target, str) and target in self.values:
            return target
        text = normalise_text(target)
        return None if text is None else self.recogniser(text)


_LEVEL_1 = re.compile(r"^(1|i|一|一级|1级|level1|first)(水源|饮用水|水源地)?(保护区|区|级|级区)?$")
_LEVEL_2 = re.compile(r"^(2|ii|二|二级|2级|level2|second)(水源|饮用水|水源地)?(保护区|区|级|级区)?$")
_LEVEL_Q = re.compile(r"^(3|准|准级|准保护区|准水源保护区|quasi|quasi-protection)$")


def _level(text: str) -> Any:
    if _LEVEL_1.match(text) or text in ("一级饮用水水源保护区", "饮用水水源一级保护区"):
        return "1"
    if _LEVEL_2.match(text) or text in ("二级饮用水水源保护区", "饮用水水源二级保护区"):
        return "2"
    if _LEVEL_Q.match(text) or text.startswith("准保护"):
        return "quasi"
    return None


_STATUS_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    # order matters: 拆除 before 新建 (待拆除新建?), 改扩建 before 扩建 …
    ("demolished", ("demolished", "removed", "拆除", "已拆", "待拆", "拆迁", "废弃", "报废")),
    ("proposed", ("proposed", "planned", "规划", "拟建", "待建", "计划", "近期建设", "远期")),
    ("rebuilt", ("rebuilt", "rebuild", "upgraded", "upgrade", "改造", "改建", "改扩建", "扩建",
                 "升级", "提升", "提质", "维修改造", "大修")),
    ("new", ("new", "新建", "新增", "新架", "新修", "新改建")),
    ("existing", ("existing", "现状", "已建", "既有", "现有", "建成", "在用", "运行", "保留")),
)


def _status(text: str) -> Any:
    for canon, words in _STATUS_WORDS:
        if text in words:
            return canon
    # compound values such as "现状保留" or "新建（2024年）": the first word that appears
    hits = [(text.find(w), canon) for canon, words in _STATUS_WORDS for w in words
            if len(w) >= 2 and not w.isascii() and w in text]
    if hits:
        hits.sort()
        return hits[0][1]
    return None


_SURFACE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gravel", ("gravel", "砂石", "沙石", "碎石", "石子", "砾石", "泥结碎石", "级配", "块石",
                "片石", "弹石")),
    ("earth", ("earth", "dirt", "unpaved", "土", "土路", "泥土", "土质", "自然土", "素土")),
    ("hardened", ("hardened", "paved", "cement", "concrete", "asphalt", "bitumen", "硬化",
                  "硬化路", "水泥", "混凝土", "砼", "沥青", "柏油", "黑色", "硬质", "石板",
                  "水泥混凝土", "沥青混凝土", "油路", "铺装")),
)


def _surface(text: str) -> Any:
    for canon, words in _SURFACE:
        if text in words:
            return canon
    for canon, words in (_SURFACE[2], _SURFACE[0], _SURFACE[1]):
        # hardened words first in compounds ("水泥路面", "沥青砼"), then gravel, then earth
        if any(len(w) >= 1 and not w.isascii() and w in text and w != "土" for w in words):
            return canon
    if text.endswith("土路") or text in ("土路面", "土质路面"):
        return "earth"
    return None


_FACILITY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("clinic", ("clinic", "health", "卫生室", "卫生院", "卫生所", "卫生站", "卫生服务", "诊所",
                "医务室", "社区医院", "乡镇医院", "村医")),
    ("waste_point", ("waste_point", "waste", "垃圾", "收集点", "收集站", "转运站", "转运点",
                     "环卫")),
    ("shelter", ("shelter", "避难", "避险", "应急场所", "应急避难")),
    ("logistics", ("logistics", "物流", "快递", "邮政", "驿站", "寄递", "邮件")),
    ("service_centre", ("service_centre", "service_center", "便民服务", "为民服务", "党群服务",
                        "综合服务", "服务中心", "服务站")),
)


def _facility(text: str) -> Any:
    for canon, words in _FACILITY:
        if text in words or any(not w.isascii() and w in text for w in words):
            return canon
    return None


_LAYOUT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("搬迁撤并", ("搬迁", "撤并", "撤销", "relocat", "merge")),
    ("城郊融合", ("城郊", "suburb")),
    ("特色保护", ("特色", "保护", "heritage", "characteristic")),
    ("集聚提升", ("集聚", "聚集", "agglomerat", "consolidat", "upgrade")),
    ("固定保留", ("保留", "固定", "retain", "keep")),
    ("待定", ("待定", "看不准", "暂不", "未定", "undetermined", "pending")),
)


def _layout(text: str) -> Any:
    for canon, words in _LAYOUT:
        if any(w in text for w in words):
            return canon
    return None


_ROAD_CLASS_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("expressway", ("expressway", "motorway", "freeway", "高速公路", "高速", "高速路",
                    "国家高速", "国家高速公路", "省级高速", "地方高速")),
    ("national", ("national", "nationalroad", "国道", "国道公路", "普通国道", "国家干线公路")),
    ("provincial", ("provincial", "provincialroad", "省道", "省道公路", "普通省道")),
    ("county", ("county", "countyroad", "县道", "县道公路", "县级公路", "县公路")),
    ("township", ("township", "townshiproad", "乡道", "乡道公路", "乡级公路", "乡公路",
                  "乡镇道路", "乡镇公路")),
    ("village", ("village", "villageroad", "村道", "村道公路", "村级公路", "村级道路", "村组道路",
                 "村组路", "村路", "通村路", "通村公路", "组道路", "组路", "村内道路", "入户路",
                 "村屯道路")),
)
_ROAD_CLASS_PARTS: tuple[tuple[str, str], ...] = (
    # words inside a longer name ("连霍高速", "国道312线"), looked for when no exact word matched
    ("高速", "expressway"), ("国道", "national"), ("省道", "provincial"), ("县道", "county"),
    ("乡道", "township"), ("村道", "village"), ("村组", "village"), ("通村", "village"),
)
_ROAD_CLASS_AMBIGUOUS = ("国省", "县乡", "乡村道路", "乡村公路", "农村公路", "农村道路")
"""Words naming several classes at once (国省道, 县乡道, 农村公路…): not one class."""
_ROUTE_CODE = re.compile(r"^([gsxyzc])(\d+)(?![\d])")


def _route_class(text: str) -> Any:
    """The class a route code (编号) gives: G/S by their number of digits, X, Y, C, Z by letter."""
    m = _ROUTE_CODE.match(text)
    if m is None:
        return None
    letter, digits = m.group(1), len(m.group(2))
    if letter in "gs":
        # national/provincial expressways: 1–2 digits (G30, S21) or 4 (G3012 link lines);
        # ordinary national/provincial roads: 3 digits (G312, S313)
        return ("expressway" if digits in (1, 2, 4) else
                ("national" if letter == "g" else "provincial") if digits == 3 else None)
    return {"x": "county", "y": "township", "c": "village", "z": "village"}[letter]


def _road_class(text: str) -> Any:
    for canon, words in _ROAD_CLASS_WORDS:
        if text in words:
            return canon
    if any(w in text for w in _ROAD_CLASS_AMBIGUOUS):
        return None
    by_code = _route_class(text)
    by_word = {canon for w, canon in _ROAD_CLASS_PARTS if w in text}
    if by_code is not None:
        # "G30连霍高速" agrees; "G312高速" or "X041国道" contradicts itself: not understood
        return by_code if by_word <= {by_code} else None
    return by_word.pop() if len(by_word) == 1 else None


_YES = frozenset({"1", "true", "t", "yes", "y", "是", "有", "√", "✓", "对"})
_NO = frozenset({"0", "false", "f", "no", "n", "否", "无", "×", "✗", "不是"})


def _yes_no(text: str) -> Any:
    if text in _YES:
        return True
    if text in _NO:
        return False
    return None


VOCABULARIES: dict[str, Vocabulary] = {
    "protection_level": Vocabulary(
        "protection_level",
        {"1": ("一级保护区", "level 1"), "2": ("二级保护区", "level 2"),
         "quasi": ("准保护区", "quasi-protection")},
        _level),
    "status": Vocabulary(
        "status",
        {"new": ("新建", "new"), "rebuilt": ("改造", "rebuilt"),
         "existing": ("现状", "existing"), "proposed": ("规划", "proposed"),
         "demolished": ("拆除", "demolished")},
        _status),
    "surface": Vocabulary(
        "surface",
        {"hardened": ("硬化", "hardened"), "gravel": ("砂石", "gravel"),
         "earth": ("土路", "earth")},
        _surface),
    "yes_no": Vocabulary("yes_no", {True: ("是", "yes"), False: ("否", "no")}, _yes_no),
    "layout_class": Vocabulary(
        "layout_class",
        {"集聚提升": ("集聚提升类", "consolidate and upgrade"),
         "城郊融合": ("城郊融合类", "suburban integration"),
         "特色保护": ("特色保护类", "heritage protection"),
         "搬迁撤并": ("搬迁撤并类", "relocate and merge"),
         "固定保留": ("固定保留类", "keep as is"),
         "待定": ("待定类", "not yet classified")},
        _layout),
    "facility_kind": Vocabulary(
        "facility_kind",
        {"clinic": ("卫生室", "clinic"), "waste_point": ("垃圾收集点", "waste collection point"),
         "shelter": ("应急避难场所", "emergency shelter"),
         "logistics": ("物流快递网点", "logistics / parcel point"),
         "service_centre": ("便民服务中心", "service centre")},
        _facility, open=True),
    "road_class": Vocabulary(
        "road_class",
        {"expressway": ("高速公路", "expressway"), "national": ("国道", "national road"),
         "provincial": ("省道", "provincial road"), "county": ("县道", "county road"),
         "township": ("乡道", "township road"), "village": ("村道", "village road")},
        _road_class),
}
"""The built-in vocabularies, by name."""


def recognise(vocabulary: str, values: Iterable[object]) -> list[Any]:
    """Canonical values for ``values`` by the built-in recogniser (``None`` where unknown)."""
    voc = VOCABULARIES[vocabulary]
    out: list[Any] = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) and vocabulary == "yes_no":
            out.append(bool(v))
            continue
        if voc.name != "yes_no" and isinstance(v, str) and v in voc.values:
            out.append(v)
            continue
        text = normalise_text(v)
        out.append(None if text is None else voc.recogniser(text))
    return out


def _is_missing(v: object) -> bool:
    if v is None or v is pd.NA:
        return True
    if isinstance(v, str):
        return not v.strip()
    try:
        return bool(pd.isna(v))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def apply_values(
    column: pd.Series,
    *,
    vocabulary: str | None = None,
    mapping: Mapping[str, Any] | None = None,
) -> tuple[pd.Series, Counter[str], Counter[str]]:
    """Map a column onto its canonical vocabulary.

    The planner's ``mapping`` (source text → value) is tried first, by exact
    text and then by :func:`normalise_text`; then the vocabulary's recogniser.

    Returns
    -------
    values : pandas.Series
        Canonical values (object dtype), ``None`` where missing or not understood.
        Without a vocabulary, unmapped values are kept as they are.
    unreadable : collections.Counter
        Source values (as text) that were present but not understood, with counts.
    mapped : collections.Counter
        ``"source → canonical"`` pairs that changed a value, with counts.
    """
    voc = VOCABULARIES[vocabulary] if vocabulary else None
    exact = dict(mapping or {})
    norm = {normalise_text(k): v for k, v in exact.items()}
    unreadable: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    # each distinct value is read once; rows take the result by their code
    codes, uniques = pd.factorize(column.astype(object), use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    mapped = np.empty(len(uniques) + 1, dtype=object)  # the last slot: missing values
    mapped[-1] = None
    for j, v in enumerate(uniques):
        if _is_missing(v):
            mapped[j] = None
            continue
        text = str(v).strip()
        if text in exact:
            val, ok = exact[text], True
        elif normalise_text(v) in norm:
            val, ok = norm[normalise_text(v)], True
        elif voc is not None:
            if isinstance(v, (bool, np.bool_)) and voc.name == "yes_no":
                val = bool(v)
            elif voc.name != "yes_no" and isinstance(v, str) and v in voc.values:
                val = v
            else:
                t = normalise_text(v)
                val = None if t is None else voc.recogniser(t)
            ok = val is not None
        else:
            val, ok = v, True
        if not ok and voc is not None and voc.open:
            val = v
        mapped[j] = val
        if not ok:
            unreadable[_show(v)] += int(counts[j])
        elif val is not v and _show(val) != _show(v):
            changed[f"{_show(v)} → {_show(val)}"] += int(counts[j])
    out = mapped[np.where(codes >= 0, codes, len(uniques))]
    return pd.Series(out, index=column.index, dtype=object), unreadable, changed


def _show(v: object) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


DISTINCT_SAFE_KINDS = frozenset({"string", "integer", "floating", "empty"})
"""``pandas.api.types.infer_dtype`` kinds whose equal values are the same value to a test.

An object column mixing ``1``, ``1.0`` and ``True`` holds values Python finds
equal (so ``pandas.factorize`` takes them as one) that a land-use code test
reads apart (``True`` is no code): such columns are tested row by row.
"""


def by_distinct(col: pd.Series, test: Callable[[pd.Series], tuple[np.ndarray, np.ndarray]],
                ) -> tuple[np.ndarray, np.ndarray]:
    """``test(col)``, worked out once per distinct value of ``col`` (missing values as one).

    A land-use column of 10⁵ parcels holds a few dozen distinct codes: the
    string work of the test is done on those, and the rows take their answer
    by code. Columns whose equal values a test could tell apart (see
    :data:`DISTINCT_SAFE_KINDS`) are tested whole.

    Examples
    --------
    >>> import pandas as pd
    >>> col = pd.Series(["0101", "0101", None, "0301"])
    >>> t, u = by_distinct(col, lambda c: (c.eq("0101").to_numpy(), c.isna().to_numpy()))
    >>> t.tolist(), u.tolist()
    ([True, True, False, False], [False, False, True, False])
    """
    if pd.api.types.infer_dtype(col, skipna=True) not in DISTINCT_SAFE_KINDS:
        return test(col)
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    values = np.empty(len(uniques) + 1, dtype=object)  # the last: a missing value
    values[:-1] = np.asarray(uniques, dtype=object)
    values[-1] = None
    t, u = test(pd.Series(values, dtype=object))
    at = np.where(codes >= 0, codes, len(uniques))
    return np.asarray(t, dtype=bool)[at], np.asarray(u, dtype=bool)[at]


def _value_counts(column: pd.Series) -> tuple[int, Counter[str]]:
    """Missing values, and the others as shown (:func:`_show`) with their counts, in order met.

    Worked out once per distinct value where equal values show the same
    (text, integers, floats); a column mixing ``1`` and ``True`` row by row.
    """
    col = column.astype(object)
    if pd.api.types.infer_dtype(col, skipna=True) not in DISTINCT_SAFE_KINDS:
        nulls = int(col.map(_is_missing).sum())
        return nulls, Counter(_show(v) for v in col.to_numpy() if not _is_missing(v))
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    n = np.bincount(codes[codes >= 0], minlength=len(uniques))
    nulls = int((codes < 0).sum())
    counts: Counter[str] = Counter()
    for v, k in zip(uniques.tolist(), n.tolist(), strict=True):  # in order of first row
        if _is_missing(v):  # blank text
            nulls += k
        else:
            counts[_show(v)] += k
    return nulls, counts


def describe_values(column: pd.Series | None, *, unreadable: Mapping[str, int] | None = None,
                    limit: int = 5) -> str:
    """The values a field holds, most common first, for a planner's message.

    Examples
    --------
    >>> import pandas as pd
    >>> describe_values(pd.Series(["2", "2", None, None, None, None]), unreadable={"A区": 3})
    "'A区' ×3 (not understood), '2' ×2, NULL ×1"
    """
    parts: list[tuple[int, str]] = []
    if unreadable:
        parts += [(n, f"{v!r} ×{n} (not understood)") for v, n in unreadable.items()]
    n_unread = sum(unreadable.values()) if unreadable else 0
    if column is not None and len(column):
        nulls, counts = _value_counts(column)
        nulls -= n_unread
        parts += [(n, f"{v!r} ×{n}") for v, n in counts.items()]
        if nulls > 0:
            parts.append((nulls, f"NULL ×{nulls}"))
    if not parts:
        return "no values"
    parts.sort(key=lambda p: -p[0])
    more = len(parts) - limit
    text = ", ".join(p for _, p in parts[:limit])
    return text + (f", … ({more} more)" if more > 0 else "")


def literal_readers(kind: str, values: Mapping[str, Mapping[str, Any]] | None = None
                    ) -> dict[str, Callable[[Any], Any]]:
    """Per field of ``kind``: read a value written in a filter the way the layer's data are read.

    A ``where`` written in the delivery's words (``status != '拆除'``,
    ``level == '一级保护区'``) then compares against the canonical values the
    layer holds after loading. Literals no mapping or recogniser reads are kept
    as written.

    Examples
    --------
    >>> readers = literal_readers("power_line")
    >>> readers["status"]("拆除"), readers["status"]("demolished")
    ('demolished', 'demolished')
    """
    from .kinds import KINDS

    out: dict[str, Callable[[Any], Any]] = {}
    values = values or {}
    for f in KINDS[kind].fields:
        mapping = values.get(f.name)
        if f.vocab is None and not mapping:
            continue
        out[f.name] = _reader(f.vocab, dict(mapping or {}))
    for fname, mapping in values.items():
        if fname not in out:
            out[fname] = _reader(None, dict(mapping))
    return out


def _reader(vocabulary: str | None, mapping: dict[str, Any]) -> Callable[[Any], Any]:
    voc = VOCABULARIES[vocabulary] if vocabulary else None
    norm = {normalise_text(k): v for k, v in mapping.items()}

    def read(value: Any) -> Any:
        text = str(value).strip()
        if text in mapping:
            return mapping[text]
        if normalise_text(value) in norm:
            return norm[normalise_text(value)]
        if voc is not None:
            return recognise(voc.name, [value])[0]
        return None
    return read
