"""Tables of coordinates (CSV, Excel) read into point sites, every row kept.

The text of a CSV is decoded (UTF-8 or GBK, never a mix), a workbook sheet is
found and its header row located, and :func:`table_sites` turns the rows into
points, logging every row whose coordinates cannot be read.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from ..crs import resolve_crs
from ..errors import CRSError, SiteInputError
from ._rows import RowLog, with_log
from .coordinates import coordinate_columns, easting_first, parse_column
from .systems import convert_systems

__all__ = ["read_csv", "read_excel", "table_sites", "tidy_attributes"]


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def table_sites(df: pd.DataFrame, *, source: str, crs: str | int | CRS | None,
                 sheet_rows: np.ndarray | None, notes: list[str],
                 where: str = "", hint: str = "") -> gpd.GeoDataFrame:
    """Point sites from a table of coordinates (CSV or a sheet), every row kept."""
    cols = [str(c) for c in df.columns]
    picked = coordinate_columns(cols)
    if picked is None:
        raise SiteInputError(
            f"{source}{where}: no coordinate columns; name them 经度/纬度 (lon/lat) for degrees, "
            "or X/Y (X坐标/Y坐标, easting/northing) with --crs for projected coordinates "
            f"(columns present: {', '.join(cols) or 'none'}){hint}"
        )
    kind, ca, cb = picked
    n = len(df)
    log = RowLog(n, sheet_rows)
    va = df[ca].to_numpy(dtype=object)
    vb = df[cb].to_numpy(dtype=object)
    if kind == "lonlat":
        x = parse_column(va, ca, "lon", log)
        y = parse_column(vb, cb, "lat", log)
        use_crs = resolve_crs(crs) if crs is not None else CRS.from_epsg(4490)
    else:
        a = parse_column(va, ca, None, log)
        b = parse_column(vb, cb, None, log)
        if crs is None:
            raise CRSError(f"{source}{where}: columns {ca}/{cb} hold projected coordinates; say "
                           "which CRS they are in (--crs EPSG:4536, or crs= in Python)")
        use_crs = resolve_crs(crs)
        if kind == "en":
            x, y = a, b
        else:
            named_east_first = kind == "gis"
            decided = easting_first(a, b, use_crs)
            east_first = named_east_first if decided is None else decided
            x, y = (a, b) if east_first else (b, a)
            east, north = (ca, cb) if east_first else (cb, ca)
            ok = np.isfinite(x) & np.isfinite(y)
            mag = (f" (northings about {_fmt(float(np.nanmedian(y[ok])))}, eastings about "
                   f"{_fmt(float(np.nanmedian(x[ok])))})") if ok.any() else ""
            how = ("from their magnitudes in " + use_crs.to_string() if decided is not None
                   else "from the column names (their magnitudes do not tell; check that the "
                   "sites fall where expected)")
            order = ("survey order (X = northing, Y = easting)" if not east_first
                     else "GIS order (x = easting, y = northing)")
            notes.append(f"{ca}/{cb} read in {order}: {north} is the northing and {east} the "
                         f"easting{mag}, decided {how} · {ca}/{cb} 按"
                         f"{'测量坐标顺序（X 为北坐标、Y 为东坐标）' if not east_first else 'GIS 顺序（x 为东坐标）'}读取")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    geoms = np.asarray(gpd.points_from_xy(np.where(bad, 0.0, x), np.where(bad, 0.0, y)),
                       dtype=object)
    geoms[bad] = shapely.Point()
    gdf = gpd.GeoDataFrame(df.reset_index(drop=True), geometry=list(geoms), crs=use_crs)
    convert_systems(gdf, log, source=source + where, notes=notes)
    return with_log(gdf, log, empty_errors=True)


def _decode_csv(path: Path, encoding: str | None) -> str:
    raw = path.read_bytes()
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SiteInputError(f"{path}: cannot be decoded as {encoding} ({exc})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    utf8_rows, other_rows = [], []
    for i, line in enumerate(lines, start=1):
        if all(b < 0x80 for b in line):
            continue
        try:
            line.decode("utf-8")
            utf8_rows.append(i)
        except UnicodeDecodeError:
            other_rows.append(i)
    if utf8_rows and other_rows:
        raise SiteInputError(
            f"{path}: mixed text encodings — line(s) {', '.join(map(str, utf8_rows[:5]))} are "
            f"UTF-8 but line(s) {', '.join(map(str, other_rows[:5]))} are not (GBK?); the file "
            "was assembled from several sources. Re-save it in one encoding (UTF-8) and check "
            "those lines"
        )
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise SiteInputError(f"{path}: text is neither UTF-8 nor GBK/GB18030 ({exc}); save it as "
                             "UTF-8, or pass encoding=") from exc


def read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    text = _decode_csv(path, encoding)
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    # a semicolon or tab separated file (often the one with decimal commas)
    sep = max((",", ";", "\t", "|"), key=lambda c: (header.count(c), c == ","))
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                           sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SiteInputError(f"{path}: cannot be read as CSV ({exc})") from exc


def read_excel(path: Path, sheet: str | int | None,
               notes: list[str]) -> tuple[pd.DataFrame, np.ndarray, str, list[str]]:
    """One sheet as a table, with its rows' Excel numbers, its label and the sheet names.

    Returns (frame, Excel row number of each row, ``" sheet 'name'"``, the
    workbook's sheet names).
    """
    wb, names, visible = _open_workbook(path)
    name = _sheet_name(path, sheet, names, visible)
    rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    label = f" sheet {name!r}"
    if len(visible) > 1 or (sheet is not None and len(names) > 1):
        notes.append(f"read sheet {name!r} of {len(names)} ({', '.join(names)}); choose another "
                     f"with --sheet · 读取工作表“{name}”（共 {len(names)} 个）")
    header_at = _header_row(rows)
    if header_at is None:
        raise SiteInputError(f"{path}{label}: is empty; there is nothing to check (is it the "
                             "right sheet? choose another with --sheet)")
    if header_at > 0 and any(not all(map(_blank, r)) for r in rows[:header_at]):
        notes.append(f"{label.strip()}: the header is on Excel row {header_at + 1}; the rows "
                     "above it were skipped (a title) · 表头位于 Excel 第 "
                     f"{header_at + 1} 行，其上各行（标题）已跳过")
    header = _header_names(rows[header_at])
    body = [(i + 1, row) for i, row in enumerate(rows[header_at + 1:], start=header_at + 1)
            if not all(map(_blank, row))]
    width = len(header)
    data = [[None if _blank(v) else v for v in (list(r) + [""] * width)[:width]]
            for _, r in body]
    df = pd.DataFrame(data, columns=header, dtype=object)
    keep = [c for j, c in enumerate(header)
            if not (c == f"column{j + 1}" and df[c].isna().all())]
    return df[keep], np.array([r for r, _ in body], dtype=np.int64), label, names


def _open_workbook(path: Path) -> tuple[Any, list[str], list[str]]:
    """The workbook, its worksheets' names and the visible ones (all, if none is visible)."""
    try:
        from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum
    except ImportError as exc:  # pragma: no cover - a dependency
        raise SiteInputError(f"{path}: reading Excel files needs python-calamine "
                             "(pip install python-calamine)") from exc
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic[:4] != b"PK\x03\x04" and magic != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SiteInputError(f"{path}: is not an Excel workbook, though it is named "
                             f"{path.suffix} (a web export of text or HTML?); open it in Excel "
                             "and save it as .xlsx, or save it as CSV (UTF-8)")
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        raise SiteInputError(f"{path}: cannot be read as an Excel workbook ({exc}); is it "
                             "damaged or password-protected? Re-save it in Excel, or save the "
                             "sheet as CSV (UTF-8)") from exc
    meta = [m for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    names = [m.name for m in meta]
    visible = [m.name for m in meta if m.visible == SheetVisibleEnum.Visible] or names
    if not names:
        raise SiteInputError(f"{path}: the workbook has no worksheet")
    return wb, names, visible


def _sheet_name(path: Path, sheet: str | int | None, names: list[str],
                visible: list[str]) -> str:
    """The sheet asked for, by name or 0-based number; the first visible one by default."""
    if sheet is None:
        return visible[0]
    if isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            raise SiteInputError(f"{path}: has no sheet number {sheet} (0-based; sheets: "
                                 f"{', '.join(names)})")
        return names[sheet]
    if str(sheet) in names:
        return str(sheet)
    raise SiteInputError(f"{path}: has no sheet {sheet!r}; its sheets are "
                         f"{', '.join(names)} (choose one with --sheet)")


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _header_row(rows: list[list[Any]]) -> int | None:
    """The row naming the coordinate columns among the first 30, else the first non-blank row."""
    for i, row in enumerate(rows[:30]):
        if coordinate_columns([str(v) for v in row if not _blank(v)]):
            return i
    return next((i for i, row in enumerate(rows) if not all(map(_blank, row))), None)


def _header_names(row: list[Any]) -> list[str]:
    """Column names from the header row: blanks named ``column<n>``, repeats numbered."""
    header: list[str] = []
    seen: dict[str, int] = {}
    for j, v in enumerate(row):
        h = "" if _blank(v) else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                  else str(v).strip())
        h = h or f"column{j + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        header.append(h)
    return header


def tidy_attributes(df: pd.DataFrame) -> pd.DataFrame:
    """Excel cells as one type per column: numbers, text or dates.

    Whole numbers become integers; a column mixing types becomes text (as a
    GeoPackage column must have one type).
    """
    out = df.copy()
    for c in out.columns:
        v = out[c]
        nn = v.dropna()
        if not len(nn):
            out[c] = v.astype(object)
            continue
        if all(isinstance(x, int | float) and not isinstance(x, bool) for x in nn):
            if all(float(x).is_integer() for x in nn):
                out[c] = pd.array([None if pd.isna(x) else int(x) for x in v], dtype="Int64")
            else:
                out[c] = v.astype(float)
        elif not all(isinstance(x, str) for x in nn):
            out[c] = [None if pd.isna(x) else (str(int(x)) if isinstance(x, float)
                                               and x.is_integer() else str(x)) for x in v]
    return out
