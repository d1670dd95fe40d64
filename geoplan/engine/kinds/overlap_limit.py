"""``overlap_limit``: the site may overlap the layer up to an area and/or a share of itself.

Reports the overlap in m² and 亩 and as a share of the site. TOML keys:
``max_m2`` and/or ``max_percent`` (thresholds, at least one), ``tolerance_m2``.
A road centreline without width, or a point, has no area: ``not_checked``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...rules import KindSpec, Rule, RuleContext, RuleKind, Threshold, register
from ...rules.registry import Exclusion
from ..exclusion import ExclusionInput, features_near, note, union
from ..messages import say
from ..outcome import Outcome
from .base import KindInput
from .overlap import Zone, measure_overlap

__all__ = ["OverlapLimit", "OverlapLimitSpec"]


@dataclass(frozen=True)
class OverlapLimitSpec(KindSpec):
    """The parameters of an ``overlap_limit`` rule (at least one of the two limits)."""

    tolerance_m2: float = 1.0
    tolerance_m: float = 0.5
    max_m2: Threshold | None = None
    max_percent: Threshold | None = None


@register
class OverlapLimit(RuleKind[OverlapLimitSpec]):
    """``overlap_limit``: overlap area ≤ ``max_m2`` and share ≤ ``max_percent``."""

    name = "overlap_limit"
    measures_area = True  # sums overlap areas: asks whether the layer's features overlap
    spec_type = OverlapLimitSpec
    keys = frozenset({"tolerance_m2", "max_m2", "max_percent"})

    def parse(self, ctx: RuleContext) -> OverlapLimitSpec:
        """``max_m2`` and/or ``max_percent`` (0–100), optional ``tolerance_m2``."""
        raw = ctx.raw
        tolerance_m2 = ctx.optional_number("tolerance_m2", 1.0, unit="m2")
        if "max_m2" not in raw and "max_percent" not in raw:
            raise ctx.fail("max_m2", "an overlap_limit needs max_m2 and/or max_percent")
        max_m2 = ctx.threshold("max_m2", raw["max_m2"], "m2") if "max_m2" in raw else None
        max_percent = None
        if "max_percent" in raw:
            max_percent = ctx.threshold("max_percent", raw["max_percent"], "percent")
            if max_percent.value > 100:
                raise ctx.fail("max_percent", "must be between 0 and 100")
        return OverlapLimitSpec(tolerance_m2=tolerance_m2, max_m2=max_m2,
                                max_percent=max_percent)

    def threshold_text(self, rule: Rule) -> str:
        """``≤ 200 m²``, ``≤ 10 %`` or both joined by ``and``."""
        spec = self.spec_of(rule)
        parts = []
        if spec.max_m2 is not None:
            parts.append(f"≤ {spec.max_m2.value:g} m²")
        if spec.max_percent is not None:
            parts.append(f"≤ {spec.max_percent.value:g} %")
        return " and ".join(parts)

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """The layer's features, as a safe cover: part of a footprint may overlap them."""
        c = data.layer()
        lim = self.threshold_text(rule)
        zone = union(c.geoms[features_near(c, data.extent)], data.extent)
        return Exclusion(rule.id, {rule.severity: zone}, exact=False,
                         **note(say("overlap_limit.exclusion", rule, limit=lim)))

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """Overlap area and share against the limits (polygon layers only)."""
        spec = self.spec_of(rule)
        family = data.layer().family
        if family != "polygon":
            return f"a {rule.kind} rule needs a polygon layer; {rule.layer} holds {family}s"
        zone = Zone(inside=True, tolerance_m2=spec.tolerance_m2, tolerance_m=spec.tolerance_m,
                    limit_m2=spec.max_m2.value if spec.max_m2 else None,
                    limit_pct=spec.max_percent.value if spec.max_percent else None,
                    limited=True)
        measure_overlap(rule, zone, data, out)
        return ""
