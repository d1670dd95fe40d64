"""Writing a GeoDataFrame to a PostGIS table: how a county's files get into its database.

:func:`write_table` creates one table (typed geometry column ``geom`` with the
frame's SRID, a GiST index, an optional primary key) and fills it with ``COPY``
in one transaction. It is what the tests and the notebook use to load the
sample workspace; a county would use it (or ``ogr2ogr``) once per delivery.

Examples
--------
>>> pg_type(pd.Series([1, 2])), pg_type(pd.Series([1.5, None])), pg_type(pd.Series(["a"]))
('bigint', 'double precision', 'text')
"""

from __future__ import annotations

import json
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import DatabaseError
from ._conn import connect, database_error, psycopg_module, resolve

__all__ = ["copy_value", "pg_type", "write_table"]


def pg_type(col: pd.Series) -> str:
    """The PostgreSQL type a column is written as.

    Parameters
    ----------
    col
        A column of a frame.

    Returns
    -------
    str
        ``bigint``, ``double precision``, ``boolean``, ``timestamp`` or ``text``.
    """
    dt = col.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "boolean"
    if pd.api.types.is_integer_dtype(dt):
        return "bigint"
    if pd.api.types.is_float_dtype(dt):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "timestamptz" if getattr(dt, "tz", None) is not None else "timestamp"
    vals = col.dropna()
    if len(vals) and all(isinstance(v, (bool, np.bool_)) for v in vals):
        return "boolean"
    return "text"


def copy_value(v: Any) -> Any:
    """A cell as ``COPY`` takes it: None for missing, numbers and text as they are.

    Parameters
    ----------
    v
        The cell.

    Returns
    -------
    object
    """
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, float) and math.isnan(v):
            return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, ensure_ascii=False, default=str)
    return v


def write_table(gdf: gpd.GeoDataFrame, source: str, table: tuple[str, str], *,
                srid: int | None = None, primary_key: str | None = None,
                replace: bool = False) -> int:
    """Write a GeoDataFrame to a new PostGIS table with a GiST index, in one transaction.

    Parameters
    ----------
    gdf
        The features; the geometry becomes the column ``geom``, the other columns
        keep their names (bigint, double precision, boolean, timestamp or text).
    source
        The database (URL, ``service=…`` or ``env:NAME``).
    table
        ``(schema, table)``; the schema is created if needed.
    srid
        The SRID of the geometry column; default: the EPSG code of the frame's CRS.
    primary_key
        A column to make the primary key (e.g. ``"fid"``).
    replace
        Drop the table first if it exists (else an existing table is refused).

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    DatabaseError
        The connection fails, the table exists, or a privilege is lacking.
    """
    from psycopg import sql

    psycopg = psycopg_module()
    _, shown = resolve(source)
    if srid is None:
        epsg = gdf.crs.to_epsg() if gdf.crs is not None else None
        if epsg is None:
            raise DatabaseError(f"{table[0]}.{table[1]}: the frame's CRS has no EPSG code; "
                                "give srid=")
        srid = int(epsg)
    geom = gdf.geometry.name
    cols = [c for c in gdf.columns if c != geom]
    if "geom" in cols:
        raise DatabaseError(f"{table[0]}.{table[1]}: the frame has a column 'geom' besides its "
                            "geometry; rename it")
    rel = sql.Identifier(*table)
    defs = [sql.SQL("{} {}").format(sql.Identifier(str(c)), sql.SQL(pg_type(gdf[c])))  # type: ignore[arg-type]
            for c in cols]
    defs.append(sql.SQL("geom geometry(Geometry, {})").format(sql.Literal(srid)))
    if primary_key is not None:
        defs.append(sql.SQL("PRIMARY KEY ({})").format(sql.Identifier(primary_key)))
    hexes = shapely.to_wkb(shapely.set_srid(np.asarray(gdf.geometry.to_numpy(), dtype=object),
                                            srid), hex=True, include_srid=True)
    with connect(source, purpose=f"writing table {table[0]}.{table[1]}", read_only=False) as con:
        try:
            with con.transaction():
                con.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    sql.Identifier(table[0])))
                if replace:
                    con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(rel))
                con.execute(sql.SQL("CREATE TABLE {} ({})").format(rel, sql.SQL(", ").join(defs)))
                names = sql.SQL(", ").join([sql.Identifier(str(c)) for c in cols]
                                           + [sql.Identifier("geom")])
                with con.cursor() as cur, cur.copy(
                        sql.SQL("COPY {} ({}) FROM STDIN").format(rel, names)) as cp:
                    values = [gdf[c].tolist() for c in cols]
                    for i, h in enumerate(hexes.tolist()):
                        cp.write_row([copy_value(v[i]) for v in values] + [h])
                con.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(rel))
                con.execute(sql.SQL("ANALYZE {}").format(rel))
        except psycopg.Error as exc:
            raise database_error(exc, shown=shown, what=f"table {table[0]}.{table[1]}",
                                 fix="check the schema and the privileges to create in it") \
                from None
    return len(gdf)
