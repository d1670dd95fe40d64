"""The chunked runner: ``chunk_size`` sites at a time (``engine="chunked"``).

A million house footprints × 22 rules are 22 million findings: held at once
they need tens of GB. This runner evaluates the batch in chunks with the same
spatial indexes (built once, see :func:`geoplan.engine.constraint_cache`).
A GeoParquet, GeoPackage or FlatGeobuf file is read chunk by chunk.

* Without an output folder it keeps every chunk's rows and returns them
  together: the same findings and verdicts as the local runner (evidence rows
  come chunk by chunk); memory still grows with the batch.
* With an output folder it appends each chunk's findings and verdicts to
  ``findings.csv`` / ``verdicts.csv`` and to the layers of ``results.gpkg``
  and keeps none of them, so memory stays bounded by the chunk; the
  :class:`~geoplan.runners.Run` then holds the summary and the files
  (``streamed``). No map: a map of a million sites is not readable. Where
  processes can be forked (Linux), a chunk's tables are written by a forked
  process while the next chunk is evaluated, and the GeoPackage's spatial
  indexes are built once after the last chunk (see
  :class:`~geoplan.runners.files.TableWriter`).
* With a database (``RunPlan.database``) it appends each chunk's rows to one
  run in PostGIS, in one transaction committed after the last chunk.

The ids and the subject come decided for the whole batch (see
:mod:`geoplan.runners.inputs`): a chunk never infers them for itself.

Examples
--------
>>> ChunkedRunner(chunk_size=50_000).reads_in_chunks
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ..engine import Evaluation, constraint_cache
from ..errors import SiteInputError
from ..outputs import staging_folder
from .base import Run, RunPlan, batch_summary, elapsed, join_parts
from .files import DatabaseWriter, TableWriter
from .inputs import SiteBatch
from .local import check_jobs, evaluate_in_processes, jobs_for
from .reading import DEFAULT_CHUNK_SIZE
from .summary import Tally

__all__ = ["ChunkedRunner"]


@dataclass(frozen=True)
class ChunkedRunner:
    """Evaluate ``chunk_size`` sites at a time; with an output folder, stream the tables there.

    Parameters
    ----------
    chunk_size
        Sites per chunk (default :data:`~geoplan.runners.DEFAULT_CHUNK_SIZE`, 50 000:
        3.7 GB for 10⁶ house footprints streamed to files with the full pack).
    jobs
        Processes evaluating blocks of each chunk at the same time (as
        :class:`~geoplan.runners.LocalRunner`). Default 1: this engine is
        chosen to bound memory, and every process holds a block's tables
        besides the chunk's; give ``jobs=2`` (or more) where memory allows.
    """

    chunk_size: int = DEFAULT_CHUNK_SIZE
    jobs: int | None = None
    reads_in_chunks: bool = field(default=True, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise SiteInputError(
                f"chunk_size must be a positive number of sites, got {self.chunk_size}")
        check_jobs(self.jobs)

    def run(self, batch: SiteBatch, plan: RunPlan) -> Run:
        """Evaluate the batch chunk by chunk; stream the tables to ``plan.out`` if given.

        The progress bar counts sites. See :meth:`geoplan.runners.Runner.run`.
        """
        if plan.database is not None:
            return self._to_database(batch, plan, plan.database)
        if plan.out is None:
            return self._in_memory(batch, plan)
        return self._to_files(batch, plan, plan.out)

    def _jobs(self, batch: SiteBatch) -> int:
        """The processes a full chunk of this batch gets."""
        return jobs_for(self.jobs or 1, min(self.chunk_size, batch.n), batch.subject)

    def _evaluations(self, batch: SiteBatch, plan: RunPlan) -> Iterator[Evaluation]:
        cache = constraint_cache(batch.workspace)
        bar: Any = None
        if plan.show_progress(batch.n):
            from tqdm.auto import tqdm

            bar = tqdm(total=batch.n, unit="site", desc="sites")
        try:
            for rows, block in batch.chunks(self.chunk_size):
                jobs = jobs_for(self.jobs or 1, len(block), batch.subject)
                ev = (evaluate_in_processes(batch, block, rows, jobs=jobs) if jobs > 1
                      else batch.evaluate(block, rows, cache=cache))
                if bar is not None:
                    bar.update(len(ev.verdicts))
                yield ev
                del ev, block  # free this chunk before the next one is read and evaluated
        finally:
            if bar is not None:
                bar.close()

    def _in_memory(self, batch: SiteBatch, plan: RunPlan) -> Run:
        tally = Tally.new()
        f_parts, v_parts, e_parts = [], [], []
        for ev in self._evaluations(batch, plan):
            tally.add(ev)
            f_parts.append(ev.findings)
            v_parts.append(ev.verdicts)
            e_parts.append(ev.evidence)
        findings, verdicts, evidence = join_parts(f_parts, v_parts, e_parts,
                                                  batch.workspace.crs)
        return Run(findings=findings, verdicts=verdicts, evidence=evidence,
                   summary=batch_summary(batch, tally, {"chunk_size": self.chunk_size,
                                                             "jobs": self._jobs(batch)}))

    def _to_database(self, batch: SiteBatch, plan: RunPlan, target: str) -> Run:
        """Stream the chunks as one run into PostGIS, committed only when all are written."""
        tally = Tally.new()
        head: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame] | None = None
        with DatabaseWriter(target, crs=batch.workspace.crs) as writer:
            for ev in self._evaluations(batch, plan):
                tally.add(ev)
                writer.add(ev.findings, ev.verdicts, ev.evidence)
                head = head or (ev.findings.iloc[:0].copy(), ev.verdicts.iloc[:0].copy(),
                                ev.evidence.iloc[:0].copy())
                del ev
            summary = batch_summary(batch, tally, {
                "chunk_size": self.chunk_size, "jobs": self._jobs(batch),
                "wall_seconds": round(elapsed(batch.started), 3)})
            run_id = writer.finish(summary)
        if head is None:  # pragma: no cover - a batch has at least one chunk
            raise SiteInputError("the batch has no sites (0 rows); there is nothing to check")
        findings, verdicts, evidence = join_parts([head[0]], [head[1]], [head[2]],
                                                  batch.workspace.crs)
        return Run(findings=findings, verdicts=verdicts, evidence=evidence, summary=summary,
                   streamed=True, run_id=run_id)

    def _to_files(self, batch: SiteBatch, plan: RunPlan, out: Path) -> Run:
        tally = Tally.new()
        # the columns of the three tables, none of their rows
        head: tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame] | None = None
        with staging_folder(out) as tmp:
            # each chunk's tables are written by a forked process while the next chunk is
            # evaluated: the writing (2.3 million findings per 10^5 houses) takes about as
            # long as the evaluating
            writer = TableWriter(tmp, crs=batch.workspace.crs, gpkg=plan.gpkg,
                                 background=batch.n > self.chunk_size,
                                 findings_index=plan.findings_index)
            try:
                for ev in self._evaluations(batch, plan):
                    tally.add(ev)
                    writer.add(ev.findings, ev.verdicts, ev.evidence)
                    head = head or (ev.findings.iloc[:0].copy(), ev.verdicts.iloc[:0].copy(),
                                    ev.evidence.iloc[:0].copy())  # no view that keeps the chunk
                    del ev
                writer.wait()
                summary = batch_summary(batch, tally, {
                    "chunk_size": self.chunk_size, "jobs": self._jobs(batch),
                    "wall_seconds": round(elapsed(batch.started), 3)})
                files = writer.finish(summary, out)
            finally:
                writer.close()
        if head is None:  # pragma: no cover - a batch has at least one chunk
            raise SiteInputError("the batch has no sites (0 rows); there is nothing to check")
        findings, verdicts, evidence = join_parts([head[0]], [head[1]], [head[2]],
                                                  batch.workspace.crs)
        return Run(findings=findings, verdicts=verdicts, evidence=evidence, summary=summary,
                   files=tuple(files), streamed=True)
