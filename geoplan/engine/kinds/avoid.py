"""``avoid``: the site must not intersect the layer (beyond a sliver tolerance).

On a polygon layer the overlap area is measured (m², 亩 and share of the
site); on a line layer the length running through the footprint; on a point
layer (old trees) the features inside the footprint are counted.

TOML keys: ``tolerance_m2`` (default 1 m²: overlaps up to this are slivers),
``tolerance_m`` (default 0.5 m: the same for lengths), ``report_radius_m``
(default :data:`~geoplan.engine.outcome.REPORT_RADIUS_M`: how far the distance
from a point site outside the layer is measured, only to be reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ...kinds import KINDS
from ...rules import KindSpec, Rule, RuleContext, RuleKind, register
from ...rules.registry import Exclusion
from ..exclusion import ExclusionInput, features_near, note, union
from ..messages import say, tell
from ..outcome import REPORT_RADIUS_M, Outcome, group_reduce, joined_ids
from .base import KindInput, mask_of
from .overlap import Zone, measure_overlap

__all__ = ["Avoid", "AvoidSpec"]


@dataclass(frozen=True)
class AvoidSpec(KindSpec):
    """The parameters of an ``avoid`` rule."""

    tolerance_m2: float = 1.0
    tolerance_m: float = 0.5
    report_radius_m: float = REPORT_RADIUS_M


@register
class Avoid(RuleKind[AvoidSpec]):
    """``avoid``: no overlap with the layer beyond the tolerance.

    Examples
    --------
    >>> from geoplan.rules import load_pack
    >>> load_pack()["house.flood_zone"].threshold_text()
    'overlap > 1 m²'
    """

    name = "avoid"
    measures_area = True  # sums overlap areas: asks whether the layer's features overlap
    spec_type = AvoidSpec
    keys = frozenset({"tolerance_m2", "tolerance_m", "report_radius_m"})

    def parse(self, ctx: RuleContext) -> AvoidSpec:
        """``tolerance_m2``, ``tolerance_m`` and ``report_radius_m``, all optional."""
        return AvoidSpec(tolerance_m2=ctx.optional_number("tolerance_m2", 1.0, unit="m2"),
                         tolerance_m=ctx.optional_number("tolerance_m", 0.5, unit="m"),
                         report_radius_m=ctx.optional_number("report_radius_m",
                                                             REPORT_RADIUS_M, unit="m"))

    def threshold_text(self, rule: Rule) -> str:
        """``none inside the footprint`` on a point layer, else ``overlap > 1 m²``."""
        fams = KINDS[rule.layer].families if rule.layer in KINDS else ()
        if fams == ("point",):
            return "none inside the footprint"
        return f"overlap > {self.spec_of(rule).tolerance_m2:g} m²"

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """The layer's features: a footprint may not overlap them, a point not lie in them."""
        c = data.layer()
        zone = union(c.geoms[features_near(c, data.extent)], data.extent)
        if c.family == "point":
            return Exclusion(rule.id, {rule.severity: zone},
                             **note(say("avoid.exclusion_points", rule)))
        return Exclusion(rule.id, {rule.severity: zone})

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """Overlap area (polygon layer), length inside (line layer) or count (point layer)."""
        spec = self.spec_of(rule)
        family = data.layer().family
        if family == "point":
            _avoid_points(rule, data, out)
        elif family == "line":
            _avoid_lines(rule, spec, data, out)
        elif family != "polygon":
            return f"a {rule.kind} rule needs a polygon layer; {rule.layer} holds {family}s"
        else:
            measure_overlap(rule, Zone(inside=True, tolerance_m2=spec.tolerance_m2,
                                       tolerance_m=spec.tolerance_m,
                                       report_m=spec.report_radius_m), data, out)
        return ""


def _avoid_points(rule: Rule, data: KindInput, out: Outcome) -> None:
    """An ``avoid`` rule on a point layer (old trees): no feature inside the footprint."""
    c, st, n = data.layer(), data.sites, out.n
    poly = np.flatnonzero(data.active & (st.family == "polygon"))
    other = data.active & (st.family != "polygon")
    tell(out, other, "avoid.no_footprint", rule, status="not_checked")
    if not len(poly):
        return
    qs, qf = c.query(st.geom[poly], "intersects")
    si = poly[qs]
    count = group_reduce(si, np.ones(len(si)), n)
    m = mask_of(poly, n)
    bad = count > 0
    out.set(m, measure=count, unit="count", threshold=0.0)
    tell(out, m & bad, "avoid.points_inside", rule, status=rule.severity, count=count)
    tell(out, m & ~bad, "avoid.no_points_inside", rule)
    out.matched[m & bad] = joined_ids(si, c.fids[qf], n)[m & bad]
    if len(si):
        out.ev_idx.append(si)
        out.ev_geom.append(c.geoms[qf])


def _avoid_lines(rule: Rule, spec: AvoidSpec, data: KindInput, out: Outcome) -> None:
    """An ``avoid`` rule on a line layer: length of the layer inside the site footprint."""
    c, st, n = data.layer(), data.sites, out.n
    poly = np.flatnonzero(data.active & (st.family == "polygon"))
    other = np.flatnonzero(data.active & (st.family != "polygon"))
    if len(other):
        qs, qf = c.query(st.geom[other], "intersects")
        hit = mask_of(other[qs], n)
        m = mask_of(other, n)
        out.set(m, measure=hit.astype(float), unit="count", threshold=0.0)
        tell(out, m & hit, "avoid.line_crosses", rule, status=rule.severity)
        tell(out, m & ~hit, "avoid.line_clear", rule)
    if len(poly):
        qs, qf = c.query(st.geom[poly], "intersects")
        si = poly[qs]
        length = group_reduce(si, shapely.length(c.intersection(st.geom[si], qf)), n)
        m = mask_of(poly, n)
        bad = length > spec.tolerance_m
        out.set(m, measure=length, unit="m", threshold=spec.tolerance_m)
        tell(out, m & bad, "avoid.runs_through", rule, status=rule.severity, length=length)
        tell(out, m & ~bad, "avoid.none_through", rule)
        out.matched[m & bad] = joined_ids(si, c.fids[qf], n)[m & bad]
