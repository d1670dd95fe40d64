"""Time preparing the benchmark county for a pack, with and without the cache on disk.

::

    python -m benchmarks.prepared --repeat 2

Each measurement is a new Python process (as each ``geoplan check`` on the
command line is) that opens the county (:mod:`benchmarks.generate`, 10⁵
parcels by default) and runs :func:`geoplan.engine.prepare_rules` for the
house rules of the default pack, in turn: without a cache; with a new, empty
cache folder (the run that writes it); with that folder filled (the runs that
read it). It prints the open and prepare times of every run and the size of
the folder; nothing here is asserted. The answers with and without the cache
are compared in ``tests/test_persisted.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .generate import bench_dir, county_workspace

_CHILD = r"""
import json, sys, time
import geoplan
from geoplan.engine import constraint_cache, prepare_rules
path, cache = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
ws = geoplan.open_workspace(path, cache=False if cache == "-" else cache)
t1 = time.perf_counter()
prepare_rules(ws, "yining-2025", subject="house")
t2 = time.perf_counter()
print(json.dumps({"open": t1 - t0, "prepare": t2 - t1,
                  **constraint_cache(ws).persisted_counts}))
"""


def _run(ws_dir: Path, cache: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, str(ws_dir), cache], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Run the prepared-workspace benchmark from the command line."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.prepared", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=100_000, help="land-use parcels")
    ap.add_argument("--dem", type=int, default=10_000, help="DEM side in cells")
    ap.add_argument("--repeat", type=int, default=2, help="rounds of the three settings")
    a = ap.parse_args(argv)
    ws_dir = county_workspace(a.parcels, dem=a.dem)
    tmp = Path(tempfile.mkdtemp(prefix="prepared-", dir=bench_dir()))
    try:
        for r in range(max(1, a.repeat)):
            folder = tmp / f"cache-{r}"
            for label, cache in (("no cache", "-"), ("cache written", str(folder)),
                                 ("cache read", str(folder))):
                t = _run(ws_dir, cache)
                print(f"[prepared] round {r + 1}, {label:>13}: open {t['open']:.2f} s, "
                      f"prepare {t['prepare']:.2f} s (constraints read {t['read']}, "
                      f"written {t['written']})", flush=True)
            size = sum(p.stat().st_size for p in folder.iterdir())
            print(f"[prepared] cache folder: {size / 2**20:.0f} MB", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
