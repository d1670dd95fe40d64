"""What a runner is: the :class:`Runner` protocol, what it is asked (:class:`RunPlan`) and gives (:class:`Run`).

A runner receives a :class:`~geoplan.runners.inputs.SiteBatch` — sites read,
subject, ids, CRS and pack decided once by :func:`geoplan.check` — and
evaluates it: all at once, chunk by chunk, or on a cluster. It never reads
or decides anything about the inputs itself; that is what keeps every
runner's findings identical.

Examples
--------
>>> RunPlan().out is None
True
"""

from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import geopandas as gpd
import pandas as pd

from .inputs import SiteBatch
from .summary import Tally

__all__ = ["PROGRESS_SITES", "Run", "RunPlan", "Runner", "batch_summary", "elapsed", "join_parts"]

PROGRESS_SITES = 20_000
"""Batches this large show a progress bar by default (in a terminal or a notebook)."""


@dataclass(frozen=True)
class RunPlan:
    """What the caller of :func:`geoplan.check` asked of the run, beyond the inputs.

    Attributes
    ----------
    out
        The output folder: a runner that streams (``engine="chunked"``)
        writes the tables there chunk by chunk; for the others
        :func:`geoplan.check` writes them after the run.
    gpkg
        Write ``results.gpkg`` too.
    progress
        Show a progress bar; None: only for batches of :data:`PROGRESS_SITES`
        or more, in a terminal or a notebook.
    database
        A PostGIS database to write the run to (``postgresql://…?schema=…``):
        a runner that streams writes the parts there in one transaction; for
        the others :func:`geoplan.check` writes the run after it.
    findings_index
        Build the spatial index of ``results.gpkg``'s ``findings`` layer;
        None: up to :data:`geoplan.runners.files.FINDINGS_INDEX_MAX_ROWS` rows.
    """

    out: Path | None = None
    gpkg: bool = True
    progress: bool | None = None
    database: str | None = None
    findings_index: bool | None = None

    def show_progress(self, n: int) -> bool:
        """Whether to show a progress bar for ``n`` sites.

        Parameters
        ----------
        n
            Sites in the batch.

        Returns
        -------
        bool
        """
        if self.progress is not None:
            return self.progress
        return n >= PROGRESS_SITES and _interactive()


@dataclass
class Run:
    """What a runner gives back: the check's tables and summary, or where it wrote them.

    Attributes
    ----------
    findings, verdicts, evidence
        As on :class:`geoplan.Result`; with ``streamed`` they are empty
        (columns only) and the rows are in the files.
    summary
        The ``summary.json`` content.
    files
        The files written, when the runner wrote them itself.
    streamed
        The tables went to ``files`` (or to the database) chunk by chunk and
        were not kept.
    run_id
        The id of the run written to the database, when the runner wrote it.
    """

    findings: pd.DataFrame
    verdicts: gpd.GeoDataFrame
    evidence: gpd.GeoDataFrame
    summary: dict[str, Any]
    files: tuple[Path, ...] = ()
    streamed: bool = False
    run_id: str | None = None


@runtime_checkable
class Runner(Protocol):
    """How a check is executed: pass an instance as ``geoplan.check(..., engine=runner)``.

    Attributes
    ----------
    reads_in_chunks
        True if the runner reads a streamable sites file chunk by chunk
        (:meth:`SiteBatch.chunks`) rather than needing it whole in
        :attr:`SiteBatch.frame`.
    """

    reads_in_chunks: bool

    def run(self, batch: SiteBatch, plan: RunPlan) -> Run:
        """Evaluate the batch.

        Parameters
        ----------
        batch
            The inputs, decided once for the whole batch.
        plan
            Output folder, GeoPackage, progress.

        Returns
        -------
        Run
        """
        ...


def batch_summary(batch: SiteBatch, tally: Tally,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``summary.json`` of a batch from what was counted, with the runner's ``extra`` keys.

    Parameters
    ----------
    batch
        The batch checked.
    tally
        Its evaluations counted.
    extra
        Keys the runner adds (``chunk_size``, ``engine``…), last, after
        ``site_columns`` (the input columns read as the id, applicant, village
        and township).

    Returns
    -------
    dict
    """
    return tally.summary(subject=batch.subject, ws=batch.workspace, pack=batch.pack,
                         source=batch.source, sites_crs=batch.sites_crs,
                         footprint_m=batch.footprint_m, gcj02=batch.gcj02,
                         started=batch.started, reading=batch.notes,
                         extra={"site_columns": batch.site_columns, **(extra or {})})


def join_parts(findings: list[pd.DataFrame], verdicts: list[gpd.GeoDataFrame],
               evidence: list[gpd.GeoDataFrame],
               crs: Any) -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Put the tables of the parts of a batch (in batch order) back together.

    Parameters
    ----------
    findings, verdicts, evidence
        One frame per part, at least one part.
    crs
        The working CRS (of the evidence).

    Returns
    -------
    (findings, verdicts, evidence)
    """
    f = pd.concat(findings, ignore_index=True)
    v = gpd.GeoDataFrame(pd.concat(verdicts), geometry=verdicts[0].geometry.name,
                         crs=verdicts[0].crs)
    e_parts = [e for e in evidence if len(e)] or evidence[:1]  # empty frames have other dtypes
    e = gpd.GeoDataFrame(pd.concat(e_parts, ignore_index=True), geometry="geometry", crs=crs)
    return f, v, e


def elapsed(since: _dt.datetime) -> float:
    """Seconds since ``since`` (UTC).

    Parameters
    ----------
    since
        A start time, e.g. :attr:`SiteBatch.started`.

    Returns
    -------
    float
    """
    return (_dt.datetime.now(_dt.UTC) - since).total_seconds()


def _interactive() -> bool:
    """Whether a progress bar would be seen: a terminal, or a Jupyter kernel."""
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
