"""What the site readers share: the per-row log of errors and notes, and column-name matching.

Each row of a batch gets an error (English and Chinese) when its site cannot be
used and a note of what was done to it; they travel in :data:`SITE_COLUMNS`
until :func:`geoplan.engine.prepare_sites` takes them out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["ERROR_COLUMN", "ERROR_ZH_COLUMN", "NOTE_COLUMN", "SITE_COLUMNS", "RowLog",
           "column_key", "find_column", "with_log"]


ERROR_COLUMN = "_geoplan_error"
ERROR_ZH_COLUMN = "_geoplan_error_zh"
NOTE_COLUMN = "_geoplan_note"
SITE_COLUMNS = (ERROR_COLUMN, ERROR_ZH_COLUMN, NOTE_COLUMN)
"""Columns :func:`read_sites` adds: per row, why the site cannot be used (en, zh) and what
was done to it (e.g. a conversion from BD-09). :func:`geoplan.engine.prepare_sites` takes
them out again; they never reach an output."""


def column_key(name: object) -> str:
    """A column name or cell value as compared: NFKC, lower case, no brackets or separators."""
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    s = re.sub(r"[\(\[【（].*?[\)\]】）]", "", s)
    return re.sub(r"[\s_\-./:：·]", "", s)


def find_column(columns: Sequence[object], names: tuple[str, ...]) -> str | None:
    keys: dict[str, object] = {}
    for c in columns:
        keys.setdefault(column_key(c), c)
    for n in names:
        if n in keys:
            return str(keys[n])
    return None


class RowLog:
    """Per-row errors (en, zh) and notes of one batch, with how rows are named."""

    def __init__(self, n: int, sheet_rows: np.ndarray | None = None,
                 row_numbers: np.ndarray | None = None) -> None:
        self.en = np.full(n, "", dtype=object)
        self.zh = np.full(n, "", dtype=object)
        self.note = np.full(n, "", dtype=object)
        self.sheet_rows = sheet_rows
        self.rows = row_numbers if row_numbers is not None else np.arange(1, n + 1)

    def where(self, i: int) -> tuple[str, str]:
        r = int(self.rows[i])
        if self.sheet_rows is not None:
            s = int(self.sheet_rows[i])
            return f"row {r}; Excel row {s}", f"第 {r} 行（Excel 第 {s} 行）"
        return f"row {r}", f"第 {r} 行"

    def error(self, i: int, en: str, zh: str) -> None:
        self.en[i] = f"{self.en[i]}; {en}" if self.en[i] else en
        self.zh[i] = f"{self.zh[i]}；{zh}" if self.zh[i] else zh

    def add_note(self, i: int, text: str) -> None:
        self.note[i] = f"{self.note[i]}; {text}" if self.note[i] else text


def with_log(gdf: gpd.GeoDataFrame, log: RowLog, *,
              empty_errors: bool = False) -> gpd.GeoDataFrame:
    """Attach the per-row messages.

    With ``empty_errors``, rows in error get an empty point (a table row whose
    position is not known is not drawn anywhere).
    """
    if empty_errors and (log.en != "").any():
        geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
        geoms[log.en != ""] = shapely.Point()
        gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    gdf[ERROR_COLUMN] = log.en
    gdf[ERROR_ZH_COLUMN] = log.zh
    gdf[NOTE_COLUMN] = log.note
    return gdf
