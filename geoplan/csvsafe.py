"""CSV files that a spreadsheet opens as data, never as formulas (CSV injection).

Every CSV geoplan writes (``findings.csv``, ``verdicts.csv``, the chunked
writer's files, the analyses' tables) goes through :func:`write_csv`. Site
attributes, layer names and ids come from other people's files: a text cell
that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would
be run as a formula by Excel or LibreOffice (``=HYPERLINK(…)``,
``=cmd|' /C calc'!A0``). Following OWASP's advice such a cell is written with a
leading ``'``, which the spreadsheet shows as text and hides.

What is *not* changed:

- numeric columns (a measure of ``-1.5`` stays the number ``-1.5``), and
  numbers stored in a text column;
- text that is exactly a plain decimal number (``"-3"``, ``"+86"``, ``"-1.5e3"``):
  a spreadsheet reads it as that number, not as a formula, and an id such as
  ``-12`` keeps matching its source;
- the GeoPackage and ``summary.json``, which keep the raw values.

Column names are cells too and are neutralised the same way. Lines end with
CRLF (RFC 4180), so that a cell holding a bare carriage return is quoted
instead of starting a new row.

Examples
--------
>>> import pandas as pd
>>> from geoplan.csvsafe import csv_safe_frame, neutralise_cell
>>> neutralise_cell("=1+1"), neutralise_cell("-2+3"), neutralise_cell("-1.5"), neutralise_cell(-1.5)
("'=1+1", "'-2+3", '-1.5', -1.5)
>>> df = pd.DataFrame({"owner": ["@SUM(A1)", "张三"], "measure": [-1.5, 2.0]})
>>> csv_safe_frame(df).to_dict("list")
{'owner': ["'@SUM(A1)", '张三'], 'measure': [-1.5, 2.0]}
"""

from __future__ import annotations

import os
import re
from typing import Any, Literal

import pandas as pd

__all__ = ["FORMULA_TRIGGERS", "csv_safe_frame", "neutralise_cell", "write_csv"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
"""Leading characters that make a spreadsheet read a cell as a formula (OWASP)."""

_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula.

    Anything that is not a ``str`` (numbers, ``None``, NaN, booleans) is
    returned unchanged, and so is text that is exactly a plain number.
    """
    if (isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)
            and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def csv_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are safe to open in a spreadsheet.

    Only object and string columns are looked at; numeric, boolean and date
    columns are returned as they are.
    """
    out = df.copy()
    for i in range(df.shape[1]):  # by position: column names may repeat
        s = df.iloc[:, i]
        if pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype):
            vals = s.astype(object)
            risky = vals.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_TRIGGERS))
            if risky.any():
                out.isetitem(i, vals.map(neutralise_cell).to_numpy())
    out.columns = [neutralise_cell(c) for c in df.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike[str], *,
              mode: Literal["w", "a"] = "w", header: bool = True,
              encoding: str = "utf-8-sig") -> None:
    r"""Write ``df`` as CSV (no index, UTF-8 with BOM by default) through :func:`csv_safe_frame`.

    ``mode="a"`` with ``header=False`` and ``encoding="utf-8"`` appends a
    chunk to a file started with the defaults. Lines end with ``\r\n``: with
    that terminator the CSV writer quotes any cell containing ``\r`` or ``\n``
    (with ``\n`` alone, a bare ``\r`` in a cell would split the row).
    """
    csv_safe_frame(df).to_csv(path, index=False, mode=mode, header=header, encoding=encoding,
                              lineterminator="\r\n")
