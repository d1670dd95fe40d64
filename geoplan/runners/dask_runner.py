"""The dask runner: the batch on dask-geopandas partitions with dask.distributed (``engine="dask"``).

Needs the extra ``geoplan[dask]`` (dask-geopandas, distributed).

How it runs
-----------
1. The sites come read on the client, their ids and subject decided for the
   whole batch (:mod:`geoplan.runners.inputs`), exactly as for every runner.
2. They are ordered along a Hilbert curve through their centres and cut into
   ``npartitions`` dask-geopandas partitions (as ``spatial_shuffle(by=
   "hilbert")`` would, without the shuffle), so a partition covers a compact
   area and queries the same parts of each index.
3. The :class:`~geoplan.Workspace` (every constraint layer) is sent to each
   worker once with ``client.scatter(..., broadcast=True)``; on a worker the
   spatial indexes are built once per workspace and reused by every partition
   it runs. A DEM is read by path, so workers must see the same file system
   (true of a ``LocalCluster``; for a remote cluster put the workspace on a
   shared path).
4. Each partition is evaluated with the local engine; the findings and
   verdicts are put back in input order. They are identical to the local
   runner's (the evidence rows come partition by partition).

``scheduler`` names an existing cluster (``tcp://host:8786``) and ``client``
is a running ``distributed.Client``; without either a ``LocalCluster`` of
``n_workers`` single-threaded processes is started and closed again.

Examples
--------
>>> DaskRunner(n_workers=2).reads_in_chunks
False
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..core import Subject
from ..engine import ConstraintCache, constraint_cache
from ..errors import GeoplanError
from ..rules import RulePack
from ..workspace import Workspace
from .base import Run, RunPlan, batch_summary, join_parts
from .decisions import site_ids
from .inputs import SiteBatch, evaluate_block
from .summary import Tally

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DEFAULT_PARTITION_SIZE", "DaskRunner"]

DEFAULT_PARTITION_SIZE = 50_000
"""Largest number of sites in one partition, unless ``chunk_size`` says otherwise."""

_ROW = "__geoplan_row"
_INDEX = "__geoplan_index"

# On a worker: one constraint cache per (deserialised, shared) workspace object.
_CACHES: weakref.WeakKeyDictionary[Workspace, ConstraintCache] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _worker_cache(ws: Workspace) -> ConstraintCache:
    with _LOCK:
        c = _CACHES.get(ws)
        if c is None:
            c = _CACHES[ws] = constraint_cache(ws)
        return c


def _evaluate_partition(part: gpd.GeoDataFrame, ws: Workspace, pack: RulePack,
                        id_field: str | None, subject: Subject,
                        footprint_m: float | None) -> dict[str, Any]:
    """Runs on a worker: one spatial partition → findings, verdicts, evidence (input order)."""
    t0 = time.perf_counter()
    part = part.sort_values(_ROW, kind="stable")
    rows = part[_ROW].to_numpy(dtype=np.int64)
    index = part[_INDEX].to_numpy()
    block = part.drop(columns=[_ROW, _INDEX])
    block.index = pd.Index(index, name=None)
    ev = evaluate_block(block, ws, pack, subject=subject, ids=site_ids(block, rows, id_field),
                        footprint_m=footprint_m, cache=_worker_cache(ws))
    ev.findings[_ROW] = np.repeat(rows, len(ev.rules))
    verd = pd.DataFrame(ev.verdicts)
    verd[_ROW] = rows
    return {"findings": ev.findings, "verdicts": verd, "evidence": ev.evidence,
            "not_checked": ev.not_checked_rules, "rules": ev.rules,
            "seconds": time.perf_counter() - t0, "n": len(rows),
            "geometry": ev.verdicts.geometry.name}


def _hilbert_order(geom: gpd.GeoSeries) -> np.ndarray:
    """Row order along a Hilbert curve through the sites' centres (empty sites first).

    Cutting the sorted rows into equal runs gives compact spatial partitions,
    as ``dask_geopandas``' ``spatial_shuffle(by="hilbert")`` does, without a
    shuffle and with rows that have no usable geometry (which it refuses).
    """
    import shapely

    g = np.asarray(geom.to_numpy(), dtype=object)
    b = shapely.bounds(g)
    ok = np.isfinite(b).all(axis=1)
    if ok.sum() < 2:
        return np.arange(len(g))
    box = (b[ok, 0].min(), b[ok, 1].min(), b[ok, 2].max(), b[ok, 3].max())
    h = np.full(len(g), -1, dtype=np.int64)
    h[ok] = gpd.GeoSeries(g[ok]).hilbert_distance(total_bounds=box, level=16).to_numpy()
    return np.argsort(h, kind="stable")


@dataclass(frozen=True)
class DaskRunner:
    """Evaluate the batch in spatial partitions on a dask cluster.

    Parameters
    ----------
    scheduler
        Address of a running dask scheduler (``tcp://host:8786``); default:
        start a ``LocalCluster`` for this check.
    client
        A running ``distributed.Client`` (then ``scheduler`` is not used).
    n_workers
        Workers of the local cluster (default: one per core).
    npartitions
        Spatial partitions of the sites (default: ``ceil(n / chunk_size)``,
        at least two per worker).
    chunk_size
        Largest number of sites in one partition (default 50 000).
    """

    scheduler: str | None = None
    client: Client | None = None
    n_workers: int | None = None
    npartitions: int | None = None
    chunk_size: int | None = None
    reads_in_chunks: bool = field(default=False, init=False, repr=False)

    def _connect(self) -> tuple[Client, Any]:
        """The client to use, and the local cluster started for it (None if not ours)."""
        if self.client is not None:
            return self.client, None
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise GeoplanError("the dask engine needs the extra: pip install 'geoplan[dask]'") \
                from exc
        if self.scheduler:
            return Client(self.scheduler), None
        cluster = LocalCluster(n_workers=self.n_workers or os.cpu_count() or 1,
                               threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=":0")
        return Client(cluster), cluster

    def run(self, batch: SiteBatch, plan: RunPlan) -> Run:
        """Evaluate the batch on the cluster and put the partitions back in input order.

        Parameters
        ----------
        batch
            The inputs, decided once for the whole batch (the sites read whole).
        plan
            Not used beyond what :func:`geoplan.check` does with it (no progress bar).

        Returns
        -------
        Run
        """
        t0 = time.perf_counter()
        client, cluster = self._connect()
        try:
            parts, info = self._compute(client, batch)
        finally:
            if self.client is None:
                client.close()
                if cluster is not None:
                    cluster.close()
        t1 = time.perf_counter()
        parts = [p for p in parts if p["n"]] or parts[:1]
        findings = pd.concat([p["findings"] for p in parts], ignore_index=True)
        order = np.argsort(findings[_ROW].to_numpy(), kind="stable")
        findings = findings.iloc[order].drop(columns=_ROW).reset_index(drop=True)
        verd = pd.concat([p["verdicts"] for p in parts])
        verd = verd.sort_values(_ROW, kind="stable").drop(columns=_ROW)
        verdicts = gpd.GeoDataFrame(verd, geometry=parts[0]["geometry"], crs=batch.whole().crs)
        _, _, evidence = join_parts([findings], [verdicts], [p["evidence"] for p in parts],
                                    batch.workspace.crs)
        tally = Tally.new()
        tally.count(verdicts["verdict"], findings[["rule_id", "status"]],
                    [x for p in parts for x in p["not_checked"]], rules=parts[0]["rules"],
                    seconds=time.perf_counter() - t0, notes=verdicts.get("notes"))
        info["dask_seconds"]["partition_max"] = round(max(p["seconds"] for p in parts), 3)
        info["dask_seconds"]["assemble"] = round(time.perf_counter() - t1, 3)
        return Run(findings=findings, verdicts=verdicts, evidence=evidence,
                   summary=batch_summary(batch, tally, info))

    def _compute(self, client: Client, batch: SiteBatch) -> tuple[list[dict[str, Any]],
                                                                  dict[str, Any]]:
        """Scatter the workspace and pack, evaluate the partitions, gather them."""
        import dask
        import dask_geopandas

        gdf = batch.whole()
        n = len(gdf)
        nworkers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
        size = self.chunk_size or DEFAULT_PARTITION_SIZE
        nparts = self.npartitions or max(2 * nworkers, -(-n // size), 1)
        nparts = max(1, min(nparts, n or 1))
        frame = gdf.copy()
        frame[_ROW] = np.arange(n, dtype=np.int64)
        frame[_INDEX] = gdf.index.to_numpy()
        frame = frame.reset_index(drop=True)
        t1 = time.perf_counter()
        ws_future = client.scatter(batch.workspace, broadcast=True, hash=False)
        pack_future = client.scatter(batch.pack, broadcast=True, hash=False)
        t_scatter = time.perf_counter() - t1
        # keep the input's column dtypes (dask would turn text into string[pyarrow])
        frame = frame.iloc[_hilbert_order(frame.geometry)]
        with dask.config.set({"dataframe.convert-string": False}):
            ddf = dask_geopandas.from_geopandas(frame, npartitions=nparts, sort=False)
            tasks = [dask.delayed(_evaluate_partition)(part, ws_future, pack_future,
                                                       batch.id_field, batch.subject,
                                                       batch.footprint_m)
                     for part in ddf.to_delayed()]
            t1 = time.perf_counter()
            parts = client.gather(client.compute(tasks))
            t_compute = time.perf_counter() - t1
        info = {"engine": "dask", "partitions": nparts, "workers": nworkers,
                "scheduler": self.scheduler or "local",
                "dask_seconds": {"scatter_workspace": round(t_scatter, 3),
                                 "partitions": round(t_compute, 3)}}
        return parts, info
