"""Sites files read chunk by chunk, and scanned without being read whole.

GeoParquet, GeoPackage and FlatGeobuf files (:data:`STREAMED_SUFFIXES`) can
be read ``size`` rows at a time: :func:`file_sites` gives each chunk as
:func:`geoplan.read_sites` would give those rows. :func:`file_id_columns`
and :func:`file_votes` read only what the decisions about the whole batch
need (the id candidates; the geometry types, and the geometries only when
the file's declared types leave the subject open).

Examples
--------
>>> streamable("sites.csv") is None
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from ..crs import CRSLike, require_cgcs2000_datum, resolve_crs
from ..errors import DataFileError, GeoplanError, SiteInputError
from ..hygiene import FAMILY_OF_TYPE
from ..sites import apply_gcj02, convert_coordinate_systems, missing_crs_error, read_sites
from .decisions import subject_votes

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "STREAMED_SUFFIXES",
    "declared_crs",
    "file_fields",
    "file_id_columns",
    "file_sites",
    "file_votes",
    "iter_site_chunks",
    "streamable",
    "unreadable",
]

DEFAULT_CHUNK_SIZE = 50_000
"""Sites per chunk (findings are ~1 KB per site).

10⁶ house footprints with the full pack, streamed to CSV files and GeoPackage,
take the same time in chunks of 5 × 10⁴ as of 10⁵ (201–212 s against 208 s on
2 cores) in 3.7 GB instead of 4.8 GB (PSS: the chunk being checked, and the one
before being written by a forked process); see docs/performance.md.
"""

STREAMED_SUFFIXES = (".parquet", ".geoparquet", ".gpkg", ".fgb")
"""Site files read chunk by chunk; others (CSV, Excel, Shapefile, GeoJSON) are read whole."""

_SCAN_ROWS = 10_000  # geometries per read while scanning a file for the subject


def _parquet_chunks(path: Path, size: int,
                    columns: list[str] | None = None) -> Iterator[gpd.GeoDataFrame]:
    """A GeoParquet file ``size`` rows at a time (``columns``: only these, and the geometry)."""
    import pyarrow.parquet as pq
    from pyproj import CRS

    pf = pq.ParquetFile(path)
    meta = json.loads((pf.schema_arrow.metadata or {}).get(b"geo", b"{}") or b"{}")
    geom_col = meta.get("primary_column", "geometry")
    crs_meta = meta.get("columns", {}).get(geom_col, {}).get("crs", "OGC:CRS84")
    crs = CRS.from_user_input(crs_meta) if crs_meta is not None else None
    index_cols = [c for c in (json.loads((pf.schema_arrow.metadata or {})
                                         .get(b"pandas", b"{}") or b"{}")
                              .get("index_columns", [])) if isinstance(c, str)]
    wanted = None if columns is None else [*[c for c in columns if c in pf.schema_arrow.names],
                                           geom_col]
    for batch in pf.iter_batches(batch_size=size, columns=wanted):
        df = batch.to_pandas()
        df = df.drop(columns=[c for c in index_cols if c in df.columns])
        geoms = shapely.from_wkb(df.pop(geom_col).to_numpy())
        gdf = gpd.GeoDataFrame(df, geometry=geoms, crs=crs)
        yield gdf.rename_geometry(geom_col) if geom_col != "geometry" else gdf


def _ogr_chunks(path: Path, size: int, layer: str | None,
                columns: list[str] | None = None) -> Iterator[gpd.GeoDataFrame]:
    """A GeoPackage or FlatGeobuf layer ``size`` features at a time, text as read_vector gives it."""
    import pyogrio

    info = pyogrio.read_info(path, layer=layer)
    n = int(info["features"])
    if columns is not None:
        have = {str(f) for f in info["fields"]}
        columns = [c for c in columns if c in have]
    for start in range(0, n, size):
        gdf = pyogrio.read_dataframe(path, layer=layer, skip_features=start,
                                     max_features=size, columns=columns)
        for col in gdf.columns:  # text as geoplan.io.read_vector gives it: objects, None
            if col != gdf.geometry.name and pd.api.types.is_string_dtype(gdf[col].dtype):
                gdf[col] = gdf[col].astype(object).where(gdf[col].notna(), None)
        yield gdf


def _raw_chunks(path: Path, size: int, layer: str | None,
                columns: list[str] | None = None) -> Iterator[gpd.GeoDataFrame]:
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return _parquet_chunks(path, size, columns)
    return _ogr_chunks(path, size, layer, columns)


def file_fields(path: Path, layer: str | None) -> list[str]:
    """The attribute field names of a vector file's layer (or a GeoParquet file), no geometry.

    Parameters
    ----------
    path
        The file.
    layer
        Layer of a multi-layer file (``None``: the first); ignored for GeoParquet.

    Returns
    -------
    list of str
        The field names, in file order, without the geometry column.
    """
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        schema = pq.ParquetFile(path).schema_arrow
        geo = json.loads((schema.metadata or {}).get(b"geo", b"{}") or b"{}")
        return [n for n in schema.names if n != geo.get("primary_column", "geometry")]
    import pyogrio

    return [str(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]


def _finish_chunk(chunk: gpd.GeoDataFrame, *, path: Path, crs: CRSLike | None, gcj02: bool,
                  first_row: int) -> gpd.GeoDataFrame:
    """A chunk of a file made what :func:`geoplan.read_sites` gives for those rows."""
    if chunk.crs is None:
        if crs is None:
            raise missing_crs_error(path, chunk.total_bounds if len(chunk) else None)
        chunk = chunk.set_crs(resolve_crs(crs))
    chunk = convert_coordinate_systems(chunk, source=str(path), first_row=first_row)
    chunk = require_cgcs2000_datum(chunk, name=f"the sites {path}", declared=crs)
    if gcj02:
        chunk = apply_gcj02(chunk, source=str(path))
    chunk.attrs["source"] = str(path)
    return chunk


def unreadable() -> tuple[type[Exception], ...]:
    """What pyarrow and pyogrio raise for a file or layer they cannot read."""
    from pyogrio.errors import DataLayerError, DataSourceError

    return (OSError, ValueError, DataSourceError, DataLayerError)


def file_sites(path: Path, size: int, *, layer: str | None, crs: CRSLike | None,
                gcj02: bool) -> Iterator[gpd.GeoDataFrame]:
    """The sites of a streamable file, chunk by chunk, indexed by their input row."""
    start = 0
    try:
        for raw in _raw_chunks(path, size, layer):
            raw.index = pd.RangeIndex(start, start + len(raw))
            chunk = _finish_chunk(raw, path=path, crs=crs, gcj02=gcj02, first_row=start + 1)
            start += len(chunk)
            yield chunk
    except GeoplanError:
        raise
    except unreadable() as exc:
        raise DataFileError(f"{path}: cannot be read in chunks ({exc})") from exc


def streamable(sites: gpd.GeoDataFrame | str | os.PathLike[str]) -> Path | None:
    """The path of ``sites`` when it is an existing file that can be read in chunks.

    Parameters
    ----------
    sites
        A GeoDataFrame (never streamed) or the path of a sites file.

    Returns
    -------
    Path or None
        The path when its suffix is one of :data:`STREAMED_SUFFIXES` and the
        file exists, else ``None``.
    """
    if isinstance(sites, gpd.GeoDataFrame):
        return None
    p = Path(sites)
    return p if p.suffix.lower() in STREAMED_SUFFIXES and p.exists() else None


def iter_site_chunks(
    sites: gpd.GeoDataFrame | str | os.PathLike[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    layer: str | None = None,
    crs: CRSLike | None = None,
    gcj02: bool = False,
) -> Iterator[gpd.GeoDataFrame]:
    """Yield the sites in chunks of ``chunk_size`` rows, indexed by their input row.

    GeoParquet, GeoPackage and FlatGeobuf files are read chunk by chunk; other
    inputs (CSV, Excel, Shapefile, GeoJSON, a GeoDataFrame) are read whole and
    then cut. Each chunk is what :func:`geoplan.read_sites` would give for
    those rows (CRS set from ``crs`` when the file declares none, per-row
    coordinate systems converted, the datum brought to CGCS2000, GCJ-02
    converted when asked).

    Parameters
    ----------
    sites
        A GeoDataFrame or a path.
    chunk_size
        Rows per chunk.
    layer, crs, gcj02
        As for :func:`geoplan.read_sites`.

    Yields
    ------
    geopandas.GeoDataFrame

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(i, 0) for i in range(5)], crs=4547)
    >>> [len(c) for c in iter_site_chunks(g, 2)]
    [2, 2, 1]
    """
    if chunk_size < 1:
        raise SiteInputError(f"chunk_size must be a positive number of sites, got {chunk_size}")
    path = streamable(sites)
    if path is not None:
        yield from file_sites(path, chunk_size, layer=layer, crs=crs, gcj02=gcj02)
        return
    if isinstance(sites, gpd.GeoDataFrame):
        gdf = apply_gcj02(sites, source="(GeoDataFrame)") if gcj02 else sites
    else:
        gdf = read_sites(sites, layer=layer, crs=crs, gcj02=gcj02)
    for start in range(0, max(len(gdf), 1), chunk_size):
        yield gdf.iloc[start:start + chunk_size]


def declared_crs(path: Path, layer: str | None) -> object | None:
    """The CRS a file declares for its sites (GeoParquet without one means OGC:CRS84)."""
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        geo = json.loads((pq.ParquetFile(path).schema_arrow.metadata or {}).get(b"geo", b"{}")
                         or b"{}")
        col = geo.get("columns", {}).get(geo.get("primary_column", "geometry"), {})
        return col.get("crs", "OGC:CRS84")
    import pyogrio

    return pyogrio.read_info(path, layer=layer)["crs"]


def _declared_families(path: Path, layer: str | None) -> set[str] | None:
    """The geometry families a file declares for its layer (None: not declared, or mixed)."""
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        geo = json.loads((pq.ParquetFile(path).schema_arrow.metadata or {}).get(b"geo", b"{}")
                         or b"{}")
        col = geo.get("columns", {}).get(geo.get("primary_column", "geometry"), {})
        types = [str(t) for t in col.get("geometry_types") or []]
    else:
        import pyogrio

        types = [str(pyogrio.read_info(path, layer=layer)["geometry_type"])]
    bases = [t.removeprefix("3D ").split(" ")[0] for t in types]
    if not bases or any(b not in FAMILY_OF_TYPE for b in bases):
        return None
    return {FAMILY_OF_TYPE[b] for b in bases}


def file_votes(path: Path, layer: str | None) -> tuple[int, int]:
    """:func:`subject_votes` over every row of a file, read geometry only, in small batches.

    A file that declares only point and polygon types holds no line: no vote can make it a
    road, and its geometries are not read.
    """
    declared = _declared_families(path, layer)
    if declared is not None and declared <= {"point", "polygon"}:
        return 0, 0
    voting = lines = 0
    for chunk in _raw_chunks(path, _SCAN_ROWS, layer, columns=[]):
        v, ln = subject_votes(chunk.geometry.to_numpy())
        voting, lines = voting + v, lines + ln
    return voting, lines


def file_id_columns(path: Path, layer: str | None, names: list[str]) -> pd.DataFrame:
    """Only the named columns (those the file has) of every row, without the geometry."""
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        have = [c for c in names if c in pf.schema_arrow.names]
        return pq.read_table(path, columns=have).to_pandas() if have else pd.DataFrame(
            index=pd.RangeIndex(pf.metadata.num_rows))
    import pyogrio

    info = pyogrio.read_info(path, layer=layer)
    have = [c for c in names if c in {str(f) for f in info["fields"]}]
    if not have:
        return pd.DataFrame(index=pd.RangeIndex(int(info["features"])))
    return pd.DataFrame(pyogrio.read_dataframe(path, layer=layer, columns=have,
                                               read_geometry=False))
