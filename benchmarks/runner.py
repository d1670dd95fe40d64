"""``python -m benchmarks``: generate the county, run every engine, check they agree, print one table.

Each measurement runs in its own process (:mod:`benchmarks.worker`), one after
the other, so peak memory is that engine's own. Before any time is printed
the findings of every peer are compared with geoplan's on the shared rules
(status of every site × rule, and overlap areas to 10⁻⁶ relative): a peer
that disagrees is reported as ``DISAGREES`` with the first differences, and
gets no time.

Default run (about 20 minutes once the data are cached; the first run
generates the county, ~1.5 min): the 10⁵-parcel county; houses 10³, 10⁴, 10⁵
with the full pack; the shared rules at 10⁴ and 10⁵ for geoplan and every peer
(the direct-join PostGIS peer at 10⁴ only); dask with 1 and 2 workers at 10⁵;
points 10⁵; roads 10⁴. ``--big`` adds the 10⁶-parcel county and a streamed run
of 10⁶ house footprints; ``--peers-points`` the shared rules on house points;
``--repeat`` runs every measurement several times, interleaved, and reports
the fastest run (and, in the notes, every run).

Peers (``--peers``, see :mod:`benchmarks.peers`): ``direct-join`` (alias
``floor``, its old name), ``shapely-expert``, ``geopandas``, ``notebook``,
``postgis`` (the direct join in SQL) and ``postgis-expert`` (one row per
``--pg-workers`` value: parallel workers per Gather, 0 for the single-core
row). One-off preparation outside the clock — loading the layers into
PostgreSQL, subdividing and indexing them; for geoplan, building the opened
workspace's indexes (:func:`geoplan.engine.prepare_rules`, what a session does
once however many batches it checks) — is shown as *setup s*. geoplan runs on
every core (its default, ``jobs=None``) and, next to it wherever the peers
run, in one process (``jobs=1``; ``--no-geoplan-one`` leaves that row out).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .generate import bench_dir, county_workspace, site_batch

__all__ = ["main"]


PEERS = ("direct-join", "shapely-expert", "geopandas", "notebook", "postgis", "postgis-expert")
"""Every peer ``--peers`` accepts, in the order of the table."""
ALIASES = {"floor": "direct-join"}
"""Old peer names still accepted on the command line."""
POINT_PEERS = ("direct-join", "shapely-expert", "postgis-expert")
"""The peers that check house points (``--peers-points``)."""


@dataclass
class Job:
    workload: str
    engine: str
    args: dict[str, Any]
    group: str = ""              # jobs in one group are compared with each other
    base: str | None = None      # the engine whose time is the ratio's denominator
    result: dict[str, Any] = field(default_factory=dict)
    agree: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)  # one result per --repeat

    @property
    def label(self) -> str:
        """The engine as the table names it."""
        eng = self.engine
        if eng == "dask":
            w = self.args["workers"]
            eng += f" ({w} worker{'s' if w > 1 else ''})"
        if eng in ("geoplan", "geoplan-shared") and self.result.get("extra", {}).get("jobs"):
            w = self.result["extra"]["jobs"]
            eng += f" ({w} process{'es' if w > 1 else ''})"
        if eng == "postgis-expert":
            w = self.args["workers"]
            eng += f" ({w} parallel workers)" if w else " (no parallel workers)"
        if "extrapolated_seconds" in self.result:
            eng += f" (sample {self.result['n']}, extrapolated)"
        if eng == "stream":
            files = "CSV + GeoPackage" if self.args.get("gpkg") else "CSV"
            if self.args.get("gpkg") and self.args.get("findings_index"):
                files += " (findings layer indexed)"
            jobs = self.args.get("jobs") or 1
            eng += (f" (chunks of {self.args['chunk_size']:,}, {files} written, "
                    f"{jobs} process{'es' if jobs > 1 else ''} per chunk)")
        return eng


def _run(job: Job, timeout: float) -> None:
    """Run the job once in its own process; its result is added to ``job.runs``."""
    job.result = {}
    args = dict(job.args)
    if args.get("digest") and job.runs:  # every run keeps its own digest
        args["digest"] = args["digest"].replace(".parquet", f"-r{len(job.runs)}.parquet")
    load = os.getloadavg()[0]
    _run_once(job, args, timeout)
    job.result["load_avg_1min_at_start"] = round(load, 2)
    job.runs.append(job.result)


def _best_result(job: Job) -> None:
    """``job.result`` becomes the fastest run, with every run's seconds listed.

    The fastest, not the median: on a shared machine the other runs are slower
    by what else was running, not by what the engine did.
    """
    ok = [r for r in job.runs if "error" not in r]
    if len(ok) < len(job.runs) or not ok:
        job.result = next(r for r in job.runs if "error" in r)
        return
    key = "extrapolated_seconds" if "extrapolated_seconds" in ok[0] else "seconds"
    job.result = dict(min(ok, key=lambda r: r[key]))
    if len(ok) > 1:
        job.result["runs_s"] = [round(r[key], 2) for r in ok]
        job.result["median_s"] = float(np.median([r[key] for r in ok]))
        job.result["peak_mb"] = max(r["peak_mb"] for r in ok)


def _run_once(job: Job, args: dict[str, Any], timeout: float) -> None:
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # see .library/env README
        env.pop(var, None)
    cmd = [sys.executable, "-m", "benchmarks.worker", json.dumps(args)]
    label = f"{job.workload} · {job.engine}"
    print(f"[bench] {label} …", flush=True)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                           cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        job.result = {"error": f"timed out after {timeout:.0f} s"}
        print(f"[bench]   timed out after {timeout:.0f} s", flush=True)
        return
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
        job.result = {"error": " | ".join(tail)}
        print(f"[bench]   failed: {job.result['error']}", flush=True)
        return
    job.result = json.loads(lines[-1][len("RESULT "):])
    pss = job.result.get("extra", {}).get("pss_peak_mb")
    print(f"[bench]   {job.result['seconds']:.2f} s ({time.perf_counter() - t0:.0f} s with "
          f"setup), peak {job.result['peak_mb']:.0f} MB"
          + (f" (RSS summed; PSS {pss:.0f} MB, sampled each second)" if pss else ""),
          flush=True)


def _agreement(ref: pd.DataFrame, other: pd.DataFrame) -> str:
    """'' when the two digests agree on every shared site × rule, else what differs."""
    m = ref.merge(other, on=["site_id", "rule_id"], how="inner", suffixes=("", "_p"))
    if len(m) != len(other):
        return f"{len(other) - len(m)} site × rule rows not in geoplan's findings"
    bad = m["status"] != m["status_p"]
    a, b = m["area"].fillna(0).to_numpy(), m["area_p"].fillna(0).to_numpy()
    bad_area = np.abs(a - b) > 1e-6 * np.maximum(1.0, np.abs(a)) + 1e-6
    if bad.any() or bad_area.any():
        first = m[bad | bad_area].head(3)
        return (f"{int(bad.sum())} statuses and {int(bad_area.sum())} areas differ, e.g. "
                + "; ".join(f"{r.site_id} {r.rule_id}: {r.status}/{r.area:.3f} vs "
                            f"{r.status_p}/{r.area_p:.3f}" for r in first.itertuples()))
    return ""


def checksum(d: pd.DataFrame) -> str:
    """A short checksum over site × rule statuses and total area (areas to 0.01 m²)."""
    import hashlib

    d = d.sort_values(["site_id", "rule_id"], kind="stable")
    h = hashlib.sha256("\n".join(d["site_id"] + "|" + d["rule_id"] + "|" + d["status"])
                       .encode())
    total = float(np.nansum(d["area"].to_numpy(dtype=float)))
    return f"{h.hexdigest()[:10]}/{total:,.2f} m²"


def machine() -> dict[str, Any]:
    import geopandas
    import numpy
    import pandas
    import shapely

    import geoplan

    info: dict[str, Any] = {
        "python": platform.python_version(), "platform": platform.platform(),
        "cores": os.cpu_count(), "geoplan": geoplan.__version__,
        "shapely": shapely.__version__, "geos": shapely.geos_version_string,
        "geopandas": geopandas.__version__, "numpy": numpy.__version__,
        "pandas": pandas.__version__,
    }
    try:
        cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in cpu.splitlines()
                            if ln.startswith("Model name")), "")
    except OSError:
        pass
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
        info["load_avg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except ImportError:
        pass
    for mod in ("dask", "distributed", "dask_geopandas"):
        with contextlib.suppress(ImportError):
            info[mod] = __import__(mod).__version__
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_info

        info["blas"] = [f"{x.get('internal_api')} {x.get('version')} "
                        f"{x.get('architecture', '')}" for x in threadpool_info()]
    return info


def _plan_peers(a: argparse.Namespace, add: Callable[..., None], wl: str, sites: Path,
                group: str, n: int, peers: list[str], points: bool = False) -> None:
    """geoplan on the shared rules, then every peer, on one batch.

    The notebook runs on a sample (``--notebook-sample``), and so does the
    direct join on points (``--points-sample``: its ``dwithin`` and distances
    to whole zones of 10⁴–10⁵ vertices take ~1 ms a point, its
    ``query_nearest`` to them took ~13 ms before distances were reported within
    a radius only); their times are extrapolated.
    """
    add(wl, "geoplan-shared", sites, group=group)  # every core (the default), the reference
    if a.geoplan_one:
        add(wl, "geoplan-shared", sites, group=group, base="geoplan-shared", workers=1)
    for peer in peers:
        if peer == "postgis" and n not in a.postgis_at:
            continue
        if peer == "postgis-expert":
            for w in a.pg_workers:
                add(wl, peer, sites, group=group, base="geoplan-shared", workers=w)
            continue
        kw: dict[str, Any] = {}
        if peer == "notebook":
            kw["sample"] = min(a.notebook_sample, n)
        if peer == "direct-join" and points:
            kw["sample"] = min(a.points_sample, n)
        add(wl, peer, sites, group=group, base="geoplan-shared", **kw)


def plan(a: argparse.Namespace, tmp: Path) -> list[Job]:
    ws = county_workspace(a.parcels, dem=a.dem)
    jobs: list[Job] = []
    tag = f"{a.parcels:.0e}".replace("e+0", "e").replace("1e", "10^")

    def add(workload: str, engine: str, sites: Path, group: str = "", base: str | None = None,
            **kw: Any) -> None:
        d = str(tmp / f"{len(jobs)}-{engine}.parquet")
        jobs.append(Job(workload, engine, {"engine": engine, "workspace": str(ws),
                                           "sites": str(sites), "digest": d, **kw},
                        group=group, base=base))

    for n in a.houses:
        add(f"houses {n:,} · full pack · parcels {tag}", "geoplan", site_batch(ws, "house", n),
            group=f"full-{n}")
        if n in a.dask_at:
            for w in a.dask_workers:
                add(f"houses {n:,} · full pack · parcels {tag}", "dask", site_batch(ws, "house", n),
                    group=f"full-{n}", base="geoplan", workers=w)
    for n in a.peers_at:
        _plan_peers(a, add, f"houses {n:,} · shared rules · parcels {tag}",
                    site_batch(ws, "house", n), f"shared-{n}", n, a.peers)
    for n in a.peers_points:
        _plan_peers(a, add, f"house points {n:,} · shared rules · parcels {tag}",
                    site_batch(ws, "point", n), f"shared-points-{n}", n,
                    [p for p in a.peers if p in POINT_PEERS], points=True)
    for n in a.points:
        add(f"house points {n:,} · full pack · parcels {tag}", "geoplan",
            site_batch(ws, "point", n), group=f"points-{n}")
    for n in a.roads:
        add(f"roads {n:,} · full pack · parcels {tag}", "geoplan", site_batch(ws, "road", n),
            group=f"roads-{n}")
    for n in a.stream:
        jobs.append(Job(f"houses {n:,} · full pack · parcels {tag} · streamed", "stream",
                        {"engine": "stream", "workspace": str(ws),
                         "sites": str(site_batch(ws, "house", n)),
                         "out": str(tmp / f"stream-{n}"), "chunk_size": a.chunk_size,
                         "gpkg": not a.stream_csv_only, "jobs": a.stream_jobs,
                         "findings_index": a.findings_index},
                        group=f"stream-{n}"))
    if a.big:
        big = county_workspace(1_000_000, dem=a.dem)
        n = 1_000_000
        s = site_batch(big, "house", n)
        jobs.append(Job(f"houses {n:,} · full pack · parcels 10^6 · streamed", "stream",
                        {"engine": "stream", "workspace": str(big), "sites": str(s),
                         "out": str(tmp / "stream-big"), "chunk_size": a.chunk_size,
                         "gpkg": not a.stream_csv_only, "jobs": a.stream_jobs,
                         "findings_index": a.findings_index},
                        group="big-stream"))
        s2 = site_batch(big, "house", 100_000)
        jobs.append(Job("houses 100,000 · full pack · parcels 10^6", "geoplan",
                        {"engine": "geoplan", "workspace": str(big), "sites": str(s2)}))
    return jobs


def _fmt_table(jobs: list[Job]) -> str:
    rows = []
    times = {(j.group, j.engine, j.args.get("workers")): j for j in jobs}
    for j in jobs:
        r = j.result
        eng = j.label
        if "error" in r:
            rows.append([j.workload, eng, "failed", "", "", "", "", r["error"][:60]])
            continue
        if j.agree:
            rows.append([j.workload, eng, "DISAGREES", "", "", "", "", j.agree[:80]])
            continue
        sec = r.get("extrapolated_seconds", r["seconds"])
        rate = r["n_all"] / sec if sec > 0 else float("inf")
        ratio = inverse = ""
        if j.base is not None:
            b = times.get((j.group, j.base, None))
            if b is not None and "seconds" in b.result and not b.agree:
                ratio = f"{sec / b.result['seconds']:.2f}×"
                inverse = f"{b.result['seconds'] / sec:.2f}×" if sec > 0 else ""
        elif any(x.base == j.engine and x.group == j.group for x in jobs):
            ratio = inverse = "1.00×"
        setup = r.get("extra", {}).get("setup_s")
        rows.append([j.workload, eng, f"{sec:,.1f}", f"{rate:,.0f}", f"{r['peak_mb']:,.0f}",
                     "" if setup is None else f"{setup:,.1f}", ratio, inverse])
    head = ["workload", "engine", "wall s", "sites/s", "peak MB", "setup s", "time ÷ geoplan",
            "geoplan ÷ time"]
    widths = [max(len(str(x[i])) for x in [head, *rows]) for i in range(len(head))]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
            for r in rows]
    return "\n".join([line, sep, *body])


def _notes(jobs: list[Job]) -> list[str]:
    """What the table cannot hold: runs of each measurement, setup, pieces, parallel plans."""
    out = []
    for j in jobs:
        r, x = j.result, j.result.get("extra", {})
        if "error" in r:
            continue
        bits = []
        if "runs_s" in r:
            bits.append("runs " + ", ".join(f"{v:.2f}" for v in r["runs_s"])
                        + f" s (median {r['median_s']:.2f})")
        if "setup_s" in x:
            part = (f" (COPY {x['load_s']:.1f} s, ST_Subdivide + overlap check + GiST + "
                    f"ANALYZE {x['subdivide_s']:.1f} s)" if "subdivide_s" in x else "")
            bits.append(f"setup {x['setup_s']:.1f} s{part}")
        if "written_mb" in x:
            bits.append("wrote " + ", ".join(f"{k} {v:,} MB" for k, v in x["written_mb"].items()))
        bits += [f"geoplan said: {note}" for note in x.get("output_notes", [])]
        if "pss_peak_mb" in x:
            bits.append(f"peak PSS {x['pss_peak_mb']:,.0f} MB (shared pages counted once, "
                        "sampled each second; the table's peak MB sums RSS)")
        if "pieces" in x:
            bits.append(f"{x['pieces']:,} pieces"
                        + (f", dissolved {', '.join(x['dissolved'])}" if x.get("dissolved")
                           else ", no layer needed dissolving"))
        e = x.get("explain")
        if e:
            wp = sorted({v for v in e["workers_planned"].values() if v is not None})
            bits.append(f"Gather in {len(e['gather'])}/{e['rules']} plans"
                        + (f" (workers planned {'/'.join(map(str, wp))})" if wp else ""))
            launched = [ln.strip() for ln in e.get("analyze", {}).get("plan", [])
                        if "Workers Launched" in ln]
            if launched:
                bits.append(f"EXPLAIN ANALYZE {e['analyze']['rule']}: "
                            + "; ".join(launched))
        if bits:
            out.append(f"  {j.workload} · {j.label}: " + "; ".join(bits))
    return out


def _parser() -> argparse.ArgumentParser:
    """The command line of ``python -m benchmarks``."""

    def ints(s: str) -> list[int]:
        return [int(float(x)) for x in s.split(",") if x.strip()]

    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("--parcels", type=int, default=100_000, help="land-use parcels (10^5)")
    ap.add_argument("--dem", type=int, default=10_000, help="DEM side in cells (10^4)")
    ap.add_argument("--houses", type=ints, default=[1_000, 10_000, 100_000],
                    help="house batches checked with the full pack")
    ap.add_argument("--peers-at", type=ints, default=[10_000, 100_000],
                    help="house batches on which the peers run (shared rules)")
    def peers(s: str) -> list[str]:
        out = [ALIASES.get(x.strip(), x.strip()) for x in s.split(",") if x.strip()]
        bad = [x for x in out if x not in PEERS]
        if bad:
            raise argparse.ArgumentTypeError(
                f"unknown peer(s) {', '.join(bad)}; choose from {', '.join(PEERS)} "
                f"(floor = direct-join)")
        return out

    ap.add_argument("--peers", default=",".join(PEERS), type=peers,
                    help="peers: " + ", ".join(PEERS) + " (floor: the old name of direct-join)")
    ap.add_argument("--postgis-at", type=ints, default=[10_000],
                    help="house batches on which the direct-join PostGIS peer runs (it needs "
                         "~8 min for 10^5); postgis-expert runs wherever the peers do")
    ap.add_argument("--no-geoplan-one", dest="geoplan_one", action="store_false",
                    help="leave out the row of geoplan in one process (jobs=1) next to "
                         "geoplan on every core, wherever the peers run")
    ap.add_argument("--pg-workers", type=ints, default=[2, 0],
                    help="postgis-expert: max_parallel_workers_per_gather, one row each "
                         "(0: no parallel workers, the single-core row)")
    ap.add_argument("--peers-points", type=ints, default=[],
                    help="house-point batches on which geoplan and the peers that take "
                         "points (" + ", ".join(POINT_PEERS) + ") run the shared rules")
    ap.add_argument("--points-sample", type=int, default=1000,
                    help="house points the direct join runs on with --peers-points "
                         "(time extrapolated)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run every measurement this many times, interleaved; the table "
                         "shows the fastest run, the notes every run and the median")
    ap.add_argument("--notebook-sample", type=int, default=100,
                    help="sites the notebook loop runs on (time extrapolated)")
    ap.add_argument("--dask-at", type=ints, default=[100_000])
    ap.add_argument("--dask-workers", type=ints, default=[1, 2])
    ap.add_argument("--points", type=ints, default=[100_000],
                    help="house-point batches geoplan checks with the full pack (no peers: "
                         "see --peers-points)")
    ap.add_argument("--roads", type=ints, default=[10_000])
    ap.add_argument("--big", action="store_true",
                    help="also the 10^6-parcel county and 10^6 houses streamed (+ ~10 min)")
    ap.add_argument("--stream", type=ints, default=[],
                    help="house batches checked in chunks with the outputs streamed to "
                         "findings.csv, verdicts.csv and results.gpkg (e.g. 1000000)")
    ap.add_argument("--chunk-size", type=int, default=50_000,
                    help="streamed runs: sites per chunk (geoplan's default, 50 000)")
    ap.add_argument("--stream-jobs", type=int, default=1,
                    help="streamed runs: processes evaluating each chunk (jobs=)")
    ap.add_argument("--stream-csv-only", action="store_true",
                    help="streamed runs: write the CSV files only, no results.gpkg (as "
                         "before issue 13)")
    ap.add_argument("--findings-index", action="store_true", default=None,
                    help="streamed runs: build the spatial index of results.gpkg's findings "
                         "layer whatever its size (geoplan's --findings-index; by default "
                         "it is left out above 5 million findings)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="per measurement, seconds")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    return ap


def _compare_digests(by_group: dict[str, list[Job]]) -> dict[str, str]:
    """Hold every peer's findings against geoplan's on the shared rules; the checksum per group.

    Every run of every engine is compared (with ``--repeat``, geoplan's other
    runs must give its first run's checksum). A peer that disagrees gets
    ``agree`` set to what differs.
    """
    sums: dict[str, str] = {}
    for g, js in by_group.items():
        ref = next((j for j in js if j.engine == "geoplan-shared"), None)
        if ref is None or not ref.runs or not ref.runs[0].get("digest"):
            continue
        rd = pd.read_parquet(ref.runs[0]["digest"])
        sums[g] = checksum(rd)
        for j in js:
            for k, run in enumerate(j.runs):
                if (j is ref and k == 0) or not run.get("digest") or j.agree:
                    continue
                d = pd.read_parquet(run["digest"])
                j.agree = _agreement(rd, d)
                if not j.agree and not j.args.get("sample"):  # a sample has its own sum
                    mine = checksum(d)
                    if mine != sums[g]:
                        j.agree = f"checksum {mine} ≠ {sums[g]}"
                if j.agree and len(j.runs) > 1:
                    j.agree = f"run {k + 1}: {j.agree}"
    return sums


def _compare_verdicts(by_group: dict[str, list[Job]]) -> None:
    """Full pack: every engine's verdict counts must match the local engine's."""
    for js in by_group.values():
        ref = next((j for j in js if j.engine == "geoplan"), None)
        if ref is None or "extra" not in ref.result:
            continue
        for j in js:
            if j is not ref and "extra" in j.result and \
                    j.result["extra"].get("verdicts") != ref.result["extra"].get("verdicts"):
                j.agree = "verdict counts differ from the local engine's"


def main(argv: list[str] | None = None) -> int:
    """Plan, run and compare the measurements, print the table; 1 if an engine disagrees."""
    a = _parser().parse_args(argv)

    if {"postgis", "postgis-expert"} & set(a.peers):
        from .postgis import available

        why = available()
        if why:
            print(f"[bench] PostGIS peers skipped: {why}", flush=True)
            a.peers = [p for p in a.peers if p not in ("postgis", "postgis-expert")]
    info = machine()
    tmp = Path(tempfile.mkdtemp(prefix="run-", dir=bench_dir()))
    jobs = plan(a, tmp)
    for rep in range(max(1, a.repeat)):
        if a.repeat > 1:
            print(f"[bench] repetition {rep + 1} of {a.repeat}", flush=True)
        for j in jobs:
            _run(j, a.timeout)
    for j in jobs:
        _best_result(j)

    # agreement before any time is shown
    by_group: dict[str, list[Job]] = {}
    for j in jobs:
        by_group.setdefault(j.group, []).append(j)
    sums = _compare_digests(by_group)
    _compare_verdicts(by_group)

    table = _fmt_table(jobs)
    print()
    print(f"machine: {info.get('cpu', '')}, {info['cores']} cores, "
          f"{info.get('memory_gb', '?')} GB; Python {info['python']}, shapely "
          f"{info['shapely']} (GEOS {info['geos']}), geopandas {info['geopandas']}")
    print("command: python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]))
    for g, s in sums.items():
        print(f"checksum {g}: {s} (every engine listed agrees)")
    print()
    print(table)
    notes = _notes(jobs)
    if notes:
        print()
        print("notes:")
        print("\n".join(notes))
    if a.json:
        a.json.write_text(json.dumps({"machine": info, "argv": argv or sys.argv[1:],
                                      "checksums": sums,
                                      "jobs": [{"workload": j.workload, "engine": j.engine,
                                                "args": j.args, "result": j.result,
                                                "runs": j.runs, "agree": j.agree}
                                               for j in jobs],
                                      "table": table}, indent=2, default=str))
    return 1 if any(j.agree for j in jobs) else 0
