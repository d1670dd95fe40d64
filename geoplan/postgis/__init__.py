"""PostGIS: a county's spatial database as a source of layers and a place for results.

A county's "one map" (国土空间规划一张图) usually lives in PostgreSQL/PostGIS. In
``geoplan.toml`` a layer can come from a table or a read-only query:

.. code-block:: toml

    [workspace]
    source = "service=onemap"          # or "postgresql://planner@gis.county/onemap", "env:ONEMAP"
    schema = "yining"                  # tables named after kinds are found here

    [layers.power_line]
    table = "yining.电力线"             # a table with another name …
    fields = { voltage_kv = "电压等级" }  # … mapped as a file's fields are

    [layers.farmland_redline]
    source = "env:ONEMAP"              # another database
    sql = "SELECT gid AS fid, geom FROM yjjbnt WHERE xzqdm LIKE '654002%'"

and ``geoplan check … --out postgresql://…/db?schema=geoplan`` appends the run's
verdicts, findings and evidence to tables there (:class:`RunWriter`), listed by
``geoplan runs`` (:func:`list_runs`) and read back by :func:`read_run`.

Modules:

* :mod:`._conn` — connections (URL, keyword string or ``env:NAME``), masked
  display, errors with the fix;
* :mod:`.extent` — :class:`Extent`, the part of the county a batch needs;
* :mod:`.layers` — :func:`read_layer`: a table or query into the frame a file read gives;
* :mod:`.runs` — the results tables: :class:`RunWriter`, :func:`list_runs`, :func:`read_run`;
* :mod:`.tables` — :func:`write_table`: a GeoDataFrame into a new table (loading data).

psycopg is needed only when a database is used (``pip install 'geoplan[postgis]'``).
"""

from ._conn import Connections, connect, is_database_url, mask, password_in, resolve, split_schema
from .extent import Extent
from .layers import Fetched, check_select, list_tables, parse_table, read_layer, table_text
from .runs import DEFAULT_SCHEMA, RunWriter, list_runs, probe_target, read_run
from .tables import write_table

__all__ = [
    "DEFAULT_SCHEMA",
    "Connections",
    "Extent",
    "Fetched",
    "RunWriter",
    "check_select",
    "connect",
    "is_database_url",
    "list_runs",
    "list_tables",
    "mask",
    "parse_table",
    "password_in",
    "probe_target",
    "read_layer",
    "read_run",
    "resolve",
    "split_schema",
    "table_text",
    "write_table",
]
