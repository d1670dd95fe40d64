"""The ``geoplan`` command line.

Every command has ``--help``. Exit codes, the same for every command:

====  =====================================================================
0     done
1     ``geoplan check``: some site reached the ``--fail-on`` level
2     unusable input or configuration: the message names the file, layer,
      row, field or rule key, and the fix (also click's usage errors)
3     an internal error (a bug): one line on stderr with the path of a log
      file holding the traceback (in the ``--out`` folder when it can be
      written, else in the temporary folder)
130   interrupted (Ctrl-C)
====  =====================================================================

A crash is never reported as 1, which scripts read as "a site failed".
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd

from ._version import __version__
from .errors import DataFileError, GeoplanError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAIL_ON = 1
EXIT_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130


def _friendly_errors(fn: F) -> F:
    """The exit codes of every command (see the module docstring).

    geoplan's own errors (:class:`~geoplan.errors.GeoplanError`) are unusable
    input: their one-paragraph message and exit 2. Click's usage errors keep
    click's handling (exit 2). Anything else is a bug: its traceback goes to a
    log file, stderr gets one line naming that file, and the exit code is 3.
    """

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GeoplanError as exc:
            click.echo(f"error / 错误: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted 已中断", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:
            out = kwargs.get("out") or kwargs.get("output")
            log, where = _write_crash_log(exc, out if isinstance(out, Path) else None)
            what = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            if log is None:
                click.echo(f"internal error 内部错误 ({what}); no log file could be written "
                           f"({where}): please report this message", err=True)
            else:
                click.echo(f"internal error 内部错误 ({what}); the traceback is in {log} "
                           f"({where}): please report it with that file", err=True)
            sys.exit(EXIT_INTERNAL)

    wrapper.geoplan_exit_codes = True  # type: ignore[attr-defined]  # checked by the tests
    return wrapper  # type: ignore[return-value]


def _write_crash_log(exc: BaseException, out: Path | None) -> tuple[Path | None, str]:
    """Write the traceback of ``exc`` to a log file; its path and which folder it is in.

    The ``--out`` folder when it exists and can be written (for an ``--out``
    file, its folder), else the system's temporary folder.
    """
    ctx = click.get_current_context(silent=True)
    text = "\n".join([
        f"geoplan {__version__} internal error, "
        f"{_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')}",
        f"command: {ctx.command_path if ctx else 'geoplan'} "
        f"{json.dumps(_redacted(ctx.params if ctx else {}), ensure_ascii=False, default=str)}",
        f"argv: {' '.join(sys.argv)}",
        f"python {platform.python_version()} on {platform.platform()}",
        "",
        "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    ])
    name = (f"geoplan-error-{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-"
            f"{os.getpid()}.log")
    places: list[tuple[Path, str]] = []
    if out is not None:
        names_a_file = (out.exists() and not out.is_dir()) or \
            out.suffix.lower() in (".html", ".htm", ".toml")
        if names_a_file:
            places.append((out.parent, "in the folder of --out"))  # --out names a file
        else:
            places.append((out, "in the --out folder"))
    places.append((Path(tempfile.gettempdir()),
                   "in the temporary folder" + (": --out could not be written" if out else "")))
    problems = []
    for folder, where in places:
        target = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as err:
            problems.append(f"{folder}: {err.strerror or err}")
            continue
        return target, where
    return None, "; ".join(problems)


def _redacted(params: dict[str, Any]) -> dict[str, Any]:
    """Command options for a log, with keys such as ``--tk`` left out."""
    return {k: ("(redacted)" if v and (k in ("tk",) or "key" in k or "token" in k) else v)
            for k, v in params.items()}


def _writable_folder(folder: Path, option: str = "--out") -> None:
    """Refuse an output folder that cannot be written, before any work is done (exit 2).

    Nothing is created: the nearest existing folder on the way to ``folder``
    must be a folder in which a file can be created (a probe file is made and
    removed at once).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise DataFileError(f"{folder}: {option} exists and is not a folder; choose another "
                            f"{option} / 输出路径已存在且不是文件夹，请另选")
    probe_in = folder.absolute()
    while not probe_in.exists() and probe_in != probe_in.parent:
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise DataFileError(f"{folder}: the output folder ({option}) cannot be created: "
                            f"{probe_in} is a file, not a folder; choose another {option} / "
                            "输出文件夹无法创建：路径中有同名文件")
    try:
        fd, probe = tempfile.mkstemp(prefix=".geoplan-write-test-", dir=probe_in)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataFileError(f"{folder}: the output folder ({option}) cannot be written — no file "
                            f"can be created in {probe_in} ({exc.strerror or exc}); choose a "
                            f"folder you can write to / 输出文件夹不可写，请换一个文件夹") from None


def _writable_file(path: Path, option: str = "--out") -> None:
    """Refuse an output file whose folder cannot be written, or which is a folder (exit 2)."""
    if path.is_dir():
        raise DataFileError(f"{path}: {option} is a folder; give a file name, e.g. "
                            f"{path / 'map.html'} / 输出路径是文件夹，请给出文件名")
    _writable_folder(path.parent, f"the folder of {option}")


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

    if not to_stdout:
        _writable_folder((output or directory / "geoplan.toml").parent, "--output")
    draft = draft_config(directory)
    if to_stdout:
        click.echo(draft.text)
    else:
        target = output or draft.directory / "geoplan.toml"  # beside a .gdb, not in it
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

    _writable_folder(out, "OUT")
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
    warnings = res.summary.get("data_warnings") or []
    if warnings:
        click.echo(f"DATA WARNINGS 数据问题 ({len(warnings)}):")
        for w in warnings:
            click.echo(f"  {w}")
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


_BASEMAP_NAMES = ["osm", "tianditu", "tianditu-img", "amap", "amap-img", "none"]


def _map_options(fn: F) -> F:
    """--basemap, --tk and --offline, for the commands that write maps."""
    fn = click.option("--offline", is_flag=True,
                      help="Self-contained map/report: Leaflet inlined, no CDN; default basemap "
                           "none, so the page makes no request at all.")(fn)
    fn = click.option("--tk", default=None, envvar="GEOPLAN_TIANDITU_TK", metavar="KEY",
                      help="Tianditu key for --basemap tianditu[-img] "
                           "(or GEOPLAN_TIANDITU_TK).")(fn)
    fn = click.option("--basemap", type=click.Choice(_BASEMAP_NAMES), default=None,
                      help="Map background: osm (default), tianditu, tianditu-img (need --tk), "
                           "amap, amap-img (overlays shifted to GCJ-02), none (default with "
                           "--offline).")(fn)
    return fn


def _check_basemap(basemap: str | None, offline: bool, tk: str | None) -> None:
    """Refuse a bad basemap choice before the check runs (exit 2)."""
    from .maps import resolve_basemaps

    resolve_basemaps(basemap, offline=offline, tk=tk)


@main.command("check")
@click.argument("sites", type=click.Path(path_type=Path))
@click.option("--workspace", "-w", "workspace", required=True, type=click.Path(path_type=Path),
              help="Workspace folder, GeoPackage or geoplan.toml.")
@click.option("--rules", "-r", default="yining-2025", show_default=True,
              help="Built-in pack name or path to a .toml rule pack.")
@click.option("--subject", type=click.Choice(["house", "road", "project"]), default=None,
              help="What the sites are (default: inferred from the geometry).")
@click.option("--id-field", default=None, help="Field holding the site ids.")
@click.option("--layer", "--sheet", "layer", default=None,
              help="Layer of a multi-layer sites file, or sheet of an Excel workbook "
                   "(default: the first).")
@click.option("--crs", default=None, help="CRS of the site coordinates (CSV x/y, or a file "
              "without one).")
@click.option("--gcj02", is_flag=True, help="Sites were digitised on Amap/Tencent (GCJ-02): "
              "convert them first.")
@click.option("--footprint-m", type=float, default=None,
              help="Buffer point sites to a square of this side in metres.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for findings.csv, verdicts.csv, results.gpkg, summary.json, map.html, "
                   "report.html.")
@click.option("--fail-on", type=click.Choice(["fail", "warn", "none"]), default="none",
              show_default=True, help="Exit 1 when any site reaches this level.")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors.")
@click.option("--engine", "engine", type=click.Choice(["local", "dask"]), default="local",
              show_default=True, help="local: this process; dask: spatial partitions on a dask "
              "cluster (needs geoplan[dask]).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler of an existing cluster (tcp://host:8786); implies "
                   "--engine dask. Default: a local cluster, one worker per core.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None, metavar="N",
              help="Check N sites at a time. With --out and the local engine the outputs are "
                   "written chunk by chunk in bounded memory (no map or report); with dask, "
                   "the largest partition.")
@_map_options
@_friendly_errors
def check_cmd(sites: Path, workspace: Path, rules: str, subject: str | None,
              id_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
              footprint_m: float | None, out: Path | None, fail_on: str, quiet: bool,
              engine: str = "local", scheduler: str | None = None,
              chunk_size: int | None = None,
              basemap: str | None = None, tk: str | None = None, offline: bool = False) -> None:
    """Check a batch of SITES (vector file or CSV of coordinates) against a workspace.

    Every input row gets a verdict (fail / error / warn / not_checked / pass)
    with measured reasons and the plan clause behind each.
    """
    from .result import check
    from .sites import read_sites

    if out is not None:
        _writable_folder(out)  # before the long check, not after it
        _check_basemap(basemap, offline, tk)
    if scheduler:
        engine = "dask"
    if engine == "local" and chunk_size is not None and out is not None:
        from .scale import check_to_files

        summary = check_to_files(sites, workspace, out, chunk_size=chunk_size, rules=rules,
                                 subject=subject, id_field=id_field, footprint_m=footprint_m,
                                 crs=crs, gcj02=gcj02, layer=layer,
                                 progress=not quiet and sys.stderr.isatty())
        verdicts = summary["verdicts"]
        if not quiet:
            zh = {"fail": "不通过", "error": "错误", "warn": "警示", "not_checked": "未核查",
                  "pass": "通过"}
            click.echo(f"{summary['sites']} {summary['subject']} sites 个选址, chunks of "
                       f"{chunk_size}, pack 规则包 {summary['rule_pack']['name']}")
            for r in summary["rules_not_checked"]:
                click.echo(f"  NOT CHECKED 未核查 {r['rule_id']}: {r['reason']}")
            click.echo("verdicts 结论: " + ", ".join(f"{k} {zh[k]} {int(v)}"
                                                   for k, v in verdicts.items()))
            click.echo(f"outputs 输出: {out}")
        if fail_on == "fail" and verdicts.get("fail", 0) > 0:
            sys.exit(EXIT_FAIL_ON)
        if fail_on == "warn" and verdicts.get("fail", 0) + verdicts.get("warn", 0) > 0:
            sys.exit(EXIT_FAIL_ON)
        return

    gdf = read_sites(sites, layer=layer, crs=crs, gcj02=gcj02)
    site_notes = _print_site_notes(gdf, quiet)
    if engine == "dask":
        from .dask_engine import check_dask

        res = check_dask(gdf, workspace, rules=rules, subject=subject, id_field=id_field,
                         footprint_m=footprint_m, scheduler=scheduler, chunk_size=chunk_size)
    elif chunk_size is not None:
        from .scale import check_chunked

        res = check_chunked(gdf, workspace, chunk_size=chunk_size, rules=rules,
                            subject=subject, id_field=id_field, footprint_m=footprint_m)
    else:
        res = check(gdf, workspace, rules=rules, subject=subject, id_field=id_field,
                    footprint_m=footprint_m, progress=not quiet and sys.stderr.isatty())
    res.summary["sites_source"] = str(sites)
    res.summary["gcj02_converted"] = gcj02
    res.summary["sites_notes"] = site_notes
    if out is not None:
        res.to_files(out, offline=offline, basemap=basemap, tk=tk)
    if not quiet:
        _print_result_summary(res, out)
    counts = res.counts()
    if fail_on == "fail" and counts["fail"] > 0:
        sys.exit(EXIT_FAIL_ON)
    if fail_on == "warn" and (counts["fail"] + counts["warn"]) > 0:
        sys.exit(EXIT_FAIL_ON)


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


@main.command("demo")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("geoplan-demo"), show_default=True,
              help="Folder for the outputs (houses/ and roads/ inside).")
@click.option("--workspace", "-w", type=click.Path(path_type=Path), default=None,
              help="Sample workspace (default: ./layers, built if missing).")
@_map_options
@_friendly_errors
def demo_cmd(out: Path, workspace: Path | None, basemap: str | None = None,
             tk: str | None = None, offline: bool = False) -> None:
    """Check both sample batches (proposed houses and roads) on the sample workspace."""
    from .result import check
    from .workspace import open_workspace

    _writable_folder(out)
    _check_basemap(basemap, offline, tk)

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
        res.to_files(target, offline=offline, basemap=basemap, tk=tk)
        click.echo(f"== {name} ==")
        _print_result_summary(res, target)
        click.echo("")


def _batch_options(fn: F) -> F:
    """The inputs of a check, shared by `geoplan map` and `geoplan report`."""
    for opt in reversed([
        click.argument("sites", type=click.Path(path_type=Path)),
        click.option("--workspace", "-w", "workspace", required=True,
                     type=click.Path(path_type=Path),
                     help="Workspace folder, GeoPackage or geoplan.toml."),
        click.option("--rules", "-r", default="yining-2025", show_default=True,
                     help="Built-in pack name or path to a .toml rule pack."),
        click.option("--subject", type=click.Choice(["house", "road", "project"]), default=None,
                     help="What the sites are (default: inferred from the geometry)."),
        click.option("--id-field", default=None, help="Field holding the site ids."),
        click.option("--layer", "--sheet", "layer", default=None,
                     help="Layer of a multi-layer sites file, or sheet of an Excel workbook "
                          "(default: the first)."),
        click.option("--crs", default=None, help="CRS of the site coordinates."),
        click.option("--gcj02", is_flag=True, help="Sites were digitised on Amap/Tencent "
                     "(GCJ-02): convert them first."),
        click.option("--footprint-m", type=float, default=None,
                     help="Buffer point sites to a square of this side in metres."),
    ]):
        fn = opt(fn)
    return fn


def _run_batch(sites: Path, workspace: Path, rules: str, subject: str | None,
               id_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
               footprint_m: float | None) -> Any:
    from .result import check
    from .sites import read_sites

    gdf = read_sites(sites, layer=layer, crs=crs, gcj02=gcj02)
    site_notes = _print_site_notes(gdf, False)
    res = check(gdf, workspace, rules=rules, subject=subject, id_field=id_field,
                footprint_m=footprint_m, progress=sys.stderr.isatty())
    res.summary["sites_source"] = str(sites)
    res.summary["gcj02_converted"] = gcj02
    res.summary["sites_notes"] = site_notes
    return res


def _print_site_notes(gdf: Any, quiet: bool) -> list[str]:
    """Print what reading the sites decided (sheet, X/Y order, coordinate systems)."""
    notes = [str(n) for n in gdf.attrs.get("notes", [])]
    if not quiet:
        for n in notes:
            click.echo(f"sites 选址: {n}")
    return notes


@main.command("map")
@_batch_options
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("map.html"), show_default=True, help="The HTML map to write.")
@_map_options
@_friendly_errors
def map_cmd(sites: Path, workspace: Path, rules: str, subject: str | None, id_field: str | None,
            layer: str | None, crs: str | None, gcj02: bool, footprint_m: float | None,
            out: Path, basemap: str | None, tk: str | None, offline: bool) -> None:
    """Check SITES and write an interactive map of the verdicts (one HTML file).

    Constraint layers by group (zh/en), sites coloured by verdict with counts,
    a popup per site with each failed or warned rule, the evidence on top.
    """
    from .maps import result_map

    _writable_file(out)
    _check_basemap(basemap, offline, tk)
    res = _run_batch(sites, workspace, rules, subject, id_field, layer, crs, gcj02, footprint_m)
    m = result_map(res, basemap=basemap, tk=tk, offline=offline)
    out.write_text(m.get_root().render(), encoding="utf-8")
    counts = ", ".join(f"{k} {v}" for k, v in res.counts().items())
    click.echo(f"map 地图: {out} ({len(res.verdicts)} sites 个选址: {counts})")


@main.command("report")
@_batch_options
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("report.html"), show_default=True, help="The HTML report to write.")
@click.option("--detail", type=click.Choice(["fail", "warn", "error", "not_checked"]),
              multiple=True, help="Verdicts that get a section per site (default: fail; "
                                  "repeatable).")
@_map_options
@_friendly_errors
def report_cmd(sites: Path, workspace: Path, rules: str, subject: str | None,
               id_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
               footprint_m: float | None, out: Path, detail: tuple[str, ...],
               basemap: str | None, tk: str | None, offline: bool) -> None:
    """Check SITES and write the bilingual review report (report.html).

    Verdict counts, a table by rule and by township/village, the map, and a
    section per failing site with its findings and a small map.
    """
    from .report import result_report

    _writable_file(out)
    _check_basemap(basemap, offline, tk)
    res = _run_batch(sites, workspace, rules, subject, id_field, layer, crs, gcj02, footprint_m)
    result_report(res, out, basemap=basemap, tk=tk, offline=offline,
                  detail=list(detail) or ["fail"])
    counts = ", ".join(f"{k} {v}" for k, v in res.counts().items())
    click.echo(f"report 报告: {out} ({len(res.verdicts)} sites 个选址: {counts})")



# --------------------------------------------------------------------------- planning analyses

_TARGETS_HELP = "Built-in targets name or path to a targets .toml (service distances, targets)."


def _analysis_out(res: Any, out: Path | None, no_map: bool) -> None:
    if out is not None:
        res.to_files(out, map_html=not no_map)
        click.echo(f"outputs 输出: {out}")


def _print_notes(notes: list[str]) -> None:
    for n in notes:
        click.echo(f"note 说明: {n}")


@main.command("coverage")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for coverage.csv, coverage_by_kind.csv, coverage_by_township.csv, "
                   "coverage.gpkg, map.html, summary.json.")
@click.option("--targets", "-t", default="yining-2025", show_default=True, help=_TARGETS_HELP)
@click.option("--kind", "kinds", multiple=True, metavar="KIND",
              help="Facility kind (repeatable; default: clinic, waste_point, shelter, logistics, "
                   "service_centre).")
@click.option("--distance", "distances", multiple=True, metavar="KIND=METRES",
              help="Override a service distance, e.g. --distance clinic=1500 (repeatable).")
@click.option("--max-snap-m", type=float, default=None,
              help="Largest distance from a village or facility to the road network.")
@click.option("--no-map", is_flag=True, help="Do not write map.html.")
@_friendly_errors
def coverage_cmd(workspace: Path, out: Path | None, targets: str, kinds: tuple[str, ...],
                 distances: tuple[str, ...], max_snap_m: float | None, no_map: bool) -> None:
    """Service coverage of villages by facility kind, straight-line and along roads.

    For each facility kind: the villages and share of the population within
    its service distance, and the villages with none (clauses 八–十三).
    """
    from .analysis import coverage

    if out is not None:
        _writable_folder(out)
    dist: dict[str, float] = {}
    for d in distances:
        k, sep, v = d.partition("=")
        try:
            dist[k.strip()] = float(v)
        except ValueError:
            sep = ""
        if not sep:
            raise click.BadParameter(f"{d!r}: write KIND=METRES, e.g. clinic=1500",
                                     param_hint="--distance")
    res = coverage(workspace, kinds=list(kinds) or None, targets=targets,
                   distances=dist or None, max_snap_m=max_snap_m)
    click.echo(f"{len(res.villages)} villages 个村庄; network 路网: "
               f"{res.network if res.network is not None else 'none 无'}")
    t = res.by_kind[["kind", "label_zh", "distance_m", "verified", "n_facilities",
                     "share_villages_straight", "share_villages_network",
                     "share_population_network", "n_none_network"]].copy()
    for c in ("share_villages_straight", "share_villages_network", "share_population_network"):
        t[c] = t[c].round(1)
    t["verified"] = t["verified"].map({True: "yes", False: "NO (placeholder)"})
    click.echo(_table(t))
    for r in res.by_kind.itertuples():
        if r.villages_none_network:
            click.echo(f"no {r.kind} within {r.distance_m:g} m along roads 路网服务距离内无"
                       f"{r.label_zh}: {', '.join(r.villages_none_network)}")
    _print_notes(res.notes)
    _analysis_out(res, out, no_map)


@main.command("connectivity")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for connectivity.csv, connectivity_flagged.csv, connectivity.gpkg, "
                   "map.html, summary.json.")
@click.option("--targets", "-t", default="yining-2025", show_default=True, help=_TARGETS_HELP)
@click.option("--min-population", type=float, default=None,
              help="Villages at or above this population are checked (default from targets).")
@click.option("--max-gap-m", type=float, default=None,
              help="Largest network distance to the hardened network (default from targets).")
@click.option("--max-snap-m", type=float, default=None,
              help="Largest distance from a village to the road network.")
@click.option("--no-map", is_flag=True, help="Do not write map.html.")
@_friendly_errors
def connectivity_cmd(workspace: Path, out: Path | None, targets: str,
                     min_population: float | None, max_gap_m: float | None,
                     max_snap_m: float | None, no_map: bool) -> None:
    """Villages above a population threshold with no hardened-road connection (clause 五)."""
    from .analysis import connectivity

    if out is not None:
        _writable_folder(out)
    res = connectivity(workspace, targets=targets, min_population=min_population,
                       max_gap_m=max_gap_m, max_snap_m=max_snap_m)
    c = res.counts()
    click.echo(f"{len(res.villages)} villages 个村庄; population ≥ {res.min_population.value:g}, "
               f"gap limit 缺口上限 {res.max_gap_m.value:g} m"
               f"{'' if res.max_gap_m.verified else ' (placeholder 未核实)'}")
    click.echo("status 状态: " + ", ".join(f"{k} {int(v)}" for k, v in c.items() if v))
    flagged = res.flagged()
    if len(flagged):
        t = pd.DataFrame(flagged[["name", "township", "population", "status", "gap_m",
                                  "unpaved_m", "straight_to_hardened_m"]]).round(0)
        click.echo(_table(t))
    _print_notes(res.notes)
    _analysis_out(res, out, no_map)


@main.command("indicators")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for indicators.csv, indicators_wide.csv, indicators.gpkg, map.html, "
                   "summary.json.")
@click.option("--targets", "-t", default="yining-2025", show_default=True, help=_TARGETS_HELP)
@click.option("--project-roads", type=click.Path(path_type=Path), default=None,
              help="Road lines from the project library, counted in the road-length indicator "
                   "by their status.")
@click.option("--townships", type=click.Path(path_type=Path), default=None,
              help="Township boundaries (polygons with a 'township' field); default: "
                   "approximate areas from the villages.")
@click.option("--no-map", is_flag=True, help="Do not write map.html.")
@_friendly_errors
def indicators_cmd(workspace: Path, out: Path | None, targets: str, project_roads: Path | None,
                   townships: Path | None, no_map: bool) -> None:
    """Plan indicators by township and for the city against the plan's targets (四 五 七 十二)."""
    from .analysis import indicators
    from .io import read_vector

    if out is not None:
        _writable_folder(out)
    tw = read_vector(townships) if townships is not None else None
    res = indicators(workspace, targets=targets, project_roads=project_roads, townships=tw)
    t = res.city()[["indicator_id", "clause", "title_zh", "measure", "unit", "target",
                    "progress_percent", "status"]].copy()
    t["measure"] = t["measure"].round(2)
    t["progress_percent"] = t["progress_percent"].round(1)
    click.echo("city 全市:")
    click.echo(_table(t))
    click.echo(f"\nby township 分乡镇 ({res.townships['method'].iloc[0]}):")
    w = res.wide()
    click.echo(_table(w.round(2)))
    _print_notes(res.notes)
    _analysis_out(res, out, no_map)


@main.command("villages")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--sites", "-s", "sites", multiple=True, type=click.Path(path_type=Path),
              help="A batch of proposed sites (repeatable), e.g. layers/batches/proposed_houses.gpkg.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for villages.csv, villages_by_class.csv, village_sites.csv, "
                   "villages.gpkg, map.html, summary.json.")
@click.option("--village-field", default="village", show_default=True,
              help="Site field naming the village.")
@click.option("--no-map", is_flag=True, help="Do not write map.html.")
@_friendly_errors
def villages_cmd(workspace: Path, sites: tuple[Path, ...], out: Path | None, village_field: str,
                 no_map: bool) -> None:
    """Villages by layout class with population and proposed projects (clause 四).

    Projects in relocate-and-merge (搬迁撤并) villages are highlighted.
    """
    from .analysis import village_classes

    if out is not None:
        _writable_folder(out)
    res = village_classes(workspace, list(sites) or None, village_field=village_field)
    click.echo(_table(res.by_class.drop(columns=["villages"])))
    hl = res.highlighted()
    if len(hl):
        click.echo(f"\nprojects in 搬迁撤并 (relocate-and-merge) villages 位于搬迁撤并村的项目: "
                   f"{len(hl)}")
        click.echo(_table(pd.DataFrame(hl[["batch", "site_id", "village", "township"]])))
    if len(res.sites):
        click.echo(f"\nunassigned sites 未归属项目: {len(res.unassigned())}")
    _print_notes(res.notes)
    _analysis_out(res, out, no_map)

if __name__ == "__main__":  # pragma: no cover
    main()
