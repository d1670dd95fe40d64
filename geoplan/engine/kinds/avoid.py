"""``avoid``: the site must not intersect the layer (beyond a sliver tolerance).

On a polygon layer the overlap area is measured (m², 亩 and share of the
site); on a line layer the length running through the footprint; on a point
layer (old trees) the features inside the footprint are counted.

TOML keys: ``tolerance_m2`` (default 1 m²: overlaps up to this are slivers),
``tolerance_m`` (default 0.5 m: the same for lengths).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ...kinds import KINDS
from ...rules import KindSpec, Rule, RuleContext, RuleKind, register
from ..outcome import Outcome, fmt, group_reduce, joined_ids, layer_label
from .base import KindInput, mask_of
from .overlap import Zone, measure_overlap

__all__ = ["Avoid", "AvoidSpec"]


@dataclass(frozen=True)
class AvoidSpec(KindSpec):
    """The parameters of an ``avoid`` rule."""

    tolerance_m2: float = 1.0
    tolerance_m: float = 0.5


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
    spec_type = AvoidSpec
    keys = frozenset({"tolerance_m2", "tolerance_m"})

    def parse(self, ctx: RuleContext) -> AvoidSpec:
        """``tolerance_m2`` and ``tolerance_m``, both optional."""
        return AvoidSpec(tolerance_m2=ctx.optional_number("tolerance_m2", 1.0, unit="m2"),
                         tolerance_m=ctx.optional_number("tolerance_m", 0.5, unit="m"))

    def threshold_text(self, rule: Rule) -> str:
        """``none inside the footprint`` on a point layer, else ``overlap > 1 m²``."""
        fams = KINDS[rule.layer].families if rule.layer in KINDS else ()
        if fams == ("point",):
            return "none inside the footprint"
        return f"overlap > {self.spec_of(rule).tolerance_m2:g} m²"

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
                                       tolerance_m=spec.tolerance_m), data, out)
        return ""


def _avoid_points(rule: Rule, data: KindInput, out: Outcome) -> None:
    """avoid on a point layer (old trees): no feature inside the footprint."""
    c, st, n = data.layer(), data.sites, out.n
    lzh, len_ = layer_label(rule)
    poly = np.flatnonzero(data.active & (st.family == "polygon"))
    other = data.active & (st.family != "polygon")
    out.set(other, status="not_checked",
            zh=f"点状或线状选址无宅基范围，无法核查{lzh}；请提供宅基面或使用 --footprint-m",
            en=f"a point or line site has no footprint to hold {len_} against; give footprints "
               "or use --footprint-m")
    if not len(poly):
        return
    qs, qf = c.query(st.geom[poly], "intersects")
    si = poly[qs]
    count = group_reduce(si, np.ones(len(si)), n)
    m = mask_of(poly, n)
    bad = count > 0
    out.set(m, measure=count, unit="count", threshold=0.0)
    out.set(m & bad, status=rule.severity, zh=f"宅基范围内有{lzh} " + fmt(count, ".0f") + " 处",
            en=fmt(count, ".0f") + f" {len_} feature(s) inside the footprint")
    out.set(m & ~bad, zh=f"宅基范围内无{lzh}", en=f"no {len_} inside the footprint")
    out.matched[m & bad] = joined_ids(si, c.fids[qf], n)[m & bad]
    if len(si):
        out.ev_idx.append(si)
        out.ev_geom.append(c.geoms[qf])


def _avoid_lines(rule: Rule, spec: AvoidSpec, data: KindInput, out: Outcome) -> None:
    """avoid on a line layer: length of the layer inside the site footprint."""
    c, st, n = data.layer(), data.sites, out.n
    lzh, len_ = layer_label(rule)
    poly = np.flatnonzero(data.active & (st.family == "polygon"))
    other = np.flatnonzero(data.active & (st.family != "polygon"))
    if len(other):
        qs, qf = c.query(st.geom[other], "intersects")
        hit = mask_of(other[qs], n)
        m = mask_of(other, n)
        out.set(m, measure=hit.astype(float), unit="count", threshold=0.0)
        out.set(m & hit, status=rule.severity, zh=f"与{lzh}相交", en=f"intersects the {len_}")
        out.set(m & ~hit, zh=f"不与{lzh}相交", en=f"does not intersect the {len_}")
    if len(poly):
        qs, qf = c.query(st.geom[poly], "intersects")
        si = poly[qs]
        length = group_reduce(si, shapely.length(c.intersection(st.geom[si], qf)), n)
        m = mask_of(poly, n)
        bad = length > spec.tolerance_m
        out.set(m, measure=length, unit="m", threshold=spec.tolerance_m)
        out.set(m & bad, status=rule.severity, zh=f"{lzh}穿过宅基 " + fmt(length, ".1f") + " 米",
                en=f"{len_} runs " + fmt(length, ".1f") + " m through the footprint")
        out.set(m & ~bad, zh=f"宅基内无{lzh}", en=f"no {len_} through the footprint")
        out.matched[m & bad] = joined_ids(si, c.fids[qf], n)[m & bad]
