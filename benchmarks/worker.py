"""One measurement, in its own process: ``python -m benchmarks.worker '<json>'``.

The workspace is opened and the sites read before the clock starts (as a
planner's session would have them); then one engine runs and the process
prints one JSON line: wall seconds, peak memory (resident set of this process
and its children, e.g. dask workers or the PostgreSQL server, sampled every
50 ms), sites, and where the digest of its findings was written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

_SAMPLER = r"""
import glob, os, sys, time, psutil
every, pss_every, spill = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
roots = [int(x) for x in sys.argv[4:]]
peak = peak_pss = 0
last_pss = 0.0
def sample():
    global peak, peak_pss, last_pss
    total = 0
    procs = []
    for r in roots:
        try:
            procs.append(psutil.Process(r))
            procs += procs[-1].children(recursive=True)
        except psutil.Error:
            continue
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    # a forked block's tables wait in a file of geoplan's spill folder (tmpfs: memory
    # that no process maps) until the parent reads them: counted in both sums
    spilled = 0
    for f in glob.glob(spill):
        try:
            spilled += os.stat(f).st_blocks * 512
        except OSError:
            pass
    total += spilled
    peak = max(peak, total)
    now = time.monotonic()
    if pss_every > 0 and now - last_pss >= pss_every:
        last_pss, pss = now, spilled
        for p in procs:
            try:
                pss += p.memory_full_info().pss
            except (psutil.Error, AttributeError):
                pass
        peak_pss = max(peak_pss, pss)
import select
while True:
    sample()
    if select.select([sys.stdin], [], [], every)[0]:
        sys.stdin.read()
        sample()
        print(peak, peak_pss, flush=True)
        break
"""


class PeakMemory:
    """Samples the summed RSS of process trees from another process; ``peak_mb`` is the max.

    The sum counts pages that forked processes share with their parent in
    every one of them, so for geoplan's ``jobs`` it is an upper bound. The
    proportional set size (PSS), which would count them once, was tried:
    reading it walks each process's page tables, and sampling it four times a
    second slowed geoplan on 10⁵ footprints from 5.5 to 6.4 s. The sampler
    runs in a process of its own: as a thread of the measured process it
    competed for the GIL with geoplan's own evaluation in that process.

    With ``pss_every`` > 0 it also sums the PSS every ``pss_every`` seconds
    (``pss_peak_mb``): the memory the trees really hold, shared pages counted
    once, at a rate slow enough not to slow what is measured — used for the
    streamed runs, where a forked process writes one chunk's tables while the
    parent evaluates the next (minutes long, so a sample a second sees the
    plateaus). Both sums add the files that geoplan's forked blocks leave in
    ``/dev/shm`` (:func:`geoplan.runners.local.spill_folder`) until the parent
    reads them: memory that no process maps.

    Parameters
    ----------
    roots
        Processes whose whole trees are summed (this one, a PostgreSQL server…).
    every
        Seconds between samples.
    pss_every
        Seconds between PSS samples (0: none).
    """

    def __init__(self, roots: Callable[[], Iterable[int]], every: float = 0.05,
                 pss_every: float = 0.0) -> None:
        self.roots, self.every, self.pss_every = roots, every, pss_every
        self.peak = self.peak_pss = 0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> PeakMemory:
        from geoplan.runners.local import SPILL_PREFIX

        spill = os.path.join("/dev/shm", SPILL_PREFIX + "*")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _SAMPLER, str(self.every), str(self.pss_every), spill,
             *map(str, self.roots())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            out, _ = self._proc.communicate("stop", timeout=60)
            rss, pss = [*out.split(), "0", "0"][:2]
            self.peak, self.peak_pss = int(rss), int(pss)

    @property
    def peak_mb(self) -> float:
        return self.peak / 2**20

    @property
    def pss_peak_mb(self) -> float:
        return self.peak_pss / 2**20


def _geoplan_digest(findings: pd.DataFrame, rules: list[Any]) -> pd.DataFrame:
    kinds = {r.id: r.kind for r in rules}
    f = findings[findings["rule_id"].isin(list(kinds))]
    area = np.where(f["rule_id"].map(kinds).isin(["overlap", "within"]).to_numpy(),
                    f["measure"].to_numpy(dtype=float), np.nan)
    return pd.DataFrame({"site_id": f["site_id"].to_numpy(dtype=object),
                         "rule_id": f["rule_id"].to_numpy(dtype=object),
                         "status": f["status"].to_numpy(dtype=object), "area": area})


@dataclass
class _Session:
    """What a measurement runs on, opened before the clock starts, and what it reports."""

    args: dict[str, Any]
    engine: str
    ws: Any
    sites: pd.DataFrame
    pack: Any
    site_id: np.ndarray
    geoms: np.ndarray
    rules: list[Any]
    n_all: int
    extra: dict[str, Any] = field(default_factory=dict)
    cluster: Any = None
    client: Any = None
    pg: Any = None
    tables: Any = None
    layers: Any = None


Clocked = tuple[float, pd.DataFrame | None]
"""An engine's wall seconds (from the start given, stopped as soon as it is done) and digest."""


def _run_geoplan(s: _Session, t0: float) -> Clocked:
    """geoplan.check with the full pack, or with the shared rules (then a digest)."""
    import geoplan

    from . import peers

    p = s.pack if s.engine == "geoplan" else peers.shared_pack(s.pack)
    res = geoplan.check(s.sites, s.ws, rules=p, jobs=s.args.get("workers"))
    seconds = time.perf_counter() - t0
    s.extra["verdicts"] = res.summary["verdicts"]
    s.extra["jobs"] = res.summary.get("jobs")
    digest = None
    if s.engine == "geoplan-shared":
        digest = _geoplan_digest(res.findings, peers.shared_rules(s.ws, s.pack))
    return seconds, digest


def _run_dask(s: _Session, t0: float) -> Clocked:
    """The dask engine on the cluster started for it."""
    import geoplan

    res = geoplan.check(s.sites, s.ws, engine="dask", scheduler=s.client,
                        chunk_size=s.args.get("chunk_size"))
    seconds = time.perf_counter() - t0
    s.extra["verdicts"] = res.summary["verdicts"]
    s.extra["partitions"] = res.summary["partitions"]
    s.extra["dask_seconds"] = res.summary["dask_seconds"]
    return seconds, None


def _run_stream(s: _Session, t0: float) -> Clocked:
    """Checked in chunks, the outputs streamed to files."""
    import geoplan

    summary = geoplan.check(s.args["sites"], s.ws, engine="chunked", out=s.args["out"],
                            chunk_size=s.args.get("chunk_size") or 50_000,
                            gpkg=s.args.get("gpkg", False), jobs=s.args.get("jobs"),
                            findings_index=s.args.get("findings_index")).summary
    seconds = time.perf_counter() - t0
    s.extra["verdicts"] = summary["verdicts"]
    s.extra["output_notes"] = [n["en"] for n in summary.get("output_notes", [])]
    out = Path(s.args["out"])
    s.extra["written_mb"] = {p.name: round(p.stat().st_size / 2**20)
                             for p in sorted(out.iterdir()) if p.is_file()}
    shutil.rmtree(out, ignore_errors=True)  # 10^6 sites write 13 GB: not kept between runs
    return seconds, None


def _run_direct_join(s: _Session, t0: float) -> Clocked:
    """The direct-join peer (once called the floor): shapely alone, layers as they are."""
    from . import peers

    digest = peers.run_direct_join(s.site_id, s.geoms, s.rules)
    return time.perf_counter() - t0, digest


def _run_shapely_expert(s: _Session, t0: float) -> Clocked:
    """The shapely expert on the pieces prepared before the clock started."""
    from . import peers

    digest = peers.run_shapely_expert(s.site_id, s.geoms, s.layers)
    return time.perf_counter() - t0, digest


def _run_geopandas(s: _Session, t0: float) -> Clocked:
    """The geopandas peer on the shared rules."""
    from . import peers

    digest = peers.run_geopandas(s.site_id, s.sites.geometry, s.rules)
    return time.perf_counter() - t0, digest


def _run_notebook(s: _Session, t0: float) -> Clocked:
    """The notebook loop on the shared rules (a sample of the sites)."""
    from . import peers

    digest = peers.run_notebook(s.site_id, s.sites.geometry, s.rules)
    return time.perf_counter() - t0, digest


def _run_postgis(s: _Session, t0: float) -> Clocked:
    """PostGIS on the shared rules, the layers loaded beforehand."""
    from . import postgis

    digest, load = postgis.run_postgis(s.pg, s.tables, s.site_id, s.geoms, s.rules)
    seconds = time.perf_counter() - t0
    s.extra["sites_load_s"] = round(load, 2)
    return seconds, digest


def _run_postgis_expert(s: _Session, t0: float) -> Clocked:
    """PostGIS on the subdivided layers, with ``workers`` parallel workers per Gather (0: none).

    After the clock stops, the plans are explained (a Gather node where
    workers > 0) and the slowest query is run again under ``EXPLAIN ANALYZE``.
    """
    from . import peers, postgis

    w = int(s.args.get("workers", 2))
    digest, load, per_rule = postgis.run_postgis_expert(s.pg, s.tables, s.site_id, s.geoms,
                                                        s.rules, workers=w)
    seconds = time.perf_counter() - t0
    s.extra["sites_load_s"] = round(load, 2)
    s.extra["query_s"] = {k: round(v, 3) for k, v in per_rule.items()}
    slowest = max(per_rule, key=per_rule.__getitem__)
    s.extra["explain"] = postgis.explain(s.pg, s.tables, s.rules, w, analyze=slowest,
                                         points=peers.point_batch(s.geoms))
    return seconds, digest


_ENGINES: dict[str, Callable[[_Session, float], Clocked]] = {
    "geoplan": _run_geoplan, "geoplan-shared": _run_geoplan, "dask": _run_dask,
    "stream": _run_stream, "direct-join": _run_direct_join, "floor": _run_direct_join,
    "shapely-expert": _run_shapely_expert, "geopandas": _run_geopandas,
    "notebook": _run_notebook, "postgis": _run_postgis, "postgis-expert": _run_postgis_expert,
}
"""Each engine: run it on the session, stop the clock, note what it reports."""


def _open(args: dict[str, Any]) -> _Session:
    """Open the workspace and read the sites (the ``sample`` of them), before any clock runs."""
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
    return _Session(args=args, engine=engine, ws=ws, sites=sites, pack=pack, site_id=site_id,
                    geoms=geoms, rules=rules, n_all=n_all)


def _start_services(s: _Session) -> Callable[[], Iterable[int]]:
    """Start the dask cluster or PostgreSQL server the engine needs; the process trees to measure."""
    if s.engine == "dask":
        from distributed import Client, LocalCluster

        s.cluster = LocalCluster(n_workers=s.args["workers"], threads_per_worker=1,
                                 processes=True, host="127.0.0.1", dashboard_address=":0")
        s.client = Client(s.cluster)
    if s.engine in ("geoplan", "geoplan-shared"):
        # what a planner's session does once per opened workspace (and what forked
        # processes then share): the peers' subdividing and indexing is outside their clock too
        from geoplan.engine import prepare_rules

        from . import peers

        t0 = time.perf_counter()
        p = s.pack if s.engine == "geoplan" else peers.shared_pack(s.pack)
        lines = s.sites.geom_type.isin(["LineString", "MultiLineString"]).to_numpy()
        subject = "road" if lines.any() else "house"  # as geoplan.check decides the batch's
        s.extra["constraints"] = prepare_rules(s.ws, p, subject=subject)
        s.extra["setup_s"] = round(time.perf_counter() - t0, 2)
    if s.engine == "shapely-expert":
        from . import peers

        t0 = time.perf_counter()
        s.layers = peers.prepare_expert(s.rules)
        s.extra["setup_s"] = round(time.perf_counter() - t0, 2)
        s.extra["pieces"] = int(sum(len(x.pieces) for x in s.layers))
        s.extra["dissolved"] = [x.rule.id for x in s.layers if x.dissolved]
    if s.engine in ("postgis", "postgis-expert"):
        from . import postgis

        s.pg = postgis.Cluster().__enter__()
        t0 = time.perf_counter()
        if s.engine == "postgis":
            s.tables = postgis.load_layers(s.pg, s.rules)
        else:
            s.tables, info = postgis.load_expert_layers(s.pg, s.rules)
            s.extra.update(info)
        s.extra["setup_s"] = round(time.perf_counter() - t0, 2)
        return lambda: [os.getpid(), *([s.pg.pid] if s.pg.pid is not None else [])]
    return lambda: [os.getpid()]


def _stop_services(s: _Session) -> None:
    """Close the dask client and cluster, stop the PostgreSQL server (those started)."""
    if s.client is not None:
        s.client.close()
    if s.cluster is not None:
        s.cluster.close()
    if s.pg is not None:
        s.pg.__exit__(None, None, None)


def main(args: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement described by ``args``; what the process prints as ``RESULT``."""
    s = _open(args)
    try:
        pids = _start_services(s)
        with PeakMemory(pids, pss_every=1.0 if s.engine == "stream" else 0.0) as mem:
            t0 = time.perf_counter()
            run = _ENGINES.get(s.engine)
            if run is None:
                raise ValueError(f"unknown engine {s.engine!r}")
            seconds, digest = run(s, t0)
    finally:
        _stop_services(s)
    if mem.peak_pss:
        s.extra["pss_peak_mb"] = round(mem.pss_peak_mb, 1)
    out = {"engine": s.engine, "seconds": seconds, "peak_mb": mem.peak_mb, "n": len(s.sites),
           "n_all": s.n_all, "extra": s.extra, "digest": None}
    sample = args.get("sample")
    if sample and sample < s.n_all:
        out["extrapolated_seconds"] = seconds * s.n_all / len(s.sites)
    if digest is not None and args.get("digest"):
        Path(args["digest"]).parent.mkdir(parents=True, exist_ok=True)
        digest.to_parquet(args["digest"])
        out["digest"] = args["digest"]
    return out


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print("RESULT " + json.dumps(result), flush=True)
