"""Reading vector and raster files, with the text-encoding care Chinese data needs.

Reading goes through pyogrio (GDAL) by default; ``engine="fiona"`` stays
available. A Shapefile without a ``.cpg`` whose ``.dbf`` holds GBK/GB18030 text
— common for 三调 and other survey deliveries — is detected from its bytes and
read as GB18030, never as mojibake.

An ArcGIS File Geodatabase (a ``.gdb`` folder, the usual form of 三调 and other
survey deliveries) is read with GDAL's OpenFileGDB driver, one feature class at
a time (``layer="DLTB"``); Chinese feature-class and field names are kept.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
import shapely

from .errors import DataFileError, GeoplanWarning

__all__ = [
    "FILEGDB_SUFFIX",
    "RASTER_EXTENSIONS",
    "VECTOR_EXTENSIONS",
    "detect_dbf_encoding",
    "is_filegdb",
    "list_vector_layers",
    "read_vector",
]

VECTOR_EXTENSIONS = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".parquet", ".geoparquet")
RASTER_EXTENSIONS = (".tif", ".tiff")
FILEGDB_SUFFIX = ".gdb"
"""An ArcGIS File Geodatabase is a folder whose name ends in ``.gdb``."""

Engine = Literal["pyogrio", "fiona"]


def _dbf_text_bytes(dbf: Path, *, limit: int = 4 << 20) -> bytes:
    """The raw bytes of the character fields of a .dbf (up to ``limit`` bytes of records)."""
    with dbf.open("rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return b""
        header_len = int.from_bytes(head[8:10], "little")
        record_len = int.from_bytes(head[10:12], "little")
        descr = fh.read(max(header_len - 32, 0))
        char_slices: list[tuple[int, int]] = []
        offset = 1  # deletion flag
        for i in range(0, len(descr) - 31, 32):
            if descr[i] == 0x0D:
                break
            ftype = chr(descr[i + 11])
            flen = descr[i + 16]
            if ftype in ("C", "M"):
                char_slices.append((offset, flen))
            offset += flen
        if record_len <= 0 or not char_slices:
            return b""
        fh.seek(header_len)
        data = fh.read(limit - limit % record_len)
    out = bytearray()
    for r in range(0, len(data) - record_len + 1, record_len):
        rec = data[r:r + record_len]
        for start, length in char_slices:
            out += rec[start:start + length].rstrip(b" \x00") + b"\n"
    return bytes(out)


def detect_dbf_encoding(path: str | os.PathLike[str]) -> str | None:
    """Guess the text encoding of a Shapefile's ``.dbf`` when it has no ``.cpg``.

    Returns ``None`` when a ``.cpg`` exists or the text is plain ASCII (GDAL then
    decides), ``"UTF-8"`` when the bytes are valid UTF-8, ``"GB18030"`` (a
    superset of GBK and GB2312) when they decode as that, else ``None``.

    Examples
    --------
    >>> detect_dbf_encoding("missing.shp") is None
    True
    """
    shp = Path(path)
    if shp.with_suffix(".cpg").exists() or shp.with_suffix(".CPG").exists():
        return None
    dbf = next((p for p in (shp.with_suffix(".dbf"), shp.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    raw = _dbf_text_bytes(dbf)
    if not any(b >= 0x80 for b in raw):
        return None
    try:
        raw.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "GB18030"
    except UnicodeDecodeError:
        return None


def _check_shp_length(shp: Path) -> None:
    """Refuse a .shp shorter than its header says (a truncated copy)."""
    size = shp.stat().st_size
    with shp.open("rb") as fh:
        head = fh.read(100)
    if len(head) < 100 or int.from_bytes(head[0:4], "big") != 9994:
        raise DataFileError(f"{shp}: not a Shapefile (bad header); re-export or re-copy it")
    declared = int.from_bytes(head[24:28], "big") * 2
    if size < declared:
        raise DataFileError(
            f"{shp}: truncated — the header says {declared} bytes but the file has {size}; "
            "copy the complete file again (with its .shx, .dbf and .prj)"
        )


def _read_with_ring_fix(path: Path, *, layer: str | None,
                        encoding: str | None) -> tuple[gpd.GeoDataFrame, int]:
    """Read a layer whose polygons have unclosed rings, closing them (counted)."""
    import numpy as np
    import pyogrio

    meta, index, geometry, field_data = pyogrio.raw.read(
        path, layer=layer, encoding=encoding, return_fids=True)
    strict = shapely.from_wkb(geometry, on_invalid="ignore")
    fixed = shapely.from_wkb(geometry, on_invalid="fix")
    n_fixed = int(np.sum(shapely.is_missing(strict) & ~shapely.is_missing(fixed)))
    df = pd.DataFrame(dict(zip(meta["fields"], field_data, strict=True)),
                      index=pd.Index(index, name="fid"))
    gdf = gpd.GeoDataFrame(df, geometry=list(fixed), crs=meta["crs"])
    return gdf, n_fixed


def is_filegdb(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is an ArcGIS File Geodatabase (a folder named ``*.gdb``).

    Examples
    --------
    >>> is_filegdb("no/such.gdb"), is_filegdb(".")
    (False, False)
    """
    p = Path(path)
    return p.suffix.lower() == FILEGDB_SUFFIX and p.is_dir()


def list_vector_layers(path: str | os.PathLike[str]) -> list[str]:
    """The layer names in a vector file (a GeoPackage or a File Geodatabase may hold several)."""
    import pyogrio

    p = Path(path)
    if p.suffix.lower() in (".parquet", ".geoparquet"):
        return [p.stem]
    try:
        return [str(name) for name, _ in pyogrio.list_layers(p)]
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise DataFileError(
            f"{p}: cannot be opened as a vector data source ({exc}); check the file is "
            "complete and in a format GDAL reads (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, "
            "File Geodatabase .gdb folder)"
        ) from exc


def _check_gdb_layer(p: Path, layer: str | None) -> None:
    """Refuse, with the feature classes listed, a missing or ambiguous ``layer`` of a .gdb."""
    import difflib

    names = list_vector_layers(p)
    shown = ", ".join(names) or "(none)"
    if layer is None and len(names) != 1:
        raise DataFileError(
            f"{p}: a File Geodatabase with {len(names)} feature classes ({shown}); name the one "
            "to read (layer=\"DLTB\"; in geoplan.toml: layer = \"...\")"
        )
    if layer is not None and layer not in names:
        close = difflib.get_close_matches(layer, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataFileError(
            f"{p}: has no feature class {layer!r}{hint}; it holds {shown}. Correct layer = "
            "\"...\" (names are case-sensitive)"
        )


def read_vector(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    encoding: str | None = None,
    engine: Engine = "pyogrio",
) -> gpd.GeoDataFrame:
    """Read one vector layer into a GeoDataFrame, keeping the source FID.

    Parameters
    ----------
    path
        A GeoPackage, Shapefile, GeoJSON, FlatGeobuf or GeoParquet file, or an
        ArcGIS File Geodatabase (``.gdb`` folder).
    layer
        The layer to read from a multi-layer source (GeoPackage, or the feature
        class of a File Geodatabase, e.g. ``"DLTB"``; needed when it holds several).
    encoding
        Text encoding of a Shapefile's attributes (``"gbk"``, ``"gb18030"``,
        ``"utf-8"``). When omitted for a Shapefile without ``.cpg``, it is
        detected from the ``.dbf`` bytes.
    engine
        ``"pyogrio"`` (default) or ``"fiona"``.

    Returns
    -------
    geopandas.GeoDataFrame
        With a ``fid`` column holding each feature's id in the source (GeoPackage
        fid, File Geodatabase OBJECTID, or the 0-based record number of a Shapefile).

    Raises
    ------
    DataFileError
        If the file is missing, unreadable or corrupt; the message names it.

    Examples
    --------
    >>> read_vector("no/such/file.gpkg")
    Traceback (most recent call last):
    ...
    geoplan.errors.DataFileError: no/such/file.gpkg: file not found; check the path (relative paths in geoplan.toml are read from the folder of geoplan.toml)
    """
    p = Path(path)
    if not p.exists():
        raise DataFileError(
            f"{p}: file not found; check the path (relative paths in geoplan.toml are read "
            "from the folder of geoplan.toml)"
        )
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        try:
            gdf = gpd.read_parquet(p)
        except Exception as exc:
            raise DataFileError(f"{p}: cannot be read as GeoParquet ({exc})") from exc
        return _numbered(gdf)
    if suffix == ".shp" and encoding is None:
        encoding = detect_dbf_encoding(p)
    if is_filegdb(p):
        _check_gdb_layer(p, layer)
    if engine == "fiona":
        try:
            gdf = gpd.read_file(p, layer=layer, encoding=encoding, engine="fiona")
        except Exception as exc:
            raise DataFileError(f"{p}: cannot be read with fiona ({exc})") from exc
        return _numbered(gdf)
    if engine != "pyogrio":
        raise ValueError(f"engine must be 'pyogrio' or 'fiona', not {engine!r}")
    if suffix == ".shp":
        _check_shp_length(p)
    gdf, fixed_rings, caught = _read_pyogrio(p, layer=layer, encoding=encoding)
    m_dropped, passed_on = _sort_warnings(caught)
    for msg in passed_on:
        warnings.warn(f"{p}: {msg}", GeoplanWarning, stacklevel=2)
    gdf = _fid_column(gdf)
    if not isinstance(gdf, gpd.GeoDataFrame):  # a table with no geometry column
        raise DataFileError(
            f"{p}: has no geometry column; geoplan needs a spatial layer (for a CSV of "
            "coordinates use geoplan.read_sites)"
        )
    gdf.attrs["rings_closed"] = fixed_rings
    gdf.attrs["m_dropped"] = m_dropped
    return _plain_text(gdf)


def _numbered(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` with a fresh index and a ``fid`` column numbering the records from 0."""
    gdf = gdf.reset_index(drop=True)
    gdf.insert(0, "fid", range(len(gdf)))
    return gdf


def _read_pyogrio(p: Path, *, layer: str | None, encoding: str | None) -> tuple[
        pd.DataFrame, int, list[warnings.WarningMessage]]:
    """Read with pyogrio (FID as index), closing unclosed rings where GEOS refuses them.

    Returns the frame, how many rings were closed and the warnings raised.
    """
    import pyogrio

    fixed_rings = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            gdf = pyogrio.read_dataframe(p, layer=layer, encoding=encoding, fid_as_index=True)
        except shapely.errors.GEOSException as exc:
            if "closed linestring" not in str(exc):
                raise DataFileError(f"{p}: a geometry cannot be read ({exc})") from exc
            gdf, fixed_rings = _read_with_ring_fix(p, layer=layer, encoding=encoding)
        except Exception as exc:
            raise DataFileError(
                f"{p}{f' (layer {layer!r})' if layer else ''}: cannot be read ({exc}); the file "
                "may be truncated or corrupt, or not a vector format GDAL reads"
            ) from exc
    return gdf, fixed_rings, caught


def _sort_warnings(caught: list[warnings.WarningMessage]) -> tuple[bool, list[str]]:
    """Whether GDAL dropped M values, and the messages of the warnings to pass on.

    Unclosed rings are counted elsewhere (``rings_closed``), so their warnings are dropped.
    """
    m_dropped = False
    passed_on: list[str] = []
    for w in caught:
        msg = str(w.message)
        if "Measured (M) geometry types are not supported" in msg:
            m_dropped = True
            continue
        if "Non closed ring detected" in msg:
            continue
        passed_on.append(msg)
    return m_dropped, passed_on


def _fid_column(gdf: pd.DataFrame) -> pd.DataFrame:
    """The source FID (the index) as the ``fid`` column, or a ``fid`` field where it can serve."""
    if "fid" in gdf.columns:
        # A field called "fid" (e.g. a Shapefile exported from a GeoPackage) is the id
        # the planner knows: keep it as the feature id when it can serve as one.
        col = gdf["fid"]
        usable = col.notna().all() and not col.duplicated().any()
        if usable:
            return gdf.reset_index(drop=True)
        return gdf.rename(columns={"fid": "fid_source"}).reset_index()
    return gdf.reset_index()


def _plain_text(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """String columns as plain objects, missing values as ``None``.

    String columns come back as pandas' "str" dtype; plain objects keep missing
    values as None, so that downstream code sees one text type.
    """
    for col in gdf.columns:
        if col != gdf.geometry.name and pd.api.types.is_string_dtype(gdf[col].dtype):
            gdf[col] = gdf[col].astype(object).where(gdf[col].notna(), None)
    return gdf
