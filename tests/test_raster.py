"""Tests for geoplan.raster: Horn slope in metres and zonal statistics under sites.

Every expected value below is worked out by hand: a plane z = a·x + b·y has
slope atan(hypot(a, b)) everywhere (Horn's method is exact on planes), and a
single raised cell ("spike") of height H on flat ground gives, on a grid of
cell size s, slope atan(H / 4s) on its four edge neighbours, atan(√2·H / 8s)
on its four diagonal neighbours and 0 on itself.
"""

from __future__ import annotations

import doctest
import importlib
import math
import pkgutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.transform import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject
from shapely import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    affinity,
    box,
)

import geoplan.raster as graster
import geoplan.raster._grids as grids
import geoplan.raster.zonal as gzonal
from geoplan.errors import CRSError, DataFileError
from geoplan.raster import ZonalResult, slope_degrees, zonal_slope
from geoplan.workspace import open_workspace

# A 60 × 60 grid of 30 m cells in EPSG:4536 near Yining.
RES = 30.0
N = 60
LEFT, TOP = 524_000.0, 4_866_800.0
TRANSFORM = Affine(RES, 0.0, LEFT, 0.0, -RES, TOP)
CX, CY = LEFT + N * RES / 2, TOP - N * RES / 2  # the grid's centre (a cell corner)
TAN25 = math.tan(math.radians(25.0))
ATAN_HALF = math.degrees(math.atan(0.5))  # 26.56505117707799°


def cell_box(row: int, col: int, inset: float = 0.0) -> Polygon:
    x0 = LEFT + col * RES
    y1 = TOP - row * RES
    return box(x0 + inset, y1 - RES + inset, x0 + RES - inset, y1 - inset)


def cell_centre(row: int, col: int) -> Point:
    return Point(LEFT + (col + 0.5) * RES, TOP - (row + 0.5) * RES)


def plane(a: float, b: float, n: int = N) -> np.ndarray:
    """z = a·(x - LEFT) + b·(y - TOP) sampled at cell centres (row 0 is north)."""
    x = (np.arange(n) + 0.5) * RES
    y = -(np.arange(n) + 0.5) * RES
    return np.add.outer(b * y, a * x) + 1000.0


def write_dem(path: Path, z: np.ndarray, *, crs: str | None = "EPSG:4536",
              transform=TRANSFORM, nodata: float | None = -9999.0) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=z.shape[1], height=z.shape[0],
                       count=1, dtype="float64", crs=crs, transform=transform,
                       nodata=nodata) as dst:
        dst.write(z, 1)
    return path


@pytest.fixture(scope="module")
def plane_dem(tmp_path_factory) -> Path:
    """Plane with gradient (0.3, 0.4): slope atan(0.5) = 26.565° everywhere."""
    return write_dem(tmp_path_factory.mktemp("plane") / "dem.tif", plane(0.3, 0.4))


@pytest.fixture(scope="module")
def plane25_dem(tmp_path_factory) -> Path:
    """Plane rising tan(25°) m per metre eastwards: slope exactly 25°."""
    return write_dem(tmp_path_factory.mktemp("plane25") / "dem.tif", plane(TAN25, 0.0))


@pytest.fixture(scope="module")
def spike_dem(tmp_path_factory) -> Path:
    """Flat ground with one cell raised by 120 m at (row 30, col 30)."""
    z = np.full((N, N), 500.0)
    z[30, 30] += 120.0
    return write_dem(tmp_path_factory.mktemp("spike") / "dem.tif", z)


@pytest.fixture(scope="module")
def holed_dem(tmp_path_factory) -> Path:
    """The (0.3, 0.4) plane with a nodata block over rows/cols 20–29."""
    z = plane(0.3, 0.4)
    z[20:30, 20:30] = -9999.0
    return write_dem(tmp_path_factory.mktemp("holed") / "dem.tif", z)


def test_doctests():
    modules = [graster, *(importlib.import_module(f"geoplan.raster.{m.name}")
                          for m in pkgutil.iter_modules(graster.__path__))]
    results = [doctest.testmod(m, optionflags=doctest.ELLIPSIS) for m in modules]
    assert sum(r.attempted for r in results) > 0
    assert sum(r.failed for r in results) == 0


# --------------------------------------------------------------------------- slope_degrees


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (TAN25, 0.0, 25.0),
        (0.5, 0.0, ATAN_HALF),
        (0.0, -0.5, ATAN_HALF),
        (0.3, 0.4, ATAN_HALF),           # atan(hypot(0.3, 0.4)) = atan(0.5)
        (1.0, 1.0, math.degrees(math.atan(math.sqrt(2)))),
        (0.0, 0.0, 0.0),
    ],
)
def test_slope_of_a_plane_is_atan_of_its_gradient(a, b, expected):
    s = slope_degrees(plane(a, b, n=12), xres=RES, yres=RES)
    assert s.shape == (12, 12)
    # Edges included: linear extrapolation keeps a plane a plane.
    np.testing.assert_allclose(s, expected, atol=1e-6)


def test_slope_uses_separate_cell_width_and_height():
    xres, yres = 22.3, 30.9
    x = np.arange(8) * xres
    y = np.arange(8) * yres
    z = np.add.outer(-0.4 * y, 0.3 * x)  # rows run south: z rises 0.4 m/m northwards
    np.testing.assert_allclose(slope_degrees(z, xres=xres, yres=yres), ATAN_HALF, atol=1e-9)
    # The same values read with square 30 m cells would be a different surface.
    assert abs(slope_degrees(z, xres=30.0, yres=30.0)[4, 4] - ATAN_HALF) > 1.0


def test_slope_of_a_spike_by_hand():
    z = np.zeros((5, 5))
    z[2, 2] = 120.0
    s = slope_degrees(z, xres=30.0, yres=30.0)
    edge = math.degrees(math.atan(120.0 / (4 * 30.0)))            # 45°
    diag = math.degrees(math.atan(math.sqrt(2) * 120.0 / (8 * 30.0)))  # 35.264°
    assert edge == pytest.approx(45.0)
    assert diag == pytest.approx(35.26438968)
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = [[diag, edge, diag], [edge, 0.0, edge], [diag, edge, diag]]
    np.testing.assert_allclose(s, expected, atol=1e-9)


def test_slope_nodata_spreads_to_the_3x3_window():
    z = plane(0.3, 0.4, n=9)
    z[4, 4] = np.nan
    s = slope_degrees(z, xres=RES, yres=RES)
    hole = np.zeros((9, 9), dtype=bool)
    hole[3:6, 3:6] = True
    assert np.isnan(s[hole]).all()
    np.testing.assert_allclose(s[~hole], ATAN_HALF, atol=1e-9)
    # The same through nodata_mask, with a finite fill value.
    z2 = plane(0.3, 0.4, n=9)
    z2[4, 4] = -9999.0
    mask = z2 == -9999.0
    np.testing.assert_array_equal(np.isnan(slope_degrees(z2, xres=RES, yres=RES,
                                                         nodata_mask=mask)), hole)


def test_slope_nodata_on_the_edge():
    z = plane(0.5, 0.0, n=6)
    z[0, 0] = np.inf
    s = slope_degrees(z, xres=RES, yres=RES)
    assert np.isnan(s[:2, :2]).all()
    assert np.isfinite(s[2:, :]).all()


def test_slope_does_not_modify_its_input():
    z = plane(0.5, 0.0, n=5)
    before = z.copy()
    slope_degrees(z, xres=RES, yres=RES, nodata_mask=np.ones_like(z, dtype=bool))
    np.testing.assert_array_equal(z, before)


@pytest.mark.parametrize(
    ("elev", "kwargs", "match"),
    [
        (np.zeros(5), {}, "2-D"),
        (np.zeros((3, 3)), {"xres": 0.0}, "xres"),
        (np.zeros((3, 3)), {"yres": float("nan")}, "yres"),
        (np.zeros((3, 3)), {"nodata_mask": np.zeros((2, 2), bool)}, "shape"),
    ],
)
def test_slope_rejects_bad_input(elev, kwargs, match):
    args = {"xres": 30.0, "yres": 30.0} | kwargs
    with pytest.raises(ValueError, match=match):
        slope_degrees(elev, **args)


def test_slope_of_tiny_grids():
    assert slope_degrees(np.zeros((0, 0)), xres=1.0, yres=1.0).shape == (0, 0)
    assert slope_degrees(np.array([[7.0]]), xres=1.0, yres=1.0)[0, 0] == 0.0
    row = slope_degrees(np.array([[0.0, 15.0, 30.0]]), xres=30.0, yres=30.0)
    np.testing.assert_allclose(row, ATAN_HALF)


# --------------------------------------------------------------------------- zonal_slope: values


def test_zonal_plane25_polygon_point_and_subcell_footprint(plane25_dem):
    sites = [
        box(CX - 40, CY - 25, CX + 40, CY + 25),        # a footprint over several cells
        Point(CX + 10, CY + 10),
        box(CX + 12, CY + 12, CX + 17, CY + 17),        # 5 m × 5 m, inside one cell
        box(CX - 2.5, CY - 2.5, CX + 2.5, CY + 2.5),    # 5 m × 5 m on a cell corner: 4 cells
    ]
    r = zonal_slope(plane25_dem, sites, crs="EPSG:4536")
    assert isinstance(r, ZonalResult)
    assert len(r) == 4
    np.testing.assert_allclose(r.values, 25.0, atol=1e-6)
    assert r.status.tolist() == ["ok"] * 4
    assert r.reason.tolist() == [""] * 4
    assert r.n_cells.tolist() == [8, 1, 1, 4]  # 80 m × 50 m: 4 columns × 2 rows
    assert r.ok.all()


def test_zonal_counts_cells_like_rasterio_all_touched(plane_dem):
    """Cells used = rasterio.features.geometry_mask(all_touched=True) for off-grid shapes."""
    geoms = [
        Polygon([(CX - 95, CY - 70), (CX + 110, CY - 40), (CX - 20, CY + 130)]),
        affinity.rotate(box(CX - 60, CY - 20, CX + 60, CY + 20), 33),
        box(CX - 40, CY - 25, CX + 40, CY + 25),
        box(CX - 100, CY - 100, CX + 100, CY + 100).difference(box(CX - 50, CY - 50, CX + 50,
                                                                   CY + 50)),
    ]
    r = zonal_slope(plane_dem, geoms, crs=4536)
    for geom, n in zip(geoms, r.n_cells, strict=True):
        touched = ~geometry_mask([geom], out_shape=(N, N), transform=TRANSFORM, all_touched=True)
        assert n == touched.sum()
    np.testing.assert_allclose(r.values, ATAN_HALF, atol=1e-6)


def test_zonal_all_touched_false_uses_cell_centres(plane_dem):
    geoms = [
        Polygon([(CX - 95, CY - 70), (CX + 110, CY - 40), (CX - 20, CY + 130)]),
        box(CX + 12, CY + 12, CX + 17, CY + 17),   # covers no centre: falls back to its cell
    ]
    r = zonal_slope(plane_dem, geoms, crs=4536, all_touched=False)
    centres = ~geometry_mask([geoms[0]], out_shape=(N, N), transform=TRANSFORM,
                             all_touched=False)
    assert r.n_cells.tolist() == [centres.sum(), 1]
    assert r.status.tolist() == ["ok", "ok"]


def make_bowtie(x: float, y: float) -> Polygon:
    return Polygon([(x - 30, y - 30), (x + 30, y + 30), (x + 30, y - 30), (x - 30, y + 30)])


GEOMETRIES = {
    "point": Point(CX + 3, CY - 7),
    "polygon": box(CX - 40, CY - 25, CX + 40, CY + 25),
    "subcell": box(CX + 12, CY + 12, CX + 17, CY + 17),
    "multipolygon": MultiPolygon([box(CX - 90, CY - 90, CX - 60, CY - 70),
                                  box(CX + 60, CY + 60, CX + 65, CY + 65)]),
    "polygon_with_hole": box(CX - 100, CY - 100, CX + 100, CY + 100).difference(
        box(CX - 50, CY - 50, CX + 50, CY + 50)),
    "linestring": LineString([(CX - 150, CY - 40), (CX + 170, CY + 95)]),
    "multilinestring": MultiLineString([[(CX - 90, CY), (CX - 10, CY + 5)],
                                        [(CX + 50, CY - 50), (CX + 52, CY + 80)]]),
    "multipoint": MultiPoint([(CX - 100, CY - 100), (CX + 101, CY + 7)]),
    "bowtie": make_bowtie(CX, CY),
    "collection": GeometryCollection([Point(CX - 100, CY), LineString([(CX, CY), (CX + 40, CY + 9)]),
                                      box(CX + 50, CY - 50, CX + 53, CY - 47)]),
}


@pytest.mark.parametrize("stat", ["max", "mean", "p90"])
@pytest.mark.parametrize("kind", list(GEOMETRIES))
def test_zonal_plane_for_every_geometry_type(plane_dem, kind, stat):
    geom = GEOMETRIES[kind]
    r = zonal_slope(plane_dem, np.array([geom], dtype=object), crs=4536, stat=stat)
    assert r.status[0] == "ok", r.reason[0]
    assert r.values[0] == pytest.approx(ATAN_HALF, abs=1e-6)
    assert r.n_cells[0] >= 1


def test_zonal_cells_match_rasterio_on_random_shapes(plane_dem):
    """A seeded sweep: the cells used equal rasterio's all_touched mask (slivers aside)."""
    rng = np.random.default_rng(20240601)
    geoms = []
    for _ in range(60):
        x, y = rng.uniform(LEFT + 200, LEFT + N * RES - 400), rng.uniform(TOP - N * RES + 400,
                                                                          TOP - 200)
        geoms += [
            Point(x, y).buffer(rng.uniform(2, 150), quad_segs=int(rng.integers(1, 6))),
            shapely.convex_hull(MultiPoint(np.c_[x + rng.normal(0, 60, 6),
                                                 y + rng.normal(0, 60, 6)])),
            LineString(np.c_[x + np.cumsum(rng.normal(0, 70, 4)),
                             y + np.cumsum(rng.normal(0, 70, 4))]),
        ]
    r = zonal_slope(plane_dem, geoms, crs=4536)
    assert set(r.status) <= {"ok", "outside"}  # a random road may wander off the DEM
    assert (r.status == "ok").sum() > 0.9 * len(geoms)
    for geom, n in zip(geoms, r.n_cells, strict=True):
        touched = ~geometry_mask([geom], out_shape=(N, N), transform=TRANSFORM, all_touched=True)
        if n != touched.sum():  # only cells GDAL takes for a sliver of < 10⁻⁴ of a cell
            extra = [cell_box(int(i), int(j)) for i, j in np.argwhere(touched)]
            slivers = [geom.intersection(c).area for c in extra]
            assert touched.sum() - n == sum(a < 1e-4 * RES * RES for a in slivers)


def test_road_along_a_grid_line_takes_both_sides(spike_dem):
    x = LEFT + 30 * RES
    road = LineString([(x, TOP - 28 * RES - 5), (x, TOP - 31 * RES - 5)])
    r = zonal_slope(spike_dem, [road], crs=4536)
    assert r.n_cells[0] == 8  # rows 28–31 × columns 29 and 30
    assert r.values[0] == pytest.approx(45.0)  # (30, 29) is the spike's west neighbour


def test_result_is_frozen_and_aligned(plane_dem):
    gdf = gpd.GeoDataFrame({"id": [7, 8]}, geometry=[None, Point(CX, CY)], crs=4536,
                           index=[100, 5])
    r = zonal_slope(plane_dem, gdf, crs=4536)
    assert r.status.tolist() == ["empty", "ok"]
    with pytest.raises(AttributeError):
        r.values = np.zeros(2)  # type: ignore[misc]


def test_zonal_polygon_hole_excludes_cells_inside_the_hole(plane_dem):
    outer = box(CX - 100, CY - 100, CX + 100, CY + 100)
    holed = GEOMETRIES["polygon_with_hole"]
    r = zonal_slope(plane_dem, [outer, holed], crs=4536)
    # The hole (100 m square, off-grid) fully contains 2 × 2 cells… by hand: the hole
    # spans x in (CX-50, CX+50): cells [CX-30, CX) and [CX, CX+30) lie wholly inside,
    # likewise in y, so 4 cells drop out.
    assert r.n_cells[0] - r.n_cells[1] == 4


def test_zonal_spike_max_mean_p90_by_hand(spike_dem):
    edge = 45.0
    diag = math.degrees(math.atan(math.sqrt(2) / 2))   # 35.2643897°
    mean = (4 * edge + 4 * diag + 0.0) / 9                # 35.6730621°
    block = [box(LEFT + 29 * RES + 1, TOP - 32 * RES + 1, LEFT + 32 * RES - 1, TOP - 29 * RES - 1),
             box(LEFT + 29 * RES, TOP - 32 * RES, LEFT + 32 * RES, TOP - 29 * RES)]
    for stat, expected in [("max", edge), ("mean", mean), ("p90", edge)]:
        r = zonal_slope(spike_dem, block, crs=4536, stat=stat)
        np.testing.assert_allclose(r.values, expected, atol=1e-9)
        # The aligned 3×3 block (edges on grid lines) takes its 9 cells, not 25.
        assert r.n_cells.tolist() == [9, 9]
    assert mean == pytest.approx(35.67306208)
    assert mean < edge
    # p90 differs from max when the top value is alone: the spike, its east
    # neighbour and its four diagonals give 0, 4 × 35.26°, 45°; p90 sits at
    # position 0.9 × 5 = 4.5 of the sorted values, halfway between 35.26° and 45°.
    cells = [(30, 30), (30, 31), (29, 29), (29, 31), (31, 29), (31, 31)]
    six = shapely.union_all([cell_box(r, c) for r, c in cells]).buffer(-1, join_style="mitre")
    assert six.geom_type == "MultiPolygon"
    by_hand = {"max": edge, "mean": (4 * diag + edge) / 6, "p90": diag + 0.5 * (edge - diag)}
    assert by_hand["p90"] == pytest.approx(40.13219484)
    for stat, expected in by_hand.items():
        r = zonal_slope(spike_dem, [six], crs=4536, stat=stat)
        assert r.n_cells[0] == 6
        assert r.values[0] == pytest.approx(expected, abs=1e-9)
    # A point on the spike takes just its cell: slope 0 although neighbours are 45°.
    p = zonal_slope(spike_dem, [cell_centre(30, 30)], crs=4536)
    assert p.values[0] == 0.0


# --------------------------------------------------------------------------- statuses


def test_zonal_statuses(holed_dem):
    inside_hole = box(LEFT + 23 * RES, TOP - 27 * RES, LEFT + 27 * RES, TOP - 23 * RES)
    hole_edge = box(LEFT + 28 * RES + 5, TOP - 25 * RES, LEFT + 33 * RES, TOP - 24 * RES + 3)
    straddle = box(LEFT - 20, CY - 20, LEFT + 20, CY + 20)
    far = Point(LEFT + 50_000, TOP + 50_000)
    beyond_corner = box(LEFT + N * RES + 5, TOP + 5, LEFT + N * RES + 50, TOP + 50)
    sites = gpd.GeoSeries(
        [box(CX + 300, CY + 300, CX + 350, CY + 340), inside_hole, hole_edge, straddle, far,
         Polygon(), None, beyond_corner],
        index=[10, 11, 12, 13, 14, 15, 16, 17], crs="EPSG:4536",
    )
    r = zonal_slope(holed_dem, sites, crs=4536)
    assert r.status.tolist() == ["ok", "nodata", "ok", "outside", "outside", "empty", "empty",
                                 "outside"]
    assert r.reason[0] == ""
    assert r.values[0] == pytest.approx(ATAN_HALF, abs=1e-6)

    assert np.isnan(r.values[1])
    assert r.n_cells[1] == 0
    assert "nodata" in r.reason[1]

    # Next to the hole: cells within one cell of nodata have no slope and are ignored.
    assert r.values[2] == pytest.approx(ATAN_HALF, abs=1e-6)
    assert "ignored" in r.reason[2]
    touched = (~geometry_mask([hole_edge], out_shape=(N, N), transform=TRANSFORM,
                              all_touched=True)).sum()
    assert 0 < r.n_cells[2] < touched

    assert r.reason[3] == "site extends beyond the DEM"
    # The part inside still has a value (enough to prove a fail, never a pass).
    assert r.values[3] == pytest.approx(ATAN_HALF, abs=1e-6)
    assert r.n_cells[3] == 2

    for i in (4, 7):
        assert r.reason[i] == "site lies outside the DEM extent"
        assert np.isnan(r.values[i])
        assert r.n_cells[i] == 0
    for i in (5, 6):
        assert np.isnan(r.values[i])
        assert r.n_cells[i] == 0
        assert r.reason[i]
    for arr in (r.status, r.reason):
        assert arr.dtype == object
    assert r.values.dtype == np.float64
    assert r.n_cells.dtype == np.int64


def test_zonal_site_on_the_dem_edge_uses_edge_cells(plane25_dem):
    # Touching the right edge from inside, a road along the bottom edge, a point
    # exactly on the right edge: all covered, all get the true slope.
    sites = [box(LEFT + N * RES - 10, CY, LEFT + N * RES, CY + 10),
             LineString([(LEFT + 100, TOP - N * RES), (LEFT + 400, TOP - N * RES)]),
             Point(LEFT + N * RES, CY + 5)]
    r = zonal_slope(plane25_dem, sites, crs=4536)
    assert r.status.tolist() == ["ok"] * 3
    np.testing.assert_allclose(r.values, 25.0, atol=1e-6)


def test_zonal_all_empty_and_no_sites(plane_dem):
    r = zonal_slope(plane_dem, [None, Point()], crs=4536)
    assert r.status.tolist() == ["empty", "empty"]
    r0 = zonal_slope(plane_dem, [], crs=4536)
    assert len(r0) == 0
    assert r0.values.dtype == np.float64


# --------------------------------------------------------------------------- geographic DEM


@pytest.fixture(scope="module")
def geographic_dem(tmp_path_factory, plane_dem) -> Path:
    """The (0.3, 0.4) plane reprojected by rasterio to EPSG:4490 (lon/lat degrees)."""
    out = tmp_path_factory.mktemp("geo") / "dem4490.tif"
    with rasterio.open(plane_dem) as src:
        transform, width, height = calculate_default_transform(
            src.crs, "EPSG:4490", src.width, src.height, *src.bounds)
        z = np.full((height, width), -9999.0)
        # Plain bilinear (XSCALE/YSCALE=1: no kernel widening where the target cell is
        # taller than the source's) at exact positions (tolerance=0) keeps the plane a plane.
        reproject(rasterio.band(src, 1), z, dst_transform=transform, dst_crs="EPSG:4490",
                  dst_nodata=-9999.0, resampling=Resampling.bilinear, tolerance=0,
                  XSCALE=1, YSCALE=1)
    return write_dem(out, z, crs="EPSG:4490", transform=transform)


def test_geographic_dem_gives_the_metric_slope(geographic_dem):
    with rasterio.open(geographic_dem) as src:
        assert src.crs.is_geographic
        z = src.read(1)
        res_x_deg, res_y_deg = src.res
        assert res_x_deg < 0.01
    sites = [box(CX - 40, CY - 25, CX + 40, CY + 25), Point(CX + 3, CY - 7),
             box(CX + 12, CY + 12, CX + 17, CY + 17), GEOMETRIES["linestring"]]
    r = zonal_slope(geographic_dem, sites, crs=4536, stat="mean")
    assert r.status.tolist() == ["ok"] * 4
    np.testing.assert_allclose(r.values, ATAN_HALF, atol=0.5)
    rmax = zonal_slope(geographic_dem, sites, crs=4536, stat="max")
    np.testing.assert_allclose(rmax.values, ATAN_HALF, atol=0.5)

    # The test can fail: differencing the geographic grid with its resolution in
    # degrees taken as metres gives a wildly different (near-vertical) slope.
    mid = np.where(z == -9999.0, np.nan, z)
    gy, gx = np.gradient(mid, res_y_deg, res_x_deg)
    naive = np.degrees(np.arctan(np.hypot(gx, gy)))
    centre = naive[z.shape[0] // 2, z.shape[1] // 2]
    assert abs(centre - ATAN_HALF) > 30.0
    # … and so would slope_degrees fed degrees.
    assert abs(slope_degrees(mid, xres=res_x_deg, yres=res_y_deg)[z.shape[0] // 2,
                                                                   z.shape[1] // 2]
               - ATAN_HALF) > 30.0


def test_geographic_dem_reads_only_a_window(geographic_dem, monkeypatch):
    reads: list[int] = []
    real = grids.read_masked

    def spy(src, r0, c0, h, w):
        reads.append(h * w)
        return real(src, r0, c0, h, w)

    monkeypatch.setattr(grids, "read_masked", spy)
    r = zonal_slope(geographic_dem, [Point(CX, CY), Point(LEFT + 100, TOP - 100)], crs=4536,
                    max_window_cells=100)
    assert r.status.tolist() == ["ok", "ok"]
    with rasterio.open(geographic_dem) as src:
        assert len(reads) == 2
        assert max(reads) < 0.05 * src.width * src.height


def test_geographic_dem_statuses(geographic_dem):
    sites = [Point(LEFT + 50_000, TOP), box(LEFT - 40, CY, LEFT + 100, CY + 30)]
    r = zonal_slope(geographic_dem, sites, crs=4536)
    assert r.status.tolist() == ["outside", "outside"]
    assert r.reason.tolist() == ["site lies outside the DEM extent", "site extends beyond the DEM"]


def test_raster_layer_from_a_workspace(tmp_path, geographic_dem):
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    (ws_dir / "dem.tif").write_bytes(geographic_dem.read_bytes())
    ws = open_workspace(ws_dir, crs=4536)
    dem = ws.raster()
    assert dem is not None
    assert dem.source_crs.is_geographic
    r = zonal_slope(dem, gpd.GeoSeries([Point(CX, CY)], crs=ws.crs), crs=ws.crs)
    assert r.status[0] == "ok"
    assert r.values[0] == pytest.approx(ATAN_HALF, abs=0.5)


# --------------------------------------------------------------------------- windows


def test_windows_are_bounded_and_do_not_change_results(tmp_path, monkeypatch):
    n = 300
    dem = write_dem(tmp_path / "big.tif", plane(0.3, 0.4, n=n) + np.sin(np.arange(n))[:, None] * 5)
    sites = [cell_box(5, 5, 3), cell_centre(5, 290), cell_box(290, 8, 2),
             LineString([cell_centre(150, 140).coords[0], cell_centre(160, 152).coords[0]]),
             cell_box(296, 296, -10)]
    reads: list[tuple[int, int]] = []
    real = grids.read_masked

    def spy(src, r0, c0, h, w):
        reads.append((h, w))
        return real(src, r0, c0, h, w)

    monkeypatch.setattr(grids, "read_masked", spy)

    def no_warp(*args, **kwargs):
        raise AssertionError("a DEM in the working CRS must be read directly, not warped")

    monkeypatch.setattr(gzonal, "warped_grid", no_warp)
    small = {s: zonal_slope(dem, sites, crs=4536, stat=s, max_window_cells=400)
             for s in ("max", "mean", "p90")}
    assert reads
    assert len(reads) == 3 * len(sites)
    assert all(h * w <= 400 for h, w in reads)
    assert sum(h * w for h, w in reads) < 0.01 * 3 * n * n
    reads.clear()
    for s, res in small.items():
        whole = zonal_slope(dem, sites, crs=4536, stat=s)
        np.testing.assert_allclose(res.values, whole.values, atol=1e-12)
        np.testing.assert_array_equal(res.n_cells, whole.n_cells)
    assert all(h * w <= n * n for h, w in reads)


def test_plan_windows_groups_nearby_sites():
    win = np.array([[0, 3, 0, 3], [1, 4, 2, 5], [900, 903, 900, 903], [0, 1000, 0, 1000]])
    windows, assign = gzonal._plan_windows(win, 10_000)
    assert assign[0] == assign[1]
    assert len(set(assign.tolist())) == 3
    for i, w in enumerate(win):
        r0, r1, c0, c1 = windows[assign[i]]
        assert r0 <= w[0]
        assert w[1] <= r1
        assert c0 <= w[2]
        assert w[3] <= c1
    small = windows[assign[:3]]
    assert ((small[:, 1] - small[:, 0]) * (small[:, 3] - small[:, 2]) <= 10_000).all()
    # Everything fits: one window.
    windows, assign = gzonal._plan_windows(win[:3], 10**6)
    assert len(windows) == 1
    assert (assign == 0).all()


# --------------------------------------------------------------------------- errors


def test_geographic_working_crs_is_refused(plane_dem):
    with pytest.raises(CRSError, match="geographic"):
        zonal_slope(plane_dem, [Point(81.3, 43.9)], crs=4490)


def test_sites_in_another_crs_are_refused(plane_dem):
    sites = gpd.GeoSeries([Point(81.3, 43.9)], crs="EPSG:4490")
    with pytest.raises(CRSError, match="to_crs"):
        zonal_slope(plane_dem, sites, crs=4536)


def test_dem_without_crs_is_refused(tmp_path):
    dem = write_dem(tmp_path / "nocrs.tif", plane(0.1, 0.0, n=5), crs=None)
    with pytest.raises(CRSError, match="no CRS"):
        zonal_slope(dem, [Point(CX, CY)], crs=4536)


def test_missing_dem_file(tmp_path):
    with pytest.raises(DataFileError, match="cannot be read"):
        zonal_slope(tmp_path / "nope.tif", [Point(CX, CY)], crs=4536)


@pytest.mark.parametrize(("kwargs", "match"),
                         [({"stat": "median"}, "stat"), ({"max_window_cells": 0}, "max_window")])
def test_bad_options(plane_dem, kwargs, match):
    with pytest.raises(ValueError, match=match):
        zonal_slope(plane_dem, [Point(CX, CY)], crs=4536, **kwargs)


def test_non_geometries_are_refused(plane_dem):
    with pytest.raises(TypeError, match="shapely"):
        zonal_slope(plane_dem, ["POINT (1 2)"], crs=4536)


def test_slope_at_gathers_np_pads_values_bit_for_bit():
    """slope_at reads the padded neighbours without padding the window: the same bits."""
    from geoplan.raster.slope import _horn, slope_at

    def padded_way(z, rows, cols):
        z = np.array(z, dtype=np.float64, copy=True)
        z[~np.isfinite(z)] = np.nan
        p = np.pad(z, 1, mode="reflect", reflect_type="odd")
        r, c = rows, cols
        out = _horn(p[r, c], p[r, c + 1], p[r, c + 2], p[r + 1, c], p[r + 1, c + 2],
                    p[r + 2, c], p[r + 2, c + 1], p[r + 2, c + 2], xres=4.0, yres=3.0)
        out[np.isnan(z[r, c])] = np.nan
        return out

    rng = np.random.default_rng(3)
    for _ in range(500):  # windows of 1–6 cells a side: every cell is at or near an edge
        h, w = rng.integers(1, 7, 2)
        z = rng.normal(100, 30, (h, w)) * rng.choice([1, 1e-3, 1e6])
        u = rng.random((h, w))
        z[u < 0.1], z[(u >= 0.1) & (u < 0.15)], z[(u >= 0.15) & (u < 0.18)] = np.nan, np.inf, -np.inf
        rows, cols = (a.ravel() for a in np.meshgrid(np.arange(h), np.arange(w), indexing="ij"))
        want = padded_way(z, rows, cols)
        got = slope_at(z, rows, cols, xres=4.0, yres=3.0)
        assert got.tobytes() == want.tobytes(), (h, w)
        # a float32 window (a float32 DEM as read) gives the bits of the same values as float64
        z32 = z.astype(np.float32)
        got32 = slope_at(z32, rows, cols, xres=4.0, yres=3.0)
        assert got32.dtype == np.float64
        assert got32.tobytes() == padded_way(z32.astype(np.float64), rows, cols).tobytes(), (h, w)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_slope_at_inner_cells_gathered_together_give_the_padded_bits(dtype, monkeypatch):
    """Cells away from the window's edge take their nine neighbours from the flat grid, in
    chunks: the same bits as the padded window, with NaN and ±inf among the neighbours,
    cells in any order and repeated, chunks that split a batch, and a window that is a
    strided view of a larger array (not contiguous)."""
    from geoplan.raster import slope as gslope

    rng = np.random.default_rng(11)
    big = rng.normal(900, 40, (60, 90))
    u = rng.random(big.shape)
    big[u < 0.03], big[(u >= 0.03) & (u < 0.05)], big[(u >= 0.05) & (u < 0.06)] = \
        np.nan, np.inf, -np.inf
    big = big.astype(dtype)
    monkeypatch.setattr(gslope, "_CHUNK_CELLS", 37)  # several chunks, the last one short
    for z in (big, big[5:50:2, 3:80:3]):          # contiguous, and a strided view
        h, w = z.shape
        rows = rng.integers(0, h, 700)
        cols = rng.integers(0, w, 700)
        zz = np.array(z, dtype=np.float64)
        zz[~np.isfinite(zz)] = np.nan
        p = np.pad(zz, 1, mode="reflect", reflect_type="odd")
        r, c = rows, cols
        want = gslope._horn(p[r, c], p[r, c + 1], p[r, c + 2], p[r + 1, c], p[r + 1, c + 2],
                            p[r + 2, c], p[r + 2, c + 1], p[r + 2, c + 2], xres=4.0, yres=3.0)
        want[np.isnan(zz[r, c])] = np.nan
        inner = (r >= 1) & (r <= h - 2) & (c >= 1) & (c <= w - 2)
        assert inner.sum() > 500  # both ways are taken
        assert (~inner).sum() > 20
        got = gslope.slope_at(z, rows, cols, xres=4.0, yres=3.0)
        assert got.tobytes() == want.tobytes()
        only_inner = gslope.slope_at(z, rows[inner], cols[inner], xres=4.0, yres=3.0)
        assert only_inner.tobytes() == want[inner].tobytes()
        assert np.isnan(got).any()
        assert np.isfinite(got).sum() > 300


@pytest.mark.parametrize(("dtype", "nodata", "mask", "near"), [
    ("float32", -9999.0, False, True),
    ("float32", -9999.0, False, False),   # the fast path: no value near the nodata value
    ("float32", float("nan"), False, False),
    ("float32", 0.0, False, False),
    ("float32", -3.4028234663852886e38, False, False),   # the float32 minimum
    ("float64", -9999.0, False, True),
    ("float64", -9999.0, False, False),
    ("int16", -32768, False, False),
    ("float64", None, False, False),
    ("float32", None, True, False),       # an internal mask band, no nodata value
])
def test_windowed_read_is_the_masked_read(tmp_path: Path, dtype: str, nodata, mask: bool,
                                          near: bool) -> None:
    """``read_masked`` gives what ``read(masked=True)`` gives: the same values, NaN where
    GDAL's mask says no data (values next to the nodata value included), float32 for a
    float32 band masked by its nodata value, float64 otherwise."""
    rng = np.random.default_rng(3)
    data = (rng.random((40, 50)) * 1000).astype(dtype)
    if nodata is not None:
        data[5:9, 7:12] = nodata
        data[12, 12] = -0.0 if nodata == 0 else data[12, 12]  # GDAL: -0.0 == 0.0, nodata
        if near:  # GDAL's nodata tolerance (ARE_REAL_EQUAL) takes the first, not the second
            step = 0.0005 if dtype == "float32" else 1e-6
            data[10, 10] = data.dtype.type(nodata) + data.dtype.type(step)
            data[11, 11] = data.dtype.type(nodata) + data.dtype.type(1.0)
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=50, height=40, count=1, dtype=dtype,
                       nodata=nodata, transform=Affine(4, 0, 0, 0, -4, 160),
                       crs="EPSG:4536", tiled=True, blockxsize=16, blockysize=16) as dst:
        dst.write(data, 1)
        if mask:
            m = np.full((40, 50), 255, dtype=np.uint8)
            m[20:30, 3:9] = 0
            dst.write_mask(m)
    with rasterio.open(path) as src:
        for r0, c0, h, w in [(0, 0, 40, 50), (3, 5, 17, 23), (30, 40, 10, 10)]:
            want = np.ma.filled(src.read(1, window=rasterio.windows.Window(c0, r0, w, h),
                                         masked=True, out_dtype="float64"), np.nan)
            got = grids.read_masked(src, r0, c0, h, w)
            # float32 read as it is, unless GDAL must decide on a value near the nodata value
            holds_near = near and r0 <= 10 < r0 + h and c0 <= 10 < c0 + w
            fast = dtype == "float32" and not mask and not holds_near
            assert got.dtype == (np.float32 if fast else np.float64)
            np.testing.assert_array_equal(got.astype(np.float64), want)
            assert np.isnan(got).any() == np.isnan(want).any()
        full = grids.read_masked(src, 0, 0, 40, 50)
    if mask:
        missing = 10 * 6                       # the masked block
    elif nodata is None:
        missing = 0
    else:          # the nodata block, the cell near the nodata value, and -0.0 for 0.0
        missing = 4 * 5 + int(near) + int(nodata == 0)
    assert int(np.isnan(full).sum()) == missing


@pytest.mark.parametrize("which", ["plane_dem", "geographic_dem"])
def test_the_dem_is_read_with_a_block_cache_of_one_window(which, request, monkeypatch):
    """GDAL's block cache is BLOCK_CACHE_BYTES while the DEM is read (direct or warped) and
    what it was before once the call is over."""
    import rasterio.warp
    from rasterio.env import getenv, hasenv

    def cache() -> object:
        return getenv().get("GDAL_CACHEMAX") if hasenv() else None

    dem = request.getfixturevalue(which)
    seen: list[object] = []
    # the direct grid's read, and the warped grid's (imported when the grid is made)
    for owner, name in ((grids, "read_masked"), (rasterio.warp, "reproject")):
        real = getattr(owner, name)
        monkeypatch.setattr(owner, name, lambda *a, _r=real, **k: (seen.append(cache()),
                                                                   _r(*a, **k))[1])
    before = cache()
    r = zonal_slope(dem, [box(CX - 40, CY - 25, CX + 40, CY + 25), Point(CX + 3, CY - 7)],
                    crs=4536)
    assert (r.status == "ok").all()
    assert seen
    assert set(seen) == {gzonal.BLOCK_CACHE_BYTES}
    assert cache() == before


@pytest.mark.parametrize("close", [False, True])
def test_crossings_sort_as_lexsort_does(close: bool) -> None:
    """The supercover's crossings come out by segment, then by t: np.lexsort's order, also
    where two t values of a segment are closer than the one-sort key can tell apart."""
    from geoplan.raster._cells import _by_segment_then_t

    rng = np.random.default_rng(5)
    n = 200_000
    seg = np.sort(rng.integers(0, 10**6, n))
    t = rng.random(n)
    t[::7] = 0.0
    t[::11] = 1.0
    t[::13] = t[::13].round(1)      # equal values within a segment
    if close:  # a value 1e-12 below its neighbour of the same segment: the key rounds them equal
        i = np.flatnonzero(seg[1:] == seg[:-1])[-50:]  # large seg: the key's ulp ~2e-10
        t[i + 1] = t[i] - 1e-12
        t = np.clip(t, 0.0, 1.0)
    order = np.lexsort((t, seg))
    got_t, got_seg = _by_segment_then_t(t, seg)
    np.testing.assert_array_equal(got_seg, seg[order])
    np.testing.assert_array_equal(got_t, t[order])


def test_row_crossings_sort_as_lexsort_does() -> None:
    """The scanline's crossings come out by part and row, then along the row: np.lexsort's
    order exactly, for rows of one, two (either way round) and more crossings, with ties."""
    from geoplan.raster._cells import _by_row_then_u

    rng = np.random.default_rng(5)
    for _ in range(2000):
        n = int(rng.integers(0, 40))
        key = rng.integers(0, int(rng.integers(1, 12)), n).astype(np.int64)
        if rng.random() < 0.3:
            key = np.sort(key)
        u = rng.choice(rng.normal(size=4), n) if rng.random() < 0.5 else rng.normal(size=n)
        np.testing.assert_array_equal(_by_row_then_u(key, u), np.lexsort((u, key)))


def test_polygons_without_holes_take_the_cells_of_their_rings() -> None:
    """A batch of polygons without holes is read from the polygons' own coordinates (no ring
    objects made); its cells are those the same polygons get in a batch with a holed
    polygon (read ring by ring), site by site."""
    from geoplan.raster._cells import site_cells
    from geoplan.raster._grids import Grid

    grid = Grid(transform=Affine(4, 0, 0, 0, -4, 400), width=100, height=100,
                footprint=box(0, 0, 400, 400), read=lambda r, c, h, w: np.zeros((h, w)))
    rng = np.random.default_rng(8)
    plain = [affinity.rotate(box(x, y, x + w, y + h), a, origin="centroid")
             for x, y, w, h, a in zip(rng.uniform(0, 380, 60), rng.uniform(0, 380, 60),
                                      rng.uniform(3, 30, 60), rng.uniform(3, 30, 60),
                                      rng.uniform(0, 90, 60), strict=True)]
    holed = box(100, 100, 200, 200).difference(box(130, 130, 170, 170))
    for all_touched in (True, False):
        a = site_cells(np.array(plain, dtype=object), grid, all_touched=all_touched)
        b = site_cells(np.array([*plain, holed], dtype=object), grid, all_touched=all_touched)
        keep = b[0] < len(plain)
        for x, y in zip(a[:3], b[:3], strict=True):
            np.testing.assert_array_equal(x, y[keep])
        np.testing.assert_array_equal(a[3], b[3][:len(plain)])
        assert len(a[0]) > 500


@pytest.mark.parametrize("multi", [False, True])
def test_explode_gives_the_parts_and_their_owners(multi: bool) -> None:
    """Single parts are taken as they are (no copy), multi-parts opened; None and empty
    geometries give no part, either way."""
    from shapely import LineString, MultiPolygon, Polygon

    from geoplan.raster._cells import _explode

    sq = box(0, 0, 1, 1)
    g = np.array([sq, None, Polygon(), Point(1, 2), LineString([(0, 0), (1, 1)])], dtype=object)
    if multi:
        g = np.append(g, MultiPolygon([box(2, 2, 3, 3), box(4, 4, 5, 5)]))
    parts, owner = _explode(g)
    want = [0, 3, 4] + ([5, 5] if multi else [])
    assert owner.tolist() == want
    assert owner.dtype == np.int64
    assert [p.wkt for p in parts] == [
        sq.wkt, "POINT (1 2)", "LINESTRING (0 0, 1 1)",
        *(["POLYGON ((3 2, 3 3, 2 3, 2 2, 3 2))", "POLYGON ((5 4, 5 5, 4 5, 4 4, 5 4))"]
          if multi else [])]
