"""The front door of a check, and its result.

:func:`check` is the one entry point: sites + workspace + rule pack →
:class:`Result` with ``.findings`` (one row per site × rule), ``.verdicts``
(one row per input site, input index and attributes kept), ``.evidence``
(overlap geometries) and ``.summary``. It reads and decides everything about
the inputs once (:func:`geoplan.runners.read_batch`) and hands them to the
runner ``engine=`` names — the whole batch at once, chunk by chunk (streamed
to files in bounded memory with ``out=``), or on a dask cluster; see
:mod:`geoplan.runners`. :meth:`Result.to_files` writes ``findings.csv``,
``verdicts.csv`` (UTF-8 with BOM, for Excel), ``results.gpkg``,
``summary.json``, the map and the report atomically.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .checkdata import CheckData
from .core import STATUSES, Subject
from .crs import CRSLike
from .csvsafe import write_csv
from .display import SiteFindings, VerdictCounts
from .engine import prepare_rules
from .errors import GeoplanError
from .outputs import WrittenFiles, move_into_place, output_folder, staging_folder
from .postgis import is_database_url
from .runners import EngineName, Runner, RunPlan, read_batch, runner_for
from .runners.files import (
    DatabaseWriter,
    unindexed_note,
    verdict_table,
    write_gpkg_layers,
    write_summary,
)
from .runners.inputs import CheckOptions, RulesLike, SitesLike, WorkspaceLike

# the provenance rows moved to geoplan.runners.summary; this name stays importable from here
from .runners.summary import layer_provenance as _layer_provenance  # noqa: F401

if TYPE_CHECKING:
    from collections.abc import Sequence

    import folium
    from distributed import Client

    from .diff import RunDiff

__all__ = ["CheckOptions", "Result", "check"]


@dataclass(repr=False, eq=False)
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
    subject : {'house', 'road', 'project'}
        What the sites were checked as (:data:`geoplan.core.Subject`).
    files : tuple of Path
        The files written by ``check(..., out=…)`` (empty without ``out``).
    streamed : bool
        True when the tables were streamed to :attr:`files` and not kept
        (``engine="chunked"`` with ``out=``): ``findings``, ``verdicts`` and
        ``evidence`` then have their columns but no rows; :meth:`counts`
        and :meth:`by_rule` still answer, from the summary; the views that
        need the rows (:meth:`failed`, :meth:`site`, :meth:`map`,
        :meth:`report`, :meth:`to_files`) raise :class:`~geoplan.GeoplanError`.
    site_notes : tuple of str
        What reading the sites decided (the sheet read, the X/Y order, the
        coordinate systems found; not for sites streamed from a file), then
        which columns were taken as the id, applicant, village and township
        (``村名 → village``), any column left out as a second candidate, and
        the roles no column was found for.
    run_id : str or None
        The run written to a PostGIS database by ``check(..., out="postgresql://…")``
        or :meth:`to_postgis` (the last one), else None.

    Views (``counts()``, ``by_rule()``, ``failed()``, ``site()``) come from
    :class:`~geoplan.checkdata.CheckData`; this class adds :meth:`map`,
    :meth:`report` and :meth:`to_files`.
    """

    files: tuple[Path, ...] = ()
    streamed: bool = False
    site_notes: tuple[str, ...] = ()
    run_id: str | None = None

    # ------------------------------------------------------------------ streamed results

    def _need_rows(self, what: str) -> None:
        if self.streamed:
            where = ", ".join(str(p) for p in self.files) or "the output folder"
            raise GeoplanError(
                f"{what} needs the rows of the check, which were streamed to files and not "
                f"kept (engine='chunked' with out=): read them from {where}, or run "
                "geoplan.check without out= to keep them")

    def counts(self) -> VerdictCounts:
        """Sites per verdict, in severity order (from the summary when the rows were streamed).

        Returns
        -------
        VerdictCounts
            A :class:`pandas.Series` indexed by verdict (shown as status chips in Jupyter).
        """
        if not self.streamed:
            return super().counts()
        got = self.summary["verdicts"]
        return VerdictCounts([int(got.get(k, 0)) for k in STATUSES], index=pd.Index(
            list(STATUSES), name="verdict"), name="count")

    def status_table(self) -> pd.DataFrame:
        """Findings per rule (rows) and status (columns); from the summary when streamed.

        Returns
        -------
        pandas.DataFrame
        """
        if not self.streamed:
            return super().status_table()
        table = pd.DataFrame.from_dict(self.summary["by_rule"], orient="index")
        return table.reindex(columns=list(STATUSES), fill_value=0).rename_axis("rule_id")

    def failed(self) -> gpd.GeoDataFrame:
        """:meth:`CheckData.failed <geoplan.checkdata.CheckData.failed>`; needs the rows."""
        self._need_rows("failed()")
        return super().failed()

    def site(self, site_id: object) -> SiteFindings:
        """:meth:`CheckData.site <geoplan.checkdata.CheckData.site>`; needs the rows.

        Returns
        -------
        SiteFindings
            The site's findings, worst first: a ``DataFrame`` with a readable display.
        """
        self._need_rows("site()")
        return super().site(site_id)

    # ------------------------------------------------------------------ maps and reports

    def map(self, *, buildable: Any = None, suggestions: Any = None,
            **kwargs: Any) -> folium.Map:
        """An interactive map of the check (a ``folium.Map``; ``.save(path)`` writes it).

        Parameters
        ----------
        buildable
            A :func:`geoplan.buildable` result: the villages' buildable land,
            land with a warning and land that cannot be told are drawn as
            layers of their own.
        suggestions
            A :func:`geoplan.suggest` result of this check: each suggested
            footprint and an arrow from the failing site, and the suggestion
            in the site's popup.
        **kwargs
            Passed to :func:`geoplan.maps.result_map`: ``basemap`` (``osm``,
            ``tianditu``, ``tianditu-img``, ``amap``, ``amap-img``, ``none``,
            or a tile URL template ``https://…/{z}/{x}/{y}.png`` credited with
            ``attribution``), ``tk`` (Tianditu key), ``offline`` (no basemap
            by default: no request at all; Leaflet is inlined in every map),
            ``layers``, ``margin_m``, ``simplify_m``, ``precision``…

        Examples
        --------
        >>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
        >>> res.map(suggestions=geoplan.suggest(res), offline=True)             # doctest: +SKIP
        """
        from .maps import result_map
        from .maps.overlay import as_additions

        self._need_rows("map()")
        return result_map(self, additions=as_additions(buildable, suggestions), **kwargs)

    def report(self, path: str | os.PathLike[str] | None = None, *, buildable: Any = None,
               suggestions: Any = None, **kwargs: Any) -> str:
        """The bilingual review report as one HTML page; written to ``path`` if given.

        ``buildable`` and ``suggestions`` (as for :meth:`map`) add a section
        each — the buildable land per village; the suggested moves — their
        layers on the map, and each failing site's suggestion to its section.
        Other keyword arguments go to :func:`geoplan.report.result_report`
        (``offline``, ``basemap``, ``tk``, ``detail``, ``max_sections``…).
        """
        from .maps.overlay import as_additions
        from .report import result_report

        self._need_rows("report()")
        return result_report(self, path, additions=as_additions(buildable, suggestions),
                             **kwargs)

    def sheets(self, out_dir: str | os.PathLike[str], *, sites: Sequence[object] | None = None,
               combined: bool = False, verdicts: Sequence[str] | None = None,
               context_m: float = 80.0, suggestions: Any = None) -> list[Path]:
        """Write an A4 PDF sheet per site (审批表), or one combined PDF, into ``out_dir``.

        Each sheet: applicant, village, township, site id, coordinates (working
        CRS and CGCS2000 lon/lat), footprint in m² and 亩, a map of the site and
        the constraints near it, the findings with clauses and measures, the
        decisions applied, the data sources (dates, sha256), the pack, the
        check's time and the signature blocks 村委会意见 / 乡镇审核 / 市级审批.
        Needs ``geoplan[sheets]`` (WeasyPrint) and a font with Chinese
        characters (``fonts-noto-cjk``, or ``GEOPLAN_CJK_FONT``); see
        :mod:`geoplan.report.sheets`.

        Parameters
        ----------
        out_dir
            The folder: ``<site id>.pdf`` per site, or ``sheets.pdf`` with ``combined``.
        sites
            Site ids, in the order wanted (default: every site, in input order).
        combined
            One PDF with a page group per site, in order.
        verdicts
            Only the sites with these verdicts (e.g. ``["fail", "error"]``).
        context_m
            The least half-width of each site's map, in metres.
        suggestions
            A :func:`geoplan.suggest` result of this check: each failing site's
            sheet says where it could go and draws the suggested footprint and
            the move on its map.

        Returns
        -------
        list of Path
            The PDFs written.
        """
        from .maps.overlay import as_additions
        from .report.sheets import write_sheets

        self._need_rows("sheets()")
        return write_sheets(self, out_dir, sites=sites, verdicts=verdicts, combined=combined,
                            context_m=context_m, additions=as_additions(suggestions))

    # ------------------------------------------------------------------ exports

    def to_files(self, out_dir: str | os.PathLike[str], *, map_html: bool = True,
                 report_html: bool = True, offline: bool = False,
                 basemap: str | None = None, tk: str | None = None,
                 attribution: str | None = None,
                 gpkg: bool = True, buildable: Any = None,
                 suggestions: Any = None, xlsx: bool = True,
                 findings_index: bool | None = None) -> WrittenFiles:
        """Write the outputs into ``out_dir``, each file whole or not at all.

        Writes ``findings.csv``, ``verdicts.csv`` (UTF-8 with BOM),
        ``verdicts.xlsx`` (a summary sheet, a sheet per township, the findings:
        :mod:`geoplan.excel`; ``xlsx=False`` skips it), ``results.gpkg``
        (layers ``verdicts``, ``findings``, ``evidence``; ``gpkg=False`` skips
        it; the ``findings`` layer is spatially indexed up to
        :data:`~geoplan.runners.files.FINDINGS_INDEX_MAX_ROWS` rows, or as
        ``findings_index`` says, and ``summary["output_notes"]`` says when
        not), ``summary.json``, ``map.html`` and ``report.html`` (``offline``, ``basemap``, ``tk``, ``attribution`` as for
        :meth:`map`; ``buildable`` and ``suggestions`` drawn on the map and
        reported as for :meth:`map` and :meth:`report`; their own files are
        written by their ``to_files``). Files are first written to a temporary folder beside
        ``out_dir`` and then moved into place, so an interrupted run leaves
        earlier outputs whole.

        Returns
        -------
        WrittenFiles
            The files written: a list of paths, shown in Jupyter as links to
            open them (write under the notebook's folder, e.g.
            ``notebooks/output/``, for the links to open from JupyterLab).
        """
        from .maps.overlay import as_additions

        self._need_rows("to_files()")
        additions = as_additions(buildable, suggestions)
        with staging_folder(out_dir) as tmp:
            written = self._write_all(tmp, map_html=map_html, report_html=report_html,
                                      map_options={"offline": offline, "basemap": basemap,
                                                   "tk": tk, "attribution": attribution,
                                                   "additions": additions},
                                      gpkg=gpkg, xlsx=xlsx, findings_index=findings_index)
            return move_into_place(written, out_dir)

    def diff(self, other: Any) -> RunDiff:
        """What changed from this check (old) to ``other`` (new): see :mod:`geoplan.diff`.

        Sites are matched by ``site_id``; findings by site and rule, compared on
        status and measure (within 1e-6 relative; NaN equals NaN).

        Parameters
        ----------
        other
            The newer check: a :class:`Result` or the ``--out`` folder of one.

        Returns
        -------
        RunDiff
            ``.table`` (one row per change, old and new status, measure and
            message), ``.to_files(dir)`` (``diff.csv``, ``diff.html``), shown as a
            table in a notebook.

        Raises
        ------
        SiteInputError
            A site id appears twice in one of the runs (the message names the fix).

        Examples
        --------
        >>> old = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
        >>> new = geoplan.check("layers/batches/proposed_houses.gpkg", "layers",
        ...                     rules="county.toml")                               # doctest: +SKIP
        >>> old.diff(new).table                                                    # doctest: +SKIP
        """
        from .diff import diff_runs

        self._need_rows("diff()")
        return diff_runs(self, other)

    def apply_decisions(self, path: str | os.PathLike[str]) -> Result:
        """Apply a decisions file (exemptions, conditional approvals) to this check.

        Each decision binds to the site's geometry and the rule's figures
        (fingerprints written by :meth:`decisions_template`): one whose site has
        moved or whose rule has changed is reported ``stale`` and not applied.
        Findings keep their measured status and gain ``decision``; verdicts gain
        ``decided_verdict`` and ``decisions``; ``summary["decisions"]`` lists the
        file's sha256 and every decision with its state. See
        :mod:`geoplan.decisions`.

        Parameters
        ----------
        path
            A CSV (UTF-8 or GBK), Excel or TOML decisions file.

        Returns
        -------
        Result
            This result, annotated (also returned, for chaining).

        Raises
        ------
        DecisionsError
            The file cannot be read as decisions (row and field named).
        """
        from .decisions import apply_decisions, read_decisions

        self._need_rows("apply_decisions()")
        self.summary["decisions"] = apply_decisions(self, read_decisions(path))
        return self

    def decisions_template(self, path: str | os.PathLike[str]) -> Path:
        """Write a decisions file to fill in: each fail and warn with its fingerprints.

        Fill ``decision`` (exempt / conditional), ``reason``, ``document`` (文号),
        ``approver`` and ``date`` on the rows decided, leave the others empty,
        and pass the file to the next check (``--decisions``).
        """
        from .decisions import decisions_template

        self._need_rows("decisions_template()")
        return decisions_template(self, path)

    def to_postgis(self, target: str) -> str:
        """Append this check as a new run to a PostGIS database, in one transaction.

        Writes the rows of ``results.gpkg`` (verdicts, findings, evidence) and the
        summary (the pack, its version, each layer's provenance) into the tables of
        :mod:`geoplan.postgis.runs`, created on first use; an older run is never
        changed. Nothing of the run remains if writing fails half way.

        Parameters
        ----------
        target
            ``postgresql://user@host:port/dbname?schema=geoplan`` (default schema
            ``geoplan``); the password from ``~/.pgpass`` or ``PGPASSWORD``.

        Returns
        -------
        str
            The new run's id (``geoplan runs URL`` lists the runs).

        Raises
        ------
        DatabaseError
            The database cannot be reached or written (the message names it, password
            masked, and the fix).
        """
        self._need_rows("to_postgis()")
        with DatabaseWriter(target, crs=self.workspace.crs) as writer:
            writer.add(self.findings, self.verdicts, self.evidence)
            self.run_id = writer.finish(self.summary)
        return self.run_id

    def _write_all(self, d: Path, *, map_html: bool, report_html: bool = False,
                   map_options: dict[str, Any] | None = None, gpkg: bool = True,
                   xlsx: bool = False, findings_index: bool | None = None) -> list[Path]:
        files = [d / "findings.csv", d / "verdicts.csv"]
        write_csv(self.findings, files[0])  # text cells a spreadsheet would run are neutralised
        table = verdict_table(self.verdicts)
        write_csv(table, files[1])
        if xlsx:
            from .excel import write_verdicts_xlsx

            files.append(d / "verdicts.xlsx")  # text written as text, never as formulas
            write_verdicts_xlsx(files[-1], table, self.findings, self.summary,
                                rules=self.by_rule())
        if gpkg:
            files.append(d / "results.gpkg")
            self._write_gpkg(files[-1], findings_index=findings_index)
        if map_html or report_html:
            from .maps import result_map
            from .report import result_report

            m = result_map(self, **(map_options or {}))
            if map_html:
                files.append(d / "map.html")
                files[-1].write_text(m.get_root().render(), encoding="utf-8")
            if report_html:
                files.append(d / "report.html")
                result_report(self, files[-1], map_obj=m,
                              additions=(map_options or {}).get("additions", ()))
        if self.summary.get("decisions"):
            files.append(d / "decisions_applied.csv")
            write_csv(pd.DataFrame(self.summary["decisions"]["decisions"]), files[-1])
        files.append(d / "summary.json")
        write_summary(files[-1], self.summary)
        return files

    def _write_gpkg(self, path: Path, *, findings_index: bool | None = None) -> None:
        write_gpkg_layers(path, self.verdicts, self.findings, self.evidence,
                          crs=self.workspace.crs, findings_index=findings_index)
        notes = [n for n in self.summary.get("output_notes", []) if n.get("file") != path.name]
        note = unindexed_note(path, len(self.findings), asked=findings_index)
        if note is not None:
            notes.append(note)
        if notes:
            self.summary["output_notes"] = notes
        else:
            self.summary.pop("output_notes", None)


def check(
    sites: SitesLike,
    workspace: WorkspaceLike,
    *,
    rules: RulesLike = "yining-2025",
    subject: Subject | None = None,
    id_field: str | None = None,
    name_field: str | None = None,
    village_field: str | None = None,
    township_field: str | None = None,
    footprint_m: float | None = None,
    crs: CRSLike | None = None,
    gcj02: bool = False,
    layer: str | None = None,
    sheet: str | int | None = None,
    engine: EngineName | Runner = "local",
    chunk_size: int | None = None,
    scheduler: str | Client | None = None,
    jobs: int | None = None,
    out: str | os.PathLike[str] | None = None,
    gpkg: bool = True,
    findings_index: bool | None = None,
    progress: bool | None = None,
    cache: bool | str | os.PathLike[str] | None = None,
) -> Result:
    """Check a batch of sites against a workspace with a rule pack.

    The one entry point of a check, whatever runs it: the inputs are read and
    decided once — the sites read, their CRS, per-row coordinate systems and
    GCJ-02 handled, the id field and the subject decided on the whole batch —
    and then evaluated by the runner ``engine`` names. Every engine gives the
    same findings and verdicts.

    Parameters
    ----------
    sites
        A GeoDataFrame, or a path to a vector file, a CSV of coordinates or an
        Excel workbook (see :func:`geoplan.read_sites`).
    workspace
        A :class:`Workspace` or a path to open one.
    rules
        A :class:`RulePack`, a built-in pack name or a path to a ``.toml`` pack.
    subject
        ``house``, ``road`` or ``project``; inferred when omitted from the
        geometries of the whole batch, before any repair: ``road`` when more
        than half of the sites with a geometry are lines, else ``house``.
    id_field
        The field holding site ids; default: the first of ``site_id``,
        ``house_id``, ``road_id``, ``id``, ``宗地编号``, ``编号``, ``序号``…
        filled and unique over the whole batch, else the 1-based row number.
    name_field, village_field, township_field
        The fields holding the applicant, the village and the township;
        default: found by name (``户主姓名``/``户主``/``申请人``/``姓名``/``name``…,
        ``村名``/``村庄``/``行政村``/``村``/``village``…, ``乡镇``/``乡``/``镇``/
        ``街道``/``township``…; see :func:`geoplan.sites.decide_identity`).
        They are copied into the columns ``applicant``, ``village`` and
        ``township`` of the verdicts, map, report and files; ``village`` joins
        a site to its village by name (:func:`geoplan.sites.place_key`).
        :attr:`Result.site_notes` says which column was taken for what.
    footprint_m
        Buffer point sites to a square of this side (a nominal house size).
    crs, gcj02
        For path inputs: the coordinates' CRS (when the file declares none);
        whether every coordinate is GCJ-02 (also applied to a GeoDataFrame).
    layer, sheet
        For path inputs: the layer of a multi-layer file, the sheet of a workbook.
    engine
        ``"local"`` (the whole batch at once, the default), ``"chunked"``
        (``chunk_size`` sites at a time; a GeoParquet, GeoPackage or
        FlatGeobuf file is read chunk by chunk) or ``"dask"`` (spatial
        partitions on a dask cluster; needs ``geoplan[dask]``), or a
        :class:`~geoplan.runners.Runner`, e.g.
        ``DaskRunner(client=client, npartitions=8)``.
    chunk_size
        ``"chunked"``: sites per chunk (default 50 000); ``"dask"``: the
        largest partition (default 50 000).
    scheduler
        ``"dask"``: a scheduler address (``tcp://host:8786``) or a running
        ``distributed.Client``; default: a local cluster for this check.
    jobs
        ``"local"`` and ``"chunked"``: processes evaluating blocks of the
        batch (of each chunk) at the same time (Linux). Default for
        ``"local"``: every core for 20 000 houses or 2 000 roads or more, one
        process below; for ``"chunked"``: one (it is chosen to bound memory).
        The findings are the same whatever the number.
    out
        Write ``findings.csv``, ``verdicts.csv``, ``results.gpkg`` and
        ``summary.json`` into this folder (the same files for every engine;
        :meth:`Result.to_files` adds the map and the report). With
        ``engine="chunked"`` they are streamed chunk by chunk in bounded
        memory and the rows are not kept: the Result then holds the summary
        and the paths (``streamed``), not the findings. A
        ``postgresql://…/db?schema=…`` URL appends the run to that database
        instead (:meth:`Result.to_postgis`; streamed in one transaction with
        ``engine="chunked"``), its id in :attr:`Result.run_id`.
    gpkg
        With ``out``: write ``results.gpkg`` too (the slowest of the files).
    findings_index
        With ``out``: build the spatial index of ``results.gpkg``'s
        ``findings`` layer. Default: up to
        :data:`~geoplan.runners.files.FINDINGS_INDEX_MAX_ROWS` findings (about
        2 × 10⁵ sites with the default pack); beyond, the layer is written
        without it and ``summary["output_notes"]`` says so.
    progress
        Show a progress bar (tqdm): over the rules (local) or the sites
        (chunked). Default: only for 20 000 sites or more, and only in a
        terminal or a notebook.
    cache
        For a workspace given as a path: where its prepared state (big zones
        cut into pieces, boundary chunks, overlap facts) is kept on disk and
        read back by later runs (``True``: next to the workspace; see
        :func:`geoplan.open_workspace`). Whenever the workspace has a cache
        folder (an opened workspace's :attr:`~Workspace.cache_dir`), every
        layer the pack reads is prepared before the check. The findings are
        the same with or without it.

    Returns
    -------
    Result

    Raises
    ------
    SiteInputError, CRSError, DataFileError, WorkspaceError, RulePackError
        Inputs that cannot be checked; the message names the file, row or
        field and the fix.
    ValueError
        An unknown engine, or an option the engine does not take.

    See Also
    --------
    geoplan.read_sites : how a path of sites is read.
    geoplan.runners : the runners behind ``engine``.

    Examples
    --------
    >>> import geoplan
    >>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
    >>> res.counts()                                                       # doctest: +SKIP
    >>> big = geoplan.check("houses.parquet", "layers", engine="chunked",
    ...                     chunk_size=50_000, out="out/")                # doctest: +SKIP
    >>> big.streamed, big.summary["verdicts"]                              # doctest: +SKIP
    """
    started = _dt.datetime.now(_dt.UTC)
    runner = runner_for(engine, chunk_size=chunk_size, scheduler=scheduler, jobs=jobs)
    database = out if is_database_url(out) else None
    out_dir = output_folder(out) if out is not None and database is None else None
    options: CheckOptions = {"rules": rules, "subject": subject, "id_field": id_field,
                             "name_field": name_field, "village_field": village_field,
                             "township_field": township_field,
                             "footprint_m": footprint_m, "crs": crs, "gcj02": gcj02,
                             "layer": layer, "sheet": sheet, "cache": cache}
    batch = read_batch(sites, workspace, options, in_chunks=runner.reads_in_chunks,
                       started=started)
    if batch.workspace.cache_dir is not None:  # read (or made and kept) whole, once
        prepare_rules(batch.workspace, batch.pack, subject=batch.subject)
    run = runner.run(batch, RunPlan(out=out_dir, gpkg=gpkg, progress=progress,
                                    database=database if runner.reads_in_chunks else None,
                                    findings_index=findings_index))
    res = Result(findings=run.findings, verdicts=run.verdicts, evidence=run.evidence,
                 summary=run.summary, pack=batch.pack, workspace=batch.workspace,
                 subject=batch.subject, files=run.files, streamed=run.streamed,
                 site_notes=batch.notes + batch.identity_notes, run_id=run.run_id)
    if database is not None and run.run_id is None:
        res.to_postgis(database)
    if out_dir is not None and not run.streamed:
        res.files = tuple(res.to_files(out_dir, map_html=False, report_html=False, gpkg=gpkg,
                                       xlsx=False, findings_index=findings_index))
        # (the same tables as every engine writes)
    return res
