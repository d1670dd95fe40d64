"""Large batches, the old way: :func:`check_chunked` and :func:`check_to_files` (deprecated).

Both are now thin wrappers over the one front door :func:`geoplan.check`:

========================================  ====================================================
before                                    now
========================================  ====================================================
``check_chunked(s, ws, chunk_size=n)``    ``geoplan.check(s, ws, engine="chunked", chunk_size=n)``
``check_to_files(s, ws, d, chunk_size=n)``  ``geoplan.check(s, ws, engine="chunked", chunk_size=n,
                                          out=d).summary``
========================================  ====================================================

They keep working (with a :class:`DeprecationWarning`) and give the same
results as before, except that the subject, when not given, is now inferred
from the whole batch rather than from its first chunk. The runner behind
them is :class:`geoplan.runners.ChunkedRunner`; :func:`iter_site_chunks`
and :data:`DEFAULT_CHUNK_SIZE` stay importable from here.

Examples
--------
>>> import geoplan
>>> summary = geoplan.check("houses.parquet", "layers", engine="chunked",
...                         chunk_size=50_000, out="out/").summary    # doctest: +SKIP
>>> summary["verdicts"]                                            # doctest: +SKIP
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Unpack

from .result import CheckOptions, Result, check
from .runners import DEFAULT_CHUNK_SIZE, iter_site_chunks
from .runners.inputs import SitesLike, WorkspaceLike

__all__ = ["DEFAULT_CHUNK_SIZE", "check_chunked", "check_to_files", "iter_site_chunks"]


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"geoplan.scale.{old} is deprecated; use {new}", DeprecationWarning,
                  stacklevel=3)


def check_chunked(
    sites: SitesLike,
    workspace: WorkspaceLike,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **options: Unpack[CheckOptions],
) -> Result:
    """Deprecated: ``geoplan.check(sites, workspace, engine="chunked", chunk_size=…)``.

    Parameters
    ----------
    sites, workspace
        As for :func:`geoplan.check`.
    chunk_size
        Sites per chunk.
    **options
        The input options of :func:`geoplan.check` (``rules``, ``subject``,
        ``id_field``, ``footprint_m``, ``crs``, ``gcj02``, ``layer``, ``sheet``).

    Returns
    -------
    Result
        All the findings and verdicts, as :func:`geoplan.check` gives them.

    Examples
    --------
    >>> res = check_chunked("houses.gpkg", "layers", chunk_size=1000)  # doctest: +SKIP
    """
    _deprecated("check_chunked",
                "geoplan.check(sites, workspace, engine='chunked', chunk_size=...)")
    return check(sites, workspace, engine="chunked", chunk_size=chunk_size, **options)


def check_to_files(
    sites: SitesLike,
    workspace: WorkspaceLike,
    out_dir: str | os.PathLike[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    gpkg: bool = True,
    progress: bool = False,
    **options: Unpack[CheckOptions],
) -> dict[str, Any]:
    """Deprecated: ``geoplan.check(sites, workspace, engine="chunked", chunk_size=…, out=…)``.

    Parameters
    ----------
    sites, workspace
        As for :func:`geoplan.check`.
    out_dir
        The folder for ``findings.csv``, ``verdicts.csv``, ``results.gpkg``
        and ``summary.json``, written chunk by chunk in bounded memory.
    chunk_size
        Sites per chunk.
    gpkg
        Write ``results.gpkg`` too.
    progress
        Show a progress bar over the sites.
    **options
        The input options of :func:`geoplan.check`.

    Returns
    -------
    dict
        The summary written to ``summary.json``.

    Examples
    --------
    >>> summary = check_to_files("houses.parquet", "layers", "out/")  # doctest: +SKIP
    """
    _deprecated("check_to_files",
                "geoplan.check(sites, workspace, engine='chunked', chunk_size=..., out=...)")
    return check(sites, workspace, engine="chunked", chunk_size=chunk_size, out=out_dir,
                 gpkg=gpkg, progress=progress, **options).summary
