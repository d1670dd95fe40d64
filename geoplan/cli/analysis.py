"""Planning analyses of a workspace: ``coverage``, ``connectivity``, ``indicators``, ``villages``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

from .handler import friendly_errors
from .options import check_basemap, map_options, writable_folder
from .output import table

__all__ = ["connectivity_cmd", "coverage_cmd", "indicators_cmd", "villages_cmd"]

_TARGETS_HELP = "Built-in targets name or path to a targets .toml (service distances, targets)."


def _notes_and_files(res: Any, out: Path | None, no_map: bool,
                     maps: dict[str, Any]) -> None:
    """Print the notes of an analysis, then write its files to ``--out`` if given."""
    for n in res.notes:
        click.echo(f"note 说明: {n}")
    if out is not None:
        res.to_files(out, map_html=not no_map, **maps)
        click.echo(f"outputs 输出: {out}")


@click.command("coverage")
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
@map_options
@friendly_errors
def coverage_cmd(workspace: Path, out: Path | None, targets: str, kinds: tuple[str, ...],
                 distances: tuple[str, ...], max_snap_m: float | None, no_map: bool, **maps: Any) -> None:
    """Service coverage of villages by facility kind, straight-line and along roads.

    For each facility kind: the villages and share of the population within
    its service distance, and the villages with none (clauses 八–十三).
    """
    from ..analysis import coverage

    if out is not None:
        writable_folder(out)
        if not no_map:
            check_basemap(**maps, gcj02=False)
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
    click.echo(table(t))
    for r in res.by_kind.itertuples():
        if r.villages_none_network:
            click.echo(f"no {r.kind} within {r.distance_m:g} m along roads 路网服务距离内无"
                       f"{r.label_zh}: {', '.join(r.villages_none_network)}")
    _notes_and_files(res, out, no_map, maps)


@click.command("connectivity")
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
@map_options
@friendly_errors
def connectivity_cmd(workspace: Path, out: Path | None, targets: str,
                     min_population: float | None, max_gap_m: float | None,
                     max_snap_m: float | None, no_map: bool, **maps: Any) -> None:
    """Villages above a population threshold with no hardened-road connection (clause 五)."""
    from ..analysis import connectivity

    if out is not None:
        writable_folder(out)
        if not no_map:
            check_basemap(**maps, gcj02=False)
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
        click.echo(table(t))
    _notes_and_files(res, out, no_map, maps)


@click.command("indicators")
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
@map_options
@friendly_errors
def indicators_cmd(workspace: Path, out: Path | None, targets: str, project_roads: Path | None,
                   townships: Path | None, no_map: bool, **maps: Any) -> None:
    """Plan indicators by township and for the city against the plan's targets (四 五 七 十二)."""
    from ..analysis import indicators
    from ..io import read_vector

    if out is not None:
        writable_folder(out)
        if not no_map:
            check_basemap(**maps, gcj02=False)
    tw = read_vector(townships) if townships is not None else None
    res = indicators(workspace, targets=targets, project_roads=project_roads, townships=tw)
    t = res.city()[["indicator_id", "clause", "title_zh", "measure", "unit", "target",
                    "progress_percent", "status"]].copy()
    t["measure"] = t["measure"].round(2)
    t["progress_percent"] = t["progress_percent"].round(1)
    click.echo("city 全市:")
    click.echo(table(t))
    click.echo(f"\nby township 分乡镇 ({res.townships['method'].iloc[0]}):")
    w = res.wide()
    click.echo(table(w.round(2).reset_index()))
    _notes_and_files(res, out, no_map, maps)


@click.command("villages")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--sites", "-s", "sites", multiple=True, type=click.Path(path_type=Path),
              help="A batch of proposed sites (repeatable), e.g. layers/batches/proposed_houses.gpkg.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for villages.csv, villages_by_class.csv, village_sites.csv, "
                   "villages.gpkg, map.html, summary.json.")
@click.option("--village-field", default="village", show_default=True,
              help="Site field naming the village.")
@click.option("--no-map", is_flag=True, help="Do not write map.html.")
@map_options
@friendly_errors
def villages_cmd(workspace: Path, sites: tuple[Path, ...], out: Path | None, village_field: str,
                 no_map: bool, **maps: Any) -> None:
    """Villages by layout class with population and proposed projects (clause 四).

    Projects in relocate-and-merge (搬迁撤并) villages are highlighted.
    """
    from ..analysis import village_classes

    if out is not None:
        writable_folder(out)
        if not no_map:
            check_basemap(**maps, gcj02=False)
    res = village_classes(workspace, list(sites) or None, village_field=village_field)
    click.echo(table(res.by_class.drop(columns=["villages"])))
    hl = res.highlighted()
    if len(hl):
        click.echo(f"\nprojects in 搬迁撤并 (relocate-and-merge) villages 位于搬迁撤并村的项目: "
                   f"{len(hl)}")
        click.echo(table(pd.DataFrame(hl[["batch", "site_id", "village", "township"]])))
    if len(res.sites):
        click.echo(f"\nunassigned sites 未归属项目: {len(res.unassigned())}")
    _notes_and_files(res, out, no_map, maps)
