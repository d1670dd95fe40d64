"""Plan indicators by township and for the city, held against the plan's targets.

Indicators and targets come from the targets file (``[[indicators]]``), each
with its clause and source: kilometres of new or rebuilt rural road (五),
kilometres of 10 kV and low-voltage line by status (七), waste collection
coverage and the sewage treatment rate (十二), demonstration-village plans (四).

- Lengths are summed from the line layers in the working CRS, city-wide and
  split by township area.
- Village-based rates (coverage, shares) use each village's ``township`` field.
- An indicator whose data is absent — no layer, no field, or a layer that
  holds no line of that class at all (e.g. no low-voltage line mapped) — is
  ``not_available``, never 0.

**Township areas.** Unless real township boundaries are given
(``townships=``, a layer with a ``township`` field), the township areas are
approximated by the Voronoi cells of the villages, dissolved by the villages'
``township`` field and clipped to the extent of the layers (plus 1 km). They
partition the area, so the township lengths add up to the city total. They are
not official boundaries; the map says so.

Examples
--------
>>> import geoplan
>>> ind = geoplan.indicators("layers")                  # doctest: +SKIP
>>> ind.city()[["indicator_id", "measure", "target", "status"]]  # doctest: +SKIP
>>> ind.wide()                                          # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..display import join_titles
from ..errors import SiteInputError
from ..sites import read_sites
from ..vocab import apply_values, describe_values, literal_readers
from ..workspace import Workspace
from . import _maps
from ._common import as_workspace, share, table_html, village_frame
from ._output import base_summary, clean_number, write_outputs
from .service_coverage import CoverageResult, coverage
from .targets import Indicator, Targets, load_targets
from .townships import lengths_by_area, township_areas

__all__ = ["CITY", "IndicatorResult", "indicators", "township_areas"]

CITY = "全市 city"
OUTSIDE = "(乡镇范围外 outside the townships)"
_STATUS_ZH = {"met": "已达标", "below_target": "未达标", "info": "仅统计",
              "share_of_city": "占全市", "not_available": "无数据"}
@dataclass
class IndicatorResult:
    """Plan indicators by township and for the city.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per indicator × area: ``indicator_id, clause, title_zh,
        title_en, level`` (city / township), ``area, measure, unit, target,
        progress_percent, status`` (met, below_target, info, share_of_city,
        not_available), ``status_zh, n, note, source, verified``.
    townships : geopandas.GeoDataFrame
        The township areas used (with ``method``, ``n_villages`` and the
        villages' summed ``population``, NaN when none is known) and each
        indicator's measure.
    coverage : CoverageResult or None
        The coverage analysis the village-coverage indicators came from.
    summary : dict
    """

    table: pd.DataFrame
    townships: gpd.GeoDataFrame
    coverage: CoverageResult | None
    summary: dict[str, Any]
    targets: Targets
    workspace: Workspace
    notes: list[str] = field(default_factory=list)

    def city(self) -> pd.DataFrame:
        """The city-wide rows."""
        return self.table[self.table["level"] == "city"].reset_index(drop=True)

    def wide(self) -> pd.DataFrame:
        """Townships × indicators: the measure of each, indexed by ``township`` (the city last).

        An indicator without data stays NaN here (not available, never 0); the
        notebook display writes it ``无数据``.

        Returns
        -------
        pandas.DataFrame
            One row per township area (then ``全市 city``), one column per indicator id.
        """
        t = self.table
        w = t.pivot_table(index="area", columns="indicator_id", values="measure",
                          aggfunc="first", sort=False, dropna=False)
        order = [a for a in t["area"].drop_duplicates() if a != CITY] + [CITY]
        cols = list(dict.fromkeys(t["indicator_id"]))
        return w.reindex(index=order, columns=cols).rename_axis(index="township", columns=None)

    def _by_township_html(self) -> str:
        """:meth:`wide` with each township's villages and population, as an HTML table."""
        w = self.wide()
        ctx = pd.DataFrame(self.townships.drop(columns="geometry")).set_index("township")
        ctx = (ctx[~ctx.index.duplicated()]
               .reindex(index=w.index, columns=["n_villages", "population"]).astype(float))
        if CITY in ctx.index:
            ctx.loc[CITY] = ctx.drop(index=CITY).sum(min_count=1)
        shown = ctx.join(w.round(2))
        heads = {"n_villages": "村庄数 villages", "population": "人口 population"}
        for ind in self.targets.indicators:
            if ind.id in shown.columns:
                hover = html.escape(join_titles(ind.id, ind.title_en, sep=" · "))
                heads[ind.id] = (f'<span title="{hover}">'
                                 f"{html.escape(ind.title_zh or ind.title_en or ind.id)}</span> "
                                 f'<span style="color:#666">({html.escape(ind.unit)})</span>')
        return table_html(shown, max_rows=50, index=True, headers=heads)

    def __repr__(self) -> str:
        c = self.city()
        parts = "; ".join(f"{r.indicator_id} {r.measure:.1f} {r.unit} ({r.status})"
                          if np.isfinite(r.measure) else f"{r.indicator_id} n/a"
                          for r in c.itertuples())
        return f"<geoplan IndicatorResult: {parts}>"

    def _repr_html_(self) -> str:
        cols = ["indicator_id", "clause", "title_zh", "measure", "unit", "target",
                "progress_percent", "status_zh", "note"]
        df = self.city()[cols].copy()
        df["measure"] = df["measure"].round(2)
        df["progress_percent"] = df["progress_percent"].round(1)
        method = (f' <span style="color:#666">({html.escape(str(self.townships["method"].iloc[0]))})'
                  "</span>" if len(self.townships) and "method" in self.townships.columns else "")
        return ("<p><b>geoplan indicators 规划指标</b> — 全市 city</p>" + table_html(df)
                + f"<p><b>分乡镇 by township</b>{method}</p>" + self._by_township_html()
                + '<p style="color:#666"><code>.table</code> (long) and <code>.wide()</code> '
                "(township × indicator) are the plain DataFrames.</p>")

    def map(self, **options: Any) -> Any:
        """A folium choropleth by township: one layer per indicator, one shown at a time.

        Each indicator is an overlay of the layer control (the basemap is the
        base layer: changing it leaves the choropleth drawn); switching one
        indicator on switches the others off. The legend names the indicator
        shown (Chinese and English) with its classes, unit, lowest and
        highest value: a percentage on 0–100 %, a length on 0 to a round
        number at or above the largest township's.

        ``options`` choose the background as for :func:`geoplan.maps.result_map`:
        ``basemap`` (default OpenStreetMap; a name or a tile URL template, not
        Amap), ``tk``, ``attribution``, ``offline`` (no basemap: no request at
        all). Leaflet is inlined, so the layers draw with no network.
        """
        import folium

        m = _maps.base_map(_maps.bounds_lonlat(self.townships), title="规划指标 Plan indicators",
                           **options)
        t = self.townships
        groups = []
        for ind in self.targets.indicators:
            if ind.id not in t.columns:
                continue
            vals = t[ind.id].to_numpy(dtype=float)
            if not np.isfinite(vals).any():
                continue
            top = 100.0 if ind.unit == "%" else _maps.nice_ceiling(float(np.nanmax(vals)))
            colours = _maps.ramp(vals, 0, top)
            name = f"{ind.title_zh} {ind.title_en} ({ind.unit})"
            g = folium.FeatureGroup(name=name, overlay=True, show=not groups).add_to(m)
            tips = [f"<b>{_maps.esc(r['township'])}</b><br>{_maps.esc(ind.title_zh)} / "
                    f"{_maps.esc(ind.title_en)}: "
                    f"{'无数据 n/a' if not np.isfinite(v) else f'{v:.1f} {_maps.esc(ind.unit)}'}"
                    f"<br><i>{_maps.esc(r['method'])}</i>"
                    for (_, r), v in zip(t.iterrows(), vals, strict=True)]
            _maps.add_polygons(g, t, fill=colours, tooltips=tips)
            _maps.ramp_legend(m, f"{ind.title_zh} · {ind.title_en}", ind.unit, vals, 0, top,
                              layer=g)
            groups.append(g)
        if len(t) and "method" in t.columns:
            _maps.legend(m, "乡镇范围 Township areas", [], note=str(t["method"].iloc[0]))
        return _maps.finish(m, exclusive=groups)

    def to_files(self, out_dir: str | os.PathLike[str], *, map_html: bool = True,
                 **map_options: Any) -> list[Path]:
        """Write the indicator tables, layer, map and summary into ``out_dir``, atomically.

        Writes ``indicators.csv`` (long), ``indicators_wide.csv``,
        ``indicators.gpkg`` (township areas with measures), ``map.html`` and
        ``summary.json``.

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
        return write_outputs(
            out_dir, csv={"indicators.csv": self.table,
                          "indicators_wide.csv": self.wide().reset_index()},
            gpkg={"townships": self.townships}, gpkg_name="indicators.gpkg",
            summary=self.summary, map_html=(lambda: self.map(**map_options)) if map_html else None)


def _read_extra(roads: gpd.GeoDataFrame | str | os.PathLike[str], ws: Workspace) -> tuple[
        gpd.GeoDataFrame, str]:
    if isinstance(roads, gpd.GeoDataFrame):
        g, src = roads, str(roads.attrs.get("source", "(GeoDataFrame)"))
    else:
        g, src = read_sites(roads), str(roads)
    if g.crs is None:
        raise SiteInputError(f"{src}: the project roads have no CRS; give them one")
    g = g.to_crs(ws.crs)
    empty = (g.geometry.isna() | g.geometry.is_empty).to_numpy()
    if empty.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(empty)[:10])
        raise SiteInputError(f"{src}: {int(empty.sum())} project road(s) have no geometry (row "
                             f"{rows}); give each a line or remove the row")
    if "status" in g.columns:  # the same status vocabulary as the road layer (新建 → new)
        g = g.copy()
        g["status"] = apply_values(g["status"], vocabulary="status")[0]
    bad = ~np.isin(shapely.get_type_id(g.geometry.to_numpy()), [1, 5])
    if bad.any():
        raise SiteInputError(f"{src}: {int(bad.sum())} project road(s) are not lines; give "
                             "road centrelines")
    return g, src


def _understood(where: Any, kind: str) -> bool:
    """Whether every field ``where`` reads has values geoplan reads for certain.

    Numbers and fields with a vocabulary (status, surface, level, yes/no) are
    read into known values or become missing (then undecided); free text is
    compared as written, so a filter on it that selects nothing may only have
    missed the delivery's wording. A zero is measured only in the first case.
    """
    from ..kinds import KINDS

    fields = {f.name: f for f in KINDS[kind].fields}
    return all(name in fields and (fields[name].vocab is not None
                                   or fields[name].type in ("int", "float"))
               for name in where.fields)


def _selected_nothing(ind: Indicator, data: pd.DataFrame, undecided: np.ndarray) -> str:
    """Why an indicator whose filter selected nothing is not available (never 0)."""
    assert ind.where is not None
    found = "; ".join(f"{f} holds {describe_values(data[f])}" for f in sorted(ind.where.fields)
                      if f in data.columns)
    return (f"where {ind.where.text!r} selected none of the {len(data)} feature(s) "
            f"({int(undecided.sum())} undecided: field empty or not understood); {found}. "
            "Map the values (values.<field> in geoplan.toml) or fix the data: not available, "
            f"not 0 / 筛选条件未选中任何要素（{found}），视为无数据而非0")


def indicators(
    workspace: Workspace | str | os.PathLike[str],
    *,
    targets: Targets | str | os.PathLike[str] = "yining-2025",
    townships: gpd.GeoDataFrame | None = None,
    project_roads: gpd.GeoDataFrame | str | os.PathLike[str] | None = None,
    coverage_result: CoverageResult | None = None,
    only: Sequence[str] | None = None,
) -> IndicatorResult:
    """Compute the plan indicators by township and for the city against their targets.

    Parameters
    ----------
    workspace
        A :class:`~geoplan.Workspace` or a path.
    targets
        Targets file (name or path) holding the ``[[indicators]]``.
    townships
        Real township boundaries (a ``township`` field); default: approximate
        areas from the villages (see :func:`township_areas`).
    project_roads
        Road lines from the project library (e.g. ``layers/batches/proposed_roads.gpkg``)
        counted in the road-length indicators on top of the ``road`` layer,
        by their ``status`` field; the note says how many.
    coverage_result
        A coverage analysis to reuse for the village-coverage indicators.
    only
        Indicator ids to compute (default: all).

    Returns
    -------
    IndicatorResult
    """
    started = _dt.datetime.now(_dt.UTC)
    ws = as_workspace(workspace)
    tg = load_targets(targets)
    inds = _chosen(tg, only)
    vil = village_frame(ws)
    notes: list[str] = []
    extra: gpd.GeoDataFrame | None = None
    extra_src = None
    if project_roads is not None:
        extra, extra_src = _read_extra(project_roads, ws)
    areas = township_areas(ws, townships, extent_of=[extra] if extra is not None else [])
    run = _Run(ws=ws, vil=vil, areas=areas, names=list(areas["township"]), extra=extra,
               extra_src=extra_src, cov=_coverage_for(ws, tg, inds, coverage_result))
    for ind in inds:
        _MEASURES[ind.measure](run, ind)
    table = _table(run.rows, inds)
    areas_out = areas.copy()
    population = vil.groupby("township")["population"].sum(min_count=1)
    areas_out["population"] = areas_out["township"].map(population).astype(float)
    for iid, s in run.per_area.items():
        areas_out[iid] = areas_out["township"].map(s).astype(float)
    city_rows = table[table["level"] == "city"]
    summary = {
        "analysis": "indicators",
        "notes": notes,
        "township_areas": str(areas["method"].iloc[0]) if len(areas) else None,
        "city": [{k: clean_number(v) for k, v in r.items()}
                 for r in city_rows.to_dict(orient="records")],
        "not_available": city_rows.loc[city_rows["status"] == "not_available",
                                       "indicator_id"].tolist(),
        "project_roads": extra_src,
        "targets": tg.provenance(),
        **base_summary(ws, ["village", "road", "power_line", "facility", "village_boundary"],
                       started),
    }
    return IndicatorResult(table=table, townships=areas_out, coverage=run.cov, summary=summary,
                           targets=tg, workspace=ws, notes=notes)


def _chosen(tg: Targets, only: Sequence[str] | None) -> list[Indicator]:
    """The indicators to compute: all of ``tg``, or those named in ``only`` (in file order)."""
    inds: list[Indicator] = list(tg.indicators)
    if only is not None:
        known = {i.id for i in inds}
        unknown = [o for o in only if o not in known]
        if unknown:
            raise KeyError(f"unknown indicator(s) {unknown}; known: {', '.join(sorted(known))}")
        inds = [i for i in inds if i.id in set(only)]
    return inds


def _coverage_for(ws: Workspace, tg: Targets, inds: list[Indicator],
                  given: CoverageResult | None) -> CoverageResult | None:
    """The coverage analysis the village-coverage indicators read: ``given``, or one run now.

    ``None`` when no indicator needs one or the workspace has no facility layer.
    """
    need_kinds = sorted({i.facility for i in inds if i.measure == "village_coverage" and
                         i.facility})
    if given is None and need_kinds and ws.vector("facility") is not None:
        return coverage(ws, kinds=need_kinds, targets=tg)
    return given


def _status(ind: Indicator, level: str, measure: float,
            available: bool) -> tuple[str, float, float]:
    """The status of one measure against the indicator's target.

    Returns the status with the measure and the target as reported (``nan``
    where there is none to show).
    """
    target = ind.target.value if ind.target is not None else np.nan
    if not available or not np.isfinite(measure):
        return "not_available", np.nan, target
    if ind.target is None:
        return "info", measure, target
    if level == "township" and ind.scope == "city":
        return "share_of_city", measure, np.nan
    return ("met" if measure >= target - 1e-9 else "below_target"), measure, target


@dataclass
class _Run:
    """What the indicators are measured on, and the rows and township measures so far."""

    ws: Workspace
    vil: gpd.GeoDataFrame
    areas: gpd.GeoDataFrame
    names: list[str]
    extra: gpd.GeoDataFrame | None
    extra_src: str | None
    cov: CoverageResult | None
    rows: list[dict[str, Any]] = field(default_factory=list)
    per_area: dict[str, pd.Series] = field(default_factory=dict)

    def project_roads_for(self, ind: Indicator) -> gpd.GeoDataFrame | None:
        """The project roads when they count in ``ind`` (a length of the ``road`` layer)."""
        return self.extra if ind.layer == "road" else None

    def add(self, ind: Indicator, level: str, area: str, measure: float, n: int | None,
            note: str, available: bool = True) -> None:
        """Append the row of one indicator in one area (city or township)."""
        status, measure, target = _status(ind, level, measure, available)
        progress = (100.0 * measure / target if np.isfinite(measure) and np.isfinite(target)
                    and target > 0 else np.nan)
        self.rows.append({
            "indicator_id": ind.id, "clause": ind.clause, "title_zh": ind.title_zh,
            "title_en": ind.title_en, "level": level, "area": area, "measure": measure,
            "unit": ind.unit, "target": target, "progress_percent": progress,
            "status": status, "status_zh": _STATUS_ZH[status], "n": n, "note": note,
            "source": ind.target.source if ind.target is not None else "",
            "verified": ind.target.verified if ind.target is not None else None,
        })

    def not_available(self, ind: Indicator, why: str) -> None:
        """Record ``ind`` as not available, city-wide and in every township, saying why."""
        self.add(ind, "city", CITY, np.nan, None, why, available=False)
        for a in self.names:
            self.add(ind, "township", a, np.nan, None, why, available=False)
        self.per_area[ind.id] = pd.Series(np.nan, index=self.names)


# ------------------------------------------------------------------- length_km


def _length_km(run: _Run, ind: Indicator) -> None:
    """Kilometres of line of a layer (with the project roads for ``road``), city and townships."""
    assert ind.layer is not None
    layer = run.ws.vector(ind.layer)
    roads = run.project_roads_for(ind)
    frames = []
    if layer is not None:
        frames.append(layer.gdf)
    if roads is not None:
        frames.append(roads)
    if not frames:
        run.not_available(ind, f"no {ind.layer!r} layer in the workspace / 无{ind.layer}图层")
        return
    if roads is not None:
        _check_project_road_fields(roads, run.extra_src, ind)
    missing = sorted({f for w in (ind.where, ind.available_if) if w is not None
                      for fr in frames for f in w.missing_fields(fr.columns)})
    if missing:
        run.not_available(ind, f"{ind.layer} lacks field(s) {', '.join(missing)} / "
                               f"缺少字段 {', '.join(missing)}")
        return
    data = _line_data(ind, frames, run.ws.crs)
    lit = layer.literals if layer is not None else literal_readers(ind.layer)
    if ind.available_if is not None and not ind.available_if.mask(data, literals=lit).any():
        run.not_available(ind, f"the {ind.layer} layer holds no feature matching "
                               f"{ind.available_if.text!r}: not mapped, not 0 / 图层中无此类"
                               "要素，视为无数据而非0")
        return
    picked = _pick_lines(run, ind, ind.layer, data, lit)
    if picked is not None:
        _add_lengths(run, ind, *picked, lit)


def _check_project_road_fields(roads: gpd.GeoDataFrame, src: str | None,
                               ind: Indicator) -> None:
    """Refuse project roads that lack a field the indicator's filters read."""
    lacking = sorted({f for w in (ind.where, ind.available_if) if w is not None
                      for f in w.missing_fields(roads.columns)})
    if lacking:
        raise SiteInputError(
            f"{src}: the project roads lack the field(s) {', '.join(lacking)} "
            f"that indicator {ind.id!r} reads (where {ind.where.text if ind.where else ''!r}); "
            "add them, e.g. status = new / proposed / rebuilt")


def _line_data(ind: Indicator, frames: list[gpd.GeoDataFrame], crs: Any) -> gpd.GeoDataFrame:
    """The lines of ``frames`` in one frame, with the fields the indicator's filters read."""
    fields = set().union(*(w.fields for w in (ind.where, ind.available_if) if w is not None))
    return gpd.GeoDataFrame(
        pd.concat([pd.DataFrame({c: f[c].to_numpy() for c in sorted(fields)} |
                                {"geometry": f.geometry.to_numpy()})
                   for f in frames], ignore_index=True),
        geometry="geometry", crs=crs)


def _pick_lines(run: _Run, ind: Indicator, layer: str, data: gpd.GeoDataFrame,
                lit: Any) -> tuple[gpd.GeoDataFrame, str] | None:
    """The lines ``where`` selects and a note on those it cannot decide.

    ``None`` when it selects nothing it could have selected: the indicator is
    then recorded as not available.
    """
    if ind.where is None:
        return data, ""
    picked, undecided = ind.where.evaluate(data, literals=lit)
    if not picked.any() and len(data) and (
            undecided.any() or not _understood(ind.where, layer)):
        run.not_available(ind, _selected_nothing(ind, data, undecided))
        return None
    if not undecided.any():
        return data[picked], ""
    km = float(data.geometry[undecided].length.sum()) / 1000.0
    return data[picked], (f"; {int(undecided.sum())} feature(s) ({km:.1f} km) not "
                          f"counted: {', '.join(sorted(ind.where.fields))} empty or not "
                          f"understood, so {ind.where.text!r} cannot decide them — the "
                          f"figure is a lower bound / {int(undecided.sum())}个要素字段为空"
                          "或无法识别，未计入，数值为下限")


def _add_lengths(run: _Run, ind: Indicator, sel: gpd.GeoDataFrame, unknown_note: str,
                 lit: Any) -> None:
    """Record the selected lines' length city-wide, in each township and outside them."""
    total_km = float(sel.geometry.length.sum()) / 1000.0
    by_area = lengths_by_area(sel.geometry, run.areas) / 1000.0
    outside = total_km - float(by_area.sum())
    note = f"{len(sel)} feature(s) of {ind.layer}"
    roads = run.project_roads_for(ind)
    if roads is not None:
        n_extra = (int(ind.where.mask(roads, literals=lit).sum()) if ind.where is not None
                   else len(roads))
        note += f", incl. {n_extra} project road(s) from {run.extra_src}"
    run.add(ind, "city", CITY, total_km, len(sel), note + unknown_note)
    for a, v in by_area.items():
        run.add(ind, "township", str(a), float(v), None, "length inside the township area")
    if outside > 1e-6:
        run.add(ind, "township", OUTSIDE, outside, None, "length outside the given townships")
    run.per_area[ind.id] = by_area


# ------------------------------------------------------------ village_coverage


def _coverage_unavailable(cov: CoverageResult, ind: Indicator) -> str | None:
    """Why the coverage result cannot give ``ind`` (``None`` when it can)."""
    if ind.facility not in cov.kinds:
        return f"the coverage result given has no {ind.facility!r} / 所给覆盖分析未含此类设施"
    row = cov.by_kind.loc[cov.by_kind["kind"] == ind.facility]
    if "available" in row.columns and not bool(row["available"].iloc[0]):
        return str(row["note"].iloc[0])
    if ind.basis == "network" and cov.network is None:
        return "no road network for network distances / 无路网"
    return None


def _weights(frame: pd.DataFrame, ind: Indicator) -> np.ndarray:
    """Each village's weight in a share: 1, or its population (0 where unknown)."""
    return (np.ones(len(frame)) if ind.weight == "villages" else
            frame["population"].where(np.isfinite(frame["population"]), 0.0).to_numpy())


def _village_coverage(run: _Run, ind: Indicator) -> None:
    """The share of villages (or people) within the service distance of a facility kind."""
    cov = run.cov
    if cov is None:
        run.not_available(ind, "no facility layer / 无设施图层")
        return
    why = _coverage_unavailable(cov, ind)
    if why is not None:
        run.not_available(ind, why)
        return
    t = cov.table[cov.table["kind"] == ind.facility]
    ok = t[f"covered_{ind.basis}"].astype(bool)
    w = _weights(t, ind)
    d = cov.targets.service_distance(ind.facility).distance_m \
        if ind.facility in cov.targets.service else None
    dist_note = (f"within {d.value:g} m ({'verified' if d.verified else 'placeholder'}) "
                 f"{'along roads' if ind.basis == 'network' else 'straight line'}"
                 if d is not None else "")
    run.add(ind, "city", CITY, share(float((w * ok).sum()), float(w.sum())), len(t),
            f"{int(ok.sum())} of {len(t)} villages {dist_note}")
    s = {}
    for a in run.names:
        m = (t["township"] == a).to_numpy()
        s[a] = share(float((w[m] * ok[m]).sum()), float(w[m].sum()))
        run.add(ind, "township", a, s[a], int(m.sum()),
                f"{int(ok[m].sum())} of {int(m.sum())} villages")
    run.per_area[ind.id] = pd.Series(s)


# --------------------------------------------------------------- village_share


def _villages_in_scope(run: _Run, ind: Indicator) -> gpd.GeoDataFrame | None:
    """The villages a share is taken over (``where``), or ``None`` once marked not available."""
    vil = run.vil
    if ind.field not in vil.columns or vil[ind.field].isna().all():
        run.not_available(ind, f"the village layer has no {ind.field!r} field (or it is "
                               f"empty): not available, not 0 / 村庄图层无 {ind.field} 字段")
        return None
    if ind.where is None:
        return vil
    if ind.where.missing_fields(vil.columns):
        run.not_available(ind, f"the village layer lacks "
                               f"{', '.join(ind.where.missing_fields(vil.columns))}")
        return None
    vlayer = run.ws.vector("village")
    picked, undecided = ind.where.evaluate(
        vil, literals=vlayer.literals if vlayer is not None else None)
    if not picked.any() and len(vil) and (
            undecided.any() or not _understood(ind.where, "village")):
        run.not_available(ind, _selected_nothing(ind, vil, undecided))
        return None
    return vil[picked]


def _village_share(run: _Run, ind: Indicator) -> None:
    """The share of villages (or people) whose yes/no ``field`` says yes; unknowns left out."""
    assert ind.field is not None
    v = _villages_in_scope(run, ind)
    if v is None:
        return
    flag = v[ind.field].map(_truth)
    known = flag.notna().to_numpy()
    yes = (flag == True).to_numpy()  # noqa: E712 (object column)
    w = _weights(v, ind)
    unk = int((~known).sum())
    extra_note = f"; {unk} village(s) with unknown {ind.field} left out" if unk else ""
    run.add(ind, "city", CITY, share(float(w[yes].sum()), float(w[known].sum())), len(v),
            f"{int(yes.sum())} of {int(known.sum())} villages{extra_note}")
    s = {}
    for a in run.names:
        m = (v["township"] == a).to_numpy()
        s[a] = share(float(w[m & yes].sum()), float(w[m & known].sum()))
        run.add(ind, "township", a, s[a], int(m.sum()),
                f"{int((m & yes).sum())} of {int((m & known).sum())} villages"
                if (m & known).any() else "no village in scope / 无适用村庄")
    run.per_area[ind.id] = pd.Series(s)


_MEASURES: dict[str, Callable[[_Run, Indicator], None]] = {
    "length_km": _length_km,
    "village_coverage": _village_coverage,
    "village_share": _village_share,
}
"""How each measure of :data:`geoplan.analysis.targets.MEASURES` is computed."""


def _table(rows: list[dict[str, Any]], inds: list[Indicator]) -> pd.DataFrame:
    """The long table: indicators in file order, the city row first, then the townships."""
    table = pd.DataFrame(rows)
    table["n"] = table["n"].astype("Int64")
    # city rows first within each indicator, then townships in area order
    table["_lv"] = (table["level"] != "city").astype(int)
    table["_ord"] = table["indicator_id"].map({i.id: n for n, i in enumerate(inds)})
    return table.sort_values(["_ord", "_lv"], kind="stable").drop(columns=["_lv", "_ord"]) \
        .reset_index(drop=True)


def _truth(v: Any) -> bool | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("1", "true", "t", "yes", "y", "是", "已治理"):
        return True
    if s in ("0", "false", "f", "no", "n", "否", "未治理", ""):
        return False
    return None
