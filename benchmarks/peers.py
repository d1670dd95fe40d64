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
* :func:`run_direct_join` — a direct, unsubdivided join in raw shapely: one
  ``STRtree`` per layer as it is, ``query(…, predicate=…)`` and vectorised
  measures on the candidate pairs, no messages, no reporting (called *floor*
  before; every candidate pair with a 10⁴–10⁵-vertex zone is paid in full);
* :func:`run_shapely_expert` — shapely as an expert writes it, on one thread:
  big features cut into pieces of at most 256 vertices once
  (:func:`subdivide`, :func:`prepare_expert`, timed apart), the pieces
  prepared in one ``STRtree``, bulk ``query(predicate="intersects")`` and
  ``query(predicate="dwithin", distance=…)``; a piece that properly contains
  the site gives the site's area without an overlay, only boundary pairs are
  intersected;
* :func:`run_postgis` (in :mod:`benchmarks.postgis`) — the direct join in SQL on
  GiST-indexed tables of the layers as they are;
* :func:`run_postgis_expert` (in :mod:`benchmarks.postgis`) — the layers
  ``ST_Subdivide``'d to 256 vertices into GiST-indexed, analysed tables (timed
  apart), the same shortcut for pieces covering the site, and parallel
  workers (or none, the single-core row).

The notebook, geopandas and direct-join peers assume, as holds for the
generated county, that no two features of a layer overlap (overlap areas are
summed; geoplan checks this and unions otherwise). The expert peers check it
on their pieces while subdividing and dissolve a layer whose features overlap
before cutting it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.engine import EPS_M, REPORT_RADIUS_M, constraint_cache
from geoplan.engine.constraints import Constraint, Unusable
from geoplan.engine.kinds import AvoidSpec, ProximitySpec, SetbackSpec, WithinSpec
from geoplan.rules import Rule, RulePack, registry
from geoplan.workspace import Workspace

__all__ = ["ExpertLayer", "SharedRule", "point_batch", "prepare_expert", "run_direct_join",
           "run_geopandas", "run_notebook", "run_shapely_expert", "shared_pack", "shared_rules",
           "subdivide"]

MAX_VERTICES = 256
"""The expert peers cut features into pieces of at most this many vertices."""

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
    report: float = REPORT_RADIUS_M  # overlap/within on points: distances reported within this

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
        return SharedRule(r.id, kind, r.severity, gdf, tol=spec.tolerance_m2,
                          report=spec.report_radius_m)
    if isinstance(spec, WithinSpec):
        return SharedRule(r.id, "within", r.severity, gdf, tol=spec.tolerance_m2,
                          report=spec.report_radius_m)
    if isinstance(spec, SetbackSpec):
        table = spec.distance_table
        if spec.by_edge:
            # classes read by value, widths: the peers see each feature's corridor from its
            # geometry (exempt features dropped; an unknown value or width as unknown)
            cor = spec.corridors(c.gdf, c.family)
            keep = ~cor.exempt
            req = np.where(cor.uncertain, np.nan, cor.lo + cor.half)[keep]
            return SharedRule(r.id, "setback", r.severity, gdf[keep].reset_index(drop=True),
                              distance=max(spec.search_m, cor.reach), req=req,
                              min_req=spec.min_m)
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


def point_batch(geoms: np.ndarray) -> bool:
    """Whether the batch is of points (house points) rather than footprints; not both."""
    pt = shapely.get_type_id(geoms) == 0
    if pt.any() and not pt.all():
        raise ValueError("the peers take a batch of footprints or of points, not both")
    return bool(len(geoms)) and bool(pt.all())


def _point_rule(site_id: np.ndarray, geoms: np.ndarray, rule: SharedRule,
                tree: shapely.STRtree) -> pd.DataFrame | None:
    """A rule on point sites where points differ from footprints, as geoplan judges them.

    overlap: the point lies inside a feature (``within``); within: it is
    ``covered_by`` one; the measure is the distance to the nearest feature (0
    inside) if one lies within the rule's reporting radius, else none (NaN), as
    geoplan reports it: the features within the radius (``dwithin``) and the
    least distance to them. A point layer (old trees) cannot be held against a
    point: ``not_checked``. Setbacks and proximity are distances, as for
    footprints (None).
    """
    n = len(geoms)
    if rule.kind == "points":
        return _frame(site_id, rule, np.full(n, "not_checked", dtype=object))
    if rule.kind not in ("overlap", "within"):
        return None
    qs, _ = tree.query(geoms, predicate="within" if rule.kind == "overlap" else "covered_by")
    hit = np.zeros(n, dtype=bool)
    hit[qs] = True
    qs, qf = tree.query(geoms, predicate="dwithin", distance=rule.report)
    dist = np.full(n, np.inf)
    np.minimum.at(dist, qs, shapely.distance(geoms[qs], tree.geometries[qf]))
    dist[np.isinf(dist)] = np.nan
    bad = hit if rule.kind == "overlap" else ~hit
    return _frame(site_id, rule, np.where(bad, rule.severity, "pass").astype(object), dist)


# --------------------------------------------------------------------------- direct join


def run_direct_join(site_id: np.ndarray, geoms: np.ndarray,
                    rules: list[SharedRule]) -> pd.DataFrame:
    """Raw shapely, layers as they are: one STRtree per layer, ``query(predicate=…)``, measures.

    Every candidate pair with a huge zone is tested and intersected against the
    whole zone (10⁴–10⁵ vertices): the join a first attempt writes, called the
    *floor* in earlier versions of this benchmark.
    """
    n = len(geoms)
    site_area = shapely.area(geoms)
    points = point_batch(geoms)
    out = []
    for rule in rules:
        g = rule.geoms
        tree = shapely.STRtree(g)
        f = _point_rule(site_id, geoms, rule, tree) if points else None
        if f is not None:
            out.append(f)
        elif rule.kind in ("overlap", "within"):
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


# --------------------------------------------------------------------------- shapely expert


def _halves(g: shapely.Geometry, exact: bool) -> list[shapely.Geometry]:
    """The polygons of ``g`` on either side of the middle of its box's longer side.

    ``clip_by_rect`` is a hundred times faster than ``intersection`` with the
    half box on a 5 × 10⁴-vertex zone, but GEOS does not promise a valid result:
    :func:`_split_polygons` checks the pieces and cuts again ``exact`` if needed.
    """
    x0, y0, x1, y1 = shapely.bounds(g)
    if x1 - x0 >= y1 - y0:
        m = (x0 + x1) / 2
        boxes = ((x0, y0, m, y1), (m, y0, x1, y1))
    else:
        m = (y0 + y1) / 2
        boxes = ((x0, y0, x1, m), (x0, m, x1, y1))
    out = []
    for b in boxes:
        h = shapely.intersection(g, shapely.box(*b)) if exact else shapely.clip_by_rect(g, *b)
        parts = shapely.get_parts(h)
        keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)
        out.extend(parts[keep].tolist())
    return out


def _split(g: shapely.Geometry, max_vertices: int, exact: bool) -> list[shapely.Geometry]:
    """``g`` halved until every piece has at most ``max_vertices`` (or was halved 64 times)."""
    out, todo = [], [(g, 0)]
    while todo:
        h, depth = todo.pop()
        if shapely.get_num_coordinates(h) <= max_vertices or depth >= 64:
            out.append(h)
        else:
            todo.extend((x, depth + 1) for x in _halves(h, exact))
    return out


def _split_polygons(geoms: np.ndarray, owner: np.ndarray,
                    max_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Halve every polygon of more than ``max_vertices`` across its box's longer side, again.

    A recursive quadtree-like split, as ``ST_Subdivide`` does. The pieces of a
    polygon must tile it (overlap areas are summed over pieces): a polygon whose
    pieces are not all valid or do not add up to its area (10⁻⁹ relative) is
    cut again with ``intersection`` instead of ``clip_by_rect``.
    """
    out_g: list[shapely.Geometry] = []
    out_o: list[int] = []
    for g, o in zip(geoms.tolist(), owner.tolist(), strict=True):
        pieces = np.array(_split(g, max_vertices, exact=False), dtype=object)
        area = shapely.area(g)
        if len(pieces) > 1 and not (shapely.is_valid(pieces).all() and abs(
                shapely.area(pieces).sum() - area) <= 1e-9 * area):
            pieces = np.array(_split(g, max_vertices, exact=True), dtype=object)
        out_g.extend(pieces.tolist())
        out_o.extend([o] * len(pieces))
    return np.array(out_g, dtype=object), np.array(out_o, dtype=np.int64)


def _split_lines(geoms: np.ndarray, owner: np.ndarray,
                 max_vertices: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut every line of more than ``max_vertices`` into runs of consecutive vertices.

    Consecutive runs share their end vertex, so they hold exactly the line's
    segments: distances to the pieces are distances to the line.
    """
    long = np.flatnonzero(shapely.get_num_coordinates(geoms) > max_vertices)
    if not len(long):
        return geoms, owner
    keep = np.ones(len(geoms), dtype=bool)
    keep[long] = False
    out_g, out_o = [geoms[keep]], [owner[keep]]
    step = max_vertices - 1
    for i in long:
        xy = shapely.get_coordinates(geoms[i])
        starts = np.arange(0, len(xy) - 1, step)
        out_g.append(np.array([shapely.LineString(xy[s0:s0 + max_vertices]) for s0 in starts],
                              dtype=object))
        out_o.append(np.full(len(starts), owner[i]))
    return np.concatenate(out_g), np.concatenate(out_o)


def subdivide(geoms: np.ndarray, max_vertices: int = MAX_VERTICES,
              ) -> tuple[np.ndarray, np.ndarray]:
    """Pieces of at most ``max_vertices`` vertices, and the index of the feature of each.

    Polygons are halved again and again (:func:`_split_polygons`), lines cut
    into runs of vertices (:func:`_split_lines`), points kept. Multi-part
    features are split into their parts first.
    """
    parts, owner = shapely.get_parts(geoms, return_index=True)
    tid = shapely.get_type_id(parts)
    poly, line = tid == 3, tid == 1
    pg, po = _split_polygons(parts[poly], owner[poly], max_vertices)
    lg, lo = _split_lines(parts[line], owner[line], max_vertices)
    other = ~(poly | line)
    return (np.concatenate([pg, lg, parts[other]]),
            np.concatenate([po, lo, owner[other]]).astype(np.int64))


def _overlapping(pieces: np.ndarray, owner: np.ndarray, tree: shapely.STRtree) -> bool:
    """Whether pieces of two different features share interior area (geoplan's test)."""
    a, b = tree.query(pieces)                       # boxes; pieces of one feature never do
    keep = (a < b) & (owner[a] != owner[b])
    return bool(shapely.relate_pattern(pieces[a[keep]], pieces[b[keep]], "T********").any())


@dataclass
class ExpertLayer:
    """A shared rule's layer as the shapely expert holds it: prepared pieces in one tree."""

    rule: SharedRule
    pieces: np.ndarray
    owner: np.ndarray              # the feature each piece comes from
    tree: shapely.STRtree
    dissolved: bool = False        # the features overlapped: unioned before cutting

    @property
    def req(self) -> np.ndarray | None:
        """setback: the required distance of each piece's feature."""
        return None if self.rule.req is None else self.rule.req[self.owner]


def prepare_expert(rules: list[SharedRule], max_vertices: int = MAX_VERTICES,
                   ) -> list[ExpertLayer]:
    """Subdivide, check for overlaps (dissolve then), prepare and index every layer, once."""
    out = []
    for rule in rules:
        g = rule.geoms
        pieces, owner = subdivide(g, max_vertices)
        tree = shapely.STRtree(pieces)
        dissolved = False
        if rule.kind in ("overlap", "within") and _overlapping(pieces, owner, tree):
            dissolved = True
            pieces, owner = subdivide(shapely.get_parts(shapely.union_all(g)), max_vertices)
            tree = shapely.STRtree(pieces)
        shapely.prepare(pieces)
        out.append(ExpertLayer(rule, pieces, owner, tree, dissolved))
    return out


def run_shapely_expert(site_id: np.ndarray, geoms: np.ndarray,
                       layers: list[ExpertLayer]) -> pd.DataFrame:
    """Bulk queries on the prepared pieces; overlays only for the pairs on a piece's edge.

    House points (:func:`_point_rule`): ``within`` / ``covered_by`` on the
    pieces, ``dwithin`` the reporting radius on them for the distance.
    """
    n = len(geoms)
    site_area = shapely.area(geoms)
    points = point_batch(geoms)
    out = []
    for lay in layers:
        rule, p = lay.rule, lay.pieces
        f = _point_rule(site_id, geoms, rule, lay.tree) if points else None
        if f is not None:
            out.append(f)
        elif rule.kind in ("overlap", "within"):
            qs, qp = lay.tree.query(geoms, predicate="intersects")
            a = site_area[qs]                                     # the site inside the piece
            edge = np.flatnonzero(~shapely.contains_properly(p[qp], geoms[qs]))
            a[edge] = shapely.area(shapely.intersection(geoms[qs[edge]], p[qp[edge]]))
            status, measure = _status_area(rule, np.bincount(qs, weights=a, minlength=n),
                                           site_area)
            out.append(_frame(site_id, rule, status, measure))
        elif rule.kind == "setback":
            req = lay.req
            assert req is not None
            qs, qp = lay.tree.query(geoms, predicate="dwithin", distance=rule.distance)
            d = shapely.distance(geoms[qs], p[qp])
            out.append(_frame(site_id, rule, _status_setback(n, rule, qs, d, req[qp])))
        elif rule.kind == "proximity":
            qs, _ = lay.tree.query(geoms, predicate="dwithin", distance=rule.distance + EPS_M)
            near = np.zeros(n, dtype=bool)
            near[qs] = True
            out.append(_frame(site_id, rule, np.where(near, "pass", rule.severity)))
        elif rule.kind == "points":
            qs, _ = lay.tree.query(geoms, predicate="intersects")
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
