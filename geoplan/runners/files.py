"""The tables of a check on disk: ``findings.csv``, ``verdicts.csv``, ``results.gpkg``, ``summary.json``.

Written in one go by :meth:`geoplan.Result.to_files`, or part by part (chunk by
chunk, in bounded memory) by a :class:`TableWriter`; both go through the same
functions here, so a streamed ``findings.csv`` is byte for byte the one written
for the whole batch. CSV files are UTF-8 with a BOM (Excel reads the Chinese
text) and pass through :func:`geoplan.csvsafe.write_csv`, which neutralises
cells a spreadsheet would run.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point
>>> verdict_table(gpd.GeoDataFrame({"site_id": ["1"]}, geometry=[Point(1, 2)])).to_dict("list")
{'site_id': ['1'], 'wkt': ['POINT (1 2)']}
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..csvsafe import write_csv
from ..errors import DataFileError
from ..gpkgsafe import gpkg_safe
from ..outputs import move_into_place

__all__ = ["FINDINGS_INDEX_MAX_ROWS", "DatabaseWriter", "TableWriter", "gpkg_frames",
           "unindexed_note", "verdict_table", "write_gpkg_layers", "write_summary"]

FINDINGS_INDEX_MAX_ROWS = 5_000_000
"""Above this many findings, ``results.gpkg``'s ``findings`` layer gets no spatial index.

Every finding lies at a point of its site, so the layer repeats each site's
location once per rule (23 times with the default pack); its R-tree is built
on one core after everything else and took 46 s of a 180 s streamed run of
10⁶ houses (23 million findings). Up to this size (about 2 × 10⁵ sites with
the default pack) it is built as for the other layers. Beyond it the layer is
written whole, its points included, without the index: a spatial query still
finds every finding, only by reading the layer. ``summary.json``'s
``output_notes`` and the command's output say so, with how to build the index
afterwards; ``findings_index=True`` builds it anyway. The ``verdicts`` layer
(one feature per site) is always indexed.
"""


@contextlib.contextmanager
def sqlite_unsynced() -> Iterator[None]:
    """GDAL's SQLite writes without ``fsync`` for the time being (``OGR_SQLITE_SYNCHRONOUS=OFF``).

    ``results.gpkg`` is written into a staging folder and moved into place
    only when whole (:func:`geoplan.outputs.move_into_place`); a half-written
    one is never in the output folder, so SQLite's own flush to disk at every
    commit buys nothing here, and it made the writer wait for the disk: each
    appended chunk and the spatial indexes built at the end waited until all
    of the file's pages so far were on disk (the file is 7 GB for 10⁶
    houses). The GeoPackage is now left to the system's write-back like the
    CSV files beside it, which are not flushed either. A value the user set
    (environment or GDAL config) is kept.

    Examples
    --------
    >>> import pyogrio
    >>> with sqlite_unsynced():  # pyogrio reads "OFF" back as False
    ...     pyogrio.get_gdal_config_option("OGR_SQLITE_SYNCHRONOUS")
    False
    """
    import pyogrio

    key = "OGR_SQLITE_SYNCHRONOUS"
    if pyogrio.get_gdal_config_option(key) is not None:  # the user's choice
        yield
        return
    pyogrio.set_gdal_config_options({key: "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: None})


def verdict_table(verdicts: gpd.GeoDataFrame) -> pd.DataFrame:
    """The verdicts as a plain table for ``verdicts.csv``: the geometry as a last ``wkt`` column.

    Parameters
    ----------
    verdicts
        As on :class:`geoplan.Result` (or one chunk of them).

    Returns
    -------
    pandas.DataFrame
    """
    v = pd.DataFrame(verdicts.drop(columns=verdicts.geometry.name))
    v.insert(len(v.columns), "wkt", verdicts.geometry.to_wkt())
    return v


def gpkg_frames(verdicts: gpd.GeoDataFrame, findings: pd.DataFrame, evidence: gpd.GeoDataFrame,
                *, crs: Any) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The three layers of ``results.gpkg`` as written (also the rows of a run in PostGIS).

    Parameters
    ----------
    verdicts, findings, evidence
        As on :class:`geoplan.Result` (or one chunk of them).
    crs
        The working CRS.

    Returns
    -------
    tuple of GeoDataFrame
        The verdicts in the working CRS; the findings, each at a representative
        point of its site; the evidence. Object columns made GeoPackage-safe
        (:func:`geoplan.gpkgsafe.gpkg_safe`).
    """
    verd = _verdict_layer(verdicts, crs)
    rep = _site_points(verd)
    fnd = gpd.GeoDataFrame(findings.copy(), geometry=rep.reindex(findings["site_id"]).to_numpy(),
                           crs=crs)
    return verd, gpkg_safe(fnd), gpkg_safe(evidence)


def _verdict_layer(verdicts: gpd.GeoDataFrame, crs: Any) -> gpd.GeoDataFrame:
    """The verdicts as their layer holds them: in the working CRS, GeoPackage-safe."""
    verd = verdicts.to_crs(crs) if verdicts.crs is not None else verdicts
    return gpkg_safe(verd)


def _site_points(verd: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Each site's representative point (where its findings are placed), by ``site_id``."""
    return verd.set_index("site_id").geometry.representative_point()


def _findings_arrow(verd: gpd.GeoDataFrame, findings: pd.DataFrame) -> tuple[Any, int]:
    """The findings layer as an Arrow table, its points as WKB taken per site.

    The rows :func:`gpkg_frames` makes, for a frame :func:`_arrow_writes`
    accepts, built as pyogrio's ``write_dataframe`` builds its Arrow table
    (text columns as they are, all-missing columns as text), except that each
    site's point is encoded once and repeated for its findings (23 per site
    with the default pack) instead of once per finding.

    Returns
    -------
    tuple
        The table (geometry column ``geometry``) and how many of its points
        are neither missing nor empty (what the layer's spatial index holds).
    """
    import pyarrow as pa

    rep = _site_points(verd)
    pts = np.asarray(rep.array, dtype=object)
    at = rep.index.get_indexer(findings["site_id"])  # every site has its verdict
    placed = ~(shapely.is_missing(pts) | shapely.is_empty(pts))
    wkb = pa.array(shapely.to_wkb(pts), pa.binary())
    table = pa.Table.from_pandas(findings, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_null(field.type):  # as pyogrio: GDAL has no null type
            table = table.set_column(i, field.with_type(pa.string()),
                                     table.column(i).cast(pa.string()))
    return table.append_column("geometry", wkb.take(pa.array(at))), int(placed[at].sum())


def _crs_option(crs: Any) -> str | None:
    """The CRS as pyogrio's ``write_dataframe`` passes it to GDAL (EPSG code, else WKT)."""
    from pyproj import CRS

    if crs is None:
        return None
    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    return f"EPSG:{epsg}" if epsg else c.to_wkt("WKT1_GDAL")


def write_gpkg_layers(path: Path, verdicts: gpd.GeoDataFrame, findings: pd.DataFrame,
                      evidence: gpd.GeoDataFrame, *, crs: Any, append: bool = False,
                      spatial_index: bool = True,
                      findings_index: bool | None = None) -> dict[str, int]:
    """Write (or append) the layers of ``results.gpkg``: verdicts, findings, evidence.

    Parameters
    ----------
    path
        The GeoPackage.
    verdicts, findings, evidence
        As on :class:`geoplan.Result` (or one chunk of them).
    crs
        The working CRS; the verdicts are written in it, each finding at a
        representative point of its site.
    append
        Append to the layers (the chunked writer's later chunks); an empty
        evidence chunk is then skipped.
    spatial_index
        Create the layers with their spatial index (with ``append`` the index
        of the existing layers is kept up to date either way). ``False``: the
        chunked writer creates the indexes once the last chunk is in
        (:func:`create_spatial_indexes`).
    findings_index
        Whether a new ``findings`` layer is created with its index (``False``
        also when ``spatial_index`` is True); ``None``: when it holds at most
        :data:`FINDINGS_INDEX_MAX_ROWS` rows.

    Returns
    -------
    dict
        Per layer, the features written with a geometry that is not empty
        (what its spatial index must hold).
    """
    import pyogrio

    verd = _verdict_layer(verdicts, crs)
    evd = gpkg_safe(evidence)
    # the findings through Arrow built here (each site's point encoded once), or, for
    # columns Arrow would carry as another type, as gpkg_frames makes them
    fnd = (None if _arrow_writes(findings)
           else gpkg_frames(verdicts, findings, evidence.iloc[:0], crs=crs)[1])
    options = None if spatial_index or append else {"SPATIAL_INDEX": "NO"}
    if findings_index is None:
        findings_index = len(findings) <= FINDINGS_INDEX_MAX_ROWS
    placed: dict[str, int] = {}
    with sqlite_unsynced():
        for layer, frame, kind in (("verdicts", verd, "Unknown"), ("findings", fnd, "Point"),
                                   ("evidence", evd, "Unknown")):
            opts = options
            if layer == "findings" and not append and not findings_index:
                opts = {"SPATIAL_INDEX": "NO"}
            if frame is None:  # the findings, fast
                table, placed[layer] = _findings_arrow(verd, findings)
                pyogrio.write_arrow(table, path, layer=layer, driver="GPKG",
                                    geometry_name="geometry", geometry_type=kind,
                                    crs=_crs_option(crs), append=append, layer_options=opts)
                continue
            g = np.asarray(frame.geometry.to_numpy(), dtype=object)
            placed[layer] = int((~(shapely.is_missing(g) | shapely.is_empty(g))).sum())
            if layer == "evidence" and append and not len(evidence):
                continue
            pyogrio.write_dataframe(frame, path, layer=layer, geometry_type=kind, append=append,
                                    use_arrow=_arrow_writes(frame), layer_options=opts)
    return placed


def unindexed_note(path: Path, rows: int, *, asked: bool | None = None) -> dict[str, Any] | None:
    """The note for ``summary.json`` if the GeoPackage's ``findings`` layer has no spatial index.

    Parameters
    ----------
    path
        The ``results.gpkg`` written.
    rows
        The findings written to it (said in the note).
    asked
        The ``findings_index`` the check was given (``False``: left out as
        asked; ``None``: by the size).

    Returns
    -------
    dict or None
        ``file``, ``layer``, ``rows``, ``spatial_index`` (False) and the note
        in Chinese and English; ``None`` when the layer has its index (or is
        not there). Read from the file itself (its R-tree table present or
        not), so the note says what was written.
    """
    import sqlite3

    with sqlite3.connect(path) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    if "findings" not in names or "rtree_findings_geom" in names:
        return None
    sql = "SELECT CreateSpatialIndex('findings', 'geom')"
    if asked is False:
        why_zh = "按要求（--no-findings-index / findings_index=False）不建"
        why_en = "it was left out as asked (--no-findings-index / findings_index=False)"
    else:
        why_zh = f"超过 {FINDINGS_INDEX_MAX_ROWS:,} 条时不建，以节省时间"
        why_en = f"it is left out above {FINDINGS_INDEX_MAX_ROWS:,} rows to save time"
    return {
        "file": path.name, "layer": "findings", "rows": rows, "spatial_index": False,
        "zh": (f"results.gpkg 的 findings 图层（{rows:,} 条）未建空间索引：{why_zh}；要素与坐标"
               "完整，按位置查询仍能查到全部结果，只是较慢。需要时可在 QGIS 中用“创建空间索引”"
               f"工具补建，或运行 ogrinfo results.gpkg -sql \"{sql}\"；也可在检查时加 "
               "--findings-index。"),
        "en": (f"the findings layer of results.gpkg ({rows:,} rows) has no spatial index: "
               f"{why_en}. Every finding and its point are there, and a query by location "
               "still finds them all, only more slowly. To build it later, use QGIS's "
               f"\"Create spatial index\" tool or run ogrinfo results.gpkg -sql \"{sql}\"; "
               "or check with --findings-index."),
    }


# -- spatial indexes built once, after the last chunk --------------------------------------
#
# Appending a chunk to a GeoPackage layer with a spatial index inserts every row into the
# R-tree one by one: 2.3 million findings (10^5 houses) take 16 s that way, 6.6 s into a
# layer without an index, and GDAL builds the index of 9.2 million rows afterwards in
# 16 s (``CreateSpatialIndex``, bulk). pyogrio opens datasets read-only for SQL, so the
# statement goes through GDAL's C API in the very library pyogrio loaded (found among the
# process's mapped files: Linux); elsewhere the chunked writer keeps the index up to date
# chunk by chunk, as before.


def _loaded_gdal() -> Any:
    """The GDAL library pyogrio loaded, through ctypes, with the calls used here; else None."""
    import ctypes

    import pyogrio  # loads GDAL

    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if "libgdal" in line}
    except OSError:
        return None
    paths = {p for p in paths if "libgdal" in os.path.basename(p)}
    # a wheel's own copy sits in pyogrio.libs (fiona's wheel brings another, in fiona.libs)
    own = Path(pyogrio.__file__).resolve().parent.parent / "pyogrio.libs"
    mine = {p for p in paths if Path(p).parent == own}
    paths = mine or paths
    if len(paths) != 1:
        return None
    try:
        lib = ctypes.CDLL(paths.pop())
        lib.GDALOpenEx.restype = ctypes.c_void_p
        lib.GDALOpenEx.argtypes = [ctypes.c_char_p, ctypes.c_uint, ctypes.c_void_p,
                                   ctypes.c_void_p, ctypes.c_void_p]
        lib.GDALDatasetExecuteSQL.restype = ctypes.c_void_p
        lib.GDALDatasetExecuteSQL.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                              ctypes.c_void_p, ctypes.c_char_p]
        lib.GDALDatasetReleaseResultSet.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.GDALClose.argtypes = [ctypes.c_void_p]
        lib.GDALClose.restype = ctypes.c_int
        lib.CPLErrorReset.argtypes = []
        lib.CPLGetLastErrorType.restype = ctypes.c_int
        lib.CPLGetLastErrorMsg.restype = ctypes.c_char_p
    except (OSError, AttributeError):
        return None
    return lib


def can_index_later() -> bool:
    """Whether :func:`create_spatial_indexes` can build a GeoPackage's indexes after writing.

    Returns
    -------
    bool
        True on Linux with GDAL's C API reachable in the library pyogrio loaded.
    """
    global _GDAL
    if _GDAL is None:
        _GDAL = _loaded_gdal() or False
    return _GDAL is not False


_GDAL: Any = None


def create_spatial_indexes(path: Path, layers: list[str],
                           expected: dict[str, int] | None = None) -> None:
    """Build the spatial index of each layer of the GeoPackage ``path`` (GDAL's bulk build).

    Parameters
    ----------
    path
        A GeoPackage written with ``spatial_index=False``.
    layers
        The layers to index (their geometry column is ``geom``).
    expected
        Per layer, the features written with a geometry that is not empty
        (from :func:`write_gpkg_layers`). Default: counted in the file, which
        reads every row (10 s for the 23 million findings of 10⁶ houses).

    Raises
    ------
    DataFileError
        GDAL refused, or the index does not hold one entry per feature with a
        geometry (checked afterwards against ``expected`` or the file).
    """
    import sqlite3

    if not can_index_later():  # pragma: no cover - the writer asks first
        raise DataFileError(f"{path}: cannot build spatial indexes here")
    with sqlite_unsynced():
        _index_layers(_GDAL, path, layers)
    # positive evidence: one entry per feature with a geometry that is not empty (the empty
    # flag is bit 4 of the flags byte, the 4th of a GeoPackage geometry's header)
    with sqlite3.connect(path) as db:
        for layer in layers:
            want = expected[layer] if expected is not None and layer in expected else \
                db.execute(
                    f'SELECT count(*) FROM "{layer}" WHERE geom IS NOT NULL AND '
                    "substr(hex(substr(geom, 4, 1)), 1, 1) NOT IN "
                    "('1', '3', '5', '7', '9', 'B', 'D', 'F')").fetchone()[0]
            try:  # the R-tree's rowid table: one row per entry, counted without the R-tree
                got = db.execute(f'SELECT count(*) FROM "rtree_{layer}_geom_rowid"').fetchone()[0]
            except sqlite3.DatabaseError:
                got = None
            if got != want:
                raise DataFileError(f"{path}: the spatial index of {layer} holds {got} entries "
                                    f"for {want} features; write the outputs again")


def _index_layers(lib: Any, path: Path, layers: list[str]) -> None:
    """``CreateSpatialIndex`` of each layer, through GDAL's C API (``lib``)."""
    ds = lib.GDALOpenEx(str(path).encode(), 0x01 | 0x04, None, None, None)  # update, vector
    if not ds:
        raise DataFileError(f"{path}: GDAL cannot open the GeoPackage for update to index it")
    try:
        for layer in layers:
            lib.CPLErrorReset()
            sql = f"SELECT CreateSpatialIndex('{layer}', 'geom')".encode()
            res = lib.GDALDatasetExecuteSQL(ds, sql, None, None)
            if res:
                lib.GDALDatasetReleaseResultSet(ds, res)
            if lib.CPLGetLastErrorType() >= 3:  # CE_Failure
                msg = (lib.CPLGetLastErrorMsg() or b"").decode("utf-8", "replace")
                raise DataFileError(f"{path}: GDAL could not index the layer {layer} ({msg}); "
                                    "free space or choose another --out")
    finally:
        lib.GDALClose(ds)


def _arrow_writes(frame: pd.DataFrame) -> bool:
    """Whether pyogrio can write ``frame`` through Arrow (GDAL >= 3.8, plain column types).

    Through Arrow the 2.3 million findings of 10^5 houses take 9 s instead of
    24 s, with the same fields and values read back
    (``tests/test_outputs_gpkg.py``). Columns Arrow would carry as another
    type (categoricals as dictionaries, objects mixing text and numbers, dates
    with time zones) keep pyogrio's classic writer.
    """
    import pyogrio

    if pyogrio.__gdal_version__ < (3, 8, 0):
        return False
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    for name in frame.columns:
        if name == geometry:
            continue
        dtype = frame[name].dtype
        if isinstance(dtype, np.dtype):
            if dtype.kind in "fiub":
                continue
            if dtype.kind == "O" and pd.api.types.infer_dtype(frame[name], skipna=True) in (
                    "string", "empty"):
                continue
            return False
        if not pd.api.types.is_string_dtype(dtype):
            return False
    return True


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """Write ``summary.json`` (UTF-8, Chinese text as it is, indented).

    Parameters
    ----------
    path
        The file.
    summary
        The summary of the check.
    """
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str),
                    encoding="utf-8")


class TableWriter:
    """Write a check's tables part by part into a staging folder, then move them into place.

    Each :meth:`add` appends the findings and verdicts of one part (a chunk
    of the batch) to ``findings.csv`` and ``verdicts.csv`` and, unless
    ``gpkg=False``, to the layers of ``results.gpkg``; :meth:`finish` writes
    ``summary.json`` and moves every file into the output folder. Nothing
    reaches the output folder before :meth:`finish`.

    With ``background=True`` (on Linux) each part
    is written by a forked process while this one goes on (the chunked runner
    evaluates the next chunk meanwhile): the forked process sees the part's
    tables as they were, without copying or pickling them. One part is written
    at a time, in order; :meth:`add` first waits for the previous part, and
    :meth:`finish` for the last. A part that fails to be written raises in the
    next :meth:`add` or in :meth:`finish`.

    Parameters
    ----------
    staging
        A folder from :func:`geoplan.outputs.staging_folder`.
    crs
        The working CRS (of the GeoPackage layers).
    gpkg
        Write ``results.gpkg`` (the slowest of the tables).
    background
        Write each part in a forked process (ignored except on Linux).
    findings_index
        Build the spatial index of ``results.gpkg``'s ``findings`` layer:
        ``None`` when it holds at most :data:`FINDINGS_INDEX_MAX_ROWS` rows
        (decided once the last part is in, where indexes are built then: on
        Linux in the background; otherwise by the first part's size).
    """

    def __init__(self, staging: Path, *, crs: Any, gpkg: bool = True,
                 background: bool = False, findings_index: bool | None = None) -> None:
        self.staging = staging
        self.crs = crs
        self.gpkg = gpkg
        self.findings_index = findings_index
        self.parts = 0
        self.findings_rows = 0
        # Linux only, as the local runner's processes: forking a process that has run
        # GDAL and Arrow is not safe on macOS, and Windows has no fork
        self.background = background and sys.platform == "linux"
        # chunk by chunk, the R-tree is cheaper built once at the end (see create_spatial_indexes)
        self.index_later = gpkg and background and can_index_later()
        self._pending: tuple[Any, Any] | None = None  # (process, end of its pipe)
        self.placed: dict[str, int] = {}  # per GeoPackage layer, features with a geometry

    def add(self, findings: pd.DataFrame, verdicts: gpd.GeoDataFrame,
            evidence: gpd.GeoDataFrame) -> None:
        """Append one part's findings, verdicts and evidence.

        Parameters
        ----------
        findings, verdicts, evidence
            Of one chunk of the batch, in batch order.
        """
        self.findings_rows += len(findings)
        if not self.background:
            self._count(self._write(findings, verdicts, evidence, first=self.parts == 0))
            self.parts += 1
            return
        self.wait()
        ctx = multiprocessing.get_context("fork")
        receive, send = ctx.Pipe(duplex=False)
        with warnings.catch_warnings():
            # Python >= 3.12 warns that forking a process with threads may deadlock; the
            # child only writes this part's files (pandas, Arrow, GDAL) and exits
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*fork.*")
            proc = ctx.Process(target=self._write_in_child,
                               args=(send, findings, verdicts, evidence, self.parts == 0),
                               daemon=True)
            proc.start()
        send.close()
        self._pending = (proc, receive)
        self.parts += 1

    def _write(self, findings: pd.DataFrame, verdicts: gpd.GeoDataFrame,
               evidence: gpd.GeoDataFrame, *, first: bool) -> dict[str, int]:
        mode, enc = ("w", "utf-8-sig") if first else ("a", "utf-8")
        write_csv(findings, self.staging / "findings.csv", mode=mode, encoding=enc,
                  header=first)
        write_csv(verdict_table(verdicts), self.staging / "verdicts.csv", mode=mode,
                  encoding=enc, header=first)
        if not self.gpkg:
            return {}
        return write_gpkg_layers(self.staging / "results.gpkg", verdicts, findings, evidence,
                                 crs=self.crs, append=not first,
                                 spatial_index=not self.index_later,
                                 findings_index=self.findings_index)

    def _count(self, placed: dict[str, int]) -> None:
        for layer, k in placed.items():
            self.placed[layer] = self.placed.get(layer, 0) + k

    def _write_in_child(self, send: Any, findings: pd.DataFrame, verdicts: gpd.GeoDataFrame,
                        evidence: gpd.GeoDataFrame, first: bool) -> None:
        try:
            placed = self._write(findings, verdicts, evidence, first=first)
        except BaseException as exc:  # reported to the parent, which raises it
            send.send(("failed", type(exc).__name__, str(exc), isinstance(exc, OSError)))
            send.close()
            os._exit(1)
        send.send(("written", placed))
        send.close()
        os._exit(0)  # no atexit handlers, no flushing of the parent's buffers

    def wait(self) -> None:
        """Wait for the part being written in the background (if any); raise if it failed.

        Raises
        ------
        DataFileError
            The part could not be written (disk full, …), or its process was
            stopped (e.g. for lack of memory).
        """
        if self._pending is None:
            return
        proc, receive = self._pending
        self._pending = None
        try:  # the child's word: ("written", counts) or ("failed", …); read before joining,
            word = receive.recv()  # so a large message cannot block it
        except EOFError:  # closed without a word: the process was killed
            word = None
        proc.join()
        receive.close()
        failure = word[1:] if word is not None and word[0] == "failed" else None
        if proc.exitcode == 0 and word is not None and word[0] == "written":
            self._count(word[1])
            return
        part = f"chunk {self.parts} of the outputs in {self.staging.parent}"
        try:
            free = shutil.disk_usage(self.staging).free
        except OSError:
            free = None
        # a full disk reaches GDAL's SQLite as odd errors ("cannot rollback …"): say so
        low = free is not None and free < 1 << 30
        disk = (f" (the disk of {self.staging.parent} has {free / 2**20:,.0f} MB free)"
                if low else "")
        if failure is not None:
            name, text, is_os = failure
            fix = ("free space or choose another --out" if is_os or low
                   else "report it with the data")
            raise DataFileError(f"{part}: writing failed ({name}: {text}){disk}; {fix}")
        raise DataFileError(
            f"{part}: the process writing it ended without an answer (exit code "
            f"{proc.exitcode}), most likely stopped for lack of memory; check in smaller "
            "chunks (--chunk-size)")

    def close(self) -> None:
        """Stop a part still being written in the background (after an error elsewhere)."""
        if self._pending is not None:
            proc, receive = self._pending
            self._pending = None
            proc.terminate()
            proc.join()
            receive.close()

    def finish(self, summary: dict[str, Any], out_dir: str | os.PathLike[str]) -> list[Path]:
        """Wait for the last part, write ``summary.json`` and move every file into ``out_dir``.

        Parameters
        ----------
        summary
            The summary of the whole check.
        out_dir
            The output folder.

        Returns
        -------
        list of Path
            The files now in ``out_dir``.
        """
        self.wait()
        gpkg = self.staging / "results.gpkg"
        if self.index_later and self.parts:
            index = self.findings_index
            if index is None:
                index = self.findings_rows <= FINDINGS_INDEX_MAX_ROWS
            layers = ["verdicts", "findings", "evidence"] if index else ["verdicts", "evidence"]
            create_spatial_indexes(gpkg, layers, expected=self.placed)
        if self.gpkg and self.parts:
            note = unindexed_note(gpkg, self.findings_rows, asked=self.findings_index)
            if note is not None:
                summary.setdefault("output_notes", []).append(note)
        write_summary(self.staging / "summary.json", summary)
        names = ["findings.csv", "verdicts.csv", "results.gpkg", "summary.json"]
        return move_into_place([self.staging / n for n in names
                                if (self.staging / n).exists()], out_dir)


class DatabaseWriter:
    """Write a check's tables part by part as one run in PostGIS (one transaction).

    The database counterpart of :class:`TableWriter`: each :meth:`add` appends
    one part's rows to the run's ``verdicts``, ``findings`` and ``evidence``
    (as :func:`gpkg_frames` makes them), :meth:`finish` fills the run's row of
    ``runs``; the run commits when the ``with`` block ends after :meth:`finish`,
    and nothing of it remains otherwise.

    Parameters
    ----------
    target
        ``postgresql://…/db?schema=geoplan``.
    crs
        The working CRS.
    """

    def __init__(self, target: str, *, crs: Any) -> None:
        from ..postgis import RunWriter

        self.crs = crs
        self.run = RunWriter(target, crs=crs)

    @property
    def run_id(self) -> str:
        """The id of the run being written."""
        return self.run.run_id

    def __enter__(self) -> DatabaseWriter:
        self.run.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.run.__exit__(*exc)

    def add(self, findings: pd.DataFrame, verdicts: gpd.GeoDataFrame,
            evidence: gpd.GeoDataFrame) -> None:
        """Append one part's findings, verdicts and evidence.

        Parameters
        ----------
        findings, verdicts, evidence
            Of one part of the batch, in batch order.
        """
        verd, fnd, evd = gpkg_frames(verdicts, findings, evidence, crs=self.crs)
        self.run.add("verdicts", verd)
        self.run.add("findings", fnd)
        self.run.add("evidence", evd)

    def finish(self, summary: dict[str, Any]) -> str:
        """Record the run's summary; it commits when the ``with`` block ends.

        Parameters
        ----------
        summary
            The summary of the whole check.

        Returns
        -------
        str
            The run id.
        """
        return self.run.finish(summary)
