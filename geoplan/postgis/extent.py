"""The part of the county a batch needs: a box in longitude/latitude, already widened by a margin.

Opening a workspace for a batch (:func:`geoplan.check` with a workspace path)
fetches the database layers only within :class:`Extent` — the batch's box
widened by the largest distance a rule of the pack reaches (and at least the
500 m of constraint layers the map of the batch shows) — so that a batch of ten
houses does not read the county's land-use parcels. The box is kept in CGCS2000
longitude/latitude and turned into each table's CRS when the table is queried
(:meth:`Extent.bounds_in`), with the edges densified so that a curved edge is
never cut.

Examples
--------
>>> e = Extent.around((81.30, 43.90, 81.31, 43.91), "EPSG:4490", margin_m=500)
>>> round(e.west, 4), round(e.north, 4), e.margin_m
(81.2937, 43.9146, 500.0)
>>> Extent.around((float("nan"),) * 4, "EPSG:4490", margin_m=10) is None
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pyproj import CRS, Transformer

__all__ = ["Extent"]

LONLAT = CRS.from_epsg(4490)
"""CGCS2000 longitude/latitude: the CRS an :class:`Extent` is kept in."""

_M_PER_DEG_LAT = 110_500.0  # a little under the shortest degree of latitude (110 574 m)
_M_PER_DEG_LON_EQ = 111_000.0  # a little under a degree of longitude at the equator (111 320 m)


@dataclass(frozen=True)
class Extent:
    """A box in CGCS2000 longitude/latitude (EPSG:4490) that database rows are fetched within.

    Attributes
    ----------
    west, south, east, north : float
        The box, in degrees, margin included.
    margin_m : float
        The margin in metres the box was widened by (kept for the provenance).
    kinds : frozenset of str or None
        The layer kinds that may be fetched within the box; None: every kind.
        The others are fetched whole (their rules need the whole layer).
    """

    west: float
    south: float
    east: float
    north: float
    margin_m: float = 0.0
    kinds: frozenset[str] | None = None

    @classmethod
    def around(cls, bounds: Any, crs: Any, *, margin_m: float,
               kinds: frozenset[str] | None = None) -> Extent | None:
        """The box of ``bounds`` (in ``crs``) widened by ``margin_m`` metres on every side.

        Parameters
        ----------
        bounds
            ``(minx, miny, maxx, maxy)`` in ``crs`` (e.g. a GeoDataFrame's ``total_bounds``).
        crs
            Their CRS (anything :class:`pyproj.CRS` reads).
        margin_m
            Metres added on every side (on the ground: at least this much in any
            Gauss-Kruger grid, whose scale factor is ≥ 1).
        kinds
            The layer kinds that may be fetched within it (None: every kind).

        Returns
        -------
        Extent or None
            None when the bounds are not finite or the CRS is unknown (then every
            row is fetched).
        """
        b = [float(v) for v in bounds]
        if crs is None or len(b) != 4 or not all(math.isfinite(v) for v in b):
            return None
        src = CRS.from_user_input(crs)
        if src.equals(LONLAT) or (src.is_geographic and src.to_epsg() in (4326, 4490)):
            w, s, e, n = b
        else:
            tr = Transformer.from_crs(src, LONLAT, always_xy=True)
            w, s, e, n = tr.transform_bounds(b[0], b[1], b[2], b[3], densify_pts=21)
        if not all(math.isfinite(v) for v in (w, s, e, n)):
            return None
        pad = margin_m * 1.01  # a margin of error over the approximations below
        lat_max = min(max(abs(s), abs(n)) + pad / _M_PER_DEG_LAT, 89.0)
        dlat = pad / _M_PER_DEG_LAT
        dlon = pad / (_M_PER_DEG_LON_EQ * math.cos(math.radians(lat_max)))
        return cls(west=max(w - dlon, -180.0), south=max(s - dlat, -90.0),
                   east=min(e + dlon, 180.0), north=min(n + dlat, 90.0),
                   margin_m=float(margin_m), kinds=kinds)

    def widened(self, metres: float) -> Extent:
        """The same box widened by ``metres`` more on every side.

        Parameters
        ----------
        metres
            The extra margin.

        Returns
        -------
        Extent

        Examples
        --------
        >>> e = Extent(81.0, 43.0, 81.1, 43.1, margin_m=500)
        >>> e.widened(100).margin_m, e.widened(100).west < e.west
        (600.0, True)
        """
        bigger = Extent.around((self.west, self.south, self.east, self.north), LONLAT,
                               margin_m=metres, kinds=self.kinds)
        if bigger is None:  # pragma: no cover - a finite box stays finite
            return self
        return Extent(bigger.west, bigger.south, bigger.east, bigger.north,
                      margin_m=self.margin_m + float(metres), kinds=self.kinds)

    def applies_to(self, kind: str) -> bool:
        """Whether a layer of ``kind`` may be fetched within the box.

        Parameters
        ----------
        kind
            A layer kind.

        Returns
        -------
        bool
        """
        return self.kinds is None or kind in self.kinds

    def bounds_in(self, crs: Any) -> tuple[float, float, float, float]:
        """The box in another CRS (the bounds of the densified box, so never smaller).

        Parameters
        ----------
        crs
            The CRS of a table's geometry column.

        Returns
        -------
        tuple of float
            ``(minx, miny, maxx, maxy)``.
        """
        dst = CRS.from_user_input(crs)
        if dst.equals(LONLAT):
            return (self.west, self.south, self.east, self.north)
        tr = Transformer.from_crs(LONLAT, dst, always_xy=True)
        x0, y0, x1, y1 = tr.transform_bounds(self.west, self.south, self.east, self.north,
                                             densify_pts=21)
        return (float(x0), float(y0), float(x1), float(y1))

    def as_dict(self) -> dict[str, float]:
        """The box and margin for ``summary.json``.

        Returns
        -------
        dict
        """
        return {"west": round(self.west, 7), "south": round(self.south, 7),
                "east": round(self.east, 7), "north": round(self.north, 7),
                "margin_m": self.margin_m}
