"""The dask engine, the old way: :func:`check_dask` (deprecated).

Now a thin wrapper over the one front door :func:`geoplan.check`::

    geoplan.check(sites, workspace, engine="dask", scheduler=...)        # an address or a Client
    geoplan.check(sites, workspace, engine=DaskRunner(n_workers=2, npartitions=8))

The runner itself, and how it partitions the batch, is
:class:`geoplan.runners.DaskRunner` (needs the extra ``geoplan[dask]``).

Examples
--------
>>> import geoplan
>>> res = geoplan.check("houses.parquet", "layers", engine="dask")  # doctest: +SKIP
>>> res.counts()                                                    # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Unpack

from .result import CheckOptions, Result, check
from .runners import DaskRunner
from .runners.inputs import SitesLike, WorkspaceLike

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["check_dask"]


def check_dask(
    sites: SitesLike,
    workspace: WorkspaceLike,
    *,
    scheduler: str | None = None,
    n_workers: int | None = None,
    npartitions: int | None = None,
    chunk_size: int | None = None,
    client: Client | None = None,
    **options: Unpack[CheckOptions],
) -> Result:
    """Deprecated: ``geoplan.check(sites, workspace, engine="dask", …)``.

    Parameters
    ----------
    sites, workspace
        As for :func:`geoplan.check`.
    scheduler, n_workers, npartitions, chunk_size, client
        As for :class:`geoplan.runners.DaskRunner`.
    **options
        The input options of :func:`geoplan.check` (``rules``, ``subject``,
        ``id_field``, ``footprint_m``, ``crs``, ``gcj02``, ``layer``, ``sheet``).

    Returns
    -------
    Result
        The same findings and verdicts as the local engine.

    Examples
    --------
    >>> res = check_dask("houses.parquet", "layers", n_workers=2)  # doctest: +SKIP
    """
    warnings.warn("geoplan.dask_engine.check_dask is deprecated; use geoplan.check(sites, "
                  "workspace, engine='dask', scheduler=...) or engine=DaskRunner(...)",
                  DeprecationWarning, stacklevel=2)
    runner = DaskRunner(scheduler=scheduler, client=client, n_workers=n_workers,
                        npartitions=npartitions, chunk_size=chunk_size)
    return check(sites, workspace, engine=runner, **options)
