"""Where a house can go: ``buildable`` (land per village) and ``suggest`` (moves for failing houses)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pandas as pd

from ..core import Subject
from .handler import friendly_errors
from .options import batch_options, check_basemap, map_options, writable_folder
from .output import table

__all__ = ["buildable_cmd", "suggest_cmd"]


def _plot(value: str) -> tuple[float, float]:
    try:
        w, d = (float(v) for v in value.lower().replace("×", "x").split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: write the plot as WIDTHxDEPTH in metres, e.g. "
                                 "12x15") from None
    if not (w > 0 and d > 0):
        raise click.BadParameter(f"{value!r}: both sizes must be positive")
    return w, d


@click.command("buildable")
@click.argument("workspace", type=click.Path(path_type=Path))
@click.option("--rules", "-r", default="yining-2025", show_default=True,
              help="Built-in pack name or path to a .toml rule pack.")
@click.option("--village", "villages", multiple=True, metavar="NAME",
              help="Only this village (repeatable; default: every village).")
@click.option("--radius-m", type=float, default=None,
              help="Map the land within this distance of each settlement (village points) "
                   "instead of the village construction boundaries.")
@click.option("--plot", default="12x15", show_default=True, metavar="WxD",
              help="Homestead plot width x depth in metres (an example size: set the "
                   "county's standard).")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for buildable.csv, buildable_rules.csv, buildable.gpkg, map.html, "
                   "summary.json.")
@click.option("--no-map", is_flag=True, help="Do not write map.html.")
@map_options
@friendly_errors
def buildable_cmd(workspace: Path, rules: str, villages: tuple[str, ...], radius_m: float | None,
                  plot: str, out: Path | None, no_map: bool, **maps: Any) -> None:
    """Buildable land per village: its land minus what every fail-level rule excludes.

    Land where a house would only get a warning is shown apart; land a rule
    cannot tell about (a missing value, DEM nodata) is left out. When a
    rule's layer is missing the land is marked PROVISIONAL (暂定).
    """
    from ..analysis import buildable

    size = _plot(plot)
    if out is not None:
        writable_folder(out)
        if not no_map:
            check_basemap(**maps, gcj02=False)
    res = buildable(workspace, rules, villages=list(villages) or None, radius_m=radius_m,
                    plot_m=size)
    cols = ["village", "township", "area_m2", "buildable_m2", "buildable_mu", "warn_m2",
            "unknown_m2", "plots", "plots_max", "provisional"]
    click.echo(table(pd.DataFrame(res.land[cols]).round(
        {"area_m2": 0, "buildable_m2": 0, "buildable_mu": 2, "warn_m2": 0, "unknown_m2": 0})))
    _end(res, out, no_map, maps)


@click.command("suggest")
@batch_options(crs_help="CRS of the site coordinates (CSV x/y, or a file without one).")
@click.option("--radius-m", type=float, default=200.0, show_default=True,
              help="The farthest a house is moved.")
@click.option("--rotate", is_flag=True, help="Also try the footprint turned in 15° steps.")
@click.option("--anywhere", is_flag=True,
              help="Allow moves outside the village construction boundaries.")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for suggestions.csv, suggestions.gpkg, map.html, summary.json.")
@click.option("--no-map", is_flag=True, help="Do not write map.html.")
@map_options
@friendly_errors
def suggest_cmd(sites: Path, workspace: Path, rules: str, subject: Subject | None,
                id_field: str | None, name_field: str | None, village_field: str | None,
                township_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
                footprint_m: float | None, radius_m: float, rotate: bool, anywhere: bool,
                out: Path | None, no_map: bool, **maps: Any) -> None:
    """For each failing house of SITES, the smallest move that makes it pass every fail rule.

    Each suggestion is checked again by the engine; the table gives the
    distance and direction, the rules it now satisfies and the warnings left.
    """
    from ..analysis import suggest
    from ..result import check

    if out is not None:
        writable_folder(out)
        if not no_map:
            check_basemap(**maps, gcj02=False)
    res = check(sites, workspace, rules=rules, subject=subject or "house", id_field=id_field,
                name_field=name_field, village_field=village_field,
                township_field=township_field, footprint_m=footprint_m, crs=crs, gcj02=gcj02,
                layer=layer)
    s = suggest(res, radius_m=radius_m, footprint_m=footprint_m, rotate=rotate,
                within_village=not anywhere)
    click.echo(table(s.table[["site_id", "status", "distance_m", "direction_zh",
                              "direction_en", "rotation_deg", "still_warn", "recheck"]]))
    click.echo(" · ".join(f"{k} {v}" for k, v in s.table["status"].value_counts().items()))
    _end(s, out, no_map, maps)


def _end(res: object, out: Path | None, no_map: bool, maps: dict[str, Any]) -> None:
    for n in getattr(res, "notes", []):
        click.echo(f"note 说明: {n}")
    if out is not None:
        res.to_files(out, map_html=not no_map, **maps)  # type: ignore[attr-defined]
        click.echo(f"outputs 输出: {out}")
