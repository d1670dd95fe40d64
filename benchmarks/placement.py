"""Time buildable land and suggested moves on the benchmark county.

::

    python -m benchmarks.placement --parcels 20000 --dem 2000 --houses 20000

builds (or reuses) the county of :mod:`benchmarks.generate` (400 villages),
maps the buildable land of every village, checks a batch of house footprints
and suggests a move for each failing one. It prints wall times and the peak
resident memory of this process; nothing here is asserted (speed lives in the
benchmarks, not in the tests).
"""

from __future__ import annotations

import argparse
import resource
import time

import geoplan

from .generate import county_workspace, site_batch


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux


def main(argv: list[str] | None = None) -> None:
    """Run the placement benchmark from the command line."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.placement", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=20_000, help="land-use parcels")
    ap.add_argument("--dem", type=int, default=2_000, help="DEM side in cells")
    ap.add_argument("--houses", type=int, default=20_000,
                    help="house footprints to check before suggesting (0: skip suggestions)")
    ap.add_argument("--radius-m", type=float, default=200.0)
    a = ap.parse_args(argv)
    ws_dir = county_workspace(a.parcels, dem=a.dem)
    t0 = time.perf_counter()
    ws = geoplan.open_workspace(ws_dir)
    t1 = time.perf_counter()
    b = geoplan.buildable(ws)
    t2 = time.perf_counter()
    print(f"[placement] county {ws_dir.name}: open {t1 - t0:.1f} s; buildable land of "
          f"{len(b.land)} villages {t2 - t1:.1f} s ({b.land['buildable_m2'].sum() / 1e6:.2f} km², "
          f"{int(b.land['plots'].sum())} plots, provisional {b.provisional}); "
          f"peak RSS {_peak_gb():.2f} GB", flush=True)
    if a.houses:
        sites = site_batch(ws_dir, "house", a.houses)
        res = geoplan.check(sites, ws, subject="house")
        t3 = time.perf_counter()
        n_fail = int((res.verdicts["verdict"] == "fail").sum())
        s = geoplan.suggest(res, radius_m=a.radius_m)
        t4 = time.perf_counter()
        counts = s.table["status"].value_counts().to_dict()
        print(f"[placement] {a.houses} houses checked, {n_fail} failing; suggestions "
              f"{t4 - t3:.1f} s ({(t4 - t3) / max(n_fail, 1) * 1000:.1f} ms per failing "
              f"house): {counts}; peak RSS {_peak_gb():.2f} GB", flush=True)


if __name__ == "__main__":
    main()
