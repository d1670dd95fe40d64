"""The nearest compliant site: for each failing house, the smallest move that clears it.

For a failing footprint ``P`` the places its centre may not go are the
Minkowski sum of the excluded land ``Z`` (every fail-level exclusion of the
pack, the land a rule cannot tell about, and — by default — the land outside
the village construction boundaries) with ``P`` turned half a circle about
its centre: ``P`` moved to centre ``x`` meets ``Z`` exactly when ``x`` lies
in ``Z ⊕ (c − P)``. That sum is built exactly, polygon by polygon: ``P`` is
split into triangles ``t``, and ``Z ⊕ t`` is ``Z`` moved by a corner of
``t`` joined with the convex hulls of every edge of ``Z`` moved by ``t``.
The nearest point of the search disc outside the sum is the smallest move
(a translation; with ``rotate`` the footprint is also turned in 15° steps and
the smallest move of any turn wins).

Every suggestion is checked again by the engine with the whole pack; one the
engine does not pass on every fail-level rule is reported as rejected, never
as a suggestion.

Examples
--------
>>> import geoplan
>>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
>>> s = geoplan.suggest(res)                                             # doctest: +SKIP
>>> s.table[["site_id", "status", "distance_m", "direction_zh"]]         # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..checkdata import CheckData
from ..engine import ConstraintCache, constraint_cache, exclusions
from ..engine.exclusion import as_area, polygonal
from ..maps.overlay import Overlay, SiteNote
from ..workspace import Workspace
from . import _maps
from ._common import table_html
from ._output import base_summary, write_outputs

__all__ = ["DEFAULT_RADIUS_M", "SuggestionResult", "minkowski_forbidden", "suggest"]

DEFAULT_RADIUS_M = 200.0
"""How far a house is moved at most, in metres."""

SAFETY_M = 0.001
"""The excluded land is grown by this (1 mm) before a move is chosen, against rounding."""

_SEAM_M = 1e-5
_TILE_M = 2000.0
_ROTATIONS = tuple(range(0, 180, 15))
_DIRS = [("北", "north"), ("东北", "north-east"), ("东", "east"), ("东南", "south-east"),
         ("南", "south"), ("西南", "south-west"), ("西", "west"), ("西北", "north-west")]


@dataclass
class SuggestionResult:
    """Suggested moves for the failing houses of a check.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per failing site: ``site_id, status`` (``moved``,
        ``none_within_radius``, ``rejected``, ``not_applicable``),
        ``distance_m, dx_m, dy_m, bearing_deg, direction_zh, direction_en,
        rotation_deg, fixed_rules, still_warn, recheck, provisional,
        message_zh, message_en``.
    moved : geopandas.GeoDataFrame
        The suggested footprints (``site_id``), in the working CRS.
    original : geopandas.GeoDataFrame
        The failing footprints as checked.
    arrows : geopandas.GeoDataFrame
        A line from each original centre to its suggested centre.
    provisional : bool
        Some rule's layer is missing: a suggestion is not cleared by it.
    summary : dict
        Parameters, counts, notes and provenance.
    """

    table: pd.DataFrame
    moved: gpd.GeoDataFrame
    original: gpd.GeoDataFrame
    arrows: gpd.GeoDataFrame
    provisional: bool
    summary: dict[str, Any]
    workspace: Workspace
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        c = self.table["status"].value_counts().to_dict()
        return (f"<geoplan SuggestionResult: {len(self.table)} failing sites; "
                + ", ".join(f"{k} {v}" for k, v in c.items()) + ">")

    def _repr_html_(self) -> str:
        cols = ["site_id", "status", "distance_m", "direction_zh", "direction_en",
                "rotation_deg", "fixed_rules", "still_warn", "recheck"]
        df = self.table[cols].copy()
        df["distance_m"] = df["distance_m"].round(2)
        return ("<p><b>geoplan suggest 合规选址建议</b> — "
                f"{len(self.table)} failing sites 个不合规选址</p>" + table_html(df))

    def columns(self) -> pd.DataFrame:
        """The suggestion of each failing site as ``suggest_*`` columns, indexed by ``site_id``.

        For the per-site sheet: ``geoplan check --suggest`` joins them to the
        verdicts (sites that did not fail get empty cells).

        Returns
        -------
        pandas.DataFrame
            ``suggest_status, suggest_distance_m, suggest_direction_zh,
            suggest_direction_en, suggest_rotation_deg, suggest_recheck,
            suggest_message_zh, suggest_message_en``.
        """
        cols = ["status", "distance_m", "direction_zh", "direction_en", "rotation_deg",
                "recheck", "message_zh", "message_en"]
        t = self.table.set_index("site_id")[cols]
        return t.rename(columns={c: f"suggest_{c}" for c in cols})

    def map(self, **options: Any) -> Any:
        """A folium map: each failing footprint, its suggestion and an arrow between them.

        ``options`` choose the background as for :func:`geoplan.maps.result_map`:
        ``basemap`` (default OpenStreetMap; a name or a tile URL template, not
        Amap), ``tk``, ``attribution``, ``offline`` (no basemap: no request at
        all). Leaflet is inlined, so the layers draw with no network.
        """
        import folium

        m = _maps.base_map(_maps.bounds_lonlat(self.original, self.moved),
                           title="合规选址建议 Suggested sites", **options)
        tips = {r.site_id: f"<b>{_maps.esc(r.site_id)}</b><br>{_maps.esc(r.message_zh)}<br>"
                           f"{_maps.esc(r.message_en)}" for r in self.table.itertuples()}
        g = folium.FeatureGroup(name="原选址 Original (fail)", show=True).add_to(m)
        _maps.add_polygons(g, self.original, fill=["#d7191c"] * len(self.original),
                           tooltips=[tips.get(s, "") for s in self.original["site_id"]])
        g = folium.FeatureGroup(name="建议选址 Suggested", show=True).add_to(m)
        _maps.add_polygons(g, self.moved, fill=["#1a9641"] * len(self.moved),
                           tooltips=[tips.get(s, "") for s in self.moved["site_id"]])
        g = folium.FeatureGroup(name="移动方向 Move", show=True).add_to(m)
        _maps.add_lines(g, self.arrows, color="#2b83ba", weight=3)
        _maps.legend(m, "合规选址建议 Suggested sites", [
            ("#d7191c", f"原选址（不合规） original (fails): {len(self.original)}"),
            ("#1a9641", f"建议选址 suggested: {len(self.moved)}"),
            ("#2b83ba", f"移动方向 move: {len(self.arrows)}")])
        return _maps.finish(m)

    # ------------------------------------------------ on a check's map and report

    def overlays(self) -> list[Overlay]:
        """The suggested footprints and the moves (arrows) as layers of the check's map."""
        msg = {str(r.site_id): f"{r.site_id}: {r.message_zh} · {r.message_en}"
               for r in self.table.itertuples()}
        return [
            Overlay(key="suggest.moved", label_zh="建议选址", label_en="suggested sites",
                    geometry=self.moved.geometry,
                    tips=[msg.get(str(s), "") for s in self.moved["site_id"]],
                    style=_MOVED_STYLE, family="polygon"),
            Overlay(key="suggest.arrow", label_zh="移动方向", label_en="moves",
                    geometry=gpd.GeoSeries(_arrow_heads(self.arrows.geometry.to_numpy()),
                                           crs=self.arrows.crs),
                    tips=[msg.get(str(s), "") for s in self.arrows["site_id"]],
                    style=_ARROW_STYLE, family="line"),
        ]

    def site_notes(self) -> dict[str, SiteNote]:
        """Per failing site: the suggestion (or why there is none), its footprint and arrow."""
        moved = dict(zip(self.moved["site_id"].astype(str), self.moved.geometry.to_numpy(),
                         strict=True))
        arrows = dict(zip(self.arrows["site_id"].astype(str),
                          _arrow_heads(self.arrows.geometry.to_numpy()), strict=True))
        out = {}
        for r in self.table.itertuples():
            sid = str(r.site_id)
            shapes: tuple[tuple[shapely.Geometry, dict[str, Any]], ...] = ()
            if sid in moved:
                shapes = ((moved[sid], _MOVED_STYLE), (arrows[sid], _ARROW_STYLE))
            prov = ("（暂定，部分图层缺失）", " (provisional: some layers are missing)") \
                if bool(r.provisional) else ("", "")
            out[sid] = SiteNote(zh=f"选址建议：{r.message_zh}{prov[0]}",
                                en=f"Suggestion: {r.message_en}{prov[1]}", shapes=shapes,
                                legend=_LEGEND if shapes else ())
        return out

    def report_section(self) -> str:
        """The report's section: counts by outcome and a row per failing site."""
        e = html.escape
        names = {"moved": ("已给出建议", "moved"),
                 "none_within_radius": ("范围内无合规选址", "none within the radius"),
                 "rejected": ("复核未通过", "rejected by the re-check"),
                 "not_applicable": ("无宅基范围", "no footprint")}
        counts = self.table["status"].value_counts()
        badges = " · ".join(f"{e(names.get(str(k), (k, k))[0])} {e(names.get(str(k), (k, k))[1])}"
                            f" <b>{int(v)}</b>" for k, v in counts.items())
        shown = self.table["status"].isin(["moved", "rejected"])
        t = self.table[shown].sort_values(["status", "distance_m"], kind="stable")
        rest = "".join(
            f"<p><b>{e(names.get(str(k), (k, k))[0])} {e(names.get(str(k), (k, k))[1])}</b>: "
            + ", ".join(e(str(x)) for x in g["site_id"]) + "</p>"
            for k, g in self.table[~shown].groupby("status", sort=True))
        rows = "".join(
            f"<tr><td>{e(str(r.site_id))}</td>"
            f"<td>{e(names.get(str(r.status), (r.status, ''))[0])} "
            f"<span class='en'>{e(names.get(str(r.status), ('', r.status))[1])}</span></td>"
            f"<td class='num'>{'' if pd.isna(r.distance_m) else f'{r.distance_m:,.2f}'}</td>"
            f"<td>{e(str(r.direction_zh or ''))} <span class='en'>"
            f"{e(str(r.direction_en or ''))}</span></td>"
            f"<td class='num'>{'' if pd.isna(r.rotation_deg) or not r.rotation_deg else f'{r.rotation_deg:g}°'}"
            f"</td><td><code>{e(str(r.fixed_rules or ''))}</code></td>"
            f"<td><code>{e(str(r.still_warn or ''))}</code></td>"
            f"<td>{e(str(r.message_zh))}<br><span class='en'>{e(str(r.message_en))}</span></td>"
            f"</tr>" for r in t.itertuples())
        notes = "".join(f"<li>{e(n)}</li>" for n in self.notes)
        radius = self.summary.get("radius_m")
        prov = ("<div class='alert'><b>暂定 PROVISIONAL</b> — " + e("; ".join(self.notes[:1]))
                + "</div>") if self.provisional else ""
        return (
            "<h2 id='gp-suggest'>合规选址建议 <span class='en'>Suggested compliant sites</span></h2>"
            f"{prov}<p class='muted'>每处不通过的选址在 {e(f'{radius:g}')} 米内（默认限于村庄建设边界内）"
            "平移到最近的、全部“不通过”级规则都通过的位置；每个建议都经核查引擎重新核查 · each "
            f"failing site moved the least distance, within {e(f'{radius:g}')} m (inside the "
            "village boundary by default), to where every fail-level rule passes; every "
            f"suggestion was checked again by the engine.</p><p>{badges}</p>"
            "<table class='gp-t'><thead><tr><th>选址 site</th><th>结果 outcome</th>"
            "<th>距离 distance m</th><th>方向 direction</th><th>旋转 turn</th>"
            "<th>解决 fixes</th><th>仍有提示 still warns</th><th>说明 message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>{rest}"
            + (f"<ul class='muted'>{notes}</ul>" if notes else ""))

    def to_files(self, out_dir: str | os.PathLike[str], *, map_html: bool = True,
                 **map_options: Any) -> list[Path]:
        """Write ``suggestions.csv``, ``suggestions.gpkg``, ``map.html``, ``summary.json``.

        Parameters
        ----------
        out_dir
            Folder to write into (created when missing), atomically.
        map_html
            Also write ``map.html`` (:meth:`map`).
        **map_options
            Its background (``basemap``, ``tk``, ``attribution``, ``offline``),
            as for :meth:`map`.

        Returns
        -------
        list of Path
            The files written.
        """
        return write_outputs(
            out_dir, csv={"suggestions.csv": self.table},
            gpkg={"suggested": self.moved, "original": self.original, "moves": self.arrows},
            gpkg_name="suggestions.gpkg", summary=self.summary,
            map_html=(lambda: self.map(**map_options)) if map_html else None)


_MOVED_STYLE = {"color": "#1a9641", "weight": 2, "fillColor": "#1a9641", "fillOpacity": 0.35,
                "dashArray": "5 3"}
_ARROW_STYLE = {"color": "#2b83ba", "weight": 2.5, "opacity": 0.95}
_LEGEND = (("建议选址", _MOVED_STYLE, "polygon"), ("移动方向", _ARROW_STYLE, "line"))


def _arrow_heads(lines: np.ndarray) -> np.ndarray:
    """Each move line with a head at its end: two strokes of ⅓ its length, at most 6 m."""
    out = np.empty(len(lines), dtype=object)
    for i, ln in enumerate(lines):
        xy = shapely.get_coordinates(ln)
        (x0, y0), (x1, y1) = xy[0], xy[-1]
        dx, dy = x1 - x0, y1 - y0
        n = math.hypot(dx, dy)
        if n == 0:
            out[i] = ln
            continue
        h = min(n / 3, 6.0)
        ux, uy = dx / n, dy / n
        c, s_ = math.cos(math.radians(25)), math.sin(math.radians(25))
        left = (x1 - h * (ux * c - uy * s_), y1 - h * (uy * c + ux * s_))
        right = (x1 - h * (ux * c + uy * s_), y1 - h * (uy * c - ux * s_))
        out[i] = shapely.MultiLineString([[(x0, y0), (x1, y1)], [left, (x1, y1), right]])
    return out


def minkowski_forbidden(zone: shapely.Geometry, footprint: shapely.Geometry,
                        ) -> shapely.Geometry:
    """Where the footprint's centroid may not go: ``zone ⊕ (c − footprint)``.

    The footprint moved so that its centroid is at ``x`` meets ``zone`` (has
    a point in common with it) exactly when ``x`` is in the result.

    Parameters
    ----------
    zone
        Polygons, in metres.
    footprint
        A polygon (holes are ignored: a house is solid).

    Returns
    -------
    shapely.Geometry

    Examples
    --------
    >>> import shapely
    >>> f = minkowski_forbidden(shapely.box(0, 0, 10, 10), shapely.box(0, 0, 4, 2))
    >>> [round(v, 3) for v in f.bounds], round(f.area, 2)  # grown by 2 m and 1 m each side
    ([-2.0, -1.0, 12.0, 11.0], 168.0)
    """
    c = footprint.centroid
    solid = shapely.Polygon(footprint.exterior) if footprint.geom_type == "Polygon" else \
        shapely.union_all([shapely.Polygon(p.exterior) for p in shapely.get_parts(footprint)])
    mirrored = shapely.affinity.scale(solid, -1.0, -1.0, origin=c)
    b = shapely.affinity.translate(mirrored, -c.x, -c.y)  # c − P, about the origin
    pieces = ([b] if abs(b.convex_hull.area - b.area) <= 1e-9 * max(b.area, 1.0)
              else list(shapely.get_parts(shapely.constrained_delaunay_triangles(b))))
    segs = _segments(zone)
    out = []
    for t in pieces:
        tv = shapely.get_coordinates(t)[:-1]  # the piece's corners (ring without its repeat)
        out.append(shapely.affinity.translate(zone, tv[0, 0], tv[0, 1]))
        if len(segs):
            pts = (segs[:, :, None, :] + tv[None, None, :, :]).reshape(len(segs), -1, 2)
            out.extend(shapely.convex_hull(shapely.multipoints(pts)))
    # hulls of consecutive edges share a corner; rounding can leave hairline gaps between
    # them that would read as free land: close them
    return shapely.buffer(shapely.union_all(np.asarray(out, dtype=object)), _SEAM_M,
                          quad_segs=1, join_style="mitre")


def _segments(g: shapely.Geometry) -> np.ndarray:
    """The edges of every ring of ``g`` as an ``(n, 2, 2)`` array."""
    rings = shapely.get_rings(shapely.get_parts(g))
    if not len(rings):
        return np.zeros((0, 2, 2))
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    same = idx[1:] == idx[:-1]
    return np.stack([xy[:-1][same], xy[1:][same]], axis=1)


def suggest(
    result: CheckData,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    footprint_m: float | None = None,
    rotate: bool = False,
    within_village: bool = True,
) -> SuggestionResult:
    """For each failing house of a check, the smallest move that makes it pass.

    Parameters
    ----------
    result
        A check of house sites (:func:`geoplan.check`).
    radius_m
        The farthest a house is moved.
    footprint_m
        Point sites become squares of this size (default: the check's
        ``footprint_m``; points without one are ``not_applicable``).
    rotate
        Also try the footprint turned in 15° steps.
    within_village
        Keep the moved footprint inside a village construction boundary
        (when the workspace has that layer).

    Returns
    -------
    SuggestionResult

    Raises
    ------
    ValueError
        ``radius_m`` is not a positive distance, or the check was not of houses.
    """
    started = _dt.datetime.now(_dt.UTC)
    if not (radius_m > 0 and math.isfinite(radius_m)):
        raise ValueError(f"radius_m must be a positive distance in metres, got {radius_m!r}")
    if result.subject != "house":
        raise ValueError(f"suggestions are made for house sites; this check was of "
                         f"{result.subject} sites")
    ws, pack = result.workspace, result.pack
    fp = footprint_m if footprint_m is not None else result.summary.get("footprint_m")
    v = result.verdicts
    failing = v[v["verdict"] == "fail"].to_crs(ws.crs)
    ids = failing["site_id"].to_numpy()
    geoms = _footprints(failing.geometry.to_numpy(), fp)
    rows: list[dict[str, Any]] = [{} for _ in range(len(ids))]
    moved = np.full(len(ids), None, dtype=object)
    cache = constraint_cache(ws)
    unmapped: set[str] = set()
    ok = np.flatnonzero(~shapely.is_missing(geoms) & (shapely.get_type_id(geoms) >= 3))
    for i in np.flatnonzero(~np.isin(np.arange(len(ids)), ok)):
        rows[i] = _row(ids[i], "not_applicable",
                       zh="点状或线状选址无宅基范围，请用 --footprint-m 给出尺寸",
                       en="a point or line site has no footprint; give --footprint-m")
    tiles = np.floor(shapely.get_coordinates(shapely.centroid(geoms[ok])) / _TILE_M)
    for key in np.unique(tiles, axis=0):
        members = ok[(tiles == key).all(axis=1)]
        zone = _forbidden_land(ws, pack, geoms[members], radius_m, within_village, cache,
                               unmapped)
        for i in members:
            rows[i], moved[i] = _move(ids[i], geoms[i], zone, radius_m, rotate)
    table = pd.DataFrame(rows)
    table = _recheck(result, table, ids, moved, unmapped)
    keep = table["status"].eq("moved").to_numpy()
    crs = ws.crs
    moved_gdf = gpd.GeoDataFrame({"site_id": ids[keep]}, geometry=list(moved[keep]), crs=crs)
    original = gpd.GeoDataFrame({"site_id": ids[ok]}, geometry=list(geoms[ok]), crs=crs)
    arrows = gpd.GeoDataFrame(
        {"site_id": ids[keep]},
        geometry=[shapely.LineString([g.centroid, m.centroid])
                  for g, m in zip(geoms[keep], moved[keep], strict=True)], crs=crs)
    notes = []
    if unmapped:
        notes.append("暂定 PROVISIONAL: 以下规则的图层缺失，建议选址未经其核查 — these rules' layers are "
                     f"missing, so no suggestion is cleared by them: {', '.join(sorted(unmapped))}")
    if within_village and ws.vector("village_boundary") is None:
        notes.append("工作空间无村庄建设边界图层，建议选址未限定在村庄内 — the workspace has no "
                     "village_boundary layer, so the suggestions are not kept inside villages")
    summary = base_summary(ws, sorted({r.layer for r in pack.for_subject("house") if r.layer}),
                           started)
    summary.update({"analysis": "suggest", "radius_m": radius_m, "rotate": rotate,
                    "within_village": within_village, "footprint_m": fp,
                    "rule_pack": {"name": pack.name, "version": pack.version},
                    "counts": table["status"].value_counts().to_dict(),
                    "provisional": bool(unmapped), "notes": notes})
    return SuggestionResult(table=table, moved=moved_gdf, original=original, arrows=arrows,
                            provisional=bool(unmapped), summary=summary, workspace=ws,
                            notes=notes)


def _footprints(geoms: np.ndarray, fp: float | None) -> np.ndarray:
    out = np.asarray(geoms, dtype=object).copy()
    pts = shapely.get_type_id(out) == 0
    if fp and pts.any():
        out[pts] = shapely.buffer(out[pts], fp / 2, cap_style="square")
    return out


def _forbidden_land(ws: Workspace, pack: Any, geoms: np.ndarray, radius_m: float,
                    within_village: bool, cache: ConstraintCache, unmapped: set[str],
                    ) -> shapely.Geometry:
    """The land no footprint of this tile may meet: fail zones, unknown land, outside villages."""
    reach = radius_m + float(np.max(np.hypot(*(shapely.bounds(geoms)[:, 2:]
                                               - shapely.bounds(geoms)[:, :2]).T))) + 10.0
    b = shapely.total_bounds(geoms)
    extent = shapely.box(b[0] - reach, b[1] - reach, b[2] + reach, b[3] + reach)
    parts = []
    for e in exclusions(ws, pack, extent=extent, cache=cache):
        if not e.mappable:
            continue
        if e.unmapped:
            unmapped.add(e.rule_id)
            continue
        parts.extend([e.area("fail"), e.unknown])
    if within_village:
        vb = ws.vector("village_boundary")
        if vb is not None:
            near = vb.gdf.geometry.to_numpy()
            inside = as_area(list(near[shapely.intersects(near, extent)]))
            parts.append(shapely.difference(extent, inside))
    return shapely.buffer(as_area(parts), SAFETY_M, quad_segs=2, join_style="mitre")


def _move(site_id: Any, geom: shapely.Geometry, zone: shapely.Geometry, radius_m: float,
          rotate: bool) -> tuple[dict[str, Any], shapely.Geometry | None]:
    c = geom.centroid
    disc = c.buffer(radius_m, quad_segs=32)
    window = shapely.box(c.x - radius_m - _diam(geom), c.y - radius_m - _diam(geom),
                         c.x + radius_m + _diam(geom), c.y + radius_m + _diam(geom))
    local = polygonal(shapely.intersection(zone, window))
    best: tuple[float, float, shapely.Geometry, float] | None = None
    for angle in (_ROTATIONS if rotate else (0,)):
        g = shapely.affinity.rotate(geom, angle, origin=c) if angle else geom
        forbidden = minkowski_forbidden(local, g) if not local.is_empty else shapely.Polygon()
        free = polygonal(shapely.difference(disc, forbidden))
        if free.is_empty:
            continue
        q = shapely.get_coordinates(shapely.shortest_line(c, free))[-1]
        dist = float(np.hypot(q[0] - c.x, q[1] - c.y))
        if best is None or dist < best[0] - 1e-9:
            best = (dist, float(angle), shapely.affinity.translate(g, q[0] - c.x, q[1] - c.y),
                    0.0)
    if best is None:
        return _row(site_id, "none_within_radius",
                    zh=f"{radius_m:g} 米范围内无合规选址",
                    en=f"no compliant site within {radius_m:g} m"), None
    dist, angle, g, _ = best
    dx, dy = g.centroid.x - c.x, g.centroid.y - c.y
    bearing = (math.degrees(math.atan2(dx, dy)) + 360.0) % 360.0
    zh_dir, en_dir = _DIRS[int(((bearing + 22.5) % 360) // 45)]
    turn_zh = f"，旋转 {angle:g}°" if angle else ""
    turn_en = f", turned {angle:g}°" if angle else ""
    row = _row(site_id, "moved", zh=f"向{zh_dir}移动 {dist:.2f} 米{turn_zh}",
               en=f"move {dist:.2f} m {en_dir}{turn_en}")
    row.update({"distance_m": round(dist, 3), "dx_m": round(dx, 3), "dy_m": round(dy, 3),
                "bearing_deg": round(bearing, 1), "direction_zh": zh_dir,
                "direction_en": en_dir, "rotation_deg": angle})
    return row, g


def _diam(g: shapely.Geometry) -> float:
    b = g.bounds
    return float(math.hypot(b[2] - b[0], b[3] - b[1]))


def _row(site_id: Any, status: str, *, zh: str, en: str) -> dict[str, Any]:
    return {"site_id": site_id, "status": status, "distance_m": np.nan, "dx_m": np.nan,
            "dy_m": np.nan, "bearing_deg": np.nan, "direction_zh": "", "direction_en": "",
            "rotation_deg": np.nan, "fixed_rules": "", "still_warn": "", "recheck": "",
            "provisional": False, "message_zh": zh, "message_en": en}


def _recheck(result: CheckData, table: pd.DataFrame, ids: np.ndarray, moved: np.ndarray,
             unmapped: set[str]) -> pd.DataFrame:
    """Check every suggestion again with the engine; reject any that still fails."""
    from ..result import check

    sel = np.flatnonzero(table["status"].eq("moved").to_numpy())
    if not len(sel):
        return table
    ws = result.workspace
    sites = gpd.GeoDataFrame({"site_id": ids[sel].astype(str)}, geometry=list(moved[sel]),
                             crs=ws.crs)
    again = check(sites, ws, rules=result.pack, subject="house", id_field="site_id")
    f = again.findings
    before = result.findings
    for i in sel:
        sid = str(ids[i])
        mine = f[f["site_id"].astype(str) == sid]
        was = before[(before["site_id"].astype(str) == sid) & (before["status"] == "fail")]
        fails = mine[(mine["status"] == "fail")]["rule_id"].tolist()
        open_fail = mine[(mine["severity"] == "fail") &
                         mine["status"].isin(["not_checked", "error"])]["rule_id"].tolist()
        table.at[i, "fixed_rules"] = "; ".join(was["rule_id"].tolist())
        table.at[i, "still_warn"] = "; ".join(mine[mine["status"] == "warn"]["rule_id"])
        table.at[i, "provisional"] = bool(unmapped) or bool(open_fail)
        if fails:
            table.at[i, "status"] = "rejected"
            table.at[i, "recheck"] = "fail: " + "; ".join(fails)
            table.at[i, "message_zh"] = "复核未通过：" + "; ".join(fails)
            table.at[i, "message_en"] = "the engine still fails it: " + "; ".join(fails)
        else:
            table.at[i, "recheck"] = ("pass" if not open_fail else
                                      "not_checked: " + "; ".join(open_fail))
    return table
