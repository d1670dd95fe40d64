"""Geometry hygiene: null, empty, Z/M and invalid geometries, repaired and reported.

Nothing here drops a feature silently: :func:`clean_geometries` returns the
cleaned frame *and* a :class:`RepairReport` naming the features it changed or
set aside, and the workspace shows that report per layer.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely

from .core import usable_cores

__all__ = ["FAMILY_OF_TYPE", "RepairReport", "clean_geometries", "geometry_families", "is_valid",
           "on_two_threads"]

FAMILY_OF_TYPE = {
    "Point": "point", "MultiPoint": "point",
    "LineString": "line", "MultiLineString": "line", "LinearRing": "line",
    "Polygon": "polygon", "MultiPolygon": "polygon",
    "GeometryCollection": "collection",
}
_TYPE_FAMILY = np.array(["point", "line", "line", "polygon", "point", "line", "polygon",
                         "collection"], dtype=object)
_MAX_IDS = 20


def geometry_families(geoms: np.ndarray | gpd.GeoSeries) -> np.ndarray:
    """The family (point / line / polygon / collection / none) of each geometry.

    Examples
    --------
    >>> import shapely
    >>> geometry_families(shapely.from_wkt(["POINT (0 0)", "MULTIPOLYGON EMPTY", None])).tolist()
    ['point', 'polygon', 'none']
    """
    arr = np.asarray(geoms, dtype=object)
    ids = shapely.get_type_id(arr)
    out = np.full(len(arr), "none", dtype=object)
    ok = ids >= 0
    out[ok] = _TYPE_FAMILY[ids[ok]]
    return out


@dataclass
class RepairReport:
    """What :func:`clean_geometries` did to one layer.

    ``*_ids`` hold the source ids (``fid``) of the features concerned, at most
    the first 20; the counts are complete.

    Attributes
    ----------
    n_null, null_ids
        Features without a geometry (set aside).
    n_empty, empty_ids
        Features with an empty geometry (set aside).
    n_repaired, repaired_ids
        Invalid geometries repaired with ``make_valid``.
    n_collapsed, collapsed_ids
        Geometries that collapsed to nothing on repair (set aside).
    n_z_dropped : int
        Geometries whose Z coordinates were flattened to 2D.
    """

    n_null: int = 0
    null_ids: list[object] = field(default_factory=list)
    n_empty: int = 0
    empty_ids: list[object] = field(default_factory=list)
    n_repaired: int = 0
    repaired_ids: list[object] = field(default_factory=list)
    n_collapsed: int = 0
    collapsed_ids: list[object] = field(default_factory=list)
    n_z_dropped: int = 0

    @property
    def n_set_aside(self) -> int:
        """Features left out of the usable layer: null, empty or collapsed by repair."""
        return self.n_null + self.n_empty + self.n_collapsed

    def describe(self) -> str:
        """A short English summary, ``""`` when nothing was done."""
        parts = []
        for n, ids, what in (
            (self.n_repaired, self.repaired_ids, "invalid geometries repaired with make_valid"),
            (self.n_collapsed, self.collapsed_ids, "collapsed to nothing on repair (set aside)"),
            (self.n_null, self.null_ids, "with no geometry (set aside)"),
            (self.n_empty, self.empty_ids, "with an empty geometry (set aside)"),
        ):
            if n:
                more = "…" if n > len(ids) else ""
                parts.append(f"{n} {what}: fid {', '.join(map(str, ids))}{more}")
        if self.n_z_dropped:
            parts.append(f"{self.n_z_dropped} with Z coordinates flattened to 2D")
        return "; ".join(parts)

    def describe_zh(self) -> str:
        """The same summary in Chinese."""
        parts = []
        if self.n_repaired:
            parts.append(f"修复无效几何 {self.n_repaired} 个")
        if self.n_collapsed:
            parts.append(f"修复后退化 {self.n_collapsed} 个")
        if self.n_null:
            parts.append(f"无几何 {self.n_null} 个")
        if self.n_empty:
            parts.append(f"空几何 {self.n_empty} 个")
        if self.n_z_dropped:
            parts.append(f"去除Z值 {self.n_z_dropped} 个")
        return "；".join(parts)


_THREADED_VERTICES = 200_000
"""Vertices from which :func:`on_two_threads` splits the work between two threads."""


def on_two_threads(func: Callable[[np.ndarray], np.ndarray], geoms: np.ndarray) -> np.ndarray:
    """``func(geoms)`` for an elementwise shapely function, on two threads for many vertices.

    GEOS releases the GIL while it works: the geometries are cut into two
    runs of about equal vertices (a few big hazard zones weigh as much as
    10⁵ parcels), one per thread, and the answers joined in order. The
    answer is ``func(geoms)``'s; below :data:`_THREADED_VERTICES` vertices,
    or on one core, ``func`` runs once.

    Parameters
    ----------
    func
        A function of a geometry array returning one value per geometry
        (``shapely.is_valid``, ``shapely.simplify`` with its tolerance bound…).
    geoms
        The geometries.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> import numpy as np, shapely
    >>> on_two_threads(shapely.area, np.array([shapely.box(0, 0, 1, 1)])).tolist()
    [1.0]
    """
    n = shapely.get_num_coordinates(geoms)
    total = int(n.sum())
    if total < _THREADED_VERTICES or usable_cores() < 2 or len(geoms) < 2:
        return np.asarray(func(geoms))
    cut = int(np.searchsorted(np.cumsum(n), total / 2)) + 1
    cut = min(max(cut, 1), len(geoms) - 1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.map(func, (geoms[:cut], geoms[cut:]))
    return np.concatenate([np.asarray(a), np.asarray(b)])


def is_valid(geoms: np.ndarray) -> np.ndarray:
    """``shapely.is_valid``, on two threads for a layer of many vertices (:func:`on_two_threads`).

    Examples
    --------
    >>> import numpy as np, shapely
    >>> bowtie = shapely.from_wkt("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))")
    >>> is_valid(np.array([shapely.box(0, 0, 1, 1), bowtie])).tolist()
    [True, False]
    """
    return on_two_threads(shapely.is_valid, geoms).astype(bool)


def _first(ids: np.ndarray) -> list[object]:
    return [x.item() if hasattr(x, "item") else x for x in ids[:_MAX_IDS]]


def clean_geometries(
    gdf: gpd.GeoDataFrame, *, id_column: str = "fid", drop_unusable: bool = True
) -> tuple[gpd.GeoDataFrame, RepairReport]:
    """Flatten Z/M, repair invalid geometries and set aside null or empty ones.

    Invalid polygons are repaired with ``shapely.make_valid(method="structure",
    keep_collapsed=False)``, which keeps the polygonal area (a bow-tie becomes
    two triangles) and drops parts that collapse to lines or points.

    Parameters
    ----------
    gdf
        The layer; not modified.
    id_column
        Column holding the ids to report (``fid`` from :func:`geoplan.io.read_vector`).
    drop_unusable
        Remove null, empty and collapsed geometries from the returned frame
        (they are counted in the report either way).

    Returns
    -------
    (GeoDataFrame, RepairReport)

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> bowtie = shapely.from_wkt("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))")
    >>> gdf = gpd.GeoDataFrame({"fid": [1, 2]}, geometry=[bowtie, None])
    >>> clean, rep = clean_geometries(gdf)
    >>> len(clean), rep.n_repaired, rep.n_null, round(clean.geometry.iloc[0].area, 6)
    (1, 1, 1, 2.0)
    """
    rep = RepairReport()
    out = gdf.copy()
    geoms = out.geometry.to_numpy()
    ids = out[id_column].to_numpy() if id_column in out.columns else np.arange(1, len(out) + 1)

    null = shapely.is_missing(geoms)
    rep.n_null = int(null.sum())
    rep.null_ids = _first(ids[null])

    has_z = np.zeros(len(geoms), dtype=bool)
    has_z[~null] = shapely.has_z(geoms[~null])
    if has_z.any():
        rep.n_z_dropped = int(has_z.sum())
        geoms = geoms.copy()
        geoms[has_z] = shapely.force_2d(geoms[has_z])

    empty = ~null & shapely.is_empty(geoms)
    rep.n_empty = int(empty.sum())
    rep.empty_ids = _first(ids[empty])

    usable = ~null & ~empty
    invalid = np.zeros(len(geoms), dtype=bool)
    invalid[usable] = ~is_valid(geoms[usable])
    collapsed = np.zeros(len(geoms), dtype=bool)
    if invalid.any():
        geoms = geoms.copy()
        fam = geometry_families(geoms[invalid])
        fixed = np.empty(int(invalid.sum()), dtype=object)
        poly = fam == "polygon"
        if poly.any():
            fixed[poly] = shapely.make_valid(geoms[invalid][poly], method="structure",
                                             keep_collapsed=False)
        if (~poly).any():
            fixed[~poly] = shapely.make_valid(geoms[invalid][~poly])
        geoms[invalid] = fixed
        gone = shapely.is_empty(fixed) | shapely.is_missing(fixed)
        idx = np.flatnonzero(invalid)
        collapsed[idx[gone]] = True
        rep.n_repaired = int((~gone).sum())
        rep.repaired_ids = _first(ids[idx[~gone]])
        rep.n_collapsed = int(gone.sum())
        rep.collapsed_ids = _first(ids[idx[gone]])

    out[out.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=out.crs)
    if drop_unusable:
        keep = ~(null | empty | collapsed)
        out = out.loc[keep]
    return out, rep
