"""The result of a check, and its exports.

:func:`check` is the Python entry point: sites + workspace + rule pack →
:class:`Result` with ``.findings`` (one row per site × rule), ``.verdicts``
(one row per input site, input index and attributes kept), ``.evidence``
(overlap geometries) and ``.summary``. :meth:`Result.to_files` writes
``findings.csv``, ``verdicts.csv`` (UTF-8 with BOM, for Excel),
``results.gpkg`` and ``summary.json`` atomically.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ._version import __version__
from .checkdata import CheckData
from .core import STATUSES
from .csvsafe import write_csv
from .engine import Evaluation, evaluate, prepare_sites
from .errors import SiteInputError
from .gpkgsafe import gpkg_safe
from .outputs import move_into_place, staging_folder
from .rules import RulePack, load_pack
from .sites import read_sites
from .workspace import Layer, Workspace, open_workspace

__all__ = ["Result", "check"]


class Result(CheckData):
    """Findings, verdicts and evidence of one check, with provenance.

    Attributes
    ----------
    findings : pandas.DataFrame
        One row per site × rule: ``site_id, rule_id, clause, severity, status,
        measure, unit, threshold, matched, message_zh, message_en``.
    verdicts : geopandas.GeoDataFrame
        One row per input site, in input order with the input index, input
        attributes kept: ``site_id, verdict, n_fail, n_warn, n_error,
        n_not_checked, reasons, reasons_zh, reasons_en, not_checked, notes``.
    evidence : geopandas.GeoDataFrame
        The geometries behind failed and warned findings (overlaps, the part
        of a road on forest land, the part of a house inside a setback), in
        the working CRS, with ``area_m2`` and ``area_mu``.
    summary : dict
        Counts by verdict and rule, rules not checked, each layer's source,
        feature count, CRS and sha256, the pack, geoplan's version, run time.
    pack : RulePack
        The rule pack the sites were checked with.
    workspace : Workspace
        The workspace (constraint layers) they were checked against.
    subject : str
        ``house``, ``road`` or ``project``.

    Views (``counts()``, ``by_rule()``, ``failed()``, ``site()``) come from
    :class:`~geoplan.checkdata.CheckData`; this class adds :meth:`map`,
    :meth:`report` and :meth:`to_files`.
    """

    # ------------------------------------------------------------------ maps and reports

    def map(self, **kwargs: Any) -> Any:
        """An interactive map of the check (a ``folium.Map``; ``.save(path)`` writes it).

        Keyword arguments go to :func:`geoplan.maps.result_map`: ``basemap``
        (``osm``, ``tianditu``, ``tianditu-img``, ``amap``, ``amap-img``,
        ``none``), ``tk`` (Tianditu key), ``offline`` (self-contained, Leaflet
        inlined), ``layers``, ``margin_m``, ``simplify_m``, ``precision``…
        """
        from .maps import result_map

        return result_map(self, **kwargs)

    def report(self, path: str | os.PathLike[str] | None = None, **kwargs: Any) -> str:
        """The bilingual review report as one HTML page; written to ``path`` if given.

        Keyword arguments go to :func:`geoplan.report.result_report`
        (``offline``, ``basemap``, ``tk``, ``detail``, ``max_sections``…).
        """
        from .report import result_report

        return result_report(self, path, **kwargs)

    # ------------------------------------------------------------------ exports

    def to_files(self, out_dir: str | os.PathLike[str], *, map_html: bool = True,
                 report_html: bool = True, offline: bool = False,
                 basemap: str | None = None, tk: str | None = None) -> list[Path]:
        """Write the outputs into ``out_dir``, each file whole or not at all.

        Writes ``findings.csv``, ``verdicts.csv`` (UTF-8 with BOM),
        ``results.gpkg`` (layers ``verdicts``, ``findings``, ``evidence``),
        ``summary.json``, ``map.html`` and ``report.html`` (``offline``,
        ``basemap`` and ``tk`` as for :meth:`map`). Files are first
        written to a temporary folder beside ``out_dir`` and then moved into
        place, so an interrupted run leaves earlier outputs whole.

        Returns
        -------
        list of Path
            The files written.
        """
        with staging_folder(out_dir) as tmp:
            written = self._write_all(tmp, map_html=map_html, report_html=report_html,
                                      map_options={"offline": offline, "basemap": basemap,
                                                   "tk": tk})
            return move_into_place(written, out_dir)

    def _write_all(self, d: Path, *, map_html: bool, report_html: bool = False,
                   map_options: dict[str, Any] | None = None) -> list[Path]:
        files = []
        f = d / "findings.csv"
        write_csv(self.findings, f)  # text cells that a spreadsheet would run are neutralised
        files.append(f)
        f = d / "verdicts.csv"
        v = pd.DataFrame(self.verdicts.drop(columns=self.verdicts.geometry.name))
        v.insert(len(v.columns), "wkt", self.verdicts.geometry.to_wkt())
        write_csv(v, f)
        files.append(f)
        f = d / "results.gpkg"
        self._write_gpkg(f)
        files.append(f)
        if map_html or report_html:
            from .maps import result_map
            from .report import result_report

            m = result_map(self, **(map_options or {}))
            if map_html:
                f = d / "map.html"
                f.write_text(m.get_root().render(), encoding="utf-8")
                files.append(f)
            if report_html:
                f = d / "report.html"
                result_report(self, f, map_obj=m)
                files.append(f)
        f = d / "summary.json"
        f.write_text(json.dumps(self.summary, ensure_ascii=False, indent=2, default=str),
                     encoding="utf-8")
        files.append(f)
        return files

    def _write_gpkg(self, path: Path) -> None:
        write_gpkg_layers(path, self.verdicts, self.findings, self.evidence,
                          crs=self.workspace.crs)


def write_gpkg_layers(path: Path, verdicts: gpd.GeoDataFrame, findings: pd.DataFrame,
                      evidence: gpd.GeoDataFrame, *, crs: Any, append: bool = False) -> None:
    """Write (or append) the layers of ``results.gpkg``: verdicts, findings, evidence.

    Parameters
    ----------
    path
        The GeoPackage.
    verdicts, findings, evidence
        As on :class:`Result` (or one chunk of them).
    crs
        The working CRS; the verdicts are written in it, each finding at a
        representative point of its site.
    append
        Append to the layers (the chunked writer's later chunks); an empty
        evidence chunk is then skipped.
    """
    import pyogrio

    verd = verdicts.to_crs(crs) if verdicts.crs is not None else verdicts
    verd = gpkg_safe(verd)
    pyogrio.write_dataframe(verd, path, layer="verdicts", geometry_type="Unknown",
                            append=append)
    rep = verd.set_index("site_id").geometry.representative_point()
    fnd = gpd.GeoDataFrame(findings.copy(), geometry=rep.reindex(findings["site_id"]).to_numpy(),
                           crs=crs)
    pyogrio.write_dataframe(gpkg_safe(fnd), path, layer="findings", geometry_type="Point",
                            append=append)
    if len(evidence) or not append:
        pyogrio.write_dataframe(gpkg_safe(evidence), path, layer="evidence",
                                geometry_type="Unknown", append=append)


def _interactive() -> bool:
    """Whether a progress bar would be seen: a terminal, or a Jupyter kernel."""
    import sys

    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _layer_provenance(ws: Workspace) -> list[dict[str, Any]]:
    rows = []
    for kind in ws.kinds:
        layer = ws.layers[kind]
        row: dict[str, Any] = {
            "kind": kind,
            "source": layer.source,
            "features": len(layer.gdf) if isinstance(layer, Layer) else None,
            "crs": layer.source_crs.to_string(),
            "sha256": layer.sha256,
        }
        if layer.datum_shift:  # Beijing 1954 / Xian 1980: how it was brought to CGCS2000
            row["datum_shift"] = layer.datum_shift
        if isinstance(layer, Layer):
            row["features_read"] = layer.n_read
            if layer.where_text:
                row["where"] = layer.where_text
                row["features_undecided"] = layer.n_unknown
            if layer.unreadable:
                row["values_not_understood"] = {f: dict(c.most_common())
                                                for f, c in layer.unreadable.items()}
        rows.append(row)
    return rows


def data_warnings(ws: Workspace, kinds: Any = None) -> list[str]:
    """The WARNING notes of the workspace's layers (``kind: note``), for the run summary.

    Values not understood, filters that kept nothing or could not decide features:
    each of them can turn a rule's answer into ``not_checked``, so a run says them first.
    """
    wanted = set(kinds) if kinds is not None else None
    return [f"{kind}: {note.removeprefix('WARNING: ')}" for kind in ws.kinds
            if wanted is None or kind in wanted
            for note in ws.layers[kind].notes if note.startswith("WARNING")]


def build_summary(
    *,
    not_checked: dict[str, str],
    sites: int,
    subject: str,
    verdicts: dict[str, int],
    by_rule: dict[str, dict[str, int]],
    rules: list[Any],
    ws: Workspace,
    pack: RulePack,
    source: str,
    sites_crs: str | None,
    footprint_m: float | None,
    gcj02: bool,
    started: _dt.datetime,
    seconds: float,
) -> dict[str, Any]:
    """The ``summary.json`` content; rules not checked come first."""
    return {
        "rules_not_checked": [{"rule_id": r, "reason": why} for r, why in not_checked.items()],
        "data_warnings": data_warnings(ws, {r.layer for r in rules if r.layer}),
        "sites": int(sites),
        "subject": subject,
        "verdicts": verdicts,
        "by_rule": dict(sorted(by_rule.items())),
        "unverified_rules": [r.id for r in rules if not r.verified],
        "sites_source": source,
        "sites_crs": sites_crs,
        "footprint_m": footprint_m,
        "gcj02_converted": gcj02,
        "workspace": str(ws.path),
        "working_crs": ws.crs.to_string(),
        "layers": _layer_provenance(ws),
        "rule_pack": {"name": pack.name, "version": pack.version, "path": pack.path},
        "geoplan_version": __version__,
        "started_utc": started.isoformat(timespec="seconds"),
        "run_seconds": round(seconds, 3),
    }


def check(
    sites: gpd.GeoDataFrame | str | os.PathLike[str],
    workspace: Workspace | str | os.PathLike[str],
    *,
    rules: RulePack | str | os.PathLike[str] = "yining-2025",
    subject: str | None = None,
    id_field: str | None = None,
    footprint_m: float | None = None,
    crs: str | int | None = None,
    gcj02: bool = False,
    progress: bool | None = None,
) -> Result:
    """Check a batch of sites against a workspace with a rule pack.

    Parameters
    ----------
    sites
        A GeoDataFrame, or a path to a vector file or a CSV of coordinates
        (see :func:`geoplan.read_sites`).
    workspace
        A :class:`Workspace` or a path to open one.
    rules
        A :class:`RulePack`, a built-in pack name or a path to a ``.toml`` pack.
    subject
        ``house``, ``road`` or ``project``; inferred from the geometry when
        omitted (mostly lines → road, else house).
    id_field
        The field holding site ids; default: the first of ``site_id``,
        ``house_id``, ``road_id``, ``id``… with unique values, else the 1-based
        row number.
    footprint_m
        Buffer point sites to a square of this side (a nominal house size).
    crs, gcj02
        For path inputs: the coordinates' CRS, and whether they are GCJ-02.
    progress
        Show a progress bar (tqdm) over the rules. Default: only for large
        batches (20 000 sites or more), and only in a terminal or a notebook.

    Returns
    -------
    Result

    Examples
    --------
    >>> import geoplan
    >>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
    >>> res.counts()                                                       # doctest: +SKIP
    """
    started = _dt.datetime.now(_dt.UTC)
    ws = workspace if isinstance(workspace, Workspace) else open_workspace(workspace)
    pack = rules if isinstance(rules, RulePack) else load_pack(rules)
    if isinstance(sites, (str, os.PathLike)):
        source = str(sites)
        gdf = read_sites(sites, crs=crs, gcj02=gcj02)
    elif isinstance(sites, gpd.GeoDataFrame):
        source = str(sites.attrs.get("source", "(GeoDataFrame)"))
        gdf = sites
        if gcj02:
            from .sites import apply_gcj02

            gdf = apply_gcj02(gdf, source=source)
    else:
        raise SiteInputError(f"sites must be a GeoDataFrame or a path, not {type(sites).__name__}")
    prepared = prepare_sites(gdf, ws, subject=subject, id_field=id_field, footprint_m=footprint_m)
    if progress is None:
        progress = len(gdf) >= 20_000 and _interactive()
    ev: Evaluation = evaluate(prepared, ws, pack, progress=progress)
    counts = ev.verdicts["verdict"].value_counts().reindex(list(STATUSES), fill_value=0)
    by_rule = (ev.findings.groupby(["rule_id", "status"]).size().unstack(fill_value=0)
               .reindex(columns=list(STATUSES), fill_value=0))
    summary = build_summary(
        not_checked=dict(ev.not_checked_rules), sites=len(ev.verdicts),
        subject=prepared.subject, verdicts={k: int(v) for k, v in counts.items()},
        by_rule={rid: {k: int(v) for k, v in row.items()} for rid, row in by_rule.iterrows()},
        rules=ev.rules, ws=ws, pack=pack, source=source,
        sites_crs=gdf.crs.to_string() if gdf.crs is not None else None,
        footprint_m=footprint_m, gcj02=gcj02, started=started, seconds=ev.seconds)
    return Result(findings=ev.findings, verdicts=ev.verdicts, evidence=ev.evidence,
                  summary=summary, pack=pack, workspace=ws, subject=prepared.subject)

