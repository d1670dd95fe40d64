"""Loading one layer: its file read, its CRS and datum settled, its fields made canonical.

A vector layer is read in its own CRS (:func:`load_vector`) and later filtered,
cleaned and validated (:func:`finish_vector`); a raster layer is only opened for
its grid (:func:`load_raster`). A layer without a CRS is held back
(:class:`MissingCRSError`) until the other layers can help propose one
(:func:`known_longitude`, :func:`missing_crs_message`).
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from .. import crs as crs_mod
from ..config import CONFIG_NAME, LayerSpec
from ..errors import ConfigError, CRSError, DataFileError, WorkspaceError
from ..expr import ExpressionError
from ..hygiene import clean_geometries
from ..io import Engine, is_filegdb, list_vector_layers, read_vector
from ..kinds import KINDS
from ..landuse import resolve_scheme
from ..vocab import describe_values, literal_readers
from ._fields import apply_field_map, canonicalise, check_families, check_required, coerce_types
from .model import Layer, RasterLayer, crs_name

if TYPE_CHECKING:
    from ..postgis import Connections, Extent, Fetched

__all__ = ["CGCS2000", "MissingCRSError", "finish_vector", "known_longitude", "load_raster",
           "load_vector", "lonlat_bounds", "missing_crs_message"]


CGCS2000 = CRS.from_epsg(4490)


def _sha256(path: Path) -> str:
    """sha256 of a file; of a folder (a File Geodatabase), of all its files.

    A folder's digest is taken over its files sorted by relative path (``/``
    separators), each contributing ``relative path + NUL + sha256 of its bytes``;
    ArcGIS ``*.lock`` files are left out, so that opening the geodatabase in
    ArcGIS while geoplan reads it does not change the digest.
    """
    if path.is_dir():
        files = sorted((f for f in path.rglob("*")
                        if f.is_file() and not f.name.lower().endswith(".lock")),
                       key=lambda f: f.relative_to(path).as_posix())
        listing = tuple((f.relative_to(path).as_posix(), f.stat().st_size, f.stat().st_mtime_ns)
                        for f in files)
        return _folder_sha256(str(path.resolve()), listing)
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=8)
def _folder_sha256(root: str, listing: tuple[tuple[str, int, int], ...]) -> str:
    """The digest of a folder's files (cached: several layers may come from one .gdb)."""
    h = hashlib.sha256()
    for rel, _size, _mtime in listing:
        h.update(rel.encode("utf-8") + b"\0")
        h.update(bytes.fromhex(_sha256(Path(root) / rel)))
    return h.hexdigest()


class MissingCRSError(CRSError):
    """A layer without a CRS; kept until the other layers can help propose one."""

    def __init__(self, message: str, *, spec: LayerSpec, label: str,
                 bounds: tuple[float, float, float, float] | None) -> None:
        super().__init__(message)
        self.spec = spec
        self.label = label
        self.bounds = bounds


def missing_crs_message(spec: LayerSpec, label: str,
                         bounds: tuple[float, float, float, float] | None,
                         known: tuple[float, str] | None) -> str:
    """The refusal of a layer without a CRS, with a proposal from its coordinates."""
    prj = " (.prj file missing)" if spec.path and spec.path.suffix.lower() == ".shp" else ""
    head = (f"layer {spec.kind!r} ({label}) has no coordinate reference system{prj}; geoplan "
            "will not guess it.")
    if bounds is None:
        return (f"{head} Declare it in {CONFIG_NAME}: [layers.{spec.kind}] crs = \"EPSG:4490\" "
                "(or the CRS the data was made in, e.g. EPSG:4536 for 3° Gauss-Kruger CM 81°E)")
    prop = crs_mod.propose_crs(bounds, known_lon=known[0] if known else None,
                               known_from=known[1] if known else None)
    if prop.epsg is not None:
        return (f"{head} From its coordinates: {prop.reason}. Proposed — confirm it with the data "
                f"provider, then declare it in {CONFIG_NAME}: [layers.{spec.kind}] crs = "
                f"\"EPSG:{prop.epsg}\". 建议坐标系 EPSG:{prop.epsg}：{prop.reason_zh}")
    choose = f" (one of {prop.code})" if prop.candidates else ""
    return (f"{head} From its coordinates: {prop.reason}. Declare it in {CONFIG_NAME} once "
            f"known: [layers.{spec.kind}] crs = \"EPSG:…\"{choose}. 无法确定坐标系：{prop.reason_zh}")


def _read_source_crs(spec: LayerSpec, file_crs: CRS | None, label: str, *,
                     bounds: Iterable[float] | None = None,
                     known: tuple[float, str] | None = None) -> tuple[CRS, bool]:
    """The layer's CRS: declared in ``geoplan.toml``, else the file's; ``(crs, declared)``.

    A layer with neither is refused; the message proposes a CRS from the magnitude
    of the coordinates in ``bounds`` (:func:`geoplan.crs.propose_crs`), using the
    longitude ``known`` from other layers or the working CRS (``(lon, where from)``)
    when the eastings carry no zone number.
    """
    if spec.crs is not None:
        declared = crs_mod.resolve_crs(spec.crs)
        return declared, True
    if file_crs is None:
        box: tuple[float, float, float, float] | None = None
        if bounds is not None:
            b = [float(v) for v in bounds]
            box = (b[0], b[1], b[2], b[3]) if len(b) == 4 else None
        raise MissingCRSError(missing_crs_message(spec, label, box, known), spec=spec,
                          label=label, bounds=box)
    return CRS.from_user_input(file_crs), False


def _datum_fix(kind: str) -> str:
    return (f"(1) give the transformation from the survey's conversion report (坐标转换参数): "
            f"[layers.{kind}] towgs84 = [dx, dy, dz] (metres), or the 7 parameters [dx, dy, dz, "
            "rx, ry, rz, ds] (arc-seconds, ppm; position-vector convention, as PROJ's +towgs84); "
            f"or (2) accept PROJ's ballpark conversion, stating how far off it may be: "
            f"[layers.{kind}] datum_shift_accuracy_m = 100")


def _datum_policy(spec: LayerSpec, source_crs: CRS, label: str,
                  notes: list[str]) -> tuple[CRS, CRS | None, str | None]:
    """Beijing 1954 / Xian 1980: refuse, or accept with an explicit transformation.

    Returns ``(source CRS without binding, CRS bound to towgs84 or None, note or None)``.
    """
    bound = source_crs if source_crs.is_bound else None
    base = source_crs.source_crs if bound is not None and source_crs.source_crs else source_crs
    name = f"layer {spec.kind!r} ({label})"
    if spec.towgs84 is not None:
        bound = crs_mod.with_towgs84(base, spec.towgs84)
    note = crs_mod.check_datum(bound if bound is not None else base, name=name,
                               accuracy_m=spec.datum_shift_accuracy_m, fix=_datum_fix(spec.kind))
    if spec.datum_shift_accuracy_m is not None and note is None:
        notes.append(f"datum_shift_accuracy_m ignored: {crs_name(base)} is not on a pre-2000 "
                     "datum (Beijing 1954 / Xian 1980)")
    if note:
        notes.append(note)
    return base, bound, note


def _read_database(spec: LayerSpec, extent: Extent | None,
                   connections: Connections | None) -> tuple[gpd.GeoDataFrame, str, Fetched]:
    """A database layer read as a file's frame: ``(frame, label, what was fetched)``."""
    from ..postgis import Connections, read_layer, resolve, table_text

    assert spec.source is not None
    _, shown = resolve(spec.source)
    what = (f"table {table_text(spec.table)}" if spec.table is not None else "sql")
    label = f"{shown} {what}"
    own = connections is None
    pool = Connections() if connections is None else connections
    try:
        conn = pool.get(spec.source, purpose=f"layer {spec.kind!r}, {what}")
        declared = crs_mod.resolve_crs(spec.crs) if spec.crs is not None else None
        if extent is not None and spec.towgs84 is not None:
            # the box is turned into the table's CRS without the datum shift applied later:
            # widen it by the shift, so that no feature near the batch is left out
            extent = extent.widened(math.hypot(*spec.towgs84[:3]) + 50.0)
        fetched = read_layer(conn, shown=shown, kind=spec.kind, table=spec.table,
                             sql_text=spec.sql, geometry=spec.geometry, extent=extent,
                             declared_crs=declared)
    finally:
        if own:
            pool.close()
    return fetched.gdf, label, fetched


def load_vector(spec: LayerSpec, *, engine: Engine, extent: Extent | None = None,
                connections: Connections | None = None) -> tuple[gpd.GeoDataFrame, Layer]:
    """Read one vector layer, from a file or a database; returns (frame in source CRS, Layer shell).

    Parameters
    ----------
    spec
        The layer's spec (a file ``path`` or a database ``source``).
    engine
        How files are read (``pyogrio`` or ``fiona``).
    extent
        For a database layer: fetch only the rows within it (None: every row).
        Files are read whole.
    connections
        Open database connections to reuse (one per source).

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, Layer)
    """
    if spec.in_database:
        gdf, label, fetched = _read_database(spec, extent, connections)
        return _finish_read(spec, gdf, label, sha256=fetched.sha256, notes=list(fetched.notes),
                            database=fetched.provenance())
    assert spec.path is not None
    label = f"{spec.path}{':' + spec.layer if spec.layer else ''}"
    layer_name = spec.layer
    if layer_name is None and (spec.path.suffix.lower() == ".gpkg" or is_filegdb(spec.path)):
        names = list_vector_layers(spec.path)
        if spec.kind in names:
            layer_name = spec.kind
        elif len(names) == 1:
            layer_name = names[0]
        else:
            from ..draft import guess_kind

            likely = [n for n in names if guess_kind(n) == spec.kind]
            hint = f" ({', '.join(likely)} looks like it)" if likely else ""
            raise WorkspaceError(
                f"{spec.path} holds {len(names)} layers ({', '.join(names)}) and none is called "
                f"{spec.kind!r}{hint}; name the one to use: [layers.{spec.kind}] layer = \"...\""
            )
    gdf = read_vector(spec.path, layer=layer_name, encoding=spec.encoding, engine=engine)
    return _finish_read(spec, gdf, label, sha256=_sha256(spec.path), notes=[])


def _finish_read(spec: LayerSpec, gdf: gpd.GeoDataFrame, label: str, *, sha256: str,
                 notes: list[str], database: dict[str, Any] | None = None) -> tuple[
                     gpd.GeoDataFrame, Layer]:
    """What every vector layer goes through once read: CRS, datum, fields, values, ``where`` check."""
    kind = KINDS[spec.kind]
    if gdf.attrs.get("rings_closed"):
        notes.append(f"{gdf.attrs['rings_closed']} polygon ring(s) were not closed in the file "
                     "and were closed on reading")
    if gdf.attrs.get("m_dropped"):
        notes.append("M (measure) values dropped")
    source_crs, declared = _read_source_crs(spec, gdf.crs, label,
                                            bounds=gdf.total_bounds if len(gdf) else None)
    source_crs, datum_crs, datum_shift = _datum_policy(spec, source_crs, label, notes)
    if gdf.crs is not None and not declared and CRS.from_user_input(gdf.crs).is_bound:
        gdf = gdf.set_crs(source_crs, allow_override=True)
    if declared:
        if gdf.crs is not None and not CRS.from_user_input(gdf.crs).equals(source_crs):
            notes.append(f"declared CRS {crs_name(source_crs)} used instead of the file's "
                         f"{crs_name(CRS.from_user_input(gdf.crs))}")
        else:
            notes.append(f"CRS declared in {CONFIG_NAME}")
        gdf = gdf.set_crs(source_crs, allow_override=True)
    gdf = apply_field_map(gdf, spec, label, notes)
    unreadable = canonicalise(gdf, spec, label, notes)
    n_read = len(gdf)
    if spec.where is not None:
        missing = spec.where.missing_fields(gdf.columns)
        if missing:
            raise ConfigError(
                f"[layers.{spec.kind}].where = {spec.where.text!r} reads field(s) "
                f"{', '.join(missing)}, not in {label}; fields present: "
                f"{', '.join(map(str, gdf.columns))}"
            )
    scheme = resolve_scheme(spec.scheme) if spec.scheme else None
    layer = Layer(kind=kind, gdf=gdf, source=label, source_crs=source_crs, path=spec.path,
                  sha256=sha256, crs_declared=declared, scheme=scheme,
                  n_read=n_read, notes=notes, unreadable=unreadable,
                  literals=literal_readers(spec.kind, spec.values),
                  datum_shift=datum_shift, datum_crs=datum_crs, database=database)
    return gdf, layer


def finish_vector(layer: Layer, gdf: gpd.GeoDataFrame, spec: LayerSpec) -> None:
    """Filter, clean, type-check and validate (still in the source CRS)."""
    kind = layer.kind
    unknown = None
    if spec.where is not None:
        try:
            mask, unk = spec.where.evaluate(gdf, scheme=layer.scheme, literals=layer.literals)
        except ExpressionError as exc:
            raise ConfigError(f"[layers.{spec.kind}].where: {exc}") from exc
        layer.where_text = spec.where.text
        found = "; ".join(f"{f}: {describe_values(gdf[f], unreadable=layer.unreadable.get(f))}"
                          for f in sorted(spec.where.fields) if f in gdf.columns)
        layer.notes.append(f"where {spec.where.text!r} kept {int(mask.sum())} of {len(mask)}")
        if unk.any():
            unknown, _ = clean_geometries(gdf.loc[unk])
            unknown = unknown.reset_index(drop=True)
            layer.n_unknown = len(unknown)
            layer.notes.append(
                f"WARNING: where {spec.where.text!r} cannot decide {int(unk.sum())} feature(s) "
                f"(fid {', '.join(map(str, gdf.loc[unk, 'fid'].head(8)))}"
                f"{'…' if unk.sum() > 8 else ''}): a field it reads is empty or not understood "
                f"({found}). They are kept apart as unknown: a site they would affect is "
                "not_checked, never pass. Fill the field, map its values (values.<field>), or "
                "write the filter to say what an empty value means (… or field is null)")
        if not mask.any() and not unk.any() and len(mask):
            layer.notes.append(f"WARNING: the filter kept no feature of {len(mask)} ({found}) — "
                               "rules on this layer are not_checked; check the codes, the "
                               "values and the scheme")
        gdf = gdf.loc[mask]
    layer.unknown = unknown
    gdf, report = clean_geometries(gdf)
    layer.repairs = report
    check_families(gdf, kind, layer.source)
    check_required(gdf, kind, layer.source)
    coerce_types(gdf, kind, layer.notes)
    if len(gdf) == 0:
        layer.notes.append("layer has no usable feature")
    layer.gdf = gdf.reset_index(drop=True)


def load_raster(spec: LayerSpec) -> RasterLayer:
    import rasterio
    from rasterio.errors import RasterioIOError

    assert spec.path is not None
    if not spec.path.exists():
        raise DataFileError(f"{spec.path}: file not found; check the path")
    try:
        with rasterio.open(spec.path) as src:
            file_crs = CRS.from_user_input(src.crs) if src.crs else None
            b = src.bounds
            shape = (src.height, src.width)
            res = src.res
            nodata = src.nodata
            dtype = src.dtypes[0]
            count = src.count
    except RasterioIOError as exc:
        raise DataFileError(f"{spec.path}: cannot be read as a raster ({exc}); the file may be "
                            "truncated or not a GeoTIFF") from exc
    source_crs, declared = _read_source_crs(spec, file_crs, str(spec.path),
                                            bounds=(b.left, b.bottom, b.right, b.top))
    notes: list[str] = []
    if spec.towgs84 is not None or source_crs.is_bound:
        raise CRSError(
            f"layer {spec.kind!r} ({spec.path}): a towgs84 datum transformation is not applied to "
            "rasters; warp the DEM to CGCS2000 with it first (gdalwarp -s_srs \"<its CRS> "
            "+towgs84=dx,dy,dz\" -t_srs EPSG:4490), or accept PROJ's conversion with "
            f"[layers.{spec.kind}] datum_shift_accuracy_m = N"
        )
    datum_shift = crs_mod.check_datum(
        source_crs, name=f"layer {spec.kind!r} ({spec.path})",
        accuracy_m=spec.datum_shift_accuracy_m,
        fix=(f"warp the DEM to CGCS2000 with the survey's parameters first (gdalwarp -s_srs "
             f"\"<its CRS> +towgs84=dx,dy,dz\" -t_srs EPSG:4490), or accept PROJ's ballpark "
             f"conversion, stating how far off it may be: [layers.{spec.kind}] "
             "datum_shift_accuracy_m = 100"))
    if datum_shift:
        notes.append(datum_shift)
    if count > 1:
        notes.append(f"{count} bands; band 1 is used")
    if nodata is None:
        notes.append("no nodata value declared; every cell is taken as valid")
    if source_crs.is_geographic:
        notes.append("geographic CRS: slope is computed after reprojection to the working CRS")
    return RasterLayer(kind=KINDS[spec.kind], path=spec.path, source_crs=source_crs,
                       source_bounds=(b.left, b.bottom, b.right, b.top), bounds=(0, 0, 0, 0),
                       shape=shape, res=(float(res[0]), float(res[1])), nodata=nodata,
                       dtype=str(dtype), sha256=_sha256(spec.path), crs_declared=declared,
                       notes=notes, datum_shift=datum_shift)


def known_longitude(raw: dict[str, tuple[gpd.GeoDataFrame, Layer]],
                     rasters: dict[str, RasterLayer],
                     work: str | int | CRS | None) -> tuple[float, str] | None:
    """The longitude the workspace's other data tells, and where it comes from."""
    boxes, names = [], []
    for kind, (gdf, layer) in raw.items():
        if len(gdf) and layer.derived_from is None:
            try:
                boxes.append(lonlat_bounds(gdf.total_bounds, layer.source_crs))
                names.append(kind)
            except Exception:  # an extent PROJ cannot transform says nothing useful
                continue
    for kind, r in rasters.items():
        try:
            boxes.append(lonlat_bounds(r.source_bounds, r.source_crs))
            names.append(kind)
        except Exception:
            continue
    arr = np.array(boxes, dtype=float).reshape(-1, 4)
    lo, _, hi, _ = crs_mod.CHINA_BOUNDS_LONLAT
    ok = np.isfinite(arr).all(axis=1) & (arr[:, 0] >= lo) & (arr[:, 2] <= hi)
    names = [n for n, keep in zip(names, ok, strict=True) if keep]
    arr = arr[ok]
    if len(arr):
        lon = 0.5 * (arr[:, 0].min() + arr[:, 2].max())
        return float(lon), f"the layers that declare a CRS ({', '.join(names)})"
    if work is not None:
        try:
            cm = crs_mod.central_longitude(work)
        except CRSError:
            cm = None
        if cm is not None:
            return cm, f"the working CRS {work} (central meridian {cm:g}°E)"
    return None


def lonlat_bounds(bounds: Iterable[float], crs: CRS) -> tuple[float, float, float, float]:
    tr = Transformer.from_crs(crs, CGCS2000, always_xy=True)
    minx, miny, maxx, maxy = bounds
    return tr.transform_bounds(minx, miny, maxx, maxy, densify_pts=11)
