"""A workspace's DEM held in memory (geoplan.raster.held): the same slopes as the windows read.

The windowed reads are the reference: a DEM given by path is never held, so
``zonal_slope(path, …)`` reads windows, and the held layer must give the same
values bit for bit, the same statuses, reasons and cell counts.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject

import geoplan
from geoplan.engine import prepare_rules
from geoplan.raster import held as gheld
from geoplan.raster import zonal_slope
from geoplan.raster.held import held_band, hold_dem, release_dems

RES = 10.0
H, W = 90, 120
LEFT, TOP = 524_000.0, 4_866_800.0
TRANSFORM = Affine(RES, 0.0, LEFT, 0.0, -RES, TOP)
CRS = "EPSG:4536"


def rugged(seed: int = 3) -> np.ndarray:
    """Hills and noise, with a nodata block and a ragged nodata edge."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:H, 0:W]
    z = 900 + 40 * np.sin(x / 7.0) * np.cos(y / 5.0) + rng.normal(0, 3, (H, W))
    z[30:38, 50:61] = -9999.0
    z[0, :17] = -9999.0
    z[-3:, -5:] = -9999.0
    return z


def write(path: Path, z: np.ndarray, dtype: str = "float32", *, crs: str = CRS,
          transform: Affine = TRANSFORM) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0], count=1,
                       dtype=dtype, crs=crs, transform=transform, nodata=-9999.0) as dst:
        dst.write(z.astype(dtype), 1)
    return path


def sites(seed: int = 8, n: int = 400) -> np.ndarray:
    """Footprints, points, lines, a holed and a multipart polygon, at the edges and beyond."""
    rng = np.random.default_rng(seed)
    x = LEFT + rng.uniform(-30, W * RES + 30, n)
    y = TOP - rng.uniform(-30, H * RES + 30, n)
    out = []
    for i, (a, b) in enumerate(zip(x, y, strict=True)):
        k = i % 4
        if k == 0:
            out.append(shapely.box(a, b, a + rng.uniform(3, 40), b + rng.uniform(3, 40)))
        elif k == 1:
            out.append(shapely.Point(a, b))
        elif k == 2:
            out.append(shapely.LineString([(a, b), (a + rng.uniform(-90, 90),
                                                    b + rng.uniform(-90, 90))]))
        else:
            outer = shapely.box(a, b, a + 60, b + 45)
            out.append(outer.difference(shapely.box(a + 20, b + 15, a + 40, b + 30)))
    out += [shapely.MultiPolygon([shapely.box(LEFT, TOP - 25, LEFT + 25, TOP),
                                  shapely.box(LEFT + W * RES - 15, TOP - H * RES,
                                              LEFT + W * RES, TOP - H * RES + 15)]),
            shapely.box(LEFT - 50, TOP + 10, LEFT - 20, TOP + 40),  # wholly outside
            None, shapely.Polygon()]
    return np.array(out, dtype=object)


def workspace(folder: Path, z: np.ndarray, dtype: str = "float32", **kw):
    folder.mkdir(parents=True, exist_ok=True)
    write(folder / "dem.tif", z, dtype, **kw)
    return geoplan.open_workspace(folder, crs=4536)


def assert_same(a, b) -> None:
    np.testing.assert_array_equal(a.values, b.values)  # NaN where NaN, else bit for bit
    assert a.status.tolist() == b.status.tolist()
    assert a.reason.tolist() == b.reason.tolist()
    np.testing.assert_array_equal(a.n_cells, b.n_cells)


@pytest.fixture(autouse=True)
def _released():
    release_dems()
    yield
    release_dems()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("stat", ["max", "mean", "p90"])
def test_held_band_gives_the_slopes_the_windows_give(tmp_path, dtype, stat):
    ws = workspace(tmp_path / "ws", rugged(), dtype)
    dem = ws.raster("dem")
    g = sites()
    windowed = zonal_slope(dem.path, g, crs=4536, stat=stat)
    tiled = zonal_slope(dem.path, g, crs=4536, stat=stat, max_window_cells=400)
    band = hold_dem(dem)
    assert band is not None
    assert band.dtype == np.dtype(dtype)
    assert held_band(dem) is band
    held = zonal_slope(dem, g, crs=4536, stat=stat)  # one window, its sites read together
    assert_same(held, windowed)
    assert_same(held, tiled)
    # many windows of few sites each: the sites' cells are read from the band at once
    assert_same(zonal_slope(dem, g, crs=4536, stat=stat, max_window_cells=400), windowed)
    few = zonal_slope(dem.path, g[:120], crs=4536, stat=stat)
    assert_same(zonal_slope(dem, g[:120], crs=4536, stat=stat), few)
    st = held.status.tolist()
    # the cases the sites were drawn to cover
    assert {"ok", "outside", "empty"} <= set(st)
    assert any("have no slope" in r for r in held.reason)
    assert int(np.isnan(band).sum()) == int((rugged() == -9999.0).sum())


def test_a_geographic_dem_held_gives_the_same_slopes(tmp_path):
    plane_dir = tmp_path / "plane"
    plane_dir.mkdir()
    src_path = write(plane_dir / "dem.tif", rugged(5))
    geo_dir = tmp_path / "geo"
    geo_dir.mkdir()
    with rasterio.open(src_path) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:4490", src.width, src.height, *src.bounds)
        z = np.full((height, width), -9999.0)
        reproject(rasterio.band(src, 1), z, dst_transform=transform, dst_crs="EPSG:4490",
                  dst_nodata=-9999.0, resampling=Resampling.bilinear)
    write(geo_dir / "dem.tif", z, "float64", crs="EPSG:4490", transform=transform)
    ws = geoplan.open_workspace(geo_dir, crs=4536)
    dem = ws.raster("dem")
    g = sites(9, 120)
    windowed = zonal_slope(dem.path, g, crs=4536)
    assert held_band(dem) is None
    first = zonal_slope(dem, g, crs=4536)  # holds the band, warps this call's windows
    assert held_band(dem) is not None
    assert_same(first, windowed)
    assert_same(zonal_slope(dem, g, crs=4536), windowed)  # warps slices of the held band
    assert (windowed.status == "ok").sum() > 20


def test_sites_that_would_read_most_of_the_dem_hold_it_few_do_not(tmp_path):
    ws = workspace(tmp_path / "ws", rugged())
    dem = ws.raster("dem")
    zonal_slope(dem, [shapely.Point(LEFT + 200, TOP - 200)], crs=4536)
    assert held_band(dem) is None
    first = zonal_slope(dem, sites(), crs=4536)
    assert held_band(dem) is not None
    assert_same(first, zonal_slope(dem.path, sites(), crs=4536))


def test_a_changed_file_is_read_again(tmp_path):
    ws = workspace(tmp_path / "ws", rugged())
    dem = ws.raster("dem")
    g = sites()
    assert hold_dem(dem) is not None
    before = zonal_slope(dem, g, crs=4536)
    steeper = rugged() * 1.0
    live = steeper != -9999.0
    steeper[live] = steeper[live] * 3 - 1800
    write(dem.path, steeper)
    st = os.stat(dem.path)
    os.utime(dem.path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert held_band(dem) is None
    after = zonal_slope(dem, g, crs=4536)
    assert_same(after, zonal_slope(dem.path, g, crs=4536))
    ok = before.status == "ok"
    assert (after.values[ok] > before.values[ok]).mean() > 0.9


def test_a_dem_over_the_limit_is_read_by_window(tmp_path, monkeypatch):
    ws = workspace(tmp_path / "ws", rugged())
    dem = ws.raster("dem")
    assert hold_dem(dem, max_bytes=H * W * 4 - 1) is None
    monkeypatch.setattr(gheld, "HELD_DEM_BYTES", H * W * 4 - 1)
    g = sites()
    res = zonal_slope(dem, g, crs=4536)
    assert held_band(dem) is None
    assert_same(res, zonal_slope(dem.path, g, crs=4536))
    monkeypatch.setattr(gheld, "HELD_DEM_BYTES", H * W * 4)
    assert hold_dem(dem) is not None


def test_the_held_band_is_read_only_and_dropped_with_its_workspace(tmp_path):
    ws = workspace(tmp_path / "ws", rugged())
    band = hold_dem(ws.raster("dem"))
    with pytest.raises(ValueError, match="read-only"):
        band[1, 1] = 0.0
    n = len(gheld._HELD)
    del ws, band
    gc.collect()
    assert len(gheld._HELD) == n - 1


def test_prepare_rules_holds_the_dem_a_slope_rule_reads(tmp_path):
    ws = workspace(tmp_path / "ws", rugged())
    prepare_rules(ws, "yining-2025", subject="road")  # no raster rule for roads
    assert held_band(ws.raster("dem")) is None
    prepare_rules(ws, "yining-2025", subject="house")
    assert held_band(ws.raster("dem")) is not None


def test_prepare_rules_leaves_an_unreadable_dem_to_the_rule(tmp_path):
    ws = workspace(tmp_path / "ws", rugged())
    dem = ws.raster("dem")
    Path(dem.path).write_bytes(b"not a tiff")
    prepare_rules(ws, "yining-2025", subject="house")  # does not raise
    assert held_band(dem) is None


def test_slope_areas_from_the_held_band_are_those_of_the_windows(tmp_path):
    """The exclusion map's slope areas read the held band through the same grid."""
    from geoplan.raster.areas import slope_areas

    ws = workspace(tmp_path / "ws", rugged())
    dem = ws.raster("dem")
    extent = shapely.box(LEFT - 40, TOP - H * RES + 35, LEFT + W * RES - 55, TOP + 20)
    before = slope_areas(dem.path, extent, crs=4536, thresholds=[15, 25], max_window_cells=900)
    assert hold_dem(dem) is not None
    after = slope_areas(dem, extent, crs=4536, thresholds=[15, 25], max_window_cells=900)
    for t in (15, 25):
        assert after.above[t].area > 0
        assert shapely.equals_exact(shapely.normalize(after.above[t]),
                                    shapely.normalize(before.above[t]), tolerance=0)
    assert shapely.equals_exact(shapely.normalize(after.unknown),
                                shapely.normalize(before.unknown), tolerance=0)


def test_a_truncated_dem_is_named_and_left_to_the_rule(tmp_path):
    """A DEM that opens but whose blocks cannot be read: hold_dem and the windowed reads name
    the file and the fix; prepare_rules goes on without it."""
    from geoplan.errors import DataFileError

    folder = tmp_path / "ws"
    folder.mkdir()
    path = folder / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=1, dtype="float32",
                       crs=CRS, transform=TRANSFORM, nodata=-9999.0, tiled=True,
                       blockxsize=32, blockysize=32) as dst:
        dst.write(rugged().astype("float32"), 1)
    ws = geoplan.open_workspace(folder, crs=4536)
    dem = ws.raster("dem")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(DataFileError, match=r"dem\.tif: its cells cannot be read.*deliver it"):
        hold_dem(dem)
    prepare_rules(ws, "yining-2025", subject="house")  # does not raise
    assert held_band(dem) is None
    # read by window (a site or two), the same error: the file and the fix, not GDAL's alone
    with pytest.raises(DataFileError, match=r"dem\.tif: its cells cannot be read.*deliver it"):
        zonal_slope(dem, [shapely.box(LEFT + 500, TOP - 600, LEFT + 512, TOP - 588)], crs=4536)


def test_invalid_footprints_are_repaired_before_their_cells_are_found(tmp_path):
    """zonal_slope repairs an invalid footprint (make_valid) unless told the sites are
    valid. A multipolygon whose parts overlap is repaired as the parts' linework (the
    overlap is a hole) and read as it is with ``assume_valid`` (the overlap counted once):
    different cells. geoplan.check repairs its sites itself (the parts' union) and tells
    zonal_slope they are valid; its slope is the repaired footprint's."""
    import dataclasses

    import geopandas as gpd

    z = 900.0 + 0.5 * np.mgrid[0:H, 0:W][1]  # a gentle plane, a spike inside the overlap
    z[32, 27] += 60.0
    ws = workspace(tmp_path / "ws", z)
    dem = ws.raster("dem")
    x0, y0 = LEFT + 200, TOP - 400
    overlapping = shapely.MultiPolygon([shapely.box(x0, y0, x0 + 100, y0 + 100),
                                        shapely.box(x0 + 50, y0 + 50, x0 + 150, y0 + 150)])
    assert not shapely.is_valid(overlapping)
    linework = shapely.make_valid(overlapping)
    union = shapely.make_valid(overlapping, method="structure", keep_collapsed=False)
    repaired = zonal_slope(dem.path, [overlapping], crs=4536)
    assert_same(repaired, zonal_slope(dem.path, [linework], crs=4536))
    as_is = zonal_slope(dem.path, [overlapping], crs=4536, assume_valid=True)
    assert_same(as_is, zonal_slope(dem.path, [union], crs=4536))
    assert as_is.n_cells[0] - repaired.n_cells[0] >= 16  # the overlap's 5 x 5 cells, less
    # valid sites: the same answers with the test skipped
    g = sites()
    assert_same(zonal_slope(dem.path, g, crs=4536, assume_valid=True),
                zonal_slope(dem.path, g, crs=4536))
    # the rule in geoplan.check: the slope of the footprint as check repairs it
    pack = geoplan.rules.load_pack("yining-2025")
    slope_only = dataclasses.replace(pack, rules=tuple(r for r in pack.rules
                                                       if r.id == "house.slope"))
    stats = [zonal_slope(dem.path, [geom], crs=4536, stat="max").values[0]
             for geom in (linework, union)]
    assert stats[1] > stats[0] + 30  # the overlap holds the steepest cells
    batch = gpd.GeoDataFrame({"site_id": ["B1"]}, geometry=[overlapping], crs=4536)
    res = geoplan.check(batch, ws, rules=slope_only, jobs=1)
    f = res.findings[res.findings["rule_id"] == "house.slope"]
    assert len(f) == 1
    assert float(f["measure"].iloc[0]) == float(stats[1])
