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

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..core import Subject
from ..engine import infer_subject
from ..errors import SiteInputError
from ..hygiene import geometry_families
from ..sites import ID_CANDIDATES

__all__ = ["decide_ids", "infer_batch_subject", "site_ids", "subject_votes"]


def decide_ids(columns: pd.DataFrame, id_field: str | None, *,
               fields: Sequence[str] | None = None) -> str | None:
    """The field holding the site ids, decided on every row of the batch (None: row numbers).

    A named field must exist, be filled in every row and hold no value twice.
    Without one, the first of :data:`geoplan.sites.ID_CANDIDATES` that is
    filled and unique over the whole batch is used, else the 1-based row
    numbers — so a column unique within each chunk but not over the batch is
    never taken.

    Parameters
    ----------
    columns
        At least the candidate columns (or the named one) of all the sites.
    id_field
        The field the user named, if any.
    fields
        The sites' fields, for the message when ``id_field`` is not among them
        (default: the columns of ``columns``).

    Returns
    -------
    str or None

    Raises
    ------
    SiteInputError
        The named field is missing, empty in some row, or has duplicates.

    Examples
    --------
    >>> decide_ids(pd.DataFrame({"id": [1, 2, 2], "编号": ["a", "b", "c"]}), None)
    '编号'
    >>> decide_ids(pd.DataFrame({"id": [1, 2, 2]}), None) is None
    True
    """
    if id_field is None:
        for cand in ID_CANDIDATES:
            if cand in columns.columns:
                col = columns[cand]
                if col.notna().all() and not col.duplicated().any():
                    return cand
        return None
    if id_field not in columns.columns:
        names = [str(f) for f in (fields if fields is not None else columns.columns)]
        raise SiteInputError(
            f"id field {id_field!r} is not in the sites (fields: {', '.join(names)}); name "
            "another with --id-field, or leave it out to number the rows 1, 2, 3, …")
    ids = columns[id_field].astype(object).to_numpy()
    blank = np.array([isinstance(v, str) and not v.strip() for v in ids], dtype=bool)
    missing = np.asarray(pd.isna(ids), dtype=bool) | blank
    if missing.any():
        rows = (np.flatnonzero(missing) + 1)[:10]
        raise SiteInputError(
            f"id field {id_field!r} is empty in row(s) {', '.join(map(str, rows))}; fill "
            "them, or leave --id-field out to number the rows")
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        vals = list(dict.fromkeys(ids[dup]))[:10]
        raise SiteInputError(
            f"id field {id_field!r} has duplicate values: {', '.join(map(str, vals))}; each "
            "site needs its own id (fix the data, or leave --id-field out to number the rows)")
    return id_field


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
