"""Where a house can go: per village, the land no fail-level rule excludes.

For every village, the land inside its construction boundary (or within a
declared radius of the settlement) minus the area each fail-level rule of the
pack excludes (:func:`geoplan.engine.exclusions`: zones, setback corridors,
steep DEM cells, red lines), with the land where a house would only get a
warning shown apart, and the land where a rule cannot tell (a feature whose
value is not understood, DEM nodata) left out and shown as *unknown*.

Never cleaner than the data: when a rule's layer is missing the rule could
exclude anything, so the village's land is marked **provisional** in every
output, and the rule is named.

How many homestead plots fit is estimated by laying a regular lattice of plots
(``plot_m``, default 12 m × 15 m, turned to the village's main direction) over
the land at nine offsets and keeping the best count: that many plots exist,
disjoint, each wholly on buildable land (a lower bound). The land's area
divided by a plot's area bounds the count from above.

Examples
--------
>>> import geoplan
>>> ws = geoplan.open_workspace("layers")                   # doctest: +SKIP
>>> b = geoplan.buildable(ws)                                # doctest: +SKIP
>>> b.land[["village", "buildable_m2", "plots", "plots_max"]]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..core import MU_PER_M2, Subject
from ..engine import constraint_cache, exclusions
from ..engine.exclusion import as_area, polygonal
from ..errors import WorkspaceError
from ..maps.overlay import Overlay, SiteNote
from ..rules import RulePack, load_pack
from ..rules.registry import Exclusion
from ..workspace import Workspace
from . import _maps
from ._common import as_workspace, table_html, village_frame
from ._output import base_summary, write_outputs

__all__ = ["DEFAULT_PLOT_M", "BuildableResult", "buildable", "count_plots"]

DEFAULT_PLOT_M: tuple[float, float] = (12.0, 15.0)
"""A homestead plot (宅基地), width × depth in metres: an example size, not a figure of the
plan; set ``plot_m`` to the county's standard."""

_CLASSES = {  # class → (zh, en, colour)
    "buildable": ("可建设", "buildable", "#1a9641"),
    "warn": ("可建但有提示", "buildable with a warning", "#fdae61"),
    "unknown": ("无法判定", "cannot tell", "#969696"),
    "excluded": ("不可建设", "excluded", "#d7191c"),
}


@dataclass
class BuildableResult:
    """Buildable land per village.

    Attributes
    ----------
    land : geopandas.GeoDataFrame
        One row per village; geometry: its buildable land (fail-free and
        known, warning areas included). Columns ``village, township, area_m2,
        excluded_m2, unknown_m2, buildable_m2, buildable_mu, warn_m2,
        no_warn_m2, plots, plots_max, plots_no_warn, provisional,
        unmapped_rules``.
    areas : geopandas.GeoDataFrame
        The land of each village by class: ``buildable`` (no warning),
        ``warn``, ``unknown``, ``excluded`` (with the rules that exclude it).
    plots : geopandas.GeoDataFrame
        The lattice plots counted (``village, plot, on_warn``).
    rules : pandas.DataFrame
        Per rule of the pack: ``rule_id, severity, title_zh, title_en,
        mappable, exact, unmapped_in, excluded_m2, note_zh, note_en``.
    provisional : bool
        Some rule's layer is missing or unusable: the land is not proven clean.
    summary : dict
        Parameters, totals, notes and provenance (``summary.json``).
    """

    land: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    plots: gpd.GeoDataFrame
    rules: pd.DataFrame
    provisional: bool
    summary: dict[str, Any]
    workspace: Workspace
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        prov = ", PROVISIONAL 暂定" if self.provisional else ""
        return (f"<geoplan BuildableResult: {len(self.land)} villages, "
                f"{self.land['buildable_m2'].sum():,.0f} m² buildable, "
                f"{int(self.land['plots'].sum())} plots{prov}>")

    def _repr_html_(self) -> str:
        cols = ["village", "township", "area_m2", "buildable_m2", "buildable_mu", "warn_m2",
                "unknown_m2", "plots", "plots_max", "provisional"]
        df = self.land[cols].copy()
        for c in ("area_m2", "buildable_m2", "warn_m2", "unknown_m2"):
            df[c] = df[c].round(0)
        df["buildable_mu"] = df["buildable_mu"].round(2)
        head = ("<p><b>geoplan buildable 可建设用地</b> — "
                f"{len(self.land)} villages 个村庄"
                + (" — <b style='color:#b30000'>暂定 provisional</b>" if self.provisional
                   else "") + "</p>")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return head + table_html(df) + (f"<ul>{notes}</ul>" if notes else "")

    def map(self, **options: Any) -> Any:
        """A folium map: each village's land by class, the plots, the village boundaries.

        ``options`` choose the background as for :func:`geoplan.maps.result_map`:
        ``basemap`` (default OpenStreetMap; a name or a tile URL template, not
        Amap), ``tk``, ``attribution``, ``offline`` (no basemap: no request at
        all). Leaflet is inlined, so the layers draw with no network.
        """
        import folium

        m = _maps.base_map(_maps.bounds_lonlat(self.land),
                           title="可建设用地 Buildable land"
                                 + (" — 暂定 provisional" if self.provisional else ""),
                           **options)
        for cls in ("excluded", "unknown", "warn", "buildable"):
            zh, en, colour = _CLASSES[cls]
            part = self.areas[self.areas["class"] == cls]
            g = folium.FeatureGroup(name=f"{zh} {en}", show=True).add_to(m)
            tips = [f"<b>{_maps.esc(r.village)}</b> {zh} {en}<br>"
                    f"{_maps.esc(r.area_m2)} m² ({r.area_m2 * MU_PER_M2:.2f} 亩 mu)"
                    + (f"<br>{_maps.esc(r.rules)}" if r.rules else "")
                    for r in part.itertuples()]
            _feature_layer(g, part, tips, fill=colour)
        if len(self.plots):
            g = folium.FeatureGroup(name="宅基地示意 Plots (lattice)", show=False).add_to(m)
            _feature_layer(g, self.plots, [f"{_maps.esc(v)} #{p}" for v, p in
                                           zip(self.plots["village"], self.plots["plot"],
                                               strict=True)], fill="#ffffff")
        area = self.areas.groupby("class")["area_m2"].sum() if len(self.areas) else {}
        _maps.legend(m, "可建设用地 Buildable land",
                     [(c, f"{zh} {en} · {float(area.get(k, 0.0)) * MU_PER_M2:,.1f} 亩 mu")
                      for k, (zh, en, c) in _CLASSES.items()],
                     note=f"{len(self.land)} 个村 villages"
                          + (f" · {len(self.plots)} 宅基地示意 plots" if len(self.plots) else ""))
        return _maps.finish(m)

    # ------------------------------------------------ on a check's map and report

    def overlays(self) -> list[Overlay]:
        """The land by class as layers of a check's map (:meth:`geoplan.Result.map`).

        Buildable land (no warning), land with a warning and land no rule can
        tell about, each village's area in the tooltip; a provisional result
        says so in every layer name.
        """
        prov = ("（暂定）", " (provisional)") if self.provisional else ("", "")
        out = []
        for cls, on in (("buildable", True), ("warn", True), ("unknown", True)):
            zh, en, colour = _CLASSES[cls]
            part = self.areas[self.areas["class"] == cls]
            tips = [f"{r.village} · {zh} {en} · {r.area_m2:,.0f} m² "
                    f"({r.area_m2 * MU_PER_M2:,.2f} 亩 mu)" for r in part.itertuples()]
            out.append(Overlay(
                key=f"buildable.{cls}", label_zh=f"{zh}用地{prov[0]}",
                label_en=f"{en} land{prov[1]}", geometry=part.geometry, tips=tips,
                style={"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.35,
                       **({"dashArray": "4 3"} if cls != "buildable" else {})},
                family="polygon", on=on))
        return out

    def site_notes(self) -> dict[str, SiteNote]:
        """None: the buildable land is about villages, not sites."""
        return {}

    def report_section(self) -> str:
        """The report's section: the land per village, how plots are counted, the notes."""
        e = html.escape
        prov = ("<div class='alert'><b>暂定 PROVISIONAL</b> — 部分规则图层缺失，可建设用地未经其核查 · "
                "some rules' layers are missing; the land is not cleared by them: "
                + e(", ".join(self.rules.loc[self.rules["unmapped_in"] > 0, "rule_id"]))
                + "</div>") if self.provisional else ""
        rows = []
        land = self.land.sort_values(["township", "village"], na_position="last")
        for r in land.itertuples():
            rows.append(
                f"<tr{' class=nc' if r.provisional else ''}><td>{e(str(r.village))}</td>"
                f"<td>{e('' if r.township is None else str(r.township))}</td>"
                f"<td class='num'>{r.area_m2:,.0f}</td><td class='num'>{r.excluded_m2:,.0f}</td>"
                f"<td class='num'>{r.unknown_m2:,.0f}</td>"
                f"<td class='num'>{r.buildable_m2:,.0f}</td>"
                f"<td class='num'>{r.buildable_mu:,.2f}</td><td class='num'>{r.warn_m2:,.0f}</td>"
                f"<td class='num'>{r.plots:,}–{r.plots_max:,}</td>"
                f"<td>{'暂定 provisional: ' + e(str(r.unmapped_rules)) if r.provisional else ''}"
                f"</td></tr>")
        tot = self.land
        rows.append(
            f"<tr class='tot'><td>合计 total</td><td></td>"
            f"<td class='num'>{tot['area_m2'].sum():,.0f}</td>"
            f"<td class='num'>{tot['excluded_m2'].sum():,.0f}</td>"
            f"<td class='num'>{tot['unknown_m2'].sum():,.0f}</td>"
            f"<td class='num'>{tot['buildable_m2'].sum():,.0f}</td>"
            f"<td class='num'>{tot['buildable_mu'].sum():,.2f}</td>"
            f"<td class='num'>{tot['warn_m2'].sum():,.0f}</td>"
            f"<td class='num'>{int(tot['plots'].sum()):,}–{int(tot['plots_max'].sum()):,}</td>"
            f"<td></td></tr>")
        notes = "".join(f"<li>{e(n)}</li>" for n in self.notes)
        return (
            "<h2 id='gp-buildable'>可建设用地 <span class='en'>Buildable land</span></h2>"
            f"{prov}<p class='muted'>村庄建设边界内（或村庄点周围）扣除全部“不通过”级规则排除范围后的用地；"
            "有提示的用地单列，无法判定的用地不计入 · the land in each village boundary (or round "
            "each settlement) less every area a fail-level rule excludes; land with a warning is "
            "counted apart, land no rule can tell about is left out. 宅基地数为“下限–上限” · "
            "plots are given as lower–upper bound.</p>"
            "<table class='gp-t'><thead><tr><th>村 village</th><th>乡镇 township</th>"
            "<th>范围 area m²</th><th>排除 excluded m²</th><th>无法判定 unknown m²</th>"
            "<th>可建设 buildable m²</th><th>亩 mu</th><th>其中有提示 with warning m²</th>"
            "<th>宅基地 plots</th><th>备注 note</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>"
            + (f"<ul class='muted'>{notes}</ul>" if notes else ""))

    def to_files(self, out_dir: str | os.PathLike[str], *, map_html: bool = True,
                 **map_options: Any) -> list[Path]:
        """Write ``buildable.csv``, ``buildable_rules.csv``, ``buildable.gpkg``, map, summary.

        Written atomically into ``out_dir`` (a temporary folder, then
        :func:`os.replace`); CSV files are UTF-8 with BOM.

        Parameters
        ----------
        out_dir
            Folder to write into (created when missing).
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
        land = pd.DataFrame(self.land.drop(columns="geometry"))
        return write_outputs(
            out_dir,
            csv={"buildable.csv": land, "buildable_rules.csv": self.rules},
            gpkg={"land": self.land, "areas": self.areas, "plots": self.plots},
            gpkg_name="buildable.gpkg", summary=self.summary,
            map_html=(lambda: self.map(**map_options)) if map_html else None)


def _feature_layer(group: Any, gdf: gpd.GeoDataFrame, tips: list[str], *, fill: str) -> None:
    """All of ``gdf`` as one GeoJSON layer with pre-escaped tooltips (fast for 10⁴ plots)."""
    import folium

    if not len(gdf):
        return
    data = gpd.GeoDataFrame({"tip": [_maps.inert(t) for t in tips]},
                            geometry=gdf.geometry.to_numpy(), crs=gdf.crs).to_crs(4326)
    folium.GeoJson(
        data.to_json(), style_function=lambda _f: {"fillColor": fill, "color": "#444",
                                                   "weight": 1, "fillOpacity": 0.55},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True,
                                      class_name="gp-atip"),
    ).add_to(group)


def buildable(
    workspace: Workspace | str | os.PathLike[str],
    rules: RulePack | str | os.PathLike[str] = "yining-2025",
    *,
    villages: Sequence[str] | None = None,
    radius_m: float | None = None,
    plot_m: tuple[float, float] = DEFAULT_PLOT_M,
    subject: Subject = "house",
    near: gpd.GeoSeries | None = None,
    near_m: float = 0.0,
) -> BuildableResult:
    """Buildable land per village: its area minus everything a fail-level rule excludes.

    Parameters
    ----------
    workspace
        A workspace or its folder.
    rules
        The rule pack (default: the built-in ``yining-2025``).
    villages
        Names of the villages to map (default: all).
    radius_m
        Map the land within this distance of each settlement (the village
        layer's points) instead of the village construction boundaries.
        Needed when the workspace has no ``village_boundary`` layer.
    plot_m
        A homestead plot, width × depth in metres.
    subject
        The rules' subject (``"house"``).
    near
        Only the villages whose area lies within ``near_m`` of one of these
        geometries (a checked batch's sites, with a CRS) — ``geoplan check
        --buildable``. None near gives an empty result with a note, not an
        error.
    near_m
        The distance for ``near``, in metres.

    Returns
    -------
    BuildableResult

    Raises
    ------
    WorkspaceError
        Neither a ``village_boundary`` layer nor ``radius_m``; or no village
        of the names asked for.
    ValueError
        A plot size or radius that is not a positive number.
    """
    started = _dt.datetime.now(_dt.UTC)
    ws = as_workspace(workspace)
    pack = rules if isinstance(rules, RulePack) else load_pack(rules)
    w, d = (float(v) for v in plot_m)
    if not (w > 0 and d > 0 and math.isfinite(w * d)):
        raise ValueError(f"plot_m must be two positive sizes in metres, got {plot_m!r}")
    if radius_m is not None and not (radius_m > 0 and math.isfinite(radius_m)):
        raise ValueError(f"radius_m must be a positive distance in metres, got {radius_m!r}")
    areas_v = _village_areas(ws, villages, radius_m)
    if near is not None:
        areas_v = _villages_near(areas_v, near, near_m)
    cache = constraint_cache(ws)
    rows, parts, plots = [], [], []
    per_rule: dict[str, dict[str, Any]] = {}
    for v in areas_v.itertuples():
        ex = exclusions(ws, pack, extent=v.geometry, cache=cache, subject=subject)
        row, vparts, vplots = _one_village(v, ex, (w, d), per_rule)
        rows.append(row)
        parts.extend(vparts)
        plots.extend(vplots)
    crs = ws.crs
    land = gpd.GeoDataFrame(pd.DataFrame(rows, columns=_LAND_COLUMNS), geometry="geometry",
                            crs=crs)
    areas = gpd.GeoDataFrame(pd.DataFrame(parts, columns=["village", "class", "rules",
                                                          "area_m2", "geometry"]),
                             geometry="geometry", crs=crs)
    plot_gdf = gpd.GeoDataFrame(pd.DataFrame(plots, columns=["village", "plot", "on_warn",
                                                             "geometry"]),
                                geometry="geometry", crs=crs)
    rules_df = _rules_table(pack, subject, per_rule)
    provisional = bool(land["provisional"].any()) if len(land) else False
    notes = _notes(rules_df, provisional, (w, d), radius_m)
    if near is not None:
        notes.append(f"仅含选址批次 {near_m:g} 米范围内的 {len(land)} 个村庄 — only the {len(land)} "
                     f"villages within {near_m:g} m of the batch")
    summary = base_summary(ws, sorted({r.layer for r in pack.for_subject(subject)
                                       if r.layer}), started)
    summary.update({
        "analysis": "buildable",
        "rule_pack": {"name": pack.name, "version": pack.version},
        "plot_m": [w, d], "radius_m": radius_m,
        "villages": len(land), "provisional": provisional,
        "buildable_m2": round(float(land["buildable_m2"].sum()), 1) if len(land) else 0.0,
        "plots": int(land["plots"].sum()) if len(land) else 0,
        "plot_count_method": "lattice of plots at 9 offsets, best count (a lower bound); "
                             "plots_max = buildable area / plot area (an upper bound)",
        "notes": notes,
    })
    return BuildableResult(land=land, areas=areas, plots=plot_gdf, rules=rules_df,
                           provisional=provisional, summary=summary, workspace=ws, notes=notes)


_LAND_COLUMNS = ["village", "township", "area_m2", "excluded_m2", "unknown_m2", "buildable_m2",
                 "buildable_mu", "warn_m2", "no_warn_m2", "plots", "plots_max", "plots_no_warn",
                 "provisional", "unmapped_rules", "geometry"]


def _villages_near(areas: gpd.GeoDataFrame, near: gpd.GeoSeries,
                   near_m: float) -> gpd.GeoDataFrame:
    """The villages within ``near_m`` of any geometry of ``near``."""
    if not (near_m >= 0 and math.isfinite(near_m)):
        raise ValueError(f"near_m must be a distance ≥ 0 in metres, got {near_m!r}")
    g = near if near.crs is None or areas.crs is None else near.to_crs(areas.crs)
    geoms = np.asarray(g.values, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if not len(geoms) or not len(areas):
        return areas.iloc[:0]
    tree = shapely.STRtree(geoms)
    hit = np.unique(tree.query(np.asarray(areas.geometry.values, dtype=object),
                               predicate="dwithin", distance=near_m)[0])
    return areas.iloc[hit].reset_index(drop=True)


def _village_areas(ws: Workspace, names: Sequence[str] | None,
                   radius_m: float | None) -> gpd.GeoDataFrame:
    """One polygon per village: its construction boundary, or a disc around the settlement."""
    if radius_m is None:
        layer = ws.vector("village_boundary")
        if layer is None:
            raise WorkspaceError(
                f"the workspace {ws.path} has no village_boundary layer (村庄建设边界): give "
                "radius_m (--radius-m) to map the land around each settlement instead")
        g = layer.gdf
        name = next((c for c in ("village", "name") if c in g.columns), None)
        out = gpd.GeoDataFrame({
            "village": (g[name].astype(object) if name else
                        pd.Series([f"#{f}" for f in g["fid"]], index=g.index)).to_numpy(),
            "township": (g["township"].astype(object).to_numpy() if "township" in g.columns
                         else np.full(len(g), None))},
            geometry=g.geometry.to_numpy(), crs=g.crs)
    else:
        v = village_frame(ws)
        out = gpd.GeoDataFrame({"village": v["name"].astype(object).to_numpy(),
                                "township": v["township"].astype(object).to_numpy()},
                               geometry=shapely.buffer(v.geometry.to_numpy(), radius_m,
                                                       quad_segs=16), crs=v.crs)
    if names:
        want = {str(n).strip() for n in names}
        sel = out["village"].astype(str).str.strip().isin(want)
        if not sel.any():
            raise WorkspaceError(f"no village called {', '.join(sorted(want))}; villages: "
                                 f"{', '.join(map(str, out['village'].head(20)))}")
        out = out[sel.to_numpy()]
    return out.reset_index(drop=True)


def _one_village(v: Any, ex: list[Exclusion], plot: tuple[float, float],
                 per_rule: dict[str, dict[str, Any]],
                 ) -> tuple[dict[str, Any], list[list[Any]], list[list[Any]]]:
    area = v.geometry
    total = area.area
    fail, warn, unknown, unmapped = [], [], [], []
    fail_rules: list[str] = []
    for e in ex:
        info = per_rule.setdefault(e.rule_id, {"excluded_m2": 0.0, "unmapped_in": 0,
                                               "exact": e.exact, "mappable": e.mappable,
                                               "note_zh": e.note_zh, "note_en": e.note_en})
        if not e.mappable:
            continue
        if e.unmapped:
            unmapped.append(e.rule_id)
            info["unmapped_in"] += 1
            continue
        f = e.area("fail")
        if not f.is_empty:
            fail.append(f)
            fail_rules.append(e.rule_id)
            info["excluded_m2"] += shapely.intersection(f, area).area
        warn.append(e.area("warn"))
        unknown.append(e.unknown)
    excluded = polygonal(shapely.intersection(as_area(fail), area))
    unk = polygonal(shapely.difference(polygonal(shapely.intersection(as_area(unknown), area)), excluded))
    land = polygonal(shapely.difference(area, polygonal(shapely.union(excluded, unk))))
    warn_land = polygonal(shapely.intersection(as_area(warn), land))
    free = polygonal(shapely.difference(land, warn_land))
    angle = _main_direction(area)
    lattice = count_plots(land, plot, angle=angle)
    warn_pl = (shapely.intersects(shapely.buffer(warn_land, -1e-6), lattice)
               if len(lattice) else np.zeros(0, dtype=bool))
    no_warn = count_plots(free, plot, angle=angle)
    row = {"village": v.village, "township": v.township, "area_m2": total,
           "excluded_m2": excluded.area, "unknown_m2": unk.area, "buildable_m2": land.area,
           "buildable_mu": land.area * MU_PER_M2, "warn_m2": warn_land.area,
           "no_warn_m2": free.area, "plots": len(lattice),
           "plots_max": int(land.area // (plot[0] * plot[1])), "plots_no_warn": len(no_warn),
           "provisional": bool(unmapped), "unmapped_rules": "; ".join(unmapped),
           "geometry": land}
    parts = [[v.village, "excluded", "; ".join(fail_rules), excluded.area, excluded],
             [v.village, "unknown", "; ".join(unmapped), unk.area, unk],
             [v.village, "warn", "", warn_land.area, warn_land],
             [v.village, "buildable", "", free.area, free]]
    parts = [p for p in parts if not p[4].is_empty]
    plots = [[v.village, i + 1, bool(w), g]
             for i, (g, w) in enumerate(zip(lattice, warn_pl, strict=True))]
    return row, parts, plots


def count_plots(land: shapely.Geometry, plot: tuple[float, float], *, angle: float = 0.0,
                offsets: int = 3) -> np.ndarray:
    """Disjoint plots of ``plot`` (w × d metres) wholly inside ``land``: the best of a lattice.

    A lattice of plots turned by ``angle`` degrees is laid over the land at
    ``offsets × offsets`` shifts (fractions of a plot); the shift that fits
    the most plots wholly inside wins. Its plots are returned (disjoint by
    construction): a lower bound of how many fit; ``land.area / (w · d)``
    bounds it from above.

    Examples
    --------
    >>> import shapely
    >>> len(count_plots(shapely.box(0, 0, 36, 30), (12, 15)))       # 3 × 2 exactly
    6
    >>> len(count_plots(shapely.box(0, 0, 35.9, 30), (12, 15)))     # no room for a third
    4
    """
    if land.is_empty or land.area < plot[0] * plot[1]:
        return np.zeros(0, dtype=object)
    w, d = plot
    c = land.centroid
    cx, cy = c.x, c.y
    local = shapely.affinity.rotate(land, -angle, origin=c) if angle else land
    x0, y0, x1, y1 = local.bounds
    if angle:  # turning back and forth moves the corners by rounding: allow a micrometre
        local = shapely.buffer(local, 1e-6, quad_segs=1, join_style="mitre")
    shapely.prepare(local)
    lattices = []
    for i in range(offsets):
        for j in range(offsets):
            ox, oy = x0 + (i / offsets - 1) * w, y0 + (j / offsets - 1) * d
            xs = ox + w * np.arange(math.ceil((x1 - ox) / w) + 1)
            ys = oy + d * np.arange(math.ceil((y1 - oy) / d) + 1)
            gx, gy = np.meshgrid(xs, ys)
            corner = shapely.intersects_xy(local, gx, gy)  # corners shared by up to 4 plots
            ok = corner[:-1, :-1] & corner[1:, :-1] & corner[:-1, 1:] & corner[1:, 1:]
            lattices.append((int(ok.sum()), xs, ys, ok))
    best: np.ndarray = np.zeros(0, dtype=object)
    # the plots with four corners on the land bound each lattice's count: try the best first
    for n_ok, xs, ys, ok in sorted(lattices, key=lambda t: -t[0]):
        if n_ok <= len(best):
            break
        r, q = np.nonzero(ok)
        boxes = shapely.box(xs[q], ys[r], xs[q] + w, ys[r] + d)
        inside = boxes[shapely.covers(local, boxes)]  # no hole or notch between the corners
        if len(inside) > len(best):
            best = inside
    if angle and len(best):
        a = math.radians(angle)
        cos, sin = math.cos(a), math.sin(a)

        def turn(xy: np.ndarray) -> np.ndarray:
            dx, dy = xy[:, 0] - cx, xy[:, 1] - cy
            return np.column_stack([cx + dx * cos - dy * sin, cy + dx * sin + dy * cos])

        best = shapely.transform(best, turn)
    return best


def _main_direction(area: shapely.Geometry) -> float:
    """Degrees of the long side of the area's minimum rotated rectangle (0 for a box)."""
    r = shapely.minimum_rotated_rectangle(area)
    xy = shapely.get_coordinates(r)
    if len(xy) < 4:
        return 0.0
    e1, e2 = xy[1] - xy[0], xy[2] - xy[1]
    e = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
    a = math.degrees(math.atan2(e[1], e[0])) % 180.0
    a = a - 180.0 if a > 90.0 else a
    return 0.0 if abs(a) < 1e-9 or abs(abs(a) - 90.0) < 1e-9 else a


def _rules_table(pack: RulePack, subject: Subject, per_rule: dict[str, dict[str, Any]],
                 ) -> pd.DataFrame:
    rows = []
    for r in pack.for_subject(subject):
        info = per_rule.get(r.id, {})
        rows.append({"rule_id": r.id, "severity": r.severity, "title_zh": r.title_zh,
                     "title_en": r.title_en, "mappable": info.get("mappable", True),
                     "exact": info.get("exact", True),
                     "unmapped_in": info.get("unmapped_in", 0),
                     "excluded_m2": round(info.get("excluded_m2", 0.0), 2),
                     "note_zh": info.get("note_zh", ""), "note_en": info.get("note_en", "")})
    return pd.DataFrame(rows)


def _notes(rules_df: pd.DataFrame, provisional: bool, plot: tuple[float, float],
           radius_m: float | None) -> list[str]:
    notes = []
    if provisional:
        names = rules_df.loc[rules_df["unmapped_in"] > 0, "rule_id"].tolist()
        notes.append("暂定 PROVISIONAL: 以下规则的图层缺失或无法使用，可建设用地未经其核查 — the "
                     "layers of these rules are missing or unusable, so the land is not "
                     f"cleared by them: {', '.join(names)}")
    unm = rules_df.loc[~rules_df["mappable"].astype(bool), "rule_id"].tolist()
    if unm:
        notes.append("以下规则与位置无关，未在图上表示 — these rules do not depend on the "
                     f"site's place and are not mapped: {', '.join(unm)}")
    loose = rules_df.loc[rules_df["mappable"].astype(bool) & ~rules_df["exact"].astype(bool)
                         & (rules_df["unmapped_in"] == 0), "rule_id"].tolist()
    if loose:
        notes.append("以下规则的排除范围为安全上界（范围内个别位置仍可能合规）— the areas of these "
                     f"rules are a safe cover (a site inside may still pass): {', '.join(loose)}")
    notes.append(f"宅基地按 {plot[0]:g} m × {plot[1]:g} m 计（示例尺寸，请按本地标准设置）— plots of "
                 f"{plot[0]:g} m × {plot[1]:g} m (an example size: set the county's standard)")
    if radius_m is not None:
        notes.append(f"范围为村庄点周围 {radius_m:g} 米 — land within {radius_m:g} m of each "
                     "settlement")
    return notes
