"""Pre-2000 datums (Beijing 1954, Xian 1980): detected, refused, or converted explicitly.

PROJ has no transformation from these datums to CGCS2000 in China and silently
falls back to a "ballpark" conversion; :func:`check_datum` refuses such a CRS
unless the way to CGCS2000 is explicit (``towgs84`` parameters, see
:func:`~geoplan.crs.with_towgs84`) or the planner states the accuracy accepted,
and :func:`to_cgcs2000_datum` applies exactly the declared parameters.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from pyproj.exceptions import ProjError as _ProjError

from ..errors import CRSError
from ._common import (
    CGCS2000_EPSG,
    LONLAT_CRS,
    CRSLike,
    GeoObject,
    crs_label,
    geom_array,
    horizontal_crs,
    replace_geometry,
)
from .resolve import resolve_crs
from .zones import cgcs2000_counterpart

__all__ = ["check_datum", "legacy_datum", "require_cgcs2000_datum", "to_cgcs2000_datum"]


# Semi-major axes of the ellipsoids of China's pre-2000 datums.
_LEGACY_ELLIPSOIDS: dict[float, str] = {6378245.0: "Krassowsky 1940", 6378140.0: "IAG 1975"}
_LEGACY_ZH: tuple[tuple[str, str], ...] = (
    ("new beijing", "新北京54"), ("beijing", "北京54"), ("xian", "西安80"),
)
_HUB_SEMI_MAJOR = 6378137.0  # WGS 84 and CGCS2000 (GRS 1980)


def legacy_datum(crs: CRSLike) -> str | None:
    """The pre-2000 Chinese datum a CRS is based on, or ``None``.

    Detected from the CRS's geodetic datum, not from a list of codes: a datum
    named Beijing 1954, New Beijing or Xian 1980, or any datum on their ellipsoids
    (Krassowsky 1940, IAG 1975), whether the CRS is geographic or projected, an
    EPSG code, a ``.prj`` or a PROJ string. PROJ has no transformation from these
    datums to CGCS2000 in China and falls back to a "ballpark" conversion that
    ignores the datum shift (see :func:`check_datum`).

    Examples
    --------
    >>> legacy_datum(4214), legacy_datum("EPSG:2424"), legacy_datum(4610)
    ('Beijing 1954', 'Beijing 1954', 'Xian 1980')
    >>> legacy_datum(4536) is None and legacy_datum(4326) is None
    True
    """
    c = horizontal_crs(resolve_crs(crs))
    if c.is_bound and c.source_crs is not None:
        c = c.source_crs
    geod = c.geodetic_crs
    datum = geod.datum.name if geod is not None and geod.datum is not None else ""
    low = datum.lower().replace("_", " ").replace("'", "").replace("-", " ")
    if "beijing" in low or "xian" in low or "xi an" in low:
        return datum
    ell = c.ellipsoid
    if ell is not None:
        for a, name in _LEGACY_ELLIPSOIDS.items():
            if abs(ell.semi_major_metre - a) < 0.5:
                return f"{datum or 'an unnamed datum'} (on the {name} ellipsoid)"
    return None


def _datum_zh(datum: str) -> str:
    low = datum.lower().replace("_", " ").replace("'", "")
    return next((zh for key, zh in _LEGACY_ZH if key in low), "旧大地基准")


def _hub_transformer(bound: pyproj.CRS, name: str) -> pyproj.Transformer:
    """Bound CRS → its hub (WGS 84 / CGCS2000) with exactly the bound's parameters."""
    hub = bound.target_crs
    if hub is None or not hub.is_geographic or hub.ellipsoid is None or abs(
            hub.ellipsoid.semi_major_metre - _HUB_SEMI_MAJOR) > 0.5:
        raise CRSError(
            f"{name}: the CRS's datum transformation goes to {hub.name if hub else 'nothing'}, "
            "not to WGS 84 or CGCS2000; give towgs84 parameters to WGS 84 / CGCS2000"
        )
    tr = pyproj.Transformer.from_crs(bound, hub, always_xy=True)
    if "ballpark" in (tr.description or "").lower():
        raise CRSError(
            f"{name}: PROJ would not apply the declared datum transformation "
            f"({tr.description}); give the CRS as an EPSG code or WKT plus towgs84 parameters"
        )
    return tr


def check_datum(
    crs: CRSLike,
    *,
    name: str,
    accuracy_m: float | None = None,
    fix: str | None = None,
) -> str | None:
    """Refuse a CRS on Beijing 1954 / Xian 1980 unless the way to CGCS2000 is explicit.

    PROJ knows no transformation from Beijing 1954, New Beijing or Xian 1980 to
    CGCS2000 in China: it silently uses a "ballpark" conversion that keeps the
    latitude and longitude and ignores the datum shift. At Yining it moves Beijing
    1954 Gauss-Kruger coordinates by 85.8 m (the change of ellipsoid only), while
    the datum shift itself stays unapplied — a wrong position of tens of metres,
    more than most setbacks. geoplan accepts such data only

    * bound to explicit parameters (:func:`with_towgs84`, a PROJ string with
      ``+towgs84``, or ``"EPSG:2424 +towgs84=dx,dy,dz"``), converted with
      :func:`to_cgcs2000_datum`; or
    * with ``accuracy_m``: the planner accepts PROJ's conversion and states how
      far off it may be.

    Parameters
    ----------
    crs : int, str or pyproj.CRS
        The CRS of the data.
    name : str
        What the data is (a layer and its file, a sites file), for the message.
    accuracy_m : float, optional
        The accuracy the planner vouches for when accepting PROJ's conversion.
    fix : str, optional
        How to proceed, in the words of the caller (``geoplan.toml`` keys, CLI
        options); a generic text by default.

    Returns
    -------
    str or None
        ``None`` when there is nothing to say (CGCS2000, WGS 84, …), otherwise the
        note to record: the parameters used, or the accepted accuracy (the latter
        begins with ``WARNING:``).

    Raises
    ------
    CRSError
        On a pre-2000 datum without either; the message names ``name``, the datum,
        the ways to proceed and the CGCS2000 code of the same projection.

    Examples
    --------
    >>> from geoplan.crs import with_towgs84
    >>> check_datum(4536, name="flood_zone") is None
    True
    >>> check_datum(with_towgs84(2424, [15.8, -154.4, -82.3]), name="x")  # doctest: +ELLIPSIS
    'Beijing 1954 → CGCS2000 with the declared towgs84 = [15.8, -154.4, -82.3, 0, 0, 0, 0]...'
    >>> check_datum(2424, name="DLTB.shp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: DLTB.shp is in EPSG:2424 (...) on the Beijing 1954 datum (北京54)...
    """
    c = horizontal_crs(resolve_crs(crs))
    if c.is_bound and c.source_crs is not None:
        _hub_transformer(c, name)
        op = c.coordinate_operation
        params = ", ".join(f"{v:g}" for v in (op.towgs84 if op is not None else []))
        shifted = legacy_datum(c) or str(c.source_crs.name)
        return (f"{shifted} → CGCS2000 with the declared towgs84 = [{params}] (exactly these "
                "parameters; WGS 84 taken as CGCS2000)")
    datum = legacy_datum(c)
    if datum is None:
        return None
    try:
        op_name = pyproj.Transformer.from_crs(c, LONLAT_CRS, always_xy=True).description
    except _ProjError:
        op_name = "no transformation"
    if accuracy_m is not None:
        return (f"WARNING: {datum} → CGCS2000 by PROJ's default ({op_name}), accepted with a "
                f"stated accuracy of {accuracy_m:g} m (datum_shift_accuracy_m): positions of "
                "this data may be off by that much")
    same = cgcs2000_counterpart(c)
    ask = (f"; better, ask for the data in CGCS2000 (EPSG:{same} is the same projection on "
           "CGCS2000)" if same else "; better, ask for the data in CGCS2000")
    code = c.to_epsg()
    how = fix or (
        "give the CRS together with its transformation from the survey's conversion report "
        f'(坐标转换参数), e.g. --crs "EPSG:{code or 2424} +towgs84=dx,dy,dz" (crs= in Python; '
        "or the 7 parameters dx,dy,dz,rx,ry,rz,ds: metres, arc-seconds, ppm, position-vector "
        "convention), or convert the data to CGCS2000 first"
    )
    raise CRSError(
        f"{name} is in {crs_label(c)} on the {datum} datum ({_datum_zh(datum)}), which PROJ "
        f"cannot transform to CGCS2000 here: its default is a ballpark conversion that ignores "
        f"the datum shift ({op_name}), wrong by tens of metres without a warning, so geoplan "
        f"refuses it. 请提供转换参数或确认精度 — to proceed: {how}{ask}"
    )


def to_cgcs2000_datum(obj: GeoObject, *, name: str = "the data") -> GeoObject:
    """Convert data in a bound CRS (explicit towgs84) to CGCS2000 lon/lat, EPSG:4490.

    Data in any other CRS is returned unchanged. The conversion goes through the
    bound CRS's own hub (WGS 84) with exactly its parameters, then labels the
    result CGCS2000 (the two agree to within a metre): PROJ would ignore the
    parameters on a direct way to CGCS2000 and use a ballpark conversion instead.

    Raises
    ------
    CRSError
        If PROJ would not apply the parameters, or a coordinate does not convert.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> from geoplan.crs import with_towgs84
    >>> s = gpd.GeoSeries([Point(524_000, 4_865_000)], crs=with_towgs84(2424, [15.8, -154.4, -82.3]))
    >>> to_cgcs2000_datum(s).crs.to_epsg()
    4490
    """
    if obj.crs is None:
        return obj
    c = pyproj.CRS.from_user_input(obj.crs)
    if not c.is_bound:
        return obj
    tr = _hub_transformer(c, name)

    def _apply(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if not len(coords):
            return coords
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    geoms = shapely.transform(geom_array(obj), _apply, include_z=False)
    bad = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if bad.any():
        bounds = shapely.bounds(geoms[bad])
        if not np.isfinite(bounds).all():
            raise CRSError(f"{name}: some coordinates do not convert from {crs_label(c)} to "
                           "CGCS2000; check the declared CRS and that x and y are not swapped")
    return replace_geometry(obj, geoms, CGCS2000_EPSG)


def require_cgcs2000_datum(
    gdf: GeoObject,
    *,
    name: str,
    declared: CRSLike | None = None,
    accuracy_m: float | None = None,
    fix: str | None = None,
) -> GeoObject:
    """:func:`check_datum` then :func:`to_cgcs2000_datum`, for a batch of sites.

    ``declared`` is the CRS the user gave (``--crs``): when it binds the file's own
    pre-2000 CRS to towgs84 parameters, it replaces the file's CRS. The note of
    :func:`check_datum`, if any, is stored in ``attrs["datum_shift"]``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> s = gpd.GeoSeries([Point(524_000, 4_865_000)], crs=2424)
    >>> require_cgcs2000_datum(s, name="sites.gpkg",
    ...                        declared="EPSG:2424 +towgs84=15.8,-154.4,-82.3").crs.to_epsg()
    4490
    """
    if gdf.crs is None:
        return gdf
    current = pyproj.CRS.from_user_input(gdf.crs)
    if declared is not None and not current.is_bound:
        d = resolve_crs(declared)
        if d.is_bound and d.source_crs is not None and d.source_crs.equals(current):
            gdf = gdf.set_crs(d, allow_override=True)
    note = check_datum(gdf.crs, name=name, accuracy_m=accuracy_m, fix=fix)
    out = to_cgcs2000_datum(gdf, name=name)
    if note:
        out.attrs["datum_shift"] = note
    return out
