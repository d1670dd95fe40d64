"""A check's results in PostGIS: runs appended in one transaction each, listed and read back.

``geoplan check … --out postgresql://…/db?schema=geoplan`` writes four tables in
the schema (``geoplan`` when the URL names none), created on first use:

========== ================================================================
table      rows
========== ================================================================
runs       one per run: ``run_id`` (uuid), ``written_utc``, ``started_utc``,
           ``written_by``, ``geoplan_version``, ``pack_name``,
           ``pack_version``, ``subject``, ``sites``, ``n_fail`` …
           ``n_pass``, ``sites_source``, ``workspace``, ``working_crs``,
           ``srid``, ``summary`` (``summary.json``: counts, rules not
           checked, each layer's provenance) and ``columns`` (the columns
           of the three tables below, in order, with their types)
verdicts   ``results.gpkg``'s layer ``verdicts``: ``run_id``, ``row_no``
           (input order), the verdict columns, ``attributes`` (jsonb: the
           input's own columns) and ``geom`` (the site)
findings   its layer ``findings``: ``run_id``, ``row_no``, ``site_id``,
           ``rule_id``, ``clause``, ``severity``, ``status``, ``measure``,
           ``unit``, ``threshold``, ``matched``, ``message_zh``,
           ``message_en``, ``geom`` (a point in the site)
evidence   its layer ``evidence``: ``run_id``, ``row_no``, ``site_id``,
           ``rule_id``, ``clause``, ``status``, ``area_m2``, ``area_mu``,
           ``length_m``, ``geom``
========== ================================================================

Every geometry column is typed with the working CRS's SRID and has a GiST
index. A run is written in one transaction (:class:`RunWriter`): its rows
appear whole when it commits, or not at all if anything fails or the process is
killed before; a new run never changes an older one. The first run creates the
tables under a transaction-level advisory lock, which writers arriving meanwhile
wait for; later runs write side by side (each row carries its ``run_id``).

Examples
--------
>>> run_columns(pd.DataFrame({"site_id": ["a"], "floors": [2]}), FIXED["verdicts"])
[['site_id', 'text'], ['floors', 'int']]
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import uuid
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..errors import DatabaseError
from ._conn import connect, database_error, psycopg_module, resolve, split_schema
from .tables import copy_value

if TYPE_CHECKING:
    import psycopg

__all__ = ["DEFAULT_SCHEMA", "FIXED", "RunWriter", "list_runs", "probe_target", "read_run",
           "run_columns"]

DEFAULT_SCHEMA = "geoplan"
"""The schema results go to when the URL names none."""

FIXED: dict[str, dict[str, str]] = {
    "verdicts": {"site_id": "text", "verdict": "text", "n_fail": "integer", "n_warn": "integer",
                 "n_error": "integer", "n_not_checked": "integer", "reasons": "text",
                 "reasons_zh": "text", "reasons_en": "text", "not_checked": "text",
                 "notes": "text"},
    "findings": {"site_id": "text", "rule_id": "text", "clause": "text", "severity": "text",
                 "status": "text", "measure": "double precision", "unit": "text",
                 "threshold": "double precision", "matched": "text", "message_zh": "text",
                 "message_en": "text"},
    "evidence": {"site_id": "text", "rule_id": "text", "clause": "text", "status": "text",
                 "area_m2": "double precision", "area_mu": "double precision",
                 "length_m": "double precision"},
}
"""The typed columns of each table; any other column of a frame goes into ``attributes`` (jsonb)."""

_GEOM_TYPE = {"verdicts": "Geometry", "findings": "Point", "evidence": "Geometry"}
_TABLES = ("runs", "verdicts", "findings", "evidence")


def _kind(col: pd.Series) -> str:
    dt = col.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "boolean" if str(dt) == "boolean" else "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return "datetime"
    return "text"


def run_columns(frame: pd.DataFrame, fixed: dict[str, str]) -> list[list[str]]:
    """The columns of a frame (geometry left out) in order, with how to restore their type.

    Parameters
    ----------
    frame
        A table of the run.
    fixed
        Its typed columns (:data:`FIXED`).

    Returns
    -------
    list of [name, kind]
        ``kind`` is ``text`` for a typed text column, else the frame's type
        (``int``, ``float``, ``bool``, ``boolean``, ``datetime`` or ``text``).
    """
    geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    return [[str(c), _kind(frame[c])] for c in frame.columns if c != geom]


def _json_cell(v: Any) -> Any:
    v = copy_value(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    return v


def _target(target: str, schema: str | None) -> tuple[str, str, str]:
    """(libpq URL, schema, masked display) of an ``--out`` URL."""
    conninfo, shown = resolve(target)  # env:NAME read here
    url, in_url = split_schema(conninfo)
    return url, schema or in_url or DEFAULT_SCHEMA, shown


def _ddl(schema: str, srid: int) -> list[Any]:
    from psycopg import sql

    s = sql.Identifier(schema)
    out: list[Any] = [sql.SQL(
        "CREATE TABLE IF NOT EXISTS {}.runs (run_id uuid PRIMARY KEY, "
        "written_utc timestamptz NOT NULL DEFAULT now(), started_utc timestamptz, "
        "written_by text NOT NULL DEFAULT current_user, geoplan_version text NOT NULL, "
        "pack_name text, pack_version text, subject text, sites integer, n_fail integer, "
        "n_error integer, n_warn integer, n_not_checked integer, n_pass integer, "
        "sites_source text, workspace text, working_crs text, srid integer, summary jsonb, "
        "columns jsonb)").format(s)]
    for table in ("verdicts", "findings", "evidence"):
        cols = sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t))  # type: ignore[arg-type]
            for c, t in FIXED[table].items())
        out.append(sql.SQL(
            "CREATE TABLE IF NOT EXISTS {s}.{t} (run_id uuid NOT NULL REFERENCES {s}.runs "
            "ON DELETE CASCADE, row_no integer NOT NULL, {cols}, attributes jsonb, "
            "geom geometry({g}, {srid}), PRIMARY KEY (run_id, row_no))").format(
                s=s, t=sql.Identifier(table), cols=cols,
                g=sql.SQL(_GEOM_TYPE[table]), srid=sql.Literal(srid)))  # type: ignore[arg-type]
        out.append(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {}.{} USING gist (geom)").format(
            sql.Identifier(f"{table}_geom_gist"), s, sql.Identifier(table)))
    out.append(sql.SQL("CREATE INDEX IF NOT EXISTS findings_site ON {}.findings "
                       "(run_id, site_id)").format(s))
    return out


def _exists(conn: psycopg.Connection[Any], schema: str, table: str | None = None) -> bool:
    if table is None:
        return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                            [schema]).fetchone() is not None
    return conn.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s",
                        [schema, table]).fetchone() is not None


def _missing_privilege(conn: psycopg.Connection[Any], schema: str) -> str | None:
    """What the user may not do that writing a run into ``schema`` needs, or None."""
    if not _exists(conn, schema):
        ok = conn.execute("SELECT has_database_privilege(current_database(), 'CREATE')"
                          ).fetchone()
        return None if ok and ok[0] else (f"create the schema {schema} (GRANT CREATE ON "
                                          "DATABASE … TO <user>, or create it for them)")
    if not all(_exists(conn, schema, t) for t in _TABLES):
        ok = conn.execute("SELECT has_schema_privilege(%s, 'CREATE')", [schema]).fetchone()
        if not (ok and ok[0]):
            return f"create tables in the schema {schema} (GRANT CREATE ON SCHEMA {schema} …)"
    for t in _TABLES:
        if _exists(conn, schema, t):
            ok = conn.execute("SELECT has_table_privilege(%s, 'INSERT')",
                              [f'"{schema}"."{t}"']).fetchone()
            if not (ok and ok[0]):
                return f"insert into {schema}.{t} (GRANT INSERT ON {schema}.{t} … TO <user>)"
    return None


def probe_target(target: str, *, schema: str | None = None) -> None:
    """Check, before a long check, that a run can be written to ``target`` (exit 2 if not).

    Connects, and checks that PostGIS is installed and that the user may create the
    schema and tables (when they are missing) and insert into them.

    Parameters
    ----------
    target
        ``postgresql://…/db?schema=…``.
    schema
        Overrides the URL's ``schema``.

    Raises
    ------
    DatabaseError
        The message names the connection (password masked), the schema and the fix.
    """
    psycopg = psycopg_module()
    url, schema, shown = _target(target, schema)
    with connect(url, purpose=f"--out, schema {schema}", read_only=False) as conn:
        try:
            has = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
            if has is None:
                raise DatabaseError(f"--out {shown}: PostGIS is not installed in that database. "
                                    "Fix: CREATE EXTENSION postgis (as the database owner), or "
                                    "write to a database that has it")
            lacking = _missing_privilege(conn, schema)
        except psycopg.Error as exc:
            raise database_error(exc, shown=shown, what=f"--out schema {schema}") from None
        finally:
            conn.rollback()
    if lacking is not None:
        raise DatabaseError(f"--out {shown}: the user may not {lacking}. Fix: ask the database "
                            "administrator for it, or name another schema (?schema=…)")


class RunWriter:
    """Write one run — its tables part by part, then its summary — in one transaction.

    Use as a context manager: the transaction commits when :meth:`finish` has
    been called and the block ends without an error, and is rolled back
    otherwise (nothing of the run is then left in the database).

    Parameters
    ----------
    target
        ``postgresql://…/db?schema=geoplan`` (or a keyword string / ``env:NAME``;
        the schema then from ``schema``).
    crs
        The working CRS of the geometries (its EPSG code is the columns' SRID).
    schema
        Overrides the URL's ``schema`` (default ``geoplan``).

    Attributes
    ----------
    run_id : str
        The new run's id (a uuid), known from the start.
    """

    def __init__(self, target: str, *, crs: Any, schema: str | None = None) -> None:
        self.url, self.schema, self.shown = _target(target, schema)
        epsg = CRS.from_user_input(crs).to_epsg() if crs is not None else None
        if epsg is None:
            raise DatabaseError(f"--out {self.shown}: the working CRS has no EPSG code, so "
                                "its geometries cannot be typed in PostGIS; give the workspace "
                                "an EPSG working CRS ([workspace] crs = \"EPSG:4536\")")
        self.srid = int(epsg)
        self.run_id = str(uuid.uuid4())
        self._conn: psycopg.Connection[Any] | None = None
        self._rows = {"verdicts": 0, "findings": 0, "evidence": 0}
        self._columns: dict[str, list[list[str]]] = {}
        self._finished = False

    # ------------------------------------------------------------------ the transaction

    def __enter__(self) -> RunWriter:
        from psycopg import sql

        psycopg = psycopg_module()
        conn = connect(self.url, purpose=f"--out, schema {self.schema}", read_only=False)
        self._conn = conn
        try:
            if not all(_exists(conn, self.schema, t) for t in _TABLES):
                # the first run creates the tables; writers arriving meanwhile wait for it
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                             [f"geoplan-results:{self.schema}"])
                if not _exists(conn, self.schema):
                    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
                for stmt in _ddl(self.schema, self.srid):
                    conn.execute(stmt)
            row = conn.execute(
                "SELECT postgis_typmod_srid(a.atttypmod) FROM pg_attribute a WHERE a.attrelid = "
                "%s::regclass AND a.attname = 'geom'",
                [f'"{self.schema}"."verdicts"']).fetchone()
            if row is not None and int(row[0]) not in (0, self.srid):
                raise DatabaseError(
                    f"--out {self.shown}: the schema {self.schema} holds runs in EPSG:{row[0]}, "
                    f"this run is in EPSG:{self.srid}. Fix: write it to another schema "
                    f"(?schema={self.schema}_{self.srid})")
            conn.execute(sql.SQL("INSERT INTO {}.runs (run_id, geoplan_version, srid) VALUES "
                                 "(%s, '', %s)").format(sql.Identifier(self.schema)),
                         [self.run_id, self.srid])
        except BaseException as exc:
            conn.rollback()
            conn.close()
            self._conn = None
            if isinstance(exc, psycopg.Error):
                raise database_error(exc, shown=self.shown, what=f"schema {self.schema}") \
                    from None
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        conn = self._conn
        self._conn = None
        if conn is None:
            return
        try:
            if exc_type is None and self._finished:
                conn.commit()
            else:
                conn.rollback()
        finally:
            conn.close()

    # ------------------------------------------------------------------ rows

    def add(self, table: str, frame: pd.DataFrame) -> None:
        """Append rows to ``verdicts``, ``findings`` or ``evidence`` of the run (``COPY``).

        Parameters
        ----------
        table
            Which table.
        frame
            Rows as ``results.gpkg`` holds them (:func:`geoplan.runners.files.gpkg_frames`):
            geometry in the working CRS.
        """
        from psycopg import sql

        psycopg = psycopg_module()
        if self._conn is None:
            raise DatabaseError("RunWriter.add outside its with block")
        fixed = FIXED[table]
        self._columns.setdefault(table, run_columns(frame, fixed))
        geom_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
        cols = [c for c in frame.columns if c != geom_name]
        typed = [c for c in fixed if c in cols]
        extra = [c for c in cols if c not in fixed]
        n = len(frame)
        if n == 0:
            return
        if geom_name is not None:
            g = np.asarray(frame.geometry.to_numpy(), dtype=object)
            hexes = shapely.to_wkb(shapely.set_srid(g, self.srid), hex=True,
                                   include_srid=True).tolist()
        else:
            hexes = [None] * n
        start = self._rows[table]
        names = sql.SQL(", ").join([sql.Identifier(c) for c in
                                    ["run_id", "row_no", *typed, "attributes", "geom"]])
        typed_values = [frame[c].tolist() for c in typed]
        extra_values = [frame[c].tolist() for c in extra]
        try:
            with self._conn.cursor() as cur, cur.copy(sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
                    sql.Identifier(self.schema), sql.Identifier(table), names)) as cp:
                for i in range(n):
                    attrs = ({c: _json_cell(v[i]) for c, v in zip(extra, extra_values,
                                                                   strict=True)}
                             if extra else None)
                    cp.write_row([self.run_id, start + i,
                                  *[copy_value(v[i]) for v in typed_values],
                                  json.dumps(attrs, ensure_ascii=False) if attrs is not None
                                  else None, hexes[i]])
        except psycopg.Error as exc:
            raise database_error(exc, shown=self.shown, what=f"{self.schema}.{table}") from None
        self._rows[table] = start + n

    def finish(self, summary: dict[str, Any]) -> str:
        """Fill the run's row of ``runs`` from the summary; the run commits on leaving the block.

        Parameters
        ----------
        summary
            The ``summary.json`` content of the check.

        Returns
        -------
        str
            The run id.
        """
        from psycopg import sql

        psycopg = psycopg_module()
        if self._conn is None:
            raise DatabaseError("RunWriter.finish outside its with block")
        v = summary.get("verdicts", {})
        pack = summary.get("rule_pack", {}) or {}
        started = summary.get("started_utc")
        try:
            self._conn.execute(sql.SQL(
                "UPDATE {}.runs SET started_utc = %s, geoplan_version = %s, pack_name = %s, "
                "pack_version = %s, subject = %s, sites = %s, n_fail = %s, n_error = %s, "
                "n_warn = %s, n_not_checked = %s, n_pass = %s, sites_source = %s, "
                "workspace = %s, working_crs = %s, summary = %s::jsonb, columns = %s::jsonb "
                "WHERE run_id = %s").format(sql.Identifier(self.schema)), [
                    started, str(summary.get("geoplan_version", "")), pack.get("name"),
                    pack.get("version"), summary.get("subject"), summary.get("sites"),
                    v.get("fail"), v.get("error"), v.get("warn"), v.get("not_checked"),
                    v.get("pass"), summary.get("sites_source"), summary.get("workspace"),
                    summary.get("working_crs"),
                    json.dumps(summary, ensure_ascii=False, default=str),
                    json.dumps(self._columns, ensure_ascii=False), self.run_id])
        except psycopg.Error as exc:
            raise database_error(exc, shown=self.shown, what=f"{self.schema}.runs") from None
        self._finished = True
        return self.run_id


# --------------------------------------------------------------------------- reading back


def list_runs(target: str, *, schema: str | None = None) -> pd.DataFrame:
    """The runs written to a schema, newest first.

    Parameters
    ----------
    target
        ``postgresql://…/db?schema=geoplan``.
    schema
        Overrides the URL's ``schema``.

    Returns
    -------
    pandas.DataFrame
        ``run_id, written_utc, written_by, pack, pack_version, subject, sites,
        fail, error, warn, not_checked, pass, sites_source``.

    Raises
    ------
    DatabaseError
        The connection fails, or the schema holds no ``runs`` table.
    """
    from psycopg import sql

    psycopg = psycopg_module()
    url, schema, shown = _target(target, schema)
    with connect(url, purpose=f"listing runs in schema {schema}") as conn:
        try:
            if not _exists(conn, schema, "runs"):
                raise DatabaseError(f"{shown}: schema {schema!r} holds no geoplan runs (no table "
                                    f"{schema}.runs). Fix: check ?schema=…; runs are written by "
                                    "geoplan check … --out postgresql://…?schema=…")
            rows = conn.execute(sql.SQL(
                "SELECT run_id::text, written_utc, written_by, pack_name, pack_version, subject, "
                "sites, n_fail, n_error, n_warn, n_not_checked, n_pass, sites_source FROM "
                "{}.runs ORDER BY written_utc DESC, run_id").format(sql.Identifier(schema))
            ).fetchall()
        except psycopg.Error as exc:
            raise database_error(exc, shown=shown, what=f"{schema}.runs") from None
        finally:
            conn.rollback()
    cols = ["run_id", "written_utc", "written_by", "pack", "pack_version", "subject", "sites",
            "fail", "error", "warn", "not_checked", "pass", "sites_source"]
    return pd.DataFrame(rows, columns=cols)


def _restore(rows: list[tuple[Any, ...]], names: list[str], columns: list[list[str]],
             srid: int) -> gpd.GeoDataFrame:
    """A table of the run as ``results.gpkg`` holds it, from its rows."""
    n = len(rows)
    fixed_at = {c: i for i, c in enumerate(names)}
    attrs = [r[fixed_at["attributes"]] or {} for r in rows]
    data: dict[str, Any] = {}
    for name, kind in columns:
        if name in fixed_at:
            vals = [r[fixed_at[name]] for r in rows]
        else:
            vals = [a.get(name) for a in attrs]
        data[name] = _typed(vals, kind)
    geoms = shapely.from_wkb(np.array([bytes(r[-1]) if r[-1] is not None else None
                                       for r in rows], dtype=object)) if n else []
    return gpd.GeoDataFrame(pd.DataFrame(data, index=pd.RangeIndex(n)),
                            geometry=shapely.set_srid(np.asarray(geoms, dtype=object), 0)
                            if n else [], crs=CRS.from_epsg(srid))


def _typed(vals: list[Any], kind: str) -> pd.Series:
    has_null = any(v is None for v in vals)
    if kind == "int":
        return pd.Series(vals, dtype="float64" if has_null else "int64")
    if kind == "float":
        return pd.Series([np.nan if v is None else float(v) for v in vals], dtype="float64")
    if kind == "bool":
        return pd.Series(vals, dtype=object if has_null else bool)
    if kind == "boolean":
        return pd.Series(vals, dtype="boolean")
    if kind == "datetime":
        return pd.Series(pd.to_datetime(vals))
    return pd.Series(vals, dtype=object)


def read_run(target: str, run_id: str | None = None, *,
             schema: str | None = None) -> dict[str, Any]:
    """Read a run back: its verdicts, findings and evidence as ``results.gpkg`` holds them.

    Parameters
    ----------
    target
        ``postgresql://…/db?schema=geoplan``.
    run_id
        The run; default: the newest.
    schema
        Overrides the URL's ``schema``.

    Returns
    -------
    dict
        ``run_id``, ``summary`` (dict) and ``verdicts``, ``findings``, ``evidence``
        (GeoDataFrames in the working CRS, columns in the order written).

    Raises
    ------
    DatabaseError
        The connection fails, or there is no such run.
    """
    from psycopg import sql

    psycopg = psycopg_module()
    url, schema, shown = _target(target, schema)
    s = sql.Identifier(schema)
    out: dict[str, Any] = {}
    with connect(url, purpose=f"reading a run in schema {schema}") as conn:
        try:
            if not _exists(conn, schema, "runs"):
                raise DatabaseError(f"{shown}: schema {schema!r} holds no geoplan runs")
            q = sql.SQL("SELECT run_id::text, summary, columns, srid FROM {}.runs ").format(s)
            if run_id is None:
                row = conn.execute(q + sql.SQL("ORDER BY written_utc DESC LIMIT 1")).fetchone()
            else:
                row = conn.execute(q + sql.SQL("WHERE run_id::text = %s"), [run_id]).fetchone()
            if row is None:
                raise DatabaseError(f"{shown}: schema {schema!r} has no run "
                                    f"{run_id or '(none yet)'}; geoplan runs {shown} lists them")
            out["run_id"], out["summary"] = row[0], row[1]
            columns, srid = row[2] or {}, int(row[3])
            for table in ("verdicts", "findings", "evidence"):
                typed = list(FIXED[table])
                names = [*typed, "attributes"]
                sel = sql.SQL(", ").join([sql.Identifier(c) for c in names]
                                         + [sql.SQL("ST_AsEWKB(geom)")])
                rows = conn.execute(sql.SQL("SELECT {} FROM {}.{} WHERE run_id = %s ORDER BY "
                                            "row_no").format(sel, s, sql.Identifier(table)),
                                    [out["run_id"]]).fetchall()
                cols = columns.get(table) or [[c, "text"] for c in typed]
                out[table] = _restore(rows, names, cols, srid)
        except psycopg.Error as exc:
            raise database_error(exc, shown=shown, what=f"schema {schema}") from None
        finally:
            conn.rollback()
    return out
