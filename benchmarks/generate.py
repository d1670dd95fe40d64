"""Deterministic county-scale workspaces and site batches for the benchmarks.

Everything is synthetic, built from a seeded :class:`numpy.random.Generator`,
so the same sizes give byte-for-byte the same layers on every machine. Data are
written under a cache directory outside the repository
(``$GEOPLAN_BENCH_DIR``, default ``/tmp/geoplan-bench``) and reused when
already there; never commit them.

The county is a 40 km × 40 km square in EPSG:4536 (CGCS2000 3° GK zone 27,
around Yining) holding:

* ``landuse`` — a partition of the county into ``parcels`` jittered
  quadrilateral parcels (12 vertices each, shared edges identical), GB/T
  21010-2017 codes from smooth random fields; ``forest_land`` and ``farmland``
  are derived from it by ``geoplan.toml``;
* ``farmland_redline`` — a third of the farmland parcels;
* ``power_line`` — ``power_lines`` straight spans (10 kV to 220 kV, a few
  with no voltage);
* hazard zones — flood zones (river corridors) and landslide, debris-flow,
  geohazard and flood-storage zones of 10⁴–10⁵ vertices each; subsidence
  zones; ecological red line; water source zones (level 1 and 2 rings);
  water bodies; gullies; active faults; old trees; heritage zones;
* ``village`` points and ``village_boundary`` polygons (400 villages);
* ``dem.tif`` — ``dem`` × ``dem`` cells of float32 elevation (4 m cells at
  10 000).

Site batches: house footprints (rotated 10–14 m × 10–16 m rectangles, 80 %
around villages), house points (their centroids) and road segments (2–6
vertices, 100–1500 m, ``width_m`` 3–7 m with 5 % missing), as GeoParquet.

Examples
--------
>>> from benchmarks.generate import county_workspace, site_batch  # doctest: +SKIP
>>> ws_dir = county_workspace(parcels=100_000)                     # doctest: +SKIP
>>> houses = site_batch(ws_dir, "house", 100_000)                  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["BENCH_DIR", "CRS", "EXTENT", "bench_dir", "county_workspace", "site_batch"]

GENERATOR_VERSION = 2
CRS = "EPSG:4536"
X0, Y0 = 480_000.0, 4_840_000.0
SIDE = 40_000.0
EXTENT = (X0, Y0, X0 + SIDE, Y0 + SIDE)
N_VILLAGES = 400
BENCH_DIR = Path(os.environ.get("GEOPLAN_BENCH_DIR", "/tmp/geoplan-bench"))


def bench_dir() -> Path:
    """The cache directory for generated data (``$GEOPLAN_BENCH_DIR``)."""
    d = Path(os.environ.get("GEOPLAN_BENCH_DIR", str(BENCH_DIR)))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _log(msg: str) -> None:
    print(f"[generate] {msg}", flush=True)


# --------------------------------------------------------------------------- fields


class _Field:
    """A smooth random field on the county: a sum of a few random cosines."""

    def __init__(self, rng: np.random.Generator, n: int = 6, wavelength: float = 8000.0):
        self.k = rng.uniform(0.5, 1.5, n) * 2 * math.pi / wavelength
        self.a = rng.uniform(0, 2 * math.pi, n)
        self.p = rng.uniform(0, 2 * math.pi, n)
        self.w = rng.uniform(0.5, 1.0, n)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.zeros(np.broadcast(x, y).shape)
        for k, a, p, w in zip(self.k, self.a, self.p, self.w, strict=True):
            out += w * np.cos(k * (np.cos(a) * (x - X0) + np.sin(a) * (y - Y0)) + p)
        return out / self.w.sum()


def _blob(rng: np.random.Generator, cx: float, cy: float, r: float, m: int,
          rough: float = 0.25) -> shapely.Polygon:
    """A star-shaped polygon with ``m`` vertices (smooth harmonics plus fine noise)."""
    th = np.linspace(0, 2 * math.pi, m, endpoint=False)
    rad = np.ones(m)
    for h in range(2, 7):
        rad += rough / h * math.cos(rng.uniform(0, 2 * math.pi)) * np.cos(h * th + rng.uniform(
            0, 2 * math.pi))
    rad += 0.01 * rng.standard_normal(m)
    rad = np.clip(rad, 0.3, None) * r
    xy = np.column_stack([cx + rad * np.cos(th), cy + rad * np.sin(th)])
    return shapely.Polygon(xy)


def _river(rng: np.random.Generator, x_start: float, n: int) -> shapely.LineString:
    """A meandering line running south to north across the county with ``n`` vertices."""
    y = np.linspace(Y0 - 500, Y0 + SIDE + 500, n)
    x = x_start + np.zeros(n)
    for wl, amp in ((9000, 900), (3000, 300), (800, 60), (150, 6)):
        x += amp * np.sin(2 * math.pi * y / wl + rng.uniform(0, 2 * math.pi))
    return shapely.LineString(np.column_stack([x, y]))


# --------------------------------------------------------------------------- parcels


_CODES = {
    "farmland": ["0101", "0102", "0103"],
    "garden": ["0201"],
    "forest": ["0301", "0305", "0307"],
    "grass": ["0401", "0404"],
    "homestead": ["0702"],
    "other": ["1006", "1202", "1003"],
}
_NAMES = {"0101": "水田", "0102": "水浇地", "0103": "旱地", "0201": "果园", "0301": "乔木林地",
          "0305": "灌木林地", "0307": "其他林地", "0401": "天然牧草地", "0404": "其他草地",
          "0702": "农村宅基地", "1006": "农村道路", "1202": "设施农用地", "1003": "公路用地",
          "1101": "河流水面"}


def _parcels(rng: np.random.Generator, n: int) -> shapely.Geometry:
    """A partition of the county into about ``n`` jittered 12-vertex quadrilaterals."""
    k = max(2, math.ceil(math.sqrt(n)))
    s = SIDE / k
    gx, gy = np.meshgrid(np.arange(k + 1) * s + X0, np.arange(k + 1) * s + Y0)  # (row=y, col=x)
    jx = rng.uniform(-0.25, 0.25, gx.shape) * s
    jy = rng.uniform(-0.25, 0.25, gy.shape) * s
    jx[:, [0, -1]] = 0
    jy[[0, -1], :] = 0
    vx, vy = gx + jx, gy + jy
    # two intermediate points on every edge, jittered perpendicular to it
    hoff = rng.uniform(-0.08, 0.08, (k + 1, k, 2)) * s  # horizontal edges: y offsets
    voff = rng.uniform(-0.08, 0.08, (k, k + 1, 2)) * s  # vertical edges: x offsets
    hoff[[0, -1]] = 0
    voff[:, [0, -1]] = 0
    t = np.array([1 / 3, 2 / 3])

    def hedge(r: np.ndarray, c: np.ndarray) -> np.ndarray:  # from (r, c) to (r, c+1)
        x = vx[r, c][:, None] + t * (vx[r, c + 1] - vx[r, c])[:, None]
        y = vy[r, c][:, None] + t * (vy[r, c + 1] - vy[r, c])[:, None] + hoff[r, c]
        return np.stack([x, y], axis=-1)

    def vedge(r: np.ndarray, c: np.ndarray) -> np.ndarray:  # from (r, c) to (r+1, c)
        x = vx[r, c][:, None] + t * (vx[r + 1, c] - vx[r, c])[:, None] + voff[r, c]
        y = vy[r, c][:, None] + t * (vy[r + 1, c] - vy[r, c])[:, None]
        return np.stack([x, y], axis=-1)

    rr, cc = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    r, c = rr.ravel(), cc.ravel()

    def v(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.stack([vx[a, b], vy[a, b]], axis=-1)[:, None, :]

    ring = np.concatenate([
        v(r, c), hedge(r, c),                       # bottom, west → east
        v(r, c + 1), vedge(r, c + 1),               # east side, south → north
        v(r + 1, c + 1), hedge(r + 1, c)[:, ::-1],  # top, east → west
        v(r + 1, c), vedge(r, c)[:, ::-1],          # west side, north → south
        v(r, c),
    ], axis=1)
    return shapely.polygons(ring)


def _landuse(rng: np.random.Generator, n: int, villages: np.ndarray,
             vil_geoms: np.ndarray) -> gpd.GeoDataFrame:
    geoms = _parcels(rng, n)
    c = shapely.centroid(geoms)
    x, y = shapely.get_x(c), shapely.get_y(c)
    f1, f2 = _Field(rng, wavelength=9000), _Field(rng, wavelength=5000)
    a, b = f1(x, y), f2(x, y)
    south = (Y0 + SIDE * 0.35 - y) / (SIDE * 0.35)  # > 0 in the southern mountains
    cls = np.full(len(geoms), "farmland", dtype=object)
    cls[a > 0.25] = "garden"
    cls[b > 0.3] = "grass"
    cls[(south > 0) & (a + south > 0.2)] = "forest"
    cls[(a < -0.35) & (south <= 0)] = "forest"
    cls[np.abs(b) < 0.02] = "other"
    tree = shapely.STRtree(vil_geoms)
    inside = tree.query(c, predicate="within")
    cls[inside[0]] = "homestead"
    u = rng.random(len(geoms))
    code = np.empty(len(geoms), dtype=object)
    for name, codes in _CODES.items():
        m = cls == name
        code[m] = np.array(codes, dtype=object)[(u[m] * len(codes)).astype(int)]
    names = np.array([_NAMES[v] for v in code], dtype=object)
    return gpd.GeoDataFrame({"code": code, "name": names}, geometry=geoms, crs=CRS)


# --------------------------------------------------------------------------- county


def _villages(rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    k = int(math.sqrt(N_VILLAGES))
    cell = SIDE / k
    gx, gy = np.meshgrid((np.arange(k) + 0.5) * cell + X0, (np.arange(k) + 0.5) * cell + Y0)
    cx = gx.ravel() + rng.uniform(-0.1, 0.1, k * k) * cell
    cy = gy.ravel() + rng.uniform(-0.1, 0.1, k * k) * cell
    r = rng.uniform(250, 450, k * k)  # at most ~650 m out: boundaries never overlap
    bounds = [_blob(rng, x, y, rr, 48, rough=0.3) for x, y, rr in zip(cx, cy, r, strict=True)]
    names = [f"村{i:04d}" for i in range(k * k)]
    township = [f"镇{i // 20:02d}" for i in range(k * k)]
    layout = rng.choice(["集聚提升", "城郊融合", "搬迁撤并", "特色保护"], k * k,
                        p=[0.65, 0.15, 0.12, 0.08])
    vil = gpd.GeoDataFrame({"name": names, "township": township, "layout_class": layout,
                            "population": rng.integers(200, 3000, k * k),
                            "is_demo": rng.random(k * k) < 0.1},
                           geometry=shapely.points(cx, cy), crs=CRS)
    vb = gpd.GeoDataFrame({"village": names, "township": township}, geometry=bounds, crs=CRS)
    return vil, vb


def _disjoint(polys: list[shapely.Geometry]) -> list[shapely.Geometry]:
    """Drop polygons that overlap an earlier one, so the layer is a partition."""
    keep: list[shapely.Geometry] = []
    for p in polys:
        if not any(p.intersects(q) for q in keep):
            keep.append(p)
    return keep


def _blobs_in(rng: np.random.Generator, n: int, m: int, rmin: float, rmax: float,
              ylim: tuple[float, float] = (Y0, Y0 + SIDE)) -> list[shapely.Geometry]:
    out: list[shapely.Geometry] = []
    tries = 0
    while len(out) < n and tries < n * 20:
        tries += 1
        x = rng.uniform(X0 + rmax, X0 + SIDE - rmax)
        y = rng.uniform(ylim[0] + rmax, ylim[1] - rmax)
        p = _blob(rng, x, y, rng.uniform(rmin, rmax), m)
        if shapely.is_valid(p) and not any(p.intersects(q) for q in out):
            out.append(p)
    return out


def _write(gdf: gpd.GeoDataFrame, path: Path) -> None:
    gdf.to_parquet(path, index=False)


def _dem(path: Path, size: int, rng: np.random.Generator) -> None:
    import rasterio
    from rasterio.transform import Affine

    res = SIDE / size
    f1, f2, f3 = _Field(rng, 8, 6000), _Field(rng, 8, 1500), _Field(rng, 8, 400)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32",
               "crs": CRS, "nodata": -9999.0, "transform": Affine(res, 0, X0, 0, -res, Y0 + SIDE),
               "tiled": True, "blockxsize": 512, "blockysize": 512}
    xs = X0 + (np.arange(size) + 0.5) * res
    step = 512
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, size, step):
            h = min(step, size - r0)
            ys = Y0 + SIDE - (np.arange(r0, r0 + h) + 0.5) * res
            gx, gy = np.meshgrid(xs, ys)
            mount = np.clip((Y0 + SIDE * 0.4 - gy) / (SIDE * 0.4), 0, None)
            z = 650 + 1500 * mount ** 1.5 + 120 * f1(gx, gy) + 250 * (0.1 + mount) * f2(gx, gy) \
                + 15 * (0.2 + mount) * f3(gx, gy)
            from rasterio.windows import Window

            dst.write(z.astype("float32"), 1, window=Window(0, r0, size, h))


def _county_name(parcels: int, power_lines: int, dem: int) -> str:
    return f"county-v{GENERATOR_VERSION}-p{parcels}-l{power_lines}-d{dem}"


def county_workspace(parcels: int = 100_000, *, power_lines: int = 10_000, dem: int = 10_000,
                     seed: int = 7, root: Path | None = None) -> Path:
    """Build (or reuse) a county workspace folder and return its path.

    Parameters
    ----------
    parcels
        Land-use parcels (10⁵ default; 10⁶ for the large run).
    power_lines
        Power-line spans.
    dem
        DEM side in cells (``dem × dem``; 0 for no DEM).
    seed
        Random seed: the same arguments give the same files.
    root
        Cache directory; default :func:`bench_dir`.
    """
    root = root or bench_dir()
    out = root / _county_name(parcels, power_lines, dem)
    if (out / "DONE").exists():
        return out
    if out.exists():
        shutil.rmtree(out)
    tmp = root / (out.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    _log(f"county workspace {out.name} …")

    vil, vb = _villages(np.random.default_rng([seed, 1]))
    t = shapely.STRtree(vb.geometry.values)
    a, b = t.query(vb.geometry.values, predicate="intersects")
    assert (a == b).all(), "village boundaries overlap"
    _write(vil, tmp / "village.parquet")
    _write(vb, tmp / "village_boundary.parquet")
    vgeoms = vb.geometry.to_numpy()

    lu = _landuse(np.random.default_rng([seed, 2]), parcels, vil, vgeoms)
    _write(lu, tmp / "landuse.parquet")
    _log(f"  landuse {len(lu):,} parcels ({time.perf_counter() - t0:.0f} s)")
    farm = lu[lu["code"].str.startswith("01")]
    rl = farm.iloc[np.flatnonzero(np.random.default_rng([seed, 3]).random(len(farm)) < 0.33)]
    _write(gpd.GeoDataFrame({"name": np.full(len(rl), "永久基本农田", dtype=object)},
                           geometry=rl.geometry.to_numpy(), crs=CRS),
           tmp / "farmland_redline.parquet")

    # rivers: flood zone (corridor), flood channel, water body
    r2 = np.random.default_rng([seed, 4])
    rivers = [_river(r2, X0 + SIDE * f, 20_000) for f in (0.2, 0.55, 0.85)]
    flood = [shapely.buffer(rv, r2.uniform(250, 400), quad_segs=2) for rv in rivers]
    _write(gpd.GeoDataFrame({"level": "50年一遇", "hazard_type": "flood",
                             "name": [f"洪水区{i}" for i in range(len(flood))]},
                            geometry=flood, crs=CRS), tmp / "flood_zone.parquet")
    chan = [shapely.buffer(rv, 60, quad_segs=2) for rv in rivers]
    _write(gpd.GeoDataFrame({"level": "行洪", "hazard_type": "flood_channel",
                             "name": [f"河道{i}" for i in range(len(chan))]},
                            geometry=chan, crs=CRS), tmp / "flood_channel.parquet")
    ponds = _blobs_in(r2, 60, 64, 40, 150)
    water = [shapely.buffer(rv, 20, quad_segs=2) for rv in rivers] + ponds
    water = _disjoint(water)
    _write(gpd.GeoDataFrame({"name": [f"水域{i}" for i in range(len(water))]},
                            geometry=water, crs=CRS), tmp / "water_body.parquet")
    _log(f"  rivers ({time.perf_counter() - t0:.0f} s)")

    # big hazard polygons, 10^4–10^5 vertices each
    r3 = np.random.default_rng([seed, 5])
    mountains = (Y0, Y0 + SIDE * 0.45)
    for kind, n, m, rmin, rmax, ylim in (
        ("landslide_zone", 20, 10_000, 400, 1200, mountains),
        ("debris_flow_zone", 10, 20_000, 400, 1000, mountains),
        ("geohazard_zone", 8, 50_000, 800, 2000, mountains),
        ("flood_storage", 4, 10_000, 500, 1200, (Y0 + SIDE * 0.5, Y0 + SIDE)),
        ("subsidence_zone", 15, 400, 100, 400, (Y0, Y0 + SIDE)),
    ):
        polys = _blobs_in(r3, n, m, rmin, rmax, ylim)
        _write(gpd.GeoDataFrame({"level": r3.choice(["大型", "中型", "小型"], len(polys)),
                                 "hazard_type": kind.split("_")[0],
                                 "name": [f"{kind}{i}" for i in range(len(polys))]},
                                geometry=polys, crs=CRS), tmp / f"{kind}.parquet")
    eco = _blobs_in(r3, 6, 5000, 1500, 3000, (Y0, Y0 + SIDE * 0.3))
    _write(gpd.GeoDataFrame({"name": [f"生态红线{i}" for i in range(len(eco))]}, geometry=eco,
                            crs=CRS), tmp / "ecological_redline.parquet")
    heritage = [_blob(r3, x, y, r3.uniform(60, 150), 24, 0.2) for x, y in
                zip(shapely.get_x(vil.geometry.values[:30]),
                    shapely.get_y(vil.geometry.values[:30]), strict=True)]
    _write(gpd.GeoDataFrame({"name": [f"文保{i}" for i in range(len(heritage))]},
                            geometry=heritage, crs=CRS), tmp / "heritage_zone.parquet")
    _log(f"  hazard zones ({time.perf_counter() - t0:.0f} s)")

    # water source zones: level-1 discs and level-2 rings around them
    ws_c = _blobs_in(r3, 25, 64, 900, 1200)
    l1 = [shapely.buffer(shapely.centroid(p), 200, quad_segs=16) for p in ws_c]
    l2 = [shapely.difference(p, q) for p, q in zip(ws_c, l1, strict=True)]
    _write(gpd.GeoDataFrame({"level": [1] * len(l1) + [2] * len(l2),
                             "name": [f"水源地{i}" for i in range(len(l1))] * 2},
                            geometry=l1 + l2, crs=CRS), tmp / "water_source_zone.parquet")

    # lines: gullies, faults, power lines
    r4 = np.random.default_rng([seed, 6])
    ng = 2000
    gx = r4.uniform(X0, X0 + SIDE, ng)
    gy = r4.uniform(Y0, Y0 + SIDE * 0.5, ng)
    steps = r4.normal(0, 40, (ng, 12, 2)) + np.array([0, 60])
    gpts = np.stack([gx, gy], axis=-1)[:, None, :] + np.cumsum(steps, axis=1)
    _write(gpd.GeoDataFrame({"name": [f"冲沟{i}" for i in range(ng)]},
                            geometry=shapely.linestrings(gpts), crs=CRS), tmp / "gully.parquet")
    faults = []
    for _ in range(5):
        t = np.linspace(0, 1, 2000)
        ya = r4.uniform(Y0 + 2000, Y0 + SIDE * 0.6)
        yb = ya + r4.uniform(-4000, 4000)
        fx = X0 + t * SIDE
        fy = ya + t * (yb - ya) + 150 * np.sin(t * r4.uniform(10, 30))
        faults.append(shapely.LineString(np.column_stack([fx, fy])))
    _write(gpd.GeoDataFrame({"name": [f"断裂{i}" for i in range(5)], "holocene": True},
                            geometry=faults, crs=CRS), tmp / "active_fault.parquet")
    # power lines: spans of about 250 m along straight routes between villages
    vx, vy = shapely.get_x(vil.geometry.values), shapely.get_y(vil.geometry.values)
    spans_x: list[np.ndarray] = []
    spans_y: list[np.ndarray] = []
    volt: list[np.ndarray] = []
    total = 0
    while total < power_lines:
        a = int(r4.integers(len(vx)))
        d = np.hypot(vx - vx[a], vy - vy[a])
        b = int(np.argsort(d)[r4.integers(1, 5)])
        length = d[b]
        ns = max(1, int(length // 250))
        t = np.linspace(0, 1, ns + 1)
        px, py = vx[a] + t * (vx[b] - vx[a]), vy[a] + t * (vy[b] - vy[a])
        spans_x.append(np.column_stack([px[:-1], px[1:]]))
        spans_y.append(np.column_stack([py[:-1], py[1:]]))
        volt.append(np.full(ns, r4.choice([10.0, 10.0, 10.0, 35.0, 110.0, 220.0])))
        total += ns
    sx, sy = np.concatenate(spans_x)[:power_lines], np.concatenate(spans_y)[:power_lines]
    vk = np.concatenate(volt)[:power_lines]
    vk[r4.random(len(vk)) < 0.003] = np.nan
    lines = shapely.linestrings(np.stack([sx, sy], axis=-1))
    _write(gpd.GeoDataFrame({"voltage_kv": vk, "status": "existing"}, geometry=lines, crs=CRS),
           tmp / "power_line.parquet")
    # old trees, mostly in villages
    nt = 5000
    owner = r4.integers(len(vx), size=nt)
    tx = vx[owner] + r4.normal(0, 250, nt)
    ty = vy[owner] + r4.normal(0, 250, nt)
    _write(gpd.GeoDataFrame({"species": "白榆", "age_years": r4.integers(100, 500, nt)},
                            geometry=shapely.points(tx, ty), crs=CRS), tmp / "old_tree.parquet")
    _log(f"  lines and points ({time.perf_counter() - t0:.0f} s)")

    if dem:
        _dem(tmp / "dem.tif", dem, np.random.default_rng([seed, 7]))
        _log(f"  DEM {dem}×{dem} ({time.perf_counter() - t0:.0f} s)")
    (tmp / "geoplan.toml").write_text(
        "# generated by benchmarks.generate — synthetic county workspace\n"
        "[workspace]\ncrs = \"EPSG:4536\"\n\n"
        "[layers.landuse]\nscheme = \"gbt21010-2017\"\n\n"
        "[layers.forest_land]\nfrom = \"landuse\"\nwhere = \"code in forest\"\n\n"
        "[layers.farmland]\nfrom = \"landuse\"\nwhere = \"code in farmland\"\n",
        encoding="utf-8")
    (tmp / "DONE").write_text(json.dumps({"parcels": parcels, "power_lines": power_lines,
                                          "dem": dem, "seed": seed,
                                          "seconds": round(time.perf_counter() - t0, 1)}))
    tmp.rename(out)
    _log(f"  done in {time.perf_counter() - t0:.0f} s → {out}")
    return out


# --------------------------------------------------------------------------- sites


def site_batch(workspace: Path, kind: str, n: int, *, seed: int = 11) -> Path:
    """Build (or reuse) a batch of sites for a county workspace; return the GeoParquet path.

    ``kind``: ``house`` (footprints), ``point`` (house points) or ``road``.
    """
    if kind not in ("house", "point", "road"):
        raise ValueError(f"kind must be house, point or road, not {kind!r}")
    out = workspace / "batches" / f"{kind}-{n}-s{seed}.parquet"
    if out.exists():
        return out
    out.parent.mkdir(exist_ok=True)
    vil = gpd.read_parquet(workspace / "village.parquet")
    vx, vy = shapely.get_x(vil.geometry.values), shapely.get_y(vil.geometry.values)
    names = vil["name"].to_numpy()
    rng = np.random.default_rng([seed, {"house": 0, "point": 0, "road": 1}[kind], n])
    if kind in ("house", "point"):
        owner = rng.integers(len(vx), size=n)
        near = rng.random(n) < 0.8
        x = np.where(near, vx[owner] + rng.normal(0, 300, n), rng.uniform(X0, X0 + SIDE, n))
        y = np.where(near, vy[owner] + rng.normal(0, 300, n), rng.uniform(Y0, Y0 + SIDE, n))
        x = np.clip(x, X0 + 20, X0 + SIDE - 20)
        y = np.clip(y, Y0 + 20, Y0 + SIDE - 20)
        if kind == "house":
            w, h = rng.uniform(10, 14, n), rng.uniform(10, 16, n)
            a = rng.uniform(0, math.pi, n)
            dx = np.array([-1, 1, 1, -1, -1]) / 2
            dy = np.array([-1, -1, 1, 1, -1]) / 2
            ca, sa = np.cos(a)[:, None], np.sin(a)[:, None]
            px = x[:, None] + ca * dx * w[:, None] - sa * dy * h[:, None]
            py = y[:, None] + sa * dx * w[:, None] + ca * dy * h[:, None]
            geoms = shapely.polygons(np.stack([px, py], axis=-1))
        else:
            geoms = shapely.points(x, y)
        village = np.where(near, names[owner], None)
        village[rng.random(n) < 0.1] = None
        gdf = gpd.GeoDataFrame({
            "house_id": pd.array([f"H{i:07d}" for i in range(1, n + 1)], dtype=object),
            "village": village, "floors": rng.integers(1, 3, n)},
            geometry=geoms, crs=CRS)
    else:
        nv = rng.integers(2, 7, n)
        x0 = rng.uniform(X0 + 1500, X0 + SIDE - 1500, n)
        y0 = rng.uniform(Y0 + 1500, Y0 + SIDE - 1500, n)
        length = rng.uniform(100, 1500, n)
        heading = rng.uniform(0, 2 * math.pi, n)
        seg = length / (nv - 1)
        parts = []
        for i in range(n):
            turn = np.cumsum(rng.normal(0, 0.3, nv[i] - 1)) + heading[i]
            xs = np.r_[x0[i], x0[i] + np.cumsum(seg[i] * np.cos(turn))]
            ys = np.r_[y0[i], y0[i] + np.cumsum(seg[i] * np.sin(turn))]
            parts.append(np.column_stack([xs, ys]))
        geoms = [shapely.LineString(p) for p in parts]
        width = np.round(rng.uniform(3, 7, n), 1)
        width[rng.random(n) < 0.05] = np.nan
        gdf = gpd.GeoDataFrame({"road_id": [f"R{i:07d}" for i in range(1, n + 1)],
                                "width_m": width, "class": "村道"}, geometry=geoms, crs=CRS)
    tmp = out.with_suffix(".tmp")
    gdf.to_parquet(tmp, index=False)
    tmp.rename(out)
    return out


if __name__ == "__main__":  # pragma: no cover
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--dem", type=int, default=10_000)
    ap.add_argument("--houses", type=int, default=100_000)
    a = ap.parse_args()
    ws = county_workspace(a.parcels, dem=a.dem)
    print(site_batch(ws, "house", a.houses))
