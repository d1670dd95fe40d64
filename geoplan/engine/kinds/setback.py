"""``setback``: the site must keep at least a distance from every feature of the layer.

The distance is fixed (``distance_m``) or looked up per feature from an
attribute (``distance_table``, e.g. a power line's ``voltage_kv`` → its
protection corridor). A feature whose value gives no row of the table still
has a corridor at least the table's smallest: closer than that the site
fails whatever the value; between the smallest and the largest distance the
answer depends on the value, so the site is ``not_checked``.

A site clear of every corridor passes however far the nearest feature is: that
distance is only reported, and only measured up to ``report_radius_m``
(default :data:`~geoplan.engine.outcome.REPORT_RADIUS_M`, at least the widest
corridor); farther, the message says "more than …" and the measure is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from ...rules import DistanceTable, KindSpec, Rule, RuleContext, RuleKind, Threshold, register
from ...rules.registry import Exclusion
from ..exclusion import ExclusionInput, cover_buffer, features_near, note, polygonal, union
from ..messages import Said, pick, say, tell
from ..outcome import EPS_M, REPORT_RADIUS_M, Outcome, group_reduce, joined_ids, union_per_site
from .base import KindInput, mask_of

__all__ = ["Setback", "SetbackSpec"]


@dataclass(frozen=True)
class SetbackSpec(KindSpec):
    """The parameters of a ``setback`` rule: one distance, or a table of distances.

    Examples
    --------
    >>> import numpy as np
    >>> from geoplan.rules import Threshold
    >>> spec = SetbackSpec(Threshold(15.0, "m", "s", True))
    >>> spec.distance_m.value, spec.distance_table, spec.search_m
    (15.0, None, 15.0)
    >>> spec.required(np.array([np.nan, 3.0])).tolist()
    [15.0, 15.0]
    """

    distance: Threshold | DistanceTable
    report_radius_m: float = REPORT_RADIUS_M

    @property
    def distance_m(self) -> Threshold | None:
        """The fixed distance, or ``None`` when it comes from a table."""
        return self.distance if isinstance(self.distance, Threshold) else None

    @property
    def distance_table(self) -> DistanceTable | None:
        """The table of distances, or ``None`` when the distance is fixed."""
        return self.distance if isinstance(self.distance, DistanceTable) else None

    @property
    def search_m(self) -> float:
        """The farthest any feature's corridor reaches (the table's largest distance)."""
        d = self.distance
        return d.max_distance if isinstance(d, DistanceTable) else d.value

    @property
    def min_m(self) -> float:
        """The narrowest corridor: closer than this fails whatever a feature's value."""
        d = self.distance
        return d.min_distance if isinstance(d, DistanceTable) else d.value

    @property
    def report_m(self) -> float:
        """How far the nearest feature's distance is reported: the radius, or the widest corridor."""
        return max(self.report_radius_m, self.search_m)

    def required(self, values: np.ndarray) -> np.ndarray:
        """Per feature, the distance required from it (``nan`` where the table has no row).

        ``values`` holds each feature's attribute (the table's ``field``); for a
        fixed distance only its length is read.
        """
        d = self.distance
        if isinstance(d, DistanceTable):
            return np.array([d.distance_for(v) for v in values])
        return np.full(len(values), d.value)


@register
class Setback(RuleKind[SetbackSpec]):
    """``setback``: distance to the nearest feature ≥ the required distance."""

    name = "setback"
    spec_type = SetbackSpec
    keys = frozenset({"distance_m", "distance_table", "report_radius_m"})

    def parse(self, ctx: RuleContext) -> SetbackSpec:
        """Exactly one of ``distance_m`` (a threshold) and ``distance_table``; ``report_radius_m``."""
        raw = ctx.raw
        has_d, has_t = "distance_m" in raw, "distance_table" in raw
        if has_d == has_t:
            raise ctx.fail("distance_m", "a setback needs exactly one of distance_m or "
                                         "distance_table")
        report = ctx.optional_number("report_radius_m", REPORT_RADIUS_M, unit="m")
        if has_d:
            return SetbackSpec(ctx.threshold("distance_m", raw["distance_m"], "m"), report)
        return SetbackSpec(ctx.distance_table(raw["distance_table"]), report)

    def comparator(self, rule: Rule | None) -> str:
        """``≥``: a setback is a least distance."""
        return "≥"

    def threshold_text(self, rule: Rule) -> str:
        """``≥ 15 m`` or ``≥ by voltage_kv: ≤10→5 m, …``."""
        return f"≥ {self.spec_of(rule).distance}"

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """Corridors round the features, each its own distance; values not understood apart.

        A feature whose value gives no row of the table excludes the table's
        smallest distance round it (the site would fail whatever the value), and
        the land up to the largest distance is *unknown*.
        """
        spec = self.spec_of(rule)
        c, table = data.layer(), spec.distance_table
        if table is not None and table.field not in c.gdf.columns:
            return Exclusion(rule.id, unknown=data.extent, exact=False,
                             **note(say("setback.exclusion_no_field", rule, field=table.field)))
        near = features_near(c, data.extent, spec.search_m)
        vals = (pd.to_numeric(c.gdf[table.field], errors="coerce").to_numpy(dtype=float)[near]
                if table is not None else np.full(len(near), np.nan))
        req = spec.required(vals)
        unknown = np.isnan(req)
        g = _clipped(c.geoms[near], data.extent, spec.search_m)
        fail = union([*cover_buffer(g[~unknown], req[~unknown]),
                      *cover_buffer(g[unknown], spec.min_m)], data.extent)
        if not unknown.any() or table is None:
            return Exclusion(rule.id, {rule.severity: fail})
        unk = polygonal(shapely.difference(union(cover_buffer(g[unknown], spec.search_m),
                                                 data.extent), fail))
        return Exclusion(rule.id, {rule.severity: fail}, unknown=unk,
                         **note(say("setback.exclusion_unknown_values", rule,
                                    n=int(unknown.sum()), field=table.field)))

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """The nearest distance per site, held against each close feature's requirement."""
        spec = self.spec_of(rule)
        c, table = data.layer(), spec.distance_table
        if not data.active.any():
            return ""
        if table is not None and table.field not in c.gdf.columns:
            tell(out, data.active, "setback.missing_field", rule, status="not_checked",
                 field=table.field)
            return ""
        vals = (pd.to_numeric(c.gdf[table.field], errors="coerce").to_numpy(dtype=float)
                if table is not None else np.full(len(c.geoms), np.nan))
        p = _pairs(spec, data, vals)
        _judge(rule, spec, data, p, vals, out)
        return ""


@dataclass
class _Pairs:
    """Site × feature pairs within the farthest corridor, and the nearest feature per site."""

    idx: np.ndarray          # active sites
    si: np.ndarray           # pair: site
    qf: np.ndarray           # pair: feature
    d: np.ndarray            # pair: distance
    req: np.ndarray          # per feature: required distance (nan: unknown)
    unknown: np.ndarray      # pair: the feature's value gives no row of the table
    r_eff: np.ndarray        # pair: the distance held against (the smallest when unknown)
    viol: np.ndarray         # pair: closer than required
    undecided: np.ndarray    # pair: unknown value, between the smallest and largest corridor
    nearest: np.ndarray      # per site: distance to the nearest feature (nan: beyond report_m)
    nearest_req: np.ndarray  # per site: that feature's required distance (tables)


def _pairs(spec: SetbackSpec, data: KindInput, vals: np.ndarray) -> _Pairs:
    c, st, n = data.layer(), data.sites, data.n
    table = spec.distance_table
    idx = np.flatnonzero(data.active)
    req = spec.required(vals)
    search = spec.search_m
    qs, qf, d = c.within_distance(st.geom[idx], search)
    r = req[qf]
    unknown = np.isnan(r)  # the feature's value gives no row of the table
    # Whatever such a feature's value, its corridor is at least the table's smallest
    # (a fail inside it); between the smallest and the largest the answer depends on
    # the value (not_checked); beyond the largest no row of the table reaches.
    r_eff = np.where(unknown, table.min_distance if table is not None else np.nan, r)
    viol = d < r_eff - EPS_M
    undecided = unknown & ~viol & (d < search - EPS_M)
    # the nearest feature, for the pass message and measure only: within report_m
    nearest = np.full(n, np.nan)
    nearest_req = np.full(n, np.nan)
    if table is not None:  # the nearest feature's own distance is the threshold shown
        qi, nd = c.nearest(st.geom[idx], max_distance=spec.report_m)
        nearest[idx[qi[0]]] = nd
        nearest_req[idx[qi[0]]] = req[qi[1]]
    else:
        qs_n, nd = c.nearest_distance(st.geom[idx], max_distance=spec.report_m)
        nearest[idx[qs_n]] = nd
    return _Pairs(idx=idx, si=idx[qs], qf=qf, d=d, req=req, unknown=unknown, r_eff=r_eff,
                  viol=viol, undecided=undecided, nearest=nearest, nearest_req=nearest_req)


@dataclass
class _Worst:
    """Per site, its violating pair with the largest shortfall."""

    d: np.ndarray
    r: np.ndarray
    v: np.ndarray
    unk: np.ndarray
    desc_zh: np.ndarray
    desc_en: np.ndarray


def _worst(p: _Pairs, n: int, vals: np.ndarray, desc: tuple[np.ndarray, np.ndarray] | None,
           ) -> _Worst:
    w = _Worst(d=np.full(n, np.nan), r=np.full(n, np.nan), v=np.full(n, np.nan),
               unk=np.zeros(n, dtype=bool), desc_zh=np.full(n, "", dtype=object),
               desc_en=np.full(n, "", dtype=object))
    vio_site = p.si[p.viol]
    if not len(vio_site):
        return w
    short = (p.r_eff - p.d)[p.viol]
    order = np.lexsort((-short, vio_site))
    first = np.r_[True, np.diff(vio_site[order]) != 0]
    sel = order[first]
    ws_ = vio_site[sel]
    w.d[ws_] = p.d[p.viol][sel]
    w.r[ws_] = p.r_eff[p.viol][sel]
    if desc is not None:
        wf = p.qf[p.viol][sel]
        w.v[ws_] = vals[wf]
        w.unk[ws_] = p.unknown[p.viol][sel]
        w.desc_zh[ws_] = desc[0][wf]
        w.desc_en[ws_] = desc[1][wf]
    return w


def _judge(rule: Rule, spec: SetbackSpec, data: KindInput, p: _Pairs, vals: np.ndarray,
           out: Outcome) -> None:
    c, n = data.layer(), out.n
    table = spec.distance_table
    desc = _unusable_values(table, vals) if table is not None else None
    w = _worst(p, n, vals, desc)
    vio_site = p.si[p.viol]
    bad = mask_of(vio_site, n)
    unk = mask_of(p.si[p.undecided], n) & ~bad
    m = mask_of(p.idx, n)
    out.set(m, measure=p.nearest, unit="m",
            threshold=p.nearest_req if table is not None else spec.search_m)
    zh_bad, en_bad = _violation_text(rule, table, w)
    out.set(bad, status=rule.severity, measure=w.d, threshold=w.r, zh=zh_bad, en=en_bad)
    out.matched[bad] = joined_ids(vio_site, c.fids[p.qf][p.viol], n)[bad]
    if table is not None and desc is not None and unk.any():
        _undecided(rule, table, c.fids, p, desc, unk, out)
    far = np.isnan(p.nearest)
    tell(out, m & ~bad & ~unk & ~far, "setback.clear", rule, distance=p.nearest)
    tell(out, m & ~bad & ~unk & far, "setback.clear_far", rule, radius=spec.report_m)
    if bad.any():
        # evidence: the part of the site inside the required buffer of the violating features
        st = data.sites
        vs, vf, vr = vio_site, p.qf[p.viol], p.r_eff[p.viol]
        zone = shapely.buffer(c.local(vf, shapely.bounds(st.geom[vs]), vr + 1.0), vr)
        pieces = shapely.intersection(st.geom[vs], zone)
        ev, ev_sites = union_per_site(vs, pieces, n, disjoint=False)
        out.ev_idx.append(ev_sites)
        out.ev_geom.append(ev[ev_sites])


def _violation_text(rule: Rule, table: DistanceTable | None, w: _Worst) -> Said:
    """The message of a site closer than required (zh, en)."""
    if table is None:
        return say("setback.too_close", rule, distance=w.d, required=w.r)
    known = say("setback.too_close_by_value", rule, field=table.field, value=w.v,
                distance=w.d, required=w.r)
    unknown = say("setback.too_close_unknown_value", rule, field=table.field, distance=w.d,
                  reason=(w.desc_zh, w.desc_en), least=table.min_distance)
    return pick(w.unk, unknown, known)


def _undecided(rule: Rule, table: DistanceTable, fids: np.ndarray, p: _Pairs,
               desc: tuple[np.ndarray, np.ndarray], unk: np.ndarray, out: Outcome) -> None:
    """Sites near a feature of unknown value, beyond the smallest corridor: not_checked."""
    n = out.n
    us, uf = p.si[p.undecided], p.qf[p.undecided]
    unk_fids = joined_ids(us, fids[uf], n)
    u_zh = joined_ids(us, desc[0][uf], n)
    u_en = joined_ids(us, desc[1][uf], n)
    u_d = group_reduce(us, p.d[p.undecided], n, how="min")
    out.set(unk, measure=u_d, threshold=np.nan)
    tell(out, unk, "setback.undecided", rule, status="not_checked", fids=unk_fids,
         distance=u_d, field=table.field, reason=(u_zh, u_en), least=table.min_distance,
         most=table.max_distance)
    out.matched[unk] = unk_fids[unk]


def _unusable_values(table: DistanceTable, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature, why its value gives no row of ``table`` (zh, en); ``""`` where it does."""
    zh = np.full(len(vals), "", dtype=object)
    en = np.full(len(vals), "", dtype=object)
    nan = np.isnan(vals)
    zh[nan], en[nan] = say("setback.value_missing")
    for i in np.flatnonzero(~nan & (vals < 0)):
        zh[i], en[i] = say("setback.value_negative", value=vals[i])
    for i in np.flatnonzero(~nan & (vals > table.top)):
        zh[i], en[i] = say("setback.value_above_table", value=vals[i], top=table.top)
    return zh, en


def _clipped(geoms: np.ndarray, extent: shapely.Geometry, reach: float) -> np.ndarray:
    """The features cut to the extent's box grown by a bit more than ``reach``.

    A point of the extent within ``reach`` of a feature is within ``reach`` of
    its part inside the grown box, so the corridors inside the extent are the
    same; long lines are buffered only where it matters.
    """
    m = reach * 1.01 + 1.0
    x0, y0, x1, y1 = extent.bounds
    return np.asarray(shapely.clip_by_rect(geoms, x0 - m, y0 - m, x1 + m, y1 + m))
