"""Commands that check a batch of sites: ``check``, ``demo``, ``map``, ``report``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .handler import EXIT_FAIL_ON, friendly_errors
from .options import (
    OUT_TARGET,
    analysis_map_options,
    batch_options,
    check_basemap,
    map_options,
    writable_file,
    writable_folder,
)
from .output import print_output_notes, print_result_summary, print_site_notes, print_verdicts

if TYPE_CHECKING:
    from ..core import Status, Subject
    from ..result import Result

__all__ = ["check_cmd", "demo_cmd", "map_cmd", "report_cmd"]


@click.command("check")
@batch_options(crs_help="CRS of the site coordinates (CSV x/y, or a file without one).")
@click.option("--out", "-o", type=OUT_TARGET, default=None,
              help="Folder for findings.csv, verdicts.csv, verdicts.xlsx, results.gpkg, "
                   "summary.json, map.html, report.html; or a PostGIS database, postgresql://user@host/db?schema=geoplan, "
                   "to which the run's verdicts, findings and evidence are appended (one "
                   "transaction; password from ~/.pgpass or PGPASSWORD).")
@click.option("--fail-on", type=click.Choice(["fail", "warn", "none"]), default="none",
              show_default=True, help="Exit 1 when any site reaches this level.")
@click.option("--quiet", "-q", is_flag=True, help="Print only errors.")
@click.option("--engine", "engine", type=click.Choice(["local", "chunked", "dask"]),
              default="local", show_default=True,
              help="local: the whole batch at once in this process; chunked: --chunk-size "
                   "sites at a time (with --out, streamed to the files in bounded memory); "
                   "dask: spatial partitions on a dask cluster (needs geoplan[dask]).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Dask scheduler of an existing cluster (tcp://host:8786); implies "
                   "--engine dask. Default: a local cluster, one worker per core.")
@click.option("--chunk-size", type=click.IntRange(min=1), default=None, metavar="N",
              help="Check N sites at a time (implies --engine chunked unless dask is chosen). "
                   "With --out the outputs are written chunk by chunk in bounded memory (no "
                   "map or report); with dask, the largest partition.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="N processes check blocks of the batch (of each chunk) at the same time "
                   "(Linux). Default: every core for 20 000 houses or 2 000 roads or more, "
                   "else 1; with --chunk-size, 1 (chunks bound memory). The verdicts are "
                   "the same whatever N.")
@click.option("--cache/--no-cache", "cache", default=None,
              help="Keep the prepared workspace (big zones cut into pieces, boundary chunks, "
                   "whether a layer's features overlap) in WORKSPACE/.geoplan-cache (beside a "
                   ".gpkg or .gdb: NAME.geoplan-cache) and read it back on later runs: the "
                   "next check of the same layers starts seconds sooner. Keyed by the layers' "
                   "content, never stale, safe to delete; the verdicts are the same. Default: "
                   "$GEOPLAN_CACHE_DIR if set, else no cache.")
@click.option("--cache-dir", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, metavar="DIR",
              help="Keep the prepared workspace in DIR instead (implies --cache), e.g. when "
                   "the workspace folder is read-only.")
@click.option("--suggest", "suggest_moves", is_flag=True,
              help="For each failing house, the smallest move that makes it pass (within "
                   "--suggest-radius-m, inside village boundaries): suggest_* columns in "
                   "verdicts.csv and the suggestions in OUT/suggestions/.")
@click.option("--suggest-radius-m", type=float, default=200.0, show_default=True,
              help="The farthest a house is moved by --suggest.")
@click.option("--buildable", "buildable_land", is_flag=True,
              help="Also map the buildable land of the villages the batch touches (as geoplan "
                   "buildable): a layer of map.html, a section of report.html, and its files "
                   "in OUT/buildable/.")
@click.option("--decisions", "decisions", type=click.Path(exists=True, dir_okay=False,
                                                          path_type=Path), default=None,
              help="A decisions file (CSV, Excel or TOML: site_id, rule_id, decision exempt / "
                   "conditional, reason, document 文号, approver, date, site_fp, rule_fp): "
                   "applied where the site and the rule are unchanged, reported stale "
                   "otherwise; findings keep their measured status.")
@click.option("--decisions-template", "decisions_template", default=None, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Write FILE: every fail and warn with its site and rule fingerprints and "
                   "empty decision columns to fill in for --decisions.")
@click.option("--no-xlsx", "no_xlsx", is_flag=True,
              help="Do not write verdicts.xlsx (the Excel workbook: a summary sheet, a sheet per "
                   "township, the findings). The chunked engine never writes it.")
@click.option("--findings-index/--no-findings-index", "findings_index", default=None,
              help="Build (or not) the spatial index of results.gpkg's findings layer. "
                   "Default: built up to 5 000 000 findings (about 200 000 sites with the "
                   "default pack); beyond, left out to save time, as the output says.")
@map_options
@friendly_errors
def check_cmd(sites: Path, workspace: Path, rules: str, subject: Subject | None,
              id_field: str | None, name_field: str | None, village_field: str | None,
              township_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
              footprint_m: float | None, out: Path | str | None, fail_on: str, quiet: bool,
              engine: str = "local", scheduler: str | None = None,
              chunk_size: int | None = None, jobs: int | None = None,
              cache: bool | None = None, cache_dir: Path | None = None,
              suggest_moves: bool = False,
              suggest_radius_m: float = 200.0, buildable_land: bool = False,
              decisions: Path | None = None, decisions_template: Path | None = None,
              no_xlsx: bool = False, findings_index: bool | None = None,
              basemap: str | None = None, tk: str | None = None, offline: bool = False,
              attribution: str | None = None) -> None:
    """Check a batch of SITES (vector file or CSV of coordinates) against a workspace.

    Every input row gets a verdict (fail / error / warn / not_checked / pass)
    with measured reasons and the plan clause behind each.
    """
    from ..result import check

    named = {"name_field": name_field, "village_field": village_field,
             "township_field": township_field}
    if isinstance(out, str) or engine != "local" or scheduler or chunk_size is not None:
        _refuse_placement(suggest_moves, buildable_land, decisions is not None
                          or decisions_template is not None)
    if isinstance(out, str):  # a database: can it be written? before the long check
        from ..postgis import probe_target

        probe_target(out)
    elif out is not None:
        writable_folder(out)  # before the long check, not after it
        check_basemap(basemap, offline, tk, attribution)
    if scheduler:
        engine = "dask"
    elif engine == "local" and chunk_size is not None:
        engine = "chunked"
    if jobs is not None and engine == "dask":
        raise click.UsageError("--jobs is for --engine local or chunked, not dask (dask's "
                               "processes are its cluster's workers: --scheduler)")
    kept = _cache_option(cache, cache_dir)
    if isinstance(out, str):
        _check_to_database(sites, workspace, out, fail_on=fail_on, quiet=quiet, engine=engine,
                           chunk_size=chunk_size, scheduler=scheduler,
                           options={"rules": rules, "subject": subject, "id_field": id_field,
                                    "footprint_m": footprint_m, "crs": crs, "gcj02": gcj02,
                                    "layer": layer, "jobs": jobs, "cache": kept, **named})
        return
    streamed = engine == "chunked" and out is not None
    res = check(sites, workspace, rules=rules, subject=subject, id_field=id_field, **named,
                footprint_m=footprint_m, crs=crs, gcj02=gcj02, layer=layer, engine=engine,
                chunk_size=chunk_size, scheduler=scheduler, jobs=jobs,
                out=out if streamed else None, findings_index=findings_index,
                progress=not quiet and sys.stderr.isatty(), cache=kept)
    if streamed:
        if not quiet:
            click.echo(f"{res.summary['sites']} {res.subject} sites 个选址, chunks of "
                       f"{res.summary['chunk_size']}, pack 规则包 {res.pack.name}")
            for r in res.summary["rules_not_checked"]:
                click.echo(f"  NOT CHECKED 未核查 {r['rule_id']}: {r['reason']}")
            print_verdicts(res.counts())
            click.echo(f"outputs 输出: {out}")
            print_output_notes(res.summary)
        _exit_on(fail_on, res.counts())
        return
    res.summary["sites_notes"] = print_site_notes(res.site_notes, quiet)
    _decide(res, decisions, decisions_template)
    moves = _suggestions(res, suggest_radius_m, footprint_m) if suggest_moves else None
    land = _buildable_near(res) if buildable_land else None
    if out is not None:
        res.to_files(out, offline=offline, basemap=basemap, tk=tk, attribution=attribution,
                     suggestions=moves, buildable=land, xlsx=not no_xlsx,
                     findings_index=findings_index)
        opts = analysis_map_options(basemap, tk, offline, attribution)
        if moves is not None:
            moves.to_files(Path(out) / "suggestions", **opts)
        if land is not None:
            land.to_files(Path(out) / "buildable", **opts)
    if not quiet:
        print_result_summary(res, out)
        print_output_notes(res.summary)
        _print_placement(moves, land)
        _print_decisions(res, decisions_template)
    _exit_on(fail_on, res.counts())


def _refuse_placement(suggest_moves: bool, buildable_land: bool, decided: bool) -> None:
    """``--suggest``, ``--buildable`` and decisions need the whole checked batch here."""
    for flag, on, instead in (("--suggest", suggest_moves, "geoplan suggest"),
                              ("--buildable", buildable_land, "geoplan buildable"),
                              ("--decisions", decided, "Result.apply_decisions")):
        if on:
            raise click.UsageError(f"{flag} works with the local engine and a folder --out "
                                   f"(or none); run {instead} on the batch instead")


def _decide(res: Any, decisions: Path | None, template: Path | None) -> None:
    """``--decisions`` applied to the check; ``--decisions-template`` written."""
    if decisions is not None:
        res.apply_decisions(decisions)
    if template is not None:
        res.decisions_template(template)


def _print_decisions(res: Any, template: Path | None) -> None:
    d = res.summary.get("decisions")
    if d:
        c = d["counts"]
        click.echo(f"decisions 审批决定: applied 已采纳 {c['applied']} · stale 已失效 {c['stale']}"
                   f" · not needed 无需 {c['not_needed']} ({d['file']})")
        for r in d["decisions"]:
            if r["state"] != "applied":
                click.echo(f"  {r['state'].upper()} {r['site_id']} {r['rule_id']}: {r['why']}")
        v = res.verdicts
        click.echo("verdicts after decisions 采纳决定后的结论: " + ", ".join(
            f"{k} {n}" for k, n in v["decided_verdict"].value_counts().items()))
    if template is not None:
        click.echo(f"decisions template 审批决定模板: {template}")


def _print_placement(moves: Any, land: Any) -> None:
    if moves is not None:
        click.echo("suggestions 选址建议: " + " · ".join(
            f"{k} {v}" for k, v in moves.table["status"].value_counts().items()))
    if land is not None:
        click.echo(f"buildable land 可建设用地: {len(land.land)} villages 个村庄, "
                   f"{land.land['buildable_m2'].sum():,.0f} m²"
                   + (" — PROVISIONAL 暂定" if land.provisional else ""))


def _buildable_near(res: Any) -> Any:
    """``--buildable``: the buildable land of the villages within 500 m of the batch."""
    from ..analysis import buildable

    if res.subject != "house":
        raise click.UsageError(f"--buildable maps land for houses; these are {res.subject} "
                               "sites")
    land = buildable(res.workspace, res.pack, near=res.verdicts.geometry, near_m=500.0)
    res.summary["buildable"] = {k: land.summary[k] for k in ("villages", "buildable_m2", "plots",
                                                             "provisional", "notes")}
    return land


def _suggestions(res: Any, radius_m: float, footprint_m: float | None) -> Any:
    """``--suggest``: the moves for the failing houses, joined to the verdicts as columns."""
    from ..analysis import suggest

    if res.subject != "house":
        raise click.UsageError(f"--suggest moves houses; these are {res.subject} sites")
    moves = suggest(res, radius_m=radius_m, footprint_m=footprint_m)
    cols = moves.columns()
    joined = res.verdicts.join(cols, on="site_id")
    res.verdicts = joined
    res.summary["suggestions"] = moves.summary.get("counts", {})
    return moves


def _cache_option(cache: bool | None, cache_dir: Path | None) -> bool | Path | None:
    """``--cache`` / ``--no-cache`` / ``--cache-dir`` as :func:`geoplan.check`'s ``cache``."""
    if cache_dir is not None and cache is False:
        raise click.UsageError("--cache-dir keeps the prepared workspace; it cannot go with "
                               "--no-cache (give one of them)")
    return cache_dir if cache_dir is not None else cache


def _check_to_database(sites: Path, workspace: Path, target: str, *, fail_on: str,
                       quiet: bool, engine: str, chunk_size: int | None,
                       scheduler: str | None, options: dict[str, Any]) -> None:
    """``geoplan check … --out postgresql://…``: the run appended to the database."""
    from ..postgis import mask
    from ..result import check

    streamed = engine == "chunked"  # streamed into the run, in one transaction
    res = check(sites, workspace, engine=engine, chunk_size=chunk_size,  # type: ignore[arg-type]
                scheduler=scheduler, out=target if streamed else None,
                progress=not quiet and sys.stderr.isatty(), **options)
    if not streamed:
        res.summary["sites_notes"] = print_site_notes(res.site_notes, quiet)
        res.to_postgis(target)
    if not quiet:
        if streamed:
            click.echo(f"{res.summary['sites']} {res.subject} sites 个选址, chunks of "
                       f"{res.summary['chunk_size']}, pack 规则包 {res.pack.name}")
            for r in res.summary["rules_not_checked"]:
                click.echo(f"  NOT CHECKED 未核查 {r['rule_id']}: {r['reason']}")
            print_verdicts(res.counts())
        else:
            print_result_summary(res, None)
        click.echo(f"run 运行 {res.run_id} written to 已写入 {mask(target)}")
    _exit_on(fail_on, res.counts())


def _exit_on(fail_on: str, counts: Any) -> None:
    """Exit 1 when a site reached the ``--fail-on`` level (``fail``, or ``warn`` and worse)."""
    if fail_on == "fail" and counts.get("fail", 0) > 0:
        sys.exit(EXIT_FAIL_ON)
    if fail_on == "warn" and counts.get("fail", 0) + counts.get("warn", 0) > 0:
        sys.exit(EXIT_FAIL_ON)


@click.command("demo")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("geoplan-demo"), show_default=True,
              help="Folder for the outputs (houses/ and roads/ inside).")
@click.option("--workspace", "-w", type=click.Path(path_type=Path), default=None,
              help="Sample workspace (default: ./layers, built if missing).")
@map_options
@friendly_errors
def demo_cmd(out: Path, workspace: Path | None, basemap: str | None = None,
             tk: str | None = None, offline: bool = False,
             attribution: str | None = None) -> None:
    """Check both sample batches (proposed houses and roads) on the sample workspace."""
    from ..result import check
    from ..workspace import open_workspace

    writable_folder(out)
    check_basemap(basemap, offline, tk, attribution)

    ws_path = workspace or Path("layers")
    if not (ws_path / "batches" / "proposed_houses.gpkg").exists():
        from ..datasets import build_sample_workspace

        click.echo(f"building the sample workspace 生成示例数据 in {ws_path} …")
        build_sample_workspace(ws_path, overwrite=False)
    ws = open_workspace(ws_path)
    click.echo(f"workspace 工作空间 {ws_path}: {len(ws.layers)} layers, working CRS "
               f"EPSG:{ws.crs.to_epsg()}\n")
    batches: tuple[tuple[str, Subject], ...] = (("proposed_houses", "house"),
                                                ("proposed_roads", "road"))
    for name, subject in batches:
        res = check(ws_path / "batches" / f"{name}.gpkg", ws, subject=subject)
        target = out / ("houses" if subject == "house" else "roads")
        res.to_files(target, offline=offline, basemap=basemap, tk=tk, attribution=attribution)
        click.echo(f"== {name} ==")
        print_result_summary(res, target)
        click.echo("")


def _run_batch(sites: Path, workspace: Path, rules: str, subject: Subject | None,
               id_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
               footprint_m: float | None, named: dict[str, str | None]) -> Result:
    """Check SITES (``geoplan map`` and ``geoplan report``): the Result.

    ``named``: ``name_field``, ``village_field``, ``township_field``.
    """
    from ..result import check

    res = check(sites, workspace, rules=rules, subject=subject, id_field=id_field, **named,
                footprint_m=footprint_m, crs=crs, gcj02=gcj02, layer=layer,
                progress=sys.stderr.isatty())
    res.summary["sites_notes"] = print_site_notes(res.site_notes, False)
    return res


@click.command("map")
@batch_options()
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("map.html"), show_default=True, help="The HTML map to write.")
@map_options
@friendly_errors
def map_cmd(sites: Path, workspace: Path, rules: str, subject: Subject | None,
            id_field: str | None, name_field: str | None, village_field: str | None,
            township_field: str | None,
            layer: str | None, crs: str | None, gcj02: bool, footprint_m: float | None,
            out: Path, basemap: str | None, tk: str | None, offline: bool,
            attribution: str | None = None) -> None:
    """Check SITES and write an interactive map of the verdicts (one HTML file).

    Constraint layers by group (zh/en), sites coloured by verdict with counts,
    a popup per site with each failed or warned rule, the evidence on top.
    """
    from ..maps import result_map

    writable_file(out)
    check_basemap(basemap, offline, tk, attribution)
    res = _run_batch(sites, workspace, rules, subject, id_field, layer, crs, gcj02, footprint_m,
                     {"name_field": name_field, "village_field": village_field,
                      "township_field": township_field})
    m = result_map(res, basemap=basemap, tk=tk, offline=offline, attribution=attribution)
    out.write_text(m.get_root().render(), encoding="utf-8")
    counts = ", ".join(f"{k} {v}" for k, v in res.counts().items())
    click.echo(f"map 地图: {out} ({len(res.verdicts)} sites 个选址: {counts})")


@click.command("report")
@batch_options()
@click.option("--out", "-o", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("report.html"), show_default=True, help="The HTML report to write.")
@click.option("--detail", type=click.Choice(["fail", "warn", "error", "not_checked"]),
              multiple=True, help="Verdicts that get a section per site (default: fail; "
                                  "repeatable).")
@map_options
@friendly_errors
def report_cmd(sites: Path, workspace: Path, rules: str, subject: Subject | None,
               id_field: str | None, name_field: str | None, village_field: str | None,
               township_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
               footprint_m: float | None, out: Path, detail: tuple[Status, ...],
               basemap: str | None, tk: str | None, offline: bool,
               attribution: str | None = None) -> None:
    """Check SITES and write the bilingual review report (report.html).

    Verdict counts, a table by rule and by township/village, the map, and a
    section per failing site with its findings and a small map.
    """
    from ..report import result_report

    writable_file(out)
    check_basemap(basemap, offline, tk, attribution)
    res = _run_batch(sites, workspace, rules, subject, id_field, layer, crs, gcj02, footprint_m,
                     {"name_field": name_field, "village_field": village_field,
                      "township_field": township_field})
    result_report(res, out, basemap=basemap, tk=tk, offline=offline, attribution=attribution,
                  detail=list(detail) or ["fail"])
    counts = ", ".join(f"{k} {v}" for k, v in res.counts().items())
    click.echo(f"report 报告: {out} ({len(res.verdicts)} sites 个选址: {counts})")
