"""``within``: the site must lie inside the layer (e.g. the village construction boundary).

Measures the part of the site outside the layer: area for a footprint, length
for a road centreline without width; a point is inside or not. TOML keys:
``tolerance_m2`` (default 1 m²), ``report_radius_m`` (default
:data:`~geoplan.engine.outcome.REPORT_RADIUS_M`: how far outside the layer the
distance of a point site is measured, only to be reported).
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely

from ...rules import KindSpec, Rule, RuleContext, RuleKind, register
from ...rules.registry import Exclusion
from ..exclusion import ExclusionInput, features_near, polygonal, union
from ..outcome import REPORT_RADIUS_M, Outcome
from .base import KindInput
from .overlap import Zone, measure_overlap

__all__ = ["Within", "WithinSpec"]


@dataclass(frozen=True)
class WithinSpec(KindSpec):
    """The parameters of a ``within`` rule (``tolerance_m`` is fixed)."""

    tolerance_m2: float = 1.0
    tolerance_m: float = 0.5
    report_radius_m: float = REPORT_RADIUS_M


@register
class Within(RuleKind[WithinSpec]):
    """``within``: no more than ``tolerance_m2`` of the site outside the layer."""

    name = "within"
    measures_area = True  # sums overlap areas: asks whether the layer's features overlap
    spec_type = WithinSpec
    keys = frozenset({"tolerance_m2", "report_radius_m"})

    def parse(self, ctx: RuleContext) -> WithinSpec:
        """Optional ``tolerance_m2`` and ``report_radius_m``."""
        return WithinSpec(tolerance_m2=ctx.optional_number("tolerance_m2", 1.0, unit="m2"),
                          report_radius_m=ctx.optional_number("report_radius_m",
                                                              REPORT_RADIUS_M, unit="m"))

    def threshold_text(self, rule: Rule) -> str:
        """``outside > 1 m²``."""
        return f"outside > {self.spec_of(rule).tolerance_m2:g} m²"

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """The extent outside the layer's features."""
        c = data.layer()
        inside = union(c.geoms[features_near(c, data.extent)], data.extent)
        return Exclusion(rule.id, {rule.severity: polygonal(shapely.difference(data.extent,
                                                                               inside))})

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """The part of each site outside the layer (polygon layers only)."""
        spec = self.spec_of(rule)
        family = data.layer().family
        if family != "polygon":
            return f"a {rule.kind} rule needs a polygon layer; {rule.layer} holds {family}s"
        measure_overlap(rule, Zone(inside=False, tolerance_m2=spec.tolerance_m2,
                                   tolerance_m=spec.tolerance_m,
                                   report_m=spec.report_radius_m), data, out)
        return ""
