"""``setback``: the site must keep at least a distance from every feature of the layer.

The distance is fixed (``distance_m``) or looked up per feature from an
attribute (``distance_table``, e.g. a power line's ``voltage_kv`` → its
protection corridor). A feature whose value gives no row of the table still
has a corridor at least the table's smallest: closer than that the site
fails whatever the value; between the smallest and the largest distance the
answer depends on the value, so the site is ``not_checked``.

A table may also go by value (``rows = [{ value = "national", distance_m = 20 },
…]``, e.g. a road's ``class`` → its building-control zone): the field's values
are read through its vocabulary (:mod:`geoplan.vocab`), and where it gives none
through the same vocabulary from ``fallback_field`` (a road's route code);
values listed in ``exempt`` need no distance (the feature is no constraint of
the rule). A value not understood stays undecided: with exempt values there is
no smallest corridor, so the site is ``not_checked`` anywhere within the
largest.

With ``width_field`` (a road's ``width_m``) distances are from the feature's
edge: a polygon's boundary (road land drawn as land), or a centreline's less
half its width. A centreline whose width is unknown is measured from the
centreline: closer than the required distance fails (the edge is closer
still), and up to the distance plus half of ``missing_width_m`` (the widest
road land assumed) the site is ``not_checked`` — never a pass the unknown
width could turn into a fail.

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
from ...vocab import VOCABULARIES, normalise_text, recognise
from ..exclusion import ExclusionInput, cover_buffer, features_near, note, polygonal, union
from ..messages import Said, pick, say, tell
from ..outcome import EPS_M, REPORT_RADIUS_M, Outcome, group_reduce, joined_ids, union_per_site
from .base import KindInput, mask_of

__all__ = ["Corridors", "Setback", "SetbackSpec"]


@dataclass(frozen=True)
class Corridors:
    """Per feature of a layer, what a ``setback`` rule requires of a site near it.

    Distances are from the feature's edge: its geometry, or for a centreline
    with a width, the centreline less ``half``. A site closer than ``lo`` to
    the edge fails whatever is unknown of the feature (``-inf``: never sure);
    from ``hi`` on it passes whatever is unknown; ``lo == hi`` when the
    feature's value and width are known.
    """

    values: np.ndarray    # the table field's values as read (numbers, or texts / None by value)
    req: np.ndarray       # the distance the value requires (nan: no row of the table)
    half: np.ndarray      # subtracted from the distance to the geometry (0: polygon, no width)
    lo: np.ndarray        # closer than this to the edge fails for sure (-inf: never sure)
    hi: np.ndarray        # from this far from the edge the site passes for sure
    unknown: np.ndarray   # the value gives no row of the table and is not exempt
    no_width: np.ndarray  # a centreline whose width is unknown (measured from the centreline)
    exempt: np.ndarray    # the value needs no distance: the feature is no constraint

    @property
    def uncertain(self) -> np.ndarray:
        """Features whose requirement is not known exactly (value or width unknown)."""
        return (self.unknown | self.no_width) & ~self.exempt

    @property
    def reach(self) -> float:
        """The farthest from its geometry any feature's corridor may reach (0 when none)."""
        m = ~self.exempt
        return float(np.max(self.hi[m] + self.half[m])) if m.any() else 0.0


def _read_values(gdf: pd.DataFrame, field: str, vocabulary: str | None) -> np.ndarray:
    """A field's values read into its vocabulary (or as normalised text); ``None`` where not."""
    out = np.full(len(gdf), None, dtype=object)
    if field not in gdf.columns or not len(gdf):
        return out
    codes, uniques = pd.factorize(gdf[field].astype(object), use_na_sentinel=True)
    read = (recognise(vocabulary, list(uniques)) if vocabulary
            else [normalise_text(u) for u in uniques])
    lookup = np.empty(len(read) + 1, dtype=object)
    lookup[:len(read)] = read
    lookup[-1] = None
    return lookup[np.where(codes >= 0, codes, len(read))]


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
    width_field: str | None = None
    """Distances from the edge: a centreline less half this field (a road's ``width_m``)."""
    missing_width_m: float = 0.0
    """With ``width_field``: the widest road land assumed where a centreline has no width."""

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
        if isinstance(d, DistanceTable) and d.by_value:
            by = {r.value: r.distance_m for r in d.rows} | dict.fromkeys(d.exempt, 0.0)
            return pd.Series(values, dtype=object).map(by).to_numpy(dtype=float)
        if isinstance(d, DistanceTable):
            values = np.asarray(values)
            if values.dtype.kind == "f":  # a few distinct values (voltages): each looked up once
                u, inv = np.unique(values, return_inverse=True)
                return np.array([d.distance_for(v) for v in u.tolist()], dtype=float)[inv]
            return np.array([d.distance_for(v) for v in values])
        return np.full(len(values), d.value)

    @property
    def by_edge(self) -> bool:
        """Whether distances are from features' edges or values read by value (the general path)."""
        t = self.distance_table
        return self.width_field is not None or (t is not None and t.by_value)

    def values_of(self, gdf: pd.DataFrame) -> np.ndarray:
        """Per feature, the table field's value: a number, or by value its canonical text / ``None``."""
        t, n = self.distance_table, len(gdf)
        if t is None or (not t.by_value and t.field not in gdf.columns):
            return np.full(n, np.nan)
        if not t.by_value:
            return pd.to_numeric(gdf[t.field], errors="coerce").to_numpy(dtype=float)
        vals = _read_values(gdf, t.field, t.vocabulary)
        if t.fallback_field is not None:
            miss = np.flatnonzero(pd.isna(vals))
            if len(miss):
                vals[miss] = _read_values(gdf.iloc[miss], t.fallback_field, t.vocabulary)
        return vals

    def corridors(self, gdf: pd.DataFrame, family: str) -> Corridors:
        """What each feature of a layer (``gdf``, of geometry ``family``) requires.

        Examples
        --------
        >>> import pandas as pd
        >>> from geoplan.rules import DistanceRow
        >>> t = DistanceTable("class", (DistanceRow(np.inf, 20.0, "s", True, "national"),
        ...                             DistanceRow(np.inf, 5.0, "s", True, "township")),
        ...                   "s", True, by_value=True, vocabulary="road_class",
        ...                   fallback_field="road_id", exempt=("village",))
        >>> spec = SetbackSpec(t, width_field="width_m", missing_width_m=40.0)
        >>> gdf = pd.DataFrame({"class": ["国道", None, "村道", None],
        ...                     "road_id": [None, "Y002", "C001", "?"],
        ...                     "width_m": [12.0, None, 5.0, 8.0]})
        >>> c = spec.corridors(gdf, "line")
        >>> c.values.tolist(), c.half.tolist()
        (['national', 'township', 'village', None], [6.0, 0.0, 2.5, 4.0])
        >>> c.lo.tolist(), c.hi.tolist(), c.exempt.tolist()
        ([20.0, 5.0, nan, -inf], [20.0, 25.0, nan, 20.0], [False, False, True, False])
        """
        n, t = len(gdf), self.distance_table
        vals = self.values_of(gdf)
        req = self.required(vals)
        exempt = (pd.Series(vals, dtype=object).isin(t.exempt).to_numpy(dtype=bool)
                  if t is not None and t.exempt else np.zeros(n, dtype=bool))
        unknown = np.isnan(req) & ~exempt
        half = np.zeros(n)
        no_width = np.zeros(n, dtype=bool)
        if self.width_field is not None and family == "line":
            w = (pd.to_numeric(gdf[self.width_field], errors="coerce").to_numpy(dtype=float)
                 if self.width_field in gdf.columns else np.full(n, np.nan))
            known = np.isfinite(w) & (w > 0)
            half[known] = w[known] / 2
            no_width = ~known
        # a value not understood: at least the smallest corridor, unless it may be exempt
        least = -np.inf if t is not None and t.exempt else self.min_m
        lo = np.where(unknown, least, req)
        hi = np.where(unknown, self.search_m, req) + np.where(no_width, self.missing_width_m / 2,
                                                               0.0)
        lo[exempt] = np.nan
        hi[exempt] = np.nan
        return Corridors(values=vals, req=req, half=half, lo=lo, hi=hi, unknown=unknown,
                         no_width=no_width & ~exempt, exempt=exempt)


@register
class Setback(RuleKind[SetbackSpec]):
    """``setback``: distance to the nearest feature ≥ the required distance."""

    name = "setback"
    spec_type = SetbackSpec
    keys = frozenset({"distance_m", "distance_table", "report_radius_m", "width_field",
                      "missing_width_m"})

    def parse(self, ctx: RuleContext) -> SetbackSpec:
        """Exactly one of ``distance_m`` (a threshold) and ``distance_table``; ``report_radius_m``.

        ``width_field`` (with ``missing_width_m``, required with it) measures
        from a centreline's edge.
        """
        raw = ctx.raw
        has_d, has_t = "distance_m" in raw, "distance_table" in raw
        if has_d == has_t:
            raise ctx.fail("distance_m", "a setback needs exactly one of distance_m or "
                                         "distance_table")
        report = ctx.optional_number("report_radius_m", REPORT_RADIUS_M, unit="m")
        width_field, missing = None, 0.0
        if "width_field" in raw:
            width_field = ctx.text("width_field", raw["width_field"])
            missing = ctx.number("missing_width_m", ctx.require(
                "missing_width_m", "a setback with width_field needs missing_width_m: the "
                "widest road land assumed where a centreline has no width (closer than the "
                "distance plus half of it, such a site cannot be judged)"), unit="m")
        elif "missing_width_m" in raw:
            raise ctx.fail("missing_width_m", "only a setback with width_field takes it")
        distance = (ctx.threshold("distance_m", raw["distance_m"], "m") if has_d
                    else ctx.distance_table(raw["distance_table"]))
        return SetbackSpec(distance, report, width_field, missing)

    def comparator(self, rule: Rule | None) -> str:
        """``≥``: a setback is a least distance."""
        return "≥"

    def threshold_text(self, rule: Rule) -> str:
        """``≥ 15 m``, ``≥ by voltage_kv: ≤10→5 m, …``; ``… from the edge (…)`` with a width."""
        spec = self.spec_of(rule)
        edge = (f", from the edge (centreline + ½ {spec.width_field})"
                if spec.width_field is not None else "")
        return f"≥ {spec.distance}{edge}"

    def exclusion(self, rule: Rule, data: ExclusionInput) -> Exclusion:
        """Corridors round the features, each its own distance; values not understood apart.

        A feature whose value gives no row of the table excludes the table's
        smallest distance round it (the site would fail whatever the value;
        nothing when the value may be exempt), and the land up to the largest
        distance is *unknown*. Corridors of centrelines with a width reach half
        of it farther; without one, the land up to half of ``missing_width_m``
        beyond the corridor is *unknown*. Exempt features exclude nothing.
        """
        spec = self.spec_of(rule)
        c, table = data.layer(), spec.distance_table
        if table is not None and not _has_field(table, c.gdf.columns):
            return Exclusion(rule.id, unknown=data.extent, exact=False,
                             **note(say("setback.exclusion_no_field", rule, field=table.field)))
        cor = spec.corridors(c.gdf, c.family)
        reach = cor.reach if spec.by_edge else spec.search_m
        near = features_near(c, data.extent, reach)
        near = near[~cor.exempt[near]]
        g = _clipped(c.geoms[near], data.extent, reach)
        lo, hi, half = cor.lo[near], cor.hi[near], cor.half[near]
        sure = np.isfinite(lo)  # a value not understood that may be exempt fails nowhere for sure
        fail = union(list(cover_buffer(g[sure], (lo + half)[sure])), data.extent)
        unc, unknown, no_width = cor.uncertain[near], cor.unknown[near], cor.no_width[near]
        if not unc.any():
            return Exclusion(rule.id, {rule.severity: fail})
        unk = polygonal(shapely.difference(union(cover_buffer(g[unc], (hi + half)[unc]),
                                                 data.extent), fail))
        if table is not None and no_width.any() and unknown.any():
            said = say("setback.exclusion_uncertain", rule, n=int(unknown.sum()),
                       field=table.field, n_width=int(no_width.sum()),
                       width_field=spec.width_field, width=spec.missing_width_m)
        elif no_width.any():
            said = say("setback.exclusion_no_width", rule, n=int(no_width.sum()),
                       field=spec.width_field, width=spec.missing_width_m)
        elif table is not None and table.exempt:
            said = say("setback.exclusion_unknown_class", rule, n=int(unknown.sum()),
                       field=table.field, most=table.max_distance)
        else:
            assert table is not None  # only a table's value can be unknown
            said = say("setback.exclusion_unknown_values", rule, n=int(unknown.sum()),
                       field=table.field)
        return Exclusion(rule.id, {rule.severity: fail}, unknown=unk, **note(said))

    def evaluate(self, rule: Rule, data: KindInput, out: Outcome) -> str:
        """The nearest distance per site, held against each close feature's requirement."""
        spec = self.spec_of(rule)
        c, table = data.layer(), spec.distance_table
        if not data.active.any():
            return ""
        if table is not None and not _has_field(table, c.gdf.columns):
            tell(out, data.active, "setback.missing_field", rule, status="not_checked",
                 field=table.field)
            return ""
        cor = spec.corridors(c.gdf, c.family)
        p = _pairs(spec, data, cor)
        _judge(rule, spec, data, p, cor, out)
        return ""


def _has_field(table: DistanceTable, columns: pd.Index) -> bool:
    """Whether the layer holds the table's field (or its fallback field)."""
    return table.field in columns or (table.fallback_field is not None
                                      and table.fallback_field in columns)


@dataclass
class _Pairs:
    """Site × feature pairs within the farthest corridor, and the nearest feature per site."""

    idx: np.ndarray          # active sites
    si: np.ndarray           # pair: site
    qf: np.ndarray           # pair: feature
    d: np.ndarray            # pair: distance (from the feature's edge)
    unknown: np.ndarray      # pair: the feature's value gives no row of the table
    r_eff: np.ndarray        # pair: the distance held against (the smallest when unknown)
    viol: np.ndarray         # pair: closer than required
    undecided: np.ndarray    # pair: unknown value or width, between the sure and the possible
    nearest: np.ndarray      # per site: distance to the nearest feature (nan: beyond report_m)
    nearest_req: np.ndarray  # per site: that feature's required distance (tables; the
    #                          largest where several are equally near, nan if one is unknown)
    nearest_f: np.ndarray    # per site: that feature (-1: none, or not tracked)


def _pairs(spec: SetbackSpec, data: KindInput, cor: Corridors) -> _Pairs:
    c, st, n = data.layer(), data.sites, data.n
    table = spec.distance_table
    idx = np.flatnonzero(data.active)
    near = None
    if spec.by_edge:  # one query: every corridor, and the nearest edge within report_m
        radius = max(spec.report_m + float(cor.half.max(initial=0.0)), cor.reach)
        qs, qf, d = c.within_distance(st.geom[idx], radius)
        keep = ~cor.exempt[qf]
        qs, qf, d = qs[keep], qf[keep], np.maximum(d[keep] - cor.half[qf[keep]], 0.0)
    else:  # one search: the pairs within the largest corridor, the nearest within report_m
        near = c.near(st.geom[idx], spec.search_m, spec.report_m,
                      cor.req if table is not None else None)
        qs, qf, d = near.site, near.feat, near.dist
    # A feature of unknown value has a corridor at least the table's smallest (a fail
    # inside it) unless the value may be exempt; up to the largest (plus half the widest
    # road land where the width is unknown) the answer depends on it (not_checked).
    r_eff, hi = cor.lo[qf], cor.hi[qf]
    viol = d < r_eff - EPS_M
    undecided = cor.uncertain[qf] & ~viol & (d < hi - EPS_M)
    # the nearest feature, for the pass message and measure only: within report_m
    nearest = np.full(n, np.nan)
    nearest_req = np.full(n, np.nan)
    nearest_f = np.full(n, -1, dtype=np.int64)
    if spec.by_edge:
        close = d <= spec.report_m
        s_, f_, d_ = idx[qs[close]], qf[close], d[close]
        # among equally near features the strictest, an unknown requirement first (it may be)
        order = np.lexsort((-np.nan_to_num(cor.req[f_], nan=np.inf), d_, s_))
        first = order[np.r_[True, np.diff(s_[order]) != 0]] if len(order) else order
        nearest[s_[first]] = d_[first]
        nearest_req[s_[first]] = cor.req[f_[first]]
        nearest_f[s_[first]] = f_[first]
    else:
        assert near is not None
        nearest[idx[near.have]] = near.best
        if near.key is not None:  # the nearest feature's own distance is the threshold shown
            nearest_req[idx[near.have]] = near.key
    return _Pairs(idx=idx, si=idx[qs], qf=qf, d=d, unknown=cor.unknown[qf], r_eff=r_eff,
                  viol=viol, undecided=undecided, nearest=nearest, nearest_req=nearest_req,
                  nearest_f=nearest_f)


@dataclass
class _Worst:
    """Per site, its violating pair with the largest shortfall (then the nearest, the first)."""

    d: np.ndarray
    r: np.ndarray
    f: np.ndarray
    unk: np.ndarray


def _worst(p: _Pairs, n: int) -> _Worst:
    w = _Worst(d=np.full(n, np.nan), r=np.full(n, np.nan), f=np.full(n, -1, dtype=np.int64),
               unk=np.zeros(n, dtype=bool))
    vio_site = p.si[p.viol]
    if not len(vio_site):
        return w
    short = (p.r_eff - p.d)[p.viol]
    # the largest shortfall; among equal ones (coincident lines of two voltages) the
    # nearest, then the first feature: not the order the index found them in
    order = np.lexsort((p.qf[p.viol], p.d[p.viol], -short, vio_site))
    first = np.r_[True, np.diff(vio_site[order]) != 0]
    sel = order[first]
    ws_ = vio_site[sel]
    w.d[ws_] = p.d[p.viol][sel]
    w.r[ws_] = p.r_eff[p.viol][sel]
    w.f[ws_] = p.qf[p.viol][sel]
    w.unk[ws_] = p.unknown[p.viol][sel]
    return w


def _judge(rule: Rule, spec: SetbackSpec, data: KindInput, p: _Pairs, cor: Corridors,
           out: Outcome) -> None:
    c, n = data.layer(), out.n
    table = spec.distance_table
    desc = _unusable_values(table, cor.values) if table is not None else None
    w = _worst(p, n)
    vio_site = p.si[p.viol]
    bad = mask_of(vio_site, n)
    unk = mask_of(p.si[p.undecided], n) & ~bad
    m = mask_of(p.idx, n)
    out.set(m, measure=p.nearest, unit="m",
            threshold=p.nearest_req if table is not None else spec.search_m)
    zh_bad, en_bad = _violation_text(rule, spec, cor, w, desc)
    how = _how(rule, spec, c.family, cor, w.f)
    out.set(bad, status=rule.severity, measure=w.d, threshold=w.r, zh=zh_bad + how[0],
            en=en_bad + how[1])
    out.matched[bad] = joined_ids(vio_site, c.fids[p.qf][p.viol], n)[bad]
    if spec.by_edge and unk.any():
        _undecided_by_edge(rule, spec, c.fids, p, cor, desc, unk, out)
    elif table is not None and desc is not None and unk.any():
        _undecided(rule, table, c.fids, p, desc, unk, out)
    far = np.isnan(p.nearest)
    how = _how(rule, spec, c.family, cor, p.nearest_f)
    clear_zh, clear_en = _clear_text(rule, table, cor, p)
    out.set(m & ~bad & ~unk & ~far, zh=clear_zh + how[0], en=clear_en + how[1])
    if table is not None and table.exempt:
        zh, en = _label(table, np.array(table.exempt, dtype=object))
        tell(out, m & ~bad & ~unk & far, "setback.clear_far_exempt", rule,
             radius=spec.report_m, exempt=("、".join(zh), ", ".join(en)))
    else:
        tell(out, m & ~bad & ~unk & far, "setback.clear_far", rule, radius=spec.report_m)
    if bad.any():
        # evidence: the part of the site inside the required buffer of the violating features
        st = data.sites
        vs, vf = vio_site, p.qf[p.viol]
        vr = p.r_eff[p.viol] + cor.half[vf]
        zone = c.local_buffer(vf, shapely.bounds(st.geom[vs]), vr)
        pieces = shapely.intersection(st.geom[vs], zone)
        ev, ev_sites = union_per_site(vs, pieces, n, disjoint=False)
        out.ev_idx.append(ev_sites)
        out.ev_geom.append(ev[ev_sites])


def _clear_text(rule: Rule, table: DistanceTable | None, cor: Corridors, p: _Pairs) -> Said:
    """The message of a site clear of every corridor, with its nearest feature's distance."""
    if table is None or not table.by_value or not len(cor.values):
        return say("setback.clear", rule, distance=p.nearest)
    zh, en = _label(table, cor.values)
    fi = np.maximum(p.nearest_f, 0)
    return say("setback.clear_by_class", rule, field=table.field, value=(zh[fi], en[fi]),
               distance=p.nearest)


def _how(rule: Rule, spec: SetbackSpec, family: str, cor: Corridors, f: np.ndarray) -> Said:
    """How the distance of each site to its feature ``f`` was measured ("" without a width)."""
    if spec.width_field is None or not len(cor.half):
        return "", ""
    if family != "line":
        return say("setback.from_edge", rule)
    fi = np.maximum(f, 0)
    width = 2 * cor.half[fi]
    return pick(cor.no_width[fi], say("setback.from_centreline_no_width", field=spec.width_field),
                say("setback.from_centreline_width", width=width))


def _label(table: DistanceTable, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature, its value as read in Chinese and English (a class's labels)."""
    voc = VOCABULARIES.get(table.vocabulary or "")
    zh = np.array([str(v) for v in vals], dtype=object)
    en = zh.copy()
    if voc is not None:
        for i, v in enumerate(vals.tolist()):
            if v in voc.values:
                zh[i], en[i] = voc.values[v]
    return zh, en


def _violation_text(rule: Rule, spec: SetbackSpec, cor: Corridors, w: _Worst,
                    desc: tuple[np.ndarray, np.ndarray] | None) -> Said:
    """The message of a site closer than required (zh, en)."""
    table = spec.distance_table
    if table is None or desc is None or not len(cor.values):  # no feature: nothing too close
        return say("setback.too_close", rule, distance=w.d, required=w.r)
    fi = np.maximum(w.f, 0)
    if table.by_value:
        zh, en = _label(table, cor.values)
        known = say("setback.too_close_by_class", rule, field=table.field,
                    value=(zh[fi], en[fi]), distance=w.d, required=w.r)
    else:
        v = np.asarray(cor.values, dtype=float)[fi]
        known = say("setback.too_close_by_value", rule, field=table.field, value=v,
                    distance=w.d, required=w.r)
    unknown = say("setback.too_close_unknown_value", rule, field=table.field, distance=w.d,
                  reason=(desc[0][fi], desc[1][fi]), least=table.min_distance)
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


def _undecided_by_edge(rule: Rule, spec: SetbackSpec, fids: np.ndarray, p: _Pairs,
                       cor: Corridors, desc: tuple[np.ndarray, np.ndarray] | None,
                       unk: np.ndarray, out: Outcome) -> None:
    """Sites near a feature of unknown value or width, not sure either way: not_checked."""
    n = out.n
    us, uf = p.si[p.undecided], p.qf[p.undecided]
    nf = len(cor.values)
    r_zh = np.full(nf, "", dtype=object)
    r_en = np.full(nf, "", dtype=object)
    if desc is not None:
        r_zh[cor.unknown], r_en[cor.unknown] = desc[0][cor.unknown], desc[1][cor.unknown]
    if cor.no_width.any():
        w_zh, w_en = say("setback.width_unknown", field=spec.width_field,
                         width=spec.missing_width_m)
        nw = cor.no_width
        sep = np.where(cor.unknown[nw], "; ", "").astype(object)
        r_zh[nw] = r_zh[nw] + sep + w_zh
        r_en[nw] = r_en[nw] + sep + w_en
    unk_fids = joined_ids(us, fids[uf], n)
    u_d = group_reduce(us, p.d[p.undecided], n, how="min")
    most = -group_reduce(us, -cor.hi[uf], n, how="min")
    out.set(unk, measure=u_d, threshold=np.nan)
    tell(out, unk, "setback.undecided_detail", rule, status="not_checked", fids=unk_fids,
         distance=u_d, reason=(joined_ids(us, r_zh[uf], n), joined_ids(us, r_en[uf], n)),
         most=most)
    out.matched[unk] = unk_fids[unk]


def _unusable_values(table: DistanceTable, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature, why its value gives no row of ``table`` (zh, en); ``""`` where it does."""
    zh = np.full(len(vals), "", dtype=object)
    en = np.full(len(vals), "", dtype=object)
    if table.by_value:
        none = pd.isna(vals)
        if table.fallback_field is not None:
            zh[none], en[none] = say("setback.value_unread_fallback", field=table.field,
                                     fallback=table.fallback_field)
        else:
            zh[none], en[none] = say("setback.value_unread", field=table.field)
        req = np.array([table.distance_for(v) for v in vals], dtype=float)
        other = ~none & np.isnan(req)
        for i in np.flatnonzero(other):
            zh[i], en[i] = say("setback.value_not_in_table", field=table.field, value=vals[i])
        return zh, en
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
