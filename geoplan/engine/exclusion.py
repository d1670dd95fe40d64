"""Where a site would break each rule of a pack: the exclusion areas of the rule kinds.

The engine answers "does this site break the rule?"; this module answers the
converse, "where would a site break it?", for maps of land where a house may
go. Each rule kind says what it excludes through
:meth:`~geoplan.rules.registry.RuleKind.exclusion` (an
:class:`~geoplan.rules.registry.Exclusion`: zones per status, an area of
unknown answer, whether the zones are exact or only a safe cover);
:func:`exclusions` runs that hook for every rule of a subject over an extent.

The answer is never cleaner than the data: a rule whose layer is missing, or
filtered to nothing, makes its whole extent *unknown*; features whose filter
field cannot be read add the area they would exclude to *unknown*; a rule
that does not depend on the site's place (an attribute of the site itself) is
listed as not mappable.

Zones are drawn to contain every place the engine would fault, never less:
buffers are built outside the true circle (the polygon circumscribes it), so a
site outside every zone passes the engine's measure of the same rule.

Examples
--------
>>> import shapely
>>> from geoplan import open_workspace
>>> ws = open_workspace("layers")                                # doctest: +SKIP
>>> ex = exclusions(ws, extent=(524000, 4862000, 526000, 4864000))  # doctest: +SKIP
>>> {e.rule_id: round(e.area("fail").area) for e in ex}          # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import shapely

from ..core import Subject
from ..rules import Rule, RulePack, load_pack, registry
from ..rules.registry import Exclusion
from ..workspace import RasterLayer, Workspace
from .constraints import Constraint, ConstraintCache, Unusable, constraint_cache

EMPTY_POLYGON = shapely.Polygon()

__all__ = ["LINE_WIDTH_M", "QUAD_SEGS", "Exclusion", "ExclusionInput", "Handed", "as_area", "cover_buffer",
           "exclusions", "features_near", "note", "polygonal", "union"]

QUAD_SEGS = 16
"""Segments per quarter circle of the buffers drawn for setbacks and services."""


class Handed:
    """What the engine hands a rule kind, read with a clear error when it is not there."""

    constraint: Constraint | None
    raster: RasterLayer | None

    def layer(self) -> Constraint:
        """The rule's vector layer.

        Raises
        ------
        RuntimeError
            When the engine handed none (a kind with ``reads = "vector"`` always gets one).
        """
        if self.constraint is None:
            raise RuntimeError("this rule kind reads a vector layer, but the engine gave none; "
                               "declare reads = 'vector' on the kind")
        return self.constraint

    def dem(self) -> RasterLayer:
        """The rule's raster layer.

        Raises
        ------
        RuntimeError
            When the engine handed none (a kind with ``reads = "raster"`` always gets one).
        """
        if self.raster is None:
            raise RuntimeError("this rule kind reads a raster layer, but the engine gave none; "
                               "declare reads = 'raster' on the kind")
        return self.raster


@dataclass(frozen=True)
class ExclusionInput(Handed):
    """What :meth:`~geoplan.rules.registry.RuleKind.exclusion` is handed.

    Parameters
    ----------
    extent
        The area to map, in the workspace's working CRS.
    workspace
        The workspace.
    constraint
        For a kind that reads a vector layer: the rule's layer, filtered.
    raster
        For a kind that reads a raster layer: that raster.
    """

    extent: shapely.Geometry
    workspace: Workspace
    constraint: Constraint | None = None
    raster: RasterLayer | None = None


class Note(TypedDict):
    """The ``note_zh`` / ``note_en`` keywords of an :class:`Exclusion`."""

    note_zh: str
    note_en: str


def note(said: tuple[object, object]) -> Note:
    """A catalogue message (:func:`geoplan.engine.messages.say`) as ``note_zh``/``note_en``."""
    return {"note_zh": str(said[0]), "note_en": str(said[1])}


def features_near(c: Constraint, extent: shapely.Geometry, reach: float = 0.0) -> np.ndarray:
    """Indices of the features of ``c`` within ``reach`` metres of ``extent``."""
    if not len(c.geoms):
        return np.zeros(0, dtype=np.int64)
    if reach > 0:
        return np.asarray(c.tree.query(extent, predicate="dwithin", distance=reach))
    return np.asarray(c.tree.query(extent, predicate="intersects"))


def union(geoms: np.ndarray | list[Any], extent: shapely.Geometry | None = None,
          ) -> shapely.Geometry:
    """The union of ``geoms`` (clipped to ``extent`` when given); an empty polygon if none.

    Each geometry is clipped before the union, so a county-wide feature costs
    only its part inside the extent. Polygons give polygons: the lines and
    points where a polygon only touches the extent are dropped.
    """
    arr = np.asarray([x for x in geoms if x is not None and not shapely.is_empty(x)],
                     dtype=object)
    if not len(arr):
        return EMPTY_POLYGON
    polygons = bool(np.isin(shapely.get_type_id(arr), (3, 6)).all())
    if extent is not None:
        shapely.prepare(extent)
        inside = shapely.contains_properly(extent, arr)
        arr = arr.copy()
        arr[~inside] = shapely.intersection(arr[~inside], extent)
        arr = arr[~shapely.is_empty(arr)]
        if not len(arr):
            return EMPTY_POLYGON
    u = shapely.union_all(arr)
    return polygonal(u) if polygons else u


LINE_WIDTH_M = 0.1
"""Width given to excluded lines and points in :func:`as_area` (a channel, an old tree)."""


def polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of an overlay result (the lines and points where areas touch dropped).

    Examples
    --------
    >>> g = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(1, 0), (2, 0)])])
    >>> polygonal(g).geom_type
    'Polygon'
    """
    if g.is_empty or shapely.get_type_id(g) in (3, 6):
        return g
    parts = [p for p in shapely.get_parts(g) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def as_area(geoms: list[shapely.Geometry]) -> shapely.Geometry:
    """The union of ``geoms`` as an area.

    Lines and points (a channel, an old tree) become thin areas ``LINE_WIDTH_M``
    wide, so that no plot may cross them.
    """
    parts = [p for g in geoms if g is not None and not g.is_empty for p in shapely.get_parts(g)]
    if not parts:
        return shapely.Polygon()
    arr = np.asarray(parts, dtype=object)
    thin = ~np.isin(shapely.get_type_id(arr), (3, 6))
    if thin.any():
        arr[thin] = shapely.buffer(arr[thin], LINE_WIDTH_M / 2, quad_segs=2)
    return polygonal(shapely.union_all(arr))


def cover_buffer(geoms: np.ndarray, distance: np.ndarray | float) -> np.ndarray:
    """Buffers that contain the true ones: every point within ``distance`` is inside.

    A buffer polygon has exact straight sides (offset by ``distance``) but its
    round parts are chords inside the true arcs. Every arc is centred on a
    vertex of the feature, so each buffer is joined with circles around the
    feature's vertices drawn outside the true circle (radius grown by
    ``1 / cos(π / (4 · QUAD_SEGS))``, +0.12 %). The straight sides, which
    carry almost all of a corridor's area, stay exact: a 5 m corridor along a
    straight line is exactly 10 m wide.

    Examples
    --------
    >>> import shapely
    >>> b = cover_buffer(np.array([shapely.Point(0, 0)]), 10.0)[0]
    >>> r = 10 - 1e-9  # on the true circle, where the polygon's edge touches it
    >>> bool(b.contains(shapely.Point(r * math.cos(math.pi / 64), r * math.sin(math.pi / 64))))
    True
    >>> strip = cover_buffer(np.array([shapely.LineString([(0, 0), (100, 0)])]), 5.0)[0]
    >>> strip.intersection(shapely.box(10, -50, 90, 50)).area  # 80 m × 10 m, exactly
    800.0
    """
    geoms = np.asarray(geoms, dtype=object)
    d = np.broadcast_to(np.asarray(distance, dtype=float), (len(geoms),))
    base = np.asarray(shapely.buffer(geoms, d, quad_segs=QUAD_SEGS))
    if not len(geoms):
        return base
    grow = 1.0 / math.cos(math.pi / (4 * QUAD_SEGS))
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    if not len(xy):
        return base
    circles = shapely.buffer(shapely.points(xy), d[owner] * grow, quad_segs=QUAD_SEGS)
    order = np.argsort(owner, kind="stable")
    owner, circles = owner[order], circles[order]
    starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
    ends = np.r_[starts[1:], len(owner)]
    out = base.copy()
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        i = owner[s]
        out[i] = shapely.union_all(np.r_[base[i:i + 1], circles[s:e]])
    return out


def exclusions(
    workspace: Workspace,
    rules: RulePack | str | os.PathLike[str] = "yining-2025",
    *,
    extent: shapely.Geometry | tuple[float, float, float, float],
    subject: Subject = "house",
    cache: ConstraintCache | None = None,
) -> list[Exclusion]:
    """Per rule of ``subject``, where in ``extent`` a site would break it.

    Parameters
    ----------
    workspace
        The opened workspace.
    rules
        A rule pack, the name of a built-in one or the path of a TOML file.
    extent
        The area to map: a polygon or ``(minx, miny, maxx, maxy)`` in the
        workspace's working CRS.
    subject
        ``"house"`` (default) or another subject of the pack.
    cache
        A :class:`~geoplan.engine.ConstraintCache` to reuse.

    Returns
    -------
    list of Exclusion
        One per rule, in the pack's order. A rule whose layer is missing or
        unusable has its whole extent as ``unknown``; features a filter cannot
        decide add the area they would exclude to ``unknown``.
    """
    if isinstance(extent, tuple):
        extent = shapely.box(*extent)
    pack = rules if isinstance(rules, RulePack) else load_pack(rules)
    cache = cache if cache is not None else constraint_cache(workspace)
    base = ExclusionInput(extent=extent, workspace=workspace)
    return [_one(rule, base, cache) for rule in pack.for_subject(subject)]


def _one(rule: Rule, base: ExclusionInput, cache: ConstraintCache) -> Exclusion:
    kind = registry.get(rule.kind)
    if kind.reads == "site":
        return kind.exclusion(rule, base)
    if kind.reads == "raster":
        dem = base.workspace.raster(rule.layer or "dem")
        if dem is None:
            return _unknown_everywhere(rule, base.extent, Unusable.missing())
        return kind.exclusion(rule, dataclasses.replace(base, raster=dem))
    c = cache.get(rule)
    if isinstance(c, Unusable):
        return _unknown_everywhere(rule, base.extent, c)
    ex = kind.exclusion(rule, dataclasses.replace(base, constraint=c))
    if c.layer.absent is not None:
        a = c.layer.absent
        ex = dataclasses.replace(
            ex, note_zh=_join(ex.note_zh, f"经确认本地区无此图层：{a.reason}（依据：{a.source}）"),
            note_en=_join(ex.note_en, f"confirmed absent: {a.reason} (source: {a.source})"))
    unk = cache.unknown(rule)
    if unk is None or not ex.mappable:
        return ex
    alt = kind.exclusion(rule, dataclasses.replace(base, constraint=unk.both))
    differ = [shapely.symmetric_difference(ex.area(s), alt.area(s))
              for s in sorted(set(ex.zones) | set(alt.zones))]
    return dataclasses.replace(
        ex, unknown=union([ex.unknown, alt.unknown, *differ]),
        note_zh=_join(ex.note_zh, unk.zh), note_en=_join(ex.note_en, unk.en))


def _unknown_everywhere(rule: Rule, extent: shapely.Geometry, why: Unusable) -> Exclusion:
    """A rule whose layer cannot be used: nowhere in the extent can be called clear."""
    if why.missing_layer:
        zh = f"工作空间缺少{rule.layer}图层：整个范围均无法判定"
        en = f"the workspace has no {rule.layer} layer: nowhere in the extent can be cleared"
    elif why.empty_source is not None:
        zh = f"{rule.layer}图层没有任何要素且未声明不存在：整个范围均无法判定"
        en = (f"the {rule.layer} layer holds no features and is not declared absent: nowhere "
              "in the extent can be cleared")
    else:
        zh, en = f"未能使用：{why.reason}", f"not usable: {why.reason}"
    return Exclusion(rule.id, unknown=extent, exact=False, unmapped=True, note_zh=zh,
                     note_en=en)


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a and b else a or b
