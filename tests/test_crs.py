"""Tests for geoplan.crs: working CRS, axis-order checks, GCJ-02."""

from __future__ import annotations

import doctest
import importlib
import math
import pkgutil
import warnings

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from shapely import (
    GeometryCollection,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

import geoplan.crs as gcrs
from geoplan.crs import (
    cgcs2000_to_gcj02_geometry,
    check_lonlat_order,
    ensure_metric,
    from_gcj02,
    gcj02_to_cgcs2000_geometry,
    gcj02_to_wgs84,
    gk3_epsg_for_lon,
    resolve_crs,
    to_gcj02,
    wgs84_to_gcj02,
    working_crs_for_bounds,
)
from geoplan.errors import CRSError, GeoplanWarning

GEOD = pyproj.Geod(ellps="WGS84")
YINING = (81.30, 43.92)
YINING_BBOX = (81.20, 43.85, 81.45, 44.00)


def geodesic_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    _, _, dist = GEOD.inv(
        np.asarray(lon1, dtype=float),
        np.asarray(lat1, dtype=float),
        np.asarray(lon2, dtype=float),
        np.asarray(lat2, dtype=float),
    )
    return np.asarray(dist)


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# ---------------------------------------------------------------------------
# Doctests of the module
# ---------------------------------------------------------------------------


def test_doctests():
    modules = [gcrs, *(importlib.import_module(f"geoplan.crs.{m.name}")
                       for m in pkgutil.iter_modules(gcrs.__path__))]
    results = [doctest.testmod(m, optionflags=doctest.ELLIPSIS) for m in modules]
    assert sum(r.attempted for r in results) > 20
    assert sum(r.failed for r in results) == 0


# ---------------------------------------------------------------------------
# gk3_epsg_for_lon
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "epsg"),
    [
        (81.3, 4536),  # Yining
        (81.0, 4536),
        (79.5, 4536),  # western edge of the CM 81 zone belongs to it
        (79.49, 4535),
        (82.49, 4536),
        (82.5, 4537),  # eastern edge belongs to the next zone
        (75.0, 4534),
        (73.5, 4534),
        (135.0, 4554),
        (136.5, 4554),
        (116.4, 4548),  # Beijing, CM 117
        (121.47, 4549),  # Shanghai, CM 120
    ],
)
def test_gk3_epsg_for_lon(lon, epsg):
    assert gk3_epsg_for_lon(lon) == epsg


@pytest.mark.parametrize("cm", range(75, 136, 3))
def test_gk3_codes_match_their_central_meridian(cm):
    crs = pyproj.CRS.from_epsg(gk3_epsg_for_lon(cm))
    assert crs.name == f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    assert params["Longitude of natural origin"] == cm
    assert params["False easting"] == 500_000


@pytest.mark.parametrize("lon", [73.49, 136.51, 0.0, -81.3, 180.0, math.nan, math.inf])
def test_gk3_out_of_range_raises(lon):
    with pytest.raises(CRSError, match="explicit working CRS"):
        gk3_epsg_for_lon(lon)


def test_gk3_latitude_given_as_longitude_hints_at_swap():
    with pytest.raises(CRSError, match="swapped"):
        gk3_epsg_for_lon(43.92)


def test_gk3_not_a_number():
    with pytest.raises(CRSError, match="not a number"):
        gk3_epsg_for_lon("east")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# working_crs_for_bounds and the Yining reference point
# ---------------------------------------------------------------------------


def test_working_crs_for_yining_bbox_in_4490(no_warnings):
    assert working_crs_for_bounds(YINING_BBOX, crs=4490).to_epsg() == 4536


def test_working_crs_for_yining_bbox_in_4515(no_warnings):
    t = pyproj.Transformer.from_crs(4490, 4515, always_xy=True)
    bounds_4515 = t.transform_bounds(*YINING_BBOX)
    assert 27_400_000 < bounds_4515[0] < 27_600_000  # zone-prefixed eastings
    assert working_crs_for_bounds(bounds_4515, crs="EPSG:4515").to_epsg() == 4536


@pytest.mark.parametrize("crs", [4326, 3857, 32644, 4536])
def test_working_crs_for_yining_bbox_in_other_crs(crs, no_warnings):
    t = pyproj.Transformer.from_crs(4490, crs, always_xy=True)
    bounds = t.transform_bounds(*YINING_BBOX)
    assert working_crs_for_bounds(bounds, crs=crs).to_epsg() == 4536


def test_working_crs_accepts_total_bounds_array(no_warnings):
    gdf = gpd.GeoDataFrame(geometry=[Point(81.2, 43.9), Point(81.4, 44.0)], crs=4490)
    assert working_crs_for_bounds(gdf.total_bounds, crs=gdf.crs).to_epsg() == 4536


def test_yining_centre_in_working_crs():
    crs = working_crs_for_bounds(YINING_BBOX, crs=4490)
    t = pyproj.Transformer.from_crs(4490, crs, always_xy=True)
    e, n = t.transform(*YINING)
    assert e == pytest.approx(524_094, abs=1.0)
    assert n == pytest.approx(4_864_977, abs=1.0)


def test_working_crs_warns_on_wide_extent():
    with pytest.warns(GeoplanWarning, match="spans 8.00° of longitude"):
        crs = working_crs_for_bounds((77.0, 40.0, 85.0, 45.0), crs=4490)
    assert crs.to_epsg() == 4536


def test_working_crs_span_threshold_is_configurable(no_warnings):
    bounds = (79.6, 40.0, 82.4, 45.0)  # 2.8°: under the default threshold
    assert working_crs_for_bounds(bounds, crs=4490).to_epsg() == 4536
    with pytest.warns(GeoplanWarning):
        working_crs_for_bounds(bounds, crs=4490, max_span_deg=2.0)


@pytest.mark.parametrize(
    "bounds",
    [
        (math.nan, math.nan, math.nan, math.nan),  # total_bounds of an empty layer
        (1.0, 2.0, 3.0),
        (82.0, 44.0, 81.0, 43.0),  # min > max
    ],
)
def test_working_crs_bad_bounds(bounds):
    with pytest.raises(CRSError):
        working_crs_for_bounds(bounds, crs=4490)


def test_working_crs_outside_china_raises():
    with pytest.raises(CRSError, match="explicit working CRS"):
        working_crs_for_bounds((2.2, 48.8, 2.5, 48.9), crs=4326)


# ---------------------------------------------------------------------------
# resolve_crs and ensure_metric
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        4490,
        np.int64(4490),
        "EPSG:4490",
        "epsg:4490",
        "4490",
        pyproj.CRS.from_epsg(4490),
        pyproj.CRS.from_epsg(4490).to_wkt(),
    ],
)
def test_resolve_crs_accepts(value):
    assert resolve_crs(value).to_epsg() == 4490


def test_resolve_crs_returns_same_object():
    crs = pyproj.CRS.from_epsg(4536)
    assert resolve_crs(crs) is crs


@pytest.mark.parametrize("value", [None, True, "", "not a crs", 999_999, 3.5, "EPSG:0"])
def test_resolve_crs_rejects(value):
    with pytest.raises(CRSError, match="EPSG code") as info:
        resolve_crs(value)
    if value not in (None, ""):
        assert repr(value) in str(info.value)


@pytest.mark.parametrize("crs", [4536, "EPSG:4515", 32644, 3857])
def test_ensure_metric_passes(crs):
    assert isinstance(ensure_metric(crs), pyproj.CRS)


@pytest.mark.parametrize(
    ("crs", "match"),
    [
        (4490, "geographic"),
        (4326, "geographic"),
        (4978, "not a projected"),  # geocentric
        (2227, "foot"),  # California zone 3, US survey feet
    ],
)
def test_ensure_metric_raises(crs, match):
    with pytest.raises(CRSError, match=match) as info:
        ensure_metric(crs, name="landuse")
    msg = str(info.value)
    assert "projected metric CRS" in msg
    assert "Gauss-Kruger" in msg
    assert "'landuse'" in msg
    assert "EPSG:4536" in msg


def test_ensure_metric_rejects_custom_foot_projection():
    feet = pyproj.CRS.from_proj4(
        "+proj=tmerc +lon_0=81 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=ft"
    )
    with pytest.raises(CRSError, match="foot"):
        ensure_metric(feet)


# ---------------------------------------------------------------------------
# check_lonlat_order
# ---------------------------------------------------------------------------


def _yining_points(n: int = 5) -> list[Point]:
    return [Point(81.25 + 0.02 * i, 43.90 + 0.01 * i) for i in range(n)]


def _swap(geom):
    return shapely.transform(geom, lambda c: c[:, ::-1])


def test_check_correct_geographic_passes(no_warnings):
    gdf = gpd.GeoDataFrame({"id": range(5)}, geometry=_yining_points(), crs=4490)
    assert check_lonlat_order(gdf, name="houses", crs=4490) is None
    assert check_lonlat_order(gdf, name="houses") is None  # CRS taken from the frame
    assert check_lonlat_order(gdf.geometry, name="houses") is None


def test_check_swapped_yining_point_4490():
    gdf = gpd.GeoDataFrame(geometry=[Point(43.92, 81.30)], crs=4490)
    with pytest.raises(CRSError, match="swap") as info:
        check_lonlat_order(gdf, name="houses", crs=4490)
    assert "'houses'" in str(info.value)
    assert "1 of 1 feature" in str(info.value)


def test_check_swapped_counts_features():
    pts = [_swap(p) for p in _yining_points(12)]
    with pytest.raises(CRSError, match=r"swap.*12 of 12 features|12 of 12 features.*swap"):
        check_lonlat_order(gpd.GeoSeries(pts, crs=4490), name="houses")


def test_check_latitude_over_90():
    # Beijing written lat/lon: latitude 116 is impossible.
    pts = [Point(39.9, 116.4), Point(39.91, 116.41), Point(116.40, 39.90)]
    with pytest.raises(CRSError, match="latitude > 90 in layer 'villages'") as info:
        check_lonlat_order(gpd.GeoSeries(pts, crs=4490), name="villages")
    msg = str(info.value)
    assert "2 of 3 features" in msg
    assert "look swapped" in msg
    assert "axis order" in msg


def test_check_single_swapped_row_among_correct_ones():
    # One house typed lat/lon in Xinjiang: no latitude > 90 and the layer's box
    # still overlaps the workspace, but the row would silently pass every check.
    pts = [*_yining_points(299), Point(43.92, 81.30)]
    with pytest.raises(CRSError, match="swap") as info:
        check_lonlat_order(gpd.GeoSeries(pts, crs=4490), name="houses")
    assert "1 of 300 features" in str(info.value)


def test_check_single_swapped_gk_row_among_correct_ones():
    x, y = _yining_in(4536)
    pts = [Point(x + 10 * i, y + 10 * i) for i in range(11)] + [Point(y, x)]
    with pytest.raises(CRSError, match="northing and easting look swapped") as info:
        check_lonlat_order(gpd.GeoSeries(pts, crs=4536), name="houses")
    assert "1 of 12 features" in str(info.value)


def test_check_metres_declared_as_degrees():
    gs = gpd.GeoSeries([Point(524_094, 4_864_977)], crs=4490)
    with pytest.raises(CRSError, match="projected metres"):
        check_lonlat_order(gs, name="houses")


@pytest.mark.parametrize(
    "xy",
    [
        ([43.92, 43.95], [81.30, 81.32]),
        np.array([[43.92, 81.30], [43.95, 81.32]]),
        [[43.92, 81.30], [43.95, 81.32]],
        [Point(43.92, 81.30), Point(43.95, 81.32)],
    ],
    ids=["tuple", "ndarray", "rows", "geometries"],
)
def test_check_accepts_plain_coordinates(xy):
    with pytest.raises(CRSError, match="swap"):
        check_lonlat_order(xy, name="sites", crs=4490)


def test_check_plain_coordinates_need_crs():
    with pytest.raises(CRSError, match="no CRS"):
        check_lonlat_order(([81.3], [43.92]), name="sites")


def test_check_wgs84_also_checked():
    with pytest.raises(CRSError, match="swap"):
        check_lonlat_order(([43.92], [81.30]), name="sites", crs=4326)


def _yining_in(crs) -> tuple[float, float]:
    t = pyproj.Transformer.from_crs(4490, crs, always_xy=True)
    return t.transform(*YINING)


@pytest.mark.parametrize("crs", [4536, 4515, 4503, 4492, 32644])
def test_check_projected_correct_passes(crs, no_warnings):
    x, y = _yining_in(crs)
    gs = gpd.GeoSeries([Point(x, y), Point(x + 500, y + 300)], crs=crs)
    assert check_lonlat_order(gs, name="roads") is None


@pytest.mark.parametrize("crs", [4536, 4515, 4503, 4492, 32644])
def test_check_projected_gk_swap_detected(crs):
    x, y = _yining_in(crs)
    gs = gpd.GeoSeries([Point(y, x), Point(y + 300, x + 500)], crs=crs)
    with pytest.raises(CRSError, match="swapped") as info:
        check_lonlat_order(gs, name="roads")
    assert "2 of 2 features" in str(info.value)


def test_check_projected_gk_swap_example_from_brief():
    # x ≈ 4.8e6, y ≈ 5e5 in EPSG:4536 is a northing in the easting column.
    with pytest.raises(CRSError, match="northing and easting look swapped"):
        check_lonlat_order(([4_864_977.0], [524_094.0]), name="houses", crs=4536)


def test_check_projected_web_mercator_swap_detected():
    x, y = _yining_in(3857)
    with pytest.raises(CRSError, match="swapped"):
        check_lonlat_order(([y], [x]), name="houses", crs=3857)


def test_check_degrees_declared_as_metres():
    with pytest.raises(CRSError, match="look like lon/lat degrees"):
        check_lonlat_order(([81.30], [43.92]), name="houses", crs=4536)


def test_check_outside_workspace_warns():
    beijing = gpd.GeoSeries([Point(116.40, 39.90)], crs=4490)
    yining_box = (80.5, 43.5, 82.0, 44.5)
    with pytest.warns(GeoplanWarning, match="outside the workspace box"):
        check_lonlat_order(beijing, name="houses", expected_bounds_lonlat=yining_box)


def test_check_custom_box_swap():
    yining_box = (80.5, 43.5, 82.0, 44.5)
    with pytest.raises(CRSError, match="swap"):
        check_lonlat_order(
            ([43.92], [81.30]), name="houses", crs=4490, expected_bounds_lonlat=yining_box
        )


@pytest.mark.parametrize("bad_box", [(1, 2, 3), (82, 44, 81, 43), (0, 0, 200, 10)])
def test_check_rejects_bad_expected_box(bad_box):
    with pytest.raises(CRSError, match="expected_bounds_lonlat"):
        check_lonlat_order(([81.3], [43.92]), name="x", crs=4490, expected_bounds_lonlat=bad_box)


@pytest.mark.parametrize(
    "gs",
    [
        gpd.GeoSeries([], crs=4490),
        gpd.GeoSeries([None, Point()], crs=4490),
    ],
    ids=["no rows", "missing and empty"],
)
def test_check_empty_layer_passes(gs, no_warnings):
    assert check_lonlat_order(gs, name="empty") is None


# ---------------------------------------------------------------------------
# GCJ-02: an independent scalar implementation of the published formula
# ---------------------------------------------------------------------------

_A = 6378245.0
_EE = 0.00669342162296594323


def _ref_transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _ref_transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _ref_wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    if lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271:
        return lon, lat
    dlat = _ref_transform_lat(lon - 105.0, lat - 35.0)
    dlon = _ref_transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = math.sin(radlat)
    magic = 1 - _EE * magic * magic
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


# Published test vector of the common implementations (coordtransform,
# eviltransform and their ports): WGS84 (116.404, 39.915) -> GCJ-02.
_PUBLISHED_WGS = (116.404, 39.915)
_PUBLISHED_GCJ = (116.41024449916938, 39.91640428150164)


def test_reference_implementation_matches_published_vector():
    lon, lat = _ref_wgs84_to_gcj02(*_PUBLISHED_WGS)
    assert lon == pytest.approx(_PUBLISHED_GCJ[0], abs=1e-12)
    assert lat == pytest.approx(_PUBLISHED_GCJ[1], abs=1e-12)


def test_forward_matches_published_vector():
    lon, lat = wgs84_to_gcj02(*_PUBLISHED_WGS)
    assert lon == pytest.approx(_PUBLISHED_GCJ[0], abs=1e-9)
    assert lat == pytest.approx(_PUBLISHED_GCJ[1], abs=1e-9)


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Points over Xinjiang and eastern China, with sub-degree jitter."""
    rng = np.random.default_rng(20240601)
    xj_lon, xj_lat = np.meshgrid(np.arange(74.0, 96.1, 2.0), np.arange(35.0, 49.1, 1.5))
    ec_lon, ec_lat = np.meshgrid(np.arange(105.0, 135.1, 2.5), np.arange(18.5, 53.1, 2.0))
    lon = np.concatenate([xj_lon.ravel(), ec_lon.ravel()])
    lat = np.concatenate([xj_lat.ravel(), ec_lat.ravel()])
    lon = lon + rng.uniform(-0.4, 0.4, lon.size)
    lat = lat + rng.uniform(-0.4, 0.4, lat.size)
    return lon, lat


def test_forward_vectorised_matches_scalar_reference():
    lon, lat = _grid()
    glon, glat = wgs84_to_gcj02(lon, lat)
    ref = np.array([_ref_wgs84_to_gcj02(float(a), float(b)) for a, b in zip(lon, lat, strict=True)])
    np.testing.assert_allclose(glon, ref[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(glat, ref[:, 1], rtol=0, atol=1e-9)


def test_offset_at_yining_is_about_274_m():
    glon, glat = wgs84_to_gcj02(*YINING)
    d = float(geodesic_m(YINING[0], YINING[1], glon, glat))
    assert 250.0 <= d <= 300.0


def test_offset_over_china_is_hundreds_of_metres():
    lon, lat = _grid()
    glon, glat = wgs84_to_gcj02(lon, lat)
    d = geodesic_m(lon, lat, glon, glat)
    assert d.min() > 20.0
    assert d.max() < 1000.0


def test_round_trip_within_1_cm():
    lon, lat = _grid()
    glon, glat = wgs84_to_gcj02(lon, lat)
    blon, blat = gcj02_to_wgs84(glon, glat)
    d = geodesic_m(lon, lat, blon, blat)
    assert d.max() < 0.01


def test_inverse_tighter_tolerance():
    glon, glat = wgs84_to_gcj02(*YINING)
    blon, blat = gcj02_to_wgs84(glon, glat, tol_m=1e-5)
    assert float(geodesic_m(YINING[0], YINING[1], blon, blat)) < 1e-5


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (2.35, 48.85),  # Paris
        (-74.0, 40.7),  # New York
        (139.69, 35.69),  # Tokyo: east of the box
        (100.5, 0.5),  # south of the box
        (81.3, 56.0),  # north of the box
    ],
)
def test_no_offset_outside_china(lon, lat):
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_scalar_and_array_return_types():
    out = wgs84_to_gcj02(81.3, 43.92)
    assert all(type(v) is float for v in out)
    out = gcj02_to_wgs84(81.3, 43.92)
    assert all(type(v) is float for v in out)
    lon = np.full((2, 3), 81.3)
    glon, glat = wgs84_to_gcj02(lon, 43.92)  # broadcasts
    assert glon.shape == glat.shape == (2, 3)
    blon, _blat = gcj02_to_wgs84(glon, glat)
    assert blon.shape == (2, 3)
    np.testing.assert_allclose(blon, 81.3, atol=1e-6)


def test_inputs_not_modified():
    lon = np.array([81.3, 81.4])
    lat = np.array([43.92, 43.95])
    wgs84_to_gcj02(lon, lat)
    gcj02_to_wgs84(lon, lat)
    np.testing.assert_array_equal(lon, [81.3, 81.4])
    np.testing.assert_array_equal(lat, [43.92, 43.95])


def test_nan_propagates_without_warning(no_warnings):
    glon, glat = wgs84_to_gcj02([81.3, np.nan], [43.92, np.nan])
    assert np.isnan(glon[1])
    assert np.isnan(glat[1])
    blon, _blat = gcj02_to_wgs84(glon, glat)
    assert np.isnan(blon[1])
    assert abs(blon[0] - 81.3) < 1e-6


@pytest.mark.parametrize(
    ("kw", "match"), [({"tol_m": 0.0}, "tol_m"), ({"max_iter": 0}, "max_iter")]
)
def test_inverse_rejects_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        gcj02_to_wgs84(81.3, 43.92, **kw)


def test_inverse_warns_when_not_converged():
    with pytest.warns(GeoplanWarning, match="did not converge"):
        gcj02_to_wgs84(81.3, 43.92, tol_m=1e-6, max_iter=1)


# ---------------------------------------------------------------------------
# GCJ-02 on geometries
# ---------------------------------------------------------------------------

_X, _Y = YINING
_D = 0.001


def _ring(dx: float = 0.0, s: float = 1.0) -> list[tuple[float, float]]:
    return [
        (_X + dx, _Y),
        (_X + dx + 4 * _D * s, _Y),
        (_X + dx + 4 * _D * s, _Y + 4 * _D * s),
        (_X + dx, _Y + 4 * _D * s),
        (_X + dx, _Y),
    ]


GEOMETRIES = {
    "point": Point(_X, _Y),
    "point_z": Point(_X, _Y, 612.5),
    "line": LineString([(_X, _Y), (_X + _D, _Y + _D), (_X + 3 * _D, _Y)]),
    "polygon": Polygon(_ring()),
    "polygon_with_hole": Polygon(
        _ring(),
        [
            [
                (_X + _D, _Y + _D),
                (_X + 2 * _D, _Y + _D),
                (_X + 2 * _D, _Y + 2 * _D),
                (_X + _D, _Y + _D),
            ]
        ],
    ),
    "bowtie": Polygon([(_X, _Y), (_X + _D, _Y + _D), (_X + _D, _Y), (_X, _Y + _D), (_X, _Y)]),
    "multipoint": MultiPoint([(_X, _Y), (_X + _D, _Y)]),
    "multiline": MultiLineString(
        [[(_X, _Y), (_X + _D, _Y)], [(_X, _Y + _D), (_X + _D, _Y + 2 * _D)]]
    ),
    "multipolygon": MultiPolygon(
        [
            Polygon(
                _ring(), [[(_X + _D, _Y + _D), (_X + 2 * _D, _Y + _D), (_X + _D, _Y + 2 * _D)]]
            ),
            Polygon(_ring(dx=0.01, s=0.5)),
        ]
    ),
    "collection": GeometryCollection([Point(_X, _Y), LineString([(_X, _Y), (_X + _D, _Y)])]),
    "empty_polygon": Polygon(),
}


def _structure(g) -> tuple:
    parts = shapely.get_parts(g)
    return (
        g.geom_type,
        g.is_empty,
        bool(shapely.has_z(g)),
        int(shapely.get_num_coordinates(g)),
        len(parts),
        tuple(int(n) for n in shapely.get_num_interior_rings(parts)),
    )


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_geometry_round_trip_keeps_structure(name):
    geom = GEOMETRIES[name]
    gcj = cgcs2000_to_gcj02_geometry(geom)
    back = gcj02_to_cgcs2000_geometry(gcj)
    assert _structure(gcj) == _structure(geom) == _structure(back)
    if geom.is_empty:
        return
    c0 = shapely.get_coordinates(geom, include_z=True)
    c1 = shapely.get_coordinates(gcj, include_z=True)
    c2 = shapely.get_coordinates(back, include_z=True)
    moved = geodesic_m(c0[:, 0], c0[:, 1], c1[:, 0], c1[:, 1])
    assert np.all((moved > 250.0) & (moved < 300.0))
    assert geodesic_m(c0[:, 0], c0[:, 1], c2[:, 0], c2[:, 1]).max() < 0.01
    if shapely.has_z(geom):
        np.testing.assert_array_equal(c1[:, 2], c0[:, 2])


def test_geometry_array_keeps_missing():
    arr = np.array(
        [GEOMETRIES["polygon_with_hole"], None, GEOMETRIES["multipolygon"]], dtype=object
    )
    out = cgcs2000_to_gcj02_geometry(arr)
    assert isinstance(out, np.ndarray)
    assert out.shape == (3,)
    assert out[1] is None
    assert _structure(out[0]) == _structure(arr[0])
    assert _structure(out[2]) == _structure(arr[2])


@pytest.mark.parametrize("crs", [4326, 4490, "OGC:CRS84"])
def test_from_gcj02_geodataframe(crs):
    names = list(GEOMETRIES)
    truth = gpd.GeoDataFrame(
        {"name": names, "n": range(len(names))},
        geometry=list(GEOMETRIES.values()),
        crs=4490,
        index=[f"r{i}" for i in range(len(names))],
    )
    gcj = gpd.GeoDataFrame(
        truth.drop(columns="geometry"),
        geometry=cgcs2000_to_gcj02_geometry(truth.geometry.values),
        crs=crs,
    )
    before = gcj.copy()
    out = from_gcj02(gcj)
    assert isinstance(out, gpd.GeoDataFrame)
    assert out.crs.to_epsg() == 4490
    assert list(out.index) == list(truth.index)
    assert list(out.columns) == list(gcj.columns)
    assert out["name"].tolist() == names
    assert out.geometry.name == "geometry"
    for g_out, g_truth in zip(out.geometry, truth.geometry, strict=True):
        assert _structure(g_out) == _structure(g_truth)
        if not g_truth.is_empty:
            c_out = shapely.get_coordinates(g_out)
            c_truth = shapely.get_coordinates(g_truth)
            assert geodesic_m(c_out[:, 0], c_out[:, 1], c_truth[:, 0], c_truth[:, 1]).max() < 0.01
    # the input is untouched
    assert gcj.crs == before.crs
    assert gcj.geometry.geom_equals_exact(before.geometry, tolerance=0).all()


def test_from_gcj02_custom_geometry_column():
    gdf = gpd.GeoDataFrame(
        {"id": [1]}, geometry=gpd.GeoSeries([Point(_X, _Y)]), crs=4326
    ).rename_geometry("shape")
    out = from_gcj02(gdf)
    assert out.geometry.name == "shape"
    assert out.crs.to_epsg() == 4490
    assert "geometry" not in out.columns


def test_to_gcj02_and_back_geoseries():
    gs = gpd.GeoSeries(list(GEOMETRIES.values()), crs=4490, name="geom")
    gcj = to_gcj02(gs)
    assert isinstance(gcj, gpd.GeoSeries)
    assert gcj.crs.to_epsg() == 4326  # display label; the coordinates are GCJ-02
    assert gcj.attrs["geoplan_coordinates"] == "GCJ-02"
    assert gcj.name == "geom"
    back = from_gcj02(gcj)
    assert back.crs.to_epsg() == 4490
    assert "geoplan_coordinates" not in back.attrs
    for g0, g2 in zip(gs, back, strict=True):
        assert _structure(g0) == _structure(g2)
        if not g0.is_empty:
            c0, c2 = shapely.get_coordinates(g0), shapely.get_coordinates(g2)
            assert geodesic_m(c0[:, 0], c0[:, 1], c2[:, 0], c2[:, 1]).max() < 0.01


def test_to_gcj02_geodataframe_keeps_attributes():
    gdf = gpd.GeoDataFrame(
        {"v": [1, 2]}, geometry=[Point(_X, _Y), box(_X, _Y, _X + _D, _Y + _D)], crs=4490
    )
    out = to_gcj02(gdf)
    assert out["v"].tolist() == [1, 2]
    assert out.attrs["geoplan_coordinates"] == "GCJ-02"
    c0 = shapely.get_coordinates(gdf.geometry.values)
    c1 = shapely.get_coordinates(out.geometry.values)
    assert c0.shape == c1.shape
    d = geodesic_m(c0[:, 0], c0[:, 1], c1[:, 0], c1[:, 1])
    assert np.all((d > 250) & (d < 300))
    assert "geoplan_coordinates" not in gdf.attrs  # input untouched
    back = from_gcj02(out)
    assert "geoplan_coordinates" not in back.attrs
    assert back["v"].tolist() == [1, 2]


@pytest.mark.parametrize("func", [from_gcj02, to_gcj02])
@pytest.mark.parametrize(
    ("crs", "match"), [(None, "no CRS"), (4536, "lon/lat degrees"), (3857, "lon/lat")]
)
def test_gcj02_helpers_require_lonlat_crs(func, crs, match):
    gs = gpd.GeoSeries([Point(_X, _Y)], crs=crs)
    with pytest.raises(CRSError, match=match):
        func(gs)


def test_gcj02_helpers_reject_non_geopandas():
    with pytest.raises(TypeError):
        from_gcj02([Point(_X, _Y)])  # type: ignore[arg-type]


def test_sites_in_the_working_crs_by_another_name_are_taken_as_they_are(small_workspace):
    """EPSG:4536 as PROJJSON (how GeoParquet stores it) is the same CRS: the coordinates pass
    unchanged, bit for bit. As a .prj's ESRI WKT (easting first) it is transformed, to the same
    place; in CGCS2000 degrees, to where a second method puts them."""
    import shapely
    from pyproj import CRS, Transformer
    from shapely import box

    import geoplan
    from geoplan.engine import prepare_sites

    ws = geoplan.open_workspace(small_workspace)
    assert ws.crs.to_epsg() == 4536
    x0, y0 = 524_000.123456789, 4_865_000.987654321
    sites = gpd.GeoDataFrame({"house_id": ["a", "b"]},
                             geometry=[box(x0, y0, x0 + 10.1, y0 + 12.3),
                                       box(x0 + 500, y0, x0 + 511, y0 + 9)],
                             crs=CRS("EPSG:4536").to_json())
    assert sites.crs == ws.crs
    assert not sites.crs.is_exact_same(ws.crs)  # another name for it, not the same object
    st = prepare_sites(sites, ws, subject="house")
    assert shapely.to_wkb(st.geom).tolist() == shapely.to_wkb(sites.geometry.values).tolist()
    prj = sites.set_crs(CRS("EPSG:4536").to_wkt("WKT1_ESRI"), allow_override=True)
    assert prj.crs != ws.crs  # the axes in another order: not taken as they are
    st1 = prepare_sites(prj, ws, subject="house")
    assert shapely.equals_exact(st1.geom, sites.geometry.values, tolerance=1e-9).all()
    # in degrees: transformed, to the coordinates pyproj gives
    lonlat = sites.to_crs(4490)
    st2 = prepare_sites(lonlat, ws, subject="house")
    back = Transformer.from_crs(4490, 4536, always_xy=True)
    want = shapely.transform(lonlat.geometry.values, lambda c: np.column_stack(back.transform(
        c[:, 0], c[:, 1])))
    assert shapely.equals_exact(st2.geom, want, tolerance=1e-6).all()
    assert not shapely.equals_exact(st2.geom, lonlat.geometry.values, tolerance=1.0).any()
