"""Hardened-road connectivity of villages (clause 五 — 较大人口规模自然村通硬化路).

Villages at or above a population threshold should be reached by a hardened
(``surface == 硬化``) road. For each village the network distance to the
hardened network is measured — the snap connector from the village to the
nearest road plus the unpaved road between it and the first hardened road
(one multi-source Dijkstra from every hardened road node). A village is
listed when that gap is longer than a limit, when its part of the network has
no hardened road at all, or when no road comes within the snap distance; the
straight-line distance to the nearest hardened road is given for every
village as the length of a new link.

Examples
--------
>>> import geoplan
>>> con = geoplan.connectivity("layers")                    # doctest: +SKIP
>>> con.flagged()[["name", "population", "status", "gap_m"]]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import STRtree

from ..core import STATUS_COLOURS, STATUS_LABELS
from ..rules.pack import Threshold
from ..workspace import Workspace
from . import _maps
from ._common import as_workspace, network_for, table_html, village_frame
from ._output import base_summary, clean_number, write_outputs
from .network import AttachedNetwork, RoadNetwork
from .targets import Targets, load_targets

__all__ = ["ConnectivityResult", "connectivity"]

STATUSES = ("connected", "gap", "isolated", "no_road", "below_threshold", "not_checked")
_FLAGGED = ("gap", "isolated", "no_road")
_STATUS_ZH = {"connected": "已通硬化路", "gap": "距硬化路网过远", "isolated": "所在路网无硬化路",
              "no_road": "附近无道路", "below_threshold": "人口低于阈值",
              "not_checked": STATUS_LABELS["not_checked"][0]}
# the check's palette: connected reads as pass, a gap as warn, isolated as fail
_STATUS_COLOURS = {"connected": STATUS_COLOURS["pass"], "gap": STATUS_COLOURS["warn"],
                   "isolated": STATUS_COLOURS["fail"], "no_road": STATUS_COLOURS["error"],
                   "below_threshold": "#bbbbbb", "not_checked": STATUS_COLOURS["not_checked"]}


@dataclass
class ConnectivityResult:
    """Hardened-road connectivity of villages.

    Attributes
    ----------
    villages : geopandas.GeoDataFrame
        Every village (points, index kept): ``status`` (connected, gap,
        isolated, no_road, below_threshold, not_checked), ``status_zh``,
        ``gap_m`` (network distance to the hardened network, NaN when there
        is no route), ``snap_m`` (village → nearest road), ``unpaved_m`` (the
        road part of the gap), ``straight_to_hardened_m``, ``component`` (road
        network component id), ``message_zh``, ``message_en``.
    gap_paths : geopandas.GeoDataFrame
        For listed villages with a route: the path to the hardened network.
    network : RoadNetwork or None
    summary : dict
    """

    villages: gpd.GeoDataFrame
    gap_paths: gpd.GeoDataFrame
    network: RoadNetwork | None
    min_population: Threshold
    max_gap_m: Threshold
    summary: dict[str, Any]
    targets: Targets
    workspace: Workspace
    notes: list[str] = field(default_factory=list)

    def flagged(self) -> gpd.GeoDataFrame:
        """Villages at or above the threshold without a hardened-road connection."""
        return self.villages[self.villages["status"].isin(_FLAGGED)]

    def counts(self) -> pd.Series:
        """Villages per status."""
        return self.villages["status"].value_counts().reindex(list(STATUSES), fill_value=0)

    def __repr__(self) -> str:
        c = self.counts()
        return (f"<geoplan ConnectivityResult: {len(self.villages)} villages, population ≥ "
                f"{self.min_population.value:g}, gap > {self.max_gap_m.value:g} m listed; "
                + ", ".join(f"{k} {int(v)}" for k, v in c.items() if v) + ">")

    def _repr_html_(self) -> str:
        import html

        c = self.counts()
        head = (f"<p><b>geoplan connectivity 硬化路连通</b> — villages with population ≥ "
                f"{self.min_population.value:g} 人; gap limit 缺口上限 {self.max_gap_m.value:g} m "
                f"({'verified' if self.max_gap_m.verified else 'placeholder 未核实'})</p><p>"
                + html.escape(", ".join(f"{k} {_STATUS_ZH[k]}: {int(v)}" for k, v in c.items()))
                + "</p>")
        cols = ["name", "township", "population", "status_zh", "gap_m", "unpaved_m",
                "straight_to_hardened_m", "message_en"]
        df = pd.DataFrame(self.flagged()[cols]).round(0)
        return head + table_html(df)

    def map(self, **options: Any) -> Any:
        """A folium map: roads by surface, villages by status, gap paths.

        ``options`` choose the background as for :func:`geoplan.maps.result_map`:
        ``basemap`` (default OpenStreetMap; a name or a tile URL template, not
        Amap), ``tk``, ``attribution``, ``offline`` (no basemap: no request at
        all). Leaflet is inlined, so the layers draw with no network.
        """
        import folium

        m = _maps.base_map(_maps.bounds_lonlat(self.villages), title="硬化路连通 Hardened-road access",
                           **options)
        if self.network is not None:
            seg = self.network.segments
            g = folium.FeatureGroup(name="道路 Roads").add_to(m)
            _maps.add_lines(g, seg[seg["hardened"]], color="#222", weight=3)
            _maps.add_lines(g, seg[~seg["hardened"]], color="#b58900", weight=2)
        if len(self.gap_paths):
            g = folium.FeatureGroup(name="缺口路径 Gap paths").add_to(m)
            _maps.add_lines(g, self.gap_paths, color="#e7298a", weight=5, tooltips=[
                f"{_maps.esc(r['name'])}: {_maps.esc(r['gap_m'])} m"
                for _, r in self.gap_paths.iterrows()])
        colours = _STATUS_COLOURS
        g = folium.FeatureGroup(name="村庄 Villages").add_to(m)
        tips = [f"<b>{_maps.esc(r['name'])}</b> ({_maps.esc(r['township'])}), "
                f"人口 {_maps.esc(r['population'])}<br>{_maps.esc(r['message_zh'])}<br>"
                f"{_maps.esc(r['message_en'])}" for _, r in self.villages.iterrows()]
        _maps.add_points(g, self.villages, color=[colours[s] for s in self.villages["status"]],
                         radius=7, tooltips=tips)
        n = self.counts()
        _maps.legend(m, "硬化路连通 Hardened-road access",
                     [(colours[s], f"{_STATUS_ZH[s]} {s}: {int(n[s])}") for s in STATUSES]
                     + [("#222", "硬化路 hardened road"), ("#b58900", "非硬化路 unpaved road"),
                        ("#e7298a", f"缺口路径 gap path to the hardened network: "
                                    f"{len(self.gap_paths)}")],
                     note=f"村庄数 villages: {len(self.villages)} · 人口门槛 population ≥ "
                          f"{self.min_population.value:g} · 缺口上限 gap > "
                          f"{self.max_gap_m.value:g} m")
        return _maps.finish(m)

    def to_files(self, out_dir: str | os.PathLike[str], *, map_html: bool = True,
                 **map_options: Any) -> list[Path]:
        """Write the connectivity tables, layers, map and summary into ``out_dir``, atomically.

        Writes ``connectivity.csv`` (every village), ``connectivity_flagged.csv``,
        ``connectivity.gpkg`` (villages, gap_paths, roads), ``map.html`` and
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
        layers: dict[str, gpd.GeoDataFrame] = {"villages": self.villages,
                                               "gap_paths": self.gap_paths}
        if self.network is not None:
            layers["roads"] = self.network.segments
        return write_outputs(
            out_dir, csv={"connectivity.csv": self.villages,
                          "connectivity_flagged.csv": self.flagged()},
            gpkg=layers, gpkg_name="connectivity.gpkg", summary=self.summary,
            map_html=(lambda: self.map(**map_options)) if map_html else None)


def connectivity(
    workspace: Workspace | str | os.PathLike[str],
    *,
    targets: Targets | str | os.PathLike[str] = "yining-2025",
    min_population: float | None = None,
    max_gap_m: float | None = None,
    max_snap_m: float | None = None,
    network: RoadNetwork | None = None,
) -> ConnectivityResult:
    """Villages above a population threshold without a hardened-road connection.

    Parameters
    ----------
    workspace
        A :class:`~geoplan.Workspace` or a path. Needs ``village`` (with
        ``population``) and ``road`` (with ``surface``) layers.
    targets
        Targets file with ``[connectivity]`` and ``[network]`` parameters.
    min_population, max_gap_m, max_snap_m
        Override the file's figures (reported as given by the caller).
    network
        A prebuilt :class:`RoadNetwork`.

    Returns
    -------
    ConnectivityResult
        A village whose population is unknown is ``not_checked``; without a
        road layer every village is ``not_checked`` — never ``connected``.
    """
    started = _dt.datetime.now(_dt.UTC)
    ws = as_workspace(workspace)
    tg = load_targets(targets)
    min_pop = (tg.connectivity.min_population if min_population is None else
               Threshold(float(min_population), "persons", "given by the caller", False))
    max_gap = (tg.connectivity.max_gap_m if max_gap_m is None else
               Threshold(float(max_gap_m), "m", "given by the caller", False))
    snap_limit = float(max_snap_m) if max_snap_m is not None else tg.network.max_snap_m.value
    vil = village_frame(ws)
    notes: list[str] = []
    net, why = (network, None) if network is not None else network_for(ws, tg)
    if why:
        notes.append(why)
    reach = _reach(net, vil, snap_limit, tg, notes)
    pop = vil["population"].to_numpy(dtype=float)
    status = _statuses(net is not None, pop, reach, min_pop.value, max_gap.value)
    unpaved = reach.gap - np.where(np.isfinite(reach.snap), reach.snap, 0.0)
    limits = _Limits(min_pop.value, max_gap.value, snap_limit)
    msg_zh, msg_en = [], []
    for i in range(len(vil)):
        zh, en = _message(status[i], i, reach, pop, unpaved, limits, net is not None)
        msg_zh.append(zh)
        msg_en.append(en)
    out = vil.copy()
    out["status"] = status
    out["status_zh"] = [_STATUS_ZH[s] for s in status]
    out["gap_m"] = reach.gap
    out["snap_m"] = reach.snap
    out["unpaved_m"] = unpaved
    out["straight_to_hardened_m"] = reach.straight_h
    out["component"] = reach.comp
    out["message_zh"] = msg_zh
    out["message_en"] = msg_en
    gap_paths = _gap_paths(reach.att, vil, status, reach.gap, ws.crs)
    counts = out["status"].value_counts().reindex(list(STATUSES), fill_value=0)
    summary = {
        "analysis": "connectivity",
        "clause": tg.connectivity.clause,
        "notes": notes,
        "counts": {k: int(v) for k, v in counts.items()},
        "flagged": [{k: clean_number(v) for k, v in r.items()} for r in
                    pd.DataFrame(out[out["status"].isin(_FLAGGED)][
                        ["fid", "name", "township", "population", "status", "gap_m",
                         "unpaved_m", "straight_to_hardened_m"]]).to_dict(orient="records")],
        "parameters": {
            "min_population": {"value": min_pop.value, "source": min_pop.source,
                               "verified": min_pop.verified},
            "max_gap_m": {"value": max_gap.value, "source": max_gap.source,
                          "verified": max_gap.verified},
            "max_snap_m": {"value": snap_limit, "source": tg.network.max_snap_m.source
                           if max_snap_m is None else "given by the caller"},
            "hardened": list(tg.network.hardened),
        },
        "hardened_segments": reach.hardened_count,
        "targets": {"name": tg.name, "version": tg.version, "path": tg.path},
        **base_summary(ws, ["village", "road"], started),
    }
    return ConnectivityResult(villages=out, gap_paths=gap_paths, network=net,
                              min_population=min_pop, max_gap_m=max_gap, summary=summary,
                              targets=tg, workspace=ws, notes=notes)


@dataclass
class _Reach:
    """What the road network says of each village (``nan`` / ``-1`` without a network)."""

    gap: np.ndarray
    """Network distance to the nearest hardened road node (snap connector included)."""
    snap: np.ndarray
    straight_h: np.ndarray
    """Straight-line distance to the nearest hardened road."""
    comp: np.ndarray
    """The connected component of the network the village is attached to."""
    attached_ok: np.ndarray
    hardened_count: int = 0
    att: AttachedNetwork | None = None


@dataclass(frozen=True)
class _Limits:
    """The figures the messages quote."""

    min_population: float
    max_gap_m: float
    max_snap_m: float


def _reach(net: RoadNetwork | None, vil: gpd.GeoDataFrame, snap_limit: float, tg: Targets,
           notes: list[str]) -> _Reach:
    """Attach the villages to the network and measure their way to the hardened roads."""
    n = len(vil)
    if net is None:
        return _Reach(gap=np.full(n, np.nan), snap=np.full(n, np.nan),
                      straight_h=np.full(n, np.nan), comp=np.full(n, -1),
                      attached_ok=np.zeros(n, dtype=bool))
    notes.extend(net.notes)
    att = net.attach({"village": vil.geometry}, max_snap_m=snap_limit)
    hard = att.hardened_nodes()
    if not hard:
        notes.append("no road in the network is hardened (surface values "
                     f"{', '.join(tg.network.hardened)}): no village can be connected")
    d = att.distances_from_nodes(hard)["village"] if hard else np.full(n, np.inf)
    import networkx as nx

    comp_of: dict[Any, int] = {}
    for ci, nodes in enumerate(nx.connected_components(att.graph)):
        for node in nodes:
            comp_of[node] = ci
    straight_h = np.full(n, np.nan)
    hseg = net.segments[net.segments["hardened"]]
    if len(hseg):
        (qi, _), dist = STRtree(hseg.geometry.to_numpy()).query_nearest(
            vil.geometry.to_numpy(), return_distance=True, all_matches=False)
        straight_h[qi] = dist
    return _Reach(gap=np.where(np.isfinite(d), d, np.nan), snap=att.snap_m["village"],
                  straight_h=straight_h,
                  comp=np.array([comp_of.get(("village", i), -1) for i in range(n)]),
                  attached_ok=att.attached["village"],
                  hardened_count=int(net.segments["hardened"].sum()), att=att)


def _statuses(has_net: bool, pop: np.ndarray, r: _Reach, min_pop: float,
              max_gap: float) -> np.ndarray:
    """Each village's status: the first of the reasons below that holds, else connected.

    The reasons, in order: population unknown, below the threshold, no road
    within the snap distance, no hardened road in its part of the network, a gap
    above the limit. Without a network only the population is judged.
    """
    if has_net:
        return np.select(
            [~np.isfinite(pop), pop < min_pop, ~r.attached_ok, ~np.isfinite(r.gap),
             r.gap > max_gap],
            ["not_checked", "below_threshold", "no_road", "isolated", "gap"],
            default="connected").astype(object)
    if np.isfinite(pop).any():
        return np.where(np.isfinite(pop) & (pop < min_pop), "below_threshold",
                        "not_checked").astype(object)
    return np.full(len(pop), "not_checked", dtype=object)


def _message(s: str, i: int, r: _Reach, pop: np.ndarray, unpaved: np.ndarray, lim: _Limits,
             has_net: bool) -> tuple[str, str]:
    """The Chinese and English message of village ``i`` with status ``s``."""
    if s == "connected":
        return (f"距硬化路网 {r.gap[i]:.0f} 米，不超过 {lim.max_gap_m:g} 米",
                f"{r.gap[i]:.0f} m from the hardened network (limit {lim.max_gap_m:g} m)")
    if s == "gap":
        return (f"距硬化路网 {r.gap[i]:.0f} 米（其中非硬化道路 {unpaved[i]:.0f} 米），"
                f"超过 {lim.max_gap_m:g} 米",
                f"{r.gap[i]:.0f} m from the hardened network ({unpaved[i]:.0f} m of it "
                f"unpaved road), above {lim.max_gap_m:g} m")
    if s == "isolated":
        return (f"所在路网无硬化路；直线距最近硬化路 {r.straight_h[i]:.0f} 米",
                "no hardened road in its part of the network; nearest hardened road "
                f"{r.straight_h[i]:.0f} m in a straight line")
    if s == "no_road":
        return (f"{lim.max_snap_m:g} 米内无道路；直线距最近硬化路 {r.straight_h[i]:.0f} 米",
                f"no road within {lim.max_snap_m:g} m; nearest hardened road "
                f"{r.straight_h[i]:.0f} m in a straight line")
    if s == "below_threshold":
        return (f"人口 {pop[i]:.0f} 低于阈值 {lim.min_population:g}",
                f"population {pop[i]:.0f} below the threshold {lim.min_population:g}")
    why_zh = "无道路图层" if not has_net else "人口未知"
    why_en = "no road layer" if not has_net else "population unknown"
    return f"未核查：{why_zh}", f"not checked: {why_en}"


def _gap_paths(att: AttachedNetwork | None, vil: gpd.GeoDataFrame, status: np.ndarray,
               gap: np.ndarray, crs: Any) -> gpd.GeoDataFrame:
    """The shortest path from each ``gap`` village to the hardened network, as lines."""
    paths: list[dict[str, Any]] = []
    if att is not None:
        hard_set = att.hardened_nodes()
        for i in np.flatnonzero(status == "gap"):
            p = att.shortest_path_to(("village", int(i)), hard_set)
            line = att.path_line(p) if p else None
            if line is not None:
                paths.append({"village_fid": vil["fid"].iloc[i], "name": vil["name"].iloc[i],
                              "township": vil["township"].iloc[i], "gap_m": gap[i],
                              "path_length_m": line.length, "geometry": line})
    return gpd.GeoDataFrame(
        paths if paths else {"village_fid": [], "name": [], "township": [], "gap_m": [],
                             "path_length_m": []},
        geometry="geometry" if paths else [], crs=crs)
