"""The decisions about a batch that are made once, on all its rows: ids and subject.

Every runner takes them as given (:mod:`geoplan.runners.inputs`), so they
never depend on how a batch is cut into chunks or partitions.

Examples
--------
>>> import shapely
>>> lines = shapely.from_wkt(["LINESTRING (0 0, 1 1)", "LINESTRING (0 0, 2 0)", "POINT (5 5)"])
>>> infer_batch_subject(*subject_votes(lines))
'road'
>>> infer_batch_subject(*subject_votes(lines[1:]))
'house'
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..core import Subject
from ..engine import infer_subject
from ..engine.prepare import decide_ids
from ..hygiene import geometry_families

__all__ = ["decide_ids", "infer_batch_subject", "site_ids", "subject_votes"]


def site_ids(block: pd.DataFrame, rows: np.ndarray, id_field: str | None) -> np.ndarray:
    """The ids of a block of sites: its ``id_field`` values as text, else batch row numbers.

    Parameters
    ----------
    block
        Some rows of the batch.
    rows
        Their 0-based positions in the batch.
    id_field
        From :func:`decide_ids`.

    Returns
    -------
    numpy.ndarray
        Object array of ``str``.

    Examples
    --------
    >>> site_ids(pd.DataFrame({"a": [7, 8]}), np.array([4, 5]), None).tolist()
    ['5', '6']
    """
    if id_field is None:
        return np.array([str(r + 1) for r in np.asarray(rows).tolist()], dtype=object)
    return np.array([str(v) for v in block[id_field].astype(object).to_numpy()], dtype=object)


def _collection_family(geom: Any) -> str:
    """What a GeometryCollection is checked as: its polygon part, else its line part."""
    parts = np.asarray(shapely.get_parts(geom), dtype=object)
    while len(parts) and (shapely.get_type_id(parts) >= 4).any():
        parts = np.asarray(shapely.get_parts(parts), dtype=object)
    fam = geometry_families(parts[~shapely.is_empty(parts)] if len(parts) else parts)
    return "polygon" if "polygon" in fam else "line" if "line" in fam else "none"


def subject_votes(geoms: np.ndarray | gpd.GeoSeries) -> tuple[int, int]:
    """How many sites vote on the subject, and how many of them are lines.

    Every site with a geometry votes by its family, before any repair (a
    GeometryCollection as its polygon part, else its line part); missing and
    empty geometries do not vote.

    Parameters
    ----------
    geoms
        The input geometries (any CRS).

    Returns
    -------
    (int, int)
        Sites voting, lines among them.
    """
    g = np.asarray(geoms, dtype=object)
    fam = geometry_families(g)
    present = (fam != "none") & ~shapely.is_empty(g)
    for i in np.flatnonzero(present & (fam == "collection")):
        fam[i] = _collection_family(g[i])
    voting = present & (fam != "none")
    return int(voting.sum()), int((fam[voting] == "line").sum())


def infer_batch_subject(voting: int, lines: int) -> Subject:
    """The subject of a batch from its votes: ``road`` when most voting sites are lines.

    The rule is :func:`geoplan.engine.infer_subject`'s; the votes are counted
    over the whole batch (:func:`subject_votes`), so every runner, however it
    cuts the batch, checks it as the same subject.

    Parameters
    ----------
    voting, lines
        From :func:`subject_votes`, summed over the batch.

    Returns
    -------
    str
        ``road`` or ``house``.
    """
    family = np.repeat(np.array(["line", "polygon"], dtype=object), [lines, voting - lines])
    return "road" if infer_subject(family) == "road" else "house"
