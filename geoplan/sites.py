"""Reading and preparing a batch of sites (proposed houses, roads, projects).

Sites come from any vector file, or a CSV of coordinates: ``lon``/``lat``
(CGCS2000 / WGS84 degrees; ``经度``/``纬度`` work too) or ``x``/``y`` with a
declared CRS. Coordinates digitised on an Amap/Tencent base map are GCJ-02 and
must be converted (``gcj02=True``); geoplan cannot tell them from WGS84 by
looking at them, only the planner knows where they were digitised.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from .crs import from_gcj02, resolve_crs
from .errors import CRSError, SiteInputError
from .io import read_vector

__all__ = ["ID_CANDIDATES", "read_sites"]

_LON = ("lon", "lng", "longitude", "经度", "long")
_LAT = ("lat", "latitude", "纬度")
_X = ("x", "easting", "东坐标")
_Y = ("y", "northing", "北坐标")
ID_CANDIDATES = ("site_id", "house_id", "road_id", "project_id", "id", "编号", "bh", "BH")
"""Fields tried, in order, as the site id when none is named (the first with unique values)."""


def _find(columns: list[str], names: tuple[str, ...]) -> str | None:
    low = {c.lower().strip(): c for c in columns}
    for n in names:
        if n.lower() in low:
            return low[n.lower()]
    return None


def _decode_csv(path: Path, encoding: str | None) -> str:
    raw = path.read_bytes()
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SiteInputError(f"{path}: cannot be decoded as {encoding} ({exc})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    utf8_rows, other_rows = [], []
    for i, line in enumerate(lines, start=1):
        if all(b < 0x80 for b in line):
            continue
        try:
            line.decode("utf-8")
            utf8_rows.append(i)
        except UnicodeDecodeError:
            other_rows.append(i)
    if utf8_rows and other_rows:
        raise SiteInputError(
            f"{path}: mixed text encodings — line(s) {', '.join(map(str, utf8_rows[:5]))} are "
            f"UTF-8 but line(s) {', '.join(map(str, other_rows[:5]))} are not (GBK?); the file "
            "was assembled from several sources. Re-save it in one encoding (UTF-8) and check "
            "those lines"
        )
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise SiteInputError(f"{path}: text is neither UTF-8 nor GBK/GB18030 ({exc}); save it as "
                             "UTF-8, or pass encoding=") from exc


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    import io

    text = _decode_csv(path, encoding)
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SiteInputError(f"{path}: cannot be read as CSV ({exc})") from exc


def read_sites(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    crs: str | int | CRS | None = None,
    gcj02: bool = False,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a batch of sites from a vector file or a CSV of coordinates.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet or CSV.
    layer
        Layer of a multi-layer file.
    crs
        CRS of the coordinates: required for a CSV with ``x``/``y``; for a file
        that declares none; overrides nothing a file declares.
    gcj02
        The coordinates are GCJ-02 (digitised on Amap or Tencent maps): convert
        them to CGCS2000 before any check.
    encoding
        Text encoding of a CSV or Shapefile (detected when omitted).

    Returns
    -------
    geopandas.GeoDataFrame
        Every input row, in input order, geometry possibly empty (a row without
        coordinates gets an empty point and later an ``error`` status).

    Raises
    ------
    SiteInputError
        A CSV with no coordinate columns, an unreadable file.
    CRSError
        No CRS known for the coordinates.
    """
    p = Path(path)
    if p.suffix.lower() in (".csv", ".txt"):
        if not p.exists():
            raise SiteInputError(f"{p}: file not found")
        df = _read_csv(p, encoding)
        cols = list(df.columns)
        lon, lat = _find(cols, _LON), _find(cols, _LAT)
        if lon and lat:
            xcol, ycol, default_crs = lon, lat, CRS.from_epsg(4490)
        else:
            xcol, ycol, default_crs = _find(cols, _X), _find(cols, _Y), None
        if not xcol or not ycol:
            raise SiteInputError(
                f"{p}: no coordinate columns; name them lon/lat (经度/纬度) for degrees, or x/y "
                f"with --crs for projected coordinates (columns present: {', '.join(cols)})"
            )
        x = pd.to_numeric(df[xcol], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(df[ycol], errors="coerce").to_numpy(dtype=float)
        use_crs = resolve_crs(crs) if crs is not None else default_crs
        if use_crs is None:
            raise CRSError(f"{p}: columns {xcol}/{ycol} hold projected coordinates; say which "
                           "CRS they are in (--crs EPSG:4536, or crs= in Python)")
        geoms = gpd.points_from_xy(x, y)
        bad = np.isnan(x) | np.isnan(y)
        geoms = np.asarray(geoms, dtype=object)
        if bad.any():
            import shapely

            geoms[bad] = shapely.Point()
        gdf = gpd.GeoDataFrame(df, geometry=list(geoms), crs=use_crs)
    else:
        gdf = read_vector(p, layer=layer, encoding=encoding)
        if "fid" in gdf.columns and not any(c == "fid" for c in _source_columns(p, layer)):
            gdf = gdf.drop(columns="fid")
        if gdf.crs is None:
            if crs is None:
                raise CRSError(f"{p}: the sites have no CRS; pass it (--crs EPSG:4490, or crs=)")
            gdf = gdf.set_crs(resolve_crs(crs))
    if len(gdf) == 0:
        raise SiteInputError(f"{p}: has no rows; there is nothing to check (is it the right "
                             "file or layer?)")
    if gcj02:
        gdf = from_gcj02(gdf)
    gdf.attrs["source"] = str(p)
    return gdf


def _source_columns(path: Path, layer: str | None) -> list[str]:
    import pyogrio

    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return []
    try:
        return [str(c) for c in pyogrio.read_info(path, layer=layer)["fields"]]
    except Exception:
        return []
