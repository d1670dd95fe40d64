"""``proximity``: the site must lie within a distance of the nearest feature (a service).

TOML key: ``max_distance_m`` (a threshold, required).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...rules import KindSpec, Rule, RuleContext, RuleKind, Threshold, register
from ..outcome import EPS_M, Outcome, fmt, layer_label
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

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """Distance to the nearest feature against the limit."""
        c = data.layer()
        if len(c.geoms) == 0:
            return f"layer {rule.layer} has no features"
        idx = np.flatnonzero(data.active)
        if not len(idx):
            return ""
        n = out.n
        lzh, len_ = layer_label(rule)
        lim = self.spec_of(rule).max_distance_m.value
        qs_n, nd = c.nearest_distance(data.sites.geom[idx])
        dist = np.full(n, np.nan)
        dist[idx[qs_n]] = nd
        m = mask_of(idx, n)
        bad = m & (dist > lim + EPS_M)
        out.set(m, measure=dist, unit="m", threshold=lim)
        out.set(bad, status=rule.severity,
                zh=f"距最近的{lzh} " + fmt(dist, ".0f") + f" 米，超过 {lim:g} 米",
                en=fmt(dist, ".0f") + f" m from the nearest {len_}, more than {lim:g} m")
        out.set(m & ~bad, zh=f"距最近的{lzh} " + fmt(dist, ".0f") + " 米",
                en=fmt(dist, ".0f") + f" m from the nearest {len_}")
        return ""
