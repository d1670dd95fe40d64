"""One measurement, in its own process: ``python -m benchmarks.worker '<json>'``.

The workspace is opened and the sites read before the clock starts (as a
planner's session would have them); then one engine runs and the process
prints one JSON line: wall seconds, peak memory (resident set of this process
and its children, e.g. dask workers or the PostgreSQL server, sampled every
50 ms), sites, and where the digest of its findings was written.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


class PeakMemory:
    """Samples the summed RSS of a set of processes in a thread; ``peak_mb`` is the max."""

    def __init__(self, pids: Callable[[], Iterable[int]], every: float = 0.05) -> None:
        import psutil

        self._psutil = psutil
        self.pids, self.every, self.peak = pids, every, 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(self._psutil.Error):
                total += self._psutil.Process(pid).memory_info().rss
        self.peak = max(self.peak, total)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def __enter__(self) -> PeakMemory:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sample()
        self._stop.set()
        self._t.join()

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20


def _tree() -> list[int]:
    import psutil

    me = psutil.Process()
    return [me.pid, *[c.pid for c in me.children(recursive=True)]]


def _geoplan_digest(findings: pd.DataFrame, rules: list[Any]) -> pd.DataFrame:
    kinds = {r.id: r.kind for r in rules}
    f = findings[findings["rule_id"].isin(list(kinds))]
    area = np.where(f["rule_id"].map(kinds).isin(["overlap", "within"]).to_numpy(),
                    f["measure"].to_numpy(dtype=float), np.nan)
    return pd.DataFrame({"site_id": f["site_id"].to_numpy(dtype=object),
                         "rule_id": f["rule_id"].to_numpy(dtype=object),
                         "status": f["status"].to_numpy(dtype=object), "area": area})


def main(args: dict[str, Any]) -> dict[str, Any]:
    import geopandas as gpd

    import geoplan
    from geoplan.rules import load_pack

    from . import peers

    engine = args["engine"]
    ws = geoplan.open_workspace(args["workspace"])
    sites = gpd.read_parquet(args["sites"])
    pack = load_pack("yining-2025")
    n_all = len(sites)
    sample = args.get("sample")
    if sample and sample < n_all:
        sites = sites.iloc[np.linspace(0, n_all - 1, sample).astype(int)]
    site_id = sites["house_id"].to_numpy(dtype=object) if "house_id" in sites.columns \
        else np.array([str(i) for i in range(1, len(sites) + 1)], dtype=object)
    geoms = np.asarray(sites.geometry.to_numpy(), dtype=object)
    rules = peers.shared_rules(ws, pack) if engine not in ("geoplan", "dask", "stream") else []
    digest: pd.DataFrame | None = None
    extra: dict[str, Any] = {}
    cluster: Any = None
    client: Any = None
    pg: Any = None
    pids: Callable[[], Iterable[int]] = _tree
    try:
        if engine == "dask":
            from distributed import Client, LocalCluster

            cluster = LocalCluster(n_workers=args["workers"], threads_per_worker=1,
                                   processes=True, host="127.0.0.1", dashboard_address=":0")
            client = Client(cluster)
        if engine == "postgis":
            from . import postgis

            pg = postgis.Cluster().__enter__()
            t0 = time.perf_counter()
            tables = postgis.load_layers(pg, rules)
            extra["layer_load_s"] = round(time.perf_counter() - t0, 2)
            pids = lambda: [*_tree(), *postgis.server_pids(pg)]  # noqa: E731
        with PeakMemory(pids) as mem:
            t0 = time.perf_counter()
            if engine in ("geoplan", "geoplan-shared"):
                p = pack if engine == "geoplan" else peers.shared_pack(pack)
                res = geoplan.check(sites, ws, rules=p)
                seconds = time.perf_counter() - t0
                extra["verdicts"] = res.summary["verdicts"]
                if engine == "geoplan-shared":
                    digest = _geoplan_digest(res.findings, peers.shared_rules(ws, pack))
            elif engine == "dask":
                from geoplan.dask_engine import check_dask

                res = check_dask(sites, ws, client=client, chunk_size=args.get("chunk_size"))
                seconds = time.perf_counter() - t0
                extra["verdicts"] = res.summary["verdicts"]
                extra["partitions"] = res.summary["partitions"]
                extra["dask_seconds"] = res.summary["dask_seconds"]
            elif engine == "stream":
                from geoplan.scale import check_to_files

                summary = check_to_files(args["sites"], ws, args["out"],
                                         chunk_size=args.get("chunk_size") or 100_000,
                                         gpkg=args.get("gpkg", False))
                seconds = time.perf_counter() - t0
                extra["verdicts"] = summary["verdicts"]
            elif engine == "floor":
                digest = peers.run_floor(site_id, geoms, rules)
                seconds = time.perf_counter() - t0
            elif engine == "geopandas":
                digest = peers.run_geopandas(site_id, sites.geometry, rules)
                seconds = time.perf_counter() - t0
            elif engine == "notebook":
                digest = peers.run_notebook(site_id, sites.geometry, rules)
                seconds = time.perf_counter() - t0
            elif engine == "postgis":
                from . import postgis

                digest, load = postgis.run_postgis(pg, tables, site_id, geoms, rules)
                seconds = time.perf_counter() - t0
                extra["sites_load_s"] = round(load, 2)
            else:
                raise ValueError(f"unknown engine {engine!r}")
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
        if pg is not None:
            pg.__exit__(None, None, None)
    out = {"engine": engine, "seconds": seconds, "peak_mb": mem.peak_mb, "n": len(sites),
           "n_all": n_all, "extra": extra, "digest": None}
    if sample and sample < n_all:
        out["extrapolated_seconds"] = seconds * n_all / len(sites)
    if digest is not None and args.get("digest"):
        Path(args["digest"]).parent.mkdir(parents=True, exist_ok=True)
        digest.to_parquet(args["digest"])
        out["digest"] = args["digest"]
    return out


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print("RESULT " + json.dumps(result), flush=True)
