"""Commands about a workspace and its rules: ``layers``, ``init``, ``sample``, ``rules``."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd

from .handler import friendly_errors
from .options import writable_folder
from .output import table

__all__ = ["init_cmd", "layers_cmd", "rules_cmd", "sample_cmd"]


@click.command("layers")
@click.argument("path", type=click.Path(exists=False, path_type=Path))
@click.option("--crs", "crs", default=None, metavar="EPSG",
              help="Working CRS (projected, metres). Default: the 3° Gauss-Kruger zone of the data.")
@click.option("--engine", type=click.Choice(["pyogrio", "fiona"]), default="pyogrio",
              show_default=True, help="Library used to read vector files.")
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@friendly_errors
def layers_cmd(path: Path, crs: str | None, engine: str, as_json: bool) -> None:
    """List the layers of a workspace: kind, label, geometry, count, CRS, repairs, bbox.

    PATH is a folder of <kind>.<ext> files, a GeoPackage whose layer names are
    kinds, or a geoplan.toml.
    """
    from ..workspace import open_workspace

    ws = open_workspace(path, crs=crs, engine=engine)  # type: ignore[arg-type]
    summary = ws.summary()
    if as_json:
        click.echo(json.dumps({
            "path": str(ws.path),
            "working_crs": ws.crs.to_string(),
            "layers": summary.to_dict(orient="records"),
            "unplaced": ws.unplaced,
        }, ensure_ascii=False, indent=2, default=str))
        return
    epsg = ws.crs.to_epsg()
    click.echo(f"workspace 工作空间: {ws.path}")
    click.echo(f"working CRS 工作坐标系: EPSG:{epsg} {ws.crs.name} ({ws.crs_reason})")
    click.echo(f"{len(ws.layers)} layers 个图层\n")
    cols = ["kind", "label_zh", "geometry", "features", "crs", "bbox"]
    shown = summary[cols].copy()
    shown["features"] = shown["features"].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
    click.echo(table(shown.rename(columns={"crs": "source CRS", "bbox": "bbox (working CRS)"})))
    details = summary[(summary["repairs"] != "") | (summary["notes"] != "")]
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


@click.command("init")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the draft (default DIRECTORY/geoplan.toml). Never overwritten.")
@click.option("--print", "to_stdout", is_flag=True, help="Print the draft instead of writing it.")
@friendly_errors
def init_cmd(directory: Path, output: Path | None, to_stdout: bool) -> None:
    """Draft a geoplan.toml for a folder of real-world files.

    Proposes a kind for each file recognised by its name, fields and geometry,
    maps known field names (DLBM → code, …), and lists what it could not place.
    An existing file is never overwritten.
    """
    from ..draft import draft_config

    if not to_stdout:
        writable_folder((output or directory / "geoplan.toml").parent, "--output")
    draft = draft_config(directory)
    if to_stdout:
        click.echo(draft.text)
    else:
        target = output or draft.directory / "geoplan.toml"  # beside a .gdb, not in it
        draft.write(target)
        click.echo(f"wrote 已写入 {target}")
    click.echo(draft.report(), err=to_stdout)


@click.command("sample")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace an existing sample folder.")
@friendly_errors
def sample_cmd(out: Path, overwrite: bool) -> None:
    """Build the synthetic Yining sample workspace into OUT (deterministic)."""
    from ..datasets import build_sample_workspace

    writable_folder(out, "OUT")
    path = build_sample_workspace(out, overwrite=overwrite)
    click.echo(f"sample workspace written 示例数据已生成: {path}")


@click.command("rules")
@click.argument("pack", required=False, default="yining-2025")
@click.option("--sources", is_flag=True, help="Also print each rule's sources.")
@friendly_errors
def rules_cmd(pack: str, sources: bool) -> None:
    """Print a rule pack as a table (id, clause, kind, layer, threshold, severity, verified)."""
    from ..rules import load_pack

    p = load_pack(pack)
    click.echo(f"{p.name} {p.version}" + (f": {p.title_zh}" if p.title_zh.strip() else ""))
    click.echo(f"{p.title_en}  ({p.path})\n".lstrip())
    t = p.table()
    click.echo(table(t[["id", "clause", "kind", "layer", "threshold", "severity", "verified"]]))
    if sources:
        click.echo("\nsources 依据 (verified = read in the source named; NO = placeholder, "
                   "not law 未核实的占位值):")
        for r in p.rules:
            figs = r.figures()
            if not figs:
                click.echo(f"{r.id}: (no figure)")
                continue
            click.echo(f"{r.id}:")
            for fig, src, ok in figs:
                flag = "verified" if ok else "NO (placeholder)"
                click.echo(f"  {fig} [{flag}] {src}")
