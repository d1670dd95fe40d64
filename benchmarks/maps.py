"""Benchmark: offline maps of 1k, 10k and 50k house sites on the sample workspace.

Run from the repository root::

    python -m benchmarks.maps                       # 1000 10000 50000 sites
    python -m benchmarks.maps --sizes 1000 10000    # fewer
    python -m benchmarks.maps --no-browser          # sizes and build times only

For each size it draws synthetic house sites inside the sample's village
construction boundaries (60 % 12 m × 12 m footprints, 40 % points; seeded, so
the same every run), runs the check with the default pack, writes the offline
map (Leaflet inlined, no basemap) and opens it in headless Chromium with the
network blocked. It reports the HTML size and, in the browser: the time from
navigation to "map ready and every feature drawn" (``window.geoplan.readyMs``,
taken two animation frames after the layers were added to the canvas), the
JSON parse and layer build times, the mean time of a 400 px pan and of a zoom
in + out until the canvas has redrawn, and the JS heap. Results are printed as
a Markdown table; files go to ``--out`` (default ``/tmp/geoplan-bench-maps``).

Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright for Python.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def synthetic_houses(ws: object, n: int, *, seed: int = 7, footprint_share: float = 0.6,
                     side_m: float = 12.0) -> gpd.GeoDataFrame:
    """``n`` house sites inside the workspace's village boundaries (working CRS)."""
    vb = ws.layers["village_boundary"].gdf  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    area = vb.geometry.area.to_numpy()
    pick = rng.choice(len(vb), size=n, p=area / area.sum())
    xs = np.empty(n)
    ys = np.empty(n)
    geoms = vb.geometry.to_numpy()
    for i in np.unique(pick):
        idx = np.flatnonzero(pick == i)
        poly = geoms[i]
        x0, y0, x1, y1 = poly.bounds
        got = 0
        while got < len(idx):
            k = (len(idx) - got) * 3 + 10
            cx = rng.uniform(x0, x1, k)
            cy = rng.uniform(y0, y1, k)
            ok = shapely.contains_xy(poly, cx, cy)
            take = min(int(ok.sum()), len(idx) - got)
            xs[idx[got:got + take]] = cx[ok][:take]
            ys[idx[got:got + take]] = cy[ok][:take]
            got += take
    pts = shapely.points(xs, ys)
    foot = rng.random(n) < footprint_share
    half = side_m / 2
    out = pts.astype(object)
    out[foot] = shapely.box(xs[foot] - half, ys[foot] - half, xs[foot] + half, ys[foot] + half)
    village = vb["village"].to_numpy()[pick] if "village" in vb.columns else None
    township = vb["township"].to_numpy()[pick] if "township" in vb.columns else None
    data = {"house_id": [f"B{i:06d}" for i in range(1, n + 1)]}
    if village is not None:
        data["village"] = village
    if township is not None:
        data["township"] = township
    return gpd.GeoDataFrame(data, geometry=out, crs=ws.crs)  # type: ignore[attr-defined]


_PAN_JS = """async () => {
  const m = geoplan.map;
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const pans = [], zooms = [];
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    m.panBy([i % 2 ? -400 : 400, i % 3 ? 150 : -150], {animate: false});
    await frames();
    pans.push(performance.now() - t);
  }
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    m.setZoom(m.getZoom() + 1, {animate: false}); await frames();
    m.setZoom(m.getZoom() - 1, {animate: false}); await frames();
    zooms.push((performance.now() - t) / 2);
  }
  const mean = a => a.reduce((s, x) => s + x, 0) / a.length;
  const heap = performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null;
  return {pan: mean(pans), zoom: mean(zooms), heap: heap};
}"""


def measure_in_browser(path: Path, chromium: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[*ARGS, "--enable-precise-memory-info"])
        page = b.new_page(viewport={"width": 1280, "height": 860})
        blocked: list[str] = []
        errors: list[str] = []

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if url.startswith("file:"):
                r.continue_()  # type: ignore[attr-defined]
            else:
                blocked.append(url)
                r.abort()  # type: ignore[attr-defined]

        page.route("**/*", route)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri(), timeout=300_000)
        page.wait_for_function("window.geoplan && window.geoplan.ready === true", timeout=300_000)
        t = page.evaluate("[geoplan.readyMs, geoplan.parseMs, geoplan.buildMs, "
                          "geoplan.siteCount(), geoplan.drawnSites().onRenderer]")
        moves = page.evaluate(_PAN_JS)
        b.close()
    if blocked or errors:
        raise RuntimeError(f"{path}: blocked requests {blocked[:3]}, errors {errors[:3]}")
    return {"ready_ms": t[0], "parse_ms": t[1], "build_ms": t[2], "sites": t[3],
            "drawn": t[4], "pan_ms": moves["pan"], "zoom_ms": moves["zoom"],
            "heap_mb": moves["heap"] or float("nan")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.maps", description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    ap.add_argument("--out", type=Path, default=Path(os.environ.get(
        "GEOPLAN_BENCH_MAPS", "/tmp/geoplan-bench-maps")))
    ap.add_argument("--no-browser", action="store_true", help="Skip the Chromium measurements.")
    ap.add_argument("--chromium", default=os.environ.get("GEOPLAN_CHROMIUM", "/usr/bin/chromium"))
    args = ap.parse_args(argv)

    import geoplan
    from geoplan.maps import result_map

    chromium = args.chromium if Path(args.chromium).exists() else shutil.which("chromium")
    if not args.no_browser and not chromium:
        print("no Chromium found; use --no-browser or apt-get install chromium", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    ws = geoplan.open_workspace(SAMPLE)
    rows = []
    for n in args.sizes:
        sites = synthetic_houses(ws, n)
        t0 = time.perf_counter()
        res = geoplan.check(sites, ws, subject="house")
        t_check = time.perf_counter() - t0
        t0 = time.perf_counter()
        page = result_map(res, offline=True).get_root().render()
        t_map = time.perf_counter() - t0
        path = args.out / f"map-{n}.html"
        path.write_text(page, encoding="utf-8")
        row = {"sites": n, "check_s": t_check, "map_build_s": t_map,
               "html_mb": path.stat().st_size / 1e6,
               "fail": int(res.counts()["fail"]), "warn": int(res.counts()["warn"])}
        if not args.no_browser:
            b = measure_in_browser(path, str(chromium))
            if b["drawn"] != n:
                raise RuntimeError(f"{n} sites, but {b['drawn']} drawn")
            row.update(b)
        rows.append(row)
        print(f"{n} sites done: {path}", file=sys.stderr)
    table = pd.DataFrame(rows)
    cols = {"sites": "sites", "fail": "fail", "warn": "warn", "check_s": "check (s)",
            "map_build_s": "map build (s)", "html_mb": "HTML (MB)",
            "ready_ms": "load → ready (ms)", "parse_ms": "JSON parse (ms)",
            "build_ms": "layers built (ms)", "pan_ms": "pan (ms)", "zoom_ms": "zoom (ms)",
            "heap_mb": "JS heap (MB)"}
    table = table[[c for c in cols if c in table.columns]].rename(columns=cols)
    print(table.to_markdown(index=False, floatfmt=".2f") if _has_tabulate()
          else table.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
