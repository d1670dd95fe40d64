"""Small geometry helpers of the sample generator (frame, blobs, bands, wiggly lines)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyproj
import shapely
from rasterio.transform import Affine
from shapely import LineString, Point, Polygon

from .constants import CELL, GEO_EPSG, LAT_RANGE, LON_RANGE, TAU, WORK_EPSG


@dataclass(frozen=True)
class Frame:
    """The sample extent in EPSG:4536 metres, aligned to the DEM cells."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def box(self) -> Polygon:
        """The frame as a polygon."""
        return shapely.box(self.xmin, self.ymin, self.xmax, self.ymax)

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the DEM."""
        return (round((self.ymax - self.ymin) / CELL), round((self.xmax - self.xmin) / CELL))

    @property
    def transform(self) -> Affine:
        """The DEM's affine transform (north up)."""
        return Affine(CELL, 0.0, self.xmin, 0.0, -CELL, self.ymax)


def make_frame() -> Frame:
    """The sample extent (``LON_RANGE`` × ``LAT_RANGE``) in EPSG:4536, snapped outwards to the DEM cells.

    Returns
    -------
    Frame
        The extent in metres.
    """
    to_work = pyproj.Transformer.from_crs(GEO_EPSG, WORK_EPSG, always_xy=True)
    lons = [LON_RANGE[0], LON_RANGE[0], LON_RANGE[1], LON_RANGE[1]]
    lats = [LAT_RANGE[0], LAT_RANGE[1], LAT_RANGE[0], LAT_RANGE[1]]
    xs, ys = to_work.transform(lons, lats)
    return Frame(
        math.floor(min(xs) / CELL) * CELL,
        math.floor(min(ys) / CELL) * CELL,
        math.ceil(max(xs) / CELL) * CELL,
        math.ceil(max(ys) / CELL) * CELL,
    )


def blob(cx: float, cy: float, r0: float, rng: np.random.Generator, *,
          rough: float = 0.3, n: int = 48, stretch: tuple[float, float] = (1.0, 1.0)) -> Polygon:
    """A star-shaped irregular polygon around (cx, cy) of mean radius r0."""
    theta = np.linspace(0.0, TAU, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 6):
        r += rng.uniform(0.0, rough / (k - 1)) * np.cos(k * theta + rng.uniform(0.0, TAU))
    r = r0 * np.clip(r, 0.45, None)
    xy = np.column_stack([cx + stretch[0] * r * np.cos(theta), cy + stretch[1] * r * np.sin(theta)])
    return Polygon(np.round(xy, 2))


def band(xs: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> Polygon:
    """The polygon between two y(x) curves sampled at xs."""
    pts = np.concatenate([np.column_stack([xs, lower]), np.column_stack([xs[::-1], upper[::-1]])])
    return Polygon(np.round(pts, 2))


def largest_part(geom: shapely.Geometry, near: Point | None = None) -> Polygon:
    """The polygon part of ``geom`` containing ``near``, else the largest one."""
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]
    if not parts:
        return Polygon()
    if near is not None:
        for p in parts:
            if p.contains(near):
                return p
    return max(parts, key=lambda p: p.area)


def polygons(geom: shapely.Geometry, min_area: float = 0.0) -> list[Polygon]:
    """The non-empty polygon parts of any geometry larger than ``min_area``, in GEOS order."""
    return [p for p in shapely.get_parts(geom)
            if isinstance(p, Polygon) and not p.is_empty and p.area > min_area]


def wiggle_line(points: Sequence[tuple[float, float]], rng: np.random.Generator, *,
                 step: float = 1500.0, amp: float = 0.06, max_amp: float = 250.0) -> LineString:
    """A polyline through ``points`` with a few jittered knots between them."""
    out: list[tuple[float, float]] = [tuple(points[0])]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        n = max(int(length // step), 0)
        nx, ny = (-(y1 - y0) / length, (x1 - x0) / length) if length > 0 else (0.0, 0.0)
        a = min(amp * length, max_amp)
        for i in range(1, n + 1):
            t = i / (n + 1)
            off = rng.uniform(-a, a)
            out.append((x0 + t * (x1 - x0) + off * nx, y0 + t * (y1 - y0) + off * ny))
        out.append((x1, y1))
    return LineString(np.round(np.asarray(out, dtype=float), 2))


def ray_to_boundary(poly: Polygon, cx: float, cy: float, angle: float) -> float:
    """Distance from (cx, cy) to the boundary of ``poly`` along ``angle``."""
    far = LineString([(cx, cy), (cx + 1e5 * math.cos(angle), cy + 1e5 * math.sin(angle))])
    hit = far.intersection(poly.exterior)
    if hit.is_empty:
        return 0.0
    return float(min(Point(cx, cy).distance(p) for p in shapely.get_parts(hit)))
