"""Reading a layer from PostGIS: a table or a read-only query into the frame a file read gives.

:func:`read_layer` returns what :func:`geoplan.io.read_vector` returns for a
file — a GeoDataFrame with a ``fid`` column, the attributes and a
``geometry`` column in the source CRS — so that the workspace applies the same
field mappings, value vocabularies, ``where`` filter, CRS handling and geometry
hygiene to it (:mod:`geoplan.workspace`). What is particular to a database:

* the table and schema names are quoted identifiers
  (:class:`psycopg.sql.Identifier`), never pasted into the SQL; a ``sql =``
  query of ``geoplan.toml`` is one ``SELECT`` (checked by :func:`check_select`),
  run as a subquery in a ``READ ONLY`` transaction, so it cannot change anything;
* with an :class:`~geoplan.postgis.extent.Extent`, only the rows whose
  bounding box meets it are fetched (``geom && ST_MakeEnvelope(…)``, which the
  table's GiST index answers);
* the feature id (``fid``) is a column named ``fid``, else the table's one-column
  primary key, else the row's number in the order read; a table is read in the
  order of that id;
* the provenance (:class:`Fetched`) names the server (never the password), the
  table or query, the rows fetched and a sha256 of them that does not depend on
  the order the rows came in.

Examples
--------
>>> parse_table('yining."Flood Zone"')
('yining', 'Flood Zone')
>>> check_select("SELECT * FROM yining.dltb WHERE dlbm LIKE '03%'") is None
True
>>> check_select("DELETE FROM yining.dltb")
'it must be one SELECT (or WITH … SELECT) statement, not DELETE'
"""

from __future__ import annotations

import datetime as _dt
import decimal
import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import DatabaseError
from ._conn import database_error, psycopg_module, server_of, transaction
from .extent import Extent

if TYPE_CHECKING:
    import psycopg

__all__ = ["Fetched", "check_select", "list_tables", "parse_table", "read_layer", "table_text"]

_IDENT = re.compile(r'"((?:[^"]|"")*)"|([^."]+)')
_WRITES = frozenset({"insert", "update", "delete", "merge", "truncate", "drop", "alter", "create",
                     "grant", "revoke", "copy"})
_LITERALS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\$\$.*?\$\$",
                       re.DOTALL)
_WKB = "__geoplan_wkb"
_TEXT_TYPES = ("text", "character varying", "character", "name", "citext", "varchar", "bpchar")


def parse_table(text: str) -> tuple[str | None, str]:
    """``"schema.table"`` (or ``"table"``) as ``(schema, table)``; double quotes keep dots and case.

    Parameters
    ----------
    text
        The ``table =`` value of ``geoplan.toml``.

    Returns
    -------
    tuple of (str or None, str)

    Raises
    ------
    ValueError
        Not one or two names separated by a dot.
    """
    parts: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _IDENT.match(text, pos)
        if m is None:
            raise ValueError(f"{text!r} is not a table name (write schema.table)")
        parts.append(m.group(1).replace('""', '"') if m.group(1) is not None else
                     m.group(2).strip())
        pos = m.end()
        if pos < len(text):
            if text[pos] != ".":
                raise ValueError(f"{text!r} is not a table name (write schema.table)")
            pos += 1
            if pos == len(text):
                raise ValueError(f"{text!r} ends with a dot (write schema.table)")
    if len(parts) not in (1, 2) or not all(parts):
        raise ValueError(f"{text!r} is not a table name (write schema.table or table; quote "
                         'names holding dots: "my.schema"."table")')
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])


def table_text(table: tuple[str | None, str]) -> str:
    """``schema.table`` for messages (names quoted only where they need it).

    Parameters
    ----------
    table
        As :func:`parse_table` gives it.

    Returns
    -------
    str

    Examples
    --------
    >>> table_text(("yining", "电力线")), table_text((None, "Flood.Zone"))
    ('yining.电力线', '"Flood.Zone"')
    """
    def one(name: str) -> str:
        plain = re.fullmatch(r"[^\W\dA-Z][^\WA-Z]*", name) is not None  # as PostgreSQL folds
        return name if plain else '"' + name.replace('"', '""') + '"'
    schema, name = table
    return f"{one(schema)}.{one(name)}" if schema else one(name)


def check_select(sql: str) -> str | None:
    """Why ``sql`` is not one read-only ``SELECT``, or None when it is one.

    Comments and quoted text are not looked into. This is a first line; the query
    also runs in a ``READ ONLY`` transaction, which refuses any write.

    Parameters
    ----------
    sql
        The ``sql =`` value of ``geoplan.toml``.

    Returns
    -------
    str or None
    """
    bare = _LITERALS.sub(" ", sql).strip().rstrip(";").strip()
    if not bare:
        return "it is empty"
    if ";" in bare:
        return "it holds more than one statement (a ';' inside): give one SELECT"
    words = re.findall(r"[a-z_]+", bare.lower())
    first = words[0] if words else ""
    if first not in ("select", "with"):
        return (f"it must be one SELECT (or WITH … SELECT) statement, not "
                f"{first.upper() or bare.split()[0]}")
    writes = sorted({w for w in words if w in _WRITES})
    if writes:
        return (f"it holds {', '.join(w.upper() for w in writes)}: geoplan only reads the "
                "database; give a SELECT that changes nothing")
    if re.search(r"\binto\b", " ".join(words)) and first == "select":
        return "SELECT … INTO creates a table: geoplan only reads the database"
    return None


@dataclass
class Fetched:
    """A layer read from a database, with its provenance.

    Attributes
    ----------
    gdf : geopandas.GeoDataFrame
        ``fid``, the attributes and ``geometry`` (CRS from the column's SRID, or
        None for SRID 0).
    server : str
        ``user@host:port/dbname``.
    relation : str
        ``schema.table``, or ``sql: SELECT …``.
    rows : int
        Rows fetched.
    sha256 : str
        Over the rows fetched, independent of their order: each row's attributes
        (as JSON) and EWKB are hashed, and the sorted row digests hashed together.
    extent : dict or None
        The box rows were fetched within (:meth:`Extent.as_dict`), or None when
        every row was fetched.
    rows_in_table : int or None
        The planner's estimate of the rows in the table (``pg_class.reltuples``), when known.
    notes : list of str
        What the planner should know (how the fid was chosen, the filter used…).
    """

    gdf: gpd.GeoDataFrame
    server: str
    relation: str
    rows: int
    sha256: str
    extent: dict[str, float] | None = None
    rows_in_table: int | None = None
    notes: list[str] = field(default_factory=list)

    def provenance(self) -> dict[str, Any]:
        """The ``database`` entry of the layer in ``summary.json``.

        Returns
        -------
        dict
        """
        out: dict[str, Any] = {"server": self.server, "relation": self.relation,
                               "rows_fetched": self.rows, "sha256": self.sha256}
        if self.extent is not None:
            out["extent"] = self.extent
        if self.rows_in_table is not None:
            out["rows_in_table_estimate"] = self.rows_in_table
        return out


@dataclass
class _Relation:
    """What is known of the table or query before rows are fetched."""

    source: Any  # psycopg.sql.Composable: the table, or the query as a subquery
    columns: list[tuple[str, str]]  # (name, type) of every column
    geometry: str
    srid: int
    order_by: str | None = None
    fid_from: str | None = None
    rows_in_table: int | None = None
    notes: list[str] = field(default_factory=list)


def read_layer(conn: psycopg.Connection[Any], *, shown: str, kind: str,
               table: tuple[str | None, str] | None = None, sql_text: str | None = None,
               geometry: str | None = None, extent: Extent | None = None,
               declared_crs: CRS | None = None) -> Fetched:
    """Fetch one layer: a table (``table``) or a read-only query (``sql_text``).

    Parameters
    ----------
    conn
        A read-only connection (:func:`geoplan.postgis.connect`).
    shown
        The connection for messages (password masked).
    kind
        The layer kind, for messages (``[layers.<kind>]``).
    table, sql_text
        ``(schema, table)`` (schema None: the search path), or a ``SELECT``; one of them.
    geometry
        The geometry column, when the table or query has more than one.
    extent
        Fetch only the rows whose bounding box meets it; None: every row.
    declared_crs
        The CRS ``geoplan.toml`` declares for the layer (used for the box when the
        column has no SRID).

    Returns
    -------
    Fetched

    Raises
    ------
    DatabaseError
        The table, a column or PostGIS is missing, a privilege is lacking, or the
        query fails or writes: the message names the connection, the table or
        query and the fix.
    """
    psycopg = psycopg_module()
    what = (f"[layers.{kind}] table {table_text(table)}" if table is not None else
            f"[layers.{kind}] sql = {_short(sql_text or '')!r}")
    with transaction(conn):
        try:
            rel = (_table_relation(conn, table, geometry, shown, kind, what) if table is not None
                   else _query_relation(conn, sql_text or "", geometry, shown, kind, what))
            box, srid_crs = _box(conn, rel, extent, declared_crs)
            rows, names, types = _fetch(conn, rel, box)
        except DatabaseError:
            raise
        except psycopg.Error as exc:
            raise database_error(exc, shown=shown, what=what, fix=_fix_for(table, kind)) from None
        server = server_of(conn)
    gdf, digest = _frame(rows, names, types, rel, srid_crs, shown, what)
    notes = list(rel.notes)
    relation = table_text(table) if table is not None else f"sql: {_short(sql_text or '', 200)}"
    if box is not None and extent is not None:
        of = f" of about {rel.rows_in_table:,}" if rel.rows_in_table is not None else ""
        notes.append(f"fetched {len(gdf):,}{of} rows within the batch's extent plus "
                     f"{extent.margin_m:g} m (spatial index)")
    elif extent is not None:
        notes.append(f"fetched every row ({len(gdf):,}): the geometry column has no SRID and "
                     "the layer declares no crs, so the batch's extent cannot be used")
    return Fetched(gdf=gdf, server=server, relation=relation, rows=len(gdf), sha256=digest,
                   extent=extent.as_dict() if (box is not None and extent is not None) else None,
                   rows_in_table=rel.rows_in_table, notes=notes)


def _short(text: str, n: int = 80) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def _fix_for(table: tuple[str | None, str] | None, kind: str) -> str:
    if table is None:
        return f"correct [layers.{kind}] sql (run it in psql first)"
    return f"check [layers.{kind}] table and the columns geoplan.toml names"


def _table_relation(conn: psycopg.Connection[Any], table: tuple[str | None, str],
                    geometry: str | None, shown: str, kind: str, what: str) -> _Relation:
    from psycopg import sql

    schema, name = table
    ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    relid = conn.execute("SELECT to_regclass(%s)::oid", [ident.as_string(conn)]).fetchone()
    if relid is None or relid[0] is None:
        raise DatabaseError(_missing_table(conn, table, shown, kind))
    oid = int(relid[0])
    cols = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname, "
        "CASE WHEN t.typname = 'geometry' THEN a.atttypmod ELSE -1 END "
        "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [oid]).fetchall()
    geoms = [(str(c[0]), int(c[3])) for c in cols if c[2] == "geometry"]
    gname = _pick_geometry([g for g, _ in geoms], geometry, shown, kind, what,
                           [str(c[0]) for c in cols])
    typmod = dict(geoms)[gname]
    srid = 0
    if typmod >= 0:
        srid = int(conn.execute("SELECT postgis_typmod_srid(%s)", [typmod]).fetchone()[0])  # type: ignore[index]
    pk = [str(r[0]) for r in conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary", [oid])]
    names = [str(c[0]) for c in cols]
    est = conn.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s", [oid]).fetchone()
    rel = _Relation(source=ident, columns=[(str(c[0]), str(c[1])) for c in cols],
                    geometry=gname, srid=srid,
                    rows_in_table=int(est[0]) if est and est[0] is not None and est[0] >= 0
                    else None)
    if "fid" in names:
        rel.order_by = "fid"
    elif len(pk) == 1:
        rel.order_by = rel.fid_from = pk[0]
        rel.notes.append(f"feature ids (fid) from the primary key {pk[0]}")
    else:
        rel.notes.append("the table has no column fid and no one-column primary key: features "
                         "are numbered in the order read (add a primary key for stable ids)")
    return rel


def _missing_table(conn: psycopg.Connection[Any], table: tuple[str | None, str], shown: str,
                   kind: str) -> str:
    """The message for a table that is not there (or not visible), with what is there."""
    schema, name = table
    head = f"database {shown}: [layers.{kind}] table {table_text(table)} does not exist"
    if schema is not None:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
        if found is None:
            schemas = [str(r[0]) for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' AND nspname "
                "<> 'information_schema' ORDER BY 1", [])]
            return (f"{head}: there is no schema {schema!r} (schemas: {', '.join(schemas)}). "
                    f"Fix: correct [layers.{kind}] table = \"schema.table\"")
    tables = _visible_tables(conn)
    wanted = f"{schema}.{name}" if schema else name
    close = difflib.get_close_matches(wanted, tables, n=2, cutoff=0.6) or [
        t for t in tables if t.lower().split(".")[-1] == name.lower()][:2]
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    listing = ", ".join(tables[:12]) + (" …" if len(tables) > 12 else "") if tables else "none"
    return (f"{head}{hint}, or the user may not see it; spatial tables it can see: {listing}. "
            f"Fix: correct [layers.{kind}] table = \"schema.table\" (names are case-sensitive), "
            "or ask for USAGE on the schema and SELECT on the table")


def _visible_tables(conn: psycopg.Connection[Any]) -> list[str]:
    try:
        return [f"{r[0]}.{r[1]}" for r in conn.execute(
            "SELECT DISTINCT f_table_schema, f_table_name FROM geometry_columns ORDER BY 1, 2")]
    except Exception:  # no PostGIS: no list to give
        conn.rollback()
        return []


def _pick_geometry(geoms: list[str], geometry: str | None, shown: str, kind: str, what: str,
                   columns: list[str]) -> str:
    if geometry is not None:
        if geometry not in geoms:
            kind_of = ("is not a geometry column" if geometry in columns else "is not a column")
            raise DatabaseError(
                f"database {shown}, {what}: geometry = {geometry!r} {kind_of}; geometry "
                f"columns: {', '.join(geoms) or 'none'}. Fix: correct [layers.{kind}] geometry")
        return geometry
    if not geoms:
        raise DatabaseError(
            f"database {shown}, {what}: has no PostGIS geometry column (columns: "
            f"{', '.join(columns)}). Fix: point [layers.{kind}] at a spatial table, or give "
            "sql = \"SELECT …, ST_SetSRID(ST_MakePoint(x, y), 4490) AS geom FROM …\" "
            "(geography columns: geog::geometry AS geom)")
    if len(geoms) > 1:
        raise DatabaseError(
            f"database {shown}, {what}: has {len(geoms)} geometry columns "
            f"({', '.join(geoms)}). Fix: name the one to use: [layers.{kind}] geometry = "
            f"\"{geoms[0]}\"")
    return geoms[0]


def _query_relation(conn: psycopg.Connection[Any], text: str, geometry: str | None,
                    shown: str, kind: str, what: str) -> _Relation:
    from psycopg import sql

    reason = check_select(text)
    if reason is not None:
        raise DatabaseError(f"database {shown}, {what}: refused: {reason}")
    # the query as a subquery (so one statement, whatever it holds); '%' doubled because the
    # statements it is part of take parameters
    body = text.strip().rstrip(";").replace("%", "%%")
    sub = sql.SQL("({}) AS geoplan_query").format(sql.SQL(body))  # type: ignore[arg-type]
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(sub), [])
        desc = cur.description or []
    oids = sorted({int(d.type_code) for d in desc})
    names_of = dict(conn.execute("SELECT oid::int, format_type(oid, NULL) FROM pg_type "
                                 "WHERE oid = ANY(%s)", [oids]).fetchall())
    cols = [(str(d.name), str(names_of.get(int(d.type_code), "text"))) for d in desc]
    names = [c for c, _ in cols]
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise DatabaseError(f"database {shown}, {what}: the query returns the column(s) "
                            f"{', '.join(dup)} more than once. Fix: give them distinct names "
                            "(… AS other_name)")
    geoms = [c for c, t in cols if t.split("(")[0] == "geometry"]
    gname = _pick_geometry(geoms, geometry, shown, kind, what, names)
    row = conn.execute(sql.SQL("SELECT ST_SRID({g}) FROM {s} WHERE {g} IS NOT NULL LIMIT 1")
                       .format(g=sql.Identifier(gname), s=sub), []).fetchone()
    rel = _Relation(source=sub, columns=cols, geometry=gname, srid=int(row[0]) if row else 0)
    if "fid" not in names:
        rel.notes.append("the query returns no column fid: features are numbered in the order "
                         "read (select an id AS fid for stable ids)")
    return rel


def _srid_crs(conn: psycopg.Connection[Any], srid: int) -> CRS | None:
    """The CRS of an SRID, from ``spatial_ref_sys`` (EPSG codes as EPSG, others from their WKT)."""
    if srid <= 0:
        return None
    row = conn.execute("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s",
                       [srid]).fetchone()
    if row is not None and str(row[0]).upper() == "EPSG" and row[1]:
        return CRS.from_epsg(int(row[1]))
    if row is not None and row[2]:
        return CRS.from_wkt(str(row[2]))
    return CRS.from_epsg(srid)


def _box(conn: psycopg.Connection[Any], rel: _Relation, extent: Extent | None,
         declared: CRS | None) -> tuple[tuple[float, float, float, float, int] | None, CRS | None]:
    """The envelope to fetch within (in the column's CRS, with its SRID), and the SRID's CRS."""
    srid_crs = _srid_crs(conn, rel.srid)
    box_crs = declared or srid_crs
    if extent is None or box_crs is None:
        return None, srid_crs
    x0, y0, x1, y1 = extent.bounds_in(box_crs)
    return (x0, y0, x1, y1, rel.srid), srid_crs


def _fetch(conn: psycopg.Connection[Any], rel: _Relation,
           box: tuple[float, float, float, float, int] | None) -> tuple[list[tuple[Any, ...]],
                                                                       list[str], list[str]]:
    from psycopg import sql

    attrs = [(c, t) for c, t in rel.columns if c != rel.geometry]
    select = sql.SQL(", ").join([sql.Identifier(c) for c, _ in attrs] + [
        sql.SQL("ST_AsEWKB({}) AS {}").format(sql.Identifier(rel.geometry), sql.Identifier(_WKB))])
    query = sql.SQL("SELECT {} FROM {}").format(select, rel.source)
    params: list[Any] = []
    if box is not None:
        query = sql.SQL("{} WHERE {} && ST_MakeEnvelope(%s, %s, %s, %s, %s)").format(
            query, sql.Identifier(rel.geometry))
        params = list(box)
    if rel.order_by is not None:
        query = sql.SQL("{} ORDER BY {}").format(query, sql.Identifier(rel.order_by))
    with conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    return rows, [c for c, _ in attrs], [t for _, t in attrs]


def _frame(rows: list[tuple[Any, ...]], names: list[str], types: list[str], rel: _Relation,
           srid_crs: CRS | None, shown: str, what: str) -> tuple[gpd.GeoDataFrame, str]:
    """The rows as the frame a file read gives, and their order-independent sha256."""
    n = len(rows)
    wkb = [r[-1] for r in rows]
    geoms = shapely.from_wkb(np.array([bytes(w) if w is not None else None for w in wkb],
                                      dtype=object))
    srids = set(shapely.get_srid(geoms[~shapely.is_missing(geoms)]).tolist()) if n else set()
    if len(srids) > 1:
        raise DatabaseError(f"database {shown}, {what}: the rows have different SRIDs "
                            f"({', '.join(map(str, sorted(srids)))}). Fix: transform them to one "
                            "in a query: sql = \"SELECT …, ST_Transform(geom, 4490) AS geom …\"")
    crs = srid_crs
    if crs is None and srids and next(iter(srids)) > 0:
        crs = CRS.from_epsg(next(iter(srids)))
    data: dict[str, Any] = {}
    for j, (name, typ) in enumerate(zip(names, types, strict=True)):
        data[name] = _column([r[j] for r in rows], typ)
    df = pd.DataFrame(data, index=pd.RangeIndex(n))
    if "fid" not in df.columns or df["fid"].isna().any() or df["fid"].duplicated().any():
        if "fid" in df.columns:
            df = df.rename(columns={"fid": "fid_source"})
        ids = df[rel.fid_from] if rel.fid_from is not None else pd.Series(range(n))
        df.insert(0, "fid", ids.to_numpy())
    geom_name = "geometry"
    if geom_name in df.columns:
        df = df.rename(columns={geom_name: "geometry_source"})
    gdf = gpd.GeoDataFrame(df, geometry=shapely.set_srid(geoms, 0), crs=crs)
    gdf.attrs["rings_closed"] = 0
    gdf.attrs["m_dropped"] = False
    return gdf, _digest(rows)


def _json_value(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    if isinstance(v, (decimal.Decimal, _dt.date, _dt.datetime, _dt.time)):
        return str(v)
    return v


def _digest(rows: list[tuple[Any, ...]]) -> str:
    """sha256 over the rows: each row's attributes (JSON) and EWKB, the row digests sorted."""
    row_digests = []
    for r in rows:
        h = hashlib.sha256(json.dumps([_json_value(v) for v in r[:-1]], ensure_ascii=False,
                                      default=str, sort_keys=True).encode("utf-8"))
        h.update(b"\0")
        h.update(bytes(r[-1]) if r[-1] is not None else b"")
        row_digests.append(h.digest())
    total = hashlib.sha256()
    for d in sorted(row_digests):
        total.update(d)
    return total.hexdigest()


def _column(values: list[Any], typ: str) -> pd.Series:
    """One column as pyogrio gives a file's: numbers as int64 (float64 with NULLs), text as objects."""
    base = typ.split("(")[0].split("[")[0].strip()
    has_null = any(v is None for v in values)
    if typ.endswith("[]"):
        return pd.Series([None if v is None else json.dumps([_json_value(x) for x in v],
                                                            ensure_ascii=False, default=str)
                          for v in values], dtype=object)
    if base in ("smallint", "integer", "bigint", "oid"):
        return pd.Series(values, dtype="float64" if has_null else "int64")
    if base in ("real", "double precision", "numeric"):
        return pd.Series([np.nan if v is None else float(v) for v in values], dtype="float64")
    if base == "boolean":
        return pd.Series(values, dtype=object if has_null else bool)
    if base in ("date", "timestamp without time zone", "timestamp with time zone"):
        return pd.Series(pd.to_datetime(values))
    if base in _TEXT_TYPES:
        return pd.Series(values, dtype=object)
    if base in ("json", "jsonb"):
        return pd.Series([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                          for v in values], dtype=object)
    return pd.Series([None if v is None else str(_json_value(v)) for v in values], dtype=object)


def _check_schema(conn: psycopg.Connection[Any], schema: str, shown: str) -> None:
    """Refuse a schema that is not there, or that the user may not use."""
    found = conn.execute("SELECT has_schema_privilege(oid, 'USAGE') FROM pg_namespace "
                         "WHERE nspname = %s", [schema]).fetchone()
    if found is None:
        schemas = [str(r[0]) for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%%' AND nspname "
            "<> 'information_schema' ORDER BY 1", [])]
        close = difflib.get_close_matches(schema, schemas, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DatabaseError(f"database {shown}: there is no schema {schema!r}{hint}; schemas: "
                            f"{', '.join(schemas)}. Fix: correct [workspace] schema")
    if not found[0]:
        raise DatabaseError(f"database {shown}: the user may not read the schema {schema!r} "
                            "(permission denied). Fix: ask the database administrator for GRANT "
                            f"USAGE ON SCHEMA {schema} TO <user> and GRANT SELECT ON ALL TABLES "
                            f"IN SCHEMA {schema} TO <user>")


def list_tables(conn: psycopg.Connection[Any], schema: str | None, *,
                shown: str) -> list[tuple[str, str]]:
    """The spatial tables and views of a schema (or of the search path), as ``(schema, name)``.

    Parameters
    ----------
    conn
        A read-only connection.
    schema
        The schema; None: the schemas of the search path.
    shown
        The connection for messages.

    Returns
    -------
    list of (str, str)

    Raises
    ------
    DatabaseError
        PostGIS is not installed in the database, or the schema cannot be read.
    """
    psycopg = psycopg_module()
    with transaction(conn):
        try:
            has = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
            if has is None:
                raise DatabaseError(f"database {shown}: PostGIS is not installed there. Fix: "
                                    "CREATE EXTENSION postgis (as its owner), or connect to the "
                                    "database that holds the layers")
            if schema is not None:
                _check_schema(conn, schema, shown)
                rows = conn.execute(
                    "SELECT DISTINCT f_table_schema, f_table_name FROM geometry_columns "
                    "WHERE f_table_schema = %s ORDER BY 2", [schema]).fetchall()
            else:
                rows = conn.execute(
                    "SELECT DISTINCT f_table_schema, f_table_name FROM geometry_columns "
                    "WHERE f_table_schema = ANY(current_schemas(false)) ORDER BY 2").fetchall()
        except DatabaseError:
            raise
        except psycopg.Error as exc:
            raise database_error(exc, shown=shown, what=f"schema {schema or '(search path)'}",
                                 fix="check [workspace] schema") from None
    return [(str(s), str(t)) for s, t in rows]
