"""A throwaway PostgreSQL + PostGIS server for the tests, and the sample layers loaded into it.

:class:`Cluster` runs ``initdb`` and ``pg_ctl`` from ``/usr/lib/postgresql/*/bin``
(Debian's ``postgresql-15-postgis-3``) on a temporary directory and a free port
on 127.0.0.1 — as the ``postgres`` OS user when the tests run as root, since
``initdb`` refuses root: it is the benchmarks' cluster (``benchmarks/postgis.py``)
with other settings.
Connections from 127.0.0.1 as ``postgres`` are trusted; every other role needs
its password (scram-sha-256), so that a wrong password can be tested.

The tests that need the server use the session fixture ``pg`` (``tests/conftest.py``);
where no server can be started they skip and say why, unless
``GEOPLAN_REQUIRE_POSTGIS=1`` (set by ``.ci/run``), where they fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from benchmarks.postgis import Cluster as _BenchCluster
from benchmarks.postgis import available

__all__ = ["Cluster", "available", "load_sample"]

PLANNER = ("planner", "planner-secret")
"""A role with a password that may read the layers and write results."""
OUTSIDER = ("outsider", "outsider-secret")
"""A role with a password and no privilege on the layers."""


class Cluster(_BenchCluster):
    """The benchmarks' throwaway server, with password roles and small memory settings."""

    prefix = "geoplan-test-pg-"
    initdb_args = ("--locale", "C")
    server_options = ""
    stop_mode = "immediate"

    def _before_start(self, data: Path) -> None:
        hba = ("local all all trust\n"
               "host all postgres 127.0.0.1/32 trust\n"
               "host all all 127.0.0.1/32 scram-sha-256\n")
        (data / "pg_hba.conf").write_text(hba, encoding="utf-8")
        if self.root:
            shutil.chown(data / "pg_hba.conf", "postgres", "postgres")

    def _after_start(self, con: Any) -> None:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        for role, password in (PLANNER, OUTSIDER):
            con.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        con.execute(f"GRANT CREATE ON DATABASE postgres TO {PLANNER[0]}")

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
