"""``raster``: a statistic of a raster-derived surface under the site, in graded levels.

Only ``surface = "slope"`` (degrees, from the DEM) exists. TOML keys:
``surface``, ``stat`` (``max``, ``mean`` or ``p90``), ``levels`` — a list of
``{ above = 25, status = "fail", source = …, verified = … }``, the highest
level the statistic exceeds deciding the status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import shapely

from ...rules import KindSpec, Level, Rule, RuleContext, RuleKind, register
from ...rules.registry import Exclusion
from ..exclusion import ExclusionInput, note, polygonal
from ..messages import say, tell
from ..outcome import Outcome
from .base import KindInput, mask_of

__all__ = ["Raster", "RasterSpec"]

Stat = Literal["max", "mean", "p90"]
_LEVEL_KEYS = {"above", "status", "source", "verified"}


@dataclass(frozen=True)
class RasterSpec(KindSpec):
    """The parameters of a ``raster`` rule: levels sorted from the highest threshold down."""

    surface: str = "slope"
    stat: Stat = "max"
    levels: tuple[Level, ...] = ()


@register
class Raster(RuleKind[RasterSpec]):
    """``raster``: the slope statistic under the site above a level → that level's status."""

    name = "raster"
    spec_type = RasterSpec
    keys = frozenset({"surface", "stat", "levels"})
    reads = "raster"

    def parse(self, ctx: RuleContext) -> RasterSpec:
        """``surface``, ``stat`` and ``levels`` (at least one)."""
        raw = ctx.raw
        surface = raw.get("surface", "slope")
        if surface != "slope":
            raise ctx.fail("surface", "only 'slope' (degrees, from the DEM) is available")
        stat = raw.get("stat", "max")
        if stat not in ("max", "mean", "p90"):
            raise ctx.fail("stat", "must be max, mean or p90")
        levels_raw = raw.get("levels")
        if not isinstance(levels_raw, list) or not levels_raw:
            raise ctx.fail("levels", "write levels = [{ above = 25, status = \"fail\", "
                                     "source = …, verified = … }, …]")
        levels = [_level(ctx, lv) for lv in levels_raw]
        levels.sort(key=lambda lv: -lv.threshold.value)
        return RasterSpec(surface=surface, stat=cast(Stat, stat), levels=tuple(levels))

    def threshold_text(self, rule: Rule) -> str:
        """``max slope > 25° → fail; max slope > 15° → warn``."""
        spec = self.spec_of(rule)
        return "; ".join(f"{spec.stat} {spec.surface} > {lv.threshold.value:g}° → {lv.status}"
                         for lv in spec.levels)

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """The DEM cells above each level (whole cells), the worst status first."""
        from ...raster.areas import slope_areas

        spec = self.spec_of(rule)
        lowest: dict[str, float] = {}
        for lv in spec.levels:
            lowest[lv.status] = min(lowest.get(lv.status, np.inf), lv.threshold.value)
        areas = slope_areas(data.dem(), data.extent, crs=data.workspace.crs,
                            thresholds=list(lowest.values()))
        zones: dict[str, shapely.Geometry] = {}
        taken = shapely.Polygon()
        for status in ("fail", "warn"):
            if status in lowest:
                zones[status] = polygonal(shapely.difference(areas.above[lowest[status]],
                                                             taken))
                taken = shapely.union(taken, zones[status])
        if spec.stat == "max":
            return Exclusion(rule.id, zones, unknown=areas.unknown)
        return Exclusion(rule.id, zones, unknown=areas.unknown, exact=False,
                         **note(say("raster.exclusion_cover", stat=spec.stat)))

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """Zonal slope per site, held against the levels from the highest down."""
        from ...raster import zonal_slope

        spec = self.spec_of(rule)
        dem, st, n = data.dem(), data.sites, out.n
        idx = np.flatnonzero(data.active)
        if not len(idx):
            return ""
        # the prepared sites are valid (prepare_sites repaired any that were not)
        zr = zonal_slope(dem, st.geom[idx], crs=data.workspace.crs, stat=spec.stat,
                         assume_valid=True)
        val = np.full(n, np.nan)
        val[idx] = zr.values
        zst = np.full(n, "", dtype=object)
        zst[idx] = zr.status
        reason = np.full(n, "", dtype=object)
        reason[idx] = zr.reason
        m = mask_of(idx, n)
        okm = m & (zst == "ok")
        out.set(m, measure=val, unit="deg")
        assigned = np.zeros(n, dtype=bool)
        for lv in spec.levels:  # sorted from the highest threshold down
            hit = okm & ~assigned & (val > lv.threshold.value + 1e-9)
            out.set(hit, threshold=lv.threshold.value)
            tell(out, hit, "raster.above_level", status=lv.status, stat=spec.stat, slope=val,
                 level=lv.threshold.value)
            assigned |= hit
        low = okm & ~assigned
        lowest = min(lv.threshold.value for lv in spec.levels)
        out.set(low, threshold=lowest)
        tell(out, low, "raster.below_levels", stat=spec.stat, slope=val)
        outside = m & (zst == "outside")
        tell(out, outside, "raster.outside_dem", status="error", reason_en=reason)
        nod = m & ((zst == "nodata") | (zst == "empty"))
        tell(out, nod, "raster.no_data", status="not_checked", reason_en=reason)
        return ""


def _level(ctx: RuleContext, lv: object) -> Level:
    if not isinstance(lv, dict) or "above" not in lv:
        raise ctx.fail("levels", f"level {lv!r} needs 'above'")
    if set(lv) - _LEVEL_KEYS:
        raise ctx.fail("levels", f"unknown key(s) {sorted(set(lv) - _LEVEL_KEYS)}; "
                                 "a level is { above = …, status = …, source = …, "
                                 "verified = … }")
    status = lv.get("status", ctx.severity)
    if status not in ("fail", "warn"):
        raise ctx.fail("levels", f"status must be fail or warn, got {status!r}")
    th = ctx.threshold("levels", {"value": lv["above"],
                                  **{k: v for k, v in lv.items()
                                     if k in ("source", "verified")}}, "deg")
    if th.value > 90:
        raise ctx.fail("levels", f"a slope above {th.value:g}° cannot occur")
    return Level(threshold=th, status=status)
