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
    cols = ["kind", "label_zh", "geometry", "features", "crs", "bbox"]
    shown = table[cols].copy()
    shown["features"] = shown["features"].map(lambda v: "" if pd.isna(v) else f"{int(v)}")
    click.echo(_table(shown.rename(columns={"crs": "source CRS", "bbox": "bbox (working CRS)"})))
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


def _print_result_summary(res: Any, out: Path | None) -> None:
    counts = res.counts()
    click.echo(f"{res.summary['sites']} {res.subject} sites 个选址, pack 规则包 "
               f"{res.pack.name} {res.pack.version}")
    nc = res.summary["rules_not_checked"]
    if nc:
        click.echo(f"NOT CHECKED 未核查的规则 ({len(nc)}):")
        for r in nc:
            click.echo(f"  {r['rule_id']}: {r['reason']}")
    zh = {"fail": "不通过", "error": "错误", "warn": "警示", "not_checked": "未核查", "pass": "通过"}
    click.echo("verdicts 结论: " + ", ".join(f"{k} {zh[k]} {int(v)}" for k, v in counts.items()))
    table = res.by_rule()
    cols = ["rule_id", "clause", "fail", "warn", "error", "not_checked", "pass"]
    shown = table[cols].copy()
    for c in cols[2:]:
        shown[c] = shown[c].astype(int)
    click.echo(_table(shown))
    if res.summary["unverified_rules"]:
        click.echo("placeholder thresholds (unverified) 未核实的阈值: "
                   + ", ".join(res.summary["unverified_rules"]))
    if out is not None:
        click.echo(f"outputs 输出: {out}")


@main.command("check")
@click.argument("sites", type=click.Path(path_type=Path))
@click.option("--workspace", "-w", "workspace", required=True, type=click.Path(path_type=Path),
              help="Workspace folder, GeoPackage or geoplan.toml.")
@click.option("--rules", "-r", default="yining-2025", show_default=True,
              help="Built-in pack name or path to a .toml rule pack.")
@click.option("--subject", type=click.Choice(["house", "road", "project"]), default=None,
              help="What the sites are (default: inferred from the geometry).")
@click.option("--id-field", default=None, help="Field holding the site ids.")
@click.option("--layer", default=None, help="Layer of a multi-layer sites file.")
@click.option("--crs", default=None, help="CRS of the site coordinates (CSV x/y, or a file "
              "without one).")
@click.option("--gcj02", is_flag=True, help="Sites were digitised on Amap/Tencent (GCJ-02): "
              "convert them first.")
@click.option("--footprint-m", type=float, default=None,
              help="Buffer point sites to a square of this side in metres.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for findings.csv, verdicts.csv, results.gpkg, summary.json, map.html.")
@click.option("--fail-on", type=click.Choice(["fail", "warn", "none"]), default="none",
              show_default=True, help="Exit 1 when any site reaches this level.")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors.")
@_friendly_errors
def check_cmd(sites: Path, workspace: Path, rules: str, subject: str | None,
              id_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
              footprint_m: float | None, out: Path | None, fail_on: str, quiet: bool) -> None:
    """Check a batch of SITES (vector file or CSV of coordinates) against a workspace.

    Every input row gets a verdict (fail / error / warn / not_checked / pass)
    with measured reasons and the plan clause behind each.
    """
    from .result import check
    from .sites import read_sites

    gdf = read_sites(sites, layer=layer, crs=crs, gcj02=gcj02)
    res = check(gdf, workspace, rules=rules, subject=subject, id_field=id_field,
                footprint_m=footprint_m, progress=not quiet and sys.stderr.isatty())
    res.summary["sites_source"] = str(sites)
    res.summary["gcj02_converted"] = gcj02
    if out is not None:
        res.to_files(out)
    if not quiet:
        _print_result_summary(res, out)
    counts = res.counts()
    if fail_on == "fail" and counts["fail"] > 0:
        sys.exit(1)
    if fail_on == "warn" and (counts["fail"] + counts["warn"]) > 0:
        sys.exit(1)


@main.command("rules")
@click.argument("pack", required=False, default="yining-2025")
@click.option("--sources", is_flag=True, help="Also print each rule's sources.")
@_friendly_errors
def rules_cmd(pack: str, sources: bool) -> None:
    """Print a rule pack as a table (id, clause, kind, layer, threshold, severity, verified)."""
    from .rules import load_pack

    p = load_pack(pack)
    click.echo(f"{p.name} {p.version}: {p.title_zh}")
    click.echo(f"{p.title_en}  ({p.path})\n")
    t = p.table()
    click.echo(_table(t[["id", "clause", "kind", "layer", "threshold", "severity", "verified"]]))
    if sources:
        click.echo("")
        for r in p.rules:
            click.echo(f"{r.id}: {r.sources() or '(no figure)'}")


@main.command("demo")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("geoplan-demo"), show_default=True,
              help="Folder for the outputs (houses/ and roads/ inside).")
@click.option("--workspace", "-w", type=click.Path(path_type=Path), default=None,
              help="Sample workspace (default: ./layers, built if missing).")
@_friendly_errors
def demo_cmd(out: Path, workspace: Path | None) -> None:
    """Check both sample batches (proposed houses and roads) on the sample workspace."""
    from .result import check
    from .workspace import open_workspace

    ws_path = workspace or Path("layers")
    if not (ws_path / "batches" / "proposed_houses.gpkg").exists():
        from .sample import build_sample_workspace

        click.echo(f"building the sample workspace 生成示例数据 in {ws_path} …")
        build_sample_workspace(ws_path, overwrite=False)
    ws = open_workspace(ws_path)
    click.echo(f"workspace 工作空间 {ws_path}: {len(ws.layers)} layers, working CRS "
               f"EPSG:{ws.crs.to_epsg()}\n")
    for name, subject in (("proposed_houses", "house"), ("proposed_roads", "road")):
        res = check(ws_path / "batches" / f"{name}.gpkg", ws, subject=subject)
        target = out / ("houses" if subject == "house" else "roads")
        res.to_files(target)
        click.echo(f"== {name} ==")
        _print_result_summary(res, target)
        click.echo("")


if __name__ == "__main__":  # pragma: no cover
    main()
