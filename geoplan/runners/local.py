"""The local runner: the whole batch at once, in this process or in blocks on all cores (``engine="local"``).

With ``jobs`` above 1 the batch is cut into ``jobs`` blocks (every
``jobs``-th site each), which this process and ``jobs - 1`` forked ones
evaluate at the same time; the blocks' tables are put back
together in batch order, so the result is the one a single process gives
(every runner evaluates blocks the same way, see
:mod:`geoplan.runners.inputs`). The spatial indexes are built once, before the
processes start, and shared with them (:func:`geoplan.engine.prepare_rules`).

Examples
--------
>>> LocalRunner().reads_in_chunks
False
>>> LocalRunner().jobs_for(100)   # a small batch is not worth a second process
1
>>> LocalRunner(jobs=3).jobs_for(2)  # asked for: at most one process per site
2
"""

from __future__ import annotations

import contextlib
import multiprocessing
import operator
import os
import pickle
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..engine import Evaluation, constraint_cache
from ..engine.columns import FindingsColumns
from ..engine.evaluation import prepare_rules
from ..engine.parallel import frozen_heap, usable_cores
from ..errors import GeoplanError
from .base import Run, RunPlan, batch_summary, join_parts
from .inputs import SiteBatch
from .summary import Tally

__all__ = ["PARALLEL_SITES", "SPILL_PREFIX", "SPILL_SHM_FREE_BYTES", "TAIL_BLOCK_SITES", "LocalRunner",
           "check_jobs", "default_jobs", "evaluate_in_processes", "jobs_for", "plan_blocks",
           "spill_folder"]

PARALLEL_SITES: dict[str, int] = {"house": 20_000, "road": 2_000}
"""Batches at least this large (by subject) use every core by default (``jobs=None``).

Below it, starting processes and sending their tables back costs more than
the second core saves. A road (a buffered line crossing many parcels and
zones) costs about ten times a house footprint: 10⁴ roads take 7–8 s in one
process, 10⁴ houses 2 s.
"""



_STATE: tuple[SiteBatch, Any, gpd.GeoDataFrame, np.ndarray] | None = None
"""The batch, its spatial indexes, the sites to evaluate and their rows: set before the
processes fork (they inherit it)."""


def default_jobs() -> int:
    """The cores this process may use (its CPU affinity), at most 8; 1 where fork is unavailable.

    Returns
    -------
    int
    """
    if "fork" not in multiprocessing.get_all_start_methods() or sys.platform != "linux":
        return 1  # macOS and Windows: the workspace would have to be pickled to each process
    return max(1, min(usable_cores(), 8))


def check_jobs(jobs: int | None) -> None:
    """Refuse a ``jobs`` that is not None or a whole number of processes ≥ 1.

    Raises
    ------
    ValueError
    """
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a whole number of processes, 1 or more (or None for "
                         f"every core on large batches), not {jobs!r}")


def jobs_for(jobs: int | None, n: int, subject: str = "house") -> int:
    """How many processes evaluate ``n`` sites when ``jobs`` were asked for.

    Parameters
    ----------
    jobs
        ``None``: :func:`default_jobs` for :data:`PARALLEL_SITES` sites of
        the subject or more, else 1. A number: that many, at most one per
        site (1 where processes cannot be forked).
    n
        Sites.
    subject
        What the sites are (``house`` or ``road``).

    Returns
    -------
    int

    Examples
    --------
    >>> jobs_for(None, 5_000, "house"), jobs_for(4, 3)
    (1, 3)
    """
    if jobs is None:
        least = PARALLEL_SITES.get(subject, PARALLEL_SITES["house"])
        return default_jobs() if n >= least else 1
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1  # pragma: no cover - Windows: the workspace is not handed to new processes
    return max(1, min(jobs, n))


@dataclass(frozen=True)
class LocalRunner:
    """Every site × every rule at once: the fastest way when the batch fits in memory.

    Parameters
    ----------
    jobs
        Processes evaluating blocks of the batch at the same time. ``None``
        (default): every core (:func:`default_jobs`) for batches of
        :data:`PARALLEL_SITES` sites or more, one process for smaller ones.
        ``1``: this process only. The findings are the same whatever the number.

    A progress bar over the rules (one process) or over the sites (several)
    is shown as :class:`~geoplan.runners.RunPlan` says.
    """

    jobs: int | None = None
    reads_in_chunks: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        check_jobs(self.jobs)

    def jobs_for(self, n: int, subject: str = "house") -> int:
        """How many processes a batch of ``n`` sites gets (see :func:`jobs_for`)."""
        return jobs_for(self.jobs, n, subject)

    def run(self, batch: SiteBatch, plan: RunPlan) -> Run:
        """Evaluate the whole batch at once (in blocks on ``jobs`` processes).

        Parameters
        ----------
        batch
            The inputs, decided once.
        plan
            Progress (the output folder is written by :func:`geoplan.check`).

        Returns
        -------
        Run
        """
        jobs = self.jobs_for(batch.n, batch.subject)
        if jobs > 1:
            return self._parallel(batch, plan, jobs)
        ev = batch.evaluate(batch.whole(), np.arange(batch.n),
                            progress=plan.show_progress(batch.n))
        tally = Tally.new()
        tally.add(ev)
        return Run(findings=ev.findings, verdicts=ev.verdicts, evidence=ev.evidence,
                   summary=batch_summary(batch, tally, {"jobs": 1}))

    def _parallel(self, batch: SiteBatch, plan: RunPlan, jobs: int) -> Run:
        bar: Any = None
        if plan.show_progress(batch.n):
            from tqdm.auto import tqdm

            bar = tqdm(total=batch.n, unit="site", desc="sites")
        try:
            ev = evaluate_in_processes(batch, batch.whole(), np.arange(batch.n), jobs=jobs,
                                       bar=bar)
        finally:
            if bar is not None:
                bar.close()
        tally = Tally.new()
        tally.add(ev)
        return Run(findings=ev.findings, verdicts=ev.verdicts, evidence=ev.evidence,
                   summary=batch_summary(batch, tally, {"jobs": jobs}))


def evaluate_in_processes(batch: SiteBatch, frame: gpd.GeoDataFrame, rows: np.ndarray, *,
                          jobs: int, bar: Any = None) -> Evaluation:
    """Evaluate ``frame`` (rows ``rows`` of the batch) in blocks on ``jobs`` processes at once.

    The blocks come from :func:`plan_blocks`: one per process, each holding
    sites all along the batch (a batch sorted by township still splits into
    equal work), then, for a large batch, a few small *tail* blocks that
    the processes take one at a time as they finish, so that none waits
    for another that runs slower. This process evaluates the first block
    and ``jobs - 1`` forked processes the others. The workspace's indexes
    are built first (:func:`geoplan.engine.prepare_rules`) so that the
    processes inherit them. The forked blocks' findings come back as coded
    columns, through files in :func:`spill_folder` that are read once and
    removed, and become one frame here; verdicts and evidence are put in
    batch order (evidence by rule, then by site, as one process orders it).
    Which process evaluated which block does not change the answer.

    Parameters
    ----------
    batch
        The batch, decided once.
    frame, rows
        The sites to evaluate (the whole batch, or a chunk of it) and their
        0-based rows in the batch.
    jobs
        Processes.
    bar
        A tqdm bar to advance by the sites of each block done.

    Returns
    -------
    Evaluation
        The same tables as one :meth:`SiteBatch.evaluate` of ``frame``;
        ``seconds`` is the wall time, ``sites`` is None.

    Raises
    ------
    GeoplanError
        A process ended without an answer (e.g. stopped for lack of memory).
    """
    global _STATE, _TAILS
    prepare_rules(batch.workspace, batch.pack, subject=batch.subject)
    cache = constraint_cache(batch.workspace)
    n = len(frame)
    blocks, heads = plan_blocks(n, jobs, batch.subject)
    c_parts, v_parts, e_parts = [], [], []
    not_checked: dict[str, str] = {}
    ctx = multiprocessing.get_context("fork")
    _STATE = (batch, cache, frame, rows)
    _TAILS = _Tails(blocks=blocks, first=heads, taken=ctx.Value("q", 0))
    t0 = time.perf_counter()
    try:
        # the heap frozen before the fork: neither process's collector walks (and so
        # copies) the pages of the objects they share
        with warnings.catch_warnings(), frozen_heap():
            # Python ≥ 3.12 warns that forking a process with threads may deadlock; the
            # children only evaluate (numpy, shapely) and write nothing to shared streams
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
            pool = ProcessPoolExecutor(max_workers=heads - 1, mp_context=ctx)
            results: dict[int, Any] = {}
            try:
                _evaluate_blocks(pool, blocks, heads, frame, results, bar)
            finally:
                # with every block in, the forked processes are only exiting (each unmaps
                # its copy of this heap: about 0.1 s): not waited for; after a failure they are
                pool.shutdown(wait=len(results) != len(blocks))
        if len(results) != len(blocks):  # pragma: no cover - every block is taken once
            raise GeoplanError(f"{len(blocks) - len(results)} block(s) of the batch were not "
                               "evaluated; check with jobs=1 and report it")
        for b in range(len(blocks)):
            columns, verdicts, evidence, why = results[b]
            c_parts.append(columns)
            v_parts.append(verdicts)
            e_parts.append(evidence)
            for rid, text in why:
                not_checked.setdefault(rid, text)
    except BrokenProcessPool as exc:
        raise GeoplanError(
            f"a process checking part of the batch ended without an answer ({exc}); it was "
            "most likely stopped for lack of memory: check with jobs=1, or in smaller chunks "
            "(engine='chunked', chunk_size=…)") from exc
    finally:
        _STATE = None
        _TAILS = None
    # back in batch order: findings and verdicts by site; evidence by rule, then site
    position = np.concatenate(blocks)               # each block's sites, block after block
    rules = batch.pack.for_subject(batch.subject)
    columns = FindingsColumns.interleave(c_parts, len(rules), positions=blocks)
    findings = columns.frame()
    _, verdicts, evidence = join_parts([findings], v_parts, e_parts, batch.workspace.crs)
    verdicts = verdicts.iloc[np.argsort(position, kind="stable")]
    if len(evidence):
        first = np.cumsum([0, *[len(b) for b in blocks[:-1]]])  # each block's start in position
        block_of = np.repeat(np.arange(len(e_parts)), [len(e) for e in e_parts])
        site_pos = position[first[block_of] + evidence["_row"].to_numpy(dtype=np.int64)]
        rank = pd.Categorical(evidence["rule_id"], categories=[r.id for r in rules]).codes
        order = np.lexsort((site_pos, rank))
        evidence = evidence.iloc[order].reset_index(drop=True)
    evidence = evidence.drop(columns="_row", errors="ignore")
    return Evaluation(findings=findings, verdicts=verdicts, evidence=evidence, rules=rules,
                      not_checked_rules=list(not_checked.items()),
                      seconds=time.perf_counter() - t0, sites=None, columns=columns)


def _evaluate_blocks(pool: ProcessPoolExecutor, blocks: list[np.ndarray], heads: int,
                     frame: gpd.GeoDataFrame, results: dict[int, Any], bar: Any) -> None:
    """Evaluate every block, here and in ``pool``'s forked processes, into ``results`` (by block).

    The forked processes' blocks are read in here between this process's
    blocks as soon as they are done, not all after its last one. Their files
    that were not read (a block failed) are removed.
    """
    # the other first blocks in forked processes, the first one here meanwhile: this
    # process would otherwise only wait, and its blocks need no sending back; then a call
    # per forked process taking tails (whichever is free first; one finding none left
    # returns at once)
    folder = spill_folder()
    futures = [pool.submit(_evaluate_blocks_to_files, b, folder) for b in range(1, heads)]
    futures += [pool.submit(_evaluate_blocks_to_files, None, folder)
                for _ in range(1, heads) if len(blocks) > heads]
    read: set[Any] = set()

    def read_done(*, wait: bool) -> None:
        for f in futures:
            if f in read or not (wait or f.done()):
                continue
            for b, path in f.result():
                columns, verdicts, evidence, why = _load_block(path)
                results[b] = (columns, _restore_site_geometry(verdicts, frame, blocks[b]),
                              evidence, why)
                if bar is not None:
                    bar.update(len(blocks[b]))
            read.add(f)

    try:
        for b in _blocks_of_this_process(0, futures):
            results[b] = _evaluate_block(blocks[b])
            if bar is not None:
                bar.update(len(blocks[b]))
            read_done(wait=False)
        read_done(wait=True)
    finally:  # the files of blocks not read (this block or another failed)
        for f in futures:
            if f not in read and not f.cancel() and f.exception() is None:
                for _, path in f.result():
                    if os.path.exists(path):
                        os.unlink(path)


def split_blocks(n: int, jobs: int) -> list[np.ndarray]:
    """The sites (positions ``0 … n-1``) of each process's block: one block per process.

    Each block takes sites all along the batch, so a batch sorted by township
    (the dense ones first) still splits into equal work; one block each
    because every evaluation has a fixed cost (e.g. the DEM windows it
    reads). Of every ``15 * jobs + 1`` sites this process's block (the first)
    takes 16 and each forked one 15: a forked block's tables are pickled to a
    file (:func:`spill_folder`) when it is done (0.2 s for 5 × 10⁴ footprints
    with the shared rules, 3 % of their evaluation), so the blocks end together.

    Parameters
    ----------
    n
        Sites.
    jobs
        Processes (blocks), at least 1.

    Returns
    -------
    list of numpy.ndarray
        Ascending positions, every site in exactly one block; no empty block.

    Examples
    --------
    >>> [len(b) for b in split_blocks(31, 2)], split_blocks(33, 2)[1][-2:].tolist()
    ([16, 15], [29, 32])
    >>> [b.tolist() for b in split_blocks(2, 3)]
    [[0], [1]]
    """
    jobs = max(1, min(jobs, n))
    if jobs == 1:
        return [np.arange(n)]
    period = 15 * jobs + 1
    # 15 sites each in turn; period % jobs == 1, so the last of the period is block 0's 16th
    block = np.arange(n) % period % jobs
    out = [np.flatnonzero(block == b) for b in range(jobs)]
    return [b for b in out if len(b)]


TAIL_BLOCK_SITES: dict[str, int] = {"house": 800, "road": 80}
"""The fewest sites (by subject) the smallest tail block of :func:`plan_blocks` holds.

A block has a fixed cost (every rule's setup, about 0.05 s with the default
pack), so a tail block is worth it only where it holds a fair share of a
second of work; a road costs about ten times a house footprint (see
:data:`PARALLEL_SITES`). Batches too small for one such tail get none.
"""

_TAIL_EVERY = 10
"""One site in this many goes to the tail blocks of :func:`plan_blocks` (a tenth of the batch)."""


def plan_blocks(n: int, jobs: int, subject: str = "house") -> tuple[list[np.ndarray], int]:
    """The blocks ``jobs`` processes evaluate ``n`` sites in: one first block each, then tails.

    As :func:`split_blocks`, every block takes sites all along the batch. In
    a batch large enough, a tenth of the sites (every tenth) is set aside in
    up to ``2 * jobs`` *tail* blocks of shrinking sizes (with two
    processes 4, 3, 2 and 1 % of the batch), to be taken one at a time, the
    largest first, by whichever process is done with its blocks so far: the
    one that runs faster (the machine's other load, a denser share of the
    batch) takes more of them, and the last to finish waits at most for the
    smallest tail. On the benchmark's 10⁵ footprints on two processes, one
    process waited up to 1.4 s for the other with the plain split, and which
    of the two was slower changed from run to run. The smallest tail holds at least
    :data:`TAIL_BLOCK_SITES` sites of the subject; a smaller batch gets fewer
    tails, or none (the plain split). The other sites are split as
    :func:`split_blocks` splits a batch.

    Parameters
    ----------
    n
        Sites.
    jobs
        Processes, at least 1.
    subject
        What the sites are (``house`` or ``road``).

    Returns
    -------
    (list of numpy.ndarray, int)
        The blocks (ascending positions, every site in exactly one block,
        no empty block): first the ``heads`` first blocks, process ``b``'s
        being block ``b``, then the tails in the order they are taken; and
        ``heads``.

    Examples
    --------
    >>> blocks, heads = plan_blocks(100_000, 2)
    >>> heads, [len(b) for b in blocks]
    (2, [46452, 43548, 4000, 3000, 2000, 1000])
    >>> blocks[2][:5].tolist()  # every tenth site goes to a tail: four in ten of them to the first
    [9, 19, 29, 39, 109]
    >>> [len(b) for b in plan_blocks(40_000, 2)[0]]
    [18581, 17419, 2667, 1333]
    >>> [len(b) for b in plan_blocks(7_000, 2)[0]]  # too few sites for a tail
    [3613, 3387]
    >>> [len(b) for b in plan_blocks(10_000, 2, "road")[0]]
    [4645, 4355, 400, 300, 200, 100]
    """
    jobs = max(1, min(jobs, n))
    least = TAIL_BLOCK_SITES.get(subject, TAIL_BLOCK_SITES["house"])
    pos = np.arange(n)
    in_tail = pos % _TAIL_EVERY == _TAIL_EVERY - 1
    in_tails = int(in_tail.sum())
    tails = 0
    for m in range(2 * jobs if jobs > 1 else 0, 0, -1):  # the most tails the batch allows
        if in_tails // (m * (m + 1) // 2) >= least:  # tail k of m takes m - k shares
            tails = m
            break
    if not tails:
        blocks = split_blocks(n, jobs)
        return blocks, len(blocks)
    block = np.empty(n, dtype=np.int64)
    rest = pos[~in_tail]
    for b, part in enumerate(split_blocks(len(rest), jobs)):
        block[rest[part]] = b
    shares = np.repeat(np.arange(tails), np.arange(tails, 0, -1))  # the largest tail first
    block[in_tail] = jobs + shares[np.arange(in_tails) % len(shares)]
    return [np.flatnonzero(block == b) for b in range(jobs + tails)], jobs


@dataclass
class _Tails:
    """The blocks of one :func:`evaluate_in_processes`, and how many tails were taken so far."""

    blocks: list[np.ndarray]
    first: int   # blocks[:first] are the processes' first blocks, the rest tails
    taken: Any   # a multiprocessing Value shared by the forked processes


_TAILS: _Tails | None = None
"""The blocks and the tail counter of the check under way: set before the processes fork."""


def _take_tail(futures: list[Any] | None = None) -> int | None:
    """The next tail block not taken by any process (its index in the blocks), or ``None``.

    This process waits for the counter's lock at most a second at a time; in
    the parent (``futures`` given) it stops asking once a forked process has
    failed, which a process killed while holding the lock would otherwise
    leave it waiting for (the failure is then raised by its future).
    """
    t = _TAILS
    if t is None:
        return None
    lock = t.taken.get_lock()
    while not lock.acquire(timeout=1.0):  # pragma: no cover - held for microseconds
        if futures and any(f.done() and f.exception() is not None for f in futures):
            return None
    try:
        k = t.first + t.taken.value
        if k >= len(t.blocks):
            return None
        t.taken.value += 1
    finally:
        lock.release()
    return k


def _blocks_of_this_process(first: int, futures: list[Any] | None = None) -> Iterator[int]:
    """Block ``first``, then every tail block this process takes (indexes in the blocks)."""
    yield first
    while (k := _take_tail(futures)) is not None:
        yield k


SPILL_SHM_FREE_BYTES = 1 << 30
"""Free space ``/dev/shm`` needs for :func:`spill_folder` to choose it (1 GiB)."""

SPILL_PREFIX = "geoplan-block-"
"""How the names of the files in :func:`spill_folder` begin."""


def spill_folder() -> str | None:
    """Where forked processes leave their blocks' tables: ``/dev/shm`` on Linux, else the temp folder.

    A block's tables (80 MB for 5 × 10⁴ footprints) written to a file and
    read back once both blocks are done take 0.2 s less than sent back through
    the process pool's pipe, which this process reads while it evaluates its
    own block (in 64 kB pieces, each waiting for the interpreter lock).
    ``/dev/shm`` is chosen only with :data:`SPILL_SHM_FREE_BYTES` free (a
    Docker container's is 64 MB unless ``--shm-size`` says otherwise:
    moby/moby#29492); a block that cannot be written there is
    written to the temp folder instead.

    Returns
    -------
    str or None
        A folder for :func:`tempfile.mkstemp` (``None``: the system's temp folder).
    """
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    roomy = st.f_bavail * st.f_frsize >= SPILL_SHM_FREE_BYTES
    return shm if roomy and os.access(shm, os.W_OK | os.X_OK) else None


def _evaluate_blocks_to_files(first: int | None, folder: str | None) -> list[tuple[int, str]]:
    """Evaluate block ``first`` (``None``: tail blocks while any is left); each one's tables in a file.

    Runs in a forked process. Each block's tables are pickled to a new file
    in ``folder``. The verdicts go without the sites' geometries where they
    are the very objects of the batch's frame, which the parent holds too
    (:func:`_shed_site_geometry`). Where ``folder`` fails (full, gone), the
    file goes to the system's temp folder. If a block fails, the files
    already written are removed.

    Returns
    -------
    list of (int, str)
        Per block evaluated here: its index in the blocks and its file.
    """
    if _TAILS is None:  # pragma: no cover - set before the processes fork
        raise RuntimeError("the blocks were not handed to this process")
    written: list[tuple[int, str]] = []
    try:
        for b in ([first] if first is not None else iter(_take_tail, None)):
            block = _TAILS.blocks[b]
            columns, verdicts, evidence, why = _evaluate_block(block)
            written.append((b, _block_to_file(
                (columns, _shed_site_geometry(verdicts, block), evidence, why), folder)))
    except BaseException:
        for _, path in written:
            with contextlib.suppress(OSError):
                os.unlink(path)
        raise
    return written


def _block_to_file(result: Any, folder: str | None) -> str:
    """``result`` pickled to a new file in ``folder``, else in the temp folder: its path."""
    try:
        return _pickle_to_file(result, folder)
    except OSError:
        if folder is None:
            raise
        return _pickle_to_file(result, None)


@dataclass(frozen=True)
class _ShedGeometry:
    """Verdicts without their geometry column, which is the block's sites' as given."""

    frame: pd.DataFrame
    name: str
    position: int
    crs: Any


def _shed_site_geometry(verdicts: gpd.GeoDataFrame, block: np.ndarray,
                        ) -> gpd.GeoDataFrame | _ShedGeometry:
    """``verdicts`` without the geometries the parent already holds (else as they are).

    A verdict's geometry is its site's as given (see
    :func:`geoplan.engine.evaluate`): the same shapely objects as the block's
    rows of the frame set in ``_STATE``. Sent back, they were written as WKB
    here and parsed again in the parent, after both blocks were done (about
    0.1 s of the parent's read of a block of 5 × 10⁴ footprints); the parent
    takes them from its own frame instead (:func:`_restore_site_geometry`).
    Only if every object is the frame's own (identity, not equality) are
    they left out.
    """
    if _STATE is None or not isinstance(verdicts, gpd.GeoDataFrame):
        return verdicts
    given = np.asarray(_STATE[2].geometry.array, dtype=object)[block]
    name = verdicts.geometry.name
    ours = np.asarray(verdicts.geometry.array, dtype=object)
    if len(ours) != len(given) or not all(map(operator.is_, ours, given)):
        return verdicts
    return _ShedGeometry(frame=pd.DataFrame(verdicts.drop(columns=name)), name=name,
                         position=verdicts.columns.get_loc(name), crs=verdicts.crs)


def _restore_site_geometry(verdicts: Any, frame: gpd.GeoDataFrame,
                           block: np.ndarray) -> gpd.GeoDataFrame:
    """The verdicts :func:`_shed_site_geometry` sent, with the block's geometries of ``frame``."""
    if not isinstance(verdicts, _ShedGeometry):
        return verdicts
    df = verdicts.frame
    df.insert(verdicts.position, verdicts.name,
              gpd.GeoSeries(frame.geometry.array[block], index=df.index, crs=verdicts.crs))
    return gpd.GeoDataFrame(df, geometry=verdicts.name, crs=verdicts.crs)


def _pickle_to_file(result: Any, folder: str | None) -> str:
    """``result`` pickled to a new file in ``folder`` (removed again if writing fails)."""
    fd, path = tempfile.mkstemp(prefix=SPILL_PREFIX, suffix=".pickle", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _load_block(path: str) -> Any:
    """The tables :func:`_evaluate_block_to_file` left in ``path``; the file is removed."""
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    finally:
        os.unlink(path)


def _evaluate_block(block: np.ndarray) -> tuple[FindingsColumns, Any, Any,
                                                 list[tuple[str, str]]]:
    """Evaluate the sites at positions ``block`` of those set in ``_STATE`` (in any process).

    The findings go back as coded columns (a tenth of the bytes of a frame,
    and the frame is built once, in the parent).
    """
    if _STATE is None:  # pragma: no cover - set before the processes fork
        raise RuntimeError("the batch was not handed to this process")
    batch, cache, frame, rows = _STATE
    ev = batch.evaluate(frame.iloc[block], rows[block], cache=cache, frame=False)
    if ev.columns is None:  # pragma: no cover - frame=False always gives the columns
        raise RuntimeError("the evaluation gave no columns")
    return ev.columns.compact(), ev.verdicts, ev.evidence, ev.not_checked_rules
