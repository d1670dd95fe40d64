"""Reading a batch of sites from a vector file, a CSV or an Excel workbook.

:func:`read_sites` reads the file, converts per-row coordinate systems, refuses
or converts a pre-2000 datum, and applies a batch-wide GCJ-02 conversion when
asked; every input row is kept, in input order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
from pyproj import CRS

from ..crs import propose_crs, require_cgcs2000_datum, resolve_crs
from ..errors import CRSError, SiteInputError
from ..io import read_vector
from ._rows import RowLog, with_log
from ._tables import read_csv, read_excel, table_sites, tidy_attributes
from .systems import apply_gcj02, convert_systems

__all__ = ["EXCEL_SUFFIXES", "ID_CANDIDATES", "missing_crs_error", "read_sites"]


ID_CANDIDATES = ("site_id", "house_id", "road_id", "project_id", "id", "宗地编号", "宗地代码",
                 "编号", "序号", "bh", "BH")
"""Fields tried, in order, as the site id when none is named (the first filled with unique
values): ``site_id`` … ``id``, ``宗地编号``, ``宗地代码``, ``编号``, ``序号``, ``bh``."""

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
"""Workbook files read as tables of coordinates (with python-calamine)."""


def missing_crs_error(path: str | os.PathLike[str],
                      bounds: Sequence[float] | None) -> CRSError:
    """The refusal of a sites file without a CRS, with a proposal from its coordinates.

    A Shapefile delivered without its ``.prj`` holds bare numbers. geoplan does
    not guess what they mean, but their magnitude narrows it down
    (:func:`geoplan.crs.propose_crs`, as for a workspace layer): degrees are
    EPSG:4490, eastings with a zone number name their Gauss-Kruger zone, eastings
    without one leave the zone to choose. The message proposes the CRS (or the
    choice) and asks for ``--crs`` / ``crs=``, in English and Chinese.

    Parameters
    ----------
    path
        The sites file.
    bounds
        ``(minx, miny, maxx, maxy)`` of its coordinates as stored; ``None`` when
        unknown.

    Returns
    -------
    CRSError
        To raise.

    Examples
    --------
    >>> str(missing_crs_error("houses.shp", (27_523_000, 4_864_000, 27_525_000, 4_866_000)))[:68]
    'houses.shp: the sites have no CRS (.prj file missing); geoplan will '
    >>> "--crs EPSG:4515" in str(missing_crs_error("houses.shp", (27_523_000, 4_864_000,
    ...                                                           27_525_000, 4_866_000)))
    True
    """
    p = Path(path)
    prj = " (.prj file missing)" if p.suffix.lower() == ".shp" else ""
    prj_zh = "（缺少 .prj 文件）" if prj else ""
    head = f"{p}: the sites have no CRS{prj}; geoplan will not guess it."
    if bounds is None:
        return CRSError(f"{head} Pass it: --crs EPSG:4490 for longitude/latitude, or the "
                        "Gauss-Kruger zone the file was made in, e.g. --crs EPSG:4536 (crs=). "
                        f"选址文件没有坐标系{prj_zh}：请用 --crs 指定")
    prop = propose_crs(bounds)
    if prop.epsg is not None:
        return CRSError(f"{head} From its coordinates: {prop.reason}. Proposed: pass "
                        f"--crs EPSG:{prop.epsg} (crs=) once the data provider confirms it. "
                        f"选址文件没有坐标系{prj_zh}；建议坐标系 EPSG:{prop.epsg}：{prop.reason_zh}；"
                        f"确认后用 --crs EPSG:{prop.epsg} 指定")
    choose = f" (one of {prop.code})" if prop.candidates else ""
    return CRSError(f"{head} From its coordinates: {prop.reason}. Pass it once known: "
                    f"--crs EPSG:…{choose} (crs=). "
                    f"选址文件没有坐标系{prj_zh}，无法确定：{prop.reason_zh}")


def read_sites(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    sheet: str | int | None = None,
    crs: str | int | CRS | None = None,
    gcj02: bool = False,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    r"""Read a batch of sites from a vector file, a CSV or an Excel workbook.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet; a CSV; an
        Excel workbook (``.xlsx``, ``.xls``, ``.xlsm``, ``.xlsb``, ``.ods``).
        A table holds one point site per row: see the module docstring for
        the column names and :func:`parse_coordinate` for the values read.
    layer
        Layer of a multi-layer file; for a workbook, the same as ``sheet``.
    sheet
        Worksheet of a workbook, by name (or 0-based number); default: the
        first visible sheet. Which sheet was read is noted when there are
        several.
    crs
        CRS of the coordinates: required for a table with X/Y or
        easting/northing columns; for a file that declares none; overrides
        nothing a file declares. Degrees (经度/纬度) default to CGCS2000.
    gcj02
        Every coordinate is GCJ-02 (digitised on Amap or Tencent maps):
        convert them to CGCS2000 before any check. Refused when the sites
        have a coordinate-system column (``坐标系`` …): that column then says
        each row's system and its GCJ-02 rows are converted; use one or the
        other, so that no row is converted twice or not at all.
    encoding
        Text encoding of a CSV or Shapefile (detected when omitted).

    Returns
    -------
    geopandas.GeoDataFrame
        Every input row, in input order. A row whose coordinates cannot be
        read (empty, not a number, a latitude in the longitude column, an
        unknown coordinate system) gets an empty point and a message naming
        its row, value and fix, and later an ``error`` status for every rule.
        The per-row messages and notes travel in :data:`SITE_COLUMNS`;
        ``attrs["notes"]`` holds the batch notes (the sheet read, the X/Y
        order decided, the coordinate systems found).

    Raises
    ------
    SiteInputError
        A table with no coordinate columns, an unreadable file or sheet,
        ``gcj02`` together with a coordinate-system column.
    CRSError
        No CRS known for the coordinates.

    Examples
    --------
    >>> import geoplan, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sites.csv"
    >>> _ = p.write_text("编号,经度,纬度\nA,81°19′30.5″,43°55′\nB,abc,43.9\n", encoding="utf-8")
    >>> g = geoplan.read_sites(p)
    >>> round(g.geometry.iloc[0].x, 6), g["_geoplan_error"].iloc[1]
    (81.325139, "cannot read 经度 'abc' (row 2): not a number, nor degrees-minutes-seconds such as 81°19′30.5″; correct the cell")
    """
    p = Path(path)
    suffix = p.suffix.lower()
    notes: list[str] = []
    if suffix in (".csv", ".txt", ".tsv") or suffix in EXCEL_SUFFIXES:
        if not p.exists():
            raise SiteInputError(f"{p}: file not found")
        sheet_rows = None
        where = hint = ""
        if suffix in EXCEL_SUFFIXES:
            if layer is not None and sheet is not None and str(layer) != str(sheet):
                raise SiteInputError(f"{p}: layer={layer!r} and sheet={sheet!r} disagree; for a "
                                     "workbook they are the same thing, give one")
            df, sheet_rows, where, names = read_excel(p, sheet if sheet is not None else layer,
                                                       notes)
            if len(names) > 1:
                hint = (f"; the workbook's sheets are {', '.join(names)}: choose the one with "
                        "the sites with --sheet (sheet=)")
            df = tidy_attributes(df)
        else:
            df = read_csv(p, encoding)
        gdf = table_sites(df, source=str(p), crs=crs, sheet_rows=sheet_rows, notes=notes,
                           where=where, hint=hint)
    else:
        gdf = read_vector(p, layer=layer, encoding=encoding)
        if "fid" in gdf.columns and not any(c == "fid" for c in _source_columns(p, layer)):
            gdf = gdf.drop(columns="fid")
        if gdf.crs is None:
            if crs is None:
                raise missing_crs_error(p, gdf.total_bounds if len(gdf) else None)
            gdf = gdf.set_crs(resolve_crs(crs))
        log = RowLog(len(gdf))
        convert_systems(gdf, log, source=str(p), notes=notes)
        gdf = with_log(gdf, log)
    if len(gdf) == 0:
        raise SiteInputError(f"{p}: has no rows; there is nothing to check (is it the right "
                             "file or layer?)")
    gdf = require_cgcs2000_datum(gdf, name=f"the sites {p}", declared=crs)  # Beijing 1954 …
    notes += [gdf.attrs["datum_shift"]] if gdf.attrs.get("datum_shift") else []
    if gcj02:
        gdf = apply_gcj02(gdf, source=str(p))
    gdf.attrs["source"] = str(p)
    gdf.attrs["notes"] = notes
    return gdf


def _source_columns(path: Path, layer: str | None) -> list[str]:
    import pyogrio

    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return []
    try:
        return [str(c) for c in pyogrio.read_info(path, layer=layer)["fields"]]
    except Exception:
        return []
