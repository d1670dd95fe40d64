"""``geoplan sheets``: an A4 PDF sheet per site (审批表) for the sign-off of a batch.

The command checks SITES as ``geoplan check``, ``map`` and ``report`` do (the
same inputs, :func:`~geoplan.cli.options.batch_options`) and prints the
sheets of the check. It checks again rather than reading a ``check --out``
folder: a sheet draws the constraints around each site and cites the sha256
of every layer, which an output folder does not hold; a check of a batch
takes about a second, and the sheets then always show the data they cite.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .handler import friendly_errors
from .options import batch_options, writable_folder
from .output import print_site_notes

if TYPE_CHECKING:
    from ..core import Subject

__all__ = ["sheets_cmd"]

_VERDICTS = ["fail", "error", "warn", "not_checked", "pass"]


@click.command("sheets")
@batch_options()
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path),
              default=Path("sheets"), show_default=True,
              help="Folder for the PDFs: <site id>.pdf per site, or sheets.pdf with --combined.")
@click.option("--sites", "site_ids", default=None, metavar="ID,…",
              help="Only these site ids, in this order (comma-separated), e.g. "
                   "--sites H0007,H0012.")
@click.option("--verdict", "verdicts", type=click.Choice(_VERDICTS), multiple=True,
              help="Only the sites with this verdict (repeatable), e.g. --verdict fail "
                   "--verdict error. Default: every site.")
@click.option("--combined", is_flag=True,
              help="One PDF, sheets.pdf, with a page group per site in order.")
@click.option("--decisions", "decisions", default=None,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A decisions file (as for geoplan check --decisions): each sheet lists the "
                   "decisions applied to its site and the verdict after them.")
@click.option("--suggest", "suggest_moves", is_flag=True,
              help="For each failing house, the smallest move that makes it pass (as geoplan "
                   "check --suggest): printed on its sheet and drawn on its map.")
@click.option("--suggest-radius-m", type=float, default=200.0, show_default=True,
              help="The farthest a house is moved by --suggest.")
@friendly_errors
def sheets_cmd(sites: Path, workspace: Path, rules: str, subject: Subject | None,
               id_field: str | None, name_field: str | None, village_field: str | None,
               township_field: str | None, layer: str | None, crs: str | None, gcj02: bool,
               footprint_m: float | None, out: Path, site_ids: str | None,
               verdicts: tuple[str, ...], combined: bool, decisions: Path | None,
               suggest_moves: bool = False, suggest_radius_m: float = 200.0) -> None:
    """Check SITES and write an A4 PDF sheet per site (审批表) for sign-off.

    Each sheet: applicant, village, township, site id, coordinates, footprint
    in m² and 亩, a map of the site and the constraints near it, the findings
    with their clauses and measures, the decisions applied, the data sources
    (dates, sha256) and the blocks 村委会意见 / 乡镇审核 / 市级审批 to sign.
    Needs geoplan[sheets] (WeasyPrint) and a font with Chinese characters
    (Debian/Ubuntu: apt-get install fonts-noto-cjk; or GEOPLAN_CJK_FONT=FILE).
    """
    from ..report.sheets import ready
    from ..result import check

    writable_folder(out)
    ready()  # WeasyPrint and a CJK font, before the check
    wanted = [s.strip() for s in site_ids.split(",") if s.strip()] if site_ids else None
    res = check(sites, workspace, rules=rules, subject=subject, id_field=id_field,
                name_field=name_field, village_field=village_field,
                township_field=township_field, footprint_m=footprint_m, crs=crs, gcj02=gcj02,
                layer=layer, progress=sys.stderr.isatty())
    print_site_notes(res.site_notes, False)
    if decisions is not None:
        res.apply_decisions(decisions)
    moves = None
    if suggest_moves:
        from ..analysis import suggest

        if res.subject != "house":
            raise click.UsageError(f"--suggest moves houses; these are {res.subject} sites")
        moves = suggest(res, radius_m=suggest_radius_m, footprint_m=footprint_m)
    written = res.sheets(out, sites=wanted, verdicts=list(verdicts) or None, combined=combined,
                         suggestions=moves)
    if not written:
        click.echo(f"no site to write a sheet for 无选址 ({len(res.verdicts)} sites; "
                   f"--verdict {' '.join(verdicts)})")
        return
    click.echo(f"sheets 审批表: {written[0]}" if combined
               else f"sheets 审批表: {len(written)} PDF{'' if len(written) == 1 else 's'} in {out}")
