"""Reading a CRS value: an EPSG code, a string, a pyproj CRS, or a CRS bound to ``+towgs84``.

:func:`resolve_crs` turns whatever a user wrote into a :class:`pyproj.CRS`;
:func:`with_towgs84` binds a CRS to an explicit datum transformation, which is
also what ``"EPSG:2424 +towgs84=dx,dy,dz"`` reads as.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pyproj
from pyproj.crs import BoundCRS
from pyproj.crs.coordinate_operation import ToWGS84Transformation
from pyproj.exceptions import CRSError as _PyprojCRSError

from ..errors import CRSError
from ._common import CRSLike, crs_label, horizontal_crs

__all__ = ["resolve_crs", "with_towgs84"]


# "EPSG:2424 +towgs84=15.8,-154.4,-82.3": an authority code or WKT followed by towgs84
# parameters (a PROJ string beginning with "+" is left to PROJ, which reads +towgs84 itself).
_TOWGS84_SUFFIX = re.compile(r"^(?P<base>[^+\s].*?)\s*\+towgs84\s*=\s*(?P<params>[-+0-9.eE,\s]+)$")


def resolve_crs(value: object) -> pyproj.CRS:
    """Turn a user's CRS value into a :class:`pyproj.CRS`.

    Parameters
    ----------
    value : int, str or pyproj.CRS
        An EPSG code (``4536``), an authority string (``"EPSG:4490"``, also
        ``"4490"``), a WKT or PROJ string, a :class:`pyproj.CRS`, or any object
        :meth:`pyproj.CRS.from_user_input` understands (e.g. a rasterio CRS). An
        authority code followed by ``+towgs84=dx,dy,dz`` (or 7 parameters), e.g.
        ``"EPSG:2424 +towgs84=15.8,-154.4,-82.3"``, gives a CRS bound to that datum
        transformation (see :func:`with_towgs84`).

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    CRSError
        If ``value`` is None, a bool, or cannot be parsed; the message repeats
        the value and says which forms are accepted.

    Examples
    --------
    >>> resolve_crs(4536).name
    'CGCS2000 / 3-degree Gauss-Kruger CM 81E'
    >>> resolve_crs("EPSG:4490").to_epsg()
    4490
    >>> resolve_crs("not a crs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: cannot read the CRS 'not a crs': ...
    """
    hint = (
        "Give an EPSG code (4490, 'EPSG:4536'), a WKT string or a pyproj.CRS; "
        "CGCS2000 lon/lat is EPSG:4490, the Yining working CRS EPSG:4536."
    )
    if value is None:
        raise CRSError(f"no CRS given (None). {hint}")
    if isinstance(value, pyproj.CRS):
        return value
    if isinstance(value, bool):
        raise CRSError(f"cannot read the CRS {value!r}: a bool is not a CRS. {hint}")
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    try:
        if isinstance(value, int | np.integer):
            return pyproj.CRS.from_epsg(int(value))
        if isinstance(value, str):
            text = value.strip()
            if not text:
                raise ValueError("empty string")
            if text.isdigit():
                return pyproj.CRS.from_epsg(int(text))
            m = _TOWGS84_SUFFIX.match(text)
            if m is not None:  # "EPSG:2424 +towgs84=dx,dy,dz": a code bound to its datum shift
                params = [float(v) for v in m.group("params").replace(" ", "").split(",") if v]
                return with_towgs84(resolve_crs(m.group("base")), params)
            return pyproj.CRS.from_user_input(text)
        return pyproj.CRS.from_user_input(value)
    except (_PyprojCRSError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CRSError(f"cannot read the CRS {shown}: {reason}. {hint}") from exc


def with_towgs84(crs: CRSLike, params: Sequence[float]) -> pyproj.CRS:
    """Bind a CRS to an explicit datum transformation (PROJ's ``+towgs84``).

    Parameters
    ----------
    crs : int, str or pyproj.CRS
        The CRS the data is in (e.g. EPSG:2424, Beijing 1954 / 3° Gauss-Kruger CM 81°E).
    params : sequence of 3 or 7 numbers
        ``[dx, dy, dz]`` in metres, or ``[dx, dy, dz, rx, ry, rz, ds]`` with the
        rotations in arc-seconds and the scale difference in ppm, in the
        position-vector convention of PROJ's ``+towgs84`` (parameters published in
        the coordinate-frame convention have the rotations' signs flipped). They
        take the data's datum to WGS 84, which geoplan treats as CGCS2000 (the two
        agree to within a metre); parameters published "to CGCS2000" are used as
        they are.

    Returns
    -------
    pyproj.CRS
        A bound CRS. Convert data in it with :func:`to_cgcs2000_datum`: PROJ uses
        the parameters only on the way to WGS 84, and would silently fall back to a
        ballpark conversion on a direct way to CGCS2000.

    Raises
    ------
    CRSError
        If ``params`` are not 3 or 7 finite numbers.

    Examples
    --------
    >>> b = with_towgs84(2424, [15.8, -154.4, -82.3])
    >>> b.is_bound, b.source_crs.to_epsg()
    (True, 2424)
    """
    c = horizontal_crs(resolve_crs(crs))
    if c.is_bound and c.source_crs is not None:
        c = c.source_crs
    try:
        vals = [float(v) for v in params]
    except (TypeError, ValueError) as exc:
        raise CRSError(f"towgs84 {params!r} must be 3 or 7 numbers") from exc
    if len(vals) not in (3, 7) or not all(math.isfinite(v) for v in vals):
        raise CRSError(
            f"towgs84 {params!r} must be 3 numbers [dx, dy, dz] (metres) or 7 "
            "[dx, dy, dz, rx, ry, rz, ds] (metres, arc-seconds, ppm), all finite"
        )
    geog = c.geodetic_crs
    if geog is None:
        raise CRSError(f"{crs_label(c)} has no geodetic datum to bind towgs84 parameters to")
    return BoundCRS(source_crs=c, target_crs=pyproj.CRS.from_epsg(4326),
                    transformation=ToWGS84Transformation(geog, *vals))
