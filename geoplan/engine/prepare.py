"""Sites made ready for evaluation: ids, repaired geometries, footprints, in the working CRS.

:func:`prepare_sites` never drops a row: a site that cannot be checked keeps
its row with the reason (English and Chinese), and later an ``error`` status
for every rule.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..core import Subject
from ..errors import SiteInputError
from ..hygiene import geometry_families
from ..kinds import SITE_SUBJECTS
from ..sites import (
    ID_CANDIDATES,
    SITE_COLUMNS,
    coordinate_system_column,
    unconverted_systems,
)
from ..workspace import Layer, RasterLayer, Workspace
from .constraints import derived_store

__all__ = ["PreparedSites", "decide_ids", "infer_subject", "note_zh", "prepare_sites"]


@dataclass
class PreparedSites:
    """A batch of sites ready for evaluation (all arrays aligned to input rows).

    Made by :func:`prepare_sites`; read by :func:`geoplan.engine.evaluate` and the rule kinds.
    """

    gdf: gpd.GeoDataFrame            # the input, as given (attributes kept)
    site_id: np.ndarray              # object
    subject: Subject
    geom: np.ndarray                 # shapely geometries, working CRS (footprints)
    centreline: np.ndarray           # roads: the line as given (working CRS); else == geom
    family: np.ndarray               # point / line / polygon / none (of geom)
    error: np.ndarray                # object: "" or the reason the site is unusable
    error_zh: np.ndarray
    notes: np.ndarray                # object: "" or notes (repairs, buffering)
    no_width: np.ndarray             # bool: road lines without a usable width


def decide_ids(columns: pd.DataFrame, id_field: str | None, *,
               fields: Sequence[str] | None = None) -> str | None:
    """The field holding the site ids, decided on every row of the batch (None: row numbers).

    A named field must exist, be filled in every row and hold no value twice.
    Without one, the first of :data:`geoplan.sites.ID_CANDIDATES` that is
    filled and unique over the whole batch is used, else the 1-based row
    numbers — so a column unique within each chunk but not over the batch is
    never taken.

    Parameters
    ----------
    columns
        At least the candidate columns (or the named one) of all the sites.
    id_field
        The field the user named, if any.
    fields
        The sites' fields, for the message when ``id_field`` is not among them
        (default: the columns of ``columns``).

    Returns
    -------
    str or None

    Raises
    ------
    SiteInputError
        The named field is missing, empty in some row, or has duplicates.

    Examples
    --------
    >>> decide_ids(pd.DataFrame({"id": [1, 2, 2], "编号": ["a", "b", "c"]}), None)
    '编号'
    >>> decide_ids(pd.DataFrame({"id": [1, 2, 2]}), None) is None
    True
    """
    if id_field is None:
        for cand in ID_CANDIDATES:
            if cand in columns.columns:
                col = columns[cand]
                if col.notna().all() and not col.duplicated().any():
                    return cand
        return None
    if id_field not in columns.columns:
        names = [str(f) for f in (fields if fields is not None else columns.columns)]
        raise SiteInputError(
            f"id field {id_field!r} is not in the sites (fields: {', '.join(names)}); name "
            "another with --id-field, or leave it out to number the rows 1, 2, 3, …")
    ids = columns[id_field].astype(object).to_numpy()
    blank = np.array([isinstance(v, str) and not v.strip() for v in ids], dtype=bool)
    missing = np.asarray(pd.isna(ids), dtype=bool) | blank
    if missing.any():
        rows = (np.flatnonzero(missing) + 1)[:10]
        raise SiteInputError(
            f"id field {id_field!r} is empty in row(s) {', '.join(map(str, rows))}; fill "
            "them, or leave --id-field out to number the rows")
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        vals = list(dict.fromkeys(ids[dup]))[:10]
        raise SiteInputError(
            f"id field {id_field!r} has duplicate values: {', '.join(map(str, vals))}; each "
            "site needs its own id (fix the data, or leave --id-field out to number the rows)")
    return id_field


def _auto_id(gdf: gpd.GeoDataFrame, id_field: str | None) -> tuple[np.ndarray, str]:
    """The sites' ids as text and the field they come from (see :func:`decide_ids`)."""
    fields = [str(c) for c in gdf.columns.drop(gdf.geometry.name)]
    field = decide_ids(pd.DataFrame(gdf.drop(columns=gdf.geometry.name)), id_field,
                       fields=fields)
    if field is None:
        return np.array([str(i) for i in range(1, len(gdf) + 1)], dtype=object), "(row number)"
    return np.array([str(v) for v in gdf[field].astype(object)], dtype=object), field


def infer_subject(family: np.ndarray) -> Subject:
    """The subject a batch is checked as when none is named.

    ``road`` when most usable sites are lines, else ``house``.

    Examples
    --------
    >>> import numpy as np
    >>> infer_subject(np.array(["line", "line", "polygon", "none"]))
    'road'
    """
    usable = family[family != "none"]
    if len(usable) and (usable == "line").mean() > 0.5:
        return "road"
    return "house"


def prepare_sites(
    sites: gpd.GeoDataFrame,
    workspace: Workspace,
    *,
    subject: Subject | None = None,
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

    Parameters
    ----------
    sites
        The batch, with a CRS.
    workspace
        The workspace the sites are checked against (its CRS and extent).
    subject
        ``house``, ``road`` or ``project``; inferred from the geometries when
        ``None`` (see :func:`infer_subject`).
    id_field
        The field holding site ids; else the first usable of
        :data:`geoplan.sites.ID_CANDIDATES`, else the row numbers.
    footprint_m
        Buffer point sites to a square of this side (metres).
    width_field
        The road width field (metres) that turns a road line into a footprint.

    Returns
    -------
    PreparedSites

    Raises
    ------
    SiteInputError
        When the batch as a whole is unusable (no CRS, no rows, bad ids, …).
    """
    _basic_checks(sites, footprint_m)
    n = len(sites)
    error = np.full(n, "", dtype=object)
    error_zh = np.full(n, "", dtype=object)
    notes = np.full(n, "", dtype=object)
    unconverted = unconverted_systems(sites)  # judged before read_sites' columns are taken out
    sites = _take_site_columns(sites, error, error_zh, notes)
    site_id, _ = _auto_id(sites, id_field)
    geoms = np.asarray(sites.geometry.to_numpy(), dtype=object)
    geoms = np.where(shapely.is_missing(geoms), shapely.Point(), geoms)
    _mark_unconverted(sites, unconverted & (error == ""), error, error_zh)
    _mark_nonfinite(sites.index, geoms, error, error_zh)
    geoms[error != ""] = shapely.Point()
    ok = _clean(geoms, error, error_zh, notes)
    collections = _collection_parts(geoms, ok, error, error_zh)
    ok &= error == ""

    # Swapped lon/lat and sites far from the workspace, judged per site.
    src_crs = CRS.from_user_input(sites.crs)
    ok &= ~_mark_swapped(src_crs, geoms, ok, error, error_zh)
    out, bad = _to_working(geoms, ok, src_crs, workspace.crs, error, error_zh)
    ok &= ~bad
    ok &= ~_mark_far(out, ok, workspace, error, error_zh)
    for i in np.flatnonzero(~ok):
        out[i] = shapely.Point()
    family = geometry_families(out)
    if subject is None:
        subject = infer_subject(family[ok])
    if subject not in SITE_SUBJECTS:
        raise SiteInputError(f"subject must be one of {', '.join(SITE_SUBJECTS)}, not {subject!r}")
    _use_collections(collections, subject, ok, out, family, error, error_zh, notes)
    geom, no_width = _footprints(sites, out, ok, family, subject, footprint_m, width_field, notes)
    return PreparedSites(gdf=sites, site_id=site_id, subject=subject, geom=geom,
                         centreline=out.copy(), family=geometry_families(geom), error=error,
                         error_zh=error_zh, notes=notes, no_width=no_width)


def _basic_checks(sites: gpd.GeoDataFrame, footprint_m: float | None) -> None:
    """Refuse a batch that cannot be checked at all."""
    if not isinstance(sites, gpd.GeoDataFrame):
        raise SiteInputError("sites must be a GeoDataFrame (use geoplan.read_sites for files)")
    if sites.crs is None:
        raise SiteInputError("the sites have no CRS; set it (gdf.set_crs(4490)) or pass --crs")
    if footprint_m is not None and not (footprint_m > 0):
        raise SiteInputError(f"footprint_m must be a positive number of metres, got {footprint_m}")
    if len(sites) == 0:
        raise SiteInputError("the batch has no sites (0 rows); there is nothing to check")


def _mark_unconverted(sites: gpd.GeoDataFrame, unconverted: np.ndarray, error: np.ndarray,
                      error_zh: np.ndarray) -> None:
    """Rows in another coordinate system than the batch's, not converted: an error each."""
    if not unconverted.any():
        return
    col = coordinate_system_column(list(sites.columns))
    for i in np.flatnonzero(unconverted):
        en_w, zh_w = _row_label(sites.index, int(i))
        error[i] = (f"{col} {sites[col].iloc[i]!r} ({en_w}) names a coordinate system other "
                    "than WGS84/CGCS2000, but the sites were not converted row by row; read "
                    "them with geoplan.read_sites, or convert them with "
                    "geoplan.sites.convert_coordinate_systems first")
        error_zh[i] = (f"{zh_w}{col}为 {sites[col].iloc[i]!r}，但坐标未逐行转换；请用 "
                       "geoplan.read_sites 读取，或先调用 convert_coordinate_systems")


def _mark_nonfinite(index: pd.Index, geoms: np.ndarray, error: np.ndarray,
                    error_zh: np.ndarray) -> None:
    """Rows (not in error yet) with a NaN or infinite coordinate: an error each."""
    nonfinite = (error == "") & _nonfinite(geoms)
    for i in np.flatnonzero(nonfinite):
        en_w, zh_w = _row_label(index, int(i))
        error[i] = (f"the site has a non-finite coordinate (NaN or infinity) ({en_w}); correct "
                    "its coordinates or redraw it")
        error_zh[i] = f"{zh_w}选址坐标含非有限数值（NaN 或无穷大），请更正坐标或重新绘制"


def _clean(geoms: np.ndarray, error: np.ndarray, error_zh: np.ndarray,
           notes: np.ndarray) -> np.ndarray:
    """Empty rows become errors, Z is dropped, invalid geometries repaired (in place).

    Returns which rows are usable.
    """
    n = len(geoms)
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
    return ok


def _mark_swapped(src_crs: CRS, geoms: np.ndarray, ok: np.ndarray, error: np.ndarray,
                  error_zh: np.ndarray) -> np.ndarray:
    """Usable rows whose lon/lat look swapped get an error; returns them."""
    n = len(geoms)
    if not src_crs.is_geographic:
        return np.zeros(n, dtype=bool)
    cent = np.full((n, 2), np.nan)
    if ok.any():
        c = shapely.centroid(geoms[ok])
        cent[ok, 0], cent[ok, 1] = shapely.get_x(c), shapely.get_y(c)
    swapped = ok & ((np.abs(cent[:, 1]) > 90) |
                    ((cent[:, 0] > 0) & (cent[:, 0] < 56) & (cent[:, 1] > 72) &
                     (cent[:, 1] < 137)))
    error[swapped] = ("the coordinates look swapped (latitude given as x, longitude as y); "
                      "swap the columns and check again")
    error_zh[swapped] = "坐标疑似经纬度颠倒（纬度写在x、经度写在y），请交换后重新核查"
    return swapped


def _to_working(geoms: np.ndarray, ok: np.ndarray, src_crs: CRS, work: Any, error: np.ndarray,
                error_zh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The usable rows in the working CRS (``None`` elsewhere), and the rows that failed.

    Sites already in a CRS equal to the working one for coordinate operations
    (whatever its name or identifiers: ``EPSG:4536`` and the same CRS stored as
    PROJJSON in a GeoParquet file) are taken as they are; PROJ's identity
    transform would return the same coordinates after a pass over all of them.
    A ``.prj``'s ESRI WKT of it (easting first: another axis order) is
    transformed.
    """
    n = len(geoms)
    out = np.full(n, None, dtype=object)
    bad = np.zeros(n, dtype=bool)
    if ok.any():
        if src_crs == CRS.from_user_input(work):
            out[ok] = geoms[ok]
        else:
            series = gpd.GeoSeries(geoms[ok], crs=src_crs)
            out[ok] = np.asarray(series.to_crs(work).to_numpy(), dtype=object)
        bad[ok] = ~np.isfinite(shapely.bounds(out[ok])).all(axis=1)
        error[bad] = "the coordinates cannot be transformed to the working CRS; check the CRS"
        error_zh[bad] = "坐标无法转换到工作坐标系，请检查坐标系"
    return out, bad


def _mark_far(out: np.ndarray, ok: np.ndarray, workspace: Workspace, error: np.ndarray,
              error_zh: np.ndarray) -> np.ndarray:
    """Usable rows more than 1 km outside the workspace's layers get an error; returns them."""
    far = np.zeros(len(out), dtype=bool)
    extent = _workspace_extent(workspace)
    if extent is None or not ok.any():
        return far
    box = shapely.box(*extent)
    dist = shapely.distance(out[ok], box)
    far[ok] = dist > 1000.0
    for i in np.flatnonzero(far):
        d = shapely.distance(out[i], box) / 1000
        error[i] = (f"the site lies {d:.1f} km outside the workspace's layers; check its "
                    "coordinates and CRS (GCJ-02 sites need --gcj02), or add layers that "
                    "cover it")
        error_zh[i] = f"选址位于工作空间图层范围外 {d:.1f} 公里，请检查坐标与坐标系"
    return far


def _use_collections(collections: dict[int, tuple[str, str, str]], subject: str,
                     ok: np.ndarray, out: np.ndarray, family: np.ndarray, error: np.ndarray,
                     error_zh: np.ndarray, notes: np.ndarray) -> None:
    """Note the part each usable GeometryCollection is checked on (in place).

    A line part is refused for a subject checked on its footprint.
    """
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


def _footprints(sites: gpd.GeoDataFrame, out: np.ndarray, ok: np.ndarray, family: np.ndarray,
                subject: str, footprint_m: float | None, width_field: str,
                notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Road lines buffered by half their width, points by ``footprint_m`` (when given).

    Returns the footprints and which road lines have no usable width.
    """
    n = len(out)
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
    return geom, no_width


def _take_site_columns(sites: gpd.GeoDataFrame, error: np.ndarray, error_zh: np.ndarray,
                       notes: np.ndarray) -> gpd.GeoDataFrame:
    """Move the per-row messages of :func:`geoplan.read_sites` into the arrays (in place).

    Returns the sites without those columns.
    """
    have = [c for c in SITE_COLUMNS if c in sites.columns]
    if not have:
        return sites
    for col, arr in zip(SITE_COLUMNS, (error, error_zh, notes), strict=True):
        if col in sites.columns:
            vals = sites[col].to_numpy(dtype=object)
            arr[:] = np.where(pd.isna(vals), "", vals)
    return sites.drop(columns=have)


_NOTE_ZH: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^point buffered to a (?P<m>[\d.]+) m square$"),
     "点位按 {m} 米见方的名义宅基计（非实测范围）"),
    (re.compile(r"^invalid geometry repaired with make_valid$"), "无效几何已用 make_valid 修复"),
    (re.compile(r"^GeometryCollection checked on its (?P<p>\w+) part(?P<rest>.*)$"),
     "几何集合按其{p}部分核查{rest}"),
]


def note_zh(note: str) -> str:
    """The Chinese of a per-site note (``notes`` column of the verdicts); the note if unknown.

    Examples
    --------
    >>> note_zh("point buffered to a 12 m square")
    '点位按 12 米见方的名义宅基计（非实测范围）'
    """
    for pat, zh in _NOTE_ZH:
        m = pat.match(note)
        if m:
            d = m.groupdict()
            d["p"] = {"polygon": "面", "line": "线"}.get(d.get("p", ""), d.get("p", ""))
            return zh.format(**d)
    return note


def _add_note(notes: np.ndarray, rows: Any, text: str) -> None:
    """Append ``text`` to the notes of ``rows`` (in place), after any note already there."""
    rows = np.asarray(rows, dtype=np.int64).ravel()
    cur = notes[rows]
    has = cur != ""
    out = np.full(len(rows), text, dtype=object)
    out[has] = cur[has] + ("; " + text)
    notes[rows] = out


def _row_label(index: pd.Index, i: int) -> tuple[str, str]:
    """How to name row ``i`` in a message: its 1-based input row.

    That is the index + 1 when the index holds input row numbers, as for
    chunks of a larger batch.
    """
    r = int(index[i]) + 1 if pd.api.types.is_integer_dtype(index.dtype) else i + 1
    return f"row {r}", f"第 {r} 行"


def _nonfinite(geoms: np.ndarray) -> np.ndarray:
    """Per geometry, whether any x or y coordinate holds NaN or infinity."""
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    bad = np.zeros(len(geoms), dtype=bool)
    if len(coords):
        bad[owner[~np.isfinite(coords).all(axis=1)]] = True
    return bad


_PART_NAMES = (("point", "point", "points", "个点"), ("line", "line", "lines", "条线"),
               ("polygon", "polygon", "polygons", "个面"))


def _collection_parts(geoms: np.ndarray, ok: np.ndarray, error: np.ndarray,
                      error_zh: np.ndarray) -> dict[int, tuple[str, str, str]]:
    """Replace each usable GeometryCollection by its polygon part, else its line part.

    In place; a collection with neither gets an error. Returns, per collection
    kept, the part used (``polygon`` / ``line``) and what was dropped (English,
    Chinese), for the subject check and the site's note.
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
    """The box of every layer of ``ws``, kept while its layers are the same (``ws.derived``).

    Every check, chunk and block measured it again: 0.03 s on the benchmark's
    county of 10⁵ parcels, more on one of 10⁶, whatever the batch's size. It
    is kept with the very layer objects it was measured on, and measured
    again once any layer is added, removed or replaced (as the spatial
    indexes kept beside are).
    """
    derived = derived_store(ws)
    layers = list(ws.layers.items())
    kept = derived.get("extent")
    if kept is not None and len(kept[0]) == len(layers) and all(
            k == k0 and v is v0 for (k, v), (k0, v0) in zip(layers, kept[0], strict=True)):
        extent: tuple[float, float, float, float] | None = kept[1]
        return extent
    extent = _layers_extent(ws)
    derived["extent"] = (layers, extent)
    return extent


def _layers_extent(ws: Workspace) -> tuple[float, float, float, float] | None:
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
