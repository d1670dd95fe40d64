"""PostGIS peer: a throwaway cluster on 127.0.0.1, GiST-indexed tables, SQL per rule.

:class:`Cluster` runs ``initdb`` and ``pg_ctl`` from Debian's
``postgresql-15-postgis-3`` (or any ``/usr/lib/postgresql/*/bin`` with the
PostGIS extension) on a temporary directory and a free port, as the
``postgres`` user when run as root, and removes it on exit. Layers are loaded
with ``COPY`` of hex EWKB and indexed (``USING gist``) before timing; the
timed part loads the sites the same way and runs one query per shared rule.
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

import numpy as np
import pandas as pd
import shapely

from .peers import SharedRule

__all__ = ["Cluster", "available", "run_postgis"]


def _bindir() -> Path | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        p = Path(d)
        ext = glob.glob(f"/usr/share/postgresql/{p.parent.name}/extension/postgis.control")
        if (p / "pg_ctl").exists() and (p / "initdb").exists() and ext:
            return p
    return None


def available() -> str | None:
    """None when a cluster can be started, else why not."""
    if _bindir() is None:
        return ("no PostgreSQL with PostGIS (apt-get install postgresql-15-postgis-3)")
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
    """A temporary PostgreSQL + PostGIS server on 127.0.0.1 (a context manager)."""

    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            raise RuntimeError(available() or "no PostGIS")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="geoplan-pg-"))
        self.port = _free_port()
        self.root = os.geteuid() == 0
        self.pid: int | None = None

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def __enter__(self) -> Cluster:
        data = self.dir / "data"
        if self.root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=1GB "
                "-c work_mem=256MB -c maintenance_work_mem=1GB -c max_wal_size=4GB "
                "-c max_parallel_workers_per_gather=2 -c jit=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l",
                  str(self.dir / "log"), "start")
        self.pid = int((data / "postmaster.pid").read_text().split()[0])
        with self.connect() as con:
            con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast",
                      "-w", "stop")
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


def run_postgis(cluster: Cluster, tables: dict[str, str], site_id: np.ndarray,
                geoms: np.ndarray, rules: list[SharedRule]) -> tuple[pd.DataFrame, float]:
    """Load the sites and run every shared rule; returns (findings, seconds for loading)."""
    n = len(geoms)
    out = []
    with cluster.connect() as con:
        t0 = time.perf_counter()
        con.execute("DROP TABLE IF EXISTS sites")
        con.execute("CREATE TABLE sites (id integer, geom geometry)")
        _copy(con, "sites", np.arange(n), geoms)
        con.execute("CREATE INDEX ON sites USING gist (geom)")
        con.execute("ANALYZE sites")
        load = time.perf_counter() - t0
        area_site = shapely.area(geoms)
        for rule in rules:
            rows = con.execute(_queries(rule, tables[rule.id])).fetchall()
            if rule.kind in ("overlap", "within"):
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
            out.append(pd.DataFrame({"site_id": site_id, "rule_id": rule.id,
                                     "status": status.astype(object), "area": measure}))
    return pd.concat(out, ignore_index=True), load


def server_pids(cluster: Cluster) -> Iterator[int]:
    """The server's processes (for the memory sampler)."""
    import psutil

    if cluster.pid is None:
        return iter(())
    with contextlib.suppress(psutil.Error):
        p = psutil.Process(cluster.pid)
        return iter([p.pid, *[c.pid for c in p.children(recursive=True)]])
    return iter(())
