"""Commands on a spatial database: ``runs`` (the checks written to it)."""

from __future__ import annotations

import json

import click

from .handler import friendly_errors
from .output import table

__all__ = ["runs_cmd"]


@click.command("runs")
@click.argument("database")
@click.option("--schema", default=None,
              help="Schema of the results (default: the URL's ?schema=, else geoplan).")
@click.option("--run", "run_id", default=None, metavar="RUN_ID",
              help="Print the summary of this run (summary.json, as JSON) instead of the list.")
@friendly_errors
def runs_cmd(database: str, schema: str | None, run_id: str | None) -> None:
    """List the runs of ``geoplan check --out DATABASE`` written to DATABASE, newest first.

    DATABASE is postgresql://user@host:port/dbname?schema=geoplan (or env:NAME);
    the password comes from ~/.pgpass, PGPASSWORD or a pg_service.conf service.
    """
    from ..errors import DatabaseError
    from ..postgis import is_database_url, list_runs, mask, read_run

    if not (is_database_url(database) or database.startswith("env:")):
        raise DatabaseError(f"{mask(database)!r} is not a database; give "
                            "postgresql://user@host:port/dbname?schema=geoplan or env:NAME")
    if run_id is not None:
        run = read_run(database, run_id, schema=schema)
        click.echo(json.dumps(run["summary"], ensure_ascii=False, indent=2, default=str))
        return
    runs = list_runs(database, schema=schema)
    if runs.empty:
        click.echo(f"no runs yet 尚无运行记录 in {mask(database)}")
        return
    shown = runs.copy()
    shown["written_utc"] = [t.strftime("%Y-%m-%d %H:%M:%S") if t is not None else ""
                            for t in shown["written_utc"]]
    click.echo(table(shown))
    click.echo(f"{len(runs)} run(s) 次运行 in {mask(database)}")
