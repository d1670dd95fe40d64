"""Time writing a check's tables: ``findings.csv``, ``verdicts.csv``, ``results.gpkg``.

::

    python -m benchmarks.outputs --houses 100000

checks a batch of house footprints of the benchmark county (:mod:`benchmarks.generate`,
10⁵ parcels by default) with the full default pack, then writes its tables the way
:meth:`geoplan.Result.to_files` does, each table timed on its own (best of
``--repeat`` writes), and reads them back to check they hold one row per finding
and verdict. It prints wall times and file sizes; nothing here is asserted (speed
lives in the benchmarks, not in the tests).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import geoplan
from geoplan.csvsafe import write_csv
from geoplan.runners.files import verdict_table, write_gpkg_layers

from .generate import bench_dir, county_workspace, site_batch


def main(argv: list[str] | None = None) -> None:
    """Run the outputs benchmark from the command line."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.outputs", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000, help="land-use parcels")
    ap.add_argument("--dem", type=int, default=10_000, help="DEM side in cells")
    ap.add_argument("--houses", type=int, default=100_000, help="house footprints checked")
    ap.add_argument("--repeat", type=int, default=2, help="writes of each table (best shown)")
    a = ap.parse_args(argv)
    ws_dir = county_workspace(a.parcels, dem=a.dem)
    ws = geoplan.open_workspace(ws_dir)
    res = geoplan.check(site_batch(ws_dir, "house", a.houses), ws)
    print(f"[outputs] {a.houses:,} houses checked: {len(res.findings):,} findings, "
          f"{len(res.evidence):,} evidence rows", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="outputs-", dir=bench_dir()))
    try:
        steps = {
            "findings.csv": lambda p: write_csv(res.findings, p),
            "verdicts.csv": lambda p: write_csv(verdict_table(res.verdicts), p),
            "results.gpkg": lambda p: write_gpkg_layers(p, res.verdicts, res.findings,
                                                        res.evidence, crs=ws.crs),
        }
        for name, write in steps.items():
            times = []
            for _ in range(max(1, a.repeat)):
                path = tmp / name
                path.unlink(missing_ok=True)
                t0 = time.perf_counter()
                write(path)
                times.append(time.perf_counter() - t0)
            print(f"[outputs] {name}: {min(times):.1f} s (runs "
                  f"{', '.join(f'{t:.1f}' for t in times)}), {path.stat().st_size / 2**20:,.0f} MB",
                  flush=True)
        import pandas as pd
        import pyogrio

        back = len(pd.read_csv(tmp / "findings.csv", usecols=["site_id"]))
        layers = {n: pyogrio.read_info(tmp / "results.gpkg", layer=n)["features"]
                  for n in ("verdicts", "findings", "evidence")}
        print(f"[outputs] read back: findings.csv {back:,} rows; results.gpkg {layers}",
              flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
