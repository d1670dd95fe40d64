"""The peers geoplan is measured against, on the predicates they share with it.

Every peer answers the same question for house footprints: per site and per
*shared* rule, the status (``pass`` / the rule's severity / ``not_checked``)
and, for overlap rules, the total area. Shared rules are the default pack's
house rules except ``raster`` (slope) and ``context`` (village class): polygon
``avoid`` (overlap area > tolerance), ``within`` (area outside > tolerance),
``setback`` (fixed or by voltage; a nearby line of unknown voltage is
``not_checked``), ``proximity`` (no feature within the distance) and ``avoid``
on a point layer (a tree inside the footprint).

Peers, each as a planner or engineer would write it:

* :func:`run_notebook` — the per-site loop of a notebook: for each site and
  rule ``layer[layer.intersects(site)]``, ``.intersection(site).area``,
  ``layer.distance(site)``; run on a sample and extrapolated;
* :func:`run_geopandas` — idiomatic geopandas: ``overlay`` for areas,
  ``sjoin(predicate="dwithin")`` for setbacks and proximity, ``sjoin`` for
  points;
* :func:`run_floor` — the floor: raw shapely ``STRtree.query(…, predicate=…)``
  and vectorised measures on the candidate pairs, no messages, no reporting;
* :func:`run_postgis` (in :mod:`benchmarks.postgis`) — the same queries in SQL on
  GiST-indexed tables.

The peers assume, as holds for the generated county, that no two features of a
layer overlap (overlap areas are summed; geoplan checks this and unions
otherwise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.engine import EPS_M, constraint_cache
from geoplan.engine.constraints import Constraint, Unusable
from geoplan.engine.kinds import AvoidSpec, ProximitySpec, SetbackSpec, WithinSpec
from geoplan.rules import Rule, RulePack, registry
from geoplan.workspace import Workspace

__all__ = ["SharedRule", "run_floor", "run_geopandas", "run_notebook", "shared_pack",
           "shared_rules"]

SHARED_SPECS = (AvoidSpec, WithinSpec, SetbackSpec, ProximitySpec)
"""The rule kinds every peer implements, by the type of their parameters (from the registry)."""


@dataclass
class SharedRule:
    """One rule as every peer sees it."""

    id: str
    kind: str          # overlap | within | setback | proximity | points
    severity: str
    gdf: gpd.GeoDataFrame
    tol: float = 1.0
    distance: float = 0.0            # setback search distance / proximity limit
    req: np.ndarray | None = None    # setback: required distance per feature (NaN unknown)
    min_req: float = math.nan        # setback: the smallest corridor; closer fails even unknown

    @property
    def geoms(self) -> np.ndarray:
        return np.asarray(self.gdf.geometry.to_numpy(), dtype=object)


def _spec(rule: Rule) -> object:
    """The rule's typed parameters, as its kind in the registry reads them."""
    return registry.get(rule.kind).spec_of(rule)


def shared_pack(pack: RulePack, subject: str = "house") -> RulePack:
    """The pack restricted to the rules every peer implements."""
    import dataclasses

    keep = tuple(r for r in pack.rules
                 if r.subject == subject and isinstance(_spec(r), SHARED_SPECS))
    return dataclasses.replace(pack, rules=keep)


def _shared(r: Rule, c: Constraint, gdf: gpd.GeoDataFrame) -> SharedRule | None:
    """One rule as the peers see it, from its typed parameters."""
    spec = _spec(r)
    if isinstance(spec, AvoidSpec):
        kind = "points" if c.family == "point" else "overlap"
        return SharedRule(r.id, kind, r.severity, gdf, tol=spec.tolerance_m2)
    if isinstance(spec, WithinSpec):
        return SharedRule(r.id, "within", r.severity, gdf, tol=spec.tolerance_m2)
    if isinstance(spec, SetbackSpec):
        table = spec.distance_table
        if table is not None:
            vals = pd.to_numeric(c.gdf[table.field], errors="coerce").to_numpy(dtype=float)
            return SharedRule(r.id, "setback", r.severity, gdf, distance=spec.search_m,
                              req=spec.required(vals), min_req=spec.min_m)
        return SharedRule(r.id, "setback", r.severity, gdf, distance=spec.search_m,
                          req=spec.required(np.full(len(gdf), np.nan)))
    if isinstance(spec, ProximitySpec):
        return SharedRule(r.id, "proximity", r.severity, gdf,
                          distance=spec.max_distance_m.value)
    return None


def shared_rules(ws: Workspace, pack: RulePack, subject: str = "house") -> list[SharedRule]:
    """The shared rules with their (filtered) layers, read with geoplan's own loader."""
    cache = constraint_cache(ws)
    out = []
    for r in shared_pack(pack, subject).rules:
        c = cache.get(r)
        if isinstance(c, Unusable):
            continue
        gdf = gpd.GeoDataFrame({"fid": c.fids}, geometry=c.geoms, crs=ws.crs)
        shared = _shared(r, c, gdf)
        if shared is not None:
            out.append(shared)
    return out


def _frame(site_id: np.ndarray, rule: SharedRule, status: np.ndarray,
           area: np.ndarray | None = None) -> pd.DataFrame:
    return pd.DataFrame({"site_id": site_id, "rule_id": rule.id, "status": status,
                         "area": area if area is not None else np.full(len(site_id), np.nan)})


def _status_setback(n: int, rule: SharedRule, qs: np.ndarray, d: np.ndarray,
                    r: np.ndarray) -> np.ndarray:
    unknown = np.isnan(r)
    # a feature of unknown value closer than the smallest corridor violates whatever it is
    viol = (~unknown & (d < r - EPS_M)) | (unknown & (d < rule.min_req - EPS_M))
    bad = np.zeros(n, dtype=bool)
    bad[qs[viol]] = True
    unk = np.zeros(n, dtype=bool)
    unk[qs[unknown]] = True
    return np.where(bad, rule.severity, np.where(unk, "not_checked", "pass")).astype(object)


def _status_area(rule: SharedRule, area: np.ndarray, site_area: np.ndarray) -> np.ndarray:
    measure = area if rule.kind == "overlap" else np.maximum(site_area - area, 0.0)
    return np.where(measure > rule.tol, rule.severity, "pass").astype(object), measure


# --------------------------------------------------------------------------- the floor


def run_floor(site_id: np.ndarray, geoms: np.ndarray, rules: list[SharedRule]) -> pd.DataFrame:
    """Raw shapely: one STRtree per layer, ``query(predicate=…)``, measures on the pairs."""
    n = len(geoms)
    site_area = shapely.area(geoms)
    out = []
    for rule in rules:
        g = rule.geoms
        tree = shapely.STRtree(g)
        if rule.kind in ("overlap", "within"):
            qs, qf = tree.query(geoms, predicate="intersects")
            a = shapely.area(shapely.intersection(geoms[qs], g[qf]))
            area = np.bincount(qs, weights=a, minlength=n)
            status, measure = _status_area(rule, area, site_area)
            out.append(_frame(site_id, rule, status, measure))
        elif rule.kind == "setback":
            assert rule.req is not None
            qs, qf = tree.query(geoms, predicate="dwithin", distance=rule.distance)
            d = shapely.distance(geoms[qs], g[qf])
            out.append(_frame(site_id, rule, _status_setback(n, rule, qs, d, rule.req[qf])))
        elif rule.kind == "proximity":
            qs, _ = tree.query(geoms, predicate="dwithin", distance=rule.distance + EPS_M)
            near = np.zeros(n, dtype=bool)
            near[qs] = True
            out.append(_frame(site_id, rule, np.where(near, "pass", rule.severity)))
        elif rule.kind == "points":
            qs, _ = tree.query(geoms, predicate="intersects")
            hit = np.zeros(n, dtype=bool)
            hit[qs] = True
            out.append(_frame(site_id, rule, np.where(hit, rule.severity, "pass")))
    return pd.concat(out, ignore_index=True)


# --------------------------------------------------------------------------- geopandas


def run_geopandas(site_id: np.ndarray, sites: gpd.GeoSeries,
                  rules: list[SharedRule]) -> pd.DataFrame:
    """Idiomatic geopandas: ``overlay`` for areas, ``sjoin`` (dwithin) for distances."""
    n = len(sites)
    left = gpd.GeoDataFrame({"sid": np.arange(n)}, geometry=sites.values, crs=sites.crs)
    site_area = left.area.to_numpy()
    out = []
    for rule in rules:
        layer = rule.gdf[["geometry"]].copy()
        if rule.kind in ("overlap", "within"):
            ov = gpd.overlay(left, layer, how="intersection", keep_geom_type=True)
            area = ov.area.groupby(ov["sid"]).sum().reindex(range(n), fill_value=0.0)
            status, measure = _status_area(rule, area.to_numpy(), site_area)
            out.append(_frame(site_id, rule, status, measure))
        elif rule.kind == "setback":
            layer["req"] = rule.req
            j = gpd.sjoin(left, layer, predicate="dwithin", distance=rule.distance)
            d = j.geometry.distance(layer.geometry.loc[j["index_right"]], align=False)
            out.append(_frame(site_id, rule, _status_setback(
                n, rule, j["sid"].to_numpy(), d.to_numpy(), j["req"].to_numpy())))
        elif rule.kind == "proximity":
            j = gpd.sjoin(left, layer, predicate="dwithin", distance=rule.distance + EPS_M)
            near = np.zeros(n, dtype=bool)
            near[j["sid"].to_numpy()] = True
            out.append(_frame(site_id, rule, np.where(near, "pass", rule.severity)))
        elif rule.kind == "points":
            j = gpd.sjoin(left, layer, predicate="intersects")
            hit = np.zeros(n, dtype=bool)
            hit[j["sid"].to_numpy()] = True
            out.append(_frame(site_id, rule, np.where(hit, rule.severity, "pass")))
    return pd.concat(out, ignore_index=True)


# --------------------------------------------------------------------------- notebook


def run_notebook(site_id: np.ndarray, sites: gpd.GeoSeries,
                 rules: list[SharedRule]) -> pd.DataFrame:
    """The loop a planner writes in a notebook: site by site, layer by layer."""
    rows = []
    layers = [(rule, rule.gdf.geometry) for rule in rules]
    for sid, site in zip(site_id, sites, strict=True):
        for rule, layer in layers:
            area = math.nan
            if rule.kind in ("overlap", "within"):
                hits = layer[layer.intersects(site)]
                inside = float(hits.intersection(site).area.sum())
                area = inside if rule.kind == "overlap" else max(site.area - inside, 0.0)
                status = rule.severity if area > rule.tol else "pass"
            elif rule.kind == "setback":
                assert rule.req is not None
                d = layer.distance(site).to_numpy()
                near = d <= rule.distance
                r = rule.req[near]
                viol = ((~np.isnan(r) & (d[near] < r - EPS_M)).any()
                        or (np.isnan(r) & (d[near] < rule.min_req - EPS_M)).any())
                status = (rule.severity if viol else
                          "not_checked" if np.isnan(r).any() else "pass")
            elif rule.kind == "proximity":
                status = rule.severity if layer.distance(site).min() > rule.distance + EPS_M \
                    else "pass"
            else:
                status = rule.severity if layer.intersects(site).any() else "pass"
            rows.append((sid, rule.id, status, area))
    return pd.DataFrame(rows, columns=["site_id", "rule_id", "status", "area"])
