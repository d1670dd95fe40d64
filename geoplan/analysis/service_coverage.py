"""Service coverage of villages by facility kind (clauses 八, 九, 十, 十二, 十三).

For each facility kind (clinic, waste_point, shelter, logistics,
service_centre), which villages — and what share of the population — lie
within the kind's service distance of a facility, measured two ways:

- **straight line** from the village to the nearest facility of the kind;
- **along the road network**: the village and every facility are attached to
  the nearest point on the nearest road segment (the snap distance is added as
  a connector at both ends and reported), and one multi-source Dijkstra per
  facility kind gives every village its distance to the nearest facility.

A village is represented by its point (a polygon village by a point on its
surface). Service distances come from the targets file with their source and
a ``verified`` flag; most are placeholders and say so.

Examples
--------
>>> import geoplan
>>> cov = geoplan.coverage("layers")                       # doctest: +SKIP
>>> cov.by_kind[["kind", "distance_m", "share_villages_network"]]  # doctest: +SKIP
>>> cov.uncovered("clinic")[["name", "township"]]          # doctest: +SKIP
>>> cov.to_files("out/coverage")                           # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..core import STATUS_COLOURS
from ..errors import WorkspaceError
from ..rules.pack import Threshold
from ..vocab import describe_values
from ..workspace import Workspace
from . import _maps
from ._common import as_workspace, network_for, share, table_html, village_frame
from ._output import base_summary, clean_number, write_outputs
from .network import AttachedNetwork, RoadNetwork
from .targets import FACILITY_KINDS, ServiceDistance, Targets, TargetsError, load_targets

__all__ = ["CoverageResult", "coverage"]

_STATUS_ZH = {"covered": "覆盖", "too_far": "超出服务距离", "no_route": "无道路连通",
              "off_network": "远离道路", "no_facility": "无此类设施", "not_checked": "未计算"}
# the check's palette: covered along roads reads as pass, straight-line only as warn
_COVERED, _STRAIGHT_ONLY, _NOT_COVERED = (STATUS_COLOURS["pass"], STATUS_COLOURS["warn"],
                                          STATUS_COLOURS["fail"])


@dataclass
class CoverageResult:
    """Service coverage of villages by facility kind.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per village × facility kind: ``village_fid, village, township,
        population, kind, label_zh, distance_m, straight_m, nearest_facility,
        nearest_facility_fid, network_m, village_snap_m, covered_straight,
        covered_network, status_network, status_zh``. ``network_m`` is NaN when
        no route exists (``status_network`` says why).
    by_kind : pandas.DataFrame
        One row per kind: service distance with its source and verified flag,
        facility counts, villages and population covered (straight, network),
        shares in percent, and the villages with none.
    by_township : pandas.DataFrame
        Kind × township: villages, villages covered, population shares.
    villages : geopandas.GeoDataFrame
        The village layer (points), index kept, with ``snap_m`` and per kind
        ``<kind>_straight_m``, ``<kind>_network_m``, ``<kind>_covered_straight``,
        ``<kind>_covered_network``.
    facilities : geopandas.GeoDataFrame
        The facilities of the analysed kinds with their ``snap_m`` and whether
        they are on the network.
    connectors : geopandas.GeoDataFrame
        The snap connectors of villages and facilities (``group``, ``snap_m``).
    network : RoadNetwork or None
        The road network used (``None`` without a road layer).
    summary : dict
        Parameters with sources, shares, notes and provenance (``summary.json``).
    """

    table: pd.DataFrame
    by_kind: pd.DataFrame
    by_township: pd.DataFrame
    villages: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    connectors: gpd.GeoDataFrame
    network: RoadNetwork | None
    summary: dict[str, Any]
    targets: Targets
    workspace: Workspace
    notes: list[str] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        """The facility kinds analysed."""
        return self.by_kind["kind"].tolist()

    def uncovered(self, kind: str, basis: str = "network") -> gpd.GeoDataFrame:
        """Villages with no facility of ``kind`` within its service distance.

        ``basis`` is ``"network"`` (along roads; villages with no route count
        as uncovered) or ``"straight"``.
        """
        if kind not in self.kinds:
            raise KeyError(f"{kind!r} was not analysed; kinds: {', '.join(self.kinds)}")
        if basis not in ("network", "straight"):
            raise ValueError("basis must be 'network' or 'straight'")
        col = f"{kind}_covered_{basis}"
        return self.villages[~self.villages[col].astype(bool)]

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{r.kind} {r.share_villages_network:.0f}%/{r.share_villages_straight:.0f}%"
            if np.isfinite(r.share_villages_network) else
            f"{r.kind} –/{r.share_villages_straight:.0f}%"
            for r in self.by_kind.itertuples())
        return (f"<geoplan CoverageResult: {len(self.villages)} villages × {len(self.by_kind)} "
                f"facility kinds; villages covered network/straight: {parts}>")

    def _repr_html_(self) -> str:
        import html

        cols = ["kind", "label_zh", "distance_m", "verified", "n_facilities",
                "share_villages_straight", "share_villages_network",
                "share_population_straight", "share_population_network", "n_none_network"]
        df = self.by_kind[cols].copy()
        for c in cols[5:9]:
            df[c] = df[c].round(1)
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return ("<p><b>geoplan coverage 设施服务覆盖</b> — "
                f"{len(self.villages)} villages 个村庄; shares in % 比例为百分比</p>"
                + table_html(df) + (f"<ul>{notes}</ul>" if notes else ""))

    # ------------------------------------------------------------------ outputs

    def map(self, kind: str | None = None, **options: Any) -> Any:
        """A folium map: roads, facilities, and villages coloured by coverage (one layer per kind).

        ``options`` choose the background as for :func:`geoplan.maps.result_map`:
        ``basemap`` (default OpenStreetMap; a name or a tile URL template, not
        Amap), ``tk``, ``attribution``, ``offline`` (no basemap: no request at
        all). Leaflet is inlined, so the layers draw with no network.
        """
        import folium

        net_segs = self.network.segments if self.network is not None else None
        m = _maps.base_map(_maps.bounds_lonlat(self.villages, self.facilities),
                           title="设施服务覆盖 Service coverage", **options)
        if net_segs is not None and len(net_segs):
            g = folium.FeatureGroup(name="道路 Roads", show=True).add_to(m)
            _maps.add_lines(g, net_segs, color=["#444" if h else "#b58900"
                                                for h in net_segs["hardened"]], weight=2)
        kinds = [kind] if kind else self.kinds
        village_layers = []
        for i, k in enumerate(kinds):
            sd = self.targets.service.get(k)
            lab = f"{sd.label_zh} {sd.label_en}" if sd else k
            gv = folium.FeatureGroup(name=f"村庄覆盖 Villages: {lab}", show=i == 0).add_to(m)
            village_layers.append(gv)
            col_n, col_s = f"{k}_covered_network", f"{k}_covered_straight"
            colors = [_COVERED if n else (_STRAIGHT_ONLY if s else _NOT_COVERED)
                      for n, s in zip(self.villages[col_n], self.villages[col_s], strict=True)]
            net = self.villages[col_n].fillna(False).astype(bool).to_numpy()
            straight = self.villages[col_s].fillna(False).astype(bool).to_numpy()
            n_net, n_straight = int(net.sum()), int((straight & ~net).sum())
            within = f" {sd.distance_m.value:,.0f} m" if sd else ""
            _maps.legend(m, f"村庄覆盖 Villages: {lab}", [
                (_COVERED, f"路网距离{within}内 within{within} along roads: {n_net}"),
                (_STRAIGHT_ONLY, f"仅直线距离内 within{within} in a straight line only: "
                                 f"{n_straight}"),
                (_NOT_COVERED, f"未覆盖 not covered: {len(self.villages) - n_net - n_straight}")],
                layer=gv)
            tips = [f"<b>{_maps.esc(r['name'])}</b> ({_maps.esc(r['township'])})<br>"
                    f"{_maps.esc(lab)}: straight 直线 {_maps.esc(r[f'{k}_straight_m'])} m, "
                    f"network 路网 {_maps.esc(r[f'{k}_network_m'])} m<br>"
                    f"population 人口 {_maps.esc(r['population'])}"
                    for _, r in self.villages.iterrows()]
            _maps.add_points(gv, self.villages, color=colors, radius=7, tooltips=tips)
            fac = self.facilities[self.facilities["kind"] == k]
            gf = folium.FeatureGroup(name=f"设施 Facilities: {lab}", show=i == 0).add_to(m)
            _maps.add_points(gf, fac, color="#2b83ba", radius=4,
                             tooltips=[f"{_maps.esc(n)} ({_maps.esc(lab)})" for n in
                                       fac.get("name", pd.Series([""] * len(fac)))])
        if len(self.connectors):
            gc = folium.FeatureGroup(name="接入线 Snap connectors", show=False).add_to(m)
            _maps.add_lines(gc, self.connectors, color="#777", weight=1, dash="4")
        _maps.legend(m, "设施与道路 Facilities and roads", [
            ("#2b83ba", f"设施 facilities: {len(self.facilities)}"),
            ("#444", "硬化路 hardened road"), ("#b58900", "非硬化路 unpaved road")])
        return _maps.finish(m, exclusive=village_layers)

    def to_files(self, out_dir: str | os.PathLike[str], *, map_html: bool = True,
                 **map_options: Any) -> list[Path]:
        """Write the coverage tables, layers, map and summary into ``out_dir``, atomically.

        Writes ``coverage.csv`` (village × kind), ``coverage_by_kind.csv``,
        ``coverage_by_township.csv`` (UTF-8 BOM), ``coverage.gpkg`` (villages,
        facilities, connectors, roads), ``map.html`` and ``summary.json`` —
        atomically (temporary folder, then :func:`os.replace`).

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
        by_kind = self.by_kind.copy()
        by_kind["villages_none_network"] = by_kind["villages_none_network"].map("; ".join)
        by_kind["villages_none_straight"] = by_kind["villages_none_straight"].map("; ".join)
        layers = {"villages": self.villages, "facilities": self.facilities,
                  "connectors": self.connectors}
        if self.network is not None:
            layers["roads"] = self.network.segments
        return write_outputs(
            out_dir,
            csv={"coverage.csv": self.table, "coverage_by_kind.csv": by_kind,
                 "coverage_by_township.csv": self.by_township},
            gpkg=layers, gpkg_name="coverage.gpkg", summary=self.summary,
            map_html=(lambda: self.map(**map_options)) if map_html else None)


def _service(targets: Targets, kind: str, distances: Mapping[str, float] | None) -> ServiceDistance:
    if distances and kind in distances:
        base = targets.service.get(kind)
        v = float(distances[kind])
        if not np.isfinite(v) or v < 0:
            raise TargetsError(f"service distance for {kind!r} must be a non-negative number, "
                               f"got {distances[kind]!r}")
        return ServiceDistance(
            kind=kind, distance_m=Threshold(v, "m", "given by the caller", False),
            label_zh=base.label_zh if base else kind, label_en=base.label_en if base else kind,
            clause=base.clause if base else "")
    return targets.service_distance(kind)


def coverage(
    workspace: Workspace | str | os.PathLike[str],
    *,
    kinds: Sequence[str] | None = None,
    targets: Targets | str | os.PathLike[str] = "yining-2025",
    distances: Mapping[str, float] | None = None,
    max_snap_m: float | None = None,
    network: RoadNetwork | None = None,
) -> CoverageResult:
    """Which villages, and what share of people, are within reach of each facility kind.

    Parameters
    ----------
    workspace
        A :class:`~geoplan.Workspace` or a path to open one. Needs ``village``
        and ``facility`` layers; with a ``road`` layer, network distances too.
    kinds
        Facility kinds to analyse (default: clinic, waste_point, shelter,
        logistics, service_centre — each needs a ``[service.<kind>]`` table).
    targets
        Targets file (name or path) with the service distances and network parameters.
    distances
        Override service distances in metres by kind (reported as given by the
        caller, unverified).
    max_snap_m
        Override the largest snap distance to the road network.
    network
        A prebuilt :class:`RoadNetwork` (default: built from the road layer).

    Returns
    -------
    CoverageResult
    """
    started = _dt.datetime.now(_dt.UTC)
    ws = as_workspace(workspace)
    tg = load_targets(targets)
    kinds = list(kinds) if kinds is not None else list(FACILITY_KINDS)
    if not kinds:
        raise ValueError("kinds is empty: name at least one facility kind")
    services = {k: _service(tg, k, distances) for k in kinds}
    vil = village_frame(ws)
    fac_all, unread, fac = _facilities(ws, kinds)
    notes: list[str] = []
    unavailable = _unavailable_kinds(kinds, fac, fac_all, unread, notes)

    snap_limit = float(max_snap_m) if max_snap_m is not None else tg.network.max_snap_m.value
    net, why = (network, None) if network is not None else network_for(ws, tg)
    if why:
        notes.append(why)
    fac = fac.reset_index(drop=True)
    attached = _attach(net, vil, fac, snap_limit, notes)

    pop = vil["population"].to_numpy(dtype=float)
    pop_known = np.isfinite(pop)
    if (~pop_known).any():
        notes.append(f"{int((~pop_known).sum())} village(s) without population: counted in "
                     "village shares, left out of population shares")
    wide = vil.copy()
    if attached is not None:
        wide["snap_m"] = attached.snap_m["village"]
        wide["on_network"] = attached.attached["village"]
    fac["snap_m"] = attached.snap_m["facility"] if attached is not None else np.nan
    fac["on_network"] = attached.attached["facility"] if attached is not None else False
    rows: list[pd.DataFrame] = []
    summary_rows: list[dict[str, Any]] = []
    for k in kinds:
        table_k, summary_k = _one_kind(k, services[k], vil, fac, attached, unavailable, wide)
        rows.append(table_k)
        summary_rows.append(summary_k)
    table = pd.concat(rows, ignore_index=True)
    by_kind = _by_kind(summary_rows)
    by_township = _by_township(table, attached is not None)
    connectors = _connectors(attached, vil, fac, ws.crs)

    summary = {
        "analysis": "coverage",
        "notes": notes,
        "kinds": [{k: clean_number(v) for k, v in r.items()} for r in summary_rows],
        "network": _network_summary(net, tg, snap_limit, max_snap_m),
        "villages": len(vil),
        "population_known": float(pop[pop_known].sum()),
        "targets": tg.provenance(),
        "unverified_parameters": [f"service.{k}.distance_m" for k in kinds
                                  if not services[k].distance_m.verified],
        **base_summary(ws, ["village", "facility", "road"], started),
    }
    return CoverageResult(table=table, by_kind=by_kind, by_township=by_township, villages=wide,
                          facilities=fac, connectors=connectors, network=net, summary=summary,
                          targets=tg, workspace=ws, notes=notes)


def _facilities(ws: Workspace, kinds: list[str]) -> tuple[
        gpd.GeoDataFrame, Counter[str] | None, gpd.GeoDataFrame]:
    """The facility layer's features, its unreadable kind values and its ``kinds`` as points.

    Returns the features, the kind values that could not be read and the
    facilities of ``kinds``, each as a point.
    """
    flayer = ws.vector("facility")
    if flayer is None:
        raise WorkspaceError(f"the workspace {ws.path} has no 'facility' layer (公共服务设施); "
                             "coverage needs facility points with a kind field (clinic, "
                             "waste_point, shelter, logistics, service_centre)")
    fac_all = flayer.gdf
    unread = flayer.unreadable.get("kind")
    fac = fac_all[fac_all["kind"].isin(kinds)].copy()
    geoms = fac.geometry.to_numpy()
    not_pt = shapely.get_type_id(geoms) != 0
    if not_pt.any():
        geoms = geoms.copy()
        geoms[not_pt] = shapely.point_on_surface(geoms[not_pt])
        fac = fac.set_geometry(gpd.GeoSeries(geoms, index=fac.index, crs=fac.crs))
    return fac_all, unread, fac


def _unavailable_kinds(kinds: list[str], fac: gpd.GeoDataFrame, fac_all: gpd.GeoDataFrame,
                       unread: Counter[str] | None, notes: list[str]) -> dict[str, str]:
    """Kinds with no facility, noted; those the layer may hold unread are not available.

    A kind absent while the layer holds kinds geoplan does not read may be among
    them: its coverage is no measurement (returned with why). A kind simply
    absent covers no village.
    """
    unavailable: dict[str, str] = {}
    for k in kinds:
        if (fac["kind"] == k).any():
            continue
        present = ', '.join(sorted(map(str, fac_all['kind'].dropna().unique()))) or "none"
        if unread:
            # the layer holds kinds geoplan does not read: one of them may be this kind
            unavailable[k] = (
                f"no facility read as {k!r}, but the facility layer holds kinds geoplan does "
                f"not read ({describe_values(None, unreadable=unread)}): not available, "
                f"not 0; map them with values.kind in [layers.facility] / 设施类型无法识别，"
                "视为无数据而非0")
            notes.append(f"WARNING: {unavailable[k]}")
        else:
            notes.append(f"no facility of kind {k!r} in the facility layer: no village is "
                         f"covered for it (present kinds: {present})")
    return unavailable


def _attach(net: RoadNetwork | None, vil: gpd.GeoDataFrame, fac: gpd.GeoDataFrame,
            snap_limit: float, notes: list[str]) -> AttachedNetwork | None:
    """Villages and facilities attached to the road network, noting those off it."""
    if net is None:
        return None
    attached = net.attach({"village": vil.geometry, "facility": fac.geometry},
                          max_snap_m=snap_limit)
    notes.extend(net.notes)
    off_v = int((~attached.attached["village"]).sum())
    off_f = int((~attached.attached["facility"]).sum())
    if off_v:
        notes.append(f"{off_v} village(s) farther than {snap_limit:g} m from any road: "
                     "off the network")
    if off_f:
        notes.append(f"{off_f} facilit(y/ies) farther than {snap_limit:g} m from any road: "
                     "off the network")
    return attached


def _nearest(vil: gpd.GeoDataFrame, fac: gpd.GeoDataFrame, sel: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Each village's straight-line distance to the nearest facility of ``sel``, its fid and name."""
    straight = np.full(len(vil), np.nan)
    near_fid = np.full(len(vil), None, dtype=object)
    near_name = np.full(len(vil), None, dtype=object)
    if len(sel):
        fpts = fac.geometry.to_numpy()[sel]
        (qi, fi), d = STRtree(fpts).query_nearest(vil.geometry.to_numpy(), return_distance=True,
                                                  all_matches=False)
        straight[qi] = d
        near_fid[qi] = fac["fid"].to_numpy()[sel][fi]
        if "name" in fac.columns:
            near_name[qi] = fac["name"].to_numpy()[sel][fi]
    return straight, near_fid, near_name


def _along_roads(attached: AttachedNetwork | None, sel: np.ndarray, n: int,
                 dist_lim: float) -> tuple[np.ndarray, np.ndarray]:
    """Each village's network distance to the nearest facility of ``sel``, and its status."""
    network_m = np.full(n, np.nan)
    status = np.full(n, "not_checked", dtype=object)
    if attached is not None:
        d_net = attached.distances_from("facility", sel)["village"] if len(sel) else \
            np.full(n, np.inf)
        network_m = np.where(np.isfinite(d_net), d_net, np.nan)
        status = np.where(
            ~attached.attached["village"], "off_network",
            np.where(~np.isfinite(d_net), "no_route" if len(sel) else "no_facility",
                     np.where(d_net <= dist_lim, "covered", "too_far"))).astype(object)
    return network_m, status


def _one_kind(k: str, sd: ServiceDistance, vil: gpd.GeoDataFrame, fac: gpd.GeoDataFrame,
              attached: AttachedNetwork | None, unavailable: dict[str, str],
              wide: gpd.GeoDataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The village rows and the summary row of facility kind ``k``; its columns added to ``wide``."""
    dist_lim = sd.distance_m.value
    pop = vil["population"].to_numpy(dtype=float)
    vnames = vil["name"].astype(str).to_numpy()
    sel = np.flatnonzero(fac["kind"].to_numpy() == k)
    straight, near_fid, near_name = _nearest(vil, fac, sel)
    network_m, status = _along_roads(attached, sel, len(vil), dist_lim)
    cov_s = np.isfinite(straight) & (straight <= dist_lim)
    cov_n = status == "covered"
    rows = pd.DataFrame({
        "village_fid": vil["fid"].to_numpy(), "village": vnames,
        "township": vil["township"].to_numpy(), "population": pop,
        "kind": k, "label_zh": sd.label_zh, "label_en": sd.label_en,
        "distance_m": dist_lim, "straight_m": straight,
        "nearest_facility": near_name, "nearest_facility_fid": near_fid,
        "network_m": network_m,
        "village_snap_m": attached.snap_m["village"] if attached is not None else np.nan,
        "covered_straight": cov_s, "covered_network": cov_n,
        "status_network": status,
        "status_zh": [_STATUS_ZH[s] for s in status],
    })
    wide[f"{k}_straight_m"] = straight
    wide[f"{k}_network_m"] = network_m
    wide[f"{k}_covered_straight"] = cov_s
    wide[f"{k}_covered_network"] = cov_n
    return rows, _kind_summary(k, sd, fac.iloc[sel], vnames, pop, cov_s, cov_n,
                               attached is not None, unavailable)


def _kind_summary(k: str, sd: ServiceDistance, fk: gpd.GeoDataFrame, vnames: np.ndarray,
                  pop: np.ndarray, cov_s: np.ndarray, cov_n: np.ndarray, has_net: bool,
                  unavailable: dict[str, str]) -> dict[str, Any]:
    """The ``by_kind`` row of facility kind ``k`` (its facilities ``fk``)."""
    pop_known = np.isfinite(pop)
    n_vil = len(vnames)
    return {
        "kind": k, "label_zh": sd.label_zh, "label_en": sd.label_en, "clause": sd.clause,
        "available": k not in unavailable, "note": unavailable.get(k, ""),
        "distance_m": sd.distance_m.value, "source": sd.distance_m.source,
        "verified": sd.distance_m.verified,
        "n_facilities": len(fk),
        "n_facilities_off_network": int((~fk["on_network"].astype(bool)).sum())
        if has_net else None,
        "max_facility_snap_m": float(np.nanmax(fk["snap_m"])) if has_net and len(fk)
        else np.nan,
        "n_villages": n_vil,
        "villages_covered_straight": int(cov_s.sum()),
        "share_villages_straight": share(cov_s.sum(), n_vil),
        "population_covered_straight": float(pop[cov_s & pop_known].sum()),
        "share_population_straight": share(pop[cov_s & pop_known].sum(), pop[pop_known].sum()),
        "villages_covered_network": int(cov_n.sum()) if has_net else None,
        "share_villages_network": share(cov_n.sum(), n_vil) if has_net else np.nan,
        "population_covered_network": float(pop[cov_n & pop_known].sum()) if has_net
        else np.nan,
        "share_population_network": share(pop[cov_n & pop_known].sum(), pop[pop_known].sum())
        if has_net else np.nan,
        "n_none_network": int((~cov_n).sum()) if has_net else None,
        "n_none_straight": int((~cov_s).sum()),
        "villages_none_network": list(vnames[~cov_n]) if has_net else [],
        "villages_none_straight": list(vnames[~cov_s]),
    }


def _by_kind(summary_rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per kind; the shares of a kind that is not available blanked (no measurement)."""
    by_kind = pd.DataFrame(summary_rows)
    na = ~by_kind["available"].to_numpy(dtype=bool)
    if na.any():  # a share computed from facilities geoplan could not read is no measurement
        for col in [c for c in by_kind.columns if c.startswith(("share_", "villages_covered_",
                                                               "population_covered_"))]:
            by_kind[col] = by_kind[col].astype(object).where(~na, np.nan)
    return by_kind


def _connectors(attached: AttachedNetwork | None, vil: gpd.GeoDataFrame, fac: gpd.GeoDataFrame,
                crs: Any) -> gpd.GeoDataFrame:
    """The snap connectors of villages and facilities (empty without a network)."""
    conn = []
    if attached is not None:
        cv = attached.connectors("village")
        cv["group"] = "village"
        cv["name"] = vil["name"].astype(str).to_numpy()
        cf = attached.connectors("facility")
        cf["group"] = "facility:" + fac["kind"].astype(str).to_numpy()
        cf["name"] = fac["name"].to_numpy() if "name" in fac.columns else None
        conn = [cv, cf]
    connectors = (pd.concat(conn, ignore_index=True) if conn else
                  gpd.GeoDataFrame({"row": [], "snap_m": [], "group": []}, geometry=[],
                                   crs=crs))
    return connectors[connectors.geometry.notna()]


def _network_summary(net: RoadNetwork | None, tg: Targets, snap_limit: float,
                     max_snap_m: float | None) -> dict[str, Any] | None:
    """The road network as ``summary.json`` describes it (``None`` without one)."""
    return None if net is None else {
        "roads": net.n_roads, "nodes": net.graph.number_of_nodes(),
        "edges": net.graph.number_of_edges(), "length_km": round(net.total_length_m / 1000, 3),
        "components": net.n_components, "crossings_added": net.crossings_added,
        "where": tg.network.where, "hardened": list(tg.network.hardened),
        "max_snap_m": snap_limit,
        "max_snap_m_source": (tg.network.max_snap_m.source if max_snap_m is None
                              else "given by the caller"),
        "notes": net.notes,
    }


def _by_township(table: pd.DataFrame, has_net: bool) -> pd.DataFrame:
    t = table.copy()
    t["pop_known"] = t["population"].where(np.isfinite(t["population"]), 0.0)
    t["pop_s"] = t["pop_known"].where(t["covered_straight"], 0.0)
    t["pop_n"] = t["pop_known"].where(t["covered_network"], 0.0)
    g = t.groupby(["kind", "township"], sort=False).agg(
        label_zh=("label_zh", "first"), n_villages=("village", "size"),
        villages_covered_straight=("covered_straight", "sum"),
        villages_covered_network=("covered_network", "sum"),
        population=("pop_known", "sum"), population_covered_straight=("pop_s", "sum"),
        population_covered_network=("pop_n", "sum")).reset_index()
    g["share_villages_straight"] = 100 * g["villages_covered_straight"] / g["n_villages"]
    g["share_villages_network"] = 100 * g["villages_covered_network"] / g["n_villages"]
    with np.errstate(invalid="ignore", divide="ignore"):
        g["share_population_straight"] = 100 * g["population_covered_straight"] / g["population"]
        g["share_population_network"] = 100 * g["population_covered_network"] / g["population"]
    if not has_net:
        for c in ("villages_covered_network", "population_covered_network",
                  "share_villages_network", "share_population_network"):
            g[c] = np.nan
    return g
