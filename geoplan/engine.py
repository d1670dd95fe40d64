"""The engine: every site × every rule, vectorised, in the working metric CRS.

For each rule the constraint layer (filtered by the rule's ``where``) gets one
STRtree, built once and shared by every rule that reads the same layer and
filter. Sites are queried in bulk (``STRtree.query`` with a predicate, or
``query_nearest``), and measures — overlap areas, lengths, distances — are
computed only on the candidate pairs, then reduced per site with numpy.

Status of one finding:

``pass`` / ``warn`` / ``fail``
    measured and held against the threshold;
``error``
    the site itself is unusable (no geometry, outside the workspace, outside
    the DEM, …);
``not_checked``
    a layer or attribute the rule needs is missing. A missing layer never
    yields ``pass``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from .config import CONFIG_NAME
from .errors import RulePackError, SiteInputError
from .hygiene import geometry_families
from .kinds import KINDS, SITE_SUBJECTS
from .rules import DistanceTable, Rule, RulePack, load_pack
from .sites import (
    ID_CANDIDATES,
    SITE_COLUMNS,
    coordinate_system_column,
    unconverted_systems,
)
from .vocab import describe_values
from .workspace import Layer, RasterLayer, Workspace

__all__ = ["MU_PER_M2", "STATUS_ORDER", "ConstraintCache", "PreparedSites", "constraint_cache",
           "evaluate", "prepare_sites"]

MU_PER_M2 = 15 / 10_000
"""亩 per square metre: 1 亩 = 10 000 / 15 m² ≈ 666.67 m²."""

STATUS_ORDER = {"fail": 4, "error": 3, "warn": 2, "not_checked": 1, "pass": 0}
"""Rank of each status; a verdict is the highest-ranked status of a site's findings."""

_EPS = 1e-6  # metres: distances closer than this to a threshold count as on it


# --------------------------------------------------------------------------- sites


@dataclass
class PreparedSites:
    """A batch of sites ready for evaluation (all arrays aligned to input rows)."""

    gdf: gpd.GeoDataFrame            # the input, as given (attributes kept)
    site_id: np.ndarray              # object
    subject: str
    geom: np.ndarray                 # shapely geometries, working CRS (footprints)
    centreline: np.ndarray           # roads: the line as given (working CRS); else == geom
    family: np.ndarray               # point / line / polygon / none (of geom)
    error: np.ndarray                # object: "" or the reason the site is unusable
    error_zh: np.ndarray
    notes: np.ndarray                # object: "" or notes (repairs, buffering)
    no_width: np.ndarray             # bool: road lines without a usable width


def _auto_id(gdf: gpd.GeoDataFrame, id_field: str | None) -> tuple[np.ndarray, str]:
    n = len(gdf)
    if id_field is not None:
        if id_field not in gdf.columns:
            raise SiteInputError(
                f"id field {id_field!r} is not in the sites (fields: "
                f"{', '.join(map(str, gdf.columns.drop(gdf.geometry.name)))}); name another "
                "with --id-field, or leave it out to number the rows 1, 2, 3, …"
            )
        ids = gdf[id_field].astype(object).to_numpy()
        missing = pd.isna(ids) | np.array([isinstance(v, str) and not v.strip() for v in ids])
        if missing.any():
            rows = (np.flatnonzero(missing) + 1)[:10]
            raise SiteInputError(
                f"id field {id_field!r} is empty in row(s) {', '.join(map(str, rows))}; fill "
                "them, or leave --id-field out to number the rows"
            )
        dup = pd.Series(ids).duplicated(keep=False).to_numpy()
        if dup.any():
            vals = list(dict.fromkeys(ids[dup]))[:10]
            raise SiteInputError(
                f"id field {id_field!r} has duplicate values: {', '.join(map(str, vals))}; "
                "each site needs its own id (fix the data, or leave --id-field out to number "
                "the rows)"
            )
        return np.array([str(v) for v in ids], dtype=object), id_field
    for cand in ID_CANDIDATES:
        if cand in gdf.columns:
            col = gdf[cand]
            if col.notna().all() and not col.duplicated().any():
                return np.array([str(v) for v in col], dtype=object), cand
    return np.array([str(i) for i in range(1, n + 1)], dtype=object), "(row number)"


def _infer_subject(family: np.ndarray) -> str:
    usable = family[family != "none"]
    if len(usable) and (usable == "line").mean() > 0.5:
        return "road"
    return "house"


def prepare_sites(
    sites: gpd.GeoDataFrame,
    workspace: Workspace,
    *,
    subject: str | None = None,
    id_field: str | None = None,
    footprint_m: float | None = None,
    width_field: str = "width_m",
) -> PreparedSites:
    """Validate a batch, give every row an id, and build footprints in the working CRS.

    Rows are never dropped: a row whose geometry is missing, empty, has a
    non-finite (NaN or infinite) coordinate, is not repairable, or lies far
    outside the workspace gets an ``error`` reason and later an ``error``
    status for every rule; so does a row :func:`geoplan.read_sites` could not
    read (its message travels in :data:`geoplan.sites.SITE_COLUMNS`, which
    are taken out of the batch here).

    A GeometryCollection is checked on its polygon part (its points and lines
    dropped, and a note saying so); a road on its polygon part, else on its
    line part. A collection without such a part is an ``error``, never
    checked on what happens to be left.
    """
    if not isinstance(sites, gpd.GeoDataFrame):
        raise SiteInputError("sites must be a GeoDataFrame (use geoplan.read_sites for files)")
    if sites.crs is None:
        raise SiteInputError("the sites have no CRS; set it (gdf.set_crs(4490)) or pass --crs")
    if footprint_m is not None and not (footprint_m > 0):
        raise SiteInputError(f"footprint_m must be a positive number of metres, got {footprint_m}")
    n = len(sites)
    if n == 0:
        raise SiteInputError("the batch has no sites (0 rows); there is nothing to check")
    error = np.full(n, "", dtype=object)
    error_zh = np.full(n, "", dtype=object)
    notes = np.full(n, "", dtype=object)
    unconverted = unconverted_systems(sites)  # judged before read_sites' columns are taken out
    sites = _take_site_columns(sites, error, error_zh, notes)
    site_id, _ = _auto_id(sites, id_field)
    geoms = np.asarray(sites.geometry.to_numpy(), dtype=object)

    missing = shapely.is_missing(geoms)
    geoms = np.where(missing, shapely.Point(), geoms)
    unconverted &= error == ""
    if unconverted.any():
        col = coordinate_system_column(list(sites.columns))
        for i in np.flatnonzero(unconverted):
            en_w, zh_w = _row_label(sites.index, i)
            error[i] = (f"{col} {sites[col].iloc[i]!r} ({en_w}) names a coordinate system other "
                        "than WGS84/CGCS2000, but the sites were not converted row by row; read "
                        "them with geoplan.read_sites, or convert them with "
                        "geoplan.sites.convert_coordinate_systems first")
            error_zh[i] = (f"{zh_w}{col}为 {sites[col].iloc[i]!r}，但坐标未逐行转换；请用 "
                           "geoplan.read_sites 读取，或先调用 convert_coordinate_systems")
    nonfinite = (error == "") & _nonfinite(geoms)
    for i in np.flatnonzero(nonfinite):
        en_w, zh_w = _row_label(sites.index, i)
        error[i] = (f"the site has a non-finite coordinate (NaN or infinity) ({en_w}); correct "
                    "its coordinates or redraw it")
        error_zh[i] = f"{zh_w}选址坐标含非有限数值（NaN 或无穷大），请更正坐标或重新绘制"
    geoms[error != ""] = shapely.Point()
    empty = (error == "") & shapely.is_empty(geoms)
    error[empty] = "the site has no geometry (empty or missing); digitise it and check again"
    error_zh[empty] = "该选址无几何图形（为空或缺失），请补充后重新核查"
    ok = error == ""
    if shapely.has_z(geoms[ok]).any():
        geoms[ok] = shapely.force_2d(geoms[ok])
    invalid = np.zeros(n, dtype=bool)
    invalid[ok] = ~shapely.is_valid(geoms[ok])
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
        gone = shapely.is_empty(fixed)
        idx = np.flatnonzero(invalid)
        geoms[idx[~gone]] = fixed[~gone]
        _add_note(notes, idx[~gone], "invalid geometry repaired with make_valid")
        error[idx[gone]] = ("the site geometry is invalid and collapses to nothing when "
                            "repaired; redraw it")
        error_zh[idx[gone]] = "选址几何无效且无法修复，请重新绘制"
        ok &= ~np.isin(np.arange(n), idx[gone])
    collections = _collection_parts(geoms, ok, error, error_zh)
    ok &= error == ""

    # Swapped lon/lat and sites far from the workspace, judged per site.
    src_crs = CRS.from_user_input(sites.crs)
    cent = np.full((n, 2), np.nan)
    if ok.any():
        c = shapely.centroid(geoms[ok])
        cent[ok, 0], cent[ok, 1] = shapely.get_x(c), shapely.get_y(c)
    if src_crs.is_geographic:
        swapped = ok & ((np.abs(cent[:, 1]) > 90) |
                        ((cent[:, 0] > 0) & (cent[:, 0] < 56) & (cent[:, 1] > 72) &
                         (cent[:, 1] < 137)))
        error[swapped] = ("the coordinates look swapped (latitude given as x, longitude as y); "
                          "swap the columns and check again")
        error_zh[swapped] = "坐标疑似经纬度颠倒（纬度写在x、经度写在y），请交换后重新核查"
        ok &= ~swapped

    work = workspace.crs
    out = np.full(n, None, dtype=object)
    if ok.any():
        series = gpd.GeoSeries(geoms[ok], crs=src_crs)
        out[ok] = np.asarray(series.to_crs(work).to_numpy(), dtype=object)
        bad = np.zeros(n, dtype=bool)
        bad[ok] = ~np.isfinite(shapely.bounds(out[ok])).all(axis=1)
        error[bad] = "the coordinates cannot be transformed to the working CRS; check the CRS"
        error_zh[bad] = "坐标无法转换到工作坐标系，请检查坐标系"
        ok &= ~bad
    extent = _workspace_extent(workspace)
    if extent is not None and ok.any():
        far = np.zeros(n, dtype=bool)
        box = shapely.box(*extent)
        dist = shapely.distance(out[ok], box)
        far[ok] = dist > 1000.0
        idx = np.flatnonzero(far)
        for i in idx:
            d = shapely.distance(out[i], box) / 1000
            error[i] = (f"the site lies {d:.1f} km outside the workspace's layers; check its "
                        "coordinates and CRS (GCJ-02 sites need --gcj02), or add layers that "
                        "cover it")
            error_zh[i] = f"选址位于工作空间图层范围外 {d:.1f} 公里，请检查坐标与坐标系"
        ok &= ~far
    for i in np.flatnonzero(~ok):
        out[i] = shapely.Point()
    family = geometry_families(out)
    if subject is None:
        subject = _infer_subject(family[ok])
    if subject not in SITE_SUBJECTS:
        raise SiteInputError(f"subject must be one of {', '.join(SITE_SUBJECTS)}, not {subject!r}")
    for i, (used, dropped, dropped_zh) in collections.items():
        if not ok[i]:
            continue
        if used == "line" and subject != "road":
            error[i] = (f"the site is a GeometryCollection without a polygon part (it holds "
                        f"{dropped}); a {subject} is checked on its footprint: give the "
                        "footprint polygon (or one point per site)")
            error_zh[i] = (f"选址为几何集合（GeometryCollection），不含面（含{dropped_zh}），"
                           "无法核查；请提供占地范围面（或每个选址一个点）")
            ok[i] = False
            out[i] = shapely.Point()
            family[i] = "none"
            continue
        what = "polygon" if used == "polygon" else "line"
        text = f"GeometryCollection checked on its {what} part"
        _add_note(notes, [i], f"{text}; dropped {dropped}" if dropped else text)

    centreline = out.copy()
    no_width = np.zeros(n, dtype=bool)
    geom = out.copy()
    if subject == "road":
        lines = ok & (family == "line")
        if lines.any():
            if width_field in sites.columns:
                width = pd.to_numeric(sites[width_field], errors="coerce").to_numpy(dtype=float)
            else:
                width = np.full(n, np.nan)
            has_w = lines & np.isfinite(width) & (width > 0)
            geom[has_w] = shapely.buffer(out[has_w], width[has_w] / 2, cap_style="flat")
            no_width = lines & ~has_w
    elif footprint_m is not None:
        pts = ok & (family == "point")
        if pts.any():
            geom[pts] = shapely.buffer(out[pts], footprint_m / 2, cap_style="square")
            _add_note(notes, np.flatnonzero(pts), f"point buffered to a {footprint_m:g} m square")
    return PreparedSites(gdf=sites, site_id=site_id, subject=subject, geom=geom,
                         centreline=centreline, family=geometry_families(geom), error=error,
                         error_zh=error_zh, notes=notes, no_width=no_width)


def _take_site_columns(sites: gpd.GeoDataFrame, error: np.ndarray, error_zh: np.ndarray,
                       notes: np.ndarray) -> gpd.GeoDataFrame:
    """Move the per-row messages of :func:`geoplan.read_sites` into the arrays (in place)
    and return the sites without those columns."""
    have = [c for c in SITE_COLUMNS if c in sites.columns]
    if not have:
        return sites
    for col, arr in zip(SITE_COLUMNS, (error, error_zh, notes), strict=True):
        if col in sites.columns:
            vals = sites[col].to_numpy(dtype=object)
            arr[:] = np.where(pd.isna(vals), "", vals)
    return sites.drop(columns=have)


def _add_note(notes: np.ndarray, rows: Any, text: str) -> None:
    """Append ``text`` to the notes of ``rows`` (in place), after any note already there."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cur = notes[rows]
    has = cur != ""
    out = np.full(len(rows), text, dtype=object)
    out[has] = cur[has] + ("; " + text)
    notes[rows] = out


def _row_label(index: pd.Index, i: int) -> tuple[str, str]:
    """How to name row ``i`` in a message: its 1-based input row (the index + 1 when the
    index holds input row numbers, as for chunks of a larger batch)."""
    r = int(index[i]) + 1 if pd.api.types.is_integer_dtype(index.dtype) else i + 1
    return f"row {r}", f"第 {r} 行"


def _nonfinite(geoms: np.ndarray) -> np.ndarray:
    """Per geometry: does any x or y coordinate hold NaN or infinity?"""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = np.zeros(len(geoms), dtype=bool)
    if len(coords):
        bad[owner[~np.isfinite(coords).all(axis=1)]] = True
    return bad


_PART_NAMES = (("point", "point", "points", "个点"), ("line", "line", "lines", "条线"),
               ("polygon", "polygon", "polygons", "个面"))


def _collection_parts(geoms: np.ndarray, ok: np.ndarray, error: np.ndarray,
                      error_zh: np.ndarray) -> dict[int, tuple[str, str, str]]:
    """Replace each usable GeometryCollection by its polygon part, else its line part (in
    place); a collection with neither gets an error.

    Returns, per collection kept, the part used (``polygon`` / ``line``) and what
    was dropped (English, Chinese), for the subject check and the site's note.
    """
    out: dict[int, tuple[str, str, str]] = {}
    idx = np.flatnonzero(ok & (shapely.get_type_id(geoms) == 7))
    for i in idx:
        parts = np.asarray(shapely.get_parts(geoms[i]), dtype=object)
        while len(parts) and (shapely.get_type_id(parts) >= 4).any():
            multi = shapely.get_type_id(parts) >= 4
            parts = np.concatenate([parts[~multi],
                                    np.asarray(shapely.get_parts(parts[multi]), dtype=object)])
        parts = parts[~shapely.is_empty(parts)] if len(parts) else parts
        fam = geometry_families(parts)
        count = {f: int((fam == f).sum()) for f in ("point", "line", "polygon")}

        def say(skip: tuple[str, ...], count: dict[str, int] = count) -> tuple[str, str]:
            sel = [t for t in _PART_NAMES if t[0] not in skip and count[t[0]]]
            return (", ".join(f"{count[f]} {one if count[f] == 1 else many}"
                              for f, one, many, _ in sel),
                    "、".join(f"{count[f]} {unit}" for f, _, _, unit in sel))

        if count["polygon"]:
            geoms[i] = shapely.union_all(parts[fam == "polygon"])
            out[int(i)] = ("polygon", *say(("polygon",)))
        elif count["line"]:
            geoms[i] = shapely.union_all(parts[fam == "line"])
            out[int(i)] = ("line", *say(("line",)))
        else:
            en, zh = say(())
            error[i] = (f"the site is a GeometryCollection without a polygon or line part (it "
                        f"holds {en or 'nothing'}); give the footprint polygon (or one point "
                        "per site)")
            error_zh[i] = (f"选址为几何集合（GeometryCollection），不含面或线（含{zh or '无'}），"
                           "无法核查；请提供占地范围面（或每个选址一个点）")
    return out


def _workspace_extent(ws: Workspace) -> tuple[float, float, float, float] | None:
    boxes = []
    for layer in ws.layers.values():
        if isinstance(layer, Layer) and len(layer.gdf):
            boxes.append(layer.gdf.total_bounds)
        if isinstance(layer, Layer) and layer.unknown is not None and len(layer.unknown):
            boxes.append(layer.unknown.total_bounds)
        elif isinstance(layer, RasterLayer):
            boxes.append(np.asarray(layer.bounds))
    if not boxes:
        return None
    a = np.array(boxes)
    return (a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max())


# --------------------------------------------------------------------------- constraint cache


_BIG = 256
"""Features with more coordinates than this are "big": see :meth:`_Constraint.query`."""
_CHUNK = 32
"""Segments per chunk when a big feature's boundary is split for distance queries."""
_CONVERSE = {"intersects": shapely.intersects, "within": shapely.contains,
             "covered_by": shapely.covers}
"""``predicate(site, feature)`` as the equivalent test with the feature first (prepared)."""


def _chunk_lines(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split linework into pieces of at most ``_CHUNK`` segments: (pieces, index of the input).

    Pieces share their end vertices and keep the original coordinates, so the
    distance to a line is exactly the least distance to its pieces.
    """
    parts, owner = shapely.get_parts(lines, return_index=True)
    parts, sub = shapely.get_parts(parts, return_index=True)  # rings of multi-boundaries
    owner = owner[sub]
    coords, ci = shapely.get_coordinates(parts, return_index=True)
    counts = np.bincount(ci, minlength=len(parts))
    starts = np.cumsum(counts) - counts
    idx: list[np.ndarray] = []
    cid: list[np.ndarray] = []
    own: list[np.ndarray] = []
    k = 0
    for p, (st, m) in enumerate(zip(starts.tolist(), counts.tolist(), strict=True)):
        if m < 2:
            continue
        n_chunks = -(-(m - 1) // _CHUNK)
        for j in range(n_chunks):
            a, b = st + j * _CHUNK, st + min((j + 1) * _CHUNK, m - 1)
            idx.append(np.arange(a, b + 1))
            cid.append(np.full(b - a + 1, k))
            k += 1
        own.append(np.full(n_chunks, owner[p]))
    if not k:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    ii = np.concatenate(idx)
    pieces = shapely.linestrings(coords[ii], indices=np.concatenate(cid))
    return np.asarray(pieces, dtype=object), np.concatenate(own).astype(np.int64)


def _nearest_within(geoms: np.ndarray, sites: np.ndarray, radius: float, tree: shapely.STRtree,
                    cand: np.ndarray, cb: np.ndarray, best: np.ndarray) -> None:
    """Set ``best[s]`` to the distance to the nearest of ``cand`` for the ``sites`` that
    have one within ``radius`` (exactly: every candidate that close is considered).

    Candidates are those whose box meets the site's box grown by ``radius``;
    the exact distance is computed first to the candidate with the nearest box,
    then only to candidates whose box is no farther than that distance.
    """
    sb = shapely.bounds(geoms[sites])
    qs, qf = tree.query(shapely.box(sb[:, 0] - radius, sb[:, 1] - radius,
                                    sb[:, 2] + radius, sb[:, 3] + radius))
    if not len(qs):
        return
    s, c = sb[qs], cb[qf]
    bd = np.hypot(np.maximum(np.maximum(c[:, 0] - s[:, 2], s[:, 0] - c[:, 2]), 0.0),
                  np.maximum(np.maximum(c[:, 1] - s[:, 3], s[:, 1] - c[:, 3]), 0.0))
    order = np.lexsort((bd, qs))
    qs, qf, bd = qs[order], qf[order], bd[order]
    first = np.flatnonzero(np.r_[True, qs[1:] != qs[:-1]])
    ub = np.full(len(sites), np.inf)
    ub[qs[first]] = shapely.distance(geoms[sites[qs[first]]], cand[qf[first]])
    rest = np.ones(len(qs), dtype=bool)
    rest[first] = False
    rest &= bd <= ub[qs]
    if rest.any():
        d = shapely.distance(geoms[sites[qs[rest]]], cand[qf[rest]])
        np.minimum.at(ub, qs[rest], d)
    near = ub <= radius
    best[sites[near]] = np.minimum(best[sites[near]], ub[near])


@dataclass
class _Spatial:
    """Helpers for a layer with big features (built once per constraint)."""

    big: np.ndarray                 # bool per feature
    dgeoms: np.ndarray              # small features as they are, big ones as boundary chunks
    downer: np.ndarray              # feature index of each dgeoms entry
    dtree: shapely.STRtree


@dataclass
class _Constraint:
    layer: Layer
    gdf: gpd.GeoDataFrame
    geoms: np.ndarray
    fids: np.ndarray
    names: np.ndarray
    tree: shapely.STRtree
    family: str
    _partition: bool | None = None
    _sp: _Spatial | bool | None = None

    @property
    def is_partition(self) -> bool:
        """Whether no two features share interior area (then overlaps can be summed)."""
        if self._partition is None:
            if self.family != "polygon" or len(self.geoms) < 2:
                self._partition = True
            else:
                a, b = self.query(self.geoms, "intersects")
                keep = a < b
                a, b = a[keep], b[keep]
                self._partition = not bool(
                    shapely.relate_pattern(self.geoms[a], self.geoms[b], "T********").any())
        return self._partition

    # Big features (a flood zone of 10⁵ vertices) make every pairwise test against
    # them cost O(vertices). They are prepared once (indexed point-in-polygon and
    # segment tests), their boundaries split into short chunks for distances, and
    # clipped to the neighbourhood of a site before an overlay. Layers without big
    # features use the STRtree directly, as before.

    def _spatial(self) -> _Spatial | None:
        if self._sp is None:
            big = shapely.get_num_coordinates(self.geoms) > _BIG
            if not big.any():
                self._sp = False
            else:
                bi = np.flatnonzero(big)
                shapely.prepare(self.geoms[bi])
                lines = (shapely.boundary(self.geoms[bi]) if self.family == "polygon"
                         else self.geoms[bi])
                chunks, owner = _chunk_lines(lines)
                small = np.flatnonzero(~big)
                dgeoms = np.concatenate([self.geoms[small], chunks])
                self._sp = _Spatial(big=big, dgeoms=dgeoms,
                                    downer=np.concatenate([small, bi[owner]]),
                                    dtree=shapely.STRtree(dgeoms))
        return self._sp or None

    def query(self, geoms: np.ndarray, predicate: str) -> tuple[np.ndarray, np.ndarray]:
        """``tree.query(geoms, predicate=…)`` → (site index, feature index) pairs."""
        sp = self._spatial()
        if sp is None:
            qs, qf = self.tree.query(geoms, predicate=predicate)
            return qs, qf
        qs, qf = self.tree.query(geoms)
        keep = np.zeros(len(qs), dtype=bool)
        b = sp.big[qf]
        keep[~b] = getattr(shapely, predicate)(geoms[qs[~b]], self.geoms[qf[~b]])
        keep[b] = _CONVERSE[predicate](self.geoms[qf[b]], geoms[qs[b]])
        return qs[keep], qf[keep]

    def _inside_big(self, geoms: np.ndarray, sp: _Spatial) -> tuple[np.ndarray, np.ndarray]:
        qs, qf = self.tree.query(geoms)
        b = sp.big[qf]
        qs, qf = qs[b], qf[b]
        hit = shapely.intersects(self.geoms[qf], geoms[qs])
        return qs[hit], qf[hit]

    def nearest(self, geoms: np.ndarray, max_distance: float | None = None,
                ) -> tuple[np.ndarray, np.ndarray]:
        """``tree.query_nearest(geoms, return_distance=True, all_matches=False)``."""
        kw: dict[str, Any] = {"return_distance": True, "all_matches": False}
        if max_distance is not None:
            kw["max_distance"] = max_distance
        sp = self._spatial()
        if sp is None:
            qi, d = self.tree.query_nearest(geoms, **kw)
            return qi, d
        qi, d = sp.dtree.query_nearest(geoms, **kw)
        site, feat = qi[0], sp.downer[qi[1]]
        if self.family == "polygon":  # inside a big polygon, far from its boundary
            qs, qf = self._inside_big(geoms, sp)
            if len(qs):
                n = len(geoms)
                best_d = np.full(n, np.inf)
                best_f = np.full(n, -1, dtype=np.int64)
                best_d[site], best_f[site] = d, feat
                order = np.argsort(qs, kind="stable")
                qs, qf = qs[order], qf[order]
                first = np.r_[True, qs[1:] != qs[:-1]]
                qs, qf = qs[first], qf[first]
                upd = best_d[qs] > 0
                best_d[qs[upd]], best_f[qs[upd]] = 0.0, qf[upd]
                have = np.flatnonzero(best_f >= 0)
                return np.vstack([have, best_f[have]]), best_d[have]
        return np.vstack([site, feat]), d

    def nearest_distance(self, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(site index, distance to the nearest feature): :meth:`nearest` without the feature.

        Sites touching a feature get 0; sites with a feature within ½, 2 or 8
        typical feature spacings get the least distance over the features that
        close (see :func:`_nearest_within`);
        the rest go to the STRtree's nearest search (slow where many features
        are about equally far).
        """
        n = len(geoms)
        best = np.full(n, np.inf)
        todo = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
        if len(self.geoms) and len(todo):
            qs, _ = self.query(geoms[todo], "intersects")
            best[todo[qs]] = 0.0
            todo = todo[best[todo] > 0]
            # then all features (or boundary chunks of big ones) within r of a site,
            # found as candidates of the site's box grown by r
            sp = self._spatial()
            tree, cand = (self.tree, self.geoms) if sp is None else (sp.dtree, sp.dgeoms)
            b = shapely.total_bounds(cand)
            r0 = max(math.sqrt(max((b[2] - b[0]) * (b[3] - b[1]), 1.0) / len(cand)), 1.0)
            cb = shapely.bounds(cand)
            for radius in (r0 / 2, 2 * r0):
                for k in range(0, len(todo), 20_000):  # bounded memory for the candidates
                    part = todo[k:k + 20_000]
                    _nearest_within(geoms, part, radius, tree, cand, cb, best)
                todo = todo[~np.isfinite(best[todo])]
                if not len(todo):
                    break
        if len(self.geoms) and len(todo):
            qi, d = self.nearest(geoms[todo])
            best[todo[qi[0]]] = d
        have = np.flatnonzero(np.isfinite(best))
        return have, best[have]

    def within_distance(self, geoms: np.ndarray, distance: float,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (site, feature) within ``distance``, with their distance."""
        sp = self._spatial()
        if sp is None:
            qs, qf = self.tree.query(geoms, predicate="dwithin", distance=distance)
            return qs, qf, shapely.distance(geoms[qs], self.geoms[qf])
        qs, qk = sp.dtree.query(geoms, predicate="dwithin", distance=distance)
        d = shapely.distance(geoms[qs], sp.dgeoms[qk])
        qf = sp.downer[qk]
        if self.family == "polygon":
            a, b = self._inside_big(geoms, sp)
            qs, qf, d = np.r_[qs, a], np.r_[qf, b], np.r_[d, np.zeros(len(a))]
        nf = len(self.geoms)
        key = qs.astype(np.int64) * nf + qf
        order = np.lexsort((d, key))
        key, d = key[order], d[order]
        first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
        key, d = key[first], d[first]
        return key // nf, key % nf, d

    def local(self, feat: np.ndarray, bounds: np.ndarray, margin: float | np.ndarray,
              ) -> np.ndarray:
        """Features ``feat``, big ones clipped to ``bounds`` (per row) grown by ``margin``.

        Inside the grown box a clipped feature is the feature itself, so any
        overlay or buffer of reach < ``margin`` near the box is unchanged.
        """
        out = self.geoms[feat].copy()
        sp = self._spatial()
        if sp is None:
            return out
        m = np.broadcast_to(np.asarray(margin, dtype=float), (len(feat),))
        for i in np.flatnonzero(sp.big[feat]):
            b = bounds[i]
            clipped = shapely.clip_by_rect(out[i], b[0] - m[i], b[1] - m[i], b[2] + m[i],
                                           b[3] + m[i])
            if shapely.is_valid(clipped):
                out[i] = clipped
        return out

    def intersection(self, geoms: np.ndarray, feat: np.ndarray) -> np.ndarray:
        """``shapely.intersection(geoms, self.geoms[feat])``, pairwise."""
        sp = self._spatial()
        if sp is None:
            return shapely.intersection(geoms, self.geoms[feat])
        out = np.empty(len(feat), dtype=object)
        b = sp.big[feat]
        out[~b] = shapely.intersection(geoms[~b], self.geoms[feat[~b]])
        bi = np.flatnonzero(b)
        if len(bi):
            g = geoms[bi]
            inside = (shapely.contains_properly(self.geoms[feat[bi]], g)
                      if self.family == "polygon" else np.zeros(len(bi), dtype=bool))
            out[bi[inside]] = g[inside]
            rest = bi[~inside]
            if len(rest):
                out[rest] = shapely.intersection(
                    geoms[rest], self.local(feat[rest], shapely.bounds(geoms[rest]), 1.0))
        return out


@dataclass
class _Unknown:
    """Features of a rule's layer that its filters cannot decide, and what to say about them."""

    both: _Constraint
    """The selected features together with the undecided ones."""
    n: int
    zh: str
    en: str


class _Cache:
    """The constraints of a workspace (one STRtree per layer and filter), built when first read."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._c: dict[tuple[str, str], _Constraint | str] = {}
        self._u: dict[tuple[str, str], _Unknown | None] = {}

    @staticmethod
    def _build(layer: Layer, gdf: gpd.GeoDataFrame, rule: Rule) -> _Constraint | str:
        geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
        fam = geometry_families(geoms)
        fam_name = fam[0] if len(fam) else KINDS[rule.layer or layer.name].families[0]
        if len(set(fam)) > 1:
            return f"layer {rule.layer} mixes geometry families ({', '.join(set(fam))})"
        name_col = next((c for c in ("name", "village", "road_id", "code")
                         if c in gdf.columns), None)
        names = (gdf[name_col].astype(object).to_numpy() if name_col
                 else np.full(len(gdf), None, dtype=object))
        return _Constraint(layer=layer, gdf=gdf, geoms=geoms,
                           fids=gdf["fid"].to_numpy() if "fid" in gdf.columns
                           else np.arange(1, len(gdf) + 1),
                           names=names, tree=shapely.STRtree(geoms), family=fam_name)

    def get(self, rule: Rule) -> _Constraint | str:
        """The constraint for a rule, or a reason string when it cannot be used.

        ``"missing"`` when the workspace has no such layer; otherwise a sentence
        (English) saying why not, e.g. a filter that selected nothing.
        """
        assert rule.layer is not None
        key = (rule.layer, rule.where.text if rule.where else "")
        if key in self._c:
            return self._c[key]
        layer = self.ws.vector(rule.layer)
        result: _Constraint | str
        unknown: _Unknown | None = None
        if layer is None:
            result = "missing"
        elif layer.filtered_to_nothing:
            result = (f"the filter where {layer.where_text!r} of layer {rule.layer} "
                      f"({CONFIG_NAME}) kept none of its {layer.n_read} features; "
                      f"{_values_found(layer, layer.gdf, _where_fields(layer.where_text))}; "
                      "fix the filter or map the values (values.<field> in "
                      f"[layers.{rule.layer}])")
        elif layer.n_read > 0 and len(layer.gdf) == 0 and layer.n_unknown == 0:
            result = (f"layer {rule.layer} has {layer.n_read} features but none is usable "
                      f"({layer.repairs.describe() or 'see geoplan layers'})")
        else:
            gdf = layer.gdf
            ugdf = layer.unknown if layer.unknown is not None else gdf.iloc[:0]
            fields: list[str] = _where_fields(layer.where_text)
            wtext = layer.where_text or ""
            if rule.where is not None:
                missing = rule.where.missing_fields(gdf.columns)
                if missing:
                    result = (f"field(s) {', '.join(missing)} used by where = "
                              f"{rule.where.text!r} are not in layer {rule.layer}")
                    self._c[key] = result
                    self._u[key] = None
                    return result
                sel, unk = rule.where.evaluate(gdf, scheme=layer.scheme, literals=layer.literals)
                if len(ugdf):
                    usel, uunk = rule.where.evaluate(ugdf, scheme=layer.scheme,
                                                     literals=layer.literals)
                    ugdf = ugdf.loc[usel | uunk]
                ugdf = pd.concat([gdf.loc[unk], ugdf], ignore_index=True) if unk.any() else ugdf
                source_rows = gdf
                gdf = gdf.loc[sel]
                fields = sorted(set(fields) | set(rule.where.fields))
                wtext = (f"{wtext} and {rule.where.text}" if wtext else rule.where.text)
                if len(gdf) == 0 and len(source_rows) + len(ugdf) > 0:
                    n_all = len(source_rows) + (layer.n_unknown or 0)
                    result = (f"where {rule.where.text!r} selected none of the {n_all} "
                              f"features of layer {rule.layer}; "
                              f"{_values_found(layer, source_rows, fields)}; fix the values "
                              f"(values.<field> in [layers.{rule.layer}] of {CONFIG_NAME}) or "
                              "the rule's filter")
                    self._c[key] = result
                    self._u[key] = None
                    return result
            result = self._build(layer, gdf, rule)
            if len(ugdf) and not isinstance(result, str):
                both = self._build(layer, pd.concat([gdf, ugdf], ignore_index=True), rule)
                if isinstance(both, str):
                    result = both
                else:
                    found = _values_found(layer, ugdf, fields)
                    nu = len(ugdf)
                    lzh = KINDS[rule.layer].label_zh
                    unknown = _Unknown(
                        both=both, n=nu,
                        zh=(f"无法判定：{lzh}图层有{nu}个要素的{'、'.join(fields)}为空或无法识别"
                            f"（{found}），筛选条件“{wtext}”无法判断其是否适用，而本处位于其"
                            f"影响范围内；请补全该字段，或在 {CONFIG_NAME} 中用 values.<字段> 映射取值"),
                        en=(f"cannot tell: {nu} feature(s) of {rule.layer} have "
                            f"{', '.join(fields)} empty or not understood ({found}), so "
                            f"where {wtext!r} cannot decide whether they apply, and this "
                            "site is within reach of one; fill the field, or map its values "
                            f"with values.<field> in [layers.{rule.layer}] of {CONFIG_NAME}"))
        self._c[key] = result
        self._u[key] = unknown
        return result

    def unknown(self, rule: Rule) -> _Unknown | None:
        """The undecided features of the rule's layer (after :meth:`get`), or ``None``."""
        assert rule.layer is not None
        key = (rule.layer, rule.where.text if rule.where else "")
        if key not in self._u:
            self.get(rule)
        return self._u.get(key)


def _where_fields(text: str | None) -> list[str]:
    if not text:
        return []
    from .expr import compile_where

    return sorted(compile_where(text).fields)


def _values_found(layer: Layer, gdf: gpd.GeoDataFrame, fields: list[str]) -> str:
    """``level holds '2' ×6, NULL ×1`` for the fields a filter reads."""
    parts = [f"{f} holds {describe_values(gdf[f], unreadable=layer.unreadable.get(f))}"
             for f in fields if f in gdf.columns]
    return "; ".join(parts) if parts else "the layer is empty"


ConstraintCache = _Cache


def constraint_cache(workspace: Workspace) -> ConstraintCache:
    """A cache of the workspace's spatial indexes to pass to :func:`evaluate` again and again.

    Each layer (and ``where`` filter) gets its STRtree, prepared big features
    and boundary chunks once, however many batches or chunks are evaluated.
    """
    return _Cache(workspace)


# --------------------------------------------------------------------------- outcomes


@dataclass
class _Out:
    """Per-site outcome arrays of one rule (length n_sites)."""

    n: int
    status: np.ndarray = field(init=False)
    measure: np.ndarray = field(init=False)
    unit: np.ndarray = field(init=False)
    threshold: np.ndarray = field(init=False)
    matched: np.ndarray = field(init=False)
    zh: np.ndarray = field(init=False)
    en: np.ndarray = field(init=False)
    ev_idx: list[np.ndarray] = field(default_factory=list)
    ev_geom: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.status = np.full(self.n, "pass", dtype=object)
        self.measure = np.full(self.n, np.nan)
        self.unit = np.full(self.n, "", dtype=object)
        self.threshold = np.full(self.n, np.nan)
        self.matched = np.full(self.n, "", dtype=object)
        self.zh = np.full(self.n, "", dtype=object)
        self.en = np.full(self.n, "", dtype=object)

    def set(self, mask: np.ndarray, *, status: Any = None, zh: Any = None, en: Any = None,
            measure: Any = None, unit: Any = None, threshold: Any = None) -> None:
        for name, val in (("status", status), ("zh", zh), ("en", en), ("measure", measure),
                          ("unit", unit), ("threshold", threshold)):
            if val is not None:
                arr = getattr(self, name)
                if isinstance(val, _Text):
                    idx = np.flatnonzero(mask)
                    if len(idx):
                        arr[idx] = val.take(idx)
                    continue
                arr[mask] = val[mask] if isinstance(val, np.ndarray) and val.shape == (self.n,) \
                    else val


class _Text:
    """Per-site text, built only for the sites it is assigned to (see :meth:`_Out.set`).

    ``_fmt(values, ".1f")`` gives one; ``+`` with strings, object arrays (one
    entry per site) or other ``_Text`` concatenates lazily, so a message is
    formatted for the few sites that fail, not for the whole batch.
    """

    __array_ufunc__ = None  # ndarray + _Text → _Text.__radd__
    __slots__ = ("parts",)

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts

    @staticmethod
    def _parts(x: Any) -> list[Any]:
        return x.parts if type(x) is _Text else [x]

    def __add__(self, other: Any) -> _Text:
        return _Text([*self.parts, *self._parts(other)])

    def __radd__(self, other: Any) -> _Text:
        return _Text([*self._parts(other), *self.parts])

    def take(self, idx: np.ndarray) -> np.ndarray:
        acc = np.full(len(idx), "", dtype=object)
        for p in self.parts:
            if isinstance(p, str):
                acc = acc + p
            elif isinstance(p, (_Text, _Num, _Where)):
                acc = acc + p.take(idx)
            else:
                acc = acc + np.asarray(p)[idx].astype(object)
        return acc


class _Num:
    __slots__ = ("fmt", "values")

    def __init__(self, values: np.ndarray, fmt: str) -> None:
        self.values, self.fmt = values, fmt

    def take(self, idx: np.ndarray) -> np.ndarray:
        fmt = self.fmt
        return np.array([format(v, fmt) if np.isfinite(v) else "—"
                         for v in self.values[idx].tolist()], dtype=object)


class _Where:
    __slots__ = ("a", "b", "cond")

    def __init__(self, cond: np.ndarray, a: Any, b: Any) -> None:
        self.cond, self.a, self.b = cond, a, b

    def take(self, idx: np.ndarray) -> np.ndarray:
        out = np.empty(len(idx), dtype=object)
        c = self.cond[idx]
        for sel, val in ((c, self.a), (~c, self.b)):
            if sel.any():
                out[sel] = val.take(idx[sel]) if isinstance(val, _Text) else val
        return out


def _fmt(values: np.ndarray, fmt: str) -> _Text:
    """``format(v, fmt)`` per site (``—`` where not finite), formatted lazily."""
    return _Text([_Num(np.asarray(values, dtype=float), fmt)])


def _where(cond: np.ndarray, a: Any, b: Any) -> _Text:
    """``np.where`` for lazy text."""
    return _Text([_Where(cond, a, b)])


def _label(rule: Rule) -> tuple[str, str]:
    k = KINDS.get(rule.layer or "")
    return (k.label_zh, k.label_en) if k else ("", "")


def _group_reduce(site_idx: np.ndarray, values: np.ndarray, n: int,
                  how: str = "sum") -> np.ndarray:
    out = np.full(n, 0.0 if how == "sum" else np.inf)
    if len(site_idx):
        if how == "sum":
            np.add.at(out, site_idx, values)
        else:
            np.minimum.at(out, site_idx, values)
    return out


def _joined_ids(site_idx: np.ndarray, fids: np.ndarray, n: int) -> np.ndarray:
    if not len(site_idx):
        return np.full(n, "", dtype=object)
    order = np.lexsort((fids.astype(str), site_idx))
    s, f = site_idx[order], fids[order]
    text = np.array([str(v) for v in f.tolist()], dtype=object)
    # per site, each id once (equal ids are adjacent once sorted by their text)
    keep = np.r_[True, (s[1:] != s[:-1]) | (text[1:] != text[:-1])]
    return _group_join(s[keep], text[keep], ";", n)


def _union_per_site(site_idx: np.ndarray, pieces: np.ndarray, n: int,
                    *, disjoint: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-site union of intersection pieces: (area or length measure geometry, site ids)."""
    geoms = np.full(n, None, dtype=object)
    if not len(site_idx):
        return geoms, np.array([], dtype=int)
    order = np.argsort(site_idx, kind="stable")
    s, p = site_idx[order], pieces[order]
    starts = np.r_[0, np.flatnonzero(np.diff(s)) + 1]
    counts = np.diff(np.r_[starts, len(s)])
    single = counts == 1
    geoms[s[starts[single]]] = p[starts[single]]
    for st, c in zip(starts[~single], counts[~single], strict=True):
        group = p[st:st + c]
        geoms[s[st]] = (shapely.union_all(group) if not disjoint
                        else shapely.multipolygons(shapely.get_parts(group))
                        if all(shapely.get_type_id(g) in (3, 6) for g in group)
                        else shapely.union_all(group))
    return geoms, np.unique(s)


# --------------------------------------------------------------------------- rule kinds


def _overlap(rule: Rule, c: _Constraint, st: PreparedSites, active: np.ndarray,
             out: _Out, *, limit_m2: float | None, limit_pct: float | None,
             inside: bool) -> None:
    """avoid / overlap_limit (inside=True) and within (inside=False) for polygon layers."""
    n = out.n
    lzh, len_ = _label(rule)
    fam = st.family
    poly = np.flatnonzero(active & (fam == "polygon"))
    line = np.flatnonzero(active & (fam == "line"))
    pts = np.flatnonzero(active & (fam == "point"))
    tol = rule.tolerance_m2

    if len(poly):
        qs, qf = c.query(st.geom[poly], "intersects")
        si = poly[qs]
        pieces = c.intersection(st.geom[si], qf)
        area = shapely.area(pieces)
        keep = area > 0
        si, qf, pieces = si[keep], qf[keep], pieces[keep]
        if c.is_partition:
            total = _group_reduce(si, shapely.area(pieces), n)
            ev, ev_sites = _union_per_site(si, pieces, n, disjoint=True)
        else:
            ev, ev_sites = _union_per_site(si, pieces, n, disjoint=False)
            total = np.zeros(n)
            total[ev_sites] = shapely.area(ev[ev_sites])
        site_area = np.zeros(n)
        site_area[poly] = shapely.area(st.geom[poly])
        mask = np.zeros(n, dtype=bool)
        mask[poly] = True
        pct = np.divide(total, site_area, out=np.zeros(n), where=site_area > 0) * 100
        matched = _joined_ids(si, c.fids[qf], n)
        if inside:
            measure = total
            bad = measure > tol
            if limit_m2 is not None or limit_pct is not None:
                over_m2 = measure > max(limit_m2 or 0.0, tol) if limit_m2 is not None else False
                over_pct = (pct > limit_pct) & (measure > tol) if limit_pct is not None else False
                bad = np.asarray(over_m2 | over_pct, dtype=bool)
            thr = limit_m2 if limit_m2 is not None else tol
            mu = measure * MU_PER_M2
            zh_bad = (f"与{lzh}重叠 " + _fmt(measure, ".1f") + " 平方米（" + _fmt(mu, ".3f") +
                      " 亩，占 " + _fmt(pct, ".0f") + "%）")
            en_bad = (f"overlaps {len_} by " + _fmt(measure, ".1f") + " m² (" + _fmt(mu, ".3f") +
                      " mu, " + _fmt(pct, ".0f") + "% of the site)")
            small = (measure > 0) & ~bad
            zh_ok = _where(small, f"与{lzh}仅边缘接触（" + _fmt(measure, ".2f") +
                           " 平方米，低于容差）", f"未与{lzh}重叠")
            en_ok = _where(small, f"touches {len_} only (" + _fmt(measure, ".2f") +
                           " m², below the tolerance)", f"no overlap with {len_}")
            out.set(mask, measure=measure, unit="m2", threshold=thr)
            out.set(mask & bad, status=rule.severity, zh=zh_bad, en=en_bad)
            out.set(mask & ~bad, zh=zh_ok, en=en_ok)
            out.matched[mask & bad] = matched[mask & bad]
            ev_sites = ev_sites[bad[ev_sites]]
            out.ev_idx.append(ev_sites)
            out.ev_geom.append(ev[ev_sites])
        else:
            outside = np.maximum(site_area - total, 0.0)
            bad = outside > tol
            zh_bad = (f"超出{lzh} " + _fmt(outside, ".1f") + " 平方米（" +
                      _fmt(100 - pct, ".0f") + "%）")
            en_bad = ("lies " + _fmt(outside, ".1f") + f" m² outside the {len_} (" +
                      _fmt(100 - pct, ".0f") + "% of the site)")
            out.set(mask, measure=outside, unit="m2", threshold=tol)
            out.set(mask & bad, status=rule.severity, zh=zh_bad, en=en_bad)
            out.set(mask & ~bad, zh=f"位于{lzh}内", en=f"inside the {len_}")
            out.matched[mask] = matched[mask]
            outs = np.flatnonzero(mask & bad)
            if len(outs):
                inside_geom = np.where(shapely.is_missing(ev[outs]), shapely.Polygon(), ev[outs])
                diff = shapely.difference(st.geom[outs], inside_geom)
                out.ev_idx.append(outs)
                out.ev_geom.append(diff)

    if len(line):  # road centrelines without width
        if rule.kind == "overlap_limit":
            m = np.zeros(n, dtype=bool)
            m[line] = True
            out.set(m, status="not_checked",
                    zh="道路缺少路宽(width_m)，无法计算占地面积", en="the road has no width_m, "
                    "so its footprint area cannot be measured; add the width")
        else:
            qs, qf = c.query(st.geom[line], "intersects")
            si = line[qs]
            pieces = c.intersection(st.geom[si], qf)
            ev, ev_sites = _union_per_site(si, pieces, n, disjoint=False)
            length = np.zeros(n)
            length[ev_sites] = shapely.length(ev[ev_sites])
            site_len = np.zeros(n)
            site_len[line] = shapely.length(st.geom[line])
            m = np.zeros(n, dtype=bool)
            m[line] = True
            measure = length if inside else np.maximum(site_len - length, 0.0)
            bad = measure > rule.tolerance_m
            if inside:
                zh_b = f"中线穿越{lzh} " + _fmt(measure, ".1f") + " 米（路宽缺失，按中线核查）"
                en_b = "centreline runs " + _fmt(measure, ".1f") + f" m inside the {len_} " \
                       "(no width: checked on the centreline)"
                zh_o, en_o = f"未穿越{lzh}", f"does not cross the {len_}"
            else:
                zh_b = "中线有 " + _fmt(measure, ".1f") + f" 米位于{lzh}外"
                en_b = "centreline runs " + _fmt(measure, ".1f") + f" m outside the {len_}"
                zh_o, en_o = f"位于{lzh}内", f"inside the {len_}"
            out.set(m, measure=measure, unit="m", threshold=rule.tolerance_m)
            out.set(m & bad, status=rule.severity, zh=zh_b, en=en_b)
            out.set(m & ~bad, zh=zh_o, en=en_o)
            out.matched[m & bad] = _joined_ids(si, c.fids[qf], n)[m & bad]
            b = np.flatnonzero(m & bad)
            if inside and len(b):
                out.ev_idx.append(b)
                out.ev_geom.append(ev[b])

    if len(pts):
        pred = "within" if inside else "covered_by"
        qs, qf = c.query(st.geom[pts], pred)
        hit = np.zeros(n, dtype=bool)
        hit[pts[qs]] = True
        dist = np.full(n, np.nan)
        qs_n, dd = c.nearest_distance(st.geom[pts])
        dist[pts[qs_n]] = dd
        m = np.zeros(n, dtype=bool)
        m[pts] = True
        bad = hit if inside else ~hit
        if inside:
            zh_b, en_b = f"选址点位于{lzh}内", f"the site point lies inside the {len_}"
            zh_o = f"选址点不在{lzh}内（距 " + _fmt(dist, ".0f") + " 米）"
            en_o = f"the site point is outside the {len_} (" + _fmt(dist, ".0f") + " m away)"
        else:
            zh_b = f"选址点位于{lzh}外 " + _fmt(dist, ".0f") + " 米"
            en_b = "the site point lies " + _fmt(dist, ".0f") + f" m outside the {len_}"
            zh_o, en_o = f"选址点位于{lzh}内", f"the site point lies inside the {len_}"
        if rule.kind == "overlap_limit" and (limit_pct is not None or (limit_m2 or 0) > 0):
            out.set(m, status="not_checked", zh="点状选址无面积，无法核查占地面积",
                    en="a point site has no area to measure; give a footprint (--footprint-m)")
        else:
            out.set(m, measure=np.where(np.isfinite(dist), dist, np.nan), unit="m", threshold=0.0)
            out.set(m & bad, status=rule.severity, zh=zh_b, en=en_b)
            out.set(m & ~bad, zh=zh_o, en=en_o)
            out.matched[m & hit] = _joined_ids(pts[qs], c.fids[qf], n)[m & hit]


def _avoid_points(rule: Rule, c: _Constraint, st: PreparedSites, active: np.ndarray,
                  out: _Out) -> None:
    """avoid on a point layer (old trees): no feature inside the footprint."""
    n = out.n
    lzh, len_ = _label(rule)
    poly = np.flatnonzero(active & (st.family == "polygon"))
    other = active & (st.family != "polygon")
    out.set(other, status="not_checked",
            zh=f"点状或线状选址无宅基范围，无法核查{lzh}；请提供宅基面或使用 --footprint-m",
            en=f"a point or line site has no footprint to hold {len_} against; give footprints "
               "or use --footprint-m")
    if not len(poly):
        return
    qs, qf = c.query(st.geom[poly], "intersects")
    si = poly[qs]
    count = _group_reduce(si, np.ones(len(si)), n)
    m = np.zeros(n, dtype=bool)
    m[poly] = True
    bad = count > 0
    out.set(m, measure=count, unit="count", threshold=0.0)
    out.set(m & bad, status=rule.severity, zh=f"宅基范围内有{lzh} " + _fmt(count, ".0f") + " 处",
            en=_fmt(count, ".0f") + f" {len_} feature(s) inside the footprint")
    out.set(m & ~bad, zh=f"宅基范围内无{lzh}", en=f"no {len_} inside the footprint")
    out.matched[m & bad] = _joined_ids(si, c.fids[qf], n)[m & bad]
    if len(si):
        out.ev_idx.append(si)
        out.ev_geom.append(c.geoms[qf])


def _avoid_lines(rule: Rule, c: _Constraint, st: PreparedSites, active: np.ndarray,
                 out: _Out) -> None:
    """avoid on a line layer: length of the layer inside the site footprint."""
    n = out.n
    lzh, len_ = _label(rule)
    poly = np.flatnonzero(active & (st.family == "polygon"))
    other = np.flatnonzero(active & (st.family != "polygon"))
    if len(other):
        qs, qf = c.query(st.geom[other], "intersects")
        hit = np.zeros(n, dtype=bool)
        hit[other[qs]] = True
        m = np.zeros(n, dtype=bool)
        m[other] = True
        out.set(m, measure=hit.astype(float), unit="count", threshold=0.0)
        out.set(m & hit, status=rule.severity, zh=f"与{lzh}相交", en=f"intersects the {len_}")
        out.set(m & ~hit, zh=f"不与{lzh}相交", en=f"does not intersect the {len_}")
    if len(poly):
        qs, qf = c.query(st.geom[poly], "intersects")
        si = poly[qs]
        length = _group_reduce(si, shapely.length(c.intersection(st.geom[si], qf)), n)
        m = np.zeros(n, dtype=bool)
        m[poly] = True
        bad = length > rule.tolerance_m
        out.set(m, measure=length, unit="m", threshold=rule.tolerance_m)
        out.set(m & bad, status=rule.severity, zh=f"{lzh}穿过宅基 " + _fmt(length, ".1f") + " 米",
                en=f"{len_} runs " + _fmt(length, ".1f") + " m through the footprint")
        out.set(m & ~bad, zh=f"宅基内无{lzh}", en=f"no {len_} through the footprint")
        out.matched[m & bad] = _joined_ids(si, c.fids[qf], n)[m & bad]


def _setback(rule: Rule, c: _Constraint, st: PreparedSites, active: np.ndarray,
             out: _Out) -> None:
    n = out.n
    lzh, len_ = _label(rule)
    idx = np.flatnonzero(active)
    if not len(idx):
        return
    table = rule.distance_table
    vals = np.full(len(c.geoms), np.nan)
    if table is not None:
        if table.field not in c.gdf.columns:
            out.set(active, status="not_checked",
                    zh=f"{lzh}缺少字段 {table.field}，无法确定保护距离",
                    en=f"the {len_} layer has no {table.field} field, so the required distance "
                       "is unknown; map it in geoplan.toml")
            return
        vals = pd.to_numeric(c.gdf[table.field], errors="coerce").to_numpy(dtype=float)
        req = np.array([table.distance_for(v) for v in vals])
        search = table.max_distance
    else:
        assert rule.distance_m is not None
        req = np.full(len(c.geoms), rule.distance_m.value)
        search = rule.distance_m.value
    qs, qf, d = c.within_distance(st.geom[idx], search)
    si = idx[qs]
    r = req[qf]
    unknown = np.isnan(r)  # the feature's value gives no row of the table
    # Whatever such a feature's value, its corridor is at least the table's smallest
    # (a fail inside it); between the smallest and the largest the answer depends on
    # the value (not_checked); beyond the largest no row of the table reaches.
    r_eff = np.where(unknown, table.min_distance if table is not None else np.nan, r)
    viol = d < r_eff - _EPS
    undecided = unknown & ~viol & (d < search - _EPS)
    # nearest of all features, for the pass message and measure
    nearest = np.full(n, np.nan)
    nearest_req = np.full(n, np.nan)
    if table is not None:  # the nearest feature's own distance is the threshold shown
        qi, nd = c.nearest(st.geom[idx])
        nearest[idx[qi[0]]] = nd
        nearest_req[idx[qi[0]]] = req[qi[1]]
    else:
        qs_n, nd = c.nearest_distance(st.geom[idx])
        nearest[idx[qs_n]] = nd
    # violating pair with the largest shortfall per site
    vio_site = si[viol]
    short = (r_eff - d)[viol]
    worst_d = np.full(n, np.nan)
    worst_r = np.full(n, np.nan)
    worst_v = np.full(n, np.nan)
    worst_unk = np.zeros(n, dtype=bool)
    worst_desc_zh = np.full(n, "", dtype=object)
    worst_desc_en = np.full(n, "", dtype=object)
    if table is not None:
        desc_zh, desc_en = _unusable_values(table, vals)
    if len(vio_site):
        order = np.lexsort((-short, vio_site))
        first = np.r_[True, np.diff(vio_site[order]) != 0]
        sel = order[first]
        ws_ = vio_site[sel]
        worst_d[ws_] = d[viol][sel]
        worst_r[ws_] = r_eff[viol][sel]
        if table is not None:
            wf = qf[viol][sel]
            worst_v[ws_] = vals[wf]
            worst_unk[ws_] = unknown[viol][sel]
            worst_desc_zh[ws_] = desc_zh[wf]
            worst_desc_en[ws_] = desc_en[wf]
    bad = np.zeros(n, dtype=bool)
    bad[vio_site] = True
    unk = np.zeros(n, dtype=bool)
    unk[si[undecided]] = True
    unk &= ~bad
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    out.set(m, measure=nearest, unit="m",
            threshold=nearest_req if table is not None else search)
    known_zh = "距" + lzh + (f"（{table.field} = " + _fmt(worst_v, "g") + "）"
                             if table is not None else "") + \
        "仅 " + _fmt(worst_d, ".1f") + " 米，小于要求的 " + _fmt(worst_r, "g") + " 米"
    known_en = "only " + _fmt(worst_d, ".1f") + f" m from the {len_}" + \
        (f" ({table.field} = " + _fmt(worst_v, "g") + ")" if table is not None else "") + \
        "; at least " + _fmt(worst_r, "g") + " m required"
    if table is not None:
        field_ = table.field
        unk_zh = ("距" + lzh + "仅 " + _fmt(worst_d, ".1f") + f" 米，其 {field_} 未知（" +
                  worst_desc_zh + f"），但表中最小的保护距离也有 {table.min_distance:g} 米："
                  "无论取值如何，均位于保护区内")
        unk_en = ("only " + _fmt(worst_d, ".1f") + f" m from the {len_}, whose {field_} is "
                  "unknown (" + worst_desc_en + f"); every distance in the table is at least "
                  f"{table.min_distance:g} m, so the site is inside its protection zone "
                  "whatever the value")
        zh_bad, en_bad = _where(worst_unk, unk_zh, known_zh), _where(worst_unk, unk_en, known_en)
    else:
        zh_bad, en_bad = known_zh, known_en
    out.set(bad, status=rule.severity, measure=worst_d, threshold=worst_r, zh=zh_bad, en=en_bad)
    out.matched[bad] = _joined_ids(vio_site, c.fids[qf][viol], n)[bad]
    if table is not None and unk.any():
        us, uf = si[undecided], qf[undecided]
        unk_fids = _joined_ids(us, c.fids[uf], n)
        u_zh = _joined_ids(us, desc_zh[uf], n)
        u_en = _joined_ids(us, desc_en[uf], n)
        u_d = _group_reduce(us, d[undecided], n, how="min")
        out.set(unk, status="not_checked", measure=u_d, threshold=np.nan,
                zh=f"{lzh}（要素 " + unk_fids + "）距离 " + _fmt(u_d, ".1f") +
                   f" 米，其 {table.field} 未知（" + u_zh + f"）：在表中最小保护距离 "
                   f"{table.min_distance:g} 米之外、最大 {table.max_distance:g} 米之内，是否位于"
                   f"保护区取决于取值；请补全 {table.field}",
                en=f"the {len_} (fid " + unk_fids + ") " + _fmt(u_d, ".1f") +
                   f" m away has no usable {table.field} (" + u_en + "): beyond the smallest "
                   f"distance in the table ({table.min_distance:g} m) but within the largest "
                   f"({table.max_distance:g} m), so whether the site is inside its protection "
                   f"zone depends on the value; fill {table.field}")
        out.matched[unk] = unk_fids[unk]
    okm = m & ~bad & ~unk
    out.set(okm, zh=f"距最近{lzh} " + _fmt(nearest, ".1f") + " 米",
            en=_fmt(nearest, ".1f") + f" m from the nearest {len_}")
    b = np.flatnonzero(bad)
    if len(b):
        # evidence: the part of the site inside the required buffer of the violating features
        vs, vf, vr = vio_site, qf[viol], r_eff[viol]
        zone = shapely.buffer(c.local(vf, shapely.bounds(st.geom[vs]), vr + 1.0), vr)
        pieces = shapely.intersection(st.geom[vs], zone)
        ev, ev_sites = _union_per_site(vs, pieces, n, disjoint=False)
        out.ev_idx.append(ev_sites)
        out.ev_geom.append(ev[ev_sites])


def _unusable_values(table: DistanceTable, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature, why its value gives no row of ``table`` (zh, en); ``""`` where it does."""
    zh = np.full(len(vals), "", dtype=object)
    en = np.full(len(vals), "", dtype=object)
    nan = np.isnan(vals)
    zh[nan], en[nan] = "为空或无法识别", "NULL or unreadable"
    for i in np.flatnonzero(~nan & (vals < 0)):
        zh[i], en[i] = f"{vals[i]:g}，为负值", f"{vals[i]:g}, negative"
    for i in np.flatnonzero(~nan & (vals > table.top)):
        zh[i] = f"{vals[i]:g}，超出表中最高一行 {table.top:g}（单位是否误为伏？）"
        en[i] = (f"{vals[i]:g}, above the table's last row ({table.top:g}); volts instead "
                 "of kV?")
    return zh, en


def _proximity(rule: Rule, c: _Constraint, st: PreparedSites, active: np.ndarray,
               out: _Out) -> None:
    n = out.n
    lzh, len_ = _label(rule)
    idx = np.flatnonzero(active)
    if not len(idx):
        return
    assert rule.max_distance_m is not None
    lim = rule.max_distance_m.value
    qs_n, nd = c.nearest_distance(st.geom[idx])
    dist = np.full(n, np.nan)
    dist[idx[qs_n]] = nd
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    bad = m & (dist > lim + _EPS)
    out.set(m, measure=dist, unit="m", threshold=lim)
    out.set(bad, status=rule.severity,
            zh=f"距最近的{lzh} " + _fmt(dist, ".0f") + f" 米，超过 {lim:g} 米",
            en=_fmt(dist, ".0f") + f" m from the nearest {len_}, more than {lim:g} m")
    out.set(m & ~bad, zh=f"距最近的{lzh} " + _fmt(dist, ".0f") + " 米",
            en=_fmt(dist, ".0f") + f" m from the nearest {len_}")


def _raster(rule: Rule, ws: Workspace, st: PreparedSites, active: np.ndarray,
            out: _Out) -> None:
    from .raster import zonal_slope

    n = out.n
    dem = ws.raster(rule.layer or "dem")
    assert dem is not None
    idx = np.flatnonzero(active)
    if not len(idx):
        return
    zr = zonal_slope(dem, st.geom[idx], crs=ws.crs, stat=rule.stat)  # type: ignore[arg-type]
    val = np.full(n, np.nan)
    val[idx] = zr.values
    zst = np.full(n, "", dtype=object)
    zst[idx] = zr.status
    reason = np.full(n, "", dtype=object)
    reason[idx] = zr.reason
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    okm = m & (zst == "ok")
    out.set(m, measure=val, unit="deg")
    assigned = np.zeros(n, dtype=bool)
    for lv in rule.levels:  # sorted from the highest threshold down
        hit = okm & ~assigned & (val > lv.threshold.value + 1e-9)
        out.set(hit, status=lv.status, threshold=lv.threshold.value,
                zh=f"宅基范围内{rule.stat}坡度 " + _fmt(val, ".1f") +
                   f"°，超过 {lv.threshold.value:g}°",
                en=f"{rule.stat} slope under the site " + _fmt(val, ".1f") +
                   f"°, above {lv.threshold.value:g}°")
        assigned |= hit
    low = okm & ~assigned
    lowest = min(lv.threshold.value for lv in rule.levels)
    out.set(low, threshold=lowest, zh=f"宅基范围内{rule.stat}坡度 " + _fmt(val, ".1f") + "°",
            en=f"{rule.stat} slope under the site " + _fmt(val, ".1f") + "°")
    outside = m & (zst == "outside")
    out.set(outside, status="error", zh="选址超出DEM范围，无法计算坡度",
            en=reason)
    nod = m & ((zst == "nodata") | (zst == "empty"))
    out.set(nod, status="not_checked", zh="选址处DEM无数据，无法计算坡度", en=reason)


def _attribute(rule: Rule, st: PreparedSites, active: np.ndarray, out: _Out) -> None:
    assert rule.field is not None
    assert rule.value is not None
    assert rule.op is not None
    fld = rule.field
    lim = rule.value.value
    unit = rule.value.unit
    if fld not in st.gdf.columns:
        out.set(active, status="not_checked", zh=f"选址缺少字段 {fld}",
                en=f"the sites have no {fld} field; add it to check this rule")
        return
    vals = pd.to_numeric(st.gdf[fld], errors="coerce").to_numpy(dtype=float)
    missing = active & ~np.isfinite(vals)
    ops: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
        ">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
        "==": np.equal, "!=": np.not_equal}
    with np.errstate(invalid="ignore"):
        ok_val = ops[rule.op](vals, lim)
    good = active & np.isfinite(vals) & ok_val
    bad = active & np.isfinite(vals) & ~ok_val
    out.set(active, measure=vals, unit=unit or "", threshold=lim)
    out.set(bad, status=rule.severity, zh=f"{fld} = " + _fmt(vals, "g") + f"，要求 {rule.op} {lim:g}",
            en=f"{fld} = " + _fmt(vals, "g") + f", required {rule.op} {lim:g}")
    out.set(good, zh=f"{fld} = " + _fmt(vals, "g"), en=f"{fld} = " + _fmt(vals, "g"))
    out.set(missing, status="not_checked", zh=f"缺少 {fld} 值，无法核查",
            en=f"no {fld} value: cannot be checked; fill it in")


def _context(rule: Rule, c: _Constraint, st: PreparedSites, active: np.ndarray,
             out: _Out) -> None:
    n = out.n
    lzh, len_ = _label(rule)
    assert rule.field is not None
    if rule.field not in c.gdf.columns:
        out.set(active, status="not_checked", zh=f"{lzh}缺少字段 {rule.field}",
                en=f"the {len_} layer has no {rule.field} field")
        return
    layer_vals = c.gdf[rule.field].astype(object).to_numpy()
    feat = np.full(n, -1)
    how = np.full(n, "", dtype=object)
    if rule.site_field and rule.site_field in st.gdf.columns and rule.layer_field in c.gdf.columns:
        keys = c.gdf[rule.layer_field].astype(object)
        keys = keys[keys.notna()].astype(str)
        lookup = pd.Series(keys.index.map(c.gdf.index.get_loc), index=keys.to_numpy())
        lookup = lookup[~lookup.index.duplicated()]
        names = st.gdf[rule.site_field].astype(object)
        by_name = (names.where(names.notna()).astype(str).map(lookup)
                   .fillna(-1).to_numpy(dtype=int, copy=True))
        by_name[names.isna().to_numpy()] = -1
        use = active & (by_name >= 0)
        feat[use] = by_name[use]
        how[use] = "name"
    rest = np.flatnonzero(active & (feat < 0))
    if len(rest):
        maxd = rule.match_distance_m
        if maxd is None:
            qi, _ = c.nearest(st.geom[rest])
        else:
            qi, _ = c.nearest(st.geom[rest], max_distance=maxd)
        feat[rest[qi[0]]] = qi[1]
        how[rest[qi[0]]] = "nearest"
    found = active & (feat >= 0)
    val = np.full(n, None, dtype=object)
    val[found] = layer_vals[feat[found]]
    blank = found & pd.isna(pd.Series(val, dtype=object)).to_numpy()
    read = c.layer.literals.get(rule.field)
    wanted = [str(read(v) or v) if read is not None else str(v) for v in rule.values]
    hit = found & ~blank & np.isin(val.astype(str), wanted)
    found_known = found & ~blank
    none = active & ~found
    names = np.full(n, "", dtype=object)
    names[found] = c.names[feat[found]]
    out.set(active, unit="", threshold=np.nan)
    out.set(hit, status=rule.severity,
            zh="所在" + lzh + "（" + names + f"）为{rule.field} = " + val.astype(str),
            en="the site's " + len_.lower() + " (" + names + f") has {rule.field} = " +
               val.astype(str))
    out.set(found_known & ~hit, zh="所在" + lzh + "（" + names + "）：" + val.astype(str),
            en="the site's " + len_.lower() + " (" + names + "): " + val.astype(str))
    unread = c.layer.unreadable.get(rule.field)
    seen = f" ({describe_values(None, unreadable=unread)} in the layer)" if unread else ""
    out.set(blank, status="not_checked",
            zh="所在" + lzh + "（" + names + f"）的{rule.field}为空或无法识别，未能核查",
            en="the site's " + len_.lower() + " (" + names + f") has no readable {rule.field}"
               f"{seen}: fill it or map its values (values.{rule.field} in "
               f"[layers.{rule.layer}])")
    out.set(none, status="not_checked", zh=f"未能确定选址所属{lzh}",
            en=f"no {len_.lower()} found for the site (by name or within the match distance)")
    out.matched[found] = np.array([str(x) for x in c.fids[feat[found]]], dtype=object)


# --------------------------------------------------------------------------- evaluate


def _run_vector(rule: Rule, c: _Constraint, st: PreparedSites, active: np.ndarray,
                out: _Out) -> str:
    """Evaluate one vector rule kind into ``out``; a reason string when it cannot run."""
    if rule.kind in ("avoid", "overlap_limit", "within"):
        if c.family == "point" and rule.kind == "avoid":
            _avoid_points(rule, c, st, active, out)
        elif c.family == "line" and rule.kind == "avoid":
            _avoid_lines(rule, c, st, active, out)
        elif c.family != "polygon":
            return f"a {rule.kind} rule needs a polygon layer; {rule.layer} holds {c.family}s"
        else:
            _overlap(rule, c, st, active, out,
                     limit_m2=rule.max_m2.value if rule.max_m2 else None,
                     limit_pct=rule.max_percent.value if rule.max_percent else None,
                     inside=rule.kind != "within")
    elif rule.kind == "setback":
        _setback(rule, c, st, active, out)
    elif rule.kind == "proximity":
        if len(c.geoms) == 0:
            return f"layer {rule.layer} has no features"
        _proximity(rule, c, st, active, out)
    elif rule.kind == "context":
        _context(rule, c, st, active, out)
    return ""


def _undecided(rule: Rule, unk: _Unknown, st: PreparedSites, usable: np.ndarray,
               out: _Out) -> None:
    """Sites whose status would change if the undecided features applied: ``not_checked``.

    The rule is evaluated again with the undecided features counted as selected;
    wherever the two runs disagree the answer depends on the missing values, so
    the site can be neither passed nor failed on this rule.
    """
    alt = _Out(len(st.site_id))
    if _run_vector(rule, unk.both, st, usable.copy(), alt):
        return
    differ = usable & (alt.status != out.status)
    if not differ.any():
        return
    out.set(differ, status="not_checked", zh=unk.zh, en=unk.en)
    out.matched[differ] = alt.matched[differ]


@dataclass
class Evaluation:
    """Raw output of :func:`evaluate`: findings, verdicts, evidence and timing."""

    findings: pd.DataFrame
    verdicts: gpd.GeoDataFrame
    evidence: gpd.GeoDataFrame
    rules: list[Rule]
    not_checked_rules: list[tuple[str, str]]
    seconds: float
    sites: PreparedSites


def evaluate(
    sites: PreparedSites,
    workspace: Workspace,
    rules: RulePack | str | None = None,
    *,
    progress: bool = False,
    cache: ConstraintCache | None = None,
) -> Evaluation:
    """Evaluate every rule of the pack for the sites' subject.

    Returns findings (one row per site × rule), verdicts (one row per input
    row, input attributes kept, input index kept) and the evidence geometries.
    ``cache`` (from :func:`constraint_cache` on the same workspace) keeps the
    spatial indexes between calls, e.g. for chunks of one large batch.
    """
    t0 = time.perf_counter()
    pack = rules if isinstance(rules, RulePack) else load_pack(rules or "yining-2025")
    st = sites
    n = len(st.site_id)
    subject_rules = pack.for_subject(st.subject)
    if not subject_rules:
        have = sorted({r.subject for r in pack.rules})
        raise RulePackError(
            f"rule pack {pack.name!r} has no rules for {st.subject!r} sites (it has rules for: "
            f"{', '.join(have) or 'nothing'}); choose --subject, or a pack with "
            f"{st.subject} rules — with no rule nothing would be checked"
        )
    usable = st.error == ""
    if cache is None or cache.ws is not workspace:
        cache = _Cache(workspace)
    rows: list[dict[str, Any]] = []
    ev_frames: list[gpd.GeoDataFrame] = []
    not_checked_rules: list[tuple[str, str]] = []

    iterator: Any = subject_rules
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(subject_rules, desc="rules", unit="rule", leave=False)
    for rule in iterator:
        out = _Out(n)
        active = usable.copy()
        missing_reason = ""
        if rule.kind == "attribute":
            _attribute(rule, st, active, out)
        elif rule.kind == "raster":
            if workspace.raster(rule.layer or "dem") is None:
                missing_reason = "missing"
            else:
                _raster(rule, workspace, st, active, out)
        else:
            c = cache.get(rule)
            if isinstance(c, str):
                missing_reason = c
            else:
                missing_reason = _run_vector(rule, c, st, active, out)
                unk = cache.unknown(rule)
                if not missing_reason and unk is not None:
                    _undecided(rule, unk, st, usable, out)
        if missing_reason:
            lzh, len_ = _label(rule)
            if missing_reason == "missing":
                zh = f"工作空间缺少{lzh}（{rule.layer}）图层，未核查"
                en = f"the workspace has no {rule.layer} layer ({len_}): not checked"
            else:
                zh = f"未核查：{missing_reason}"
                en = f"not checked: {missing_reason}"
            out.set(np.ones(n, dtype=bool), status="not_checked", zh=zh, en=en)
            not_checked_rules.append((rule.id, en))
        # roads without width: area rules are not checked (handled per kind); errors override
        out.set(~usable, status="error", zh=st.error_zh, en=st.error, measure=np.nan, unit="",
                threshold=np.nan)
        out.matched[~usable] = ""
        rows.append({
            "rule_id": rule.id,
            "clause": rule.clause,
            "severity": rule.severity,
            "status": out.status,
            "measure": out.measure,
            "unit": out.unit,
            "threshold": out.threshold,
            "matched": out.matched,
            "message_zh": _titled(rule.title_zh, "：", out.zh),
            "message_en": _titled(rule.title_en, ": ", out.en),
        })
        if out.ev_idx:
            ei = np.concatenate(out.ev_idx)
            eg = np.concatenate(out.ev_geom)
            keep = ~shapely.is_missing(eg) & ~shapely.is_empty(eg)
            ei, eg = ei[keep], eg[keep]
            if len(ei):
                ev_frames.append(gpd.GeoDataFrame({
                    "site_id": st.site_id[ei], "rule_id": rule.id, "clause": rule.clause,
                    "status": out.status[ei],
                    "area_m2": shapely.area(eg), "area_mu": shapely.area(eg) * MU_PER_M2,
                    "length_m": shapely.length(eg) * (shapely.area(eg) == 0),
                }, geometry=list(eg), crs=workspace.crs))

    cols: dict[str, np.ndarray] | None = None
    if rows:
        cols = _stack_columns(st.site_id, rows)
        findings = pd.DataFrame(cols)
    else:
        findings = pd.DataFrame(columns=["site_id", "rule_id", "clause", "severity", "status",
                                         "measure", "unit", "threshold", "matched",
                                         "message_zh", "message_en", "_row"])
    verdicts = _verdicts(st, findings, usable, cols=cols)
    findings = findings.drop(columns="_row")
    if ev_frames:
        evidence = pd.concat(ev_frames, ignore_index=True)
        evidence = gpd.GeoDataFrame(evidence, geometry="geometry", crs=workspace.crs)
    else:
        evidence = gpd.GeoDataFrame({"site_id": [], "rule_id": [], "clause": [], "status": [],
                                     "area_m2": [], "area_mu": [], "length_m": []},
                                    geometry=[], crs=workspace.crs)
    return Evaluation(findings=findings, verdicts=verdicts, evidence=evidence,
                      rules=subject_rules, not_checked_rules=not_checked_rules,
                      seconds=time.perf_counter() - t0, sites=st)


def _titled(title: str, sep: str, msg: np.ndarray) -> np.ndarray:
    """``f"{title}{sep}{m}" if m else title`` for every message."""
    codes, uniq = pd.factorize(msg, use_na_sentinel=False)  # messages repeat: prefix once
    uniq = np.asarray(uniq, dtype=object)
    titled = np.full(len(uniq), title, dtype=object)
    has = uniq != ""
    titled[has] = (title + sep) + uniq[has]
    return titled[codes]


def _stack_columns(site_id: np.ndarray, rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Columns of the site × rule rows ordered by input row, then rule id (stable).

    Equivalent to concatenating one frame per rule and sorting by
    ``["_row", "rule_id"]`` with a stable sort, without the string sort.
    """
    n, r = len(site_id), len(rows)
    ids = np.array([d["rule_id"] for d in rows], dtype=object)
    rank = np.argsort(ids, kind="stable")  # rules in the final order
    cols: dict[str, Any] = {"site_id": np.repeat(site_id, r) if n else site_id[:0]}
    for name in ("rule_id", "clause", "severity"):
        vals = np.array([rows[k][name] for k in rank], dtype=object)
        cols[name] = np.tile(vals, n)
    for name in ("status", "measure", "unit", "threshold", "matched", "message_zh",
                 "message_en"):
        cols[name] = np.stack([rows[k][name] for k in rank], axis=1).reshape(-1)
    cols["_row"] = np.repeat(np.arange(n), r)
    return cols


def _group_join(rows: np.ndarray, text: np.ndarray, sep: str, n: int) -> np.ndarray:
    """Per row, the texts of that row joined with ``sep`` in their order (rows sorted)."""
    out = np.full(n, "", dtype=object)
    if len(rows):
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        joined = np.add.reduceat(sep + text.astype(object), starts)
        k = len(sep)
        out[rows[starts]] = [j[k:] for j in joined.tolist()]
    return out


def _verdicts(st: PreparedSites, findings: pd.DataFrame, usable: np.ndarray,
              cols: dict[str, np.ndarray] | None = None) -> gpd.GeoDataFrame:
    n = len(st.site_id)

    def col(name: str) -> np.ndarray:  # the numpy column, not converted back from the frame
        return cols[name] if cols is not None else findings[name].to_numpy(dtype=object)

    status = col("status")
    rows = findings["_row"].to_numpy(dtype=np.int64)
    names = np.array(list(STATUS_ORDER), dtype=object)
    ranks = np.array(list(STATUS_ORDER.values()))
    rank = np.zeros(len(status), dtype=np.int64)
    for name, r in zip(names, ranks, strict=True):
        rank[status == name] = r
    worst = np.zeros(n, dtype=np.int64)
    np.maximum.at(worst, rows, rank)
    inv = np.empty(ranks.max() + 1, dtype=object)
    inv[ranks] = names
    verdict = inv[worst]
    if not len(findings):
        verdict[~usable] = "error"
    counts = {}
    for status_name in ("fail", "warn", "error", "not_checked"):
        counts[status_name] = np.bincount(rows[status == status_name], minlength=n).astype(int)
    # rows are sorted by input row (then rule id): join each row's texts in that order
    flag = np.flatnonzero((status == "fail") | (status == "warn") | (status == "error"))
    fr = rows[flag]
    rule_ids = col("rule_id")
    reasons = _group_join(fr, rule_ids[flag] + "(" + status[flag] + ")", "; ", n)
    texts = []
    for name, sep in (("message_zh", "；"), ("message_en", "; ")):
        msg = col(name)[flag]
        first = ~pd.DataFrame({"r": fr, "m": msg}).duplicated().to_numpy()  # dict.fromkeys
        texts.append(_group_join(fr[first], msg[first], sep, n))
    reasons_zh, reasons_en = texts
    nc = np.flatnonzero(status == "not_checked")
    not_checked = _group_join(rows[nc], rule_ids[nc], ", ", n)
    gdf = st.gdf.copy()
    extra = pd.DataFrame({
        "site_id": st.site_id, "verdict": verdict, "n_fail": counts["fail"],
        "n_warn": counts["warn"], "n_error": counts["error"],
        "n_not_checked": counts["not_checked"], "reasons": reasons,
        "reasons_zh": reasons_zh, "reasons_en": reasons_en, "not_checked": not_checked,
        "notes": st.notes,
    }, index=gdf.index)
    clash = [c for c in extra.columns if c in gdf.columns]
    if clash:
        gdf = gdf.rename(columns={c: f"input_{c}" for c in clash})
    geom_name = gdf.geometry.name
    cols = [*extra.columns, *[c for c in gdf.columns if c != geom_name], geom_name]
    out = pd.concat([extra, gdf], axis=1)[cols]
    return gpd.GeoDataFrame(out, geometry=geom_name, crs=st.gdf.crs)

