"""A throwaway PostgreSQL + PostGIS server for the tests, and the sample layers loaded into it.

:class:`Cluster` runs ``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/*/bin``
(Debian's ``postgresql-15-postgis-3``) on a temporary directory and a free port
on 127.0.0.1 — as the ``postgres`` OS user when the tests run as root, since
``initdb`` refuses root — as ``benchmarks/postgis.py`` does for the benchmarks.
Connections from 127.0.0.1 as ``postgres`` are trusted; every other role needs
its password (scram-sha-256), so that a wrong password can be tested.

The tests that need the server use the session fixture ``pg`` (``tests/conftest.py``);
where no server can be started they skip and say why, unless
``GEOPLAN_REQUIRE_POSTGIS=1`` (set by ``.ci/run``), where they fail.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["Cluster", "available", "load_sample"]

PLANNER = ("planner", "planner-secret")
"""A role with a password that may read the layers and write results."""
OUTSIDER = ("outsider", "outsider-secret")
"""A role with a password and no privilege on the layers."""


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
        return "psycopg is not installed (pip install -e '.[test]')"
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
        self.dir = Path(tempfile.mkdtemp(prefix="geoplan-test-pg-"))
        self.port = _free_port()
        self.root = os.geteuid() == 0

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
                  "--no-sync", "-E", "UTF8", "--locale", "C")
        hba = ("local all all trust\n"
               "host all postgres 127.0.0.1/32 trust\n"
               "host all all 127.0.0.1/32 scram-sha-256\n")
        (data / "pg_hba.conf").write_text(hba, encoding="utf-8")
        if self.root:
            shutil.chown(data / "pg_hba.conf", "postgres", "postgres")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c jit=off")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-w", "-l",
                  str(self.dir / "log"), "start")
        with self.connect() as con:
            con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            for role, password in (PLANNER, OUTSIDER):
                con.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
            con.execute(f"GRANT CREATE ON DATABASE postgres TO {PLANNER[0]}")
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m",
                      "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, user: str = "postgres", password: str | None = None, **query: str) -> str:
        """A ``postgresql://`` URL to the server's ``postgres`` database."""
        auth = user if password is None else f"{user}:{password}"
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql://{auth}@127.0.0.1:{self.port}/postgres" + (f"?{q}" if q else "")

    def connect(self) -> Any:
        """An autocommit connection as the superuser ``postgres``."""
        import psycopg

        return psycopg.connect(self.url(), autocommit=True)


def load_sample(cluster: Cluster, layers: Path, schema: str, *,
                renamed: dict[str, tuple[str, dict[str, str]]] | None = None,
                grant_to: str = PLANNER[0]) -> list[str]:
    """Copy every vector layer of the sample workspace into ``schema``, one table per kind.

    Each table keeps the GeoPackage's fid as its primary key ``fid``, its fields and
    its CRS (the geometry column ``geom`` typed with the layer's SRID) and gets a
    GiST index. ``renamed`` maps a kind to ``(table name, {field: column name})``
    for a layer stored under another name with other column names.

    Returns the tables written.
    """
    import geopandas as gpd
    import pyogrio

    from geoplan.postgis import write_table

    renamed = renamed or {}
    written = []
    with cluster.connect() as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.execute(f'CREATE SCHEMA "{schema}"')
    for f in sorted(layers.glob("*.gpkg")):
        kind = f.stem
        gdf = gpd.read_file(f, fid_as_index=True)
        gdf = gdf.reset_index()  # the GeoPackage fid as a column
        name, cols = renamed.get(kind, (kind, {}))
        gdf = gdf.rename(columns=cols)
        epsg = pyogrio.read_info(f)["crs"]
        write_table(gdf, cluster.url(), (schema, name), srid=int(epsg.split(":")[1]),
                    primary_key="fid")
        written.append(f"{schema}.{name}")
    with cluster.connect() as con:
        con.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {grant_to}')
        con.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {grant_to}')
    return written
