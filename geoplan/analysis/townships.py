"""Township areas for the plan indicators: given boundaries, or approximate ones.

Counties rarely deliver township boundaries with the village layer. Without
them the indicators are totalled over approximate areas: the Voronoi cells of
the villages, dissolved by township and labelled as not official.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ..errors import WorkspaceError
from ..workspace import Workspace
from ._common import NO_TOWNSHIP, as_workspace, village_frame

__all__ = ["lengths_by_area", "township_areas"]

_METHOD_VORONOI = ("approximate: Voronoi cells of the villages dissolved by township, clipped "
                   "to the layers' extent + 1 km (not official boundaries) / 近似乡镇范围：按村庄"
                   "泰森多边形合并，非官方界线")


def township_areas(
    workspace: Workspace | str | os.PathLike[str],
    townships: gpd.GeoDataFrame | None = None,
    *,
    margin_m: float = 1000.0,
    extent_of: Sequence[gpd.GeoDataFrame] = (),
) -> gpd.GeoDataFrame:
    """Township polygons: the given ones, or Voronoi cells of villages dissolved by township.

    Parameters
    ----------
    workspace
        The workspace (its ``village`` layer, and the extent of its line layers).
    townships
        Real township boundaries with a ``township`` field (any CRS); used as given.
    margin_m
        How far beyond the layers' extent the approximate areas reach.
    extent_of
        More frames (in the working CRS) the approximate areas must cover,
        e.g. project roads.

    Returns
    -------
    geopandas.GeoDataFrame
        ``township``, ``n_villages``, ``method`` and the polygon, in the working CRS.
    """
    ws = as_workspace(workspace)
    vil = village_frame(ws)
    counts = vil.groupby("township").size()
    if townships is not None:
        if "township" not in townships.columns:
            raise WorkspaceError("the township boundaries need a 'township' field holding the "
                                 "township names used in the village layer")
        if townships.crs is None:
            raise WorkspaceError("the township boundaries have no CRS; set one before use")
        t = townships.to_crs(ws.crs).dissolve(by="township", as_index=False)[
            ["township", "geometry"]]
        t["n_villages"] = t["township"].map(counts).fillna(0).astype(int)
        t["method"] = "given boundaries / 给定乡镇界线"
        return t
    frames = [vil] + [lyr.gdf for k in ("village_boundary", "road", "power_line")
                      if (lyr := ws.vector(k)) is not None and len(lyr.gdf)]
    frames += [f for f in extent_of if len(f)]
    b = np.array([f.total_bounds for f in frames])
    extent = shapely.box(b[:, 0].min() - margin_m, b[:, 1].min() - margin_m,
                         b[:, 2].max() + margin_m, b[:, 3].max() + margin_m)
    pts = vil.geometry.to_numpy()
    ok = ~shapely.is_empty(pts)
    if ok.sum() == 0:
        raise WorkspaceError("the village layer has no usable geometry to derive township areas")
    if ok.sum() == 1:
        cells = np.array([extent], dtype=object)
    else:
        cells = shapely.get_parts(shapely.voronoi_polygons(
            shapely.multipoints(pts[ok]), extend_to=extent))
    cells = shapely.intersection(cells, extent)
    cg = gpd.GeoDataFrame(geometry=cells, crs=ws.crs)
    j = gpd.sjoin(cg, vil[["township", "geometry"]], how="left", predicate="contains")
    j = j[~j.index.duplicated(keep="first")]
    j["township"] = j["township"].fillna(NO_TOWNSHIP)
    t = j[["township", "geometry"]].dissolve(by="township", as_index=False)
    t["n_villages"] = t["township"].map(counts).fillna(0).astype(int)
    t["method"] = _METHOD_VORONOI
    return t[["township", "n_villages", "method", "geometry"]]


def lengths_by_area(lines: gpd.GeoSeries, areas: gpd.GeoDataFrame) -> pd.Series:
    """Length of ``lines`` inside each township area (metres), indexed by township."""
    geoms = lines.to_numpy()
    ageo = areas.geometry.to_numpy()
    if len(geoms) == 0:
        return pd.Series(0.0, index=areas["township"].to_numpy())
    li, ai = STRtree(ageo).query(geoms, predicate="intersects")
    lens = shapely.length(shapely.intersection(geoms[li], ageo[ai]))
    s = pd.Series(lens).groupby(areas["township"].to_numpy()[ai]).sum()
    return s.reindex(areas["township"].to_numpy(), fill_value=0.0)
