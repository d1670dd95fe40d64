"""The ``geoplan`` command line.

Every command has ``--help``. Exit codes: 0 success; 1 a check found sites at
or above the ``--fail-on`` level; 2 unusable input (the message says which
file, layer, row or field, and the fix).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from ._version import __version__
from .errors import GeoplanError

F = TypeVar("F", bound=Callable[..., Any])


def _friendly_errors(fn: F) -> F:
    """Turn geoplan's own errors into a one-paragraph message and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GeoplanError as exc:
            click.echo(f"error / 错误: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _table(df: pd.DataFrame) -> str:
    with pd.option_context("display.unicode.east_asian_width", True,
                           "display.max_colwidth", 60, "display.width", 250,
                           "display.max_rows", 500):
        return df.to_string(index=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="geoplan")
def main() -> None:
    """geoplan: spatial checks for rural construction planning (乡村建设规划空间核查).

    Open a workspace of constraint layers, check batches of proposed houses and
    roads against a rule pack, and export verdicts, evidence and maps.
    """


@main.command("layers")
@click.argument("path", type=click.Path(exists=False, path_type=Path))
@click.option("--crs", "crs", default=None, metavar="EPSG",
              help="Working CRS (projected, metres). Default: the 3° Gauss-Kruger zone of the data.")
@click.option("--engine", type=click.Choice(["pyogrio", "fiona"]), default="pyogrio",
              show_default=True, help="Library used to read vector files.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@_friendly_errors
def layers_cmd(path: Path, crs: str | None, engine: str, as_json: bool) -> None:
    """List the layers of a workspace: kind, label, geometry, count, CRS, repairs, bbox.

    PATH is a folder of <kind>.<ext> files, a GeoPackage whose layer names are
    kinds, or a geoplan.toml.
    """
    from .workspace import open_workspace

    ws = open_workspace(path, crs=crs, engine=engine)  # type: ignore[arg-type]
    table = ws.summary()
    if as_json:
        click.echo(json.dumps({
            "path": str(ws.path),
            "working_crs": ws.crs.to_string(),
            "layers": table.to_dict(orient="records"),
            "unplaced": ws.unplaced,
        }, ensure_ascii=False, indent=2, default=str))
        return
    epsg = ws.crs.to_epsg()
    click.echo(f"workspace 工作空间: {ws.path}")
    click.echo(f"working CRS 工作坐标系: EPSG:{epsg} {ws.crs.name} ({ws.crs_reason})")
    click.echo(f"{len(ws.layers)} layers 个图层\n")
    cols = ["kind", "label_zh", "geometry", "features", "source_crs", "bbox"]
    shown = table[cols].copy()
    shown["features"] = shown["features"].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
    click.echo(_table(shown))
    details = table[(table["repairs"] != "") | (table["notes"] != "")]
    if len(details):
        click.echo("\nrepairs and notes 修复与说明:")
        for _, row in details.iterrows():
            text = "; ".join(x for x in (row["repairs"], row["notes"]) if x)
            click.echo(f"  {row['kind']}: {text}")
    if ws.unplaced:
        click.echo("\nnot placed 未识别 (name them in geoplan.toml to use them):")
        for name in ws.unplaced:
            click.echo(f"  {name}")
    missing = ws.missing_kinds
    if missing:
        click.echo(f"\nkinds not in this workspace 缺少的图层: {', '.join(missing)}")


@main.command("init")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the draft (default DIRECTORY/geoplan.toml). Never overwritten.")
@click.option("--print", "to_stdout", is_flag=True, help="Print the draft instead of writing it.")
@_friendly_errors
def init_cmd(directory: Path, output: Path | None, to_stdout: bool) -> None:
    """Draft a geoplan.toml for a folder of real-world files.

    Proposes a kind for each file recognised by its name, fields and geometry,
    maps known field names (DLBM → code, …), and lists what it could not place.
    An existing file is never overwritten.
    """
    from .draft import draft_config

    draft = draft_config(directory)
    if to_stdout:
        click.echo(draft.text)
    else:
        target = output or directory / "geoplan.toml"
        draft.write(target)
        click.echo(f"wrote 已写入 {target}")
    click.echo(draft.report(), err=to_stdout)


@main.command("sample")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing sample folder.")
@_friendly_errors
def sample_cmd(out: Path, overwrite: bool) -> None:
    """Build the synthetic Yining sample workspace into OUT (deterministic)."""
    from .sample import build_sample_workspace

    path = build_sample_workspace(out, overwrite=overwrite)
    click.echo(f"sample workspace written 示例数据已生成: {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
