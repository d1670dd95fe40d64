"""Overlap with a polygon layer, measured per site: shared by avoid, overlap_limit and within.

A footprint is measured by the area it shares with the layer (or, for
``within``, the area outside it), a road centreline without width by the
length it runs inside (outside), a point by whether it lies inside and, within
:attr:`Zone.report_m`, how far it is from the layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ...core import MU_PER_M2
from ...rules import Rule
from ..constraints import Constraint
from ..messages import pick, say, tell
from ..outcome import REPORT_RADIUS_M, Outcome, group_reduce, joined_ids, union_per_site
from ..prepare import PreparedSites
from .base import KindInput, mask_of

__all__ = ["Zone", "measure_overlap"]


@dataclass(frozen=True)
class Zone:
    """How the overlap with the layer is judged.

    Parameters
    ----------
    inside
        ``True``: the overlap counts against the site (avoid, overlap_limit);
        ``False``: the part outside the layer does (within).
    tolerance_m2, tolerance_m
        Overlaps up to these (area, centreline length) are slivers, not findings.
    limit_m2, limit_pct
        overlap_limit: the area and share of the site allowed to overlap.
    limited
        overlap_limit: the rule limits an area, which a centreline or a point
        does not have (those sites are ``not_checked``).
    report_m
        How far the distance from a point site outside the layer to the layer
        is measured (it decides no status, it is only reported); beyond it the
        message says "more than …" and the measure is empty.
    """

    inside: bool
    tolerance_m2: float
    tolerance_m: float
    limit_m2: float | None = None
    limit_pct: float | None = None
    limited: bool = False
    report_m: float = REPORT_RADIUS_M


def measure_overlap(rule: Rule, zone: Zone, data: KindInput, out: Outcome) -> None:
    """Fill ``out`` for every active site of ``data`` against the rule's polygon layer."""
    c, st = data.layer(), data.sites
    fam = st.family
    poly = np.flatnonzero(data.active & (fam == "polygon"))
    line = np.flatnonzero(data.active & (fam == "line"))
    pts = np.flatnonzero(data.active & (fam == "point"))
    if len(poly):
        _footprints(rule, zone, c, st, poly, out)
    if len(line):  # road centrelines without width
        _centrelines(rule, zone, c, st, line, out)
    if len(pts):
        _points(rule, zone, c, st, pts, out)


@dataclass
class _Areas:
    """Per site: the area shared with the layer, its share, the evidence, the features."""

    total: np.ndarray
    site_area: np.ndarray
    pct: np.ndarray
    ev: np.ndarray
    ev_sites: np.ndarray
    matched: np.ndarray


def _areas(c: Constraint, st: PreparedSites, poly: np.ndarray, n: int) -> _Areas:
    qs, qf = c.query(st.geom[poly], "intersects")
    si = poly[qs]
    pieces = c.intersection(st.geom[si], qf)
    area = shapely.area(pieces)
    keep = area > 0
    si, qf, pieces = si[keep], qf[keep], pieces[keep]
    if c.is_partition:
        total = group_reduce(si, shapely.area(pieces), n)
        ev, ev_sites = union_per_site(si, pieces, n, disjoint=True)
    else:
        ev, ev_sites = union_per_site(si, pieces, n, disjoint=False)
        total = np.zeros(n)
        total[ev_sites] = shapely.area(ev[ev_sites])
    site_area = np.zeros(n)
    site_area[poly] = shapely.area(st.geom[poly])
    pct = np.divide(total, site_area, out=np.zeros(n), where=site_area > 0) * 100
    return _Areas(total=total, site_area=site_area, pct=pct, ev=ev, ev_sites=ev_sites,
                  matched=joined_ids(si, c.fids[qf], n))


def _footprints(rule: Rule, zone: Zone, c: Constraint, st: PreparedSites, poly: np.ndarray,
                out: Outcome) -> None:
    a = _areas(c, st, poly, out.n)
    mask = mask_of(poly, out.n)
    if zone.inside:
        _judge_overlap(rule, zone, a, mask, out)
    else:
        _judge_outside(rule, zone, st, a, mask, out)


def _over_limit(zone: Zone, measure: np.ndarray, pct: np.ndarray) -> np.ndarray:
    """Sites whose overlap is beyond the tolerance, or beyond the limits when there are some."""
    tol = zone.tolerance_m2
    if zone.limit_m2 is None and zone.limit_pct is None:
        return measure > tol
    over_m2 = measure > max(zone.limit_m2 or 0.0, tol) if zone.limit_m2 is not None else False
    over_pct = (pct > zone.limit_pct) & (measure > tol) if zone.limit_pct is not None else False
    return np.asarray(over_m2 | over_pct, dtype=bool)


def _judge_overlap(rule: Rule, zone: Zone, a: _Areas, mask: np.ndarray, out: Outcome) -> None:
    measure, pct = a.total, a.pct
    bad = _over_limit(zone, measure, pct)
    thr = zone.limit_m2 if zone.limit_m2 is not None else zone.tolerance_m2
    small = (measure > 0) & ~bad
    zh_ok, en_ok = pick(small, say("overlap.touches", rule, area=measure),
                        say("overlap.none", rule))
    out.set(mask, measure=measure, unit="m2", threshold=thr)
    tell(out, mask & bad, "overlap.inside", rule, status=rule.severity, area=measure,
         mu=measure * MU_PER_M2, pct=pct)
    out.set(mask & ~bad, zh=zh_ok, en=en_ok)
    out.matched[mask & bad] = a.matched[mask & bad]
    ev_sites = a.ev_sites[bad[a.ev_sites]]
    out.ev_idx.append(ev_sites)
    out.ev_geom.append(a.ev[ev_sites])


def _judge_outside(rule: Rule, zone: Zone, st: PreparedSites, a: _Areas, mask: np.ndarray,
                   out: Outcome) -> None:
    outside = np.maximum(a.site_area - a.total, 0.0)
    bad = outside > zone.tolerance_m2
    out.set(mask, measure=outside, unit="m2", threshold=zone.tolerance_m2)
    tell(out, mask & bad, "overlap.outside", rule, status=rule.severity, area=outside,
         pct=100 - a.pct)
    tell(out, mask & ~bad, "overlap.within", rule)
    out.matched[mask] = a.matched[mask]
    outs = np.flatnonzero(mask & bad)
    if len(outs):
        # a site sharing nothing with the layer is wholly outside: its own evidence
        diff = st.geom[outs].copy()
        part = np.flatnonzero(~shapely.is_missing(a.ev[outs]))
        diff[part] = shapely.difference(st.geom[outs[part]], a.ev[outs[part]])
        out.ev_idx.append(outs)
        out.ev_geom.append(diff)


def _centrelines(rule: Rule, zone: Zone, c: Constraint, st: PreparedSites, line: np.ndarray,
                 out: Outcome) -> None:
    n = out.n
    m = mask_of(line, n)
    if zone.limited:
        tell(out, m, "overlap.centreline_no_width", status="not_checked")
        return
    qs, qf = c.query(st.geom[line], "intersects")
    si = line[qs]
    pieces = c.intersection(st.geom[si], qf)
    ev, ev_sites = union_per_site(si, pieces, n, disjoint=False)
    length = np.zeros(n)
    length[ev_sites] = shapely.length(ev[ev_sites])
    site_len = np.zeros(n)
    site_len[line] = shapely.length(st.geom[line])
    measure = length if zone.inside else np.maximum(site_len - length, 0.0)
    bad = measure > zone.tolerance_m
    out.set(m, measure=measure, unit="m", threshold=zone.tolerance_m)
    if zone.inside:
        tell(out, m & bad, "overlap.centreline_inside", rule, status=rule.severity,
             length=measure)
        tell(out, m & ~bad, "overlap.centreline_clear", rule)
    else:
        tell(out, m & bad, "overlap.centreline_outside", rule, status=rule.severity,
             length=measure)
        tell(out, m & ~bad, "overlap.within", rule)
    out.matched[m & bad] = joined_ids(si, c.fids[qf], n)[m & bad]
    b = np.flatnonzero(m & bad)
    if zone.inside and len(b):
        out.ev_idx.append(b)
        out.ev_geom.append(ev[b])


def _points(rule: Rule, zone: Zone, c: Constraint, st: PreparedSites, pts: np.ndarray,
            out: Outcome) -> None:
    n = out.n
    m = mask_of(pts, n)
    if zone.limited and (zone.limit_pct is not None or (zone.limit_m2 or 0) > 0):
        tell(out, m, "overlap.point_no_area", status="not_checked")
        return
    qs, qf = c.query(st.geom[pts], "within" if zone.inside else "covered_by")
    hit = mask_of(pts[qs], n)
    # inside or not decides; the distance to the layer is only reported, up to report_m
    dist = np.full(n, np.nan)
    qs_n, dd = c.nearest_distance(st.geom[pts], max_distance=zone.report_m)
    dist[pts[qs_n]] = dd
    far = m & ~hit & np.isnan(dist)
    bad = hit if zone.inside else ~hit
    out.set(m, measure=dist, unit="m", threshold=0.0)
    if zone.inside:
        tell(out, m & bad, "overlap.point_inside", rule, status=rule.severity)
        tell(out, m & ~bad & ~far, "overlap.point_not_inside", rule, distance=dist)
        tell(out, far, "overlap.point_not_inside_far", rule, radius=zone.report_m)
    else:
        tell(out, m & bad & ~far, "overlap.point_outside", rule, status=rule.severity,
             distance=dist)
        tell(out, far, "overlap.point_outside_far", rule, status=rule.severity,
             radius=zone.report_m)
        tell(out, m & ~bad, "overlap.point_inside", rule)
    out.matched[m & hit] = joined_ids(pts[qs], c.fids[qf], n)[m & hit]
