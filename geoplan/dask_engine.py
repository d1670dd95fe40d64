"""Scale-out: the same rule pack on dask-geopandas partitions with dask.distributed.

Needs the extra ``geoplan[dask]`` (dask-geopandas, distributed).

How it runs
-----------
1. The sites are read once on the client; their ids and subject are decided
   for the whole batch exactly as :func:`geoplan.check` decides them.
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
   verdicts are put back in input order. They are identical to
   :func:`geoplan.check`'s (the evidence rows come partition by partition).

``scheduler`` names an existing cluster (``tcp://host:8786``); without it a
``LocalCluster`` of ``n_workers`` single-threaded processes is started and
closed again.

Examples
--------
>>> from geoplan.dask_engine import check_dask
>>> res = check_dask("houses.parquet", "layers", n_workers=2)       # doctest: +SKIP
>>> res.counts()                                                    # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
import weakref
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .engine import ConstraintCache, constraint_cache
from .errors import GeoplanError
from .rules import RulePack, load_pack
from .scale import Tally, decide_ids, evaluate_block
from .sites import read_sites
from .workspace import Workspace, open_workspace

__all__ = ["check_dask"]

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
                        id_field: str | None, subject: str,
                        footprint_m: float | None) -> dict[str, Any]:
    """Runs on a worker: one spatial partition → findings, verdicts, evidence (input order)."""
    t0 = time.perf_counter()
    part = part.sort_values(_ROW, kind="stable")
    rows = part[_ROW].to_numpy(dtype=np.int64)
    index = part[_INDEX].to_numpy()
    block = part.drop(columns=[_ROW, _INDEX])
    block.index = pd.Index(index, name=None)
    ev = evaluate_block(block, ws, pack, id_field=id_field, rows=rows, subject=subject,
                        footprint_m=footprint_m, cache=_worker_cache(ws))
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


def _client(scheduler: str | None, n_workers: int | None) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise GeoplanError("the dask engine needs the extra: pip install 'geoplan[dask]'") \
            from exc
    if scheduler:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, host="127.0.0.1", dashboard_address=":0")
    return Client(cluster), cluster


def check_dask(
    sites: gpd.GeoDataFrame | str | os.PathLike[str],
    workspace: Workspace | str | os.PathLike[str],
    *,
    rules: RulePack | str | os.PathLike[str] = "yining-2025",
    subject: str | None = None,
    id_field: str | None = None,
    footprint_m: float | None = None,
    crs: str | int | None = None,
    gcj02: bool = False,
    scheduler: str | None = None,
    n_workers: int | None = None,
    npartitions: int | None = None,
    chunk_size: int | None = None,
    client: Any = None,
) -> Any:
    """:func:`geoplan.check` on a dask cluster; returns the same :class:`~geoplan.Result`.

    Parameters
    ----------
    sites, workspace, rules, subject, id_field, footprint_m, crs, gcj02
        As for :func:`geoplan.check`.
    scheduler
        Address of a running dask scheduler; default: start a ``LocalCluster``.
    n_workers
        Workers of the local cluster (default: one per core).
    npartitions
        Spatial partitions of the sites (default: ``ceil(n / chunk_size)``, at
        least two per worker).
    chunk_size
        Largest number of sites in one partition (default 50 000).
    client
        An existing ``distributed.Client`` (then ``scheduler`` is ignored).
    """
    import dask
    import dask_geopandas

    from .result import Result

    started = _dt.datetime.now(_dt.UTC)
    t0 = time.perf_counter()
    ws = workspace if isinstance(workspace, Workspace) else open_workspace(workspace)
    pack = rules if isinstance(rules, RulePack) else load_pack(rules)
    if isinstance(sites, gpd.GeoDataFrame):
        gdf = sites
        source = str(sites.attrs.get("source", "(GeoDataFrame)"))
        if gcj02:
            from .sites import apply_gcj02

            gdf = apply_gcj02(gdf, source=source)
    else:
        gdf = read_sites(sites, crs=crs, gcj02=gcj02)
        source = str(sites)
    n = len(gdf)
    id_used = decide_ids(gdf, id_field)
    if subject is None:  # decided on the whole batch (from the geometry types)
        import shapely

        from .engine import infer_subject
        from .hygiene import geometry_families

        g = np.asarray(gdf.geometry.to_numpy(), dtype=object)
        g = np.where(shapely.is_missing(g), shapely.Point(), g)
        subject = infer_subject(geometry_families(g))

    own_client, cluster = (client, None) if client is not None else _client(scheduler,
                                                                             n_workers)
    try:
        nworkers = max(1, len(own_client.scheduler_info().get("workers", {})) or 1)
        size = chunk_size or 50_000
        nparts = npartitions or max(2 * nworkers, -(-n // size), 1)
        nparts = max(1, min(nparts, n or 1))
        frame = gdf.copy()
        frame[_ROW] = np.arange(n, dtype=np.int64)
        frame[_INDEX] = gdf.index.to_numpy()
        frame = frame.reset_index(drop=True)
        t1 = time.perf_counter()
        ws_future = own_client.scatter(ws, broadcast=True, hash=False)
        pack_future = own_client.scatter(pack, broadcast=True, hash=False)
        t_scatter = time.perf_counter() - t1
        # keep the input's column dtypes (dask would turn text into string[pyarrow])
        frame = frame.iloc[_hilbert_order(frame.geometry)]
        with dask.config.set({"dataframe.convert-string": False}):
            ddf = dask_geopandas.from_geopandas(frame, npartitions=nparts, sort=False)
            tasks = [dask.delayed(_evaluate_partition)(part, ws_future, pack_future, id_used,
                                                       subject, footprint_m)
                     for part in ddf.to_delayed()]
            t1 = time.perf_counter()
            parts = own_client.gather(own_client.compute(tasks))
            t_compute = time.perf_counter() - t1
    finally:
        if client is None:
            own_client.close()
            if cluster is not None:
                cluster.close()

    t1 = time.perf_counter()
    parts = [p for p in parts if p["n"]] or parts[:1]
    findings = pd.concat([p["findings"] for p in parts], ignore_index=True)
    order = np.argsort(findings["_row"].to_numpy(), kind="stable")
    findings = findings.iloc[order].drop(columns="_row").reset_index(drop=True)
    verd = pd.concat([p["verdicts"] for p in parts])
    verd = verd.sort_values(_ROW, kind="stable").drop(columns=_ROW)
    verdicts = gpd.GeoDataFrame(verd, geometry=parts[0]["geometry"], crs=gdf.crs)
    e_parts = [p["evidence"] for p in parts if len(p["evidence"])] or [parts[0]["evidence"]]
    evidence = gpd.GeoDataFrame(pd.concat(e_parts, ignore_index=True), geometry="geometry",
                                crs=ws.crs)

    class _Ev:  # what Tally.add reads
        pass

    ev = _Ev()
    ev.findings, ev.verdicts = findings, verdicts  # type: ignore[attr-defined]
    ev.seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
    ev.rules = parts[0]["rules"]  # type: ignore[attr-defined]
    ev.not_checked_rules = [x for p in parts for x in p["not_checked"]]  # type: ignore[attr-defined]
    tally = Tally.new()
    tally.add(ev, subject)  # type: ignore[arg-type]
    summary = tally.summary(ws=ws, pack=pack, source=source,
                            sites_crs=gdf.crs.to_string() if gdf.crs is not None else None,
                            footprint_m=footprint_m, gcj02=gcj02, started=started,
                            extra={"engine": "dask", "partitions": nparts,
                                   "workers": nworkers, "scheduler": scheduler or "local",
                                   "dask_seconds": {
                                       "scatter_workspace": round(t_scatter, 3),
                                       "partitions": round(t_compute, 3),
                                       "partition_max": round(max(p["seconds"] for p in parts),
                                                              3),
                                       "assemble": round(time.perf_counter() - t1, 3)}})
    return Result(findings=findings, verdicts=verdicts, evidence=evidence, summary=summary,
                  pack=pack, workspace=ws, subject=subject)
