"""``proximity``: the site must lie within a distance of the nearest feature (a service).

TOML key: ``max_distance_m`` (a threshold, required).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ...rules import KindSpec, Rule, RuleContext, RuleKind, Threshold, register
from ...rules.registry import Exclusion
from ..exclusion import QUAD_SEGS, ExclusionInput, features_near, note, polygonal, union
from ..messages import say, tell
from ..outcome import EPS_M, Outcome
from .base import KindInput, mask_of

__all__ = ["Proximity", "ProximitySpec"]


@dataclass(frozen=True)
class ProximitySpec(KindSpec):
    """The parameters of a ``proximity`` rule."""

    max_distance_m: Threshold


@register
class Proximity(RuleKind[ProximitySpec]):
    """``proximity``: distance to the nearest feature ≤ ``max_distance_m``."""

    name = "proximity"
    spec_type = ProximitySpec
    keys = frozenset({"max_distance_m"})

    def parse(self, ctx: RuleContext) -> ProximitySpec:
        """``max_distance_m`` (required)."""
        raw = ctx.require("max_distance_m", "a proximity rule needs max_distance_m")
        return ProximitySpec(ctx.threshold("max_distance_m", raw, "m"))

    def threshold_text(self, rule: Rule) -> str:
        """``≤ 500 m``."""
        return f"≤ {self.spec_of(rule).max_distance_m}"

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """The extent farther than the limit from every feature (a safe cover for footprints)."""
        c = data.layer()
        lim = self.spec_of(rule).max_distance_m.value
        near = features_near(c, data.extent, lim)
        # shapely's buffer lies inside the true one, so what is left is never too small
        reach = union(list(shapely.buffer(c.geoms[near], lim, quad_segs=QUAD_SEGS)))
        return Exclusion(rule.id,
                         {rule.severity: polygonal(shapely.difference(data.extent, reach))},
                         exact=False, **note(say("proximity.exclusion", rule, limit=lim)))

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """Distance to the nearest feature against the limit."""
        c = data.layer()
        if len(c.geoms) == 0:
            return f"layer {rule.layer} has no features"
        idx = np.flatnonzero(data.active)
        if not len(idx):
            return ""
        n = out.n
        lim = self.spec_of(rule).max_distance_m.value
        qs_n, nd = c.nearest_distance(data.sites.geom[idx])
        dist = np.full(n, np.nan)
        dist[idx[qs_n]] = nd
        m = mask_of(idx, n)
        bad = m & (dist > lim + EPS_M)
        out.set(m, measure=dist, unit="m", threshold=lim)
        tell(out, bad, "proximity.too_far", rule, status=rule.severity, distance=dist, limit=lim)
        tell(out, m & ~bad, "proximity.near", rule, distance=dist)
        return ""
