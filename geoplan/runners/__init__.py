"""Runners: how a check is executed, behind the one front door :func:`geoplan.check`.

:func:`geoplan.check` normalises the inputs once
(:func:`~geoplan.runners.inputs.read_batch`: sites read, CRS, per-row
coordinate systems and GCJ-02 handled, ids and subject decided on the whole
batch) and hands the :class:`SiteBatch` to a runner:

==============  ===========================================================
``"local"``     :class:`LocalRunner` — the whole batch at once (default)
``"chunked"``   :class:`ChunkedRunner` — ``chunk_size`` sites at a time;
                with ``out=`` the tables are streamed to files in bounded
                memory
``"dask"``      :class:`DaskRunner` — spatial partitions on a dask cluster
==============  ===========================================================

A runner is any object with a ``reads_in_chunks`` flag and a
``run(batch, plan) -> Run`` method (the :class:`Runner` protocol); pass an
instance as ``geoplan.check(..., engine=runner)`` to use one of your own, or a
built-in one with options the names do not carry
(``engine=DaskRunner(client=client, npartitions=8)``).

Modules:

* :mod:`.inputs` — the normalisation: :class:`SiteBatch`, :func:`read_batch`;
* :mod:`.decisions` — ids and subject, decided on the whole batch;
* :mod:`.reading` — sites files read chunk by chunk, or scanned;
* :mod:`.base` — the protocol, :class:`RunPlan`, :class:`Run`;
* :mod:`.summary` — :class:`Tally` and the ``summary.json`` content;
* :mod:`.files` — the tables on disk, at once or chunk by chunk;
* :mod:`.local`, :mod:`.chunked`, :mod:`.dask_runner` — the runners.

Examples
--------
>>> runner_for("chunked", chunk_size=1000)
ChunkedRunner(chunk_size=1000, jobs=None)
>>> runner_for("spark")
Traceback (most recent call last):
...
ValueError: unknown engine 'spark'; choose one of local, chunked, dask, or pass a Runner
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .base import PROGRESS_SITES, Run, Runner, RunPlan
from .chunked import ChunkedRunner
from .dask_runner import DaskRunner
from .inputs import SiteBatch, read_batch
from .local import PARALLEL_SITES, LocalRunner, default_jobs
from .reading import DEFAULT_CHUNK_SIZE, iter_site_chunks
from .summary import Tally

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "ENGINES",
    "PARALLEL_SITES",
    "PROGRESS_SITES",
    "ChunkedRunner",
    "DaskRunner",
    "EngineName",
    "LocalRunner",
    "Run",
    "RunPlan",
    "Runner",
    "SiteBatch",
    "Tally",
    "default_jobs",
    "iter_site_chunks",
    "read_batch",
    "runner_for",
]

EngineName = Literal["local", "chunked", "dask"]
"""The built-in runners by name."""

ENGINES: tuple[EngineName, ...] = ("local", "chunked", "dask")
"""The names ``engine=`` accepts."""


def runner_for(engine: EngineName | Runner = "local", *, chunk_size: int | None = None,
               scheduler: str | Client | None = None, jobs: int | None = None) -> Runner:
    """The runner an ``engine=`` argument names, with the options that apply to it.

    Parameters
    ----------
    engine
        ``"local"``, ``"chunked"`` or ``"dask"``, or a :class:`Runner` (then
        ``chunk_size`` and ``scheduler`` must be left out: give them to it).
    chunk_size
        ``"chunked"``: sites per chunk (default 100 000); ``"dask"``: the
        largest partition (default 50 000). Not for ``"local"``.
    scheduler
        ``"dask"`` only: a scheduler address or a running ``distributed.Client``.
    jobs
        ``"local"`` and ``"chunked"``: processes evaluating blocks of the
        batch (of each chunk) at once (default for ``"local"``: every core for
        20 000 houses or 2 000 roads or more, see :class:`LocalRunner`; for
        ``"chunked"``: one).

    Returns
    -------
    Runner

    Raises
    ------
    ValueError
        An unknown engine, or an option the engine does not take.
    """
    if not isinstance(engine, str):
        if not isinstance(engine, Runner):
            raise ValueError(f"engine must be one of {', '.join(ENGINES)} or a Runner, not "
                             f"{type(engine).__name__}")
        if chunk_size is not None or scheduler is not None or jobs is not None:
            raise ValueError("with a Runner as engine, give chunk_size, scheduler and jobs to "
                             "the runner itself")
        return engine
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}, or "
                         "pass a Runner")
    if scheduler is not None and engine != "dask":
        raise ValueError(f"scheduler= is for engine='dask', not {engine!r}")
    if jobs is not None and engine == "dask":
        raise ValueError("jobs= is for engine='local' or 'chunked', not 'dask' (the dask "
                         "engine's processes are its cluster's workers)")
    if engine == "dask":
        if scheduler is None or isinstance(scheduler, str):
            return DaskRunner(scheduler=scheduler, chunk_size=chunk_size)
        return DaskRunner(client=scheduler, chunk_size=chunk_size)
    if engine == "chunked":
        return ChunkedRunner(chunk_size=DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size,
                             jobs=jobs)
    if chunk_size is not None:
        raise ValueError("chunk_size= is for engine='chunked' or 'dask'; the local engine "
                         "checks the whole batch at once")
    return LocalRunner(jobs=jobs)
