"""``context``: an attribute of the feature the site belongs to (e.g. its village's class).

The feature is found by name (``site_field`` of the site = ``layer_field`` of
the layer, compared by :func:`geoplan.sites.place_key`: without spaces, and
without the suffixes 村民委员会 / 村委会 / 村, so ``新湾`` finds ``新湾村``); a
name shared by several features takes the nearest of them. A site with no
name (blank, or no ``site_field`` column) takes the nearest feature (within
``match_distance_m`` when given). A site whose name matches no feature is
``not_checked``, its message naming the name and the nearest feature: it is
never judged on a feature it does not name. A site whose feature has one of
``values`` in ``field`` gets the rule's severity (e.g. a house in a
relocate-and-merge village → warn). TOML keys: ``field``, ``values``,
``site_field``, ``layer_field`` (default ``name``), ``match_distance_m``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from ...rules import KindSpec, Rule, RuleContext, RuleKind, register
from ...rules.registry import Exclusion
from ...sites import place_key
from ...vocab import describe_values
from ..constraints import Constraint
from ..exclusion import ExclusionInput, note, polygonal, union
from ..messages import say, tell
from ..outcome import Outcome
from ..prepare import PreparedSites
from .base import KindInput

__all__ = ["Context", "ContextSpec"]


@dataclass(frozen=True)
class ContextSpec(KindSpec):
    """The parameters of a ``context`` rule."""

    field: str
    values: tuple[str, ...]
    site_field: str | None = None
    layer_field: str | None = None
    match_distance_m: float | None = None


@register
class Context(RuleKind[ContextSpec]):
    """``context``: the containing feature's ``field`` in ``values`` → the rule's severity."""

    name = "context"
    spec_type = ContextSpec
    keys = frozenset({"field", "values", "site_field", "layer_field", "match_distance_m"})

    def parse(self, ctx: RuleContext) -> ContextSpec:
        """``field`` and ``values``; optional ``site_field``/``layer_field``, ``match_distance_m``."""
        raw = ctx.raw
        field = ctx.text("field", raw.get("field"))
        vals = raw.get("values")
        if not isinstance(vals, list) or not vals:
            raise ctx.fail("values", "must be a non-empty list of values")
        if any(isinstance(v, (list, dict, bool)) for v in vals):
            raise ctx.fail("values", "must be a list of texts or numbers, e.g. "
                                     "values = [\"搬迁撤并\"]")
        site_field = layer_field = None
        if "site_field" in raw:
            site_field = ctx.text("site_field", raw["site_field"])
            layer_field = ctx.text("layer_field", raw.get("layer_field", "name"))
        match = None
        if "match_distance_m" in raw:
            match = ctx.number("match_distance_m", raw["match_distance_m"], unit="m")
        return ContextSpec(field=field, values=tuple(str(v) for v in vals),
                           site_field=site_field, layer_field=layer_field,
                           match_distance_m=match)

    def threshold_text(self, rule: Rule) -> str:
        """``layout_class in ['搬迁撤并']``."""
        spec = self.spec_of(rule)
        return f"{spec.field} in {list(spec.values)}"

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """Where a site's feature (its village…) holds one of the values: a safe cover.

        A site takes its feature by name, else the nearest: the land where a
        feature is the nearest is its Voronoi cell (point features), or the
        feature and all land outside every feature (polygons). A site's own name
        may point elsewhere, so the areas are a safe cover, not exact.
        """
        spec = self.spec_of(rule)
        c = data.layer()
        if spec.field not in c.gdf.columns:
            return Exclusion(rule.id, unknown=data.extent, exact=False,
                             **note(say("context.missing_field", rule, field=spec.field)))
        read = c.layer.literals.get(spec.field)
        wanted = [str(read(v) or v) if read is not None else str(v) for v in spec.values]
        vals = c.gdf[spec.field].astype(object).to_numpy()
        blank = pd.isna(pd.Series(vals, dtype=object)).to_numpy()
        hit = ~blank & np.isin(vals.astype(str), wanted)
        regions = _regions(c, data.extent)
        unknown = union(regions[blank], data.extent)
        if spec.match_distance_m is not None and len(c.geoms):
            reach = union(list(shapely.buffer(c.geoms, spec.match_distance_m, quad_segs=16)))
            unknown = union([unknown, polygonal(shapely.difference(data.extent, reach))])
        by = (("名称或最近者", "by name, else the nearest") if spec.site_field
              else ("最近者", "the nearest"))
        return Exclusion(rule.id, {rule.severity: union(regions[hit], data.extent)},
                         unknown=unknown, exact=False,
                         **note(say("context.exclusion", rule, by=by)))

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """Find each site's feature, read its ``field``, compare with ``values``."""
        spec = self.spec_of(rule)
        c, st, active = data.layer(), data.sites, data.active
        if spec.field not in c.gdf.columns:
            tell(out, active, "context.missing_field", rule, status="not_checked",
                 field=spec.field)
            return ""
        feat, unmatched = _match(spec, c, st, active)
        _judge(rule, spec, c, active & ~unmatched, feat, out)
        _unmatched(rule, spec, c, st, unmatched, out)
        return ""


def _match(spec: ContextSpec, c: Constraint, st: PreparedSites, active: np.ndarray,
           ) -> tuple[np.ndarray, np.ndarray]:
    """Per site, the index of its feature (-1 if none), and the sites whose name matches none.

    By name first (:func:`~geoplan.sites.place_key`; the nearest of several
    features of that name), else, for a site without a name, the nearest.
    """
    n = len(st.site_id)
    feat = np.full(n, -1)
    unmatched = np.zeros(n, dtype=bool)
    if spec.site_field and spec.site_field in st.gdf.columns and \
            spec.layer_field in c.gdf.columns:
        by_key: dict[str, list[int]] = {}
        for j, v in enumerate(c.gdf[spec.layer_field].to_numpy(dtype=object)):
            k = place_key(v)
            if k:
                by_key.setdefault(k, []).append(j)
        keys = _place_keys(st.gdf[spec.site_field].to_numpy(dtype=object))
        named = np.flatnonzero(active & (keys != ""))
        # one name at a time (a batch names a few villages), not one site at a time
        order = named[np.argsort(keys[named], kind="stable")]
        starts = np.flatnonzero(keys[order][1:] != keys[order][:-1]) + 1
        for rows in np.split(order, starts) if len(order) else []:
            hits = by_key.get(keys[rows[0]])
            if hits is None:
                unmatched[rows] = True
            elif len(hits) == 1:
                feat[rows] = hits[0]
            else:  # the nearest of the features of that name
                d = shapely.distance(c.geoms[hits][None, :], st.geom[rows][:, None])
                feat[rows] = np.asarray(hits)[np.argmin(d, axis=1)]
    rest = np.flatnonzero(active & (feat < 0) & ~unmatched)
    if len(rest):
        maxd = spec.match_distance_m
        if maxd is None:
            qi, _ = c.nearest(st.geom[rest])
        else:
            qi, _ = c.nearest(st.geom[rest], max_distance=maxd)
        feat[rest[qi[0]]] = qi[1]
    return feat, unmatched


def _place_keys(names: np.ndarray) -> np.ndarray:
    """:func:`~geoplan.sites.place_key` of every name, worked out once per distinct text."""
    memo: dict[str, str] = {}
    out = np.empty(len(names), dtype=object)
    for i, v in enumerate(names.tolist()):
        if type(v) is str:  # 1, 1.0 and True are equal keys of a dict, not equal names
            k = memo.get(v)
            if k is None:
                k = memo[v] = place_key(v)
            out[i] = k
        else:
            out[i] = place_key(v)
    return out


def _unmatched(rule: Rule, spec: ContextSpec, c: Constraint, st: PreparedSites,
               unmatched: np.ndarray, out: Outcome) -> None:
    """Sites whose name matches no feature: ``not_checked``, naming the nearest feature."""
    rows = np.flatnonzero(unmatched)
    if not len(rows):
        return
    n = out.n
    given = np.full(n, "", dtype=object)
    given[rows] = [str(v).strip() for v in
                   st.gdf[spec.site_field].to_numpy(dtype=object)[rows]]
    nearest = np.full(n, "—", dtype=object)
    if len(c.geoms):
        qi, _ = c.nearest(st.geom[rows])
        nearest[rows[qi[0]]] = [str(x) for x in c.names[qi[1]]]
    out.set(unmatched, unit="", threshold=np.nan)
    tell(out, unmatched, "context.unmatched_name", rule, status="not_checked", value=given,
         field=str(spec.site_field), nearest=nearest)


def _judge(rule: Rule, spec: ContextSpec, c: Constraint, active: np.ndarray, feat: np.ndarray,
           out: Outcome) -> None:
    n = out.n
    fld = spec.field
    layer_vals = c.gdf[fld].astype(object).to_numpy()
    found = active & (feat >= 0)
    val = np.full(n, None, dtype=object)
    val[found] = layer_vals[feat[found]]
    blank = found & pd.isna(pd.Series(val, dtype=object)).to_numpy()
    read = c.layer.literals.get(fld)
    wanted = [str(read(v) or v) if read is not None else str(v) for v in spec.values]
    hit = found & ~blank & np.isin(val.astype(str), wanted)
    found_known = found & ~blank
    none = active & ~found
    names = np.full(n, "", dtype=object)
    names[found] = c.names[feat[found]]
    out.set(active, unit="", threshold=np.nan)
    text = val.astype(str)
    tell(out, hit, "context.listed_value", rule, status=rule.severity, name=names, field=fld,
         value=text)
    tell(out, found_known & ~hit, "context.value", rule, name=names, value=text)
    unread = c.layer.unreadable.get(fld)
    if unread:
        tell(out, blank, "context.blank_value_unreadable", rule, status="not_checked",
             name=names, field=fld, layer_key_en=rule.layer,
             unreadable_en=describe_values(None, unreadable=unread))
    else:
        tell(out, blank, "context.blank_value", rule, status="not_checked", name=names,
             field=fld, layer_key_en=rule.layer)
    tell(out, none, "context.no_feature", rule, status="not_checked")
    out.matched[found] = np.array([str(x) for x in c.fids[feat[found]]], dtype=object)


def _regions(c: Constraint, extent: shapely.Geometry) -> np.ndarray:
    """Per feature, where a site would take it as its own (a safe cover).

    Point features: their Voronoi cells. Other features: the feature itself and
    all land outside every feature (where the nearest may be any of them).
    """
    n = len(c.geoms)
    out = np.full(n, None, dtype=object)
    if not n:
        return out
    if c.family == "point":
        pts = shapely.get_coordinates(c.geoms)
        if len(pts) == n and len(np.unique(pts, axis=0)) == n:
            env = shapely.box(*shapely.bounds(shapely.union(extent, shapely.multipoints(pts))))
            cells = shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=env,
                                             ordered=True)
            out[:] = list(shapely.get_parts(cells))
            return out
    gap = polygonal(shapely.difference(extent, union(c.geoms)))
    out[:] = [shapely.union(g, gap) for g in c.geoms]
    return out
