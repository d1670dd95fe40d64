"""PostGIS peers: a throwaway cluster on 127.0.0.1, GiST-indexed tables, SQL per rule.

:class:`Cluster` runs ``initdb`` and ``pg_ctl`` from Debian's
``postgresql-15-postgis-3`` (or any ``/usr/lib/postgresql/*/bin`` with the
PostGIS extension) on a temporary directory and a free port, as the
``postgres`` user when run as root, and removes it on exit. Layers are loaded
with ``COPY`` of hex EWKB before timing; the timed part loads the sites the
same way and runs one query per shared rule.

Two peers:

* ``postgis`` (:func:`load_layers`, :func:`run_postgis`) — the direct join:
  the layers as they are, GiST-indexed, each site joined with whole zones of
  10⁴–5 × 10⁴ vertices;
* ``postgis-expert`` (:func:`load_expert_layers`, :func:`run_postgis_expert`) —
  as someone who knows PostGIS writes it: every layer ``ST_Subdivide(geom,
  256)``'d into a GiST-indexed, ``ANALYZE``d table (checked for features that
  overlap each other, dissolved with ``ST_Union`` first if any do), once and
  timed apart; a piece that properly contains the site adds the site's area
  without an ``ST_Intersection``; distances with ``ST_DWithin`` on the index;
  the queries run with ``max_parallel_workers_per_gather`` workers and the
  parallel costs lowered so that the planner uses them (0 workers: the
  single-core row). :func:`explain` shows the plans.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .peers import SharedRule

__all__ = ["Cluster", "available", "explain", "load_expert_layers", "load_layers",
           "run_postgis", "run_postgis_expert"]

MAX_VERTICES = 256
"""``ST_Subdivide``'s ``max_vertices`` for the expert peer."""


def _bindir() -> Path | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        p = Path(d)
        ext = glob.glob(f"/usr/share/postgresql/{p.parent.name}/extension/postgis.control")
        if (p / "pg_ctl").exists() and (p / "initdb").exists() and ext:
            return p
    return None


def available() -> str | None:
    """None when a cluster can be started here, else why not."""
    if _bindir() is None:
        return ("no PostgreSQL with PostGIS under /usr/lib/postgresql (apt-get install "
                "postgresql-15-postgis-3)")
    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' OS user to run initdb as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'psycopg[binary]')"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A temporary PostgreSQL + PostGIS server on 127.0.0.1 (a context manager).

    ``initdb`` and ``pg_ctl`` run as the ``postgres`` OS user when this process is
    root (``initdb`` refuses root). Subclasses (the tests' cluster) change the
    server options, the access rules and what is set up once it runs.
    """

    prefix = "geoplan-pg-"
    initdb_args: tuple[str, ...] = ()
    server_options = ("-c shared_buffers=1GB -c work_mem=256MB -c maintenance_work_mem=1GB "
                      "-c max_wal_size=4GB -c max_parallel_workers_per_gather=2")
    stop_mode = "fast"

    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            raise RuntimeError(available() or "no PostGIS")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix=self.prefix))
        self.port = _free_port()
        self.root = os.geteuid() == 0
        self.pid: int | None = None

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _before_start(self, data: Path) -> None:
        """Change the data directory before the server starts (nothing here)."""

    def _after_start(self, con: Any) -> None:
        """Set the running server up (``con``: the superuser, autocommit)."""
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def __enter__(self) -> Cluster:
        data = self.dir / "data"
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8", *self.initdb_args)
        self._before_start(data)
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c jit=off "
                + self.server_options)
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l",
                  str(self.dir / "log"), "start")
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        with self.connect() as con:
            self._after_start(con)
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m",
                      self.stop_mode, "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self):  # type: ignore[no-untyped-def]
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                               dbname="postgres", autocommit=True)


def _copy(con, table: str, ids: np.ndarray, geoms: np.ndarray,  # type: ignore[no-untyped-def]
          extra: np.ndarray | None = None, srid: int = 4536) -> None:
    hexes = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)
    cols = "(id, geom)" if extra is None else "(id, geom, req)"
    buf = io.StringIO()
    if extra is None:
        for i, h in zip(ids.tolist(), hexes.tolist(), strict=True):
            buf.write(f"{i}\t{h}\n")
    else:
        null = "\\N"
        for i, h, r in zip(ids.tolist(), hexes.tolist(), extra.tolist(), strict=True):
            buf.write(f"{i}\t{h}\t{null if r != r else r}\n")
    with con.cursor() as cur, cur.copy(f"COPY {table} {cols} FROM STDIN") as cp:
        cp.write(buf.getvalue())


def load_layers(cluster: Cluster, rules: list[SharedRule]) -> dict[str, str]:
    """Create and index one table per shared rule's layer; returns rule id → table."""
    tables = {}
    with cluster.connect() as con:
        for k, rule in enumerate(rules):
            t = f"layer_{k}"
            con.execute(f"DROP TABLE IF EXISTS {t}")
            con.execute(f"CREATE TABLE {t} (id integer, geom geometry, req double precision)")
            _copy(con, t, np.arange(len(rule.gdf)), rule.geoms,
                  rule.req if rule.req is not None else np.full(len(rule.gdf), np.nan))
            con.execute(f"CREATE INDEX ON {t} USING gist (geom)")
            con.execute(f"ANALYZE {t}")
            tables[rule.id] = t
    return tables


def _queries(rule: SharedRule, t: str) -> str:
    if rule.kind in ("overlap", "within"):
        return (f"SELECT s.id, sum(ST_Area(ST_Intersection(s.geom, l.geom))) FROM sites s "
                f"JOIN {t} l ON ST_Intersects(s.geom, l.geom) GROUP BY s.id")
    if rule.kind == "setback":
        unknown_close = ("" if rule.min_req != rule.min_req else
                         f" OR (l.req IS NULL AND ST_Distance(s.geom, l.geom) < "
                         f"{rule.min_req} - {1e-6})")
        return (f"SELECT s.id, bool_or((l.req IS NOT NULL AND ST_Distance(s.geom, l.geom) < "
                f"l.req - {1e-6}){unknown_close}), bool_or(l.req IS NULL) FROM sites s JOIN {t} l "
                f"ON ST_DWithin(s.geom, l.geom, {rule.distance}) GROUP BY s.id")
    if rule.kind == "proximity":
        return (f"SELECT s.id FROM sites s WHERE EXISTS (SELECT 1 FROM {t} l WHERE "
                f"ST_DWithin(s.geom, l.geom, {rule.distance + 1e-6}))")
    return (f"SELECT DISTINCT s.id FROM sites s JOIN {t} l ON ST_Intersects(s.geom, l.geom)")


def _load_sites(con, geoms: np.ndarray) -> float:  # type: ignore[no-untyped-def]
    """``COPY`` the sites into an indexed, analysed table; the seconds it took."""
    t0 = time.perf_counter()
    con.execute("DROP TABLE IF EXISTS sites")
    con.execute("CREATE TABLE sites (id integer, geom geometry)")
    _copy(con, "sites", np.arange(len(geoms)), geoms)
    con.execute("CREATE INDEX ON sites USING gist (geom)")
    con.execute("ANALYZE sites")
    return time.perf_counter() - t0


def _findings(rule: SharedRule, rows: list[tuple], site_id: np.ndarray,  # type: ignore[type-arg]
              area_site: np.ndarray, points: bool = False) -> pd.DataFrame:
    """One rule's rows (as :func:`_queries` or :func:`_expert_query` return them) as findings."""
    n = len(site_id)
    if points and rule.kind == "points":
        return pd.DataFrame({"site_id": site_id, "rule_id": rule.id,
                             "status": "not_checked", "area": np.full(n, np.nan)})
    if points and rule.kind in ("overlap", "within"):
        hit = np.zeros(n, dtype=bool)
        measure = np.full(n, np.nan)
        for i, h, d in rows:
            hit[i] = bool(h)
            measure[i] = np.nan if d is None else d
        bad = hit if rule.kind == "overlap" else ~hit
        status = np.where(bad, rule.severity, "pass")
    elif rule.kind in ("overlap", "within"):
        area = np.zeros(n)
        if rows:
            ids, vals = zip(*rows, strict=True)
            area[np.array(ids)] = np.array(vals, dtype=float)
        measure = area if rule.kind == "overlap" else np.maximum(area_site - area, 0.0)
        status = np.where(measure > rule.tol, rule.severity, "pass").astype(object)
    elif rule.kind == "setback":
        bad = np.zeros(n, dtype=bool)
        unk = np.zeros(n, dtype=bool)
        for i, b, u in rows:
            bad[i], unk[i] = bool(b), bool(u)
        status = np.where(bad, rule.severity, np.where(unk, "not_checked", "pass"))
        measure = np.full(n, np.nan)
    else:
        hit = np.zeros(n, dtype=bool)
        hit[[r[0] for r in rows]] = True
        status = (np.where(hit, "pass", rule.severity) if rule.kind == "proximity"
                  else np.where(hit, rule.severity, "pass"))
        measure = np.full(n, np.nan)
    return pd.DataFrame({"site_id": site_id, "rule_id": rule.id,
                         "status": status.astype(object), "area": measure})


def run_postgis(cluster: Cluster, tables: dict[str, str], site_id: np.ndarray,
                geoms: np.ndarray, rules: list[SharedRule]) -> tuple[pd.DataFrame, float]:
    """Load the sites and run every shared rule; returns (findings, seconds for loading)."""
    out = []
    with cluster.connect() as con:
        load = _load_sites(con, geoms)
        area_site = shapely.area(geoms)
        for rule in rules:
            rows = con.execute(_queries(rule, tables[rule.id])).fetchall()
            out.append(_findings(rule, rows, site_id, area_site))
    return pd.concat(out, ignore_index=True), load


# --------------------------------------------------------------------------- expert


def load_expert_layers(cluster: Cluster, rules: list[SharedRule],
                       max_vertices: int = MAX_VERTICES) -> tuple[dict[str, str], dict]:
    """Load every layer, ``ST_Subdivide`` it into an indexed, analysed table of pieces.

    Returns rule id → table of pieces, and what it took: ``load_s`` (``COPY``
    of the layers as they are), ``subdivide_s`` (subdividing, checking for
    overlapping features, dissolving where needed, indexing, ``ANALYZE``),
    ``pieces`` (in all) and the rules whose layer had to be ``dissolved``.
    """
    tables: dict[str, str] = {}
    info: dict[str, Any] = {"pieces": 0, "dissolved": []}
    with cluster.connect() as con:
        t0 = time.perf_counter()
        for k, rule in enumerate(rules):
            con.execute(f"DROP TABLE IF EXISTS raw_{k}")
            con.execute(f"CREATE TABLE raw_{k} (id integer, geom geometry, req double precision)")
            _copy(con, f"raw_{k}", np.arange(len(rule.gdf)), rule.geoms,
                  rule.req if rule.req is not None else np.full(len(rule.gdf), np.nan))
        info["load_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        for k, rule in enumerate(rules):
            t = f"piece_{k}"
            con.execute(f"DROP TABLE IF EXISTS {t}")
            con.execute(f"CREATE TABLE {t} AS SELECT id, req, ST_Subdivide(geom, {max_vertices}) "
                        f"AS geom FROM raw_{k}")
            con.execute(f"CREATE INDEX ON {t} USING gist (geom)")
            if rule.kind in ("overlap", "within") and con.execute(
                    f"SELECT EXISTS (SELECT 1 FROM {t} a JOIN {t} b ON a.geom && b.geom "
                    f"AND a.id < b.id WHERE ST_Relate(a.geom, b.geom, 'T********'))"
                    ).fetchone()[0]:
                # features overlap: the sum over pieces would count the shared part twice
                info["dissolved"].append(rule.id)
                con.execute(f"DROP TABLE {t}")
                con.execute(f"CREATE TABLE {t} AS SELECT 0 AS id, NULL::double precision AS req, "
                            f"ST_Subdivide(d.geom, {max_vertices}) AS geom FROM (SELECT "
                            f"(ST_Dump(ST_Union(geom))).geom FROM raw_{k}) d")
                con.execute(f"CREATE INDEX ON {t} USING gist (geom)")
            con.execute(f"ANALYZE {t}")
            if rule.kind in ("overlap", "within"):
                _point_functions(con, t, rule)
            info["pieces"] += con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            tables[rule.id] = t
        info["subdivide_s"] = round(time.perf_counter() - t0, 2)
    return tables, info


def _point_functions(con, t: str, rule: SharedRule) -> None:  # type: ignore[no-untyped-def]
    """``{t}_inside(geom)`` and ``{t}_nearest(geom)``: a point inside the layer, its distance.

    Inside is ``ST_Within`` (``ST_CoveredBy`` for a within rule) on the index;
    the distance is reported, as geoplan does, only within the rule's reporting
    radius: the least ``ST_Distance`` to the pieces ``ST_DWithin`` that radius
    (on the index), NULL when there is none. They are SQL functions declared
    ``PARALLEL SAFE`` because the same subqueries written in the query —
    correlated, or ``LATERAL`` with ``LIMIT`` — keep the planner from parallel
    plans.
    """
    pred = "ST_Within" if rule.kind == "overlap" else "ST_CoveredBy"
    con.execute(f"CREATE OR REPLACE FUNCTION {t}_inside(g geometry) RETURNS boolean "
                f"LANGUAGE sql STABLE PARALLEL SAFE COST 1000 AS $$ SELECT EXISTS "
                f"(SELECT 1 FROM {t} l WHERE {pred}(g, l.geom)) $$")
    con.execute(f"CREATE OR REPLACE FUNCTION {t}_nearest(g geometry) RETURNS double precision "
                f"LANGUAGE sql STABLE PARALLEL SAFE COST 1000 AS $$ SELECT "
                f"min(ST_Distance(g, l.geom)) FROM {t} l WHERE ST_DWithin(g, l.geom, "
                f"{float(rule.report)!r}) $$")


def _expert_query(rule: SharedRule, t: str, points: bool = False) -> str | None:
    """The query of one rule on its pieces; the same rows as :func:`_queries`.

    On house points (``points``), an overlap or within rule gives every site with
    whether it lies inside and the distance to the nearest piece, from the
    functions :func:`_point_functions` made; a point layer has no query (the
    sites are ``not_checked``).
    """
    if points and rule.kind == "points":
        return None
    if points and rule.kind in ("overlap", "within"):
        return f"SELECT s.id, {t}_inside(s.geom), {t}_nearest(s.geom) FROM sites s"
    if rule.kind in ("overlap", "within"):
        return (f"SELECT s.id, sum(CASE WHEN ST_ContainsProperly(l.geom, s.geom) "
                f"THEN ST_Area(s.geom) ELSE ST_Area(ST_Intersection(s.geom, l.geom)) END) "
                f"FROM sites s JOIN {t} l ON ST_Intersects(s.geom, l.geom) GROUP BY s.id")
    return _queries(rule, t)


def parallel_settings(workers: int) -> list[str]:
    """The session settings of the expert peer: ``workers`` per Gather, parallelism made cheap.

    With the defaults (``parallel_setup_cost`` 1000, ``parallel_tuple_cost``
    0.1, ``min_parallel_table_scan_size`` 8 MB, where 10⁴ footprints take
    about 1.3 MB) the planner seldom picks a parallel plan for these queries;
    :func:`explain` shows what it did.
    """
    return [f"SET max_parallel_workers_per_gather = {int(workers)}",
            "SET parallel_setup_cost = 10", "SET parallel_tuple_cost = 0.001",
            "SET min_parallel_table_scan_size = '8kB'",
            "SET min_parallel_index_scan_size = '8kB'"]


def run_postgis_expert(cluster: Cluster, tables: dict[str, str], site_id: np.ndarray,
                       geoms: np.ndarray, rules: list[SharedRule],
                       workers: int = 2) -> tuple[pd.DataFrame, float, dict[str, float]]:
    """Load the sites, run every shared rule on the pieces; (findings, s loading, s per rule)."""
    from .peers import point_batch

    out = []
    per_rule = {}
    points = point_batch(geoms)
    with cluster.connect() as con:
        for q in parallel_settings(workers):
            con.execute(q)
        load = _load_sites(con, geoms)
        area_site = shapely.area(geoms)
        for rule in rules:
            t0 = time.perf_counter()
            q = _expert_query(rule, tables[rule.id], points)
            rows = [] if q is None else con.execute(q).fetchall()
            per_rule[rule.id] = time.perf_counter() - t0
            out.append(_findings(rule, rows, site_id, area_site, points))
    return pd.concat(out, ignore_index=True), load, per_rule


def explain(cluster: Cluster, tables: dict[str, str], rules: list[SharedRule], workers: int,
            analyze: str | None = None, points: bool = False) -> dict[str, Any]:
    """The plans of the expert queries on the sites loaded: how many have a Gather node.

    Returns ``gather`` (rule ids whose plan has a Gather or Gather Merge node),
    ``workers_planned`` (per rule) and, for the rule ``analyze``, the text of
    ``EXPLAIN (ANALYZE)`` (it runs the query again), which shows the workers
    launched.
    """
    import json

    queries = {r.id: _expert_query(r, tables[r.id], points) for r in rules}
    res: dict[str, Any] = {"gather": [], "workers_planned": {},
                           "rules": sum(q is not None for q in queries.values())}

    def walk(node: dict[str, Any], rid: str) -> None:
        if node.get("Node Type", "").startswith("Gather"):
            res["gather"].append(rid)
            res["workers_planned"][rid] = node.get("Workers Planned")
        for c in node.get("Plans", []):
            walk(c, rid)

    with cluster.connect() as con:
        for q in parallel_settings(workers):
            con.execute(q)
        for rid, q in queries.items():
            if q is not None:
                plan = con.execute("EXPLAIN (FORMAT JSON) " + q).fetchone()[0]
                walk((json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"], rid)
        if analyze is not None and queries.get(analyze) is not None:
            rows = con.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {queries[analyze]}").fetchall()
            res["analyze"] = {"rule": analyze, "plan": [r[0] for r in rows]}
    return res


def server_pids(cluster: Cluster) -> Iterator[int]:
    """The server's processes (for the memory sampler)."""
    import psutil

    if cluster.pid is None:
        return iter(())
    with contextlib.suppress(psutil.Error):
        p = psutil.Process(cluster.pid)
        return iter([p.pid, *[c.pid for c in p.children(recursive=True)]])
    return iter(())
