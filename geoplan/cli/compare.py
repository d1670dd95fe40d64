"""``geoplan diff``: what changed between two checks (two ``--out`` folders)."""

from __future__ import annotations

from pathlib import Path

import click

from .handler import friendly_errors
from .options import writable_folder
from .output import table

__all__ = ["diff_cmd"]


@click.command("diff")
@click.argument("old_out", type=click.Path(path_type=Path))
@click.argument("new_out", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for diff.csv and the bilingual diff.html (default: print only).")
@friendly_errors
def diff_cmd(old_out: Path, new_out: Path, out: Path | None) -> None:
    """What changed between two checks: OLD_OUT and NEW_OUT are --out folders of geoplan check.

    Sites are matched by site_id (a repeated id is refused); findings by site
    and rule, compared on status and measure (equal within 1e-6 relative, two
    empty measures equal). Lists every site whose verdict or findings changed,
    per rule with the old and new status, measure and message, and the sites
    added or removed.
    """
    from ..diff import diff_folders

    if out is not None:
        writable_folder(out)
    d = diff_folders(old_out, new_out)
    click.echo(f"old 旧: {d.old}\nnew 新: {d.new}")
    click.echo(d.headline())
    if len(d.table):
        click.echo(table(d.brief()))
    else:
        click.echo("no changes 无变化")
    if out is not None:
        files = d.to_files(out)
        click.echo("outputs 输出: " + ", ".join(str(p) for p in files))
