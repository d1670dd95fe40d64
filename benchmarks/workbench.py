"""Benchmark: the workbench's draw → verdict round trip on the sample workspace.

Run from the repository root::

    python -m benchmarks.workbench            # 50 draws of each shape
    python -m benchmarks.workbench -n 200

It opens the sample workspace in ``layers/``, starts the workbench (the model
and its widgets, without a browser: ipywidgets run headless), and times ``n``
drawn sites of each shape — house footprints (polygons), house points (with
the default nominal 12 m footprint) and roads (lines), taken from the sample
batches — through the path a draw on the map takes in Python: from the GeoJSON
Feature the draw control sends (delivered as its comm message) to the verdict
panel's HTML, the evidence and the site's outline set on their widgets. The
``model`` column times the same without widgets (``WorkbenchModel.handle_draw``
then the panel's HTML). The browser's own share (sending the message, drawing
the panel) is not in these figures. The issue's goal: under 200 ms per drawn site.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
from shapely.geometry import mapping

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers"


def machine() -> str:
    cpu = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        cpu = next((ln.split(":", 1)[1].strip() for ln in out.splitlines()
                    if ln.startswith("Model name")), "")
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (f"{cpu or platform.processor() or platform.machine()}, {cores} cores usable, "
            f"load {load}; Python {platform.python_version()}, {platform.platform()}")


def feature(geom: Any) -> dict[str, Any]:
    """The Feature ipyleaflet's draw control sends for a drawn layer (JSON round trip)."""
    return json.loads(json.dumps({"type": "Feature", "properties": {"style": {"color": "#3388ff"}},
                                  "geometry": mapping(geom)}))


def shapes(n: int) -> dict[str, list[dict[str, Any]]]:
    """``n`` drawings per shape from the sample batches, lon/lat (cycled if fewer)."""
    h = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg").to_crs(4490)
    r = gpd.read_file(SAMPLE / "batches" / "proposed_roads.gpkg").to_crs(4490)
    ok = ~(h.geometry.isna() | h.geometry.is_empty)
    polys = list(h.geometry[ok & (h.geom_type == "Polygon")])
    points = list(h.geometry[ok & (h.geom_type == "Point")])
    lines = list(r.geometry[~(r.geometry.isna() | r.geometry.is_empty)])
    return {name: [feature(gs[i % len(gs)]) for i in range(n)]
            for name, gs in (("polygon", polys), ("point", points), ("line", lines))}


def stats(ms: list[float]) -> tuple[float, float, float]:
    s = sorted(ms)
    p95 = s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]
    return statistics.median(s), p95, s[-1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.workbench", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=50, help="draws per shape (default 50)")
    a = ap.parse_args(argv)

    import geoplan
    from geoplan.workbench_app import Workbench, WorkbenchModel

    t0 = time.perf_counter()
    ws = geoplan.open_workspace(SAMPLE)
    t_open = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = WorkbenchModel(ws)
    t_model = time.perf_counter() - t0
    t0 = time.perf_counter()
    wb = Workbench(model)
    t_widgets = time.perf_counter() - t0
    drawings = shapes(a.n)

    # one draw first: the first check imports and builds what later ones reuse
    t0 = time.perf_counter()
    wb.draw_control._handle_custom_msg({"event": "draw:created",
                                        "geo_json": drawings["polygon"][0]}, [])
    t_first = time.perf_counter() - t0

    rows = []
    for name, feats in drawings.items():
        widget_ms, model_ms, check_ms = [], [], []
        verdicts: dict[str, int] = {}
        for f in feats:
            t0 = time.perf_counter()
            wb.draw_control._handle_custom_msg({"event": "draw:created", "geo_json": f}, [])
            widget_ms.append((time.perf_counter() - t0) * 1000)
            assert wb.panel.value, "no panel"
            cur = model.current
            assert cur is not None
            site = model.drawn[cur[1]]
            check_ms.append(site.seconds * 1000)
            verdicts[site.verdict] = verdicts.get(site.verdict, 0) + 1
        bare = WorkbenchModel(ws)  # the same without widgets
        for f in feats:
            t0 = time.perf_counter()
            bare.handle_draw("created", f)
            bare.panel_html()
            bare.evidence_geojson()
            model_ms.append((time.perf_counter() - t0) * 1000)
        rows.append((name, stats(widget_ms), stats(model_ms), stats(check_ms), verdicts))

    print("command: python -m benchmarks.workbench " + " ".join(
        argv if argv is not None else sys.argv[1:]))
    print(f"machine: {machine()}")
    print(f"geoplan {geoplan.__version__}; sample workspace {SAMPLE.relative_to(REPO)}/, pack "
          f"{model.pack.name} {model.pack.version}, {a.n} draws per shape")
    print(f"open workspace {t_open:.2f} s · model (indexes for {model.prepared} constraints) "
          f"{t_model:.2f} s · widgets {t_widgets:.2f} s · first draw {t_first * 1000:.0f} ms")
    print()
    print("| drawn site | event → panel, widgets: median ms | p95 ms | max ms "
          "| model only: median | p95 | geoplan.check: median | p95 | verdicts |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, w, m, c, verdicts in rows:
        v = ", ".join(f"{k} {n}" for k, n in sorted(verdicts.items()))
        print(f"| {name} | {w[0]:.0f} | {w[1]:.0f} | {w[2]:.0f} | {m[0]:.0f} | {m[1]:.0f} "
              f"| {c[0]:.0f} | {c[1]:.0f} | {v} |")
    worst = max(w[1] for _, w, _, _, _ in rows)
    print()
    print(f"goal: under 200 ms per drawn site — p95 of the slowest shape {worst:.0f} ms: "
          + ("met" if worst < 200 else "NOT met"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
