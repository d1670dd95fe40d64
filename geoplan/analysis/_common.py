"""Helpers shared by the planning analyses."""

from __future__ import annotations

import os
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..display import html_table
from ..errors import WorkspaceError
from ..workspace import Workspace, open_workspace
from .network import RoadNetwork, build_network
from .targets import Targets

__all__ = ["LAYOUT_CLASSES", "as_workspace", "network_for", "village_frame"]

LAYOUT_CLASSES: dict[str, str] = {
    "集聚提升": "consolidate and upgrade",
    "城郊融合": "suburban integration",
    "特色保护": "heritage protection",
    "搬迁撤并": "relocate and merge",
}
"""Village layout classes (村庄布局分类, 乡村振兴战略规划 2018–2022) with English labels."""

RELOCATE = "搬迁撤并"
NO_TOWNSHIP = "(未标注乡镇 no township)"


def as_workspace(workspace: Workspace | str | os.PathLike[str]) -> Workspace:
    """A :class:`Workspace`, opening a path when given one."""
    return workspace if isinstance(workspace, Workspace) else open_workspace(workspace)


def village_frame(ws: Workspace) -> gpd.GeoDataFrame:
    """The village layer as points (representative points of polygons), with canonical columns.

    Columns: ``fid, name, township, layout_class, population`` (float, NaN when
    unknown) and every other field of the layer; the index is the layer's.

    Raises
    ------
    WorkspaceError
        The workspace has no village layer.
    """
    layer = ws.vector("village")
    if layer is None:
        raise WorkspaceError(f"the workspace {ws.path} has no 'village' layer (村庄); the "
                             "planning analyses are made per village: add village.gpkg "
                             "(points or polygons with name, township, population) or map a "
                             "file onto it in geoplan.toml")
    g = layer.gdf.copy()
    for col in ("township", "layout_class"):
        if col not in g.columns:
            g[col] = None
    if "population" not in g.columns:
        g["population"] = np.nan
    g["population"] = pd.to_numeric(g["population"], errors="coerce").astype(float)
    geoms = g.geometry.to_numpy()
    is_pt = shapely.get_type_id(geoms) == 0
    if not is_pt.all():
        pts = geoms.copy()
        pts[~is_pt] = shapely.point_on_surface(geoms[~is_pt])
        g = g.set_geometry(gpd.GeoSeries(pts, index=g.index, crs=g.crs))
    g["township"] = g["township"].astype(object).where(g["township"].notna(), NO_TOWNSHIP)
    return g


def network_for(ws: Workspace, targets: Targets) -> tuple[RoadNetwork | None, str | None]:
    """The road network of the workspace built with the targets' network parameters.

    Returns ``(None, reason)`` when the workspace has no usable road layer.
    """
    layer = ws.vector("road")
    if layer is None:
        return None, "the workspace has no 'road' layer (道路): network distances not computed"
    net = build_network(layer.gdf, where=targets.network.where,
                        hardened_values=targets.network.hardened,
                        node_crossings=targets.network.node_crossings)
    if net.graph.number_of_edges() == 0:
        return None, "the road layer holds no usable line: network distances not computed"
    return net, None


def share(num: float, den: float) -> float:
    """``100 * num / den``, NaN when ``den`` is 0."""
    return float(100.0 * num / den) if den else float("nan")


def table_html(df: pd.DataFrame, max_rows: int = 20, **kw: Any) -> str:
    """An escaped HTML table of the first rows, with a note of the rest.

    Built by :func:`geoplan.display.html_table`: text left-aligned, integers
    as integers, floats rounded, ``无数据`` for a missing value; ``kw`` goes to
    it (``index=True``, ``nowrap=``, ``headers=`` …).
    """
    more = (f"<p>… 另有 {len(df) - max_rows} 行 · {len(df) - max_rows} more rows</p>"
            if len(df) > max_rows else "")
    return html_table(df, max_rows, **kw) + more
